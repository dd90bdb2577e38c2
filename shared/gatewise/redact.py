"""Keep secrets out of logs, tool output and error text."""

from __future__ import annotations

import logging
import re

# Bearer tokens and provider key shapes that may appear in upstream error bodies or URLs.
_KEY_PATTERN = re.compile(r"\b(sk-[A-Za-z0-9_\-]{4,}|pk-[A-Za-z0-9_\-]{8,}|Bearer\s+[A-Za-z0-9._\-]{8,})")


def mask(secret: str | None) -> str:
    """Show a secret as ``sk-…abcd``: enough to tell keys apart, never enough to use one."""
    if not secret:
        return "(not set)"
    if len(secret) <= 8:
        return "…"
    head = secret[:3] if secret[:3] in ("sk-", "pk-") else ""
    return f"{head}…{secret[-4:]}"


def scrub(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Replace every known secret and every key-shaped token in ``text`` by its mask."""
    for secret in secrets:
        if secret and len(secret) > 4:
            text = text.replace(secret, mask(secret))
    return _KEY_PATTERN.sub(lambda m: mask(m.group(0).removeprefix("Bearer ").strip()), text)


class RedactingFilter(logging.Filter):
    """A logging filter that scrubs secrets from every record before any handler sees it."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message, self.secrets)
        if clean != message:
            record.msg, record.args = clean, None
        return True
