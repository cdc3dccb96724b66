"""Transcript checks: the word error rate of a run's user transcripts against the clip's words,
and local runs that hear (the local server's Whisper tiny.en, loaded once per test session)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from realtime_widgets.errors import ConfigError
from realtime_widgets.evals import runs as runs_module
from realtime_widgets.evals.clip import RATE, Clip, Span
from realtime_widgets.evals.metrics import METRICS, ClipMeasures, measure, summarize
from realtime_widgets.evals.runs import Prepared, from_timeline, prepare, run_local
from realtime_widgets.evals.suite import builtin_suite
from realtime_widgets.evals.transcripts import (
    clip_edits,
    edits,
    normalize,
    pooled_wer,
    transcription_on,
    user_transcript,
    wer,
)
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.parts import Transcription
from realtime_widgets.server.whisper import (
    TranscriberUnavailable,
    WhisperTranscriber,
    shared_whisper,
)

COMPLETED = "conversation.item.input_audio_transcription.completed"
HEARING = SessionConfig().with_changes(transcription=Transcription(model="whisper-1"))


# ---- the word error rate on hand-made strings -----------------------------------------------


def test_normalising_drops_case_and_punctuation_and_keeps_apostrophes_in_words() -> None:
    assert normalize("It's easy to tell -- the DEPTH of a well.") == [
        "it's", "easy", "to", "tell", "the", "depth", "of", "a", "well",
    ]  # fmt: skip
    assert normalize("dark-blue background, 'quoted' it\u2019s") == [
        "dark", "blue", "background", "quoted", "it's",
    ]  # fmt: skip
    assert normalize(["The", "birch", "canoe."]) == ["the", "birch", "canoe"]
    assert normalize(" ... ") == []


def test_edits_count_substitutions_insertions_and_deletions() -> None:
    ref = ["the", "birch", "canoe", "slid"]
    assert edits(ref, ref) == 0
    assert edits(ref, ["the", "bitch", "canoe", "slid"]) == 1  # a substitution
    assert edits(ref, ["the", "birch", "canoe", "slid", "on"]) == 1  # an insertion
    assert edits(ref, ["the", "canoe", "slid"]) == 1  # a deletion
    assert edits(ref, ["birch", "canoe", "slid", "the"]) == 2  # a deletion and an insertion
    assert edits(ref, []) == 4
    assert edits([], ["a", "b"]) == 2


def test_wer_is_edits_over_reference_words_after_normalising() -> None:
    assert wer("The birch canoe slid.", "the birch canoe slid") == 0.0
    assert wer("The birch canoe slid.", "The Bitch canoe, slid!") == pytest.approx(1 / 4)
    assert wer("Glue the sheet", "glue the sheet to the") == pytest.approx(2 / 3)
    assert wer("Glue the sheet", "") == 1.0
    assert wer("", "anything") is None
    # pooled over clips: the sum of edits over the sum of reference words, unscored left out
    assert pooled_wer([(1, 16), None, (3, 4)]) == pytest.approx(4 / 20)
    assert pooled_wer([None, None]) is None
    assert pooled_wer([]) is None


# ---- what a run's events say ----------------------------------------------------------------


def _session(transcription: dict[str, Any] | None) -> dict[str, Any]:
    return {"type": "realtime", "audio": {"input": {"transcription": transcription}}}


def _clip(words: tuple[str, ...] | None) -> Clip:
    samples = np.zeros(RATE, dtype=np.int16)
    return Clip("hand", samples, (Span(0, 500, "speech"), Span(500, 1000, "eot")), words=words)


def _timeline(transcription: dict[str, Any] | None) -> list[tuple[float, dict[str, Any]]]:
    return [
        (0.0, {"type": "session.created", "session": _session(None)}),
        (0.0, {"type": "session.updated", "session": _session(transcription)}),
        (100.0, {"type": "input_audio_buffer.committed", "item_id": "a"}),
        (200.0, {"type": "input_audio_buffer.committed", "item_id": "b"}),
        # b's transcript comes back first (as it may from OpenAI); c was never committed
        (300.0, {"type": COMPLETED, "item_id": "b", "transcript": "to the dark blue"}),
        (400.0, {"type": COMPLETED, "item_id": "c", "transcript": "background."}),
        (500.0, {"type": COMPLETED, "item_id": "a", "transcript": "Glue the sheep"}),
    ]


def test_transcripts_are_joined_in_the_order_their_turns_were_committed() -> None:
    events = _timeline({"model": "whisper-1"})
    assert user_transcript(events) == ["Glue the sheep", "to the dark blue", "background."]
    words = ("Glue", "the", "sheet", "to", "the", "dark", "blue", "background.")
    run = from_timeline(_clip(words), events)
    assert transcription_on(run.events)
    assert clip_edits(run) == (1, 8)  # sheep for sheet


def test_no_score_without_words_or_with_transcription_off() -> None:
    words = ("Glue", "the", "sheet")
    off = from_timeline(_clip(words), _timeline(None))
    assert not transcription_on(off.events)
    assert clip_edits(off) is None
    assert clip_edits(from_timeline(_clip(None), _timeline({"model": "whisper-1"}))) is None
    assert pooled_wer([clip_edits(off)]) is None


# ---- local runs that hear -------------------------------------------------------------------


@pytest.fixture(scope="session")
def whisper() -> WhisperTranscriber:
    """The process's Whisper tiny.en, loaded once per test session (runs share it)."""
    pytest.importorskip("faster_whisper", reason="the offline extra (faster-whisper) is needed")
    return shared_whisper()


