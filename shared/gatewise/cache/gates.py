"""Safety gates: when two questions are close in embedding space but want different answers.

Embedding cosine cannot tell "cancel my subscription" from "don't cancel my subscription", or
order #48213 from #48231: every encoder puts them within a few hundredths. So a candidate that
clears the similarity threshold is served only if these cheap lexical checks also pass:

- verbatim: quoted spans, inline code and a word's capitals as written
  (:mod:`gatewise.cache.verbatim`), and a word asked about as a word ("say sorry") said itself;
- values: the same numbers (with their signs), amounts, currencies, dates, days, times, units, ids
  and codes (a code's sign, "O+"; an address or file, "gmail.com"), emoji, emoticons and symbols;
- negation: the same number of negations (not, never, don't, without, no, avoid...);
- polarity: the same side of every opposite pair both mention (enable/disable, buy/sell,
  before/after, increase/decrease, add/remove, open/close...), and no word that is the other
  side's word with a negating or narrowing prefix (subscribe/unsubscribe, employed/self-employed);
  a polar word on one side only is held to the content rule below;
- roles: no shared word swapped across a direction word (convert Word to PDF vs PDF to Word),
  no words trading places in the same sentence, and no people trading parts ("Can I block
  them?" vs "Can they block me?");
- question: the same question words asking for a person, place, reason or time (who, where, why,
  when; a deadline or date asks "when");
- names and rare words: every capitalised name, acronym and uncommon word on either side is on
  the other side too (a misspelling of a word no dictionary has is forgiven, and so is another form
  of the same word: quote/quotation; an acronym that the other side writes out in full, "2FA"
  and "two-factor authentication", is read as those words);
- content: a content word on one side only must be matched on the other: by a word of the same
  synonym group (:mod:`gatewise.cache.synonyms`: "obtain" by "get", "update" by "change", "what
  time" by "when"), or else by a near-synonym among the other side's unmatched words (checked
  with word vectors by :func:`compare`'s caller), so "kids" may stand for "children" but an added
  or swapped qualifier ("student discounts", "kids' menu" vs "set menu") refuses. A question
  built anew rather than edited word for word (see :func:`_rebuilt`) may instead differ in
  common words that take no side and ask for no other kind of answer, when the embeddings agree
  closely (checked by :func:`compare`'s caller): a minimal pair keeps its sentence and changes
  one word, a rewording changes the sentence. In a rebuilt question, a word these two gates
  refuse (an uncommon one too, but never a name) may also stand if it has a partner in the
  other sentence when both are read in context ("Send the invoice to Sarah" / "Please email
  Sarah the invoice"; checked by the caller with the local model's word vectors).

Hyphenated compounds of dictionary words are read as their words ("dog-friendly" meets "dog
friendly").

Greetings, thanks and apologies that open or close a question ("Hi team,", "Thanks in advance")
are set aside first: they change nothing about the answer.

The rules are general English, not tuned to any test set. Word frequency comes from the local
embedder's WordPiece vocabulary, which lists words in descending order of frequency.
"""

from __future__ import annotations

import gzip
import json
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache, lru_cache
from importlib import resources
from itertools import dropwhile, pairwise

from gatewise.cache import (
    acronyms,
    answer_kinds,
    countries,
    quantities,
    synonyms,
    verbatim,
    whose,
    word_senses,
)

# Words past this frequency rank (or not in the vocabulary at all) must match exactly.
RARE_RANK = 12_000
_VOCAB_FIRST_WORD = 1996  # ranks below are special tokens and single characters

def word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# A word, number or id: a sign before a number is its own ("-40", "+5"), a sign after a short code
# too ("O+", "A-", "C++"), and an address is one token ("gmail.com", "bob@example.com"); a full
# stop before a capital ends a sentence, even with no space after it ("this.I would").
_TOKEN = re.compile(r"[£$€¥#%]|(?:(?<![\w.,)])[-+](?=\d))?\w+(?:(?:[,:/'’@\-]|\.(?![A-Z]))\w+)*"
                    r"(?:[+-]+(?!\w))?'?", re.UNICODE)
# Emoticons, each a value as written: ":)" is not ":(".
_EMOTICON = re.compile(r"(?<![\w:;=<>^/\\()\[\]])(?:[:;=][-'o^]?[()\[\]DPpOo03|/\\*$@SsXx]+"
                       r"|[()\[\]|/\\][-'o^]?[:;=]|</?3+|\^_*\^|[-T>]_+[-T<]|[oO0]_[oO0])(?![\w:;=()\[\]/\\])")
# Single letters joined by dots, said of no one thing: "e.g.", "i.e." ("U.S." is a name).
_NOTHING_ABBREVIATED = frozenset({"e.g", "i.e", "n.b", "p.s", "etc"})
_CLAUSE = re.compile(r"(?:[^,.!?;:\n]|(?<=\d)[.:](?=\d))+[,.!?;:\n]*")
_SENTENCE_END = ".?!:;\n"

_CURRENCY = {
    "£": "gbp", "$": "usd", "€": "eur", "¥": "jpy", "pound": "gbp", "pounds": "gbp", "quid": "gbp",
    "gbp": "gbp", "dollar": "usd", "dollars": "usd", "usd": "usd", "bucks": "usd", "euro": "eur",
    "euros": "eur", "eur": "eur", "yen": "jpy", "pence": "gbp-minor", "p": "gbp-minor",
    "cents": "usd-minor", "cent": "usd-minor", "%": "percent", "percent": "percent",
    "percentage": "percent",
}
_NUMBER_WORDS = {
    w: str(i) for i, w in enumerate((
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
        "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
        "twenty"))
} | {"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80",
     "ninety": "90", "hundred": "100", "thousand": "1000", "million": "1e6", "billion": "1e9",
     "dozen": "12", "half": "0.5", "quarter": "0.25", "once": "x1", "twice": "x2", "double": "x2",
     "triple": "x3", "single": "1", "couple": "2", "first": "#1", "second": "#2", "third": "#3",
     "fourth": "#4", "fifth": "#5", "last": "#last", "next": "#next", "latest": "#last",
     "final": "#last"}
# Periods and measures: the units a count is given in.
_UNIT_NAMES = (
    "minute minutes hour hours day days week weeks fortnight month months year years decade "
    "second seconds mile miles km kilometre kilometres kilometer kilometers metre metres meter "
    "meters kg kilo kilos gram grams pound lb lbs litre litres liter liters gallon gallons "
    "gb mb tb kb gigabyte gigabytes megabyte megabytes terabyte terabytes kilobyte kilobytes "
    "kilogram kilograms millilitre millilitres milliliter milliliters ml tablespoon "
    "tablespoons tbsp teaspoon teaspoons tsp degree degrees celsius centigrade fahrenheit "
    "mm cm millimetre millimetres millimeter millimeters centimetre centimetres centimeter centimeters "
    "inch inches ounce ounces oz foot feet ft pint pints ")
# Days, months, relative dates, times of day and units: each names a different value.
_DATE_WORDS = word_set(
    "monday tuesday wednesday thursday friday saturday sunday weekday weekdays weekend weekends "
    "january february march april june july august september october november december "
    "today tonight tomorrow yesterday morning afternoon evening night overnight midnight noon "
    "am pm daily weekly fortnightly monthly quarterly yearly annually annual hourly "
    "spring summer autumn fall winter christmas easter "
    + _UNIT_NAMES +
    # colours, compass points and age groups: attribute values, like a date
    "red blue green yellow black white orange purple pink grey gray brown silver gold amber "
    "north south east west northern southern eastern western "
    "adult adults child children kid kids baby babies infant infants toddler toddlers teen teens "
    "teenager teenagers senior seniors pensioner pensioners student students"
)
_CLOCK = frozenset({"am", "pm"})  # times of day only after a number
# "2kg", "18-month", "30/month": a number and its unit, however joined.
_NUMBER_AND_UNIT = re.compile(r"([-+]?\d+(?:\.\d+)?)[-/]?([a-z]+)")
# Spellings of one period.
_SAME_VALUE = {"c": "celsius", "f": "fahrenheit",  # joined to a number: "180C", "350F"
               "millimetre": "mm", "millimeter": "mm", "centimetre": "cm", "centimeter": "cm",
               "annual": "yearly", "annually": "yearly", "year": "year", "weekday": "weekday",
               "fortnight": "fortnightly", "midday": "noon", "kilo": "kg", "kilometre": "km",
               "kilometer": "km", "metre": "meter", "litre": "liter", "lb": "pound", "kilogram": "kg",
               "millilitre": "ml", "milliliter": "ml", "tablespoon": "tbsp", "teaspoon": "tsp",
               "centigrade": "celsius", "fall": "autumn", "overnight": "night", "gigabyte": "gb",
               "megabyte": "mb", "ounce": "oz", "foot": "feet", "ft": "feet",
               "terabyte": "tb", "kilobyte": "kb",
               "kid": "child", "children": "child", "infant": "baby", "teenager": "teen",
               "pensioner": "senior", "gray": "grey"}

_NEGATIONS = word_set(
    "not no never none nobody nothing nowhere neither nor without cannot cant dont doesnt didnt "
    "isnt arent wasnt werent wont wouldnt shouldnt couldnt hasnt havent hadnt mustnt neednt aint "
    "avoid avoiding avoided prevent prevented preventing refrain lack lacking neglect"
)

# Opposite pairs, grouped so that synonyms on one side still agree: (axis, +1 | -1).
_POLARITY_GROUPS: dict[str, tuple[str, str]] = {
    "run": ("enable activate start begin launch continue on",
            "disable deactivate stop end halt cease quit terminate off"),
    # a pause for a while, not an end: "freeze my membership" is not "quit my membership"
    "hold": ("resume unpause unfreeze", "pause suspend freeze"),
    "renewal": ("renew", "cancel"),
    "permit": ("allow permit accept approve grant admit authorise authorize let include allowed",
               "ban forbid prohibit reject deny decline refuse block exclude disallow bar banned"),
    "add": ("add insert attach install subscribe join enrol enroll register create",
            "remove delete detach uninstall unsubscribe leave erase drop destroy"),
    "buy": ("buy purchase order acquire buyer purchaser", "sell seller vendor"),
    "amount": ("increase raise rise risen soar climb more higher grow extend expand boost maximum max most "
               "upgrade lengthen beyond lot lots plenty many much "
               "exceed gain above over big bigger biggest large larger largest huge longer faster fast "
               "fastest high highest",
               "decrease reduce decline plummet sink fall fell fallen lower less few fewer cut shrink "
               "shorten "
               "minimum min least "
               "downgrade "
               "below under small smaller smallest tiny shorter slower slow slowest low lowest"),
    "gender": ("husband father dad son brother boyfriend male man men boy boys groom",
               "wife mother mum mom daughter sister girlfriend female woman women girl girls bride"),
    # early is before, late after: "How early should I arrive?" / "How long before my flight?"
    "time": ("after later afterwards since following late",
             "before earlier prior previous until ahead early"),
    "open": ("open unlock unlocked available", "close closed shut lock locked unavailable"),
    "direction": ("receive incoming inbound deposit input credit arrive arrival",
                  "send outgoing outbound withdraw output debit depart departure"),
    "load": ("upload", "download"),
    "outcome": ("win pass succeed success approved accepted", "lose fail failure failed rejected declined"),
    # where a payment, a claim or a fault stands: done, or not yet
    "settled": ("processed cleared resolved completed", "pending outstanding unresolved ongoing"),
    "quality": ("safe safely legal valid true good positive healthy cheap",
                "unsafe dangerous harmful illegal invalid incorrect wrong false bad negative "
                "unhealthy expensive dear toxic poisonous unsafely dangerously"),
    "merit": ("benefit benefits advantage advantages pro pros upside upsides",
              "drawback drawbacks disadvantage disadvantages con cons downside downsides risk risks"),
    "condition": ("properly", "fault faults faulty broken defective malfunction malfunctioning"),
    "connect": ("connect link pair mount follow", "disconnect unlink unpair unmount unfollow"),
    "temperature": ("hot warm heat", "cold cool chill"),
    "encrypt": ("encrypt encode compress lock", "decrypt decode decompress"),
    "login": ("login signin", "logout signout"),
    "same": ("same similar identical", "different"),
    # how much of an answer: "Explain recursion simply" is not "Explain recursion in detail"
    "detail": ("brief briefly concise concisely simply summary summarise summarize",
              "detail detailed thorough thoroughly depth comprehensive comprehensively extensively"),
    "public": ("public shared", "private personal"),
    "import": ("import", "export"),
    "value": ("inflation inflate inflated appreciate appreciation", "deflation deflate deflated depreciate "
              "depreciation"),
    "charge": ("overcharge overcharged overpay overpaid overpayment overestimate",
               "undercharge undercharged underpay underpaid underpayment underestimate"),
    "push": ("push", "pull"),
    "lend": ("lend lender", "borrow borrower"),
    "quantifier": ("all every each", "some any"),
    "strength": ("strong stronger strongest strengthen", "weak weaker weakest weaken"),
    "ease": ("easy easier easiest", "hard harder hardest difficult"),
    "fill": ("full", "empty part partial"),
    "weight": ("heavy heavier heaviest", "lighter lightest"),
    "depth": ("deep deeper deepest", "shallow shallower"),
    "moisture": ("wet", "dry"),
    "noise": ("loud louder noisy", "quiet quieter"),
    "thickness": ("thick thicker thicken", "thin thinner"),
    "memory": ("remember remembered recall recalled", "forget forgot forgotten"),
    "borders": ("international internationally overseas abroad foreign worldwide", "domestic"),
    "passage": ("entrance entrances entry", "exit exits"),
    "newness": ("new", "used refurbished reconditioned secondhand pre-owned existing old"),
    "channel": ("online", "offline"),
    # what is free against what a fee is paid for: "Is the app free?" / "Is there a fee for the app?"
    "price": ("free complimentary", "paid chargeable fee fees charge charged charges"),
    "whole": ("merge combine", "split separate divide"),
    # adjectives and the verbs made of them: "tighten a loose chain" / "loosen a tight one"
    "tightness": ("tight tighter tighten", "loose looser loosen"),
    "stiffness": ("stiff stiffer stiffen firm firmer", "soft softer soften"),
    "brightness": ("bright brighter brighten", "dark darker darken dim dimmer"),
    "width": ("wide wider widen broad", "narrow narrower"),
    "sharpness": ("sharp sharper sharpen", "blunt"),
    "inside": ("inside indoors indoor", "outside outdoors outdoor"),
}
# Polar words that say little when the other side has neither: "Do the rooms have a kettle?"
# asks what "Do all the rooms have a kettle?" does, and "Is delivery available?" what "Do you
# deliver?" does; against their pair (all/some, available/unavailable) they still refuse.
# A particle after a verb the gates do not list still says which way ("zoom in on my phone",
# "turn the volume down"); it is held against the opposite particle only, as the light polar
# words are, on an axis and under a name of its own: the particle of a listed verb ("check in")
# keeps its weight, and "speed up" does not meet "slow" and "faster" said together.
_LOOSE = "~"
_LOOSE_PARTICLES = frozenset({"up", "down", "in", "out"})
_LIGHT_POLAR = frozenset({"available", "all", "every", "each", "some", "any"}
                         | {_LOOSE + particle for particle in _LOOSE_PARTICLES})
_POLARITY: dict[str, tuple[str, int]] = {}
for _axis, (_plus, _minus) in _POLARITY_GROUPS.items():
    for _word in _plus.split():
        _POLARITY.setdefault(_word, (_axis, 1))
    for _word in _minus.split():
        _POLARITY.setdefault(_word, (_axis, -1))
# "on", "in", "up"... are polar only as particles of these verbs ("turn off", "log in").
_PARTICLES = frozenset({"on", "off", "in", "out", "up", "down"})
# Words that follow a verb and hardly a noun: an object pronoun, an article or a possessive
# opening its object, or a particle that ends a phrasal verb ("will travel insurance pay out",
# "when I plug it in", "a statement covering the last three months"); "on" and "in" also open a
# place after a noun ("my dog food on the train"), "that" a clause.
_VERB_FOLLOWERS = frozenset({"it", "them", "me", "us", "him", "out", "back",
                             "a", "an", "the", "my", "your", "our", "their", "his"})
# Verbs the gates otherwise pass over that a negation may deny: "delivered but I didn't get it" is
# not "not delivered but I got it".
_LIGHT_VERBS = {form: verb for verb, forms in (
    ("get", "get got gotten"), ("have", "have had"), ("go", "go went gone"), ("come", "come came"),
    ("make", "make made"), ("take", "take took taken"), ("give", "give gave given"), ("work", "work"),
    ("happen", "happen"), ("become", "become became becoming")) for form in forms.split()}
