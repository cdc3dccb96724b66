"""What a broken or hostile GPT-Live server sends must never silently end the session's reader.

A bad frame becomes a ``client.protocol_error`` event and reading goes on; a refused or
garbled opening raises with the cause and leaves no socket open; if the reader ends anyway,
``connected`` is False at once, ``session.disconnected`` says why and every wait fails with
that cause (not a timeout); every wait has a timeout.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from realtime_widgets import ServerError
from realtime_widgets.client import Endpoint
from realtime_widgets.client.live import LiveSession
from realtime_widgets.client.live_core import LiveCore
from realtime_widgets.protocol.events import ServerEvent
from realtime_widgets.protocol.live_config import LiveConfig
from tests.waiting import FACTOR, eventually

from .live_peer import Event, LivePeer, default_answer


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    yield
    assert [t for t in threading.enumerate() if t.name == "realtime-widgets-io"] == []


def session_for(peer: LivePeer, **kw: Any) -> LiveSession:
    kw.setdefault("reconnect", False)
    return LiveSession(LiveConfig(), endpoint=Endpoint.local(peer.url, "m"), **kw)


def problems_of(session: LiveSession) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    session.on("client.protocol_error", lambda e: seen.append(dict(e.model_extra or {})))
    return seen


def opening_with(*frames: Any) -> Any:
    """A peer that answers session.start with ``frames`` (events or raw text)."""

    def answer(peer: LivePeer, event: Event) -> list[Any]:
        return list(frames) if event["type"] == "session.start" else default_answer(peer, event)

    return answer


def test_a_refused_session_start_raises_the_servers_error() -> None:
    error = {
        "type": "invalid_request_error",
        "code": "invalid_value",
        "message": "Invalid value: 'nobody'. Supported voices are: alloy, ...",
        "param": "session.audio.output.voice",
        "client_event_id": "evt_rw_1",
    }
    with LivePeer(opening_with({"type": "error", "error": error})) as peer:
        s = session_for(peer)
        try:
            with pytest.raises(ServerError, match="Supported voices") as err:
                s.connect()
            assert (err.value.code, err.value.event_id, err.value.config_field) == (
                "invalid_value",
                "evt_rw_1",
                "voice",
            )
            assert not s.connected
            assert not s.started
        finally:
            s.close()


@pytest.mark.parametrize(
    ("first", "said"),
    [
        ({"type": "info", "code": "hello", "message": "Hi."}, "got info"),
        ("not json", "got an unreadable frame"),
        ('{"type": "session.started", "session": {}}', "got session.started"),
    ],
    ids=["another-event", "not-json", "an-unreadable-started"],
)
def test_a_garbled_opening_raises_and_closes_the_socket(first: Any, said: str) -> None:
    with LivePeer(opening_with(first)) as peer:
        s = session_for(peer)
        problems = problems_of(s)
        try:
            with pytest.raises(ServerError, match=f"expected session.started first, {said}"):
                s.connect()
            assert not s.connected
        finally:
            s.close()
    if isinstance(first, str):  # what could not be read was said, not swallowed
        assert problems
        assert problems[0]["frame"] == first[:200]


def test_a_peer_that_never_answers_session_start_times_out_and_gets_its_socket_closed() -> None:
    closed: list[bool] = []

    class Silent(LivePeer):
        async def _handle(self, ws: Any) -> None:
            await ws.wait_closed()
            closed.append(True)

    with Silent() as peer:
        s = session_for(peer, timeout=0.5 * FACTOR)
        try:
            with pytest.raises(TimeoutError):
                s.connect()
            eventually(lambda: closed == [True], timeout=10)
        finally:
            s.close()


def test_an_update_nobody_answers_times_out_naming_what_it_waited_for() -> None:
    def mute_peer(peer: LivePeer, event: Event) -> list[Any]:
        return default_answer(peer, event) if event["type"] == "session.start" else []

    with LivePeer(mute_peer) as peer:
        s = session_for(peer)
        try:
            s.connect()
            s.timeout = 0.5 * FACTOR  # for the update only: the connect had the default
            with pytest.raises(TimeoutError, match=r"no session\.updated \(nor an error\)"):
                s.update(delegation={"type": "client"})
            assert s.requested.delegation is None
            assert s.connected  # a slow server is not a dead one
        finally:
            s.close()


def test_unreadable_events_are_reported_and_reading_goes_on() -> None:
    with LivePeer() as peer:
        s = session_for(peer)
        problems = problems_of(s)
        try:
            s.connect()
            mark = s.mark()
            frames: list[Any] = [
                "{broken",
                json.dumps({"type": "session.paused", "event_id": "e1"}),
                json.dumps({"type": "session.delegation.created", "event_id": "e2"}),
                json.dumps({"type": "session.output_audio.delta", "delta": "YWJj"}),
                json.dumps([1, 2, 3]),
            ]
            peer.answer = lambda p, e: (
                frames if e["type"] == "session.input_audio.mute" else default_answer(p, e)
            )
            s.mute()
            s.unmute()  # answered after all of it: the reader is still reading
            s.wait_for("session.input_audio.unmuted", timeout=30, since=mark)
            assert s.connected
        finally:
            s.close()
    messages = [p["message"] for p in problems]
    assert messages[0].startswith("not JSON: ")
    assert messages[1] == "unknown GPT-Live server event type 'session.paused'"
    assert messages[2].startswith("session.delegation.created in a shape this client cannot read")
    assert messages[3] == (
        "session.output_audio.delta: PCM16 data must have an even number of bytes "
        "(2 per sample), got 3"
    )
    assert messages[4] == "an event must be a JSON object with a string 'type'"
    assert len(messages) == 5


class BuggyLiveCore(LiveCore):
    """A core with a bug: a frame holding ``"boom"`` makes ``receive`` raise (it stands for
    any failure the per-frame guards did not foresee)."""

    def receive(self, text: str) -> ServerEvent | None:
        if '"boom"' in text:
            raise RuntimeError("a bug in the core")
        return super().receive(text)


def test_a_reader_that_fails_disconnects_at_once_and_every_wait_fails_with_the_cause() -> None:
    boom = json.dumps({"type": "boom", "event_id": "e1"})

    def answer(peer: LivePeer, event: Event) -> list[Any]:
        return (
            [boom] if event["type"] == "session.input_audio.mute" else default_answer(peer, event)
        )

    with LivePeer(answer) as peer:
        s = LiveSession(LiveConfig(), endpoint=Endpoint.local(peer.url, "m"))  # reconnect on
        s.core = BuggyLiveCore(s.core.live_requested)
        said: list[tuple[bool, dict[str, Any]]] = []
        s.on(
            "session.disconnected", lambda e: said.append((s.connected, dict(e.model_extra or {})))
        )
        try:
            s.connect()
            waiting = s.submit(s.await_event("session.usage.updated", timeout=600))
            s.mute()  # the peer answers with the fatal frame
            with pytest.raises(ServerError, match="RuntimeError: a bug in the core") as err:
                waiting.result(30)
            assert err.value.code == "reader_failed"
            assert s.connected is False
            with pytest.raises(ServerError, match="a bug in the core"):
                s.append_commentary("anyone there?")  # at once, not after a timeout
            with pytest.raises(ServerError, match="a bug in the core"):
                s.wait_for("session.usage.updated", timeout=600)
        finally:
            s.close()
    assert said == [
        (
            False,
            {
                "code": None,
                "reason": "reader_failed",
                "message": "the session stopped reading server events: "
                "RuntimeError: a bug in the core",
            },
        )
    ]
    assert peer.sessions == 1  # a failed reader is not a dropped connection: no reconnect
