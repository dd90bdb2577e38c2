"""Query analysis: what kind of request this is, how hard, in what modality, in what language.

Pure, fast and deterministic (precompiled patterns, one pass over the text per signal) because it
runs on every call before anything else.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gatewise.config import TaskType

# Rough token estimate: ~4 characters per token for English prose, as most tokenizers give.
CHARS_PER_TOKEN = 4
IMAGE_TOKENS = 1_000  # typical vision-token cost of one image part


def _rx(*words: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(words) + r")", re.IGNORECASE)


# Cues per task, strongest first; a task's score is its number of distinct matches.
_CUES: dict[TaskType, re.Pattern[str]] = {
    TaskType.CODE_GENERATION: _rx(
        r"code\b", r"function\b", r"python", r"javascript", r"typescript", r"java\b", r"rust\b",
        r"golang", r"c\+\+", r"sql\b", r"regex", r"bug\b", r"debug", r"refactor", r"compile",
        r"stack ?trace", r"implement", r"api\b", r"class\b", r"unit tests?", r"script\b",
        r"def ", r"import ", r"```", r"bash\b", r"html\b", r"css\b", r"algorithm",
    ),
    TaskType.MATH: _rx(
        r"calculate", r"compute", r"solve", r"equation", r"integral", r"derivative", r"prove",
        r"theorem", r"probability", r"how many", r"how much", r"percent", r"sum of",
        r"\d+\s*[\+\-\*/\^x×÷]\s*\d+", r"algebra", r"geometry", r"matrix", r"factorial",
    ),
    TaskType.DATA_ANALYSIS: _rx(
        r"analy[sz]e", r"dataset", r"data set", r"csv\b", r"table\b", r"trend", r"statistic",
        r"correlat", r"regression", r"average", r"median", r"chart", r"metrics?", r"kpi",
        r"spreadsheet", r"forecast", r"distribution", r"pandas", r"dataframe",
    ),
    TaskType.REASONING: _rx(
        r"why\b", r"explain", r"reason", r"compare", r"trade-?offs?", r"pros and cons",
        r"evaluate", r"argue", r"implications?", r"strategy", r"decide", r"step by step",
        r"logic", r"puzzle", r"what would happen", r"design\b", r"architecture", r"assess",
    ),
    TaskType.SUMMARIZATION: _rx(
        r"summari[sz]e", r"summary", r"tl;?dr", r"key points", r"condense", r"bullet points",
        r"in short", r"brief overview", r"recap", r"abstract\b", r"main ideas",
    ),
    TaskType.TRANSLATION: _rx(
        r"translat", r"in (?:french|spanish|german|italian|japanese|chinese|korean|portuguese|"
        r"russian|arabic|hindi|dutch|english)", r"into (?:french|spanish|german|italian|japanese|"
        r"chinese|korean|portuguese|russian|arabic|hindi|dutch|english)",
    ),
    TaskType.CREATIVE_WRITING: _rx(
        r"poem", r"story", r"haiku", r"lyrics", r"novel", r"fiction", r"creative", r"slogan",
        r"tagline", r"screenplay", r"limerick", r"write a (?:song|tale|fable)", r"character",
        r"imagine", r"brainstorm",
    ),
    TaskType.WEB_SEARCH: _rx(
        r"latest", r"today", r"current(?:ly)?", r"this week", r"yesterday", r"news",
        r"recent(?:ly)?", r"right now", r"as of", r"stock price", r"weather", r"score of",
        r"who won", r"20[2-9]\d", r"search the web", r"look up", r"up-to-date",
    ),
}

_HARD = _rx(r"prove", r"rigorous", r"step by step", r"in depth", r"detailed", r"comprehensive",
            r"optimi[sz]e", r"complex", r"edge cases", r"multi-?step", r"architecture",
            r"trade-?offs?", r"derive", r"formal")
_EASY = _rx(r"quick", r"simple", r"briefly", r"one word", r"yes or no", r"short answer",
            r"define", r"what is", r"who is", r"hello", r"hi\b", r"thanks")

_SCRIPTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("zh", re.compile(r"[\u4e00-\u9fff]")),
    ("ja", re.compile(r"[\u3040-\u30ff]")),
    ("ko", re.compile(r"[\uac00-\ud7af]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
)
_LATIN_HINTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("es", _rx(r"qué", r"cómo", r"por favor", r"gracias", r"el\b", r"los\b", r"está")),
    ("fr", _rx(r"pourquoi", r"comment", r"s'il vous", r"merci", r"est-ce", r"les\b", r"être")),
    ("de", _rx(r"warum", r"bitte", r"danke", r"nicht", r"und\b", r"ist\b", r"können")),
)


@dataclass(frozen=True, slots=True)
class QueryProfile:
    task: TaskType
    complexity: float  # 0 (trivial) … 1 (hard)
    modalities: tuple[str, ...]
    needs_web: bool
    est_tokens_in: int
    language: str
    task_scores: dict[str, int]

    @property
    def has_image(self) -> bool:
        return "image" in self.modalities


def message_text(messages: Sequence[dict[str, Any]]) -> tuple[str, str, tuple[str, ...], int]:
    """(all text, last user text, modalities, image count) of a chat message list."""
    parts: list[str] = []
    last_user = ""
    modalities = {"text"}
    images = 0
    for message in messages:
        content = message.get("content")
        text = ""
        if isinstance(content, str):
            text = content
        elif isinstance(content, list):
            chunks = []
            for part in content:
                kind = part.get("type") if isinstance(part, dict) else None
                if kind == "text":
                    chunks.append(str(part.get("text", "")))
                elif kind == "image_url":
                    modalities.add("image")
                    images += 1
                elif kind == "input_audio":
                    modalities.add("audio")
                elif kind in ("file", "video_url"):
                    modalities.add("file" if kind == "file" else "video")
            text = "\n".join(chunks)
        parts.append(text)
        if message.get("role") == "user":
            last_user = text
    return "\n".join(parts), last_user, tuple(sorted(modalities)), images


def analyze(messages: Sequence[dict[str, Any]], task_hint: TaskType | None = None) -> QueryProfile:
    full, last_user, modalities, images = message_text(messages)
    focus = last_user or full
    scores = {task.value: len({m.group(0).lower() for m in rx.finditer(focus)})
              for task, rx in _CUES.items()}
    needs_web = scores[TaskType.WEB_SEARCH.value] >= 1
    if task_hint is not None:
        task = task_hint
    elif "image" in modalities:
        task = TaskType.VISION
    else:
        task = _pick_task(scores, focus)
    tokens = len(full) // CHARS_PER_TOKEN + 1 + images * IMAGE_TOKENS
    return QueryProfile(
        task=task,
        complexity=_complexity(focus, scores, tokens),
        modalities=modalities,
        needs_web=needs_web,
        est_tokens_in=tokens,
        language=_language(focus),
        task_scores=scores,
    )


def _pick_task(scores: dict[str, int], text: str) -> TaskType:
    # Web cues only decide the task when nothing else does ("latest python release" is code).
    best = max((s, t) for t, s in scores.items() if t != TaskType.WEB_SEARCH.value)
    if best[0] > 0:
        return TaskType(best[1])
    if scores[TaskType.WEB_SEARCH.value] > 0:
        return TaskType.WEB_SEARCH
    return TaskType.SIMPLE_QUERY if len(text) < 400 else TaskType.REASONING


def _complexity(text: str, scores: dict[str, int], tokens: int) -> float:
    hard = len(_HARD.findall(text))
    easy = len(_EASY.findall(text))
    signals = sum(1 for s in scores.values() if s > 0)
    score = 0.25 + 0.12 * hard - 0.1 * easy + 0.05 * max(signals - 1, 0)
    score += min(tokens / 4000, 0.3)  # long prompts tend to be harder
    score += 0.1 * min(text.count("?"), 3) / 3
    return round(min(max(score, 0.0), 1.0), 3)


def _language(text: str) -> str:
    sample = text[:2000]
    for code, rx in _SCRIPTS:
        if rx.search(sample):
            return code
    best, hits = "en", 1
    for code, rx in _LATIN_HINTS:
        found = len(rx.findall(sample))
        if found > hits:
            best, hits = code, found
    return best
