"""Runtime start-up (catalogue refresh and cache), the CLI and the doctor."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from gatewise.config import BudgetRule, Settings
from gatewise.ledger import open_ledger
from gatewise.ledger.budgets import BudgetManager
from gatewise.ledger.guardrail_events import DAY_S, GuardrailEvent, GuardrailEvents
from gatewise.runtime import Runtime, catalog_cache
from store_support import call_record, write_calls
from tool_support import free_port


async def test_runtime_fetches_the_catalogue_and_caches_it(settings: Settings, upstream) -> None:
    runtime = await Runtime.open(settings)
    try:
        assert runtime.catalog.source == "sandbox" and runtime.provider == "sandbox"
        assert upstream.stats()["totals"]["requests"] == 0  # /models is not a chat request
    finally:
        await runtime.close()
    cached = catalog_cache(settings).load()
    assert cached is not None and len(cached) == len(runtime.catalog)
    again = await Runtime.open(settings)  # fresh cache: no second fetch needed
    try:
        assert again.catalog.fetched_at == cached.fetched_at
    finally:
        await again.close()


async def test_unreachable_upstream_falls_back_to_the_snapshot(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, sandbox_url="http://127.0.0.1:9/api/v1")
    runtime = await Runtime.open(settings)
    try:
        assert runtime.catalog.source == "snapshot" and len(runtime.catalog) > 30
    finally:
        await runtime.close()


def run_cli(*args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "gatewise.cli", *args], capture_output=True,
                          text=True, timeout=120, env=env, stdin=subprocess.DEVNULL)


def test_doctor_reports_routes_without_keys(tmp_path: Path, sandbox) -> None:
    proc = run_cli("doctor", env_extra={"GATEWISE_DATA_DIR": str(tmp_path),
                                        "GATEWISE_SANDBOX_URL": sandbox.url})
    assert proc.returncode == 0, proc.stdout
    assert "route simple_query" in proc.stdout and "(not set: sandbox)" in proc.stdout
    assert re.search(r"\[ok\] web search → \S+/\S+  \[auto engine, cached 3600s\]", proc.stdout)
    assert proc.stderr == ""


def test_doctor_lists_run_time_budgets_beside_the_configs_rules(tmp_path: Path, sandbox) -> None:
    config = tmp_path / "gatewise.json"
    config.write_text(json.dumps({"budgets": {"rules": [
        {"scope": "project:alpha", "window": "daily", "limit_usd": 0.002}]}}))
    settings = Settings(data_dir=tmp_path, budgets={"rules": [
        {"scope": "project:alpha", "window": "daily", "limit_usd": 0.002}]})

    async def set_at_run_time() -> None:
        manager = BudgetManager(settings.ledger_path, settings.budgets)
        await manager.set_budget(BudgetRule(scope="project:alpha", window="daily", limit_usd=0.5))
        await manager.set_budget(BudgetRule(scope="project:beta", limit_usd=0.05))
        await manager.close()

    asyncio.run(set_at_run_time())
    proc = run_cli("doctor", env_extra={"GATEWISE_DATA_DIR": str(tmp_path), "GATEWISE_CONFIG": str(config),
                                        "GATEWISE_SANDBOX_URL": sandbox.url})
    assert proc.returncode == 0, proc.stdout
    assert ("[ok] budget project:alpha daily: $0.50 block, set at run time, stands over the config's "
            "$0.002 block until the config's rule for it changes") in proc.stdout
    assert ("[ok] budget project:beta monthly: $0.05 block, set at run time (the config has no rule "
            "for it)") in proc.stdout
    assert "[ok] run-time budgets are removed with routing-gateway's delete_budget tool" in proc.stdout


def test_doctor_fails_when_the_upstream_does_not_answer_and_names_the_catalogues_origin(
        tmp_path: Path, sandbox) -> None:
    env = {"GATEWISE_DATA_DIR": str(tmp_path), "GATEWISE_SANDBOX_URL": sandbox.url}
    proc = run_cli("doctor", env_extra=env)
    assert proc.returncode == 0, proc.stdout
    assert f"[ok] upstream sandbox at {sandbox.url}: answers" in proc.stdout
    live = re.search(r"\[ok\] model catalogue: (\d+) models from sandbox, live\n", proc.stdout)
    assert live is not None, proc.stdout

    down = f"http://127.0.0.1:{free_port()}/api/v1"  # nothing listens there
    started = time.monotonic()
    proc = run_cli("doctor", env_extra={**env, "GATEWISE_SANDBOX_URL": down})
    assert proc.returncode == 1 and time.monotonic() - started < 60
    assert f"[!!] upstream sandbox at {down}: does not answer (could not reach sandbox" in proc.stdout
    assert (f"[!!] model catalogue: {live[1]} models from the disk cache of sandbox, fetched 0.0 h ago, "
            "not live") in proc.stdout
    assert "[ok] route simple_query" in proc.stdout  # read from that copy, as the servers would

    proc = run_cli("doctor", env_extra={"GATEWISE_DATA_DIR": str(tmp_path / "fresh"),
                                        "GATEWISE_SANDBOX_URL": down})
    assert proc.returncode == 1
    assert re.search(r"\[!!\] model catalogue: \d+ models from the bundled snapshot, not live", proc.stdout)


def test_doctor_runs_every_other_check_when_the_database_is_unreachable(tmp_path: Path, sandbox) -> None:
    url = f"postgresql://gw:db-secret-pw@127.0.0.1:{free_port()}/gatewise"
    proc = run_cli("doctor", env_extra={"GATEWISE_DATA_DIR": str(tmp_path), "GATEWISE_DATABASE_URL": url,
                                        "GATEWISE_SANDBOX_URL": sandbox.url,
                                        "GATEWISE_AUTH_TOKENS": "ci:" + "t" * 40})
    assert proc.returncode == 1
    out = proc.stdout
    assert "[!!] storage PostgreSQL postgresql://gw@127.0.0.1:" in out and "db-secret-pw" not in out
    assert "[!!] budgets, guardrail audit trail, dashboard and semantic cache: not checked" in out
    for later in (f"[ok] upstream sandbox at {sandbox.url}: answers", "models from sandbox, live",
                  "[ok] guardrails: off", "[ok] gatewise serve: 1 bearer token(s)", "[ok] route simple_query",
                  "[ok] web search →", "[ok] http/sse: hosts loopback only"):
        assert later in out, later
    assert "t" * 40 not in out and proc.stderr == ""


def test_doctor_shows_who_may_reach_the_http_servers(tmp_path: Path, sandbox) -> None:
    proc = run_cli("doctor", env_extra={"GATEWISE_DATA_DIR": str(tmp_path),
                                        "GATEWISE_SANDBOX_URL": sandbox.url,
                                        "GATEWISE_ALLOWED_HOSTS": "gw.example.com"})
    assert proc.returncode == 0, proc.stdout
    assert "[ok] http/sse: hosts gw.example.com; browser origins none" in proc.stdout
    assert "at most 200 connections, 100 sessions" in proc.stdout
    assert "[ok] limits: connect 5s, read 60s, a call 120s, 2 retries;" in proc.stdout
    assert "upstream bodies ≤ 67,108,864 bytes, stdio frames ≤ 16,777,216 bytes" in proc.stdout


def test_doctor_reads_the_dashboards_figures(tmp_path: Path, sandbox) -> None:
    calls = [call_record(cost_usd=0.25), call_record(request_id="b")]
    asyncio.run(write_calls(tmp_path / "ledger.sqlite3", calls))
    proc = run_cli("doctor", env_extra={"GATEWISE_DATA_DIR": str(tmp_path),
                                        "GATEWISE_SANDBOX_URL": sandbox.url})
    assert proc.returncode == 0, proc.stdout
    assert ("[ok] dashboard: /dashboard under gatewise serve; last 24 h 2 request(s), $0.25, 0 budget(s), "
            "0 guardrail event(s)") in proc.stdout


def test_doctor_names_a_retired_search_model(tmp_path: Path, sandbox) -> None:
    proc = run_cli("doctor", env_extra={"GATEWISE_DATA_DIR": str(tmp_path),
                                        "GATEWISE_SANDBOX_URL": sandbox.url,
                                        "GATEWISE_SEARCH_MODEL": "gpt-4.1-nano"})
    assert proc.returncode == 1
    assert "[!!] search.default_model: unknown model 'gpt-4.1-nano'" in proc.stdout
    assert "openai/gpt-5-nano" in proc.stdout


def test_doctor_flags_a_bad_key_and_masks_it(tmp_path: Path, sandbox) -> None:
    key = "sk-bad-doctor-key-1234"
    proc = run_cli("doctor", env_extra={"GATEWISE_DATA_DIR": str(tmp_path), "OPENROUTER_API_KEY": key,
                                        "GATEWISE_SANDBOX_URL": sandbox.url})
    assert proc.returncode == 1
    assert "key check failed" in proc.stdout and "sk-…1234" in proc.stdout
    assert key not in proc.stdout + proc.stderr


async def test_doctor_counts_the_guardrail_audit_trail_after_its_purge(tmp_path: Path, sandbox) -> None:
    ledger = open_ledger(tmp_path / "ledger.sqlite3")
    await ledger.close()
    now = time.time()
    await GuardrailEvents(ledger.path).record([GuardrailEvent(
        ts=ts, request_id="r", server="routing-gateway", tool="routed_complete", direction="input",
        check_id="pii", verdict="flag", action="redact", reason="found 1 EMAIL (redacted)")
        for ts in (now - 40 * DAY_S, now - DAY_S, now)])
    config = tmp_path / "gatewise.json"
    config.write_text(json.dumps({"guardrails": {"audit_retention_days": 30}}))
    proc = run_cli("doctor", env_extra={"GATEWISE_DATA_DIR": str(tmp_path), "GATEWISE_CONFIG": str(config),
                                        "GATEWISE_SANDBOX_URL": sandbox.url})
    assert proc.returncode == 0, proc.stdout
    assert "[ok] guardrail audit trail: 2 flag/block event(s) in the ledger, each kept 30 days" in proc.stdout


def test_cli_rejects_bad_arguments_in_one_line(tmp_path: Path) -> None:
    for spec in ("openai/gpt-4o:lots", "openai/gpt-4o:1.5", "openai/gpt-4o:0.5:200"):
        proc = run_cli("sandbox", "--fault", spec)
        assert proc.returncode == 2 and "bad --fault" in proc.stderr and "Traceback" not in proc.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"limits": {"max_retries": -1}}))
    proc = run_cli("doctor", env_extra={"GATEWISE_CONFIG": str(bad)})
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("gatewise: invalid configuration at limits.max_retries: "
                                   "Input should be greater than or equal to 0")


class _Lines:
    """A child's stderr, read line by line in the background, so a test can wait for one."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        assert proc.stderr is not None
        stream = proc.stderr
        threading.Thread(target=lambda: [self.lines.put(line) for line in stream], daemon=True).start()

    def wait_for(self, pattern: str, timeout: float = 30) -> tuple[re.Match[str], list[str]]:
        seen, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            seen.append(line)
            if found := re.search(pattern, line):
                return found, seen
        raise AssertionError(f"no line matching {pattern!r} in {seen}")


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_gatewise_sandbox_says_it_listens_once_it_does_and_stops_on_sigterm() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        proc = run_cli("sandbox", "--port", str(busy))
    assert proc.returncode == 2 and "listening" not in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr == f"gatewise sandbox: cannot listen on 127.0.0.1:{busy}: Address already in use\n"

    port = free_port()
    with subprocess.Popen([sys.executable, "-m", "gatewise.cli", "sandbox", "--port", str(port)],
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True) as cli:
        try:
            lines = _Lines(cli)
            _, seen = lines.wait_for(r"listening on http://127\.0\.0\.1:(\d+)/api/v1")
            assert f"listening on http://127.0.0.1:{port}/api/v1" in seen[-1]
            assert httpx.get(f"http://127.0.0.1:{port}/api/v1/models", timeout=10).status_code == 200
            cli.send_signal(signal.SIGTERM)  # to the process `gatewise sandbox` started as
            lines.wait_for(r"Finished server process")  # a graceful stop, then the signal's own exit
            assert cli.wait(timeout=15) == -signal.SIGTERM
            assert _port_is_free(port)  # nothing of it is left holding the port
        finally:
            cli.kill()


