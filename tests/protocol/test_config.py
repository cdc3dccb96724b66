"""SessionConfig: defaults, minimal diffs, round trips, seed-style input, the beta dialect."""

from __future__ import annotations

import json
from typing import get_args

import pytest
from hypothesis import HealthCheck, given, settings

from realtime_widgets import (
    ConfigError,
    ConfigNote,
    CustomVoice,
    PcmuFormat,
    SemanticVad,
    ServerVad,
    SessionConfig,
    Transcription,
)
from realtime_widgets.protocol.config import GROUPS
from realtime_widgets.protocol.seeds import from_psopenai

from .strategies import configs


def test_defaults_are_openais_documented_defaults() -> None:
    c = SessionConfig()
    assert c.output_modalities == ["audio"]
    assert c.speed == 1.0
    assert c.input_audio_format.type == "audio/pcm"
    assert c.input_audio_format.rate == 24000
    assert c.noise_reduction is None
    assert c.transcription is None
    assert isinstance(c.turn_detection, ServerVad)
    assert (c.turn_detection.threshold, c.turn_detection.prefix_padding_ms) == (0.5, 300)
    assert c.turn_detection.silence_duration_ms == 500
    assert c.turn_detection.idle_timeout_ms is None
    assert c.tools == []
    assert c.tool_choice == "auto"
    assert c.max_output_tokens == "inf"
    assert c.tracing is None
    assert c.truncation == "auto"
    assert c.temperature is None


def test_nothing_set_sends_only_the_session_type() -> None:
    assert SessionConfig().to_session_update() == {
        "type": "session.update",
        "session": {"type": "realtime"},
    }


def test_set_fields_land_on_their_ga_paths() -> None:
    c = SessionConfig(
        voice="marin",
        speed=1.2,
        output_modalities=["text"],
        input_audio_format="g711_ulaw",
        noise_reduction="far_field",
        transcription=Transcription(model="whisper-1", language="en"),
        turn_detection=SemanticVad(eagerness="high"),
        max_output_tokens=512,
        instructions="Be brief.",
    )
    assert c.to_session_update(event_id="evt_7") == {
        "type": "session.update",
        "event_id": "evt_7",
        "session": {
            "type": "realtime",
            "output_modalities": ["text"],
            "audio": {
                "output": {"voice": "marin", "speed": 1.2},
                "input": {
                    "format": {"type": "audio/pcmu"},
                    "noise_reduction": {"type": "far_field"},
                    "transcription": {"model": "whisper-1", "language": "en"},
                    "turn_detection": {
                        "type": "semantic_vad",
                        "eagerness": "high",
                        "create_response": True,
                        "interrupt_response": True,
                    },
                },
            },
            "instructions": "Be brief.",
            "max_output_tokens": 512,
        },
    }


def test_a_slider_move_sends_only_that_section_whole() -> None:
    before = SessionConfig(voice="marin", turn_detection=ServerVad(silence_duration_ms=700))
    after = before.with_changes({"turn_detection.threshold": 0.1 + 0.2})
    assert after.turn_detection.threshold == 0.3  # rounded: sendable
    assert after.to_session_update(previous=before)["session"] == {
        "type": "realtime",
        "audio": {
            "input": {
                "turn_detection": {
                    "type": "server_vad",
                    "threshold": 0.3,
                    "prefix_padding_ms": 300,
                    "silence_duration_ms": 700,
                    "create_response": True,
                    "interrupt_response": True,
                }
            }
        },
    }


def test_dotted_changes_start_sections_and_switch_variants() -> None:
    off = SessionConfig(turn_detection=None, transcription=None)
    on = off.with_changes({"turn_detection.silence_duration_ms": 800})
    assert on.turn_detection == ServerVad(silence_duration_ms=800)
    semantic = on.with_changes({"turn_detection.type": "semantic_vad"})
    assert semantic.turn_detection == SemanticVad()
    eager = off.with_changes({"turn_detection.eagerness": "low"})
    assert eager.turn_detection == SemanticVad(eagerness="low")
    assert off.with_changes({"transcription.language": "de"}).transcription == Transcription(
        language="de"
    )
    with pytest.raises(ConfigError, match="turn_detection has no field 'loudness'"):
        off.with_changes({"turn_detection.loudness": 3})
    with pytest.raises(ConfigError, match="unknown parameter"):
        off.with_changes({"volume": 3})


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(configs)
def test_round_trip_through_the_wire_is_identity(config: SessionConfig) -> None:
    ga = config.to_session()
    assert SessionConfig.from_session(json.loads(json.dumps(ga))) == config
    sent = config.to_session_update()["session"]
    assert SessionConfig.from_session(sent) == SessionConfig(
        **{k: getattr(config, k) for k in config.model_fields_set if k != "temperature"}
    )


