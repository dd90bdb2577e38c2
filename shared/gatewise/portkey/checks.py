"""Portkey's documented guardrail checks: built-in ids with their parameters, and partner plugins.

Source: the gateway's ``plugins/default/manifest.json`` (built-ins, ids prefixed ``default.``) and
the hosted create-guardrail schema (partner plugins, ids ``<plugin>.<function>``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["str", "bool", "num", "list", "obj", "any"]
Hook = Literal["before", "after", "both"]


@dataclass(frozen=True)
class Param:
    kind: Kind
    required: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Check:
    params: dict[str, Param]
    hook: Hook = "both"


NOT = Param("bool")
_OPERATOR = Param("str", True, ("any", "all", "none"))
CODE_FORMATS = ("SQL", "Python", "TypeScript", "JavaScript", "Java", "C#", "C++", "C", "Ruby", "PHP",
                "Swift", "Kotlin", "Go", "Rust", "Scala", "R", "Perl", "Shell", "HTML", "CSS", "XML",
                "JSON", "YAML", "Markdown", "Dockerfile")
# Accepted by every check: a check that errors fails the hook instead of passing (B1).
COMMON = {"failOnError": Param("bool"), "timeout": Param("num")}

BUILT_IN: dict[str, Check] = {
    "regexMatch": Check({"rule": Param("str", True), "not": NOT}),
    "regexReplace": Check({"rule": Param("str", True), "redactText": Param("str"),
                           "failOnDetection": Param("bool")}),
    "sentenceCount": Check({"minSentences": Param("num"), "maxSentences": Param("num"), "not": NOT}),
    "wordCount": Check({"minWords": Param("num"), "maxWords": Param("num"), "not": NOT}),
    "characterCount": Check({"minCharacters": Param("num"), "maxCharacters": Param("num"), "not": NOT}),
    "jsonSchema": Check({"schema": Param("obj", True), "not": NOT}, "after"),
    "jsonKeys": Check({"keys": Param("list", True), "operator": _OPERATOR}, "after"),
    "contains": Check({"words": Param("list", True), "operator": _OPERATOR}, "after"),
    "validUrls": Check({"onlyDNS": Param("bool"), "not": NOT}, "after"),
    "containsCode": Check({"format": Param("str", True, CODE_FORMATS), "not": NOT}, "after"),
    "alluppercase": Check({"not": NOT}),
    "alllowercase": Check({"not": NOT}),
    "isAllLowerCase": Check({"not": NOT}),
    "endsWith": Check({"suffix": Param("str", True), "not": NOT}),
    "notNull": Check({"not": NOT}, "after"),
    "modelWhitelist": Check({"models": Param("list", True), "not": NOT}, "before"),
    "modelRules": Check({"rules": Param("any", True), "not": NOT}, "before"),
    "allowedRequestTypes": Check({"allowedTypes": Param("list"), "blockedTypes": Param("list")}, "before"),
    "requiredMetadataKeys": Check({"metadataKeys": Param("list", True),
                                   "operator": Param("str", False, ("all", "any", "none"))}, "before"),
    "jwt": Check({"jwksUri": Param("str", True), "headerKey": Param("str", True),
                  "cacheMaxAge": Param("num"), "clockTolerance": Param("num"),
                  "maxTokenAge": Param("str"), "algorithms": Param("list")}, "before"),
    "webhook": Check({"webhookURL": Param("str", True), "headers": Param("obj"),
                      "forwardHeaders": Param("any")}),
    "log": Check({"logURL": Param("str", True), "headers": Param("obj")}, "after"),
    "addPrefix": Check({"prefix": Param("str", True),
                        "applyToRole": Param("str", False, ("user", "system", "assistant")),
                        "addToExisting": Param("bool"), "onlyIfEmpty": Param("bool")}, "before"),
}

MODERATION_CATEGORIES = ("hate", "hate/threatening", "harassment", "harassment/threatening", "self-harm",
                         "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors",
                         "violence", "violence/graphic")
PII_CATEGORIES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "LOCATION_ADDRESS", "NAME", "IP_ADDRESS",
                  "CREDIT_CARD", "SSN")

# Portkey's own hosted checks have documented parameters; other partners' are passed through.
PORTKEY: dict[str, Check] = {
    "moderateContent": Check({"categories": Param("list", False, MODERATION_CATEGORIES), "not": NOT}),
    "language": Check({"language": Param("str"), "not": NOT}),
    "pii": Check({"redact": Param("bool"), "categories": Param("list", False, PII_CATEGORIES),
                  "not": NOT}),
    "gibberish": Check({"not": NOT}),
}

PARTNERS: dict[str, frozenset[str]] = {
    "azure": frozenset({"contentSafety", "pii", "shieldPrompt", "protectedMaterial"}),
    "bedrock": frozenset({"guard"}),
    "pangea": frozenset({"textGuard", "pii"}),
    "promptfoo": frozenset({"guard", "pii", "harm"}),
    "patronus": frozenset({"phi", "pii", "isConcise", "isHelpful", "isPolite", "noApologies",
                           "noGenderBias", "noRacialBias", "retrievalAnswerRelevance",
                           "retrievalHallucination", "toxicity", "custom"}),
    "qualifire": frozenset({"contentModeration", "hallucinations", "pii", "promptInjections",
                            "grounding", "toolUseQuality", "policy"}),
    "mistral": frozenset({"moderateContent"}),
    "aporia": frozenset({"validateProject"}),
    "sydelabs": frozenset({"sydeguard"}),
    "pillar": frozenset({"scanPrompt", "scanResponse"}),
    "lasso": frozenset({"classify"}),
    "acuvity": frozenset({"scan"}),
    "exa": frozenset({"online"}),
    "walledai": frozenset({"walledprotect"}),
    "javelin": frozenset({"guardrails"}),
    "panw-prisma-airs": frozenset({"intercept"}),
    "crowdstrike-aidr": frozenset({"guardChatCompletions"}),
    "f5-guardrails": frozenset({"scan"}),
    "promptsecurity": frozenset({"protectPrompt", "protectResponse"}),
}


def known_ids() -> list[str]:
    ids = [f"default.{name}" for name in BUILT_IN] + [f"portkey.{name}" for name in PORTKEY]
    ids += [f"{plugin}.{fn}" for plugin, fns in PARTNERS.items() for fn in sorted(fns)]
    return ids
