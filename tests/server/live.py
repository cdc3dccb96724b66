"""A GPT-Live engine driven synchronously with a fake clock, for the Live tests: the reply
pipeline and the recogniser run inline (as :class:`~tests.server.conftest.Driver` does for a
Realtime engine), and every event the engine emits is checked against the SDK's Live server
union (strict, no unknown key at any depth) as it comes out."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from realtime_widgets.audio.formats import encode
from realtime_widgets.audio.rate import MODEL_RATE
from realtime_widgets.audio.resample import resample
from realtime_widgets.server.input_transcripts import run_inline
from realtime_widgets.server.live_engine import LiveEngine
from realtime_widgets.server.options import EngineOptions
from realtime_widgets.server.reply.material import produce_reply_sync
from realtime_widgets.server.reply.responder import LocalResponder, ResponderError
from tests.protocol.sdk_oracle import check_live_server_event
from tests.speech import recorded_speech

__all__ = ["LiveDriver", "Recognise", "Script", "decode_audio", "live_driver", "to_wire"]


class Script:
    """A recogniser that answers each turn with the next scripted text (the last one again
    when they run out) and keeps the length of each audio it heard."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.heard: list[int] = []

    def __call__(self, audio: np.ndarray) -> str:
        self.heard.append(len(audio))
        return self.answers[min(len(self.heard), len(self.answers)) - 1]


class Recognise:
    """A recogniser that knows the committed utterances (:func:`~tests.speech.recorded_speech`):
    it answers a turn with the text given for the utterance the turn holds, found by the
    correlation of the turn's first 300 ms of speech with each utterance's (any wire format:
    resampled or G.711 audio still correlates), and keeps each answer. A turn's early
    (speculative) transcription and its commit get the same answer."""

    def __init__(self, answers: dict[str, str]) -> None:
        store = recorded_speech()
        self.answers = answers
        self.refs = {
            text: _onset(samples)
            for (text, _voice), (samples, _s, _e) in store.items()
            if text in answers
        }
        self.said: list[str] = []

    def __call__(self, audio: np.ndarray) -> str:
        window = _onset(audio)
        if len(window) < 2400:
            return ""

        def score(ref: np.ndarray) -> float:
            n = min(len(ref), len(window))
            a, b = window[:n], ref[:n]
            return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))

        text = max(self.refs, key=lambda t: score(self.refs[t]))
        self.said.append(self.answers[text])
        return self.answers[text]


def _onset(samples: np.ndarray) -> np.ndarray:
    """300 ms from where the speech starts (the first 1 ms above 3 % of full scale)."""
    x = np.asarray(samples, dtype=np.float64)
    loud = np.nonzero(np.abs(x) > 0.03 * 32768)[0]
    return x[loud[0] : loud[0] + 7200] if len(loud) else x[:0]


def to_wire(samples: np.ndarray, fmt: dict[str, Any]) -> bytes:
    """24 kHz samples in a Live audio format's bytes."""
    rate = fmt.get("rate", MODEL_RATE)
    x = samples if rate == MODEL_RATE else np.asarray(resample(samples, MODEL_RATE, rate))
    return encode(np.asarray(x, dtype=np.int16), fmt["type"])


def decode_audio(events: list[dict[str, Any]]) -> bytes:
    """The bytes of every ``session.output_audio.delta`` among ``events``, in order."""
    return b"".join(
        base64.b64decode(e["delta"]) for e in events if e["type"] == "session.output_audio.delta"
    )


@dataclass
class LiveDriver:
    """Runs a :class:`LiveEngine` synchronously with a fake clock."""

    engine: LiveEngine
    now: float = 0.0
    events: list[dict[str, Any]] = field(default_factory=list)
    speak: Any = None
    responder: Any = None
    fmt: dict[str, Any] = field(default_factory=lambda: {"type": "audio/pcm", "rate": 24000})

    def _out(self, out: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for event in out:
            check_live_server_event(event)  # nothing the SDK's Live union does not model
        self.events += out
        return out

    def send(self, event: dict[str, Any] | str, advance: float = 0.0) -> list[dict[str, Any]]:
        self.now += advance
        text = event if isinstance(event, str) else json.dumps(event)
        out = self.engine.receive(text, self.now)
        out += self._work()
        return self._out(out)

    def _work(self) -> list[dict[str, Any]]:
        out = run_inline(self.engine, self.engine.options.transcriber, self.now)
        for request in self.engine.take_requests():
            responder = request.responder or self.responder or LocalResponder()
            try:
                material = produce_reply_sync(request, responder, self.speak)
            except ResponderError as exc:  # (the pipeline hands the engine its failure)
                out += self.engine.reply_end(request, self.now, exc)
                continue
            out += self.engine.reply_ready(request, material, self.now)
        return out

    def advance(self, seconds: float) -> list[dict[str, Any]]:
        self.now += seconds
        out = self.engine.tick(self.now)
        out += self._work()
        return self._out(out)

    def run_for(self, seconds: float, step: float = 0.02) -> list[dict[str, Any]]:
        """Let ``seconds`` pass in ``step``s (the ticker's releases in between)."""
        out: list[dict[str, Any]] = []
        for _ in range(round(seconds / step)):
            out += self.advance(step)
        return out

    def start(self, **session: Any) -> dict[str, Any]:
        session.setdefault("model", "gpt-live-1")
        session.setdefault("audio", {"format": self.fmt})
        (started,) = self.send({"type": "session.start", "session": session, "event_id": "start"})
        assert started["type"] == "session.started", started
        return started

    def stream(
        self, samples: np.ndarray, chunk_ms: int = 40, realtime: bool = True
    ) -> list[dict[str, Any]]:
        """Append 24 kHz audio in the session's format, in chunks, the clock advancing by
        each chunk's duration."""
        out: list[dict[str, Any]] = []
        step = chunk_ms * 24
        for i in range(0, len(samples), step):
            data = to_wire(samples[i : i + step], self.fmt)
            audio = base64.b64encode(data).decode()
            out += self.send(
                {"type": "session.input_audio.append", "audio": audio},
                advance=chunk_ms / 1000 if realtime else 0.0,
            )
            out += self.advance(0.0)
        return out

    def silence(self, ms: int, chunk_ms: int = 40) -> list[dict[str, Any]]:
        return self.stream(np.zeros(ms * 24, dtype=np.int16), chunk_ms)

    def of(self, kind: str, events: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        return [e for e in (self.events if events is None else events) if e["type"] == kind]

    def types(self, events: list[dict[str, Any]] | None = None) -> list[str]:
        return [e["type"] for e in (self.events if events is None else events)]

    def said(self, events: list[dict[str, Any]] | None = None) -> str:
        """The output transcript of ``events`` (all so far by default), joined."""
        return "".join(e["delta"] for e in self.of("session.output_transcript.delta", events))


def live_driver(
    synth: Any,
    transcriber: Callable[[np.ndarray], str] | None = None,
    *,
    pace: float = 1.0,
    lead: float = 0.0,
    fmt: dict[str, Any] | None = None,
    **options: Any,
) -> LiveDriver:
    """A driver over a fresh engine (strictly real time by default: no lead)."""
    engine = LiveEngine(
        options=EngineOptions(
            pace=pace,
            lead=lead,
            wall_clock=lambda: 1_800_000_000.0,
            transcriber=transcriber,
            **options,
        ),
        session_id="sess_live0001",
    )
    driver = LiveDriver(engine, speak=None if synth is None else synth.speak)
    if fmt is not None:
        driver.fmt = fmt
    driver._out(engine.start(0.0))
    return driver
