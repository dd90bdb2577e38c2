"""Prompt-injection heuristics with a score and the evidence behind it.

Families: instruction overrides, role-play jailbreak frames, system-prompt exfiltration,
encoded payloads (base64, hex or ROT13 that decode to any of the others), tool-call hijacks
(fake tool-call JSON, chat-template control tokens, "send the conversation to …"), and hidden
text (Unicode tag characters). Each rule has a weight; the score is ``1 - Π(1 - w)`` over the
rules that fire, so independent signals add up.

Every pattern runs on the lower-cased normalised view, only when one of its trigger words (or,
for the token rules, one of the literals every match holds) is in the text, and uses bounded repeats
from a fixed start, so the time is linear in the input.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from gatewise.guardrails.normalize import Needle, View, needle, normalise
from gatewise.guardrails.pii import encoded_blobs
from gatewise.guardrails.texts import TextRef
from gatewise.guardrails.verdict import CheckResult

FLAG_AT = 0.5
BLOCK_AT = 0.8
_S = r"[^a-z0-9]{1,4}"  # what separates two words


def _gap(words: int) -> str:
    """Up to ``words`` filler words between two parts of a phrase."""
    return rf"(?:{_S}[a-z']{{1,20}}){{0,{words}}}{_S}"


@dataclass(frozen=True)
class _Rule:
    id: str
    family: str
    weight: float
    pattern: re.Pattern[str]
    triggers: frozenset[str]  # words one of which must be in the text
    also: frozenset[str] = frozenset()  # and, when set, one of these too
    holds: tuple[Needle, ...] = ()  # for a rule without words: one of these is in every match
    word_start: bool = False  # a match must begin where a word does (see _rule)

    def search(self, lower: str) -> re.Match[str] | None:
        """The first match, as the rule's pattern as written would find it."""
        pos = 0
        while (match := self.pattern.search(lower, pos)) is not None:
            start = match.start()
            if not self.word_start or start == 0 or not _is_word(lower[start - 1]):
                return match
            pos = start + 1
        return None


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _rule(id: str, family: str, weight: float, pattern: str, triggers: str = "", also: str = "",
          holds: tuple[str, ...] = ()) -> _Rule:
    """A rule whose every alternative begins with ``\\b`` and a word is compiled without those
    ``\\b``, and the boundary is checked at each match instead: the regex engine can then skip
    to the letters a match can begin with, about five times faster over text that does not
    match, instead of trying every position."""
    word_start = pattern.startswith(r"\b")
    if word_start:
        pattern = pattern[2:].replace(r"|\b", "|")
    return _Rule(id, family, weight, re.compile(pattern, re.MULTILINE), frozenset(triggers.split()),
                 frozenset(also.split()), tuple(map(needle, holds)), word_start)


_NOUNS = ("instruction instructions prompt prompts rules directions directives guidelines context "
          "commands constraints guardrails policies programming restrictions orders messages")


_OVERRIDE_VERBS = (r"(?:ignore|disregard|forget|override|overrule|bypass|skip|abandon|neglect|"
                   r"set aside|do not follow|don't follow|stop following|discard)")
_INSTRUCTIONS = (r"(?:instructions?|prompts?|rules|directions|directives|guidelines|context|"
                 r"commands|constraints|guardrails|policies|programming|restrictions|orders|"
                 r"messages)\b")
