"""The input-transcripts part (:class:`~realtime_widgets.server.input_transcripts.InputTranscripts`)
built alone: a recording emitter, a config it reads, a recogniser or none."""

from __future__ import annotations

import numpy as np

from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.transcription_config import TranscriptionConfig
from realtime_widgets.server.input_transcripts import InputTranscripts, Transcript
from realtime_widgets.server.outcomes import TranscriptReady

from .parts import RecordingEmitter, kinds, tone


def test_no_transcription_configured_means_no_events() -> None:
    part = InputTranscripts(RecordingEmitter(), lambda: SessionConfig(), lambda a: "hi")
    assert part.transcribe("item_a", tone(100)) == []


def test_without_a_recogniser_the_turn_fails_honestly() -> None:
    config = SessionConfig(transcription="whisper-1")
    (failed,) = InputTranscripts(RecordingEmitter(), lambda: config, None).transcribe(
        "item_a", tone(100)
    )
    assert failed["type"] == "conversation.item.input_audio_transcription.failed"
    assert (failed["item_id"], failed["content_index"]) == ("item_a", 0)
    assert failed["error"]["code"] == "transcription_unavailable"


def test_a_transcript_is_an_outcome_then_word_deltas_and_completed() -> None:
    heard: list[int] = []

    def recognise(audio: np.ndarray) -> str:
        heard.append(len(audio))
        return "good morning all"

    config = TranscriptionConfig(transcription="whisper-1")
    part = InputTranscripts(RecordingEmitter(), lambda: config, recognise)
    steps = part.transcribe("item_a", tone(1500))
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
    steps = part.transcribe("item_a", tone(500))
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
