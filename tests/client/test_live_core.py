"""LiveCore without sockets: GPT-Live frames and a fake clock in; state, metrics, frames out.

Every server frame fed here is first checked against the SDK's Live server-event union (a
scripted sequence of events a GPT-Live server could send); every frame the core makes is
checked against the SDK's client-event union and request types.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import pytest

from realtime_widgets.client.dispatch import dispatch
from realtime_widgets.client.live_core import LiveCore
from realtime_widgets.client.live_metrics import InputClock
from realtime_widgets.client.live_state import LiveTranscript
from realtime_widgets.errors import ConfigError
from realtime_widgets.protocol import live_events as le
from realtime_widgets.protocol.events import ServerEvent, UnknownServerEvent
from realtime_widgets.protocol.live_config import LiveConfig
from tests.protocol.sdk_oracle import (
    check_live_client_event,
    check_live_server_event,
    check_live_session_start,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


_ids = iter(range(1, 1_000_000))


def server(kind: str, **fields: Any) -> str:
    """A server frame the SDK's Live union accepts (checked), as JSON text."""
    event = {"type": kind, **fields}
    if kind != "session.output_audio.delta":
        event.setdefault("event_id", f"event_{next(_ids)}")
    check_live_server_event(event)
    return json.dumps(event)


def resource(**settings: Any) -> dict[str, Any]:
    return {
        "id": "sess_1",
        "expires_at": 2_000_000_000,
        "model": "gpt-live-1.1",
        "status": "active",
        **settings,
    }


def said(kind: str, start: int, end: int, text: str) -> str:
    return server(kind, start_ms=start, end_ms=end, delta=text)


def user(start: int, end: int, text: str) -> str:
    return said("session.input_transcript.delta", start, end, text)


def model(start: int, end: int, text: str) -> str:
    return said("session.output_transcript.delta", start, end, text)


def audio_out(samples: np.ndarray[Any, Any] | bytes) -> str:
    data = samples if isinstance(samples, bytes) else samples.astype("<i2").tobytes()
    return server("session.output_audio.delta", delta=base64.b64encode(data).decode())


def handed_out(core: LiveCore) -> None:
    dispatch(core.listeners, core.take_dispatches())


def sent(frame: str) -> dict[str, Any]:
    """A frame the core made, checked against the SDK's Live client union."""
    event: dict[str, Any] = json.loads(frame)
    check_live_client_event(event)
    return event


def started_core(clock: Clock, config: LiveConfig | None = None) -> LiveCore:
    core = LiveCore(config or LiveConfig(model="gpt-live-1.1"), clock=clock)
    core.greeting()
    core.receive(server("session.started", session=resource()))
    handed_out(core)
    return core


def problems(core: LiveCore) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    core.on("client.protocol_error", lambda e: seen.append(dict(e.model_extra or {})))
    return seen


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def core(clock: Clock) -> LiveCore:
    return started_core(clock)


# ---- opening --------------------------------------------------------------------------------


def test_the_greeting_is_session_start_with_the_whole_requested_config(clock: Clock) -> None:
    config = LiveConfig(
        model="gpt-live-1.1",
        voice="cedar",
        instructions="Be brief.",
        audio_format={"type": "audio/pcm", "rate": 16000},
        delegation={"type": "client"},
    )
    core = LiveCore(config, clock=clock)
    (frame,) = core.greeting()
    event = sent(frame)
    check_live_session_start(event)
    assert event == {
        "type": "session.start",
        "event_id": "evt_rw_1",
        "session": config.to_session_start()["session"],
    }
    assert event["session"]["audio"]["format"] == {"type": "audio/pcm", "rate": 16000}
    assert [(h.direction, h.type) for h in core.history] == [("out", "session.start")]
    assert LiveCore.FIRST_EVENT == "session.started"
    with pytest.raises(ConfigError, match="needs a LiveConfig"):
        LiveCore(object())  # type: ignore[arg-type]


