"""Pure rules behind ingest and access: the registry directory, the intake checks, the
disclosure of alerts, the KPIs. No services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.directory import Directory
from domain.disclosure import alert_view, band, distance_band, quantity_band
from domain.errors import ConfigurationError, UnknownReferenceError
from domain.intake import OMF_FIELDS, UNMAPPED, check_readings, omf_rows
from domain.kpis import active, availability_by_kind, exchange_benefit, totals
from schemas.alerts import Alert, Benefit
from schemas.ledger import LedgerEntry
from schemas.registry import Exchange, Need, Site, Stream

KEY = b"disclosure-key-for-tests"
NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
GAS = Stream(id="gas", kind="gas", unit="m^3/h", nominal=3000, gas_species="ch4",
             purity_pct=55, meters=["gas-m1", "gas-m2"])  # fmt: skip
A = Site(id="plant-a", name="A", company="a", lat=55.0, lon=11.0, streams=[GAS],
         tag_map={"A.GAS.1": "gas-m1"})  # fmt: skip
HEAT_B = Stream(id="heat-b", kind="heat", unit="MW", nominal=5, temperature_c=90)
B = Site(id="plant-b", name="B", company="b", lat=55.01, lon=11.0, streams=[HEAT_B])
NEED = Need(id="b-gas", site="plant-b", kind="gas", unit="m^3/h", min_quantity=1000,
            gas_species="ch4", min_purity_pct=50)  # fmt: skip


def directory() -> Directory:
    d = Directory()
    d.put_site(A)
    d.put_site(B)
    d.put_need(NEED)
    return d


def row(meter: str = "gas-m1", **kw: object) -> dict[str, object]:
    return {"meter": meter, "ts": (NOW - timedelta(seconds=1)).isoformat(), "value": 10.0,
            "unit": "m^3/h", **kw}  # fmt: skip


# --- directory ---------------------------------------------------------------------------------


def test_meters_resolve_to_their_stream_site_and_company() -> None:
    d = directory()
    ref = d.meter("gas-m2")
    assert ref is not None
    assert (ref.stream.id, ref.site.id, ref.company) == ("gas", "plant-a", "a")
    assert d.tag("plant-a", "A.GAS.1") == "gas-m1"
    assert d.tag("plant-b", "A.GAS.1") is None
    assert d.streams_of("b") == {"heat-b"}
    assert d.streams_of(None) == {"gas", "heat-b"}
    assert d.needs_of("b") == {"b-gas"}
    assert d.needs_of("a") == set()


def test_no_site_takes_another_sites_ids_or_changes_company() -> None:
    d = directory()
    with pytest.raises(ConfigurationError, match="belongs to another company"):
        d.put_site(A.model_copy(update={"company": "b"}))
    stolen = Stream(id="x", kind="gas", unit="m^3/h", nominal=1, meters=["gas-m1"])
    thief = Site(id="plant-c", name="C", company="b", lat=55, lon=11, streams=[stolen])
    with pytest.raises(ConfigurationError, match="meter id 'gas-m1' is already used"):
        d.put_site(thief)
    assert d.meter("gas-m1").company == "a"  # type: ignore[union-attr]
    assert "plant-c" not in d.sites  # refused: nothing changed


def test_ids_a_company_dropped_stay_that_companys() -> None:
    d = directory()
    d.put_site(A.model_copy(update={"streams": [], "tag_map": {}}))  # A drops its gas stream
    assert d.meter("gas-m1") is None
    taker = Site(id="plant-c", name="C", company="b", lat=55, lon=11,
                 streams=[Stream(id="gas", kind="gas", unit="m^3/h", nominal=1)])  # fmt: skip
    with pytest.raises(ConfigurationError, match="stream id 'gas' is already used"):
        d.put_site(taker)  # would read A's stored ledger and alerts of "gas"
    d.put_site(A)  # A may take its ids back
    assert d.meter("gas-m1") is not None


def test_needs_and_exchanges_need_what_they_name() -> None:
    d = directory()
    with pytest.raises(UnknownReferenceError):
        d.put_need(NEED.model_copy(update={"site": "nowhere"}))
    with pytest.raises(UnknownReferenceError, match="unknown need"):
        d.put_exchange(Exchange(id="x", stream="gas", need="nope", quantity=1, unit="m^3/h"))
    d.put_exchange(Exchange(id="x", stream="gas", need="b-gas", quantity=1, unit="m^3/h"))
    assert (d.company_of_stream("gas"), d.company_of_need("b-gas")) == ("a", "b")


# --- intake ------------------------------------------------------------------------------------


def test_good_readings_are_grouped_by_stream() -> None:
    checked = check_readings([row(), row("gas-m2")], directory(), company="a", now=NOW,
                             max_skew_s=300)  # fmt: skip
    assert checked.errors == []
    assert checked.accepted == 2
    assert list(checked.by_stream) == ["gas"]


def test_a_push_becomes_one_record_per_site_split_at_the_record_bound() -> None:
    heat = {"meter": "heat-b", "ts": (NOW - timedelta(seconds=1)).isoformat(), "value": 2.0,
            "unit": "MW"}  # fmt: skip
    rows = [row(), heat, row("gas-m2"), row(), heat, row("gas-m2", value=3.0)]
    checked = check_readings(rows, directory(), company=None, now=NOW, max_skew_s=300)
    assert checked.site_of == {"gas": "plant-a", "heat-b": "plant-b"}
    whole = checked.records("i-1", max_readings=10)
    assert [(r.site, [(b.stream, len(b.readings)) for b in r.batches]) for r in whole] == [
        ("plant-a", [("gas", 4)]), ("plant-b", [("heat-b", 2)])
    ]  # fmt: skip
    split = checked.records("i-1", max_readings=3)
    assert [(r.site, [(b.stream, len(b.readings)) for b in r.batches]) for r in split] == [
        ("plant-a", [("gas", 3)]), ("plant-a", [("gas", 1)]), ("plant-b", [("heat-b", 2)])
    ]  # fmt: skip
    values = [r.value for rec in split for b in rec.batches for r in b.readings]
    assert values == [10.0, 10.0, 10.0, 3.0, 2.0, 2.0]  # input order kept within a stream
    ids = [b.batch_id for rec in split for b in rec.batches]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("i-1-") for i in ids)


def test_each_bad_field_is_named_by_row() -> None:
    rows = [row(value="x"), row(unit="MW"), row(ts="2026-01-01T00:00:00"), row("nope"),
            row(ts=(NOW + timedelta(hours=1)).isoformat()), None, row()]  # fmt: skip
    checked = check_readings(rows, directory(), company="a", now=NOW, max_skew_s=300)
    assert [(e.row, e.field) for e in checked.errors] == [
        (0, "readings[0].value"), (1, "readings[1].unit"), (2, "readings[2].ts"),
        (3, "readings[3].meter"), (4, "readings[4].ts"), (5, "readings[5]"),
    ]  # fmt: skip
    assert checked.accepted == 1
    assert checked.rejected_rows == 6
    assert not checked.forbidden


def test_another_companys_meter_looks_unregistered_but_the_operator_may_push() -> None:
    d = directory()
    theirs = check_readings([row()], d, company="b", now=NOW, max_skew_s=300)
    unknown = check_readings([row("nope")], d, company="b", now=NOW, max_skew_s=300)
    assert theirs.accepted == 0
    assert [e.reason for e in theirs.errors] == [
        e.reason.replace("'nope'", "'gas-m1'") for e in unknown.errors
    ]  # one answer: the meter's owner is not revealed
    assert not theirs.forbidden
    assert check_readings([row()], d, company=None, now=NOW, max_skew_s=300).accepted == 1


def test_omf_values_map_through_the_sites_tag_map() -> None:
    items = [
        {"tag": "A.GAS.1", "timestamp": NOW.isoformat(), "value": 5, "good": False},
        {"meter": "gas-m2", "timestamp": NOW.isoformat(), "value": 5, "units": "m^3/h"},
        {"tag": "UNKNOWN", "timestamp": NOW.isoformat(), "value": 5},
        {"tag": "A.GAS.1", "meter": "gas-m1", "timestamp": NOW.isoformat(), "value": 5},
        {"tag": "A.GAS.1", "timestamp": NOW.isoformat(), "value": 5, "colour": "red"},
    ]
    rows, errors = omf_rows(items, directory(), "plant-a")
    assert [e.field for e in errors] == ["[2].tag", "[3].tag", "[4].colour"]
    assert rows[2] is UNMAPPED
    first = rows[0]
    assert isinstance(first, dict)
    assert (first["meter"], first["unit"], first["quality"]) == ("gas-m1", "m^3/h", "bad")
    checked = check_readings(rows, directory(), company="a", now=NOW + timedelta(seconds=1),
                             max_skew_s=300, prefix="", names=OMF_FIELDS)  # fmt: skip
    assert checked.accepted == 2


ATTACK_TS = "0001-01-01T00:00:00+23:59"  # year 0 in UTC: Python cannot even convert it


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"ts": ATTACK_TS}, "ts", "must be at least 1970-01-01T00:00:00Z"),
        ({"ts": "1969-12-31T23:59:59Z"}, "ts", "must be at least 1970-01-01"),
        ({"ts": "1970-01-01T00:30:00+01:00"}, "ts", "must be at least 1970-01-01"),
        ({"ts": "2200-01-01T00:00:01Z"}, "ts", "must be at most 2200-01-01"),
        ({"ts": 1700000000}, "ts", "must be a string, not a number"),
        ({"ts": "0"}, "ts", "must be an ISO 8601 date-time with a time zone"),
        ({"ts": "1735689600000"}, "ts", "must be an ISO 8601 date-time with a time zone"),
        ({"unit": "m^3/h\x00"}, "unit", "holds a control, invisible or comment character"),
        ({"unit": "Ym^3/h"}, "unit", "of its SI base units"),
        ({"unit": "(Ym)**13/m**10/h"}, "unit", "too large a multiple of its SI base units"),
        ({"unit": "ton/h"}, "unit", "is ambiguous"),
        ({"value": "5"}, "value", "must be a number, not a string"),
        ({"value": True}, "value", "must be a number, not a boolean"),
        ({"value": None}, "value", "must be a number, not null"),
        ({"value": 1e308}, "value", "must be at most 1000000000000"),
        ({"value": -1e308}, "value", "must be at least -1000000000000"),
        ({"value": -5}, "value", "a surplus rate cannot be negative"),
        ({"value": -0.001}, "value", "a surplus rate cannot be negative"),
        ({"meter": 7}, "meter", "must be a string, not a number"),
        ({"unit": ["m^3/h"]}, "unit", "must be a string, not an array"),
        ({"quality": 1}, "quality", "must be a string, not a number"),
    ],
)
def test_strict_intake_refuses_each_bad_field_by_name(
    fields: dict[str, object], field: str, reason: str
) -> None:
    checked = check_readings([row(), row(**fields)], directory(), company="a", now=NOW,
                             max_skew_s=300)  # fmt: skip
    assert [(e.row, e.field) for e in checked.errors] == [(1, f"readings[1].{field}")]
    assert reason in checked.errors[0].reason
    assert checked.accepted == 1  # the good row still goes through


def test_strict_intake_names_every_bad_field_once() -> None:
    rows = [row(ts=1700000000, value="5", unit=None), row(ts=ATTACK_TS, value=True)]
    checked = check_readings(rows, directory(), company="a", now=NOW, max_skew_s=300)
    got = sorted((e.field, e.reason) for e in checked.errors)
    assert got == [
        ("readings[0].ts", "must be a string, not a number"),
        ("readings[0].unit", "must be a string, not null"),
        ("readings[0].value", "must be a number, not a string"),
        ("readings[1].ts", "must be at least 1970-01-01T00:00:00Z"),
        ("readings[1].value", "must be a number, not a boolean"),
    ]
    assert checked.accepted == 0


def test_strict_intake_accepts_json_numbers_offsets_and_the_window_edges() -> None:
    rows = [row(value=5), row(value=0), row(value=1e12), row(ts="2026-11-22T17:29:00+05:30"),
            row(ts="1970-01-01T01:00:00+01:00"), row(quality="uncertain")]  # fmt: skip
    checked = check_readings(rows, directory(), company="a", now=NOW, max_skew_s=300)
    assert checked.errors == []
    assert checked.accepted == 6
    assert checked.by_stream["gas"][3].ts.utcoffset() == timedelta(hours=5, minutes=30)  # kept


def test_a_stream_that_allows_negative_values_takes_them() -> None:
    d = Directory()
    d.put_site(A.model_copy(update={"streams": [GAS.model_copy(update={"allows_negative": True})]}))
    checked = check_readings([row(value=-5)], d, company="a", now=NOW, max_skew_s=300)
    assert checked.errors == []
    assert checked.by_stream["gas"][0].value == -5


def test_omf_names_strictly_typed_fields_as_the_client_sent_them() -> None:
    items = [{"meter": "gas-m1", "timestamp": 1700000000, "value": "5", "good": "yes"}]
    rows, errors = omf_rows(items, directory(), "plant-a")
    assert errors == []
    checked = check_readings(rows, directory(), company="a", now=NOW, max_skew_s=300,
                             prefix="", names=OMF_FIELDS)  # fmt: skip
    assert sorted(e.field for e in checked.errors) == ["[0].good", "[0].timestamp", "[0].value"]
    assert {e.field: e.reason for e in checked.errors}["[0].good"] == (
        "must be true or false, not a string"
    )


@pytest.mark.parametrize("good", [None, "uncertain", 1, [True]])
def test_omf_good_is_a_boolean_or_the_row_is_refused(good: object) -> None:
    items = [{"meter": "gas-m1", "timestamp": NOW.isoformat(), "value": 5, "good": good}]
    rows, _ = omf_rows(items, directory(), "plant-a")
    checked = check_readings(rows, directory(), company="a", now=NOW, max_skew_s=300,
                             prefix="", names=OMF_FIELDS)  # fmt: skip
    assert checked.accepted == 0
    [error] = checked.errors
    assert (error.field, error.reason.split(",")[0]) == ("[0].good", "must be true or false")


JUNK = st.one_of(st.none(), st.integers(), st.text(), st.dictionaries(st.text(), st.text()))


@given(st.lists(JUNK, max_size=20))
def test_any_garbage_is_reported_never_raised(rows: list[object]) -> None:
    checked = check_readings(rows, directory(), company="a", now=NOW, max_skew_s=300)
    assert checked.accepted == 0
    assert checked.rejected_rows == len(rows)


# --- disclosure --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(37, (20, 50)), (2987.5, (2000, 5000)), (1, (1, 2)), (0.3, (0.2, 0.5)), (0, (0, 0))],
)
def test_bands_are_1_2_5_steps(value: float, expected: tuple[float, float]) -> None:
    assert band(value) == pytest.approx(expected)


@given(st.floats(min_value=1e-6, max_value=1e12))
def test_a_band_always_holds_its_value(value: float) -> None:
    lo, hi = band(value)
    assert lo <= value * (1 + 1e-12)
    assert value < hi * (1 + 1e-12)


def test_distance_and_quantity_bands_read_well() -> None:
    assert distance_band(0.8) == "< 1 km"
    assert distance_band(3.2) == "2-5 km"
    assert distance_band(120) == "> 50 km"
    assert quantity_band(37, "MW") == "20-50 MW"


def _alert() -> Alert:
    return Alert(alert_id="al-1", idempotency_key="k", event="opened", stream="gas", need="b-gas",
                 kind="gas", available=2987.5, unit="m^3/h", quantity=2500, need_unit="m^3/h",
                 distance_km=1.1, benefit=Benefit(co2e_t_per_yr=24243.3), ts=NOW)  # fmt: skip


def test_a_partner_sees_bands_and_no_supplier_unless_disclosed() -> None:
    hidden = alert_view(_alert(), A, GAS, viewer="b", key=KEY)
    assert hidden.redacted
    assert (hidden.stream, hidden.supplier_company, hidden.available, hidden.distance_km) == (
        None, None, None, None,
    )  # fmt: skip
    assert hidden.available_band == "2000-5000 m^3/h"
    assert hidden.distance_band == "1-2 km"
    assert hidden.quality == "gas, ch4 >= 55 %"
    assert hidden.benefit.co2e_t_per_yr == 20000  # its band's floor: finer figures give the
    # quantity back (CO2e grows in proportion to it)
    assert hidden.alert_id.startswith("alp-")
    shown = alert_view(
        _alert(), A.model_copy(update={"disclose_identity": True}), GAS, "b", key=KEY
    )
    assert (shown.stream, shown.supplier_company, shown.available) == ("gas", "a", None)
    for viewer in ("a", None):  # the supplier, the operator
        full = alert_view(_alert(), A, GAS, viewer, key=KEY)
        assert not full.redacted
        assert (full.available, full.benefit.co2e_t_per_yr) == (2987.5, 24243.3)
    # the supplier gets the exact distance only to a receiver that discloses itself: exact
    # distances from several of its sites would locate the receiver
    receiver = Site(id="b-site", name="B", company="b", lat=55.0, lon=11.0)
    supplier = alert_view(_alert(), A, GAS, "a", key=KEY, receiver=receiver)
    assert (supplier.distance_km, supplier.distance_band) == (None, "1-2 km")
    open_receiver = receiver.model_copy(update={"disclose_identity": True})
    assert alert_view(_alert(), A, GAS, "a", key=KEY, receiver=open_receiver).distance_km == 1.1
    assert alert_view(_alert(), A, GAS, None, key=KEY, receiver=receiver).distance_km == 1.1


# --- KPIs ----------------------------------------------------------------------------------------


def test_exchange_benefit_and_totals() -> None:
    x = Exchange(id="x", stream="gas", need="b-gas", quantity=1000, unit="m^3/h",
                 end=NOW + timedelta(days=1))  # fmt: skip
    assert active(x, NOW)
    assert not active(x, NOW + timedelta(days=2))
    b = exchange_benefit(x, (A, GAS), (B, NEED))
    assert b.co2e_t_per_yr > 0
    assert totals([b, b]).co2e_t_per_yr == pytest.approx(2 * b.co2e_t_per_yr)


def test_availability_is_summed_per_site_and_kind_in_canonical_units() -> None:
    def entry(stream: str, available: float, unit: str) -> LedgerEntry:
        return LedgerEntry(stream=stream, site="plant-b", kind="heat", unit=unit, window_s=10,
                           measured=available, committed=0, available=available, steadiness=1,
                           samples=1, updated_at=NOW)  # fmt: skip

    [summed] = availability_by_kind([entry("h1", 2, "MW"), entry("h2", 500, "kW")])
    assert (summed.site, summed.kind, summed.unit, summed.streams) == ("plant-b", "heat", "MW", 2)
    assert summed.available == pytest.approx(2.5)
