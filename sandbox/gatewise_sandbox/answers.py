"""Deterministic answers and token counts.

The answers are not meant to be clever, only recognisable and stable: the same messages to the
same model always give the same text, so tests can assert on it and benchmarks can be compared.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable, Iterable
from typing import Any

CHARS_PER_TOKEN = 4
MEDIA_PART_TOKENS = 85  # a fixed charge per image/audio/file part, whatever its size

# A number, then one or more (operator, number) pairs, with optional signs and brackets. Every
# repeat is bounded and a number's run of digits and spaces is atomic: unbounded, backtracking
# runs made each start in a long run of numbers without an operator ("1 1 1 …") scan to its
# end, quadratic in the run (a 100 KB prompt took minutes).
_ARITH = re.compile(
    r"[-+(]{0,8}\s{0,8}(?>\d[\d.,\s]{0,40})(?:\s{0,8}(?:\*\*|//|[-+*/%^x×÷])\s{0,8}[-+(]{0,8}\s{0,8}"
    r"\d[\d.,]{0,40}\s{0,8}\){0,8}){1,32}")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9']*")
_CODE_WORDS = re.compile(
    r"\b(code|function|script|program|implement|snippet|regex|class|method|sql query|"
    r"python|javascript|typescript|rust|golang|bash)\b", re.I)
_ASKED_TO_CALCULATE = re.compile(
    r"\b(what is|what's|compute|calculate|evaluate|solve|how much)\b|=", re.I)
_RANGE = re.compile(r"\d+(?:-\d+)+")
_TRANSLATE = re.compile(r"\btranslat(e|ion)\b", re.I)
_TARGET_LANGUAGE = re.compile(r"\b(?:into|to)\s+([A-Z][a-z]+)\b")
_SUMMARY = re.compile(r"\b(summari[sz]e|summary|tl;?dr|condense)\b", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_SOURCES = re.compile(r"^<sources>[ \t]*\n(.*?)^</sources>[ \t]*$", re.M | re.S)
_SOURCE_HEAD = re.compile(r"^\[(\d+)\][ \t]*(.*)$", re.M)
MAX_CITED_SOURCES = 8
_STOPWORDS = frozenset({
    "a", "an", "the", "to", "of", "in", "for", "on", "and", "or", "that", "which", "with",
    "write", "please", "me", "some", "code", "function", "script", "program", "implement",
    "snippet", "class", "method", "python", "javascript", "typescript", "rust", "golang",
    "bash", "sql", "query", "can", "you", "could", "would", "give", "short", "small", "simple",
    "create", "make", "return", "returns", "takes",
})

_LANGUAGES: tuple[tuple[str, str], ...] = (
    ("typescript", "typescript"), ("javascript", "javascript"), ("rust", "rust"),
    ("golang", "go"), ("bash", "bash"), ("shell", "bash"), ("sql", "sql"),
)

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}


def count_tokens(text: str) -> int:
    """About four characters a token, at least one: cheap and deterministic."""
    return max(1, math.ceil(len(text) / CHARS_PER_TOKEN))


def content_text(content: Any) -> tuple[str, int]:
    """A message's text and its number of non-text parts (content is a string or a part list)."""
    if isinstance(content, str):
        return content, 0
    if not isinstance(content, list):
        return "", 0
    texts: list[str] = []
    media = 0
    for part in content:
        if isinstance(part, dict) and part.get("type") == "text":
            texts.append(str(part.get("text") or ""))
        elif isinstance(part, dict):
            media += 1
    return "\n".join(texts), media


def prompt_tokens(messages: Iterable[dict[str, Any]], media_tokens: int | None = None) -> int:
    """Text tokens plus the non-text parts: measured when known, else a fixed charge each."""
    texts: list[str] = []
    media = 0
    for message in messages:
        text, parts = content_text(message.get("content"))
        texts.append(text)
        media += parts
    extra = media * MEDIA_PART_TOKENS if media_tokens is None else media_tokens
    return count_tokens("\n".join(texts)) + extra


def last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return content_text(message.get("content"))[0].strip()
    return content_text(messages[-1].get("content"))[0].strip() if messages else ""


def marker(model: str) -> str:
    return f"[sandbox · {model}] "


def answer(model: str, messages: list[dict[str, Any]], notes: tuple[str, ...] = ()) -> str:
    """The sandbox's reply: a marker naming the model, notes on any media, then a reply shaped
    by the request. A Llama Guard model answers in its own format instead."""
    if "llama-guard" in model.lower():
        return guard_verdict(messages)
    prompt = last_user_text(messages)
    return marker(model) + "".join(note + " " for note in notes) + _reply(prompt)


def guard_verdict(messages: list[dict[str, Any]]) -> str:
    """``safe``, or ``unsafe`` and the hazard codes on a second line, for the last turn, as
    judged by the local safety lexicon (medium or high severity)."""
    from gatewise.guardrails.moderation import llama_guard_answer
    from gatewise.guardrails.safety import scan
    from gatewise.guardrails.texts import TextRef

    text = content_text(messages[-1].get("content"))[0] if messages else ""
    return llama_guard_answer([hit.category for hit in scan(TextRef(text)) if hit.severity >= 2])


def sentences(text: str) -> list[str]:
    """The text split after ``.``, ``!`` or ``?`` where a new sentence visibly starts."""
    return [part for part in _SENTENCE_END.split(text.strip()) if part]


