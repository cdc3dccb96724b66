"""A grid of turn-detection settings over a suite: one row of the field's metrics per setting.

:func:`sweep` runs every configuration of ``grid`` (applied to ``base``) on every clip of a
suite and tabulates :data:`~.metrics.METRICS` per configuration (:class:`SweepResult`), with a
silence-only VAD baseline on the same suite and livekit/eot-bench's published OpenAI point
(:data:`OPENAI_REFERENCE`) for :meth:`SweepResult.pareto`.

- **Local** (``endpoint=None``): the local server's sans-I/O engine on a simulated clock
  (:func:`~.runs.run_local`), deterministic and far faster than real time. One task per clip
  (or per clip and chunk of configurations): the clip's speech signals (:func:`~.runs.prepare`,
  Silero) are computed once in the task and reused by every configuration; the task returns
  only the small :class:`~.metrics.ClipMeasures`. Tasks go to ``executor``: any
  :class:`concurrent.futures.Executor` (a ``ProcessPoolExecutor`` included) or a Dask
  ``distributed.Client`` (its ``get_executor()``); serial when None. The table is the same,
  row for row and value for value, whatever runs the tasks.
- **Against an endpoint** (OpenAI with a key, or any Realtime server): each clip streams in
  real time through :class:`~.remote.RemoteRunner` (concurrency, rate limits, budget), each
  timeline becomes a :class:`~.runs.ClipRun` (:func:`~.runs.from_timeline`) and is measured
  the same way. ``dry_run=True`` checks every configuration on the local engine first and
  returns the pre-flight estimate (:class:`DryRun`): nothing is sent.

``cache=`` (a folder) makes a sweep resumable: see :mod:`.cache`.
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import itertools
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from realtime_widgets.errors import ConfigError, FieldProblem, RealtimeWidgetsError
from realtime_widgets.evals.cache import CacheKey, Mode, SweepCache, canonical_json, config_hash
from realtime_widgets.evals.clip import Clip
from realtime_widgets.evals.metrics import COUNTS, METRICS, ClipMeasures, measure, summarize
from realtime_widgets.evals.runs import (
    ClipRun,
    Prepared,
    from_timeline,
    prepare,
    run_local,
    tail_for,
)
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.parts import ServerVad
from realtime_widgets.server.engine import SessionEngine

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from realtime_widgets.evals.suite import Suite

__all__ = [
    "BASELINE_SILENCE_MS",
    "BASELINE_THRESHOLD",
    "OPENAI_REFERENCE",
    "DryRun",
    "DryRunProblem",
    "ReferencePoint",
    "SweepResult",
    "SweepTimeout",
    "pareto_front",
    "sweep",
]

# The silence-only VAD baseline (eot-bench's): a fixed threshold, the silence wait laddered.
BASELINE_THRESHOLD = 0.5
BASELINE_SILENCE_MS = (200, 300, 400, 500, 600, 800, 1000, 1200, 1500, 2000)
# A local task's deadline (with an executor): its audio (clip and tail, per configuration) at a
# conservative 5x real time, every task one after the other, plus a margin for start-up.
TASK_REAL_TIME_FACTOR = 5.0
TASK_MARGIN_S = 120.0
_REPLY_MS = 4000.0  # the longest default reply (2-4 s): the deadline's tail per configuration


class SweepTimeout(RealtimeWidgetsError, TimeoutError):
    """Local tasks on an executor did not finish within the sweep's deadline."""


@dataclass(frozen=True)
class ReferencePoint:
    """A published result drawn on the Pareto plot (``false_cutoff_rate`` a fraction)."""

    label: str
    eot_latency_ms: float
    false_cutoff_rate: float
    source: str


OPENAI_REFERENCE = ReferencePoint(
    label="OpenAI semantic VAD",
    eot_latency_ms=1143.0,
    false_cutoff_rate=0.05,
    source="livekit/eot-bench (https://github.com/livekit/eot-bench): latency at a 5 % "
    "false-cutoff budget",
)


@dataclass(frozen=True)
class _Point:
    settings: dict[str, Any]
    config: SessionConfig

    @functools.cached_property
    def digest(self) -> str:
        """The configuration's hash (its wire payload), computed once."""
        return config_hash(self.config)


# ---- the grid --------------------------------------------------------------------------------