def test_lenient_reader_ignores_server_only_and_future_keys() -> None:
    report = SessionConfig(voice="cedar").to_session()
    report.update({"id": "sess_1", "object": "realtime.session", "expires_at": 123, "new": 1})
    report["audio"]["input"]["turn_detection"]["future_knob"] = 3
    parsed = SessionConfig.from_session(report)
    assert parsed.voice == "cedar"
    assert parsed == SessionConfig(voice="cedar")


def test_seed_spellings_are_accepted() -> None:
    note = r"output_modalities: \['text', 'audio'\] \(the beta combination\) is sent as \['audio'\]"
    with pytest.warns(ConfigNote, match=note):
        c = SessionConfig(
            input_audio_format="pcm16",
            output_audio_format="g711_alaw",
            max_output_tokens=-1,
            noise_reduction="none",
            output_modalities=["text", "audio"],
            voice="voice_abc123",
            reasoning="low",
            transcription="gpt-4o-transcribe",
            tool_choice="lookup",
            tools=[{"type": "function", "name": "lookup"}],
        )
    assert c.input_audio_format.rate == 24000
    assert c.output_audio_format.type == "audio/pcma"
    assert c.max_output_tokens == "inf"
    assert c.noise_reduction is None
    assert c.output_modalities == ["audio"]  # beta's text+audio is GA's audio (+ transcript)
    assert c.voice == CustomVoice(id="voice_abc123")
    assert c.reasoning is not None
    assert c.reasoning.effort == "low"
    assert c.transcription == Transcription(model="gpt-4o-transcribe")
    assert c.to_session_update()["session"]["tool_choice"] == {"type": "function", "name": "lookup"}


def test_psopenai_names_build_the_config_and_enable_really_attaches() -> None:
    c = from_psopenai(
        Voice="marin",
        Modalities=["audio"],
        InputAudioFormat="pcm16",
        InputAudioNoiseReductionType="near_field",
        EnableInputAudioTranscription=True,
        InputAudioTranscriptionLanguage="en",
        EnableTurnDetection=True,
        TurnDetectionThreshold=0.7,
        TurnDetectionSilenceDuration=600,
        CreateResponseOnTurnEnd=False,
        MaxOutputTokens=-1,
        Tracing="auto",
        TracingWorkflowName="demo",
        ToolChoice="none",
    )
    session = c.to_session_update()["session"]
    td = session["audio"]["input"]["turn_detection"]
    assert td["type"] == "server_vad"
    assert (td["threshold"], td["silence_duration_ms"], td["create_response"]) == (0.7, 600, False)
    assert session["audio"]["input"]["transcription"] == {"model": "whisper-1", "language": "en"}
    assert session["tracing"] == {"workflow_name": "demo"}
    assert session["max_output_tokens"] == "inf"
    off = from_psopenai(EnableTurnDetection=False, enableinputaudiotranscription=False)
    assert off.to_session_update()["session"]["audio"]["input"] == {
        "turn_detection": None,
        "transcription": None,
    }
    with pytest.raises(ConfigError, match="not a Set-RealtimeSessionConfiguration parameter"):
        from_psopenai(Volume=3)
    with pytest.raises(ConfigError, match="event_id="):
        from_psopenai(EventId="e1")


def test_beta_dialect_for_legacy_servers() -> None:
    c = SessionConfig(
        voice="ash",
        input_audio_format="g711_ulaw",
        temperature=0.9,
        max_output_tokens=300,
        noise_reduction=None,
    )
    event = c.to_session_update(dialect="beta")
    assert event["session"] == {
        "voice": "ash",
        "input_audio_format": "g711_ulaw",
        "input_audio_noise_reduction": None,
        "max_response_output_tokens": 300,
        "temperature": 0.9,
    }
    beta_report = {
        "modalities": ["text", "audio"],
        "voice": "ash",
        "input_audio_format": "pcm16",
        "output_audio_format": "g711_alaw",
        "temperature": 0.9,
        "max_response_output_tokens": "inf",
        "turn_detection": {"type": "server_vad", "threshold": 0.4},
    }
    parsed = SessionConfig.from_session(beta_report)
    assert parsed.output_modalities == ["audio"]
    assert parsed.output_audio_format.type == "audio/pcma"
    assert parsed.temperature == 0.9
    assert isinstance(parsed.turn_detection, ServerVad)
    assert parsed.turn_detection.threshold == 0.4
    with pytest.raises(ConfigError, match="truncation exists only in the GA dialect"):
        SessionConfig(truncation="disabled").to_session_update(dialect="beta")
    with pytest.raises(ConfigError, match="custom voice"):
        SessionConfig(voice={"id": "voice_x1"}).to_session_update(dialect="beta")


