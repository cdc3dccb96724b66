"""GPT-Live's events: one model per event of the SDK's unions, strict out, lenient in.

Every client event model round-trips through the SDK's Live ClientEvent union strictly (no
unknown key at any depth); every server event the SDK models parses into our class of the same
name; unknown types and unreadable shapes become UnknownServerEvent, never an exception.
"""

from __future__ import annotations

import json
import typing

import openai.types.live as sdk
import pytest
from pydantic import ValidationError

from realtime_widgets import ConfigError, ProtocolError
from realtime_widgets.protocol import live_events as le
from realtime_widgets.protocol.events import UnknownServerEvent
from realtime_widgets.protocol.live_config import LiveConfig

from .sdk_oracle import check_live_client_event, check_live_server_event, live_required_keys

RESOURCE = {"id": "sess_1", "expires_at": 1_800_000_000, "model": "gpt-live-1", "status": "active"}


def _sdk_union_classes(union: object) -> list[type]:
    return list(typing.get_args(typing.get_args(union)[0]))


def test_class_names_and_types_are_the_sdks() -> None:
    sdk_client = {c.__name__: c for c in _sdk_union_classes(sdk.ClientEvent)}
    ours = {c.__name__: c for c in le.LIVE_CLIENT_EVENT_CLASSES}
    assert list(sdk_client) == list(ours)  # same names, same order, 15 of them
    assert len(ours) == 15
    for name, cls in ours.items():
        assert (
            cls.model_fields["type"].default
            == typing.get_args(sdk_client[name].model_fields["type"].annotation)[0]
        )
        assert set(cls.model_fields) == set(sdk_client[name].model_fields), name
    sdk_server = {c.__name__: c for c in _sdk_union_classes(sdk.ServerEvent)}
    ours_server = {c.__name__: c for c in le.LIVE_SERVER_EVENT_CLASSES}
    assert list(sdk_server) == list(ours_server)
    for name, cls in ours_server.items():
        assert set(cls.model_fields) == set(sdk_server[name].model_fields), name
        for field, info in sdk_server[name].model_fields.items():
            # What the SDK requires, we require (the local server cannot leave it out).
            assert cls.model_fields[field].is_required() == info.is_required() or (
                field == "type"
            ), (name, field)


CLIENT_EVENTS: list[le.LiveClientEvent] = [
    le.SessionStartEvent(session=LiveConfig(voice="cedar").to_session_start()["session"]),
    le.SessionUpdateEvent(session={"delegation": {"type": "client"}}, event_id="e1"),
    le.InputAudioAppendEvent(audio="AAAA"),
    le.InputAudioMuteEvent(),
    le.InputAudioUnmuteEvent(event_id="e2"),
    le.OutputAudioFixturePlayEvent(audio="AAAA"),
    le.InstructionsAppendEvent(content="Speak French from now on."),
    le.ThinkingAppendEvent(content="The order shipped today.", delegation_id="del_1"),
    le.CommentaryAppendEvent(content="One moment, checking."),
    le.DecisionCreateEvent(event_id="e3"),
    le.DecisionItemCreateEvent(item={"role": "user", "content": "I want a refund"}),
    le.DecisionItemCreateEvent(
        item={
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "see"},
                {"type": "input_image", "image_url": "https://x/y.png", "detail": "low"},
                {"type": "input_json", "data": {"order": 7}},
            ],
        }
    ),
    le.DecisionItemCreateEvent(
        item={"role": "developer", "content": [{"type": "input_text", "text": "x"}]}
    ),
    le.DecisionItemCreateEvent(item={"role": "system", "content": "policy"}),
    le.DecisionItemCreateEvent(
        item={
            "role": "assistant",
            "phase": "final_answer",
            "content": [
                {"type": "output_text", "text": "ok"},
                {"type": "refusal", "refusal": "no"},
            ],
        }
    ),
    le.DecisionItemCreateEvent(
        item={"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"}
    ),
    le.DecisionItemCreateEvent(
        item={"type": "function_call_output", "call_id": "c1", "output": '{"ok":true}'}
    ),
    le.DecisionItemCreateEvent(
        item={"type": "custom_tool_call", "call_id": "c2", "name": "g", "input": "x"}
    ),
    le.DecisionItemCreateEvent(
        item={
            "type": "custom_tool_call_output",
            "call_id": "c2",
            "output": [{"type": "input_text", "text": "done"}],
            "status": "completed",
        }
    ),
    le.DecisionItemDeleteEvent(item_id="item_1"),
    le.ResponseItemCreateEvent(
        item={"type": "function_call_output", "call_id": "call_1", "output": "42"}
    ),
    le.ResponseCreateEvent(),
    le.SessionCloseEvent(event_id="bye"),
]


