"""``symbiosis stack up | down | status``: the local Kafka broker and PostgreSQL cluster.

Exit codes: ``up`` and ``down`` exit 2 when a service cannot be installed, started or stopped
(one line, never wrapped); ``status`` exits 1 when a service is not ready.
"""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from domain.errors import StackError
from symbiosis.config_errors import EXIT_PROBLEMS, EXIT_USAGE, fail
from symbiosis.local_kafka import LocalKafka, running_shapes
from symbiosis.local_mosquitto import LocalMosquitto
from symbiosis.local_postgres import LocalPostgres
from symbiosis.stack_settings import StackSettings, get_stack_settings

StackOption = Annotated[
    bool,
    typer.Option(
        "--stack/--no-stack",
        help="Start the local stack first (--no-stack: use the SYMBIOSIS_* services as set).",
    ),
]
"""The ``--stack/--no-stack`` option of the commands that run the pipeline locally."""

app = typer.Typer(
    help="Run the local stack: Apache Kafka (KRaft) and PostgreSQL 15.", no_args_is_help=True
)
err = Console(stderr=True, soft_wrap=True, highlight=False)  # status lines: never wrapped


def stack_up(settings: StackSettings) -> None:
    """Start both services (installing what is missing) and wait until they answer.

    Raises:
        StackError: a service could not be installed or started; names which and why.
    """
    LocalPostgres(settings).up()
    LocalKafka(settings).up()


def stack_down(settings: StackSettings) -> list[str]:
    """Stop what :func:`stack_up` started; returns the names of services that were running."""
    stopped = []
    if any([k.down() for k in running_shapes(settings)]):  # one node, or a cluster
        stopped.append("kafka")
    if LocalPostgres(settings).down():
        stopped.append("postgresql")
    if LocalMosquitto(settings).down():
        stopped.append("mosquitto")
    return stopped


@app.command("up")
def up(
    mqtt: Annotated[
        bool, typer.Option("--mqtt", help="Also start the MQTT broker (for the MQTT bridge).")
    ] = False,
    brokers: Annotated[
        int | None,
        typer.Option(
            "--brokers",
            min=1,
            max=5,
            help="Kafka nodes: 3 starts a local KRaft cluster (replication factor 3, "
            "min.insync.replicas 2; ports 19092, 19094, 19096). Other commands follow it with "
            "SYMBIOSIS_KAFKA_BROKERS=3. Default: SYMBIOSIS_KAFKA_BROKERS, else 1.",
        ),
    ] = None,
) -> None:
    """Install what is missing, start Kafka and PostgreSQL, wait until both answer.

    Exit 2 when a service cannot be installed or started (the line says which and why), or
    when a Kafka of another shape runs (`symbiosis stack down` first).
    """
    settings = get_stack_settings()
    if brokers is not None and brokers != settings.kafka_brokers:
        settings = StackSettings(kafka_brokers=brokers)
    other = [k for k in running_shapes(settings) if k.brokers != settings.kafka_brokers]
    if other:
        raise fail(
            f"a Kafka of {other[0].brokers} node(s) is running; `symbiosis stack down` first",
            code=EXIT_USAGE, label="stack up failed:",
        )  # fmt: skip
    started = time.monotonic()
    try:
        with err.status("starting PostgreSQL and Kafka ..."):
            stack_up(settings)
            if mqtt:
                LocalMosquitto(settings).up()
    except StackError as e:
        raise fail(str(e), code=EXIT_USAGE, label="stack up failed:") from e
    err.print(
        f"stack ready in {time.monotonic() - started:.1f} s: kafka {settings.kafka_bootstrap}, "
        f"postgresql {settings.database_url}"
    )
    if settings.kafka_brokers > 1 and get_stack_settings().kafka_brokers != settings.kafka_brokers:
        err.print(
            f"a {settings.kafka_brokers}-node Kafka: run the other commands with "
            f"SYMBIOSIS_KAFKA_BROKERS={settings.kafka_brokers} (in the environment or .env)"
        )


@app.command("down")
def down() -> None:
    """Stop the services that `stack up` started (Kafka, PostgreSQL, Mosquitto; data is kept).

    Exit 2 when a service cannot be stopped.
    """
    try:
        stopped = stack_down(get_stack_settings())
    except StackError as e:
        raise fail(str(e), code=EXIT_USAGE, label="stack down failed:") from e
    err.print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


@app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Show whether each service runs, where, and whether TimescaleDB is enabled.

    Exit code 0 when every service is ready, 1 when one is not (scripts can wait on it). With
    `--json`: an array of `{"service", "running", "ready", "pid", "address", ...}` objects.
    """
    settings = get_stack_settings()
    rows = [
        LocalKafka(settings).status(),
        LocalPostgres(settings).status(),
        LocalMosquitto(settings).status(),
    ]
    all_ready = all(r["ready"] for r in rows)
    if as_json:
        typer.echo(json.dumps(rows, default=str))
    else:
        table = Table("service", "running", "ready", "pid", "address", "notes")
        for r in rows:
            notes = f"timescaledb: {r['timescaledb']}" if "timescaledb" in r else str(r["version"])
            table.add_row(str(r["service"]), _yes_no(r["running"]), _yes_no(r["ready"]),
                          str(r["pid"] or "-"), str(r["address"]), notes)  # fmt: skip
        Console().print(table)
    if not all_ready:
        raise typer.Exit(EXIT_PROBLEMS)


def _yes_no(value: object) -> str:
    return "yes" if value else "no"
