"""The public seams widgets use: submit, call_soon, send_event, removable listeners."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading

import numpy as np
import pytest

from realtime_widgets import ConfigNote, SessionConfig
from realtime_widgets.client import Endpoint, RealtimeSession
from realtime_widgets.server.app import LocalServer
from tests.waiting import eventually

TEXT = SessionConfig(output_modalities=["text"])


def test_submit_runs_on_the_io_loop_and_returns_the_result(server: LocalServer) -> None:
    with RealtimeSession(TEXT, endpoint=Endpoint.local(server.url, TEXT.model)) as session:

        async def where() -> str:
            await asyncio.sleep(0)
            return threading.current_thread().name

        assert session.submit(where()).result(5) == "realtime-widgets-io"

        async def fails() -> None:
            raise ValueError("tool broke")

        with pytest.raises(ValueError, match="tool broke"):
            session.submit(fails()).result(5)


def test_close_cancels_submitted_work(server: LocalServer) -> None:
    session = RealtimeSession(TEXT, endpoint=Endpoint.local(server.url, TEXT.model)).connect()
    started = threading.Event()

    async def forever() -> None:
        started.set()
        await asyncio.sleep(3600)

    future = session.submit(forever())
    assert started.wait(5)
    session.close()
    with pytest.raises(concurrent.futures.CancelledError):
        future.result(5)


def test_cancelling_the_future_cancels_the_task(server: LocalServer) -> None:
    with RealtimeSession(TEXT, endpoint=Endpoint.local(server.url, TEXT.model)) as session:
        cancelled = threading.Event()
        started = threading.Event()

        async def waits() -> None:
            started.set()
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                cancelled.set()
                raise

        future = session.submit(waits())
        assert started.wait(5)
        assert future.cancel() is True  # the task is running: the cancellation goes to it
        assert cancelled.wait(5)


def test_call_soon_runs_on_the_loop_thread(server: LocalServer) -> None:
    with RealtimeSession(TEXT, endpoint=Endpoint.local(server.url, TEXT.model)) as session:
        seen: list[str] = []
        session.call_soon(lambda x: seen.append(f"{x}:{threading.current_thread().name}"), 7)
        eventually(lambda: bool(seen), 5)
        assert seen == ["7:realtime-widgets-io"]


def test_listeners_and_taps_are_removed_by_their_handles(server: LocalServer) -> None:
    with RealtimeSession(TEXT, endpoint=Endpoint.local(server.url, TEXT.model)) as session:
        events: list[str] = []
        taps: list[int] = []
        history: list[str] = []
        removers = [
            session.on("*", lambda e: events.append(e.type)),
            session.add_audio_tap(lambda x, rate: taps.append(len(x))),
            session.on_history(lambda entry: history.append(entry.type)),
        ]
        session.append_audio(np.zeros(2400, np.int16))
        session.send_text("one")
        session.wait_for("response.done")
        assert taps == [2400]
        assert "response.done" in events
        assert "input_audio_buffer.append" in history
        for remove in removers:
            remove()
            remove()  # twice is harmless
        counts = (len(events), len(taps), len(history))
        session.append_audio(np.zeros(2400, np.int16))
        session.send_text("two")
        session.wait_for("response.done")
        assert (len(events), len(taps), len(history)) == counts


def test_send_event_sends_any_client_event(server: LocalServer) -> None:
    with RealtimeSession(TEXT, endpoint=Endpoint.local(server.url, TEXT.model)) as session:
        mark = session.mark()
        session.send_event({"type": "input_audio_buffer.clear"})
        session.wait_for("input_audio_buffer.cleared", since=mark)
        assert session.events.rows()[-2]["type"] == "input_audio_buffer.clear"


def test_beta_modalities_are_sent_as_audio_with_a_note_in_the_callers_thread(
    server: LocalServer,
) -> None:
    with RealtimeSession(TEXT, endpoint=Endpoint.local(server.url, TEXT.model)) as session:
        with pytest.warns(ConfigNote, match="sent as \\['audio'\\]") as notes:
            effective = session.update(output_modalities=["text", "audio"])
        assert notes[0].filename == __file__  # shown where the user asked, not on the I/O thread
        assert effective.output_modalities == ["audio"]
        sent = [e.data for e in session.events if e.type == "session.update"][-1]
        assert sent["session"]["output_modalities"] == ["audio"]
