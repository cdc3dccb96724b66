"""Min/max envelopes for waveform views: per bin of ``bin_ms``, the lowest and highest sample.

The kernel sends these (int16 pairs) instead of audio: 10 ms bins of 24 kHz audio are 240x
smaller. :class:`EnvelopeBuilder` is the streaming form: partial bins carry over to the next
chunk, so chunked and one-shot envelopes are identical.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from realtime_widgets.audio.pcm import Int16Array, as_int16
from realtime_widgets.audio.rate import MODEL_RATE
from realtime_widgets.errors import AudioFormatError

__all__ = ["EnvelopeBuilder", "envelope"]


def _bin_size(bin_ms: float, rate: int) -> int:
    size = round(bin_ms * rate / 1000)
    if size < 1:
        raise AudioFormatError(f"bin_ms={bin_ms} is shorter than one sample at {rate} Hz")
    return size


def _minmax(x: Int16Array, size: int) -> Int16Array:
    bins = x[: len(x) // size * size].reshape(-1, size)
    out = np.empty((bins.shape[0], 2), dtype=np.int16)
    out[:, 0] = bins.min(axis=1)
    out[:, 1] = bins.max(axis=1)
    return out


def envelope(
    samples: npt.ArrayLike, bin_ms: float = 10.0, rate: int = MODEL_RATE, *, partial: bool = True
) -> Int16Array:
    """Array of shape (bins, 2): [min, max] per bin. A last partial bin is kept unless
    ``partial=False``."""
    x = as_int16(samples)
    size = _bin_size(bin_ms, rate)
    full = _minmax(x, size)
    rest = x[len(x) // size * size :]
    if partial and rest.size:
        tail = np.array([[rest.min(), rest.max()]], dtype=np.int16)
        return np.concatenate([full, tail])
    return full


class EnvelopeBuilder:
    """Streaming :func:`envelope`: ``add(chunk)`` returns the bins completed by that chunk."""

    def __init__(self, bin_ms: float = 10.0, rate: int = MODEL_RATE) -> None:
        self.bin_ms = bin_ms
        self.rate = rate
        self._size = _bin_size(bin_ms, rate)
        self._carry: Int16Array = np.zeros(0, dtype=np.int16)
        self.bins_emitted = 0

    def add(self, chunk: npt.ArrayLike) -> Int16Array:
        x = as_int16(chunk)
        if self._carry.size:
            x = np.concatenate([self._carry, x])
        whole = len(x) // self._size * self._size
        self._carry = x[whole:].copy()
        out = _minmax(x[:whole], self._size)
        self.bins_emitted += len(out)
        return out

    def flush(self) -> Int16Array:
        """The last partial bin, if any."""
        if not self._carry.size:
            return np.zeros((0, 2), dtype=np.int16)
        out = np.array([[self._carry.min(), self._carry.max()]], dtype=np.int16)
        self._carry = np.zeros(0, dtype=np.int16)
        self.bins_emitted += 1
        return out
