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

How it is put together (as websockets' connection holds its protocol):

- ``session.core``: the :class:`~realtime_widgets.client.core.ClientCore` it holds, the
  protocol itself (state, effective config, pending updates, tool calls, waiters, audio
  encoding, the history), which does no I/O and calls nobody; the properties below
  (``state``, ``metrics``, ``requested``, ...) read it;
- :class:`~realtime_widgets.client.transport.SessionTransport`, its base (through
  :class:`~realtime_widgets.client.facade.SessionFacade`, what it shares with the GPT-Live and
  translation sessions: the core's common properties, the audio appends and stream, the
  timeline's taps): the socket, reconnect, the I/O thread, waiting, and dispatching what the
  core queued to the listeners;
- ``session.audio_stream``: the :class:`~realtime_widgets.client.audio_stream.AudioStream` it
  holds, which owns streamed audio (``stream_audio``) and its sender task;
- the conversation methods (text, audio, items, images, responses, MCP approval): plain
  methods here, each building a client event and sending it.

Every operation is written once, as a coroutine that runs on the I/O loop (``@on_loop``); its
blocking twin is generated from it (``blocking``), as websockets' sync layer sits over its
asyncio one.

The conversation beyond text and audio: images, item editing, out-of-band responses and MCP
approval, each one client event built with :mod:`realtime_widgets.protocol.items` (bad input
raises ConfigError naming the field, before anything is sent) and sent with ``asend_event``;
what the server answers lands in ``session.state``::

    item_id = session.send_image(fig, text="What does this plot show?")   # then a response
    session.create_item(items.system_text("Be brief."), previous_item_id="root")
    session.create_response(conversation="none", metadata={"purpose": "title"},
                            input=[items.user_text("Give this chat a title.")])
    for request in session.state.pending_approvals():
        session.approve_mcp(request.id, approve=True)

Widgets and other threads use the public seams: :meth:`submit` (an owned task on the loop),
:meth:`call_soon`, the ``a*`` coroutines, and listeners that return their remover.

The recording of the conversation: ``session.timeline`` (a
:class:`~realtime_widgets.audio.conversation.ConversationTimeline`, one per session) holds both
sides on the session clock (``elapsed``; a replay's is its recording's): the audio appended as
it was sent, the reply audio as it arrived, the cuts of ``conversation.item.truncated``. The
session feeds it on its I/O loop with the first listeners it registers, so any other listener
(the Waveform draws from it) finds it up to date. Export it with the event log::

    session.export("runs/talk")   # runs/talk.wav (user left, agent right) + talk.events.parquet
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from realtime_widgets.audio.conversation import Recording, stereo_wav
from realtime_widgets.client.auth import Endpoint
from realtime_widgets.client.core import MAX_FRAME_BYTES, ClientCore
from realtime_widgets.client.facade import SessionFacade
from realtime_widgets.client.history import HistoryEntry, write_events_parquet
from realtime_widgets.client.loop import blocking, on_loop
from realtime_widgets.client.metrics import PRICES, Metrics, cost_of
from realtime_widgets.client.recording import read_recording
from realtime_widgets.client.tools import PythonTool, check_name
from realtime_widgets.errors import ConfigError, FieldProblem, RealtimeWidgetsError
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol import items
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.state import ConversationState

__all__ = ["HistoryEntry", "RealtimeSession", "default_endpoint", "local_server"]

T = TypeVar("T")
_shared_local: dict[str, Any] = {}
_shared_lock = threading.Lock()


def local_server(responder: str = "local") -> Any:
    """The process's embedded local server with the built-in ``responder`` ("local": honest
    reports, the default; "echo": the user's own audio back), started on first use and kept
    for the process (one per responder)."""
    with _shared_lock:
        server = _shared_local.get(responder)
        if server is None:
            # lazy: the client does not depend on the server; it is loaded only when used
            from realtime_widgets.server.app import LocalServer

            server = _shared_local[responder] = LocalServer(responder=responder).start()
        return server


def default_endpoint(endpoint: Endpoint | None, api_key: str | None, model: str) -> Endpoint:
    """Where a session for ``model`` connects: ``endpoint`` if given, else OpenAI with
    ``api_key`` or ``OPENAI_API_KEY``, else the process's embedded local server."""
    if endpoint is not None:
        return endpoint
    if api_key or os.environ.get("OPENAI_API_KEY"):
        return Endpoint.openai(model, api_key)
    return Endpoint.local(local_server().url, model)


class RealtimeSession(SessionFacade[SessionConfig]):
    """A Realtime session over WebSocket (see the module docstring).

    ``max_frame_bytes`` (default 32 MiB, the local server's ``ServerLimits.max_frame_bytes``
    and within OpenAI's) is the largest frame the endpoint accepts: anything that would be a
    larger frame (an image, huge instructions, ...) raises ConfigError before it is sent, as
    the endpoint would close the connection on it and the conversation would be lost; audio
    appends are cut to fit. Set it to a ``serve --max-frame-bytes`` you changed."""

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
        max_frame_bytes: int = MAX_FRAME_BYTES,
    ) -> None:
        core = ClientCore(config, max_frame_bytes=max_frame_bytes)
        super().__init__(
            core,
            default_endpoint(endpoint, api_key, core.requested.model),
            reconnect=reconnect,
            max_reconnects=max_reconnects,
            record=record,
            timeout=timeout,
        )
        self.prices = prices if prices is not None else PRICES
        self._replay: tuple[Path, float] | None = None
        self.replay_t: float | None = None  # a replay's recorded time of the row playing (s)
        # The conversation's recording, fed on the I/O loop by the session's own listeners,
        # registered first: every later listener (a Waveform) runs after it is up to date.
        self.timeline = self._start_timeline()
        self.core.on("conversation.item.truncated", self._timeline_truncated)

    _REPR_NAME = "RealtimeSession"

    # ---- what the core knows (``session.core`` holds it; these read it) ----------------------

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
    def lost_item_ids(self) -> list[str]:
        return self.core.lost_item_ids

    @property
    def usage_is_estimate(self) -> bool:
        """Whether this session's usage (and so its cost) is an estimate: its peer is a
        :class:`~realtime_widgets.server.app.LocalServer` listening in this process, which
        counts tokens by a local rule. The wire never says so (OpenAI's usage has no such
        key); a loopback address alone proves nothing, and a server in another process
        cannot be told apart."""
        app = sys.modules.get("realtime_widgets.server.app")  # never loaded: no LocalServer
        return app is not None and bool(app.serves(self.endpoint.url))

    @property
    def cost(self) -> float | None:
        """Dollars so far from response usage and the price table (local: an estimate)."""
        return cost_of(self.state.usage, self.requested.model, self.prices)

    async def aupdate(self, changes: dict[str, Any] | None = None, /, **kw: Any) -> SessionConfig:
        """Change parameters (dotted paths allowed); returns the effective config. Invalid
        values raise ConfigError before anything is sent (in the caller's thread, as do the
        ConfigNote warnings about changed spellings); a server rejection raises ServerError
        whose ``config_field`` names our field."""
        return await self.aapply(self.requested.with_changes({**(changes or {}), **kw}))

    def update(self, changes: dict[str, Any] | None = None, /, **kw: Any) -> SessionConfig:
        """Change parameters and wait for the effective config (see :meth:`aupdate`)."""
        return self.apply(self.requested.with_changes({**(changes or {}), **kw}))

    @on_loop
    async def aapply(self, config: SessionConfig) -> SessionConfig:
        """Make ``config`` the session's configuration (sends the minimal diff)."""
        if not self.connected:
            return self.core.apply_offline(config)
        return await self._send_update(config, self.requested)

    apply = blocking(aapply)

    # -- audio (appends and the stream are SessionFacade's)

    @on_loop
    async def acommit(self) -> None:
        """Commit the input buffer (needs >= 100 ms of audio), resampler tails included."""
        # streamed and held-back audio belongs to this commit
        await self._send_after_audio({"type": "input_audio_buffer.commit"})

    commit = blocking(acommit)

    @on_loop
    async def aclear_audio(self) -> None:
        """Clear the server's uncommitted input buffer (streamed audio goes first, as for a
        commit: what was streamed before the clear is cleared, not left after it)."""
        async with self.audio_stream.drained(self.timeout):
            await self._send({"type": "input_audio_buffer.clear"})

    clear_audio = blocking(aclear_audio)

    def emit_local(self, event: dict[str, Any]) -> None:
        """Raise a client-side event (``{"type": "client.<name>", ...}``): recorded in the
        history (direction "local") and handed to the listeners like a server event. Call it
        on the I/O loop (a listener, a widget's browser-message handler, a coroutine there);
        e.g. the Microphone's push-to-talk raises ``client.barge_in`` and the Speaker stops."""
        kind = event.get("type")
        if not isinstance(kind, str) or not kind.startswith("client."):
            raise RealtimeWidgetsError(f"a local event's type starts with 'client.', got {kind!r}")
        self.core.queue_local(event)
        self.dispatch()

    # -- conversation

    @on_loop
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

    send_text = blocking(asend_text)

    @on_loop
    async def acancel_response(self) -> None:
        """Cancel the response in progress."""
        await self._send({"type": "response.cancel"})

    cancel_response = blocking(acancel_response)

    @on_loop
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

    truncate = blocking(atruncate)

    @on_loop
    async def adelete_item(self, item_id: str) -> None:
        """Delete an item from the server's conversation."""
        await self._send({"type": "conversation.item.delete", "item_id": item_id})

    delete_item = blocking(adelete_item)

    # -- images -----------------------------------------------------------------------------

    async def asend_image(
        self,
        image: Any,
        *,
        detail: Literal["auto", "low", "high"] = "auto",
        text: str | None = None,
        previous_item_id: str | None = None,
    ) -> str:
        """Add a user message with an image (a matplotlib figure, PIL image, numpy array, path
        or bytes), optionally with a question; returns the new item's id. Ask for the answer
        with :meth:`acreate_response`."""
        item_id = items.new_item_id()
        item = items.user_image(image, detail=detail, text=text, id=item_id)
        await self.asend_event(items.create_item(item, previous_item_id=previous_item_id))
        return item_id

    send_image = blocking(asend_image)

    # -- conversation items -------------------------------------------------------------------

    async def acreate_item(
        self, item: BaseModel | dict[str, Any], *, previous_item_id: str | None = None
    ) -> str:
        """Add any item (see :mod:`~realtime_widgets.protocol.items`) after
        ``previous_item_id`` (``"root"``: first; None: last); returns its id."""
        typed, item_id = _with_id(item)
        await self.asend_event(items.create_item(typed, previous_item_id=previous_item_id))
        return item_id

    create_item = blocking(acreate_item)

    async def aretrieve_item(self, item_id: str) -> None:
        """Ask the server for an item (its answer, ``conversation.item.retrieved``, updates
        ``state``; it carries the item's audio)."""
        await self.asend_event(items.retrieve_item(item_id))

    retrieve_item = blocking(aretrieve_item)

    # -- responses --------------------------------------------------------------------------

    async def acreate_response(
        self,
        /,
        *,
        conversation: Literal["auto", "none"] | None = None,
        metadata: dict[str, str] | None = None,
        input: list[BaseModel | dict[str, Any]] | None = None,
        **overrides: Any,
    ) -> None:
        """Ask for a response. Keyword overrides apply to this response only
        (``instructions``, ``output_modalities``, ``tools``, ``tool_choice``,
        ``max_output_tokens``, ``audio``, ``reasoning``, ...); ``conversation="none"`` makes it
        out of band (kept out of the transcript; see ``state.out_of_band_responses()``) and
        ``input`` gives it its own context."""
        await self.asend_event(
            items.create_response(
                conversation=conversation, metadata=metadata, input=input, **overrides
            )
        )

    create_response = blocking(acreate_response)

    # -- MCP ----------------------------------------------------------------------------------

    async def aapprove_mcp(
        self, approval_request_id: str, approve: bool = True, *, reason: str | None = None
    ) -> None:
        """Answer an MCP approval request (``state.pending_approvals()``): run the tool call,
        or with ``approve=False`` refuse it."""
        await self.asend_event(items.approve_mcp(approval_request_id, approve, reason=reason))

    approve_mcp = blocking(aapprove_mcp)

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

    # ---- the recording: the timeline, fed on the I/O loop, and its export --------------------

    def _timeline_truncated(self, event: ev.ServerEvent) -> None:
        if isinstance(event, ev.ConversationItemTruncated):
            self.timeline.truncate(event.item_id, event.audio_end_ms)

    def read_on_loop(self, fn: Callable[[], T], timeout: float | None = None) -> T:
        """``fn()`` where the session's state lives (its timeline, history, the widgets'
        state): on the I/O loop while the session has one, waited for (``timeout``: the
        session's), else here (not used yet, or closed: nobody else touches it)."""
        io = self._io
        if io is None or io.in_loop_thread():
            return fn()
        try:
            future = io.submit(_call(fn))
        except RuntimeError:  # the loop closed meanwhile: nobody feeds them any more
            return fn()
        return future.result(self.timeout if timeout is None else timeout)

    async def _aread_on_loop(self, fn: Callable[[], T]) -> T:
        """:meth:`read_on_loop` for a caller on another event loop (awaited, not blocked)."""
        io = self._io
        if io is None or io.in_loop_thread():
            return fn()
        try:
            future = io.submit(_call(fn))
        except RuntimeError:  # the loop closed meanwhile: nobody feeds them any more
            return fn()
        return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)

    def _recording(self, keep_s: float | None) -> Recording:
        """A copy of what the WAV needs, taken where the timeline lives (cheap: lists of
        references), cut to the last ``keep_s`` seconds."""
        return _kept(self.read_on_loop(self.timeline.recording), keep_s)

    def export_wav(self, path: str | Path, *, keep_s: float | None = None) -> Path:
        """Write the conversation as a stereo 16-bit WAV at 24 kHz on the session clock (0 s:
        the session's start; a replay's: its recording's): the user left, where the audio was
        sent; the agent right, where it played (each reply after the one before, not before
        it arrived), cut where ``conversation.item.truncated`` cut it; silence wherever
        nothing played. It ends where the later side ends; ``keep_s`` keeps only its last
        seconds (at most the timeline's ``keep_s``, 10 minutes). Only a copy of the chunk lists
        is taken on the I/O loop; the WAV is built in the calling thread (from a listener or
        coroutine on the loop, await :meth:`aexport_wav`). Returns the path."""
        keep = _checked_keep_s(keep_s)
        return _write_wav(path, self._recording(keep))

    async def aexport_wav(self, path: str | Path, *, keep_s: float | None = None) -> Path:
        """:meth:`export_wav` from async code: the WAV is built and written on a worker thread."""
        keep = _checked_keep_s(keep_s)
        rec = _kept(await self._aread_on_loop(self.timeline.recording), keep)
        return await asyncio.to_thread(_write_wav, path, rec)

    def export(self, target: str | Path, *, keep_s: float | None = None) -> dict[str, Path]:
        """Write the recording and the event log, the interchange format of voice-eval tools:
        ``NAME.wav`` (:meth:`export_wav`) and ``NAME.events.parquet``
        (:meth:`EventHistory.to_parquet <realtime_widgets.client.history.EventHistory.to_parquet>`:
        ``t`` on the same clock as the WAV, ``direction``, ``type``, ``event`` as JSON). A
        ``target`` that is a folder (it exists, or ends with a separator) holds them as
        ``session`` files (the session id when known); else it is the prefix ``NAME`` with its
        folder (made when missing). Returns ``{"wav": path, "events": path}``.

        Both are horizons, not archives: the WAV holds the last 10 minutes, the log the events
        the history keeps (5,000; ``events.dropped`` says how many left, and a microphone's
        appends alone fill it in ~3 minutes). ``record=`` keeps every event and its audio on
        disk (JSONL)."""
        wav, events = _export_paths(target, self.session_id)
        keep = _checked_keep_s(keep_s)
        rec, entries = self.read_on_loop(lambda: (self.timeline.recording(), list(self.history)))
        return {
            "wav": _write_wav(wav, _kept(rec, keep)),
            "events": write_events_parquet(entries, events),
        }

    async def aexport(self, target: str | Path, *, keep_s: float | None = None) -> dict[str, Path]:
        """:meth:`export` from async code: both files are built and written on a worker
        thread."""
        wav, events = _export_paths(target, self.session_id)
        keep = _checked_keep_s(keep_s)
        rec, entries = await self._aread_on_loop(
            lambda: (self.timeline.recording(), list(self.history))
        )
        return {
            "wav": await asyncio.to_thread(_write_wav, wav, _kept(rec, keep)),
            "events": await asyncio.to_thread(write_events_parquet, entries, events),
        }

    # ---- replay -----------------------------------------------------------------------------

    @classmethod
    def replay(cls, path: str | Path, *, speed: float = 1.0) -> RealtimeSession:
        """A read-only session whose events come from a recording, at ``speed`` x the recorded
        pace (0: at once), into the same state, metrics and callbacks."""
        session = cls(endpoint=Endpoint(f"replay://{Path(path).name}", kind="replay"))
        session.replaying = True
        session._replay = (Path(path), speed)
        # The session clock is the recording's: events, metrics and the timeline's audio sit
        # where they were recorded, whatever the speed.
        session.core.follow_clock(lambda: session.replay_t or 0.0)
        return session

    @on_loop
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
            self.replay_t = row.t  # the recording's clock (the waveform draws on it)
            self.core.replayed(row.direction, row.t, row.event, row.raw)
            self.core.take_tool_batches()  # a replay runs no tool: what was sent is in it
            self.dispatch()  # as live: the listeners run on the I/O loop after each row
        self.core.queue_local({"type": "session.closed"})
        self.dispatch()

    def play(self, timeout: float = 3600.0) -> None:
        """Play a replayed session to its end (blocking)."""
        self._block(self.aplay(), timeout)