def test_session_started_gives_the_session_and_its_effective_config(clock: Clock) -> None:
    asked = LiveConfig(voice="marin", instructions="Be brief.", audio_format={"type": "audio/pcmu"})
    core = LiveCore(asked, clock=clock)
    core.greeting()
    assert not core.started
    event = core.receive(
        server(
            "session.started",
            client_event_id="evt_rw_1",
            session=resource(audio={"output": {"voice": "cedar"}}),
        )
    )
    assert isinstance(event, le.SessionStartedEvent)
    assert core.started
    assert (core.session_id, core.expires_at) == ("sess_1", 2_000_000_000.0)
    assert core.live_effective is not None
    assert core.live_effective.voice == "cedar"  # what the server reports wins ...
    # ... and what its session object leaves out is as we asked, not a default
    assert core.live_effective.instructions == "Be brief."
    assert core.live_effective.audio_format.type == "audio/pcmu"
    assert core.input_format == "audio/pcmu"
    assert core.input_rate == 8000
    assert core.live_config.model == "gpt-live-1.1"
    assert core.live.session_ids == ["sess_1"]
    assert core.live_requested.voice == "marin"  # what we asked for stays ours


# ---- transcripts by position ------------------------------------------------------------------


def test_transcripts_are_turns_by_position(core: LiveCore) -> None:
    for frame in [
        user(0, 300, "Hello"),
        user(300, 700, " there"),
        model(900, 1200, "Hi!"),
        user(700, 800, " friend"),  # late: transcribed after the model began, still turn 1
        model(1200, 1500, " How can I help?"),
        user(1600, 2000, "Book a table"),  # after the model spoke: a new turn
        model(2100, 2400, "For how many?"),
    ]:
        assert core.receive(frame) is not None
    turns = core.live.transcript.ordered()
    assert [(t.role, t.start_ms, t.end_ms, t.text, t.deltas) for t in turns] == [
        ("user", 0, 800, "Hello there friend", 3),
        ("assistant", 900, 1500, "Hi! How can I help?", 2),
        ("user", 1600, 2000, "Book a table", 1),
        ("assistant", 2100, 2400, "For how many?", 1),
    ]
    assert core.live.transcript.text("user") == "Hello there friend\nBook a table"
    assert core.live.transcript.text("assistant") == "Hi! How can I help?\nFor how many?"


def test_a_barge_in_ends_the_models_turn_and_its_answer_is_a_new_one(core: LiveCore) -> None:
    """The person spoke over the model: the model's last word heard was scheduled to end after
    the person began (the server cut the rest), so only the end of what the person said lies
    between that word and the model's answer to it."""
    for frame in [
        user(0, 2800, "The birch canoe slid."),
        model(3000, 3400, "I heard:"),
        model(3400, 4600, " The birch"),  # " The birch" ends where the cut word would start
        user(4000, 7200, "Stop, tell me the time."),  # the person began at 4.0 s: barge-in
        model(7600, 8000, "It is noon."),
    ]:
        assert core.receive(frame) is not None
    turns = [(t.role, t.text) for t in core.live.transcript.ordered()]
    assert turns == [
        ("user", "The birch canoe slid."),
        ("assistant", "I heard: The birch"),
        ("user", "Stop, tell me the time."),
        ("assistant", "It is noon."),
    ]


def test_the_models_audio_divides_the_persons_turns_too(core: LiveCore, clock: Clock) -> None:
    """No output transcript: the model's audio, placed where the input audio stood when it
    arrived, is what the person's next words come after."""
    core.append_frames(np.zeros(24_000, np.int16), 24_000)  # 1 s of input sent
    core.receive(user(100, 600, "Is it open?"))
    core.receive(audio_out(np.zeros(2400, np.int16)))  # the model speaks at ~1000 ms
    core.receive(user(600, 700, " today"))  # before that: the same turn
    core.append_frames(np.zeros(24_000, np.int16), 24_000)
    core.receive(user(1500, 1900, "Thanks"))  # after it: a new turn
    turns = [(t.role, t.text) for t in core.live.transcript.ordered()]
    assert turns == [("user", "Is it open? today"), ("user", "Thanks")]


def test_the_transcript_is_bounded_and_says_what_it_did_not_keep() -> None:
    transcript = LiveTranscript(max_chars=10, max_turns=3)
    transcript.add("user", 0, 10, "abcdef")
    transcript.add("assistant", 20, 30, "ghij")
    transcript.add("user", 40, 50, "klmnop")  # the oldest turn's text leaves, whole
    first, second, third = transcript.ordered()
    assert first.text == "[6 characters not kept: over the transcript's budget]"
    assert (second.text, third.text, transcript.chars) == ("ghij", "klmnop", 10)
    transcript.add("assistant", 60, 70, "qrstuvwxyz!")  # alone over the budget: its head
    assert transcript.turns[-1].pieces == ["qrstuvwxyz"]
    assert transcript.turns[-1].text_dropped == 1
    transcript.add("assistant", 70, 80, "more")  # cut already: nothing after the cut
    assert transcript.turns[-1].text_dropped == 5
    assert transcript.dropped_turns == 1
    assert len(transcript.turns) == 3
    assert transcript.chars == 10
    with pytest.raises(ValueError, match="positive"):
        LiveTranscript(max_chars=0)


