"""Portkey gateway configs (``x-portkey-config``): load one, then plan each request's attempts.

A config pasted from Portkey loads as written. Fields that only mean something on Portkey
(provider credentials, hosted cache, hooks and guardrails, circuit breaker, custom hosts) are
dropped while parsing and listed in :attr:`PortkeyConfig.notes`, so no key outlives the parse.
:func:`plan_targets` flattens the target tree for one request into the ordered leaf attempts an
executor runs, and :func:`next_attempt_index` says which attempt follows a failure. Nothing here
touches the network.
"""

from __future__ import annotations

import copy
import difflib
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from gatewise.bounds import Amount
from gatewise.errors import ErrorCode, GatewiseError, quoted
from gatewise.routing.portkey_query import QueryError, check_query, evaluate_query

MAX_RETRY_ATTEMPTS = 5  # Portkey's MAX_RETRIES
DEFAULT_RETRY_ON = frozenset({429, 500, 502, 503, 504})
# No HTTP answer at all: Portkey reports its own request timeout as 408 and an unreachable host
# as 503, so a status list naming either one covers it.
NO_ANSWER_STATUSES = frozenset({408, 503})
MAX_TARGET_DEPTH = 10
DEFAULT_PATHNAME = "/v1/chat/completions"

# Portkey provider slug → OpenRouter vendor prefix.
VENDOR_PREFIXES: dict[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "google": "google",
    "vertex-ai": "google",
    "gemini": "google",
    "mistral-ai": "mistralai",
    "meta": "meta-llama",
    "deepseek": "deepseek",
    "x-ai": "x-ai",
    "xai": "x-ai",
    "cohere": "cohere",
    "perplexity-ai": "perplexity",
}
# Hosts serving many vendors' models: a bare model name there says nothing about its vendor.
MULTI_VENDOR_HOSTS = frozenset({"groq", "together-ai", "fireworks-ai"})

StatusCode = Annotated[int, Field(ge=100, le=599)]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PortkeyRetry(_Wire):
    """``attempts`` counts retries after the first call, at most :data:`MAX_RETRY_ATTEMPTS`."""

    attempts: int = Field(ge=0)
    on_status_codes: tuple[StatusCode, ...] | None = None
    # Portkey's docs and its own validator spell this flag differently; both are accepted.
    use_retry_after_headers: bool = Field(
        False, validation_alias=AliasChoices("use_retry_after_headers", "use_retry_after_header"))


class PortkeyCondition(_Wire):
    query: dict[str, Any]
    then: str


class PortkeyStrategy(_Wire):
    mode: Literal["single", "fallback", "loadbalance", "conditional"]
    on_status_codes: tuple[StatusCode, ...] | None = None
    conditions: tuple[PortkeyCondition, ...] = ()
    default: str | None = None


class PortkeyTarget(_Wire):
    """One node of the config: a leaf (provider and model) or a group (``strategy`` + ``targets``)."""

    name: str | None = None
    strategy: PortkeyStrategy | None = None
    targets: tuple[PortkeyTarget, ...] = ()
    provider: str | None = None
    weight: Amount = 1.0
    on_status_codes: tuple[StatusCode, ...] | None = None
    retry: PortkeyRetry | None = None
    request_timeout: int | None = Field(None, gt=0, description="milliseconds, inherited by children")
    override_params: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class PortkeyConfig:
    """A loaded config: the target tree plus what was dropped or adjusted while loading."""

    root: PortkeyTarget
    notes: tuple[str, ...] = ()


# --- loading -------------------------------------------------------------------------------

_MODELLED = frozenset(PortkeyTarget.model_fields)
_CREDENTIAL_FIELDS = frozenset({
    "api_key", "virtual_key", "authorization", "ad_auth", "resource_name", "deployment_id",
    "api_version", "foundation_model", "filename", "mistral_fim_completion", "transform_to_form_data",
})
_CREDENTIAL_PREFIXES = ("aws_", "azure_", "vertex_", "openai_", "anthropic_", "amzn_", "stability_",
                        "fireworks_", "snowflake_", "workers_ai_", "huggingface_")
