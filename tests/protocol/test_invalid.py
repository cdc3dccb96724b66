"""Bad input raises locally, before anything is sent, naming the field and what is allowed."""

from __future__ import annotations

from typing import Any

import pytest

from realtime_widgets import ConfigError, SessionConfig
from realtime_widgets.protocol.wire import validate_session_payload

# (keyword arguments, the field the error must name, words the message must contain)
BAD_CONFIGS: list[tuple[dict[str, Any], str, tuple[str, ...]]] = [
    ({"speed": 2.0}, "speed", ("0.25", "1.5", "2.0")),
    ({"speed": 0.1}, "speed", ("0.25", "0.1")),
    ({"speed": "fast"}, "speed", ("number", "fast")),
    ({"voice": "Puck"}, "voice", ("'Puck'", "alloy", "cedar")),
    ({"voice": "ALLOY"}, "voice", ("'ALLOY'", "marin")),
    ({"voice": {"id": "nope"}}, "voice.id", ("voice_",)),
    ({"voice": 3}, "voice", ("object",)),
    (
        {"output_modalities": ["text", "audio", "text"]},
        "output_modalities",
        ("['text']", "['audio']"),
    ),
    ({"output_modalities": []}, "output_modalities", ("Supported combinations",)),
    ({"output_modalities": ["video"]}, "output_modalities[0]", ("'audio'", "'text'", "video")),
    ({"input_audio_format": "mp3"}, "input_audio_format", ("audio/pcm", "pcm16", "mp3")),
    (
        {"output_audio_format": {"type": "audio/pcm", "rate": 16000}},
        "output_audio_format.rate",
        ("24000",),
    ),
    (
        {"output_audio_format": {"type": "audio/opus"}},
        "output_audio_format.type",
        ("audio/pcm", "audio/opus"),
    ),
    ({"noise_reduction": "studio"}, "noise_reduction.type", ("near_field", "far_field")),
    (
        {"noise_reduction": {"type": "near_field", "strength": 3}},
        "noise_reduction.strength",
        ("0.0", "1.0"),
    ),
    ({"transcription": {"model": ""}}, "transcription.model", ("empty",)),
    (
        {"transcription": {"model": "whisper-1", "language": "english"}},
        "transcription.language",
        ("english",),
    ),
    (
        {"transcription": {"model": "whisper-1", "delay": "slow"}},
        "transcription.delay",
        ("minimal", "slow"),
    ),
    (
        {"turn_detection": {"type": "server_vad", "threshold": 1.5}},
        "turn_detection.threshold",
        ("0.0", "1.0", "1.5"),
    ),
    (
        {"turn_detection": {"type": "server_vad", "threshold": -0.1}},
        "turn_detection.threshold",
        ("0.0", "-0.1"),
    ),
    (
        {"turn_detection": {"type": "server_vad", "prefix_padding_ms": -5}},
        "turn_detection.prefix_padding_ms",
        ("0", "-5"),
    ),
    (
        {"turn_detection": {"type": "server_vad", "silence_duration_ms": 1.5}},
        "turn_detection.silence_duration_ms",
        ("integer",),
    ),
    (
        {"turn_detection": {"type": "server_vad", "idle_timeout_ms": 1000}},
        "turn_detection.idle_timeout_ms",
        ("5000", "30000", "1000"),
    ),
    (
        {"turn_detection": {"type": "server_vad", "idle_timeout_ms": 40000}},
        "turn_detection.idle_timeout_ms",
        ("30000",),
    ),
    (
        {"turn_detection": {"type": "semantic_vad", "threshold": 0.5}},
        "turn_detection.threshold",
        ("server_vad", "semantic_vad", "eagerness"),
    ),
    (
        {"turn_detection": {"type": "semantic_vad", "silence_duration_ms": 200}},
        "turn_detection.silence_duration_ms",
        ("server_vad",),
    ),
    (
        {"turn_detection": {"type": "server_vad", "eagerness": "low"}},
        "turn_detection.eagerness",
        ("semantic_vad",),
    ),
    (
        {"turn_detection": {"type": "semantic_vad", "eagerness": "eager"}},
        "turn_detection.eagerness",
        ("'low'", "eager"),
    ),
    (
        {"turn_detection": {"type": "push_to_talk"}},
        "turn_detection.type",
        ("server_vad", "semantic_vad", "push_to_talk"),
    ),
    ({"turn_detection": {"threshold": 0.5}}, "turn_detection.type", ("server_vad", "semantic_vad")),
    (
        {"turn_detection": {"type": "server_vad", "create_response": "yes"}},
        "turn_detection.create_response",
        ("boolean",),
    ),
    ({"tools": [{"type": "function", "name": "has space"}]}, "tools[0].name", ("has space",)),
    (
        {"tools": [{"type": "function", "name": "f", "parameters": {"type": "string"}}]},
        "tools[0].parameters",
        ("object",),
    ),
    (
        {"tools": [{"type": "function", "name": "f"}, {"type": "function", "name": "f"}]},
        "tools",
        ("unique", "f"),
    ),
    ({"tools": [{"type": "mcp", "server_label": "x"}]}, "tools[0]", ("server_url",)),
    ({"tools": [{"type": "web_search"}]}, "tools[0].type", ("function", "mcp")),
    ({"tool_choice": {"type": "function"}}, "tool_choice.name", ("required",)),
    ({"tool_choice": 3}, "tool_choice", ("'auto'", "'none'", "'required'")),
    ({"max_output_tokens": 0}, "max_output_tokens", ("4096", "inf", "0")),
    ({"max_output_tokens": 5000}, "max_output_tokens", ("4096", "5000")),
    ({"max_output_tokens": "unlimited"}, "max_output_tokens", ("inf", "unlimited")),
    ({"max_output_tokens": True}, "max_output_tokens", ("4096",)),
    ({"truncation": "sometimes"}, "truncation", ("'auto'", "'disabled'", "sometimes")),
    ({"truncation": {"type": "retention_ratio"}}, "truncation.retention_ratio", ("required",)),
    (
        {"truncation": {"type": "retention_ratio", "retention_ratio": 1.2}},
        "truncation.retention_ratio",
        ("1.0", "1.2"),
    ),
    ({"tracing": "on"}, "tracing", ("'auto'", "on")),
    ({"tracing": {"workflow": "x"}}, "tracing.workflow", ("workflow_name", "group_id")),
    ({"reasoning": {"effort": "max"}}, "reasoning.effort", ("minimal", "xhigh", "max")),
    ({"prompt": {"id": "prompt-1"}}, "prompt.id", ("pmpt_",)),
    ({"prompt": {"version": "2"}}, "prompt.id", ("required",)),
    ({"include": ["everything"]}, "include[0]", ("logprobs",)),
    ({"temperature": 2.0}, "temperature", ("0.6", "1.2")),
    ({"instructions": 42}, "instructions", ("string",)),
    ({"model": ""}, "model", ("empty",)),
    ({"voices": "marin"}, "voices", ("voice", "speed", "turn_detection")),
]


