"""The ``symbiosis demo`` command.

Exit codes: 1 when the park file has problems, 2 when it cannot be read or the stack or the
pipeline fails; the reason is one ``demo failed:`` line on stderr, never wrapped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from domain.errors import SymbiosisError
from domain.park import bundled_park_path, load_park
from runtime import metrics
from runtime.logs import configure_logging
from symbiosis.config_errors import exit_code, fail
from symbiosis.stack import StackOption
from symbiosis.stack_settings import get_stack_settings

err = Console(stderr=True, soft_wrap=True)


def demo(
    park: Annotated[
        Path | None,
        typer.Option(help="Park file (YAML); default: the bundled Kalundborg demo park."),
    ] = None,
    duration: Annotated[
        float, typer.Option(min=1, max=86_400, help="Seconds of simulated historian data.")
    ] = 40.0,
    rate_hz: Annotated[
        float, typer.Option(min=0.01, max=1000, help="Readings per meter per second.")
    ] = 5.0,
    metrics_port: Annotated[
        int,
        typer.Option(
            min=0,
            max=65000,
            help="Prometheus /metrics on 127.0.0.1: this port for the simulator, +1 the stream "
            "worker, +2 the sink (0: off).",
        ),
    ] = 19400,
    screenshot: Annotated[
        Path | None,
        typer.Option(
            help="Save a PNG of the live dashboard at the end of the run (headless Chromium "
            "from Debian's package, installed when missing).",
        ),
    ] = None,
    stack: StackOption = True,
) -> None:
    """Run the whole pipeline on a park and print a JSON summary as the last line.

    Historian simulator -> Kafka -> stream worker (ledger, matching, alerts) -> PostgreSQL,
    with the HTTP API serving the live dashboard (its URL, with an operator token valid for
    the run, is printed at the start).
    Resets the demo's topics and tables first, so runs do not add up. The summary counts
    what the database holds: readings_produced (acknowledged by Kafka), readings_stored,
    ledger_streams, alerts_opened and the alerts with their stream, need and availability.
    Exit 1 when the park file has problems, 2 when it cannot be read or the stack or the
    pipeline fails.

    \f
    Long because: a CLI command: most lines declare its options and their help (the form feed
    above ends what ``--help`` shows).
    """  # noqa: D301 - \f ends what --help shows
    from symbiosis.demo import print_summary, run_demo
    from symbiosis.stack import stack_up

    configure_logging(level="WARNING")  # unless --log-level / SYMBIOSIS_LOG_LEVEL says else
    settings = get_stack_settings().model_copy(update={"metrics_port": metrics_port})
    path = park or bundled_park_path()
    try:
        loaded = load_park(path)
        if stack:
            with err.status("starting the local stack ..."):
                stack_up(settings)
        metrics.serve(settings.metrics_port, process="demo", addr=settings.metrics_host)
        result = run_demo(settings, loaded, duration, rate_hz, screenshot=screenshot)
    except SymbiosisError as e:
        raise fail(str(e), code=exit_code(e), label="demo failed:") from e
    print_summary(result)
