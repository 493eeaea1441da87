from __future__ import annotations

from drawdown.ids import new_id, parse_id, render_id


def test_ids_are_time_ordered_unique_uuid7() -> None:
    ids = [new_id() for _ in range(20_000)]  # many share a millisecond
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(i.version == 7 and i.variant == "specified in RFC 4122" for i in ids[:100])


def test_prefixed_rendering_round_trips() -> None:
    value = new_id()
    assert render_id("customer", value).startswith("cus_")
    assert parse_id("customer", render_id("customer", value)) == value
    assert parse_id("customer", str(value)) == value  # the Polar rendering
    assert parse_id("customer", "cus_nothex") is None
