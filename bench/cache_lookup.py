"""Semantic cache lookup latency and memory at 1,000, 10,000 and 100,000 entries in one scope.

Entries: the fow-cache questions embedded by the local model (all-MiniLM-L6-v2 int8), then copied
with small random perturbations (renormalised) until the scope holds N entries, so the index holds
vectors shaped like real ones. Rows are written straight into the cache's SQLite file and loaded
by the cache the way a restarted server loads them (that load time is reported too).

Lookups: the paraphrased side of each pair (about half of them hit), timed

- end to end: SemanticCache.lookup with the local embedder (embedding, search, exact check of the
  candidates, gates, the LRU touch on a hit);
- without embedding: the same lookup with the question's vector computed beforehand; and, side
  by side, the same without reading a rebuilt question's words in context (the lexical verdict
  alone, as with an embedder that gives no word vectors), which costs a model run per question
  on the few lookups that reach it;
- embedding alone, wall-clock and CPU time of the calling thread, for the embedder as shipped
  (int8 products, one onnxruntime thread, basic graph optimisation) and, side by side, the
  session options it did not take: every graph optimisation (the fusions), two threads, and the
  shipped graph as onnxruntime runs it unchanged (int8 weights folded to float32 at load). They
  take one question each in turn, so all see the same machine load; the load average is printed.

Search quality: how often the index (bit-plane shortlist, int8 ranking) finds a candidate as good
as an exact float32 search over every entry.

Memory: the index arrays per 100,000 entries, and the growth of the process's resident set once
the entries are loaded (arrays, id maps, SQLite's page cache).

Usage: python bench/cache_lookup.py [--sizes 1000,10000,100000] [--lookups 300] [--embedding-only]
(needs the bench extra: pip install -e '.[bench]')
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import resource
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
from fow_cache.data import load_questions

from common import pct
from gatewise.cache import gates
from gatewise.cache.embedders import Embedded, LocalEmbedder, _model_path
from gatewise.cache.int8_graph import dynamic_int8
from gatewise.cache.semantic import FILE_NAME, Scope, SemanticCache
from gatewise.cache.vector_index import VectorIndex
from gatewise.config import SemanticCacheConfig

SCOPE = Scope("routing-gateway:routed_complete", ("simple_queries",), {"temperature": 0})
THRESHOLD = SemanticCacheConfig().similarity_threshold  # the default: what a lookup confirms and gates


class Precomputed:
    """The local embedder's vectors of the questions, computed beforehand: lookups without the
    embedding step (words the gates compare are still embedded, once each)."""

    def __init__(self, local: LocalEmbedder, vectors: dict[str, np.ndarray]) -> None:
        self.name = local.name
        self.dimensions = local.dimensions
        self._local = local
        self._vectors = vectors

    async def embed(self, texts: Sequence[str]) -> Embedded:
        if all(t in self._vectors for t in texts):
            return Embedded(np.stack([self._vectors[t] for t in texts]))
        return await self._local.embed(texts)

    async def warm(self) -> None:
        await self._local.warm()

    async def aclose(self) -> None:
        return None


class PrecomputedInContext(Precomputed):
    """The same, reading a rebuilt question's words in context as the local embedder does (the
    cache asks for word vectors only of an embedder that has them)."""

    async def word_vectors(self, text: str) -> list[tuple[str, np.ndarray]]:
        return await self._local.word_vectors(text)


def variant(*, threads: int = 1, int8: bool = True,
            level: ort.GraphOptimizationLevel = ort.GraphOptimizationLevel.ORT_ENABLE_ALL) -> LocalEmbedder:
    """The local embedder with other session options (``int8=False``: the shipped graph unchanged)."""
    other = LocalEmbedder()
    other.embed_now(["load the tokenizer"])
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    options.graph_optimization_level = level
    options.log_severity_level = 3
    # Pool threads that spin after a call would bill their spinning to the next session's timing.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    graph = dynamic_int8(_model_path()) if int8 else str(_model_path())
    other._session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
    return other


def embedding_report(local: LocalEmbedder, texts: list[str]) -> None:
    """Wall-clock and CPU milliseconds per question, the shipped settings against the others."""
    basic = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    embedders = {"shipped: int8, 1 thread, basic optimisation": local,
                 "int8, 1 thread, every optimisation": variant(),
                 "int8, 2 threads (no spinning), basic optimisation": variant(threads=2, level=basic),
                 "float graph, 1 thread, every optimisation": variant(int8=False)}
    before = Path("/proc/loadavg").read_text().split()[:3]
    wall, cpu = embedding_times(list(embedders.values()), texts)
    after = Path("/proc/loadavg").read_text().split()[:3]
    tokens = [float(len(local._tokenizer.encode(t).ids)) for t in texts]
    print(f"local embedding of one question ({len(texts)} questions, {pct(tokens, 0.5):.0f} tokens p50; "
          f"{os.cpu_count()} cores, load average {' '.join(before)} before, {' '.join(after)} after)\n")
    print("| session | wall p50 | wall p95 | CPU p50 | CPU p95 |")
    print("|---|---|---|---|---|")
    for k, name in enumerate(embedders):
        print(f"| {name} | {pct(wall[k], 0.5):.2f} ms | {pct(wall[k], 0.95):.2f} ms | "
              f"{pct(cpu[k], 0.5):.2f} ms | {pct(cpu[k], 0.95):.2f} ms |")
    print()


def embedding_times(embedders: Sequence[LocalEmbedder], texts: list[str]
                    ) -> tuple[list[list[float]], list[list[float]]]:
    """Milliseconds per text for each embedder, taking turns text by text: wall-clock, and the
    process's CPU time (every onnxruntime thread's; nothing else runs meanwhile), which a loaded
    machine stretches far less than the wall-clock."""
    wall: list[list[float]] = [[] for _ in embedders]
    cpu: list[list[float]] = [[] for _ in embedders]
    for i, text in enumerate(texts):
        order = range(len(embedders)) if i % 2 == 0 else reversed(range(len(embedders)))
        for k in order:
            start, start_cpu = time.perf_counter(), time.process_time()
            embedders[k].embed_now([text])
            wall[k].append((time.perf_counter() - start) * 1000)
            cpu[k].append((time.process_time() - start_cpu) * 1000)
    return wall, cpu


def rss_mb() -> float:
    """The process's resident set now (not its peak)."""
    gc.collect()
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 1e6


