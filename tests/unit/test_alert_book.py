from datetime import timedelta

import pytest

from domain.matching import Matcher
from schemas.ledger import LedgerEntry
from schemas.registry import Need, Park, Site, Stream
from streams.alert_state import AlertBook
from tests.helpers import T0

PARK = Park(
    park="p",
    sites=[
        Site(id="plant", name="Plant", company="a", lat=55.0, lon=11.0, disclose_identity=False,
             streams=[Stream(id="heat", kind="heat", unit="MW", nominal=10, temperature_c=90)]),
        Site(id="farm", name="Farm", company="b", lat=55.01, lon=11.0),
    ],
    needs=[Need(id="farm-heat", site="farm", kind="heat", unit="kW", min_quantity=10_000,
                min_temperature_c=60)],
)  # fmt: skip


def entry(s: float, available: float) -> LedgerEntry:
    return LedgerEntry(
        stream="heat", site="plant", kind="heat", unit="MW", window_s=10, measured=available,
        committed=0, available=available, steadiness=1, samples=1,
        updated_at=T0 + timedelta(seconds=s),
    )  # fmt: skip


def test_held_alert_reports_what_is_really_available() -> None:
    book = AlertBook(Matcher.from_park(PARK), hysteresis=0.1)
    opened, snap = book.apply(entry(0, 12.0), None)
    assert [a.event.value for a in opened] == ["opened"]
    assert opened[0].quantity == pytest.approx(12_000)
    assert opened[0].supplier_company is None  # the supplier did not allow disclosure
    updated, snap = book.apply(entry(1, 9.5), snap)  # below 10 MW, inside the 10 % band
    assert [a.event.value for a in updated] == ["updated"]  # 12 -> 9.5 MW is a material change
    assert updated[0].quantity == pytest.approx(9_500)
    assert updated[0].available == pytest.approx(9.5)
    resolved, _ = book.apply(entry(2, 8.0), snap)
    assert [a.event.value for a in resolved] == ["resolved"]
    assert resolved[0].alert_id == opened[0].alert_id
