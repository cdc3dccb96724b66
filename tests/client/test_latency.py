"""Toolkit-latency arithmetic: the clock offset from round trips, and both paths' breakdowns."""

from __future__ import annotations

import pytest

from realtime_widgets.client.latency import MAX_RECORDS, ClockOffset, ToolkitLatency, percentile

OFFSET_MS = 123_456.0  # the browser's clock minus the kernel's, in these tests


def test_the_offset_comes_from_the_shortest_round_trip() -> None:
    clock = ClockOffset()
    # A slow round trip whose answer was stamped late (asymmetric): 40 ms off.
    clock.add(10.0, 10.100 * 1000 + OFFSET_MS + 40, 10.200)
    # A fast one: 2 ms round trip, answered in the middle.
    clock.add(20.0, 20.001 * 1000 + OFFSET_MS, 20.002)
    assert clock.offset_ms == pytest.approx(OFFSET_MS, abs=1e-6)
    assert clock.uncertainty_ms == pytest.approx(1.0)
    assert clock.to_kernel(30.0 * 1000 + OFFSET_MS) == pytest.approx(30.0)
    with pytest.raises(ValueError, match="cannot end before it starts"):
        clock.add(5.0, 0.0, 4.0)
    with pytest.raises(ValueError, match="no round trip"):
        _ = ClockOffset().offset_ms


def _synced() -> ToolkitLatency:
    lat = ToolkitLatency()
    lat.mic_clock.add(1.0, 1.0005 * 1000 + OFFSET_MS, 1.001)
    lat.speaker_clock.add(1.0, 1.0005 * 1000 + OFFSET_MS, 1.001)
    return lat


def test_a_chunk_is_sent_when_the_appends_carried_its_last_sample() -> None:
    lat = _synced()
    # Two 40 ms chunks captured at 2.000 and 2.040 s (kernel clock), received 15 ms later.
    lat.mic_chunk(2.000 * 1000 + OFFSET_MS, 2.015, 960)
    lat.mic_chunk(2.040 * 1000 + OFFSET_MS, 2.055, 1920)
    # The session regrouped them: one append with 1440 samples, then one with 480.
    lat.append_sent(2.020, 1440)
    assert [c.end_sample for c in lat.chunks] == [960]
    lat.append_sent(2.060, 480)
    first, second = (lat.mic_breakdown(c) for c in lat.chunks)
    assert first == pytest.approx({"to_kernel": 15.0, "in_kernel": 5.0, "total": 20.0})
    assert second == pytest.approx({"to_kernel": 15.0, "in_kernel": 5.0, "total": 20.0})
    # A chunk whose samples an append already carried takes that append's time.
    lat.append_sent(2.100, 960)
    lat.mic_chunk(2.080 * 1000 + OFFSET_MS, 2.095, 2880)
    assert lat.mic_breakdown(lat.chunks[-1]) == pytest.approx(
        {"to_kernel": 15.0, "in_kernel": 5.0, "total": 20.0}
    )
    assert lat.mic_totals(2.05, 2.07) == pytest.approx([20.0])


def test_delta_to_first_sample_played() -> None:
    lat = _synced()
    lat.handed("item_1", 5.003)  # reported before the delta's stamp: kept until it comes
    lat.first_delta("item_1", "resp_1", 5.000)
    lat.first_delta("item_1", "resp_1", 5.500)  # later deltas of the item change nothing
    lat.played("item_1", 5.012 * 1000 + OFFSET_MS, 5.047 * 1000 + OFFSET_MS)
    lat.played("item_1", 9e9, 9e9)  # the first report counts
    lat.played("unknown", 1.0, 2.0)  # an item with no delta seen is ignored
    assert lat.for_response("resp_1") == pytest.approx(
        {"to_browser": 12.0, "in_browser": 35.0, "total": 47.0, "in_kernel": 3.0}
    )
    assert lat.for_response("resp_2") is None
    summary = lat.summary()
    assert summary["played_items"] == 1
    assert summary["delta_to_played_ms"]["median"] == pytest.approx(47.0)
    assert summary["speaker_clock_uncertainty_ms"] == pytest.approx(0.5)
    assert summary["mic_chunks"] == 0
    assert summary["mic_to_append_ms"] == {"median": None, "p90": None}


def test_without_a_clock_there_is_no_breakdown_and_records_are_capped() -> None:
    lat = ToolkitLatency()
    lat.first_delta("a", "r", 1.0)
    lat.played("a", 1.0, 2.0)
    assert lat.for_response("r") is None
    for i in range(MAX_RECORDS + 10):
        lat.first_delta(f"item_{i}", None, float(i))
    assert len(lat.items) == MAX_RECORDS
    for i in range(MAX_RECORDS + 10):
        lat.mic_chunk(float(i), float(i), 10 * (i + 1))
        lat.append_sent(float(i), 10)
    assert len(lat.chunks) == MAX_RECORDS


def test_percentile() -> None:
    assert percentile([], 0.5) is None
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile([0.0, 10.0], 0.9) == pytest.approx(9.0)
