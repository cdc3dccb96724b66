"""Reading recordings: every line that is not a recording row is named as ``path:line: why``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from realtime_widgets.client import RealtimeSession, read_recording
from realtime_widgets.client.recording import unused_path
from realtime_widgets.errors import ProtocolError
from realtime_widgets.protocol.events import MAX_JSON_DEPTH

GOOD = json.dumps({"t": 0.0, "dir": "in", "event": {"type": "input_audio_buffer.cleared"}})


def row(event: object, t: object = 0.5, direction: object = "in") -> str:
    return json.dumps({"t": t, "dir": direction, "event": event})


BAD = {
    "not-json": ("{nope", "not JSON: Expecting property name"),
    "100k-deep": (
        '{"t":0,"dir":"in","event":{"type":"x","a":' + "[" * 100_000 + "]" * 100_000 + "}}",
        f"nested more than {MAX_JSON_DEPTH + 1} levels deep",
    ),
    "just-deeper-than-allowed": (
        row({"type": "x", "a": json.loads("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)}),
        f"nested more than {MAX_JSON_DEPTH + 1} levels deep",
    ),
    "not-an-object": (
        "[1, 2]",
        "a row must be a JSON object with 't', 'dir' and 'event', got list",
    ),
    "no-t": (json.dumps({"dir": "in", "event": {"type": "x"}}), "'t' must be a number, got None"),
    "t-a-string": (row({"type": "x"}, t="soon"), "'t' must be a number, got 'soon'"),
    "bad-dir": (row({"type": "x"}, direction="up"), "'dir' must be 'in' or 'out', got 'up'"),
    "event-a-list": (row([1]), "'event' must be an object with a string 'type', got list"),
    "type-not-a-string": (row({"type": 5}), "'event' must be an object with a string 'type'"),
    "no-type": (row({"item": {}}), "'event' must be an object with a string 'type'"),
    "raw-not-a-string": (
        json.dumps({"t": 0, "dir": "in", "raw": 5}),
        "'raw' must be the text of a frame, got int",
    ),
}


@pytest.mark.parametrize(("line", "why"), BAD.values(), ids=BAD.keys())
def test_every_bad_line_is_named_with_its_path_and_number(
    tmp_path: Path, line: str, why: str
) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text(f"{GOOD}\n\n{line}\n{GOOD}\n")
    rows = read_recording(path)
    assert next(rows).event == {"type": "input_audio_buffer.cleared"}
    with pytest.raises(ProtocolError) as caught:
        next(rows)
    assert str(caught.value).startswith(f"{path}:3: ")
    assert why in str(caught.value)
    # A replay stops at the same line with the same words, after playing the rows before it.
    replayed = RealtimeSession.replay(path, speed=0)
    seen: list[str] = []
    replayed.on("*", lambda e: seen.append(e.type))
    try:
        with pytest.raises(ProtocolError) as in_replay:
            replayed.play()
    finally:
        replayed.close()
    assert str(in_replay.value) == str(caught.value)
    assert seen[:1] == ["input_audio_buffer.cleared"]


def test_a_row_as_deep_as_allowed_is_read(tmp_path: Path) -> None:
    deepest = json.loads("[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1))
    path = tmp_path / "run.jsonl"
    path.write_text(row({"type": "x", "a": deepest}) + "\n")
    (recorded,) = read_recording(path)
    assert recorded.event["a"] == deepest


def test_a_replay_runs_no_tool_and_keeps_no_call_for_one(tmp_path: Path) -> None:
    """A recorded function call replayed into a session that has the tool registered: the
    tool does not run (the recording has what was sent back) and nothing piles up."""
    events = [
        {"type": "response.created", "event_id": "e1", "response": {"id": "resp_1"}},
        {
            "type": "response.function_call_arguments.done",
            "event_id": "e2",
            "response_id": "resp_1",
            "item_id": "item_1",
            "output_index": 0,
            "call_id": "call_1",
            "name": "lookup",
            "arguments": '{"q": 1}',
        },
        {
            "type": "response.done",
            "event_id": "e3",
            "response": {"id": "resp_1", "object": "realtime.response", "status": "completed"},
        },
    ]
    path = tmp_path / "calls.jsonl"
    path.write_text("\n".join(row(e, t=0.1 * i) for i, e in enumerate(events)) + "\n")
    ran: list[int] = []
    replayed = RealtimeSession.replay(path, speed=0)
    try:

        @replayed.tool
        def lookup(q: int) -> str:
            """Look something up."""
            ran.append(q)
            return "found"

        replayed.play()
        assert replayed.core.take_tool_batches() == []
        assert ran == []
    finally:
        replayed.close()


def test_unused_path_never_names_an_existing_recording(tmp_path: Path) -> None:
    first = tmp_path / "talk.jsonl"
    assert unused_path(first) == first
    first.write_text("kept\n")
    assert unused_path(first) == tmp_path / "talk-2.jsonl"
    (tmp_path / "talk-2.jsonl").write_text("kept too\n")
    assert unused_path(first) == tmp_path / "talk-3.jsonl"
    assert unused_path(tmp_path / "raw") == tmp_path / "raw"
