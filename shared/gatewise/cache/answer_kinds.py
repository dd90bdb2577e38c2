"""The kinds of answer a question asks for, with a question word or named in words.

"How do I pay council tax?" and "Who has to pay council tax?" want different answers, so the
semantic cache's question gate (:func:`gatewise.cache.gates.compare`) holds the kinds apart: a
person, a place, a reason, a time, an amount. Everyday rewordings name a kind instead of asking
with a question word: "What's the weight limit for parcels?" asks what "How heavy can a parcel
be?" does, "What does the orange light mean?" what "Why is the light orange?" does. A kind one
question asks may be named by the other, and the words that only name it are matched
(:func:`answered_words`); a question of yes or no, or of which ones, never answers one of how
much ("Do you charge for delivery?" / "How much do you charge for delivery?").
"""

from __future__ import annotations

import itertools
from functools import cache

from gatewise.cache import gates

# Question words that ask for a person, a place, a reason or a time: "How do I pay council tax?"
# and "Who has to pay council tax?" want different answers. ("what" and "how" ask for too many
# things to hold apart; "what time" and "what's the reason" are rewritten to "when" and "why",
# and a deadline, a due date or a date is asked for as a "when". "How much is it" is rewritten
# to "price"; any other "how much" or "how many" asks for a quantity: "Can I take liquids?" and
# "How much liquid can I take?" want different answers.)
ASKED_FOR = {"who": "who", "whom": "who", "whose": "who", "where": "where", "why": "why", "when": "when",
             "deadline": "when", "due": "when", "date": "when", "much": "quantity", "many": "quantity",
             "allowance": "quantity", "limit": "quantity"}


@cache
def _finding_out() -> frozenset[str]:
    """Stems of the verbs of finding out: in "How do I check how much data I have left?" the
    question asks how to check, and what is checked (how much, where, when) is its object, not
    the answer wanted. (Stemming reads the vocabulary: not at import.)"""
    return frozenset(gates.stem(w) for w in gates.word_set("check see find know work tell show view track"))


def asked(side: gates.Features) -> frozenset[str]:
    """The kinds of answer a question asks for; in a question of method ("how do I ..."), a
    question word after a verb of finding out asks for nothing more."""
    words = side.sequence
    method = words[:1] == ("how",) and words[1:2] not in (("much",), ("many",))
    # "how much is it" was rewritten to "price"; "What's the fee?", "What's the minimum balance?",
    # "What does Spirit charge for bags?" ask an amount
    kinds = {"quantity"} if words[:1] == ("price",) or _what_amount(side) else set()
    whether = _asks_whether(side)
    for i, w in enumerate(words):
        if w not in ASKED_FOR or _asks_nothing(words, i, whether):
            continue
        start = i - 1 if w in ("much", "many") else i
        if method and start and words[start - 1] in _finding_out():
            continue
        kinds.add(ASKED_FOR[w])
    return frozenset(kinds)


_BOUNDS = frozenset({"minimum", "maximum"})
_DO_WORDS = {(w,) for w in ("do", "doe", "did", "will", "would")}
_FRONTED = {(w,) for w in ("on", "for", "in", "with", "at", "about", "regarding")}


@cache
def _amounts() -> frozenset[str]:
    """Stems of the nouns for an amount ("the fee", "the minimum", "the deposit"). (Stemming reads
    the vocabulary: not at import.)"""
    return frozenset(gates.stem(w) for w in gates.word_set(
        "fee fees price cost costs charge charges fare deposit penalty discount minimum maximum copay "
        "excess tariff premium"))


@cache
def _pricing_verbs() -> frozenset[str]:
    """Stems of the verbs that ask an amount after "what does ...": "What does it cost?"."""
    return frozenset(gates.stem(w) for w in gates.word_set("cost costs charge charges"))


def _what_amount(side: gates.Features) -> bool:
    """Whether a question opens "what is the <amount>" or "what does ... cost / charge", maybe
    after a phrase put first ("On my pet insurance plan, what is the excess?")."""
    words = side.sequence
    if words[:1] in _FRONTED and "what" in words:
        words = words[words.index("what"):]
    if words[:1] != ("what",):
        return False
    # the phrase named, up to a word that says nothing: "What is Costco's membership fee?" ("What
    # is an insurance excess?" asks what one is)
    opened = list(itertools.dropwhile(lambda w: w in gates.BE_FORMS, words[1:6]))
    if opened[:1] in (["a"], ["an"]):
        return False
    named = list(itertools.takewhile(lambda w: w in side.content or w in _amounts(),
                                     itertools.dropwhile(lambda w: w in _what_is(), opened)))
    # the phrase's head names the amount ("the membership fee", not "the discount code"), or it
    # opens with a bound ("the minimum balance"); or "What does ... cost / charge?"
    return (bool(named) and (named[-1] in _amounts() or named[0] in _BOUNDS)) \
        or (words[1:2] in _DO_WORDS and bool(set(words[2:5]) & _pricing_verbs()))


