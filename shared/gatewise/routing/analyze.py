"""Query analysis: what kind of request this is, how hard, in what modality, in what language.

It runs on every call before anything else, so it is pure, deterministic and cheap: the text is
lower-cased and split into words once, and every word cue is a set lookup on those words or on
adjacent word pairs, not a regex tried at every position (the few regexes, for a quoted passage
and for numbers, are linear and run only when a language, a quantity question or a recency word
asks for them). Cues are weighted; a task's score is the sum of its distinct cues, with the
opening line counted twice because material pasted after it (an article to summarise, a table to
analyse) is not the request itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice, pairwise
from typing import TYPE_CHECKING, Any

from gatewise.config import TaskType
from gatewise.routing.difficulty import load_default as load_difficulty
from gatewise.routing.difficulty_cues import Wording, moved, wording
from gatewise.upstream.chat import PART_MODALITIES

if TYPE_CHECKING:
    from gatewise.upstream.openrouter import ChatResult

# Rough token estimate: ~4 characters per token for English prose, as most tokenizers give.
CHARS_PER_TOKEN = 4
IMAGE_TOKENS = 1_000  # typical vision-token cost of one image part

# Only the start and the end of a huge prompt are scanned: that is where the instruction sits, and
# it keeps the cost flat however much material is pasted in between.
_SCAN_HEAD = 1_536
_SCAN_TAIL = 512
_OPENING_CHARS = 200  # the opening line, up to this many characters, is scored twice
_WEB_THRESHOLD = 3  # one strong recency cue, or two weaker ones
_MAX_TURNS = 8  # user turns read, newest first: bounds the cost of a long conversation
_TURN_CACHE = 2_048  # turns remembered: a conversation's history is re-read on every call
_FOLLOW_UP_WORDS = 25  # after earlier turns, a message this short is a follow-up...
_SWITCH_SCORE = 8  # ...unless it names another task this clearly ("translate it into French")

T = TaskType
_LANGUAGE_NAMES = ("french, spanish, german, italian, japanese, chinese, korean, russian, arabic, hebrew, "
                   "dutch, polish, english, latin, turkish, greek, swedish, hindi")
# (task value, weight): scores are keyed by the plain string, which hashes far faster than the enum.
Cue = tuple[str, int]
_TEXT_TASKS = tuple(t.value for t in TaskType if t is not T.VISION)
_CODE, _MATH, _DATA, _SIMPLE, _REASONING, _WEB, _TRANSLATION = (t.value for t in (
    T.CODE_GENERATION, T.MATH, T.DATA_ANALYSIS, T.SIMPLE_QUERY, T.REASONING, T.WEB_SEARCH, T.TRANSLATION))
# Beside a quoted passage a language name asks for a translation; "polish" there is the verb
# ("Polish this sentence: '...'"), lower-cased like the language.
_LANGUAGES = frozenset(_LANGUAGE_NAMES.split(", ")) - {"polish"}
_PUZZLE_WORDS = 60
# Quantifiers of premises; "all" and "only" are left out as instructions use them ("in all the
# following", "only answer in JSON"). A negation makes a premise only beside "all" ("All cats are
# vaccinated. Whiskers is not."): on its own it is every complaint ("my order has not arrived").
_QUANTIFIERS = frozenset(["every", "none", "some", "each", "exactly", "neither", "nor"])
_NEGATIONS = frozenset(["no", "not", "never"])
# A quoted passage of a few words: with a language named, the text to translate. The passage
# holds no quote mark, so each try stops at the next one and a search is linear in the text (with
# opening marks allowed inside, a run of them made it quadratic: 25 ms a call on 2 KB).
_QUOTED = re.compile(r"['\"“‘«][^'\"“‘«”’»\n]{12,}['\"”’»]")
# The text a request is about, when it gives it: quoted after a colon ("Summarise this: '...'"), or
# pasted below the request's first line.
_GIVEN_TEXT = re.compile(r":\s*['\"“‘«「]")
_GIVEN_TEXT_CHARS = 80

# Per task, (weight, cues). A cue is a word, two adjacent words ("key points"), or, for scripts
# written without spaces, a substring ("翻译").
_SPEC: dict[TaskType, tuple[tuple[int, str], ...]] = {
    T.CODE_GENERATION: (
        (3, "regex, regexp, dockerfile, "
            "pytest, unittest, unit tests, compile, compiler, compiles, refactor, refactoring, "
            "debug, traceback, stacktrace, stack trace, typeerror, exception, function, functions, "
            "snippet, codebase, endpoint, coroutine, linked list, lru cache, thread safe, github actions, "
            "one liner, regular expression, shell script, cron, curl, "
            "función, fonction, funktion, skript, código, 代码, 函数, 脚本, 関数, コード, スクリプト"),
        (2, "code, script, bug, bugs, implement, implementation, handler, migration, cli, api, class, "
            "method, async, await, json, yaml, docker, kubernetes, query, compiled, program, "
            "programming, library, framework, module, deploy, lint, backoff, retry, workflow, "
            "component, repo, git, decode, parse, parser, variable, error, crash, 写一个"),
        (1, "algorithm, test, tests, fix, build, install, server, database, schema, app"),
    ),
    T.MATH: (
        (3, "solve, equation, equations, integrate, integral, derivative, differentiate, prove, proof, "
            "theorem, probability, eigenvalues, eigenvectors, determinant, factorial, gcd, lcm, "
            "simplify, closed form, induction, expected value, circumference, hypotenuse, "
            "algebra, geometry, trigonometry, calculus, polynomial, quadratic, divisible, divides, "
            "compounded, rule of, many ways, permutations, combinations, slope, integers, perfect square, "
            "perfect squares, infinitely many, modulo, dx, derive, derivation, irrational, square root, "
            "calcula, calcular, calcule, calculer, berechne, berechnen, résous, résoudre, resuelve, "
            "wahrscheinlichkeit, probabilidad, probabilité, ecuación, équation, gleichung, "
            # proving in other languages ("Beweisen Sie, dass ...", "Démontrez que ...", "证明 ...")
            "beweisen, zeige dass, herleiten, démontrez, démontrer, "
            "démontre, démonstration, prouvez, prouver, montrez que, montrer que, demuestra, demuestre, "
            "demostrar, demostración, pruebe que, dimostra, dimostrare, dimostrazione, "
            "unendlich viele, irrationnelle, irrationnel, irracional, "
            "quadratwurzel, racine carrée, raíz cuadrada, "
            "求, 极值, 方程, 概率, 割り切れ, 確率, 证明, 証明, 示せ, 推导, 導出, 无理数, 無理数"),
        (2, "calculate, compute, matrix, prime, limit, area, radius, cone, triangle, rectangle, circle, "
            "km, miles, mph, speed, distance, travels, add up, adds up, digits, digit, "
            "sphere, cylinder, chance, odds, dice, die, discount, percent, percentage, fraction, "
            "standard deviation, sum of, interest, formula, convert, celsius, fahrenheit, integer, "
            "remainder, natural numbers, real numbers, show that, primzahlen, nombres premiers, "
            "many different, many distinct, expected number, fair coin, fair die, coin flips, coin flip, "
            "coin toss, coin tosses, on average, "
            # "Beweise" is also the noun "evidence"
            "beweise, beweis, infinité, infinitos, "
            "números primos, 素数, 质数, "
            "área, aire, fläche, いくつ"),
        (1, "average, mean, ratio, roll"),
    ),
    T.DATA_ANALYSIS: (
        (3, "dataset, datasets, csv, spreadsheet, correlation, correlated, regression, "
            "outlier, outliers, seasonality, cohort, retention, funnel, drop off, kpi, kpis, nps, roi, "
            "segment, segmentation, cluster, clusters, dataframe, pandas, p95, percentile, "
            "uplift, a b, significant, significance, statistically, breakdown, break down, "
            "extract, extraction, entities, email addresses, phone numbers, pull out, classify, sentiment, "
            "datos, données, daten, tendencia, tendance, évolution, cifras, chiffres, umfrage, "
            "encuesta, enquête, 数据, 趋势, 增长, データ, アンケート, 満足度"),
        (2, "data, trend, trends, median, distribution, churn, conversion, conversions, metric, metrics, "
            "survey, analyse, analyze, analysis, analysing, analyzing, table, chart, plot, column, "
            "columns, forecast, revenue, sales, visits, visitors, sessions, dau, mau, readings, "
            "sensor, logs, margin, growth, quarter, week over, year on, year over, patterns, pattern, "
            "interpret, noise, variance, precision, recall, threshold, false positives, anomaly, "
            "anomalies, analiza, analyser, analysiere, identify, ratings, "
            "rating, in json, as json, json list, list each, list every, list all, mentioned, mentions, "
            "hashtags, tally, 分析"),
        (1, "mean, average, rows, numbers, figures, compare, rate, rates, spend, users, customers, "
            "model, orders, q1, q2, q3, q4, describe, owner, deadline"),
    ),
    T.REASONING: (
        (3, "why, trade offs, tradeoffs, pros and, and cons, implications, consequences, second order, "
            "ethical, ethics, moral, steelman, critique, dilemma, would happen, it follow, logic, logical, "
            "puzzle, riddle, syllogism, deduce, fallacy, difference between, conclude, infer, inference, "
            "clues, premise, premises, what follows, exactly one, lying, brain teaser, trick question, "
            "reasoning, assumption, assumptions, argument, arguments, argue, "
            "pourquoi, warum, wieso, weshalb, razonamiento, raisonnement, mécanisme, "
            "为什么, 原因, なぜ, 長所, 短所, 比较, 比較"),
        (2, "explain, reason, reasons, compare, decide, decision, strategy, prioritise, prioritize, "
            "evaluate, assess, think, causes, caused, cause, effects, should, fair, smarter, "
            "better, worth, risks, convincing, defensible, versus, vs, plan, consider, advice, "
            "how should, how does, how did, discuss, symbolism, significance, theme, themes, the truth, "
            "older than, younger than, taller than, shorter than, faster than, heavier than, suspects, "
            "liar, "
            "explica, explícalo, explique, erkläre, erklären, wäge, abwägen, comprendre, 考えて"),
        (1, "which, choose, option, options, approach, case, long term, resolve, strong, work"),
    ),
    T.SUMMARIZATION: (
        (3, "summarize, summarise, summarized, summarised, summarizing, summarising, summary, "
            "summaries, tl dr, tldr, gist, takeaways, key points, main points, condense, recap, "
            "nutshell, abstract, meeting minutes, the minutes, briefing, sum up, sum this, shorten, digest, "
            "action items, overview, "
            "resume, resumen, resumir, résumé, résume, résumer, zusammen, zusammenfassung, "
            "zusammenfassen, fasse, stichpunkten, stichpunkte, 总结, 概括, 摘要, 要約, まとめ"),
        (2, "bullets, bullet points, cut this, cut down, plain english, one line, sentences, "
            "agreed, agree, thread, transcript, notes, article, report, review, reviews, "
            "briefly, in under, pros and"),
        (1, "this text, following, below, short, shorter, main, key, paragraph, brief"),
    ),
    T.TRANSLATION: (
        (3, "translate, translation, translated, translating, translator, translations, localise, "
            "localize, localisation, localization, word for, "
            "in french, in spanish, in german, in italian, in japanese, in chinese, in mandarin, "
            "in korean, in portuguese, in russian, in arabic, in hebrew, in dutch, in polish, "
            "in english, in latin, in turkish, in greek, into french, into spanish, into german, "
            "into italian, into japanese, into chinese, into korean, into portuguese, into english, "
            "into dutch, into russian, into arabic, to french, to spanish, to german, to italian, "
            "to japanese, to chinese, to korean, to english, to dutch, portuguese, mandarin, "
            "traduce, traducir, traducción, traduis, traduire, traduction, übersetze, übersetzen, "
            "übersetzung, dit on, sagt man, al inglés, al francés, en español, en anglais, "
            "en espagnol, ins englische, auf japanisch, auf englisch, "
            "翻译, 翻訳, 訳して, 英文, 英語で, 中文, 日本語で"),
        (2, "literally, native speaker, anglais, espagnol, inglés, francés, japanisch, englisch, "
            "englische, you say"),
        # A language named on its own ("the French Revolution") asks for no translation; beside a
        # quoted text it does (a shape cue below).
        (1, f"{_LANGUAGE_NAMES}, mean, means, render, motto, phrase, sign, strings"),
    ),
    T.CREATIVE_WRITING: (
        (3, "poem, poems, poetry, haiku, limerick, sonnet, lyrics, song, story, stories, tale, fable, "
            "novel, fiction, screenplay, monologue, eulogy, slogan, slogans, tagline, taglines, "
            "caption, jingle, rap, rhyme, bedtime, villain, protagonist, npc, toast, speech, "
            "dialogue, brainstorm, names for, of office, office message, linkedin post, love letter, "
            "product description, picture book, opening paragraph, sci fi, cyberpunk, noir, "
            "poema, poème, gedicht, cuento, histoire, geschichte, relato, chanson, canción, "
            "roleplay, role play, pretend, act as, in character, persona, embody, impersonate, "
            "you are now, blog post, essay, cover letter, wedding, "
            "picture yourself, yourself as, proofread, tweet, tweets, comedian, stand up, "
            "play the, imagine you, as if you were, diary, blurb, spice up, channel a, you note, sound more, "
            "emoji, emojis, "
            "诗, 故事, 小说, 物語, 詩, 小説"),
        (2, "write, rewrite, creative, character, characters, chapter, scene, invent, imagine, "
            "fantasy, pitch, tribute, verse, funny, humorous, witty, "
            "describe, continue, escribe, écris, schreib, 写, email, blog, persuasive, "
            "narrator, speak like, answer as, embrace, edit, polish, concise, formal, tone, "
            "flow, wording, reword, rephrase, paraphrase, grammar, craft, playful, confident, professional, "
            "headline, newsletter, announcement, upbeat, punchy, punch, stiff, friendly, friendlier"),
        (1, "ideas, names, post, letter, draft, compose, you re"),
    ),
    T.SIMPLE_QUERY: (
        (3, "synonym, another word, opposite, antonym, spell, pronounce, plural, stand for, "
            "define, definition, "
            # a support-desk question about the asker's own account and orders, and everyday
            # how-much-should-I advice: a quick answer, whatever topic words it holds
            "my account, my subscription, my order, my orders, my password, my invoice, my bill, "
            "my billing, my membership, my plan, my package, my parcel, my delivery, my refund, "
            "my card, my payment, my username, my profile, my app, my phone, unsubscribe, "
            "refund policy, return policy, order status, tracking number, mi cuenta, mon compte, "
            "mein konto, long should, much should, often should"),
        (2, "hi, hello, hey, thanks, thank, good morning, bonjour, hola, hallo, 你好, こんにちは, "
            "who wrote, who painted, capital, what year, how many, is a, "
            "shortcut, symbol, ok, cool, shorter, 一番"),
        (1, "what is, who is, what s, quick, what does, "
            "refund, refunds, shipping, delivery, warranty, cancel, cancellation, subscription, "
            "billing, invoice, invoices, password, kündigen, abo, contraseña, facturation, factura"),
    ),
    T.WEB_SEARCH: (
        (3, "latest, news, today, tonight, yesterday, right now, last week, the moment, updates on, "
            "most recent, newest, trending, weather, stock price, share price, exchange rate, "
            "who won, release date, headlines, this weekend, this week, "
            "look up, search for, search the, update on, any update, "
            # what the world's newest is, not how to update one's own
            "latest version, newest version, latest release, current version, current release, "
            "current president, current prime, current ceo, current champion, current leader, "
            "hoy, últimas, noticias, aujourd hui, actualités, dernières nouvelles, météo, heute, aktuell, "
            "nachrichten, wetter, 今天, 今日, 最新, 天气, 天気, 新闻, ニュース, 现在, 現在"),
        # "update", "online" and "live" on their own are mostly the asker's actions and ways ("how do
        # I update my app?", "can I cancel online?", "where do penguins live?"), not news; "gerade" is
        # also "even".
        (2, "current, currently, recent, recently, updates, this year, tomorrow, outage, outages, "
            "price, prices, bitcoin, announced, opening hours, as of, what happened, election, elections, "
            "élections, elecciones, wahlen, flights, leading, live score, live scores, live stream, "
            "live results, streaming, published, software update, new update, firmware update, "
            "security update, people saying, gerade, 价格, 価格"),
        (1, "find, search, who s, concerts, strike, markets, version, online"),
    ),
}
# Languages and frameworks name what code is about, and several named are one topic, so they count
# once; weighed against each other with no code asked for ("Is Python faster than Java?", "Kotlin
# vs Java for an Android app?") they are what a judgement is about, and count for nothing.
_CODE_NAME_SPEC: dict[TaskType, tuple[tuple[int, str], ...]] = {
    T.CODE_GENERATION: ((3, "python, javascript, typescript, golang, java, kotlin, c++, c#, sql, "
                            "bash, powershell, terraform, react, django, fastapi, flask, node, nodejs, "
                            "jquery, css, html, rust, swift, php, ruby, scala, perl, haskell, vue, angular, "
                            "numpy"),),
}
_COMPARISON_WORDS = frozenset(("than", "vs", "versus", "compared", "comparison"))
# Questions of quantity are maths only beside a calculation to do ("What is 15% of 240?", "How
# long does a train at 80 km/h take for 200 km?"): an order number, a price or a cooking time asked
# after is not one.
_QUANTITY_SPEC: dict[TaskType, tuple[tuple[int, str], ...]] = {
    T.MATH: ((2, "what is, how long, how much, how many"), (1, "cost, total, price")),
}
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_CALCULATION_NUMBERS = 2  # or one, with a unit or a percent sign ("How many miles is a 10k?")
_UNITS = frozenset(("km", "kilometres", "kilometers", "miles", "mile", "mph", "kg", "kilos", "lb", "lbs",
                    "pounds", "ounces", "oz", "grams", "cm", "mm", "metres", "meters", "feet", "ft", "inches",
                    "celsius", "fahrenheit", "litres", "liters", "gallons", "cups"))
_POSSESSIVES = frozenset(("my", "our", "your"))
# Words of recency (and a shop's hours and prices) that, bound to someone's own things, name an item.
_OWN_BOUND = frozenset(("latest", "newest", "current", "recent", "most", "last", "opening", "price", "prices",
                        "update", "updates"))
_OWNED_BY = frozenset(("of", "from", "on", "about", "for"))  # "the latest message from my boss"
_OWN_REACH = 3  # words before "from my" that may be the recency word
# The pairs an owner stands in when a recency word may be bound to it ("my latest", "from my"): a
# cheap test first, which also names the owners to look for.
_OWNING_PAIRS = frozenset((owner, word) for owner in _POSSESSIVES for word in _OWN_BOUND) | frozenset(
    (word, owner) for word in _OWNED_BY for owner in _POSSESSIVES)

# A short message made only of these is small talk ("how are you today?", "great, thanks!"): a
# simple query that asks for nothing fresh and takes no task from the conversation.
_SMALL_TALK = frozenset((
    "hi", "hello", "hey", "thanks", "thank", "you", "ok", "okay", "cool", "great", "perfect",
    "nice", "bye", "good", "morning", "evening", "night", "how", "are", "doing", "today", "cheers",
    "awesome", "got", "it", "that", "s", "all", "sounds", "see", "ya", "welcome", "there", "yes",
    "no", "sure", "much", "lot", "again", "wonderful", "excellent", "fine", "well", "done", "and",
    "i", "m", "am", "too"))
_SMALL_TALK_WORDS = 8

# Punctuation splits words, so "trade-offs" is the pair "trade offs" and "what's" is "what s".
_SPLIT = str.maketrans(dict.fromkeys(
    "!\"$%&'()*,-./:;<=>?@[\\]^`{|}~¿¡«»“”‘’…–—、。，：；？！「」（）【】・→←×÷", " "))

_SCRIPTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ja", re.compile(r"[\u3040-\u30ff]")),  # kana first: Japanese text also uses Han characters
    ("zh", re.compile(r"[\u4e00-\u9fff]")),
    ("ko", re.compile(r"[\uac00-\ud7af]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
)
# Function words per Latin-script language; another language must out-score English to be chosen.
_FUNCTION_WORDS: dict[str, frozenset[str]] = {code: frozenset(words.split()) for code, words in {
    "en": "the a an and is are of to in for on with what how this that it my me you your please i can be "
          "do does from at by about into why which who or we our",
    "es": "el los las del que qué por para una es con cómo cuál cuáles esto este esta más y hoy sobre al "
          "lo se su sus mi tu está están muy también pero",
    "fr": "le les des du est et une pour pourquoi comment quel quelle que qui dans sur ce cette avec ne "
          "pas tu je vous nous au aux il elle sont être ça",
    "de": "der die das und ist ein eine nicht mit für bitte wie was warum ich du wir sie im den dem des "
          "auf zu von über hat hier viele sich auch oder",
}.items()}
_ACCENTS: dict[str, str] = {"es": "ñ¿¡íóú", "fr": "çèàêâîôûœ«", "de": "äöüß"}


@dataclass(frozen=True, slots=True)
class ConversationFacts:
    """What the earlier turns say about the request: a follow-up is read in their light."""

    user_turns: int = 1
    established_task: TaskType | None = None  # the task the earlier turns set, if any
    inherited: bool = False  # the last message was a follow-up and took that task
    has_code: bool = False  # code (fenced, or code-shaped) anywhere in the conversation
    has_math: bool = False  # formulas or maths notation anywhere in the conversation


@dataclass(frozen=True, slots=True)
class QueryProfile:
    task: TaskType
    modalities: tuple[str, ...]
    needs_web: bool
    est_tokens_in: int
    language: str
    task_scores: dict[str, int]
    focus: str = field(default="", repr=False)  # the text the profile was read from (trimmed)
    conversation: ConversationFacts = field(default_factory=ConversationFacts)
    # The user turns read (trimmed), oldest first; the last is ``focus``.
    turns: tuple[str, ...] = field(default=(), repr=False)

    @property
    def has_image(self) -> bool:
        return "image" in self.modalities

    @property
    def complexity(self) -> float:
        """The difficulty estimate of the conversation's hardest user turn
        (gatewise.routing.difficulty): 0.5 + half the expected gain of a premium model over a cheap
        one, moved by what the turn's wording says (gatewise.routing.difficulty_cues: a proof is
        not routine, a unit conversion is). Estimated when first asked for, as most routes never
        weigh it; each turn's estimate is cached, as a conversation's history is read again on
        every call."""
        return max(self._difficulties())

    @property
    def difficulty_wording(self) -> Wording | None:
        """What the hardest user turn's wording says of its difficulty (routine, non-routine or
        nothing: gatewise.routing.difficulty_cues)."""
        turns = self.turns or (self.focus,)
        return _difficulty(turns[len(turns) - 1 - self.hardest_turns_ago])[1]

    @property
    def hardest_turns_ago(self) -> int:
        """The user turn with the highest difficulty estimate (0: the last)."""
        scores = self._difficulties()
        return len(scores) - 1 - max(range(len(scores)), key=scores.__getitem__)

    def _difficulties(self) -> list[float]:
        return [_difficulty(text)[0] for text in self.turns or (self.focus,)]


@dataclass(frozen=True, slots=True)
class _CueTable:
    """A cue spec as word, word-pair and substring (CJK) tables."""

    words: dict[str, list[Cue]]
    pairs: dict[tuple[str, str], list[Cue]]
    substrings: dict[str, list[Cue]]
    # Set-to-set intersection walks the smaller side; against a dict it would walk every cue.
    word_keys: frozenset[str]
    pair_keys: frozenset[tuple[str, str]]

    @classmethod
    def of(cls, spec: Mapping[TaskType, tuple[tuple[int, str], ...]]) -> _CueTable:
        words: dict[str, list[Cue]] = {}
        pairs: dict[tuple[str, str], list[Cue]] = {}
        substrings: dict[str, list[Cue]] = {}
        for task, levels in spec.items():
            for weight, cues in levels:
                for cue in cues.split(", "):
                    parts = cue.split()
                    if not cue.isascii() and any("\u3040" <= ch <= "\u9fff" for ch in cue):
                        substrings.setdefault(cue, []).append((task.value, weight))
                    elif len(parts) == 1:
                        words.setdefault(cue, []).append((task.value, weight))
                    else:
                        pairs.setdefault((parts[0], parts[1]), []).append((task.value, weight))
        return cls(words, pairs, substrings, frozenset(words), frozenset(pairs))

    def hits(self, words: _Words) -> list[Cue]:
        found = [cue for word in words.found & self.word_keys for cue in self.words[word]]
        found += [cue for pair in words.pairs & self.pair_keys for cue in self.pairs[pair]]
        if not words.low.isascii():
            found += [cue for sub, cues in self.substrings.items() if sub in words.low for cue in cues]
        return found


_CUES = _CueTable.of(_SPEC)
_CODE_NAMES = _CueTable.of(_CODE_NAME_SPEC)
# The words and pairs that ask for code (a weight above the weakest: "app" or "server" ask for none).
_CODE_ASKS = frozenset(cue for table in (_CUES.words, _CUES.pairs) for cue, hits in table.items()
                       if any(task == _CODE and weight >= 2 for task, weight in hits))
_QUANTITY_CUES = _CueTable.of(_QUANTITY_SPEC)


def _text_and_media(content: object, modalities: set[str]) -> tuple[str, int]:
    """The text of one message's content, its image count; its media kinds go into ``modalities``."""
    if isinstance(content, str):
        return content, 0
    if not isinstance(content, list):
        return "", 0
    chunks, images = [], 0
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        modality = PART_MODALITIES.get(kind) if isinstance(kind, str) else None
        if modality == "text":
            chunks.append(str(part.get("text", "")))
        elif modality is not None:
            modalities.add(modality)
            images += modality == "image"
    return "\n".join(chunks), images


