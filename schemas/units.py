"""The one pint unit registry of the project, and the unit-string type that validates against it.

Lives in the leaf package so that every payload can check its units where it is parsed;
conversions and canonical units per kind live in :mod:`domain.units`.

Unit text is read the way plants write it. Before pint parses a unit, :func:`normalise_unit`
rewrites the common plant spellings (``m3/h``, ``m³/h``, ``t/y``, ``t/a``, ``kt/y``,
``Nm³/h``); the text itself is kept as written in every payload, only parsing uses the
normalised form. The registry also knows the gas volumes at reference conditions (``Nm3``,
``scm``/``Sm3``, ``scf``), all expressed in normal cubic metres (see :data:`UREG`).
"""

from __future__ import annotations

import difflib
import re
from functools import lru_cache
from typing import Annotated, Final

import pint
from pydantic import AfterValidator, Field, StringConstraints

UREG: Final[pint.UnitRegistry[float]] = pint.UnitRegistry(cache_folder=None)
"""Shared registry: ``t`` is the metric tonne, ``yr`` the Julian year, ``degC`` an offset unit.

Gas volumes are amounts of gas at **normal conditions** (0 degC, 101.325 kPa, DIN 1343): a gas
``m^3`` is a normal cubic metre, and so is ``Nm3`` (``Nm^3``, ``Nm³``; ``kNm3`` is 1000 of
them). Volumes at other reference conditions are converted to normal cubic metres by the ideal
gas law (same pressure, 101.325 kPa):

* ``scm`` / ``Sm3``: standard cubic metre at 15 degC (ISO 13443), 273.15/288.15 Nm3;
* ``scf``: standard cubic foot at 60 degF, 0.026 79 Nm3 (1 Nm3 = 37.33 scf).

Prefixes are SI: ``Mscf`` is a million scf, not the gas trade's thousand (write ``kscf``).
"""
UREG.define("normal_cubic_meter = meter ** 3 = Nm3")
UREG.define("standard_cubic_meter = 273.15 / 288.15 * meter ** 3 = scm = Sm3")
UREG.define("standard_cubic_foot = 273.15 / (273.15 + 15.555555555555556) * foot ** 3 = scf")

COMMON_UNITS: Final = (
    "MW",
    "kW",
    "GJ/h",
    "GJ/month",
    "MWh/d",
    "MWh/yr",
    "t/h",
    "t/d",
    "t/wk",
    "t/yr",
    "kg/h",
    "kg/s",
    "m^3/h",
    "m^3/d",
    "m^3/yr",
    "Nm^3/h",
    "Nm^3/d",
    "kNm^3/h",
    "scf/d",
    "l/s",
    "t",
    "m^3",
)
"""Units suggested for a unit that does not parse ("did you mean m^3/h?")."""

_SUPERSCRIPT: Final = re.compile("⁻?[⁰¹²³⁴⁵⁶⁷⁸⁹]+")
_SUPERSCRIPT_TEXT: Final = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")
_GAS_VOLUME: Final = re.compile(r"(?<![A-Za-z_])([kMG]?)([NS])m(?:\^|\*\*)?3(?![0-9])")
"""``Nm^3``, ``kNm**3``, ``Sm3``... -> the registry's ``Nm3`` / ``Sm3`` (not newton x m^3)."""
_LENGTH_POWER: Final = re.compile(r"(?<![A-Za-z_])(km|hm|dm|cm|mm|m|ft|yd|in)([23])(?![0-9])")
"""A length unit directly followed by a power digit: ``m3`` -> ``m**3``."""
_PER_YEAR: Final = re.compile(r"/(\s*)(?:y|a|annum)(?![A-Za-z0-9_])")
"""``t/y``, ``t/a``, ``t/annum`` -> ``t/yr``."""
_KILOTONNE: Final = re.compile(r"(?<![A-Za-z_])kt(?![A-Za-z0-9_])")
"""``kt`` is a kilotonne in plant reports (``kt/y``), not pint's knot."""


def normalise_unit(text: str) -> str:
    """The unit text pint parses for ``text`` as a plant writes it.

    Rewrites superscripts (``m³`` -> ``m^3``), normal and standard cubic metres written with a
    power (``Nm^3``, ``Nm³`` -> ``Nm3``), a power digit right after a length unit (``m3`` ->
    ``m**3``), a year written ``y``, ``a`` or ``annum`` after ``/`` (``t/y`` -> ``t/yr``) and
    ``kt`` as kilotonnes (pint reads it as knots). Other text is returned unchanged; it never
    raises.
    """
    out = _SUPERSCRIPT.sub(lambda m: "^" + m.group().translate(_SUPERSCRIPT_TEXT), text.strip())
    out = _GAS_VOLUME.sub(r"\1\2m3", out)
    out = _LENGTH_POWER.sub(r"\1**\2", out)
    out = _KILOTONNE.sub("kilotonne", out)
    return _PER_YEAR.sub(r"/\1yr", out)


def suggest_unit(text: str) -> str | None:
    """The common unit (:data:`COMMON_UNITS`) closest to ``text``, or None if none is close."""
    wanted = text.strip()
    by_folded = {u.casefold(): u for u in COMMON_UNITS}
    close = difflib.get_close_matches(wanted.casefold(), list(by_folded), n=1, cutoff=0.6)
    return by_folded[close[0]] if close else None


@lru_cache(maxsize=1024)
def parse_unit(text: str) -> pint.Unit:
    """Parse a unit string such as ``MW``, ``t/d``, ``m^3/h``, ``m3/h``, ``Nm³/h``, ``t/y``.

    The text is first rewritten by :func:`normalise_unit`. Cached (bounded): every reading
    carries its unit, and pint's parser costs ~30 us, far more than the rest of a reading's
    validation.

    Raises:
        ValueError: the text is not a unit pint knows (pydantic reports it against the field);
            the message suggests a common unit close to it when there is one.
    """
    try:
        unit = UREG.Unit(normalise_unit(text))
    # pint's parser lets many internal errors through on odd text (tokenize.TokenError for
    # "{", KeyError, IndexError...): every one of them means "not a unit" here.
    except Exception as e:
        close = suggest_unit(text)
        hint = f"; did you mean {close!r}?" if close is not None else ""
        raise ValueError(f"{text!r} is not a unit pint understands{hint}") from e
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
"""A unit string that pint parses (plant spellings too: ``m3/h``, ``t/y``, ``Nm³/h``); kept
as written so payloads round-trip unchanged."""
