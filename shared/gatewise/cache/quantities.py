"""Numbers, periods and rates written one way, so that the value gate compares what they are,
not how they are said.

"Within two weeks" and "within a fortnight", "half an hour" and "30 minutes", "a year" and "12
months" name one period; "£10 a month", "£10 per month", "£10/month", "10 pounds a month" and "£10
monthly" one rate.
Before the gates read a question, each period with a count is rewritten as its length in
minutes (minutes, hours, days, weeks, fortnights) or in months (months, years, decades), and each
rate as its adverb (hourly, daily, weekly, monthly, yearly; "a year" that ends a question of how much or
how many is one too). Lengths of two families are never equated
("a month" is not "30 days", "a year" not "365 days"), and a period is never read as a rate or the
other way round, so a phrase read in a way it was not meant can only make two questions differ,
never make two different ones alike. Ordinals are left alone ("the second week"), and so is a
period without a count ("which day", "this month").

A count word joined to what it counts is read apart from it ("a two-kilogram chicken" is "a two
kilogram chicken"), and "and" inside a number joins its parts ("one hundred and eighty" is 180).

The weekend is Saturday and Sunday, "Monday to Friday" the weekdays, "all night" overnight, noon and
midday 12pm, midnight 12am, "the first year" the first 12 months, "401(k)" 401k; a clock time is
written on the 24-hour clock ("5pm", "5:00 p.m." and "17:00" are "17:00", "half past seven" is
"7:30", naming no half of the day as "7:30" does not; "3 in the afternoon" is "15:00", "at 8
tonight" "20:00 tonight"); a day or a month shortened where a date stands is the whole word ("on
Sat", "3 Dec"; never "the sun" or "may").
Numbers in words ("twenty-four", "three thousand") and fractions in one character ("½", "1¾") are
written in digits (0.5, 1.75), an amount in thousands
("£3k") in full and a price's trailing zero dropped ("£1.50" is "£1.5"; a version number keeps its
digits), the first five ordinals in words ("1st" is "first"), and one of a measure in digits ("a kilo" is
"1 kilo", as "1kg"; "a cup" is "1 cup").
"""

from __future__ import annotations

import re
import unicodedata

_UNITS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}
_TEENS = {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
          "seventeen": 17, "eighteen": 18, "nineteen": 19}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}
# The numbers up to ninety-nine in words (the compounds are written in digits first).
_SMALL = {**_UNITS, **_TEENS, **_TENS}
# Every count written in words that a period, a scale or a measure may follow.
_COUNTS: dict[str, float] = {"a": 1, "an": 1, "half": 0.5, "half a": 0.5, "half an": 0.5, "a couple of": 2,
                             **_SMALL}
_MINUTES = {"minute": 1, "min": 1, "hour": 60, "hr": 60, "day": 1440, "week": 10080, "fortnight": 20160}
_MONTHS = {"month": 1, "year": 12, "yr": 12, "decade": 120}
_RATES = {"hour": "hourly", "day": "daily", "week": "weekly", "month": "monthly", "year": "yearly",
          "annum": "yearly"}

# Six digits at most: a longer number is compared as written, never rounded into another's value.
_COUNT = r"\d{1,6}(?:\.\d{1,3})?|" + "|".join(sorted((w.replace(" ", r"\s+") for w in _COUNTS), key=len,
                                                     reverse=True))
# "min" is also the minimum ("a min order"): abbreviations count only after digits ("30 mins").
_ABBREVIATIONS = frozenset({"min", "hr", "yr"})
_UNIT = r"minute|min|hour|hr|day|week|fortnight|month|year|yr|decade"
_PERIOD = r"hour|day|week|month|year|annum"
# A rate: "per month", "each week", "every day"; "£30/month"; "£30 a month", "30 pounds a month",
# "twice a week".
_RATE = re.compile(rf"\b(?:per|each|every)\s+(?P<every>{_PERIOD})\b"
                   rf"|(?<=\d)\s*/\s*(?P<slash>{_PERIOD})\b"
                   rf"|(?P<count>\d|\b(?:once|twice|thrice|times))"
                   rf"(?P<money>\s+(?:pounds?|dollars?|euros?|quid|pence|cents?|bucks))?\s+an?\s+(?P<a>{_PERIOD})\b",
                   re.IGNORECASE)
