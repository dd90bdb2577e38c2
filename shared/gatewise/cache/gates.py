"""Safety gates: when two questions are close in embedding space but want different answers.

Embedding cosine cannot tell "cancel my subscription" from "don't cancel my subscription", or
order #48213 from #48231: every encoder puts them within a few hundredths. So a candidate that
clears the similarity threshold is served only if these cheap lexical checks also pass:

- values: the same numbers, amounts, currencies, dates, days, times, units, ids and codes;
- negation: the same number of negations (not, never, don't, without, no, avoid...);
- polarity: the same side of every opposite pair (enable/disable, buy/sell, before/after,
  increase/decrease, add/remove, open/close, send/receive...), and no word that is the other
  side's word with a negating or narrowing prefix (subscribe/unsubscribe, employed/self-employed);
- roles: the same objects after direction words (convert Word to PDF vs PDF to Word);
- names and rare words: every capitalised name, acronym and uncommon word on either side is on
  the other side too (a misspelling of a word no dictionary has is forgiven);
- content: a common content word on one side only must have a near-synonym among the other
  side's unmatched words (checked with word vectors by :func:`unmatched_pairs`' caller), so
  "kids" may stand for "children" but an added or swapped qualifier ("student discounts",
  "kids' menu" vs "set menu") refuses.

The rules are general English, not tuned to any test set. Word frequency comes from the local
embedder's WordPiece vocabulary, which lists words in descending order of frequency.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import pairwise

# Words past this frequency rank (or not in the vocabulary at all) must match exactly.
RARE_RANK = 12_000
_VOCAB_FIRST_WORD = 1996  # ranks below are special tokens and single characters

def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_TOKEN = re.compile(r"[£$€¥#]|\w+(?:[.,:/'’\-]\w+)*'?", re.UNICODE)
_SENTENCE_END = ".?!:;\n"

_CURRENCY = {
    "£": "gbp", "$": "usd", "€": "eur", "¥": "jpy", "pound": "gbp", "pounds": "gbp", "quid": "gbp",
    "gbp": "gbp", "dollar": "usd", "dollars": "usd", "usd": "usd", "bucks": "usd", "euro": "eur",
    "euros": "eur", "eur": "eur", "yen": "jpy", "pence": "gbp-minor", "p": "gbp-minor",
    "cents": "usd-minor", "cent": "usd-minor",
}
_NUMBER_WORDS = {
    w: str(i) for i, w in enumerate((
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
        "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
        "twenty"))
} | {"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80",
     "ninety": "90", "hundred": "100", "thousand": "1000", "million": "1e6", "billion": "1e9",
     "dozen": "12", "half": "0.5", "quarter": "0.25", "once": "x1", "twice": "x2", "double": "x2",
     "triple": "x3", "single": "n1", "couple": "n2", "first": "#1", "second": "#2", "third": "#3",
     "fourth": "#4", "fifth": "#5", "last": "#last", "next": "#next", "previous": "#prev",
     "latest": "#last", "final": "#last"}
# Days, months, relative dates, times of day and units: each names a different value.
_DATE_WORDS = _set(
    "monday tuesday wednesday thursday friday saturday sunday weekday weekdays weekend weekends "
    "january february march april june july august september october november december "
    "today tonight tomorrow yesterday morning afternoon evening night overnight midnight noon "
    "am pm daily weekly fortnightly monthly quarterly yearly annually annual hourly "
    "minute minutes hour hours day days week weeks fortnight month months year years decade "
    "spring summer autumn fall winter christmas easter "
    "second seconds mile miles km kilometre kilometres kilometer kilometers metre metres meter "
    "meters kg kilo kilos gram grams pound lb lbs litre litres liter liters gallon gallons "
    "percent percentage gb mb tb kb"
)

_NEGATIONS = _set(
    "not no never none nobody nothing nowhere neither nor without cannot cant dont doesnt didnt "
    "isnt arent wasnt werent wont wouldnt shouldnt couldnt hasnt havent hadnt mustnt neednt aint "
    "avoid avoiding avoided prevent prevented preventing refrain lack lacking neglect"
)

# Opposite pairs, grouped so that synonyms on one side still agree: (axis, +1 | -1).
_POLARITY_GROUPS: dict[str, tuple[str, str]] = {
    "run": ("enable activate start begin resume launch unpause continue on",
            "disable deactivate stop end pause suspend halt cease quit terminate off"),
    "permit": ("allow permit accept approve grant admit authorise authorize let include allowed",
               "ban forbid prohibit reject deny decline refuse block exclude disallow bar banned"),
    "add": ("add insert attach install subscribe join enrol enroll register create",
            "remove delete detach uninstall unsubscribe leave erase drop destroy"),
    "buy": ("buy purchase order acquire", "sell"),
    "amount": ("increase raise more higher grow extend expand boost maximum max most upgrade up "
               "exceed gain above bigger larger longer faster",
               "decrease reduce lower less fewer cut shrink shorten minimum min least downgrade down "
               "below smaller shorter slower"),
    "time": ("after later afterwards since following post", "before earlier prior until ahead pre"),
    "open": ("open unlock unlocked available", "close closed shut lock locked unavailable"),
    "direction": ("in receive receiving incoming inbound import deposit download input credit arrive "
                  "arrival", "out send sending outgoing outbound export withdraw upload output debit "
                  "depart departure"),
    "outcome": ("win pass succeed success approved accepted", "lose fail failure failed rejected declined"),
    "quality": ("safe legal valid correct true good best positive healthy cheap cheapest",
                "unsafe dangerous harmful illegal invalid incorrect wrong false bad worst negative "
                "unhealthy expensive dearest"),
    "connect": ("connect link pair mount follow like", "disconnect unlink unpair unmount unfollow dislike"),
    "temperature": ("hot warm heat", "cold cool chill freeze"),
    "encrypt": ("encrypt encode compress lock", "decrypt decode decompress"),
    "login": ("login signin", "logout signout"),
    "same": ("same similar identical", "different"),
    "early": ("early", "late"),
    "public": ("public shared", "private personal"),
    "import": ("import", "export"),
    "push": ("push", "pull"),
    "give": ("give lend pay", "take borrow charge"),
}
_POLARITY: dict[str, tuple[str, int]] = {}
for _axis, (_plus, _minus) in _POLARITY_GROUPS.items():
    for _word in _plus.split():
        _POLARITY.setdefault(_word, (_axis, 1))
    for _word in _minus.split():
        _POLARITY.setdefault(_word, (_axis, -1))
# "on", "in", "up"... are polar only as particles of these verbs ("turn off", "log in").
_PARTICLES = frozenset({"on", "off", "in", "out", "up", "down"})
_PARTICLE_VERBS = _set("turn switch power log sign opt check plug scale cash move shut")

# Prefixes that negate or narrow the word they sit on.
_PREFIXES = ("un", "in", "im", "ir", "il", "dis", "non", "de", "anti", "mis", "self", "counter",
             "pre", "post", "sub", "over", "under", "semi", "co", "ex", "re")
# Direction words whose objects must agree.
_ROLE_WORDS = frozenset({"to", "into", "onto", "from", "than", "vs", "versus", "towards", "toward"})

_STOP = _set(
    "a an the this that these those there here it its it's i i'm i've i'd me my mine myself we us "
    "our ours you you're your yours he him his she her they them their theirs what whats what's "
    "which who whom whose when where why how hows how's is am are was were be been being do does "
    "did doing done have has had having will would shall should can could may might must ought "
    "of at by for with about against between through during within upon across along around "
    "behind beyond near via per as if then else so and or but because while although though "
    "also too very really just only even still yet already again ever quite rather some any each "
    "every all both either such own other another much many lot lots bit kind sort "
    "please thanks thank hi hello hey ok okay yes yeah well um uh oh so anyway actually basically "
    "exactly literally currently generally usually normally possibly probably maybe perhaps "
    "tell know need want wanted wondering wonder like would help get got getting go going make "
    "way ways able possible process steps step thing things something anything someone anyone "
    "somebody anybody question ask asking explain show find out happen happens work works "
    "use using best right correct proper properly quick quickly easy easiest simply "
    "come comes there's here's it'll can't i'll let's"
) - _NEGATIONS - _ROLE_WORDS - frozenset(_POLARITY) - _PARTICLES - frozenset(_NUMBER_WORDS)


@cache
def _ranks() -> dict[str, int]:
    """Whole words of the shipped WordPiece vocabulary by frequency rank (1 = most frequent)."""
    raw = gzip.decompress((resources.files("gatewise.data") / "minilm-tokenizer.json.gz").read_bytes())
    vocab: dict[str, int] = json.loads(raw)["model"]["vocab"]
    return {w: i - _VOCAB_FIRST_WORD + 1 for w, i in vocab.items()
            if i >= _VOCAB_FIRST_WORD and w.isalpha()}


def stem(word: str) -> str:
    """A light suffix stripper: enough for plurals, -ing and -ed to meet their base word."""
    w = word
    for suffix, repl, least in (("ies", "y", 4), ("sses", "ss", 5), ("ches", "ch", 5), ("shes", "sh", 5),
                                ("xes", "x", 4), ("ing", "", 5), ("ied", "y", 4), ("ed", "", 4),
                                ("s", "", 3)):
        if w.endswith(suffix) and len(w) >= least + len(suffix) - 1:
            if suffix == "s" and w.endswith(("ss", "us", "is")):
                break
            w = w[: -len(suffix)] + repl
            if suffix in ("ing", "ed") and len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
                w = w[:-1]  # dripping -> dripp -> drip
            break
    return w


def _rank(word: str) -> int | None:
    ranks = _ranks()
    found = ranks.get(word)
    return found if found is not None else ranks.get(stem(word))


def is_rare(word: str) -> bool:
    rank = _rank(word.replace("-", ""))
    return rank is None or rank > RARE_RANK


@dataclass(frozen=True, slots=True)
class Features:
    """What the gates compare, computed once per text."""

    values: frozenset[str]
    negations: int
    polarity: tuple[tuple[str, int], ...]
    words: frozenset[str]  # every word, lowercased, stemmed
    names: frozenset[str]  # stems of words written as names: capitalised mid-sentence, acronyms
    content: frozenset[str]  # stems of the words that carry the question's subject
    roles: frozenset[tuple[str, str]]


def analyse(text: str) -> Features:
    text = text.replace("’", "'")
    tokens: list[tuple[str, bool]] = []  # (token, starts a sentence)
    at_start = True
    last_end = 0
    for match in _TOKEN.finditer(text):
        between = text[last_end:match.start()]
        at_start = at_start or any(ch in _SENTENCE_END for ch in between)
        tokens.append((match.group().strip("'"), at_start))
        at_start = False
        last_end = match.end()
    alpha = [t for t, _ in tokens if t.isalpha() and len(t) > 3]
    title_case = bool(alpha) and sum(t[0].isupper() for t in alpha) * 2 > len(alpha)

    values: set[str] = set()
    negations = 0
    polarity: list[tuple[str, int]] = []
    words: set[str] = set()
    names: set[str] = set()
    content: set[str] = set()
    roles: set[tuple[str, str]] = set()
    plain: list[str] = []
    previous = ""
    for raw, starts in tokens:
        low = raw.lower()
        if low.endswith("n't"):
            negations += 1
            low = low[:-3] or low
        elif low.endswith("'s"):
            low = low[:-2]
        if low in _CURRENCY:
            values.add(_CURRENCY[low])
        elif any(ch.isdigit() for ch in low) or low == "#":
            values.add(_number(low))
        elif low in _NUMBER_WORDS and not (low == "second" and previous in {"a", "one"}):
            values.add(_NUMBER_WORDS[low])
        elif low in _DATE_WORDS or stem(low) in _DATE_WORDS:
            values.add(stem(low))
        elif low in _NEGATIONS:
            negations += 1
        elif low in _PARTICLES:
            if previous in _PARTICLE_VERBS:
                polarity.append(("run" if low in {"on", "off"} else "direction" if low in {"in", "out"}
                                 else "amount", 1 if low in {"on", "in", "up"} else -1))
        elif (pol := _POLARITY.get(low) or _POLARITY.get(stem(low))) is not None:
            polarity.append(pol)
        w = stem(low)
        words.add(w)
        plain.append(w)
        if low in _STOP or w in _STOP or low in _ROLE_WORDS or (not low.isalpha() and "-" not in low):
            previous = stem(low)
            continue
        if low in _NEGATIONS or low in _PARTICLES or low in _POLARITY or w in _POLARITY:
            previous = w
            continue
        if low in _NUMBER_WORDS or low in _DATE_WORDS or low in _CURRENCY or w in _DATE_WORDS:
            previous = w
            continue
        content.add(w)
        if _is_name(raw, starts, title_case):
            names.add(w)
        previous = w
    for i, (word, nxt) in enumerate(pairwise([*plain, ""])):
        if word in _ROLE_WORDS:
            target = next((x for x in plain[i + 1:i + 4] if x in content), nxt)
            roles.add((word, target))
    return Features(frozenset(values), negations, tuple(sorted(polarity)), frozenset(words),
                    frozenset(names), frozenset(content), frozenset(roles))


def _is_name(raw: str, starts: bool, title_case: bool) -> bool:
    letters = [c for c in raw if c.isalpha()]
    if len(letters) >= 2 and all(c.isupper() for c in letters):
        return True  # an acronym: VAT, ISA, NHS
    if any(c.isupper() for c in raw[1:]):
        return True  # mixed case: iPhone, PayPal
    return raw[:1].isupper() and not starts and not title_case and raw != "I"


def _number(token: str) -> str:
    # 10,000 and 10000 are one number; 1.50 keeps its decimal point.
    return re.sub(r"(?<=\d),(?=\d{3}\b)", "", token)


def _edit_distance_at_most(a: str, b: str, limit: int) -> bool:
    if abs(len(a) - len(b)) > limit:
        return False
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        best = row[0]
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
            best = min(best, row[j])
        if best > limit:
            return False
    return row[-1] <= limit


def _misspelling_of(word: str, others: frozenset[str]) -> bool:
    """A word no dictionary has, one or two edits from a word on the other side."""
    if len(word) < 5 or _rank(word) is not None:
        return False
    limit = 2 if len(word) >= 9 else 1
    return any(_edit_distance_at_most(word, other, limit) for other in others if len(other) >= 4)


def _prefixed(a: frozenset[str], b: frozenset[str]) -> bool:
    """One side has a word that is the other side's word with a negating or narrowing prefix."""
    for word in a:
        for prefix in _PREFIXES:
            base = word.removeprefix(prefix).lstrip("-")
            if base != word and len(base) >= 3 and base in b and word not in b:
                return True
    return False


