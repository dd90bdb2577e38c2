"""What portkey-admin makes of what it sends and receives: a hostile analytics timestamp is left
out and named, never an internal error; the secrets a request carries, scrubbed from the reply's
echo, are every string masking would mask."""

from __future__ import annotations

import pytest

from gatewise.portkey.analytics import fit_figures
from gatewise.portkey.masking import config_secrets, mask_secrets, request_secrets


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01", "not a time"])
def test_a_timestamp_out_of_range_or_unreadable_is_dropped_and_named(stamp: str) -> None:
    problems: list[str] = []
    points = fit_figures([{"timestamp": stamp, "total": 3}], "data", problems)
    assert points == [{"total": 3}]
    assert problems == [f"data[0].timestamp ('{stamp}')"]


def test_the_secrets_a_request_carries_are_those_masking_would_mask() -> None:
    """What is scrubbed from a reply's echo is what masking masks: a credential-like nested key
    and a value named a secret by its sibling too, not only secret-named fields."""
    body = {"name": "ci", "headers": [{"name": "Authorization", "value": "Bearer abcdefgh12345678"}],
            "configurations": {"key": "AIzaSyA1b2C3d4E5f6G7h8"}, "api_key": "sk-abcdefgh12345678",
            "virtual_key": "vk-1"}
    found = request_secrets(body)
    assert sorted(found) == sorted(["Bearer abcdefgh12345678", "AIzaSyA1b2C3d4E5f6G7h8",
                                    "sk-abcdefgh12345678", "vk-1"])
    masked = str(mask_secrets(body))
    assert not any(secret in masked for secret in found if secret != "vk-1")
    assert config_secrets('{"headers": [{"name": "x-api-key", "value": "abc123def456"}]}') == ["abc123def456"]
