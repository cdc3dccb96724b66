"""locked_fields: which fields are locked for a config and a session's state, and why."""

from __future__ import annotations

import pytest

from realtime_widgets.errors import ConfigError
from realtime_widgets.protocol import SessionConfig, locked_fields
from realtime_widgets.protocol.rules import variant_fields
from realtime_widgets.protocol.wire import check_transition

SERVER_VAD_ONLY = ("threshold", "prefix_padding_ms", "silence_duration_ms", "idle_timeout_ms")


def test_a_fresh_ga_config_locks_only_temperature_and_the_other_vad_variant() -> None:
    locks = locked_fields(SessionConfig())
    assert locks == {
        "temperature": "beta dialect only: the GA API has no temperature",
        "turn_detection.eagerness": "only for semantic_vad",
    }


def test_each_lock_has_its_reason() -> None:
    config = SessionConfig(tracing="auto", voice="marin", model="gpt-realtime-mini")
    locks = locked_fields(config, live=True, assistant_has_spoken=True)
    assert locks == {
        "model": "model cannot change during a session: connect a new session",
        "tracing": "tracing cannot be modified once enabled",
        "voice": "voice cannot change once the assistant has spoken",
        "temperature": "beta dialect only: the GA API has no temperature",
        "turn_detection.eagerness": "only for semantic_vad",
    }


def test_each_lock_needs_its_condition() -> None:
    config = SessionConfig(tracing="auto")
    # Not live: the model and tracing are free (a new session will take them).
    assert "model" not in locked_fields(config, assistant_has_spoken=True)
    assert "tracing" not in locked_fields(config)
    # Live but tracing never set: free until it is.
    assert "tracing" not in locked_fields(SessionConfig(), live=True)
    # The voice is free until assistant audio exists, live or not.
    assert "voice" not in locked_fields(config, live=True)
    assert "voice" in locked_fields(config, assistant_has_spoken=True)


def test_tracing_is_frozen_whatever_its_value() -> None:
    config = SessionConfig(tracing={"workflow_name": "w"}, voice={"id": "voice_123"})
    locks = locked_fields(config, live=True, assistant_has_spoken=True)
    assert locks["tracing"] == "tracing cannot be modified once enabled"
    assert locks["voice"] == "voice cannot change once the assistant has spoken"


def test_the_other_vad_variants_fields_are_locked() -> None:
    semantic = locked_fields(SessionConfig(turn_detection={"type": "semantic_vad"}))
    for name in SERVER_VAD_ONLY:
        assert semantic[f"turn_detection.{name}"] == "only for server_vad"
    assert "turn_detection.eagerness" not in semantic
    # Fields both variants have are never locked; with turn detection off, none are.
    assert "turn_detection.create_response" not in semantic
    off = locked_fields(SessionConfig(turn_detection=None))
    assert not [k for k in off if k.startswith("turn_detection")]


def test_variant_fields_come_from_the_models() -> None:
    assert variant_fields("turn_detection") == {
        **{f"turn_detection.{n}": ["server_vad"] for n in SERVER_VAD_ONLY},
        "turn_detection.eagerness": ["semantic_vad"],
    }
    assert variant_fields("input_audio_format") == {"input_audio_format.rate": ["audio/pcm"]}
    assert (
        locked_fields(SessionConfig(input_audio_format="g711_ulaw"))["input_audio_format.rate"]
        == "only for audio/pcm"
    )
    assert variant_fields("voice") == {}
    assert variant_fields("tool_choice") == {}  # modes and objects: no variant fields to lock


def test_the_beta_dialect_locks_what_it_lacks() -> None:
    locks = locked_fields(SessionConfig(), dialect="beta")
    for name in ("include", "parallel_tool_calls", "truncation", "reasoning", "prompt", "model"):
        assert locks[name] == f"GA dialect only: the beta API has no {name}"
    assert "temperature" not in locks
    # While live, the model's own rule is the reason.
    assert locked_fields(SessionConfig(), live=True, dialect="beta")["model"].startswith(
        "model cannot change during a session"
    )


def test_check_transition_refuses_exactly_the_locked_changes() -> None:
    base = SessionConfig(tracing="auto")
    with pytest.raises(ConfigError) as model:
        check_transition(base, base.with_changes(model="gpt-realtime-mini"))
    assert model.value.problems[0].message == locked_fields(base, live=True)["model"]
    assert model.value.param == "session.model"
    with pytest.raises(ConfigError) as voice:
        check_transition(base, base.with_changes(voice="cedar"), assistant_has_spoken=True)
    assert voice.value.code == "cannot_update_voice"
    assert voice.value.problems[0].message == "voice cannot change once the assistant has spoken"
    with pytest.raises(ConfigError) as tracing:
        check_transition(base, base.with_changes(tracing=None))
    assert tracing.value.code == "invalid_value"
    assert tracing.value.param == "session.tracing"
    # Locked fields left as they are, and unlocked ones changed, pass.
    check_transition(base, base.with_changes(voice="cedar", instructions="x"))
    check_transition(base, base, assistant_has_spoken=True)
    # A variant switch is a change of turn_detection, which is not locked.
    check_transition(base, base.with_changes(turn_detection={"type": "semantic_vad"}))
