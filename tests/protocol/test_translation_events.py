"""Translation events: our models are the SDK's unions, client events validate strictly against
the SDK's translation client union, server events are read leniently and never raise."""

from __future__ import annotations

import json
import typing
from typing import Any

import pytest
from openai.types.realtime import RealtimeTranslationClientEvent as SdkClientEvent
from openai.types.realtime import RealtimeTranslationServerEvent as SdkServerEvent
from pydantic import ValidationError

from realtime_widgets import ConfigError
from realtime_widgets.errors import ProtocolError
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol import translation_events as te
from realtime_widgets.protocol.translation_config import TranslationConfig

from .sdk_oracle import check_translation_client_event, check_translation_server_event


def _sdk_classes(union: Any) -> list[type]:
    return list(typing.get_args(typing.get_args(union)[0]))


def test_the_unions_are_the_sdks_by_name_and_type() -> None:
    ours = [c.__name__ for c in te.TRANSLATION_CLIENT_EVENT_CLASSES]
    assert ours == [c.__name__ for c in _sdk_classes(SdkClientEvent)]
    server = {c.__name__ for c in te.TRANSLATION_SERVER_EVENT_CLASSES} - {"ErrorEvent"}
    sdk_server = {c.__name__ for c in _sdk_classes(SdkServerEvent)} - {"RealtimeErrorEvent"}
    assert server == sdk_server
    assert te.RealtimeErrorEvent is ev.ErrorEvent
    sdk_types = {c.model_fields["type"].default for c in _sdk_classes(SdkServerEvent)}
    sdk_types |= {
        typing.get_args(c.model_fields["type"].annotation)[0] for c in _sdk_classes(SdkServerEvent)
    }
    assert sdk_types >= te.TRANSLATION_SERVER_EVENT_TYPES
    # The Realtime client union is untouched (its classes are ev.ClientEvent's subclasses).
    assert not set(te.TRANSLATION_CLIENT_EVENT_CLASSES) & set(ev.CLIENT_EVENT_CLASSES)


CLIENT_EVENTS: list[te.RealtimeTranslationClientEvent] = [
    te.RealtimeTranslationSessionUpdateEvent(
        session=TranslationConfig(
            output_language="es", input_transcription="whisper-1"
        ).to_session_update()["session"],
        event_id="u1",
    ),
    te.RealtimeTranslationSessionUpdateEvent(session={}),
    te.RealtimeTranslationInputAudioBufferAppendEvent(audio="AAAA", event_id="a1"),
    te.RealtimeTranslationSessionCloseEvent(),
    te.RealtimeTranslationSessionCloseEvent(event_id="c1"),
]


def test_every_client_event_validates_against_the_sdk_union() -> None:
    kinds = set()
    for event in CLIENT_EVENTS:
        wire = json.loads(te.encode(event))
        assert next(iter(wire)) == "type"
        parsed = check_translation_client_event(wire)
        assert type(parsed).__name__ == type(event).__name__
        assert te.parse_translation_client_event(wire) == event
        kinds.add(event.type)
    assert kinds == set(te.TRANSLATION_CLIENT_EVENT_TYPES)


@pytest.mark.parametrize(
    ("event", "message", "code", "param"),
    [
        (
            {"type": "session.input_audio_buffer.append"},
            "Missing required parameter: 'audio'.",
            "missing_required_parameter",
            "audio",
        ),
        (
            {"type": "session.close", "reason": "bye"},
            "Unknown parameter: 'reason'.",
            "unknown_parameter",
            "reason",
        ),
        (
            {"type": "input_audio_buffer.append", "audio": "AAAA"},
            "Invalid value: 'input_audio_buffer.append'. Supported values are: "
            "'session.update', 'session.input_audio_buffer.append', and 'session.close'.",
            "invalid_value",
            "type",
        ),
        (
            {"type": "session.update", "session": "es"},
            "Invalid type for 'session': expected an object, but got a string instead.",
            "invalid_type",
            "session",
        ),
        (
            {"type": "session.close", "event_id": "x" * 513},
            "Invalid 'event_id': string too long. Expected a string with maximum length 512, "
            "but got a string with length 513 instead.",
            "string_above_max_length",
            "event_id",
        ),
    ],
)
def test_a_malformed_client_event_is_refused_in_openais_words(
    event: dict[str, Any], message: str, code: str, param: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        te.encode(event)
    problem = caught.value.problems[0]
    assert (problem.message, problem.code, problem.param) == (message, code, param)
    with pytest.raises(ValidationError):
        te.parse_translation_client_event(event)


def test_the_client_reader_refuses_what_is_not_an_event() -> None:
    with pytest.raises(ProtocolError):
        te.parse_translation_client_event("[1, 2]")
    with pytest.raises(ProtocolError):
        te.parse_translation_client_event("{not json")


SERVER_EVENTS: list[dict[str, Any]] = [
    {
        "type": "session.created",
        "event_id": "e1",
        "session": TranslationConfig(output_language="es").to_session(
            session_id="sess_1", expires_at=1
        ),
    },
    {
        "type": "session.updated",
        "event_id": "e2",
        "session": TranslationConfig().to_session(session_id="sess_1", expires_at=1),
    },
    {"type": "session.closed", "event_id": "e3"},
    {
        "type": "session.input_transcript.delta",
        "event_id": "e4",
        "delta": "Hello ",
        "elapsed_ms": 0,
    },
    {"type": "session.output_transcript.delta", "event_id": "e5", "delta": "Hola"},
    {
        "type": "session.output_audio.delta",
        "event_id": "e6",
        "delta": "AAAA",
        "channels": 1,
        "elapsed_ms": 1200,
        "format": "pcm16",
        "sample_rate": 24000,
    },
    {
        "type": "error",
        "event_id": "e7",
        "error": {
            "type": "invalid_request_error",
            "code": "x",
            "message": "m",
            "param": None,
            "event_id": None,
        },
    },
]


@pytest.mark.parametrize("raw", SERVER_EVENTS, ids=lambda e: e["type"])
def test_every_server_event_reads_into_its_model(raw: dict[str, Any]) -> None:
    check_translation_server_event(raw)  # the examples themselves are what the SDK models
    parsed = te.parse_translation_server_event(json.dumps(raw))
    assert type(parsed) in te.TRANSLATION_SERVER_EVENT_CLASSES
    assert parsed.type == raw["type"]
    assert parsed.model_dump(exclude_unset=True) == raw


def test_the_server_reader_never_raises_for_a_json_object_with_a_type() -> None:
    newer = te.parse_translation_server_event(
        {"type": "session.output_transcript.delta", "event_id": "e", "delta": "x", "speaker": 2}
    )
    assert isinstance(newer, te.RealtimeTranslationOutputTranscriptDeltaEvent)
    assert newer.model_extra == {"speaker": 2}  # a newer server's key is kept
    unknown = te.parse_translation_server_event('{"type": "session.paused", "event_id": "e"}')
    assert isinstance(unknown, ev.UnknownServerEvent)
    assert unknown.type == "session.paused"
    broken = te.parse_translation_server_event('{"type": "session.output_audio.delta"}')
    assert isinstance(broken, ev.UnknownServerEvent)
    assert broken.problem is not None
    assert "delta" in broken.problem
    with pytest.raises(ProtocolError):
        te.parse_translation_server_event('{"no_type": 1}')
