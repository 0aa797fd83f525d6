"""How a text export is written: its encoding and (CSV) delimiter, given or detected.

What the command line gives (``--encoding``, ``--delimiter``) wins over the mapping, which wins
over detection. Detection reads the first bytes of the file (:attr:`ImportLimits.sniff_bytes`):

* encoding: a byte-order mark names it (UTF-8, UTF-16, UTF-32); else the sample is UTF-8 when
  it is valid UTF-8 throughout. A sample with bytes that are not UTF-8 is UTF-8 only when they
  are stray bytes among many UTF-8 characters (:data:`UTF8_PER_BAD_BYTE` or more per bad
  byte: a UTF-8 file with a corrupt byte, whose row is then a bad row); a legacy file whose
  bytes happen to form a few valid UTF-8 sequences (the GBK bytes of "sawdust", two Chinese
  characters, are valid UTF-8 for a Slovak and a Cyrillic letter) is not UTF-8, unless no
  legacy reading writes a language well (under :data:`LANGUAGE_SHARE`) and the sample has at
  least as many UTF-8 characters as bad bytes (a UTF-8 file with few umlauts and one stray
  byte: ``Holzsp\u00c3\u00a4ne`` is no cp1252 text).
  Else the legacy code page is chosen by the evidence of the whole sample
  (:func:`legacy_encoding`): Japanese (kana in Shift_JIS), Chinese (GBK, read as its superset
  gb18030) or Korean (EUC-KR) by how their double bytes fall; else the Windows code page
  (cp1252 Western, cp1250 Central European, cp1251 Cyrillic, cp1254 Turkish, cp1257 Baltic)
  whose reading writes the sample's letters in a single language (French read as cp1250
  would mix Slovak and Polish letters), cp1252 on a tie, except that a cp1250 reading with
  Hungarian ``\u0151`` wins it (and one differing only in ``\u0171``/``\u00fb`` is
  unclear); else the one other code page charset-normalizer reads with little chaos (Big5 as
  cp950, Greek, Arabic); else the best single-byte reading if it is good enough
  (:data:`ASK_BELOW`). When none of these decides, detection raises
  :class:`UnclearEncodingError`, naming the candidates, and the import asks for ``--encoding``.
  The pick is said on stderr so that a person can correct it;
* delimiter: :class:`csv.Sniffer` among ``, ; TAB |`` on the first lines (from the header on,
  title and ruler lines left out); when it cannot tell (one column, too few lines), ``,`` (a
  tab for ``.tsv`` and for a ``.xls`` that is text).

Nothing here raises on odd bytes but :class:`UnclearEncodingError`: an encoding that is wrong for
later bytes makes those rows bad rows naming the column (see :mod:`.sources`).
"""

from __future__ import annotations

