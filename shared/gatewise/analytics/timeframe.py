"""Turn what a user or model writes for "when" into a half-open UTC window ``[since, until)``."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime
from typing import NamedTuple

from gatewise.errors import ErrorCode, GatewiseError, quoted

DEFAULT_TIMEFRAME = "30d"
MAX_WINDOW_DAYS = 366

_RELATIVE = re.compile(r"^(\d+)\s*([a-z]+)$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
_MAX_DIGITS = 9
_TOO_MANY = 10**_MAX_DIGITS
# The instants a start or end may name: whole seconds from the first to the last UTC second a date
# can hold, so that rounding (a float, or an end rounded up to the millisecond) stays inside.
_FIRST = datetime(1, 1, 1, tzinfo=UTC)
_LAST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
_FIRST_TS, _LAST_TS = _FIRST.timestamp(), _LAST.timestamp()
_HINT = (
    "Use a timeframe such as '90m', '24h', '7d', '2w', 'today' or 'this_month', or an ISO-8601 "
    "start (and optional end) such as '2024-03-01' or '2024-03-01T12:00:00Z'."
)


class Window(NamedTuple):
    """Epoch seconds; a call at ``ts`` is inside when ``since <= ts < until``."""

    since: float
    until: float


def parse_timeframe(
    timeframe: str | None = None,
    start: str | None = None,
    end: str | None = None,
    now: float | None = None,
) -> Window:
    """A relative ``timeframe`` or an explicit ``start``/``end``; neither means the last 30 days.

    Naive datetimes are UTC. A date-only ``end`` includes that whole day, as people mean it.
    """
    now = time.time() if now is None else now
    if timeframe is not None and (start is not None or end is not None):
        raise _invalid("give either a timeframe or start/end, not both")
    if start is None and end is None:
        window = _relative(timeframe or DEFAULT_TIMEFRAME, now)
    elif start is None:
        raise _invalid("an end needs a start")
    else:
        since = _instant(start, "start", end_of_day=False)
        if end is None and since >= now:
            raise _invalid(f"the start {quoted(start)} is not in the past, and without an end the "
                           "window ends now")
        until = now if end is None else _instant(end, "end", end_of_day=True)
        window = Window(since, until)
    if window.until <= window.since:
        raise _invalid("the end must be after the start")
    if window.until - window.since > MAX_WINDOW_DAYS * 86_400:
        raise _invalid(f"the window may span at most {MAX_WINDOW_DAYS} days")
    return window


def _relative(timeframe: str, now: float) -> Window:
    text = timeframe.strip().lower()
    today = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if text == "today":
        return Window(today.timestamp(), now)
    if text == "this_month":
        return Window(today.replace(day=1).timestamp(), now)
    match = _RELATIVE.match(text)
    if match is None:
        raise _invalid(f"cannot read the timeframe {quoted(timeframe)}")
    # More digits than this name a window far past the longest allowed (and Python will not
    # read thousands of digits as a number at all).
    digits, unit = match[1].lstrip("0") or "0", match[2]
    amount = int(digits) if len(digits) <= _MAX_DIGITS else _TOO_MANY
    if unit not in _UNIT_SECONDS:
        raise _invalid(f"unknown unit {quoted(unit)} in {quoted(timeframe)}; use m, h, d or w")
    if amount == 0:
        raise _invalid(f"the timeframe {quoted(timeframe)} is empty")
    return Window(now - amount * _UNIT_SECONDS[unit], now)


def _instant(text: str, name: str, *, end_of_day: bool) -> float:
    value = text.strip()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise _invalid(f"the {name} {quoted(text)} is not an ISO-8601 date or datetime") from None
        ts = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    else:
        ts = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() + (86_400 if end_of_day else 0)
    # Every report shows its window as UTC dates, which exist from year 1 to 9999 only: an offset
    # (up to a day) or the day after a date-only end can move an instant past either end.
    if not _FIRST_TS <= ts <= _LAST_TS:
        raise _invalid(f"the {name} {quoted(text)} is outside the instants that can be read, "
                       f"{_FIRST.isoformat()} to {_LAST.isoformat()}")
    return ts


def _invalid(message: str) -> GatewiseError:
    return GatewiseError(ErrorCode.INVALID_INPUT, message, hint=_HINT)


def window_label(since: float | None, until: float | None) -> str:
    """``2024-03-01 00:00 to 2024-03-08 00:00 UTC``, for report titles."""
    start = None if since is None else _stamp(since)
    end = None if until is None else _stamp(until)
    if start and end:
        return f"{start} to {end} UTC"
    if start:
        return f"since {start} UTC"
    if end:
        return f"until {end} UTC"
    return "all recorded calls"


def _stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")
