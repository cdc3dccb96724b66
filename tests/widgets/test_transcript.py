"""TranscriptView: O(delta) messages in conversation order, and a snapshot for saved notebooks."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator

import pytest

from realtime_widgets import SessionConfig
from realtime_widgets.client import Endpoint, RealtimeSession
from realtime_widgets.protocol.events import parse_server_event
from realtime_widgets.protocol.redaction import REDACTED
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


# ---- the toolbar: clear, download, new conversation ----------------------------------------


def _typed(item_id: str, text: str, after: str | None) -> dict[str, object]:
    return {
        "type": "conversation.item.added",
        "previous_item_id": after,
        "item": {
            "id": item_id,
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": text}],
        },
    }


def _spoken(item_id: str, after: str | None) -> dict[str, object]:
    return {
        "type": "conversation.item.added",
        "previous_item_id": after,
        "item": {
            "id": item_id,
            "type": "message",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        },
    }


def _files(view: TranscriptView) -> dict[str, dict[str, object]]:
    """The files the view handed the browser to save, by name (the newest of each)."""
    return {op["filename"]: op for op, _ in view.comm.custom() if op.get("op") == "file"}


def test_clear_empties_the_view_not_the_conversation_and_later_items_show() -> None:
    view = TranscriptView()
    _feed(view, _typed("u1", "first", None), *_reply_cut({"type": "completed"}))
    assert [r["id"] for r in view.snapshot] == ["u1", "a"]
    view.handle_browser({"type": "clear"}, [], 0.0)
    assert view.comm.custom()[-1][0] == {"op": "clear"}
    assert view.snapshot == []
    assert set(view.state.items) == {"u1", "a"}  # the session still holds them
    # A late event for a cleared item does not bring it back; a new item shows.
    late = _feed(
        view,
        {
            "type": "response.output_audio_transcript.delta",
            "response_id": "r",
            "item_id": "a",
            "output_index": 0,
            "content_index": 0,
            "delta": " more",
        },
        _typed("u2", "second", "a"),
    )
    assert [op["op"] for op in late] == ["item"]
    assert late[0]["id"] == "u2"
    assert [r["id"] for r in view._snapshot_rows()] == ["u2"]  # the next snapshot's rows
    assert view.transcript_text().count(": ") == 1
    assert [i["id"] for i in json.loads(view.transcript_json())["items"]] == ["u2"]


def test_the_text_download_has_speaker_time_and_final_texts_with_their_notes() -> None:
    view = TranscriptView()
    events = _reply_cut({"type": "cancelled", "reason": "turn_detected"}, 1700)
    _feed(view, _typed("u1", "what is the weather", None), _spoken("u2", "u1"), *events)
    _feed(
        view,
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "item_id": "u2",
            "content_index": 0,
            "transcript": "and tomorrow?",
        },
    )
    view.handle_browser({"type": "download", "format": "text"}, [], 0.0)
    file = _files(view)["transcript.txt"]
    assert file["mime"] == "text/plain"
    assert file["text"] == view.transcript_text()
    lines = str(file["text"]).splitlines()
    assert lines[0].startswith("Transcript, saved ")
    turns = [re.sub(r"^\[\d\d:\d\d:\d\d\] ", "[t] ", line) for line in lines[2:]]
    assert turns == [
        "[t] You: what is the weather",
        "[t] You: and tomorrow?",  # the transcript that came later, not "(awaiting transcript)"
        "[t] Assistant: You said: (cut off when you spoke, 1.7 s heard)",
    ]


def test_the_json_download_holds_the_items_as_the_session_does() -> None:
    view = TranscriptView()
    _feed(view, _typed("u1", "hello", None), *_reply_cut({"type": "completed"}, 800))
    view.handle_browser({"type": "download", "format": "json"}, [], 0.0)
    file = _files(view)["transcript.json"]
    assert file["mime"] == "application/json"
    data = json.loads(str(file["text"]))
    assert data["format"] == "realtime_widgets.transcript"
    items = {i["id"]: i for i in data["items"]}
    assert list(items) == ["u1", "a"]
    assert items["u1"]["role"] == "user"
    assert items["u1"]["text"] == "hello"
    assert items["u1"]["content_types"] == ["input_text"]
    assert items["a"]["text"] == "You said:"
    assert items["a"]["truncated_at_ms"] == 800
    assert items["a"]["response_id"] == "r"
    assert items["a"]["note"] == "(truncated at 0.8 s)"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}", items["a"]["seen_at"])
    assert "chunks" not in items["a"]  # the text is given whole
    view.handle_browser({"type": "download", "format": "pdf"}, [], 0.0)  # unknown: nothing
    assert set(_files(view)) == {"transcript.json"}


def test_downloads_of_a_live_session_name_it(server: LocalServer) -> None:
    s = RealtimeSession(
        SessionConfig(output_modalities=["text"]), endpoint=Endpoint.local(server.url, "m")
    )
    s.connect()
    try:
        view = TranscriptView(s)
        for text in ("first message", "second message"):
            mark = s.mark()
            s.send_text(text)
            s.wait_for("response.done", since=mark)
        text, data = view.transcript_text(), json.loads(view.transcript_json())
        assert text.startswith("Transcript, model m, saved ")  # GA events carry no session id
        assert (data["session_id"], data["model"]) == (s.session_id, "m")
        assert [(i["role"], i["text"][:10]) for i in data["items"]] == [
            ("user", "first mess"),
            ("assistant", "You said: "),
            ("user", "second mes"),
            ("assistant", "You said: "),
        ]
    finally:
        s.close()


TOKEN = "mcp-token-0123456789"


def test_downloads_and_rows_carry_no_mcp_secret() -> None:
    """An MCP item that carries the server's authorization (a server echoing it), and a function
    call whose arguments hold an MCP tool with its token: neither reaches the rows, the
    snapshot or a download (the redaction of protocol/redaction.py, the secrets marked)."""
    view = TranscriptView()
    mcp = {"type": "mcp", "server_label": "docs", "server_url": "https://mcp.example"}
    arguments = json.dumps({"tool": {**mcp, "authorization": TOKEN}, "why": "add docs"})
    ops = _feed(
        view,
        _typed("u1", "add the docs server", None),
        {
            "type": "conversation.item.added",
            "previous_item_id": "u1",
            "item": {
                "id": "m1",
                "type": "mcp_call",
                "server_label": "docs",
                "name": "search",
                "arguments": "{}",
                "output": "found it",
                "authorization": TOKEN,
                "headers": {"Authorization": f"Bearer {TOKEN}"},
            },
        },
        {
            "type": "conversation.item.added",
            "previous_item_id": "m1",
            "item": {
                "id": "f1",
                "type": "function_call",
                "status": "completed",
                "call_id": "c1",
                "name": "add_tool",
                "arguments": arguments,
            },
        },
    )
    # The same arguments streamed: from the secret's name on, no delta carries the text.
    streamed = {"response_id": "r", "item_id": "f2", "output_index": 0, "call_id": "c2"}
    ops += _feed(
        view,
        {
            "type": "response.output_item.added",
            "response_id": "r",
            "output_index": 0,
            "item": {"id": "f2", "type": "function_call", "name": "add_tool", "call_id": "c2"},
        },
        *[
            {
                "type": "response.function_call_arguments.delta",
                **streamed,
                "delta": arguments[i : i + 7],
            }
            for i in range(0, len(arguments), 7)
        ],
    )
    assert any(op["op"] == "delta" for op in ops)  # before the secret's name
    last = [op for op in ops if op.get("id") == "f2"][-1]
    assert last["op"] == "text"
    assert f'"authorization": "{REDACTED}"' in last["text"]
    text, saved = view.transcript_text(), view.transcript_json()
    shown = json.dumps([ops, view._snapshot_rows()])
    for body in (text, saved, shown):
        assert TOKEN not in body
    items = {i["id"]: i for i in json.loads(saved)["items"]}
    assert list(items) == ["u1", "m1", "f1", "f2"]
    kept = json.loads(items["f1"]["arguments"])  # the rest of the arguments is kept
    assert kept == {"tool": {**mcp, "authorization": REDACTED}, "why": "add docs"}
    assert "add_tool(" in text
    assert REDACTED in text


def test_a_download_and_a_notice_answer_only_the_view_that_asked() -> None:
    """Two views of one transcript (two displays): each reply carries the token of the view
    that asked, so one Download saves one file (transcript.js keeps only its own)."""
    view = TranscriptView()
    _feed(view, _typed("u1", "hello", None))
    view.handle_browser({"type": "download", "format": "text", "view": "left"}, [], 0.0)
    view.handle_browser({"type": "download", "format": "json", "view": "right"}, [], 0.0)
    files = [(op["filename"], op["view"]) for op, _ in view.comm.custom() if op["op"] == "file"]
    assert files == [("transcript.txt", "left"), ("transcript.json", "right")]
    view.handle_browser({"type": "audio", "id": "u1", "view": "right"}, [], 0.0)
    assert view.comm.custom()[-1][0] == {
        "op": "audio",
        "id": "u1",
        "view": "right",
        "error": "no audio kept for this item",
    }

    def broken() -> None:
        raise RuntimeError("the server went away")

    view.on_new_conversation(broken)
    view._on_browser(view, {"type": "new", "view": "left"}, [])
    assert view.comm.custom()[-1][0] == {
        "op": "notice",
        "view": "left",
        "error": "new conversation failed: the server went away",
    }


def test_new_conversation_is_offered_only_with_a_hook_and_runs_on_the_callers_thread() -> None:
    # Its failure, in the real flow (the playground's connect raising): test_playground.py.
    view = TranscriptView()
    assert view.restartable is False
    calls: list[str] = []
    view.on_new_conversation(lambda: calls.append(threading.current_thread().name))
    assert view.restartable is True
    view._on_browser(view, {"type": "new", "view": "v"}, [])
    assert calls == [threading.current_thread().name]
    view.on_new_conversation(None)
    assert view.restartable is False