# Words that open another clause, where a negation before them no longer reaches ("and" and "or"
# mostly join words within one: "no card or bank account"); "without" opens a denied one.
_CLAUSE_WORDS = frozenset({"but", "so", "because", "when", "while", "if", "although", "though", "whereas",
                           "without"})
_PARTICLE_VERBS = word_set("turn switch power log sign opt check plug scale cash move shut")
_LEAST = frozenset({"least", "less"})
# Verbs whose "up" or "down" after their object says what the sentence does to it.
_MOVING_VERBS = word_set("bring get go come put push pull keep turn")
# A second time has rules of its own: "again" asks about one ("What happens if I fail a drug test
# again?"), unless a thing is as it was again ("working again"); "another" does where the question
# asks whether one may, can, should or needs to ("Can I get another free trial?", "Do I need another
# vaccine?"; "How can I add another user?" asks how).
_ASKS_LEAVE = re.compile(r"(?<!\bhow )\b(?:can|could|may|need|needs|should)\b"
                         r"|\b(?:allowed|possible|eligible|able|required|safe)\b", re.IGNORECASE)
_ONCE_MORE = frozenset({"again", "another"})
# "working again", "sharp again": back as it was, not a second time
_RESTORED = word_set("work sharp normal online clean usable visible available fine ok okay right new better "
                     "well")
# "go up" / "go down", "come on" / "go off": which way a thing itself goes.
_GOING = word_set("go goes going gone went come comes coming came")
# Verbs that "out" turns to the owner's side: "rent out", "lease out", "hire out".
_LETTING = frozenset({"rent", "lease", "hire", "let", "sublet", "lend", "loan"})
# "fall" the verb (going down) against the season: the season comes after these words or before these
_FALLING = frozenset({"fall", "fell", "fallen"})  # "fall" itself only after its subject ("rates fall")
_BEFORE_A_SEASON = word_set("the this last next in during every early late mid each until till since by for "
                            "best good great favourite favorite beautiful cool warm")
_AFTER_A_SEASON = word_set("semester term season break colors colours leaves foliage intake")
_GONE_WHICH_WAY = frozenset({"up", "down", "on", "off"})
# Words that open a condition, unless they ask whether after a verb of finding out ("check if"),
# and, within a sentence and not beside a preposition ("by when", "opening hours" read as
# "open when of"), a circumstance.
_CONDITIONS = frozenset({"if", "unless"})
_CIRCUMSTANCES = frozenset({"when", "while", "whilst"})
_WHETHER_AFTER = word_set("check see know tell ask wonder sure find confirm verify")

# Prefixes that negate or narrow the word they sit on.
_PREFIXES = ("un", "in", "im", "ir", "il", "dis", "non", "de", "anti", "mis", "self", "counter",
             "pre", "post", "sub", "over", "under", "semi", "co", "ex", "re")
# Direction words whose objects must agree.
_ROLE_WORDS = frozenset({"to", "into", "onto", "from", "than", "vs", "versus", "towards", "toward"})
_DIRECTION = {"into": "to", "onto": "to", "towards": "to", "toward": "to", "versus": "vs"}
# Verbs that give one thing up for another: "leave X for Y", "swap X for Y", "replace X with Y"
# say "from X to Y", so they are read with the direction words ("leaving British Gas for Octopus"
# is not "moving from Octopus to British Gas").
_TRADE_VERBS = word_set("leave quit switch swap exchange trade replace ditch dump drop abandon")
_TRADE_FOR = frozenset({"for", "with"})

_STOP = word_set(
    "a an the this that these those there here it its it's i i'm i've i'd me my mine myself we us "
    "our ours you you're your yours he him his she her they them their theirs what whats what's "
    "which who whom whose when where why how hows how's is am are was were be been being do does "
    "did doing done have has had having will would shall should can could may might must ought "
    "of at by for with about against between through during within upon across along around "
    "behind near via per as if then else so and or but because while although though "
    "also too very really just only even still yet already anymore lately again ever quite rather "
    "some any each every all both either such own other another much many lot lots bit kind sort "
    "please ok okay yes yeah well um uh oh so anyway actually basically "
    "exactly literally currently generally usually normally possibly probably maybe perhaps typical "
    "typically usual normal officially "
    "tell know need want wanted wondering wonder like would help get got getting go going goes gone went "
    "make "
    "become became becoming "
    "way ways able possible process steps step thing things something anything someone anyone "
    "somebody anybody question ask asking explain show find out happen happens work works "
    "use using best right correct proper properly quick quickly easy easiest simply "
    "come comes there's here's it'll can't i'll let's er erm um uh hmm stay remain "
    "kindly procedure method methods whether"
) - _NEGATIONS - _ROLE_WORDS - frozenset(_POLARITY) - _PARTICLES - frozenset(_NUMBER_WORDS)
# Words after which "work" is the noun (a workplace), not the verb of "how does it work".
_BEFORE_NOUN = word_set("my your his her our their the a an at from for to into of")
_HOW_LONG = re.compile(r"\bhow long\b", re.IGNORECASE)
# After these, or in a question that asks how long, "last" is the verb ("will it last").
_BEFORE_LAST_VERB = word_set("it they this that these those will would to")
# Verbs that only frame what is asked about ("Do you offer X?", "Does the Pixel support X?"),
# but nouns after a determiner ("any offers on laptops?", "contact support").
_FRAME_VERBS = word_set("offer offers offered provide provides provided supply supplies support supports")
# Participles that only introduce the value after them.
_MEASURING = word_set("weighing measuring costing priced sized lasting totalling totaling worth")
_BEFORE_FRAME_NOUN = _BEFORE_NOUN | word_set("there any some no special customer technical tech contact")
# Clauses made only of these open or close a message without asking anything.
_CHAT = word_set(
    "hi hiya hello hey morning afternoon evening good day team all there folks everyone guys "
    "thanks thank you cheers ta many much in advance sorry to bother silly quick question one "
    "please ok okay so um er erm uh hmm well right just wondering i was am hoping hope apologies "
    "again a help me dear sir madam so lot")
# Greetings, thanks and apologies inside a question are what it asks about ("How do I say sorry in
# Japanese?" is not "... thank you ..."); only those that open it say nothing, with a comma or
# without ("hey do you accept paypal").
_SOCIAL = word_set("thanks thank sorry hi hello hey")
# Verbs that open a request for a figure as a question word would ("Calculate 15% of 200" asks
# what "What's 15% of 200?" does); inside a question they keep their sense ("how do I calculate").
_ASKING_VERBS = word_set("calculate compute")
# Contractions whose stem is not the word before n't.
_CONTRACTED = {"won't": "will", "can't": "can", "shan't": "shall", "ain't": "is"}


@cache
def _ranks() -> dict[str, int]:
    """Whole words of the shipped WordPiece vocabulary by frequency rank (1 = most frequent)."""
    raw = gzip.decompress((resources.files("gatewise.data") / "minilm-tokenizer.json.gz").read_bytes())
    vocab: dict[str, int] = json.loads(raw)["model"]["vocab"]
    return {w: i - _VOCAB_FIRST_WORD + 1 for w, i in vocab.items()
            if i >= _VOCAB_FIRST_WORD and w.isalpha()}


def _known(word: str) -> bool:
    return word in _ranks()


def _is_a_word(word: str) -> bool:
    """A word of the embedder's vocabulary or of the dictionary ("paternity", which the
    vocabulary splits, is no slip of "maternity")."""
    return _known(word) or _in_dictionary(word)


def _in_dictionary(word: str) -> bool:
    """A word the embedder's vocabulary lacks but WordNet lists, in this form, as its stem, or as
    the word it is a regular form of ("dozed", "grated", "bluffing", "nixes"): such a word is
    itself, never a slip of another ("dozen", "gram", "blue", "nine")."""
    return any(word_senses.is_word(base) for base in _regular_bases(word))


def _regular_bases(word: str) -> set[str]:
    """``word``, its stem, and every word of three letters or more that it is a regular
    inflection of: -s, -es (see :data:`_ES_AFTER`), -ies/-ied for -y, -ed/-d and -ing (with the
    dropped "e" or without the doubled consonant)."""
    found = {word, stem(word)}
    if word.endswith("s"):
        found.add(word[:-1])
    if word.endswith("es") and word[:-2].endswith(_ES_AFTER):
        found.add(word[:-2])
    if word.endswith(("ies", "ied")):
        found.add(word[:-3] + "y")
    for suffix in ("ed", "ing"):
        if word.endswith(suffix):
            base = word[:-len(suffix)]
            found |= {base, base + "e"}
            if base[-1:] * 2 == base[-2:]:
                found.add(base[:-1])
    return {base for base in found if len(base) >= 3}


# Endings that take -es in the plural or the third person: a hissing sound, or an "o".
_ES_AFTER = ("s", "x", "z", "ch", "sh", "o")


def is_function_word(word: str) -> bool:
    """Whether ``word`` (lowercased) says nothing about what is asked by itself: an article,
    pronoun or auxiliary (never compared), a direction word or a negation (compared by their
    own gates)."""
    return word in _STOP or word in _ROLE_WORDS or word in _NEGATIONS


def stem(word: str) -> str:
    """A light suffix stripper: plurals, -ing, -ed, and -est/-er where the word has both forms."""
    w = word
    if len(w) == 6 and w.endswith("ing"):
        return _three_letter_verb(w)
    # -es is the ending (fixes, taxes, matches, buses, goes) unless the word itself ends in "e"
    # (caches, horses, sizes, shoes): the vocabulary says which.
    if len(w) >= 4 and w.endswith("es") and w[:-2].endswith(_ES_AFTER):
        if _known(w[:-1]):
            return w[:-1]
        if _known(w[:-2]):
            return w[:-2]
    for suffix, repl, least in (("ies", "y", 4), ("sses", "ss", 5), ("ches", "ch", 5), ("shes", "sh", 5),
                                ("xes", "x", 4), ("ing", "", 5), ("ied", "y", 4), ("ed", "", 4),
                                ("s", "", 3)):
        if w.endswith(suffix) and len(w) >= least + len(suffix) - 1:
            if suffix == "s" and w.endswith(("ss", "us", "is")):
                break
            w = w[: -len(suffix)] + repl
            if suffix in ("ing", "ed") and len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz" \
                    and (_known(w[:-1]) or not _known(w)):
                w = w[:-1]  # dripping -> dripp -> drip; but bluffed -> bluff
            elif suffix in ("ing", "ed") and _known(w + "e") and (not _known(w) or _silent_e(w)):
                w += "e"  # charging -> charg -> charge, as "charge" itself stems; named -> name
            return w
    # quickest -> quick and faster -> fast, but only where the other degree exists too, so that
    # "interest" and "order" stay whole.
    for suffix, other in (("est", "er"), ("er", "est")):
        if w.endswith(suffix) and len(w) >= 6:
            base = w[: -len(suffix)]
            if _known(base + other):
                return base[:-1] if len(base) > 3 and base[-1] == base[-2] else base  # biggest -> big
    return w


def _three_letter_verb(word: str) -> str:
    """A six-letter -ing form stemmed only where the vocabulary knows what is left: "buying",
    "paying", "fixing", "taking" (as "take", as "hoping" is "hope"); "during" and "string"
    stay whole, and so does a form whose stem is a function word ("outing")."""
    base = word[:3]
    if _known(base + "e") and (not _known(base) or _silent_e(base)):
        return base + "e"
    return base if _known(base) and not is_function_word(base) else word


def _silent_e(base: str) -> bool:
    """Whether ``base`` + -ed/-ing lost an "e": one vowel before one final consonant would have
    been doubled otherwise (hoped/hopped, named, noted, riding), which the caller has undone."""
    vowels = "aeiou"
    return len(base) >= 3 and base[-1] not in vowels + "wxy" and base[-2] in vowels \
        and base[-3] not in vowels


def _rank(word: str) -> int | None:
    ranks = _ranks()
    found = ranks.get(word)
    return found if found is not None else ranks.get(stem(word))


def is_rare(word: str) -> bool:
    rank = _rank(word.replace("-", ""))
    return rank is None or rank > RARE_RANK


@cache
def _lexicon() -> tuple[str, ...]:
    return tuple(sorted(set(_DATE_WORDS) | set(_NUMBER_WORDS) | set(_POLARITY) | set(_NEGATIONS)
                        | set(answer_kinds.ASKED_FOR)))


@cache
def _corrected(word: str) -> str:
    """A word no dictionary has, one slip from a value, polar, negation or question word, read as that
    word ("Mondys", "instal", "evenigns"); any other word as it is. The plural's stem is tried
    too, since the lexicon lists singulars ("evenigns" is "evening" with two letters swapped).
    A word WordNet lists is read as the other only when they share a sense (another spelling:
    "instal"), never when they do not ("mend" is no slip of "lend")."""
    if len(word) < 4 or not word.isalpha() or _rank(word) is not None:
        return word
    found = [known for form in {word, stem(word)} for known in _one_slip(form, _lexicon_by_deletion())
             if known not in word and _may_be_a_slip(word, known)]
    return min(found) if found else word


def as_read(word: str) -> str:
    """A lowercased word as the gates read it: a slip mended, in its one spelling ("travelling"
    as "traveling"; "hours" and "metres" are values, whatever their spelling)."""
    word = _corrected(word)
    return word if word in _lexicon() else synonyms.one_spelling(word, _known)


def could_be_a_slip(word: str) -> bool:
    """Whether ``word`` is one slip from a word :func:`embedding_text` or :func:`analyse` would
    read it as, were it in no dictionary."""
    return bool(_one_slip(word, _by_deletion()) or _one_slip(word, _lexicon_by_deletion()))


def _may_be_a_slip(word: str, known: str) -> bool:
    """Whether ``word``, one slip from the dictionary word ``known``, may be read as it: it is in
    no dictionary, or WordNet gives the two a sense in common (a spelling variant)."""
    return not _in_dictionary(word) or word_senses.interchangeable((word, stem(word)), (known, stem(known)))


@cache
def _lexicon_by_deletion() -> dict[str, tuple[str, ...]]:
    return _deletion_index(w for w in _lexicon() if len(w) >= 4)


@dataclass(frozen=True, slots=True)
class Features:
    """What the gates compare, computed once per text."""

    values: frozenset[str]
    negations: int
    polarity: frozenset[tuple[str, int, str]]  # (axis, side, the word)
    negated: frozenset[str]  # words said in a clause with a negation
    asserted: frozenset[str]  # words said in a clause without one
    words: frozenset[str]  # every word, lowercased, stemmed
    names: frozenset[str]  # stems of words written as names: capitalised mid-sentence, acronyms
    content: frozenset[str]  # stems of the words that carry the question's subject
    roles: frozenset[tuple[str, str]]  # (direction word, the content word it governs)
    senses: frozenset[str]  # the synonym groups of every word
    spelled: dict[str, str]  # each stem as written (lowercased): what rarity and word vectors read
    rare: frozenset[str]  # stems of the uncommon words, judged by the word as written
    sequence: tuple[str, ...]  # every word's stem, in order
    said: tuple[str, ...]  # the stems of the words that are no function words, in order
    frame: tuple[str, ...]  # the function words, in order
    owners: frozenset[tuple[str, str]] = frozenset()  # (whose: "i", "you" or a stem, the stem of what)
    conditional: frozenset[str] = frozenset()  # the said words of a clause of condition or circumstance
    units: frozenset[str] = frozenset()  # the units an answer is asked in: "how many days"
    written: str = ""  # the question as written, for what must match character for character
    mentioned: frozenset[str] = frozenset()  # stems of the words asked about as words
    conversion: tuple[str, str] | None = None  # (from, to) of two units, scales or currencies
    converted_to: str | None = None  # the unit a conversion is asked "to", "into" or "in"
    value_order: tuple[str, ...] = ()  # the values in the order first said
    asks_distance: bool = False  # how far apart two places are: the same both ways
    prefixed: frozenset[int] = frozenset()  # the places in ``said`` of the words "non-" denies


def _question_part(text: str) -> str:
    """The text without greeting, thanks or apology clauses at either end."""
    clauses = _CLAUSE.findall(text)

    def chat(clause: str) -> bool:
        words = re.findall(r"[a-z']+", clause.lower())
        return bool(words) and all(w.strip("'") in _CHAT for w in words)

    while len(clauses) > 1 and chat(clauses[0]):
        clauses.pop(0)
    while len(clauses) > 1 and chat(clauses[-1]):
        clauses.pop()
    return "".join(clauses)


