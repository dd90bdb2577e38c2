"""Credentials in text: cloud and VCS tokens, model-provider keys, JWTs, private keys and
passwords inside URLs.

Each family is a pattern anchored on its fixed prefix (so the regex engine skips to it) with
bounded repeats only, plus a check in Python that weeds out look-alikes (a JWT header must
decode to JSON naming an algorithm; an ``sk-`` key must look random).
"""

from __future__ import annotations

import base64
import binascii
import json
import re

from gatewise.guardrails.entities import Finding
from gatewise.guardrails.normalize import needle

# Every family starts at a token boundary and uses bounded, possessive repeats: each start
# position costs a bounded amount of work, whatever the input (no catastrophic backtracking).
# A family's pattern only runs when one of its fixed anchors occurs in the text (a substring
# test in C), so ordinary prose costs a few `in` checks.
_B = r"(?<![A-Za-z0-9_\-])"
_T = r"(?![A-Za-z0-9_\-])"
_SPECS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("aws", ("AKIA", "ASIA", "ABIA", "ACCA"), rf"{_B}(?P<aws>(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{{16}}+){_T}"),
    ("github", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
     rf"{_B}(?P<github>gh[pousr]_[A-Za-z0-9]{{36,251}}+|github_pat_[A-Za-z0-9_]{{22,255}}+){_T}"),
    ("gitlab", ("glpat-",), rf"{_B}(?P<gitlab>glpat-[A-Za-z0-9_\-]{{20,64}}+){_T}"),
    ("slack", ("xox",), rf"{_B}(?P<slack>xox[abprs]-[A-Za-z0-9\-]{{10,200}}+){_T}"),
    ("slack_webhook", ("hooks.slack.com",),
     r"(?P<slack_webhook>https://hooks\.slack\.com/services/T[A-Za-z0-9_]{4,20}+/B[A-Za-z0-9_]{4,20}+"
     r"/[A-Za-z0-9_]{16,40}+)"),
    ("provider", ("sk-",), rf"{_B}(?P<provider>sk-(?:or-v1-|ant-(?:api\d\d-|admin\d\d-)?|proj-|svcacct-|"
                           rf"admin-)?[A-Za-z0-9_\-]{{20,200}}+){_T}"),
    ("stripe", ("_live_", "_test_"), rf"{_B}(?P<stripe>(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{{20,120}}+){_T}"),
    ("google", ("AIza",), rf"{_B}(?P<google>AIza[A-Za-z0-9_\-]{{35}}+){_T}"),
    ("huggingface", ("hf_",), rf"{_B}(?P<huggingface>hf_[A-Za-z0-9]{{30,40}}+){_T}"),
    ("npm", ("npm_",), rf"{_B}(?P<npm>npm_[A-Za-z0-9]{{36}}+){_T}"),
    ("pypi", ("pypi-",), rf"{_B}(?P<pypi>pypi-AgE[A-Za-z0-9_\-]{{50,300}}+){_T}"),
    ("jwt", ("eyJ",),
     rf"{_B}(?P<jwt>eyJ[A-Za-z0-9_\-]{{8,2000}}+\.[A-Za-z0-9_\-]{{8,8000}}+\.[A-Za-z0-9_\-]{{0,2000}}+){_T}"),
    ("pem", ("PRIVATE KEY",), r"(?P<pem>-----BEGIN[A-Z0-9 ]{0,40} PRIVATE KEY(?: BLOCK)?-----)"),
    ("url_password", ("://",),
     r"://[^\s:/@\"'<>]{1,128}+:(?P<url_password>[^\s/@\"'<>]{1,256}+)@[A-Za-z0-9\[]"),
    ("aws_secret", ("ecret", "ECRET"),
     r"(?i:aws_?secret_?access_?key)[\"']?\s{0,4}+[:=]\s{0,4}+[\"']?"
     r"(?P<aws_secret>[A-Za-z0-9/+]{40}+)(?![A-Za-z0-9/+])"),
)
_FAMILIES = tuple((name, tuple(map(needle, anchors)), re.compile(pattern))
                  for name, anchors, pattern in _SPECS)
# Families whose shortest value is 16 or more base64/URL-safe characters in a row: none can
# be in a text without such a run (which the PII check has found already), so prose without
# one skips their anchor tests.
_IN_LONG_RUNS = frozenset({"aws", "github", "gitlab", "provider", "stripe", "google", "huggingface",
                           "npm", "pypi", "aws_secret"})
_WITHOUT_LONG_RUNS = tuple(family for family in _FAMILIES if family[0] not in _IN_LONG_RUNS)
_PEM_END = re.compile(r"-----END[A-Z0-9 ]{0,40} PRIVATE KEY(?: BLOCK)?-----")
_PEM_MAX = 16_384  # a 4096-bit RSA key in PEM is about 3.3 KB
_BASE64_LINES = re.compile(r"(?:[\t ]*[A-Za-z0-9+/=]{16,80}[\t ]*\r?\n?){1,200}")
_PLACEHOLDER_PASSWORDS = frozenset({"password", "pass", "passwd", "secret", "pwd", "xxx", "***",
                                    "changeme", "redacted", "token"})


def find_secrets(text: str, *, long_runs: bool = True) -> list[Finding]:
    """Credentials in ``text``; ``long_runs``: whether it holds a run of at least 16 base64
    characters (when False, the families that need one are skipped)."""
    found: list[Finding] = []
    for family, anchors, pattern in _FAMILIES if long_runs else _WITHOUT_LONG_RUNS:
        for anchor in anchors:  # a plain loop: this runs for every text, however short
            if anchor.probe in text and anchor.text in text:
                break
        else:
            continue
        for match in pattern.finditer(text):
            finding = _accept(text, match, family)
            if finding is not None:
                found.append(finding)
    return sorted(found, key=lambda f: f.start)


def _accept(text: str, match: re.Match[str], family: str) -> Finding | None:
    start, end = match.span(family)
    value = match.group(family)
    if family == "url_password" and (value.lower() in _PLACEHOLDER_PASSWORDS
                                     or set(value) <= {"*", "x", "X", "."}):
        return None
    if family == "provider" and not _looks_random(value[3:]):
        return None
    if family == "jwt" and not _jwt_header(value.split(".", 1)[0]):
        return None
    if family == "pem":
        end = _pem_end(text, end)
        value = text[start:end]
    return Finding("SECRET", start, end, value, family)


def _looks_random(body: str) -> bool:
    """A provider key's random part mixes letters and digits; ``sk-this-is-not-a-key`` does not."""
    has_digit = any(c.isdigit() for c in body)
    has_alpha = any(c.isalpha() for c in body)
    longest = max(len(part) for part in re.split(r"[-_]", body))
    return has_digit and has_alpha and longest >= 16 and len(set(body)) >= 10


def _jwt_header(part: str) -> bool:
    """A JWT's first part is base64url JSON with an ``alg``."""
    try:
        header = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return False
    return isinstance(header, dict) and "alg" in header


def _pem_end(text: str, body_start: int) -> int:
    """Where a private-key block ends: its END line, else the end of its base64 lines."""
    window = text[body_start: body_start + _PEM_MAX]
    end = _PEM_END.search(window)
    if end is not None:
        return body_start + end.end()
    lines = _BASE64_LINES.match(window.lstrip("\r\n"))
    offset = len(window) - len(window.lstrip("\r\n"))
    return body_start + offset + (lines.end() if lines else 0)
