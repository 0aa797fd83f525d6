"""Registry writes: sites and their streams, needs (with subscription), exchanges.

Each write is checked against the registry (ownership, references, id collisions), published
to its compacted topic, and answered only after Kafka acknowledged it; the stream workers pick
it up from the topic. A tenant writes only for its own company; the operator for any.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Final

import psycopg
import structlog
from fastapi import APIRouter, Body, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ValidationError

from domain.directory import Directory
from domain.errors import ConfigurationError, InvalidInputError, TransientError
from domain.exchanges import (
    InvalidTermsError,
    Parties,
    acceptance,
    check_receiver_side,
    check_supplier_side,
    check_terms,
    proposal,
)
from domain.site_records import split_site
from domain.subscriptions import secret_text, signing_keys
from domain.url_guard import NAME_REFUSED, RefusedAddressError
from ingest.api.auth import Caller, Svc, take_registry_write
from ingest.api.errors import (
    COMMON_RESPONSES,
    RETRY_UNAVAILABLE_S,
    ApiError,
    bad_field,
    responses,
    validation_errors,
)
from ingest.api.services import Services
from ingest.api.submitting import kafka_unavailable
from schemas.registry import Exchange, ExchangeTerms, Need, Site, Stream
from schemas.views import FieldError, WebhookSecret
from topics.catalogue import topic_of

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/v1", tags=["registry"], responses=COMMON_RESPONSES)

_RESPONSES: Final = responses(
    s403="Not the caller's company.",
    s404="No such record among the caller's (absent and others' look the same).",
    s409="The id is, or was, another tenant's; or a proposal awaits the other party.",
    s422="Invalid record; every bad field is named.",
)


def _same_id(path_id: str, body_id: str) -> None:
    if path_id != body_id:
        raise bad_field("id", f"{body_id!r} differs from the path's {path_id!r}")


def _publish(
    svc: Services, decide: Callable[[], BaseModel | None], topic: str, key: str
) -> BaseModel | None:
    """Check, publish, wait for the acknowledgement, apply locally (read your writes).

    ``decide`` checks the write against the registry and returns the record to publish
    (``None``: a tombstone). The record is validated again as it is serialised before it is
    sent, so nothing reaches the compacted topic that a follower would refuse.

    One write at a time per process: two tenants racing for the same new id cannot both pass
    the check (several API replicas still can; see the note on registry writes in
    docs/user-guide.md).

    Raises:
        ApiError: 422 if the record does not survive its own serialisation.
    """
    with svc.registry_writes:
        record = decide()
        value = record.model_dump_json().encode() if record is not None else None
        if record is not None and value is not None:
            try:
                type(record).model_validate_json(value)
            except ValidationError as e:
                raise ApiError(422, "the record is not valid as stored",
                               validation_errors(e.errors(), type(record))) from e  # fmt: skip
        future = svc.publisher.send(topic, key, value)
        svc.publisher.wait([future], svc.settings.api_ack_timeout_s)
        svc.registry.apply(topic, key, value)
        return record


def _checked(check: Callable[[], None], record: BaseModel | None) -> Callable[[], BaseModel | None]:
    """A ``decide`` for :func:`_publish` whose record is known before the check."""

    def decide() -> BaseModel | None:
        check()
        return record

    return decide


def _take_write(svc: Services, caller: Caller) -> None:
    """Count one registry write against the company's rate (see :func:`take_registry_write`).

    Raises:
        ApiError: 429 with ``Retry-After`` when the company is over its rate.
    """
    take_registry_write(svc, caller)


async def _publish_async(
    svc: Services,
    caller: Caller,
    decide: Callable[[], BaseModel | None],
    topic: str,
    key: str,
    *,
    counted: bool = False,
) -> BaseModel | None:
    """:func:`_publish` in the thread pool.

    Counts one write against the company's rate, unless the route did already (``counted``).
    """
    if not counted:
        _take_write(svc, caller)
    try:
        return await run_in_threadpool(_publish, svc, decide, topic, key)
    except TransientError as e:
        raise kafka_unavailable(e) from e
    except InvalidInputError as e:  # changed under us between check and apply
        raise ApiError(409, str(e)) from e


def _too_large(site: Site, e: ConfigurationError) -> str:
    """The field of a site that made :func:`split_site` refuse it.

    The stream its message names, or ``streams``: too many of them for the site's header.
    """
    for i, st in enumerate(site.streams):
        if str(e).startswith(f"stream {st.id!r} "):
            return f"streams[{i}]"
    return "streams"


def _publish_site(svc: Services, check: Callable[[], None], site: Site) -> None:
    """:func:`_publish` for a site: check, publish its records, wait, apply locally.

    A site travels as one record per stream plus a header
    (:func:`~domain.site_records.split_site`), so no record grows with its streams and meters.
    All are acknowledged before the answer; the streams the registered version has and
    ``site`` drops are withdrawn (tombstones) once the rest is acknowledged (see
    :class:`~domain.site_records.SiteRecords`). Followers apply the site once, when they
    hold all of its records.

    Raises:
        ApiError: 422 if a record would be too large, or would not survive its serialisation.
        UnavailableError: Kafka did not acknowledge every record (the answer is 503: retry).
    """
    with svc.registry_writes:
        check()
        with svc.registry.locked() as d:
            previous = d.sites.get(site.id)
        try:
            records = split_site(site, previous)
        except ConfigurationError as e:
            raise ApiError(
                422, str(e), [FieldError(field=_too_large(site, e), reason=str(e))]
            ) from e
        topics = svc.settings.topics
        for step in (records.records, records.removals):
            if step:
                futures = [svc.publisher.send(topic_of(topics, r.kind), r.key, r.value)
                           for r in step]  # fmt: skip
                svc.publisher.wait(futures, svc.settings.api_ack_timeout_s)
        for r in records.all:
            svc.registry.apply(topic_of(topics, r.kind), r.key, r.value)


async def _publish_site_async(svc: Services, caller: Caller, site: Site) -> None:
    """:func:`_publish_site` in the thread pool, counted against the company's write rate."""
    _take_write(svc, caller)
    check = partial(_check_site, svc, caller, site)
    try:
        await run_in_threadpool(_publish_site, svc, check, site)
    except TransientError as e:
        raise kafka_unavailable(e) from e
    except InvalidInputError as e:  # changed under us between check and apply
        raise ApiError(409, str(e)) from e