# A rate said as a number of periods: "every 3 months" is quarterly, "every other week" fortnightly.
_EVERY = re.compile(r"\bevery\s+(?P<n>\d{1,2}|two|three|twelve|seven|other)\s+(?P<unit>day|week|month)s?\b",
                    re.IGNORECASE)
_EVERY_AS = {("3", "month"): "quarterly", ("2", "week"): "fortnightly", ("other", "week"): "fortnightly",
             ("12", "month"): "yearly", ("7", "day"): "weekly"}
# "2 times a day" is "twice a day": a count of times is written as "x2", as "twice" is read.
_TIMES = re.compile(rf"\b(?P<n>\d{{1,3}}|{'|'.join(_UNITS)}|ten)\s+times\b", re.IGNORECASE)
# "How many times a day" asks how often, by the day.
_HOW_MANY_TIMES = re.compile(rf"\bhow\s+many\s+times\s+(?:an?|per|each|every)\s+(?P<a>{_PERIOD})\b",
                             re.IGNORECASE)
# "How many calories a day", "how much coffee per day": a period right after what is counted is
# the rate it is counted by, wherever the clause ends.
_HOW_MANY_A = re.compile(rf"\b(?P<asked>how\s+(?:many|much)\s+(?:[\w'-]+\s+){{1,3}}?)(?:an?|per)\s+"
                         rf"(?P<a>{_PERIOD})\b", re.IGNORECASE)
# A year said in words: "nineteen eighty-four", "twenty twenty-five".
_YEAR_IN_WORDS = re.compile(rf"\b(?P<century>{'|'.join(_TEENS)}|twenty)[\s-](?P<tens>{'|'.join(_TENS)})"
                            rf"(?:[\s-](?P<unit>{'|'.join(_UNITS)}))?\b(?!-)", re.IGNORECASE)
# "year one", "day 1", "chapter three": the first year, the first day, the third chapter (not "day 1
# months", a length this module writes).
_NUMBERED = re.compile(r"\b(?P<what>year|day|week|month|season|series|chapter|part|step|stage|level|round"
                       r"|phase)\s+(?P<n>[1-5]|one|two|three|four|five)\b"
                       r"(?![.,:]?\d|[\s-]+(?:\d|one|two|three|four|five|(?:minute|hour|day|week|month|year)s?)\b)",
                       re.IGNORECASE)
# In a question of how much or how many, "a year" or "in a day" that ends the clause is a rate:
# "How many days holiday do I get a year?" asks for the yearly allowance, "How much can I
# withdraw in a day?" for the daily limit.
_QUANTITY_QUESTION = re.compile(r"\bhow\s+(?:much|many)\b", re.IGNORECASE)
_RATE_AT_END = re.compile(rf"\b(?:in\s+)?(?:an?|one)\s+(?P<a>{_PERIOD})\b(?=\s*(?:[?.!,;]|$))", re.IGNORECASE)
# In any question, "a month" that ends a clause after what is done or had is a rate too: "What
# will I pay a month?", "Is one egg a day too many?"; not after a word that makes it a length
# ("for a month", "it takes a day", "is it a day?").
_A_PERIOD_AT_END = re.compile(rf"\b(?P<before>[\w']+)\s+an?\s+(?P<a>{_PERIOD})\b(?=\s*(?:[?.!,;]|$))",
                              re.IGNORECASE)
