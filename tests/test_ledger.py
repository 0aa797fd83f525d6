from datetime import UTC, datetime, timedelta

import pytest

from domain.ledger import StreamLedger

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_mean_over_window_and_eviction() -> None:
    ledger = StreamLedger(window_s=10)
    for i in range(10):
        ledger.add(T0 + timedelta(seconds=i), 10.0)
    assert ledger.count == 10
    assert ledger.measured == pytest.approx(10.0)
    # 10 s later the old readings fall out of the window
    ledger.add(T0 + timedelta(seconds=20), 4.0)
    assert ledger.count == 1
    assert ledger.measured == pytest.approx(4.0)


def test_late_reading_outside_window_is_ignored() -> None:
    ledger = StreamLedger(window_s=5)
    ledger.add(T0 + timedelta(seconds=100), 1.0)
    assert not ledger.add(T0, 1000.0)
    assert ledger.measured == pytest.approx(1.0)


def test_steadiness_drops_with_noise() -> None:
    steady, noisy = StreamLedger(window_s=60), StreamLedger(window_s=60)
    for i in range(20):
        steady.add(T0 + timedelta(seconds=i), 10.0)
        noisy.add(T0 + timedelta(seconds=i), 10.0 + (5 if i % 2 else -5))
    assert steady.steadiness == pytest.approx(1.0)
    assert noisy.steadiness == pytest.approx(0.5)


def test_available_never_negative_and_tracks_since() -> None:
    ledger = StreamLedger(window_s=10)
    ledger.add(T0, 5.0)
    assert ledger.available(committed=8.0) == 0.0
    assert ledger.available_since is None
    ledger.add(T0 + timedelta(seconds=1), 15.0)
    assert ledger.available(committed=8.0) == pytest.approx(2.0)
    assert ledger.available_since == (T0 + timedelta(seconds=1)).timestamp()


def test_empty_window() -> None:
    ledger = StreamLedger(window_s=10)
    assert ledger.measured == 0.0
    assert ledger.steadiness == 0.0
