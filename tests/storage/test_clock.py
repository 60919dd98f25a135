"""The clock: aware UTC instants, stored as text whose order is time order."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from storage import clock
from tests.storage.conftest import T0


def test_round_trip_and_utc_normalisation() -> None:
    plus_two = T0.astimezone(timezone(timedelta(hours=2)))
    assert clock.to_text(plus_two) == "2026-01-02T03:04:05.000000+00:00"
    assert clock.from_text(clock.to_text(plus_two)) == T0
    assert clock.maybe_from_text(None) is None


def test_text_order_is_time_order() -> None:
    instants = [T0 + timedelta(microseconds=n * 999_999) for n in range(20)]
    assert sorted(clock.to_text(i) for i in instants) == [clock.to_text(i) for i in instants]


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.stamp(datetime(2026, 1, 1))  # naive on purpose


def test_default_is_now() -> None:
    before = clock.utc_now()
    assert before <= clock.resolve(None) <= clock.utc_now()
