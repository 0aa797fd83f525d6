"""``symbiosis park check``, ``symbiosis schemas export`` and ``symbiosis match``.

Exit codes (:mod:`symbiosis.config_errors`): 1 when the park file has problems (every problem
listed, one per line, or as JSON objects with ``--json``), 2 when a file cannot be read or
written or the command is misused; no traceback for a problem in the input. ``match`` exits 0
despite a problem of one item in a valid park (a pair whose quantities cannot be compared, an
exchange that cannot be counted): it says so on stderr, one line per item, and matches the
rest. Figures are printed at six significant figures (:func:`domain.figures.significant`, as
the pipeline publishes them), never with float noise.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from domain.errors import ParkFileError, SymbiosisError
from domain.figures import significant as figure
from domain.match_explain import PairVerdict, explain_need
from domain.park import ParkValidationError, load_park, nominal_available, park_json_schema
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
from symbiosis.config_errors import EXIT_PROBLEMS, EXIT_USAGE, exit_code, fail

if TYPE_CHECKING:
    from domain.matching import Match as MatchFound
    from domain.matching import Matcher

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
JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``symbiosis`` app."""
    app.add_typer(park_app, name="park")
    app.add_typer(schemas_app, name="schemas")
    app.command("match")(match)


def _load(path: Path) -> Park:
    """The park; a problem ends the command (exit 1: invalid, 2: cannot be read)."""
    try:
        return load_park(path)
    except SymbiosisError as e:
        raise fail(str(e), code=exit_code(e), label="") from e


# --- park check ---------------------------------------------------------------------------------


def park_problems(error: ParkFileError, source: str) -> list[dict[str, Any]]:
    """Each problem of a park file as ``{file, line, path, reason}`` (line, path may be empty).

    A validation error gives one object per issue; any other (unreadable file, YAML syntax)
    one object, its ``file:line:`` prefix parsed off.
    """
    if isinstance(error, ParkValidationError):
        return [
            {"file": i.source, "line": i.line, "path": i.field, "reason": i.message}
            for i in error.issues
        ]
    found = re.fullmatch(rf"{re.escape(source)}(?::(\d+))?: (.*)", str(error), re.DOTALL)
    if found is None:
        return [{"file": source, "line": None, "path": "", "reason": str(error)}]
    line = int(found[1]) if found[1] else None
    return [{"file": source, "line": line, "path": "", "reason": found[2]}]


def park_summary(park: Park) -> dict[str, Any]:
    """What a valid park holds: counts of sites, companies, and per kind streams/needs/exchanges."""
    streams = Counter(stream.kind for _, stream in park.streams())
    needs = Counter(need.kind for need in park.needs)
    stream_kinds = {st.id: st.kind for _, st in park.streams()}
    exchanges = Counter(stream_kinds[x.stream] for x in park.exchanges)
    return {
        "park": park.park,
        "sites": len(park.sites),
        "companies": len({site.company for site in park.sites}),
        "streams": streams.total(),
        "needs": needs.total(),
        "exchanges": exchanges.total(),
        "kinds": {
            kind.value: {"streams": streams[kind], "needs": needs[kind],
                         "exchanges": exchanges[kind]}
            for kind in ResourceKind
        },
    }  # fmt: skip


@park_app.command("check")
def check(park_file: ParkArg, as_json: JsonOpt = False) -> None:
    """Validate a park file and print what it holds; exit 1 listing every problem if invalid.

    With `--json`: `{"file", "ok", "problems": [{"file", "line", "path", "reason"}],
    "summary"}`, the summary counting sites, companies, streams, needs and exchanges (per kind
    too) when the file is valid, else only the problems. Exit 2 when the file cannot be read.
    """
    if not as_json:
        _print_summary(park_file, park_summary(_load(park_file)))
        return
    try:
        park = load_park(park_file)
    except ParkFileError as e:
        problems = park_problems(e, str(park_file))
        _echo_json({"file": str(park_file), "ok": False, "problems": problems,
                    "summary": {"problems": len(problems)}})  # fmt: skip
        raise typer.Exit(exit_code(e)) from e
    summary = {"problems": 0, **park_summary(park)}
    _echo_json({"file": str(park_file), "ok": True, "problems": [], "summary": summary})


def _print_summary(park_file: Path, summary: dict[str, Any]) -> None:
    table = Table(title=escape(summary["park"]), title_justify="left")
    table.add_column("kind")
    for column in ("streams", "needs", "exchanges"):
        table.add_column(column, justify="right")
    for kind, counts in summary["kinds"].items():
        table.add_row(kind, *(str(counts[c]) for c in ("streams", "needs", "exchanges")))
    table.add_section()
    totals = (str(summary[c]) for c in ("streams", "needs", "exchanges"))
    table.add_row("total", *totals, style="bold")
    console = Console(highlight=False)
    console.print(table)
    sites, companies = summary["sites"], summary["companies"]
    line = (f"{park_file}: ok, {sites} site{'' if sites == 1 else 's'} of {companies} "
            f"compan{'y' if companies == 1 else 'ies'}")  # fmt: skip
    console.print(escape(line), soft_wrap=True)


def _echo_json(document: dict[str, Any]) -> None:
    typer.echo(json.dumps(document, ensure_ascii=False))


# --- schemas export -----------------------------------------------------------------------------


