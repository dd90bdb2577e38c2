"""What the secret scrubber costs per text, next to ``str.lower()`` over the same text.

Every tool result, error, log line and ledger row passes :class:`gatewise.redact.Scrubber`, so
this measures it on the texts it meets: a typical tool result, a long answer in prose, a large
base64 blob (an image), and an error with a key in it. Three secrets are configured (an
OpenRouter key, a Portkey key and a virtual key), as in a fully configured process.

Usage: python bench/scrub.py [--repeat N]
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import statistics
import time
from collections.abc import Callable

from gatewise.redact import Scrubber

BASE62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
OPENROUTER_KEY = "sk-or-v1-" + "".join(random.Random(1).choices("0123456789abcdef", k=64))
PORTKEY_KEY = "pk-" + "".join(random.Random(2).choices(BASE62, k=28))
VIRTUAL_KEY = "vk-" + "".join(random.Random(3).choices(BASE62, k=20))


def texts() -> dict[str, str]:
    result = json.dumps({
        "answer": "Paris is the capital of France. " * 40, "model": "openai/gpt-5-nano",
        "provider": "openrouter", "attempts": [{"model": "openai/gpt-5-nano", "status": "ok"}],
        "citations": [{"url": f"https://example.org/page/{i}", "title": f"Source {i}"} for i in range(8)],
        "tokens_in": 812, "tokens_out": 240, "cost_usd": 0.00012, "warnings": []})
    prose = ("The committee reviewed the proposal in detail and, after a long discussion about costs "
             "and benefits, decided to postpone the vote until the next meeting. ") * 700
    blob = base64.b64encode(random.Random(4).randbytes(750_000)).decode()
    error = f"openrouter answered HTTP 401: provider rejected key {OPENROUTER_KEY} for this request"
    return {"tool result (2 KB)": result, "prose (100 KB)": prose, "base64 blob (1 MB)": blob,
            "error with a key": error}


def per_call(fn: Callable[[], object], repeat: int) -> float:
    """Median seconds per call over ``repeat`` timed runs of enough calls to last ~20 ms."""
    calls = 1
    while True:
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        if time.perf_counter() - started > 0.02:
            break
        calls *= 2
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        runs.append((time.perf_counter() - started) / calls)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    started = time.perf_counter()
    scrubber = Scrubber((OPENROUTER_KEY, PORTKEY_KEY, VIRTUAL_KEY))
    build_ms = (time.perf_counter() - started) * 1000
    print(f"matcher built once for 3 secrets in {build_ms:.2f} ms\n")
    print("| text | chars | scrub µs | scrub MB/s | str.lower() µs | ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, text in texts().items():
        scrub_s = per_call(lambda t=text: scrubber.scrub(t), args.repeat)
        lower_s = per_call(lambda t=text: t.lower(), args.repeat)
        print(f"| {name} | {len(text):,} | {scrub_s * 1e6:,.1f} | {len(text) / scrub_s / 1e6:,.1f} "
              f"| {lower_s * 1e6:,.1f} | {scrub_s / lower_s:,.0f}× |")


if __name__ == "__main__":
    main()
