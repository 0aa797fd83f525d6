"""The ingest services and their chores.

``symbiosis api`` (HTTP API), ``symbiosis mqtt-bridge`` (MQTT -> Kafka), ``symbiosis token
issue|revoke|list`` (tenants' API tokens) and ``symbiosis db migrate``.
"""

from __future__ import annotations

import re
import signal
import threading
from typing import Annotated

import psycopg
import typer
import uvicorn
from rich.console import Console
from rich.table import Table

from domain.errors import SymbiosisError
from ingest.acked_publisher import Publisher
from ingest.api import tokens
from ingest.api.__main__ import serve
from ingest.gateway import ReadingGateway
from ingest.mqtt_bridge import MqttBridge
from runtime.logs import configure_logging
from runtime.settings import get_settings
from schemas.common import SLUG_PATTERN
from sinks.migrate import migrate
from topics.kafka_admin import ensure_topics
from topics.kafka_security import kafka_client_options
from topics.registry_follower import RegistryFollower

token_app = typer.Typer(
    help="Per-company API tokens (only their SHA-256 is stored; a token is shown once).",
    no_args_is_help=True,
)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
_err = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    _err.print(f"[red]error:[/red] {message}", markup=True, highlight=False)
    return typer.Exit(1)


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
        raise _fail(f"cannot prepare the database: {e}") from e
    if workers == 1:
        serve(settings, host=host, port=port)
        return
    configure_logging()
    uvicorn.run(
        "ingest.api.main:app",
        host=host or settings.api_host,
        port=port or settings.api_port,
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
    "<meter or tag>": 12.5}``; README, "MQTT bridge"), and is a Sparkplug B host on ``spBv1.0/#``
    (group id = company, edge node id = site; retained STATE ``spBv1.0/STATE/<host id>``).
    Start a local broker with `symbiosis stack up --mqtt`.
    """
    settings = get_settings()
    configure_logging()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        options = kafka_client_options(settings)
        ensure_topics(
            settings.kafka_bootstrap, settings.topics.configs(), settings.partitions, options
        )
        publisher = Publisher(settings.kafka_bootstrap, **options)
        registry = RegistryFollower(settings.kafka_bootstrap, settings.topics, options=options)
        registry.start()
        registry.wait_ready()
        bridge = MqttBridge(
            ReadingGateway(settings, publisher, registry),
            host=settings.mqtt_host,
            port=settings.mqtt_port,
            root=settings.mqtt_topic_root,
            client_id=f"{settings.app_id}-mqtt-bridge",
        )
        bridge.start()
    except SymbiosisError as e:
        raise _fail(str(e)) from e
    broker = f"mqtt://{settings.mqtt_host}:{settings.mqtt_port}"
    trees = f"{broker}/{settings.mqtt_topic_root}/#, {broker}/umh/v1/# and {broker}/spBv1.0/#"
    _err.print(f"bridging {trees} -> {settings.topics.readings}")
    stop.wait()
    bridge.stop()
    registry.stop()
    publisher.close()
    _err.print(f"stopped: {bridge.stats}")


@token_app.command("issue")
def issue(
    company: Annotated[
        str | None, typer.Argument(help="The company (tenant) the token acts for.")
    ] = None,
    operator: Annotated[
        bool, typer.Option("--operator", help="An operator token: sees and may do everything.")
    ] = False,
    label: Annotated[str, typer.Option(help="A note on what the token is for.")] = "",
) -> None:
    """Issue a token and print it once (store it now: it cannot be shown again)."""
    if operator == (company is not None):
        raise _fail("give a COMPANY, or --operator (not both)")
    if company is not None and not re.match(SLUG_PATTERN, company):
        raise _fail(f"company: {company!r} is not a slug (lowercase letters, digits, - or _)")
    settings = get_settings()
    try:
        migrate(settings.database_url)
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            token = tokens.issue(conn, company, label=label)
    except (SymbiosisError, psycopg.Error) as e:
        raise _fail(str(e)) from e
    typer.echo(token)


@token_app.command("revoke")
def revoke(
    prefix: Annotated[str, typer.Argument(help="The token, or its first 10 characters.")],
) -> None:
    """Revoke a token (API processes stop accepting it within SYMBIOSIS_API_TOKEN_CACHE_S)."""
    try:
        with psycopg.connect(get_settings().database_url, autocommit=True) as conn:
            n = tokens.revoke(conn, prefix)
    except (SymbiosisError, psycopg.Error) as e:
        raise _fail(str(e)) from e
    if n == 0:
        raise _fail(f"no live token starts with {prefix[:10]!r}")
    typer.echo(f"revoked {n} token(s)")


@token_app.command("list")
def list_tokens() -> None:
    """List tokens by prefix, company, role and state (never the tokens themselves)."""
    try:
        with psycopg.connect(get_settings().database_url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT prefix, coalesce(company, '-'), role, label, created_at, revoked_at"
                " FROM api_tokens ORDER BY created_at"
            ).fetchall()
    except psycopg.Error as e:
        raise _fail(str(e)) from e
    table = Table("prefix", "company", "role", "label", "created", "revoked")
    for prefix, company, role, label, created, revoked in rows:
        table.add_row(
            str(prefix), str(company), str(role), str(label), f"{created:%Y-%m-%d %H:%M}",
            f"{revoked:%Y-%m-%d %H:%M}" if revoked else "",
        )  # fmt: skip
    Console().print(table)


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply pending migrations (the sink and the API also do this when they start)."""
    try:
        applied = migrate(get_settings().database_url)
    except (SymbiosisError, psycopg.Error) as e:
        raise _fail(str(e)) from e
    typer.echo(f"applied: {applied}" if applied else "up to date")


def register(app: typer.Typer) -> None:
    """Add these commands to the ``symbiosis`` app."""
    app.command("api")(api)
    app.command("mqtt-bridge")(mqtt_bridge)
    app.add_typer(token_app, name="token")
    app.add_typer(db_app, name="db")
