"""LiveCore: the client side of GPT-Live's protocol, with no I/O.

A :class:`~realtime_widgets.client.core.ClientCore` whose protocol hooks are GPT-Live's: its
unions (:mod:`realtime_widgets.protocol.live_events`: strict out, lenient in), its opening (the
greeting is ``session.start`` built from a :class:`~realtime_widgets.protocol.live_config.
LiveConfig`, answered by ``session.started``), its audio (``session.input_audio.append`` in the
session's ``audio.format``: PCM16 at 16 or 24 kHz, or G.711; the model's audio in the same
format), its state (:class:`~realtime_widgets.client.live_state.LiveState`), its metrics
(:class:`~realtime_widgets.client.live_metrics.LiveMetrics`) and its end (``session.closed``
sets ``ended_by_server``: the transport does not reconnect, every wait fails with the reason).
The listeners, waits, history, frame limits and audio codecs are the core's own; its Realtime
parts (``requested`` / ``effective`` SessionConfig, ConversationState, turn Metrics) are unused.

Fed as the Realtime core is::

    core = LiveCore(LiveConfig(voice="cedar"), clock=fake_clock)
    core.greeting()               # [session.start]
    core.receive(text)            # one server frame: state, metrics, history, waiters
    core.append_frames(samples, 48000)     # session.input_audio.append in the session's format

The model's audio reaches the output taps as 24 kHz int16 under a stream id per model turn
(``live_audio_1``, ``live_audio_2``, ...): a new one begins with the model's first audio after
the person began a new turn. A server event this client cannot read (an unknown type, a known
one in a shape it cannot read) is delivered as it came and reported as a
``client.protocol_error``; reading goes on.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import time
from collections.abc import Callable
from typing import Any, cast

from realtime_widgets.audio.formats import BYTES_PER_SAMPLE
from realtime_widgets.client.core import MAX_FRAME_BYTES, ClientCore
from realtime_widgets.client.history import ENTRY_OVERHEAD, HISTORY, HISTORY_BYTES, HistoryEntry
from realtime_widgets.client.live_metrics import LiveMetrics
from realtime_widgets.client.live_state import LiveState
from realtime_widgets.client.records import Waiter
from realtime_widgets.errors import ConfigError, ServerError
from realtime_widgets.protocol import live_events as le
from realtime_widgets.protocol.events import ServerEvent, UnknownServerEvent
from realtime_widgets.protocol.live_config import LiveConfig
from realtime_widgets.protocol.state import base64_decoded_size

__all__ = ["RECONNECT_NOTE", "LiveCore"]

log = logging.getLogger("realtime_widgets.client")

RECONNECT_NOTE = (
    "GPT-Live has no resumption: the connection was lost, and a new server session was started "
    "with the same session.start (model, voice, instructions, startup input, delegation, "
    "triggers). What was said, appended or decided in the lost session is not in the new one's "
    "context, and its delegations can no longer be answered."
)


class LiveCore(ClientCore):
    """The client side of a GPT-Live session (see the module docstring).

    ``live_requested``: the :class:`LiveConfig` we asked for (what ``session.start`` sends and
    the next ``session.update`` diffs against); ``live_effective``: what the server last
    reported; ``live``: the :class:`LiveState`; ``live_metrics``: the :class:`LiveMetrics`."""

    APPEND_TYPE = "session.input_audio.append"
    CONFIG_CLASS = LiveConfig
    FIRST_EVENT = "session.started"
    HOT_PREFIXES = (
        '{"type":"session.output_audio.delta"',
        '{"type": "session.output_audio.delta"',
    )
    HOT_VALIDATOR = le.OutputAudioDeltaEvent.__pydantic_validator__

    def __init__(
        self,
        config: LiveConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        history: int = HISTORY,
        history_bytes: int = HISTORY_BYTES,
        max_frame_bytes: int = MAX_FRAME_BYTES,
    ) -> None:
        if config is not None and not isinstance(config, LiveConfig):
            raise ConfigError.single(
                "config", f"a GPT-Live session needs a LiveConfig, got {type(config).__name__}"
            )
        super().__init__(
            None,
            clock=clock,
            history=history,
            history_bytes=history_bytes,
            max_frame_bytes=max_frame_bytes,
        )
        self.live_requested = config or LiveConfig()
        self.live_effective: LiveConfig | None = None
        self.live = LiveState()
        self.live_metrics = LiveMetrics()
        self.started = False  # session.started seen on the connection in use
        self._stream: str | None = None  # the output stream id of the model's current turn
        self._streams = itertools.count(1)
        self._lost_delegations: list[str] = []

    @property
    def live_config(self) -> LiveConfig:
        """What the server said it uses, or what we asked for before it said."""
        return self.live_effective or self.live_requested

    # ---- the protocol's own parts (ClientCore's hooks) --------------------------------------

    @property
    def input_format(self) -> str:
        return self.live_config.audio_format.type

    @property
    def input_rate(self) -> int:
        return self.live_config.audio_format.rate

    def _parse(self, text: str) -> ServerEvent:
        # Live events are not Realtime ServerEvent subclasses (no event_id on an audio delta);
        # the core's waiters, listeners and history read only their ``type``.
        return cast(ServerEvent, le.parse_live_server_event(text))

    def _encode(self, event: dict[str, Any]) -> str:
        return le.encode(event)

    def encode(self, event: dict[str, Any]) -> str:
        """A Live client event -> its JSON text (validated by the Live client-event models;
        ConfigError in OpenAI's words before anything is sent), recorded as sent and remembered
        by its ``event_id`` (what answers it links back)."""
        text = super().encode(event)
        self.live.sent(event, self.elapsed)
        return text

    def greeting(self) -> list[str]:
        """``session.start`` with the whole requested configuration (every connection begins
        with it; a reconnect's too: GPT-Live has no resumption)."""
        self.started = False
        return [self.encode(self.live_requested.to_session_start(event_id=self.event_id()))]

    # ---- receiving ----------------------------------------------------------------------------

    def handle(self, event: ServerEvent, raw: str | None = None) -> None:
        """Apply one parsed server event: state, metrics, history, the effective config,
        errors; what the listeners get is queued."""
        now = self.clock()
        if isinstance(event, le.OutputAudioDeltaEvent):
            self._hot(event, now, raw if raw is not None else event.model_dump_json())
            return
        t = now - self._t0
        if raw is None:
            raw = event.model_dump_json()
        entry = HistoryEntry(t, "in", event.type, None, raw)
        self._record(entry)
        if isinstance(event, UnknownServerEvent):
            self._deliver_event(event, entry.size)
            self._unreadable(event, raw)
            return
        turn = self.live.apply(event, t)
        if turn is not None and turn.role == "user":
            if turn.deltas == 1:
                self._end_stream()  # the person took a turn: the model's next audio is new
            self.live_metrics.user_turn(turn, t)
        elif isinstance(event, le.SessionStartedEvent):
            self._started(event)
        elif isinstance(event, le.SessionUpdatedEvent):
            self._effective(event.session)
        elif isinstance(event, le.ErrorEvent):
            self._error(event)
        elif isinstance(event, le.SessionClosedEvent):
            self._closed(event)
        self._deliver_event(event, entry.size)

    def _hot(self, event: Any, now: float, raw: str) -> None:
        """The model's audio (``session.output_audio.delta``, 25-50 a second)."""
        delta = cast(le.OutputAudioDeltaEvent, event)
        t = now - self._t0
        fmt, rate = self.input_format, self.input_rate
        if self._stream is None:  # the model's first audio since the person's turn began
            self._stream = f"live_audio_{next(self._streams)}"
            self.live.transcript.mark("assistant", int(self.live_metrics.clock.sent_ms))
        size = base64_decoded_size(delta.delta)
        self.live.model_audio(size / (rate * BYTES_PER_SAMPLE[fmt] / 1000))
        self.live_metrics.model_audio(t)
        if self.listeners.output_taps:
            self._tap_delta(self._stream, delta, fmt, raw, rate)
        light: dict[str, Any] = {"type": delta.type, "delta": f"<{size} bytes>"}
        if delta.start_ms is not None:
            light["start_ms"], light["end_ms"] = delta.start_ms, delta.end_ms
        self._record(HistoryEntry(t, "in", delta.type, light))
        self._deliver_event(cast(ServerEvent, delta), ENTRY_OVERHEAD + len(raw))

    def _end_stream(self) -> None:
        """The model's current audio stream is over: its resampler's tail to the taps."""
        stream, self._stream = self._stream, None
        if stream is None:
            return
        tail = self._output.done(stream)
        if tail is not None:
            self._deliver(stream, tail)

    def _unreadable(self, event: UnknownServerEvent, raw: str) -> None:
        if event.problem:
            message = f"{event.type} in a shape this client cannot read: {event.problem}"
        else:
            message = f"unknown GPT-Live server event type {event.type!r}"
        self._protocol_error(message, raw)

    def _started(self, event: le.SessionStartedEvent) -> None:
        self.started = True
        self.session_id = event.session.id
        self.expires_at = float(event.session.expires_at)
        self._effective(event.session)
        self.live_metrics.new_session(self.live.transcript.session)
        self._end_stream()

    def _effective(self, session: le.SessionResource) -> None:
        """The fields the server reported, over what it had before (what we asked for, at
        first): a field its session object leaves out is not taken for a default."""
        with contextlib.suppress(ConfigError):
            reported = LiveConfig.from_session(session.model_dump())
            self.live_effective = self.live_config.model_copy(
                update={name: getattr(reported, name) for name in reported.model_fields_set}
            )

    def _error(self, event: le.ErrorEvent) -> None:
        self.last_error = self.server_error(event)

    def _closed(self, event: le.SessionClosedEvent) -> None:
        self._end_stream()
        self.ended_by_server = ServerError(
            f"the server closed the session ({event.reason})",
            type="session_closed",
            code="session_closed",
            details={"reason": event.reason, "session_id": event.session.id},
        )

    # ---- audio out: the core's framing, placed on the input clock -----------------------------

    def _input_sent(self, sizes: list[int]) -> None:
        """What the core's append frames carry (appended or flushed) is placed on the metrics'
        input clock."""
        per_ms = self.input_rate * BYTES_PER_SAMPLE[self.input_format] / 1000
        self.live_metrics.input_sent(sum(sizes) / per_ms, self.elapsed)

    # ---- the connection's life ----------------------------------------------------------------

    def connection_lost(
        self, code: int | None, reason: str | None = None, cause: ServerError | None = None
    ) -> list[str]:
        """The socket dropped: the model's audio stream ends, and the delegations of the
        server session still waiting are lost with it (a new session cannot answer them)."""
        self._end_stream()
        lost = super().connection_lost(code, reason, cause)
        self._lost_delegations = self.live.lose_delegations()
        self.started = False
        return lost

    def closed(self) -> list[Waiter]:
        """The session object closed: the open waiters (to fail) are returned. Its listeners
        get one ``session.closed``: the server's when it came (with its reason), else the
        client's own (as a Realtime session's, with no reason)."""
        if self.live.closed is None:
            return super().closed()
        return self.fail_waiters()

    def resent_settings(self) -> list[str]:
        """None after the opening: ``session.start`` (the greeting of every connection, a
        reconnect's too) carries the whole requested config, and nothing is sent after it."""
        return []

    def reconnected(self, attempt: int, code: int | None, lost: list[str]) -> bool:
        """A new server session replaced the lost one (its ``session.start`` was the greeting,
        its ``session.started`` has arrived): ``session.reconnected`` says what was lost.
        Nothing more to send (False)."""
        self.reconnects += 1
        ids = self.live.session_ids
        lost_session = ids[-2] if len(ids) > 1 else None
        log.info(
            "GPT-Live reconnected (attempt %d): new server session %s replaces %s; "
            "session.start sent again with the same config; the lost session's context and "
            "%d unanswered delegation(s) are not carried over (no resumption)",
            attempt,
            self.session_id,
            lost_session,
            len(self._lost_delegations),
        )
        self.queue_local(
            {
                "type": "session.reconnected",
                "attempt": attempt,
                "close_code": code,
                "close_reason": self._close_reason,
                "session_id": self.session_id,
                "lost_session_id": lost_session,
                "lost_delegation_ids": list(self._lost_delegations),
                "message": RECONNECT_NOTE,
            }
        )
        return False
