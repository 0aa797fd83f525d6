"""The ingest services and their chores.

``symbiosis api`` (HTTP API), ``symbiosis mqtt-bridge`` (MQTT -> Kafka), ``symbiosis token
issue|revoke|list`` (tenants' API tokens) and ``symbiosis db migrate``.
"""

from __future__ import annotations

import difflib
import json
import re
import signal
import threading
from collections.abc import Collection, Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated, Final, NamedTuple

import psycopg
import typer
import uvicorn
from rich.console import Console
from rich.table import Table

from domain.errors import SymbiosisError
from domain.park import load_park
from ingest.api import tokens
from ingest.api.__main__ import bind, serve
from ingest.mqtt_service import run_bridge
from runtime.logs import configure_logging
from runtime.settings import Settings, get_settings
from schemas.common import SLUG_PATTERN
from sinks.migrate import migrate
from symbiosis.config_errors import EXIT_PROBLEMS, EXIT_USAGE, error_line, exit_code, fail
from topics.kafka_security import kafka_client_options
from topics.registry_follower import RegistryFollower

token_app = typer.Typer(
    help="Per-company API tokens (only their SHA-256 is stored; a token is shown once).",
    no_args_is_help=True,
)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
_err = Console(stderr=True, soft_wrap=True, highlight=False)  # status lines: never wrapped

REGISTRY_WAIT_S: Final = 15.0
"""How long ``token issue`` reads the registry for its company check before giving up on it."""
KAFKA_BOOTSTRAP_MS: Final = 5_000
"""How long that check waits for Kafka to answer at all (kafka-python's default is 30 s)."""


def api(
    host: Annotated[str | None, typer.Option(help="Listen address (default: settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: SYMBIOSIS_API_PORT).")] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (each follows the registry itself).")
    ] = 1,
) -> None:
    """Serve the HTTP API (OpenAPI document at /openapi.json, interactive docs at /docs).

    Applies pending database migrations first; needs Kafka and the database up
    (`symbiosis stack up`). Stop with Ctrl-C.
    """
    settings = get_settings()
    try:
        migrate(settings.database_url)
    except (SymbiosisError, psycopg.Error) as e:
        raise fail(f"cannot prepare the database: {e}", code=EXIT_USAGE) from e
    if workers == 1:
        serve(settings, host=host, port=port)
        return
    configure_logging()
    where = (host or settings.api_host, port or settings.api_port)
    bind(*where).close()  # a busy port: one line and exit 2 (cli.main), before any worker starts
    uvicorn.run(
        "ingest.api.main:app",
        host=where[0],
        port=where[1],
        workers=workers,
        log_level="warning",
    )


def mqtt_bridge() -> None:
    """Forward a plant's MQTT topic tree to Kafka (until Ctrl-C or SIGTERM).

    Subscribes to ``<SYMBIOSIS_MQTT_TOPIC_ROOT>/#`` on SYMBIOSIS_MQTT_HOST:PORT with QoS 1.
    Topics are ``<root>/<company>/<site>/.../<meter>``; a payload is one reading
    ``{"ts": "...", "value": 12.5, "unit": "MW"}`` or an array of them. Readings pass the same
    checks as the HTTP API; a message is acknowledged to the broker only once Kafka has its
    readings (or their rejection). Also reads United Manufacturing Hub ``_historian`` messages
    under ``umh/v1/#`` (``umh/v1/<company>/<site>/.../_historian/...``, ``{"timestamp_ms": ...,
    "<meter or tag>": 12.5}``; docs/user-guide.md, "MQTT bridge"), and is a Sparkplug B host on
    ``spBv1.0/#`` (group id = company, edge node id = site; retained STATE
    ``spBv1.0/STATE/<host id>``).
    Start a local broker with `symbiosis stack up --mqtt`. Serves /metrics and /healthz on
    SYMBIOSIS_METRICS_PORT (0: off).
    """
    settings = get_settings()
    configure_logging()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        stats = run_bridge(settings, stop, ready=lambda what: _err.print(f"bridging {what}"))
    except SymbiosisError as e:
        raise fail(str(e), code=exit_code(e)) from e
    except OSError as e:  # the metrics port
        raise fail(f"cannot serve metrics on port {settings.metrics_port}: {e}", code=2) from e
    _err.print(f"stopped: {stats}")


