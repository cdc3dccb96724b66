"""Turn detection on real (synthetic) speech with known boundaries."""

from __future__ import annotations

import numpy as np
import pytest

from realtime_widgets.protocol.parts import SemanticVad, ServerVad
from realtime_widgets.server.tts import Synthesizer
from realtime_widgets.server.vad import TurnDetector, TurnEvent

from .conftest import Clip, make_clip


def detect(
    samples: np.ndarray, detection: ServerVad | SemanticVad, chunk: int = 960
) -> list[TurnEvent]:
    td = TurnDetector(detection)
    events: list[TurnEvent] = []
    for i in range(0, len(samples), chunk):
        events += td.feed(samples[i : i + chunk])
    return events


def pairs(events: list[TurnEvent]) -> list[tuple[TurnEvent, TurnEvent]]:
    starts = [e for e in events if e.kind == "start"]
    stops = [e for e in events if e.kind == "stop"]
    assert len(starts) == len(stops)
    return list(zip(starts, stops, strict=True))


@pytest.mark.parametrize("chunk", [240, 960, 2400])
def test_boundaries_within_40ms_and_stop_after_the_silence(three_turns: Clip, chunk: int) -> None:
    turns = pairs(detect(three_turns.samples, ServerVad(silence_duration_ms=500), chunk))
    assert len(turns) == 3
    for (start, stop), (true_start, true_end) in zip(turns, three_turns.truth, strict=True):
        assert abs(start.boundary_ms - true_start) <= 40
        assert abs(stop.boundary_ms - true_end) <= 40
        # The stop is decided once the configured silence has been appended, not later.
        assert stop.at_ms - stop.boundary_ms == 500
        assert stop.at_ms - true_end <= 500 + 20


def test_more_voices_and_speeds(synth: Synthesizer) -> None:
    clip = make_clip(
        synth,
        ["Seven", "Please call me back tomorrow morning.", "Yes"],
        ["cedar", "shimmer", "echo"],
    )
    turns = pairs(detect(clip.samples, ServerVad(silence_duration_ms=300)))
    assert len(turns) == 3
    for (start, stop), (a, b) in zip(turns, clip.truth, strict=True):
        assert abs(start.boundary_ms - a) <= 40
        assert abs(stop.boundary_ms - b) <= 40


def test_silence_duration_decides_whether_a_pause_splits_a_turn(synth: Synthesizer) -> None:
    clip = make_clip(synth, ["First part", "second part"], ["marin", "marin"], gap_ms=700)
    samples = np.concatenate([clip.samples, np.zeros(24000 * 2, np.int16)])
    assert len(pairs(detect(samples, ServerVad(silence_duration_ms=500)))) == 2
    merged = pairs(detect(samples, ServerVad(silence_duration_ms=900)))
    assert len(merged) == 1
    assert abs(merged[0][1].boundary_ms - clip.truth[1][1]) <= 40


def test_threshold_is_a_probability_gate(three_turns: Clip) -> None:
    assert len(pairs(detect(three_turns.samples, ServerVad(threshold=0.5)))) == 3
    # Nothing is certain enough at 1.0: no turn at all.
    assert detect(three_turns.samples, ServerVad(threshold=1.0)) == []


def test_noise_alone_never_starts_a_turn() -> None:
    rng = np.random.default_rng(7)
    noise = rng.normal(0, 2000, 24000 * 5).astype(np.int16)
    t = np.arange(24000 * 5) / 24000
    beeps = (np.sin(2 * np.pi * 1000 * t) * 8000 * ((t % 1.0) < 0.15)).astype(np.int16)
    assert detect(noise, ServerVad()) == []
    assert detect(beeps, ServerVad()) == []


@pytest.mark.parametrize("snr_db", [20, 10])
def test_speech_in_noise_is_still_found(three_turns: Clip, snr_db: int) -> None:
    rng = np.random.default_rng(3)
    speech = three_turns.samples.astype(np.float64)
    power = np.mean(speech[np.abs(speech) > 300] ** 2)
    noise = rng.normal(0, np.sqrt(power / 10 ** (snr_db / 10)), len(speech))
    noisy = np.clip(speech + noise, -32768, 32767).astype(np.int16)
    turns = pairs(detect(noisy, ServerVad(silence_duration_ms=500)))
    assert len(turns) == 3
    for (start, stop), (a, b) in zip(turns, three_turns.truth, strict=True):
        assert abs(start.boundary_ms - a) <= 120
        assert abs(stop.boundary_ms - b) <= 120


def test_semantic_eagerness_sets_the_wait(synth: Synthesizer) -> None:
    from realtime_widgets.server.vad import SEMANTIC_WAITS

    clip = make_clip(
        synth,
        ["Hello there, how are you today?", "Thanks, that is all."],
        ["marin", "coral"],
        gap_ms=4000,
    )
    waits = {}
    for eagerness in ("high", "medium"):
        turns = pairs(detect(clip.samples, SemanticVad(eagerness=eagerness)))
        assert len(turns) == 2
        for (start, stop), (a, b) in zip(turns, clip.truth, strict=True):
            assert abs(start.boundary_ms - a) <= 40
            assert abs(stop.boundary_ms - b) <= 40
        waits[eagerness] = [stop.at_ms - stop.boundary_ms for _, stop in turns]
        base, cap = SEMANTIC_WAITS[eagerness]
        # A finished-sounding end waits the base time; an abrupt or held end three times it.
        assert all(w in (base, min(cap, 3 * base)) for w in waits[eagerness])
    assert all(h < m for h, m in zip(waits["high"], waits["medium"], strict=True))
    # Low eagerness can wait longer than a pause that server_vad would end the turn on.
    low = pairs(detect(clip.samples, SemanticVad(eagerness="low")))
    assert all(stop.at_ms - stop.boundary_ms >= 1200 for _, stop in low)


def test_settings_change_live(three_turns: Clip) -> None:
    td = TurnDetector(ServerVad(silence_duration_ms=500))
    first_turn_end = int(three_turns.truth[0][1] * 24) + 24000
    events = td.feed(three_turns.samples[:first_turn_end])
    td.configure(ServerVad(silence_duration_ms=200))
    events += td.feed(three_turns.samples[first_turn_end:])
    stops = [e for e in events if e.kind == "stop"]
    assert [s.at_ms - s.boundary_ms for s in stops] == [500, 200, 200]
