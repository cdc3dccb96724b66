"""LiveConfig: GPT-Live's session on the single source (ConfigModel + Param).

Conformance with the SDK's Live request types (strict, no unknown key at any depth), the
media-only fields kept off every WebSocket session object, the start-only fields locked with a
reason, both readers, and errors that name the field and the allowed values.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from realtime_widgets import ConfigError
from realtime_widgets.protocol.configbase import config_class
from realtime_widgets.protocol.live_config import (
    LIVE_GROUPS,
    LIVE_MODELS,
    MAX_INPUT_ITEMS,
    MAX_INPUT_TOKENS,
    MAX_INSTRUCTIONS_TOKENS,
    LiveConfig,
)
from realtime_widgets.protocol.live_parts import LIVE_VOICES, LivePcmFormat
from realtime_widgets.protocol.wire import validate_session_payload

from .sdk_oracle import (
    check_live_media_session,
    check_live_server_event,
    check_live_session_start,
    check_live_session_update,
)
from .strategies import live_config_data, live_delegation, live_triggers

MEDIA_ONLY = {"wake_policy", "idle_timeout_s"}
START_ONLY = {
    "model",
    "voice",
    "instructions",
    "input",
    "audio_format",
    "safety_identifier",
    "store",
    "client",
}


def _wire(event: dict) -> dict:
    return json.loads(json.dumps(event))  # what goes over the socket


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(live_config_data())
def test_every_generated_session_start_validates_strictly_against_the_sdk(data: dict) -> None:
    config = LiveConfig(**data)
    event = _wire(config.to_session_start(event_id="evt_1"))
    parsed = check_live_session_start(event)
    assert parsed.session.model == config.model
    session = event["session"]
    # Media-only fields never reach a WebSocket session.start, whatever is set.
    assert not MEDIA_ONLY & set(session)
    # The strict reader (the local server's) accepts what we send, and reads it back.
    back = validate_session_payload(session, LiveConfig)
    for name in LiveConfig.websocket_fields():
        assert getattr(back, name) == getattr(config, name), name
    assert LiveConfig.from_session(session) == back
    # client.live.create()'s session carries the media fields and no audio format.
    media = config.to_media_session()
    check_live_media_session(_wire(media))
    for name in MEDIA_ONLY & set(data):
        if data[name] is not None:
            assert name in media


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(live_config_data(), live_delegation, live_triggers)
def test_every_session_update_validates_and_applies(
    data: dict, delegation: dict | None, triggers: list | None
) -> None:
    before = LiveConfig(**data)
    after = before.with_changes(delegation=delegation, triggers=triggers)
    event = _wire(after.to_session_update(previous=before, event_id="evt_2"))
    check_live_session_update(event)
    sent = LiveConfig.validate_update_payload(event["session"])
    assert sent.model_fields_set == set(after.diff(before)) <= {"delegation", "triggers"}
    applied = before.with_changes({k: getattr(sent, k) for k in sent.model_fields_set})
    # Triggers switched off go out as [] (the SDK: null or omitted keeps them).
    assert applied.delegation == after.delegation
    assert (applied.triggers or None) == (after.triggers or None)
    full = _wire(after.to_session_update())
    check_live_session_update(full)
    assert set(full["session"]) == {"delegation", "triggers"}


def test_the_defaults_are_the_sdks() -> None:
    config = LiveConfig()
    assert config.model == "gpt-live-1" == LIVE_MODELS[0]
    assert LIVE_MODELS == ("gpt-live-1", "gpt-live-1.1")
    assert config.voice == "marin"
    assert config.audio_format == LivePcmFormat(rate=24000)
    assert config.delegation is None
    assert config_class("live") is LiveConfig
    assert config.to_session_start() == {
        "type": "session.start",
        "session": {
            "model": "gpt-live-1",
            "audio": {"output": {"voice": "marin"}, "format": {"type": "audio/pcm", "rate": 24000}},
        },
    }
    assert len(LIVE_VOICES) == 23
    # Every field sits in one of the panel's groups, and every group holds a field.
    assert {p.group for p in LiveConfig.PARAMS.values()} == set(LIVE_GROUPS)


def test_media_only_fields_never_go_on_a_websocket_wire() -> None:
    config = LiveConfig(wake_policy={"type": "speech", "vad_threshold": 0.7}, idle_timeout_s=45)
    assert config.wake_policy is not None
    assert config.wake_policy.vad_threshold == 0.7
    for session in (
        config.to_session_start()["session"],
        config.to_session(),
        config.with_changes(delegation={"type": "client"}).to_session_update(config)["session"],
        config.to_session_update()["session"],
    ):
        assert "wake_policy" not in json.dumps(session)
        assert "idle_timeout_s" not in json.dumps(session)
    media = config.to_media_session()
    assert media["wake_policy"] == {"type": "speech", "vad_threshold": 0.7}
    assert media["idle_timeout_s"] == 45
    assert "format" not in media.get("audio", {})
    check_live_media_session(media)
    # The default threshold is the SDK's 0.5.
    assert LiveConfig(wake_policy={"type": "speech"}).to_media_session()["wake_policy"] == {
        "type": "speech",
        "vad_threshold": 0.5,
    }
    # A client that sends one in session.start is told it is unknown there.
    raw = {"model": "gpt-live-1", "wake_policy": {"type": "speech"}, "idle_timeout_s": 5}
    with pytest.raises(ConfigError) as err:
        validate_session_payload(raw, LiveConfig)
    assert {(p.code, p.param) for p in err.value.problems} == {
        ("unknown_parameter", "session.wake_policy"),
        ("unknown_parameter", "session.idle_timeout_s"),
    }
    schema = LiveConfig.json_schema()["properties"]
    assert schema["wake_policy"]["x-transport"] == "media"
    assert schema["idle_timeout_s"]["x-transport"] == "media"
    assert schema["audio_format"]["x-transport"] == "websocket"
    assert "x-transport" not in schema["voice"]


def test_start_only_fields_are_locked_with_a_reason_in_a_live_session() -> None:
    config = LiveConfig(voice="cedar", wake_policy={"type": "speech"})
    assert config.locked_fields(live=False) == {}
    locks = config.locked_fields(live=True)
    assert set(locks) == START_ONLY | MEDIA_ONLY
    for name in START_ONLY:
        assert locks[name].startswith(f"{name} is fixed by session.start"), locks[name]
        assert "start a new session" in locks[name]
    for name in MEDIA_ONLY:
        assert "client.live.create()" in locks[name]
    assert "delegation" not in locks
    assert "triggers" not in locks
    # A change to a locked field is refused, naming it; nothing is sent.
    for change in (
        {"voice": "marin"},
        {"instructions": "Be brief."},
        {"audio_format": {"type": "audio/pcm", "rate": 16000}},
        {"input": [{"role": "user", "content": [{"text": "hi"}]}]},
        {"model": "gpt-live-1.1"},
        {"idle_timeout_s": 30},
    ):
        after = config.with_changes(change)
        with pytest.raises(ConfigError) as err:
            after.to_session_update(previous=config)
        (name,) = change
        assert err.value.field == name
        assert "session.start" in str(err.value) or "client.live.create()" in str(err.value)
    # The delegation and the triggers do change.
    after = config.with_changes(delegation={"type": "client", "acknowledgement_delay_ms": 250})
    assert after.to_session_update(previous=config)["session"] == {
        "delegation": {"type": "client", "acknowledgement_delay_ms": 250}
    }


def test_triggers_switched_off_are_sent_as_an_empty_list() -> None:
    questions = [{"type": "predicate", "instructions": "Is the caller upset?"}]
    on = LiveConfig(
        triggers=[
            {
                "type": "decisions",
                "event_type": "session.input_transcript.delta",
                "decisions": {"questions": questions},
            }
        ]
    )
    off = on.with_changes(triggers=None)
    event = off.to_session_update(previous=on)
    assert event["session"] == {"triggers": []}
    check_live_session_update(event)
    # Delegation back to the client is an explicit null.
    delegated = LiveConfig(delegation={"type": "client"})
    event = delegated.with_changes(delegation=None).to_session_update(previous=delegated)
    assert event["session"] == {"delegation": None}
    check_live_session_update(event)


def test_one_trigger_per_transcript() -> None:
    trigger = {
        "type": "decisions",
        "event_type": "session.output_transcript.delta",
        "decisions": {"questions": [{"type": "predicate", "instructions": "Done?"}]},
    }
    config = LiveConfig(triggers=[trigger, trigger])
    with pytest.raises(ConfigError) as err:
        config.to_session_start()
    assert err.value.field == "triggers"
    assert "session.input_transcript.delta" in (err.value.problems[0].allowed or "")


@pytest.mark.parametrize(
    ("kwargs", "field", "allowed"),
    [
        ({"voice": "nova"}, "voice", ["marin", "willow", "vesper"]),
        (
            {"audio_format": {"type": "audio/pcm", "rate": 44100}},
            "audio_format",
            ["16000", "24000"],
        ),
        ({"audio_format": {"type": "audio/wav"}}, "audio_format", ["audio/pcm", "audio/pcmu"]),
        ({"wake_policy": {"type": "speech", "vad_threshold": 1.5}}, "wake_policy", ["1"]),
        ({"delegation": {"type": "server"}}, "delegation", ["client", "responses", "decisions"]),
        ({"delegation": {"type": "client", "acknowledgement_delay_ms": -1}}, "delegation", ["0"]),
        ({"idle_timeout_s": 0}, "idle_timeout_s", ["1"]),
        ({"store": "yes"}, "store", []),
        ({"input": [{"role": "tool", "content": [{"text": "x"}]}]}, "input", ["developer"]),
    ],
)
def test_errors_name_the_field_and_the_allowed_values(
    kwargs: dict, field: str, allowed: list[str]
) -> None:
    with pytest.raises(ConfigError) as err:
        LiveConfig(**kwargs)
    problem = err.value.problems[0]
    assert problem.field.startswith(field), problem
    text = f"{problem.message} {problem.allowed or ''}"
    for value in allowed:
        assert value in text, (value, text)


TEXT_PART = [{"type": "input_text", "text": "hi"}]


@pytest.mark.parametrize(
    ("item", "message", "code"),
    [
        (
            {"type": "message", "content": TEXT_PART},
            "input[0].role is required (one of 'developer', 'user', 'assistant')",
            "missing_required_parameter",
        ),
        (
            {"type": "message", "role": "robot", "content": TEXT_PART},
            "input[0].role must be one of 'developer', 'user', 'assistant', got 'robot'",
            "invalid_value",
        ),
        (
            {"role": 5, "content": TEXT_PART},
            "input[0].role must be one of 'developer', 'user', 'assistant', got 5",
            "invalid_value",
        ),
    ],
)
def test_a_startup_item_without_a_known_role_names_role_and_the_roles(
    item: dict, message: str, code: str
) -> None:
    """The startup items are told apart by ``role`` (the SDK's InitialItemParam requires it),
    so a missing or unknown role is reported on ``role``, with the three roles allowed."""
    with pytest.raises(ConfigError) as err:
        LiveConfig(input=[item])
    problem = err.value.problems[0]
    assert (problem.field, problem.message, problem.code) == ("input[0].role", message, code)
    assert problem.allowed == "'developer', 'user', 'assistant'"


def test_at_most_128_startup_items() -> None:
    item = {"role": "user", "content": [{"text": "hi"}]}
    assert len(LiveConfig(input=[item] * MAX_INPUT_ITEMS).input or []) == 128
    with pytest.raises(ConfigError) as err:
        LiveConfig(input=[item] * (MAX_INPUT_ITEMS + 1))
    assert err.value.field == "input"
    assert "128" in str(err.value)
    # One text part per message.
    with pytest.raises(ConfigError):
        LiveConfig(input=[{"role": "user", "content": [{"text": "a"}, {"text": "b"}]}])


def test_the_strict_reader_judges_a_start_payload_as_openai_does() -> None:
    def problems(raw: object) -> set[tuple[str, str | None]]:
        with pytest.raises(ConfigError) as err:
            validate_session_payload(raw, LiveConfig)  # type: ignore[arg-type]
        return {(p.code, p.param) for p in err.value.problems}

    assert problems({"instructions": "hi"}) == {("missing_required_parameter", "session.model")}
    assert problems({"model": "gpt-live-1", "type": "realtime"}) == {
        ("unknown_parameter", "session.type")
    }
    assert problems({"model": "gpt-live-1", "turn_detection": None}) == {
        ("unknown_parameter", "session.turn_detection")
    }
    assert problems({"model": "gpt-live-1", "audio": {"format": {"type": "audio/pcm"}}}) == {
        ("missing_required_parameter", "session.audio.format.rate")
    }
    assert problems({"model": "gpt-live-1", "audio": {"output": {"speed": 1.2}}}) == {
        ("unknown_parameter", "session.audio.output.speed")
    }
    # No seed shorthand on the wire: a format is an object.
    ((_code, param),) = problems({"model": "gpt-live-1", "audio": {"format": "pcm16"}})
    assert param == "session.audio.format"
    ok = validate_session_payload(
        {"model": "gpt-live-1.1", "audio": {"format": {"type": "audio/pcmu", "rate": 8000}}},
        LiveConfig,
    )
    assert ok.model_fields_set == {"model", "audio_format"}
    assert ok.audio_format.type == "audio/pcmu"


def test_the_strict_update_reader_takes_only_delegation_and_triggers() -> None:
    with pytest.raises(ConfigError) as err:
        LiveConfig.validate_update_payload({"voice": "marin", "instructions": "x"})
    assert {(p.code, p.param) for p in err.value.problems} == {
        ("unknown_parameter", "session.voice"),
        ("unknown_parameter", "session.instructions"),
    }
    assert "delegation" in (err.value.problems[0].allowed or "")
    with pytest.raises(ConfigError) as err:
        LiveConfig.validate_update_payload({"delegation": {"type": "responses"}})
    assert err.value.problems[0].param == "session.delegation.responses"
    sent = LiveConfig.validate_update_payload({"delegation": None})
    assert sent.model_fields_set == {"delegation"}
    assert sent.delegation is None


def test_from_session_reads_a_servers_session_resource_leniently() -> None:
    resource = {
        "id": "sess_1",
        "expires_at": 1_800_000_000,
        "status": "active",
        "model": "gpt-live-1.1",
        "audio": {
            "format": {"type": "audio/pcm", "rate": 16000},
            "output": {"voice": {"id": "voice_custom1"}},
        },
        "delegation": {"type": "decisions", "decisions": {"model": "m", "questions": []}},
        "a_newer_key": {"anything": 1},
    }
    with pytest.raises(ConfigError):  # an empty question list is no Decisions setup
        LiveConfig.from_session(resource)
    resource["delegation"] = {
        "type": "decisions",
        "acknowledgement_delay_ms": 400,
        "decisions": {"model": "m", "questions": [{"type": "predicate", "instructions": "x"}]},
    }
    config = LiveConfig.from_session(resource)
    assert config.model == "gpt-live-1.1"
    assert config.audio_format == LivePcmFormat(rate=16000)
    assert config.voice.id == "voice_custom1"  # type: ignore[union-attr]
    assert config.delegation is not None
    assert config.delegation.acknowledgement_delay_ms == 400


@given(st.sampled_from(LIVE_VOICES))
def test_every_builtin_voice_is_sendable(voice: str) -> None:
    check_live_session_start(LiveConfig(voice=voice).to_session_start())


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(live_config_data())
def test_the_session_resource_a_server_reports_is_complete_and_the_sdks(data: dict) -> None:
    config = LiveConfig(**data)
    resource = config.to_session_resource(session_id="sess_1", expires_at=1_800_000_000)
    assert resource["id"] == "sess_1"
    assert resource["status"] == "active"
    assert resource["model"] == config.model
    assert not MEDIA_ONLY & set(resource)
    closed = {
        "type": "session.closed",
        "event_id": "evt_9",
        "reason": "close_requested",
        "session": resource,
        "usage": {"seconds": 1.5, "active_seconds": 1, "paused_seconds": 0},
    }
    check_live_server_event(_wire(closed))
    back = LiveConfig.from_session(_wire(resource))
    for name in LiveConfig.websocket_fields():
        assert getattr(back, name) == getattr(config, name), name


def test_the_live_oracle_can_fail() -> None:
    # The oracle must be able to fail, for each thing it checks.
    start = {"type": "session.start", "session": {"model": "gpt-live-1"}}
    with pytest.raises(AssertionError, match="wake_policy"):
        check_live_session_start({**start, "session": {"model": "x", "wake_policy": {}}})
    with pytest.raises(AssertionError, match="store"):
        check_live_session_start({**start, "session": {"model": "x", "store": None}})
    with pytest.raises(AssertionError, match="voice"):
        check_live_session_update({"type": "session.update", "session": {"voice": "marin"}})
    with pytest.raises(AssertionError, match="event_id"):  # Live's audio delta has none
        check_live_server_event(
            {"type": "session.output_audio.delta", "delta": "AA", "event_id": "e"}
        )
    with pytest.raises(AssertionError, match="format"):
        check_live_media_session({"model": "x", "audio": {"format": {"type": "audio/pcmu"}}})
    with pytest.raises(AssertionError, match="vad"):
        check_live_media_session({"model": "x", "wake_policy": {"type": "speech", "vad": 1}})
    check_live_session_start(start)


def test_instructions_and_startup_input_are_held_to_gpt_lives_token_limits() -> None:
    """Instructions: "Limited to 16,384 client-supplied tokens"; startup input: "a configured
    rendered-token limit (8,192 by default)" (session_config.py), by the project's one token
    estimate (four characters a token). At the limit is accepted; past it a ConfigError names
    the field and the limit, from every way a config is made."""
    assert (MAX_INSTRUCTIONS_TOKENS, MAX_INPUT_TOKENS) == (16_384, 8_192)
    at_limit = "x" * (16_384 * 4)
    assert LiveConfig(instructions=at_limit).instructions == at_limit
    over = at_limit + "x"
    for make in (
        lambda: LiveConfig(instructions=over),
        lambda: LiveConfig().with_changes(instructions=over),
        lambda: LiveConfig.validate_start_payload({"model": "gpt-live-1", "instructions": over}),
    ):
        with pytest.raises(ConfigError) as info:
            make()
        assert info.value.field == "instructions"
        assert str(info.value).startswith(
            "instructions must be at most 16,384 tokens (GPT-Live's limit), got about 16,385 "
            "(65,537 characters, by the local estimate, four characters a token)"
        )

    def message(role: str, chars: int) -> dict[str, Any]:
        kind = "output_text" if role == "assistant" else "input_text"
        return {"role": role, "content": [{"type": kind, "text": "y" * chars}]}

    fits = [message("developer", 4 * 4_096), message("assistant", 4 * 4_096)]  # 8,192 tokens
    assert len(LiveConfig(input=fits).input or []) == 2
    too_many = [*fits, message("user", 1)]
    for make in (
        lambda: LiveConfig(input=too_many),
        lambda: LiveConfig.validate_start_payload({"model": "gpt-live-1", "input": too_many}),
    ):
        with pytest.raises(ConfigError) as info:
            make()
        assert info.value.field == "input"
        assert "input must render to at most 8,192 tokens" in str(info.value)
        assert "got about 8,193" in str(info.value)
