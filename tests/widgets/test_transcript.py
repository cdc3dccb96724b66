"""TranscriptView: O(delta) messages in conversation order, and a snapshot for saved notebooks."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from realtime_widgets import SessionConfig
from realtime_widgets.client import Endpoint, RealtimeSession
from realtime_widgets.protocol.events import parse_server_event
from realtime_widgets.server.app import LocalServer
from realtime_widgets.widgets.transcript import TranscriptView


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    srv = LocalServer(pace=0, speech=False).start()
    yield srv
    srv.stop()


def test_a_turn_streams_as_small_ops_and_snapshots(server: LocalServer) -> None:
    s = RealtimeSession(
        SessionConfig(output_modalities=["text"]), endpoint=Endpoint.local(server.url, "m")
    )
    s.connect()
    try:
        view = TranscriptView(s)
        mark = s.mark()
        s.send_text("hello there")
        s.wait_for("response.done", since=mark)
        ops = [content for content, _ in view.comm.custom()]
        deltas = [op for op in ops if op["op"] == "delta"]
        assert len(deltas) > 5
        assert all(len(op["text"]) < 40 for op in deltas)  # each message carries one delta
        items = [op for op in ops if op["op"] == "item"]
        assert [op["role"] for op in items] == ["user", "assistant"]
        assert items[1]["after"] == items[0]["id"]
        assert [(r["role"], r["text"][:10]) for r in view.snapshot] == [
            ("user", "hello ther"),
            ("assistant", "You said: "),
        ]
    finally:
        s.close()


def _feed(view: TranscriptView, *events: dict) -> list[dict]:
    before = len(view.comm.messages)
    for e in events:
        event = parse_server_event(json.dumps({"event_id": "e", **e}))
        view.state.apply(event)
        view.observe_event(event)
    new = view.comm.messages[before:]
    return [d["content"] for d, _ in new if d.get("method") == "custom"]


def test_cost_per_delta_is_flat_over_10000_deltas() -> None:
    view = TranscriptView()
    _feed(
        view,
        {
            "type": "conversation.item.added",
            "previous_item_id": None,
            "item": {"id": "a", "type": "message", "role": "assistant", "content": []},
        },
    )
    sizes = []
    for i in range(10000):
        ops = _feed(
            view,
            {
                "type": "response.output_audio_transcript.delta",
                "response_id": "r",
                "item_id": "a",
                "output_index": 0,
                "content_index": 0,
                "delta": f"w{i % 10} ",
            },
        )
        sizes.append(len(json.dumps(ops)))
    assert max(sizes[:1000]) == max(sizes[-1000:])  # message size does not grow with the transcript
    assert len(view.state.items["a"].text) == 10000 * 3


def test_late_user_transcript_truncation_and_failures_are_shown() -> None:
    view = TranscriptView()
    ops = _feed(
        view,
        {
            "type": "conversation.item.added",
            "previous_item_id": None,
            "item": {
                "id": "u",
                "type": "message",
                "role": "user",
                "content": [{"type": "input_audio", "transcript": None}],
            },
        },
        {
            "type": "conversation.item.added",
            "previous_item_id": "u",
            "item": {"id": "a", "type": "message", "role": "assistant", "content": []},
        },
        {
            "type": "conversation.item.truncated",
            "item_id": "a",
            "content_index": 0,
            "audio_end_ms": 2300,
        },
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "item_id": "u",
            "content_index": 0,
            "transcript": "late words",
        },
    )
    assert ops[0]["note"] == "(awaiting transcript)"
    assert {
        "op": "text",
        "id": "a",
        "role": "assistant",
        "type": "message",
        "text": "",
        "note": "(truncated at 2.3 s)",
        "audio": False,
    } in ops
    assert ops[-1]["id"] == "u"
    assert ops[-1]["text"] == "late words"


def _reply_cut(
    details: dict[str, object], truncate_ms: int | None = None, truncated_first: bool = False
) -> list[dict[str, object]]:
    """A reply that stopped short; a client truncate, if any, answered after response.done
    (a barge-in's order: the server cancels, then the speaker reports what was heard)."""
    events: list[dict[str, object]] = [
        {
            "type": "response.created",
            "response": {
                "id": "r",
                "object": "realtime.response",
                "status": "in_progress",
                "output": [],
            },
        },
        {
            "type": "response.output_item.added",
            "response_id": "r",
            "output_index": 0,
            "item": {
                "id": "a",
                "type": "message",
                "role": "assistant",
                "status": "in_progress",
                "content": [],
            },
        },
        {
            "type": "response.output_audio_transcript.delta",
            "response_id": "r",
            "item_id": "a",
            "output_index": 0,
            "content_index": 0,
            "delta": "You said:",
        },
    ]
    truncated = {
        "type": "conversation.item.truncated",
        "item_id": "a",
        "content_index": 0,
        "audio_end_ms": truncate_ms,
    }
    if truncate_ms is not None and truncated_first:
        events.append(truncated)
    events.append(
        {
            "type": "response.done",
            "response": {
                "id": "r",
                "object": "realtime.response",
                "status": details["type"],
                "status_details": details,
                "output": [
                    {
                        "id": "a",
                        "type": "message",
                        "role": "assistant",
                        "status": "incomplete",
                        "content": [],
                    }
                ],
            },
        }
    )
    if truncate_ms is not None and not truncated_first:
        events.append(truncated)
    return events


@pytest.mark.parametrize(
    ("details", "truncate_ms", "note"),
    [
        ({"type": "cancelled", "reason": "turn_detected"}, None, "(cut off when you spoke)"),
        (
            {"type": "cancelled", "reason": "turn_detected"},
            1200,
            "(cut off when you spoke, 1.2 s heard)",
        ),
        ({"type": "cancelled", "reason": "client_cancelled"}, None, "(cancelled)"),
        (
            {"type": "incomplete", "reason": "max_output_tokens"},
            None,
            "(stopped at max_output_tokens)",
        ),
        (
            {
                "type": "failed",
                "error": {"type": "server_error", "message": "The model broke. Try again."},
            },
            None,
            "(reply failed: the model broke)",
        ),
    ],
)
def test_a_reply_that_stopped_short_says_why(
    details: dict[str, object], truncate_ms: int | None, note: str
) -> None:
    ops = _feed(TranscriptView(), *_reply_cut(details, truncate_ms))
    last = [op for op in ops if op.get("id") == "a"][-1]
    assert last["op"] == "text"
    assert last["text"] == "You said:"
    assert last["note"] == note


def test_a_completed_reply_has_no_note() -> None:
    events = _reply_cut({"type": "completed"})
    events[-1]["response"]["status"] = "completed"  # type: ignore[index]
    ops = _feed(TranscriptView(), *events)
    assert all(op.get("note", "") == "" for op in ops if op.get("id") == "a")


def test_the_note_is_the_same_whichever_comes_first_truncate_or_done() -> None:
    details = {"type": "cancelled", "reason": "turn_detected"}
    for first in (False, True):
        ops = _feed(TranscriptView(), *_reply_cut(details, 900, truncated_first=first))
        last = [op for op in ops if op.get("id") == "a"][-1]
        assert last["note"] == "(cut off when you spoke, 0.9 s heard)"
