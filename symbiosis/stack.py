"""``symbiosis stack up | down | status``: the local Kafka broker and PostgreSQL cluster."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from domain.errors import StackError
from symbiosis.local_kafka import LocalKafka
from symbiosis.local_mosquitto import LocalMosquitto
from symbiosis.local_postgres import LocalPostgres
from symbiosis.stack_settings import StackSettings, get_stack_settings

app = typer.Typer(
    help="Run the local stack: Apache Kafka (KRaft) and PostgreSQL 15.", no_args_is_help=True
)
err = Console(stderr=True)


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
    if LocalKafka(settings).down():
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
) -> None:
    """Install what is missing, start Kafka and PostgreSQL, wait until both answer."""
    settings = get_stack_settings()
    started = time.monotonic()
    try:
        with err.status("starting PostgreSQL and Kafka ..."):
            stack_up(settings)
            if mqtt:
                LocalMosquitto(settings).up()
    except StackError as e:
        err.print(f"[red]stack up failed:[/red] {e}")
        raise typer.Exit(1) from e
    err.print(
        f"stack ready in {time.monotonic() - started:.1f} s: kafka {settings.kafka_bootstrap}, "
        f"postgresql {settings.database_url}"
    )


@app.command("down")
def down() -> None:
    """Stop the services that 'stack up' started (Kafka, PostgreSQL, Mosquitto; data is kept)."""
    try:
        stopped = stack_down(get_stack_settings())
    except StackError as e:
        err.print(f"[red]stack down failed:[/red] {e}")
        raise typer.Exit(1) from e
    err.print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


@app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Show whether each service runs, where, and whether TimescaleDB is enabled.

    Exit code 0 when every service is ready, 1 when one is not (scripts can wait on it).
    """
    settings = get_stack_settings()
    rows = [
        LocalKafka(settings).status(),
        LocalPostgres(settings).status(),
        LocalMosquitto(settings).status(),
    ]
    all_ready = all(r["ready"] for r in rows)
    if as_json:
        typer.echo(json.dumps(rows))
    else:
        table = Table("service", "running", "ready", "pid", "address", "notes")
        for r in rows:
            notes = f"timescaledb: {r['timescaledb']}" if "timescaledb" in r else str(r["version"])
            table.add_row(str(r["service"]), _yes_no(r["running"]), _yes_no(r["ready"]),
                          str(r["pid"] or "-"), str(r["address"]), notes)  # fmt: skip
        Console().print(table)
    if not all_ready:
        raise typer.Exit(1)


def _yes_no(value: object) -> str:
    return "yes" if value else "no"