# ---- usage, controls, context ---------------------------------------------------------------


def test_usage_is_cumulative_replaced_never_summed(core: LiveCore) -> None:
    core.receive(server("session.usage.updated", usage={"seconds": 10}))
    core.receive(
        server(
            "session.usage.updated",
            usage={"seconds": 25, "active_seconds": 20, "paused_seconds": 5},
            context_window={"usage_ratio": 0.125},
        )
    )
    usage = core.live.usage
    assert (usage.seconds, usage.active_seconds, usage.paused_seconds) == (25, 20, 5)
    assert core.live.context_usage_ratio == 0.125
    core.receive(
        server(
            "session.closed",
            reason="expired",
            session=resource(),
            usage={"seconds": 31, "active_seconds": 24, "paused_seconds": 7},
        )
    )
    assert (usage.seconds, usage.active_seconds, usage.paused_seconds) == (31, 24, 7)
    closed = core.live.closed
    assert closed is not None
    assert (closed.reason, closed.session_id, closed.seconds) == ("expired", "sess_1", 31)
    assert core.ended_by_server is not None
    assert core.ended_by_server.code == "session_closed"
    assert core.ended_by_server.message == "the server closed the session (expired)"


def test_mute_and_fixture_as_the_server_reports_them(core: LiveCore) -> None:
    assert core.live.muted is False
    core.receive(server("session.input_audio.muted", client_event_id="evt_rw_5"))
    assert core.live.muted is True
    core.receive(server("session.input_audio.unmuted"))
    assert core.live.muted is False
    core.receive(server("session.output_audio.fixture.playing"))
    assert (core.live.fixture_playing, core.live.fixtures_played) == (True, 0)
    core.receive(server("session.output_audio.fixture.played"))
    assert (core.live.fixture_playing, core.live.fixtures_played) == (False, 1)


def test_appended_context_is_linked_to_what_we_sent(core: LiveCore, clock: Clock) -> None:
    clock.now = 103.0
    event = {
        "type": "session.thinking.append",
        "event_id": "evt_think",
        "content": "The order shipped.",
        "delegation_id": None,
    }
    assert sent(core.encode(event)) == event
    core.receive(
        server("session.thinking.appended", client_event_id="evt_think", start_ms=40, end_ms=40)
    )
    (appended,) = core.live.appended
    assert (appended.kind, appended.start_ms, appended.content) == (
        "thinking",
        40,
        "The order shipped.",
    )
    remembered = core.live.sent_event("evt_think")
    assert remembered is not None
    assert (remembered.type, remembered.t) == ("session.thinking.append", 3.0)


def test_decisions_and_backend_responses_land_in_state(core: LiveCore) -> None:
    item = {"role": "user", "content": "I want a refund"}
    core.receive(server("decision.item.created", item={"id": "ditem_1", **item}))
    assert core.live.decision_items == {"ditem_1": {"id": "ditem_1", **item}}
    core.receive(server("decision.item.deleted", item_id="ditem_1"))
    assert core.live.decision_items == {}
    core.receive(server("info", code="session_paused", message="Idle."))
    assert list(core.live.infos) == [("session_paused", "Idle.")]


# ---- delegation ---------------------------------------------------------------------------------


def delegation(did: str, target: str = "client", offset: int = 1200) -> str:
    record: dict[str, Any] = {"type": "delegation", "id": did, "target": target}
    if target == "responses":
        record["response_id"] = "resp_9"
    return server("session.delegation.created", offset_ms=offset, delegation=record)


def answer(core: LiveCore, event_id: str, did: str, text: str) -> None:
    sent(
        core.encode(
            {
                "type": "session.commentary.append",
                "event_id": event_id,
                "content": text,
                "delegation_id": did,
            }
        )
    )