@pytest.mark.parametrize(("kwargs", "field", "words"), BAD_CONFIGS, ids=[c[1] for c in BAD_CONFIGS])
def test_bad_config_names_the_field(
    kwargs: dict[str, Any], field: str, words: tuple[str, ...]
) -> None:
    with pytest.raises(ConfigError) as info:
        SessionConfig(**kwargs)
    err = info.value
    assert err.field == field
    message = str(err)
    assert field.split("[")[0] in message
    for word in words:
        assert word in message, f"{word!r} missing from: {message}"


def test_table_is_large_enough() -> None:
    assert len(BAD_CONFIGS) + len(BAD_SENDS) + len(BAD_PAYLOADS) >= 40


# Valid on their own, but not sendable: the rules a server enforces beyond the types.
BAD_SENDS: list[tuple[SessionConfig, str, tuple[str, ...]]] = [
    (SessionConfig(temperature=0.8), "temperature", ("beta", "GA", "temperature=None")),
    (
        SessionConfig(tool_choice={"type": "function", "name": "lookup"}),
        "tool_choice.name",
        ("lookup",),
    ),
    (
        SessionConfig(
            tools=[{"type": "function", "name": "a"}],
            tool_choice={"type": "mcp", "server_label": "srv"},
        ),
        "tool_choice.server_label",
        ("srv",),
    ),
]


@pytest.mark.parametrize(("config", "field", "words"), BAD_SENDS, ids=[c[1] for c in BAD_SENDS])
def test_unsendable_config_raises_before_sending(
    config: SessionConfig, field: str, words: tuple[str, ...]
) -> None:
    with pytest.raises(ConfigError) as info:
        config.to_session_update()
    assert info.value.field == field
    for word in words:
        assert word in str(info.value)


