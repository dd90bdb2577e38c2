"""Database URLs without their secrets: what may be shown, and what the scrubber must know.

No driver import here: the settings read these at start-up, before any database is opened.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlsplit


def check_dsn(url: str) -> None:
    """Raise ``ValueError`` when ``url`` is not a ``postgresql://`` URL whose host and port can be
    read. The reason never quotes the URL: it may carry a password."""
    if not url.startswith(("postgres://", "postgresql://")):
        raise ValueError("must be a postgresql:// URL")
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed [ of an IPv6 address
        raise ValueError("its host is not a valid name or address (an IPv6 address goes in [ ])") from None
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise ValueError("its port must be a number from 1 to 65535")


def dsn_password(url: str) -> str | None:
    """The password a ``postgresql://`` URL carries, in its user part or as ``?password=``."""
    parts = urlsplit(url)
    if parts.password:
        return unquote(parts.password)
    for name, value in parse_qsl(parts.query):
        if name == "password" and value:
            return value
    return None


def describe_dsn(url: str) -> str:
    """``postgresql://user@host:port/db``: enough to tell which server, never the password or
    the query (which may name key files)."""
    parts = urlsplit(url)
    user = f"{unquote(parts.username)}@" if parts.username else ""
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"postgresql://{user}{host}{port}{parts.path or '/'}"


def without_password(text: str, url: str) -> str:
    """``text`` (a driver's error, say) with the URL's password replaced, however short it is."""
    secret = dsn_password(url)
    return text.replace(secret, "***") if secret else text