def _points(base: SessionConfig, grid: Mapping[str, Iterable[Any]]) -> list[_Point]:
    """Every grid point, each configuration built and checked (its wire payload too) before
    anything runs; a bad value's error names its grid key."""
    # The VAD lab's expansion is the one source of truth for grid keys (short turn-detection
    # names, ``type``, dotted SessionConfig paths).
    # lazy: the vadlab package's __init__ loads its widgets; this pure module must not at import
    from realtime_widgets.vadlab.analysis import with_detection

    if not isinstance(grid, Mapping):
        raise ConfigError(
            [
                FieldProblem(
                    "grid",
                    f"grid: a mapping of setting -> values needed, got {type(grid).__name__}",
                )
            ]
        )
    values: dict[str, list[Any]] = {}
    for key, options in grid.items():
        if isinstance(options, str | bytes) or not isinstance(options, Iterable):
            raise ConfigError(
                [FieldProblem(key, f"grid[{key!r}]: a list of values needed, got {options!r}")]
            )
        values[key] = list(options)
        if not values[key]:
            raise ConfigError([FieldProblem(key, f"grid[{key!r}]: no values to try")])
    # Every combination (keys may depend on each other: ``type`` and ``eagerness``); each
    # problem names the grid key it is about, and the grid point, and all are raised together.
    problems: list[FieldProblem] = []
    seen: set[tuple[str, str, str]] = set()  # one problem per key, value and message
    points = []
    for combo in itertools.product(*values.values()):
        settings = dict(zip(values, combo, strict=True))
        try:
            points.append(_Point(settings, _checked(with_detection(base, settings))))
        except ConfigError as exc:
            for p in exc.problems:
                culprit = _grid_key(p.field, settings)
                where = (
                    f"grid[{culprit!r}] = {settings[culprit]!r}"
                    if culprit
                    else f"grid point {settings}"
                )
                message = f"{where}: {p.message}"
                if culprit and len(settings) > 1:
                    message += f" (at the grid point {settings})"
                once = (
                    culprit or "",
                    repr(settings[culprit]) if culprit else repr(settings),
                    p.message,
                )
                if once not in seen:
                    seen.add(once)
                    problems.append(replace(p, field=culprit or p.field, message=message))
    if problems:
        raise ConfigError(problems)
    return points


def _grid_key(field: str, settings: Mapping[str, Any]) -> str | None:
    """The grid key a problem's field is about (``turn_detection.threshold`` -> ``threshold``)."""
    for key in settings:
        if field in (key, f"turn_detection.{key}") or field.endswith(f".{key}"):
            return key
    return None


def _checked(config: SessionConfig) -> SessionConfig:
    config.to_session_update()  # the protocol rules, as before sending
    return config


def _baseline_points(base: SessionConfig) -> list[_Point]:
    return [
        _Point(
            {"silence_duration_ms": ms},
            base.with_changes(
                turn_detection=ServerVad(threshold=BASELINE_THRESHOLD, silence_duration_ms=ms)
            ),
        )
        for ms in BASELINE_SILENCE_MS
    ]


# ---- local tasks (picklable: top-level functions of plain data) ------------------------------


def clip_task(
    clip: Clip, points: Sequence[tuple[dict[str, Any], SessionConfig]]
) -> list[ClipMeasures]:
    """One clip through several configurations: the clip's signals computed once, each
    configuration simulated and measured. Returns only the measures (small, picklable)."""
    prepared = prepare(clip)
    return [
        measure(run_local(clip, config, settings=settings, prepared=prepared))
        for settings, config in points
    ]


def _executor(executor: object) -> cf.Executor | None:
    if executor is None or isinstance(executor, cf.Executor):
        return executor
    get = getattr(executor, "get_executor", None)  # a distributed.Client
    if callable(get):
        made = get(pure=False)
        if isinstance(made, cf.Executor):
            return made
    raise ConfigError(
        [
            FieldProblem(
                "executor",
                "executor must be a concurrent.futures.Executor or a "
                f"distributed.Client, got {type(executor).__name__}",
            )
        ]
    )


def task_deadline_s(tasks: Sequence[tuple[Clip, Sequence[tuple[Any, SessionConfig]]]]) -> float:
    """How long a sweep's local tasks may take on an executor: every task's audio (the clip,
    for the signals, and per configuration the clip and its tail) at
    :data:`TASK_REAL_TIME_FACTOR` times real time, one after the other, plus
    :data:`TASK_MARGIN_S`."""
    audio_s = 0.0
    for clip, points in tasks:
        audio_s += clip.duration_ms / 1000
        for _, config in points:
            audio_s += (clip.duration_ms + tail_for(config, _REPLY_MS)) / 1000
    return audio_s / TASK_REAL_TIME_FACTOR + TASK_MARGIN_S


def _dispatch(
    executor: cf.Executor | None,
    tasks: Sequence[tuple[Clip, list[tuple[dict[str, Any], SessionConfig]]]],
    started: Callable[[int], None],
    timeout_s: float | None = None,
) -> Iterator[tuple[int, list[ClipMeasures]]]:
    """(task index, its measures) as tasks finish; ``started(i)`` once task ``i`` really runs
    (seen running by its future, or at the latest when it finished; a task waiting in the
    executor's queue is not started). With an executor, every task must finish within
    ``timeout_s`` (default :func:`task_deadline_s`), else :class:`SweepTimeout` names the clips
    whose tasks did not."""
    if executor is None:
        for i, (clip, points) in enumerate(tasks):
            started(i)
            yield i, clip_task(clip, points)
        return
    limit = task_deadline_s(tasks) if timeout_s is None else timeout_s
    futures: dict[cf.Future[list[ClipMeasures]], int] = {}
    marked: set[int] = set()

    def mark(future: cf.Future[list[ClipMeasures]]) -> None:
        i = futures[future]
        if i not in marked:
            marked.add(i)
            started(i)

    try:
        for i, (clip, points) in enumerate(tasks):
            futures[executor.submit(clip_task, clip, points)] = i
        deadline = time.monotonic() + limit
        pending = set(futures)
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                late = sorted({tasks[futures[f]][0].id for f in pending})
                raise SweepTimeout(
                    f"sweep: {len(pending)} of {len(futures)} clip tasks did not finish within "
                    f"{limit:.1f} s (timeout_s); clips: {', '.join(late)}"
                )
            for future in futures:
                if future in pending and future.running():
                    mark(future)
            done, pending = cf.wait(
                pending, timeout=min(left, 0.25), return_when=cf.FIRST_COMPLETED
            )
            for future in sorted(done, key=futures.__getitem__):
                mark(future)
                yield futures[future], future.result()
    finally:
        for future in futures:
            future.cancel()