_UNSUPPORTED: dict[str, str] = {
    "cache": "use gatewise's caching settings",
    "cb_config": "gatewise keeps its own circuit breaker (routing.health)",
    "custom_host": "gatewise calls only its configured upstream",
    "forward_headers": "client headers are not forwarded",
    "passthrough": "hosted-only",
    "prompt_id": "hosted prompt templates are not available",
    "default_params": "hosted-only",
    "drop_params": "hosted-only",
    "strict_open_ai_compliance": "responses are always OpenAI-shaped",
    "metadata": "send metadata with the request instead",
    "model_pricing_config": "gatewise prices calls from its own catalogue",
    "id": "saved-config ids are hosted-only",
    **dict.fromkeys(("input_guardrails", "output_guardrails", "input_mutators", "output_mutators",
                     "before_request_hooks", "after_request_hooks", "default_input_guardrails",
                     "default_output_guardrails"), "use gatewise's guardrails settings"),
}


def parse_portkey_config(raw: str | Mapping[str, Any]) -> PortkeyConfig:
    """Load a Portkey config (JSON text or a parsed object), or raise a one-line CONFIG_ERROR.

    Every query, target name and model mapping is checked here, so a config that loads can only
    fail per request when a conditional strategy without ``default`` matches nothing.
    """
    # Errors are raised outside the handlers so that no exception chain keeps the input around.
    problem = None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            problem = f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        if problem is not None:
            raise _error("", problem)
    notes: list[str] = []
    clean = _strip(raw, "", 0, notes)
    try:
        root = PortkeyTarget.model_validate(clean)
    except ValidationError as exc:
        problem = _describe(exc)
    if problem is not None:
        raise GatewiseError(ErrorCode.CONFIG_ERROR, problem)
    _check(root, "", {}, notes)
    return PortkeyConfig(root, tuple(notes))


def _strip(raw: Any, path: str, depth: int, notes: list[str]) -> Any:
    """A copy of one raw target with Portkey-only fields removed (and noted) and retries capped."""
    if not isinstance(raw, Mapping):
        return raw  # pydantic reports the wrong type
    if depth > MAX_TARGET_DEPTH:
        raise _error(path, f"targets nested more than {MAX_TARGET_DEPTH} levels deep")
    clean: dict[str, Any] = {}
    for raw_key, value in raw.items():
        key = str(raw_key)
        where = _join(path, key)
        if key in _MODELLED:
            clean[key] = value
        elif key in ("mode", "options"):
            raise _error(where, "Portkey's old config format; write strategy.mode and targets instead")
        elif key in _CREDENTIAL_FIELDS or key.startswith(_CREDENTIAL_PREFIXES):
            notes.append(f"{where}: ignored (provider credential or setting; gatewise calls its own "
                         "upstream with its own key)")
        elif key in _UNSUPPORTED:
            notes.append(f"{where}: ignored ({_UNSUPPORTED[key]})")
        else:
            near = difflib.get_close_matches(key, _MODELLED, n=1, cutoff=0.8)
            if near:
                raise _error(where, f"unknown field (did you mean {near[0]!r}?)")
            notes.append(f"{where}: ignored (not a field gatewise knows)")
    strategy = clean.get("strategy")
    if isinstance(strategy, Mapping) and "sticky" in strategy:
        clean["strategy"] = {k: v for k, v in strategy.items() if k != "sticky"}
        notes.append(f"{_join(path, 'strategy.sticky')}: ignored (each request picks afresh)")
    retry = clean.get("retry")
    attempts = retry.get("attempts") if isinstance(retry, Mapping) else None
    if (isinstance(retry, Mapping) and isinstance(attempts, int | float) and not isinstance(attempts, bool)
            and attempts > MAX_RETRY_ATTEMPTS):
        clean["retry"] = {**retry, "attempts": MAX_RETRY_ATTEMPTS}
        notes.append(f"{_join(path, 'retry.attempts')}: {attempts:g} capped at {MAX_RETRY_ATTEMPTS}")
    targets = clean.get("targets")
    if isinstance(targets, list):
        clean["targets"] = [_strip(child, f"{_join(path, 'targets')}[{index}]", depth + 1, notes)
                            for index, child in enumerate(targets)]
    return clean


