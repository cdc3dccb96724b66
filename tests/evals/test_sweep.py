"""sweep(): the table, the baseline, executors, the cache, parquet, the Pareto plot, dry runs."""

from __future__ import annotations

import concurrent.futures as cf
import gzip
import importlib
import json
import shutil
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from realtime_widgets.errors import ConfigError
from realtime_widgets.evals import cache as cache_module
from realtime_widgets.evals.cache import SweepCache, code_digest
from realtime_widgets.evals.clip import Clip
from realtime_widgets.evals.metrics import COUNTS, METRICS, measure, summarize
from realtime_widgets.evals.remote import REPLY_S, Estimate, RemoteRunner
from realtime_widgets.evals.runs import from_timeline, run_local, tail_for
from realtime_widgets.evals.sweep import (
    BASELINE_SILENCE_MS,
    OPENAI_REFERENCE,
    DryRun,
    SweepResult,
    SweepTimeout,
    pareto_front,
    sweep,
    task_deadline_s,
)
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.server.app import LocalServer
from realtime_widgets.server.reply.responder import ReplyContext
from tests.evals.clips import short_clips

# the module (``realtime_widgets.evals.sweep`` as an attribute is the function)
sweep_module = importlib.import_module("realtime_widgets.evals.sweep")

GRID: dict[str, list[Any]] = {"threshold": [0.5, 0.7], "silence_duration_ms": [300, 800]}


def recorder(calls: list[object]) -> Any:
    """A stand-in for the clip task that only notes it was called."""

    def task(*args: object) -> list[object]:
        calls.append(args)
        return []

    return task


@pytest.fixture(scope="module")
def clips() -> list[Clip]:
    return short_clips()


@pytest.fixture(scope="module")
def serial(clips: list[Clip]) -> SweepResult:
    return sweep(clips, GRID)


def test_the_table_has_one_row_per_configuration_grid_keys_then_metrics_then_counts(
    serial: SweepResult, clips: list[Clip]
) -> None:
    table = serial.table
    assert list(table.columns) == [*GRID, *METRICS, *COUNTS, "n_clips", "n_failed"]
    assert table[["threshold", "silence_duration_ms"]].values.tolist() == [
        [0.5, 300],
        [0.5, 800],
        [0.7, 300],
        [0.7, 800],
    ]
    # each row is the pooled summary of its configuration run clip by clip, independently
    for row, settings in enumerate(serial.settings):
        config = SessionConfig().with_changes(
            {f"turn_detection.{k}": v for k, v in settings.items()}
        )
        direct = summarize(measure(run_local(c, config, settings=settings)) for c in clips)
        for name in (*METRICS, *COUNTS):
            expected = direct[name]
            got = table.loc[row, name]
            assert (pd.isna(got) and expected is None) or got == pytest.approx(expected), name
    # the 450 ms hold: a 300 ms silence wait cuts the person off there, 800 ms does not
    assert table.loc[0, "false_cutoff_rate"] == 1.0
    assert table.loc[1, "false_cutoff_rate"] == 0.0
    assert table.loc[1, "eot_latency_ms_p50"] > table.loc[0, "eot_latency_ms_p50"] + 400
    assert (table["n_hold"] == 1).all()
    assert (table["n_eot"] == 3).all()
    assert [[m.clip_id for m in ms] for ms in serial.measures] == [[c.id for c in clips]] * 4


def test_the_baseline_is_the_silence_only_vad_ladder_on_the_same_suite(
    serial: SweepResult,
) -> None:
    base = serial.baseline
    assert base is not None
    assert base["silence_duration_ms"].tolist() == list(BASELINE_SILENCE_MS)
    assert all(c.turn_detection.threshold == 0.5 for c in serial.baseline_configs)  # type: ignore[union-attr]
    # the row at 300 / 800 ms is the grid's row at threshold 0.5 (same decisions)
    for ms, row in ((300, 0), (800, 1)):
        at = base[base["silence_duration_ms"] == ms].iloc[0]
        assert at["false_cutoff_rate"] == serial.table.loc[row, "false_cutoff_rate"]
        assert at["eot_latency_ms_p50"] == serial.table.loc[row, "eot_latency_ms_p50"]
    # latency grows with the silence wait, false cutoffs do not
    assert base["eot_latency_ms_p50"].is_monotonic_increasing
    assert base["false_cutoff_rate"].is_monotonic_decreasing


