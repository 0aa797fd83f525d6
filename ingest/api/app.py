"""The FastAPI application: routes, error shape, body limit, OpenAPI document, lifecycle.

``create_app(settings)`` builds the app; its lifespan opens :class:`Services` (Kafka producer,
registry follower, database pool) and closes them on shutdown. The OpenAPI document is served
at ``/openapi.json`` (interactive at ``/docs``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, RedirectResponse
from prometheus_client import make_asgi_app
from pydantic import BaseModel, Field

from ingest.api import errors, routes_dashboard, routes_push, routes_read, routes_registry
from ingest.api.auth import authenticate
from ingest.api.services import Services
from schemas.common import StrictModel
from schemas.readings import Reading
from schemas.rejections import Rejection
from symbiosis import metrics
from symbiosis.errors import PipelineError
from symbiosis.settings import Settings

STAGE = "ingest"


class Push(StrictModel):
    """Body of ``POST /v1/readings``."""

    readings: list[Reading] = Field(min_length=1)


class OmfValue(StrictModel):
    """One PI Web API / OMF-style value: ``tag`` (mapped by the site's tag map) or ``meter``."""

    tag: str | None = Field(default=None, min_length=1, max_length=256)
    meter: str | None = None
    timestamp: str = Field(description="ISO 8601 with a timezone.")
    value: float
    units: str | None = Field(default=None, description="Default: the stream's unit.")
    good: bool = True


class OmfPush(BaseModel):
    """Body of ``POST /v1/sites/{site_id}/omf``: a JSON array of values."""

    root: list[OmfValue]


def _openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The generated document plus the push bodies, which routes parse row by row themselves."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title, version=app.version, description=app.description,
                routes=app.routes,
            )  # fmt: skip
            schemas = doc.setdefault("components", {}).setdefault("schemas", {})
            template = "#/components/schemas/{model}"
            for model in (Push, OmfValue):
                schema = model.model_json_schema(ref_template=template)
                schemas.update(schema.pop("$defs", {}))
                schemas[model.__name__] = schema
            schemas["OmfPush"] = {
                "type": "array", "items": {"$ref": "#/components/schemas/OmfValue"},
                "minItems": 1,
            }  # fmt: skip
            app.openapi_schema = doc
        return app.openapi_schema

    return build


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """422 naming every bad field; an authenticated caller's invalid write is also rejected."""
    assert isinstance(exc, RequestValidationError)
    svc: Services = request.app.state.services
    who = getattr(request.state, "principal", None)
    if who is None:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else None
        try:
            who = authenticate(svc, token)
        except errors.ApiError as e:
            return errors.respond(e.status, e.body, {"WWW-Authenticate": "Bearer"})
    answer = errors.invalid(exc)
    if request.method in ("POST", "PUT", "PATCH"):
        reason = "; ".join(f"{e.field}: {e.reason}" for e in answer.body.errors)
        body = await request.body()
        rejection = Rejection.of(STAGE, f"{request.method} {request.url.path}", reason, body)
        future = svc.publisher.send(
            svc.settings.topics.rejected, who.company, rejection.model_dump_json().encode()
        )
        try:
            await run_in_threadpool(svc.publisher.wait, [future], svc.settings.api_ack_timeout_s)
        except PipelineError as e:
            return errors.respond(503, errors.ApiError(503, f"not recorded, retry: {e}").body)
        metrics.REJECTED.labels(STAGE).inc()
    return errors.respond(422, answer.body)


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """The API app; opens its own :class:`Services` at start-up unless given ones.

    Raises:
        PipelineError, ConfigurationError: at start-up, when Kafka, the registry or the
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
        "(`symbiosis token issue`). Errors: an `ErrorBody` naming every bad field.",
        lifespan=lifespan,
    )
    errors.install(app)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_middleware(errors.BodyLimitMiddleware, max_bytes=settings.api_max_body_bytes)
    app.include_router(routes_push.router)
    app.include_router(routes_registry.router)
    app.include_router(routes_read.router)
    app.include_router(routes_dashboard.router)

    app.mount("/metrics", make_asgi_app())  # Prometheus, like every other process

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/dashboard")

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, Any]:
        """Liveness: the registry has been read; how many records it holds."""
        svc: Services = app.state.services
        return {"status": "ok", "registry_records": svc.registry.applied}

    app.openapi = _openapi(app)  # type: ignore[method-assign]
    return app
