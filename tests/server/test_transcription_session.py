"""Transcription sessions and image input on the local server: OpenAI's event sequence, every
event validated strictly against the SDK's server union, bad input answered with an error."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import os
from typing import Any

import numpy as np
import pytest
from openai import AsyncOpenAI

from realtime_widgets.protocol import items
from realtime_widgets.protocol.images import encode_png
from realtime_widgets.protocol.transcription_config import TranscriptionConfig
from realtime_widgets.server.app import LocalServer
from realtime_widgets.server.engine import EngineOptions, engine_for
from realtime_widgets.server.input_transcripts import Transcript
from tests.protocol.sdk_oracle import check_server_event

from .conftest import Clip, Driver

TIMEOUT = float(os.environ.get("RW_TEST_TIMEOUT", "30"))
LOGPROBS = "item.input_audio_transcription.logprobs"


def _driver(transcriber: Any = None, intent: str = "transcription") -> Driver:
    engine = engine_for(
        intent,  # type: ignore[arg-type]
        options=EngineOptions(pace=0, wall_clock=lambda: 0.0, transcriber=transcriber),
        session_id="sess_test0002",
    )
    d = Driver(engine)
    d.events += engine.start(0.0)
    return d


def _valid(events: list[dict[str, Any]]) -> None:
    for event in events:
        check_server_event(event)


def _update(d: Driver, **session: Any) -> list[dict[str, Any]]:
    return d.send({"type": "session.update", "session": {"type": "transcription", **session}})


def test_created_and_updated_describe_a_transcription_session() -> None:
    d = _driver()
    (created,) = d.events
    assert created["session"]["type"] == "transcription"
    assert not {"id", "object", "expires_at"} & set(created["session"])  # the SDK has none
    check_server_event(created)
    assert TranscriptionConfig.from_session(created["session"]) == TranscriptionConfig()
    out = _update(
        d,
        audio={"input": {"transcription": {"model": "gpt-4o-transcribe", "language": "en"}}},
        include=[LOGPROBS],
    )
    (updated,) = out
    assert updated["type"] == "session.updated"
    config = TranscriptionConfig.from_session(updated["session"])
    assert config.transcription is not None
    assert (config.transcription.model, config.transcription.language) == (
        "gpt-4o-transcribe",
        "en",
    )
    assert config.include == [LOGPROBS]
    assert "instructions" not in updated["session"]
    _valid(d.events)


@pytest.mark.parametrize(
    ("intent", "other"), [("realtime", "transcription"), ("transcription", "realtime")]
)
def test_a_session_keeps_its_type_in_openais_words(intent: str, other: str) -> None:
    """A session's type is fixed when it is created (the URL's ``intent``); asking for the
    other type is refused with OpenAI's own wording, not a claim that the type is unsupported."""
    d = _driver(intent=intent)
    (error,) = d.send({"type": "session.update", "event_id": "c9", "session": {"type": other}})
    assert error["error"] == {
        "type": "invalid_request_error",
        "code": "invalid_parameter",
        "message": f"Passing a {other} session update event to a {intent} session is not allowed.",
        "param": "session.type",
        "event_id": "c9",
    }
    _valid([error])
    # A type that exists nowhere is still an unsupported value.
    (bad,) = d.send({"type": "session.update", "session": {"type": "translation"}})
    assert bad["error"]["message"] == (
        "Invalid value: 'translation'. Supported values are: 'realtime' and 'transcription'."
    )
    # The session goes on, with its own type.
    (ok,) = d.send({"type": "session.update", "session": {"type": intent}})
    assert (ok["type"], ok["session"]["type"]) == ("session.updated", intent)


@pytest.mark.parametrize(
    ("session", "param", "fragment"),
    [
        ({"type": "realtime"}, "session.type", "to a transcription session is not allowed"),
        ({}, "session.type", "Missing required parameter"),
        ({"type": "transcription", "voice": "marin"}, "session.voice", "Unknown parameter"),
        (
            {
                "type": "transcription",
                "audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 2}}},
            },
            "session.audio.input.turn_detection.threshold",
            "2",
        ),
    ],
)
def test_bad_updates_get_an_error_and_the_session_goes_on(
    session: dict[str, Any], param: str, fragment: str
) -> None:
    d = _driver()
    (error,) = d.send({"type": "session.update", "event_id": "c1", "session": session})
    assert error["type"] == "error"
    assert error["error"]["param"] == param
    assert fragment in error["error"]["message"]
    assert error["error"]["event_id"] == "c1"
    assert _update(d, include=[LOGPROBS])[0]["type"] == "session.updated"
    _valid(d.events)


