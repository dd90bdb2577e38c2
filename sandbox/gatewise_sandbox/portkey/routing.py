"""Running a gateway config (``x-portkey-config``) the way Portkey documents it.

This is the sandbox's own reading of Portkey's config semantics, written apart from gatewise's
router so that tests comparing the two catch a misreading on either side:

- a target without ``strategy`` is called (with its retries); ``single`` runs the first target,
  ``loadbalance`` one target picked by relative weight (missing weight 1, weight 0 never),
  ``conditional`` the target named by the first matching condition (else ``default``), and
  ``fallback`` each target in order until one answers with a 2xx, stopping early when a failure's
  status is not in ``on_status_codes`` (the target's own list if it has one, else the strategy's;
  without any list every non-2xx moves on). Groups nest: a group that fails hands its last status
  to its parent, which judges it by its own codes.
- ``override_params`` merge parent → child; ``retry`` passes down unless a child sets its own.
  A retry repeats the same target at once (the stand-in does not wait out the backoff) while its
  status is in ``retry.on_status_codes`` (default 429, 500, 502, 503, 504), at most 5 times.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gatewise_sandbox.portkey.query import ConfigError, matches

MODES = ("single", "fallback", "loadbalance", "conditional")
MAX_RETRIES = 5
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_DEPTH = 32


@dataclass(frozen=True)
class Target:
    """A leaf target as one request sees it, after inheritance."""

    index: int  # position among the config's leaf targets, in document order
    provider: str | None
    model: str | None  # None: the request's own model
    params: dict[str, Any]  # override_params other than ``model``


@dataclass(frozen=True)
class Outcome:
    target: Target
    status: int
    retries: int

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


Call = Callable[[Target], int]  # calls the target once; the HTTP status it answered with


class Router:
    """One loaded config; :meth:`route` runs it for a request."""

    def __init__(self, config: Any) -> None:
        self._leaves: dict[int, int] = {}  # id(leaf node) → its document-order index
        _check(config, "config", 0, self._leaves)
        self.config = config

    def route(self, context: Mapping[str, Any], call: Call, rng: random.Random) -> Outcome:
        return self._run(self.config, {}, None, context, call, rng)

    def _run(self, node: Mapping[str, Any], params: dict[str, Any], retry: Mapping[str, Any] | None,
             context: Mapping[str, Any], call: Call, rng: random.Random) -> Outcome:
        params = {**params, **(node.get("override_params") or {})}
        retry = node.get("retry", retry)
        strategy = node.get("strategy")
        if strategy is None:
            return self._leaf(node, params, retry, call)
        targets = node["targets"]
        mode = strategy["mode"]
        if mode == "fallback":
            for child in targets:
                outcome = self._run(child, params, retry, context, call, rng)
                codes = child.get("on_status_codes", strategy.get("on_status_codes"))
                if outcome.ok or (codes is not None and outcome.status not in codes):
                    return outcome
            return outcome
        if mode == "single":
            chosen = targets[0]
        elif mode == "loadbalance":
            chosen = _weighted(targets, rng)
        else:
            chosen = _conditional(strategy, targets, context)
        return self._run(chosen, params, retry, context, call, rng)

    def _leaf(self, node: Mapping[str, Any], params: dict[str, Any], retry: Mapping[str, Any] | None,
              call: Call) -> Outcome:
        model = params.get("model")
        target = Target(self._leaves[id(node)], node.get("provider"), model,
                        {k: v for k, v in params.items() if k != "model"})
        allowed = min(retry.get("attempts", 0), MAX_RETRIES) if retry else 0
        listed = retry.get("on_status_codes") if retry else None
        codes = RETRY_STATUSES if listed is None else frozenset(listed)
        used = 0
        status = call(target)
        while not 200 <= status < 300 and status in codes and used < allowed:
            used += 1
            status = call(target)
        return Outcome(target, status, used)


def _weighted(targets: list[Mapping[str, Any]], rng: random.Random) -> Mapping[str, Any]:
    weights = [float(t.get("weight", 1)) for t in targets]
    point = rng.random() * sum(weights)
    for target, weight in zip(targets, weights, strict=True):
        if weight > 0 and point < weight:
            return target
        point -= weight
    return next(t for t, w in zip(reversed(targets), reversed(weights), strict=True) if w > 0)


def _conditional(strategy: Mapping[str, Any], targets: list[Mapping[str, Any]],
                 context: Mapping[str, Any]) -> Mapping[str, Any]:
    by_name = {t.get("name"): t for t in targets}
    for condition in strategy["conditions"]:
        if matches(condition["query"], context):
            return by_name[condition["then"]]
    if "default" not in strategy:
        raise ConfigError("no condition matched and the conditional strategy has no default")
    return by_name[strategy["default"]]


# -- load-time checks (the shape Portkey's validator insists on) --------------------------------

def _check(node: Any, path: str, depth: int, leaves: dict[int, int]) -> None:
    if not isinstance(node, Mapping):
        raise ConfigError(f"{path}: must be an object")
    if depth > MAX_DEPTH:
        raise ConfigError(f"{path}: targets nest too deeply")
    _check_fields(node, path)
    strategy, targets = node.get("strategy"), node.get("targets")
    if strategy is None:
        if targets is not None:
            raise ConfigError(f"{path}.targets: needs a strategy")
        leaves[id(node)] = len(leaves)
        return
    if not isinstance(strategy, Mapping) or strategy.get("mode") not in MODES:
        raise ConfigError(f"{path}.strategy.mode: must be one of {', '.join(MODES)}")
    if not isinstance(targets, list) or not targets:
        raise ConfigError(f"{path}.targets: a strategy needs a non-empty list of targets")
    _codes(strategy.get("on_status_codes"), f"{path}.strategy.on_status_codes")
    for number, child in enumerate(targets):
        _check(child, f"{path}.targets[{number}]", depth + 1, leaves)
    if strategy["mode"] == "loadbalance" and not any(t.get("weight", 1) > 0 for t in targets):
        raise ConfigError(f"{path}.targets: every weight is 0")
    if strategy["mode"] == "conditional":
        _check_conditions(strategy, targets, f"{path}.strategy")


def _check_fields(node: Mapping[str, Any], path: str) -> None:
    params = node.get("override_params", {})
    if not isinstance(params, Mapping) or not isinstance(params.get("model", ""), str):
        raise ConfigError(f"{path}.override_params: must be an object whose model is a string")
    weight = node.get("weight", 1)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
        raise ConfigError(f"{path}.weight: must be a number of at least 0")
    _codes(node.get("on_status_codes"), f"{path}.on_status_codes")
    retry = node.get("retry")
    if retry is not None:
        attempts = retry.get("attempts") if isinstance(retry, Mapping) else None
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 0:
            raise ConfigError(f"{path}.retry.attempts: must be a whole number of at least 0")
        _codes(retry.get("on_status_codes"), f"{path}.retry.on_status_codes")


def _codes(value: Any, path: str) -> None:
    if value is not None and not (isinstance(value, list) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value)):
        raise ConfigError(f"{path}: must be a list of status codes")


def _check_conditions(strategy: Mapping[str, Any], targets: list[Mapping[str, Any]], path: str) -> None:
    names = {t.get("name") for t in targets} - {None}
    conditions = strategy.get("conditions")
    if not isinstance(conditions, list) or not conditions:
        raise ConfigError(f"{path}.conditions: conditional routing needs a non-empty list")
    for number, condition in enumerate(conditions):
        if not isinstance(condition, Mapping) or not isinstance(condition.get("query"), Mapping):
            raise ConfigError(f"{path}.conditions[{number}]: needs a query object and a target in then")
        if condition.get("then") not in names:
            raise ConfigError(f"{path}.conditions[{number}].then: names no target")
    if "default" in strategy and strategy["default"] not in names:
        raise ConfigError(f"{path}.default: names no target")
