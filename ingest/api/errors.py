"""One error shape for every answer that is not a success, and the request size limit.

Every 4xx/5xx body is an :class:`~schemas.views.ErrorBody`: ``error`` (a stable code),
``message`` and ``errors`` (one entry per bad field, rows 0-based). The app's exception
handlers (``ingest/api/app.py``) turn FastAPI's errors and :class:`ApiError` into that shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from schemas.views import ErrorBody, FieldError

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
    501: "not_implemented",
    503: "unavailable",
}


COMMON_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    400: {"model": ErrorBody, "description": "The body is not JSON or not the documented shape."},
    401: {"model": ErrorBody, "description": "No valid token."},
    413: {"model": ErrorBody, "description": "The body (or number of items) is over the limit."},
    429: {
        "model": ErrorBody,
        "description": "The company's request rate is over its limit; retry after "
        "`Retry-After` seconds.",
    },
    503: {"model": ErrorBody, "description": "Kafka or the database is unavailable; retry."},
}
"""Answers every route may give; routes document their own (403, 404, 409, 422) besides."""


def responses(**by_status: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for error statuses: ``responses(s403="...", s404="...")``."""
    return {
        int(k.removeprefix("s")): {"model": ErrorBody, "description": v}
        for k, v in by_status.items()
    }


class ApiError(Exception):
    """An answer other than success, raised by a route."""

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
        self.body = ErrorBody(
            error=code or CODES.get(status, "error"), message=message, errors=list(errors)
        )


def field_name(loc: Iterable[int | str]) -> str:
    """``("body", "streams", 0, "unit")`` -> ``streams[0].unit``."""
    out = ""
    for part in loc:
        if part in ("body", "query", "path", "header") and not out:
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(body)"


def validation_errors(errors: Sequence[Any]) -> list[FieldError]:
    """FastAPI/pydantic error dicts as :class:`FieldError` s."""
    return [
        FieldError(field=field_name(e.get("loc", ())), reason=str(e.get("msg", "invalid")))
        for e in errors
    ]


def respond(status: int, body: ErrorBody, headers: dict[str, str] | None = None) -> JSONResponse:
    """An error answer."""
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def invalid(exc: RequestValidationError) -> ApiError:
    """A validation error as a 422 naming every bad field."""
    return ApiError(422, "the request is not valid", validation_errors(exc.errors()))


class BodyLimitMiddleware:
    """Answers 413 to requests whose body exceeds ``max_bytes`` (declared or streamed)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, counting its body; answer 413 once it is over the limit."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = ErrorBody(
            error="too_large", message=f"the request body exceeds {self.max_bytes} bytes"
        )
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await respond(413, too_large)(scope, receive, send)
                return
        seen = 0
        started = False

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLargeError
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, tracking_send)
        except _TooLargeError:
            if not started:
                await respond(413, too_large)(scope, receive, send)


class _TooLargeError(Exception):
    pass


_WRITES: Final = frozenset({"POST", "PUT", "PATCH"})


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (
        media.startswith(b"application/") and media.endswith(b"+json")
    )


class JsonOnlyMiddleware:
    """Answers 415 to a write whose body is not declared JSON (``text/plain``, forms...).

    Every body this API takes is JSON; refusing other media types at the door keeps a
    browser's cross-site form post (which cannot send ``application/json`` without a
    preflight) from ever reaching a route. A write without a body (e.g. an accept) passes.
    Paths in ``exempt`` check their own format: the OMF routes, whose clients (PI adapters)
    may send gzip without a JSON content type; they need the ``messagetype`` header and a
    bearer token, which no cross-site form can send.
    """

    def __init__(self, app: ASGIApp, exempt: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass JSON writes and everything else on; answer 415 to other bodies."""
        if (
            scope["type"] == "http"
            and scope.get("method") in _WRITES
            and scope.get("path") not in self.exempt
        ):
            headers = dict(scope.get("headers", ()))
            has_body = headers.get(b"content-length", b"0") not in (b"0", b"") or (
                b"transfer-encoding" in headers
            )
            if has_body and not _is_json(headers.get(b"content-type", b"")):
                body = ErrorBody(
                    error="unsupported_media_type",
                    message="send the body as JSON (Content-Type: application/json)",
                )
                await respond(415, body)(scope, receive, send)
                return
        await self.app(scope, receive, send)
