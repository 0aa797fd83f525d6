"""Units as plants write them: Chinese names, full-width forms, trade abbreviations, ambiguity."""

from __future__ import annotations

import contextlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.classify.evidence import kinds_for_unit
from domain.errors import UnitError
from domain.units import convert
from schemas.common import ResourceKind
from schemas.readings import Reading
from schemas.registry import Stream
from schemas.unit_spellings import normalise_unit
from schemas.units import COMMON_UNITS, UREG, AmbiguousUnitError, parse_unit


def _in(text: str, unit: str) -> float:
    return float(UREG.Quantity(1.0, parse_unit(text)).to(unit).magnitude)


@pytest.mark.parametrize(
    ("text", "unit", "value"),
    [
        # Chinese names (GB 3100-1993) and the trade's, with multipliers before the unit
        ("吨/小时", "t/h", 1.0),
        ("吨每小时", "t/h", 1.0),
        ("万吨/年", "t/yr", 1e4),
        ("千吨/年", "t/yr", 1e3),
        ("立方米/时", "m^3/h", 1.0),
        ("万方/天", "m^3/d", 1e4),
        ("万m³/年", "m^3/yr", 1e4),
        ("万t/a", "t/yr", 1e4),
        ("标方/小时", "Nm3/h", 1.0),
        ("万Nm3/d", "Nm3/d", 1e4),
        ("蒸吨/小时", "t/h", 1.0),
        ("公斤/小时", "kg/h", 1.0),
        ("千克/秒", "kg/s", 1.0),
        ("度", "kWh", 1.0),
        ("千瓦·时", "kWh", 1.0),
        ("万千瓦时", "MWh", 10.0),
        ("亿千瓦时", "GWh", 100.0),
        ("吉焦/小时", "GJ/h", 1.0),
        ("百万千焦/小时", "GJ/h", 1.0),
        ("兆瓦", "MW", 1.0),
        ("吨标准煤", "GJ", 29.3076),
        ("万吨标准煤/年", "GJ/yr", 293_076.0),
        # traditional characters, Japanese and Korean names, and their multipliers
        ("公噸/小時", "t/h", 1.0),
        ("萬公噸/年", "t/yr", 1e4),
        ("トン/時", "t/h", 1.0),
        ("万トン/年", "t/yr", 1e4),
        ("立米/日", "m^3/d", 1.0),
        ("ノルマル立方メートル/時", "Nm3/h", 1.0),
        ("億キロワット時", "GWh", 100.0),
        ("톤/시", "t/h", 1.0),
        ("톤/일", "t/d", 1.0),
        ("t/일", "t/d", 1.0),
        ("만톤/년", "t/yr", 1e4),
        ("천톤/년", "t/yr", 1e3),
        ("Nm³/시", "Nm3/h", 1.0),
        ("노말입방미터/시간", "Nm3/h", 1.0),
        ("루베/일", "m^3/d", 1.0),
        ("킬로와트시", "kWh", 1.0),
        ("기가칼로리/시", "GJ/h", 4.184),
        ("석유환산톤/년", "GJ/yr", 41.868),
        # full-width and compatibility forms
        ("\uff4d\uff13\uff0f\uff48", "m^3/h", 1.0),  # full-width m3/h
        ("\uff2e\uff4d\uff13\uff0f\uff48", "Nm3/h", 1.0),  # full-width Nm3/h
        ("㎥/h", "m^3/h", 1.0),
        ("㎏/h", "kg/h", 1.0),
        # trade abbreviations
        ("tph", "t/h", 1.0),
        ("TPD", "t/d", 1.0),
        ("tpa", "t/yr", 1.0),
        ("ktpa", "t/yr", 1e3),
        ("MTPA", "t/yr", 1e6),
        ("MT/day", "t/d", 1.0),
        ("mt/d", "t/d", 1.0),
        ("Mt/a", "t/yr", 1e6),
        ("MMBtu/h", "kW", 293.071),
        ("MMscfd", "Nm3/d", 1e6 * 0.0267910),
        ("scfm", "scf/min", 1.0),
        ("gpm", "l/min", 3.785411784),
        ("MGD", "m^3/d", 3785.411784),
        ("MLD", "m^3/d", 1000.0),
        ("MWth", "MW", 1.0),
        ("MWt", "MW", 1.0),
        ("MW(th)", "MW", 1.0),
        ("MW_th", "MW", 1.0),
        ("kWe", "kW", 1.0),
        ("t/wk", "t/d", 1 / 7),
        ("t/mth", "t/month", 1.0),
        ("toe/yr", "GJ/yr", 41.868),
    ],
)
def test_plant_spellings_read_as_the_unit_they_mean(text: str, unit: str, value: float) -> None:
    assert _in(text, unit) == pytest.approx(value, rel=1e-5)