def _quota(what: str, used: int, limit: int) -> None:
    """Refuse a write that would take a company past one of its quotas (409)."""
    if used >= limit:
        raise ApiError(
            409, f"quota: the company has {used} {what}, the most allowed", code="quota_exceeded"
        )


def _check_site(svc: Services, caller: Caller, site: Site) -> None:
    if not caller.owns(site.company):
        raise ApiError(403, f"company: {site.company!r} is not the caller's company")
    with svc.registry.locked() as d:
        old = d.sites.get(site.id)
        if old is not None and not caller.owns(old.company):
            raise ApiError(409, f"id: site id {site.id!r} is already used")
        if old is None and not caller.is_operator:
            used = sum(1 for s in d.sites.values() if s.company == site.company)
            _quota("sites", used, svc.settings.api_max_sites_per_company)
        try:
            d.check_site(site)
        except ConfigurationError as e:
            raise ApiError(409, str(e)) from e
        retired = d.retirements_of(site)
    _retire_first(svc, retired)


def _retire_first(svc: Services, items: list[tuple[str, str, str]]) -> None:
    """Store retirements before publishing the write that causes them (503 if impossible).

    So no restart, however soon, and no compaction of the registry topics can forget them.
    """
    try:
        svc.store_retirements(items)
    except psycopg.Error as e:
        log.warning("api.database_unavailable", error=str(e)[:1000], error_type=type(e).__name__)
        raise ApiError(
            503, f"not accepted: the database is unavailable; retry after {RETRY_UNAVAILABLE_S} s"
        ) from e