def _asks_nothing(words: tuple[str, ...], i: int, whether: bool) -> bool:
    """Whether the question word at ``i`` asks for no answer: "much" or "many" without "how"
    ("so much", "too many"); a limit or an allowance in a question of yes or no ("Is it possible
    to raise my limit?"); "when" opening a clause of its own after the question's words ("How can
    I keep my number when I switch network?"), or within a question of yes or no ("Is it safe to
    take ibuprofen when pregnant?"), not after a verb it is the object of ("Can I change when I
    get paid?")."""
    w = words[i]
    if w in ("much", "many"):
        return words[i - 1:i] != ("how",)
    if w in ("limit", "allowance", "deadline"):
        return whether  # "Is there a deadline for returns?" asks whether there is one
    if w == "when" and i and ((whether and words[i + 1:i + 2] not in _OF_A_TIME)
                              or words[i + 1:i + 2] in _CLAUSE_SUBJECTS):
        return words[i - 1] not in _clause_takers()
    return False


_CLAUSE_SUBJECTS = {(w,) for w in ("i", "we", "you", "they", "he", "she", "it", "my", "our", "i'm", "we're",
                                    "you're", "they're", "he's", "she's", "it's", "i've", "we've")}
# After a time named by a noun ("opening times of the museum", read as "open when of"), "when"
# still asks.
_OF_A_TIME = {(w,) for w in ("of", "for", "at", "on", "to")}


@cache
def _clause_takers() -> frozenset[str]:
    """Stems of the verbs whose object may be a clause of when: "change when I get paid"."""
    return frozenset(gates.stem(w) for w in gates.word_set(
        "change choose update set pick decide know tell check see find ask show remember forget wonder "
        "explain confirm schedule arrange move say"))


@cache
def _answer_words() -> dict[str, frozenset[str]]:
    """Stems of the words that name a kind of answer without a question word: a measure names a
    quantity ("What's the capacity of the room?" asks "How many people can the room hold?"), a
    signal's meaning its cause ("What does the orange light mean?" / "Why is the light orange?"),
    a question of whether there is one a place ("Is there parking?" / "Where can I park?"), a
    parcel's progress where it is ("Where's my parcel?" / "Can you track my parcel?"), and a
    wait for something to arrive or end its time ("When will my card arrive?" / "How long will
    my card take?"). (Stemming reads the vocabulary: not at import.)"""
    words = {"signal": "light error code message warning icon symbol sign beep alert notification flash "
                       "blink lamp indicator sound noise",
             "progress": "track status happen update progress",
             "time": "time date day hour",
             "place": "address location place",
             # who to turn to: "Who do I tell about a pothole?" / "How do I report a pothole?"
             "contact": "contact report tell reach speak talk call complain notify inform email write appeal",
             "body": "department team person company organisation organization agency authority office body "
                     "service provider number band group singer artist musician actor actress player",
             # a person named by what they did: "Who wrote Emma?" / "Emma's author?"
             "maker": "author writer inventor founder creator composer painter architect designer director "
                      "discoverer",
             "counted": "amount number total quantity period",
             # a limit is what a question of how much one "can" have asks for, not what a thing is
             # ("How heavy can my bag be?" / "What's the weight limit?"; "How old is the building?")
             "limit": "limit allowance capacity entitlement maximum max",
             "may": "can may allowed permitted get entitled",
             # a wait: for something of one's own, or until something happens
             "waiting": "take wait until till before",
             "awaited": "my our i we",
             "ending": "arrive come end finish expire ready back deliver process clear reach get receive "
                       "hear expect"}
    stems = {kind: frozenset(gates.stem(w) for w in gates.word_set(text)) for kind, text in words.items()}
    # every word that names an amount: a count, a limit, a minimum, a measure of "how ..."
    stems["measure"] = stems["counted"] | stems["limit"] | frozenset().union(*measures().values()) \
        | frozenset(gates.stem(w) for w in ("minimum", "min", "convert"))
    return stems