def _deletion_index(words: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """``words`` (in their order) under every spelling with one letter left out, and as they
    are: a word one slip from another shares one of these spellings with it, so one dictionary
    look-up per spelling finds them all."""
    found: dict[str, list[str]] = {}
    for word in words:
        for variant in {word} | {word[:i] + word[i + 1:] for i in range(len(word))}:
            found.setdefault(variant, []).append(word)
    return {variant: tuple(listed) for variant, listed in found.items()}


def _one_slip(word: str, index: dict[str, tuple[str, ...]]) -> list[str]:
    """The indexed words at most one insertion, deletion, substitution or swap from ``word``, in
    the index's order."""
    found: dict[str, None] = {}
    for variant in (word, *(word[:i] + word[i + 1:] for i in range(len(word)))):
        for candidate in index.get(variant, ()):
            if candidate not in found and _edit_distance_at_most(word, candidate, 1):
                found[candidate] = None
    return list(found)


@cache
def _by_deletion() -> dict[str, tuple[str, ...]]:
    """Vocabulary words of four letters or more, most frequent first."""
    ranked = sorted(_ranks().items(), key=lambda item: item[1])
    return _deletion_index(word for word, _ in ranked if len(word) >= 4)


@lru_cache(maxsize=8192)  # every comparison reads each differing word again
def _spelling(word: str) -> str:
    """The most frequent dictionary word one slip from ``word``, for a word no dictionary has."""
    if len(word) < 5 or not word.isalpha() or _known(word) or _known(stem(word)):
        return word
    found = [known for known in _one_slip(word, _by_deletion()) if _may_be_a_slip(word, known)]
    return found[0] if found else word


@lru_cache(maxsize=4096)  # a stored question is read in context again for each new one
def embedding_text(text: str) -> str:
    """What to embed for ``text``: the question without greetings and sign-offs, its obvious
    misspellings mended and the expressions the gates rewrite rewritten, so that "Hi, how do I
    chnage my adress?" lands where the plain question does, and "Is it OK to put bread in the
    freezer?" where "Can I freeze bread?" does. Only the vector and the words read in context use
    it; the gates read the question as written."""
    text = _question_part(text.replace("’", "'")).strip()
    def mend(match: re.Match[str]) -> str:
        # read as the gates read it first ("cancle" is "cancel", as the polarity gate takes it,
        # not the more frequent "candle")
        word = match.group()
        mended = _corrected(word.lower())
        if mended == word.lower():
            mended = _spelling(mended)
        return word if mended == word.lower() else mended

    return synonyms.rewrite(re.sub(r"\b[A-Za-z][a-z]{4,}\b", mend, text))


@lru_cache(maxsize=4096)  # cached questions are compared again and again
def analyse(text: str) -> Features:
    written = _question_part(text)
    # (a minus sign is a hyphen-minus, as most write it)
    text = quantities.canonical(synonyms.rewrite(_question_part(text.replace("’", "'").replace("−", "-"))))
    tokens: list[tuple[str, bool, bool]] = []  # (token, starts a sentence, starts a clause)
    at_start = True
    last_end = 0
    for match in _TOKEN.finditer(text):
        between = text[last_end:match.start()]
        at_start = at_start or any(ch in _SENTENCE_END for ch in between)
        new_clause = at_start or "," in between
        for i, part in enumerate(_token_parts(match.group().strip("'"))):
            tokens.append((part, at_start and i == 0, new_clause and i == 0))
        at_start = False
        last_end = match.end()
    # Title Case writing capitalises every word but the small ones; acronyms, "I" and sentence
    # starts do not show it ("When is the UCAS deadline for applying to Oxford?" still names
    # Oxford, and "Who wrote Wuthering Heights?" or "Where is Tower Bridge?" a title and a place).
    alpha = [t for t, starts, _ in tokens
             if t.isalpha() and not starts and not t.isupper() and t.lower() not in _TITLE_SMALL]
    title_case = bool(alpha) and sum(t[0].isupper() for t in alpha) * 4 > len(alpha) * 3

    opening = next((i for i, (t, _, _) in enumerate(tokens) if t.lower() not in _CHAT), len(tokens))
    values: set[str] = set()
    units: set[str] = set()  # the units an answer of how much, how many or how often is asked in
    negations = 0
    polarity: set[tuple[str, int, str]] = set()
    clause = 0
    negated_clauses: set[int] = set()
    conditional_clauses: set[int] = set()
    said: list[tuple[str, int]] = []  # (the stem of a word that is no function word, its clause)
    light: list[tuple[str, int]] = []  # the same for the light verbs, which a negation can deny
    how_long = bool(_HOW_LONG.search(text))
    asks_leave = bool(_ASKS_LEAVE.search(text))
    words: set[str] = set()
    names: set[str] = set()
    content: set[str] = set()
    senses: set[str] = set()
    spelled: dict[str, str] = {}
    rare: set[str] = set()
    plain: list[str] = []
    measures: list[tuple[str, str]] = []  # (a unit, scale or currency, the direction word before it)
    value_order: tuple[str, ...] = ()
    prefixed: set[int] = set()  # the places in ``said`` of the words denied by "non-"
    previous = ""
    for index, (raw, starts, new_clause) in enumerate(tokens):
        low = raw.lower()
        if index and (new_clause or low in _CLAUSE_WORDS):
            clause += 1
        if low.endswith("n't"):
            negations += 1
            negated_clauses.add(clause)
            low = _CONTRACTED.get(low, low[:-3])
        elif low.endswith("'s"):
            low = low[:-2]
        denied_by_prefix = low.startswith("non-") and len(low) > 6
        if denied_by_prefix:
            negations += 1  # "for non-members" asks what "if I'm not a member" does
            low = low[4:]
        low = as_read(low)
        w = stem(low)
        # a word after a comma or a full stop follows in no phrase: "the 5GB one, how do I add it?"
        following = tokens[index + 1][0].lower().removesuffix("'s") \
            if index + 1 < len(tokens) and not tokens[index + 1][2] else ""
        if (low in _CONDITIONS and previous not in _WHETHER_AFTER) \
                or (low in _CIRCUMSTANCES and not starts and _PREPOSITIONS.isdisjoint((previous, following))):
            conditional_clauses.add(clause)
        kind = "stop" if (starts and low in _ASKING_VERBS) or (low in _SOCIAL and index < opening) \
            else _kind(low, w, previous, following, how_long)
        if (low == "again" and previous not in _RESTORED) or (low in _ONCE_MORE and asks_leave):
            kind = "content"  # "Can I take the SAT again?" asks about a retake
        if kind == "particle" and low in ("up", "down") and set(plain[-4:]) & _MOVING_VERBS:
            kind = "polar"  # "bring my blood pressure down" lowers it
        verb = _verb_before_object(plain) if kind == "stop" and low in _ON_OFF else None
        if verb is not None:
            kind = "polar"
            content.discard(verb)  # "switch dark mode off" says what "turn off dark mode" does
        if kind == "value" and _unit_asked_for(low, w, plain, following):
            kind = "stop"  # "How many days' notice ...?" asks what "How much notice ...?" does
            units.update(_values(low, w))
            measures += [(unit, "asked") for unit in _values(low, w) if unit[:1].isalpha()]
        if kind == "value":
            values.update(_values(low, w))
            # the order of what is said, not of a number and its unit or currency ("£5" / "5 pounds")
            value_order += tuple(v for v in _values(low, w) if not (v.isalpha() and low in _UNIT_OR_CURRENCY))
            measures += [(unit, _marker(plain)) for unit in _values(low, w) if unit[:1].isalpha()]
            w = _said_as_number(low, w)
        elif kind == "negation":
            negations += 1
            negated_clauses.add(clause)
        elif kind in ("particle", "polar"):
            axis, way = _polarity(low, w, previous)
            if previous in _LEAST and axis != "amount":
                # "the least expensive" is the cheapest, "less safe" leans to unsafe
                way = -way
                polarity.discard(("amount", -1, previous))
            if low in _LOOSE_PARTICLES:  # any particle meets the opposite loose one
                polarity.add((_LOOSE + axis, way, _LOOSE + low))
            if kind == "polar":
                polarity.add((axis, way, w))
                if low in _PARTICLES and previous in _PARTICLE_VERBS:
                    content.discard(previous)  # "turn off" and "switch off" say the same
        elif kind == "content":
            content.add(w)
            if _is_name(raw, starts, title_case):
                names.add(w)
        if kind in ("polar", "content"):
            spelled.setdefault(w, low)
            if is_rare(low):
                rare.add(w)
        if kind in ("value", "polar", "content"):
            if denied_by_prefix:
                prefixed.add(len(said))
            said.append((w, clause))
        elif w in _LIGHT_VERBS:
            light.append((_LIGHT_VERBS[w], clause))
        senses |= synonyms.senses(low, w)
        words.add(w)
        plain.append(w)
        previous = w
    values |= _marks(text)
    if ("how", "often") in pairwise(plain):
        units |= values & _RATES_ASKED  # "How often should I feed my cat?" asks "How many times a day ...?"
        values -= _RATES_ASKED
    roles = set()
    for i, word in enumerate(plain):
        if word in _ROLE_WORDS:
            roles.add((_DIRECTION.get(word, word), _governed(plain, i, content)))
        elif word in _TRADE_VERBS:
            roles |= _traded(plain, i, content)
    negated = frozenset(w for w, at in said + light if at in negated_clauses)
    asserted = frozenset(w for w, at in said + light if at not in negated_clauses)
    said_words = tuple(w for w, _ in said)
    said_set = set(said_words)
    return Features(frozenset(values), negations, frozenset(polarity), negated, asserted, frozenset(words),
                    frozenset(names), frozenset(content), frozenset(roles), frozenset(senses), spelled,
                    frozenset(rare), tuple(plain), said_words, tuple(w for w in plain if w not in said_set),
                    whose.of(text), frozenset(w for w, at in said if at in conditional_clauses),
                    frozenset(units), written, _mentioned(written), _conversion(measures),
                    next((unit for unit, marker in measures if marker in ("to", "into", "in")), None),
                    tuple(dict.fromkeys(value_order)), _asks_distance(tuple(plain)), frozenset(prefixed))


def _asks_distance(seq: tuple[str, ...]) -> bool:
    """Whether a question asks how far apart two places are ("how far", "the distance between"),
    which is the same both ways."""
    return ("how", "far") in pairwise(seq) \
        or any(w == "distance" and seq[i + 1:i + 2] in (("between",), ("from",)) for i, w in enumerate(seq))


# Words that say which way a conversion goes: "from X", "to X", "X into Y", "X in Y", "than X".
_FROM_WORDS = frozenset({"from"})
_TO_WORDS = frozenset({"to", "into", "asked"})  # "asked": the unit a "how many" asks for
_WEAK_TO_WORDS = frozenset({"in", "than"})


def _marker(plain: list[str]) -> str:
    """The direction word just before a unit, past a determiner or a number: "to km", "in a mile";
    "asked" after "how many" or "how much"."""
    if plain[-2:] in (["how", "many"], ["how", "much"]):
        return "asked"
    before = plain[-2:]
    if before and (before[-1] in DETERMINERS or before[-1][:1].isdigit()):
        before = before[:-1]
    return before[-1] if before else ""


def _conversion(measures: list[tuple[str, str]]) -> tuple[str, str] | None:
    """Which way a question goes between two units, scales or currencies: "miles to km", "from
    fahrenheit to celsius", "How many km in a mile?" (from miles), "What's 100 USD in EUR?"; None
    without two, or without a word that says which way."""
    kinds = list(dict.fromkeys(unit for unit, _ in measures))
    if len(kinds) != 2:
        return None
    ends: dict[str, str] = {}
    for unit, marker in measures:
        if marker in _FROM_WORDS:
            ends.setdefault(unit, "from")
        elif marker in _TO_WORDS:
            ends.setdefault(unit, "to")
    if not ends:
        weak = {unit for unit, marker in measures if marker in _WEAK_TO_WORDS}
        if len(weak) != 1:
            return None
        ends[weak.pop()] = "to"
    if len(set(ends.values())) != len(ends):
        return None  # both said to be the same end
    first, second = kinds
    source = first if ends.get(first, "to" if ends.get(second) == "from" else "from") == "from" else second
    return (source, second if source == first else first)


def _conversion_reversed(a: Features, b: Features) -> bool:
    """Both sides go between the same two things the other way: "How do I convert miles to km?" /
    "how to convert km to miles", "convert psi to bar" / "bar to psi", "from A to B" / "A from B"."""
    if a.conversion is not None and b.conversion is not None and a.conversion == b.conversion[::-1]:
        return True
    ways_a, ways_b = _ways(a), _ways(b)
    # a question that names both ways ("from London to Paris or from Paris to London") asks both
    return any((to, source) in ways_b and (to, source) not in ways_a and (source, to) not in ways_b
               for source, to in ways_a if source != to)


def _ways(side: Features) -> set[tuple[str, str]]:
    """The (from, to) of each "X to Y", "X into Y" and "Y from X" a question says, X and Y words
    that are not function words (a determiner after the direction word is passed over)."""
    seq, ways = side.sequence, set[tuple[str, str]]()
    if side.asks_distance:
        return ways  # "How far is London from Paris?" asks what "... Paris from London?" does
    for i in range(1, len(seq) - 1):
        before = seq[i - 1]
        after = next((w for w in seq[i + 1:i + 3] if w not in DETERMINERS), "")
        if not after or is_function_word(before) or is_function_word(after):
            continue
        if seq[i] in ("to", "into"):
            ways.add((before, after))
        elif seq[i] == "from":
            ways.add((after, before))
    return ways


_SIGN_AFTER_WORD = re.compile(r"(?<=[^\W\d_])\++(?!\w)")


def _token_parts(token: str) -> list[str]:
    """A token as the words it is read as: a short code with the sign after it as one ("O+",
    "A-", "AB+", "C++"), a longer name with "+" as the name and "plus" ("Disney+"), a sign that
    only joins words dropped ("pre-" of "pre- and post-op"); compounds as their words."""
    base = token.rstrip("+-")
    if base == token:
        return _compound_parts(token)
    if len(base) <= 3 and (token.endswith("+") or any(ch.isupper() or ch.isdigit() for ch in base)):
        return [token]
    return [*_compound_parts(base), "plus"] if token.endswith("+") else _compound_parts(base)


_ANYONE = word_set("someone somebody anyone anybody everyone everybody nobody one")
# A word or phrase asked about as such: what follows a verb of saying, spelling or translating, or
# "the word for", up to a preposition or the clause's end ("How do I say thank you in Japanese?").
# What a thing or a person "says", "said", "is" or "keeps saying" is a message reported ("my iPhone
# says storage is full"), whose words the other gates read.
_MENTION = re.compile(r"\b(?:say|(?<!keeps )(?<!keep )(?<!kept )(?<!is )saying|spell|spelt|spelled|spelling"
                      r"|pronounce[ds]?|pronouncing|translate[ds]?|translating|(?:word|words|phrase|term|expression)\s+for)\s+"
                      r"(?P<said>[\w'’-]+(?:\s+[\w'’-]+){0,3}?)"
                      r"(?=\s+(?:in|into|to|from|for|with|as|when|if|so|and|or)\b|\s*[?.!,;:\n]|\s*$)",
                      re.IGNORECASE)


def _mentioned(written: str) -> frozenset[str]:
    """The stems of the words a question asks about as words (see :data:`_MENTION`), when the
    first is no function word ("say to my landlord" mentions nothing)."""
    found: set[str] = set()
    for match in _MENTION.finditer(written):
        words = [w.lower().strip("'’") for w in match["said"].split()]
        if words and not is_function_word(words[0]):
            found |= {stem(w) for w in words if w not in _ARTICLES}
    return frozenset(found)


def _unmentioned(side: Features, other: Features) -> bool:
    """Whether a word ``side`` asks about as a word is not said, as itself, by ``other``: a word
    asked about has no synonym ("say hello in Russian" is not "say hi")."""
    return not side.mentioned <= other.words


# Symbols a word of the question already says: the currencies named, and "=", which reads as "is"
# ("one tbsp = how many tsp").
_UNMARKED = frozenset(_CURRENCY) | {"="}


def _marks(text: str) -> set[str]:
    """Emoticons and runs of symbols (emoji, arrows, operators, currencies no word names), as
    written: what they say no word of the question says ("What does 👍 mean?", "3*4" / "3+4").
    A sign after a word is its token's ("C++", "Disney+")."""
    found = {match.group() for match in _EMOTICON.finditer(text)}
    text = _SIGN_AFTER_WORD.sub("", text)
    run = ""
    for ch in text + " ":
        if ch == "\N{VARIATION SELECTOR-16}":
            continue  # an emoji drawn as a picture is the same emoji
        if ch == "*" or (ch == "\N{ZERO WIDTH JOINER}" and run) \
                or (unicodedata.category(ch).startswith("S") and ch not in _UNMARKED):
            run += ch
        elif run:
            found.add(run)
            run = ""
    return found


def _is_code(low: str) -> bool:
    """A token that names one thing by its letters: a code with its sign ("o+", "c++"), an
    address ("gmail.com", "bob@example.com"), a file ("config.yaml"), letters joined by dots
    ("u.s")."""
    return low[-1:] in ("+", "-") or "@" in low \
        or (re.search(r"\w[.:]\w", low) is not None and low not in _NOTHING_ABBREVIATED)


# The units an answer of how much or how many may be given in (not money, "How many pounds?",
# nor a temperature's degrees, which the value gate already leaves understood).
_UNITS_ASKED = word_set(_UNIT_NAMES) - set(_CURRENCY) \
    - word_set("degree degrees celsius centigrade fahrenheit")
# The rates a question of how often may count its answer by.
_RATES_ASKED = frozenset({"hourly", "daily", "weekly", "fortnightly", "monthly", "quarterly", "yearly"})


def _unit_asked_for(low: str, w: str, plain: list[str], following: str) -> bool:
    """Whether a unit without a count follows "how many" or "how much" (a working or business
    day too; "how long" is "how many" rewritten before a unit), or ends the question after
    "in" ("What does a cup of flour weigh in grams?"): the unit the answer is given in, not a
    value the question names."""
    before = plain[-3:-1] if plain[-1:] in (["work"], ["business"]) else plain[-2:]
    return (low in _UNITS_ASKED or w in _UNITS_ASKED) \
        and (before in _ASKING_A_COUNT or (plain[-1:] == ["in"] and not following))


_ASKING_A_COUNT = (["how", "many"], ["how", "much"], ["how", "long"])


def _governed(plain: list[str], at: int, content: set[str]) -> str:
    """The content word a direction word at ``at`` governs: the first within three words."""
    return next((x for x in plain[at + 1:at + 4] if x in content), "")


def _traded(plain: list[str], at: int, content: set[str]) -> set[tuple[str, str]]:
    """"from X" and "to Y" for a trade verb at ``at`` read as "<verb> X for Y" (or "with Y")."""
    given = _governed(plain, at, content)
    if not given:
        return set()
    after = plain.index(given, at + 1)
    linker = next((i for i in range(after + 1, min(after + 4, len(plain))) if plain[i] in _TRADE_FOR), None)
    taken = _governed(plain, linker, content) if linker is not None else ""
    return {("from", given), ("to", taken)} if taken else set()


def analyse_pair(cached: str, new: str) -> tuple[Features, Features]:
    """Both questions' features, an acronym on either side read as the words the other side
    spells it out with (:mod:`gatewise.cache.acronyms`)."""
    return analyse(acronyms.spell_out(cached, new)), analyse(acronyms.spell_out(new, cached))


def _compound_parts(token: str) -> list[str]:
    """A hyphenated compound of dictionary words as its words ("dog-friendly", "pressure-cooking",
    "end-of-tenancy"), so it meets the same words written apart; a prefixed word ("self-employed",
    "non-member") and anything with a digit, an unknown part or a two-letter part that is no
    function word stay whole."""
    if "/" in token and all(part.isalpha() for part in token.split("/")):
        return token.split("/")  # "and/or", "etc/hosts": words, each read as itself
    parts = token.split("-")
    if len(parts) < 2 or parts[0].lower() in _PREFIXES \
            or not all(p.isalpha() and _known(p.lower())
                       and (len(p) > 2 or p.lower() in _STOP or p.lower() in _PARTICLES) for p in parts):
        return [token]  # "Wi-Fi" and "e-mail" are one word each, however the halves read
    return parts


# "on" and "off" after the object of a verb they go with: "switch dark mode off", "turn it on".
_ON_OFF = frozenset({"on", "off"})
_PREPOSITIONS = word_set("at from for to into onto of with by about over under")


def _verb_before_object(said: list[str]) -> str | None:
    """The particle verb among the last three words, with no preposition or particle after it
    ("switch dark mode", "turn it"; not "switch to paperless billing")."""
    for word in reversed(said[-3:]):
        if word in _PARTICLE_VERBS:
            return word
        if word in _PARTICLES or word in _ROLE_WORDS or word in _PREPOSITIONS:
            return None
    return None


# After these, "one" is still a count: "only one", "just one", "more than one", "at least one";
# and it stands for a thing only where its phrase ends ("apply for one?", "a new one if"), not in
# "one or two", "one of the lifts", "one bag".
_NUMBER_BEFORE_ONE = frozenset({"only", "just", "than", "least", "most", "exactly", "number"})
_BEFORE_PRONOUN_ONE = frozenset({"which", "this", "that", "each", "every", "another"})
_AFTER_PRONOUN_ONE = frozenset({"", "for", "with", "from", "that", "which", "please", "too", "as", "if",
                                "when", "so", "but", "because", "then", "instead", "now", "today", "online"})


@cache
def _arrivals() -> frozenset[str]:
    return frozenset(stem(w) for w in word_set("arrive arrives arrived come comes clear clears"))


def _kind(low: str, w: str, previous: str, following: str, how_long: bool) -> str:
    if any(ch.isdigit() for ch in low) or low == "#" or _is_code(low):
        return "value"
    if low == "else" and previous in _ANYONE:
        return "content"  # "a password for someone else" is not the asker's
    if low in _CURRENCY and (low != "p" or previous[-1:].isdigit()):  # 50 p, but Part P
        return "value"
    if low in _CLOCK and not previous[-1:].isdigit():  # "am I allowed", the PM; not "9 am"
        return "stop" if low in _STOP else "content"
    if low == "last" and (previous in _BEFORE_LAST_VERB or how_long) and not following[:1].isdigit() \
            and following not in _NUMBER_WORDS and following not in _DATE_WORDS:
        return "stop"  # the verb: "How long does the battery last?"; not "the last train", "pay last"
    if how_long and (w in ("take", "took", "taken") or w in _arrivals()):
        return "stop"  # "How long does a transfer take?" asks "How long will a transfer take to arrive?"
    if low == "one" and (following in _AFTER_PRONOUN_ONE or previous in _BEFORE_PRONOUN_ONE) \
            and previous not in _NUMBER_BEFORE_ONE:
        return "stop"  # the pronoun: "how do I apply for one?", "a new one", "which one"; not "one or two"
    if low == "one" and previous == "no":
        return "stop"  # "no one" is nobody: its "no" is the negation
    if low == "first" and (previous == "at" or following == "aid"):
        return "stop" if previous == "at" else "content"  # "at first" is when, "first aid" a thing
    if low in _NUMBER_WORDS and not (low == "second" and previous in {"a", "one"}):
        return "value"
    if low in _REMAINING and previous in _PERIODS:
        return "value"  # "3 months left" is not "3 months in"
    if w in _FALLING and following not in _AFTER_A_SEASON and not following[:1].isdigit() \
            and (low != "fall" or (previous and not is_function_word(previous)
                                   and previous not in auxiliaries() and previous not in _BEFORE_A_SEASON)):
        return "polar"  # "will interest rates fall", not "in the fall" or "fall semester"
    if low in _DATE_WORDS or w in _DATE_WORDS:
        return "value"
    if low == "may" and previous.isdigit():
        return "value"  # the month after its day ("1 May", read so from "May 1st"), not the verb
    if low in _NEGATIONS:
        return "negation"
    if low in ("lot", "lots", "plenty") and following != "of":
        return "stop"  # "a lot of ibuprofen" says how much; "thanks a lot", "a parking lot" do not
    if low in ("many", "much", "few"):
        # "so many emails" is "a lot of emails"; "how many", "as much as" ask or compare, "so much
        # higher" says how much higher, "thanks so much" nothing
        amount = previous in ("so", "too", "very") and bool(following) and not is_function_word(following) \
            and following not in ("better", "worse") and _polar_word(following, stem(following)) is None
        return "polar" if amount else "content" if low == "few" else "stop"
    if low == "out" and previous in _LETTING:
        return "content"  # "rent out my flat" is the landlord's question, "rent a flat" the tenant's
    if low in _PARTICLES:
        # "out of" says where something is not: "out of the fridge", "out of stock"
        if previous in _PARTICLE_VERBS or (low == "out" and following == "of") \
                or (previous in _GOING and low in _GONE_WHICH_WAY):
            return "polar"
        return "particle" if _loose_particle(low, previous, following) else "stop"
    if low == "under" and previous in _standing_verbs():
        return "stop"  # "registered under Part P", "covered under the warranty": by, not below
    if low == "old" and previous == "how":
        return "content"  # an age asked for, not the opposite of new
    if low == "long" and previous in _UNITS_ASKED:
        return "stop"  # "two hours long" is two hours
    if low == "simply" and previous in _BEFORE_PLAIN_SIMPLY:
        return "stop"  # "can I simply reset it": merely, not how much of an answer
    if _polar_word(low, w) is not None:
        return "polar"
    if low == "work" and previous in _BEFORE_NOUN:
        return "content"  # "my work password", "at work"; but "how does it work"
    if low in _MEASURING and following[:1].isdigit():
        return "stop"  # "a suitcase weighing 23kg" is "a 23kg suitcase": the value says it
    if low in _FRAME_VERBS and previous not in _BEFORE_FRAME_NOUN:
        return "stop"
    if low in _STOP or w in _STOP or low in _ROLE_WORDS or (not low.isalpha() and "-" not in low):
        return "stop"
    return "content"


# Words after which "simply" means merely ("I simply want", "can I simply cancel").
_BEFORE_PLAIN_SIMPLY = word_set("i you we they he she it can could just to do does will would should "
                                "may might must")

# What may follow a particle ("zoom in on", "pour it out to", "turn it down"): not a noun phrase,
# which makes "in" and "out" prepositions ("pay in euros").
_AFTER_PARTICLE = frozenset({"", "on", "to", "of", "with", "for", "at", "from", "please", "and", "or"})


def _loose_particle(low: str, previous: str, following: str) -> bool:
    """Whether "up", "down", "in" or "out" after a word of content says which way: "up" and
    "down" wherever a word says something before them, "in" and "out" only where no noun
    phrase follows."""
    if low not in _LOOSE_PARTICLES or not previous or is_function_word(previous):
        return False
    return low in ("up", "down") or following in _AFTER_PARTICLE


@cache
def _standing_verbs() -> frozenset[str]:
    """Stems of the verbs after which "under" names the scheme or terms something stands by."""
    return frozenset(stem(word) for word in word_set(
        "registered covered listed filed classed classified insured licensed licenced regulated "
        "authorised authorized accredited certified protected employed contracted"))


def _said_as_number(low: str, w: str) -> str:
    """The word a value stands as in the sentence: a number in words as its digits, a rate as its
    one spelling, a temperature as its number ("a ten year old ... two pills" / "a 2 year old ...
    ten pills", "220C for 30 minutes" / "30C for 220 minutes" trade places)."""
    if _NUMBER_WORDS.get(low, "").isdigit():
        return _NUMBER_WORDS[low]
    if _SAME_VALUE.get(low) in _RATES_ASKED:
        return _SAME_VALUE[low]  # "annual" and "annually" are "yearly", wherever they stand
    joined = _NUMBER_AND_UNIT.fullmatch(low)
    return joined.group(1) if joined is not None and _is_scale(joined.group(2)) else w


def _is_scale(unit: str) -> bool:
    return _SAME_VALUE.get(unit) in _SCALES


def _values(low: str, w: str) -> tuple[str, ...]:
    """A number written against its unit ("2kg", "10GB", "9am", "18-month", "£30/month") is the
    number and the unit, as when they stand apart ("2 kilos", "10 GB", "9 am", "18 months")."""
    joined = _NUMBER_AND_UNIT.fullmatch(low)
    if joined is not None:
        unit = joined.group(2)
        if _is_scale(unit):
            # a temperature is its number on its scale: "80F or 20C" is not "20F or 80C"
            return f"{joined.group(1)}°{unit[0]}", _SAME_VALUE[unit]
        if unit in _CURRENCY or unit in _DATE_WORDS or unit in _SAME_VALUE:
            return _value(joined.group(1), joined.group(1)), _value(unit, stem(unit))
    return (_value(low, w),)


# A period still to run, against one already run.
_REMAINING = frozenset({"left", "remaining", "remain"})
_PERIODS = word_set("minute hour day night week fortnight month year")


def _value(low: str, w: str) -> str:
    if low in _CURRENCY:
        return _CURRENCY[low]
    if low in _REMAINING:
        return "remaining"
    if any(ch.isdigit() for ch in low) or low == "#":
        # 10,000 and 10000 are one number; 1.50 keeps its decimal point.
        return re.sub(r"(?<=\d),(?=\d{3}\b)", "", low)
    if low in _NUMBER_WORDS:
        return _NUMBER_WORDS[low]
    base = w if w in _DATE_WORDS else low
    return _SAME_VALUE.get(base, base)


def _polarity(low: str, w: str, previous: str) -> tuple[str, int]:
    if low in _PARTICLES:  # "turn off", "log in", "scale up"
        axis = "run" if low in {"on", "off"} else "inout" if low in {"in", "out"} else "amount"
        return axis, 1 if low in {"on", "in", "up"} else -1
    return _POLARITY[str(_polar_word(low, w))]


def _polar_word(low: str, w: str) -> str | None:
    """The opposite pairs' word ``low`` is a form of: the stem may have lost a closing "e" the
    vocabulary could not restore ("activated" -> "activat")."""
    return next((key for key in (low, w, w + "e") if key in _POLARITY), None)


# Opposite pairs whose words mostly say what is the case ("Is your store open?") or are
# prepositions ("an item after 30 days"), rather than name a thing a word before may qualify.
_PREDICATE_AXES = frozenset({"open", "time"})
# Words Title Case writing leaves in lower case.
_TITLE_SMALL = word_set("a an the and or but nor of to in on at for by with from as per vs via")


def _is_name(raw: str, starts: bool, title_case: bool) -> bool:
    letters = [c for c in raw if c.isalpha()]
    if len(letters) >= 2 and all(c.isupper() for c in letters):
        return True  # an acronym: VAT, ISA, NHS
    if any(c.isupper() for c in raw[1:]):
        return True  # mixed case: iPhone, PayPal
    return raw[:1].isupper() and not starts and not title_case and raw != "I"


def _edit_distance_at_most(a: str, b: str, limit: int) -> bool:
    """Whether at most ``limit`` insertions, deletions, substitutions or swaps of neighbouring
    letters turn ``a`` into ``b``."""
    if abs(len(a) - len(b)) > limit:
        return False
    before, row = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + (ca != cb))
            if before is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], before[j - 2] + 1)
        if min(current) > limit:
            return False
        before, row = row, current
    return row[-1] <= limit


