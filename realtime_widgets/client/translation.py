"""TranslationSession: a translation session (``client.realtime.translations``) from a notebook.

A translation session hears a continuous stream of speech and gives it back in another
language: transcript deltas and audio. There is no turn detection, no conversation and no
response; a client updates the settings, appends audio and closes::

    session = TranslationSession(TranslationConfig(output_language="es",
                                                   input_transcription="gpt-4o-mini-transcribe"))
    session.connect()                         # returns on session.created (and the update)
    session.stream_audio(chunk, rate=48000)   # a microphone; or append_audio(samples, rate)
    session.state.output_text                 # the translation so far
    session.state.rows()                      # source and translation side by side
    session.close_session()                   # session.close: the rest is translated, then
    session.close()                           # session.closed; close the socket

Every client event of the SDK's union is a method: ``update`` / ``apply``
(``session.update``), ``append_audio`` / ``stream_audio`` (``session.input_audio_buffer.
append``), ``close_session`` (``session.close``); each has its ``a``-prefixed coroutine.

How it is put together, as :class:`~realtime_widgets.client.session.RealtimeSession` is: a
:class:`~realtime_widgets.client.transport.SessionTransport` (socket, reconnect, the I/O
thread, waits, dispatch; through :class:`~realtime_widgets.client.facade.SessionFacade`, what
the session kinds share) around a core, here :class:`TranslationCore`, a
:class:`~realtime_widgets.client.core.ClientCore` whose protocol parts are the translation
session's: its unions (:mod:`realtime_widgets.protocol.translation_events`), its state
(:class:`TranslationState`: the transcripts by position, the audio received), its metrics
(:class:`TranslationMetrics`: from the end of speech to the first translated audio), and its
appends (``session.input_audio_buffer.append``, 24 kHz PCM16: the core's framing resamples any
rate). The listeners, waits, history, frame limits and the output decoder (``add_output_audio_
tap``: the translated audio as 24 kHz int16, under the stream id :data:`OUTPUT_STREAM`) are the
core's own. The Realtime parts of the core (its ``requested`` / ``effective`` SessionConfig, its
ConversationState and turn Metrics) are not used by a translation session.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import numpy as np
import numpy.typing as npt

from realtime_widgets.audio.pcm import as_int16, bytes_to_int16
from realtime_widgets.audio.rate import MODEL_RATE
from realtime_widgets.client.auth import Endpoint
from realtime_widgets.client.core import MAX_FRAME_BYTES, ClientCore
from realtime_widgets.client.facade import SessionFacade
from realtime_widgets.client.history import ENTRY_OVERHEAD, HistoryEntry
from realtime_widgets.client.live_metrics import InputClock
from realtime_widgets.client.loop import blocking, on_loop
from realtime_widgets.client.session import default_endpoint
from realtime_widgets.errors import ConfigError, ServerError
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol import translation_events as te
from realtime_widgets.protocol.events import ServerEvent
from realtime_widgets.protocol.state import base64_decoded_size
from realtime_widgets.protocol.translation_config import AUDIO_FORMAT, TranslationConfig

__all__ = [
    "OUTPUT_STREAM",
    "TranslationCore",
    "TranslationMetrics",
    "TranslationRow",
    "TranslationSession",
    "TranslationState",
    "TranslationTiming",
    "translation_endpoint",
]

# The stream id the translated audio is delivered under (output audio taps take an item id; a
# translation session's output is one continuous stream).
OUTPUT_STREAM = "translation"
_KEPT_ERRORS = 100


def translation_endpoint(endpoint: Endpoint, model: str) -> Endpoint:
    """The same server and credentials, for a translation session:
    ``.../v1/realtime/translations?model=...`` (as ``client.realtime.translations.connect``
    builds it), whatever path and query ``endpoint`` had."""
    base = endpoint.url.partition("?")[0].rstrip("/")
    if not base.endswith("/translations"):
        base += "/translations"
    return Endpoint(
        f"{base}?{urlencode({'model': model})}",
        endpoint.secret,
        header=endpoint.header,
        beta=False,
        kind=endpoint.kind,
    )


# ---- state ------------------------------------------------------------------------------------


@dataclass
class TranslationRow:
    """What was said and its translation at one position of the stream (``elapsed_ms``: the
    server's alignment metadata; None for deltas that carried none)."""

    elapsed_ms: int | None
    source: str = ""
    translation: str = ""
    audio_ms: float = 0.0


@dataclass
class TranslationState:
    """A translation session's server events as state (fed by :class:`TranslationCore`).

    ``input_text`` / ``output_text``: the transcripts, deltas joined as they came (append-only:
    no space is inserted); :meth:`rows`: both side by side, by position (each delta goes to the
    row of its ``elapsed_ms``; one without goes to the latest row). ``audio_ms``: translated
    audio received. ``errors``: the last error details; ``session``: the last reported
    session; ``closed``: ``session.closed`` arrived."""

    session: dict[str, Any] = field(default_factory=dict)
    input_deltas: list[str] = field(default_factory=list)
    output_deltas: list[str] = field(default_factory=list)
    audio_ms: float = 0.0
    audio_deltas: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    closed: bool = False
    _rows: dict[int | None, TranslationRow] = field(default_factory=dict, repr=False)
    _latest: int | None = field(default=None, repr=False)

    @property
    def input_text(self) -> str:
        return "".join(self.input_deltas)

    @property
    def output_text(self) -> str:
        return "".join(self.output_deltas)

    def rows(self) -> list[TranslationRow]:
        """The stream by position (rows without a position last)."""
        return sorted(
            self._rows.values(),
            key=lambda r: (r.elapsed_ms is None, r.elapsed_ms or 0),
        )

    def _row(self, elapsed_ms: int | None) -> TranslationRow:
        key = elapsed_ms if elapsed_ms is not None else self._latest
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = TranslationRow(key)
        if key is not None:
            self._latest = key if self._latest is None else max(self._latest, key)
        return row

    def apply(self, event: ServerEvent) -> None:
        """One server event."""
        if isinstance(
            event,
            te.RealtimeTranslationSessionCreatedEvent | te.RealtimeTranslationSessionUpdatedEvent,
        ):
            self.session = dict(event.session)
        elif isinstance(event, te.RealtimeTranslationInputTranscriptDeltaEvent):
            self.input_deltas.append(event.delta)
            self._row(event.elapsed_ms).source += event.delta
        elif isinstance(event, te.RealtimeTranslationOutputTranscriptDeltaEvent):
            self.output_deltas.append(event.delta)
            self._row(event.elapsed_ms).translation += event.delta
        elif isinstance(event, te.RealtimeTranslationOutputAudioDeltaEvent):
            rate = event.sample_rate or MODEL_RATE
            ms = base64_decoded_size(event.delta) / 2 / (event.channels or 1) / rate * 1000
            self.audio_ms += ms
            self.audio_deltas += 1
            self._row(event.elapsed_ms).audio_ms += ms
        elif isinstance(event, ev.ErrorEvent):
            self.errors.append(event.error.model_dump())
            del self.errors[:-_KEPT_ERRORS]
        elif isinstance(event, te.RealtimeTranslationSessionClosedEvent):
            self.closed = True


# ---- metrics ----------------------------------------------------------------------------------


@dataclass
class TranslationTiming:
    """One end of speech and when the translation of what came before it arrived (session
    seconds, the core's clock): ``speech_end`` (the last voiced input frame, as it was sent),
    ``first_text`` / ``first_audio`` (the first translated transcript delta / audio delta
    received after it; None until then)."""

    speech_end: float
    input_ms: float  # where the speech ended on the input timeline (audio sent so far)
    first_text: float | None = None
    first_audio: float | None = None

    @property
    def latency_ms(self) -> float | None:
        """End of speech to the first translated audio, in ms."""
        if self.first_audio is None:
            return None
        return round((self.first_audio - self.speech_end) * 1000, 1)

    @property
    def text_latency_ms(self) -> float | None:
        """End of speech to the first translated text, in ms."""
        if self.first_text is None:
            return None
        return round((self.first_text - self.speech_end) * 1000, 1)


@dataclass
class TranslationMetrics:
    """Time from the end of speech to the first translated audio, measured by the client.

    A translation session reports no turns (no ``speech_stopped``), so the end of speech is
    found in the audio the client sends: 20 ms frames at or above ``threshold_dbfs`` are
    speech, and speech ends at the last such frame once ``pause_ms`` of quieter audio follows
    it. Its time is when that frame was sent: the chunk's send time less the audio after the
    frame (exact for audio streamed in real time, as a microphone does), but never before the
    chunk before it was sent (the first chunk: its own send time), as the GPT-Live metrics'
    :class:`~realtime_widgets.client.live_metrics.InputClock` places it. Audio sent faster than real
    time (a file in one append) thus ends no earlier than it left the client, and its latency
    is at most the time from that send to the first translated audio. Each end of speech is a
    :class:`TranslationTiming`, completed by the first translated text and audio that arrive
    after it (several ends before one translation all count to it)."""

    threshold_dbfs: float = -45.0
    pause_ms: float = 500.0
    timings: list[TranslationTiming] = field(default_factory=list)
    # when each input position was sent, floored as above (the GPT-Live metrics' clock)
    _clock: InputClock = field(default_factory=InputClock, repr=False)
    _voiced_ms: float | None = field(default=None, repr=False)  # the last voiced frame's end

    @property
    def input_ms(self) -> float:
        """Audio sent so far (ms)."""
        return self._clock.sent_ms

    def sent(self, samples: npt.NDArray[np.int16], rate: int, now: float) -> None:
        """Audio that was just sent (int16 at ``rate``, ``now``: when)."""
        start_ms = self.input_ms
        self._clock.sent(len(samples) * 1000 / rate, now)
        if not len(samples):
            return
        # Every 20 ms frame's level at once (this runs for each append).
        frame = max(1, rate // 50)
        x = samples.astype(np.float64)
        starts = np.arange(0, len(x), frame)
        lengths = np.minimum(frame, len(x) - starts)
        power = np.add.reduceat(x * x, starts) / lengths  # mean square, full scale 32768**2
        voiced = (power > 0) & (power >= (32768 * 10 ** (self.threshold_dbfs / 20)) ** 2)
        ends = start_ms + (starts + lengths) * 1000 / rate
        for end_ms, loud in zip(ends.tolist(), voiced.tolist(), strict=True):
            if loud:
                self._voiced_ms = end_ms
            elif self._voiced_ms is not None and end_ms - self._voiced_ms >= self.pause_ms:
                at = self._clock.when(self._voiced_ms)
                assert at is not None  # (never: this append is on the clock already)
                self.timings.append(TranslationTiming(at, self._voiced_ms))
                self._voiced_ms = None

    def observe(self, event: ServerEvent, now: float) -> None:
        """A server event: the first translated text / audio after each end of speech."""
        if isinstance(event, te.RealtimeTranslationOutputAudioDeltaEvent):
            for timing in reversed(self.timings):
                if timing.first_audio is not None:
                    break
                if timing.speech_end <= now:
                    timing.first_audio = now
        elif isinstance(event, te.RealtimeTranslationOutputTranscriptDeltaEvent):
            for timing in reversed(self.timings):
                if timing.first_text is not None:
                    break
                if timing.speech_end <= now:
                    timing.first_text = now

    def latencies_ms(self) -> list[float]:
        """End of speech to first translated audio, for each end that has had its audio."""
        return [t.latency_ms for t in self.timings if t.latency_ms is not None]


# ---- the core ---------------------------------------------------------------------------------


class TranslationCore(ClientCore):
    """The client side of a translation session, with no I/O (see the module docstring).

    ``requested``-like state is :attr:`translation_requested` (what we asked for) and
    :attr:`translation_effective` (what the server reported); :attr:`translation` is the
    :class:`TranslationState`, :attr:`latency` the :class:`TranslationMetrics`."""

    APPEND_TYPE = "session.input_audio_buffer.append"
    CONFIG_CLASS = TranslationConfig

    def __init__(
        self,
        config: TranslationConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_frame_bytes: int = MAX_FRAME_BYTES,
    ) -> None:
        super().__init__(None, clock=clock, max_frame_bytes=max_frame_bytes)
        self.translation_requested = config or TranslationConfig()
        self.translation_effective: TranslationConfig | None = None
        self.translation = TranslationState()
        self.latency = TranslationMetrics()

    # -- the protocol's own parts (ClientCore's hooks)

    @property
    def input_format(self) -> str:
        return AUDIO_FORMAT.type  # fixed: 24 kHz PCM16

    def _parse(self, text: str) -> ServerEvent:
        return te.parse_translation_server_event(text)

    def _encode(self, event: dict[str, Any]) -> str:
        return te.encode(event)

    def handle(self, event: ServerEvent, raw: str | None = None) -> None:
        """Apply one parsed server event: state, metrics, history, the session's config and
        errors, the translated audio for the output taps; what the listeners get is queued."""
        now = self.clock()
        if not isinstance(event, ev.UnknownServerEvent):
            self.translation.apply(event)
        if isinstance(event, te.RealtimeTranslationOutputAudioDeltaEvent):
            # The history keeps the event without its audio (as the Realtime audio deltas).
            light = {
                "type": event.type,
                "event_id": event.event_id,
                "elapsed_ms": event.elapsed_ms,
                "delta": f"<{base64_decoded_size(event.delta)} bytes>",
            }
            size = ENTRY_OVERHEAD + (len(raw) if raw is not None else len(event.delta))
            entry = HistoryEntry(now - self._t0, "in", event.type, light, size=size)
            if self.listeners.output_taps:
                self._tap_delta(OUTPUT_STREAM, event, AUDIO_FORMAT.type, raw)
        else:
            if raw is None:
                raw = event.model_dump_json()
            entry = HistoryEntry(now - self._t0, "in", event.type, None, raw)
        self._record(entry)
        self.latency.observe(event, now - self._t0)
        if isinstance(
            event,
            te.RealtimeTranslationSessionCreatedEvent | te.RealtimeTranslationSessionUpdatedEvent,
        ):
            self._session_reported(event)
        elif isinstance(event, ev.ErrorEvent):
            self.last_error = self.server_error(event)
        self._deliver_event(event, entry.size)

    def _session_reported(self, event: ServerEvent) -> None:
        session = getattr(event, "session", {})
        try:
            self.translation_effective = TranslationConfig.from_session(session)
        except ConfigError:
            return
        if isinstance(event, te.RealtimeTranslationSessionCreatedEvent):
            # The URL decides the model; it cannot change later, so adopt it.
            if self.translation_effective.model != self.translation_requested.model:
                self.translation_requested = self.translation_requested.with_changes(
                    model=self.translation_effective.model
                )
            sid = session.get("id")
            self.session_id = sid if isinstance(sid, str) else None
            expires = session.get("expires_at")
            if isinstance(expires, int | float) and not isinstance(expires, bool):
                self.expires_at = float(expires)

    # -- audio out: the core's framing, measured for the latency

    def append_audio(
        self, samples: npt.ArrayLike | bytes, rate: int
    ) -> tuple[list[str], list[int]]:
        x = (
            bytes_to_int16(samples)
            if isinstance(samples, bytes | bytearray | memoryview)
            else as_int16(samples)
        )
        frames, sizes = super().append_audio(x, rate)
        self.latency.sent(x, rate, self.elapsed)
        return frames, sizes

    # -- the connection's life

    def resent_settings(self) -> list[str]:
        """Every setting an update carries that was set (the model is in the URL): what
        ``session.update`` sends again on a new connection, and what a reconnect's log line
        names."""
        wanted = self.translation_requested
        return sorted(set(wanted.update_fields()) & wanted.model_fields_set)


# ---- the session ------------------------------------------------------------------------------


class TranslationSession(SessionFacade[TranslationConfig]):
    """A translation session over WebSocket (see the module docstring).

    ``endpoint``: where to connect, made a translation endpoint with
    :func:`translation_endpoint` (None: OpenAI with ``api_key`` or ``OPENAI_API_KEY``, else
    the process's embedded local server). The local server translates only when it has a
    translator (``LocalServer(responder=ChatResponder(...))`` or ``translator=``); without one
    its ``error`` event says so and the input transcript still comes."""

    def __init__(
        self,
        config: TranslationConfig | None = None,
        *,
        endpoint: Endpoint | None = None,
        api_key: str | None = None,
        reconnect: bool = True,
        max_reconnects: int = 10,
        timeout: float = 20.0,
        max_frame_bytes: int = MAX_FRAME_BYTES,
    ) -> None:
        core = TranslationCore(config, max_frame_bytes=max_frame_bytes)
        model = core.translation_requested.model
        super().__init__(
            core,
            translation_endpoint(default_endpoint(endpoint, api_key, model), model),
            reconnect=reconnect,
            max_reconnects=max_reconnects,
            timeout=timeout,
        )
        self.core: TranslationCore = core

    _REPR_NAME = "TranslationSession"

    # ---- what the core knows ------------------------------------------------------------------

    @property
    def requested(self) -> TranslationConfig:
        """The configuration we asked for (what the next update diffs against)."""
        return self.core.translation_requested

    @property
    def effective(self) -> TranslationConfig | None:
        """The configuration the server last reported (session.created/updated)."""
        return self.core.translation_effective

    @property
    def state(self) -> TranslationState:
        """The transcripts by position, the audio received, the errors."""
        return self.core.translation

    @property
    def metrics(self) -> TranslationMetrics:
        """End of speech to first translated audio (client-measured)."""
        return self.core.latency

    # ---- session.update -------------------------------------------------------------------------

    async def aupdate(
        self, changes: dict[str, Any] | None = None, /, **kw: Any
    ) -> TranslationConfig:
        """Change settings (dotted paths allowed: ``{"noise_reduction.strength": 0.5}``);
        returns the effective config. Invalid values raise ConfigError before anything is
        sent; a server's refusal raises ServerError naming our field (``config_field``)."""
        return await self.aapply(self.requested.with_changes({**(changes or {}), **kw}))

    def update(self, changes: dict[str, Any] | None = None, /, **kw: Any) -> TranslationConfig:
        """Change settings and wait for the effective config (see :meth:`aupdate`)."""
        return self.apply(self.requested.with_changes({**(changes or {}), **kw}))

    @on_loop
    async def aapply(self, config: TranslationConfig) -> TranslationConfig:
        """Make ``config`` the session's configuration (sends the minimal diff). Not
        connected: it is what the next connect sends."""
        if not isinstance(config, TranslationConfig):
            raise ConfigError.single(
                "config", f"a TranslationConfig is needed, got {type(config).__name__}"
            )
        if not self.connected:
            self.core.translation_requested = config
            return config
        return await self._send_translation_update(config, self.requested)

    apply = blocking(aapply)

    async def _configure(self) -> None:
        """What a new connection sends: the core's :meth:`~TranslationCore.resent_settings`
        (every setting an update carries that was set), in one ``session.update``."""
        if self.core.resent_settings():
            await self._send_translation_update(self.requested, None)

    async def _send_translation_update(
        self, new: TranslationConfig, previous: TranslationConfig | None
    ) -> TranslationConfig:
        """Send the diff and wait for ``session.updated`` (the effective config) or the error
        that names our event (raised)."""
        assert self._update_lock is not None
        async with self._update_lock:
            event_id = self.core.event_id()
            event = new.to_session_update(previous, event_id=event_id)
            if previous is not None and not event["session"]:
                self.core.translation_requested = new
                return self.effective or new
            mark = self.mark()
            await self._send(event)
            reply = await self.await_event(
                "*", self.timeout, predicate=_answers(event_id), since=mark
            )
            if isinstance(reply, ev.ErrorEvent):
                raise self.core.last_error or ServerError(reply.error.message)
            self.core.translation_requested = new
            return self.effective or new

    # (session.input_audio_buffer.append: ``append_audio`` and ``stream_audio`` are
    # SessionFacade's, as 24 kHz PCM16 appends)

    # ---- session.close ------------------------------------------------------------------------

    @on_loop
    async def aclose_session(self, timeout: float | None = None) -> TranslationState:
        """Send ``session.close``: the server translates what it has heard and answers
        ``session.closed`` (waited for, up to ``timeout`` s: the session's timeout by
        default), then closes the connection (not reported as lost). Streamed audio goes
        first. Returns the final state; :meth:`close` releases the session."""
        # the server closes after session.closed: no reconnect
        _, mark = await self._send_after_audio({"type": "session.close"}, closing=True)
        wait = self.timeout if timeout is None else timeout
        await self.await_event("session.closed", wait, since=mark)
        return self.state

    close_session = blocking(aclose_session)


def _answers(event_id: str) -> Callable[[ServerEvent], bool]:
    """Whether an event answers our update ``event_id``: session.updated, or its error."""

    def answers(event: ServerEvent) -> bool:
        if isinstance(event, ev.ErrorEvent):
            return event.error.event_id == event_id
        return event.type == "session.updated"

    return answers
