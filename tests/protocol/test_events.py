"""The event codec: every GA server event type parses, unknown ones never raise, beta names
are normalised, client events encode with explicit nulls intact."""

from __future__ import annotations

import json
import typing

import pytest
from openai.types.realtime import RealtimeServerEvent

from realtime_widgets import ProtocolError
from realtime_widgets.protocol import events as ev


def _sdk_server_event_types() -> set[str]:
    union = typing.get_args(RealtimeServerEvent)[0]
    return {typing.get_args(m.model_fields["type"].annotation)[0] for m in typing.get_args(union)}


def test_we_know_every_server_event_type_the_sdk_knows() -> None:
    ours = ev.SERVER_EVENT_TYPES
    sdk = _sdk_server_event_types()
    # Beta-only names are normalised rather than modelled; DTMF is SIP-only.
    expected = (
        sdk
        - set(ev.BETA_EVENT_NAMES)
        - {
            "conversation.created",
            "input_audio_buffer.dtmf_event_received",
        }
    )
    assert expected <= ours, sorted(expected - ours)


SAMPLES: list[dict] = [
    {"type": "session.created", "event_id": "e", "session": {"type": "realtime"}},
    {
        "type": "error",
        "event_id": "e",
        "error": {
            "type": "invalid_request_error",
            "code": "x",
            "message": "m",
            "param": "session.voice",
            "event_id": "c1",
        },
    },
    {
        "type": "input_audio_buffer.speech_started",
        "event_id": "e",
        "audio_start_ms": 10,
        "item_id": "i",
    },
    {
        "type": "input_audio_buffer.timeout_triggered",
        "event_id": "e",
        "audio_start_ms": 0,
        "audio_end_ms": 6000,
        "item_id": "i",
    },
    {
        "type": "conversation.item.added",
        "event_id": "e",
        "previous_item_id": None,
        "item": {
            "id": "i",
            "type": "message",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        },
    },
    {
        "type": "conversation.item.input_audio_transcription.segment",
        "event_id": "e",
        "item_id": "i",
        "content_index": 0,
        "id": "s",
        "text": "hi",
        "speaker": "A",
        "start": 0.0,
        "end": 0.5,
    },
    {
        "type": "response.done",
        "event_id": "e",
        "response": {
            "id": "r",
            "object": "realtime.response",
            "status": "cancelled",
            "status_details": {"type": "cancelled", "reason": "turn_detected"},
            "output": [],
            "usage": {"total_tokens": 3, "input_tokens": 1, "output_tokens": 2},
        },
    },
    {
        "type": "response.function_call_arguments.done",
        "event_id": "e",
        "response_id": "r",
        "item_id": "i",
        "output_index": 0,
        "call_id": "c",
        "name": "f",
        "arguments": "{}",
    },
    {
        "type": "rate_limits.updated",
        "event_id": "e",
        "rate_limits": [{"name": "tokens", "limit": 10, "remaining": 5, "reset_seconds": 1.5}],
    },
]


@pytest.mark.parametrize("sample", SAMPLES, ids=[s["type"] for s in SAMPLES])
def test_samples_parse_to_their_classes_and_agree_with_the_sdk(sample: dict) -> None:
    event = ev.parse_server_event(json.dumps(sample))
    assert not isinstance(event, ev.UnknownServerEvent)
    assert event.type == sample["type"]
    # Dumping our model gives back the same data (nothing lost, nothing invented).
    assert event.model_dump(exclude_unset=True) == sample
    from pydantic import TypeAdapter

    sdk = TypeAdapter(RealtimeServerEvent).validate_python(sample)
    assert sdk.type == event.type


def test_unknown_types_and_bad_shapes_become_generic_events() -> None:
    new = ev.parse_server_event('{"type": "response.hologram.delta", "event_id": "e9", "x": 1}')
    assert isinstance(new, ev.UnknownServerEvent)
    assert (new.type, new.problem, new.model_extra) == ("response.hologram.delta", None, {"x": 1})
    broken = ev.parse_server_event('{"type": "response.output_audio.delta", "event_id": "e"}')
    assert isinstance(broken, ev.UnknownServerEvent)
    assert broken.problem is not None
    assert "delta" in broken.problem


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"no_type": 1}', '{"type": 5}'])
def test_non_events_raise_protocol_error(text: str) -> None:
    with pytest.raises(ProtocolError):
        ev.parse_server_event(text)


def test_beta_names_are_normalised() -> None:
    audio = ev.parse_server_event(
        '{"type": "response.audio.delta", "event_id": "e", "response_id": "r", "item_id": "i",'
        ' "output_index": 0, "content_index": 0, "delta": "AAAA"}'
    )
    assert isinstance(audio, ev.ResponseOutputAudioDelta)
    created = ev.parse_server_event(
        {
            "type": "conversation.item.created",
            "event_id": "e",
            "previous_item_id": "p",
            "item": {
                "id": "a",
                "type": "message",
                "role": "assistant",
                "content": [{"type": "audio", "transcript": "hi"}],
            },
        }
    )
    assert isinstance(created, ev.ConversationItemAdded)
    assert created.item.content[0].type == "output_audio"
    text = ev.parse_server_event(
        {
            "type": "response.text.done",
            "event_id": "e",
            "response_id": "r",
            "item_id": "i",
            "text": "ok",
        }
    )
    assert isinstance(text, ev.ResponseOutputTextDone)
    assert text.text == "ok"


def test_encode_keeps_payload_nulls_and_drops_unset_fields() -> None:
    update = ev.SessionUpdate(session={"type": "realtime", "tracing": None})
    assert json.loads(ev.encode(update)) == {
        "type": "session.update",
        "session": {"type": "realtime", "tracing": None},
    }
    cancel = ev.ResponseCancel()
    assert ev.encode(cancel) == '{"type":"response.cancel"}'
    assert json.loads(ev.encode(ev.InputAudioBufferAppend(audio="AA==", event_id="x"))) == {
        "type": "input_audio_buffer.append",
        "event_id": "x",
        "audio": "AA==",
    }


def test_client_events_are_strict() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        ev.parse_client_event('{"type": "input_audio_buffer.append", "audio": "AA", "extra": 1}')
    with pytest.raises(ValidationError):
        ev.parse_client_event(
            '{"type": "conversation.item.truncate", "item_id": "i", "audio_end_ms": -1}'
        )
    ok = ev.parse_client_event(
        '{"type": "conversation.item.truncate", "item_id": "i", "audio_end_ms": 10}'
    )
    assert isinstance(ok, ev.ConversationItemTruncate)
    assert ok.content_index == 0
