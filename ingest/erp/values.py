"""Value normalisers: a cell of an export -> an offer field's value, or a ValueError saying why."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Final, Protocol
from zoneinfo import ZoneInfo

from domain.ewc import catalogue
from schemas.common import SLUG_PATTERN
from schemas.units import parse_unit

_SLUG = re.compile(SLUG_PATTERN)
_NON_SLUG = re.compile(r"[^a-z0-9]+")
_EWC = re.compile(
    r"(?:(?:ewc|eak|avv|low)\s*[:#-]?\s*)?(\d{2})[\s./-]?(\d{2})[\s./-]?(\d{2})\s*\*?", re.I
)
_EWC_LOST_ZERO = re.compile(r"(\d{5})\s*\*?")
_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_SPACES: Final = " \u00a0\u2007\u2009\u202f"
"""Spaces a number's digit groups may be separated by: space, no-break, figure, thin, narrow."""
_APOSTROPHES: Final = "'\u2019"
"""Swiss digit-group separators: apostrophe, right single quote."""
_GROUP_SEPARATORS: Final = _SPACES + _APOSTROPHES
_LEADING_ZERO_GROUP = re.compile("(0\\d*)([.,'\u2019" + _SPACES + r"])\d")
"""A first digit group starting with 0 (``0,750``, ``012,500``, ``001.250``) followed by a
separator and a digit: a decimal mark after a zero-padded number, never grouping."""
_LAKH = re.compile(r"\d{1,2}(?:,\d{2})+,\d{3}")
"""Indian lakh/crore grouping of a number's whole part: ``1,23,456``."""
_UNIT_CODE = re.compile(r"[A-Z][A-Z0-9]{1,3}")
"""Text written like an ERP's unit code (``TO``, ``KGM``, ``M3``)."""
_EXCEL_MAX_SERIAL: Final = 2_958_466  # 9999-12-31
_NO_DATES: Final = re.compile(
    r"(?:0{1,4}[./-]0{1,2}[./-]0{1,4}|0{8}|0000-00-00)(?:[T ]0{1,2}:00(?::00(?:\.0+)?)?)?"
)
"""How ERPs write "no date" in a date column: SAP ``00.00.0000``, ``0000-00-00``, ``00000000``,
each also with a midnight time (``00.00.0000 00:00:00``)."""
EMPTY_DATE_DAYS: Final = (date(1900, 1, 1), date(1753, 1, 1))
"""Midnight on these days is an ERP's "no date": Dynamics 365/AX write ``1900-01-01T00:00:00Z``
for an empty date, SQL Server's ``datetime`` minimum is 1753-01-01."""
UNIT_CODES: Final[Mapping[str, str]] = {
    # UN/ECE Recommendation 20 common codes (EDI, e-invoicing; SAP's ISO unit codes, T006I)
    "TNE": "t",
    "KGM": "kg",
    "GRM": "g",
    "MTQ": "m^3",
    "LTR": "l",
    "MWH": "MWh",
    "KWH": "kWh",
    "GWH": "GWh",
    "MAW": "MW",
    "KWT": "kW",
    "MQH": "m^3/h",
    "MLT": "ml",
    # SAP internal units of measure (table T006, English), upper case as SAP writes them
    "TO": "t",
    "KG": "kg",
    "M3": "m^3",
}
"""Unit codes of ERP exports that are not unit symbols, and the unit each means.

Sources: UN/ECE Recommendation 20, "Codes for Units of Measure Used in International Trade"
(Annex I, common codes), and SAP's unit table T006, whose ISOCODE field maps each internal unit
to its Rec. 20 code. Used only for a cell that does not parse as a unit as written, after the
mapping's own ``units``.
"""
MISREAD_CODES: Final[Mapping[str, tuple[str, str, str]]] = {
    "ML": ("ml", "a millilitre", "a megalitre (10^6 l), 10^9 times more"),
}
"""ERP unit codes that pint reads as another unit: code -> (the unit the ERP means, what the
ERP means, what pint would read). SAP's ``ML`` (table T006) is a millilitre; pint reads it as
a megalitre, which passes the kind checks of water and gas. Such a code is refused in a unit
cell unless the mapping's ``units`` says what it is. (SAP's ``G`` and ``MG``, gram and
milligram, read as gauss and megagauss, which the kind checks refuse already.)"""


