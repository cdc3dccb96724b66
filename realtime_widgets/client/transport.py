"""The session's I/O: the socket, reconnect, waiting and the I/O thread around a ClientCore.

:class:`SessionTransport` is what :class:`~realtime_widgets.client.session.RealtimeSession`
stands on: it owns the background loop (``submit``, ``call_soon``, owned tasks), opens the
WebSocket and reads it into the core, reconnects with backoff after a drop, sends the frames
the core makes, and turns the core's waiters and pending updates into awaitables. It knows no
event beyond ``session.update``: the protocol is the core's, the opening of a connection too
(its ``greeting()`` frames, then its ``FIRST_EVENT``: Realtime's ``session.created``,
GPT-Live's ``session.start`` answered by ``session.started``), and so is a session the server
ended for good (``ended_by_server``: no reconnect, every wait fails with it).

The core calls out to nobody: after each core call the transport hands out what it queued
(:meth:`SessionTransport.dispatch`: listeners, waiters, audio taps, history listeners), on the
I/O loop, each guarded, so nothing a listener raises reaches the reader. Listeners therefore
always run on the I/O loop's thread, never in the middle of parsing a frame.

Every public operation is one coroutine that runs on the I/O loop (``@on_loop``); its blocking
twin is generated from it (``blocking``), as websockets' sync layer sits over its asyncio one.

Nothing a peer sends may silently end the reader: the core reports a bad frame as
``client.protocol_error`` and reading goes on. If the reader ends anyway (the connection is
gone and not reopened, or a bug), the session says so at once: ``connected`` is False, a
``session.disconnected`` event carries ``code``, ``reason`` (``connection_lost`` or
``reader_failed``) and ``message``, and every open wait, the pending update and every later
send fail with a :class:`~realtime_widgets.errors.ServerError` naming that cause.

While it reopens a dropped connection, the session says so before each attempt: a
``session.reconnecting`` event with ``attempt``, ``max_attempts``, ``close_code``,
``last_failure`` (why the attempt before failed, or None) and ``message`` (the consoles show it
at once). Like ``session.disconnected`` and ``session.reconnected`` it is the client's own
event: made here, recorded in the history as ``local``, handed to the listeners, and never sent
on the wire. ``session.reconnected`` (the new server session) or ``session.disconnected`` (the
attempts are spent) follows it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import copy
import logging
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from realtime_widgets.client.auth import Endpoint
from realtime_widgets.client.core import ClientCore, PendingUpdate, ToolCall, Waiter
from realtime_widgets.client.dispatch import dispatch
from realtime_widgets.client.history import HistoryEntry
from realtime_widgets.client.loop import (
    BackgroundLoop,
    blocking,
    copy_outcome,
    log_failure,
    on_loop,
)
from realtime_widgets.client.recording import Recorder
from realtime_widgets.errors import RealtimeWidgetsError, ServerError
from realtime_widgets.logs import redacting_logger
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.events import ServerEvent, UnknownServerEvent

__all__ = ["SessionTransport"]

log = logging.getLogger("realtime_widgets.client")
T = TypeVar("T")
S = TypeVar("S", bound="SessionTransport")


Callback = Callable[[ServerEvent], None]
MAX_FRAME = 64 * 1024 * 1024  # the websockets default (1 MiB) is too small for audio events
NO_RECONNECT_CODES = {1000, 4000}  # we closed it, or the beta dialect was refused


class SessionTransport:
    """The socket, reconnect and I/O thread around a :class:`ClientCore` (module docstring)."""

    def __init__(
        self,
        core: ClientCore,
        endpoint: Endpoint,
        *,
        reconnect: bool = True,
        max_reconnects: int = 10,
        record: str | Path | None = None,
        timeout: float = 20.0,
    ) -> None:
        self.core = core
        self.endpoint = endpoint
        self.reconnect = reconnect
        self.max_reconnects = max_reconnects
        self.timeout = timeout
        self.replaying = False
        self._record_path = Path(record) if record else None
        self._recorder: Recorder | None = None
        self._io: BackgroundLoop | None = None
        self._ws: ClientConnection | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._update_lock: asyncio.Lock | None = None
        self._closing = False
        self._ended: ServerError | None = None  # why the reader ended, until the next connect
        self._connected = asyncio.Event()  # replaced on the I/O loop by each connect

    @property
    def connected(self) -> bool:
        return self._ws is not None and self._connected.is_set()

    # ---- the I/O loop and the public seams --------------------------------------------------

    @property
    def loop_thread(self) -> threading.Thread | None:
        """The I/O loop's thread while the session uses it (None before its first use and
        after :meth:`close`): where every listener runs, and where widgets keep their state."""
        io = self._io
        return io.thread if io is not None else None

    def _loop(self) -> BackgroundLoop:
        if self._io is None:
            self._io = BackgroundLoop.acquire()
        return self._io

    def _block(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return self._loop().run(coro, self.timeout if timeout is None else timeout)

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coro`` on the session's I/O loop, from any thread (a widget callback, a cell).

        The task is owned by the session: :meth:`close` cancels and awaits it; a failure is
        logged. Returns a future for the result (``.result(timeout)`` to wait, ``.cancel()``)."""
        io = self._loop()
        result: concurrent.futures.Future[T] = concurrent.futures.Future()

        def start() -> None:
            if result.cancelled():
                coro.close()
                return
            task = self._spawn(coro)
            task.add_done_callback(lambda t: copy_outcome(t, result))
            result.add_done_callback(
                lambda f: io.loop.call_soon_threadsafe(task.cancel) if f.cancelled() else None
            )

        io.loop.call_soon_threadsafe(start)
        return result

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the session's I/O loop thread (thread-safe; for timers and
        callbacks that touch loop objects)."""
        self._loop().loop.call_soon_threadsafe(fn, *args)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """An owned task on the I/O loop (cancelled and awaited by close)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(log_failure)
        return task

    def on(self, event_type: str, callback: Callback) -> Callable[[], None]:
        """Call ``callback(event)`` for each event of this type ("*": every event), on the I/O
        loop's thread, after the core has applied it (keep it quick). Returns a function that
        removes the callback."""
        return self.core.on(event_type, callback)

    def on_history(self, listener: Callable[[HistoryEntry], None]) -> Callable[[], None]:
        """Call ``listener(entry)`` for every event recorded, both directions (I/O thread).
        Returns a function that removes the listener."""
        return self.core.on_history(listener)

    def add_audio_tap(self, tap: Callable[[npt.NDArray[Any], int], None]) -> Callable[[], None]:
        """Call ``tap(int16_samples, rate)`` with all audio appended (the waveform uses this).
        Returns a function that removes the tap."""
        return self.core.add_audio_tap(tap)

    def add_output_audio_tap(
        self, tap: Callable[[str, npt.NDArray[np.int16]], None]
    ) -> Callable[[], None]:
        """Call ``tap(item_id, samples)`` with the assistant's audio as 24 kHz int16 (I/O loop
        thread), decoded
        once for every listener. Returns a function that removes the tap."""
        return self.core.add_output_audio_tap(tap)

    # ---- connecting -------------------------------------------------------------------------

    def connect(self: S, timeout: float | None = None) -> S:
        """Open the session; returns once the server's first event (session.created) arrived
        and the requested config was applied, or raises with the server's reason."""
        self._block(self.aconnect(), timeout)
        return self

    @on_loop
    async def aconnect(self: S) -> S:
        """Open the session (see :meth:`connect`)."""
        if self.connected:
            return self
        self._closing = False
        self._ended = None
        self._update_lock = asyncio.Lock()
        self._connected = asyncio.Event()
        if self._record_path is not None and self._recorder is None:
            self._recorder = Recorder(self._record_path)
        await self._open()
        self._connected.set()
        self._spawn(self._reader())
        await self._configure()
        return self

    async def __aenter__(self: S) -> S:
        return await self.aconnect()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __enter__(self: S) -> S:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def _open(self) -> None:
        try:
            ws = await asyncio.wait_for(
                websockets.connect(
                    self.endpoint.url,
                    additional_headers=self.endpoint.headers(),
                    max_size=MAX_FRAME,
                    compression=None,
                    open_timeout=self.timeout,
                    logger=_REDACTED,
                ),
                self.timeout,
            )
        except InvalidStatus as exc:
            raise ServerError(
                f"{self.endpoint.display} refused the connection: HTTP {exc.response.status_code}",
                code=f"http_{exc.response.status_code}",
            ) from None
        except OSError as exc:
            raise ServerError(
                f"cannot reach {self.endpoint.display}: {exc.strerror or exc}"
            ) from None
        except InvalidHandshake as exc:  # a peer that answers HTTP but not WebSocket
            raise ServerError(
                f"{self.endpoint.display} gave an invalid WebSocket handshake: {exc}",
                code="invalid_handshake",
            ) from None
        self._ws = ws
        first_event = self.core.FIRST_EVENT
        try:
            for frame in self.core.greeting():  # GPT-Live's session.start; Realtime: none
                await ws.send(frame)
                self._record("out", frame, json_object=True)
            self.dispatch()  # the greeting's history entries
            text = await asyncio.wait_for(ws.recv(decode=True), self.timeout)
        except ConnectionClosed as exc:
            self._ws = None
            raise ServerError(
                f"the server closed the connection ({exc.rcvd.code if exc.rcvd else 'no code'})"
            ) from None
        except BaseException:  # timed out or cancelled (a peer that never says
            self._ws = None  # session.created): leave no socket open behind
            ws.transport.abort()
            raise
        first = self._receive(str(text))
        if first is not None and first.type == "error":
            await ws.close()
            self._ws = None
            raise self.core.last_error or ServerError("the server refused the session")
        if first is None or first.type != first_event or isinstance(first, UnknownServerEvent):
            await ws.close()
            self._ws = None
            if first is None:
                kind = "an unreadable frame"
            elif isinstance(first, UnknownServerEvent) and first.problem:
                kind = f"{first.type} in a shape this client cannot read ({first.problem})"
            else:
                kind = first.type
            raise ServerError(f"expected {first_event} first, got {kind}")

    # ---- closing ----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the socket, cancel and await every task; the last session stops the I/O thread."""
        if self._io is None:
            return
        try:
            self._block(self._close(), timeout=self.timeout)
        finally:
            self._release()

    async def aclose(self) -> None:
        """Close the session (see :meth:`close`)."""
        if self._io is None:
            return
        try:
            await self._io.run_async(self._close())
        finally:
            self._release()

    def _release(self) -> None:
        io, self._io = self._io, None
        if io is not None:
            io.release()

    async def _close(self) -> None:
        self._closing = True
        self._connected.clear()
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 5)
        current = asyncio.current_task()
        tasks = [t for t in self._tasks if t is not current]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        waiters = self.core.closed()
        self.dispatch()
        _fail(waiters, RealtimeWidgetsError("the session was closed"))
        if self._recorder is not None:
            self._recorder.close()
            self._recorder = None

    # ---- receiving --------------------------------------------------------------------------

    def dispatch(self) -> None:
        """Hand out what the core queued (listeners, waiters, taps, history listeners), in
        order; called on the I/O loop after every core call, and by a caller that drives the
        core itself. A listener that raises is logged; the others still run."""
        dispatch(self.core.listeners, self.core.take_dispatches())

    def _record(self, direction: str, text: str, *, json_object: bool) -> None:
        """One frame into the recording, if there is one. A full disk ends the recording (said
        as ``client.recording_error``), not the session."""
        if self._recorder is None:
            return
        try:
            self._recorder.write(direction, text, json_object=json_object)
        except OSError as exc:
            self._recorder.close()
            self._recorder = None
            self.core.queue_local(
                {"type": "client.recording_error", "message": f"recording stopped: {exc}"}
            )

    def _receive(self, text: str) -> ServerEvent | None:
        event = self.core.receive(text)
        self._record("in", text, json_object=event is not None)
        self.dispatch()
        for batch in self.core.take_tool_batches():
            self._spawn(self._run_tools(batch))
        return event

    async def _reader(self) -> None:
        """Read frames into the core until the session closes; reconnect after a drop. When it
        ends any other way, :meth:`_end` tells the user at once (module docstring)."""
        try:
            code = await self._read()
            error = self.core.ended_by_server or ServerError(
                f"the connection closed (code {code}) and was not reopened",
                code="connection_lost",
            )
        except Exception as exc:  # not a frame (the core reports those): a bug, say it loudly
            log.error("the session's reader failed", exc_info=True)
            code = None
            error = ServerError(
                f"the session stopped reading server events: {type(exc).__name__}: {exc}",
                code="reader_failed",
            )
        if not self._closing:
            await self._end(code, error)

    async def _read(self) -> int | None:
        """Read, reconnecting after drops; returns the close code of the drop that was not
        reopened (or None when the session is closing)."""
        while not self._closing:
            ws = self._ws
            if ws is None:
                return None
            try:
                async for message in ws:
                    text = (
                        message if isinstance(message, str) else message.decode("utf-8", "replace")
                    )
                    self._receive(text)  # a broken frame is reported by the core; read on
            except ConnectionClosed:
                pass
            code = ws.close_code
            if self._closing:
                return None
            self._connected.clear()
            self._ws = None
            lost = self.core.connection_lost(code, ws.close_reason)
            self.dispatch()
            if (
                not self.reconnect
                or code in NO_RECONNECT_CODES
                or self.core.ended_by_server is not None  # nothing to reconnect to
                or not await self._reconnect(code, lost)
            ):
                return code
        return None

    async def _end(self, code: int | None, error: ServerError) -> None:
        """The reader is over for good: disconnected at once, then ``session.disconnected``
        with the cause, then every wait and the pending update fail with it (not a timeout)."""
        self._ended = error
        self._connected.clear()
        ws, self._ws = self._ws, None
        self.core.connection_lost(code, cause=error)
        self.core.queue_local(
            {
                "type": "session.disconnected",
                "code": code,
                "reason": error.code,
                "message": error.message,
            }
        )
        self.dispatch()
        _fail(self.core.fail_waiters(), error)
        if ws is not None:  # the reader failed on an open socket: tell the server why
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(1011, "client reader failed"), 5)

    async def _reconnect(self, code: int | None, lost: list[str]) -> bool:
        """Reopen after a drop, with backoff; re-apply the config; report what was lost."""
        delay = 0.25
        failed: str | None = None  # why the attempt before failed
        for attempt in range(1, self.max_reconnects + 1):
            self._reconnecting(attempt, code, failed)
            try:
                await self._open()
            except (ServerError, TimeoutError) as exc:
                log.info("reconnect attempt %d failed: %s", attempt, exc)
                failed = str(exc) or type(exc).__name__
                await asyncio.sleep(delay)
                delay = min(delay * 2, 8.0)
                continue
            self._connected.set()
            resend = self.core.reconnected(attempt, code, lost)
            self.dispatch()
            if resend:
                self._spawn(self._configure())
            return True
        return False

    def _reconnecting(self, attempt: int, code: int | None, failed: str | None) -> None:
        """``session.reconnecting``, before each attempt to reopen: a client event, never sent
        (module docstring)."""
        said = f"connection lost (code {code}): reconnecting, attempt {attempt} of "
        said += f"{self.max_reconnects}" + (f" (the last one: {failed})" if failed else "")
        self.core.queue_local(
            {
                "type": "session.reconnecting",
                "attempt": attempt,
                "max_attempts": self.max_reconnects,
                "close_code": code,
                "last_failure": failed,
                "message": said,
            }
        )
        self.dispatch()

    # ---- waiting ----------------------------------------------------------------------------

    def mark(self) -> int:
        """A point in the event stream: ``wait_for(..., since=mark)`` also finds events that
        arrived after it but before the wait began (no race with a fast server)."""
        return self.core.mark()

    @on_loop
    async def await_event(
        self,
        event_type: str,
        timeout: float = 30.0,
        predicate: Callable[[ServerEvent], bool] | None = None,
        since: int | None = None,
    ) -> ServerEvent:
        """The next event of this type (after ``since``, a :meth:`mark`, if given; otherwise
        after this call); TimeoutError names the event after ``timeout`` seconds ("*": says no
        answer came; the caller, which knows what its predicate awaits, names it)."""
        future: asyncio.Future[ServerEvent] = asyncio.get_running_loop().create_future()
        waiter = self.core.wait(event_type, predicate, since, on_match=_resolver(future))
        if waiter.event is not None:
            return waiter.event
        if self._ended is not None:  # nothing more will arrive
            self.core.cancel(waiter)
            raise copy.copy(self._ended)
        try:
            event = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            if event_type == "*":  # (a caller's predicate: the caller says what it awaited)
                said = f"no answer within {timeout:g} s (no event the wait accepts arrived)"
            else:
                said = f"no {event_type} event within {timeout:g} s"
            raise TimeoutError(said) from None
        finally:
            self.core.cancel(waiter)
        if isinstance(event, _Ended):
            raise copy.copy(event.error)
        return event

    def wait_for(
        self,
        event_type: str,
        timeout: float = 30.0,
        predicate: Callable[[ServerEvent], bool] | None = None,
        since: int | None = None,
    ) -> ServerEvent:
        """Block until an event of this type arrives (after ``since``, a :meth:`mark`, if given;
        otherwise after this call)."""
        return self._block(self.await_event(event_type, timeout, predicate, since), timeout + 1)

    async def listen(self) -> AsyncIterator[ServerEvent]:
        """Every event from now on, on the caller's loop, until the session closes."""
        caller = asyncio.get_running_loop()
        queue: asyncio.Queue[ServerEvent | None] = asyncio.Queue()

        def push(event: ServerEvent) -> None:
            caller.call_soon_threadsafe(queue.put_nowait, event)
            if event.type == "session.closed":
                caller.call_soon_threadsafe(queue.put_nowait, None)

        remove = self.on("*", push)
        try:
            while (event := await queue.get()) is not None:
                yield event
        finally:
            remove()

    # ---- sending ----------------------------------------------------------------------------

    async def _socket(self) -> ClientConnection:
        if self.replaying:
            raise RealtimeWidgetsError("a replayed session is read-only")
        if self._ended is not None:
            raise copy.copy(self._ended)
        ws = self._ws
        if ws is None or not self._connected.is_set():
            await asyncio.wait_for(self._connected.wait(), self.timeout)
            ws = self._ws
        if ws is None:
            raise RealtimeWidgetsError("the session is not connected")
        return ws

    async def _send_frames(self, frames: list[str]) -> None:
        self.dispatch()  # the frames' history entries (and audio taps) go out first
        ws = await self._socket()
        for text in frames:
            await ws.send(text)
            self._record("out", text, json_object=True)  # (the core encoded it)
        self.dispatch()  # a recording error, if one came

    async def _send(self, event: dict[str, Any]) -> None:
        await self._socket()  # a closed session raises before the event is recorded as sent
        await self._send_frames([self.core.encode(event)])

    @on_loop
    async def asend_event(self, event: dict[str, Any]) -> None:
        """Send any client event (a dict with ``type``)."""
        await self._send(event)

    send_event = blocking(asend_event)

    async def _configure(self) -> None:
        """Send the requested configuration on a new connection (at connect, and again after a
        reconnect, which opens a new server session), when the core has settings to send
        (``core.resent_settings()``, what the reconnect's log line names). A session kind
        with its own configuration sends it its own way."""
        if self.core.resent_settings():
            await self._send_update(self.core.requested, previous=None)

    async def _send_update(
        self, new: SessionConfig, previous: SessionConfig | None
    ) -> SessionConfig:
        """Send the diff, wait for session.updated (-> effective) or our error (-> raise)."""
        assert self._update_lock is not None
        async with self._update_lock:
            future: asyncio.Future[PendingUpdate] = asyncio.get_running_loop().create_future()
            try:
                pending = self.core.begin_update(new, previous)
            finally:
                self.dispatch()
            if pending is None:
                return self.core.effective or new
            pending.on_done = _resolver(future)
            try:
                await self._send_frames(pending.frames)
                await asyncio.wait_for(future, self.timeout)
            finally:
                self.core.abandon_update(pending)
            if pending.error is not None:
                raise pending.error
            assert pending.effective is not None
            return pending.effective

    async def _run_tools(self, calls: list[ToolCall]) -> None:
        tools = self.core.tools
        outputs = await asyncio.gather(*(tools[c.name].call(c.arguments) for c in calls))
        await self._send_frames(self.core.tool_output_frames(calls, list(outputs)))


_REDACTED = redacting_logger("websockets.client")


class _Ended:
    """Handed to waiters still open when the session closes or its reader ends (by
    :func:`_fail`, in place of an event): the waiting call raises a copy of ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def _fail(waiters: list[Waiter], error: Exception) -> None:
    ended: Any = _Ended(error)
    for waiter in waiters:
        if waiter.on_match is not None:
            waiter.on_match(ended)


def _resolver(future: asyncio.Future[Any]) -> Callable[[Any], None]:
    def resolve(value: Any) -> None:
        if not future.done():
            future.set_result(value)

    return resolve