import codecs
import csv
import re
from collections import Counter
from collections.abc import Collection
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
SINGLE_BYTE: Final = ("cp1252", "cp1250", "cp1251", "cp1254", "cp1257")
"""The Windows code pages chosen by language (:func:`legacy_encoding`), in order of preference."""
LANGUAGE_SHARE: Final = 0.9
"""A single-byte reading is taken when one language writes this share of its non-ASCII text."""
KANA_SHARE: Final = 0.2
"""Japanese: at least this share of the non-ASCII characters are kana."""
GB2312_SHARE: Final = 0.8
"""Chinese: at least this share of the double bytes fall in GB2312's rows (both >= 0xA1), and
of its characters in its first level (lead 0xB0-0xD7, the 3,755 common ones: over 99 % of
modern text). Cyrillic (cp1251) letters paired up fall mostly outside it."""
HANGUL_MIN: Final = 16
"""Korean: at least this many double bytes, every one in EUC-KR's Hangul rows (0xB0-0xC8)."""
_GERMAN: Final = "äöüßÄÖÜ"
_LATIN1_SIGNS: Final = "\u00a0«»°±²³µ·\u00d7÷§©®¢£¥¬¿¡"
SIGNS: Final = frozenset(
    "\u2013\u2014\u2018\u2019\u201a\u201c\u201d\u201e\u2022\u2026\u20ac\u00a0°±·\u00d7§©®«»"
)
"""Signs common in text of every European code page, counted for each."""
LANGUAGES: Final[dict[str, tuple[frozenset[str], ...]]] = {
    "cp1252": tuple(
        frozenset(letters + _GERMAN + _LATIN1_SIGNS)
        for letters in (
            "àâæçéèêëîïôœùûüÿÀÂÆÇÉÈÊËÎÏÔŒÙÛÜŸ",  # French
            "áéíóúñüÁÉÍÓÚÑÜ",  # Spanish
            "áâãàçéêíóôõúÁÂÃÀÇÉÊÍÓÔÕÚ",  # Portuguese
            "àèéìíîòóùúÀÈÉÌÍÎÒÓÙÚ",  # Italian
            "äëïöüéèêóáíúÄËÏÖÜÉ",  # Dutch
            "æøåéóÆØÅÉ",  # Danish, Norwegian
            "åäöéÅÄÖÉšžŠŽ",  # Swedish, Finnish
        )
    ),
    "cp1250": tuple(
        frozenset(letters + _GERMAN)
        for letters in (
            "áčďéěíňóřšťúůýžÁČĎÉĚÍŇÓŘŠŤÚŮÝŽ",  # Czech
            "áäčďéíĺľňóôŕšťúýžÁÄČĎÉÍĹĽŇÓÔŔŠŤÚÝŽ",  # Slovak
            "ąćęłńóśźżĄĆĘŁŃÓŚŹŻ",  # Polish
            "áéíóöőúüűÁÉÍÓÖŐÚÜŰ",  # Hungarian
            "ăâîşţĂÂÎŞŢ",  # Romanian
            "čćđšžČĆĐŠŽ",  # Croatian, Slovene, Bosnian
        )
    ),
    "cp1254": (frozenset("çğıöşüâîûÇĞİÖŞÜÂÎÛ" + _GERMAN),),  # Turkish
    "cp1257": tuple(
        frozenset(letters + _GERMAN)
        for letters in (
            "āčēģīķļņšūžĀČĒĢĪĶĻŅŠŪŽ",  # Latvian
            "ąčęėįšųūžĄČĘĖĮŠŲŪŽ",  # Lithuanian
            "äöõüšžÄÖÕÜŠŽ",  # Estonian
        )
    ),
}
"""Per code page, the non-ASCII letters of each language written in it (German in all)."""
CYRILLIC_VOWELS: Final = frozenset("аеёиоуыэюяіїєАЕЁИОУЫЭЮЯІЇЄ")
"""A Cyrillic reading of cp1251 text is about 40 % vowels; of Greek (cp1253) text, few."""
VOWEL_SHARE: Final = 0.25
ASK_BELOW: Final = 0.75
"""A best single-byte reading scoring under this share, with no other code page decoding the
sample with little chaos, is no guess: the import asks for the encoding."""
LOW_CHAOS: Final = 0.1
"""charset-normalizer's chaos (mess) at most this: its reading is taken as a candidate."""
HUNGARIAN_ONLY: Final = frozenset("őŐ")
"""Letters of a cp1250 reading whose cp1252 reading (``õ``) no language writes without ``ã``:
they break a tie of the two for cp1250 (Hungarian)."""
TIE_UNCLEAR: Final = frozenset("űŰ")
"""Letters of a cp1250 reading whose cp1252 reading (``û``) French writes: when the two
readings differ only in these, the import asks (Hungarian ``Fűrészpor`` or French ``brûlé``)."""
_WORD: Final = re.compile(r"[^\W\d_]+")
_FIELD_BREAKS: Final = re.compile(rb"[\s;,|]+")


