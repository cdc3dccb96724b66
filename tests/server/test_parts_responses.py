"""The responses part (:class:`~realtime_widgets.server.responses.Responses`) built alone: a
recording emitter, a config it reads, the context handed in as values. Its lifecycle (created,
scheduled, released on the clock, done or cancelled) comes back as events and outcomes."""

from __future__ import annotations

import numpy as np

from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.client_events import ResponseParams
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.server.conversation import ItemRejected, StoredItem
from realtime_widgets.server.options import EngineOptions
from realtime_widgets.server.outcomes import (
    ReplyAudioSent,
    ReplyFinished,
    ReplyItemDone,
    ReplyScheduled,
    ResponseRequested,
)
from realtime_widgets.server.reply.material import ReplyMaterial
from realtime_widgets.server.responses import Responses
from realtime_widgets.server.tts import Speech

from .parts import RecordingEmitter, kinds, split


class Rig:
    def __init__(self, config: SessionConfig | None = None, **options: object) -> None:
        self.config = config or SessionConfig(output_modalities=["text"])
        self.out = RecordingEmitter()
        opts = EngineOptions(pace=1.0, lead=0.0, **options)  # type: ignore[arg-type]
        self.part = Responses(self.out, lambda: self.config, opts)

    def create(self, context: list[StoredItem] | ItemRejected | None = None) -> list[object]:
        return self.part.create(
            None, [] if context is None else context, 0.0, trigger="turn_detected", input_ms=1234.0
        )


def _user(text: str) -> StoredItem:
    data = {
        "id": "item_u",
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": text}],
    }
    return StoredItem(data)


def test_response_create_is_an_outcome_when_none_is_in_progress_else_openais_error() -> None:
    rig = Rig()
    params = ResponseParams(metadata={"k": "v"})
    create = ev.ResponseCreate(response=params, event_id="evt_r")
    assert rig.part.on_create(create, 0.0) == [ResponseRequested(params, "evt_r")]
    assert rig.out.written == []
    rig.create()
    (busy,) = rig.part.on_create(create, 0.0)
    assert busy["error"]["code"] == "conversation_already_has_active_response"
    assert busy["error"]["event_id"] == "evt_r"


def test_created_from_its_context_with_a_request_for_the_io_layer() -> None:
    rig = Rig()
    steps = rig.create([_user("what time is it")])
    assert kinds(steps) == ["response.created", "rate_limits.updated"]
    response = steps[0]["response"]
    assert (response["id"], response["status"], response["output"]) == (
        "resp_part000100001",
        "in_progress",
        [],
    )
    (request,) = rig.part.take_requests()
    assert request.response_id == "resp_part000100001"
    assert request.context.last_user_text == "what time is it"
    assert request.context.trigger == "turn_detected"
    assert request.context.measurements["input_ms"] == 1234.0
    assert request.modalities == ["text"]
    assert rig.part.take_requests() == []  # handed out once


def test_a_context_that_could_not_be_read_is_an_error_naming_its_param() -> None:
    rig = Rig()
    (error,) = rig.create(ItemRejected("Invalid 'x'.", "response.input[0].content[0].audio"))
    assert error["error"]["param"] == "response.input[0].content[0].audio"
    assert rig.part.active is None


def test_a_text_reply_is_scheduled_released_on_the_clock_and_finished() -> None:
    rig = Rig()
    rig.create()
    (request,) = rig.part.take_requests()
    scheduled = rig.part.schedule(request, ReplyMaterial("one two three"), 10.0, previous="item_u")
    assert scheduled is not None
    (reply,) = scheduled
    assert isinstance(reply, ReplyScheduled)
    assert (reply.response_id, reply.previous, reply.in_conversation, reply.with_audio) == (
        "resp_part000100001",
        "item_u",
        True,
        False,
    )
    assert reply.item["status"] == "in_progress"
    assert rig.part.next_due == 10.0
    first = rig.part.release_due(10.0)
    assert kinds(first)[:4] == [
        "response.output_item.added",
        "conversation.item.added",
        "response.content_part.added",
        "response.output_text.delta",
    ]
    assert rig.part.next_due == 10.02  # one word each 20 ms
    events, outcomes = split(rig.part.release_due(11.0))
    assert [e["type"] for e in events][-2:] == ["conversation.item.done", "response.done"]
    done = events[-1]["response"]
    assert done["status"] == "completed"
    assert done["usage"]["output_tokens"] == 4  # "one two three": 13 characters
    item_done, finished = outcomes
    assert item_done == ReplyItemDone(reply.item["id"], events[-2]["item"])
    assert finished == ReplyFinished("resp_part000100001", "completed", True, 0.0)
    assert rig.part.active is None


