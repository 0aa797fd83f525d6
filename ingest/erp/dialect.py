"""How a text export is written: its encoding and (CSV) delimiter, given or detected.

What the command line gives (``--encoding``, ``--delimiter``) wins over the mapping, which wins
over detection. Detection reads the first bytes of the file (:attr:`ImportLimits.sniff_bytes`):

* encoding: a byte-order mark names it (UTF-8, UTF-16, UTF-32); else the text is UTF-8 when its
  first bytes are, or when they hold valid UTF-8 sequences besides bytes that are not (a UTF-8
  file with a corrupt byte stays UTF-8: that row is a bad row, the others are read right);
  else charset-normalizer picks among the code pages ERP exports are written in (the Windows
  ANSI code pages, :data:`CODE_PAGES`). Its pick is a guess, right on real exports of a few
  lines and more, and said on stderr so that a person can correct it;
* delimiter: :class:`csv.Sniffer` among ``, ; TAB |`` on the first lines; when it cannot tell
  (one column, too few lines), ``,`` (a tab for ``.tsv``).

Nothing here raises on odd bytes: an encoding that is wrong for later bytes makes those rows
bad rows naming the column (see :mod:`.sources`).
"""

from __future__ import annotations

import codecs
import csv
import re
from collections import Counter
from dataclasses import dataclass
from typing import Final, Literal

import charset_normalizer

Origin = Literal["--encoding", "--delimiter", "mapping", "detected", "default"]
"""Where a setting came from: the command line, the mapping, detection, or the default."""

CODE_PAGES: Final = (
    "utf_8",
    "cp1250",  # Central European
    "cp1251",  # Cyrillic
    "cp1252",  # Western European
    "cp1253",  # Greek
    "cp1254",  # Turkish
    "cp1255",  # Hebrew
    "cp1256",  # Arabic
    "cp1257",  # Baltic
    "cp1258",  # Vietnamese
    "cp932",  # Japanese
    "gb18030",  # Simplified Chinese (a superset of cp936/GBK)
    "cp949",  # Korean
    "cp950",  # Traditional Chinese
)
"""Encodings charset-normalizer chooses among: UTF-8 and the ANSI code pages of Windows, in
which ERP systems write what they do not write in UTF-8."""
WESTERN: Final = "cp1252"
"""The name given when a guess decodes the bytes exactly as cp1252 does (German text reads
the same in cp1250 and cp1252: it is cp1252 that wrote it)."""
DELIMITERS: Final = ",;\t|"
"""The delimiters :class:`csv.Sniffer` chooses among."""
SNIFF_LINES: Final = 50
"""Lines of the sample the delimiter is sniffed from."""

_BOMS: Final = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16: it starts with UTF-16-LE's BOM
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_NOT_UTF8: Final = re.compile("[\udc80-\udcff]")
"""A byte that is not UTF-8, as ``surrogateescape`` decodes it."""
_UTF8_MULTIBYTE: Final = re.compile("[^\x00-\x7f\udc80-\udcff]")
"""A character UTF-8 writes in several bytes, decoded."""


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting of how an export is read, and where it came from."""

    value: str
    origin: Origin

    def __str__(self) -> str:
        return f"{self.value} ({self.origin})"


@dataclass(frozen=True, slots=True)
class TextDialect:
    """How a text export is read: its encoding, and for CSV its delimiter.

    Attributes:
        encoding: the codec that decodes it (``utf-8-sig`` for UTF-8: a BOM is optional).
        delimiter: CSV only; None for JSON and JSON Lines.
    """

    encoding: Setting
    delimiter: Setting | None = None

    def describe(self) -> str:
        """What was used and why, e.g. ``encoding cp1252 (detected), delimiter ';' (mapping)``.

        A detected value says how to override it.
        """
        shown = encoding_name(self.encoding.value)
        parts = [f"encoding {shown} ({_origin(self.encoding.origin, '--encoding')})"]
        if self.delimiter is not None:
            origin = _origin(self.delimiter.origin, "--delimiter")
            parts.append(f"delimiter {self.delimiter.value!r} ({origin})")
        return ", ".join(parts)


def _origin(origin: Origin, option: str) -> str:
    if origin == "detected":
        return f"detected; {option} to override"
    if origin == "default":
        return f"not detected, the default; {option} to set"
    return origin


def encoding_name(codec: str) -> str:
    """The name of an encoding for messages: ``utf-8`` for ``utf-8-sig``, else as given."""
    return "utf-8" if codecs.lookup(codec).name == "utf-8-sig" else codec


def whole_lines(sample: bytes) -> bytes:
    """``sample`` up to its last line break (no character cut in two); all of it without one."""
    end = sample.rfind(b"\n")
    return sample[: end + 1] if end >= 0 else sample


def detect_encoding(sample: bytes) -> str:
    """The codec of a text file, from its first bytes (see the module docstring).

    Returns:
        A codec name Python knows: ``utf-8`` or ``utf-8-sig`` (with a BOM), ``utf-16``,
        ``utf-32``, or charset-normalizer's pick (``cp1252``, ``cp1250``, ...). ``utf-8`` when
        nothing fits: the bytes that are not UTF-8 then make bad rows.
    """
    for bom, codec in _BOMS:
        if sample.startswith(bom):
            return codec
    head = whole_lines(sample)
    if head.isascii():
        return "utf-8"
    # final=False: a character cut in two at the sample's end is held back, not a bad byte
    text = codecs.getincrementaldecoder("utf-8")("surrogateescape").decode(head, final=False)
    if not _NOT_UTF8.search(text) or _UTF8_MULTIBYTE.search(text):
        return "utf-8"
    best = charset_normalizer.from_bytes(head, cp_isolation=list(CODE_PAGES)).best()
    if best is None:
        return "utf-8"
    if WESTERN in best.could_be_from_charset:
        return WESTERN
    return codecs.lookup(best.encoding).name


def resolve_encoding(given: Setting | None, sample: bytes) -> Setting:
    """The encoding given, or the one detected from ``sample``."""
    if given is not None:
        return given
    return Setting(detect_encoding(sample), "detected")


def detect_delimiter(text: str) -> str | None:
    """The delimiter of CSV text (its first lines), or None when :class:`csv.Sniffer` cannot tell.

    It cannot tell from one column, or when no delimiter is used the same on every line.
    """
    lines = text.splitlines(keepends=True)[:SNIFF_LINES]
    try:
        return csv.Sniffer().sniff("".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        return None


def resolve_delimiter(given: Setting | None, text: str, default: str) -> Setting:
    """The delimiter given, else the one detected in ``text``, else ``default``."""
    if given is not None:
        return given
    found = detect_delimiter(text)
    return Setting(found, "detected") if found is not None else Setting(default, "default")


def likely_delimiter(header: str, used: str) -> str | None:
    """The delimiter a one-column header seems to use instead of ``used``, or None.

    The most frequent of :data:`DELIMITERS` in it; None when it has none of them.
    """
    counts = Counter(c for c in header if c in DELIMITERS and c != used)
    return counts.most_common(1)[0][0] if counts else None