_LENGTH_BEFORE = frozenset({
    "in", "for", "within", "over", "under", "about", "around", "than", "after", "before", "of", "from",
    "to", "until", "till", "by", "into", "like", "up", "take", "takes", "took", "taking", "taken", "last",
    "lasts", "lasted", "lasting", "wait", "waits", "waited", "spend", "spends", "spent", "only", "just",
    "least", "most", "nearly", "almost", "roughly", "approximately", "half", "whole", "full", "entire",
    "extra", "another", "is", "are", "was", "were", "be", "been", "being", "it", "it's", "that's", "what",
    "which", "such", "with"
})
# A period with a count: "2 weeks", "a fortnight", "an hour and a half", "2 and a half hours",
# "18-month", "half an hour".
# A half said twice over is one half, so that a length rewritten is not read again as longer.
_LENGTH = re.compile(rf"(?<![:.])\b(?P<n>{_COUNT})(?P<half1>(?:\s+and\s+a\s+half)+)?[\s-]+(?P<unit>{_UNIT})s?"
                     rf"(?P<half2>(?:\s+and\s+a\s+half)+)?\b", re.IGNORECASE)
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
# "twenty-four", "twenty four"
_COMPOUND = re.compile(rf"\b(?P<tens>{'|'.join(_TENS)})[\s-](?P<unit>{'|'.join(_UNITS)})\b", re.IGNORECASE)
# "three thousand", "2 hundred", "a million", "1.5 million", "a hundred thousand"; the number is at
# most six digits, and a product past a thousand million million is left as written.
_SCALED = re.compile(rf"(?<![:.])\b(?P<n>{_COUNT})(?P<scales>(?:[\s-]+(?:{'|'.join(_SCALES)})\b)+)"
                     rf"(?:\s+and\s+(?P<rest>\d{{1,2}}|{'|'.join(_SMALL)})\b)?", re.IGNORECASE)
# A count word joined to what it counts: "a two-kilogram chicken", "a three-bedroom flat".
_COUNT_JOINED = re.compile(rf"\b(?P<n>{'|'.join(_SMALL | _SCALES)})-(?=[a-z])", re.IGNORECASE)
# An age, in digits or words: "an 18-year-old", "a five year old", "aged 21" and "at 18" ask about
# one age (a child "aged 2 months" is not two).
_IN_WORDS = "|".join(sorted(_SMALL, key=len, reverse=True))
_AGE_NUMBER = rf"\d{{1,3}}|(?:{'|'.join(_TENS)})[\s-](?:{'|'.join(_UNITS)})|{_IN_WORDS}"
_AGE = re.compile(rf"\b(?P<n>{_AGE_NUMBER})[\s-]+years?[\s-]+olds?\b"
                  rf"|\b(?:aged|at the age of|at age)\s+(?P<m>{_AGE_NUMBER})\b(?![\s-]+(?:{_UNIT})s?\b)",
                  re.IGNORECASE)
# "21 and over", "18 or above", "65+": the number and every one past it, one way ("or older" is
# left alone: for a version it means the ones before).
_AND_OVER = re.compile(r"\b(?P<n>\d{1,3})(?:\+(?!\s*[\d(])"
                       r"|\s+(?:and|or)\s+(?:over|above|upwards)\b(?!\s*\d))", re.IGNORECASE)
# A temperature on its scale joined to its number: "180°C", "180 degrees C" and "180 degrees
# celsius" are "180C", and so is "180 C" where the question names a scale in full ("What is 180 C
# in Fahrenheit?"; "2 C" may be cups, "3 C grades" grades); "degrees F" without a number is
# Fahrenheit.
_SCALE_LETTER = re.compile(r"(?<=\d)(?:\s*°\s*|\s+deg(?:ree)?s?\s+)(?P<letter>[cf])\b(?![.'’]\w)"
                           r"|(?<=\d)\s*(?:°\s*|\s+deg(?:ree)?s?\s+|\s+)(?P<name>celsius|centigrade|fahrenheit)\b"
                           r"|\bdeg(?:ree)?s?\s+(?P<scale>[cf])\b(?![.'’]\w)", re.IGNORECASE)
