"""Portkey's conditional-routing queries: checked once when a config loads, evaluated per request.

The context is ``{"metadata": {...}, "params": {...}, "url": {"pathname": ...}}``. Keys have
exactly two segments (``metadata.tier``, ``params.max_tokens``, ``url.pathname``); a bare value
means equality; every key of one query object must hold; ``$and`` / ``$or`` nest. Numeric
operators parse both sides the way JavaScript's ``parseFloat`` does (Portkey's gateway is
JavaScript), so ``"12k"`` reads as 12 and a value that does not start with a number never
compares true.

Two deliberate differences from Portkey's evaluator: a ``$and`` / ``$or`` key is ANDed with the
other keys of its object (Portkey returns its result and skips the rest), and ``$regex`` does not
stop the remaining operators of its object from being checked.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from gatewise.errors import json_type_phrase, quoted

QUERY_ROOTS = ("metadata", "params", "url")
LOGICAL_OPERATORS = frozenset({"$and", "$or"})
FIELD_OPERATORS = frozenset(
    {"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$regex", "$length"})
MAX_QUERY_DEPTH = 16

_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "$gt": operator.gt, "$gte": operator.ge, "$lt": operator.lt, "$lte": operator.le}
# The longest numeric prefix, as parseFloat reads it ("1e" stops before the "e").
_FLOAT_PREFIX = re.compile(r"\s*([+-]?(?:Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?))")
_MISSING = object()


class QueryError(ValueError):
    """A query Portkey would reject; ``where`` is the path inside the query, from ``query``."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


def check_query(query: Any) -> list[str]:
    """Raise :class:`QueryError` for a malformed query; return warnings about parts that never match."""
    warnings: list[str] = []
    _check_object(query, "query", 0, warnings)
    return warnings


def evaluate_query(query: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
    """True when ``context`` satisfies every key of ``query``."""
    for key, value in query.items():
        if key == "$and":
            ok = all(evaluate_query(sub, context) for sub in value)
        elif key == "$or":
            ok = any(evaluate_query(sub, context) for sub in value)
        else:
            actual = _lookup(context, key)
            ok = _apply(value, actual) if isinstance(value, Mapping) else _same(actual, value)
        if not ok:
            return False
    return True


def _check_object(query: Any, where: str, depth: int, warnings: list[str]) -> None:
    if depth > MAX_QUERY_DEPTH:
        raise QueryError(where, f"nested more than {MAX_QUERY_DEPTH} levels deep")
    if not isinstance(query, Mapping):
        raise QueryError(where, f"must be an object, got {json_type_phrase(query)}")
    for key, value in query.items():
        here = f"{where}.{key}"
        if key in LOGICAL_OPERATORS:
            if not isinstance(value, list):
                raise QueryError(here, f"needs an array of queries, got {json_type_phrase(value)}")
            for index, sub in enumerate(value):
                _check_object(sub, f"{here}[{index}]", depth + 1, warnings)
        elif key.startswith("$"):
            raise QueryError(where, f"unknown operator {quoted(key)} (known: {_known()})")
        else:
            _check_key(key, where)
            if isinstance(value, Mapping):
                _check_operators(value, here, depth, warnings)
            elif isinstance(value, list):
                raise QueryError(here, "a bare array is not a value; use {\"$in\": [...]}")


def _check_key(key: str, where: str) -> None:
    parts = key.split(".")
    valid = (len(parts) == 2 and all(parts) and parts[0] in QUERY_ROOTS
             and (parts[0] != "url" or parts[1] == "pathname"))
    if not valid:
        raise QueryError(where, f"key {quoted(key)} must be metadata.<name>, params.<name> or url.pathname "
                                "(deeper paths are not supported)")


def _check_operators(ops: Mapping[str, Any], where: str, depth: int, warnings: list[str]) -> None:
    if depth > MAX_QUERY_DEPTH:
        raise QueryError(where, f"nested more than {MAX_QUERY_DEPTH} levels deep")
    for op, operand in ops.items():
        here = f"{where}.{op}"
        if op not in FIELD_OPERATORS:
            raise QueryError(where, f"unknown operator {quoted(op)} (known: {_known()})")
        if op in ("$in", "$nin") and not isinstance(operand, list):
            raise QueryError(here, f"needs an array, got {json_type_phrase(operand)}")
        if op in _NUMERIC and math.isnan(_parse_float(operand)):
            raise QueryError(here, f"needs a number, got {json_type_phrase(operand)}")
        if op == "$regex":
            if not isinstance(operand, str):
                raise QueryError(here, f"needs a pattern string, got {json_type_phrase(operand)}")
            if _compile(operand) is None:
                warnings.append(f"{here}: invalid pattern, never matches")
        if op == "$length":
            if isinstance(operand, Mapping):
                _check_operators(operand, here, depth + 1, warnings)
            elif isinstance(operand, bool) or not isinstance(operand, int):
                raise QueryError(here, "needs an integer or an operator object, got "
                                       f"{json_type_phrase(operand)}")


def _apply(ops: Mapping[str, Any], actual: Any) -> bool:
    for op, operand in ops.items():
        if op == "$eq":
            ok = _same(actual, operand)
        elif op == "$ne":
            ok = not _same(actual, operand)
        elif op in _NUMERIC:
            ok = _NUMERIC[op](_parse_float(actual), _parse_float(operand))
        elif op in ("$in", "$nin"):
            found = isinstance(operand, list) and any(_same(actual, item) for item in operand)
            ok = isinstance(operand, list) and found == (op == "$in")
        elif op == "$regex":
            ok = _regex_matches(operand, actual)
        elif op == "$length":
            ok = _length_matches(operand, actual)
        else:
            raise QueryError("query", f"unknown operator {quoted(op)} (known: {_known()})")
        if not ok:
            return False
    return True


def _lookup(context: Mapping[str, Any], key: str) -> Any:
    root, _, name = key.partition(".")
    section = context.get(root)
    return section.get(name, _MISSING) if isinstance(section, Mapping) else _MISSING


def _same(actual: Any, expected: Any) -> bool:
    """JSON equality without Python's ``True == 1``; a missing key equals nothing, not even null."""
    if actual is _MISSING:
        return False
    if isinstance(actual, bool) or isinstance(expected, bool):
        return type(actual) is type(expected) and actual == expected
    return bool(actual == expected)


def _parse_float(value: Any) -> float:
    if isinstance(value, bool):
        return math.nan
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        match = _FLOAT_PREFIX.match(value)
        return float(match.group(1)) if match else math.nan
    return math.nan


def _regex_matches(pattern: Any, actual: Any) -> bool:
    compiled = _compile(pattern) if isinstance(pattern, str) else None
    text = _as_text(actual)
    return compiled is not None and text is not None and compiled.search(text) is not None


@lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _as_text(value: Any) -> str | None:
    """Scalars as JavaScript would stringify them for ``RegExp.test``; anything else is no match."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else str(value)
    return None


def _length_matches(operand: Any, actual: Any) -> bool:
    if actual is _MISSING or not isinstance(actual, list):
        return False
    if isinstance(operand, Mapping):
        return _apply(operand, len(actual))
    return bool(len(actual) == operand)


def _known() -> str:
    return ", ".join(sorted(FIELD_OPERATORS | LOGICAL_OPERATORS))
