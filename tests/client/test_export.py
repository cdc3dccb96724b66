"""Session export: any session, live or replayed, writes a stereo WAV on the session clock (the
user left, the agent right, silence where nothing played, cuts applied) and its event log as
parquet; re-read, the audio has the turn boundaries where the events put them."""

from __future__ import annotations

import base64
import io
import json
import wave as wave_module
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from realtime_widgets.client import Endpoint, RealtimeSession
from realtime_widgets.errors import ConfigError
from realtime_widgets.widgets.waveform import Waveform
from tests.waiting import eventually

RATE = 24000


def at(ms: float) -> int:
    """The WAV frame of ``ms`` on the session clock."""
    return round(ms * RATE / 1000)


def read_wav(path: Path | bytes) -> np.ndarray:
    """The WAV's frames, (n, 2) int16, checked to be stereo 16-bit at 24 kHz."""
    source = io.BytesIO(path if isinstance(path, bytes) else path.read_bytes())
    with wave_module.open(source) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, RATE)
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2)


def b64(samples: np.ndarray) -> str:
    return base64.b64encode(np.asarray(samples, "<i2").tobytes()).decode()


def delta(item: str, samples: np.ndarray) -> dict[str, Any]:
    return {
        "type": "response.output_audio.delta",
        "event_id": f"e_{item}",
        "response_id": "r",
        "item_id": item,
        "output_index": 0,
        "content_index": 0,
        "delta": b64(samples),
    }


def write_recording(path: Path, rows: list[tuple[float, str, dict[str, Any]]]) -> Path:
    path.write_text("".join(json.dumps({"t": t, "dir": d, "event": e}) + "\n" for t, d, e in rows))
    return path


# ---- a replayed recording, written by hand: every position known ------------------------------

VOICE = np.full(12000, 3000, np.int16)  # 0.5 s of the user
REPLY_A = np.arange(1, 24001, dtype=np.int16)  # 1 s of the agent, every sample its own
REPLY_B = np.full(12000, -4000, np.int16)


def scripted_recording(tmp_path: Path) -> Path:
    """The user speaks 0.5 s (sent at 1.0 s: captured 0.5-1.0 s), reply a arrives at 1.5 s and
    is cut 300 ms in (at 1.8 s), reply b arrives at 3.0 s."""
    return write_recording(
        tmp_path / "run.jsonl",
        [
            (1.0, "out", {"type": "input_audio_buffer.append", "audio": b64(VOICE)}),
            (
                1.1,
                "in",
                {
                    "type": "input_audio_buffer.speech_started",
                    "event_id": "e1",
                    "audio_start_ms": 0,
                    "item_id": "u1",
                },
            ),
            (1.5, "in", delta("a", REPLY_A)),
            (
                1.8,
                "in",
                {
                    "type": "conversation.item.truncated",
                    "event_id": "e2",
                    "item_id": "a",
                    "content_index": 0,
                    "audio_end_ms": 300,
                },
            ),
            (3.0, "in", delta("b", REPLY_B)),
        ],
    )


def test_a_replayed_session_exports_its_recording_on_the_recording_clock(tmp_path: Path) -> None:
    replayed = RealtimeSession.replay(scripted_recording(tmp_path), speed=0)
    try:
        replayed.play()
        paths = replayed.export(tmp_path / "out" / "talk")
    finally:
        replayed.close()
    assert paths == {
        "wav": tmp_path / "out" / "talk.wav",
        "events": tmp_path / "out" / "talk.events.parquet",
    }
    frames = read_wav(paths["wav"])
    left, right = frames[:, 0], frames[:, 1]
    assert len(frames) == at(3500)  # to the end of the later side: reply b's end
    # the user where the append was sent (a new run: captured in the 0.5 s before it)
    assert not left[: at(500)].any()
    assert (left[at(500) : at(1000)] == VOICE).all()
    assert not left[at(1000) :].any()
    # the agent: reply a from its arrival, cut 300 ms in; silence; reply b from its arrival
    assert not right[: at(1500)].any()
    assert (right[at(1500) : at(1800)] == REPLY_A[: at(300)]).all()
    assert not right[at(1800) : at(3000)].any()
    assert (right[at(3000) : at(3500)] == REPLY_B).all()

    table = pd.read_parquet(paths["events"])
    assert list(table.columns) == ["t", "direction", "type", "event"]
    rows = table[table["type"] != "session.closed"]
    assert rows["t"].tolist() == [1.0, 1.1, 1.5, 1.8, 3.0]  # the recording's clock
    assert rows["direction"].tolist() == ["out", "in", "in", "in", "in"]
    events = [json.loads(e) for e in rows["event"]]
    assert events[0] == {"type": "input_audio_buffer.append", "audio": "<24000 bytes>"}
    assert events[1]["audio_start_ms"] == 0
    assert events[2]["delta"] == "<48000 bytes>"  # the log keeps no audio
    assert events[3]["audio_end_ms"] == 300
    # and the turn boundaries from the events alone: the speech the server heard starts at the
    # append's clock minus its length; the agent starts at its delta and stops at the cut
    append_t, append_bytes = rows["t"].iloc[0] * 1000, 24000
    speech_ms = append_t - append_bytes / 2 / RATE * 1000 + events[1]["audio_start_ms"]
    assert left[at(speech_ms)] != 0
    assert not left[at(speech_ms) - 1]
    first_delta = rows[rows["type"] == "response.output_audio.delta"]["t"].iloc[0] * 1000
    assert right[at(first_delta)] != 0
    assert not right[: at(first_delta)].any()
    cut = first_delta + events[3]["audio_end_ms"]
    assert right[at(cut) - 1] != 0
    assert not right[at(cut) : at(3000)].any()