def message_text(messages: Sequence[Mapping[str, Any]]) -> tuple[str, str, tuple[str, ...], int]:
    """(all text, last user text, modalities, image count) of a chat message list."""
    parts: list[str] = []
    last_user = ""
    modalities = {"text"}
    images = 0
    for message in messages:
        text, count = _text_and_media(message.get("content"), modalities)
        images += count
        parts.append(text)
        parts += _tool_call_texts(message)
        if message.get("role") == "user":
            last_user = text
    return "\n".join(parts), last_user, tuple(sorted(modalities)), images


def _tool_call_texts(message: Mapping[str, Any]) -> list[str]:
    """The function names and arguments of an assistant turn's tool calls: sent, so counted in
    the prompt's size and tokens, though no user wrote them."""
    calls = message.get("tool_calls")
    if not isinstance(calls, list):
        return []
    functions = [call.get("function") for call in calls if isinstance(call, dict)]
    return [f"{function.get('name', '')} {function.get('arguments', '')}"
            for function in functions if isinstance(function, dict)]


def estimated_tokens(text: str, images: int = 0) -> int:
    """Tokens of a text (and its image parts) by the usual rule of thumb, for when none were counted."""
    return len(text) // CHARS_PER_TOKEN + 1 + images * IMAGE_TOKENS