def test_audio_sent_is_an_outcome_carrying_what_the_listener_has_heard() -> None:
    rig = Rig(SessionConfig(output_modalities=["audio"]))
    rig.create()
    (request,) = rig.part.take_requests()
    samples = np.ones(24000, dtype=np.int16)  # one second
    speech = Speech(samples, 24000, (0.0, 500.0))
    rig.part.schedule(request, ReplyMaterial("hello there", speech), 0.0, previous=None)
    events, outcomes = split(rig.part.release_due(0.25))
    deltas = [e for e in events if e["type"] == "response.output_audio.delta"]
    assert len(deltas) == 3  # the 100 ms deltas due by 250 ms...
    (sent,) = outcomes  # ...told once, as far as they go
    assert isinstance(sent, ReplyAudioSent)
    assert sent.item_id == deltas[0]["item_id"]
    assert sent.heard is not None
    assert np.array_equal(sent.heard, samples[: 300 * 24])
    assert split(rig.part.release_due(0.25)) == ([], [])  # nothing new: nothing told


def test_a_barge_in_cancel_ends_the_reply_where_it_stands() -> None:
    rig = Rig(SessionConfig(output_modalities=["audio"]))
    rig.create()
    (request,) = rig.part.take_requests()
    speech = Speech(np.ones(48000, dtype=np.int16), 24000, (0.0, 900.0, 1500.0))
    rig.part.schedule(request, ReplyMaterial("one two three", speech), 0.0, previous=None)
    rig.part.release_due(1.0)  # 1 s of the 2 s sent, two words
    events, outcomes = split(rig.part.cancel("turn_detected", 1.2))
    assert [e["type"] for e in events] == ["response.output_item.done", "response.done"]
    assert events[0]["item"]["content"] == [{"type": "output_audio", "transcript": "one two"}]
    assert events[1]["response"]["status_details"] == {
        "type": "cancelled",
        "reason": "turn_detected",
    }
    item_done, finished = outcomes
    assert isinstance(item_done, ReplyItemDone)
    assert item_done.words_kept == 2
    assert isinstance(finished, ReplyFinished)
    # 1.1 s of audio was sent at once at 1.0 s (deltas due at 0..1.0 s); 0.2 s later the
    # listener has 0.9 s of it still to hear: the idle timeout counts from there.
    assert (finished.status, finished.audio_left_ms) == ("cancelled", 900.0)
    assert rig.part.cancel("turn_detected", 1.3) == []  # nothing in progress any more


def test_a_reply_that_could_not_be_scheduled_fails_its_response() -> None:
    rig = Rig()
    rig.create()
    (request,) = rig.part.take_requests()
    assert rig.part.fail("resp_other", 0.0) == []
    events, outcomes = split(rig.part.fail(request.response_id, 0.0))
    assert events[0]["response"]["status"] == "failed"
    assert events[0]["response"]["status_details"]["error"]["type"] == "server_error"
    assert outcomes == [ReplyFinished(request.response_id, "failed", True, 0.0)]
    assert rig.part.schedule(request, ReplyMaterial("late"), 0.0, previous=None) is None


def test_per_response_overrides_are_checked_naming_the_response_field() -> None:
    rig = Rig()
    params = ResponseParams.model_validate({"tool_choice": {"type": "function", "name": "nope"}})
    (error,) = rig.part.create(params, [], 0.0, trigger="response.create", input_ms=0.0)
    assert error["error"]["param"] == "response.tool_choice.name"
    assert rig.part.active is None