_SPACED_SCALE = re.compile(r"(?<=\d)\s+(?-i:(?P<letter>[CF]))\b(?![.'’]\w)")
_SCALE_NAMED = re.compile(r"\b(?:celsius|centigrade|fahrenheit)\b", re.IGNORECASE)
_SCALE_NAMES = {"c": "celsius", "f": "fahrenheit"}
# A race by its distance: "a 5K run", "run a 10k" are kilometres ("50k" alone may be money, a
# car's mileage or steps, "run 4K video" a resolution, "my car has run 100k" miles).
_RACE = re.compile(r"(?<![£$€\d.])\b(?P<n>\d{1,3})k\b(?=\s+(?:fun )?(?:run|race)s?\b)"
                   r"|\b(?P<verb>(?:run|running|jog|jogging) (?:an?|the|my) )(?P<m>\d{1,3})k\b"
                   r"(?=\s*(?:[?.!,;]|$|(?:in|under|without|every|each|for|race|run)\b))",
                   re.IGNORECASE)
_LARGEST = 1e18
_THOUSANDS = re.compile(r"(?P<sign>[£$€])\s?(?P<n>\d{1,6}(?:\.\d{1,3})?)k\b", re.IGNORECASE)
_PENNIES = re.compile(r"(?P<amount>[£$€]\d{1,9})\.(?:(?P<tenths>[1-9])0|00)\b")
_ORDINALS = {"1": "first", "2": "second", "3": "third", "4": "fourth", "5": "fifth"}
_ORDINAL = re.compile(r"\b(?P<n>[1-5])(?:st|nd|rd|th)\b", re.IGNORECASE)
# A day of a month is its number before the month: "the 5th of January", "January 3rd", "January 3"
# and "3 January" name one date.
_MONTH = "january|february|march|april|may|june|july|august|september|october|november|december"
_DAY_OF_MONTH = re.compile(rf"\b(?P<n>[12]?\d|3[01])(?:st|nd|rd|th)(?=\s+(?:of\s+)?(?:{_MONTH})\b)"
                           rf"|\b(?P<month>{_MONTH})\s+(?P<m>[12]?\d|3[01])(?:st|nd|rd|th)?\b(?![:.,]?\d)",
                           re.IGNORECASE)
_DAY_OF = re.compile(rf"\b(?P<n>[12]?\d|3[01])\s+of\s+(?=(?:{_MONTH})\b)", re.IGNORECASE)
# "a kilo", "half a litre", "one mile": the count in digits, as "1kg" has it. Not "a pound",
# which is also an amount of money ("a pound of mince" is not "£1 of mince"), nor "a meter",
# which is also a gas meter ("a meter reading").
# "one and a half litres", "2 and a half miles": the count with its half, before any measure
# ("two and a half hours" is read by the length below either way).
_AND_A_HALF = re.compile(rf"(?<![\d.,])\b(?P<n>\d{{1,6}}|{'|'.join(_SMALL)})\s+and\s+a\s+half\b"
                         r"(?=\s+(?!(?:am|pm)\b)\w)", re.IGNORECASE)
_ONE_MEASURE = re.compile(r"\b(?P<n>half an?|an?|one)\s+(?P<unit>(?:kilo|kilogram|gram|litre|liter|mile|"
                          r"kilometre|kilometer|metre|gigabyte|megabyte|terabyte|cup|tablespoon|"
                          r"teaspoon|millilitre|milliliter|pint|ounce)s?|kg|km|gb|mb|tb|ml|tbsp|tsp|oz)\b",
                          re.IGNORECASE)
# "a pound of mince" and "weighs 5 pounds" are weights, as "1lb" is; a bare "pound" is money.
_POUND_WEIGHT = re.compile(r"\b(?P<verb>weigh(?:s|ed|ing)?\s+)?(?P<n>an?|one|\d{1,6}(?:\.\d{1,3})?)"
                           r"\s+pounds?\b(?P<of>\s+of\b)?", re.IGNORECASE)
