"""Input audio and turns: the input buffer, turn detection, the idle timeout, commit and clear.

Part of :class:`~.engine.SessionEngine` (sans-I/O). Appended audio is decoded to the 24 kHz
timeline; a :class:`~.vad.TurnDetector` (when ``turn_detection`` is set) turns it into
``speech_started`` / ``speech_stopped``, a committed user item and, when the session says so,
a response. A manual commit needs OpenAI's 100 ms minimum. An append is refused (with an
``error``, the buffer kept) past OpenAI's 15 MiB per append or the local ``max_buffer_s`` of
uncommitted audio (:class:`~.limits.ServerLimits`).
"""

from __future__ import annotations

import base64
import binascii
from collections import deque
from typing import TYPE_CHECKING, Any

import numpy as np

from realtime_widgets.audio.formats import FORMAT_RATES, decode
from realtime_widgets.audio.pcm import Int16Array
from realtime_widgets.audio.resample import Resampler
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.parts import ServerVad
from realtime_widgets.server.conversation import StoredItem
from realtime_widgets.server.transcription import transcribe_turn
from realtime_widgets.server.vad import TurnDetector, TurnEvent

if TYPE_CHECKING:
    from realtime_widgets.server.engine import SessionEngine

__all__ = ["MIN_COMMIT_MS", "InputBuffer", "InputTurns"]

MIN_COMMIT_MS = 100.0
# Appends shorter than this are joined to the chunk before them: a million 3-byte appends must
# not cost a million chunk records (~170 bytes each) for ~1 minute of audio.
_SMALL_CHUNK = 2400  # samples: 100 ms

Events = list[dict[str, Any]]


class InputBuffer:
    """Appended audio on the 24 kHz timeline since the last commit/clear."""

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
        return (self.end - self.start) / 24