def _asks_whom(side: gates.Features) -> bool:
    """Whether a "who" question asks whom the asker should turn to ("Who do I tell?", "Who to
    contact?"), not who does something ("Who can report a pothole?") or is someone."""
    words = side.sequence
    for i, w in enumerate(words):
        after = words[i + 1:i + 3]
        if w == "who" and (after[:1] == ("to",) or (after[:1] in _WHOM_AUXILIARIES and after[1:] in _ASKER)):
            return True
    return False


_WHOM_AUXILIARIES = {(w,) for w in ("do", "should", "can", "shall", "must", "would", "need")}
_ASKER = {("i",), ("we",)}


@cache
def _what_is() -> frozenset[str]:
    """Stems of the words after "what" in a question of what something is ("What's the fee?",
    "What was my bill?"), not of which ones ("What documents ...?") or what may be done."""
    return frozenset(gates.stem(w) for w in gates.word_set("is are was were a an the my your our"))


def _asks_whether(side: gates.Features) -> bool:
    """Whether a question opens as one of yes or no ("Do you charge for delivery?", "Is there a
    fee?") and asks for nothing told ("Can you tell me the price?" asks for the price)."""
    # the verb of finding out opens the request ("Can you tell me ...?", "Do you know ...?"), not a
    # word further on ("Is there a fee for checked bags?")
    return side.sequence[:1] != () and side.sequence[0] in gates.auxiliaries() \
        and not set(side.sequence[1:4]) & _finding_out()


# Words that ask which of a kind rather than name the thing: "what kinds of food", "which type of visa".
_KINDS = frozenset({"kind", "type", "sort"})


def _whether_against_which(a: gates.Features, b: gates.Features) -> bool:
    """Whether ``a`` asks yes or no and ``b`` which ones or a measure: "Can I take food into the
    stadium?" / "What kinds of food can I take in?", "Does this laptop come with a warranty?" /
    "How long is the warranty on this laptop?"."""
    return _asks_whether(a) and (_asks_which(b) or bool(asked_after_how(b)))


def _allowance_against_price(a: gates.Features, b: gates.Features) -> bool:
    """Whether ``a`` asks how much one may do and ``b``, unlike it, names a price: "How much can I
    send with PayPal?" / "How much does it cost to send with PayPal?"."""
    return a.sequence[:2] in (("how", "much"), ("how", "many")) and "can" in a.sequence[2:5] \
        and _names_price(b) and not _names_price(a)


def _names_price(side: gates.Features) -> bool:
    return "price" in side.senses  # the "price" a "how much is" was rewritten to says it too


def _other_thing_asked_for(a: gates.Features, b: gates.Features) -> bool:
    """Whether two questions of which one ask for two things that both name: "Which hospital is
    the pharmacy at?" / "Which pharmacy is at the hospital?"."""
    asked_a, asked_b = _thing_asked_for(a), _thing_asked_for(b)
    return asked_a is not None and asked_b is not None and asked_a != asked_b \
        and asked_a in b.sequence and asked_b in a.sequence


def _thing_asked_for(side: gates.Features) -> str | None:
    """The thing a question of which one asks for: the phrase after "which" or "what" (past "kind
    of"), by its last word ("Which hospital ...?": "hospital", "What tyre pressure ...?":
    "pressure"), or None."""
    rest = _after_which(side.sequence)
    if rest is None:
        return None
    said = set(side.said)  # a word of a pair says a thing too ("Which son ...?"); a verb ends it
    phrase = list(itertools.takewhile(lambda w: w in said and not gates.past_form(side, w), rest))
    return phrase[-1] if phrase else None


def _after_which(words: tuple[str, ...]) -> tuple[str, ...] | None:
    """A question of which one's words after "which" or "what" (past "kind of", "type of"), or
    None for another question."""
    if words[:1] not in (("what",), ("which",)):
        return None
    return words[3:] if words[1:2] and words[1] in _KINDS and words[2:3] == ("of",) else words[1:]


def _asks_which(side: gates.Features) -> bool:
    """Whether a question asks which ones ("What documents do I need?", "What kinds of food can I
    take in?"), which a question of yes or no never answers ("Can I take food in?")."""
    rest = _after_which(side.sequence)
    first = rest[0] if rest else None
    return first is not None and not gates.is_function_word(first) and first not in _what_is() \
        and first not in gates.auxiliaries()