@router.put("/sites/{site_id}", response_model=Site, responses=_RESPONSES)
async def put_site(site_id: str, site: Site, caller: Caller, svc: Svc) -> Site:
    """Register or replace a site with its streams (and historian tag map)."""
    _same_id(site_id, site.id)
    await _publish_site_async(svc, caller, site)
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
            422, "the site with this stream is not valid", validation_errors(e.errors(), Site)
        ) from e
    await _publish_site_async(svc, caller, site)
    return site


def _check_need(svc: Services, caller: Caller, need: Need) -> None:
    with svc.registry.locked() as d:
        site = d.sites.get(need.site)
        if site is None or not caller.owns(site.company):  # one answer: others' ids stay unknown
            raise bad_field("site", f"{need.site!r} is not one of the caller's sites")
        try:
            d.check_need(need)
        except ConfigurationError as e:  # the id is, or was, another company's need
            raise ApiError(409, str(e)) from e
        if caller.is_operator:
            return
        old = d.needs.get(need.id)
        mine = [d.needs[n] for n in d.needs_of(site.company) if n != need.id]
        if old is None:
            _quota("needs", len(mine), svc.settings.api_max_needs_per_company)
        hooked = sum(1 for n in mine if n.subscription is not None and n.subscription.webhook)
        if need.subscription is not None and need.subscription.webhook is not None:
            _quota("webhook subscriptions", hooked, svc.settings.api_max_webhooks_per_company)


def _with_server_fields(d: Directory, need: Need) -> Need:
    """``need`` with its subscription's key fields set by the server, whatever the body says.

    An existing subscription keeps its key id, version and rotation time; a new one (no
    registered need with a subscription under this id) gets a fresh random key id. A format
    left out is kept from the existing subscription (unset there: one registered before
    Standard Webhooks, still ``legacy``), and is ``standard`` for a new one. ``disabled`` is
    never taken from a body. Called under the write lock, so a rotation cannot be undone by a
    racing write.
    """
    if need.subscription is None:
        return need
    old = d.needs.get(need.id)
    old_sub = old.subscription if old is not None else None
    kept: dict[str, object] = {
        "key_id": secrets.token_hex(16), "secret_version": 1, "rotated_at": None,
        "format": need.subscription.format or "standard", "disabled": None,
    }  # fmt: skip
    if old_sub is not None and old_sub.key_id is not None:
        kept = {"key_id": old_sub.key_id, "secret_version": old_sub.secret_version,
                "rotated_at": old_sub.rotated_at, "disabled": None,
                "format": need.subscription.format or old_sub.format}  # fmt: skip
    return need.model_copy(update={"subscription": need.subscription.model_copy(update=kept)})


async def _enable_webhook(svc: Services, caller: Caller, need_id: str) -> None:
    """Withdraw the need's webhook state, if a 410 Gone disabled its subscription.

    Registering the need again or rotating its secret enables the subscription again. The
    state names the subscription it disabled, so one that changed is sending already; the
    tombstone also re-enables one registered again unchanged.
    """
    with svc.registry.locked() as d:
        if need_id not in d.webhook_states:
            return
    topic = svc.settings.topics.webhook_states
    await _publish_async(svc, caller, _checked(lambda: None, None), topic, need_id, counted=True)


WEBHOOK_RESOLVE_TIMEOUT_S: Final = 5.0


