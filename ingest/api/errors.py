"""One error shape for every answer that is not a success: RFC 9457 problem details.

Every 4xx/5xx body is an :class:`~schemas.views.ErrorBody` served as
``application/problem+json``: ``type`` (:data:`PROBLEM_TYPES` + the stable code), ``title``,
``status``, ``detail``, and the extension members ``error`` (the stable code), ``message``
(= ``detail``) and ``errors`` (one entry per bad field, rows 0-based; never empty on a 422).
The app's exception handlers (``ingest/api/app.py``) and the door middlewares
(``ingest/api/middleware.py``) turn every refusal into that shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from domain.wording import expected_fields, reason_of
from schemas.views import PROBLEM_TYPES, ErrorBody, FieldError

__all__ = ["PROBLEM_TYPES"]

PROBLEM_JSON: Final = "application/problem+json"

CODES: Final = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
    500: "internal_error",
    501: "not_implemented",
    503: "unavailable",
}
"""The stable ``error`` code of each status (routes may give a more precise one)."""


def problem(
    status: int, message: str, errors: Sequence[FieldError] = (), code: str = ""
) -> ErrorBody:
    """The problem document of one refusal.

    ``title`` is derived from the code alone ("invalid_input" -> "Invalid input"), so it is
    the same for every occurrence of a ``type``, as RFC 9457 asks.
    """
    code = code or CODES.get(status, "error")
    return ErrorBody(
        type=PROBLEM_TYPES + code,
        title=code.replace("_", " ").capitalize(),
        status=status,
        detail=message,
        error=code,
        message=message,
        errors=list(errors),
    )


class ProblemResponse(JSONResponse):
    """A JSON answer of media type ``application/problem+json``."""

    media_type = PROBLEM_JSON


RETRY_UNAVAILABLE_S: Final = 5
"""``Retry-After`` of a 503 (Kafka or the database away): soon, but not in a tight loop."""


def respond(status: int, body: ErrorBody, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """An error answer (``body`` may be a subclass with more members, e.g. a push's counts).

    A 503 always says when to retry (``Retry-After``, :data:`RETRY_UNAVAILABLE_S` unless the
    raiser gave one), so a historian backs off instead of hammering a door whose Kafka is away.
    """
    if status == 503 and not any(k.lower() == "retry-after" for k in headers or {}):
        headers = {**(headers or {}), "Retry-After": str(RETRY_UNAVAILABLE_S)}
    return ProblemResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def _problem_content(description: str, model: type[ErrorBody] = ErrorBody) -> dict[str, Any]:
    return {"model": model, "description": description}


COMMON_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    400: _problem_content("The body is not JSON or not the documented shape."),
    401: _problem_content("No valid token."),
    413: _problem_content("The body (or number of items) is over the limit."),
    429: _problem_content(
        "The company's request rate is over its limit; retry after `Retry-After` seconds."
    ),
    503: _problem_content("Kafka or the database is unavailable; retry."),
}
"""Answers every route may give; routes document their own (403, 404, 409, 422) besides.

Declared as ``application/json`` by FastAPI; the document builder (``ingest/api/openapi.py``)
moves every 4xx/5xx to ``application/problem+json``."""


def responses(**by_status: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for error statuses: ``responses(s403="...", s404="...")``."""
    return {int(k.removeprefix("s")): _problem_content(v) for k, v in by_status.items()}


class ApiError(Exception):
    """An answer other than success, raised by a route.

    A 422 names its fields in ``errors`` (:func:`bad_field` makes one that does).
    """

    def __init__(
        self,
        status: int,
        message: str,
        errors: Sequence[FieldError] = (),
        code: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}
        self.body = problem(status, message, errors, code)


def bad_field(field: str | Sequence[str], reason: str, status: int = 422) -> ApiError:
    """A refusal naming its field(s): ``message`` is ``"<field>: <reason>"``."""
    fields = [field] if isinstance(field, str) else list(field)
    return ApiError(
        status,
        f"{', '.join(fields)}: {reason}",
        [FieldError(field=f, reason=reason) for f in fields],
    )


def field_name(loc: Iterable[int | str]) -> str:
    """``("body", "streams", 0, "unit")`` -> ``streams[0].unit``."""
    out = ""
    for part in loc:
        if part in ("body", "query", "path", "header") and not out:
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(body)"


def _within(loc: Sequence[int | str]) -> tuple[int | str, ...]:
    """``loc`` without FastAPI's leading ``body``/``query``/... part."""
    has_source = bool(loc) and loc[0] in ("body", "query", "path", "header")
    return tuple(loc[1:] if has_source else loc)


def not_json(line: int, column: int, why: str = "") -> str:
    """The reason given for a body that is not JSON.

    Line and column are 1-based; ``why`` is the parser's reason when it gives one ("no low
    surrogate in string", "trailing comma is not allowed").
    """
    because = f": {why}" if why else ""
    return f"the body is not valid JSON (at line {line}, column {column}){because}"


def _json_position(doc: str, pos: int) -> str:
    line = doc.count("\n", 0, pos) + 1
    return not_json(line, pos - (doc.rfind("\n", 0, pos) + 1) + 1)


def validation_errors(
    errors: Sequence[Any], model: Any = None, body: object = None
) -> list[FieldError]:
    """FastAPI/pydantic error dicts as :class:`FieldError` s, in plain words.

    Args:
        errors: As ``ValidationError.errors()`` or ``RequestValidationError.errors()``.
        model: The body's model type, to name the fields an unknown field could have been.
        body: The text that was parsed, to place a JSON syntax error (line and column).
    """
    out = []
    for e in errors:
        loc = tuple(e.get("loc", ()))
        if e.get("type") == "json_invalid":
            pos = loc[-1] if loc and isinstance(loc[-1], int) else None
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
            reason = (
                _json_position(text, pos)
                if isinstance(text, str) and pos is not None
                else "the body is not valid JSON"
            )
            out.append(FieldError(field="(body)", reason=reason))
            continue
        fields = None
        if e.get("type") == "extra_forbidden" and model is not None:
            fields = expected_fields(model, _within(loc)[:-1])
        out.append(FieldError(field=field_name(loc), reason=reason_of(e, fields)))
    return out


def _body_model(route: object) -> Any:
    """The body model of a FastAPI route (``None`` if it has none or it cannot be told)."""
    body_field = getattr(route, "body_field", None)
    info = getattr(body_field, "field_info", None)
    return getattr(info, "annotation", None)


def invalid(exc: RequestValidationError, route: object = None) -> ApiError:
    """A validation error as a 422 naming every bad field (``route``: the matched route)."""
    found = validation_errors(exc.errors(), _body_model(route), exc.body)
    return ApiError(422, "the request is not valid: " + _summary(found), found)


def _summary(found: Sequence[FieldError]) -> str:
    shown = "; ".join(f"{e.field}: {e.reason}" for e in found[:3])
    return shown + (f"; and {len(found) - 3} more" if len(found) > 3 else "")