# Endings that make another form of the same word (quote/quotation, form/formation); never
# endings that change who does what (employ/employer/employee).
_SAME_WORD_ENDINGS = ("ation", "ition", "tion", "ion", "ment", "ness", "ity", "al", "ally", "ance",
                      "ence", "ly", "y", "ing", "ed", "s", "es")
# Nouns whose verb ends otherwise: apply/application, register/registration, cancel/cancellation,
# subscribe/subscription, explain/explanation, complain/complaint, admit/admission,
# decide/decision, include/inclusion, extend/extension, reduce/reduction, consume/consumption,
# resolve/resolution.
_DERIVED = (("y", "ication"), ("er", "ration"), ("el", "ellation"), ("ibe", "iption"), ("ain", "anation"),
            ("ain", "aint"), ("it", "ission"), ("ide", "ision"), ("ude", "usion"), ("end", "ension"),
            ("uce", "uction"), ("ume", "umption"), ("olve", "olution"))


def _same_word(a: str, b: str) -> bool:
    """Two spellings of one word: another form of it, or a slip where one side is no word at all."""
    short, long_ = sorted((a, b), key=len)
    if len(short) == 3 and long_ == short + "ment":  # pay/payment
        return True
    if len(short) >= 4:
        root = short[:-1] if short.endswith("e") else short
        if long_.startswith(root) and long_[len(root):] in _SAME_WORD_ENDINGS:
            return True
        for verb_end, noun_end in _DERIVED:
            if len(short) >= 5 and short.endswith(verb_end) and long_.endswith(noun_end) \
                    and short[:-len(verb_end)] == long_[:-len(noun_end)]:
                return True
    if len(short) < 4 or short in long_:
        return False  # a word and a prefixed or longer word are two words
    if _is_a_word(a) and _is_a_word(b):
        # two real words are one only spelt two ways, a letter doubled ("instalment" /
        # "installment", "canceled" / "cancelled"), not "maternity" / "paternity"
        return _one_letter_doubled(short, long_)
    return _edit_distance_at_most(a, b, 2 if len(long_) >= 8 else 1)


def _one_letter_doubled(short: str, long_: str) -> bool:
    return len(long_) == len(short) + 1 and any(
        long_[i] == long_[i - 1] and long_[:i] + long_[i + 1:] == short for i in range(1, len(long_)))


# Prefixes that turn one word into its opposite: overweight / underweight, upstairs /
# downstairs, inbound / outbound, pre-op / post-op.
_OPPOSITE_PREFIXES = (("over", "under"), ("up", "down"), ("in", "out"), ("pre", "post"), ("hyper", "hypo"),
                      ("super", "sub"), ("inter", "intra"), ("on", "off"))