# ---- results ---------------------------------------------------------------------------------


def _record(
    m: ClipMeasures, timeline: Sequence[tuple[float, Mapping[str, Any]]] | None
) -> dict[str, Any]:
    out: dict[str, Any] = {"measures": asdict(m)}
    if timeline is not None:
        out["timeline"] = [[t, dict(e)] for t, e in timeline]
    return out


def _timeline_of(record: Mapping[str, Any] | None) -> list[tuple[float, dict[str, Any]]] | None:
    """A remote record's stored timeline, or None (no record, or not a readable timeline)."""
    if record is None:
        return None
    stored = record.get("timeline")
    if not isinstance(stored, list):
        return None
    try:
        return [(float(t), dict(e)) for t, e in stored]
    except (TypeError, ValueError):
        return None


def _measures_from(
    record: Mapping[str, Any], clip: Clip, settings: dict[str, Any]
) -> ClipMeasures | None:
    """A local record's measures, or None when they do not fit today's :class:`ClipMeasures`
    (then they are computed again)."""
    stored = record.get("measures")
    if not isinstance(stored, Mapping):
        return None
    data = dict(stored)
    data.update(clip_id=clip.id, clip_hash=clip.hash, settings=dict(settings))
    try:
        return ClipMeasures(**data)
    except TypeError:
        return None


def _row(
    settings: Mapping[str, Any],
    measures: Sequence[ClipMeasures],
    keys: Sequence[str],
    n_failed: int,
) -> dict[str, Any]:
    summary = summarize(measures)
    row: dict[str, Any] = {k: settings[k] for k in keys}
    for name in METRICS:
        value = summary.get(name)
        row[name] = float("nan") if value is None else float(value)
    for name in COUNTS:
        row[name] = int(summary.get(name) or 0)
    row["n_clips"] = len(measures)
    row["n_failed"] = n_failed
    return row


def _frame(rows: list[dict[str, Any]], keys: Sequence[str]) -> pd.DataFrame:
    # optional dependency: pandas (the evals extra)
    import pandas as pd

    columns = [*keys, *METRICS, *COUNTS, "n_clips", "n_failed"]
    frame = pd.DataFrame(rows, columns=columns)
    for name in METRICS:
        frame[name] = frame[name].astype("float64")
    for name in (*COUNTS, "n_clips", "n_failed"):
        frame[name] = frame[name].astype("int64")
    return frame


def pareto_front(table: pd.DataFrame) -> list[int]:
    """The rows (index labels) no other row beats on both false cutoffs and latency (p50):
    lower is better on both; rows missing either are left out. Sorted by latency."""
    scored = table[["eot_latency_ms_p50", "false_cutoff_rate"]].dropna()
    ordered = scored.sort_values(["eot_latency_ms_p50", "false_cutoff_rate"], kind="stable")
    front: list[int] = []
    best = float("inf")
    for label, rate in zip(ordered.index, ordered["false_cutoff_rate"], strict=True):
        if rate < best:
            front.append(int(label))
            best = float(rate)
    return front