def test_a_client_delegation_is_pending_until_answered_and_accepted(
    core: LiveCore, clock: Clock
) -> None:
    clock.now = 102.0
    core.receive(delegation("del_1"))
    (pending,) = core.live.pending_delegations()
    assert (pending.id, pending.target, pending.offset_ms, pending.created) == (
        "del_1",
        "client",
        1200,
        2.0,
    )
    assert pending.status == "pending"
    clock.now = 104.5
    answer(core, "evt_a1", "del_1", "It ships Tuesday.")
    assert (pending.status, pending.answer, pending.answered) == (
        "answered",
        "It ships Tuesday.",
        4.5,
    )
    assert core.live.pending_delegations() == []
    core.receive(
        server("session.commentary.appended", client_event_id="evt_a1", start_ms=5, end_ms=5)
    )
    assert pending.status == "accepted"
    assert core.live.appended[-1].delegation_id == "del_1"


def test_an_answer_the_server_refuses_leaves_the_delegation_to_answer(core: LiveCore) -> None:
    core.receive(delegation("del_2"))
    answer(core, "evt_a2", "del_2", "x" * 10)
    core.receive(
        server(
            "error",
            client_event_id="evt_a2",
            error={
                "type": "invalid_request_error",
                "code": "content_too_long",
                "message": "Commentary is limited to 500 tokens.",
                "param": "content",
                "client_event_id": "evt_a2",
            },
        )
    )
    (again,) = core.live.pending_delegations()
    assert (again.id, again.status) == ("del_2", "refused")
    assert again.error == "content_too_long: Commentary is limited to 500 tokens."


def test_a_backend_delegation_is_not_the_clients_and_completes(core: LiveCore) -> None:
    core.receive(delegation("del_r", "responses"))
    core.receive(delegation("del_d", "decisions"))
    assert core.live.pending_delegations() == []
    responses, decisions = core.live.delegations["del_r"], core.live.delegations["del_d"]
    assert (responses.status, responses.response_id) == ("backend", "resp_9")
    core.receive(
        server(
            "response.event",
            delegation_id="del_r",
            event={"type": "response.output_text.delta", "delta": "x"},
        )
    )
    assert (responses.status, responses.backend_events) == ("backend", 1)
    core.receive(
        server(
            "response.event",
            delegation_id="del_r",
            event={"type": "response.completed", "response": {"id": "resp_9"}},
        )
    )
    assert (responses.status, responses.backend_events) == ("completed", 2)
    assert len(core.live.response_events) == 2
    core.receive(
        server(
            "decision.event",
            delegation_id="del_d",
            event={
                "type": "decision.completed",
                "decision": {
                    "model": "gpt-5-mini",
                    "answers": [{"type": "refusal", "name": "refund"}],
                    "usage": {
                        "input_tokens": 1,
                        "input_tokens_details": {"cache_write_tokens": 0, "cached_tokens": 0},
                        "output_tokens": 1,
                        "output_tokens_details": {"reasoning_tokens": 0},
                        "total_tokens": 2,
                    },
                },
            },
        )
    )
    assert decisions.status == "completed"
    assert core.live.decisions[-1]["delegation_id"] == "del_d"


def test_a_lost_connection_loses_the_delegations_still_waiting(core: LiveCore) -> None:
    core.receive(delegation("del_1"))
    core.receive(delegation("del_2"))
    answer(core, "evt_a", "del_2", "done")
    core.receive(
        server("session.commentary.appended", client_event_id="evt_a", start_ms=0, end_ms=0)
    )
    core.connection_lost(1006)
    assert core.live.delegations["del_1"].status == "lost"
    assert core.live.delegations["del_2"].status == "accepted"  # it was taken: not lost
    assert not core.started
    answer(core, "evt_late", "del_1", "too late")  # sent all the same: it stays lost
    assert core.live.delegations["del_1"].status == "lost"
    assert core.live.delegations["del_1"].answer is None


# ---- errors -------------------------------------------------------------------------------------


def error(client_event_id: str | None, param: str | None, envelope: bool = True) -> str:
    err: dict[str, Any] = {
        "type": "invalid_request_error",
        "code": "invalid_value",
        "message": "Nope.",
    }
    if param is not None:
        err["param"] = param
    if client_event_id is not None:
        err["client_event_id"] = client_event_id
    fields = {"client_event_id": client_event_id} if envelope and client_event_id else {}
    return server("error", error=err, **fields)


