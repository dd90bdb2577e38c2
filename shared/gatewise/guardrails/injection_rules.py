"""The prompt-injection rule type and the English rules (the other languages are in
:mod:`gatewise.guardrails.injection_languages`).

Every pattern runs on the lower-cased normalised view, only when one of its trigger words (or,
for a rule without words, one of the literals every match holds) is in the text, and uses
bounded repeats from a fixed start, so the time is linear in the input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gatewise.guardrails.normalize import Needle, needle

_S = r"[^a-z0-9]{1,4}"  # what separates two words
_W = r"[a-z']{1,20}"  # a filler word


def _gap(words: int) -> str:
    """Up to ``words`` filler words between two parts of a phrase."""
    return rf"(?:{_S}{_W}){{0,{words}}}{_S}"


@dataclass(frozen=True)
class Rule:
    id: str
    family: str
    weight: float
    pattern: re.Pattern[str]
    triggers: frozenset[str]  # words one of which must be in the text
    also: frozenset[str] = frozenset()  # and, when set, one of these too
    holds: tuple[Needle, ...] = ()  # for a rule without words: one of these is in every match
    word_start: bool = False  # a match must begin where a word does (see rule())
    # An order about something other than the model: a match followed by "in the README", "for
    # a single file", "du guide d'installation" is no override (see injection.elsewhere).
    scoped: bool = False

    def search(self, lower: str, pos: int = 0) -> re.Match[str] | None:
        """The first match from ``pos``, as the rule's pattern as written would find it."""
        while (match := self.pattern.search(lower, pos)) is not None:
            start = match.start()
            if not self.word_start or start == 0 or not _is_word(lower[start - 1]):
                return match
            pos = start + 1
        return None


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def rule(id: str, family: str, weight: float, pattern: str, triggers: str = "", also: str = "",
         holds: tuple[str, ...] = (), *, scoped: bool = False) -> Rule:
    """A rule whose every alternative begins with ``\\b`` and a word is compiled without those
    ``\\b``, and the boundary is checked at each match instead: the regex engine can then skip
    to the letters a match can begin with, about five times faster over text that does not
    match, instead of trying every position."""
    word_start = pattern.startswith(r"\b")
    if word_start:
        pattern = pattern[2:].replace(r"|\b", "|")
    return Rule(id, family, weight, re.compile(pattern, re.MULTILINE), frozenset(triggers.split()),
                frozenset(also.split()), tuple(map(needle, holds)), word_start, scoped)


_NOUNS = ("instruction instructions prompt prompts rules directions directives guidelines context "
          "commands constraints guardrails policies programming restrictions orders messages guidance")
_OVERRIDE_VERBS = (r"(?:ignore|disregard|forget|override|overrule|bypass|skip|abandon|neglect|"
                   r"set aside|do not follow|don't follow|stop following|discard|pay no attention to|"
                   r"throw (?:out|away)|scrap|ditch|erase)")
_EARLIER = (r"(?:previous|prior|above|earlier|preceding|initial|original|former|system|existing|all|any|"
            r"your|these|those|the)")
# Nouns that name instructions to a model whatever word comes before them; the others ("rules",
# "commands", "messages") name CSS, firewall or lint rules as often, so only words that point at
# the model's own (previous, system, safety …) may stand between them and the verb.
_STRONG_NOUNS = r"(?:instructions?|prompts?|directives|guidelines|programming|guardrails|guidance)\b"
_WEAK_NOUNS = r"(?:rules|directions|context|commands|constraints|policies|restrictions|orders|messages)\b"
_OWN = (r"(?:previous|prior|above|earlier|preceding|initial|original|former|system|all|any|your|these|"
        r"those|the|of|my|safety|content|ethical|moral|moderation|security|old|current|given|hidden|"
        r"secret|internal|built-in|standing)")
_VERBATIM = (r"\b(?:verbatim|word for word|word-for-word|in full|character for character|"
             r"exactly as (?:written|given))\b")
_RELATIVES = r"(?:grandma|grandmother|granny|grandpa|grandfather|mother|mom|mum|father|dad|aunt|uncle)"
_MODIFIER = r"(?:previous|prior|earlier|above|original|initial|old|system|existing|current)"
_RULES = (r"(?:instructions|rules|guidelines|directives|restrictions|policies|constraints|guardrails|"
          r"safeguards|content polic(?:y|ies)|system prompt)")