@dataclass(eq=False)
class SweepResult:
    """What :func:`sweep` measured.

    ``table``: one row per configuration (the grid keys, then :data:`~.metrics.METRICS`, then
    the span counts and ``n_clips`` / ``n_failed``); ``measures[row]``: that row's
    :class:`~.metrics.ClipMeasures`, one per clip in suite order (a clip whose endpoint run
    failed with ``skip_errors`` is left out: ``errors[(row, clip_id)]`` says why);
    ``baseline``: the same columns for the silence-only VAD (server_vad at threshold 0.5,
    ``silence_duration_ms`` in :data:`BASELINE_SILENCE_MS`), or None. Next: :meth:`pareto`,
    :meth:`run` (one clip's two channels and events), :meth:`to_parquet`.
    """

    suite: Suite | Sequence[Clip] = field(repr=False)
    keys: list[str]
    settings: list[dict[str, Any]] = field(repr=False)
    configs: list[SessionConfig] = field(repr=False)
    table: pd.DataFrame = field(repr=False)
    measures: list[list[ClipMeasures]] = field(repr=False)
    mode: Mode = "local"
    baseline: pd.DataFrame | None = field(default=None, repr=False)
    baseline_settings: list[dict[str, Any]] = field(default_factory=list, repr=False)
    baseline_configs: list[SessionConfig] = field(default_factory=list, repr=False)
    baseline_measures: list[list[ClipMeasures]] = field(default_factory=list, repr=False)
    # remote runs: the streamed timelines by (row, clip id); failures (skip_errors) by the same
    timelines: dict[tuple[int, str], list[tuple[float, dict[str, Any]]]] = field(
        default_factory=dict, repr=False
    )
    errors: dict[tuple[int, str], str] = field(default_factory=dict, repr=False)
    # each clip's speech signals, computed at its first :meth:`run` (the costly part of one)
    _prepared: dict[str, Prepared] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def front(self) -> list[int]:
        """The table rows on the Pareto front (:func:`pareto_front`)."""
        return pareto_front(self.table)

    def run(self, row: int, clip_id: str) -> ClipRun:
        """Row ``row``'s run of clip ``clip_id``, whole (both channels, every event): re-simulated
        for a local sweep (deterministic: the run that was measured), rebuilt from the stored
        timeline for a remote one."""
        if not 0 <= row < len(self.configs):
            raise ConfigError(
                [
                    FieldProblem(
                        "row", f"row must be between 0 and {len(self.configs) - 1}, got {row}"
                    )
                ]
            )
        clip = _clip_of(self.suite, clip_id)
        if self.mode == "local":
            prepared = self._prepared.get(clip.id)
            if prepared is None:  # (two threads may both compute it: the same value)
                prepared = self._prepared[clip.id] = prepare(clip)
            return run_local(
                clip, self.configs[row], settings=self.settings[row], prepared=prepared
            )
        timeline = self.timelines.get((row, clip_id))
        if timeline is None:
            why = self.errors.get((row, clip_id), "it was not run")
            raise ConfigError(
                [FieldProblem("clip_id", f"row {row} has no timeline of clip {clip_id!r}: {why}")]
            )
        return from_timeline(clip, timeline, settings=self.settings[row])

    def pareto(self, ax: Axes | None = None) -> Figure:
        """False cutoffs (% of holds) against end-of-turn latency (p50, ms): the grid's points,
        the Pareto front highlighted, the silence-only baseline curve and
        :data:`OPENAI_REFERENCE` with its source."""
        # optional dependency: matplotlib (the evals extra); a Figure, no pyplot state
        from matplotlib.figure import Figure

        if ax is None:
            fig = Figure(figsize=(7, 4.5), layout="constrained")
            ax = fig.add_subplot()
        else:
            fig = ax.get_figure()  # type: ignore[assignment]
        table = self.table
        ax.scatter(
            table["eot_latency_ms_p50"],
            table["false_cutoff_rate"] * 100,
            s=28,
            color="#8aa4c8",
            label="grid",
            zorder=2,
        )
        front = table.loc[self.front]
        if len(front):
            ax.plot(
                front["eot_latency_ms_p50"],
                front["false_cutoff_rate"] * 100,
                "-o",
                color="#1f4e99",
                markersize=7,
                drawstyle="steps-post",
                label="Pareto front",
                zorder=3,
            )
        if self.baseline is not None:
            base = self.baseline.sort_values("silence_duration_ms")
            ax.plot(
                base["eot_latency_ms_p50"],
                base["false_cutoff_rate"] * 100,
                "--s",
                color="#999999",
                markersize=4,
                label=f"silence-only VAD (threshold {BASELINE_THRESHOLD}, "
                f"silence {BASELINE_SILENCE_MS[0]}-{BASELINE_SILENCE_MS[-1]} ms)",
                zorder=1,
            )
        ref = OPENAI_REFERENCE
        ax.scatter(
            [ref.eot_latency_ms],
            [ref.false_cutoff_rate * 100],
            marker="*",
            s=160,
            color="#c0392b",
            label=f"{ref.label} (livekit/eot-bench)",
            zorder=4,
        )
        ax.annotate(
            f"{ref.label}\n{ref.eot_latency_ms:.0f} ms at "
            f"{ref.false_cutoff_rate:.0%} (livekit/eot-bench)",
            (ref.eot_latency_ms, ref.false_cutoff_rate * 100),
            textcoords="offset points",
            xytext=(8, 8),
            fontsize=8,
            color="#c0392b",
        )
        ax.set_xlabel("end-of-turn latency p50 (ms, true speech end to the turn decision)")
        ax.set_ylabel("false cutoffs (% of hold pauses)")
        ax.set_title(
            f"{getattr(self.suite, 'name', 'suite')}: {len(table)} configurations, {self.mode}"
        )
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="upper right")
        return fig

    # ---- parquet -----------------------------------------------------------------------------

    def to_parquet(self, path: str | Path) -> Path:
        """Write the result to the folder ``path``: ``table.parquet`` (and ``baseline.parquet``),
        ``measures.parquet`` (one row per configuration and clip: the per-span outcomes, the
        settings as JSON, a remote run's timeline as JSON) and ``sweep.json`` (the
        configurations). Read back with :meth:`read_parquet`."""
        # optional dependency: pandas and pyarrow (the evals extra)
        import pandas as pd

        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        self.table.to_parquet(folder / "table.parquet", index=False)
        if self.baseline is not None:
            self.baseline.to_parquet(folder / "baseline.parquet", index=False)
        rows = []
        for kind, groups in (("grid", self.measures), ("baseline", self.baseline_measures)):
            for row, group in enumerate(groups):
                for m in group:
                    record = asdict(m)
                    record["settings"] = canonical_json(record["settings"])
                    timeline = self.timelines.get((row, m.clip_id)) if kind == "grid" else None
                    rows.append(
                        {
                            "kind": kind,
                            "row": row,
                            **record,
                            "timeline": None if timeline is None else json.dumps(timeline),
                        }
                    )
        pd.DataFrame(rows).to_parquet(folder / "measures.parquet", index=False)
        meta = {
            "format": 1,
            "mode": self.mode,
            "keys": self.keys,
            "settings": self.settings,
            "configs": [c.model_dump(mode="json", exclude_unset=True) for c in self.configs],
            "baseline_settings": self.baseline_settings,
            "baseline_configs": [
                c.model_dump(mode="json", exclude_unset=True) for c in self.baseline_configs
            ],
            "clips": [[c.id, c.hash] for c in self.suite],
            "errors": [[row, clip_id, why] for (row, clip_id), why in self.errors.items()],
        }
        (folder / "sweep.json").write_text(json.dumps(meta, indent=1))
        return folder

    @classmethod
    def read_parquet(cls, path: str | Path, suite: Suite | Sequence[Clip]) -> SweepResult:
        """A result written by :meth:`to_parquet`, on ``suite`` (the clips it was run on: each
        clip's hash is checked, so :meth:`run` replays the audio that was measured)."""
        # optional dependency: pandas and pyarrow (the evals extra)
        import pandas as pd

        folder = Path(path)
        meta = json.loads((folder / "sweep.json").read_text())
        problems = []
        for clip_id, clip_hash in meta["clips"]:
            try:
                clip = _clip_of(suite, clip_id)
            except ConfigError as exc:
                problems += list(exc.problems)
                continue
            if clip.hash != clip_hash:
                problems.append(
                    FieldProblem(
                        "suite",
                        f"suite: clip {clip_id!r} has changed "
                        f"(hash {clip.hash}, the sweep ran {clip_hash})",
                    )
                )
        if problems:
            raise ConfigError(problems)
        table = pd.read_parquet(folder / "table.parquet")
        baseline_path = folder / "baseline.parquet"
        baseline = pd.read_parquet(baseline_path) if baseline_path.exists() else None
        stored = pd.read_parquet(folder / "measures.parquet")
        names = [f.name for f in fields(ClipMeasures)]
        grid: list[list[ClipMeasures]] = [[] for _ in meta["configs"]]
        base: list[list[ClipMeasures]] = [[] for _ in meta["baseline_configs"]]
        timelines: dict[tuple[int, str], list[tuple[float, dict[str, Any]]]] = {}
        for record in stored.to_dict("records"):
            values = {n: _plain(record[n]) for n in names if n in record}  # newer fields: defaults
            values["settings"] = json.loads(record["settings"])
            m = ClipMeasures(**values)
            row = int(record["row"])
            (grid if record["kind"] == "grid" else base)[row].append(m)
            if record.get("timeline") is not None:
                timelines[(row, m.clip_id)] = [
                    (float(t), e) for t, e in json.loads(record["timeline"])
                ]
        return cls(
            suite=suite,
            keys=list(meta["keys"]),
            settings=meta["settings"],
            configs=[SessionConfig.model_validate(c) for c in meta["configs"]],
            table=table,
            measures=grid,
            mode=meta["mode"],
            baseline=baseline,
            baseline_settings=meta["baseline_settings"],
            baseline_configs=[SessionConfig.model_validate(c) for c in meta["baseline_configs"]],
            baseline_measures=base,
            timelines=timelines,
            errors={(int(r), str(c)): str(w) for r, c, w in meta["errors"]},
        )


