"""Portkey's analytics figures as the usage tool fits them: a hostile timestamp is left out and
named, never an internal error."""

from __future__ import annotations

import pytest

from gatewise.portkey.analytics import fit_figures


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01", "not a time"])
def test_a_timestamp_out_of_range_or_unreadable_is_dropped_and_named(stamp: str) -> None:
    problems: list[str] = []
    points = fit_figures([{"timestamp": stamp, "total": 3}], "data", problems)
    assert points == [{"total": 3}]
    assert problems == [f"data[0].timestamp ('{stamp}')"]
