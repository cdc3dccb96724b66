"""ConversationState under the GA flows: conversation editing, out-of-band responses, MCP
approvals, images, and transcription sessions. The state is checked after every event."""

from __future__ import annotations

from typing import Any

import numpy as np

from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol import items
from realtime_widgets.protocol.images import encode_png
from realtime_widgets.protocol.state import ConversationState

from .sdk_oracle import check_server_event


def _feed(state: ConversationState, event: dict[str, Any]) -> None:
    event = {"event_id": f"event_{state.events_applied}", **event}
    check_server_event(event)  # every scripted event is one OpenAI could send
    state.apply(ev.parse_server_event(event))


def _message(item_id: str, role: str, text: str) -> dict[str, Any]:
    kind = "output_text" if role == "assistant" else "input_text"
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "status": "completed",
        "role": role,
        "content": [{"type": kind, "text": text}],
    }


def _added(item: dict[str, Any], previous: str | None) -> dict[str, Any]:
    return {"type": "conversation.item.added", "previous_item_id": previous, "item": item}


def _ids(state: ConversationState) -> list[str]:
    return [it.id for it in state.ordered_items()]


def _response(
    rid: str,
    *,
    conversation_id: str | None,
    status: str = "in_progress",
    output: list[dict[str, Any]] | None = None,
    metadata: dict | None = None,
) -> dict:
    return {
        "id": rid,
        "object": "realtime.response",
        "status": status,
        "conversation_id": conversation_id,
        "output": output or [],
        "metadata": metadata,
    }


def test_items_land_where_previous_item_id_puts_them_and_edits_apply() -> None:
    state = ConversationState()
    _feed(state, _added(_message("a", "user", "one"), None))
    assert _ids(state) == ["a"]
    _feed(state, _added(_message("c", "user", "three"), "a"))
    assert _ids(state) == ["a", "c"]
    _feed(state, _added(_message("b", "assistant", "two"), "a"))  # inserted in the middle
    assert _ids(state) == ["a", "b", "c"]
    _feed(state, _added(_message("z", "system", "first"), None))  # explicit null: at the start
    assert _ids(state) == ["z", "a", "b", "c"]
    _feed(state, {"type": "conversation.item.retrieved", "item": _message("c", "user", "three")})
    assert _ids(state) == ["z", "a", "b", "c"]  # retrieving never moves an item
    _feed(state, {"type": "conversation.item.deleted", "item_id": "a"})
    assert _ids(state) == ["z", "b", "c"]
    assert "a" not in state.items
    _feed(
        state,
        {
            "type": "conversation.item.truncated",
            "item_id": "b",
            "content_index": 0,
            "audio_end_ms": 640,
        },
    )
    assert state.items["b"].truncated_at_ms == 640
    assert state.transcript() == [("system", "first"), ("assistant", "two"), ("user", "three")]


def test_an_out_of_band_response_stays_out_of_the_transcript() -> None:
    state = ConversationState()
    _feed(state, _added(_message("u1", "user", "Tell me a story."), None))
    _feed(
        state,
        {"type": "response.created", "response": _response("resp_main", conversation_id="conv_1")},
    )
    _feed(
        state,
        {
            "type": "response.created",
            "response": _response(
                "resp_side", conversation_id=None, metadata={"purpose": "summary"}
            ),
        },
    )
    assert state.active_response is not None
    assert state.active_response.id == "resp_main"  # the side response does not take its place
    side = {
        "id": "item_side",
        "object": "realtime.item",
        "type": "message",
        "status": "in_progress",
        "role": "assistant",
        "content": [],
    }
    _feed(
        state,
        {
            "type": "response.output_item.added",
            "response_id": "resp_side",
            "output_index": 0,
            "item": side,
        },
    )
    assert _ids(state) == ["u1"]
    _feed(
        state,
        {
            "type": "response.output_text.delta",
            "response_id": "resp_side",
            "item_id": "item_side",
            "output_index": 0,
            "content_index": 0,
            "delta": "A short ",
        },
    )
    _feed(
        state,
        {
            "type": "response.output_text.delta",
            "response_id": "resp_side",
            "item_id": "item_side",
            "output_index": 0,
            "content_index": 0,
            "delta": "summary.",
        },
    )
    assert _ids(state) == ["u1"]
    assert state.items["item_side"].text == "A short summary."
    done_item = {
        **side,
        "status": "completed",
        "content": [{"type": "output_text", "text": "A short summary."}],
    }
    _feed(
        state,
        {
            "type": "response.output_item.done",
            "response_id": "resp_side",
            "output_index": 0,
            "item": done_item,
        },
    )
    _feed(
        state,
        {
            "type": "response.done",
            "response": _response(
                "resp_side",
                conversation_id=None,
                status="completed",
                output=[done_item],
                metadata={"purpose": "summary"},
            ),
        },
    )
    (oob,) = state.out_of_band_responses()
    assert (oob.id, oob.status, oob.metadata) == ("resp_side", "completed", {"purpose": "summary"})
    assert [it.text for it in state.response_items("resp_side")] == ["A short summary."]
    assert state.items["item_side"].out_of_band
    assert state.transcript() == [("user", "Tell me a story.")]
    # The main response still lands in the conversation.
    main = _message("item_main", "assistant", "Once upon a time.")
    _feed(
        state,
        {
            "type": "response.output_item.added",
            "response_id": "resp_main",
            "output_index": 0,
            "item": main,
        },
    )
    _feed(state, _added(main, "u1"))
    assert _ids(state) == ["u1", "item_main"]
    assert not state.response_items("resp_main")[0].out_of_band


