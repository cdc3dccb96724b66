"""One model-to-data helper, ``configbase.plain``, in place of four: the same output as each.

The four it replaced are copied here as they were (configbase.plain, wire._wire_value,
client_events._dump, widgets.controls.plain_value), and compared with it on generated configs
and on representative client records.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from pydantic import BaseModel

from realtime_widgets import SessionConfig, TranscriptionConfig
from realtime_widgets.protocol import client_events as ce
from realtime_widgets.protocol import items
from realtime_widgets.protocol.configbase import ConfigModel, plain

from .strategies import configs, transcription_config_data


def old_configbase_plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(exclude_unset=False)
    if isinstance(value, list):
        return [old_configbase_plain(v) for v in value]
    return value


def old_wire_value(value: Any) -> Any:  # also controls.plain_value, word for word
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, list):
        return [old_wire_value(v) for v in value]
    return value


def old_client_dump(value: BaseModel) -> dict[str, Any]:
    return value.model_dump(mode="json", exclude_none=True)


def _same_for_every_field(config: ConfigModel) -> None:
    cls = type(config)
    for name, value in config.items():
        # the wire payload and the controls: the very same data
        assert plain(value) == old_wire_value(value), name
        # with_changes: the data differs (None members omitted, JSON mode) but validates to the
        # same value, and the config it builds is equal, field by field and in what is set
        rebuilt = cls(**{name: plain(value)})
        assert rebuilt == cls(**{name: old_configbase_plain(value)}), name
        assert getattr(rebuilt, name) == value, name
        assert rebuilt.model_fields_set == {name}


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(configs)
def test_plain_matches_the_helpers_it_replaced_on_session_configs(config: SessionConfig) -> None:
    _same_for_every_field(config)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(transcription_config_data())
def test_plain_matches_on_transcription_configs(data: dict[str, Any]) -> None:
    _same_for_every_field(TranscriptionConfig(**data))


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(configs, configs)
def test_with_changes_builds_what_it_built_before(
    config: SessionConfig, other: SessionConfig
) -> None:
    changes = {name: getattr(other, name) for name in other.model_fields_set}
    before = SessionConfig(
        **{
            **{n: old_configbase_plain(getattr(config, n)) for n in config.model_fields_set},
            **{n: old_configbase_plain(v) for n, v in changes.items()},
        }
    )
    after = config.with_changes(changes)
    assert after == before
    assert after.model_fields_set == before.model_fields_set
    assert after.to_session_update() == before.to_session_update()


def test_plain_is_the_client_records_json() -> None:
    records: list[BaseModel] = [
        items.as_item(
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
        ),
        items.as_item({"type": "function_call_output", "call_id": "c1", "output": "{}"}),
        ce.ResponseParams(instructions="short", output_modalities=["text"]),
    ]
    for record in records:
        assert plain(record) == old_client_dump(record)
    # the client events' JSON, byte for byte what the replaced _dump produced
    event = ce.ConversationItemCreate(item=records[0], previous_item_id="root")
    assert ce.encode(event) == (
        '{"type":"conversation.item.create","item":{"type":"message","role":"user",'
        '"content":[{"type":"input_text","text":"hi"}]},"previous_item_id":"root"}'
    )
    assert ce.encode(ce.ResponseCreate(response=records[2])) == (
        '{"type":"response.create","response":{"output_modalities":["text"],"instructions":"short"}}'
    )
