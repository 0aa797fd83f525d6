"""OMF 1.0-1.2 over HTTP (``POST /omf``, alias ``POST /piwebapi/omf``) for AVEVA PI adapters.

Thin: the protocol is :mod:`domain.omf`. Type and container messages are checked against the
company's book and written to the OMF registry topic (answered once Kafka acknowledged them);
data messages become reading rows for the same gateway as every other door. Items and values
are kept or refused one by one: a message with at least one kept is answered 200, listing the
refused ones. Every refusal is recorded on the rejected topic. ``GET /piwebapi/system`` answers
what PI Web API clients ask before sending (fledge's OMF north). Both schemes PI Web API
clients use are taken (:data:`~ingest.api.auth.OmfCaller`). See docs/omf.md.
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
    ItemError,
    OmfError,
    OmfHeaders,
    Plan,
    data_rows,
    decode_body,
    parse_headers,
    plan_containers,
    plan_types,
    status_of,
)
from domain.wording import clean
from ingest.api import errors, submitting
from ingest.api.auth import OmfCaller, Svc, basic_password, take_registry_write
from ingest.api.errors import COMMON_RESPONSES, ApiError, responses, validation_errors
from ingest.api.services import Services
from ingest.api.tokens import Principal
from schemas.omf import OmfRecord
from schemas.rejections import Rejection
from schemas.views import FieldError, OmfProblem, OmfResult

STAGE: Final = "ingest"
PATHS: Final = frozenset({"/omf", "/omf/", "/piwebapi/omf", "/piwebapi/omf/"})
"""The OMF routes (exempt from the JSON content-type check: they check their own headers).

