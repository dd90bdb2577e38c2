"""Whose each thing a question names is: "my location" is the asker's, "your order" the one
asked's, "my family's location" the family's. A thing both questions own with no owner in
common is another thing: "How do I share my location with my family?" does not ask what "How
can I see my family's location?" does, though only "share" and "see" tell them apart.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from gatewise.cache import gates

if TYPE_CHECKING:
    from gatewise.cache.gates import Features

# An owner and what it owns (read ahead, so that "my family's location" gives "my family" too);
# a plural owner's apostrophe comes last ("my parents' house").
_OWNED = re.compile(r"\b(?P<owner>my|our|your|their|his|[A-Za-z]+'s|[A-Za-z]+s')\s+"
                    r"(?=(?P<thing>[A-Za-z]+)\b)", re.IGNORECASE)
# ("her" is left out: "give her money" names no owner.)
_PRONOUNS = {"my": "i", "our": "i", "your": "you", "their": "they", "his": "he"}
# Owners named by no word of their own: "someone else's password" is another's, never the asker's.
_SOMEONE = frozenset({"else", "someone", "somebody", "anyone", "anybody", "everyone", "everybody",
                      "one", "nobody", "other", "others"})


def of(text: str) -> frozenset[tuple[str, str]]:
    """(whose: "i", "you", "they", "he" or the owner's stem, the stem of what) for each thing
    ``text`` says is someone's; a contraction owns nothing ("what's my", "it's my")."""
    found = set()
    for m in _OWNED.finditer(text.replace("’", "'")):
        owner, thing = m["owner"].lower(), gates.stem(m["thing"].lower())
        named = owner.removesuffix("'s").removesuffix("'")
        if owner in _PRONOUNS:
            found.add((_PRONOUNS[owner], thing))
        elif named in _SOMEONE:
            found.add(("another", thing))
        elif not gates.is_function_word(named):
            found.add((gates.stem(named), thing))
    return frozenset(found)


def changed(a: Features, b: Features) -> bool:
    """Whether something both questions own belongs to another on each."""
    owners_a: dict[str, set[str]] = {}
    owners_b: dict[str, set[str]] = {}
    for owners, owned in ((owners_a, a.owners), (owners_b, b.owners)):
        for owner, thing in owned:
            owners.setdefault(thing, set()).add(owner)
    return any(not owners_a[thing] & owners_b[thing] for thing in owners_a.keys() & owners_b.keys())
