"""Rebuild ``shared/gatewise/data/difficulty_model.json`` from the RouteLLM evaluation data.

Trains an L2-regularised logistic model (see ``gatewise.routing.difficulty``) on the train half of
GSM8K and MMLU combined, contaminated prompts and files whose strong-model record is below chance
excluded (``bench/routing_replay.py``); the test half is left to
``bench/routing_replay.py``. The split is a hash of each prompt, the optimiser is full-batch L-BFGS
from zero, weights are rounded and the file holds no date. Floating-point summation order differs
between CPUs and BLAS builds, so the optimiser may stop a few iterations apart and a rebuild elsewhere
matches the shipped file within a few weight units (tests/unit/test_difficulty.py states the tolerance),
not byte for byte.

Usage: python scripts/train_difficulty.py [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from gatewise.routing.difficulty import DENSE_FEATURES, FORMAT, MAX_CHARS, features

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from routing_replay import (  # noqa: E402
    BENCHMARKS,
    STRONG_MODEL,
    WEAK_MODEL,
    data_dir,
    in_test_split,
    read_benchmark,
)

OUT = REPO / "shared" / "gatewise" / "data" / "difficulty_model.json"
BITS = 15
L2_SPARSE = 3e-4
L2_DENSE = 1e-2
# The small benchmark is up-weighted (about the square root of the size ratio) so its signal is not
# drowned by MMLU; 3 was picked by 5-fold cross-validation on the train half.
BENCHMARK_WEIGHT = {"gsm8k": 3.0, "mmlu": 1.0}
MAX_ITER = 500
WEIGHT_UNIT = 1e-4  # bucket weights are stored as integers of this unit: far below what moves a ranking


class Design:
    """Bucket columns in three blocks (shared, multiple-choice only, open only), each present bucket
    scaled by 1/sqrt(#buckets), beside standardised dense columns.
    """

    def __init__(self, texts: Sequence[str], bits: int) -> None:
        rows, cols, vals, dense = [], [], [], []
        size = 1 << bits
        for i, text in enumerate(texts):
            f = features(text, bits)
            buckets = sorted(f.buckets)
            own_block = size if f.multiple_choice else 2 * size
            rows += [i] * (2 * len(buckets))
            cols += buckets + [own_block + b for b in buckets]
            vals += [1.0 / np.sqrt(max(len(buckets), 1))] * (2 * len(buckets))
            dense.append(f.dense)
        self.n, self.width = len(texts), 3 * size
        self.rows, self.cols, self.vals = np.array(rows), np.array(cols), np.array(vals)
        raw = np.array(dense)
        self.mean, self.std = raw.mean(axis=0), raw.std(axis=0) + 1e-9
        self.dense = (raw - self.mean) / self.std

    def dot(self, w: np.ndarray) -> np.ndarray:
        """X @ w with w = [bucket blocks..., dense..., bias]."""
        sparse = np.bincount(self.rows, weights=self.vals * w[self.cols], minlength=self.n)
        return sparse + self.dense @ w[self.width:-1] + w[-1]

    def tdot(self, g: np.ndarray) -> np.ndarray:
        sparse = np.bincount(self.cols, weights=self.vals * g[self.rows], minlength=self.width)
        return np.concatenate([sparse, self.dense.T @ g, [g.sum()]])


def lbfgs(f: Callable[[np.ndarray], tuple[float, np.ndarray]], x: np.ndarray, max_iter: int,
          memory: int = 10, gtol: float = 1e-6) -> tuple[np.ndarray, int]:
    """Minimise a smooth convex f (returning value and gradient); Armijo backtracking line search."""
    fx, g = f(x)
    pairs: list[tuple[np.ndarray, np.ndarray, float]] = []
    for it in range(1, max_iter + 1):
        q, alphas = g.copy(), []
        for s, y, rho in reversed(pairs):
            a = rho * (s @ q)
            alphas.append(a)
            q -= a * y
        if pairs:
            s, y, _ = pairs[-1]
            q *= (s @ y) / (y @ y)
        else:
            q /= max(np.abs(g).max(), 1e-12)  # first step: unit-scaled steepest descent
        for (s, y, rho), a in zip(pairs, reversed(alphas), strict=True):
            q += s * (a - rho * (y @ q))
        direction, step, slope = -q, 1.0, -(g @ q)
        while True:
            x_new = x + step * direction
            f_new, g_new = f(x_new)
            if f_new <= fx + 1e-4 * step * slope or step < 1e-10:
                break
            step /= 2
        s, y = x_new - x, g_new - g
        if s @ y > 1e-12:
            pairs = [*pairs[-(memory - 1):], (s, y, 1.0 / (s @ y))]
        x, fx, g = x_new, f_new, g_new
        if np.abs(g).max() < gtol:
            return x, it
    return x, max_iter


def fit(design: Design, target: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, int]:
    """Weighted L2-regularised logistic regression on soft targets in [0, 1]; the bias is not penalised."""
    n_dense = design.dense.shape[1]
    l2 = np.concatenate([np.full(design.width, L2_SPARSE), np.full(n_dense, L2_DENSE), [0.0]])
    weight = weight / weight.mean()

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = design.dot(w)
        p = 1.0 / (1.0 + np.exp(-z))
        value = np.mean(weight * (np.logaddexp(0.0, z) - target * z)) + 0.5 * np.sum(l2 * w * w)
        return float(value), design.tdot(weight * (p - target)) / design.n + l2 * w

    return lbfgs(loss, np.zeros(design.width + n_dense + 1), MAX_ITER)


def train(root: Path) -> dict[str, object]:
    texts, target, weight, rows = [], [], [], {}
    left_out: dict[str, list[str]] = {}
    for name in BENCHMARKS:
        examples, left_out[name] = read_benchmark(name, root)
        train_rows = [e for e in examples if not in_test_split(e.prompt)]
        rows[name] = len(train_rows)
        texts += [e.prompt for e in train_rows]
        target += [(1 + e.strong - e.weak) / 2 for e in train_rows]
        weight += [BENCHMARK_WEIGHT[name]] * len(train_rows)
    design = Design(texts, BITS)
    w, iterations = fit(design, np.array(target), np.array(weight))

    # Fold the standardisation into the dense weights so inference uses raw counts.
    dense_std = w[design.width:-1]
    dense_raw = dense_std / design.std
    bias = w[-1] - float(dense_raw @ design.mean)
    shared, mc, open_ = np.split(w[:design.width], 3)
    mc_table, open_table = (np.rint((shared + own) / WEIGHT_UNIT).astype(int) for own in (mc, open_))
    return {
        "format": FORMAT,
        "model": "logistic regression, hashed word uni/bi-grams + dense counts",
        "target": "(1 + strong_correct - weak_correct) / 2",
        "bits": BITS,
        "max_chars": MAX_CHARS,
        "dense_features": list(DENSE_FEATURES),
        "training": {
            "data": "RouteLLM evals (GSM8K, MMLU), contaminated prompts and files with the strong model "
                    "below chance excluded",
            "below_chance": left_out,
            "strong_model": STRONG_MODEL,
            "weak_model": WEAK_MODEL,
            "split": "train = sha256(prompt)[0] even; test (odd) is held out",
            "rows": sum(rows.values()),
            "rows_per_benchmark": rows,
            "l2_sparse": L2_SPARSE,
            "l2_dense": L2_DENSE,
            "benchmark_weight": BENCHMARK_WEIGHT,
            "optimiser": f"L-BFGS, {iterations} iterations",
        },
        "bias": round(bias, 6),
        "dense_weights": [round(float(x), 6) for x in dense_raw],
        # Shared part folded into each format's table; L2 leaves nearly every bucket non-zero, so plain
        # lists are smaller than bucket/weight pairs.
        "weight_unit": WEIGHT_UNIT,
        "mc_weights": mc_table.tolist(),
        "open_weights": open_table.tolist(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    root = data_dir()
    if not root.is_dir():
        raise SystemExit(f"no RouteLLM data at {root} (set GATEWISE_ROUTELLM_DATA)")
    payload = train(root)
    args.out.write_text(json.dumps(payload, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes): {payload['training']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