@pytest.mark.parametrize("text", ["ton/h", "tons/day", "Ton", "TONS/yr", "Mscf/d", "MSCFD"])
def test_ambiguous_units_are_refused_with_what_to_write(text: str) -> None:
    with pytest.raises(ValueError, match="is ambiguous") as e:
        parse_unit(text)
    assert "write" in str(e.value)
    with pytest.raises(UnitError, match="is ambiguous"):
        convert(1.0, text, "t/h", field="f")
    with pytest.raises(ValidationError, match=r"unit[\s\S]*is ambiguous"):
        Stream(id="s", kind="material", unit=text, nominal=1)


def test_the_unambiguous_tonnes_stay_readable() -> None:
    assert _in("short_ton/h", "t/h") == pytest.approx(0.90718474)
    assert _in("long_ton/h", "t/h") == pytest.approx(1.0160469)
    assert _in("tonne/h", "t/h") == pytest.approx(1.0)
    assert _in("tonnes/h", "t/h") == pytest.approx(1.0)
    assert _in("kscf/d", "scf/d") == pytest.approx(1000.0)


def test_every_suggested_unit_parses() -> None:
    for text in COMMON_UNITS:
        parse_unit(text)


def test_ascii_units_without_plant_spellings_are_unchanged() -> None:
    for text in ("MW", "t/yr", "m^3/h", "kg/s", "t/d", "GJ/month", "MWh/d", "kNm3/h", "Mt/yr"):
        assert normalise_unit(text) == text


def test_an_unknown_chinese_unit_is_refused_like_any_unknown_unit() -> None:
    with pytest.raises(ValueError, match="is not a unit pint understands"):
        parse_unit("斤/小时")  # a market catty: not a unit of the legal system


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=32))
def test_normalising_any_text_never_raises_and_parsing_says_value_error(text: str) -> None:
    normalise_unit(text)
    with contextlib.suppress(ValueError):
        parse_unit(text)


def test_readings_and_streams_take_chinese_units_as_written() -> None:
    reading = Reading(meter="m1", ts="2026-12-05T00:00:00+08:00", value=3.0, unit="吨/小时")
    assert reading.unit == "吨/小时"
    assert convert(1.0, "万吨/年", "t/d", field="f") == pytest.approx(1e4 / 365.25)
    stream = Stream(id="s", kind="steam", unit="蒸吨/小时", nominal=20, temperature_c=180)
    assert stream.unit == "蒸吨/小时"


def test_the_unit_tells_the_classifier_what_a_chinese_row_is() -> None:
    assert kinds_for_unit("标方/小时") == {ResourceKind.GAS}
    assert kinds_for_unit("万Nm3/d") == {ResourceKind.GAS}
    assert kinds_for_unit("MMscfd") == {ResourceKind.GAS}
    assert kinds_for_unit("蒸吨/小时") == {ResourceKind.STEAM}
    assert kinds_for_unit("吉焦/小时") == {ResourceKind.HEAT, ResourceKind.STEAM}
    assert kinds_for_unit("ton/h") == frozenset()  # refused: says nothing


