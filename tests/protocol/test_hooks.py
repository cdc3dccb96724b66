"""The rules beyond the field types are hooks of ConfigModel; the wire works for any config.

``check_rules``, ``locked_fields`` and ``check_transition`` live on the config; the wire's
``session_update`` calls them, so a new session config that overrides a hook is checked by the
same code path as SessionConfig, without a line of wire.py knowing it.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import pytest
from pydantic import ConfigDict, Field

from realtime_widgets import ConfigError, SessionConfig, TranscriptionConfig
from realtime_widgets.protocol import rules, wire
from realtime_widgets.protocol.configbase import ConfigModel, Dialect, Param, config_class
from realtime_widgets.protocol.live_config import LiveConfig
from realtime_widgets.protocol.live_parts import ClientDelegation
from realtime_widgets.protocol.parts import NoiseReduction
from realtime_widgets.protocol.translation_config import TranslationConfig


class Toy(ConfigModel):
    """A session config the wire has never heard of."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=False)
    SESSION_TYPE: ClassVar[str] = "toy-for-tests"

    name: Annotated[str, Param("name", None, "Toy", mutable="never")] = Field("a")
    low: Annotated[int, Param("limits.low", "low", "Toy")] = Field(0)
    high: Annotated[int, Param("limits.high", "high", "Toy")] = Field(10)

    def check_rules(self, dialect: Dialect = "ga") -> None:
        if self.low > self.high:
            raise ConfigError.single("low", f"low must not exceed high ({self.high})")

    def locked_fields(
        self, *, live: bool = False, assistant_has_spoken: bool = False, dialect: Dialect = "ga"
    ) -> dict[str, str]:
        locks = super().locked_fields(
            live=live, assistant_has_spoken=assistant_has_spoken, dialect=dialect
        )
        if live and self.high == 99:
            locks["high"] = "high stays at 99 once live"
        return locks


def test_the_wire_encodes_and_reads_a_new_config() -> None:
    toy = Toy(low=2)
    event = wire.session_update(toy, None)
    assert event == {
        "type": "session.update",
        "session": {"type": "toy-for-tests", "limits": {"low": 2}},
    }
    session = wire.encode_session(toy, list(Toy.model_fields))
    assert session == {"type": "toy-for-tests", "name": "a", "limits": {"low": 2, "high": 10}}
    assert wire.decode_session(Toy, session) == toy
    assert wire.validate_session_payload(
        {"type": "toy-for-tests", "limits": {"high": 3}}, Toy
    ) == Toy(high=3)
    assert Toy.param_path("high") == "session.limits.high"
    assert Toy.field_for_param("session.limits.low") == "low"
    assert config_class("toy-for-tests") is Toy


def test_session_update_calls_the_configs_hooks() -> None:
    with pytest.raises(ConfigError, match="low must not exceed high"):
        wire.session_update(Toy(low=11), None)
    base = Toy(high=99)
    with pytest.raises(ConfigError) as locked:
        wire.session_update(base.with_changes(high=98), base)
    assert [(p.field, p.message, p.param) for p in locked.value.problems] == [
        ("high", "high stays at 99 once live", "session.limits.high")
    ]
    with pytest.raises(ConfigError) as never:  # the base rules, from the Params
        wire.session_update(Toy().with_changes(name="b"), Toy())
    assert (
        never.value.problems[0].message
        == "name cannot change during a session: connect a new session"
    )
    assert wire.session_update(Toy().with_changes(low=1), Toy())["session"] == {
        "type": "toy-for-tests",
        "limits": {"low": 1},
    }


def test_session_configs_rules_are_its_hook() -> None:
    forced = SessionConfig(tool_choice={"type": "function", "name": "missing"})
    with pytest.raises(ConfigError) as hook:
        forced.check_rules()
    with pytest.raises(ConfigError) as via_wire:
        wire.check_rules(forced)
    with pytest.raises(ConfigError) as sent:
        forced.to_session_update()
    assert hook.value.problems == via_wire.value.problems == sent.value.problems
    assert hook.value.problems[0].param == "session.tool_choice.name"
    with pytest.raises(ConfigError, match="temperature exists only in the beta dialect"):
        SessionConfig(temperature=0.8).check_rules("ga")
    SessionConfig(temperature=0.8).check_rules("beta")  # beta has a temperature


