"""Bounded audio history with a sample-time index, and a fixed-size frame chunker.

:class:`AudioRing` keeps the last ``capacity`` samples and knows the absolute index of each
(sample 0 is the first ever appended): "what did the listener hear up to 2.3 s" and the
waveform's history both read from it. :class:`Chunker` turns arbitrary-sized input into
20/40/100 ms frames for ``input_audio_buffer.append``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from realtime_widgets.audio.pcm import Int16Array, as_int16
from realtime_widgets.audio.rate import MODEL_RATE
from realtime_widgets.errors import AudioFormatError

__all__ = ["AudioRing", "Chunker"]


class AudioRing:
    """The most recent ``capacity`` samples of a stream, addressable by absolute index."""

    def __init__(self, capacity: int, rate: int = MODEL_RATE) -> None:
        if capacity < 1:
            raise AudioFormatError(f"capacity must be at least 1 sample, got {capacity}")
        self.capacity = capacity
        self.rate = rate
        self._buf: Int16Array = np.zeros(capacity, dtype=np.int16)
        self.end = 0  # absolute index one past the newest sample

    @property
    def start(self) -> int:
        """Absolute index of the oldest retained sample."""
        return max(0, self.end - self.capacity)

    def __len__(self) -> int:
        return self.end - self.start

    def append(self, samples: npt.ArrayLike) -> int:
        """Store samples; returns the absolute index of the first one."""
        x = as_int16(samples)
        first = self.end
        self.end = first + len(x)
        if len(x) > self.capacity:
            x = x[-self.capacity :]  # only the newest fit; they end at the new end
        pos = (self.end - len(x)) % self.capacity
        head = min(len(x), self.capacity - pos)
        self._buf[pos : pos + head] = x[:head]
        self._buf[: len(x) - head] = x[head:]
        return first

    def read(self, start: int, stop: int) -> Int16Array:
        """Samples [start, stop) by absolute index; raises if they are no longer held."""
        if start < self.start or stop > self.end or start > stop:
            raise AudioFormatError(
                f"samples {start}..{stop} are not held; the ring holds {self.start}..{self.end}"
            )
        idx = np.arange(start, stop) % self.capacity
        return self._buf[idx]

    def last(self, n: int) -> Int16Array:
        n = min(n, len(self))
        return self.read(self.end - n, self.end)

    def ms_to_index(self, ms: float) -> int:
        return round(ms * self.rate / 1000)

    def index_to_ms(self, index: int) -> float:
        return index * 1000 / self.rate


class Chunker:
    """Cuts a stream into frames of exactly ``frame_ms`` (20, 40 or 100 ms are typical)."""

    def __init__(self, frame_ms: float = 40.0, rate: int = MODEL_RATE) -> None:
        size = round(frame_ms * rate / 1000)
        if size < 1:
            raise AudioFormatError(f"frame_ms={frame_ms} is shorter than one sample at {rate} Hz")
        self.frame_ms = frame_ms
        self.rate = rate
        self.frame_size = size
        self._carry: Int16Array = np.zeros(0, dtype=np.int16)

    def feed(self, samples: npt.ArrayLike) -> list[Int16Array]:
        """The whole frames now available, in order; the remainder waits for more input."""
        x = as_int16(samples)
        if self._carry.size:
            x = np.concatenate([self._carry, x])
        whole = len(x) // self.frame_size * self.frame_size
        self._carry = x[whole:].copy()
        return [x[i : i + self.frame_size] for i in range(0, whole, self.frame_size)]

    def flush(self, *, pad: bool = False) -> Int16Array | None:
        """What is left (zero-padded to a whole frame if ``pad``), or None."""
        if not self._carry.size:
            return None
        rest = self._carry
        self._carry = np.zeros(0, dtype=np.int16)
        if pad:
            rest = np.concatenate([rest, np.zeros(self.frame_size - len(rest), dtype=np.int16)])
        return rest
