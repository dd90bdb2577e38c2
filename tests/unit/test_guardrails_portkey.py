"""Portkey's built-in checks run locally, with Portkey's parameter names and verdict semantics."""

from __future__ import annotations

from typing import Any

import pytest

from gatewise.config import load_settings
from gatewise.guardrails import CheckContext, GuardrailPipeline
from gatewise.guardrails.portkey_checks import HookContext, parse_hook, run_check, run_hook
from gatewise.portkey.checks import BUILT_IN

JSON_ANSWER = 'Here you go:\n```json\n{"name": "Ada", "age": 36}\n```'
CASES: list[tuple[str, dict[str, Any], str, bool]] = [
    ("regexMatch", {"rule": r"\d{3}-\d{2}-\d{4}"}, "ssn 536-22-8833", True),
    ("regexMatch", {"rule": r"\d{3}-\d{2}-\d{4}", "not": True}, "ssn 536-22-8833", False),
    ("sentenceCount", {"minSentences": 2, "maxSentences": 3}, "One. Two! Three?", True),
    ("sentenceCount", {"minSentences": 2, "maxSentences": 3}, "Only one.", False),
    ("wordCount", {"minWords": 1, "maxWords": 3}, "one two three four", False),
    ("wordCount", {"minWords": 1, "maxWords": 3, "not": True}, "one two three four", True),
    ("characterCount", {"minCharacters": 1, "maxCharacters": 5}, "hello", True),
    ("jsonSchema", {"schema": {"type": "object", "required": ["name"]}}, JSON_ANSWER, True),
    ("jsonSchema", {"schema": {"type": "object", "required": ["email"]}}, JSON_ANSWER, False),
    ("jsonSchema", {"schema": {"type": "object"}}, "no json here", False),
    ("jsonKeys", {"keys": ["name", "email"], "operator": "any"}, JSON_ANSWER, True),
    ("jsonKeys", {"keys": ["name", "email"], "operator": "all"}, JSON_ANSWER, False),
    ("jsonKeys", {"keys": ["email"], "operator": "none"}, JSON_ANSWER, True),
    ("contains", {"words": ["Ada", "Bob"], "operator": "any"}, JSON_ANSWER, True),
    ("contains", {"words": ["Ada", "Bob"], "operator": "all"}, JSON_ANSWER, False),
    ("contains", {"words": ["Bob"], "operator": "none"}, JSON_ANSWER, True),
    ("validUrls", {}, "see https://example.com/a and http://docs.example.org", True),
    ("validUrls", {}, "see https://exa mple and https://bad_host!/x", False),
    ("containsCode", {"format": "Python"}, "```py\nprint(1)\n```", True),
    ("containsCode", {"format": "SQL"}, "```py\nprint(1)\n```", False),
    ("alluppercase", {}, "LOUD TEXT", True),
    ("alllowercase", {"not": True}, "quiet text", False),
    ("endsWith", {"suffix": "Thanks"}, "Best regards. Thanks.", True),
    ("notNull", {}, "", False),
]


@pytest.mark.parametrize(("check", "params", "text", "passes"), CASES)
def test_built_in_check_verdicts(check: str, params: dict[str, Any], text: str, passes: bool) -> None:
    event = "after" if BUILT_IN[check].hook == "after" else "before"
    assert run_check(f"default.{check}", params, HookContext(text, event)).verdict is passes


def test_request_checks_use_model_metadata_and_type() -> None:
    ctx = HookContext("hi", "before", model="openai/gpt-5", metadata={"team": "a", "env": "prod"})
    assert run_check("default.modelWhitelist", {"models": ["openai/gpt-5"]}, ctx).verdict
    assert not run_check("default.modelWhitelist", {"models": ["openai/gpt-5"], "not": True}, ctx).verdict
    rules = {"defaults": ["x"], "metadata": {"team": {"a": ["openai/gpt-5"]}}}
    assert run_check("default.modelRules", {"rules": rules}, ctx).verdict
    assert not run_check("default.allowedRequestTypes", {"blockedTypes": ["chatComplete"]}, ctx).verdict
    assert run_check("default.requiredMetadataKeys", {"metadataKeys": ["team", "env"]}, ctx).verdict
    assert not run_check("default.requiredMetadataKeys",
                         {"metadataKeys": ["team"], "operator": "none"}, ctx).verdict


def test_errors_pass_unless_fail_on_error_and_deny_blocks() -> None:
    ctx = HookContext("text", "before")
    lenient = parse_hook({"checks": [{"id": "default.webhook", "parameters": {"webhookURL": "https://x"}}]})
    assert run_hook(lenient, ctx)[0].verdict == "pass"
    strict = parse_hook({"webhook": {"webhookURL": "https://x", "failOnError": True}, "deny": True})
    result = run_hook(strict, ctx)[0]
    assert result.verdict == "block" and "not run locally" in result.error
    flagged = parse_hook({"checks": [{"id": "default.contains", "parameters": {"words": ["x"],
                                                                            "operator": "all"}}],
                          "actions": {"deny": False}})
    assert run_hook(flagged, HookContext("abc", "after"))[0].verdict == "flag"


def test_catastrophic_user_regex_errors_instead_of_hanging() -> None:
    hook = parse_hook({"regexMatch": {"rule": r"(a|aa)+$", "failOnError": True}, "deny": True})
    result = run_hook(hook, HookContext("a" * 60 + "!", "before"))[0]
    assert result.verdict == "block" and "too long" in result.error


def test_transformers_and_portkey_pii() -> None:
    replaced = run_check("default.regexReplace", {"rule": r"\d{4}", "redactText": "####"},
                         HookContext("pin 1234", "before"))
    assert replaced.verdict and replaced.text == "pin ####"
    pii = run_check("portkey.pii", {"categories": ["EMAIL_ADDRESS", "SSN"], "redact": True},
                    HookContext("mail a@b.example, ssn 536-22-8833", "before"))
    assert pii.text == "mail [EMAIL], ssn [US_SSN]"
    assert not run_check("portkey.pii", {}, HookContext("mail a@b.example", "before")).verdict


async def test_configured_guardrails_run_in_the_pipeline() -> None:
    settings = load_settings(env={}, guardrails={
        "input_guardrails": [{"modelWhitelist": {"models": ["openai/gpt-5"]}, "deny": True}],
        "output_guardrails": [{"checks": [{"id": "default.jsonKeys",
                                           "parameters": {"keys": ["name"], "operator": "all"}}],
                               "actions": {"deny": False}}]})
    guard = GuardrailPipeline.from_settings(settings.guardrails)
    denied = await guard.check_input("hi", CheckContext(model="anthropic/claude-opus-5.5"))
    assert denied.blocked and denied.blocking.check == "portkey:default.modelWhitelist"
    assert not (await guard.check_input("hi", CheckContext(model="openai/gpt-5"))).blocked
    output = await guard.check_output("not json")
    assert output.verdict == "flag"


def test_bad_guardrail_config_is_one_line() -> None:
    with pytest.raises(Exception, match="not a Portkey guardrail"):
        load_settings(env={}, guardrails={"input_guardrails": [{"deny": True}]})
