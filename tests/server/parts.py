"""Helpers to build one engine part alone: a recording emitter and a scripted turn detector."""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from realtime_widgets.audio import MODEL_RATE, ms_to_samples
from realtime_widgets.audio.pcm import Int16Array
from realtime_widgets.protocol.parts import SemanticVad, ServerVad
from realtime_widgets.server.emitter import Event, SessionEmitter
from realtime_widgets.server.outcomes import Outcome, Step
from realtime_widgets.server.vad import TurnEvent


class RecordingEmitter(SessionEmitter):
    """The session's emitter, also keeping every event written, in order."""

    def __init__(self) -> None:
        super().__init__("sess_part0001")
        self.written: list[Event] = []

    def send(self, payload: Event) -> Event:
        event = super().send(payload)
        self.written.append(event)
        return event


def split(steps: Any) -> tuple[list[Event], list[Outcome]]:
    """A part's answer as (events, outcomes), each in order."""
    events: list[Event] = []
    outcomes: list[Outcome] = []
    for step in steps:
        (events if isinstance(step, dict) else outcomes).append(step)  # type: ignore[arg-type]
    return events, outcomes


def kinds(steps: list[Step]) -> list[str]:
    """Each step's event type, or its outcome's class name."""
    return [s["type"] if isinstance(s, dict) else type(s).__name__ for s in steps]


class ScriptedDetector:
    """A turn detector that reports the turns it is told to, on the next ``feed``."""

    def __init__(self, detection: ServerVad | SemanticVad) -> None:
        self.detection = detection
        self.script: deque[list[TurnEvent]] = deque()
        self.in_speech = False
        self.pending = False
        self.closed = False
        self.resets = 0

    def feed(self, samples: Int16Array) -> list[TurnEvent]:
        turns = self.script.popleft() if self.script else []
        for turn in turns:
            self.in_speech = turn.kind == "start"
        return turns

    def configure(self, detection: ServerVad | SemanticVad) -> None:
        self.detection = detection

    def reset_turn(self) -> None:
        self.resets += 1
        self.in_speech = False

    def resume(self) -> list[TurnEvent]:
        return []

    def settle(self) -> list[TurnEvent]:
        return []

    def close(self) -> None:
        self.closed = True


def silence(ms: int) -> Int16Array:
    return np.zeros(ms_to_samples(ms), dtype=np.int16)


def tone(ms: int) -> Int16Array:
    t = np.arange(ms_to_samples(ms))
    return (8000 * np.sin(2 * np.pi * 220 * t / MODEL_RATE)).astype(np.int16)
