"""Check configs and guardrails locally, before Portkey sees them, naming the exact wrong field.

Configs go through the same loader the routing gateway uses (:func:`parse_portkey_config`), plus
the hosted-only fields it deliberately ignores (cache, circuit breaker, hooks, credentials).
Guardrail checks are compared with Portkey's documented checks (:mod:`gatewise.portkey.checks`).
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections.abc import Mapping
from typing import Any, TypeGuard

from gatewise.errors import ErrorCode, GatewiseError, quoted
from gatewise.portkey.checks import BUILT_IN, COMMON, PARTNERS, PORTKEY, Check, Param, known_ids
from gatewise.portkey.models import GuardrailActions, GuardrailCheck, Validation
from gatewise.routing.portkey_config import parse_portkey_config

# Every field the hosted config schema accepts (it sets additionalProperties: false).
CONFIG_FIELDS = frozenset({
    "strategy", "targets", "name", "provider", "api_key", "virtual_key", "weight", "on_status_codes",
    "retry", "request_timeout", "cache", "override_params", "default_params", "drop_params",
    "custom_host", "forward_headers", "passthrough", "strict_open_ai_compliance", "cb_config",
    "prompt_id", "input_guardrails", "output_guardrails", "before_request_hooks",
    "after_request_hooks", "input_mutators", "output_mutators", "metadata", "id",
    "model_pricing_config", "deployment_id", "api_version", "openai_organization", "openai_project",
})
_CREDENTIAL_PREFIXES = ("aws_", "azure_", "vertex_")
MAX_CONFIG_DEPTH = 10


def validate_config(raw: str | Mapping[str, Any]) -> Validation:
    """Every problem of a gateway config object, each as ``<path>: <problem>``."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            return Validation(valid=False, errors=[f"config: not valid JSON ({exc.msg})"])
    if not isinstance(raw, Mapping):
        return Validation(valid=False, errors=["config: must be a JSON object"])
    if not raw:
        return Validation(valid=False, errors=["config: is empty; give at least a provider, "
                                               "strategy + targets, retry or cache"])
    errors: list[str] = []
    _hosted_fields(raw, "", 0, errors)
    warnings: list[str] = []
    if not errors:
        try:
            parsed = parse_portkey_config(_without_model_mapping(raw))
        except GatewiseError as exc:
            errors.append(exc.message.removeprefix("invalid Portkey config at ")
                          .removeprefix("invalid Portkey config: "))
        else:
            # Notes about fields gatewise's own router ignores do not concern a saved config.
            warnings = [note for note in parsed.notes if ": ignored (" not in note]
    return Validation(valid=not errors, errors=errors, warnings=warnings)


