"""A small in-memory resource store: tables of JSON-like records, seeded ids, timestamps, paging."""

from __future__ import annotations

import random
import re
import string
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gatewise_sandbox.portkey.errors import AdminError, invalid, not_found

Record = dict[str, Any]

_ALPHABET = string.ascii_letters + string.digits


class Ids:
    """Ids, slugs and key material from one seeded source, so a run can be replayed."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def hex(self, length: int) -> str:
        return f"{self._rng.getrandbits(4 * length):0{length}x}"

    def token(self, length: int) -> str:
        return "".join(self._rng.choice(_ALPHABET) for _ in range(length))

    def slug(self, name: str) -> str:
        return f"{slugify(name)}-{self.hex(4)}"


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "item"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: str, param: str) -> datetime:
    """An ISO-8601 instant; one without an offset is taken as UTC."""
    try:
        moment = datetime.fromisoformat(value.strip().replace(" ", "+"))
    except ValueError:
        raise invalid(param, "expected an ISO-8601 date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Table:
    """One kind of resource, in creation order; found by id or by any of the other ``keys``."""

    def __init__(self, what: str, keys: tuple[str, ...] = ("id",)) -> None:
        self.what = what
        self.keys = keys
        self.rows: dict[str, Record] = {}

    def add(self, row: Record) -> Record:
        self.rows[row[self.keys[0]]] = row
        return row

    def find(self, ref: str) -> Record | None:
        row = self.rows.get(ref)
        if row is None:
            row = next((r for r in self.rows.values() if any(r.get(k) == ref for k in self.keys[1:])),
                       None)
        return row

    def get(self, ref: str) -> Record:
        row = self.find(ref)
        if row is None:
            raise not_found(self.what, ref)
        return row

    def remove(self, ref: str) -> Record:
        row = self.get(ref)
        del self.rows[row[self.keys[0]]]
        return row

    def all(self) -> list[Record]:
        return list(self.rows.values())

    def newest_first(self) -> list[Record]:
        return list(reversed(self.rows.values()))

    def taken(self, field: str, value: Any, *, besides: Record | None = None) -> bool:
        wanted = value.lower() if isinstance(value, str) else value
        for row in self.rows.values():
            have = row.get(field)
            if row is not besides and (have.lower() if isinstance(have, str) else have) == wanted:
                return True
        return False


@dataclass(frozen=True)
class Paging:
    """One of the API's three pagination styles; pages count from ``first``."""

    page: str = "current_page"
    size: str = "page_size"
    first: int = 0
    default_size: int = 50
    max_size: int = 100
    required: bool = False


SNAKE = Paging()
CAMEL = Paging("currentPage", "pageSize")
PAGES = Paging("page", "page_size", first=1, default_size=100, max_size=500)


def integer(value: str, param: str, minimum: int | None = None) -> int:
    try:
        number = float(value)
    except ValueError:
        raise invalid(param, "expected an integer") from None
    if not number.is_integer():
        raise invalid(param, "expected an integer")
    if minimum is not None and number < minimum:
        raise invalid(param, f"must be at least {minimum}")
    return int(number)


def paginate(items: list[Any], query: Mapping[str, str], paging: Paging) -> tuple[list[Any], bool]:
    """The page the query asks for (AB01 on bad or missing values) and whether more follow."""
    raw_page, raw_size = query.get(paging.page), query.get(paging.size)
    if paging.required:
        for name, raw in ((paging.page, raw_page), (paging.size, raw_size)):
            if raw is None or raw == "":
                raise invalid(name, "required")
    size = integer(raw_size, paging.size, 1) if raw_size else paging.default_size
    if size > paging.max_size:
        raise invalid(paging.size, f"must be at most {paging.max_size}")
    page = integer(raw_page, paging.page, paging.first) if raw_page else paging.first
    start = (page - paging.first) * size
    return items[start:start + size], start + size < len(items)


def public(row: Mapping[str, Any]) -> Record:
    """A record as clients see it: fields starting with ``_`` are the sandbox's own."""
    return {k: v for k, v in row.items() if not k.startswith("_")}


def matching(rows: Iterable[Record], query: Mapping[str, str], fields: Iterable[str]) -> list[Record]:
    """Rows whose fields equal every one of ``fields`` given in the query."""
    wanted = {f: query[f] for f in fields if query.get(f)}
    return [r for r in rows if all(str(r.get(f)) == v for f, v in wanted.items())]


def searched(rows: Iterable[Record], term: str | None, fields: Iterable[str]) -> list[Record]:
    if not term:
        return list(rows)
    needle = term.lower()
    names = tuple(fields)
    return [r for r in rows if any(needle in str(r.get(f) or "").lower() for f in names)]


def conflict(what: str, field: str) -> AdminError:
    return AdminError("AB07", f"A {what} with this {field} already exists", param=field)
