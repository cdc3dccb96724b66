"""The input-transcripts part (:class:`~realtime_widgets.server.input_transcripts.InputTranscripts`)
built alone: a recording emitter, a config it reads, a recogniser or none. The part hands out
jobs and never runs the recogniser; these tests run each job where the I/O layer would."""

from __future__ import annotations

from typing import Any

import numpy as np

from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.transcription_config import TranscriptionConfig
from realtime_widgets.server.input_transcripts import (
    InputTranscripts,
    Transcript,
    TranscriptionError,
    TranscriptionFailure,
    TranscriptionHints,
    run_transcriber,
    transcription_usage,
)
from realtime_widgets.server.outcomes import Step, TranscriptReady

from .conftest import Counting
from .parts import RecordingEmitter, kinds, tone


def run_jobs(part: InputTranscripts, transcriber: Any) -> list[Step]:
    """Every job the part hands out, run now (as the I/O layer would, off the loop)."""
    out: list[Step] = []
    for request in part.take():
        out += part.ready(request, run_transcriber(transcriber, request))
    return out


def test_no_transcription_configured_means_no_events_nor_jobs() -> None:
    part = InputTranscripts(RecordingEmitter(), lambda: SessionConfig(), lambda a: "hi")
    assert part.commit("item_a", tone(100)) == []
    assert part.take() == []


def test_the_model_hears_with_transcription_off_and_no_event_goes_out() -> None:
    """A Realtime session (``always``): the turn is transcribed, told as an outcome only."""
    fake = Counting()
    part = InputTranscripts(RecordingEmitter(), lambda: SessionConfig(), fake, always=True)
    assert part.commit("item_a", tone(300)) == []
    assert part.pending == {"item_a"}
    assert run_jobs(part, fake) == [TranscriptReady("item_a", "call 1", announced=False)]
    assert part.pending == set()


def test_without_a_recogniser_the_turn_fails_honestly() -> None:
    config = SessionConfig(transcription="whisper-1")
    (failed,) = InputTranscripts(
        RecordingEmitter(), lambda: config, None, unavailable="the test said so"
    ).commit("item_a", tone(100))
    assert failed["type"] == "conversation.item.input_audio_transcription.failed"
    assert (failed["item_id"], failed["content_index"]) == ("item_a", 0)
    assert failed["error"]["code"] == "transcription_unavailable"
    assert "the test said so" in failed["error"]["message"]
    assert "offline" in failed["error"]["message"]  # how to get one


def test_a_transcript_is_an_outcome_then_word_deltas_and_completed() -> None:
    heard: list[int] = []

    def recognise(audio: np.ndarray) -> str:
        heard.append(len(audio))
        return "good morning all"

    config = TranscriptionConfig(transcription="whisper-1")
    part = InputTranscripts(RecordingEmitter(), lambda: config, recognise)
    assert part.commit("item_a", tone(1500)) == []  # nothing until the job is back
    steps = run_jobs(part, recognise)
    assert steps[0] == TranscriptReady("item_a", "good morning all")
    assert [s["delta"] for s in steps[1:-1]] == ["good ", "morning ", "all"]  # type: ignore[index]
    completed = steps[-1]
    assert completed == {
        "type": "conversation.item.input_audio_transcription.completed",
        "event_id": "event_part000100004",
        "item_id": "item_a",
        "content_index": 0,
        "transcript": "good morning all",
        "usage": {"type": "duration", "seconds": 1.5},
    }
    assert heard == [1500 * 24]