def count_unknown_tokens(result: ChatResult, messages: Sequence[Mapping[str, Any]]) -> None:
    """Give an answer whose upstream sent no plausible token counts estimated ones, from the
    messages sent and the answer's text, so its cost and the ledger never rest on a count of 0."""
    if "prompt_tokens" in result.unknown_tokens:
        full, _, _, images = message_text(messages)
        result.tokens_in = estimated_tokens(full, images)
    if "completion_tokens" in result.unknown_tokens:
        result.tokens_out = estimated_tokens(result.content)


def user_turns(messages: Sequence[Mapping[str, Any]]) -> list[str]:
    """The text of every user message, oldest first (media parts left out)."""
    ignored: set[str] = set()
    return [_text_and_media(m.get("content"), ignored)[0] for m in messages if m.get("role") == "user"]


@dataclass(frozen=True, slots=True)
class _Words:
    """One tokenisation of a text, shared by every signal."""

    low: str
    n_words: int
    found: set[str]
    pairs: set[tuple[str, str]]

    @classmethod
    def of(cls, text: str) -> _Words:
        low = text.lower()
        tokens = low.translate(_SPLIT).split()
        found, pairs = set(tokens), set(pairwise(tokens))
        owning = pairs & _OWNING_PAIRS
        if owning and not found.isdisjoint(_OWN_BOUND):
            kept = _without_own_recency(tokens, owning)
            if len(kept) < len(tokens):
                found, pairs = set(kept), set(pairwise(kept))
        return cls(low, len(tokens), found, pairs)

    def cues(self) -> list[Cue]:
        """The task cues found; those of a quantity question only beside a calculation to do."""
        found = _CUES.hits(self)
        if self.found.isdisjoint(_COMPARISON_WORDS) or self.asks_for_code():
            found += _CODE_NAMES.hits(self)[:1]
        if self.has_calculation():
            found += _QUANTITY_CUES.hits(self)
        return found

    def asks_for_code(self) -> bool:
        return not (self.found.isdisjoint(_CODE_ASKS) and self.pairs.isdisjoint(_CODE_ASKS))

    def has_calculation(self) -> bool:
        """Two numbers, or one with a unit or a percent sign (read only beside a quantity question)."""
        quantities = _QUANTITY_CUES
        if self.found.isdisjoint(quantities.word_keys) and self.pairs.isdisjoint(quantities.pair_keys):
            return False
        numbers = sum(1 for _ in islice(_NUMBER.finditer(self.low), _CALCULATION_NUMBERS))
        return numbers >= _CALCULATION_NUMBERS or (
            numbers == 1 and ("%" in self.low or not self.found.isdisjoint(_UNITS)))


