"""All input guardrails on a 2 KB prompt: p50/p95 and MB/s, side by side with Presidio's
pattern recognisers restricted to the same entity types (same run, same prompt), plus both
detectors' F1 on the labelled corpus of bench/pii_eval.py.

    python bench/guardrails.py [--iterations 2000] [--presidio-iterations 200]

Three prompts carry the same PII: plain ASCII prose; the same request as people paste it
(typographic quotes and dashes, an ellipsis, accented names, a no-break space), which the
normaliser has to fold and map back; and a CSV table, where every number is a place a card,
SSN, IP address or phone number could begin. For each, rows: gatewise PII alone (the part comparable
with Presidio), gatewise with every input filter (PII, blocklist, content safety, prompt
injection), and Presidio's analyzer on a blank spaCy pipeline (no NER model: only its regex and
checksum recognisers run). The modes take turns in rounds, so a busy machine slows each alike.
Presidio needs the bench extra: ``pip install -e '.[bench]'``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).parent))

from common import pct
from gatewise.config import load_settings
from gatewise.guardrails import GuardrailPipeline
from pii_corpus import STRUCTURED, corpus
from pii_eval import evaluate, gatewise_predict, micro, presidio_analyzer, presidio_predict

PII = "gatewise PII (7 types)"
EVERYTHING = "gatewise all input filters"
PRESIDIO = "presidio pattern recognisers (6 types)"
K = TypeVar("K")
PRESIDIO_ENTITIES = ["EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS"]

PARAGRAPH = (
    "Hi team, following up on yesterday's call about the Q3 migration. The staging cluster is "
    "mostly ready, but the billing service still times out under load and we need to review the "
    "retry policy before Friday. Could you summarise the open risks, suggest an order for the "
    "remaining tasks, and draft a short note for the customer? Keep it friendly and concise. "
)
TYPOGRAPHIC = (
    "Hi team, following up on yesterday\u2019s call about the Q3 migration \u2014 the staging "
    "cluster is mostly ready\u2026 but the billing service still times out under load and Jos\u00e9 "
    "M\u00fcller wants the \u201cretry policy\u201d reviewed before Friday. Could you summarise the "
    "open risks, suggest an order for the remaining tasks, and draft a short note for the "
    "customer? Keep it friendly and concise\u00a0\u2013 thanks! "
)
TABLE = (
    "Last week's figures, please spot anything odd:\n"
    "week,region,orders,revenue,refunds,basket,updated\n"
    "14,north,1042,34912.50,17,33.50,2024-04-08\n14,south,987,30214.75,22,30.61,2024-04-08\n"
    "14,east,1310,41870.00,9,31.96,2024-04-08\n14,west,764,22810.25,31,29.86,2024-04-09\n"
    "15,north,1108,36010.00,12,32.50,2024-04-15\n15,south,1003,31593.40,25,31.50,2024-04-15\n"
    "15,east,1288,40570.10,14,31.50,2024-04-15\n15,west,801,24831.00,27,31.00,2024-04-16\n"
)
PII_LINES = (
    "The customer contact is maria.gonzalez@example.com, phone +1 (415) 555-2671. "
    "They paid with card 4111 1111 1111 1111 and asked for a refund to DE89 3704 0044 0532 0130 00. "
    "Their old server was at 203.0.113.7. "
)


def prompt(size: int = 2048, paragraph: str = PARAGRAPH) -> str:
    """About ``size`` characters of ordinary request text with a few PII values inside."""
    text = paragraph + PII_LINES
    while len(text) < size:
        text += paragraph
    return text[:size]


def timed(modes: dict[K, Callable[[], object]], calls: dict[K, int],
          rounds: int = 10) -> dict[K, list[float]]:
    """Milliseconds per call of each mode (``calls[mode]`` calls after a tenth as many to warm
    up), in rounds so drift hits all alike."""
    samples: dict[K, list[float]] = {name: [] for name in modes}
    for name, fn in modes.items():
        for _ in range(max(5, calls[name] // 10)):
            fn()
    for _ in range(rounds):
        for name, fn in modes.items():
            for _ in range(max(1, calls[name] // rounds)):
                start = time.perf_counter()
                fn()
                samples[name].append((time.perf_counter() - start) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--presidio-iterations", type=int, default=200,
                        help="Presidio takes milliseconds per call, a table far longer")
    args = parser.parse_args()
    prompts = {"plain": prompt(), "typographic": prompt(paragraph=TYPOGRAPHIC),
               "table": prompt(paragraph=TABLE)}
    pii_only = GuardrailPipeline.from_settings(load_settings(
        env={}, guardrails={"input_filters": {"pii_detection": True}}).guardrails)
    everything = GuardrailPipeline.from_settings(load_settings(env={}, guardrails={"input_filters": {
        "pii_detection": True, "content_safety": "standard", "prompt_injection": True,
        "custom_blocklist": ["confidential", "internal", "proprietary"]}}).guardrails)
    samples = corpus(per_type=150, negatives=600, seed=11)
    f1 = {PII: micro(evaluate(gatewise_predict, samples), STRUCTURED)[2]}
    try:
        analyzer = presidio_analyzer()
    except ImportError:
        analyzer = None
        print("(presidio-analyzer not installed: pip install -e '.[bench]' for the comparison)")
    else:
        f1[PRESIDIO] = micro(evaluate(presidio_predict(analyzer), samples), STRUCTURED)[2]
    modes: dict[tuple[str, str], Callable[[], object]] = {}
    for kind, text in prompts.items():
        modes[kind, PII] = partial(pii_only.scan_input, text)
        modes[kind, EVERYTHING] = partial(everything.scan_input, text)
        if analyzer is not None:
            modes[kind, PRESIDIO] = partial(analyzer.analyze, text=text, language="en",
                                            entities=PRESIDIO_ENTITIES)
    results = timed(modes, {mode: args.presidio_iterations if mode[1] == PRESIDIO else args.iterations
                            for mode in modes})
    print(f"prompts: {', '.join(f'{k} {len(t)} characters' for k, t in prompts.items())}; "
          f"{args.iterations} calls each ({args.presidio_iterations} for presidio); F1 on "
          f"{len(samples)} labelled passages (seed 11, structured types, micro)")
    print("| prompt | path | p50 ms | p95 ms | MB/s at p50 | F1 | speed-up vs presidio (p50, same prompt) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for (kind, name), values in results.items():
        size = len(prompts[kind].encode())
        p50, p95 = statistics.median(values), pct(values, 0.95)
        baseline = results.get((kind, PRESIDIO))
        ratio = f"{statistics.median(baseline) / p50:.1f}x" if baseline else "-"
        score = f"{f1[name]:.3f}" if name in f1 else "-"
        print(f"| {kind} | {name} | {p50:.3f} | {p95:.3f} | {size / 1e6 / (p50 / 1000):.1f} | {score} "
              f"| {ratio} |")


if __name__ == "__main__":
    main()