def test_every_field_has_one_param_with_a_known_group() -> None:
    params = SessionConfig.params()
    assert list(params) == list(SessionConfig.model_fields)
    assert {p.group for p in params.values()} <= set(GROUPS)
    assert params["voice"].mutable == "until_assistant_audio"
    assert params["tracing"].mutable == "frozen_once_set"
    assert params["model"].mutable == "never"
    assert params["temperature"].ga is None
    assert params["temperature"].beta == "temperature"
    # Every field has a description, so every control gets a tooltip.
    assert all(f.description for f in SessionConfig.model_fields.values())


def test_config_is_immutable_and_get_reads_dotted_paths() -> None:
    c = SessionConfig(output_audio_format=PcmuFormat())
    with pytest.raises(Exception, match="frozen"):
        c.speed = 1.3  # type: ignore[misc]
    assert c.get("turn_detection.threshold") == 0.5
    assert c.get("output_audio_format.type") == "audio/pcmu"
    with pytest.raises(ConfigError, match="no such parameter"):
        c.get("turn_detection.nope")


def test_mcp_secrets_stay_out_of_repr() -> None:
    c = SessionConfig(
        tools=[
            {
                "type": "mcp",
                "server_label": "srv",
                "server_url": "https://x.example",
                "authorization": "sk-secret-token",
                "headers": {"X-Key": "hidden-value"},
            }
        ]
    )
    assert "sk-secret-token" not in repr(c)
    assert "hidden-value" not in repr(c)


def _schema(levels: int) -> dict[str, object]:
    """An object schema whose JSON nests ``levels`` objects (itself is level 1)."""
    node: dict[str, object] = {"type": "string"}
    for _ in range(levels - 1):
        node = {"type": "array", "items": node}
    return {**node, "type": "object"}


def test_a_tool_schema_deeper_than_an_event_may_carry_is_refused_when_the_config_is_built() -> None:
    from realtime_widgets.protocol.events import MAX_JSON_DEPTH, load_json
    from realtime_widgets.protocol.parts import MAX_VALUE_DEPTH

    deepest = SessionConfig(tools=[{"type": "function", "name": "f", "parameters": _schema(124)}])
    assert MAX_VALUE_DEPTH == 124
    # The deepest schema allowed still fits a session.update the local server accepts.
    load_json(json.dumps(deepest.to_session_update()), max_depth=MAX_JSON_DEPTH)
    for levels in (125, 400, 990):
        with pytest.raises(ConfigError) as info:
            SessionConfig(tools=[{"type": "function", "name": "f", "parameters": _schema(levels)}])
        assert info.value.field == "tools[0].parameters"
        assert "at most 124" in str(info.value)
    with pytest.raises(ConfigError) as info:
        SessionConfig(tracing={"metadata": {"a": _schema(200)}})
    assert info.value.field == "tracing.metadata"


def test_every_free_form_object_in_a_config_is_depth_bounded() -> None:
    from realtime_widgets.protocol.introspect import models_in
    from realtime_widgets.protocol.parts import JsonObject

    bound = JsonObject.__metadata__[0]  # type: ignore[attr-defined]
    seen: set[type] = set()
    todo = [m for info in SessionConfig.model_fields.values() for m in models_in(info.annotation)]
    free_form = []
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            todo.extend(models_in(info.annotation))
            if "Any" in str(info.annotation):
                arms = [info.annotation, *get_args(info.annotation)]
                bounded = bound in info.metadata or any(
                    bound in getattr(a, "__metadata__", ()) for a in arms
                )
                assert bounded, f"{model.__name__}.{name} is not a JsonObject"
                free_form.append(name)
    assert sorted(free_form) == ["metadata", "parameters"]
