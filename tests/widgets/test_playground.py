"""Playground: one line gives the whole console; a key never reaches widget state or a notebook."""

from __future__ import annotations

import io
import json
import socket
from pathlib import Path

import nbformat
import pytest
from ipywidgets.embed import embed_data

import realtime_widgets as rw
from realtime_widgets.audio import write_wav
from realtime_widgets.client.auth import Secret
from realtime_widgets.client.recording import read_recording
from realtime_widgets.client.session import RealtimeSession
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


def _refused_endpoint(model: str) -> rw.Endpoint:
    """An endpoint where nothing listens (a port bound, then let go): a connect there raises."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return rw.Endpoint.local(f"ws://127.0.0.1:{port}/v1/realtime", model)


def test_a_failed_new_conversation_keeps_the_old_one_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The new session connects before the old one closes: a connect that raises leaves the
    conversation as it was (its transcript view answers the button with the error), the
    half-made session is closed, and the status line says what failed."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    closed: list[RealtimeSession] = []

    class Tracked(RealtimeSession):
        def close(self) -> None:
            closed.append(self)
            super().close()

    monkeypatch.setattr("realtime_widgets.widgets.playground.RealtimeSession", Tracked)
    play = Playground(connect=False)
    play.connection.record.value = str(tmp_path / "talk.jsonl")
    try:
        old = play.connect()
        transcript = play.parts["transcript"]
        mark = old.mark()
        old.send_text("remember this")
        old.wait_for("response.done", timeout=60, since=mark)
        old.endpoint = _refused_endpoint(old.requested.model)  # the server went away
        transcript._on_browser(transcript, {"type": "new", "view": "v1"}, [])
        assert play.session is old
        assert old.connected
        assert play.parts["transcript"] is transcript  # the parts were not rebuilt
        assert transcript.comm is not None  # still open: it shows the failure
        notice = transcript.comm.custom()[-1][0]
        assert notice["op"] == "notice"
        assert notice["view"] == "v1"
        assert notice["error"].startswith("new conversation failed: cannot reach")
        status = play.connection.status.value
        assert "new conversation failed" in status
        assert "cannot reach" in status
        assert "connected to" not in status
        assert "the conversation goes on" in status
        # The half-made session was closed, and left no empty recording behind.
        assert [s for s in closed if s is not old] != []
        assert not (tmp_path / "talk-2.jsonl").exists()
        # The old conversation is still usable.
        mark = old.mark()
        old.send_text("still here?")
        old.wait_for("response.done", timeout=60, since=mark)
        rows = play.parts["transcript"].snapshot  # type: ignore[attr-defined]
        assert [r["text"] for r in rows if r["role"] == "user"] == ["remember this", "still here?"]
    finally:
        play.close_session()


def test_each_conversation_records_to_its_own_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New conversation and Connect again write the next free name (talk-2.jsonl, ...): the
    recording of the conversation before is kept, and the status line names the file."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    play = Playground(connect=False)
    play.connection.record.value = str(tmp_path / "talk.jsonl")
    said = {"talk.jsonl": "first words", "talk-2.jsonl": "second words", "talk-3.jsonl": "third"}
    starts = [play.connect, play.new_conversation, play.connect]  # Connect again: the same
    try:
        for (name, text), start in zip(said.items(), starts, strict=True):
            session = start()
            assert f"recording to {tmp_path / name}" in play.connection.status.value
            mark = session.mark()
            session.send_text(text)
            session.wait_for("response.done", timeout=60, since=mark)
    finally:
        play.close_session()
    for name, text in said.items():
        typed = [
            row.event["item"]["content"][0]["text"]
            for row in read_recording(tmp_path / name)
            if row.direction == "out" and row.event.get("type") == "conversation.item.create"
        ]
        assert typed == [text], name