class UnclearEncodingError(ValueError):
    """The sample's legacy encoding cannot be told: the candidates and how each reads it.

    Attributes:
        candidates: (codec, a word of the sample as that codec reads it), best first.
    """

    def __init__(self, candidates: tuple[tuple[str, str], ...]) -> None:
        self.candidates = candidates
        shown = " or ".join(f"{codec} ({word!r})" for codec, word in candidates)
        super().__init__(
            f"cannot tell the file's encoding: its bytes read as {shown}, and nothing in the "
            "first bytes says which; set --encoding or 'encoding' in the mapping (e.g. "
            f"'encoding: {candidates[0][0]}')"
        )


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
UTF8_PER_BAD_BYTE: Final = 4
"""A sample with bytes that are not UTF-8 is still UTF-8 when it has at least this many valid
multi-byte UTF-8 characters per such byte (a corrupt byte in a UTF-8 file). A legacy file
never comes close: GBK text forms a valid UTF-8 sequence for about one character in eight,
Western text for almost none."""
_RULER_LINE: Final = re.compile(r"[-=_+|\s]*[-=]{3,}[-=_+|\s]*")
"""A ruler line of a list export (``-----``, ``|----|``)."""
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
        ``utf-32``, or the legacy code page the sample's evidence points to (``cp1252``,
        ``cp1250``, ``gb18030``, ...; :func:`legacy_encoding`).

    Raises:
        UnclearEncodingError: the legacy code page cannot be told (candidates named).
    """
    for bom, codec in _BOMS:
        if sample.startswith(bom):
            return codec
    head = whole_lines(sample)
    if head.isascii():
        return "utf-8"
    # final=False: a character cut in two at the sample's end is held back, not a bad byte
    text = codecs.getincrementaldecoder("utf-8")("surrogateescape").decode(head, final=False)
    bad = len(_NOT_UTF8.findall(text))
    multibyte = len(_UTF8_MULTIBYTE.findall(text))
    if bad == 0 or multibyte >= UTF8_PER_BAD_BYTE * bad:
        return "utf-8"
    codec, score, unclear = _legacy_verdict(head)
    if score < LANGUAGE_SHARE and multibyte >= bad:
        return "utf-8"  # a few UTF-8 letters and a stray byte: no legacy reading is better
    if unclear:
        raise UnclearEncodingError(unclear)
    return codec


def legacy_encoding(data: bytes, *, min_pairs: int = 2) -> str:
    """The legacy (not Unicode) code page ``data`` is most likely written in.

    The evidence, in order: kana make Japanese (cp932, Shift_JIS); double bytes that fall in
    GB2312's rows make Chinese (gb18030, which reads GBK and cp936), unless every one of many
    falls in EUC-KR's Hangul rows (cp949); else the Windows code page among
    :data:`SINGLE_BYTE` whose reading writes the non-ASCII letters in one language best, cp1252
    on a tie (German reads the same in cp1250 and cp1252); else, when none of them reads as a
    language, charset-normalizer's pick among the other :data:`CODE_PAGES` (Greek, Baltic,
    ...) when it recognises a language in it; else the best of :data:`SINGLE_BYTE` after all
    (cp1252 when nothing fits). Never raises.

    ``min_pairs``: the fewest GBK double bytes that can make Chinese (a whole file needs two:
    a French ``éé`` is one; a single cell may have one).

    The best guess even where :func:`detect_encoding` asks instead (for hints).
    """
    return _legacy_verdict(data, min_pairs)[0]


def _legacy_verdict(
    data: bytes, min_pairs: int = 2
) -> tuple[str, float, tuple[tuple[str, str], ...]]:
    """The legacy code page of ``data``: (best guess, its score, candidates when unclear).

    The score is the best single-byte reading's (:func:`_language_score`; 1.0 for CJK). The
    candidates (codec, a word as it reads it) are empty when the guess is sure enough: CJK by
    its evidence; a single-byte reading at :data:`LANGUAGE_SHARE` or more (a cp1252/cp1250
    tie broken by :func:`_tie_break`); else the one other code page charset-normalizer reads
    with chaos at most :data:`LOW_CHAOS` (Big5 as cp950, Greek, Arabic); else the best
    single-byte reading when it scores :data:`ASK_BELOW` or more. Otherwise (several low-chaos
    readings, or none and a poor best) they name what to choose from. Never raises.

    Long because: the evidence is weighed in steps, each with its own early return.
    """
    cjk = _cjk_encoding(data, min_pairs)
    if cjk is not None:
        return cjk, 1.0, ()
    scores = {codec: _language_score(data, codec) for codec in SINGLE_BYTE}
    best = max(scores, key=lambda codec: scores[codec])  # first on a tie: cp1252
    score = scores[best]
    if score >= LANGUAGE_SHARE:
        if best == WESTERN and scores["cp1250"] == score:
            return _tie_break(data, score)
        return best, score, ()
    others = [c for c in CODE_PAGES if c != "utf_8" and codecs.lookup(c).name not in scores]
    low = [
        codecs.lookup(m.encoding).name
        for m in charset_normalizer.from_bytes(data, cp_isolation=others)
        if m.chaos <= LOW_CHAOS and _decodes(data, m.encoding) is not None
    ]
    if len(low) == 1:
        return low[0], score, ()
    if low:
        return low[0], score, tuple((c, _sample_word(data, c)) for c in low[:3])
    if score >= ASK_BELOW:
        return best, score, ()
    ranked = sorted(scores, key=lambda codec: -scores[codec])[:2]
    return best, score, tuple((c, _sample_word(data, c)) for c in ranked)


def _tie_break(data: bytes, score: float) -> tuple[str, float, tuple[tuple[str, str], ...]]:
    """cp1252 or cp1250 for ``data`` both read as well (``score``), by the letters that differ.

    The same text both ways (German): cp1252. A cp1250 reading with ``ő`` (cp1252's ``õ``,
    which Portuguese writes only beside ``ã``): cp1250, Hungarian. Readings differing only in
    ``ű``/``û``: unclear (both candidates). Else cp1252 (French ``è``, not Czech ``č``).
    """
    western, central = _decodes(data, WESTERN) or "", _decodes(data, "cp1250") or ""
    differ = {b for a, b in zip(western, central, strict=False) if a != b}
    if differ & HUNGARIAN_ONLY and not {"ã", "Ã"} & set(western):
        return "cp1250", score, ()
    if differ and differ <= TIE_UNCLEAR:
        wanted = "".join(differ).encode("cp1250")
        words = ((c, _sample_word(data, c, wanted)) for c in ("cp1250", WESTERN))
        return WESTERN, score, tuple(words)
    return WESTERN, score, ()


def _sample_word(data: bytes, codec: str, wanted: bytes = b"") -> str:
    """What a person is shown of a reading: the first field with a non-ASCII byte, decoded.

    The field must hold one of ``wanted``'s bytes, when given. Never raises.
    """
    for token in _FIELD_BREAKS.split(data):
        if token.isascii() or (wanted and not any(b in wanted for b in token)):
            continue
        return token.decode(codec, errors="replace")[:40]
    return ""


def _decodes(data: bytes, codec: str) -> str | None:
    """``data`` decoded (a character cut at the end held back), or None if it is not ``codec``."""
    try:
        return codecs.getincrementaldecoder(codec)("strict").decode(data, final=False)
    except UnicodeDecodeError:
        return None


def _cjk_encoding(data: bytes, min_pairs: int) -> str | None:
    """cp932, gb18030 or cp949 when ``data`` reads as that CJK encoding by the evidence."""
    japanese = _decodes(data, "cp932")
    if japanese is not None:
        wide = [c for c in japanese if ord(c) > 0x7F]
        kana = sum(1 for c in wide if "\u3040" <= c <= "\u30ff")
        if wide and kana >= KANA_SHARE * len(wide):
            return "cp932"
    if _decodes(data, "gb18030") is None:
        return None
    pairs = _double_bytes(data)
    if len(pairs) < min_pairs:
        return None
    gb2312 = [(lead, trail) for lead, trail in pairs if lead >= 0xA1 and trail >= 0xA1]
    if len(gb2312) < GB2312_SHARE * len(pairs):
        return None
    hanzi = [lead for lead, _ in gb2312 if lead >= 0xB0]
    if sum(1 for lead in hanzi if lead <= 0xD7) < GB2312_SHARE * len(hanzi):
        return None  # mostly rare characters: Cyrillic or Greek letters in pairs, not Chinese
    if len(hanzi) >= HANGUL_MIN and all(lead <= 0xC8 for lead in hanzi):
        return "cp949" if _decodes(data, "cp949") is not None else "gb18030"
    return "gb18030"


def _cyrillic_score(text: str) -> float:
    """The share of ``text``'s non-ASCII characters in words all Cyrillic (0 for few vowels)."""
    wide = sum(1 for c in text if ord(c) > 0x7F)
    if wide == 0:
        return 1.0
    letters = [w for w in _WORD.findall(text) if not w.isascii()]
    cyrillic = "".join(w for w in letters if all("\u0400" <= c <= "\u045f" for c in w))
    vowels = sum(1 for c in cyrillic if c in CYRILLIC_VOWELS)
    if not cyrillic or vowels < VOWEL_SHARE * len(cyrillic):
        return 0.0
    signs = sum(1 for c in text if c in SIGNS)
    return (len(cyrillic) + signs) / wide