def test_log_probabilities_when_the_session_includes_them() -> None:
    config = SessionConfig(
        transcription="whisper-1", include=["item.input_audio_transcription.logprobs"]
    )
    transcript = Transcript("hi there", [("hi", -0.1), (" there", -0.5)])
    part = InputTranscripts(RecordingEmitter(), lambda: config, lambda a: transcript)
    part.commit("item_a", tone(500))
    (request,) = part.take()
    assert request.hints == TranscriptionHints(logprobs=True)
    steps = part.ready(request, transcript)
    assert kinds(steps) == [
        "TranscriptReady",
        "conversation.item.input_audio_transcription.delta",
        "conversation.item.input_audio_transcription.delta",
        "conversation.item.input_audio_transcription.completed",
    ]
    assert steps[1]["logprobs"] == [  # type: ignore[index]
        {"token": "hi", "logprob": -0.1, "bytes": [104, 105]}
    ]
    assert [p["token"] for p in steps[-1]["logprobs"]] == ["hi", " there"]  # type: ignore[index]


def test_language_and_prompt_reach_the_recogniser_as_hints() -> None:
    config = SessionConfig(
        transcription={"model": "gpt-4o-transcribe", "language": "fr", "prompt": "Bonjour"}
    )
    part = InputTranscripts(RecordingEmitter(), lambda: config, lambda a: "")
    part.commit("item_a", tone(500))
    (request,) = part.take()
    assert request.hints == TranscriptionHints("fr", "Bonjour", logprobs=False)


def test_usage_follows_the_model_the_session_named() -> None:
    assert transcription_usage("whisper-1", 2.5, None, "hello there") == {
        "type": "duration",
        "seconds": 2.5,
    }
    usage = transcription_usage("gpt-4o-mini-transcribe", 2.5, "names", "hello there")
    assert usage == {
        "type": "tokens",
        "input_tokens": 25 + 2,
        "output_tokens": 3,
        "total_tokens": 30,
        "input_token_details": {"audio_tokens": 25, "text_tokens": 2},
    }


def test_a_recogniser_that_raises_gives_failed_with_its_reason() -> None:
    def broken(audio: np.ndarray) -> str:
        raise ZeroDivisionError("a transcriber bug")

    def refuses(audio: np.ndarray) -> str:
        raise TranscriptionError("unsupported_language", "English only")

    config = SessionConfig(transcription="whisper-1")
    part = InputTranscripts(RecordingEmitter(), lambda: config, broken)
    part.commit("item_a", tone(500))
    ready, failed = run_jobs(part, broken)
    assert ready == TranscriptReady("item_a", None)
    assert failed["type"] == "conversation.item.input_audio_transcription.failed"  # type: ignore[index]
    assert failed["error"]["code"] == "transcription_failed"  # type: ignore[index]
    assert "ZeroDivisionError: a transcriber bug" in failed["error"]["message"]  # type: ignore[index]
    part.commit("item_b", tone(500))
    _, failed = run_jobs(part, refuses)
    assert failed["error"] == {  # type: ignore[index]
        "type": "transcription_error",
        "code": "unsupported_language",
        "param": None,
        "message": "English only",
    }


# ---- speculation ------------------------------------------------------------------------------


def test_a_pause_speculates_and_the_commit_reuses_its_transcript() -> None:
    fake = Counting()
    config = SessionConfig(transcription="whisper-1")
    part = InputTranscripts(RecordingEmitter(), lambda: config, fake, always=True)
    part.pause("item_a", tone(1000))
    (request,) = part.take()
    assert request.speculative
    assert fake.heard == []
    assert part.ready(request, run_transcriber(fake, request)) == []  # kept for the commit
    steps = part.commit("item_a", tone(1500))  # (the pause's audio and the silence after)
    assert steps[0] == TranscriptReady("item_a", "call 1")
    assert steps[-1]["transcript"] == "call 1"  # type: ignore[index]
    assert part.take() == []
    assert fake.heard == [1000 * 24]
    assert (part.speculations, part.reused) == (1, 1)


