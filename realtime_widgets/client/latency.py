"""Toolkit-added latency: what the browser and the kernel add on top of the server.

Two paths, each stamped where it happens:

- **microphone -> append**: the browser stamps each chunk (``performance.now()``) when the
  worklet hands it to the page; the kernel stamps its arrival and the moment the
  ``input_audio_buffer.append`` carrying its last sample is sent (``time.monotonic()``).
- **delta -> played**: the kernel stamps the first ``response.output_audio.delta`` of each item;
  the browser stamps that item's first chunk arriving and the time its first sample is output
  (the worklet's frame, mapped to ``performance.now()`` through ``getOutputTimestamp()``).

The two clocks are related by round trips: the kernel sends a ping at ``k0``, the page answers
with its time ``b``, the answer arrives at ``k1``. Then ``b - (k0 + k1) / 2`` is the offset,
exact to within half the round trip; the estimate uses the sample with the shortest round trip
and reports that half-round-trip as its uncertainty. Nothing here does I/O: the widgets'
:class:`~realtime_widgets.widgets.latency.LatencyProbe` feeds it.

Both paths meet in :func:`stop_to_sound`: per turn, from the moment the person stopped speaking
to the first sample of the reply played by the speaker, in segments (see its docstring).
"""

from __future__ import annotations

import bisect
import statistics
from collections import deque
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from realtime_widgets.audio.rate import MODEL_RATE

if TYPE_CHECKING:
    from realtime_widgets.client.metrics import TurnTiming

__all__ = [
    "MAX_RECORDS",
    "SEGMENTS",
    "ClockOffset",
    "Played",
    "ToolkitLatency",
    "percentile",
    "stop_to_sound",
]

# The segments of "you stopped -> first sound", in order (see stop_to_sound).
SEGMENTS = ("vad_wait", "mic", "uplink", "server", "to_browser", "playout")

MAX_RECORDS = 4000  # per path: ~3 minutes of 40 ms chunks; older records are dropped


def percentile(values: list[float], q: float) -> float | None:
    """The ``q``-quantile (0..1) by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass
class ClockOffset:
    """Browser clock (ms) minus kernel clock (s -> ms), from ping round trips."""

    samples: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=64))

    def add(self, sent_s: float, browser_ms: float, received_s: float) -> None:
        """One round trip: kernel send time, the page's answer, kernel receive time."""
        if received_s < sent_s:
            raise ValueError("a round trip cannot end before it starts")
        rtt_ms = (received_s - sent_s) * 1000
        offset_ms = browser_ms - (sent_s + received_s) * 500
        self.samples.append((rtt_ms, offset_ms))

    @property
    def known(self) -> bool:
        return bool(self.samples)

    @property
    def best(self) -> tuple[float, float]:
        """(round trip ms, offset ms) of the shortest round trip seen."""
        if not self.samples:
            raise ValueError("no round trip measured yet")
        return min(self.samples)

    @property
    def offset_ms(self) -> float:
        return self.best[1]

    @property
    def uncertainty_ms(self) -> float:
        """Half the shortest round trip: the offset is exact to within this."""
        return self.best[0] / 2

    def to_kernel(self, browser_ms: float) -> float:
        """A browser timestamp on the kernel's monotonic clock (seconds)."""
        return (browser_ms - self.offset_ms) / 1000


@dataclass(frozen=True)
class Chunk:
    """One microphone chunk: captured (browser ms), received and sent (kernel s)."""

    captured_ms: float
    received_s: float
    end_sample: int  # cumulative 24 kHz samples from the microphone, this chunk included
    sent_s: float | None = None


@dataclass(frozen=True)
class Played:
    """One output item: first delta (kernel s), first chunk arrived and first sample played
    (browser ms)."""

    item_id: str
    response_id: str | None
    delta_s: float
    arrived_ms: float | None = None
    played_ms: float | None = None
    handed_s: float | None = None  # the kernel handed its first samples to the speaker


