"""The VAD lab: the same decisions as the live server, scores against labels, sweeps, clips,
the widget, and A/B against the local server."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from realtime_widgets import ConfigError, SemanticVad, ServerVad, SessionConfig
from realtime_widgets.audio.wav import read_wav, write_wav
from realtime_widgets.server.vad import TurnDetector, analyse
from realtime_widgets.vadlab import (
    ABTest,
    LabClip,
    Segment,
    VadLab,
    example_clips,
    load_clip,
    simulate,
)
from realtime_widgets.vadlab.analysis import LabResult, Turn, WouldBeResponse, score
from realtime_widgets.widgets.microphone import Microphone
from tests.speech import Clip


@pytest.fixture(scope="module")
def clips() -> dict[str, LabClip]:
    return example_clips()


def _turns(events: list) -> list[tuple[str, int, int]]:
    return [(e.kind, e.boundary_ms, e.at_ms) for e in events]


@pytest.mark.parametrize(
    "detection",
    [
        ServerVad(),
        ServerVad(threshold=0.3, silence_duration_ms=200),
        ServerVad(threshold=0.8, silence_duration_ms=900),
        SemanticVad(eagerness="low"),
        SemanticVad(eagerness="high"),
    ],
    ids=["default", "eager", "strict", "semantic-low", "semantic-high"],
)
def test_decisions_from_a_precomputed_track_equal_the_live_detector(
    detection: ServerVad | SemanticVad, three_turns: Clip
) -> None:
    """The lab's speed comes from computing the signals once; the decisions must be exactly
    the streaming detector's, chunk size notwithstanding."""
    audio = np.concatenate([three_turns.samples, np.zeros(24000 * 3, np.int16)])
    live = TurnDetector(detection)
    found = []
    for i in range(0, len(audio), 960):  # 40 ms chunks, as a client streams
        found += live.feed(audio[i : i + 960])
    live.close()
    replayed = TurnDetector(detection, track=analyse(three_turns.samples))
    again = []
    for i in range(0, len(audio), 480):  # another chunking
        again += replayed.feed(audio[i : i + 480])
    assert len(found) >= 2  # semantic_vad low waits out the 1.5 s pauses: one long turn
    assert _turns(again) == _turns(found)


def test_pauses_clip_default_cuts_the_sentence_and_a_longer_silence_does_not(
    clips: dict[str, LabClip],
) -> None:
    clip = clips["pauses"]
    default = simulate(clip, SessionConfig())
    m = default.measures
    assert m is not None
    assert (m.hits, m.misses, m.false_triggers, m.cutoffs, m.merged) == (2, 0, 0, 1, 0)
    # the stop comes the configured silence after the true end (10 ms frames)
    assert m.mean_delay_ms == pytest.approx(500, abs=15)
    longer = simulate(
        clip, SessionConfig().with_changes({"turn_detection.silence_duration_ms": 800})
    )
    assert longer.measures is not None
    assert (longer.measures.cutoffs, longer.measures.errors) == (0, 0)
    assert longer.measures.mean_delay_ms == pytest.approx(800, abs=15)
    # turns start where the labels say (within 40 ms) and commits follow the stops
    assert [t.stopped_ms for t in longer.turns] == longer.commits
    for turn, truth in zip(longer.turns, clip.truth or [], strict=True):
        assert abs(turn.start_ms - truth.start_ms) <= 40
        assert turn.audio_start_ms == turn.start_ms - 300  # prefix padding, as the server reports


def test_replies_are_cut_by_speech_only_with_interrupt_response(
    clips: dict[str, LabClip],
) -> None:
    clip = clips["cough"]
    on = simulate(clip, SessionConfig())
    off = simulate(clip, SessionConfig().with_changes({"turn_detection.interrupt_response": False}))
    assert on.measures is not None
    assert off.measures is not None
    assert on.measures.interrupted >= 1
    assert off.measures.interrupted == 0
    assert all(r.status == "completed" for r in off.responses)
    assert not simulate(
        clip, SessionConfig().with_changes({"turn_detection.create_response": False})
    ).responses