@pytest.mark.parametrize("event", CLIENT_EVENTS, ids=lambda e: e.type)
def test_every_client_event_round_trips_through_the_sdk_strictly(
    event: le.LiveClientEvent,
) -> None:
    wire = json.loads(le.encode(event))
    parsed = check_live_client_event(wire)
    assert type(parsed).__name__ == type(event).__name__
    assert parsed.model_dump(exclude_unset=True, mode="json") == wire  # exactly what it read
    # What a server reads back (strictly) is the same event.
    assert le.parse_live_client_event(json.dumps(wire)) == event
    assert le.encode(wire) == le.encode(event)


@pytest.mark.parametrize("event", CLIENT_EVENTS, ids=lambda e: e.type)
def test_every_key_the_sdks_request_type_requires_is_sent(event: le.LiveClientEvent) -> None:
    """The SDK's *EventParam TypedDicts say what a request must carry: the appends'
    ``delegation_id`` is "Required, nullable", so it is sent as null for general context (the
    response models call it optional and would not notice)."""
    wire = json.loads(le.encode(event))
    assert live_required_keys(event.type) <= set(wire)
    assert live_required_keys("session.commentary.append") == {"type", "content", "delegation_id"}


def test_an_append_for_general_context_says_delegation_id_null() -> None:
    for kind in ("session.commentary.append", "session.thinking.append"):
        assert json.loads(le.encode({"type": kind, "content": "x"})) == {
            "type": kind,
            "content": "x",
            "delegation_id": None,
        }
    event = le.InstructionsAppendEvent(content="Be brief.")
    assert json.loads(le.encode(event))["delegation_id"] is None


def test_every_client_event_type_is_covered() -> None:
    assert {e.type for e in CLIENT_EVENTS} == set(le.LIVE_CLIENT_EVENT_TYPES)


ROLES = "'user', 'developer', 'system', and 'assistant'"
ITEM_TYPES = (
    "'message', 'function_call', 'function_call_output', 'custom_tool_call', and "
    "'custom_tool_call_output'"
)


@pytest.mark.parametrize(
    ("item", "message", "code", "param"),
    [
        # A message is known by its role (its type is optional): a missing or unknown role is
        # the fault, not the type it gave correctly.
        (
            {"type": "message", "content": "x"},
            f"Missing required parameter: 'item.role'. Supported values are: {ROLES}.",
            "missing_required_parameter",
            "item.role",
        ),
        (
            {"content": "x"},
            f"Missing required parameter: 'item.role'. Supported values are: {ROLES}.",
            "missing_required_parameter",
            "item.role",
        ),
        (
            {"type": "message", "role": "robot", "content": "x"},
            f"Invalid value: 'robot'. Supported values are: {ROLES}.",
            "invalid_value",
            "item.role",
        ),
        # A type no item has is the type's fault.
        (
            {"type": "weird"},
            f"Invalid value: 'weird'. Supported values are: {ITEM_TYPES}.",
            "invalid_value",
            "item.type",
        ),
        # An item is an object, never a string.
        (
            "x",
            "Invalid type for 'item': expected an object, but got a string instead.",
            "invalid_type",
            "item",
        ),
    ],
)
def test_a_decision_item_error_names_the_key_at_fault_and_its_values(
    item: object, message: str, code: str, param: str
) -> None:
    with pytest.raises(ConfigError) as err:
        le.encode({"type": "decision.item.create", "item": item})
    assert (str(err.value), err.value.code, err.value.param) == (message, code, param)
    if code != "invalid_type":
        assert err.value.problems[0].allowed == message.split("Supported values are: ")[1][:-1]