class InputTurns:
    """The input side of a session: buffer, decoder, turn detector, idle timer."""

    def __init__(self, engine: SessionEngine) -> None:
        self.engine = engine
        self.buffer = InputBuffer()
        self._decoder: Resampler | None = None
        self._pcm_carry = b""
        self._detector: TurnDetector | None = None
        self._detector_origin = 0  # sample index where the detector's timeline starts
        self._last_append = 0  # where the last append began (sample index)
        self._turn_item: str | None = None
        self._turn_start_ms = 0
        # Where the idle timeout counts from (input ms): set when a reply ends, cleared by speech.
        self.idle_anchor_ms: float | None = None
        # False in a transcription session: a turn makes no conversation item and no response.
        self.conversational = True

    @property
    def input_ms(self) -> float:
        """Milliseconds of audio appended since the session began (the input timeline)."""
        return self.buffer.end / 24

    # ---- configuration ------------------------------------------------------------------------

    def reset_format(self) -> None:
        """The input format changed: drop the decoder's state."""
        self._decoder = None
        self._pcm_carry = b""

    def sync_detector(self) -> None:
        """Build, reconfigure or drop the turn detector after a session change."""
        td = self.engine.config.turn_detection
        if td is None:
            if self._detector is not None:
                self._detector.close()
            self._detector = None
            return
        if self._detector is None:
            self._detector = self.engine.options.detector(td)
            self._detector_origin = self.buffer.end
        else:
            self._detector.configure(td)  # server_vad <-> semantic_vad too: same signals

    def close(self) -> None:
        if self._detector is not None:
            self._detector.close()
            self._detector = None

    # ---- appending ----------------------------------------------------------------------------

    def on_append(self, e: ev.InputAudioBufferAppend, now: float) -> Events:
        engine = self.engine
        limits = engine.options.limits
        too_big = (
            "Invalid 'audio': the audio chunk exceeds the maximum size of "
            f"{limits.max_append_bytes / 1024 / 1024:g} MiB."
        )
        if len(e.audio) > -(-limits.max_append_bytes // 3) * 4:  # over even before decoding
            return [engine.error(too_big, "invalid_value", "audio", e.event_id)]
        try:
            data = base64.b64decode(e.audio, validate=True)
        except (binascii.Error, ValueError):
            return [
                engine.error(
                    "Invalid 'audio'. Expected base64-encoded audio bytes.",
                    "invalid_value",
                    "audio",
                    e.event_id,
                )
            ]
        if len(data) > limits.max_append_bytes:
            return [engine.error(too_big, "invalid_value", "audio", e.event_id)]
        # The decoded length on the 24 kHz timeline, known before decoding (a refused append
        # must leave the decoder's state as it was).
        fmt = engine.config.input_audio_format.type
        samples = (
            (len(self._pcm_carry) + len(data)) // 2
            if fmt == "audio/pcm"
            else len(data) * 24000 // FORMAT_RATES[fmt]
        )
        held_s = (self.buffer.end - self.buffer.start + samples) / 24000
        if held_s > limits.max_buffer_s:
            return [
                engine.error(
                    "Invalid 'audio': the uncommitted input audio buffer would hold "
                    f"{held_s:.1f} s, over the local server's limit of {limits.max_buffer_s:g} s "
                    "(ServerLimits.max_buffer_s, realtime-widgets serve --max-buffer-s). "
                    "Commit or clear the buffer first; the audio already buffered is kept.",
                    "input_audio_buffer_full",
                    "audio",
                    e.event_id,
                )
            ]
        engine.stats["appended_bytes"] += len(data)
        return self.append_samples(self._to_timeline(data), now)

    def append_samples(self, samples: Int16Array, now: float) -> Events:
        """Append decoded 24 kHz input audio (see :meth:`.SessionEngine.append_samples`)."""
        out = self.settle(now)
        self._last_append = self.buffer.end
        self.buffer.append(samples)
        if self._detector is not None:
            for turn in self._detector.feed(samples):
                out.extend(self._on_turn(turn, now))
            if self._detector.pending:
                return out  # the rest once the batch has run: resume()
        return out + self._after_detection(now)

    @property
    def vad_pending(self) -> bool:
        """Turn decisions wait for the shared VAD batch (a detector built with one)."""
        return self._detector is not None and self._detector.pending

    def resume(self, now: float) -> Events:
        """The turn events of the audio appended last, once the VAD batch has run."""
        if self._detector is None or self._detector.pending:
            return []  # nothing waited, or the batch has not run yet
        out: Events = []
        for turn in self._detector.resume():
            out.extend(self._on_turn(turn, now))
        return out + self._after_detection(now)

    def settle(self, now: float) -> Events:
        """Finish what waits for the VAD batch (running it now if need be): everything else a
        session does sees every appended frame decided, as without a batch."""
        if not self.vad_pending:
            return []
        assert self._detector is not None
        out: Events = []
        for turn in self._detector.settle():
            out.extend(self._on_turn(turn, now))
        return out + self._after_detection(now)

    def _after_detection(self, now: float) -> Events:
        if self._detector is not None and not self._detector.in_speech:
            # Keep a minute of pre-speech audio for a manual commit; older silence is dropped.
            self.buffer.drop_before(min(self.buffer.end - 24000 * 60, self._last_append))
        return self._check_idle(now)

    def _to_timeline(self, data: bytes) -> Int16Array:
        fmt = self.engine.config.input_audio_format.type
        if fmt == "audio/pcm":
            data = self._pcm_carry + data
            if len(data) % 2:
                self._pcm_carry, data = data[-1:], data[:-1]
            else:
                self._pcm_carry = b""
            return decode(data, fmt).copy()
        if self._decoder is None:
            self._decoder = Resampler(FORMAT_RATES[fmt], 24000)
        return np.asarray(self._decoder.process(decode(data, fmt)), dtype=np.int16)

    # ---- turns --------------------------------------------------------------------------------

    def _on_turn(self, turn: TurnEvent, now: float) -> Events:
        engine = self.engine
        td = engine.config.turn_detection
        assert td is not None
        origin_ms = self._detector_origin / 24
        if turn.kind == "start":
            prefix = td.prefix_padding_ms if isinstance(td, ServerVad) else 300
            start_ms = max(self.buffer.start / 24, origin_ms + turn.boundary_ms - prefix)
            self._turn_item = engine.new_id("item")
            self._turn_start_ms = int(start_ms)
            out = [
                engine.event(
                    {
                        "type": "input_audio_buffer.speech_started",
                        "audio_start_ms": int(start_ms),
                        "item_id": self._turn_item,
                    }
                )
            ]
            self.idle_anchor_ms = None
            r = engine.responses.active
            if r is not None and r.in_conversation and td.interrupt_response:
                out.extend(
                    engine.responses.finish(
                        r, "cancelled", {"type": "cancelled", "reason": "turn_detected"}, now
                    )
                )
            return out
        end_ms = int(origin_ms + turn.at_ms)
        item_id = self._turn_item or engine.new_id("item")
        self._turn_item = None
        out = [
            engine.event(
                {
                    "type": "input_audio_buffer.speech_stopped",
                    "audio_end_ms": end_ms,
                    "item_id": item_id,
                }
            )
        ]
        audio = self.buffer.slice(self._turn_start_ms * 24, end_ms * 24)
        self.buffer.drop_before(end_ms * 24)
        out.extend(self._commit_user_audio(item_id, audio, None))
        if td.create_response and self.conversational and engine.responses.active is None:
            out.extend(engine.responses.create(None, now, trigger="turn_detected"))
        return out

    def _check_idle(self, now: float) -> Events:
        engine = self.engine
        td = engine.config.turn_detection
        if (
            not isinstance(td, ServerVad)
            or td.idle_timeout_ms is None
            or self.idle_anchor_ms is None
            or (self._detector is not None and self._detector.in_speech)
            or engine.responses.active is not None
            or self.input_ms < self.idle_anchor_ms + td.idle_timeout_ms
        ):
            return []
        start_ms, end_ms = int(self.idle_anchor_ms), int(self.input_ms)
        self.idle_anchor_ms = None
        item_id = engine.new_id("item")
        out = [
            engine.event(
                {
                    "type": "input_audio_buffer.timeout_triggered",
                    "audio_start_ms": start_ms,
                    "audio_end_ms": end_ms,
                    "item_id": item_id,
                }
            )
        ]
        audio = self.buffer.slice(start_ms * 24, end_ms * 24)
        self.buffer.drop_before(end_ms * 24)
        out.extend(self._commit_user_audio(item_id, audio, None))
        if self.conversational:
            out.extend(engine.responses.create(None, now, trigger="idle_timeout"))
        return out

    # ---- commit and clear ---------------------------------------------------------------------

    def on_commit(self, e: ev.InputAudioBufferCommit, now: float) -> Events:
        ms = self.buffer.ms
        if ms < MIN_COMMIT_MS:
            return [
                self.engine.error(
                    "Error committing input audio buffer: buffer too small. Expected at least "
                    "100ms of "
                    f"audio, but buffer only has {ms:.2f}ms of audio.",
                    "input_audio_buffer_commit_empty",
                    None,
                    e.event_id,
                )
            ]
        item_id = self._turn_item or self.engine.new_id("item")
        self._turn_item = None
        audio = self.buffer.slice(self.buffer.start, self.buffer.end)
        self.buffer.drop_before(self.buffer.end)
        if self._detector is not None:
            self._detector.reset_turn()
        return self._commit_user_audio(item_id, audio, e.event_id)

    def on_clear(self, e: ev.InputAudioBufferClear, now: float) -> Events:
        self.buffer.drop_before(self.buffer.end)
        self._turn_item = None
        if self._detector is not None:
            self._detector.reset_turn()
        return [self.engine.event({"type": "input_audio_buffer.cleared"})]

    def _commit_user_audio(self, item_id: str, audio: Int16Array, client_id: str | None) -> Events:
        engine = self.engine
        if engine.transcription is not None:
            # A transcription session keeps no items, only the chain of turns.
            previous_turn = engine.transcription.next_previous(item_id)
            committed = {
                "type": "input_audio_buffer.committed",
                "previous_item_id": previous_turn,
                "item_id": item_id,
            }
            return [engine.event(committed), *transcribe_turn(engine, item_id, audio)]
        conversation = engine.conversation
        previous = conversation.last_id
        data = {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        stored = StoredItem(data, audio)
        refused = conversation.refusal(stored, client_id)
        if refused is not None:
            return [refused]
        conversation.insert(stored, previous)
        out = [
            engine.event(
                {
                    "type": "input_audio_buffer.committed",
                    "previous_item_id": previous,
                    "item_id": item_id,
                }
            ),
            engine.event(
                {"type": "conversation.item.added", "previous_item_id": previous, "item": data}
            ),
            engine.event(
                {"type": "conversation.item.done", "previous_item_id": previous, "item": data}
            ),
        ]
        out.extend(transcribe_turn(engine, item_id, audio))
        return out
