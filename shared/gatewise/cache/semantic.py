"""The semantic cache: answers to questions that mean the same, within one scope, never across.

A lookup embeds the new question, searches the entries of the same :class:`Scope` (same server,
model set, generation parameters, system prompt, turns by place and role, project, and embedder),
and serves the best candidate only when its exact cosine clears the threshold **and** every safety
gate in :mod:`gatewise.cache.gates` passes **and** each earlier turn that reads otherwise is a
paraphrase of the one at its place by the same two tests (a reworded conversation may hit; another
conversation never does). Anything in doubt is a miss: a miss costs one upstream call, a wrong
hit costs the user a wrong answer.

Entries live in ``semantic.sqlite3`` beside the exact cache (question, float32 vector, embedder
name, earlier turns, JSON value) and in memory as one :class:`VectorIndex` per scope. Several
processes may share the file: before each search a process loads the rows other processes added
(ids past the last it saw) and drops the ones they deleted (a log filled by a trigger), and only
when SQLite's ``data_version`` says another connection wrote. Entries expire after ``ttl_s``; past
``max_bytes`` the least recently used go first.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from gatewise.cache import gates, in_context, verbatim
from gatewise.cache.embedders import Embedder, EmbedderError, WordEmbedder, make_embedder
from gatewise.cache.keys import cache_key
from gatewise.cache.response import OWNER_COLUMNS, OWNER_INDEX
from gatewise.cache.sqlite_db import DbThread, FileSchema, evict_lru, in_transaction, totals_schema
from gatewise.cache.vector_index import VectorIndex
from gatewise.errors import GatewiseError

if TYPE_CHECKING:
    from collections.abc import Callable

    from gatewise.catalog import Catalog
    from gatewise.config import Settings
    from gatewise.upstream.openrouter import OpenRouterClient

log = logging.getLogger(__name__)

FILE_NAME = "semantic.sqlite3"
# Long prompts are documents, where one changed sentence matters and the embedding window ends.
MAX_QUESTION_CHARS = 1000
# Two words stand for each other only this close (buy/purchase, kids/children; not fix/repair).
SYNONYM_COSINE = 0.8
# A rewording whose common words differ is served only this close (or the threshold, if higher):
# the words no longer vouch for it, so the embedding must, with a margin over the default
# ("What's the capital of Austria?" / "Austria's population is what?" are 0.73 apart).
REWORDED_COSINE = 0.75
# A rebuilt question whose every differing word has a partner read in context needs no margin:
# the partners vouch for the words ("trim my dog's nails" / "clip a dog's claws", 0.74). Checked on
# every bench set: from 0.75 down to 0.70 it served 11 more paraphrases and no trap.
PARTNERED_COSINE = 0.70
# Candidates ranked by the approximate index; each is confirmed with its exact stored vector.
_CANDIDATES = 4
_APPROX_SLACK = 0.02
# The index's approximate cosine at or above which a stored vector may be the new entry's own.
_SAME_VECTOR = 1.0 - _APPROX_SLACK
_REMOVED_LOG_KEEP = 50_000
_MEMO = 4096
# Questions kept read in context: up to 256 words of 384 floats each, so a few megabytes at most.
_WORD_MEMO = 16
_LOAD_BATCH = 4096
# Conversations that share a frame share an index, so a follow-up ("yes, do that") may rank
# several other conversations' turns first: more candidates are read before giving up.
_CONVERSATION_CANDIDATES = 16
# Earlier turns compared by meaning at most; a longer differing history is another conversation.
MAX_DIFFERING_TURNS = 4
# Candidates per lookup whose reworded history is compared by meaning; the rest are misses.
_REWORDED_HISTORIES = 4
# The earlier turns' words, compared by meaning with the new conversation's (scope keys the rest).
HISTORY_COLUMN = ("ALTER TABLE entries ADD COLUMN history TEXT NOT NULL DEFAULT '[]'",)

SCHEMA = FileSchema((
    """CREATE TABLE IF NOT EXISTS entries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        scope TEXT NOT NULL,
        embedder TEXT NOT NULL,
        question TEXT NOT NULL,
        vector BLOB NOT NULL,
        value BLOB NOT NULL,
        size INTEGER NOT NULL,
        stored_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        last_used REAL NOT NULL,
        namespace TEXT NOT NULL DEFAULT '',
        project TEXT,
        history TEXT NOT NULL DEFAULT '[]'
    )""",
    "CREATE INDEX IF NOT EXISTS entries_last_used ON entries (last_used)",
    "CREATE INDEX IF NOT EXISTS entries_expires_at ON entries (expires_at)",
    # The scope's namespace and project in the clear (``scope`` is a hash), to count and clear by.
    OWNER_INDEX,
    # Every deletion, whoever makes it, so other processes can drop it from their memory.
    "CREATE TABLE IF NOT EXISTS removed (seq INTEGER PRIMARY KEY AUTOINCREMENT, entry_id INTEGER NOT NULL)",
    *totals_schema("INSERT INTO removed (entry_id) VALUES (OLD.id);"),
    # Upstream embeddings by embedder and text (sha256), for embedding_cache.ttl_seconds.
    """CREATE TABLE IF NOT EXISTS embeddings (
        key TEXT PRIMARY KEY,
        vector BLOB NOT NULL,
        expires_at REAL NOT NULL
    ) WITHOUT ROWID""",
), version=3, upgrades={2: OWNER_COLUMNS, 3: HISTORY_COLUMN})


@dataclass(frozen=True, slots=True)
class Scope:
    """Everything besides the question's wording that the answer depends on. Lookups never cross
    scopes; the cache adds the embedder's name itself."""

    namespace: str  # the server and tool
    models: tuple[str, ...]  # the model set or task tier the answer may come from
    params: Mapping[str, Any] = field(default_factory=dict)  # generation parameters
    context: Sequence[Any] = ()  # the system prompt and earlier turns, as sent
    project: str | None = None
    asker: str | None = None  # the question's speaker's name: "What is my name?" is alice's or bob's

    def key(self, embedder: str) -> str:
        """The hash of everything that must be equal: the earlier turns count by their place and
        role only, as :meth:`history` holds their words, compared by meaning at lookup."""
        # a plain turn's speaker's name counts: alice's earlier turn is not bob's
        frame = [(turn["role"] if "name" not in turn else [turn["role"], turn["name"]])
                 if _is_plain_turn(turn) else _as_read(turn) for turn in self.context]
        # (an unnamed question's key is as it was before the speaker counted)
        speaker = {} if self.asker is None else {"asker": self.asker}
        return cache_key("semantic:" + self.namespace, {
            "models": list(self.models), "params": dict(self.params), "context": frame,
            "project": self.project, "embedder": embedder, **speaker})

    def history(self) -> tuple[str, ...]:
        """The words of the earlier user and assistant turns, in order (system prompts, tool turns
        and turns with other parts are in the key, as read)."""
        return tuple(str(turn["content"]) for turn in self.context if _is_plain_turn(turn))