def entry_vectors(size: int, base: np.ndarray) -> np.ndarray:
    """The questions' vectors, then neighbours of them (as other users might ask) up to ``size``."""
    rng = np.random.default_rng(size)
    vectors = base[np.arange(size) % len(base)].copy()
    vectors[len(base):] += rng.normal(0, 0.02, vectors[len(base):].shape).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def fill(path: Path, questions: list[str], vectors: np.ndarray, embedder: str) -> None:
    """Write one entry per vector into a fresh cache file."""
    rows = []
    now = time.time()
    key = SCOPE.key(embedder)
    for i, vector in enumerate(vectors):
        base = i % len(questions)
        value = f'{{"content":"answer {i}"}}'.encode()
        blob = vector.astype("<f4").tobytes()
        size_ = len(value) + len(blob)
        rows.append((key, embedder, questions[base], blob, value, size_, now, now + 86400, now))
    with sqlite3.connect(path) as conn:
        conn.executemany("INSERT INTO entries (scope, embedder, question, vector, value, size, stored_at,"
                         " expires_at, last_used) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def shortlist_recall(entries: np.ndarray, queries: np.ndarray) -> str:
    """How often the index's best candidate scores within 0.01 of the exact float32 best, over
    the queries whose exact best reaches 0.80 (the ones a threshold could serve)."""
    index = VectorIndex(entries.shape[1])
    index.add(np.arange(len(entries)), entries, np.full(len(entries), np.inf))
    exact = queries @ entries.T
    wanted = [i for i in range(len(queries)) if exact[i].max() >= 0.80]
    found = sum(index.search(queries[i], now=0)[0][1] >= exact[i].max() - 0.01 for i in wanted)
    return f"{found}/{len(wanted)}"


async def timed_lookups(cache: SemanticCache, queries: list[str]) -> tuple[list[float], int]:
    times, hits = [], 0
    for query in queries:
        start = time.perf_counter()
        found = await cache.lookup(SCOPE, query)
        times.append((time.perf_counter() - start) * 1000)
        hits += found.hit is not None
    return times, hits


async def main(sizes: list[int], lookups: int) -> None:
    pairs = load_questions()
    stored = list(dict.fromkeys(p["a"] for p in pairs))
    queries = [p["b"] for p in pairs][:lookups]
    local = LocalEmbedder()
    texts = list(dict.fromkeys(stored + queries))
    mended = [gates.embedding_text(t) for t in texts]
    vectors = dict(zip(mended, local.embed_now(mended), strict=True))
    base = np.stack([vectors[gates.embedding_text(q)] for q in stored])
    query_vectors = np.stack([vectors[gates.embedding_text(q)] for q in queries])
    gates.embedding_text("warm up the spelling index")
    embedding_report(local, [gates.embedding_text(q) for q in queries])
    if not sizes:
        await local.aclose()
        return
    print("| entries | load (restart) | lookup p50 / p95, embedding included | p50 / p95 without embedding "
          "| the same, words not read in context | hits | index arrays | RSS growth | best found |")
    print("|---|---|---|---|---|---|---|---|---|")
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / FILE_NAME
            SemanticCache.at(path, local, threshold=THRESHOLD, ttl_s=86400, max_bytes=10**10)  # the schema
            entries = entry_vectors(size, base)
            fill(path, stored, entries, local.name)
            recall = shortlist_recall(entries, query_vectors)
            before = rss_mb()
            cache = SemanticCache.at(path, local, threshold=THRESHOLD, ttl_s=86400, max_bytes=10**10)
            start = time.perf_counter()
            await cache.warm()  # what a restarted server does before its first lookup
            load_s = time.perf_counter() - start
            grown = rss_mb() - before
            full, hits = await timed_lookups(cache, queries)
            memory = (await cache.stats()).memory_bytes
            await cache.close()
            quick, lexical = [], []
            for kind, times in ((PrecomputedInContext, quick), (Precomputed, lexical)):
                bare = SemanticCache.at(path, kind(local, vectors), threshold=THRESHOLD, ttl_s=86400,
                                        max_bytes=10**10)
                await timed_lookups(bare, queries)  # the word vectors the gates use, embedded once
                times += (await timed_lookups(bare, queries))[0]
                await bare.close()
        print(f"| {size:,} | {load_s:.2f} s | {pct(full, 0.5):.2f} / {pct(full, 0.95):.2f} ms | "
              f"{pct(quick, 0.5):.2f} / {pct(quick, 0.95):.2f} ms | "
              f"{pct(lexical, 0.5):.2f} / {pct(lexical, 0.95):.2f} ms | {hits}/{len(queries)} | "
              f"{memory / size * 100_000 / 1e6:.1f} MB per 100k | {grown:.0f} MB | {recall} |")
    await local.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--lookups", type=int, default=300)
    parser.add_argument("--embedding-only", action="store_true", help="time the embedding alone")
    args = parser.parse_args()
    asyncio.run(main([] if args.embedding_only else [int(s) for s in args.sizes.split(",")], args.lookups))
