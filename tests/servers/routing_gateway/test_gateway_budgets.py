"""Budgets on the request path: block, downgrade, warn, alerts, and a two-process race."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from gatewise.servers.routing_gateway.server import create_server
from mcp import Client

from gatewise.caller import CALLER, Caller
from gatewise.config import load_settings

CHEAP = "openai/gpt-4o-mini"


def budget_settings(tmp_path: Path, sandbox, **rule):
    return load_settings({}, data_dir=tmp_path, sandbox_url=sandbox.url,
                         budgets={"rules": [rule], "alert_thresholds": [0.5, 0.8]})


async def test_block_budget_stops_calls_and_alerts(tmp_path: Path, sandbox, upstream) -> None:
    settings = budget_settings(tmp_path, sandbox, scope="project:blk", window="daily",
                               limit_usd=0.0001, on_exceed="block")
    outcomes, warnings = [], []
    async with Client(create_server(settings)) as client:
        for _ in range(80):
            result = await client.call_tool("routed_complete", {
                "prompt": "What is 2+2?", "model": CHEAP, "max_tokens": 40, "project": "blk",
                "no_cache": True})
            outcomes.append(result.is_error)
            if result.is_error:
                refused = result.content[0].text
                break
            warnings += result.structured_content["warnings"]
        status = (await client.call_tool("get_budget_status", {"scope": "project:blk"})).structured_content
    assert outcomes[-1] is True and outcomes.count(False) >= 3
    (budget,) = status["budgets"]
    assert budget["spent_usd"] <= budget["limit_usd"] and budget["reserved_usd"] == 0
    # Spend has not reached the limit: the refusal says the call's worst case would pass what is left.
    figures = re.search(r"BUDGET_EXCEEDED: Budget would be exceeded: this call may cost up to \$([\d.]+) "
                        r"\(its worst case\), more than the \$([\d.]+) left of the project:blk daily budget "
                        r"of \$0.0001 for \S+ \(\$([\d.]+) spent, \$0 held by calls in flight\)\.", refused)
    assert figures, refused
    worst, left, spent = (float(f) for f in figures.groups())
    assert spent == pytest.approx(budget["spent_usd"], abs=1e-6) and spent < budget["limit_usd"]
    assert left == pytest.approx(budget["limit_usd"] - spent, abs=1e-6) and worst > left
    assert 0.5 in {a["threshold"] for a in status["alerts"]}
    assert any("50%" in w for w in warnings), warnings
    # other projects are not affected
    async with Client(create_server(settings)) as client:
        other = await client.call_tool("routed_complete", {"prompt": "hi", "project": "other"})
    assert not other.is_error


async def test_budget_status_shows_the_alerts_of_the_scope_asked_for(tmp_path: Path, sandbox,
                                                                    upstream) -> None:
    # Ten thresholds: one call past a tiny limit fires ten alerts, so two later projects' twenty
    # newer alerts fill a page of twenty.
    settings = load_settings({}, data_dir=tmp_path, sandbox_url=sandbox.url, budgets={
        "alert_thresholds": [t / 10 for t in range(1, 10)], "spend_lease_calls": 0,
        "rules": [{"scope": f"project:{p}", "window": "daily", "limit_usd": 0.000001, "on_exceed": "warn"}
                  for p in "pqr"]})
    async with Client(create_server(settings)) as client:
        for project in "pqr":
            result = await client.call_tool("routed_complete", {
                "prompt": "What is 2+2?", "model": CHEAP, "max_tokens": 20, "project": project})
            assert not result.is_error and len(result.structured_content["warnings"]) >= 10
        everyone = (await client.call_tool("get_budget_status", {})).structured_content
        asked = (await client.call_tool("get_budget_status", {"scope": "project:p"})).structured_content
    assert [a["scope"] for a in everyone["alerts"]] == ["project:r"] * 10 + ["project:q"] * 10
    assert [b["scope"] for b in asked["budgets"]] == ["project:p"]
    assert [(a["scope"], a["threshold"]) for a in asked["alerts"]] == [
        ("project:p", t / 10) for t in range(10, 0, -1)]
    bound = CALLER.set(Caller("p-bot", "p"))  # as the HTTP auth layer sets it for p's token
    try:
        async with Client(create_server(settings)) as client:
            own = (await client.call_tool("get_budget_status", {})).structured_content
    finally:
        CALLER.reset(bound)
    assert own == asked


async def test_downgrade_budget_switches_to_the_cheapest_model(tmp_path: Path, sandbox, upstream) -> None:
    settings = budget_settings(tmp_path, sandbox, scope="global", window="monthly",
                               limit_usd=0.01, on_exceed="downgrade")
    async with Client(create_server(settings)) as client:
        result = await client.call_tool("routed_complete", {
            "prompt": "Explain step by step why the sky is blue", "model": "anthropic/claude-opus-5.5",
            "max_tokens": 2000})
    out = result.structured_content
    assert not result.is_error
    assert out["model"] != "anthropic/claude-opus-5.5"
    assert "downgraded to fit the budget" in out["route"]["reason"]
    assert any(s["reason"] == "over the remaining budget" for s in out["route"]["skipped"])


async def test_warn_budget_answers_with_a_warning(tmp_path: Path, sandbox, upstream) -> None:
    settings = budget_settings(tmp_path, sandbox, scope="global", window="daily",
                               limit_usd=0.000001, on_exceed="warn")
    async with Client(create_server(settings)) as client:
        first = await client.call_tool("routed_complete", {"prompt": "hi", "model": CHEAP})
        then = await client.call_tool("routed_complete", {"prompt": "hello", "model": CHEAP})
    # Nothing spent yet: the first call only may pass the limit; the second starts past it.
    assert not first.is_error and first.structured_content["warnings"][0].startswith(
        "Budget may be exceeded: this call may cost up to $")
    assert "(its worst case), more than the $0.000001 left of the global daily budget of $0.000001" in \
        first.structured_content["warnings"][0]
    assert not then.is_error and then.structured_content["warnings"][0].startswith("Over budget: ")
    assert "more than the $0 left" in then.structured_content["warnings"][0]


async def test_set_budget_tool_dry_run_and_bad_input(tmp_path: Path, sandbox, upstream) -> None:
    settings = load_settings({}, data_dir=tmp_path, sandbox_url=sandbox.url)
    async with Client(create_server(settings)) as client:
        dry = await client.call_tool("set_budget", {"limit_usd": 5, "scope": "project:a", "dry_run": True})
        assert dry.structured_content == {"applied": False}  # null fields are left out
        assert (await client.call_tool("get_budget_status", {})).structured_content["budgets"] == []
        done = await client.call_tool("set_budget", {"limit_usd": 5, "scope": "project:a"})
        assert done.structured_content["after"]["limit_usd"] == 5
        again = await client.call_tool("set_budget", {"limit_usd": 7, "scope": "project:a"})
        assert again.structured_content["before"]["limit_usd"] == 5
        for bad in ({"limit_usd": 0}, {"limit_usd": 5, "scope": "team:x"},
                    {"limit_usd": 5, "window": "weekly"}, {"limit_usd": 5, "on_exceed": "panic"}):
            result = await client.call_tool("set_budget", bad)
            assert result.is_error, bad
        status = await client.call_tool("get_budget_status", {"scope": "nonsense"})
        assert status.is_error and "INVALID_INPUT" in status.content[0].text


async def test_delete_budget_removes_a_run_time_rule_and_gives_way_to_the_config(
        tmp_path: Path, sandbox, upstream) -> None:
    settings = load_settings({}, data_dir=tmp_path, sandbox_url=sandbox.url, budgets={"rules": [
        {"scope": "global", "window": "daily", "limit_usd": 3, "on_exceed": "warn"}]})
    tiny = {"limit_usd": 0.000001, "scope": "project:p", "window": "daily"}
    ask = {"prompt": "What is 2+2?", "model": CHEAP, "project": "p", "no_cache": True}

    async def budgets(client: Client) -> dict:
        status = (await client.call_tool("get_budget_status", {})).structured_content["budgets"]
        return {(b["scope"], b["window"]): (b["limit_usd"], b["on_exceed"], b["source"]) for b in status}

    async with Client(create_server(settings)) as client:
        await client.call_tool("set_budget", tiny)
        await client.call_tool("set_budget", {"limit_usd": 9, "window": "daily", "on_exceed": "block"})
        assert (await client.call_tool("routed_complete", ask)).is_error  # the tiny budget blocks
        both = await budgets(client)
        assert both == {("global", "daily"): (9, "block", "runtime"), ("project:p", "daily"): (1e-6, "block",
                                                                                                "runtime")}
        # refused without confirm, and a dry run changes nothing
        project_p = {"scope": "project:p", "window": "daily"}
        unconfirmed = await client.call_tool("delete_budget", project_p)
        assert unconfirmed.is_error and "confirm: true" in unconfirmed.content[0].text
        dry = (await client.call_tool("delete_budget", {**project_p, "dry_run": True})).structured_content
        assert dry["applied"] is False and dry["before"]["limit_usd"] == 1e-6
        assert await budgets(client) == both
        # a run-time rule alone is gone, and calls pass again
        gone = await client.call_tool("delete_budget", {**project_p, "confirm": True})
        assert gone.structured_content["applied"] is True and "after" not in gone.structured_content
        assert not (await client.call_tool("routed_complete", ask)).is_error
        # a run-time rule over the config's gives way to it
        back = await client.call_tool("delete_budget", {"scope": "global", "window": "daily",
                                                        "confirm": True})
        after = back.structured_content["after"]
        assert (after["limit_usd"], after["source"]) == (3, "config")
        assert await budgets(client) == {("global", "daily"): (3, "warn", "config")}
        # the config's own rule, a budget that does not exist, and bad arguments: clear errors
        for args, code in (({"scope": "global", "window": "daily", "confirm": True}, "INVALID_INPUT"),
                           ({"scope": "project:p", "window": "daily", "confirm": True}, "NOT_FOUND"),
                           ({"scope": "global", "window": "monthly", "confirm": True}, "NOT_FOUND"),
                           ({"scope": "team:x", "window": "daily", "confirm": True}, "INVALID_INPUT"),
                           ({"scope": "global", "window": "weekly", "confirm": True}, None),
                           ({"scope": "global"}, None)):
            result = await client.call_tool("delete_budget", args)
            assert result.is_error, args
            assert code is None or code in result.content[0].text, (args, result.content[0].text)
        assert await budgets(client) == {("global", "daily"): (3, "warn", "config")}
    # the deletions outlive a restart
    async with Client(create_server(settings)) as client:
        assert await budgets(client) == {("global", "daily"): (3, "warn", "config")}


RACER = textwrap.dedent("""
    import asyncio, json, sys
    from gatewise.config import load_settings
    from gatewise.errors import GatewiseError
    from gatewise.gateway import CompletionRequest, RoutingGateway
    from gatewise.runtime import Runtime

    async def main(data_dir, url, limit, calls):
        settings = load_settings({}, data_dir=data_dir, sandbox_url=url, budgets={"rules": [
            {"scope": "global", "window": "daily", "limit_usd": limit, "on_exceed": "block"}]})
        runtime = await Runtime.open(settings)
        gateway = RoutingGateway.from_runtime(runtime)
        request = CompletionRequest(prompt="What is 3*7?", model="openai/gpt-4o-mini", max_tokens=30,
                                    no_cache=True)

        async def one():
            try:
                return (await gateway.complete(request)).cost_usd
            except GatewiseError as exc:
                assert exc.code.value == "BUDGET_EXCEEDED", exc
                return None

        costs = await asyncio.gather(*(one() for _ in range(calls)))
        await runtime.close()
        print(json.dumps([c for c in costs if c is not None]))

    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])))
