// gatewise dashboard: draws the snapshot as SVG charts and tables, then refreshes it.
// Every value from the ledger goes in through textContent or setAttribute, never as HTML:
// model ids, project tags, caller names and guardrail reasons are written by callers.
"use strict";

(function () {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const COLORS = ["#4c78a8", "#f58518", "#e45756", "#54a24b", "#b279a2"];
  const LABEL_CHARS = 28;

  // -- formatting ----------------------------------------------------------------------------

  function usd(v) {
    const sign = v < 0 ? "-" : "";
    const a = Math.abs(v);
    if (a === 0) return "$0";
    if (a < 0.01) return sign + "$" + a.toPrecision(2);
    return sign + "$" + a.toLocaleString("en-US", {minimumFractionDigits: 2, maximumFractionDigits: 2});
  }
  usd.integer = false;
  const count = (v) => Math.round(v).toLocaleString("en-US");
  count.integer = true;  // axis steps of whole numbers
  const pct = (v) => (100 * v).toFixed(1) + "%";
  const ms = (v) => (v >= 1000 ? (v / 1000).toFixed(2) + " s"
                     : (v < 10 && v % 1 ? v.toFixed(1) : Math.round(v)) + " ms");
  const utc = (ts) => new Date(ts * 1000).toISOString();
  const clock = (ts) => utc(ts).slice(11, 16);
  const dayClock = (ts) => utc(ts).slice(5, 10) + " " + clock(ts);
  const stamp = (ts) => utc(ts).slice(0, 19).replace("T", " ") + " UTC";
  const short = (text, n = LABEL_CHARS) => (text.length > n ? text.slice(0, n - 1) + "…" : text);

  // -- elements ------------------------------------------------------------------------------

  function node(tag, attrs, text) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = String(text);
    return el;
  }

  function shape(parent, tag, attrs, text) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = String(text);
    parent.appendChild(el);
    return el;
  }

  function tip(el, text) { shape(el, "title", {}, text); return el; }

  function canvas(width, height, label) {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", label);
    return svg;
  }

  function empty(text) { return node("p", {class: "empty"}, text); }

  function legend(names) {
    const box = node("div", {class: "legend"});
    names.forEach((name, i) => box.appendChild(node("span", {class: "c" + i}, name)));
    return box;
  }

  // Round steps (1-2-2.5-5) from 0 to at least top, about four of them.
  function ticks(top, integer) {
    if (!(top > 0)) return [0, 1];
    const raw = top / 4;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    let step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw);
    if (integer) step = Math.max(1, Math.ceil(step));
    const out = [];
    for (let v = 0; v < top + step - 1e-12; v += step) out.push(v);
    return out;
  }

  // -- charts --------------------------------------------------------------------------------

  // Columns along the window's time slots; several series stack.
  function columns(slots, slotS, series, format, caption) {
    const W = 1200, H = 230, left = 64, right = 12, top = 10, bottom = 28;
    const totals = slots.map((s) => series.reduce((sum, one) => sum + one.value(s), 0));
    if (!totals.some((v) => v > 0)) return empty("No calls in this window");
    const marks = ticks(Math.max(...totals), format.integer);
    const scale = (H - top - bottom) / marks[marks.length - 1];
    const svg = canvas(W, H, caption);
    for (const m of marks) {
      const y = H - bottom - m * scale;
      shape(svg, "line", {x1: left, x2: W - right, y1: y, y2: y, class: "grid-line"});
      shape(svg, "text", {x: left - 6, y: y + 4, "text-anchor": "end"}, format(m));
    }
    const slot = (W - left - right) / slots.length;
    const bar = Math.max(1, slot * 0.78);
    const when = slotS >= 3 * 3600 ? dayClock : clock;
    const every = Math.ceil(slots.length / 8);
    slots.forEach((s, i) => {
      const x = left + i * slot + (slot - bar) / 2;
      let base = H - bottom;
      series.forEach((one, k) => {
        const v = one.value(s);
        if (v <= 0) return;
        const h = Math.max(1, v * scale);
        base -= h;
        tip(shape(svg, "rect", {x: x, y: base, width: bar, height: h, fill: COLORS[k], class: "bar"}),
            `${when(s.start)} UTC · ${one.name}: ${format(v)}`);
      });
      if (i % every === 0) {
        shape(svg, "text", {x: left + i * slot + slot / 2, y: H - 8, "text-anchor": "middle"}, when(s.start));
      }
    });
    shape(svg, "line", {x1: left, x2: W - right, y1: H - bottom, y2: H - bottom, class: "axis"});
    return svg;
  }

  // Horizontal bars, one row per group, one bar per series in each row.
  function bars(rows, series, format, caption) {
    if (!rows.length) return empty("Nothing in this window");
    const W = 600, left = 190, right = 70, top = 6, band = 10 + 12 * series.length;
    const H = top + rows.length * band + 24;
    const peak = Math.max(...rows.flatMap((r) => series.map((one) => one.value(r))));
    const marks = ticks(peak, format.integer);
    const scale = (W - left - right) / marks[marks.length - 1];
    const svg = canvas(W, H, caption);
    for (const m of marks) {
      const x = left + m * scale;
      shape(svg, "line", {x1: x, x2: x, y1: top, y2: H - 20, class: "grid-line"});
      shape(svg, "text", {x: x, y: H - 6, "text-anchor": "middle"}, format(m));
    }
    rows.forEach((row, i) => {
      const y0 = top + i * band + 5;
      const name = row.label;
      // The full name as the label's tooltip: a <title> beside the text, not inside it.
      const label = tip(shape(svg, "g", {}), name);
      shape(label, "text", {x: left - 8, y: y0 + (band - 10) / 2 + 4, "text-anchor": "end", class: "label"},
            short(name));
      series.forEach((one, k) => {
        const v = one.value(row);
        const y = y0 + k * 12;
        const w = Math.max(v > 0 ? 1 : 0, v * scale);
        tip(shape(svg, "rect", {x: left, y: y, width: w, height: 10, fill: COLORS[k], class: "bar"}),
            `${name} · ${one.name}: ${format(v)}`);
        shape(svg, "text", {x: left + w + 4, y: y + 9}, format(v));
      });
    });
    shape(svg, "line", {x1: left, x2: left, y1: top, y2: H - 20, class: "axis"});
    return svg;
  }

  function withLegend(chart, names) {
    const box = node("div");
    box.appendChild(chart);
    if (chart.tagName.toLowerCase() === "svg" && names.length > 1) box.appendChild(legend(names));
    return box;
  }

  function budgets(list) {
    if (!list.length) return empty("No budgets set");
    const W = 1200, row = 34, left = 300, right = 250, H = list.length * row + 6;
    const svg = canvas(W, H, "Budgets");
    list.forEach((b, i) => {
      const y = 6 + i * row;
      const span = W - left - right;
      const spent = Math.min(1, b.spent_usd / b.limit_usd);
      const held = Math.min(1 - spent, b.reserved_usd / b.limit_usd);
      const color = b.fraction >= 1 ? COLORS[2] : b.fraction >= 0.8 ? COLORS[1] : COLORS[3];
      shape(tip(shape(svg, "g", {}), b.scope), "text", {x: 0, y: y + 15, class: "label"},
            short(`${b.scope} · ${b.window}`, 44));
      shape(svg, "text", {x: 0, y: y + 28}, `${b.on_exceed}, resets ${b.resets_at.slice(0, 16).replace("T", " ")}`);
      shape(svg, "rect", {x: left, y: y + 6, width: span, height: 14, rx: 3, fill: "#eef0f3"});
      tip(shape(svg, "rect", {x: left, y: y + 6, width: spent * span, height: 14, rx: 3, fill: color,
                              class: "bar"}), `spent ${usd(b.spent_usd)} of ${usd(b.limit_usd)}`);
      if (held > 0) {
        tip(shape(svg, "rect", {x: left + spent * span, y: y + 6, width: held * span, height: 14,
                                fill: color, "fill-opacity": 0.35}), `held ${usd(b.reserved_usd)}`);
      }
      shape(svg, "text", {x: W - right + 10, y: y + 17, class: "label"},
            `${usd(b.spent_usd)} / ${usd(b.limit_usd)} (${pct(b.fraction)})`);
    });
    return svg;
  }

  function table(headers, rows) {
    if (!rows.length) return empty("None in this window");
    const t = node("table");
    const head = t.appendChild(node("thead")).appendChild(node("tr"));
    headers.forEach(([name, cls]) => head.appendChild(node("th", cls ? {class: cls} : {}, name)));
    const body = t.appendChild(node("tbody"));
    for (const cells of rows) {
      const tr = body.appendChild(node("tr"));
      cells.forEach((cell, i) => {
        const cls = [headers[i][1], cell.cls].filter(Boolean).join(" ");
        tr.appendChild(node("td", cls ? {class: cls} : {}, cell.text));
      });
    }
    return t;
  }

  const cell = (text, cls) => ({text: text === null || text === undefined ? "—" : text, cls: cls});

  // -- the page ------------------------------------------------------------------------------

  function kpis(t) {
    const items = [
      ["Spend", usd(t.cost_usd), savings(t)],
      ["Requests", count(t.requests), `${count(t.attempts)} upstream attempt${t.attempts === 1 ? "" : "s"}`],
      ["Tokens", count(t.tokens_in + t.tokens_out), `${count(t.tokens_in)} in · ${count(t.tokens_out)} out`],
      ["Latency p50", ms(t.latency_p50_ms), `p95 ${ms(t.latency_p95_ms)} · p99 ${ms(t.latency_p99_ms)}`],
      ["Error rate", pct(t.error_rate), "failed attempts"],
      ["Fallback rate", pct(t.fallback_rate), "answered by a fallback"],
      ["Cache hit rate", pct(t.cache_hit_rate), "answered from a cache"],
    ];
    return items.map(([name, value, sub]) => {
      const box = node("div", {class: "kpi", "data-kpi": name});
      box.appendChild(node("div", {class: "name"}, name));
      box.appendChild(node("div", {class: "value"}, value));
      box.appendChild(node("div", {class: "sub"}, sub));
      return box;
    });
  }

  function savings(t) {
    if (t.savings_usd === null) return "no baseline price";
    if (t.savings_usd >= 0) return `${usd(t.savings_usd)} saved vs the baseline model`;
    return `${usd(-t.savings_usd)} over the baseline model`;
  }

  function groupRows(breakdown, none) {
    return breakdown.groups.map((g) => Object.assign({label: g.key === null ? none : g.key}, g));
  }

  function render(root, snap) {
    const parts = {};
    root.querySelectorAll("[data-part]").forEach((el) => { parts[el.dataset.part] = el; });
    const put = (name, ...children) => parts[name].replaceChildren(...children);
    const slots = snap.series.slots;
    const models = groupRows(snap.by_model, "(unknown)");
    const projects = groupRows(snap.by_project, "(no project)");
    const callers = groupRows(snap.by_caller, "(stdio / in-process)");
    const others = (b, what) => (b.others ? node("p", {class: "legend"}, `and ${b.others} more ${what}`) : "");

    put("label", snap.label);
    put("kpis", ...kpis(snap.totals));
    put("spend-series", columns(slots, snap.series.slot_s, [{name: "spend", value: (s) => s.cost_usd}],
                                usd, "Spend over time"));
    put("request-series", withLegend(columns(slots, snap.series.slot_s, [
      {name: "requests", value: (s) => s.requests},
      {name: "failed attempts", value: (s) => s.errors},
    ], count, "Requests and failed attempts over time"), ["requests", "failed attempts"]));
    put("spend-model", bars(models, [{name: "spend", value: (g) => g.cost_usd}], usd, "Spend by model"),
        others(snap.by_model, "models"));
    put("spend-project", bars(projects, [{name: "spend", value: (g) => g.cost_usd}], usd, "Spend by project"),
        others(snap.by_project, "projects"));
    put("spend-caller", bars(callers, [{name: "spend", value: (g) => g.cost_usd}], usd, "Spend by caller"),
        others(snap.by_caller, "callers"));
    put("latency-model", withLegend(bars(models.filter((g) => g.latency_p99_ms > 0), [
      {name: "p50", value: (g) => g.latency_p50_ms},
      {name: "p95", value: (g) => g.latency_p95_ms},
      {name: "p99", value: (g) => g.latency_p99_ms},
    ], ms, "Latency percentiles by model"), ["p50", "p95", "p99"]));
    put("rates-model", withLegend(bars(models, [
      {name: "error rate", value: (g) => g.error_rate},
      {name: "fallback rate", value: (g) => g.fallback_rate},
      {name: "cache hit rate", value: (g) => g.cache_hit_rate},
    ], pct, "Rates by model"), ["error rate", "fallback rate", "cache hit rate"]));
    put("budgets", budgets(snap.budgets));
    put("guardrail-checks", withLegend(bars(snap.guardrail_checks.map((c) => Object.assign({label: c.check_id}, c)), [
      {name: "blocked", value: (c) => c.blocked},
      {name: "flagged", value: (c) => c.flagged},
    ], count, "Guardrail blocks and flags by check"), ["blocked", "flagged"]));
    put("alerts", table([["when"], ["budget"], ["spent", "num"], ["limit", "num"], ["message", "wrap"]],
      snap.alerts.map((a) => [cell(stamp(a.ts)), cell(`${a.scope} · ${a.window}`), cell(usd(a.spent_usd)),
                              cell(usd(a.limit_usd)), cell(a.message)])));
    put("guardrail-events", table(
      [["when"], ["check"], ["verdict"], ["direction"], ["tool"], ["project"], ["reason", "wrap"]],
      snap.guardrail_events.map((e) => [cell(stamp(e.ts)), cell(e.check_id), cell(e.verdict, "verdict-" + e.verdict),
                                        cell(e.direction), cell(`${e.server} · ${e.tool}`), cell(e.project),
                                        cell(e.reason)])));
    put("notes", ...snap.notes.map((n) => node("p", {}, n)));
  }

  // -- refreshing ----------------------------------------------------------------------------

  function start() {
    const root = document.getElementById("dashboard");
    const initial = document.getElementById("dashboard-initial");
    const status = root.querySelector('[data-part="status"]');
    const every = 1000 * Number(root.dataset.refreshS);
    let snap = JSON.parse(initial.textContent);
    let timer = null;

    function show(message, failed) {
      status.textContent = message;
      status.classList.toggle("failed", Boolean(failed));
    }

    function draw() {
      render(root, snap);
      const period = every >= 60_000 ? `${every / 60_000} min` : `${every / 1000} s`;
      show(`updated ${stamp(snap.until).slice(11)}, refreshing every ${period}`);
    }

    async function refresh() {
      clearTimeout(timer);
      try {
        const url = `${root.dataset.src}?window=${encodeURIComponent(snap.window)}`;
        const reply = await fetch(url, {headers: {Accept: "application/json"}, cache: "no-store",
                                        credentials: "same-origin"});
        if (!reply.ok) throw new Error(`HTTP ${reply.status}`);
        snap = await reply.json();
        draw();
      } catch (err) {
        show(`refresh failed (${err.message}); showing ${stamp(snap.until).slice(11)}`, true);
      }
      if (!document.hidden) timer = setTimeout(refresh, every);
    }

    document.addEventListener("visibilitychange", () => {
      if (document.hidden) clearTimeout(timer);
      else refresh();
    });
    draw();
    timer = setTimeout(refresh, every);
  }

  document.addEventListener("DOMContentLoaded", start);
})();
