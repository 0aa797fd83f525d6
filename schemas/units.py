"""The one pint unit registry of the project, and the unit-string type that validates against it.

Lives in the leaf package so that every payload can check its units where it is parsed;
conversions and canonical units per kind live in :mod:`domain.units`.

Unit text is read the way plants write it. Before pint parses a unit,
:func:`~schemas.unit_spellings.normalise_unit` rewrites the plant spellings (``m3/h``,
``m³/h``, ``t/y``, ``Nm³/h``, ``tph``, ``MMscfd``, ``MWth``, Chinese ``万吨/年``, full-width
forms...) and :func:`parse_unit` refuses the ambiguous ones (``ton``, ``Mscf``); the text
itself is kept as written in every payload, only parsing uses the normalised form. The
registry also knows the gas volumes at reference conditions (``Nm3``,
``scm``/``Sm3``, ``scf``), all expressed in normal cubic metres (see :data:`UREG`).
"""

from __future__ import annotations

import difflib
import math
import re
import tokenize
import unicodedata
from functools import lru_cache
from typing import Annotated, Final

import pint
from pint.pint_eval import tokenizer
from pint.util import string_preprocessor
from pydantic import AfterValidator, Field, StringConstraints

from schemas.unit_spellings import (
    MULTIPLIERS,
    SCALED_BASES,
    AmbiguousUnitError,
    ambiguity,
    normalise_unit,
)

__all__ = [
    "COMMON_UNITS",
    "UNIT_MAX_CHARS",
    "UREG",
    "AmbiguousUnitError",
    "UnitStr",
    "normalise_unit",
    "parse_unit",
    "suggest_unit",
]

UREG: Final[pint.UnitRegistry[float]] = pint.UnitRegistry(cache_folder=None)
"""Shared registry: ``t`` is the metric tonne, ``yr`` the Julian year, ``degC`` an offset unit.

Gas volumes are amounts of gas at **normal conditions** (0 degC, 101.325 kPa, DIN 1343): a gas
``m^3`` is a normal cubic metre, and so is ``Nm3`` (``Nm^3``, ``Nm³``; ``kNm3`` is 1000 of
them). Volumes at other reference conditions are converted to normal cubic metres by the ideal
gas law (same pressure, 101.325 kPa):

* ``scm`` / ``Sm3``: standard cubic metre at 15 degC (ISO 13443), 273.15/288.15 Nm3;
* ``scf``: standard cubic foot at 60 degF, 0.026 79 Nm3 (1 Nm3 = 37.33 scf).

Prefixes are SI (``kscf`` is a thousand scf); ``MMscf`` is the gas trade's million, and
``Mscf``, a thousand to the trade and a million to SI, is refused as ambiguous. Also defined:
``MMBtu`` (a million Btu), the coal and oil equivalents ``tce`` and ``toe``, and the units
Chinese multipliers scale (``wan_t``: 万吨, 10,000 t).
"""
UREG.define("normal_cubic_meter = meter ** 3 = Nm3")
UREG.define("standard_cubic_meter = 273.15 / 288.15 * meter ** 3 = scm = Sm3")
UREG.define("standard_cubic_foot = 273.15 / (273.15 + 15.555555555555556) * foot ** 3 = scf")
UREG.define("million_standard_cubic_feet = 1e6 * standard_cubic_foot = MMscf")
UREG.define("million_british_thermal_units = 1e6 * british_thermal_unit = MMBtu")
# coal and oil equivalents, as energy statistics count them (GB/T 2589-2020: 1 kgce = 29.3076 MJ;
# IEA: 1 toe = 41.868 GJ)
UREG.define("tonne_of_coal_equivalent = 29.3076 * gigajoule = tce")
UREG.define("tonne_of_oil_equivalent = 41.868 * gigajoule = toe")
UREG.define("kilogram_of_coal_equivalent = 29.3076 * megajoule = kgce")
for _name, _factor in dict.fromkeys(MULTIPLIERS.values()):  # the units CJK multipliers scale
    for _key, _unit in SCALED_BASES.items():
        UREG.define(f"{_name}_{_key} = {_factor!r} * {_unit}")

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


def suggest_unit(text: str) -> str | None:
    """The common unit (:data:`COMMON_UNITS`) closest to ``text``, or None if none is close."""
    wanted = text.strip()
    by_folded = {u.casefold(): u for u in COMMON_UNITS}
    close = difflib.get_close_matches(wanted.casefold(), list(by_folded), n=1, cutoff=0.6)
    return by_folded[close[0]] if close else None


