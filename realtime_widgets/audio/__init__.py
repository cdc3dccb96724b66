"""Audio in pure numpy (plus soxr): PCM16, G.711, resampling, envelopes, WAV, ring buffers.

No I/O beyond files; used by the client, the local server and the widgets.
"""

from __future__ import annotations

from realtime_widgets.audio.envelope import EnvelopeBuilder, envelope
from realtime_widgets.audio.formats import (
    FORMAT_RATES,
    InputEncoder,
    bytes_per_ms,
    decode,
    encode,
    wire_rate,
)
from realtime_widgets.audio.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from realtime_widgets.audio.pcm import (
    as_int16,
    base64_to_pcm16,
    bytes_to_int16,
    float_to_int16,
    int16_to_bytes,
    int16_to_float,
    pcm16_to_base64,
)
from realtime_widgets.audio.rate import (
    MODEL_RATE,
    SAMPLES_PER_MS,
    ms_to_samples,
    samples_to_ms,
    samples_to_s,
)
from realtime_widgets.audio.resample import COMMON_RATES, Resampler, resample, to_model_rate
from realtime_widgets.audio.ring import AudioRing, Chunker
from realtime_widgets.audio.wav import WavInfo, read_wav, write_wav

__all__ = [
    "COMMON_RATES",
    "FORMAT_RATES",
    "MODEL_RATE",
    "SAMPLES_PER_MS",
    "AudioRing",
    "Chunker",
    "EnvelopeBuilder",
    "InputEncoder",
    "Resampler",
    "WavInfo",
    "alaw_decode",
    "alaw_encode",
    "as_int16",
    "base64_to_pcm16",
    "bytes_per_ms",
    "bytes_to_int16",
    "decode",
    "encode",
    "envelope",
    "float_to_int16",
    "int16_to_bytes",
    "int16_to_float",
    "ms_to_samples",
    "pcm16_to_base64",
    "read_wav",
    "resample",
    "samples_to_ms",
    "samples_to_s",
    "to_model_rate",
    "ulaw_decode",
    "ulaw_encode",
    "wire_rate",
    "write_wav",
]
