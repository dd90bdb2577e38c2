"""The dashboard on real SQLite ledgers: its figures, its caching, and its HTTP surface served by
uvicorn on loopback (escaping, security headers, bounded query parameters)."""

from __future__ import annotations

import asyncio
import html
import time
from pathlib import Path

import httpx
import pytest

from dashboard_support import XSS, XSS_SCRIPT, dashboard_server
from gatewise.analytics.timeseries import MAX_SLOTS, usage_over_time
from gatewise.catalog import Catalog
from gatewise.config import BudgetRule, BudgetsConfig
from gatewise.dashboard import DashboardSources, build_snapshot
from gatewise.dashboard.app import CSP
from gatewise.dashboard.snapshot import MAX_GROUPS, WINDOWS, Snapshots
from gatewise.ledger.budgets import BudgetManager
from gatewise.ledger.guardrail_events import EventFilter, EventPage, GuardrailEvent, GuardrailEvents
from store_support import FakeClock, call_record
from store_support import write_calls as write

CATALOG = Catalog.snapshot()


def event(**overrides: object) -> GuardrailEvent:
    fields: dict[str, object] = {
        "request_id": "req-g", "server": "routing-gateway", "tool": "routed_complete", "direction": "input",
        "check_id": "custom_blocklist", "verdict": "block", "action": "block",
        "reason": "matched a blocklist term", "ts": time.time() - 60}
    return GuardrailEvent.model_validate({**fields, **overrides})


def sources(path: Path, budgets: BudgetManager | None = None) -> DashboardSources:
    return DashboardSources(path, GuardrailEvents(path), budgets, lambda: CATALOG)


# -- spend over time -----------------------------------------------------------------------------

async def test_usage_over_time_fills_every_slot_and_counts_cache_hits_free(tmp_path: Path) -> None:
    path, t = tmp_path / "ledger.sqlite3", 1_000_000.0
    await write(path, [
        call_record(request_id="a", ts=t + 10, cost_usd=0.25, tokens_in=7, tokens_out=3),
        # one request, a failed first attempt and its fallback, in the second slot
        call_record(request_id="b", ts=t + 70, status="error", cost_usd=0.0, tokens_in=0, tokens_out=0),
        call_record(request_id="b", ts=t + 71, attempt=1, cost_usd=0.5),
        call_record(request_id="c", ts=t + 130, cache_status="hit_exact", cost_usd=9.0),
        call_record(request_id="outside", ts=t - 1, cost_usd=100.0),
        call_record(request_id="outside", ts=t + 300, cost_usd=100.0),  # the window's end is open
    ])
    series = await usage_over_time(path, since=t, until=t + 300, slot_s=60)

    assert [s.start for s in series.slots] == [t, t + 60, t + 120, t + 180, t + 240]
    first, second, third, *rest = series.slots
    assert (first.requests, first.attempts, first.cost_usd) == (1, 1, 0.25)
    assert (first.tokens_in, first.tokens_out) == (7, 3)
    assert (second.requests, second.attempts, second.errors, second.cost_usd) == (1, 2, 1, 0.5)
    assert (third.requests, third.cost_usd) == (1, 0.0)
    assert all(s.requests == s.attempts == 0 and s.cost_usd == 0 for s in rest)


async def test_usage_over_time_reads_a_missing_ledger_as_empty(tmp_path: Path) -> None:
    series = await usage_over_time(tmp_path / "none.sqlite3", since=0.0, until=3600.0, slot_s=600)
    assert len(series.slots) == 6
    assert not (tmp_path / "none.sqlite3").exists()


@pytest.mark.parametrize(("until", "slot_s"), [(0.0, 60.0), (3600.0, 0.0), (3600.0 * MAX_SLOTS, 1.0)])
async def test_usage_over_time_refuses_an_empty_window_or_too_many_slots(
        tmp_path: Path, until: float, slot_s: float) -> None:
    with pytest.raises(ValueError):
        await usage_over_time(tmp_path / "ledger.sqlite3", since=0.0, until=until, slot_s=slot_s)


# -- the snapshot --------------------------------------------------------------------------------

