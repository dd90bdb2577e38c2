"""The stages of the call pipeline, each with one job.

A stage is called with the call and ``next`` (the rest of the pipeline). It may act before
``next``, after it, around it (a hold released if ``next`` raises), or answer without calling it
(a cache hit). The tool's result ends up in ``call.result``.

A stage that has nothing to do after ``next`` for a call hands back ``next``'s awaitable instead
of awaiting it, so it adds no coroutine to the chain: every time the call resumes after waiting
(for the upstream's socket, say) it passes through each coroutine of the chain.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Protocol

from gatewise.bounds import format_usd
from gatewise.cache import cache_key, should_store
from gatewise.cache.keys import request_hash
from gatewise.config import Limits
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.ledger.budget_store import CommitResult, Reservation
from gatewise.ledger.budgets import budget_scopes
from gatewise.ledger.records import CacheStatus, CallRecord
from gatewise.pipeline.call import Call
from gatewise.pipeline.guarding import noted, with_output_notes
from gatewise.routing.analyze import count_unknown_tokens, message_text
from gatewise.routing.budget import one_model_hold
from gatewise.routing.engine import Attempt
from gatewise.runtime import Runtime
from gatewise.search.pricing import search_fee
from gatewise.storage.outage import FAIL_OPEN_NOTE
from gatewise.upstream.chat_format import check_messages
from gatewise.upstream.openrouter import ChatResult
from gatewise.upstream.usage import believed_cost

Next = Callable[[Call[Any]], Awaitable[None]]


class Stage(Protocol):
    def __call__(self, call: Call[Any], next: Next) -> Awaitable[None]: ...


def check_request(call: Call[Any], limits: Limits) -> None:
    """The call's messages in the chat format, and the configured limits on message count, content
    parts, prompt size and answer length."""
    count = len(call.messages)
    if count > limits.max_messages:
        raise GatewiseError(ErrorCode.TOO_LARGE, f"{count} messages exceed the limit of "
                                                 f"{limits.max_messages} (limits.max_messages)")
    check_messages(call.messages, limits.max_content_parts, limits.max_tool_calls)
    size = len(message_text(call.messages)[0])  # images are capped by the media limits instead
    if size > limits.max_prompt_chars:
        raise GatewiseError(ErrorCode.TOO_LARGE, f"the prompt has {size:,} characters; the limit is "
                                                 f"{limits.max_prompt_chars:,} (limits.max_prompt_chars)")
    max_tokens = call.max_tokens
    if max_tokens is not None and max_tokens > limits.max_output_tokens:
        raise GatewiseError(ErrorCode.INVALID_INPUT, f"max_tokens {max_tokens} exceeds the limit of "
                                                     f"{limits.max_output_tokens} (limits.max_output_tokens)")


class Validate:
    """Refuse a malformed call, or one past the configured limits, before anything is read,
    fetched or spent."""

    def __init__(self, runtime: Runtime) -> None:
        self.limits = runtime.settings.limits

    def __call__(self, call: Call[Any], next: Next) -> Awaitable[None]:
        check_request(call, self.limits)
        return next(call)


class Prepare:
    """The tool's own preparation of a valid call, e.g. reading and inlining its images."""

    def __call__(self, call: Call[Any], next: Next) -> Awaitable[None]:
        if call.prepare is None:
            return next(call)
        return self._prepared(call, call.prepare, next)

    @staticmethod
    async def _prepared(call: Call[Any], prepare: Callable[[Call[Any]], Awaitable[None]], next: Next) -> None:
        await prepare(call)
        await next(call)


