"""Historian pushes: our JSON shape and PI Web API / OMF-style values mapped by tag."""

from __future__ import annotations

from functools import partial
from typing import Any, Final

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from domain.intake import OMF_FIELDS, RowError, omf_rows
from domain.wording import clean
from ingest.api import submitting
from ingest.api.auth import Caller, Svc
from ingest.api.errors import (
    COMMON_RESPONSES,
    ApiError,
    not_json,
    problem,
    respond,
    responses,
)
from ingest.gateway import Submission
from schemas.views import FieldError, PushProblem, PushResult

router = APIRouter(prefix="/v1", tags=["push"], responses=COMMON_RESPONSES)

_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: {"model": PushResult, "description": "Every reading accepted (acknowledged by Kafka)."},
    **responses(
        s403="A row names a meter of another company; nothing was accepted.",
        s404="No such site (OMF pushes).",
    ),
    422: {
        "model": PushProblem,
        "description": "Some rows refused (each named with its field and reason, and sent to "
        "the rejected topic); the others were accepted (`accepted`).",
    },
}


def _json_body(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        reason = not_json(e.lineno, e.colno, e.msg)
        raise ApiError(400, reason, [FieldError(field="(body)", reason=reason)]) from e


def _refused(accepted: int, rejected: int, found: list[FieldError]) -> JSONResponse:
    """The 422 of a push with refused rows: a problem document that keeps the counts."""
    detail = (
        f"{rejected} row(s) refused, {accepted} reading(s) accepted: "
        + "; ".join(f"{e.field}: {e.reason}" for e in found[:3])
        + (f"; and {len(found) - 3} more" if len(found) > 3 else "")
    )
    base = problem(422, detail, found)
    body = PushProblem(**base.model_dump(), accepted=accepted, rejected=rejected)
    return respond(422, body)


def _answer(result: Submission) -> JSONResponse:
    if result.forbidden:
        raise ApiError(
            403,
            "the push names meters of another company; nothing was accepted",
            [FieldError(row=e.row, field=e.field, reason=clean(e.reason)) for e in result.errors
             if e.forbidden],
        )  # fmt: skip
    found = [FieldError(row=e.row, field=e.field, reason=clean(e.reason)) for e in result.errors]
    if found:
        return _refused(result.accepted, result.rejected_rows, found)
    body = PushResult(accepted=result.accepted, rejected=0)
    return JSONResponse(body.model_dump(mode="json"))


async def _submit(svc: Svc, rows: list[Any], **kwargs: Any) -> JSONResponse:
    limit = svc.settings.api_max_batch_readings
    if not rows:  # answered in the documented 422 shape of a push
        field = "readings" if kwargs.get("source", "").endswith("/readings") else "(body)"
        return _refused(0, 0, [FieldError(field=field, reason="at least one reading is needed")])
    if len(rows) > limit:
        raise ApiError(413, f"{len(rows)} readings in one push; the limit is {limit}")
    result = await submitting.submit(svc, partial(svc.gateway.submit, rows, **kwargs))
    return _answer(result)


@router.post(
    "/readings",
    summary="Push readings (our JSON shape)",
    response_model=PushResult,
    responses=_RESPONSES,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Push"}}},
        }
    },
)
async def push_readings(request: Request, caller: Caller, svc: Svc) -> JSONResponse:
    """Push ``{"readings": [{meter, ts, value, unit, quality}, ...]}``.

    Each reading is checked on its own: the meter must be registered and belong to the caller's
    company, ``ts`` must carry a timezone and not lie in the future beyond the allowed clock
    skew, the unit must convert to the stream's unit. Valid readings are published once Kafka
    acknowledges them; invalid rows are answered (422) and sent to the rejected topic.
    """
    body = await request.body()
    data = _json_body(body)
    if not isinstance(data, dict) or not isinstance(data.get("readings"), list):
        raise ApiError(400, 'expected an object {"readings": [...]}')
    if set(data) - {"readings"}:
        extra = sorted(set(data) - {"readings"})[0]
        reason = "unknown field; expected one of: readings"
        raise ApiError(
            400, f"unknown top-level field {extra!r}", [FieldError(field=extra, reason=reason)]
        )
    return await _submit(
        svc, data["readings"], company=caller.company, source="POST /v1/readings", body=body
    )


@router.post(
    "/sites/{site_id}/omf",
    summary="Push PI Web API / OMF-style values (tags mapped by the site's tag map)",
    response_model=PushResult,
    responses=_RESPONSES,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OmfPush"}}},
        }
    },
)
async def push_omf(site_id: str, request: Request, caller: Caller, svc: Svc) -> JSONResponse:
    """Push ``[{tag|meter, timestamp, value, units, good}, ...]`` for one site.

    ``tag`` is looked up in the site's ``tag_map``; ``units`` defaults to the stream's unit;
    ``good: false`` stores the value with quality ``bad``: it does not count, and its meter counts
    nothing in the ledger until its next good reading.
    Same checks and answers as ``POST /v1/readings``; fields are named as sent.
    """
    with svc.registry.locked() as directory:
        site = directory.sites.get(site_id)
        if site is None or not caller.owns(site.company):  # one answer for absent and others'
            raise ApiError(404, f"site {site_id!r} is not one of the caller's sites")
    body = await request.body()
    data = _json_body(body)
    if not isinstance(data, list):
        raise ApiError(400, "expected a JSON array of values")

    def mapped() -> tuple[list[object], list[RowError]]:
        with svc.registry.locked() as directory:
            return omf_rows(data, directory, site_id)

    rows, errors = await run_in_threadpool(mapped)
    return await _submit(
        svc, rows, company=caller.company, source=f"POST /v1/sites/{site_id}/omf", body=body,
        prefix="", names=OMF_FIELDS, earlier_errors=errors,
    )  # fmt: skip
