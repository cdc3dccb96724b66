"""Speaker: binary PCM to the browser, and truncation at what the listener actually heard."""

from __future__ import annotations

import json

import numpy as np

from realtime_widgets import SessionConfig
from realtime_widgets.client import Endpoint, RealtimeSession
from realtime_widgets.protocol.events import parse_server_event
from realtime_widgets.server.app import LocalServer
from realtime_widgets.widgets.speaker import Speaker
from tests.waiting import eventually
from tests.widgets.conftest import settled


def test_audio_goes_as_binary_within_5_percent_of_raw_pcm() -> None:
    speaker = Speaker()
    for _ in range(50):  # 50 chunks of 100 ms
        speaker.play(np.zeros(2400, np.int16), "item_a")
    msgs = speaker.comm.custom()
    payload = sum(len(b) for _, bufs in msgs for b in bufs)
    headers = sum(len(json.dumps(c)) for c, _ in msgs)
    raw = 50 * 2400 * 2
    assert payload == raw
    assert (payload + headers) / raw <= 1.05
    assert speaker.received == {"item_a": 120000}


def test_barge_in_truncates_at_what_was_heard() -> None:
    server = LocalServer(pace=0).start()
    s = RealtimeSession(SessionConfig(), endpoint=Endpoint.local(server.url, "m"))
    try:
        s.connect()
        speaker = Speaker(s)
        mark = s.mark()
        s.send_text("talk")
        done = s.wait_for("response.done", timeout=30, since=mark)
        item = done.response.output[0].id  # type: ignore[attr-defined]
        eventually(lambda: speaker.received.get(item, 0) > 24000)
        received = speaker.received[item]
        # The browser reports half a second played, then the user starts talking.
        speaker._on_browser(speaker, {"type": "played", "items": {item: 12000}}, [])
        settled(s)  # the report hopped to the session loop, where the speaker's state lives
        started = parse_server_event(
            json.dumps(
                {
                    "type": "input_audio_buffer.speech_started",
                    "event_id": "e",
                    "audio_start_ms": 0,
                    "item_id": "u",
                }
            )
        )
        s.call_soon(speaker._on_barge_in, started)  # a listener: it runs on the session loop
        settled(s)
        assert speaker.comm.custom()[-1][0] == {"type": "flush"}
        mark = s.mark()
        speaker._on_browser(speaker, {"type": "flushed", "item_id": item, "samples": 12000}, [])
        truncated = s.wait_for("conversation.item.truncated", timeout=30, since=mark)
        assert truncated.audio_end_ms == 500  # type: ignore[attr-defined]
        assert speaker.truncations == [(item, 500)]
        assert received > 12000
        # Nothing heard, nothing cut.
        speaker._on_browser(speaker, {"type": "flushed", "item_id": "other", "samples": 0}, [])
        settled(s)
        assert speaker.truncations == [(item, 500)]
    finally:
        s.close()
        server.stop()


def test_g711_output_is_played_at_24_khz() -> None:
    server = LocalServer(pace=0).start()
    s = RealtimeSession(
        SessionConfig(output_audio_format="g711_alaw"), endpoint=Endpoint.local(server.url, "m")
    )
    try:
        s.connect()
        speaker = Speaker(s)
        mark = s.mark()
        s.send_text("talk")
        done = s.wait_for("response.done", timeout=30, since=mark)
        item = done.response.output[0].id  # type: ignore[attr-defined]
        # 8 kHz A-law bytes became 24 kHz samples: three per byte, less the filter's tail.
        eventually(lambda: speaker.received.get(item, 0) > 0)
        sent_bytes = sum(
            int(h.data["delta"].split()[0][1:])
            for h in s.events
            if h.type == "response.output_audio.delta" and h.data.get("item_id") == item
        )
        eventually(lambda: abs(speaker.received[item] - sent_bytes * 3) <= 3)
    finally:
        s.close()
        server.stop()
