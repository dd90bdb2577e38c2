"""The error taxonomy and secret scrubbing."""

from __future__ import annotations

import logging

import pytest

from gatewise import redact
from gatewise.errors import ErrorCode, GatewiseError, code_for_status, error_from_response, quoted
from gatewise.redact import RedactingFilter, Scrubber, mask, scrub
from gatewise.routing.engine import stops_route


@pytest.mark.parametrize(("status", "code"), [
    (400, ErrorCode.INVALID_INPUT), (401, ErrorCode.UNAUTHORIZED), (402, ErrorCode.INSUFFICIENT_CREDITS),
    (403, ErrorCode.FORBIDDEN_SCOPE), (404, ErrorCode.NOT_FOUND), (408, ErrorCode.UPSTREAM_TIMEOUT),
    (413, ErrorCode.TOO_LARGE), (429, ErrorCode.RATE_LIMITED), (500, ErrorCode.UPSTREAM_ERROR),
    (502, ErrorCode.UPSTREAM_ERROR), (524, ErrorCode.UPSTREAM_TIMEOUT), (529, ErrorCode.UPSTREAM_ERROR),
])
def test_status_mapping(status: int, code: ErrorCode) -> None:
    assert code_for_status(status) is code


def test_openrouter_error_type_beats_status() -> None:
    body = {"error": {"code": 400, "message": "This model's maximum context length is 8192",
                      "metadata": {"error_type": "context_length_exceeded"}}}
    err = error_from_response(400, body, provider="openrouter")
    assert err.code is ErrorCode.CONTEXT_TOO_LONG
    assert "maximum context length" in err.message
    assert err.hint and not err.retryable


INVALID = "invalid_request"


@pytest.mark.parametrize(("status", "error", "stops"), [
    (400, {"message": "messages[0].content[0]: bad part", "metadata": {"error_type": INVALID}}, True),
    (400, {"message": "Prompt is malformed", "metadata": {"error_type": "invalid_prompt"}}, True),
    (400, {"message": "maximum context length", "metadata": {"error_type": "context_length_exceeded"}},
     False),
    (404, {"message": "No endpoints found that support image input",
           "metadata": {"error_type": "no_endpoints"}}, False),
    (400, {"message": "Provider returned error"}, False),  # a provider's 400 may be the model's alone
    (400, {"message": "Unsupported parameter: top_k", "type": "invalid_request_error"}, False),  # Portkey
])
def test_only_a_request_fault_ends_a_route(status: int, error: dict, stops: bool) -> None:
    err = error_from_response(status, {"error": error}, provider="openrouter")
    assert err.code is (ErrorCode.CONTEXT_TOO_LONG if "context" in error["message"]
                        else ErrorCode.NOT_FOUND if status == 404 else ErrorCode.INVALID_INPUT)
    assert stops_route(err) is stops


def test_portkey_and_odd_bodies() -> None:
    assert error_from_response(403, {"message": "AB03 no scope"}, provider="portkey").code \
        is ErrorCode.FORBIDDEN_SCOPE
    err = error_from_response(503, "<html>bad gateway</html>", provider="x", retry_after=2.0)
    assert err.code is ErrorCode.UPSTREAM_ERROR and err.retry_after == 2.0 and err.retryable
    text = str(err)
    assert text.startswith("UPSTREAM_ERROR: x answered HTTP 503") and "retry after 2s" in text
    assert err.to_dict()["retry_after"] == 2.0


def test_an_upstream_that_echoes_a_long_argument_is_quoted_cut_short() -> None:
    body = {"error": {"message": "No such endpoint: GET /v1/logs/" + "a" * 1000 + " (see the docs)"}}
    err = error_from_response(404, body, provider="portkey")
    assert "a" * 61 not in err.message and "a" * 29 + "…" in err.message
    assert err.message.endswith("(see the docs)")  # the words after it survive
    short = error_from_response(400, {"message": "bad field 'x'"}, provider="p")
    assert short.message.endswith("bad field 'x'")


def test_quoted_arguments_are_cut_at_their_start_or_a_path_at_its_end() -> None:
    assert quoted("short") == "'short'"
    assert quoted("y" * 500) == repr("y" * 59 + "…")
    path = "/home/" + "d" * 500 + "/photo.png"
    assert quoted(path, end=True) == repr("…" + path[-59:])
    assert quoted("x" * 60) == repr("x" * 60)  # the limit itself is quoted whole


def test_mask_and_scrub() -> None:
    key = "sk-or-v1-0123456789abcdef"
    assert mask(key) == "sk-…cdef"
    assert mask(None) == "(not set)"
    assert mask("short") == "…"
    text = f"failed with key {key} and header Bearer abcdefghijklmnop"
    clean = scrub(text, (key,))
    assert key not in clean and "abcdefghijklmnop" not in clean
    assert "sk-…cdef" in clean


def test_a_scrubber_keeps_no_clean_text_beyond_its_bound() -> None:
    scrubber = Scrubber(["sk-or-v1-" + "a1b2c3d4" * 8])
    scrubber.remember_clean(["model", "content"])
    huge = "x" * (redact._CLEAN_CHARS + 1)  # one answer larger than the whole record
    scrubber.remember_clean([huge])
    assert scrubber.unseen(["model", "content", huge]) == [huge]  # kept out; the others stay


def test_logging_filter_scrubs_records(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("gatewise.test.redact")
    logger.addFilter(RedactingFilter(("pk-secret-portkey-key",)))
    with caplog.at_level(logging.INFO, logger="gatewise.test.redact"):
        logger.info("calling with %s", "pk-secret-portkey-key")
    assert "pk-secret-portkey-key" not in caplog.text
    assert "…-key" in caplog.text


def test_error_is_an_exception_with_code() -> None:
    with pytest.raises(GatewiseError) as info:
        raise GatewiseError(ErrorCode.NOT_FOUND, "no such model")
    assert info.value.code is ErrorCode.NOT_FOUND and "Hint:" in str(info.value)
