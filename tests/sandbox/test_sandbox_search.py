"""Web search in the sandbox over real HTTP: the three ways to ask for it, cited answers drawn
from the built-in corpus, search pricing, the server-tool rejection switch, and grounded
synthesis answers."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from gatewise.catalog import Catalog
from gatewise.search.pricing import search_fee
from gatewise_sandbox import SandboxServer, answers, corpus
from sandbox_admin import SandboxAdmin

NATIVE = "anthropic/claude-haiku-4.5"  # the vendor's own search: a flat fee
EXA = "openai/gpt-4o-mini"  # no native search, so it falls back to Exa
EXA_GOOGLE = "google/gemini-2.5-flash"
SERVER_TOOL = "openrouter:web_search"
SQLITE = "How does SQLite WAL mode handle concurrency?"
PYTHON = "What changed in Python 3.14?"
PYTHON_HOSTS = {"pynotes.dev", "docs.pynotes.dev", "blog.pynotes.dev"}
NOTHING = "zebra quantum gravity marmalade"
BY_URL = {doc.url: doc for doc in corpus.DOCUMENTS}


@pytest.fixture
def http(upstream: SandboxAdmin) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=upstream.url, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def catalog(sandbox: SandboxServer) -> Catalog:
    body = httpx.get(f"{sandbox.url}/models", params={"output_modalities": "all"}).json()
    return Catalog.from_openrouter_json(body, "sandbox")


def ask(question: str, model: str = NATIVE, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": question}], **extra}


def tool(**parameters: Any) -> list[dict[str, Any]]:
    return [{"type": SERVER_TOOL, "parameters": parameters}]


def chat(http: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    reply = http.post("/chat/completions", json=body)
    assert reply.status_code == 200, reply.text
    return reply.json()


def citations(reply: dict[str, Any]) -> list[dict[str, Any]]:
    return [a["url_citation"] for a in reply["choices"][0]["message"].get("annotations", [])]


def hosts(reply: dict[str, Any]) -> list[str]:
    return [urlsplit(c["url"]).hostname or "" for c in citations(reply)]


def content(reply: dict[str, Any]) -> str:
    return reply["choices"][0]["message"]["content"]


def expected_cost(catalog: Catalog, model: str, body: dict[str, Any], reply: dict[str, Any],
                  fee: float) -> float:
    """Token cost of the question plus the fed-in results and of the answer, plus the fee."""
    info = catalog.get(model)
    assert info is not None
    contents = [c["content"] for c in citations(reply)]
    fed = answers.count_tokens("\n".join(contents)) if contents else 0
    tokens_in = answers.prompt_tokens(body["messages"]) + fed
    tokens_out = answers.count_tokens(content(reply))
    assert (reply["usage"]["prompt_tokens"], reply["usage"]["completion_tokens"]) == (
        tokens_in, tokens_out)
    return info.cost(tokens_in, tokens_out) + fee


def test_server_tool_cites_corpus_documents_at_their_links(http: httpx.Client) -> None:
    reply = chat(http, ask(SQLITE, tools=tool()))
    text = content(reply)
    found = citations(reply)
    assert text.startswith(f"[sandbox · {NATIVE}] ")
    assert {"https://docs.dbinternals.org/sqlite/wal",
            "https://techdigest.news/2025/sqlite-concurrency-in-practice"} <= {c["url"] for c in found}
    for cite in found:
        doc = BY_URL[cite["url"]]
        assert cite["title"] == doc.title
        assert text[cite["start_index"]:cite["end_index"]] == f"[{doc.host}]({doc.url})"
        assert cite["content"].split(corpus.GAP)[0] in doc.text
    assert found[-1]["end_index"] == len(text)
    assert [c["start_index"] for c in found] == sorted(c["start_index"] for c in found)
    assert reply["usage"]["server_tool_use"] == {"web_search_requests": 1}


def test_answer_is_one_cited_sentence_per_result(http: httpx.Client) -> None:
    reply = chat(http, ask("How does Kubernetes autoscaling work?", tools=tool(max_results=2)))
    assert content(reply) == (
        f"[sandbox · {NATIVE}] Pod autoscaling only helps if the cluster has room for new pods. "
        "[clusterops.io](https://clusterops.io/autoscaling/nodes) The Horizontal Pod Autoscaler "
        "adds or removes replicas of a deployment based on metrics such as CPU use or requests "
        "per second. [clusterops.io](https://clusterops.io/autoscaling/pods)")


@pytest.mark.parametrize(("extra", "count"), [
    ({"plugins": [{"id": "web", "max_results": 2}]}, 2),
    ({"model": f"{EXA}:online"}, 3),  # every document the query matches: fewer than 5
    ({"model": f"{EXA}:free:online"}, 3),
    ({"plugins": [{"id": "context-compression"}, {"id": "web", "engine": "exa"}]}, 3),
])
def test_plugin_and_online_forms_search_too(http: httpx.Client, extra: dict[str, Any],
                                            count: int) -> None:
    reply = chat(http, {**ask(SQLITE, model=EXA), **extra})
    assert "https://docs.dbinternals.org/sqlite/wal" in {c["url"] for c in citations(reply)}
    assert len(citations(reply)) == count
    assert reply["usage"]["server_tool_use"] == {"web_search_requests": 1}


@pytest.mark.parametrize("extra", [
    {},
    {"plugins": [{"id": "web", "enabled": False}]},
    {"web_search_options": {"search_context_size": "high"}},  # sets the size, does not search
    {"tools": [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]},
])
def test_requests_without_search_do_not_search(http: httpx.Client, extra: dict[str, Any]) -> None:
    reply = chat(http, ask(SQLITE, **extra))
    assert citations(reply) == []
    assert "server_tool_use" not in reply["usage"]
    assert content(reply).startswith(f'[sandbox · {NATIVE}] You asked: "How does SQLite')


@pytest.mark.parametrize(("parameters", "expected"), [
    ({"allowed_domains": ["pynotes.dev"]}, PYTHON_HOSTS),
    ({"allowed_domains": ["*.pynotes.dev"]}, {"docs.pynotes.dev", "blog.pynotes.dev"}),
    ({"allowed_domains": ["DOCS.PYNOTES.DEV"]}, {"docs.pynotes.dev"}),
    ({"excluded_domains": ["*.pynotes.dev"]}, {"pynotes.dev"}),
    ({"excluded_domains": ["pynotes.dev"]}, set()),
])
def test_server_tool_domain_filters(http: httpx.Client, parameters: dict[str, Any],
                                    expected: set[str]) -> None:
    reply = chat(http, ask(PYTHON, tools=tool(**parameters)))
    assert set(hosts(reply)) & PYTHON_HOSTS == expected
    assert all(h in expected or h not in PYTHON_HOSTS for h in hosts(reply))


def test_plugin_domain_filters(http: httpx.Client) -> None:
    kept = chat(http, ask(PYTHON, plugins=[{"id": "web", "include_domains": ["*.pynotes.dev"]}]))
    assert sorted(hosts(kept)) == ["blog.pynotes.dev", "docs.pynotes.dev"]
    dropped = chat(http, ask(SQLITE, plugins=[{"id": "web",
                                               "exclude_domains": ["docs.dbinternals.org"]}]))
    assert "docs.dbinternals.org" not in hosts(dropped)
    assert "techdigest.news" in hosts(dropped)


@pytest.mark.parametrize(("parameters", "count"), [
    ({}, 5), ({"max_results": 2}, 2), ({"max_results": 1}, 1),
    ({"max_results": 4, "max_total_results": 3}, 3), ({"max_total_results": 2}, 2),
])
def test_result_limits(http: httpx.Client, parameters: dict[str, Any], count: int) -> None:
    reply = chat(http, ask("Model Context Protocol routing transports", tools=tool(**parameters)))
    assert len(citations(reply)) == count


def test_result_content_caps(http: httpx.Client) -> None:
    capped = chat(http, ask(SQLITE, tools=tool(max_characters=40)))
    assert all(0 < len(c["content"]) <= 40 for c in citations(capped))
    wal = answers.sentences(BY_URL["https://docs.dbinternals.org/sqlite/wal"].text)
    only_wal = tool(search_context_size="low", allowed_domains=["docs.dbinternals.org"])
    adjacent = chat(http, ask("busy timeout checkpoint", tools=only_wal))
    assert citations(adjacent)[0]["content"] == " ".join(wal[2:])
    apart = chat(http, ask("WAL checkpoint", tools=only_wal))
    assert citations(apart)[0]["content"] == wal[0] + " [...] " + wal[3]


def test_zero_results_still_pay_the_fee(http: httpx.Client, catalog: Catalog) -> None:
    body = ask(NOTHING, model=EXA, tools=tool())
    reply = chat(http, body)
    assert content(reply) == (f"[sandbox · {EXA}] The web search found no results for "
                              f'"{NOTHING}".')
    assert "annotations" not in reply["choices"][0]["message"]
    assert reply["usage"]["server_tool_use"] == {"web_search_requests": 1}
    assert reply["usage"]["cost"] == expected_cost(catalog, EXA, body, reply, 0.007)
    long_query = " ".join(f"zzz{i}" for i in range(20))
    assert content(chat(http, ask(long_query, tools=tool()))).endswith(
        f'results for "{" ".join(long_query.split()[:12])} …".')


@pytest.mark.parametrize(("model", "extra", "pricing", "fee"), [
    (NATIVE, {"tools": tool()}, {}, 0.010),
    (EXA, {"tools": tool()}, {}, 0.007),
    (f"{EXA}:free:online", {}, {}, 0.007),  # searches cost money even on free models
    (EXA_GOOGLE, {"plugins": [{"id": "web", "mode": "deep"}]}, {"mode": "deep"}, 0.012),
    (EXA_GOOGLE, {"tools": tool(engine="firecrawl")}, {"engine": "firecrawl"}, 0.007),
    ("perplexity/sonar", {"tools": tool(), "web_search_options": {"search_context_size": "high"}},
     {"context_size": "high"}, 0.012),
    ("perplexity/sonar", {"tools": tool(search_context_size="low")}, {"context_size": "low"},
     0.005),
])
def test_cost_is_token_cost_plus_search_fee(http: httpx.Client, catalog: Catalog, model: str,
                                            extra: dict[str, Any], pricing: dict[str, Any],
                                            fee: float) -> None:
    body = ask(SQLITE, model=model, **extra)
    reply = chat(http, body)
    results = len(citations(reply))
    assert results > 0
    assert search_fee(model, pricing.pop("engine", None), results=results, **pricing) == fee
    assert reply["usage"]["cost"] == expected_cost(catalog, model.split(":")[0], body, reply, fee)
    assert reply["usage"]["cost_details"]["web_search_cost"] == fee


def test_rejection_switch(http: httpx.Client, upstream: SandboxAdmin) -> None:
    assert upstream.reject_server_tool(f"{NATIVE}:online") == {"reject_server_tool": [NATIVE]}
    before = upstream.stats()["generations"]
    refused = http.post("/chat/completions", json=ask(SQLITE, tools=tool()))
    assert refused.status_code == 404
    error = refused.json()["error"]
    assert error["message"] == (f"No endpoints found that support the {SERVER_TOOL} server tool "
                                f"for {NATIVE}. (injected by the gatewise sandbox)")
    assert error["metadata"]["error_type"] == "not_found"
    assert upstream.stats()["generations"] == before
    assert citations(chat(http, ask(SQLITE, plugins=[{"id": "web"}])))
    assert citations(chat(http, ask(SQLITE, model=f"{NATIVE}:online")))
    assert citations(chat(http, ask(SQLITE, model=EXA, tools=tool())))
    # a fallback that takes the tool answers instead
    assert chat(http, ask(SQLITE, tools=tool(), models=[EXA]))["model"] == EXA


def test_rejecting_every_model_and_reset(http: httpx.Client, upstream: SandboxAdmin) -> None:
    upstream.reject_server_tool("*")
    assert http.get(f"{upstream.server.root_url}/_sandbox/search").json() == {
        "reject_server_tool": ["*"]}
    for model in (NATIVE, EXA):
        assert http.post("/chat/completions",
                         json=ask(SQLITE, model=model, tools=tool())).status_code == 404
    upstream.reset()
    assert http.get(f"{upstream.server.root_url}/_sandbox/search").json() == {
        "reject_server_tool": []}
    assert citations(chat(http, ask(SQLITE, tools=tool())))
    upstream.reject_server_tool("*")
    upstream.reject_server_tool()
    assert citations(chat(http, ask(SQLITE, tools=tool())))


@pytest.mark.parametrize("body", [{}, {"reject_server_tool": "*"}, {"reject_server_tool": [1]}])
def test_rejection_switch_rejects_bad_bodies(upstream: SandboxAdmin, body: dict[str, Any]) -> None:
    reply = httpx.put(f"{upstream.server.root_url}/_sandbox/search", json=body)
    assert reply.status_code == 400
    assert "reject_server_tool" in reply.json()["error"]["message"]


@pytest.mark.parametrize(("extra", "message"), [
    ({"tools": tool(max_results=0)},
     "tools[0].parameters.max_results: expected an integer between 1 and 25"),
    ({"tools": tool(max_results=26)},
     "tools[0].parameters.max_results: expected an integer between 1 and 25"),
    ({"tools": [{"type": "function", "function": {"name": "f"}}, *tool(engine="bing")]},
     "tools[1].parameters.engine: expected one of auto, native, exa, firecrawl, parallel, "
     "perplexity"),
    ({"tools": tool(max_characters=100_001)},
     "tools[0].parameters.max_characters: expected an integer between 1 and 100000"),
    ({"tools": tool(search_context_size="huge")},
     "tools[0].parameters.search_context_size: expected one of low, medium, high"),
    ({"tools": tool(allowed_domains="pynotes.dev")},
     "tools[0].parameters.allowed_domains: expected an array of strings"),
    ({"tools": tool(max_uses=0)}, "tools[0].parameters.max_uses: expected a positive integer"),
    ({"tools": tool(max_total_results=True)},
     "tools[0].parameters.max_total_results: expected a positive integer"),
    ({"tools": tool(user_location="Paris")},
     "tools[0].parameters.user_location: expected an object"),
    ({"tools": [{"type": SERVER_TOOL, "parameters": [3]}]}, "tools[0].parameters: expected an object"),
    ({"plugins": [{"id": "web", "max_results": 30}]},
     "plugins[0].max_results: expected an integer between 1 and 25"),
    ({"plugins": [{"id": "file-parser"}, {"id": "web", "exclude_domains": [1]}]},
     "plugins[1].exclude_domains: expected an array of strings"),
    ({"plugins": [{"id": "web", "search_prompt": 5}]}, "plugins[0].search_prompt: expected a string"),
    ({"model": f"{NATIVE}:online", "web_search_options": {"search_context_size": "max"}},
     "web_search_options.search_context_size: expected one of low, medium, high"),
])
def test_invalid_search_parameters(http: httpx.Client, extra: dict[str, Any],
                                   message: str) -> None:
    reply = http.post("/chat/completions", json={**ask(SQLITE), **extra})
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["message"] == message
    assert error["metadata"]["error_type"] == "invalid_request"


def test_output_limit_drops_cut_citations(http: httpx.Client) -> None:
    full = chat(http, ask(SQLITE, tools=tool(max_results=3)))
    first_end = citations(full)[0]["end_index"]
    limit = math.ceil(first_end / answers.CHARS_PER_TOKEN)
    cut = chat(http, ask(SQLITE, tools=tool(max_results=3), max_tokens=limit))
    assert cut["choices"][0]["finish_reason"] == "length"
    assert content(cut) == content(full)[:limit * answers.CHARS_PER_TOKEN]
    assert citations(cut) == citations(full)[:1]


def stream(http: httpx.Client, body: dict[str, Any]) -> list[dict[str, Any]]:
    reply = http.post("/chat/completions", json={**body, "stream": True})
    assert reply.status_code == 200
    events = [line[6:] for line in reply.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    return [json.loads(e) for e in events[:-1]]


def test_stream_carries_annotations_on_the_last_content_chunk(http: httpx.Client) -> None:
    body = ask(SQLITE, model=EXA, tools=tool(max_results=3))
    plain = chat(http, body)
    chunks = stream(http, body)
    pieces = [c["choices"][0] for c in chunks if c["choices"]]
    assert len(pieces) > 1
    assert "".join(p["delta"]["content"] for p in pieces) == content(plain)
    assert pieces[-1]["finish_reason"] == "stop"
    assert pieces[-1]["delta"]["annotations"] == plain["choices"][0]["message"]["annotations"]
    assert all("annotations" not in p["delta"] for p in pieces[:-1])
    usage = chunks[-1]["usage"]
    assert usage["server_tool_use"] == {"web_search_requests": 1}
    assert usage["cost"] == plain["usage"]["cost"]
    assert usage["cost_details"]["web_search_cost"] == 0.007


@pytest.mark.parametrize(("model", "extra", "engine", "results"), [
    (NATIVE, {"tools": tool(max_results=2)}, "native", 2),
    (EXA, {"tools": tool(max_results=3)}, "exa", 3),
    (NATIVE, {"plugins": [{"id": "web", "engine": "parallel", "max_results": 1}]}, "parallel", 1),
    (EXA, {"tools": tool()}, "exa", 0),
])
def test_generation_reports_the_search(http: httpx.Client, model: str, extra: dict[str, Any],
                                       engine: str, results: int) -> None:
    question = NOTHING if results == 0 else SQLITE
    made = chat(http, ask(question, model=model, **extra))
    data = http.get("/generation", params={"id": made["id"]}).json()["data"]
    assert data["num_search_results"] == results == len(citations(made))
    assert data["web_search_engine"] == engine
    assert data["total_cost"] == made["usage"]["cost"]


def test_generation_without_search(http: httpx.Client) -> None:
    made = chat(http, ask(SQLITE))
    data = http.get("/generation", params={"id": made["id"]}).json()["data"]
    assert (data["num_search_results"], data["web_search_engine"]) == (0, None)


SOURCES = """Answer the question from the sources, citing them as [n].