def _without_own_recency(tokens: list[str], owning: set[tuple[str, str]]) -> list[str]:
    """The words less those that read as recency but are bound to the asker's (or the addressee's)
    own things: "my latest invoice", "the latest message from my boss", "your opening hours" say
    which of their items is meant, not that the world has news. ``owning``: the text's pairs in
    which an owner may hold one."""
    drop: set[int] = set()
    for i in _positions(tokens, {word for pair in owning for word in pair if word in _POSSESSIVES}):
        after = i + 1 + (tokens[i + 1:i + 3] == ["most", "recent"])  # "my most recent order"
        if after < len(tokens) and tokens[after] in _OWN_BOUND:
            drop.update(range(i + 1, after + 1))
        if i and tokens[i - 1] in _OWNED_BY:
            drop.update(j for j in range(max(i - 1 - _OWN_REACH, 0), i - 1) if tokens[j] in _OWN_BOUND)
    return [token for i, token in enumerate(tokens) if i not in drop] if drop else tokens


def _positions(tokens: list[str], wanted: Iterable[str]) -> Iterator[int]:
    """Where the wanted words stand, found by list.index (a C loop) rather than a walk in Python."""
    for word in wanted:
        at = -1
        while True:
            try:
                at = tokens.index(word, at + 1)
            except ValueError:
                break
            yield at


