"""Playground: one line gives the whole console; a key never reaches widget state or a notebook."""

from __future__ import annotations

import io
import json
from pathlib import Path

import nbformat
import pytest
from ipywidgets.embed import embed_data

import realtime_widgets as rw
from realtime_widgets.audio import write_wav
from realtime_widgets.client.auth import Secret
from realtime_widgets.server.tts import default_synthesizer
from realtime_widgets.widgets.key_field import KeyField
from realtime_widgets.widgets.playground import TARGETS, Playground
from tests.speech import make_clip


def test_playground_connects_to_the_local_server_with_every_part(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    play = rw.Playground()
    try:
        assert isinstance(play, Playground)
        assert play.session is not None
        assert play.session.connected
        assert play.session.endpoint.kind == "local"
        assert set(play.parts) == {
            "panel",
            "presets",
            "microphone",
            "upload",
            "speaker",
            "waveform",
            "transcript",
            "conversation",
            "metrics",
            "events",
        }
        mark = play.session.mark()
        play.session.send_text("hello playground")
        play.session.wait_for("response.done", timeout=60, since=mark)
        assert play.parts["transcript"].snapshot[0]["text"] == "hello playground"  # type: ignore[attr-defined]
        assert play.parts["metrics"].data["status"] == "connected"  # type: ignore[attr-defined]
        # An uploaded WAV streams like speech.
        wav = io.BytesIO()
        write_wav(
            wav, make_clip(default_synthesizer(), ["Uploaded words here."], ["ash"]).samples, 24000
        )
        mark = play.session.mark()
        play._upload([{"name": "take.wav", "content": memoryview(wav.getvalue())}])
        play.session.wait_for("input_audio_buffer.speech_stopped", timeout=60, since=mark)
    finally:
        play.close_session()


def test_the_key_is_never_in_widget_state_or_a_saved_notebook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    key = "sk-proj-NEVER-SAVE-ME-1234567890"
    play = Playground(connect=False)
    play.connection.target.value = TARGETS[1]
    field: KeyField = play.connection.key
    field._on_browser(field, {"type": "key", "value": key}, [])
    assert field.has_key
    assert field.secret == Secret(key)
    endpoint = play.connection.endpoint()
    assert endpoint.headers()["Authorization"] == f"Bearer {key}"
    # Everything a notebook would save: the widget state of every live widget.
    state = embed_data(views=[play])
    text = json.dumps(state["manager_state"])
    assert key not in text
    from ipywidgets.widgets.widget import _instances

    assert key not in json.dumps([w.get_state() for w in list(_instances.values())], default=str)
    assert key not in repr(play) + repr(field) + repr(endpoint)
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": state["manager_state"]}
    path = tmp_path / "saved.ipynb"
    nbformat.write(nb, path)
    assert key not in path.read_text()
    field._on_browser(field, {"type": "key", "value": ""}, [])
    assert field.secret is None
    assert not field.has_key


def test_new_conversation_is_a_fresh_session_with_the_same_settings_and_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    play = rw.Playground()
    try:
        old = play.session
        assert old is not None
        transcript = play.parts["transcript"]
        assert transcript.restartable is True  # type: ignore[attr-defined]
        play.parts["panel"].controls["speed"].widget.value = 1.3  # type: ignore[attr-defined]
        play.parts["presets"].name = "pirate crew"  # type: ignore[attr-defined]
        mark = old.mark()
        old.send_text("remember this")
        old.wait_for("response.done", timeout=60, since=mark)
        # The toolbar's button (the browser's message, on the kernel's thread).
        transcript._on_browser(transcript, {"type": "new"}, [])
        new = play.session
        assert new is not None
        assert new is not old
        assert not old.connected
        assert new.connected
        assert new.endpoint == old.endpoint
        assert new.requested.speed == 1.3  # the settings the panel held
        assert new.requested == play.parts["panel"].config  # type: ignore[attr-defined]
        assert play.parts["transcript"] is not transcript
        assert play.parts["transcript"].snapshot == []  # type: ignore[attr-defined]
        assert new.state.items == {}
        assert play.parts["presets"].name == "pirate crew"  # type: ignore[attr-defined]
        assert "new conversation on" in play.connection.status.value
    finally:
        play.close_session()
    with pytest.raises(rw.RealtimeWidgetsError, match="connect first"):
        play.new_conversation()


def test_reconnecting_keeps_the_settings_the_panel_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connect again (e.g. to another responder) after a preset or a slider changed the panel:
    the new session starts with the panel's settings, not the ones the playground was made with
    (a preset's silence of 200 ms was dropped on reconnect)."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    play = rw.Playground()
    try:
        play.parts["panel"].controls["speed"].widget.value = 1.3  # type: ignore[attr-defined]
        play.parts["presets"].name = "fast talker"  # type: ignore[attr-defined]
        play.connection.responder.value = "echo"
        new = play.connect()
        assert new.requested.speed == 1.3
        assert play.parts["panel"].controls["speed"].widget.value == 1.3  # type: ignore[attr-defined]
        assert play.parts["presets"].name == "fast talker"  # type: ignore[attr-defined]
    finally:
        play.close_session()
