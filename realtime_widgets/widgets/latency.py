"""LatencyProbe: measures the latency the toolkit adds, in the real browser, per turn.

Attach it to a session's Microphone and Speaker (the Playground does)::

    probe = LatencyProbe(session, microphone, speaker)
    probe.summary()        # medians / p90 of capture -> append and delta -> first sample played
    probe.per_turn()       # each turn: the server's part and the toolkit's parts, in ms,
                           # and "you stopped -> first sound" in segments (stop_to_sound)

It listens through public hooks only: the widgets' message listeners (the browser's stamps
and its answers to clock pings), ``session.on_history`` (when each append left the kernel,
when each item's first audio delta arrived) and the session's output audio tap (when the
speaker got its samples). The arithmetic and the clock offset live in
:mod:`realtime_widgets.client.latency`.

All of those run on the session loop (the widgets' messages hop there), so its records are
touched there only; :meth:`LatencyProbe.summary` and :meth:`LatencyProbe.per_turn` read them
there too.
"""

from __future__ import annotations

import itertools
import re
import statistics
import time
from collections.abc import Callable
from typing import Any

from realtime_widgets.audio.formats import BYTES_PER_SAMPLE, FORMAT_RATES
from realtime_widgets.audio.rate import MODEL_RATE
from realtime_widgets.client.latency import ToolkitLatency, stop_to_sound
from realtime_widgets.client.session import HistoryEntry, RealtimeSession
from realtime_widgets.protocol.state import base64_decoded_size
from realtime_widgets.widgets.browser_messages import on_session_loop, read_on_session_loop
from realtime_widgets.widgets.microphone import Microphone
from realtime_widgets.widgets.speaker import Speaker

__all__ = ["PING_EVERY_S", "LatencyProbe"]

PING_EVERY_S = 0.5  # clock pings while audio flows (a ping is ~60 bytes each way)
_BYTES = re.compile(r"<(\d+) bytes>")


