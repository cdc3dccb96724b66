"""A labelled clip in livekit/eot-bench's row schema: ``id``, ``language``, ``audio``, ``spans``.

Every span is on the clip's own audio clock (ms from its first sample) and has a label:

- ``speech``: the person speaks;
- ``hold``: a pause inside a turn; the server ending the turn here is a *false cutoff*;
- ``eot``: the turn really ended here (from the true speech end to the next speech, or the
  clip's end); the server should decide the turn is over inside it, and soon;
- ``backchannel``: a short "mm-hmm", cough or noise while the agent speaks; it must not stop
  the agent;
- ``barge_in``: real speech while the agent speaks; it must stop the agent.

``words`` (optional) are the words spoken, for transcript checks. ``meta`` says where the audio
comes from (``source``, ``licence``, and ``synthetic: True`` for any synthetic sound).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, get_args

import numpy as np

from realtime_widgets.audio.pcm import Int16Array, as_int16
from realtime_widgets.audio.rate import MODEL_RATE
from realtime_widgets.errors import ConfigError, FieldProblem

__all__ = ["LABELS", "RATE", "Clip", "Label", "Span"]

RATE = MODEL_RATE  # every clip is held at 24 kHz mono int16, the model's rate
Label = Literal["speech", "hold", "eot", "backchannel", "barge_in"]
LABELS: tuple[str, ...] = get_args(Label)


@dataclass(frozen=True)
class Span:
    """A labelled stretch of a clip, in ms of its audio."""

    start_ms: float
    end_ms: float
    label: Label
    text: str = ""

    def __post_init__(self) -> None:
        if self.label not in LABELS:
            raise ConfigError(
                [
                    FieldProblem(
                        "spans.label",
                        f"spans: label must be one of {', '.join(LABELS)}; got {self.label!r}",
                    )
                ]
            )
        if not 0 <= self.start_ms < self.end_ms:
            raise ConfigError(
                [
                    FieldProblem(
                        "spans.start_ms",
                        f"spans: a {self.label} span needs 0 <= start_ms < end_ms, got "
                        f"{self.start_ms}..{self.end_ms}",
                    )
                ]
            )

    @property
    def duration_ms(self) -> float:
        return self.end_ms - self.start_ms

    def as_row(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "label": self.label,
        }
        if self.text:
            row["text"] = self.text
        return row


@dataclass(frozen=True, eq=False)
class Clip:
    """24 kHz mono int16 audio with its labelled spans (sorted by start)."""

    id: str
    samples: Int16Array = field(repr=False)
    spans: tuple[Span, ...]
    language: str = "en"
    words: tuple[str, ...] | None = None
    meta: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        # Read-only and the clip's own: the audio a clip was made with stays its audio (``hash``
        # is computed once), even when the caller later writes into the array it passed.
        given = np.asarray(self.samples)
        samples = as_int16(given)
        samples = samples.copy() if np.may_share_memory(samples, given) else samples
        samples.setflags(write=False)
        object.__setattr__(self, "samples", samples)
        object.__setattr__(self, "spans", tuple(sorted(self.spans, key=lambda s: s.start_ms)))
        if self.samples.ndim != 1:
            raise ConfigError(
                [FieldProblem("audio", f"clip {self.id!r}: mono audio needed, got shape "
                              f"{self.samples.shape}")]
            )  # fmt: skip
        late = [s for s in self.spans if s.end_ms > self.duration_ms + 1]
        if late:
            raise ConfigError(
                [FieldProblem("spans.end_ms", f"clip {self.id!r}: span {late[0]} ends after the "
                              f"audio ({self.duration_ms:.0f} ms)")]
            )  # fmt: skip

    @property
    def duration_ms(self) -> float:
        return len(self.samples) * 1000 / RATE

    def of(self, label: str) -> list[Span]:
        """The spans with ``label``, in order."""
        return [s for s in self.spans if s.label == label]

    @cached_property
    def hash(self) -> str:
        """A content hash of the audio and the labels (the sweep cache's clip key; computed
        once: the clip is frozen and its samples a read-only view)."""
        h = hashlib.sha256()
        h.update(self.samples.tobytes())
        for s in self.spans:
            h.update(f"{s.start_ms:.3f},{s.end_ms:.3f},{s.label};".encode())
        return h.hexdigest()[:16]
