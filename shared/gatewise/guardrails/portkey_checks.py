"""Portkey's built-in guardrail checks, executed locally with Portkey's parameter names and
verdict semantics, so a guardrail written for Portkey can be tested here and used unchanged.

Semantics followed (Portkey gateway, ``plugins/default``): a check returns ``verdict`` True to
pass; ``not`` inverts it where the check takes it; a hook passes only if every enabled check
passes; a check that errors counts as a pass unless ``failOnError`` is set; a failed hook
blocks when ``deny`` is true and only flags otherwise (Portkey's 446 versus 246).

Checks that need the network (``jwt``, ``webhook``, ``log``, ``validUrls`` with ``onlyDNS``)
and partner plugins are not run: they report an error, which passes unless ``failOnError``.
User-supplied regular expressions run under a time limit (the ``regex`` module), so a
catastrophic pattern fails the check instead of hanging the server.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import regex

from gatewise.guardrails.entities import entity_type
from gatewise.guardrails.pii import find_pii
from gatewise.guardrails.redaction import replace
from gatewise.guardrails.safety import scan as safety_scan
from gatewise.guardrails.texts import TextRef
from gatewise.guardrails.verdict import CheckResult
from gatewise.portkey.checks import BUILT_IN, CODE_FORMATS

REGEX_TIMEOUT_S = 0.25
_RESERVED = frozenset({"deny", "on_fail", "on_success", "async", "id", "type", "guardrail_version_id",
                       "sequential", "name", "checks", "actions"})
_URL = re.compile(r"https?://[^\s]+")
_CODE_BLOCK = re.compile(r"```(\w+)\n[\s\S]*?\n```")
_JSON_BLOCK = re.compile(r"```+(?:json)?\s*([\s\S]*?)```+")
_JSON_OBJECT = re.compile(r"{[\s\S]*?}")
_FENCE_LANGUAGES = {"sql": "SQL", "py": "Python", "ts": "TypeScript", "js": "JavaScript",
                    "java": "Java", "cs": "C#", "cpp": "C++", "c": "C", "rb": "Ruby", "php": "PHP",
                    "swift": "Swift", "kt": "Kotlin", "go": "Go", "rs": "Rust", "scala": "Scala",
                    "r": "R", "pl": "Perl", "sh": "Shell", "html": "HTML", "css": "CSS", "xml": "XML",
                    "json": "JSON", "yml": "YAML", "md": "Markdown", "dockerfile": "Dockerfile"}
_FENCE_LANGUAGES.update({f.lower(): f for f in CODE_FORMATS})
_MODERATION = {"violence": "violence", "violence/graphic": "violence", "self-harm": "self_harm",
               "self-harm/intent": "self_harm", "self-harm/instructions": "self_harm",
               "sexual/minors": "sexual_minors", "hate": "hate", "hate/threatening": "hate",
               "harassment/threatening": "violence"}


class CheckError(Exception):
    """A check could not run (Portkey: ``error`` set, verdict false)."""


@dataclass
class HookContext:
    """What a check sees: the text (last message before the request, the answer after), the
    request's model, metadata and type, and its messages for the transformers."""

    text: str
    event: str = "before"  # "before" | "after"
    model: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    request_type: str = "chatComplete"
    messages: list[dict[str, Any]] | None = None


@dataclass
class Outcome:
    verdict: bool
    data: dict[str, Any] = field(default_factory=dict)
    text: str | None = None  # transformed text
    messages: list[dict[str, Any]] | None = None  # transformed messages


@dataclass(frozen=True)
class PortkeyCheck:
    id: str  # with its plugin prefix, e.g. "default.regexMatch"
    parameters: Mapping[str, Any]
    enabled: bool = True


@dataclass(frozen=True)
class Hook:
    """One Portkey guardrail: its checks and whether a failure denies."""

    id: str
    checks: tuple[PortkeyCheck, ...]
    deny: bool = False


