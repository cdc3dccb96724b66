"""Waveform: input and output audio on one timeline, with the turn-detection markers.

The kernel computes 10 ms min/max envelopes of all audio sent (every append: microphone, file,
``append_audio``) and received, and sends them as binary batches about 20 times a second. VAD
markers (speech started/stopped, committed, idle timeout), response spans and truncation points
come from the session's events, on the input-audio timeline. The browser draws with canvas and
requestAnimationFrame; it scrolls live, can be paused and zoomed, and a replayed recording
renders whole.

Output audio is placed where it would be heard: from the later of where the previous reply
ended and the input position when its first delta arrived.

A view shown late (a second display, a reopened notebook, a page reload) asks for the history
(``hello``) and gets it as one ``snapshot``: every batch sent so far, up to
``HISTORY_BYTES`` (the oldest are dropped past it), with the sequence number of the last one,
so the view applies only the batches after it. Each view is addressed by its own token.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets as t

from realtime_widgets.audio.envelope import EnvelopeBuilder
from realtime_widgets.audio.pcm import Int16Array, as_int16
from realtime_widgets.audio.resample import resample
from realtime_widgets.client.session import RealtimeSession
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.events import ServerEvent
from realtime_widgets.widgets.listening import Listening

__all__ = ["Waveform"]

BIN_MS = 10
FLUSH_S = 0.05
# Envelope history kept for views shown late: a 10 ms bin is 4 bytes, so 400 B per second of
# audio per track; 8 MiB hold ~2.9 hours of both tracks (older batches are dropped past it).
HISTORY_BYTES = 8 * 2**20


class Waveform(Listening, anywidget.AnyWidget):
    """The session's audio and turn markers (see the module docstring)."""

    _esm = Path(__file__).with_name("waveform.js")
    bin_ms = t.Int(BIN_MS).tag(sync=True)
    height = t.Int(140).tag(sync=True)
    paused = t.Bool(False).tag(sync=True)

    def __init__(self, session: RealtimeSession | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self._in = EnvelopeBuilder(BIN_MS, 24000)
        self._out = EnvelopeBuilder(BIN_MS, 24000)
        self.in_bins = 0
        self.out_bins = 0  # position (in bins) where the next output bins go
        self._out_item: str | None = None
        self._item_start: dict[str, int] = {}  # output item -> its first bin
        self._pending: list[tuple[dict[str, Any], list[bytes]]] = []
        self._lock = threading.Lock()
        self._armed = False
        self.messages_sent = 0
        # Batches sent so far (for late views), their size, and the last batch's number. The
        # send lock keeps numbering and sending in one order across the loop and main threads.
        self._history: deque[tuple[list[dict[str, Any]], list[bytes]]] = deque()
        self._history_bytes = 0
        self._seq = 0
        self._send_lock = threading.RLock()
        self.on_msg(self._on_browser)
        if session is not None:
            self._listen(
                session.add_audio_tap(self.add_input),
                session.add_output_audio_tap(
                    lambda item_id, samples: self.add_output(samples, item_id)
                ),
                session.on("*", self._on_event),
            )

    # ---- audio ----------------------------------------------------------------------------------

    def add_input(self, samples: Int16Array, rate: int = 24000) -> None:
        x = as_int16(samples) if rate == 24000 else as_int16(resample(samples, rate, 24000))
        bins = self._in.add(x)
        with self._lock:
            start = self.in_bins
            self.in_bins += len(bins)
        self._queue({"type": "env", "track": "in", "start": start}, bins)

    def add_output(self, samples: Int16Array, item_id: str) -> None:
        with self._lock:
            if item_id != self._out_item:
                self._out_item = item_id
                self._out = EnvelopeBuilder(BIN_MS, 24000)
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
        self._post({"type": "marker", "kind": kind, "ms": float(ms), "label": label}, [])

    def _post(self, message: dict[str, Any], buffers: list[bytes]) -> None:
        with self._lock:
            self._pending.append((message, buffers))
            if self._armed:
                return
            self._armed = True
        try:
            asyncio.get_running_loop().call_later(FLUSH_S, self._flush)
        except RuntimeError:
            self._flush()

    def _flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
            self._armed = False
        if not batch:
            return
        headers = [m for m, _ in batch]
        buffers = [b for _, bs in batch for b in bs]
        with self._send_lock:
            self._seq += 1
            self._history.append((headers, buffers))
            self._history_bytes += sum(len(b) for b in buffers) + 64 * len(headers)
            while self._history_bytes > HISTORY_BYTES and len(self._history) > 1:
                old_headers, old_buffers = self._history.popleft()
                self._history_bytes -= sum(len(b) for b in old_buffers) + 64 * len(old_headers)
            self.messages_sent += 1
            self.send({"type": "batch", "seq": self._seq, "items": headers}, buffers)

    # ---- views shown late -----------------------------------------------------------------------

    def snapshot(self) -> tuple[dict[str, Any], list[bytes]]:
        """Everything sent so far (within ``HISTORY_BYTES``) as one message: each track's
        contiguous bins merged into one buffer, then the markers; ``seq`` is the last batch's."""
        with self._send_lock:
            history, seq = list(self._history), self._seq
        runs: dict[str, list[tuple[int, list[bytes], int]]] = {"in": [], "out": []}
        markers: list[dict[str, Any]] = []
        for headers, buffers in history:
            b = 0
            for item in headers:
                if item["type"] != "env":
                    markers.append(item)
                    continue
                data, b = buffers[b], b + 1
                track, start, bins = runs[item["track"]], int(item["start"]), len(data) // 4
                if track and track[-1][0] + track[-1][2] == start:
                    first, parts, count = track[-1]
                    track[-1] = (first, [*parts, data], count + bins)
                else:
                    track.append((start, [data], bins))
        items: list[dict[str, Any]] = []
        out: list[bytes] = []
        for name, track in runs.items():
            for start, parts, _ in track:
                items.append({"type": "env", "track": name, "start": start})
                out.append(b"".join(parts))
        return {"type": "snapshot", "seq": seq, "items": items + markers}, out

    def _on_browser(self, widget: Any, content: dict[str, Any], buffers: list[bytes]) -> None:
        if content.get("type") != "hello" or not isinstance(content.get("view"), str):
            return
        with self._send_lock:  # no batch goes out between the snapshot and its sending
            message, data = self.snapshot()
            self.send({**message, "view": content["view"]}, data)

    # ---- events -> markers and output audio ---------------------------------------------------

    def _on_event(self, event: ServerEvent) -> None:
        now_ms = self.in_bins * BIN_MS
        if isinstance(event, ev.SpeechStarted):
            self.marker("speech_started", event.audio_start_ms, "speech")
        elif isinstance(event, ev.SpeechStopped):
            self.marker("speech_stopped", event.audio_end_ms, "end")
        elif isinstance(event, ev.InputAudioBufferCommitted):
            self.marker("committed", now_ms, "commit")
        elif isinstance(event, ev.InputAudioBufferTimeoutTriggered):
            self.marker("timeout", event.audio_end_ms, "idle timeout")
        elif isinstance(event, ev.ResponseCreated):
            self.marker("response_start", now_ms, "reply")
        elif isinstance(event, ev.ResponseDone):
            self.marker("response_done", max(now_ms, self.out_bins * BIN_MS), event.response.status)
        elif isinstance(event, ev.ConversationItemTruncated):
            start = self._item_start.get(event.item_id)
            if start is not None:
                self.marker(
                    "truncated",
                    start * BIN_MS + event.audio_end_ms,
                    f"cut at {event.audio_end_ms / 1000:.1f} s",
                )
