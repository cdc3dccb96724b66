"""A scripted GPT-Live peer on 127.0.0.1 for the client's tests.

A real websockets server (the ``ThreadPeer`` of ``conftest``) that speaks GPT-Live: it checks
every frame the client sends strictly against the SDK's Live client-event union (no unknown
key at any depth, every key the SDK's request types require; ``session.start`` and
``session.update`` against their own request types) and answers as the SDK says a server does,
with events it first checks against the SDK's Live server-event union. A test pushes more
events (:meth:`LivePeer.push`), drops the connection (:meth:`LivePeer.drop`) or replaces the
answers (``answer``), and reads what was sent (``received``, ``audio``) and what broke
(``violations``: empty when the client sent only what the SDK models).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import ServerConnection

from realtime_widgets.protocol.live_config import LiveConfig
from tests.protocol.sdk_oracle import (
    check_live_client_event,
    check_live_server_event,
    check_live_session_start,
    check_live_session_update,
)

from .conftest import ThreadPeer

Event = dict[str, Any]
# The peer's answer to a client event: events (checked against the SDK, then sent) or raw
# frames (str: sent as they are, for the tests of what a broken server sends).
Answer = Callable[["LivePeer", Event], list[Any]]

DECISION = {
    "model": "gpt-5-mini",
    "answers": [{"type": "predicate", "name": "refund", "probability": 0.9}],
    "usage": {
        "input_tokens": 10,
        "input_tokens_details": {"cache_write_tokens": 0, "cached_tokens": 0},
        "output_tokens": 1,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 11,
    },
}
_APPENDED = {
    "session.instructions.append": "session.instructions.appended",
    "session.thinking.append": "session.thinking.appended",
    "session.commentary.append": "session.commentary.appended",
}


class LivePeer(ThreadPeer):
    """A GPT-Live server with scripted answers (see the module docstring)."""

    def __init__(self, answer: Answer | None = None, *, close_after_closed: bool = True) -> None:
        super().__init__(self._handle)
        self.answer: Answer = answer or default_answer
        self.close_after_closed = close_after_closed
        self.paths: list[str] = []
        self.received: list[Event] = []
        self.violations: list[str] = []
        self.audio: list[bytes] = []  # the input audio appended, per connection
        self.sessions = 0
        self.session: Event = {}  # the current session resource
        self.usage_seconds = 0.0
        self._ids = itertools.count(1)
        self._ws: ServerConnection | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/realtime"

    # -- what a test does

    def event_id(self) -> str:
        return f"event_{next(self._ids)}"

    def sent_types(self) -> list[str]:
        return [e["type"] for e in self.received]

    def last(self, kind: str) -> Event:
        return [e for e in self.received if e["type"] == kind][-1]

    def push(self, *events: Event) -> None:
        """Send these events now (each checked against the SDK first), from the test thread."""
        checked = [self._checked(e) for e in events]
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(self._send(checked), self._loop).result(30)

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the current connection with a close frame."""
        assert self._loop is not None
        ws = self._ws
        assert ws is not None
        asyncio.run_coroutine_threadsafe(ws.close(code, reason), self._loop).result(30)

    def drop(self) -> None:
        """Cut the current connection (no close handshake), as a network failure would."""
        assert self._loop is not None
        ws = self._ws
        assert ws is not None
        self._loop.call_soon_threadsafe(ws.transport.abort)

    # -- the server

    async def _send(self, events: list[Event]) -> None:
        ws = self._ws
        assert ws is not None
        for event in events:
            await ws.send(json.dumps(event))

    def _checked(self, event: Event) -> Event:
        if event.get("type") != "session.output_audio.delta":
            event.setdefault("event_id", self.event_id())
        check_live_server_event(event)  # raises: a test must not send what the SDK refuses
        return event

    async def _handle(self, ws: ServerConnection) -> None:
        self._ws = ws
        assert ws.request is not None
        self.paths.append(ws.request.path)
        self.audio.append(b"")
        async for message in ws:
            event = json.loads(message)
            self.received.append(event)
            self._validate(event)
            if event["type"] == "session.input_audio.append":
                self.audio[-1] += base64.b64decode(event["audio"])
            replies = [
                r if isinstance(r, str) else self._checked(r) for r in self.answer(self, event)
            ]
            for reply in replies:
                await ws.send(reply if isinstance(reply, str) else json.dumps(reply))
            if event["type"] == "session.close" and self.close_after_closed:
                await ws.close(1000, "session closed")
                return

    def _validate(self, event: Event) -> None:
        try:
            check_live_client_event(event)
            if event["type"] == "session.start":
                check_live_session_start(event)
            elif event["type"] == "session.update":
                check_live_session_update(event)
        except Exception as exc:
            self.violations.append(f"{event.get('type')}: {exc}")

    # -- building answers

    def started(self, event: Event) -> Event:
        """session.started for a client's session.start: the complete session object."""
        self.sessions += 1
        config = LiveConfig.validate_start_payload(event["session"])
        self.session = config.to_session_resource(
            session_id=f"sess_{self.sessions}", expires_at=2_000_000_000
        )
        self.usage_seconds = 0.0
        return {
            "type": "session.started",
            "client_event_id": event.get("event_id"),
            "session": self.session,
        }


def _acked(to: Event, kind: str, **fields: Any) -> Event:
    """A server event answering the client event ``to`` (naming it, when it has an id)."""
    out: Event = {"type": kind, **fields}
    if to.get("event_id") is not None:
        out["client_event_id"] = to["event_id"]
    return out


def default_answer(peer: LivePeer, event: Event) -> list[Event]:
    """What a GPT-Live server answers to each client event (the SDK's docstrings)."""
    kind = event["type"]
    if kind == "session.start":
        return [peer.started(event)]
    if kind == "session.update":
        peer.session = {**peer.session, **event["session"]}
        return [_acked(event, "session.updated", session=peer.session)]
    if kind == "session.input_audio.mute":
        return [_acked(event, "session.input_audio.muted")]
    if kind == "session.input_audio.unmute":
        return [_acked(event, "session.input_audio.unmuted")]
    if kind == "session.output_audio.fixture.play":
        return [
            _acked(event, "session.output_audio.fixture.playing"),
            _acked(event, "session.output_audio.fixture.played"),
        ]
    if kind in _APPENDED:
        at = len(peer.audio[-1]) // 48  # ms of 24 kHz PCM16 heard so far
        return [_acked(event, _APPENDED[kind], start_ms=at, end_ms=at)]
    if kind == "decision.create":
        return [
            {
                "type": "decision.event",
                "event": {"type": "decision.completed", "decision": DECISION},
            }
        ]
    if kind == "decision.item.create":
        return [_acked(event, "decision.item.created", item={"id": "ditem_1", **event["item"]})]
    if kind == "decision.item.delete":
        return [_acked(event, "decision.item.deleted", item_id=event["item_id"])]
    if kind == "response.create":
        return [
            _acked(
                event,
                "response.event",
                delegation_id="del_r",
                event={"type": "response.completed", "response": {"id": "resp_1"}},
            )
        ]
    if kind == "session.close":
        return [
            _acked(
                event,
                "session.closed",
                reason="close_requested",
                session=peer.session,
                usage={"seconds": peer.usage_seconds},
            )
        ]
    return []


def silent(peer: LivePeer, event: Event) -> list[Event]:
    """Answers session.start only."""
    return [peer.started(event)] if event["type"] == "session.start" else []
