"""Conditional routing queries, read from Portkey's documentation (not from gatewise's router).

A query is matched against ``{metadata, params, url: {pathname}}``. Keys name two segments
(``metadata.tier``, ``params.max_tokens``, ``url.pathname``). A bare value means equality, an
object holds operators, several keys in one object must all hold, and ``$and`` / ``$or`` take
lists of queries. Comparisons follow the JavaScript the gateway runs: ``$eq`` is strict
equality, ``$gt`` and friends compare ``parseFloat`` of both sides, ``$regex`` is a flag-less
pattern tested against the value's string form and is simply false when the pattern is broken.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any


class ConfigError(ValueError):
    """A config the gateway refuses; the message says where and why."""


class _Undefined:
    """A key the context does not have (JavaScript's ``undefined``, distinct from ``null``)."""

    def __repr__(self) -> str:
        return "undefined"


UNDEFINED = _Undefined()
_NUMBER_PREFIX = re.compile(r"\s*([+-]?(?:Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?))")


def matches(query: Any, context: Mapping[str, Any]) -> bool:
    """True when ``query`` holds for ``context``; ConfigError for an operator it cannot run."""
    if not isinstance(query, Mapping):
        raise ConfigError("a query must be an object")
    return all(_clause(key, operand, context) for key, operand in query.items())


def _clause(key: str, operand: Any, context: Mapping[str, Any]) -> bool:
    if key in ("$and", "$or"):
        if not isinstance(operand, list):
            raise ConfigError(f"{key} takes a list of queries")
        results = (matches(part, context) for part in operand)
        return all(results) if key == "$and" else any(results)
    value = _lookup(key, context)
    if not isinstance(operand, Mapping):
        return _strict_equal(value, operand)
    return all(_operator(name, value, bound) for name, bound in operand.items())


def _lookup(key: str, context: Mapping[str, Any]) -> Any:
    parts = key.split(".")
    if len(parts) != 2:  # only two-segment keys are looked up
        return UNDEFINED
    section = context.get(parts[0])
    if not isinstance(section, Mapping) or parts[1] not in section:
        return UNDEFINED
    return section[parts[1]]


def _operator(name: str, value: Any, bound: Any) -> bool:
    if name in _COMPARISONS:
        return _COMPARISONS[name](_parse_float(value), _parse_float(bound))
    if name == "$eq":
        return _strict_equal(value, bound)
    if name == "$ne":
        return not _strict_equal(value, bound)
    if name in ("$in", "$nin"):
        if not isinstance(bound, list):
            raise ConfigError(f"{name} takes a list")
        found = any(_strict_equal(value, item) for item in bound)
        return found if name == "$in" else not found
    if name == "$regex":
        try:
            return re.search(_js_string(bound), _js_string(value)) is not None
        except re.error:
            return False
    raise ConfigError(f"unknown operator {name!r}")


_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "$gt": lambda a, b: a > b, "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b, "$lte": lambda a, b: a <= b,
}


def _strict_equal(a: Any, b: Any) -> bool:
    """JavaScript's ``===``: no coercion between types; objects are never equal to a literal."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict | list) or isinstance(b, dict | list):
        return False
    return type(a) is type(b) and a == b


def _parse_float(value: Any) -> float:
    """JavaScript's ``parseFloat``: the leading number of the value's string form, else NaN."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    found = _NUMBER_PREFIX.match(_js_string(value))
    return float(found.group(1).replace("Infinity", "inf")) if found else math.nan


def _js_string(value: Any) -> str:
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ",".join("" if item is None else _js_string(item) for item in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)
