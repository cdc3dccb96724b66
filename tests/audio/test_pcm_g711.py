"""PCM16 conversion rules and G.711 bit-exactness against Python's own audioop."""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest

from realtime_widgets import AudioFormatError
from realtime_widgets.audio import (
    alaw_decode,
    alaw_encode,
    as_int16,
    base64_to_pcm16,
    bytes_to_int16,
    float_to_int16,
    int16_to_bytes,
    int16_to_float,
    pcm16_to_base64,
    ulaw_decode,
    ulaw_encode,
)


def _audioop():  # stdlib on 3.11/3.12 (deprecated), audioop-lts on 3.13+
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return importlib.import_module("audioop")
        except ImportError:
            pytest.skip("neither audioop nor audioop-lts is importable")


ALL_INT16 = np.arange(-32768, 32768, dtype=np.int16)
ALL_CODES = bytes(range(256))


def test_ulaw_encode_is_bit_exact_for_all_65536_inputs() -> None:
    assert ulaw_encode(ALL_INT16) == _audioop().lin2ulaw(ALL_INT16.tobytes(), 2)


def test_alaw_encode_is_bit_exact_for_all_65536_inputs() -> None:
    assert alaw_encode(ALL_INT16) == _audioop().lin2alaw(ALL_INT16.tobytes(), 2)


def test_ulaw_decode_is_bit_exact_for_all_256_codes() -> None:
    expected = np.frombuffer(_audioop().ulaw2lin(ALL_CODES, 2), dtype="<i2")
    np.testing.assert_array_equal(ulaw_decode(ALL_CODES), expected)


def test_alaw_decode_is_bit_exact_for_all_256_codes() -> None:
    expected = np.frombuffer(_audioop().alaw2lin(ALL_CODES, 2), dtype="<i2")
    np.testing.assert_array_equal(alaw_decode(ALL_CODES), expected)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 255, 256])
def test_decode_handles_odd_and_tiny_lengths(n: int) -> None:
    codes = bytes(range(n))
    np.testing.assert_array_equal(
        ulaw_decode(codes), np.frombuffer(_audioop().ulaw2lin(codes, 2), "<i2")
    )
    np.testing.assert_array_equal(
        alaw_decode(codes), np.frombuffer(_audioop().alaw2lin(codes, 2), "<i2")
    )


def test_g711_round_trip_error_is_within_the_segment_step() -> None:
    x = np.linspace(-32000, 32000, 5001).astype(np.int16)
    for enc, dec in ((ulaw_encode, ulaw_decode), (alaw_encode, alaw_decode)):
        back = dec(enc(x)).astype(np.int32)
        err = np.abs(back - x.astype(np.int32))
        # Logarithmic quantisation: error grows with amplitude (at most 3.6 % of it), and near
        # zero stays within the smallest segment's step (measured max: 35 for mu-law, 16 A-law).
        assert (err <= np.maximum(36, 0.036 * np.abs(x.astype(np.int32)))).all()
        assert err[np.abs(x) < 256].max() <= 36


def test_float_rule_clip_and_nan() -> None:
    x = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 1.7, -3.0, np.nan, np.inf, -np.inf])
    np.testing.assert_array_equal(
        float_to_int16(x), [0, 16384, -16384, 32767, -32767, 32767, -32768, 0, 32767, -32767]
    )
    assert int16_to_float(np.array([-32768], dtype=np.int16))[0] == -1.0


def test_bytes_round_trip_and_odd_lengths() -> None:
    x = np.array([1, -2, 32767, -32768], dtype=np.int16)
    data = int16_to_bytes(x)
    assert data == b"\x01\x00\xfe\xff\xff\x7f\x00\x80"
    np.testing.assert_array_equal(bytes_to_int16(data), x)
    with pytest.raises(AudioFormatError, match="even number of bytes"):
        bytes_to_int16(b"\x01\x02\x03")


def test_as_int16_checks_shape_range_and_dtype() -> None:
    with pytest.raises(AudioFormatError, match="one channel"):
        as_int16(np.zeros((2, 10)))
    with pytest.raises(AudioFormatError, match="fit int16"):
        as_int16(np.array([40000]))
    with pytest.raises(AudioFormatError, match="dtype"):
        as_int16(np.array(["a"]))
    np.testing.assert_array_equal(as_int16(np.array([0.5])), [16384])


def test_base64_helpers_round_trip_and_reject_garbage() -> None:
    x = (np.sin(np.arange(480) / 7) * 12000).astype(np.int16)
    text = pcm16_to_base64(x)
    np.testing.assert_array_equal(base64_to_pcm16(text), x)
    assert pcm16_to_base64(int16_to_bytes(x)) == text
    with pytest.raises(AudioFormatError, match="base64"):
        base64_to_pcm16("not base64!!")
