"""ItemAudio: the audio of each conversation item, kept in the kernel for the transcript's player.

User audio is cut from the input timeline (all audio appended this session, 24 kHz, the last
:data:`INPUT_KEEP_S` seconds kept): the item's VAD span when the server reported one, else
what was appended since the previous commit or clear (push-to-talk, manual commits). Assistant
audio is what the session decoded for the item (at most :data:`OUTPUT_KEEP_S` seconds over all
items; the oldest items are dropped first). ``wav(item_id)`` gives a WAV file's bytes.

It is fed on the session loop (the session's taps and events); reads from another thread are
made there too (:func:`~realtime_widgets.widgets.browser_messages.read_on_session_loop`).
"""

from __future__ import annotations

import io
from collections import OrderedDict
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from realtime_widgets.audio.pcm import Int16Array, as_int16
from realtime_widgets.audio.rate import MODEL_RATE
from realtime_widgets.audio.resample import to_model_rate
from realtime_widgets.audio.ring import AudioRing
from realtime_widgets.audio.wav import write_wav
from realtime_widgets.client.session import RealtimeSession
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.events import ServerEvent
from realtime_widgets.protocol.state import ConversationState
from realtime_widgets.widgets.browser_messages import read_on_session_loop

__all__ = ["INPUT_KEEP_S", "OUTPUT_KEEP_S", "ItemAudio"]

INPUT_KEEP_S = 600
OUTPUT_KEEP_S = 600


class ItemAudio:
    """Per-item audio of a session (see the module docstring); listeners removed by ``close``."""

    def __init__(self, session: RealtimeSession | None = None) -> None:
        self.input = AudioRing(MODEL_RATE * INPUT_KEEP_S, MODEL_RATE)
        self._output: OrderedDict[str, list[Int16Array]] = OrderedDict()
        self._output_samples = 0
        self._spans: dict[str, tuple[int, int]] = {}  # item -> [start, stop) input samples
        self._last_commit = 0
        self.session = session
        self.state = session.state if session is not None else ConversationState()
        self._remove: list[Callable[[], None]] = []
        if session is not None:
            self._remove = [
                session.add_audio_tap(self.add_input),
                session.add_output_audio_tap(self.add_output),
                session.on("*", self.observe_event),
            ]

    def close(self) -> None:
        """Stop listening to the session (the audio kept so far stays readable)."""
        for remove in self._remove:
            remove()
        self._remove = []

    def add_input(self, samples: npt.ArrayLike, rate: int = MODEL_RATE) -> None:
        self.input.append(to_model_rate(samples, rate))

    def add_output(self, item_id: str, samples: npt.ArrayLike) -> None:
        x = as_int16(samples)
        self._output.setdefault(item_id, []).append(x)
        self._output_samples += len(x)
        while self._output_samples > MODEL_RATE * OUTPUT_KEEP_S and len(self._output) > 1:
            _, dropped = self._output.popitem(last=False)
            self._output_samples -= sum(len(c) for c in dropped)

    def observe_event(self, event: ServerEvent) -> None:
        if isinstance(event, ev.InputAudioBufferCommitted):
            self._spans[event.item_id] = (self._last_commit, self.input.end)
            self._last_commit = self.input.end
        elif isinstance(event, ev.InputAudioBufferCleared):
            self._last_commit = self.input.end
        elif isinstance(event, ev.ConversationItemDeleted):
            self._spans.pop(event.item_id, None)
            dropped = self._output.pop(event.item_id, None)
            self._output_samples -= sum(len(c) for c in dropped or ())

    def has_audio(self, item_id: str) -> bool:
        return read_on_session_loop(
            self.session, lambda: item_id in self._output or self._input_span(item_id) is not None
        )

    def _input_span(self, item_id: str) -> tuple[int, int] | None:
        item = self.state.items.get(item_id)
        if item is not None and item.audio_start_ms is not None and item.audio_end_ms is not None:
            span = (
                self.input.ms_to_index(item.audio_start_ms),
                self.input.ms_to_index(item.audio_end_ms),
            )
        else:
            span = self._spans.get(item_id)  # type: ignore[assignment]
        if span is None:
            return None
        start, stop = max(span[0], self.input.start), min(span[1], self.input.end)
        return (start, stop) if stop > start else None

    def samples(self, item_id: str) -> Int16Array | None:
        """The item's audio at 24 kHz, or None when none is kept."""
        return read_on_session_loop(self.session, lambda: self._samples(item_id))

    def _samples(self, item_id: str) -> Int16Array | None:
        chunks = self._output.get(item_id)
        if chunks:
            return np.concatenate(chunks)
        span = self._input_span(item_id)
        return None if span is None else self.input.read(*span)

    def wav(self, item_id: str) -> bytes | None:
        """The item's audio as a 16-bit mono WAV file, or None."""
        samples = self.samples(item_id)
        if samples is None:
            return None
        out = io.BytesIO()
        write_wav(out, samples, MODEL_RATE)
        return out.getvalue()