def test_baseline_false_skips_it(clips: list[Clip]) -> None:
    result = sweep(clips[:1], {"silence_duration_ms": [300]}, baseline=False)
    assert result.baseline is None
    assert result.baseline_measures == []
    assert len(result.table) == 1


def test_every_configuration_is_checked_before_anything_runs(
    clips: list[Clip], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []
    monkeypatch.setattr(sweep_module, "clip_task", recorder(calls))
    with pytest.raises(ConfigError) as bad_value:
        sweep(clips, {"silence_duration_ms": [300], "threshold": [0.5, 1.5]})
    assert bad_value.value.field == "threshold"
    assert "1.5" in str(bad_value.value)
    assert "1.0" in str(bad_value.value)
    with pytest.raises(ConfigError) as unknown:
        sweep(clips, {"thresold": [0.5]})
    assert unknown.value.field == "thresold"
    assert "silence_duration_ms" in str(unknown.value)  # the allowed names are listed
    with pytest.raises(ConfigError, match="no values"):
        sweep(clips, {"threshold": []})
    assert calls == []
    # one problem per bad value, however many grid points it is in
    with pytest.raises(ConfigError) as twice:
        sweep(clips, {"silence_duration_ms": [300, 500, 800], "threshold": [1.5]})
    assert len(twice.value.problems) == 1
    # keys that depend on each other are checked together: eagerness needs semantic_vad
    together = sweep(clips, {"type": ["semantic_vad"], "eagerness": ["low", "high"]}, dry_run=True)
    assert together.ok
    assert together.settings == [
        {"type": "semantic_vad", "eagerness": "low"},
        {"type": "semantic_vad", "eagerness": "high"},
    ]


def test_run_replays_the_measured_run(serial: SweepResult, clips: list[Clip]) -> None:
    run = serial.run(1, "two-turns")
    assert run.clip.id == "two-turns"
    assert run.settings == {"threshold": 0.5, "silence_duration_ms": 800}
    assert measure(run) == serial.measures[1][1]
    with pytest.raises(ConfigError, match="clip_id must be one of"):
        serial.run(1, "nope")


def test_a_thread_pool_gives_the_serial_table(serial: SweepResult, clips: list[Clip]) -> None:
    with cf.ThreadPoolExecutor(2) as pool:
        pooled = sweep(clips, GRID, executor=pool, configs_per_task=3)
    pd.testing.assert_frame_equal(pooled.table, serial.table)
    assert pooled.baseline is not None
    assert serial.baseline is not None
    pd.testing.assert_frame_equal(pooled.baseline, serial.baseline)
    assert pooled.measures == serial.measures


def test_a_process_pool_gives_the_serial_table(serial: SweepResult, clips: list[Clip]) -> None:
    with cf.ProcessPoolExecutor(2) as pool:
        pooled = sweep(clips, GRID, executor=pool, baseline=False)
    pd.testing.assert_frame_equal(pooled.table, serial.table)
    assert pooled.measures == serial.measures


def test_the_executor_must_be_an_executor(clips: list[Clip]) -> None:
    with pytest.raises(ConfigError) as bad:
        sweep(clips, GRID, executor="dask")
    assert bad.value.field == "executor"


def test_a_cached_sweep_computes_nothing_and_a_new_value_only_its_configurations(
    tmp_path: Path, clips: list[Clip], serial: SweepResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[dict[str, Any]] = []
    real = run_local

    def counting(*args: Any, **kwargs: Any) -> Any:
        runs.append(kwargs["settings"])
        return real(*args, **kwargs)

    monkeypatch.setattr(sweep_module, "run_local", counting)
    first = sweep(clips, GRID, cache=tmp_path)
    # the baseline's 300 and 800 ms rungs are the grid's threshold-0.5 rows: each runs once
    n_configs = 4 + len(BASELINE_SILENCE_MS) - 2
    assert len(runs) == n_configs * len(clips)
    assert len(SweepCache(tmp_path)) == len(runs)  # one file per (clip, configuration)
    pd.testing.assert_frame_equal(first.table, serial.table)

    runs.clear()
    again = sweep(clips, GRID, cache=tmp_path)
    assert runs == []
    pd.testing.assert_frame_equal(again.table, serial.table)
    assert again.baseline is not None
    assert serial.baseline is not None
    pd.testing.assert_frame_equal(again.baseline, serial.baseline)
    assert again.measures == serial.measures

    # one grid value changed: only the two new configurations run, on each clip
    changed: dict[str, list[Any]] = {"threshold": [0.5, 0.6], "silence_duration_ms": [300, 800]}
    third = sweep(clips, changed, cache=tmp_path)
    assert sorted(json.dumps(s, sort_keys=True) for s in runs) == sorted(
        json.dumps({"threshold": 0.6, "silence_duration_ms": ms}, sort_keys=True)
        for ms in (300, 800)
        for _ in clips
    )
    pd.testing.assert_frame_equal(third.table.iloc[:2], serial.table.iloc[:2])
    # the cache is keyed by content, not by the grid's spelling: a dotted key hits it
    runs.clear()
    dotted = sweep(clips, {"turn_detection.silence_duration_ms": [300, 800]}, cache=tmp_path)
    assert runs == []
    assert dotted.table["false_cutoff_rate"].tolist() == [1.0, 0.0]


def test_a_killed_sweep_resumes_where_it_stopped(
    tmp_path: Path, clips: list[Clip], serial: SweepResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = sweep_module.clip_task
    done: list[str] = []

    def dies_on_the_second_clip(clip: Clip, points: Any) -> Any:
        if done:
            raise KeyboardInterrupt
        done.append(clip.id)
        return real(clip, points)

    monkeypatch.setattr(sweep_module, "clip_task", dies_on_the_second_clip)
    with pytest.raises(KeyboardInterrupt):
        sweep(clips, GRID, cache=tmp_path)
    assert len(SweepCache(tmp_path)) == 4 + len(BASELINE_SILENCE_MS) - 2  # the first clip's
    assert not list(tmp_path.glob(".*"))  # no temporary left behind

    ran: list[str] = []

    def counted(clip: Clip, points: Any) -> Any:
        ran.append(clip.id)
        return real(clip, points)

    monkeypatch.setattr(sweep_module, "clip_task", counted)
    resumed = sweep(clips, GRID, cache=tmp_path)
    assert ran == [clips[1].id]
    pd.testing.assert_frame_equal(resumed.table, serial.table)


def test_parquet_round_trips_the_table_and_the_measures(
    tmp_path: Path, serial: SweepResult, clips: list[Clip]
) -> None:
    folder = serial.to_parquet(tmp_path / "sweep")
    assert pd.read_parquet(folder / "table.parquet").shape == serial.table.shape
    back = SweepResult.read_parquet(folder, clips)
    pd.testing.assert_frame_equal(back.table, serial.table)
    assert back.baseline is not None
    assert serial.baseline is not None
    pd.testing.assert_frame_equal(back.baseline, serial.baseline)
    assert back.measures == serial.measures
    assert back.baseline_measures == serial.baseline_measures
    assert back.settings == serial.settings
    assert back.configs == serial.configs
    assert measure(back.run(2, "hold-then-end")) == serial.measures[2][0]
    # the clips are checked: a different recording under the same id is refused
    other = Clip("hold-then-end", clips[0].samples[::-1].copy(), clips[0].spans)
    with pytest.raises(ConfigError, match="has changed"):
        SweepResult.read_parquet(folder, [other, clips[1]])


def test_pareto_front_keeps_the_rows_nothing_beats() -> None:
    table = pd.DataFrame(
        {
            "eot_latency_ms_p50": [300.0, 500.0, 400.0, 900.0, 600.0, float("nan")],
            "false_cutoff_rate": [0.5, 0.1, 0.6, 0.0, 0.1, 0.0],
        }
    )
    assert pareto_front(table) == [0, 1, 3]


def test_the_pareto_plot_draws_the_grid_the_front_the_baseline_and_openai(
    serial: SweepResult,
) -> None:
    fig = serial.pareto()
    (ax,) = fig.axes
    legend = ax.get_legend()
    assert legend is not None
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels[0] == "grid"
    assert "Pareto front" in labels
    assert any(label.startswith("silence-only VAD") for label in labels)
    assert any("livekit/eot-bench" in label for label in labels)
    points = [tuple(xy) for c in ax.collections for xy in np.asarray(c.get_offsets()).tolist()]
    assert (OPENAI_REFERENCE.eot_latency_ms, 5.0) in points
    for row in range(len(serial.table)):
        x = serial.table.loc[row, "eot_latency_ms_p50"]
        assert (x, serial.table.loc[row, "false_cutoff_rate"] * 100) in points
    assert "ms" in ax.get_xlabel()
    assert "%" in ax.get_ylabel()
    # on a caller's axes: drawn there
    from matplotlib.figure import Figure

    mine = Figure().add_subplot()
    assert serial.pareto(ax=mine) is mine.figure


def test_a_dry_run_checks_every_configuration_on_the_local_server(
    clips: list[Clip], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []
    monkeypatch.setattr(sweep_module, "clip_task", recorder(calls))
    checked = sweep(clips, {"type": ["server_vad", "semantic_vad"]}, dry_run=True)
    assert isinstance(checked, DryRun)
    assert checked.ok
    assert checked.jobs == 4
    assert checked.estimate is None
    assert checked.settings == [{"type": "server_vad"}, {"type": "semantic_vad"}]
    assert calls == []


class RecordingProgress:
    """The progress protocol the sweep reports to (SweepProgress is one), recorded."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def start(self, total: int, *, estimate_usd: float | None = None) -> None:
        self.calls.append(("start", total))

    def job_started(self, key: str) -> None:
        self.calls.append(("started", key))

    def job_finished(self, key: str, *, ok: bool, spend_usd: float = 0.0) -> None:
        self.calls.append(("finished", (key, ok, spend_usd)))


def test_a_local_sweep_reports_each_run_to_the_progress(clips: list[Clip]) -> None:
    progress = RecordingProgress()
    sweep(clips, GRID, baseline=False, progress=progress, configs_per_task=2)
    assert progress.calls[0] == ("start", 8)
    started = [k for kind, k in progress.calls if kind == "started"]
    finished = [k for kind, k in progress.calls if kind == "finished"]
    assert len(set(started)) == 8
    assert sorted(finished) == sorted((k, True, 0.0) for k in started)
    # each run is reported started before it is reported finished
    for key in started:
        assert progress.calls.index(("started", key)) < progress.calls.index(
            ("finished", (key, True, 0.0))
        )


def test_caches_made_on_two_machines_merge_by_copying_files(
    tmp_path: Path, clips: list[Clip], serial: SweepResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    # machine A sweeps the first clip, machine B the second, each into its own folder
    sweep(clips[:1], GRID, cache=tmp_path / "a")
    sweep(clips[1:], GRID, cache=tmp_path / "b")
    merged = tmp_path / "merged"
    merged.mkdir()
    for folder in ("a", "b"):
        for path in (tmp_path / folder).iterdir():
            shutil.copy2(path, merged / path.name)
    calls: list[object] = []
    monkeypatch.setattr(sweep_module, "clip_task", recorder(calls))
    whole = sweep(clips, GRID, cache=merged)
    assert calls == []
    pd.testing.assert_frame_equal(whole.table, serial.table)
    assert whole.measures == serial.measures


# ---- against an endpoint: the LocalServer in real time, and a port nobody listens on ---------


def spoken_reply(ctx: ReplyContext) -> str:
    return "Sure."


@pytest.fixture(scope="module")
def realtime_server() -> Iterator[LocalServer]:
    server = LocalServer(responder=spoken_reply, speech="espeak", transcriber=None).start()
    yield server
    server.stop()


@pytest.fixture
def closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"ws://127.0.0.1:{s.getsockname()[1]}/v1/realtime"


def test_an_endpoint_dry_run_sends_nothing_and_prices_the_runs(
    clips: list[Clip], closed_port: str
) -> None:
    checked = sweep(clips, GRID, endpoint=closed_port, dry_run=True)
    assert checked.ok
    assert checked.jobs == 8
    assert isinstance(checked.estimate, Estimate)
    assert checked.estimate.usd > 0
    # the estimate is for the distinct runs (clip x configuration), at the sweep's concurrency
    assert checked.estimate.seconds >= sum(c.duration_ms for c in clips) * 4 / 1000 / 2
    poor = sweep(clips, GRID, endpoint=closed_port, dry_run=True, budget_usd=1e-6)
    assert [p.param for p in poor.problems] == ["budget_usd"]
    assert "estimate" in poor.problems[0].message


def test_skip_errors_keeps_each_failure_beside_its_row(clips: list[Clip], closed_port: str) -> None:
    result = sweep(
        clips,
        {"silence_duration_ms": [500]},
        endpoint=closed_port,
        baseline=False,
        skip_errors=True,
    )
    assert result.mode == "remote"
    assert result.table.loc[0, "n_failed"] == 2
    assert result.table.loc[0, "n_clips"] == 0
    assert result.table[list(METRICS)].isna().all(axis=None)
    assert set(result.errors) == {(0, c.id) for c in clips}
    with pytest.raises(ConfigError, match="no timeline"):
        result.run(0, clips[0].id)


@pytest.mark.slow
def test_an_endpoint_sweep_streams_each_clip_and_measures_its_timeline(
    realtime_server: LocalServer,
    clips: list[Clip],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[int] = []
    real = RemoteRunner.run

    def counting(self: RemoteRunner, jobs: Any) -> Any:
        jobs = list(jobs)
        sent.append(len(jobs))
        return real(self, jobs)

    monkeypatch.setattr(RemoteRunner, "run", counting)
    progress = RecordingProgress()
    grid = {"silence_duration_ms": [800]}
    result = sweep(
        clips,
        grid,
        endpoint=realtime_server.url,
        cache=tmp_path / "cache",
        baseline=False,
        progress=progress,
    )
    assert sent == [2]
    assert progress.calls[0][0] == "start"
    row = result.table.loc[0]
    assert (row["n_clips"], row["n_failed"], row["n_eot"], row["n_hold"]) == (2, 0, 3, 1)
    # an 800 ms wait listens through the 450 ms hold, and decides each end of turn about that
    # long after it (stream time; the server's Silero may end the speech a little earlier)
    assert row["false_cutoff_rate"] == 0.0
    assert 500 <= row["eot_latency_ms_p50"] < 2000
    assert row["ttfa_ms_p50"] > row["eot_latency_ms_p50"]  # the reply's audio comes after
    for i, clip in enumerate(clips):
        run = result.run(0, clip.id)
        assert measure(run) == result.measures[0][i]
        assert any(e["type"] == "response.output_audio.delta" for _, e in run.events)

    # the cache holds the timelines: the same sweep again sends nothing, same table and runs
    again = sweep(
        clips, grid, endpoint=realtime_server.url, cache=tmp_path / "cache", baseline=False
    )
    assert sent == [2]
    pd.testing.assert_frame_equal(again.table, result.table)
    assert again.timelines == result.timelines
    # ... and so does parquet
    back = SweepResult.read_parquet(result.to_parquet(tmp_path / "out"), clips)
    pd.testing.assert_frame_equal(back.table, result.table)
    assert measure(back.run(0, clips[1].id)) == result.measures[0][1]


# ---- the cache: what the key covers, damaged files ----------------------------------------------


def test_the_code_digest_follows_the_sources_bytes_and_the_reply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "fake_metrics_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "metrics.py").write_text("RATE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    sources = (("fake_metrics_pkg", "metrics.py"),)
    first = code_digest(sources, b"reply")
    assert code_digest(sources, b"reply") == first
    assert code_digest(sources, b"other reply") != first
    (package / "metrics.py").write_text("RATE = 2\n")  # a metric fix
    assert code_digest(sources, b"reply") != first
    with pytest.raises(FileNotFoundError, match=r"nothing\.py"):
        code_digest((("fake_metrics_pkg", "nothing.py"),), b"")
    sys.modules.pop("fake_metrics_pkg", None)
    # the real sources: the metrics, the runs, the server's VAD and every engine module
    named = {name for _, name in cache_module.CODE_SOURCES}
    assert {"metrics.py", "runs.py", "vad.py", "engine*.py"} <= named
    assert len(cache_module.local_code_digest()) == 16


def test_a_change_to_the_code_or_the_reply_recomputes_a_cached_local_sweep(
    tmp_path: Path, clips: list[Clip], serial: SweepResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    grid = {"silence_duration_ms": [300, 800]}
    sweep(clips, grid, cache=tmp_path, baseline=False)
    calls: list[object] = []
    real = sweep_module.clip_task
    monkeypatch.setattr(sweep_module, "clip_task", lambda *a: calls.append(a) or real(*a))
    sweep(clips, grid, cache=tmp_path, baseline=False)
    assert calls == []  # the same code: every result from the cache
    # the metric code (or the reply, or the engine) changed: a new key, every result again
    monkeypatch.setattr(cache_module, "local_code_digest", lambda: "0123456789abcdef")
    again = sweep(clips, grid, cache=tmp_path, baseline=False)
    assert len(calls) == len(clips)
    assert again.table["false_cutoff_rate"].tolist() == [1.0, 0.0]


def test_a_cached_remote_run_is_measured_again_from_its_timeline(
    tmp_path: Path, clips: list[Clip], closed_port: str
) -> None:
    # a remote cache entry whose stored measures are stale (an old metric's numbers): the
    # sweep measures the stored timeline with today's metrics, and connects to nothing
    [point] = sweep_module._points(SessionConfig(), {"silence_duration_ms": [800]})
    store = SweepCache(tmp_path)
    expected = []
    for clip in clips:
        timeline = [(t, e) for t, e in run_local(clip, point.config).events]
        key = sweep_module._key(clip, point, closed_port)
        assert key.code == ""  # the metric code is not in a remote key
        assert key.tail_ms == tail_for(point.config, REPLY_S * 1000)  # what was sent is
        true = measure(from_timeline(clip, timeline, settings=point.settings))
        stale = {**true.__dict__, "hold_cut": [True] * len(true.hold_cut), "eot_latency_ms": []}
        store.put(key, {"measures": stale, "timeline": [[t, e] for t, e in timeline]})
        expected.append(true)
    result = sweep(
        clips, {"silence_duration_ms": [800]}, endpoint=closed_port, cache=store, baseline=False
    )
    assert result.errors == {}
    assert result.measures == [expected]
    assert result.table.loc[0, "false_cutoff_rate"] == 0.0


def test_a_damaged_cache_file_is_named_recomputed_and_rewritten(
    tmp_path: Path, clips: list[Clip], serial: SweepResult
) -> None:
    grid = {"silence_duration_ms": [300, 800]}
    first = sweep(clips, grid, cache=tmp_path, baseline=False)
    files = sorted(tmp_path.glob("*.json.gz"))
    assert len(files) == 2 * len(clips)
    damaged = files[0]
    damaged.write_bytes(damaged.read_bytes()[:20])  # cut short (a full disk, a killed copy)
    files[1].write_bytes(b"not gzip at all")
    with pytest.warns(RuntimeWarning, match="damaged") as caught:
        again = sweep(clips, grid, cache=tmp_path, baseline=False)
    said = " ".join(str(w.message) for w in caught)
    assert str(damaged) in said
    assert str(files[1]) in said
    pd.testing.assert_frame_equal(again.table, first.table)
    assert again.measures == first.measures
    store = SweepCache(tmp_path)
    for path in files[:2]:  # rewritten whole
        record = json.loads(gzip.decompress(path.read_bytes()))
        assert set(record) >= {"measures", "key"}
    assert len(store) == 2 * len(clips)


# ---- executors: deadlines and what runs when ----------------------------------------------------


class Hung(cf.Executor):
    """An executor whose workers never answer (a hung Dask worker): futures never finish."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future[Any]:
        return cf.Future()


def test_a_hung_executor_times_out_naming_the_clips_not_finished(clips: list[Clip]) -> None:
    with pytest.raises(SweepTimeout) as err:
        sweep(clips, GRID, baseline=False, executor=Hung(), timeout_s=0.3)
    assert isinstance(err.value, TimeoutError)
    for clip in clips:
        assert clip.id in str(err.value)
    assert "timeout_s" in str(err.value)
    with pytest.raises(ConfigError) as bad:
        sweep(clips, GRID, timeout_s=0)
    assert bad.value.field == "timeout_s"
    # the default deadline comes from the work: the audio at 5x real time, plus a margin
    points = [(p.settings, p.config) for p in sweep_module._points(SessionConfig(), GRID)]
    one = task_deadline_s([(clips[0], points)])
    both = task_deadline_s([(c, points) for c in clips])
    margin = sweep_module.TASK_MARGIN_S
    assert one > margin
    assert both - margin == pytest.approx(
        sum(task_deadline_s([(c, points)]) - margin for c in clips)
    )
    audio = clips[0].duration_ms * 5 + sum(tail_for(c, 4000) for _, c in points)
    assert one - margin == pytest.approx(audio / 1000 / 5)


def test_a_queued_task_is_not_reported_running(clips: list[Clip]) -> None:
    # one worker, eight tasks: at most the one running (and one just picked up) are started
    progress = RecordingProgress()
    running = 0
    most = 0
    lock = threading.Lock()

    class Counting(RecordingProgress):
        def job_started(self, key: str) -> None:
            nonlocal running, most
            with lock:
                running += 1
                most = max(most, running)
            progress.job_started(key)

        def job_finished(self, key: str, *, ok: bool, spend_usd: float = 0.0) -> None:
            nonlocal running
            with lock:
                running -= 1
            progress.job_finished(key, ok=ok, spend_usd=spend_usd)

    with cf.ThreadPoolExecutor(max_workers=1) as pool:
        sweep(clips, GRID, baseline=False, executor=pool, progress=Counting(), configs_per_task=1)
    started = [k for kind, k in progress.calls if kind == "started"]
    finished = [k for kind, (k, *_) in progress.calls if kind == "finished"]
    assert len(started) == len(set(started)) == 8
    assert sorted(finished) == sorted(started)
    assert most <= 2
