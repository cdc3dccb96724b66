"""Waveform: input and output audio on one timeline, with the turn-detection markers.

The kernel computes 10 ms min/max envelopes of all audio sent (every append: microphone, file,
``append_audio``) and received, and sends them as binary batches about 20 times a second. VAD
markers (speech started/stopped, committed, idle timeout), response spans and truncation points
come from the session's events, on the input-audio timeline. The browser draws with canvas and
requestAnimationFrame; it scrolls live, can be paused and zoomed, and a replayed recording
renders whole.

Output audio is placed where it would be heard: from the later of where the previous reply
ended and the input position when its first delta arrived.

A view shown late (a second display, a reopened notebook, a page reload) draws the live
batches at once and asks for the history (``hello``); it gets one ``snapshot`` addressed to its
token: each track's bins so far as contiguous runs (``HISTORY_BYTES`` of bins at most, the
oldest dropped past it) and the last ``MAX_MARKERS`` markers. Bins sit at absolute positions and
never change, and each marker has an id, so a snapshot that overlaps live batches draws nothing
twice, whatever order they arrive in.

Its state (the envelopes, positions, pending batch and history) lives on the session loop,
where the taps and events arrive; a view's ``hello`` hops there
(:mod:`~realtime_widgets.widgets.browser_messages`).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets as t

from realtime_widgets.audio.envelope import EnvelopeBuilder
from realtime_widgets.audio.pcm import Int16Array
from realtime_widgets.audio.rate import MODEL_RATE
from realtime_widgets.audio.resample import to_model_rate
from realtime_widgets.client.session import RealtimeSession
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.events import ServerEvent
from realtime_widgets.widgets.browser_messages import (
    BrowserMessages,
    on_session_loop,
    read_on_session_loop,
)
from realtime_widgets.widgets.listening import Listening

__all__ = ["Waveform"]

BIN_MS = 10
FLUSH_S = 0.05
# History kept for views shown late. A 10 ms bin is 4 bytes ([min, max] int16), 400 B per second
# of audio per track, kept in one bytearray per contiguous run: 8 MiB of bins hold ~2.9 hours
# of both tracks; past it the oldest tenth goes at once (amortised: no copy per batch).
HISTORY_BYTES = 8 * 2**20
MAX_MARKERS = 20_000  # ~200 bytes each in memory


class _History:
    """Each track's bins as contiguous runs ``[start, bytearray]``, and the markers."""

    def __init__(self) -> None:
        self.runs: dict[str, list[tuple[int, bytearray]]] = {"in": [], "out": []}
        self.markers: deque[dict[str, Any]] = deque(maxlen=MAX_MARKERS)
        self.bytes = 0

    def add(self, header: dict[str, Any], data: bytes | None) -> None:
        if header["type"] != "env" or data is None:
            self.markers.append(header)
            return
        runs, start = self.runs[header["track"]], int(header["start"])
        if runs and runs[-1][0] + len(runs[-1][1]) // 4 == start:
            runs[-1][1].extend(data)
        else:
            runs.append((start, bytearray(data)))
        self.bytes += len(data)
        if self.bytes > HISTORY_BYTES:
            self._trim(self.bytes - HISTORY_BYTES + HISTORY_BYTES // 10)

    def _trim(self, excess: int) -> None:
        """Drop ``excess`` bytes of the oldest bins (by position, across both tracks)."""
        excess = -(-excess // 4) * 4  # whole bins
        while excess > 0 and any(self.runs.values()):
            name = min((n for n in self.runs if self.runs[n]), key=lambda n: self.runs[n][0][0])
            start, data = self.runs[name][0]
            cut = min(len(data), excess)
            if cut >= len(data):
                self.runs[name].pop(0)
            else:
                self.runs[name][0] = (start + cut // 4, data[cut:])
            self.bytes -= cut
            excess -= cut

    def message(self) -> tuple[dict[str, Any], list[bytes]]:
        items: list[dict[str, Any]] = []
        buffers: list[bytes] = []
        for name, runs in self.runs.items():
            for start, data in runs:
                items.append({"type": "env", "track": name, "start": start})
                buffers.append(bytes(data))
        return {"type": "snapshot", "items": items + list(self.markers)}, buffers


class Waveform(BrowserMessages, Listening, anywidget.AnyWidget):
    """The session's audio and turn markers (see the module docstring)."""

    _esm = Path(__file__).with_name("waveform.js")
    bin_ms = t.Int(BIN_MS).tag(sync=True)
    height = t.Int(140).tag(sync=True)
    paused = t.Bool(False).tag(sync=True)
    show_output = t.Bool(True).tag(sync=True)  # the assistant lane (transcription: none)

    def __init__(self, session: RealtimeSession | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self._in = EnvelopeBuilder(BIN_MS, MODEL_RATE)
        self._out = EnvelopeBuilder(BIN_MS, MODEL_RATE)
        self.in_bins = 0
        self.out_bins = 0  # position (in bins) where the next output bins go
        self._out_item: str | None = None
        self._item_start: dict[str, int] = {}  # output item -> its first bin
        self._turn_end: dict[str, float] = {}  # input item -> speech_stopped's audio_end_ms
        self._pending: list[tuple[dict[str, Any], list[bytes]]] = []
        self._armed = False
        self.messages_sent = 0
        self._history = _History()  # what was sent, for views shown late
        self._marker_ids = itertools.count(1)
        self._receive_browser_messages()
        if session is not None:
            self._listen(
                # Taps run on the session loop already: straight in, no hop.
                session.add_audio_tap(self._add_input),
                session.add_output_audio_tap(
                    lambda item_id, samples: self._add_output(samples, item_id)
                ),
                session.on("*", self._on_event),
            )

    # ---- audio ----------------------------------------------------------------------------------

    def add_input(self, samples: Int16Array, rate: int = MODEL_RATE) -> None:
        """Input audio (int16 at ``rate``) onto the timeline (from any thread)."""
        on_session_loop(self.session, self._add_input, samples, rate)

    def _add_input(self, samples: Int16Array, rate: int) -> None:
        bins = self._in.add(to_model_rate(samples, rate))
        start = self.in_bins
        self.in_bins += len(bins)
        self._queue({"type": "env", "track": "in", "start": start}, bins)

    def add_output(self, samples: Int16Array, item_id: str) -> None:
        """An output item's audio (24 kHz int16) onto the timeline (from any thread)."""
        on_session_loop(self.session, self._add_output, samples, item_id)

    def _add_output(self, samples: Int16Array, item_id: str) -> None:
        if item_id != self._out_item:
            self._out_item = item_id
            self._out = EnvelopeBuilder(BIN_MS, MODEL_RATE)
            self.out_bins = max(self.out_bins, self.in_bins)
            self._item_start[item_id] = self.out_bins
        bins = self._out.add(samples)
        start = self.out_bins
        self.out_bins += len(bins)
        self._queue({"type": "env", "track": "out", "start": start}, bins)

    def _queue(self, header: dict[str, Any], bins: Int16Array) -> None:
        if len(bins):
            self._post(header, [np.ascontiguousarray(bins, dtype="<i2").tobytes()])

    def marker(self, kind: str, ms: float, label: str = "") -> None:
        """A marker at ``ms`` on the input timeline (from any thread)."""
        on_session_loop(self.session, self._marker, kind, ms, label)

    def _marker(self, kind: str, ms: float, label: str) -> None:
        marker = {"type": "marker", "id": next(self._marker_ids), "kind": kind, "ms": float(ms)}
        self._post({**marker, "label": label}, [])

    def _post(self, message: dict[str, Any], buffers: list[bytes]) -> None:
        self._pending.append((message, buffers))
        if self._armed:
            return
        self._armed = True
        try:
            asyncio.get_running_loop().call_later(FLUSH_S, self._flush)
        except RuntimeError:
            self._flush()

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        self._armed = False
        for header, data in batch:
            self._history.add(header, data[0] if data else None)
        if not batch:
            return
        headers = [m for m, _ in batch]
        buffers = [b for _, bs in batch for b in bs]
        self.messages_sent += 1
        self.send({"type": "batch", "items": headers}, buffers)

    # ---- views shown late -----------------------------------------------------------------------

    def history_message(self) -> tuple[dict[str, Any], list[bytes]]:
        """What a view shown late needs, as one ``snapshot`` message: each track's bins so far
        as contiguous runs (one buffer each), then the markers."""
        return read_on_session_loop(self.session, self._history.message)

    def handle_browser(
        self, content: dict[str, Any], buffers: list[bytes], received: float
    ) -> None:
        """A view shown late says ``hello`` (on the session loop): it gets the history."""
        if content.get("type") != "hello" or not isinstance(content.get("view"), str):
            return
        message, data = self._history.message()
        self.send({**message, "view": content["view"]}, data)

    # ---- events -> markers and output audio ---------------------------------------------------

    def _on_event(self, event: ServerEvent) -> None:
        now_ms = self.in_bins * BIN_MS
        if isinstance(event, ev.SpeechStarted):
            self._marker("speech_started", event.audio_start_ms, "speech")
        elif isinstance(event, ev.SpeechStopped):
            self._marker("speech_stopped", event.audio_end_ms, "end")
            self._turn_end[event.item_id] = event.audio_end_ms
        elif isinstance(event, ev.InputAudioBufferCommitted):  # at its turn's end, if VAD's
            self._marker("committed", self._turn_end.pop(event.item_id, now_ms), "commit")
        elif isinstance(event, ev.InputAudioBufferTimeoutTriggered):
            self._marker("timeout", event.audio_end_ms, "idle timeout")
        elif isinstance(event, ev.ResponseCreated):
            self._marker("response_start", now_ms, "reply")
        elif isinstance(event, ev.ResponseDone):
            self._marker(
                "response_done", max(now_ms, self.out_bins * BIN_MS), event.response.status
            )
        elif isinstance(event, ev.ConversationItemTruncated):
            start = self._item_start.get(event.item_id)
            if start is not None:
                self._marker(
                    "truncated",
                    start * BIN_MS + event.audio_end_ms,
                    f"cut at {event.audio_end_ms / 1000:.1f} s",
                )
