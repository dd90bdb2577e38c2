"""Precision and recall of the PII detectors per entity type on the seeded labelled corpus
(bench/pii_corpus.py), side by side with Presidio's pattern recognisers when installed: the
passages of one entity or look-alike each, then those naming two values in one sentence.

    python bench/pii_eval.py [--per-type 300] [--negatives 1200] [--mixed 600] [--seed 7]

A prediction counts as a true positive when its type matches a label and the spans overlap.
Presidio runs with the same entity types and phone regions on a blank spaCy pipeline (no
model download, so only its pattern and checksum recognisers work); it has no credential
recogniser, so SECRET is ours alone.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).parent))

from gatewise.guardrails.normalize import normalise
from gatewise.guardrails.phones import DEFAULT_REGIONS
from gatewise.guardrails.pii import find_pii
from pii_corpus import STRUCTURED, TYPES, Sample, corpus, mixed_corpus

Prediction = tuple[str, int, int]
Predict = Callable[[str], list[Prediction]]
PRESIDIO_TYPES = {"EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "CREDIT_CARD": "CREDIT_CARD",
                  "IBAN_CODE": "IBAN", "US_SSN": "US_SSN", "IP_ADDRESS": "IP_ADDRESS"}


def gatewise_predict(text: str) -> list[Prediction]:
    view = normalise(text)
    out = []
    for f in find_pii(view):
        start, end = view.span(f.start, f.end)
        out.append((f.type, start, end))
    return out


def presidio_analyzer(regions: tuple[str, ...] = DEFAULT_REGIONS):
    """Presidio's analyzer with only the recognisers for our structured types, on a blank
    spaCy pipeline saved to a temporary folder (Presidio loads models by path or name)."""
    import spacy
    import tldextract
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        EmailRecognizer,
        IbanRecognizer,
        IpRecognizer,
        PhoneRecognizer,
        UsSsnRecognizer,
    )
    from presidio_analyzer.predefined_recognizers.generic import email_recognizer

    # Its e-mail recogniser would fetch the public suffix list; use the bundled snapshot.
    email_recognizer.tldextract = SimpleNamespace(extract=tldextract.TLDExtract(suffix_list_urls=()))
    folder = Path(tempfile.mkdtemp(prefix="blank-spacy-"))
    spacy.blank("en").to_disk(folder)
    engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": str(folder)}])
    engine.load()
    registry = RecognizerRegistry()
    for recognizer in (CreditCardRecognizer(), EmailRecognizer(), IbanRecognizer(), IpRecognizer(),
                       UsSsnRecognizer(), PhoneRecognizer(supported_regions=regions)):
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["en"])


def presidio_predict(analyzer, threshold: float = 0.0) -> Predict:
    entities = list(PRESIDIO_TYPES)

    def predict(text: str) -> list[Prediction]:
        results = analyzer.analyze(text=text, language="en", entities=entities, score_threshold=threshold)
        return [(PRESIDIO_TYPES[r.entity_type], r.start, r.end) for r in results]

    return predict


def evaluate(predict: Predict, samples: list[Sample]) -> dict[str, Counter[str]]:
    """Per type: tp, fp, fn."""
    counts: dict[str, Counter[str]] = {t: Counter() for t in TYPES}
    for sample in samples:
        predicted = predict(sample.text)
        matched = set()
        for kind, start, end in sample.labels:
            hit = next((i for i, (k, s, e) in enumerate(predicted)
                        if k == kind and s < end and start < e and i not in matched), None)
            if hit is None:
                counts[kind]["fn"] += 1
            else:
                matched.add(hit)
                counts[kind]["tp"] += 1
        for i, (kind, _, _) in enumerate(predicted):
            if i not in matched:
                counts[kind]["fp"] += 1
    return counts


def scores(c: Counter[str]) -> tuple[float, float, float]:
    precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
    recall = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def micro(counts: dict[str, Counter[str]], types: tuple[str, ...]) -> tuple[float, float, float]:
    return scores(sum((counts[t] for t in types), Counter()))


def table(results: dict[str, dict[str, Counter[str]]]) -> list[str]:
    names = list(results)
    head = "| type | " + " | ".join(f"{n} P | {n} R | {n} F1" for n in names) + " |"
    rows = [head, "| --- |" + " ---: |" * (3 * len(names))]
    for kind in TYPES:
        cells = []
        for name in names:
            if name != "gatewise" and kind not in STRUCTURED:
                cells += ["-", "-", "-"]
                continue
            p, r, f = scores(results[name][kind])
            cells += [f"{p:.3f}", f"{r:.3f}", f"{f:.3f}"]
        rows.append(f"| {kind} | " + " | ".join(cells) + " |")
    cells = []
    for name in names:
        cells += [f"{v:.3f}" for v in micro(results[name], STRUCTURED)]
    rows.append("| structured (micro) | " + " | ".join(cells) + " |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-type", type=int, default=300)
    parser.add_argument("--negatives", type=int, default=1200)
    parser.add_argument("--mixed", type=int, default=600)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    try:
        analyzer = presidio_analyzer()
    except ImportError:
        analyzer = None
        print("(presidio-analyzer not installed: pip install -e '.[bench]' for the comparison)")
    single = corpus(args.per_type, args.negatives, args.seed)
    mixed = mixed_corpus(args.mixed, args.seed)
    met = True
    for title, samples in ((f"corpus: {len(single)} passages, seed {args.seed}, {args.per_type} per type, "
                            f"{args.negatives} hard negatives, locales: 10", single),
                           (f"two values in one sentence: {len(mixed)} passages, seed {args.seed}", mixed)):
        results = {"gatewise": evaluate(gatewise_predict, samples)}
        if analyzer is not None:
            results["presidio"] = evaluate(presidio_predict(analyzer), samples)
            results["presidio@0.5"] = evaluate(presidio_predict(analyzer, 0.5), samples)
        print(title)
        print("\n".join(table(results)))
        met = met and not failing(results["gatewise"])
    print(f"targets (P >= 0.97, R >= 0.95 on every structured type, in both): {'met' if met else 'missed'}")


def failing(counts: dict[str, Counter[str]]) -> list[str]:
    """The structured types below the targets (precision 0.97, recall 0.95)."""
    return [k for k in STRUCTURED if scores(counts[k])[0] < 0.97 or scores(counts[k])[1] < 0.95]


if __name__ == "__main__":
    main()