class Ledger:
    """Every row the inner stages record reaches the ledger, answered or failed: handed over as
    it is recorded, and waited for only when the ledger asks (see ``Call.record``). A call that
    went ahead without the shared database (``storage.on_unavailable = "fail_open"``) says so."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def __call__(self, call: Call[Any], next: Next) -> None:
        call.ledger = self.runtime.ledger
        text = call.query if call.query is not None else message_text(call.messages)[0]
        call.request_hash = request_hash(self.runtime.request_key, text)
        try:
            await next(call)
        finally:
            call.release_held()
            if len(call.writes) == 1:
                await call.writes[0]
            elif call.writes:
                await asyncio.gather(*call.writes)
        if call.result is not None and self.runtime.storage_skipped:
            call.result = noted(call.result, [FAIL_OPEN_NOTE])


class ExactCache:
    """Answer a repeat from the response cache; store a fresh answer for the next repeat. A
    repeat asked while the same request is in flight in this process waits for that answer (up
    to the call deadline) instead of paying for it a second time; if the first call stores
    nothing (it failed, or its answer was blocked), the repeat goes ahead on its own."""

    def __init__(self, runtime: Runtime) -> None:
        self.wait_s = runtime.settings.limits.deadline_s
        self._in_flight: dict[str, asyncio.Future[None]] = {}  # bounded by the calls in flight

    async def __call__(self, call: Call[Any], next: Next) -> None:
        policy = call.cache
        cache = policy.cache
        if cache is None or call.revive is None:
            call.cache_status = "bypass"
            await next(call)
            return
        skip = call.skips_cache  # neither reads nor stores
        key = "" if skip else exact_key(call)
        status, hit = await cache.lookup(key, no_cache=skip, force_refresh=policy.force_refresh,
                                         max_age_s=policy.max_age_s)
        leading = status == "miss" and key not in self._in_flight
        if leading:
            self._in_flight[key] = asyncio.get_running_loop().create_future()
        elif status == "miss":
            await asyncio.wait((self._in_flight[key],), timeout=self.wait_s)
            status, hit = await cache.lookup(key, max_age_s=policy.max_age_s)
        call.cache_status = status
        try:
            if hit is not None:
                call.warnings.append(f"answered from the response cache (stored {hit.age_s:.0f}s ago)")
                served(call, call.revive(call, hit.value, hit.age_s), status, "response cache")
                return
            await next(call)
            # A paraphrase's answer served by the semantic cache is not stored again under this key.
            if should_store(status) and call.result is not None and call.cache_status != "hit_semantic":
                await cache.put(key, call.result.model_dump(mode="json"), ttl_s=policy.ttl_s,
                                namespace=call.namespace, project=call.project)
        finally:
            if leading:
                self._in_flight.pop(key).set_result(None)


def exact_key(call: Call[Any]) -> str:
    """The response cache's key: the messages as sent (unless the policy says otherwise), the
    generation parameters and whatever else the policy says the answer depends on."""
    policy = call.cache
    parts = {**policy.key, **call.params}
    if policy.by_messages:
        parts["messages"] = call.messages
    if call.project is not None:  # one project's answers are never another's, as in the semantic cache
        parts["project"] = call.project
    return cache_key(call.namespace, parts)


def served(call: Call[Any], result: Any, status: CacheStatus, source: str) -> None:
    """A stored answer as this call's result: free, new request id, and one ledger row saying so."""
    call.result = result.model_copy(update={"cost_usd": 0.0, "cache_status": status,
                                            "request_id": call.request_id, "latency_ms": call.elapsed_ms()})
    call.record([CallRecord(
        server=call.server, tool=call.tool, provider=result.provider, model=result.model,
        tokens_in=result.tokens_in, tokens_out=result.tokens_out, cost_usd=0.0,
        latency_ms=call.elapsed_ms(), status="ok", cache_status=status, route_reason=source,
        project=call.project, request_id=call.request_id, attempt=0, task=call.task)])


class Route:
    """Plan the models to try, for tools that route: only once the caches missed, so a hit never
    pays for query analysis."""

    def __call__(self, call: Call[Any], next: Next) -> Awaitable[None]:
        if call.route is not None:
            call.route(call)
        return next(call)


class Build:
    """Turn the upstream's answer, checked and paid for, into the tool's result (with what the
    output guardrails found)."""

    async def __call__(self, call: Call[Any], next: Next) -> None:
        await next(call)
        call.result = with_output_notes(call, call.build(call))