@pytest.mark.parametrize(
    "event",
    [
        {"type": "response.create"},
        {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "hi"}],
            },
        },
        {"type": "conversation.item.delete", "item_id": "item_1"},
    ],
)
def test_conversation_events_are_refused_without_ending_the_session(event: dict) -> None:
    d = _driver()
    (error,) = d.send(event)
    assert error["type"] == "error"
    assert error["error"]["param"] == "type"
    assert f"'{event['type']}'" in error["error"]["message"]
    assert "'input_audio_buffer.append'" in error["error"]["message"]
    assert d.engine.closed is None
    assert d.send({"type": "input_audio_buffer.clear"})[0]["type"] == "input_audio_buffer.cleared"
    _valid(d.events)


def test_vad_turns_without_a_recogniser_fail_naming_why(three_turns: Clip) -> None:
    d = _driver()
    _update(d, audio={"input": {"transcription": {"model": "whisper-1"}}})
    d.stream(three_turns.samples, realtime=False)
    kinds = d.types()
    assert "response.created" not in kinds
    assert "conversation.item.added" not in kinds
    committed = d.of("input_audio_buffer.committed")
    assert len(committed) == 3
    assert [c["previous_item_id"] for c in committed] == [
        None,
        committed[0]["item_id"],
        committed[1]["item_id"],
    ]
    failed = d.of("conversation.item.input_audio_transcription.failed")
    assert [f["item_id"] for f in failed] == [c["item_id"] for c in committed]
    assert "no offline speech recogniser for 'whisper-1'" in failed[0]["error"]["message"]
    assert "transcriber=" in failed[0]["error"]["message"]
    # Each turn: started, stopped, committed, then its transcription event.
    first = committed[0]["item_id"]
    turn = [e["type"] for e in d.events if e.get("item_id") == first]
    assert turn == [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.input_audio_transcription.failed",
    ]
    _valid(d.events)


def test_a_transcriber_streams_deltas_then_completed(three_turns: Clip) -> None:
    heard: list[int] = []

    def transcriber(audio: np.ndarray) -> str:
        heard.append(len(audio))
        return f"call {len(heard)} was heard"

    d = _driver(transcriber)
    d.stream(three_turns.samples, realtime=False)
    completed = d.of("conversation.item.input_audio_transcription.completed")
    # One transcript per turn, in order; each is a call's result (a turn may be heard early,
    # at its pause, and again when speech resumed: the last call before its commit counts).
    calls = [int(c["transcript"].split()[1]) for c in completed]
    assert len(calls) == 3
    assert calls == sorted(set(calls))
    assert all(
        c["transcript"] == f"call {n} was heard" for c, n in zip(completed, calls, strict=True)
    )
    first = completed[0]["item_id"]
    deltas = [
        e["delta"]
        for e in d.of("conversation.item.input_audio_transcription.delta")
        if e["item_id"] == first
    ]
    assert deltas == ["call ", f"{calls[0]} ", "was ", "heard"]
    # The recogniser got the turn's audio: about as long as the spoken utterance.
    (start, end) = three_turns.truth[0]
    assert abs(heard[calls[0] - 1] / 24 - (end - start)) < 1200
    # Usage counts the committed turn (its silence too), as OpenAI bills the committed audio,
    # in the shape of the session's model (gpt-4o-mini-transcribe: tokens).
    started = d.of("input_audio_buffer.speech_started")[0]["audio_start_ms"]
    stopped = d.of("input_audio_buffer.speech_stopped")[0]["audio_end_ms"]
    usage = completed[0]["usage"]
    assert usage["type"] == "tokens"
    assert usage["input_token_details"] == {
        "audio_tokens": math.ceil((stopped - started) / 100),
        "text_tokens": 0,
    }
    assert "logprobs" not in completed[0]
    _valid(d.events)


def test_logprobs_when_include_asks_and_the_recogniser_gives_them(three_turns: Clip) -> None:
    def transcriber(audio: np.ndarray) -> Transcript:
        return Transcript("good morning", [("good", -0.05), (" morning", -1.5)])

    d = _driver(transcriber)
    turn = three_turns.samples[: int((three_turns.truth[0][1] + 900) * 24)]
    d.stream(turn, realtime=False)
    (plain,) = d.of("conversation.item.input_audio_transcription.completed")
    assert "logprobs" not in plain  # include did not ask
    _update(d, include=[LOGPROBS])
    d.stream(turn, realtime=False)
    done = d.of("conversation.item.input_audio_transcription.completed")[-1]
    assert done["logprobs"] == [
        {"token": "good", "logprob": -0.05, "bytes": list(b"good")},
        {"token": " morning", "logprob": -1.5, "bytes": list(b" morning")},
    ]
    deltas = [
        e
        for e in d.of("conversation.item.input_audio_transcription.delta")
        if e["item_id"] == done["item_id"]
    ]
    assert [(e["delta"], e["logprobs"][0]["logprob"]) for e in deltas] == [
        ("good", -0.05),
        (" morning", -1.5),
    ]
    _valid(d.events)


