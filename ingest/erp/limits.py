"""Caps on what an ERP export may make the importer hold in memory (exports are untrusted)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

MIB: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class ImportLimits:
    """Resource caps of one import; the defaults suit any real export.

    Attributes:
        json_bytes: largest whole-document ``.json`` export: a JSON document is parsed whole,
            in memory. Larger exports should be JSON Lines (``.jsonl``, one record per line),
            which is streamed.
        line_bytes: longest physical line of a CSV or JSON Lines export (CSV: in characters);
            a longer line is a bad row, skipped without being held whole.
        xlsx_uncompressed_bytes: largest total uncompressed size of an XLSX workbook's zip
            members, as declared in its directory (zipfile never inflates a member past its
            declared size).
        xlsx_ratio: largest compression ratio of an XLSX member over ``xlsx_ratio_min_bytes``
            uncompressed; real sheets compress about 10:1, zip bombs 1000:1.
        xlsx_ratio_min_bytes: members up to this size are not checked for their ratio.
        sniff_bytes: the first bytes of a text export its encoding and CSV delimiter are
            detected from (when neither the mapping nor the command line gives them).
    """

    json_bytes: int = 64 * MIB
    line_bytes: int = MIB
    xlsx_uncompressed_bytes: int = 256 * MIB
    xlsx_ratio: float = 200.0
    xlsx_ratio_min_bytes: int = MIB
    sniff_bytes: int = MIB


DEFAULT_LIMITS: Final = ImportLimits()


def size_text(size: int) -> str:
    """A byte count for messages: ``64 MiB``, ``1.5 MiB``, ``2,000 bytes``."""
    if size >= MIB:
        return f"{size / MIB:,.1f}".removesuffix(".0") + " MiB"
    return f"{size:,} bytes"
