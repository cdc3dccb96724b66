"""Every session.update we emit validates strictly against the official SDK, no leftovers."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from realtime_widgets import SessionConfig
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.wire import max_decimals

from .sdk_oracle import check_client_event, check_session_update, leftovers
from .strategies import config_data, configs


def _floats(value: object) -> list[float]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for v in value.values() for f in _floats(v)]
    if isinstance(value, list):
        return [f for v in value for f in _floats(v)]
    return []


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(configs)
def test_generated_config_validates_against_the_sdk(config: SessionConfig) -> None:
    event = config.to_session_update(event_id="evt_1")
    wire = json.loads(json.dumps(event))  # what actually goes over the socket
    check_session_update(wire)
    assert all(max_decimals(f) <= 16 for f in _floats(wire))
    # Every explicitly set field is present, none other.
    assert SessionConfig.from_session(wire["session"]).model_fields_set == (
        config.model_fields_set - {"temperature"}
    )


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(config_data(), config_data())
def test_diff_between_two_configs_validates_and_applies(a: dict, b: dict) -> None:
    before = SessionConfig(**a)
    # A live session keeps its model, and tracing once it is on.
    b = {**b, "model": before.model}
    if before.tracing is not None:
        b["tracing"] = before.tracing
    after = before.with_changes(b)
    event = after.to_session_update(previous=before)
    check_session_update(json.loads(json.dumps(event)))
    changed = set(after.diff(before))
    sent = SessionConfig.from_session(event["session"])
    assert sent.model_fields_set == changed
    # Applying the diff to the old effective config gives the new one.
    merged = before.with_changes({k: getattr(sent, k) for k in sent.model_fields_set})
    assert merged == after


def test_explicit_nulls_reach_the_wire_and_the_sdk() -> None:
    on = SessionConfig(noise_reduction="near_field", transcription="whisper-1", tracing="auto")
    off = SessionConfig(noise_reduction=None, transcription=None, turn_detection=None)
    event = off.to_session_update(previous=SessionConfig(noise_reduction="near_field"))
    assert event["session"]["audio"]["input"]["noise_reduction"] is None
    full = off.to_session_update()
    text = json.dumps(full)
    assert '"noise_reduction": null' in text
    assert '"transcription": null' in text
    assert '"turn_detection": null' in text
    check_session_update(json.loads(text))
    check_session_update(json.loads(json.dumps(on.to_session_update())))


CLIENT_EVENTS: list[ev.ClientEvent] = [
    ev.SessionUpdate(session=SessionConfig(voice="marin").to_session_update()["session"]),
    ev.InputAudioBufferAppend(audio="AAAA", event_id="a1"),
    ev.InputAudioBufferCommit(),
    ev.InputAudioBufferClear(),
    ev.ConversationItemCreate(
        item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
        previous_item_id="item_1",
    ),
    ev.ConversationItemCreate(
        item={"type": "function_call_output", "call_id": "call_1", "output": '{"ok": true}'}
    ),
    ev.ConversationItemTruncate(item_id="item_2", content_index=0, audio_end_ms=1500),
    ev.ConversationItemDelete(item_id="item_3"),
    ev.ConversationItemRetrieve(item_id="item_4"),
    ev.ResponseCreate(),
    ev.ResponseCreate(response={"output_modalities": ["text"], "instructions": "Be brief."}),
    ev.ResponseCancel(),
    ev.ResponseCancel(response_id="resp_1"),
    ev.OutputAudioBufferClear(),
]


def test_every_client_event_type_validates_against_the_sdk() -> None:
    kinds = set()
    for event in CLIENT_EVENTS:
        wire = json.loads(ev.encode(event))
        parsed = check_client_event(wire)
        assert parsed.type == event.type  # type: ignore[attr-defined]
        kinds.add(event.type)
    # Every client event type we model is covered here.
    assert kinds == {m.model_fields["type"].default for m in ev.ClientEvent.__subclasses__()}


def test_leftover_walk_catches_unknown_keys() -> None:
    # The oracle itself must be able to fail.
    from openai.types.realtime import SessionUpdateEvent

    bad = {"type": "session.update", "session": {"type": "realtime", "temperature": 0.8}}
    parsed = SessionUpdateEvent.model_validate(bad, strict=True)
    assert leftovers(parsed) == ["$.session.temperature"]


@given(st.floats(0.0, 1.0, allow_nan=False))
def test_slider_floats_are_rounded_to_at_most_16_decimals(x: float) -> None:
    event = SessionConfig(turn_detection={"type": "server_vad", "threshold": x}).to_session_update()
    sent = event["session"]["audio"]["input"]["turn_detection"]["threshold"]
    assert max_decimals(sent) <= 16
    assert abs(sent - x) < 1e-15
