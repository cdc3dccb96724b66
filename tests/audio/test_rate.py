"""The model's rate and the time <-> samples conversions every part uses."""

from __future__ import annotations

import numpy as np
import pytest

from realtime_widgets.audio import (
    MODEL_RATE,
    ms_to_samples,
    samples_to_ms,
    samples_to_s,
    to_model_rate,
)


def test_the_model_rate_is_24_khz() -> None:
    assert MODEL_RATE == 24_000


@pytest.mark.parametrize(
    ("ms", "samples"), [(0, 0), (1, 24), (100, 2400), (1000, 24000), (2.5, 60), (0.99, 23)]
)
def test_ms_to_samples_counts_whole_samples(ms: float, samples: int) -> None:
    assert ms_to_samples(ms) == samples


def test_samples_back_to_time() -> None:
    assert samples_to_ms(2400) == 100.0
    assert samples_to_ms(36) == 1.5
    assert samples_to_s(36_000) == 1.5
    assert samples_to_ms(ms_to_samples(750)) == 750.0


def test_to_model_rate_resamples_only_what_is_not_at_24_khz() -> None:
    x = np.arange(-480, 480, dtype=np.int16)
    same = to_model_rate(x, MODEL_RATE)
    assert same.dtype == np.int16
    assert np.array_equal(same, x)
    up = to_model_rate(np.zeros(800, np.float32), 8000)  # 100 ms at 8 kHz, floats
    assert up.dtype == np.int16
    assert len(up) == 2400
