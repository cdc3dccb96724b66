"""The console's parts (issue 14): export box, voice list, labelled toggles, honest transcript
notes, per-item audio, the item menu, the conversation bar and the speaker's item ends."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator

import ipywidgets as w
import numpy as np
import pytest

from realtime_widgets import SessionConfig, Transcription
from realtime_widgets.client import Endpoint, RealtimeSession
from realtime_widgets.protocol import BUILTIN_VOICES
from realtime_widgets.protocol.export import to_code
from realtime_widgets.server.app import LocalServer
from realtime_widgets.server.tts import default_synthesizer
from realtime_widgets.widgets.controls import CUSTOM, OptionalControl, SectionControl
from realtime_widgets.widgets.conversation import ConversationBar
from realtime_widgets.widgets.panel import ConfigPanel
from realtime_widgets.widgets.speaker import Speaker
from realtime_widgets.widgets.transcript import TranscriptView
from tests.speech import make_clip
from tests.waiting import eventually
from tests.widgets.conftest import settled


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    srv = LocalServer(pace=0, transcriber=None).start()  # (one test checks it says so)
    yield srv
    srv.stop()


@pytest.fixture
def session(server: LocalServer) -> Iterator[RealtimeSession]:
    s = RealtimeSession(SessionConfig(), endpoint=Endpoint.local(server.url, "m"))
    s.connect()
    yield s
    s.close()


def test_the_export_box_holds_the_configs_code_from_the_start_and_after_a_change() -> None:
    config = SessionConfig(voice="cedar")
    panel = ConfigPanel(config=config)
    assert panel.export_code.value == to_code(config, "openai-python")
    assert panel.copy.text == panel.export_code.value
    panel.controls["speed"].widget.value = 1.25
    assert panel.export_code.value == to_code(config.with_changes(speed=1.25), "openai-python")
    panel.export_target.value = "psopenai"
    assert panel.export_code.value == to_code(panel.config, "psopenai")


def test_voice_is_a_list_of_the_built_in_voices_that_takes_a_custom_id() -> None:
    panel = ConfigPanel(config=SessionConfig(voice="ash"))
    dropdown, text = panel.controls["voice"].widget.children
    assert isinstance(dropdown, w.Dropdown)
    assert list(dropdown.options) == [*BUILTIN_VOICES, CUSTOM]
    assert dropdown.value == "ash"
    assert text.layout.display == "none"
    dropdown.value = CUSTOM  # nothing typed yet: a note, not an error, and nothing changes
    assert text.layout.display is None
    assert "type a custom value" in panel.controls["voice"].status.value
    assert panel.config.voice == "ash"
    text.value = "voice_abc123"
    assert panel.config.voice.id == "voice_abc123"  # type: ignore[union-attr]
    dropdown.value = "marin"
    assert panel.config.voice == "marin"
    assert text.layout.display == "none"
    shown = ConfigPanel(config=SessionConfig(voice={"id": "voice_xyz"}))
    dropdown, text = shown.controls["voice"].widget.children
    assert (dropdown.value, text.value) == (CUSTOM, "voice_xyz")


def test_every_optional_fields_toggle_says_what_it_does() -> None:
    panel = ConfigPanel()
    every = list(panel.controls.values())
    every += [i for c in every if isinstance(c, SectionControl) for i in c.inner]
    toggles = [c for c in every if isinstance(c, OptionalControl)]
    assert len(toggles) >= 5
    for control in toggles:
        assert control.toggle.description == ""
        assert control.toggle.tooltip.startswith("send "), control.path
        assert "unset" in control.toggle.tooltip


def test_a_spoken_turn_says_at_once_that_transcription_is_off(session: RealtimeSession) -> None:
    view = TranscriptView(session)
    clip = make_clip(default_synthesizer(), ["Hello there, testing."], ["ash"])
    mark = session.mark()
    session.append_audio(np.concatenate([clip.samples, np.zeros(24000, np.int16)]))
    committed = session.wait_for("input_audio_buffer.committed", timeout=60, since=mark)
    item_id = committed.item_id  # type: ignore[attr-defined]
    eventually(lambda: any(op.get("id") == item_id for op, _ in view.comm.custom()))
    first = next(op for op, _ in view.comm.custom() if op.get("id") == item_id)
    assert first["note"] == "(no transcript: transcription is off)"
    assert first["audio"] is True
    assert all("awaiting" not in op.get("note", "") for op, _ in view.comm.custom())


def test_with_transcription_on_the_local_server_says_it_has_no_recogniser(
    server: LocalServer,
) -> None:
    s = RealtimeSession(
        SessionConfig(transcription=Transcription(model="gpt-4o-mini-transcribe")),
        endpoint=Endpoint.local(server.url, "m"),
    )
    s.connect()
    try:
        view = TranscriptView(s)
        clip = make_clip(default_synthesizer(), ["Hello there, testing."], ["ash"])
        mark = s.mark()
        s.append_audio(np.concatenate([clip.samples, np.zeros(24000, np.int16)]))
        s.wait_for("conversation.item.input_audio_transcription.failed", timeout=60, since=mark)
        eventually(
            lambda: any(
                "the local server has no offline speech recogniser" in op.get("note", "")
                for op, _ in view.comm.custom()
            )
        )
    finally:
        s.close()


def test_the_item_menu_plays_user_and_assistant_audio_and_deletes(
    session: RealtimeSession,
) -> None:
    view = TranscriptView(session)
    clip = make_clip(default_synthesizer(), ["Hello there, testing."], ["ash"])
    mark = session.mark()
    session.append_audio(np.concatenate([clip.samples, np.zeros(24000, np.int16)]))
    done = session.wait_for("response.done", timeout=60, since=mark)
    user = next(i for i in session.state.ordered_items() if i.role == "user")
    assistant = done.response.output[0].id  # type: ignore[attr-defined]
    for item_id in (user.id, assistant):
        view._on_browser(view, {"type": "audio", "id": item_id}, [])
        settled(session)  # the message hopped to the session loop
        reply, buffers = view.comm.custom()[-1]
        assert reply == {"op": "audio", "id": item_id, "mime": "audio/wav"}
        with wave.open(io.BytesIO(buffers[0])) as wav:
            assert wav.getframerate() == 24000
            seconds = wav.getnframes() / 24000
        assert seconds > 0.5, (item_id, seconds)
    # the user's audio is the VAD span of the clip's speech (prefix padding included)
    heard = view.audio.samples(user.id)
    assert heard is not None
    assert abs(len(heard) / 24 - (user.audio_end_ms - user.audio_start_ms)) <= 1  # type: ignore[operator]
    view._on_browser(view, {"type": "audio", "id": "item_unknown"}, [])
    settled(session)
    assert view.comm.custom()[-1][0]["error"] == "no audio kept for this item"
    mark = session.mark()
    view._on_browser(view, {"type": "delete", "id": user.id}, [])
    deleted = session.wait_for("conversation.item.deleted", timeout=30, since=mark)
    assert deleted.item_id == user.id  # type: ignore[attr-defined]
    eventually(lambda: ({"op": "remove", "id": user.id}, []) in view.comm.custom())
    assert user.id not in session.state.items
    assert view.audio.samples(user.id) is None


def test_the_conversation_bar_sends_creates_cancels_and_clears(
    session: RealtimeSession,
) -> None:
    bar = ConversationBar(session)
    mark = session.mark()
    bar._on_browser(bar, {"type": "send", "text": "typed words"}, [])
    session.wait_for("response.done", timeout=60, since=mark)
    assert [i.text for i in session.state.ordered_items() if i.role == "user"] == ["typed words"]
    for action in ("clear", "respond", "cancel"):
        bar._on_browser(bar, {"type": action}, [])
    sent = lambda: [h.type for h in session.events if h.direction == "out"]  # noqa: E731
    eventually(
        lambda: {"input_audio_buffer.clear", "response.create", "response.cancel"} <= set(sent())
    )
    assert bar.actions == ["send", "clear", "respond", "cancel"]
    bar._on_browser(bar, {"type": "send", "text": "   "}, [])
    assert bar.status == "type a message first"
    assert bar.actions == ["send", "clear", "respond", "cancel"]
    session.close()
    bar._on_browser(bar, {"type": "respond"}, [])
    assert bar.status == "respond: not connected"


def test_the_speaker_marks_each_items_end_for_the_browser(session: RealtimeSession) -> None:
    speaker = Speaker(session)
    mark = session.mark()
    session.send_text("talk to me")
    done = session.wait_for("response.done", timeout=60, since=mark)
    item_id = done.response.output[0].id  # type: ignore[attr-defined]
    eventually(lambda: ({"type": "end", "item_id": item_id}, []) in speaker.comm.custom())
    messages = [c for c, _ in speaker.comm.custom()]
    last_audio = max(
        i for i, c in enumerate(messages) if c == {"type": "audio", "item_id": item_id}
    )
    assert messages.index({"type": "end", "item_id": item_id}) > last_audio
    assert speaker.player_key
    assert speaker.player_key != Speaker().player_key  # one player per widget in the page