@dataclass(frozen=True, slots=True)
class _Turn:
    """One user turn read on its own; cached, since each call of a conversation re-reads its history."""

    scores: Mapping[str, int]
    web: int
    task: TaskType  # its own task, before any inheritance
    best_score: int
    n_words: int
    has_code: bool
    has_math: bool
    language: str
    small_talk: bool


def _trim(text: str) -> str:
    if len(text) > _SCAN_HEAD + _SCAN_TAIL:
        return text[:_SCAN_HEAD] + "\n" + text[-_SCAN_TAIL:]
    return text


@lru_cache(maxsize=_TURN_CACHE)
def _read_turn(text: str) -> _Turn:
    words = _Words.of(text)
    shape_cues = list(_shape_cues(words, text))
    scores, web = _task_scores(words, text, shape_cues)
    shapes = {task for task, _ in shape_cues}
    small_talk = 0 < words.n_words <= _SMALL_TALK_WORDS and words.found <= _SMALL_TALK
    task = T.SIMPLE_QUERY if small_talk else _pick_task(scores, text)
    return _Turn(scores, 0 if small_talk else web, task, scores[task.value], words.n_words,
                 has_code=_CODE in shapes or task is T.CODE_GENERATION,
                 has_math=_MATH in shapes or task is T.MATH, language=_language(words), small_talk=small_talk)


