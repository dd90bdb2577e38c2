"""Who may call a server over HTTP/SSE: the bind check and the Host/Origin lists.

A server run on its own has no authentication, so whoever reaches its port can spend money
(``gatewise serve`` adds bearer tokens, and binds beyond loopback only with them). A loopback
bind is reachable from this machine only; its Host check stops web pages from reaching it through
DNS rebinding, and a browser Origin is refused unless listed or the server's own (the SDK's
default would let a page served from any ``http://localhost:<port>`` call; a page from the
server's own origin is one it served itself). Requests without an Origin (non-browser clients)
pass. A bind beyond loopback, authenticated or not, is refused unless the operator names the Host
values clients use: the Host check is what stops DNS rebinding there.
"""

from __future__ import annotations

import ipaddress

from mcp.server.transport_security import TransportSecuritySettings

from gatewise.config import ServerConfig
from gatewise.errors import ErrorCode, GatewiseError

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def access_settings(bind: str, server: ServerConfig, port: int = 0) -> TransportSecuritySettings:
    """Host/Origin checks for a server bound to ``bind`` on ``port`` (0: not known before binding,
    so only listed origins pass); refuses an open bind with no host list."""
    hosts, origins = list(server.allowed_hosts), list(server.allowed_origins)
    if is_loopback(bind):
        literal = f"[{bind.strip('[]')}]" if ":" in bind else bind
        hosts += [*LOOPBACK_NAMES, literal]
        if port:
            origins += [f"http://{name}:{port}" for name in dict.fromkeys([*LOOPBACK_NAMES, literal])]
    elif not hosts:
        raise GatewiseError(
            ErrorCode.CONFIG_ERROR,
            f"refusing to serve on {bind} with no allowed hosts: beyond loopback every request's Host "
            "header must match --allowed-host (or server.allowed_hosts / GATEWISE_ALLOWED_HOSTS), which "
            "stops DNS-rebinding attacks from web pages, so name the Host values clients use; "
            "use --host 127.0.0.1 to serve this machine only")
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[pattern for host in dict.fromkeys(hosts) for pattern in _any_port(host)],
        allowed_origins=origins,
    )


def _any_port(host: str) -> tuple[str, ...]:
    """A host named without a port matches it on any port (the SDK's ``name:*``) and bare."""
    has_port = host.rsplit("]", 1)[-1].count(":") == 1
    return (host,) if has_port else (host, f"{host}:*")
