from datetime import UTC, datetime

import orjson

from domain.matching import Matcher
from runtime.settings import Topics
from schemas.registry import Exchange, Need, Site, Stream
from streams.ledger_state import LedgerBook
from streams.registry import RegistryView

T = Topics()
SITE = Site(
    id="plant", name="Plant", company="a", lat=55.0, lon=11.0,
    streams=[Stream(id="heat", kind="heat", unit="MW", nominal=10, temperature_c=90)],
)  # fmt: skip
FARM = Site(id="farm", name="Farm", company="b", lat=55.01, lon=11.0)


def need(need_id: str, unit: str = "MW") -> Need:
    return Need(
        id=need_id, site="farm", kind="heat", unit=unit, min_quantity=1, min_temperature_c=60
    )


def view() -> RegistryView:
    return RegistryView(T, Matcher(), LedgerBook(10))


def send(v: RegistryView, topic: str, key: str, model: object | None) -> list:
    value = model.model_dump_json().encode() if model is not None else None  # type: ignore[attr-defined]
    return v.apply(topic, key.encode(), value)


def test_records_apply_in_any_order() -> None:
    v = view()
    assert (
        send(
            v, T.exchanges, "x1", Exchange(id="x1", stream="heat", need="n1", quantity=2, unit="MW")
        )
        == []
    )
    assert send(v, T.needs, "n1", need("n1")) == []
    assert v.pending_needs  # waiting for the sites
    assert v.pending_exchanges
    assert send(v, T.sites, "farm", FARM) == []
    assert send(v, T.sites, "plant", SITE) == []
    assert not v.pending_needs
    assert not v.pending_exchanges
    assert v.matcher.need("n1").id == "n1"
    assert v.book.committed("heat", datetime.now(UTC)) == 2


def test_a_bad_need_is_refused_under_its_own_id_and_does_not_block_others() -> None:
    v = view()
    send(v, T.needs, "bad", need("bad", unit="t/h"))  # a heat need in a mass flow
    send(v, T.needs, "good", need("good"))
    refused = send(v, T.sites, "farm", FARM)
    assert [r.item_id for r in refused] == ["bad"]
    assert "t/h" in refused[0].reason
    assert v.matcher.need("good").id == "good"


def test_tombstone_withdraws_a_need_and_invalid_json_is_refused() -> None:
    v = view()
    send(v, T.sites, "farm", FARM)
    send(v, T.needs, "n1", need("n1"))
    assert send(v, T.needs, "n1", None) == []
    assert len(v.matcher) == 0
    [refused] = v.apply(T.needs, b"n2", b"{not json")
    assert refused.item_id == "n2"


def test_webhook_states_are_read_and_ignored_by_the_worker() -> None:
    from schemas.registry import SubscriptionDisabled, WebhookState

    v = view()
    send(v, T.sites, "farm", FARM)
    send(v, T.needs, "n1", need("n1"))
    state = WebhookState(
        need="n1", secret_version=1, webhook="https://farm.example/hook",  # type: ignore[arg-type]
        disabled=SubscriptionDisabled(reason="gone", status=410, at=datetime.now(UTC)),
    )  # fmt: skip
    assert send(v, T.webhook_states, "n1", state) == []
    assert send(v, T.webhook_states, "n1", None) == []  # a tombstone withdraws nothing else
    assert v.matcher.need("n1").id == "n1"


def test_a_pending_item_waits_for_what_its_latest_version_names() -> None:
    v = view()
    other = need("n1").model_copy(update={"site": "elsewhere"})
    send(v, T.needs, "n1", other)  # waits for site "elsewhere"
    send(v, T.needs, "n1", need("n1"))  # replaced: now waits for "farm"
    x = Exchange(id="x1", stream="heat", need="n1", quantity=2, unit="MW")
    send(v, T.exchanges, "x1", x)  # waits for its need and its stream
    send(v, T.sites, "farm", FARM)
    assert v.matcher.need("n1").site == "farm"
    assert not v.pending_needs
    assert list(v.pending_exchanges) == ["x1"]  # its stream is still unknown
    send(v, T.exchanges, "x1", None)  # withdrawn while pending
    assert send(v, T.sites, "plant", SITE) == []
    assert not v.pending_exchanges
    assert v.book.committed("heat", datetime.now(UTC)) == 0


