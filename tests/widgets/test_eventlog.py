"""EventLog: both directions, batched, audio as byte counts; history exports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from realtime_widgets import SessionConfig
from realtime_widgets.client import Endpoint, RealtimeSession
from realtime_widgets.server.app import LocalServer
from realtime_widgets.widgets.eventlog import EventLog
from tests.waiting import eventually


def test_rows_both_ways_batched_and_exported(tmp_path: Path) -> None:
    server = LocalServer(pace=0, speech=False).start()
    s = RealtimeSession(
        SessionConfig(output_modalities=["text"], turn_detection=None),
        endpoint=Endpoint.local(server.url, "m"),
    )
    try:
        s.connect()
        log = EventLog(s)
        s.append_audio(np.zeros(24000, np.int16))
        mark = s.mark()
        s.send_text("log me")
        s.wait_for("response.done", since=mark)

        def rows_sent() -> list[dict]:  # the log pushes its rows in batches
            return [r for content, _ in log.comm.custom() for r in content["rows"]]

        eventually(lambda: any(r["type"] == "response.done" for r in rows_sent()), 10)
        rows = rows_sent()
        types = [(r["dir"], r["type"]) for r in rows]
        assert ("out", "input_audio_buffer.append") in types
        assert ("out", "conversation.item.create") in types
        assert ("in", "response.done") in types
        append = next(r for r in rows if r["type"] == "input_audio_buffer.append")
        assert append["data"]["audio"] == "<48000 bytes>"
        assert log.batches_sent < len(rows)  # batched, not one message per event
        n = s.events.to_jsonl(tmp_path / "events.jsonl")
        lines = [json.loads(x) for x in (tmp_path / "events.jsonl").read_text().splitlines()]
        assert n == len(lines) == len(s.events)
        assert lines[0]["type"] == "session.created"
    finally:
        s.close()
        server.stop()
