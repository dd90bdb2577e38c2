"""Replay RouteLLM's recorded answers to measure the difficulty router's cost-quality trade-off.

For each held-out prompt of GSM8K and MMLU the data says whether a strong model
(gpt-4-1106-preview) and a weak one (Mixtral-8x7B) answered correctly. A router that sends a
prompt to the strong model when ``DifficultyModel.score(prompt) >= t`` therefore has a known
accuracy and strong-call share for every threshold ``t``; no model is called.

Compared side by side, on the test half of each benchmark (the model never trained on it):

- difficulty: the bundled ``gatewise.routing.difficulty`` model;
- difficulty + wording cues: that model's estimate as routing weighs it, moved by
  ``gatewise.routing.difficulty_cues`` (a proof is not routine, a unit conversion is);
- random:     strong with probability p; its expected accuracy is w + p(s - w);
- oracle:     strong exactly when only the strong model is right (an upper bound).

Cost is relative to sending everything to the strong model: share + (1 - share) * price ratio. The
default ratio is the blended (3:1 input:output) price of openai/gpt-4o-mini over openai/gpt-4o in
the bundled catalogue (about 0.06); ``--price-ratio`` overrides it.

A file in which the strong model's recorded accuracy is below chance (MMLU's high-school
mathematics: 3 % against 25 % for four choices, where the weak model has 32 %) records a failure
to read its answers, not a skill: it is left out of training and of the replay, and named.

The data folder is ``<repo>/../shared/data/routellm-evals`` or ``$GATEWISE_ROUTELLM_DATA``; without
it the replay is skipped.

Usage: python bench/routing_replay.py [--target 0.95] [--price-ratio 0.06]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gatewise.catalog import Catalog
from gatewise.routing.difficulty import DifficultyModel, load_default
from gatewise.routing.difficulty_cues import with_cues

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = ("gsm8k", "mmlu")
STRONG_MODEL = "gpt-4-1106-preview"
WEAK_MODEL = "mistralai/Mixtral-8x7B-Instruct-v0.1"
CHEAP, PREMIUM = "openai/gpt-4o-mini", "openai/gpt-4o"
# The accuracy of a blind guess: MMLU has four choices; GSM8K's answers are open numbers.
CHANCE = {"gsm8k": 0.0, "mmlu": 0.25}


@dataclass(frozen=True, slots=True)
class Example:
    prompt: str
    strong: bool  # strong model answered correctly
    weak: bool


def data_dir() -> Path:
    default = REPO.parent / "shared" / "data" / "routellm-evals"
    return Path(os.environ.get("GATEWISE_ROUTELLM_DATA") or default)


def load_benchmark(name: str, root: Path | None = None) -> list[Example]:
    """Every prompt of one benchmark, minus those RouteLLM flags as contaminated and the files
    whose strong-model record is below chance (:func:`below_chance`)."""
    return read_benchmark(name, root)[0]


def read_benchmark(name: str, root: Path | None = None) -> tuple[list[Example], list[str]]:
    """:func:`load_benchmark`'s prompts, and the names of the files it leaves out, in one read."""
    examples, left_out = [], []
    for path, rows in _files(name, root):
        if below_chance(name, rows):
            left_out.append(path.name)
        else:
            examples += rows
    return examples, left_out


def below_chance(name: str, rows: Sequence[Example]) -> bool:
    return bool(rows) and sum(e.strong for e in rows) / len(rows) < CHANCE[name]


