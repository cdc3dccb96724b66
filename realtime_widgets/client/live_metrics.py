"""GPT-Live's latency: from the end of the person's speech to the model's first audio.

GPT-Live owns turn-taking and reports no turn events: the end of the person's speech is read
from the input transcript (the ``end_ms`` of a turn's last ``session.input_transcript.delta``,
a position on the session's timeline), and the model's answer from its audio
(``session.output_audio.delta`` as it arrives). Two clocks meet here:

- :class:`InputClock` maps a timeline position to the moment the client sent the input audio
  at that position (each append's send time, less the audio after the position in it, but
  never before the append before it was sent; in the first append, never before its own
  send). That is exact when the server's timeline counts the input audio it received (as
  Realtime's ``audio_end_ms`` does, and the local server's), and the wall clock's position
  when the audio is streamed in real time, as a microphone does. Audio sent faster than real
  time (a file in one append) is placed no earlier than it left the client, so the latency
  is at most the time from that send to the first audio. A position past the audio sent is
  placed as if the stream had gone on in real time.
- arrivals are stamped with the session clock (seconds, the core's ``elapsed``).

Each turn of the person's (:class:`~realtime_widgets.client.live_state.LiveTurn`, role
``user``) has a :class:`LiveTurnTiming`: ``speech_end`` (when the audio at its ``end_ms`` was
sent), ``heard`` (when its last transcript delta arrived) and ``first_audio``: the first output
audio delta that arrived at or after ``speech_end`` (kept up to date when a late delta moves
the end). ``latency_ms`` is their difference; :meth:`LiveTurnTiming.breakdown_ms` and
``status`` are what Realtime's :class:`~realtime_widgets.client.metrics.TurnTiming` offers, so
the same views read them. The model's audio that was already playing when the person stopped
(the model talking over them) counts as its first audio: the listener heard it then.
"""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass, field

from realtime_widgets.client.live_state import MAX_TURNS, LiveTurn

__all__ = ["InputClock", "LiveMetrics", "LiveTurnTiming"]

_CHUNKS = 8192  # appends remembered (about 3 minutes of 20 ms chunks)
_ARRIVALS = 16384  # output audio arrivals remembered (about 5 minutes at 50 a second)


class InputClock:
    """When the client sent each position of the input audio (see the module docstring).
    Positions are milliseconds of audio sent since the server session started."""

    def __init__(self) -> None:
        self.sent_ms = 0.0
        self._chunks: deque[tuple[float, float]] = deque(maxlen=_CHUNKS)  # (end ms, sent at)
        self._forgotten: float | None = None  # when the last chunk no longer remembered went

    def sent(self, ms: float, at: float) -> None:
        """``ms`` of audio were sent at session time ``at`` (seconds)."""
        if ms <= 0:
            return
        self.sent_ms += ms
        if len(self._chunks) == self._chunks.maxlen:
            self._forgotten = self._chunks[0][1]
        self._chunks.append((self.sent_ms, at))

    def when(self, position_ms: float) -> float | None:
        """The session time (s) the audio at ``position_ms`` was sent; None before any.

        Inside a chunk, the audio before its end is placed as if captured in real time up to
        the chunk's send time, but never before the chunk before it was sent (the first
        chunk: before its own send time). Audio sent faster than real time (a file in one
        append) could not have been captured before the send that came before it; placing it
        earlier would count time the client spent not sending yet."""
        if not self._chunks:
            return None
        end, at = self._chunks[-1]
        if position_ms >= end:
            return at + (position_ms - end) / 1000
        floor = self._forgotten
        for chunk_end, chunk_at in reversed(self._chunks):
            if chunk_end < position_ms:
                floor = chunk_at
                break
            end, at = chunk_end, chunk_at
        else:
            floor = at if floor is None else floor
        return max(floor, at - (end - position_ms) / 1000)

    def reset(self) -> None:
        """A new server session: its timeline starts at zero."""
        self.sent_ms = 0.0
        self._chunks.clear()
        self._forgotten = None


