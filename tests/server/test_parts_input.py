"""The input part (:class:`~realtime_widgets.server.turns.InputTurns`) built alone: a recording
emitter, a config it reads, a scripted turn detector. No engine: what a turn means elsewhere
comes back as outcomes, checked by value."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pytest

from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.parts import ServerVad
from realtime_widgets.server.limits import ServerLimits
from realtime_widgets.server.outcomes import SpeechStarted, TurnEnded, TurnsDecided
from realtime_widgets.server.turns import InputTurns
from realtime_widgets.server.vad import TurnEvent

from .parts import RecordingEmitter, ScriptedDetector, kinds, silence, split, tone


class Rig:
    """An InputTurns with everything it is given in reach."""

    def __init__(self, config: SessionConfig, limits: ServerLimits | None = None) -> None:
        self.config = config
        self.out = RecordingEmitter()
        self.detectors: list[ScriptedDetector] = []
        self.part = InputTurns(self.out, lambda: self.config, limits or ServerLimits(), self._new)
        self.part.sync_detector()

    def _new(self, td: Any) -> Any:
        self.detectors.append(ScriptedDetector(td))
        return self.detectors[-1]

    @property
    def detector(self) -> ScriptedDetector:
        return self.detectors[-1]

    def append(self, samples: np.ndarray, event_id: str = "evt_a") -> list[Any]:
        audio = base64.b64encode(samples.astype("<i2").tobytes()).decode()
        event = ev.InputAudioBufferAppend(audio=audio, event_id=event_id)
        return list(self.part.on_append(event, 0.0))


def manual() -> SessionConfig:
    return SessionConfig(turn_detection=None)


def vad(**changes: Any) -> SessionConfig:
    return SessionConfig(turn_detection=ServerVad(prefix_padding_ms=200, **changes))


def test_audio_without_turn_detection_is_buffered_and_decided_at_once() -> None:
    rig = Rig(manual())
    steps = rig.append(tone(250))
    assert steps == [TurnsDecided()]
    assert rig.out.written == []
    assert rig.part.input_ms == 250
    assert rig.part.appended_bytes == 250 * 48


def test_a_manual_commit_returns_the_turn_and_writes_nothing() -> None:
    rig = Rig(manual())
    audio = tone(150)
    rig.append(audio)
    steps = rig.part.on_commit(ev.InputAudioBufferCommit(event_id="evt_c"), 0.0)
    assert kinds(steps) == ["TurnEnded"]
    (turn,) = steps
    assert turn == TurnEnded("item_part000100001", "commit", audio, "evt_c")
    assert isinstance(turn, TurnEnded)
    assert np.array_equal(turn.audio, audio)
    assert rig.out.written == []  # the committed event is the conversation's to write
    assert rig.part.buffer.ms == 0


def test_a_commit_under_100_ms_is_openais_error_and_keeps_the_buffer() -> None:
    rig = Rig(manual())
    rig.append(tone(60))
    (error,) = rig.part.on_commit(ev.InputAudioBufferCommit(event_id="evt_c"), 0.0)
    assert isinstance(error, dict)
    assert error["error"]["code"] == "input_audio_buffer_commit_empty"
    assert error["error"]["event_id"] == "evt_c"
    assert "buffer only has 60.00ms of audio" in error["error"]["message"]
    assert rig.out.errors == 1
    assert rig.part.buffer.ms == 60


def test_an_append_past_the_buffer_limit_is_refused_and_the_audio_kept() -> None:
    rig = Rig(manual(), ServerLimits(max_buffer_s=1.0))
    rig.append(tone(800))
    (error,) = rig.append(tone(400), event_id="evt_big")
    assert error["error"]["code"] == "input_audio_buffer_full"
    assert error["error"]["param"] == "audio"
    assert "would hold 1.2 s" in error["error"]["message"]
    assert rig.part.input_ms == 800
    assert rig.part.appended_bytes == 800 * 48


def test_a_detected_turn_is_speech_started_then_stopped_with_its_audio() -> None:
    rig = Rig(vad())
    rig.append(silence(1000))
    rig.detector.script.append([TurnEvent("start", 1500, 1600)])
    started = rig.append(tone(1000))
    assert kinds(started) == ["input_audio_buffer.speech_started", "SpeechStarted", "TurnsDecided"]
    item = started[0]["item_id"]
    assert started[0]["audio_start_ms"] == 1300  # the boundary minus prefix_padding_ms
    assert started[1] == SpeechStarted(item, 1300)
    rig.detector.script.append([TurnEvent("stop", 2400, 2900)])
    stopped = rig.append(silence(1000))
    assert kinds(stopped) == ["input_audio_buffer.speech_stopped", "TurnEnded", "TurnsDecided"]
    assert stopped[0]["audio_end_ms"] == 2900
    assert stopped[0]["item_id"] == item
    turn = stopped[1]
    assert turn == TurnEnded(item, "turn_detected", np.zeros(0, np.int16))
    assert len(turn.audio) == (2900 - 1300) * 24  # from the padded start to the decision


def test_steps_are_yielded_one_at_a_time_so_the_engine_can_route_between_them() -> None:
    rig = Rig(vad())
    rig.detector.script.append([TurnEvent("start", 100, 200), TurnEvent("stop", 600, 900)])
    audio = base64.b64encode(tone(1000).astype("<i2").tobytes()).decode()
    stream = iter(rig.part.on_append(ev.InputAudioBufferAppend(audio=audio), 0.0))
    assert next(stream)["type"] == "input_audio_buffer.speech_started"
    assert isinstance(next(stream), SpeechStarted)
    # Until the engine asks for more, the second turn is not decided: nothing more written.
    assert [e["type"] for e in rig.out.written] == ["input_audio_buffer.speech_started"]
    rest, outcomes = split(stream)
    assert [e["type"] for e in rest] == ["input_audio_buffer.speech_stopped"]
    assert [type(o).__name__ for o in outcomes] == ["TurnEnded", "TurnsDecided"]


def test_speech_stops_the_idle_timer_and_after_turns_fires_it_only_without_a_reply() -> None:
    rig = Rig(vad(idle_timeout_ms=5000))
    rig.append(silence(500))
    rig.part.idle_from(500.0)  # a reply ended there (the engine says so)
    rig.append(silence(4900))
    assert rig.part.after_turns(replying=False) == []  # not yet 5 s
    rig.append(silence(300))
    assert rig.part.after_turns(replying=True) == []  # a reply in progress: no timeout
    steps = rig.part.after_turns(replying=False)
    assert kinds(steps) == ["input_audio_buffer.timeout_triggered", "TurnEnded"]
    assert (steps[0]["audio_start_ms"], steps[0]["audio_end_ms"]) == (500, 5700)
    assert steps[1].trigger == "idle_timeout"
    assert steps[1].item_id == steps[0]["item_id"]
    assert len(steps[1].audio) == 5200 * 24
    assert rig.part.idle_anchor_ms is None  # it fires once
    rig.part.idle_from(5700.0)
    rig.detector.script.append([TurnEvent("start", 5800, 5900)])
    rig.append(tone(200))
    assert rig.part.idle_anchor_ms is None  # speech stopped the timer


def test_clear_drops_the_buffer_and_the_turn_in_progress() -> None:
    rig = Rig(vad())
    rig.append(tone(300))
    (cleared,) = rig.part.on_clear(ev.InputAudioBufferClear(), 0.0)
    assert cleared["type"] == "input_audio_buffer.cleared"
    assert cleared["event_id"] == "event_part000100001"
    assert rig.part.buffer.ms == 0
    assert rig.detector.resets == 1


@pytest.mark.parametrize("fmt", ["audio/pcmu", "audio/pcma"])
def test_g711_input_is_decoded_onto_the_models_timeline(fmt: str) -> None:
    rig = Rig(manual().with_changes(input_audio_format={"type": fmt}))
    audio = base64.b64encode(bytes(800)).decode()  # 100 ms at 8 kHz
    assert list(rig.part.on_append(ev.InputAudioBufferAppend(audio=audio), 0.0)) == [TurnsDecided()]
    assert 0 < rig.part.input_ms <= 100  # the resampler holds some back at first
    for _ in range(9):
        list(rig.part.on_append(ev.InputAudioBufferAppend(audio=audio), 0.0))
    assert rig.part.appended_bytes == 8000
    assert 900 <= rig.part.input_ms <= 1000  # 1 s of 8 kHz audio, less the resampler's delay