class ToolkitLatency:
    """Both paths' records and their breakdowns (see the module docstring)."""

    def __init__(self) -> None:
        self.mic_clock = ClockOffset()
        self.speaker_clock = ClockOffset()
        self._waiting: deque[Chunk] = deque(maxlen=MAX_RECORDS)  # not yet sent
        self.chunks: deque[Chunk] = deque(maxlen=MAX_RECORDS)  # sent
        self._sent_samples = 0
        self._last_sent_s: float | None = None
        self.items: dict[str, Played] = {}
        self._handed: dict[str, float] = {}  # first samples handed over before the delta's stamp
        self._order: deque[str] = deque()
        # (cumulative 24 kHz samples sent, when that append left): the input timeline
        self.appends: deque[tuple[int, float]] = deque(maxlen=MAX_RECORDS)
        self._appends_dropped = 0  # samples carried by the appends no longer kept
        # (when, samples sent by then): each connection's input timeline starts at 0 there
        self.origins: deque[tuple[float, int]] = deque([(float("-inf"), 0)], maxlen=64)
        self.commits: deque[float] = deque(maxlen=256)  # input_audio_buffer.commit sent

    # ---- microphone -> append -------------------------------------------------------------------

    def mic_chunk(self, captured_ms: float, received_s: float, end_sample: int) -> None:
        if end_sample <= self._sent_samples and self._last_sent_s is not None:
            # Already carried by an append (the listener ran late): that append is the latest.
            self.chunks.append(Chunk(captured_ms, received_s, end_sample, self._last_sent_s))
            return
        self._waiting.append(Chunk(captured_ms, received_s, end_sample))

    def append_sent(self, sent_s: float, samples: int) -> None:
        """An ``input_audio_buffer.append`` left the kernel carrying ``samples`` (24 kHz)."""
        self._sent_samples += samples
        self._last_sent_s = sent_s
        if len(self.appends) == self.appends.maxlen:
            self._appends_dropped = self.appends[0][0]  # the oldest kept goes: its samples too
        self.appends.append((self._sent_samples, sent_s))
        # A chunk is out once the appends have carried its last sample (the session's encoders
        # may regroup samples; counting them keeps the match exact for PCM).
        while self._waiting and self._waiting[0].end_sample <= self._sent_samples:
            c = self._waiting.popleft()
            self.chunks.append(Chunk(c.captured_ms, c.received_s, c.end_sample, sent_s))

    def mic_breakdown(self, chunk: Chunk) -> dict[str, float] | None:
        """ms from capture to the kernel, in the kernel, and in total; None without a clock."""
        if not self.mic_clock.known or chunk.sent_s is None:
            return None
        captured_s = self.mic_clock.to_kernel(chunk.captured_ms)
        return {
            "to_kernel": (chunk.received_s - captured_s) * 1000,
            "in_kernel": (chunk.sent_s - chunk.received_s) * 1000,
            "total": (chunk.sent_s - captured_s) * 1000,
        }

    def connected(self, at_s: float) -> None:
        """A connection began (``session.created``): its server counts input audio from 0,
        from the samples sent so far."""
        self.origins.append((at_s, self._sent_samples))

    def commit_sent(self, at_s: float) -> None:
        """An ``input_audio_buffer.commit`` left the kernel (push-to-talk's end of a turn)."""
        self.commits.append(at_s)

    def origin(self, at_s: float) -> int | None:
        """Samples sent before the connection current at ``at_s`` began; None when that
        connection is older than the ones kept."""
        return next((n for t, n in reversed(self.origins) if t <= at_s), None)

    def sample_sent(self, sample: int) -> float | None:
        """When the append carrying ``sample`` (1-based, cumulative 24 kHz) left the kernel;
        None when no append has carried it yet, or the one that did is no longer kept."""
        if sample <= self._appends_dropped:
            return None  # not sent (sample <= 0), or older than the appends kept
        i = bisect.bisect_left(self.appends, (sample, float("-inf")))
        if i == len(self.appends):
            return None
        return self.appends[i][1]

    def sample_captured(self, sample: int) -> float | None:
        """When ``sample`` (1-based, cumulative 24 kHz) was captured, on the kernel's clock: its
        chunk's stamp (the chunk's last sample reached the page) less the samples after it,
        captured in real time. None without a clock or a chunk holding it."""
        if not self.mic_clock.known:
            return None
        i = bisect.bisect_left(self.chunks, sample, key=lambda c: c.end_sample)  # in order
        if i == len(self.chunks) or (i == 0 and len(self.chunks) == MAX_RECORDS):
            return None  # not captured yet, or older than the records kept
        later = self.chunks[i]
        if later.end_sample - sample > MODEL_RATE // 5:
            return None  # no chunk of the microphone's holds it (audio streamed from a file)
        captured = self.mic_clock.to_kernel(later.captured_ms)
        return captured - (later.end_sample - sample) / MODEL_RATE

    def played_for(self, response_id: str | None) -> Played | None:
        """The response's first audio item (None if none was seen)."""
        if response_id is None:
            return None
        return next((p for p in self.items.values() if p.response_id == response_id), None)

    # ---- delta -> played ------------------------------------------------------------------------

    def first_delta(self, item_id: str, response_id: str | None, received_s: float) -> None:
        if item_id in self.items:
            return
        handed = self._handed.pop(item_id, None)
        self.items[item_id] = Played(item_id, response_id, received_s, handed_s=handed)
        self._order.append(item_id)
        while len(self._order) > MAX_RECORDS:
            self.items.pop(self._order.popleft(), None)

    def handed(self, item_id: str, at_s: float) -> None:
        """The item's first decoded samples were sent to the browser at ``at_s`` (this may be
        reported before or after its first delta)."""
        known = self.items.get(item_id)
        if known is None:
            if item_id not in self._handed and len(self._handed) < 64:
                self._handed[item_id] = at_s
        elif known.handed_s is None:
            self.items[item_id] = replace(known, handed_s=at_s)

    def played(self, item_id: str, arrived_ms: float, played_ms: float) -> None:
        known = self.items.get(item_id)
        if known is None or known.played_ms is not None:
            return
        self.items[item_id] = replace(known, arrived_ms=arrived_ms, played_ms=played_ms)

    def speaker_breakdown(self, played: Played) -> dict[str, float] | None:
        """ms from the delta to the browser (of which ``in_kernel``: decoding and handing the
        samples to the comm), there until the first sample plays, and total."""
        if not self.speaker_clock.known or played.played_ms is None or played.arrived_ms is None:
            return None
        arrived_s = self.speaker_clock.to_kernel(played.arrived_ms)
        played_s = self.speaker_clock.to_kernel(played.played_ms)
        out = {
            "to_browser": (arrived_s - played.delta_s) * 1000,
            "in_browser": (played_s - arrived_s) * 1000,
            "total": (played_s - played.delta_s) * 1000,
        }
        if played.handed_s is not None:
            out["in_kernel"] = (played.handed_s - played.delta_s) * 1000
        return out

    # ---- summaries ------------------------------------------------------------------------------

    def mic_totals(self, since_s: float = 0.0, until_s: float = float("inf")) -> list[float]:
        """Capture -> append ms of the chunks sent in ``[since_s, until_s)``."""
        out = []
        for c in self.chunks:
            if c.sent_s is not None and since_s <= c.sent_s < until_s:
                b = self.mic_breakdown(c)
                if b is not None:
                    out.append(b["total"])
        return out

    def for_response(self, response_id: str) -> dict[str, float] | None:
        for played in self.items.values():
            if played.response_id == response_id:
                return self.speaker_breakdown(played)
        return None

    def summary(self) -> dict[str, Any]:
        """Medians and 90th percentiles of both paths, and the clocks' uncertainty."""
        mic = [b for c in self.chunks if (b := self.mic_breakdown(c)) is not None]
        out = [b for p in self.items.values() if (b := self.speaker_breakdown(p)) is not None]

        def stats(rows: list[dict[str, float]], key: str) -> dict[str, float | None]:
            values = [r[key] for r in rows]
            return {
                "median": statistics.median(values) if values else None,
                "p90": percentile(values, 0.9),
            }

        return {
            "mic_chunks": len(mic),
            "mic_to_append_ms": stats(mic, "total"),
            "mic_to_kernel_ms": stats(mic, "to_kernel"),
            "mic_in_kernel_ms": stats(mic, "in_kernel"),
            "played_items": len(out),
            "delta_to_played_ms": stats(out, "total"),
            "delta_to_browser_ms": stats(out, "to_browser"),
            "delta_in_kernel_ms": stats([r for r in out if "in_kernel" in r], "in_kernel"),
            "browser_to_played_ms": stats(out, "in_browser"),
            "mic_clock_uncertainty_ms": (
                self.mic_clock.uncertainty_ms if self.mic_clock.known else None
            ),
            "speaker_clock_uncertainty_ms": (
                self.speaker_clock.uncertainty_ms if self.speaker_clock.known else None
            ),
        }


