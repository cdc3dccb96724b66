"""Microphone: the browser's microphone (or a WAV file) into a session, in real time.

The browser captures with getUserMedia, resamples to 24 kHz mono Int16 inside an AudioWorklet
(it never asks for a 24 kHz AudioContext) and sends 20-100 ms chunks as binary buffers. The
kernel acknowledges each chunk; the browser keeps at most 2 s unacknowledged and drops beyond
that, showing "kernel busy, N ms dropped". However many times the widget is displayed, one
capture per widget runs in the page (closed with the last view: the tracks stop and the
AudioContext closes, and the level meter reads 0).

Two modes, and with a Realtime session the mode follows its effective turn detection, live,
both ways (``mode`` is then the session's to set; a translation session has no turns: always
hands-free):

- **hands-free** (turn detection on): the microphone streams continuously and the server's VAD
  decides the turns.
- **push-to-talk** (``turn_detection=None``): a *Hold to talk* button (mouse, touch or pen, or
  Space while it has the focus) sends audio only while it is held. Pressing it is a barge-in:
  a reply in progress is cancelled (``response.cancel``), the Speaker stops and truncates what
  was heard (the ``client.barge_in`` local event), and the input buffer is cleared. Releasing
  it commits the held audio and asks for a response; a hold of less than
  :data:`MIN_HOLD_MS` of audio is cleared, not committed, and ``status`` says why.

The capture's settings (input device, echo cancellation, noise suppression, auto gain) are
synced traits the page's settings disclosure edits; a change restarts a running capture, and
the page shows what the browser applied (its track's ``getSettings()``).

Its state (the take, the counts, the taps, the hold) lives on the session loop: browser chunks
and the ``streaming`` trait hop there (:mod:`~realtime_widgets.widgets.browser_messages`).
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
from realtime_widgets.audio.rate import MODEL_RATE, ms_to_samples, samples_to_ms
from realtime_widgets.audio.wav import read_wav
from realtime_widgets.client.session import RealtimeSession
from realtime_widgets.errors import AudioFormatError
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.widgets.browser_messages import (
    AnySession,
    BrowserMessages,
    on_session_loop,
    read_on_session_loop,
)
from realtime_widgets.widgets.listening import Listening

__all__ = ["MIN_HOLD_MS", "Microphone"]

TAKE_LIMIT = MODEL_RATE * 600  # samples kept of one take (10 minutes)
MIN_HOLD_MS = 100  # the least audio a commit takes (OpenAI's minimum, the local server's too)
MAX_HOLD_S = 600.0  # a hold released by nobody (a lost pointer-up) ends here, as a release
MODES = ("hands-free", "push-to-talk")


class _Hold:
    """One push-to-talk press, from press to release (lives on the session loop)."""

    def __init__(self) -> None:
        self.released = asyncio.Event()
        self.ready = False  # the barge-in and the clear have been sent: audio may follow
        self.early: list[Int16Array] = []  # audio held until then
        self.samples = 0


def mode_of(config: object) -> str:
    """The microphone mode a session configuration asks for: push-to-talk when a Realtime
    config's turn detection is off (``None``), hands-free otherwise (a translation session's
    stream is continuous: always)."""
    push = isinstance(config, SessionConfig) and config.turn_detection is None
    return MODES[1] if push else MODES[0]


class Microphone(BrowserMessages, Listening, anywidget.AnyWidget):
    """Browser microphone -> session (see the module docstring)."""

    _esm = Path(__file__).with_name("microphone.js")
    mode = t.Enum(list(MODES), MODES[0]).tag(sync=True)
    echo_cancellation = t.Bool(True).tag(sync=True)
    noise_suppression = t.Bool(True).tag(sync=True)
    auto_gain_control = t.Bool(True).tag(sync=True)
    device_id = t.Unicode("").tag(sync=True)  # the input device ("": the browser's default)
    chunk_ms = t.Int(40).tag(sync=True)
    streaming = t.Bool(False).tag(sync=True)  # set by the browser
    dropped_ms = t.Float(0.0).tag(sync=True)  # set by the browser
    context_rate = t.Int(0).tag(sync=True)  # the browser's AudioContext rate, for the record
    status = t.Unicode("").tag(sync=True)  # the kernel's word on the last push-to-talk hold
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

    def __init__(self, session: AnySession | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.chunks_received = 0
        self.samples_received = 0
        self.chunks_not_held = 0  # push-to-talk chunks that came while not held: not sent
        self.holds: list[int] = []  # samples each push-to-talk hold captured, in order
        self._hold: _Hold | None = None
        self._taps: list[Callable[[Int16Array], None]] = []
        self._take: list[Int16Array] = []
        self._take_samples = 0
        self._receive_browser_messages()
        self.observe(self._streaming, "streaming")
        if session is not None:
            self.mode = mode_of(session.effective or session.requested)
            self._listen(
                session.on("session.created", self._follow_session),
                session.on("session.updated", self._follow_session),
            )

    def _follow_session(self, event: Any) -> None:
        """The session's turn detection changed (or was confirmed): the mode follows it."""
        session = self.session
        assert session is not None
        mode = mode_of(session.effective or session.requested)
        if mode != self.mode:
            if self._hold is not None:
                self._release()  # a hold in progress ends as a release would
            self.mode = mode
            self.status = ""

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
        hold = self._hold
        if hold is not None:
            hold.samples += len(samples)
            if not hold.ready:  # the press's clear has not gone yet: this audio follows it
                hold.early.append(samples)
                return
        if self.session is not None and self.session.connected:
            self.session.stream_audio(samples)

    def handle_browser(
        self, content: dict[str, Any], buffers: list[bytes], received: float
    ) -> None:
        """A chunk (acknowledged), or a push-to-talk press or release, on the session loop."""
        kind = content.get("type")
        if kind == "audio" and buffers:
            samples = np.frombuffer(bytes(buffers[0]), dtype="<i2").astype(np.int16)
            self.chunks_received += 1
            if self.mode == "push-to-talk" and self._hold is None:
                self.chunks_not_held += 1  # (late from the page after a release): not sent
            else:
                self._deliver(samples)
            self.send({"type": "ack", "seq": int(content.get("seq", 0))})
        elif kind == "ptt":
            if content.get("down"):
                self._press()
            else:
                self._release()

    # ---- push-to-talk ----------------------------------------------------------------------------

    def _press(self) -> None:
        if self.mode != "push-to-talk" or self._hold is not None:
            return
        hold = self._hold = _Hold()
        self.status = "talking: release to send"
        session = self.session
        if session is None or not session.connected:
            hold.ready = True  # nothing to clear: the taps still see the audio
            if session is not None:
                self.status = "not connected: nothing is sent"
            return
        if not isinstance(session, RealtimeSession):  # (mode set by hand: no turns to commit)
            hold.ready = True
            self.status = "push-to-talk is for Realtime sessions: the audio streams as it is"
            return
        session.submit(self._run_hold(session, hold))

    def _release(self) -> None:
        hold, self._hold = self._hold, None
        if hold is not None:
            self.holds.append(hold.samples)
            hold.released.set()

    async def _run_hold(self, session: RealtimeSession, hold: _Hold) -> None:
        """One press to its release: barge in, clear, stream; then commit and ask for a reply
        (or say why not)."""
        try:
            # A barge-in, as the server's VAD would make one: stop the reply being made and
            # the one being heard (the Speaker truncates what was heard).
            if session.state.active_response is not None:
                await session.acancel_response()
            session.emit_local({"type": "client.barge_in", "source": "push-to-talk"})
            await session.aclear_audio()
            hold.ready = True
            for samples in hold.early:
                session.stream_audio(samples)
            hold.early = []
            try:
                await asyncio.wait_for(hold.released.wait(), MAX_HOLD_S)
            except TimeoutError:
                if self._hold is hold:
                    self._release()  # held past the cap: sent as a release would send it
            held_ms = samples_to_ms(hold.samples)
            if held_ms < MIN_HOLD_MS:
                await session.aclear_audio()
                self.status = f"too short ({held_ms:.0f} ms < {MIN_HOLD_MS} ms): not committed"
                return
            # A transcription session transcribes the committed turn; it has no responses.
            replies = (session.state.session or {}).get("type") != "transcription"
            then = ", then response.create" if replies else ""
            self.status = f"sent {held_ms / 1000:.1f} s: commit{then}"
            await session.acommit()
            if replies:
                await session.acreate_response()
        except Exception as exc:  # said in the widget, never raised into the page
            self.status = f"push-to-talk: {type(exc).__name__}: {exc}"

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