def test_live_session_refuses_model_tracing_and_late_voice_changes() -> None:
    base = SessionConfig(tracing="auto")
    with pytest.raises(ConfigError, match="model cannot change") as info:
        base.with_changes(model="gpt-realtime-mini").to_session_update(previous=base)
    assert info.value.param == "session.model"
    with pytest.raises(ConfigError, match="cannot be modified once enabled"):
        base.with_changes(tracing=None).to_session_update(previous=base)
    with pytest.raises(ConfigError) as voice:
        base.with_changes(voice="marin").to_session_update(previous=base, assistant_has_spoken=True)
    assert voice.value.code == "cannot_update_voice"
    assert voice.value.param == "session.audio.output.voice"
    # The same voice again is fine, and so is a voice change before the assistant spoke.
    assert base.to_session_update(previous=base, assistant_has_spoken=True)["session"] == {
        "type": "realtime"
    }
    assert base.with_changes(voice="marin").to_session_update(previous=base)["session"] == {
        "type": "realtime",
        "audio": {"output": {"voice": "marin"}},
    }


# Raw client payloads judged as OpenAI judges them (the local server's reader): OpenAI's code,
# param and wording.
BAD_PAYLOADS: list[tuple[dict[str, Any], str, str, str]] = [
    (
        {"temperature": 0.8},
        "unknown_parameter",
        "session.temperature",
        "Unknown parameter: 'session.temperature'.",
    ),
    (
        {"voice": "alloy"},
        "unknown_parameter",
        "session.voice",
        "Unknown parameter: 'session.voice'.",
    ),
    ({"modalities": ["text"]}, "unknown_parameter", "session.modalities", "Unknown parameter"),
    (
        {"audio": {"output": {"format": {"type": "audio/pcm"}}}},
        "missing_required_parameter",
        "session.audio.output.format.rate",
        "Missing required parameter: 'session.audio.output.format.rate'.",
    ),
    (
        {"audio": {"input": {"format": "pcm16"}}},
        "invalid_type",
        "session.audio.input.format",
        "must be an object",
    ),
    (
        {"audio": "loud"},
        "invalid_type",
        "session.audio",
        "Invalid type for 'session.audio': expected an object, but got a string instead.",
    ),
    (
        {"audio": {"output": {"speed": 2.0}}},
        "decimal_above_max_value",
        "session.audio.output.speed",
        "1.5",
    ),
    (
        {"audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 0.1 + 0.2}}}},
        "invalid_value",
        "session.audio.input.turn_detection.threshold",
        "more than 16 decimal places",
    ),
    (
        {"audio": {"input": {"turn_detection": {"threshold": 0.3}}}},
        "missing_required_parameter",
        "session.audio.input.turn_detection.type",
        "Missing required parameter",
    ),
    (
        {"audio": {"input": {"transcription": {"language": "en"}}}},
        "missing_required_parameter",
        "session.audio.input.transcription.model",
        "Missing required parameter",
    ),
    (
        {"output_modalities": ["text", "audio"]},
        "invalid_value",
        "session.output_modalities",
        "Invalid modalities: ['text', 'audio']. Supported combinations are: ['text'] and ['audio'].",
    ),
    ({"max_output_tokens": -1}, "invalid_value", "session.max_output_tokens", "4096"),
    ({"type": "conversation"}, "invalid_value", "session.type", "'realtime'"),
]


@pytest.mark.parametrize(
    ("payload", "code", "param", "words"), BAD_PAYLOADS, ids=[p[2] for p in BAD_PAYLOADS]
)
def test_raw_payload_judged_as_openai_does(
    payload: dict[str, Any], code: str, param: str, words: str
) -> None:
    with pytest.raises(ConfigError) as info:
        validate_session_payload({"type": "realtime", **payload})
    assert info.value.code == code
    assert info.value.param == param
    assert words in str(info.value)


def test_raw_payload_returns_only_what_it_sets() -> None:
    config = validate_session_payload(
        {"type": "realtime", "audio": {"output": {"voice": "marin", "speed": 1.2}}}
    )
    assert config.model_fields_set == {"voice", "speed"}
    assert (config.voice, config.speed) == ("marin", 1.2)


def test_a_failed_change_leaves_the_config_untouched() -> None:
    config = SessionConfig(voice="marin", speed=1.1)
    with pytest.raises(ConfigError):
        config.with_changes({"speed": 9, "voice": "cedar"})
    assert (config.voice, config.speed) == ("marin", 1.1)
