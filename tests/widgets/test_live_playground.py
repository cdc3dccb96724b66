"""LivePlayground and LiveTranscriptView: values and behaviour.

The playground connects to a scripted GPT-Live peer on 127.0.0.1 (``tests/client/live_peer``),
which checks every frame the client sends strictly against the SDK's Live client events and
request types (``violations`` stays empty) and answers as the SDK says a server does; a test
pushes what the server would say (usage, a delegation, the model's audio, the transcripts).
No kernel: the comms record what the widgets send (``tests/widgets/conftest.py``).
"""

from __future__ import annotations

import base64
import datetime
import html
import io
import json
import re
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import nbformat
import numpy as np
import pytest
from ipywidgets.embed import embed_data
from ipywidgets.widgets.widget import _instances

import realtime_widgets as rw
from realtime_widgets.audio.rate import MODEL_RATE
from realtime_widgets.audio.wav import write_wav
from realtime_widgets.client.auth import Secret
from realtime_widgets.client.live_cost import LIVE_PRICES
from realtime_widgets.client.live_state import LiveState
from realtime_widgets.protocol import live_events as le
from realtime_widgets.protocol.live_config import LiveConfig
from realtime_widgets.widgets.controls import leaves
from realtime_widgets.widgets.endpoint_form import OPENAI
from realtime_widgets.widgets.live_playground import LivePlayground, playground_live_config
from realtime_widgets.widgets.live_transcript import LiveTranscriptView
from tests.client.live_peer import LivePeer, default_answer
from tests.waiting import eventually

from .conftest import settled


@pytest.fixture
def peer() -> Iterator[LivePeer]:
    with LivePeer() as p:
        yield p
    assert p.violations == []  # the playground sent only what the SDK models


def playground(peer: LivePeer, config: LiveConfig | None = None, **kw: Any) -> LivePlayground:
    """A playground whose "local server" is the scripted peer."""
    return LivePlayground(config, server=SimpleNamespace(url=peer.url), **kw)


@pytest.fixture
def play(peer: LivePeer, monkeypatch: pytest.MonkeyPatch) -> Iterator[LivePlayground]:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    console = playground(peer)
    yield console
    console.close()


def sent(peer: LivePeer, kind: str, n: int = 1) -> list[dict[str, Any]]:
    """The client events of ``kind`` the peer received, once there are ``n``."""
    eventually(lambda: len([e for e in peer.received if e["type"] == kind]) >= n, 30)
    return [e for e in peer.received if e["type"] == kind]


def pushed(play: LivePlayground, peer: LivePeer, *events: dict[str, Any]) -> None:
    """The peer says ``events``; returns once the console's listeners have run."""
    session = play.session
    assert session is not None
    mark = session.mark()
    peer.push(*events)
    session.wait_for(events[-1]["type"], timeout=30, since=mark)
    settled(session)


def click(button: Any) -> None:
    button.click()
    assert button is not None


def ops(widget: Any) -> list[dict[str, Any]]:
    return [content for content, _ in widget.comm.custom()]


