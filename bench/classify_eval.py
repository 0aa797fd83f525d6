"""Accuracy of the classifier on the held-out multilingual evaluation set, per language.

Run: ``.venv/bin/python bench/classify_eval.py [--split dev|test|all] [--errors] [--json]``

The set (``tests/data/classify-eval/eval-*.csv``, sources in the README files beside it) was
written by people who did not see the classifier. Each row has a language, a kind and, for a
material, its acceptable EWC codes (best first). The split is fixed by the row's id
(SHA-256 of the id, even first byte: ``dev``; odd: ``test``), decided before any tuning: tune
on ``dev`` only; ``test`` is what docs/classification.md reports and the tests pin.

Measures, per language and overall:

* ``kind``: the predicted kind is the labelled one (a refusal counts as wrong);
* ``chapter``: materials with codes whose best candidate is in a labelled code's chapter;
* ``exact``: ... whose best candidate is a labelled code;
* ``top3``: ... a labelled code is among the first three candidates;
* ``abstain``: rows flagged ``needs_review``; ``kept_chapter``: chapter accuracy on the
  materials not flagged.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from domain.classify import Classification, classify
from domain.errors import ClassificationError

EVAL_DIR = Path(__file__).resolve().parent.parent / "tests" / "data" / "classify-eval"
LANGUAGE_ORDER = ("en", "de", "fr", "es", "it", "pl", "nl", "da", "sv", "zh")


@dataclass(frozen=True, slots=True)
class Row:
    """One labelled description."""

    id: str
    lang: str
    text: str
    kind: str
    codes: tuple[str, ...]
    unit: str | None

    @property
    def split(self) -> str:
        """``dev`` or ``test``, fixed by the id."""
        return "dev" if hashlib.sha256(self.id.encode()).digest()[0] % 2 == 0 else "test"


def load(split: str = "all", folder: Path = EVAL_DIR) -> list[Row]:
    """The evaluation rows of one split (``dev``, ``test`` or ``all``), file order."""
    rows: list[Row] = []
    for path in sorted(folder.glob("eval-*.csv")):
        with path.open(encoding="utf-8", newline="") as f:
            for r in csv.DictReader(f):
                row = Row(
                    id=r["id"],
                    lang=r["lang"],
                    text=r["text"],
                    kind=r["kind"],
                    codes=tuple(r["ewc"].split()),
                    unit=(r.get("unit") or None),
                )
                if split in ("all", row.split):
                    rows.append(row)
    return rows


@dataclass
class Tally:
    """Counts of one language (or all)."""

    rows: int = 0
    kind_ok: int = 0
    coded: int = 0
    chapter_ok: int = 0
    exact_ok: int = 0
    top3_ok: int = 0
    abstained: int = 0
    kept_coded: int = 0
    kept_chapter_ok: int = 0

    def add(self, row: Row, result: Classification | None) -> None:
        """Count one row's outcome (``None``: the classifier refused the text)."""
        self.rows += 1
        if result is None:
            self.abstained += 1
            self.coded += bool(row.codes)
            return
        self.kind_ok += result.kind.value == row.kind
        self.abstained += result.needs_review
        if not row.codes:
            return
        self.coded += 1
        codes = [c.code for c in result.candidates]
        chapters = {c[:2] for c in row.codes}
        chapter_ok = bool(codes) and codes[0][:2] in chapters
        self.chapter_ok += chapter_ok
        self.exact_ok += bool(codes) and codes[0] in row.codes
        self.top3_ok += any(c in row.codes for c in codes[:3])
        if not result.needs_review:
            self.kept_coded += 1
            self.kept_chapter_ok += chapter_ok

    def figures(self) -> dict[str, float | int]:
        """Rates (0..1) and counts."""

        def rate(num: int, den: int) -> float:
            return round(num / den, 3) if den else 1.0

        return {
            "rows": self.rows,
            "materials": self.coded,
            "kind": rate(self.kind_ok, self.rows),
            "chapter": rate(self.chapter_ok, self.coded),
            "exact": rate(self.exact_ok, self.coded),
            "top3": rate(self.top3_ok, self.coded),
            "abstain": rate(self.abstained, self.rows),
            "kept_chapter": rate(self.kept_chapter_ok, self.kept_coded),
        }


def run(rows: Iterable[Row]) -> tuple[dict[str, Tally], list[tuple[Row, Classification | None]]]:
    """Classify every row; tallies per language plus ``"all"``, and every (row, result)."""
    tallies: defaultdict[str, Tally] = defaultdict(Tally)
    outcomes: list[tuple[Row, Classification | None]] = []
    for row in rows:
        try:
            result: Classification | None = classify(row.text, unit=row.unit, top=5)
        except ClassificationError:
            result = None
        tallies[row.lang].add(row, result)
        tallies["all"].add(row, result)
        outcomes.append((row, result))
    return dict(tallies), outcomes


def _is_miss(row: Row, result: Classification | None) -> bool:
    if result is None or result.kind.value != row.kind:
        return True
    return bool(row.codes) and (not result.candidates or result.candidates[0].code not in row.codes)


def _markdown(tallies: dict[str, Tally], order: list[str]) -> str:
    def pct(value: float | int) -> str:
        return f"{100 * value:.0f} %"

    lines = [
        "| language | rows | materials | kind | chapter | exact | top-3 | abstain | chapter, kept |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for lang in order:
        f = tallies[lang].figures()
        name = "**all**" if lang == "all" else lang
        lines.append(
            f"| {name} | {f['rows']} | {f['materials']} | {pct(f['kind'])} | {pct(f['chapter'])} "
            f"| {pct(f['exact'])} | {pct(f['top3'])} | {pct(f['abstain'])} "
            f"| {pct(f['kept_chapter'])} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the per-language table (and the misses with ``--errors``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "test", "all"), default="test")
    parser.add_argument("--errors", action="store_true", help="list the misses")
    parser.add_argument("--json", action="store_true", help="one JSON object, nothing else")
    parser.add_argument("--markdown", action="store_true", help="the table as Markdown")
    args = parser.parse_args(argv)
    tallies, outcomes = run(load(args.split))
    order = [lang for lang in LANGUAGE_ORDER if lang in tallies] + ["all"]
    if args.json:
        print(json.dumps({lang: tallies[lang].figures() for lang in order}))
        return 0
    if args.markdown:
        print(_markdown(tallies, order))
        return 0
    print(f"split: {args.split}")
    header = "lang  rows  mat  kind  chapter  exact  top3  abstain  kept_chapter"
    print(header)
    for lang in order:
        f = tallies[lang].figures()
        print(
            f"{lang:4} {f['rows']:5} {f['materials']:4}  {f['kind']:.3f}  {f['chapter']:.3f}"
            f"    {f['exact']:.3f}  {f['top3']:.3f}  {f['abstain']:.3f}    {f['kept_chapter']:.3f}"
        )
    if args.errors:
        for row, result in outcomes:
            if _is_miss(row, result):
                got = (
                    "refused"
                    if result is None
                    else (
                        f"{result.kind.value} {[c.code for c in result.candidates[:3]]} "
                        f"lang={result.language} review={result.needs_review}"
                    )
                )
                print(f"{row.id} [{row.lang}] {row.text!r}: want {row.kind} {row.codes}, {got}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