def company_warning(company: str, known: Collection[str]) -> str | None:
    """The warning for a token issued to a company no registered site or park file names.

    None when ``known`` has the company. Otherwise names it, with the closest known company
    when one is close (a typo); a company may get its token before registering its first
    site, so this is a warning, never a refusal.
    """
    if company in known:
        return None
    close = difflib.get_close_matches(company, sorted(known), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"no registered site or park names company {company!r}{hint}"


def registry_companies(settings: Settings, *, timeout_s: float = REGISTRY_WAIT_S) -> set[str]:
    """The companies of the sites registered now (read from the registry topics).

    Kafka must answer within :data:`KAFKA_BOOTSTRAP_MS` and the registry be read within
    ``timeout_s``; an unreachable Kafka costs seconds, not half a minute.

    Raises:
        UnavailableError: Kafka could not be reached or read in time.
    """
    options = {**kafka_client_options(settings), "bootstrap_timeout_ms": KAFKA_BOOTSTRAP_MS}
    follower = RegistryFollower(settings.kafka_bootstrap, settings.topics, options=options)
    follower.start()
    try:
        follower.wait_ready(timeout_s)
        with follower.locked() as directory:
            return {site.company for site in directory.sites.values()}
    finally:
        follower.stop()


def _check_company(company: str, parks: Sequence[Path]) -> None:
    """Warn (stderr) when no registered site, or no site of ``parks`` when given, has it."""
    try:
        if parks:
            known = {site.company for park in parks for site in load_park(park).sites}
        else:
            known = registry_companies(get_settings())
    except SymbiosisError as e:
        error_line(f"cannot check company {company!r}: {e}", label="warning:")
        return
    warning = company_warning(company, known)
    if warning is not None:
        error_line(warning, label="warning:")


def _issue_token(company: str | None, label: str) -> str:
    """Store a new token (migrating the database first) and return it.

    Raises:
        SymbiosisError, psycopg.Error: the database cannot be prepared or written.
    """
    settings = get_settings()
    migrate(settings.database_url)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        return tokens.issue(conn, company, label=label)


@token_app.command("issue")
def issue(
    company: Annotated[
        str | None, typer.Argument(help="The company (tenant) the token acts for.")
    ] = None,
    operator: Annotated[
        bool, typer.Option("--operator", help="An operator token: sees and may do everything.")
    ] = False,
    label: Annotated[str, typer.Option(help="A note on what the token is for.")] = "",
    parks: Annotated[
        list[Path] | None,
        typer.Option(
            "--park",
            metavar="PARK",
            show_default=False,
            help="Check COMPANY against this park file's sites instead of the registry "
            "(repeatable; no Kafka needed).",
        ),
    ] = None,
) -> None:
    """Issue a token and print it once (store it now: it cannot be shown again).

    Warns (without refusing) when no registered site, or no site of the `--park` files,
    belongs to COMPANY, naming the closest known company. Exit 2 on misuse or when the
    database cannot be reached.
    """
    if operator == (company is not None):
        raise fail("give a COMPANY, or --operator (not both)", code=EXIT_USAGE)
    if company is not None:
        if not re.match(SLUG_PATTERN, company):
            message = f"company: {company!r} is not a slug (lowercase letters, digits, - or _)"
            raise fail(message, code=EXIT_USAGE)
        _check_company(company, parks or [])
    try:
        token = _issue_token(company, label)
    except (SymbiosisError, psycopg.Error) as e:
        raise fail(str(e), code=exit_code(e)) from e
    typer.echo(token)


@token_app.command("revoke")
def revoke(
    prefix: Annotated[str, typer.Argument(help="The token, or its first 10 characters.")],
) -> None:
    """Revoke a token (API processes stop accepting it within SYMBIOSIS_API_TOKEN_CACHE_S).

    Exit 1 when no live token has the prefix, 2 when the database cannot be reached.
    """
    try:
        with psycopg.connect(get_settings().database_url, autocommit=True) as conn:
            n = tokens.revoke(conn, prefix)
    except (SymbiosisError, psycopg.Error) as e:
        raise fail(str(e), code=exit_code(e)) from e
    if n == 0:
        raise fail(f"no live token starts with {prefix[:10]!r}", code=EXIT_PROBLEMS)
    typer.echo(f"revoked {n} token(s)")


class TokenRow(NamedTuple):
    """One stored token as ``token list`` shows it (never the token itself)."""

    prefix: str
    company: str | None
    role: str
    label: str
    created_at: datetime
    revoked_at: datetime | None


def token_rows_json(rows: Sequence[TokenRow]) -> list[dict[str, str | None]]:
    """The rows as JSON objects: every field whole, times in ISO 8601, operator company null."""
    return [
        {
            "prefix": r.prefix,
            "company": r.company,
            "role": r.role,
            "label": r.label,
            "created_at": r.created_at.isoformat(),
            "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
        }
        for r in rows
    ]


def token_table(rows: Sequence[TokenRow]) -> Table:
    """The rows as a table that never truncates: long companies and labels fold onto lines."""
    table = Table()
    for name in ("prefix", "company", "role", "label", "created", "revoked"):
        folds = name in ("company", "label")
        table.add_column(name, overflow="fold", no_wrap=not folds, min_width=4 if folds else None)
    for r in rows:
        table.add_row(
            r.prefix, r.company or "-", r.role, r.label, f"{r.created_at:%Y-%m-%d %H:%M}",
            f"{r.revoked_at:%Y-%m-%d %H:%M}" if r.revoked_at else "",
        )  # fmt: skip
    return table


def _token_rows() -> list[TokenRow]:
    """Every stored token, oldest first.

    Raises:
        psycopg.Error: the database cannot be read.
    """
    with psycopg.connect(get_settings().database_url, autocommit=True) as conn:
        found = conn.execute(
            "SELECT prefix, company, role, label, created_at, revoked_at"
            " FROM api_tokens ORDER BY created_at"
        ).fetchall()
    return [TokenRow(*row) for row in found]


@token_app.command("list")
def list_tokens(
    as_json: Annotated[
        bool, typer.Option("--json", help="A JSON array on stdout, every field whole.")
    ] = False,
) -> None:
    """List tokens by prefix, company, role and state (never the tokens themselves).

    Exit 2 when the database cannot be reached.
    """
    try:
        rows = _token_rows()
    except psycopg.Error as e:
        raise fail(str(e), code=EXIT_USAGE) from e
    if as_json:
        typer.echo(json.dumps(token_rows_json(rows), ensure_ascii=False))
        return
    Console().print(token_table(rows))


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply pending migrations (the sink and the API also do this when they start)."""
    try:
        applied = migrate(get_settings().database_url)
    except (SymbiosisError, psycopg.Error) as e:
        raise fail(str(e), code=exit_code(e)) from e
    typer.echo(f"applied: {applied}" if applied else "up to date")


@db_app.command("rebuild")
def db_rebuild(
    into: Annotated[
        str,
        typer.Option(
            "--into",
            metavar="DATABASE_URL",
            help="libpq URL of the database to fill (created when missing); never the live "
            "one (SYMBIOSIS_DATABASE_URL).",
            show_default=False,
        ),
    ],
    timeout: Annotated[
        float, typer.Option(min=1, help="Give up after this many seconds (run again to finish).")
    ] = 3600.0,
) -> None:
    """Recreate the readings, ledger, alerts and offers tables from the Kafka topics.

    Replays the retained topics from their first offset into another database with the
    sink's own write path, so it gets the rows the live sink stored (the Kafka log is the
    source of truth). Rows already there are skipped: an interrupted rebuild is completed by
    running it again. What the topics no longer retain cannot be rebuilt.
    """
    from sinks.rebuild import rebuild

    settings = get_settings()
    if psycopg.conninfo.conninfo_to_dict(into) == psycopg.conninfo.conninfo_to_dict(
        settings.database_url
    ):
        raise fail("--into is the live database: give another one", code=EXIT_USAGE)
    configure_logging()
    err = Console(stderr=True, soft_wrap=True)

    said = [-1]

    def progress(done: int, total: int) -> None:
        if done != said[0]:  # a line when it moves, not every second
            said[0] = done
            err.print(f"rebuild: {done:,} of {total:,} records", markup=False)

    try:
        stats = rebuild(settings, into, progress=progress, timeout_s=timeout)
    except SymbiosisError as e:
        raise fail(str(e), code=exit_code(e)) from e
    typer.echo(json.dumps({"records": stats.records, "readings": stats.readings,
                           "ledger": stats.ledger, "alerts": stats.alerts,
                           "offers": stats.offers}))  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add these commands to the ``symbiosis`` app."""
    app.command("api")(api)
    app.command("mqtt-bridge")(mqtt_bridge)
    app.add_typer(token_app, name="token")
    app.add_typer(db_app, name="db")
