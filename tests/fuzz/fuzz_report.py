"""Counting fuzz outcomes per tool, and the summary table that goes into the release note.

Kept free of hypothesis imports: the conftest loads it while pytest starts.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from fuzz_strategies import Case

PROFILE = os.environ.get("GATEWISE_FUZZ_PROFILE", "quick")
THOROUGH = PROFILE == "thorough"

OK, CLEAR, OTHER = "ok", "clear error", "other"


class Verdict(NamedTuple):
    outcome: str
    symptom: str = ""
    text: str = ""
    seconds: float = 0.0


@dataclass
class Finding:
    symptom: str
    label: str
    wire: bool
    text: str

    def line(self) -> str:
        reach = "" if self.wire else " [in-process only]"
        return f"{self.symptom} - {self.label}{reach}: {self.text[:300]!r}"


@dataclass
class ToolTally:
    server: str
    tool: str
    counts: Counter[str] = field(default_factory=Counter)
    symptoms: Counter[str] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    slowest: tuple[float, str] = (0.0, "")

    def add(self, case: Case, verdict: Verdict) -> None:
        self.counts[verdict.outcome] += 1
        self.slowest = max(self.slowest, (verdict.seconds, case.label))
        if verdict.outcome != OTHER:
            return
        self.symptoms[verdict.symptom] += 1
        # One example per symptom and argument is enough to act on.
        where = case.label.rsplit(" at ", 1)[-1]
        if not any(f.symptom == verdict.symptom and f.label.endswith(where) for f in self.findings):
            self.findings.append(Finding(verdict.symptom, case.label, case.wire, verdict.text))

    def report(self) -> str:
        lines = [f.line() for f in self.findings[:25]]
        more = len(self.findings) - len(lines)
        return "\n".join(lines + ([f"... and {more} more"] if more > 0 else []))


class Summary:
    """Every tool's counts, printed as a table at the end of the run."""

    def __init__(self) -> None:
        self.tallies: dict[tuple[str, str], ToolTally] = {}

    def tally(self, server: str, tool: str) -> ToolTally:
        return self.tallies.setdefault((server, tool), ToolTally(server, tool))

    def table(self) -> str:
        rows = ["| server | tool | cases | ok | clear error | other | other: symptoms | slowest case |",
                "|---|---|---:|---:|---:|---:|---|---|"]
        total: Counter[str] = Counter()
        for t in self.tallies.values():
            total.update(t.counts)
            symptoms = "; ".join(f"{s} x{n}" for s, n in t.symptoms.most_common())
            rows.append(f"| {t.server} | {t.tool} | {t.counts.total()} | {t.counts[OK]} | "
                        f"{t.counts[CLEAR]} | {t.counts[OTHER]} | {symptoms} | "
                        f"{t.slowest[0]:.2f} s: {t.slowest[1]} |")
        rows.append(f"| **all** | {len(self.tallies)} tools | {total.total()} | {total[OK]} | "
                    f"{total[CLEAR]} | {total[OTHER]} | | |")
        return "\n".join(rows)


SUMMARY = Summary()