def _check(target: PortkeyTarget, path: str, inherited: Mapping[str, Any], notes: list[str]) -> None:
    """Checks pydantic cannot express: tree shape, names, queries and model mapping."""
    params = {**inherited, **target.override_params}
    model = params.get("model")
    if model is not None and not isinstance(model, str):
        raise _error(_join(path, "override_params.model"), "must be a string")
    strategy = target.strategy
    if strategy is None:
        if target.targets:
            raise _error(path, "'targets' needs a 'strategy' (single, fallback, loadbalance or conditional)")
        try:
            openrouter_model_id(target.provider, model)
        except GatewiseError as exc:
            raise _error(path, exc.message, hint=exc.hint) from None
        return
    if not target.targets:
        raise _error(_join(path, "strategy"),
                     f"mode {quoted(strategy.mode)} needs a non-empty 'targets' list")
    names = [t.name for t in target.targets if t.name is not None]
    for name in names:
        if names.count(name) > 1:
            raise _error(_join(path, "targets"), f"target name {quoted(name)} is used more than once")
    if strategy.mode == "loadbalance" and not any(t.weight > 0 for t in target.targets):
        raise _error(_join(path, "targets"), "every loadbalance target has weight 0")
    if strategy.mode == "conditional":
        _check_conditions(strategy, _join(path, "strategy"), names, notes)
    for index, child in enumerate(target.targets):
        _check(child, f"{_join(path, 'targets')}[{index}]", params, notes)


def _check_conditions(strategy: PortkeyStrategy, where: str, names: list[str], notes: list[str]) -> None:
    if not strategy.conditions:
        raise _error(where, "mode 'conditional' needs a non-empty 'conditions' list")
    known = ", ".join(repr(n) for n in names) or "none are named"
    for index, condition in enumerate(strategy.conditions):
        here = f"{where}.conditions[{index}]"
        try:
            warnings = check_query(condition.query)
        except QueryError as exc:
            raise _error(f"{here}.{exc.where}", exc.problem) from None
        notes.extend(f"{here}.{warning}" for warning in warnings)
        if condition.then not in names:
            raise _error(f"{here}.then", f"names no target: {quoted(condition.then)} (targets: {known})")
    if strategy.default is None:
        notes.append(f"{where}: no 'default', so a request matching no condition fails")
    elif strategy.default not in names:
        raise _error(f"{where}.default", f"names no target: {quoted(strategy.default)} (targets: {known})")


def openrouter_model_id(provider: str | None, model: str | None) -> str | None:
    """The OpenRouter id for a Portkey target's model, or None when the target sets no model.

    An id with a vendor (``vendor/model``) is kept; a bare name gets the vendor of the target's
    provider. Without a provider, or for ``openrouter``, the name is kept as written.
    """
    if model is None or "/" in model or provider is None or provider == "openrouter":
        return model
    slug = provider.removeprefix("@").lower()  # hosted Model Catalog slugs start with "@"
    if slug in VENDOR_PREFIXES:
        return f"{VENDOR_PREFIXES[slug]}/{model}"
    if slug in MULTI_VENDOR_HOSTS:
        problem = (f"provider {quoted(provider)} hosts many vendors' models, so {quoted(model)} "
                   "needs its vendor")
    else:
        problem = (f"provider {quoted(provider)} has no OpenRouter equivalent to prefix "
                   f"{quoted(model)} with")
    raise GatewiseError(ErrorCode.CONFIG_ERROR, f"{problem}; write the model as '<vendor>/<model>'",
                        hint="Use the model's OpenRouter id in override_params.model.")