def sources(prompt: str) -> list[tuple[int, str, str]]:
    """``(number, title, excerpt)`` of each ``[n] title / URL: … / excerpt`` entry in the
    prompt's ``<sources>`` block."""
    block = _SOURCES.search(prompt)
    if block is None:
        return []
    body = block.group(1)
    heads = list(_SOURCE_HEAD.finditer(body))
    found: list[tuple[int, str, str]] = []
    for head, following in zip(heads, [*heads[1:], None], strict=False):  # the last head has none
        entry = body[head.end():following.start() if following else len(body)]
        lines = [line.strip() for line in entry.splitlines()]
        excerpt = " ".join(line for line in lines if line and not line.startswith("URL:"))
        found.append((int(head.group(1)), head.group(2).strip(), excerpt))
    return found


def truncate(text: str, max_tokens: int) -> str:
    """The first ``max_tokens`` tokens' worth of text."""
    return text[: max_tokens * CHARS_PER_TOKEN]


def _reply(prompt: str) -> str:
    """Pick the reply kind: translation, summary and code requests win over stray numbers."""
    if not prompt:
        return "(empty prompt) This is a deterministic sandbox reply; no model was called."
    if cited := sources(prompt):
        return _synthesis(cited)
    if _TRANSLATE.search(prompt):
        target = _TARGET_LANGUAGE.search(prompt)
        into = f" into {target.group(1)}" if target else ""
        return (f"Translation{into} (sandbox stand-in, not a real translation): "
                f"{shorten(_body(prompt))}")
    if _SUMMARY.search(prompt):
        return f"Summary (sandbox stand-in): {shorten(_body(prompt), 20)}"
    if _CODE_WORDS.search(prompt):
        return _code(prompt)
    if (arithmetic := _arithmetic(prompt)) is not None:
        expression, value = arithmetic
        return f"{expression} = {value}"
    return (f'You asked: "{shorten(prompt, 16)}". '
            "This is a deterministic sandbox reply; no model was called.")


def _synthesis(cited: list[tuple[int, str, str]]) -> str:
    """One sentence per source, each followed by its number, as a grounded answer reads."""
    parts = []
    for number, title, excerpt in cited[:MAX_CITED_SOURCES]:
        lead = (sentences(excerpt) or [title])[0]
        parts.append(f"{lead} [{number}]")
    return " ".join(parts)


def shorten(text: str, words: int = 12) -> str:
    parts = text.split()
    short = " ".join(parts[:words])
    return short + (" …" if len(parts) > words else "")


def _body(prompt: str) -> str:
    """The text to work on: what follows the first colon or newline, else the whole prompt."""
    for sep in (":\n", ":", "\n"):
        head, found, tail = prompt.partition(sep)
        if found and tail.strip() and len(head) < 200:
            return tail.strip()
    return prompt


def _arithmetic(prompt: str) -> tuple[str, str] | None:
    asked = _ASKED_TO_CALCULATE.search(prompt) is not None
    for match in _ARITH.finditer(prompt):
        expression = match.group(0).strip().rstrip("+-*/%^x×÷ ").strip()
        if not asked and _RANGE.fullmatch(expression):
            continue  # "2024-2025" or "3-4 apples" is a range or a date, not a subtraction
        value = _evaluate(expression)
        if value is not None:
            return expression, value
    return None


def _evaluate(expression: str) -> str | None:
    source = (expression.replace("×", "*").replace("÷", "/").replace("^", "**")
              .replace("x", "*").replace(",", ""))
    source = source.lstrip("+")
    try:
        tree = ast.parse(source, mode="eval")
        value = _eval_node(tree.body)
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError, TypeError):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.10g}"
    return str(value)


def _eval_node(node: ast.expr) -> int | float:
    """Numbers and + - * / // % ** only; exponents are kept small so nothing runs away."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) \
            and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = _eval_node(node.operand)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval_node(node.left), _eval_node(node.right)
        if isinstance(node.op, ast.Pow) and (abs(right) > 64 or abs(left) > 10**6):
            raise ValueError("exponent too large")
        result: int | float | complex = _BINARY[type(node.op)](left, right)
        if isinstance(result, complex) or abs(result) > 10**30:
            raise ValueError("result out of range")
        return result
    raise ValueError("not arithmetic")


def _code(prompt: str) -> str:
    lowered = prompt.lower()
    language = next((lang for word, lang in _LANGUAGES if word in lowered), "python")
    words = [w.lower() for w in _WORD.findall(prompt) if w.lower() not in _STOPWORDS]
    name = "_".join(words[:3]) or "solution"
    summary = shorten(prompt, 10).replace('"', "'")
    templates = {
        "python": f'def {name}(*args):\n    """{summary}"""\n    return "sandbox"\n',
        "javascript": (f"// {summary}\nfunction {_camel(name)}(...args) "
                       "{\n  return 'sandbox';\n}\n"),
        "typescript": (f"// {summary}\nexport function {_camel(name)}(...args: unknown[]): string "
                       "{\n  return 'sandbox';\n}\n"),
        "rust": f'// {summary}\nfn {name}() -> &\'static str {{\n    "sandbox"\n}}\n',
        "go": f'// {summary}\nfunc {_camel(name)}() string {{\n\treturn "sandbox"\n}}\n',
        "bash": f"#!/usr/bin/env bash\n# {summary}\necho sandbox\n",
        "sql": f"-- {summary}\nSELECT 'sandbox' AS answer;\n",
    }
    return f"Here is a sketch:\n```{language}\n{templates[language]}```"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)
