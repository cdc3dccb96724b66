"""RealtimeSession: one Realtime conversation, usable from notebook cells and from async code.

In a cell (blocking calls with timeouts; the socket lives on a background I/O thread)::

    session = RealtimeSession(SessionConfig(voice="marin"))   # no key: the local server
    session.connect()                                         # returns on session.created
    session.update(turn_detection={"type": "server_vad", "silence_duration_ms": 700})
    session.send_text("Hello!")
    session.wait_for("response.done")

In async code, the same object, with ``a``-prefixed coroutines::

    async with RealtimeSession(config, endpoint=Endpoint.openai("gpt-realtime")) as s:
        await s.aupdate(voice="cedar")
        async for event in s.listen(): ...

The protocol itself (state, effective config, pending updates, tool calls, waiters, audio
encoding) is :class:`~realtime_widgets.client.core.ClientCore`, which does no I/O; this module
is the socket, reconnect and the I/O thread around it. Every operation is written once, as a
coroutine that runs on the I/O loop (``@_on_loop``); its blocking twin is generated from it
(``_blocking``), as websockets' sync layer sits over its asyncio one.

Widgets and other threads use the public seams: :meth:`submit` (an owned task on the loop),
:meth:`call_soon`, the ``a*`` coroutines, and listeners that return their remover.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import numpy as np
import numpy.typing as npt
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from realtime_widgets.client.auth import Endpoint
from realtime_widgets.client.core import ClientCore, PendingUpdate, ToolCall
from realtime_widgets.client.history import EventHistory, HistoryEntry
from realtime_widgets.client.loop import BackgroundLoop
from realtime_widgets.client.metrics import PRICES, Metrics, cost_of
from realtime_widgets.client.recording import Recorder, read_recording
from realtime_widgets.client.tools import PythonTool, check_name
from realtime_widgets.errors import RealtimeWidgetsError, ServerError
from realtime_widgets.logs import redacting_logger
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.events import ServerEvent
from realtime_widgets.protocol.state import ConversationState

__all__ = ["HistoryEntry", "RealtimeSession", "local_server"]

log = logging.getLogger("realtime_widgets.client")
T = TypeVar("T")
P = ParamSpec("P")
S = TypeVar("S", bound="RealtimeSession")
Callback = Callable[[ServerEvent], None]
MAX_FRAME = 64 * 1024 * 1024  # the websockets default (1 MiB) is too small for audio events
NO_RECONNECT_CODES = {1000, 4000}  # we closed it, or the beta dialect was refused

_shared_local: Any = None


def local_server() -> Any:
    """The process's embedded local server (started on first use)."""
    global _shared_local
    if _shared_local is None:
        from realtime_widgets.server.app import LocalServer  # the server only when it is used

        _shared_local = LocalServer().start()
    return _shared_local


def _on_loop(
    fn: Callable[Concatenate[S, P], Awaitable[T]],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, T]]:
    """The coroutine runs on the session's I/O loop, awaited from whatever loop calls it."""

    @functools.wraps(fn)
    async def hop(self: S, /, *args: P.args, **kwargs: P.kwargs) -> T:
        async def body() -> T:
            return await fn(self, *args, **kwargs)

        return await self._loop().run_async(body())

    return hop


