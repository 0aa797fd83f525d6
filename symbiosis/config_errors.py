"""Problems told the way a person at a terminal (or a script) can act on them.

Exit codes of every ``symbiosis`` command: :data:`EXIT_OK` (0), :data:`EXIT_PROBLEMS` (1: the
command ran and found problems, e.g. an invalid park file, a service not ready) and
:data:`EXIT_USAGE` (2: the command could not do its job as asked: a usage error, a file that
cannot be read, a bad setting, or Kafka/PostgreSQL unreachable).

An error is one line on stderr (:func:`error_line`), never wrapped at the terminal's width, so
a path or a message can be copied and grepped whole. A bad ``SYMBIOSIS_*`` value becomes one
line naming the variable, what is wrong and what was given (:func:`describe`); a
``SYMBIOSIS_*`` variable that no setting reads, in the environment or in ``.env`` (usually a
typo), is warned about with the closest known name (:func:`unknown_variables`).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Collection, Iterable, Mapping
from typing import Any, Final

import psycopg
import typer
from kafka.errors import KafkaError
from pydantic import BaseModel, ValidationError
from pydantic_settings import BaseSettings, DotEnvSettingsSource

from domain.errors import InvalidInputError, SymbiosisError

PREFIX: Final = "SYMBIOSIS_"

EXIT_OK: Final = 0
EXIT_PROBLEMS: Final = 1
EXIT_USAGE: Final = 2


def error_line(message: str, *, label: str = "error:") -> None:
    """Write ``<label> <message>`` to stderr as is: no wrapping, no markup (label in red on a TTY).

    An empty label writes the message alone (``file:line: ...`` lines). A message of several
    lines (a park file's issues) keeps its own line breaks.
    """
    typer.echo(f"{typer.style(label, fg='red')} {message}" if label else message, err=True)


def fail(message: str, *, code: int, label: str = "error:") -> typer.Exit:
    """Report ``message`` (:func:`error_line`) and return the exit to raise with ``code``."""
    error_line(message, label=label)
    return typer.Exit(code)


def exit_code(error: BaseException) -> int:
    """The exit code for a command that stops on ``error``.

    :data:`EXIT_PROBLEMS` for invalid input (:class:`~domain.errors.InvalidInputError`: a
    park file or record with problems); :data:`EXIT_USAGE` for everything else: a file that
    cannot be read (an ``OSError`` under the project error), Kafka, PostgreSQL or the local
    stack unavailable or failing (transient and fatal errors, library errors).
    """
    if isinstance(error.__cause__, OSError):
        return EXIT_USAGE
    if isinstance(error, InvalidInputError):
        return EXIT_PROBLEMS
    return EXIT_USAGE


def environment_problem(error: BaseException, settings_cls: type[BaseSettings]) -> list[str] | None:
    """The lines telling what in the environment stopped a command, or None (a bug).

    For the ``symbiosis`` entry point's last resort: a settings error of ``settings_cls`` (or
    a class it builds on) is one line per variable (:func:`describe`, naming ``.env`` when the
    value came from there); a project error, a PostgreSQL or Kafka error or an ``OSError``
    that no command caught is its message. Anything else is a bug and gets no lines: let its
    traceback show.
    """
    if isinstance(error, ValidationError):
        titles = {c.__name__ for c in settings_cls.__mro__ if issubclass(c, BaseSettings)}
        if error.title not in titles:
            return None
        return describe(error, from_file=dotenv_variables(settings_cls).keys())
    if isinstance(error, SymbiosisError | psycopg.Error | KafkaError | OSError):
        text = str(error).strip() or type(error).__name__
        return text.splitlines()
    return None


COMMAND_VARIABLES: Final = frozenset({"SYMBIOSIS_TOKEN"})
"""Variables a command reads for one of its options, not settings (``import --token``)."""


def variable_names(settings_cls: type[BaseSettings]) -> set[str]:
    """Every ``SYMBIOSIS_*`` variable ``settings_cls`` reads (nested models with ``__``)."""
    names: set[str] = set()
    for field, info in settings_cls.model_fields.items():
        name = PREFIX + field.upper()
        names.add(name)
        nested = info.annotation
        if isinstance(nested, type) and issubclass(nested, BaseModel):
            names.update(f"{name}__{sub.upper()}" for sub in nested.model_fields)
    return names


def dotenv_variables(settings_cls: type[BaseSettings]) -> dict[str, str]:
    """The variables of the ``.env`` file ``settings_cls`` reads (upper-cased names), if any.

    Read by pydantic-settings' own dotenv source, so exactly the file and the parsing the
    settings use; {} when there is no such file.
    """
    found = DotEnvSettingsSource(settings_cls).env_vars
    return {name.upper(): value or "" for name, value in found.items()}


def unknown_variables(
    environ: Mapping[str, str], settings_cls: type[BaseSettings]
) -> list[tuple[str, str | None]]:
    """``(name, closest known name or None)`` of each ``SYMBIOSIS_*`` variable no setting reads."""
    known = variable_names(settings_cls) | COMMAND_VARIABLES
    out = []
    for name in sorted(environ):
        if name.upper().startswith(PREFIX) and name.upper() not in known:
            close = difflib.get_close_matches(name.upper(), sorted(known), n=1, cutoff=0.75)
            out.append((name, close[0] if close else None))
    return out


def describe(error: ValidationError, *, from_file: Collection[str] = ()) -> list[str]:
    """One line per bad setting: ``SYMBIOSIS_API_PORT: <why> (got 'abc')``.

    A variable named in ``from_file`` (the ``.env`` names) and not in the environment is
    said to come from ``.env``.
    """
    lines = []
    for err in error.errors(include_url=False):
        loc: Iterable[Any] = err.get("loc", ())
        name = PREFIX + "__".join(str(part) for part in loc).upper()
        got = err.get("input")
        shown = f" (got {got!r})" if isinstance(got, str | int | float) else ""
        where = " in .env" if name in from_file and name not in os.environ else ""
        lines.append(f"{name}{where}: {err.get('msg', 'invalid')}{shown}")
    return lines
