"""The model's output in a GPT-Live session: one stream of speech, paced as Realtime replies are.

A part of :class:`~.live_engine.LiveEngine` (sans-I/O). GPT-Live has no responses: what the
model says is one continuous audio stream and its transcript (``session.output_audio.delta``,
``session.output_transcript.delta``). Everything that speaks goes into it as an
:class:`Utterance`, in the order it was asked for:

- ``reply``: the responder's answer to a turn (or to a delegation's result), handed in clause
  by clause by the reply pipeline (:mod:`.pipeline`), as a Realtime response's is;
- ``commentary``: what the client appended with ``session.commentary.append``, said as it is;
- ``acknowledgement``: what the server says when a task is delegated and nothing else is;
- ``fixture``: 24 kHz PCM16 the client asked to play (``session.output_audio.fixture.play``).

Only the first utterance of the queue is scheduled; the pieces of a later one wait until every
one before it has ended. A piece's events are scheduled after the audio already scheduled, by
the pacing rule every spoken output shares (:func:`~.reply.timeline.paced_due`: ``lead``
seconds ahead of real time at ``pace``; a piece that comes after the audio before it has all
played starts a gap, never an overlap), and :meth:`LiveOutput.release_due` releases them as
the clock passes them: audio deltas of :data:`~.reply.timeline.CHUNK_MS` in the session's
format (no ``event_id``: the SDK's has none) and one transcript delta per word when its audio
starts, with the word's span on the session timeline (``start_ms``/``end_ms``: where the
listener hears it). Without speech (no synthesiser) the words go out :data:`~.reply.timeline.
WORD_S` apart, as a Realtime text reply's.

:meth:`LiveOutput.stop` is the barge-in: everything not yet released is dropped, and each
utterance cut reports what the listener heard of it: the words whose audio had started playing
(the listener plays the audio as it comes, so what went out ``lead`` seconds ahead was not
heard). GPT-Live has no truncate event: the server knows where its listener is.

An utterance that has gone out whole, or was cut, returns :class:`~.outcomes.OutputSpoken`
(its text as heard; the engine keeps it in the context and ends a fixture).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from realtime_widgets.audio.formats import encode
from realtime_widgets.audio.pcm import Int16Array, pcm16_to_base64
from realtime_widgets.audio.rate import MODEL_RATE, samples_to_ms
from realtime_widgets.audio.resample import resample
from realtime_widgets.protocol import live_events as live
from realtime_widgets.protocol.live_parts import LiveAudioFormat
from realtime_widgets.server.emitter import LiveEmitter
from realtime_widgets.server.options import EngineOptions
from realtime_widgets.server.outcomes import OutputSpoken, Steps
from realtime_widgets.server.reply.material import ReplyPiece
from realtime_widgets.server.reply.timeline import CHUNK_MS, WORD_S, paced_due

__all__ = ["LiveOutput", "Utterance", "UtteranceKind", "encode_output"]

UtteranceKind = Literal["reply", "commentary", "acknowledgement", "fixture"]


def encode_output(samples: Int16Array, audio_format: LiveAudioFormat) -> bytes:
    """24 kHz speech in a Live session's audio format: PCM16 at 16 or 24 kHz, or G.711 at
    8 kHz."""
    rate = audio_format.rate
    x = (
        samples
        if rate == MODEL_RATE
        else np.asarray(resample(samples, MODEL_RATE, rate), dtype=np.int16)
    )
    return encode(x, audio_format.type)


@dataclass(eq=False)
class Utterance:
    """One thing the model says (or plays), from its first piece to its end."""

    key: str
    kind: UtteranceKind
    client_id: str | None = None
    waiting: deque[ReplyPiece | Int16Array] = field(default_factory=deque)
    ended: bool = False  # no more pieces come
    stopped: bool = False  # cut: takes nothing more
    # Each word scheduled: the clock time the listener starts hearing it, and the word.
    words: list[tuple[float, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Send:
    """An event to write when its time comes (its id is taken then, so ids follow the wire)."""

    kind: type[live.LiveServerEvent]
    fields: dict[str, object]


@dataclass(frozen=True)
class _Finished:
    """The mark after an utterance's last event."""

    utterance: Utterance


