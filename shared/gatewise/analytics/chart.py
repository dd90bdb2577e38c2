"""PNG bar charts of a usage report, drawn with Pillow alone so no plotting stack is needed."""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from gatewise.analytics.results import Metric, UsageGroup, UsageReport
from gatewise.bounds import format_usd

WIDTH, HEIGHT = 800, 420
MAX_BARS = 12  # beyond this, category labels stop being readable
MAX_LABEL_PX = 240

_BACKGROUND = "#ffffff"
_TEXT = "#1f2937"
_MUTED = "#6b7280"
_GRID = "#e5e7eb"
_AXIS = "#9ca3af"

if TYPE_CHECKING:  # Pillow itself is imported by the functions that draw (see render_chart)
    from PIL import ImageDraw, ImageFont

    Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True, slots=True)
class _MetricSpec:
    title: str
    value: Callable[[UsageGroup], float]
    label: Callable[[float], str]
    color: str
    integer: bool = False


_METRICS: dict[Metric, _MetricSpec] = {
    "cost": _MetricSpec("Cost (USD)", lambda g: g.cost_usd, format_usd, "#4c78a8"),
    "requests": _MetricSpec("Requests", lambda g: g.requests, lambda v: f"{v:,.0f}", "#54a24b",
                            integer=True),
    "latency_p95": _MetricSpec("p95 latency (ms)", lambda g: g.latency_p95_ms,
                               lambda v: f"{v:,.0f} ms", "#f58518"),
    "error_rate": _MetricSpec("Error rate", lambda g: g.error_rate, lambda v: f"{100 * v:.1f}%",
                              "#e45756"),
}

_GROUP_LABELS = {"model": "Model", "provider": "Provider", "task": "Task", "project": "Project",
                 "caller": "Caller", "day": "Day (UTC)", "none": ""}
_TITLE_SUFFIX = {"day": "per day", "none": "over all calls"}


def render_chart(report: UsageReport, metric: Metric = "cost") -> bytes:
    """One bar per group (horizontal bars for categories, a time axis for days), as PNG bytes.

    The same report and metric always give the same bytes.
    """
    # Imported here, not at start-up: Pillow is only needed once a chart is asked for.
    from PIL import Image, ImageDraw

    spec = _METRICS[metric]
    image = Image.new("RGB", (WIDTH, HEIGHT), _BACKGROUND)
    draw = ImageDraw.Draw(image)
    fonts = _Fonts()
    over = _TITLE_SUFFIX.get(report.group_by, f"by {_GROUP_LABELS[report.group_by].lower()}")
    draw.text((24, 16), f"{spec.title} {over}", font=fonts.title, fill=_TEXT)
    groups = report.groups
    subtitle = report.window
    if report.group_by != "day" and len(groups) > MAX_BARS:
        # Stable sort: ties keep the report's order, so the picture is deterministic.
        groups = sorted(groups, key=lambda g: -spec.value(g))[:MAX_BARS]
        subtitle += f", top {MAX_BARS} of {len(report.groups)}"
    draw.text((24, 42), subtitle, font=fonts.small, fill=_MUTED)
    if not groups:
        draw.text((WIDTH / 2, HEIGHT / 2), "No calls in this window", font=fonts.body, fill=_MUTED,
                  anchor="mm")
    elif report.group_by == "day":
        _columns(draw, fonts, spec, groups)
    else:
        _bars(draw, fonts, spec, groups, _GROUP_LABELS[report.group_by])
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


class _Fonts:
    def __init__(self) -> None:
        from PIL import ImageFont  # see render_chart

        self.title: Font = ImageFont.load_default(size=18)
        self.body: Font = ImageFont.load_default(size=13)
        self.small: Font = ImageFont.load_default(size=11)


