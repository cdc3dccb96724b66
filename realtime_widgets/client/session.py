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

Everything the server says is applied to ``session.state`` (a ConversationState) and
``session.metrics``, recorded if asked, and handed to callbacks (``session.on(type, fn)``;
callbacks run on the I/O thread and must be quick).
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import itertools
import json
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from realtime_widgets.audio.formats import FORMAT_RATES, InputEncoder, decode
from realtime_widgets.audio.pcm import as_int16, bytes_to_int16, pcm16_to_base64
from realtime_widgets.audio.resample import Resampler
from realtime_widgets.client.auth import Endpoint
from realtime_widgets.client.loop import BackgroundLoop
from realtime_widgets.client.metrics import PRICES, Metrics, cost_of
from realtime_widgets.client.recording import Recorder, read_recording
from realtime_widgets.client.tools import PythonTool, check_name
from realtime_widgets.errors import ConfigError, ProtocolError, RealtimeWidgetsError, ServerError
from realtime_widgets.logs import redacting_logger
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.events import ServerEvent, UnknownServerEvent, parse_server_event
from realtime_widgets.protocol.state import ConversationState, base64_decoded_size
from realtime_widgets.protocol.wire import field_for_param

__all__ = ["RealtimeSession", "local_server"]

log = logging.getLogger("realtime_widgets.client")
T = TypeVar("T")
Callback = Callable[[ServerEvent], None]
MAX_FRAME = 64 * 1024 * 1024  # the websockets default (1 MiB) is too small for audio events
MAX_APPEND = 15 * 1024 * 1024
HISTORY = 5000
NO_RECONNECT_CODES = {1000, 4000}  # we closed it, or the beta dialect was refused

_shared_local: Any = None


def local_server() -> Any:
    """The process's embedded local server (started on first use)."""
    global _shared_local
    if _shared_local is None:
        from realtime_widgets.server.app import LocalServer

        _shared_local = LocalServer().start()
    return _shared_local


@dataclass(frozen=True)
class HistoryEntry:
    """One event in the session's history: audio payloads replaced by their byte count.

    Incoming frames are kept as received text and parsed only when someone reads ``data``."""

    t: float
    direction: str
    type: str
    light: dict[str, Any] | None
    raw: str | None = None

    @property
    def data(self) -> dict[str, Any]:
        if self.light is not None:
            return self.light
        return _light(json.loads(self.raw)) if self.raw else {}


def _light(event: dict[str, Any]) -> dict[str, Any]:
    """A copy for the history/event log: base64 audio replaced by '<N bytes>'."""
    for key in ("audio", "delta"):
        value = event.get(key)
        if (
            isinstance(value, str)
            and len(value) > 256
            and event.get("type", "").endswith(("append", "audio.delta"))
        ):
            return {**event, key: f"<{base64_decoded_size(value)} bytes>"}
    return event


