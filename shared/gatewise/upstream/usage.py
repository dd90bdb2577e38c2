"""The figures an upstream reports in its ``usage`` object, checked where they come in.

Every upstream (OpenRouter, Portkey's gateway, the embeddings and web-search calls) reports its
tokens and cost in this object, and a proxy or a faulty provider can put anything there. A
figure that is not a plausible count or amount is treated as unknown, as if the upstream had not
sent it, and logged: the cost is then estimated from the catalogue, so a bad number can neither
fail the call after it was paid for nor lower (or blow up) what the ledger and budgets record.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

log = logging.getLogger(__name__)

# The largest token count believed: ten times the longest context window offered today (10M), and
# still small enough that a count times any price stays a finite float and fits every ledger column.
MAX_TOKENS = 10**9
# A reported cost is believed up to this many times the catalogue price of its tokens (searches,
# images and reasoning may legitimately cost more than the plain tokens), and always up to
# MIN_COST_CEILING_USD, which no single call of a priced model gets near by mistake.
COST_CEILING_FACTOR = 100.0
MIN_COST_CEILING_USD = 10.0


def usage_count(usage: Mapping[str, Any], name: str, *, source: str) -> int | None:
    """``usage[name]`` as a count (of tokens, or of searches), or None when it is missing or
    not a plausible one."""
    value = usage.get(name)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer() and 0 <= value <= MAX_TOKENS:
        return int(value)  # 12.0 is a count written as a JSON number with a fraction
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TOKENS:
        return value
    _ignored(source, name, value, f"not a whole number from 0 to {MAX_TOKENS:,}")
    return None


def reported_cost(usage: Mapping[str, Any], *, source: str) -> float | None:
    """``usage.cost`` in USD, or None when it is missing, negative or not a finite number."""
    value = usage.get("cost")
    if value is None:
        return None
    amount = _amount(value)
    if amount is not None and math.isfinite(amount) and amount >= 0:
        return amount
    _ignored(source, "cost", value, "not a finite amount of 0 or more")
    return None


def believed_cost(reported: float | None, estimate: float, *, model: str) -> float:
    """What a call is recorded as costing: the catalogue's ``estimate`` when the upstream gave
    no figure or an absurd one (past the ceiling COST_CEILING_FACTOR sets), else the upstream's
    figure, above the estimate or below it, since that is what it bills."""
    if reported is None:
        return estimate
    ceiling = max(MIN_COST_CEILING_USD, estimate * COST_CEILING_FACTOR)
    if reported > ceiling:
        log.warning("the upstream reported a cost of $%.6g for a call to %s, more than $%.6g (%g times "
                    "its tokens at catalogue prices); recorded the estimate $%.6g instead",
                    reported, model[:80], ceiling, COST_CEILING_FACTOR, estimate)
        return estimate
    return reported


def _amount(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return float(value)
    except OverflowError:  # an integer of hundreds of digits
        return math.inf


def _ignored(source: str, name: str, value: Any, why: str) -> None:
    # Only a number is quoted, shortened (it carries nothing of the request); anything else is
    # named by its type.
    if isinstance(value, float):
        shown = f"{value:.6g}"
    elif isinstance(value, int):
        shown = repr(value) if abs(value) < 10**15 else "an integer of more than 15 digits"
    else:
        shown = type(value).__name__
    log.warning("%s sent usage.%s = %s, %s; treated as unknown", source, name, shown, why)