def test_many_pending_needs_settle_when_their_sites_arrive_in_any_order() -> None:
    v = view()
    sites = [Site(id=f"s{i}", name="S", company=f"c{i}", lat=55.0, lon=11.0) for i in range(50)]
    for i in range(200):
        send(v, T.needs, f"n{i}", need(f"n{i}").model_copy(update={"site": f"s{i % 50}"}))
    for site in reversed(sites):
        assert send(v, T.sites, site.id, site) == []
        assert all(n.site != site.id for n in v.pending_needs.values())
    assert not v.pending_needs
    assert len(v.matcher) == 200


def test_a_malformed_registry_record_is_refused_in_plain_words() -> None:
    v = view()
    site = v.apply(T.sites, b"plant", b'{"id": "Plant 1", "company": "a", "colour": "red"}')
    assert [r.item_id for r in site] == ["plant"]
    # the site topic's union tag is not a field: located under the record's own fields
    assert site[0].reason.startswith("id: must be lowercase letters and digits")
    assert "colour: unknown field; expected one of: id, name, company" in site[0].reason
    needed = v.apply(T.needs, b"n1", b'{"id": "n1", "site": "farm"}')
    assert needed[0].reason.startswith("kind: required; ")
    assert "\n" not in site[0].reason + needed[0].reason


def test_a_record_the_view_fails_on_is_refused_and_the_worker_goes_on(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """An unforeseen error (a bug, an input nobody designed) must not stop the worker: the
    record sits on a compacted topic, so raising would stop every restart too."""
    v = view()
    real = v.matcher.update_site

    def update_site(site: Site) -> None:
        if site.id == "plant":
            raise OverflowError("(1 m)**400 too large")
        real(site)

    monkeypatch.setattr(v.matcher, "update_site", update_site)
    [refused] = send(v, T.sites, "plant", SITE)
    assert refused.item_id == "plant"
    assert refused.reason == "internal error: OverflowError('(1 m)**400 too large')"
    assert send(v, T.sites, "farm", FARM) == []
    assert send(v, T.needs, "n1", need("n1")) == []
    assert v.matcher.need("n1").id == "n1"


def test_a_unit_too_large_for_pint_is_refused_by_the_record_schema() -> None:
    v = view()
    bad = SITE.model_dump()
    bad["streams"][0]["unit"] = "(Ym)**13/m**10/h"  # pint overflows converting it
    [refused] = v.apply(T.sites, b"plant", orjson.dumps(bad))
    assert "too large a multiple of its SI base units" in refused.reason


def test_an_exchange_the_view_fails_on_is_refused_under_its_own_id(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    v = view()
    send(v, T.sites, "farm", FARM)
    send(v, T.sites, "plant", SITE)
    send(v, T.needs, "n1", need("n1"))

    def set_exchange(x: Exchange) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(v.book, "set_exchange", set_exchange)
    x = Exchange(id="x1", stream="heat", need="n1", quantity=2, unit="MW")
    [refused] = send(v, T.exchanges, "x1", x)
    assert (refused.item_id, refused.reason) == ("x1", "internal error: RuntimeError('a bug')")
    assert "x1" not in v.matcher._exchanges  # nothing half-applied
    assert v.book.committed("heat", datetime.now(UTC)) == 0


def test_a_need_replacement_refused_leaves_the_need_as_it_was() -> None:
    v = view()
    send(v, T.sites, "farm", FARM)
    send(v, T.sites, "plant", SITE)
    send(v, T.needs, "n1", need("n1"))
    x = Exchange(id="x1", stream="heat", need="n1", quantity=2, unit="MW")
    assert send(v, T.exchanges, "x1", x) == []
    steam = Need(id="n1", site="farm", kind="steam", unit="t/h", min_quantity=1,
                 min_temperature_c=60)  # fmt: skip
    [refused] = send(v, T.needs, "n1", steam)  # the exchange in MW cannot be in t/h
    assert refused.item_id == "n1"
    assert (v.matcher.need("n1").kind, v.matcher.need("n1").unit) == ("heat", "MW")
    assert v.book.committed("heat", datetime.now(UTC)) == 2


def test_a_new_need_that_fails_midway_leaves_nothing(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    v = view()
    send(v, T.sites, "farm", FARM)
    send(v, T.sites, "plant", SITE)

    def add(*args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(v.matcher._index, "add", add)
    [refused] = send(v, T.needs, "n1", need("n1"))
    assert refused.item_id == "n1"
    assert "n1" not in v.matcher._needs