def stop_to_sound(turn: TurnTiming, toolkit: ToolkitLatency | None = None) -> dict[str, Any] | None:
    """One turn's "you stopped -> first sound", in ms, split into segments laid end to end on
    the kernel's monotonic clock (each starts where the one before ends), or None for a turn
    no one spoke (a typed message).

    A turn ended by the server's VAD (``start: "speech_stopped"``):

    - ``vad_wait``: the person stops speaking -> the end of the silence the VAD waits for is
      captured. ``speech_stopped.audio_end_ms`` is where the server decided, on the input
      timeline (ms of audio appended since the connection began), and *includes* the
      ``silence_duration_ms`` it waited (OpenAI documents it; the local server does the same),
      so the speech ended ``silence_duration_ms`` earlier: this segment is exactly the
      ``silence_duration_ms`` in effect (a live microphone captures in real time). None for
      ``semantic_vad``, whose wait is not reported.
    - ``mic``: the sample at ``audio_end_ms`` is captured (the browser's stamp on its chunk,
      mapped to the kernel's clock) -> the ``input_audio_buffer.append`` carrying it leaves the
      kernel (toolkit: worklet, comm, encoding).
    - ``uplink``: that append leaves -> ``speech_stopped`` arrives (the network both ways and
      the server's decision on that audio).
    - ``server``: ``speech_stopped`` arrives -> the reply's first ``output_audio.delta``
      arrives (the server's own time to first audio; commit and response.created included).
    - ``to_browser``: the first delta arrives -> its first samples reach the page (toolkit:
      decoding, the comm).
    - ``playout``: they reach the page -> the speaker's worklet outputs the first sample
      (toolkit: the player's buffering, through ``getOutputTimestamp()``).

    A turn ended by a commit (push-to-talk, ``start: "commit"``): ``vad_wait`` is 0 and there
    is no ``mic`` part; ``uplink`` runs from the ``input_audio_buffer.commit`` sent to
    ``committed`` arriving, ``server`` from there to the first delta, the rest as above.

    ``total_ms`` is the first sample played minus the moment the person stopped (equal to
    the segments' sum), or None while any segment is unknown (no browser measured it, no
    audio has played yet, or the turn is older than the records kept); ``known_ms`` sums the
    segments known so far. Without ``toolkit`` only the server's parts are known. The values
    are as good as the clocks' offsets (:attr:`ClockOffset.uncertainty_ms`), so a toolkit
    segment may come out a little negative (the metrics row then calls it unknown).
    """
    played = toolkit.played_for(turn.response_id) if toolkit is not None else None
    first_audio = played.delta_s if played is not None else turn.first_audio
    arrived = played_at = None
    clock = toolkit.speaker_clock if toolkit is not None else None
    if clock is not None and clock.known and played is not None and played.played_ms is not None:
        assert played.arrived_ms is not None  # reported together (ToolkitLatency.played)
        arrived, played_at = clock.to_kernel(played.arrived_ms), clock.to_kernel(played.played_ms)

    def gap(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else (b - a) * 1000

    ms: dict[str, float | None]
    if turn.speech_stopped is not None:
        start = "speech_stopped"
        vad_ms = turn.vad_wait_ms
        captured = sent = None
        origin = toolkit.origin(turn.speech_stopped) if toolkit is not None else None
        if toolkit is not None and origin is not None and turn.audio_end_ms is not None:
            sample = origin + turn.audio_end_ms * MODEL_RATE // 1000
            captured, sent = toolkit.sample_captured(sample), toolkit.sample_sent(sample)
        stopped = None if captured is None or vad_ms is None else captured - vad_ms / 1000
        ms = {
            "vad_wait": vad_ms,
            "mic": gap(captured, sent),
            "uplink": gap(sent, turn.speech_stopped),
            "server": gap(turn.speech_stopped, first_audio),
        }
    elif turn.committed is not None:
        start = "commit"
        commits = [t for t in (toolkit.commits if toolkit else ()) if t <= turn.committed]
        stopped = commits[-1] if commits else None
        ms = {
            "vad_wait": 0.0,
            "uplink": gap(stopped, turn.committed),
            "server": gap(turn.committed, first_audio),
        }
    else:
        return None
    ms["to_browser"] = gap(first_audio, arrived)
    ms["playout"] = gap(arrived, played_at)
    complete = all(v is not None for v in ms.values()) and stopped is not None
    total = gap(stopped, played_at) if complete else None
    return {
        "start": start,
        "segments": {k: None if v is None else round(v, 1) for k, v in ms.items()},
        "total_ms": None if total is None else round(total, 1),
        "known_ms": round(sum(v for v in ms.values() if v is not None), 1),
    }
