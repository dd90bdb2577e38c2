"""All input guardrails on a 2 KB prompt: p50/p95 and MB/s, side by side with Presidio's
pattern recognisers restricted to the same entity types (same run, same prompt), plus both
detectors' F1 on the labelled corpus of bench/pii_eval.py.

    python bench/guardrails.py [--iterations 2000]

Rows: gatewise PII alone (the part comparable with Presidio), gatewise with every input
filter (PII, blocklist, content safety, prompt injection), and Presidio's analyzer on a blank
spaCy pipeline (no NER model: only its regex and checksum recognisers run). Presidio needs the
bench extra: ``pip install -e '.[bench]'``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import pct
from gatewise.config import load_settings
from gatewise.guardrails import GuardrailPipeline
from pii_corpus import STRUCTURED, corpus
from pii_eval import evaluate, gatewise_predict, micro, presidio_analyzer, presidio_predict

PARAGRAPH = (
    "Hi team, following up on yesterday's call about the Q3 migration. The staging cluster is "
    "mostly ready, but the billing service still times out under load and we need to review the "
    "retry policy before Friday. Could you summarise the open risks, suggest an order for the "
    "remaining tasks, and draft a short note for the customer? Keep it friendly and concise. "
)
PII_LINES = (
    "The customer contact is maria.gonzalez@example.com, phone +1 (415) 555-2671. "
    "They paid with card 4111 1111 1111 1111 and asked for a refund to DE89 3704 0044 0532 0130 00. "
    "Their old server was at 203.0.113.7. "
)


def prompt(size: int = 2048) -> str:
    """About ``size`` characters of ordinary request text with a few PII values inside."""
    text = PARAGRAPH + PII_LINES
    while len(text) < size:
        text += PARAGRAPH
    return text[:size]


def timed(fn: Callable[[], object], iterations: int) -> list[float]:
    for _ in range(max(10, iterations // 10)):
        fn()
    samples = []
    for _ in range(iterations):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=2000)
    args = parser.parse_args()
    text = prompt()
    pii_only = GuardrailPipeline.from_settings(load_settings(
        env={}, guardrails={"input_filters": {"pii_detection": True}}).guardrails)
    everything = GuardrailPipeline.from_settings(load_settings(env={}, guardrails={"input_filters": {
        "pii_detection": True, "content_safety": "standard", "prompt_injection": True,
        "custom_blocklist": ["confidential", "internal", "proprietary"]}}).guardrails)
    modes: dict[str, Callable[[], object]] = {
        "gatewise PII (7 types)": lambda: pii_only.scan_input(text),
        "gatewise all input filters": lambda: everything.scan_input(text),
    }
    samples = corpus(per_type=150, negatives=600, seed=11)
    f1 = {"gatewise PII (7 types)": micro(evaluate(gatewise_predict, samples), STRUCTURED)[2]}
    try:
        analyzer = presidio_analyzer()
    except ImportError:
        print("(presidio-analyzer not installed: pip install -e '.[bench]' for the comparison)")
    else:
        name = "presidio pattern recognisers (6 types)"
        modes[name] = lambda: analyzer.analyze(text=text, language="en",
                                               entities=["EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD",
                                                         "IBAN_CODE", "US_SSN", "IP_ADDRESS"])
        f1[name] = micro(evaluate(presidio_predict(analyzer), samples), STRUCTURED)[2]
    results = {name: timed(fn, args.iterations) for name, fn in modes.items()}
    baseline = results.get("presidio pattern recognisers (6 types)")
    print(f"prompt: {len(text)} characters; {args.iterations} calls each; F1 on {len(samples)} "
          f"labelled passages (seed 11, structured types, micro)")
    print("| path | p50 ms | p95 ms | MB/s at p50 | F1 | speed-up vs presidio (p50) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, values in results.items():
        p50, p95 = statistics.median(values), pct(values, 0.95)
        ratio = f"{statistics.median(baseline) / p50:.1f}x" if baseline else "-"
        score = f"{f1[name]:.3f}" if name in f1 else "-"
        rate = len(text) / 1e6 / (p50 / 1000)
        print(f"| {name} | {p50:.3f} | {p95:.3f} | {rate:.1f} | {score} | {ratio} |")


if __name__ == "__main__":
    main()
