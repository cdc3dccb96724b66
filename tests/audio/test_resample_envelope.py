"""Resampling (one-shot vs streaming, frequency response) and min/max envelopes."""

from __future__ import annotations

import numpy as np
import pytest

from realtime_widgets import AudioFormatError
from realtime_widgets.audio import EnvelopeBuilder, Resampler, envelope, resample

RATES = [
    (48000, 24000),
    (44100, 24000),
    (24000, 8000),
    (8000, 24000),
    (16000, 24000),
    (24000, 48000),
]


def tone(freq: float, rate: int, seconds: float = 1.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(round(rate * seconds)) / rate
    return (np.sin(2 * np.pi * freq * t) * amp * 32767).astype(np.int16)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


@pytest.mark.parametrize(("src", "dst"), RATES)
def test_one_shot_keeps_length_and_passband(src: int, dst: int) -> None:
    x = tone(1000, src)
    y = resample(x, src, dst)
    assert y.dtype == np.int16
    assert abs(len(y) - dst) <= 1
    assert rms(y[dst // 10 : -dst // 10]) == pytest.approx(rms(x), rel=0.01)


def test_anti_aliasing_removes_what_the_target_rate_cannot_hold() -> None:
    # 15 kHz cannot exist at 24 kHz (Nyquist 12 kHz): it must vanish, not fold back to 9 kHz.
    y = resample(tone(15000, 48000), 48000, 24000)
    assert rms(y[2400:-2400]) < 32767 * 0.5 * 1e-3


@pytest.mark.parametrize(("src", "dst"), RATES)
@pytest.mark.parametrize("chunk_ms", [10, 20, 37])
def test_streaming_equals_one_shot_no_clicks(src: int, dst: int, chunk_ms: int) -> None:
    x = tone(440, src, 0.5) + tone(3000, src, 0.5, 0.2)
    r = Resampler(src, dst)
    step = src * chunk_ms // 1000
    parts = [r.process(x[i : i + step]) for i in range(0, len(x), step)] + [r.flush()]
    streamed = np.concatenate(parts).astype(np.int32)
    whole = resample(x, src, dst).astype(np.int32)
    assert abs(len(streamed) - len(whole)) <= 1
    n = min(len(streamed), len(whole))
    # Same signal to within int16 rounding, including across every chunk border.
    assert np.abs(streamed[:n] - whole[:n]).max() <= 4
    # No click: the largest sample-to-sample jump is that of the clean signal.
    assert np.abs(np.diff(streamed[:n])).max() <= np.abs(np.diff(whole[:n])).max() + 8


def test_resampler_checks_its_input() -> None:
    with pytest.raises(AudioFormatError, match="sample rate"):
        Resampler(0, 24000)
    r = Resampler(48000, 24000)
    with pytest.raises(AudioFormatError, match="int16 chunks"):
        r.process(np.zeros(10, dtype=np.float64))
    same = Resampler(24000, 24000)
    np.testing.assert_array_equal(same.process(np.arange(5, dtype=np.int16)), np.arange(5))


def test_envelope_values_and_partial_bin() -> None:
    x = np.array([0, 5, -3, 2, 9, -9, 1, 1, 4, -1], dtype=np.int16)
    # 4 samples per bin (bin_ms=1 at 4 kHz)
    np.testing.assert_array_equal(envelope(x, 1, 4000), [[-3, 5], [-9, 9], [-1, 4]])
    np.testing.assert_array_equal(envelope(x, 1, 4000, partial=False), [[-3, 5], [-9, 9]])


@pytest.mark.parametrize("chunk", [1, 7, 240, 1000])
def test_streaming_envelope_equals_one_shot(chunk: int) -> None:
    x = (np.random.default_rng(3).normal(0, 8000, 24000)).astype(np.int16)
    b = EnvelopeBuilder(10, 24000)
    parts = [b.add(x[i : i + chunk]) for i in range(0, len(x), chunk)] + [b.flush()]
    np.testing.assert_array_equal(np.concatenate(parts), envelope(x, 10, 24000))
    assert b.bins_emitted == 100


def test_envelope_rejects_bins_shorter_than_a_sample() -> None:
    with pytest.raises(AudioFormatError, match="shorter than one sample"):
        envelope(np.zeros(10, dtype=np.int16), 0.01, 8000)
