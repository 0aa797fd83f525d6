"""The door, before any route runs: size limit, JSON only, compressed bodies decoded.

Bodies over the size limit or not JSON are refused; ``Content-Encoding`` gzip or deflate is
decoded.

Refusals answer with the API's problem documents (:mod:`ingest.api.errors`).
"""

from __future__ import annotations

import zlib
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


_GZIP: Final = frozenset({"gzip", "x-gzip"})
ACCEPT_ENCODING: Final = "gzip, deflate"
"""The content codings the door decodes (RFC 9110: named in a 415's ``Accept-Encoding``)."""


class _DecodedTooLargeError(Exception):
    pass


MAX_GZIP_MEMBERS: Final = 64
"""Gzip members one body may hold (a client writes one; a body of thousands of empty members
would cost the door time out of proportion to its size)."""


def decode_body(body: bytes, coding: str, max_bytes: int) -> bytes:
    """``body`` decoded from ``gzip`` (members one after another) or ``deflate`` (zlib, or raw).

    Decoding stops past ``max_bytes`` (a small body that inflates to gigabytes costs nothing),
    and takes time linear in the body (at most :data:`MAX_GZIP_MEMBERS` members). An empty
    body is empty whatever its coding.

    Raises:
        _DecodedTooLargeError: more than ``max_bytes`` once decoded.
        zlib.error: not that coding, cut short, followed by other bytes, or too many members.
    """
    if not body:
        return b""
    out = bytearray()
    if coding in _GZIP:
        rest = memoryview(body)
        for _ in range(MAX_GZIP_MEMBERS):
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out += d.decompress(rest, max_bytes + 1 - len(out))
            if len(out) > max_bytes or d.unconsumed_tail:
                raise _DecodedTooLargeError
            if not d.eof:
                raise zlib.error("the gzip stream is cut short")
            following = d.unused_data.lstrip(b"\0")  # padding after a member is allowed
            if not following:
                return bytes(out)
            rest = memoryview(following)
        raise zlib.error(f"more than {MAX_GZIP_MEMBERS} gzip members")
    for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS):  # RFC 9110's zlib, or the raw form some send
        d = zlib.decompressobj(wbits)
        try:
            out += d.decompress(body, max_bytes + 1)
        except zlib.error:
            out.clear()
            continue
        if len(out) > max_bytes or d.unconsumed_tail:
            raise _DecodedTooLargeError
        if d.eof and not d.unused_data.strip(b"\0"):
            return bytes(out)
        out.clear()
    raise zlib.error("not a deflate (zlib) stream, cut short, or followed by other bytes")


class ContentEncodingMiddleware:
    """Decodes request bodies sent with ``Content-Encoding: gzip`` or ``deflate``.

    A historian that forwards a backlog compresses it: the route sees the decoded body, as if
    it had been sent plain, with the same size limit (``max_bytes``) applied to the decoded
    bytes (the wire size is limited by :class:`BodyLimitMiddleware`). Another coding is
    answered 415 with ``Accept-Encoding: gzip, deflate`` (RFC 9110, 15.5.16); a body that is
    not what its coding says is a 400; one that decodes past the limit a 413. Paths in
    ``exempt`` decode their own bodies (the OMF routes: OMF's ``compression`` header).
    """

    def __init__(self, app: ASGIApp, max_bytes: int, exempt: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, its body decoded when it declares a content coding."""
        if scope["type"] != "http" or scope.get("path") in self.exempt:
            await self.app(scope, receive, send)
            return
        headers = [(k, v) for k, v in scope.get("headers", ()) if k != b"content-encoding"]
        declared = b",".join(v for k, v in scope.get("headers", ()) if k == b"content-encoding")
        codings = [c.strip() for c in declared.decode("latin-1").lower().split(",")]
        coding = ", ".join(c for c in codings if c not in ("", "identity"))
        if not coding:
            await self.app(scope, receive, send)
            return
        if coding not in _GZIP and coding != "deflate":
            body = problem(415, f"Content-Encoding {coding[:40]!r} is not read: send gzip, "
                           "deflate or no coding")  # fmt: skip
            await respond(415, body, {"Accept-Encoding": ACCEPT_ENCODING})(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:  # the wire size is bounded by BodyLimitMiddleware, outside this one
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        try:
            decoded = decode_body(b"".join(chunks), coding, self.max_bytes)
        except _DecodedTooLargeError:
            why = f"the request body exceeds {self.max_bytes} bytes once decoded ({coding})"
            await respond(413, problem(413, why))(scope, receive, send)
            return
        except zlib.error as e:
            body = problem(400, f"the body is not valid {coding}: {e}")
            await respond(400, body)(scope, receive, send)
            return
        headers = [(k, v) for k, v in headers if k != b"content-length"]
        headers.append((b"content-length", str(len(decoded)).encode()))
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()  # a disconnect, if the route waits for one
            delivered = True
            return {"type": "http.request", "body": decoded, "more_body": False}

        await self.app({**scope, "headers": headers}, replay, send)