async def _check_webhook(svc: Services, caller: Caller, need: Need) -> None:
    """The SSRF guard at registration: the URL and every address its host resolves to.

    Runs after the rate limit and the ownership check (a stranger's write never makes us
    resolve anything), with a time limit; slow and refused names get the same answer.
    """
    webhook = need.subscription.webhook if need.subscription is not None else None
    if webhook is None:
        return
    with svc.registry.locked() as d:
        site = d.sites.get(need.site)
    if site is None or not caller.owns(site.company):
        raise bad_field("site", f"{need.site!r} is not one of the caller's sites")
    field = "subscription.webhook"
    try:
        await asyncio.wait_for(
            run_in_threadpool(svc.url_guard.check_resolved, str(webhook), svc.resolve_host),
            timeout=WEBHOOK_RESOLVE_TIMEOUT_S,
        )
    except TimeoutError as e:
        reason = NAME_REFUSED.removeprefix("webhook: ")
        raise ApiError(422, f"{field}: {reason}", [FieldError(field=field, reason=reason)]) from e
    except RefusedAddressError as e:
        reason = str(e).removeprefix("webhook: ")
        raise ApiError(422, f"{field}: {reason}", [FieldError(field=field, reason=reason)]) from e


@router.put("/needs/{need_id}", response_model=Need, responses=_RESPONSES)
async def put_need(need_id: str, need: Need, caller: Caller, svc: Svc) -> Need:
    """Register or replace a need; its subscription says where alerts are delivered.

    A webhook must be an https URL whose host resolves to public addresses only. Events are
    Standard Webhooks signed with the subscription's own secret: read it with
    ``GET /v1/needs/{id}/webhook-secret``. ``subscription.format`` chooses the body
    (``standard``, ``cloudevents``, or the deprecated ``legacy``). Registering a need again
    enables a subscription that its webhook's 410 Gone disabled.
    """
    _same_id(need_id, need.id)
    _take_write(svc, caller)
    await _check_webhook(svc, caller, need)

    def decide() -> Need:
        _check_need(svc, caller, need)
        with svc.registry.locked() as d:
            return _with_server_fields(d, need)

    topic = svc.settings.topics.needs
    record = await _publish_async(svc, caller, decide, topic, need.id, counted=True)
    assert isinstance(record, Need)
    await _enable_webhook(svc, caller, need.id)
    return record


def _own_need(svc: Services, caller: Caller, need_id: str) -> tuple[Need, str]:
    """The caller's need with its company.

    Raises:
        ApiError: 404 alike for an absent need and another company's.
    """
    with svc.registry.locked() as d:
        need = d.needs.get(need_id)
        company = d.company_of_need(need_id)
    if need is None or company is None or not caller.owns(company):
        raise ApiError(404, f"need {need_id!r} is not one of the caller's needs")
    return need, company


def _secret_of(svc: Services, need: Need, company: str) -> WebhookSecret:
    master = svc.settings.webhook_secret.get_secret_value().encode()
    if not master:
        raise ApiError(503, "webhooks are not configured here (no SYMBIOSIS_WEBHOOK_SECRET)")
    keys = signing_keys(master, company, need, datetime.now(UTC))
    sub = need.subscription
    return WebhookSecret(
        need=need.id,
        version=sub.secret_version if sub is not None else 1,
        secret=secret_text(keys[0]),
        previous=secret_text(keys[1]) if len(keys) > 1 else None,
    )


@router.get("/needs/{need_id}/webhook-secret", response_model=WebhookSecret, responses=_RESPONSES)
def get_webhook_secret(need_id: str, caller: Caller, svc: Svc) -> WebhookSecret:
    """The secret this need's webhook events are signed with (only its company sees it)."""
    need, company = _own_need(svc, caller, need_id)
    return _secret_of(svc, need, company)