# The ages under which one is a child, in digits or words (1-17).
_CHILD_AGES = "|".join([*(str(n) for n in range(1, 18)), *(w for w, n in _SMALL.items() if n < 18)])
_NAMED = (
    (re.compile(r"\bweekends?\b", re.IGNORECASE), "saturday and sunday"),
    (re.compile(r"\bchristmas eve\b", re.IGNORECASE), "24 december"),
    (re.compile(r"\bchristmas day\b", re.IGNORECASE), "25 december"),
    (re.compile(r"\bboxing day\b", re.IGNORECASE), "26 december"),
    (re.compile(r"\bnew year'?s eve\b", re.IGNORECASE), "31 december"),
    (re.compile(r"\bnew year'?s day\b", re.IGNORECASE), "1 january"),
    (re.compile(r"\bthis evening\b", re.IGNORECASE), "tonight"),
    (re.compile(r"\ball night(?: long)?\b", re.IGNORECASE), "overnight"),
    (re.compile(r"\b24/7\b|\b(?:a)?round the clock\b|\b24 hours a day(?:,? (?:7|seven) days a week)?\b",
                re.IGNORECASE), "24 hours"),
    # "over 65s", "under 16s": the age, not a decade
    (re.compile(r"\b(?P<side>over|under)[\s-](?P<age>\d{1,2})s\b", re.IGNORECASE), r"\g<side> \g<age>"),
    # "children under 16" are the under 16s: a child's age says it is a child
    (re.compile(rf"\b(?:children|kids|child|kid)\s+(?=(?:aged\s+)?under\s+(?:{_CHILD_AGES})\b)",
                re.IGNORECASE), ""),
    (re.compile(r"\b(?:monday|mon)\s*(?:to|-|–|through|thru|until|till)\s*(?:friday|fri)\b", re.IGNORECASE),
     "weekdays"),
    (re.compile(r"\bper\s?cent\b", re.IGNORECASE), "percent"),
    (re.compile(r"\b(?:noon|midday)\b", re.IGNORECASE), "12pm"),
    (re.compile(r"\bmidnight\b", re.IGNORECASE), "12am"),
    # a plan's letter after its number: "401(k)" is "401k"
    (re.compile(r"\b(\d{1,4})\(([a-z])\)", re.IGNORECASE), r"\1\2"),
)


# A clock time one way: on the 24-hour clock, without a leading zero ("5pm", "5:00 pm" and
# "17:00" are "17:00"; "9am" and "09:00" "9:00"); "half past seven" is "7:30", "quarter to six"
# "5:45" (a time said in words names no half of the day, as "7:30" does not).
_TWELVE = {**_UNITS, "ten": 10, "eleven": 11, "twelve": 12}
_HOUR = r"1[0-2]|0?[1-9]|" + "|".join(_TWELVE)
# The half of the day said in words after a time that names it already says nothing more ("5pm
# in the evening").
_HALF_IN_WORDS = r"in\s+the\s+(?:morning|afternoon|evening)|at\s+night"
_HALF_DAY = re.compile(r"\b(?P<h>1[0-2]|0?[1-9])(?:[:.](?P<m>[0-5]\d))?\s?(?P<half>[ap])\.?m\b\.?"
                       rf"(?:\s?[ap]\.?m\b\.?|\s+(?:{_HALF_IN_WORDS})\b)*", re.IGNORECASE)
_LEADING_ZERO = re.compile(r"\b0(?P<h>\d):(?P<m>[0-5]\d)\b")
# A time whose half of the day is said in words ("3 in the afternoon", "seven o'clock tonight",
# "7:30 in the morning"). A bare number is read as an hour only after a word that sets a time
# ("a table for 4 in the evening" is four people).
_TIME_LEADS = "at|by|until|till|from|after|before|around|about|to|past|opens?|closes?"
_PART_OF_DAY = re.compile(rf"(?:(?P<lead>\b(?:{_TIME_LEADS})\s+|-\s*)(?P<h>{_HOUR})"
                          r"|(?<![:.\d])\b(?P<hm>1[0-2]|0?[1-9])(?=:[0-5]\d\b))(?::(?P<m>[0-5]\d))?"
                          r"\s+(?:in\s+the\s+(?P<part>morning|afternoon|evening)|at\s+night|(?P<tonight>tonight)"
                          r"|this\s+(?P<this>morning|afternoon))\b", re.IGNORECASE)
