"""Tool arguments declared once, as the fields of a pydantic request model.

Several tools may take the same argument set (``routed_complete`` and its dry run
``explain_route``). Rather than repeat a dozen annotated parameters per tool, the tool body
takes the request model and :func:`arguments_of` publishes the model's fields as the tool's
arguments: same types, constraints, defaults and descriptions, so the input schema and the
validation cannot drift apart.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Collection
from typing import Annotated, Any, TypeVar, get_type_hints

from pydantic import BaseModel, Field
from pydantic_core import PydanticUndefined

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")
_annotated: Any = Annotated  # subscripted with a tuple built at run time


def arguments_of(model: type[M], *, exclude: Collection[str] = ()
                 ) -> Callable[[Callable[[Any, M], Awaitable[R]]], Callable[..., Awaitable[R]]]:
    """Turn ``async def tool(ctx, request: model)`` into a tool whose arguments are the fields of
    ``model`` (less ``exclude``, which take their defaults); the body gets them as one ``model``."""
    unknown = set(exclude) - set(model.model_fields)
    if unknown:
        raise ValueError(f"{model.__name__} has no fields {sorted(unknown)}")
    fields = {name: info for name, info in model.model_fields.items() if name not in exclude}

    def decorate(body: Callable[[Any, M], Awaitable[R]]) -> Callable[..., Awaitable[R]]:
        hints = get_type_hints(body, include_extras=True)
        context_name = next(iter(inspect.signature(body).parameters))
        parameters = [inspect.Parameter(context_name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                        annotation=hints[context_name])]
        for name, info in fields.items():
            default = inspect.Parameter.empty if info.default is PydanticUndefined else info.default
            annotation = _annotated[(info.annotation, *info.metadata, Field(description=info.description))]
            parameters.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                                annotation=annotation))

        @functools.wraps(body)
        async def tool(*args: Any, **arguments: Any) -> R:
            context = args[0] if args else arguments.pop(context_name)
            return await body(context, model(**arguments))

        returns = hints.get("return", inspect.Signature.empty)
        # inspect.signature() honours __signature__ on any function; typeshed does not declare it
        tool.__signature__ = inspect.Signature(parameters, return_annotation=returns)  # type: ignore[attr-defined]
        tool.__annotations__ = {p.name: p.annotation for p in parameters}
        if returns is not inspect.Signature.empty:
            tool.__annotations__["return"] = returns
        del tool.__wrapped__  # the published signature is the model's, not the body's
        return tool

    return decorate