def test_locked_fields_is_the_configs_hook() -> None:
    config = SessionConfig(tracing="auto")
    expected = config.locked_fields(live=True, assistant_has_spoken=True)
    assert rules.locked_fields(config, live=True, assistant_has_spoken=True) == expected
    assert set(expected) >= {"model", "tracing", "voice", "temperature"}
    assert rules.variant_fields("turn_detection") == SessionConfig.variant_fields("turn_detection")
    # the transition check refuses exactly what the previous config locks
    with pytest.raises(ConfigError) as refused:
        config.with_changes(voice="cedar").check_transition(config, assistant_has_spoken=True)
    assert refused.value.problems[0].message == expected["voice"]
    assert refused.value.problems[0].code == "cannot_update_voice"


def test_a_transcription_config_has_no_rules_and_no_locks() -> None:
    config = TranscriptionConfig()
    config.check_rules()
    assert {
        k for k in config.locked_fields(live=True, assistant_has_spoken=True) if "." not in k
    } == set()
    changed = config.with_changes({"transcription.model": "whisper-1", "turn_detection": None})
    changed.check_transition(config, assistant_has_spoken=True)
    assert changed.to_session_update(previous=config)["session"]["audio"]["input"] == {
        "transcription": {"model": "whisper-1"},
        "turn_detection": None,
    }


def test_the_wire_defaults_to_the_realtime_config() -> None:
    assert config_class("realtime") is SessionConfig
    assert config_class("transcription") is TranscriptionConfig
    assert wire.param_path("turn_detection.threshold") == (
        "session.audio.input.turn_detection.threshold"
    )
    assert wire.field_for_param("session.audio.output.voice") == "voice"
    assert type(wire.validate_session_payload({"type": "realtime"})) is SessionConfig
    with pytest.raises(
        ConfigError, match="Passing a realtime session update event to a transcription"
    ):
        wire.validate_session_payload({"type": "realtime"}, TranscriptionConfig)


# ---- the update merge: what an update's omission preserves ------------------------------------

_NEAR = {"type": "near_field", "strength": 0.5}


@pytest.mark.parametrize(
    ("config", "update"),
    [
        (
            SessionConfig(noise_reduction=_NEAR),
            {"type": "realtime", "audio": {"input": {"noise_reduction": {"type": "far_field"}}}},
        ),
        (
            TranscriptionConfig(noise_reduction=_NEAR),
            {
                "type": "transcription",
                "audio": {"input": {"noise_reduction": {"type": "far_field"}}},
            },
        ),
    ],
)
def test_every_config_merges_an_update_keeping_what_its_omission_preserves(
    config: SessionConfig | TranscriptionConfig, update: dict[str, Any]
) -> None:
    """One merge rule for every kind (ConfigModel.updated_by): the fields an update carries
    replace the config's, and a part's field the SDK says omission preserves
    (NoiseReduction.strength) keeps its value when the update's part leaves it out."""
    merged = config.updated_by(wire.validate_session_payload(update, type(config)))
    assert merged.noise_reduction == NoiseReduction(type="far_field", strength=0.5)
    off = config.updated_by(wire.validate_session_payload({**update, "audio": {}}, type(config)))
    assert off.noise_reduction == config.noise_reduction  # (audio without it: unchanged)


def test_the_translation_and_live_configs_merge_by_the_same_rule() -> None:
    translation = TranslationConfig(noise_reduction=_NEAR, output_language="es")
    far = {"audio": {"input": {"noise_reduction": {"type": "far_field"}}}}
    merged = translation.updated_by(TranslationConfig.from_update(far))
    assert merged.noise_reduction == NoiseReduction(type="far_field", strength=0.5)
    assert merged.output_language == "es"
    stronger = {"audio": {"input": {"noise_reduction": {"type": "far_field", "strength": 0.8}}}}
    assert translation.updated_by(TranslationConfig.from_update(stronger)).noise_reduction == (
        NoiseReduction(type="far_field", strength=0.8)
    )
    # Nothing to keep when the session had none: the update's part as it came.
    plain = TranslationConfig().updated_by(TranslationConfig.from_update(far))
    assert plain.noise_reduction == NoiseReduction(type="far_field")
    live = LiveConfig(delegation={"type": "client", "acknowledgement_delay_ms": 250})
    kept = live.updated_by(LiveConfig.validate_update_payload({"delegation": {"type": "client"}}))
    assert kept.delegation == ClientDelegation(acknowledgement_delay_ms=250)
    changed = live.updated_by(
        LiveConfig.validate_update_payload(
            {"delegation": {"type": "client", "acknowledgement_delay_ms": 0}}
        )
    )
    assert changed.delegation == ClientDelegation(acknowledgement_delay_ms=0)
    assert {"strength"} == NoiseReduction.KEPT_WHEN_OMITTED
    assert {"acknowledgement_delay_ms"} == ClientDelegation.KEPT_WHEN_OMITTED