@dataclass(eq=False)
class LiveTurnTiming:
    """One turn of the person's and the model's first audio after it (session seconds; ms on
    the timeline). ``status``: ``answered`` once that audio came, else None."""

    turn: LiveTurn = field(repr=False)
    end_ms: int
    speech_end: float | None
    heard: float
    first_audio: float | None = None

    @property
    def status(self) -> str | None:
        return "answered" if self.first_audio is not None else None

    @property
    def latency_ms(self) -> float | None:
        """End of the person's speech to the model's first audio, in ms."""
        if self.first_audio is None or self.speech_end is None:
            return None
        return round((self.first_audio - self.speech_end) * 1000, 1)

    def breakdown_ms(self) -> dict[str, float | None]:
        """Milliseconds of each step (the keys a latency view shows): ``transcript`` (end of
        speech to its transcript's arrival), ``end_to_first_audio``, and
        ``total_to_first_delta`` (the same total, under Realtime's name)."""
        lag = None if self.speech_end is None else round((self.heard - self.speech_end) * 1000, 1)
        return {
            "transcript": lag,
            "end_to_first_audio": self.latency_ms,
            "total_to_first_delta": self.latency_ms,
        }


class LiveMetrics:
    """Per-turn latency of a GPT-Live session (see the module docstring); fed by the core:
    :meth:`input_sent` for each append, :meth:`user_turn` for each input transcript delta,
    :meth:`model_audio` for each output audio delta, :meth:`new_session` after a reconnect."""

    def __init__(self) -> None:
        self.turns: list[LiveTurnTiming] = []
        self.clock = InputClock()
        self._arrivals: list[float] = []  # output audio arrivals of this server session
        self._by_turn: dict[int, LiveTurnTiming] = {}
        self._session = 0  # the server session (a turn of an earlier one gets no audio now)

    def input_sent(self, ms: float, at: float) -> None:
        self.clock.sent(ms, at)

    def user_turn(self, turn: LiveTurn, now: float) -> LiveTurnTiming:
        """A transcript delta of the person's ``turn`` arrived at ``now``: its timing, made or
        moved to the turn's end."""
        timing = self._by_turn.get(turn.n)
        speech_end = self.clock.when(turn.end_ms)
        if timing is None:
            timing = LiveTurnTiming(turn, turn.end_ms, speech_end, now)
            self._by_turn[turn.n] = timing
            self.turns.append(timing)
            while len(self.turns) > MAX_TURNS:
                del self._by_turn[self.turns.pop(0).turn.n]
        else:
            timing.end_ms, timing.speech_end, timing.heard = turn.end_ms, speech_end, now
        timing.first_audio = self._first_arrival(speech_end)
        return timing

    def model_audio(self, now: float) -> None:
        """An output audio delta arrived at ``now``: the first audio of every turn waiting."""
        self._arrivals.append(now)
        if len(self._arrivals) > 2 * _ARRIVALS:
            del self._arrivals[:_ARRIVALS]
        for timing in reversed(self.turns):
            if timing.first_audio is not None or timing.turn.session != self._session:
                break
            if timing.speech_end is not None and timing.speech_end <= now:
                timing.first_audio = now

    def _first_arrival(self, after: float | None) -> float | None:
        if after is None:
            return None
        i = bisect.bisect_left(self._arrivals, after)
        return self._arrivals[i] if i < len(self._arrivals) else None

    def new_session(self, session: int) -> None:
        """Server session number ``session`` began (a reconnect's: 1, 2, ...): a new timeline,
        no audio yet; a turn of a session before it that was still waiting stays unanswered."""
        self._session = session
        self.clock.reset()
        self._arrivals.clear()

    def latencies_ms(self) -> list[float]:
        """End of speech to first audio, for each turn that has had its audio."""
        return [t.latency_ms for t in self.turns if t.latency_ms is not None]
