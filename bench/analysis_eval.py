"""How well query analysis labels real prompts, and what it costs per call.

Runs ``analyze`` over the labelled set in bench/data/labelled_prompts.jsonl and prints markdown
tables: per-task precision/recall/F1 (plus accuracy and macro F1), needs_web precision/recall,
language accuracy, and speed against a baseline of ``str.lower()`` plus one regex search over the
same text, so the cost of analysis is reported relative to the cheapest thing a router could do.
The difficulty estimate is computed only for routes that weigh it (``QueryProfile.complexity``),
so analysis is timed without it and with it. Times are the thread's CPU time, which a busy
machine disturbs far less than wall time.

Tune on ``--split dev``; report ``--split test``.

Usage: python bench/analysis_eval.py [--set labelled|chat|heldout] [--split dev|test|all] [--errors]
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatewise.config import TaskType
from gatewise.routing.analyze import QueryProfile, analyze, forget_turns

DATA = Path(__file__).parent / "data" / "labelled_prompts.jsonl"
# Open-ended chat requests (writing, roleplay, puzzles, maths, coding, extraction, science and
# humanities explanations), written apart from the labelled set and after the analyser's cues:
# the dev half was read while the cues were mended, the test half only scored.
CHAT = Path(__file__).parent / "data" / "chat_prompts.jsonl"
# Support-desk, everyday, multilingual, coding and maths requests, written before the cues for
# proofs in other languages, the user's own items and the weight of bare numbers, and only scored.
HELDOUT = Path(__file__).parent / "data" / "heldout_prompts.jsonl"
SETS = {"labelled": DATA, "chat": CHAT, "heldout": HELDOUT}
SPLITS = ("dev", "test", "all")
TWO_KB = 2048
# The baseline's one regex: a keyword alternation that does not occur in the timed prompts, so the
# search scans the whole text, as a real keyword check on a miss would.
_BASELINE_RX = re.compile(r"\b(?:translat\w*|summari[sz]e|haiku|quaternion)\b")


@dataclass(frozen=True, slots=True)
class Row:
    id: str
    text: str
    task: TaskType
    needs_web: bool
    language: str
    split: str
    image: bool = False

    def messages(self) -> list[dict[str, Any]]:
        if not self.image:
            return [{"role": "user", "content": self.text}]
        return [{"role": "user", "content": [
            {"type": "text", "text": self.text},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        ]}]


@dataclass(frozen=True, slots=True)
class TaskScore:
    task: TaskType
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True, slots=True)
class Report:
    split: str
    n: int
    per_task: tuple[TaskScore, ...]
    accuracy: float
    macro_f1: float
    web_precision: float
    web_recall: float
    web_support: int
    language_accuracy: float
    errors: tuple[tuple[Row, QueryProfile], ...]

    def recall_of(self, task: TaskType) -> float:
        return next(s.recall for s in self.per_task if s.task is task)


def load_rows(path: Path = DATA) -> list[Row]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                raw = json.loads(line)
                rows.append(Row(id=raw["id"], text=raw["text"], task=TaskType(raw["task"]),
                                needs_web=raw["needs_web"], language=raw["language"],
                                split=raw["split"], image=raw.get("image", False)))
    return rows


def select(rows: Sequence[Row], split: str) -> list[Row]:
    return list(rows) if split == "all" else [r for r in rows if r.split == split]


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def evaluate(rows: Sequence[Row], split: str = "test") -> Report:
    chosen = select(rows, split)
    profiles = [analyze(r.messages()) for r in chosen]
    per_task = []
    for task in TaskType:
        tp = sum(1 for r, p in zip(chosen, profiles, strict=True) if r.task is task and p.task is task)
        predicted = sum(1 for p in profiles if p.task is task)
        support = sum(1 for r in chosen if r.task is task)
        precision, recall = _ratio(tp, predicted), _ratio(tp, support)
        f1 = _ratio(2 * tp, predicted + support)
        per_task.append(TaskScore(task, precision, recall, f1, support))
    scored = [s for s in per_task if s.support]
    web_tp = sum(1 for r, p in zip(chosen, profiles, strict=True) if r.needs_web and p.needs_web)
    return Report(
        split=split,
        n=len(chosen),
        per_task=tuple(per_task),
        accuracy=_ratio(sum(1 for r, p in zip(chosen, profiles, strict=True) if r.task is p.task),
                        len(chosen)),
        macro_f1=statistics.fmean(s.f1 for s in scored) if scored else 0.0,
        web_precision=_ratio(web_tp, sum(1 for p in profiles if p.needs_web)),
        web_recall=_ratio(web_tp, sum(1 for r in chosen if r.needs_web)),
        web_support=sum(1 for r in chosen if r.needs_web),
        language_accuracy=_ratio(
            sum(1 for r, p in zip(chosen, profiles, strict=True) if r.language == p.language),
            len(chosen)),
        errors=tuple((r, p) for r, p in zip(chosen, profiles, strict=True)
                     if r.task is not p.task or r.needs_web != p.needs_web or r.language != p.language),
    )


def two_kb_prompt(rows: Sequence[Row]) -> str:
    """A realistic 2 KB request: English text-only prompts from the set joined until 2 KB."""
    pool = [r.text for r in rows if r.language == "en" and not r.image
            and not _BASELINE_RX.search(r.text.lower())]
    text = ""
    for chunk in sorted(pool, key=len, reverse=True):
        text += chunk + "\n\n"
        if len(text) >= TWO_KB:
            break
    return text[:TWO_KB]


def _per_call_us(fn: Callable[[], object], batch: int) -> float:
    start = time.thread_time_ns()
    for _ in range(batch):
        fn()
    return (time.thread_time_ns() - start) / batch / 1000


def time_calls(fns: Sequence[Callable[[], object]], rounds: int, batch: int) -> list[float]:
    """Per-call µs samples: each sample averages a batch, so timer overhead stays out of sub-µs calls."""
    samples = []
    gc.disable()
    try:
        for _ in range(rounds):
            samples.extend(_per_call_us(fn, batch) for fn in fns)
    finally:
        gc.enable()
    return samples


def _baseline(text: str) -> Callable[[], object]:
    return lambda: _BASELINE_RX.search(text.lower())


def _analysis(row: Row, *, difficulty: bool = False) -> Callable[[], object]:
    messages = row.messages()

    def first_reading() -> object:
        forget_turns()  # turns are cached per conversation; time the first reading of each
        profile = analyze(messages)
        return profile.complexity if difficulty else profile
    return first_reading


def _p95(samples: Sequence[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def speed_table(rows: Sequence[Row]) -> str:
    big = two_kb_prompt(rows)
    big_row = Row(id="2kb", text=big, task=TaskType.REASONING, needs_web=False, language="en",
                  split="all")
    workloads = [
        (f"one {len(big):,}-char prompt", [_analysis(big_row)], [_baseline(big)], 200, 20),
        (f"one {len(big):,}-char prompt, with difficulty", [_analysis(big_row, difficulty=True)],
         [_baseline(big)], 200, 20),
        (f"labelled set ({len(rows)} prompts)", [_analysis(r) for r in rows],
         [_baseline(r.text) for r in rows], 5, 10),
        (f"labelled set ({len(rows)} prompts), with difficulty",
         [_analysis(r, difficulty=True) for r in rows], [_baseline(r.text) for r in rows], 5, 10),
    ]
    lines = ["| workload | analyze median µs CPU | analyze p95 µs CPU | baseline median µs CPU "
             "| baseline p95 µs CPU | ratio (median) |", "|---|---:|---:|---:|---:|---:|"]
    for name, analysis, baseline, rounds, batch in workloads:
        ours = time_calls(analysis, rounds, batch)
        base = time_calls(baseline, rounds, batch)
        lines.append(f"| {name} | {statistics.median(ours):.1f} | {_p95(ours):.1f} | "
                     f"{statistics.median(base):.1f} | {_p95(base):.1f} | "
                     f"{statistics.median(ours) / statistics.median(base):.1f}× |")
    return "\n".join(lines)


def task_table(report: Report) -> str:
    lines = [f"Task detection, split={report.split} (n={report.n})", "",
             "| task | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
    for s in report.per_task:
        lines.append(f"| {s.task.value} | {s.precision:.2f} | {s.recall:.2f} | {s.f1:.2f} | {s.support} |")
    lines.append(f"| **accuracy** | | | {report.accuracy:.3f} | {report.n} |")
    lines.append(f"| **macro F1** | | | {report.macro_f1:.3f} | {report.n} |")
    return "\n".join(lines)


def web_language_table(report: Report) -> str:
    return "\n".join([
        "| signal | precision | recall | accuracy | support |", "|---|---:|---:|---:|---:|",
        f"| needs_web | {report.web_precision:.2f} | {report.web_recall:.2f} | | {report.web_support} |",
        f"| language | | | {report.language_accuracy:.3f} | {report.n} |",
    ])


def error_lines(report: Report) -> str:
    out = []
    for row, p in report.errors:
        got = [f"task={p.task.value}" if p.task is not row.task else "",
               f"web={p.needs_web}" if p.needs_web != row.needs_web else "",
               f"lang={p.language}" if p.language != row.language else ""]
        snippet = row.text.replace("\n", " ")[:90]
        out.append(f"- {row.id} [{row.task.value}] {' '.join(g for g in got if g)} :: {snippet}")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=SPLITS, default="test")
    parser.add_argument("--set", choices=tuple(SETS), default="labelled", help="which prompt set to score")
    parser.add_argument("--errors", action="store_true", help="list the misclassified prompts")
    parser.add_argument("--no-speed", action="store_true", help="skip the timing table")
    args = parser.parse_args(argv)
    rows = load_rows(SETS[args.set])
    report = evaluate(rows, args.split)
    print(task_table(report), "", web_language_table(report), sep="\n")
    if args.errors:
        print("", f"Errors ({len(report.errors)})", error_lines(report), sep="\n")
    if not args.no_speed:
        print("", "Speed (per analyze call; baseline = str.lower() + one regex search, same text)", "",
              speed_table(rows), sep="\n")


if __name__ == "__main__":
    main()