class BudgetHold:
    """Hold the worst case of every call that reaches the upstream against its scopes' budgets
    (``global`` and its project's), then charge the real cost, or release the hold if the call
    failed having cost nothing. A routed call switches to a cheaper route when a downgrade budget
    says so; a call to the one model its tool was given has none to switch to, and is refused
    instead."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def __call__(self, call: Call[Any], next: Next) -> None:
        budgets = self.runtime.budgets
        scopes = budget_scopes(call.project)
        reservation = await budgets.reserve(scopes, self._worst_case(call), call.request_id)
        if reservation.verdict == "downgrade":
            reservation = await self._downgraded(call, reservation, scopes)
        call.reservation = reservation
        call.budget_notes += reservation.warnings
        more: list[Reservation] = []  # held for unusable answers billed on the way (see _hold_billed)
        call.before_billed_fallback = partial(self._hold_billed, call, scopes, more)
        try:
            await next(call)
        except BaseException:
            # a failed route may still have been billed for an unusable answer (see UnusableAnswer)
            await self._settle(reservation, more, call.cost_usd if call.cost_usd > 0 else None)
            raise
        settled = await self._settle(reservation, more, call.cost_usd)
        call.budget_notes += settled.warnings if settled is not None else ()

    async def _settle(self, reservation: Reservation, more: list[Reservation],
                      cost_usd: float | None) -> CommitResult | None:
        """Charge ``cost_usd`` to the call's hold (release it when None) and release the rest."""
        budgets = self.runtime.budgets
        for extra in more:
            await budgets.release(extra)
        if cost_usd is None:
            await budgets.release(reservation)
            return None
        return await budgets.commit(reservation, cost_usd)

    async def _hold_billed(self, call: Call[Any], scopes: list[str], more: list[Reservation],
                           attempt: Attempt) -> None:
        """Before another model is tried after an unusable answer that may be billed, hold that
        answer's cost as well: the call's hold covers one answer, and a route of such answers
        would otherwise spend past a ``block`` budget. Raises BUDGET_EXCEEDED when the budget has
        no room for it."""
        assert attempt.billed is not None
        cost = attempt_cost(self.runtime, call, attempt.model, attempt.billed)
        if cost <= 0:
            return
        # Its own request id: a stopped process's holds are charged their request's ledger rows,
        # which must count once.
        extra = await self.runtime.budgets.reserve(scopes, cost, f"{call.request_id}+{len(more) + 1}")
        if extra.verdict == "downgrade":
            raise GatewiseError(ErrorCode.BUDGET_EXCEEDED,
                                f"another model could pass the budget ({'; '.join(extra.warnings)})")
        more.append(extra)
        call.budget_notes += extra.warnings

    def _worst_case(self, call: Call[Any]) -> float:
        fit, plan, max_tokens = call.budget, call.plan, call.max_tokens
        if fit is not None and plan is not None and max_tokens is not None:
            return fit.hold_for(plan, max_tokens)
        models = [c.model for c in call.candidates] + list(call.params.get("models") or ())
        return one_model_hold(self.runtime.catalog, models, call.messages, max_tokens, call.search,
                              self.runtime.settings.limits.max_output_tokens)

    async def _downgraded(self, call: Call[Any], reservation: Reservation, scopes: list[str]) -> Reservation:
        """The hold of the cheaper route a downgrade budget asks for, or BUDGET_EXCEEDED."""
        headroom = reservation.headroom_usd or 0.0
        fit, plan, max_tokens = call.budget, call.plan, call.max_tokens
        notes = "; ".join(reservation.warnings)
        if fit is None or plan is None or max_tokens is None:
            raise GatewiseError(
                ErrorCode.BUDGET_EXCEEDED,
                f"{call.tool} answers with the model it was given and cannot switch to a cheaper one to "
                f"fit the remaining budget ({format_usd(headroom)}); {notes}",
                hint="Name a cheaper model, lower max_tokens, or use routed_complete, which downgrades.")
        cheaper = fit.downgrade(plan, max_tokens, headroom)
        if cheaper is not None:
            reservation = await self.runtime.budgets.reserve(scopes, fit.hold_for(cheaper, max_tokens),
                                                             call.request_id)
        if cheaper is None or reservation.verdict == "downgrade":
            raise GatewiseError(ErrorCode.BUDGET_EXCEEDED,
                                f"no model fits the remaining budget ({format_usd(headroom)}); "
                                + "; ".join(reservation.warnings))
        call.use_plan(cheaper)
        return reservation