With a trailing slash too: AVEVA's adapter documentation writes the endpoint
``https://<server>/piwebapi/omf/``; it is served there directly (a redirect would drop a POST's
body with some clients)."""
SYSTEM: Final = {"ProductTitle": "symbiosis OMF endpoint", "ProductVersion": "1.2"}
"""``GET /piwebapi/system``: the fields fledge's OMF north reads (``ProductTitle``,
``ProductVersion``); naming no PI Web API release (2019: OMF 1.0, 2020: 1.1), it picks 1.2."""

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
        _header("omfversion", "1.0, 1.1 or 1.2 (1.0 is taken as 1.1)", required=True),
        _header("messageformat", "json (the default)"),
        _header(
            "action", "create (the default), update or delete (data: update is taken as create)"
        ),
        _header("compression", "gzip, or absent"),
        _header("producertoken", "OMF 1.1: accepted and ignored (the token is the company)"),
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
        "description": "Processed: at least one definition kept or one reading acknowledged "
        "by Kafka (or nothing to read). Items and values refused are counted in `rejected`, "
        "named in `errors` and on the rejected topic.",
    },
    400: {
        "description": "A malformed message (the body names each item and field), or data "
        "whose values were all refused (OmfProblem with the counts; each refused value is on "
        "the rejected topic).",
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
    401: {
        "description": "No valid token (Bearer, or Basic with the token as the password); "
        "`WWW-Authenticate` names both schemes.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    },
    **responses(
        s403="An operator token: OMF definitions are kept per company.",
        s404="Every container names a type the company has not defined, or every value of a "
        "data message names an undefined container (OmfProblem with the counts).",
        s409="A different definition under an existing id (send action update), a type still "
        "used by a container, or the company's quota of types or containers.",
        s413="Over 192 KB as sent, over the unpacked body limit, or over the readings "
        "limit of one message (recorded on the rejected topic).",
        s501="A feature symbiosis cannot represent (data delete, another format, OMF "
        "version or compression; every type indexed by other than one date-time property).",
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


def _write(
    svc: Services, who: Principal, headers: OmfHeaders, items: list[object], where: str
) -> Plan:
    """Check a type or container message, write what it changes, record its refused items.

    One registry write at a time. Only a message that changes a definition counts against
    the company's registry-write rate: identical re-sends (an adapter's restart) do not. The
    refused items (:attr:`Plan.refused`) go to the rejected topic, one record each, with the
    writes; both are acknowledged before this returns.

    Raises:
        OmfError: every item is refused (nothing written; the caller records the message).
        ApiError: 429 over the company's registry-write rate (nothing written or recorded).
        TransientError: Kafka did not acknowledge (retrying the message is harmless).
    """
    topic = svc.settings.topics.omf
    with svc.registry_writes:
        with svc.registry.locked() as directory:
            book = Book(directory, who.company or "")
            planner = plan_types if headers.message_type == "type" else plan_containers
            plan = planner(items, headers.action, book)
        if plan.writes:
            take_registry_write(svc, who)
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
        for rejection in _item_rejections(plan.refused, items, where):
            futures.append(svc.publisher.send(svc.settings.topics.rejected, who.company, rejection))
        svc.publisher.wait(futures, svc.settings.api_ack_timeout_s)
        for key, value in values:
            svc.registry.apply(topic, key, value)
    return plan


def _item_rejections(refused: list[ItemError], items: list[object], where: str) -> list[bytes]:
    """One rejected-topic record per refused item: the item, its status and every reason."""
    by_item: dict[int, list[ItemError]] = {}
    for e in refused:
        if e.item is not None:
            by_item.setdefault(e.item, []).append(e)
    out = []
    for i, found in by_item.items():
        reason = f"{status_of(found)}: " + "; ".join(f"{e.field}: {e.reason}" for e in found)
        rejection = Rejection.of(STAGE, f"{where} [{i}]", reason, payload_json(items[i]))
        out.append(rejection.model_dump_json().encode())
    return out


async def _data(
    svc: Services,
    who: Principal,
    where: str,
    headers: OmfHeaders,
    items: list[object],
    body: bytes,
) -> JSONResponse:
    """A data message (``create``, or ``update`` taken as create) through the gateway.

    Answers 200 when at least one reading was accepted (or nothing was to be read), the
    refused values counted, named and on the rejected topic; when values were refused and
    none accepted, 404 if each of them names an undefined container or type, else 400.

    Raises:
        OmfError: 413 over the readings limit (the caller records it).
        ApiError: 403 a row names another company's meter (nothing accepted); 503 Kafka.
    """
    company = who.company or ""

    def mapped() -> DataRows:
        with svc.registry.locked() as directory:
            return data_rows(items, Book(directory, company), source=where)

    rows = await run_in_threadpool(mapped)
    limit = svc.settings.api_max_batch_readings
    if len(rows.rows) > limit:
        raise OmfError(413, f"{len(rows.rows)} readings in one message; the limit is {limit}")
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
    update = {"accepted": submitted.accepted, "rejected": submitted.rejected_rows}
    counts = result.model_copy(update={**update, "errors": found})
    if submitted.accepted or not found:
        return JSONResponse(counts.model_dump(mode="json"))
    missing = all(e.row in rows.missing for e in submitted.errors)
    return _refused_values(404 if missing else 400, counts, found)


def _refused_values(status: int, counts: OmfResult, found: list[FieldError]) -> JSONResponse:
    """The 400 or 404 of a data message with no value accepted: a problem with the counts."""
    detail = (
        f"{counts.rejected} value(s) refused, none accepted: "
        + "; ".join(f"{f.field}: {f.reason}" for f in found[:3])
        + (f"; and {len(found) - 3} more" if len(found) > 3 else "")
    )
    answer = OmfProblem(
        **errors.problem(status, detail, found).model_dump(),
        **counts.model_dump(exclude={"errors"}),
    )
    return errors.respond(status, answer)


def _cross_site(request: Request) -> JSONResponse | None:
    """The 400, not recorded, of a request with Basic credentials and no ``messagetype``.

    A browser holding Basic credentials sends them with any cross-site form, which cannot
    set that header: such a request must not reach the company's rejected topic (a bearer
    token is never sent by a browser on its own). ``None`` for every other request.
    """
    if "messagetype" in request.headers or not basic_password(request.headers.get("authorization")):
        return None
    reason = "is required (type, container or data)"
    fields = [FieldError(field="messagetype", reason=reason)]
    return errors.respond(400, errors.problem(400, f"messagetype: {reason}", fields))


@router.post(
    "/omf",
    summary="OMF 1.0-1.2 message (AVEVA PI adapters)",
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
@router.post("/omf/", include_in_schema=False)
@router.post("/piwebapi/omf/", include_in_schema=False)
async def post_omf(request: Request, caller: OmfCaller, svc: Svc) -> JSONResponse:
    """One OMF message: headers ``messagetype``, ``omfversion``, ``action``, ``compression``.

    Type messages define the company's types (dynamic: a date-time index and number
    properties; static ones are accepted and not used); container messages map a container
    to one of the company's meters (its id, or a tag of its sites' ``tag_map``); data
    messages become readings, checked and published like ``POST /v1/readings`` (``update``
    is taken as ``create``). Items and values are kept or refused one by one. See
    docs/omf.md for what is supported and what answers 501.
    """
    if caller.company is None:
        raise ApiError(403, "OMF types and containers are kept per company: use a company token")
    cross_site = _cross_site(request)
    if cross_site is not None:
        return cross_site
    raw = await request.body()
    where = f"POST {request.url.path}"
    body = raw
    try:
        if len(raw) > MAX_MESSAGE_BYTES:
            raise OmfError(
                413,
                f"an OMF message body is at most {MAX_MESSAGE_BYTES} bytes "
                "(192 KB; compress it with gzip)",
            )
        headers = parse_headers(request.headers)
        where = f"{where} ({headers.message_type} {headers.action})"
        items = decode_body(raw, gzip=headers.gzip, max_bytes=svc.settings.api_max_body_bytes)
        if headers.gzip:
            body = payload_json(items)
        if headers.message_type == "data":
            if headers.action == "delete":
                raise OmfError(
                    501,
                    "data delete cannot be represented: readings are history, each "
                    "(meter, ts) is stored once",
                )
            return await _data(svc, caller, where, headers, items, body)
        plan = await run_in_threadpool(_write, svc, caller, headers, items, where)
    except OmfError as e:
        return await _refuse(svc, caller, where, e, body)
    except TransientError as e:
        raise ApiError(503, f"not accepted, retry: {e}") from e
    result = OmfResult(
        messagetype=headers.message_type,
        action=headers.action,
        applied=len(plan.writes),
        unchanged=plan.unchanged,
        rejected=len(plan.refused_items),
        errors=[
            FieldError(row=x.item, field=x.field, reason=clean(x.reason)) for x in plan.refused
        ],
    )
    return JSONResponse(result.model_dump(mode="json"))


@router.get(
    "/piwebapi/system",
    summary="PI Web API's system information, as OMF clients ask it before sending",
    responses={
        200: {
            "description": "`ProductTitle` and `ProductVersion`, the fields fledge's OMF "
            "north reads to choose its OMF version (it then sends OMF 1.2).",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "ProductTitle": {"type": "string"},
                            "ProductVersion": {"type": "string"},
                        },
                        "required": ["ProductTitle", "ProductVersion"],
                    },
                    "example": SYSTEM,
                }
            },
        },
        401: {
            "description": "No valid token (Bearer, or Basic with the token as the password).",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
        },
    },
)
@router.get("/piwebapi/system/", include_in_schema=False)
async def piwebapi_system(caller: OmfCaller) -> JSONResponse:
    """What a PI Web API client checks before sending OMF: the product and its version.

    Authenticated like the OMF routes (any valid token: the answer says nothing of a
    company). Minimal: ``ProductTitle`` and ``ProductVersion`` only.
    """
    return JSONResponse(SYSTEM)
