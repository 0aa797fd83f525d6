"""The control-room dashboard: the page, its data as the viewer may see it, and live updates.

``GET /dashboard`` serves a static page (plain HTML, CSS and JavaScript, no build step). It
asks for a token (or takes one from the URL fragment ``#token=...``, which browsers never
send to the server), then reads ``GET /v1/dashboard/events``: server-sent events carrying a
fresh :class:`~schemas.views.Dashboard` whenever it changes (checked every
``DASHBOARD_POLL_S``), and a comment line as heartbeat. Snapshots are cached per scope for
``DASHBOARD_POLL_S``, so many screens cost one set of queries per second, not one each.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from importlib import resources
from typing import Final

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, StreamingResponse

from domain.directory import Directory
from domain.disclosure import alert_view
from domain.errors import SymbiosisError
from domain.kpis import active, allocate, availability_by_kind, exchange_benefit, totals
from ingest.api import queries
from ingest.api.auth import Caller, Svc
from ingest.api.errors import COMMON_RESPONSES
from ingest.api.services import Services
from ingest.api.tokens import Principal
from schemas.alerts import Benefit
from schemas.views import (
    AlertView,
    Dashboard,
    ExchangeView,
    Flow,
    Kpis,
    MapSite,
    SiteAvailability,
)

router = APIRouter(tags=["dashboard"], responses=COMMON_RESPONSES)

DASHBOARD_POLL_S: Final = 1.0
HEARTBEAT_S: Final = 15.0
HOURS: Final = 24.0

_cache: dict[str | None, tuple[float, Dashboard]] = {}
_cache_lock = threading.Lock()


def _page() -> str:
    return (resources.files("ingest.api") / "static" / "dashboard.html").read_text("utf-8")


@router.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
def page() -> HTMLResponse:
    """The dashboard page (public: its data needs a token)."""
    return HTMLResponse(_page(), headers={"Cache-Control": "no-cache"})


def _exchange_views(
    d: Directory, caller: Principal, now: datetime
) -> list[tuple[ExchangeView, Benefit]]:
    """Active exchanges the caller is a party to, each with its yearly benefit."""
    out: list[tuple[ExchangeView, Benefit]] = []
    for x in sorted(d.exchanges.values(), key=lambda x: x.id):
        supplier = d.stream(x.stream)
        need = d.needs.get(x.need)
        n_site = d.sites.get(need.site) if need is not None else None
        if supplier is None or need is None or n_site is None or not active(x, now):
            continue
        if not (caller.owns(supplier[0].company) or caller.owns(n_site.company)):
            continue
        try:
            benefit = exchange_benefit(x, supplier, (n_site, need))
        except SymbiosisError:  # a unit the benefit rules cannot place: shown, counted as 0
            benefit = Benefit(co2e_t_per_yr=0.0)
        view = ExchangeView(
            id=x.id, stream=x.stream, need=x.need, from_site=supplier[0].id, to_site=n_site.id,
            kind=supplier[1].kind, quantity=x.quantity, unit=x.unit,
            co2e_t_per_yr=benefit.co2e_t_per_yr,
        )  # fmt: skip
        out.append((view, benefit))
    return out


def build(svc: Services, caller: Principal) -> Dashboard:
    """The dashboard as ``caller`` may see it (see the module docstring for the rules).

    Long because: one view assembled under one registry lock, so its parts (alerts, flows,
    sites) agree with each other.

    Raises:
        ApiError: 503 when the database is unavailable.
    """
    scope = caller.scope
    now = datetime.now(UTC)
    with svc.registry.locked() as d:
        streams, needs = sorted(d.streams_of(scope)), sorted(d.needs_of(scope))
        species = {
            sid: st.gas_species for sid in streams if (found := d.stream(sid)) for st in found[1:]
        }
    ledger = queries.latest_ledger(svc, streams, HOURS)
    alerts = queries.latest_alerts(svc, streams, needs, HOURS, open_only=True)
    with svc.registry.locked() as d:
        views: list[AlertView] = []
        flows: list[Flow] = []
        for a in alerts:
            found = d.stream(a.stream)
            site, stream = found if found is not None else (None, None)
            view = alert_view(
                a, site, stream, scope, key=svc.disclosure_key, receiver=d.site_of_need(a.need)
            )
            views.append(view)
            need = d.needs.get(a.need)
            need_site = d.sites.get(need.site) if need is not None else None
            if need is None or need_site is None:
                continue
            # the receiving site is drawn only for its company, the operator, or if it
            # discloses its identity (a supplier learns of demand, not of whose)
            to_shown = caller.owns(need_site.company) or need_site.disclose_identity
            from_shown = site is not None and view.stream is not None
            if not (to_shown and from_shown):
                continue
            flows.append(
                Flow(
                    id=view.alert_id, status="alert", kind=a.kind,
                    from_site=site.id if site is not None else None, to_site=need.site,
                    label=view.available_band, co2e_t_per_yr=view.benefit.co2e_t_per_yr,
                )
            )  # fmt: skip
        # each surplus counted once: an allocation of the open alerts, not their sum
        demand = {
            n: need.max_quantity
            for n in {a.need for a in alerts}
            if (need := d.needs.get(n)) is not None and need.max_quantity is not None
        }
        shares = allocate(alerts, demand)
        potential = sum(
            v.benefit.co2e_t_per_yr * shares.get(a.alert_id, 0.0)
            for a, v in zip(alerts, views, strict=True)
        )
        with_benefits = _exchange_views(d, caller, now)
        exchanges = [x for x, _ in with_benefits]
        committed = totals(b for _, b in with_benefits)
        flows += [
            Flow(
                id=x.id, status="exchange", kind=x.kind, from_site=x.from_site,
                to_site=x.to_site, label=f"{x.quantity:g} {x.unit}",
                co2e_t_per_yr=x.co2e_t_per_yr,
            )
            for x in exchanges
        ]  # fmt: skip
        shown = {f.from_site for f in flows} | {f.to_site for f in flows}
        sites = [
            MapSite(
                id=s.id, name=s.name, lat=s.lat, lon=s.lon, own=caller.owns(s.company),
                company=s.company if caller.owns(s.company) or s.disclose_identity else None,
            )
            for s in sorted(d.sites.values(), key=lambda s: s.id)
            if caller.owns(s.company) or s.id in shown
        ]  # fmt: skip
    availability = [
        SiteAvailability(site=k.site, kind=k.kind, available=k.available, unit=k.unit,
                         streams=k.streams, stale=k.stale)
        for k in availability_by_kind(ledger, species)
    ]  # fmt: skip
    return Dashboard(
        generated_at=now,
        viewer=caller.view(),
        kpis=Kpis(
            co2e_avoided_t_per_yr=committed.co2e_t_per_yr,
            tonnes_diverted_per_yr=committed.diverted_t_per_yr,
            water_reused_m3_per_yr=committed.water_m3_per_yr,
            potential_co2e_t_per_yr=potential,
            open_alerts=len(views),
            active_exchanges=len(exchanges),
        ),
        sites=sites,
        availability=availability,
        flows=flows,
        alerts=views,
        exchanges=exchanges,
    )


def cached(svc: Services, caller: Principal) -> Dashboard:
    """:func:`build`, shared by every viewer of the same scope for ``DASHBOARD_POLL_S``."""
    key = caller.scope
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and now - hit[0] < DASHBOARD_POLL_S:
        return hit[1].model_copy(update={"viewer": caller.view()})
    board = build(svc, caller)
    with _cache_lock:
        _cache[key] = (now, board)
    return board


@router.get("/v1/dashboard", response_model=Dashboard)
def dashboard(caller: Caller, svc: Svc) -> Dashboard:
    """The dashboard's data: KPIs, map sites and flows, availability, alerts, exchanges."""
    return cached(svc, caller)


@router.get(
    "/v1/dashboard/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Dashboard events."}},
)
async def dashboard_events(request: Request, caller: Caller, svc: Svc) -> StreamingResponse:
    """Server-sent events: ``event: dashboard`` with a :class:`Dashboard` whenever it changes."""

    async def events() -> AsyncIterator[bytes]:
        last = b""
        quiet_since = time.monotonic()
        token = request.headers.get("authorization", "")[7:].strip()
        while not await request.is_disconnected():
            # a revoked token stops the stream (within the token cache's lifetime)
            if await run_in_threadpool(svc.tokens.verify, token) is None:
                return
            board = await run_in_threadpool(cached, svc, caller)
            body = board.model_dump_json(exclude={"generated_at"}).encode()
            if body != last:
                last = body
                quiet_since = time.monotonic()
                yield b"event: dashboard\ndata: " + board.model_dump_json().encode() + b"\n\n"
            elif time.monotonic() - quiet_since > HEARTBEAT_S:
                quiet_since = time.monotonic()
                yield b": still here\n\n"
            await asyncio.sleep(DASHBOARD_POLL_S)

    return StreamingResponse(
        events(), media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )  # fmt: skip