def test_a_sandbox_run_as_a_child_ends_with_its_parent() -> None:
    # Where a process cannot become the sandbox (no exec), it runs as a child: SIGTERM to the
    # parent is passed on, and the child is gone with it.
    port = free_port()
    code = ("import sys; from gatewise.upstream.local_sandbox import run_as_child; "
            f"sys.exit(run_as_child([sys.executable, '-m', 'gatewise_sandbox', '--port', '{port}']))")
    with subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True) as parent:
        try:
            lines = _Lines(parent)
            child = int(lines.wait_for(r"Started server process \[(\d+)\]")[0][1])
            lines.wait_for(r"Application startup complete")
            assert child != parent.pid and not _port_is_free(port)
            parent.send_signal(signal.SIGTERM)
            lines.wait_for(r"Finished server process")  # the child was passed the signal and stopped
            assert parent.wait(timeout=15) == 128 + signal.SIGTERM
            with pytest.raises(ProcessLookupError):
                os.kill(child, 0)
            assert _port_is_free(port)
        finally:
            parent.kill()


def test_demo_runs_end_to_end() -> None:
    # As a module too: ``gatewise demo`` (make demo) runs the same function.
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    proc = subprocess.run([sys.executable, "-m", "gatewise.demo"], capture_output=True, text=True,
                          timeout=120, env=env, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "17*23 = 391" in out
    assert "attempt ERR" in out and "attempt ok" in out and "fell back after" in out
    assert "isError=True" in out and "INVALID_INPUT" in out
    assert "ledger" in out and "provider: sandbox" in out
    assert "cache hit_exact" in out and "UNSAFE_URL" in out and "secret shown once" in out
    assert "unknown argument 'max_token' (did you mean 'max_tokens'?)" in out
    assert "`user_id` '..' is not an id" in out
    # the semantic cache serves the reworded question and the one built anew (its differing words
    # read in context), and not the one about an account
    served = [line for line in out.splitlines() if "hit_semantic" in line]
    assert len(served) == 2 and "How can I reset my password?" in served[0]
    assert "I forgot my password, what do I do?" in served[1] and "'How do I reset my password?'" in served[1]
    assert any("account 48213" in line and " miss " in line and "other numbers" in line
               for line in out.splitlines())  # and says which gate kept it out
    # a follow-up keeps its conversation's task, which its words alone would not give
    assert "follow-up 'now make it handle unicode' → code_generation" in out
    assert "(read alone: simple_query" in out
    # the wording of a maths request says whether a cheaper model will do, and the reason says so
    lines = out.splitlines()
    assert any(line.strip().startswith("'Prove that") and "(non-routine wording) ≥ 0.55" in line
               for line in lines)
    assert any(line.strip().startswith("'Convert 72") and "(routine wording) < 0.55: a standard-tier" in line
               for line in lines)


def test_doctor_writes_its_report_to_stdout(tmp_path: Path, sandbox) -> None:
    """`gatewise doctor > report.txt` keeps the report; stderr is for errors."""
    report = tmp_path / "report.txt"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env |= {"GATEWISE_DATA_DIR": str(tmp_path / "data"), "GATEWISE_SANDBOX_URL": sandbox.url}
    with report.open("w") as out:
        proc = subprocess.run([sys.executable, "-m", "gatewise.cli", "doctor"], stdout=out,
                              stderr=subprocess.PIPE, text=True, timeout=120, env=env,
                              stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    lines = report.read_text().splitlines()
    assert lines[0] == "gatewise doctor" and all(line.startswith("  [ok] ") for line in lines[1:])
    assert proc.stderr == ""


async def doctor_lines(settings: Settings, capsys: pytest.CaptureFixture[str], what: str
                       ) -> tuple[int, list[str]]:
    """Run the doctor in this process: its exit code and its report's lines that mention ``what``."""
    from gatewise.doctor import run_doctor

    code = await run_doctor(settings)
    return code, [line for line in capsys.readouterr().out.splitlines() if what in line]


async def test_doctor_asks_the_portkey_admin_api_portkey_admin_would_call(
        tmp_path: Path, sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    base = {"data_dir": tmp_path, "sandbox_url": sandbox.url,
            "limits": {"backoff_base_s": 0.001, "backoff_max_s": 0.01}}
    admin_api = sandbox.root_url + "/v1"
    # No Portkey key: the sandbox's stand-in answers portkey-admin, so it is what is asked.
    code, lines = await doctor_lines(Settings(**base), capsys, "Portkey Admin API")
    assert (code, lines) == (0, [f"  [ok] Portkey Admin API (sandbox) at {admin_api}: answers"])
    key = "pk-live-0123456789abcdef"
    code, lines = await doctor_lines(Settings(**base, portkey_api_key=key, portkey_base_url=admin_api),
                                     capsys, "Portkey Admin API")
    assert (code, lines) == (0, [f"  [ok] Portkey Admin API (portkey) at {admin_api}: answers; "
                                 "the key is accepted"])
    refused = "pk-bad-0123456789abcdef"
    code, lines = await doctor_lines(Settings(**base, portkey_api_key=refused, portkey_base_url=admin_api),
                                     capsys, "Portkey Admin API")
    assert code == 1 and len(lines) == 1, lines
    head = f"  [!!] Portkey Admin API (portkey) at {admin_api}: portkey answered HTTP 401"
    assert lines[0].startswith(head), lines
    assert refused not in lines[0]
    down = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    started = time.monotonic()
    code, lines = await doctor_lines(Settings(**base, portkey_api_key=key, portkey_base_url=down),
                                     capsys, "Portkey")
    assert time.monotonic() - started < 30
    assert (code, lines) == (1, ["  [ok] Portkey key: pk-…cdef",
                                 f"  [!!] Portkey Admin API (portkey) at {down}: could not reach portkey: "
                                 "All connection attempts failed"])
    # An OpenRouter key and no Portkey key: portkey-admin has no Admin API to call, nothing to ask.
    openrouter = Settings(data_dir=tmp_path, openrouter_api_key="sk-or-v1-" + "0" * 32,
                          openrouter_base_url=sandbox.url)
    code, lines = await doctor_lines(openrouter, capsys, "Portkey Admin API")
    assert lines == []


async def test_doctor_checks_the_portkey_toolsets_as_the_server_does(
        tmp_path: Path, sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    base = {"data_dir": tmp_path, "sandbox_url": sandbox.url}
    code, lines = await doctor_lines(Settings(**base, portkey_toolsets="keys, analytics"), capsys,
                                     "portkey-admin:")
    assert (code, lines) == (0, ["  [ok] portkey-admin: 4 of 15 tools (toolsets: keys, analytics)"])
    code, lines = await doctor_lines(Settings(**base, portkey_toolsets="keys,bogus"), capsys,
                                     "portkey-admin:")
    assert code == 1
    assert lines == ["  [!!] portkey-admin: unknown toolset 'bogus' in GATEWISE_PORTKEY_TOOLSETS (known: "
                     "keys, analytics, workspaces, users, config, guardrails, prompts, limits, logs, "
                     "integrations, all)"]
