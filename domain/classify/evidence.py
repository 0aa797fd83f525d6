"""What a row's unit and the quantities written in its text say about its kind.

ERP rows carry a unit column, and descriptions carry figures ("Sattdampf 12 bar", "40 kNm3/h",
"Abwärme 90 °C"). These are evidence, weighed beside the words:

* energy or power (MW, GJ, MWh/d) points to heat or steam, never to a material or water;
* normal volumes (Nm³, kNm3, scm, scf) point to gas;
* a plain volume (m³) points to water or a liquid material;
* a pressure (bar, MPa) points to steam or gas, a temperature (°C) to heat or steam.

The answer is a set of kinds the evidence allows (empty when it says nothing); the classifier
uses it to pick a kind when the words name none, to prefer steam over heat when both fit, and to
lower its confidence when the words and the unit disagree.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from domain.classify.text import fold
from schemas.common import ResourceKind
from schemas.units import parse_unit

_HEAT, _STEAM, _WATER, _MATERIAL, _GAS = (
    ResourceKind.HEAT,
    ResourceKind.STEAM,
    ResourceKind.WATER,
    ResourceKind.MATERIAL,
    ResourceKind.GAS,
)
ENERGY: Final = frozenset({_HEAT, _STEAM})
NORMAL_VOLUME: Final = frozenset({_GAS})
VOLUME: Final = frozenset({_WATER, _MATERIAL, _GAS})
MASS: Final = frozenset({_MATERIAL, _STEAM, _GAS, _WATER})
PRESSURE: Final = frozenset({_STEAM, _GAS})
TEMPERATURE: Final = frozenset({_HEAT, _STEAM, _WATER})

_NORMAL_VOLUME_UNIT = re.compile(r"^(?:k|m|mm)?(?:nm3|nm\^3|sm3|scm|scf|mscf|mmscf|ncm)\b")
_REFERENCE_VOLUME: Final = re.compile(r"normal_cubic_meter|standard_cubic|_Nm3|MMscf")
"""A parsed unit whose volume is a gas's (at reference conditions), whatever its spelling."""
_MECHANICAL: Final = frozenset({"[length]", "[mass]", "[time]", "[temperature]"})
"""The dimensions of the units that say something about a kind."""
_IN_TEXT: Final = (
    (re.compile(r"\d\s*(?:bar[ag]?|mpa|kpa|psig?)\b"), PRESSURE),
    (re.compile(r"\d\s*deg\s*[cf]\b|\d\s*(?:degc|degf)\b"), TEMPERATURE),
    (re.compile(r"\d\s*(?:k|m|mm)?(?:nm3|sm3|scm|scf)\b"), NORMAL_VOLUME),
    (re.compile(r"\d\s*(?:k|m|g)w(?:h|th)?\b|\d\s*(?:g|t|m)j\b"), ENERGY),
)

_ANY_CUE: Final = re.compile("|".join(f"(?:{pattern.pattern})" for pattern, _ in _IN_TEXT))


@lru_cache(maxsize=4096)
def kinds_for_unit(unit: str) -> frozenset[ResourceKind]:
    """The kinds a unit allows (empty for a unit that says nothing or does not parse).

    ``"MW"`` -> heat, steam; ``"Nm3/h"`` -> gas; ``"m3/h"`` -> water, material, gas;
    ``"t/y"`` -> material, steam, gas, water; ``"°C"`` -> heat, steam, water; ``"标方/小时"``
    (normal cubic metres) -> gas; ``"蒸吨/小时"`` (tonnes of steam) -> steam.
    """
    text = fold(unit).strip()
    if _NORMAL_VOLUME_UNIT.match(text):
        return NORMAL_VOLUME
    if "蒸吨" in unit:  # a tonne of steam (a boiler's rating): only ever steam
        return frozenset({_STEAM})
    try:
        parsed = parse_unit(unit)
    except ValueError:
        return frozenset()
    if _REFERENCE_VOLUME.search(str(parsed)):  # 标方/小时, MMscfd: however it was written
        return NORMAL_VOLUME
    dims = dict(parsed.dimensionality)
    if set(dims) - _MECHANICAL:  # a current (pH is a picohenry, V a volt), an amount...
        return frozenset()
    length, mass, time = dims.get("[length]", 0), dims.get("[mass]", 0), dims.get("[time]", 0)
    temperature = dims.get("[temperature]", 0)
    if temperature:
        return TEMPERATURE
    if mass == 1 and length == 2 and time in (-2, -3):
        return ENERGY
    if mass == 1 and length == -1 and time == -2:
        return PRESSURE
    if length == 3 and mass == 0:
        return VOLUME
    if mass == 1 and length == 0:
        return MASS
    return frozenset()


def kinds_in_text(folded: str) -> frozenset[ResourceKind]:
    """The kinds the figures written in a folded text allow (the intersection of their cues)."""
    if _ANY_CUE.search(folded) is None:  # one scan for the common text without a cue
        return frozenset()
    allowed: frozenset[ResourceKind] | None = None
    for pattern, kinds in _IN_TEXT:
        if pattern.search(folded):
            allowed = kinds if allowed is None else (allowed & kinds or allowed | kinds)
    return allowed or frozenset()
