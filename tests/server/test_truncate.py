"""``conversation.item.truncate`` while the item's audio is still streaming: what the server
keeps is what the client heard, however much more it goes on sending."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from realtime_widgets.server.engine import EngineOptions, SessionEngine
from realtime_widgets.server.reply.responder import ReplyContext
from realtime_widgets.server.tts import Speech

from .conftest import Driver

WORDS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
SPEECH_MS = 7200


def speak(text: str, voice: str, speed: float) -> Speech:
    """7.2 s of a tone, one word every 800 ms: a long reply that no eSpeak install can move."""
    t = np.arange(SPEECH_MS * 24) / 24000
    samples = (np.sin(2 * np.pi * 220 * t) * 8000).astype(np.int16)
    return Speech(samples, 24000, tuple(800.0 * k for k in range(len(WORDS))))


def respond(context: ReplyContext) -> str:
    return " ".join(WORDS)


@pytest.fixture
def d() -> Iterator[Driver]:
    engine = SessionEngine(
        options=EngineOptions(pace=1.0, lead=0.0, wall_clock=lambda: 0.0),
        session_id="sess_trunc001",
    )
    driver = Driver(engine, speak=speak, responder=respond)
    driver.events += engine.start(0.0)
    yield driver
    engine.close()


def start_reply(d: Driver) -> str:
    """A user message and a spoken response, 0.5 s into its audio; the reply item's id."""
    d.send(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "count for me"}],
            },
        }
    )
    d.send({"type": "response.create"})
    d.advance(0.5)
    added = d.of("response.output_item.added")
    assert added, d.types()
    return str(added[0]["item"]["id"])


def truncate(d: Driver, item_id: str, ms: int) -> dict[str, Any]:
    out = d.send(
        {
            "type": "conversation.item.truncate",
            "item_id": item_id,
            "content_index": 0,
            "audio_end_ms": ms,
        }
    )
    assert [e["type"] for e in out] == ["conversation.item.truncated"], out
    return out[0]


def retrieve(d: Driver, item_id: str) -> tuple[float, str, str]:
    """The stored item's audio (ms), transcript and status."""
    out = d.send({"type": "conversation.item.retrieve", "item_id": item_id})
    item = out[0]["item"]
    part = item["content"][0]
    audio_ms = len(base64.b64decode(part["audio"])) / 48
    return audio_ms, part["transcript"], item["status"]


def sent_audio_ms(d: Driver) -> float:
    deltas = d.of("response.output_audio.delta")
    return sum(len(base64.b64decode(e["delta"])) for e in deltas) / 48


@pytest.mark.parametrize("end_ms", [0, 300])
def test_audio_after_the_truncation_point_is_never_stored(d: Driver, end_ms: int) -> None:
    item_id = start_reply(d)
    truncate(d, item_id, end_ms)
    d.advance(30)  # the response streams on and completes
    done = d.of("response.done")
    assert done
    assert done[0]["response"]["status"] == "completed"
    audio_ms, transcript, status = retrieve(d, item_id)
    assert audio_ms == end_ms  # was 7,200 ms: the deltas after the truncate were stored
    assert transcript == " ".join(WORDS[:1] if end_ms else [])  # only "one" starts before 300
    assert status == "completed"


def test_truncate_does_not_stop_the_stream_cancel_does(d: Driver) -> None:
    """As the SDK documents it, truncate synchronises the server's copy with the client's
    playback and nothing more: the rest of the response still goes out (a client that wants it
    to stop sends ``response.cancel``, as a barge-in does)."""
    item_id = start_reply(d)
    truncate(d, item_id, 0)
    d.advance(30)
    assert sent_audio_ms(d) == SPEECH_MS
    assert retrieve(d, item_id)[0] == 0


def test_a_truncated_reply_then_cancelled_keeps_the_truncation(d: Driver) -> None:
    item_id = start_reply(d)
    truncate(d, item_id, 300)
    d.advance(1.0)
    cancelled = d.send({"type": "response.cancel"})
    assert cancelled[-1]["response"]["status"] == "cancelled"
    # The events say what was sent; the stored item, what was heard.
    sent = "".join(e["delta"] for e in d.of("response.output_audio_transcript.delta"))
    assert sent.split() == WORDS[:2]
    assert cancelled[-1]["response"]["output"][0]["content"][0]["transcript"] == sent
    audio_ms, transcript, status = retrieve(d, item_id)
    assert (audio_ms, transcript, status) == (300, "one", "incomplete")
    # A second truncate, shorter still, is honoured; a longer one is refused.
    truncate(d, item_id, 100)
    assert retrieve(d, item_id)[:2] == (100, "one")
    refused = d.send(
        {
            "type": "conversation.item.truncate",
            "item_id": item_id,
            "content_index": 0,
            "audio_end_ms": 200,
        }
    )
    assert refused[0]["error"]["code"] == "invalid_value"
