"""A support-desk stream through routed_complete with the semantic cache on, exact-only and off.

The stream is generated from templates with a fixed seed: each request asks one labelled
question (an intent and its value: order 4711, 30 days, Canada, the Pro plan, does/does not …)
in one of several wordings. Labels recur, so the stream holds exact repeats, paraphrases and
near-miss traps (the same wording with another number, place, plan or a negation). The same
stream goes through the routed_complete tool (an in-memory MCP client, the sandbox upstream in
its own process) three times in one run, each on a fresh data directory:

- off:        no response cache (the baseline: every request goes upstream);
- exact-only: the exact response cache;
- semantic:   the exact cache, then the semantic cache (caching.semantic_cache.enabled).

A wrong answer is a cached answer served for a question whose label differs from the label of
the question it was first given to (for a semantic hit, the stored question the result names).

Usage: python bench/cache_replay.py [--requests 600] [--seed 7]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gatewise.servers.routing_gateway.server import create_server
from mcp import Client

from common import sandbox_process
from gatewise.cache.semantic import FILE_NAME as SEMANTIC_FILE
from gatewise.config import load_settings

SYSTEM = "You are the support assistant of Northwind Outfitters. Answer in two sentences."
PROJECT = "support-desk"
REPEAT_SHARE = 0.35  # of requests whose label was asked before: the very same words again
# An intent, its values (None: the question takes none), and wordings of one question.
FAMILIES: list[tuple[str, list[Any], list[str]]] = [
    ("reset_password", [None], [
        "How do I reset my password?", "How can I reset my password?",
        "What are the steps to reset my password?", "I forgot my password, how do I reset it?"]),
    ("change_email", [None], [
        "How do I change the email address on my account?", "How can I update my account email?",
        "Where do I change the email address of my account?"]),
    ("order_status", [4711, 4712, 5230, 8802, 10045, 31337], [
        "Where is my order #{v}?", "What is the status of order {v}?", "Has order {v} shipped yet?",
        "Can you track order {v} for me?"]),
    ("refund_after_days", [7, 14, 30, 60], [
        "Can I still get a refund {v} days after delivery?",
        "Is a refund possible {v} days after delivery?",
        "My parcel arrived {v} days ago, can I still get a refund?"]),
    ("ships_to", ["Canada", "Mexico", "Japan", "Germany", "Austria", "Australia"], [
        "Do you ship to {v}?", "Can I get my order delivered to {v}?", "Is shipping to {v} available?"]),
    ("phone_support_in_plan", ["Pro", "Basic"], [
        "Does the {v} plan include phone support?", "Is phone support part of the {v} plan?",
        "Do I get phone support with the {v} plan?"]),
    ("payment_methods", ["accept", "do not accept"], [
        "Which payment methods do you {v}?", "What payment methods do you {v}?"]),
    ("open_on", ["Saturday", "Sunday"], [
        "Is your store open on {v}?", "Are you open on {v}?", "What are your opening hours on {v}?"]),
]


def stream(requests: int, seed: int) -> tuple[list[str], dict[str, str]]:
    """The questions in order, and each wording's label."""
    rng = random.Random(seed)
    labels = [(intent, value, wordings) for intent, values, wordings in FAMILIES for value in values]
    # Some questions are asked far more often than others, as at any help desk.
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(labels))]
    rng.shuffle(weights)
    label_of: dict[str, str] = {}
    asked: dict[str, list[str]] = {}
    out = []
    for _ in range(requests):
        intent, value, wordings = rng.choices(labels, weights)[0]
        label = f"{intent}={value}"
        earlier = asked.setdefault(label, [])
        if earlier and rng.random() < REPEAT_SHARE:
            text = rng.choice(earlier)
        else:
            text = rng.choice(wordings).format(v=value)
        assert label_of.setdefault(text, label) == label, f"{text!r} would carry two labels"
        earlier.append(text)
        out.append(text)
    return out, label_of