@lru_cache(maxsize=1024)
def parse_unit(text: str) -> pint.Unit:
    """Parse a unit string such as ``MW``, ``t/d``, ``m^3/h``, ``m3/h``, ``Nm³/h``, ``吨/小时``.

    The text is first rewritten by :func:`~schemas.unit_spellings.normalise_unit`. Cached
    (bounded): every reading carries its unit, and pint's parser costs ~30 us, far more than
    the rest of a reading's validation.

    Raises:
        ValueError: the text is not a unit pint knows (pydantic reports it against the field);
            the message suggests a common unit close to it when there is one.
            Also: the text is longer than :data:`UNIT_MAX_CHARS`, holds a control or
            invisible character or arithmetic (``10**3``, ``m**999``), or the unit's size
            lies outside :data:`MIN_UNIT_SCALE` .. :data:`MAX_UNIT_SCALE` SI base units.
        AmbiguousUnitError: (a ``ValueError``) the text is ambiguous (``ton``, ``Mscf``); the
            message says what to write instead.
    """
    if len(text) > UNIT_MAX_CHARS:  # before anything else: the parsers' cost grows with it
        raise ValueError(f"a unit has at most {UNIT_MAX_CHARS} characters, not {len(text)}")
    normalised = normalise_unit(text)
    if _invisible(text) or _invisible(normalised):  # a full-width "#" is one once normalised
        raise ValueError(
            f"{text!r} holds a control, invisible or comment character; a unit is visible text"
        )
    refused = ambiguity(normalised)
    if refused is not None:
        raise AmbiguousUnitError(refused)
    if _arithmetic(normalised):  # pint would compute it: 9**9**9 never returns
        raise ValueError(
            f"{text!r} is arithmetic, not a unit: a unit's only numbers are 1 (1/h) and "
            f"powers up to {MAX_POWER} (m^3)"
        )
    try:
        unit = UREG.Unit(normalised)
    # pint's parser lets many internal errors through on odd text (tokenize.TokenError for
    # "{", KeyError, IndexError...): every one of them means "not a unit" here.
    except Exception as e:
        close = suggest_unit(text)
        hint = f"; did you mean {close!r}?" if close is not None else ""
        raise ValueError(f"{text!r} is not a unit pint understands{hint}") from e
    try:
        scale = abs(float(UREG.Quantity(1.0, unit).to_base_units().magnitude))
    except (ArithmeticError, ValueError) as e:  # pint raises OverflowError on (Ym)**400
        scale = math.inf
        cause: Exception | None = e
    else:
        cause = None
    if not MIN_UNIT_SCALE <= scale <= MAX_UNIT_SCALE:
        size = f"{scale:.3g} of" if math.isfinite(scale) else "too large a multiple of"
        raise ValueError(
            f"{text!r} is {size} its SI base units; a unit here lies within "
            f"{MIN_UNIT_SCALE:g} to {MAX_UNIT_SCALE:g} of them"
        ) from cause
    return unit


MIN_UNIT_SCALE: Final = 1e-18
MAX_UNIT_SCALE: Final = 1e18
"""A unit's size in its SI base units lies within these bounds (``Mt/d`` is 1.2e4 kg/s,
``mg/yr`` 3.2e-14 kg/s, ``亿千瓦时`` 3.6e14 J): beyond them a value within
:data:`~schemas.readings.MAX_ABS_VALUE` could overflow the ledger's sums (``Ym^3/h`` is 2.8e68
m^3/s) or make pint raise ``OverflowError`` (``(Ym)**13/m**10/h``)."""

MAX_POWER: Final = 99
"""The largest power a unit may write (``m^3``; nothing in a plant's units is near it)."""


def _arithmetic(normalised: str) -> bool:
    """Whether a normalised unit text holds numbers pint would compute rather than read.

    Read with pint's own preprocessor and tokenizer, so the check sees what pint evaluates
    (it drops commas and reads ``9_9`` as 99: ``9,**9,**9`` is ``9**9**9``, which pint
    computes as a Python integer and never returns). A unit's only numbers are ``1``
    (``1/h``) and plain powers of at most :data:`MAX_POWER` standing alone (``m**3``,
    ``m^-1``); a factor (``(9 m)**99``), a power of a power or of an expression
    (``m**(9*9)``), another literal (``9e9``, ``9_9``, ``0x9``) or a character pint cannot
    read (``$``) is arithmetic. Text the tokenizer cannot read at all is left to pint, which
    refuses it.
    """
    try:
        tokens = [t for t in tokenizer(string_preprocessor(normalised)) if t.string.strip()]
    except Exception:  # noqa: BLE001 - pint's parser refuses the same text
        return False
    for i, token in enumerate(tokens):
        if token.type == tokenize.ERRORTOKEN:
            return True
        if token.type != tokenize.NUMBER:
            continue
        before = i - 1
        while before >= 0 and tokens[before].string in ("(", "-", "+"):
            before -= 1
        power = before >= 0 and tokens[before].string == "**"
        if not power:
            if token.string != "1":
                return True  # a factor
            continue
        if not token.string.replace(".", "", 1).isdigit() or float(token.string) > MAX_POWER:
            return True
        after = i + 1
        while after < len(tokens) and tokens[after].string == ")":
            after += 1
        if after < len(tokens) and tokens[after].string == "**":
            return True  # a power of a power (m**(9*9) fails as a factor: the second 9)
    return False


_INVISIBLE: Final = re.compile(
    r"[\x00-\x1f\x7f-\x9f#\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]"
)
"""Control characters, zero-width and direction marks, and ``#`` (pint's comment sign): pint
ignores them, so ``"m^3/h\\x00"`` would parse and travel on to a database that refuses NUL."""


_INVISIBLE_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Mn", "Me"})
"""Unicode categories no unit has: controls, format characters (soft hyphen, direction
isolates), surrogates, private and unassigned code points, line separators, combining marks."""


def _invisible(text: str) -> bool:
    """Whether ``text`` holds a character pint would ignore or a reader could not see."""
    if _INVISIBLE.search(text):
        return True
    return not text.isascii() and any(
        unicodedata.category(c) in _INVISIBLE_CATEGORIES for c in text
    )


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