# Words that pick one of a series by its place in time: "the next train", "the last bus".
_IN_ORDER = frozenset({"next", "last", "first", "final", "earliest", "latest"})


def _answers(kind: str, side: gates.Features, asker: gates.Features) -> bool:
    """Whether ``side``, which asks no ``kind`` with a question word, names that kind of answer
    that ``asker`` asks for (see :func:`_answer_words`)."""
    words, said, asked_by = _answer_words(), set(side.sequence), set(asker.sequence)
    opening = side.sequence[:2]
    if kind == "quantity":
        # "What's a normal tip?" may ask for the amount "How much should I tip?" does; "Can I tip?"
        # and "What documents do I need?" ask whether and which
        if _asks_whether(side):  # "Is there a withdrawal limit?" asks no amount
            return bool(asked_after_how(side))
        return bool(said & words["measure"]) or bool(asked_after_how(side)) or "price" in side.senses \
            or (opening[:1] == ("what",) and opening[1:] != () and opening[1] in _what_is())
    if kind == "when":
        if _asks_whether(side):  # "Is there a deadline?" asks no time
            return False
        waits = ("how", "long") in zip(side.sequence, side.sequence[1:], strict=False) \
            and bool(said & words["waiting"]) \
            and bool(said & {"until", "till", "before"}
                     or (asked_by & words["ending"] and asked_by & words["awaited"]))
        # "What's the next train to Leeds?" asks for its time, as "When is the next train?" does
        in_order = opening[:1] == ("what",) and bool(set(side.sequence[1:4]) & _IN_ORDER)
        return waits or in_order or bool(said & words["time"])
    if kind == "who":
        # "Which department handles billing?" asks who does; so does "How do I contact billing?"
        # for whom to turn to
        # (one word may name whose: "Which council department ...?")
        body = {after for i, w in enumerate(side.sequence) if w in ("which", "what")
                for after in side.sequence[i + 1:i + 3] if after in words["body"]}
        # a number is whom to call only if it is called ("What number do I ring?")
        return bool(body - {"number"}) or (bool(body) and bool(said & words["contact"])) \
            or bool(said & words["maker"]) \
            or (opening[:1] == ("how",) and bool(said & words["contact"]) and _asks_whom(asker))
    if kind == "why":
        return gates.stem("mean") in said and bool((said | asked_by) & words["signal"])
    if kind == "where":
        whose = [w for w in asker.sequence[1:3] if w not in ("is", "are")][:1]  # "where's my parcel"
        return bool(said & words["place"]) or opening in (("is", "there"), ("are", "there")) \
            or (asker.sequence[:1] == ("where",) and whose == ["my"] and bool(said & words["progress"])) \
            or (_done_through_a_channel(asker, "where") and _done_through_a_channel(side, "how"))
    return False


def _done_through_a_channel(side: gates.Features, opener: str) -> bool:
    """Whether ``side`` opens "<opener> do / can / should I <verb>" with a verb of dealing with an
    office or a service, which is done where it is done: "Where can I pay a parking fine?" asks
    what "How do I pay my parking fine?" does, "Where do I send my meter reading?" what "How do I
    submit a meter reading?" does; not a verb done at a place ("Where can I park?", "Where do I
    vote?", "Where can I charge my car?")."""
    words = side.sequence
    # giving something to the office itself ("Where do I give you my meter reading?"), not
    # giving blood or a speech
    given = words[3:4] == (gates.stem("give"),) and words[4:5] in (("you",), ("us",))
    return words[:1] == (opener,) and words[1:2] != () and words[1] in gates.auxiliaries() \
        and words[2:3] in _ASKER and words[3:4] != () and (words[3] in _channel_verbs() or given)


@cache
def _channel_verbs() -> frozenset[str]:
    """Stems of the verbs of dealing with an office or a service (stemming reads the vocabulary:
    not at import)."""
    return frozenset(gates.stem(w) for w in gates.word_set(
        "pay submit send report apply book order register renew download upload enter claim request "
        "cancel lodge file top"))


def _names_quantity(side: gates.Features, other: gates.Features) -> bool:
    return "quantity" in asked(side) or _answers("quantity", side, other)