ENGLISH_RULES: tuple[_Rule, ...] = (
    _rule("override", "instruction_override", 0.85,
          rf"\b{_OVERRIDE_VERBS}{_gap(4)}(?:previous|prior|above|earlier|preceding|initial|"
          rf"original|former|system|existing|all|any|your|these|those|the)(?:{_S}[a-z']{{1,20}}){{0,2}}"
          rf"{_S}{_INSTRUCTIONS}",
          "ignore disregard forget override overrule bypass skip abandon neglect set do don't stop discard",
          _NOUNS),
    _rule("new_instructions", "instruction_override", 0.5,
          r"\b(?:new|updated|real|true|actual|revised) (?:instructions|task|objective|goal|orders)"
          r"(?: (?:are|is))?[ \t]{0,3}:",
          "new updated real true actual revised", "instructions task objective goal orders"),
    _rule("from_now_on", "instruction_override", 0.45,
          r"\bfrom now on,? (?:you (?:are|will|must|shall|should)|your (?:only )?(?:task|job|goal))",
          "from", "now"),
    _rule("dan", "roleplay_jailbreak", 0.9,
          r"\bdo anything now\b|\b(?:you are|you're|act as|pretend to be|become|enable) (?:now )?"
          r"(?:a |the )?dan\b", "anything dan", "now dan"),  # every match holds "now" or "dan"
    _rule("jailbreak_mode", "roleplay_jailbreak", 0.7,
          r"\b(?:god|jailbreak|jailbroken|unrestricted|unfiltered|uncensored|evil|chaos|opposite|"
          r"dude) mode\b", "mode"),
    _rule("developer_mode", "roleplay_jailbreak", 0.4,
          r"\b(?:developer|dev|debug|maintenance|sudo|admin) mode (?:enabled|activated|on)\b|"
          r"\b(?:enter|enable|activate|switch to) (?:developer|dev|debug|sudo|admin) mode\b", "mode"),
    _rule("you_are_now", "roleplay_jailbreak", 0.4,
          r"\byou are (?:now|no longer)\b|\byou have been (?:freed|liberated|jailbroken|unlocked)\b",
          "you", "now longer freed liberated jailbroken unlocked"),
    _rule("no_restrictions", "roleplay_jailbreak", 0.35,
          r"\b(?:without|with no|free (?:of|from)|not bound by|no longer bound by|ignoring) "
          r"(?:any |all |your |the )?(?:restrictions|limitations|filters|ethical guidelines|ethics|"
          r"morals|censorship|content polic(?:y|ies)|safety guidelines|safeguards|guardrails)\b",
          "without with free not no ignoring",
          "restrictions limitations filters ethical ethics morals censorship content safety safeguards "
          "guardrails"),
    _rule("no_ethics", "roleplay_jailbreak", 0.5,
          r"\bno (?:ethical|moral) (?:guidelines|restrictions|limits|boundaries|constraints)\b|"
          r"\bstay in character\b|\bjailbreak(?:ing|ed)?\b", "no stay jailbreak jailbreaking jailbroken"),
    _rule("exfiltrate_prompt", "prompt_exfiltration", 0.75,
          rf"\b(?:print|show|reveal|repeat|output|display|tell me|give me|share|leak|dump|write out|"
          rf"spell out|recite|disclose|what (?:is|are|was|were))(?:{_S}[a-z']{{1,20}}){{0,3}}{_S}"
          rf"(?:system|initial|original|hidden|secret|developer|internal|pre-?)(?:{_S}[a-z']{{1,20}})?"
          rf"{_S}?(?:prompt|instructions|message|directives|guidelines)\b",
          "print show reveal repeat output display tell give share leak dump write spell recite "
          "disclose what", "prompt instructions message directives guidelines"),
    _rule("repeat_above", "prompt_exfiltration", 0.75,
          r"\brepeat (?:the |all )?(?:words|text|everything|all|lines)(?: (?:written|that (?:are|were)))?"
          r" (?:above|before this|prior)\b|\bwhat (?:were|are) you (?:told|instructed|programmed) to\b",
          "repeat what", "above before prior told instructed programmed"),
    _rule("decode_and_follow", "encoded_payload", 0.6,
          rf"\b(?:decode|decipher|translate|convert|base64[- ]?decode)(?:{_S}[a-z0-9']{{1,20}}){{0,5}}"
          rf"{_S}(?:and|then)(?:{_S}[a-z']{{1,20}}){{0,2}}{_S}(?:follow|execute|run|do|obey|carry out|"
          r"perform|act on)\b", "decode decipher translate convert base64",
          "follow execute run do obey carry perform act"),
    _rule("tool_json", "tool_hijack", 0.6,
          r"\{\s{0,4}\"(?:name|tool|function|tool_name|function_name|action|recipient_name)\"\s{0,4}:"
          r"\s{0,4}\"[^\"\n]{1,80}\"\s{0,4},\s{0,4}\"(?:arguments|parameters|args|input|action_input)\"",
          "name tool function tool_name function_name action recipient_name"),
    _rule("control_tokens", "tool_hijack", 0.7,
          r"<\|(?:im_start|im_end|system|assistant|user|endoftext|eot_id|start_header_id)\|>|"
          r"\[/?inst\]|<</?sys>>|</?(?:tool_call|function_call|tool_use|function_results|"
          r"system-reminder)>",
          holds=("<|", "inst]", "sys>>", "_call>", "tool_use>", "_results>", "reminder>")),
    _rule("role_marker", "tool_hijack", 0.4,
          r"^[ \t]{0,8}(?:#{1,4} ?)?(?:system|assistant|developer)(?: message| prompt)?[ \t]{0,4}:",
          "system assistant developer"),
    _rule("call_tool", "tool_hijack", 0.3,
          rf"\b(?:call|invoke|run|execute|use) (?:the |your )?(?:function|tool|api|plugin|action)"
          rf"(?:{_S}[a-z0-9_.'-]{{1,40}}){{0,3}}{_S}with\b", "call invoke run execute use",
          "function tool api plugin action"),
    _rule("send_data", "tool_hijack", 0.7,
          rf"\b(?:send|post|forward|email|upload|exfiltrate|transmit|leak)(?:{_S}[a-z']{{1,20}}){{0,4}}"
          rf"{_S}(?:conversation|chat history|chat log|messages|api keys?|secrets?|passwords?|"
          rf"credentials|tokens?|system prompt|user data|personal data)(?:{_S}[a-z']{{1,20}}){{0,3}}"
          rf"{_S}to\b", "send post forward email upload exfiltrate transmit leak",
          "conversation chat messages api key keys secret secrets password passwords credentials token "
          "tokens system user personal"),
    _rule("image_exfil", "tool_hijack", 0.7,
          r"!\[[^\]\n]{0,100}\]\(https?://[^)\s]{1,300}[?&][a-z0-9_]{1,20}=(?:\{|%7b|\$|\[)", holds=("![",)),
    _rule("addressed_to_ai", "instruction_override", 0.6,
          r"\bif you are an? (?:ai|llm|assistant|language model|chatbot|agent)\b|"
          r"\b(?:ai|llm|assistant|agent)s? reading this\b|\bnote to (?:the )?(?:ai|llm|assistant|model)\b",
          "ai llm assistant agent agents model language chatbot", "if reading note"),
)

