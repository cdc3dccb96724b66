"""Short labelled clips for the sweep tests, from the committed test utterances
(tests/data/speech.wav: eSpeak NG, synthetic, so each clip's meta says so)."""

from __future__ import annotations

import numpy as np

from realtime_widgets.evals.clip import RATE, Clip, Span
from tests.speech import recorded_speech

Piece = tuple[str, str] | tuple[str, float]


def build(clip_id: str, pieces: list[Piece], lead_ms: float = 300) -> Clip:
    """Utterances ``(text, voice)`` and pauses ``("hold" | "eot", ms)``: each pause span runs
    from the utterance's measured speech end to the next speech start (a last eot to the end)."""
    store = recorded_speech()
    parts = [np.zeros(round(lead_ms * RATE / 1000), np.int16)]
    pos = lead_ms
    spans: list[Span] = []
    pause: tuple[str, float] | None = None
    for first, second in pieces:
        if first in ("hold", "eot"):
            pause = (first, float(second))
            parts.append(np.zeros(round(float(second) * RATE / 1000), np.int16))
            pos += float(second)
            continue
        samples, a, b = store[first, str(second)]
        if pause is not None:
            spans.append(Span(spans[-1].end_ms, pos + a, pause[0]))  # type: ignore[arg-type]
            pause = None
        spans.append(Span(pos + a, pos + b, "speech", str(first)))
        parts.append(samples)
        pos += len(samples) * 1000 / RATE
    audio = np.concatenate(parts)
    if pause is not None:
        spans.append(Span(spans[-1].end_ms, len(audio) * 1000 / RATE, pause[0]))  # type: ignore[arg-type]
    return Clip(
        clip_id, audio, tuple(spans), meta={"source": "tests/data/speech.wav", "synthetic": True}
    )


def short_clips() -> list[Clip]:
    """Two clips of ~3-4 s: a 450 ms hold inside a turn and a turn end; two one-word turns."""
    return [
        build(
            "hold-then-end",
            [("First part", "marin"), ("hold", 450), ("second part", "marin"), ("eot", 1300)],
        ),
        build("two-turns", [("Seven", "cedar"), ("eot", 1100), ("Yes", "echo"), ("eot", 1200)]),
    ]