def answered_words(side: gates.Features, other: gates.Features) -> frozenset[str]:
    """The words of ``side`` that only name the kind of answer wanted, where ``other`` asks for
    that kind in its own words: a count or an allowance against "how much" or "how many", a
    measure against its "how" ("weight" / "how heavy"), the wait of "how long ... take" against
    "when" and the arrival or end it waits for, a signal's meaning against "why", a parcel's
    progress against "where". What the answer is about still has to match."""
    words, said = _answer_words(), set(side.sequence)
    found: set[str] = set()
    if _names_quantity(side, other) and _names_quantity(other, side):
        found |= said & words["counted"]
        if set(other.sequence) & (words["may"] | words["limit"]):
            found |= said & words["limit"]
        found |= {w for w in asked_after_how(side) if measures()[w] & set(other.sequence)}
        for w in asked_after_how(other):
            found |= said & measures()[w]
    mine, theirs = asked(side), asked(other)
    if side.sequence[:1] == ("price",) and "quantity" in theirs:
        found.add("price")  # "How much is the deposit?" asks what "What is the deposit?" does
    naming = {"when": {gates.stem("long"), gates.stem("take")} | words["time"], "why": {gates.stem("mean")},
              "who": words["contact"] | words["body"], "where": words["progress"] | words["place"]}
    for kind in theirs - mine:
        if _answers(kind, side, other):
            found |= naming.get(kind, set())
    if "when" in mine - theirs and _answers("when", other, side):
        found |= words["ending"]
    # "What does APR mean?" asks what "What is APR?" (or "What's APR?") does; not "What is the
    # excess on my policy?", which asks for an amount
    term = [w for w in other.sequence[1:] if w not in ("is", "are", "a", "an")]
    if side.sequence[:1] == other.sequence[:1] == ("what",) and 0 < len(term) <= 3 \
            and all(w in other.said for w in term):
        found.add(gates.stem("mean"))
    if "who" in mine - theirs and _answers("who", other, side) and other.sequence[:1] == ("how",):
        found |= words["contact"]  # "Who do I tell?" / "How do I report it?"
    return frozenset(found & said)


def same_question(a: gates.Features, b: gates.Features) -> bool:
    """Whether two questions ask for the same kinds of answer: a kind one asks with a question
    word the other asks too, or names (:func:`_answers`); and not how to do a thing against how
    to find out whether it is done (:func:`_checks_instead`)."""
    asked_a, asked_b = asked(a), asked(b)
    return all(_answers(kind, b, a) for kind in asked_a - asked_b) \
        and all(_answers(kind, a, b) for kind in asked_b - asked_a) \
        and not _checks_instead(a, b) and not _checks_instead(b, a) \
        and _asks_consequence(a) == _asks_consequence(b) \
        and not _comparison_against_measure(a, b) \
        and not _whether_against_which(a, b) and not _whether_against_which(b, a) \
        and not _other_thing_asked_for(a, b) \
        and not _allowance_against_price(a, b) and not _allowance_against_price(b, a)


def _asks_consequence(side: gates.Features) -> bool:
    """Whether a question asks what follows from something ("What happens if I only make the
    minimum payment?", "What if I miss a payment?"), which "What's the minimum payment?" does not;
    a word for what follows asks it too ("What are the consequences of missing a payment?")."""
    words = side.sequence
    upon = gates.CLAUSE_OPENERS - {"before"}  # what happens if / when / once ..., not before
    happens = any(w == "what" and _HAPPEN in words[i + 1:i + 3] and set(words[i + 2:i + 5]) & upon
                  for i, w in enumerate(words))
    return happens or words[:2] == ("what", "if") or bool(set(words) & _consequences())


_HAPPEN = "happen"


def _comparison_against_measure(a: gates.Features, b: gates.Features) -> bool:
    """Whether one question asks how two things it names differ and the other how long, far, old
    or much one thing is: "What's the time difference between London and New York?" / "How long is
    the flight from London to New York?", "What's the age difference between them?" / "How old is
    he?"."""
    compares_a, compares_b = _compares(a), _compares(b)
    return compares_a != compares_b and bool(asked_after_how(b if compares_a else a))


def _compares(side: gates.Features) -> bool:
    """Whether a question compares two things it names ("the difference between X and Y", "How
    is X different from Y?", "X vs Y", "cheaper than"); "Do the hours differ on Sundays?" and "a
    different size" compare nothing named."""
    words = side.sequence
    return bool(set(words) & _COMPARING) or any(
        w in _comparisons() and (words[i + 1:i + 2] in _COMPARED_WITH or _BETWEEN in words[i + 1:i + 4])
        for i, w in enumerate(words))


