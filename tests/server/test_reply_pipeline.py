"""The reply pipeline (:mod:`realtime_widgets.server.pipeline`): a responder's answer cut into
clauses, each spoken off the loop and handed over as soon as it is ready; then the same over a
real loopback connection, where a streamed responder's deltas arrive in order and a cancelled
response stops (and closes) the responder's stream."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import numpy as np
import pytest
from websockets.asyncio.client import ClientConnection

from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.server.app import LocalServer
from realtime_widgets.server.pipeline import produce_pieces
from realtime_widgets.server.reply.clauses import ClauseSplitter, clauses
from realtime_widgets.server.reply.material import NO_SYNTHESISER, ReplyPiece, ReplyRequest
from realtime_widgets.server.reply.responder import (
    FunctionCall,
    ReplyChunk,
    ReplyContext,
    ResponderError,
)
from realtime_widgets.server.tts import Speech
from tests.server.sockets import recv, session
from tests.waiting import MS, eventually_async

TIMEOUT = 30_000 * MS


def request(modalities: tuple[str, ...] = ("audio",)) -> ReplyRequest:
    context = ReplyContext(config=SessionConfig(), conversation=[], instructions=None)
    return ReplyRequest("resp_1", context, list(modalities), "marin", 1.0)


class Recorder:
    """A synthesiser and a deliver callback that record what they were given, and where."""

    def __init__(self, wanted: int = 100) -> None:
        self.spoken: list[str] = []
        self.speak_threads: set[int] = set()
        self.pieces: list[ReplyPiece | FunctionCall] = []
        self.wanted = wanted

    def speak(self, text: str, voice: str, speed: float) -> Speech:
        self.speak_threads.add(threading.get_ident())
        self.spoken.append(text)
        return Speech(np.zeros(2400, np.int16), 24000, (0.0,))

    async def deliver(self, piece: ReplyPiece | FunctionCall) -> bool:
        self.pieces.append(piece)
        return len(self.pieces) < self.wanted

    def texts(self) -> list[str]:
        return [p.text for p in self.pieces if isinstance(p, ReplyPiece)]


def test_clauses_cut_the_first_one_short_and_keep_decimals_whole() -> None:
    text = (
        "You spoke for 11.5 seconds, and this is the local server. It has no model. "
        "Turn detection is server VAD, threshold 0.5."
    )
    assert clauses(text) == [
        "You spoke for 11.5 seconds,",
        "and this is the local server.",
        "It has no model.",
        "Turn detection is server VAD, threshold 0.5.",
    ]
    splitter = ClauseSplitter()
    fed = [c for ch in text for c in splitter.feed(ch)]  # one character at a time
    assert fed + splitter.flush() == clauses(text)
    assert clauses("") == []
    assert clauses("  no end  ") == ["no end"]
    long = "word " * 100  # no boundary at all: cut at the last space within each limit
    cut = clauses(long, first_max_chars=80, max_chars=240)
    assert 80 - len(" word") < len(cut[0]) <= 80
    assert all(len(c) <= 240 for c in cut)
    assert 240 - len(" word") < len(cut[1]) <= 240
    assert " ".join(cut) == long.strip()
    # The server's own limits (the defaults): first piece within 100, the others within 250.
    cut = clauses(long)
    assert [len(c) for c in cut] == [99, 249, 149]
    assert " ".join(cut) == long.strip()


@pytest.mark.asyncio
async def test_a_str_reply_is_spoken_clause_by_clause_off_the_loop() -> None:
    rec = Recorder()
    text = "Hello there, my friend. How are you? Fine."
    await produce_pieces(request(), lambda ctx: text, rec.speak, rec.deliver, wait_s=TIMEOUT)
    assert rec.spoken == rec.texts() == ["Hello there, my friend.", "How are you?", "Fine."]
    assert threading.get_ident() not in rec.speak_threads  # never on the event loop
    assert all(isinstance(p, ReplyPiece) and p.speech is not None for p in rec.pieces)


@pytest.mark.asyncio
async def test_a_sync_stream_is_read_in_a_thread_and_a_call_ends_it() -> None:
    rec = Recorder()
    read_on: set[int] = set()
    after_call: list[str] = []

    def respond(ctx: ReplyContext) -> Iterator[ReplyChunk]:
        read_on.add(threading.get_ident())
        yield "Let me "
        read_on.add(threading.get_ident())
        yield "check. One moment"
        yield FunctionCall("lookup", {"q": "x"})
        after_call.append("read")  # never: the call is the stream's last chunk
        yield "more"

    await produce_pieces(request(("text",)), respond, rec.speak, rec.deliver, wait_s=TIMEOUT)
    assert rec.texts() == ["Let me check.", "One moment"]
    assert rec.pieces[-1] == FunctionCall("lookup", {"q": "x"})
    assert rec.spoken == []  # a text response: nothing to speak
    assert threading.get_ident() not in read_on
    assert after_call == []


@pytest.mark.asyncio
async def test_without_a_synthesiser_the_pieces_say_why_there_is_no_audio() -> None:
    rec = Recorder()
    text = "Hi there, you. See you soon."
    await produce_pieces(request(), lambda ctx: text, None, rec.deliver, wait_s=TIMEOUT)
    assert rec.pieces == [
        ReplyPiece("Hi there, you.", None, NO_SYNTHESISER),
        ReplyPiece("See you soon.", None, NO_SYNTHESISER),
    ]


@pytest.mark.asyncio
async def test_a_response_that_takes_no_more_stops_the_stream_and_closes_it() -> None:
    rec = Recorder(wanted=1)
    closed: list[bool] = []

    async def respond(ctx: ReplyContext) -> AsyncIterator[str]:
        try:
            for i in range(1000):
                yield f"This is clause {i}. "
        finally:
            closed.append(True)

    await produce_pieces(request(), respond, rec.speak, rec.deliver, wait_s=TIMEOUT)
    assert rec.texts() == ["This is clause 0."]
    assert closed == [True]


@pytest.mark.asyncio
async def test_failures_are_responder_errors_after_what_was_said() -> None:
    rec = Recorder()

    async def failing(ctx: ReplyContext) -> AsyncIterator[str]:
        yield "This much was said. And then"
        raise ResponderError("upstream_error", "The endpoint answered 502.")

    with pytest.raises(ResponderError) as info:
        await produce_pieces(request(), failing, rec.speak, rec.deliver, wait_s=TIMEOUT)
    assert (info.value.code, info.value.message) == ("upstream_error", "The endpoint answered 502.")
    assert rec.texts() == ["This much was said."]

    def buggy(ctx: ReplyContext) -> str:
        raise ValueError("no such model")

    with pytest.raises(ResponderError) as info:
        await produce_pieces(request(), buggy, rec.speak, rec.deliver, wait_s=TIMEOUT)
    assert info.value.code == "responder_error"
    assert info.value.message == "The responder failed: ValueError: no such model"

    with pytest.raises(ResponderError) as info:
        await produce_pieces(request(), lambda ctx: 42, rec.speak, rec.deliver, wait_s=TIMEOUT)
    assert info.value.code == "responder_error"
    assert "got int" in info.value.message

    async def silent(ctx: ReplyContext) -> AsyncIterator[str]:
        yield "First. "
        await asyncio.sleep(3600)
        yield "never"

    with pytest.raises(ResponderError) as info:
        await produce_pieces(request(), silent, rec.speak, rec.deliver, wait_s=0.2)
    assert info.value.code == "responder_timeout"
    assert "ServerLimits.reply_wait_s" in info.value.message


# ---- over a real connection ---------------------------------------------------------------


async def create(ws: ClientConnection, modalities: list[str]) -> None:
    await ws.send(
        json.dumps({"type": "response.create", "response": {"output_modalities": modalities}})
    )


async def until(ws: ClientConnection, kind: str) -> list[dict[str, Any]]:
    events = [await recv(ws)]
    while events[-1]["type"] != kind:
        events.append(await recv(ws))
    return events


@pytest.mark.asyncio
async def test_a_streamed_responders_deltas_reach_the_client_as_they_come_in_order() -> None:
    more = asyncio.Event()
    closed: list[bool] = []

    async def respond(ctx: ReplyContext) -> AsyncIterator[str]:
        try:
            yield "Hello there, my good friend. "
            await asyncio.wait_for(more.wait(), TIMEOUT)  # the rest comes once the client has it
            for delta in ("How ", "are you", " today? ", "Fine."):
                yield delta
        finally:
            closed.append(True)

    async with (
        LocalServer(responder=respond, pace=0, speech=False) as server,
        session(server) as ws,
    ):
        await create(ws, ["text"])
        first = await until(ws, "response.output_text.delta")
        assert not more.is_set()  # the first words went out before the stream went on
        more.set()
        events = first + await until(ws, "response.done")
    text = "Hello there, my good friend. How are you today? Fine."
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    assert "".join(deltas) == text
    done = events[-1]["response"]
    assert done["status"] == "completed"
    assert done["output"][0]["content"] == [{"type": "output_text", "text": text}]
    assert closed == [True]


@pytest.mark.asyncio
async def test_cancelling_a_streamed_response_stops_the_responder_and_closes_its_stream() -> None:
    closed = asyncio.Event()
    asked: list[int] = []

    async def respond(ctx: ReplyContext) -> AsyncIterator[str]:
        try:
            yield "The first clause, "
            asked.append(1)
            await asyncio.sleep(3600)  # a model that is slow to say more
            yield "never said."
        finally:
            closed.set()

    async with (
        LocalServer(responder=respond, pace=0, speech=False) as server,
        session(server) as ws,
    ):
        await create(ws, ["text"])
        await until(ws, "response.output_text.delta")
        await ws.send(json.dumps({"type": "response.cancel"}))
        done = (await until(ws, "response.done"))[-1]["response"]
        assert done["status"] == "cancelled"
        await asyncio.wait_for(closed.wait(), TIMEOUT)  # the stream was closed
        # The session goes on.
        await create(ws, ["text"])
        await until(ws, "response.output_text.delta")
        await ws.send(json.dumps({"type": "response.cancel"}))
        assert (await until(ws, "response.done"))[-1]["response"]["status"] == "cancelled"


@pytest.mark.asyncio
async def test_a_responders_failure_ends_its_response_failed_and_the_session_goes_on() -> None:
    calls: list[int] = []

    def respond(ctx: ReplyContext) -> Iterator[str] | str:
        calls.append(1)
        if len(calls) == 1:
            raise ResponderError("upstream_error", "The chat endpoint answered 502.")
        if len(calls) == 2:
            raise KeyError("choices")
        return "Fine again."

    async with (
        LocalServer(responder=respond, pace=0, speech=False) as server,
        session(server) as ws,
    ):
        await create(ws, ["text"])
        done = (await until(ws, "response.done"))[-1]["response"]
        assert done["status"] == "failed"
        assert done["status_details"] == {
            "type": "failed",
            "error": {
                "type": "server_error",
                "code": "upstream_error",
                "message": "The chat endpoint answered 502.",
            },
        }
        await create(ws, ["text"])
        done = (await until(ws, "response.done"))[-1]["response"]
        assert done["status_details"]["error"] == {
            "type": "server_error",
            "code": "responder_error",
            "message": "The responder failed: KeyError: 'choices'",
        }
        await create(ws, ["text"])
        done = (await until(ws, "response.done"))[-1]["response"]
        assert done["status"] == "completed"
        assert done["output"][0]["content"][0]["text"] == "Fine again."


@pytest.mark.asyncio
async def test_a_spoken_reply_streams_clause_by_clause_with_the_servers_synthesiser() -> None:
    text = "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background."
    async with LocalServer(responder=lambda ctx: text, pace=0) as server:
        if server.synthesizer is None:
            pytest.skip(server.speech_note)
        async with session(server) as ws:
            await create(ws, ["audio"])
            events = await until(ws, "response.done")
    done = events[-1]["response"]
    assert done["status"] == "completed"
    transcript = "".join(
        e["delta"] for e in events if e["type"] == "response.output_audio_transcript.delta"
    )
    assert transcript == text
    assert done["output"][0]["content"] == [{"type": "output_audio", "transcript": text}]
    audio = sum(
        len(e["delta"]) * 3 // 4 for e in events if e["type"] == "response.output_audio.delta"
    )
    assert audio > 48000 * 3  # several seconds of speech, both sentences


class _SpeechFailsOnce:
    """A SpeakingResponder whose own speech() raises the first time (a user's bug)."""

    def __init__(self) -> None:
        self.speeches = 0

    def __call__(self, ctx: ReplyContext) -> str:
        return "My own voice."

    def speech(self, ctx: ReplyContext, speed: float) -> Speech | None:
        self.speeches += 1
        if self.speeches == 1:
            raise RuntimeError("no microphone in the responder")
        return Speech(np.zeros(4800, np.int16), 24000, (0.0,))


@pytest.mark.asyncio
async def test_a_speaking_responders_failing_speech_ends_its_response_failed_not_the_session() -> (
    None
):
    responder = _SpeechFailsOnce()
    async with (
        LocalServer(responder=responder, pace=0, speech=False, transcriber=None) as server,
        session(server) as ws,
    ):
        await create(ws, ["audio"])
        done = (await until(ws, "response.done"))[-1]["response"]
        assert done["status"] == "failed"
        assert done["status_details"]["error"] == {
            "type": "server_error",
            "code": "responder_error",
            "message": "The responder failed: RuntimeError: no microphone in the responder",
        }
        await create(ws, ["audio"])  # the session goes on: its own audio this time
        events = await until(ws, "response.done")
    assert events[-1]["response"]["status"] == "completed"
    assert any(e["type"] == "response.output_audio.delta" for e in events)
    assert responder.speeches == 2


class _ReplyFailsOnce(LocalServer):
    """A server whose reply machinery itself fails once with something that is no
    ResponderError (the connection's backstop)."""

    failed = False

    async def reply(self, request: ReplyRequest, deliver: Any) -> None:
        if not self.failed:
            self.failed = True
            raise KeyError("a bug in the reply pipeline")
        await super().reply(request, deliver)


@pytest.mark.asyncio
async def test_any_other_failure_of_a_reply_ends_it_failed_and_the_session_goes_on() -> None:
    async with (
        _ReplyFailsOnce(
            responder=lambda ctx: "Fine.", pace=0, speech=False, transcriber=None
        ) as server,
        session(server) as ws,
    ):
        await create(ws, ["text"])
        done = (await until(ws, "response.done"))[-1]["response"]
        assert done["status"] == "failed"
        error = done["status_details"]["error"]
        assert (error["type"], error["code"]) == ("server_error", "server_error")
        assert "KeyError" in error["message"]
        await create(ws, ["text"])
        done = (await until(ws, "response.done"))[-1]["response"]
    assert done["status"] == "completed"
    assert done["output"][0]["content"][0]["text"] == "Fine."


@pytest.mark.asyncio
async def test_a_sync_stream_stopped_mid_read_is_closed_once_its_thread_hands_it_back() -> None:
    """The response takes no more while the thread is blocked in the stream's next(): the
    stream cannot be closed then (a running generator), so it is closed when next() returns,
    even while its responder still holds it (no garbage collection closes it then)."""
    rec = Recorder(wanted=1)
    gate, closed = threading.Event(), threading.Event()
    streams: list[Iterator[str]] = []  # the responder keeps its streams

    def respond(ctx: ReplyContext) -> Iterator[str]:
        def stream() -> Iterator[str]:
            try:
                yield "This is clause one. "
                assert gate.wait(TIMEOUT)  # a model slow to say more
                yield "This is clause two. "
                yield "never read."
            finally:
                closed.set()

        streams.append(stream())
        return streams[-1]

    await produce_pieces(request(), respond, rec.speak, rec.deliver, wait_s=TIMEOUT)
    assert rec.texts() == ["This is clause one."]
    assert not closed.is_set()  # still inside next(), in its thread
    gate.set()
    await eventually_async(closed.is_set, timeout=5.0)
    with pytest.raises(StopIteration):
        next(streams[0])  # closed: it says no more
