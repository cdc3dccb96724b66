"""The connection form's responder choice: "echo my audio back" connects to an echo server."""

from __future__ import annotations

import numpy as np
import pytest

from realtime_widgets.client.session import local_server
from realtime_widgets.server.reply.responder import EchoResponder
from realtime_widgets.widgets.playground import TARGETS, Playground
from tests.speech import Clip


def test_the_echo_choice_plays_the_users_turn_back(
    monkeypatch: pytest.MonkeyPatch, three_turns: Clip
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    play = Playground(connect=False)
    form = play.connection
    assert form.responder.value == "local"  # the honest responder stays the default
    assert form.endpoint().url.startswith(local_server().url)
    form.target.value = TARGETS[1]
    assert form.responder.layout.display == "none"  # only the local server has responders
    form.target.value = TARGETS[0]
    assert form.responder.layout.display is None
    form.responder.value = "echo"
    echo = local_server("echo")
    assert isinstance(echo.responder, EchoResponder)
    assert local_server("echo") is echo
    assert form.endpoint().url.startswith(echo.url)
    session = play.connect()
    try:
        got: list[np.ndarray] = []
        session.add_output_audio_tap(lambda _item, x: got.append(x.copy()))
        turn = three_turns.samples[: int((three_turns.truth[0][1] + 900) * 24)]
        mark = session.mark()
        session.append_audio(np.concatenate([turn, np.zeros(24000, np.int16)]), 24000)
        done = session.wait_for("response.done", timeout=60, since=mark)
        transcript = done.response.output[0].content[0].transcript  # type: ignore[union-attr]
        assert transcript.startswith("echo of your 2.")
        echoed = np.concatenate(got)
        started = session.wait_for("input_audio_buffer.speech_started", timeout=5, since=mark)
        a = started.audio_start_ms * 24  # type: ignore[union-attr]
        np.testing.assert_array_equal(echoed[: len(turn) - a], turn[a : a + len(echoed)])
    finally:
        play.close_session()