# Days and months shortened, where a date stands: after a word that opens one, or beside a number
# ("on Sat", "until Fri", "3 Dec"; not "the sun", "I sat", "may").
_SHORT = {"mon": "monday", "tue": "tuesday", "tues": "tuesday", "wed": "wednesday", "thu": "thursday",
          "thur": "thursday", "thurs": "thursday", "fri": "friday", "sat": "saturday", "sun": "sunday",
          "jan": "january", "feb": "february", "mar": "march", "apr": "april", "jun": "june", "jul": "july",
          "aug": "august", "sep": "september", "sept": "september", "oct": "october", "nov": "november",
          "dec": "december"}
_SHORTENED = "|".join(_SHORT)
_DAY = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_SAID_TIME = re.compile(rf"(?<![:.])\b(?:(?P<part>half|quarter)\s+(?P<side>past|to)\s+"
                        rf"(?P<h>{_HOUR})(?![:.]?\d)(?!\s+(?:{_UNIT}|{_MONTH}|{_DAY}|{_SHORTENED})s?\b)"
                        rf"|(?P<o>{_HOUR})\s+o'clock)\b", re.IGNORECASE)
_DATE_OPENERS = "on|this|next|last|every|by|until|till|from|before|after|in|of|to"
_SHORT_DATE = re.compile(rf"\b(?P<lead>(?:{_DATE_OPENERS}|\d{{1,2}})\s)(?P<short>{_SHORTENED})\b\.?"
                         rf"|\b(?P<before>{_SHORTENED})\.?(?= \d| (?:first|second|third|fourth|fifth)\b)",
                         re.IGNORECASE)


def _half_day(match: re.Match[str]) -> str:
    hour = int(match["h"]) % 12 + (12 if match["half"].lower() == "p" else 0)
    return f"{hour}:{match['m'] or '00'}"


def _said_time(match: re.Match[str]) -> str:
    if match["o"]:
        return f"{_hour(match['o'])}:00"
    hour = _hour(match["h"])
    if match["part"].lower() == "half":
        return f"{hour}:30"
    return f"{hour}:15" if match["side"].lower() == "past" else f"{(hour - 2) % 12 + 1}:45"


def _part_of_day(match: re.Match[str]) -> str:
    hour = _hour(match["h"] or match["hm"])
    if hour == 12 and (match["tonight"] or match["this"]):
        return match.group()  # midday or midnight: "12 tonight" is said both ways
    part = (match["part"] or match["this"] or "night").lower()
    # "12 at night" is midnight and "2 at night" two in the morning; "9 at night" is 9pm.
    morning = part == "morning" or (part == "night" and (hour == 12 or hour < 5))
    time = f"{match['lead'] or ''}{hour}:{match['m'] or '00'}{'am' if morning else 'pm'}"
    if match["tonight"]:
        return f"{time} tonight"
    return f"{time} this {part}" if match["this"] else time


def _hour(written: str) -> int:
    return _TWELVE[written.lower()] if written.lower() in _TWELVE else int(written)


_DAY_FIRST_ROUNDS = 32


def _day_first(text: str) -> str:
    """Each day of a month before its month, without "of" between ("the 1st of May", "May 1" and
    "1 May" alike). Moving one may set another beside a month ("Dec 2 Dec 2"), so until nothing
    moves; a bounded number of rounds, each a linear pass."""
    for _ in range(_DAY_FIRST_ROUNDS):
        moved = _DAY_OF_MONTH.sub(lambda m: m["n"] or f"{m['m']} {m['month']}", text)
        if moved == text:
            break
        text = moved
    return _DAY_OF.sub(r"\g<n> ", text)


def _whole_date(match: re.Match[str]) -> str:
    return (match["lead"] or "") + _SHORT[(match["short"] or match["before"]).lower()]


