"""The session engine, driven with a fake clock: everything a client can observe."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import pytest

from realtime_widgets import SessionConfig
from realtime_widgets.audio import ulaw_encode
from realtime_widgets.protocol.events import parse_server_event
from realtime_widgets.server.engine import EngineOptions, SessionEngine, engine_for
from realtime_widgets.server.input_transcripts import run_inline
from realtime_widgets.server.limits import ServerLimits
from realtime_widgets.server.reply.responder import FunctionCall
from realtime_widgets.server.tts import Synthesizer
from tests.protocol.sdk_oracle import (
    check_live_server_event,
    check_server_event,
    check_translation_server_event,
)

from .conftest import Clip, Driver, b64

TEXT_SESSION = {
    "type": "session.update",
    "session": {"type": "realtime", "output_modalities": ["text"]},
}


def say(d: Driver, text: str) -> None:
    d.send(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": text}],
            },
        }
    )


def test_session_created_carries_the_full_effective_config(driver: Driver) -> None:
    created = driver.events[0]
    assert created["type"] == "session.created"
    s = created["session"]
    assert (s["type"], s["model"]) == ("realtime", "gpt-realtime-1.5")
    assert s["audio"]["input"]["turn_detection"]["type"] == "server_vad"
    assert s["audio"]["output"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert SessionConfig.from_session(s).voice == "alloy"
    # Only what the SDK models (its request shape): no id, object or expires_at on the wire.
    assert not {"id", "object", "expires_at"} & set(s)
    check_server_event(created)


def test_update_is_all_or_nothing_and_errors_echo_the_event_id(driver: Driver) -> None:
    out = driver.send(
        {
            "type": "session.update",
            "event_id": "evt_42",
            "session": {
                "type": "realtime",
                "instructions": "x",
                "audio": {"output": {"speed": 2.0}},
            },
        }
    )
    assert driver.types(out) == ["error"]
    err = out[0]["error"]
    assert err == {
        "type": "invalid_request_error",
        "code": "decimal_above_max_value",
        "param": "session.audio.output.speed",
        "event_id": "evt_42",
        "message": "Invalid 'session.audio.output.speed': decimal above maximum value. Expected a value <= 1.5, but got 2.0 instead.",
    }
    assert driver.engine.config.instructions != "x"  # nothing of the rejected update applied
    ok = driver.send(
        {"type": "session.update", "session": {"type": "realtime", "instructions": "x"}}
    )
    assert driver.types(ok) == ["session.updated"]
    assert ok[0]["session"]["instructions"] == "x"


@pytest.mark.parametrize(
    ("session", "code", "param"),
    [
        ({"type": "realtime", "temperature": 0.8}, "unknown_parameter", "session.temperature"),
        (
            {"type": "realtime", "audio": {"output": {"voice": "Puck"}}},
            "invalid_value",
            "session.audio.output.voice",
        ),
        (
            {"type": "realtime", "audio": {"input": {"format": {"type": "audio/pcm"}}}},
            "missing_required_parameter",
            "session.audio.input.format.rate",
        ),
        (
            {"type": "realtime", "output_modalities": ["text", "audio"]},
            "invalid_value",
            "session.output_modalities",
        ),
        (
            {
                "type": "realtime",
                "audio": {"input": {"turn_detection": {"type": "semantic_vad", "threshold": 0.5}}},
            },
            "unknown_parameter",
            "session.audio.input.turn_detection.threshold",
        ),
        ({"instructions": "no type"}, "missing_required_parameter", "session.type"),
    ],
)
def test_update_rules_with_openai_codes(
    driver: Driver, session: dict, code: str, param: str
) -> None:
    out = driver.send({"type": "session.update", "session": session})
    assert driver.types(out) == ["error"]
    assert (out[0]["error"]["code"], out[0]["error"]["param"]) == (code, param)


def test_model_and_tracing_are_frozen(driver: Driver) -> None:
    out = driver.send(
        {"type": "session.update", "session": {"type": "realtime", "model": "gpt-realtime-mini"}}
    )
    assert out[0]["error"]["param"] == "session.model"
    driver.send({"type": "session.update", "session": {"type": "realtime", "tracing": "auto"}})
    out = driver.send({"type": "session.update", "session": {"type": "realtime", "tracing": None}})
    assert out[0]["type"] == "error"
    assert out[0]["error"]["param"] == "session.tracing"
    same = driver.send(
        {"type": "session.update", "session": {"type": "realtime", "tracing": "auto"}}
    )
    assert same[0]["type"] == "session.updated"


def test_text_turn_full_event_sequence(driver: Driver) -> None:
    driver.send(TEXT_SESSION)
    say(driver, "hello there")
    out = driver.send({"type": "response.create"})
    out += driver.advance(5)
    assert driver.types(out) == [
        "response.created",
        "rate_limits.updated",
        "response.output_item.added",
        "conversation.item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * (len(driver.of("response.output_text.delta", out))),
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "conversation.item.done",
        "response.done",
    ]
    done = out[-1]["response"]
    assert done["status"] == "completed"
    text = done["output"][0]["content"][0]["text"]
    assert text.startswith("You said: hello there.")
    assert "".join(e["delta"] for e in driver.of("response.output_text.delta", out)) == text
    assert (
        done["usage"]["output_tokens"] == done["usage"]["output_token_details"]["text_tokens"] > 0
    )
    for event in out:  # every event is one our own client (and the SDK) can read
        assert type(parse_server_event(json.dumps(event))).__name__ != "UnknownServerEvent"


def test_spoken_turn_vad_to_reply_and_voice_lock(driver: Driver, three_turns: Clip) -> None:
    first_turn = three_turns.samples[: int((three_turns.truth[0][1] + 900) * 24)]
    out = driver.stream(first_turn)
    kinds = driver.types(out)
    assert kinds.index("input_audio_buffer.speech_started") < kinds.index(
        "input_audio_buffer.speech_stopped"
    )
    started = driver.of("input_audio_buffer.speech_started", out)[0]
    stopped = driver.of("input_audio_buffer.speech_stopped", out)[0]
    true_start, true_end = three_turns.truth[0]
    assert abs(started["audio_start_ms"] - (true_start - 300)) <= 40  # includes prefix padding
    assert abs(stopped["audio_end_ms"] - (true_end + 500)) <= 40  # includes the silence
    committed = driver.of("input_audio_buffer.committed", out)[0]
    assert committed["item_id"] == started["item_id"] == stopped["item_id"]
    out += driver.advance(30)
    assert driver.of("response.done", out)[0]["response"]["status"] == "completed"
    audio = b"".join(
        base64.b64decode(e["delta"]) for e in driver.of("response.output_audio.delta", out)
    )
    assert len(audio) > 48000  # more than a second of 24 kHz speech
    transcript = driver.of("response.output_audio_transcript.done", out)[0]["transcript"]
    assert "You spoke for" in transcript
    # The assistant has spoken: the voice is locked now.
    err = driver.send(
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"output": {"voice": "marin"}}},
        }
    )
    assert err[0]["error"]["code"] == "cannot_update_voice"
    assert (
        err[0]["error"]["message"]
        == "Cannot update a conversation's voice if assistant audio is present."
    )


def test_reply_audio_is_paced_in_real_time(driver: Driver) -> None:
    say(driver, "pace me")
    driver.send({"type": "response.create"})
    early = driver.advance(0.5)
    sent_ms = (
        sum(
            len(base64.b64decode(e["delta"]))
            for e in driver.of("response.output_audio.delta", early)
        )
        / 48
    )
    assert 500 <= sent_ms <= 700  # what is due by 0.5 s, plus the chunk in flight
    assert not driver.of("response.done", early)


def test_a_lead_sends_that_much_audio_at_once_then_real_time(synth: Synthesizer) -> None:
    engine = SessionEngine(
        options=EngineOptions(pace=1.0, lead=0.5, wall_clock=lambda: 0.0), session_id="sess_lead"
    )
    d = Driver(engine, speak=synth.speak)
    d.events += engine.start(0.0)
    try:
        say(d, "lead me somewhere far away, please")
        created = d.send({"type": "response.create"})

        def sent_ms(events: list[dict[str, Any]]) -> float:
            deltas = d.of("response.output_audio.delta", events)
            return sum(len(base64.b64decode(e["delta"])) for e in deltas) / 48

        at_once = sent_ms(created + d.advance(0.0))
        assert 500 <= at_once <= 600  # the lead, plus the chunk that starts at 0.5 s
        by_half = sent_ms(d.advance(0.5))
        assert 450 <= by_half <= 600  # then real time: 0.5 s of audio per 0.5 s
    finally:
        engine.close()


def test_barge_in_cancels_with_turn_detected_and_truncate_trims(
    driver: Driver, three_turns: Clip
) -> None:
    say(driver, "talk to me")
    driver.send({"type": "response.create"})
    driver.advance(1.0)
    speech = three_turns.samples[
        int(three_turns.truth[0][0] * 24) - 4800 : int(three_turns.truth[0][0] * 24) + 24000
    ]
    out = driver.stream(speech)
    done = driver.of("response.done", out)
    assert done, driver.types(out)
    assert done[0]["response"]["status"] == "cancelled"
    assert done[0]["response"]["status_details"] == {"type": "cancelled", "reason": "turn_detected"}
    assert driver.types(out).index("input_audio_buffer.speech_started") < driver.types(out).index(
        "response.done"
    )
    item = done[0]["response"]["output"][0]
    assert item["status"] == "incomplete"
    out = driver.send(
        {
            "type": "conversation.item.truncate",
            "item_id": item["id"],
            "content_index": 0,
            "audio_end_ms": 400,
        }
    )
    assert out[0] == {
        **out[0],
        "type": "conversation.item.truncated",
        "item_id": item["id"],
        "audio_end_ms": 400,
    }
    retrieved = driver.send({"type": "conversation.item.retrieve", "item_id": item["id"]})[0][
        "item"
    ]
    assert len(base64.b64decode(retrieved["content"][0]["audio"])) == 400 * 48
    too_long = driver.send(
        {
            "type": "conversation.item.truncate",
            "item_id": item["id"],
            "content_index": 0,
            "audio_end_ms": 99999,
        }
    )
    assert too_long[0]["type"] == "error"


def test_one_response_at_a_time_and_cancel(driver: Driver) -> None:
    say(driver, "one")
    first = driver.send({"type": "response.create"})
    rid = first[0]["response"]["id"]
    busy = driver.send({"type": "response.create", "event_id": "again"})
    assert busy[0]["error"]["code"] == "conversation_already_has_active_response"
    assert rid in busy[0]["error"]["message"]
    assert busy[0]["error"]["event_id"] == "again"
    cancelled = driver.send({"type": "response.cancel"})
    assert cancelled[-1]["response"]["status_details"] == {
        "type": "cancelled",
        "reason": "client_cancelled",
    }
    assert driver.advance(30) == []  # nothing more of the cancelled reply
    nothing = driver.send({"type": "response.cancel"})
    assert nothing[0]["error"]["code"] == "response_cancel_not_active"


def test_commit_needs_100ms_and_clear(driver: Driver) -> None:
    driver.send(
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
        }
    )
    driver.send({"type": "input_audio_buffer.append", "audio": b64(np.zeros(24 * 50, np.int16))})
    out = driver.send({"type": "input_audio_buffer.commit"})
    assert out[0]["error"]["code"] == "input_audio_buffer_commit_empty"
    assert "buffer only has 50.00ms of audio" in out[0]["error"]["message"]
    driver.send({"type": "input_audio_buffer.append", "audio": b64(np.ones(24 * 100, np.int16))})
    out = driver.send({"type": "input_audio_buffer.commit"})
    assert driver.types(out) == [
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
    ]
    assert (
        driver.send({"type": "input_audio_buffer.clear"})[0]["type"] == "input_audio_buffer.cleared"
    )
    assert (
        driver.send({"type": "input_audio_buffer.commit"})[0]["error"]["code"]
        == "input_audio_buffer_commit_empty"
    )


def test_items_create_place_delete_retrieve(driver: Driver) -> None:
    say(driver, "a")
    a = driver.events[-1]["item"]["id"]
    say(driver, "c")
    c = driver.events[-1]["item"]["id"]
    out = driver.send(
        {
            "type": "conversation.item.create",
            "previous_item_id": a,
            "item": {
                "id": "item_b",
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "b"}],
            },
        }
    )
    assert out[0]["previous_item_id"] == a
    assert driver.engine.conversation.order == [a, "item_b", c]
    bad = driver.send(
        {
            "type": "conversation.item.create",
            "previous_item_id": "nope",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "x"}],
            },
        }
    )
    assert bad[0]["error"]["code"] == "item_not_found"
    wrong = driver.send(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "output_text", "text": "x"}],
            },
        }
    )
    assert wrong[0]["error"]["param"] == "item.content[0].type"
    assert (
        driver.send({"type": "conversation.item.delete", "item_id": "item_b"})[0]["type"]
        == "conversation.item.deleted"
    )
    assert (
        driver.send({"type": "conversation.item.delete", "item_id": "item_b"})[0]["error"]["code"]
        == "item_not_found"
    )
    got = driver.send({"type": "conversation.item.retrieve", "item_id": c})[0]
    assert got["item"]["content"][0]["text"] == "c"


def test_max_output_tokens_ends_incomplete(driver: Driver) -> None:
    driver.send(TEXT_SESSION)
    say(driver, "tell me everything")
    out = driver.send(
        {"type": "response.create", "response": {"max_output_tokens": 5}}
    ) + driver.advance(5)
    done = driver.of("response.done", out)[0]["response"]
    assert done["status"] == "incomplete"
    assert done["status_details"] == {"type": "incomplete", "reason": "max_output_tokens"}
    assert done["usage"]["output_tokens"] <= 5


TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["c", "f"]},
            "days": {"type": "integer", "minimum": 1},
        },
        "required": ["city", "unit", "days"],
    },
}


def test_required_tool_choice_calls_the_tool_then_answers_its_output(driver: Driver) -> None:
    driver.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "output_modalities": ["text"],
                "tools": [TOOL],
                "tool_choice": "required",
            },
        }
    )
    say(driver, "Oslo")
    out = driver.send({"type": "response.create"}) + driver.advance(1)
    args_done = driver.of("response.function_call_arguments.done", out)[0]
    args = json.loads(args_done["arguments"])
    assert args == {"city": "Oslo", "unit": "c", "days": 1}
    assert (
        "".join(e["delta"] for e in driver.of("response.function_call_arguments.delta", out))
        == args_done["arguments"]
    )
    call_item = driver.of("response.done", out)[0]["response"]["output"][0]
    assert (call_item["type"], call_item["name"], call_item["call_id"]) == (
        "function_call",
        "get_weather",
        args_done["call_id"],
    )
    driver.send({"type": "session.update", "session": {"type": "realtime", "tool_choice": "auto"}})
    driver.send(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "function_call_output",
                "call_id": args_done["call_id"],
                "output": "12 C and rain",
            },
        }
    )
    out = driver.send({"type": "response.create"}) + driver.advance(3)
    assert driver.of("response.output_text.done", out)[0]["text"].startswith(
        "The tool get_weather returned: 12 C and rain"
    )


def test_named_tool_choice_and_a_custom_responder(driver: Driver) -> None:
    driver.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "output_modalities": ["text"],
                "tools": [TOOL],
                "tool_choice": {"type": "function", "name": "get_weather"},
            },
        }
    )
    say(driver, "x")
    out = driver.send({"type": "response.create"}) + driver.advance(1)
    assert driver.of("response.function_call_arguments.done", out)[0]["name"] == "get_weather"
    driver.responder = lambda ctx: FunctionCall(
        "get_weather", {"city": "Paris", "unit": "f", "days": 2}
    )
    out = driver.send({"type": "response.create"}) + driver.advance(1)
    assert (
        json.loads(driver.of("response.function_call_arguments.done", out)[0]["arguments"])["city"]
        == "Paris"
    )


def test_instructions_and_out_of_band_responses(driver: Driver) -> None:
    driver.send(TEXT_SESSION)
    say(driver, "hi")
    n_items = len(driver.engine.conversation.order)
    out = driver.send(
        {
            "type": "response.create",
            "response": {
                "conversation": "none",
                "instructions": "Speak like a pirate.",
                "metadata": {"topic": "x"},
            },
        }
    ) + driver.advance(3)
    done = driver.of("response.done", out)[0]["response"]
    assert done["metadata"] == {"topic": "x"}
    assert done["conversation_id"] is None
    assert "Speak like a pirate." in done["output"][0]["content"][0]["text"]
    assert not driver.of("conversation.item.added", out)
    assert len(driver.engine.conversation.order) == n_items


def test_transcription_enabled_reports_failure_honestly(driver: Driver, three_turns: Clip) -> None:
    driver.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {"input": {"transcription": {"model": "whisper-1"}}},
            },
        }
    )
    out = driver.stream(three_turns.samples[: int((three_turns.truth[0][1] + 700) * 24)])
    failed = driver.of("conversation.item.input_audio_transcription.failed", out)
    assert len(failed) == 1
    assert "no offline speech recogniser" in failed[0]["error"]["message"]
    assert not driver.of("conversation.item.input_audio_transcription.completed", out)


def test_pluggable_transcriber(synth, three_turns: Clip) -> None:
    engine = SessionEngine(
        options=EngineOptions(pace=0, transcriber=lambda audio: f"{len(audio)} samples")
    )
    d = Driver(engine, speak=synth.speak)
    engine.start(0)
    d.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {"input": {"transcription": {"model": "whisper-1"}}},
            },
        }
    )
    out = d.stream(three_turns.samples[: int((three_turns.truth[0][1] + 700) * 24)])
    done = d.of("conversation.item.input_audio_transcription.completed", out)[0]
    assert done["transcript"].endswith(" samples")


def test_idle_timeout_prompts_a_response(driver: Driver) -> None:
    driver.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "output_modalities": ["text"],
                "audio": {
                    "input": {"turn_detection": {"type": "server_vad", "idle_timeout_ms": 5000}}
                },
            },
        }
    )
    say(driver, "hi")
    driver.send({"type": "response.create"})
    driver.advance(3)
    out = driver.stream(np.zeros(24000 * 6, np.int16))
    timeout = driver.of("input_audio_buffer.timeout_triggered", out)
    assert len(timeout) == 1
    assert 4990 <= timeout[0]["audio_end_ms"] - timeout[0]["audio_start_ms"] <= 5050
    assert driver.of("response.created", out)
    out += driver.advance(3)
    assert "Are you still there?" in driver.of("response.output_text.done", out)[0]["text"]


def test_g711_input_and_output(driver: Driver, three_turns: Clip) -> None:
    from realtime_widgets.audio import resample

    driver.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {
                    "input": {"format": {"type": "audio/pcmu"}},
                    "output": {"format": {"type": "audio/pcmu"}},
                },
            },
        }
    )
    speech8k = np.asarray(
        resample(three_turns.samples[: int((three_turns.truth[0][1] + 900) * 24)], 24000, 8000),
        np.int16,
    )
    for i in range(0, len(speech8k), 320):
        driver.send(
            {
                "type": "input_audio_buffer.append",
                "audio": base64.b64encode(ulaw_encode(speech8k[i : i + 320])).decode(),
            },
            advance=0.04,
        )
    assert len(driver.of("input_audio_buffer.speech_stopped")) == 1
    out = driver.advance(30)
    audio = b"".join(
        base64.b64decode(e["delta"]) for e in driver.of("response.output_audio.delta", out)
    )
    done = driver.of("response.done", out)[0]["response"]
    assert done["audio"]["output"]["format"] == {"type": "audio/pcmu"}
    # mu-law is one byte per 8 kHz sample: duration from bytes / 8.
    assert len(audio) / 8 > 1000


def test_bad_client_events_get_errors_never_exceptions(driver: Driver) -> None:
    cases = [
        ("not json", "invalid_json"),
        (json.dumps({"type": "response.explode"}), "invalid_value"),
        (
            json.dumps({"type": "conversation.item.truncate", "event_id": "t1"}),
            "missing_required_parameter",
        ),
        (json.dumps({"type": "input_audio_buffer.append", "audio": "%%%"}), "invalid_value"),
        (
            json.dumps({"type": "input_audio_buffer.append", "audio": "AA==", "extra": 1}),
            "unknown_parameter",
        ),
        (json.dumps({"type": "session.update", "session": "x"}), "invalid_type"),
    ]
    for text, code in cases:
        out = driver.send(text)
        assert [e["type"] for e in out] == ["error"], text
        assert out[0]["error"]["code"] == code, (text, out[0])
    assert driver.send(cases[2][0])[0]["error"]["event_id"] == "t1"


def test_beta_shape_closes_with_4000(driver: Driver) -> None:
    out = driver.send(
        {"type": "session.update", "session": {"modalities": ["text", "audio"], "voice": "alloy"}}
    )
    assert out[0]["error"]["code"] == "beta_api_shape_disabled"
    assert driver.engine.closed == (4000, "beta_api_shape_disabled")


def test_session_expires(synth) -> None:
    engine = SessionEngine(options=EngineOptions(limits=ServerLimits(max_duration_s=2.0)))
    d = Driver(engine, speak=synth.speak)
    engine.start(0.0)
    assert d.advance(1.0) == []
    out = d.advance(1.5)
    assert out[0]["error"]["code"] == "session_expired"
    assert engine.closed == (1001, "session_expired")


def test_cross_field_rules_apply_to_the_merged_config(driver: Driver) -> None:
    tool = {
        "type": "function",
        "name": "lookup",
        "parameters": {"type": "object", "properties": {}},
    }
    driver.send({"type": "session.update", "session": {"type": "realtime", "tools": [tool]}})
    # Forcing a tool set by an earlier update is fine...
    ok = driver.send(
        {
            "type": "session.update",
            "session": {"type": "realtime", "tool_choice": {"type": "function", "name": "lookup"}},
        }
    )
    assert ok[0]["type"] == "session.updated"
    # ...forcing one the session does not have is not.
    bad = driver.send(
        {
            "type": "session.update",
            "session": {"type": "realtime", "tool_choice": {"type": "function", "name": "other"}},
        }
    )
    assert bad[0]["error"]["param"] == "session.tool_choice.name"


@pytest.mark.parametrize(
    ("choice", "param"),
    [
        ("", "response.tool_choice.name"),
        ({"type": "function", "name": "nope"}, "response.tool_choice.name"),
    ],
)
def test_per_response_tool_choice_is_checked(driver: Driver, choice: object, param: str) -> None:
    # Found by the structured fuzz in CI: an empty or unknown forced tool crashed the responder.
    say(driver, "x")
    out = driver.send({"type": "response.create", "response": {"tool_choice": choice}})
    assert driver.types(out) == ["error"]
    assert out[0]["error"]["param"] == param
    assert driver.engine.responses.current is None
    ok = driver.send(
        {"type": "response.create", "response": {"output_modalities": ["text"]}}
    ) + driver.advance(5)
    assert driver.of("response.done", ok)[0]["response"]["status"] == "completed"


def test_an_invalid_value_is_not_reported_as_a_frozen_field(driver: Driver) -> None:
    # The "cannot change" wording is for changes a live session refuses, not for bad values.
    bad_tracing = driver.send(
        {"type": "session.update", "session": {"type": "realtime", "tracing": "on"}}
    )
    assert bad_tracing[0]["error"]["param"] == "session.tracing"
    assert "cannot be modified" not in bad_tracing[0]["error"]["message"]
    assert "'auto'" in bad_tracing[0]["error"]["message"]
    bad_model = driver.send(
        {"type": "session.update", "session": {"type": "realtime", "model": ""}}
    )
    assert "cannot be changed" not in bad_model[0]["error"]["message"]
    assert bad_model[0]["error"]["param"] == "session.model"


@pytest.mark.parametrize(
    ("field", "value"),
    [("lead", -1.0), ("lead", float("nan")), ("lead", float("inf")), ("lead", True), ("pace", "1")],
)
def test_pace_and_lead_refuse_what_is_not_a_number_at_least_0(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=rf"^{field} must be a (finite )?number >= 0"):
        EngineOptions(**{field: value})  # type: ignore[arg-type]


def test_serve_names_the_flag_of_a_bad_lead(capsys: pytest.CaptureFixture[str]) -> None:
    from realtime_widgets.__main__ import main

    for bad in ("-1", "nan", "soon"):
        with pytest.raises(SystemExit) as exit_info:
            main(["serve", "--lead", bad])
        assert exit_info.value.code == 2
        assert "argument --lead: expected a" in capsys.readouterr().err


@pytest.mark.parametrize(
    "output_format", [{"type": "audio/pcm", "rate": 24000}, {"type": "audio/pcmu"}]
)
def test_with_a_lead_the_idle_timeout_counts_from_where_playback_ends(
    synth: Synthesizer, output_format: dict[str, object]
) -> None:
    """OpenAI: the idle timeout starts at response.done plus the audio still to play. With the
    reply sent 0.5 s ahead, done comes 0.5 s before the listener has heard it all (whatever
    the output format: G.711 carries 8 bytes a millisecond, not PCM16's 48)."""
    engine = SessionEngine(
        options=EngineOptions(pace=1.0, lead=0.5, wall_clock=lambda: 0.0), session_id="sess_idle"
    )
    d = Driver(engine, speak=synth.speak)
    d.events += engine.start(0.0)
    try:
        d.send(
            {
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "audio": {
                        "input": {
                            "turn_detection": {"type": "server_vad", "idle_timeout_ms": 5000}
                        },
                        "output": {"format": output_format},
                    },
                },
            }
        )
        say(d, "hi")
        d.send({"type": "response.create"})
        done_at_ms = None
        timeout = []
        for _ in range(30 * 25):  # up to 30 s of silence, in real time
            out = d.send(
                {"type": "input_audio_buffer.append", "audio": b64(np.zeros(960, np.int16))},
                advance=0.04,
            )
            out += d.advance(0.0)
            if done_at_ms is None and d.of("response.done", out):
                done_at_ms = engine.input.input_ms
            timeout = d.of("input_audio_buffer.timeout_triggered", out)
            if timeout:
                break
        assert not d.of("error"), d.of("error")
        assert done_at_ms is not None
        assert timeout, (engine.input.idle_anchor_ms, done_at_ms)
        assert abs(timeout[0]["audio_start_ms"] - (done_at_ms + 500)) <= 60
        assert 4990 <= timeout[0]["audio_end_ms"] - timeout[0]["audio_start_ms"] <= 5050
    finally:
        engine.close()


