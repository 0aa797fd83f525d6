"""Reading user-supplied files with errors that name the file and say what is wrong."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from domain.errors import SymbiosisError


@contextmanager
def file_errors(path: Path, *, what: str, error: type[SymbiosisError]) -> Iterator[None]:
    """Turn ``OSError`` s raised inside the block into ``error("<path>: <reason>")``.

    Args:
        path: The file being opened or read.
        what: What the file should be, e.g. ``"a park file"``.
        error: The project error to raise (the ``OSError`` is chained).
    """
    try:
        yield
    except FileNotFoundError as e:
        raise error(f"{path}: no such file") from e
    except IsADirectoryError as e:
        raise error(f"{path}: is a directory, not {what}") from e
    except OSError as e:
        raise error(f"{path}: cannot read: {e.strerror or e}") from e


def read_text(path: Path, *, what: str, error: type[SymbiosisError]) -> str:
    """The file's text, decoded as UTF-8 (a leading byte-order mark is dropped).

    Raises:
        SymbiosisError: of type ``error``: missing, a directory, unreadable, or not UTF-8.
    """
    with file_errors(path, what=what, error=error):
        try:
            return path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as e:
            raise error(f"{path}: not UTF-8 text (bad byte at offset {e.start})") from e
