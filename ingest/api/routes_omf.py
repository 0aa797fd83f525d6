"""OMF 1.1/1.2 over HTTP (``POST /omf``, alias ``POST /piwebapi/omf``) for AVEVA PI adapters.

Thin: the protocol is :mod:`domain.omf`. Type and container messages are checked against the
company's book and written to the OMF registry topic (answered once Kafka acknowledged them);
data messages become reading rows for the same gateway as every other door. Every refusal is
recorded on the rejected topic. See docs/omf.md.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from domain.errors import TransientError
from domain.intake import payload_json
from domain.omf import (
    MAX_MESSAGE_BYTES,
    Book,
    DataRows,
    OmfError,
    OmfHeaders,
    Plan,
    data_rows,
    decode_body,
    parse_headers,
    plan_containers,
    plan_types,
)
from domain.wording import clean
from ingest.api import errors, submitting
from ingest.api.auth import Caller, Svc, take_registry_write
from ingest.api.errors import COMMON_RESPONSES, ApiError, responses, validation_errors
from ingest.api.services import Services
from ingest.api.tokens import Principal
from schemas.omf import OmfRecord
from schemas.rejections import Rejection
from schemas.views import FieldError, OmfProblem, OmfResult

STAGE: Final = "ingest"
PATHS: Final = frozenset({"/omf", "/piwebapi/omf"})
"""The OMF routes (exempt from the JSON content-type check: they check their own headers)."""

router = APIRouter(tags=["omf"], responses=COMMON_RESPONSES)


def _header(name: str, description: str, *, required: bool = False) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": required,
        "description": description,
        "schema": {"type": "string"},
    }


_OPENAPI: Final[dict[str, Any]] = {
    "parameters": [
        _header("messagetype", "type, container or data", required=True),
        _header("omfversion", "1.1 or 1.2", required=True),
        _header("messageformat", "json (the default)"),
        _header("action", "create (the default), update or delete"),
        _header("compression", "gzip, or absent"),
        _header("producertoken", "OMF 1.1: accepted and ignored (the bearer token is the company)"),
        _header("X-Requested-With", "accepted (PI Web API's CSRF header)"),
    ],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "array", "items": {"type": "object"}},
            }
        },
    },
}

_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "model": OmfResult,
        "description": "Processed: definitions kept, or every reading acknowledged by Kafka.",
    },
    400: {
        "description": "A malformed message (the body names each item and field), or data "
        "values refused (OmfProblem: the others were accepted; each refused value is on the "
        "rejected topic).",
        "content": {
            "application/json": {
                "schema": {
                    "anyOf": [
                        {"$ref": "#/components/schemas/OmfProblem"},
                        {"$ref": "#/components/schemas/ErrorBody"},
                    ]
                }
            }
        },
    },
    **responses(
        s403="An operator token: OMF definitions are kept per company.",
        s404="A container names a type the company has not defined.",
        s409="A different definition under an existing id (send action update), a type still "
        "used by a container, or the company's quota of types or containers.",
        s501="A feature symbiosis cannot represent (data update or delete, another format, "
        "OMF version or compression, an index other than one date-time property).",
    ),
}


async def _refuse(
    svc: Services, who: Principal, where: str, e: OmfError, body: bytes
) -> JSONResponse:
    """Record a refused message on the rejected topic, then answer its status.

    Raises:
        ApiError: 503 when Kafka did not take the rejection.
    """
    reason = f"{e.status}: {e}"
    rejection = Rejection.of(STAGE, where, reason, body)
    future = svc.publisher.send(
        svc.settings.topics.rejected, who.company, rejection.model_dump_json().encode()
    )
    try:
        await run_in_threadpool(svc.publisher.wait, [future], svc.settings.api_ack_timeout_s)
    except TransientError as exc:
        raise ApiError(503, f"not recorded, retry: {exc}") from exc
    fields = [FieldError(row=x.item, field=x.field, reason=clean(x.reason)) for x in e.errors]
    return errors.respond(e.status, errors.problem(e.status, str(e), fields, e.code))


def _write(svc: Services, company: str, headers: OmfHeaders, items: list[object]) -> Plan:
    """Check a type or container message and write it; one registry write at a time.

    Raises:
        OmfError: the message is refused (nothing written).
        TransientError: Kafka did not acknowledge (retrying the message is harmless).
    """
    topic = svc.settings.topics.omf
    with svc.registry_writes:
        with svc.registry.locked() as directory:
            book = Book(directory, company)
            planner = plan_types if headers.message_type == "type" else plan_containers
            plan = planner(items, headers.action, book)
        values: list[tuple[str, bytes | None]] = []
        for key, record in plan.writes:
            value = record.model_dump_json().encode() if record is not None else None
            if value is not None:
                try:  # validated as stored: nothing reaches the topic a follower would refuse
                    OmfRecord.model_validate_json(value)
                except ValidationError as e:
                    why = "; ".join(f"{x.field}: {x.reason}" for x in validation_errors(e.errors()))
                    raise OmfError(400, f"{key}: not valid as stored: {why}") from e
            values.append((key, value))
        futures = [svc.publisher.send(topic, key, value) for key, value in values]
        svc.publisher.wait(futures, svc.settings.api_ack_timeout_s)
        for key, value in values:
            svc.registry.apply(topic, key, value)
    return plan


async def _data(
    svc: Services,
    who: Principal,
    where: str,
    headers: OmfHeaders,
    items: list[object],
    body: bytes,
) -> JSONResponse:
    company = who.company or ""

    def mapped() -> DataRows:
        with svc.registry.locked() as directory:
            return data_rows(items, Book(directory, company), source=where)

    rows = await run_in_threadpool(mapped)
    limit = svc.settings.api_max_batch_readings
    if len(rows.rows) > limit:
        raise ApiError(413, f"{len(rows.rows)} readings in one message; the limit is {limit}")
    result = OmfResult(messagetype="data", action=headers.action, ignored=rows.ignored)
    if not rows.rows:
        return JSONResponse(result.model_dump(mode="json"))
    submit = partial(
        svc.gateway.submit,
        rows.rows,
        company=company,
        source=where,
        body=body,
        locate=rows.locate,
        earlier_errors=rows.errors,
        row_sources=rows.sources,
    )
    submitted = await submitting.submit(svc, submit)
    found = [
        FieldError(row=rows.item_of(e.row), field=e.field, reason=clean(e.reason))
        for e in submitted.errors
    ]
    if submitted.forbidden:
        raise ApiError(
            403,
            "the message names meters of another company; nothing was accepted",
            [f for f, e in zip(found, submitted.errors, strict=True) if e.forbidden],
        )
    if not found:
        result = result.model_copy(update={"accepted": submitted.accepted})
        return JSONResponse(result.model_dump(mode="json"))
    counts = result.model_copy(
        update={"accepted": submitted.accepted, "rejected": submitted.rejected_rows}
    )
    return _refused_values(counts, found)


def _refused_values(counts: OmfResult, found: list[FieldError]) -> JSONResponse:
    """The 400 of a data message with refused values: a problem document with the counts."""
    detail = (
        f"{counts.rejected} value(s) refused, {counts.accepted} reading(s) accepted: "
        + "; ".join(f"{f.field}: {f.reason}" for f in found[:3])
        + (f"; and {len(found) - 3} more" if len(found) > 3 else "")
    )
    answer = OmfProblem(
        **errors.problem(400, detail, found).model_dump(),
        **counts.model_dump(exclude={"errors"}),
    )
    return errors.respond(400, answer)


@router.post(
    "/omf",
    summary="OMF 1.1/1.2 message (AVEVA PI adapters)",
    response_model=OmfResult,
    responses=_RESPONSES,
    openapi_extra=_OPENAPI,
)
@router.post(
    "/piwebapi/omf",
    summary="OMF message at PI Web API's path (alias of /omf)",
    response_model=OmfResult,
    responses=_RESPONSES,
    openapi_extra=_OPENAPI,
)
async def post_omf(request: Request, caller: Caller, svc: Svc) -> JSONResponse:
    """One OMF message: headers ``messagetype``, ``omfversion``, ``action``, ``compression``.

    Type messages define the company's types (dynamic: a date-time index and number
    properties; static ones are accepted and not used); container messages map a container
    to one of the company's meters (its id, or a tag of its sites' ``tag_map``); data
    messages become readings, checked and published like ``POST /v1/readings``. See
    docs/omf.md for what is supported and what answers 501.
    """
    if caller.company is None:
        raise ApiError(403, "OMF types and containers are kept per company: use a company token")
    raw = await request.body()
    if len(raw) > MAX_MESSAGE_BYTES:
        raise ApiError(
            413,
            f"an OMF message body is at most {MAX_MESSAGE_BYTES} bytes "
            "(192 KB; compress it with gzip)",
        )
    where = f"POST {request.url.path}"
    body = raw
    try:
        headers = parse_headers(request.headers)
        where = f"{where} ({headers.message_type} {headers.action})"
        items = decode_body(raw, gzip=headers.gzip, max_bytes=svc.settings.api_max_body_bytes)
        if headers.gzip:
            body = payload_json(items)
        if headers.message_type == "data":
            if headers.action != "create":
                raise OmfError(
                    501,
                    f"data {headers.action} cannot be represented: readings are "
                    "history, each (meter, ts) is stored once; send action create",
                )
            return await _data(svc, caller, where, headers, items, body)
        take_registry_write(svc, caller)
        plan = await run_in_threadpool(_write, svc, caller.company, headers, items)
    except OmfError as e:
        return await _refuse(svc, caller, where, e, body)
    except TransientError as e:
        raise ApiError(503, f"not accepted, retry: {e}") from e
    result = OmfResult(
        messagetype=headers.message_type,
        action=headers.action,
        applied=len(plan.writes),
        unchanged=plan.unchanged,
    )
    return JSONResponse(result.model_dump(mode="json"))