def test_mcp_approval_request_then_answer() -> None:
    state = ConversationState()
    request = {
        "id": "mcpr_1",
        "type": "mcp_approval_request",
        "server_label": "docs",
        "name": "search",
        "arguments": '{"q": "realtime"}',
    }
    _feed(state, _added(request, None))
    (pending,) = state.pending_approvals()
    assert (pending.id, pending.server_label, pending.name, pending.arguments) == (
        "mcpr_1",
        "docs",
        "search",
        '{"q": "realtime"}',
    )
    answer = items.approve_mcp("mcpr_1", approve=False, reason="no")["item"]
    _feed(state, _added(answer, "mcpr_1"))
    assert state.pending_approvals() == []
    decided = state.items[answer["id"]]
    assert (decided.type, decided.approval_request_id, decided.approve, decided.reason) == (
        "mcp_approval_response",
        "mcpr_1",
        False,
        "no",
    )
    assert _ids(state) == ["mcpr_1", answer["id"]]


def test_a_user_image_is_kept_for_its_thumbnail() -> None:
    state = ConversationState()
    tiny = encode_png(np.zeros((2, 3), dtype=np.uint8))
    event = items.create_item(items.user_image(tiny, text="What is it?"))
    item = {**event["item"], "id": "item_img", "object": "realtime.item", "status": "completed"}
    _feed(state, _added(item, None))
    it = state.items["item_img"]
    assert it.content_types == ["input_image", "input_text"]
    assert it.image_urls == [item["content"][0]["image_url"]]
    assert it.image_urls[0].startswith("data:image/png;base64,")
    assert it.text == "What is it?"


def test_transcription_turns_are_ordered_by_previous_item_id_and_keep_logprobs() -> None:
    state = ConversationState()
    _feed(
        state, {"type": "input_audio_buffer.speech_started", "audio_start_ms": 100, "item_id": "t1"}
    )
    _feed(
        state, {"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 900, "item_id": "t1"}
    )
    _feed(
        state, {"type": "input_audio_buffer.committed", "previous_item_id": None, "item_id": "t1"}
    )
    assert _ids(state) == ["t1"]
    assert (state.items["t1"].role, state.items["t1"].audio_start_ms) == ("user", 100)
    _feed(
        state,
        {"type": "input_audio_buffer.speech_started", "audio_start_ms": 1500, "item_id": "t2"},
    )
    _feed(
        state, {"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 2100, "item_id": "t2"}
    )
    _feed(
        state, {"type": "input_audio_buffer.committed", "previous_item_id": "t1", "item_id": "t2"}
    )
    # The second turn's transcript arrives first; it still lands in the second turn.
    _feed(
        state,
        {
            "type": "conversation.item.input_audio_transcription.delta",
            "item_id": "t2",
            "content_index": 0,
            "delta": "second",
            "logprobs": [{"token": "second", "logprob": -0.1, "bytes": [115]}],
        },
    )
    _feed(
        state,
        {
            "type": "conversation.item.input_audio_transcription.delta",
            "item_id": "t1",
            "content_index": 0,
            "delta": "first ",
            "logprobs": [{"token": "first", "logprob": -2.5, "bytes": [102]}],
        },
    )
    assert _ids(state) == ["t1", "t2"]
    assert state.items["t1"].transcript_state == "partial"
    assert [lp.logprob for lp in state.items["t1"].logprobs] == [-2.5]
    _feed(
        state,
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "item_id": "t1",
            "content_index": 0,
            "transcript": "first one",
            "usage": {"type": "duration", "seconds": 0.8},
            "logprobs": [
                {"token": "first", "logprob": -2.5, "bytes": [102]},
                {"token": " one", "logprob": -0.3, "bytes": [32]},
            ],
        },
    )
    assert state.items["t1"].text == "first one"
    assert [lp.token for lp in state.items["t1"].logprobs] == ["first", " one"]
    assert state.transcript() == [("user", "first one"), ("user", "second")]
