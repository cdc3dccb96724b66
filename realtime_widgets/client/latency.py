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
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = ["MAX_RECORDS", "ClockOffset", "Played", "ToolkitLatency", "percentile"]

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