class LiveOutput:
    """The output stream (see the module docstring). ``audio_format``: the session's format;
    ``position``: a clock time -> milliseconds on the session timeline."""

    def __init__(
        self,
        out: LiveEmitter,
        audio_format: Callable[[], LiveAudioFormat],
        options: EngineOptions,
        position: Callable[[float], int],
    ) -> None:
        self.out = out
        self._format = audio_format
        self._options = options
        self._position = position
        self.queue: deque[Utterance] = deque()  # not yet ended, or ended and not yet scheduled
        self.playing: list[Utterance] = []  # scheduled, not yet out whole
        self.by_key: dict[str, Utterance] = {}
        self.pending: deque[tuple[float, _Send | _Finished]] = deque()
        # The stream's content timeline (s of audio): offset o is due at
        # paced_due(o, origin, anchor), and heard from origin + o / pace.
        self.offset = 0.0
        self.origin = 0.0
        self.anchor = 0.0
        self.said_a_word = False  # every transcript delta after the stream's first has a space

    # ---- what the engine asks ------------------------------------------------------------------

    @property
    def next_due(self) -> float | None:
        return self.pending[0][0] if self.pending else None

    @property
    def busy(self) -> bool:
        """Something is queued, being computed or still going out."""
        return bool(self.queue or self.playing)

    def open(self, key: str, kind: UtteranceKind, client_id: str | None = None) -> Utterance:
        """A new utterance at the end of the queue (its pieces come with :meth:`add`)."""
        utterance = Utterance(key, kind, client_id)
        self.queue.append(utterance)
        self.by_key[key] = utterance
        return utterance

    def wants(self, key: str) -> bool:
        """Whether utterance ``key`` still takes pieces (not ended, not cut)."""
        u = self.by_key.get(key)
        return u is not None and not u.ended and not u.stopped

    def add(self, key: str, piece: ReplyPiece | Int16Array, now: float) -> None:
        """A piece of utterance ``key`` (a clause and its speech, or a fixture's samples);
        ignored when it takes no more."""
        u = self.by_key.get(key)
        if u is None or u.ended or u.stopped:
            return
        u.waiting.append(piece)
        self._flush(now)

    def end(self, key: str, now: float) -> None:
        """Utterance ``key`` has no more pieces."""
        u = self.by_key.get(key)
        if u is None or u.ended or u.stopped:
            return
        u.ended = True
        self._flush(now)

    def release_due(self, now: float) -> Steps:
        """The events whose time has come, and the utterances that went out whole."""
        out: Steps = []
        while self.pending and self.pending[0][0] <= now:
            _, entry = self.pending.popleft()
            if isinstance(entry, _Finished):
                out.append(self._finished(entry.utterance, complete=True, now=now))
            else:
                out.append(self.out.event(entry.kind, **entry.fields))
        return out

    def stop(self, now: float) -> Steps:
        """Barge-in (or a fixture taking the output): nothing more goes out of what is queued,
        computing or scheduled; each utterance cut says what the listener heard of it."""
        out: Steps = []
        for u in [*self.playing, *(u for u in self.queue if u not in self.playing)]:
            u.stopped = True
            out.append(self._finished(u, complete=False, now=now))
        self.queue.clear()
        self.pending.clear()
        # The audio scheduled and not heard is dropped: the stream goes on from now.
        pace = self._options.pace
        if pace > 0:
            self.offset = min(self.offset, max(0.0, (now - self.origin) * pace))
        return out

    # ---- scheduling ----------------------------------------------------------------------------

    def _finished(self, u: Utterance, *, complete: bool, now: float) -> OutputSpoken:
        if u in self.playing:
            self.playing.remove(u)
        self.by_key.pop(u.key, None)
        heard = u.words if complete else [(t, w) for t, w in u.words if t <= now]
        return OutputSpoken(u.key, u.kind, " ".join(w for _, w in heard), complete, u.client_id)

    def _flush(self, now: float) -> None:
        """Schedule what the head of the queue has; an ended head leaves the queue (its end
        mark after its last event) and the next one is scheduled."""
        while self.queue:
            u = self.queue[0]
            if u.waiting and u not in self.playing:
                self.playing.append(u)
            while u.waiting:
                self._schedule(u, u.waiting.popleft(), now)
            if not u.ended:
                return
            self.queue.popleft()
            if u not in self.playing:
                self.playing.append(u)
            at = self.pending[-1][0] if self.pending else now
            self.pending.append((at, _Finished(u)))

    def _restart_if_starved(self, now: float) -> None:
        """Content that comes after everything before it has played starts at ``now`` (a
        gap, never an overlap), as a Realtime reply's pieces do (:mod:`.responses`)."""
        pace = self._options.pace
        if not self.pending and (pace <= 0 or self.origin + self.offset / pace <= now):
            self.anchor = now
            self.origin = now - (self.offset / pace if pace > 0 else self.offset)

    def _due(self, offset: float) -> float:
        o = self._options
        return paced_due(offset, origin=self.origin, anchor=self.anchor, pace=o.pace, lead=o.lead)

    def _heard_at(self, offset: float) -> float:
        """When the listener hears content ``offset`` (all at once when pace is 0)."""
        pace = self._options.pace
        return self.origin + offset / pace if pace > 0 else self.anchor

    def _schedule(self, u: Utterance, piece: ReplyPiece | Int16Array, now: float) -> None:
        self._restart_if_starved(now)
        if isinstance(piece, ReplyPiece):
            words = piece.text.split()
            speech = piece.speech
            samples = speech.samples if speech is not None else None
            starts = list(speech.word_starts_ms) if speech is not None else []
        else:
            words, samples, starts = [], piece, []
        timed: list[tuple[float, int, _Send]] = []  # (offset s, order, event)
        if samples is not None:
            audio_ms = samples_to_ms(len(samples))
            fmt = self._format()
            data = encode_output(samples, fmt)
            per_ms = len(data) / max(audio_ms, 1e-9)
            step = max(1, round(per_ms * CHUNK_MS))
            if fmt.type == "audio/pcm":
                step = max(2, step - step % 2)
            for start in range(0, len(data), step):
                chunk = pcm16_to_base64(data[start : start + step])
                at = self.offset + start / per_ms / 1000
                timed.append((at, 1, _Send(live.OutputAudioDeltaEvent, {"delta": chunk})))
            starts = [min(t, audio_ms) for t in starts[: len(words)]]
            starts += [audio_ms] * (len(words) - len(starts))
            ends = [*starts[1:], audio_ms][: len(words)]
            length_s = audio_ms / 1000
        else:
            starts = [i * WORD_S * 1000 for i in range(len(words))]
            ends = [t + WORD_S * 1000 for t in starts]
            length_s = WORD_S * len(words)
        for word, start_ms, end_ms in zip(words, starts, ends, strict=True):
            at = self.offset + start_ms / 1000
            heard = self._heard_at(at)
            delta = f" {word}" if self.said_a_word else word
            self.said_a_word = True
            fields: dict[str, object] = {
                "delta": delta,
                "start_ms": self._position(heard),
                "end_ms": self._position(self._heard_at(self.offset + end_ms / 1000)),
            }
            timed.append((at, 0, _Send(live.OutputTranscriptDeltaEvent, fields)))
            u.words.append((heard, word))
        for at, _, send in sorted(timed, key=lambda t: (t[0], t[1])):
            self.pending.append((self._due(at), send))
        self.offset += length_s
