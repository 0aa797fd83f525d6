"""Reads, scoped to the caller: its registry, its ledger and readings, its alerts (redacted).

A company reads only its own raw data (readings, ledger of its streams, its sites, needs and
the exchanges it is a party to). Alerts are visible to the supplier (in full) and to the
need's company (redacted per :func:`domain.disclosure.alert_view`). The operator sees all.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Query, Request, Response
from pydantic import AwareDatetime

from domain.disclosure import alert_view
from ingest.api import paging, queries
from ingest.api.auth import Caller, Svc
from ingest.api.errors import COMMON_RESPONSES, ApiError, responses
from schemas.common import Slug, StrictModel, UtcDatetime
from schemas.ledger import LedgerEntry
from schemas.offers import Offer
from schemas.readings import ReadingQuality
from schemas.registry import Exchange, Need, Site
from schemas.views import AlertView
from schemas.views import Caller as CallerView

router = APIRouter(prefix="/v1", tags=["read"], responses=COMMON_RESPONSES)

_RESPONSES: Final = responses(
    s404="No such meter among the caller's (absent and others' look the same)."
)
Hours = Annotated[float, Query(gt=0, le=24 * 366, description="How far back, in hours.")]


class StoredReading(StrictModel):
    """A reading as stored."""

    meter: Slug
    stream: Slug
    ts: UtcDatetime
    value: float
    unit: str
    quality: ReadingQuality


@router.get("/me", response_model=CallerView, responses=_RESPONSES)
def me(caller: Caller) -> CallerView:
    """Who the token belongs to."""
    return caller.view()


@router.get("/sites", response_model=list[Site], responses=_RESPONSES)
def sites(caller: Caller, svc: Svc) -> list[Site]:
    """The caller's sites with their streams (all sites for the operator)."""
    with svc.registry.locked() as d:
        return [s for s in d.sites.values() if caller.owns(s.company)]


@router.get("/needs", response_model=list[Need], responses=_RESPONSES)
def needs(caller: Caller, svc: Svc) -> list[Need]:
    """The caller's needs (a subscription whose webhook answered 410 Gone shows ``disabled``)."""
    with svc.registry.locked() as d:
        return [d.with_webhook_state(d.needs[n]) for n in sorted(d.needs_of(caller.scope))]


@router.get("/exchanges", response_model=list[Exchange], responses=_RESPONSES)
def exchanges(caller: Caller, svc: Svc) -> list[Exchange]:
    """Exchanges the caller is a party to (supplier or receiver)."""
    with svc.registry.locked() as d:
        return [
            x for x in d.exchanges.values()
            if caller.owns(d.company_of_stream(x.stream)) or caller.owns(d.company_of_need(x.need))
        ]  # fmt: skip


@router.get("/ledger", response_model=list[LedgerEntry], responses=_RESPONSES)
def ledger(caller: Caller, svc: Svc, hours: Hours = 24) -> list[LedgerEntry]:
    """The latest ledger entry of each of the caller's streams updated in the last ``hours``."""
    with svc.registry.locked() as d:
        streams = sorted(d.streams_of(caller.scope))
    return queries.latest_ledger(svc, streams, hours)


@router.get("/alerts", response_model=list[AlertView], responses=_RESPONSES)
def alerts(
    caller: Caller,
    svc: Svc,
    hours: Hours = 24,
    open_only: Annotated[bool, Query(description="Only alerts not resolved yet.")] = True,
) -> list[AlertView]:
    """The latest state of each alert on the caller's streams or needs, as the caller may see it."""
    scope = caller.scope
    with svc.registry.locked() as d:
        streams, own_needs = sorted(d.streams_of(scope)), sorted(d.needs_of(scope))
    found_alerts = queries.latest_alerts(svc, streams, own_needs, hours, open_only=open_only)
    out: list[AlertView] = []
    with svc.registry.locked() as d:
        for alert in found_alerts:
            found = d.stream(alert.stream)
            site, stream = found if found is not None else (None, None)
            receiver = d.site_of_need(alert.need)
            view = alert_view(alert, site, stream, scope, key=svc.disclosure_key, receiver=receiver)
            out.append(view)
    return out


_PAGED: Final = {
    **_RESPONSES,
    200: {
        "description": "One page, oldest first.",
        "headers": {
            "Link": {
                "description": "The next page, when there is one: `</v1/...?cursor=...>; "
                'rel="next"` (RFC 8288).',
                "schema": {"type": "string"},
            }
        },
    },
}
Limit = Annotated[int, Query(ge=1, le=10_000, description="Rows per page.")]
CursorText = Annotated[
    str | None,
    Query(max_length=paging.MAX_CURSOR_CHARS,
          description="From the previous page's `Link: rel=\"next\"` header."),
]  # fmt: skip
Moment = Annotated[
    AwareDatetime | None,
    Query(description="ISO 8601 with a time zone (`Z`, or `+01:00` sent as `%2B01:00`)."),
]


@router.get("/readings", response_model=list[StoredReading], responses=_PAGED)
def readings(
    request: Request,
    response: Response,
    caller: Caller,
    svc: Svc,
    meter: Annotated[str, Query(min_length=1, max_length=64)],
    since: Moment = None,
    until: Moment = None,
    limit: Limit = 1000,
    cursor: CursorText = None,
) -> list[StoredReading]:
    """Stored readings of one of the caller's meters, oldest first, one page at a time.

    ``since`` (inclusive) and ``until`` (exclusive) bound the time; the next page is in the
    ``Link`` header (absent on the last page).
    """
    with svc.registry.locked() as d:
        ref = d.meter(meter)
    if ref is None or not caller.owns(ref.company):  # one answer: others' ids stay unknown
        raise ApiError(404, "meter: not one of the caller's meters")
    after = paging.decode("readings", cursor, key=meter) if cursor is not None else None
    sql, params = queries.readings_page(meter, since=since, until=until, after=after,
                                        limit=limit)  # fmt: skip
    found, more = paging.page(
        queries.rows(svc, sql, params), limit,
        lambda r: paging.Cursor(r["ts"], str(r["meter"])), "readings",
    )  # fmt: skip
    if more is not None:
        response.headers["Link"] = paging.next_link(request.url, more)
    return [StoredReading.model_validate(r) for r in found]


@router.get("/offers", response_model=list[Offer], responses=_PAGED)
def offers(
    request: Request, response: Response, caller: Caller, svc: Svc, limit: Limit = 1000,
    cursor: CursorText = None,
) -> list[Offer]:  # fmt: skip
    """ERP offers of the caller's sites (imported with ``symbiosis import``), oldest first.

    One page at a time: the next page is in the ``Link`` header (absent on the last page).
    """
    own: list[str] | None = None  # the operator: every offer, also of unregistered sites
    if not caller.is_operator:
        with svc.registry.locked() as d:
            own = sorted(s.id for s in d.sites.values() if caller.owns(s.company))
    after = paging.decode("offers", cursor) if cursor is not None else None
    sql, params = queries.offers_page(own, after=after, limit=limit)
    found, more = paging.page(
        queries.rows(svc, sql, params), limit,
        lambda r: paging.Cursor(r["stored_at"], str(r["id"])), "offers",
    )  # fmt: skip
    if more is not None:
        response.headers["Link"] = paging.next_link(request.url, more)
    return [Offer.model_validate(r["payload"]) for r in found]
