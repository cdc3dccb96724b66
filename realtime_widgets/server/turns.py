"""Input audio and turns: the input buffer, turn detection, the idle timeout, commit and clear.

A part of a session engine (sans-I/O), shared by every session kind: it owns the buffer, the
decoder, the turn detector and the idle timer; it writes through an :class:`~.emitter.Emitter`
and reads the session's input settings through a callable. Appended audio is decoded to the
model's timeline; a :class:`~.vad.TurnDetector` (when ``turn_detection`` is set) turns it into
``speech_started`` / ``speech_stopped`` and committed turns. What happens to a turn is not this
part's business: it returns outcomes (:mod:`.outcomes`) among its events, and the engine routes
them: :class:`~.outcomes.SpeechStarted` (a barge-in may cancel a reply),
:class:`~.outcomes.TurnEnded` (an item, a transcript, maybe a response) and
:class:`~.outcomes.TurnsDecided` (the engine then calls :meth:`InputTurns.after_turns`, telling
it whether a reply is in progress, for the idle timeout). The appending methods yield their
steps lazily (:data:`~.outcomes.StepStream`): the engine routes each outcome before this part
decides the next turn, so one append that holds two turns reads as two turns in sequence.

A manual commit needs OpenAI's 100 ms minimum. An append is refused (with an ``error``, the
buffer kept) past OpenAI's 15 MiB per append or the local ``max_buffer_s`` of uncommitted audio
(:class:`~.limits.ServerLimits`).
"""

from __future__ import annotations

import base64
import binascii
from collections import deque
from collections.abc import Callable, Iterator
from typing import Protocol

import numpy as np

from realtime_widgets.audio.formats import FORMAT_RATES, decode
from realtime_widgets.audio.pcm import Int16Array
from realtime_widgets.audio.rate import MODEL_RATE, ms_to_samples, samples_to_ms, samples_to_s
from realtime_widgets.audio.resample import Resampler
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.parts import SemanticVad, ServerVad
from realtime_widgets.protocol.transcription_config import TranscriptionConfig
from realtime_widgets.server.emitter import Emitter, Event
from realtime_widgets.server.limits import ServerLimits
from realtime_widgets.server.outcomes import (
    PauseVoided,
    SpeechPaused,
    SpeechStarted,
    Step,
    Steps,
    StepStream,
    TurnEnded,
    TurnsDecided,
)
from realtime_widgets.server.vad import TurnDetector, TurnEvent

__all__ = [
    "MIN_COMMIT_MS",
    "TURN_EVENTS",
    "AudioAppend",
    "InputBuffer",
    "InputSettings",
    "InputTurns",
    "WireFormat",
]

MIN_COMMIT_MS = 100.0
# The events this part writes on its own as it finds turns (speech started and stopped, an idle
# timeout): Realtime's turn events. A kind that reports no turns of Realtime's (translation and
# GPT-Live, whose unions have none) keeps them inside. All three: neither kind's settings have
# an idle timeout today, but one that did would write it, and it is no event of theirs either.
# (``cleared`` is not one: it answers a client's input_audio_buffer.clear, which neither kind
# has.)
TURN_EVENTS: frozenset[str] = frozenset(
    str(m.model_fields["type"].default)
    for m in (ev.SpeechStarted, ev.SpeechStopped, ev.InputAudioBufferTimeoutTriggered)
)
# Appends shorter than this are joined to the chunk before them: a million 3-byte appends must
# not cost a million chunk records (~170 bytes each) for ~1 minute of audio.
_SMALL_CHUNK = ms_to_samples(100)
_KEPT_SILENCE = MODEL_RATE * 60  # pre-speech audio kept for a manual commit: a minute
_SEMANTIC_PREFIX_MS = 300  # semantic_vad has no prefix_padding_ms setting

# The settings the input part reads: any session kind's config (both have these fields).
InputSettings = SessionConfig | TranscriptionConfig
# The input audio's wire format and its sample rate: ("audio/pcm", 24000) for Realtime, also
# ("audio/pcm", 16000) for GPT-Live; G.711 is 8 kHz.
WireFormat = tuple[str, int]


class AudioAppend(Protocol):
    """An append event of any session kind (Realtime's ``input_audio_buffer.append``, GPT-Live's
    ``session.input_audio.append``): base64 audio and the client's event id."""

    @property
    def audio(self) -> str: ...

    @property
    def event_id(self) -> str | None: ...