def test_client_events_reject_unknown_keys_in_openais_words() -> None:
    with pytest.raises(ConfigError) as err:
        le.encode({"type": "session.input_audio.mute", "muted": True})
    assert err.value.code == "unknown_parameter"
    assert err.value.param == "muted"
    with pytest.raises(ConfigError) as err:
        le.encode({"type": "response.cancel"})
    assert err.value.code == "invalid_value"
    assert "'session.start'" in str(err.value)
    assert "'session.close'" in str(err.value)
    assert "'response.cancel'" not in str(err.value).split("Supported values are:")[1]
    with pytest.raises(ConfigError) as err:
        le.encode({"type": "decision.create"})
    assert err.value.code == "missing_required_parameter"
    assert err.value.param == "event_id"
    with pytest.raises(ConfigError) as err:
        le.encode({"type": "session.commentary.append"})
    assert err.value.param == "content"
    with pytest.raises(ValidationError) as verr:
        le.parse_live_client_event({"type": "decision.item.create", "item": {"role": "tool"}})
    problem = le.live_client_event_problem(
        verr.value, {"type": "decision.item.create", "item": {"role": "tool"}}
    )
    assert problem.param is not None
    assert problem.param.startswith("item")
    with pytest.raises(TypeError):
        le.encode(le.UnknownServerEvent(type="x"))  # type: ignore[arg-type]
    with pytest.raises(ProtocolError):
        le.parse_live_client_event("[1, 2]")


# One example of every server event the SDK's union has, as a server would send it.
SERVER_EXAMPLES: list[dict] = [
    {"type": "session.started", "event_id": "e1", "session": {**RESOURCE, "store": False}},
    {
        "type": "session.updated",
        "event_id": "e2",
        "client_event_id": "c1",
        "session": {**RESOURCE, "delegation": {"type": "client"}},
    },
    {"type": "session.input_audio.muted", "event_id": "e3"},
    {"type": "session.input_audio.unmuted", "event_id": "e4", "client_event_id": "c2"},
    {"type": "session.output_audio.fixture.playing", "event_id": "e5"},
    {"type": "session.output_audio.fixture.played", "event_id": "e6"},
    {"type": "session.instructions.appended", "event_id": "e7", "start_ms": 0, "end_ms": 10},
    {"type": "session.thinking.appended", "event_id": "e8", "start_ms": 5, "end_ms": 5},
    {"type": "session.commentary.appended", "event_id": "e9", "start_ms": 1, "end_ms": 900},
    {"type": "session.input_audio.append", "audio": "AAAA"},
    {"type": "session.output_audio.delta", "delta": "AAAA", "start_ms": 0, "end_ms": 20},
    {
        "type": "session.input_transcript.delta",
        "event_id": "e10",
        "delta": "hello",
        "start_ms": 100,
        "end_ms": 600,
    },
    {
        "type": "session.output_transcript.delta",
        "event_id": "e11",
        "delta": "Hi!",
        "start_ms": 700,
        "end_ms": 900,
    },
    {
        "type": "session.delegation.created",
        "event_id": "e12",
        "offset_ms": 1200,
        "delegation": {"type": "delegation", "id": "del_1", "target": "client"},
    },
    {
        "type": "decision.event",
        "event_id": "e13",
        "trigger_id": "t1",
        "source_event_type": "session.input_transcript.delta",
        "event": {
            "type": "decision.completed",
            "decision": {
                "model": "gpt-5-mini",
                "answers": [{"type": "predicate", "probability": 0.9}],
                "usage": {
                    "input_tokens": 10,
                    "input_tokens_details": {"cache_write_tokens": 0, "cached_tokens": 0},
                    "output_tokens": 1,
                    "output_tokens_details": {"reasoning_tokens": 0},
                    "total_tokens": 11,
                },
            },
        },
    },
    {
        "type": "decision.item.created",
        "event_id": "e14",
        "item": {"id": "item_1", "role": "user", "content": "refund please"},
    },
    {"type": "decision.item.deleted", "event_id": "e15", "item_id": "item_1"},
    {
        "type": "response.event",
        "event_id": "e16",
        "delegation_id": "del_1",
        "event": {"type": "response.output_text.delta", "delta": "x"},
    },
    {
        "type": "session.usage.updated",
        "event_id": "e17",
        "usage": {"seconds": 12.5, "active_seconds": 10, "paused_seconds": 2},
        "context_window": {"usage_ratio": 0.01},
    },
    {
        "type": "session.closed",
        "event_id": "e18",
        "reason": "close_requested",
        "session": RESOURCE,
        "usage": {"seconds": 30.0},
    },
    {
        "type": "error",
        "event_id": "e19",
        "client_event_id": "c9",
        "error": {
            "type": "invalid_request_error",
            "code": "unknown_parameter",
            "message": "Unknown parameter: 'session.voice'.",
            "param": "session.voice",
            "client_event_id": "c9",
        },
    },
    {"type": "info", "event_id": "e20", "code": "session_paused", "message": "Idle."},
    {"type": "transport.dtmf.received", "event_id": "e21", "event": "5"},
    {"type": "transport.dtmf.send", "event_id": "e22", "event": "#"},
    {"type": "transport.dtmf.sent", "event_id": "e23", "event": "#", "client_event_id": "c3"},
    {"type": "transport.ringing", "event_id": "e24", "session_id": "sess_1"},
    {"type": "transport.answered", "event_id": "e25", "session_id": "sess_1"},
    {
        "type": "transport.failed",
        "event_id": "e26",
        "session_id": "sess_1",
        "error": {"type": "call_error", "code": "busy", "message": "Busy."},
    },
]