def parse_hook(spec: Mapping[str, Any], index: int = 0) -> Hook:
    """A guardrail as Portkey accepts it: the Admin API shape (``checks`` + ``actions``), the raw
    hook shape (``checks`` + ``deny``) or the gateway shorthand (``{"regexMatch": {...}, "deny":
    true}``, a key without a dot getting the ``default.`` prefix)."""
    if "checks" in spec:
        raw_checks = spec["checks"]
        if not isinstance(raw_checks, list):
            raise ValueError("checks must be a list")
        checks = tuple(PortkeyCheck(_full_id(str(c["id"])), dict(c.get("parameters") or {}),
                                    bool(c.get("is_enabled", True))) for c in raw_checks)
        actions = spec.get("actions") or {}
        deny = bool(spec.get("deny", actions.get("deny", False)))
    else:
        checks = tuple(PortkeyCheck(_full_id(key), dict(value or {})) for key, value in spec.items()
                       if key not in _RESERVED)
        deny = bool(spec.get("deny", False))
    if not checks:
        raise ValueError("a guardrail needs at least one check")
    return Hook(str(spec.get("id") or spec.get("name") or f"guardrail-{index + 1}"), checks, deny)


def _full_id(check_id: str) -> str:
    return check_id if "." in check_id else f"default.{check_id}"


def run_hook(hook: Hook, ctx: HookContext) -> list[CheckResult]:
    """Each enabled check's result; a failed check blocks when the hook denies, else flags."""
    results = []
    for check in hook.checks:
        if not check.enabled:
            continue
        started = time.perf_counter()
        result = CheckResult(f"portkey:{check.id}", data={"guardrail": hook.id})
        fail_on_error = bool(check.parameters.get("failOnError"))
        try:
            outcome = run_check(check.id, check.parameters, ctx)
        except CheckError as exc:
            result.error = str(exc)
            passed = not fail_on_error
            result.reason = f"check could not run: {exc}"
        else:
            passed = outcome.verdict
            result.data.update(outcome.data)
            if outcome.text is not None or outcome.messages is not None:
                result.action = "transform"
                ctx.text = outcome.text if outcome.text is not None else ctx.text
                ctx.messages = outcome.messages if outcome.messages is not None else ctx.messages
            if not passed:
                result.reason = str(outcome.data.get("explanation") or f"{check.id} failed")
        result.data["portkey_verdict"] = passed
        if not passed:
            result.verdict = "block" if hook.deny else "flag"
            result.action = result.verdict
        result.duration_ms = (time.perf_counter() - started) * 1000
        results.append(result)
    return results


def run_check(check_id: str, params: Mapping[str, Any], ctx: HookContext) -> Outcome:
    plugin, _, name = check_id.partition(".")
    if plugin == "portkey" and name in _PORTKEY:
        return _PORTKEY[name](params, ctx)
    if plugin != "default" or name not in BUILT_IN:
        raise CheckError(f"{check_id} is a partner or unknown check; it is not run locally")
    runner = _BUILT_IN.get(name)
    if runner is None:
        raise CheckError(f"{check_id} needs the network; it is not run locally")
    hook = BUILT_IN[name].hook
    if hook != "both" and hook != ctx.event:
        raise CheckError(f"{check_id} runs only {hook} the request")
    outcome = runner(params, ctx)
    if "not" in BUILT_IN[name].params and params.get("not"):
        outcome.verdict = not outcome.verdict
    return outcome


def _search(pattern: str, text: str) -> regex.Match[str] | None:
    try:
        return regex.search(pattern, text, timeout=REGEX_TIMEOUT_S)
    except regex.error as exc:
        raise CheckError(f"invalid regex: {exc}") from None
    except TimeoutError:
        raise CheckError("the regex took too long on this text") from None


def _regex_match(params: Mapping[str, Any], ctx: HookContext) -> Outcome:
    if not ctx.text:
        raise CheckError("missing text to match")
    match = _search(str(params["rule"]), ctx.text)
    explanation = "the regex matched" if match else "the regex did not match"
    return Outcome(match is not None, {"explanation": explanation})


