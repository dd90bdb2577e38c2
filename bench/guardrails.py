"""All input guardrails on a 2 KB prompt: p50/p95 and MB/s, side by side with Presidio's
pattern recognisers restricted to the same entity types (same run, same prompt), plus both
detectors' F1 on the labelled corpus of bench/pii_eval.py.

    python bench/guardrails.py [--iterations 2000] [--presidio-iterations 200]

Three prompts carry the same PII: plain ASCII prose; the same request as people paste it
(typographic quotes and dashes, an ellipsis, accented names, a no-break space), which the
normaliser has to fold and map back; and a CSV table, where every number is a place a card,
SSN, IP address or phone number could begin. Three more are digit-heavy texts from a seeded
generator, a new 2 KB text for every call (only the same PII lines recur, so caches see no
repeated numbers): a service log (timestamps, ids, durations, addresses), a JSON payload (ids,
prices, epoch times, coordinates) and a Python snippet (constants, indices, hex, floats,
versions). For each, rows: gatewise PII alone (the part comparable with Presidio), gatewise
with every input filter (PII, blocklist, content safety, prompt injection), and Presidio's
analyzer on a blank spaCy pipeline (no NER model: only its regex and checksum recognisers
run). A last prompt is a model's 2 KB answer (a new one for every call) with the evidence it
was given: the output checks (compliance, i.e. blocklist, content safety and PII redaction,
and local grounding) against Presidio on the same answer. The modes take turns in rounds, so
a busy machine slows each alike. Presidio needs the bench extra: ``pip install -e '.[bench]'``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
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
OUTPUT = "gatewise output checks (compliance + grounding)"
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


def _log_line(rnd: random.Random) -> str:
    level = rnd.choice(["INFO", "INFO", "INFO", "WARN", "ERROR", "DEBUG"])
    service = rnd.choice(["billing", "auth", "search", "worker", "gateway"])
    return (f"2024-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d} {rnd.randint(0, 23):02d}:"
            f"{rnd.randint(0, 59):02d}:{rnd.randint(0, 59):02d}.{rnd.randint(0, 999):03d} {level} "
            f"{service}[{rnd.randint(100, 65535)}]: req={rnd.getrandbits(40):x} user={rnd.randint(1, 10**7)} "
            f"took {rnd.randint(1, 30000)} ms from 10.{rnd.randint(0, 255)}.{rnd.randint(0, 255)}."
            f"{rnd.randint(1, 254)}:{rnd.randint(1024, 65535)} status={rnd.choice([200, 204, 404, 503])}")


def _json_line(rnd: random.Random) -> str:
    return json.dumps({
        "id": rnd.randint(10**8, 10**12), "sku": f"A{rnd.randint(1000, 99999)}-{rnd.randint(10, 99)}",
        "price": round(rnd.uniform(0.5, 99999), 2), "qty": rnd.randint(1, 500),
        "created": rnd.randint(1_600_000_000, 1_800_000_000),
        "geo": [round(rnd.uniform(-90, 90), 6), round(rnd.uniform(-180, 180), 6)],
        "ratio": round(rnd.random(), 8)}) + ","


def _code_line(rnd: random.Random) -> str:
    name = rnd.choice(["buf", "table", "weights", "offsets", "cache"])
    return rnd.choice([
        f"    {name}[{rnd.randint(0, 4095)}] = 0x{rnd.getrandbits(32):08x}  # line {rnd.randint(1, 9999)}",
        f"    timeout_ms = {rnd.randint(100, 600_000)}; retries = {rnd.randint(0, 9)}; "
        f"scale = {rnd.uniform(0, 1000):.9f}",
        f"    assert version >= ({rnd.randint(0, 9)}, {rnd.randint(0, 30)}, {rnd.randint(0, 99)}), "
        f"\"needs {rnd.randint(1, 9)}.{rnd.randint(0, 30)}.{rnd.randint(0, 99)}\"",
        f"    for i in range({rnd.randint(1, 10**6)}): total += i * {rnd.randint(2, 9999)} % "
        f"{rnd.choice([1_000_000_007, 998_244_353, 65_537])}",
        f"def step_{rnd.randint(1, 999)}(x, y={rnd.uniform(-10, 10):.4f}, n={rnd.randint(1, 10**9)}):",
    ])


GENERATED = {"log": _log_line, "json": _json_line, "code": _code_line}


def generated(kind: str, rnd: random.Random, size: int = 2048) -> str:
    """``size`` characters of digit-heavy lines of one kind, the PII lines after the first few."""
    line = GENERATED[kind]
    lines = [line(rnd) for _ in range(4)] + [PII_LINES.strip()]
    while sum(map(len, lines)) + len(lines) < size:
        lines.append(line(rnd))
    return "\n".join(lines)[:size]


def answer_with_context(rnd: random.Random, size: int = 2048) -> tuple[str, list[str]]:
    """A model's answer of about ``size`` characters, sentences drawn from parts some of which
    the evidence supports, with the PII lines inside; and the evidence it was given."""
    context = [PARAGRAPH + "The retry policy allows three attempts with exponential backoff. "
               "The billing service times out after 30 seconds under the current load test.",
               "Customer notes: the staging cluster runs 12 nodes; the migration window is Friday."]
    subjects = ["The staging cluster", "The billing service", "The retry policy", "The migration window",
                "The customer note", "The database upgrade", "The load test", "Each of the 12 nodes"]
    claims = ["is mostly ready for the migration", "still times out under load after 30 seconds",
              "allows three attempts with exponential backoff", "is scheduled for Friday",
              "was reviewed by the security team last month", "needs a friendly and concise note",
              "depends on version 16 of the database", "has open risks we should summarise"]
    tails = ["", " before Friday", " according to the notes", " as far as we know", " in staging"]
    text = PII_LINES
    while len(text) < size:
        text += f"{rnd.choice(subjects)} {rnd.choice(claims)}{rnd.choice(tails)}. "
    return text[:size], context


def timed(modes: dict[K, Callable[[], object]], calls: dict[K, int],
          rounds: int = 10) -> tuple[dict[K, list[float]], dict[K, list[float]]]:
    """Milliseconds per call of each mode (``calls[mode]`` calls after a tenth as many to warm
    up), in rounds so drift hits all alike: wall-clock and this process's CPU time (which other
    work on a busy machine disturbs far less)."""
    samples: dict[K, list[float]] = {name: [] for name in modes}
    cpu: dict[K, list[float]] = {name: [] for name in modes}
    for name, fn in modes.items():
        for _ in range(max(5, calls[name] // 10)):
            fn()
    for _ in range(rounds):
        for name, fn in modes.items():
            for _ in range(max(1, calls[name] // rounds)):
                start, start_cpu = time.perf_counter(), time.process_time()
                fn()
                samples[name].append((time.perf_counter() - start) * 1000)
                cpu[name].append((time.process_time() - start_cpu) * 1000)
    return samples, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--presidio-iterations", type=int, default=200,
                        help="Presidio takes milliseconds per call, a table far longer")
    args = parser.parse_args()
    rnd = random.Random(7)
    calls = max(args.iterations, args.presidio_iterations)
    prompts: dict[str, list[str]] = {"plain": [prompt()], "typographic": [prompt(paragraph=TYPOGRAPHIC)],
                                     "table": [prompt(paragraph=TABLE)]}
    prompts.update({kind: [generated(kind, rnd) for _ in range(calls * 11 // 10)] for kind in GENERATED})
    answers = [answer_with_context(rnd) for _ in range(calls * 11 // 10)]
    context = answers[0][1]
    prompts["answer"] = [answer for answer, _ in answers]
    pii_only = GuardrailPipeline.from_settings(load_settings(
        env={}, guardrails={"input_filters": {"pii_detection": True}}).guardrails)
    everything = GuardrailPipeline.from_settings(load_settings(env={}, guardrails={"input_filters": {
        "pii_detection": True, "content_safety": "standard", "prompt_injection": True,
        "custom_blocklist": ["confidential", "internal", "proprietary"]}}).guardrails)
    output = GuardrailPipeline.from_settings(load_settings(env={}, guardrails={
        "input_filters": {"custom_blocklist": ["confidential", "internal", "proprietary"]},
        "output_filters": {"compliance_check": True, "fact_verification": True,
                           "hallucination_detection": 0.8}}).guardrails)
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
    for kind, texts in prompts.items():
        if kind == "answer":
            modes[kind, OUTPUT] = each(texts, lambda text: output.scan_output(text, context))
        else:
            modes[kind, PII] = each(texts, pii_only.scan_input)
            modes[kind, EVERYTHING] = each(texts, everything.scan_input)
        if analyzer is not None:
            modes[kind, PRESIDIO] = each(texts, lambda text: analyzer.analyze(
                text=text, language="en", entities=PRESIDIO_ENTITIES))
    results, cpu = timed(modes, {mode: args.presidio_iterations if mode[1] == PRESIDIO else args.iterations
                                 for mode in modes})
    print(f"prompts: {', '.join(f'{k} {len(t[0])} characters' for k, t in prompts.items())} "
          f"({', '.join(GENERATED)} and answer: a new one for every call); {args.iterations} calls each "
          f"({args.presidio_iterations} for presidio); F1 on {len(samples)} labelled passages "
          "(seed 11, structured types, micro)")
    print("| prompt | path | p50 ms | p95 ms | CPU p50 ms | MB/s at p50 | F1 | speed-up vs presidio "
          "(p50, same prompt) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for (kind, name), values in results.items():
        size = len(prompts[kind][0].encode())
        p50, p95 = statistics.median(values), pct(values, 0.95)
        baseline = results.get((kind, PRESIDIO))
        ratio = f"{statistics.median(baseline) / p50:.1f}x" if baseline else "-"
        score = f"{f1[name]:.3f}" if name in f1 else "-"
        print(f"| {kind} | {name} | {p50:.3f} | {p95:.3f} | {statistics.median(cpu[kind, name]):.3f} "
              f"| {size / 1e6 / (p50 / 1000):.1f} | {score} | {ratio} |")


def each(texts: list[str], fn: Callable[[str], object]) -> Callable[[], object]:
    """A call of ``fn`` on the next of ``texts`` (round and round)."""
    cycle = itertools.cycle(texts)
    return lambda: fn(next(cycle))


if __name__ == "__main__":
    main()
