"""TranscriptionConfig: the same single-source treatment as SessionConfig, for type=transcription.

Wire encoding, both readers, errors naming the field, export, schema snapshot, and conformance
with the SDK's transcription session request type (strict, no unknown keys).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from realtime_widgets import ConfigError, SessionConfig
from realtime_widgets.protocol.export import to_code
from realtime_widgets.protocol.parts import PcmuFormat, SemanticVad, Transcription
from realtime_widgets.protocol.transcription_config import TranscriptionConfig
from realtime_widgets.protocol.wire import field_for_param, param_path, validate_session_payload

from .sdk_oracle import check_transcription_update
from .strategies import transcription_config_data
from .test_export import _run_openai_python

SNAPSHOT = Path(__file__).parent.parent / "snapshots" / "transcription_config.schema.json"
LOGPROBS = "item.input_audio_transcription.logprobs"


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(transcription_config_data())
def test_generated_configs_validate_against_the_sdk_transcription_request(data: dict) -> None:
    config = TranscriptionConfig(**data)
    wire = json.loads(json.dumps(config.to_session_update(event_id="evt_1")))
    check_transcription_update(wire)
    assert wire["session"]["type"] == "transcription"
    # Exactly the explicitly set fields are sent, and read back to the same values.
    back = TranscriptionConfig.from_session(wire["session"])
    assert back.model_fields_set == config.model_fields_set
    assert back == config
    # The strict reader (the local server's) accepts what we send.
    assert validate_session_payload(wire["session"], TranscriptionConfig) == config


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(transcription_config_data(), transcription_config_data())
def test_diff_between_two_configs_validates_and_applies(a: dict, b: dict) -> None:
    before = TranscriptionConfig(**a)
    after = before.with_changes(b)
    event = after.to_session_update(previous=before)
    check_transcription_update(json.loads(json.dumps(event)))
    sent = TranscriptionConfig.from_session(event["session"])
    assert sent.model_fields_set == set(after.diff(before))
    assert before.with_changes({k: getattr(sent, k) for k in sent.model_fields_set}) == after


def test_full_session_object_round_trips_and_nulls_switch_off() -> None:
    config = TranscriptionConfig(
        input_audio_format="g711_ulaw",
        noise_reduction="near_field",
        transcription={"model": "gpt-4o-transcribe", "language": "de", "prompt": "Fachbegriffe"},
        include=[LOGPROBS],
        turn_detection=SemanticVad(eagerness="low"),
    )
    session = config.to_session()
    assert session["type"] == "transcription"
    assert session["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert session["audio"]["input"]["transcription"]["language"] == "de"
    assert set(session) == {"type", "audio", "include"}
    assert TranscriptionConfig.from_session(session) == config
    assert config.logprobs
    off = config.with_changes(turn_detection=None, noise_reduction=None)
    update = off.to_session_update(previous=config)
    assert update["session"] == {
        "type": "transcription",
        "audio": {"input": {"noise_reduction": None, "turn_detection": None}},
    }
    check_transcription_update(update)


def test_seed_shorthands_and_dotted_changes() -> None:
    config = TranscriptionConfig(input_audio_format="pcm16", transcription="whisper-1")
    assert config.transcription == Transcription(model="whisper-1")
    changed = config.with_changes(
        {"turn_detection.silence_duration_ms": 800, "input_audio_format": "audio/pcmu"}
    )
    assert changed.get("turn_detection.silence_duration_ms") == 800
    assert changed.input_audio_format == PcmuFormat()
    assert changed.diff(config) == ["input_audio_format", "turn_detection"]


def test_lenient_reader_ignores_server_keys_and_unknown_ones() -> None:
    session = {
        "type": "transcription",
        "id": "sess_1",
        "object": "realtime.transcription_session",
        "expires_at": 0,
        "audio": {"input": {"transcription": {"model": "whisper-1"}, "brand_new": 1}},
        "include": None,
    }
    config = TranscriptionConfig.from_session(session)
    assert config.transcription == Transcription(model="whisper-1")
    assert config.include is None


@pytest.mark.parametrize(
    ("payload", "field", "param", "fragment"),
    [
        (
            {"audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 1.5}}}},
            "turn_detection.threshold",
            "session.audio.input.turn_detection.threshold",
            "between 0.0 and 1.0, got 1.5",
        ),
        (
            {"instructions": "Be brief."},
            "instructions",
            "session.instructions",
            "Unknown parameter: 'session.instructions'.",
        ),
        (
            {"audio": {"output": {"voice": "marin"}}},
            "audio.output",
            "session.audio.output",
            "Unknown parameter: 'session.audio.output'.",
        ),
        (
            {"audio": {"input": {"format": {"type": "audio/pcm"}}}},
            "input_audio_format.rate",
            "session.audio.input.format.rate",
            "Missing required parameter",
        ),
        (
            {"audio": {"input": {"transcription": {"model": "whisper-1", "delay": "soon"}}}},
            "transcription.delay",
            "session.audio.input.transcription.delay",
            "'minimal', 'low', 'medium', 'high' or 'xhigh'",
        ),
        (
            {"include": ["item.everything"]},
            "include[0]",
            "session.include[0]",
            "item.input_audio_transcription.logprobs",
        ),
        (
            {"audio": {"input": {"noise_reduction": "near_field"}}},
            "noise_reduction",
            "session.audio.input.noise_reduction",
            "object",
        ),
    ],
)
def test_strict_reader_names_the_field_and_the_allowed_values(
    payload: dict, field: str, param: str, fragment: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_session_payload({"type": "transcription", **payload}, TranscriptionConfig)
    problem = caught.value.problems[0]
    assert problem.field == field
    assert problem.param == param
    assert fragment in problem.message


def test_the_session_type_must_be_transcription() -> None:
    with pytest.raises(ConfigError) as caught:
        validate_session_payload({"type": "realtime"}, TranscriptionConfig)
    assert caught.value.problems[0].param == "session.type"
    with pytest.raises(ConfigError, match=r"session\.type cannot change") as caught:
        TranscriptionConfig().to_session_update(previous=SessionConfig())  # type: ignore[arg-type]
    assert "it is 'realtime', got 'transcription'" in str(caught.value)


def test_python_errors_name_the_field() -> None:
    with pytest.raises(ConfigError) as caught:
        TranscriptionConfig(turn_detection={"type": "semantic_vad", "threshold": 0.3})
    assert caught.value.field == "turn_detection.threshold"
    assert "semantic_vad" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        TranscriptionConfig(voice="marin")
    assert caught.value.field == "voice"
    assert "input_audio_format" in str(caught.value)  # the allowed parameters are listed


def test_param_paths_both_ways() -> None:
    assert (
        param_path("transcription.language", cls=TranscriptionConfig)
        == "session.audio.input.transcription.language"
    )
    assert (
        field_for_param("session.audio.input.turn_detection.eagerness", TranscriptionConfig)
        == "turn_detection.eagerness"
    )
    assert param_path("voice", cls=TranscriptionConfig) is None


def test_openai_python_export_sends_exactly_our_payload() -> None:
    config = TranscriptionConfig(transcription="gpt-4o-transcribe", include=[LOGPROBS])
    code = to_code(config, "openai-python")
    assert 'extra_query={"intent": "transcription"}' in code
    assert _run_openai_python(code) == [config.to_session_update()]
    assert json.loads(to_code(config, "json")) == config.to_session_update()


def test_export_to_a_tool_without_transcription_sessions_is_a_clear_error() -> None:
    with pytest.raises(ConfigError) as caught:
        to_code(TranscriptionConfig(), "openai-agents")
    assert caught.value.field == "target"
    assert "openai-python, json" in str(caught.value)


def test_schema_matches_the_reviewed_snapshot() -> None:
    schema = TranscriptionConfig.json_schema()
    assert set(schema["properties"]) == {
        "input_audio_format",
        "noise_reduction",
        "transcription",
        "include",
        "turn_detection",
    }
    assert schema["properties"]["transcription"]["x-ga"] == "audio.input.transcription"
    current = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(current)
    assert SNAPSHOT.exists(), "no snapshot: run with UPDATE_SNAPSHOTS=1 and review it"
    assert current == SNAPSHOT.read_text(), (
        "TranscriptionConfig's schema changed; if intended, regenerate with UPDATE_SNAPSHOTS=1 "
        "and review the diff"
    )
