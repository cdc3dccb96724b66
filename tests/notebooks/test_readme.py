"""The README's GPT-Live block, run as a reader runs it (no key: the embedded local server, in a
process of its own), prints what its comments and the prose around it say."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from realtime_widgets.audio.wav import write_wav
from tests.speech import THREE_TURNS, recorded_clip

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
TIMEOUT = 240 * float(os.environ.get("RW_TESTS_TIMEOUT_FACTOR", "1"))

# Before the block: the session lasts over a second before it is ended, as a person's would.
# The server bills whole seconds from session.started, and here a file sent at once is heard
# and answered in about 0.8 s: it billed 0 s, with nothing to price and no upper bound to say.
PRELUDE = """
import time as _time
import realtime_widgets as _rw

_end = _rw.LiveSession.close_session


def _after_a_second(self, *args, **kwargs):
    _time.sleep(1.2)
    return _end(self, *args, **kwargs)


_rw.LiveSession.close_session = _after_a_second
"""

# After the block: what the session recorded, for the checks below.
PROBE = """
import json as _json

_h = list(session.history)
print("PROBE " + _json.dumps({
    "appends": [e.t for e in _h if e.type == "session.input_audio.append"],
    "audio": [e.t for e in _h if e.type == "session.output_audio.delta"],
    "latencies": session.metrics.latencies_ms(),
    "speech_end": [t.speech_end for t in session.metrics.turns],
    "note": session.cost_report.note,
}))
"""


def readme() -> str:
    return (ROOT / "README.md").read_text()


def live_block() -> str:
    blocks = re.findall(r"```python\n(.*?)```", readme(), re.S)
    (block,) = [b for b in blocks if "rw.LiveSession(" in b]
    return block


def test_the_readme_live_block_prints_what_it_says(tmp_path: Path) -> None:
    """A question in a WAV file, sent at once as the block does: the latency it prints is at
    most the time from that send to the model's first audio (the end of speech is not placed
    before the file left), and the usage it prints has no active/paused split, as its comment
    says, priced as an upper bound."""
    pytest.importorskip("faster_whisper", reason="the offline extra (faster-whisper) is needed")
    clip = recorded_clip(*THREE_TURNS)
    question = clip.samples[: int((clip.truth[0][1] + 200) * 24)]
    write_wav(tmp_path / "question.wav", np.concatenate([question, np.zeros(36_000, np.int16)]))
    block = live_block()
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", PRELUDE + block + PROBE],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    probe = json.loads(next(line for line in lines if line.startswith("PROBE "))[6:])
    # The usage line: seconds, no breakdown over a WebSocket, as the comment says.
    assert "no active/paused split over a WebSocket" in block
    assert "an upper bound" in block
    (usage,) = [line for line in lines if line.startswith("DurationUsage(")]
    assert "active_seconds=None, paused_seconds=None" in usage
    assert "seconds=0.0," not in usage  # (the prelude: over a second billed)
    assert "upper bound" in probe["note"]
    # The latency line: the end of speech is no earlier than the file was sent, so the
    # latency is at most the session's own record from that send to the first audio.
    (latency,) = probe["latencies"]
    sent, first_audio = probe["appends"][0], probe["audio"][0]
    assert probe["speech_end"][0] >= probe["appends"][-1]
    assert 0 < latency <= round((first_audio - sent) * 1000, 1) + 0.1
    assert "a file sent at once: from its send" in block


def test_the_readme_says_what_a_live_websocket_session_bills() -> None:
    """Over a WebSocket the usage is seconds only and a mute is no pause (notebook 06 and the
    meters say so); the README said the muted seconds were paused."""
    text = " ".join(readme().split())
    assert "`paused_seconds` while the input is muted" not in text
    assert "Over a WebSocket it carries `seconds` only" in text
    assert "A mute is not a pause" in text
    assert "the dollars are an upper bound" in text
