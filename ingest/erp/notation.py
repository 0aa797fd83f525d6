"""Which decimal mark an export's quantities are written with, by the export's own evidence.

A quantity cell written as text reads one way with a decimal point and another with a decimal
comma (:func:`readings`). Most cells say which notation they are in: ``2,5``, ``0,750`` and
``1.234,5`` can only be decimal-comma text, ``12.5``, ``0.750`` and ``1,234.5`` only
decimal-point text, ``850`` reads the same either way. Some cannot tell: ``1.500`` is 1.5 with a
decimal point and 1500 with a decimal comma, ``12,500`` is 12500 or 12.5 (they are
*ambiguous*). An export whose other cells show the notation the mapping does not expect would
have its ambiguous cells silently read 1000 times too small or too large; :class:`DecimalCheck`
keeps that from happening:

* before any row is converted, the quantity column is looked at: of the whole file when it can
  be read twice (a regular file: a streaming pre-pass that holds no rows), else of the first
  rows (:data:`LOOKAHEAD_ROWS`, at most the sniffed bytes, read ahead). When the mapping does
  not set ``decimal_comma`` and they show a decimal comma (a cell that only a decimal comma
  reads), or they hold ambiguous cells and no cell that only a decimal point reads (nothing
  says which notation ``1.500`` or ``12,500`` is in), the import stops with one message,
  before anything is published (:meth:`DecimalCheck.scan`);
* from the first cell showing the other notation on (anywhere in the file when it was read
  whole, else in the first rows or later), an ambiguous cell is refused as a bad row saying
  why (:meth:`DecimalCheck.refusal`): so too when the mapping sets ``decimal_comma`` one way
  and the file shows the other.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Final, Literal

from ingest.erp.values import parse_quantity

Mark = Literal["comma", "point"]
Evidence = Literal["comma", "point", "ambiguous"]

LOOKAHEAD_ROWS: Final = 2000
"""Rows looked at before any is converted (also capped by the sniffed bytes of a text file)."""


def readings(text: str) -> tuple[float | None, float | None]:
    """``text`` read with a decimal point and with a decimal comma; None where it does not parse."""
    values: list[float | None] = []
    for comma in (False, True):
        try:
            values.append(parse_quantity(text, decimal_comma=comma))
        except ValueError:
            values.append(None)
    return values[0], values[1]


@lru_cache(maxsize=4096)
def evidence(text: str) -> Evidence | None:
    """What a quantity cell says of the file's notation.

    ``"comma"`` or ``"point"``: only that notation reads it; ``"ambiguous"``: both do, to
    different numbers; None: both read the same number (``850``), or neither reads it.
    Cached: an export repeats its quantities.
    """
    point, comma = readings(text)
    if point is None and comma is None:
        return None
    if point is None:
        return "comma"
    if comma is None:
        return "point"
    return "ambiguous" if point != comma else None


class DecimalCheck:
    """Keeps ambiguous quantities of an export from being read in the wrong notation.

    Attributes:
        mark: the notation the mapping reads quantities in.
        explicit: the mapping sets ``decimal_comma`` (true or false); False: not set.
        contrary: the first cell (line, text) that shows the other notation, once seen.
    """

    def __init__(self, decimal_comma: bool | None, column: str, delimiter: str | None) -> None:
        """Check the quantities of ``column`` of a file read with ``decimal_comma``.

        Args:
            decimal_comma: the mapping's setting; None: not set (a decimal point).
            column: the quantity column, for messages.
            delimiter: the CSV delimiter (None: not CSV); a ``;`` is named in the message
                about ambiguous cells (spreadsheets write ``;`` where the comma is decimal).
        """
        self.mark: Mark = "comma" if decimal_comma else "point"
        self.explicit = decimal_comma is not None
        self.column = column
        self.semicolon = delimiter == ";"
        self.contrary: tuple[int, str] | None = None

    @property
    def _other(self) -> Mark:
        return "point" if self.mark == "comma" else "comma"

    def scan(
        self, cells: Iterable[tuple[int, object]], *, whole: bool = False
    ) -> tuple[int, str] | None:
        """Look at quantity cells (line, cell); where and why to stop, or None.

        Args:
            cells: the quantity cells of the whole file (``whole``), or of its first rows.
                Consumed as a stream: only the first cell of each kind of evidence is kept.
            whole: they are the whole file's (said in the message).

        Stops (a reason) only when the mapping does not set ``decimal_comma`` and the cells
        show a decimal comma, or hold ambiguous values and none that only a decimal point
        reads. Otherwise records the first contrary cell, from which on :meth:`refusal`
        refuses ambiguous ones (all of them, when the cells were the whole file's).

        Long because: the two stop messages, each with its example and fix, are written out.
        """
        ambiguous: tuple[int, str] | None = None
        agreeing = False
        for line, cell in cells:
            if not isinstance(cell, str):
                continue
            found = evidence(cell)
            if found is None:
                continue
            if found == self._other:
                if self.contrary is None:
                    self.contrary = (line, cell.strip())
            elif found == "ambiguous":
                if ambiguous is None:
                    ambiguous = (line, cell.strip())
            else:
                agreeing = True
        if self.explicit:
            return None
        if self.contrary is not None:
            line, text = self.contrary
            example = ""
            if ambiguous is not None:
                point, comma = readings(ambiguous[1])
                example = (
                    f" ({ambiguous[1]!r} on line {ambiguous[0]} would be read as {point:g}, "
                    f"not {comma:g})"
                )
            return line, (
                f"column {self.column!r} writes quantities with a decimal comma "
                f"({text!r}), but the mapping does not set decimal_comma, so they would be "
                f"read with a decimal point{example}; set 'decimal_comma: true' in the mapping "
                "(or 'decimal_comma: false' to read them with a decimal point and refuse the "
                "rows written otherwise). Nothing was imported."
            )
        if ambiguous is not None and not agreeing:
            line, text = ambiguous
            point, comma = readings(text)
            where = "the file" if whole else f"the first {LOOKAHEAD_ROWS:,} rows"
            semicolon = (
                " (and the file is ';'-separated, as spreadsheets write CSV where the comma is "
                "the decimal mark)"
                if self.semicolon
                else ""
            )
            return line, (
                f"column {self.column!r} holds quantities such as {text!r}, "
                f"{point:g} with a decimal point but {comma:g} with a decimal comma, and no "
                f"quantity in {where} is written so that only one of them reads it (such as "
                f"12.5 or 2,5){semicolon}; say which: set 'decimal_comma: true' (1.234,5) or "
                "'decimal_comma: false' (1,234.5) in the mapping. Nothing was imported."
            )
        return None

    def observe(self, line: int, cell: object) -> None:
        """Note a quantity cell that did not parse: evidence when the other notation reads it."""
        if self.contrary is None and isinstance(cell, str) and evidence(cell) == self._other:
            self.contrary = (line, cell.strip())

    def refusal(self, cell: object) -> str | None:
        """Why an ambiguous quantity cell is refused, or None to read it.

        Refused: a text cell that reads as two different numbers, once the file has shown the
        notation the mapping does not read (:attr:`contrary`).
        """
        if self.contrary is None or not isinstance(cell, str):
            return None
        point, comma = readings(cell)
        if point is None or comma is None or point == comma:
            return None
        line, text = self.contrary
        shows = "a decimal comma" if self._other == "comma" else "a decimal point"
        if self.mark == "point":
            fix = "set 'decimal_comma: true' in the mapping"
        else:
            fix = "check 'decimal_comma: true' in the mapping"
        return (
            f"{cell.strip()!r} is ambiguous: {point:g} with a decimal point, {comma:g} with a "
            f"decimal comma, and the file writes {shows} ({text!r} on line {line}); {fix}"
        )
