"""One tool call on its way through the pipeline: what the tool asked for, and what each stage
found out or decided about it."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, Field

from gatewise.caller import call_project, caller_name
from gatewise.errors import ErrorCode
from gatewise.ledger.records import CacheStatus, CallRecord
from gatewise.routing.policy import Candidate, RoutePlan
from gatewise.upstream.chat import Message

if TYPE_CHECKING:
    from gatewise.cache import ResponseCache
    from gatewise.guardrails.verdict import Verdict
    from gatewise.ledger.budget_store import Reservation
    from gatewise.ledger.store import LedgerStore
    from gatewise.routing.budget import BudgetFit
    from gatewise.routing.engine import BilledFallback, FallbackExecutor, RouteOutcome
    from gatewise.search.forms import SearchOptions
    from gatewise.upstream.openrouter import ChatResult

# The one cache vocabulary of every tool result (and ledger row).
CacheStatusField = Annotated[CacheStatus, Field(description=(
    "hit_exact / hit_semantic: answered from the response cache, at no cost; miss: not in the "
    "cache, answered upstream; refresh: force_refresh skipped the cache and stored the fresh "
    "answer; bypass: the cache was not used (no_cache, temperature > 0 without cache_sampled, caching "
    "off, or a tool that never caches)"))]


@dataclass(slots=True)
class CachePolicy:
    """Whether and how a call may use the response cache."""

    cache: ResponseCache | None = None  # None: this call never touches a cache
    no_cache: bool = False  # neither read nor store
    force_refresh: bool = False  # skip the read, store the fresh answer
    max_age_s: float | None = None  # serve only an answer at most this old
    # A temperature above 0 asks for a fresh sample: such a call neither reads nor stores either
    # cache unless its caller opts in (cache_sampled).
    sampled_ok: bool = False
    ttl_s: float | None = None  # keep the fresh answer this long (default: the cache's TTL)
    # The key covers the messages and generation parameters as sent, and ``key``: what else the
    # answer depends on. A tool whose messages carry more than the request (a search prompt that
    # names today's date) puts the request itself in ``key`` and sets ``by_messages`` off.
    key: dict[str, Any] = field(default_factory=dict)
    by_messages: bool = True
    semantic: SemanticPolicy | None = None  # None: this call never uses the semantic cache


@dataclass(frozen=True, slots=True)
class SemanticPolicy:
    """How a call may use the semantic cache (the answer to a question that means the same).
    The scope is the namespace, ``models``, the generation parameters, ``scope``, the earlier
    turns and system prompt, and the project: a stored answer never crosses any of them."""

    models: tuple[str, ...]  # the model set or task tier the answer may come from
    scope: dict[str, Any] = field(default_factory=dict)  # whatever else the answer depends on


class SemanticMatch(BaseModel):
    """Why an answer from the semantic cache was served."""

    question: str = Field(description="The question the stored answer was given to")
    similarity: float = Field(description="Cosine similarity of the two questions' embeddings (0-1)")
    age_s: float = Field(description="How long ago the answer was stored, in seconds")


SemanticMatchField = Annotated[SemanticMatch | None, Field(description=(
    "Set when cache_status is hit_semantic: the earlier question whose answer this is, how alike "
    "the two read, and its age"))]


R = TypeVar("R", bound=BaseModel)


def new_request_id() -> str:
    """A random (version 4) UUID in hex, as ``uuid.uuid4().hex`` gives it, without building a
    UUID object: a third of its cost, on every call."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # the version
    raw[8] = raw[8] & 0x3F | 0x80  # the RFC 4122 variant
    return raw.hex()


