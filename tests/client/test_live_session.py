"""LiveSession against a scripted GPT-Live peer over real loopback sockets.

The peer (``live_peer.LivePeer``) checks every frame the client sends against the SDK's Live
client-event union and request types, strictly, and answers with SDK-valid Live events; each
test ends with its ``violations`` empty and no I/O thread left behind.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from realtime_widgets import ConfigError, ServerError
from realtime_widgets.client import Endpoint
from realtime_widgets.client.live import LiveSession, live_endpoint
from realtime_widgets.client.live_core import RECONNECT_NOTE
from realtime_widgets.protocol import live_events as le
from realtime_widgets.protocol.live_config import LiveConfig
from realtime_widgets.server.app import LocalServer
from tests.server.conftest import Counting
from tests.speech import Clip
from tests.waiting import eventually

from .live_peer import Event, LivePeer, default_answer


def io_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == "realtime-widgets-io"]


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    yield
    assert io_threads() == []  # every session closed its tasks and released the I/O thread


def session_for(peer: LivePeer, config: LiveConfig | None = None, **kw: Any) -> LiveSession:
    kw.setdefault("reconnect", False)
    return LiveSession(
        config or LiveConfig(model="gpt-live-1.1"),
        endpoint=Endpoint.local(peer.url, "ignored"),
        **kw,
    )


SILENCE_20MS = base64.b64encode(bytes(960)).decode()  # 20 ms of 24 kHz PCM16


class Clock:
    """The session clock, set by the test (the session reads it on its I/O thread)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def pushed(s: LiveSession, peer: LivePeer, *events: Event) -> None:
    """The peer sends ``events``; returns when the session has read the last one."""
    mark = s.mark()
    peer.push(*events)
    s.wait_for(events[-1]["type"], timeout=30, since=mark)


# ---- opening ----------------------------------------------------------------------------------


def test_connect_sends_session_start_to_live_sessions_and_returns_on_started() -> None:
    config = LiveConfig(
        model="gpt-live-1.1",
        voice="cedar",
        instructions="Be brief.",
        audio_format={"type": "audio/pcm", "rate": 16000},
    )
    with LivePeer() as peer:
        s = session_for(peer, config)
        closed: list[Any] = []
        s.on("session.closed", closed.append)
        try:
            assert s.connect() is s
            assert s.connected
            assert s.started
            assert (s.session_id, s.expires_at) == ("sess_1", 2_000_000_000.0)
            assert s.effective == config.model_copy()  # the peer reported all of it
            assert repr(s) == (
                f"LiveSession('ws://127.0.0.1:{peer.port}/v1/live/sessions', "
                "model='gpt-live-1.1', connected)"
            )
        finally:
            s.close()
        assert not s.connected
        # no session.closed from the server: the client's own says the session object closed
        assert [(e.type, type(e).__name__) for e in closed] == [
            ("session.closed", "UnknownServerEvent")
        ]
    assert peer.paths == ["/v1/live/sessions"]  # no model query: it is in session.start
    assert peer.received[0] == {
        "type": "session.start",
        "event_id": "evt_rw_1",
        "session": config.to_session_start()["session"],
    }
    assert peer.violations == []


def test_the_live_url_is_the_base_plus_live_sessions_with_no_query() -> None:
    openai = live_endpoint(Endpoint.openai("gpt-live-1", "sk-test"))
    assert openai.url == "wss://api.openai.com/v1/live/sessions"
    assert openai.headers() == {"Authorization": "Bearer sk-test"}
    local = live_endpoint(Endpoint.local("ws://127.0.0.1:9/v1/realtime", "m", token="t"))
    assert (local.url, local.kind) == ("ws://127.0.0.1:9/v1/live/sessions", "local")
    assert live_endpoint(local).url == local.url  # already a Live endpoint
    assert live_endpoint(Endpoint("ws://h/v1/")).url == "ws://h/v1/live/sessions"


# ---- every client event of the SDK's union is a method ----------------------------------------


