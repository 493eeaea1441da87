"""Timestamps are stored as integer microseconds since the epoch; the conversion is exact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from drawdown.db.types import from_micros, to_micros

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@settings(max_examples=300)
@given(st.datetimes(timezones=st.just(UTC)))
def test_round_trip_is_exact(value: datetime) -> None:
    micros = to_micros(value)
    assert micros == (value - EPOCH) // timedelta(microseconds=1)
    back = from_micros(micros)
    assert back == value and back.tzinfo is UTC


@given(
    st.integers(
        min_value=to_micros(datetime(1, 1, 1, tzinfo=UTC)),
        max_value=to_micros(datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    )
)
def test_from_micros_agrees_with_fromtimestamp(micros: int) -> None:
    expected = datetime.fromtimestamp(micros // 1_000_000, UTC).replace(
        microsecond=micros % 1_000_000
    )
    assert from_micros(micros) == expected