def _double_bytes(data: bytes) -> list[tuple[int, int]]:
    """The (lead, trail) byte pairs of ``data`` read as GBK (four-byte GB18030 codes skipped)."""
    pairs: list[tuple[int, int]] = []
    i, end = 0, len(data) - 1
    while i < end:
        lead = data[i]
        if lead < 0x81:
            i += 1
            continue
        trail = data[i + 1]
        if 0x30 <= trail <= 0x39:  # a four-byte code
            i += 4
            continue
        pairs.append((lead, trail))
        i += 2
    return pairs


def _language_score(data: bytes, codec: str) -> float:
    """The share of ``data``'s non-ASCII characters, read as ``codec``, that one language writes.

    0 when ``data`` is not ``codec`` (a byte it leaves undefined). The best of
    :data:`LANGUAGES` for the code page counts, but not the letters of a word with no ASCII
    letter (two or more letters: Cyrillic read as a Latin code page); common signs (dashes,
    quotes, ``°``, ``€``, no-break space) count for every code page.
    """
    text = _decodes(data, codec)
    if text is None:
        return 0.0
    if codec == "cp1251":
        return _cyrillic_score(text)
    counts = Counter(c for c in text if ord(c) > 0x7F)
    total = sum(counts.values())
    if total == 0:
        return 1.0
    signs = sum(n for c, n in counts.items() if c in SIGNS)
    # A word of two or more letters none of them ASCII is no word of these languages (Russian
    # read as cp1252 is "Çîëà", letters French writes): its letters count for none of them.
    words = (w for w in _WORD.findall(text) if len(w) > 1 and not any(c.isascii() for c in w))
    letters_ok = counts - Counter("".join(words))
    best = max(
        sum(n for c, n in letters_ok.items() if c in letters) for letters in LANGUAGES[codec]
    )
    return (best + signs) / total


