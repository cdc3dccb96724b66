"""Microphone: browser chunks reach the server in order, acknowledged; push-to-talk; WAV files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import traitlets

from realtime_widgets import SessionConfig
from realtime_widgets.audio import write_wav
from realtime_widgets.client import Endpoint, RealtimeSession
from realtime_widgets.server.app import LocalServer
from realtime_widgets.widgets.microphone import Microphone
from tests.speech import Clip
from tests.waiting import eventually
from tests.widgets.conftest import settled


@pytest.fixture
def live():  # type: ignore[no-untyped-def]
    server = LocalServer(pace=0, speech=False).start()
    s = RealtimeSession(
        SessionConfig(output_modalities=["text"]), endpoint=Endpoint.local(server.url, "m")
    )
    s.connect()
    yield server, s
    s.close()
    server.stop()


def browser_chunks(mic: Microphone, samples: np.ndarray, chunk: int = 960) -> None:
    for seq, i in enumerate(range(0, len(samples), chunk), 1):
        mic._on_browser(
            mic,
            {"type": "audio", "seq": seq, "rate": 24000},
            [samples[i : i + chunk].astype("<i2").tobytes()],
        )


def test_browser_chunks_reach_the_server_and_are_acknowledged(live, three_turns: Clip) -> None:  # type: ignore[no-untyped-def]
    server, s = live
    mic = Microphone(s)
    tapped: list[int] = []
    mic.add_tap(lambda x: tapped.append(len(x)))
    first = three_turns.samples[: int((three_turns.truth[0][1] + 900) * 24)]
    mark = s.mark()
    browser_chunks(mic, first)
    stopped = s.wait_for("input_audio_buffer.speech_stopped", timeout=30, since=mark)
    settled(s)  # every chunk's hop to the session loop has run
    assert abs(stopped.audio_end_ms - (three_turns.truth[0][1] + 500)) <= 40  # type: ignore[attr-defined]
    acks = [c["seq"] for c, _ in mic.comm.custom() if c["type"] == "ack"]
    assert acks == list(range(1, mic.chunks_received + 1))
    assert sum(tapped) == len(first) == mic.samples_received
    (engine,) = server.sessions.values()  # this server's one session
    eventually(lambda: engine.stats["appended_bytes"] == len(first) * 2)


def test_push_to_talk_commits_and_asks_for_a_response(live) -> None:  # type: ignore[no-untyped-def]
    _, s = live
    s.update(turn_detection=None)
    mic = Microphone(s, mode="push-to-talk")
    mark = s.mark()
    mic._on_browser(mic, {"type": "ptt", "down": True}, [])
    browser_chunks(mic, (np.sin(np.arange(24000) / 5) * 5000).astype(np.int16))
    mic._on_browser(mic, {"type": "ptt", "down": False}, [])
    s.wait_for("input_audio_buffer.committed", timeout=30, since=mark)
    done = s.wait_for("response.done", timeout=30, since=mark)
    assert done.response.status == "completed"  # type: ignore[attr-defined]


def test_a_wav_file_streams_like_speech(live, three_turns: Clip, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, s = live
    from realtime_widgets.audio import resample

    path = tmp_path / "take.wav"
    clip = three_turns.samples[: int((three_turns.truth[0][1] + 900) * 24)]
    write_wav(path, np.asarray(resample(clip, 24000, 48000), np.int16), 48000)
    mic = Microphone(s)
    mark = s.mark()
    mic.stream_file(path, realtime=False)
    started = s.wait_for("input_audio_buffer.speech_started", timeout=30, since=mark)
    assert abs(started.audio_start_ms - (three_turns.truth[0][0] - 300)) <= 40  # type: ignore[attr-defined]
    s.wait_for("response.done", timeout=30, since=mark)


def test_chunk_size_is_validated() -> None:
    with pytest.raises(traitlets.TraitError, match="between 20 and 100"):
        Microphone(chunk_ms=500)
    with pytest.raises(traitlets.TraitError):
        Microphone(mode="walkie-talkie")