def _plain(value: Any) -> Any:
    """A parquet cell back to plain Python (list columns come back as numpy arrays)."""
    tolist = getattr(value, "tolist", None)
    return tolist() if callable(tolist) else value


def _clip_of(suite: Suite | Sequence[Clip], clip_id: str) -> Clip:
    for clip in suite:
        if clip.id == clip_id:
            return clip
    ids = ", ".join(repr(c.id) for c in suite)
    raise ConfigError([FieldProblem("clip_id", f"clip_id must be one of {ids}; got {clip_id!r}")])


# ---- the dry run -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DryRunProblem:
    """One configuration the local server refused: its grid point and the server's error."""

    row: int
    settings: dict[str, Any]
    param: str | None
    code: str | None
    message: str


@dataclass
class DryRun:
    """What ``sweep(..., dry_run=True)`` found, before anything is sent: ``settings`` (the
    configurations checked, in table order), ``problems`` (each refusal by the local server),
    ``estimate`` (the pre-flight cost and time of the endpoint runs, or None for a local
    sweep) and ``jobs`` (clip x configuration runs the sweep would make)."""

    settings: list[dict[str, Any]]
    problems: list[DryRunProblem]
    jobs: int
    estimate: Any = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        lines = [
            f"dry run: {len(self.settings)} configurations, {self.jobs} runs, "
            f"{len(self.problems)} problems"
        ]
        lines += [f"  row {p.row} {p.settings}: {p.message}" for p in self.problems]
        if self.estimate is not None:
            lines.append(f"  estimate: {self.estimate}")
        return "\n".join(lines)


