"""Build ``gatewise/data/word-senses.json.gz``, the word senses the semantic cache's content gate reads.

From WordNet 3.0 (Princeton University; Debian's ``wordnet-base`` package installs it under
/usr/share/wordnet): for each single word, the synsets of its ``--senses`` most frequent senses
in every part of speech, and, for verbs, the synsets those senses are a manner of (the direct
hypernyms: "amend" is a way to "modify", "book" to "schedule"), and, for nouns, the classes those
senses of animals, foods, people and plants are kinds of, two levels up ("chicken" and "turkey"
are both poultry). Two words are interchangeable in
a question when they share a sense, or when one verb is a manner of the other; words that are
only two kinds of one thing ("chicken"/"beef", "print"/"download") share neither. Only words
that WordNet's sense-tagged corpus attests, or that the local embedder's vocabulary lists, are
kept, which keeps the file small. Irregular forms ("forgot", "bought") point to their word.
Synsets are renumbered densely; the file carries WordNet's licence notice, as that licence asks.
Every other single word WordNet lists that is one slip from a word of the embedder's vocabulary
is kept as a bare word, so that a real word is never taken for a misspelling of another ("debit"
of "debut", "mend" of "lend").

Usage: python scripts/build_word_senses.py [--wordnet /usr/share/wordnet] [--senses 3]
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

from gatewise.cache import gates

OUT = Path(__file__).resolve().parents[1] / "shared" / "gatewise" / "data" / "word-senses.json.gz"
PARTS = {"noun": "n", "verb": "v", "adj": "a", "adv": "r"}
NOTICE = (
    "WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved. THIS SOFTWARE AND "
    "DATABASE IS PROVIDED \"AS IS\" AND PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES, "
    "EXPRESS OR IMPLIED. BY WAY OF EXAMPLE, BUT NOT LIMITATION, PRINCETON UNIVERSITY MAKES NO "
    "REPRESENTATIONS OR WARRANTIES OF MERCHANT-ABILITY OR FITNESS FOR ANY PARTICULAR PURPOSE OR THAT "
    "THE USE OF THE LICENSED SOFTWARE, DATABASE OR DOCUMENTATION WILL NOT INFRINGE ANY THIRD PARTY "
    "PATENTS, COPYRIGHTS, TRADEMARKS OR OTHER RIGHTS. The name of Princeton University or Princeton "
    "may not be used in advertising or publicity pertaining to distribution of the software and/or "
    "database. Title to copyright in this software, database and any associated documentation shall "
    "at all times remain with Princeton University and LICENSEE agrees to preserve same. "
    "Derived here: the synsets of each word's most frequent senses, the direct hypernyms of verbs and "
    "the hypernyms of nouns two levels up."
)


def index(wordnet: Path, part: str, senses: int) -> dict[str, tuple[list[str], bool]]:
    """Each single word's first synsets, most frequent first, and whether a sense is attested."""
    found = {}
    for line in (wordnet / f"index.{part}").read_text(encoding="latin-1").splitlines():
        if line.startswith(" "):
            continue  # the licence header
        fields = line.split()
        lemma, pointers = fields[0], int(fields[3])
        if not lemma.replace("-", "").isalpha():
            continue  # collocations (with "_") and numbers
        tagged = int(fields[5 + pointers]) > 0
        found[lemma] = ([PARTS[part] + offset for offset in fields[6 + pointers:][:senses]], tagged)
    return found


# WordNet's lexicographer files of the nouns whose kinds read alike in context and name other
# things: noun.animal, noun.food, noun.person, noun.plant ("cat" / "dog", "chicken" / "turkey",
# "landlord" / "tenant", "lily" / "rose"); two kinds of an artifact or an amount are more often
# one thing said two ways ("laptop" / "notebook", "price" / "rate").
LIVING_AND_FOOD = frozenset({"05", "13", "18", "20"})


def hypernyms(wordnet: Path, part: str) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Each synset's direct hypernyms and lexicographer file number, for one part of speech."""
    found, files = {}, {}
    for line in (wordnet / f"data.{part}").read_text(encoding="latin-1").splitlines():
        if line.startswith(" "):
            continue
        fields = line.split(" | ")[0].split()
        at = 4 + 2 * int(fields[3], 16)
        pointers = [fields[at + 1 + 4 * i: at + 5 + 4 * i] for i in range(int(fields[at]))]
        synset = PARTS[part] + fields[0]
        found[synset] = [PARTS[part] + offset for symbol, offset, _, _ in pointers if symbol in ("@", "@i")]
        files[synset] = fields[1]
    return found, files


def build(wordnet: Path, senses: int) -> dict[str, object]:
    words: dict[str, list[str]] = {}
    manner_of: dict[str, list[str]] = {}
    kind_of: dict[str, list[str]] = {}
    broader, _ = hypernyms(wordnet, "verb")
    classes, files = hypernyms(wordnet, "noun")
    indexes = {part: index(wordnet, part, senses) for part in PARTS}  # each file read once
    for part, found in indexes.items():
        for lemma, (synsets, tagged) in found.items():
            if not tagged and gates.is_rare(lemma):
                continue
            words.setdefault(lemma, []).extend(synsets)
            if part == "verb":
                manner_of.setdefault(lemma, []).extend(h for s in synsets for h in broader[s])
            if part == "noun":
                parents = [h for s in synsets if files[s] in LIVING_AND_FOOD for h in classes[s]]
                kind_of[lemma] = parents + [g for h in parents for g in classes[h]]
    numbers: dict[str, int] = {}

    def dense(synsets: list[str]) -> list[int]:
        return sorted({numbers.setdefault(s, len(numbers)) for s in synsets})

    forms = {}
    for part in PARTS:
        for line in (wordnet / f"{part}.exc").read_text(encoding="latin-1").splitlines():
            form, *bases = line.split()
            base = next((b for b in bases if b in words), None)
            if form.isalpha() and base is not None and form not in words:
                forms[form] = base
    others = {lemma for found in indexes.values() for lemma in found
              if lemma.isalpha() and lemma not in words and gates.could_be_a_slip(lemma)}
    return {"notice": NOTICE, "senses": {w: dense(s) for w, s in sorted(words.items())},
            "manner_of": {w: dense(h) for w, h in sorted(manner_of.items()) if h},
            "kind_of": {w: dense(h) for w, h in sorted(kind_of.items()) if h},
            "forms": dict(sorted(forms.items())), "other_words": sorted(others)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wordnet", type=Path, default=Path("/usr/share/wordnet"))
    parser.add_argument("--senses", type=int, default=3, help="most frequent senses kept per word and part")
    args = parser.parse_args()
    data = build(args.wordnet, args.senses)
    OUT.write_bytes(gzip.compress(json.dumps(data, separators=(",", ":")).encode(), mtime=0))
    print(f"{OUT}: {len(data['senses'])} words, {OUT.stat().st_size} bytes")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
