"""TranslationConfig: the single-source treatment for type=translation.

Wire encoding (an update without ``type`` or ``model``), the complete reported session, both
readers, errors naming the field and the allowed values, the model lock, export, the schema
snapshot, and conformance with the SDK's translation types (strict, no unknown keys).
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai.resources.realtime.translations.translations import AsyncTranslationsConnection
from openai.types.realtime import RealtimeTranslationSession

from realtime_widgets import ConfigError, SessionConfig
from realtime_widgets.protocol.export import to_code
from realtime_widgets.protocol.parts import NoiseReduction
from realtime_widgets.protocol.translation_config import (
    AUDIO_FORMAT,
    TranslationConfig,
    TranslationTranscription,
)
from realtime_widgets.protocol.wire import field_for_param, param_path

from .sdk_oracle import check_translation_server_event, check_translation_update, leftovers
from .test_export import RecordingSocket

SNAPSHOT = Path(__file__).parent.parent / "snapshots" / "translation_config.schema.json"

_LANGUAGES = st.sampled_from(["es", "fr", "de", "ja", "pt-BR", "zh", "en"])


@st.composite
def translation_config_data(draw: st.DrawFn) -> dict[str, Any]:
    """Some fields set (each maybe to None where None is allowed), as a user would pass them."""
    fields = {
        "model": st.sampled_from(["gpt-realtime-translate", "my-translate-2026"]),
        "output_language": st.one_of(st.none(), _LANGUAGES),
        "input_transcription": st.one_of(
            st.none(),
            st.sampled_from(["whisper-1", "gpt-4o-mini-transcribe"]),
            st.builds(lambda m: {"model": m}, st.sampled_from(["gpt-4o-transcribe", "w"])),
        ),
        "noise_reduction": st.one_of(
            st.none(),
            st.sampled_from(["near_field", "far_field"]),
            st.builds(
                lambda t, s: {"type": t, "strength": s},
                st.sampled_from(["near_field", "far_field"]),
                st.floats(0, 1, allow_nan=False),
            ),
        ),
    }
    chosen = draw(st.sets(st.sampled_from(sorted(fields))))
    return {name: draw(fields[name]) for name in sorted(chosen)}


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(translation_config_data())
def test_generated_configs_validate_against_the_sdk_update_request(data: dict) -> None:
    config = TranslationConfig(**data)
    wire = json.loads(json.dumps(config.to_session_update(event_id="evt_1")))
    check_translation_update(wire)
    # The update request is audio only: no type, no model (fixed at creation).
    assert set(wire["session"]) <= {"audio"}
    sent = config.model_fields_set - {"model"}
    back = TranslationConfig.from_session(wire["session"])
    assert back.model_fields_set == sent
    assert all(getattr(back, name) == getattr(config, name) for name in sent)
    # The strict reader (the local server's) accepts exactly what we send.
    assert TranslationConfig.from_update(wire["session"]) == back


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(translation_config_data(), translation_config_data())
def test_diff_between_two_configs_validates_and_applies(a: dict, b: dict) -> None:
    before = TranslationConfig(**a)
    after = before.with_changes({**b, "model": before.model})  # a session keeps its model
    event = after.to_session_update(previous=before)
    check_translation_update(json.loads(json.dumps(event)))
    sent = TranslationConfig.from_update(event["session"])
    assert sent.model_fields_set == set(after.diff(before))
    assert before.with_changes({k: getattr(sent, k) for k in sent.model_fields_set}) == after


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(translation_config_data())
def test_the_reported_session_is_the_sdks_complete_session(data: dict) -> None:
    config = TranslationConfig(**data)
    session = config.to_session(session_id="sess_abc", expires_at=1_800_000_000)
    assert session["type"] == "translation"
    assert (session["id"], session["expires_at"], session["model"]) == (
        "sess_abc",
        1_800_000_000,
        config.model,
    )
    parsed = RealtimeTranslationSession.model_validate(session, strict=True)
    assert leftovers(parsed) == []
    check_translation_server_event(
        {"type": "session.created", "event_id": "e1", "session": session}
    )
    assert TranslationConfig.from_session(session) == config


def test_a_reported_session_needs_both_its_id_and_expiry() -> None:
    with pytest.raises(ValueError, match="both session_id and expires_at"):
        TranslationConfig().to_session(session_id="sess_1")


def test_full_update_and_nulls_that_switch_off() -> None:
    config = TranslationConfig(
        output_language="fr",
        input_transcription="whisper-1",
        noise_reduction={"type": "far_field", "strength": 0.5},
    )
    assert config.input_transcription == TranslationTranscription(model="whisper-1")
    assert config.noise_reduction == NoiseReduction(type="far_field", strength=0.5)
    assert config.to_session_update()["session"] == {
        "audio": {
            "output": {"language": "fr"},
            "input": {
                "transcription": {"model": "whisper-1"},
                "noise_reduction": {"type": "far_field", "strength": 0.5},
            },
        }
    }
    off = config.with_changes(input_transcription=None, noise_reduction=None)
    update = off.to_session_update(previous=config)
    assert update == {
        "type": "session.update",
        "session": {"audio": {"input": {"transcription": None, "noise_reduction": None}}},
    }
    check_translation_update(update)
    # Nothing set: an empty update request (valid: every key of it is optional).
    assert TranslationConfig().to_session_update() == {"type": "session.update", "session": {}}
    check_translation_update(TranslationConfig().to_session_update())


def test_the_model_is_fixed_for_the_session() -> None:
    live = TranslationConfig(output_language="es")
    with pytest.raises(ConfigError) as caught:
        live.with_changes(model="another-model").to_session_update(previous=live)
    assert caught.value.field == "model"
    assert "connect a new session" in str(caught.value)
    assert live.locked_fields(live=True) == {
        "model": "model cannot change during a session: connect a new session"
    }
    assert "model" not in live.locked_fields(live=False)
    # A model set before connecting is for the URL, never in the update.
    assert TranslationConfig(model="gpt-realtime-translate").to_session_update()["session"] == {}
    with pytest.raises(ConfigError, match=r"session\.type cannot change") as caught:
        live.to_session_update(previous=SessionConfig())  # type: ignore[arg-type]
    assert caught.value.param == "session.type"


def test_the_audio_format_is_fixed_pcm16_at_24_khz() -> None:
    config = TranslationConfig()
    assert config.input_audio_format == config.output_audio_format == AUDIO_FORMAT
    assert (AUDIO_FORMAT.type, AUDIO_FORMAT.rate) == ("audio/pcm", 24000)
    assert "input_audio_format" not in TranslationConfig.model_fields  # never on the wire


def test_lenient_reader_ignores_identity_and_unknown_keys() -> None:
    session = {
        "id": "sess_1",
        "expires_at": 0,
        "type": "translation",
        "model": "gpt-realtime-translate",
        "object": "realtime.translation_session",
        "audio": {"output": {"language": "de", "voice": "new"}, "input": {"brand_new": 1}},
    }
    config = TranslationConfig.from_session(session)
    assert (config.model, config.output_language) == ("gpt-realtime-translate", "de")
    assert config.input_transcription is None


@pytest.mark.parametrize(
    ("payload", "field", "param", "fragment"),
    [
        ({"type": "translation"}, "(session.type)", "session.type", "Unknown parameter"),
        ({"model": "gpt-realtime-translate"}, "model", "session.model", "Unknown parameter"),
        ({"instructions": "x"}, "(session.instructions)", "session.instructions", "Unknown"),
        (
            {"audio": {"output": {"language": "Spanish"}}},
            "output_language",
            "session.audio.output.language",
            "ISO-639-1 language code such as 'es', 'fr'",
        ),
        (
            {"audio": {"output": {"voice": "marin"}}},
            "audio.output.voice",
            "session.audio.output.voice",
            "Unknown parameter: 'session.audio.output.voice'.",
        ),
        (
            {"audio": {"input": {"transcription": {"model": "whisper-1", "language": "en"}}}},
            "input_transcription.language",
            "session.audio.input.transcription.language",
            "allowed: model",
        ),
        (
            {"audio": {"input": {"transcription": {}}}},
            "input_transcription.model",
            "session.audio.input.transcription.model",
            "Missing required parameter",
        ),
        (
            {"audio": {"input": {"noise_reduction": "near_field"}}},
            "noise_reduction",
            "session.audio.input.noise_reduction",
            "object",
        ),
        (
            {"audio": {"input": {"noise_reduction": {"type": "loud"}}}},
            "noise_reduction.type",
            "session.audio.input.noise_reduction.type",
            "'near_field' or 'far_field'",
        ),
        (
            {"audio": {"input": {"noise_reduction": {"type": "near_field", "strength": 2}}}},
            "noise_reduction.strength",
            "session.audio.input.noise_reduction.strength",
            "1.0",
        ),
        (
            {"audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000}}}},
            "audio.input.format",
            "session.audio.input.format",
            "Unknown parameter",
        ),
    ],
)
def test_strict_reader_names_the_field_and_the_allowed_values(
    payload: dict, field: str, param: str, fragment: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        TranslationConfig.from_update(payload)
    problem = caught.value.problems[0]
    assert problem.field == field
    assert problem.param == param
    assert fragment in problem.message


def test_strict_reader_refuses_a_session_that_is_not_an_object() -> None:
    with pytest.raises(ConfigError) as caught:
        TranslationConfig.from_update(["audio"])  # type: ignore[arg-type]
    assert caught.value.code == "invalid_type"
    assert "expected an object, but got an array" in str(caught.value)


def test_python_errors_name_the_field_and_allowed_values() -> None:
    with pytest.raises(ConfigError) as caught:
        TranslationConfig(voice="marin")
    assert caught.value.field == "voice"
    assert "output_language, input_transcription, noise_reduction" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        TranslationConfig(noise_reduction={"type": "medium_field"})
    assert caught.value.field == "noise_reduction.type"
    assert "'near_field' or 'far_field'" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        TranslationConfig(output_language="english")
    assert caught.value.field == "output_language"
    assert "got 'english'" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        TranslationConfig().with_changes({"input_transcription.prompt": "x"})
    assert caught.value.field == "input_transcription.prompt"


def test_seed_shorthands_and_dotted_changes() -> None:
    config = TranslationConfig(noise_reduction="near_field", input_transcription="whisper-1")
    changed = config.with_changes({"noise_reduction.strength": 0.3, "output_language": "ja"})
    assert changed.get("noise_reduction.strength") == 0.3
    assert changed.diff(config) == ["output_language", "noise_reduction"]
    on = TranslationConfig().with_changes({"input_transcription.model": "gpt-4o-transcribe"})
    assert on.input_transcription == TranslationTranscription(model="gpt-4o-transcribe")


def test_param_paths_both_ways() -> None:
    assert param_path("output_language", cls=TranslationConfig) == "session.audio.output.language"
    assert (
        field_for_param("session.audio.input.noise_reduction.strength", TranslationConfig)
        == "noise_reduction.strength"
    )
    assert param_path("voice", cls=TranslationConfig) is None


def _run_exported(code: str) -> list[dict[str, Any]]:
    namespace: dict[str, Any] = {"__name__": "exported"}
    exec(compile(code, "<export>", "exec"), namespace)
    socket = RecordingSocket()

    async def go() -> None:
        await namespace["configure"](AsyncTranslationsConnection(socket))  # type: ignore[arg-type]

    asyncio.run(go())
    return [json.loads(s) for s in socket.sent]


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(translation_config_data())
def test_openai_python_export_sends_exactly_our_payload(data: dict) -> None:
    config = TranslationConfig(**data)
    code = to_code(config, "openai-python")
    assert "client.realtime.translations.connect(model=MODEL)" in code
    assert f"MODEL = {config.model!r}" in code
    assert _run_exported(code) == [config.to_session_update()]
    assert json.loads(to_code(config, "json")) == config.to_session_update()


@pytest.mark.parametrize("target", ["openai-agents", "psopenai", "openai-dotnet", "yaml"])
def test_export_to_a_tool_without_translation_sessions_is_a_clear_error(target: str) -> None:
    with pytest.raises(ConfigError) as caught:
        to_code(TranslationConfig(), target)
    assert caught.value.field == "target"
    assert "openai-python, json" in str(caught.value)
    assert f"got {target!r}" in str(caught.value)


def test_schema_matches_the_reviewed_snapshot() -> None:
    schema = TranslationConfig.json_schema()
    assert list(schema["properties"]) == [
        "model",
        "output_language",
        "input_transcription",
        "noise_reduction",
    ]
    assert schema["properties"]["model"]["x-mutable"] == "never"
    assert schema["properties"]["output_language"]["x-ga"] == "audio.output.language"
    current = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(current)
    assert SNAPSHOT.exists(), "no snapshot: run with UPDATE_SNAPSHOTS=1 and review it"
    assert current == SNAPSHOT.read_text(), (
        "TranslationConfig's schema changed; if intended, regenerate with UPDATE_SNAPSHOTS=1 "
        "and review the diff"
    )