def _prefixed(a: frozenset[str], b: frozenset[str]) -> bool:
    """One side has a word that is the other side's word with a negating or narrowing prefix,
    or with the opposite prefix ("overnight" is "night", a value said two ways)."""
    for word in a:
        if word in _SAME_VALUE:
            continue
        for prefix in _PREFIXES:
            base = word.removeprefix(prefix).lstrip("-")
            if base != word and len(base) >= 3 and base in b and word not in b:
                return True
        for one, other in _OPPOSITE_PREFIXES:
            for mine, theirs in ((one, other), (other, one)):
                base = word.removeprefix(mine)
                if base != word and len(base) >= 3 and theirs + base in b and word not in b:
                    return True
    return False


@dataclass(frozen=True, slots=True)
class LexicalVerdict:
    """``refused`` names the gate that refused, or None; the unmatched sets hold the common
    words on each side that word vectors must still show to be near-synonyms, unless
    ``reworded``: the two are built differently, and only common words that take no side of an
    opposite pair differ, so a close enough embedding may decide alone."""

    refused: str | None
    unmatched_cached: frozenset[str] = frozenset()
    unmatched_new: frozenset[str] = frozenset()
    reworded: bool = False
    # The sentence was built anew (see _rebuilt); with a refusal by the content or rare-word
    # gate, the unmatched sets hold the words that refused, which may still find a partner in
    # the other sentence read in context (checked by compare's caller).
    rebuilt: bool = False


# Below this share of their other words in the same order, two questions are built differently.
MINIMAL_PAIR_RATIO = 0.75
_ARTICLES = frozenset({"a", "an", "the"})
# Synonym groups (gatewise.cache.synonyms) that name the kind of answer a question wants.
_ANSWER_KINDS = frozenset({"price", "need", "allowed", "meaning", "exist", "eligible", "due"})


def names_a_meaning(words: Iterable[str]) -> bool:
    """Whether any of these words (as written) asks what something means: no word read in
    context stands for one ("What does the term 'excess' mean?" is not "What is the excess on my
    policy?", an amount)."""
    return any("meaning" in synonyms.senses(w, stem(w)) for w in words)


# "only" or "just" limit what is asked of ("Do I just need my ID?" / "Do I only need my ID?"); a
# "just" before a verb done says when ("I've just moved", "my dog just ate").
_LIMITING = frozenset({"only", "just"})
_PAST_FORMS = frozenset({"got", "ate", "came", "went", "left", "had", "did", "saw", "lost", "heard", "began",
                         "broke", "fell", "gave", "took", "woke", "wrote", "drove", "flew", "ran", "spent"})


def _limited(side: Features) -> int:
    """How many words limit what a question asks of (see _LIMITING)."""
    seq = side.sequence
    return sum(w in _LIMITING and not (w == "just" and i + 1 < len(seq) and past_form(side, seq[i + 1]))
               for i, w in enumerate(seq))


def _prefix_moved(a: Features, b: Features) -> bool:
    """The same words in the same order, "non-" denying another of them: "Can non-members use the
    member entrance?" / "Can members use the non-member entrance?"."""
    return bool(a.prefixed) and bool(b.prefixed) and a.said == b.said and a.prefixed != b.prefixed


_NONE = frozenset({"none", "nobody", "nothing", "noth"})  # "nothing" stems to "noth"
_SOME_OR_EVERY = frozenset({"some", "every", "all", "each", "several", "most"})


def _none_against_some(a: Features, b: Features) -> bool:
    """Whether one side says none of a thing and the other some or every one, denied or not: "Some
    of my emails aren't syncing" / "None of my emails are syncing" ("not at all" is none)."""
    def counted(side: Features) -> tuple[bool, bool]:
        seq = side.sequence
        some = any(w in _SOME_OR_EVERY and not (w == "all" and seq[i - 1:i] == ("at",))
                   for i, w in enumerate(seq))
        return bool(_NONE & set(seq)), some

    (none_a, some_a), (none_b, some_b) = counted(a), counted(b)
    return (none_a and not some_a and some_b and not none_b) \
        or (none_b and not some_b and some_a and not none_a)


def compare(cached: Features, new: Features) -> LexicalVerdict:
    """The lexical gates, cheapest first."""
    if not verbatim.spans_agree(cached.written, new.written) \
            or verbatim.case_differs(cached.written, new.written):
        return LexicalVerdict("verbatim")
    if _unmentioned(cached, new) or _unmentioned(new, cached):
        return LexicalVerdict("content")
    # a unit asked in on one side only asks what "how long" or "how often" does; two units differ
    (values_a, units_a), (values_b, units_b) = _given_and_asked(cached), _given_and_asked(new)
    if not (_same_values(values_a, values_b) or _one_against_none(values_a, values_b)) \
            or (units_a and units_b and units_a != units_b):
        return LexicalVerdict("value")
    if cached.negations != new.negations:
        return LexicalVerdict("negation")
    # "Does the warranty cover only water damage?" asks whether nothing else is covered
    if _limited(cached) != _limited(new) or _none_against_some(cached, new) \
            or not _polarity_agrees(cached, new) or _both_against_either(cached, new) \
            or _prefixed(cached.words, new.words) or _prefixed(new.words, cached.words) \
            or answer_kinds.limit_turned(cached, new) or answer_kinds.limit_turned(new, cached) \
            or answer_kinds.may_against_must(cached, new):
        return LexicalVerdict("polarity")
    if _negation_moved(cached, new) or _prefix_moved(cached, new):
        # the same words, "non-" on another: "Can non-members use the member entrance?" / "Can
        # members use the non-member entrance?"
        return LexicalVerdict("negation")
    if not answer_kinds.same_question(cached, new) or _advice_against_may(cached, new):
        return LexicalVerdict("question")
    if _other_time(cached, new) or _done_against_to_come(cached, new):
        return LexicalVerdict("tense")
    if _other_person(cached, new) or not _roles_agree(cached, new) or _swapped(cached, new) \
            or _names_traded(cached, new) or _holders_traded(cached, new) \
            or _conversion_reversed(cached, new) or _conditions_traded(cached, new) \
            or _asker_against_theirs(cached, new) or _values_traded(cached, new) \
            or _person_turned(cached, new) or _voice_turned(cached, new) \
            or _pronouns_traded(cached, new) \
            or _asker_traded(cached, new) or _doer_changed(cached, new) or _subjects_traded(cached, new) \
            or _clause_doer_changed(cached, new) or whose.changed(cached, new) \
            or _exchange_turned(cached, new) or _passives_traded(cached, new) \
            or _stranded_by_turned(cached, new) or _statement_doer_changed(cached, new):
        return LexicalVerdict("role")
    subject_cached, subject_new = _subject(cached, new), _subject(new, cached)  # each side's, once
    only_cached = _unmatched(cached, subject_cached, new, subject_new)
    only_new = _unmatched(new, subject_new, cached, subject_cached)
    only_cached -= _said_by_the_other(cached, new)
    only_new -= _said_by_the_other(new, cached)
    for word in (*only_cached, *only_new):
        if word in cached.names or word in new.names:
            return LexicalVerdict("name")
    unmatched = (frozenset(cached.spelled[w] for w in only_cached),
                 frozenset(new.spelled[w] for w in only_new))
    if (only_cached & cached.conditional and not new.conditional) \
            or (only_new & new.conditional and not cached.conditional):
        # a condition one side adds ("... if I'm only transiting through Bangkok") and the other
        # has none: not a rewording
        return LexicalVerdict("content", *unmatched)
    # a condition's words are matched word for word, never by a near word read in context:
    # "... while pregnant" is not "... when breastfeeding"
    rebuilt = _rebuilt(cached, only_cached, new, only_new) \
        and not (only_cached & cached.conditional or only_new & new.conditional) \
        and not _found_in_a_shared_thing(cached, only_cached, new) \
        and not _found_in_a_shared_thing(new, only_new, cached) \
        and not _qualifies_a_shared_phrase(cached, only_cached, new, only_new) \
        and not _qualifies_a_shared_phrase(new, only_new, cached, only_cached)
    for word in (*only_cached, *only_new):
        if word in cached.rare or word in new.rare:
            return LexicalVerdict("rare_word", *unmatched, rebuilt=rebuilt)
    reworded = rebuilt and _takes_no_side(cached, only_cached, new, only_new) \
        and not _siblings_between(cached, only_cached, new, only_new)
    if bool(only_cached) != bool(only_new) and not reworded:
        # a word added or dropped, with nothing to stand for it
        return LexicalVerdict("content", *unmatched, rebuilt=rebuilt)
    return LexicalVerdict(None, *unmatched, reworded, rebuilt)


# Words for the day a question is asked. A question that names no time asks about that day too
# ("When's the last train to Bristol?" / "... tonight?"), as an exact repeat asked another day
# would; against another day or part of it ("tomorrow", "this morning") they still differ.
_PRESENT = frozenset({"today", "tonight"})


# A question that names no age group asks about an adult ("How much paracetamol can I take?" /
# "What's the maximum dose of paracetamol for an adult?"); against another group it still differs.
_AGE_GROUPS = frozenset({"adult", "child", "baby", "toddler", "teen", "senior", "student"})
# Degrees named on one side only by their scale ("180C" / "180 degrees"); two scales still differ.
_SCALES = frozenset({"celsius", "fahrenheit"})
_TEMPERATURE = _SCALES | {"degree"}


def _unsaid_defaults(a: frozenset[str], b: frozenset[str]) -> tuple[frozenset[str], frozenset[str]]:
    """Both sides without what either leaves to be understood: an adult, a temperature's scale."""
    if not b & _AGE_GROUPS:
        a -= {"adult"}
    if not a & _AGE_GROUPS:
        b -= {"adult"}
    scales_a, scales_b = a & _SCALES, b & _SCALES
    # a degree of a named scale says no more than the scale
    a, b = a - ({"degree"} if scales_a else set()), b - ({"degree"} if scales_b else set())
    if len(scales_a) <= 1 and len(scales_b) <= 1 and not (scales_a and scales_b and scales_a != scales_b):
        # one scale or none on either side: a temperature is its number ("180C" / "180 degrees")
        a, b = _unscaled(a - _TEMPERATURE), _unscaled(b - _TEMPERATURE)
    return a, b


def _unscaled(values: frozenset[str]) -> frozenset[str]:
    return frozenset(value.split("°")[0] for value in values)


def _given_and_asked(side: Features) -> tuple[frozenset[str], frozenset[str]]:
    """A side's values and the units it asks for; the unit a conversion goes to is asked for
    ("convert 1 liter to cups" asks what "how many cups in a liter" does)."""
    target = side.converted_to
    if side.conversion is not None and target in side.values and not side.units:
        return side.values - {target}, frozenset({target})
    return side.values, side.units


def _one_against_none(a: frozenset[str], b: frozenset[str]) -> bool:
    """One unit against the same unit with no count: "how many grams in an ounce" / "convert
    ounces to grams", "a kilo of beef" / "beef per kilo"."""
    more, fewer = (a, b) if len(a) > len(b) else (b, a)
    return "1" in more and more - {"1"} == fewer and bool(fewer) and all(v[:1].isalpha() for v in fewer)


def _same_values(a: frozenset[str], b: frozenset[str]) -> bool:
    a, b = _unsaid_defaults(a, b)
    if a == b:
        return True
    if not a & _PRESENT:
        a, b = b, a
    return not b & _PRESENT and a - _PRESENT == b


# At least this share of their function words in the same order: one sentence with its words
# moved, not a sentence built anew.
SAME_FRAME_RATIO = 0.85
# Words that join others in any order: "Saturday and Sunday" asks what "Sunday and Saturday" does.
_JOINING = frozenset({"and", "or", "&", "nor", "plus"})


def _swapped(a: Features, b: Features) -> bool:
    """The same sentence with words that both say moved to each other's places: "Is a tenant
    allowed to change the locks without telling the landlord?" / "Is a landlord allowed to change
    the locks without telling the tenant?", "give my cat dog food" / "give my dog cat food", "from
    £500 to euros" / "from euros to £500". The words said once on each side come in another order
    (words joined by "and" or "or" in any), and the function words mostly in the same one."""
    # Words for the kind of answer wanted move with the sentence's voice ("Do I need a visa?" /
    # "Is a visa required?"), and take no part in who does what.
    # A particle moves with its verb's object ("turn off dark mode" / "turn dark mode off").
    # "again" stands anywhere: "send again the link" / "send the link again"; a distance is the same
    # both ways ("How far is London from Paris?" / "... Paris from London?")
    # A side's only rate stands anywhere too: "How many times a week should I work out?" / "How
    # often should I exercise each week?" (two rates may trade places: "rent weekly, bills monthly").
    rates_a, rates_b = _RATES_ASKED & set(a.said), _RATES_ASKED & set(b.said)
    lone_rate = rates_a if len(rates_a) == 1 and rates_a == rates_b else set()
    shared = {w for w in _once(a.said) & _once(b.said)
              if not synonyms.senses(a.spelled.get(w, w), w) & _ANSWER_KINDS and w not in _PARTICLES
              and w not in _ONCE_MORE and w not in lone_rate}
    if len(shared) < 2 or _order(a, shared) == _order(b, shared) or _compound_opened(a, b, shared) \
            or (a.asks_distance and b.asks_distance) \
            or _phrase_moved(a, b, shared):
        return False
    # A short sentence's frame changes by a larger share when one word gives way to another
    # ("my work laptop at home" / "my home laptop for work"): one word in its place is the same frame.
    # "a" and "an" are one word: "a child ... an adult" / "an adult ... a child"
    frame_a, frame_b = (tuple("a" if w == "an" else w for w in side.frame) for side in (a, b))
    one_swapped = len(frame_a) == len(frame_b) \
        and sum(x != y for x, y in zip(frame_a, frame_b, strict=True)) <= 1
    return one_swapped or SequenceMatcher(None, frame_a, frame_b, autojunk=False).ratio() >= SAME_FRAME_RATIO


# Prepositions that open a phrase a word stands in.
_GOVERNING = _PREPOSITIONS | word_set("in on near after before without")


def _governor(side: Features, word: str) -> str | None:
    """The preposition a word said once stands in a phrase of, read past determiners ("at the
    hospital": "at"), or None."""
    for w in reversed(side.sequence[:side.sequence.index(word)]):
        if w not in DETERMINERS:
            return w if w in _GOVERNING else None
    return None


def _phrase_moved(a: Features, b: Features, shared: set[str]) -> bool:
    """Whether only phrases moved, each with its preposition: "Is parking free at the hospital?" /
    "Is parking at the hospital free?". Each shared word stands in the same kind of phrase on
    both sides, the words in no prepositional phrase keep their order, and no two phrases have
    one preposition, so none can trade places with another ("9am in Sydney, what time in Paris" /
    "9am in Paris, what time in Sydney"; "a 65W charger for a laptop that needs 100W" / the other
    way round)."""
    governors = {w: _governor(a, w) for w in shared}
    if any(_governor(b, w) != g for w, g in governors.items()):
        return False
    heads = [g for g in governors.values() if g is not None]
    free = {w for w, g in governors.items() if g is None}
    return bool(heads) and len(heads) == len(set(heads)) \
        and [w for w in a.sequence if w in free] == [w for w in b.sequence if w in free]


def _compound_opened(a: Features, b: Features, shared: set[str]) -> bool:
    """Whether the only words to move are a compound said as its head "for" the other word: "a
    COVID test" / "tested for COVID", "a cancellation charge" / "a charge for cancelling" (but "cat
    food" / "food for cats" name one thing, and "my dog" / "cat food" swapped with nothing between
    still trade places)."""
    order_a, order_b = _order(a, shared), _order(b, shared)
    moved = [i for i, (x, y) in enumerate(zip(order_a, order_b, strict=False)) if x != y]
    if len(order_a) != len(order_b) or len(moved) != 2 or moved[1] != moved[0] + 1:
        return False
    first, second = order_a[moved[0]], order_a[moved[1]]
    if (order_b[moved[0]], order_b[moved[1]]) != (second, first) or len(first) != 1 or len(second) != 1:
        return False
    (x,), (y,) = first, second
    return (_between(a, x, y) == () and _between(b, y, x) == ("for",)) \
        or (_between(a, x, y) == ("for",) and _between(b, y, x) == ())


def _between(side: Features, first: str, second: str) -> tuple[str, ...] | None:
    """The words between two words said once, determiners aside; None if ``second`` comes first."""
    i, j = side.sequence.index(first), side.sequence.index(second)
    return tuple(w for w in side.sequence[i + 1:j] if w not in DETERMINERS) if i < j else None


def _once(said: tuple[str, ...]) -> set[str]:
    return {w for w, n in Counter(said).items() if n == 1}


