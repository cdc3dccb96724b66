"""Local runs of the turn-taking bench: the sans-I/O engine on the audio clock, with real reply
audio, deterministic; the player model shared with timelines from anywhere; the stereo WAV."""

from __future__ import annotations

import base64
import sys
import types
import wave
from pathlib import Path

import numpy as np
import pytest

from realtime_widgets.audio.g711 import ulaw_encode
from realtime_widgets.errors import ConfigError
from realtime_widgets.evals.clip import RATE, Clip, Span
from realtime_widgets.evals.metrics import measure, summarize
from realtime_widgets.evals.runs import ClipRun, Prepared, from_timeline, prepare, run_local
from realtime_widgets.protocol.config import SessionConfig
from tests.speech import recorded_speech

HOLD_MS = 600


def _ms(n: int) -> float:
    return n * 1000 / RATE


@pytest.fixture(scope="module")
def hold_clip() -> Clip:
    """Real (recorded eSpeak) speech: a sentence, a 600 ms pause inside the turn, a sentence,
    the turn's end (2 s of silence), then a second turn."""
    store = recorded_speech()
    a, a0, a1 = store["Hello there, how are you today?", "marin"]
    b, b0, b1 = store["I would like to book a table for two.", "ash"]
    c, c0, c1 = store["Thanks, that is all.", "coral"]
    lead = np.zeros(RATE // 2, np.int16)
    hold = np.zeros(HOLD_MS * RATE // 1000, np.int16)
    gap = np.zeros(2 * RATE, np.int16)
    parts = [lead, a, hold, b, gap, c, gap]
    starts = np.cumsum([0] + [len(p) for p in parts])
    sa, sb, sc = _ms(starts[1]), _ms(starts[3]), _ms(starts[5])
    spans = [
        Span(sa + a0, sa + a1, "speech"),
        Span(sa + a1, sb + b0, "hold"),
        Span(sb + b0, sb + b1, "speech"),
        Span(sb + b1, sc + c0, "eot"),
        Span(sc + c0, sc + c1, "speech"),
        Span(sc + c1, _ms(starts[-1]), "eot"),
    ]
    return Clip("hold", np.concatenate(parts), tuple(spans), meta={"synthetic": True})


@pytest.fixture(scope="module")
def reply() -> np.ndarray:
    return recorded_speech()["Thanks, that is all.", "coral"][0]


@pytest.fixture(scope="module")
def prepared(hold_clip: Clip) -> Prepared:
    return prepare(hold_clip)  # the one Silero analysis of this module


def _config(silence_ms: int) -> SessionConfig:
    return SessionConfig().with_changes({"turn_detection.silence_duration_ms": silence_ms})


def test_a_local_run_is_deterministic(
    hold_clip: Clip, prepared: Prepared, reply: np.ndarray
) -> None:
    one = run_local(hold_clip, _config(500), reply=reply, prepared=prepared, settings={"s": 500})
    two = run_local(hold_clip, _config(500), reply=reply, prepared=prepared, settings={"s": 500})
    assert one.events == two.events
    assert np.array_equal(one.agent, two.agent)
    assert np.array_equal(one.user, two.user)
    assert one.settings == {"s": 500}
    assert len(one.user) == len(one.agent) > len(hold_clip.samples)
    assert np.array_equal(one.user[: len(hold_clip.samples)], hold_clip.samples)
    assert not one.user[len(hold_clip.samples) :].any()
    times = [t for t, _ in one.events]
    assert times == sorted(times)
    # the engine answered with the real reply, played in full after the last turn
    assert one.plays
    assert one.plays[-1].stopped_ms is None
    last = one.plays[-1]
    first = round(last.start_ms * RATE / 1000)
    assert np.array_equal(one.agent[first : first + len(reply)], reply)


def test_a_longer_silence_cuts_off_less_and_decides_later(
    hold_clip: Clip, prepared: Prepared, reply: np.ndarray
) -> None:
    short = summarize([measure(run_local(hold_clip, _config(200), reply=reply, prepared=prepared))])
    long = summarize([measure(run_local(hold_clip, _config(1000), reply=reply, prepared=prepared))])
    short_eot, long_eot = short["eot_latency_ms_p50"], long["eot_latency_ms_p50"]
    short_ttfa, long_ttfa = short["ttfa_ms_p50"], long["ttfa_ms_p50"]
    short_frag, long_frag = short["fragmentation"], long["fragmentation"]
    assert short["n_hold"] == long["n_hold"] == 1
    assert short["false_cutoff_rate"] == 1.0
    assert long["false_cutoff_rate"] == 0.0
    assert short["missed_eot_rate"] == long["missed_eot_rate"] == 0.0
    assert short_eot is not None
    assert long_eot is not None
    assert long_eot > short_eot + 600
    assert short_ttfa is not None
    assert long_ttfa is not None
    assert long_ttfa > short_ttfa
    # the cut-off turn was committed twice: the labelled turn became two
    assert long_frag == 1.0
    assert short_frag is not None
    assert short_frag > long_frag


def test_speech_during_the_reply_stops_it(
    hold_clip: Clip, prepared: Prepared, reply: np.ndarray
) -> None:
    # 200 ms of silence ends the first turn in the hold: the reply starts, speech resumes
    run = run_local(hold_clip, _config(200), reply=reply, prepared=prepared)
    cut = [p for p in run.plays if p.stop is not None]
    assert cut, run.plays
    p = cut[0]
    stopped_ms = p.stopped_ms
    assert stopped_ms is not None
    assert p.stop == "speech_started"
    assert p.end_ms <= stopped_ms
    assert p.end_ms - p.start_ms < p.sent_ms
    stop = round(stopped_ms * RATE / 1000)
    nxt = [q.start_ms for q in run.plays if q.start_ms > stopped_ms]
    until = round(nxt[0] * RATE / 1000) if nxt else len(run.agent)
    assert not run.agent[stop:until].any()
    kinds = [e["type"] for t, e in run.events if t == p.stopped_ms]
    assert "input_audio_buffer.speech_started" in kinds
    assert any(  # interrupt_response: the server cancelled the reply too
        e["type"] == "response.done" and e["response"]["status"] == "cancelled"
        for _, e in run.events
    )


def test_from_timeline_rebuilds_the_local_agent_channel(
    hold_clip: Clip, prepared: Prepared, reply: np.ndarray
) -> None:
    run = run_local(hold_clip, _config(200), reply=reply, prepared=prepared)
    again = from_timeline(hold_clip, run.events, duration_ms=run.duration_ms)
    assert np.array_equal(again.agent, run.agent)
    assert again.plays == run.plays
    assert run.agent.any()


def test_the_stereo_wav_has_the_user_left_and_the_agent_right(
    hold_clip: Clip, prepared: Prepared, reply: np.ndarray, tmp_path: Path
) -> None:
    run = run_local(hold_clip, _config(500), reply=reply, prepared=prepared)
    path = run.write_wav(tmp_path / "run.wav")
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, RATE)
        frames = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2)
    assert np.array_equal(frames[:, 0], run.user)
    assert np.array_equal(frames[:, 1], run.agent)
    assert run.agent.any()
    assert run.user.any()
    table = run.events_frame()
    assert list(table.columns) == ["t_ms", "type", "event"]
    assert len(table) == len(run.events)
    assert table["type"].iloc[0] == "session.created"