class EventHistory:
    """The session's recent events both ways (audio payloads as byte counts), for the event log.

    ``to_dataframe()`` (needs pandas) and ``to_jsonl(path)`` export them."""

    def __init__(self, entries: deque[HistoryEntry]) -> None:
        self._entries = entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[HistoryEntry]:
        return iter(list(self._entries))

    def rows(self) -> list[dict[str, Any]]:
        return [
            {"t": round(e.t, 4), "direction": e.direction, "type": e.type, "event": e.data}
            for e in self
        ]

    def to_dataframe(self) -> Any:
        try:
            import pandas as pd
        except ImportError:
            raise RealtimeWidgetsError("to_dataframe() needs pandas: pip install pandas") from None
        return pd.DataFrame(self.rows())

    def to_jsonl(self, path: str | Path) -> int:
        """Write the events as JSON lines; returns how many."""
        rows = self.rows()
        with Path(path).open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, separators=(",", ":")) + "\n")
        return len(rows)


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
        self.requested = config or SessionConfig()
        self.effective: SessionConfig | None = None
        if endpoint is None:
            import os

            if api_key or os.environ.get("OPENAI_API_KEY"):
                endpoint = Endpoint.openai(self.requested.model, api_key)
            else:
                endpoint = Endpoint.local(local_server().url, self.requested.model)
        self.endpoint = endpoint
        self.reconnect = reconnect
        self.max_reconnects = max_reconnects
        self.timeout = timeout
        self.prices = prices if prices is not None else PRICES
        self.state = ConversationState()
        self.metrics = Metrics()
        self.history: deque[HistoryEntry] = deque(maxlen=HISTORY)
        self.events = EventHistory(self.history)
        self._history_listeners: list[Callable[[HistoryEntry], None]] = []
        self._audio_taps: list[Callable[[npt.NDArray[Any], int], None]] = []
        self._output_taps: list[Callable[[str, npt.NDArray[np.int16]], None]] = []
        self._output_resamplers: dict[str, Resampler] = {}
        self._recent: deque[tuple[int, ServerEvent]] = deque(maxlen=1000)  # for wait_for(since=)
        self._seq = 0
        self.lost_item_ids: list[str] = []
        self.reconnects = 0
        self.session_id: str | None = None
        self.expires_at: float | None = None
        self.last_error: ServerError | None = None
        self.replaying = False
        self._record_path = Path(record) if record else None
        self._recorder: Recorder | None = None
        self._io: BackgroundLoop | None = None
        self._ws: ClientConnection | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._callbacks: dict[str, list[Callback]] = {}
        self._waiters: list[
            tuple[str, Callable[[ServerEvent], bool], asyncio.Future[ServerEvent]]
        ] = []
        self._update_lock: asyncio.Lock | None = None
        self._pending_update: tuple[str, asyncio.Future[ServerEvent]] | None = None
        self._ids = itertools.count(1)
        self._encoders: dict[int, InputEncoder] = {}
        self._tools: dict[str, PythonTool] = {}
        self._tool_calls: dict[
            str, list[tuple[str, str, str]]
        ] = {}  # response -> (name, call_id, args)
        self._closing = False
        self._connected = asyncio.Event()  # replaced on the I/O loop by each connect
        self._stream_queue: asyncio.Queue[tuple[npt.ArrayLike | bytes, int]] | None = None
        self._t0 = time.monotonic()

    def __repr__(self) -> str:
        status = "replay" if self.replaying else ("connected" if self.connected else "closed")
        return (
            f"RealtimeSession({self.endpoint.display!r}, model={self.requested.model!r}, {status})"
        )

    # ---- running on the I/O loop ----------------------------------------------------------------

    def _loop(self) -> BackgroundLoop:
        if self._io is None:
            self._io = BackgroundLoop.acquire()
        return self._io

    @property
    def elapsed(self) -> float:
        """Seconds since this session object was made: the clock of ``events`` (``e.t``)."""
        return time.monotonic() - self._t0

    def _block(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return self._loop().run(coro, self.timeout if timeout is None else timeout)

    async def _hop(self, coro: Coroutine[Any, Any, T]) -> T:
        return await self._loop().run_async(coro)

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

    @property
    def connected(self) -> bool:
        return self._ws is not None and self._connected.is_set()

    @property
    def expires_in(self) -> float | None:
        """Seconds until the server ends the session (from session.created's expires_at)."""
        return None if self.expires_at is None else self.expires_at - time.time()

    # ---- connecting ------------------------------------------------------------------------------

    def connect(self, timeout: float | None = None) -> RealtimeSession:
        """Open the session; returns once session.created arrived and the requested config was
        applied, or raises with the server's reason."""
        self._block(self._connect(), timeout)
        return self

    async def aconnect(self) -> RealtimeSession:
        await self._hop(self._connect())
        return self

    async def __aenter__(self) -> RealtimeSession:
        return await self.aconnect()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __enter__(self) -> RealtimeSession:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def _open(self) -> ServerEvent:
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
            first = parse_server_event(await asyncio.wait_for(ws.recv(), self.timeout))
        except ConnectionClosed as exc:
            self._ws = None
            raise ServerError(
                f"the server closed the connection ({exc.rcvd.code if exc.rcvd else 'no code'})"
            ) from None
        self._handle(first, raw=None)
        if first.type == "error":
            await ws.close()
            self._ws = None
            raise self.last_error or ServerError("the server refused the session")
        if first.type != "session.created":
            raise ServerError(f"expected session.created first, got {first.type}")
        return first

    async def _connect(self) -> None:
        if self.connected:
            return
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

    # ---- closing ---------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the socket, cancel and await every task; the last session stops the I/O thread."""
        if self._io is None:
            return
        try:
            self._block(self._close(), timeout=self.timeout)
        finally:
            self._release()

    async def aclose(self) -> None:
        if self._io is None:
            return
        try:
            await self._hop(self._close())
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
        for _, _, future in self._waiters:
            if not future.done():
                future.set_exception(RealtimeWidgetsError("the session was closed"))
        self._waiters.clear()
        if self._recorder is not None:
            self._recorder.close()
            self._recorder = None
        self._dispatch_local({"type": "session.closed"})

    # ---- receiving -------------------------------------------------------------------------------

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
                    try:
                        event = parse_server_event(text)
                    except ProtocolError as exc:
                        # A broken frame must not end the session: report it and read on.
                        self._dispatch_local(
                            {
                                "type": "client.protocol_error",
                                "message": str(exc),
                                "frame": text[:200],
                            }
                        )
                        continue
                    self._handle(event, raw=text)
            except ConnectionClosed:
                pass
            code = ws.close_code
            if self._closing:
                return
            self._connected.clear()
            self._ws = None
            if not self.reconnect or code in NO_RECONNECT_CODES or not await self._reconnect(code):
                self._dispatch_local({"type": "session.disconnected", "code": code})
                return

    async def _reconnect(self, code: int | None) -> bool:
        """Reopen after a drop, with backoff; re-apply the config; report what was lost."""
        lost = [i.id for i in self.state.ordered_items() if i.id not in self.lost_item_ids]
        active = self.state.active_response
        if active is not None:
            active.status = "incomplete"
            active.status_details = {"type": "incomplete", "reason": "connection_lost"}
        delay = 0.25
        for attempt in range(1, self.max_reconnects + 1):
            try:
                await self._open()
            except (ServerError, TimeoutError) as exc:
                log.info("reconnect attempt %d failed: %s", attempt, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 8.0)
                continue
            self.reconnects += 1
            self.lost_item_ids.extend(lost)
            self.state.new_conversation()
            self._connected.set()
            if self.requested.model_fields_set - {"model"}:
                self._spawn(self._send_update(self.requested, previous=None))
            self._dispatch_local(
                {
                    "type": "session.reconnected",
                    "attempt": attempt,
                    "close_code": code,
                    "lost_item_ids": lost,
                }
            )
            return True
        return False

    def _handle(self, event: ServerEvent, raw: str | None) -> None:
        """Apply one server event: state, metrics, history, recording, then callbacks.

        The hot path (audio deltas) reads the parsed event's attributes and never re-parses
        or re-serialises the frame."""
        now = time.monotonic()
        if raw is None:
            raw = event.model_dump_json()
        if self._recorder is not None:
            self._recorder.write("in", raw)
        kind = event.type
        if not isinstance(event, UnknownServerEvent):
            self.state.apply(event)
        if self._output_taps and isinstance(
            event, ev.ResponseOutputAudioDelta | ev.ResponseOutputAudioDone
        ):
            self._on_output_audio(event)
        if isinstance(event, ev.ResponseOutputAudioDelta):
            light = {
                "type": kind,
                "event_id": event.event_id,
                "response_id": event.response_id,
                "item_id": event.item_id,
                "delta": f"<{base64_decoded_size(event.delta)} bytes>",
            }
            self._record(HistoryEntry(now - self._t0, "in", kind, light))
        else:
            self._record(HistoryEntry(now - self._t0, "in", kind, None, raw))
        self.metrics.observe(event, now)
        if isinstance(event, ev.SessionCreated | ev.SessionUpdated):
            with contextlib.suppress(ConfigError):
                self.effective = SessionConfig.from_session(event.session)
            if isinstance(event, ev.SessionCreated):
                if self.effective is not None and self.effective.model != self.requested.model:
                    # The URL decides the model; it cannot change later, so adopt it.
                    self.requested = self.requested.with_changes(model=self.effective.model)
                sid = event.session.get("id")
                self.session_id = sid if isinstance(sid, str) else None
                if isinstance(event.session.get("expires_at"), int | float):
                    self.expires_at = float(event.session["expires_at"])
            elif self._pending_update is not None and not self._pending_update[1].done():
                self._pending_update[1].set_result(event)
        elif isinstance(event, ev.ErrorEvent):
            err = event.error
            self.last_error = ServerError(
                err.message,
                err.type,
                err.code,
                err.param,
                err.event_id,
                config_field=field_for_param(err.param),
            )
            pending = self._pending_update
            if pending is not None and err.event_id == pending[0] and not pending[1].done():
                pending[1].set_exception(self.last_error)
        elif isinstance(event, ev.FunctionCallArgumentsDone):
            if event.name in self._tools:
                self._tool_calls.setdefault(event.response_id, []).append(
                    (event.name, event.call_id, event.arguments)
                )
        elif isinstance(event, ev.ResponseDone):
            calls = self._tool_calls.pop(event.response.id, [])
            if calls:
                self._spawn(self._run_tools(calls))
        self._dispatch(event)

    def _dispatch(self, event: ServerEvent) -> None:
        self._seq += 1
        self._recent.append((self._seq, event))
        for waiter in list(self._waiters):
            kind, predicate, future = waiter
            if (kind == event.type or kind == "*") and not future.done():
                try:
                    matched = predicate(event)
                except Exception:
                    matched = False
                if matched:
                    future.set_result(event)
                    self._waiters.remove(waiter)
        for fn in [*self._callbacks.get(event.type, ()), *self._callbacks.get("*", ())]:
            try:
                fn(event)
            except Exception:
                log.exception("callback for %s failed", event.type)

    def _dispatch_local(self, data: dict[str, Any]) -> None:
        """Events the client itself raises (reconnected, disconnected, closed)."""
        self._record(HistoryEntry(time.monotonic() - self._t0, "local", data["type"], data))
        self._dispatch(UnknownServerEvent.model_validate({"event_id": "", **data}))

    def _record(self, entry: HistoryEntry) -> None:
        self.history.append(entry)
        for listener in self._history_listeners:
            try:
                listener(entry)
            except Exception:
                log.exception("history listener failed")

    def on_history(self, listener: Callable[[HistoryEntry], None]) -> Callable[[], None]:
        """Call ``listener(entry)`` for every event recorded, both directions (I/O thread)."""
        self._history_listeners.append(listener)
        return lambda: _discard(self._history_listeners, listener)

    # ---- callbacks and waiting -------------------------------------------------------------------

    def on(self, event_type: str, callback: Callback) -> Callable[[], None]:
        """Call ``callback(event)`` for each event of this type ("*": every event), on the I/O
        thread. Returns a function that removes the callback."""
        self._callbacks.setdefault(event_type, []).append(callback)
        return lambda: _discard(self._callbacks.get(event_type, []), callback)

    def mark(self) -> int:
        """A point in the event stream: ``wait_for(..., since=mark)`` also finds events that
        arrived after it but before the wait began (no race with a fast server)."""
        return self._seq

    async def _wait(
        self,
        event_type: str,
        timeout: float,
        predicate: Callable[[ServerEvent], bool] | None,
        since: int | None = None,
    ) -> ServerEvent:
        test = predicate or (lambda e: True)
        if since is not None:
            for seq, event in list(self._recent):
                if seq > since and event_type in (event.type, "*") and test(event):
                    return event
        future: asyncio.Future[ServerEvent] = asyncio.get_running_loop().create_future()
        waiter = (event_type, test, future)
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise TimeoutError(f"no {event_type} event within {timeout} s") from None
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def wait_for(
        self,
        event_type: str,
        timeout: float = 30.0,
        predicate: Callable[[ServerEvent], bool] | None = None,
        since: int | None = None,
    ) -> ServerEvent:
        """Block until an event of this type arrives (after ``since``, a :meth:`mark`, if given;
        otherwise after this call)."""
        return self._block(self._wait(event_type, timeout, predicate, since), timeout + 1)

    async def await_event(
        self,
        event_type: str,
        timeout: float = 30.0,
        predicate: Callable[[ServerEvent], bool] | None = None,
        since: int | None = None,
    ) -> ServerEvent:
        return await self._hop(self._wait(event_type, timeout, predicate, since))

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

    # ---- sending ---------------------------------------------------------------------------------

    def _event_id(self) -> str:
        return f"evt_rw_{next(self._ids)}"

    async def _send(self, event: dict[str, Any] | str) -> None:
        if self.replaying:
            raise RealtimeWidgetsError("a replayed session is read-only")
        ws = self._ws
        if ws is None or not self._connected.is_set():
            await asyncio.wait_for(self._connected.wait(), self.timeout)
            ws = self._ws
        if ws is None:
            raise RealtimeWidgetsError("the session is not connected")
        text = event if isinstance(event, str) else json.dumps(event, separators=(",", ":"))
        await ws.send(text)
        if self._recorder is not None:
            self._recorder.write("out", text)
        if isinstance(event, dict):
            self._record(
                HistoryEntry(time.monotonic() - self._t0, "out", event["type"], _light(event))
            )

    async def _send_update(
        self, new: SessionConfig, previous: SessionConfig | None
    ) -> SessionConfig:
        """Send the diff, wait for session.updated (-> effective) or our error (-> raise)."""
        assert self._update_lock is not None
        async with self._update_lock:
            event_id = self._event_id()
            event = new.to_session_update(
                previous, event_id=event_id, assistant_has_spoken=self.state.assistant_has_spoken
            )
            if event["session"] == {"type": "realtime"}:
                self.requested = new
                return self.effective or new
            current = (self.effective or self.requested).input_audio_format
            if new.input_audio_format != current:
                await self._flush_encoders()  # held-back audio goes out in the old format
                self._encoders.clear()
            future: asyncio.Future[ServerEvent] = asyncio.get_running_loop().create_future()
            self._pending_update = (event_id, future)
            try:
                await self._send(event)
                await asyncio.wait_for(future, self.timeout)
            finally:
                self._pending_update = None
            self.requested = new
            return self.effective or new

    async def _update(self, changes: dict[str, Any]) -> SessionConfig:
        new = self.requested.with_changes(changes)
        if not self.connected:
            self.requested = new
            return new
        # The diff is against what we asked for, not the effective config: values the server
        # filled in (its default instructions, say) are not ours to send back.
        return await self._send_update(new, self.requested)

    async def _apply(self, config: SessionConfig) -> SessionConfig:
        if not self.connected:
            self.requested = config
            return config
        return await self._send_update(config, self.requested)

    def update(self, changes: dict[str, Any] | None = None, /, **kw: Any) -> SessionConfig:
        """Change parameters (dotted paths allowed); returns the effective config. Invalid
        values raise ConfigError before anything is sent; a server rejection raises
        ServerError whose ``config_field`` names our field."""
        return self._block(self._update({**(changes or {}), **kw}))

    async def aupdate(self, changes: dict[str, Any] | None = None, /, **kw: Any) -> SessionConfig:
        return await self._hop(self._update({**(changes or {}), **kw}))

    def apply(self, config: SessionConfig) -> SessionConfig:
        """Make ``config`` the session's configuration (sends the minimal diff)."""
        return self._block(self._apply(config))

    async def aapply(self, config: SessionConfig) -> SessionConfig:
        return await self._hop(self._apply(config))

    # -- audio

    def _encode_audio(self, x: npt.NDArray[np.int16], rate: int) -> list[str]:
        """int16 samples at ``rate`` -> base64 appends in the session's input format."""
        fmt = (self.effective or self.requested).input_audio_format.type
        if fmt == "audio/pcm" and rate == 24000:
            step = MAX_APPEND // 2
            return [pcm16_to_base64(x[i : i + step]) for i in range(0, len(x), step)]
        encoder = self._encoders.get(rate)
        if encoder is None or encoder.fmt != fmt:
            encoder = self._encoders[rate] = InputEncoder(fmt, rate)
        out = encoder.encode(x)
        return [pcm16_to_base64(out[i : i + MAX_APPEND]) for i in range(0, len(out), MAX_APPEND)]

    def add_output_audio_tap(
        self, tap: Callable[[str, npt.NDArray[np.int16]], None]
    ) -> Callable[[], None]:
        """Call ``tap(item_id, samples)`` with the assistant's audio as 24 kHz int16.

        Decoded once for every listener (speaker, waveform): G.711 is resampled with state per
        item, and the filter's tail is delivered when the item's audio is done."""
        self._output_taps.append(tap)
        return lambda: _discard(self._output_taps, tap)

    def _deliver_output(self, item_id: str, samples: npt.NDArray[np.int16]) -> None:
        for tap in self._output_taps:
            try:
                tap(item_id, samples)
            except Exception:
                log.exception("output audio tap failed")

    def _on_output_audio(self, event: ServerEvent) -> None:
        fmt = (self.effective or self.requested).output_audio_format.type
        if isinstance(event, ev.ResponseOutputAudioDelta):
            samples = decode(base64.b64decode(event.delta), fmt)
            if FORMAT_RATES[fmt] != 24000:
                resampler = self._output_resamplers.get(event.item_id)
                if resampler is None:
                    resampler = Resampler(FORMAT_RATES[fmt], 24000)
                    self._output_resamplers[event.item_id] = resampler
                samples = as_int16(resampler.process(samples))
            self._deliver_output(event.item_id, samples)
        elif isinstance(event, ev.ResponseOutputAudioDone):
            resampler = self._output_resamplers.pop(event.item_id, None)
            tail = as_int16(resampler.flush()) if resampler is not None else None
            if tail is not None and tail.size:
                self._deliver_output(event.item_id, tail)

    def add_audio_tap(self, tap: Callable[[npt.NDArray[Any], int], None]) -> Callable[[], None]:
        """Call ``tap(int16_samples, rate)`` with all audio appended (the waveform uses this).
        Returns a function that removes the tap."""
        self._audio_taps.append(tap)
        return lambda: _discard(self._audio_taps, tap)

    async def _append(self, samples: npt.ArrayLike | bytes, rate: int) -> int:
        if isinstance(samples, bytes | bytearray | memoryview):
            x = bytes_to_int16(samples)
        else:
            x = as_int16(samples)
        for tap in self._audio_taps:
            tap(x, rate)
        sent = 0
        for b64 in self._encode_audio(x, rate):
            # The hot path: no dict, no json.dumps of a large string.
            await self._send_raw_append(b64)
            sent += base64_decoded_size(b64)
        return sent

    async def _send_raw_append(self, b64: str) -> None:
        text = '{"type":"input_audio_buffer.append","audio":"' + b64 + '"}'
        await self._send(text)
        self._record(
            HistoryEntry(
                time.monotonic() - self._t0,
                "out",
                "input_audio_buffer.append",
                {
                    "type": "input_audio_buffer.append",
                    "audio": f"<{base64_decoded_size(b64)} bytes>",
                },
            )
        )

    def stream_audio(self, samples: npt.ArrayLike | bytes, rate: int = 24000) -> None:
        """Queue audio for sending without waiting (for a live microphone or file stream).

        Chunks go, in order, through one sender task on the I/O thread: no round trip per
        chunk. A failure is reported as a ``client.stream_error`` event."""
        io = self._loop()
        io.loop.call_soon_threadsafe(self._enqueue_audio, samples, rate)

    def _enqueue_audio(self, samples: npt.ArrayLike | bytes, rate: int) -> None:
        if self._stream_queue is None:
            self._stream_queue = asyncio.Queue()
            self._spawn(self._stream_sender(self._stream_queue))
        self._stream_queue.put_nowait((samples, rate))

    async def _stream_sender(self, queue: asyncio.Queue[tuple[npt.ArrayLike | bytes, int]]) -> None:
        while True:
            samples, rate = await queue.get()
            try:
                await self._append(samples, rate)
            except (RealtimeWidgetsError, ConnectionClosed, TimeoutError) as exc:
                self._dispatch_local({"type": "client.stream_error", "message": str(exc)})
            finally:
                queue.task_done()

    def append_audio(self, samples: npt.ArrayLike | bytes, rate: int = 24000) -> int:
        """Send audio (int16 or float samples, or PCM16 bytes, at ``rate``), converted to the
        session's input format. Returns the bytes sent."""
        return self._block(self._append(samples, rate))

    async def aappend_audio(self, samples: npt.ArrayLike | bytes, rate: int = 24000) -> int:
        return await self._hop(self._append(samples, rate))

    # -- simple events

    def _simple(self, event: dict[str, Any]) -> None:
        self._block(self._send(event))

    async def _asimple(self, event: dict[str, Any]) -> None:
        await self._hop(self._send(event))

    async def _flush_encoders(self) -> None:
        """Send the audio the resamplers' filters still hold."""
        for encoder in self._encoders.values():
            tail = encoder.flush()
            if tail:
                await self._send_raw_append(pcm16_to_base64(tail))

    async def _commit(self) -> None:
        if self._stream_queue is not None:
            await asyncio.wait_for(self._stream_queue.join(), self.timeout)  # streamed audio first
        await self._flush_encoders()  # held-back audio belongs to this commit
        await self._send({"type": "input_audio_buffer.commit", "event_id": self._event_id()})

    def commit(self) -> None:
        """Commit the input buffer (needs >= 100 ms of audio), resampler tails included."""
        self._block(self._commit())

    async def acommit(self) -> None:
        await self._hop(self._commit())

    def send_event(self, event: dict[str, Any]) -> None:
        """Send any client event (a dict with ``type``) as it is."""
        self._simple(event)

    async def asend_event(self, event: dict[str, Any]) -> None:
        await self._asimple(event)

    def clear_audio(self) -> None:
        self._simple({"type": "input_audio_buffer.clear"})

    async def aclear_audio(self) -> None:
        await self._asimple({"type": "input_audio_buffer.clear"})

    @staticmethod
    def _text_item(text: str) -> dict[str, Any]:
        return {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": text}],
            },
        }

    def send_text(self, text: str, respond: bool = True) -> None:
        """Add a user text message (and ask for a response)."""
        self._simple(self._text_item(text))
        if respond:
            self.create_response()

    async def asend_text(self, text: str, respond: bool = True) -> None:
        await self._asimple(self._text_item(text))
        if respond:
            await self.acreate_response()

    @staticmethod
    def _response_event(overrides: dict[str, Any]) -> dict[str, Any]:
        event: dict[str, Any] = {"type": "response.create"}
        if overrides:
            event["response"] = overrides
        return event

    def create_response(self, **overrides: Any) -> None:
        """Ask for a response; keyword arguments are per-response overrides
        (output_modalities, instructions, max_output_tokens, tools, tool_choice, conversation)."""
        self._simple(self._response_event(overrides))

    async def acreate_response(self, **overrides: Any) -> None:
        await self._asimple(self._response_event(overrides))

    def cancel_response(self) -> None:
        self._simple({"type": "response.cancel"})

    async def acancel_response(self) -> None:
        await self._asimple({"type": "response.cancel"})

    async def _truncate(self, item_id: str, audio_end_ms: int) -> None:
        await self._send(
            {
                "type": "conversation.item.truncate",
                "item_id": item_id,
                "content_index": 0,
                "audio_end_ms": int(audio_end_ms),
            }
        )

    def truncate(self, item_id: str, audio_end_ms: int) -> None:
        """Cut an assistant item's audio where the listener stopped hearing it."""
        self._block(self._truncate(item_id, audio_end_ms))

    async def atruncate(self, item_id: str, audio_end_ms: int) -> None:
        await self._hop(self._truncate(item_id, audio_end_ms))

    def delete_item(self, item_id: str) -> None:
        self._simple({"type": "conversation.item.delete", "item_id": item_id})

    async def adelete_item(self, item_id: str) -> None:
        await self._asimple({"type": "conversation.item.delete", "item_id": item_id})

    # ---- tools -----------------------------------------------------------------------------------

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
            self._tools[t.name] = t
            others = [x for x in self.requested.tools if getattr(x, "name", None) != t.name]
            new = self.requested.with_changes(tools=[*others, t.definition()])
            if self.connected:
                self._block(self._apply(new))
            else:
                self.requested = new
            return f

        return register(func) if func is not None else register

    async def _run_tools(self, calls: list[tuple[str, str, str]]) -> None:
        outputs = await asyncio.gather(*(self._tools[name].call(args) for name, _, args in calls))
        for (_, call_id, _), output in zip(calls, outputs, strict=True):
            await self._send(
                {
                    "type": "conversation.item.create",
                    "item": {"type": "function_call_output", "call_id": call_id, "output": output},
                }
            )
        await self._send({"type": "response.create"})

    # ---- reading ---------------------------------------------------------------------------------

    @property
    def cost(self) -> float | None:
        """Dollars so far from response usage and the price table (local: an estimate)."""
        return cost_of(self.state.usage, self.requested.model, self.prices)

    # ---- replay ----------------------------------------------------------------------------------

    @classmethod
    def replay(cls, path: str | Path, *, speed: float = 1.0) -> RealtimeSession:
        """A read-only session whose events come from a recording, at ``speed`` x the recorded
        pace (0: at once), into the same state, metrics and callbacks."""
        session = cls.__new__(cls)
        RealtimeSession.__init__(
            session, endpoint=Endpoint(f"replay://{Path(path).name}", kind="replay")
        )
        session.replaying = True
        session._replay_path = Path(path)  # type: ignore[attr-defined]
        session._replay_speed = speed  # type: ignore[attr-defined]
        return session

    def play(self, timeout: float = 3600.0) -> None:
        """Play a replayed session to its end (blocking)."""
        self._block(self._play(), timeout)

    async def aplay(self) -> None:
        await self._hop(self._play())

    async def _play(self) -> None:
        if not self.replaying:
            raise RealtimeWidgetsError("play() is for sessions made by RealtimeSession.replay()")
        start = time.monotonic()
        speed = self._replay_speed  # type: ignore[attr-defined]
        for row in read_recording(self._replay_path):  # type: ignore[attr-defined]
            if speed > 0:
                delay = row.t / speed - (time.monotonic() - start)
                if delay > 0:
                    await asyncio.sleep(delay)
            if row.direction == "in":
                self._handle(parse_server_event(json.dumps(row.event)), raw=json.dumps(row.event))
            else:
                self._record(
                    HistoryEntry(row.t, "out", str(row.event.get("type")), _light(row.event))
                )
        self._dispatch_local({"type": "session.closed"})


_REDACTED = redacting_logger("websockets.client")


def _discard(listeners: list[Any], item: Any) -> None:
    """Remove a listener; removing twice (or after close) is harmless."""
    with contextlib.suppress(ValueError):
        listeners.remove(item)


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