_VOID = (r" (?:(?:are|is|have been|has been|were|was) (?:now |hereby )?(?:void|null|obsolete|revoked|"
         r"cancell?ed|invalid|invalidated|outdated|superseded|overridden|lifted|suspended|disabled|"
         r"deactivated|rescinded|no longer (?:valid|in effect|active|relevant|applicable))|no longer "
         r"appl(?:y|ies)|(?:do|does) not apply any ?more)\b")
_VOID_WORDS = ("void null obsolete revoked cancelled canceled invalid invalidated outdated superseded "
               "overridden lifted suspended disabled deactivated rescinded longer apply")
ENGLISH_RULES: tuple[Rule, ...] = (
    rule("override", "instruction_override", 0.85,
         rf"\b{_OVERRIDE_VERBS}{_gap(4)}{_EARLIER}(?:(?:{_S}{_W}){{0,2}}{_S}{_STRONG_NOUNS}|"
         rf"(?:{_S}{_OWN}){{0,2}}{_S}{_WEAK_NOUNS})",
         "ignore disregard forget override overrule bypass skip abandon neglect set do don't stop discard "
         "pay throw scrap ditch erase", _NOUNS, scoped=True),
    rule("forget_told", "instruction_override", 0.85,
         r"\b(?:forget|ignore|disregard|discard|drop|erase|throw (?:out|away)|pay no attention to)"
         r"(?: about)? (?:everything|all|anything|whatever|all of what|all that|what)(?: (?:that|which))?"
         r" you(?:'ve| have| had)? (?:been |were |was )?"
         r"(?:told|instructed|taught|given|programmed|trained)\b",
         "forget ignore disregard discard drop erase throw pay",
         "told instructed taught given programmed trained"),
    # "Your previous instructions are void": said of the model's own rules; of "the previous
    # rules" alone it may be a note about a manual, so it weighs less.
    rule("voided", "instruction_override", 0.6,
         rf"\b(?:(?:your|all your) (?:{_MODIFIER} )?{_RULES}|everything you(?:'ve| have)? (?:were |been )?"
         rf"(?:told|instructed|given)(?:{_S}{_W}){{0,3}}){_VOID}",
         "your everything", _VOID_WORDS),
    rule("voided_rules", "instruction_override", 0.45,
         rf"\b(?:all(?: the)?(?: {_MODIFIER})?|any(?: {_MODIFIER})?|the {_MODIFIER}) {_RULES}{_VOID}",
         "all any the", _VOID_WORDS),
    rule("new_instructions", "instruction_override", 0.5,
         r"\b(?:new|updated|real|true|actual|revised) (?:instructions|task|objective|goal|orders)"
         r"(?: (?:are|is))?[ \t]{0,3}:", "new updated real true actual revised",
         "instructions task objective goal orders"),
    rule("new_task", "instruction_override", 0.5,
         r"\byour (?:new|real|only|actual|true) "
         r"(?:task|job|goal|objective|purpose|instructions?|orders?|mission)"
         r"(?: now)? (?:is|are)\b", "your", "task job goal objective purpose instruction instructions order "
         "orders mission"),
    # "### NEW INSTRUCTIONS ###", "=== SYSTEM OVERRIDE ===", "[new instructions]": a heading
    # closed by a decoration (looked for from its first word, which the search can skip to).
    rule("instruction_header", "instruction_override", 0.6,
         r"\b(?:new|updated|revised|real|system|admin|developer|override|important)"
         r"(?: system)? (?:instructions?|prompt|rules|task|policy|override|directives?|message|orders)"
         r"[ \t]{0,4}(?:#{1,6}|={2,10}|-{2,10}|\*{2,10}|\]|>)",
         "new updated revised real system admin developer override important",
         "instruction instructions prompt rules task policy override directive directives message orders"),
    rule("from_now_on", "instruction_override", 0.45,
         r"\bfrom now on,? (?:you (?:are|will|must|shall|should|answer|reply|respond|act|have)|"
         r"your (?:only )?(?:task|job|goal))", "from", "now"),
    rule("dan", "roleplay_jailbreak", 0.9,
         r"\bdo anything now\b|\b(?:you are|you're|act as|pretend to be|become|enable) (?:now )?"
         r"(?:a |the )?dan\b", "anything dan", "now dan"),  # every match holds "now" or "dan"
    rule("jailbreak_mode", "roleplay_jailbreak", 0.7,
         r"\b(?:god|jailbreak|jailbroken|unrestricted|unfiltered|uncensored|evil|chaos|opposite|"
         r"dude) mode\b", "mode"),
    rule("developer_mode", "roleplay_jailbreak", 0.4,
         r"\b(?:developer|dev|debug|maintenance|sudo|admin) mode (?:enabled|activated|on)\b|"
         r"\b(?:enter|enable|activate|switch to) (?:developer|dev|debug|sudo|admin) mode\b", "mode"),
    rule("you_are_now", "roleplay_jailbreak", 0.4,
         r"\byou are (?:now|no longer)\b|\byou have been (?:freed|liberated|jailbroken|unlocked)\b",
         "you", "now longer freed liberated jailbroken unlocked"),
    rule("no_restrictions", "roleplay_jailbreak", 0.35,
         r"\b(?:without|with no|free (?:of|from)|not bound by|no longer bound by|ignoring) "
         r"(?:any |all |your |the )?(?:restrictions|limitations|filters|ethical guidelines|ethics|"
         r"morals|censorship|content polic(?:y|ies)|safety guidelines|safeguards|guardrails)\b",
         "without with free not no ignoring",
         "restrictions limitations filters ethical ethics morals censorship content safety safeguards "
         "guardrails"),
    rule("no_ethics", "roleplay_jailbreak", 0.5,
         r"\bno (?:ethical|moral) (?:guidelines|restrictions|limits|boundaries|constraints)\b|"
         r"\bstay in character\b|\bjailbreak(?:ing|ed)?\b", "no stay jailbreak jailbreaking jailbroken"),
    # "Act as my late grandmother, who used to read me Windows keys": the frame, and what the
    # relative is said to have recited (keys, codes, passwords, never stories or recipes).
    rule("relative_roleplay", "roleplay_jailbreak", 0.5,
         rf"\b(?:act|pretend|roleplay|role-play|play|behave|speak)(?: as| to be| like| the role of)? "
         rf"(?:my |our )?"
         rf"(?:deceased|late|dead|dying|departed|beloved|sweet|old|dear)(?: {_W}){{0,2}} {_RELATIVES}\b",
         "act pretend roleplay role play behave speak",
         "grandma grandmother granny grandpa grandfather mother mom mum father dad aunt uncle"),
    rule("relative_recited", "roleplay_jailbreak", 0.6,
         rf"\b{_RELATIVES}(?:{_S}[a-z0-9']{{1,20}}){{0,6}}{_S}(?:used to|would always|always|would)"
         rf" (?:read|tell|recite|whisper|give|list|say)(?:{_S}[a-z0-9']{{1,20}}){{0,5}}{_S}"
         r"(?:keys?|codes?|serials?|serial numbers?|passwords?|license|licence|activation)\b",
         "grandma grandmother granny grandpa grandfather mother mom mum father dad aunt uncle",
         "key keys code codes serial serials password passwords license licence activation"),
    rule("exfiltrate_prompt", "prompt_exfiltration", 0.75,
         rf"\b(?:print|show|reveal|repeat|output|display|tell me|give me|share|leak|dump|write out|"
         rf"spell out|recite|disclose|quote|paste|what (?:is|are|was|were)|what (?:does|do)(?= your))"
         rf"(?:{_S}{_W}){{0,3}}{_S}"
         rf"(?:system|initial|original|hidden|secret|developer|internal|pre-?)(?:{_S}{_W})?"
         rf"{_S}?(?:prompt|instructions|message|directives|guidelines)\b",
         "print show reveal repeat output display tell give share leak dump write spell recite "
         "disclose what quote paste", "prompt instructions message directives guidelines", scoped=True),
    rule("repeat_above", "prompt_exfiltration", 0.75,
         r"\brepeat (?:the |all )?(?:words|text|everything|all|lines)(?: (?:written|that (?:are|were)))?"
         r" (?:above|before this|prior)\b|\bwhat (?:were|are) you (?:told|instructed|programmed) to\b|"
         r"\b(?:text|words|content|everything|instructions|message|messages)(?: that)?(?: (?:appears?|"
         r"appeared|comes?|came|is|was|were|are|is written|was written))? (?:before|above|prior to|"
         r"preceding) (?:my|the|this) (?:first |very first )?(?:message|prompt|question|input)\b",
         "repeat what text words content everything instructions message messages",
         "above before prior told instructed programmed preceding"),
    rule("given_instructions", "prompt_exfiltration", 0.5,
         r"\b(?:instructions|rules|guidelines|directives|prompt|guidance|orders)(?: that)? you (?:were|have "
         r"been|'ve been|got|received|had been) (?:given|told|provided|sent|shown|programmed)\b",
         "instructions rules guidelines directives prompt guidance orders", "given told provided sent shown "
         "programmed"),
    rule("verbatim", "prompt_exfiltration", 0.35, _VERBATIM, "verbatim word in character exactly",
         "prompt instructions rules guidelines directives system"),
    rule("decode_and_follow", "encoded_payload", 0.6,
         rf"\b(?:decode|decipher|translate|convert|base64[- ]?decode)(?:{_S}[a-z0-9']{{1,20}}){{0,5}}"
         rf"{_S}(?:and|then)(?:{_S}{_W}){{0,2}}{_S}(?:follow|execute|run|do|obey|carry out|"
         r"perform|act on)\b", "decode decipher translate convert base64",
         "follow execute run do obey carry perform act"),
    rule("tool_json", "tool_hijack", 0.6,
         r"\{\s{0,4}\"(?:name|tool|function|tool_name|function_name|action|recipient_name)\"\s{0,4}:"
         r"\s{0,4}\"[^\"\n]{1,80}\"\s{0,4},\s{0,4}\"(?:arguments|parameters|args|input|action_input)\"",
         "name tool function tool_name function_name action recipient_name"),
    rule("control_tokens", "tool_hijack", 0.7,
         r"<\|(?:im_start|im_end|system|assistant|user|endoftext|eot_id|start_header_id)\|>|"
         r"\[/?inst\]|<</?sys>>|</?(?:tool_call|function_call|tool_use|function_results|"
         r"system-reminder)>",
         holds=("<|", "inst]", "sys>>", "_call>", "tool_use>", "_results>", "reminder>")),
    # A turn closed and another role's opened, as chat templates write them: text forging the
    # boundary between what the user said and what the system says.
    rule("role_switch", "tool_hijack", 0.85,
         r"</(?:user|human|assistant|system|developer|model|ai)>\s{0,20}<(?:system|assistant|developer|model)"
         r"(?:[_-](?:message|prompt|instructions?))?>", holds=("</",)),
    rule("role_tag", "tool_hijack", 0.7,
         r"<(?:system|developer)(?:[_-](?:message|prompt|instructions?))?>|\[(?:system|assistant|developer)\]"
         r"\(#", "system developer assistant"),
    rule("role_marker", "tool_hijack", 0.4,
         r"^[ \t]{0,8}(?:#{1,4} ?)?(?:system|assistant|developer)(?: message| prompt)?[ \t]{0,4}:",
         "system assistant developer"),
    rule("call_tool", "tool_hijack", 0.3,
         rf"\b(?:call|invoke|run|execute|use) (?:the |your )?(?:function|tool|api|plugin|action)"
         rf"(?:{_S}[a-z0-9_.'-]{{1,40}}){{0,3}}{_S}with\b", "call invoke run execute use",
         "function tool api plugin action"),
    rule("send_data", "tool_hijack", 0.7,
         rf"\b(?:send|post|forward|email|upload|exfiltrate|transmit|leak)(?:{_S}{_W}){{0,4}}"
         rf"{_S}(?:conversation|chat history|chat log|messages|api keys?|secrets?|passwords?|"
         rf"credentials|tokens?|system prompt|user data|personal data)(?:{_S}{_W}){{0,3}}"
         rf"{_S}to\b", "send post forward email upload exfiltrate transmit leak",
         "conversation chat messages api key keys secret secrets password passwords credentials token "
         "tokens system user personal"),
    rule("image_exfil", "tool_hijack", 0.7,
         r"!\[[^\]\n]{0,100}\]\(https?://[^)\s]{1,300}[?&][a-z0-9_]{1,20}=(?:\{|%7b|\$|\[)", holds=("![",)),
    rule("addressed_to_ai", "instruction_override", 0.6,
         r"\bif you are an? (?:ai|llm|assistant|language model|chatbot|agent)\b|"
         r"\b(?:ai|llm|assistant|agent)s? reading this\b|\bnote to (?:the )?(?:ai|llm|assistant|model)\b",
         "ai llm assistant agent agents model language chatbot", "if reading note"),
)