class InputBuffer:
    """Appended audio on the model's timeline since the last commit/clear."""

    def __init__(self) -> None:
        self.chunks: deque[tuple[int, Int16Array]] = deque()
        self.start = 0  # sample index where the uncommitted buffer begins
        self.end = 0  # samples appended since the session began

    def append(self, samples: Int16Array) -> None:
        if not samples.size:
            return
        if self.chunks and len(self.chunks[-1][1]) < _SMALL_CHUNK and len(samples) < _SMALL_CHUNK:
            start, last = self.chunks.pop()
            self.chunks.append((start, np.concatenate([last, samples])))
        else:
            self.chunks.append((self.end, samples))
        self.end += len(samples)

    def slice(self, start: int, stop: int) -> Int16Array:
        parts = [
            c[max(0, start - s) : max(0, min(len(c), stop - s))]
            for s, c in self.chunks
            if s < stop and s + len(c) > start
        ]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)

    def drop_before(self, sample: int) -> None:
        self.start = max(self.start, sample)
        while self.chunks and self.chunks[0][0] + len(self.chunks[0][1]) <= self.start:
            self.chunks.popleft()

    @property
    def ms(self) -> float:
        return samples_to_ms(self.end - self.start)


class InputTurns:
    """The input side of a session: buffer, decoder, turn detector, idle timer."""

    def __init__(
        self,
        out: Emitter,
        settings: Callable[[], InputSettings],
        limits: ServerLimits,
        detector: Callable[[ServerVad | SemanticVad], TurnDetector],
        wire_format: Callable[[], WireFormat] | None = None,
    ) -> None:
        self.out = out
        self._settings = settings
        # The wire format of appended audio: the settings' input format at its rate, unless a
        # kind says otherwise (GPT-Live's PCM may be 16 kHz, which no Realtime format is).
        self._wire_format = wire_format or self._settings_format
        self._limits = limits
        self._new_detector = detector
        self.buffer = InputBuffer()
        self.appended_bytes = 0  # bytes of audio accepted (as sent, before decoding)
        self._decoder: Resampler | None = None
        self._pcm_carry = b""
        self._detector: TurnDetector | None = None
        self._detector_origin = 0  # sample index where the detector's timeline starts
        self._last_append = 0  # where the last append began (sample index)
        self._turn_item: str | None = None
        self._turn_start_ms = 0
        self._paused = False  # a SpeechPaused was told for the turn in progress
        # Where the idle timeout counts from (input ms): set when a reply ends, cleared by speech.
        self.idle_anchor_ms: float | None = None
        # Appended audio is heard as silence (GPT-Live's muted input, or a fixture playing).
        self.silenced = False

    @property
    def input_ms(self) -> float:
        """Milliseconds of audio appended since the session began (the input timeline)."""
        return samples_to_ms(self.buffer.end)

    @property
    def in_speech(self) -> bool:
        """Turn detection is inside a turn (speech started and not stopped)."""
        return self._detector is not None and self._detector.in_speech

    # ---- configuration ------------------------------------------------------------------------

    def _settings_format(self) -> WireFormat:
        fmt = self._settings().input_audio_format.type
        return fmt, FORMAT_RATES[fmt]

    def reset_format(self) -> None:
        """The input format changed: drop the decoder's state."""
        self._decoder = None
        self._pcm_carry = b""

    def sync_detector(self) -> None:
        """Build, reconfigure or drop the turn detector after a session change."""
        td = self._settings().turn_detection
        if td is None:
            if self._detector is not None:
                self._detector.close()
            self._detector = None
            return
        if self._detector is None:
            self._detector = self._new_detector(td)
            self._detector_origin = self.buffer.end
        else:
            self._detector.configure(td)  # server_vad <-> semantic_vad too: same signals

    def idle_from(self, ms: float | None) -> None:
        """Count the idle timeout from ``ms`` on the input timeline (where a reply's audio
        ends for the listener)."""
        self.idle_anchor_ms = ms

    def close(self) -> None:
        if self._detector is not None:
            self._detector.close()
            self._detector = None

    # ---- appending ----------------------------------------------------------------------------

    def _too_big(self, e: AudioAppend) -> Event:
        """OpenAI's error for an append over the limit (written only when one is refused: the
        append path runs 25 times a second per session)."""
        return self.out.error(
            "Invalid 'audio': the audio chunk exceeds the maximum size of "
            f"{self._limits.max_append_bytes / 1024 / 1024:g} MiB.",
            "invalid_value",
            "audio",
            e.event_id,
        )

    def on_append(self, e: AudioAppend, now: float) -> Steps | StepStream:
        limits = self._limits
        if len(e.audio) > -(-limits.max_append_bytes // 3) * 4:  # over even before decoding
            return [self._too_big(e)]
        try:
            data = base64.b64decode(e.audio, validate=True)
        except (binascii.Error, ValueError):
            return [
                self.out.error(
                    "Invalid 'audio'. Expected base64-encoded audio bytes.",
                    "invalid_value",
                    "audio",
                    e.event_id,
                )
            ]
        if len(data) > limits.max_append_bytes:
            return [self._too_big(e)]
        # The decoded length on the model's timeline, known before decoding (a refused append
        # must leave the decoder's state as it was).
        fmt, rate = self._wire_format()
        samples = (
            (len(self._pcm_carry) + len(data)) // 2 * MODEL_RATE // rate
            if fmt == "audio/pcm"
            else len(data) * MODEL_RATE // rate
        )
        held_s = samples_to_s(self.buffer.end - self.buffer.start + samples)
        if held_s > limits.max_buffer_s:
            return [
                self.out.error(
                    "Invalid 'audio': the uncommitted input audio buffer would hold "
                    f"{held_s:.1f} s, over the local server's limit of {limits.max_buffer_s:g} s "
                    "(ServerLimits.max_buffer_s, realtime-widgets serve --max-buffer-s). "
                    "Commit or clear the buffer first; the audio already buffered is kept.",
                    "input_audio_buffer_full",
                    "audio",
                    e.event_id,
                )
            ]
        self.appended_bytes += len(data)
        decoded = self._to_timeline(data)
        if self.silenced:  # heard as silence: the timeline goes on, the words are not heard
            decoded = np.zeros_like(decoded)
        return self.append_samples(decoded)

    def append_samples(self, samples: Int16Array) -> StepStream:
        """Append decoded input audio on the model's timeline (what ``on_append`` does after
        base64 and format decoding; the VAD lab calls it through the engine)."""
        yield from self.settle()
        self._last_append = self.buffer.end
        self.buffer.append(samples)
        if self._detector is not None:
            for turn in self._detector.feed(samples):
                yield from self._on_turn(turn)
            if self._detector.pending:
                return  # the rest once the batch has run: resume()
        yield TurnsDecided()

    @property
    def vad_pending(self) -> bool:
        """Turn decisions wait for the shared VAD batch (a detector built with one)."""
        return self._detector is not None and self._detector.pending

    def resume(self) -> StepStream:
        """The turn events of the audio appended last, once the VAD batch has run."""
        if self._detector is None or self._detector.pending:
            return  # nothing waited, or the batch has not run yet
        for turn in self._detector.resume():
            yield from self._on_turn(turn)
        yield TurnsDecided()

    def settle(self) -> StepStream:
        """Finish what waits for the VAD batch (running it now if need be): everything else a
        session does sees every appended frame decided, as without a batch."""
        if not self.vad_pending:
            return
        assert self._detector is not None
        for turn in self._detector.settle():
            yield from self._on_turn(turn)
        yield TurnsDecided()

    def after_turns(self, *, replying: bool) -> Steps:
        """Once every frame is decided (:class:`~.outcomes.TurnsDecided`): drop old silence,
        and end an idle turn when the timeout has passed with no reply in progress."""
        if not self.in_speech and self._detector is not None:
            # Keep a minute of pre-speech audio for a manual commit; older silence is dropped.
            self.buffer.drop_before(min(self.buffer.end - _KEPT_SILENCE, self._last_append))
        return self._check_idle(replying)

    def _to_timeline(self, data: bytes) -> Int16Array:
        fmt, rate = self._wire_format()
        if fmt == "audio/pcm":
            data = self._pcm_carry + data
            if len(data) % 2:
                self._pcm_carry, data = data[-1:], data[:-1]
            else:
                self._pcm_carry = b""
            if rate == MODEL_RATE:
                return decode(data, fmt).copy()
        if self._decoder is None:
            self._decoder = Resampler(rate, MODEL_RATE)
        return np.asarray(self._decoder.process(decode(data, fmt)), dtype=np.int16)

    # ---- turns --------------------------------------------------------------------------------

    def _on_turn(self, turn: TurnEvent) -> Iterator[Step]:
        td = self._settings().turn_detection
        assert td is not None
        origin_ms = samples_to_ms(self._detector_origin)
        if turn.kind == "start":
            prefix = td.prefix_padding_ms if isinstance(td, ServerVad) else _SEMANTIC_PREFIX_MS
            start_ms = max(samples_to_ms(self.buffer.start), origin_ms + turn.boundary_ms - prefix)
            self._turn_item = self.out.new_id("item")
            self._turn_start_ms = int(start_ms)
            self._paused = False
            yield self.out.event(
                ev.SpeechStarted, audio_start_ms=int(start_ms), item_id=self._turn_item
            )
            self.idle_anchor_ms = None  # speech: the idle timer stops
            yield SpeechStarted(self._turn_item, int(start_ms))
            return
        if turn.kind == "pause":
            if self._turn_item is not None:
                self._paused = True
                stop = ms_to_samples(int(origin_ms + turn.boundary_ms))
                audio = self.buffer.slice(ms_to_samples(self._turn_start_ms), stop)
                yield SpeechPaused(self._turn_item, audio)
            return
        if turn.kind == "resume":
            yield from self._void_pause()
            return
        end_ms = int(origin_ms + turn.at_ms)
        item_id = self._turn_item or self.out.new_id("item")
        self._turn_item = None
        self._paused = False
        yield self.out.event(ev.SpeechStopped, audio_end_ms=end_ms, item_id=item_id)
        audio = self.buffer.slice(ms_to_samples(self._turn_start_ms), ms_to_samples(end_ms))
        self.buffer.drop_before(ms_to_samples(end_ms))
        yield TurnEnded(item_id, "turn_detected", audio)

    def _void_pause(self) -> Steps:
        """The turn's audio at its pause is no longer all of it (:class:`PauseVoided`)."""
        if not self._paused or self._turn_item is None:
            return []
        self._paused = False
        return [PauseVoided(self._turn_item)]

    def _check_idle(self, replying: bool) -> Steps:
        td = self._settings().turn_detection
        if (
            not isinstance(td, ServerVad)
            or td.idle_timeout_ms is None
            or self.idle_anchor_ms is None
            or self.in_speech
            or replying
            or self.input_ms < self.idle_anchor_ms + td.idle_timeout_ms
        ):
            return []
        start_ms, end_ms = int(self.idle_anchor_ms), int(self.input_ms)
        self.idle_anchor_ms = None
        item_id = self.out.new_id("item")
        triggered = self.out.event(
            ev.InputAudioBufferTimeoutTriggered,
            audio_start_ms=start_ms,
            audio_end_ms=end_ms,
            item_id=item_id,
        )
        audio = self.buffer.slice(ms_to_samples(start_ms), ms_to_samples(end_ms))
        self.buffer.drop_before(ms_to_samples(end_ms))
        return [triggered, TurnEnded(item_id, "idle_timeout", audio)]

    # ---- commit and clear ---------------------------------------------------------------------

    def on_commit(self, e: ev.InputAudioBufferCommit, now: float) -> Steps:
        ms = self.buffer.ms
        if ms < MIN_COMMIT_MS:
            return [
                self.out.error(
                    "Error committing input audio buffer: buffer too small. Expected at least "
                    "100ms of "
                    f"audio, but buffer only has {ms:.2f}ms of audio.",
                    "input_audio_buffer_commit_empty",
                    None,
                    e.event_id,
                )
            ]
        voided = self._void_pause()  # a manual commit's audio is not the pause's
        item_id = self._turn_item or self.out.new_id("item")
        self._turn_item = None
        audio = self.buffer.slice(self.buffer.start, self.buffer.end)
        self.buffer.drop_before(self.buffer.end)
        if self._detector is not None:
            self._detector.reset_turn()
        return [*voided, TurnEnded(item_id, "commit", audio, e.event_id)]

    def on_clear(self, e: ev.InputAudioBufferClear, now: float) -> Steps:
        voided = self._void_pause()
        self.buffer.drop_before(self.buffer.end)
        self._turn_item = None
        if self._detector is not None:
            self._detector.reset_turn()
        return [*voided, self.out.event(ev.InputAudioBufferCleared)]
