"""A country said one way, whatever word names it, so that the name gate sees one name: "as a
US citizen" and "as an American", "a UK passport" and "a British passport", "Americans" and "US
citizens", "the UK" and "Britain".

A nationality word is read as its country only where it says of which state something is: before a
word of the kind (a citizen, a passport, a driving licence, tax, a motorway: "a British passport"
is "a UK passport"), or in "as an American" ("as a USA citizen"; "I'm American" may be a heritage,
not a passport, and stays as written); the people of a country are its citizens ("Germans" and
"the British" are "Germany citizens" and "UK citizens"). Everywhere else it is left as written: a
language ("Is Portuguese like Spanish?", "in Japanese"), a dish or a thing ("French toast",
"Turkish sausage", "a Danish", "Chinese medicine", "an Italian restaurant"), and "American" after
another people's or a continent's word ("Mexican Americans", "South American"). "Polish" counts
only with its capital, since "polish" is a verb.
"""

from __future__ import annotations

import re

# country: (its adjectives, its people in the plural), lower case, a comma between two.
_NAMES = {
    "USA": ("american", "americans"),
    "UK": ("british", "brits"),
    "Japan": ("japanese", ""),
    "France": ("french", ""),
    "Germany": ("german", "germans"),
    "Spain": ("spanish", ""),
    "Italy": ("italian", "italians"),
    "China": ("chinese", ""),
    "India": ("indian", "indians"),
    "Canada": ("canadian", "canadians"),
    "Australia": ("australian", "australians"),
    "Ireland": ("irish", ""),
    "Mexico": ("mexican", "mexicans"),
    "Brazil": ("brazilian", "brazilians"),
    "Netherlands": ("dutch", ""),
    "Switzerland": ("swiss", ""),
    "Sweden": ("swedish", ""),
    "Norway": ("norwegian", "norwegians"),
    "Denmark": ("danish", ""),
    "Finland": ("finnish", ""),
    "Portugal": ("portuguese", ""),
    "Greece": ("greek", "greeks"),
    "Turkey": ("turkish", ""),
    "Russia": ("russian", "russians"),
    "Korea": ("korean", "koreans"),
    "Thailand": ("thai", ""),
    "Vietnam": ("vietnamese", ""),
    "Egypt": ("egyptian", "egyptians"),
    "Morocco": ("moroccan", "moroccans"),
    "Austria": ("austrian", "austrians"),
    "Belgium": ("belgian", "belgians"),
    "Scotland": ("scottish", ""),
    "Wales": ("welsh", ""),
    "Singapore": ("singaporean", "singaporeans"),
    "Argentina": ("argentinian, argentine", "argentinians"),
    "Chile": ("chilean", "chileans"),
    "Colombia": ("colombian", "colombians"),
    "Peru": ("peruvian", "peruvians"),
    "Israel": ("israeli", "israelis"),
    "Pakistan": ("pakistani", "pakistanis"),
    "Nigeria": ("nigerian", "nigerians"),
    "Kenya": ("kenyan", "kenyans"),
    "Iceland": ("icelandic", ""),
    "Hungary": ("hungarian", "hungarians"),
    "Croatia": ("croatian", "croatians"),
    "Czechia": ("czech", ""),
    "Philippines": ("filipino, philippine", "filipinos"),
    "Indonesia": ("indonesian", "indonesians"),
    "Malaysia": ("malaysian", "malaysians"),
    "Ukraine": ("ukrainian", "ukrainians"),
    "Romania": ("romanian", "romanians"),
    "Bulgaria": ("bulgarian", "bulgarians"),
    "Jamaica": ("jamaican", "jamaicans"),
    "South Africa": ("south african", "south africans"),
    "New Zealand": ("", "new zealanders"),
}
# Other names of a country, read as it wherever they stand ("US" only in capitals: "us" is a pronoun).
_OTHER_NAMES = (
    (re.compile(r"\bunited states(?: of america)?\b|(?-i:\b[Uu]\.[Ss]\.(?:[Aa]\.)?|\bUSA?\b)"
                r"|(?<!\bof )(?<!\ball )(?<!\bthese )(?<!\bwhich )\bthe states\b(?! of\b)"
                r"|(?<!\bsouth )(?<!\bnorth )(?<!\blatin )(?<!\bcentral )\bamerica\b(?!['’]s\b)",
                re.IGNORECASE),
     "USA"),
    # "us" in lower case is the country only after "the" or before a word of the state ("us citizens")
    (re.compile(r"(?<=\bthe )us\b|\bus(?= (?:citizens?|passports?|nationals?|residents?|embassy|"
                r"consulate|licen[cs]es?|visas?|dollars?|military|government|election|president)\b)"),
     "USA"),
    (re.compile(r"\bunited kingdom\b|\bgreat britain\b|\bbritain\b|(?-i:\b[Uu]\.[Kk]\.)", re.IGNORECASE),
     "UK"),
    (re.compile(r"\bholland\b", re.IGNORECASE), "Netherlands"),
)
# The words after which a nationality word says of which state: "a British passport" (not "an
# Italian restaurant", "a Chinese phone" or "an American plug", which may be anywhere).
_OF_A_COUNTRY = frozenset((
    "citizen", "citizens", "citizenship", "national", "nationals", "passport", "passports", "resident",
    "residents", "residency", "expat", "expats", "government", "embassy", "consulate", "president",
    "election", "elections", "parliament", "law", "laws", "tax", "taxes", "licence", "license", "licences",
    "licenses", "driving", "driver", "drivers", "pension", "pensions", "motorway", "motorways", "border",
    "borders", "minimum", "capital",
))
# "as an American" speaks as a citizen; "I'm Korean" may be a heritage, not a passport ("I'm
# Korean but born in the US"), and is left as written, unless the question is of a visa, a
# passport or what one may do in a country (work, live, study, visit, open an account), where the
# nationality one gives is the one of one's papers ("I'm British and planning a trip to Japan, do
# I need a visa?"), and nothing says it is only a heritage.
_AS_A_CITIZEN = re.compile(r"\bas an?\s+$", re.IGNORECASE)
_I_AM = re.compile(r"\b(?:i['’]m|i am|we['’]re|we are)\s+$", re.IGNORECASE)
_OF_PAPERS = re.compile(r"\b(?:visas?|passports?|citizens?|citizenship|entry"
                        r"|(?:work|live|study|stay|settle|retire) in|visit(?:s|ing)?|travel(?:s|l?ing)? to"
                        r"|move to|open (?:a|an) (?:\w+ )?account)\b", re.IGNORECASE)