@dataclass
class Tally:
    upstream: int = 0
    hits: dict[str, int] = field(default_factory=lambda: {"hit_exact": 0, "hit_semantic": 0})
    cost_usd: float = 0.0
    wrong: list[tuple[str, str]] = field(default_factory=list)
    available: bool = True


MODES: dict[str, dict[str, Any]] = {
    "off (baseline)": {"response_cache": {"exact_match": False}},
    "exact-only": {},
    "semantic + exact": {"semantic_cache": {"enabled": True}},
}


async def replay(url: str, data: Path, caching: dict[str, Any], questions: list[str],
                 label_of: dict[str, str]) -> Tally:
    settings = load_settings({}, data_dir=data, sandbox_url=url, caching=caching)
    tally = Tally()
    async with Client(create_server(settings)) as client:
        for question in questions:
            result = await client.call_tool("routed_complete", {"system": SYSTEM, "prompt": question,
                                                                "project": PROJECT})
            assert not result.is_error, result.content
            out = result.structured_content
            status = out["cache_status"]
            tally.cost_usd += out["cost_usd"]
            if status not in tally.hits:
                tally.upstream += 1
                continue
            tally.hits[status] += 1
            origin = (out.get("semantic_match") or {}).get("question", question)
            if label_of.get(origin) != label_of[question]:
                tally.wrong.append((question, origin))
    # A build that does not wire the semantic cache into the pipeline never opens its file.
    tally.available = "semantic_cache" not in caching or (data / SEMANTIC_FILE).exists()
    return tally


async def main(requests: int, seed: int) -> None:
    questions, label_of = stream(requests, seed)
    results: dict[str, Tally] = {}
    with sandbox_process() as url, tempfile.TemporaryDirectory() as tmp:
        for index, (name, caching) in enumerate(MODES.items()):
            results[name] = await replay(url, Path(tmp) / str(index), caching, questions, label_of)
    report(questions, label_of, results)


def near_misses(questions: list[str], label_of: dict[str, str]) -> int:
    """Requests in a wording not seen before whose intent was asked earlier with another value
    (another order number, place, plan, day, or the negated question): a semantic lookup finds
    an answer to a question worded almost alike that must not be served."""
    seen: dict[str, set[str]] = {}
    worded: set[str] = set()
    count = 0
    for question in questions:
        intent, value = label_of[question].split("=", 1)
        values = seen.setdefault(intent, set())
        count += question not in worded and bool(values - {value})
        values.add(value)
        worded.add(question)
    return count


def report(questions: list[str], label_of: dict[str, str], results: dict[str, Tally]) -> None:
    distinct = len(set(questions))
    labels = len(set(label_of.values()))
    print(f"\ncache replay — {len(questions)} support-desk requests ({labels} labelled questions, "
          f"{distinct} distinct wordings, {near_misses(questions, label_of)} near-miss traps: a new "
          "wording of an intent asked before with another value), routed_complete via the "
          "in-memory MCP client, sandbox upstream, each mode on a fresh data directory in the same run\n")
    base = results["off (baseline)"]
    print("| mode | upstream calls | vs baseline | calls avoided | exact hits | semantic hits | "
          "spend USD | vs baseline | saved USD | wrong answers |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, tally in results.items():
        if not tally.available:
            print(f"| {name} | not wired in this build: no figures | | | | | | | | |")
            continue
        avoided = 1 - tally.upstream / len(questions)
        print(f"| {name} | {tally.upstream} | {tally.upstream / base.upstream:.3f}x | {avoided:.1%} | "
              f"{tally.hits['hit_exact']} | {tally.hits['hit_semantic']} | {tally.cost_usd:.6f} | "
              f"{tally.cost_usd / base.cost_usd:.3f}x | {base.cost_usd - tally.cost_usd:.6f} | "
              f"{len(tally.wrong)} |")
    for name, tally in results.items():
        for question, origin in tally.wrong[:5]:
            print(f"WRONG ({name}): {question!r} answered with the answer to {origin!r}")
    if any(tally.wrong for tally in results.values()):
        raise SystemExit("a cached answer was served for a question with another label")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.seed))
