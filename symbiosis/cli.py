"""The ``symbiosis`` command: local stack, demo, matching, schemas.

Each command group lives in its own module; this file only assembles them.
"""

from __future__ import annotations

import os
import sys
from importlib import metadata
from typing import Annotated

import typer
from pydantic import ValidationError

from symbiosis.config_errors import describe, unknown_variables
from symbiosis.stack_settings import StackSettings

app = typer.Typer(
    name="symbiosis",
    help=(
        "Streaming resource intelligence for industrial symbiosis: a live ledger of surplus "
        "heat, steam, water, gas and by-products, matched to partners' needs."
    ),
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
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
) -> None:
    """Streaming resource intelligence for industrial symbiosis."""


def main() -> None:
    """Entry point of the ``symbiosis`` console script.

    Unknown ``SYMBIOSIS_*`` variables are warned about (with the closest known name); a bad
    setting ends the command with one line per variable and exit code 2, not a traceback.
    """
    for name, close in unknown_variables(os.environ, StackSettings):
        hint = f"; did you mean {close}?" if close else ""
        print(f"warning: {name} is not a symbiosis setting{hint}", file=sys.stderr)
    try:
        app()
    except ValidationError as e:
        if e.title not in ("Settings", "StackSettings"):
            raise
        for line in describe(e):
            print(f"error: {line}", file=sys.stderr)
        sys.exit(2)
