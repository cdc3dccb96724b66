"""ConversationState rebuilt from event streams as servers really interleave them."""

from __future__ import annotations

import base64
from typing import Any

from realtime_widgets import SessionConfig
from realtime_widgets.protocol.events import parse_server_event
from realtime_widgets.protocol.state import ConversationState, base64_decoded_size

_n = 0


def E(type_: str, **fields: Any) -> dict[str, Any]:
    global _n
    _n += 1
    return {"type": type_, "event_id": f"event_{_n}", **fields}


def msg(item_id: str, role: str, *, status: str = "completed", content: list | None = None) -> dict:
    return {
        "id": item_id,
        "type": "message",
        "role": role,
        "status": status,
        "content": content or [],
    }


def audio(ms: int, bytes_per_ms: int = 48) -> str:
    return base64.b64encode(b"\x01" * (ms * bytes_per_ms)).decode()


def feed(state: ConversationState, *events: dict[str, Any]) -> ConversationState:
    for e in events:
        state.apply(parse_server_event(e))
    return state


def user_turn(uid: str, prev: str | None, start: int, end: int) -> list[dict]:
    return [
        E("input_audio_buffer.speech_started", audio_start_ms=start, item_id=uid),
        E("input_audio_buffer.speech_stopped", audio_end_ms=end, item_id=uid),
        E("input_audio_buffer.committed", item_id=uid, previous_item_id=prev),
        E(
            "conversation.item.added",
            previous_item_id=prev,
            item=msg(uid, "user", content=[{"type": "input_audio", "transcript": None}]),
        ),
    ]


def reply(
    rid: str,
    aid: str,
    prev: str,
    words: list[str],
    ms_per_word: int = 200,
    status: str = "completed",
    reason: str | None = None,
) -> list[dict]:
    out = [
        E("response.created", response={"id": rid, "status": "in_progress", "output": []}),
        E(
            "response.output_item.added",
            response_id=rid,
            output_index=0,
            item=msg(aid, "assistant", status="in_progress"),
        ),
        E(
            "conversation.item.added",
            previous_item_id=prev,
            item=msg(aid, "assistant", status="in_progress"),
        ),
    ]
    for w in words:
        out.append(
            E(
                "response.output_audio.delta",
                response_id=rid,
                item_id=aid,
                output_index=0,
                content_index=0,
                delta=audio(ms_per_word),
            )
        )
        out.append(
            E(
                "response.output_audio_transcript.delta",
                response_id=rid,
                item_id=aid,
                output_index=0,
                content_index=0,
                delta=w,
            )
        )
    details = {"type": status, "reason": reason} if reason else None
    out.append(
        E(
            "response.done",
            response={
                "id": rid,
                "status": status,
                "status_details": details,
                "output": [msg(aid, "assistant", status=status)],
                "usage": {
                    "total_tokens": 30,
                    "input_tokens": 10,
                    "output_tokens": 20,
                    "input_token_details": {
                        "audio_tokens": 8,
                        "text_tokens": 2,
                        "cached_tokens": 1,
                    },
                    "output_token_details": {"audio_tokens": 15, "text_tokens": 5},
                },
            },
        )
    )
    return out


def test_a_vad_turn_and_reply_with_a_late_user_transcript() -> None:
    s = ConversationState()
    feed(s, E("session.created", session=SessionConfig().to_session()))
    feed(s, *user_turn("u1", None, 120, 1480))
    feed(s, *reply("r1", "a1", "u1", ["Hel", "lo ", "there"]))
    # The user's transcript arrives after the reply finished: it lands on the user's item.
    feed(
        s,
        E(
            "conversation.item.input_audio_transcription.delta",
            item_id="u1",
            content_index=0,
            delta="good ",
        ),
        E(
            "conversation.item.input_audio_transcription.completed",
            item_id="u1",
            content_index=0,
            transcript="good morning",
        ),
    )
    assert s.transcript() == [("user", "good morning"), ("assistant", "Hello there")]
    user, assistant = s.ordered_items()
    assert (user.audio_start_ms, user.audio_end_ms, user.transcript_state) == (120, 1480, "done")
    assert assistant.audio_ms == 600.0
    assert assistant.response_id == "r1"
    assert s.responses["r1"].status == "completed"
    assert s.responses["r1"].item_ids == ["a1"]
    assert s.turns[0].committed
    assert s.turns[0].audio_end_ms == 1480
    assert s.assistant_has_spoken
    assert s.active_response is None


