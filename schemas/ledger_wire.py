r"""A fast reader of the ledger topic's records for the sink: the model's values, or no answer.

The sink validates every ledger entry the workers publish (five per TEDA push). Through
:class:`~schemas.ledger.LedgerEntry` that is a model instance, two slug regular expressions
and two Python validators normalising times to UTC per entry: 12 % of the sink's samples on an
unpaced TEDA run (``docs/performance.md``). As :mod:`schemas.readings_wire` does for readings,
msgspec decodes the entry into a frozen struct with the model's field names and the
constraints it can state, and :func:`wire_ledger_entry` checks the rest in Python.

Guarantee: when :func:`wire_ledger_entry` answers, the model accepts the same bytes and holds
the same values (times in UTC, as the model normalises them). It does not answer (``None``)
when it is not sure: any constraint failed, a time not written in UTC (the model would convert
it), a time with more than six fractional digits or a ``\u`` escape anywhere (as for readings),
any check raising. Numbers are finite: msgspec refuses one out of a double's range, and JSON
holds no NaN or Infinity. The model then decides and words the errors.
``tests/unit/test_ledger_wire.py`` holds the two to the same answers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Final, Literal

import msgspec

from schemas.common import ResourceKind
from schemas.readings_wire import long_fraction, slug_ok, unit_ok
from schemas.units import UNIT_MAX_CHARS

_Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
_Share = Annotated[float, msgspec.Meta(ge=0, le=1)]
_Amount = Annotated[float, msgspec.Meta(ge=0)]


class WireLedgerEntry(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """:class:`~schemas.ledger.LedgerEntry` as msgspec decodes it (fields in its order)."""

    schema_version: Literal[1] = 1
    stream: _Id
    site: _Id
    kind: ResourceKind
    unit: Annotated[str, msgspec.Meta(min_length=1, max_length=UNIT_MAX_CHARS)]
    window_s: Annotated[float, msgspec.Meta(gt=0)]
    measured: float
    committed: _Amount
    available: _Amount
    steadiness: _Share
    samples: Annotated[int, msgspec.Meta(ge=0)]
    available_since: datetime | None = None
    updated_at: datetime
    stale: bool = False


_ENTRY: Final = msgspec.json.Decoder(WireLedgerEntry)


def _utc(ts: datetime | None) -> bool:
    return ts is None or ts.tzinfo is UTC


def wire_ledger_entry(value: bytes) -> WireLedgerEntry | None:
    """A ledger record's entry, or ``None``: ask the model (see the module docstring).

    Never raises. ``None`` is no verdict: the record may be valid or not.
    """
    try:
        if long_fraction(value):
            return None
        e = _ENTRY.decode(value)
        ok = (
            slug_ok(e.stream)
            and slug_ok(e.site)
            and unit_ok(e.unit)
            and _utc(e.updated_at)
            and _utc(e.available_since)
        )
    except Exception:  # noqa: BLE001 - no verdict: the model decides and words it
        return None
    return e if ok else None