def _request_before_given_text(text: str) -> str | None:
    """The request's own words when it carries the text it is about (quoted after a colon, or
    pasted below it); None when it carries none."""
    quoted = _GIVEN_TEXT.search(text)
    if quoted is not None:
        return text[:quoted.start()]
    request, newline, rest = text.partition("\n")
    return request if newline and len(rest.strip()) >= _GIVEN_TEXT_CHARS else None


def forget_turns() -> None:
    """Empty the per-turn caches (benches time a first reading with it)."""
    _read_turn.cache_clear()
    _difficulty.cache_clear()


@lru_cache(maxsize=_TURN_CACHE)
def _difficulty(text: str) -> tuple[float, Wording | None]:
    """A turn's estimate, moved by its wording, and that wording: read once for both."""
    said = wording(text)
    return round(moved(load_difficulty().score(text), said), 3), said


def _effective_tasks(turns: Sequence[_Turn]) -> list[tuple[TaskType, bool]]:
    """Each turn's task and whether it inherited it: a short follow-up that names no other task
    clearly ("now make it handle unicode", "why?") keeps the task the conversation set."""
    out: list[tuple[TaskType, bool]] = []
    for i, turn in enumerate(turns):
        established = out[-1][0] if i else None
        follow_up = (established is not None and established is not T.SIMPLE_QUERY
                     and not turn.small_talk and turn.n_words <= _FOLLOW_UP_WORDS
                     and (turn.best_score < _SWITCH_SCORE or turn.task is T.SIMPLE_QUERY))
        out.append((established, True) if follow_up and established is not None else (turn.task, False))
    return out


