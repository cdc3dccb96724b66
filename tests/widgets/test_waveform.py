"""Waveform: envelopes of what was sent and received, markers on the input timeline."""

from __future__ import annotations

import numpy as np
import pytest

from realtime_widgets import SessionConfig
from realtime_widgets.client import Endpoint, RealtimeSession
from realtime_widgets.server.app import LocalServer
from realtime_widgets.widgets import waveform
from realtime_widgets.widgets.waveform import Waveform
from tests.speech import Clip
from tests.waiting import eventually


def test_envelopes_and_vad_markers_of_a_spoken_turn(three_turns: Clip) -> None:
    server = LocalServer(pace=0).start()
    s = RealtimeSession(SessionConfig(), endpoint=Endpoint.local(server.url, "m"))
    try:
        s.connect()
        wave = Waveform(s)
        turn = three_turns.samples[: int((three_turns.truth[0][1] + 900) * 24)]
        mark = s.mark()
        s.append_audio(turn)
        s.wait_for("response.done", timeout=60, since=mark)

        def flushed() -> bool:  # the waveform pushes in batches at ~20 Hz
            items = [i for content, _ in wave.comm.custom() for i in content["items"]]
            return any(i.get("type") == "env" and i.get("track") == "out" for i in items) and any(
                i.get("type") == "marker" and i.get("kind") == "response_done" for i in items
            )

        eventually(flushed, 10)
        msgs = wave.comm.custom()
        items = [i for content, _ in msgs for i in content["items"]]
        buffers = [b for _, bufs in msgs for b in bufs]
        envs = [i for i in items if i["type"] == "env"]
        assert len(envs) == len(buffers)
        in_bins = sum(len(b) // 4 for i, b in zip(envs, buffers, strict=True) if i["track"] == "in")
        assert in_bins == len(turn) // 240  # one [min, max] pair per 10 ms sent
        out_envs = [i for i in envs if i["track"] == "out"]
        assert out_envs
        assert out_envs[0]["start"] >= three_turns.truth[0][1] // 10  # the reply follows the speech
        markers = {i["kind"]: i["ms"] for i in items if i["type"] == "marker"}
        assert abs(markers["speech_started"] - (three_turns.truth[0][0] - 300)) <= 40
        assert abs(markers["speech_stopped"] - (three_turns.truth[0][1] + 500)) <= 40
        assert {"committed", "response_start", "response_done"} <= set(markers)
        # Batched: far fewer messages than envelope pieces.
        assert wave.messages_sent < len(items)
        first = np.frombuffer(buffers[0], "<i2").reshape(-1, 2)
        assert (first[:, 0] <= first[:, 1]).all()
    finally:
        s.close()
        server.stop()


def test_a_view_shown_late_gets_the_whole_history_in_one_snapshot() -> None:
    wave = Waveform()
    rng = np.random.default_rng(3)
    first = rng.integers(-9000, 9000, 24000, dtype=np.int16)  # 1 s: 100 bins
    wave.add_input(first)
    wave.marker("speech_started", 120.0, "speech")
    wave.add_input(first[:12000])  # 0.5 s more, contiguous with the first second
    wave.add_output(first[:4800], "item_a")  # 0.2 s of reply, placed after the input
    sent = wave.comm.custom()
    assert len(sent) >= 3  # (no running loop here: each piece went out at once)

    wave._on_browser(wave, {"type": "hello", "view": "late"}, [])
    snapshot, buffers = wave.comm.custom()[-1]
    assert (snapshot["type"], snapshot["view"]) == ("snapshot", "late")
    envs = [i for i in snapshot["items"] if i["type"] == "env"]
    # Each track's contiguous bins come merged: one buffer per run.
    assert [(i["track"], i["start"]) for i in envs] == [("in", 0), ("out", 150)]
    assert [len(b) // 4 for b in buffers] == [150, 20]
    live_in = b"".join(
        b
        for m, bs in sent
        for i, b in zip([i for i in m["items"] if i["type"] == "env"], bs, strict=True)
        if i["track"] == "in"
    )
    assert buffers[0] == live_in  # the same bins the live views got
    markers = [i for i in snapshot["items"] if i["type"] == "marker"]
    assert markers == [
        {"type": "marker", "id": 1, "kind": "speech_started", "ms": 120.0, "label": "speech"}
    ]
    # every marker has its own id (the view adds each once, live or from a snapshot)
    wave.marker("committed", 1500.0, "commit")
    assert wave.comm.custom()[-1][0]["items"][-1]["id"] == 2

    # Anything but a well-formed hello is ignored.
    count = len(wave.comm.custom())
    wave._on_browser(wave, {"type": "hello"}, [])
    wave._on_browser(wave, {"type": "other", "view": "x"}, [])
    assert len(wave.comm.custom()) == count


def test_the_history_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waveform, "HISTORY_BYTES", 4000)
    monkeypatch.setattr(waveform, "MAX_MARKERS", 5)
    wave = Waveform()
    for k in range(10):
        wave.add_input(np.full(24000, 1000, np.int16))  # 100 bins = 400 bytes each
        wave.marker("committed", k * 1000.0, "commit")
    snapshot, buffers = wave.history_message()
    kept = sum(len(b) for b in buffers)
    assert 3000 <= kept <= 4000  # the newest bins within the cap
    assert snapshot["items"][0]["start"] == 1000 - kept // 4  # the oldest were dropped
    assert [m["ms"] for m in snapshot["items"] if m["type"] == "marker"] == [
        5000.0,
        6000.0,
        7000.0,
        8000.0,
        9000.0,
    ]


def test_an_hour_of_microphone_chunks_is_kept_as_one_run() -> None:
    """An hour of 40 ms chunks (4 bins each) grows one bytearray in place: no list of pieces
    to re-copy per chunk, and a snapshot is one buffer of exactly the bins."""
    wave = Waveform()
    for _ in range(90_000):
        wave._history.add({"type": "env", "track": "in", "start": wave.in_bins}, b"\0" * 16)
        wave.in_bins += 4
    snapshot, buffers = wave.history_message()
    assert len(buffers) == 1
    assert len(buffers[0]) == 90_000 * 16  # 1.4 MB of bins for an hour
    assert snapshot["items"] == [{"type": "env", "track": "in", "start": 0}]
