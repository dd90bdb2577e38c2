"""Prompt-injection detection on labelled texts: how many attacks are caught (flagged or
blocked) and how many ordinary texts are held up, overall, per language and per kind.

    python bench/injection_eval.py [--data bench/data/injection_heldout.jsonl] [--misses]

The default set (``injection_heldout.jsonl``) was written before the detector's rules it
measures: attacks phrased away from the textbook wording (overrides, forged role tags, requests
for the system prompt, leetspeak, letter-spacing, role-play frames) in thirteen languages, and
ordinary texts that use the same words about something else (CSS rules, an installer's
instructions, a shell prompt, a security talk quoting an attack). A row is
``{"label": "attack"|"benign", "language", "kind", "text"}``.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from gatewise.guardrails.injection import check_injection
from gatewise.guardrails.texts import split

DEFAULT = Path(__file__).parent / "data" / "injection_heldout.jsonl"


def evaluate(rows: list[dict[str, str]]) -> list[tuple[dict[str, str], str, float]]:
    """Each row with the verdict (pass, flag, block) and score a request with its text gets."""
    out = []
    for row in rows:
        result = check_injection(split(row["text"]))
        out.append((row, result.verdict, result.score))
    return out


def _table(title: str, key: str, results: list[tuple[dict[str, str], str, float]]) -> None:
    groups: dict[str, list[str]] = defaultdict(list)
    for row, verdict, _ in results:
        groups[f"{row['label']:<7} {row[key]}"].append(verdict)
    print(f"\n{title:<22} {'texts':>5} {'caught':>7} {'blocked':>8}")
    for name in sorted(groups):
        verdicts = groups[name]
        caught = sum(v != "pass" for v in verdicts)
        blocked = sum(v == "block" for v in verdicts)
        print(f"{name:<22} {len(verdicts):>5} {caught:>7} {blocked:>8}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT)
    parser.add_argument("--misses", action="store_true", help="list the attacks missed and texts held up")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.data.read_text().splitlines() if line.strip()]
    results = evaluate(rows)
    attacks = [v for row, v, _ in results if row["label"] == "attack"]
    benign = [v for row, v, _ in results if row["label"] == "benign"]
    caught = sum(v != "pass" for v in attacks)
    held = sum(v != "pass" for v in benign)
    print(f"{args.data.name}: {len(rows)} texts")
    print(f"attacks caught (flag or block): {caught}/{len(attacks)} = {caught / max(len(attacks), 1):.2f}"
          f"  (blocked {sum(v == 'block' for v in attacks)})")
    print(f"benign held up (flag or block): {held}/{len(benign)} = {held / max(len(benign), 1):.2f}"
          f"  (blocked {sum(v == 'block' for v in benign)})")
    _table("by language", "language", results)
    _table("by kind", "kind", results)
    if args.misses:
        print()
        for row, verdict, score in results:
            wrong = (verdict == "pass") == (row["label"] == "attack")
            if wrong:
                print(f"{row['label']:<7} {verdict:<5} {score:.2f} {row['language']} {row['text'][:100]!r}")


if __name__ == "__main__":
    main()
