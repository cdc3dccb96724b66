"""SuiteLab: a sweep's Pareto plot, and what the configuration you click did on every clip.

``SuiteLab(result)`` takes a :class:`~realtime_widgets.evals.sweep.SweepResult` and draws (in
``suite_lab.js``) false cutoffs against end-of-turn latency for each configuration of the grid,
the silence-only VAD baseline, the published OpenAI reference and the Pareto front. Clicking a
point selects it (the synced trait ``selected``, a row of ``result.table``); shift-click picks a
second one (``compare``). For the selection, the view shows every clip of the suite as a strip:
the user's audio and the agent's channel on one clock, the configuration's decisions (turns
heard, the silence waited for, commits, replies, cuts of the agent) above the true spans, the
clip's own measures, and a play button for the clip's stereo recording. With two points, both
configurations' decisions sit one above the other and a table gives A, B and B - A for every
metric of the table.

The clips are re-run with ``result.run(row, clip_id)`` (the local engine, far faster than real
time but not free: the first run of a clip computes its speech signals) on a worker thread of
the widget, never in the browser's message handler; the view says "computing..." meanwhile.
Only the envelopes and the decisions of the selection go to the browser; a clip's audio is sent
(a binary buffer) only when its play button asks for it.
"""

from __future__ import annotations

import html
import math
import threading
from collections import OrderedDict
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import numpy as np
import traitlets as t

from realtime_widgets.audio.envelope import envelope
from realtime_widgets.errors import ConfigError, FieldProblem
from realtime_widgets.evals.clip import RATE
from realtime_widgets.evals.metrics import COUNTS, METRICS, measure, summarize
from realtime_widgets.evals.sweep import OPENAI_REFERENCE

if TYPE_CHECKING:
    import pandas as pd

    from realtime_widgets.evals.runs import ClipRun

__all__ = ["BIN_MS", "SuiteLab", "clip_strip", "decided_lanes", "shown_measures"]

BIN_MS = 20  # the strips' envelope bins: 50 per second, ~1 px each at a notebook's width
X_METRIC = "eot_latency_ms_p50"
Y_METRIC = "false_cutoff_rate"


def decided_lanes(run: ClipRun) -> dict[str, list[Any]]:
    """What the server decided on ``run``'s clip, in ms on the clip's clock, from its events:

    - ``turns``: ``[started_ms, stopped_ms, decided]`` per turn: from the emission of
      ``input_audio_buffer.speech_started`` to that of ``speech_stopped`` (the turn decision the
      metrics time); a turn never stopped runs to the run's end with ``decided`` false;
    - ``commits``: when each ``input_audio_buffer.committed`` was emitted;
    - ``responses``: ``[created_ms, done_ms, status]`` per response (``done_ms`` the run's end
      and status ``in_progress`` if it never finished);
    - ``cuts``: when the client stopped the agent's audio before its end (a ``speech_started``
      while it was audible or queued, or a cancelled response), from the player model.
    """
    turns: list[list[Any]] = []
    commits: list[float] = []
    responses: list[list[Any]] = []
    open_turn: list[Any] | None = None
    created: dict[str, float] = {}
    for at, event in run.events:
        kind = event.get("type")
        if kind == "input_audio_buffer.speech_started":
            open_turn = [float(at), None, False]
            turns.append(open_turn)
        elif kind == "input_audio_buffer.speech_stopped":
            if open_turn is None:  # a stop with no start seen (a timeline cut short)
                open_turn = [float(at), None, False]
                turns.append(open_turn)
            open_turn[1] = float(at)
            open_turn[2] = True
            open_turn = None
        elif kind == "input_audio_buffer.committed":
            commits.append(float(at))
        elif kind == "response.created":
            created[str(event.get("response", {}).get("id", len(created)))] = float(at)
        elif kind == "response.done":
            response = event.get("response", {})
            rid = str(response.get("id", ""))
            start = created.pop(rid, float(at))
            responses.append([start, float(at), str(response.get("status", "completed"))])
    end = run.duration_ms
    for turn in turns:
        if turn[1] is None:
            turn[1] = end
    for start in created.values():
        responses.append([start, end, "in_progress"])
    cuts = [float(p.stopped_ms) for p in run.plays if p.stopped_ms is not None]
    return {
        "turns": turns,
        "commits": commits,
        "responses": sorted(responses),
        "cuts": cuts,
    }