def test_the_waveform_draws_the_sessions_timeline_and_keeps_no_copy(tmp_path: Path) -> None:
    """One recorder per session: a session with no waveform exports the same WAV as one with a
    waveform, whose timeline is the session's own object."""
    path = scripted_recording(tmp_path)
    bare = RealtimeSession.replay(path, speed=0)
    drawn = RealtimeSession.replay(path, speed=0)
    try:
        wave = Waveform(drawn)
        assert wave.timeline is drawn.timeline
        bare.play()
        drawn.play()
        # (the waveform sends in batches at ~20 Hz; its history holds what went out)
        eventually(lambda: len(wave.history_message()[0]["items"]) >= 6, 10)
        assert bare.export_wav(tmp_path / "bare.wav").read_bytes() == wave.conversation_wav()
        assert drawn.export_wav(tmp_path / "drawn.wav").read_bytes() == wave.conversation_wav()
        history, _ = wave.history_message()
    finally:
        bare.close()
        drawn.close()
    # the waveform drew what the session placed: the user 0.5-1 s (a replay now draws the
    # audio that was sent), the replies at 1.5 s and 3 s, the cut at 1.8 s
    envs = [(i["track"], i["start"]) for i in history["items"] if i["type"] == "env"]
    assert envs == [("in", 50), ("out", 150), ("out", 300)]
    cut = [i for i in history["items"] if i.get("kind") == "truncated"]
    assert [m["ms"] for m in cut] == [pytest.approx(1800)]
    # a session's waveform does not take audio of its own: the session feeds the timeline
    with pytest.raises(Exception, match="without a session"):
        wave.add_input(VOICE)


def test_keep_s_and_the_export_folder(tmp_path: Path) -> None:
    replayed = RealtimeSession.replay(scripted_recording(tmp_path), speed=0)
    try:
        replayed.play()
        whole = read_wav(replayed.export_wav(tmp_path / "whole.wav"))
        last = read_wav(replayed.export_wav(tmp_path / "last.wav", keep_s=1.0))
        folder = tmp_path / "runs"
        folder.mkdir()
        paths = replayed.export(folder)
        with pytest.raises(ConfigError, match="keep_s must be a number of seconds > 0") as bad:
            replayed.export_wav(tmp_path / "bad.wav", keep_s=0)
    finally:
        replayed.close()
    assert bad.value.problems[0].field == "keep_s"
    assert (last == whole[-at(1000) :]).all()
    assert len(last) == at(1000)
    assert paths == {"wav": folder / "session.wav", "events": folder / "session.events.parquet"}
    assert (read_wav(paths["wav"]) == whole).all()


def test_the_event_log_as_parquet_with_no_events(tmp_path: Path) -> None:
    session = RealtimeSession(endpoint=Endpoint("replay://none", kind="replay"))
    path = session.events.to_parquet(tmp_path / "empty.parquet")
    table = pd.read_parquet(path)
    assert list(table.columns) == ["t", "direction", "type", "event"]
    assert len(table) == 0
    assert list(session.events.to_dataframe().columns) == ["t", "direction", "type", "event"]
