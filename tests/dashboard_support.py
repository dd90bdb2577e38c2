"""The dashboard served by a real uvicorn on a loopback port, in a thread with its own event loop,
over the stores of a real ledger file; and Debian's Chromium, headless, driven by Playwright."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from gatewise.catalog import Catalog
from gatewise.config import BudgetsConfig
from gatewise.dashboard import DashboardSources, dashboard_app
from gatewise.ledger.budgets import BudgetManager
from gatewise.ledger.guardrail_events import GuardrailEvents
from repo_paths import REPO
from tool_support import free_port

# Model ids, project tags and guardrail reasons are written by callers: each of these must show
# as text and never run.
XSS = '<img src=x onerror="window.__xss=1">'
XSS_SCRIPT = "<script>window.__xss=2</script>"

CHROMIUM = Path(os.environ.get("GATEWISE_CHROMIUM", "/usr/bin/chromium"))
# Headless and quiet: no GPU, no QUIC, no background calls home (the machine has no internet).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = REPO / "test-artifacts"  # screenshots; ignored by git


def playwright_or_skip() -> Any:
    """``playwright.sync_api``, or a skip saying what is missing (at once, never a download)."""
    if not CHROMIUM.is_file():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (or set GATEWISE_CHROMIUM)")
    return pytest.importorskip("playwright.sync_api",
                               reason="Playwright is not installed: pip install -e '.[dev]'")


@contextmanager
def chromium_page(sync_api: Any, base: str,
                  headers: dict[str, str] | None = None) -> Iterator[tuple[Any, list[str]]]:
    """A page, and the problems it meets: console errors and warnings (CSP violations among
    them), script errors, dialogs, and any request to somewhere other than ``base``."""
    problems: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=30_000)
        try:
            context = browser.new_context(viewport={"width": 1300, "height": 900}, extra_http_headers=headers)
            page = context.new_page()
            page.on("console", lambda m: m.type in ("error", "warning") and problems.append(m.text))
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
            page.on("request", lambda r: r.url.startswith(base) or problems.append(f"elsewhere: {r.url}"))
            yield page, problems
        finally:
            browser.close()


@contextmanager
def dashboard_server(ledger_path: Path, budgets: BudgetsConfig | None = None, *,
                     max_age_s: float | None = None) -> Iterator[str]:
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