def _every(match: re.Match[str]) -> str:
    count = str(_TWELVE.get(match["n"].lower(), match["n"].lower()))
    return _EVERY_AS.get((count, match["unit"].lower()), match[0])


def _rate(match: re.Match[str]) -> str:
    if match["every"]:
        return _RATES[match["every"].lower()]
    if match["slash"]:
        return " " + _RATES[match["slash"].lower()]
    return f"{match['count']}{match['money'] or ''} {_RATES[match['a'].lower()]}"


def _year_in_words(match: re.Match[str]) -> str:
    century = {**_TEENS, "twenty": 20}[match["century"].lower()]
    return str(century * 100 + _TENS[match["tens"].lower()] + _UNITS.get((match["unit"] or "").lower(), 0))


# Another measure of weight in the question makes "in a pound" one too ("How many ounces are in a
# pound?"; "grams ... for a pound" is still a price).
_WEIGHTS = r"ounces?|oz|kilos?|kilograms?|kg|grams?|g|stones?"  # other than the pound
_OTHER_WEIGHT = re.compile(rf"\b(?:lbs?|{_WEIGHTS})\b", re.IGNORECASE)
_WEIGHED_IN = re.compile(r"\b(?:in|per|into|to)\s+$", re.IGNORECASE)
# "10 pounds in kg": pounds converted to another weight are a weight
_INTO_WEIGHT = re.compile(rf"\s+(?:in|to|into)\s+(?:{_WEIGHTS})\b", re.IGNORECASE)


def _pound_weight(match: re.Match[str], weighed: bool) -> str:
    within = weighed and bool(_WEIGHED_IN.search(match.string[max(0, match.start() - 8):match.start()])
                              or _INTO_WEIGHT.match(match.string, match.end()))
    if not (match["verb"] or match["of"] or within):
        return match[0]
    return f"{match['verb'] or ''}{_digits(_count(match['n']))} lb{match['of'] or ''}"


def _period_at_end(match: re.Match[str]) -> str:
    if match["before"].lower() in _LENGTH_BEFORE:
        return match[0]
    return f"{match['before']} {_RATES[match['a'].lower()]}"


def _length(match: re.Match[str]) -> str:
    written, unit = match["n"].lower(), match["unit"].lower()
    if unit in _ABBREVIATIONS and not written[0].isdigit():
        return match[0]
    count = _count(written) + 0.5 * (bool(match["half1"]) + bool(match["half2"]))
    if unit in _MINUTES:
        total, family = count * _MINUTES[unit], "minutes"
    else:
        total, family = count * _MONTHS[unit], "months"
    return _digits(total) + " " + family


def _digits(value: float) -> str:
    return f"{round(value, 3):f}".rstrip("0").rstrip(".")


def _count(written: str) -> float:
    """A count as :data:`_COUNT` matched it: in digits or in words."""
    low = " ".join(written.lower().split())
    return _COUNTS[low] if low in _COUNTS else float(low)


def _scaled(match: re.Match[str]) -> str:
    """"three thousand", "one hundred and eighty": the number in digits."""
    value = _count(match["n"])
    for scale in re.split(r"[\s-]+", match["scales"].strip(" -")):
        value *= _SCALES[scale.lower()]
    if match["rest"]:
        value += _count(match["rest"])
    return _digits(value) if value <= _LARGEST else match[0]


# "the first year" is the first 12 months, "the first week" the first 7 days ("the first day" of a
# month is a date).
_FIRST_PERIOD = re.compile(r"\bfirst (?=(?:week|fortnight|month|year)\b)", re.IGNORECASE)


# Fractions in one character ("½", "1¾") as decimals, as "half" and "one and a half" are read; one
# written with the fraction slash ("1⁄2") as with a slash.
_VULGAR = re.compile(r"(?<![\d.])(?:(?P<whole>\d{1,6})\s?)?(?P<fraction>[\u00bc-\u00be\u2150-\u215e\u2189])")
_FRACTION_SLASH = re.compile(r"(?<=\d)\u2044(?=\d)")