def test_errors_are_linked_back_to_the_event_that_caused_them(core: LiveCore) -> None:
    sent(core.encode({"type": "session.input_audio.mute", "event_id": "evt_m"}))
    sent(core.encode({"type": "decision.item.delete", "event_id": "evt_d", "item_id": "gone"}))
    core.receive(error("evt_d", "item_id"))
    core.receive(error("evt_m", None, envelope=False))  # named inside the error only
    core.receive(error(None, "session.audio.output.voice"))  # naming no event
    by_d, by_m = core.live.errors_for("evt_d"), core.live.errors_for("evt_m")
    assert [e.client_event.type for e in by_d if e.client_event] == ["decision.item.delete"]
    assert by_d[0].client_event is not None
    assert by_d[0].client_event.item_id == "gone"
    assert [e.client_event.type for e in by_m if e.client_event] == ["session.input_audio.mute"]
    last = core.live.errors[-1]
    assert (last.client_event_id, last.client_event, last.field) == (None, None, "voice")
    assert core.last_error is not None
    assert (core.last_error.param, core.last_error.config_field) == (
        "session.audio.output.voice",
        "voice",
    )


# ---- audio ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("audio_format", "rate", "n", "wire_bytes"),
    [
        ({"type": "audio/pcm", "rate": 24000}, 24000, 2400, 4800),
        ({"type": "audio/pcm", "rate": 16000}, 16000, 1600, 3200),  # the live path
        ({"type": "audio/pcm", "rate": 16000}, 48000, 4800, 3200),
        ({"type": "audio/pcmu", "rate": 8000}, 24000, 2400, 800),
        ({"type": "audio/pcma", "rate": 8000}, 16000, 1600, 800),
    ],
    ids=["pcm24", "pcm16-at-16k", "pcm16-from-48k", "pcmu", "pcma"],
)
def test_input_audio_goes_out_in_the_sessions_format(
    clock: Clock, audio_format: dict[str, Any], rate: int, n: int, wire_bytes: int
) -> None:
    core = started_core(clock, LiveConfig(audio_format=audio_format))
    t = np.arange(n) / rate
    tone = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)  # 100 ms
    frames = core.append_frames(tone, rate) + core.flush_frames()
    events = [sent(f) for f in frames]
    assert {e["type"] for e in events} == {"session.input_audio.append"}
    assert sum(len(base64.b64decode(e["audio"])) for e in events) == wire_bytes
    assert core.live_metrics.clock.sent_ms == pytest.approx(100.0)  # 100 ms placed
    appends = [h for h in core.history if h.type == "session.input_audio.append"]
    assert appends
    assert all(h.data["audio"].endswith("bytes>") for h in appends)


def test_the_models_audio_reaches_the_taps_at_24k_one_stream_a_turn(clock: Clock) -> None:
    core = started_core(clock, LiveConfig(audio_format={"type": "audio/pcm", "rate": 16000}))
    heard: list[tuple[str, int]] = []
    core.add_output_audio_tap(lambda stream, x: heard.append((stream, len(x))))
    chunk = (4000 * np.sin(np.arange(1600) / 5)).astype(np.int16)  # 100 ms at 16 kHz
    for _ in range(3):
        event = core.receive(audio_out(chunk))
        assert isinstance(event, le.OutputAudioDeltaEvent)
        handed_out(core)
    core.receive(user(0, 400, "Wait"))  # the person's new turn ends the model's stream
    handed_out(core)
    core.receive(audio_out(chunk))
    handed_out(core)
    first = sum(n for s, n in heard if s == "live_audio_1")
    assert first == 3 * 1600 * 3 // 2  # 300 ms at 24 kHz, the resampler's tail included
    assert {s for s, _ in heard} == {"live_audio_1", "live_audio_2"}
    assert core.live.audio_ms == pytest.approx(400.0)
    audio = [h for h in core.history if h.type == "session.output_audio.delta"]
    assert audio[0].data == {"type": "session.output_audio.delta", "delta": "<3200 bytes>"}


def test_g711_audio_from_the_model_is_decoded_and_resampled(clock: Clock) -> None:
    core = started_core(clock, LiveConfig(audio_format={"type": "audio/pcmu", "rate": 8000}))
    heard: list[int] = []
    core.add_output_audio_tap(lambda stream, x: heard.append(len(x)))
    core.receive(audio_out(bytes([0xFF]) * 800))  # 100 ms of mu-law silence
    handed_out(core)
    core.connection_lost(1006)  # the stream ends with the connection: its tail goes out
    handed_out(core)
    assert sum(heard) == 2400