def _blocking(
    fn: Callable[Concatenate[S, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[S, P], T]:
    """The blocking twin of an ``a*`` coroutine: runs it on the I/O loop and waits (with the
    session's timeout)."""

    def method(self: S, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._block(fn(self, *args, **kwargs))

    method.__doc__ = fn.__doc__
    method.__name__ = fn.__name__.removeprefix("a")
    method.__qualname__ = fn.__qualname__.replace(fn.__name__, method.__name__)
    return method


class RealtimeSession:
    """A Realtime session over WebSocket (see the module docstring)."""

    def __init__(
        self,
        config: SessionConfig | None = None,
        *,
        endpoint: Endpoint | None = None,
        api_key: str | None = None,
        reconnect: bool = True,
        max_reconnects: int = 10,
        record: str | Path | None = None,
        timeout: float = 20.0,
        prices: dict[str, dict[str, float]] | None = None,
    ) -> None:
        self.core = ClientCore(config)
        if endpoint is None:
            if api_key or os.environ.get("OPENAI_API_KEY"):
                endpoint = Endpoint.openai(self.core.requested.model, api_key)
            else:
                endpoint = Endpoint.local(local_server().url, self.core.requested.model)
        self.endpoint = endpoint
        self.reconnect = reconnect
        self.max_reconnects = max_reconnects
        self.timeout = timeout
        self.prices = prices if prices is not None else PRICES
        self.replaying = False
        self._replay: tuple[Path, float] | None = None
        self._record_path = Path(record) if record else None
        self._recorder: Recorder | None = None
        self._io: BackgroundLoop | None = None
        self._ws: ClientConnection | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._update_lock: asyncio.Lock | None = None
        self._closing = False
        self._connected = asyncio.Event()  # replaced on the I/O loop by each connect
        self._stream_queue: asyncio.Queue[tuple[npt.ArrayLike | bytes, int]] | None = None

    def __repr__(self) -> str:
        status = "replay" if self.replaying else ("connected" if self.connected else "closed")
        return (
            f"RealtimeSession({self.endpoint.display!r}, model={self.requested.model!r}, {status})"
        )

    # ---- what the core knows ----------------------------------------------------------------

    @property
    def requested(self) -> SessionConfig:
        """The configuration we asked for (what the next update diffs against)."""
        return self.core.requested

    @property
    def effective(self) -> SessionConfig | None:
        """The configuration the server last reported (session.created/updated)."""
        return self.core.effective

    @property
    def state(self) -> ConversationState:
        return self.core.state

    @property
    def metrics(self) -> Metrics:
        return self.core.metrics

    @property
    def history(self) -> Any:
        """The recent events both ways (a deque of HistoryEntry)."""
        return self.core.history

    @property
    def events(self) -> EventHistory:
        return self.core.events

    @property
    def session_id(self) -> str | None:
        return self.core.session_id

    @property
    def expires_at(self) -> float | None:
        return self.core.expires_at

    @property
    def last_error(self) -> ServerError | None:
        return self.core.last_error

    @property
    def lost_item_ids(self) -> list[str]:
        return self.core.lost_item_ids

    @property
    def reconnects(self) -> int:
        return self.core.reconnects

    @property
    def elapsed(self) -> float:
        """Seconds since this session object was made: the clock of ``events`` (``e.t``)."""
        return self.core.elapsed

    @property
    def connected(self) -> bool:
        return self._ws is not None and self._connected.is_set()

    @property
    def expires_in(self) -> float | None:
        """Seconds until the server ends the session (from session.created's expires_at)."""
        return None if self.expires_at is None else self.expires_at - time.time()

    @property
    def cost(self) -> float | None:
        """Dollars so far from response usage and the price table (local: an estimate)."""
        return cost_of(self.state.usage, self.requested.model, self.prices)

    # ---- the I/O loop and the public seams --------------------------------------------------

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
            task.add_done_callback(lambda t: _copy_outcome(t, result))
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
        task.add_done_callback(_log_failure)
        return task

    def on(self, event_type: str, callback: Callback) -> Callable[[], None]:
        """Call ``callback(event)`` for each event of this type ("*": every event), on the I/O
        thread (keep it quick). Returns a function that removes the callback."""
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
        """Call ``tap(item_id, samples)`` with the assistant's audio as 24 kHz int16, decoded
        once for every listener. Returns a function that removes the tap."""
        return self.core.add_output_audio_tap(tap)

    # ---- connecting -------------------------------------------------------------------------

    def connect(self, timeout: float | None = None) -> RealtimeSession:
        """Open the session; returns once session.created arrived and the requested config was
        applied, or raises with the server's reason."""
        self._block(self.aconnect(), timeout)
        return self

    @_on_loop
    async def aconnect(self) -> RealtimeSession:
        """Open the session (see :meth:`connect`)."""
        if self.connected:
            return self
        self._closing = False
        self._update_lock = asyncio.Lock()
        self._connected = asyncio.Event()
        if self._record_path is not None and self._recorder is None:
            self._recorder = Recorder(self._record_path)
        await self._open()
        self._connected.set()
        self._spawn(self._reader())
        if self.requested.model_fields_set - {"model"}:
            await self._send_update(self.requested, previous=None)
        return self

    async def __aenter__(self) -> RealtimeSession:
        return await self.aconnect()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __enter__(self) -> RealtimeSession:
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
        self._ws = ws
        try:
            text = await asyncio.wait_for(ws.recv(decode=True), self.timeout)
        except ConnectionClosed as exc:
            self._ws = None
            raise ServerError(
                f"the server closed the connection ({exc.rcvd.code if exc.rcvd else 'no code'})"
            ) from None
        first = self._receive(str(text))
        if first is not None and first.type == "error":
            await ws.close()
            self._ws = None
            raise self.last_error or ServerError("the server refused the session")
        if first is None or first.type != "session.created":
            await ws.close()
            self._ws = None
            kind = first.type if first is not None else "an unreadable frame"
            raise ServerError(f"expected session.created first, got {kind}")

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
        self._stream_queue = None
        current = asyncio.current_task()
        tasks = [t for t in self._tasks if t is not current]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        for waiter in self.core.closed():
            if waiter.on_match is not None:
                waiter.on_match(_CLOSED)
        if self._recorder is not None:
            self._recorder.close()
            self._recorder = None

    # ---- receiving --------------------------------------------------------------------------

    def _receive(self, text: str) -> ServerEvent | None:
        if self._recorder is not None:
            self._recorder.write("in", text)
        event = self.core.receive(text)
        for batch in self.core.take_tool_batches():
            self._spawn(self._run_tools(batch))
        return event

    async def _reader(self) -> None:
        while not self._closing:
            ws = self._ws
            if ws is None:
                return
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
                return
            self._connected.clear()
            self._ws = None
            lost = self.core.connection_lost(code)
            if (
                not self.reconnect
                or code in NO_RECONNECT_CODES
                or not await self._reconnect(code, lost)
            ):
                self.core.dispatch_local({"type": "session.disconnected", "code": code})
                return

    async def _reconnect(self, code: int | None, lost: list[str]) -> bool:
        """Reopen after a drop, with backoff; re-apply the config; report what was lost."""
        delay = 0.25
        for attempt in range(1, self.max_reconnects + 1):
            try:
                await self._open()
            except (ServerError, TimeoutError) as exc:
                log.info("reconnect attempt %d failed: %s", attempt, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 8.0)
                continue
            self._connected.set()
            if self.core.reconnected(attempt, code, lost):
                self._spawn(self._send_update(self.requested, previous=None))
            return True
        return False

    # ---- waiting ----------------------------------------------------------------------------

    def mark(self) -> int:
        """A point in the event stream: ``wait_for(..., since=mark)`` also finds events that
        arrived after it but before the wait began (no race with a fast server)."""
        return self.core.mark()

    @_on_loop
    async def await_event(
        self,
        event_type: str,
        timeout: float = 30.0,
        predicate: Callable[[ServerEvent], bool] | None = None,
        since: int | None = None,
    ) -> ServerEvent:
        """The next event of this type (after ``since``, a :meth:`mark`, if given; otherwise
        after this call); TimeoutError names the event after ``timeout`` seconds."""
        future: asyncio.Future[ServerEvent] = asyncio.get_running_loop().create_future()
        waiter = self.core.wait(event_type, predicate, since, on_match=_resolver(future))
        if waiter.event is not None:
            return waiter.event
        try:
            event = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise TimeoutError(f"no {event_type} event within {timeout} s") from None
        finally:
            self.core.cancel(waiter)
        if event is _CLOSED:
            raise RealtimeWidgetsError("the session was closed")
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
        ws = self._ws
        if ws is None or not self._connected.is_set():
            await asyncio.wait_for(self._connected.wait(), self.timeout)
            ws = self._ws
        if ws is None:
            raise RealtimeWidgetsError("the session is not connected")
        return ws

    async def _send_frames(self, frames: list[str]) -> None:
        ws = await self._socket()
        for text in frames:
            await ws.send(text)
            if self._recorder is not None:
                self._recorder.write("out", text)

    async def _send(self, event: dict[str, Any]) -> None:
        await self._socket()  # a closed session raises before the event is recorded as sent
        await self._send_frames([self.core.encode(event)])

    @_on_loop
    async def asend_event(self, event: dict[str, Any]) -> None:
        """Send any client event (a dict with ``type``)."""
        await self._send(event)

    send_event = _blocking(asend_event)

    async def _send_update(
        self, new: SessionConfig, previous: SessionConfig | None
    ) -> SessionConfig:
        """Send the diff, wait for session.updated (-> effective) or our error (-> raise)."""
        assert self._update_lock is not None
        async with self._update_lock:
            future: asyncio.Future[PendingUpdate] = asyncio.get_running_loop().create_future()
            pending = self.core.begin_update(new, previous)
            if pending is None:
                return self.effective or new
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

    @_on_loop
    async def aupdate(self, changes: dict[str, Any] | None = None, /, **kw: Any) -> SessionConfig:
        """Change parameters (dotted paths allowed); returns the effective config. Invalid
        values raise ConfigError before anything is sent; a server rejection raises
        ServerError whose ``config_field`` names our field."""
        new = self.requested.with_changes({**(changes or {}), **kw})
        if not self.connected:
            return self.core.apply_offline(new)
        # The diff is against what we asked for, not the effective config: values the server
        # filled in (its default instructions, say) are not ours to send back.
        return await self._send_update(new, self.requested)

    update = _blocking(aupdate)

    @_on_loop
    async def aapply(self, config: SessionConfig) -> SessionConfig:
        """Make ``config`` the session's configuration (sends the minimal diff)."""
        if not self.connected:
            return self.core.apply_offline(config)
        return await self._send_update(config, self.requested)

    apply = _blocking(aapply)

    # -- audio

    @_on_loop
    async def aappend_audio(self, samples: npt.ArrayLike | bytes, rate: int = 24000) -> int:
        """Send audio (int16 or float samples, or PCM16 bytes, at ``rate``), converted to the
        session's input format. Returns the bytes sent."""
        await self._socket()
        frames = self.core.append_frames(samples, rate)
        await self._send_frames(frames)
        return sum(_append_bytes(f) for f in frames)

    append_audio = _blocking(aappend_audio)

    def stream_audio(self, samples: npt.ArrayLike | bytes, rate: int = 24000) -> None:
        """Queue audio for sending without waiting (for a live microphone or file stream).

        Chunks go, in order, through one sender task on the I/O thread: no round trip per
        chunk. A failure is reported as a ``client.stream_error`` event."""
        self._loop().loop.call_soon_threadsafe(self._enqueue_audio, samples, rate)

    def _enqueue_audio(self, samples: npt.ArrayLike | bytes, rate: int) -> None:
        if self._stream_queue is None:
            self._stream_queue = asyncio.Queue()
            self._spawn(self._stream_sender(self._stream_queue))
        self._stream_queue.put_nowait((samples, rate))

    async def _stream_sender(self, queue: asyncio.Queue[tuple[npt.ArrayLike | bytes, int]]) -> None:
        while True:
            samples, rate = await queue.get()
            try:
                await self._send_frames(self.core.append_frames(samples, rate))
            except (RealtimeWidgetsError, ConnectionClosed, TimeoutError) as exc:
                self.core.dispatch_local({"type": "client.stream_error", "message": str(exc)})
            finally:
                queue.task_done()

    @_on_loop
    async def acommit(self) -> None:
        """Commit the input buffer (needs >= 100 ms of audio), resampler tails included."""
        if self._stream_queue is not None:
            await asyncio.wait_for(self._stream_queue.join(), self.timeout)  # streamed audio first
        await self._socket()
        frames = self.core.flush_frames()  # held-back audio belongs to this commit
        frames.append(
            self.core.encode(
                {"type": "input_audio_buffer.commit", "event_id": self.core.event_id()}
            )
        )
        await self._send_frames(frames)

    commit = _blocking(acommit)

    @_on_loop
    async def aclear_audio(self) -> None:
        """Clear the server's uncommitted input buffer."""
        await self._send({"type": "input_audio_buffer.clear"})

    clear_audio = _blocking(aclear_audio)

    # -- conversation

    @_on_loop
    async def asend_text(self, text: str, respond: bool = True) -> None:
        """Add a user text message (and ask for a response)."""
        await self._send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": text}],
                },
            }
        )
        if respond:
            await self._send({"type": "response.create"})

    send_text = _blocking(asend_text)

    @_on_loop
    async def acreate_response(self, /, **overrides: Any) -> None:
        """Ask for a response; keyword arguments are per-response overrides
        (output_modalities, instructions, max_output_tokens, tools, tool_choice, conversation)."""
        event: dict[str, Any] = {"type": "response.create"}
        if overrides:
            event["response"] = overrides
        await self._send(event)

    create_response = _blocking(acreate_response)

    @_on_loop
    async def acancel_response(self) -> None:
        """Cancel the response in progress."""
        await self._send({"type": "response.cancel"})

    cancel_response = _blocking(acancel_response)

    @_on_loop
    async def atruncate(self, item_id: str, audio_end_ms: int) -> None:
        """Cut an assistant item's audio where the listener stopped hearing it."""
        await self._send(
            {
                "type": "conversation.item.truncate",
                "item_id": item_id,
                "content_index": 0,
                "audio_end_ms": int(audio_end_ms),
            }
        )

    truncate = _blocking(atruncate)

    @_on_loop
    async def adelete_item(self, item_id: str) -> None:
        """Delete an item from the server's conversation."""
        await self._send({"type": "conversation.item.delete", "item_id": item_id})

    delete_item = _blocking(adelete_item)

    # ---- tools ------------------------------------------------------------------------------

    def tool(
        self,
        func: Callable[..., Any] | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
    ) -> Any:
        """Register a Python callable as a function tool (usable as a decorator)."""

        def register(f: Callable[..., Any]) -> Callable[..., Any]:
            t = PythonTool.from_callable(f, name, description)
            check_name(t.name)
            self.core.tools[t.name] = t
            others = [x for x in self.requested.tools if getattr(x, "name", None) != t.name]
            new = self.requested.with_changes(tools=[*others, t.definition()])
            if self.connected:
                self.apply(new)
            else:
                self.core.apply_offline(new)
            return f

        return register(func) if func is not None else register

    async def _run_tools(self, calls: list[ToolCall]) -> None:
        tools = self.core.tools
        outputs = await asyncio.gather(*(tools[c.name].call(c.arguments) for c in calls))
        await self._send_frames(self.core.tool_output_frames(calls, list(outputs)))

    # ---- replay -----------------------------------------------------------------------------

    @classmethod
    def replay(cls, path: str | Path, *, speed: float = 1.0) -> RealtimeSession:
        """A read-only session whose events come from a recording, at ``speed`` x the recorded
        pace (0: at once), into the same state, metrics and callbacks."""
        session = cls(endpoint=Endpoint(f"replay://{Path(path).name}", kind="replay"))
        session.replaying = True
        session._replay = (Path(path), speed)
        return session

    @_on_loop
    async def aplay(self) -> None:
        """Play a replayed session to its end."""
        if self._replay is None:
            raise RealtimeWidgetsError("play() is for sessions made by RealtimeSession.replay()")
        path, speed = self._replay
        start = time.monotonic()
        for row in read_recording(path):
            if speed > 0:
                delay = row.t / speed - (time.monotonic() - start)
                if delay > 0:
                    await asyncio.sleep(delay)
            self.core.replayed(row.direction, row.t, row.event)
        self.core.dispatch_local({"type": "session.closed"})

    def play(self, timeout: float = 3600.0) -> None:
        """Play a replayed session to its end (blocking)."""
        self._block(self.aplay(), timeout)


_REDACTED = redacting_logger("websockets.client")
# Handed to waiters still open when the session closes (they raise instead of returning it).
_CLOSED: Any = object()


def _resolver(future: asyncio.Future[Any]) -> Callable[[Any], None]:
    def resolve(value: Any) -> None:
        if not future.done():
            future.set_result(value)

    return resolve


def _append_bytes(frame: str) -> int:
    """Audio bytes in an append frame built by the core (base64 between fixed text)."""
    b64 = len(frame) - len('{"type":"input_audio_buffer.append","audio":""}')
    return b64 * 3 // 4 - (frame.endswith('=="}') + frame.endswith('="}'))


def _copy_outcome(task: asyncio.Task[Any], future: concurrent.futures.Future[Any]) -> None:
    # As asyncio.run_coroutine_threadsafe does: the future stays pending (cancellable from
    # any thread) until the task is done.
    if future.done():
        return
    if task.cancelled():
        future.cancel()
        return
    if not future.set_running_or_notify_cancel():
        return
    if task.exception() is not None:
        future.set_exception(task.exception())
    else:
        future.set_result(task.result())


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("session task failed: %r", task.exception())