def analyze(messages: Sequence[Mapping[str, Any]], task_hint: TaskType | None = None) -> QueryProfile:
    """The request read as the last turn of its conversation (the whole list when no user turn)."""
    full, _, modalities, images = message_text(messages)
    every_turn = user_turns(messages)
    texts = [_trim(t) for t in every_turn[-_MAX_TURNS:] if t.strip()] or [_trim(full)]
    turns = [_read_turn(t) for t in texts]
    tasks = _effective_tasks(turns)
    if task_hint is not None:
        task = task_hint
    elif "image" in modalities:
        task = TaskType.VISION
    else:
        task = tasks[-1][0]
    tasks[-1] = (task, tasks[-1][1] and task is tasks[-1][0])
    tokens = estimated_tokens(full, images)
    conversation = ConversationFacts(
        user_turns=max(len(every_turn), 1),
        established_task=tasks[-2][0] if len(tasks) > 1 else None,
        inherited=tasks[-1][1],
        has_code=any(t.has_code for t in turns),
        has_math=any(t.has_math for t in turns),
    )
    last = turns[-1]
    return QueryProfile(
        task=task,
        modalities=modalities,
        needs_web=last.web >= _WEB_THRESHOLD or task is TaskType.WEB_SEARCH,
        est_tokens_in=tokens,
        language=last.language,
        task_scores=dict(last.scores),
        focus=texts[-1],
        conversation=conversation,
        turns=tuple(texts),
    )