def check_on_local_server(row: int, point: _Point) -> list[DryRunProblem]:
    """Send ``point``'s ``session.update`` to a fresh local engine; every error it answers is
    a problem (the local server checks OpenAI's rules and answers with OpenAI's errors)."""

    engine = SessionEngine(model=point.config.model, session_id="sess_dry_run")
    try:
        engine.start(0.0)
        answer = engine.receive(json.dumps(point.config.to_session_update()), 0.0)
    finally:
        engine.close()
    problems = [
        DryRunProblem(
            row,
            point.settings,
            e["error"].get("param"),
            e["error"].get("code"),
            str(e["error"].get("message")),
        )
        for e in answer
        if e.get("type") == "error"
    ]
    if not problems and not any(e.get("type") == "session.updated" for e in answer):
        problems.append(
            DryRunProblem(
                row, point.settings, None, None, "the local server did not answer session.updated"
            )
        )
    return problems


# ---- the sweep -------------------------------------------------------------------------------


@overload
def sweep(
    suite: Suite | Sequence[Clip],
    grid: Mapping[str, Iterable[Any]],
    base: SessionConfig | None = None,
    *,
    endpoint: Any = None,
    executor: Any = None,
    cache: str | Path | SweepCache | None = None,
    baseline: bool = True,
    dry_run: Literal[False] = False,
    budget_usd: float | None = None,
    concurrency: int = 2,
    rpm: float | None = None,
    tpm: float | None = None,
    skip_errors: bool = False,
    progress: Any = None,
    configs_per_task: int | None = None,
    timeout_s: float | None = None,
) -> SweepResult: ...


@overload
def sweep(
    suite: Suite | Sequence[Clip],
    grid: Mapping[str, Iterable[Any]],
    base: SessionConfig | None = None,
    *,
    endpoint: Any = None,
    executor: Any = None,
    cache: str | Path | SweepCache | None = None,
    baseline: bool = True,
    dry_run: Literal[True],
    budget_usd: float | None = None,
    concurrency: int = 2,
    rpm: float | None = None,
    tpm: float | None = None,
    skip_errors: bool = False,
    progress: Any = None,
    configs_per_task: int | None = None,
    timeout_s: float | None = None,
) -> DryRun: ...