def test_order_follows_previous_item_id_not_arrival() -> None:
    s = ConversationState()
    feed(s, *user_turn("u1", None, 0, 500), *reply("r1", "a1", "u1", ["one"]))
    feed(s, *user_turn("u2", "a1", 1000, 1500))
    # A client inserts a text item between u1 and a1, then one at the very start.
    feed(
        s,
        E(
            "conversation.item.added",
            previous_item_id="u1",
            item=msg("x1", "user", content=[{"type": "input_text", "text": "typed"}]),
        ),
    )
    feed(
        s,
        E(
            "conversation.item.added",
            previous_item_id=None,
            item=msg("s0", "system", content=[{"type": "input_text", "text": "sys"}]),
        ),
    )
    assert [i.id for i in s.ordered_items()] == ["s0", "u1", "x1", "a1", "u2"]
    assert s.items["x1"].text == "typed"
    assert s.items["u2"].transcript_state == "pending"
    feed(s, E("conversation.item.deleted", item_id="x1"))
    assert [i.id for i in s.ordered_items()] == ["s0", "u1", "a1", "u2"]


def test_barge_in_cancels_and_truncates() -> None:
    s = ConversationState()
    feed(s, *user_turn("u1", None, 0, 700))
    feed(
        s,
        *reply("r1", "a1", "u1", ["a", "b", "c", "d"], status="cancelled", reason="turn_detected"),
    )
    feed(s, E("conversation.item.truncated", item_id="a1", content_index=0, audio_end_ms=350))
    a1 = s.items["a1"]
    assert a1.audio_ms == 800.0
    assert a1.truncated_at_ms == 350
    assert s.responses["r1"].status == "cancelled"
    assert s.responses["r1"].reason == "turn_detected"


def test_usage_totals_across_responses() -> None:
    s = ConversationState()
    feed(s, *user_turn("u1", None, 0, 500), *reply("r1", "a1", "u1", ["x"]))
    feed(s, *user_turn("u2", "a1", 900, 1500), *reply("r2", "a2", "u2", ["y"]))
    assert s.usage == {
        "input_tokens": 20,
        "output_tokens": 40,
        "total_tokens": 60,
        "input_text_tokens": 4,
        "input_audio_tokens": 16,
        "input_cached_tokens": 2,
        "output_text_tokens": 10,
        "output_audio_tokens": 30,
    }


def test_function_call_arguments_and_output() -> None:
    s = ConversationState()
    fc = {
        "id": "f1",
        "type": "function_call",
        "status": "in_progress",
        "call_id": "call_1",
        "name": "weather",
    }
    feed(
        s,
        E("response.created", response={"id": "r1", "status": "in_progress", "output": []}),
        E("response.output_item.added", response_id="r1", output_index=0, item=fc),
        E(
            "response.function_call_arguments.delta",
            response_id="r1",
            item_id="f1",
            output_index=0,
            call_id="call_1",
            delta='{"city": ',
        ),
        E(
            "response.function_call_arguments.delta",
            response_id="r1",
            item_id="f1",
            output_index=0,
            call_id="call_1",
            delta='"Oslo"}',
        ),
    )
    assert s.items["f1"].arguments == '{"city": "Oslo"}'
    assert s.active_response is not None
    assert s.active_response.id == "r1"
    feed(
        s,
        E(
            "response.function_call_arguments.done",
            response_id="r1",
            item_id="f1",
            output_index=0,
            call_id="call_1",
            name="weather",
            arguments='{"city": "Oslo"}',
        ),
        E(
            "conversation.item.added",
            previous_item_id="f1",
            item={
                "id": "o1",
                "type": "function_call_output",
                "call_id": "call_1",
                "output": "12 C",
            },
        ),
    )
    assert s.items["f1"].name == "weather"
    assert s.items["o1"].output == "12 C"
    assert [i.id for i in s.ordered_items()] == ["f1", "o1"]


def test_g711_audio_is_counted_at_8_bytes_per_ms_and_errors_kept() -> None:
    s = ConversationState()
    feed(
        s, E("session.updated", session=SessionConfig(output_audio_format="g711_ulaw").to_session())
    )
    feed(s, *reply("r1", "a1", "u0", ["x"], ms_per_word=250)[:4])
    assert s.items["a1"].audio_bytes == 250 * 48
    assert s.items["a1"].audio_ms == 250 * 48 / 8
    feed(
        s,
        E(
            "error",
            error={
                "type": "invalid_request_error",
                "code": "cannot_update_voice",
                "message": "no",
                "param": "session.audio.output.voice",
            },
        ),
    )
    assert s.errors[-1].code == "cannot_update_voice"


def test_failed_transcription_and_unknown_events_are_recorded() -> None:
    s = ConversationState()
    feed(s, *user_turn("u1", None, 0, 400))
    feed(
        s,
        E(
            "conversation.item.input_audio_transcription.failed",
            item_id="u1",
            content_index=0,
            error={
                "type": "transcription_error",
                "code": "unavailable",
                "message": "no recogniser",
            },
        ),
    )
    feed(s, {"type": "something.new", "event_id": "z"})
    assert s.items["u1"].transcript_state == "failed"
    assert s.items["u1"].transcript_error == "no recogniser"
    assert s.unknown_events == 1


def test_base64_size_without_decoding() -> None:
    for n in range(50):
        text = base64.b64encode(b"x" * n).decode()
        assert base64_decoded_size(text) == n
