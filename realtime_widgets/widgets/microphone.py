"""Microphone: the browser's microphone (or a WAV file) into a session, in real time.

The browser captures with getUserMedia, resamples to 24 kHz mono Int16 inside an AudioWorklet
(it never asks for a 24 kHz AudioContext) and sends 20-100 ms chunks as binary buffers. The
kernel acknowledges each chunk; the browser keeps at most 2 s unacknowledged and drops beyond
that, showing "kernel busy, N ms dropped". Hands-free mode streams continuously (server VAD
decides the turns); push-to-talk streams while the button is held and, on release, commits and
asks for a response (use it with turn detection off). However many times the widget is
displayed, one capture per widget runs in the page (closed with the last view: the tracks stop
and the AudioContext closes).

Its state (the take, the counts, the taps) lives on the session loop: browser chunks and the
``streaming`` trait hop there (:mod:`~realtime_widgets.widgets.browser_messages`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets as t

from realtime_widgets.audio.pcm import Int16Array
from realtime_widgets.audio.rate import MODEL_RATE, ms_to_samples
from realtime_widgets.audio.wav import read_wav
from realtime_widgets.client.session import RealtimeSession
from realtime_widgets.errors import AudioFormatError
from realtime_widgets.widgets.browser_messages import (
    BrowserMessages,
    on_session_loop,
    read_on_session_loop,
)

__all__ = ["Microphone"]

TAKE_LIMIT = MODEL_RATE * 600  # samples kept of one take (10 minutes)


class Microphone(BrowserMessages, anywidget.AnyWidget):
    """Browser microphone -> session (see the module docstring)."""

    _esm = Path(__file__).with_name("microphone.js")
    mode = t.Enum(["hands-free", "push-to-talk"], "hands-free").tag(sync=True)
    echo_cancellation = t.Bool(True).tag(sync=True)
    noise_suppression = t.Bool(True).tag(sync=True)
    auto_gain_control = t.Bool(True).tag(sync=True)
    chunk_ms = t.Int(40).tag(sync=True)
    streaming = t.Bool(False).tag(sync=True)  # set by the browser
    dropped_ms = t.Float(0.0).tag(sync=True)  # set by the browser
    context_rate = t.Int(0).tag(sync=True)  # the browser's AudioContext rate, for the record
    # Names this widget's one capture in the page (all its views share it).
    capture_key = t.Unicode().tag(sync=True)

    @t.default("capture_key")
    def _capture_key(self) -> str:
        return uuid.uuid4().hex

    @t.validate("chunk_ms")
    def _chunk(self, proposal: Any) -> int:
        value = int(proposal["value"])
        if not 20 <= value <= 100:
            raise t.TraitError(f"chunk_ms must be between 20 and 100, got {value}")
        return value

    def __init__(self, session: RealtimeSession | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.chunks_received = 0
        self.samples_received = 0
        self._taps: list[Callable[[Int16Array], None]] = []
        self._take: list[Int16Array] = []
        self._take_samples = 0
        self._receive_browser_messages()
        self.observe(self._streaming, "streaming")

    def add_tap(self, tap: Callable[[Int16Array], None]) -> None:
        """Also give every chunk of 24 kHz audio to ``tap`` (the waveform uses this)."""
        self._taps.append(tap)

    def start(self) -> None:
        """Ask the browser to start capturing (a user click does the same)."""
        self.send({"type": "start"})

    def stop(self) -> None:
        self.send({"type": "stop"})

    def _streaming(self, change: dict[str, Any]) -> None:
        if change["new"]:  # the browser started a capture (kernel thread): a new take
            on_session_loop(self.session, self._new_take)

    def _new_take(self) -> None:
        self._take, self._take_samples = [], 0

    def take_audio(self) -> Int16Array:
        """The last take (24 kHz, from the last start; at most 10 minutes), e.g. for
        ``VadLab(microphone)``."""
        take = read_on_session_loop(self.session, lambda: list(self._take))
        if not take:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(take)

    def _deliver(self, samples: Int16Array) -> None:
        self.samples_received += len(samples)
        if self._take_samples < TAKE_LIMIT:
            self._take.append(samples)
            self._take_samples += len(samples)
        for tap in self._taps:
            tap(samples)
        if self.session is not None and self.session.connected:
            self.session.stream_audio(samples)

    def handle_browser(
        self, content: dict[str, Any], buffers: list[bytes], received: float
    ) -> None:
        """A chunk (acknowledged) or a push-to-talk release, on the session loop."""
        kind = content.get("type")
        if kind == "audio" and buffers:
            samples = np.frombuffer(bytes(buffers[0]), dtype="<i2").astype(np.int16)
            self.chunks_received += 1
            self._deliver(samples)
            self.send({"type": "ack", "seq": int(content.get("seq", 0))})
        elif kind == "ptt" and self.session is not None and not content.get("down"):
            session = self.session
            session.submit(self._ptt_release(session))

    @staticmethod
    async def _ptt_release(session: RealtimeSession) -> None:
        await session.acommit()
        await session.acreate_response()

    # ---- a WAV file as the microphone ------------------------------------------------------------

    def stream_file(
        self, source: str | Path | bytes, *, realtime: bool = True, chunk_ms: int = 40
    ) -> None:
        """Stream a WAV file (a path or its bytes, e.g. an upload; any rate and width,
        resampled to 24 kHz) as if it were spoken."""
        samples, _ = read_wav(source, rate=MODEL_RATE)
        if self.session is None:
            raise AudioFormatError("stream_file needs a session to stream into")
        session = self.session
        step = ms_to_samples(chunk_ms)

        async def run() -> None:
            loop = asyncio.get_running_loop()
            start = loop.time()
            for n, i in enumerate(range(0, len(samples), step)):
                if realtime:
                    await asyncio.sleep(max(0.0, start + n * chunk_ms / 1000 - loop.time()))
                chunk = samples[i : i + step]
                self.samples_received += len(chunk)
                for tap in self._taps:
                    tap(chunk)
                await session.aappend_audio(chunk, MODEL_RATE)

        # The session owns the task: closing the session cancels a stream in progress.
        session.submit(run())
