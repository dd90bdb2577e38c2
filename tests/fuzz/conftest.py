"""Fuzz-suite fixtures: a private sandbox (destructive calls never touch the shared one) and the
summary table, written under the pytest base temp dir and printed by the thorough profile."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fuzz_report import SUMMARY, THOROUGH

from gatewise_sandbox import SandboxServer

_REPORT: list[Path] = []


@pytest.fixture(scope="module")
def fuzz_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture(scope="session", autouse=True)
def fuzz_summary_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    yield
    if SUMMARY.tallies:
        path = tmp_path_factory.getbasetemp() / "fuzz-summary.md"
        path.write_text(SUMMARY.table() + "\n")
        _REPORT.append(path)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _REPORT:
        return
    if THOROUGH:
        terminalreporter.write_sep("=", "fuzz summary")
        terminalreporter.write_line(SUMMARY.table())
    terminalreporter.write_line(f"fuzz summary table: {_REPORT[0]}")
