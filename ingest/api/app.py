"""The FastAPI application: routes, error answers, door middlewares, docs, metrics, lifecycle.

``create_app(settings)`` builds the app; its lifespan opens :class:`Services` (Kafka producer,
registry follower, database pool) and closes them on shutdown. Every refusal is a problem
document (:mod:`ingest.api.errors`). The OpenAPI document is served at ``/openapi.json``
(:mod:`ingest.api.openapi`), interactive at ``/docs`` and ``/redoc`` from local assets
(:mod:`ingest.api.docs`); requests are counted for the internal metrics port
(:mod:`ingest.api.request_metrics`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import TransientError
from ingest.api import (
    errors,
    middleware,
    openapi,
    request_metrics,
    routes_dashboard,
    routes_omf,
    routes_push,
    routes_read,
    routes_registry,
)
from ingest.api.auth import OMF_CHALLENGE, authenticate, request_token
from ingest.api.docs import add_docs
from ingest.api.services import Services
from ingest.api.tokens import Principal
from runtime import metrics
from runtime.settings import Settings
from schemas.rejections import Rejection

STAGE = "ingest"


async def _record_refusal(request: Request, reason: str) -> JSONResponse | None:
    """Put a refused write (its body and why) on the rejected topic.

    Only for authenticated callers (strangers cannot fill the topic).

    Returns:
        ``None`` when recorded or not a write; otherwise the answer to give instead (401 for
        a bad token, 503 when Kafka did not take the record).
    """
    if request.method not in ("POST", "PUT", "PATCH"):
        return None
    svc: Services = request.app.state.services
    who: Principal | None = getattr(request.state, "principal", None)
    if who is None:  # the body failed before the route's dependencies ran
        omf = request.url.path in routes_omf.PATHS  # the OMF routes also take HTTP Basic
        token = request_token(request.headers.get("authorization"), basic=omf)
        try:
            who = await run_in_threadpool(authenticate, svc, token)
        except errors.ApiError as e:
            challenge = OMF_CHALLENGE if omf else "Bearer"
            return errors.respond(e.status, e.body, {"WWW-Authenticate": challenge})
    assert who is not None
    try:
        body = await asyncio.wait_for(request.body(), timeout=5)
    except Exception:  # noqa: BLE001 - a body that could not be read whole is recorded empty
        body = b""
    rejection = Rejection.of(STAGE, f"{request.method} {request.url.path}", reason, body)
    future = svc.publisher.send(
        svc.settings.topics.rejected, who.company, rejection.model_dump_json().encode()
    )
    try:
        await run_in_threadpool(svc.publisher.wait, [future], svc.settings.api_ack_timeout_s)
    except TransientError as e:
        return errors.respond(503, errors.ApiError(503, f"not recorded, retry: {e}").body)
    metrics.REJECTED.labels(STAGE).inc()
    return None


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """422 naming every bad field; the refused write is also put on the rejected topic."""
    assert isinstance(exc, RequestValidationError)
    answer = errors.invalid(exc, request.scope.get("route"))
    reason = "; ".join(f"{e.field}: {e.reason}" for e in answer.body.errors)
    return await _record_refusal(request, reason) or errors.respond(422, answer.body)


async def _bad_body(request: Request, exc: Exception) -> JSONResponse:
    """400 for a body that is not JSON or not the shape; also put on the rejected topic."""
    headers: dict[str, str] = {}
    if isinstance(exc, errors.ApiError):
        status, body = exc.status, exc.body
        headers = dict(exc.headers)
    else:
        assert isinstance(exc, StarletteHTTPException)
        status = exc.status_code
        body = errors.problem(status, _detail(status, exc.detail))
        headers = dict(exc.headers or {})
    if status == 400:
        refused = await _record_refusal(request, f"400: {body.message}")
        if refused is not None:
            return refused
    if status == 401:  # the OMF routes name Basic too (ingest.api.auth.OMF_CHALLENGE)
        headers.setdefault("WWW-Authenticate", "Bearer")
    return errors.respond(status, body, headers or None)


def _detail(status: int, detail: object) -> str:
    """Starlette's ``detail`` (its reason phrase for 404 and 405) as our sentence."""
    if status == 404 and detail == "Not Found":
        return "no such path"
    if status == 405 and detail == "Method Not Allowed":
        return "this path does not take this method"
    return str(detail)


async def _server_error(request: Request, exc: Exception) -> JSONResponse:
    """500 as a problem document (Starlette still logs the exception with its traceback)."""
    return errors.respond(500, errors.problem(500, "an internal error; it is logged"))


def _add_doors(app: FastAPI, settings: Settings) -> None:
    """The door middlewares, outermost last: body size as sent, JSON only, bodies decoded."""
    app.add_middleware(  # innermost: the wire size is BodyLimitMiddleware's, outside it
        middleware.ContentEncodingMiddleware,
        max_bytes=settings.api_max_body_bytes,
        exempt=routes_omf.PATHS,
    )
    app.add_middleware(middleware.JsonOnlyMiddleware, exempt=routes_omf.PATHS)
    app.add_middleware(middleware.BodyLimitMiddleware, max_bytes=settings.api_max_body_bytes)


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """The API app; opens its own :class:`Services` at start-up unless given ones.

    Raises:
        TransientError, ConfigurationError: at start-up, when Kafka, the registry or the
            database cannot be used (the process does not start half-working).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = services is None
        app.state.services = services or await run_in_threadpool(Services.open, settings)
        try:
            yield
        finally:
            if own:
                await run_in_threadpool(app.state.services.close)

    app = FastAPI(
        title="symbiosis API",
        version="1",
        description="Push meter readings, manage a tenant's registry, read its ledger and "
        "alerts. Every call but /healthz needs `Authorization: Bearer <token>` "
        "(`symbiosis token issue`). Errors: RFC 9457 problem documents "
        "(`application/problem+json`, `ErrorBody`) naming every bad field; `type` is "
        "`https://symbiosis.invalid/problems/<error>`. List reads page with "
        '`Link: <...>; rel="next"`.',
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.add_exception_handler(errors.ApiError, _bad_body)
    app.add_exception_handler(StarletteHTTPException, _bad_body)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(Exception, _server_error)
    _add_doors(app, settings)
    request_metrics.instrument(app)  # outermost: counts the door middlewares' answers too
    add_docs(app)
    app.include_router(routes_push.router)
    app.include_router(routes_omf.router)
    app.include_router(routes_registry.router)
    app.include_router(routes_read.router)
    app.include_router(routes_dashboard.router)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/dashboard")

    @app.get("/healthz", tags=["ops"], responses=errors.responses(s503="Not following."))
    def healthz() -> JSONResponse:
        """Liveness: the registry follower is alive; how many records it applied."""
        svc: Services = app.state.services
        if not svc.registry.alive:
            stopped = "the registry follower stopped: restart the process"
            return errors.respond(503, errors.problem(503, stopped))
        return JSONResponse({"status": "ok", "registry_records": svc.registry.applied})

    app.openapi = openapi.document(app)  # type: ignore[method-assign]
    return app
