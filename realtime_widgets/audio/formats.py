"""The Realtime API's three audio formats, to and from int16 samples.

``audio/pcm`` is PCM16 at 24 kHz; ``audio/pcmu`` / ``audio/pcma`` are G.711 at 8 kHz. An
:class:`InputEncoder` takes microphone/file audio at any rate and produces the bytes to send in
the session's input format, resampling with state so chunk borders stay clean.

GPT-Live also takes ``audio/pcm`` at 16 kHz (its format carries a ``rate``): :func:`wire_rate`
checks a rate against a format (:data:`FORMAT_WIRE_RATES`), and the encoder takes it.
"""

from __future__ import annotations

import numpy.typing as npt

from realtime_widgets.audio.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from realtime_widgets.audio.pcm import Int16Array, as_int16, bytes_to_int16, int16_to_bytes
from realtime_widgets.audio.rate import MODEL_RATE
from realtime_widgets.audio.resample import Resampler
from realtime_widgets.errors import AudioFormatError

__all__ = [
    "BYTES_PER_SAMPLE",
    "FORMAT_RATES",
    "FORMAT_WIRE_RATES",
    "InputEncoder",
    "bytes_per_ms",
    "decode",
    "encode",
    "wire_rate",
]

FORMAT_RATES: dict[str, int] = {"audio/pcm": MODEL_RATE, "audio/pcmu": 8000, "audio/pcma": 8000}
# Every rate a format is sent at: Realtime's PCM is 24 kHz only, GPT-Live's 16 or 24 kHz.
FORMAT_WIRE_RATES: dict[str, tuple[int, ...]] = {
    "audio/pcm": (16000, MODEL_RATE),
    "audio/pcmu": (8000,),
    "audio/pcma": (8000,),
}
BYTES_PER_SAMPLE = {"audio/pcm": 2, "audio/pcmu": 1, "audio/pcma": 1}


def _check(fmt: str) -> None:
    if fmt not in FORMAT_RATES:
        raise AudioFormatError(
            f"audio format must be one of {', '.join(FORMAT_RATES)}, got {fmt!r}"
        )


def wire_rate(fmt: str, rate: int | None = None) -> int:
    """The sample rate ``fmt`` is sent at: ``rate`` when the format takes it (PCM: 16000 or
    24000), else the format's own (None: ``FORMAT_RATES[fmt]``)."""
    _check(fmt)
    if rate is None:
        return FORMAT_RATES[fmt]
    if rate not in FORMAT_WIRE_RATES[fmt]:
        allowed = " or ".join(str(r) for r in FORMAT_WIRE_RATES[fmt])
        raise AudioFormatError(f"{fmt} is sent at {allowed} Hz, got {rate!r}")
    return rate


def bytes_per_ms(fmt: str) -> float:
    """Bytes of one millisecond of audio in a wire format (48 for pcm, 8 for G.711)."""
    _check(fmt)
    return FORMAT_RATES[fmt] * BYTES_PER_SAMPLE[fmt] / 1000


def encode(samples: npt.ArrayLike, fmt: str) -> bytes:
    """Samples already at the format's rate -> wire bytes."""
    _check(fmt)
    if fmt == "audio/pcm":
        return int16_to_bytes(samples)
    return ulaw_encode(samples) if fmt == "audio/pcmu" else alaw_encode(samples)


def decode(data: bytes | bytearray | memoryview, fmt: str) -> Int16Array:
    """Wire bytes -> int16 samples at the format's rate (``FORMAT_RATES[fmt]``)."""
    _check(fmt)
    if fmt == "audio/pcm":
        return bytes_to_int16(data)
    return ulaw_decode(data) if fmt == "audio/pcmu" else alaw_decode(data)


class InputEncoder:
    """Audio at ``from_rate`` in, wire bytes of ``fmt`` out (at ``to_rate``: the format's own
    by default, :func:`wire_rate`), chunk by chunk."""

    def __init__(self, fmt: str, from_rate: int = MODEL_RATE, to_rate: int | None = None) -> None:
        self.to_rate = wire_rate(fmt, to_rate)
        self.fmt = fmt
        self.from_rate = from_rate
        self._resampler = Resampler(from_rate, self.to_rate, dtype="int16")

    def encode(self, samples: npt.ArrayLike) -> bytes:
        x = as_int16(samples)
        return encode(as_int16(self._resampler.process(x)), self.fmt)

    def flush(self) -> bytes:
        rest = as_int16(self._resampler.flush())
        return encode(rest, self.fmt) if rest.size else b""
