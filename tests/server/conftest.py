"""Shared fixtures: synthetic speech with known boundaries, and an engine driven by a fake clock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from realtime_widgets.server.engine import EngineOptions, SessionEngine
from realtime_widgets.server.input_transcripts import run_inline
from realtime_widgets.server.reply.material import produce_reply_sync
from realtime_widgets.server.reply.responder import LocalResponder
from realtime_widgets.server.tts import Synthesizer
from tests.speech import Clip, b64, make_clip

__all__ = ["Clip", "Counting", "Driver", "b64", "make_clip"]


class Counting:
    """A recogniser that answers 'call N' and keeps the length of each audio it heard."""

    def __init__(self) -> None:
        self.heard: list[int] = []

    def __call__(self, audio: np.ndarray) -> str:
        self.heard.append(len(audio))
        return f"call {len(self.heard)}"


@dataclass
class Driver:
    """Runs a SessionEngine synchronously with a fake clock and the default responder."""

    engine: SessionEngine
    now: float = 0.0
    events: list[dict[str, Any]] = field(default_factory=list)
    speak: Any = None
    responder: Any = None

    def send(self, event: dict[str, Any] | str, advance: float = 0.0) -> list[dict[str, Any]]:
        self.now += advance
        text = event if isinstance(event, str) else json.dumps(event)
        out = self.engine.receive(text, self.now)
        out += self._work()
        self.events += out
        return out

    def _work(self) -> list[dict[str, Any]]:
        # Turns are transcribed first (a response may wait for what was heard), inline.
        out = run_inline(self.engine, self.engine.options.transcriber, self.now)
        for req in self.engine.take_requests():
            material = produce_reply_sync(req, self.responder or LocalResponder(), self.speak)
            out += self.engine.reply_ready(req, material, self.now)
        return out

    def advance(self, seconds: float) -> list[dict[str, Any]]:
        self.now += seconds
        out = self.engine.tick(self.now)
        out += self._work()
        self.events += out
        return out

    def stream(
        self, samples: np.ndarray, chunk_ms: int = 40, realtime: bool = True
    ) -> list[dict[str, Any]]:
        """Append audio in chunks, advancing the clock by each chunk's duration."""
        out: list[dict[str, Any]] = []
        step = chunk_ms * 24
        for i in range(0, len(samples), step):
            out += self.send(
                {"type": "input_audio_buffer.append", "audio": b64(samples[i : i + step])},
                advance=chunk_ms / 1000 if realtime else 0.0,
            )
            out += self.advance(0.0)
        return out

    def types(self, events: list[dict[str, Any]] | None = None) -> list[str]:
        return [e["type"] for e in (self.events if events is None else events)]

    def of(self, kind: str, events: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        return [e for e in (self.events if events is None else events) if e["type"] == kind]


@pytest.fixture
def driver(synth: Synthesizer) -> Iterator[Driver]:
    engine = SessionEngine(
        # Strictly real time (no lead): the engine tests time events against the reply's clock.
        options=EngineOptions(pace=1.0, lead=0.0, wall_clock=lambda: 0.0),
        session_id="sess_test0001",
    )
    d = Driver(engine, speak=synth.speak)
    d.events += engine.start(0.0)
    yield d
    engine.close()
