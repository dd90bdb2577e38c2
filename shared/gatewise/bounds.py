"""Sane bounds for every number gatewise accepts: one annotated type per kind of quantity.

Tool arguments arrive as JSON, and JSON parsers (the SDK's among them) read ``1e309`` as
infinity and accept ``NaN``; a plain pydantic float takes both. A non-finite or absurd number
that gets stored or forwarded fails far from where it came in (an infinite budget limit made
every later budget report unsendable), so these types refuse at the edge, and pydantic's error
names the field: non-finite numbers, subnormal ones (too small to mean anything, and dividing by
one overflows), and anything past a generous maximum.
"""

from __future__ import annotations

import math
import sys
from typing import Annotated, Any

from pydantic import AfterValidator, Field

MAX_USD = 1e9  # far above any budget, price or cost a call could have
MIN_LIMIT_USD = 1e-6  # a millionth of a dollar, the smallest amount the reports show
MAX_SECONDS = 1e9  # about 31 years
MAX_TOKENS = 10_000_000  # beyond every model's context window
MAX_COUNT = 1_000_000_000
MAX_AMOUNT = 1e15  # tokens, requests or cents an organisation may cap over a period


def _normal(value: float) -> float:
    if value != 0 and abs(value) < sys.float_info.min:
        raise ValueError(f"{value!r} is too close to zero to mean anything")
    return value


# The bounds sit before the validator: placed after it, pydantic would publish them in the JSON
# schema as bare "ge"/"le" keywords instead of "minimum"/"maximum". So each float type is whole.
_NORMAL = AfterValidator(_normal)
USD = Annotated[float, Field(ge=0, le=MAX_USD, allow_inf_nan=False), _NORMAL]
LimitUSD = Annotated[float, Field(ge=MIN_LIMIT_USD, le=MAX_USD, allow_inf_nan=False), _NORMAL]
Amount = Annotated[float, Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False), _NORMAL]
Seconds = Annotated[float, Field(ge=0, le=MAX_SECONDS, allow_inf_nan=False), _NORMAL]
PositiveSeconds = Annotated[float, Field(gt=0, le=MAX_SECONDS, allow_inf_nan=False), _NORMAL]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False), _NORMAL]
PositiveFraction = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False), _NORMAL]
Temperature = Annotated[float, Field(ge=0, le=2, allow_inf_nan=False), _NORMAL]
# JSON's 1e309 is a float, which an int field refuses; integers only need their range.
Tokens = Annotated[int, Field(ge=1, le=MAX_TOKENS)]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]


def _finite_json(value: Any) -> Any:
    """Free-form JSON is forwarded as given, and a non-finite number in it cannot even be
    encoded for the upstream; refuse it here, saying where it is."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise ValueError(f"{path or 'the value'} is {item}; numbers must be finite")
        if isinstance(item, dict):
            stack += ((f"{path}.{key}" if path else str(key), child) for key, child in item.items())
        elif isinstance(item, list):
            stack += ((f"{path}[{index}]", child) for index, child in enumerate(item))
    return value


# For free-form objects (messages, provider options, request bodies): every number finite.
FiniteJSON = AfterValidator(_finite_json)


USD_DECIMALS = 9  # a billionth of a dollar: finer than any call's cost


def rounded_usd(value: float) -> float:
    """A dollar amount summed from holds and costs, as reports show it: to a billionth of a dollar,
    so the residue of float sums (1e-19 left once every hold is settled) reads as 0."""
    return round(value, USD_DECIMALS) + 0.0  # + 0.0: never -0.0


def reportable_usd(value: float | None, floor: float = 0.0) -> tuple[float, bool]:
    """A dollar amount read back from storage, within [floor, MAX_USD] and rounded, and whether
    it was out of range. Older versions could store an infinite limit; a report must still go out."""
    if value is None or math.isnan(value):
        return MAX_USD, True
    clamped = min(max(value, floor), MAX_USD)
    return rounded_usd(clamped), clamped != value


def format_usd(value: float) -> str:
    """Dollars for people: ``$1,234``, ``$12.50`` or ``$0.0031`` (two significant digits for small
    sums, so a call's cost or a tiny limit never reads as $0.000000 or 1e-05)."""
    if value == 0:
        return "$0"
    sign, value = ("-" if value < 0 else ""), abs(value)
    if value >= 100:
        return f"{sign}${value:,.0f}"
    if value >= 1:
        return f"{sign}${value:,.2f}"
    decimals = max(2, 1 - math.floor(math.log10(value)))
    whole, _, cents = f"{value:.{decimals}f}".partition(".")
    return f"{sign}${whole}.{cents.rstrip('0').ljust(2, '0')}"  # $0.000001, not $0.0000010; $0.10
