"""Clips for the VAD lab: 24 kHz mono audio, optionally with ground-truth turns.

A clip comes from a WAV path (any rate and width; labels are read from the JSON file beside it,
``name.json``), a numpy array (24 kHz, or ``(array, rate)``), a microphone take (a
:class:`~realtime_widgets.widgets.microphone.Microphone` after a recording), or a session
recording (the JSONL written with ``record=``: the input audio the client appended).

Labels (``name.json``)::

    {"description": "...", "turns": [{"start_ms": 1000, "end_ms": 2850, "text": "..."}, ...]}

A *turn* is what a listener takes as one turn of the speaker, pauses inside it included: the
server should start a turn inside it, and not end one before it is over. Everything outside the
turns (noise, a cough, silence) should start no turn.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from realtime_widgets.audio.formats import FORMAT_RATES, decode
from realtime_widgets.audio.pcm import Int16Array, as_int16
from realtime_widgets.audio.rate import MODEL_RATE
from realtime_widgets.audio.resample import resample
from realtime_widgets.audio.wav import read_wav, write_wav
from realtime_widgets.errors import AudioFormatError, RealtimeWidgetsError

__all__ = ["LabClip", "Segment", "example_clips", "load_clip"]

RATE = MODEL_RATE  # the lab's clips are on the model's timeline


@dataclass(frozen=True)
class Segment:
    """A labelled turn, in ms from the clip's start."""

    start_ms: float
    end_ms: float
    text: str = ""

    def __post_init__(self) -> None:
        if not 0 <= self.start_ms < self.end_ms:
            raise RealtimeWidgetsError(
                f"turns: a turn needs 0 <= start_ms < end_ms, got {self.start_ms}..{self.end_ms}"
            )


@dataclass
class LabClip:
    """24 kHz mono int16 audio, a name, and (when labelled) the true turns."""

    samples: Int16Array
    name: str = "clip"
    truth: list[Segment] | None = None
    description: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_ms(self) -> float:
        return len(self.samples) * 1000 / RATE

    def labels(self) -> dict[str, Any]:
        """The labels as written beside a WAV."""
        return {
            "description": self.description,
            "turns": [
                {"start_ms": s.start_ms, "end_ms": s.end_ms, "text": s.text}
                for s in self.truth or []
            ],
        }

    def save(self, path: str | Path) -> Path:
        """Write the WAV (16-bit, 24 kHz) and, when labelled, the labels beside it."""
        path = Path(path)
        write_wav(path, self.samples, RATE)
        if self.truth is not None:
            path.with_suffix(".json").write_text(json.dumps(self.labels(), indent=2) + "\n")
        return path


def _parse_labels(data: Any, source: str) -> tuple[list[Segment], str]:
    if not isinstance(data, dict) or not isinstance(data.get("turns"), list):
        raise RealtimeWidgetsError(
            f"{source}: labels must be an object with a 'turns' list of "
            "{'start_ms', 'end_ms', 'text'} objects"
        )
    turns = []
    for n, turn in enumerate(data["turns"]):
        try:
            turns.append(
                Segment(float(turn["start_ms"]), float(turn["end_ms"]), str(turn.get("text", "")))
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RealtimeWidgetsError(
                f"{source}: turns[{n}] needs numeric start_ms and end_ms ({exc})"
            ) from None
    turns.sort(key=lambda s: s.start_ms)
    return turns, str(data.get("description", ""))


def _as_truth(labels: Any) -> list[Segment] | None:
    if labels is None:
        return None
    if isinstance(labels, dict):
        return _parse_labels(labels, "labels")[0]
    return [s if isinstance(s, Segment) else Segment(float(s[0]), float(s[1])) for s in labels]


def _from_recording(path: Path) -> Int16Array:
    """The input audio a recorded session appended, in its input format, at 24 kHz."""
    fmt = "audio/pcm"
    parts: list[Int16Array] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise RealtimeWidgetsError(f"{path}: line {n + 1} is not JSON") from None
        event = row.get("event") or {}
        if row.get("dir") != "out":
            continue
        if event.get("type") == "session.update":
            found = event.get("session", {}).get("audio", {}).get("input", {}).get("format", {})
            fmt = found.get("type", fmt) if isinstance(found, dict) else fmt
        elif event.get("type") == "input_audio_buffer.append":
            pcm = decode(base64.b64decode(event.get("audio", "")), fmt)
            rate = FORMAT_RATES[fmt]
            parts.append(pcm if rate == RATE else as_int16(resample(pcm, rate, RATE)))
    if not parts:
        raise RealtimeWidgetsError(f"{path}: the recording holds no appended input audio")
    return as_int16(np.concatenate(parts))


def load_clip(source: Any, labels: Any = None, *, name: str | None = None) -> LabClip:
    """A :class:`LabClip` from a WAV path, an array, ``(array, rate)``, a microphone take, a
    session recording (``.jsonl``) or a LabClip; ``labels`` overrides labels found beside it."""
    if isinstance(source, LabClip):
        clip = source
        if labels is not None:
            clip = LabClip(clip.samples, clip.name, _as_truth(labels), clip.description)
        return clip
    truth = _as_truth(labels)
    description = ""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise AudioFormatError(f"clip: no such file: {path}")
        if path.suffix.lower() == ".jsonl":
            samples = _from_recording(path)
        else:
            samples, _ = read_wav(path, rate=RATE)
            beside = path.with_suffix(".json")
            if truth is None and beside.exists():
                truth, description = _parse_labels(json.loads(beside.read_text()), str(beside))
        return LabClip(samples, name or path.stem, truth, description)
    if hasattr(source, "take_audio"):  # a Microphone widget's last take
        samples = as_int16(source.take_audio())
        if not len(samples):
            raise AudioFormatError("clip: the microphone has no take yet (start and stop it)")
        return LabClip(samples, name or "microphone take", truth)
    if isinstance(source, tuple) and len(source) == 2:
        array, rate = source
        samples = as_int16(np.asarray(array))
        if int(rate) != RATE:
            samples = as_int16(resample(samples, int(rate), RATE))
        return LabClip(samples, name or "array", truth)
    if isinstance(source, np.ndarray):
        if source.ndim != 1:
            raise AudioFormatError(f"clip: a mono array is needed, got shape {source.shape}")
        return LabClip(as_int16(source), name or "array", truth)
    raise AudioFormatError(
        "clip: give a WAV path, a recording (.jsonl), a numpy array (24 kHz), (array, rate), "
        f"a Microphone or a LabClip; got {type(source).__name__}"
    )


def example_clips() -> dict[str, LabClip]:
    """The labelled example clips shipped with the package, by name."""
    folder = resources.files("realtime_widgets.vadlab") / "clips"
    clips = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".wav"):
            with resources.as_file(entry) as path:
                clip = load_clip(path)
            clips[clip.name] = clip
    return clips
