"""Fixtures shared by every test package."""

from __future__ import annotations

import pytest

from realtime_widgets.server.tts import Synthesizer, default_synthesizer
from tests.speech import THREE_TURNS, Clip, make_clip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The real-browser tests run last: they are the slowest, and the rest should report
    first."""
    items.sort(key=lambda item: "tests/browser/" in item.nodeid)


@pytest.fixture(scope="session")
def synth() -> Synthesizer:
    return default_synthesizer()


@pytest.fixture(scope="session")
def three_turns(synth: Synthesizer) -> Clip:
    return make_clip(synth, *THREE_TURNS)
