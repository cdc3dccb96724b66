"""ClientCore: the client side of the Realtime protocol, with no I/O.

Server frames and a clock go in; out come the effective config, the ConversationState, the
metrics, the matching of a pending ``session.update`` to its ``session.updated`` or ``error``,
tool-call bookkeeping, waiter matching, and the frames to send. ``RealtimeSession`` keeps the
socket, reconnect and the I/O thread around it (the shape of websockets' ``protocol.py`` under
its ``asyncio`` layer), so everything here is tested without a socket, on a fake clock.

Feeding::

    core = ClientCore(SessionConfig(voice="marin"), clock=fake_clock)
    event = core.receive(text)            # one server frame: state, metrics, history, waiters
    frames = core.encode(event_dict)      # a client event -> its JSON text, recorded as sent
    frames = core.append_frames(samples, MODEL_RATE)   # audio in the session's input format
    pending = core.begin_update(new, previous)    # -> pending.frames; pending resolves later
    batches = core.take_tool_batches()    # function calls of finished responses to run
    dispatch(core.listeners, core.take_dispatches())   # now the listeners run

The core calls out to nobody. Listeners (``on``, ``on_history``, the audio taps) are registered
here (each registration returns a function that removes it), but a core call only queues what
they must get, in order; :func:`~realtime_widgets.client.dispatch.dispatch` hands it out after
the call returns (the transport does, on its I/O loop), as websockets' ``receive_data()`` is
followed by ``events_received()``. Waiters are matched here and their ``on_match`` called
there; a finished update's ``on_done`` likewise.

Bounds: every frame is checked against ``max_frame_bytes`` before it is sent or recorded
(:mod:`~realtime_widgets.client.frames`); a close with 1009 all the same is reported as
``client.frame_too_large``. What the core keeps is bounded in bytes: the history
(:mod:`~realtime_widgets.client.history`), the conversation's text
(:mod:`~realtime_widgets.protocol.textbudget`), the events kept for ``wait(since=...)``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import itertools
import json
import logging
import time
from collections.abc import Callable
from typing import Any, ClassVar, Protocol

import numpy as np
import numpy.typing as npt
from pydantic import ValidationError

from realtime_widgets.audio.formats import FORMAT_RATES, decode
from realtime_widgets.audio.pcm import as_int16, bytes_to_int16, pcm16_to_base64
from realtime_widgets.client.audio_codec import InputFrames, OutputDecoder
from realtime_widgets.client.dispatch import Delivered, Dispatch, InputAudio, OutputAudio
from realtime_widgets.client.frames import (
    MAX_APPEND,
    MAX_FRAME_BYTES,
    append_limit,
    check_frame,
    checked_limit,
    too_large_message,
)
from realtime_widgets.client.history import (
    ENTRY_OVERHEAD,
    HISTORY,
    HISTORY_BYTES,
    EventHistory,
    History,
    HistoryEntry,
    light,
)
from realtime_widgets.client.metrics import Metrics
from realtime_widgets.client.records import (
    AudioTap,
    Listener,
    OutputTap,
    PendingUpdate,
    ToolCall,
    ToolCallBook,
    Waiter,
    _Listeners,
    _remover,
)
from realtime_widgets.client.waiting import RECENT, RECENT_BYTES, EventWaits
from realtime_widgets.errors import AudioFormatError, ConfigError, ProtocolError, ServerError
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol import live_events as le
from realtime_widgets.protocol.client_events import encode as encode_client_event
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.configbase import ConfigModel
from realtime_widgets.protocol.events import ServerEvent, UnknownServerEvent, parse_server_event
from realtime_widgets.protocol.redaction import names_secret
from realtime_widgets.protocol.state import ConversationState, base64_decoded_size

__all__ = [
    "MAX_APPEND",
    "MAX_FRAME_BYTES",
    "RECENT",
    "RECENT_BYTES",
    "ClientCore",
    "PendingUpdate",
    "ToolCall",
    "Waiter",
]

log = logging.getLogger("realtime_widgets.client")
# Audio deltas as the GA server writes them ("type" first) are validated by their own model.
_AUDIO_DELTA_PREFIX = (
    '{"type":"response.output_audio.delta"',
    '{"type": "response.output_audio.delta"',
)
_AUDIO_DELTA = ev.ResponseOutputAudioDelta.__pydantic_validator__


class AudioDelta(Protocol):
    """What an audio delta of any kind's union has (Realtime's, a translation's, GPT-Live's)."""

    @property
    def type(self) -> str: ...

    @property
    def delta(self) -> str: ...

    def model_dump_json(self) -> str: ...


def _quoted(frame: str) -> str:
    """A frame that could not be read, quoted in its protocol error, unless it names a secret
    field (redaction needs parsed JSON; a broken frame has none)."""
    if names_secret(frame):
        return "<not quoted: the frame names an MCP secret field (authorization or headers)>"
    return frame[:200]


class ClientCore:
    """The client's protocol state machine (see the module docstring). Not thread-safe: the
    session calls it from its I/O thread only.

    Another session kind (:class:`~realtime_widgets.client.translation.TranslationCore`)
    subclasses it and overrides what is its own protocol: :meth:`_parse` and :meth:`_encode`
    (its unions), :meth:`handle` (its state), :attr:`APPEND_TYPE` and :attr:`input_format`
    (its audio appends); the listeners, waits, history, framing and audio codecs are shared."""

    # The client event that carries appended audio.
    APPEND_TYPE: ClassVar[str] = "input_audio_buffer.append"
    # The config whose fields an error's ``param`` names (ServerError.config_field).
    CONFIG_CLASS: ClassVar[type[ConfigModel]] = SessionConfig

    def __init__(
        self,
        config: SessionConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        history: int = HISTORY,
        history_bytes: int = HISTORY_BYTES,
        max_frame_bytes: int = MAX_FRAME_BYTES,
    ) -> None:
        self.max_frame_bytes = checked_limit(max_frame_bytes)
        self.max_append = append_limit(max_frame_bytes)
        self.clock = clock
        self.requested = config or SessionConfig()
        self.effective: SessionConfig | None = None
        self.state = ConversationState()
        self.metrics = Metrics()
        self.history = History(history, history_bytes)
        self.events = EventHistory(self.history)
        self.session_id: str | None = None
        self.expires_at: float | None = None
        self.last_error: ServerError | None = None
        self.lost_item_ids: list[str] = []
        self.interrupted_response_ids: list[str] = []
        self.reconnects = 0
        self.pending: PendingUpdate | None = None
        self.listeners = _Listeners()
        self._t0 = clock()
        self.waits = EventWaits()  # the stream's marks, recent events and open waiters
        self._close_reason: str | None = None  # why the last connection closed, if said
        self._ids = itertools.count(1)
        self._input = InputFrames()  # the session's input format, per source rate
        self._output = OutputDecoder()  # the model's audio for the taps, per item
        self.tools: dict[str, Any] = {}  # name -> PythonTool (whatever the session registered)
        self._tool_calls = ToolCallBook()
        self._outbox: list[Dispatch] = []  # for the listeners, in order (take_dispatches)

    # ---- time and ids -------------------------------------------------------------------------

    @property
    def elapsed(self) -> float:
        """Seconds since the core was made: the clock of ``history`` entries."""
        return self.clock() - self._t0

    def follow_clock(self, clock: Callable[[], float]) -> None:
        """From now on ``clock()`` is the session clock itself (seconds, ``elapsed``): a replay
        follows its recording's clock, so its events, metrics and audio sit at the times they
        were recorded, at any replay speed."""
        self.clock = clock
        self._t0 = 0.0

    def event_id(self) -> str:
        return f"evt_rw_{next(self._ids)}"

    @property
    def config(self) -> SessionConfig:
        """What the server said it uses, or what we asked for before it said."""
        return self.effective or self.requested

    # ---- receiving ----------------------------------------------------------------------------

    # What a new connection begins with: the client's frames (:meth:`greeting`), then the
    # server event that must come first. Realtime: no frame, ``session.created``.
    FIRST_EVENT: ClassVar[str] = "session.created"
    # The hot path of :meth:`receive`: this kind's audio delta as its server writes it ("type"
    # first), validated by its own model, not the union, and applied by :meth:`_hot`.
    HOT_PREFIXES: ClassVar[tuple[str, ...]] = _AUDIO_DELTA_PREFIX
    HOT_VALIDATOR: ClassVar[Any] = _AUDIO_DELTA
    # Set when the server ended the session for good (GPT-Live's ``session.closed``): the
    # transport does not reconnect, and every wait fails with it.
    ended_by_server: ServerError | None = None

    def greeting(self) -> list[str]:
        """The frames a new connection sends before its first server event (none here)."""
        return []

    def take_dispatches(self) -> list[Dispatch]:
        """What the calls since the last take left for the listeners, waiters and taps, in
        order (and forgotten here): hand it to
        :func:`~realtime_widgets.client.dispatch.dispatch`."""
        out, self._outbox = self._outbox, []
        return out

    def receive(self, text: str) -> ServerEvent | None:
        """One server frame. Nothing in it may stop the session reading: a frame that is not a
        JSON object with a ``type``, or that the client cannot handle (a value that breaks the
        state or the metrics), is reported as a ``client.protocol_error`` event (``message``:
        the cause; ``frame``: its first 200 characters) and gives None. No listener is called:
        what they must get is queued (:meth:`take_dispatches`)."""
        if text.startswith(self.HOT_PREFIXES):
            # The hot path (25-50 a second): validated by its own model, not the union; a
            # frame it rejects takes the full path below, which reports it as it always did.
            try:
                delta = self.HOT_VALIDATOR.validate_json(text)
            except ValidationError:
                pass
            else:
                try:
                    self._hot(delta, self.clock(), text)
                except Exception as exc:
                    self._cannot_handle(delta.type, exc, text)
                    return None
                return delta  # type: ignore[no-any-return]
        try:
            event: ServerEvent = self._parse(text)
        except ProtocolError as exc:
            self._protocol_error(str(exc), text)
            return None
        except Exception as exc:  # the parser's own limits (pydantic's, the decoder's)
            self._protocol_error(f"unreadable frame: {type(exc).__name__}: {exc}", text)
            return None
        try:
            self.handle(event, text)
        except Exception as exc:
            self._cannot_handle(event.type, exc, text)
            return None
        return event

    def _parse(self, text: str) -> ServerEvent:
        """A server frame as an event of this session kind's union (the Realtime one here):
        never raises for a JSON object with a ``type`` (:func:`parse_server_event`)."""
        return parse_server_event(text)

    def _cannot_handle(self, kind: str, exc: Exception, frame: str) -> None:
        log.debug("could not handle %s", kind, exc_info=True)
        self._protocol_error(f"could not handle {kind}: {type(exc).__name__}: {exc}", frame)

    def _protocol_error(self, message: str, frame: str) -> None:
        self.queue_local(
            {"type": "client.protocol_error", "message": message, "frame": _quoted(frame)}
        )

    def handle(self, event: ServerEvent, raw: str | None = None) -> None:
        """Apply one parsed server event: state, metrics, history, bookkeeping; what the
        listeners get is queued (:meth:`take_dispatches`)."""
        now = self.clock()
        kind = event.type
        if type(event) is ev.ResponseOutputAudioDelta:
            self._audio_delta(event, now, raw)
            return
        if not isinstance(event, UnknownServerEvent):
            self.state.apply(event)
        if isinstance(event, ev.ResponseOutputAudioDone) and self.listeners.output_taps:
            self._output_audio(event, raw)
        if raw is None:
            raw = event.model_dump_json()
        entry = HistoryEntry(now - self._t0, "in", kind, None, raw)
        self._record(entry)
        self.metrics.observe(event, now)
        if isinstance(event, ev.SessionCreated | ev.SessionUpdated):
            self._session_event(event)
        elif isinstance(event, ev.ErrorEvent):
            self._error_event(event)
        elif isinstance(event, ev.FunctionCallArgumentsDone):
            if event.name in self.tools:
                call = ToolCall(event.name, event.call_id, event.arguments)
                self._tool_calls.called(event.response_id, call)
        elif isinstance(event, ev.ResponseDone):
            self._tool_calls.response_done(event.response.id)
        self._deliver_event(event, entry.size)

    def _hot(self, event: Any, now: float, raw: str) -> None:
        """Apply an event the hot path read (:attr:`HOT_VALIDATOR`)."""
        self._audio_delta(event, now, raw)

    def _audio_delta(self, event: ev.ResponseOutputAudioDelta, now: float, raw: str | None) -> None:
        # The hot path: the history keeps the event without its audio.
        self.state.apply(event)
        if self.listeners.output_taps:
            self._output_audio(event, raw)
        self._record(
            HistoryEntry(
                now - self._t0,
                "in",
                event.type,
                {
                    "type": event.type,
                    "event_id": event.event_id,
                    "response_id": event.response_id,
                    "item_id": event.item_id,
                    "delta": f"<{base64_decoded_size(event.delta)} bytes>",
                },
            )
        )
        self.metrics.observe(event, now)
        size = len(raw) if raw is not None else len(event.delta)
        self._deliver_event(event, ENTRY_OVERHEAD + size)

    def _session_event(self, event: ev.SessionCreated | ev.SessionUpdated) -> None:
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
        elif self.pending is not None and not self.pending.done:
            pending, self.pending = self.pending, None
            self.requested = pending.config
            pending.effective = self.effective or pending.config
            self._finish(pending)

    def server_error(self, event: ev.ErrorEvent | le.ErrorEvent) -> ServerError:
        """The :class:`ServerError` an ``error`` event says, for any kind's union: its message,
        type, code and param, the client event it names (``error.event_id`` in Realtime's and a
        translation's, ``client_event_id`` in GPT-Live's) and our field of this kind's config
        for the param (:attr:`CONFIG_CLASS`)."""
        err = event.error
        if isinstance(event, le.ErrorEvent):
            named = event.error.client_event_id or event.client_event_id
        else:
            named = event.error.event_id
        return ServerError(
            err.message,
            err.type,
            err.code,
            err.param,
            named,
            config_field=self.CONFIG_CLASS.field_for_param(err.param),
        )

    def _error_event(self, event: ev.ErrorEvent) -> None:
        err = event.error
        self.last_error = self.server_error(event)
        pending = self.pending
        if pending is not None and err.event_id == pending.event_id and not pending.done:
            self.pending = None
            pending.error = self.last_error
            self._finish(pending)

    # ---- listeners ----------------------------------------------------------------------------

    def on(self, event_type: str, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` for each event of this type ("*": every event)."""
        items = self.listeners.by_type.setdefault(event_type, [])
        items.append(listener)
        return _remover(items, listener)

    def on_history(self, listener: Callable[[HistoryEntry], None]) -> Callable[[], None]:
        """Call ``listener(entry)`` for every event recorded, both directions."""
        self.listeners.history.append(listener)
        return _remover(self.listeners.history, listener)

    def add_audio_tap(self, tap: AudioTap) -> Callable[[], None]:
        """Call ``tap(int16_samples, rate)`` with all audio appended."""
        self.listeners.audio_taps.append(tap)
        return _remover(self.listeners.audio_taps, tap)

    def add_output_audio_tap(self, tap: OutputTap) -> Callable[[], None]:
        """Call ``tap(item_id, samples)`` with the assistant's audio as 24 kHz int16, decoded
        once for every listener (G.711 resampled with state per item, tails delivered when the
        item's audio is done)."""
        self.listeners.output_taps.append(tap)
        return _remover(self.listeners.output_taps, tap)

    def _deliver_event(self, event: ServerEvent, size: int = ENTRY_OVERHEAD) -> None:
        """Keep the event for ``wait(since=...)``, match the waiters, queue it for dispatch."""
        self._outbox.append(Delivered(event, self.waits.deliver(event, size)))

    def _finish(self, pending: PendingUpdate) -> None:
        pending._finish()
        self._outbox.append(pending)  # its on_done is the dispatcher's to call

    def queue_local(self, data: dict[str, Any]) -> None:
        """An event the client itself raises (reconnected, disconnected, closed, ...): recorded
        and queued for the listeners like a server event."""
        self._record(HistoryEntry(self.elapsed, "local", data["type"], data))
        self._deliver_event(UnknownServerEvent.model_validate({"event_id": "", **data}))

    def _record(self, entry: HistoryEntry) -> None:
        self.history.append(entry)  # (kept shortened when it is large)
        self._outbox.append(self.history[-1])  # the event log gets the entry the history kept

    # ---- waiting ------------------------------------------------------------------------------

    def mark(self) -> int:
        """A point in the event stream (see :meth:`wait`)."""
        return self.waits.seq

    def wait(
        self,
        kind: str,
        predicate: Callable[[ServerEvent], bool] | None = None,
        since: int | None = None,
        on_match: Callable[[ServerEvent], None] | None = None,
    ) -> Waiter:
        """A waiter for the next event of ``kind`` (after ``since``, a :meth:`mark`, if given:
        events already received after the mark count). Check ``waiter.event``; ``on_match``
        is called (by the dispatcher) when it matches later. :meth:`cancel` removes it."""
        return self.waits.wait(kind, predicate, since, on_match)

    def cancel(self, waiter: Waiter) -> None:
        self.waits.cancel(waiter)

    def fail_waiters(self) -> list[Waiter]:
        """Remove and return every waiter still open (the session fails them on close)."""
        return self.waits.take_open()

    # ---- sending ------------------------------------------------------------------------------

    def encode(self, event: dict[str, Any]) -> str:
        """A client event -> its JSON text, validated by the typed client-event models (the
        local server judges with the same ones), recorded in the history as sent. A malformed
        event raises ConfigError with OpenAI's message and param before anything is sent."""
        if not isinstance(event.get("type"), str):
            raise ProtocolError(f"a client event needs a 'type', got {sorted(event)}")
        text = self._encode(event)
        check_frame(event["type"], len(text), self.max_frame_bytes)
        self._record(
            HistoryEntry(
                self.elapsed, "out", event["type"], light(event), size=ENTRY_OVERHEAD + len(text)
            )
        )
        return text

    def _encode(self, event: dict[str, Any]) -> str:
        """A client event's JSON text, validated by this session kind's client-event models
        (the Realtime ones here); ConfigError in OpenAI's words for a malformed one."""
        return encode_client_event(event)

    def begin_update(
        self, new: SessionConfig, previous: SessionConfig | None
    ) -> PendingUpdate | None:
        """The frames that make ``new`` the session's config (the minimal diff against
        ``previous``; ``None``: everything set), or None when there is nothing to send.

        Invalid values or transitions raise ConfigError before anything is sent. Audio the
        resamplers hold goes out first in the old input format."""
        event_id = self.event_id()
        event = new.to_session_update(
            previous, event_id=event_id, assistant_has_spoken=self.state.assistant_has_spoken
        )
        if event["session"] == {"type": "realtime"}:
            self.requested = new
            return None
        frames: list[str] = []
        if new.input_audio_format != self.config.input_audio_format:
            frames.extend(self.flush_frames())
            self._input.reset()
        frames.append(self.encode(event))
        self.pending = PendingUpdate(event_id, new, frames)
        return self.pending

    def abandon_update(self, pending: PendingUpdate) -> None:
        """Forget a pending update (its wait timed out or was cancelled)."""
        if self.pending is pending:
            self.pending = None

    def apply_offline(self, config: SessionConfig) -> SessionConfig:
        """Not connected: the config is what the next connect will send."""
        self.requested = config
        return config

    # ---- audio --------------------------------------------------------------------------------

    def append_frames(self, samples: npt.ArrayLike | bytes, rate: int) -> list[str]:
        """Audio (int16 or float samples, or PCM16 bytes, at ``rate``) -> append frames in the
        session's input format; the audio taps see it first."""
        return self.append_audio(samples, rate)[0]

    def append_audio(
        self, samples: npt.ArrayLike | bytes, rate: int
    ) -> tuple[list[str], list[int]]:
        """As :meth:`append_frames`, with the audio bytes each frame carries."""
        if isinstance(samples, bytes | bytearray | memoryview):
            x = bytes_to_int16(samples)
        else:
            x = as_int16(samples)  # (an int16 microphone chunk comes back as it is)
        if self.listeners.audio_taps:
            self._outbox.append(InputAudio(x, rate))
        fmt = self.input_format
        limit = self.max_append
        if fmt == "audio/pcm" and rate == self.input_rate and 2 * len(x) <= limit:
            # the live path: one chunk, encoded straight from its buffer
            n = 2 * len(x)
            frame = self._append_frame(pcm16_to_base64(x), n)
            self._input_sent([n])
            return [frame], [n]
        parts = self._input.encode(x, rate, fmt, limit, self.input_rate)
        return self._append_parts(parts)

    def flush_frames(self) -> list[str]:
        """Appends for the audio the resamplers' filters still hold (before a commit)."""
        return self._append_parts(self._input.flush(self.max_append))[0]

    def _append_parts(self, parts: list[bytes]) -> tuple[list[str], list[int]]:
        """Append frames for encoded ``parts`` (each at most ``max_append`` bytes), and the
        bytes each carries; :meth:`_input_sent` is told."""
        sizes = [len(p) for p in parts]
        frames = [
            self._append_frame(pcm16_to_base64(p), n) for p, n in zip(parts, sizes, strict=True)
        ]
        self._input_sent(sizes)
        return frames, sizes

    def _input_sent(self, sizes: list[int]) -> None:
        """Audio bytes that just went into append frames, in the session's input format (a kind
        that measures its input audio hears of it here; nothing here)."""

    @property
    def input_format(self) -> str:
        """The wire format of the audio this session appends (the session's input format)."""
        return self.config.input_audio_format.type

    @property
    def input_rate(self) -> int:
        """The sample rate of the audio this session appends (the format's own here)."""
        return FORMAT_RATES[self.input_format]

    def _append_frame(self, b64: str, size: int) -> str:
        # The hot path: no dict, no json.dumps of a large string.
        kind = self.APPEND_TYPE
        self._record(
            HistoryEntry(
                self.clock() - self._t0,
                "out",
                kind,
                {"type": kind, "audio": f"<{size} bytes>"},
            )
        )
        return '{"type":"' + kind + '","audio":"' + b64 + '"}'

    def _output_audio(
        self, event: ev.ResponseOutputAudioDelta | ev.ResponseOutputAudioDone, raw: str | None
    ) -> None:
        if isinstance(event, ev.ResponseOutputAudioDone):
            tail = self._output.done(event.item_id)
            if tail is not None:
                self._deliver(event.item_id, tail)
            return
        fmt = self.config.output_audio_format.type
        what = f"{event.type} of item {event.item_id}"
        self._tap_delta(event.item_id, event, fmt, raw, what=what)

    def _tap_delta(
        self,
        stream: str,
        event: AudioDelta,
        fmt: str,
        raw: str | None,
        rate: int | None = None,
        what: str | None = None,
    ) -> None:
        """One audio delta to the output taps under ``stream``, decoded once for every tap as
        24 kHz int16 (``rate``: the wire rate, None for the format's own). A delta that cannot
        be decoded is lost to the taps only: a ``client.protocol_error`` says why (``what``
        names the delta, its type by default), and the event itself is still logged, counted
        and dispatched like any other."""
        try:
            samples = self._output.delta(stream, event.delta, fmt, rate)
        except (ProtocolError, AudioFormatError) as exc:
            self._protocol_error(
                f"{what or event.type}: {exc}",
                raw if raw is not None else event.model_dump_json(),
            )
            return
        self._deliver(stream, samples)

    def _deliver(self, item_id: str, samples: npt.NDArray[np.int16]) -> None:
        self._outbox.append(OutputAudio(item_id, samples))

    # ---- tools --------------------------------------------------------------------------------

    def take_tool_batches(self) -> list[list[ToolCall]]:
        """Function calls of finished responses, one batch per response, to run and answer
        with :meth:`tool_output_frames`."""
        return self._tool_calls.take_ready()

    def tool_output_frames(self, calls: list[ToolCall], outputs: list[str]) -> list[str]:
        """The function_call_output items for a batch, then the response.create that lets
        the model use them."""
        frames = [
            self.encode(
                {
                    "type": "conversation.item.create",
                    "item": {
                        "type": "function_call_output",
                        "call_id": call.call_id,
                        "output": output,
                    },
                }
            )
            for call, output in zip(calls, outputs, strict=True)
        ]
        frames.append(self.encode({"type": "response.create"}))
        return frames

    # ---- the connection's life ----------------------------------------------------------------

    def connection_lost(
        self, code: int | None, reason: str | None = None, cause: ServerError | None = None
    ) -> list[str]:
        """The socket dropped (``reason``: the close frame's, if any), or the session stopped
        reading it (``cause`` says why, and is the pending update's error). A response in
        progress is over for us: it is marked incomplete and reported as
        ``client.response_interrupted`` (the transcript and metrics show it). A close for a
        frame too big (1009) is reported as ``client.frame_too_large`` and ``last_error``.
        Returns the ids of the items the server's conversation held (lost with it)."""
        if cause is None:
            self._close_reason = reason or None
            if code == 1009:
                self._frame_too_large(reason)
        active = self.state.active_response
        if active is not None:
            active.status = "incomplete"
            active.status_details = {"type": "incomplete", "reason": "connection_lost"}
            self.interrupted_response_ids.append(active.id)
            self.metrics.interrupted(active.id, self.clock())
            self.queue_local(
                {
                    "type": "client.response_interrupted",
                    "response_id": active.id,
                    "item_ids": list(active.item_ids),
                    "reason": "connection_lost",
                    "close_code": code,
                    "message": "reply interrupted by a lost connection",
                }
            )
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.error = cause or ServerError(
                "the connection was lost before the server answered the update",
                code="connection_lost",
                event_id=pending.event_id,
            )
            self._finish(pending)
        self._tool_calls.forget_open()
        self._output.reset()
        return [i.id for i in self.state.ordered_items() if i.id not in self.lost_item_ids]

    def _frame_too_large(self, reason: str | None) -> None:
        message = too_large_message(reason, self.max_frame_bytes)
        self.last_error = ServerError(message, "invalid_request_error", "message_too_big")
        self.queue_local(
            {
                "type": "client.frame_too_large",
                "close_code": 1009,
                "close_reason": reason,
                "max_frame_bytes": self.max_frame_bytes,
                "message": message,
            }
        )

    def resent_settings(self) -> list[str]:
        """The settings a new connection sends again (by field name), in its first
        ``session.update``: what the transport's ``_configure`` sends when there are any
        (at connect, and after a reconnect, whose new server session knows none of them), and
        what :meth:`reconnected`'s log line names. Realtime: every field set beyond the model
        (which is in the URL). A kind with its own configuration says its own."""
        return sorted(self.requested.model_fields_set - {"model"})

    def reconnected(self, attempt: int, code: int | None, lost: list[str]) -> bool:
        """A new server session replaced the dropped one. Returns True when our config must be
        sent again (:meth:`resent_settings`; the transport sends it whole).

        The log says, in one line, what a reconnect keeps: the new session gets our config
        again, while the conversation is not re-sent (the server's copy went with the old
        session; ``lost`` names its items, also in ``session.reconnected``)."""
        self.reconnects += 1
        self.lost_item_ids.extend(lost)
        self.state.new_conversation()
        settings = self.resent_settings()
        log.info(
            "reconnected (attempt %d, after close %s): a new server session. %s; %s",
            attempt,
            code,
            "the session config is sent again (" + ", ".join(settings) + ")"
            if settings
            else "no session config to send again (nothing is set beyond the model, in the URL)",
            f"the conversation is not re-sent: its {len(lost)} earlier item(s) are gone from "
            "the server (session.lost_item_ids)"
            if lost
            else "there was no conversation to re-send",
        )
        self.queue_local(
            {
                "type": "session.reconnected",
                "attempt": attempt,
                "close_code": code,
                "close_reason": self._close_reason,
                "lost_item_ids": lost,
            }
        )
        return bool(settings)

    def closed(self) -> list[Waiter]:
        """The session closed: the open waiters (to fail) are returned, and ``session.closed``
        is queued for the listeners."""
        waiters = self.fail_waiters()
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.error = ServerError("the session was closed", code="session_closed")
            self._finish(pending)
        self.queue_local({"type": "session.closed"})
        return waiters

    def replayed(
        self, direction: str, t: float, event: dict[str, Any], raw: str | None = None
    ) -> None:
        """One row of a recording: incoming events (or ``raw``, a frame recorded as it came)
        are received as they were live, bad ones reported the same way."""
        if direction == "in":
            self.receive(raw if raw is not None else json.dumps(event))
            return
        self._record(HistoryEntry(t, direction, str(event.get("type")), light(event)))
        audio = event.get("audio")
        if event.get("type") == self.APPEND_TYPE and isinstance(audio, str):
            self._replayed_input(audio)

    def _replayed_input(self, b64: str) -> None:
        """A recorded append's audio, in the input format the session then had, for the audio
        taps (what was sent is drawn and recorded as it was live). Audio that cannot be read is
        reported as a ``client.protocol_error`` and lost to the taps, nothing else."""
        if not self.listeners.audio_taps:
            return
        fmt = self.input_format
        try:
            samples = decode(base64.b64decode(b64, validate=True), fmt)
        except (binascii.Error, ValueError, AudioFormatError) as exc:
            frame = '{"type":"' + self.APPEND_TYPE + '","audio":"' + b64[:100]
            self._protocol_error(f"{self.APPEND_TYPE} replayed: {exc}", frame)
            return
        self._outbox.append(InputAudio(samples, self.input_rate))
