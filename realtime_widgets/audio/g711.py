"""G.711 mu-law and A-law, bit-exact with ITU-T G.711 (as CPython's audioop implements it).

Encoding and decoding are table lookups: the 65,536-entry encode tables and 256-entry decode
tables are computed once, at import, from the reference algorithm (vectorised below). The
encoder works on 16-bit input as audioop does: mu-law quantises ``sample >> 2`` (14 bits),
A-law ``sample >> 3`` (13 bits).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from realtime_widgets.audio.pcm import Int16Array, as_int16

__all__ = ["alaw_decode", "alaw_encode", "ulaw_decode", "ulaw_encode"]

_SEG_UEND = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
_SEG_AEND = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])
_BIAS = 0x84
_CLIP = 8159


def _segment(values: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    # The first segment whose end is >= value (8 when none is).
    return np.searchsorted(ends, values, side="left").astype(np.int64)


def _ulaw_encode_reference(samples: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
    pcm = samples >> 2
    negative = pcm < 0
    mask = np.where(negative, 0x7F, 0xFF)
    magnitude = np.minimum(np.where(negative, -pcm, pcm), _CLIP) + (_BIAS >> 2)
    seg = _segment(magnitude, _SEG_UEND)
    code = (np.minimum(seg, 7) << 4) | ((magnitude >> (np.minimum(seg, 7) + 1)) & 0xF)
    code = np.where(seg >= 8, 0x7F, code)
    return (code ^ mask).astype(np.uint8)


def _alaw_encode_reference(samples: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
    pcm = samples >> 3
    negative = pcm < 0
    mask = np.where(negative, 0x55, 0xD5)
    magnitude = np.where(negative, -pcm - 1, pcm)
    seg = _segment(magnitude, _SEG_AEND)
    shift = np.where(seg < 2, 1, np.minimum(seg, 7))
    code = (np.minimum(seg, 7) << 4) | ((magnitude >> shift) & 0xF)
    code = np.where(seg >= 8, 0x7F, code)
    return (code ^ mask).astype(np.uint8)


def _ulaw_decode_reference(codes: npt.NDArray[np.int64]) -> npt.NDArray[np.int16]:
    u = ~codes & 0xFF
    t = (((u & 0x0F) << 3) + _BIAS) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, _BIAS - t, t - _BIAS).astype(np.int16)


def _alaw_decode_reference(codes: npt.NDArray[np.int64]) -> npt.NDArray[np.int16]:
    a = codes ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    t = np.where(seg == 0, t + 8, t + 0x108)
    t = np.where(seg > 1, t << np.maximum(seg - 1, 0), t)
    return np.where(a & 0x80, t, -t).astype(np.int16)


_ALL_SAMPLES = np.arange(65536, dtype=np.int64)
_ALL_SAMPLES = np.where(_ALL_SAMPLES >= 32768, _ALL_SAMPLES - 65536, _ALL_SAMPLES)  # uint16 order
_ALL_CODES = np.arange(256, dtype=np.int64)
# Encode tables are indexed by the sample's bit pattern (int16 viewed as uint16).
_ULAW_ENCODE = _ulaw_encode_reference(_ALL_SAMPLES)
_ALAW_ENCODE = _alaw_encode_reference(_ALL_SAMPLES)
_ULAW_DECODE = _ulaw_decode_reference(_ALL_CODES)
_ALAW_DECODE = _alaw_decode_reference(_ALL_CODES)


def _pair_table(single: npt.NDArray[np.int16]) -> npt.NDArray[np.uint32]:
    """Decode two codes per lookup: index = two code bytes read as a little-endian uint16,
    value = the two little-endian int16 samples packed in a uint32. Halves the lookups."""
    pairs = np.arange(65536)
    as_u16 = single.view(np.uint16).astype(np.uint32)
    table: npt.NDArray[np.uint32] = as_u16[pairs & 0xFF] | (as_u16[pairs >> 8] << 16)
    return table


_ULAW_PAIRS = _pair_table(_ULAW_DECODE)
_ALAW_PAIRS = _pair_table(_ALAW_DECODE)


def _encode(table: npt.NDArray[np.uint8], samples: npt.ArrayLike) -> bytes:
    x = np.ascontiguousarray(as_int16(samples))
    # mode="wrap": every uint16 is a valid index, so skip the bounds check.
    return table.take(x.view(np.uint16), mode="wrap").tobytes()


def _decode(
    pairs: npt.NDArray[np.uint32],
    single: npt.NDArray[np.int16],
    data: bytes | bytearray | memoryview,
) -> Int16Array:
    codes = np.frombuffer(data, dtype=np.uint8)
    even = len(codes) & ~1
    if even == len(codes):  # the common case: no copy beyond the lookup itself
        whole: Int16Array = pairs.take(codes.view("<u2"), mode="wrap").view("<i2")
        return whole
    out: Int16Array = np.empty(len(codes), dtype=np.int16)
    if even:
        packed = pairs.take(codes[:even].view("<u2"), mode="wrap")
        out[:even] = packed.view("<i2")
    if even != len(codes):
        out[-1] = single[codes[-1]]
    return out


def ulaw_encode(samples: npt.ArrayLike) -> bytes:
    """int16 (or float) samples -> mu-law bytes, one per sample."""
    return _encode(_ULAW_ENCODE, samples)


def alaw_encode(samples: npt.ArrayLike) -> bytes:
    """int16 (or float) samples -> A-law bytes, one per sample."""
    return _encode(_ALAW_ENCODE, samples)


def ulaw_decode(data: bytes | bytearray | memoryview) -> Int16Array:
    """mu-law bytes -> int16 samples."""
    return _decode(_ULAW_PAIRS, _ULAW_DECODE, data)


def alaw_decode(data: bytes | bytearray | memoryview) -> Int16Array:
    """A-law bytes -> int16 samples."""
    return _decode(_ALAW_PAIRS, _ALAW_DECODE, data)
