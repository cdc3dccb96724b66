"""One session clock for both sides of a conversation, and its stereo WAV.

Positions are milliseconds on the session's clock (``RealtimeSession.elapsed``: wall time since
the session was made), whatever the audio: the user's audio sits where it was sent, the
assistant's where it played (or would play), pauses and typed turns stay gaps, and a marker sits
at the time of its event. Nothing here reads a clock: every call says what time it is
(``now_ms``), so the placement is a pure function of what arrived when.

- **Input** (the user's audio, as appended; the chunks carry no capture time): a chunk that
  arrives within ``join_ms`` of where the previous one ended continues it (a microphone's chunks
  come a little late); after a longer pause it starts a new run at ``now - duration`` (never
  before the previous run's end, nor before 0): where it was captured if the user paused. But a
  late chunk may be the first of a burst (the kernel stalled and the queued chunks arrive at
  once): its later chunks join after it and would end ahead of the clock. So a run never ends
  after ``now``: when a chunk would, the run since the pause is moved back (right-aligned to
  ``now``, its chunks re-placed, :attr:`ConversationTimeline.moved`), never before the previous
  run's end; it then joins that run, as the audio was contiguous. Only audio sent faster than
  real time overall (a whole file at once) can still end ahead. A run that has grown past
  ``MOVE_MS`` is moved only when it is more than ``join_ms`` ahead (a fast device clock), so a
  long hands-free take is not re-placed for every chunk. The server's input-audio times
  (``audio_start_ms`` of speech started, ...) count the appended audio, so :meth:`input_ms`
  maps them onto the clock through the segments placed, moved runs included.
- **Output** (the assistant's audio, per item): a delta plays after the audio queued before it
  and not before it arrived: ``start = max(end of the output queued, now)``. A truncation (the
  user barged in) cuts the item at ``audio_end_ms`` of its own audio: what came after was
  received but never heard (*dropped*), and the queue ends at the cut; audio of a cut item
  still in flight is dropped too.

:meth:`ConversationTimeline.wav` writes the last ``keep_s`` seconds of the clock as a stereo
16-bit WAV at 24 kHz: the user left, the assistant right (cut where it was cut), silence in gaps.
Building it takes a while (10 minutes: ~0.3 s and ~170 MB), so an owner on an I/O loop takes a
:meth:`~ConversationTimeline.recording` there (copies of the chunk lists and the cuts, cheap)
and builds :func:`stereo_wav` of it on another thread. Items whose audio has all left the kept
window are forgotten (bounded memory).
"""

from __future__ import annotations

import bisect
import io
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from realtime_widgets.audio.pcm import Int16Array, as_int16
from realtime_widgets.audio.rate import MODEL_RATE
from realtime_widgets.audio.wav import write_wav

__all__ = [
    "JOIN_MS",
    "KEEP_S",
    "MOVE_MS",
    "ConversationTimeline",
    "Recording",
    "Segments",
    "stereo_wav",
]

JOIN_MS = 250.0  # input arriving this soon after the previous chunk's end continues it
KEEP_S = 600.0  # the audio kept per side (and the longest WAV): 10 min, ~29 MB per side
MOVE_MS = 30_000.0  # a run longer than this moves back only when more than join_ms ahead


class Segments:
    """Where a stream's own audio time (ms from its first sample) sits on the clock: runs of
    ``[audio_ms, clock_ms, ms]``, contiguous audio in one run."""

    def __init__(self) -> None:
        self.runs: list[list[float]] = []
        self.audio_ms = 0.0  # the stream's length so far

    @property
    def end(self) -> float:
        """Where the stream's last audio ends on the clock (0 before any)."""
        if not self.runs:
            return 0.0
        _, clock, ms = self.runs[-1]
        return clock + ms

    def place(self, clock_ms: float, ms: float) -> None:
        """The next ``ms`` of the stream sit at ``clock_ms``."""
        if self.runs and abs(self.end - clock_ms) < 1e-6:
            self.runs[-1][2] += ms
        else:
            self.runs.append([self.audio_ms, clock_ms, ms])
        self.audio_ms += ms

    def to_clock(self, audio_ms: float) -> float:
        """The clock time of the stream's ``audio_ms`` (past its end: where it would be)."""
        if not self.runs:
            return audio_ms
        i = max(0, bisect.bisect_right([r[0] for r in self.runs], audio_ms) - 1)
        start, clock, _ = self.runs[i]
        return clock + (audio_ms - start)

    def to_audio(self, clock_ms: float) -> float:
        """How much of the stream lies before ``clock_ms`` on the clock (ms of its own audio;
        the inverse of :meth:`to_clock` where the stream has audio, gaps counting nothing)."""
        heard = 0.0
        for start, clock, ms in self.runs:
            if clock_ms <= clock:
                break
            heard = start + min(ms, clock_ms - clock)
        return heard

    def move_last(self, clock_ms: float) -> None:
        """The last run now starts at ``clock_ms``; it joins the run before when it meets it."""
        self.runs[-1][1] = clock_ms
        if len(self.runs) > 1:
            _, clock, ms = self.runs[-2]
            if abs(clock + ms - clock_ms) < 1e-6:
                self.runs[-2][2] += self.runs.pop()[2]

    def trim(self, before_audio_ms: float) -> None:
        """Forget the runs that end before ``before_audio_ms`` (bounded memory)."""
        while len(self.runs) > 1 and self.runs[1][0] <= before_audio_ms:
            self.runs.pop(0)


