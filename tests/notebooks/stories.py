"""What a notebook's text says, checked against what its cells showed after Run All.

Each check reads an executed notebook (nbclient, widget state saved): the printed outputs and
the saved state of the widgets each cell displayed. A notebook's markdown states no number that
its outputs do not show: where a section draws a conclusion, a cell prints it from the data,
and the check recomputes it from the table that cell printed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from typing import Any

__all__ = ["STORIES"]

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _cell(nb: Any, start: str) -> Any:
    """The one code cell whose source starts with ``start``."""
    found = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(start)]
    assert len(found) == 1, f"{len(found)} code cells start with {start!r}"
    return found[0]


def _markdown(nb: Any, heading: str) -> str:
    found = [c.source for c in nb.cells if c.cell_type == "markdown" and heading in c.source]
    assert found, f"no markdown cell with {heading!r}"
    return found[0]


def _text(cell: Any) -> str:
    return "".join(
        o.get("text", "") or str(o.get("data", {}).get("text/plain", "")) for o in cell.outputs
    )


def _widgets(nb: Any) -> dict[str, Any]:
    return dict(nb.metadata["widgets"][WIDGET_STATE]["state"])


def _shown(nb: Any, cell: Any, kind: str) -> list[dict[str, Any]]:
    """The saved state of every ``kind`` anywidget (class name) inside the widgets ``cell``
    displayed, in the order found."""
    state = _widgets(nb)
    roots = [
        o["data"][WIDGET_VIEW]["model_id"] for o in cell.outputs if WIDGET_VIEW in o.get("data", {})
    ]
    assert roots, "the cell displayed no widget"
    seen: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str) and value.startswith("IPY_MODEL_"):
            visit(value.removeprefix("IPY_MODEL_"))
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)

    def visit(model_id: str) -> None:
        if model_id in seen or model_id not in state:
            return
        seen.append(model_id)
        walk(state[model_id]["state"])

    for root in roots:
        visit(root)
    return [
        state[m]["state"]
        for m in seen
        if str(state[m]["state"].get("_anywidget_id", "")).endswith(f".{kind}")
    ]


def _measures(text: str) -> dict[str, float]:
    """The fields of a printed ``Measures(...)``."""
    match = re.search(r"Measures\((.*?)\)", text)
    assert match, f"no Measures(...) in {text!r}"
    return {k: float(v) for k, v in re.findall(r"(\w+)=([-\d.]+)", match[1])}


def vad_lab(nb: Any) -> None:
    # -- the first lab still shows the defaults and what they did, as the text says
    first = _shown(nb, _cell(nb, "lab = rw.VadLab("), "VadView")
    assert len(first) == 1
    printed = _measures(_text(_cell(nb, "print(lab.result.measures)")))
    shown = first[0]["result"]["measures"]
    assert first[0]["threshold"] == 0.5
    for name in ("turns", "hits", "cutoffs", "false_triggers", "merged"):
        assert shown[name] == printed[name], (name, shown, printed)
    assert "the first turn is cut at its pause" in _markdown(nb, "## Sweeps")
    assert printed["cutoffs"] == 1  # "the cut-off counted above"
    swept = _text(_cell(nb, "swept = rw.VadLab("))
    assert f"{int(printed['cutoffs'])} cut-off(s)" in swept
    # -- the tuned lab shows the best setting the cell printed, and its measures
    tuned_cell = _cell(nb, "clean = table[")
    best = re.search(
        r"best: silence_duration_ms=(\d+), threshold=([\d.]+): (\d+) errors", _text(tuned_cell)
    )
    assert best, _text(tuned_cell)
    (tuned,) = _shown(nb, tuned_cell, "VadView")
    assert tuned["threshold"] == float(best[2])
    tuned_measures = _measures(_text(tuned_cell))
    assert tuned["result"]["measures"]["cutoffs"] == tuned_measures["cutoffs"] == 0
    assert int(best[3]) == 0
    # -- one setting for every clip: the printed conclusion is the table's
    text = _text(_cell(nb, "import pandas as pd"))
    header, *lines = [line for line in text.splitlines() if line.strip()]
    columns = header.split()[1:]  # after "clip"
    table = {}
    for line in lines:
        parts = line.split()
        if parts and parts[0].isdigit() and len(parts) == len(columns) + 1:
            table[int(parts[0])] = dict(zip(columns, map(float, parts[1:]), strict=True))
    assert len(table) >= 3, text
    for row in table.values():
        assert row["total"] == sum(v for k, v in row.items() if k not in ("total", "mean_delay_ms"))
    overall = min(table, key=lambda s: (table[s]["total"], table[s]["mean_delay_ms"]))
    conclusion = re.search(r"best for every clip: silence_duration_ms=(\d+): (\d+) errors", text)
    assert conclusion, text
    assert (int(conclusion[1]), int(conclusion[2])) == (overall, table[overall]["total"])
    clips = [c for c in columns if c not in ("total", "mean_delay_ms")]
    for clip in clips:  # what the setting costs each clip
        line = re.search(rf"^\s+{clip}\s+(\d+) errors", text, re.M)
        assert line, (clip, text)
        assert int(line[1]) == table[overall][clip]
    # -- the A/B section shows what it promises: the diff, transcripts and events, per side
    promise = _markdown(nb, "## A/B")
    assert "500 ms against 1200 ms" in promise
    ab_cell = _cell(nb, "a = rw.SessionConfig(")
    ab_text = _text(ab_cell)
    assert "turn_detection.silence_duration_ms: 500 -> 1200" in ab_text
    for side in ("A", "B"):
        assert f"{side}: transcript" in ab_text
        assert f"{side}: turn detection and replies" in ab_text
    transcripts = _shown(nb, ab_cell, "TranscriptView")
    assert len(transcripts) == 2
    assert all(any(r.get("role") == "user" for r in t["snapshot"]) for t in transcripts)
    assert len(_shown(nb, ab_cell, "EventLog")) == 2
    assert len(_shown(nb, ab_cell, "Waveform")) == 2


def transcription(nb: Any) -> None:
    # (The playground's widget state cannot be read back here: its session's updates come from
    # the cell that created it while a later cell runs, and nbclient keeps each cell's own.)
    text = _text(_cell(nb, "import time"))
    said = re.findall(r"^   said: +('.*'|\".*\")$", text, re.M)
    heard = re.findall(r"^   heard: ('.*'|\".*\")(?:  \((.*)\))?$", text, re.M)
    assert len(said) == len(heard) == 2, text
    for words, note in heard:
        assert ast.literal_eval(words).strip() or note.strip(), text  # words, or why not
    # each turn's least sure word is its token of lowest probability
    for block in text.split("turn at ")[1:]:
        least = re.search(r"least sure: ('.*'|\".*\") p=(0\.\d\d)", block)
        probs = [float(p) for p in re.findall(r"p=(0\.\d\d|1\.00)", block.split("tokens:")[1])]
        assert least, block
        assert float(least[2]) == min(probs), block


STORIES: dict[str, Callable[[Any], None]] = {
    "04_vad_lab": vad_lab,
    "05_transcription": transcription,
}