class Upstream:
    """The end of the line: try the candidates in order with the call's executor, record one
    ledger row per attempt, and fail with the route's error when none answered."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def __call__(self, call: Call[Any], next: Next) -> None:
        assert call.executor is not None and call.candidates, "a call needs an executor and a model"
        outcome = await call.executor.run(call.candidates, {**call.params, "messages": call.messages},
                                          portkey_headers=call.portkey_headers,
                                          before_billed_fallback=call.before_billed_fallback)
        call.outcome = outcome
        for attempt in outcome.attempts:
            if attempt.usage is not None:
                count_unknown_tokens(attempt.usage, call.messages)
        reasons = {c.model: c.reason for c in call.candidates}
        rows = [self._row(call, index, attempt, reasons.get(attempt.model, ""))
                for index, attempt in enumerate(outcome.attempts)]
        call.upstream_cost_usd = sum(row.cost_usd for row in rows)
        call.record(rows, answered=outcome.result is not None)
        upstream = upstream_cache(outcome.result)
        if upstream != "miss":
            call.cache_status = upstream
        if outcome.result is None:
            raise _billed(outcome.failure(), call)
        await next(call)

    def _row(self, call: Call[Any], index: int, attempt: Attempt, reason: str) -> CallRecord:
        result = attempt.usage  # an unusable answer's tokens and cost count: they may be billed
        tokens_in = result.tokens_in if result else 0
        tokens_out = result.tokens_out if result else 0
        cached = upstream_cache(result)
        cost = 0.0 if result is None or cached != "miss" \
            else attempt_cost(self.runtime, call, attempt.model, result)
        if result is not None and result.web_search:
            reason = f"{reason} ({result.web_search})"
        return CallRecord(
            server=call.server, tool=call.tool, provider=attempt.provider, model=attempt.model,
            tokens_in=tokens_in, tokens_out=tokens_out, cost_usd=cost, latency_ms=attempt.latency_ms,
            status=attempt.status, error_code=attempt.error_code,
            cache_status=cached if cached != "miss" else call.cache_status, route_reason=reason,
            project=call.project, request_id=call.request_id, attempt=index, task=call.task,
            request_hash=call.request_hash, caller=call.caller)


def _billed(error: GatewiseError, call: Call[Any]) -> GatewiseError:
    """A failed call's error, saying what its unusable answers cost when they cost anything: the
    caller can then match the ledger and budgets, which charge it."""
    if call.upstream_cost_usd > 0:
        error.message += (f" The unusable answers cost {format_usd(call.upstream_cost_usd)} "
                          f"(request {call.request_id}).")
    return error


def attempt_cost(runtime: Runtime, call: Call[Any], model: str, result: ChatResult) -> float:
    """What an answer cost: the upstream's own figure unless absent or absurd (see
    ``believed_cost``), else its tokens at catalogue prices plus the web searches it ran."""
    estimate = runtime.catalog.cost_of(model, result.tokens_in, result.tokens_out)
    options = call.search
    if options is not None and result.search_requests:
        fee = search_fee(model, options.engine, results=len(result.annotations),
                         context_size=options.context_size)
        estimate += result.search_requests * fee
    return believed_cost(result.cost_usd, estimate, model=model)


def upstream_cache(result: ChatResult | None) -> CacheStatus:
    """A cache hit reported by the upstream (Portkey's x-portkey-cache-status), in our terms."""
    status = getattr(result, "cache_status", None)
    return _UPSTREAM_HITS.get(status or "", "miss")


_UPSTREAM_HITS: dict[str, CacheStatus] = {"HIT": "hit_exact", "SEMANTIC HIT": "hit_semantic"}
