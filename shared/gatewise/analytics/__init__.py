"""Analytics over the call ledger: usage and savings figures, PNG charts and optimisation advice."""

from gatewise.analytics.chart import render_chart
from gatewise.analytics.guardrails import EventQuery, GuardrailEventsReport, guardrail_events
from gatewise.analytics.report import optimization_report
from gatewise.analytics.results import (
    Baseline,
    CostShare,
    GroupBy,
    Metric,
    OptimizationReport,
    Recommendation,
    UsageGroup,
    UsageReport,
)
from gatewise.analytics.timeframe import DEFAULT_TIMEFRAME, MAX_WINDOW_DAYS, Window, parse_timeframe
from gatewise.analytics.usage import Progress, usage_analytics

__all__ = [
    "DEFAULT_TIMEFRAME",
    "MAX_WINDOW_DAYS",
    "Baseline",
    "CostShare",
    "EventQuery",
    "GroupBy",
    "GuardrailEventsReport",
    "Metric",
    "OptimizationReport",
    "Progress",
    "Recommendation",
    "UsageGroup",
    "UsageReport",
    "Window",
    "guardrail_events",
    "optimization_report",
    "parse_timeframe",
    "render_chart",
    "usage_analytics",
]
