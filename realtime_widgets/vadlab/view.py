"""The VAD lab's drawings: the clip with its turns (``VadView``) and a sweep's heatmap
(``Heatmap``). Both are anywidgets; the audio envelope and the probability track go to the
browser once, as binary traits, and only the small result changes as the settings move."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets as t

from realtime_widgets.audio.envelope import envelope
from realtime_widgets.vadlab.analysis import Analysis, LabResult

__all__ = ["Heatmap", "VadView"]

BIN_MS = 10


class VadView(anywidget.AnyWidget):
    """The clip (10 ms min/max envelope), Silero's probability with the threshold, the labelled
    turns, and what turn detection did: turns, commits, idle timeouts, would-be responses."""

    _esm = Path(__file__).with_name("view.js")
    name = t.Unicode("").tag(sync=True)
    bin_ms = t.Int(BIN_MS).tag(sync=True)
    clip_ms = t.Float(0.0).tag(sync=True)
    envelope = t.Bytes(b"").tag(sync=True)  # int16 [min, max] per 10 ms bin
    probability = t.Bytes(b"").tag(sync=True)  # uint8 per 10 ms frame (prob * 255)
    threshold = t.Float(0.5).tag(sync=True)
    truth: t.List[Any] = t.List([]).tag(sync=True)  # [[start_ms, end_ms, text], ...]
    result = t.Dict({}).tag(sync=True)
    height = t.Int(240).tag(sync=True)

    def show_clip(self, analysis: Analysis) -> None:
        clip = analysis.clip
        with self.hold_sync():
            self.name = clip.name
            self.clip_ms = clip.duration_ms
            self.envelope = np.ascontiguousarray(envelope(clip.samples, BIN_MS), "<i2").tobytes()
            probs = np.clip(np.round(analysis.probabilities * 255), 0, 255).astype(np.uint8)
            self.probability = probs.tobytes()
            self.truth = [[s.start_ms, s.end_ms, s.text] for s in clip.truth or []]

    def show_result(self, result: LabResult, threshold: float | None) -> None:
        with self.hold_sync():
            self.threshold = -1.0 if threshold is None else threshold
            self.result = result.to_json()


class Heatmap(anywidget.AnyWidget):
    """A measure over a grid of two settings; clicking a cell sends its settings back."""

    _esm = Path(__file__).with_name("heatmap.js")
    title = t.Unicode("").tag(sync=True)
    x_name = t.Unicode("").tag(sync=True)
    y_name = t.Unicode("").tag(sync=True)
    x_values: t.List[Any] = t.List([]).tag(sync=True)  # labels
    y_values: t.List[Any] = t.List([]).tag(sync=True)
    values: t.List[Any] = t.List([]).tag(
        sync=True
    )  # rows (y) of columns (x); None where not measured
    lower_is_better = t.Bool(True).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._on_pick: list[Any] = []
        self.on_msg(self._browser)

    def on_pick(self, callback: Any) -> None:
        """``callback(x_index, y_index)`` when a cell is clicked."""
        self._on_pick.append(callback)

    def _browser(self, widget: Any, content: dict[str, Any], buffers: list[bytes]) -> None:
        if content.get("type") == "pick":
            for callback in self._on_pick:
                callback(int(content["x"]), int(content["y"]))
