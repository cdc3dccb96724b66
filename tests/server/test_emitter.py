"""Events are written from their typed models (protocol.events): the model checks the shape
where the event is written, and the wire carries exactly the fields written."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from realtime_widgets.protocol import events as ev
from realtime_widgets.server.emitter import SessionEmitter, build_event, stamp

from .conftest import Clip, Driver, b64


def test_an_event_is_its_models_fields_in_the_order_written() -> None:
    payload = build_event(ev.InputAudioBufferCommitted, previous_item_id=None, item_id="item_1")
    assert list(payload) == ["type", "previous_item_id", "item_id"]
    assert payload["type"] == "input_audio_buffer.committed"
    event = stamp(payload, "event_7")
    assert list(event) == ["type", "event_id", "previous_item_id", "item_id"]
    # A field the model defaults but nobody wrote stays off the wire.
    assert "content_index" not in build_event(
        ev.ConversationItemTruncated, item_id="i", audio_end_ms=5
    )


def test_a_wrong_shape_fails_where_the_event_is_written() -> None:
    with pytest.raises(ValidationError, match="item_id"):
        build_event(ev.SpeechStarted, audio_start_ms=5)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="audio_start_ms"):
        build_event(ev.SpeechStarted, audio_start_ms="soon", item_id="i")
    with pytest.raises(ValidationError, match="item"):
        build_event(ev.ConversationItemAdded, previous_item_id=None, item={"id": "no type"})


def test_the_session_emitter_numbers_ids_per_prefix_and_counts_errors() -> None:
    out = SessionEmitter("sess_abcdef0123456789")
    assert out.new_id("item") == "item_2345678900001"
    assert out.new_id("item") == "item_2345678900002"
    error = out.error("Nope.", "invalid_value", "type", "evt_1")
    assert error == {
        "type": "error",
        "event_id": "event_2345678900001",
        "error": {
            "type": "invalid_request_error",
            "code": "invalid_value",
            "message": "Nope.",
            "param": "type",
            "event_id": "evt_1",
        },
    }
    assert out.errors == 1


def test_every_event_of_a_session_is_its_models_exclude_unset_dump(
    driver: Driver, three_turns: Clip
) -> None:
    """What the wire carries is what the model holds as set: nothing added, nothing dropped."""
    driver.send(
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"input": {"transcription": None}}},
        }
    )
    driver.stream(three_turns.samples[: 24000 * 5], realtime=False)
    driver.send({"type": "input_audio_buffer.append", "audio": b64(three_turns.samples[:4800])})
    driver.send({"type": "input_audio_buffer.commit"})
    driver.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
    driver.advance(10)
    driver.send({"type": "conversation.item.retrieve", "item_id": "nope"})
    kinds = set()
    for event in driver.events:
        wire = json.loads(json.dumps(event))
        model = ev.parse_server_event(wire)
        assert model.model_dump(mode="json", exclude_unset=True) == wire, event["type"]
        kinds.add(event["type"])
    assert {
        "session.created",
        "input_audio_buffer.speech_started",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "response.created",
        "response.output_audio.delta",
        "response.done",
        "error",
    } <= kinds


def test_an_event_with_a_field_its_model_lacks_is_refused_where_it_is_written() -> None:
    with pytest.raises(ValueError, match=r"input_audio_buffer.cleared: no such field .*'colour'"):
        build_event(ev.InputAudioBufferCleared, colour="red")
    assert build_event(ev.InputAudioBufferCleared) == {"type": "input_audio_buffer.cleared"}
