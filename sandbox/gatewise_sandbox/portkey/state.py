"""What the Admin API stand-in keeps between requests: the seeded organisation (built on first
use, rebuilt after a reset) and the last request seen on each path."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from gatewise.redact import scrub
from gatewise_sandbox.portkey.org import Org
from gatewise_sandbox.portkey.seed import build
from gatewise_sandbox.portkey.store import Record, iso

MAX_PATHS = 1_000
REDACTED = "[redacted]"
# string fields whose names say they hold credentials (a top-level "key" is a provider key)
_SECRET_WORDS = ("secret", "token", "password", "credential", "access_key", "api_key",
                 "authorization", "service_account")


class PortkeyState:
    def __init__(self, seed: int = 0) -> None:
        self._seed = seed
        self._org: Org | None = None
        self._lock = threading.Lock()
        self._last: OrderedDict[str, Record] = OrderedDict()

    @property
    def org(self) -> Org:
        with self._lock:
            if self._org is None:
                anchor = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
                self._org = build(self._seed, anchor)
            return self._org

    def reset(self, seed: int | None = None) -> None:
        """Back to the seeded organisation (built again on next use) and no recorded requests."""
        with self._lock:
            if seed is not None:
                self._seed = seed
            self._org = None
            self._last.clear()

    def remember(self, request: Request, raw: bytes) -> Record:
        """Record a request (secrets redacted) as the last one on its path; returns the entry."""
        query: dict[str, Any] = {}
        for name, raw_value in request.query_params.multi_items():
            value = scrub(raw_value)
            if name not in query:
                query[name] = value
            elif isinstance(query[name], list):
                query[name].append(value)
            else:
                query[name] = [query[name], value]
        try:
            body = _redact(json.loads(raw)) if raw.strip() else None
        except ValueError:
            body = REDACTED
        entry: Record = {"method": request.method, "path": request.url.path, "query": query,
                         "body": body, "key_type": None, "status": None,
                         "at": iso(datetime.now(UTC))}
        with self._lock:
            self._last.pop(entry["path"], None)
            self._last[entry["path"]] = entry
            while len(self._last) > MAX_PATHS:
                self._last.popitem(last=False)
        return entry

    def last(self, path: str) -> Record | None:
        with self._lock:
            return self._last.get(path)

    def paths(self) -> list[str]:
        with self._lock:
            return list(self._last)


def _redact(value: Any, top: bool = True) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if isinstance(v, str) and _secret_name(str(k), top) else _redact(v, False)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, False) for v in value]
    return scrub(value) if isinstance(value, str) else value


def _secret_name(name: str, top: bool) -> bool:
    lowered = name.lower()
    return (top and lowered == "key") or any(word in lowered for word in _SECRET_WORDS)