def sweep(
    suite: Suite | Sequence[Clip],
    grid: Mapping[str, Iterable[Any]],
    base: SessionConfig | None = None,
    *,
    endpoint: Any = None,
    executor: Any = None,
    cache: str | Path | SweepCache | None = None,
    baseline: bool = True,
    dry_run: bool = False,
    budget_usd: float | None = None,
    concurrency: int = 2,
    rpm: float | None = None,
    tpm: float | None = None,
    skip_errors: bool = False,
    progress: Any = None,
    configs_per_task: int | None = None,
    timeout_s: float | None = None,
) -> SweepResult | DryRun:
    """Every configuration of ``grid`` (applied to ``base``; default ``SessionConfig()``,
    server_vad) on every clip of ``suite``: a :class:`SweepResult`, or a :class:`DryRun` with
    ``dry_run=True``.

    ``grid`` maps turn-detection short names (``threshold``, ``silence_duration_ms``,
    ``eagerness``, ``type``...) or dotted SessionConfig paths to the values to try; every
    configuration is built and checked before anything runs (an error names the grid key and
    the allowed values). ``endpoint=None`` runs locally (``executor``, ``configs_per_task``:
    clip x chunk-of-configurations tasks; default one task per clip); an endpoint streams each
    clip in real time through the remote runner with ``concurrency``, ``rpm``/``tpm``,
    ``budget_usd``, ``skip_errors`` and ``progress``. ``cache``: a folder of per-result files
    (resumable, mergeable; :mod:`.cache`). ``baseline``: also run the silence-only VAD ladder
    (always locally: it is the reference curve, never paid for). ``timeout_s``: how long the
    local tasks on an ``executor`` may take in all (default :func:`task_deadline_s`: their
    audio at 5x real time plus a margin); past it :class:`SweepTimeout` names the clips whose
    tasks did not finish (a hung worker never hangs the sweep).
    """
    clips = list(suite)
    if not clips:
        raise ConfigError([FieldProblem("suite", "suite: no clips to run")])
    if len({c.id for c in clips}) != len(clips):
        raise ConfigError([FieldProblem("suite", "suite: clip ids must be unique")])
    if configs_per_task is not None and configs_per_task < 1:
        raise ConfigError(
            [
                FieldProblem(
                    "configs_per_task",
                    f"configs_per_task must be >= 1 or None, got {configs_per_task}",
                )
            ]
        )
    if timeout_s is not None and not timeout_s > 0:
        raise ConfigError(
            [FieldProblem("timeout_s", f"timeout_s must be > 0 seconds or None, got {timeout_s!r}")]
        )
    base = SessionConfig() if base is None else base
    points = _points(base, grid)
    keys = list(grid)
    store = None if cache is None else cache if isinstance(cache, SweepCache) else SweepCache(cache)
    mode: Mode = "local" if endpoint is None else "remote"

    if dry_run:
        problems = [
            p for row, point in enumerate(points) for p in check_on_local_server(row, point)
        ]
        estimate = None
        if endpoint is not None:
            # lazy: the client (websockets, the I/O loop) only for an endpoint
            from realtime_widgets.evals.remote import RemoteJob, RemoteRunner

            runner = RemoteRunner(endpoint, concurrency=concurrency, rpm=rpm, tpm=tpm)
            distinct = {_key(c, p, endpoint).digest: (c, p) for p in points for c in clips}
            jobs = [RemoteJob(key, c, p.config) for key, (c, p) in distinct.items()]
            estimate = runner.estimate(jobs)
            if budget_usd is not None and estimate.usd > budget_usd:
                problems.append(
                    DryRunProblem(
                        -1,
                        {},
                        "budget_usd",
                        "budget",
                        f"budget_usd ${budget_usd:.4f} is below the estimate: {estimate}",
                    )
                )
        return DryRun([p.settings for p in points], problems, len(points) * len(clips), estimate)

    baseline_points = _baseline_points(base) if baseline else []
    result = SweepResult(
        suite=suite,
        keys=keys,
        settings=[p.settings for p in points],
        configs=[p.config for p in points],
        table=_frame([], keys),
        measures=[],
        mode=mode,
        baseline_settings=[p.settings for p in baseline_points],
        baseline_configs=[p.config for p in baseline_points],
    )
    local_points = baseline_points if endpoint is not None else points + baseline_points
    found = _run_local(
        clips,
        local_points,
        store,
        _executor(executor),
        configs_per_task,
        progress if endpoint is None else None,
        timeout_s,
    )
    if endpoint is not None:
        remote, timelines, errors = _run_remote(
            clips,
            points,
            store,
            endpoint,
            concurrency=concurrency,
            rpm=rpm,
            tpm=tpm,
            budget_usd=budget_usd,
            skip_errors=skip_errors,
            progress=progress,
        )
        grid_found = remote
        base_found = found
        result.timelines, result.errors = timelines, errors
    else:
        grid_found = {k: v for k, v in found.items() if k[0] < len(points)}
        base_found = {(i - len(points), c): m for (i, c), m in found.items() if i >= len(points)}
    result.measures = [
        [grid_found[(i, c.id)] for c in clips if (i, c.id) in grid_found]
        for i in range(len(points))
    ]
    result.table = _frame(
        [
            _row(
                p.settings,
                result.measures[i],
                keys,
                sum(1 for c in clips if (i, c.id) in result.errors),
            )
            for i, p in enumerate(points)
        ],
        keys,
    )
    if baseline:
        result.baseline_measures = [
            [base_found[(i, c.id)] for c in clips] for i in range(len(baseline_points))
        ]
        result.baseline = _frame(
            [
                _row(p.settings, result.baseline_measures[i], ["silence_duration_ms"], 0)
                for i, p in enumerate(baseline_points)
            ],
            ["silence_duration_ms"],
        )
    return result


def _key(clip: Clip, point: _Point, endpoint: Any = None) -> CacheKey:
    """A local key covers the code that makes and measures the run (:mod:`.cache`); a remote
    one covers what was sent, the tail the runner streams after the clip included."""
    if endpoint is None:
        return CacheKey.of(clip.hash, point.config, "local", config_digest=point.digest)
    # lazy: the client (websockets, the I/O loop) only for an endpoint
    from realtime_widgets.evals.remote import job_tail_ms

    return CacheKey.of(
        clip.hash,
        point.config,
        "remote",
        _where(endpoint),
        config_digest=point.digest,
        tail_ms=job_tail_ms(point.config),
    )


def _where(endpoint: Any) -> str:
    """The endpoint's URL (an ``Endpoint`` keeps its key apart from it)."""
    return str(getattr(endpoint, "url", endpoint))


