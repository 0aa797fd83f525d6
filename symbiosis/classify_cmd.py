"""``symbiosis classify``: the classifier's answer for one description, for people and scripts."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from domain.classify import Classification, classify
from domain.errors import ClassificationError


def register(app: typer.Typer) -> None:
    """Add the ``classify`` command to the CLI."""
    app.command("classify", help=_HELP)(classify_command)


_HELP = "\n\n".join(
    [
        "Classify a resource description: language, kind, EWC candidates, needs review.",
        "Languages: English, German, French, Spanish, Italian, Polish, Dutch, Danish, Swedish, "
        "Chinese.",
        "Exit code 0 with an answer (even one that needs review); 1 when the text is refused "
        "(no letters, or not a resource, such as electricity).",
        'Example: `symbiosis classify "Sattdampf 12 bar" --unit t/h`',
    ]
)


def _as_dict(result: Classification) -> dict[str, object]:
    return {
        "text": result.text,
        "language": result.language,
        "kind": result.kind.value,
        "kind_confidence": result.kind_confidence,
        "needs_review": result.needs_review,
        "hazardous_hint": result.hazardous_hint,
        "matched_terms": list(result.matched_terms),
        "candidates": [
            {
                "code": c.code,
                "description": c.description,
                "hazardous": c.hazardous,
                "confidence": c.confidence,
                "source": c.source,
            }
            for c in result.candidates
        ],
    }


def classify_command(
    text: Annotated[str, typer.Argument(help="The description, in any supported language.")],
    unit: Annotated[
        str | None,
        typer.Option(
            "--unit", "-u", help="The row's unit (MW, t/a, Nm3/h): evidence for the kind."
        ),
    ] = None,
    top: Annotated[int, typer.Option(min=1, max=20, help="How many EWC candidates.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """Print the classification of one description (see ``_HELP``)."""
    try:
        result = classify(text, unit=unit, top=top)
    except ClassificationError as e:
        if as_json:
            typer.echo(json.dumps({"text": text, "error": str(e)}))
        else:
            typer.echo(f"refused: {e}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(_as_dict(result), ensure_ascii=False))
        return
    console = Console(highlight=False)
    review = "  [bold yellow]needs review[/]" if result.needs_review else ""
    console.print(
        f"[bold]{result.kind.value}[/] (confidence {result.kind_confidence:.2f}, "
        f"read as {result.language}){review}"
    )
    if result.matched_terms:
        console.print("terms: " + ", ".join(result.matched_terms))
    if result.candidates:
        table = Table("EWC", "hazardous", "confidence", "description", box=None)
        for c in result.candidates:
            code = f"{c.code[:2]} {c.code[2:4]} {c.code[4:]}" + ("*" if c.hazardous else "")
            table.add_row(
                code, "yes" if c.hazardous else "no", f"{c.confidence:.2f}", c.description
            )
        console.print(table)