# The core phrases in German, French, Spanish, Italian, Portuguese and Dutch. Letters that take
# accents in these languages match with or without them ("pr[eé]c[eé]dentes"); the verbs are
# the imperatives as written, so a past tense that differs only by its accent ("oublié",
# "olvidé", "ignoré") is not an order, nor is "vergiss nicht, alle Anweisungen zu lesen" (do
# not forget to read them). Trigger words are looked up without accents.
_L = "a-zß-öø-ÿœ"  # a letter of these languages, lower case
_SL = rf"[^{_L}0-9]{{1,4}}"  # what separates two words
_WL = rf"[{_L}']{{1,20}}"  # a filler word
_SYSTEM = r"(?:syst[eè]me|sistema|systeem|system)"
_INTL_OVERRIDE_VERBS = (
    r"(?:ignoriere|ignorier|ignorieren sie|vergiss|vergessen sie|missachte|missachten sie|"
    r"[uü]berschreibe|umgehe|ignorez|ignore|oubliez|oublie|outrepasse|outrepassez|contourne|"
    r"contournez|ignora|ignorad|olvida|olvidad|descarta|omite|dimentica|dimenticate|ignorate|"
    r"trascura|esque[cç]a|desconsidere|despreza|negeer|vergeet|omzeil|passe outre [aà])")
_INTL_INSTRUCTIONS = (
    r"(?:anweisungen|anweisung|instruktionen|befehle|regeln|vorgaben|richtlinien|instructions|"
    r"consignes|r[eè]gles|directives|ordres|instrucciones|reglas|directrices|indicaciones|normas|"
    r"istruzioni|regole|direttive|indicazioni|instru[cç][oõ]es|regras|diretrizes|orienta[cç][oõ]es|"
    r"instructies|regels|opdrachten|richtlijnen|aanwijzingen)")
_INTL_EARLIER = (
    rf"(?:vorherigen|vorherige|bisherigen|bisherige|obigen|vorangegangenen|fr[uü]heren|urspr[uü]nglichen|"
    rf"alle|deine|deinen|ihre|pr[eé]c[eé]dentes|pr[eé]c[eé]dents|ant[eé]rieures|ci-dessus|initiales|"
    rf"toutes|tous|tes|vos|anteriores|previas|iniciales|originales|todas|todos|tus|sus|precedenti|"
    rf"iniziali|originali|tutte|tutti|tue|tuoi|pr[eé]vias|iniciais|originais|suas|tuas|seus|teus|"
    rf"vorige|eerdere|voorgaande|oorspronkelijke|bovenstaande|je|jouw|uw|{_SYSTEM})")
