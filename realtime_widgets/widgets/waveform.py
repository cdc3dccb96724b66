"""Waveform: input and output audio on one session clock, with the turn markers.

The kernel computes 10 ms min/max envelopes of all audio sent (every append: microphone, file,
``append_audio``) and received, and sends them as binary batches about 20 times a second. Both
lanes and every marker sit on ONE clock, the session's (``RealtimeSession.elapsed``, wall time
since the session was made; :class:`~realtime_widgets.audio.conversation.ConversationTimeline`
places the audio): the user's audio where it was sent (a burst after a kernel stall moved back
to end at the clock: its bins go with a ``cut`` item and come again where they now are), the
assistant's where it played or would play, gaps (typed turns, pauses) kept. VAD markers (speech
started/stopped, idle timeout) map the server's input-audio times onto that clock; committed,
reply and typed turns sit at the time of their event; a cut (``conversation.item.truncated``)
sits where the reply was heard to, and the reply's audio received past it is sent as a
``dropped`` span, drawn faded and hatched. The browser draws with canvas and
requestAnimationFrame; it scrolls live, can be paused and zoomed, and a replayed recording
renders whole. Its ``⤓ WAV`` button downloads :meth:`Waveform.conversation_wav`: the
conversation as a stereo WAV on the same clock.

A view shown late (a second display, a reopened notebook, a page reload) draws the live
batches at once and asks for the history (``hello``); it gets one ``snapshot`` addressed to its
token: each track's bins so far as contiguous runs (``HISTORY_BYTES`` of bins at most, the
oldest dropped past it), the last ``MAX_MARKERS`` markers and each dropped span once (by id).
Bins sit at absolute positions (they change only after a cut, in the history too), and each
marker has an id, so a snapshot that overlaps live batches draws nothing twice, whatever order
they arrive in.

The WAV is built off the session loop (10 minutes take ~0.3 s): the loop copies the chunk lists
(:meth:`~realtime_widgets.audio.conversation.ConversationTimeline.recording`), another thread
builds it, the loop sends it.

Its state (the envelopes, positions, pending batch and history) lives on the session loop,
where the taps and events arrive; a view's ``hello`` hops there
(:mod:`~realtime_widgets.widgets.browser_messages`).

The timeline is the session's (``session.timeline``: one recording per session, which a session
with no waveform exports too): the session feeds it on its loop with listeners registered
before any widget's, so the waveform's taps and listeners, which run after them, draw what it
placed (:attr:`~realtime_widgets.audio.conversation.ConversationTimeline.last_input`, ...).
A GPT-Live session keeps its timeline the same way (``LiveSession.timeline``, its model's audio
one stream per turn); the Realtime events' markers are a Realtime session's, and a Live
console adds its own with :meth:`Waveform.marker`. A waveform with no session keeps a timeline
of its own and feeds it (``add_input``, ...); so does a waveform of a session that keeps no
timeline (a translation session: the session's own taps feed it, on its loop, with the same
placement). ``output_label`` names the second lane ("assistant"; "translation" for a
translation session, "model" for a GPT-Live one).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets as t

from realtime_widgets.audio.conversation import ConversationTimeline, stereo_wav
from realtime_widgets.audio.envelope import EnvelopeBuilder
from realtime_widgets.audio.pcm import Int16Array
from realtime_widgets.audio.rate import MODEL_RATE
from realtime_widgets.audio.resample import to_model_rate
from realtime_widgets.client.live import LiveSession
from realtime_widgets.client.session import RealtimeSession
from realtime_widgets.client.translation import TranslationSession
from realtime_widgets.errors import RealtimeWidgetsError
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.events import ServerEvent
from realtime_widgets.widgets.browser_messages import (
    AnySession,
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
log = logging.getLogger(__name__)
MAX_PENDING = 1_000  # items awaiting a commit (speech stopped) or with a dropped span, at most


TYPED_CHARS = 40  # a typed turn's label keeps its first words up to this many characters


def typed_label(text: str, limit: int = TYPED_CHARS) -> str:
    """``typed: <first words>`` of a typed message (whole words, ``...`` when cut)."""
    words = " ".join(text.split())
    if len(words) > limit:
        cut = words[:limit]
        if words[limit] != " " and " " in cut:  # a word cut in two: leave it out
            cut = cut.rsplit(" ", 1)[0]
        words = cut.rstrip(",.;:!? ") + "\u2026"
    return f"typed: {words}"


def _session_clock(session: AnySession) -> Callable[[], float]:
    return lambda: session.elapsed


def _own_clock() -> Callable[[], float]:
    t0 = time.monotonic()

    def elapsed() -> float:
        return time.monotonic() - t0

    return elapsed


def _bound(entries: dict[str, Any], limit: int = MAX_PENDING) -> None:
    """Forget the oldest entries past ``limit`` (a turn never committed, an old cut item)."""
    while len(entries) > limit:
        del entries[next(iter(entries))]


class _Lane:
    """A lane's envelope builder: bins continue while the audio is contiguous on the clock,
    and start afresh at the bin of a new position after a gap."""

    def __init__(self) -> None:
        self.builder = EnvelopeBuilder(BIN_MS, MODEL_RATE)
        self.origin = 0  # the bin where the builder's run started
        self.next_ms: float | None = None
        self.key: str | None = None  # the output item of the run

    def add(self, start_ms: float, samples: Int16Array, key: str | None = None) -> tuple[int, Any]:
        if self.next_ms is None or abs(start_ms - self.next_ms) > 1e-6 or key != self.key:
            self.builder = EnvelopeBuilder(BIN_MS, MODEL_RATE)
            self.origin = round(start_ms / BIN_MS)
            self.key = key
        first = self.origin + self.builder.bins_emitted
        bins = self.builder.add(samples)
        self.next_ms = start_ms + len(samples) * 1000 / MODEL_RATE
        return first, bins


class _History:
    """Each track's bins as contiguous runs ``[start, bytearray]``, the markers, and the dropped
    spans by id (a span sent again as it grows replaces its copy)."""

    def __init__(self) -> None:
        self.runs: dict[str, list[tuple[int, bytearray]]] = {"in": [], "out": []}
        self.markers: deque[dict[str, Any]] = deque(maxlen=MAX_MARKERS)
        self.spans: dict[int, dict[str, Any]] = {}
        self.bytes = 0

    def add(self, header: dict[str, Any], data: bytes | None) -> None:
        if header["type"] == "cut":
            self.cut(header["track"], int(header["from"]))
            return
        if header["type"] == "span":
            self.spans.pop(header["id"], None)  # re-inserted last: the oldest go first
            self.spans[header["id"]] = header
            while len(self.spans) > MAX_MARKERS:
                del self.spans[next(iter(self.spans))]
            return
        if header["type"] != "env" or data is None:  # markers
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

    def cut(self, track: str, start: int) -> None:
        """Forget the track's bins from bin ``start`` on (its run moved back)."""
        runs = self.runs[track]
        while runs and runs[-1][0] + len(runs[-1][1]) // 4 > start:
            first, data = runs[-1]
            keep = max(0, start - first) * 4
            self.bytes -= len(data) - keep
            if keep:
                del data[keep:]
                break
            runs.pop()

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
        marks = [*self.markers, *self.spans.values()]
        return {"type": "snapshot", "items": items + marks}, buffers