class ValueSettings(Protocol):
    """What normalising needs of a column mapping: :class:`~ingest.erp.mapping.ColumnMapping`.

    A protocol, so that this module need not import the mapping module, which imports it.
    """

    @property
    def timezone(self) -> str:
        """IANA zone of dates without one."""

    @property
    def date_format(self) -> str | None:
        """``strptime`` format of text dates; None: ISO 8601."""

    @property
    def decimal_comma(self) -> bool | None:
        """Quantities are written ``1.234,5``; None: not said (``1,234.5``, and checked)."""

    @property
    def defaults(self) -> Mapping[str, object]:
        """Target offer field -> constant."""

    @property
    def units(self) -> Mapping[str, str]:
        """The export's unit codes -> units (``TO`` -> ``t``)."""


def slugify(text: str) -> str:
    """A slug of ``text``: ASCII, lower case, other runs -> ``-`` (a lone ``_`` is kept).

    Returns ``""`` when the text has no letters or digits; otherwise the result matches
    :data:`schemas.common.SLUG_PATTERN` (length aside).
    """
    if _SLUG.fullmatch(text):
        return text
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return _NON_SLUG.sub(lambda m: "_" if m.group() == "_" else "-", folded).strip("-_")


def normalise_ewc(value: object) -> str:
    """An EWC code as six digits: ``"10 01 05*"``, ``"10.01.05"``, ``"EWC 100105"``, ``100105``.

    A five-digit value is a code that lost its leading zero on the way through a spreadsheet
    (``20101`` -> ``"020101"``). Does not check that the code is on the List of Waste.

    Raises:
        ValueError: the value is not written like an EWC code.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an EWC code")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        if 0 < value < 1_000_000:
            return f"{value:06d}"
        raise ValueError(f"{value!r} is not an EWC code (six digits, e.g. 10 01 05)")
    text = str(value).strip()
    found = _EWC.fullmatch(text)
    if found:
        return "".join(found.groups())
    lost_zero = _EWC_LOST_ZERO.fullmatch(text)
    if lost_zero:
        return "0" + lost_zero.group(1)
    raise ValueError(f"{text!r} is not an EWC code (six digits, e.g. 10 01 05)")


def parse_quantity(value: object, *, decimal_comma: bool = False) -> float:
    """A finite number from a cell: ``12``, ``12.5``, ``1,234.5``; ``1.234,5`` with a comma.

    The rules, for text (numbers from XLSX cells are taken as they are):

    * a decimal point, or with ``decimal_comma`` a decimal comma; at most one;
    * digit groups of three, separated by the other mark (``,`` or with ``decimal_comma``
      ``.``), or by a space (also no-break, thin, narrow) or ``'``; one kind of separator in a
      number, the first group 1-3 digits not starting with 0: ``1,234.5``, ``1 234,5``,
      ``1'234.5``. A separator never follows a first group starting with 0 (``0``, ``00``,
      zero-padded ``012``), so ``0,750`` is never 750, ``012,500`` never 12500, nor ``0.750``
      or ``012.500`` (with a decimal comma) 750 or 12500: such text is a decimal, or an error;
    * without ``decimal_comma`` a comma is only a group separator: ``2,5`` and ``0,750`` are
      errors (never 25 or 750) saying to set ``decimal_comma``;
    * a sign before, or (SAP) a minus after the number: ``1.234,500-`` is -1234.5.

    Raises:
        ValueError: not a number in the expected notation (saying why), or not finite.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, int | float):
        number = float(value)
    else:
        number = _parse_number_text(str(value), decimal_comma=decimal_comma)
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