async def test_snapshot_gathers_usage_budgets_alerts_and_guardrails_with_capped_lists(tmp_path: Path) -> None:
    path, now = tmp_path / "ledger.sqlite3", time.time()
    models = MAX_GROUPS + 5
    await write(path, [
        call_record(request_id=f"r{i}", model=f"vendor/m{i:02d}", cost_usd=0.01 * (i + 1),
                    project="alpha" if i % 2 else "beta", caller=f"token-{i:02d}" if i else None,
                    latency_ms=100.0 + i, ts=now - 600 - i)
        for i in range(models)
    ] + [call_record(request_id="old", cost_usd=50.0, ts=now - 2 * 86_400)])
    await GuardrailEvents(path).record([event(), event(check_id="pii", verdict="flag", action="redact")])
    daily = BudgetRule(scope="global", window="daily", limit_usd=1.0)
    manager = BudgetManager(path, BudgetsConfig(rules=[daily]))
    try:
        held = await manager.reserve(["global"], 0.9, "spend")
        await manager.commit(held, 0.9)  # crosses the 80 % alert threshold
        snap = await build_snapshot(sources(path, manager), "24h", now=now)
    finally:
        await manager.close()

    assert snap.window == "24h" and snap.until == now and snap.since == now - 86_400
    assert snap.totals.requests == models  # the two-day-old call is outside
    assert snap.totals.cost_usd == pytest.approx(sum(0.01 * (i + 1) for i in range(models)))
    assert [g.key for g in snap.by_model.groups] == [f"vendor/m{i:02d}" for i in range(models - 1, 4, -1)]
    assert snap.by_model.others == 5
    assert {g.key for g in snap.by_project.groups} == {"alpha", "beta"} and snap.by_project.others == 0
    # Top ten callers by spend; the rest, the stdio call (no caller) among them, only counted.
    assert [g.key for g in snap.by_caller.groups] == [f"token-{i:02d}" for i in range(models - 1, 4, -1)]
    assert snap.by_caller.others == 5
    assert len(snap.series.slots) == 48
    assert sum(s.cost_usd for s in snap.series.slots) == pytest.approx(snap.totals.cost_usd)
    assert [(b.scope, b.window, b.spent_usd) for b in snap.budgets] == [("global", "daily", 0.9)]
    assert [(a.scope, a.threshold) for a in snap.alerts] == [("global", 0.8)]
    assert {(c.check_id, c.blocked, c.flagged) for c in snap.guardrail_checks} == {
        ("custom_blocklist", 1, 0), ("pii", 0, 1)}
    assert {e.check_id for e in snap.guardrail_events} == {"custom_blocklist", "pii"}
    assert "value_hashes" not in snap.model_dump()["guardrail_events"][0]


async def test_snapshot_without_budgets_says_so(tmp_path: Path) -> None:
    snap = await build_snapshot(sources(tmp_path / "ledger.sqlite3"), "1h")
    assert snap.budgets == [] and snap.alerts == []
    assert any("Budgets" in note for note in snap.notes)
    assert snap.totals.requests == 0 and len(snap.series.slots) == 60