class Waveform(BrowserMessages, Listening, anywidget.AnyWidget):
    """The session's audio and turn markers on the session clock (see the module docstring).

    ``clock`` (seconds; default the session's ``elapsed``, a replay's recorded time, or time
    since the widget was made when there is no session) is the session clock; tests pass
    their own."""

    _esm = Path(__file__).with_name("waveform.js")
    bin_ms = t.Int(BIN_MS).tag(sync=True)
    height = t.Int(140).tag(sync=True)
    paused = t.Bool(False).tag(sync=True)
    show_output = t.Bool(True).tag(sync=True)  # the assistant lane (transcription: none)
    output_label = t.Unicode("assistant").tag(sync=True)  # the second lane's name

    def __init__(
        self,
        session: AnySession | None = None,
        *,
        clock: Callable[[], float] | None = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(session, TranslationSession):
            kwargs.setdefault("output_label", "translation")
        elif isinstance(session, LiveSession):
            kwargs.setdefault("output_label", "model")
        super().__init__(**kwargs)
        self.session = session
        if clock is None:
            # (a replay's elapsed is its recording's clock: it draws as recorded, at any speed)
            clock = _session_clock(session) if session is not None else _own_clock()
        self._clock = clock
        # The session's recording (it feeds it); without one, the waveform's own.
        self.timeline = (
            session.timeline
            if isinstance(session, RealtimeSession | LiveSession)
            else ConversationTimeline()
        )
        self._in = _Lane()
        self._out = _Lane()
        self.in_bins = 0  # where the input lane ends (bins on the clock)
        self.out_bins = 0  # where the output lane ends
        self._dropped_ids: dict[str, int] = {}  # cut item -> its dropped span's id
        self._turn_end: dict[str, float] = {}  # input item -> its speech_stopped on the clock
        self._pending: list[tuple[dict[str, Any], list[bytes]]] = []
        self._armed = False
        self.messages_sent = 0
        self._history = _History()  # what was sent, for views shown late
        self._marker_ids = itertools.count(1)
        self._receive_browser_messages()
        if isinstance(session, RealtimeSession | LiveSession):
            self._listen(
                # Taps run on the session loop already, after the session placed the chunk.
                session.add_audio_tap(lambda samples, rate: self._draw_input()),
                session.add_output_audio_tap(lambda item_id, samples: self._draw_output()),
            )
            if isinstance(session, RealtimeSession):  # (a Live console adds its own markers)
                self._listen(session.on("*", self._on_event))
        elif session is not None:  # a session with no timeline: its taps feed the waveform's
            self._listen(
                session.add_audio_tap(self._add_input),
                session.add_output_audio_tap(
                    lambda item_id, samples: self._add_output(samples, item_id)
                ),
            )

    def now_ms(self) -> float:
        """The session clock now, in ms."""
        return self._clock() * 1000

    # ---- audio ----------------------------------------------------------------------------------

    def _own_timeline(self, what: str) -> None:
        if self.session is not None:
            raise RealtimeWidgetsError(
                f"{what} is for a Waveform without a session: a session's waveform draws the "
                "audio the session sends and receives (append_audio, stream_audio)"
            )

    def add_input(self, samples: Int16Array, rate: int = MODEL_RATE) -> None:
        """Input audio (int16 at ``rate``) onto the waveform's own timeline, sent now (a
        waveform without a session)."""
        self._own_timeline("add_input")
        self._add_input(samples, rate)

    def _add_input(self, samples: Int16Array, rate: int) -> None:
        self.timeline.add_input(to_model_rate(samples, rate), self.now_ms())
        self._draw_input()

    def _draw_input(self) -> None:
        """Draw the input chunk the timeline placed last (and the run it moved back)."""
        at, x = self.timeline.last_input
        moved = self.timeline.moved
        if not moved:
            self._lane_input(at, x)
            return
        # The run moved back to end at the clock (a burst after a stall): its bins from where
        # it now starts go (those not sent yet are dropped from the batch) and come again.
        cut = round(moved[0][0] / BIN_MS)
        self._pending = [
            (m, b)
            for m, b in self._pending
            if m.get("track") != "in"
            or (m["type"] == "env" and m["start"] < cut)
            or (m["type"] == "cut" and m["from"] < cut)
        ]
        self._post({"type": "cut", "track": "in", "from": cut}, [])
        self._in = _Lane()
        self.in_bins = min(self.in_bins, cut)
        for at_k, x_k in moved:
            self._lane_input(at_k, x_k)

    def _lane_input(self, at: float, x: Int16Array) -> None:
        start, bins = self._in.add(at, x)
        self.in_bins = max(self.in_bins, start + len(bins))
        self._queue({"type": "env", "track": "in", "start": start}, bins)

    def add_output(self, samples: Int16Array, item_id: str) -> None:
        """An output item's audio (24 kHz int16) onto the waveform's own timeline, received now
        (a waveform without a session)."""
        self._own_timeline("add_output")
        self._add_output(samples, item_id)

    def _add_output(self, samples: Int16Array, item_id: str) -> None:
        self.timeline.add_output(item_id, samples, self.now_ms())
        self._draw_output()

    def _draw_output(self) -> None:
        """Draw the output chunk the timeline placed last."""
        item_id, at, samples = self.timeline.last_output
        start, bins = self._out.add(at, samples, item_id)
        self.out_bins = max(self.out_bins, start + len(bins))
        self._queue({"type": "env", "track": "out", "start": start}, bins)
        if item_id in self._dropped_ids:  # a cut item's audio still in flight: dropped too
            self._dropped(item_id)

    def _queue(self, header: dict[str, Any], bins: Int16Array) -> None:
        if len(bins):
            self._post(header, [np.ascontiguousarray(bins, dtype="<i2").tobytes()])

    def marker(self, kind: str, ms: float, label: str = "", short: str = "") -> None:
        """A marker at ``ms`` on the session clock (from any thread); ``short`` is the label
        shown where the whole one does not fit."""
        on_session_loop(self.session, self._marker, kind, ms, label, short)

    def _marker(self, kind: str, ms: float, label: str, short: str = "") -> None:
        marker = {"type": "marker", "id": next(self._marker_ids), "kind": kind, "ms": float(ms)}
        self._post({**marker, "label": label, **({"short": short} if short else {})}, [])

    def _dropped(self, item_id: str) -> None:
        """The cut item's dropped span (received, never heard), sent again as it grows."""
        span = self.timeline.dropped(item_id)
        if span is None:
            return
        span_id = self._dropped_ids.get(item_id) or next(self._marker_ids)
        self._dropped_ids[item_id] = span_id
        self._post(
            {
                "type": "span",
                "id": span_id,
                "kind": "dropped",
                "item": item_id,
                "from_ms": span[0],
                "to_ms": span[1],
            },
            [],
        )

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
        self.send({"type": "batch", "items": headers, "now_ms": self.now_ms()}, buffers)

    # ---- the recording ------------------------------------------------------------------------

    def conversation_wav(self) -> bytes:
        """The conversation as a stereo 16-bit WAV at 24 kHz on the session clock: the user
        left, where it was sent; the assistant right, where it played, cut where it was cut;
        silence in the gaps (the last ``timeline.keep_s`` seconds at most). Only the copy of
        the chunk lists is taken on the session loop; the WAV is built in the calling thread."""
        return stereo_wav(read_on_session_loop(self.session, self.timeline.recording))

    # ---- views shown late -----------------------------------------------------------------------

    def history_message(self) -> tuple[dict[str, Any], list[bytes]]:
        """What a view shown late needs, as one ``snapshot`` message: each track's bins so far
        as contiguous runs (one buffer each), then the markers."""
        return read_on_session_loop(self.session, self._history.message)

    def handle_browser(
        self, content: dict[str, Any], buffers: list[bytes], received: float
    ) -> None:
        """A view shown late says ``hello`` (on the session loop): it gets the history. The
        ``⤓ WAV`` button says ``wav``: that view gets :meth:`conversation_wav` as a buffer."""
        kind, view = content.get("type"), content.get("view")
        if not isinstance(view, str):
            return
        if kind == "hello":
            message, data = self._history.message()
            self.send({**message, "view": view, "now_ms": self.now_ms()}, data)
        elif kind == "wav":
            self._send_wav(view)

    def _send_wav(self, view: str) -> None:
        """Build the WAV off the session loop (10 minutes take ~0.3 s; the loop keeps sending
        audio meanwhile) from a copy taken here, and send it from the loop."""
        recording = self.timeline.recording()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a test's direct call): build it here
            self.send({"type": "wav", "view": view}, [stereo_wav(recording)])
            return

        def sent(future: asyncio.Future[bytes]) -> None:
            if future.cancelled():
                return
            if future.exception() is not None:
                log.error("conversation WAV failed", exc_info=future.exception())
                return
            self.send({"type": "wav", "view": view}, [future.result()])

        loop.run_in_executor(None, stereo_wav, recording).add_done_callback(sent)

    # ---- events -> markers and output audio ---------------------------------------------------

    def _on_event(self, event: ServerEvent) -> None:
        now_ms = self.now_ms()
        clock = self.timeline
        if isinstance(event, ev.SpeechStarted):
            self._marker("speech_started", clock.input_ms(event.audio_start_ms), "speech")
        elif isinstance(event, ev.SpeechStopped):
            end_ms = clock.input_ms(event.audio_end_ms)
            self._marker("speech_stopped", end_ms, "end")
            self._turn_end[event.item_id] = end_ms  # (popped by its commit)
            _bound(self._turn_end)
        elif isinstance(event, ev.InputAudioBufferCommitted):  # at its turn's end, if VAD's
            self._marker("committed", self._turn_end.pop(event.item_id, now_ms), "commit")
        elif isinstance(event, ev.InputAudioBufferTimeoutTriggered):
            self._marker("timeout", clock.input_ms(event.audio_end_ms), "idle timeout")
        elif isinstance(event, ev.ConversationItemAdded):
            item = event.item
            text = " ".join(p.text or "" for p in item.content if p.type == "input_text" and p.text)
            if item.role == "user" and text.strip():
                self._marker("typed", now_ms, typed_label(text), "typed")
        elif isinstance(event, ev.ResponseCreated):
            self._marker("response_start", now_ms, "reply")
        elif isinstance(event, ev.ResponseDone):
            status = event.response.status
            at = now_ms
            if status == "completed":  # where its audio ends playing (it may still be queued)
                spans = [clock.item_span(i.id) for i in event.response.output if i.id]
                at = max([now_ms, *(s[1] for s in spans if s is not None)])
            self._marker("response_done", at, status)
        elif isinstance(event, ev.ConversationItemTruncated):
            if self.session is None:  # its own timeline (a session cut its own already)
                clock.truncate(event.item_id, event.audio_end_ms)
            cut = clock.cut(event.item_id)
            if cut is not None:
                self._marker("truncated", cut[0], f"cut at {event.audio_end_ms / 1000:.1f} s")
                self._dropped_ids.setdefault(event.item_id, 0)
                _bound(self._dropped_ids)
                self._dropped(event.item_id)