@pytest.mark.timeout(10)
@pytest.mark.parametrize("text", ["10**10**10", "9**9**9", "m**99999999", "10**100", "(m**2)**3"])
def test_arithmetic_is_refused_before_pint_computes_it(text: str) -> None:
    """pint evaluates numbers as Python integers: ``9**9**9`` never returned (any door hung)."""
    with pytest.raises(ValueError, match="is arithmetic, not a unit"):
        parse_unit(text)
    with pytest.raises(ValidationError, match="is arithmetic, not a unit"):
        Reading(meter="m1", ts="2026-12-05T00:00:00Z", value=1.0, unit=text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Ym^3/h", "2.78e+68 of its SI base units"),
        ("(Ym)**13/m**10/h", "too large a multiple of its SI base units"),
        ("m^3/h\x00", "holds a control, invisible or comment character"),
        ("m\u200b^3/h", "holds a control, invisible or comment character"),
        ("m^3/h # per hour", "holds a control, invisible or comment character"),
        ("k" * 10_000, "a unit has at most 32 characters, not 10000"),
    ],
)
def test_units_pint_would_mangle_are_refused(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        parse_unit(text)


def test_small_powers_stay_units() -> None:
    for text in ("m^3/h", "m**-1", "kg/m**3", "m^(3)", "1/h", "s**-2", "m ** 3 / h"):
        parse_unit(text)


@pytest.mark.parametrize(
    "text", ["kton", "Mton/yr", "ktons", "kilotons", "megaton", "mscf", "MSCF/d"]
)
def test_prefixed_tons_and_thousand_scf_are_ambiguous_too(text: str) -> None:
    with pytest.raises(AmbiguousUnitError):
        parse_unit(text)


@pytest.mark.parametrize(
    "text",
    [
        "GJ\uff03/h",  # a full-width number sign: "#" once normalised (pint's comment)
        "m\u00ad3/h",  # a soft hyphen
        "m3/h\u2066",  # a direction isolate
        "t\u034f/h",  # a combining grapheme joiner
        "t/h\u2028",  # a line separator
    ],
)
def test_characters_no_reader_sees_are_refused_whatever_their_code_point(text: str) -> None:
    with pytest.raises(ValueError, match="control, invisible or comment character"):
        parse_unit(text)


def test_a_weight_percent_is_no_watt_and_a_kgce_is_coal_equivalent() -> None:
    with pytest.raises(ValueError, match="not a unit pint understands"):
        parse_unit("Wt%")
    assert _in("千克标准煤", "MJ") == pytest.approx(29.3076)
    assert _in("公斤标煤/吨", "MJ/t") == pytest.approx(29.3076)
    assert kinds_for_unit("千标方/小时") == {ResourceKind.GAS}


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "text",
    [
        "9,**9,**9",  # pint drops commas: 9**9**9
        "\uff19\uff0c\uff0a\uff0a\uff19\uff0c\uff0a\uff0a\uff19",  # the same, full-width
        "(9m)**(99*99*99*99)",
        "(9 m)**(99 99 99 99)",  # pint reads spaces as products
        "(9m)**9_9_9_9_9_9_9_9",  # Python reads 9_9 as 99
        "m**9e9",
        "t/h$",  # a character pint would silently drop
    ],
)
def test_what_pint_would_compute_is_refused_as_pint_reads_it(text: str) -> None:
    with pytest.raises(ValueError, match="is arithmetic, not a unit"):
        parse_unit(text)


def test_thermal_energy_qualifiers_and_more_prefixed_tons() -> None:
    assert _in("MWh(th)", "MWh") == pytest.approx(1.0)
    assert _in("MWhth", "MWh") == pytest.approx(1.0)
    for text in ("mton/h", "Tton"):
        with pytest.raises(AmbiguousUnitError):
            parse_unit(text)


@pytest.mark.parametrize("text", ["\ud1a4/\uc77c\uc77c", "\uc77c\ub9cc\ud1a4/\ub144"])
def test_korean_one_syllable_units_are_not_read_inside_other_words(text: str) -> None:
    """``일일`` is "daily", ``일만`` "ten thousand": read as day x day or day x 10,000 t, pint
    would make a rate a mass. They are refused, not misread."""
    with pytest.raises(ValueError, match="not a unit"):
        parse_unit(text)