def test_idle_timeout_fires_after_the_reply_and_prompts_a_response(
    clips: dict[str, LabClip],
) -> None:
    config = SessionConfig().with_changes({"turn_detection.idle_timeout_ms": 5000})
    result = simulate(clips["quick_replies"], config, reply_ms=1500)
    assert len(result.timeouts) == 1
    last_reply = [r for r in result.responses if r.trigger == "turn_detected"][-1]
    start, end = result.timeouts[0]
    assert start == pytest.approx(last_reply.end_ms, abs=40)
    assert end - start == pytest.approx(5000, abs=40)
    prompted = [r for r in result.responses if r.trigger == "idle_timeout"]
    assert len(prompted) == 1
    assert prompted[0].end_ms - prompted[0].start_ms == pytest.approx(1500, abs=40)


def test_score_counts_hits_misses_false_triggers_cutoffs_and_merges() -> None:
    truth = [Segment(1000, 2000), Segment(3000, 4000), Segment(5000, 5500), Segment(8000, 9000)]
    turns = [
        Turn(1000, 1500, 1700, 700),  # cut inside the first labelled turn...
        Turn(1600, 2000, 2500, 1300),  # ...which then ends 500 ms late
        Turn(2400, 2500, 3000, 2100),  # nobody spoke here
        Turn(3000, 5500, 6000, 2700),  # two labelled turns answered as one
    ]
    result = LabResult(SessionConfig(), turns=turns)
    m = score(result, truth)
    assert (m.hits, m.misses, m.false_triggers, m.cutoffs, m.merged) == (3, 1, 1, 1, 1)
    assert m.errors == 4
    # delays: 500 (first), 2000 (second, answered only at 6000), 500 (third)
    assert m.mean_delay_ms == pytest.approx(1000.0)
    assert m.max_delay_ms == 2000
    assert score(result, None).hits is None
    assert WouldBeResponse(0, 1, "completed", "turn_detected").status == "completed"


def test_sweep_tabulates_every_combination(clips: dict[str, LabClip]) -> None:
    lab = VadLab(clips["pauses"])
    seen = []
    table = lab.sweep(
        silence_duration_ms=[300, 500, 800],
        threshold=[0.4, 0.6],
        progress=lambda n, k: seen.append((n, k)),
    )
    assert isinstance(table, pd.DataFrame)
    assert len(table) == 6
    assert list(table.columns[:2]) == ["silence_duration_ms", "threshold"]
    assert seen[-1] == (6, 6)
    assert lab.progress.value == 6
    row = table[(table.silence_duration_ms == 800) & (table.threshold == 0.4)].iloc[0]
    assert (row.cutoffs, row.errors) == (0, 0)
    assert table[table.silence_duration_ms == 300].cutoffs.tolist() == [1, 1]
    # the heatmap: x = silence, y = threshold, values = errors
    assert lab.heatmap.x_values == ["300", "500", "800"]
    assert lab.heatmap.y_values == ["0.4", "0.6"]
    assert lab.heatmap.values == [[1, 1, 0], [1, 1, 0]]
    # clicking a cell applies it to the controls and the result
    lab._picked(2, 1)
    assert lab.config.turn_detection == ServerVad(threshold=0.6, silence_duration_ms=800)
    assert lab.control.value["silence_duration_ms"] == 800
    assert lab.result is not None
    assert lab.result.measures is not None
    assert lab.result.measures.errors == 0


def test_sweep_switches_type_and_keeps_shared_settings(clips: dict[str, LabClip]) -> None:
    lab = VadLab(clips["hesitation"])
    table = lab.sweep(type=["semantic_vad"], eagerness=["low", "high"])
    assert table.eagerness.tolist() == ["low", "high"]
    low, high = table.mean_delay_ms.tolist()
    assert low > high  # low eagerness waits longer before a turn is over


@pytest.mark.parametrize(
    ("grid", "field", "words"),
    [
        ({"threshold": [0.5, 1.5]}, "turn_detection.threshold", "1"),
        ({"silence_duraton_ms": [300]}, "silence_duraton_ms", "silence_duration_ms"),
        ({"type": ["fast_vad"]}, "turn_detection.type", "semantic_vad"),
        ({"threshold": []}, "threshold", "no values"),
    ],
)
def test_bad_sweeps_name_the_field_and_run_nothing(
    clips: dict[str, LabClip], grid: dict, field: str, words: str
) -> None:
    lab = VadLab(clips["quick_replies"])
    runs = lab.analysis.runs
    with pytest.raises(ConfigError) as err:
        lab.sweep(**grid)
    assert err.value.problems[0].field == field
    assert words in str(err.value)
    assert lab.analysis.runs == runs  # checked before anything ran
    with pytest.raises(ConfigError, match="measure"):
        lab.sweep(measure="speed", threshold=[0.5])