@router.post("/needs/{need_id}/webhook-secret", response_model=WebhookSecret, responses=_RESPONSES)
async def rotate_webhook_secret(need_id: str, caller: Caller, svc: Svc) -> WebhookSecret:
    """Rotate the secret; the new one signs at once.

    For 24 hours the previous one signs too (two ``v1`` signatures), so the subscriber can
    switch without a gap. Rotating enables a subscription that a 410 Gone disabled.
    """
    rotated: list[tuple[Need, str]] = []

    def decide() -> Need:
        need, company = _own_need(svc, caller, need_id)
        sub = need.subscription
        if sub is None or sub.webhook is None:
            raise ApiError(409, f"need {need_id!r} has no webhook subscription to rotate")
        new = sub.model_copy(
            update={"secret_version": sub.secret_version + 1, "rotated_at": datetime.now(UTC)}
        )
        record = need.model_copy(update={"subscription": new})
        rotated.append((record, company))
        return record

    await _publish_async(svc, caller, decide, svc.settings.topics.needs, need_id)
    await _enable_webhook(svc, caller, need_id)
    return _secret_of(svc, *rotated[-1])


@router.delete("/needs/{need_id}", status_code=204, responses=_RESPONSES)
async def delete_need(need_id: str, caller: Caller, svc: Svc) -> Response:
    """Withdraw a need; its open alerts resolve."""

    def check() -> None:
        with svc.registry.locked() as d:
            company = d.company_of_need(need_id)
            if need_id not in d.needs or company is None or not caller.owns(company):
                raise ApiError(404, f"need {need_id!r} is not one of the caller's needs")
        _retire_first(svc, [("need", need_id, company)])

    await _publish_async(svc, caller, _checked(check, None), svc.settings.topics.needs, need_id)
    return Response(status_code=204)


def _parties(d: Directory, stream_id: str, need_id: str) -> Parties | None:
    """The two sides of an exchange between these ids, or ``None`` if either is unknown."""
    supplier = d.stream(stream_id)
    need = d.needs.get(need_id)
    site = d.sites.get(need.site) if need is not None else None
    if supplier is None or need is None or site is None:
        return None
    return Parties(supplier, (site, need))


def _exchange_of_caller(d: Directory, caller: Caller, exchange_id: str) -> tuple[Exchange, Parties]:
    """The exchange and its parties, if the caller is one of them.

    Raises:
        ApiError: 404 alike for an unknown exchange and another companies' one.
    """
    x = d.exchanges.get(exchange_id)
    parties = _parties(d, x.stream, x.need) if x is not None else None
    if (
        x is None
        or parties is None
        or not (caller.owns(parties.supplier_company) or caller.owns(parties.receiver_company))
    ):
        raise ApiError(404, f"exchange {exchange_id!r} is not one of the caller's exchanges")
    return x, parties


def _invalid(e: InvalidTermsError) -> ApiError:
    return ApiError(422, str(e), [FieldError(field=e.field, reason=e.reason)])


def _check_exchange(svc: Services, caller: Caller, x: Exchange) -> None:
    """Check a proposal (or an operator's exchange) against what the caller may know.

    The caller must give the stream or have the need. The other side must be one the caller
    may name: for a receiver, a stream whose site discloses its identity (an undisclosed
    supplier proposes itself, to the need it sees in its alerts); for a supplier, a
    registered need. Unknown and not-nameable ids get the same answer, and only the caller's
    own side is checked here (the other side's unit, kind and rate are checked when that
    party accepts), so a proposal learns nothing of another company's records.
    """
    with svc.registry.locked() as d:
        parties = _parties(d, x.stream, x.need)
        own_stream = parties is not None and caller.owns(parties.supplier_company)
        own_need = parties is not None and caller.owns(parties.receiver_company)
        found_stream, need = d.stream(x.stream), d.needs.get(x.need)
        if found_stream is not None and caller.owns(found_stream[0].company) and not own_need:
            if parties is None:  # the supplier names a need that is not registered
                raise bad_field("need", f"{x.need!r} is not a registered need")
        elif need is not None and caller.owns(d.company_of_need(need.id)) and not own_stream:
            nameable = parties is not None and (
                caller.is_operator or parties.supplier[0].disclose_identity
            )
            if not nameable:
                raise bad_field(
                    "stream", f"{x.stream!r} is not a stream open to the caller's proposals"
                )
        elif not (own_stream or own_need):
            raise bad_field(
                ("stream", "need"), "the caller neither gives the stream nor has the need"
            )
        assert parties is not None
        old = d.exchanges.get(x.id)
        old_parties = _parties(d, old.stream, old.need) if old is not None else None
        if old is not None and (
            old_parties is None
            or not (
                caller.owns(old_parties.supplier_company)
                or caller.owns(old_parties.receiver_company)
            )
        ):
            raise ApiError(409, f"id: exchange id {x.id!r} is already used")
        try:
            if parties.supplier_company == parties.receiver_company:
                raise InvalidTermsError("need", "a company does not exchange with itself")
            if caller.is_operator:
                check_terms(x, parties)
            elif own_stream:
                check_supplier_side(x, parties.supplier[1])
            else:
                check_receiver_side(x, parties.receiver[1])
        except InvalidTermsError as e:
            raise _invalid(e) from e