def _task_scores(words: _Words, text: str, shape_cues: list[Cue]) -> tuple[dict[str, int], int]:
    """Per-task scores, and the web (recency) score of the text's words alone (none when the text
    carries what it is about)."""
    scores = dict.fromkeys(_TEXT_TASKS, 0)
    web = 0
    for task, weight in words.cues():
        scores[task] += weight
        if task == _WEB and weight >= 2:  # recency cues, not bare "find" or "search"
            web += weight
    opening = text[:_OPENING_CHARS].split("\n", 1)[0]
    opening_cues = _Words.of(opening).cues()
    for task, weight in opening_cues:
        scores[task] += weight
    for task, weight in shape_cues:
        scores[task] += weight
    request = _request_before_given_text(text) if scores[_WEB] else None
    if request is not None:
        # Recency words in or beside a text the request gives ("summarise this latest memo:
        # '... today ...'") are about that text: only the request's own words may ask for a search,
        # and the request then needs the web only as a web search.
        request_cues = opening_cues if request == opening else _Words.of(request).cues()
        scores[_WEB] = 2 * sum(weight for task, weight in request_cues if task == _WEB)
        web = 0
    return scores, web


def _shape_cues(words: _Words, text: str) -> Iterator[Cue]:
    """Cues from the text's shape rather than its words: code and SQL syntax, formulas, tables, a
    quoted passage beside a language name, a puzzle's premises, length."""
    low = words.low
    braces = low.count("{") + low.count("}")
    if low.count("`") >= 3:
        yield _CODE, 4
    if braces >= 2:
        yield _CODE, 2
    if low.count(";") >= 2 or "=>" in low or "def " in low or "::" in low:
        yield _CODE, 2
    # SQL as it is written, in capitals: lower-cased, "select from" is as often a shopper's words
    # ("can I select from several addresses?").
    if "select * from" in low or ("SELECT " in text and " FROM " in text):
        yield _CODE, 4
    if any(ch in low for ch in "^²³√∫π∑÷") or ("=" in low and not braces):
        yield _MATH, 3
    if sum(map(low.count, "0123456789")) >= 24 or low.count("%") >= 3:
        yield _DATA, 3
    if low.count("|") >= 6:
        yield _DATA, 3
    if not words.found.isdisjoint(_LANGUAGES) and _QUOTED.search(low):
        yield _TRANSLATION, 3
    if _is_puzzle(words):
        yield _REASONING, 4
    if words.n_words <= 8:
        yield _SIMPLE, 2
    elif words.n_words <= 14:
        yield _SIMPLE, 1
    elif words.n_words >= 25:
        yield _REASONING, 1


def _is_puzzle(words: _Words) -> bool:
    """Premises, then a question about them, in few words, with a quantifier, or "all" and a
    negation ("Every student in the club plays chess. Maya does not play chess. Is Maya in the
    club?"): a deduction, however plain its words."""
    low, found = words.low, words.found
    return (words.n_words <= _PUZZLE_WORDS and low.rstrip().endswith("?") and low.count(". ") >= 2
            and (not found.isdisjoint(_QUANTIFIERS) or ("all" in found and not found.isdisjoint(_NEGATIONS))))


# On equal scores the more specific task wins.
_PRIORITY = {t.value: -i for i, t in enumerate((
    T.TRANSLATION, T.SUMMARIZATION, T.CREATIVE_WRITING, T.MATH, T.CODE_GENERATION, T.DATA_ANALYSIS,
    T.WEB_SEARCH, T.REASONING, T.SIMPLE_QUERY))}


def _pick_task(scores: dict[str, int], text: str) -> TaskType:
    best_score, _, best = max((s, _PRIORITY[t], t) for t, s in scores.items())
    if best_score > 0:
        return TaskType(best)
    return TaskType.SIMPLE_QUERY if len(text) < 400 else TaskType.REASONING


def _language(words: _Words) -> str:
    if not words.low.isascii():
        for code, rx in _SCRIPTS:
            if rx.search(words.low):
                return code
    scores = {code: len(words.found & vocab) for code, vocab in _FUNCTION_WORDS.items()}
    for code, marks in _ACCENTS.items():
        scores[code] += 2 * sum(1 for ch in marks if ch in words.low)
    best = max(scores, key=lambda code: (scores[code], code == "en"))
    return best if scores[best] > scores["en"] and scores[best] >= 2 else "en"
