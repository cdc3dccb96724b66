"""Waveform: envelopes of what was sent and received, markers on the input timeline."""

from __future__ import annotations

import numpy as np

from realtime_widgets import SessionConfig
from realtime_widgets.client import Endpoint, RealtimeSession
from realtime_widgets.server.app import LocalServer
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