def test_every_method_sends_exactly_the_event_the_sdk_models() -> None:
    tone = (1000 * np.ones(2400)).astype(np.int16)  # 100 ms at 24 kHz
    item = {"role": "user", "content": "I want a refund"}
    output = {"type": "function_call_output", "call_id": "call_1", "output": "42"}
    with LivePeer() as peer:
        s = session_for(peer)
        try:
            s.connect()
            calls: list[tuple[str, Event]] = [
                (s.mute(), {"type": "session.input_audio.mute"}),
                (s.unmute(), {"type": "session.input_audio.unmute"}),
                (
                    s.play_fixture(tone),
                    {
                        "type": "session.output_audio.fixture.play",
                        "audio": base64.b64encode(tone.astype("<i2").tobytes()).decode(),
                    },
                ),
                (
                    s.append_instructions("Speak French."),
                    {
                        "type": "session.instructions.append",
                        "content": "Speak French.",
                        "delegation_id": None,
                    },
                ),
                (
                    s.append_thinking("The order shipped."),
                    {
                        "type": "session.thinking.append",
                        "content": "The order shipped.",
                        "delegation_id": None,
                    },
                ),
                (
                    s.append_commentary("One moment.", delegation_id="del_x"),
                    {
                        "type": "session.commentary.append",
                        "content": "One moment.",
                        "delegation_id": "del_x",
                    },
                ),
                (
                    s.answer_delegation("del_y", "Done.", spoken=False),
                    {
                        "type": "session.thinking.append",
                        "content": "Done.",
                        "delegation_id": "del_y",
                    },
                ),
                (s.create_decision(), {"type": "decision.create"}),
                (s.create_decision_item(item), {"type": "decision.item.create", "item": item}),
                (
                    s.delete_decision_item("ditem_1"),
                    {"type": "decision.item.delete", "item_id": "ditem_1"},
                ),
                (
                    s.create_response_item(output),
                    {"type": "response.item.create", "item": output},
                ),
                (s.create_response(), {"type": "response.create"}),
            ]
            effective = s.update(delegation={"type": "client", "acknowledgement_delay_ms": 200})
            assert effective.delegation is not None
            assert effective.delegation.acknowledgement_delay_ms == 200
            assert s.append_audio(tone, 24_000) == 4800
            closed = s.close_session()
        finally:
            s.close()
    for event_id, expected in calls:
        assert [e for e in peer.received if e.get("event_id") == event_id] == [
            {"type": expected["type"], "event_id": event_id, **expected}
        ]
    update = peer.last("session.update")
    assert update["session"] == {"delegation": {"type": "client", "acknowledgement_delay_ms": 200}}
    append = peer.last("session.input_audio.append")
    assert set(append) == {"type", "audio"}
    assert base64.b64decode(append["audio"]) == tone.astype("<i2").tobytes()
    assert (closed.reason, closed.session_id) == ("close_requested", "sess_1")
    close = peer.last("session.close")
    assert set(close) == {"type", "event_id"}
    assert close["event_id"].startswith("evt_rw_")
    # all fifteen client events of the SDK's union, each checked strictly by the peer
    assert set(peer.sent_types()) == set(le.LIVE_CLIENT_EVENT_TYPES)
    assert peer.violations == []


def test_what_the_server_answers_lands_in_state() -> None:
    with LivePeer() as peer:
        s = session_for(peer)
        try:
            s.connect()
            mark = s.mark()
            s.mute()
            s.wait_for("session.input_audio.muted", timeout=30, since=mark)
            assert s.state.muted is True
            mark = s.mark()
            s.unmute()
            s.wait_for("session.input_audio.unmuted", timeout=30, since=mark)
            assert s.state.muted is False
            mark = s.mark()
            event_id = s.append_thinking("Quiet context.")
            appended = s.wait_for("session.thinking.appended", timeout=30, since=mark)
            assert appended.client_event_id == event_id  # type: ignore[attr-defined]
            assert s.state.appended[-1].content == "Quiet context."
            mark = s.mark()
            s.play_fixture(np.zeros(24_000, np.int16))
            s.wait_for("session.output_audio.fixture.played", timeout=30, since=mark)
            assert (s.state.fixture_playing, s.state.fixtures_played) == (False, 1)
            mark = s.mark()
            s.create_decision_item({"role": "user", "content": "refund"})
            s.wait_for("decision.item.created", timeout=30, since=mark)
            assert s.state.decision_items["ditem_1"]["content"] == "refund"
            mark = s.mark()
            s.create_decision()
            s.wait_for("decision.event", timeout=30, since=mark)
            assert s.state.decisions[-1]["event"]["decision"]["answers"][0]["name"] == "refund"
        finally:
            s.close()
    assert peer.violations == []