def _regex_replace(params: Mapping[str, Any], ctx: HookContext) -> Outcome:
    pattern, redact = str(params["rule"]), str(params.get("redactText") or "[REDACTED]")
    try:
        new, n = regex.subn(pattern, lambda _: redact, ctx.text, timeout=REGEX_TIMEOUT_S)
    except regex.error as exc:
        raise CheckError(f"invalid regex: {exc}") from None
    except TimeoutError:
        raise CheckError("the regex took too long on this text") from None
    passed = not (params.get("failOnDetection") and n)
    return Outcome(passed, {"replaced": n, "explanation": f"{n} match(es) replaced"}, new if n else None)


def _count_range(count: int, params: Mapping[str, Any], low: str, high: str, default_high: int,
                 what: str) -> Outcome:
    lo, hi = params.get(low, 0), params.get(high, default_high)
    if not isinstance(lo, int | float) or not isinstance(hi, int | float):
        raise CheckError(f"{low} and {high} must be numbers")
    inside = lo <= count <= hi
    return Outcome(inside, {f"{what}Count": count, "explanation":
                            f"{count} {what}s, {'inside' if inside else 'outside'} {lo}-{hi}"})


def _sentences(params: Mapping[str, Any], ctx: HookContext) -> Outcome:
    count = len(re.findall(r"[^.!?]*[.!?]+", ctx.text))
    return _count_range(count, params, "minSentences", "maxSentences", 99999, "sentence")


def _words(params: Mapping[str, Any], ctx: HookContext) -> Outcome:
    text = ctx.text.strip()
    if not text:
        raise CheckError("missing text to analyze")
    return _count_range(len(text.split()), params, "minWords", "maxWords", 99999, "word")


def _characters(params: Mapping[str, Any], ctx: HookContext) -> Outcome:
    return _count_range(len(ctx.text), params, "minCharacters", "maxCharacters", 9999999, "character")


def _json_candidates(text: str, with_objects: bool) -> list[Any]:
    blocks = [m.group(1).strip() for m in _JSON_BLOCK.finditer(text)]
    if with_objects or not blocks:
        blocks += [m.group(0) for m in _JSON_OBJECT.finditer(text)]
    if not blocks and text.strip():
        blocks = [text.strip()]
    parsed = []
    for block in blocks:
        try:
            parsed.append(json.loads(block))
        except ValueError:
            continue
    return parsed


def _json_schema(params: Mapping[str, Any], ctx: HookContext) -> Outcome:
    import jsonschema

    schema = params.get("schema")
    if not isinstance(schema, dict):
        raise CheckError("missing or invalid JSON schema")
    try:
        validator = jsonschema.validators.validator_for(schema, jsonschema.Draft202012Validator)(schema)
    except jsonschema.SchemaError as exc:
        raise CheckError(f"invalid schema: {exc.message}") from None
    found = _json_candidates(ctx.text, with_objects=False)
    if not found:
        return Outcome(False, {"explanation": "no valid JSON found in the text"})
    errors: list[str] = []
    for item in found:
        item_errors = [e.message for e in validator.iter_errors(item)]
        if not item_errors:
            return Outcome(True, {"explanation": "the JSON matches the schema"})
        errors = errors or item_errors
    return Outcome(False, {"explanation": "the JSON does not match the schema",
                           "validationErrors": errors[:10]})


def _operator(present: int, total: int, operator: str) -> bool:
    if operator == "any":
        return present > 0
    if operator == "all":
        return present == total
    if operator == "none":
        return present == 0
    raise CheckError("operator must be any, all or none")


def _json_keys(params: Mapping[str, Any], ctx: HookContext) -> Outcome:
    keys = params.get("keys")
    if not isinstance(keys, list) or not keys:
        raise CheckError("missing or invalid keys array")
    operator = str(params.get("operator"))
    best: tuple[bool, list[str]] = (False, [])
    for item in _json_candidates(ctx.text, with_objects=True):
        present = [k for k in keys if isinstance(item, dict) and k in item]
        verdict = _operator(len(present), len(keys), operator)
        if verdict:
            return Outcome(True, {"presentKeys": present, "explanation": "keys as required"})
        if len(present) > len(best[1]):
            best = (False, present)
    return Outcome(False, {"presentKeys": best[1], "explanation": f"keys do not satisfy '{operator}'"})


