"""HTTP serving: who may call (bind check, Host/Origin) and the limits on slow or greedy clients.

Servers run as real subprocesses bound to 127.0.0.1 and are probed with raw sockets and httpx.
"""

from __future__ import annotations

import json
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing
from pathlib import Path

import httpx
import pytest

from gatewise import cli
from gatewise.config import load_settings
from gatewise.errors import GatewiseError
from gatewise.mcpkit.transport import http_serving, transport_parser
from tool_support import free_port, server_env, wait_for_port

MODULE = [sys.executable, "-m", "gatewise.servers.routing_gateway"]
LIMITS = {"header_timeout_s": 0.5, "body_timeout_s": 0.5, "max_body_bytes": 2000,
          "max_connections": 4, "max_sessions": 1}
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "probe", "version": "0"}}}
ACCEPT = {"Accept": "application/json, text/event-stream"}


@pytest.fixture(scope="module")
def ports(sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    """Three servers started side by side: small limits over http and sse, and listed hosts/origins."""
    root = tmp_path_factory.mktemp("http")
    config = root / "gatewise.json"
    config.write_text(json.dumps({"server": LIMITS}))
    launches = {
        "limited": (["--transport", "http"], {"GATEWISE_CONFIG": str(config)}),
        "sse": (["--transport", "sse"], {"GATEWISE_CONFIG": str(config)}),
        "listed": (["--transport", "http", "--allowed-origin", "http://localhost:5555"],
                   {"GATEWISE_ALLOWED_HOSTS": "gw.example, other.example:9"}),
    }
    with ExitStack() as stack:
        procs = {}
        for name, (args, extra) in launches.items():
            port = free_port()
            env = {**server_env(sandbox.url, root / name), **extra}
            log = stack.enter_context((root / f"{name}.log").open("wb"))
            proc = subprocess.Popen([*MODULE, *args, "--host", "127.0.0.1", "--port", str(port)],
                                    env=env, stdout=subprocess.DEVNULL, stderr=log)
            stack.callback(_stop, proc)
            procs[name] = (proc, port)
        for proc, port in procs.values():
            wait_for_port(port, proc)
        yield {name: port for name, (_, port) in procs.items()}


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=15)


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def _drip(sock: socket.socket, first: bytes, then: bytes, within_s: float = 8.0) -> bytes:
    """Send ``first``, then ``then`` every 0.1 s until the server answers or hangs up; what it
    sent back (b"" when it closed without a word)."""
    sock.sendall(first)
    stop = time.monotonic() + within_s
    while time.monotonic() < stop:
        if select.select([sock], [], [], 0.1)[0]:
            return _read_all(sock)
        try:
            sock.sendall(then)
        except OSError:
            return b""
    raise AssertionError("the server kept a dripping connection open")