def shown_measures(summary: Mapping[str, Any]) -> list[list[str]]:
    """A clip's own measures (``summarize([measure(run)])``) as ``[name, value]`` a person
    reads: counts of spans where they exist, ms for latencies; the kinds the clip has no span
    of are left out."""
    out: list[list[str]] = []

    def share(name: str, rate: Any, count: Any) -> None:
        if count:
            out.append([name, f"{round(rate * count)}/{count}"])

    share("holds cut", summary.get("false_cutoff_rate"), summary.get("n_hold"))
    share("ends missed", summary.get("missed_eot_rate"), summary.get("n_eot"))
    for key, name in (("eot_latency_ms_p50", "eot latency"), ("ttfa_ms_p50", "ttfa")):
        value = summary.get(key)
        if value is not None:
            out.append([name, f"{value:.0f} ms"])
    share("backchannels stopped the agent", summary.get("false_barge_in_rate"),
          summary.get("n_backchannel"))  # fmt: skip
    share("barge-ins talked over", summary.get("talk_over_rate"), summary.get("n_barge_in"))
    stop = summary.get("barge_in_stop_ms_p50")
    if stop is not None:
        out.append(["barge-in stop", f"{stop:.0f} ms"])
    return out


def clip_strip(run: ClipRun, first_bin: int) -> tuple[dict[str, Any], bytes]:
    """One clip of one configuration as the view draws it: the decisions
    (:func:`decided_lanes`), the clip's measures, and where its channels' envelopes sit in the
    lab's ``waves`` buffer (``first_bin`` onwards: the user's bins, then the agent's); returns
    the JSON part and the envelope bytes (int16 [min, max] per :data:`BIN_MS` bin)."""
    user = envelope(run.user, BIN_MS)
    agent = envelope(run.agent, BIN_MS)
    summary = summarize([measure(run)])
    strip: dict[str, Any] = {
        "id": run.clip.id,
        "total_ms": run.duration_ms,
        "user": [first_bin, len(user)],
        "agent": [first_bin + len(user), len(agent)],
        **decided_lanes(run),
        "measures": shown_measures(summary),
        "summary": _plain(summary),
    }
    data = np.ascontiguousarray(np.concatenate([user, agent]), "<i2").tobytes()
    return strip, data