@dataclass(frozen=True, slots=True)
class LexicalVerdict:
    """``refused`` names the gate that refused, or None; ``pairs`` are the unmatched common words
    (cached side, new side) that word vectors must still show to be near-synonyms."""

    refused: str | None
    unmatched_cached: frozenset[str] = frozenset()
    unmatched_new: frozenset[str] = frozenset()


def compare(cached: Features, new: Features) -> LexicalVerdict:
    """The lexical gates, cheapest first."""
    if cached.values != new.values:
        return LexicalVerdict("value")
    if cached.negations != new.negations:
        return LexicalVerdict("negation")
    if cached.polarity != new.polarity or _prefixed(cached.words, new.words) or _prefixed(new.words,
                                                                                          cached.words):
        return LexicalVerdict("polarity")
    if not _roles_agree(cached.roles, new.roles):
        return LexicalVerdict("role")
    only_cached = _unmatched(cached.content, new)
    only_new = _unmatched(new.content, cached)
    for word in (*only_cached, *only_new):
        if word in cached.names or word in new.names:
            return LexicalVerdict("name")
    for word in (*only_cached, *only_new):
        if is_rare(word):
            return LexicalVerdict("rare_word")
    if bool(only_cached) != bool(only_new):
        return LexicalVerdict("content")  # a word added or dropped, with nothing to stand for it
    return LexicalVerdict(None, only_cached, only_new)


def _unmatched(words: frozenset[str], other: Features) -> frozenset[str]:
    return frozenset(w for w in words if w not in other.words and not _misspelling_of(w, other.words)
                     and w.replace("-", "") not in other.words)


def _roles_agree(a: frozenset[tuple[str, str]], b: frozenset[tuple[str, str]]) -> bool:
    """The same objects after each direction word both sides use, and no shared object after
    different direction words ("from savings" vs "to savings")."""
    for prep in {p for p, _ in a} & {p for p, _ in b}:
        if {o for p, o in a if p == prep} != {o for p, o in b if p == prep}:
            return False
    for obj in {o for _, o in a} & {o for _, o in b}:
        if {p for p, o in a if o == obj} != {p for p, o in b if o == obj}:
            return False
    return True
