"""The ``symbiosis`` command: local stack, demo, matching, schemas.

Each command group lives in its own module; this file only assembles them and holds what is
global: ``--version``, ``--log-level`` and ``--log-format``, and the exit codes of
:mod:`symbiosis.config_errors` (0 ok, 1 problems found, 2 usage or environment).
"""

from __future__ import annotations

import os
from importlib import metadata
from typing import Annotated

import typer

from runtime.logs import configure_logging
from runtime.settings import LogFormat, LogLevel
from symbiosis.config_errors import (
    EXIT_USAGE,
    dotenv_variables,
    environment_problem,
    error_line,
    unknown_variables,
)
from symbiosis.stack_settings import StackSettings

app = typer.Typer(
    name="symbiosis",
    help=(
        "Streaming resource intelligence for industrial symbiosis: a live ledger of surplus "
        "heat, steam, water, gas and by-products, matched to partners' needs."
    ),
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="markdown",  # help texts write `code` and ``code``: shown as code
)

# --- command registration (one line per module) ---
from symbiosis import stack  # noqa: E402

app.add_typer(stack.app, name="stack")

from symbiosis import demo_cmd  # noqa: E402

app.command("demo")(demo_cmd.demo)
from symbiosis import park_cmds  # noqa: E402

park_cmds.register(app)
from symbiosis import api_cmds  # noqa: E402

api_cmds.register(app)
from symbiosis import import_cmd  # noqa: E402

import_cmd.register(app)
from symbiosis import classify_cmd  # noqa: E402

classify_cmd.register(app)
from symbiosis import services_cmd  # noqa: E402

services_cmd.register(app)


def _version(show: bool) -> None:
    if show:
        typer.echo(f"symbiosis {metadata.version('symbiosis')}")
        raise typer.Exit


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    log_level: Annotated[
        LogLevel | None,
        typer.Option(
            "--log-level",
            case_sensitive=False,
            show_default=False,
            help="Log level of this command and the processes it starts (default: "
            "SYMBIOSIS_LOG_LEVEL, else INFO).",
        ),
    ] = None,
    log_format: Annotated[
        LogFormat | None,
        typer.Option(
            "--log-format",
            case_sensitive=False,
            show_default=False,
            help="Log lines as `console` key=value text or `json` objects, on stderr (default: "
            "SYMBIOSIS_LOG_FORMAT, else console).",
        ),
    ] = None,
) -> None:
    """Streaming resource intelligence for industrial symbiosis.

    The log options are exported as ``SYMBIOSIS_LOG_LEVEL`` and ``SYMBIOSIS_LOG_FORMAT``, so
    this process's settings and every child process it starts log the same way.

    Raises:
        pydantic.ValidationError: a bad ``SYMBIOSIS_LOG_*`` value (:func:`main`: exit 2).
    """
    if log_level is not None:
        os.environ["SYMBIOSIS_LOG_LEVEL"] = log_level.value
    if log_format is not None:
        os.environ["SYMBIOSIS_LOG_FORMAT"] = log_format.value
    configure_logging()


def main() -> None:
    """Entry point of the ``symbiosis`` console script.

    Unknown ``SYMBIOSIS_*`` variables, in the environment or in ``./.env``, are warned about
    (with the closest known name). A bad setting, or an error of the environment that no
    command caught (Kafka or PostgreSQL unreachable, the local stack failing), ends the
    command with one line each on stderr and exit code 2, not a traceback; any other
    exception is a bug and shows its traceback.
    """
    for name, close in unknown_variables(os.environ, StackSettings):
        _warn_unknown(name, close, where="")
    for name, close in unknown_variables(dotenv_variables(StackSettings), StackSettings):
        if name not in os.environ:
            _warn_unknown(name, close, where=" (in .env)")
    try:
        app()
    except Exception as e:
        lines = environment_problem(e, StackSettings)
        if lines is None:
            raise
        for line in lines:
            error_line(line)
        raise SystemExit(EXIT_USAGE) from None


def _warn_unknown(name: str, close: str | None, *, where: str) -> None:
    hint = f"; did you mean {close}?" if close else ""
    typer.echo(f"warning: {name}{where} is not a symbiosis setting{hint}", err=True)