def _bars(draw: ImageDraw.ImageDraw, fonts: _Fonts, spec: _MetricSpec, groups: list[UsageGroup],
          axis_name: str) -> None:
    """Horizontal bars: long names such as model ids stay readable on the left."""
    unset = "all calls" if not axis_name else "(unset)"
    labels = [_fit(draw, g.key if g.key is not None else unset, fonts.body) for g in groups]
    label_w = max(draw.textlength(label, font=fonts.body) for label in labels)
    left, right, top, bottom = 24 + label_w + 12, WIDTH - 96, 84, HEIGHT - 56
    ticks = _ticks(max(spec.value(g) for g in groups), integer=spec.integer)
    scale = (right - left) / ticks[-1]
    draw.text((24, top - 18), axis_name, font=fonts.small, fill=_MUTED)
    for tick in ticks:
        x = left + tick * scale
        draw.line([(x, top), (x, bottom)], fill=_GRID)
        draw.text((x, bottom + 6), spec.label(tick), font=fonts.small, fill=_MUTED, anchor="mt")
    draw.line([(left, top), (left, bottom)], fill=_AXIS)
    draw.text(((left + right) / 2, bottom + 24), spec.title, font=fonts.small, fill=_TEXT, anchor="mt")
    row = (bottom - top) / len(groups)
    bar = min(26.0, row * 0.7)
    for i, (group, label) in enumerate(zip(groups, labels, strict=True)):
        value = spec.value(group)
        middle = top + row * (i + 0.5)
        draw.text((left - 12, middle), label, font=fonts.body, fill=_TEXT, anchor="rm")
        end = left + value * scale
        if value > 0:
            draw.rectangle([(left + 1, middle - bar / 2), (max(end, left + 2), middle + bar / 2)],
                           fill=spec.color)
        draw.text((end + 6, middle), spec.label(value), font=fonts.small, fill=_TEXT, anchor="lm")


def _columns(draw: ImageDraw.ImageDraw, fonts: _Fonts, spec: _MetricSpec,
             groups: list[UsageGroup]) -> None:
    """Vertical bars along a time axis, one per UTC day."""
    ticks = _ticks(max(spec.value(g) for g in groups), integer=spec.integer)
    tick_w = max(draw.textlength(spec.label(t), font=fonts.small) for t in ticks)
    left, right, top, bottom = 24 + tick_w + 10, WIDTH - 24, 96, HEIGHT - 64
    scale = (bottom - top) / ticks[-1]
    draw.text((24, top - 18), spec.title, font=fonts.small, fill=_MUTED)
    for tick in ticks:
        y = bottom - tick * scale
        draw.line([(left, y), (right, y)], fill=_GRID)
        draw.text((left - 8, y), spec.label(tick), font=fonts.small, fill=_MUTED, anchor="rm")
    draw.line([(left, bottom), (right, bottom)], fill=_AXIS)
    slot = (right - left) / len(groups)
    bar = max(1.0, slot * 0.7)
    labels = [date.fromisoformat(g.key).strftime("%m-%d") if g.key else "" for g in groups]
    # Label every n-th day so the dates never overlap.
    every = max(1, math.ceil((draw.textlength("00-00", font=fonts.small) + 8) / slot))
    show_values = len(groups) <= 16
    for i, (group, label) in enumerate(zip(groups, labels, strict=True)):
        value = spec.value(group)
        centre = left + slot * (i + 0.5)
        y = bottom - value * scale
        if value > 0:
            draw.rectangle([(centre - bar / 2, min(y, bottom - 1)), (centre + bar / 2, bottom - 1)],
                           fill=spec.color)
        if show_values:
            draw.text((centre, y - 4), spec.label(value), font=fonts.small, fill=_TEXT, anchor="md")
        if i % every == 0:
            draw.text((centre, bottom + 6), label, font=fonts.small, fill=_MUTED, anchor="mt")
    draw.text(((left + right) / 2, bottom + 30), "Day (UTC)", font=fonts.small, fill=_TEXT, anchor="mt")


def _ticks(top: float, *, integer: bool) -> list[float]:
    """Evenly spaced round values from 0 to at least ``top`` (1-2-2.5-5 steps, about four)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if integer:
        step = max(1.0, math.ceil(step))
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def _fit(draw: ImageDraw.ImageDraw, text: str, font: Font) -> str:
    """Cut a label with an ellipsis so it fits the label column."""
    if draw.textlength(text, font=font) <= MAX_LABEL_PX:
        return text
    while text and draw.textlength(text + "…", font=font) > MAX_LABEL_PX:
        text = text[:-1]
    return text + "…"