def _run_local(
    clips: Sequence[Clip],
    points: Sequence[_Point],
    store: SweepCache | None,
    executor: cf.Executor | None,
    configs_per_task: int | None,
    progress: Any = None,
    timeout_s: float | None = None,
) -> dict[tuple[int, str], ClipMeasures]:
    """Measures by (point index, clip id): from the cache where it has them, else computed
    (one task per clip and chunk of the configurations it still needs) and cached as each
    task finishes."""
    found: dict[tuple[int, str], ClipMeasures] = {}
    tasks: list[tuple[Clip, list[tuple[dict[str, Any], SessionConfig]]]] = []
    owners: list[list[int]] = []
    same: dict[tuple[int, str], int] = {}  # a configuration met twice (a baseline rung) runs once
    for clip in clips:
        missing = []
        first: dict[str, int] = {}
        for i, point in enumerate(points):
            key = _key(clip, point)
            if key.digest in first:
                same[(i, clip.id)] = first[key.digest]
                continue
            first[key.digest] = i
            record = store.get(key) if store is not None else None
            cached = _measures_from(record, clip, point.settings) if record is not None else None
            if cached is not None:
                found[(i, clip.id)] = cached
            else:
                missing.append(i)
        size = configs_per_task or max(1, len(missing))
        for at in range(0, len(missing), size):
            chunk = missing[at : at + size]
            tasks.append((clip, [(points[i].settings, points[i].config) for i in chunk]))
            owners.append(chunk)
    if executor is not None:
        # The biggest tasks first (audio x configurations): workers that finish early take the
        # small ones, so uneven clips still end together. The table does not depend on it.
        order = sorted(range(len(tasks)), key=lambda t: -len(tasks[t][0].samples) * len(owners[t]))
        tasks = [tasks[t] for t in order]
        owners = [owners[t] for t in order]

    def digests(t: int) -> list[str]:
        return [_key(tasks[t][0], points[i]).digest for i in owners[t]]

    def started(t: int) -> None:
        if progress is not None:
            for digest in digests(t):
                progress.job_started(digest)

    if progress is not None:
        progress.start(sum(len(o) for o in owners), estimate_usd=0.0)
    for t, measures in _dispatch(executor, tasks, started, timeout_s):
        clip = tasks[t][0]
        for i, m in zip(owners[t], measures, strict=True):
            found[(i, clip.id)] = m
            if store is not None:
                store.put(_key(clip, points[i]), _record(m, None))
        if progress is not None:
            for digest in digests(t):
                progress.job_finished(digest, ok=True)
    for (i, clip_id), j in same.items():
        found[(i, clip_id)] = replace(found[(j, clip_id)], settings=dict(points[i].settings))
    return found


def _run_remote(
    clips: Sequence[Clip],
    points: Sequence[_Point],
    store: SweepCache | None,
    endpoint: Any,
    *,
    concurrency: int,
    rpm: float | None,
    tpm: float | None,
    budget_usd: float | None,
    skip_errors: bool,
    progress: Any,
) -> tuple[
    dict[tuple[int, str], ClipMeasures],
    dict[tuple[int, str], list[tuple[float, dict[str, Any]]]],
    dict[tuple[int, str], str],
]:
    """Each (configuration, clip) streamed through the remote runner, unless cached."""
    # lazy: the client (websockets, the I/O loop) only for an endpoint
    from realtime_widgets.evals.remote import RemoteJob, RemoteRunner

    found: dict[tuple[int, str], ClipMeasures] = {}
    timelines: dict[tuple[int, str], list[tuple[float, dict[str, Any]]]] = {}
    errors: dict[tuple[int, str], str] = {}
    jobs: list[RemoteJob] = []
    where: list[list[tuple[int, Clip]]] = []  # per job: every (row, clip) it answers
    job_of: dict[str, int] = {}
    for i, point in enumerate(points):
        for clip in clips:
            key = _key(clip, point, endpoint)
            if key.digest in job_of:  # the same configuration twice in the grid: streamed once
                where[job_of[key.digest]].append((i, clip))
                continue
            record = store.get(key) if store is not None else None
            timeline = _timeline_of(record)
            if timeline is not None:
                # measured again from the stored timeline: today's metrics, nothing paid twice
                run = from_timeline(clip, timeline, settings=point.settings)
                found[(i, clip.id)] = measure(run)
                timelines[(i, clip.id)] = timeline
            else:
                job_of[key.digest] = len(jobs)
                jobs.append(RemoteJob(key.digest, clip, point.config))
                where.append([(i, clip)])
    if not jobs:
        return found, timelines, errors
    runner = RemoteRunner(
        endpoint,
        concurrency=concurrency,
        rpm=rpm,
        tpm=tpm,
        budget_usd=budget_usd,
        skip_errors=skip_errors,
        progress=progress,
    )
    outcomes = runner.run(jobs)
    for answers, outcome in zip(where, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            for i, clip in answers:
                errors[(i, clip.id)] = f"{type(outcome).__name__}: {outcome}"
            continue
        timeline = [(float(t), dict(e)) for t, e in outcome]
        i, clip = answers[0]
        m = measure(from_timeline(clip, timeline, settings=points[i].settings))
        if store is not None:
            store.put(_key(clip, points[i], endpoint), _record(m, timeline))
        for i, clip in answers:
            found[(i, clip.id)] = replace(m, settings=dict(points[i].settings))
            timelines[(i, clip.id)] = timeline
    return found, timelines, errors