def _files(name: str, root: Path | None) -> list[tuple[Path, list[Example]]]:
    folder = (root or data_dir()) / name
    csv.field_size_limit(sys.maxsize)  # some recorded responses are very long
    with (folder / "contaminated_prompts.jsonl").open(encoding="utf-8") as fh:
        contaminated = {json.loads(line)["eval_prompt"] for line in fh if line.strip()}
    files = []
    for path in sorted(folder.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as fh:
            rows = [Example(row["prompt"], row[STRONG_MODEL] == "True", row[WEAK_MODEL] == "True")
                    for row in csv.DictReader(fh) if row["prompt"] not in contaminated]
        files.append((path, rows))
    return files


def in_test_split(prompt: str) -> bool:
    # A hash of the text, not the row order: stable across files and keeps duplicates together.
    return hashlib.sha256(prompt.encode()).digest()[0] & 1 == 1


@dataclass(frozen=True, slots=True)
class Curve:
    """Strong share and accuracy at each distinct threshold, from "all weak" to "all strong"."""

    share: np.ndarray
    accuracy: np.ndarray


def replay(scores: Sequence[float], strong: np.ndarray, weak: np.ndarray) -> Curve:
    # Prompts with equal scores switch together; between two points the curve is linear, which is
    # the expectation of breaking the tie at random.
    score = np.asarray(scores, dtype=float)
    order = np.argsort(-score, kind="stable")
    gain = np.concatenate([[0.0], np.cumsum(strong[order].astype(float) - weak[order])])
    ranked = score[order]
    cut = np.concatenate([[True], ranked[1:] != ranked[:-1], [True]])
    k = np.nonzero(cut)[0]
    return Curve(k / len(score), (weak.sum() + gain[k]) / len(score))


def share_for(curve: Curve, accuracy: float) -> float:
    """Smallest strong share at which the curve first reaches ``accuracy`` (1.0 if never)."""
    above = np.nonzero(curve.accuracy >= accuracy - 1e-12)[0]
    if not len(above):
        return 1.0
    i = above[0]
    if i == 0:
        return 0.0
    p0, p1, q0, q1 = curve.share[i - 1], curve.share[i], curve.accuracy[i - 1], curve.accuracy[i]
    return float(p0 + (p1 - p0) * (accuracy - q0) / (q1 - q0))


def apgr(curve: Curve, strong_acc: float, weak_acc: float) -> float:
    """Average performance gap recovered: mean over strong share of (acc - w) / (s - w)."""
    pgr = (curve.accuracy - weak_acc) / (strong_acc - weak_acc)
    return float(np.sum((pgr[1:] + pgr[:-1]) / 2 * np.diff(curve.share)))


def relative_cost(share: float, price_ratio: float) -> float:
    return share + (1.0 - share) * price_ratio


def catalogue_price_ratio() -> float:
    catalog = Catalog.snapshot()
    cheap, premium = catalog.get(CHEAP), catalog.get(PREMIUM)
    if cheap is None or premium is None:
        raise SystemExit(f"{CHEAP} or {PREMIUM} is not in the catalogue: pass --price-ratio")
    return cheap.blended_price / premium.blended_price


@dataclass(frozen=True, slots=True)
class RouterResult:
    name: str
    curve: Curve
    share_at_target: float
    share_to_match: float
    apgr: float


def compare(examples: Sequence[Example], scores: Sequence[float], target: float,
            routed: Sequence[float] | None = None) -> list[RouterResult]:
    """Our router (and, given ``routed``, its estimate as routing weighs it), random and oracle on
    the same examples; ``target`` is a fraction of strong accuracy."""
    strong = np.array([e.strong for e in examples])
    weak = np.array([e.weak for e in examples])
    s, w = float(strong.mean()), float(weak.mean())
    curves = {"difficulty": replay(scores, strong, weak)}
    if routed is not None:
        curves["difficulty + wording cues"] = replay(routed, strong, weak)
    curves |= {
        "random": replay(np.zeros(len(examples)), strong, weak),
        "oracle": replay((strong & ~weak).astype(float), strong, weak),
    }
    return [RouterResult(name, c, share_for(c, target * s), share_for(c, s), apgr(c, s, w))
            for name, c in curves.items()]


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def print_curve(examples: Sequence[Example], scores: Sequence[float], price_ratio: float) -> None:
    strong = np.array([e.strong for e in examples])
    weak = np.array([e.weak for e in examples])
    s, w = strong.mean(), weak.mean()
    ranked = sorted(scores, reverse=True)
    print("| threshold t | strong share | accuracy | of strong acc. | random at same share "
          "| cost vs all-strong |")
    print("| --- | --- | --- | --- | --- | --- |")
    for decile in range(11):
        k = round(decile / 10 * len(ranked))
        t = ranked[k - 1] if k else float("inf")
        routed = np.array([x >= t for x in scores])
        share = routed.mean()
        acc = np.where(routed, strong, weak).mean()
        print(f"| {'∞' if k == 0 else f'{t:.3f}'} | {_pct(share)} | {_pct(acc)} | {_pct(acc / s)} "
              f"| {_pct(w + share * (s - w))} | {_pct(relative_cost(share, price_ratio))} |")


def print_summary(results: Sequence[RouterResult], target: float, price_ratio: float) -> None:
    print(f"| router | strong share for {target:.0%} of strong acc. | cost vs all-strong | saving "
          "| APGR | strong share to match strong |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in results:
        cost = relative_cost(r.share_at_target, price_ratio)
        print(f"| {r.name} | {_pct(r.share_at_target)} | {_pct(cost)} | {_pct(1 - cost)} | {r.apgr:.3f} "
              f"| {_pct(r.share_to_match)} |")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--target", type=float, default=0.95, help="fraction of strong accuracy to reach")
    parser.add_argument("--price-ratio", type=float, help="cheap/premium price (default: from the catalogue)")
    args = parser.parse_args(argv)

    root = data_dir()
    if not root.is_dir():
        print(f"skipped: no RouteLLM data at {root} (set GATEWISE_ROUTELLM_DATA)")
        return 0
    ratio = args.price_ratio if args.price_ratio is not None else catalogue_price_ratio()
    model: DifficultyModel = load_default()
    print(f"price ratio cheap/premium: {ratio:.4f}; target: {args.target:.0%} of strong accuracy; "
          f"model trained on {model.meta['training']['rows']} rows")
    for name in BENCHMARKS:
        examples, left_out = read_benchmark(name, root)
        test = [e for e in examples if in_test_split(e.prompt)]
        scores = model.scores([e.prompt for e in test])
        s = np.mean([e.strong for e in test])
        w = np.mean([e.weak for e in test])
        print(f"\n## {name}: {len(test)} test prompts, strong {_pct(s)}, weak {_pct(w)} "
              f"(files below chance, left out: {', '.join(left_out) or 'none'})\n")
        print_curve(test, scores, ratio)
        print()
        routed = [with_cues(e.prompt, score) for e, score in zip(test, scores, strict=True)]
        print_summary(compare(test, scores, args.target, routed), args.target, ratio)
        only_strong = np.mean([e.strong and not e.weak for e in test])
        print(f"\nOnly the strong model is right on {_pct(only_strong)} of prompts: the oracle's share at "
              f"its peak accuracy ({_pct(w + only_strong)}), the oracle share RouteLLM quotes.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