def _vulgar(match: re.Match[str]) -> str:
    return _digits(float(match["whole"] or 0) + unicodedata.numeric(match["fraction"]))


def _age(match: re.Match[str]) -> str:
    said = " ".join((match["n"] or match["m"]).lower().replace("-", " ").split())
    if said.isdigit():
        return said
    tens, _, unit = said.partition(" ")
    return str(_SMALL[tens] + _UNITS.get(unit, 0))


def _scale_letter(match: re.Match[str]) -> str:
    if match["scale"]:
        return _SCALE_NAMES[match["scale"].lower()]
    return (match["letter"] or match["name"][0]).upper()


def _scales_joined(text: str) -> str:
    text = _SCALE_LETTER.sub(_scale_letter, text)
    return _SPACED_SCALE.sub(lambda m: m["letter"], text) if _SCALE_NAMED.search(text) else text


def canonical(text: str) -> str:
    """``text`` with its numbers, periods and rates written one way (see the module's docstring)."""
    text = _FRACTION_SLASH.sub("/", _VULGAR.sub(_vulgar, text))
    text = _AND_OVER.sub(lambda m: m["n"] + "+", _AGE.sub(_age, text))
    text = _RACE.sub(lambda m: f"{m['verb'] or ''}{m['n'] or m['m']} km", text)
    for pattern, replacement in _NAMED:
        text = pattern.sub(replacement, text)
    text = _SAID_TIME.sub(_said_time, text)
    text = _PART_OF_DAY.sub(_part_of_day, text)
    text = _HALF_DAY.sub(_half_day, text)
    text = _LEADING_ZERO.sub(lambda m: f"{m['h']}:{m['m']}", text)
    text = _YEAR_IN_WORDS.sub(_year_in_words, text)
    text = _COMPOUND.sub(lambda m: str(_TENS[m["tens"].lower()] + _UNITS[m["unit"].lower()]), text)
    text = _COUNT_JOINED.sub(lambda m: m["n"] + " ", text)
    text = _THOUSANDS.sub(lambda m: m["sign"] + _digits(float(m["n"]) * 1000), text)
    text = _SCALED.sub(_scaled, text)
    text = _AND_A_HALF.sub(lambda m: _digits(_count(m["n"]) + 0.5), text)
    text = _scales_joined(text)
    text = _PENNIES.sub(lambda m: m["amount"] + ("." + m["tenths"] if m["tenths"] else ""), text)
    text = _SHORT_DATE.sub(_whole_date, text)
    text = _day_first(text)
    text = _NUMBERED.sub(lambda m: f"{_ORDINALS[str(_UNITS.get(m['n'].lower(), m['n']))]} {m['what']}", text)
    text = _ORDINAL.sub(lambda m: _ORDINALS[m["n"]], text)
    text = _FIRST_PERIOD.sub("first 1 ", text)
    text = _TIMES.sub(lambda m: "x" + str(_TWELVE.get(m["n"].lower(), m["n"])), text)
    text = _EVERY.sub(_every, text)
    text = _HOW_MANY_TIMES.sub(lambda m: "how often " + _RATES[m["a"].lower()], text)
    text = _HOW_MANY_A.sub(lambda m: m["asked"] + _RATES[m["a"].lower()], text)
    text = _RATE.sub(_rate, text)
    if _QUANTITY_QUESTION.search(text):
        text = _RATE_AT_END.sub(lambda m: _RATES[m["a"].lower()], text)
    text = _A_PERIOD_AT_END.sub(_period_at_end, text)
    text = _LENGTH.sub(_length, text)
    text = _EVERY.sub(_every, text)  # a count of months a length just wrote ("every a year")
    text = _ONE_MEASURE.sub(lambda m: f"{_digits(_count(m['n']))} {m['unit']}", text)
    weighed = bool(_OTHER_WEIGHT.search(text))
    text = _POUND_WEIGHT.sub(lambda m: _pound_weight(m, weighed), text)
    return _day_first(_SHORT_DATE.sub(_whole_date, text))
