"""``symbiosis park check``, ``symbiosis schemas export`` and ``symbiosis match``.

Every command reports a bad input as one clear message on stderr and exits 1 (typer exits 2 on
usage errors); none prints a traceback for a problem in the input. ``match`` is the exception
for a problem of one item in a valid park (a pair whose quantities cannot be compared, an
exchange that cannot be counted): it says so on stderr, one line per item, matches the rest
and exits 0.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Final

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from domain.errors import SymbiosisError
from domain.park import load_park, nominal_available, park_json_schema
from ingest.api.app import create_app
from runtime.settings import get_settings
from schemas.alerts import Alert
from schemas.common import ResourceKind
from schemas.dead_letters import DeadLetter
from schemas.ledger import LedgerEntry
from schemas.offers import Offer
from schemas.omf import OmfRecord
from schemas.readings import Reading, ReadingBatch, ReadingsRecord, SiteReadings
from schemas.registry import (
    Exchange,
    Need,
    Park,
    Site,
    SiteHeader,
    Stream,
    StreamRecord,
    WebhookState,
)
from schemas.rejections import Rejection
from schemas.views import AlertCloudEvent, AlertWebhook

park_app = typer.Typer(help="Park files: validate and summarise.", no_args_is_help=True)
schemas_app = typer.Typer(help="JSON Schemas of the park file and payloads.", no_args_is_help=True)

PAYLOAD_MODELS: Final[dict[str, type[BaseModel]]] = {
    "ReadingsRecord": ReadingsRecord,
    "SiteReadings": SiteReadings,
    "ReadingBatch": ReadingBatch,
    "Reading": Reading,
    "LedgerEntry": LedgerEntry,
    "Alert": Alert,
    "Site": Site,
    "Stream": Stream,
    "SiteHeader": SiteHeader,
    "StreamRecord": StreamRecord,
    "Need": Need,
    "Exchange": Exchange,
    "Offer": Offer,
    "Rejection": Rejection,
    "DeadLetter": DeadLetter,
    "WebhookState": WebhookState,
    "OmfRecord": OmfRecord,
    "AlertWebhook": AlertWebhook,
    "AlertCloudEvent": AlertCloudEvent,
}
"""Models exported besides the park file, by the name of their schema file."""

ParkArg = Annotated[
    Path, typer.Argument(metavar="PARK", help="Park file (YAML).", show_default=False)
]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``symbiosis`` app."""
    app.add_typer(park_app, name="park")
    app.add_typer(schemas_app, name="schemas")
    app.command("match")(match)


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(1)


def _load(path: Path) -> Park:
    try:
        return load_park(path)
    except SymbiosisError as e:
        raise _fail(str(e)) from e


@park_app.command("check")
def check(park_file: ParkArg) -> None:
    """Validate a park file and print what it holds; exit 1 listing every problem if invalid."""
    park = _load(park_file)
    streams = Counter(stream.kind for _, stream in park.streams())
    needs = Counter(need.kind for need in park.needs)
    stream_kinds = {st.id: st.kind for _, st in park.streams()}
    exchanges = Counter(stream_kinds[x.stream] for x in park.exchanges)

    table = Table(title=escape(park.park), title_justify="left")
    table.add_column("kind")
    for column in ("streams", "needs", "exchanges"):
        table.add_column(column, justify="right")
    for kind in ResourceKind:
        table.add_row(kind.value, str(streams[kind]), str(needs[kind]), str(exchanges[kind]))
    table.add_section()
    table.add_row(
        "total", str(streams.total()), str(needs.total()), str(exchanges.total()), style="bold"
    )
    console = Console(highlight=False)
    console.print(table)
    companies = {site.company for site in park.sites}
    summary = f"{park_file}: ok, {len(park.sites)} sites of {len(companies)} companies"
    console.print(escape(summary), soft_wrap=True)


@schemas_app.command("export")
def export(
    directory: Annotated[
        Path, typer.Argument(metavar="DIR", help="Where to write <Name>.schema.json files.")
    ],
) -> None:
    """Write the JSON Schema of the park file and of every payload, one file per model.

    Also writes ``openapi.json``, the HTTP API's OpenAPI document (served at /openapi.json).
    """
    schemas: dict[str, dict[str, Any]] = {"Park": park_json_schema()}
    for name, model in PAYLOAD_MODELS.items():
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schemas[name] = schema
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for name, schema in schemas.items():
            path = directory / f"{name}.schema.json"
            text = json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
            path.write_text(text, encoding="utf-8")
            typer.echo(str(path))
        path = directory / "openapi.json"
        document = create_app(get_settings()).openapi()
        path.write_text(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        typer.echo(str(path))
    except OSError as e:
        raise _fail(f"{directory}: cannot write schemas: {e.strerror or e}") from e


def match(park_file: ParkArg) -> None:
    """Print the exchangeable (stream, need) pairs at nominal surplus, one JSON object a line.

    Uses the live pipeline's matcher with each stream's nominal surplus minus what active
    exchanges already take from it, sustained indefinitely, at the current time. Lines are
    sorted by stream, then need. A benefit that cannot be quantified has ``co2e_t_per_yr``
    null and a ``benefit_note``. A pair whose quantities cannot be compared, or an exchange
    that cannot be counted, is reported on stderr (one line each, naming it and why); the
    other pairs still match and the exit code stays 0.
    """
    from domain.matching import Matcher  # the matcher builds an index: only load it when used

    park = _load(park_file)
    now = datetime.now(UTC)
    problems: list[str] = []
    try:
        matcher = Matcher.from_park(park, problems=problems)
        available = nominal_available(park, now)
        matches = [
            m
            for _, stream in park.streams()
            for m in matcher.match(stream.id, available[stream.id], now=now, sustained_s=math.inf)
        ]
    except SymbiosisError as e:
        raise _fail(f"{park_file}: {e}") from e
    problems += [f"not compared: {pair.reason}" for pair in matcher.incomparable()]
    for problem in problems:
        typer.echo(f"{park_file}: {problem}", err=True)
    for m in sorted(matches, key=lambda m: (m.stream, m.need)):
        line = {
            "stream": m.stream,
            "need": m.need,
            "kind": m.kind.value,
            "available": _num(m.available),
            "unit": m.unit,
            "quantity": _num(m.quantity),
            "need_unit": m.need_unit,
            "distance_km": round(m.distance_km, 3),
            "co2e_t_per_yr": _num(m.benefit.co2e_t_per_yr) if m.benefit.quantified else None,
        }
        if m.benefit.note is not None:
            line["benefit_note"] = m.benefit.note
        typer.echo(json.dumps(line, ensure_ascii=False))


def _num(value: float) -> float:
    """Nine significant digits: more than any meter gives, without float noise (0.1 + 0.2)."""
    return float(f"{value:.9g}")
