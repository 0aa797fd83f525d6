"""The one pint unit registry of the project, and the unit-string type that validates against it.

Lives in the leaf package so that every payload can check its units where it is parsed;
conversions and canonical units per kind live in :mod:`domain.units`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Final

import pint
from pydantic import AfterValidator, Field, StringConstraints

UREG: Final[pint.UnitRegistry[float]] = pint.UnitRegistry(cache_folder=None)
"""Shared registry: ``t`` is the metric tonne, ``yr`` the Julian year, ``degC`` an offset unit."""


@lru_cache(maxsize=1024)
def parse_unit(text: str) -> pint.Unit:
    """Parse a unit string such as ``MW``, ``t/d``, ``m^3/h``.

    Cached (bounded): every reading carries its unit, and pint's parser costs ~30 us, far more
    than the rest of a reading's validation.

    Raises:
        ValueError: the text is not a unit pint knows (pydantic reports it against the field).
    """
    try:
        unit = UREG.Unit(text)
    # pint's parser lets many internal errors through on odd text (tokenize.TokenError for
    # "{", KeyError, IndexError...): every one of them means "not a unit" here.
    except Exception as e:
        raise ValueError(f"{text!r} is not a unit pint understands") from e
    return unit


def _check_unit(text: str) -> str:
    parse_unit(text)
    return text


UNIT_MAX_CHARS: Final = 32
"""Longest unit string: checked before pint parses it (pint's parser is slow on long text)."""

UnitStr = Annotated[
    str,
    StringConstraints(min_length=1, max_length=UNIT_MAX_CHARS),  # first: before any parsing
    AfterValidator(_check_unit),
    Field(examples=["MW", "t/d", "m^3/h"]),
]
"""A unit string that pint parses; kept as written so payloads round-trip unchanged."""
