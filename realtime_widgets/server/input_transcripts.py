"""Input transcripts: what a recogniser heard in a committed user turn (the server's "ears").

A part of every session kind (sans-I/O). :meth:`InputTranscripts.transcribe` answers a committed
turn with OpenAI's ``conversation.item.input_audio_transcription.*`` events: with no
recogniser, one ``failed`` naming why (the local server never invents a transcript); with
``LocalServer(transcriber=fn)``, the transcript streamed as word deltas and then ``completed``,
with log probabilities when the session's ``include`` asks for them and the recogniser gives
them (:class:`Transcript`). The transcript itself is returned as a
:class:`~.outcomes.TranscriptReady` outcome: in a Realtime session the engine makes it the
user item's text.

(Not to be confused with :mod:`realtime_widgets.protocol.transcription_config`, the
transcription session's config, nor :mod:`realtime_widgets.widgets.transcription_view`, its
playground.)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from realtime_widgets.audio.pcm import Int16Array
from realtime_widgets.audio.rate import samples_to_s
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.transcription_config import TranscriptionConfig
from realtime_widgets.server.emitter import Emitter
from realtime_widgets.server.outcomes import Steps, TranscriptReady

__all__ = ["LOGPROBS", "InputTranscripts", "Transcriber", "Transcript"]

LOGPROBS = "item.input_audio_transcription.logprobs"


@dataclass(frozen=True)
class Transcript:
    """What a recogniser may return instead of plain text: the words with log probabilities
    (natural log, as OpenAI reports them), e.g. from faster-whisper's word probabilities."""

    text: str
    tokens: list[tuple[str, float]] = field(default_factory=list)


Transcriber = Callable[[Int16Array], "str | Transcript"]


def _pieces(text: str) -> list[str]:
    """The transcript cut into streaming deltas: each word with the space that follows it."""
    return re.findall(r"\s*\S+\s*", text) or ([text] if text else [])


def _logprobs(tokens: list[tuple[str, float]]) -> list[dict[str, Any]]:
    return [{"token": t, "logprob": float(p), "bytes": list(t.encode("utf-8"))} for t, p in tokens]


class InputTranscripts:
    """Transcribes committed turns with the session's recogniser (if any)."""

    def __init__(
        self,
        out: Emitter,
        config: Callable[[], SessionConfig | TranscriptionConfig],
        transcriber: Transcriber | None,
    ) -> None:
        self.out = out
        self._config = config
        self._transcriber = transcriber

    def transcribe(self, item_id: str, audio: Int16Array) -> Steps:
        """The transcription events for one committed turn (none when transcription is off),
        led by the :class:`~.outcomes.TranscriptReady` outcome when there is a transcript."""
        config = self._config()
        tr = config.transcription
        if tr is None:
            return []
        base = {"item_id": item_id, "content_index": 0}
        if self._transcriber is None:
            return [
                self.out.event(
                    ev.InputTranscriptionFailed,
                    **base,
                    error={
                        "type": "transcription_error",
                        "code": "transcription_unavailable",
                        "param": None,
                        "message": "The local server has no offline speech recogniser "
                        f"for {tr.model!r}: it returns no transcript rather than an invented "
                        "one. Pass LocalServer(transcriber=...) to use your own.",
                    },
                )
            ]
        result = self._transcriber(audio)
        transcript = result if isinstance(result, Transcript) else Transcript(str(result))
        text = transcript.text
        out: Steps = [TranscriptReady(item_id, text)]
        with_logprobs = bool(config.include and LOGPROBS in config.include and transcript.tokens)
        if with_logprobs:
            # One delta per recognised token, carrying its log probability.
            for token, logprob in transcript.tokens:
                out.append(
                    self.out.event(
                        ev.InputTranscriptionDelta,
                        **base,
                        delta=token,
                        logprobs=_logprobs([(token, logprob)]),
                    )
                )
        else:
            for piece in _pieces(text):
                out.append(self.out.event(ev.InputTranscriptionDelta, **base, delta=piece))
        usage = {"type": "duration", "seconds": round(samples_to_s(len(audio)), 3)}
        if with_logprobs:
            out.append(
                self.out.event(
                    ev.InputTranscriptionCompleted,
                    **base,
                    transcript=text,
                    usage=usage,
                    logprobs=_logprobs(transcript.tokens),
                )
            )
        else:
            out.append(
                self.out.event(ev.InputTranscriptionCompleted, **base, transcript=text, usage=usage)
            )
        return out
