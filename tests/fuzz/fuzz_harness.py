"""Drive one server with fuzz cases and judge each answer.

A server runs behind an in-memory MCP client on an event loop in a daemon thread, so the sync
hypothesis tests can call it, and a case that blocks the loop fails the test instead of hanging
the run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import re
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import anyio
from fuzz_report import CLEAR, OK, OTHER, Verdict
from fuzz_strategies import Case
from hypothesis import HealthCheck, settings
from mcp import Client, MCPError
from mcp.types import CallToolResult, TextContent
from pydantic_core import PydanticSerializationError

from gatewise.errors import QUOTED_CHARS, ErrorCode
from tool_support import RawArgsTransport

CASE_TIMEOUT_S = 10.0
MAX_ERROR_CHARS = 4096
# INTERNAL is a coded error, but it means an unanticipated path: the fuzzer counts it as a finding.
CLEAR_CODES = frozenset(code.value for code in ErrorCode) - {"INTERNAL"}
_CODE = re.compile(r"(?:Error executing tool [^:]*: )?([A-Z_]+): ")

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
          HealthCheck.large_base_example]
# quick runs in `make test`: few examples, the same ones every run, nothing stored.
settings.register_profile("quick", max_examples=4, derandomize=True, database=None, deadline=None,
                          suppress_health_check=_QUIET)
# thorough runs in `make fuzz`: 200 fresh examples per tool (pass --hypothesis-seed to repeat a run).
settings.register_profile("thorough", max_examples=200, deadline=None, suppress_health_check=_QUIET)


def judge(result: CallToolResult, case: Case) -> Verdict:
    text = "\n".join(c.text for c in result.content if isinstance(c, TextContent))
    if case.wire:
        try:
            result.model_dump_json(by_alias=True)  # what stdio and HTTP would have to send
        except PydanticSerializationError:
            return Verdict(OTHER, "result cannot be sent as JSON", text)
    if not result.is_error:
        return Verdict(OK)
    if "Traceback" in text or 'File "' in text:
        return Verdict(OTHER, "traceback in error", text)
    if len(text) > MAX_ERROR_CHARS:
        return Verdict(OTHER, f"error text over {MAX_ERROR_CHARS} chars", text)
    match = _CODE.match(text)
    code = match.group(1) if match else None
    if code == "INTERNAL":
        return Verdict(OTHER, "INTERNAL", text)
    if code not in CLEAR_CODES:
        kind = "schema" if "validation error" in text else "other"
        return Verdict(OTHER, f"bare error ({kind})", text)
    if _echoes_an_argument(case.args, text):
        return Verdict(OTHER, f"error quotes over {QUOTED_CHARS} characters of an argument", text)
    return Verdict(CLEAR)


def _texts(value: Any) -> Iterator[str]:
    """Every string in an argument value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from _texts(key)
            yield from _texts(child)
    elif isinstance(value, list):
        for child in value:
            yield from _texts(child)


def _echoes_an_argument(args: dict[str, Any], text: str) -> bool:
    """Whether an error quotes the start or the end of a long text argument past the quoting
    limit, as written or escaped."""
    return any(part in text
               for value in _texts(args) if len(value) > QUOTED_CHARS
               for form in (value, repr(value)[1:-1], ascii(value)[1:-1])
               for part in (form[:QUOTED_CHARS + 1], form[-QUOTED_CHARS - 1:]))


class LoopBlocked(AssertionError):
    """A case kept the server's event loop busy past the timeout: nothing else can run."""


class ServerHost:
    """One server and its client, alive across cases; restarted when it stops answering."""

    def __init__(self, make_server: Callable[[], Any]) -> None:
        self._make_server = make_server
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fuzz-server", daemon=True)
        self._thread.start()
        self._open()

    def _run(self, coro: Coroutine[Any, Any, Any], what: str) -> Any:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(CASE_TIMEOUT_S + 5)
        except concurrent.futures.TimeoutError:
            raise LoopBlocked(f"the server's event loop was blocked by {what}") from None

    def _open(self) -> None:
        self._transport = RawArgsTransport(self._make_server())
        self._client: Client = self._run(self._start(), "start-up")

    async def _start(self) -> Client:
        started: asyncio.Future[Client] = self._loop.create_future()
        self._stop = asyncio.Event()
        self._session = asyncio.ensure_future(self._hold(started))
        return await started

    async def _hold(self, started: asyncio.Future[Client]) -> None:
        # The client's task group must be entered and left in one task: this one.
        try:
            async with Client(self._transport, mode="legacy") as client:
                started.set_result(client)
                await self._stop.wait()
        except Exception as exc:
            if not started.done():
                started.set_exception(exc)

    def _close_client(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        with contextlib.suppress(TimeoutError, LoopBlocked):
            self._run(asyncio.wait_for(asyncio.shield(self._session), CASE_TIMEOUT_S), "shutdown")

    def close(self) -> None:
        self._close_client()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(CASE_TIMEOUT_S)
        if not self._thread.is_alive():  # else a blocked loop: leave the daemon thread behind
            self._loop.close()

    def input_schema(self, tool: str) -> dict[str, Any]:
        listed = self._run(self._client.list_tools(), "tools/list")
        return next(t.input_schema for t in listed.tools if t.name == tool)

    def check(self, tool: str, case: Case) -> Verdict:
        started = time.perf_counter()
        verdict = self._run(self._call(tool, case), f"{tool} with {case.label}")
        verdict = verdict._replace(seconds=time.perf_counter() - started)
        if self._run(self._answers(), "tools/list"):
            return verdict
        self._close_client()
        self._open()
        return verdict._replace(outcome=OTHER, symptom="server stopped answering")

    async def _call(self, tool: str, case: Case) -> Verdict:
        self._transport.pending = case.args
        try:
            with anyio.fail_after(CASE_TIMEOUT_S):
                result = await self._client.call_tool(tool, {})
        except TimeoutError:
            return Verdict(OTHER, f"no answer within {CASE_TIMEOUT_S:g} s")
        except MCPError as exc:
            return Verdict(OTHER, "JSON-RPC error", f"{exc.code}: {exc}")
        except Exception as exc:
            return Verdict(OTHER, f"client raised {type(exc).__name__}", str(exc))
        finally:
            self._transport.pending = None
        return judge(result, case)

    async def _answers(self) -> bool:
        try:
            with anyio.fail_after(CASE_TIMEOUT_S):
                await self._client.list_tools()
        except Exception:
            return False
        return True
