"""The OpenAPI document: FastAPI's, plus the push bodies and the problem media type.

Push routes parse their bodies row by row themselves, so their body schemas (:class:`Push`,
:class:`OmfValue`) are added here. Every 4xx/5xx answer is documented as
``application/problem+json`` with the :class:`~schemas.views.ErrorBody` schema (or a
subclass), FastAPI's own ``HTTPValidationError`` included: the answers' real shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

from ingest.api.errors import PROBLEM_JSON
from schemas.common import StrictModel
from schemas.readings import Reading
from schemas.views import ErrorBody, OmfProblem

_REF: Final = "#/components/schemas/{model}"
_FASTAPI_422: Final = ("HTTPValidationError", "ValidationError")


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


def _add_push_bodies(schemas: dict[str, Any]) -> None:
    """Add the push bodies, and the problem schemas only hand-written responses name.

    ``ErrorBody`` for FastAPI's 422s, ``OmfProblem`` for ``POST /omf``'s 400.
    """
    for model in (Push, OmfValue):
        schema = model.model_json_schema(ref_template=_REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    for answer in (ErrorBody, OmfProblem):  # named by hand-written responses
        if answer.__name__ not in schemas:
            schema = answer.model_json_schema(ref_template=_REF, mode="serialization")
            for name, definition in schema.pop("$defs", {}).items():
                schemas.setdefault(name, definition)
            schemas[answer.__name__] = schema
    schemas["OmfPush"] = {
        "type": "array", "items": {"$ref": _REF.format(model="OmfValue")}, "minItems": 1,
    }  # fmt: skip


def _as_problems(doc: dict[str, Any]) -> None:
    """Move every 4xx/5xx answer to ``application/problem+json``.

    FastAPI's own 422 schema (``HTTPValidationError``) becomes ``ErrorBody``: what the app's
    handler answers.
    """
    error_body = {"$ref": _REF.format(model="ErrorBody")}
    for operations in doc.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if str(status)[:1] not in ("4", "5") or "application/json" not in content:
                    continue
                media = content.pop("application/json")
                if media.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                    media = {"schema": error_body}
                    response["description"] = "Invalid input: every bad field is named."
                content[PROBLEM_JSON] = media
    schemas = doc.get("components", {}).get("schemas", {})
    for name in _FASTAPI_422:
        schemas.pop(name, None)


def document(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """``app.openapi``: builds the document once, then answers it."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title, version=app.version, description=app.description,
                routes=app.routes,
            )  # fmt: skip
            schemas = doc.setdefault("components", {}).setdefault("schemas", {})
            _add_push_bodies(schemas)
            _as_problems(doc)
            app.openapi_schema = doc
        return app.openapi_schema

    return build