def _describe(exc: ValidationError) -> str:
    """The first problem, one line, without the offending value (it may be a secret)."""
    first = exc.errors()[0]
    where = ""
    for part in first["loc"]:
        where = f"{where}[{part}]" if isinstance(part, int) else _join(where, str(part))
    message = str(first["msg"]).removeprefix("Value error, ").replace("\n", " ")
    extra = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return _error(where, message + extra).message


def _error(where: str, problem: str, *, hint: str | None = None) -> GatewiseError:
    place = f" at {where}" if where else ""
    return GatewiseError(ErrorCode.CONFIG_ERROR, f"invalid Portkey config{place}: {problem}", hint=hint)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# --- planning ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FallbackStep:
    """An enclosing fallback group, as seen from one attempt (innermost group first)."""

    on_status_codes: frozenset[int] | None  # None: any non-2xx leaves for the next target
    next_index: int | None  # plan index of the next sibling target's first attempt, if any


@dataclass(frozen=True)
class TargetAttempt:
    """One leaf target to call for this request, with everything it inherited."""

    model: str | None  # None: use the request's model (the caller's or the gateway's choice)
    override_params: dict[str, Any]  # forced onto the request body; never holds "model"
    retry_attempts: int  # retries after the first call
    retry_on: frozenset[int]
    use_retry_after: bool
    timeout_ms: int | None
    fallback_on: frozenset[int] | None  # the innermost fallback group's trigger; None: any non-2xx
    path: str  # e.g. "targets[1].targets[0]"; empty when the config itself is the leaf
    reason: str
    name: str | None = None
    fallback_steps: tuple[FallbackStep, ...] = ()


@dataclass
class _Inherited:
    params: dict[str, Any]
    retry: PortkeyRetry | None
    timeout_ms: int | None


@dataclass
class _Draft:
    target: PortkeyTarget
    inherited: _Inherited
    path: str
    reasons: list[str]
    steps: list[FallbackStep] = field(default_factory=list)


_RNG = random.Random()


def routing_context(metadata: Mapping[str, Any] | None = None, params: Mapping[str, Any] | None = None,
                    pathname: str = DEFAULT_PATHNAME) -> dict[str, Any]:
    """The context conditional queries read: request metadata, the JSON body and the URL path."""
    return {"metadata": dict(metadata or {}), "params": dict(params or {}), "url": {"pathname": pathname}}


def plan_targets(config: PortkeyConfig, context: Mapping[str, Any] | None = None,
                 rng: random.Random | None = None) -> list[TargetAttempt]:
    """The leaf attempts for one request, in the order a fallback executor tries them.

    ``single`` takes the first target, ``fallback`` all of them in order, ``loadbalance`` one
    weighted pick (only that pick, as Portkey does) and ``conditional`` the matched target; each
    is expanded recursively. ``override_params`` merge parent → child; ``retry`` and
    ``request_timeout`` pass down unless a child sets its own.
    """
    drafts: list[_Draft] = []
    _expand(config.root, _Inherited({}, None, None), "", [], context or routing_context(),
            rng or _RNG, drafts)
    return [_attempt(draft) for draft in drafts]


def next_attempt_index(attempt: TargetAttempt, status: int | None) -> int | None:
    """Where to go after ``attempt`` ended with ``status`` (None: no answer), or None to stop.

    A nested fallback group that gives up hands its last status to the enclosing group, which
    judges it by its own codes, so one status can skip the rest of an inner group.
    """
    if status is not None and 200 <= status < 300:
        return None
    for step in attempt.fallback_steps:
        codes = step.on_status_codes
        if step.next_index is not None and (codes is None or _in_codes(codes, status)):
            return step.next_index
    return None


def status_moves_on(attempt: TargetAttempt, status: int | None) -> bool:
    """True when a later attempt of the plan should be tried after this status.

    None stands for no HTTP answer (timeout, connection failure); it matches a code list that
    names 408 or 503, and always moves on when the group names no codes.
    """
    return next_attempt_index(attempt, status) is not None


def should_retry(attempt: TargetAttempt, status: int | None) -> bool:
    """True when this status earns the same target another try (retries left permitting)."""
    return attempt.retry_attempts > 0 and _in_codes(attempt.retry_on, status)


