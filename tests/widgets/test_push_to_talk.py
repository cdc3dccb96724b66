"""Push-to-talk (issue 23): the microphone's mode follows the session's turn detection, a hold
sends audio only while held and ends in commit + response.create, a too-short hold says why
nothing was sent, pressing is a barge-in; the bar's Commit, and Create response commits audio
waiting in the buffer when turn detection is off."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import numpy as np
import pytest

from realtime_widgets import SessionConfig
from realtime_widgets.client import Endpoint, RealtimeSession
from realtime_widgets.errors import RealtimeWidgetsError
from realtime_widgets.server.app import LocalServer
from realtime_widgets.widgets.conversation import ConversationBar
from realtime_widgets.widgets.microphone import Microphone
from realtime_widgets.widgets.speaker import Speaker
from tests.waiting import eventually
from tests.widgets.conftest import settled

TONE = (np.sin(np.arange(24_000) / 5) * 5000).astype(np.int16)  # 1 s at 24 kHz


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    srv = LocalServer(pace=0, speech=False, transcriber=None).start()
    yield srv
    srv.stop()


def connected(server: LocalServer, **config: Any) -> RealtimeSession:
    s = RealtimeSession(
        SessionConfig(output_modalities=["text"], **config),
        endpoint=Endpoint.local(server.url, "m"),
    )
    s.connect()
    return s


@pytest.fixture
def ptt(server: LocalServer) -> Iterator[RealtimeSession]:
    s = connected(server, turn_detection=None)
    yield s
    s.close()


def chunks(mic: Microphone, samples: np.ndarray, chunk: int = 960) -> None:
    for i in range(0, len(samples), chunk):
        mic._on_browser(
            mic, {"type": "audio", "seq": i // chunk + 1}, [samples[i : i + chunk].tobytes()]
        )


def press(mic: Microphone, down: bool) -> None:
    mic._on_browser(mic, {"type": "ptt", "down": down}, [])


def sent(s: RealtimeSession, since: float = 0.0) -> list[str]:
    """The client events sent since ``since`` (session time), in order, a run of appends shown
    once."""
    out: list[str] = []
    for e in s.events:
        if e.direction != "out" or e.t < since:
            continue
        if not (out and out[-1] == e.type == "input_audio_buffer.append"):
            out.append(e.type)
    return out


def test_the_mode_follows_the_sessions_turn_detection_both_ways(server: LocalServer) -> None:
    s = connected(server)
    try:
        mic = Microphone(s)
        assert mic.mode == "hands-free"
        s.update(turn_detection=None)
        settled(s)
        assert mic.mode == "push-to-talk"
        s.update(turn_detection={"type": "server_vad"})
        settled(s)
        assert mic.mode == "hands-free"
        mic.close()  # a closed widget no longer follows
        s.update(turn_detection=None)
        settled(s)
        assert mic.mode == "hands-free"
    finally:
        s.close()


def test_without_a_session_the_mode_is_the_callers() -> None:
    assert Microphone(mode="push-to-talk").mode == "push-to-talk"
    assert Microphone().mode == "hands-free"


def test_a_hold_sends_audio_only_while_held_then_commits_and_asks_for_a_reply(
    ptt: RealtimeSession,
) -> None:
    mic = Microphone(ptt)
    assert mic.mode == "push-to-talk"
    t0, mark = ptt.elapsed, ptt.mark()
    chunks(mic, TONE[:4800])  # not held (e.g. late from the page): not sent
    press(mic, True)
    chunks(mic, TONE)
    press(mic, False)
    chunks(mic, TONE[:4800])  # after the release: not sent
    done = ptt.wait_for("response.done", timeout=30, since=mark)
    settled(ptt)
    assert sent(ptt, t0) == [
        "input_audio_buffer.clear",
        "input_audio_buffer.append",
        "input_audio_buffer.commit",
        "response.create",
    ]
    appended = [e for e in ptt.events if e.type == "input_audio_buffer.append"]
    assert sum(int(e.data["audio"][1:].split()[0]) for e in appended) == 2 * len(TONE)
    assert mic.chunks_not_held == 10
    assert mic.holds == [len(TONE)]
    assert mic.samples_received == len(TONE)
    # the reply answers the held audio, not an earlier turn
    text = " ".join(str(p) for p in ptt.state.transcript())
    assert "You spoke for 1.0 seconds" in text, text
    assert done.response.status == "completed"  # type: ignore[attr-defined]
    assert mic.status.startswith("sent 1.0 s")


def test_a_too_short_hold_sends_no_commit_and_says_why(ptt: RealtimeSession) -> None:
    mic = Microphone(ptt)
    t0 = ptt.elapsed
    press(mic, True)
    chunks(mic, TONE[:1920])  # 80 ms
    press(mic, False)
    eventually(lambda: mic.status.startswith("too short"))
    assert mic.status == "too short (80 ms < 100 ms): not committed"
    settled(ptt)
    assert sent(ptt, t0) == [
        "input_audio_buffer.clear",
        "input_audio_buffer.append",
        "input_audio_buffer.clear",
    ]
    assert ptt.state.errors == []


def test_pressing_is_a_barge_in_the_speaker_stops_what_is_playing(
    ptt: RealtimeSession,
) -> None:
    mic = Microphone(ptt)
    speaker = Speaker(ptt)
    speaker.received["item_x"], speaker._current = 24_000, "item_x"  # being played
    press(mic, True)
    eventually(lambda: any(c == {"type": "flush"} for c, _ in speaker.comm.custom()))
    local = [e for e in ptt.events if e.direction == "local" and e.type == "client.barge_in"]
    assert len(local) == 1
    press(mic, False)


async def _slow_reply(ctx: Any) -> AsyncIterator[str]:
    """A reply that takes about a minute to write: still in progress when the hold starts."""
    for n in range(600):
        yield f"word{n} "
        await asyncio.sleep(0.1)


def test_pressing_cancels_a_reply_in_progress() -> None:
    slow = LocalServer(responder=_slow_reply, pace=0, speech=False, transcriber=None).start()
    s = connected(slow, turn_detection=None)
    try:
        mic = Microphone(s)
        mark = s.mark()
        s.send_text("Tell me a long story please.")
        s.wait_for("response.created", timeout=30, since=mark)
        assert s.state.active_response is not None
        press(mic, True)
        done = s.wait_for("response.done", timeout=30, since=mark)
        assert done.response.status == "cancelled"  # type: ignore[attr-defined]
        assert "response.cancel" in sent(s)
        press(mic, False)
    finally:
        s.close()
        slow.stop()


def test_create_response_commits_audio_waiting_when_turn_detection_is_off(
    ptt: RealtimeSession,
) -> None:
    bar = ConversationBar(ptt)
    ptt.append_audio(TONE)  # e.g. a WAV streamed in, never committed
    settled(ptt)
    assert bar.uncommitted_ms == pytest.approx(1000)
    t0, mark = ptt.elapsed, ptt.mark()
    bar._on_browser(bar, {"type": "respond"}, [])
    ptt.wait_for("response.done", timeout=30, since=mark)
    settled(ptt)
    assert sent(ptt, t0) == ["input_audio_buffer.commit", "response.create"]
    assert bar.uncommitted_ms == 0
    assert "You spoke for 1.0 seconds" in " ".join(map(str, ptt.state.transcript()))
    # nothing waiting: Create response is response.create alone
    t1, mark = ptt.elapsed, ptt.mark()
    bar._on_browser(bar, {"type": "respond"}, [])
    ptt.wait_for("response.done", timeout=30, since=mark)
    settled(ptt)
    assert sent(ptt, t1) == ["response.create"]


def test_with_turn_detection_on_create_response_does_not_commit(server: LocalServer) -> None:
    s = connected(server)
    try:
        bar = ConversationBar(s)
        s.append_audio(np.zeros(24_000, np.int16))  # silence: the VAD commits nothing
        settled(s)
        assert bar.uncommitted_ms == pytest.approx(1000)
        t0, mark = s.elapsed, s.mark()
        bar._on_browser(bar, {"type": "respond"}, [])
        s.wait_for("response.done", timeout=30, since=mark)
        assert sent(s, t0) == ["response.create"]
    finally:
        s.close()


def test_commit_is_a_button_of_its_own(ptt: RealtimeSession) -> None:
    bar = ConversationBar(ptt)
    ptt.append_audio(TONE)
    t0, mark = ptt.elapsed, ptt.mark()
    bar._on_browser(bar, {"type": "commit"}, [])
    committed = ptt.wait_for("input_audio_buffer.committed", timeout=30, since=mark)
    assert committed.item_id  # type: ignore[attr-defined]
    assert sent(ptt, t0) == ["input_audio_buffer.commit"]
    assert bar.actions == ["commit"]


def test_a_local_event_must_be_a_client_one(ptt: RealtimeSession) -> None:
    with pytest.raises(RealtimeWidgetsError, match=r"starts with 'client\.'"):
        ptt.emit_local({"type": "input_audio_buffer.speech_started"})


def test_a_hold_in_a_transcription_session_commits_and_asks_for_no_reply() -> None:
    """A transcription session transcribes each committed turn and has no responses: a release
    commits only (``response.create`` there is an error)."""
    from realtime_widgets.protocol.transcription_config import TranscriptionConfig
    from realtime_widgets.widgets.transcription_view import transcription_endpoint

    server = LocalServer(pace=0, speech=False, transcriber=lambda audio: "hello").start()
    s = RealtimeSession(endpoint=transcription_endpoint(Endpoint.local(server.url, "m")))
    try:
        s.connect()
        mark = s.mark()
        s.send_event(TranscriptionConfig(turn_detection=None).to_session_update())
        s.wait_for("session.updated", since=mark)
        mic = Microphone(s, mode="push-to-talk")
        t0, mark = s.elapsed, s.mark()
        press(mic, True)
        chunks(mic, TONE)
        press(mic, False)
        s.wait_for("conversation.item.input_audio_transcription.completed", timeout=30, since=mark)
        settled(s)
        assert sent(s, t0) == [
            "input_audio_buffer.clear",
            "input_audio_buffer.append",
            "input_audio_buffer.commit",
        ]
        assert not [e for e in s.events if e.type == "error" and e.t >= t0]
        assert mic.status == "sent 1.0 s: commit"
    finally:
        s.close()
        server.stop()