def _contains(params: Mapping[str, Any], ctx: HookContext) -> Outcome:
    words = params.get("words")
    if not isinstance(words, list):
        raise CheckError("words must be a list")
    present = sum(str(w) in ctx.text for w in words)
    return Outcome(_operator(present, len(words), str(params.get("operator"))), {"found": present})


def _valid_urls(params: Mapping[str, Any], ctx: HookContext) -> Outcome:
    urls = _URL.findall(ctx.text)
    bad = [u for u in urls if not _url_ok(u)]
    data: dict[str, Any] = {"validURLs": [u for u in urls if u not in bad],
                            "explanation": "syntax checked only (no network access)"}
    return Outcome(not bad, data)


def _url_ok(url: str) -> bool:
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port
    except ValueError:
        return False
    labels = host.split(".")
    return bool(host) and all(re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", label)
                              for label in labels) and (len(labels) > 1 or host == "localhost")


def _contains_code(params: Mapping[str, Any], ctx: HookContext) -> Outcome:
    wanted = str(params.get("format"))
    found = [_FENCE_LANGUAGES.get(m.group(1).lower(), m.group(1).lower())
             for m in _CODE_BLOCK.finditer(ctx.text)]
    return Outcome(wanted in found, {"foundFormats": found})


def _case(upper: bool) -> Callable[[Mapping[str, Any], HookContext], Outcome]:
    def check(params: Mapping[str, Any], ctx: HookContext) -> Outcome:
        return Outcome(ctx.text == (ctx.text.upper() if upper else ctx.text.lower()))
    return check


def _ends_with(params: Mapping[str, Any], ctx: HookContext) -> Outcome:
    suffix = str(params["suffix"])
    text = ctx.text.strip()
    return Outcome(text.endswith(suffix) or text.endswith(suffix + "."))


def _not_null(params: Mapping[str, Any], ctx: HookContext) -> Outcome:
    return Outcome(bool(ctx.text))


def _model_whitelist(params: Mapping[str, Any], ctx: HookContext) -> Outcome:
    if not ctx.model:
        raise CheckError("missing model in request")
    models = [str(m) for m in params.get("models") or []]
    return Outcome(ctx.model in models, {"model": ctx.model})


def _model_rules(params: Mapping[str, Any], ctx: HookContext) -> Outcome:
    rules = params.get("rules")
    if not ctx.model:
        raise CheckError("missing model in request")
    if not isinstance(rules, Mapping):
        raise CheckError("missing rules configuration")
    allowed: set[str] = set()
    for key, mapping in (rules.get("metadata") or {}).items():
        value = ctx.metadata.get(key)
        for v in value if isinstance(value, list) else [value] if value is not None else []:
            models = mapping.get(str(v)) if isinstance(mapping, Mapping) else None
            if isinstance(models, list):
                allowed.update(str(m) for m in models)
    if not allowed:
        allowed = {str(m) for m in rules.get("defaults") or []}
    if not allowed:
        raise CheckError("no allowed models resolved from rules")
    return Outcome(ctx.model in allowed, {"model": ctx.model})


def _listed(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value or []]


def _request_types(params: Mapping[str, Any], ctx: HookContext) -> Outcome:
    allowed = _listed(params.get("allowedTypes")) or _listed(ctx.metadata.get("supported_endpoints"))
    blocked = _listed(params.get("blockedTypes")) or _listed(ctx.metadata.get("blocked_endpoints"))
    if set(allowed) & set(blocked):
        raise CheckError("a type is both allowed and blocked")
    if ctx.request_type in blocked:
        return Outcome(False, {"explanation": f"request type {ctx.request_type} is blocked"})
    return Outcome(not allowed or ctx.request_type in allowed, {"currentRequestType": ctx.request_type})


