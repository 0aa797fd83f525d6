"""Pure trust rules: exchange consent and terms, retired ids, webhook events, the SSRF guard."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest

from domain.directory import Directory
from domain.errors import ConfigurationError, UnitError
from domain.exchanges import InvalidTermsError, Parties, acceptance, check_terms, proposal
from domain.subscriptions import (
    ROTATION_GRACE,
    WebhookEvent,
    gone_state,
    key_of,
    secret_text,
    signing_key,
    webhook_event,
)
from domain.url_guard import RefusedAddressError, UrlGuard, address_refusal
from schemas.alerts import Alert, AlertEvent, Benefit
from schemas.registry import (
    ExchangeStatus,
    ExchangeTerms,
    Need,
    Site,
    Stream,
    Subscription,
    WebhookFormat,
)
from schemas.views import AlertCloudEvent, AlertView, AlertWebhook
from streams.ledger_state import LedgerBook

NOW = datetime(2026, 12, 3, tzinfo=UTC)
STEAM = Stream(id="ps-steam", kind="steam", unit="MW", nominal=40, temperature_c=250)
SUPPLIER = Site(id="ps", name="Power", company="utility", lat=55.0, lon=11.0, streams=[STEAM])
TAKER = Site(id="dh", name="District heating", company="town", lat=55.01, lon=11.0)
OTHER = Site(id="rival-site", name="Rival", company="rival", lat=55.02, lon=11.0)
HEAT = Need(
    id="town-heat", site="dh", kind="heat", unit="kW", min_quantity=1000, min_temperature_c=80,
    subscription=Subscription(webhook="https://town.example/hook"),  # type: ignore[arg-type]
)  # fmt: skip
PARTIES = Parties((SUPPLIER, STEAM), (TAKER, HEAT))


def terms(**over: object) -> ExchangeTerms:
    base: dict[str, object] = {
        "id": "x1", "stream": "ps-steam", "need": "town-heat", "quantity": 20, "unit": "MW",
    }  # fmt: skip
    return ExchangeTerms.model_validate({**base, **over})


def directory() -> Directory:
    d = Directory()
    for site in (SUPPLIER, TAKER, OTHER):
        d.put_site(site)
    d.put_need(HEAT)
    return d


# --- exchanges ------------------------------------------------------------------------------


def test_terms_within_nominal_in_convertible_units_hold() -> None:
    check_terms(terms(quantity=40_000, unit="kW"), PARTIES)  # 40 MW = nominal


@pytest.mark.parametrize(
    ("over", "field"),
    [({"quantity": 41}, "quantity"), ({"quantity": 1e9}, "quantity"), ({"unit": "km"}, "unit"),
     ({"unit": "m^3/h"}, "unit")],
)  # fmt: skip
def test_impossible_terms_name_their_field(over: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidTermsError) as info:
        check_terms(terms(**over), PARTIES)
    assert info.value.field == field


def test_a_company_does_not_exchange_with_itself() -> None:
    own = Site(id="dh", name="DH", company="utility", lat=55.0, lon=11.0)
    with pytest.raises(InvalidTermsError, match="itself"):
        check_terms(terms(), Parties((SUPPLIER, STEAM), (own, HEAT)))


def test_a_tenants_write_is_a_proposal_the_other_party_accepts() -> None:
    proposed = proposal(terms(), "town")
    assert (proposed.status, proposed.proposed_by, proposed.committed) == (
        ExchangeStatus.PROPOSED, "town", False,
    )  # fmt: skip
    with pytest.raises(InvalidTermsError):
        acceptance(proposed, "town", PARTIES)  # not by the proposer
    with pytest.raises(InvalidTermsError):
        acceptance(proposed, "rival", PARTIES)  # nor by a stranger
    accepted = acceptance(proposed, "utility", PARTIES)
    assert (accepted.committed, accepted.accepted_by) == (True, "utility")
    assert proposal(terms(), None).committed  # the operator commits directly


def test_only_an_accepted_exchange_takes_surplus_off_the_ledger() -> None:
    book = LedgerBook(60.0)
    book.update_site(SUPPLIER)
    book.set_exchange(proposal(terms(), "town"))
    assert book.committed("ps-steam", NOW) == 0
    book.set_exchange(acceptance(proposal(terms(), "town"), "utility", PARTIES))
    assert book.committed("ps-steam", NOW) == 20
    book.set_exchange(proposal(terms(quantity=10), "town"))  # changed terms: a proposal again
    assert book.committed("ps-steam", NOW) == 0


def test_an_exchange_whose_unit_does_not_convert_is_refused_at_registration() -> None:
    book = LedgerBook(60.0)
    book.update_site(SUPPLIER)
    with pytest.raises(UnitError):
        book.set_exchange(proposal(terms(unit="m^3/h"), None))
    assert book.committed("ps-steam", NOW) == 0


# --- retired ids ----------------------------------------------------------------------------


def test_a_withdrawn_need_id_cannot_be_taken_by_another_company() -> None:
    d = directory()
    d.remove_need("town-heat")
    assert d.owner_of_need("town-heat") == "town"
    with pytest.raises(ConfigurationError, match="already used"):
        d.put_need(HEAT.model_copy(update={"site": "rival-site"}))
    d.put_need(HEAT)  # its own company may register it again
    assert "town-heat" not in d.withdrawn


# --- webhook events -------------------------------------------------------------------------


def alert() -> Alert:
    return Alert(
        alert_id="a1", idempotency_key="a1:opened:1", event=AlertEvent.OPENED, stream="ps-steam",
        need="town-heat", kind="steam", available=37.3, unit="MW", quantity=37300.0,
        need_unit="kW", distance_km=1.11, benefit=Benefit(co2e_t_per_yr=71234.5), ts=NOW,
    )  # fmt: skip


def test_a_webhook_event_is_the_partners_redacted_view_signed_with_its_own_key() -> None:
    d = directory()
    event = webhook_event(alert(), d, b"master", NOW, disclosure_key=b"k")
    assert event is not None
    view = AlertView.model_validate_json(event.body)
    assert view.redacted
    assert (view.stream, view.available, view.distance_km, view.supplier_company) == (
        None, None, None, None,
    )  # fmt: skip
    assert b"ps-steam" not in event.body
    assert b"utility" not in event.body
    assert event.keys == (signing_key(b"master", "town", "town-heat", 1),)
    assert event.keys[0] != signing_key(b"master", "rival", "town-heat", 1)


def test_a_withdrawn_need_still_gets_its_resolved_event_redacted() -> None:
    d = directory()
    d.remove_need("town-heat")
    event = webhook_event(alert(), d, b"master", NOW, disclosure_key=b"k")
    assert event is not None
    assert AlertView.model_validate_json(event.body).redacted


def test_a_rotated_key_keeps_signing_during_its_grace_period() -> None:
    sub = Subscription(webhook="https://town.example/hook", secret_version=2, rotated_at=NOW)  # type: ignore[arg-type]
    d = directory()
    d.put_need(HEAT.model_copy(update={"subscription": sub}))
    during = webhook_event(alert(), d, b"master", NOW + timedelta(hours=1), disclosure_key=b"k")
    after = webhook_event(
        alert(), d, b"master", NOW + ROTATION_GRACE + timedelta(seconds=1), disclosure_key=b"k"
    )
    assert during is not None
    assert after is not None
    assert during.keys == (
        signing_key(b"master", "town", "town-heat", 2),
        signing_key(b"master", "town", "town-heat", 1),
    )
    assert after.keys == during.keys[:1]


def hooked(fmt: WebhookFormat | None, **sub: object) -> Directory:
    d = directory()
    subscription = Subscription.model_validate(
        {"webhook": "https://town.example/hook", "key_id": "0123456789abcdef", "format": fmt,
         **sub}
    )  # fmt: skip
    d.put_need(HEAT.model_copy(update={"subscription": subscription}))
    return d


def event_of(d: Directory, a: Alert | None = None) -> WebhookEvent:
    event = webhook_event(a or alert(), d, b"master", NOW, disclosure_key=b"k")
    assert event is not None
    return event


def test_a_standard_event_wraps_the_view_and_adds_nothing_to_it() -> None:
    event = event_of(hooked("standard"))
    body = AlertWebhook.model_validate_json(event.body)
    legacy = event_of(hooked(None))  # a subscription from before Standard Webhooks
    assert (event.format, legacy.format) == ("standard", "legacy")
    assert body.data == AlertView.model_validate_json(legacy.body)  # the same view
    assert body.type == "alert.opened"
    assert body.timestamp == NOW == body.data.ts
    assert event.body.startswith(b'{"type":"alert.opened","timestamp":"2026-12-03T00:00:00Z"')
    assert event.content_type == "application/json"
    for secret_fact in (b"ps-steam", b"utility", b'"a1"'):
        assert secret_fact not in event.body


def test_the_webhook_id_is_stable_per_event_and_discloses_nothing() -> None:
    d = hooked("standard")
    first, again = event_of(d), event_of(d)
    updated = event_of(d, alert().model_copy(
        update={"event": AlertEvent.UPDATED, "idempotency_key": "a1:updated:2"}))  # fmt: skip
    view = AlertView.model_validate_json(first.body.split(b'"data":', 1)[1][:-1])
    assert first.webhook_id == again.webhook_id == f"msg_{view.alert_id}_opened_1"
    assert updated.webhook_id == f"msg_{view.alert_id}_updated_2"
    assert "." not in first.webhook_id
    assert "a1" not in first.webhook_id.split("_")  # the pseudonym, never the real id
    other = webhook_event(alert(), d, b"master", NOW, disclosure_key=b"other-key")
    assert other is not None
    assert other.webhook_id != first.webhook_id


def test_a_cloudevents_subscription_gets_a_structured_cloudevent() -> None:
    event = event_of(hooked("cloudevents"))
    cloud = AlertCloudEvent.model_validate_json(event.body)
    assert event.content_type.startswith("application/cloudevents+json")
    assert (cloud.specversion, cloud.id, cloud.type, cloud.source) == (
        "1.0", event.webhook_id, "symbiosis.alert.opened", "/symbiosis/needs/town-heat",
    )  # fmt: skip
    assert cloud.subject == cloud.data.alert_id == event.alert_id
    assert cloud.time == NOW
    assert cloud.data.redacted


def test_a_gone_subscription_gets_nothing_until_it_changes() -> None:
    d = hooked("standard")
    event = event_of(d)
    d.put_webhook_state(gone_state(event, 410, NOW))
    assert webhook_event(alert(), d, b"master", NOW, disclosure_key=b"k") is None
    shown = d.with_webhook_state(d.needs["town-heat"])
    assert shown.subscription is not None
    assert shown.subscription.disabled is not None
    assert (shown.subscription.disabled.reason, shown.subscription.disabled.status) == (
        "gone", 410,
    )  # fmt: skip
    # rotated (or re-pointed): another subscription, sending again before the state is withdrawn
    rotated = hooked("standard", secret_version=2, rotated_at=NOW)
    rotated.put_webhook_state(gone_state(event, 410, NOW))
    assert webhook_event(alert(), rotated, b"master", NOW, disclosure_key=b"k") is not None
    assert rotated.with_webhook_state(rotated.needs["town-heat"]).subscription.disabled is None  # type: ignore[union-attr]
    # withdrawn (the API's tombstone when the need is registered again): sending again
    d.remove_webhook_state("town-heat")
    assert webhook_event(alert(), d, b"master", NOW, disclosure_key=b"k") is not None


def test_secret_text_round_trips_and_an_empty_master_is_refused() -> None:
    key = signing_key(b"master", "town", "town-heat", 1)
    assert key_of(secret_text(key)) == key
    with pytest.raises(ConfigurationError):
        signing_key(b"", "town", "town-heat", 1)
    with pytest.raises(ConfigurationError):
        key_of("not-a-secret")


# --- SSRF guard -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
     "0.0.0.0", "224.0.0.1", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "2002:7f00:1::1",
     "192.0.2.1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::a00:1", "::7f00:1", "fec0::1", "2001::1"],
)  # fmt: skip
def test_non_public_addresses_are_refused(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is not None
    with pytest.raises(RefusedAddressError):
        UrlGuard().check_address(address)


def test_public_addresses_pass_and_the_local_stack_may_allow_private_ones() -> None:
    for address in ("93.184.215.14", "2606:4700::1111"):
        UrlGuard().check_address(address)
    UrlGuard(allow_private=True).check_address("127.0.0.1")


def test_registration_resolves_the_host_and_checks_every_address() -> None:
    guard = UrlGuard()
    guard.check_resolved("https://ok.example/h", lambda host, port: ["93.184.215.14"])
    with pytest.raises(RefusedAddressError, match="public addresses only"):
        guard.check_resolved(
            "https://rebind.example/h", lambda host, port: ["93.184.215.14", "169.254.169.254"]
        )

    def nowhere(host: str, port: int) -> list[str]:
        raise OSError("NXDOMAIN")

    with pytest.raises(RefusedAddressError, match="public addresses only"):  # the same answer
        guard.check_resolved("https://nowhere.example/h", nowhere)
    with pytest.raises(RefusedAddressError, match="https"):
        guard.check_url("http://ok.example/h")
    UrlGuard(require_https=False).check_url("http://ok.example/h")


def test_a_gas_bridged_only_by_a_density_converts_in_exchanges_and_the_ledger() -> None:
    gas = Stream(id="off-gas", kind="gas", unit="t/h", nominal=10, density_kg_per_m3=0.8)
    supplier = Site(id="ps", name="P", company="utility", lat=55.0, lon=11.0, streams=[gas])
    need = Need(id="fuel", site="dh", kind="gas", unit="m^3/h", min_quantity=100)
    terms_in_volume = terms(stream="off-gas", need="fuel", quantity=5000, unit="m^3/h")  # 4 t/h
    check_terms(terms_in_volume, Parties((supplier, gas), (TAKER, need)))
    book = LedgerBook(60.0)
    book.update_site(supplier)
    book.set_exchange(proposal(terms_in_volume, None))
    assert book.committed("off-gas", NOW) == pytest.approx(4.0)