_INTL_SHOW_VERBS = (
    r"(?:gib|gebe|zeig|zeige|zeigen sie|verrate|verraten sie|nenne|wiederhole|drucke|r[eé]v[eè]le|"
    r"r[eé]v[eé]lez|affiche|affichez|montre|montrez|donne|donnez|r[eé]p[eè]te|r[eé]p[eé]tez|"
    r"divulgue|divulguez|[eé]cris|[eé]crivez|dis|dites|revela|revele|revelad|muestra|mu[eé]strame|"
    r"muestre|mu[eé]streme|dime|d[ií]game|repite|escribe|comparte|rivela|rivelami|mostra|mostrami|"
    r"dimmi|stampa|ripeti|scrivi|mostre|diga|imprima|repita|escreva|compartilhe|toon|laat|geef|"
    r"herhaal|onthul|vertel|noem)")
_INTL_SYSTEM_PROMPT = (
    rf"(?:system{_SL}?prompt|systemanweisungen|systemnachricht|systeemprompt|systeeminstructies|"
    rf"(?:prompt|instructions|consignes|instrucciones|istruzioni|instru[cç][oõ]es|instructies|"
    rf"anweisungen|mensaje|messaggio|mensagem|message){_SL}(?:(?:du|de|del|di|do|da|des|van|het)"
    rf"{_SL}){{0,2}}{_SYSTEM})")
INTL_RULES: tuple[_Rule, ...] = (
    _rule("override", "instruction_override", 0.85,
          rf"\b{_INTL_OVERRIDE_VERBS}(?!{_SL}(?:nicht|niet)\b)(?:{_SL}{_WL}){{0,4}}{_SL}"
          rf"(?:{_INTL_EARLIER}(?:{_SL}{_WL}){{0,2}}{_SL}{_INTL_INSTRUCTIONS}|"
          rf"{_INTL_INSTRUCTIONS}(?:{_SL}{_WL}){{0,2}}{_SL}{_INTL_EARLIER})\b",
          "ignoriere ignorier ignorieren vergiss vergessen missachte missachten uberschreibe umgehe "
          "ignorez ignore oubliez oublie outrepasse outrepassez contourne contournez passe ignora ignorad "
          "olvida olvidad descarta omite dimentica dimenticate ignorate trascura esqueca desconsidere "
          "despreza negeer vergeet omzeil",
          "anweisungen anweisung instruktionen befehle regeln vorgaben richtlinien instructions consignes "
          "regles directives ordres instrucciones reglas directrices indicaciones normas istruzioni regole "
          "direttive indicazioni instrucoes regras diretrizes orientacoes instructies regels opdrachten "
          "richtlijnen aanwijzingen"),
    _rule("exfiltrate_prompt", "prompt_exfiltration", 0.75,
          rf"\b{_INTL_SHOW_VERBS}(?:{_SL}{_WL}){{0,3}}{_SL}{_INTL_SYSTEM_PROMPT}\b",
          "gib gebe zeig zeige zeigen verrate verraten nenne wiederhole drucke revele revelez affiche "
          "affichez montre montrez donne donnez repete repetez divulgue divulguez ecris ecrivez dis dites "
          "revela revelad muestra muestrame muestre muestreme dime digame repite escribe comparte rivela "
          "rivelami mostra mostrami dimmi stampa ripeti scrivi mostre diga imprima repita escreva "
          "compartilhe toon laat geef herhaal onthul vertel noem",
          "systemprompt system systemanweisungen systemnachricht systeemprompt systeeminstructies "
          "systeme sistema systeem"),
    _rule("you_are_now", "roleplay_jailbreak", 0.4,
          r"\b(?:du bist (?:jetzt|nun|ab sofort)|ab (?:jetzt|sofort) bist du|"
          r"tu es (?:maintenant|d[eé]sormais)|vous [eê]tes (?:maintenant|d[eé]sormais)|"
          r"d[eé]sormais,? (?:tu es|vous [eê]tes)|ahora eres|eres ahora|(?:ora|adesso) sei|"
          r"sei (?:ora|adesso)|agora voc[eê] [eé]|voc[eê] agora [eé]|"
          r"je bent nu|jij bent nu|vanaf nu ben je)\b",
          "bist tu vous desormais eres ahora sei voce agora bent ben"),
)
RULES = ENGLISH_RULES + INTL_RULES

# The ROT13 forms of words an encoded override would hold ("vtaber" is "ignore").
_ROT13_TRIGGERS = frozenset(codecs.encode(word, "rot13") for word in (
    "ignore", "disregard", "forget", "instructions", "previous", "prompt", "system", "reveal"))


