"""The ``symbiosis`` command: local stack, demo, matching, schemas.

Each command group lives in its own module; this file only assembles them.
"""

from __future__ import annotations

import typer

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


def main() -> None:
    """Entry point of the ``symbiosis`` console script."""
    app()
