"""The engine judges items and response parameters by the typed client-event models: bad ones
get OpenAI's error naming the param and the session stays; good ones are stored and reported
in events the SDK reads."""

from __future__ import annotations

from typing import Any

import pytest

from realtime_widgets.protocol import events as ev
from tests.protocol.sdk_oracle import check_server_event
from tests.protocol.test_client_events import INVALID, VALID_ITEMS
from tests.server.conftest import Driver


@pytest.mark.parametrize(
    ("event", "message", "code", "param"), INVALID, ids=[c[3] for c in INVALID]
)
def test_a_bad_event_gets_the_same_error_as_encode_and_the_session_stays(
    driver: Driver, event: dict[str, Any], message: str, code: str, param: str
) -> None:
    out = driver.send({**event, "event_id": "evt_bad"} if "type" in event else event)
    assert [e["type"] for e in out] == ["error"]
    error = out[0]["error"]
    assert (error["message"], error["code"], error["param"]) == (message, code, param)
    assert error["event_id"] == ("evt_bad" if "type" in event else "e1")
    check_server_event(out[0])
    assert driver.engine.closed is None
    assert driver.engine.conversation.order == []  # nothing was stored
    assert driver.engine.responses.current is None  # nothing was started
    ok = driver.send({"type": "conversation.item.create", "item": VALID_ITEMS[0]})
    assert [e["type"] for e in ok] == ["conversation.item.added", "conversation.item.done"]


@pytest.mark.parametrize("item", VALID_ITEMS, ids=lambda i: f"{i['type']}-{i.get('role', '')}")
def test_every_item_type_is_stored_and_reported_in_sdk_valid_events(
    driver: Driver, item: dict[str, Any]
) -> None:
    out = driver.send({"type": "conversation.item.create", "item": item})
    assert [e["type"] for e in out] == ["conversation.item.added", "conversation.item.done"]
    stored = out[0]["item"]
    assert stored["type"] == item["type"]
    assert stored["id"] == item.get("id", stored["id"])
    has_status = item["type"] in ("message", "function_call", "function_call_output")
    assert stored.get("status") == (item.get("status", "completed") if has_status else None)
    for event in out:
        check_server_event(event)
    got = driver.send({"type": "conversation.item.retrieve", "item_id": stored["id"]})
    check_server_event(got[0])
    for key in ("role", "call_id", "output", "name", "arguments", "server_label"):
        assert got[0]["item"].get(key) == item.get(key)


def test_typed_response_parameters_reach_the_response(driver: Driver) -> None:
    driver.send(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "x"}],
            },
        }
    )
    out = driver.send(
        {
            "type": "response.create",
            "response": {
                "output_modalities": ["audio"],
                "conversation": "none",
                "metadata": {"run": "7"},
                "audio": {"output": {"voice": "cedar", "format": {"type": "audio/pcmu"}}},
                "max_output_tokens": 40,
            },
        }
    ) + driver.advance(30)
    done = driver.of("response.done", out)[0]["response"]
    assert done["conversation_id"] is None  # out of band
    assert done["metadata"]["run"] == "7"
    assert done["audio"]["output"] == {"format": {"type": "audio/pcmu"}, "voice": "cedar"}
    assert done["max_output_tokens"] == 40
    assert done["status"] in ("completed", "incomplete")
    # The session's own config is unchanged by per-response overrides.
    assert driver.engine.config.voice == "alloy"
    assert len(driver.engine.conversation.order) == 1


def test_beta_shape_keys_come_from_param_beta(driver: Driver) -> None:
    # speed is beta's flat "speed" (GA: audio.output.speed): a GA update without "type" that
    # carries it is a beta client.
    out = driver.send({"type": "session.update", "session": {"speed": 1.2}})
    assert out[0]["error"]["code"] == "beta_api_shape_disabled"
    assert driver.engine.closed == (4000, "beta_api_shape_disabled")


def test_a_ga_key_without_type_is_a_missing_type_not_beta(driver: Driver) -> None:
    out = driver.send({"type": "session.update", "session": {"instructions": "x"}})
    assert out[0]["error"]["param"] == "session.type"
    assert driver.engine.closed is None


def test_client_event_classes_are_the_union() -> None:
    assert ev.CLIENT_EVENT_TYPES[0] == "session.update"
    assert {c.__name__ for c in ev.CLIENT_EVENT_CLASSES} == {
        c.__name__ for c in ev.ClientEvent.__subclasses__()
    }


def test_item_audio_that_is_not_base64_is_an_error_and_odd_bytes_are_not_a_crash(
    driver: Driver,
) -> None:
    bad = {"type": "message", "role": "user", "content": [{"type": "input_audio", "audio": "%%"}]}
    out = driver.send({"type": "conversation.item.create", "item": bad})
    assert out[0]["error"]["param"] == "item.content[0].audio"
    assert out[0]["error"]["message"] == (
        "Invalid 'item.content[0].audio'. Expected base64-encoded audio bytes."
    )
    assert driver.engine.conversation.order == []
    odd = {"type": "message", "role": "user", "content": [{"type": "input_audio", "audio": "AAAA"}]}
    out = driver.send({"type": "conversation.item.create", "item": odd})  # 3 bytes: 1 sample
    assert [e["type"] for e in out] == ["conversation.item.added", "conversation.item.done"]
    got = driver.send({"type": "conversation.item.retrieve", "item_id": out[0]["item"]["id"]})
    assert got[0]["item"]["content"][0]["audio"] == "AAA="  # the whole sample kept