_HERITAGE = re.compile(r"\b(?:born|heritage|descent|origin|ancestry|parents?|grandparents?|family)\b",
                       re.IGNORECASE)
# Words before "American" that make it another people's or a continent's.
_BEFORE_ANOTHER = frozenset(("south", "north", "latin", "central", "native", "pan", "asian", "african"))
# Written only with a capital and inside a sentence: the lower-case word is another word.
_CAPITALISED = {"Polish": "Poland"}

# Each country's name as the gates read it (its last word, lower case), said in capitals or not.
NAMES = frozenset(country.split()[-1].lower() for country in _NAMES)
_ADJECTIVE = {word: country for country, (said, _) in _NAMES.items() for word in said.split(", ") if word}
_PEOPLE = {word: country for country, (_, people) in _NAMES.items() for word in people.split(", ") if word}
_WORDS = "|".join(sorted([*_ADJECTIVE, *_PEOPLE], key=len, reverse=True)).replace(" ", r"\s+")
_SAID = re.compile(rf"\b(?:(?P<word>{_WORDS})|(?<=\w )(?-i:(?P<cap>{'|'.join(_CAPITALISED)})))\b(?!['’-])",
                   re.IGNORECASE)
_WORD = re.compile(r"[a-z']+")


_NEXT_WORD = re.compile(r"\s+([A-Za-z][\w']*)")


def _country(match: re.Match[str]) -> str:
    text = match.string
    before = _WORD.findall(text[max(0, match.start() - 40):match.start()].lower())
    if before and (before[-1] in _BEFORE_ANOTHER or before[-1] in _ADJECTIVE):
        return match[0]  # "Mexican Americans", "South American"
    following = _NEXT_WORD.match(text, match.end())
    next_word = following[1] if following else ""
    # a word of the state after it: "a British passport", "the British government"
    of_a_state = next_word.lower().removesuffix("'s") in _OF_A_COUNTRY
    said = " ".join(match[0].lower().split())
    # "the British" as a people ("What do Germans think of the British?"), not a name that goes
    # on ("the Swiss Alps", "the French Riviera")
    if said in _PEOPLE or (before[-1:] == ["the"] and said in _ADJECTIVE
                           and not (of_a_state or next_word[:1].isupper())):
        return (_PEOPLE.get(said) or _ADJECTIVE[said]) + " citizens"
    country = _CAPITALISED.get(match["cap"] or "") or _ADJECTIVE[said]
    if of_a_state:
        return country
    said_before = text[max(0, match.start() - 12):match.start()]
    if _AS_A_CITIZEN.search(said_before) \
            or (_I_AM.search(said_before) and _OF_PAPERS.search(text) and not _HERITAGE.search(text)):
        return country + " citizen"
    return match[0]


# Lower-case "us" beside a word that sets two places side by side ("from us to canada", "between
# us and uk", "us or uk", "cheaper in canada than us?"), in a text that names another country: read
# as the USA. "send it to us in the UK" stays a pronoun ("to us" is not among these); "my us phone" is
# left as written, as "my American phone" is.
_OTHER_COUNTRY = "|".join(sorted((c.lower() for c in _NAMES), key=len, reverse=True)) + "|uk|eu|europe"
_US_BESIDE = re.compile(r"\b(?P<before>(?:from|between|vs|versus) )us\b"
                        r"|\b(?P<last>(?:than|like) )us(?=\s*(?:[?.!,]|$))"
                        rf"|\bus(?= (?:to|and|or|vs|versus|than) (?:the )?(?:{_OTHER_COUNTRY})\b)")
_A_COUNTRY = re.compile(rf"\b(?:{_OTHER_COUNTRY}|usa)\b", re.IGNORECASE)


def rewrite(text: str) -> str:
    """``text`` with each word that names a country, where it names one, replaced by the country's name."""
    for pattern, country in _OTHER_NAMES:
        text = pattern.sub(country, text)
    if _A_COUNTRY.search(_US_BESIDE.sub("", text)):
        text = _US_BESIDE.sub(lambda match: (match["before"] or match["last"] or "") + "USA", text)
    return _SAID.sub(_country, text)