# ---- metrics ----------------------------------------------------------------------------------


def in_real_time(core: LiveCore, clock: Clock, until: float, ms: int, chunk_ms: int = 100) -> None:
    """``ms`` of audio streamed as a microphone does: ``chunk_ms`` chunks, each sent as its
    last sample was captured, the last at session time ``until``."""
    chunks = ms // chunk_ms
    for k in range(chunks):
        clock.now = 100.0 + until - (chunks - 1 - k) * chunk_ms / 1000
        core.append_frames(np.zeros(24 * chunk_ms, np.int16), 24_000)


def test_end_of_speech_to_the_models_first_audio(core: LiveCore, clock: Clock) -> None:
    in_real_time(core, clock, 1.0, 1000)  # 0..1000 ms, streamed, the last chunk at 1.0 s
    clock.now = 101.5
    core.receive(user(200, 800, "Hi"))  # the speech ended at 800 ms: sent at 0.8 s
    clock.now = 102.0
    core.receive(audio_out(np.zeros(480, np.int16)))
    core.receive(audio_out(np.zeros(480, np.int16)))  # not a first audio
    clock.now = 103.0
    core.append_frames(np.zeros(24_000, np.int16), 24_000)  # 1000..2000 ms, at 3.0 s
    clock.now = 103.2
    core.receive(user(1500, 1900, "Bye"))  # ended at 1900 ms: sent at 2.9 s
    assert core.live_metrics.turns[-1].status is None
    clock.now = 103.5
    core.receive(audio_out(np.zeros(480, np.int16)))
    first, second = core.live_metrics.turns
    assert (first.end_ms, first.speech_end, first.heard, first.first_audio) == (
        800,
        pytest.approx(0.8),
        pytest.approx(1.5),
        pytest.approx(2.0),
    )
    assert first.latency_ms == 1200.0
    assert first.breakdown_ms() == {
        "transcript": 700.0,
        "end_to_first_audio": 1200.0,
        "total_to_first_delta": 1200.0,
    }
    assert (second.latency_ms, second.status) == (600.0, "answered")
    assert core.live_metrics.latencies_ms() == [1200.0, 600.0]


def test_a_late_transcript_moves_the_end_and_its_first_audio(core: LiveCore, clock: Clock) -> None:
    """The model may start before the transcript of the person's last words arrives: the end
    is where the turn's last delta says, and its first audio the first that came after it."""
    in_real_time(core, clock, 2.0, 2000)  # 0..2000 ms, streamed, the last chunk at 2.0 s
    clock.now = 102.2
    core.receive(user(0, 500, "Well"))  # ends at 500 ms: sent at 0.5 s
    clock.now = 102.3
    core.receive(audio_out(np.zeros(480, np.int16)))  # the model, over the person
    clock.now = 102.6
    core.receive(audio_out(np.zeros(480, np.int16)))
    clock.now = 102.7
    core.receive(user(500, 1800, " actually no"))  # it ends at 1800 ms: sent at 1.8 s
    (turn,) = core.live_metrics.turns
    assert turn.turn.text == "Well actually no"
    assert turn.speech_end == pytest.approx(1.8)
    assert turn.first_audio == pytest.approx(2.3)  # the first audio at or after 1.8 s
    assert turn.latency_ms == 500.0


def test_a_position_past_the_audio_sent_is_placed_as_if_streamed_in_real_time(
    core: LiveCore, clock: Clock
) -> None:
    in_real_time(core, clock, 1.0, 200)  # 0..100 ms at 0.9 s, 100..200 ms at 1.0 s
    assert core.live_metrics.clock.when(200) == 1.0
    assert core.live_metrics.clock.when(150) == pytest.approx(0.95)
    assert core.live_metrics.clock.when(100) == pytest.approx(0.9)
    assert core.live_metrics.clock.when(450) == pytest.approx(1.25)