def test_a_fixture_is_sent_as_24k_pcm16_and_at_most_30_s() -> None:
    with LivePeer() as peer:
        s = session_for(peer, LiveConfig(audio_format={"type": "audio/pcmu"}))
        try:
            s.connect()
            mark = s.mark()
            s.play_fixture(np.zeros(4800, np.int16), 48_000)  # 100 ms at 48 kHz
            s.wait_for("session.output_audio.fixture.played", timeout=30, since=mark)
            sent = base64.b64decode(peer.last("session.output_audio.fixture.play")["audio"])
            assert len(sent) == 2 * 2400  # 24 kHz PCM16, whatever the session's format
            with pytest.raises(ConfigError, match=r"at most 30 s, got 30\.50 s") as err:
                s.play_fixture(np.zeros(int(30.5 * 16_000), np.int16), 16_000)
            assert err.value.field == "audio"
            with pytest.raises(ConfigError, match=r"got 0\.00 s"):
                s.play_fixture(b"")
        finally:
            s.close()
    assert peer.sent_types().count("session.output_audio.fixture.play") == 1
    assert peer.violations == []


# ---- session.update -----------------------------------------------------------------------------


def test_start_only_settings_are_refused_locally_once_started() -> None:
    with LivePeer() as peer:
        s = session_for(peer)
        try:
            s.update(voice="cedar", instructions="Be brief.")  # not started: the next start's
            s.connect()
            assert peer.received[0]["session"]["audio"]["output"]["voice"] == "cedar"
            assert peer.received[0]["session"]["instructions"] == "Be brief."
            for change in (
                {"voice": "marin"},
                {"instructions": "Be long."},
                {"model": "gpt-live-1"},
                {"audio_format": {"type": "audio/pcmu"}},
                {"input": [{"role": "user", "content": [{"type": "input_text", "text": "x"}]}]},
            ):
                with pytest.raises(ConfigError, match=r"is fixed by session\.start") as err:
                    s.update(change)
                assert err.value.field == next(iter(change))
            assert s.requested.voice == "cedar"  # unchanged
            assert s.update(voice="cedar").voice == "cedar"  # no change: nothing to send
        finally:
            s.close()
    assert peer.sent_types() == ["session.start"]  # nothing else went out
    assert peer.violations == []


def test_a_server_refusal_of_an_update_names_our_field() -> None:
    def refusing(peer: LivePeer, event: Event) -> list[Any]:
        if event["type"] != "session.update":
            return default_answer(peer, event)
        error = {
            "type": "invalid_request_error",
            "code": "invalid_value",
            "message": "Decisions delegation needs questions.",
            "param": "session.delegation.questions",
            "client_event_id": event["event_id"],
        }
        return [{"type": "error", "client_event_id": event["event_id"], "error": error}]

    with LivePeer(refusing) as peer:
        s = session_for(peer)
        try:
            s.connect()
            with pytest.raises(ServerError, match="needs questions") as err:
                s.update(delegation={"type": "client"})
            assert err.value.config_field == "delegation.questions"
            assert err.value.event_id == peer.last("session.update")["event_id"]
            assert s.requested.delegation is None  # unchanged
            (record,) = s.state.errors
            assert record.client_event is not None
            assert record.client_event.type == "session.update"
        finally:
            s.close()
    assert peer.violations == []


# ---- delegation, errors -----------------------------------------------------------------------