""")


def test_two_processes_racing_never_pass_the_budget(tmp_path: Path, sandbox, upstream) -> None:
    limit = 0.0004
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    args = [sys.executable, "-c", RACER, str(tmp_path), sandbox.url, str(limit), "100"]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    outputs = []
    try:
        for proc in procs:
            outputs.append((*proc.communicate(timeout=120), proc.returncode))
    finally:
        for proc in procs:  # never leave a racer behind, whatever happened
            proc.kill()
            proc.communicate()
    results = []
    for out, err, code in outputs:
        assert code == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    successes = [cost for costs in results for cost in costs]
    assert 0 < len(successes) < 200  # some calls ran, the budget stopped the rest
    assert sum(successes) <= limit
    with sqlite3.connect(tmp_path / "ledger.sqlite3") as db:
        ok_rows, ledger_spend = db.execute(
            "SELECT COUNT(*), COALESCE(SUM(cost_usd), 0) FROM calls WHERE status = 'ok'").fetchone()
        committed = db.execute("SELECT COALESCE(SUM(cost_usd), 0) FROM budget_reservations "
                               "WHERE state = 'committed' AND scope = 'global'").fetchone()[0]
    db.close()
    assert ok_rows == len(successes)  # no lost ledger rows
    assert ledger_spend == pytest.approx(sum(successes))
    assert committed == pytest.approx(sum(successes)) and committed <= limit