def test_bad_inputs_name_the_field(hold_clip: Clip, prepared: Prepared, reply: np.ndarray) -> None:
    other = Clip("other", np.zeros(RATE, np.int16), ())
    with pytest.raises(ConfigError, match="prepared"):
        run_local(other, SessionConfig(), reply=reply, prepared=prepared)
    with pytest.raises(ConfigError, match="reply"):
        run_local(hold_clip, SessionConfig(), reply=np.zeros((2, 2), np.int16), prepared=prepared)
    with pytest.raises(ConfigError, match="tail_ms"):
        run_local(hold_clip, SessionConfig(), reply=reply, prepared=prepared, tail_ms=-1)
    with pytest.raises(ConfigError, match="timeline"):
        from_timeline(hold_clip, [(10.0, {"type": "a"}), (5.0, {"type": "b"})])
    with pytest.raises(ConfigError, match="agent"):
        ClipRun(other, {}, [], np.zeros(3, np.int16), np.zeros(2, np.int16))


def test_the_default_reply_comes_from_the_suite_module(
    hold_clip: Clip, prepared: Prepared, reply: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite = types.ModuleType("realtime_widgets.evals.suite")
    suite.default_reply = lambda: reply  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "realtime_widgets.evals.suite", suite)
    run = run_local(hold_clip, _config(500), prepared=prepared)
    given = run_local(hold_clip, _config(500), prepared=prepared, reply=reply)
    assert np.array_equal(run.agent, given.agent)
    monkeypatch.setitem(sys.modules, "realtime_widgets.evals.suite", None)  # not installed
    with pytest.raises(ConfigError, match="reply"):
        run_local(hold_clip, _config(500), prepared=prepared)


