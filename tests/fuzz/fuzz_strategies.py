"""Fuzz cases for one tool: hypothesis examples from its ``inputSchema`` and a fixed corpus sweep."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fuzz_corpus import CORPUS, Nasty
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

UNKNOWN_KEY = "zz_unknown_argument"
Path = tuple[str | int, ...]
# Destructive tools are mostly called without confirm (they must refuse), sometimes with it.
_ABSENT = object()
_CONFIRM = st.sampled_from([_ABSENT, _ABSENT, _ABSENT, False, True])


@dataclass(frozen=True)
class Case:
    label: str
    args: dict[str, Any]
    wire: bool = True  # see fuzz_corpus: whether a JSON-RPC frame could carry these arguments


def _dotted(path: Path) -> str:
    # Generated keys can be any text; quoted and escaped unless plain, so reports stay readable.
    return ".".join(part if isinstance(part, str) and part.isidentifier() and part.isascii()
                    else ascii(part) if isinstance(part, str) else str(part) for part in path)


def _put(args: dict[str, Any], path: Path, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(args)
    node: Any = out
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return out


def _inner_paths(value: Any, depth: int) -> Iterator[Path]:
    if depth == 0:
        return
    if isinstance(value, dict):
        items: Any = value.items()
    else:
        items = enumerate(value[:3]) if isinstance(value, list) else ()
    for key, child in items:
        yield (key,)
        yield from ((key, *rest) for rest in _inner_paths(child, depth - 1))


def _slots(args: dict[str, Any], keys: list[str]) -> list[Path]:
    """Every place a hostile value can go: each argument (given or not), an unknown one, and
    the nested items of the arguments given."""
    top: list[Path] = [(key,) for key in sorted({*keys, *args, UNKNOWN_KEY})]
    nested = [(key, *rest) for key, value in args.items() for rest in _inner_paths(value, 3)]
    return top + nested


def _with_confirm(args: dict[str, Any], choice: Any) -> dict[str, Any]:
    args = {k: v for k, v in args.items() if k != "confirm"}
    if choice is not _ABSENT:
        args["confirm"] = choice
    return args


def schema_cases(schema: dict[str, Any]) -> st.SearchStrategy[Case]:
    """Valid-by-schema arguments, and as often such arguments with one hostile value put
    anywhere in them (a top-level argument, an unknown key, or an item nested inside one)."""
    valid = from_schema(schema)
    keys = list(schema.get("properties", {}))

    @st.composite
    def draw(draw: st.DrawFn) -> Case:
        args = draw(valid)
        if "confirm" in keys:
            args = _with_confirm(args, draw(_CONFIRM))
        if draw(st.booleans()):
            return Case("schema example", args)
        path = draw(st.sampled_from(_slots(args, keys)))
        nasty: Nasty = draw(st.sampled_from(CORPUS))
        return Case(f"{nasty.name} at {_dotted(path)}", _put(args, path, nasty.value), nasty.wire)

    return draw()


def _resolve(prop: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    return defs.get(prop["$ref"].rsplit("/", 1)[-1], {}) if "$ref" in prop else prop


def _minimal(prop: dict[str, Any], defs: dict[str, Any]) -> Any:
    """The simplest value a (sub)schema accepts; enough for the shapes tool schemas use."""
    prop = _resolve(prop, defs)
    if "enum" in prop:
        return prop["enum"][0]
    if "anyOf" in prop:
        return _minimal(prop["anyOf"][0], defs)
    kind = prop.get("type")
    if kind == "string":
        return "x" * max(1, prop.get("minLength", 0))
    if kind in ("integer", "number"):
        return prop.get("minimum", prop.get("exclusiveMinimum", 0) + 1)
    if kind == "array":
        return [_minimal(prop.get("items", {}), defs)] * prop.get("minItems", 0)
    if kind == "object":
        return minimal_arguments(prop, defs)
    return {"boolean": False, "null": None}.get(kind)


def minimal_arguments(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> dict[str, Any]:
    """The simplest arguments the schema accepts: its required properties only."""
    defs = schema.get("$defs", {}) if defs is None else defs
    props = schema.get("properties", {})
    return {key: _minimal(props.get(key, {}), defs) for key in schema.get("required", [])}


def _enum(prop: dict[str, Any], defs: dict[str, Any]) -> list[Any]:
    prop = _resolve(prop, defs)
    if "enum" in prop:
        return list(prop["enum"])
    return [v for option in prop.get("anyOf", []) for v in _enum(option, defs)]


def _accepts_array(prop: dict[str, Any]) -> bool:
    return prop.get("type") == "array" or any(_accepts_array(o) for o in prop.get("anyOf", []))


def corpus_cases(schema: dict[str, Any], working: dict[str, Any], *, every_slot: bool,
                 share: tuple[int, int] | None = None) -> Iterator[Case]:
    """The corpus swept over the tool's arguments, on top of ``working`` arguments (by default
    the schema's minimal ones).

    Each value goes into one argument in turn (``every_slot``: into every argument, plus an
    unknown one), inside a one-item list where the argument takes a list. Every other case
    rotates the required choices such as ``action``, so more code paths see the values; every
    fourth case of a tool with ``confirm`` confirms. ``share=(k, n)`` keeps every n-th value
    from the k-th: n tools with consecutive k cover the corpus between them.
    """
    props: dict[str, Any] = schema.get("properties", {})
    defs: dict[str, Any] = schema.get("$defs", {})
    base = {**minimal_arguments(schema), **working}
    choices = {key: _enum(props[key], defs) for key in base if key in props and _enum(props[key], defs)}
    slots = [*props, UNKNOWN_KEY]
    yield Case("working arguments", base)
    yield Case("empty object", {})
    n = 0
    for i, nasty in enumerate(CORPUS):
        if share and i % share[1] != share[0] % share[1]:
            continue
        for slot in slots if every_slot else [slots[i % len(slots)]]:
            args = dict(base)
            if n % 2:
                args.update({key: values[n // 2 % len(values)] for key, values in choices.items()})
            if "confirm" in props and n % 4 == 3:
                args["confirm"] = True
            wrap = _accepts_array(props.get(slot, {})) and not isinstance(nasty.value, list)
            args[slot] = [nasty.value] if wrap else nasty.value
            yield Case(f"{nasty.name} at {slot}", args, nasty.wire)
            n += 1