@dataclass(eq=False)
class Call(Generic[R]):
    """A tool call. The tool fills in the request and how to turn an answer into its result;
    the stages fill in the rest as the call passes through."""

    server: str
    tool: str
    messages: list[Message]
    build: Callable[[Call[R]], R]  # the tool's result, once the upstream answered
    params: dict[str, Any] = field(default_factory=dict)  # generation parameters sent with the messages
    candidates: list[Candidate] = field(default_factory=list)  # models to try, in order
    executor: FallbackExecutor | None = None
    cache: CachePolicy = field(default_factory=CachePolicy)
    revive: Callable[[Call[R], dict[str, Any], float], R] | None = None  # from a stored answer and its age
    prepare: Callable[[Call[R]], Awaitable[None]] | None = None  # e.g. read and inline the images
    route: Callable[[Call[R]], None] | None = None  # plans candidates once the caches missed
    budget: BudgetFit | None = None  # set for calls that hold their worst case against budgets
    search: SearchOptions | None = None  # set when the answer searches the web (search fees)
    project: str | None = None
    caller: str | None = None  # who made the call (gatewise.caller), on every ledger row
    task: str | None = None
    portkey_headers: dict[str, str] | None = None
    # What the output guardrails check an answer's grounding against when the tool knows better
    # than the messages (research: its sources); None: the messages and the answer's citations.
    evidence: list[str] | None = None
    # The request's own words when the messages carry more (a search prompt naming today's date):
    # what the semantic cache and the request hash read instead of the messages.
    query: str | None = None
    # Filled in on the way through.
    request_id: str = field(default_factory=new_request_id)
    started: float = field(default_factory=time.perf_counter)
    plan: RoutePlan | None = None
    reservation: Reservation | None = None
    before_billed_fallback: BilledFallback | None = None  # set by the budget stage (see FallbackExecutor.run)
    outcome: RouteOutcome | None = None
    # What every upstream attempt cost, failed ones an upstream billed included: the result's cost.
    upstream_cost_usd: float = 0.0
    cache_status: CacheStatus = "bypass"
    # Why the semantic cache served nothing, when it looked (an explained answer says it).
    semantic_miss: str | None = None
    request_hash: str | None = None  # keyed hash of the request's text, on every ledger row
    warnings: list[str] = field(default_factory=list)
    # What the budgets said of the call (a warn budget passed, an alert crossed): added to the
    # result as it leaves the pipeline, outside the caches, so no stored answer repeats them.
    budget_notes: list[str] = field(default_factory=list)
    checked_input: Verdict | None = None  # the input guardrails' verdict (placeholders to restore)
    checked_output: Verdict | None = None  # the output guardrails' verdict on the answer
    rows: list[CallRecord] = field(default_factory=list)
    result: R | None = None
    ledger: LedgerStore | None = None
    writes: list[asyncio.Future[None]] = field(default_factory=list)
    _held: int | None = field(default=None, repr=False)  # see record(answered=True)

    def __post_init__(self) -> None:
        # An authenticated HTTP caller bound to a project bills every call to it (gatewise.caller).
        self.project = call_project(self.project)
        self.caller = caller_name()

    @property
    def namespace(self) -> str:
        return f"{self.server}:{self.tool}"

    @property
    def max_tokens(self) -> int | None:
        return self.params.get("max_tokens")

    @property
    def skips_cache(self) -> bool:
        """Whether the caches are neither read nor written: ``no_cache``, or a sampled call
        (temperature above 0) whose caller did not opt in to stored answers."""
        temperature = self.params.get("temperature")
        sampled = temperature is not None and temperature > 0 and not self.cache.sampled_ok
        return self.cache.no_cache or sampled

    @property
    def answer(self) -> ChatResult:
        """The upstream's answer (only once the upstream stage has returned)."""
        assert self.outcome is not None and self.outcome.result is not None
        return self.outcome.result

    @property
    def cost_usd(self) -> float:
        return sum(row.cost_usd for row in self.rows)

    def use_plan(self, plan: RoutePlan) -> None:
        self.plan = plan
        self.candidates = list(plan.candidates)

    def elapsed_ms(self) -> float:
        return round((time.perf_counter() - self.started) * 1000, 2)

    def record(self, rows: list[CallRecord], *, answered: bool = False) -> None:
        """Hand ledger rows to the ledger, which commits them within a few milliseconds without
        the call waiting; the ledger stage waits only for the writes the ledger asks it to
        (its backlog full, or a backend that commits every row before answering).

        With ``answered``, the last row is the attempt that answered: it is held back until the
        output checks have judged the answer (the ledger stage hands it over at the end), so an
        answer they block is recorded as such and not as a success."""
        assert self.ledger is not None, "rows are recorded inside the ledger stage"
        rows = [row if row.request_hash == self.request_hash and row.caller == self.caller
                else replace(row, request_hash=self.request_hash, caller=self.caller) for row in rows]
        self.rows += rows
        if answered:
            self._held = len(self.rows) - 1
            rows = rows[:-1]
        self._hand_over(rows)

    def answer_blocked(self) -> None:
        """The answering attempt's row says its answer was blocked (its cost stays: it was paid)."""
        if self._held is not None:
            row = self.rows[self._held]
            self.rows[self._held] = replace(row, status="error", error_code=ErrorCode.GUARDRAIL_BLOCKED.value)

    def release_held(self) -> None:
        """Hand the held answering row (see ``record``) to the ledger."""
        if self._held is not None:
            self._hand_over([self.rows[self._held]])
            self._held = None

    def _hand_over(self, rows: list[CallRecord]) -> None:
        assert self.ledger is not None
        write = self.ledger.record_soon(rows) if rows else None
        if write is not None:
            self.writes.append(asyncio.ensure_future(write))