def _names_traded(a: Features, b: Features) -> bool:
    """Whether two names both say trade how often each is said: "I'm American living in France,
    do I pay American tax?" / "I'm French living in America, do I pay French tax?" says one
    country twice and the other once, the other way round."""
    said_a, said_b = Counter(a.said), Counter(b.said)
    shared = a.names & b.names
    return any(said_a[w] > said_b[w] for w in shared) and any(said_a[w] < said_b[w] for w in shared)


# Words a country's name stands before (or after "of") when it names whose a person or document is:
# "a UK citizen", "citizens of Canada", "a French licence holder".
_HELD = word_set("citizen national resident passport licence license")


def _holders(side: Features) -> set[str]:
    """The names that say whose a person or document is ("UK" in "as a UK citizen"); a country
    counts in lower case too ("as a uk citizen")."""
    seq = side.sequence
    named = side.names | (set(seq) & countries.NAMES)
    held = {w for w, following in pairwise(seq) if w in named and following in _HELD}
    for i, w in enumerate(seq[:-1]):
        if w in _HELD and seq[i + 1] == "of":
            held |= {x for x in seq[i + 2:i + 4] if x in named}
    return held


def _holders_traded(a: Features, b: Features) -> bool:
    """Whether both sides name whose a person or document is, by another of the names both say:
    "Do I need a visa to visit Canada as a UK citizen?" / "as a Canadian, do I need a visa for
    a trip to the UK?" (the countries traded places, each said once on each side)."""
    held_a, held_b = _holders(a), _holders(b)
    said_by_both = set(a.sequence) & set(b.sequence)
    return bool(held_a and held_b and held_a != held_b and (held_a | held_b) <= said_by_both)


def _asker_against_theirs(a: Features, b: Features) -> bool:
    """The asker is on one side what the other side's asker has: "I'm a tenant leaving" / "My
    tenant is leaving", "as a landlord, what are my rights" / "my landlord wants to ..., what are
    my rights" (not "As a business owner, can I deduct my business expenses?", which says both)."""
    return bool((_asker_is(a) - _owned(a)) & (_owned(b) - _asker_is(b))) \
        or bool((_asker_is(b) - _owned(b)) & (_owned(a) - _asker_is(a)))


def _asker_is(side: Features) -> set[str]:
    """What the asker says they are: "I'm a tenant", "I am an employer", "as a landlord"."""
    seq = side.sequence
    found = set()
    for i in range(len(seq)):
        opener = 2 if seq[i:i + 2] == ("i", "am") else 1 if seq[i] in ("i'm", "im", "as") else 0
        article, noun = seq[i + opener:i + opener + 1], seq[i + opener + 1:i + opener + 2]
        if opener and article in (("a",), ("an",)) and noun:
            found.add(noun[0])
    return found


def _owned(side: Features) -> set[str]:
    """The words "my" opens: "my tenant", "my landlord"."""
    return {following for word, following in pairwise(side.sequence) if word == "my"}


_FROM_TO = frozenset({"from", "to", "into", "for"})
_UNIT_OR_CURRENCY = frozenset(_UNIT_NAMES.split()) | frozenset(_CURRENCY)


def _values_traded(a: Features, b: Features) -> bool:
    """Two values both say, the other way round, where each side says from what to what: "change
    from the 10GB deal to the 30GB one" / "go from the 30GB deal to the 10GB one", "swap my size 8
    shoes for a size 9" / "exchange my size 9 shoes for a size 8"."""
    if not (_FROM_TO & set(a.sequence) and _FROM_TO & set(b.sequence)):
        return False
    shared = set(a.value_order) & set(b.value_order)
    if _listed(a, shared) or _listed(b, shared):
        return False  # "Tuesday or Wednesday" / "Wednesday or Tuesday" name the same two
    order_a = [v for v in a.value_order if v in shared]
    order_b = [v for v in b.value_order if v in shared]
    return len(shared) >= 2 and order_a == order_b[::-1]


def _listed(side: Features, values: set[str]) -> bool:
    """Whether two of ``values`` stand joined by "and", "or" or "vs"."""
    seq = side.sequence
    return any(seq[i] in ("and", "or", "vs") and seq[i - 1] in values and seq[i + 1] in values
               for i in range(1, len(seq) - 1))


def _conditions_traded(a: Features, b: Features) -> bool:
    """Whether what one side asks about is the other's condition, and the other way round: "Can I
    give blood if I recently had a tattoo?" / "Can I get a tattoo if I recently gave blood?"."""
    main_a, main_b = set(a.said) - a.conditional, set(b.said) - b.conditional
    return bool(a.conditional & main_b) and bool(b.conditional & main_a)


def _joined(side: Features) -> dict[frozenset[str], str]:
    """Each two words joined by "and" or "or" ("Benadryl and Zyrtec"), past a determiner after the
    joining word, with the word that joins them."""
    seq, joined = side.sequence, {}
    for i in range(1, len(seq) - 1):
        if seq[i] in ("and", "or"):
            after = next((w for w in seq[i + 1:i + 3] if w not in DETERMINERS), "")
            if after and not is_function_word(seq[i - 1]) and not is_function_word(after):
                joined[frozenset((seq[i - 1], after))] = seq[i]
    return joined


def _both_against_either(a: Features, b: Features) -> bool:
    """Whether the same two things are joined by "and" on one side and "or" on the other: "Can I
    take Benadryl and Zyrtec?" asks about both together, "... Benadryl or Zyrtec?" about either."""
    joined_b = _joined(b)
    return any(joined_b.get(pair, joiner) != joiner for pair, joiner in _joined(a).items())


def _order(side: Features, shared: set[str]) -> list[frozenset[str]]:
    """The ``shared`` words of ``side`` in order, words joined by "and" or "or" as one group."""
    groups: list[set[str]] = []
    joined = False
    said = set(side.said)
    for w in side.sequence:
        if w in _JOINING:
            joined = bool(groups)
        elif w in shared:
            if joined:
                groups[-1].add(w)
            else:
                groups.append({w})
            joined = False
        elif w in said:
            joined = False
    return [frozenset(g) for g in groups]


def _negation_moved(a: Features, b: Features) -> bool:
    """As many negations, but of other things: "send texts but not receive them" / "receive texts
    but not send them", "paid but never got the email" / "got the email but never paid", "My order
    hasn't shipped yet" / "My order shipped but hasn't arrived yet". Some word both say is denied
    only on one side and said only as so on the other, which denies in its turn a word the first
    side asserts or one only it says (a word said both ways on one side, or denied on both, tells
    nothing)."""
    def denied_only_in(x: Features, y: Features) -> bool:
        return any(w in y.asserted and w not in y.negated for w in x.negated - x.asserted)

    def denies_another(x: Features, y: Features) -> bool:
        return denied_only_in(x, y) and bool(y.negated - y.asserted - x.words)

    return (denied_only_in(a, b) and denied_only_in(b, a)) or denies_another(a, b) or denies_another(b, a)


def _qualifies_a_shared_phrase(side: Features, only: frozenset[str], other: Features,
                               other_only: frozenset[str]) -> bool:
    """Whether a word that only ``side`` says, with nothing in its place on the other side
    (``other_only`` empty), stands between a determiner and a phrase the other side opens with one:
    "a premium adult ticket" / "an adult ticket". It qualifies the phrase: another thing is asked
    about, however well it reads in context beside the other sentence's words ("premium" beside
    "cost")."""
    if other_only:
        return False
    opened = {w for det, w in zip(other.sequence, other.sequence[1:], strict=False) if det in DETERMINERS}
    words = side.sequence
    return any(det in DETERMINERS and w in only and after in opened and after in other.said
               for det, w, after in zip(words, words[1:], words[2:], strict=False))


_LOCATED = frozenset({"at", "inside"})


def _found_in_a_shared_thing(side: Features, only: frozenset[str], other: Features) -> bool:
    """Whether a word only ``side`` says names a thing found at or inside a thing both say: "the
    special exhibitions at the museum", "the pool at the hotel", "the cafe inside the station". The
    question is asked of that thing, not of the other side's ("Is the museum free to enter?")."""
    words = side.sequence
    for i, word in enumerate(words[:-2]):
        if word not in only or words[i + 1] not in _LOCATED:
            continue
        opened = next((w for w in reversed(words[:i]) if w not in only), None)
        if opened not in DETERMINERS:  # a noun phrase's, not a verb's: "arrive at the airport"
            continue
        after = next((w for w in words[i + 2:] if w not in DETERMINERS), None)
        if after is not None and after in side.content and after not in only and after in other.sequence:
            return True
    return False


def _rebuilt(a: Features, only_a: frozenset[str], b: Features, only_b: frozenset[str]) -> bool:
    """Whether two questions that differ in some words are built differently, not a minimal pair.
    A question about something else is written by changing or adding a word in the same sentence
    ("Is the chicken dish gluten-free?" / "Is the beef dish gluten-free?", "a refund on a gift" /
    "on a gift card"): the rest stays word for word. A rewording builds the sentence anew ("Does
    the hotel have a pool?" / "Is there a swimming pool at the hotel?"). So: the words besides
    the differing ones (articles aside) are mostly not in the same order."""
    if not only_a and not only_b:
        return False
    rest_a = [w for w in a.sequence if w not in only_a and w not in _ARTICLES]
    rest_b = [w for w in b.sequence if w not in only_b and w not in _ARTICLES]
    return SequenceMatcher(None, rest_a, rest_b, autojunk=False).ratio() < MINIMAL_PAIR_RATIO


# Words that, after a thing's name, name where it is or who runs it and nothing else ("the support
# team" is whom "support" names).
_PLACE_OF_THING = word_set("building buildings premises site venue city town team teams department "
                           "departments staff desk")


def _siblings_between(a: Features, only_a: frozenset[str], b: Features, only_b: frozenset[str]) -> bool:
    """Whether a word one side says is a sibling of one the other says ("roast a whole chicken" /
    "the roasting time for a whole turkey"): however alike the sentences, they ask of two things."""
    return any(word_senses.siblings((a.spelled[x], x), (b.spelled[y], y)) for x in only_a for y in only_b)


def _takes_no_side(a: Features, only_a: frozenset[str], b: Features, only_b: frozenset[str]) -> bool:
    """Whether a rebuilt question's differing words are common ones that a close embedding may
    vouch for alone: none takes a side of an opposite pair, says what kind of answer is wanted
    (a price, a requirement, a permission: "How much is a fishing licence?" / "Do I need a
    fishing licence?", "How long is the warranty?" / "What does the warranty cover?") or qualifies a
    word both share ("a large coffee")."""
    polar = {word for _, _, word in a.polarity} | {word for _, _, word in b.polarity}
    if (only_a | only_b) & polar:
        return False
    for side, only, other_only in ((a, only_a, only_b), (b, only_b, only_a)):
        measured = only & answer_kinds.asked_after_how(side)
        if any(synonyms.senses(side.spelled[w], w) & _ANSWER_KINDS for w in only) \
                or any(not other_only & answer_kinds.measures()[w] for w in measured):
            return False
        # A differing word right before a word both share qualifies it: "a large coffee",
        # "the premium plan" ask about another thing than "a coffee", "the plan". One added right
        # after such a word, with nothing in its place on the other side, names another thing
        # with it: "a gift card" is not "a gift" (but "the gym building" is where "the gym" is).
        shared = side.content - only
        padded = (*side.sequence, "")
        if any((w in only and after in shared)
               or (w in shared and after in only and not other_only
                   and side.spelled.get(after) not in _PLACE_OF_THING and next_word not in _VERB_FOLLOWERS)
               for w, after, next_word in zip(padded[:-2], padded[1:-1], padded[2:], strict=True)):
            return False
        # A value or an opposite pair's word qualified in a noun phrase: "my business order", "a
        # business child ticket" (not a predicate: "Is your store open?")
        named = {word for axis, _, word in side.polarity if axis not in _PREDICATE_AXES}
        heads = (named | side.values) - only
        words = side.sequence
        if any(det in DETERMINERS and w in only and after in heads
               for det, w, after in zip(words[:-2], words[1:-1], words[2:], strict=True)):
            return False
    return True


# Pairs of verbs that say one exchange from either end: "Do you sell gift cards?" asks what "Can I
# buy a gift card from you?" does, "Can you lend me money?" what "Can I borrow money from you?" does.
_CONVERSE_AXES = frozenset({"buy", "lend"})


def _from_the_other_end(a: Features, b: Features, axis: str) -> bool:
    """Whether the two sides say one exchange of a converse pair, each from its own end: the one
    asks what "you" do, the other what the asker may do with "you" (each with one word of the
    pair). A "you" that may be anyone ("Can you sell alcohol at 18?") is no party to it."""
    return axis in _CONVERSE_AXES and _asker_against_you(a, b, axis)


def _exchange_turned(a: Features, b: Features) -> bool:
    """Whether one side asks what "you" do and the other what the asker does, with the same word
    of a converse pair: "Do you buy used phones?" / "Can I buy a used phone from you?"."""
    return any(_asker_against_you(a, b, axis) and {s for x, s, _ in a.polarity if x == axis}
               == {s for x, s, _ in b.polarity if x == axis} for axis in _CONVERSE_AXES)


def _asker_against_you(a: Features, b: Features, axis: str) -> bool:
    """Whether each side says one word of ``axis``, one asks what "you" do and the other what the
    asker does, and "you" is the party asked of: a side asks what "you" do as a practice ("Do you
    ...?"), or the other end is named ("from you", "to you", "lend me")."""
    if not all(sum(on == axis for on, _, _ in side.polarity) == 1 for side in (a, b)):
        return False
    subjects = (_opening_subject(a), _opening_subject(b))
    if set(subjects) not in ({"you", "i"}, {"you", "we"}):
        return False
    yours, mine = (a, b) if subjects[0] == "you" else (b, a)
    after_you = yours.sequence[yours.sequence.index("you") + 1:]
    # "you" does the exchange ("Do you sell ...?"), not "Do you know if I can buy ...?"
    if not after_you or after_you[0] not in {word for on, _, word in yours.polarity if on == axis}:
        return False
    return yours.sequence[:2] == ("do", "you") or bool(set(after_you) & {"me", "us"}) \
        or any(w in ("from", "to", "with") and after == "you" for w, after in pairwise(mine.sequence))


def _polarity_agrees(a: Features, b: Features) -> bool:
    """Every opposite pair that both sides touch is on the same side in both."""
    sides_a: dict[str, set[int]] = {}
    sides_b: dict[str, set[int]] = {}
    for axis, side, _ in a.polarity:
        sides_a.setdefault(axis, set()).add(side)
    for axis, side, _ in b.polarity:
        sides_b.setdefault(axis, set()).add(side)
    shared = sides_a.keys() & sides_b.keys()
    if any(sides_a[axis] != sides_b[axis] and not _from_the_other_end(a, b, axis) for axis in shared):
        return False
    # both sides of one pair on each side: a verb made to change a thing leads ("tighten a loose
    # chain" is not "the chain is too tight, how do I loosen it"), else the first word said
    # ("lower high blood pressure" is not "raise low blood pressure")
    both = [axis for axis in shared if len(sides_a[axis]) == 2]
    return all(_leading_side(a, axis) == _leading_side(b, axis) for axis in both)


@cache
def _changing_verbs() -> frozenset[str]:
    """Stems of the verbs that move a thing towards one side of a pair."""
    return frozenset(stem(w) for w in word_set(
        "tighten loosen thicken stiffen soften brighten darken widen sharpen strengthen weaken lengthen "
        "shorten increase decrease raise reduce boost shrink expand extend upgrade downgrade"))


def _leading_side(side: Features, axis: str) -> int:
    """The side of the pair ``axis`` that its first verb of change in ``side`` stands on, or else
    the first of its words said."""
    placed = [(word not in _changing_verbs(), side.sequence.index(word) if word in side.sequence
               else len(side.sequence), way) for name, way, word in side.polarity if name == axis]
    return min(placed)[2]


def _subject(side: Features, other: Features) -> frozenset[str]:
    """Content words plus the polar words, but for the light ones: those whose pair the other
    side does not touch at all, and those whose pair it says with a word of its own, not only a
    particle. One side of a pair is no synonym: "Is it legal to swim here?" is not "Is it safe
    to swim here?", nor "Can I receive money?" "Can I deposit money?"; "turn on" still says what
    "enable" does."""
    touched = {axis for axis, _, _ in other.polarity}
    worded = {axis for axis, _, word in other.polarity if not _particle(word)}
    return side.content | {word for axis, _, word in side.polarity
                           if word not in _LIGHT_POLAR and (axis not in touched
                                                            or (axis in worded and not _particle(word)))}


def _particle(word: str) -> bool:
    return word in _PARTICLES or word.startswith(_LOOSE)


def _said_by_the_other(side: Features, other: Features) -> frozenset[str]:
    """The words of ``side`` that ``other`` says in its own way: the kind of answer it asks for,
    what kind of thing a name both say is, whether taking something is safe."""
    return answer_kinds.answered_words(side, other) | _kind_of_name(side, other) | _safe_to_take(side, other)


