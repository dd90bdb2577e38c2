"""Where tests find the repository's files, wherever in ``tests/`` the test itself lives."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
BENCH = REPO / "bench"
CONTRACTS = TESTS / "contract"  # tools/list snapshots, one per server