def test_a_client_delegation_is_answered_the_sdks_way() -> None:
    created = {
        "type": "session.delegation.created",
        "offset_ms": 900,
        "delegation": {"type": "delegation", "id": "del_1", "target": "client"},
    }
    backend = {
        "type": "session.delegation.created",
        "offset_ms": 950,
        "delegation": {"type": "delegation", "id": "del_r", "target": "responses"},
    }
    with LivePeer() as peer:
        s = session_for(peer, LiveConfig(delegation={"type": "client"}))
        try:
            s.connect()
            pushed(s, peer, created, backend)
            assert [d.id for d in s.state.pending_delegations()] == ["del_1"]
            mark = s.mark()
            event_id = s.answer_delegation("del_1", "It ships Tuesday.")
            s.wait_for("session.commentary.appended", timeout=30, since=mark)
            assert s.state.delegations["del_1"].status == "accepted"
            assert s.state.pending_delegations() == []
            with pytest.raises(ConfigError, match="handled by the responses backend") as err:
                s.answer_delegation("del_r", "x")
            assert err.value.field == "delegation_id"
        finally:
            s.close()
    assert peer.last("session.commentary.append") == {
        "type": "session.commentary.append",
        "event_id": event_id,
        "content": "It ships Tuesday.",
        "delegation_id": "del_1",
    }
    assert peer.violations == []


def test_an_error_is_linked_back_to_the_event_that_caused_it() -> None:
    def refusing_mute(peer: LivePeer, event: Event) -> list[Any]:
        if event["type"] != "session.input_audio.mute":
            return default_answer(peer, event)
        error = {
            "type": "invalid_request_error",
            "code": "fixture_active",
            "message": "Input is muted while a fixture plays.",
            "client_event_id": event["event_id"],
        }
        return [{"type": "error", "error": error}]

    with LivePeer(refusing_mute) as peer:
        s = session_for(peer)
        try:
            s.connect()
            mark = s.mark()
            event_id = s.mute()
            s.wait_for("error", timeout=30, since=mark)
            (record,) = s.state.errors_for(event_id)
            assert record.client_event is not None
            assert (record.code, record.client_event.type) == (
                "fixture_active",
                "session.input_audio.mute",
            )
            assert s.last_error is not None
            assert s.last_error.event_id == event_id
            assert s.state.muted is False
        finally:
            s.close()
    assert peer.violations == []


# ---- metrics and cost ---------------------------------------------------------------------------


def test_latency_and_cost_from_a_scripted_session() -> None:
    clock = Clock()
    with LivePeer() as peer:
        s = session_for(peer, LiveConfig(model="gpt-live-1.1"))
        s.core.follow_clock(clock)
        try:
            s.connect()
            assert s.cost == 0.0
            for k in range(1, 11):  # 0..1000 ms streamed in real time: 100 ms chunks
                clock.now = k / 10
                s.append_audio(np.zeros(2400, np.int16))  # the last, 900..1000 ms, at 1.0 s
            clock.now = 1.5
            pushed(
                s,
                peer,
                {"type": "session.usage.updated", "usage": {"seconds": 10}},
                {
                    "type": "session.input_transcript.delta",
                    "delta": "What time is it?",
                    "start_ms": 100,
                    "end_ms": 700,
                },
            )
            clock.now = 2.0
            pushed(s, peer, {"type": "session.output_audio.delta", "delta": SILENCE_20MS})
            clock.now = 2.5
            pushed(
                s,
                peer,
                {
                    "type": "session.output_transcript.delta",
                    "delta": "Noon.",
                    "start_ms": 1300,
                    "end_ms": 1600,
                },
                {
                    "type": "session.usage.updated",
                    "usage": {"seconds": 61, "active_seconds": 50, "paused_seconds": 11},
                },
            )
            (turn,) = s.metrics.turns
            assert turn.latency_ms == 1300.0  # end of speech at 0.7 s, first audio at 2.0 s
            assert turn.breakdown_ms()["transcript"] == 800.0
            assert s.metrics.latencies_ms() == [1300.0]
            assert (s.usage.seconds, s.usage.active_seconds, s.usage.paused_seconds) == (61, 50, 11)
            assert s.cost == pytest.approx(50 / 60 * 0.05 + 11 / 60 * 0.02)
            assert s.cost_report.price is not None
            assert "developers.openai.com/api/docs/models/gpt-live-1.1" in s.cost_report.note
            assert [(t.role, t.text) for t in s.state.transcript.ordered()] == [
                ("user", "What time is it?"),
                ("assistant", "Noon."),
            ]
            assert s.timeline.item_span("live_audio_1") is not None  # the model's audio
        finally:
            s.close()
    assert peer.violations == []


