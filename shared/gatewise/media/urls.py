"""The URL policy: which URLs gatewise fetches itself, or passes on for the provider to fetch.

A URL must be http(s), carry no credentials, and name a valid host that is not a local name
(``localhost``, ``*.localhost``, ``*.local``, ``*.internal``, ``*.home.arpa``, or a single label,
which resolvers complete with local search domains). A host written as an IP address, in any
spelling a resolver accepts (decimal, octal, hex, short forms, IPv4-mapped or other IPv6
embeddings), must be a public address. Names are not resolved here: :mod:`gatewise.media.fetch`
resolves them and checks every answer before it connects; a URL passed on to the provider is
checked by name and literal address only, because the provider resolves it from its own network.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from gatewise.errors import ErrorCode, GatewiseError, quoted

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_PORTS = {"http": 80, "https": 443}
# A link from upstream content longer than this is dropped whole: cut short, it would lead elsewhere.
MAX_LINK_CHARS = 2048
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]{0,15}):", re.I)
_LOCAL_SUFFIXES = ("localhost", "local", "internal", "home.arpa")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*"
                       r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_NUMERIC_PART = re.compile(r"^(0[xX][0-9a-fA-F]*|[0-9]+)$")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")
_BROADCAST = ipaddress.IPv4Address("255.255.255.255")
_LOOPBACK_FOR_TESTS = {ipaddress.IPv4Address("127.0.0.1"), ipaddress.IPv6Address("::1")}


@dataclass(frozen=True)
class CheckedUrl:
    """A URL that passed the policy, with its host normalised (lower case, IDNA, no final dot)."""

    parts: SplitResult
    host: str
    port: int
    address: IPAddress | None  # the host, when it is written as an IP address


def unsafe(message: str) -> GatewiseError:
    return GatewiseError(ErrorCode.UNSAFE_URL, message)


def check_url(url: str, *, allow_loopback: bool = False) -> CheckedUrl:
    """Apply the policy to ``url`` without any DNS lookup: UNSAFE_URL or INVALID_INPUT if it fails.

    ``allow_loopback`` admits 127.0.0.1 and ::1 only, for local test servers.
    """
    parts, host, port = _split(url)
    literal = _literal_address(host)
    reason = (_local_name(host) if literal is None
              else address_refusal(literal, allow_loopback=allow_loopback))
    if reason:
        raise unsafe(f"host {quoted(host)} is {reason}")
    return CheckedUrl(parts, host, port, literal)


def link_refusal(url: str) -> str | None:
    """Why a link in upstream content (a returned image, a cited source) must not be passed on to
    a reader, e.g. "a file: link, not http(s)"; None when it may be. Judged without DNS, as for
    URLs the provider fetches: the reader resolves it."""
    scheme = _SCHEME.match(url)
    if scheme is None or scheme.group(1).lower() not in DEFAULT_PORTS:
        return f"a {scheme.group(1).lower() + ':' if scheme else 'scheme-less'} link, not http(s)"
    if len(url) > MAX_LINK_CHARS:
        return f"a link longer than {MAX_LINK_CHARS:,} characters"
    try:
        check_url(url)
    except GatewiseError:
        return "a link to a local, private or invalid host"
    return None


def address_refusal(address: IPAddress, *, allow_loopback: bool) -> str | None:
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
            inner = address_refusal(embedded, allow_loopback=False)
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


def _local_name(host: str) -> str | None:
    if any(host == suffix or host.endswith("." + suffix) for suffix in _LOCAL_SUFFIXES):
        return "a local name"
    if "." not in host:
        return "a single-label name, which resolvers complete with local search domains"
    return None


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
        raise unsafe(f"host {quoted(host)} looks numeric but is not a valid IPv4 address")
    try:
        numbers = [_parse_ipv4_number(p) for p in parts]
    except ValueError:
        raise unsafe(f"host {quoted(host)} looks numeric but is not a valid IPv4 address") from None
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        raise unsafe(f"host {quoted(host)} is out of range for an IPv4 address")
    value = last
    for i, n in enumerate(head):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return _legacy_ipv4(host)


def _split(url: str) -> tuple[SplitResult, str, int]:
    """Check the shape of ``url``; return its parts, normalised host and port."""
    if any(ord(c) <= 0x20 or c in "\\\x7f" for c in url):
        raise unsafe("the URL contains whitespace, control characters or backslashes")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise GatewiseError(ErrorCode.INVALID_INPUT,
                            f"The URL {quoted(url)} is malformed: {quoted(exc)}.") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        shown = quoted(scheme) if scheme else "(none)"
        raise unsafe(f"scheme {shown} not allowed; only http and https are fetched")
    netloc = parts.netloc
    if "@" in netloc:
        raise unsafe("credentials in the URL (user:password@) are not allowed")
    host = parts.hostname or ""
    if not host:
        raise GatewiseError(ErrorCode.INVALID_INPUT, f"The URL {quoted(url)} has no host.")
    if port == 0:
        raise GatewiseError(ErrorCode.INVALID_INPUT, f"The URL {quoted(url)} names port 0.")
    port = port or DEFAULT_PORTS[scheme]
    if netloc.startswith("["):
        if "%" in host:
            raise unsafe(f"IPv6 zone ids are not allowed ({quoted(host)})")
        try:
            return parts, str(ipaddress.IPv6Address(host)), port
        except ValueError:
            raise unsafe(f"{quoted(host)} is not a valid IPv6 address") from None
    if host.endswith("."):
        host = host[:-1]
    ascii_name = ascii_host(host)
    if ascii_name is None or not _HOSTNAME.match(ascii_name):
        raise unsafe(f"host {quoted(parts.hostname)} is not a valid host name")
    return parts, ascii_name, port


def ascii_host(host: str) -> str | None:
    """A host name as DNS spells it, lower-cased: ``bücher.de`` → ``xn--bcher-kva.de`` (IDNA);
    None when it has no such spelling (an empty or over-long label)."""
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
