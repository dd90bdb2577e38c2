"""configure_guardrails action 'test': a guardrail run locally on sample text, with Portkey's
verdicts (not, failOnError, is_enabled, deny -> 446 / 246) and no Admin API call."""

from __future__ import annotations

from typing import Any

import pytest
from portkey_support import fails, last_request_reply, ok

PHONE = {"id": "default.regexMatch", "parameters": {"rule": r"\d{3}-\d{4}"}}
NOT_PHONE = {"id": "default.regexMatch", "parameters": {"rule": r"\d{3}-\d{4}", "not": True}}
FEW_WORDS = {"id": "default.wordCount", "parameters": {"minWords": 1, "maxWords": 5}}
BAD_REGEX = {"id": "default.regexMatch", "parameters": {"rule": "(unclosed"}}
SAMPLE = "call 555-1234 now"


@pytest.mark.parametrize(("checks", "deny", "verdicts", "outcome", "status"), [
    ([PHONE], True, [True], "pass", 200),
    ([NOT_PHONE], True, [False], "block", 446),  # the regex matches; `not` makes that a failure
    ([NOT_PHONE], False, [False], "flag", 246),
    ([PHONE, FEW_WORDS], True, [True, True], "pass", 200),
    ([PHONE, {**FEW_WORDS, "parameters": {"minWords": 5}}], True, [True, False], "block", 446),
    ([BAD_REGEX], True, [True], "pass", 200),  # an error passes ...
    ([{**BAD_REGEX, "parameters": {"rule": "(unclosed", "failOnError": True}}], True, [False], "block", 446),
])
async def test_checks_run_locally_with_portkeys_verdicts(
        connect, upstream, sandbox, checks: list[dict[str, Any]], deny: bool, verdicts: list[bool],
        outcome: str, status: int) -> None:
    async with connect() as client:
        result = await ok(client, "configure_guardrails", action="test", text=SAMPLE, checks=checks,
                          actions={"deny": deny})
    trial = result["item"]
    assert (result["provider"], result["applied"]) == ("local", False)
    assert [c["verdict"] for c in trial["checks"]] == verdicts
    assert (trial["verdict"], trial["outcome"], trial["status_code"]) == (outcome == "pass", outcome, status)
    assert last_request_reply(sandbox, "/v1/guardrails").status_code == 404  # Portkey was never asked


async def test_disabled_checks_are_skipped_and_transformers_return_the_text(connect, upstream) -> None:
    replace = {"id": "default.regexReplace", "parameters": {"rule": r"\d{3}-\d{4}", "redactText": "[PHONE]"}}
    off = {**NOT_PHONE, "is_enabled": False}
    async with connect() as client:
        trial = (await ok(client, "configure_guardrails", action="test", text=SAMPLE,
                          checks=[off, replace], direction="output"))["item"]
    assert trial["skipped"] == ["default.regexMatch"] and trial["outcome"] == "pass"
    assert trial["checks"][0]["transformed"] and trial["text"] == "call [PHONE] now"
    assert trial["direction"] == "output"


@pytest.mark.parametrize(("args", "fragment"), [
    ({"checks": [PHONE]}, "`text` is required"),
    ({"text": SAMPLE}, "checks: at least one check is required"),
    ({"text": SAMPLE, "checks": [{"id": "regexMatch", "parameters": {"rule": "x"}}]},
     "checks[0].id: 'regexMatch' needs its plugin prefix"),
    ({"text": SAMPLE, "checks": [{"id": "default.wordCount", "parameters": {"minWord": 3}}]},
     "did you mean 'minWords'"),
    ({"text": "x" * 100_001, "checks": [PHONE]}, "text"),
    ({"text": SAMPLE, "checks": [PHONE], "guardrail_id": "g-1"},
     "`guardrail_id` does not apply to action 'test'"),
    ({"text": SAMPLE, "checks": [PHONE], "direction": "sideways"}, "direction"),
])
async def test_test_action_bad_input(connect, upstream, args: dict[str, Any], fragment: str) -> None:
    async with connect() as client:
        text = await fails(client, "configure_guardrails", action="test", **args)
    assert "INVALID_INPUT: " in text and fragment in text
