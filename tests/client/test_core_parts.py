"""The core's own parts, alone: the audio codecs and the event waits."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from realtime_widgets.audio import MODEL_RATE, decode, encode
from realtime_widgets.client.audio_codec import InputFrames, OutputDecoder
from realtime_widgets.client.waiting import RECENT, EventWaits
from realtime_widgets.errors import AudioFormatError, ProtocolError
from realtime_widgets.protocol.events import parse_server_event


def tone(n: int, rate: int = MODEL_RATE) -> np.ndarray:
    t = np.arange(n) / rate
    return (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)


def test_input_frames_cut_pcm_to_the_limit_and_keep_every_byte() -> None:
    frames = InputFrames()
    x = tone(10_000)
    parts = frames.encode(x, MODEL_RATE, "audio/pcm", limit=6_000)
    assert [len(p) for p in parts] == [6_000, 6_000, 6_000, 2_000]
    assert b"".join(parts) == x.tobytes()
    assert frames.flush(6_000) == []  # 24 kHz PCM needs no resampler


def test_input_frames_resample_to_g711_with_a_tail_to_flush() -> None:
    frames = InputFrames()
    x = tone(48_000, 48_000)  # one second at 48 kHz
    body = b"".join(frames.encode(x, 48_000, "audio/pcmu", limit=1_000))
    tail = b"".join(frames.flush(1_000))
    assert abs(len(body) + len(tail) - 8_000) <= 2  # one second of 8 kHz mu-law
    assert len(tail) > 0
    frames.reset()
    assert frames.flush(1_000) == []


def test_output_decoder_reports_bad_deltas_by_kind() -> None:
    decoder = OutputDecoder()
    with pytest.raises(ProtocolError, match="not base64"):
        decoder.delta("item_a", "abc", "audio/pcm")  # incorrect padding
    with pytest.raises(AudioFormatError):
        decoder.delta("item_a", base64.b64encode(b"\x01\x02\x03").decode(), "audio/pcm")


def test_output_decoder_resamples_g711_per_item_and_flushes_at_done() -> None:
    decoder = OutputDecoder()
    wire = encode(tone(8_000, 8_000), "audio/pcma")  # one second at 8 kHz
    got = [
        decoder.delta("item_a", base64.b64encode(wire[i : i + 800]).decode(), "audio/pcma")
        for i in range(0, len(wire), 800)
    ]
    tail = decoder.done("item_a")
    assert tail is not None
    total = sum(len(g) for g in got) + len(tail)
    assert abs(total - MODEL_RATE) <= 3  # 24 kHz out, nothing lost across chunks
    assert decoder.done("item_a") is None  # forgotten once done
    pcm = decoder.delta("item_b", base64.b64encode(tone(480).tobytes()).decode(), "audio/pcm")
    assert np.array_equal(pcm, decode(tone(480).tobytes(), "audio/pcm"))


def event(n: int) -> object:
    return parse_server_event(f'{{"type":"input_audio_buffer.cleared","event_id":"e{n}"}}')


def test_event_waits_match_after_a_mark_and_forget_past_the_bounds() -> None:
    waits = EventWaits()
    mark = waits.seq
    waits.deliver(event(1), 100)  # type: ignore[arg-type]
    late = waits.wait("input_audio_buffer.cleared", since=mark)
    assert late.event is not None
    assert late.event.event_id == "e1"
    pending = waits.wait("input_audio_buffer.cleared")
    assert pending.event is None
    assert waits.open == [pending]
    assert waits.deliver(event(2), 100) == (pending,)  # type: ignore[arg-type]
    assert waits.open == []
    for n in range(RECENT + 10):
        waits.deliver(event(n), 100)  # type: ignore[arg-type]
    assert len(waits.recent) == RECENT
    assert waits.recent_bytes == RECENT * 100
    waits.deliver(event(0), 9 * 1024 * 1024)  # type: ignore[arg-type]  # one huge frame
    assert len(waits.recent) == 1  # the bytes bound pushes the rest out; the newest stays
    stale = waits.wait("x")
    assert waits.take_open() == [stale]
    assert waits.open == []
