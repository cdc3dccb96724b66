"""WAV files: read 8/16/24/32-bit integer or 32/64-bit float, mono or multi-channel (downmixed),
any rate (optionally resampled); write 16-bit mono or multi-channel. Clear errors for anything else.

Integer PCM goes through the stdlib ``wave`` module. Python 3.11's ``wave`` refuses float and
WAVE_FORMAT_EXTENSIBLE files (which browsers and DAWs write), so those are read by a small
RIFF chunk reader here.
"""

from __future__ import annotations

import io
import struct
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from realtime_widgets.audio.pcm import Int16Array, as_int16, float_to_int16
from realtime_widgets.audio.rate import MODEL_RATE
from realtime_widgets.audio.resample import resample
from realtime_widgets.errors import AudioFormatError

__all__ = ["WavInfo", "read_wav", "write_wav"]

_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE


@dataclass(frozen=True)
class WavInfo:
    """What the file held before conversion."""

    rate: int
    channels: int
    bits: int
    encoding: str  # "pcm" or "float"
    frames: int


Source = str | Path | bytes | BinaryIO


def _open(source: Source) -> tuple[bytes, str]:
    if isinstance(source, bytes):
        return source, "<bytes>"
    if isinstance(source, str | Path):
        path = Path(source)
        try:
            return path.read_bytes(), str(path)
        except OSError as exc:
            raise AudioFormatError(f"cannot read WAV file {path}: {exc.strerror}") from None
    return source.read(), getattr(source, "name", "<stream>")


def _to_mono_int16(
    frames: npt.NDArray[np.generic], channels: int, encoding: str, bits: int
) -> Int16Array:
    x = frames.reshape(-1, channels)
    if encoding == "float":
        mono = x.astype(np.float64).mean(axis=1)
        return float_to_int16(mono)
    # Integers: scale to float in [-1, 1) by the bit depth, mix, back to int16.
    if bits == 8:
        scaled = (x.astype(np.float64) - 128.0) / 128.0
    else:
        scaled = x.astype(np.float64) / float(2 ** (bits - 1))
    if bits == 16 and channels == 1:
        return x[:, 0].astype(np.int16)
    return float_to_int16(scaled.mean(axis=1) * (32768.0 / 32767.0))


def _decode_ints(raw: bytes, bits: int) -> npt.NDArray[np.generic]:
    if bits == 8:
        return np.frombuffer(raw, dtype=np.uint8)
    if bits == 16:
        return np.frombuffer(raw, dtype="<i2")
    if bits == 24:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        return np.where(v >= 1 << 23, v - (1 << 24), v)
    if bits == 32:
        return np.frombuffer(raw, dtype="<i4")
    raise AudioFormatError(f"unsupported WAV bit depth {bits}; supported: 8, 16, 24, 32")


def _read_riff(data: bytes, name: str) -> tuple[npt.NDArray[np.generic], WavInfo]:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioFormatError(f"{name} is not a WAV file (no RIFF/WAVE header)")
    pos = 12
    fmt: tuple[int, int, int, int] | None = None
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = data[pos + 8 : pos + 8 + size]
        if chunk == b"fmt ":
            if len(body) < 16:
                raise AudioFormatError(f"{name}: truncated fmt chunk")
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == _EXTENSIBLE:
                if len(body) < 26:
                    raise AudioFormatError(f"{name}: truncated WAVE_FORMAT_EXTENSIBLE header")
                tag = struct.unpack("<H", body[24:26])[0]  # the sub-format GUID's first field
            fmt = (tag, channels, rate, bits)
        elif chunk == b"data":
            if fmt is None:
                raise AudioFormatError(f"{name}: data chunk before the fmt chunk")
            tag, channels, rate, bits = fmt
            if len(body) < size:
                raise AudioFormatError(
                    f"{name} is truncated: the data chunk declares {size} bytes, "
                    f"the file holds {len(body)}"
                )
            if channels < 1:
                raise AudioFormatError(f"{name}: invalid channel count {channels}")
            if tag == _FLOAT and bits in (32, 64):
                frames = np.frombuffer(
                    body[: len(body) // (bits // 8) * (bits // 8)], dtype=f"<f{bits // 8}"
                )
                encoding = "float"
            elif tag == _PCM:
                width = bits // 8
                usable = len(body) // (width * channels) * (width * channels)
                frames = _decode_ints(body[:usable], bits)
                encoding = "pcm"
            else:
                raise AudioFormatError(
                    f"{name}: unsupported WAV encoding (format tag {tag}, {bits} bits); "
                    "supported: integer PCM 8/16/24/32-bit and float 32/64-bit"
                )
            usable_frames = len(frames) // channels
            frames = frames[: usable_frames * channels]
            return frames, WavInfo(rate, channels, bits, encoding, usable_frames)
        pos += 8 + size + (size & 1)
    raise AudioFormatError(f"{name} has no data chunk (truncated or not audio)")


def read_wav(source: Source, *, rate: int | None = None) -> tuple[Int16Array, WavInfo]:
    """Mono int16 samples of a WAV file (path, bytes or file object), and what the file held.

    ``rate`` resamples to that rate (e.g. 24000 for the Realtime API); the returned
    ``WavInfo.rate`` is always the file's own rate.
    """
    data, name = _open(source)
    try:
        with wave.open(io.BytesIO(data)) as w:
            channels, width, file_rate, nframes = (
                w.getnchannels(),
                w.getsampwidth(),
                w.getframerate(),
                w.getnframes(),
            )
            raw = w.readframes(nframes)
        if len(raw) < nframes * width * channels:
            raise AudioFormatError(
                f"{name} is truncated: the header declares {nframes} frames, the file holds "
                f"{len(raw) // max(1, width * channels)}"
            )
        frames = _decode_ints(raw, width * 8)
        info = WavInfo(file_rate, channels, width * 8, "pcm", nframes)
    except (wave.Error, EOFError):
        frames, info = _read_riff(data, name)  # float / extensible / odd files, or a clear error
    samples = _to_mono_int16(frames, info.channels, info.encoding, info.bits)
    if rate is not None and rate != info.rate:
        samples = as_int16(resample(samples, info.rate, rate))
    return samples, info


def write_wav(
    target: str | Path | BinaryIO, samples: npt.ArrayLike, rate: int = MODEL_RATE
) -> None:
    """Write 16-bit PCM: ``samples`` of shape (n,) is mono, (n, channels) has a column per
    channel (e.g. a stereo conversation); float input is converted by the toolkit's clip rule."""
    x = np.asarray(samples)
    if x.ndim == 2 and x.shape[1] >= 1:
        channels = x.shape[1]
        x = as_int16(x.reshape(-1)).reshape(x.shape)
    elif x.ndim == 1:
        channels = 1
        x = as_int16(x)
    else:
        raise AudioFormatError(
            f"samples must be 1-D (mono) or (frames, channels), got shape {x.shape}"
        )
    data = np.ascontiguousarray(x, dtype="<i2")
    handle = open(target, "wb") if isinstance(target, str | Path) else target  # noqa: SIM115
    try:
        with wave.open(handle, "wb") as w:
            w.setnchannels(channels)
            w.setsampwidth(2)
            w.setframerate(int(rate))
            w.writeframes(data.data.cast("B"))  # the array's own bytes: no copy
    finally:
        if isinstance(target, str | Path):
            handle.close()
