"""The SSRF guard: hostile URLs are refused before any connection; a loopback server checks the rest."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from compression_support import MB, gzip_zeros, peak_while
from gatewise.config import MediaConfig
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.media.fetch import fetch_url
from gatewise.media.urls import check_url

DNS = {
    "evil.test": ["127.0.0.1"],
    "rebind.test": ["93.184.216.34", "10.0.0.1"],
    "mapped.test": ["::ffff:127.0.0.1"],
    "metadata.test": ["169.254.169.254"],
    "ula.test": ["fd00::1"],
    "public.test": ["93.184.216.34"],
    "public6.test": ["2606:2800:220:1:248:1893:25c8:1946"],
    "pinned.test": ["127.0.0.1"],
}


class StubResolver:
    """Answers from ``DNS`` and records each lookup; an unknown name fails the test."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.calls.append((host, port))
        if host not in DNS:
            pytest.fail(f"unexpected lookup of {host}")
        return DNS[host]


class Reached(Exception):
    """Raised by the patched transport: the request got as far as a connection attempt."""


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[httpx.Request]:
    """Replace the network layer so any request is recorded and stopped, never sent."""
    requests: list[httpx.Request] = []

    async def refuse(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        requests.append(request)
        raise Reached

    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", refuse)
    return requests


HOSTILE = [
    "http://10.0.0.5/",
    "https://10.1.2.3/",
    "http://172.16.0.1/",
    "http://172.31.255.255/",
    "http://192.168.1.1/",
    "http://127.0.0.1/",
    "http://127.0.0.1:8080/admin",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://0x7f.1/",
    "http://0x7f.0x0.0x0.0x1/",
    "http://0x7f000001/",
    "http://127.1/",
    "http://127.000.000.001/",
    "http://0.0.0.0/",
    "http://0/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "http://192.0.2.1/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::7f00:1]/",
    "http://[fe80::1%25eth0]/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://[fec0::1]/",
    "http://[ff02::1]/",
    "http://[2001:db8::1]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[64:ff9b::a00:1]/",
    "http://[2002:7f00:1::]/",
    "http://[2002:c0a8:101::1]/",
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
    "http://[::]/",
    "http://[::1]x/",
    "http://1.2.3.999/",
    "http://example.0x10/",
    "http://localhost/",
    "http://localhost:8000/",
    "http://foo.localhost/",
    "http://LOCALHOST./",
    "http://\u24dbocalhost/",
    "http://%31%32%37.0.0.1/",
    "http://user:pass@example.com/",
    "http://user@example.com/",
    "ftp://example.com/file",
    "file:///etc/passwd",
    "gopher://example.com/_",
    "javascript:alert(1)",
    "//example.com/",
    "http://evil.test/",
    "http://EVIL.TEST./",
    "http://rebind.test/",
    "http://mapped.test/",
    "http://metadata.test/",
    "https://ula.test/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://printer.local/",
    "http://router.home.arpa/",
    "http://metadata/",
    "http://[fd00:ec2::254]/",
    "http://exa mple.com/",
    "http://example.com\\@10.0.0.1/",
]


@pytest.mark.parametrize("url", HOSTILE)
async def test_hostile_urls_are_refused_before_connecting(url: str, sent: list[httpx.Request]) -> None:
    with pytest.raises(GatewiseError) as caught:
        await fetch_url(url, MediaConfig(), resolver=StubResolver())
    assert caught.value.code is ErrorCode.UNSAFE_URL, caught.value.message
    assert sent == []


@pytest.mark.parametrize("url", ["http://10.0.0.1/", "http://[::ffff:127.0.0.1]/", "http://localhost/",
                                 "http://127.0.0.2/", "http://rebind.test/"])
async def test_loopback_allowance_admits_nothing_else(url: str, sent: list[httpx.Request]) -> None:
    with pytest.raises(GatewiseError) as caught:
        await fetch_url(url, MediaConfig(), allow_loopback_for_tests=True, resolver=StubResolver())
    assert caught.value.code is ErrorCode.UNSAFE_URL
    assert sent == []


@pytest.mark.parametrize(
    "url", ["http://[evil.test]/", "http://[1.2.3.4]/", "http://example.com:0/", "http://example.com:99999/",
            "http:///no-host"],
)
async def test_malformed_urls_are_invalid_input(url: str, sent: list[httpx.Request]) -> None:
    with pytest.raises(GatewiseError) as caught:
        await fetch_url(url, MediaConfig(), resolver=StubResolver())
    assert caught.value.code is ErrorCode.INVALID_INPUT
    assert sent == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://10.0.0.5/", "private address 10.0.0.5"),
        ("ftp://example.com/", "scheme 'ftp' not allowed"),
        ("http://rebind.test/", "'rebind.test' resolves to a private address 10.0.0.1"),
        ("http://0x7f.1/", "loopback address 127.0.0.1"),
        ("http://[64:ff9b::a00:1]/", "that embeds a private address 10.0.0.1"),
        ("http://a:b@example.com/", "credentials"),
        ("http://foo.localhost/", "local name"),
        ("http://Metadata.Google.Internal./", "'metadata.google.internal' is a local name"),
        ("http://intranet/", "single-label name"),
    ],
)
async def test_refusals_name_the_reason(url: str, reason: str, sent: list[httpx.Request]) -> None:
    with pytest.raises(GatewiseError, match=re.escape(reason)):
        await fetch_url(url, MediaConfig(), resolver=StubResolver())


