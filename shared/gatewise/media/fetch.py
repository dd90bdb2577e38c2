"""Fetching public http(s) URLs without letting a caller reach private networks (SSRF guard).

Every hop goes through the URL policy (:mod:`gatewise.media.urls`), its host is resolved here,
and every address is vetted before anything is sent. The request then goes to the vetted IP
itself (the original name travels in ``Host`` and TLS SNI), so a second DNS answer — DNS
rebinding — never decides where bytes go. Redirects are followed by hand so each ``Location``
goes through the same checks.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from gatewise.config import MediaConfig
from gatewise.errors import ErrorCode, GatewiseError, quoted, short_upstream_text
from gatewise.media.urls import DEFAULT_PORTS, IPAddress, address_refusal, check_url, unsafe
from gatewise.upstream.decoding import ACCEPT_IDENTITY
from gatewise.upstream.http import guarded_transport

# (host, port) → the addresses it resolves to, as strings.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

_REDIRECTS = {301, 302, 303, 307, 308}
# A failed fetch is this machine's own request, not the provider's: the default hints would mislead.
FETCH_HINT = "Check that the URL is public and reachable, or send the file as a data: URL or local path."


@dataclass(frozen=True)
class FetchedResource:
    content: bytes
    final_url: str
    content_type: str | None
    redirects: int


@dataclass(frozen=True)
class _Target:
    """One vetted hop: where to connect, and what to call the host on the wire."""

    url: str
    scheme: str
    host: str
    port: int
    host_header: str
    path: str
    query: str
    address: IPAddress


async def _system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def _vet(url: str, *, allow_loopback: bool, resolver: Resolver) -> _Target:
    checked = check_url(url, allow_loopback=allow_loopback)
    host, port = checked.host, checked.port
    if checked.address is not None:
        addresses: list[IPAddress] = [checked.address]
    else:
        try:
            answers = await resolver(host, port)
        except OSError as exc:
            raise _failed(f"Could not resolve {quoted(host)}: {short_upstream_text(str(exc), 80)}.") from None
        if not answers:
            raise _failed(f"Could not resolve {quoted(host)}: no addresses.")
        addresses = []
        for answer in answers:
            try:
                address = ipaddress.ip_address(answer)
            except ValueError:
                raise unsafe(f"host {quoted(host)} resolves to an unusable address {quoted(answer)}"
                             ) from None
            # Any bad answer refuses the whole name: the next lookup might return just that one.
            reason = address_refusal(address, allow_loopback=allow_loopback)
            if reason:
                raise unsafe(f"host {quoted(host)} resolves to {reason}")
            addresses.append(address)
    scheme = checked.parts.scheme.lower()
    shown = f"[{host}]" if checked.address is not None and checked.address.version == 6 else host
    host_header = shown if port == DEFAULT_PORTS[scheme] else f"{shown}:{port}"
    return _Target(url, scheme, host, port, host_header, checked.parts.path or "/", checked.parts.query,
                   addresses[0])


async def _get(client: httpx.AsyncClient, target: _Target, limit: int) -> tuple[httpx.Response, bytes]:
    """One request to the pinned address; the body is read only for a 2xx answer, up to ``limit``."""
    pinned = httpx.URL(scheme=target.scheme, host=str(target.address), port=target.port,
                       path=target.path, query=target.query.encode() or None)
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    request = client.build_request("GET", pinned, headers={"Host": target.host_header},
                                   extensions=extensions)
    response = await client.send(request, stream=True)
    try:
        if not 200 <= response.status_code < 300:
            return response, b""
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise GatewiseError(ErrorCode.TOO_LARGE, f"{quoted(target.url)} is {int(declared):,} bytes; the "
                                f"limit is {limit:,} (media.max_input_bytes).")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > limit:
                raise GatewiseError(ErrorCode.TOO_LARGE, f"{quoted(target.url)} is larger than the limit "
                                    f"of {limit:,} bytes (media.max_input_bytes).")
        return response, bytes(body)
    finally:
        await response.aclose()


async def _fetch(url: str, config: MediaConfig, client: httpx.AsyncClient, *,
                 allow_loopback: bool, resolver: Resolver) -> FetchedResource:
    for hop in range(config.max_redirects + 1):
        target = await _vet(url, allow_loopback=allow_loopback, resolver=resolver)
        response, body = await _get(client, target, config.max_input_bytes)
        status = response.status_code
        if 200 <= status < 300:
            return FetchedResource(body, url, response.headers.get("content-type"), hop)
        if status not in _REDIRECTS:
            raise _failed(f"{quoted(url)} answered HTTP {status}.", status=status)
        location = response.headers.get("location")
        if not location:
            raise _failed(f"{quoted(url)} answered HTTP {status} without a Location.", status=status)
        url = urljoin(url, location)
    raise _failed(f"More than {config.max_redirects} redirects (media.max_redirects); stopped before "
                  f"{quoted(url)}.")


async def fetch_url(
    url: str,
    config: MediaConfig,
    *,
    allow_loopback_for_tests: bool = False,
    resolver: Resolver | None = None,
) -> FetchedResource:
    """GET a public http(s) URL within the size, time and redirect limits of ``config``.

    Refuses (``UNSAFE_URL``) anything that is, or resolves to, a non-public address, before
    connecting. ``allow_loopback_for_tests`` admits 127.0.0.1 and ::1 only, for local test servers.
    """
    timeout = config.fetch_timeout_s
    # trust_env off: a proxy from the environment would make its own connections and lookups.
    # Images come compressed already: the bytes are asked for as they are, and a server that
    # compresses them anyway is decoded a piece at a time, within max_input_bytes.
    async with httpx.AsyncClient(
        timeout=timeout, follow_redirects=False, trust_env=False,
        headers={"User-Agent": config.user_agent},
        transport=guarded_transport(accept=ACCEPT_IDENTITY, limits=httpx.Limits(max_keepalive_connections=0)),
    ) as client:
        try:
            async with asyncio.timeout(timeout):
                return await _fetch(url, config, client, allow_loopback=allow_loopback_for_tests,
                                    resolver=resolver or _system_resolver)
        except (TimeoutError, httpx.TimeoutException):
            raise GatewiseError(ErrorCode.UPSTREAM_TIMEOUT, f"Fetching {quoted(url)} took longer than "
                                f"{timeout:g}s (media.fetch_timeout_s).", hint=FETCH_HINT) from None
        except httpx.InvalidURL:
            raise GatewiseError(ErrorCode.INVALID_INPUT,
                                f"The URL {quoted(url)} cannot be requested.") from None
        except httpx.DecodingError as exc:  # its text is this package's own (see upstream.decoding)
            raise _failed(f"Fetching {quoted(url)} failed: {exc}.") from None
        except httpx.HTTPError as exc:
            raise _failed(f"Fetching {quoted(url)} failed: {type(exc).__name__}.") from None


def _failed(message: str, *, status: int | None = None) -> GatewiseError:
    return GatewiseError(ErrorCode.UPSTREAM_ERROR, message, hint=FETCH_HINT, status=status)