@schemas_app.command("export")
def export(
    directory: Annotated[
        Path, typer.Argument(metavar="DIR", help="Where to write `<Name>.schema.json` files.")
    ],
) -> None:
    """Write the JSON Schema of the park file and of every payload, one file per model.

    Also writes ``openapi.json``, the HTTP API's OpenAPI document (served at /openapi.json).
    Exit 2 when the directory cannot be written.
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
        message = f"{directory}: cannot write schemas: {e.strerror or e}"
        raise fail(message, code=EXIT_USAGE, label="") from e


# --- match --------------------------------------------------------------------------------------


def match(
    park_file: ParkArg,
    explain: Annotated[
        str | None,
        typer.Option(
            "--explain",
            metavar="NEED_ID",
            show_default=False,
            help="For this need, every stream of the park and why it does or does not match.",
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="With --explain: one JSON object instead of the table."),
    ] = False,
) -> None:
    """Print the exchangeable (stream, need) pairs at nominal surplus, one JSON object a line.

    Uses the live pipeline's matcher with each stream's nominal surplus minus what active
    exchanges already take from it, sustained indefinitely, at the current time. Lines are
    sorted by stream, then need. A benefit that cannot be quantified has ``co2e_t_per_yr``
    null and a ``benefit_note``. A pair whose quantities cannot be compared, or an exchange
    that cannot be counted, is reported on stderr (one line each, naming it and why); the
    other pairs still match and the exit code stays 0.

    With `--explain NEED_ID`: a table of every stream of the park against that need, each
    with its verdict and the rules it fails (company, kind, distance, window, temperature,
    EWC code, water quality, gas, quantity), or with `--json` one object
    `{"need", ..., "streams": [{"stream", "match", "quantity", "checks": [{"rule", "ok",
    "detail"}]}]}`. Exit 2 for an unknown need.
    """
    from domain.matching import Matcher  # the matcher builds an index: only load it when used

    park = _load(park_file)
    now = datetime.now(UTC)
    problems: list[str] = []
    try:
        matcher = Matcher.from_park(park, problems=problems)
        if explain is not None:
            verdicts = _explain(park, matcher, explain, now, park_file, problems)
        else:
            matches = _nominal_matches(park, matcher, now)
    except SymbiosisError as e:
        raise fail(f"{park_file}: {e}", code=exit_code(e), label="") from e
    problems += [f"not compared: {pair.reason}" for pair in matcher.incomparable()]
    for problem in problems:
        typer.echo(f"{park_file}: {problem}", err=True)
    if explain is not None:
        _print_explanation(park, matcher.need(explain), verdicts, as_json=as_json)
        return
    for m in sorted(matches, key=lambda m: (m.stream, m.need)):
        typer.echo(json.dumps(_match_line(m), ensure_ascii=False))


def _nominal_matches(park: Park, matcher: Matcher, now: datetime) -> list[MatchFound]:
    """Every stream's matches at its nominal surplus less active exchanges, sustained."""
    available = nominal_available(park, now)
    return [
        m
        for _, stream in park.streams()
        for m in matcher.match(stream.id, available[stream.id], now=now, sustained_s=math.inf)
    ]


def _match_line(m: MatchFound) -> dict[str, Any]:
    """One line of ``match``'s output, figures at six significant figures."""
    line: dict[str, Any] = {
        "stream": m.stream,
        "need": m.need,
        "kind": m.kind.value,
        "available": figure(m.available),
        "unit": m.unit,
        "quantity": figure(m.quantity),
        "need_unit": m.need_unit,
        "distance_km": round(m.distance_km, 3),
        "co2e_t_per_yr": figure(m.benefit.co2e_t_per_yr) if m.benefit.quantified else None,
    }
    if m.benefit.note is not None:
        line["benefit_note"] = m.benefit.note
    return line


def _explain(
    park: Park,
    matcher: Matcher,
    need_id: str,
    now: datetime,
    park_file: Path,
    problems: list[str],
) -> list[PairVerdict]:
    """:func:`explain_need`, or the command's end: unknown need (2), need left out (1)."""
    known = [need.id for need in park.needs]
    if need_id not in known:
        close = difflib.get_close_matches(need_id, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise fail(f"{park_file}: no need {need_id!r}{hint}", code=EXIT_USAGE, label="")
    try:
        return explain_need(park, matcher, need_id, now)
    except KeyError:
        why = next((p for p in problems if repr(need_id) in p), "left out of matching")
        raise fail(f"{park_file}: {why}", code=EXIT_PROBLEMS, label="") from None


def _print_explanation(
    park: Park, need: Need, verdicts: list[PairVerdict], *, as_json: bool
) -> None:
    site = next(s for s in park.sites if s.id == need.site)
    if as_json:
        _echo_json({
            "need": need.id, "site": site.id, "company": site.company, "kind": need.kind.value,
            "unit": need.unit, "min_quantity": figure(need.min_quantity),
            "streams": [v.as_dict(figure) for v in verdicts],
        })  # fmt: skip
        return
    title = (
        f"need {need.id} of {site.company} ({need.kind.value}, at least "
        f"{need.min_quantity:g} {need.unit}): every stream at nominal surplus"
    )
    table = Table(title=escape(title), title_justify="left")
    table.add_column("stream", overflow="fold")
    table.add_column("company", overflow="fold")
    table.add_column("match", no_wrap=True)
    table.add_column("why", overflow="fold")
    for v in sorted(verdicts, key=lambda v: (not v.match, v.stream.id)):
        if v.match and v.quantity is not None:
            why = f"{figure(v.quantity):g} {need.unit} at {v.distance_km:.1f} km"
        else:
            why = "; ".join(f"{c.rule}: {c.detail}" for c in v.checks if not c.ok)
        row = (v.stream.id, v.site.company, "yes" if v.match else "no", why)
        table.add_row(*(escape(cell) for cell in row))
    Console(highlight=False).print(table)