<sources>
[1] SQLite write-ahead logging explained
URL: https://docs.dbinternals.org/sqlite/wal
In WAL mode SQLite appends changes to a log. Readers keep a snapshot.

[2] QUIC in production
URL: https://blog.netlayer.io/2025/quic-in-production
Rolling out HTTP/3 cut page load time
on mobile networks. Firewalls still drop UDP.
</sources>

Question: how do databases and networks cope with concurrency?"""


def test_synthesis_cites_each_source(http: httpx.Client) -> None:
    reply = chat(http, ask(SOURCES))
    assert content(reply) == (f"[sandbox · {NATIVE}] In WAL mode SQLite appends changes to a log. "
                              "[1] Rolling out HTTP/3 cut page load time on mobile networks. [2]")
    assert citations(reply) == []


def test_synthesis_cites_at_most_eight_sources(http: httpx.Client) -> None:
    entries = "\n\n".join(f"[{n}] Title {n}\nURL: https://example.com/{n}\nFact number {n}. More."
                          for n in range(1, 11))
    reply = chat(http, ask(f"Use these.\n<sources>\n{entries}\n</sources>\nQuestion: facts?"))
    assert content(reply) == f"[sandbox · {NATIVE}] " + " ".join(
        f"Fact number {n}. [{n}]" for n in range(1, 9))


def test_search_request_ignores_sources_block(http: httpx.Client) -> None:
    reply = chat(http, ask(SOURCES, tools=tool()))
    assert "[1]" not in content(reply) and citations(reply)


def test_search_answers_match_the_spec(http: httpx.Client) -> None:
    pytest.importorskip("yaml")
    validators = pytest.importorskip("openapi_schema_validator")
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    from spec_support import OPENROUTER_SPEC, load_spec

    registry = Registry().with_resource("urn:openrouter",
                                        Resource(load_spec(OPENROUTER_SPEC), DRAFT202012))

    def schema(name: str) -> Any:
        return validators.OAS31Validator({"$ref": f"urn:openrouter#/components/schemas/{name}"},
                                         registry=registry)

    body = ask(SQLITE, model=EXA, tools=tool(max_results=2))
    reply = chat(http, body)
    assert citations(reply)
    schema("ChatResult").validate(reply)
    schema("URLCitation").validate({"type": "url_citation", **citations(reply)[0]})
    for piece in stream(http, body):
        schema("ChatStreamChunk").validate(piece)


def test_synthesis_prompt_with_an_empty_sources_block_is_answered() -> None:
    """A research question too short to search leaves the block empty: an answer, not a 500."""
    from gatewise_sandbox.answers import sources

    assert sources("<sources>\n</sources>") == []
