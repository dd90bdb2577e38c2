"""Semantic cache in conversations: a follow-up hits when the earlier turns are the cached
conversation's, reworded, and never when they are another conversation's. The real local
embedder at the default threshold decides, so what refuses a trap is the history check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gatewise.cache.embedders import LocalEmbedder
from gatewise.cache.gates import refers_by_place
from gatewise.cache.semantic import Scope, SemanticCache
from gatewise.config import SemanticCacheConfig

Turns = list[dict[str, str]]


def conversation(*texts: str) -> Turns:
    """Earlier turns, the user's first, then taking turns."""
    return [{"role": ("user", "assistant")[i % 2], "content": text} for i, text in enumerate(texts)]


EDIT = "Go to Account, then Addresses, and edit it there."
DELIVERY = conversation("How do I change my delivery address?", EDIT)
FREE = "You can return it for free within 30 days."
RETURN = conversation("I want to return the blue jacket from order 4411.", FREE)
OFFER = "Sorry! Would you like 1) a refund or 2) a replacement?"
OPTIONS = conversation("My parcel arrived damaged.", OFFER)
FREEZE = conversation("I've broken my ankle.", "I can freeze your membership for 2 months. Shall I?")
CRACKED = conversation("Order 5521 arrived with a cracked screen.",
                       "Thanks for telling us. What would you like to do?")
REPLACE = conversation("Can you replace the screen from order 5521?", "Yes.")

REWORDED = [
    (DELIVERY, conversation("How can I update my delivery address?", EDIT), "Is there a fee for that?"),
    (RETURN, conversation("I'd like to return the blue jacket from order 4411.",
                          "You can send it back for free within 30 days."), "How do I print the label?"),
    (OPTIONS, conversation("my parcel arrived damaged", OFFER), "the first one"),
    # turns that only keep the conversation going are alike however they are worded
    (CRACKED, conversation("Order 5521 arrived with a cracked screen.", "Got it, how can I help?"),
     "Can I get a replacement?"),
    # a clock time in words, and a "no problem" that negates nothing
    (conversation("We'll reach the hotel at 11pm on Saturday.", "Thanks, I've noted your late arrival."),
     conversation("We'll reach the hotel at 11 at night on Saturday.",
                  "No problem, I've noted your late arrival."),
     "Will reception still be open?"),
    # the same figures in another order: the question picks nothing out by its place
    (conversation("I'm 6 months into an 18 month broadband contract at £30 a month",
                  "What would you like to know?"),
     conversation("My broadband is £30/month, 18-month term, and I'm six months in", "How can I help?"),
     "What would it cost me to leave now?"),
]
OTHER = [
    (DELIVERY, conversation("How do I change my billing address?", EDIT), "Is there a fee for that?"),
    (RETURN, conversation("I want to return the blue jacket from order 4141.", FREE),
     "How do I print the label?"),
    (RETURN, conversation("I want to return the blue jacket from order 4411.",
                          "You can return it for free within 14 days."), "How do I print the label?"),
    (OPTIONS, conversation("My parcel arrived damaged.",
                           "Sorry! Would you like 1) a replacement or 2) a refund?"), "the first one"),
    (OPTIONS, conversation("My parcel arrived damaged.",
                           "Sorry! Would you like 1) a replacement or 2) a refund?"), "that one please"),
    (FREEZE, conversation("I've broken my ankle.", "I can cancel your membership. Shall I?"), "yes do that"),
    (FREEZE, conversation("I've broken my wrist.", "I can freeze your membership for 2 months. Shall I?"),
     "yes do that"),
    (DELIVERY, [*DELIVERY, *conversation("And my phone number?", "Same place, under Contact.")],
     "Is there a fee for that?"),
    # a turn that answers, or offers something, says something
    (REPLACE, conversation("Can you replace the screen from order 5521?", "Maybe."), "When will it arrive?"),
    (CRACKED, conversation("Order 5521 arrived with a cracked screen.", "Shall I refund it?"),
     "Can I get a replacement?"),
]


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    return LocalEmbedder()  # loaded once for the module


@pytest.fixture
async def cache(tmp_path: Path, embedder: LocalEmbedder) -> AsyncIterator[SemanticCache]:
    c = SemanticCache.at(tmp_path / "semantic.sqlite3", embedder,
                         threshold=SemanticCacheConfig().similarity_threshold, ttl_s=3600, max_bytes=10**8)
    yield c
    await c.close()


def scope(history: Turns) -> Scope:
    return Scope("routing-gateway:routed_complete", ("m",), {"temperature": 0},
                 [{"role": "system", "content": "You are a support agent."}, *history])


@pytest.mark.parametrize(("cached", "new", "question"), REWORDED)
async def test_a_follow_up_in_a_reworded_conversation_hits(
        cache: SemanticCache, cached: Turns, new: Turns, question: str) -> None:
    await cache.store(scope(cached), question, {"answer": "the cached conversation's"})
    found = await cache.lookup(scope(new), question)
    assert found.hit is not None and found.hit.value == {"answer": "the cached conversation's"}


@pytest.mark.parametrize(("cached", "new", "question"), OTHER,
                         ids=["other address", "other order", "other days", "options swapped",
                              "options swapped, that one",
                              "other offer", "other injury", "more turns", "maybe, not yes", "an offer"])
async def test_a_follow_up_in_another_conversation_never_hits(
        cache: SemanticCache, cached: Turns, new: Turns, question: str) -> None:
    await cache.store(scope(cached), question, {"answer": "the cached conversation's"})
    assert (await cache.lookup(scope(new), question)).hit is None
    assert (await cache.lookup(scope(cached), question)).hit is not None


async def test_each_conversation_finds_its_own_answer_among_many(cache: SemanticCache) -> None:
    """Conversations sharing a follow-up share an index: the right one is found among them."""
    for order in range(1000, 1020):
        history = conversation(f"I want to return the blue jacket from order {order}.",
                               "You can return it for free within 30 days.")
        await cache.store(scope(history), "How do I print the label?", {"order": order})
    reworded = conversation("I'd like to return the blue jacket from order 1007.",
                            "You can send it back for free within 30 days.")
    found = await cache.lookup(scope(reworded), "How do I print the label?")
    assert found.hit is not None and found.hit.value == {"order": 1007}


@pytest.mark.parametrize(("question", "by_place"), [
    ("the first one", True), ("that one please", True), ("I'll go for the latter", True),
    ("What's the last step?", True), ("How much is the other one?", True),
    ("What would it cost me to leave now?", False), ("How do I print the label?", False),
    ("Which one is cheaper?", False),
])
def test_a_question_that_picks_something_out_by_its_place(question: str, by_place: bool) -> None:
    """Only such a question needs the earlier turns to give things in the same order."""
    assert refers_by_place(question) is by_place