def test_manual_commit_with_turn_detection_off(three_turns: Clip) -> None:
    d = _driver(lambda audio: "manual")
    _update(d, audio={"input": {"turn_detection": None}})
    d.stream(three_turns.samples[:24000], realtime=False)
    assert not d.of("input_audio_buffer.speech_started")
    out = d.send({"type": "input_audio_buffer.commit", "event_id": "c9"})
    assert [e["type"] for e in out] == [
        "input_audio_buffer.committed",
        "conversation.item.input_audio_transcription.delta",
        "conversation.item.input_audio_transcription.completed",
    ]
    assert out[-1]["transcript"] == "manual"
    _valid(d.events)


@pytest.mark.asyncio
async def test_the_official_sdk_runs_a_transcription_session(three_turns: Clip) -> None:
    turn = three_turns.samples[: int((three_turns.truth[0][1] + 900) * 24)]
    async with LocalServer(pace=0, speech=False, transcriber=lambda a: "hello there") as server:
        client = AsyncOpenAI(api_key="sk-local", websocket_base_url=server.base_url)
        async with client.realtime.connect(extra_query={"intent": "transcription"}) as conn:
            config = TranscriptionConfig(transcription="gpt-4o-mini-transcribe")
            await conn.session.update(session=config.to_session_update()["session"])
            for i in range(0, len(turn), 960):
                await conn.input_audio_buffer.append(
                    audio=base64.b64encode(turn[i : i + 960].tobytes()).decode()
                )
            seen: list[Any] = []

            async def collect() -> str:
                async for event in conn:
                    seen.append(event)
                    if event.type == "conversation.item.input_audio_transcription.completed":
                        return event.transcript
                return ""

            transcript = await asyncio.wait_for(collect(), TIMEOUT)
    assert transcript == "hello there"
    kinds = [e.type for e in seen]
    assert kinds[0] == "session.created"
    assert seen[0].session.type == "transcription"
    for kind in (
        "session.updated",
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.input_audio_transcription.delta",
    ):
        assert kind in kinds
    for event in seen:
        check_server_event(json.loads(event.model_dump_json(exclude_unset=True)))


# ---- images in a realtime session ---------------------------------------------------------------


def test_an_image_is_accepted_and_the_reply_says_what_arrived() -> None:
    d = _driver(intent="realtime")
    d.send(
        {"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}}
    )
    png = encode_png(np.zeros((30, 40, 3), dtype=np.uint8))
    out = d.send(items.create_item(items.user_image(png, detail="low")))
    added = out[0]
    assert added["type"] == "conversation.item.added"
    assert added["item"]["content"][0]["image_url"].startswith("data:image/png;base64,")
    d.send(items.create_response())
    (text,) = d.of("response.output_text.done")
    assert f"a 40x30 image/png of {len(png):,} bytes" in text["text"]
    assert "cannot say what the image shows" in text["text"]
    _valid(d.events)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("https://example.com/cat.png", "base64 data URL"),
        ("data:image/png;base64,@@@", "base64"),
        ("data:image/png;base64," + base64.b64encode(b"%PDF-1.7").decode(), "not a PNG"),
    ],
)
def test_a_bad_image_gets_an_error_naming_the_part(url: str, fragment: str) -> None:
    d = _driver(intent="realtime")
    item = {
        "type": "message",
        "role": "user",
        "content": [
            {"type": "input_text", "text": "look"},
            {"type": "input_image", "image_url": url},
        ],
    }
    (error,) = d.send({"type": "conversation.item.create", "item": item})
    assert error["type"] == "error"
    assert error["error"]["param"] == "item.content[1].image_url"
    assert fragment in error["error"]["message"]
    assert d.engine.closed is None
    _valid(d.events)


def test_the_server_refuses_an_animated_gif_as_the_client_does() -> None:
    """One check for both sides (protocol.images.check_image): the server accepted what the
    client's builder refuses."""
    import io

    from PIL import Image

    frames = [Image.new("RGB", (8, 8), c) for c in ("red", "blue")]
    gif = io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:])
    url = "data:image/gif;base64," + base64.b64encode(gif.getvalue()).decode()
    d = _driver(intent="realtime")
    item = {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_image", "image_url": url}],
    }
    (error,) = d.send({"type": "conversation.item.create", "item": item})
    assert error["type"] == "error"
    assert error["error"]["param"] == "item.content[0].image_url"
    assert "animated GIF (2 or more frames)" in error["error"]["message"]
    assert d.engine.closed is None