def test_real_time_streaming_is_placed_as_captured_past_the_chunks_remembered() -> None:
    """20 ms chunks in real time, more than the clock remembers: the oldest chunk it still
    has is placed as captured too (its floor is the forgotten chunk's send, not its own)."""
    clock = InputClock()
    for k in range(1, 9001):
        clock.sent(20, k * 0.02)
    oldest = (9001 - 8192) * 20  # the end of the oldest chunk remembered, in ms
    assert clock.when(oldest - 10) == pytest.approx((oldest - 10) / 1000)
    assert clock.when(oldest + 10) == pytest.approx((oldest + 10) / 1000)
    assert clock.when(180_000 - 5) == pytest.approx(179.995)


def test_audio_sent_faster_than_real_time_is_placed_no_earlier_than_it_was_sent(
    core: LiveCore, clock: Clock
) -> None:
    """A file in one append: its speech cannot have ended before the audio left the client,
    so the latency is at most the time from that send to the model's first audio (not the
    file's length more)."""
    clock.now = 101.0
    core.append_frames(np.zeros(5 * 24_000, np.int16), 24_000)  # 0..5000 ms, all at 1.0 s
    when = core.live_metrics.clock.when
    assert [when(0), when(800), when(4990), when(5000)] == [1.0, 1.0, 1.0, 1.0]
    # The next append, sent at once too (at 1.1 s): no earlier than the one before it went.
    clock.now = 101.1
    core.append_frames(np.zeros(3 * 24_000, np.int16), 24_000)  # 5000..8000 ms
    assert when(5100) == pytest.approx(1.0)
    assert when(7950) == pytest.approx(1.05)  # less than a chunk before its send: as captured
    assert when(8000) == pytest.approx(1.1)
    clock.now = 101.3
    core.receive(user(200, 4000, "Book a table."))  # ended at 4000 ms of the first file
    clock.now = 101.9
    core.receive(audio_out(np.zeros(480, np.int16)))
    (turn,) = core.live_metrics.turns
    assert (turn.speech_end, turn.first_audio) == (1.0, pytest.approx(1.9))
    assert turn.latency_ms == 900.0  # the send at 1.0 s to the first audio at 1.9 s
    # A new server session: its first append is again the floor.
    core.live_metrics.new_session(1)
    clock.now = 102.0
    core.append_frames(np.zeros(24_000, np.int16), 24_000)
    assert when(10) == 2.0


# ---- what a peer may send -----------------------------------------------------------------------


def test_an_unknown_event_is_delivered_and_reported(core: LiveCore) -> None:
    seen: list[ServerEvent] = []
    core.on("session.paused", seen.append)
    said = problems(core)
    event = core.receive(json.dumps({"type": "session.paused", "event_id": "e1"}))
    handed_out(core)
    assert isinstance(event, UnknownServerEvent)
    assert seen == [event]
    assert said == [
        {
            "message": "unknown GPT-Live server event type 'session.paused'",
            "frame": '{"type": "session.paused", "event_id": "e1"}',
        }
    ]


def test_a_known_event_in_a_shape_the_client_cannot_read_is_reported(core: LiveCore) -> None:
    said = problems(core)
    core.receive(json.dumps({"type": "session.usage.updated", "event_id": "e1", "usage": {}}))
    core.receive("not json at all")
    core.receive(json.dumps({"type": "response.output_audio.delta", "delta": "AAAA"}))
    handed_out(core)
    assert [p["message"] for p in said] == [
        "session.usage.updated in a shape this client cannot read: usage.seconds: Field required",
        "not JSON: Expecting value: line 1 column 1 (char 0)",
        # a Realtime event is no GPT-Live event, whatever its speed path
        "unknown GPT-Live server event type 'response.output_audio.delta'",
    ]
    assert not core.live.usage.reported
    assert core.live.audio_ms == 0


def test_undecodable_model_audio_is_reported_and_the_event_still_counts(
    core: LiveCore,
) -> None:
    said = problems(core)
    heard: list[int] = []
    core.add_output_audio_tap(lambda stream, x: heard.append(len(x)))
    frame = server("session.output_audio.delta", delta="YWJj")  # 3 bytes: not PCM16
    event = core.receive(frame)
    handed_out(core)
    assert isinstance(event, le.OutputAudioDeltaEvent)
    assert heard == []
    assert said == [
        {
            "message": "session.output_audio.delta: PCM16 data must have an even number of "
            "bytes (2 per sample), got 3",
            "frame": frame,
        }
    ]
    assert [h.type for h in core.history][-1] == "session.output_audio.delta"
