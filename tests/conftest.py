"""Fixtures shared by every test package."""

from __future__ import annotations

import pytest
from hypothesis import settings

from realtime_widgets.server.tts import Synthesizer, shared_espeak
from tests.speech import THREE_TURNS, Clip, recorded_clip

# Hypothesis's 200 ms per-example deadline is a timed assert: on two cores shared with the other
# test worker (which may be running Whisper), one stalled example fails a test that checks
# values. Speed goes to benchmarks/, not here.
settings.register_profile("suite", deadline=None)
settings.load_profile("suite")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The real-browser tests run last: they are the slowest, and the rest should report
    first."""
    items.sort(key=_order)


def _order(item: pytest.Item) -> tuple[bool, bool]:
    # Browser tests last; among them the spoken end-to-end path (VAD boundaries within 100 ms of
    # the WAV's) first, before the other browser tests' kernels share the machine with it.
    browser = "tests/browser/" in item.nodeid
    return browser, browser and "tests/browser/test_playground.py" not in item.nodeid


@pytest.fixture(scope="session")
def synth() -> Synthesizer:
    """eSpeak NG, named, not the default voice (Piper when installed): the tests' speech clips
    and the engine tests' reply timings were measured with it, and it is nearly deterministic
    (a few samples between calls), where Piper's renders differ by about a tenth in length.
    Piper's own tests are tests/server/test_voice.py."""
    return shared_espeak()


@pytest.fixture(scope="session")
def three_turns() -> Clip:
    """Three spoken turns with known boundaries (committed speech: no eSpeak needed)."""
    return recorded_clip(*THREE_TURNS)
