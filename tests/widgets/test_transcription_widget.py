"""TranscriptionView and TranscriptionPlayground against a live transcription session on the
local server: O(delta) messages, placement by previous_item_id, logprob tokens, a snapshot,
and settings from the generated controls going out as a valid session.update."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from realtime_widgets.client import Endpoint, RealtimeSession
from realtime_widgets.protocol.events import parse_server_event
from realtime_widgets.protocol.transcription_config import TranscriptionConfig
from realtime_widgets.server.input_transcripts import Transcript
from realtime_widgets.widgets.controls import leaves
from realtime_widgets.widgets.transcription_view import (
    TranscriptionPlayground,
    TranscriptionView,
    confidence,
    transcription_endpoint,
)
from realtime_widgets.widgets.waveform import Waveform
from tests.protocol.sdk_oracle import check_transcription_update
from tests.speech import Clip
from tests.waiting import eventually

LOGPROBS = "item.input_audio_transcription.logprobs"


def _ops(view: TranscriptionView) -> list[dict[str, Any]]:
    return [content for content, _ in view.comm.custom()]  # type: ignore[attr-defined]


def _feed(view: TranscriptionView, *events: dict[str, Any]) -> None:
    for raw in events:
        event = parse_server_event({"event_id": "e", **raw})
        view.state.apply(event)
        view.observe_event(event)


def test_ops_place_turns_by_previous_item_and_stream_deltas() -> None:
    view = TranscriptionView()
    _feed(
        view,
        {"type": "input_audio_buffer.speech_started", "audio_start_ms": 100, "item_id": "t1"},
        {"type": "input_audio_buffer.committed", "previous_item_id": None, "item_id": "t1"},
        {"type": "input_audio_buffer.committed", "previous_item_id": "t1", "item_id": "t2"},
        {"type": "conversation.item.input_audio_transcription.delta", "item_id": "t2",
         "content_index": 0, "delta": "second",
         "logprobs": [{"token": "second", "logprob": -0.7, "bytes": []}]},
        {"type": "conversation.item.input_audio_transcription.delta", "item_id": "t1",
         "content_index": 0, "delta": "first "},
        {"type": "conversation.item.input_audio_transcription.failed", "item_id": "t1",
         "content_index": 0, "error": {"type": "transcription_error", "message": "no model"}},
    )  # fmt: skip
    ops = _ops(view)
    assert [o["op"] for o in ops] == ["speaking", "turn", "turn", "delta", "delta", "done"]
    assert (ops[1]["id"], ops[1]["after"], ops[1]["start_ms"]) == ("t1", None, 100)
    assert (ops[2]["id"], ops[2]["after"]) == ("t2", "t1")
    assert ops[3] == {"op": "delta", "id": "t2", "text": "second", "tokens": [["second", -0.7]]}
    assert ops[4]["tokens"] is None
    assert ops[5]["note"] == "no transcript: no model"
    assert [r["id"] for r in view.snapshot] == ["t1", "t2"]
    assert confidence(-0.7) == np.exp(-0.7)


def test_every_row_ends_with_words_or_says_why_and_hearing_clears_at_the_turn_end() -> None:
    view = TranscriptionView()
    session = TranscriptionConfig().to_session_update()["session"]
    _feed(
        view,
        {"type": "session.created", "session": {**session, "id": "s1"}},
        {"type": "input_audio_buffer.speech_started", "audio_start_ms": 100, "item_id": "t1"},
        {"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 900, "item_id": "t1"},
        {"type": "input_audio_buffer.committed", "previous_item_id": None, "item_id": "t1"},
        {"type": "conversation.item.input_audio_transcription.completed", "item_id": "t1",
         "content_index": 0, "transcript": "  "},
        {"type": "input_audio_buffer.speech_started", "audio_start_ms": 1500, "item_id": "t2"},
        {"type": "input_audio_buffer.cleared"},
    )  # fmt: skip
    assert view.transcribing is True
    ops = _ops(view)
    assert [o["op"] for o in ops] == ["speaking", "quiet", "turn", "done", "speaking", "quiet"]
    assert ops[2]["note"] == "transcribing..."
    assert (ops[3]["state"], ops[3]["text"].strip(), ops[3]["note"]) == (
        "done",
        "",
        "no speech found",
    )
    assert view.snapshot[0]["note"] == "no speech found"
    # Transcription switched off: a turn says so instead of "transcribing..." for ever.
    off = TranscriptionConfig(transcription=None).to_session_update()["session"]
    _feed(
        view,
        {"type": "session.updated", "session": {**off, "id": "s1"}},
        {"type": "input_audio_buffer.committed", "previous_item_id": "t1", "item_id": "t3"},
    )  # fmt: skip
    assert view.transcribing is False
    assert _ops(view)[-1]["note"] == "no transcript: transcription is off"
    assert view.snapshot[-1]["note"] == "no transcript: transcription is off"
    # A failure says why.
    _feed(
        view,
        {"type": "conversation.item.input_audio_transcription.failed", "item_id": "t3",
         "content_index": 0, "error": {"type": "transcription_error", "message": "too loud"}},
    )  # fmt: skip
    assert view.snapshot[-1]["note"] == "no transcript: too loud"


def test_a_live_transcription_session_streams_into_the_view(three_turns: Clip) -> None:
    from realtime_widgets.server.app import LocalServer

    def recogniser(audio: np.ndarray) -> Transcript:
        seconds = len(audio) / 24000
        return Transcript(f"{seconds:.1f} seconds", [(f"{seconds:.1f}", -0.1), (" seconds", -2)])

    server = LocalServer(pace=0, speech=False, transcriber=recogniser).start()
    endpoint = transcription_endpoint(Endpoint.local(server.url, "ignored"))
    assert "intent=transcription" in endpoint.url
    assert "model=" not in endpoint.url
    s = RealtimeSession(endpoint=endpoint)
    try:
        s.connect()
        view = TranscriptionView(s)
        mark = s.mark()
        update = TranscriptionConfig(include=[LOGPROBS]).to_session_update()
        check_transcription_update(update)
        s.send_event(update)
        s.wait_for("session.updated", since=mark)
        assert s.state.session["type"] == "transcription"
        s.append_audio(three_turns.samples[: int((three_turns.truth[1][1] + 900) * 24)], 24000)
        eventually(lambda: len(view.snapshot) == 2 and view.snapshot[-1]["state"] == "done")
        first, second = view.snapshot
        assert second["start_ms"] > first["end_ms"]
        assert [tok[0] for tok in first["tokens"]][1] == " seconds"
        deltas = [o for o in _ops(view) if o["op"] == "delta"]
        assert len(deltas) == 4  # two turns, one message per token
        assert all(len(json.dumps(o)) < 200 for o in deltas)
    finally:
        s.close()
        server.stop()


def test_playground_sends_generated_settings_and_shows_the_effect(three_turns: Clip) -> None:
    playground = TranscriptionPlayground(
        TranscriptionConfig(transcription="whisper-1"), transcriber=lambda audio: "hello"
    )
    s = playground.session
    try:
        eventually(lambda: playground.effective is not None
                   and playground.effective.transcription is not None
                   and playground.effective.transcription.model == "whisper-1")  # fmt: skip
        assert "whisper-1" in playground.status.value
        # A control change goes out as the diff, valid for the SDK; the server's view comes back.
        mark = s.mark()
        playground.controls["include"].set([LOGPROBS])
        s.wait_for("session.updated", since=mark)
        sent = [e.data for e in s.events if e.direction == "out" and e.type == "session.update"]
        assert sent[-1]["session"] == {"type": "transcription", "include": [LOGPROBS]}
        for event in sent:
            check_transcription_update(event)
        eventually(lambda: playground.effective is not None and playground.effective.logprobs)
        # An invalid value is shown and not sent.
        before = len(sent)
        playground.controls["transcription"].inner[0].set("")  # type: ignore[attr-defined]
        assert "transcription.model" in playground.error.value
        assert len([e for e in s.events if e.type == "session.update"]) == before
        # Audio in, transcript out, in the view.
        s.append_audio(three_turns.samples[: int((three_turns.truth[0][1] + 900) * 24)], 24000)
        eventually(lambda: [r["text"] for r in playground.transcript.snapshot] == ["hello"])
    finally:
        playground.close()
    assert not s.connected


def test_playground_offers_no_reply_settings_and_no_assistant_lane() -> None:
    playground = TranscriptionPlayground(transcriber=None, connect=False)
    try:
        section = playground.controls["turn_detection"]
        paths = [c.path for c in section.inner]  # type: ignore[attr-defined]
        assert "turn_detection.silence_duration_ms" in paths
        assert "turn_detection.create_response" not in paths
        assert "turn_detection.interrupt_response" not in paths
        labels = [getattr(leaf, "description", "") for leaf in leaves(playground)]
        assert "create response" not in labels
        assert "interrupt response" not in labels
        assert "silence duration ms" in labels
        assert playground.waveform.show_output is False
        # A change still goes out (the section reads the fields it shows).
        assert playground.controls["turn_detection"].value["silence_duration_ms"] == 500
    finally:
        playground.close()


def test_each_commit_marker_sits_at_its_turns_end() -> None:
    now = [7.0]  # the session clock (s): the whole 7 s clip has just been sent, at once
    wave = Waveform(clock=lambda: now[0])
    wave._add_input(np.zeros(24000 * 7, np.int16), 24000)
    for raw in (
        {"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 2600, "item_id": "t1"},
        {"type": "input_audio_buffer.committed", "previous_item_id": None, "item_id": "t1"},
        {"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 5900, "item_id": "t2"},
        {"type": "input_audio_buffer.committed", "previous_item_id": "t1", "item_id": "t2"},
        {"type": "input_audio_buffer.committed", "previous_item_id": "t2", "item_id": "t3"},
    ):
        wave._on_event(parse_server_event({"event_id": "e", **raw}))
    markers = [
        (item["kind"], item["ms"])
        for content, _ in wave.comm.custom()  # type: ignore[attr-defined]
        for item in content.get("items", [])
        if item["type"] == "marker"
    ]
    commits = [ms for kind, ms in markers if kind == "committed"]
    # VAD turns commit where they ended; a manual commit (no speech_stopped) when it happened.
    assert commits == [2600, 5900, 7000]
    wave.close()