@dataclass
class _Item:
    segments: Segments = field(default_factory=Segments)
    heard_ms: float | None = None  # the cut, in the item's own audio ms (None: not cut)

    @property
    def start(self) -> float:
        return self.segments.runs[0][1] if self.segments.runs else 0.0

    @property
    def heard_end(self) -> float:
        """Where what was heard of the item ends on the clock."""
        if self.heard_ms is None:
            return self.segments.end
        return min(self.segments.to_clock(self.heard_ms), self.segments.end)


@dataclass(frozen=True)
class Recording:
    """What :func:`stereo_wav` needs, copied from a timeline (cheap: lists of references to the
    chunks, which are never changed in place): input chunks ``(clock_ms, samples)``, output
    chunks ``(clock_ms, samples, stop_ms)`` (``stop_ms``: the item's cut, or None), the span
    ``[start_ms, end_ms)`` and the rate."""

    inputs: list[tuple[float, Int16Array]]
    outputs: list[tuple[float, Int16Array, float | None]]
    start_ms: float
    end_ms: float
    rate: int


def stereo_frames(rec: Recording) -> Int16Array:
    """int16 frames of shape (n, 2) of ``rec``: the user left, the assistant right."""
    per_ms = rec.rate / 1000
    origin = round(rec.start_ms * per_ms)
    frames = np.zeros((max(0, round(rec.end_ms * per_ms) - origin), 2), dtype=np.int16)

    def put(channel: int, at_ms: float, x: Int16Array, stop_ms: float | None = None) -> None:
        a = round(at_ms * per_ms) - origin
        b = a + len(x)
        if stop_ms is not None:
            b = min(b, round(stop_ms * per_ms) - origin)
        lo, hi = max(a, 0), min(b, len(frames))
        if hi > lo:
            frames[lo:hi, channel] = x[lo - a : hi - a]

    for at, x in rec.inputs:
        put(0, at, x)
    for at, x, stop in rec.outputs:
        put(1, at, x, stop)
    return frames


def stereo_wav(rec: Recording) -> bytes:
    """``rec`` as a stereo 16-bit PCM WAV (run it off the I/O loop: see the module docstring)."""
    buffer = io.BytesIO()
    write_wav(buffer, stereo_frames(rec), rec.rate)
    return buffer.getvalue()