class SuiteLab(anywidget.AnyWidget):
    """A sweep's Pareto plot and, per clip, what a clicked configuration did (see the module
    docstring). ``select(row, compare=...)`` does what clicks do; ``wait()`` blocks until the
    view has caught up."""

    _esm = Path(__file__).with_name("suite_lab.js")
    title = t.Unicode("").tag(sync=True)
    points: t.List[Any] = t.List([]).tag(sync=True)
    baseline: t.List[Any] = t.List([]).tag(sync=True)
    reference = t.Dict(allow_none=True, default_value=None).tag(sync=True)
    metrics: t.List[Any] = t.List([]).tag(sync=True)
    clips: t.List[Any] = t.List([]).tag(sync=True)
    selected = t.Int(-1, help="the row of result.table shown as A; -1 for none").tag(sync=True)
    compare = t.Int(-1, help="the row of result.table shown as B; -1 for none").tag(sync=True)
    strips = t.Dict({}).tag(sync=True)
    waves = t.Bytes(b"").tag(sync=True)
    bin_ms = t.Int(BIN_MS).tag(sync=True)
    status = t.Unicode("").tag(sync=True)

    def __init__(
        self, result: Any, *, selected: int | None = None, compare: int | None = None
    ) -> None:
        table: pd.DataFrame = result.table
        self.result = result
        self.grid_keys: list[str] = list(result.keys)
        self._rows = len(table)
        self.suite = list(_suite_of(result))
        self._runs: OrderedDict[tuple[int, str], ClipRun] = OrderedDict()
        self._strips: dict[tuple[int, str], tuple[dict[str, Any], bytes]] = {}
        self._lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._generation = 0
        self._closed = False  # set under _lock by close(): the worker sets no trait after it
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="suite-lab")
        self.pending: Future[None] | None = None
        self.last_error: BaseException | None = None
        xs = [_number(v) for v in table[X_METRIC]] if X_METRIC in table else [None] * self._rows
        ys = [_number(v) for v in table[Y_METRIC]] if Y_METRIC in table else [None] * self._rows
        front = {table.index.get_loc(label) for label in result.front}
        shown = [m for m in (*METRICS, *COUNTS) if m in table.columns]
        points = []
        for i in range(self._rows):
            row = table.iloc[i]
            points.append(
                {
                    "row": i,
                    "label": self.label(i),
                    "x": xs[i],
                    "y": ys[i],
                    "front": i in front,
                    "values": {m: _number(row[m]) for m in shown},
                }
            )
        super().__init__(
            title=self._title(),
            points=points,
            baseline=_marks(getattr(result, "baseline", None)),
            reference=_reference(),
            metrics=shown,
            clips=[
                {
                    "id": c.id,
                    "duration_ms": c.duration_ms,
                    "spans": [[s.start_ms, s.end_ms, s.label, s.text] for s in c.spans],
                }
                for c in self.suite
            ],
        )
        self.on_msg(self._browser)
        self.observe(self._changed, names=["selected", "compare"])
        if selected is not None or compare is not None:
            self.select(-1 if selected is None else selected, -1 if compare is None else compare)

    # ---- what a row is -----------------------------------------------------------------------

    def label(self, row: int) -> str:
        """The settings of ``row`` as ``name=value`` pairs (the grid's keys)."""
        settings = self.result.settings[row]
        return ", ".join(f"{k}={_shown(settings[k])}" for k in self.grid_keys) or f"row {row}"

    def _title(self) -> str:
        name = getattr(getattr(self.result, "suite", None), "name", "") or "suite"
        return (
            f"<b>VAD lab</b>: {html.escape(str(name))}, {len(self.suite)} clips, "
            f"{self._rows} configurations ({html.escape(', '.join(self.grid_keys))}). "
            "<span style='color:#666'>Click a point for A, shift-click for B.</span>"
        )

    # ---- selection ---------------------------------------------------------------------------

    @t.validate("selected", "compare")
    def _valid_row(self, proposal: Any) -> int:
        return self._row(proposal["trait"].name, proposal["value"])

    def _row(self, name: str, value: Any) -> int:
        """``value`` as a row of the table for the trait ``name``, or a ConfigError naming it."""
        if not isinstance(value, int | np.integer) or isinstance(value, bool):
            raise ConfigError(
                [FieldProblem(name, f"{name} must be a row number of result.table, got "
                              f"{value!r}")]
            )  # fmt: skip
        if not -1 <= value < self._rows:
            raise ConfigError(
                [
                    FieldProblem(
                        name,
                        f"{name} must be a row of result.table, 0..{self._rows - 1} "
                        f"(or -1 for none), got {value}",
                    )
                ]
            )
        return int(value)

    def select(self, row: int, compare: int | None = None) -> None:
        """Show ``row`` as A (and ``compare`` as B; -1 clears it, None leaves it), as a click
        would. Raises :class:`ConfigError` for a row outside the table (and changes nothing)."""
        a = self._row("selected", row)
        b = None if compare is None else self._row("compare", compare)
        with self.hold_trait_notifications():
            self.selected = a
            if b is not None:
                self.compare = b

    def _changed(self, _change: Any = None) -> None:
        with self._lock:
            if self._closed:
                return
            self._generation += 1
            generation = self._generation
        a, b = self.selected, self.compare
        if a < 0:
            self.strips, self.waves, self.status = {}, b"", ""
            return
        todo = sum(
            (row, c.id) not in self._strips for row in (a, b) if row >= 0 for c in self.suite
        )
        self.status = f"computing... ({todo} clip runs)" if todo else ""
        self.pending = self._worker.submit(self._compute, generation, a, b)

    def _compute(self, generation: int, a: int, b: int) -> None:
        try:
            sides: dict[str, Any] = {}
            chunks: list[bytes] = []
            first = 0
            for name, row in (("A", a), ("B", b)):
                if row < 0:
                    continue
                strips = []
                for clip in self.suite:
                    if generation != self._generation:
                        return  # a newer selection came: its own job draws
                    strip, data = self._strip(row, clip.id)
                    strip = {**strip, "user": [first, strip["user"][1]],
                             "agent": [first + strip["user"][1], strip["agent"][1]]}  # fmt: skip
                    first += strip["user"][1] + strip["agent"][1]
                    strips.append(strip)
                    chunks.append(data)
                sides[name] = {"row": row, "clips": strips}
            with self._lock:
                if self._closed or generation != self._generation:
                    return
                with self.hold_sync():
                    self.waves = b"".join(chunks)
                    self.strips = sides
                    self.status = ""
        except Exception as exc:
            self.last_error = exc
            with self._lock:
                if not self._closed and generation == self._generation:
                    self.status = f"error: {type(exc).__name__}: {exc}"
            raise

    def _strip(self, row: int, clip_id: str) -> tuple[dict[str, Any], bytes]:
        key = (row, clip_id)
        if key not in self._strips:
            self._strips[key] = clip_strip(self.run(row, clip_id), 0)
        return self._strips[key]

    def run(self, row: int, clip_id: str) -> ClipRun:
        """``result.run(row, clip_id)``, kept for the last few (a play asks for it again)."""
        key = (row, clip_id)
        with self._cache_lock:  # the worker and the kernel's thread both ask
            kept = self._runs.get(key)
            if kept is not None:
                self._runs.move_to_end(key)
                return kept
        run: ClipRun = self.result.run(row, clip_id)
        with self._cache_lock:
            self._runs[key] = run
            while len(self._runs) > 2 * len(self.suite) + 2:
                self._runs.popitem(last=False)
        return run

    def wait(self, timeout: float = 120.0) -> None:
        """Block until the view shows the current selection (for scripts and tests)."""
        if self.pending is not None:
            self.pending.result(timeout=timeout)

    # ---- the browser ---------------------------------------------------------------------------

    def _browser(self, _widget: Any, content: Any, _buffers: list[bytes]) -> None:
        """A message from the view: ``{"type": "play", "row": int, "clip": str}``. A malformed
        one is answered with an error in the view's status line, never an exception in the
        comm handler."""
        if not isinstance(content, dict) or content.get("type") != "play":
            return
        raw = content.get("row", -1)
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            self._say(f"error: row must be an integer row of the table, got {raw!r}")
            return
        try:
            row = int(raw)
        except (TypeError, ValueError, OverflowError):
            self._say(f"error: row must be an integer row of the table, got {raw!r}")
            return
        clip_id = content.get("clip", "")
        if not isinstance(clip_id, str):
            self._say(f"error: clip must be a clip id (a string), got {clip_id!r}")
            return
        if self._closed:
            return
        self._worker.submit(self._send_audio, row, clip_id)

    def _say(self, status: str) -> None:
        """Show ``status`` in the view, unless the widget was closed."""
        with self._lock:
            if not self._closed:
                self.status = status

    def audio_message(self, row: int, clip_id: str) -> tuple[dict[str, Any], bytes]:
        """The message a play button gets: the clip's stereo run (user left, agent right,
        interleaved int16 at 24 kHz) for ``row``. Raises :class:`ConfigError` naming the field
        for a row or clip the suite does not have."""
        if not 0 <= row < self._rows:
            raise ConfigError([FieldProblem("row", f"row must be 0..{self._rows - 1}, got {row}")])
        ids = [c.id for c in self.suite]
        if clip_id not in ids:
            raise ConfigError(
                [FieldProblem("clip", f"clip must be one of {', '.join(ids)}, got {clip_id!r}")]
            )
        stereo = np.ascontiguousarray(self.run(row, clip_id).stereo(), "<i2")
        return {"type": "audio", "clip": clip_id, "row": row, "rate": RATE}, stereo.tobytes()

    def _send_audio(self, row: int, clip_id: str) -> None:
        try:
            content, data = self.audio_message(row, clip_id)
        except Exception as exc:
            self._say(f"error: {exc}")
            return
        with self._lock:
            if not self._closed:
                self.send(content, [data])

    def close(self) -> None:
        """Stop the worker and close the widget: a job still running sets no trait and sends
        nothing after this (it checks for closure under the lock); queued jobs are dropped."""
        with self._lock:
            self._closed = True
            self._generation += 1
        self._worker.shutdown(wait=False, cancel_futures=True)
        super().close()


