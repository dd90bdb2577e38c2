"""Fetching public http(s) URLs without letting a caller reach private networks (SSRF guard).

Every hop is parsed here, its host resolved here, and every address vetted before anything is
sent. The request then goes to the vetted IP itself (the original name travels in ``Host`` and
TLS SNI), so a second DNS answer — DNS rebinding — never decides where bytes go. Redirects are
followed by hand so each ``Location`` goes through the same checks.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urljoin, urlsplit

import httpx

from gatewise.config import MediaConfig
from gatewise.errors import ErrorCode, GatewiseError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) → the addresses it resolves to, as strings.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

_SCHEMES = {"http": 80, "https": 443}
_REDIRECTS = {301, 302, 303, 307, 308}
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*"
                       r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_NUMERIC_PART = re.compile(r"^(0[xX][0-9a-fA-F]*|[0-9]+)$")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")
_BROADCAST = ipaddress.IPv4Address("255.255.255.255")
_LOOPBACK_FOR_TESTS = {ipaddress.IPv4Address("127.0.0.1"), ipaddress.IPv6Address("::1")}


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


def _unsafe(message: str) -> GatewiseError:
    return GatewiseError(ErrorCode.UNSAFE_URL, message)


def _parse_ipv4_number(part: str) -> int:
    if part[:2].lower() == "0x":
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8)
    return int(part)


def _legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """Read ``127.1``, ``0x7f.1``, ``0177.0.0.1`` or ``2130706433`` as the IPv4 they mean.

    Resolvers and browsers accept these inet_aton spellings, so a check that only knows
    dotted-quad would wave them through. A host whose last label is numeric is taken as IPv4
    (as the WHATWG URL standard does); one that is not a valid address is refused.
    """
    parts = host.split(".")
    if not _NUMERIC_PART.match(parts[-1]):
        return None
    if len(parts) > 4 or not all(_NUMERIC_PART.match(p) for p in parts):
        raise _unsafe(f"host {host} looks numeric but is not a valid IPv4 address")
    try:
        numbers = [_parse_ipv4_number(p) for p in parts]
    except ValueError:
        raise _unsafe(f"host {host} looks numeric but is not a valid IPv4 address") from None
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        raise _unsafe(f"host {host} is out of range for an IPv4 address")
    value = last
    for i, n in enumerate(head):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def _refusal(address: IPAddress, *, allow_loopback: bool) -> str | None:
    """Why ``address`` must not be contacted (e.g. "a private address 10.0.0.5"), or None."""
    if allow_loopback and address in _LOOPBACK_FOR_TESTS:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return f"a scoped IPv6 address {address}"
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and (address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1)):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is None and address.teredo:
            embedded = address.teredo[1]
        if embedded is not None:
            inner = _refusal(embedded, allow_loopback=False)
            if inner:
                return f"an IPv6 address {address} that embeds {inner}"
    # Explicit flags as well as is_global: on 3.11 fec0::/10 and ff0e::/16 still count as global.
    checks = [
        ("a loopback", address.is_loopback),
        ("an unspecified", address.is_unspecified),
        ("a link-local", address.is_link_local),
        ("a multicast", address.is_multicast),
        ("a broadcast", address == _BROADCAST),
        ("a shared (carrier-grade NAT)", address in _SHARED),
        ("a site-local", isinstance(address, ipaddress.IPv6Address) and address.is_site_local),
        ("a private", address.is_private),
        ("a reserved", address.is_reserved),
        ("a non-public", not address.is_global),
    ]
    for label, hit in checks:
        if hit:
            return f"{label} address {address}"
    return None


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return _legacy_ipv4(host)


def _split(url: str) -> tuple[SplitResult, str, int]:
    """Check the shape of ``url``; return its parts, normalised host and port."""
    if any(ord(c) <= 0x20 or c in "\\\x7f" for c in url):
        raise _unsafe("the URL contains whitespace, control characters or backslashes")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise GatewiseError(ErrorCode.INVALID_INPUT, f"The URL {url} is malformed: {exc}.") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise _unsafe(f"scheme {scheme or '(none)'} not allowed; only http and https are fetched")
    netloc = parts.netloc
    if "@" in netloc:
        raise _unsafe("credentials in the URL (user:password@) are not allowed")
    host = parts.hostname or ""
    if not host:
        raise GatewiseError(ErrorCode.INVALID_INPUT, f"The URL {url} has no host.")
    if port == 0:
        raise GatewiseError(ErrorCode.INVALID_INPUT, f"The URL {url} names port 0.")
    port = port or _SCHEMES[scheme]
    if netloc.startswith("["):
        if "%" in host:
            raise _unsafe(f"IPv6 zone ids are not allowed ({host})")
        try:
            return parts, str(ipaddress.IPv6Address(host)), port
        except ValueError:
            raise _unsafe(f"[{host}] is not a valid IPv6 address") from None
    if host.endswith("."):
        host = host[:-1]
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise _unsafe(f"host {parts.hostname} is not a valid host name") from None
    if not _HOSTNAME.match(host):
        raise _unsafe(f"host {parts.hostname} is not a valid host name")
    if host == "localhost" or host.endswith(".localhost"):
        raise _unsafe(f"host {host} is a local name")
    return parts, host, port


async def _system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def _vet(url: str, *, allow_loopback: bool, resolver: Resolver) -> _Target:
    parts, host, port = _split(url)
    literal = _literal_address(host)
    if literal is not None:
        reason = _refusal(literal, allow_loopback=allow_loopback)
        if reason:
            raise _unsafe(f"host {host} is {reason}")
        addresses: list[IPAddress] = [literal]
    else:
        try:
            answers = await resolver(host, port)
        except OSError as exc:
            raise GatewiseError(ErrorCode.UPSTREAM_ERROR, f"Could not resolve {host}: {exc}.") from None
        if not answers:
            raise GatewiseError(ErrorCode.UPSTREAM_ERROR, f"Could not resolve {host}: no addresses.")
        addresses = []
        for answer in answers:
            try:
                address = ipaddress.ip_address(answer)
            except ValueError:
                raise _unsafe(f"host {host} resolves to an unusable address {answer}") from None
            # Any bad answer refuses the whole name: the next lookup might return just that one.
            reason = _refusal(address, allow_loopback=allow_loopback)
            if reason:
                raise _unsafe(f"host {host} resolves to {reason}")
            addresses.append(address)
    scheme = parts.scheme.lower()
    shown = f"[{host}]" if literal is not None and literal.version == 6 else host
    host_header = shown if port == _SCHEMES[scheme] else f"{shown}:{port}"
    return _Target(url, scheme, host, port, host_header, parts.path or "/", parts.query, addresses[0])


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
            raise GatewiseError(ErrorCode.TOO_LARGE,
                                f"{target.url} is {int(declared)} bytes; the limit is {limit}.")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > limit:
                raise GatewiseError(ErrorCode.TOO_LARGE,
                                    f"{target.url} is larger than the limit of {limit} bytes.")
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
            raise GatewiseError(ErrorCode.UPSTREAM_ERROR, f"{url} answered HTTP {status}.", status=status)
        location = response.headers.get("location")
        if not location:
            raise GatewiseError(ErrorCode.UPSTREAM_ERROR,
                                f"{url} answered HTTP {status} without a Location.", status=status)
        url = urljoin(url, location)
    raise GatewiseError(ErrorCode.UPSTREAM_ERROR,
                        f"More than {config.max_redirects} redirects; stopped before {url}.")


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
    async with httpx.AsyncClient(
        timeout=timeout, follow_redirects=False, trust_env=False,
        headers={"User-Agent": config.user_agent},
        limits=httpx.Limits(max_keepalive_connections=0),
    ) as client:
        try:
            async with asyncio.timeout(timeout):
                return await _fetch(url, config, client, allow_loopback=allow_loopback_for_tests,
                                    resolver=resolver or _system_resolver)
        except (TimeoutError, httpx.TimeoutException):
            raise GatewiseError(ErrorCode.UPSTREAM_TIMEOUT,
                                f"Fetching {url} took longer than {timeout:g}s.") from None
        except httpx.InvalidURL:
            raise GatewiseError(ErrorCode.INVALID_INPUT, f"The URL {url} cannot be requested.") from None
        except httpx.HTTPError as exc:
            raise GatewiseError(ErrorCode.UPSTREAM_ERROR,
                                f"Fetching {url} failed: {type(exc).__name__}.") from None