@pytest.mark.parametrize("example", SERVER_EXAMPLES, ids=lambda e: e["type"])
def test_every_sdk_server_event_parses_into_our_class_of_the_same_name(example: dict) -> None:
    parsed_sdk = check_live_server_event(example)  # the example is a valid SDK event
    ours = le.parse_live_server_event(json.dumps(example))
    assert not isinstance(ours, UnknownServerEvent), ours
    assert type(ours).__name__ == type(parsed_sdk).__name__
    # What we would send again is what came (and still the SDK's).
    again = le.dump_server_event(ours)
    assert again == example
    check_live_server_event(again)


def test_every_server_event_type_has_an_example() -> None:
    assert {e["type"] for e in SERVER_EXAMPLES} == set(le.LIVE_SERVER_EVENT_TYPES)


def test_server_events_are_read_leniently() -> None:
    newer = {"type": "session.output_transcript.delta", "event_id": "e", "delta": "a"}
    newer |= {"start_ms": 0, "end_ms": 5, "speaker": "model"}
    event = le.parse_live_server_event(newer)
    assert isinstance(event, le.OutputTranscriptDeltaEvent)
    assert event.model_extra == {"speaker": "model"}
    unknown = le.parse_live_server_event({"type": "session.paused", "event_id": "e9"})
    assert isinstance(unknown, UnknownServerEvent)
    assert unknown.problem is None
    assert unknown.type == "session.paused"
    broken = le.parse_live_server_event({"type": "session.closed", "event_id": "e"})
    assert isinstance(broken, UnknownServerEvent)
    assert broken.problem is not None
    assert "reason" in broken.problem
    # The output audio delta has no event_id (and needs none).
    audio = le.parse_live_server_event({"type": "session.output_audio.delta", "delta": "AA"})
    assert isinstance(audio, le.OutputAudioDeltaEvent)
    assert "event_id" not in le.dump_server_event(audio)
    with pytest.raises(ProtocolError):
        le.parse_live_server_event(b"not json")


def test_the_session_resource_feeds_the_config() -> None:
    event = le.parse_live_server_event(
        {
            "type": "session.started",
            "event_id": "e1",
            "session": {
                **RESOURCE,
                "audio": {
                    "format": {"type": "audio/pcmu", "rate": 8000},
                    "output": {"voice": "ash"},
                },
                "instructions": "Be brief.",
            },
        }
    )
    assert isinstance(event, le.SessionStartedEvent)
    assert event.session.id == "sess_1"
    assert event.session.status == "active"
    config = LiveConfig.from_session(event.session.model_dump())
    assert config.voice == "ash"
    assert config.instructions == "Be brief."
    assert config.audio_format.type == "audio/pcmu"
