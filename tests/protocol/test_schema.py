"""The JSON schema of SessionConfig is a reviewed artifact: any change must be deliberate.

To accept a change: UPDATE_SNAPSHOTS=1 make pytest, then review the diff of
tests/snapshots/session_config.schema.json like code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from realtime_widgets import SessionConfig

SNAPSHOT = Path(__file__).parent.parent / "snapshots" / "session_config.schema.json"


def test_schema_matches_the_reviewed_snapshot() -> None:
    current = json.dumps(SessionConfig.json_schema(), indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(current)
    assert SNAPSHOT.exists(), "no snapshot: run with UPDATE_SNAPSHOTS=1 and review it"
    assert current == SNAPSHOT.read_text(), (
        "SessionConfig's schema changed; if intended, regenerate with UPDATE_SNAPSHOTS=1 "
        "and review the diff"
    )


def test_schema_carries_ranges_enums_and_wire_paths() -> None:
    schema = SessionConfig.json_schema()
    speed = schema["properties"]["speed"]
    assert (speed["minimum"], speed["maximum"], speed["x-ga"]) == (0.25, 1.5, "audio.output.speed")
    vad = schema["$defs"]["ServerVad"]["properties"]
    assert (vad["threshold"]["minimum"], vad["threshold"]["maximum"]) == (0.0, 1.0)
    assert schema["properties"]["temperature"]["x-ga"] is None
    assert schema["properties"]["voice"]["x-mutable"] == "until_assistant_audio"
    voices = schema["properties"]["voice"]["oneOf"][0]["enum"]
    assert "marin" in voices
    assert len(voices) == 10
