"""A guardrail pipeline builds what its checks load on first use when it is constructed, so the
first request pays for nothing extra: in a fresh process, scanning numbers of every configured
phone region, and text the safety lexicon reads, imports no module and builds no lexicon."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import json, sys
from gatewise.config import load_settings
from gatewise.guardrails import GuardrailPipeline
from gatewise.guardrails import safety

guard = GuardrailPipeline.from_settings(load_settings(env={}, guardrails={"input_filters": {
    "pii_detection": True, "content_safety": "standard", "prompt_injection": True}}).guardrails)
built = safety.lexicon.cache_info().currsize
loaded = set(sys.modules)
verdict = guard.scan_input(
    "Call 020 7946 0018, 030 901820, 06 12 34 56 78, 91 123 45 67, +1 (415) 555-2671, "
    "+61 2 9374 4000 or +55 11 3003 3030; I will kill him.")
print(json.dumps({"lexicon_built": built, "imported": sorted(set(sys.modules) - loaded),
                  "phones": verdict.check("pii").entities.get("PHONE", 0),
                  "safety": verdict.check("content_safety").verdict}))
"""


def test_the_first_request_loads_nothing() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    assert result["phones"] == 7 and result["safety"] == "block"  # the text did reach those paths
    assert result["lexicon_built"] == 1
    assert result["imported"] == []