def _is_plain_turn(turn: Any) -> bool:
    """An earlier user or assistant turn of plain text and nothing else."""
    return (isinstance(turn, Mapping) and turn.get("role") in ("user", "assistant")
            and isinstance(turn.get("content"), str) and set(turn) <= {"role", "content", "name"})


def _as_read(value: Any) -> Any:
    """The text of a system prompt or earlier turn as a reader takes it: a sentence's first
    capital, runs of whitespace and a closing full stop or exclamation mark make no other
    conversation ("Cancel it." and "cancel  it"); code, quoted spans and other capitals do
    (:func:`verbatim.folded`)."""
    if isinstance(value, str):
        return verbatim.folded(value)
    if isinstance(value, Mapping):
        return {k: _as_read(v) if k in ("content", "text") else v for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_as_read(item) for item in value]
    return value


@dataclass(frozen=True, slots=True)
class SemanticHit:
    value: dict[str, Any]
    similarity: float
    age_s: float
    question: str  # the cached question this answer was given to


@dataclass(frozen=True, slots=True)
class SemanticLookup:
    """A lookup's outcome: the hit (or None), what embedding the question cost upstream, and why
    the closest candidate was not served (``similarity`` or a gate's name), for stats and, in
    words, for an explained answer."""

    hit: SemanticHit | None
    cost_usd: float = 0.0
    refused: str | None = None

    @property
    def why_not_served(self) -> str:
        """``refused`` in a caller's words."""
        return _NOT_SERVED.get(self.refused, str(self.refused))


# Why a lookup served nothing, by what refused the closest stored question: a gate of
# gatewise.cache.gates.compare, or the lookup's own reasons.
_NOT_SERVED = {
    None: "no stored question in this scope reaches the similarity threshold",
    "similarity": "the closest stored question is under the similarity threshold",
    "value": "the closest stored question has other numbers, amounts, dates, ids or codes",
    "negation": "the closest stored question is negated where this one is not, or the other way",
    "polarity": "the closest stored question takes the other side of an opposite pair (enable/disable, "
                "before/after...)",
    "question": "the closest stored question asks for another kind of answer (who, where, when, why)",
    "role": "the closest stored question has words swapped across a direction word (from/to), or "
            "speaks of another person (he/she)",
    "tense": "the closest stored question asks about another time (is/was)",
    "name": "the closest stored question names something this one does not",
    "rare_word": "the closest stored question differs in an uncommon word",
    "verbatim": "the closest stored question quotes or capitalises something otherwise (a quoted span, "
                "inline code and a word's capitals must match as written)",
    "content": "the closest stored question differs in a word with no synonym in this one",
    "history": "the closest stored question was asked in another conversation",
    "age": "the closest stored question's answer is older than max_age_s",
    "embedder": "the embedder failed, so nothing was looked up",
}


