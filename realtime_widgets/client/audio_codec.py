"""The client's audio codecs: the session's input format out, the model's output audio in.

:class:`InputFrames` turns microphone, file or array audio at any rate into the bytes of
``input_audio_buffer.append`` events in the session's input format (PCM16 at 24 kHz, G.711
at 8 kHz; GPT-Live's PCM may be 16 kHz: ``wire_rate``), cut to the frame limit; it keeps one
resampling encoder per source rate, whose filter tail is flushed before a commit.
:class:`OutputDecoder` turns the assistant's audio deltas, in the session's output format,
into 24 kHz int16 for the taps, with a resampler per item for any other rate. Both are owned
by :class:`~realtime_widgets.client.core.ClientCore`, which records and queues what they
produce; they hold codec state only and do no I/O.
"""

from __future__ import annotations

import base64

import numpy as np
import numpy.typing as npt

from realtime_widgets.audio.formats import InputEncoder, decode, wire_rate
from realtime_widgets.audio.pcm import as_int16, int16_to_bytes
from realtime_widgets.audio.rate import MODEL_RATE
from realtime_widgets.audio.resample import Resampler
from realtime_widgets.errors import ProtocolError

__all__ = ["InputFrames", "OutputDecoder"]

Int16 = npt.NDArray[np.int16]


class InputFrames:
    """Audio in -> the payloads of append events (bytes, each at most ``limit``)."""

    def __init__(self) -> None:
        self._encoders: dict[int, InputEncoder] = {}

    def encode(
        self, x: Int16, rate: int, fmt: str, limit: int, wire: int | None = None
    ) -> list[bytes]:
        """``x`` (int16 at ``rate``) in ``fmt`` at the ``wire`` rate (None: the format's own),
        in pieces of at most ``limit`` bytes. (The live path, PCM16 at its wire rate that fits
        one frame, is the core's own: it encodes straight from the array's buffer.)"""
        to_rate = wire_rate(fmt, wire)
        if fmt == "audio/pcm" and rate == to_rate:
            out = int16_to_bytes(x)
        else:
            encoder = self._encoders.get(rate)
            if encoder is None or encoder.fmt != fmt or encoder.to_rate != to_rate:
                encoder = self._encoders[rate] = InputEncoder(fmt, rate, to_rate)
            out = encoder.encode(x)
        return _split(out, limit)

    def flush(self, limit: int) -> list[bytes]:
        """What the resamplers' filters still hold, in pieces of at most ``limit`` bytes."""
        pieces: list[bytes] = []
        for encoder in self._encoders.values():
            pieces.extend(_split(encoder.flush(), limit))
        return pieces

    def reset(self) -> None:
        """Forget every encoder (the input format changed; flush first)."""
        self._encoders.clear()


def _split(data: bytes, limit: int) -> list[bytes]:
    """``data`` in pieces of at most ``limit`` bytes (none when empty)."""
    return [data[i : i + limit] for i in range(0, len(data), limit)]


class OutputDecoder:
    """The assistant's audio deltas -> 24 kHz int16 (other rates resampled with state per item)."""

    def __init__(self) -> None:
        self._resamplers: dict[str, Resampler] = {}

    def delta(self, item_id: str, b64: str, fmt: str, rate: int | None = None) -> Int16:
        """One delta's samples (``rate``: the wire rate, None for the format's own). Raises
        :class:`ProtocolError` for text that is not base64 and
        :class:`~realtime_widgets.errors.AudioFormatError` for bytes the format cannot hold
        (an odd PCM16 byte count): that delta's audio is lost, nothing else."""
        try:
            data = base64.b64decode(b64)
        except ValueError as exc:  # binascii.Error, or text that is not ASCII
            raise ProtocolError(f"not base64: {exc}") from None
        samples = decode(data, fmt)
        from_rate = wire_rate(fmt, rate)
        if from_rate == MODEL_RATE:
            return samples
        resampler = self._resamplers.get(item_id)
        if resampler is None:
            resampler = self._resamplers[item_id] = Resampler(from_rate, MODEL_RATE)
        return as_int16(resampler.process(samples))

    def done(self, item_id: str) -> Int16 | None:
        """The samples the item's resampler still holds, when its audio is done (or None)."""
        resampler = self._resamplers.pop(item_id, None)
        if resampler is None:
            return None
        tail = as_int16(resampler.flush())
        return tail if tail.size else None

    def reset(self) -> None:
        """Forget every item's resampler (the connection was lost)."""
        self._resamplers.clear()
