"""SuiteLab, the Python side: what the browser is sent for a selection (the plot's points, each
clip's decisions and envelopes, one clip's audio on request), that the clips are re-run on the
worker thread, and the errors for a bad selection."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from realtime_widgets.audio.envelope import envelope
from realtime_widgets.errors import ConfigError
from realtime_widgets.evals.clip import RATE, Clip, Span
from realtime_widgets.evals.metrics import COUNTS, METRICS
from realtime_widgets.evals.runs import ClipRun, from_timeline
from realtime_widgets.evals.sweep import OPENAI_REFERENCE, SweepResult, sweep
from realtime_widgets.vadlab.suite_lab import BIN_MS, SuiteLab, decided_lanes, shown_measures
from tests.evals.clips import short_clips


@pytest.fixture(scope="module")
def result() -> SweepResult:
    # 200 ms cuts the hold of "hold-then-end" (450 ms pause); 500 and 800 ms do not
    return sweep(short_clips(), {"silence_duration_ms": [200, 500, 800]})


class Gated:
    """A result whose ``run`` waits for ``gate`` and records the thread it ran on."""

    def __init__(self, result: SweepResult) -> None:
        self.inner = result
        self.gate = threading.Event()
        self.threads: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def run(self, row: int, clip_id: str) -> ClipRun:
        self.threads.append(threading.current_thread().name)
        assert self.gate.wait(60)
        return self.inner.run(row, clip_id)


def _times(run: ClipRun, kind: str) -> list[float]:
    return [t for t, e in run.events if e["type"] == kind]


def test_the_plot_gets_every_row_the_front_the_baseline_and_the_reference(
    result: SweepResult,
) -> None:
    lab = SuiteLab(result)
    table = result.table
    assert [p["row"] for p in lab.points] == [0, 1, 2]
    assert [p["label"] for p in lab.points] == [
        "silence_duration_ms=200", "silence_duration_ms=500", "silence_duration_ms=800"
    ]  # fmt: skip
    for p in lab.points:
        row = table.iloc[p["row"]]
        assert p["x"] == row.eot_latency_ms_p50
        assert p["y"] == row.false_cutoff_rate
        assert p["front"] == (p["row"] in result.front)
        for name in (*METRICS, *COUNTS):
            value = row[name]
            assert p["values"][name] == (None if np.isnan(value) else value), name
    assert lab.points[0]["y"] == 1.0  # the 450 ms hold is cut at 200 ms of silence
    assert lab.points[1]["y"] == lab.points[2]["y"] == 0.0
    assert [p["front"] for p in lab.points] == [True, True, False]  # 800 ms: slower, no better
    assert lab.metrics == [*METRICS, *COUNTS]
    assert result.baseline is not None
    assert [(m["x"], m["y"]) for m in lab.baseline] == list(
        zip(result.baseline.eot_latency_ms_p50, result.baseline.false_cutoff_rate, strict=True)
    )
    assert lab.reference is not None
    assert (lab.reference["x"], lab.reference["y"]) == (1143.0, 0.05)
    assert "livekit/eot-bench" in lab.reference["label"]
    assert lab.reference["source"] == OPENAI_REFERENCE.source
    assert [c["id"] for c in lab.clips] == [c.id for c in result.suite]
    first = lab.clips[0]
    assert first["spans"] == [
        [s.start_ms, s.end_ms, s.label, s.text] for s in result.suite[0].spans
    ]
    assert lab.strips == {}
    assert lab.waves == b""


def test_a_selection_sends_each_clips_decisions_and_envelopes(
    result: SweepResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    gated = Gated(result)
    lab = SuiteLab(gated)
    messages: list[Any] = []
    monkeypatch.setattr(lab, "send", lambda *args: messages.append(args))
    gated.gate.set()
    lab.select(0, compare=2)
    lab.wait()
    assert messages == []  # no audio goes with a selection: only on a play button's request
    assert lab.status == ""
    assert set(gated.threads) == {"suite-lab_0"}  # never the kernel's main thread
    assert [lab.strips[s]["row"] for s in ("A", "B")] == [0, 2]
    waves = np.frombuffer(lab.waves, "<i2").reshape(-1, 2)
    for side, row in (("A", 0), ("B", 2)):
        strips = lab.strips[side]["clips"]
        assert [s["id"] for s in strips] == [c.id for c in result.suite]
        for strip, measures in zip(strips, result.measures[row], strict=True):
            run = result.run(row, strip["id"])
            starts = _times(run, "input_audio_buffer.speech_started")
            stops = _times(run, "input_audio_buffer.speech_stopped")
            assert [t[0] for t in strip["turns"]] == starts
            assert [t[1] for t in strip["turns"] if t[2]] == stops
            assert strip["commits"] == _times(run, "input_audio_buffer.committed")
            done = [e["response"]["status"] for _, e in run.events if e["type"] == "response.done"]
            assert [r[2] for r in strip["responses"]] == done
            assert strip["cuts"] == [p.stopped_ms for p in run.plays if p.stopped_ms is not None]
            assert strip["total_ms"] == run.duration_ms
            first, n = strip["user"]
            assert np.array_equal(waves[first : first + n], envelope(run.user, BIN_MS))
            first, n = strip["agent"]
            assert np.array_equal(waves[first : first + n], envelope(run.agent, BIN_MS))
            if measures.hold_cut:
                cut = sum(measures.hold_cut)
                assert ["holds cut", f"{cut}/{len(measures.hold_cut)}"] in strip["measures"]
    bins = sum(
        s[ch][1]
        for side in ("A", "B")
        for s in lab.strips[side]["clips"]
        for ch in ("user", "agent")
    )
    assert len(lab.waves) == 4 * bins  # envelopes only: int16 [min, max] per bin
    # row 0 cuts the hold of the first clip: its decision falls inside the hold
    (hold,) = result.suite[0].of("hold")
    a_first = lab.strips["A"]["clips"][0]
    assert any(hold.start_ms <= t[1] < hold.end_ms for t in a_first["turns"] if t[2])
    assert ["holds cut", "1/1"] in a_first["measures"]
    assert ["holds cut", "0/1"] in lab.strips["B"]["clips"][0]["measures"]
    lab.close()


def test_it_says_computing_until_the_worker_is_done_and_the_newest_selection_wins(
    result: SweepResult,
) -> None:
    gated = Gated(result)
    lab = SuiteLab(gated)
    lab.select(1)
    assert lab.status.startswith("computing...")
    assert lab.strips == {}  # nothing drawn before the runs are done
    lab.select(2)  # while the first job waits
    gated.gate.set()
    lab.wait()
    assert lab.status == ""
    assert lab.strips["A"]["row"] == 2
    assert "B" not in lab.strips
    lab.select(-1)
    assert lab.strips == {}
    assert lab.waves == b""
    lab.close()


def test_play_sends_that_clips_stereo_audio_and_nothing_else(
    result: SweepResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = SuiteLab(result)
    sent: list[tuple[dict[str, Any], list[bytes]]] = []
    done = threading.Event()

    def send(content: dict[str, Any], buffers: list[bytes]) -> None:
        sent.append((content, buffers))
        done.set()

    monkeypatch.setattr(lab, "send", send)
    clip_id = result.suite[1].id
    lab._browser(lab, {"type": "play", "row": 1, "clip": clip_id}, [])  # what the button sends
    assert done.wait(60)
    ((content, buffers),) = sent
    assert content == {"type": "audio", "clip": clip_id, "row": 1, "rate": RATE}
    run = result.run(1, clip_id)
    (data,) = buffers
    stereo = np.frombuffer(data, "<i2").reshape(-1, 2)
    assert np.array_equal(stereo, run.stereo())
    assert np.array_equal(stereo[:, 0], run.user)
    assert np.array_equal(stereo[:, 1], run.agent)
    lab.close()


def test_bad_selections_name_the_field_and_the_allowed_range(result: SweepResult) -> None:
    lab = SuiteLab(result)
    with pytest.raises(ConfigError) as info:
        lab.selected = 3
    assert info.value.field == "selected"
    assert "selected must be a row of result.table, 0..2 (or -1 for none), got 3" in str(info.value)
    with pytest.raises(ConfigError) as info:
        lab.select(0, compare=-2)
    assert info.value.field == "compare"
    assert "0..2 (or -1 for none), got -2" in str(info.value)
    with pytest.raises(
        ConfigError, match=r"selected must be a row number of result\.table, got '1'"
    ):
        lab.select("1")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"row must be 0\.\.2, got 7"):
        lab.audio_message(7, result.suite[0].id)
    with pytest.raises(ConfigError, match="clip must be one of hold-then-end, two-turns, got 'x'"):
        lab.audio_message(0, "x")
    with pytest.raises(ConfigError) as info:
        SuiteLab(result, selected=5)
    assert info.value.field == "selected"
    assert lab.selected == -1
    assert lab.compare == -1
    lab.close()


def test_decided_lanes_read_turns_commits_replies_and_cuts_from_the_events() -> None:
    clip = Clip("c", np.zeros(RATE * 3, np.int16), (Span(100, 900, "speech"),))
    reply = np.full(RATE // 2, 2000, np.int16)  # 500 ms of audio, sent at once
    from base64 import b64encode

    delta = b64encode(reply.tobytes()).decode()
    timeline: list[tuple[float, dict[str, Any]]] = [
        (120.0, {"type": "input_audio_buffer.speech_started", "audio_start_ms": 0}),
        (900.0, {"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 900}),
        (900.0, {"type": "input_audio_buffer.committed", "item_id": "i1"}),
        (900.0, {"type": "response.created", "response": {"id": "r1"}}),
        (950.0, {"type": "response.output_audio.delta", "response_id": "r1", "delta": delta}),
        (1200.0, {"type": "input_audio_buffer.speech_started", "audio_start_ms": 1100}),
        (1220.0, {"type": "response.done", "response": {"id": "r1", "status": "cancelled"}}),
    ]
    run = from_timeline(clip, timeline, duration_ms=3000)
    lanes = decided_lanes(run)
    assert lanes["turns"] == [[120.0, 900.0, True], [1200.0, 3000.0, False]]  # never stopped
    assert lanes["commits"] == [900.0]
    assert lanes["responses"] == [[900.0, 1220.0, "cancelled"]]
    assert lanes["cuts"] == [1200.0]  # speech started while the reply was audible


def test_a_clips_measures_read_as_counts_and_ms() -> None:
    summary = {
        "false_cutoff_rate": 0.5, "n_hold": 2, "missed_eot_rate": 0.0, "n_eot": 1,
        "eot_latency_ms_p50": 512.4, "ttfa_ms_p50": None, "false_barge_in_rate": None,
        "n_backchannel": 0, "talk_over_rate": 1.0, "n_barge_in": 1, "barge_in_stop_ms_p50": None,
    }  # fmt: skip
    assert shown_measures(summary) == [
        ["holds cut", "1/2"],
        ["ends missed", "0/1"],
        ["eot latency", "512 ms"],
        ["barge-ins talked over", "1/1"],
    ]


def test_a_malformed_play_message_is_an_error_in_the_view_not_in_the_comm_handler(
    result: SweepResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = SuiteLab(result)
    sent: list[object] = []
    monkeypatch.setattr(lab, "send", lambda *args: sent.append(args))
    clip_id = result.suite[0].id
    for row in ("x", None, [1], float("inf")):
        lab.status = ""
        lab._browser(lab, {"type": "play", "row": row, "clip": clip_id}, [])
        assert lab.status == f"error: row must be an integer row of the table, got {row!r}"
    lab._browser(lab, {"type": "play", "row": 0, "clip": 5}, [])
    assert lab.status == "error: clip must be a clip id (a string), got 5"
    lab._browser(lab, ["not", "a", "dict"], [])  # ignored
    lab._worker.submit(lambda: None).result(60)  # nothing was queued behind
    assert sent == []
    lab.close()


class Failing(Gated):
    """A result whose ``run`` waits for ``gate``, then fails."""

    def run(self, row: int, clip_id: str) -> ClipRun:
        self.threads.append(threading.current_thread().name)
        assert self.gate.wait(60)
        raise RuntimeError("the run failed")


def test_a_job_running_when_the_lab_closes_sets_nothing_on_it(result: SweepResult) -> None:
    failing = Failing(result)
    lab = SuiteLab(failing)
    lab.select(1)
    assert lab.pending is not None
    pending = lab.pending
    status = lab.status
    assert status.startswith("computing...")
    lab.close()  # while the worker is inside the run
    failing.gate.set()
    with pytest.raises(RuntimeError, match="the run failed"):
        pending.result(60)
    assert isinstance(lab.last_error, RuntimeError)
    assert lab.status == status  # no error drawn on the closed widget
    assert lab.strips == {}
    lab.selected = 0  # a change after closing starts no job
    assert lab.pending is pending