@dataclass(frozen=True, slots=True)
class SemanticStats:
    """``entries`` and ``bytes`` describe the shared file; the counters only this instance."""

    entries: int
    bytes: int
    hits: int
    misses: int
    refused: dict[str, int]
    evictions: int
    memory_bytes: int


def request_is_cacheable(request: Mapping[str, Any]) -> str | None:
    """None when a chat request may be answered from the semantic cache, else the reason not.

    Tools (offered, called or answered), images, audio, files and ``response_format`` make an
    answer depend on more than the question's wording. (A sampled call is left out of both caches
    before this, unless its caller opted in: ``Call.skips_cache``.)"""
    for name in ("tools", "functions", "tool_choice", "response_format"):
        if request.get(name):
            return name
    if (request.get("n") or 1) > 1:
        return "n"
    messages = request.get("messages") or []
    if not messages or messages[-1].get("role") != "user":
        return "last turn is not the user's"
    for message in messages:
        content = message.get("content")
        if isinstance(content, list) and any(part.get("type") != "text" for part in content):
            return "images"
        if message.get("tool_calls") or message.get("role") == "tool":
            return "tools"
    return None


def last_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    content = messages[-1].get("content") or ""
    if isinstance(content, list):
        return "\n".join(part.get("text", "") for part in content)
    return str(content)