def _parse_number_text(written: str, *, decimal_comma: bool) -> float:
    """The number ``written`` stands for, by :func:`parse_quantity`'s rules.

    Raises:
        ValueError: it breaks one of them (the message says which, and what to set).

    Long because: each broken rule has its own message saying what to set.
    """
    text = written.strip()
    sign = ""
    if text.startswith(("+", "-")):
        sign, text = text[0], text[1:].lstrip()
    elif text.endswith("-"):  # SAP writes a negative quantity 1.234,500-
        sign, text = "-", text[:-1].rstrip()
    point, group = (",", ".") if decimal_comma else (".", ",")
    notation = "a number written with a decimal comma" if decimal_comma else "a number"
    if not decimal_comma and _NUMBER.fullmatch(text):
        return float(sign + text)
    zero = _LEADING_ZERO_GROUP.match(text)
    if zero is not None and zero.group(2) != point:
        mark = zero.group(2)
        if decimal_comma and mark == ".":
            raise ValueError(
                f"{written!r} is not {notation}: a thousands separator never follows a leading "
                "0, so this is a decimal point; if the export writes 0.5 for a half, remove "
                "'decimal_comma: true' from the mapping"
            )
        if mark == ",":
            raise ValueError(
                f"{written!r} is not a number: a thousands separator never follows a leading "
                f"0, so this is a decimal comma ({text} is {text.replace(',', '.')}), not "
                f"{text.replace(',', '')}; set 'decimal_comma: true' in the mapping"
            )
        raise ValueError(f"{written!r} is not {notation}: digit groups never follow a leading 0")
    whole, has_point, fraction = text.partition(point)
    digits = fraction.isascii() and fraction.isdigit()
    if (fraction and not digits) or not (whole or fraction):
        raise ValueError(f"{written!r} is not {notation}")
    separators = {c for c in whole if not c.isdigit()}
    if separators:
        separator = separators.pop()
        groups = whole.split(separator)
        if (
            separators
            or separator not in _GROUP_SEPARATORS + group
            or not (groups[0].isdigit() and len(groups[0]) <= 3)
            or not all(len(g) == 3 and g.isdigit() for g in groups[1:])
        ):
            if _LAKH.fullmatch(whole):
                raise ValueError(
                    f"{written!r} is not a number: digit groups are of three (123,456.78); "
                    "Indian lakh grouping (1,23,456.78) is not read, export numbers ungrouped"
                )
            if "," in whole and not decimal_comma and _reads_with_comma(written):
                raise ValueError(
                    f"{written!r} is not a number; if the export writes 2,5 for 2.5, set "
                    "'decimal_comma: true' in the mapping"
                )
            raise ValueError(f"{written!r} is not {notation}")
        whole = "".join(groups)
    if not whole.isascii() or not (whole.isdigit() or (has_point and not whole)):
        raise ValueError(f"{written!r} is not {notation}")
    return float(f"{sign}{whole or 0}.{fraction or 0}")


def _reads_with_comma(written: str) -> bool:
    """Whether ``written`` is a number with a decimal comma (so the advice to set it helps)."""
    try:
        _parse_number_text(written, decimal_comma=True)
    except ValueError:
        return False
    return True


def is_no_date(value: object) -> bool:
    """Whether a date cell is an ERP's way of writing "no date".

    SAP writes an empty date ``00.00.0000`` (also ``0000-00-00``, ``00000000``, each also
    with ``00:00:00``); Dynamics 365 and AX write ``1900-01-01T00:00:00Z`` (midnight on a day
    of :data:`EMPTY_DATE_DAYS`, in any zone notation); an XLSX date cell holding 0 (Excel's
    day 0, which openpyxl reads as the time ``00:00``) is no date either. Such a cell is read
    as an empty cell. Never raises.
    """
    if isinstance(value, datetime):
        return value.date() in EMPTY_DATE_DAYS and value.time() == time()
    if isinstance(value, time):
        return value == time()
    if isinstance(value, date) or not isinstance(value, str):
        return False
    text = value.strip()
    if _NO_DATES.fullmatch(text):
        return True
    if not text.startswith(("1900-01-01", "1753-01-01")):
        return False
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return False
    return moment.time() == time() and moment.utcoffset() in (None, timedelta(0))