@dataclass(frozen=True)
class InjectionHit:
    rule: str
    family: str
    weight: float
    start: int  # view offsets
    end: int
    encoded: str = ""  # "base64", "hex" or "rot13" when found inside an encoded payload


# Each trigger word -> the rules (their places in RULES) it can set off; and the rules without
# trigger words. A text's words meet the index in one set intersection, so only the rules one
# of its words can set off are looked at (ordinary prose holds a few such words).
def _trigger_index() -> dict[str, list[int]]:
    index: dict[str, list[int]] = {}
    for at, rule in enumerate(RULES):
        for word in rule.triggers:
            index.setdefault(word, []).append(at)
    return index


_BY_TRIGGER = _trigger_index()
_TRIGGERS = frozenset(_BY_TRIGGER)
_UNTRIGGERED = frozenset(at for at, rule in enumerate(RULES) if not rule.triggers)


def _live(tokens: set[str]) -> list[_Rule]:
    """The rules whose trigger words (if any) meet ``tokens``, in their order in RULES."""
    picked = set(_UNTRIGGERED)
    for word in tokens & _TRIGGERS:
        picked.update(_BY_TRIGGER[word])
    return [RULES[at] for at in sorted(picked)]


def scan(view: View, *, decode: bool = True) -> list[InjectionHit]:
    lower = view.lower
    tokens = view.plain_token_set  # trigger words are written without accents
    hits: list[InjectionHit] = []
    for rule in _live(tokens):
        if rule.holds and not any(part.within(lower) for part in rule.holds):
            continue
        if rule.also and tokens.isdisjoint(rule.also):
            continue
        match = rule.search(lower)
        if match is not None:
            hits.append(InjectionHit(rule.id, rule.family, rule.weight, match.start(), match.end()))
    if view.tags:
        hits.append(InjectionHit("hidden_tags", "hidden_text", 0.6, 0, len(lower)))
    if decode:
        hits += _encoded(view)
    return hits


def _encoded(view: View) -> list[InjectionHit]:
    """Payloads that only show their instructions once decoded."""
    hits: list[InjectionHit] = []
    for start, end, decoded, kind in encoded_blobs(view):
        hits += _inner(decoded, kind, start, end)
    if not _ROT13_TRIGGERS.isdisjoint(view.token_set):
        hits += _inner(codecs.encode(view.lower, "rot13"), "rot13", 0, len(view.lower))
    return hits


def _inner(decoded: str, kind: str, start: int, end: int) -> list[InjectionHit]:
    inner = scan(normalise(decoded), decode=False)
    if not inner:
        return []
    best = max(inner, key=lambda h: h.weight)
    return [InjectionHit(f"{kind}:{best.rule}", "encoded_payload", max(0.8, best.weight), start, end, kind)]


def score(hits: list[InjectionHit]) -> float:
    best: dict[str, float] = {}
    for hit in hits:
        best[hit.rule] = max(best.get(hit.rule, 0.0), hit.weight)
    remaining = 1.0
    for weight in best.values():
        remaining *= 1 - weight
    return 1 - remaining


def check_injection(refs: list[TextRef], *, where: str = "input", blocks: bool = True,
                    check: str = "prompt_injection") -> CheckResult:
    """Flag at a score of 0.5; block at 0.8 where ``blocks``. Untrusted content is only ever
    flagged (the caller drops or fences it rather than failing the whole request), and so is a
    model's answer unless configured otherwise (instructions in an answer are the mark of an
    injection in what the model read, which the caller should see rather than lose)."""
    result = CheckResult(check)
    hits_all: list[InjectionHit] = []
    for ref in refs:
        hits = scan(ref.view)
        hits_all += hits
        for hit in hits:
            span = ref.span(hit.start, hit.end, hit.family)
            result.spans.append(span)
            excerpt = ref.text[span.start:span.end]
            result.values.append((hit.family, excerpt))  # audited as a keyed hash, never as text
            excerpt = excerpt if len(excerpt) <= 80 else excerpt[:77] + "..."
            shown = f"{hit.encoded} payload" if hit.encoded else repr(excerpt)
            result.evidence.append(f"{hit.family}/{hit.rule}: {shown}")
    total = score(hits_all)
    result.score = total
    if total >= FLAG_AT:
        result.verdict = "block" if total >= BLOCK_AT and blocks else "flag"
        result.action = result.verdict
        families = sorted({h.family for h in hits_all})
        result.entities = {f: sum(h.family == f for h in hits_all) for f in families}
        result.reason = f"likely prompt injection in {where} (score {total:.2f}: {', '.join(families)})"
    return result