async def test_viewers_polling_together_share_one_snapshot_per_window(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    await write(path, [call_record(ts=time.time() - 60)])
    clock = FakeClock()
    snapshots = Snapshots(sources(path), clock=clock)

    first, second = await asyncio.gather(snapshots.get("1h"), snapshots.get("1h"))
    assert first is second
    day = await snapshots.get("24h")
    assert day is not first
    clock.advance(WINDOWS["1h"].max_age_s + 0.1)  # 5 s: a third of the 1h page's refresh interval
    assert await snapshots.get("1h") is not first
    assert await snapshots.get("24h") is day  # the 24h window's snapshot lasts 20 s



class HeldEvents(GuardrailEvents):
    """The real store, whose reads wait until the test lets them go (a slow database)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.go = asyncio.Event()
        self.reads = 0

    async def query(self, filters: EventFilter, *, limit: int = 50, offset: int = 0) -> EventPage:
        self.reads += 1
        await self.go.wait()
        return await super().query(filters, limit=limit, offset=offset)


async def test_a_snapshot_still_being_built_is_waited_for_not_built_again(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    events = HeldEvents(path)
    clock = FakeClock()
    snapshots = Snapshots(DashboardSources(path, events, None, lambda: CATALOG), clock=clock)

    first = asyncio.ensure_future(snapshots.get("1h"))
    await asyncio.sleep(0)
    clock.advance(WINDOWS["1h"].max_age_s * 3)  # the build outlasts the snapshot's age
    second = asyncio.ensure_future(snapshots.get("1h"))
    await asyncio.sleep(0)
    events.go.set()
    assert await first is await second
    assert events.reads == 1

# -- over HTTP -----------------------------------------------------------------------------------

async def hostile_ledger(path: Path) -> None:
    now = time.time()
    await write(path, [call_record(request_id="x1", model=XSS, project=XSS_SCRIPT, caller=XSS, ts=now - 60),
                       call_record(request_id="x2", ts=now - 30)])
    await GuardrailEvents(path).record([event(reason=f"blocked {XSS}", project=XSS)])


def test_caller_values_reach_the_page_escaped_under_a_strict_policy(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    asyncio.run(hostile_ledger(path))
    with dashboard_server(path) as base, httpx.Client(base_url=base) as http:
        page = http.get("/dashboard")
        data = http.get("/dashboard/data", params={"window": "1h"})

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for reply in (page, data):
        assert reply.headers["content-security-policy"] == CSP
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert reply.headers["cache-control"] == "no-store"
    assert "'unsafe-inline'" not in CSP and "script-src 'self'" in CSP and "default-src 'none'" in CSP
    text = page.text
    assert "<img" not in text and "window.__xss" in text  # the values are there, as data
    assert text.count("<script") == 2  # the page's own script file and its JSON data block
    assert '<script type="application/json" id="dashboard-initial">' in text
    assert "\\u003cscript\\u003ewindow.__xss=2\\u003c/script\\u003e" in text
    figures = data.json()
    assert {g["key"] for g in figures["by_model"]["groups"]} == {XSS, "vendor/model-a"}
    assert XSS_SCRIPT in {g["key"] for g in figures["by_project"]["groups"]}
    assert {g["key"] for g in figures["by_caller"]["groups"]} == {XSS, None}
    assert figures["guardrail_events"][0]["reason"] == f"blocked {XSS}"


@pytest.mark.parametrize(("query", "says"), [
    ("window=2y", "window must be one of 1h, 6h, 24h, 7d, 30d"),
    ("window=", "window must be one of"),
    ("window=1h&window=24h", "give 'window' once"),
    ("limit=1000000", "unknown parameter 'limit'"),
    ("window=" + "9" * 400, "longer than 256 bytes"),
])
def test_bad_query_strings_get_a_clear_400(tmp_path: Path, query: str, says: str) -> None:
    with dashboard_server(tmp_path / "ledger.sqlite3") as base, httpx.Client(base_url=base) as http:
        data = http.get(f"/dashboard/data?{query}")
        page = http.get(f"/dashboard?{query}")
    assert data.status_code == 400 and says in data.json()["error"]
    assert page.status_code == 400 and html.escape(says) in page.text
    assert page.headers["content-security-policy"] == CSP


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example", "[bad"])
def test_without_authentication_only_loopback_host_names_are_answered(tmp_path: Path, host: str) -> None:
    """A web page whose name a rebinding DNS points at 127.0.0.1 sends its own name as Host."""
    with dashboard_server(tmp_path / "ledger.sqlite3") as base, httpx.Client(base_url=base) as http:
        refused = [http.get(path, headers={"Host": host}) for path in ("/dashboard", "/dashboard/data")]
        allowed = [http.get("/dashboard/data", headers={"Host": name}).status_code
                   for name in ("localhost", "127.0.0.1:8000", "[::1]:8000")]
    assert [r.status_code for r in refused] == [421, 421]
    assert "loopback addresses only" in refused[1].json()["error"]
    assert allowed == [200, 200, 200]


def test_only_the_dashboards_own_files_are_served(tmp_path: Path) -> None:
    with dashboard_server(tmp_path / "ledger.sqlite3") as base, httpx.Client(base_url=base) as http:
        script = http.get("/dashboard/static/dashboard.js")
        style = http.get("/dashboard/static/dashboard.css")
        refused = [http.get(f"/dashboard/static/{name}").status_code
                   for name in ("app.py", "..%2Fapp.py", "__init__.py", "favicon.ico")]
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "textContent" in script.text and "innerHTML" not in script.text
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
    assert "http" not in style.text  # nothing fetched from elsewhere
    assert refused == [404, 404, 404, 404]


def test_an_unreadable_ledger_is_a_503_that_names_no_path(tmp_path: Path) -> None:
    path = tmp_path / "secret-dir" / "ledger.sqlite3"
    path.parent.mkdir()
    path.write_bytes(b"this is not a database" * 100)
    with dashboard_server(path) as base, httpx.Client(base_url=base) as http:
        data = http.get("/dashboard/data")
    assert data.status_code == 503
    assert data.json() == {"error": "the ledger could not be read; see the server log"}