def _request(port: int, head: str, body: bytes = b"") -> bytes:
    """One raw request (``head`` without the Host line); the whole answer up to the close."""
    with closing(_connect(port)) as sock:
        sock.sendall(f"{head}\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode() + body)
        return _read_all(sock)


def _served_again(port: int) -> bool:
    """True once a fresh connection gets a real answer (closed connections have been counted out)."""
    stop = time.monotonic() + 5
    while time.monotonic() < stop:
        if not _request(port, "GET /nothing HTTP/1.1\r\nConnection: close").startswith(b"HTTP/1.1 503"):
            return True
        time.sleep(0.05)
    return False


def test_bind_beyond_loopback_without_allowed_hosts_is_refused(sandbox, tmp_path: Path) -> None:
    proc = subprocess.Popen([*MODULE, "--transport", "http", "--host", "0.0.0.0", "--port",
                             str(free_port())], env=server_env(sandbox.url, tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == 2 and stdout == ""
    _assert_one_line_refusal(stderr, "0.0.0.0")


def test_gatewise_serve_refuses_the_same_way(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    for var in ("GATEWISE_CONFIG", "GATEWISE_ALLOWED_HOSTS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GATEWISE_DATA_DIR", str(tmp_path))
    with pytest.raises(SystemExit) as stopped:  # 192.0.2.1: a documentation address
        cli.main(["serve", "routing-gateway", "--transport", "sse", "--host", "192.0.2.1"])
    assert stopped.value.code == 2
    _assert_one_line_refusal(capsys.readouterr().err, "192.0.2.1")


def _assert_one_line_refusal(stderr: str, host: str) -> None:
    lines = stderr.splitlines()
    assert len(lines) == 1 and f"refusing to serve on {host}" in lines[0], stderr
    assert "--allowed-host" in lines[0]


def test_command_line_lists_replace_the_configured_ones_and_are_checked(tmp_path: Path) -> None:
    settings = load_settings({"GATEWISE_ALLOWED_HOSTS": "a.example", "GATEWISE_DATA_DIR": str(tmp_path)})
    parser = transport_parser("t", "")
    serving = http_serving(settings, parser.parse_args(["--host", "10.0.0.5",
                                                        "--allowed-host", "b.example:8000"]))
    assert serving.security.allowed_hosts == ["b.example:8000"]
    assert http_serving(settings, parser.parse_args(["--host", "10.0.0.5"])).security.allowed_hosts \
        == ["a.example", "a.example:*"]
    with pytest.raises(GatewiseError, match="not an origin"):
        http_serving(settings, parser.parse_args(["--allowed-origin", "https://app.example/x"]))


def test_listed_hosts_and_origins_are_enforced(ports: dict[str, int]) -> None:
    url = f"http://127.0.0.1:{ports['listed']}/mcp"
    for host in ("gw.example", f"gw.example:{ports['listed']}", "other.example:9"):
        reply = httpx.post(url, json=INIT, headers={**ACCEPT, "Host": host})
        assert reply.status_code == 200, (host, reply.text)
    for host in ("evil.example", f"evil.example:{ports['listed']}", "other.example:10"):
        assert httpx.post(url, json=INIT, headers={**ACCEPT, "Host": host}).status_code == 421
    listed = httpx.post(url, json=INIT, headers={**ACCEPT, "Origin": "http://localhost:5555"})
    assert listed.status_code == 200
    other = httpx.post(url, json=INIT, headers={**ACCEPT, "Origin": "http://localhost:5556"})
    assert other.status_code == 403


def test_loopback_refuses_browser_origins_but_its_own_by_default(ports: dict[str, int]) -> None:
    port = ports["limited"]
    url = f"http://127.0.0.1:{port}/mcp"
    for origin in ("http://localhost:5555", f"http://127.0.0.1:{port + 1}", f"https://127.0.0.1:{port}",
                   "null"):
        assert httpx.post(url, json=INIT, headers={**ACCEPT, "Origin": origin}).status_code == 403
    # A page it served itself (asked of another server: this one's sessions are capped for a test).
    other = ports["listed"]
    for own in (f"http://127.0.0.1:{other}", f"http://localhost:{other}"):
        reply = httpx.post(f"http://127.0.0.1:{other}/mcp", json=INIT, headers={**ACCEPT, "Origin": own})
        assert reply.status_code == 200
    assert httpx.post(url, json=INIT, headers={**ACCEPT, "Host": "evil.example"}).status_code == 421


def test_dripping_or_silent_headers_are_cut_off(ports: dict[str, int]) -> None:
    with closing(_connect(ports["limited"])) as sock:
        assert _drip(sock, b"POST /mcp HTTP/1.1\r\n", b"X") == b""
    with closing(_connect(ports["limited"])) as sock:
        sock.settimeout(8)
        assert _read_all(sock) == b""  # connected, never sent a byte


def test_headers_over_the_limit_get_431_however_they_arrive(ports: dict[str, int]) -> None:
    port = ports["limited"]  # max_header_bytes: the default 16 KiB
    whole = _request(port, "GET /healthz HTTP/1.1\r\nX-Pad: " + "a" * 100_000)  # in one write
    assert whole.startswith(b"HTTP/1.1 431"), whole[:80]
    many = _request(port, "GET /healthz HTTP/1.1\r\n" + "X-Pad: aaaaaaaa\r\n" * 2000 + "X-End: 1")
    assert many.startswith(b"HTTP/1.1 431"), many[:80]
    fitting = _request(port, "GET /healthz HTTP/1.1\r\nX-Pad: " + "a" * 8_000)
    assert fitting.startswith(b"HTTP/1.1 404"), fitting[:80]  # read and answered: no such path here
    assert _served_again(port)


def test_slow_body_gets_408_and_the_connection_closes(ports: dict[str, int]) -> None:
    port = ports["limited"]
    head = (f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            "Content-Length: 1500\r\n\r\n{")
    with closing(_connect(port)) as sock:
        answer = _drip(sock, head.encode(), b" ")
    assert answer.startswith(b"HTTP/1.1 408"), answer


def test_bodies_over_the_limit_get_413(ports: dict[str, int]) -> None:
    port = ports["limited"]
    declared = _request(port, "POST /mcp HTTP/1.1\r\nContent-Type: application/json\r\n"
                              "Content-Length: 2001")
    assert declared.startswith(b"HTTP/1.1 413"), declared
    chunk = b"x" * 2001
    chunked = _request(port, "POST /mcp HTTP/1.1\r\nContent-Type: application/json\r\n"
                             "Transfer-Encoding: chunked", b"%x\r\n%s\r\n" % (len(chunk), chunk))
    assert chunked.startswith(b"HTTP/1.1 413"), chunked


def test_connections_beyond_the_cap_get_503(ports: dict[str, int]) -> None:
    port = ports["limited"]
    held = [_connect(port) for _ in range(LIMITS["max_connections"])]
    try:
        for sock in held:  # a finished request leaves the connection open (keep-alive)
            sock.sendall(f"GET /nothing HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            assert sock.recv(65536).startswith(b"HTTP/1.1 404")
        with closing(_connect(port)) as extra:
            extra.settimeout(8)
            assert _read_all(extra).startswith(b"HTTP/1.1 503")
    finally:
        for sock in held:
            sock.close()
    assert _served_again(port)


def test_sessions_beyond_the_cap_get_503(ports: dict[str, int]) -> None:
    url = f"http://127.0.0.1:{ports['limited']}/mcp"
    first = httpx.post(url, json=INIT, headers=ACCEPT)
    assert first.status_code == 200
    try:
        assert httpx.post(url, json=INIT, headers=ACCEPT).status_code == 503
    finally:
        _end_session(url, first)
    again = httpx.post(url, json=INIT, headers=ACCEPT)  # a closed session makes room
    assert again.status_code == 200
    _end_session(url, again)


def _end_session(url: str, opened: httpx.Response) -> None:
    httpx.delete(url, headers={"mcp-session-id": opened.headers["mcp-session-id"]})


def test_sse_sessions_beyond_the_cap_get_503(ports: dict[str, int]) -> None:
    url = f"http://127.0.0.1:{ports['sse']}/sse"
    with httpx.Client(timeout=10) as client, client.stream("GET", url) as stream:
        assert stream.status_code == 200
        assert client.get(url).status_code == 503