class ConversationTimeline:
    """Both sides of a conversation on one clock (see the module docstring). Not thread-safe:
    one owner (the session loop) calls it."""

    def __init__(
        self, *, keep_s: float = KEEP_S, join_ms: float = JOIN_MS, rate: int = MODEL_RATE
    ) -> None:
        if keep_s <= 0:
            raise ValueError(f"keep_s must be > 0 seconds, got {keep_s!r}")
        if join_ms < 0:
            raise ValueError(f"join_ms must be >= 0, got {join_ms!r}")
        self.keep_s = float(keep_s)
        self.join_ms = float(join_ms)
        self.rate = int(rate)
        self.input = Segments()
        self.items: dict[str, _Item] = {}  # items with audio still in the kept window
        self.output_end = 0.0  # where the queued output ends (the next delta plays from here)
        self._in_chunks: deque[tuple[float, Int16Array]] = deque()
        self._out_chunks: deque[tuple[str, float, Int16Array]] = deque()
        self._kept = {"in": 0, "out": 0}  # samples held per side
        self._out_count: dict[str, int] = {}  # output chunks kept per item
        # The input run since the last pause: its chunks may move back (-1: none may), where
        # it starts, and where the audio before it ends (it moves back no further).
        self._run_chunks = 0
        self._run_start = 0.0
        self._run_floor = 0.0
        self.moved: list[tuple[float, Int16Array]] = []  # last add_input's re-placed chunks

    def _ms(self, samples: Int16Array) -> float:
        return len(samples) * 1000 / self.rate

    # ---- placing ------------------------------------------------------------------------------

    def add_input(self, samples: npt.ArrayLike, now_ms: float) -> float:
        """The user's audio (int16 at ``rate``), sent at ``now_ms``; returns where it starts.
        When the run it joins had to move back (a burst after a stall), :attr:`moved` holds the
        run's chunks ``(clock_ms, samples)`` where they now are, this one last; else it is
        empty."""
        x = as_int16(samples)
        ms = self._ms(x)
        end = self.input.end
        self.moved = []
        if now_ms - ms - end < self.join_ms:
            start = end
        else:  # a pause (or the first chunk of a burst): a new run, where it was captured
            start = max(end, now_ms - ms, 0.0)
            self._run_chunks, self._run_floor, self._run_start = 0, end, start
        self.input.place(start, ms)
        self._in_chunks.append((start, x))
        if self._run_chunks >= 0:
            self._run_chunks += 1
        self._keep("in", x)
        over = start + ms - now_ms
        young = start + ms - self._run_start <= MOVE_MS
        if over > 0 and self._run_chunks > 0 and (young or over > self.join_ms):
            start = self._move_back(over)
        return start

    def _move_back(self, over: float) -> float:
        """Move the run since the last pause back by ``over`` (not before the audio before it);
        returns where the newest chunk now starts."""
        shift = min(over, self._run_start - self._run_floor)
        if shift > 1e-9:
            n = min(self._run_chunks, len(self._in_chunks))
            first = len(self._in_chunks) - n
            for k in range(first, len(self._in_chunks)):
                at, x = self._in_chunks[k]
                self._in_chunks[k] = (at - shift, x)
            self.moved = [self._in_chunks[k] for k in range(first, len(self._in_chunks))]
            self._run_start -= shift
            self.input.move_last(self._run_start)
        if self._run_start <= self._run_floor + 1e-6:  # met the audio before: one run, settled
            self._run_chunks = -1
        return self._in_chunks[-1][0]

    def input_ms(self, audio_ms: float) -> float:
        """The clock time of the server's input-audio time ``audio_ms`` (speech started, ...)."""
        return self.input.to_clock(audio_ms)

    def add_output(self, item_id: str, samples: npt.ArrayLike, now_ms: float) -> float:
        """The assistant's audio of ``item_id`` (int16 at ``rate``), received at ``now_ms``;
        returns where it plays (after the cut of a cut item: where it would have played)."""
        x = as_int16(samples)
        ms = self._ms(x)
        item = self.items.setdefault(item_id, _Item())
        if item.heard_ms is not None:  # cut already: in flight, never played
            start = item.segments.end
        else:
            start = max(self.output_end, now_ms)
            self.output_end = start + ms
        item.segments.place(start, ms)
        self._out_chunks.append((item_id, start, x))
        self._out_count[item_id] = self._out_count.get(item_id, 0) + 1
        self._keep("out", x)
        return start

    def output_ms(self, item_id: str, audio_ms: float) -> float | None:
        """The clock time of ``audio_ms`` into the item's audio (None: no audio of it)."""
        item = self.items.get(item_id)
        if item is None or not item.segments.runs:
            return None
        return item.segments.to_clock(audio_ms)

    def played_ms(self, item_id: str, now_ms: float) -> float | None:
        """How much of the item's audio has played by ``now_ms`` (ms of its own audio, what a
        barge-in truncates it to; None: no audio of it)."""
        item = self.items.get(item_id)
        if item is None or not item.segments.runs:
            return None
        played = item.segments.to_audio(now_ms)
        return played if item.heard_ms is None else min(played, item.heard_ms)

    def item_span(self, item_id: str) -> tuple[float, float] | None:
        """Where the item's received audio starts and ends on the clock."""
        item = self.items.get(item_id)
        if item is None or not item.segments.runs:
            return None
        return item.start, item.segments.end

    def truncate(self, item_id: str, audio_end_ms: float) -> tuple[float, float] | None:
        """The item was heard up to ``audio_end_ms`` of its audio: returns (heard end, received
        end) on the clock, the dropped span between them (None: no audio of the item)."""
        item = self.items.get(item_id)
        if item is None or not item.segments.runs:
            return None
        item.heard_ms = max(0.0, float(audio_end_ms))
        heard = item.heard_end
        self.output_end = min(self.output_end, max(heard, item.start))  # the player was flushed
        return heard, item.segments.end

    def cut(self, item_id: str) -> tuple[float, float] | None:
        """A cut item's (heard end, received end) on the clock, as :meth:`truncate` returned
        it (None: not cut, or no audio of it): how a reader of a timeline another owner feeds
        finds where a truncation put the cut."""
        item = self.items.get(item_id)
        if item is None or item.heard_ms is None or not item.segments.runs:
            return None
        return item.heard_end, item.segments.end

    @property
    def last_input(self) -> tuple[float, Int16Array]:
        """The newest input chunk ``(clock_ms, samples)``, where it now sits (after the last
        :meth:`add_input`, moves included); a reader that follows the owner's calls draws it."""
        if not self._in_chunks:
            raise LookupError("no input audio yet")
        return self._in_chunks[-1]

    @property
    def last_output(self) -> tuple[str, float, Int16Array]:
        """The newest output chunk ``(item_id, clock_ms, samples)`` (after the last
        :meth:`add_output`)."""
        if not self._out_chunks:
            raise LookupError("no output audio yet")
        return self._out_chunks[-1]

    def dropped(self, item_id: str) -> tuple[float, float] | None:
        """The item's dropped span on the clock (None: not cut, or nothing dropped)."""
        item = self.items.get(item_id)
        if item is None or item.heard_ms is None:
            return None
        heard, end = item.heard_end, item.segments.end
        return (heard, end) if end > heard else None

    # ---- the recording ------------------------------------------------------------------------

    def _keep(self, side: str, x: Int16Array) -> None:
        self._kept[side] += len(x)
        limit = int(self.keep_s * self.rate)
        if side == "in":
            chunks_in = self._in_chunks
            while chunks_in and self._kept["in"] - len(chunks_in[0][1]) >= limit:
                self._kept["in"] -= len(chunks_in.popleft()[1])
            self.input.trim(self.input.audio_ms - self._kept["in"] * 1000 / self.rate)
            return
        chunks_out = self._out_chunks
        while chunks_out and self._kept["out"] - len(chunks_out[0][2]) >= limit:
            item_id, _, old = chunks_out.popleft()
            self._kept["out"] -= len(old)
            self._out_count[item_id] -= 1
            if not self._out_count[item_id]:  # all its audio has left the window: forget it
                del self._out_count[item_id]
                self.items.pop(item_id, None)

    def recording(self) -> Recording:
        """A copy of what the WAV needs (cheap; take it where the timeline lives, build
        :func:`stereo_wav` of it elsewhere): the last ``keep_s`` seconds, from ``start_ms``
        (0, or later when more than ``keep_s`` went by) to the end of the later side; the
        assistant's items stop where they were cut."""
        ends = [self.input.end, *(it.heard_end for it in self.items.values() if it.segments.runs)]
        end_ms = max(ends, default=0.0)
        outputs: list[tuple[float, Int16Array, float | None]] = []
        for item_id, at, x in self._out_chunks:
            item = self.items[item_id]
            outputs.append((at, x, item.heard_end if item.heard_ms is not None else None))
        return Recording(
            inputs=list(self._in_chunks),
            outputs=outputs,
            start_ms=max(0.0, end_ms - self.keep_s * 1000),
            end_ms=end_ms,
            rate=self.rate,
        )

    def stereo(self) -> tuple[Int16Array, float]:
        """``(frames, start_ms)``: int16 of shape (n, 2), the user left and the assistant right
        (see :meth:`recording`)."""
        rec = self.recording()
        return stereo_frames(rec), rec.start_ms

    def wav(self) -> bytes:
        """The conversation as a stereo 16-bit PCM WAV, built here (an I/O loop's owner builds
        :func:`stereo_wav` of :meth:`recording` on another thread instead)."""
        return stereo_wav(self.recording())
