"""Presets: JSON files and share strings round-trip every config; bad input names the field."""

from __future__ import annotations

import base64
import json
import re
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from realtime_widgets import ConfigError, SessionConfig
from realtime_widgets.protocol.parts import PcmuFormat, ServerVad
from realtime_widgets.protocol.presets import (
    BUILTIN_PRESETS,
    MAX_PRESET_BYTES,
    SHARE_PREFIX,
    Preset,
    load,
    load_file,
    save_file,
    to_json,
    to_share_string,
)
from tests.protocol.sdk_oracle import check_session_update
from tests.protocol.strategies import configs


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(configs)
def test_every_config_round_trips_through_json_and_the_share_string(
    config: SessionConfig,
) -> None:
    assert load(to_json(config, "x")).config == config
    share = to_share_string(config, "x")
    assert re.fullmatch(r"rw1\.[A-Za-z0-9_-]+", share), share  # URL-safe, no padding
    assert load(share).config == config
    assert load(share).name == "x"


def test_a_preset_stores_only_what_differs_from_the_defaults() -> None:
    config = SessionConfig(voice="marin", turn_detection=None)
    data = json.loads(to_json(config, "mine", "a note"))
    assert data == {
        "format": "realtime_widgets.preset",
        "version": 1,
        "name": "mine",
        "description": "a note",
        "config": {"voice": "marin", "turn_detection": None},
    }
    assert json.loads(to_json(SessionConfig()))["config"] == {}
    assert Preset.from_config(config, "mine").config == config


def test_files_save_and_load(tmp_path: Path) -> None:
    config = SessionConfig(speed=1.25, instructions="Be brief.")
    path = save_file(config, tmp_path / "brief.json", description="short answers")
    preset = load_file(path)
    assert (preset.name, preset.description, preset.config) == ("brief", "short answers", config)
    big = tmp_path / "big.json"
    big.write_text(" " * (MAX_PRESET_BYTES + 1))
    with pytest.raises(ConfigError, match="at most"):
        load_file(big)


def _pack(data: object) -> str:
    raw = json.dumps(data).encode()
    return SHARE_PREFIX + base64.urlsafe_b64encode(zlib.compress(raw)).rstrip(b"=").decode()


def _envelope(**over: object) -> dict[str, object]:
    return {"format": "realtime_widgets.preset", "version": 1, "name": "n", "config": {}, **over}


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        (json.dumps(_envelope(version=2)), "version", "version must be 1"),
        (json.dumps(_envelope(version=True)), "version", "version must be 1"),
        ("rw2.abc", "version", "share string version '2' is not supported"),
        (json.dumps(_envelope(format="other")), "format", "format must be"),
        (json.dumps(_envelope(colour="red")), "colour", "unknown key in a preset"),
        (json.dumps(_envelope(name=3)), "name", "name must be a string"),
        (json.dumps(_envelope(config=[1])), "config", "config must be a JSON object"),
        (
            json.dumps(_envelope(config={"speed": 3})),
            "config.speed",
            "speed must be between 0.25 and 1.5",
        ),
        (
            _pack(_envelope(config={"voice": "robot"})),
            "config.voice",
            "Supported values are: 'alloy'",
        ),
        (json.dumps(_envelope(config={"volume": 3})), "config.volume", "not a parameter"),
        ("{not json", "preset", "not valid JSON"),
        ("[1, 2]", "preset", "a preset is a JSON object, got list"),
        ("hello", "preset", "not a preset"),
        ("rw1.***", "preset", "not URL-safe base64"),
        ("rw1.AAAA", "preset", "does not inflate"),
        (SHARE_PREFIX + "eJyLNtQxigUAA9UBSA", "preset", "a preset is a JSON object"),
    ],
)
def test_bad_presets_are_refused_naming_the_field(text: str, field: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(text)
    assert info.value.field == field
    assert words in str(info.value)


def test_a_share_string_that_inflates_past_the_cap_is_refused() -> None:
    bomb = base64.urlsafe_b64encode(zlib.compress(b" " * (MAX_PRESET_BYTES * 4))).decode()
    with pytest.raises(ConfigError, match="at most") as info:
        load(SHARE_PREFIX + bomb.rstrip("="))
    assert info.value.field == "preset"


def test_builtin_presets_are_what_they_say() -> None:
    assert set(BUILTIN_PRESETS) == {
        "phone call (G.711)",
        "push-to-talk",
        "low-latency interruptions",
        "text only",
    }
    phone = BUILTIN_PRESETS["phone call (G.711)"].config
    assert phone.input_audio_format == PcmuFormat()
    assert phone.output_audio_format == PcmuFormat()
    assert BUILTIN_PRESETS["push-to-talk"].config.turn_detection is None
    fast = BUILTIN_PRESETS["low-latency interruptions"].config.turn_detection
    assert isinstance(fast, ServerVad)
    assert fast.silence_duration_ms < ServerVad().silence_duration_ms
    assert fast.interrupt_response
    text = BUILTIN_PRESETS["text only"].config
    assert text.output_modalities == ["text"]
    # Applied over other settings, a preset changes only its own fields.
    base = SessionConfig(voice="cedar", instructions="Hi.")
    applied = BUILTIN_PRESETS["text only"].apply(base)
    assert set(applied.diff(base)) == {"output_modalities", "turn_detection"}


@pytest.mark.parametrize("name", sorted(BUILTIN_PRESETS))
def test_each_builtin_preset_validates_against_the_sdk(name: str) -> None:
    config = BUILTIN_PRESETS[name].config
    check_session_update(config.to_session_update())
    check_session_update(config.to_session_update(previous=SessionConfig()))
    assert load(to_share_string(config, name)).config == config


def test_a_share_string_nested_5000_deep_is_refused_naming_the_preset() -> None:
    deep = "[" * 5000 + "]" * 5000
    packed = base64.urlsafe_b64encode(zlib.compress(deep.encode())).decode().rstrip("=")
    for text in (SHARE_PREFIX + packed, '{"config": ' + deep + "}"):
        with pytest.raises(ConfigError) as info:
            load(text)
        assert info.value.field == "preset"
        assert re.search(r"nested 500[01] levels deep; a preset nests at most 128", str(info.value))
    # Brackets inside a string are text, not nesting.
    quoted = _envelope(config={"instructions": deep})
    assert load(json.dumps(quoted)).config.instructions == deep


def test_a_preset_with_a_400_level_tool_schema_is_refused_naming_the_field() -> None:
    schema: dict[str, object] = {"type": "string"}
    for _ in range(399):
        schema = {"type": "array", "items": schema}
    tool = {"type": "function", "name": "f", "parameters": {**schema, "type": "object"}}
    envelope = _envelope(config={"tools": [tool]})
    for text in (json.dumps(envelope), _pack(envelope)):
        with pytest.raises(ConfigError) as info:
            load(text)
        assert info.value.field == "config.tools[0].parameters"
        assert "at most 124" in str(info.value)