def _checked_keep_s(keep_s: float | None) -> float | None:
    if keep_s is None:
        return None
    if isinstance(keep_s, bool) or not isinstance(keep_s, int | float) or not keep_s > 0:
        raise ConfigError(
            [
                FieldProblem(
                    "keep_s", f"keep_s must be a number of seconds > 0, or None, got {keep_s!r}"
                )
            ]
        )
    return float(keep_s)


def _kept(rec: Recording, keep_s: float | None) -> Recording:
    """``rec`` from ``keep_s`` seconds before its end (None: all of it)."""
    if keep_s is None:
        return rec
    return dataclasses.replace(rec, start_ms=max(rec.start_ms, rec.end_ms - keep_s * 1000))


def _write_wav(path: str | Path, rec: Recording) -> Path:
    target = Path(path)
    target.write_bytes(stereo_wav(rec))
    return target


def _export_paths(target: str | Path, session_id: str | None) -> tuple[Path, Path]:
    """Where :meth:`RealtimeSession.export` writes: ``NAME.wav`` and ``NAME.events.parquet``."""
    text = os.fspath(target)
    base = Path(text)
    if base.is_dir() or text.endswith(("/", os.sep)):
        base = base / (session_id or "session")
    if not base.name:
        raise ConfigError(
            [FieldProblem("target", f"target must name a folder or a prefix, got {text!r}")]
        )
    base.parent.mkdir(parents=True, exist_ok=True)
    return base.with_name(base.name + ".wav"), base.with_name(base.name + ".events.parquet")


async def _call(fn: Callable[[], T]) -> T:
    """``fn()`` as a coroutine (to run it on the session's I/O loop)."""
    return fn()


def _with_id(item: BaseModel | dict[str, Any]) -> tuple[BaseModel, str]:
    """The item, typed, with an id (the given one, or a fresh client-side one)."""
    typed = items.as_item(item)
    item_id = getattr(typed, "id", None)
    if item_id is None:
        item_id = items.new_item_id()
        typed = typed.model_copy(update={"id": item_id})
    return typed, str(item_id)
