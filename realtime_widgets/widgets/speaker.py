"""Speaker: plays the assistant's audio in the browser, gaplessly, and knows what was heard.

Output audio deltas go to the browser as binary PCM16 (24 kHz) buffers with a small header.
An AudioWorklet ring buffer plays them (silence on underrun, never a stop) and reports how many
samples of each item were played. It holds a jitter prebuffer sized from the measured arrival
of the chunks (how late each came against real time; ``prebuffer_ms``, ``jitter_ms``), and the
kernel marks each item's end, so a reply that is complete plays out and is not an underrun.
On barge-in (``speech_started``, or ``client.barge_in`` when push-to-talk is pressed) the
kernel asks the browser to flush; the browser fades out and answers with the played offset,
and the kernel truncates the item at ``min(played, received)`` — no truncate when nothing was
played yet. However many times the widget is displayed, one player per widget plays and
answers a flush (so it truncates once).

A translation session's audio is one stream that pauses between what is said, with no end
event, and so is a GPT-Live session's: with ``continuous`` (set for both) the player reads
running dry as a pause, not an underrun (it still holds the jitter prebuffer when audio comes
again).

Its state (what was received and played per item) lives on the session loop, where the output
tap and the session's events arrive; the browser's reports hop there
(:mod:`~realtime_widgets.widgets.browser_messages`).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import numpy.typing as npt
import traitlets as t

from realtime_widgets.audio.pcm import Int16Array, as_int16
from realtime_widgets.audio.rate import SAMPLES_PER_MS
from realtime_widgets.client.live import LiveSession
from realtime_widgets.client.session import RealtimeSession
from realtime_widgets.client.translation import TranslationSession
from realtime_widgets.protocol.events import ServerEvent
from realtime_widgets.widgets.browser_messages import AnySession, BrowserMessages, on_session_loop
from realtime_widgets.widgets.listening import Listening

__all__ = ["Speaker"]


class Speaker(BrowserMessages, Listening, anywidget.AnyWidget):
    """Plays a session's output audio (or audio given to :meth:`play`)."""

    _esm = Path(__file__).with_name("speaker.js")
    volume = t.Float(1.0).tag(sync=True)
    underruns = t.Int(0).tag(sync=True)  # reported by the browser: mid-item starvations
    queued_ms = t.Float(0.0).tag(sync=True)  # reported by the browser
    prebuffer_ms = t.Float(0.0).tag(sync=True)  # reported by the browser: the jitter prebuffer
    jitter_ms = t.Float(0.0).tag(sync=True)  # reported: peak chunk lateness, audio clock
    # Reported (at most once a second), to tell where lateness comes from: by the page's wall
    # clock (network, kernel, page), and the most the audio clock ran ahead of the wall clock
    # in one report interval (a stalled clock catching up).
    arrival_jitter_ms = t.Float(0.0).tag(sync=True)
    clock_burst_ms = t.Float(0.0).tag(sync=True)
    # Names this widget's one player in the page (all its views share it).
    player_key = t.Unicode().tag(sync=True)
    # A stream that pauses with no end event (a translation session): running dry is a pause.
    continuous = t.Bool(False).tag(sync=True)

    @t.default("player_key")
    def _player_key(self) -> str:
        return uuid.uuid4().hex

    def __init__(
        self,
        session: AnySession | None = None,
        *,
        truncate_on_barge_in: bool = True,
        **kwargs: Any,
    ) -> None:
        if isinstance(session, TranslationSession | LiveSession):
            kwargs.setdefault("continuous", True)
        super().__init__(**kwargs)
        self.session = session
        self.truncate_on_barge_in = truncate_on_barge_in
        self.received: dict[str, int] = {}  # samples at 24 kHz sent to the browser, per item
        self.played: dict[str, int] = {}  # samples at 24 kHz the browser reported played
        self.truncations: list[tuple[str, int]] = []  # (item_id, audio_end_ms) requested
        self.bytes_sent = 0
        self._current: str | None = None
        self._receive_browser_messages()
        if session is not None:
            self._listen(
                # The tap runs on the session loop and gets int16 already: straight in.
                session.add_output_audio_tap(
                    lambda item_id, samples: self._play(_wire_pcm(samples), item_id)
                ),
                session.on("input_audio_buffer.speech_started", self._on_barge_in),
                # push-to-talk pressed (no server VAD to say speech started): stop as well
                session.on("client.barge_in", self._on_barge_in),
                session.on("response.output_audio.done", self._on_audio_done),
                session.on("response.done", self._on_response_done),
            )

    # ---- kernel -> browser ----------------------------------------------------------------------

    def play(self, samples: npt.ArrayLike, item_id: str = "local") -> None:
        """Queue 24 kHz samples for playback under ``item_id`` (from any thread)."""
        on_session_loop(self.session, self._play, _wire_pcm(samples), item_id)

    def _play(self, pcm: Int16Array, item_id: str) -> None:
        self.received[item_id] = self.received.get(item_id, 0) + len(pcm)
        self._current = item_id
        self.bytes_sent += pcm.nbytes
        self.send({"type": "audio", "item_id": item_id}, [pcm.tobytes()])

    def end(self, item_id: str) -> None:
        """The item's audio is complete: the browser plays what it has without waiting."""
        self.send({"type": "end", "item_id": item_id})

    def _on_audio_done(self, event: ServerEvent) -> None:
        item_id = getattr(event, "item_id", None)
        if isinstance(item_id, str):
            self.end(item_id)

    def _on_response_done(self, event: ServerEvent) -> None:
        # A cancelled or cut reply has no output_audio.done: its audio is complete all the same.
        response = getattr(event, "response", None)
        for item in getattr(response, "output", None) or ():
            item_id = getattr(item, "id", None)
            if isinstance(item_id, str) and item_id in self.received:
                self.end(item_id)

    def flush(self) -> None:
        """Stop playback now (short fade); the browser answers with what was played."""
        self.send({"type": "flush"})

    def _on_barge_in(self, event: ServerEvent) -> None:
        item = self._current
        playing = item is not None and self.played.get(item, 0) < self.received.get(item, 0)
        if playing:
            self.flush()

    # ---- browser -> kernel ----------------------------------------------------------------------

    def handle_browser(
        self, content: dict[str, Any], buffers: list[bytes], received: float
    ) -> None:
        """The page's reports (on the session loop): samples played, and a flush's answer."""
        kind = content.get("type")
        if kind == "played":
            for item_id, samples in (content.get("items") or {}).items():
                self.played[item_id] = max(self.played.get(item_id, 0), int(samples))
        elif kind == "flushed":
            item_id = content.get("item_id")
            samples = int(content.get("samples", 0))
            if not isinstance(item_id, str):
                return
            self.played[item_id] = max(self.played.get(item_id, 0), samples)
            heard = min(self.played[item_id], self.received.get(item_id, 0))
            self._truncate(item_id, heard)

    def _truncate(self, item_id: str, heard_samples: int) -> None:
        session = self.session
        if heard_samples <= 0 or not self.truncate_on_barge_in:
            return  # nothing was heard: nothing to cut
        if not isinstance(session, RealtimeSession):  # (translation and Live: no items to cut)
            return
        if item_id == "local" or not session.connected:
            return
        audio_end_ms = heard_samples // SAMPLES_PER_MS
        self.truncations.append((item_id, audio_end_ms))
        session.submit(session.atruncate(item_id, audio_end_ms))


def _wire_pcm(samples: npt.ArrayLike) -> Int16Array:
    """Samples as little-endian int16 in one buffer, as the page's worklet takes them."""
    return np.ascontiguousarray(as_int16(samples), dtype="<i2")
