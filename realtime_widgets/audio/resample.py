"""Resampling through soxr: one-shot, and streaming with state (no clicks at chunk borders).

Rates in use: 8 kHz (G.711), 16 kHz, 24 kHz (the Realtime API), 44.1 and 48 kHz (browsers,
files). Input may be int16 or float; output has the input's kind (int16 stays int16).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import soxr

from realtime_widgets.audio.pcm import Int16Array, as_int16
from realtime_widgets.audio.rate import MODEL_RATE
from realtime_widgets.errors import AudioFormatError

__all__ = ["COMMON_RATES", "Resampler", "resample", "to_model_rate"]

COMMON_RATES = (8000, 16000, 24000, 44100, 48000)


def _check_rate(name: str, rate: float) -> None:
    if not (isinstance(rate, int | float) and 1000 <= rate <= 384000):
        raise AudioFormatError(f"{name} must be a sample rate in Hz (1000..384000), got {rate!r}")


def _prepare(samples: npt.ArrayLike) -> npt.NDArray[np.generic]:
    x = np.asarray(samples)
    if x.ndim != 1:
        raise AudioFormatError(f"resampling needs mono audio (a 1-D array), got shape {x.shape}")
    if x.dtype == np.int16 or x.dtype == np.float32:
        return x
    if np.issubdtype(x.dtype, np.floating):
        return x.astype(np.float32)
    raise AudioFormatError(f"resampling takes int16 or float samples, got dtype {x.dtype}")


def resample(samples: npt.ArrayLike, from_rate: float, to_rate: int) -> npt.NDArray[np.generic]:
    """The whole signal at ``to_rate`` (soxr's high quality; returns the input if equal).
    ``from_rate`` may be fractional: reading audio as if sampled faster shifts its pitch."""
    _check_rate("from_rate", from_rate)
    _check_rate("to_rate", to_rate)
    x = _prepare(samples)
    if from_rate == to_rate or x.size == 0:
        return x.copy()
    out: npt.NDArray[np.generic] = soxr.resample(x, from_rate, to_rate, quality="HQ")
    return out


def to_model_rate(samples: npt.ArrayLike, rate: int) -> Int16Array:
    """Samples at ``rate`` as int16 at the model's rate (as they are when already there)."""
    if rate == MODEL_RATE:
        return as_int16(samples)
    return as_int16(resample(samples, rate, MODEL_RATE))


class Resampler:
    """Streaming resampler: feed chunks of any size with :meth:`process`, end with
    :meth:`flush`. The concatenated output equals one-shot :func:`resample` of the whole."""

    def __init__(self, from_rate: int, to_rate: int, dtype: str = "int16") -> None:
        _check_rate("from_rate", from_rate)
        _check_rate("to_rate", to_rate)
        if dtype not in ("int16", "float32"):
            raise AudioFormatError(f"dtype must be 'int16' or 'float32', got {dtype!r}")
        self.from_rate = from_rate
        self.to_rate = to_rate
        self.dtype = np.dtype(dtype)
        self._stream = (
            None
            if from_rate == to_rate
            else soxr.ResampleStream(from_rate, to_rate, 1, dtype=dtype, quality="HQ")
        )

    def process(self, chunk: npt.ArrayLike) -> npt.NDArray[np.generic]:
        x = np.asarray(chunk)
        if x.ndim != 1:
            raise AudioFormatError(f"resampling needs mono audio (1-D), got shape {x.shape}")
        if x.dtype != self.dtype:
            raise AudioFormatError(f"this Resampler takes {self.dtype} chunks, got {x.dtype}")
        if self._stream is None:
            return x.copy()
        out: npt.NDArray[np.generic] = self._stream.resample_chunk(x, last=False)
        return out

    def flush(self) -> npt.NDArray[np.generic]:
        """The samples still held by the filter (call once, at the end of the stream)."""
        if self._stream is None:
            return np.zeros(0, dtype=self.dtype)
        out: npt.NDArray[np.generic] = self._stream.resample_chunk(
            np.zeros(0, dtype=self.dtype), last=True
        )
        self._stream.clear()
        return out
