"""PCM16 little-endian bytes <-> int16 / float32 arrays, and base64 for the wire.

The conversion rule, everywhere in the toolkit: float samples are in [-1.0, 1.0]; values
outside are clipped, NaN becomes 0 (silence), +/-inf clip to full scale. float -> int16 is
``round(x * 32767)``; int16 -> float is ``x / 32768`` (so -32768 maps to exactly -1.0).
"""

from __future__ import annotations

import base64
import binascii

import numpy as np
import numpy.typing as npt

from realtime_widgets.errors import AudioFormatError

__all__ = [
    "Int16Array",
    "as_int16",
    "base64_to_pcm16",
    "bytes_to_int16",
    "float_to_int16",
    "int16_to_bytes",
    "int16_to_float",
    "pcm16_to_base64",
]

Int16Array = npt.NDArray[np.int16]
Float32Array = npt.NDArray[np.float32]


def bytes_to_int16(data: bytes | bytearray | memoryview) -> Int16Array:
    """PCM16 little-endian bytes -> int16 array (a view, no copy, when already aligned)."""
    if len(data) % 2:
        raise AudioFormatError(
            f"PCM16 data must have an even number of bytes (2 per sample), got {len(data)}"
        )
    return np.frombuffer(data, dtype="<i2").astype(np.int16, copy=False)


def int16_to_bytes(samples: npt.ArrayLike) -> bytes:
    """int16 samples -> PCM16 little-endian bytes."""
    return np.ascontiguousarray(as_int16(samples), dtype="<i2").tobytes()


def float_to_int16(samples: npt.ArrayLike) -> Int16Array:
    """Float samples in [-1, 1] -> int16 (clipped; NaN -> 0; see the module docstring)."""
    x = np.asarray(samples, dtype=np.float64)
    x = np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(np.rint(x * 32767.0), -32768, 32767).astype(np.int16)


def int16_to_float(samples: npt.ArrayLike) -> Float32Array:
    """int16 -> float32 in [-1, 1)."""
    return np.asarray(samples, dtype=np.int16).astype(np.float32) / np.float32(32768.0)


def as_int16(samples: npt.ArrayLike) -> Int16Array:
    """Any sample array as int16: floats are converted by the module's rule, ints checked."""
    x = np.asarray(samples)
    if x.ndim != 1:
        raise AudioFormatError(f"audio must be one channel (a 1-D array), got shape {x.shape}")
    if x.dtype == np.int16:
        return x
    if np.issubdtype(x.dtype, np.floating):
        return float_to_int16(x)
    if np.issubdtype(x.dtype, np.integer):
        if x.size and (x.min() < -32768 or x.max() > 32767):
            raise AudioFormatError(
                f"integer samples must fit int16 (-32768..32767), got {x.min()}..{x.max()}"
            )
        return x.astype(np.int16)
    raise AudioFormatError(f"audio samples must be int16 or float, got dtype {x.dtype}")


def pcm16_to_base64(samples: npt.ArrayLike | bytes) -> str:
    """Samples (or PCM16 bytes) -> base64 text for ``input_audio_buffer.append``.

    An aligned little-endian int16 array is encoded straight from its buffer, without a
    ``tobytes()`` copy.
    """
    if isinstance(samples, bytes | bytearray | memoryview):
        return binascii.b2a_base64(samples, newline=False).decode("ascii")
    x = np.ascontiguousarray(as_int16(samples), dtype="<i2")
    return binascii.b2a_base64(x.data, newline=False).decode("ascii")


def base64_to_pcm16(text: str | bytes) -> Int16Array:
    """base64 text of PCM16 audio (an ``output_audio.delta``) -> int16 samples."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise AudioFormatError(f"audio is not valid base64: {exc}") from None
    return bytes_to_int16(raw)
