"""ClientCore without sockets: frames and a fake clock in, state, matches and frames out."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import pytest

from realtime_widgets import SessionConfig
from realtime_widgets.client.core import ClientCore, ToolCall
from realtime_widgets.client.dispatch import Delivered, InputAudio, OutputAudio, dispatch
from realtime_widgets.client.history import HistoryEntry
from realtime_widgets.client.live_core import LiveCore
from realtime_widgets.client.translation import TranslationCore
from realtime_widgets.errors import ConfigError, ProtocolError, ServerError
from realtime_widgets.protocol.events import ServerEvent


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def handed_out(core: ClientCore) -> None:
    """What the transport does after each core call: hand out what the core queued."""
    dispatch(core.listeners, core.take_dispatches())


def frame(kind: str, **fields: Any) -> str:
    return json.dumps({"type": kind, "event_id": f"ev_{kind}", **fields})


def created(**session: Any) -> str:
    return frame(
        "session.created",
        session={"type": "realtime", "id": "sess_1", "expires_at": 2_000_000_000, **session},
    )


def updated(**session: Any) -> str:
    return frame("session.updated", session={"type": "realtime", **session})


def error(event_id: str | None, param: str = "session.audio.output.speed") -> str:
    return frame(
        "error",
        error={
            "type": "invalid_request_error",
            "code": "invalid_value",
            "message": "nope",
            "param": param,
            "event_id": event_id,
        },
    )


def response(kind: str, rid: str, status: str = "in_progress") -> str:
    return frame(kind, response={"id": rid, "object": "realtime.response", "status": status})


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def core(clock: Clock) -> ClientCore:
    c = ClientCore(SessionConfig(output_modalities=["text"]), clock=clock)
    c.receive(created(model="gpt-realtime", output_modalities=["text"]))
    return c


def test_session_created_gives_the_effective_config_and_adopts_the_model(clock: Clock) -> None:
    core = ClientCore(SessionConfig(model="gpt-realtime-mini"), clock=clock)
    core.receive(created(model="gpt-realtime", audio={"output": {"voice": "cedar"}}))
    assert core.session_id == "sess_1"
    assert core.expires_at == 2_000_000_000.0
    assert core.effective is not None
    assert core.effective.voice == "cedar"
    assert core.requested.model == "gpt-realtime"  # the URL decides the model


def test_an_update_is_matched_to_session_updated(core: ClientCore) -> None:
    new = core.requested.with_changes(speed=1.2)
    pending = core.begin_update(new, core.requested)
    assert pending is not None
    sent = json.loads(pending.frames[-1])
    assert sent["type"] == "session.update"
    assert sent["event_id"] == pending.event_id
    assert sent["session"]["audio"]["output"]["speed"] == 1.2
    done: list[str] = []
    pending.on_done = lambda p: done.append("done")
    core.receive(updated(model="gpt-realtime", audio={"output": {"speed": 1.2}}))
    assert pending.done
    assert done == []  # the core calls out to nobody ...
    handed_out(core)
    assert done == ["done"]  # ... the dispatcher does
    assert pending.error is None
    assert pending.effective is not None
    assert pending.effective.speed == 1.2
    assert core.requested.speed == 1.2
    assert core.pending is None


def test_only_the_error_that_echoes_our_event_id_rejects_the_update(core: ClientCore) -> None:
    before = core.requested
    pending = core.begin_update(before.with_changes(speed=1.4), before)
    assert pending is not None
    core.receive(error("evt_someone_else"))
    assert not pending.done  # an error about another event: still waiting
    core.receive(error(pending.event_id))
    assert pending.done
    assert isinstance(pending.error, ServerError)
    assert pending.error.config_field == "speed"
    assert core.requested is before  # a rejected update changes nothing we asked for


def test_an_update_with_nothing_to_change_sends_nothing(core: ClientCore) -> None:
    assert core.begin_update(core.requested, core.requested) is None
    assert [e.type for e in core.history if e.direction == "out"] == []


def test_invalid_changes_raise_before_anything_is_sent(core: ClientCore) -> None:
    with pytest.raises(ConfigError, match="speed"):
        core.requested.with_changes(speed=3.0)
    core.receive(response("response.created", "resp_1"))
    core.receive(
        frame(
            "response.output_item.added",
            response_id="resp_1",
            output_index=0,
            item={"id": "item_a", "type": "message", "role": "assistant", "content": []},
        )
    )
    core.receive(
        frame(
            "response.output_audio.delta",
            response_id="resp_1",
            item_id="item_a",
            output_index=0,
            content_index=0,
            delta=base64.b64encode(b"\0\0" * 480).decode(),
        )
    )
    with pytest.raises(ConfigError, match="voice"):
        core.begin_update(core.requested.with_changes(voice="cedar"), core.requested)
    assert core.pending is None


def test_waiters_since_a_mark_see_events_that_already_arrived(core: ClientCore) -> None:
    mark = core.mark()
    core.receive(frame("input_audio_buffer.cleared"))
    waiter = core.wait("input_audio_buffer.cleared", since=mark)
    assert waiter.event is not None
    later: list[ServerEvent] = []
    waiter = core.wait(
        "response.done",
        predicate=lambda e: e.response.id == "resp_2",
        on_match=later.append,  # type: ignore[attr-defined]
    )
    core.receive(response("response.done", "resp_1", "completed"))
    handed_out(core)
    assert later == []
    core.receive(response("response.done", "resp_2", "completed"))
    assert waiter.event is not None  # matched by the core ...
    assert later == []
    handed_out(core)  # ... told by the dispatcher
    assert [e.response.id for e in later] == ["resp_2"]  # type: ignore[attr-defined]
    cancelled = core.wait("input_audio_buffer.cleared")
    core.cancel(cancelled)
    core.receive(frame("input_audio_buffer.cleared"))
    assert cancelled.event is None


def test_function_calls_of_registered_tools_are_batched_per_response(core: ClientCore) -> None:
    core.tools["lookup"] = object()
    core.receive(response("response.created", "resp_1"))
    for call_id, name in (("call_1", "lookup"), ("call_2", "not_ours"), ("call_3", "lookup")):
        core.receive(
            frame(
                "response.function_call_arguments.done",
                response_id="resp_1",
                item_id=f"item_{call_id}",
                output_index=0,
                call_id=call_id,
                name=name,
                arguments='{"q": 1}',
            )
        )
    assert core.take_tool_batches() == []  # nothing before the response is done
    core.receive(response("response.done", "resp_1", "completed"))
    batches = core.take_tool_batches()
    assert batches == [
        [ToolCall("lookup", "call_1", '{"q": 1}'), ToolCall("lookup", "call_3", '{"q": 1}')]
    ]
    frames = [json.loads(f) for f in core.tool_output_frames(batches[0], ["a", "b"])]
    assert [f["type"] for f in frames] == [
        "conversation.item.create",
        "conversation.item.create",
        "response.create",
    ]
    assert frames[1]["item"] == {"type": "function_call_output", "call_id": "call_3", "output": "b"}
    assert core.take_tool_batches() == []


def test_a_lost_connection_interrupts_the_reply_and_fails_the_pending_update(
    core: ClientCore,
) -> None:
    seen: list[dict[str, Any]] = []
    core.on("*", lambda e: seen.append({"type": e.type, **(e.model_extra or {})}))
    core.receive(
        frame(
            "conversation.item.added",
            item={"id": "item_u", "type": "message", "role": "user", "content": []},
        )
    )
    core.receive(response("response.created", "resp_1"))
    core.receive(
        frame(
            "response.output_item.added",
            response_id="resp_1",
            output_index=0,
            item={"id": "item_a", "type": "message", "role": "assistant", "content": []},
        )
    )
    pending = core.begin_update(core.requested.with_changes(speed=1.1), core.requested)
    assert pending is not None
    lost = core.connection_lost(1006)
    handed_out(core)
    assert lost == ["item_u", "item_a"]
    assert core.state.responses["resp_1"].status == "incomplete"
    assert core.state.responses["resp_1"].reason == "connection_lost"
    interrupted = [e for e in seen if e["type"] == "client.response_interrupted"]
    assert interrupted == [
        {
            "type": "client.response_interrupted",
            "response_id": "resp_1",
            "item_ids": ["item_a"],
            "reason": "connection_lost",
            "close_code": 1006,
            "message": "reply interrupted by a lost connection",
        }
    ]
    assert pending.done
    assert pending.error is not None
    assert pending.error.code == "connection_lost"
    # The new session: a new conversation; items it puts first go after the old ones.
    assert core.reconnected(1, 1006, lost) is True
    assert core.lost_item_ids == ["item_u", "item_a"]
    assert core.reconnects == 1
    core.receive(
        frame(
            "conversation.item.added",
            previous_item_id=None,
            item={"id": "item_new", "type": "message", "role": "user", "content": []},
        )
    )
    handed_out(core)
    assert [i.id for i in core.state.ordered_items()] == ["item_u", "item_a", "item_new"]
    assert seen[-2]["type"] == "session.reconnected"
    assert seen[-2]["lost_item_ids"] == ["item_u", "item_a"]


def test_a_connection_lost_while_idle_reports_no_interrupted_reply(core: ClientCore) -> None:
    seen: list[str] = []
    core.on("*", lambda e: seen.append(e.type))
    core.receive(response("response.created", "resp_1"))
    core.receive(response("response.done", "resp_1", "completed"))
    core.connection_lost(1006)
    handed_out(core)
    assert seen[-2:] == ["response.created", "response.done"]  # handed out, and no more
    assert "client.response_interrupted" not in seen
    assert core.reconnected(1, 1006, []) is True  # output_modalities was set: send it again
    assert ClientCore(SessionConfig()).reconnected(1, 1006, []) is False


def test_a_broken_frame_is_reported_and_reading_goes_on(core: ClientCore) -> None:
    seen: list[Any] = []
    core.on("client.protocol_error", lambda e: seen.append(e.model_extra))
    assert core.receive("[1, 2") is None
    handed_out(core)
    assert seen[0]["frame"] == "[1, 2"
    assert core.receive(frame("input_audio_buffer.cleared")) is not None


def test_metrics_come_from_the_injected_clock(core: ClientCore, clock: Clock) -> None:
    steps = [
        (1.0, frame("input_audio_buffer.speech_stopped", audio_end_ms=900, item_id="item_u")),
        (1.05, frame("input_audio_buffer.committed", item_id="item_u")),
        (1.2, response("response.created", "resp_1")),
        (
            1.5,
            frame(
                "response.output_text.delta",
                response_id="resp_1",
                item_id="item_a",
                output_index=0,
                content_index=0,
                delta="hi",
            ),
        ),
        (2.0, response("response.done", "resp_1", "completed")),
    ]
    for t, text in steps:
        clock.now = 100.0 + t
        core.receive(text)
    assert core.metrics.turns[-1].breakdown_ms() == {
        "commit": 50.0,
        "to_response": 150.0,
        "first_delta": 300.0,
        "generation": 500.0,
        "total_to_first_delta": 500.0,
    }
    entry = core.history[-1]
    assert entry.t == pytest.approx(2.0)


def test_audio_is_encoded_to_the_input_format_and_taps_see_it(clock: Clock) -> None:
    core = ClientCore(SessionConfig(input_audio_format="pcmu"), clock=clock)
    tapped: list[int] = []
    remove = core.add_audio_tap(lambda x, rate: tapped.append(len(x)))
    frames = core.append_frames(np.zeros(2400, np.int16), 24000)  # 100 ms at 24 kHz
    frames += core.flush_frames()
    handed_out(core)
    audio = b"".join(base64.b64decode(json.loads(f)["audio"]) for f in frames)
    assert len(audio) == 800  # 100 ms of G.711 at 8 kHz: one byte a sample
    assert tapped == [2400]
    remove()
    core.append_frames(np.zeros(240, np.int16), 24000)
    handed_out(core)
    assert tapped == [2400]
    appends = [e for e in core.history if e.type == "input_audio_buffer.append"]
    assert appends[0].data["audio"].endswith("bytes>")  # the history keeps no audio


def test_output_audio_is_decoded_once_for_every_tap(core: ClientCore) -> None:
    got: list[tuple[str, int]] = []
    core.add_output_audio_tap(lambda item, x: got.append((item, len(x))))
    core.add_output_audio_tap(lambda item, x: got.append((item, int(x.sum()))))
    pcm = np.arange(480, dtype="<i2").tobytes()
    core.receive(
        frame(
            "response.output_audio.delta",
            response_id="r",
            item_id="item_a",
            output_index=0,
            content_index=0,
            delta=base64.b64encode(pcm).decode(),
        )
    )
    handed_out(core)
    assert got == [("item_a", 480), ("item_a", sum(range(480)))]


def test_a_client_event_needs_a_type(core: ClientCore) -> None:
    with pytest.raises(ProtocolError, match="type"):
        core.encode({"item_id": "x"})
    text = core.encode({"type": "response.cancel"})
    assert text == '{"type":"response.cancel"}'
    assert core.history[-1].direction == "out"


def test_close_hands_back_open_waiters_and_fails_the_update(core: ClientCore) -> None:
    waiter = core.wait("response.done")
    pending = core.begin_update(core.requested.with_changes(speed=0.9), core.requested)
    assert pending is not None
    assert core.closed() == [waiter]
    assert pending.error is not None
    assert pending.error.code == "session_closed"
    assert core.history[-1].type == "session.closed"


def test_a_late_answer_to_an_abandoned_update_changes_only_the_effective_config(
    core: ClientCore,
) -> None:
    before = core.requested
    pending = core.begin_update(before.with_changes(speed=1.3), before)
    assert pending is not None
    core.abandon_update(pending)  # the caller's wait timed out
    core.receive(updated(model="gpt-realtime", audio={"output": {"speed": 1.3}}))
    assert not pending.done
    assert core.effective is not None
    assert core.effective.speed == 1.3  # what the server says is shown ...
    assert core.requested is before  # ... but what we asked for is not assumed
    core.receive(error("evt_rw_late"))
    assert core.last_error is not None
    assert core.pending is None


def test_updates_in_turn_each_match_their_own_answer(core: ClientCore) -> None:
    first = core.begin_update(core.requested.with_changes(speed=1.1), core.requested)
    assert first is not None
    core.receive(error(first.event_id))
    second = core.begin_update(core.requested.with_changes(speed=1.2), core.requested)
    assert second is not None
    assert second.event_id != first.event_id
    core.receive(error(first.event_id))  # a duplicate of the first answer: not ours
    assert not second.done
    core.receive(updated(model="gpt-realtime", audio={"output": {"speed": 1.2}}))
    assert first.error is not None
    assert second.error is None
    assert core.requested.speed == 1.2


def test_audio_deltas_are_validated_directly_and_bad_ones_reported_as_by_the_full_parse(
    core: ClientCore,
) -> None:
    from realtime_widgets.protocol import events as ev
    from realtime_widgets.protocol.events import parse_server_event

    pcm = base64.b64encode(b"\x01\x00" * 480).decode()
    good = (
        '{"type":"response.output_audio.delta","event_id":"e1","response_id":"r",'
        f'"item_id":"item_a","output_index":0,"content_index":0,"delta":"{pcm}","obfuscation":"x"}}'
    )
    event = core.receive(good)
    assert type(event) is ev.ResponseOutputAudioDelta
    assert (event.item_id, event.delta, event.model_extra) == ("item_a", pcm, {"obfuscation": "x"})
    assert core.state.items["item_a"].audio_bytes == 960
    assert core.history[-1].data == {
        "type": "response.output_audio.delta",
        "event_id": "e1",
        "response_id": "r",
        "item_id": "item_a",
        "delta": "<960 bytes>",
    }
    # No item_id, a number for delta: the same UnknownServerEvent the full parse gives.
    for bad in (
        '{"type":"response.output_audio.delta","event_id":"e2","response_id":"r","delta":"AA=="}',
        '{"type":"response.output_audio.delta","event_id":"e3","response_id":"r",'
        '"item_id":"item_a","delta":5}',
    ):
        got = core.receive(bad)
        want = parse_server_event(bad)
        assert type(got) is ev.UnknownServerEvent
        assert got.model_dump() == want.model_dump()
        assert got.problem  # type: ignore[attr-defined]
    assert core.state.items["item_a"].audio_bytes == 960
    errors: list[ServerEvent] = []
    core.on("client.protocol_error", errors.append)
    assert core.receive('{"type":"response.output_audio.delta","event_id":') is None
    handed_out(core)
    assert len(errors) == 1


def test_append_audio_reports_the_bytes_each_frame_carries(clock: Clock) -> None:
    core = ClientCore(clock=clock)
    x = (np.arange(960) * 7).astype(np.int16)
    frames, sizes = core.append_audio(x, 24000)
    assert sizes == [1920]
    assert base64.b64decode(json.loads(frames[0])["audio"]) == x.tobytes()
    # A strided view, big-endian samples and raw bytes encode the same PCM16.
    for same in (np.repeat(x, 2)[::2], x.astype(">i2"), x.tobytes()):
        assert core.append_audio(same, 24000) == (frames, sizes)
    assert core.history[-1].data["audio"] == "<1920 bytes>"
    ulaw = ClientCore(SessionConfig(input_audio_format="pcmu"), clock=clock)
    frames, sizes = ulaw.append_audio(np.zeros(2400, np.int16), 24000)
    assert sizes == [len(base64.b64decode(json.loads(f)["audio"])) for f in frames]
    assert 0 < sum(sizes) <= 800


def test_receive_calls_no_listener_it_queues_what_to_dispatch(core: ClientCore) -> None:
    """The core only collects: state, history and waiter matching happen in ``receive``; the
    listeners, waiters' callbacks, taps and history listeners run when the queue is handed out,
    in the order the core queued it."""
    handed_out(core)  # the fixture's session.created
    calls: list[str] = []
    core.on("*", lambda e: calls.append(f"event {e.type}"))
    core.on_history(lambda entry: calls.append(f"history {entry.type}"))
    core.add_output_audio_tap(lambda item, x: calls.append(f"output {item} {len(x)}"))
    core.add_audio_tap(lambda x, rate: calls.append(f"input {len(x)} {rate}"))
    matched: list[str] = []
    waiter = core.wait("response.output_audio.delta", on_match=lambda e: matched.append(e.type))
    pcm = np.zeros(240, dtype="<i2").tobytes()
    event = core.receive(
        frame(
            "response.output_audio.delta",
            response_id="r",
            item_id="item_a",
            output_index=0,
            content_index=0,
            delta=base64.b64encode(pcm).decode(),
        )
    )
    assert event is not None
    assert core.history[-1].type == "response.output_audio.delta"  # collected ...
    assert waiter.event is event  # ... and matched,
    assert calls == []
    assert matched == []
    queued = core.take_dispatches()
    assert [type(q) for q in queued] == [OutputAudio, HistoryEntry, Delivered]
    assert queued[2] == Delivered(event, (waiter,))
    assert core.take_dispatches() == []  # taken once
    core.append_frames(np.zeros(480, np.int16), 24000)
    queued += core.take_dispatches()
    assert [type(q) for q in queued[3:]] == [InputAudio, HistoryEntry]
    assert calls == []
    dispatch(core.listeners, queued)
    assert matched == ["response.output_audio.delta"]
    assert calls == [
        "output item_a 240",
        "history response.output_audio.delta",
        "event response.output_audio.delta",
        "input 480 24000",
        "history input_audio_buffer.append",
    ]


def test_a_listener_that_raises_does_not_stop_the_others(core: ClientCore) -> None:
    handed_out(core)  # the fixture's session.created
    calls: list[str] = []

    def broken(event: ServerEvent) -> None:
        raise RuntimeError("a widget bug")

    core.on("input_audio_buffer.cleared", broken)
    core.on("*", lambda e: calls.append(e.type))
    core.on_history(lambda entry: 1 / 0)  # type: ignore[func-returns-value]
    core.receive(frame("input_audio_buffer.cleared"))
    core.receive(frame("input_audio_buffer.cleared"))
    handed_out(core)
    assert calls == ["input_audio_buffer.cleared", "input_audio_buffer.cleared"]


# ---- what every session kind's core shares ----------------------------------------------------


def _kinds() -> list[tuple[ClientCore, str, str, dict[str, Any]]]:
    """A core of each kind, with an error frame of its union naming our event and a setting,
    and the audio delta of its union."""
    bad_audio = "A"  # not base64 (no whole quantum)
    return [
        (
            ClientCore(),
            error("evt_1", "session.audio.output.speed"),
            "speed",
            {
                "type": "response.output_audio.delta",
                "event_id": "d1",
                "response_id": "resp_1",
                "item_id": "item_1",
                "output_index": 0,
                "content_index": 0,
                "delta": bad_audio,
            },
        ),
        (
            TranslationCore(),
            error("evt_1", "session.audio.output.language"),
            "output_language",
            {"type": "session.output_audio.delta", "event_id": "d1", "delta": bad_audio},
        ),
        (
            LiveCore(),
            json.dumps(
                {
                    "type": "error",
                    "event_id": "e1",
                    "client_event_id": "evt_1",
                    "error": {
                        "type": "invalid_request_error",
                        "code": "invalid_value",
                        "message": "nope",
                        "param": "session.delegation.type",
                        "client_event_id": "evt_1",
                    },
                }
            ),
            "delegation.type",
            {"type": "session.output_audio.delta", "delta": bad_audio},
        ),
    ]


def test_every_kinds_error_event_becomes_a_server_error_in_one_place() -> None:
    """ClientCore.server_error maps any kind's error event (Realtime's and a translation's
    name our event in error.event_id, GPT-Live's in client_event_id) to a ServerError whose
    config_field is a field of that kind's config; each core's last_error is it."""
    for core, text, field, _ in _kinds():
        event = core.receive(text)
        assert event is not None
        err = core.last_error
        assert err is not None
        expected = core.server_error(event)  # type: ignore[arg-type]
        assert (err.message, err.type, err.code, err.event_id, err.config_field) == (
            "nope",
            "invalid_request_error",
            "invalid_value",
            "evt_1",
            field,
        ), type(core).__name__
        assert (expected.message, expected.param, expected.event_id, expected.config_field) == (
            err.message,
            err.param,
            err.event_id,
            err.config_field,
        )


def test_every_kinds_audio_delta_reaches_the_taps_through_one_helper(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ClientCore._tap_delta decodes any kind's audio delta for the output taps; a delta it
    cannot decode is a client.protocol_error naming it, and the event still reaches the
    listeners."""
    calls: list[str] = []
    original = ClientCore._tap_delta

    def recording(self: ClientCore, stream: str, event: Any, *args: Any, **kw: Any) -> None:
        calls.append(type(self).__name__)
        original(self, stream, event, *args, **kw)

    monkeypatch.setattr(ClientCore, "_tap_delta", recording)
    for core, _, _, delta in _kinds():
        got: list[Any] = []
        errors: list[Any] = []
        core.add_output_audio_tap(lambda item, samples, got=got: got.append(samples))
        core.on(delta["type"], errors.append)
        core.on("client.protocol_error", errors.append)
        core.receive(json.dumps(delta))
        handed_out(core)
        assert got == [], type(core).__name__
        kinds = [e.type for e in errors]
        assert kinds == ["client.protocol_error", delta["type"]], type(core).__name__
        assert errors[0].model_extra["message"].startswith(delta["type"])
        assert "not base64" in errors[0].model_extra["message"]
    assert calls == ["ClientCore", "TranslationCore", "LiveCore"]


class _Measuring(ClientCore):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[list[int]] = []

    def _input_sent(self, sizes: list[int]) -> None:
        self.sent.append(sizes)


def test_every_append_and_flush_tells_the_input_sent_hook() -> None:
    """The one place a kind measures the audio its appends carry (GPT-Live's metrics): the
    live path, the resampled path and the flush all tell ClientCore._input_sent."""
    core = _Measuring()
    frames = core.append_frames(np.zeros(480, np.int16), 24000)  # the live path
    assert core.sent == [[960]]
    frames += core.append_frames(np.zeros(441, np.int16), 44100)  # resampled
    frames += core.flush_frames()
    assert len(core.sent) == 3
    carried = [len(base64.b64decode(json.loads(f)["audio"])) for f in frames]
    assert [n for sizes in core.sent for n in sizes] == carried
    live = LiveCore(clock=Clock())
    live.append_frames(np.zeros(4410, np.int16), 44100)
    live.flush_frames()
    assert live.live_metrics.clock.sent_ms == pytest.approx(100, abs=1)
