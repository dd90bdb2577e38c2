"""Conversation stickiness: a conversation keeps the model that answered it.

Switching models mid-conversation (a hard coding thread handed to a cheap model for "why?") costs
quality and consistency, so the model that answered a conversation's last turn is tried first on
its next one. A conversation is named by the caller's ``conversation_id`` or, without one, by a
hash of its user turns: the next call's earlier turns are exactly this call's, whatever the caller
does to the assistant replies in between.

The memory is a bounded in-process LRU: it survives nothing else (no restart, no other process,
no other server), and a conversation it has forgotten is simply routed afresh.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from gatewise.routing.analyze import message_text, user_turns

MAX_CONVERSATIONS = 10_000  # entries kept; the least recently used goes first

Source = Literal["conversation_id", "history"]


@dataclass(frozen=True, slots=True)
class ConversationKey:
    """Where a call's conversation is remembered: ``earlier`` is looked up, ``current`` stored."""

    source: Source
    earlier: str | None  # None: a first turn, nothing to look up
    current: str


def conversation_key(messages: Sequence[Mapping[str, Any]], conversation_id: str | None) -> ConversationKey:
    if conversation_id is not None:
        key = f"id:{conversation_id}"
        return ConversationKey("conversation_id", key, key)
    system = [message_text([m])[0] for m in messages if m.get("role") in ("system", "developer")]
    turns = user_turns(messages)
    earlier = _history_hash(system, turns[:-1]) if len(turns) > 1 else None
    return ConversationKey("history", earlier, _history_hash(system, turns))


def _history_hash(system: Sequence[str], turns: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text in (*system, "\x00", *turns):
        digest.update(text.encode("utf-8", "surrogatepass"))
        digest.update(b"\x1f")
    return "history:" + digest.hexdigest()


class StickyRoutes:
    """conversation key → the model that last answered it."""

    def __init__(self, capacity: int = MAX_CONVERSATIONS) -> None:
        self.capacity = capacity
        self._models: OrderedDict[str, str] = OrderedDict()

    def get(self, key: ConversationKey) -> str | None:
        if key.earlier is None:
            return None
        model = self._models.get(key.earlier)
        if model is not None:
            self._models.move_to_end(key.earlier)
        return model

    def remember(self, key: ConversationKey, model: str) -> None:
        self._models[key.current] = model
        self._models.move_to_end(key.current)
        while len(self._models) > self.capacity:
            self._models.popitem(last=False)

    def __len__(self) -> int:
        return len(self._models)