@pytest.fixture(scope="module")
def harvard() -> Clip:
    clip = builtin_suite()["harvard-holds"]
    assert clip.words is not None
    assert len(clip.words) == 16  # the published sentences 1 and 2
    return clip


@pytest.fixture(scope="module")
def harvard_prepared(harvard: Clip) -> Prepared:
    return prepare(harvard)


def test_the_builtin_suite_has_words_only_where_a_published_text_exists() -> None:
    suite = builtin_suite()
    with_words = {c.id for c in suite if c.words is not None}
    assert with_words == {"harvard-holds", "harvard-holds-babble", "harvard-barge-in"}
    barge = suite["harvard-barge-in"]
    assert barge.words is not None
    assert " ".join(barge.words) == (
        "It's easy to tell the depth of a well. Four hours of steady work faced us."
    )


def test_transcription_off_loads_no_model_and_sends_no_transcription_event(
    harvard: Clip, harvard_prepared: Prepared, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_model() -> WhisperTranscriber:
        raise AssertionError("a model was loaded with transcription off")

    monkeypatch.setattr(runs_module, "shared_whisper", no_model)
    run = run_local(harvard, SessionConfig(), prepared=harvard_prepared)
    assert not any("transcription" in e["type"] for _, e in run.events)
    assert sum(e["type"] == "input_audio_buffer.committed" for _, e in run.events) == 2
    assert clip_edits(run) is None


def test_transcription_on_without_a_transcriber_names_the_field(
    harvard: Clip, harvard_prepared: Prepared, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing() -> WhisperTranscriber:
        raise TranscriberUnavailable("Whisper tiny.en is not installed")

    monkeypatch.setattr(runs_module, "shared_whisper", missing)
    with pytest.raises(ConfigError, match=r"audio\.input\.transcription") as info:
        run_local(harvard, HEARING, prepared=harvard_prepared)
    assert info.value.problems[0].field == "audio.input.transcription"


@pytest.mark.slow
def test_a_local_run_hears_a_harvard_clip_near_verbatim_and_deterministically(
    harvard: Clip, harvard_prepared: Prepared, whisper: WhisperTranscriber
) -> None:
    first = run_local(harvard, HEARING, prepared=harvard_prepared)
    second = run_local(harvard, HEARING, prepared=harvard_prepared)
    assert first.events == second.events
    heard = user_transcript(first.events)
    assert len(heard) == 2  # the 700 ms hold ends a turn, the 500 ms one does not
    counts = clip_edits(first)
    assert counts is not None
    assert counts[1] == 16
    assert counts[0] / counts[1] < 0.35, heard
    # the turn-taking events are those of the run that does not hear
    deaf = run_local(harvard, SessionConfig(), prepared=harvard_prepared)
    kept = [(t, e["type"]) for t, e in first.events if "transcription" not in e["type"]]
    assert kept == [(t, e["type"]) for t, e in deaf.events]


# ---- the metric in a sweep row ----------------------------------------------------------------


def test_summarize_pools_transcript_wer_over_the_clips_with_words() -> None:
    old = ClipMeasures("a", "h", {}, fragments=[1])  # built as before the transcript counts
    assert (old.transcript_edits, old.transcript_words) == (0, 0)
    assert METRICS[-1] == "transcript_wer"
    assert summarize([old])["transcript_wer"] is None
    scored = [
        ClipMeasures("b", "h", {}, transcript_edits=1, transcript_words=16),
        ClipMeasures("c", "h", {}, transcript_edits=3, transcript_words=4),
        old,
    ]
    assert summarize(scored)["transcript_wer"] == pytest.approx(4 / 20)


def test_measure_counts_a_runs_transcript_edits() -> None:
    words = ("Glue", "the", "sheet", "to", "the", "dark", "blue", "background.")
    m = measure(from_timeline(_clip(words), _timeline({"model": "whisper-1"})))
    assert (m.transcript_edits, m.transcript_words) == (1, 8)
    m = measure(from_timeline(_clip(words), _timeline(None)))
    assert (m.transcript_edits, m.transcript_words) == (0, 0)
