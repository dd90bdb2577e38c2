"""``make demo``: every server end to end against the local sandbox, through a real MCP client.

Starts the sandbox (a child process) on a free loopback port, launches each server as a stdio
subprocess (exactly as Claude Desktop or Cursor would) and drives it with the MCP client from the
official SDK. ``gatewise demo`` and ``python -m gatewise.demo`` run it.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
from mcp import Client, StdioServerParameters
from mcp.types import CallToolResult, TextContent

from gatewise.ledger import open_ledger
from gatewise.upstream.local_sandbox import SandboxProcess

QUERIES = [
    ("arithmetic", "What is 17*23?"),
    ("code", "Write a Python function that checks whether a string is a palindrome."),
    ("summary", "Summarize in two bullet points: the meeting moved the launch to May because "
                "the supplier missed two deadlines and QA found a data-loss bug."),
    ("translation", "Translate into French: the invoice is attached and due on Friday."),
]
FAILING_QUERY = ("reasoning", "Explain step by step the trade-offs between optimistic and "
                              "pessimistic locking in a database.")
# Asked in turn with the semantic cache on: a question, the same question reworded, one built
# anew whose differing words are read in context, and one that reads alike but names an account,
# which must not be given the first one's answer.
SEMANTIC_QUESTIONS = ("How do I reset my password?", "How can I reset my password?",
                      "I forgot my password, what do I do?", "How do I reset my password for account 48213?")
# Premium-tier maths whose wording says how hard it is: one stays on the premium tier, one steps down.
DIFFICULTY = ("Prove that the square root of 2 is irrational.", "Convert 72 degrees Fahrenheit to Celsius.")
# A conversation whose follow-up names no task of its own.
CONVERSATION = ("Write a Python function that reverses the words in a sentence.", "def reverse_words(s): ...",
                "now make it handle unicode")


def _say(text: str = "") -> None:
    print(text, flush=True)


def _server_params(module: str, sandbox_url: str, data_dir: str, **extra: str) -> StdioServerParameters:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "GATEWISE_CONFIG"}
    env.update(GATEWISE_SANDBOX_URL=sandbox_url, GATEWISE_DATA_DIR=data_dir,
               GATEWISE_LOG_LEVEL="WARNING", **extra)
    return StdioServerParameters(command=sys.executable, args=["-m", module], env=env)


def _row(label: str, out: dict[str, Any]) -> None:
    _say(f"  {label:<13} {out['route']['task']:<16} {out['model']:<32} "
         f"${out['cost_usd']:.6f}  {out['latency_ms']:>7.1f} ms")


async def _routing_gateway(sandbox: SandboxProcess, data_dir: str) -> None:
    _say("routing-gateway  (stdio subprocess, MCP client)")
    config = Path(data_dir) / "gatewise.json"
    config.write_text(json.dumps({"caching": {"semantic_cache": {"enabled": True}}}), encoding="utf-8")
    params = _server_params("gatewise.servers.routing_gateway", sandbox.url, data_dir,
                            GATEWISE_CONFIG=str(config))
    async with Client(params) as client:
        tools = await client.list_tools()
        _say(f"  tools: {', '.join(t.name for t in tools.tools)}")
        _say(f"  {'query':<13} {'detected task':<16} {'answered by':<32} {'cost':<10} latency")
        for label, prompt in QUERIES:
            result = await client.call_tool("routed_complete", {"prompt": prompt, "project": "demo"})
            out = result.structured_content or {}
            _row(label, out)
            if label == "arithmetic":
                _say(f"  {'':<13} answer: {out['answer'][:90]}")
                full = await client.call_tool("routed_complete", {"prompt": prompt, "project": "demo",
                                                                  "explain": True})
                _say(f"  {'':<13} result {_json_size(out)} bytes of JSON; with explain: true (the whole "
                     f"route and every attempt) {_json_size(full.structured_content or {})}")
        label, prompt = FAILING_QUERY
        plan = await client.call_tool("explain_route", {"prompt": prompt})
        primary = (plan.structured_content or {})["candidates"][0]
        async with httpx.AsyncClient() as http:  # make the primary model fail every call
            await http.put(f"{sandbox.root_url}/_sandbox/faults",
                           json={"model": primary, "error_rate": 1.0, "statuses": [503]})
        _say(f"\n  injected: every call to {primary} now fails with HTTP 503")
        result = await client.call_tool("routed_complete", {"prompt": prompt, "project": "demo"})
        out = result.structured_content or {}
        for attempt in out["attempts"]:
            mark = "ok " if attempt["status"] == "ok" else "ERR"
            _say(f"    attempt {mark} {attempt['model']:<32} {attempt.get('error_code', '')}")
        _row(label, out)
        _say(f"  route: {out['route']['reason']}")
        await _semantic_cache(client)
        await _conversation(client)
        await _difficulty(client)
        bad = await client.call_tool("routed_complete", {"prompt": "  "})
        _say(f"\n  bad input → isError={bad.is_error}: {_first_line(bad)}")
        typo = await client.call_tool("routed_complete", {"prompt": "Hi", "max_token": 50})
        _say(f"  misspelt argument → {_first_line(typo)[:120]}")


async def _semantic_cache(client: Client) -> None:
    _say("\n  semantic cache (caching.semantic_cache.enabled: true; local embedder, in-process)")
    for question in SEMANTIC_QUESTIONS:
        # explain: true, so a miss says why the cache served nothing
        out = (await client.call_tool("routed_complete", {"prompt": question, "project": "demo",
                                                          "explain": True})).structured_content or {}
        match = out.get("semantic_match")
        why = next((w.split(": ", 2)[-1] for w in out.get("warnings", []) if w.startswith("semantic cache")),
                   "answered upstream")
        seen = f"answer to {match['question']!r}, similarity {match['similarity']:.2f}" if match else why
        _say(f"    {question:<46} {out['cache_status']:<12} ${out['cost_usd']:.6f}  {seen}")


async def _conversation(client: Client) -> None:
    first, reply, follow_up = CONVERSATION
    messages = [{"role": "user", "content": first}]
    out = (await client.call_tool("routed_complete", {"messages": messages})).structured_content or {}
    messages += [{"role": "assistant", "content": reply}, {"role": "user", "content": follow_up}]
    then = (await client.call_tool("routed_complete", {"messages": messages})).structured_content or {}
    alone = (await client.call_tool("explain_route", {"prompt": follow_up})).structured_content or {}
    _say(f"\n  conversation: {first!r} → {out['route']['task']} on {out['model']}")
    _say(f"    follow-up {follow_up!r} → {then['route']['task']} on {then['model']} "
         f"(read alone: {alone['task']} on {alone['candidates'][0]})")


async def _difficulty(client: Client) -> None:
    _say("\n  difficulty (explain_route): maths stays on the premium tier unless a cheaper one will do")
    for prompt in DIFFICULTY:
        plan = (await client.call_tool("explain_route", {"prompt": prompt})).structured_content or {}
        _say(f"    {prompt!r} → {plan['candidates'][0]}: {plan['reason']}")


async def _portkey_admin(sandbox: SandboxProcess, data_dir: str) -> None:
    _say("\nportkey-admin  (stdio subprocess; the sandbox stands in for Portkey's Admin API)")
    params = _server_params("gatewise.servers.portkey_admin", sandbox.url, data_dir)
    async with Client(params) as client:
        tools = await client.list_tools()
        size = len(json.dumps([t.model_dump(by_alias=True, exclude_none=True, mode="json")
                               for t in tools.tools], separators=(",", ":")))
        _say(f"  {len(tools.tools)} tools covering the Admin API; tools/list is {size:,} bytes "
             f"(~{size // 4:,} tokens)")
        stats = await client.call_tool("get_workspace_stats", {"timeframe": "30d"})
        _say(f"  {'workspace':<16} {'members':>7} {'keys':>5} {'requests':>8} {'cost $':>8}")
        for ws in (stats.structured_content or {})["workspaces"][:4]:
            _say(f"  {ws['name']:<16} {ws['members']:>7} {ws['api_keys']:>5} {ws['requests']:>8} "
                 f"{(ws['cost_cents'] or 0) / 100:>8.2f}")
        made = await client.call_tool("manage_api_keys", {
            "action": "create", "name": "demo bot", "scopes": ["logs.view"],
            "workspace_id": (stats.structured_content or {})["workspaces"][0]["id"]})
        out = made.structured_content or {}
        _say(f"  created API key {out['item']['id'][:8]}…: secret shown once "
             f"({out['secret'][:6]}…), masked afterwards")
        refused = await client.call_tool("manage_api_keys", {"action": "delete", "id": out["item"]["id"]})
        _say(f"  delete without confirm → {_first_line(refused)[:100]}")
        climb = await client.call_tool("manage_workspaces", {
            "action": "remove_member", "workspace_id": "ws-1", "user_id": "..", "confirm": True})
        _say(f"  a '..' id → {_first_line(climb)[:100]}")
        bad = await client.call_tool("configure_guardrails", {
            "action": "validate", "checks": [{"id": "default.wordCount", "parameters": {"minWord": 3}}]})
        _say(f"  guardrail check → {(bad.structured_content or {})['item']['errors'][0]}")


def _json_size(data: dict[str, Any]) -> int:
    return len(json.dumps(data, separators=(",", ":")))


def _first_line(result: CallToolResult) -> str:
    """The first line of a result's text: for an error, its code and message."""
    text = next((c.text for c in result.content if isinstance(c, TextContent)), "")
    return text.splitlines()[0] if text else ""


