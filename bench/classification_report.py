"""Accuracy of the free-text classifier on the labelled EIP exchange names.

Run: ``.venv/bin/python bench/classification_report.py [--errors] [--no-lexicon]``

Prints the number of items, kind accuracy, EWC-chapter top-1 and top-3 accuracy on the labelled
materials, and the confusion of kinds. ``--errors`` lists every miss; ``--no-lexicon`` measures
the similarity fallback alone (lexicon kinds and codes switched off; hazard, source and
not-a-resource terms too), a lower bound free of any lexicon tuning.

The labels and the rule behind them: ``domain/data/classification-eval.md``.
"""

from __future__ import annotations

import argparse
import csv
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from unittest import mock

from domain import classify as classifier
from domain.classify import engine
from domain.errors import ClassificationError
from schemas.common import ResourceKind

KINDS = [k.value for k in ResourceKind]


@dataclass(frozen=True)
class Item:
    text: str
    kind: str
    chapter: str
    note: str


@dataclass(frozen=True)
class Outcome:
    item: Item
    kind: str  # predicted kind, or "error" when classify() refused the text
    chapters: tuple[str, ...]  # chapters of the candidates, best first


def load_items() -> list[Item]:
    data = resources.files("domain") / "data" / "classification-eval.csv"
    with data.open(encoding="utf-8") as f:
        return [Item(r["text"], r["kind"], r["ewc_chapter"], r["note"]) for r in csv.DictReader(f)]


def run(items: list[Item]) -> list[Outcome]:
    outcomes = []
    for item in items:
        try:
            result = classifier.classify(item.text, top=5)
        except ClassificationError:
            outcomes.append(Outcome(item, "error", ()))
            continue
        chapters = tuple(c.chapter for c in result.candidates)
        outcomes.append(Outcome(item, result.kind.value, chapters))
    return outcomes


def report(outcomes: list[Outcome], *, errors: bool) -> None:
    scored = [o for o in outcomes if o.item.kind in KINDS]
    excluded = [o for o in outcomes if o.item.kind not in KINDS]
    kind_hits = sum(o.kind == o.item.kind for o in scored)
    materials = [o for o in scored if o.item.kind == "material" and o.item.chapter]
    top1 = sum(o.chapters[:1] == (o.item.chapter,) for o in materials)
    top3 = sum(o.item.chapter in o.chapters[:3] for o in materials)

    print(f"items: {len(outcomes)} ({len(scored)} scored, {len(excluded)} excluded by label)")
    print(f"kind accuracy: {kind_hits}/{len(scored)} = {kind_hits / len(scored):.3f}")
    print(f"EWC chapter top-1: {top1}/{len(materials)} = {top1 / len(materials):.3f}")
    print(f"EWC chapter top-3: {top3}/{len(materials)} = {top3 / len(materials):.3f}")
    for o in excluded:
        print(f"excluded: {o.item.text!r} -> {o.kind}")

    print("\nkind confusion (rows: label, columns: predicted)")
    columns = [*KINDS, "error"]
    confusion = Counter((o.item.kind, o.kind) for o in scored)
    print(f"{'':>10}" + "".join(f"{c:>10}" for c in columns))
    for label in KINDS:
        print(f"{label:>10}" + "".join(f"{confusion[(label, c)]:>10}" for c in columns))

    if errors:
        print("\nkind misses")
        for o in scored:
            if o.kind != o.item.kind:
                print(f"  {o.item.text!r}: label {o.item.kind}, got {o.kind}")
        print("\nchapter top-1 misses (label; candidates' chapters)")
        for o in materials:
            if o.chapters[:1] != (o.item.chapter,):
                print(f"  {o.item.text!r}: {o.item.chapter}; {' '.join(o.chapters) or '-'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="list every miss")
    parser.add_argument("--no-lexicon", action="store_true", help="similarity fallback only")
    args = parser.parse_args()
    items = load_items()
    if args.no_lexicon:
        no_terms = engine._Terms({}, {})
        with mock.patch.object(engine, "_terms", return_value=no_terms):
            engine._classify_shape.cache_clear()
            outcomes = run(items)
        engine._classify_shape.cache_clear()
    else:
        outcomes = run(items)
    report(outcomes, errors=args.errors)


if __name__ == "__main__":
    main()