def _suite_of(result: Any) -> Any:
    suite = getattr(result, "suite", None)
    if suite is None:
        raise ConfigError(
            [FieldProblem("result", "result: a SweepResult (with its suite) is needed")]
        )
    return suite


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _plain(value: Any) -> Any:
    """A JSON-friendly copy (numpy scalars to Python, NaN to None)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _shown(value: Any) -> str:
    """A setting as a person writes it: ``500``, not ``500.0`` (a DataFrame column of floats)."""
    value = _plain(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _marks(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
    """The baseline's points (its rows vary ``silence_duration_ms`` at a fixed threshold)."""
    if frame is None or not len(frame):
        return []
    return [
        {
            "label": f"silence_duration_ms={_shown(row['silence_duration_ms'])}",
            "x": _number(row.get(X_METRIC)),
            "y": _number(row.get(Y_METRIC)),
        }
        for _, row in frame.iterrows()
    ]


def _reference() -> dict[str, Any]:
    """The published OpenAI point, labelled with its source."""
    ref = OPENAI_REFERENCE
    return {
        "label": f"{ref.label}, {ref.eot_latency_ms:.0f} ms at {ref.false_cutoff_rate:.0%} "
        "(livekit/eot-bench)",
        "source": ref.source,
        "x": ref.eot_latency_ms,
        "y": ref.false_cutoff_rate,
    }
