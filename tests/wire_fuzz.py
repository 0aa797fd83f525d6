"""Shared by the fast readers' tests: raw JSON pieces, escapes, and a count of answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError


class Raw:
    """JSON text written as is (numbers a serialiser would reformat, escapes)."""

    def __init__(self, text: bytes) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"Raw({self.text!r})"


def escaped(draw: st.DrawFn, raw: bytes) -> bytes:
    """The JSON text, or with a few of its characters written as ``\\u`` escapes.

    Outside a string an escape makes the text invalid (both readers refuse it); inside one it
    is the same character, which a reader of the raw bytes does not see.
    """
    if draw(st.integers(0, 3)):
        return raw
    at = draw(st.sets(st.integers(0, len(raw) - 1), min_size=1, max_size=4))
    return b"".join(
        b"\\u%04x" % c if i in at and chr(c) in "0123456789.:-MWa" else bytes([c])
        for i, c in enumerate(raw)
    )


T = TypeVar("T")
M = TypeVar("M")


def agrees(
    raw: bytes,
    fast: Callable[[bytes], T | None],
    model: Callable[[bytes], M],
    view: Callable[[T | M], Any],
) -> bool:
    """Whether the fast reader answered ``raw``; fails the test if the model refuses it or
    reads other values (``view``: what a stage reads of either)."""
    answer = fast(raw)
    if answer is None:
        return False
    try:
        held = model(raw)
    except ValidationError as e:
        pytest.fail(f"the fast reader took {raw!r}, the model refuses it: {e}")
    assert view(answer) == view(held), raw
    return True


def answered(records: st.SearchStrategy[bytes], agrees: Callable[[bytes], bool]) -> int:
    """How many of 300 generated records (always the same ones) the fast reader answered.

    A property that holds "whenever it answers" proves nothing if it never answers.
    """
    count = 0

    @settings(max_examples=300, deadline=None, database=None, derandomize=True)
    @given(records)
    def one(raw: bytes) -> None:
        nonlocal count
        count += agrees(raw)

    one()
    return count
