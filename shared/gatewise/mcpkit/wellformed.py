"""Arguments must be text a file, an HTTP request or a database can carry."""

from __future__ import annotations

import re
from typing import Any

import pydantic_core

from gatewise.errors import ErrorCode, GatewiseError

_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def refuse_lone_surrogates(arguments: Any, path: str = "") -> None:
    """INVALID_INPUT naming the first argument (or key) holding half a UTF-16 pair.

    The wire parsers already refuse such text; an in-process client does not, and the first
    encoder the text meets (a cache key, an HTTP body) would fail far from the argument.
    """
    try:
        pydantic_core.to_json(arguments)  # in C, and it refuses a lone surrogate anywhere
        return
    except pydantic_core.PydanticSerializationError:
        pass  # one, or a value JSON has no form for: the walk below tells them apart
    stack: list[tuple[str, Any]] = [(path, arguments)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            if _LONE_SURROGATE.search(value):
                raise GatewiseError(ErrorCode.INVALID_INPUT,
                                    f"{where or 'arguments'}: not valid Unicode text (a lone surrogate)")
        elif isinstance(value, dict):
            for key, item in value.items():
                name = f"{where}.{key}" if where else str(key)
                if isinstance(key, str) and _LONE_SURROGATE.search(key):
                    raise GatewiseError(ErrorCode.INVALID_INPUT,
                                        f"{where or 'arguments'}: a key is not valid Unicode text")
                stack.append((name, item))
        elif isinstance(value, list):
            stack.extend((f"{where}[{i}]", item) for i, item in enumerate(value))