_COMPARING = frozenset({"versus", "vs", "than"})  # words that compare wherever they stand
_BETWEEN = "between"
_COMPARED_WITH = {(w,) for w in ("from", "to", "with")}


@cache
def _comparisons() -> frozenset[str]:
    return frozenset(gates.stem(w) for w in gates.word_set("difference differ different compare comparison"))


@cache
def _consequences() -> frozenset[str]:
    return frozenset(gates.stem(w) for w in gates.word_set("consequence consequences penalty penalties"))


def _checks_whether(side: gates.Features) -> bool:
    """Whether a verb of finding out takes a clause of yes or no ("check if", "find out whether")."""
    words = side.sequence
    return any(w in _finding_out() and ("if" in words[i + 1:i + 3] or "whether" in words[i + 1:i + 3])
               for i, w in enumerate(words))


def _checks_instead(a: gates.Features, b: gates.Features) -> bool:
    """Whether ``a`` asks how to do a thing and ``b`` how to find out whether it is so: "How do I
    register to vote?" / "How can I check if I'm registered to vote?"."""
    return a.sequence[:1] == b.sequence[:1] == ("how",) and _checks_whether(b) \
        and not set(a.sequence) & _finding_out()


# Words that, after "how", ask for a measure: a length of time, a frequency, a distance, an age, a
# weight, a size... ("How long is the warranty?" is not "What does the warranty cover?"); each may
# be reworded only as a word for that measure ("How long is the flight?" / "What's the flight
# time?", "How heavy can my bag be?" / "What's the weight limit for bags?").
AFTER_HOW = {"long": "time period duration length", "often": "frequency frequently", "far": "distance",
             "old": "age", "heavy": "weight weigh", "big": "size", "large": "size", "fast": "speed",
             "quick": "speed", "tall": "height", "high": "height", "wide": "width", "deep": "depth"}


@cache
def measures() -> dict[str, frozenset[str]]:
    """AFTER_HOW by stems (stemming reads the vocabulary: not at import)."""
    return {gates.stem(how): frozenset(gates.stem(w) for w in gates.word_set(nouns))
            for how, nouns in AFTER_HOW.items()}


def asked_after_how(side: gates.Features) -> set[str]:
    return {w for how, w in zip(side.sequence[:-1], side.sequence[1:], strict=True)
            if how == "how" and w in measures()}


# A question of what one must have or be asks for a minimum ("How old do I need to be?"), one of
# what one may have for a maximum ("How much can I take a day?").
_MAXIMUM = frozenset({"maximum", "max"})
_MINIMUM = frozenset({"minimum", "min", "least"})
# What one must (or should: a wh-question's "have to" is read as "should", synonyms.rewrite) against
# what one may.
_REQUIRED = frozenset({"require", "required", "should", "must"})
_PERMITTED = frozenset({"can", "could", "may", "allow", "allowed", "permit", "permitted", "optional",
                        "voluntary"})


def limit_turned(a: gates.Features, b: gates.Features) -> bool:
    """Whether ``a`` names a maximum or a minimum and ``b``, naming neither, asks for the other
    one: "What's the maximum age to open an account?" / "How old do I need to be to open an
    account?"."""
    if any(axis == "amount" for axis, _, _ in b.polarity):
        return False
    named = {word for axis, _, word in a.polarity if axis == "amount"}
    required, permitted = bool(_REQUIRED & set(b.sequence)), bool(_PERMITTED & set(b.sequence))
    return bool(named & _MAXIMUM and required and not permitted) \
        or bool(named & _MINIMUM and permitted and not required)


def may_against_must(a: gates.Features, b: gates.Features) -> bool:
    """Whether one question asks what (which, when, how much ...) one may and the other what one
    must or should: "What can I bring to my driving test?" / "What do I need to bring to my
    driving test?" (a method asked with either, "How can I ...?" / "How should I ...?", is one)."""
    return {_mode(a), _mode(b)} == {"may", "must"}


_ASKING_FOR_A_THING = {(w,) for w in ("what", "which", "when", "how")}


def _mode(side: gates.Features) -> str | None:
    """"may" or "must" for a question of what one may or must, else None."""
    words = side.sequence
    if words[:1] not in _ASKING_FOR_A_THING or (words[0] == "how" and set(words[1:2]) & gates.auxiliaries()):
        return None  # a yes/no question, or one of how to do a thing
    said = set(words)
    permitted, required = bool(_PERMITTED & said), bool(_REQUIRED & said)
    return None if permitted == required else "may" if permitted else "must"
