"""Recordings and the event log: MCP credentials are replaced, everything else kept as sent."""

from __future__ import annotations

import json
from pathlib import Path

from realtime_widgets.client.core import ClientCore
from realtime_widgets.client.history import HistoryEntry, light
from realtime_widgets.client.recording import Recorder, read_recording
from tests.protocol.test_secrets import CONFIG, HEADER, TOKEN


def test_recordings_and_the_event_log_never_hold_an_mcp_secret(tmp_path: Path) -> None:
    update = CONFIG.to_session_update(event_id="evt_1")
    updated = {"type": "session.updated", "event_id": "e2", "session": CONFIG.to_session()}
    path = tmp_path / "session.jsonl"
    recorder = Recorder(path)
    recorder.write("out", json.dumps(update))  # what the transport records: the sent text
    recorder.write("in", json.dumps(updated))  # a server that echoes the token back
    recorder.close()
    text = path.read_text()
    assert TOKEN not in text
    assert HEADER not in text
    rows = list(read_recording(path))
    tool = rows[0].event["session"]["tools"][0]
    assert tool["server_label"] == "docs"
    assert tool["authorization"] == "<secret: not recorded>"
    assert rows[1].event["session"]["tools"][0]["headers"] == "<secret: not recorded>"
    # The event log's entries, outgoing (light at once) and incoming (light when read).
    for data in (light(update), HistoryEntry(0.0, "in", "x", None, json.dumps(updated)).data):
        shown = json.dumps(data)
        assert TOKEN not in shown
        assert HEADER not in shown
    assert update["session"]["tools"][0]["authorization"] == TOKEN  # what is sent is untouched


def test_a_history_entry_and_a_protocol_error_never_show_an_mcp_secret() -> None:
    """What a notebook displays of the history (an entry's repr) and the frame a protocol
    error quotes hold no token, even when the server echoed one or sent it in a broken frame."""
    updated = {"type": "session.updated", "event_id": "e2", "session": CONFIG.to_session()}
    core = ClientCore()
    core.receive(json.dumps(updated))
    core.receive('{"type": "session.updated", "session": {"tools": [{"authorization": "' + TOKEN)
    entries = list(core.history)
    assert entries, "the history keeps the events"
    shown = repr(entries) + json.dumps([e.data for e in entries])
    assert TOKEN not in shown
    assert HEADER not in shown
    errors = [e.data for e in entries if e.type == "client.protocol_error"]
    assert len(errors) == 1
    assert TOKEN not in errors[0]["frame"]
    assert "secret" in errors[0]["frame"]


def test_a_frame_known_to_be_json_is_recorded_as_it_is_unless_it_names_a_secret(
    tmp_path: Path,
) -> None:
    path = tmp_path / "fast.jsonl"
    recorder = Recorder(path)
    plain = '{"type":"input_audio_buffer.append","audio":"AAAA"}'
    updated = json.dumps({"type": "session.updated", "session": CONFIG.to_session()})
    recorder.write("out", plain, json_object=True)
    recorder.write("in", updated, json_object=True)
    recorder.close()
    first, second = path.read_text().splitlines()
    assert first.endswith(',"dir":"out","event":' + plain + "}")  # written, not re-encoded
    assert TOKEN not in second  # named a secret key: parsed and redacted
    rows = list(read_recording(path))
    assert rows[0].event == json.loads(plain)
    assert rows[1].event["session"]["tools"][0]["authorization"] == "<secret: not recorded>"