def likely_encoding(raw: bytes, used: str) -> str | None:
    """The encoding bytes that did not decode as ``used`` are likely in; None: no better guess.

    UTF-8 when they are valid UTF-8, else :func:`legacy_encoding` (one double byte is enough
    for Chinese here: these are the bytes of one cell).
    """
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        likely = legacy_encoding(raw, min_pairs=1)
    else:
        likely = "utf-8"
    return None if likely == encoding_name(used) else likely


def resolve_encoding(given: Setting | None, sample: bytes) -> Setting:
    """The encoding given, or the one detected from ``sample``.

    Raises:
        UnclearEncodingError: none given, and :func:`detect_encoding` cannot tell.
    """
    if given is not None:
        return given
    return Setting(detect_encoding(sample), "detected")


def detect_delimiter(text: str, columns: Collection[str] = ()) -> str | None:
    """The delimiter of CSV text (its first lines), or None when :class:`csv.Sniffer` cannot tell.

    Title lines above the header (SAP list exports) would confuse the sniffer: it starts at
    the first of the first :data:`SNIFF_LINES` lines that names every one of ``columns`` (the
    mapped ones), when one does, and ruler lines (``-----``) are left out; that line starting
    and ending with ``|`` is SAP's list format, ``|``-separated (page titles between its
    pages would confuse the sniffer). It cannot tell from one column, or when no delimiter is
    used the same on every line.
    """
    lines = text.splitlines(keepends=True)[: 2 * SNIFF_LINES]
    wanted = [" ".join(c.split()) for c in columns]
    if wanted:
        for i, line in enumerate(lines[:SNIFF_LINES]):
            flat = " ".join(line.split())
            if all(c in flat for c in wanted):
                if len(flat) > 1 and flat.startswith("|") and flat.endswith("|"):
                    return "|"
                lines = lines[i:]
                break
    lines = [line for line in lines if not _RULER_LINE.fullmatch(line.strip())]
    try:
        return csv.Sniffer().sniff("".join(lines[:SNIFF_LINES]), delimiters=DELIMITERS).delimiter
    except csv.Error:
        return None


def resolve_delimiter(
    given: Setting | None, text: str, default: str, columns: Collection[str] = ()
) -> Setting:
    """The delimiter given, else the one detected in ``text``, else ``default``."""
    if given is not None:
        return given
    found = detect_delimiter(text, columns)
    return Setting(found, "detected") if found is not None else Setting(default, "default")


def likely_delimiter(header: str, used: str) -> str | None:
    """The delimiter a one-column header seems to use instead of ``used``, or None.

    The most frequent of :data:`DELIMITERS` in it; None when it has none of them.
    """
    counts = Counter(c for c in header if c in DELIMITERS and c != used)
    return counts.most_common(1)[0][0] if counts else None
