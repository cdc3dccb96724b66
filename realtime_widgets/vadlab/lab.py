"""VadLab: a clip, the turn-detection controls, and what the local server would do with it.

The controls are the config panel's own (built from ``SessionConfig.turn_detection``), so the
lab offers exactly the settings a session has, with the same ranges and errors. Every change
re-runs the server's engine over the clip (the speech signals are computed once per clip, so a
change costs only the decisions: ~1000x real time) and redraws. ``sweep`` tabulates the measures
over a grid of settings, with a progress bar and a heatmap in the widget.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Callable, Iterable
from typing import Any

import ipywidgets as w

from realtime_widgets.errors import ConfigError, FieldProblem
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.parts import ServerVad
from realtime_widgets.vadlab.analysis import (
    Analysis,
    LabResult,
    Measures,
    sweep_grid,
    with_detection,
)
from realtime_widgets.vadlab.clips import LabClip, example_clips, load_clip
from realtime_widgets.vadlab.view import Heatmap, VadView
from realtime_widgets.widgets.controls import SectionControl, build_controls, leaves

__all__ = ["HONESTY", "VadLab"]

HONESTY = (
    "This is the <b>local</b> server's turn detection (Silero VAD for whether a frame is speech, "
    "a 10 ms energy track for where it starts and ends; semantic_vad is approximated from how "
    "the speech ends). It approximates OpenAI's but is not it. With a key, "
    "<code>ABTest</code> against OpenAI shows the real thing on the same clip. "
    "Noise reduction is not modelled by the local server, so it is not offered here."
)

MEASURE_COLUMNS = (
    "turns", "hits", "misses", "false_triggers", "cutoffs", "merged", "errors",
    "mean_delay_ms", "max_delay_ms", "timeouts", "responses", "interrupted",
)  # fmt: skip
HIGHER_IS_BETTER = {"hits", "turns", "responses"}


class SweepTable(list):  # type: ignore[type-arg]
    """The rows of a sweep (dicts) when pandas is not installed; ``columns`` in order."""

    def __init__(self, rows: list[dict[str, Any]], columns: list[str]) -> None:
        super().__init__(rows)
        self.columns = columns


class VadLab(w.VBox):  # type: ignore[misc]
    """Turn detection on a clip, for the current settings (see the module docstring)."""

    def __init__(
        self,
        clip: Any = None,
        config: SessionConfig | None = None,
        *,
        labels: Any = None,
        reply_ms: int = 2000,
    ) -> None:
        if clip is None:
            clip = example_clips()["pauses"]
        self.clip: LabClip = load_clip(clip, labels)
        base = config or SessionConfig()
        if base.turn_detection is None:
            base = base.with_changes(turn_detection=ServerVad())
        self.config = base
        self.analysis = Analysis(self.clip)
        self.result: LabResult | None = None
        self.last_table: Any = None
        self.control: SectionControl = next(
            c
            for c in build_controls(SessionConfig)
            if c.path == "turn_detection" and isinstance(c, SectionControl)
        )
        self.control.set(base.turn_detection)
        self.reply = w.IntSlider(
            value=reply_ms, min=0, max=10000, step=250, description="reply length ms",
            style={"description_width": "130px"}, continuous_update=False,
            layout=w.Layout(width="95%"),
            tooltip="How long each would-be reply lasts (the local lab cannot know; it matters "
            "for idle timeouts and for speech that interrupts a reply)",
        )  # fmt: skip
        self.view = VadView()
        self.view.show_clip(self.analysis)
        self.measures = w.HTML()
        self.status = w.HTML()
        self.progress = w.IntProgress(value=0, min=0, max=1, description="sweep")
        self.progress.layout.display = "none"
        self.heatmap = Heatmap()
        self.heatmap.layout.display = "none"
        self.heatmap.on_pick(self._picked)
        self._grid: list[tuple[dict[str, Any], SessionConfig]] = []
        self._axes: tuple[str, list[Any], str | None, list[Any]] | None = None
        for leaf in leaves(self.control.widget):
            if isinstance(leaf, w.ValueWidget):
                leaf.observe(lambda _: self._changed(), "value")
        self.reply.observe(lambda _: self._changed(), "value")
        title = w.HTML(
            f"<b>VAD lab</b>: {html.escape(self.clip.name)} "
            f"({self.clip.duration_ms / 1000:.1f} s"
            f"{', labelled' if self.clip.truth else ', no labels'})"
            + (f"<br><i>{html.escape(self.clip.description)}</i>" if self.clip.description else "")
        )
        note = w.HTML(f"<div style='color:#666;font-size:12px'>{HONESTY}</div>")
        # Two columns that share the width and wrap under each other when it is short: at
        # 1366x768 in Lab (file browser open or not) nothing scrolls sideways.
        controls = w.VBox(
            [self.control.box, self.reply], layout=w.Layout(flex="1 1 340px", min_width="0")
        )
        right = w.VBox(
            [self.measures, self.status], layout=w.Layout(flex="1 1 300px", min_width="0")
        )
        columns = w.HBox([controls, right], layout=w.Layout(flex_flow="row wrap"))
        super().__init__([title, self.view, columns, self.progress, self.heatmap, note])
        self.add_class("rw-vadlab")
        self.recompute()

    # ---- settings -> result ---------------------------------------------------------------

    def _changed(self) -> None:
        try:
            detection = self.control.value
            config = self.config.with_changes(turn_detection=detection)
        except (ConfigError, ValueError, json.JSONDecodeError) as exc:
            self.status.value = (
                f"<span style='color:#c0392b'>&#9888; {html.escape(str(exc))}</span>"
            )
            return
        if detection is None:
            self.status.value = (
                "<span style='color:#888'>turn detection is off: the client commits turns "
                "itself, so there is nothing to show</span>"
            )
            return
        self.config = config
        self.recompute()

    def set(self, **settings: Any) -> LabResult:
        """Change settings by short name (``threshold=0.6``, ``type="semantic_vad"``) or dotted
        path, move the controls, and recompute."""
        self.config = with_detection(self.config, settings)
        self.control.set(self.config.turn_detection)
        return self.recompute()

    def recompute(self) -> LabResult:
        start = time.perf_counter()
        self.result = self.analysis.run(self.config, reply_ms=self.reply.value)
        took = (time.perf_counter() - start) * 1000
        td = self.config.turn_detection
        self.view.show_result(self.result, td.threshold if isinstance(td, ServerVad) else None)
        self.measures.value = _measures_html(self.result.measures)
        self.status.value = (
            f"<span style='color:#888'>recomputed in {took:.0f} ms "
            f"({self.clip.duration_ms / max(took, 0.01):.0f}x real time)</span>"
        )
        return self.result

    # ---- sweeps ---------------------------------------------------------------------------

    def sweep(
        self,
        measure: str = "errors",
        progress: Callable[[int, int], None] | None = None,
        **grid: Iterable[Any],
    ) -> Any:
        """Run every combination of ``grid`` (short turn-detection names or dotted paths) and
        return a table of the measures (a pandas DataFrame when pandas is installed). The
        widget shows a progress bar and a heatmap of ``measure`` over the first two settings
        (the best value over any others). Invalid values raise before anything runs."""
        if measure not in MEASURE_COLUMNS:
            raise ConfigError(
                [
                    FieldProblem(
                        "measure",
                        f"measure must be one of {', '.join(MEASURE_COLUMNS)}, got {measure!r}",
                    )
                ]
            )
        if not grid:
            raise ConfigError([FieldProblem("grid", "sweep needs at least one setting to vary")])
        combos = sweep_grid(self.config, grid)
        self.progress.max = len(combos)
        self.progress.value = 0
        self.progress.layout.display = None
        rows = []
        for n, (settings, config) in enumerate(combos, 1):
            measures = self.analysis.run(config, reply_ms=self.reply.value).measures
            assert measures is not None
            values = measures.as_dict()
            rows.append({**settings, **{c: values[c] for c in MEASURE_COLUMNS}})
            self.progress.value = n
            if progress is not None:
                progress(n, len(combos))
        self.progress.description = f"{len(combos)} runs"
        self._grid = combos
        self._show_heatmap(rows, list(grid), measure)
        columns = [*grid, *MEASURE_COLUMNS]
        self.last_table = _table(rows, columns)
        return self.last_table

    def _show_heatmap(self, rows: list[dict[str, Any]], names: list[str], measure: str) -> None:
        x_name = names[0]
        y_name = names[1] if len(names) > 1 else None
        xs = list(dict.fromkeys(r[x_name] for r in rows))
        ys = list(dict.fromkeys(r[y_name] for r in rows)) if y_name else [None]
        better = max if measure in HIGHER_IS_BETTER else min
        grid: list[list[Any]] = []
        for y in ys:
            line = []
            for x in xs:
                found = [
                    r[measure]
                    for r in rows
                    if r[x_name] == x
                    and (y_name is None or r[y_name] == y)
                    and r[measure] is not None
                ]
                line.append(better(found) if found else None)
            grid.append(line)
        self._axes = (x_name, xs, y_name, ys)
        extra = f" (best over {', '.join(names[2:])})" if len(names) > 2 else ""
        with self.heatmap.hold_sync():
            self.heatmap.title = f"{measure} for each setting{extra}: click a cell to apply it"
            self.heatmap.x_name = x_name
            self.heatmap.y_name = y_name or ""
            self.heatmap.x_values = [str(x) for x in xs]
            self.heatmap.y_values = [str(y) if y is not None else "" for y in ys]
            self.heatmap.lower_is_better = measure not in HIGHER_IS_BETTER
            self.heatmap.values = grid
        self.heatmap.layout.display = None

    def _picked(self, x: int, y: int) -> None:
        if self._axes is None:
            return
        x_name, xs, y_name, ys = self._axes
        settings = {x_name: xs[x]}
        if y_name is not None:
            settings[y_name] = ys[y]
        try:
            self.set(**settings)
        except ConfigError as exc:
            self.status.value = f"<span style='color:#c0392b'>{html.escape(str(exc))}</span>"


def _table(rows: list[dict[str, Any]], columns: list[str]) -> Any:
    try:
        # optional dependency: a DataFrame when pandas is installed
        import pandas as pd
    except ImportError:
        return SweepTable(rows, columns)
    return pd.DataFrame(rows, columns=columns)


def _measures_html(m: Measures | None) -> str:
    if m is None:
        return ""
    cells: list[tuple[str, Any, str]] = [("turns", m.turns, "turns the server detected")]
    if m.hits is not None:
        cells += [
            ("hits", f"{m.hits}/{(m.hits or 0) + (m.misses or 0)}", "labelled turns detected"),
            ("false triggers", m.false_triggers, "turns where no labelled turn is"),
            ("cut-offs", m.cutoffs, "turns ended while the speaker was still in a labelled turn"),
            ("merged", m.merged, "labelled turns answered together, as one"),
            ("end-of-turn delay", _ms(m.mean_delay_ms), "labelled end -> speech_stopped (mean)"),
            ("worst delay", _ms(m.max_delay_ms), ""),
        ]
    else:
        cells.append(("(no labels)", "", "add a JSON beside the WAV to score the settings"))
    cells += [
        ("idle timeouts", m.timeouts, ""),
        ("would-be replies", m.responses, ""),
        ("cut by speech", m.interrupted, "replies cancelled because speech started (barge-in)"),
    ]
    rows = "".join(
        f"<tr><td style='padding:1px 8px;color:#555'>{k}</td>"
        f"<td style='padding:1px 8px;white-space:nowrap'>"
        f"<b>{v}</b></td><td style='padding:1px 8px;color:#888'>{why}</td></tr>"
        for k, v, why in cells
    )
    return f"<table style='font-size:12px'>{rows}</table>"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"
