"""A web dashboard of the ledger: spend, latency, reliability, budgets and guardrail events."""

from gatewise.dashboard.app import dashboard_app, dashboard_routes
from gatewise.dashboard.snapshot import WINDOWS, DashboardSnapshot, DashboardSources, build_snapshot

__all__ = ["WINDOWS", "DashboardSnapshot", "DashboardSources", "build_snapshot", "dashboard_app",
           "dashboard_routes"]