def test_an_early_transcript_reaches_the_wire_only_in_its_own_events(three_turns: Clip) -> None:
    """The turn's speculation is ready when it commits, so its transcript is routed in the
    same batch as ``conversation.item.added`` and ``.done``: those were written with the
    transcript null (as OpenAI sends them) and must still say so when the batch is serialised
    (each batch is serialised as soon as the engine returns it, as the socket layer does)."""
    heard: list[int] = []

    def transcriber(audio: np.ndarray) -> str:
        heard.append(len(audio))
        return "glue the sheet"

    engine = SessionEngine(
        options=EngineOptions(pace=0, wall_clock=lambda: 0.0, transcriber=transcriber),
        session_id="sess_early001",
    )
    wire: list[dict[str, Any]] = []

    def serialised(batch: list[dict[str, Any]]) -> None:
        wire.extend(json.loads(json.dumps(event)) for event in batch)

    serialised(engine.start(0.0))
    update = {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "audio": {
                "input": {
                    "transcription": {"model": "whisper-1"},
                    "turn_detection": {"type": "server_vad", "create_response": False},
                }
            },
        },
    }
    serialised(engine.receive(json.dumps(update), 0.0))
    first_turn = three_turns.samples[: int((three_turns.truth[0][1] + 900) * 24)]
    now = 0.0
    for i in range(0, len(first_turn), 960):
        now += 0.04
        append = {"type": "input_audio_buffer.append", "audio": b64(first_turn[i : i + 960])}
        serialised(engine.receive(json.dumps(append), now))
        # The speculation runs as soon as it is handed out: it is ready before the commit.
        serialised(run_inline(engine, transcriber, now))
        serialised(engine.tick(now))
    assert engine.transcripts.reused == 1  # the commit took the early transcript
    assert len(heard) == engine.transcripts.speculations
    (committed,) = [e for e in wire if e["type"] == "input_audio_buffer.committed"]
    item_id = committed["item_id"]
    told = [
        e for e in wire if e.get("item_id") == item_id or e.get("item", {}).get("id") == item_id
    ]
    assert [e["type"] for e in told] == [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
        "conversation.item.input_audio_transcription.delta",
        "conversation.item.input_audio_transcription.delta",
        "conversation.item.input_audio_transcription.delta",
        "conversation.item.input_audio_transcription.completed",
    ]
    for added_or_done in told[3:5]:
        assert added_or_done["item"]["content"] == [{"type": "input_audio", "transcript": None}]
    deltas = [e["delta"] for e in told[5:8]]
    assert deltas == ["glue ", "the ", "sheet"]
    assert told[8]["transcript"] == "glue the sheet"
    # The conversation holds the transcript from then on.
    retrieve = {"type": "conversation.item.retrieve", "item_id": item_id}
    serialised(engine.receive(json.dumps(retrieve), now))
    engine.close()
    assert wire[-1]["type"] == "conversation.item.retrieved"
    assert wire[-1]["item"]["content"][0]["transcript"] == "glue the sheet"
    for event in wire:
        check_server_event(event)