class SqliteEmbeddingMemo:
    """Upstream vectors by embedder and text, in the semantic cache's file, for ``ttl_s``."""

    def __init__(self, db: DbThread, ttl_s: float, clock: Callable[[], float]) -> None:
        self._db, self._ttl_s, self._clock = db, ttl_s, clock

    async def recall(self, embedder: str, texts: Sequence[str]) -> list[np.ndarray | None]:
        keys = [_text_key(embedder, t) for t in texts]
        found = await self._db.run(self._recall, keys)
        return [None if (blob := found.get(k)) is None else np.frombuffer(blob, "<f4").copy() for k in keys]

    async def remember(self, embedder: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        if self._ttl_s <= 0:
            return
        rows = [(_text_key(embedder, text), vector.astype("<f4").tobytes())
                for text, vector in zip(texts, vectors, strict=True)]
        await self._db.run(self._remember, rows)

    def _recall(self, keys: list[str]) -> dict[str, bytes]:
        marks = ",".join("?" * len(keys))
        rows = self._db.conn.execute(
            f"SELECT key, vector FROM embeddings WHERE key IN ({marks}) AND expires_at > ?",
            (*keys, self._clock())).fetchall()
        return dict(rows)

    def _remember(self, rows: list[tuple[str, bytes]]) -> None:
        now = self._clock()
        conn = self._db.conn
        in_transaction(conn, lambda: (
            conn.executemany("INSERT OR REPLACE INTO embeddings (key, vector, expires_at) VALUES (?, ?, ?)",
                             [(k, v, now + self._ttl_s) for k, v in rows]),
            conn.execute("DELETE FROM embeddings WHERE expires_at <= ?", (now,))))


def configured(settings: Settings, catalog: Catalog | None) -> tuple[str, dict[str, Any]]:
    """The embedding model and the cache's options that ``caching.semantic_cache`` and
    ``caching.embedding_cache`` give, whichever store holds the entries."""
    semantic, embedding = settings.caching.semantic_cache, settings.caching.embedding_cache
    model, cost_of = embedding.model, None
    if catalog is not None:
        model = catalog.resolve(model) or model
        cost_of = lambda model_id, tokens: catalog.cost_of(model_id, tokens, 0)  # noqa: E731
    return model, {"threshold": semantic.similarity_threshold, "ttl_s": semantic.ttl_seconds,
                   "max_bytes": semantic.max_cache_size, "embedding_ttl_s": embedding.ttl_seconds,
                   "dimensions": embedding.dimensions, "cost_of": cost_of}


def _text_key(embedder: str, text: str) -> str:
    return cache_key("embedding", {"embedder": embedder, "text": text})


class SemanticCache:
    """Entries in a SQLite file (``db``); ``PostgresSemanticCache`` (gatewise.storage.postgres)
    keeps them in the shared database instead (``db`` None), overriding the storage methods."""

    def __init__(self, db: DbThread | None, embedder: Embedder, *, threshold: float, ttl_s: float,
                 max_bytes: int, clock: Callable[[], float] = time.time, owns_embedder: bool = False) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        self._file = db
        self.embedder = embedder
        self._owns_embedder = owns_embedder  # closed with the cache; a caller's stays the caller's
        self.threshold = threshold
        self.ttl_s = ttl_s
        self.max_bytes = max_bytes
        self._clock = clock
        # Touched only on the database thread.
        self._indexes: dict[str, VectorIndex] = {}
        self._scope_of: dict[int, str] = {}
        self._last_id = 0
        self._last_removed = 0
        self._loaded = False
        self._data_version: int | None = None
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()  # word and turn vectors
        self._word_memo: OrderedDict[str, in_context.WordVectors] = OrderedDict()
        self._last: tuple[str, np.ndarray] | None = None
        self._hits = self._misses = self._evictions = 0
        self._refused: Counter[str] = Counter()

    @classmethod
    def at(cls, path: Path | str, embedder: Embedder | str = "local", *, threshold: float, ttl_s: float,
           max_bytes: int, embedding_ttl_s: float = 86400, client: OpenRouterClient | None = None,
           dimensions: int | None = None, cost_of: Callable[[str, int], float] | None = None,
           clock: Callable[[], float] = time.time) -> SemanticCache:
        path = Path(path)
        db = DbThread(path, f"the semantic cache at {path}", SCHEMA)
        owns = isinstance(embedder, str)
        if isinstance(embedder, str):
            memo = SqliteEmbeddingMemo(db, embedding_ttl_s, clock)
            embedder = make_embedder(embedder, client=client, memo=memo, dimensions=dimensions,
                                     cost_of=cost_of)
        return cls(db, embedder, threshold=threshold, ttl_s=ttl_s, max_bytes=max_bytes, clock=clock,
                   owns_embedder=owns)

    @classmethod
    def open(cls, settings: Settings, data_dir: Path | None = None, *, client: OpenRouterClient | None = None,
             catalog: Catalog | None = None) -> SemanticCache:
        """The cache ``caching.semantic_cache`` and ``caching.embedding_cache`` describe. An upstream
        embedding model needs ``client``; ``catalog`` turns a short name (``text-embedding-3-large``)
        into its id and prices calls whose answer carries no cost."""
        model, options = configured(settings, catalog)
        return cls.at((data_dir or settings.data_dir) / FILE_NAME, model, client=client, **options)

    # The public surface.

    async def lookup(self, scope: Scope, question: str, *, max_age_s: float | None = None) -> SemanticLookup:
        """The best live answer in ``scope`` to a question that means the same as ``question``."""
        if not _fits(question):
            self._misses += 1
            return SemanticLookup(None)
        embedded = await self._embed(question, reuse=False)
        if embedded is None:
            self._misses += 1
            self._refused["embedder"] += 1
            return SemanticLookup(None, refused="embedder")
        vector, cost = embedded
        history = scope.history()
        limit = _CONVERSATION_CANDIDATES if history else _CANDIDATES
        candidates = await self._find(scope.key(self.embedder.name), vector, limit)
        now = self._clock()
        refused: str | None = None
        reworded_histories = 0
        by_place = bool(history) and gates.refers_by_place(question)  # read once for every candidate
        for rank, row in enumerate(candidates):
            similarity = float(np.dot(row.vector, vector))
            if similarity < self.threshold:
                refused = refused or "similarity"
                continue
            if not row.fresh(now, max_age_s):
                refused = refused or "age"
                continue
            # Read in context (a model run per question) for the best-ranked candidates only.
            gate, word_cost = await self.judge(row.question, question, similarity,
                                               in_context=rank < _CANDIDATES)
            cost += word_cost
            differing = _differing_turns(row.history, history) if gate is None else []
            if gate is None and (len(row.history) != len(history)
                                 or not _lexically_alike(differing, by_place)):
                gate = "history"
            elif differing:
                # Bounded: each such check embeds up to 2 * MAX_DIFFERING_TURNS turns.
                reworded_histories += 1
                gate, turn_cost = ("history", 0.0) if reworded_histories > _REWORDED_HISTORIES \
                    else await self.same_history(row.history, history, by_place=by_place)
                cost += turn_cost
            if gate is not None:
                refused = refused or gate
                continue
            await self._use(row.entry_id)
            self._hits += 1
            age = max(0.0, self._clock() - row.stored_at)
            return SemanticLookup(SemanticHit(row.value, similarity, age, row.question), cost)
        self._misses += 1
        if refused is not None:
            self._refused[refused] += 1
        return SemanticLookup(None, cost, refused)

    async def store(self, scope: Scope, question: str, value: dict[str, Any], *,
                    ttl_s: float | None = None) -> float:
        """Keep ``value`` as the answer to ``question`` in ``scope``; returns what embedding the
        question cost upstream (nothing when it was just looked up)."""
        ttl_s = self.ttl_s if ttl_s is None else ttl_s
        if not _fits(question) or ttl_s <= 0:
            self._check_open()
            return 0.0
        blob = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
        embedded = await self._embed(question, reuse=True)
        if embedded is None:
            return 0.0
        vector, cost = embedded
        entry = _Entry.of(scope, self.embedder.name, question, vector, blob)
        if entry.size <= self.max_bytes:
            await self._keep(entry, ttl_s)
        return cost

    async def _embed(self, question: str, *, reuse: bool) -> tuple[np.ndarray, float] | None:
        """The question's vector and its upstream cost, or None when the embedder failed: the
        cache then steps aside (a miss, nothing stored) rather than failing the call. A store
        (``reuse``) takes the vector of the lookup just before it, so storing the answer after a
        miss embeds nothing again."""
        text = gates.embedding_text(question)
        last, self._last = self._last, None
        if reuse and last is not None and last[0] == text:
            return last[1], 0.0
        try:
            embedded = await self.embedder.embed([text])
        except (EmbedderError, GatewiseError) as exc:
            log.warning("semantic cache skipped: %s could not embed the question: %s",
                        self.embedder.name, exc)
            return None
        if not reuse:
            self._last = (text, embedded.vectors[0])
        return embedded.vectors[0], embedded.cost_usd

    async def warm(self) -> None:
        """Load the entries into memory and the embedder's model now (a server does this in the
        background at start-up) rather than on the first lookup."""
        await self._load_entries()
        await self.embedder.warm()

    async def _load_entries(self) -> None:
        await self._db.run(self._sync)

    async def clear(self) -> None:
        def clear() -> None:
            self._db.conn.execute("DELETE FROM entries")
            self._apply_removals()

        await self._db.run(clear)

    async def stats(self) -> SemanticStats:
        entries, size, memory = await self._db.run(self._totals)
        return SemanticStats(entries, size, self._hits, self._misses, dict(self._refused), self._evictions,
                             memory)

    async def close(self) -> None:
        await self._db.close()
        if self._owns_embedder:
            await self.embedder.aclose()

    async def judge(self, cached_question: str, new_question: str, similarity: float, *,
                    in_context: bool = True) -> tuple[str | None, float]:
        """Whether the answer to ``cached_question`` may stand for ``new_question``, whose
        embeddings are ``similarity`` apart, once the similarity threshold is met: None, or the
        name of the gate that refused; and what embedding words cost upstream. A rewording (see
        :func:`gates.compare`) may differ in common words when the embeddings agree closely
        (``REWORDED_COSINE``); otherwise every differing word needs a near-synonym, or, with
        ``in_context``, a partner in the other sentence read in context."""
        verdict = gates.compare(*gates.analyse_pair(cached_question, new_question))
        refused, cost = verdict.refused, 0.0
        if refused is None:
            if verdict.reworded and similarity >= REWORDED_COSINE:
                return None, cost
            if not verdict.unmatched_cached and not verdict.unmatched_new:
                return None, cost
            if verdict.unmatched_cached and verdict.unmatched_new:
                near, cost = await self._synonyms(verdict)
                if near:
                    return None, cost
            refused = "content"
        if in_context and await self._partnered(refused, verdict, cached_question, new_question, similarity):
            return None, cost
        return refused, cost

    async def _partnered(self, refused: str, verdict: gates.LexicalVerdict, cached_question: str,
                         new_question: str, similarity: float) -> bool:
        """Whether a rebuilt question that the content or rare-word gate refused agrees closely as
        a whole (``PARTNERED_COSINE``) and each word that refused has a partner in the other
        sentence read in context, as close as :func:`in_context.partner_bound` asks."""
        if refused not in ("content", "rare_word") or not verdict.rebuilt or similarity < PARTNERED_COSINE \
                or gates.names_a_meaning(verdict.unmatched_cached | verdict.unmatched_new):
            return False
        weakest = await self.weakest_partner(verdict, cached_question, new_question)
        return weakest >= in_context.partner_bound(similarity)

    async def weakest_partner(self, verdict: gates.LexicalVerdict, cached_question: str,
                              new_question: str) -> float:
        """How close the least partnered of the words that tell two questions apart comes to a word
        of the other question, read in context (:func:`in_context.weakest_partner`): -1 with an
        embedder that gives no word vectors (only the local model does) or a question too long to
        be read this way."""
        if not self.reads_in_context or max(len(cached_question), len(new_question)) > in_context.MAX_CHARS:
            return -1.0
        cached_words = await self._words(cached_question)
        new_words = await self._words(new_question)
        return min(in_context.weakest_partner(verdict.unmatched_cached, cached_words, new_words),
                   in_context.weakest_partner(verdict.unmatched_new, new_words, cached_words))

    @property
    def reads_in_context(self) -> bool:
        """Whether a rebuilt question's differing words can be read in context: only the local
        model gives word vectors."""
        return isinstance(self.embedder, WordEmbedder)

    async def _words(self, question: str) -> in_context.WordVectors:
        """A question's words in context, read as it is embedded: with the expressions the gates
        rewrite already rewritten ("I can't remember my PIN" as "I forgot my PIN"), so that each
        word the gates compare is found in its sentence; a stored question is read again for each
        new one that reaches this check, so the last few are kept."""
        text = gates.embedding_text(question)
        if text not in self._word_memo:
            self._word_memo[text] = await cast(WordEmbedder, self.embedder).word_vectors(text)
            while len(self._word_memo) > _WORD_MEMO:
                self._word_memo.popitem(last=False)
        self._word_memo.move_to_end(text)
        return self._word_memo[text]

    async def same_history(self, cached: Sequence[str], new: Sequence[str], *,
                           by_place: bool = True) -> tuple[str | None, float]:
        """Whether the conversation before the cached question is the new one's, reworded: None,
        or ``history``; and what embedding the turns cost upstream. The scope key already holds
        both to the same turns by place and role, so each turn is compared with the one at its
        place: the same as read, or close by cosine **and** passing every gate, as a question
        would, and, when the question picks something out by its place (``by_place``), with the
        words both have in the same order (after options offered in another order, "the first
        one" asks for the other). "I'm on the £32 plan" and "my plan is £32 a month" may be one
        conversation; the £26 and £45 plans, or a freeze and a cancellation offered, are two."""
        if len(cached) != len(new):
            return "history", 0.0
        differing = _differing_turns(cached, new)
        if not differing:
            return None, 0.0
        if not _lexically_alike(differing, by_place):
            return "history", 0.0
        texts = [gates.embedding_text(turn) for pair in differing for turn in pair]
        vectors, cost = await self._memo_vectors(texts)
        for i, (a, b) in enumerate(differing):
            similarity = float(np.dot(vectors[2 * i], vectors[2 * i + 1]))
            if similarity < self.threshold:
                return "history", cost
            # Lexical verdicts only: a lookup may compare up to 16 pairs of turns, a model run each.
            gate, word_cost = await self.judge(a, b, similarity, in_context=False)
            cost += word_cost
            if gate is not None:
                return "history", cost
        return None, cost

    async def _synonyms(self, verdict: gates.LexicalVerdict) -> tuple[bool, float]:
        """Whether every unmatched common word has a near-synonym among the other side's, and
        what embedding the words cost upstream."""
        a, b = sorted(verdict.unmatched_cached), sorted(verdict.unmatched_new)
        if not a and not b:
            return True, 0.0
        vectors, cost = await self._memo_vectors([*a, *b])
        sims = vectors[:len(a)] @ vectors[len(a):].T
        ok = (sims.max(axis=1) >= SYNONYM_COSINE).all() and (sims.max(axis=0) >= SYNONYM_COSINE).all()
        return bool(ok), cost

    async def _memo_vectors(self, texts: list[str]) -> tuple[np.ndarray, float]:
        """The vectors of ``texts`` (words or earlier turns, compared again and again), embedding
        only those not remembered; and what embedding them cost upstream."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._memo]
        cost = 0.0
        if missing:
            embedded = await self.embedder.embed(missing)
            cost = embedded.cost_usd
            for text, vector in zip(missing, embedded.vectors, strict=True):
                self._memo[text] = vector
        vectors = np.array([self._memo[t] for t in texts])
        while len(self._memo) > _MEMO:
            self._memo.popitem(last=False)
        return vectors, cost

    # Storage: the SQLite file's, through its thread; the PostgreSQL cache overrides these.

    @property
    def _db(self) -> DbThread:
        if self._file is None:
            raise TypeError("this semantic cache keeps no file")
        return self._file

    def _check_open(self) -> None:
        self._db.check_open()

    async def _find(self, scope: str, vector: np.ndarray, limit: int) -> list[_Row]:
        return await self._db.run(self._candidates, scope, vector, limit)

    async def _use(self, entry_id: int) -> None:
        await self._db.run(self._touch, entry_id)

    async def _keep(self, entry: _Entry, ttl_s: float) -> None:
        await self._db.run(self._put, entry, ttl_s)

    # The in-memory indexes, whichever store holds the entries.

    def _shortlist(self, scope: str, vector: np.ndarray, limit: int, *,
                   floor: float | None = None) -> list[int]:
        """The ids the approximate index ranks close enough to be worth reading (``floor``: just
        under the threshold unless given), best first."""
        index = self._indexes.get(scope)
        if index is None:
            return []
        floor = self.threshold - _APPROX_SLACK if floor is None else floor
        return [entry_id for entry_id, approx in index.search(vector, now=self._clock(), limit=limit)
                if approx >= floor]

    def _load(self, batch: Sequence[tuple[int, str, bytes, float]]) -> None:
        """Index stored entries (id, scope, vector, expires_at); expired ones are left out."""
        now = self._clock()
        by_scope: dict[str, list[tuple[int, bytes, float]]] = {}
        for entry_id, scope, blob, expires_at in batch:
            if expires_at > now:
                by_scope.setdefault(scope, []).append((entry_id, bytes(blob), expires_at))
        for scope, items in by_scope.items():
            ids = np.array([i for i, _, _ in items], dtype=np.int64)
            vectors = np.frombuffer(b"".join(b for _, b, _ in items), "<f4").reshape(len(items), -1)
            self._index(scope, vectors.shape[1]).add(ids, vectors, np.array([e for _, _, e in items]))
            self._scope_of.update(dict.fromkeys(ids.tolist(), scope))

    def _rows(self, ids: list[int], found: Sequence[Sequence[Any]]) -> list[_Row]:
        """The shortlisted entries read back (id, question, vector, value, stored_at, history), in
        the shortlist's order; the ids not found are forgotten."""
        by_id = {row[0]: row for row in found}
        rows: list[_Row] = []
        for entry_id in ids:
            columns = by_id.get(entry_id)
            if columns is None:  # deleted or expired since it was indexed
                self._forget(entry_id)
                continue
            rows.append(_Row.read(*columns))
        return rows

    def _reset(self) -> None:
        self._indexes.clear()
        self._scope_of.clear()

    # Everything below runs on the database thread.

    def _candidates(self, scope: str, vector: np.ndarray, limit: int) -> list[_Row]:
        self._sync()
        ids = self._shortlist(scope, vector, limit)
        if not ids:  # a miss reads nothing more
            return []
        found = self._db.conn.execute(
            f"SELECT id, question, vector, value, stored_at, history FROM entries"
            f" WHERE id IN ({','.join('?' * len(ids))}) AND expires_at > ?", (*ids, self._clock())).fetchall()
        return self._rows(ids, found)

    def _touch(self, entry_id: int) -> None:
        self._db.conn.execute("UPDATE entries SET last_used = ? WHERE id = ?", (self._clock(), entry_id))

    def _put(self, entry: _Entry, ttl_s: float) -> None:
        now = self._clock()
        conn = self._db.conn
        self._sync()  # another process may hold this question's answer
        alike = self._same_vector(entry)

        def write() -> tuple[int, list[int], list[int]]:
            replaced = [r[0] for r in conn.execute(
                f"DELETE FROM entries WHERE id IN ({','.join('?' * len(alike))}) AND question = ?"
                " AND history = ? RETURNING id", (*alike, entry.question, entry.history)).fetchall()]
            entry_id = conn.execute(
                "INSERT INTO entries (scope, embedder, question, vector, value, size, stored_at, expires_at,"
                " last_used, namespace, project, history) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " RETURNING id", entry.values(now, ttl_s)).fetchone()[0]
            expired = [r[0] for r in conn.execute(
                "DELETE FROM entries WHERE expires_at <= ? RETURNING id", (now,)).fetchall()]
            return entry_id, replaced, expired + evict_lru(conn, self.max_bytes, "id", entry_id)

        entry_id, replaced, gone = in_transaction(conn, write)
        self._stored(entry, entry_id, now + ttl_s, gone, replaced)

    def _same_vector(self, entry: _Entry) -> list[int]:
        """The entries of the new entry's scope whose vector the index ranks as its own: those that
        may ask the same question, whose answer a new one (after ``force_refresh`` or past a
        caller's ``max_age_s``) replaces, so a rewording is never served the one it replaced."""
        vector = np.frombuffer(entry.vector, "<f4")
        return self._shortlist(entry.scope, vector, _CANDIDATES, floor=_SAME_VECTOR)

    def _stored(self, entry: _Entry, entry_id: int, expires_at: float, gone: Sequence[int],
                replaced: Sequence[int]) -> None:
        """Index the entry just written and forget what its write replaced, expired or evicted."""
        for old in (*replaced, *gone):
            self._forget(old)
        self._evictions += len(gone)
        self._load([(entry_id, entry.scope, entry.vector, expires_at)])

    def _sync(self) -> None:
        """Bring the in-memory indexes up to date with what other processes wrote."""
        conn = self._db.conn
        (version,) = conn.execute("PRAGMA data_version").fetchone()
        if version == self._data_version:
            return
        self._data_version = version
        oldest_log, newest_log = conn.execute(
            "SELECT min(seq), coalesce(max(seq), 0) FROM removed").fetchone()
        if not self._loaded or (oldest_log is not None and oldest_log > self._last_removed + 1):
            # First load, or fell behind the pruned removal log: start again from the file.
            self._reset()
            self._last_id, self._last_removed, self._loaded = 0, newest_log, True
        self._apply_removals()
        fresh = conn.execute("SELECT id, scope, vector, expires_at FROM entries WHERE id > ? ORDER BY id",
                             (self._last_id,))
        # In batches, so a restart with a full cache never holds every blob at once.
        while batch := fresh.fetchmany(_LOAD_BATCH):
            self._last_id = batch[-1][0]
            self._load(batch)
        if self._last_removed > _REMOVED_LOG_KEEP:
            conn.execute("DELETE FROM removed WHERE seq <= ?", (self._last_removed - _REMOVED_LOG_KEEP,))

    def _apply_removals(self) -> None:
        """Forget the entries deleted since the last look at the removal log, by anyone."""
        removed = self._db.conn.execute("SELECT seq, entry_id FROM removed WHERE seq > ? ORDER BY seq",
                                        (self._last_removed,)).fetchall()
        for seq, entry_id in removed:
            self._forget(entry_id)
            self._last_removed = seq

    def _index(self, scope: str, dimensions: int) -> VectorIndex:
        index = self._indexes.get(scope)
        if index is None:
            index = self._indexes[scope] = VectorIndex(dimensions)
        return index

    def _forget(self, entry_id: int) -> None:
        scope = self._scope_of.pop(entry_id, None)
        if scope is not None:
            index = self._indexes[scope]
            index.remove(entry_id)
            if not len(index):
                del self._indexes[scope]

    def _totals(self) -> tuple[int, int, int]:
        conn = self._db.conn
        conn.execute("DELETE FROM entries WHERE expires_at <= ?", (self._clock(),))
        self._apply_removals()
        entries, size = conn.execute("SELECT entries, bytes FROM totals WHERE id = 1").fetchone()
        memory = sum(index.nbytes for index in self._indexes.values())
        return entries, size, memory


@dataclass(frozen=True, slots=True)
class _Row:
    entry_id: int
    question: str
    vector: np.ndarray
    value: dict[str, Any]
    stored_at: float
    history: tuple[str, ...]  # the earlier turns' words

    @classmethod
    def read(cls, entry_id: int, question: str, vector: bytes, value: bytes, stored_at: float,
             history: str) -> _Row:
        """A stored entry's columns (question, vector, value, stored_at, history) as a candidate."""
        return cls(entry_id, question, np.frombuffer(vector, "<f4"), json.loads(bytes(value)), stored_at,
                   tuple(json.loads(history)))

    def fresh(self, now: float, max_age_s: float | None) -> bool:
        return max_age_s is None or self.stored_at >= now - max_age_s


@dataclass(frozen=True, slots=True)
class _Entry:
    """A new entry's columns, ready to store; ``size`` counts every stored byte."""

    scope: str  # the scope's key
    embedder: str
    question: str
    vector: bytes  # float32, little-endian
    value: bytes  # the answer as JSON
    history: str  # the earlier turns' words as JSON
    namespace: str
    project: str | None

    @classmethod
    def of(cls, owner: Scope, embedder: str, question: str, vector: np.ndarray, value: bytes) -> _Entry:
        return cls(owner.key(embedder), embedder, question, vector.astype("<f4").tobytes(), value,
                   json.dumps(owner.history(), ensure_ascii=False), owner.namespace, owner.project)

    @property
    def size(self) -> int:
        return (len(self.value) + len(self.question.encode()) + len(self.vector) + len(self.scope)
                + len(self.history.encode()) + len(self.embedder.encode()) + len(self.namespace.encode())
                + len((self.project or "").encode()))

    def values(self, now: float, ttl_s: float) -> tuple[Any, ...]:
        """(scope, embedder, question, vector, value, size, stored_at, expires_at, last_used,
        namespace, project, history), the order both stores insert them in."""
        return (self.scope, self.embedder, self.question, self.vector, self.value, self.size, now,
                now + ttl_s, now, self.namespace, self.project, self.history)


def _differing_turns(cached: Sequence[str], new: Sequence[str]) -> list[tuple[str, str]]:
    """The earlier turns at the same place that read otherwise, but for two that say nothing
    (:func:`gates.says_nothing`); nothing when the counts differ: that is another conversation,
    which the scope key already keeps apart. Stops one past MAX_DIFFERING_TURNS, which is
    already too many to serve, so a long hostile history is not read turn by turn to the end."""
    if len(cached) != len(new):
        return []
    differing: list[tuple[str, str]] = []
    for a, b in zip(cached, new, strict=True):
        if _as_read(a) != _as_read(b) and not (gates.says_nothing(a) and gates.says_nothing(b)):
            differing.append((a, b))
            if len(differing) > MAX_DIFFERING_TURNS:
                break
    return differing


def _lexically_alike(differing: list[tuple[str, str]], by_place: bool) -> bool:
    """The checks of reworded turns that need no embedding: few enough, short enough, passing
    the lexical gates, and, when the question picks something out by its place (``by_place``:
    "the first one"), with the words both share in the same order. Other conversations (another
    order number, another offer) mostly stop here, before any turn is embedded."""
    if len(differing) > MAX_DIFFERING_TURNS or not all(_fits(a) and _fits(b) for a, b in differing):
        return False
    for a, b in differing:
        cached, new = gates.analyse_pair(a, b)
        if gates.compare(cached, new).refused is not None or (by_place and not gates.same_order(cached, new)):
            return False
    return True


def _fits(question: str) -> bool:
    """A question the semantic cache reads: not empty, no document, and no code or structured
    text, whose every space and sign is its meaning (the exact cache still answers a repeat)."""
    return 0 < len(question.strip()) <= MAX_QUESTION_CHARS and not verbatim.has_block(question)
