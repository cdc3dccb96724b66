"""Turn detection on real (synthetic) speech with known boundaries."""

from __future__ import annotations

import numpy as np
import pytest

from realtime_widgets.protocol.parts import SemanticVad, ServerVad
from realtime_widgets.server.vad import (
    TurnDetector,
    TurnEvent,
    WindowBatch,
    frame_energies_db,
    tenth_percentile,
)
from tests.speech import DATA, Clip, recorded_clip, recorded_speech, speech_bounds


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


def test_the_recorded_speech_is_what_its_note_says() -> None:
    """The committed clips (scripts/make_test_speech.py): every utterance's truth is its
    measured speech, and the note says which eSpeak made them."""
    note = (DATA / "speech.json").read_text()
    assert "eSpeak NG" in note
    assert "scripts/make_test_speech.py" in note
    for samples, start_ms, end_ms in recorded_speech().values():
        assert speech_bounds(samples) == (start_ms, end_ms)
        assert 0 <= start_ms < end_ms <= len(samples) / 24


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


def test_more_voices_and_speeds() -> None:
    clip = recorded_clip(
        ["Seven", "Please call me back tomorrow morning.", "Yes"],
        ["cedar", "shimmer", "echo"],
    )
    turns = pairs(detect(clip.samples, ServerVad(silence_duration_ms=300)))
    assert len(turns) == 3
    for (start, stop), (a, b) in zip(turns, clip.truth, strict=True):
        assert abs(start.boundary_ms - a) <= 40
        assert abs(stop.boundary_ms - b) <= 40


def test_silence_duration_decides_whether_a_pause_splits_a_turn() -> None:
    clip = recorded_clip(["First part", "second part"], ["marin", "marin"], gap_ms=700)
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


def test_semantic_eagerness_sets_the_wait() -> None:
    from realtime_widgets.server.vad import SEMANTIC_WAITS

    clip = recorded_clip(
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


# ---- the shared batch and the exact fast paths ------------------------------------------------


def test_tenth_percentile_is_numpys_bit_for_bit() -> None:
    rng = np.random.default_rng(5)
    for n in range(1, 301):
        for values in (
            rng.normal(-50, 20, n),
            np.round(rng.normal(-50, 20, n)),  # ties
            np.where(rng.random(n) < 0.4, -100.0, rng.normal(-40, 5, n)),
        ):
            assert tenth_percentile(values.copy()) == float(np.percentile(values, 10))


def test_frame_energies_are_the_mean_square_bit_for_bit() -> None:
    rng = np.random.default_rng(6)
    x = (rng.standard_normal(240 * 300) * rng.choice([1, 300, 20000], 240 * 300)).clip(
        -32768, 32767
    )
    x = x.astype(np.int16)
    x[:480] = 0
    frames = x.astype(np.float64).reshape(-1, 240)
    with np.errstate(divide="ignore"):
        reference = np.maximum(-100.0, 10 * np.log10(np.mean(frames**2, axis=1) / 32768.0**2))
    assert frame_energies_db(x) == [float(v) for v in reference]
    assert frame_energies_db(x)[:2] == [-100.0, -100.0]


def test_batched_detectors_decide_every_frame_as_alone(three_turns: Clip) -> None:
    """Three sessions at different points of the clip, their windows computed in one batch per
    round: the same probabilities bit for bit, and the same turns, as each detector alone."""
    clips = [np.roll(three_turns.samples, k * 7 * 960) for k in range(3)]
    detection = ServerVad(silence_duration_ms=500)
    alone = [TurnDetector(detection) for _ in clips]
    alone_events: list[list[TurnEvent]] = [[] for _ in clips]
    batch = WindowBatch()
    together = [TurnDetector(detection, batch=batch) for _ in clips]
    together_events: list[list[TurnEvent]] = [[] for _ in clips]
    for i in range(0, len(three_turns.samples), 960):
        for k, clip in enumerate(clips):
            alone_events[k] += alone[k].feed(clip[i : i + 960])
            together_events[k] += together[k].feed(clip[i : i + 960])
        waited = [d.pending for d in together]
        batch.run()
        for k, d in enumerate(together):
            assert not d.pending
            resumed = d.resume()
            assert waited[k] or not resumed
            together_events[k] += resumed
    for k in range(3):
        assert together_events[k] == alone_events[k]
        assert together[k]._prob is not None
        assert alone[k]._prob is not None
        assert together[k]._prob.probs == alone[k]._prob.probs
    assert len(pairs(together_events[0])) == 3
    # Fewer ONNX calls than windows: the sessions' windows ran together.
    assert batch.windows == sum(d._prob.model_runs for d in together if d._prob is not None)
    assert batch.runs < batch.windows / 2


def test_a_window_queued_twice_keeps_its_stream_in_order(three_turns: Clip) -> None:
    """Two appends before the batch runs (a stream's second window needs its first's state),
    and a detector that settles by itself when nothing runs the batch for it."""
    x = three_turns.samples
    batch = WindowBatch()
    queued = TurnDetector(ServerVad(), batch=batch)
    settling = TurnDetector(ServerVad(), batch=WindowBatch())  # a batch nothing else runs
    events: list[TurnEvent] = []
    settled: list[TurnEvent] = []
    for i in range(0, len(x), 4800):
        events += queued.feed(x[i : i + 2400])
        events += queued.feed(x[i + 2400 : i + 4800])
        settled += settling.settle()
        settled += settling.feed(x[i : i + 4800])
        batch.run()
        events += queued.resume()
    settled += settling.settle()
    assert events == detect(x, ServerVad(), chunk=2400)
    assert settled == detect(x, ServerVad(), chunk=4800)
    settling.close()
    assert batch.pending == 0


@pytest.mark.parametrize("run_batch", [True, False])
def test_an_engine_on_a_batch_answers_as_one_without(three_turns: Clip, run_batch: bool) -> None:
    """The same events, in the same order, with the same times, as a session without a batch:
    whether the batch runs after each append (the server) or never (the engine settles).
    Replies in text (eSpeak's output varies by a few samples from call to call)."""
    import functools
    import json

    from realtime_widgets.server.engine import EngineOptions, SessionEngine

    from .conftest import Driver, b64

    def session(batch: WindowBatch | None) -> Driver:
        options = EngineOptions(wall_clock=lambda: 0.0)
        if batch is not None:
            options = EngineOptions(
                wall_clock=lambda: 0.0, detector=functools.partial(TurnDetector, batch=batch)
            )
        d = Driver(SessionEngine(options=options, session_id="sess_b"))
        d.events += d.engine.start(0.0)
        return d

    plain, batch = session(None), WindowBatch()
    batched = session(batch)
    x = np.concatenate([three_turns.samples, np.zeros(24000, np.int16)])
    waited = 0
    for i in range(0, len(x), 960):
        append = {"type": "input_audio_buffer.append", "audio": b64(x[i : i + 960])}
        plain.send(append, advance=0.04)
        batched.send(append, advance=0.04)
        waited += batched.engine.vad_pending
        if run_batch and batched.engine.vad_pending:
            batch.run()
            batched.events += batched.engine.vad_ready(batched.now)
        plain.advance(0.0)
        batched.advance(0.0)
    commit = {"type": "input_audio_buffer.commit", "event_id": "evt_last"}
    plain.send(commit)
    batched.send(commit)
    assert len(plain.of("input_audio_buffer.speech_stopped")) == 3
    assert len(plain.of("response.done")) == 3
    assert waited > 50  # most appends left windows to the batch
    assert [json.dumps(e) for e in batched.events] == [json.dumps(e) for e in plain.events]
    plain.engine.close()
    batched.engine.close()
