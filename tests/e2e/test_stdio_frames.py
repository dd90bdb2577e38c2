"""Raw lines over the routing-gateway's stdio pipe: every line that is not a JSON-RPC message gets
a JSON-RPC error with the request's id (when it can be read), and the server keeps serving."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gatewise_sandbox import SandboxServer
from tool_support import server_env

SCRIPT = Path(sys.executable).parent / "gatewise-routing-gateway"
MAX_FRAME = 1 << 20
ANSWER_WAIT_S = 10  # a read timeout, so a dropped frame fails the test instead of hanging it
START_WAIT_S = 60  # the first answer waits for the server's start-up, slow on a busy machine
PARSE_ERROR, INVALID_REQUEST = -32700, -32600


class Pipe:
    """The server's stdin, and its stdout lines (each must be JSON) as they arrive."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdin and proc.stdout
        self.proc, self.stdin = proc, proc.stdin
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, args=(proc.stdout,), daemon=True).start()

    def _read(self, stdout: Any) -> None:
        for line in stdout:
            self.lines.put(json.loads(line))

    def send(self, line: bytes) -> None:
        self.stdin.write(line + b"\n")
        self.stdin.flush()

    def answer(self, line: bytes, request_id: Any, wait_s: float = ANSWER_WAIT_S) -> dict[str, Any]:
        self.send(line)
        while True:
            try:
                message = self.lines.get(timeout=wait_s)
            except queue.Empty:
                raise AssertionError(f"no answer for id {request_id!r}") from None
            if "id" in message and message["id"] == request_id:
                return message


def request(request_id: Any, method: str, params: dict[str, Any] | None = None) -> bytes:
    body = {"jsonrpc": "2.0", "id": request_id, "method": method}
    return json.dumps(body | ({"params": params} if params else {})).encode()


@pytest.fixture(scope="module")
def pipe(sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipe]:
    folder = tmp_path_factory.mktemp("stdio-frames")
    config = folder / "config.json"
    config.write_text(json.dumps({"limits": {"max_stdio_frame_bytes": MAX_FRAME}}))
    env = server_env(sandbox.url, folder) | {"GATEWISE_CONFIG": str(config)}
    stderr = folder / "stderr.log"
    with stderr.open("wb") as err, subprocess.Popen([str(SCRIPT)], stdin=subprocess.PIPE,
                                                     stdout=subprocess.PIPE, stderr=err,
                                                     env=env) as proc:
        try:
            served = Pipe(proc)
            served.answer(request(1, "initialize", {
                "protocolVersion": "2025-11-25", "capabilities": {},
                "clientInfo": {"name": "raw", "version": "0"}}), 1, START_WAIT_S)
            served.send(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}')
            yield served
            served.stdin.close()
            assert proc.wait(timeout=15) == 0
        finally:
            # After a failure the server still runs and the reader thread is blocked on its
            # stdout, so Popen's exit (which closes that pipe, then waits) would hang forever.
            if proc.poll() is None:
                proc.kill()
    assert "Traceback" not in stderr.read_text()


HEAD = b'{"jsonrpc": "2.0", "id": %d, "method": "tools/list", "params": {"x": '
CASES = {
    "deep nesting": (HEAD % 101 + b"[" * 250 + b"]" * 250 + b"}}", 101, PARSE_ERROR),
    "invalid JSON": (b'{"jsonrpc": "2.0", "id": "req-102", "method": "tools/list", "params": {',
                     "req-102", PARSE_ERROR),
    "lone surrogate": (HEAD % 103 + b'"\\ud800 then text"}}', 103, PARSE_ERROR),
    "5,000-digit integer": (HEAD % 104 + b"7" * 5000 + b"}}", 104, PARSE_ERROR),
    "array frame": (b'[{"jsonrpc": "2.0", "id": 105, "method": "tools/list"}]', 105,
                    INVALID_REQUEST),
    "number frame": (b"42", None, INVALID_REQUEST),
    "object that is no message": (b'{"id": 107, "hello": "there"}', 107, INVALID_REQUEST),
    "oversized line": (HEAD % 108 + b'"' + b"a" * (MAX_FRAME + 500_000) + b'"}}', 108,
                       INVALID_REQUEST),
}


@pytest.mark.parametrize("case", CASES)
def test_a_bad_frame_is_answered_and_the_server_keeps_going(pipe: Pipe, case: str) -> None:
    line, request_id, code = CASES[case]
    answer = pipe.answer(line, request_id)
    assert answer["error"]["code"] == code and len(answer["error"]["message"]) < 300
    assert "result" not in answer
    listed = pipe.answer(request(200, "tools/list"), 200)
    assert "routed_complete" in {tool["name"] for tool in listed["result"]["tools"]}


def test_a_frame_at_the_limit_is_still_served(pipe: Pipe) -> None:
    frame = request(300, "tools/list", {"pad": ""})
    frame = frame.replace(b'"pad": ""', b'"pad": "' + b"p" * (MAX_FRAME - len(frame)) + b'"')
    assert len(frame) == MAX_FRAME
    assert "tools" in pipe.answer(frame, 300)["result"]