def test_an_unknown_model_has_an_unknown_cost() -> None:
    with LivePeer() as peer:
        s = session_for(peer, LiveConfig(model="gpt-live-9"))
        try:
            s.connect()
            pushed(s, peer, {"type": "session.usage.updated", "usage": {"seconds": 60}})
            assert s.cost is None
            assert s.cost_report.note.startswith("cost unknown: no price for model 'gpt-live-9'")
        finally:
            s.close()


# ---- the end of a session, reconnects ---------------------------------------------------------


def test_close_session_returns_the_final_usage_and_waits_then_fail_with_the_reason() -> None:
    with LivePeer() as peer:
        s = session_for(peer, reconnect=True)  # a closed session is not reopened all the same
        said: list[dict[str, Any]] = []
        s.on("session.disconnected", lambda e: said.append(dict(e.model_extra or {})))
        closed_events: list[Any] = []
        s.on("session.closed", closed_events.append)
        try:
            s.connect()
            assert s.expires_in is not None
            assert s.expires_in > 0
            peer.usage_seconds = 42.0
            closed = s.close_session()
            assert (closed.reason, closed.seconds) == ("close_requested", 42.0)
            assert s.usage.seconds == 42.0
            eventually(lambda: not s.connected, timeout=10)
            with pytest.raises(ServerError, match=r"the server closed the session \(close_req"):
                s.wait_for("session.updated", timeout=600)  # at once, not after 600 s
            with pytest.raises(ServerError, match="closed the session"):
                s.mute()
        finally:
            s.close()
    assert peer.sessions == 1
    # one session.closed for the listeners: the server's (the session object's close adds none)
    assert [type(e) for e in closed_events] == [le.SessionClosedEvent]
    assert said == [
        {
            "code": 1000,
            "reason": "session_closed",
            "message": "the server closed the session (close_requested)",
        }
    ]
    assert peer.violations == []


def test_a_session_the_server_ends_is_not_reopened() -> None:
    with LivePeer() as peer:
        s = session_for(peer, reconnect=True)
        try:
            s.connect()
            waiting = s.submit(s.await_event("session.updated", timeout=600))
            peer.push(
                {
                    "type": "session.closed",
                    "reason": "expired",
                    "session": peer.session,
                    "usage": {"seconds": 3600},
                }
            )
            peer.close(1001, "session expired")
            with pytest.raises(ServerError, match=r"closed the session \(expired\)") as err:
                waiting.result(30)
            assert err.value.code == "session_closed"
            assert s.connected is False
            assert s.state.closed is not None
            assert s.state.closed.reason == "expired"
        finally:
            s.close()
    assert peer.sessions == 1  # 1001 is a reconnectable code; a closed session is not