def pcm(seconds: float, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * MODEL_RATE)) / MODEL_RATE
    return (0.3 * 32767 * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def wav_file(samples: np.ndarray, name: str = "clip.wav") -> dict[str, Any]:
    buffer = io.BytesIO()
    write_wav(buffer, samples, MODEL_RATE)
    data = buffer.getvalue()
    return {
        "name": name,
        "type": "audio/wav",
        "size": len(data),
        "content": memoryview(data),
        "last_modified": datetime.datetime.now(datetime.UTC),
    }


# ---- settings: generated, sent at start, locked after it --------------------------------------


def test_the_settings_are_generated_from_live_config_and_start_only_ones_lock_after_start(
    peer: LivePeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    config = playground_live_config().with_changes(wake_policy={"vad_threshold": 0.7})
    console = playground(peer, config, connect=False)
    try:
        assert set(console.controls) == set(LiveConfig.PARAMS)
        # Before any session: only the WebRTC/SIP-only fields are locked, with why.
        media = {"wake_policy", "idle_timeout_s"}
        assert set(console.locked) == media
        assert "client.live.create()" in console.locked["wake_policy"]
        assert "client.live.create()" in console.controls["idle_timeout_s"].status.value
        console.controls["voice"].set("cedar")
        console.controls["instructions"].set("Speak slowly.")
        console._apply_controls()  # (what a person's change runs)
        session = console.connect()
        start = sent(peer, "session.start")[0]["session"]
        assert start["audio"]["output"]["voice"] == "cedar"
        assert start["instructions"] == "Speak slowly."
        assert start["delegation"] == {"type": "client"}
        assert "wake_policy" not in start  # media-only: never on a WebSocket
        assert peer.paths == ["/v1/live/sessions"]
        # Started: the start-only fields are locked with the config's own reason; delegation
        # and triggers stay free.
        settled(session)
        reasons = LiveConfig().locked_fields(live=True)
        assert console.locked == reasons
        assert set(reasons) - media == {
            "model", "voice", "instructions", "input", "audio_format", "safety_identifier",
            "store", "client",
        }  # fmt: skip
        voice = console.controls["voice"]
        assert all(leaf.disabled for leaf in leaves(voice.widget) if hasattr(leaf, "disabled"))
        assert "fixed by session.start: End session, change it, Connect" in voice.status.value
        assert html.escape(reasons["voice"], quote=True) in voice.status.value  # its tooltip
        assert not console.controls["delegation"].reason
        assert "<b>gpt-live-1.1</b>" in console.status.value
        assert "voice cedar" in console.status.value
        # End session: session.close, session.closed, and the start-only fields unlock.
        console.end_session()
        sent(peer, "session.close")
        eventually(lambda: set(console.locked) == media, 30)
        assert "session.closed (close_requested)" in console.connection.status.value
        assert console.end_button.layout.display == "none"
    finally:
        console.close()


def test_a_delegation_change_goes_out_at_once_as_session_update(
    play: LivePlayground, peer: LivePeer
) -> None:
    sent(peer, "session.start")
    control = play.controls["delegation"]
    control.set({"type": "client", "acknowledgement_delay_ms": 250})
    play._control_changed()
    wanted = {"delegation": {"type": "client", "acknowledgement_delay_ms": 250}}
    eventually(lambda: sent(peer, "session.update")[-1]["session"] == wanted, 30)
    # (each control the change went through sent its own: only delegation, never a lock)
    assert all(set(u["session"]) == {"delegation"} for u in sent(peer, "session.update"))
    assert play.session is not None
    eventually(lambda: play.session is not None and play.session.effective is not None
               and play.session.effective.delegation is not None
               and play.session.effective.delegation.acknowledgement_delay_ms == 250, 30)  # fmt: skip


# ---- audio: mute, fixtures ------------------------------------------------------------------------


def test_mute_sends_mute_and_then_unmute_and_the_button_follows_the_server(
    play: LivePlayground, peer: LivePeer
) -> None:
    button = play.parts["mute"]
    assert button.description == "Mute input"
    click(button)
    (mute,) = sent(peer, "session.input_audio.mute")
    eventually(lambda: button.description == "Unmute input", 30)
    assert play.session is not None
    assert play.session.state.muted
    assert "muted now" in play.meters.value
    click(button)
    (unmute,) = sent(peer, "session.input_audio.unmute")
    eventually(lambda: button.description == "Mute input", 30)
    assert mute["event_id"] != unmute["event_id"]
    assert peer.sent_types().count("session.input_audio.mute") == 1


def test_a_wav_fixture_is_played_as_24k_pcm16_and_a_long_one_is_refused(
    play: LivePlayground, peer: LivePeer
) -> None:
    tone = pcm(0.5)
    play.parts["fixtures"].upload.value = (wav_file(tone, "tone.wav"),)
    (fixture,) = sent(peer, "session.output_audio.fixture.play")
    audio = np.frombuffer(base64.b64decode(fixture["audio"]), "<i2")
    assert len(audio) == len(tone)
    assert np.abs(audio.astype(int) - tone).max() <= 1
    eventually(lambda: "fixture played (1 so far)" in play.parts["fixtures"].status.value, 30)
    # 31 s: refused here, with why; nothing is sent.
    fixtures = play.parts["fixtures"]
    fixtures.upload.value = (wav_file(np.zeros(31 * MODEL_RATE, np.int16), "long.wav"),)
    eventually(lambda: "at most 30 s" in fixtures.status.value, 30)
    assert play.session is not None
    settled(play.session)
    assert peer.sent_types().count("session.output_audio.fixture.play") == 1


def test_a_clip_recorded_from_the_microphone_plays_as_a_fixture(
    play: LivePlayground, peer: LivePeer
) -> None:
    mic, session = play.parts["microphone"], play.session
    assert session is not None
    fixtures = play.parts["fixtures"]
    fixtures.record.value = True
    settled(session)
    chunk = pcm(0.04)
    for _ in range(10):  # 0.4 s from the page
        mic._on_browser(mic, {"type": "audio", "seq": 1}, [chunk.tobytes()])
    settled(session)
    fixtures.record.value = False
    settled(session)
    assert "clip: 0.4 s recorded" in fixtures.status.value
    assert not fixtures.play_clip.disabled
    click(fixtures.play_clip)
    (fixture,) = sent(peer, "session.output_audio.fixture.play")
    audio = np.frombuffer(base64.b64decode(fixture["audio"]), "<i2")
    assert len(audio) == 10 * len(chunk)


# ---- steering and delegations -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "kind"),
    [
        ("Say it", "session.commentary.append"),
        ("Think it", "session.thinking.append"),
        ("Add instructions", "session.instructions.append"),
    ],
)
def test_the_steering_box_sends_its_append_and_says_when_it_was_taken(
    play: LivePlayground, peer: LivePeer, label: str, kind: str
) -> None:
    steering = play.parts["steering"]
    steering.text.value = "The order shipped today."
    (button,) = [b for b in steering.buttons.children if b.description == label]
    click(button)
    (event,) = sent(peer, kind)
    assert event["content"] == "The order shipped today."
    assert event["delegation_id"] is None  # required by the SDK, nullable
    eventually(lambda: "taken into the context" in steering.status.value, 30)
    assert kind in steering.status.value
    assert steering.text.value == ""


def refusing(kinds: set[str]) -> Any:
    """A peer's answer that refuses the client events of ``kinds`` with a linked error."""

    def answer(peer: LivePeer, event: dict[str, Any]) -> list[dict[str, Any]]:
        if event["type"] not in kinds:
            return default_answer(peer, event)
        param = "session.delegation.acknowledgement_delay_ms" if "update" in event["type"] else None
        error = {"type": "invalid_request_error", "code": "invalid_value",
                 "message": f"refused {event['type']}", "client_event_id": event["event_id"]}  # fmt: skip
        return [{"type": "error", "error": {**error, "param": param} if param else error}]

    return answer


def test_a_refusal_is_said_where_it_belongs(play: LivePlayground, peer: LivePeer) -> None:
    peer.answer = refusing({"session.commentary.append", "session.update"})
    steering = play.parts["steering"]
    steering.text.value = "Say this."
    click(steering.buttons.children[0])
    assert len(sent(peer, "session.commentary.append")) == 1
    eventually(lambda: "refused session.commentary.append" in steering.status.value, 30)
    eventually(lambda: "session.commentary.append refused" in play.notice.value, 30)
    assert play.notice.layout.display is None
    # A refused update goes on the control the error's param names.
    control = play.controls["delegation"]
    control.set({"type": "client", "acknowledgement_delay_ms": 300})
    play._control_changed()
    sent(peer, "session.update")
    eventually(lambda: "refused session.update" in control.status.value, 30)


def test_a_delegation_is_listed_with_a_box_and_its_answer_is_the_sdks_append(
    play: LivePlayground, peer: LivePeer
) -> None:
    box = play.parts["delegations"]
    assert box.layout.display == "none"
    pushed(
        play,
        peer,
        {"type": "session.input_transcript.delta", "start_ms": 0, "end_ms": 900,
         "delta": "Book a table for two."},
        {"type": "session.delegation.created", "offset_ms": 1200,
         "delegation": {"type": "delegation", "id": "deleg_1", "target": "client"}},
    )  # fmt: skip
    assert box.layout.display is None
    line = box.children[1].value
    assert "deleg_1" in line
    assert "Book a table for two." in line  # what the person had asked: not on the wire
    assert 'data-status="pending"' in line or "data-status='pending'" in line
    row = box.children[2]
    text, spoken, silent = row.children
    assert (spoken.description, silent.description) == ("Answer (spoken)", "Answer (silent)")
    text.value = "Booked for seven."
    click(spoken)
    (answer,) = sent(peer, "session.commentary.append")
    assert answer["delegation_id"] == "deleg_1"
    assert answer["content"] == "Booked for seven."
    eventually(lambda: "data-status='accepted'" in box.children[1].value, 30)
    assert len(box.children) == 3  # answered: no box any more (title, its line, status)
    # A second one, answered silently (session.thinking.append with its id).
    pushed(
        play,
        peer,
        {"type": "session.delegation.created", "offset_ms": 3000,
         "delegation": {"type": "delegation", "id": "deleg_2", "target": "client"}},
    )  # fmt: skip
    text, _, silent = box.children[2].children
    text.value = "Nothing found."
    click(silent)
    (thinking,) = sent(peer, "session.thinking.append")
    assert (thinking["delegation_id"], thinking["content"]) == ("deleg_2", "Nothing found.")


# ---- the connection: lost, reopened -----------------------------------------------------------


def statuses(console: LivePlayground) -> list[str]:
    """Every text the connection's status line shows from now on, in order."""
    seen: list[str] = []
    console.connection.status.observe(lambda change: seen.append(change["new"]), "value")
    return seen


def test_a_lost_connection_is_said_at_once_and_the_start_only_settings_unlock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with LivePeer() as peer:
        console = playground(peer)
        session = console.session
        assert session is not None
        settled(session)
        assert "model" in console.locked
        session.max_reconnects = 1  # one attempt, which the stopped peer refuses: final
        shown = statuses(console)
        mark = session.mark()
    # The server went away (its sockets closed with it).
    try:
        lost = session.wait_for("session.disconnected", timeout=30, since=mark)
        settled(session)
        # While it tried: reconnecting, with the attempt; then lost, in red, with the cause
        # and what to do.
        assert any("reconnecting" in s and "attempt 1 of 1" in s for s in shown), shown
        status = console.connection.status.value
        assert "color:#c0392b" in status
        assert "connection lost" in status
        assert html.escape(lost.message) in status
        assert "Connect starts a new session" in status
        # The start-only settings unlock (only the WebRTC/SIP ones stay locked), and End
        # session goes.
        assert set(console.locked) == {"wake_policy", "idle_timeout_s"}
        voice = console.controls["voice"]
        assert not any(leaf.disabled for leaf in leaves(voice.widget) if hasattr(leaf, "disabled"))
        assert "fixed by session.start" not in voice.status.value
        assert console.end_button.layout.display == "none"
    finally:
        console.close()


def test_after_a_reconnect_the_lost_delegations_lose_their_answer_box_and_the_console_says_so(
    play: LivePlayground, peer: LivePeer
) -> None:
    session = play.session
    assert session is not None
    pushed(
        play,
        peer,
        {"type": "session.input_transcript.delta", "start_ms": 0, "end_ms": 900,
         "delta": "Book a table for two."},
        {"type": "session.delegation.created", "offset_ms": 1200,
         "delegation": {"type": "delegation", "id": "deleg_1", "target": "client"}},
    )  # fmt: skip
    box = play.parts["delegations"]
    assert "rw-delegation-answer" in box.children[2]._dom_classes
    old = session.session_id
    shown = statuses(play)
    mark = session.mark()
    peer.drop()
    reconnected = session.wait_for("session.reconnected", timeout=30, since=mark)
    session.wait_for("session.started", timeout=30, since=mark)
    settled(session)
    new = session.session_id
    assert new != old
    assert reconnected.model_dump()["lost_delegation_ids"] == ["deleg_1"]
    # The delegation is lost: said so, and nothing offers to answer it.
    line = box.children[1].value
    assert "data-status='lost'" in line
    assert "server session ended" in line
    assert not any("rw-delegation-answer" in c._dom_classes for c in box.children)
    # The console says a new server session replaced the old one and what was lost.
    assert any("reconnecting" in s for s in shown), shown
    status = play.connection.status.value
    assert "reconnected" in status
    assert str(new) in status
    assert play.notice.layout.display is None
    notice = play.notice.value
    assert str(new) in notice
    assert str(old) in notice
    assert "deleg_1" in notice
    assert "context" in notice
    # It is started again: the start-only settings lock again, End session is back.
    assert "model" in play.locked
    assert play.end_button.layout.display is None
    # Then the connection is gone for good: the reconnect's news goes with it.
    session.max_reconnects = 0
    mark = session.mark()
    peer.drop()
    session.wait_for("session.disconnected", timeout=30, since=mark)
    settled(session)
    assert "connection lost" in play.connection.status.value
    assert play.notice.layout.display == "none"


def test_a_bad_item_in_a_list_valued_control_is_shown_on_that_control(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    console = LivePlayground(connect=False)
    try:
        control = console.controls["input"]
        bad = [{"type": "message", "role": "robot",
                "content": [{"type": "input_text", "text": "hi"}]}]  # fmt: skip
        control.widget.value = json.dumps(bad)  # (a person's edit: the watch applies it)
        assert "input[0]" in control.status.value
        assert "robot" in control.status.value
        assert "color:#c0392b" in control.status.value
        # A server error whose param names a list element lands there too.
        control.error(None)
        console._say_on("input[1].content[0].text", "too long")
        assert "too long" in control.status.value
    finally:
        console.close()


# ---- latency and usage ---------------------------------------------------------------------


def test_usage_shows_the_reported_seconds_and_the_dollars_with_what_they_assume(
    play: LivePlayground, peer: LivePeer
) -> None:
    """A WebSocket report (OpenAI's and the local server's) has ``seconds`` only: the meter
    shows them as that, and the dollars as an upper bound (priced as active), with the price's
    source; the whole cost note is the line's tooltip."""
    assert "no report yet" in play.meters.value
    pushed(play, peer, {"type": "session.usage.updated", "usage": {"seconds": 90.0}})
    meters = play.meters.value
    assert "<b>90 s</b> billed" in meters
    assert "seconds only: OpenAI reports active/paused for eligible WebRTC sessions alone" in meters
    assert not re.search(r"\d s (active|paused)", meters)  # no made-up breakdown
    assert "<b>$0.0750</b>" in meters  # 90 s x $0.05/min: all of it priced as active
    assert (
        "$0.05/active min + $0.02/standby min for gpt-live-1.1, an upper bound: 90 s with no "
        "active/standby split, priced as active &middot;"
    ) in meters
    assert LIVE_PRICES["gpt-live-1.1"].source in meters
    assert "read October 2026" in meters
    note = play.session.cost_report.note
    assert "upper bound" in note
    assert f"title='{html.escape(note, quote=True)}'" in meters
    # A later report replaces it (cumulative: never summed).
    pushed(play, peer, {"type": "session.usage.updated", "usage": {"seconds": 120.0}})
    assert "<b>120 s</b> billed" in play.meters.value
    assert "<b>$0.1000</b>" in play.meters.value
    assert "gpt-live-1.1, an upper bound: 120 s with no active/standby split" in play.meters.value


def test_usage_with_the_breakdown_shows_active_and_paused_and_prices_each(
    play: LivePlayground, peer: LivePeer
) -> None:
    """A report with the breakdown, as an eligible WebRTC session has it (paused: inference
    paused by an idle timeout): shown as reported, each part at its price, nothing assumed."""
    pushed(
        play,
        peer,
        {"type": "session.usage.updated",
         "usage": {"seconds": 90.0, "active_seconds": 60, "paused_seconds": 30}},
    )  # fmt: skip
    meters = play.meters.value
    assert "<b>90 s</b> billed: 60 s active, 30 s paused (idle timeout)" in meters
    assert "seconds only" not in meters
    assert "<b>$0.0600</b>" in meters  # 60 s x $0.05/min + 30 s x $0.02/min
    assert "upper bound" not in meters
    assert "$0.05/active min + $0.02/standby min" in meters
    assert LIVE_PRICES["gpt-live-1.1"].source in meters
    assert play.session.cost_report.assumed_active_seconds == 0


def test_a_model_with_no_standby_price_says_every_second_is_active(
    peer: LivePeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    console = playground(peer, LiveConfig(model="gpt-live-1"))
    try:
        pushed(console, peer, {"type": "session.usage.updated", "usage": {"seconds": 30.0}})
        meters = console.meters.value
        assert "<b>30 s</b> billed" in meters
        assert (
            "<b>$0.0250</b> at $0.05/active min for gpt-live-1, every second billed as " in meters
        )
        assert "active: it has no standby price &middot;" in meters
        assert "upper bound" not in meters
        assert "standby min" not in meters
    finally:
        console.close()


def test_an_unknown_price_is_said_plainly(peer: LivePeer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    console = playground(peer, LiveConfig(model="gpt-live-2"))
    try:
        pushed(console, peer, {"type": "session.usage.updated", "usage": {"seconds": 30.0}})
        meters = console.meters.value
        assert "<b>cost unknown</b>" in meters
        assert "no price for model &#x27;gpt-live-2&#x27;" in meters
        assert "$" not in meters.split("cost unknown")[0]
    finally:
        console.close()


def test_the_models_turns_and_a_barge_in_go_on_the_waveform_and_the_transcript(
    play: LivePlayground, peer: LivePeer
) -> None:
    session = play.session
    assert session is not None
    session.append_audio(np.zeros(MODEL_RATE, np.int16), MODEL_RATE)  # 1 s of input
    pushed(
        play,
        peer,
        {"type": "session.input_transcript.delta", "start_ms": 100, "end_ms": 900,
         "delta": "Tell me a story."},
        {"type": "session.output_transcript.delta", "start_ms": 1000, "end_ms": 1500,
         "delta": "Once upon a time"},
        {"type": "session.output_transcript.delta", "start_ms": 1500, "end_ms": 2600,
         "delta": " there was"},  # (words are sent ahead of when they are heard)
        {"type": "session.output_audio.delta",
         "delta": base64.b64encode(bytes(5 * MODEL_RATE * 2)).decode()},  # 5 s of the model
    )  # fmt: skip
    session.append_audio(np.zeros(MODEL_RATE, np.int16), MODEL_RATE)  # input now ends at 2 s
    # The person speaks at 2 s of input, sent while the model's 5 s still play: a barge-in.
    pushed(
        play,
        peer,
        {"type": "session.input_transcript.delta", "start_ms": 2000, "end_ms": 2600,
         "delta": "Stop."},
    )  # fmt: skip
    waveform = play.parts["waveform"]

    def markers() -> list[dict[str, Any]]:  # (as sent to the page: batched every 50 ms)
        return [m for m in waveform.history_message()[0]["items"] if m["type"] == "marker"]

    eventually(lambda: any(m["kind"] == "truncated" for m in markers()), 30)
    kinds = [(m["kind"], m["label"]) for m in markers()]
    (latency,) = session.metrics.latencies_ms()  # end of speech -> the model's first audio
    assert kinds[:3] == [("speech_started", "you"), ("speech_stopped", "end of speech"),
                         ("response_start", f"model +{latency:.0f} ms")]  # fmt: skip
    assert f"last <b>{latency:.0f} ms</b>" in play.meters.value
    assert ("truncated", "barge-in") in kinds
    barge = next(m for m in markers() if m["kind"] == "truncated")
    span = session.timeline.item_span("live_audio_1")
    assert span is not None
    assert span[1] - span[0] == pytest.approx(5000, abs=1)  # the model's 5 s, placed once
    assert span[0] < barge["ms"] < span[1]
    # The model answers; the person speaks right after its last word (their turn's start, with
    # the audio before the speech, a little before that word's end): not a barge-in.
    pushed(
        play,
        peer,
        {"type": "session.output_transcript.delta", "start_ms": 2900, "end_ms": 3300,
         "delta": "Stopping."},
        {"type": "session.input_transcript.delta", "start_ms": 3100, "end_ms": 3600,
         "delta": "Thanks."},
    )  # fmt: skip
    eventually(lambda: len([m for m in markers() if m["label"] == "you"]) == 3, 30)
    # Only one barge-in: the first turn began before the model spoke, the last after it.
    assert [m["kind"] for m in markers()].count("truncated") == 1
    # The page was told to stop the model's audio it still had (nothing played yet).
    assert {"type": "flush"} in ops(play.parts["speaker"])
    # The model's row says it was cut.
    row = play.parts["model"].snapshot[0]
    assert row["note"] == "cut when you spoke"
    assert any(o.get("op") == "done" and o["note"] == "cut when you spoke"
               for o in ops(play.parts["model"]))  # fmt: skip


# ---- where the state lives ------------------------------------------------------------------


def test_clicks_changes_and_listeners_touch_the_console_on_the_session_loop(
    play: LivePlayground, peer: LivePeer
) -> None:
    session = play.session
    assert session is not None
    threads: dict[str, threading.Thread] = {}

    def seen(name: str, fn: Any) -> Any:
        def wrapped(*args: Any) -> Any:
            threads.setdefault(name, threading.current_thread())
            return fn(*args)

        return wrapped

    steering = play.parts["steering"]
    play._toggle_mute = seen("mute click", play._toggle_mute)  # type: ignore[method-assign]
    play._apply_controls = seen("control change", play._apply_controls)  # type: ignore[method-assign]
    steering._append = seen("append click", steering._append)
    play.meters.show = seen("listener", play.meters.show)
    click(play.parts["mute"])
    steering.text.value = "Hello."
    click(steering.buttons.children[0])
    play.controls["delegation"].set({"type": "client", "acknowledgement_delay_ms": 100})
    sent(peer, "session.commentary.append")
    sent(peer, "session.update")
    eventually(lambda: session.state.muted, 30)
    settled(session)
    assert set(threads) == {"mute click", "control change", "append click", "listener"}
    assert session.loop_thread is not None
    assert session.loop_thread is not threading.current_thread()
    assert set(threads.values()) == {session.loop_thread}


# ---- the key never syncs ----------------------------------------------------------------------


def test_the_key_is_never_in_widget_state_or_a_saved_notebook(
    peer: LivePeer, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    key = "sk-proj-LIVE-NEVER-SAVE-ME-0987654321"
    console = playground(peer, connect=False)
    try:
        console.connection.target.value = OPENAI
        field = console.connection.key
        field._on_browser(field, {"type": "key", "value": key}, [])
        assert field.secret == Secret(key)
        endpoint = console.connection.endpoint("gpt-live-1.1")
        assert endpoint.headers()["Authorization"] == f"Bearer {key}"
        state = embed_data(views=[console])
        assert key not in json.dumps(state["manager_state"])
        everything = [w.get_state() for w in list(_instances.values())]
        assert key not in json.dumps(everything, default=str)
        assert key not in repr(console) + repr(field) + repr(endpoint)
        nb = nbformat.v4.new_notebook()
        nb.metadata["widgets"] = {
            "application/vnd.jupyter.widget-state+json": state["manager_state"]
        }
        path = tmp_path / "saved.ipynb"
        nbformat.write(nb, path)
        assert key not in path.read_text()
    finally:
        console.close()


def test_it_is_exported_from_the_widgets_and_the_top_level() -> None:
    from realtime_widgets.widgets import LivePlayground as FromWidgets

    assert rw.LivePlayground is FromWidgets is LivePlayground
    assert "LivePlayground" in rw.__all__


# ---- the transcript view: O(delta), by position ----------------------------------------------


def feed(state: LiveState, views: list[LiveTranscriptView], *events: dict[str, Any]) -> None:
    """Each event applied to the state, then seen by every view (as a session's listeners)."""
    for t, raw in enumerate(events):
        event = le.parse_live_server_event({"event_id": f"e{t}", **raw})
        state.apply(event, float(t))
        for view in views:
            view.observe_event(event)


def test_the_transcript_view_sends_a_row_per_turn_and_one_message_per_delta() -> None:
    you, model = LiveTranscriptView(role="user"), LiveTranscriptView(role="assistant")
    state = model.state = you.state
    feed(
        state,
        [you, model],
        {"type": "session.input_transcript.delta", "start_ms": 0, "end_ms": 400,
         "delta": "Hello"},
        {"type": "session.input_transcript.delta", "start_ms": 400, "end_ms": 700,
         "delta": " there"},
        {"type": "session.output_transcript.delta", "start_ms": 900, "end_ms": 1200,
         "delta": " Hi!"},
        {"type": "session.input_transcript.delta", "start_ms": 1500, "end_ms": 1900,
         "delta": "Thanks"},
    )  # fmt: skip
    you_ops = ops(you)
    assert [o["op"] for o in you_ops] == ["turn", "delta", "turn"]
    assert (you_ops[0]["id"], you_ops[0]["after"], you_ops[0]["text"]) == ("turn-1", None, "Hello")
    assert you_ops[1] == {"op": "delta", "id": "turn-1", "text": " there", "tokens": None}
    assert (you_ops[2]["id"], you_ops[2]["after"], you_ops[2]["start_ms"]) == (
        "turn-3",
        "turn-1",
        1500,
    )
    (model_op,) = ops(model)
    assert (model_op["op"], model_op["id"], model_op["text"]) == ("turn", "turn-2", "Hi!")
    assert [r["text"] for r in you.snapshot] == ["Hello there", "Thanks"]
    assert you.text == "Hello there\nThanks"
    # A note replaces the row's (one message), and stays in the snapshot.
    (turn,) = [t for t in state.transcript.turns if t.role == "assistant"]
    model.note(turn, "cut when you spoke")
    assert ops(model)[-1]["op"] == "done"
    assert model.snapshot[0]["note"] == "cut when you spoke"
    with pytest.raises(ValueError, match="no row"):
        you.note(turn, "wrong side")
    with pytest.raises(ValueError, match="role"):
        LiveTranscriptView(role="system")  # type: ignore[arg-type]