# What a name is, said after it: "my Mac computer" is "my Mac", "my Netflix subscription" "Netflix".
_KINDS_OF_NAME = word_set("account subscription membership computer laptop pc website site app browser phone "
                           "tablet device")  # as stemmed


def _kind_of_name(side: Features, other: Features) -> frozenset[str]:
    """The words of ``side`` that only say what kind of thing the name before them is, its
    version between them ("my Windows 11 PC"), where ``other`` says the name without them (not a
    part of it: "my iPhone battery" is no iPhone)."""
    words = side.sequence

    def after_a_shared_name(i: int) -> bool:
        places = (i - 1, i - 2) if i > 1 and words[i - 1] in side.values else (i - 1,)  # past a version
        return any(j >= 0 and words[j] in side.names and words[j] in other.names for j in places)

    return frozenset(word for i, word in enumerate(words)
                     if word in _KINDS_OF_NAME and after_a_shared_name(i))


@cache
def _taking_verbs() -> frozenset[str]:
    """Stems of the verbs of taking something in, whose "Can I ...?" asks whether it is safe."""
    return frozenset(stem(w) for w in word_set("eat drink take have give feed combine mix swallow"))


@cache
def _rules_words() -> frozenset[str]:
    return frozenset(stem(w) for w in word_set("legal illegal law allowed permitted banned rules"))


def _safe_to_take(side: Features, other: Features) -> frozenset[str]:
    """"safe" in ``side`` where ``other`` asks "Can I ...?" of taking something in: "Can I take
    ibuprofen with paracetamol?" asks "Is it safe to take ibuprofen with paracetamol?", and "Can
    dogs eat grapes?" "Are grapes safe for dogs?" (there the verb of taking is what "safe" says,
    on the other side); not where either asks of a rule ("Is it legal ...?"), nor of any other
    doing ("Can I use my phone while driving?" asks whether it is allowed)."""
    safe = stem("safe")
    asker, safe_side = (other, side) if safe in side.sequence else (side, other)
    if safe not in safe_side.sequence or asker.sequence[:1] not in (("can",), ("could",), ("may",)) \
            or (set(side.sequence) | set(other.sequence)) & _rules_words():
        return frozenset()
    taking = set(asker.sequence) & _taking_verbs()
    if not taking:
        return frozenset()
    if side is safe_side:
        return frozenset({safe})
    return frozenset(taking) if len(taking) == 1 and not set(safe_side.sequence) & _taking_verbs() \
        else frozenset()


def _unmatched(side: Features, subject: frozenset[str], other: Features,
               other_subject: frozenset[str]) -> frozenset[str]:
    """The ``subject`` words of ``side`` that ``other`` has in no form and no synonym (of the
    hand-written groups, or by a sense they share in :mod:`gatewise.cache.word_senses` with
    a word of ``other_subject`` that ``side`` lacks: a word both say stands for itself, so
    "extended" in "covered under the extended warranty" is not matched by the "covered" of
    "covered under the warranty", with which it shares a sense). A name is taken for a slip of
    another name only: "Gmail" is not "email"."""
    partners = [forms for o in other_subject if o not in side.words for forms in _readings(other, o)]
    other_senses = other.senses.union(*(synonyms.senses(*forms) for forms in partners))

    def matched(w: str) -> bool:
        if w in other.words or w.replace("-", "") in other.words \
                or any(_same_word(w, o) for o in (other.names if w in side.names else other.words)):
            return True
        readings = _readings(side, w)
        return any(synonyms.senses(*mine) & other_senses for mine in readings) \
            or any(word_senses.interchangeable(mine, forms) for mine in readings for forms in partners)

    return frozenset(w for w in subject if not matched(w))


def _readings(side: Features, word: str) -> tuple[tuple[str, str], ...]:
    """A word as written and stemmed, and, when it is no word at all, the word it is most likely a
    slip of ("ratng" as "rating", which then means "score")."""
    spelled = side.spelled[word]
    mended = _spelling(spelled) if word not in side.names else spelled
    return ((spelled, word),) if mended == spelled else ((spelled, word), (mended, stem(mended)))


def _roles_agree(a: Features, b: Features) -> bool:
    """No two words both sides share trade places across a direction word ("Word to PDF" vs "PDF
    to Word": another shared word after it, and the two in the other order), and no shared word
    follows different direction words ("to my savings" vs "from my savings"). Words that only sit
    after a "to" on each side but in the same order are no swap ("check if I'm entitled to the
    discount" vs "the way to check whether I qualify for the discount")."""
    if a.asks_distance and b.asks_distance:
        return True  # a distance is the same both ways: "How far is London from Paris?"
    shared = a.content & b.content
    for prep in {p for p, _ in a.roles} & {p for p, _ in b.roles}:
        objects_a = {o for p, o in a.roles if p == prep} & shared
        objects_b = {o for p, o in b.roles if p == prep} & shared
        for x in objects_a - objects_b:
            for y in objects_b - objects_a:
                if (a.sequence.index(x) < a.sequence.index(y)) != (b.sequence.index(x) < b.sequence.index(y)):
                    return False
    for obj in shared:
        preps_a = {p for p, o in a.roles if o == obj}
        preps_b = {p for p, o in b.roles if o == obj}
        if preps_a and preps_b and preps_a != preps_b:
            return False
    return True


# Personal pronouns by the part they play and the person they name. "you" (either part) and "it"
# (often no one: "is it possible") tell nothing of who does what; "her" is read by what follows.
_PRONOUNS = {"i": ("doer", 1), "we": ("doer", 1), "he": ("doer", 3), "she": ("doer", 3), "they": ("doer", 3),
             "me": ("object", 1), "us": ("object", 1), "him": ("object", 3), "them": ("object", 3),
             "my": ("owner", 1), "our": ("owner", 1), "mine": ("owner", 1), "your": ("owner", 2),
             "his": ("owner", 3), "their": ("owner", 3)}


_MASCULINE = frozenset({"he", "him", "his", "himself"})
_FEMININE = frozenset({"she", "her", "herself"})  # "hers" stems to "her"


def _other_person(a: Features, b: Features) -> bool:
    """Whether both questions speak of someone by pronoun, and not of the same: "What should I
    get him?" is not "What should I get her?" (a pet may be "him" on one side only)."""
    genders = [(bool(side.words & _MASCULINE), bool(side.words & _FEMININE)) for side in (a, b)]
    return any(genders[0]) and any(genders[1]) and genders[0] != genders[1]


# The form of "be" that asks the question (its first word, or the one after a wh-word) tells the
# time asked about: "Who is the prime minister?" is not "Who was the prime minister?". "Do" and
# "did" do not: "What's the reason my payment failed?" asks "Why did my payment fail?".
_WH_WORDS = frozenset({"who", "what", "where", "when", "which", "how", "whom", "whose", "why"})
_PAST_BE = frozenset({"wa", "were", "wasn't", "weren't"})  # "was" stems to "wa"
_PRESENT_BE = frozenset({"is", "are", "am", "isn't", "aren't"})
_WH_IS = re.compile(r"\b(?:who|what|where|when|which|how|why)['’]s\b", re.IGNORECASE)


def _other_time(a: Features, b: Features) -> bool:
    """Whether one question asks what is and the other what was, the first saying nothing of the
    past ("What's the reason my card was declined?" asks "Why was my card declined?")."""
    tenses = _asked_tense(a), _asked_tense(b)
    if None in tenses or tenses[0] == tenses[1]:
        return False
    present = a if tenses[0] == "present" else b
    return not any(word in _PAST_BE for word in present.sequence)


# The auxiliary a question opens with (or puts after its question word), by the time it asks about.
_DONE = frozenset(stem(w) for w in ("did", "has", "have", "had", "was", "were"))
_TO_COME = frozenset({"will", "would"})  # "won't" is read as "will" with a negation
# Opening auxiliaries that ask for advice, and those that ask what may or will be: "Should I
# refinance my mortgage?" is not "Can I refinance my mortgage?", nor "Will my landlord fix the
# heater?" "Should my landlord fix the heater?".
_ADVICE = frozenset({"should", "ought"})
_MAY_OR_WILL = frozenset({"can", "could", "may", "might", "will", "would"})


def _done_against_to_come(a: Features, b: Features) -> bool:
    """Whether one question asks what happened and the other what will: "Did my flight get
    cancelled?" / "Will my flight get cancelled?", "Has my visa been approved?" / "Will my visa
    be approved?"; or one tells only of what was done and the other only of what will, might or
    would be: "My flight was cancelled, what are my options?" / "My flight might be cancelled,
    what are my options?", "Why was my card declined?" / "Why would my card be declined?"."""
    asked = {_asked_time(a), _asked_time(b)}
    told = {_event_times(a), _event_times(b)}
    return asked == {"done", "to come"} or told in ({("done",), ("to come",)}, {("done",), ("practice",)})


BE_FORMS = frozenset({"is", "are", "am", "wa", "were", "be"})  # as stemmed ("was" is "wa")
_MAY_BE = frozenset({"might", "could", "may", "can"})


def _event_times(side: Features) -> tuple[str, ...]:
    """When the things a text tells of happen, as its auxiliaries say: "done" for "was", "were",
    "did", "has been" or "has" before a participle; "to come" for "will", "would", "might be",
    "is going to", "is about to". "Can I ...?" and "Does it ...?" say neither."""
    seq = side.sequence
    found: set[str] = set()
    subject = _statement_subject(side)
    if subject is not None:  # a statement in the past: "The store charged me twice."
        told = seq[seq.index(subject) + 1:][:1]
        past = told and past_form(side, told[0])
        if past and not _HAVE_GOT.search(side.written):
            found.add("done")
    if seq[:1] and seq[0] in _MAY_BE and "be" in seq[1:5]:
        found.add("to come")  # "Can my identity be stolen?"
    if seq[:1] in (("do",), ("doe",)):
        found.add("practice")  # "Does my bank charge overdraft fees?": what is done as a rule
    for i, w in enumerate(seq):
        after, before = seq[i + 1:i + 2], seq[i - 1:i]
        if after and after[0] in _POLITE:
            continue  # "I was wondering if ...", "Would you be able to tell me ...?" ask politely
        has_done = w in _HAVE and (after == ("been",) or _is_participle(side, after))
        if w in _PAST_BE or w == "did" or has_done:
            found.add("done")
        elif w in _TO_COME or (w in _MAY_BE and after in (("be",), ("get",))) \
                or (w in ("going", "about") and after == ("to",) and before and before[0] in BE_FORMS):
            found.add("to come")
    return tuple(sorted(found))


_HAVE = frozenset({"ha", "have", "had", "i've", "we've", "they've", "you've"})  # "has" stems to "ha"
_POLITE = frozenset({"wonder", "wondering", "hoping", "hope", "you", "it", "like", "love", "mind"})
_HAVE_GOT = re.compile(r"(?:'ve|\bhave|'s|\bhas) got\b", re.IGNORECASE)  # "I've got a passport": I have one


def _asked_time(side: Features) -> str | None:
    auxiliary = _opening_auxiliary(side)
    if auxiliary == "would" and "you" in side.sequence[:3]:
        return None  # "Would you be able to tell me ...?" asks politely, of no time
    return "done" if auxiliary in _DONE else "to come" if auxiliary in _TO_COME else None


def _opening_auxiliary(side: Features) -> str | None:
    """The word a question opens with, or puts after its question word: its auxiliary, if it has one."""
    seq = side.sequence
    at = 1 if seq and seq[0] in _WH_WORDS else 0
    return seq[at] if at < len(seq) else None


def _advice_against_may(a: Features, b: Features) -> bool:
    """Whether one question of yes or no asks for advice and the other what may or will be (see
    _ADVICE; "Am I able to ...?" asks what "Can I ...?" does); "Who can I talk to?" asks what
    "Who should I contact?" does."""
    def opening(side: Features) -> str | None:
        seq = side.sequence
        return "can" if seq[:1] and seq[0] in BE_FORMS and "able" in seq[1:4] else seq[0] if seq else None

    opened = (opening(a), opening(b))
    return any(x in _ADVICE and y in _MAY_OR_WILL for x, y in (opened, opened[::-1]))


def _asked_tense(side: Features) -> str | None:
    """"past" or "present" for a question asked with a form of "be" ("was he...", "who is...",
    "who's..."), None for one asked otherwise."""
    sequence = side.sequence
    for i, word in enumerate(sequence):
        if (word in _PAST_BE or word in _PRESENT_BE) and (i == 0 or sequence[i - 1] in _WH_WORDS):
            return "past" if word in _PAST_BE else "present"
    return "present" if _WH_IS.search(side.written) else None


def _pronoun_parts(side: Features) -> dict[str, set[int]]:
    """The persons each part (doer, object, owner) is played by."""
    parts: dict[str, set[int]] = defaultdict(set)
    for i, word in enumerate(side.sequence):
        if word == "her":
            following = side.sequence[i + 1] if i + 1 < len(side.sequence) else ""
            parts["object" if not following or is_function_word(following) else "owner"].add(3)
        elif word in _PRONOUNS:
            part, person = _PRONOUNS[word]
            parts[part].add(person)
    return parts


@cache
def auxiliaries() -> frozenset[str]:
    """The auxiliary verbs as stemmed ("does" is "doe")."""
    return frozenset(stem(w) for w in word_set("can could do does did will would should shall may might must "
                                               "is are was were am has have had"))


_QUESTION_WORDS = word_set("how what when where why who which")
# Words that open a noun phrase ("the", "my", "this"...).
DETERMINERS = word_set("a an the my your our their his her its this that these those")


def _past_question_word(side: Features) -> tuple[str, ...]:
    """The question's words after its question word, if it opens with one."""
    # "price" opens a question of how much, rewritten ("How much do I owe ...?")
    opens = side.sequence[:1] and (side.sequence[0] in _QUESTION_WORDS or side.sequence[0] == "price")
    return side.sequence[1:] if opens else side.sequence


def _opening_subject(side: Features) -> str | None:
    """The subject of a question that opens with an auxiliary ("Can I ...", "Does my landlord
    ...", "How do I ..."): a pronoun, or the first word after the determiners."""
    words = _past_question_word(side)
    if not words or words[0] not in auxiliaries():
        return None
    return next((w for w in words[1:4] if w not in DETERMINERS), None)


_PASSIVE_AUXILIARIES = frozenset({"be", "been", "get"})


def _passive_after(side: Features, subject: str) -> bool:
    """Whether the verb after ``subject`` is in the passive: "Can my partner be added ...?", read
    past a phrase that says which one: "Can the name on my ticket be changed?"."""
    after = side.sequence[side.sequence.index(subject) + 1:]
    if after[:1] and after[0] in _GOVERNING:
        after = tuple(dropwhile(lambda w: w in _GOVERNING or w in DETERMINERS or w in side.content,
                                after[:6]))
    return after[:1] != () and after[0] in _PASSIVE_AUXILIARIES


_ASKERS = frozenset({"i", "we"})


_CAUSATIVE = word_set("let allow permit")


def _asker_traded(a: Features, b: Features) -> bool:
    """The asker as the subject of one question and the object of the other, whose subject is
    someone the first one names: "Can I bring a friend to the gym?" / "Can my friend bring me to
    the gym?"."""
    def traded(x: Features, y: Features) -> bool:
        theirs = _opening_subject(y)
        named = x.content | {word for _, _, word in x.polarity}  # "husband" takes a side of spouse
        if _opening_subject(x) not in _ASKERS or theirs is None or theirs in _PRONOUNS \
                or theirs not in named:
            return False
        if _passive_after(y, theirs):
            return False  # "Can my partner be added to my policy?" / "Can I add my partner?"
        after = y.sequence[y.sequence.index(theirs) + 1:]
        # the asker as the other's object, or as the owner of what the other acts on ("Can my
        # husband drive my car?" / "Can I drive my husband's car?"), unless the asker lets them
        return bool({"me", "us"} & set(after)) or (bool({"my", "our"} & set(after))
                                                   and not set(x.sequence[:4]) & _CAUSATIVE)

    return traded(a, b) or traded(b, a)


def _doers(side: Features) -> set[str]:
    """The words just before an auxiliary within the sentence: the subjects of its verbs ("my
    employer must pay", "I have to contribute")."""
    words = side.sequence
    return {words[i - 1] for i in range(2, len(words))
            if words[i] in auxiliaries() and words[i - 1] not in DETERMINERS
            and words[i - 1] not in _QUESTION_WORDS and words[i - 1] not in auxiliaries()}


def _doer_changed(a: Features, b: Features) -> bool:
    """The asker does on one side what someone the other names does, and the first never names
    them: "What's the minimum my employer must pay into my pension?" / "What's the minimum I have
    to contribute to my pension myself?"."""
    def changed(x: Features, y: Features) -> bool:
        theirs = _doers(y) & y.content
        return bool(_doers(x) & _ASKERS) and not _doers(y) & _ASKERS and bool(theirs - x.words)

    return changed(a, b) or changed(b, a)