def _without_model_mapping(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A copy in which every provider reads as ``openrouter``.

    The shared loader also checks that each model maps to an OpenRouter id, which is the routing
    gateway's concern, not Portkey's: Portkey accepts any model its provider serves.
    """
    clean = copy.deepcopy(dict(raw))

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("provider"), str):
                node["provider"] = "openrouter"
            for child in node.get("targets") or []:
                walk(child)

    walk(clean)
    return clean


def _hosted_fields(node: Mapping[str, Any], path: str, depth: int, errors: list[str]) -> None:
    if depth > MAX_CONFIG_DEPTH:
        errors.append(f"{path}: targets nested more than {MAX_CONFIG_DEPTH} levels deep")
        return
    for key, value in node.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in CONFIG_FIELDS and not str(key).startswith(_CREDENTIAL_PREFIXES):
            near = difflib.get_close_matches(str(key), CONFIG_FIELDS, n=1, cutoff=0.7)
            errors.append(f"{where}: unknown field" + (f" (did you mean {near[0]!r}?)" if near else ""))
        elif key == "cache":
            _cache(value, where, errors)
        elif key == "cb_config":
            _circuit_breaker(value, where, errors)
    targets = node.get("targets")
    if isinstance(targets, list):
        for index, child in enumerate(targets):
            if isinstance(child, Mapping):
                _hosted_fields(child, f"{path + '.' if path else ''}targets[{index}]", depth + 1, errors)


def _cache(value: Any, where: str, errors: list[str]) -> None:
    if not isinstance(value, Mapping):
        errors.append(f"{where}: must be an object such as {{'mode': 'simple'}}")
        return
    if value.get("mode") not in ("simple", "semantic"):
        errors.append(f"{where}.mode: must be 'simple' or 'semantic'")
    age = value.get("max_age")
    if age is not None and (not _is_number(age) or age < 0):
        errors.append(f"{where}.max_age: must be a number of seconds ≥ 0")
    for key in value:
        if key not in ("mode", "max_age"):
            errors.append(f"{where}.{key}: unknown field")


def _circuit_breaker(value: Any, where: str, errors: list[str]) -> None:
    if not isinstance(value, Mapping):
        errors.append(f"{where}: must be an object")
        return
    threshold, cooldown = value.get("failure_threshold"), value.get("cooldown_interval")
    if not _is_number(threshold) or threshold < 1:
        errors.append(f"{where}.failure_threshold: must be a number ≥ 1")
    if not _is_number(cooldown) or cooldown < 30_000:
        errors.append(f"{where}.cooldown_interval: must be ≥ 30000 (milliseconds)")


def validate_guardrail(checks: list[GuardrailCheck] | None,
                       actions: GuardrailActions | None = None) -> Validation:
    """Every problem of a guardrail's checks, each naming ``checks[i].…``; warnings for oddities."""
    errors: list[str] = []
    warnings: list[str] = []
    if not checks:
        return Validation(valid=False, errors=["checks: at least one check is required"])
    for index, check in enumerate(checks):
        _check(check, f"checks[{index}]", errors, warnings)
    if actions is None:
        warnings.append("actions: not given; Portkey's defaults apply (flag failures, do not deny)")
    stages = {_stage(c.id) for c in checks} - {None, "both"}
    if len(stages) > 1:
        warnings.append("checks: mixes request-only and response-only checks; each runs only where "
                        "it applies, so use this guardrail as both input and output guardrail")
    return Validation(valid=not errors, errors=errors, warnings=warnings)


def _stage(check_id: str) -> str | None:
    plugin, _, name = check_id.partition(".")
    if plugin == "default" and name in BUILT_IN:
        return BUILT_IN[name].hook
    return None


def _check(check: GuardrailCheck, where: str, errors: list[str], warnings: list[str]) -> None:
    plugin, dot, name = check.id.partition(".")
    if not dot:
        guess = f"default.{check.id}" if check.id in BUILT_IN else _closest(check.id)
        errors.append(f"{where}.id: {quoted(check.id)} needs its plugin prefix"
                      + (f"; did you mean {guess!r}?" if guess else ""))
        return
    spec: Check | None = None
    if plugin == "default":
        spec = BUILT_IN.get(name)
    elif plugin == "portkey":
        spec = PORTKEY.get(name)
    elif plugin in PARTNERS and name in PARTNERS[plugin]:
        return  # partner parameters are the partner's business
    if spec is None:
        guess = _closest(check.id)
        errors.append(f"{where}.id: unknown check {quoted(check.id)}" + (f"; did you mean {guess!r}?" if guess
                                                                    else ""))
        return
    params = check.parameters
    for pname, required in spec.params.items():
        if required.required and pname not in params:
            errors.append(f"{where}.parameters.{pname}: required by {check.id}")
    allowed = {**spec.params, **COMMON}
    for pname, value in params.items():
        pspec = allowed.get(pname)
        here = f"{where}.parameters.{pname}"
        if pspec is None:
            near = difflib.get_close_matches(pname, allowed, n=1, cutoff=0.6)
            errors.append(f"{here}: not a parameter of {check.id}"
                          + (f" (did you mean {near[0]!r}?)" if near else
                             f" (known: {', '.join(spec.params) or 'none'})"))
        elif problem := _param_problem(pspec, value):
            errors.append(f"{here}: {problem}")
    rule = params.get("rule")
    if isinstance(rule, str) and plugin == "default":
        try:
            re.compile(rule)
        except re.error as exc:
            warnings.append(f"{where}.parameters.rule: may not be a valid regular expression ({exc}); "
                            "Portkey evaluates it as a JavaScript RegExp")
    for low, high in (("minWords", "maxWords"), ("minSentences", "maxSentences"),
                      ("minCharacters", "maxCharacters")):
        lo, hi = params.get(low), params.get(high)
        if _is_number(lo) and _is_number(hi) and lo > hi:
            errors.append(f"{where}.parameters.{low}: is greater than {high}")


def _param_problem(spec: Param, value: Any) -> str | None:
    kind_ok = {
        "str": isinstance(value, str),
        "bool": isinstance(value, bool),
        "num": _is_number(value),
        "list": isinstance(value, list),
        "obj": isinstance(value, dict),
        "any": True,
    }[spec.kind]
    if not kind_ok:
        names = {"str": "a string", "bool": "true or false", "num": "a number", "list": "a list",
                 "obj": "an object"}
        return f"must be {names[spec.kind]}"
    if spec.choices:
        given = value if isinstance(value, list) else [value]
        wrong = [v for v in given if v not in spec.choices]
        if wrong:
            return f"{quoted(wrong[0])} is not one of {', '.join(spec.choices)}"
    return None


def _closest(check_id: str) -> str | None:
    near = difflib.get_close_matches(check_id, known_ids(), n=1, cutoff=0.6)
    if not near and "." not in check_id:
        near = difflib.get_close_matches(f"default.{check_id}", known_ids(), n=1, cutoff=0.6)
    return near[0] if near else None


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def raise_if_invalid(validation: Validation, what: str) -> None:
    """Turn a failed validation into INVALID_INPUT naming the first wrong field."""
    if validation.valid:
        return
    first, rest = validation.errors[0], len(validation.errors) - 1
    more = f" (and {rest} more: {'; '.join(validation.errors[1:4])})" if rest else ""
    raise GatewiseError(ErrorCode.INVALID_INPUT, f"invalid {what}: {first}{more}",
                        hint=f"Fix the field named above; action 'validate' lists every problem of a {what}.")