@router.put("/exchanges/{exchange_id}", response_model=Exchange, responses=_RESPONSES)
async def put_exchange(
    exchange_id: str, terms: ExchangeTerms, caller: Caller, svc: Svc
) -> Exchange:
    """Propose (or change) an exchange; it counts once the other party accepts it.

    A company's write is a proposal (``status: proposed``): the other party accepts it with
    ``POST /v1/exchanges/{id}/accept``. Changing the terms of an exchange makes it a proposal
    again; putting the same terms again changes nothing. The operator's write is active at once.
    """
    _same_id(exchange_id, terms.id)
    with svc.registry.locked() as d:
        old = d.exchanges.get(terms.id)
    if old is not None and old.terms() == terms:
        with svc.registry.locked() as d:
            try:
                _exchange_of_caller(d, caller, terms.id)
            except ApiError:
                pass  # not the caller's: the write below answers 409 like any taken id
            else:
                return old
    record = proposal(terms, caller.company if not caller.is_operator else None)
    check = partial(_check_exchange, svc, caller, record)
    await _publish_async(
        svc, caller, _checked(check, record), svc.settings.topics.exchanges, record.id
    )
    return record


@router.post("/exchanges/{exchange_id}/accept", response_model=Exchange, responses=_RESPONSES)
async def accept_exchange(
    exchange_id: str,
    caller: Caller,
    svc: Svc,
    expected: Annotated[
        ExchangeTerms | None,
        Body(description="The terms the acceptor saw; 409 if the proposal changed since."),
    ] = None,
) -> Exchange:
    """Accept the other party's proposal: from now on the exchange takes surplus off the ledger.

    Send the terms you saw as the body: if the proposer changed them meanwhile, the answer is
    409 and nothing is accepted. Answers 409 to the proposing party (the other one must
    accept); accepting an active exchange again changes nothing.
    """

    def decide() -> Exchange:
        with svc.registry.locked() as d:
            x, parties = _exchange_of_caller(d, caller, exchange_id)
            if expected is not None and expected != x.terms():
                raise ApiError(409, "the terms changed since: read them again, then accept")
            try:
                record = x if x.committed else acceptance(x, caller.scope, parties)
                check_terms(x, parties)  # after the who-check: only the acceptor learns why
            except InvalidTermsError as e:
                raise (ApiError(409, str(e)) if e.field == "id" else _invalid(e)) from e
            return record

    topic = svc.settings.topics.exchanges
    record = await _publish_async(svc, caller, decide, topic, exchange_id)
    assert isinstance(record, Exchange)
    return record


@router.delete("/exchanges/{exchange_id}", status_code=204, responses=_RESPONSES)
async def delete_exchange(exchange_id: str, caller: Caller, svc: Svc) -> Response:
    """End an exchange, or withdraw or decline a proposal (either party)."""

    def check() -> None:
        with svc.registry.locked() as d:
            _exchange_of_caller(d, caller, exchange_id)

    await _publish_async(
        svc, caller, _checked(check, None), svc.settings.topics.exchanges, exchange_id
    )
    return Response(status_code=204)
