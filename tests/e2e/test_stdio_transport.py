"""gatewise's stdio transport against the SDK's: the same conversation gets the same bytes back,
over pipes (read and written on the event loop) and over a socket pair (written in a thread)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

import pytest

SERVER = """
import sys
from mcp.server.mcpserver import MCPServer
from gatewise.mcpkit.stdio import serve_stdio

server = MCPServer("echo")

@server.tool()
def echo(text: str) -> str:
    print("a stray print", flush=True)  # stdout is not the wire while serving
    return text

if sys.argv[1] == "sdk":
    server.run("stdio")
else:
    serve_stdio(server, max_frame_bytes=1 << 20)
"""
TEXTS = ['naïve — ✓ \u2028 "quoted" \\ end', "x" * 150_000]  # the long one outgrows a pipe
WAIT_S = 60


def conversation() -> list[dict[str, Any]]:
    hello = {"protocolVersion": "2025-11-25", "capabilities": {},
             "clientInfo": {"name": "raw", "version": "0"}}
    calls = [("tools/call", {"name": "echo", "arguments": {"text": text}}) for text in TEXTS]
    return [{"jsonrpc": "2.0", "id": n, "method": method} | ({"params": params} if params else {})
            for n, (method, params) in enumerate([("initialize", hello), ("tools/list", None),
                                                   *calls, ("ping", None)], start=1)]


def converse(to_server: BinaryIO, from_server: BinaryIO) -> list[bytes]:
    """Each request's answer line, as sent; the initialized notification after the handshake."""
    answers = []
    for request in conversation():
        to_server.write(json.dumps(request).encode() + b"\n")
        to_server.flush()
        answers.append(from_server.readline())
        if request["method"] == "initialize":
            to_server.write(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}\n')
            to_server.flush()
    return answers


@contextmanager
def serve(transport: str, stdin: Any, stdout: Any) -> Iterator[subprocess.Popen[bytes]]:
    with subprocess.Popen([sys.executable, "-c", SERVER, transport], stdin=stdin, stdout=stdout,
                          stderr=subprocess.PIPE) as proc:
        try:
            yield proc
        finally:
            if proc.poll() is None:  # a failed test: nobody else ends it
                proc.kill()


def finish(proc: subprocess.Popen[bytes]) -> bytes:
    """The server's stderr, once it has ended on its own after its input closed."""
    assert proc.stderr
    err = proc.stderr.read()
    assert proc.wait(timeout=WAIT_S) == 0, err.decode()
    return err


def over_pipes(transport: str) -> tuple[list[bytes], bytes, bytes]:
    with serve(transport, subprocess.PIPE, subprocess.PIPE) as proc:
        assert proc.stdin and proc.stdout
        answers = converse(proc.stdin, proc.stdout)
        proc.stdin.close()
        return answers, proc.stdout.read(), finish(proc)


@pytest.fixture(scope="module")
def sdk_answers() -> list[bytes]:
    answers, rest, _ = over_pipes("sdk")
    assert rest == b""
    return answers


def test_over_pipes_the_answers_are_the_sdk_bytes(sdk_answers: list[bytes]) -> None:
    answers, rest, err = over_pipes("gatewise")
    assert answers == sdk_answers
    assert [json.loads(line)["id"] for line in answers] == [1, 2, 3, 4, 5]
    texts = [json.loads(line)["result"]["content"][0]["text"] for line in answers[2:4]]
    assert texts == TEXTS
    assert rest == b"" and err.count(b"a stray print") == len(TEXTS)


def test_over_a_socket_pair_the_answers_are_the_sdk_bytes(sdk_answers: list[bytes]) -> None:
    ours, theirs = socket.socketpair()
    with ours, serve("gatewise", theirs, theirs) as proc:
        theirs.close()  # the server holds its own copy
        with ours.makefile("rb") as reader, ours.makefile("wb") as writer:
            answers = converse(writer, reader)
            ours.shutdown(socket.SHUT_WR)
            rest = reader.read()
        err = finish(proc)
    assert answers == sdk_answers
    assert rest == b"" and err.count(b"a stray print") == len(TEXTS)