def test_a_dropped_connection_starts_a_new_session_and_says_what_was_lost() -> None:
    config = LiveConfig(model="gpt-live-1", voice="cedar", instructions="Be brief.")
    with LivePeer() as peer:
        s = session_for(peer, config, reconnect=True)
        reconnected: list[dict[str, Any]] = []
        s.on("session.reconnected", lambda e: reconnected.append(dict(e.model_extra or {})))
        try:
            s.connect()
            s.update(delegation={"type": "client"})
            s.append_audio(np.zeros(24_000, np.int16))
            pushed(
                s,
                peer,
                {
                    "type": "session.input_transcript.delta",
                    "delta": "Hello",
                    "start_ms": 0,
                    "end_ms": 400,
                },
                {
                    "type": "session.delegation.created",
                    "offset_ms": 500,
                    "delegation": {"type": "delegation", "id": "del_1", "target": "client"},
                },
                {"type": "session.usage.updated", "usage": {"seconds": 40}},
            )
            mark = s.mark()
            peer.drop()
            s.wait_for("session.reconnected", timeout=60, since=mark)
            assert s.connected
            assert s.started
            assert s.session_id == "sess_2"
            assert s.state.delegations["del_1"].status == "lost"
            with pytest.raises(ConfigError, match="was lost with its server session"):
                s.answer_delegation("del_1", "too late")
            pushed(
                s,
                peer,
                {"type": "session.usage.updated", "usage": {"seconds": 12}},
                {
                    "type": "session.input_transcript.delta",
                    "delta": "Again",
                    "start_ms": 0,
                    "end_ms": 300,
                },
            )
            assert s.usage.seconds == 52  # the lost session's last report and the new one's
            assert s.cost == pytest.approx(52 / 60 * 0.05)
            turns = s.state.transcript.ordered()
            assert [(t.session, t.text) for t in turns] == [(0, "Hello"), (1, "Again")]
            assert s.state.session_ids == ["sess_1", "sess_2"]
        finally:
            s.close()
    starts = [e for e in peer.received if e["type"] == "session.start"]
    assert len(starts) == 2
    assert peer.sessions == 2
    # the same configuration, the update included: GPT-Live has no resumption
    assert starts[1]["session"] == starts[0]["session"] | {"delegation": {"type": "client"}}
    assert starts[1]["session"]["instructions"] == "Be brief."
    assert reconnected == [
        {
            "attempt": 1,
            "close_code": 1006,
            "close_reason": None,
            "session_id": "sess_2",
            "lost_session_id": "sess_1",
            "lost_delegation_ids": ["del_1"],
            "message": RECONNECT_NOTE,
        }
    ]
    assert "no resumption" in RECONNECT_NOTE
    assert peer.violations == []


def test_without_reconnect_a_drop_ends_the_session_and_every_wait_says_why() -> None:
    with LivePeer() as peer:
        s = session_for(peer)
        try:
            s.connect()
            waiting = s.submit(s.await_event("session.updated", timeout=600))
            peer.drop()
            with pytest.raises(ServerError, match=r"closed \(code 1006\) and was not reopened"):
                waiting.result(30)
            assert s.connected is False
        finally:
            s.close()
    assert peer.sessions == 1


def test_streamed_audio_goes_before_session_close() -> None:
    with LivePeer() as peer:
        s = session_for(peer, LiveConfig(audio_format={"type": "audio/pcm", "rate": 16000}))
        try:
            s.connect()
            for _ in range(5):
                s.stream_audio(np.zeros(4800, np.int16), 48_000)  # 100 ms each
            s.close_session()
        finally:
            s.close()
    types = peer.sent_types()
    assert types[-1] == "session.close"
    assert len(peer.audio[0]) == 5 * 3200  # 500 ms of 16 kHz PCM16, the tail flushed first
    assert json.loads(json.dumps(peer.received[-1])) == peer.received[-1]
    assert peer.violations == []


@pytest.mark.asyncio
async def test_the_async_twins_from_another_event_loop(tmp_path: Path) -> None:
    """Each method's ``a*`` coroutine, awaited from the caller's own loop (it hops to the
    session's I/O loop); ``listen()`` ends with the server's session.closed; ``record=`` keeps
    every frame both ways."""
    record = tmp_path / "live.jsonl"
    with LivePeer() as peer:
        s = session_for(peer, record=record)
        kinds: list[str] = []
        async with s:
            assert await s.astart() is s  # already started: nothing more is sent

            async def collect() -> None:
                async for event in s.listen():
                    kinds.append(event.type)

            collector = asyncio.create_task(collect())
            await asyncio.sleep(0)  # the collector is listening
            effective = await s.aupdate(delegation={"type": "client"})
            assert effective.delegation is not None
            await s.amute()
            await s.aunmute()
            await s.aappend_audio(np.zeros(480, np.int16))
            await s.aplay_fixture(np.zeros(480, np.int16))
            await s.aappend_instructions("a")
            await s.aappend_thinking("b")
            await s.aappend_commentary("c")
            await s.aanswer_delegation("del_z", "d")
            await s.acreate_decision()
            await s.acreate_decision_item({"role": "system", "content": "policy"})
            await s.adelete_decision_item("ditem_1")
            await s.acreate_response_item({"role": "user", "content": "hi"})
            await s.acreate_response()
            closed = await s.aclose_session()
            assert closed.reason == "close_requested"
            await asyncio.wait_for(collector, 30)
    assert kinds[-1] == "session.closed"
    assert "session.input_audio.muted" in kinds
    assert set(peer.sent_types()) == set(le.LIVE_CLIENT_EVENT_TYPES)
    assert peer.sent_types().count("session.start") == 1
    assert peer.violations == []
    rows = [json.loads(line) for line in record.read_text().splitlines()]
    assert [(r["dir"], r["event"]["type"]) for r in rows[:2]] == [
        ("out", "session.start"),
        ("in", "session.started"),
    ]
    assert rows[-1]["event"]["type"] == "session.closed"