def test_url_policy_alone_judges_names_and_literals_without_dns() -> None:
    """The check used for URLs the provider fetches: no lookup, so a public name passes as it is."""
    checked = check_url("HTTPS://Example.COM.:8443/a?b=1")
    assert (checked.host, checked.port, checked.address) == ("example.com", 8443, None)
    assert str(check_url("http://0x5db8d822/").address) == "93.184.216.34"
    check_url("http://evil.test/")  # it resolves to loopback, which only a fetch (it resolves) finds
    for url in ("http://0x7f.1/", "http://db.internal/"):
        with pytest.raises(GatewiseError) as caught:
            check_url(url)
        assert caught.value.code is ErrorCode.UNSAFE_URL


async def test_public_host_is_pinned_to_its_vetted_address(sent: list[httpx.Request]) -> None:
    resolver = StubResolver()
    with pytest.raises(Reached):
        await fetch_url("https://Public.test/a%20b?x=1#frag", MediaConfig(), resolver=resolver)
    assert resolver.calls == [("public.test", 443)]
    (request,) = sent
    assert request.url.host == "93.184.216.34"
    assert request.url.raw_path == b"/a%20b?x=1"
    assert request.headers["host"] == "public.test"
    assert request.extensions["sni_hostname"] == "public.test"


async def test_public_ipv6_host_is_pinned(sent: list[httpx.Request]) -> None:
    with pytest.raises(Reached):
        await fetch_url("http://public6.test:8080/", MediaConfig(), resolver=StubResolver())
    (request,) = sent
    assert request.url.host == "2606:2800:220:1:248:1893:25c8:1946"
    assert request.headers["host"] == "public6.test:8080"


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urlsplit(self.path)
        size = int(parse_qs(url.query).get("n", ["0"])[0])
        route = url.path
        if route == "/ok":
            self._reply(200, b"hello", "text/plain")
        elif route == "/echo":
            self._reply(200, f"{self.headers['User-Agent']}|{self.headers['Host']}".encode(), "text/plain")
        elif route == "/accept-encoding":
            self._reply(200, str(self.headers["Accept-Encoding"]).encode(), "text/plain")
        elif route == "/gzip":  # n MB of zeros, gzipped `layers` times whatever was asked for
            layers = int(parse_qs(url.query).get("layers", ["1"])[0])
            self._reply(200, gzip_zeros(size, layers), "image/png",
                        encoding=", ".join(["gzip"] * layers))
        elif route.startswith("/redirect/"):
            left = int(route.rsplit("/", 1)[1])
            self._redirect("/ok" if left <= 1 else f"redirect/{left - 1}")
        elif route == "/absolute":
            self._redirect(f"http://127.0.0.1:{self.server.server_address[1]}/ok")
        elif route == "/to-private":
            self._redirect("http://10.0.0.1/")
        elif route == "/big":
            self._reply(200, b"x" * size, "application/octet-stream")
        elif route == "/stream":
            self.send_response(200)
            self.end_headers()
            for _ in range(size // 500):
                self.wfile.write(b"y" * 500)
                self.wfile.flush()
        elif route == "/slow":
            time.sleep(1.0)
            self._reply(200, b"late", "text/plain")
        else:
            self._reply(404, b"no", "text/plain")

    def _reply(self, status: int, body: bytes, content_type: str, *, encoding: str = "") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients hang up on purpose (size and time limits)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


async def _fetch(url: str, **config: object):
    return await fetch_url(url, MediaConfig(**config), allow_loopback_for_tests=True, resolver=StubResolver())


async def test_plain_fetch(server: str) -> None:
    got = await _fetch(f"http://{server}/ok")
    assert (got.content, got.content_type, got.redirects) == (b"hello", "text/plain", 0)
    assert got.final_url == f"http://{server}/ok"


async def test_user_agent_is_sent(server: str) -> None:
    got = await _fetch(f"http://{server}/echo", user_agent="gatewise-test/1")
    assert got.content == f"gatewise-test/1|{server}".encode()


async def test_connection_goes_to_the_pinned_address(server: str) -> None:
    port = server.rsplit(":", 1)[1]
    resolver = StubResolver()
    got = await fetch_url(f"http://pinned.test:{port}/echo", MediaConfig(), allow_loopback_for_tests=True,
                          resolver=resolver)
    assert got.content.decode().endswith(f"|pinned.test:{port}")
    assert resolver.calls == [("pinned.test", int(port))]


async def test_redirects_within_the_limit_are_followed(server: str) -> None:
    got = await _fetch(f"http://{server}/redirect/3", max_redirects=3)
    assert (got.content, got.redirects, got.final_url) == (b"hello", 3, f"http://{server}/ok")
    got = await _fetch(f"http://{server}/absolute", max_redirects=1)
    assert (got.content, got.redirects) == (b"hello", 1)


async def test_too_many_redirects(server: str) -> None:
    with pytest.raises(GatewiseError, match="More than 2 redirects") as caught:
        await _fetch(f"http://{server}/redirect/3", max_redirects=2)
    assert caught.value.code is ErrorCode.UPSTREAM_ERROR


async def test_redirect_to_a_private_address_is_refused_at_the_hop(server: str) -> None:
    with pytest.raises(GatewiseError, match=r"10\.0\.0\.1") as caught:
        await _fetch(f"http://{server}/to-private")
    assert caught.value.code is ErrorCode.UNSAFE_URL


@pytest.mark.parametrize("route", ["big", "stream"])
async def test_oversized_bodies(server: str, route: str) -> None:
    assert (await _fetch(f"http://{server}/{route}?n=1000", max_input_bytes=1000)).content.strip(b"xy") == b""
    with pytest.raises(GatewiseError) as caught:
        await _fetch(f"http://{server}/{route}?n=5000", max_input_bytes=1000)
    assert caught.value.code is ErrorCode.TOO_LARGE


async def test_the_bytes_are_asked_for_as_they_are(server: str) -> None:
    assert (await _fetch(f"http://{server}/accept-encoding")).content == b"identity"


async def test_a_compressed_body_is_held_to_the_limit_while_it_is_decoded(server: str) -> None:
    """100 MB of zeros in 100 KB of gzip, sent though not asked for: decoded a piece at a time,
    refused at 1 MB, never all in memory (httpx alone decodes each 64 KiB read whole: 64 MB)."""
    small = await _fetch(f"http://{server}/gzip?n=1", max_input_bytes=2 * MB)
    assert small.content == bytes(MB)
    refused, peak = await peak_while(_fetch(f"http://{server}/gzip?n=100", max_input_bytes=MB))
    assert isinstance(refused, GatewiseError) and refused.code is ErrorCode.TOO_LARGE
    assert peak < 6 * MB


async def test_a_body_compressed_twice_is_refused_unread(server: str) -> None:
    """500 MB of zeros gzipped twice is 1 KB on the wire; decoded whole it took 1 GB before the
    size limit could answer."""
    refused, peak = await peak_while(_fetch(f"http://{server}/gzip?n=500&layers=2"))
    assert isinstance(refused, GatewiseError) and refused.code is ErrorCode.UPSTREAM_ERROR
    assert "content-encoding is 'gzip, gzip': only one of gzip or deflate is accepted" in refused.message
    assert peak < 6 * MB


async def test_slow_endpoint_times_out(server: str) -> None:
    started = time.monotonic()
    with pytest.raises(GatewiseError) as caught:
        await _fetch(f"http://{server}/slow", fetch_timeout_s=0.3)
    assert caught.value.code is ErrorCode.UPSTREAM_TIMEOUT
    assert time.monotonic() - started < 0.9


async def test_error_status(server: str) -> None:
    with pytest.raises(GatewiseError, match="HTTP 404") as caught:
        await _fetch(f"http://{server}/missing")
    assert caught.value.code is ErrorCode.UPSTREAM_ERROR
    assert caught.value.status == 404