def test_the_player_decodes_deltas_in_the_sessions_output_format(hold_clip: Clip) -> None:
    tone = (8000 * np.sin(np.arange(800) * 2 * np.pi * 440 / 8000)).astype(np.int16)
    pcmu = {
        "type": "session.updated",
        "session": {"audio": {"output": {"format": {"type": "audio/pcmu"}}}},
    }
    data = base64.b64encode(ulaw_encode(tone)).decode()
    delta = {"type": "response.output_audio.delta", "response_id": "r", "delta": data}
    run = from_timeline(hold_clip, [(0.0, pcmu), (1000.0, delta)])
    (p,) = run.plays
    assert (p.start_ms, p.end_ms) == (1000.0, 1100.0)  # 800 samples at 8 kHz: 100 ms
    played = run.agent[RATE : RATE + RATE // 10].astype(np.float64)
    assert np.sqrt(np.mean(played**2)) == pytest.approx(8000 / np.sqrt(2), rel=0.1)
    assert not run.agent[:RATE].any()
    assert not run.agent[RATE + RATE // 10 + 48 :].any()


def _over_the_reply(sound: np.ndarray) -> Clip:
    """A turn, then real speech 1 s later while the agent answers it (a barge-in), the turn's
    end, and ``sound`` 900 ms after it, while the agent answers again (a backchannel)."""
    store = recorded_speech()
    a, a0, a1 = store["Hello there, how are you today?", "marin"]
    b, b0, b1 = store["I would like to book a table for two.", "ash"]
    x = np.concatenate([np.zeros(RATE // 2, np.int16), a, np.zeros(RATE, np.int16), b])
    x = np.concatenate([x, np.zeros(3 * RATE, np.int16)])
    sa = 500.0
    sb = sa + _ms(len(a)) + 1000
    at = round((sb + b1 + 900) * RATE / 1000)
    x[at : at + len(sound)] = sound
    spans = (
        Span(sa + a0, sa + a1, "speech"),
        Span(sa + a1, sb + b0, "eot"),
        Span(sb + b0, sb + b1, "speech"),
        Span(sb + b0, sb + b1, "barge_in"),
        Span(sb + b1, _ms(len(x)), "eot"),
        Span(_ms(at), _ms(at + len(sound)), "backchannel"),
    )
    return Clip("over", x, spans)


def test_a_barge_in_stops_the_reply_and_a_click_does_not(reply: np.ndarray) -> None:
    store = recorded_speech()
    b, b0, _ = store["I would like to book a table for two.", "ash"]
    word = b[round(b0 * RATE / 1000) : round(b0 * RATE / 1000) + 8400]  # 350 ms of a word
    click = np.full(48, 20000, np.int16)  # 2 ms: shorter than any turn's start (30 ms)
    results = {}
    for name, sound in (("word", word), ("click", click)):
        clip = _over_the_reply(sound)
        results[name] = measure(run_local(clip, _config(500), reply=reply))
    for m in results.values():
        assert m.barge_in_stopped == [True]  # speech over the reply stopped it...
        assert 0 < m.barge_in_stop_ms[0] < 150  # ...as soon as its start was decided
        assert m.eot_decided == [True, True]
    assert results["click"].backchannel_stopped == [False]
    assert results["word"].backchannel_stopped == [True]
    s = summarize(results.values())
    assert s["false_barge_in_rate"] == 0.5
    assert s["talk_over_rate"] == 0.0
    assert s["n_backchannel"] == s["n_barge_in"] == 2
