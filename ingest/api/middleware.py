"""Refusals at the door, before any route runs: bodies over the size limit, bodies not JSON.

Both answer with the API's problem documents (:mod:`ingest.api.errors`).
"""

from __future__ import annotations

from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ingest.api.errors import problem, respond


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
        too_large = problem(413, f"the request body exceeds {self.max_bytes} bytes")
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
    Paths in ``exempt`` (exact paths: the OMF routes list theirs with and without a trailing
    slash) check their own format: the OMF routes, whose clients (PI adapters, fledge) may
    send gzip without a JSON content type; they need the ``messagetype`` header, which no
    cross-site form can send, and a token. A browser may send cached HTTP Basic credentials
    (which the OMF routes take) with a cross-site form: the route answers such a request,
    without ``messagetype``, 400 and records nothing.
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
                body = problem(415, "send the body as JSON (Content-Type: application/json)")
                await respond(415, body)(scope, receive, send)
                return
        await self.app(scope, receive, send)
