"""Cursor pagination of time-ordered lists: opaque cursors and the ``Link: rel="next"`` header.

A page holds rows in ascending time order. When more follow, the answer carries an RFC 8288
``Link: <...>; rel="next"`` header: the same request with ``cursor`` set to the last row's
position, ``(time, key)``. The next query starts strictly after that position (keyset
pagination: ``WHERE (ts, key) > (cursor)``, never ``OFFSET``), so rows stored meanwhile
neither repeat nor shift a page.

A cursor is base64url (no padding) of ``[list, time, key]`` in JSON: opaque to clients, and
checked when it comes back (its list, and its key where the query fixes one, e.g. the meter):
anything else, garbage or another list's cursor, is a 422 naming ``cursor``. It is not
signed: a forged cursor only moves the caller within what it may read anyway.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final, NamedTuple, TypeVar

import orjson
from starlette.datastructures import URL

from ingest.api.errors import bad_field

MAX_CURSOR_CHARS: Final = 1024
_REFUSED: Final = "not a cursor this list gave; start again without it"

Row = TypeVar("Row")


class Cursor(NamedTuple):
    """The position of the last row of a page: its time and its key (an id)."""

    at: datetime
    key: str


def encode(listing: str, at: datetime, key: str) -> str:
    """The cursor after ``(at, key)`` in ``listing`` (e.g. ``"readings"``)."""
    raw = orjson.dumps([listing, at.isoformat(), key])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _parse(text: str) -> list[Any]:
    """The JSON list inside a cursor.

    Raises:
        ValueError: not base64url of a JSON list.
    """
    if not text or len(text) > MAX_CURSOR_CHARS:
        raise ValueError("empty or too long")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        value = orjson.loads(raw)
    except (binascii.Error, orjson.JSONDecodeError) as e:
        raise ValueError(str(e)) from e
    if not isinstance(value, list):
        raise ValueError("not a list")
    return value


def decode(listing: str, text: str, *, key: str | None = None) -> Cursor:
    """The position a cursor of ``listing`` names; ``key``: the key it must carry.

    Raises:
        ApiError: 422 naming ``cursor``: not a cursor of ``listing`` (or of ``key``).
    """
    try:
        name, at_text, at_key = _parse(text)
        at = datetime.fromisoformat(at_text)
    except (ValueError, TypeError) as e:  # also: not 3 items, or not strings
        raise bad_field("cursor", _REFUSED) from e
    if name != listing or not isinstance(at_key, str) or at.tzinfo is None:
        raise bad_field("cursor", _REFUSED)
    if key is not None and at_key != key:
        raise bad_field("cursor", _REFUSED)
    return Cursor(at, at_key)


def next_link(url: URL, cursor: str) -> str:
    """The ``Link`` header value for the page after this one: the same query, ``cursor`` set.

    A relative reference (path and query), so it holds behind any proxy.
    """
    after = url.include_query_params(cursor=cursor)  # replaces a cursor already there
    return f'<{after.path}?{after.query}>; rel="next"'


def page(
    rows: Sequence[Row], limit: int, position: Callable[[Row], Cursor], listing: str
) -> tuple[Sequence[Row], str | None]:
    """Split what a query for ``limit + 1`` rows found: the page, and the next page's cursor.

    Returns:
        The first ``limit`` rows, and a cursor when more rows followed them (else ``None``).
    """
    if len(rows) <= limit:
        return rows, None
    last = position(rows[limit - 1])
    return rows[:limit], encode(listing, last.at, last.key)
