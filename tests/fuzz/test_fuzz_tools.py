"""Every tool of the four servers, called with schema-generated and hostile arguments.

Each answer must be a success or an error that starts with a closed error code (INTERNAL
counts as a finding), with no traceback, under 4 KB, within 10 s, and the server must still
answer a ping afterwards. The quick profile runs in `make test`; `make fuzz` runs the thorough one.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fuzz_harness import ServerHost, judge
from fuzz_report import CLEAR, OK, OTHER, PROFILE, SUMMARY, THOROUGH
from fuzz_strategies import Case, corpus_cases, schema_cases
from hypothesis import given, settings
from mcp.types import CallToolResult, TextContent
from PIL import Image

from gatewise.config import Settings, load_settings
from gatewise_sandbox import SandboxServer
from repo_paths import CONTRACTS

MODEL = "openai/gpt-5-nano"
SERVERS = ("routing_gateway", "portkey_admin", "openrouter_multimodal", "openrouter_search")
# Tool names from the contract snapshots, which the servers' own tests keep equal to tools/list.
TOOLS = [(server, tool) for server in SERVERS
         for tool in json.loads((CONTRACTS / f"{server}_tools.json").read_text())]


def media_files(root: Path) -> dict[str, Path]:
    root.mkdir(parents=True, exist_ok=True)
    files = {"png": root / "pic.png", "wav": root / "clip.wav", "mp4": root / "clip.mp4"}
    Image.new("RGB", (32, 16), (200, 30, 30)).save(files["png"], "PNG")
    files["wav"].write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(32))
    files["mp4"].write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(16))
    return files


def working_arguments(media: dict[str, Path]) -> dict[str, dict[str, Any]]:
    """Arguments that succeed, for tools whose schema alone does not say what does (which of
    two fields, a real file or model). Hostile values go in on top, so each reaches its check."""
    prompt = {"prompt": "Summarise the plot of Hamlet in one line."}
    return {
        "routed_complete": prompt, "explain_route": prompt,
        "analyze_image": {"images": [str(media["png"])], "question": "What colour is it?"},
        "analyze_audio": {"audio": str(media["wav"])},
        "analyze_video": {"video": str(media["mp4"])},
        "chat_completion": {"model": MODEL, "messages": [{"role": "user", "content": "What is 6*7?"}]},
        "get_model_info": {"model": MODEL}, "validate_model": {"model": MODEL},
        "research": {"question": "How does SQLite WAL mode handle concurrent readers?"},
        "web_search": {"query": "SQLite WAL concurrency"},
        "check_guardrails": {"text": "Mail a@b.co, card 4111 1111 1111 1111", "guardrails": {
            "input_filters": {"pii_detection": True, "prompt_injection": True}}},
    }


def fuzz_settings(tmp_path: Path, sandbox: SandboxServer) -> Settings:
    return load_settings(
        {}, data_dir=tmp_path / "data", sandbox_url=sandbox.url,
        media={"allowed_roots": [str(tmp_path / "media")], "output_root": str(tmp_path / "out")},
        limits={"max_retries": 1, "backoff_base_s": 0.0, "backoff_max_s": 0.0})


class Fleet:
    """One running server of each kind, shared by the tests of its tools (starting one costs
    more than fuzzing a tool quickly), each with its own data and media folders."""

    def __init__(self, tmp: pytest.TempPathFactory, sandbox: SandboxServer) -> None:
        self._tmp = tmp
        self._sandbox = sandbox
        self._running: dict[str, tuple[ServerHost, dict[str, dict[str, Any]]]] = {}

    def get(self, server: str) -> tuple[ServerHost, dict[str, dict[str, Any]]]:
        if server not in self._running:
            root = self._tmp.mktemp(server)
            config = fuzz_settings(root, self._sandbox)
            module = importlib.import_module(f"gatewise.servers.{server}.server")
            working = working_arguments(media_files(root / "media"))
            self._running[server] = ServerHost(lambda: module.create_server(config)), working
        return self._running[server]

    def close(self) -> None:
        for host, _ in self._running.values():
            host.close()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, fuzz_sandbox: SandboxServer) -> Iterator[Fleet]:
    fleet = Fleet(tmp_path_factory, fuzz_sandbox)
    yield fleet
    fleet.close()


@pytest.mark.parametrize(("server", "tool"), TOOLS, ids=[f"{s}.{t}" for s, t in TOOLS])
def test_tool_answers_every_input_clearly(server: str, tool: str, fleet: Fleet) -> None:
    host, working = fleet.get(server)
    tally = SUMMARY.tally(server.replace("_", "-"), tool)
    schema = host.input_schema(tool)
    sweep = corpus_cases(schema, working.get(tool, {}), every_slot=THOROUGH,
                         share=None if THOROUGH else (TOOLS.index((server, tool)), 3))
    for case in sweep:
        tally.add(case, host.check(tool, case))

    @settings(settings.get_profile(PROFILE))
    @given(schema_cases(schema))
    def fuzz(case: Case) -> None:
        tally.add(case, host.check(tool, case))

    fuzz()
    assert not tally.findings, f"{tool}: {tally.symptoms}\n{tally.report()}"


@pytest.mark.parametrize(("text", "is_error", "outcome", "args"), [
    ("fine", False, OK, {}),
    ("Error executing tool t: NOT_FOUND: no such key Hint: list them first.", True, CLEAR, {}),
    ("TOO_LARGE: 5 MB is over the limit Hint: send less.", True, CLEAR, {}),
    ("Error executing tool t: INTERNAL: an unexpected error occurred (request id 1).", True, OTHER, {}),
    ("Error executing tool t: 1 validation error for tArguments", True, OTHER, {}),
    ("Error executing tool t: 'NoneType' object has no attribute 'get'", True, OTHER, {}),
    ('INVALID_INPUT: bad Traceback (most recent call last):\n  File "x.py"', True, OTHER, {}),
    ("INVALID_INPUT: " + "x" * 5000, True, OTHER, {}),
    # an argument quoted cut short is clear; quoted at length, as written or escaped, it is not
    (f"INVALID_INPUT: cannot read {'y' * 59 + '…'!r}", True, CLEAR, {"timeframe": "y" * 500}),
    (f"INVALID_INPUT: cannot read {'y' * 61!r}", True, OTHER, {"timeframe": "y" * 500}),
    (f"INVALID_INPUT: unknown {'é' * 70!r}", True, OTHER, {"x": [{"k": "é" * 70}]}),
    (f"INVALID_INPUT: unknown {'é' * 70!a}", True, OTHER, {"x": {"é" * 70: 1}}),
    ("INVALID_INPUT: unknown 'short'", True, CLEAR, {"x": "short"}),
    (f"NOT_FOUND: no file at {'…' + 'b' * 59!r}", True, CLEAR, {"path": "a" * 100 + "b" * 100}),
    (f"NOT_FOUND: no file at {'b' * 61!r}", True, OTHER, {"path": "a" * 100 + "b" * 100}),
])
def test_judge_accepts_only_coded_short_errors(text: str, is_error: bool, outcome: str,
                                               args: dict[str, Any]) -> None:
    result = CallToolResult(content=[TextContent(type="text", text=text)], is_error=is_error)
    assert judge(result, Case("unit", args)).outcome == outcome