# Words that say nothing of who does what: "what do I have to provide my landlord" moves "provide".
_CLOSED_CLASS = word_set("i we he she they me us him them it to of for with in on at by from and or not "
                         "have has should need can will would do does did is are am be what")
# A person as the doer and as the one done to: "I" against "me", "he" against "him".
_DOER_OBJECT = {1: (frozenset({"i", "we"}), frozenset({"me", "us"})),
                3: (frozenset({"he", "she", "they"}), frozenset({"him", "them"}))}
# "I got fired", "I was told", "we've been charged": the speaker is done to.
# Irregular participles and the verbs they are forms of ("-ed" and "-en" forms are read by ending).
_PARTICIPLES = {"paid": "pay", "sent": "send", "told": "tell", "made": "make", "caught": "catch",
                "bought": "buy", "held": "hold", "kept": "keep", "sold": "sell", "taught": "teach",
                "brought": "bring", "found": "find", "hit": "hit", "beaten": "beat", "bitten": "bite",
                "given": "give", "taken": "take", "stolen": "steal", "chosen": "choose", "written": "write"}
# Participles that are as often other words ("left", "set", "lost"): read as a passive only after
# "be" or "get" in the text as written.
_PLAIN_PARTICIPLES = ("left", "cut", "put", "shut", "set", "lost")
_PASSIVE = re.compile(r"\b(?:am|is|are|was|were|be|been|being|get|gets|got|gotten|getting|'m|'re)"
                      r"(?:n't| not)?\s+"
                      r"(?!(?:often|even|seven|eleven|then|when|need|speed|open|happen|listen)\b)"
                      r"(?:\w+ly\s+)?(?:\w+ed|\w+en|"
                      + "|".join((*_PARTICIPLES, *_PLAIN_PARTICIPLES)) + r")\b", re.IGNORECASE)


def _person_turned(a: Features, b: Features) -> bool:
    """A person who acts on one side is acted on by the other's, on something both name on the
    other side of them: "My boss fired me" / "I fired my boss", "I owe the IRS money" / "The IRS
    owes me money" (not "Can you send me my receipt?" / "Can I get my receipt?", where the receipt
    follows the asker on both; nor a passive: "Why did the app log me out?" / "Why did I get
    logged out of the app?", "Can my location be seen by them?"; nor a person one is with or
    something is for: "fly with my dog in the cabin with me")."""
    shared = {w for w in set(a.sequence) & set(b.sequence)
              if w == "you" or not (w in _PRONOUNS or w in DETERMINERS or w in auxiliaries() or w in _WH_WORDS
                                    or w in _CLOSED_CLASS)}
    for doers, objects in _DOER_OBJECT.values():
        for x, y in ((a, b), (b, a)):
            at_x = _first_place(x, doers) if _acted_on(x, objects) is None else None
            at_y = _acted_on(y, objects) if _first_place(y, doers) is None else None
            if at_x is None or at_y is None or _PASSIVE.search(x.written):
                continue
            # the verb and the other party both change sides ("Can you call me back?" / "Can I get a
            # call back?" moves only the call)
            if sum((x.sequence.index(w) < at_x) != (y.sequence.index(w) < at_y) for w in shared) >= 2:
                return True
    return False


def _first_place(side: Features, these: frozenset[str]) -> int | None:
    return next((i for i, w in enumerate(side.sequence) if w in these), None)


def _acted_on(side: Features, objects: frozenset[str]) -> int | None:
    """Where a side first says a person is acted on ("fired me", "broke up with me"), not "with me",
    "for me" or a passive's "by me"."""
    seq = ("", "", *side.sequence)  # two places before the first word, which nothing fills
    for i, w in enumerate(seq):
        if w in objects and seq[i - 1] not in ("for", "by") \
                and (seq[i - 1] != "with" or seq[i - 2] in _PARTICLES):
            return i - 2
    return None


# A form of "be" or "get" before a participle: the passive.
_PASSIVE_AUX = frozenset({"am", "is", "are", "wa", "were", "be", "been", "being", "get", "got", "gotten",
                          "getting"})
# "get married", "get started": a state reached, not something done to one.
_GET_STATES = frozenset(stem(w) for w in word_set("started married divorced engaged dressed lost used "
                                                   "involved ready rid tired bored worried stuck hurt"))
_GET = frozenset({"get", "got", "gotten", "getting"})
_PERSONS = frozenset({"i", "we", "you", "he", "she", "they"})


def _voice_turned(a: Features, b: Features) -> bool:
    """One side says in the passive what the other says in the active, with the same subject:
    "I was fired by my manager" / "I fired my manager", "Was Instagram bought by Facebook?" /
    "Did Instagram buy Facebook?", "How do I get hired as a nanny?" / "How do I hire a nanny?"
    (not "I was fired by my manager" / "My manager fired me", whose subjects differ)."""
    for x, y in ((a, b), (b, a)):
        passive = _passive(x)
        if passive is None or _passive(y) is not None:
            continue
        subject, verb = passive
        seq = y.sequence
        forms = {verb, verb.removesuffix("d"), verb.removesuffix("ed")}  # "owed" is "owe"
        at = next((i for i, w in enumerate(seq) if _PARTICIPLES.get(w, w) in forms), None)
        # "if my flight is cancelled", "why was my card declined" are passives too ("is bullying" is not)
        if not at or (_PASSIVE_AUX & set(seq[:at]) and _is_participle(y, (seq[at],))):
            continue
        before = [w for w in seq[:at] if w not in auxiliaries() and w not in DETERMINERS]
        # the subject right before the verb, or opening the question before a clause that says
        # which one ("Does the company that makes Oreos own Nabisco?")
        if before and (before[-1] == subject
                       or ("by" in x.sequence and _opening_subject(y) == subject)):
            return True
    return False


def _statement_doer_changed(a: Features, b: Features) -> bool:
    """Whether one statement's subject is the asker and the other's someone the first names in a
    phrase: "The airline cancelled my flight" / "I cancelled my flight with the airline" ("I
    haven't received my refund" / "My refund hasn't arrived" name one thing done; a passive says
    its doer after "by", which the voice readings compare)."""
    subjects = (_statement_subject(a), _statement_subject(b))
    if None in subjects or subjects[0] == subjects[1] or _passive(a) is not None or _passive(b) is not None:
        return False
    return any(x in _ASKERS and y not in _ASKERS and y in other.content and _governor(other, y) is not None
               for (x, y), other in ((subjects, a), (subjects[::-1], b)))


def _statement_subject(side: Features) -> str | None:
    """The subject a statement opens with, the last word of its phrase ("The airline cancelled
    ...": "airline", "My driver's licence got suspended": "licence"), or None for a question."""
    seq = side.sequence
    if not seq or seq[0] in auxiliaries() or seq[0] in _WH_WORDS or seq[0] == "price":
        return None
    start = next((i for i, w in enumerate(seq[:3]) if w not in DETERMINERS), None)
    if start is None:
        return None
    end = start
    if seq[start] in side.content:
        while end + 1 < len(seq) and seq[end + 1] in side.content and not past_form(side, seq[end + 1]):
            end += 1
    return seq[end]


def _stranded_by_turned(a: Features, b: Features) -> bool:
    """Whether one question asks by whom its subject was acted on ("Who was the 16th president
    succeeded by?") and the other whom the subject acted on ("Who did the 16th president
    succeed?"): the same verb, the doer asked for on one side and the one done to on the other."""
    for x, y in ((a, b), (b, a)):
        if x.sequence[-1:] != ("by",) or len(x.sequence) < 3 or y.sequence[-1:] == ("by",):
            continue
        verb = x.sequence[-2]
        verb = _PARTICIPLES.get(verb, verb)
        opened = _past_question_word(y)
        # the stems of a participle and of its verb may differ in their ending ("succeed", "succe")
        said = any(w == verb or (len(w) >= 4 and verb.startswith(w)) for w in y.sequence)
        if said and any(w in _DO for w in opened[:3]) and not _PASSIVE_AUX & set(opened[:3]):
            return True
    return False


_DO = frozenset({"do", "doe", "did"})


def _passives_traded(a: Features, b: Features) -> bool:
    """Both sides in the passive, with other subjects, the subject of one the doer of the other:
    "I was sued by my landlord" / "My landlord was sued by me"."""
    passive_a, passive_b = _passive(a), _passive(b)
    if passive_a is None or passive_b is None or passive_a[0] == passive_b[0]:
        return False
    return _doer(a) == passive_b[0] or _doer(b) == passive_a[0]


def _doer(side: Features) -> str | None:
    """Who a passive says does it: the word after "by", past determiners ("by me" is "i")."""
    seq = side.sequence
    if "by" not in seq:
        return None
    doer = next((w for w in seq[seq.index("by") + 1:] if w not in DETERMINERS), None)
    return _AS_SUBJECT.get(doer or "", doer)


_AS_SUBJECT = {"me": "i", "us": "we", "him": "he", "her": "she", "them": "they"}


def past_form(side: Features, word: str) -> bool:
    """Whether a word of ``side`` is a verb's past form or participle ("acquired", "bought")."""
    return word in _PAST_FORMS or _is_participle(side, (word,))


def _is_participle(side: Features, words: tuple[str, ...]) -> bool:
    if not words:
        return False
    word = words[0]
    if word in _PARTICIPLES or side.spelled.get(word, "").endswith("ed"):
        return True
    # a verb the gates take for a function word ("own") is read as written: "owned"
    return word not in side.spelled and word.isalpha() and len(word) >= 3 \
        and re.search(rf"\b{word}e?d\b", side.written, re.IGNORECASE) is not None


def _passive(side: Features) -> tuple[str, str] | None:
    """The subject and the verb of a passive ("i", "fire" in "I was fired"; "instagram", "buy" in
    "Was Instagram bought by ...?"), or None."""
    seq = side.sequence
    for i, word in enumerate(seq):
        if word not in _PASSIVE_AUX:
            continue
        if i and seq[i - 1] in ("who", "what") and _is_participle(side, seq[i + 1:i + 2]):
            subject, after = seq[i - 1], i + 1  # "Who was taught by Aristotle?": who is taught
        elif seq[i - 2:i] and seq[i - 2] in ("which", "what") and _is_participle(side, seq[i + 1:i + 2]):
            subject, after = seq[i - 1], i + 1  # "Which company was acquired by ...?": the company is
        # "Was Instagram bought ...?", "How much am I owed?", "Which team was Tom Brady drafted by?":
        # the subject comes after the auxiliary (a name, its last word)
        elif i == 0 or seq[i - 1] in _WH_WORDS or (seq[i - 2:i] and seq[i - 2] in ("how", "which", "what")):
            subject = next((w for w in seq[i + 1:] if w not in DETERMINERS), "")
            after = seq.index(subject, i + 1) + 1 if subject else len(seq)
            while subject in side.names and after < len(seq) and seq[after] in side.names:
                subject, after = seq[after], after + 1
        else:
            subject = next((w for w in reversed(seq[:i]) if w not in DETERMINERS and w not in auxiliaries()),
                           "")
            after = i + 1
        verb = seq[after] if after < len(seq) else ""
        if not _is_participle(side, (verb,)) and "by" in seq[after:]:
            # past a clause that says which one: "Is the company that makes Oreos owned by ...?"
            verb = seq[seq.index("by", after) - 1]
        # "be" with the doer named ("was fired by"), or said of a person ("am I owed"): "Is the shop
        # closed on Sundays?" asks what "Does the shop close on Sundays?" does
        done_to = word in _GET or word == "being" or "by" in seq[i:] or subject in _PERSONS
        if subject and done_to and verb not in _GET_STATES and _is_participle(side, (verb,)):
            return subject, _PARTICIPLES.get(verb, verb)
    return None


def _subjects_traded(a: Features, b: Features) -> bool:
    """Two things both questions name, each the subject on one side: "Can a doctor refuse to
    treat a patient?" / "Can a patient refuse treatment from their doctor?" (not in the passive,
    nor where "is" opens a question of what is so: "Is breakfast included in the rate?" / "Does
    the rate include breakfast?")."""
    subject_a, subject_b = _opening_subject(a), _opening_subject(b)
    if subject_a is None or subject_b is None or subject_a == subject_b \
            or subject_a not in b.content or subject_b not in a.content \
            or _after(a, subject_a) != _after(b, subject_b):  # each doing the same
        return False
    return not any(_past_question_word(side)[:1] in _BE or _passive_after(side, subject)
                   for side, subject in ((a, subject_a), (b, subject_b)))


_BE = {(w,) for w in ("is", "are", "was", "were", "be", "am")}


def _after(side: Features, word: str) -> tuple[str, ...]:
    return side.sequence[side.sequence.index(word) + 1:][:1]


# Words that open a clause whose doer is read: the conditions and circumstances, and "once",
# "after", "before".
CLAUSE_OPENERS = _CONDITIONS | {"when", "once", "after", "before"}


def _clause_doers(side: Features) -> dict[str, str]:
    """The doer of the verb a condition opens with: "if I cancel" gives cancel: i, "if Ryanair
    cancels" cancel: ryanair."""
    words, doers = side.sequence, {}
    for i, word in enumerate(words[:-2]):
        at = next((j for j in (i + 1, i + 2) if words[j] not in DETERMINERS), None) \
            if word in CLAUSE_OPENERS else None
        if at is not None and at + 1 < len(words):
            doers[words[at + 1]] = words[at]
    return doers


def _clause_doer_changed(a: Features, b: Features) -> bool:
    doers_a, doers_b = _clause_doers(a), _clause_doers(b)
    return any(doers_a[verb] != doers_b[verb] and not is_function_word(verb)
               and {doers_a[verb], doers_b[verb]} & (_ASKERS | {"you"})
               for verb in doers_a.keys() & doers_b.keys())


def _pronouns_traded(a: Features, b: Features) -> bool:
    """The same people, in each other's parts: "How do I stop someone seeing my stories without
    blocking them?" / "Someone stopped me seeing their stories without blocking me", "Can I
    block them?" / "Can they block me?". Both sides name the same two or more persons, and some
    part is played by one person on one side and only by another on the other. (A passive moves
    the doer behind "by" and leaves the doer's part empty: "Can they see my location?" / "Can my
    location be seen by them?" trades nothing.)"""
    parts_a, parts_b = _pronoun_parts(a), _pronoun_parts(b)
    persons = set().union(*parts_a.values())
    if len(persons) < 2 or persons != set().union(*parts_b.values()):
        return False
    return any(parts_a[p] and parts_b[p] and not parts_a[p] & parts_b[p] for p in ("doer", "object", "owner"))


# Words that answer or take a side however few the others are ("Yes.", "Maybe", "Please do").
_REPLY_WORDS = word_set("yes yeah yep yup sure ok okay fine please maybe perhaps possibly probably correct "
                        "right exactly agreed definitely certainly absolutely")
# Such a turn is a line or two. The turns are the caller's, of any length: a longer one is taken
# to say something rather than analysed (and kept in analyse's memo) word by word.
_SAYS_NOTHING_CHARS = 1000


def says_nothing(text: str) -> bool:
    """Whether an earlier turn only keeps the conversation going ("Thanks. What would you like to
    know about it?", "Got it, how can I help?"): no subject word, value, name, negation or
    opposite-pair word, and no word that answers. Two such turns at one place are alike, however
    they are worded: neither can change what the next question means."""
    if len(text) > _SAYS_NOTHING_CHARS:
        return False
    found = analyse(text)
    if found.content or found.values or found.names or found.negations or found.polarity:
        return False
    return not any(word in _REPLY_WORDS for word in re.findall(r"[a-z]+", text.lower()))


_BY_PLACE = re.compile(r"\b(?:former|latter|(?:this|that|the other) one)\b", re.IGNORECASE)


def refers_by_place(text: str) -> bool:
    """Whether ``text`` picks something out by its place in what was said before ("the first
    one", "the last", "the latter", "that one"), so the order earlier turns gave things in
    decides what it asks."""
    return any(value.startswith("#") for value in analyse(text).values) or bool(_BY_PLACE.search(text))


def same_order(a: Features, b: Features) -> bool:
    """The content words and numbers both sides have once each come in the same order. An
    earlier turn that offers "1) a refund or 2) a voucher" is not one that offers them the other
    way round: "the first one" after it asks for the other."""
    def kept(side: Features) -> list[str]:
        return [w for w in side.sequence if w in side.content or any(ch.isdigit() for ch in w)]

    in_a, in_b = kept(a), kept(b)
    once = {w for w in in_a if in_a.count(w) == 1} & {w for w in in_b if in_b.count(w) == 1}
    return [w for w in in_a if w in once] == [w for w in in_b if w in once]
