"""The dashboard in a real browser: Debian's Chromium, headless, driven by Playwright for Python,
over a ledger filled by real routed_complete calls against the sandbox (a fallback, a cache hit,
a guardrail block, budgets with an alert) plus rows whose model id, project and guardrail reason
carry markup. Skips at once, saying why, when Chromium or Playwright is missing; the screenshot
is kept in test-artifacts/ (ignored by git)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from mcp import Client

from dashboard_support import ARTIFACTS, XSS, XSS_SCRIPT, chromium_page, dashboard_server, playwright_or_skip
from gatewise.config import Settings, load_settings
from gatewise.ledger.guardrail_events import GuardrailEvent, GuardrailEvents
from gatewise_sandbox import SandboxServer
from sandbox_admin import SandboxAdmin
from store_support import call_record, write_calls

CHARTS = ("spend-series", "request-series", "spend-model", "spend-project", "spend-caller", "latency-model",
          "rates-model", "budgets", "guardrail-checks")


@pytest.fixture
def gateway_settings(tmp_path: Path, sandbox: SandboxServer) -> Settings:
    return load_settings(
        {}, data_dir=tmp_path / "data", sandbox_url=sandbox.url,
        limits={"backoff_base_s": 0.001, "backoff_max_s": 0.01},
        budgets={"rules": [
            {"scope": "global", "window": "daily", "limit_usd": 0.0004, "on_exceed": "warn"},
            {"scope": "project:alpha", "window": "monthly", "limit_usd": 5, "on_exceed": "block"}]},
        guardrails={"input_filters": {"custom_blocklist": ["project falcon"]}})


async def traffic(settings: Settings, upstream: SandboxAdmin) -> None:
    from gatewise.servers.routing_gateway.server import create_server

    async with Client(create_server(settings)) as client:
        for prompt, project in [("What is 2+2?", "alpha"), ("Write a Python function to add", "alpha"),
                                ("Summarise: the cat sat.", "beta"), ("What is 2+2?", "alpha")]:
            result = await client.call_tool("routed_complete", {"prompt": prompt, "project": project})
            assert not result.is_error, result.content
        plan = await client.call_tool("explain_route", {"prompt": "hi again"})
        upstream.fault(plan.structured_content["candidates"][0], error_rate=1.0, statuses=[502])
        fallback = await client.call_tool("routed_complete", {"prompt": "hi again", "project": "beta"})
        assert not fallback.is_error, fallback.content
        blocked = await client.call_tool("routed_complete", {"prompt": "tell me about project falcon"})
        assert blocked.is_error and "GUARDRAIL_BLOCKED" in blocked.content[0].text


async def hostile_rows(path: Path, request: str) -> None:
    await write_calls(path, [call_record(request_id=request, model=XSS, project=XSS_SCRIPT, caller=XSS,
                                         cost_usd=0.0002)])
    await GuardrailEvents(path).record([GuardrailEvent(
        request_id=request, server="routing-gateway", tool="routed_complete", project=XSS, direction="input",
        check_id="prompt_injection", verdict="flag", action="flag", reason=f"flagged {XSS}")])


def test_the_dashboard_renders_live_charts_in_chromium(gateway_settings: Settings,
                                                       upstream: SandboxAdmin) -> None:
    sync_api = playwright_or_skip()
    asyncio.run(traffic(gateway_settings, upstream))
    ledger = gateway_settings.ledger_path
    asyncio.run(hostile_rows(ledger, "hostile-1"))
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "dashboard.png"

    with (dashboard_server(ledger, gateway_settings.budgets, max_age_s=0) as base,
          chromium_page(sync_api, base) as (page, problems)):
        page.goto(f"{base}/dashboard?window=1h")
        page.wait_for_selector('[data-part="guardrail-checks"] svg rect.bar')

        bars = {chart: page.locator(f'[data-part="{chart}"] svg rect.bar').count() for chart in CHARTS}
        assert all(bars.values()), bars
        kpi = page.locator('[data-kpi="Requests"] .value')
        assert kpi.text_content() == "6"  # five routed calls (the blocked one is never sent), one hostile
        assert page.locator('[data-kpi="Fallback rate"] .value').text_content() != "0.0%"
        assert page.locator('[data-kpi="Cache hit rate"] .value').text_content() != "0.0%"
        labels = page.locator('[data-part="spend-project"] svg text.label').all_text_contents()
        assert {"alpha", "beta", XSS_SCRIPT[:27] + "…"} == set(labels)
        budget = page.locator('[data-part="budgets"] svg text.label').first
        assert budget.text_content() == "global · daily"
        assert page.locator('[data-part="alerts"] td').count() > 0

        # Markup written by callers shows as text and never becomes an element or runs.
        assert page.get_by_text(f"flagged {XSS}", exact=True).count() == 1
        assert XSS_SCRIPT in page.locator('[data-part="spend-project"] svg g > title').all_text_contents()
        # In-process calls have no caller; a caller name is drawn as text like every other value.
        callers = page.locator('[data-part="spend-caller"] svg g > title').all_text_contents()
        assert set(callers) == {"(stdio / in-process)", XSS}
        assert page.locator("img").count() == 0
        assert page.evaluate("window.__xss") is None

        page.screenshot(path=str(shot), full_page=True)

        # A refresh fetches the JSON and redraws with the calls made since the page loaded.
        with ThreadPoolExecutor(1) as elsewhere:  # Playwright's own loop runs on this thread
            elsewhere.submit(asyncio.run, hostile_rows(ledger, "hostile-2")).result()
        with page.expect_response(lambda r: "/dashboard/data?window=1h" in r.url) as reply:
            page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
        assert reply.value.status == 200
        sync_api.expect(kpi).to_have_text("7")  # polls from outside the page, which forbids eval

        page.click("nav >> text=24h")
        page.wait_for_url(f"{base}/dashboard?window=24h")
        assert page.locator('nav a[aria-current="page"]').text_content() == "24h"
        page.wait_for_selector('[data-part="spend-series"] svg rect.bar')

    assert problems == []
    assert shot.stat().st_size > 10_000