# ---- the one reader, every kind ----------------------------------------------------------------

_KIND_CHECKS = {
    "realtime": check_server_event,
    "transcription": check_server_event,
    "translation": check_translation_server_event,
    "live": check_live_server_event,
}


@pytest.mark.parametrize("intent", ["realtime", "transcription", "translation", "live"])
@pytest.mark.parametrize(
    ("frame", "code", "message"),
    [
        (
            '{"type": 5, "event_id": "b1"}',
            "invalid_type",
            "Invalid type for 'type': expected a string, but got a number instead.",
        ),
        ('{"type": null, "event_id": "b1"}', "missing_required_parameter", None),
        ('{"event_id": "b1"}', "missing_required_parameter", None),
        (
            '{"type": true, "event_id": "b1"}',
            "invalid_type",
            "Invalid type for 'type': expected a string, but got a boolean instead.",
        ),
    ],
)
def test_every_kind_answers_a_bad_type_naming_it_in_its_own_shape(
    intent: str, frame: str, code: str, message: str | None
) -> None:
    """The one reader (EngineCore.receive) answers a frame whose ``type`` is no string the same
    way for every kind, in the kind's error shape (GPT-Live's links back through
    ``client_event_id``), and the session goes on."""
    engine = engine_for(intent, options=EngineOptions(pace=0))  # type: ignore[arg-type]
    engine.start(0.0)
    (error,) = engine.receive(frame, 0.1)
    _KIND_CHECKS[intent](error)
    detail = error["error"]
    assert (detail["code"], detail["param"]) == (code, "type")
    assert detail["message"] == (message or "Missing required parameter: 'type'.")
    linked = detail["client_event_id"] if intent == "live" else detail["event_id"]
    assert linked == "b1"
    assert engine.closed is None
    assert engine.stats["errors"] == 1
