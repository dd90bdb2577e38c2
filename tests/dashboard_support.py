"""The dashboard served by a real uvicorn on a loopback port, in a thread with its own event loop,
over the stores of a real ledger file."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from gatewise.catalog import Catalog
from gatewise.config import BudgetsConfig
from gatewise.dashboard import DashboardSources, dashboard_app
from gatewise.dashboard.snapshot import MAX_AGE_S
from gatewise.ledger.budgets import BudgetManager
from gatewise.ledger.guardrail_events import GuardrailEvents
from tool_support import free_port

# Model ids, project tags and guardrail reasons are written by callers: each of these must show
# as text and never run.
XSS = '<img src=x onerror="window.__xss=1">'
XSS_SCRIPT = "<script>window.__xss=2</script>"


@contextmanager
def dashboard_server(ledger_path: Path, budgets: BudgetsConfig | None = None, *,
                     max_age_s: float = MAX_AGE_S) -> Iterator[str]:
    """The dashboard's base URL; budgets from ``budgets`` when given, else none shown."""
    port = free_port()
    catalog = Catalog.snapshot()
    box: dict[str, uvicorn.Server] = {}
    failed: list[BaseException] = []

    async def serve() -> None:
        manager = None if budgets is None else BudgetManager(ledger_path, budgets)
        try:
            sources = DashboardSources(ledger_path, GuardrailEvents(ledger_path), manager, lambda: catalog)
            app = dashboard_app(sources, max_age_s=max_age_s)
            server = box["server"] = uvicorn.Server(uvicorn.Config(
                app, host="127.0.0.1", port=port, log_config=None, access_log=False))
            await server.serve()
        finally:
            if manager is not None:
                await manager.close()

    def run() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:  # reported by the waiting test, not lost in the thread
            failed.append(exc)

    thread = threading.Thread(target=run, name="dashboard-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not (box.get("server") and box["server"].started):
        assert not failed, failed
        assert thread.is_alive() and time.monotonic() < deadline, "the dashboard did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        box["server"].should_exit = True
        thread.join(15)
        assert not failed, failed