def test_a_commit_while_the_speculation_runs_waits_for_it() -> None:
    fake = Counting()
    config = SessionConfig(transcription="whisper-1")
    part = InputTranscripts(RecordingEmitter(), lambda: config, fake, always=True)
    part.pause("item_a", tone(1000))
    (request,) = part.take()
    assert part.commit("item_a", tone(1500)) == []  # no second job: it waits for the first
    assert part.take() == []
    assert part.pending == {"item_a"}
    steps = part.ready(request, run_transcriber(fake, request))
    assert steps[0] == TranscriptReady("item_a", "call 1")
    assert kinds(steps)[-1] == "conversation.item.input_audio_transcription.completed"
    assert fake.heard == [1000 * 24]
    assert part.pending == set()


def test_speech_after_the_pause_drops_the_speculation() -> None:
    fake = Counting()
    config = SessionConfig(transcription="whisper-1")
    part = InputTranscripts(RecordingEmitter(), lambda: config, fake, always=True)
    part.pause("item_a", tone(1000))
    run_jobs(part, fake)
    part.void("item_a")  # speech resumed
    assert part.commit("item_a", tone(2500)) == []  # transcribed again, whole
    steps = run_jobs(part, fake)
    assert steps[0] == TranscriptReady("item_a", "call 2")
    assert fake.heard == [1000 * 24, 2500 * 24]
    assert part.reused == 0


def test_one_speculation_in_flight_a_later_pause_waits_and_supersedes() -> None:
    fake = Counting()
    config = SessionConfig(transcription="whisper-1")
    part = InputTranscripts(RecordingEmitter(), lambda: config, fake, always=True)
    part.pause("item_a", tone(1000))
    (first,) = part.take()
    part.void("item_a")
    part.pause("item_a", tone(1800))
    part.void("item_a")
    part.pause("item_a", tone(2000))
    assert part.take() == []  # at most one speculation in flight
    assert part.ready(first, run_transcriber(fake, first)) == []  # voided: not used
    (second,) = part.take()  # the newest pause only
    assert second.speculative
    assert len(second.audio) == 2000 * 24
    part.ready(second, run_transcriber(fake, second))
    steps = part.commit("item_a", tone(2500))
    assert steps[0] == TranscriptReady("item_a", "call 2")
    assert fake.heard == [1000 * 24, 2000 * 24]


def test_a_speculation_with_other_settings_is_not_used() -> None:
    fake = Counting()
    config = SessionConfig(transcription="whisper-1")
    part = InputTranscripts(RecordingEmitter(), lambda: config, fake, always=True)
    part.pause("item_a", tone(1000))
    run_jobs(part, fake)
    config = SessionConfig(transcription={"model": "whisper-1", "prompt": "Glue"})
    part.commit("item_a", tone(1500))
    (request,) = part.take()
    assert request.hints.prompt == "Glue"
    assert not request.speculative


def test_a_failed_speculation_is_never_used() -> None:
    fake = Counting()
    config = SessionConfig(transcription="whisper-1")
    part = InputTranscripts(RecordingEmitter(), lambda: config, fake, always=True)
    part.pause("item_a", tone(1000))
    (request,) = part.take()
    part.ready(request, TranscriptionFailure("busy", "the server is busy"))
    part.commit("item_a", tone(1500))
    steps = run_jobs(part, fake)
    assert steps[0] == TranscriptReady("item_a", "call 1")


def test_a_turn_waiting_for_a_speculation_that_fails_gets_its_own_job() -> None:
    fake = Counting()
    config = SessionConfig(transcription="whisper-1")
    part = InputTranscripts(RecordingEmitter(), lambda: config, fake, always=True)
    part.pause("item_a", tone(1000))
    (request,) = part.take()
    part.commit("item_a", tone(1500))  # waits for the speculation
    assert part.ready(request, TranscriptionFailure("busy", "the server is busy")) == []
    (again,) = part.take()
    assert not again.speculative
    assert len(again.audio) == 1500 * 24  # the committed audio
    steps = run_jobs_for(part, again, fake)
    assert steps[0] == TranscriptReady("item_a", "call 1")


def run_jobs_for(part: InputTranscripts, request: Any, transcriber: Any) -> list[Step]:
    return part.ready(request, run_transcriber(transcriber, request))
