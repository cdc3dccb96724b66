"""SessionFacade: what the three session kinds share, written once.

:class:`~realtime_widgets.client.session.RealtimeSession`,
:class:`~realtime_widgets.client.live.LiveSession` and
:class:`~realtime_widgets.client.translation.TranslationSession` are each a
:class:`~realtime_widgets.client.transport.SessionTransport` around their own core, with their
own configuration type ``C`` (``requested``), state and metrics. Around that they are alike,
and this base holds what is alike:

- the properties that read what every :class:`~realtime_widgets.client.core.ClientCore` knows
  (``last_error``, ``session_id``, ``expires_at``, ``history``, ``elapsed``);
- the repr (the endpoint, the requested model, and whether connected, closed or a replay);
- streamed and appended audio: the :class:`~realtime_widgets.client.audio_stream.AudioStream`
  (``audio_stream``), ``append_audio`` / ``aappend_audio`` and ``stream_audio``, the core's
  appends in the session's input format, a failure reported as ``client.stream_error``, the
  stream reset when the session closes, and an event sent after the audio that belongs before
  it (a commit, a ``session.close``);
- the conversation's timeline (:meth:`_start_timeline`), for the kinds that keep one.

The session kinds add their own events (``update``, ``close_session``, ...), typed as theirs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import numpy.typing as npt

from realtime_widgets.audio.conversation import ConversationTimeline
from realtime_widgets.audio.rate import MODEL_RATE
from realtime_widgets.audio.resample import to_model_rate
from realtime_widgets.client.audio_stream import AudioStream
from realtime_widgets.client.auth import Endpoint
from realtime_widgets.client.core import ClientCore
from realtime_widgets.client.history import EventHistory
from realtime_widgets.client.loop import blocking, on_loop
from realtime_widgets.client.transport import SessionTransport
from realtime_widgets.errors import ServerError

__all__ = ["SessionFacade"]


class _Config(Protocol):
    """What the facade reads of a session's configuration."""

    @property
    def model(self) -> str: ...


C = TypeVar("C", bound=_Config)


class SessionFacade(SessionTransport, Generic[C]):
    """The part of a session its kinds share (see the module docstring); ``C``: the kind's
    configuration type. A kind gives its :attr:`requested` configuration and its repr name."""

    _REPR_NAME: ClassVar[str]  # the session kind's name in the repr (a subclass keeps it)

    def __init__(
        self,
        core: ClientCore,
        endpoint: Endpoint,
        *,
        reconnect: bool,
        max_reconnects: int,
        record: str | Path | None = None,
        timeout: float,
    ) -> None:
        super().__init__(
            core,
            endpoint,
            reconnect=reconnect,
            max_reconnects=max_reconnects,
            record=record,
            timeout=timeout,
        )
        self.audio_stream = AudioStream(
            send=self._send_chunk,
            failed=self._stream_failed,
            call_soon=self.call_soon,
            spawn=self._spawn,
        )

    def __repr__(self) -> str:
        status = "replay" if self.replaying else ("connected" if self.connected else "closed")
        return (
            f"{self._REPR_NAME}({self.endpoint.display!r}, model={self.requested.model!r}, "
            f"{status})"
        )

    # ---- what the core knows (``session.core`` holds it; these read it) ----------------------

    @property
    def requested(self) -> C:
        """The configuration we asked for (each kind reads it from its core)."""
        raise NotImplementedError

    @property
    def last_error(self) -> ServerError | None:
        return self.core.last_error

    @property
    def session_id(self) -> str | None:
        return self.core.session_id

    @property
    def expires_at(self) -> float | None:
        return self.core.expires_at

    @property
    def expires_in(self) -> float | None:
        """Seconds until the server ends the session (from the expires_at of its
        session.created, or GPT-Live's session.started)."""
        return None if self.expires_at is None else self.expires_at - time.time()

    @property
    def events(self) -> EventHistory:
        """The server's events as they came (bounded; ``e.t`` on the :attr:`elapsed` clock)."""
        return self.core.events

    @property
    def reconnects(self) -> int:
        return self.core.reconnects

    @property
    def history(self) -> Any:
        """The recent events both ways (a deque of HistoryEntry, bounded in entries and
        bytes: see :mod:`~realtime_widgets.client.history`)."""
        return self.core.history

    @property
    def elapsed(self) -> float:
        """Seconds since this session object was made (a replay's: its recording's clock, at
        any speed): the clock of the history (``events``' ``e.t``), of the metrics and of the
        timeline, where the session keeps one."""
        return self.core.elapsed

    # ---- audio --------------------------------------------------------------------------------

    @on_loop
    async def aappend_audio(self, samples: npt.ArrayLike | bytes, rate: int = MODEL_RATE) -> int:
        """Send audio (int16 or float samples, or PCM16 bytes, at ``rate``), converted to the
        session's input format: a Realtime session's configured one; a GPT-Live session's
        ``audio_format`` (PCM16 at 16 or 24 kHz, or G.711 at 8 kHz); a translation session's
        24 kHz PCM16. Returns the bytes sent. GPT-Live and translation hear a continuous
        stream: keep appending, silence too."""
        await self._socket()
        frames, sizes = self.core.append_audio(samples, rate)
        await self._send_frames(frames)
        return sum(sizes)

    append_audio = blocking(aappend_audio)

    def stream_audio(self, samples: npt.ArrayLike | bytes, rate: int = MODEL_RATE) -> None:
        """Queue audio for sending without waiting (for a live microphone or file stream).

        Chunks go, in order, through one sender task on the I/O thread
        (:class:`~realtime_widgets.client.audio_stream.AudioStream`): no round trip per chunk.
        A failure is reported as a ``client.stream_error`` event."""
        self.audio_stream.put(samples, rate)

    async def _send_chunk(self, samples: npt.ArrayLike | bytes, rate: int) -> None:
        await self._send_frames(self.core.append_frames(samples, rate))

    def _stream_failed(self, exc: Exception) -> None:
        self.core.queue_local({"type": "client.stream_error", "message": str(exc)})
        self.dispatch()

    async def _close(self) -> None:
        self.audio_stream.reset()
        await super()._close()

    async def _send_after_audio(
        self, event: dict[str, Any], *, closing: bool = False
    ) -> tuple[str, int]:
        """Send ``event`` with a fresh ``event_id`` after the audio that belongs before it:
        what is streamed (drained first) and what the resamplers hold (flushed into the same
        send). ``closing``: the server ends the connection after its answer, so a drop is not
        reconnected. Returns the event's id and the mark taken before it was sent."""
        async with self.audio_stream.drained(self.timeout):
            await self._socket()
            if closing:
                self._closing = True
            event_id = self.core.event_id()
            frames = self.core.flush_frames()
            frames.append(self.core.encode({**event, "event_id": event_id}))
            mark = self.mark()
            await self._send_frames(frames)
        return event_id, mark

    # ---- the timeline, fed on the I/O loop ----------------------------------------------------

    def _start_timeline(self) -> ConversationTimeline:
        """A :class:`~realtime_widgets.audio.conversation.ConversationTimeline` fed with both
        sides on the session clock by audio taps registered now, on the I/O loop: called
        first, every later listener (a Waveform) finds it up to date."""
        timeline = ConversationTimeline()

        def heard(samples: Any, rate: int) -> None:
            timeline.add_input(to_model_rate(samples, rate), self.elapsed * 1000)

        def said(stream: str, samples: Any) -> None:
            timeline.add_output(stream, samples, self.elapsed * 1000)

        self.core.add_audio_tap(heard)
        self.core.add_output_audio_tap(said)
        return timeline
