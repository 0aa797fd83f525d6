"""Validation errors in plain words: pydantic's error types as short sentences for clients.

:func:`reason_of` turns one pydantic error (a dict from ``ValidationError.errors()`` or
FastAPI's ``RequestValidationError.errors()``) into the ``reason`` of a field error: "required",
"at most 64 characters", "must be one of: heat, steam", "unknown field; expected one of: id,
kind". Types it does not know keep pydantic's message, cleaned ("Input should be a valid X" ->
"must be a valid X"). It never raises: a malformed error dict still gives a sentence.

:func:`expected_fields` finds the field names a model accepts at a location, so an unknown
field can name the ones that are allowed.
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Final, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from schemas.common import SLUG_PATTERN

TIME: Final = "must be an ISO 8601 date-time with a time zone"


def _one_of(ctx: Mapping[str, Any]) -> str:
    """``"'a', 'b' or 'c'"`` (pydantic's ``expected``) -> ``"must be one of: a, b, c"``."""
    parts = re.split(r", | or ", str(ctx.get("expected", "")))
    return "must be one of: " + ", ".join(p.strip().strip("'") for p in parts if p.strip())


def _n(value: object) -> str:
    """A bound as written by a person: ``0.0`` -> ``0``, ``2.5`` -> ``2.5``."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _count(n: object, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _pattern(ctx: Mapping[str, Any]) -> str:
    if ctx.get("pattern") == SLUG_PATTERN:
        return "must be lowercase letters and digits, with single '-' or '_' between them"
    return f"must match the pattern {ctx.get('pattern')}"


_Rule = Callable[[Mapping[str, Any]], str]

_RULES: Final[dict[str, _Rule]] = {
    "missing": lambda c: "required",
    "string_too_long": lambda c: "at most " + _count(c.get("max_length"), "character"),
    "string_too_short": lambda c: "at least " + _count(c.get("min_length"), "character"),
    "too_long": lambda c: "at most " + _count(c.get("max_length"), "item"),
    "too_short": lambda c: "at least " + _count(c.get("min_length"), "item"),
    "greater_than": lambda c: f"must be greater than {_n(c.get('gt'))}",
    "greater_than_equal": lambda c: f"must be at least {_n(c.get('ge'))}",
    "less_than": lambda c: f"must be less than {_n(c.get('lt'))}",
    "less_than_equal": lambda c: f"must be at most {_n(c.get('le'))}",
    "multiple_of": lambda c: f"must be a multiple of {_n(c.get('multiple_of'))}",
    "finite_number": lambda c: "must be a finite number",
    "literal_error": _one_of,
    "enum": _one_of,
    "string_pattern_mismatch": _pattern,
    "string_type": lambda c: "must be a string",
    "bool_type": lambda c: "must be true or false",
    "bool_parsing": lambda c: "must be true or false",
    "list_type": lambda c: "must be a list",
    "tuple_type": lambda c: "must be a list",
    "set_type": lambda c: "must be a list",
    "dict_type": lambda c: "must be an object",
    "model_type": lambda c: "must be an object",
    "model_attributes_type": lambda c: "must be an object",
    "int_from_float": lambda c: "must be a whole number",
    "url_parsing": lambda c: "must be a URL",
    "url_type": lambda c: "must be a URL",
    "url_scheme": lambda c: f"must be a URL of scheme {c.get('expected_schemes')}",
    "url_too_long": lambda c: "at most " + _count(c.get("max_length"), "character"),
    "uuid_parsing": lambda c: "must be a UUID",
    "date_parsing": lambda c: "must be an ISO 8601 date",
    "date_type": lambda c: "must be an ISO 8601 date",
    "json_invalid": lambda c: "the body is not valid JSON",
    "json_type": lambda c: "must be a JSON document",
}
_NUMBERS: Final = (
    "int_parsing", "int_type", "float_parsing", "float_type", "decimal_parsing", "decimal_type",
    "int_parsing_size",
)  # fmt: skip
_TIMES: Final = (
    "datetime_parsing", "datetime_type", "datetime_from_date_parsing", "datetime_object_invalid",
    "timezone_aware", "datetime_past", "datetime_future",
)  # fmt: skip
_RULES.update({kind: lambda c: "must be a number" for kind in _NUMBERS})
_RULES.update({kind: lambda c: TIME for kind in _TIMES})

_PREFIXES: Final = (
    ("Value error, ", ""),
    ("Assertion failed, ", ""),
    ("Input should be ", "must be "),
    ("Input should have ", "must have "),
    ("Input should ", "must "),
)


def _chars(bound: str) -> Callable[[re.Match[str]], str]:
    return lambda m: f"{bound} {_count(int(m.group(1)), 'character')}"


_MESSAGES: Final[tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...]] = tuple(
    (re.compile(pattern), instead)
    for pattern, instead in (
        (r"Field required", "required"),
        (r"Extra inputs are not permitted", "unknown field"),
        (r"Input should have timezone info", TIME),
        (r"Input should be a valid (datetime|date)\b.*", TIME),
        (r"Input should be a valid (number|integer)\b.*", "must be a number"),
        (r"Input should be a finite number", "must be a finite number"),
        (r"String should have at most (\d+) characters?", _chars("at most")),
        (r"String should have at least (\d+) characters?", _chars("at least")),
        (r"Input should be greater than or equal to (\S+)", r"must be at least \1"),
        (r"Input should be less than or equal to (\S+)", r"must be at most \1"),
    )
)
"""Pydantic's messages of the usual types, for reasons that arrive without their type (the
push gateway's row errors): the same sentences :func:`reason_of` gives."""


def clean(message: str) -> str:
    """Pydantic's message in our voice: "Input should be a valid X" -> "must be a valid X".

    For a type :func:`reason_of` does not know, or a reason that lost its type.
    """
    for pattern, instead in _MESSAGES:
        if pattern.fullmatch(message):
            return pattern.sub(instead, message)
    literal = re.fullmatch(r"Input should be ('[^']*'(?:(?:, | or )'[^']*')+)", message)
    if literal:
        return _one_of({"expected": literal.group(1)})
    for prefix, instead in _PREFIXES:
        if message.startswith(prefix):
            return instead + message.removeprefix(prefix)
    return message


def reason_of(error: Mapping[str, Any], fields: Sequence[str] | None = None) -> str:
    """One pydantic error as a plain sentence.

    Args:
        error: ``{"type", "loc", "msg", "ctx"?}`` as pydantic and FastAPI give them.
        fields: For ``extra_forbidden``: the fields the object accepts (named in the answer).
    """
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return "unknown field; expected one of: " + ", ".join(fields) if fields else "unknown field"
    if kind in ("value_error", "assertion_error"):
        return clean(str(error.get("msg", "invalid")))
    rule = _RULES.get(kind)
    if rule is None or not isinstance(ctx, Mapping):
        return clean(str(error.get("msg", "invalid")))
    return rule(ctx)


def _unwrap(tp: Any) -> Any:
    """``Annotated[X, ...]`` and ``X | None`` -> ``X`` (other unions stay as they are)."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            rest = [a for a in get_args(tp) if a is not type(None)]
            if len(rest) != 1:
                return tp
            tp = rest[0]
        else:
            return tp


def _model(tp: Any) -> type[BaseModel] | None:
    tp = _unwrap(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _step(tp: Any, part: int | str) -> Any:
    """The type found at ``part`` (a field name or list index) inside ``tp``; None if unknown."""
    model = _model(tp)
    if model is not None:
        for name, info in model.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
        return None
    args = get_args(_unwrap(tp))
    if isinstance(part, int) and args:
        return args[0]  # list[X], tuple[X, ...], Sequence[X]
    if isinstance(part, str) and len(args) == 2:
        return args[1]  # dict[str, X]
    return None


def expected_fields(root: Any, loc: Sequence[int | str]) -> list[str] | None:
    """The fields the object at ``loc`` inside ``root`` (a model type) accepts, or ``None``.

    ``expected_fields(Site, ("streams", 0))`` -> the fields of a stream, by their JSON names.
    """
    tp = root
    for part in loc:
        tp = _step(tp, part)
        if tp is None:
            return None
    model = _model(tp)
    if model is None:
        return None
    return [info.alias or name for name, info in model.model_fields.items()]


_NAME: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
SUMMARY_MAX_CHARS: Final = 1000


def path(loc: Sequence[int | str]) -> str:
    """``("batches", 0, "readings", 2, "value")`` -> ``batches[0].readings[2].value``.

    A part that is not a plain name (a record's own key: control characters, a long text) is
    shown quoted and cut at 64 characters, so a hostile key cannot break the line or a log.
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        name = str(part) if _NAME.fullmatch(str(part)) else repr(str(part)[:64])
        out += f".{name}" if out else name
    return out or "(record)"


def summary(
    error: ValidationError,
    *,
    model: Any = None,
    tags: Mapping[str, Any] | None = None,
    limit: int = 5,
) -> str:
    """A validation error in one line of plain words, for a rejection's ``reason``.

    ``"site: must be lowercase letters and digits, ...; batches[0].readings[0].value: must be a
    finite number"``: each field with :func:`reason_of`, at most ``limit`` of them, then how
    many more; never pydantic's multi-line text with its input echoes and links, never more
    than :data:`SUMMARY_MAX_CHARS` characters.

    Args:
        error: The error raised validating a record.
        model: The record's model type, to name the fields an unknown field could have been.
        tags: For a discriminated union at the record's root (``ReadingsRecord``): each tag
            and the model of its branch. pydantic puts the tag first in each location; it is
            dropped, and the branch's model names the fields.
        limit: Fields named at most; the others are counted.
    """
    found = error.errors(include_url=False)
    parts = []
    for e in found[: max(limit, 1)]:
        loc = tuple(e.get("loc", ()))
        root = model
        if tags and loc and isinstance(loc[0], str) and loc[0] in tags:
            root, loc = tags[loc[0]], loc[1:]  # a record not even an object: no field named
        ctx = e.get("ctx")
        if e.get("type") == "json_invalid":
            detail = ctx.get("error") if isinstance(ctx, Mapping) else None
            parts.append("not valid JSON" + (f" ({str(detail)[:200]})" if detail else ""))
            continue
        fields = None
        if e.get("type") == "extra_forbidden" and root is not None:
            fields = expected_fields(root, loc[:-1])
        reason = reason_of(e, fields)
        parts.append(reason if not loc else f"{path(loc)}: {reason}")
    more = len(found) - len(parts)
    text = "; ".join(parts) + (f"; and {more} more" if more > 0 else "") or "invalid"
    return text if len(text) <= SUMMARY_MAX_CHARS else text[: SUMMARY_MAX_CHARS - 3] + "..."
