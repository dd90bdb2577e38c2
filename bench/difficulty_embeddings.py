"""Would sentence embeddings make a better difficulty estimate? A side-by-side replay, no model called.

The local embedder (``gatewise.cache.embedders.LocalEmbedder``, the semantic cache's) embeds the
RouteLLM prompts. L2-regularised logistic models are fitted on the train half (the split, target
and benchmark weights of ``scripts/train_difficulty.py``) over the embedding alone and over the
embedding beside the shipped model's logit, at two fixed penalties (none is picked by the
results). Each is then measured as the shipped model is:

- on the test half of GSM8K and MMLU: strong share for 95 % of strong accuracy and APGR
  (``bench/routing_replay.py``);
- on the hand-written conversations (``bench/conversation_routing.py``, test split): the AUROC for
  turns that need the strong tier, from the conversation so far (the hardest turn) and the turn
  alone, and among the turns whose route weighs the estimate (conversation so far);
- and the CPU an embedding costs a routed call that did not already have one (one user turn).

Embedding the ~7,600 training prompts takes a couple of CPU minutes.

Usage: python bench/difficulty_embeddings.py [--split test|dev|all]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence

import numpy as np

import conversation_routing as conversations
import routing_replay as replay
from gatewise.cache.embedders import LocalEmbedder
from gatewise.routing.analyze import analyze
from gatewise.routing.difficulty import load_default

PENALTIES = (1e-3, 1e-2)
BENCHMARK_WEIGHT = {"gsm8k": 3.0, "mmlu": 1.0}  # as scripts/train_difficulty.py weighs them
TARGET = 0.95
BATCH = 32
Scorer = Callable[[Sequence[str]], np.ndarray]


class Embeddings:
    """Each distinct text embedded once."""

    def __init__(self) -> None:
        self._embedder = LocalEmbedder()
        self._seen: dict[str, np.ndarray] = {}

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in self._seen]
        for i in range(0, len(todo), BATCH):
            batch = todo[i:i + BATCH]
            self._seen.update(zip(batch, self._embedder.embed_now(batch), strict=True))
        return np.array([self._seen[t] for t in texts])

    def cpu_ms_per_turn(self, texts: Sequence[str]) -> float:
        start = time.thread_time()
        for text in texts:
            self._embedder.embed_now([text])
        return (time.thread_time() - start) / len(texts) * 1000


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.asarray(np.log(p / (1 - p)))


def fit(features: np.ndarray, target: np.ndarray, weight: np.ndarray, l2: float
        ) -> Callable[[np.ndarray], np.ndarray]:
    """Weighted L2 logistic regression on standardised features (Newton's method); the bias is free."""
    mean, std = features.mean(axis=0), features.std(axis=0) + 1e-9

    def design(x: np.ndarray) -> np.ndarray:
        return np.hstack([(x - mean) / std, np.ones((len(x), 1))])

    z, w = design(features), weight / weight.mean()
    penalty = l2 * np.diag(np.r_[np.ones(z.shape[1] - 1), 0.0])
    beta = np.zeros(z.shape[1])
    for _ in range(100):
        p = 1 / (1 + np.exp(-z @ beta))
        gradient = z.T @ (w * (p - target)) / len(z) + penalty @ beta
        hessian = (z * (w * p * (1 - p))[:, None]).T @ z / len(z) + penalty
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return lambda x: np.asarray(1 / (1 + np.exp(-design(x) @ beta)))


def candidates(embed: Embeddings, train: Sequence[replay.Example], weight: np.ndarray
               ) -> dict[str, Scorer]:
    shipped = load_default()

    def shipped_logit(texts: Sequence[str]) -> np.ndarray:
        return logit(np.array(shipped.scores(list(texts))))[:, None]

    texts = [e.prompt for e in train]
    target = np.array([(1 + e.strong - e.weak) / 2 for e in train])
    x = embed(texts)
    out: dict[str, Scorer] = {"shipped": lambda ts: np.array(shipped.scores(list(ts)))}
    for l2 in PENALTIES:
        alone = fit(x, target, weight, l2)
        both = fit(np.hstack([x, shipped_logit(texts)]), target, weight, l2)
        out[f"embedding, l2 {l2:g}"] = lambda ts, m=alone: m(embed(ts))
        out[f"embedding + shipped, l2 {l2:g}"] = (
            lambda ts, m=both: m(np.hstack([embed(ts), shipped_logit(ts)])))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "test", "all"), default="test",
                        help="split of the conversation set")
    args = parser.parse_args(argv)
    if not replay.data_dir().is_dir():
        print(f"skipped: no RouteLLM data at {replay.data_dir()}")
        return 0
    train: list[replay.Example] = []
    weight: list[float] = []
    test = {}
    for name in replay.BENCHMARKS:
        examples = replay.load_benchmark(name)
        rows = [e for e in examples if not replay.in_test_split(e.prompt)]
        train += rows
        weight += [BENCHMARK_WEIGHT[name]] * len(rows)
        test[name] = [e for e in examples if replay.in_test_split(e.prompt)]
    embed = Embeddings()
    models = candidates(embed, train, np.array(weight))
    labelled = conversations.load(split=args.split)
    turns = [(analyze(conversations._messages(c.turns[: i + 1])).turns, turn)
             for c in labelled for i, turn in enumerate(c.turns)]
    strong = [turn.strong for _, turn in turns]
    weighed = [r.weighed for rs in conversations.route(labelled, aware=True) for r in rs]
    print(f"Trained on {len(train):,} prompts; conversations: {args.split} split, {len(turns)} user turns\n")
    print("| model | GSM8K strong share for 95 % | GSM8K APGR | MMLU strong share for 95 % | MMLU APGR "
          f"| conversations AUROC, so far | turn alone | turns it is weighed on ({sum(weighed)}) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, score in models.items():
        cells = []
        for bench in replay.BENCHMARKS:
            ours = replay.compare(test[bench], score([e.prompt for e in test[bench]]), TARGET)[0]
            cells += [f"{100 * ours.share_at_target:.1f} %", f"{ours.apgr:.3f}"]
        so_far = [float(score(list(texts)).max()) for texts, _ in turns]
        alone = list(score([turn.user for _, turn in turns]))
        within = conversations.weighed_auroc(so_far, strong, weighed)
        cells += [f"{conversations.auroc(so_far, strong):.3f}", f"{conversations.auroc(alone, strong):.3f}",
                  "all of one kind" if within is None else f"{within:.3f}"]
        print(f"| {name} | " + " | ".join(cells) + " |")
    users = [turn.user for _, turn in turns]
    print(f"\nEmbedding one user turn (not yet embedded): {embed.cpu_ms_per_turn(users):.2f} ms thread CPU "
          f"on average over {len(users)} turns")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
