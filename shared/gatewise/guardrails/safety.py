"""Content safety from a local lexicon (``safety_lexicon.json``): categories, rules with a
severity, and presets that decide which severities block and which only flag."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from gatewise.guardrails.lexicon import Lexicon, Rule
from gatewise.guardrails.texts import TextRef
from gatewise.guardrails.verdict import CheckResult, count

SEVERITY = {"low": 1, "medium": 2, "high": 3}
SEVERITY_NAME = {v: k for k, v in SEVERITY.items()}
# preset -> (lowest severity that blocks, lowest that flags; None: never flags)
PRESETS: dict[str, tuple[int, int | None]] = {
    "basic": (3, 2),
    "standard": (2, None),
    "enterprise": (2, 1),
}


@dataclass(frozen=True)
class SafetyHit:
    category: str
    severity: int
    first: int  # token indexes in the view
    last: int
    rule: str


@cache
def _data() -> dict[str, Any]:
    lexicon: dict[str, Any] = json.loads(
        resources.files("gatewise.guardrails").joinpath("safety_lexicon.json").read_text())
    return lexicon


@cache
def lexicon() -> Lexicon:
    raw = _data()
    groups: dict[str, list[str]] = raw["groups"]
    rules = [_rule(name, spec, groups) for name, category in raw["categories"].items()
             for spec in category["rules"]]
    return Lexicon(rules)


@cache
def llama_guard_codes() -> dict[str, str]:
    """Category -> the Llama Guard hazard code that covers it (``violence`` -> ``S1``)."""
    return {name: category["llama_guard"] for name, category in _data()["categories"].items()}


def _rule(category: str, spec: dict[str, Any], groups: dict[str, list[str]]) -> Rule:
    slots = [[item for alt in slot for item in groups.get(alt, [alt])]
             for slot in spec["slots"]]
    return Rule.build(category, SEVERITY[spec["severity"]], slots, spec.get("gap", 0),
                      spec.get("unless", ()))


def scan(ref: TextRef) -> list[SafetyHit]:
    view = ref.view
    return [SafetyHit(hit.rule.label, hit.rule.severity, hit.first, hit.last, hit.rule.text)
            for hit in lexicon().scan(view.tokens, view.token_set)]


def check_safety(refs: list[TextRef], preset: str, check: str = "content_safety") -> CheckResult:
    block_at, flag_at = PRESETS[preset]
    result = CheckResult(check)
    labels: list[str] = []
    worst = 0
    categories: dict[str, str] = {}
    for ref in refs:
        for hit in scan(ref):
            if hit.severity < (flag_at or block_at):
                continue
            start, end = ref.view.token_span(hit.first, hit.last)
            result.spans.append(ref.original_span(start, end, hit.category))
            result.evidence.append(f"{hit.category}/{SEVERITY_NAME[hit.severity]}: {hit.rule}")
            labels.append(hit.category)
            worst = max(worst, hit.severity)
            if SEVERITY.get(categories.get(hit.category, ""), 0) < hit.severity:
                categories[hit.category] = SEVERITY_NAME[hit.severity]
    if labels:
        result.entities = count(labels)
        result.data = {"preset": preset, "categories": categories}
        result.score = worst / 3
        blocked = worst >= block_at
        result.verdict = "block" if blocked else "flag"
        result.action = result.verdict
        listed = ", ".join(f"{c} ({s})" for c, s in sorted(categories.items()))
        result.reason = f"unsafe content: {listed}"
    return result