def _demo_png() -> str:
    """A small screenshot-like PNG as a data URL: a title bar and two lines of 'text'."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 160), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 320, 28), fill="navy")
    for y in (50, 80):
        draw.text((12, y), "Invoice 2026-11 total 1,284.00 EUR", fill="black")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


async def _multimodal(sandbox: SandboxProcess, data_dir: str) -> None:
    _say("\nopenrouter-multimodal  (stdio subprocess)")
    params = _server_params("gatewise.servers.openrouter_multimodal", sandbox.url, data_dir)
    async with Client(params) as client:
        tools = await client.list_tools()
        _say(f"  tools: {', '.join(t.name for t in tools.tools)}")
        seen = await client.call_tool("analyze_image", {"images": [_demo_png()],
                                                        "question": "What does this show?"})
        out = seen.structured_content or {}
        _say(f"  analyze_image → {out['model']}: {out['answer'][:110]}")
        again = await client.call_tool("analyze_image", {"images": [_demo_png()],
                                                         "question": "What does this show?"})
        _say(f"  same request again → cache {(again.structured_content or {})['cache_status']}, "
             f"cost ${(again.structured_content or {})['cost_usd']:.6f}")
        made = await client.call_tool("generate_image", {"prompt": "a lighthouse at dusk",
                                                         "aspect_ratio": "16:9"})
        images = [c for c in made.content if c.type == "image"]
        _say(f"  generate_image → {len(images)} PNG image(s) via "
             f"{(made.structured_content or {})['model']}")
        unsafe = await client.call_tool("analyze_image", {"images": ["http://169.254.169.254/x.png"],
                                                          "question": "?"})
        _say(f"  cloud-metadata URL → {_first_line(unsafe)[:100]}")


async def _search(sandbox: SandboxProcess, data_dir: str) -> None:
    _say("\nopenrouter-search  (stdio subprocess; the sandbox searches a small built-in corpus)")
    params = _server_params("gatewise.servers.openrouter_search", sandbox.url, data_dir)
    async with Client(params) as client:
        found = await client.call_tool("web_search", {"query": "SQLite WAL concurrency"})
        out = found.structured_content or {}
        _say(f"  web_search → {out['model']} via {out['mechanism']}, {len(out['citations'])} sources, "
             f"${out['cost_usd']:.6f} (search ${out['search_cost_usd']:.3f})")
        for cite in out["citations"]:
            _say(f"    [{cite['number']}] {cite['title']}  {cite['url']}")
        again = await client.call_tool("web_search", {"query": "SQLite WAL concurrency"})
        _say(f"  same search again → cache {(again.structured_content or {})['cache_status']}, "
             f"cost ${(again.structured_content or {})['cost_usd']:.6f}")
        steps: list[str] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            steps.append(f"{progress:g}/{total:g}" if total is not None else f"{progress:g}")

        report = await client.call_tool("research", {"question": "Compare LFP and NMC battery chemistry"},
                                        progress_callback=on_progress)
        out = report.structured_content or {}
        _say(f"  research → {len(out['searches'])} searches (progress {' '.join(steps)}), "
             f"{len(out['sources'])} distinct sources, {len(out['uncited_sentences'])} uncited sentences")
        _say(f"    {out['answer'][:150]}…")


async def _ledger_summary(data_dir: str) -> None:
    ledger = open_ledger(Path(data_dir) / "ledger.sqlite3")
    try:
        rows = await ledger.summary(group_by="model")
    finally:
        await ledger.close()
    _say("\nledger  (every upstream attempt, from the SQLite ledger)")
    _say(f"  {'model':<34} {'calls':>5} {'errors':>6} {'cost USD':>10} {'p50 ms':>7}")
    for row in rows:
        _say(f"  {row.key:<34} {row.attempts:>5} {row.errors:>6} {row.cost_usd:>10.6f} "
             f"{row.p50_latency_ms:>7.1f}")


async def run_demo() -> int:
    _say("gatewise demo — local sandbox upstream, no API keys needed (provider: sandbox)\n")
    with tempfile.TemporaryDirectory(prefix="gatewise-demo-") as data_dir:
        async with SandboxProcess() as sandbox:
            _say(f"sandbox upstream on {sandbox.url}\n")
            await _routing_gateway(sandbox, data_dir)
            await _portkey_admin(sandbox, data_dir)
            await _multimodal(sandbox, data_dir)
            await _search(sandbox, data_dir)
        await _ledger_summary(data_dir)
    _say("\ndone. With OPENROUTER_API_KEY set, the same servers use the real services.")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(run_demo()))