def test_the_local_servers_usage_is_seconds_only_and_the_cost_says_what_it_assumes() -> None:
    """Against the local server, a WebSocket session as at OpenAI: ``session.closed`` and the
    usage reports carry ``seconds`` and no active/paused breakdown (WebRTC only), and the cost
    meter prices those seconds as active for gpt-live-1.1, saying so."""
    server = LocalServer(pace=0, speech=False, transcriber=None).start()
    try:
        s = LiveSession(
            LiveConfig(model="gpt-live-1.1"),
            endpoint=Endpoint.local(server.live_url, "ignored"),
            reconnect=False,
        )
        try:
            s.connect()
            s.mute()  # a mute is no pause: its seconds are billed as any
            time.sleep(1.2)  # (whole seconds are reported: let one pass on the server's clock)
            closed = s.close_session()
        finally:
            s.close()
    finally:
        server.stop()
    assert closed.seconds >= 1
    assert (closed.active_seconds, closed.paused_seconds) == (None, None)
    usage = s.usage
    assert usage.current is not None
    assert not usage.current.broken_down
    assert usage.seconds == usage.unsplit_seconds == closed.seconds
    cost = s.cost_report
    assert cost.assumed_active_seconds == closed.seconds
    assert cost.dollars == pytest.approx(closed.seconds / 60 * 0.05)
    assert "reports only for eligible WebRTC sessions" in cost.note


def test_a_file_sent_at_once_is_timed_from_its_send_not_before_it(three_turns: Clip) -> None:
    """A recorded question appended in one piece (as the README's snippet does) to the local
    server: the end of its speech is placed no earlier than the append left the client, so the
    latency is at most the time the session itself recorded from that send to the model's
    first audio (before, it was that plus the file's length before the end of speech)."""
    server = LocalServer(pace=0, speech="espeak", transcriber=Counting()).start()
    try:
        s = LiveSession(
            LiveConfig(model="gpt-live-1.1"),
            endpoint=Endpoint.local(server.live_url, "ignored"),
            reconnect=False,
            timeout=30.0,
        )
        try:
            s.connect()
            question = three_turns.samples[: int((three_turns.truth[0][1] + 1500) * 24)]
            mark = s.mark()
            s.append_audio(question)
            s.wait_for("session.output_audio.delta", timeout=30, since=mark)
            eventually(lambda: s.metrics.latencies_ms() != [], 30)
            history = list(s.history)
        finally:
            s.close()
    finally:
        server.stop()
    appends = [e.t for e in history if e.type == "session.input_audio.append"]
    sent = appends[0]  # (one append call: the frames the core split it into, at once)
    first_audio = next(e.t for e in history if e.type == "session.output_audio.delta")
    (turn,) = s.metrics.turns
    assert turn.end_ms > 500  # the speech ended well inside the file
    assert appends[-1] <= turn.speech_end < first_audio
    assert turn.first_audio == first_audio
    assert turn.latency_ms is not None
    assert 0 < turn.latency_ms <= round((first_audio - sent) * 1000, 1) + 0.1
