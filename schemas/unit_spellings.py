"""Unit text as plants write it, rewritten into the text pint parses.

:func:`normalise_unit` applies, in order:

1. **Typography.** Superscript powers (``m³`` -> ``m^3``); Unicode compatibility forms (NFKC:
   the full-width letters, digits and slash of CJK input methods, ``℃``, ``㎥``, ``㎏``,
   ``㎾``); a middle dot or a multiplication sign between units (``kW·h``).
2. **Chinese, Japanese and Korean unit names** (Chinese below; Japanese katakana names of the
   Measurement Act's units, ``トン``, ``立米``, ``キロワット時``; Korean Hangul names, ``톤``
   (the metric tonne), ``루베``, ``킬로와트시``, ``시``/``일``/``년`` for hour, day, year; the
   traditional characters ``公噸``, ``小時``; and ``万``/``萬``/``만``, ``億``/``억`` before a
   unit), as plants and ERP systems write them. Chinese (the names of the
   legal units of measurement of the People's Republic of China, GB 3100-1993: ``吨``,
   ``千克``/``公斤``, ``立方米``, ``升``, ``千瓦``, ``千瓦时`` (``千瓦·时``), ``吉焦``, ``小时``,
   ``天``/``日``, ``年``; with the trade's own: ``方`` for m³, ``标方``/``标准立方米`` for a
   normal cubic metre, ``度`` for a kWh, ``蒸吨`` for a tonne of steam, ``吨标准煤`` for a tonne
   of coal equivalent), ``每`` and ``/`` for "per", and the multipliers written before a unit:
   ``千`` (10³), ``万`` (10⁴), ``百万`` (10⁶), ``亿`` (10⁸): ``万吨/年``, ``万m³/年``,
   ``亿千瓦时``.
3. **Trade abbreviations**: ``tph``, ``tpd``, ``tpa``/``tpy``, ``ktpa``, ``MTPA`` (million
   tonnes per annum), ``MT``/``mt`` (a metric tonne, not pint's megatesla or millitonne),
   ``MMBtu``, ``MMscf``/``MMscfd``, ``scfd``/``scfh``/``scfm``, ``gpm``, ``MGD`` (million US
   gallons a day), ``MLD`` (megalitres a day), ``MWth``/``MWt``/``MW(th)`` and
   ``MWe``/``MW(el)`` (a power: the qualifier says what kind of energy, which the stream's
   kind already does), ``barg``/``bar(g)``/``bara``, ``psig``, ``MPa(g)`` (a pressure),
   ``/wk``, ``/mth``, ``/mon``.
4. The rewrites every unit needs: normal and standard cubic metres written with a power
   (``Nm^3``, ``Nm³`` -> ``Nm3``), a power digit after a length (``m3`` -> ``m**3``), ``kt`` as
   kilotonnes (pint reads knots), a year written ``/y``, ``/a`` or ``/annum``.

The rewritten text is only what pint parses: payloads keep the unit as written.
:func:`ambiguity` names the spellings refused rather than guessed (``ton``, ``Mscf``);
:func:`schemas.units.parse_unit` raises :class:`AmbiguousUnitError` for them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Final

SCALED_BASES: Final = {
    "t": "metric_ton",
    "tce": "tce",
    "toe": "toe",
    "m3": "meter ** 3",
    "Nm3": "Nm3",
    "l": "liter",
    "kWh": "kilowatt_hour",
    "MWh": "megawatt_hour",
    "kW": "kilowatt",
    "MW": "megawatt",
    "kJ": "kilojoule",
    "GJ": "gigajoule",
    "kcal": "kilocalorie",
}
"""Units a Chinese multiplier may scale (their registry names are ``<multiplier>_<key>``,
defined by :mod:`schemas.units`), and what each is."""

MULTIPLIERS: Final = {
    "千": ("qian", 1e3), "万": ("wan", 1e4), "萬": ("wan", 1e4), "百万": ("baiwan", 1e6),
    "百萬": ("baiwan", 1e6), "亿": ("yi", 1e8), "億": ("yi", 1e8),
    "천": ("qian", 1e3), "만": ("wan", 1e4), "백만": ("baiwan", 1e6), "억": ("yi", 1e8),
}  # fmt: skip
"""Chinese, Japanese and Korean multipliers written before a unit: name in the registry,
factor (``万トン/年``, ``만톤/년``: ten thousand tonnes a year)."""

_CHINESE_UNITS: Final = {
    # energy as coal or oil equivalent (GB/T 2589-2020: 1 kgce = 29.3076 MJ; IEA: 1 toe = 41.868 GJ)
    "吨标准煤": "tce", "吨标煤": "tce", "标准煤": "tce", "标煤": "tce", "吨油当量": "toe",
    "千克标准煤": "kgce", "公斤标准煤": "kgce", "千克标煤": "kgce", "公斤标煤": "kgce",
    # mass; 蒸吨 is a tonne of steam (a boiler's rating in t/h)
    "蒸吨": "t", "吨": "t", "千克": "kg", "公斤": "kg", "克": "g",
    # volume; 方 is the trade's m3, 标方 a normal cubic metre (0 degC, 101.325 kPa)
    "标准立方米": "Nm3", "标立方米": "Nm3", "标立方": "Nm3", "标方": "Nm3",
    "立方米": "m3", "立方": "m3", "方": "m3", "升": "l",
    # energy and power; 度 is the everyday name of a kWh
    "千瓦时": "kWh", "兆瓦时": "MWh", "度": "kWh", "千瓦": "kW", "兆瓦": "MW", "瓦": "W",
    "焦耳": "J", "千焦": "kJ", "兆焦": "MJ", "吉焦": "GJ", "焦": "J", "千卡": "kcal",
    "大卡": "kcal",
    # temperature and pressure
    "摄氏度": "degC", "兆帕": "MPa", "千帕": "kPa", "帕": "Pa",
    # time
    "小时": "h", "时": "h", "分钟": "min", "秒": "s", "天": "d", "日": "d", "星期": "week",
    "周": "week", "月": "month", "年": "yr",
    # traditional characters (Taiwan, Hong Kong): 公噸 is the metric tonne
    "公噸": "t", "噸": "t", "小時": "h", "立方公尺": "m3", "千瓦時": "kWh",
    # Japanese (the katakana names of the Measurement Act's units, 計量単位令; 立米 is the
    # trade's m3): トン, キログラム, リットル, キロワット時...
    "トン": "t", "キログラム": "kg", "グラム": "g", "ノルマル立方メートル": "Nm3",
    "ノルマル立米": "Nm3", "立方メートル": "m3", "立米": "m3", "リットル": "l",
    "キロワット時": "kWh", "キロワットアワー": "kWh", "メガワット時": "MWh",
    "キロワット": "kW", "メガワット": "MW", "ワット": "W", "ギガジュール": "GJ",
    "メガジュール": "MJ", "キロジュール": "kJ", "キロカロリー": "kcal", "メガパスカル": "MPa",
    "キロパスカル": "kPa", "時間": "h", "時": "h", "分": "min", "週": "week",
    # Korean (the Hangul names Korea's measurement law and plants use; 톤 is the metric
    # tonne, 루베 the trade's m3, 석유환산톤 a tonne of oil equivalent)
    "석유환산톤": "toe", "톤": "t", "킬로그램": "kg", "그램": "g",
    "노멀세제곱미터": "Nm3", "노멀입방미터": "Nm3", "노말세제곱미터": "Nm3",
    "노말입방미터": "Nm3", "세제곱미터": "m3", "입방미터": "m3", "루베": "m3", "리터": "l",
    "킬로와트시": "kWh", "메가와트시": "MWh", "킬로와트": "kW", "메가와트": "MW", "와트": "W",
    "기가줄": "GJ", "메가줄": "MJ", "킬로줄": "kJ", "킬로칼로리": "kcal", "기가칼로리": "Gcal",
    "메가파스칼": "MPa", "킬로파스칼": "kPa", "섭씨": "degC", "시간": "h", "시": "h",
    "분": "min", "초": "s", "일": "d", "주": "week", "개월": "month", "월": "month",
    "년": "yr", "연": "yr",
}  # fmt: skip
"""Chinese (simplified and traditional), Japanese and Korean unit names -> the registry's
spelling (a key of :data:`SCALED_BASES` where scalable)."""


def _alternation(words: Iterable[str]) -> str:
    """A regex alternation of ``words``, longest first (so ``千瓦时`` wins over ``千瓦``)."""
    return "|".join(_one(w) for w in sorted(words, key=len, reverse=True))


_KOREAN_SYLLABLES: Final = "\uac00-\ud7a3"
_ALONE: Final = frozenset("\uc2dc\uc77c\uc6d4\ub144\uc5f0\uc8fc\ubd84\ucd08")
"""Korean one-syllable time units (hour, day, month, year, year, week, minute, second): read
only when no other Hangul syllable touches them (``일일`` is "daily", ``일만`` "ten
thousand"), as pint would multiply units written side by side."""


def _one(word: str) -> str:
    if word in _ALONE:
        return f"(?<![{_KOREAN_SYLLABLES}]){re.escape(word)}(?![{_KOREAN_SYLLABLES}])"
    return re.escape(word)


_CHINESE: Final = re.compile(
    f"(?P<unit>{_alternation(_CHINESE_UNITS)})"
    f"|(?P<mult>{_alternation(MULTIPLIERS)})\\s*(?P<scaled>{_alternation(_CHINESE_UNITS)}"
    f"|{_alternation(SCALED_BASES)}|m\\^3|m\\*\\*3|Nm\\^3)(?![A-Za-z0-9_])"
    "|(?P<per>每)"
)
"""A Chinese unit name, a multiplier and the unit it scales (Chinese or the registry's), or 每."""

_SUPERSCRIPT: Final = re.compile("⁻?[⁰¹²³⁴⁵⁶⁷⁸⁹]+")
_SUPERSCRIPT_TEXT: Final = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")
_TIMES: Final = re.compile("[\u00b7\u22c5\u00d7\u2219]")
"""A middle dot, dot operator, multiplication sign or bullet operator between two units."""

_WORD: Final = r"(?<![A-Za-z_])(?:{})(?![A-Za-z0-9_])"
_TRADE: Final = tuple(
    (re.compile(_WORD.format(pattern)), replacement)
    for pattern, replacement in (
        ("tph|TPH", "t/h"),
        ("tpd|TPD", "t/d"),
        ("tpa|TPA|tpy|TPY", "t/yr"),
        ("ktpa|KTPA|ktpy|KTPY", "kilotonne/yr"),
        ("mtpa|MTPA|Mtpa|mtpy|MTPY", "megametric_ton/yr"),
        ("MT|mt", "metric_ton"),
        ("MMBtu|MMBTU|mmBtu|mmbtu", "MMBtu"),
        ("btu", "Btu"),
        ("MMscfd|MMSCFD|mmscfd", "MMscf/d"),
        ("MMscf|MMSCF|mmscf", "MMscf"),
        ("scfd|SCFD", "scf/d"),
        ("scfh|SCFH", "scf/h"),
        ("scfm|SCFM", "scf/min"),
        ("SCF", "scf"),
        ("gpm|GPM", "gallon/min"),
        ("gph|GPH", "gallon/h"),
        ("MGD|mgd", "megagallon/d"),
        ("MLD|mld", "megaliter/d"),
        (r"([kMGT]Wh?)(?:th|t|el|e)", r"\1"),  # not a bare Wt: "Wt%" is a weight percent
        # gauge and absolute pressures: read as the pressure unit (the kind's evidence; no
        # stream or need has a pressure unit, so no figure is converted across the two)
        (r"(bar|BAR|[kM]Pa|psi)(?:g|a|\((?:g|a)\))", r"\1"),
        ("BAR", "bar"),
    )
)
"""Trade abbreviations, each a whole word, and what pint reads for it."""
_POWER_QUALIFIER: Final = re.compile(r"(?<![A-Za-z_])([kMGT]Wh?)(?:_|\()(?:th|t|el|e)\)?")
"""``MW_th``, ``MW(th)``, ``kW(e)``: the qualifier of a power unit."""
_PER_PERIOD: Final = (
    (re.compile(r"/(\s*)(?:y|a|annum)(?![A-Za-z0-9_])"), r"/\1yr"),
    (re.compile(r"/(\s*)(?:wk|wks)(?![A-Za-z0-9_])"), r"/\1week"),
    (re.compile(r"/(\s*)(?:mth|mths|mon|mo)(?![A-Za-z0-9_])"), r"/\1month"),
)
"""``t/y``, ``t/a`` -> ``t/yr``; ``t/wk`` -> ``t/week``; ``t/mth``, ``t/mon`` -> ``t/month``."""
_GAS_VOLUME: Final = re.compile(r"(?<![A-Za-z_])([kMG]?)([NS])m(?:\^|\*\*)?3(?![0-9])")
"""``Nm^3``, ``kNm**3``, ``Sm3``... -> the registry's ``Nm3`` / ``Sm3`` (not newton x m^3)."""
_LENGTH_POWER: Final = re.compile(r"(?<![A-Za-z_])(km|hm|dm|cm|mm|m|ft|yd|in)([23])(?![0-9])")
"""A length unit directly followed by a power digit: ``m3`` -> ``m**3``."""
_KILOTONNE: Final = re.compile(r"(?<![A-Za-z_])kt(?![A-Za-z0-9_])")
"""``kt`` is a kilotonne in plant reports (``kt/y``), not pint's knot."""

_AMBIGUOUS: Final = (
    (
        re.compile(_WORD.format("(?:k|K|m|M|G|T|h|kilo|mega|giga)?(?:tons?|Tons?|TONS?)")),
        "is ambiguous (a metric tonne, a US short ton or a UK long ton): write 't' or 'tonne' "
        "for the metric tonne, 'short_ton' or 'long_ton' for the others",
    ),
    (
        re.compile(r"(?<![A-Za-z_])[Mm](?:scf|SCF)"),
        "is ambiguous (the gas trade's thousand scf, or SI's million): write 'kscf' for a "
        "thousand, 'MMscf' for a million",
    ),
)


class AmbiguousUnitError(ValueError):
    """A unit text that means different amounts to different plants (``ton``, ``Mscf``)."""


def _scaled_key(unit: str) -> str:
    """The :data:`SCALED_BASES` key of a unit a multiplier precedes (``m^3`` -> ``m3``)."""
    unit = _CHINESE_UNITS.get(unit, unit)
    return {"m^3": "m3", "m**3": "m3", "Nm^3": "Nm3"}.get(unit, unit)


def _chinese(match: re.Match[str]) -> str:
    if match["per"]:
        return "/"
    if match["unit"]:
        key = _CHINESE_UNITS[match["unit"]]
        return f" {SCALED_BASES.get(key, key)} "
    key = _scaled_key(match["scaled"])
    if key not in SCALED_BASES:  # a multiplier before a unit it does not scale: leave it
        return match.group()
    return f" {MULTIPLIERS[match['mult']][0]}_{key} "


def normalise_unit(text: str) -> str:
    """The unit text pint parses for ``text`` as a plant writes it (see the module docstring).

    Text without any of those spellings is returned unchanged (stripped); it never raises.
    """
    out = _SUPERSCRIPT.sub(lambda m: "^" + m.group().translate(_SUPERSCRIPT_TEXT), text.strip())
    if not out.isascii():
        out = _TIMES.sub("*", unicodedata.normalize("NFKC", out))
        out = " ".join(_CHINESE.sub(_chinese, out).split())
    for pattern, replacement in _TRADE:
        out = pattern.sub(replacement, out)
    out = _POWER_QUALIFIER.sub(r"\1", out)
    out = _GAS_VOLUME.sub(r"\1\2m3", out)
    out = _LENGTH_POWER.sub(r"\1**\2", out)
    out = _KILOTONNE.sub("kilotonne", out)
    for pattern, replacement in _PER_PERIOD:
        out = pattern.sub(replacement, out)
    return out


def ambiguity(normalised: str) -> str | None:
    """Why a normalised unit text is refused rather than read one way, or ``None``.

    ``ton`` means a metric tonne in most parks and 0.907 t to pint (a US short ton): read
    either way, some plant's figures would be silently 10 % off. ``Mscf`` is a thousand scf in
    the gas trade and a million in SI.
    """
    for pattern, reason in _AMBIGUOUS:
        found = pattern.search(normalised)
        if found is not None:
            return f"{found.group()!r} {reason}"
    return None
