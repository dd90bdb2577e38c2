"""Rebuilt questions whose differing words are read in context (gatewise.cache.in_context): the
real local model decides, through SemanticCache.judge and store/lookup. A paraphrase that the
lexical gates alone refuse is served; a qualifier added or dropped, a sibling, a minimal pair,
another embedder and an over-long question keep the lexical verdict."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatewise.cache import in_context, word_senses
from gatewise.cache.embedders import LocalEmbedder
from gatewise.cache.gates import analyse_pair, compare, embedding_text
from gatewise.cache.semantic import PARTNERED_COSINE, REWORDED_COSINE, Scope, SemanticCache, SemanticLookup

# Each differs in a word the content or rare-word gate refuses, in a sentence built anew.
PARTNERED = [
    ("Send the contract to Priya", "Please email Priya the contract"),
    ("What is the cheapest phone plan?", "What's the most affordable phone plan?"),
    ("How do I increase the font size?", "How can I make the text bigger?"),
    ("How do I reset my PIN?", "I forgot my PIN, what do I do?"),
    # read as the gates read it: "can't remember" is "forgot", found in its sentence
    ("How do I reset my Gmail password?", "I can't remember my Gmail password, how do I get back in?"),
    # a word said in two, joined by a function word: "sent by email" is "emailed"
    ("Can I get a receipt emailed to me?", "Is it possible to have my receipt sent by email?"),
    # sentences 0.84 alike: "connect" finds "get" at 0.47, under the 0.5 a partner otherwise needs
    ("How do I connect my printer to wifi?", "How can I get my printer on the wireless network?"),
    # a limit in a question of yes or no asks for no amount: the question gate lets it through
    ("Can I increase my overdraft?", "Is it possible to raise my overdraft limit?"),
    # 0.73 alike, under the rewording's margin: "claws" finds "nails" at 0.66
    ("How do I cut my dog's nails?", "What's the proper way to clip a dog's claws?"),
]
# Rebuilt too, and another question: a word one side adds finds nothing like it in the other.
UNPARTNERED = [
    ("Can I bring an electric scooter on the bus?", "Are scooters allowed on buses?"),
    ("How much is a return ticket for a child?", "What does a child's ticket cost?"),
    # "cup" reads like the "coffee" it stands beside, and names another thing
    ("How much is a coffee?", "What does a coffee cup cost?"),
]
# A word one side puts between a determiner and a phrase both say qualifies it: the pair is not
# read in context at all ("premium" reads like "insurance", 0.67, and like "cost" beside another
# sentence's price).
QUALIFIED = [
    ("How much is a large latte?", "What does a latte cost here?"),
    ("How much does a private GP appointment cost?", "How much is a GP appointment?"),
    ("What are the opening hours of the main library?", "When is the library open?"),
    ("How do I claim on my home insurance for a burst pipe?",
     "A pipe burst at home, how do I make a claim on my premium home insurance?"),
    ("Can I add my partner to my car insurance policy?",
     "Is it possible to add my partner to my premium car insurance policy?"),
    ("What does an adult ticket to the aquarium cost?",
     "How much is a premium adult ticket for the aquarium?"),
]


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    return LocalEmbedder()


@pytest.fixture
async def cache(tmp_path: Path, embedder: LocalEmbedder) -> AsyncIterator[SemanticCache]:
    c = SemanticCache.at(tmp_path / "semantic.sqlite3", embedder, threshold=0.7, ttl_s=3600, max_bytes=10**8)
    yield c
    await c.close()


async def similarity(cache: SemanticCache, a: str, b: str) -> float:
    vectors = (await cache.embedder.embed([embedding_text(a), embedding_text(b)])).vectors
    return float(vectors[0] @ vectors[1])


async def lookup_after_storing(cache: SemanticCache, cached: str, new: str) -> SemanticLookup:
    """Store ``cached`` in a scope of its own, then look ``new`` up there."""
    scope = Scope("pair:" + cached, ("m",))
    await cache.store(scope, cached, {"answer": cached})
    return await cache.lookup(scope, new)


@pytest.mark.parametrize(("cached", "new"), PARTNERED)
async def test_a_rebuilt_paraphrase_is_served_when_its_words_have_partners(
        cache: SemanticCache, cached: str, new: str) -> None:
    assert compare(*analyse_pair(cached, new)).rebuilt
    sim = await similarity(cache, cached, new)
    assert sim >= PARTNERED_COSINE
    alone = (await cache.judge(cached, new, sim, in_context=False))[0]
    assert alone in ("content", "rare_word")  # the words alone refuse it
    assert (await cache.judge(cached, new, sim))[0] is None
    found = await lookup_after_storing(cache, cached, new)
    assert found.hit is not None and found.hit.question == cached


@pytest.mark.parametrize(("cached", "new"), UNPARTNERED)
async def test_a_rebuilt_question_with_an_unpartnered_word_misses(
        cache: SemanticCache, cached: str, new: str) -> None:
    verdict = compare(*analyse_pair(cached, new))
    assert verdict.rebuilt
    assert await similarity(cache, cached, new) >= REWORDED_COSINE  # the embedding alone would serve it
    found = await lookup_after_storing(cache, cached, new)
    assert found.hit is None and found.refused == verdict.refused == "content"


@pytest.mark.parametrize(("cached", "new"), QUALIFIED)
async def test_a_word_qualifying_a_shared_phrase_is_never_read_in_context(
        cache: SemanticCache, cached: str, new: str) -> None:
    verdict = compare(*analyse_pair(cached, new))
    assert verdict.refused == "content" and not verdict.rebuilt
    assert await similarity(cache, cached, new) >= cache.threshold
    found = await lookup_after_storing(cache, cached, new)
    assert found.hit is None and found.refused == "content"


async def test_a_minimal_pair_is_never_read_in_context(cache: SemanticCache) -> None:
    """In the same sentence, "chicken" and "beef" read alike in context; the pair is not rebuilt."""
    cached, new = "Is the chicken dish gluten-free?", "Is the beef dish gluten-free?"
    assert not compare(*analyse_pair(cached, new)).rebuilt
    assert (await cache.judge(cached, new, 0.99))[0] == "content"


@pytest.mark.parametrize(("cached", "new"), [
    ("Are lilies toxic to cats?", "are lilies dangerous for dogs"),
    ("Does my landlord have to pay for boiler repairs?", "Do I as the tenant pay for boiler repairs?"),
    ("How long should I roast a whole chicken?", "What's the roasting time for a whole turkey?"),
])
async def test_siblings_are_no_partners(cache: SemanticCache, cached: str, new: str) -> None:
    """Two kinds of one animal, food, plant or person read alike in context and name two things."""
    assert await similarity(cache, cached, new) >= REWORDED_COSINE
    assert (await lookup_after_storing(cache, cached, new)).hit is None


def test_siblings_are_kinds_of_living_things_foods_and_people() -> None:
    for a, b in (("chicken", "turkey"), ("cat", "dog"), ("landlord", "tenant"), ("beef", "pork")):
        assert word_senses.siblings((a,), (b,)), a
    # a kind and its class, one thing said two ways, and kinds of things made are not
    for a, b in (("puppy", "dog"), ("child", "kid"), ("price", "rate"), ("laptop", "notebook")):
        assert not word_senses.siblings((a,), (b,)), a


async def test_a_condition_is_never_read_in_context(cache: SemanticCache) -> None:
    """"while pregnant" and "when breastfeeding" read alike in context, and ask of two conditions."""
    cached, new = "Is it safe to take ibuprofen while pregnant?", "Can I take ibuprofen when breastfeeding?"
    assert await similarity(cache, cached, new) >= REWORDED_COSINE
    assert not compare(*analyse_pair(cached, new)).rebuilt
    assert (await lookup_after_storing(cache, cached, new)).hit is None


async def test_under_the_partnered_cosine_nothing_is_read_in_context(cache: SemanticCache) -> None:
    cached, new = PARTNERED[0]
    assert (await cache.judge(cached, new, PARTNERED_COSINE - 0.01))[0] == "content"


async def test_another_embedder_keeps_the_lexical_verdict(tmp_path: Path) -> None:
    """Only the local model gives word vectors; an upstream or hashed embedder does not."""
    c = SemanticCache.at(tmp_path / "hash.sqlite3", "local-hash", threshold=0.7, ttl_s=3600, max_bytes=10**8)
    try:
        cached, new = PARTNERED[0]
        assert (await c.judge(cached, new, 0.95))[0] == "content"
        assert await c.weakest_partner(compare(*analyse_pair(cached, new)), cached, new) == -1.0
    finally:
        await c.close()


async def test_an_over_long_question_keeps_the_lexical_verdict(cache: SemanticCache) -> None:
    cached, new = PARTNERED[0]
    padded = new + " " + "I would be grateful for your help with all of this." * 6
    assert len(padded) > in_context.MAX_CHARS
    assert (await cache.judge(cached, new, 0.9))[0] is None
    assert (await cache.judge(cached, padded, 0.9))[0] == "content"
    verdict = compare(*analyse_pair(cached, new))
    assert await cache.weakest_partner(verdict, cached, new) >= in_context.partner_bound(0.9)
    assert await cache.weakest_partner(compare(*analyse_pair(cached, padded)), cached, padded) == -1.0


async def test_questions_read_in_context_are_kept_within_a_bound(cache: SemanticCache) -> None:
    for i in range(40):
        await cache._words(f"Please email the contract {i}")
    assert len(cache._word_memo) == 16
    assert next(reversed(cache._word_memo)) == "Please email the contract 39"


def test_word_vectors_are_the_words_of_the_sentence_at_unit_length(embedder: LocalEmbedder) -> None:
    words = embedder.word_vectors_now("Please e-mail Priya the £20 CONTRACT!")
    assert [w for w, _ in words] == ["please", "e", "-", "mail", "priya", "the", "£20", "contract", "!"]
    assert all(abs(float(np.linalg.norm(v)) - 1.0) < 1e-5 and v.shape == (384,) for _, v in words)
    assert embedder.word_vectors_now("") == []


def test_a_word_the_model_does_not_see_has_no_partner() -> None:
    one, two = np.eye(3, dtype=np.float32)[:2]
    weakest = in_context.weakest_partner
    words = [("send", one), ("invoice", two)]
    assert weakest(["send"], words, [("email", one)]) == 1.0
    assert weakest(["send"], words, [("email", two)]) == 0.0  # orthogonal: no partner
    assert weakest(["send", "invoice"], words, [("email", one), ("bill", 0.6 * one + 0.8 * two)]) \
        == pytest.approx(0.8)  # the least partnered word's
    assert weakest(["require"], words, [("email", one)]) == -1.0  # not in its sentence
    assert weakest(["send"], words, [("the", one), ("!", one)]) == -1.0  # nothing to match
    # what the tokenizer leaves of "what's" or "we'll" is no word
    assert weakest(["send"], words, [("s", one), ("ll", one), ("x", one)]) == -1.0
    assert weakest([], words, [("email", two)]) == 1.0  # nothing to partner
    # the word it stands beside ("gift card") is no partner for it, whatever the vectors
    compound = [("gift", one), ("card", one)]
    assert weakest(["card"], compound, [("gift", one)]) == -1.0
    assert weakest(["card"], compound, [("voucher", one), ("gift", one)]) == 1.0
    # a word joined to it by a function word may be ("sent by email" / "emailed")
    joined = [("sent", one), ("by", two), ("email", two)]
    assert weakest(["sent"], joined, [("emailed", one)]) == 1.0
    assert weakest(["sent"], [("sent", one), ("email", two)], [("email", one)]) == -1.0
    # a word the gates respell or mend is found as the model wrote it
    assert weakest(["traveling"], [("travelling", one)], [("abroad", one)]) == 1.0
    assert weakest(["receive"], [("recieve", one)], [("get", two), ("obtain", one)]) == 1.0
    # a determiner between them leaves them side by side ("required a visa")
    assert weakest(["required"], [("required", one), ("a", two), ("visa", two)], [("visa", one)]) == -1.0


def test_sentences_alike_as_wholes_ask_less_of_a_partner() -> None:
    assert in_context.partner_bound(0.79) == in_context.PARTNER_COSINE == 0.5
    assert in_context.partner_bound(0.80) == in_context.CLOSE_PARTNER_COSINE == 0.4
    word, near = np.array([1.0, 0.0], np.float32), np.array([0.45, 0.893], np.float32)
    assert in_context.weakest_partner(["connect"], [("connect", word)], [("attach", near)]) \
        == pytest.approx(0.45)
    assert in_context.PARTNER_COSINE > 0.45 >= in_context.CLOSE_PARTNER_COSINE


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=400), st.text(max_size=400))
async def test_hostile_text_gets_a_verdict(cache: SemanticCache, cached: str, new: str) -> None:
    """Any text is judged: a gate's name or None, never an exception."""
    gate, cost = await cache.judge(cached, new, 0.9)
    assert gate is None or isinstance(gate, str)
    assert cost == 0.0