def test_labs_are_separate_and_fit_their_column(clips: dict[str, LabClip]) -> None:
    first, second = VadLab(clips["pauses"]), VadLab(clips["pauses"])
    second.set(silence_duration_ms=700, threshold=0.3)
    # One lab's change leaves another's view as its own cell left it.
    assert first.view.threshold == 0.5
    assert first.result is not None
    assert first.result.measures is not None
    assert first.result.measures.cutoffs == 1
    assert second.view.threshold == 0.3
    # Columns that share the width and wrap: no fixed percentages that overflow a narrow cell.
    assert "rw-vadlab" in first._dom_classes
    columns = first.children[2]
    assert columns.layout.flex_flow == "row wrap"
    assert all(c.layout.min_width == "0" and c.layout.width is None for c in columns.children)
    assert first.reply.layout.width == "95%"


def test_controls_recompute_the_view(clips: dict[str, LabClip]) -> None:
    lab = VadLab(clips["pauses"])
    assert lab.view.clip_ms == pytest.approx(clips["pauses"].duration_ms)
    assert len(lab.view.envelope) == 4 * len(lab.analysis.frames)  # int16 min/max per 10 ms
    assert len(lab.view.probability) == len(lab.analysis.frames)
    assert lab.view.result["measures"]["cutoffs"] == 1
    slider = next(c for c in lab.control.inner if c.path == "turn_detection.silence_duration_ms")
    slider.widget.value = 900
    assert lab.config.turn_detection.silence_duration_ms == 900
    assert lab.view.result["measures"]["cutoffs"] == 0
    assert "ms" in lab.status.value
    threshold = next(c for c in lab.control.inner if c.path == "turn_detection.threshold")
    threshold.widget.value = 0.7
    assert lab.view.threshold == pytest.approx(0.7)
    kind = next(c for c in lab.control.inner if c.path == "turn_detection.type")
    kind.widget.value = "semantic_vad"
    assert isinstance(lab.config.turn_detection, SemanticVad)
    assert lab.view.threshold == -1.0  # no threshold slider for semantic_vad


def test_clips_load_from_wav_labels_arrays_recordings_and_takes(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    x = (rng.standard_normal(16000) * 3000).astype(np.int16)
    write_wav(tmp_path / "take.wav", x, 16000)
    (tmp_path / "take.json").write_text(json.dumps({"turns": [{"start_ms": 100, "end_ms": 600}]}))
    clip = load_clip(tmp_path / "take.wav")
    assert clip.name == "take"
    assert len(clip.samples) == 24000  # read at 24 kHz
    assert clip.truth == [Segment(100.0, 600.0, "")]
    assert load_clip((x, 16000)).duration_ms == pytest.approx(1000)
    assert load_clip(x[:2400]).duration_ms == pytest.approx(100)  # an array is 24 kHz
    # a recording: the appended input audio, G.711 decoded after the format changed
    rows = [
        {"t": 0, "dir": "out", "event": {"type": "input_audio_buffer.append",
                                         "audio": base64.b64encode(x[:480].astype("<i2").tobytes()).decode()}},
        {"t": 0, "dir": "out", "event": {"type": "session.update",
                                         "session": {"audio": {"input": {"format": {"type": "audio/pcmu"}}}}}},
        {"t": 0, "dir": "out", "event": {"type": "input_audio_buffer.append",
                                         "audio": base64.b64encode(bytes([0xFF] * 80)).decode()}},
        {"t": 0, "dir": "in", "event": {"type": "session.updated"}},
    ]  # fmt: skip
    (tmp_path / "run.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    recorded = load_clip(tmp_path / "run.jsonl")
    assert len(recorded.samples) == 480 + 240  # 80 mu-law bytes at 8 kHz = 10 ms = 240
    # a microphone take
    mic = Microphone()
    mic.streaming = True
    mic._deliver(x[:1000])
    mic._deliver(x[1000:2000])
    assert len(load_clip(mic).samples) == 2000
    mic.streaming = False
    mic.streaming = True  # a new take starts empty
    with pytest.raises(Exception, match="no take"):
        load_clip(mic)


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("missing.wav", "no such file"),
        (np.zeros((2, 10)), "mono"),
        (42, "give a WAV path"),
    ],
)
def test_bad_clips_say_what_is_accepted(source: object, words: str) -> None:
    with pytest.raises(Exception, match=words):
        load_clip(source)