def parse_datetime(
    value: object,
    *,
    tz: tzinfo,
    date_format: str | None = None,
    excel_serials: bool = False,
    excel_epoch: datetime | None = None,
) -> datetime:
    """A timezone-aware timestamp from a cell.

    Args:
        value: a ``datetime``/``date`` (XLSX date cells), an ISO 8601 text (or one in
            ``date_format``), or with ``excel_serials`` an Excel serial day number.
        tz: the zone of a value without one.
        date_format: ``strptime`` format of text values; ``None``: ISO 8601.
        excel_serials: accept numbers as Excel serial dates (XLSX cells formatted as numbers).
        excel_epoch: the workbook's epoch (1900 or 1904 date system); ``None``: 1900.

    Raises:
        ValueError: not a date in the expected notation.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if not excel_serials:
            raise ValueError(f"{value!r} is a number, not a date")
        if not 1 <= value < _EXCEL_MAX_SERIAL:
            raise ValueError(f"{value!r} is not an Excel date serial number")
        from openpyxl.utils.datetime import (  # type: ignore[import-untyped,unused-ignore]
            CALENDAR_WINDOWS_1900,
            from_excel,
        )

        converted: datetime = from_excel(value, excel_epoch or CALENDAR_WINDOWS_1900)
        moment = converted
    else:
        text = str(value).strip()
        try:
            if date_format is not None:
                moment = datetime.strptime(text, date_format)
            else:
                moment = datetime.fromisoformat(text)
        except ValueError as e:
            expected = (
                f"in the mapping's date_format {date_format!r}"
                if date_format is not None
                else "in ISO 8601 (2025-03-01 or 2025-03-01T08:00); set date_format in the "
                "mapping for another notation"
            )
            raise ValueError(f"{text!r} is not a date {expected}") from e
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        raise ValueError("expected a single value, not a list or object")
    return str(value)


def _slug_value(value: object) -> str:
    slug = slugify(_text(value))
    if not slug:
        raise ValueError(f"{value!r} has no letters or digits to make an id of")
    return slug


def _ewc_value(value: object) -> str:
    code = normalise_ewc(value)
    if code not in catalogue().entries:
        raise ValueError(f"{code[:2]} {code[2:4]} {code[4:]} is not on the European List of Waste")
    return code


def _cell(value: object) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _normalisers(
    mapping: ValueSettings,
    *,
    excel_serials: bool = False,
    epoch: Callable[[], datetime | None] = lambda: None,
) -> dict[str, Callable[[object], Any]]:
    """Per target field: cell -> normalised value (raises ValueError with the reason)."""
    zone = ZoneInfo(mapping.timezone)

    def when(value: object) -> datetime | None:
        if is_no_date(value):
            return None
        return parse_datetime(
            value,
            tz=zone,
            date_format=mapping.date_format,
            excel_serials=excel_serials,
            excel_epoch=epoch(),
        )

    def quantity(value: object) -> float:
        return parse_quantity(value, decimal_comma=bool(mapping.decimal_comma))

    units = mapping.units

    def unit(value: object) -> str:
        return parse_unit_code(_text(value), units)

    return {
        "id": _slug_value,
        "site": _slug_value,
        "stream": _slug_value,
        "kind": lambda v: _text(v).lower(),
        "description": _text,
        "ewc": _ewc_value,
        "quantity": quantity,
        "unit": unit,
        "available_from": when,
        "available_until": when,
    }


def parse_unit_code(text: str, units: Mapping[str, str] | None = None) -> str:
    """The unit a unit cell means, by the mapping's ``units``, as written, or an ERP code.

    ``units`` (the mapping's) first, else the text if it is a unit, else :data:`UNIT_CODES`
    (``TO`` -> ``t``, ``KGM`` -> ``kg``).

    Raises:
        ValueError: none of them is a unit; the message suggests the text in lower case when
            that is one (``'KG' ... did you mean 'kg'?``), else the closest unit, and never a
            unit for an unknown code (it asks for ``units: {CODE: <unit>}``). Also a code
            pint would read as another unit than the ERP means (:data:`MISREAD_CODES`:
            ``ML``, a millilitre, not a megalitre) when ``units`` does not name it.
    """
    text = text.strip()
    if units and text in units:
        text = units[text]
    elif text in MISREAD_CODES:
        meant, erp, pint_reads = MISREAD_CODES[text]
        raise ValueError(
            f"{text!r} is ambiguous: SAP's unit code {text} is {erp}, but read as a unit it is "
            f"{pint_reads}; write {meant!r} in the export, or say what it is in the mapping "
            f"(units: {{{text}: {meant}}})"
        )
    try:
        parse_unit(text)
    except ValueError as e:
        code = UNIT_CODES.get(text)
        if code is not None:
            return code
        lower = text.lower()
        if lower != text:
            try:
                parse_unit(lower)
            except ValueError:
                pass
            else:
                raise ValueError(
                    f"{text!r} is not a unit pint understands; did you mean {lower!r}? (or "
                    f"add 'units: {{{text}: {lower}}}' to the mapping)"
                ) from e
        if _UNIT_CODE.fullmatch(text):
            raise ValueError(
                f"{e}; if it is the ERP's code of a unit, say which unit it is in the mapping "
                f"(units: {{{text}: <unit>}}, as TNE is t and LTR is l)"
            ) from e
        raise
    return text


def normalised_defaults(mapping: ValueSettings) -> dict[str, Any]:
    """The mapping's ``defaults``, normalised as cells are.

    Raises:
        ValueError: a default is invalid (``defaults.<field>: reason``).
    """
    normalisers = _normalisers(mapping)
    defaults: dict[str, Any] = {}
    for target, value in mapping.defaults.items():
        try:
            defaults[target] = normalisers[target](value)
        except ValueError as e:
            raise ValueError(f"defaults.{target}: {e}") from e
    return defaults
