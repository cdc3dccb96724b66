"""The model's audio rate, once: 24 kHz mono PCM16, and the conversions between time and samples.

The Realtime API's ``audio/pcm`` is 24 kHz; G.711 (``audio/pcmu``, ``audio/pcma``) is 8 kHz on the
wire and 24 kHz once decoded. Every part of the toolkit that turns milliseconds into samples of the
model's audio (or back) uses these, so the rate appears in one place.
"""

from __future__ import annotations

__all__ = ["MODEL_RATE", "SAMPLES_PER_MS", "ms_to_samples", "samples_to_ms", "samples_to_s"]

MODEL_RATE = 24_000  # samples a second of the model's audio (in and out)
SAMPLES_PER_MS = MODEL_RATE // 1000  # 24


def ms_to_samples(ms: float) -> int:
    """Samples of model audio in ``ms`` milliseconds (whole samples, rounded down)."""
    return int(ms * SAMPLES_PER_MS)


def samples_to_ms(samples: int) -> float:
    """Milliseconds that ``samples`` of model audio last."""
    return samples / SAMPLES_PER_MS


def samples_to_s(samples: int) -> float:
    """Seconds that ``samples`` of model audio last."""
    return samples / MODEL_RATE
