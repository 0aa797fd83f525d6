"""Settings problems told the way a person at a terminal can act on them.

A bad ``SYMBIOSIS_*`` value becomes one line naming the variable, what is wrong and what was
given (exit code 2, no traceback); a ``SYMBIOSIS_*`` variable that no setting reads (usually a
typo) is warned about with the closest known name.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_settings import BaseSettings

PREFIX = "SYMBIOSIS_"


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


def unknown_variables(
    environ: Mapping[str, str], settings_cls: type[BaseSettings]
) -> list[tuple[str, str | None]]:
    """``(name, closest known name or None)`` of each ``SYMBIOSIS_*`` variable no setting reads."""
    known = variable_names(settings_cls)
    out = []
    for name in sorted(environ):
        if name.startswith(PREFIX) and name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
            out.append((name, close[0] if close else None))
    return out


def describe(error: ValidationError) -> list[str]:
    """One line per bad setting: ``SYMBIOSIS_API_PORT: <why> (got 'abc')``."""
    lines = []
    for err in error.errors(include_url=False):
        loc: Iterable[Any] = err.get("loc", ())
        name = PREFIX + "__".join(str(part) for part in loc).upper()
        got = err.get("input")
        shown = f" (got {got!r})" if isinstance(got, str | int | float) else ""
        lines.append(f"{name}: {err.get('msg', 'invalid')}{shown}")
    return lines