def _metadata_keys(params: Mapping[str, Any], ctx: HookContext) -> Outcome:
    keys = params.get("metadataKeys")
    if not isinstance(keys, list) or not keys:
        raise CheckError("metadataKeys must be a non-empty list")
    present = [k for k in keys if k in ctx.metadata]
    operator = str(params.get("operator") or "all")
    return Outcome(_operator(len(present), len(keys), operator),
                   {"found_metadata_keys": present,
                    "missing_metadata_keys": [k for k in keys if k not in present]})


def _add_prefix(params: Mapping[str, Any], ctx: HookContext) -> Outcome:
    prefix = params.get("prefix")
    if not isinstance(prefix, str) or not prefix:
        raise CheckError("prefix must be a non-empty string")
    if ctx.messages is None:
        return Outcome(True, text=prefix + ctx.text)
    role = str(params.get("applyToRole") or "user")
    messages = [dict(m) for m in ctx.messages]
    index = next((i for i, m in enumerate(messages) if m.get("role") == role), None)
    if index is None:
        new = {"role": role, "content": prefix}
        messages.insert(0, new) if role == "system" else messages.append(new)
    elif params.get("onlyIfEmpty"):
        return Outcome(True)
    elif params.get("addToExisting", True) is not False and isinstance(messages[index].get("content"), str):
        messages[index]["content"] = prefix + messages[index]["content"]
    else:
        messages.insert(index, {"role": role, "content": prefix})
    return Outcome(True, {"applyToRole": role}, messages=messages)


def _portkey_pii(params: Mapping[str, Any], ctx: HookContext) -> Outcome:
    """``portkey.pii`` on the local detectors; NAME and LOCATION_ADDRESS have none here."""
    categories = params.get("categories") or ["EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS",
                                              "CREDIT_CARD", "SSN"]
    types = {entity_type(c) for c in categories if c not in ("NAME", "LOCATION_ADDRESS")}
    ref = TextRef(ctx.text)
    findings = find_pii(ref.view, types)
    data = {"detected": sorted({f.type for f in findings}),
            "unsupported": sorted(set(categories) & {"NAME", "LOCATION_ADDRESS"})}
    text = None
    if findings and params.get("redact"):
        edits = []
        for f in findings:
            start, end = ref.view.span(f.start, f.end)
            edits.append((start, end, f"[{f.type}]"))
        text = replace(ctx.text, edits)
        return Outcome(True, data, text)  # Portkey passes a check that redacted what it found
    return Outcome(not findings, data, text)


def _portkey_moderation(params: Mapping[str, Any], ctx: HookContext) -> Outcome:
    wanted = {_MODERATION[c] for c in params.get("categories") or _MODERATION if c in _MODERATION}
    hits = [h for h in safety_scan(TextRef(ctx.text)) if h.category in wanted and h.severity >= 2]
    return Outcome(not hits, {"flaggedCategories": sorted({h.category for h in hits})})


_BUILT_IN: dict[str, Callable[[Mapping[str, Any], HookContext], Outcome]] = {
    "regexMatch": _regex_match, "regexReplace": _regex_replace, "sentenceCount": _sentences,
    "wordCount": _words, "characterCount": _characters, "jsonSchema": _json_schema,
    "jsonKeys": _json_keys, "contains": _contains, "validUrls": _valid_urls,
    "containsCode": _contains_code, "alluppercase": _case(True), "alllowercase": _case(False),
    "isAllLowerCase": _case(False), "endsWith": _ends_with, "notNull": _not_null,
    "modelWhitelist": _model_whitelist, "modelRules": _model_rules,
    "allowedRequestTypes": _request_types, "requiredMetadataKeys": _metadata_keys,
    "addPrefix": _add_prefix,
}
_PORTKEY: dict[str, Callable[[Mapping[str, Any], HookContext], Outcome]] = {
    "pii": _portkey_pii, "moderateContent": _portkey_moderation,
}


def hooks_from(specs: Sequence[Mapping[str, Any]]) -> list[Hook]:
    return [parse_hook(spec, i) for i, spec in enumerate(specs)]
