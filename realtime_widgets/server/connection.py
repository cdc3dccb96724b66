"""One client connection of the local server: websockets' side of a session.

:class:`SessionConnection` drives one session engine (any kind, :mod:`.engine_core`) over one
websocket: it reads client frames (big ones parsed off the event loop, :mod:`.frames`), waits
for the shared VAD pass when the engine asks, runs a worker per transcription job (on the
server's recogniser thread, with a timeout) and per reply request, ticks the paced events out
and keeps the connection alive, all in one TaskGroup that closing cancels and awaits. It owns
the tasks, the send lock and the keepalive clock; the engine owns the session.

:func:`connection_class` is the websockets connection class the listener builds: it registers
every TCP connection (for a bounded shutdown) and speaks through :class:`LimitNamingProtocol`,
whose close reason for an oversize frame names the limit to raise.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode
from websockets.protocol import State
from websockets.server import ServerProtocol

from realtime_widgets.server.beta import to_beta_event
from realtime_widgets.server.engine_core import EngineCore
from realtime_widgets.server.frames import OFF_LOOP_BYTES, dump_events, is_heavy, read_frame
from realtime_widgets.server.input_transcripts import (
    TranscriptionFailure,
    TranscriptionRequest,
    TranscriptionResult,
)
from realtime_widgets.server.limits import ServerLimits
from realtime_widgets.server.pipeline import Deliver
from realtime_widgets.server.reply.material import ReplyPiece, ReplyRequest
from realtime_widgets.server.reply.responder import FunctionCall, ResponderError

__all__ = ["ConnectionHost", "LimitNamingProtocol", "SessionConnection", "connection_class"]

_T = TypeVar("_T")

log = logging.getLogger("realtime_widgets.server")


class ConnectionHost(Protocol):
    """What a connection needs from its server (:class:`~.app.LocalServer`)."""

    @property
    def limits(self) -> ServerLimits: ...

    async def off_loop(self, fn: Callable[..., _T], *args: Any) -> _T: ...

    async def vad_pass(self) -> None: ...

    async def reply(self, request: ReplyRequest, deliver: Deliver) -> None: ...

    async def transcribe(
        self, request: TranscriptionRequest, session: object
    ) -> TranscriptionResult: ...


class LimitNamingProtocol(ServerProtocol):
    """websockets' server protocol, whose close reason for an oversize frame names the limit
    to raise (websockets' own reason gives the sizes only)."""

    def fail(self, code: CloseCode | int, reason: str = "") -> None:
        if code == CloseCode.MESSAGE_TOO_BIG:
            reason = f"{reason} (ServerLimits.max_frame_bytes)"[:123]
        super().fail(code, reason)


def connection_class(live: set[ServerConnection]) -> type[ServerConnection]:
    """The connection class for a listener: it adds every connection to ``live`` from its TCP
    accept on (handshakes in progress included) until it is lost, so a shutdown can abort what
    does not close by itself; and it speaks through :class:`LimitNamingProtocol`."""

    class Connection(ServerConnection):
        def __init__(self, protocol: ServerProtocol, *args: Any, **kwargs: Any) -> None:
            # serve() builds a plain ServerProtocol; this one has the same settings (the
            # listener sets no subprotocol selection) and names the frame limit when it fails.
            assert "select_subprotocol" not in vars(protocol)
            named = LimitNamingProtocol(
                origins=protocol.origins,
                extensions=protocol.available_extensions,
                subprotocols=protocol.available_subprotocols,
                max_size=(protocol.max_message_size, protocol.max_fragment_size),
                logger=protocol.logger,
            )
            super().__init__(named, *args, **kwargs)

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            live.add(self)
            super().connection_made(transport)

        def connection_lost(self, exc: Exception | None) -> None:
            live.discard(self)
            super().connection_lost(exc)

    return Connection


@dataclass(eq=False)
class _Worker:
    """One reply being computed. While ``handing`` a piece to the engine and sending what
    that released, or ``finishing`` (handing over the end), it is never cancelled, or those
    events would be lost: it stops by itself when the engine says the response takes no
    more."""

    request: ReplyRequest
    task: asyncio.Task[None] | None = None
    handing: int = 0
    finishing: bool = False
    stopped: bool = False  # the response takes no more: stop at the next piece


class SessionConnection:
    """One client's session: a reader, a ticker, a keepalive and reply workers, all owned by
    one TaskGroup; the engine (any kind) answers, this sends."""

    def __init__(
        self, server: ConnectionHost, ws: ServerConnection, engine: EngineCore[Any], dialect: str
    ) -> None:
        self.server = server
        self.ws = ws
        self.engine = engine
        self.dialect = dialect
        self.loop = asyncio.get_running_loop()
        # The ticker sleeps on a future that its timer or _poke_ticker resolves (cheaper than
        # wait_for on an Event: no task per wake-up, ~25 wake-ups a second while replying).
        self.wake: asyncio.Future[None] = self.loop.create_future()
        self.ticker_due = 0.0  # when the ticker wakes by itself (loop time)
        self.group: asyncio.TaskGroup | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.workers: set[_Worker] = set()
        self.last_heard = self.loop.time()
        self.failures = 0
        # One batch of events is sent at a time, whole: the reader, the ticker and the reply
        # workers all send, and a batch serialized off the loop must not be overtaken.
        self.sending = asyncio.Lock()

    async def send(self, events: list[dict[str, Any]]) -> None:
        async with self.sending:
            if self.ws.state is not State.OPEN:
                # The client is leaving: nothing reaches it any more, and websockets' send
                # would wait for the TCP close, which cannot come while frames it sent before
                # its close sit unread in a full queue (reading is paused). The reader drains
                # them instead.
                return
            outgoing = events
            if self.dialect == "beta":
                config, identity = self.engine.beta_config(), self.engine.identity()
                translated = (to_beta_event(event, config, identity) for event in events)
                outgoing = [event for event in translated if event is not None]
            if any(is_heavy(event) for event in outgoing):
                texts = await self.server.off_loop(dump_events, outgoing)
            else:
                texts = [json.dumps(event, separators=(",", ":")) for event in outgoing]
            for text in texts:
                await self.ws.send(text)
            if self.engine.closed is not None:
                code, reason = self.engine.closed
                await self.ws.close(code, reason)

    async def run(self) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                self.group = group
                await self.send(self.engine.start(self.loop.time()))
                self.tasks.add(group.create_task(self._ticker()))
                self.tasks.add(group.create_task(self._keepalive()))
                try:
                    await self._reader()
                finally:
                    for task in self.tasks:  # the client left: stop the ticker and workers
                        task.cancel()
        except* ConnectionClosed:
            pass

    def _start_work(self) -> None:
        """Start a worker per new transcription job and reply request; stop the reply workers
        whose response takes no more pieces (cancelled, ended): their responder stream is
        closed, their speech not made. Called after everything the engine is told."""
        assert self.group is not None
        for job in self.engine.take_transcriptions():
            self._own(self.group.create_task(self._transcribe(job)))
        for worker in list(self.workers):
            if not worker.stopped and not self.engine.wants_reply(worker.request):
                worker.stopped = True
                if worker.task is not None and not worker.handing and not worker.finishing:
                    worker.task.cancel()
        for request in self.engine.take_requests():
            worker = _Worker(request)
            task = self.group.create_task(self._work(worker))
            worker.task = task
            self.workers.add(worker)
            self._own(task)
            task.add_done_callback(functools.partial(self._worker_done, worker))

    def _own(self, task: asyncio.Task[None]) -> None:
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _reader(self) -> None:
        async for message in self.ws:
            self.last_heard = self.loop.time()
            if isinstance(message, bytes):
                message = message.decode("utf-8", "replace")
            if len(message) >= OFF_LOOP_BYTES:  # an image: parsed and read off the loop
                depth = self.server.limits.max_json_depth
                try:
                    frame = await self.server.off_loop(
                        functools.partial(read_frame, max_depth=depth), message
                    )
                except Exception as exc:  # our bug: answer it, log it, and keep the session
                    out = [self._server_error(exc)]
                else:
                    out = self._guarded(self.engine.receive, frame, self.loop.time())
            else:
                out = self._guarded(self.engine.receive, message, self.loop.time())
            await self.send(out)
            waited = self.engine.vad_pending
            if waited:
                try:
                    await self.server.vad_pass()
                except TimeoutError as exc:
                    limit = self.server.limits.vad_timeout_s
                    out = [
                        self._server_error(
                            exc,
                            f"Turn detection did not answer within {limit:g} s "
                            "(ServerLimits.vad_timeout_s); the session goes on, and its audio "
                            "is decided when it answers.",
                        )
                    ]
                except Exception as exc:
                    out = [self._server_error(exc)]
                else:
                    out = self._guarded(self.engine.vad_ready, self.loop.time())
                await self.send(out)
            self._start_work()
            self._poke_ticker()
            if self.engine.closed is not None:
                return
            # A client that sends faster than it is answered must not starve the loop: the
            # other sessions, this one's ticker and keepalive run between its events (waiting
            # for the VAD pass already let them).
            if not waited:
                await asyncio.sleep(0)

    def _guarded(
        self, call: Callable[..., list[dict[str, Any]]], *args: Any
    ) -> list[dict[str, Any]]:
        """The engine's events for ``call(*args)``; a bug met there is answered with a
        server_error event, and the session goes on."""
        try:
            return call(*args)
        except Exception as exc:
            return [self._server_error(exc)]

    def _server_error(self, exc: Exception, message: str | None = None) -> dict[str, Any]:
        """A server_error event for ``exc`` (logged), saying ``message`` or that it is a bug."""
        log.error("the local server failed in a session; the session goes on", exc_info=exc)
        self.failures += 1
        message = (
            message
            or f"The local server failed ({type(exc).__name__}); the session goes on. This is "
            "a bug in realtime_widgets: please report it with the server's log."
        )
        # Its own ids: the engine's counter is not to be touched from here. The shape is the
        # session kind's (a GPT-Live error is not a Realtime one).
        return self.engine.failure_event(message, f"event_fail{self.failures:05d}")

    async def _keepalive(self) -> None:
        """Ping a connection that has been silent for ``keepalive_s``; no pong within as long
        means the peer is gone: close 1001 (never 1011)."""
        interval = self.server.limits.keepalive_s
        while True:
            await asyncio.sleep(max(0.0, self.last_heard + interval - self.loop.time()))
            if self.loop.time() - self.last_heard < interval:
                continue
            pong = await self.ws.ping()
            try:
                await asyncio.wait_for(pong, timeout=interval)
            except TimeoutError:
                await self.ws.close(CloseCode.GOING_AWAY, "keepalive ping timeout")
                return
            self.last_heard = self.loop.time()

    def _worker_done(self, worker: _Worker, _task: asyncio.Task[None]) -> None:
        self.workers.discard(worker)

    async def _work(self, worker: _Worker) -> None:
        """Compute a reply (:meth:`ConnectionHost.reply`) and hand it to the engine piece by
        piece, then its end; a responder's failure ends the response failed, and the session
        goes on. Anything else raised here is a bug (the pipeline turns a responder's own
        exceptions into ResponderError): it is logged and ends the response failed too, for a
        worker that raised would take the connection's TaskGroup, and the session, down."""
        request = worker.request
        failure: ResponderError | None = None
        try:
            await self.server.reply(request, functools.partial(self._hand, worker))
        except ResponderError as exc:
            failure = exc
        except Exception as exc:
            log.exception("computing a reply failed; the response ends failed, the session goes on")
            failure = ResponderError(
                "server_error",
                f"The local server failed while replying ({type(exc).__name__}: {exc}).",
            )
        worker.finishing = True
        now = self.loop.time()
        try:
            out = self.engine.reply_end(request, now, failure)
        except Exception as exc:
            out = [self._server_error(exc), *self._guarded(self.engine.fail_reply, request, now)]
        await self.send(out)
        self._start_work()
        self._poke_ticker()

    async def _transcribe(self, request: TranscriptionRequest) -> None:
        """Run one transcription job on the server's recogniser thread, with a timeout; its
        events go out after everything sent before (the commit and the item's events)."""
        timeout = self.server.limits.transcription_timeout_s
        try:
            result = await asyncio.wait_for(self.server.transcribe(request, self), timeout)
        except TimeoutError:
            result = TranscriptionFailure(
                "transcription_timeout",
                f"The local server's transcriber took longer than {timeout:g} s "
                "(ServerLimits.transcription_timeout_s).",
            )
        except Exception as exc:  # our bug: the turn fails, the session goes on
            log.exception("transcription failed")
            result = TranscriptionFailure(
                "transcription_failed", f"The local server failed to transcribe ({exc})."
            )
        out = self._guarded(self.engine.transcription_ready, request, result, self.loop.time())
        await self.send(out)
        self._start_work()  # a response may have waited for this transcript
        self._poke_ticker()

    async def _hand(self, worker: _Worker, piece: ReplyPiece | FunctionCall) -> bool:
        """Hand a piece to the engine and send what it released at once; whether the response
        takes more pieces."""
        request = worker.request
        worker.handing += 1
        try:
            now = self.loop.time()
            try:
                out = self.engine.reply_piece(request, piece, now)
            except Exception as exc:
                out = [
                    self._server_error(exc),
                    *self._guarded(self.engine.fail_reply, request, now),
                ]
            await self.send(out)
        finally:
            worker.handing -= 1
        self._poke_ticker()
        return not worker.stopped and self.engine.wants_reply(request)

    def _poke_ticker(self) -> None:
        """Wake the ticker if the engine now has work due before the ticker's own wake-up
        (a reply scheduled, the session closed). Most events (appends) change nothing: a
        wake-up for each cost more than the append itself."""
        due = self.engine.next_due()
        if self.engine.closed is not None or (due is not None and due < self.ticker_due):
            _resolve(self.wake)

    async def _ticker(self) -> None:
        while True:
            due = self.engine.next_due()
            delay = 3600.0 if due is None else max(0.0, due - self.loop.time())
            self.ticker_due = self.loop.time() + min(delay, 3600.0)
            self.wake = self.loop.create_future()
            timer = self.loop.call_at(self.ticker_due, _resolve, self.wake)
            try:
                await self.wake
            finally:
                timer.cancel()
            await self.send(self._guarded(self.engine.tick, self.loop.time()))
            self._start_work()
            if self.engine.closed is not None:
                return


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