def test_bad_labels_name_the_turn(tmp_path: Path) -> None:
    write_wav(tmp_path / "a.wav", np.zeros(2400, np.int16), 24000)
    (tmp_path / "a.json").write_text(json.dumps({"turns": [{"start_ms": 5}]}))
    with pytest.raises(Exception, match=r"turns\[0\] needs numeric start_ms and end_ms"):
        load_clip(tmp_path / "a.wav")
    (tmp_path / "a.json").write_text(json.dumps({"turns": [{"start_ms": 50, "end_ms": 10}]}))
    with pytest.raises(Exception, match="start_ms < end_ms"):
        load_clip(tmp_path / "a.wav")


def test_example_clips_labels_match_their_audio(clips: dict[str, LabClip]) -> None:
    assert set(clips) == {"pauses", "noisy_cafe", "cough", "hesitation", "quick_replies"}
    for name, clip in clips.items():
        assert clip.truth, name
        assert clip.description, name
        env = np.abs(clip.samples.astype(np.float64))
        for seg in clip.truth:
            inside = env[int(seg.start_ms * 24) : int(seg.end_ms * 24)]
            assert inside.max() > 3000, (name, seg)
            # the speech starts and ends at the labels (first/last 20 ms are loud)
            assert env[int(seg.start_ms * 24) : int(seg.start_ms * 24) + 480].max() > 1000, (
                name,
                seg,
            )
            assert env[int(seg.end_ms * 24) - 480 : int(seg.end_ms * 24)].max() > 1000, (name, seg)
        if name in ("pauses", "hesitation", "quick_replies"):  # clean: silent between turns
            before = env[: int(clip.truth[0].start_ms * 24) - 240]
            assert before.max() < 50, name
    _, info = read_wav(Path(__file__).parents[2] / "realtime_widgets/vadlab/clips/pauses.wav")
    assert info.rate == 16000  # stored small; read at 24 kHz by the lab


def test_ab_test_feeds_the_same_audio_to_two_local_sessions(clips: dict[str, LabClip]) -> None:
    a = SessionConfig(max_output_tokens=40)
    b = a.with_changes({"turn_detection.silence_duration_ms": 1200})
    with ABTest(clips["quick_replies"], a, b) as ab:
        assert list(ab.differences()) == ["turn_detection"]
        assert ab.differences()["turn_detection"][1]["silence_duration_ms"] == 1200
        summary = ab.run(speed=4.0, timeout=120)
        assert summary.loc["A", "turns"] == 3
        assert summary.loc["B", "turns"] == 1  # the long silence merges the quick replies
        assert summary.loc["A", "responses"] == 3
        assert summary.loc["B", "responses"] == 1
        assert summary.loc["B", "speech_stopped_ms"][0] == pytest.approx(
            (clips["quick_replies"].truth or [])[-1].end_ms + 1200, abs=60
        )
        assert summary.loc["A", "output_tokens"] > 0
        assert len(ab.columns.children) == 2
        events = ab.events("A")
        transcripts = ab.transcripts()
    assert ab.sessions is None
    # The results outlive the sessions: the notebook prints them after stop().
    assert ab.events("A") == events
    assert [kind for kind, _ in events].count("input_audio_buffer.speech_started") == 3
    assert ab.transcripts() == transcripts
    assert [role for role, _ in transcripts["B"]] == ["user", "assistant"]
    assert ab.summary().loc["B", "turns"] == 1
    with pytest.raises(ConfigError, match="speed"):
        ABTest(clips["quick_replies"], a, b).run(speed=0)
