"""Registry writes: sites and their streams, needs (with subscription), exchanges.

Each write is checked against the registry (ownership, references, id collisions), published
to its compacted topic, and answered only after Kafka acknowledged it; the stream workers pick
it up from the topic. A tenant writes only for its own company; the operator for any.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Final

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ValidationError

from domain.directory import Directory
from ingest.api.auth import Caller, Svc
from ingest.api.errors import COMMON_RESPONSES, ApiError, responses, validation_errors
from ingest.api.services import Services
from schemas.registry import Exchange, Need, Site, Stream
from symbiosis.errors import ConfigurationError, PipelineError, UnknownReferenceError

router = APIRouter(prefix="/v1", tags=["registry"], responses=COMMON_RESPONSES)

_RESPONSES: Final = responses(
    s403="Not the caller's company.",
    s404="No such record.",
    s409="Conflicts with another tenant's record.",
    s422="Invalid record; every bad field is named.",
)


def _same_id(path_id: str, body_id: str) -> None:
    if path_id != body_id:
        raise ApiError(422, f"id: {body_id!r} differs from the path's {path_id!r}")


def _publish(
    svc: Services, check: Callable[[], None], topic: str, key: str, record: BaseModel | None
) -> None:
    """Check, publish, wait for the acknowledgement, apply locally (read your writes).

    One write at a time per process: two tenants racing for the same new id cannot both pass
    the check (several API replicas still can; see the README's note on registry writes).
    """
    value = record.model_dump_json().encode() if record is not None else None
    with svc.registry_writes:
        check()
        future = svc.publisher.send(topic, key, value)
        svc.publisher.wait([future], svc.settings.api_ack_timeout_s)
        svc.registry.apply(topic, key, value)


async def _publish_async(
    svc: Services, check: Callable[[], None], topic: str, key: str, record: BaseModel | None
) -> None:
    try:
        await run_in_threadpool(_publish, svc, check, topic, key, record)
    except PipelineError as e:
        raise ApiError(503, f"not accepted, retry: {e}") from e
    except ConfigurationError as e:  # changed under us between check and apply
        raise ApiError(409, str(e)) from e


def _check_site(svc: Services, caller: Caller, site: Site) -> None:
    if not caller.owns(site.company):
        raise ApiError(403, f"company: {site.company!r} is not the caller's company")
    with svc.registry.locked() as d:
        old = d.sites.get(site.id)
        if old is not None and not caller.owns(old.company):
            raise ApiError(403, f"site {site.id!r} belongs to another company")
        try:
            d.check_site(site)
        except ConfigurationError as e:
            raise ApiError(409, str(e)) from e


@router.put("/sites/{site_id}", response_model=Site, responses=_RESPONSES)
async def put_site(site_id: str, site: Site, caller: Caller, svc: Svc) -> Site:
    """Register or replace a site with its streams (and historian tag map)."""
    _same_id(site_id, site.id)
    check = partial(_check_site, svc, caller, site)
    await _publish_async(svc, check, svc.settings.topics.sites, site.id, site)
    return site


@router.put("/sites/{site_id}/streams/{stream_id}", response_model=Site, responses=_RESPONSES)
async def put_stream(
    site_id: str, stream_id: str, stream: Stream, caller: Caller, svc: Svc
) -> Site:
    """Add or replace one stream of a site; answers the whole site as registered."""
    _same_id(stream_id, stream.id)
    with svc.registry.locked() as d:
        old = d.sites.get(site_id)
    if old is None or not caller.owns(old.company):  # one answer: ids of others stay unknown
        raise ApiError(404, f"site {site_id!r} is not one of the caller's sites")
    streams = [s for s in old.streams if s.id != stream.id] + [stream]
    try:
        site = Site.model_validate(
            {**old.model_dump(), "streams": [s.model_dump() for s in streams]}
        )
    except ValidationError as e:
        raise ApiError(
            422, "the site with this stream is not valid", validation_errors(e.errors())
        ) from e
    check = partial(_check_site, svc, caller, site)
    await _publish_async(svc, check, svc.settings.topics.sites, site.id, site)
    return site


def _check_need(svc: Services, caller: Caller, need: Need) -> None:
    with svc.registry.locked() as d:
        site = d.sites.get(need.site)
        if site is None:
            raise ApiError(422, f"site: {need.site!r} is not a registered site")
        if not caller.owns(site.company):
            raise ApiError(403, f"site: {need.site!r} is not a site of the caller's company")
        old = d.needs.get(need.id)
        if old is not None and not caller.owns(d.company_of_need(need.id)):
            raise ApiError(403, f"need {need.id!r} belongs to another company")


@router.put("/needs/{need_id}", response_model=Need, responses=_RESPONSES)
async def put_need(need_id: str, need: Need, caller: Caller, svc: Svc) -> Need:
    """Register or replace a need; its subscription says where alerts are delivered."""
    _same_id(need_id, need.id)
    check = partial(_check_need, svc, caller, need)
    await _publish_async(svc, check, svc.settings.topics.needs, need.id, need)
    return need


@router.delete("/needs/{need_id}", status_code=204, responses=_RESPONSES)
async def delete_need(need_id: str, caller: Caller, svc: Svc) -> Response:
    """Withdraw a need; its open alerts resolve."""

    def check() -> None:
        with svc.registry.locked() as d:
            if need_id not in d.needs:
                raise ApiError(404, f"need {need_id!r} is not registered")
            if not caller.owns(d.company_of_need(need_id)):
                raise ApiError(403, f"need {need_id!r} belongs to another company")

    await _publish_async(svc, check, svc.settings.topics.needs, need_id, None)
    return Response(status_code=204)


def _party(d: Directory, caller: Caller, x: Exchange) -> bool:
    """Whether the caller gives the exchange's stream or has its need."""
    return caller.owns(d.company_of_stream(x.stream)) or caller.owns(d.company_of_need(x.need))


def _check_exchange(svc: Services, caller: Caller, x: Exchange) -> None:
    with svc.registry.locked() as d:
        try:
            d.check_exchange(x)
        except UnknownReferenceError as e:
            raise ApiError(422, str(e)) from e
        if not _party(d, caller, x):
            raise ApiError(403, "neither the stream nor the need is the caller's company's")
        old = d.exchanges.get(x.id)
        if old is not None and not _party(d, caller, old):
            raise ApiError(403, f"exchange {x.id!r} belongs to other companies")


@router.put("/exchanges/{exchange_id}", response_model=Exchange, responses=_RESPONSES)
async def put_exchange(exchange_id: str, exchange: Exchange, caller: Caller, svc: Svc) -> Exchange:
    """Commit (or change) an exchange; its quantity stops counting as available."""
    _same_id(exchange_id, exchange.id)
    check = partial(_check_exchange, svc, caller, exchange)
    await _publish_async(svc, check, svc.settings.topics.exchanges, exchange.id, exchange)
    return exchange


@router.delete("/exchanges/{exchange_id}", status_code=204, responses=_RESPONSES)
async def delete_exchange(exchange_id: str, caller: Caller, svc: Svc) -> Response:
    """End an exchange."""

    def check() -> None:
        with svc.registry.locked() as d:
            x = d.exchanges.get(exchange_id)
            if x is None:
                raise ApiError(404, f"exchange {exchange_id!r} is not registered")
            if not _party(d, caller, x):
                raise ApiError(403, f"exchange {exchange_id!r} belongs to other companies")

    await _publish_async(svc, check, svc.settings.topics.exchanges, exchange_id, None)
    return Response(status_code=204)