class LatencyProbe:
    """Toolkit latency of one session's microphone and speaker (see the module docstring)."""

    def __init__(
        self,
        session: RealtimeSession,
        microphone: Microphone | None = None,
        speaker: Speaker | None = None,
    ) -> None:
        self.session = session
        self.microphone = microphone
        self.speaker = speaker
        self.core = ToolkitLatency()
        self._ids = itertools.count(1)
        self._pings: dict[int, tuple[str, float]] = {}  # id -> (widget, sent at)
        self._last_ping = {"mic": 0.0, "speaker": 0.0}
        self._listeners: list[Callable[[], None]] = []
        self._removers = [session.on_history(self._on_history)]
        if microphone is not None:
            microphone.add_message_listener(self._on_mic)
        if speaker is not None:
            speaker.add_message_listener(self._on_speaker)
            # After the speaker's own tap (registered first): its samples have just been sent.
            self._removers.append(session.add_output_audio_tap(self._on_output))

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` when a turn's toolkit latency becomes known (a sample played)
        or changes (a clock's offset, once a sample played, moved with a shorter round trip)."""
        self._listeners.append(listener)

    # ---- clock pings ----------------------------------------------------------------------------

    def ping(self, which: str) -> None:
        """Send one clock ping to the ``"mic"`` or ``"speaker"`` widget's page (from any
        thread: it is stamped on the session loop)."""
        on_session_loop(self.session, self._ping, which)

    def _ping(self, which: str) -> None:
        widget = self.microphone if which == "mic" else self.speaker
        if widget is None:
            return
        ping_id = next(self._ids)
        now = time.monotonic()
        self._pings[ping_id] = (which, now)
        self._last_ping[which] = now
        for old in [i for i, (_, t) in self._pings.items() if now - t > 30]:
            del self._pings[old]  # never answered (a closed page): forget it
        widget.send({"type": "ping", "id": ping_id})

    def _maybe_ping(self, which: str, now: float) -> None:
        if now - self._last_ping[which] >= PING_EVERY_S:
            self._ping(which)

    def _pong(self, content: dict[str, Any], received: float) -> None:
        sent = self._pings.pop(int(content.get("id", -1)), None)
        if sent is None or not isinstance(content.get("t"), int | float):
            return
        which, at = sent
        clock = self.core.mic_clock if which == "mic" else self.core.speaker_clock
        before = clock.best if clock.known else None
        clock.add(at, float(content["t"]), received)
        if clock.best != before and any(p.played_ms is not None for p in self.core.items.values()):
            self._notify()  # a played turn's figures moved with the offset

    def _notify(self) -> None:
        for listener in self._listeners:
            listener()

    # ---- listeners ------------------------------------------------------------------------------

    def _on_mic(self, content: dict[str, Any], buffers: list[bytes], received: float) -> None:
        kind = content.get("type")
        if kind == "pong":
            self._pong(content, received)
        elif kind == "audio" and buffers and isinstance(content.get("t"), int | float):
            assert self.microphone is not None
            end = self.microphone.samples_received + len(buffers[0]) // 2
            self.core.mic_chunk(float(content["t"]), received, end)
            # Audio flows: keep both clocks fresh (the round trips of a busy kernel vary; the
            # shortest one wins, so more pings mean a tighter offset).
            self._maybe_ping("mic", received)
            self._maybe_ping("speaker", received)

    def _on_speaker(self, content: dict[str, Any], buffers: list[bytes], received: float) -> None:
        kind = content.get("type")
        if kind == "pong":
            self._pong(content, received)
        elif kind == "started":
            arrived, played = content.get("arrived"), content.get("played")
            if isinstance(arrived, int | float) and isinstance(played, int | float):
                self.core.played(str(content.get("item_id")), float(arrived), float(played))
                self._notify()

    def _on_history(self, entry: HistoryEntry) -> None:
        at = time.monotonic() - (self.session.elapsed - entry.t)  # entry.t: the session's clock
        if entry.direction == "in" and entry.type == "response.output_audio.delta":
            self._on_delta(entry.data, at)  # stamped when the frame arrived, before decoding
            return
        if entry.direction == "in" and entry.type == "session.created":
            self.core.connected(at)  # the server's input timeline starts again at 0
            return
        if entry.direction == "out" and entry.type == "input_audio_buffer.commit":
            self.core.commit_sent(at)
            return
        if entry.direction != "out" or entry.type != "input_audio_buffer.append":
            return
        sent = at
        audio = entry.data.get("audio")
        found = _BYTES.fullmatch(audio) if isinstance(audio, str) else None
        if found is not None:
            size = int(found.group(1))
        else:  # a short append keeps its base64
            size = base64_decoded_size(audio if isinstance(audio, str) else "")
        fmt = self.session.requested.input_audio_format.type
        samples = size // BYTES_PER_SAMPLE[fmt] * MODEL_RATE // FORMAT_RATES[fmt]
        self.core.append_sent(sent, samples)

    def _on_output(self, item_id: str, samples: Any) -> None:
        self.core.handed(item_id, time.monotonic())

    def _on_delta(self, data: dict[str, Any], received: float) -> None:
        item_id = data.get("item_id")
        if not isinstance(item_id, str):
            return
        response_id = data.get("response_id")
        fresh = item_id not in self.core.items
        self.core.first_delta(
            item_id, response_id if isinstance(response_id, str) else None, received
        )
        if fresh:
            self._maybe_ping("speaker", received)

    # ---- results --------------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """Medians / p90 of both paths (ms) and the clock offsets' uncertainty."""
        return read_on_session_loop(self.session, self.core.summary)

    def per_turn(self, last: int | None = None) -> list[dict[str, Any]]:
        """For each turn of ``session.metrics``: the server's part (speech stopped -> first
        delta), the toolkit's input part (median capture -> append of the chunks sent during
        the turn's speech) and output part (first delta -> first sample played), in ms; and
        ``stop_to_sound``, "you stopped -> first sound" in segments
        (:func:`~realtime_widgets.client.latency.stop_to_sound`). ``last``: only the last
        turns."""
        return read_on_session_loop(self.session, lambda: self._per_turn(last))

    def _per_turn(self, last: int | None = None) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        turns = self.session.metrics.turns
        first = 0 if last is None else max(0, len(turns) - last)
        # A turn's chunks are those sent after the last earlier first delta; chained over the
        # turns not shown too, so the last turns get the same windows as in the whole list.
        previous = 0.0
        for earlier in turns[:first]:
            previous = earlier.first_delta or previous
        for turn in turns[first:]:
            end = turn.speech_stopped or turn.committed
            mic = self.core.mic_totals(previous, end if end is not None else float("inf"))
            out = self.core.for_response(turn.response_id) if turn.response_id else None
            server = turn.breakdown_ms()["total_to_first_delta"]
            rows.append(
                {
                    "server": server,
                    "toolkit_in": round(statistics.median(mic), 1) if mic else None,
                    "toolkit_out": round(out["total"], 1) if out else None,
                    "stop_to_sound": stop_to_sound(turn, self.core),
                }
            )
            previous = turn.first_delta or previous
        return rows

    def close(self) -> None:
        for remove in self._removers:
            remove()
        self._removers = []
