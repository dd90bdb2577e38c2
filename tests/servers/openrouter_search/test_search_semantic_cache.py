"""web_search with the semantic cache on: a paraphrased query takes the stored answer of the same
model, engine, domain filters and freshness, and never one from across them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gatewise.servers.openrouter_search.server import create_server
from mcp import Client

from gatewise.config import load_settings
from gatewise_sandbox import SandboxServer
from sandbox_admin import SandboxAdmin
from tool_support import call, ledger_rows

QUERY = "Kubernetes autoscaling best practices"
PARAPHRASE = "best practices for Kubernetes autoscaling"


async def searches(tmp_path: Path, sandbox: SandboxServer, *calls: dict[str, Any]) -> list[dict[str, Any]]:
    settings = load_settings({}, data_dir=tmp_path / "data", sandbox_url=sandbox.url,
                             caching={"semantic_cache": {"enabled": True}})
    async with Client(create_server(settings)) as client:
        return [await call(client, "web_search", args) for args in calls]


def searched(upstream: SandboxAdmin) -> int:
    return sum(model["requests"] for model in upstream.stats()["models"].values())


async def test_a_paraphrased_query_is_answered_from_the_cache(tmp_path: Path, sandbox: SandboxServer,
                                                              upstream: SandboxAdmin) -> None:
    first, second = await searches(tmp_path, sandbox, {"query": QUERY}, {"query": PARAPHRASE})
    assert first["cache_status"] == "miss" and first["cost_usd"] > 0
    assert second["cache_status"] == "hit_semantic" and second["cost_usd"] == 0
    assert second["search_cost_usd"] == 0 and second["cache_age_s"] is not None
    assert second["semantic_match"]["question"] == QUERY and second["query"] == PARAPHRASE
    assert second["warnings"][0].startswith(f"answered from the semantic cache: {QUERY!r} was asked ")
    assert second["warnings"][1:] == first.get("warnings", [])  # what was said of it first, after
    assert second["answer"] == first["answer"]
    assert second["citations"] == first["citations"]
    assert searched(upstream) == 1
    rows = sorted(await ledger_rows(load_settings({}, data_dir=tmp_path / "data")), key=lambda r: r.ts)
    assert [r.cache_status for r in rows] == ["miss", "hit_semantic"]
    assert all(r.request_hash for r in rows) and rows[0].request_hash != rows[1].request_hash


async def test_no_answer_crosses_domain_filters_engines_or_freshness(tmp_path: Path, sandbox: SandboxServer,
                                                                    upstream: SandboxAdmin) -> None:
    outs = await searches(
        tmp_path, sandbox,
        {"query": QUERY, "include_domains": ["kubernetes.io"]},
        {"query": PARAPHRASE},  # no filter
        {"query": PARAPHRASE, "exclude_domains": ["kubernetes.io"]},
        {"query": PARAPHRASE, "include_domains": ["kubernetes.io"], "engine": "exa"},
        {"query": PARAPHRASE, "include_domains": ["kubernetes.io"], "freshness": "week"},
        {"query": PARAPHRASE, "include_domains": ["kubernetes.io"]})  # the same filter at last
    assert [o["cache_status"] for o in outs] == ["miss"] * 5 + ["hit_semantic"]
    assert searched(upstream) == 5


async def test_the_same_domains_in_another_order_are_the_same_filter(tmp_path: Path, sandbox: SandboxServer,
                                                                    upstream: SandboxAdmin) -> None:
    outs = await searches(tmp_path, sandbox,
                          {"query": QUERY, "include_domains": ["kubernetes.io", "cloud.google.com"]},
                          {"query": PARAPHRASE, "include_domains": ["cloud.google.com", "kubernetes.io"]})
    assert [o["cache_status"] for o in outs] == ["miss", "hit_semantic"]
    assert searched(upstream) == 1


async def test_cache_false_neither_reads_nor_stores(tmp_path: Path, sandbox: SandboxServer,
                                                    upstream: SandboxAdmin) -> None:
    outs = await searches(tmp_path, sandbox, {"query": QUERY, "cache": False}, {"query": PARAPHRASE},
                          {"query": "best practices for autoscaling Kubernetes", "cache": False})
    assert [o["cache_status"] for o in outs] == ["bypass", "miss", "bypass"]
    assert searched(upstream) == 3