def _in_codes(codes: frozenset[int], status: int | None) -> bool:
    return bool(codes & NO_ANSWER_STATUSES) if status is None else status in codes


def _expand(target: PortkeyTarget, inherited: _Inherited, path: str, reasons: list[str],
            context: Mapping[str, Any], rng: random.Random, out: list[_Draft]) -> None:
    here = _Inherited({**inherited.params, **target.override_params},
                      target.retry or inherited.retry,
                      target.request_timeout or inherited.timeout_ms)
    strategy = target.strategy
    if strategy is None:
        out.append(_Draft(target, here, path, reasons))
        return
    children = target.targets
    prefix = _join(path, "targets")
    if strategy.mode == "fallback":
        spans = []
        for index, child in enumerate(children):
            start = len(out)
            _expand(child, here, f"{prefix}[{index}]", [*reasons, f"fallback #{index + 1}"],
                    context, rng, out)
            spans.append((start, len(out), child))
        for position, (start, end, child) in enumerate(spans):
            next_index = spans[position + 1][0] if position + 1 < len(spans) else None
            codes = child.on_status_codes if child.on_status_codes is not None else strategy.on_status_codes
            step = FallbackStep(None if codes is None else frozenset(codes), next_index)
            for draft in out[start:end]:
                draft.steps.append(step)
        return
    if strategy.mode == "single":
        index, why = 0, "single: first target"
    elif strategy.mode == "loadbalance":
        index, why = _weighted_pick(children, rng)
    else:
        index, why = _conditional_pick(strategy, children, path, context)
    _expand(children[index], here, f"{prefix}[{index}]", [*reasons, why], context, rng, out)


def _weighted_pick(children: tuple[PortkeyTarget, ...], rng: random.Random) -> tuple[int, str]:
    live = [(index, child.weight) for index, child in enumerate(children) if child.weight > 0]
    total = sum(weight for _, weight in live)
    point = rng.random() * total
    index, weight = live[-1]  # only reached through float rounding at the very top
    for candidate, candidate_weight in live:
        if point < candidate_weight:
            index, weight = candidate, candidate_weight
            break
        point -= candidate_weight
    return index, f"loadbalance pick (weight {weight:g} of {total:g})"


def _conditional_pick(strategy: PortkeyStrategy, children: tuple[PortkeyTarget, ...], path: str,
                      context: Mapping[str, Any]) -> tuple[int, str]:
    names = [child.name for child in children]
    for number, condition in enumerate(strategy.conditions, start=1):
        if evaluate_query(condition.query, context):
            why = f"conditional: matched condition {number} → {condition.then!r}"
            return names.index(condition.then), why
    if strategy.default is None:
        raise GatewiseError(
            ErrorCode.CONFIG_ERROR,
            f"no condition of the conditional strategy at {path or 'the top level'} matched this "
            "request, and it has no 'default' target",
            hint="Add strategy.default naming the target for requests that match no condition.")
    return names.index(strategy.default), f"conditional: no condition matched → default {strategy.default!r}"


def _attempt(draft: _Draft) -> TargetAttempt:
    params = draft.inherited.params
    retry = draft.inherited.retry
    steps = tuple(draft.steps)
    return TargetAttempt(
        model=openrouter_model_id(draft.target.provider, params.get("model")),
        override_params=copy.deepcopy({k: v for k, v in params.items() if k != "model"}),
        retry_attempts=min(retry.attempts, MAX_RETRY_ATTEMPTS) if retry else 0,
        retry_on=(frozenset(retry.on_status_codes) if retry and retry.on_status_codes is not None
                  else DEFAULT_RETRY_ON),
        use_retry_after=retry.use_retry_after_headers if retry else False,
        timeout_ms=draft.inherited.timeout_ms,
        fallback_on=steps[0].on_status_codes if steps else None,
        path=draft.path,
        reason="; ".join(draft.reasons) or "the config's only target",
        name=draft.target.name,
        fallback_steps=steps,
    )
