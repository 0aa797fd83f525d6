"""Value normalisers: a cell of an export -> an offer field's value, or a ValueError saying why."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, tzinfo
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
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")
_DECIMAL_COMMA = re.compile(r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d*)(?:,\d*)?")
_EXCEL_MAX_SERIAL: Final = 2_958_466  # 9999-12-31


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
    def decimal_comma(self) -> bool:
        """Quantities are written ``1.234,5``."""

    @property
    def defaults(self) -> Mapping[str, object]:
        """Target offer field -> constant."""


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

    Spaces (also non-breaking) and ``'`` between digit groups are ignored. Without
    ``decimal_comma`` a comma is only accepted as a thousands separator (``1,234``), so
    ``2,5`` is an error rather than silently 25.

    Raises:
        ValueError: not a number in the expected notation, or not finite.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value).strip()
        for sep in (" ", "\u00a0", "\u202f", "'"):
            text = text.replace(sep, "")
        if decimal_comma:
            if not _DECIMAL_COMMA.fullmatch(text) or not any(c.isdigit() for c in text):
                raise ValueError(f"{value!r} is not a number written with a decimal comma")
            text = text.replace(".", "").replace(",", ".")
        elif "," in text:
            if not _GROUPED.fullmatch(text):
                raise ValueError(
                    f"{value!r} is not a number; if the export writes 2,5 for 2.5, set "
                    "'decimal_comma: true' in the mapping"
                )
            text = text.replace(",", "")
        if not _NUMBER.fullmatch(text):
            raise ValueError(f"{value!r} is not a number")
        number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


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

    def when(value: object) -> datetime:
        return parse_datetime(
            value,
            tz=zone,
            date_format=mapping.date_format,
            excel_serials=excel_serials,
            excel_epoch=epoch(),
        )

    def quantity(value: object) -> float:
        return parse_quantity(value, decimal_comma=mapping.decimal_comma)

    def unit(value: object) -> str:
        text = _text(value)
        parse_unit(text)
        return text

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
