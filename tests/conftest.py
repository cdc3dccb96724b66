"""Fixtures shared by every test package."""

from __future__ import annotations

import pytest

from realtime_widgets.server.tts import Synthesizer, default_synthesizer
from tests.speech import THREE_TURNS, Clip, make_clip


@pytest.fixture(scope="session")
def synth() -> Synthesizer:
    return default_synthesizer()


@pytest.fixture(scope="session")
def three_turns(synth: Synthesizer) -> Clip:
    return make_clip(synth, *THREE_TURNS)
