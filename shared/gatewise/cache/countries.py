"""A country said one way, whatever word names it: "as a US citizen" and "I'm American", "a UK
passport" and "a British passport", "Dutch tax" and "tax in the Netherlands" name one country to
the name gate, which otherwise sees two names.

A nationality adjective is read as its country except in the fixed names it forms ("French toast",
"American Express", "British Gas", "Dutch oven"), which name a thing, not the country; and
"American" only where it names the United States ("South American" is a continent's). "Polish" is
read only with its capital and inside a sentence, since "polish" is a verb; "Turkey" is never
made of "turkey".
"""

from __future__ import annotations

import re

# country: the words that name it (adjectives and other names), lower case, a comma between two.
_NAMES = {
    "USA": "american, americans, america",
    "UK": "british, britain, brits",
    "Japan": "japanese",
    "France": "french",
    "Germany": "german, germans",
    "Spain": "spanish",
    "Italy": "italian, italians",
    "China": "chinese",
    "India": "indian, indians",
    "Canada": "canadian, canadians",
    "Australia": "australian, australians",
    "Ireland": "irish",
    "Mexico": "mexican, mexicans",
    "Brazil": "brazilian, brazilians",
    "Netherlands": "dutch, holland",
    "Switzerland": "swiss",
    "Sweden": "swedish",
    "Norway": "norwegian, norwegians",
    "Denmark": "danish",
    "Finland": "finnish",
    "Portugal": "portuguese",
    "Greece": "greek, greeks",
    "Turkey": "turkish",
    "Russia": "russian, russians",
    "Korea": "korean, koreans",
    "Thailand": "thai",
    "Vietnam": "vietnamese",
    "Egypt": "egyptian, egyptians",
    "Morocco": "moroccan, moroccans",
    "Austria": "austrian, austrians",
    "Belgium": "belgian, belgians",
    "Scotland": "scottish",
    "Wales": "welsh",
    "Singapore": "singaporean, singaporeans",
    "Argentina": "argentinian, argentinians, argentine",
    "Chile": "chilean, chileans",
    "Colombia": "colombian, colombians",
    "Peru": "peruvian, peruvians",
    "Israel": "israeli, israelis",
    "Pakistan": "pakistani, pakistanis",
    "Nigeria": "nigerian, nigerians",
    "Kenya": "kenyan, kenyans",
    "Iceland": "icelandic",
    "Hungary": "hungarian, hungarians",
    "Croatia": "croatian, croatians",
    "Czechia": "czech",
    "Philippines": "filipino, filipinos, philippine",
    "Indonesia": "indonesian, indonesians",
    "Malaysia": "malaysian, malaysians",
    "Ukraine": "ukrainian, ukrainians",
    "Romania": "romanian, romanians",
    "Bulgaria": "bulgarian, bulgarians",
    "Jamaica": "jamaican, jamaicans",
    "South Africa": "south african",
    "New Zealand": "new zealander",
}
# Written only with a capital: the lower-case word is another word.
_CAPITALISED = {"Poland": "Polish"}

# The fixed names a nationality word opens, which name a thing rather than the country.
_FIXED_AFTER = (
    "toast|fries|press|horn|doors?|windows?|kiss|leave|bread|onion|dressing|bulldog|shepherds?|oven|"
    "auction|cheese|pastry|pastries|delight|coffee|stew|omelette|omelet|rice|curry|gas|airways|airlines|"
    "express|idol|football|dream|eagle|pie|muffins?|mustard|braid|manicure|tip|setter|terrier|"
    "rail|red|columbia|virgin|isles|guiana|samoa|army|knife|knives|roll|rolls|courage|uncle|"
    "apple|chard|fork|flag|waters|polynesia|ocean|summer|bath|yogh?urt|massage|blue|open|masters|grand prix"
)
# Words before "American" that make it a continent's or a region's.
_REGION_BEFORE = r"(?<!\bnorth )(?<!\bsouth )(?<!\blatin )(?<!\bcentral )(?<!\bnative )(?<!\bpan-)"


_COUNTRY_OF = {word: country for country, said in _NAMES.items() for word in said.split(", ")}
_CAPITALISED_OF = {adjective: country for country, adjective in _CAPITALISED.items()}
_WORDS = "|".join(sorted(_COUNTRY_OF, key=len, reverse=True)).replace(" ", r"\s+")
_SAID = re.compile(rf"{_REGION_BEFORE}\b(?:(?P<word>{_WORDS})"
                   rf"|(?<=\w )(?-i:(?P<cap>{'|'.join(_CAPITALISED_OF)})))\b"
                   rf"(?!['’]s\b)(?!\s+(?:{_FIXED_AFTER})\b)", re.IGNORECASE)
# Other names of the two countries most asked about ("US" only in capitals: "us" is a pronoun).
_OTHER_NAMES = (
    (re.compile(r"\bunited states(?: of america)?\b|(?-i:\bU\.S\.(?:A\.)?|\bUSA?\b)", re.IGNORECASE), "USA"),
    (re.compile(r"\bunited kingdom\b|\bgreat britain\b|(?-i:\bU\.K\.)", re.IGNORECASE), "UK"),
)


def _country(match: re.Match[str]) -> str:
    if match["cap"]:
        return _CAPITALISED_OF[match["cap"]]
    return _COUNTRY_OF[" ".join(match["word"].lower().split())]


def rewrite(text: str) -> str:
    """``text`` with each word that names a country replaced by the country's name."""
    for pattern, country in _OTHER_NAMES:
        text = pattern.sub(country, text)
    return _SAID.sub(_country, text)
