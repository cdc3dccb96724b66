"""What a notebook's text says, checked against what its cells showed after Run All.

Each check reads an executed notebook (nbclient, widget state saved): the printed outputs and
the saved state of the widgets each cell displayed. A notebook's markdown states no number that
its outputs do not show: where a section draws a conclusion, a cell prints it from the data,
and the check recomputes it from the table that cell printed.
"""

from __future__ import annotations

import ast
import json
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


def _printed_table(text: str) -> dict[int, dict[str, float]]:
    """The rows of a DataFrame printed with ``to_string()`` (index first), by index."""
    header, *lines = [line for line in text.splitlines() if line.strip()]
    columns = header.split()
    rows = {}
    for line in lines:
        parts = line.split()
        if len(parts) == len(columns) + 1 and parts[0].isdigit():
            rows[int(parts[0])] = {c: float(v) for c, v in zip(columns, parts[1:], strict=True)}
    return rows


def vad_lab(nb: Any) -> None:
    # -- the suite: its licence, and one strip per clip in the lab
    suite_text = _text(_cell(nb, "import time"))
    assert "licence: LGPL-2.1-or-later" in suite_text
    assert "LGPL-2.1-or-later" in _markdown(nb, "## The built-in suite")
    n_clips = int(re.search(r"(\d+) clips", suite_text)[1])  # type: ignore[index]
    clip_ids = re.findall(r"^  (\S+) +\d+\.\d s ", suite_text, re.M)
    assert len(clip_ids) == n_clips
    # -- the sweep's table, as printed
    sweep_text = _text(_cell(nb, "from realtime_widgets.evals.sweep import sweep"))
    table = _printed_table(sweep_text.split("\n", 1)[1])
    assert len(table) == 18, sweep_text
    # -- the lab shows A = the default and B = the conclusion's row, every clip for each
    lab_cell = _cell(nb, "from realtime_widgets.vadlab.suite_lab import SuiteLab")
    chosen = re.search(r"A: row (\d+) \((.*?)\), B: row (\d+) \((.*?)\)", _text(lab_cell))
    assert chosen, _text(lab_cell)
    default_row, best_row = int(chosen[1]), int(chosen[3])
    assert chosen[2] == "silence_duration_ms=500, threshold=0.5"
    assert table[default_row]["silence_duration_ms"] == 500
    assert table[default_row]["threshold"] == 0.5
    (lab,) = _shown(nb, lab_cell, "SuiteLab")
    assert (lab["selected"], lab["compare"]) == (default_row, best_row)
    assert lab["status"] == ""
    for side, row in (("A", default_row), ("B", best_row)):
        assert lab["strips"][side]["row"] == row
        assert [s["id"] for s in lab["strips"][side]["clips"]] == clip_ids
    for point in lab["points"]:  # the plot's points are the printed table's
        values = table[point["row"]]
        assert round(point["y"], 3) == values["false_cutoff_rate"]
        assert round(point["x"], 3) == values["eot_latency_ms_p50"]
    # -- the front and the conclusion, recomputed from the printed table
    ordered = sorted(
        table, key=lambda r: (table[r]["eot_latency_ms_p50"], table[r]["false_cutoff_rate"])
    )
    front, best = [], float("inf")
    for r in ordered:
        if table[r]["false_cutoff_rate"] < best:
            front.append(r)
            best = table[r]["false_cutoff_rate"]
    conclusion_text = _text(_cell(nb, 'print(f"Pareto front: rows {front}")'))
    assert f"Pareto front: rows {front}" in conclusion_text
    assert [p["row"] for p in lab["points"] if p["front"]] == sorted(front)
    within = [r for r in front if table[r]["false_cutoff_rate"] <= 0.05]
    assert within, "the grid reaches the 5 % budget"
    assert best_row == within[0]
    conclusion = re.search(
        r"conclusion: on the front at <= 5 % false cutoffs, silence_duration_ms=(\d+), "
        r"threshold=([\d.]+) is the fastest: ([\d.]+)% false cutoffs, (\d+) ms p50 latency",
        conclusion_text,
    )
    assert conclusion, conclusion_text
    best_values = table[best_row]
    assert int(conclusion[1]) == best_values["silence_duration_ms"]
    assert float(conclusion[2]) == best_values["threshold"]
    assert int(conclusion[4]) == round(best_values["eot_latency_ms_p50"])
    # -- one clip's false cutoff: the decision is inside the hold, and the lab drew it there
    cut_text = _text(_cell(nb, "cut = next("))
    found = re.search(
        r"^(\S+): hold (\d+)-(\d+) ms \(\d+ ms pause\): turn ended at (\d+) ms, (\d+) ms into "
        r"the pause: a false cutoff",
        cut_text,
        re.M,
    )
    assert found, cut_text
    clip_id, start, end, at, into = found[1], *map(int, found.groups()[1:])
    assert start <= at < end
    assert into == at - start
    strip = next(s for s in lab["strips"]["A"]["clips"] if s["id"] == clip_id)
    assert any(start <= t[1] < end and t[2] for t in strip["turns"])
    assert any(
        name == "holds cut" and not value.startswith("0/") for name, value in strip["measures"]
    )
    # -- the single-clip lab still shows what it printed
    (one,) = _shown(nb, _cell(nb, "from realtime_widgets.vadlab import example_clips"), "VadView")
    printed = _measures(_text(_cell(nb, "from realtime_widgets.vadlab import example_clips")))
    for name in ("turns", "hits", "cutoffs", "false_triggers", "merged"):
        assert one["result"]["measures"][name] == printed[name], name


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


def live(nb: Any) -> None:
    # -- the settings: session.start carries no media-only field; the export says where it goes
    settings = _text(_cell(nb, "import json"))
    start = json.loads(settings[: settings.index("\nwake_policy on the WebSocket")])
    assert start["type"] == "session.start"
    assert "wake_policy" not in start["session"]
    assert start["session"]["audio"]["format"] == {"type": "audio/pcm", "rate": 16000}
    media = settings[settings.index("MEDIA_SESSION = ") :]
    assert "'wake_policy': {'type': 'speech', 'vad_threshold': 0.6}" in media
    # -- the delegation: listed, answered, accepted, said
    delegation = _text(_cell(nb, 'say("Please book a table for two.")'))
    assert re.search(r"^delegated: +deleg_\w+ to client at \d+\.\d s$", delegation, re.M)
    said = re.search(r"^model said: +(.*)$", delegation, re.M)
    assert said, delegation
    assert said[1].startswith("One moment")  # the acknowledgement, as nothing else was said
    # -- the barge-in: one answer cut, one barge-in marker, a model marker per answer, each
    # with its latency, and the same latencies printed at the end
    talk = _text(_cell(nb, 'say("What time do you open tomorrow?")'))
    counts = re.search(r"^answers: (\d+) \| cut: (\d+)$", talk, re.M)
    assert counts, talk
    markers = re.search(r"^markers: (.*)$", talk, re.M)
    assert markers, talk
    labels = markers[1].split(", ")
    assert labels.count("barge-in") == int(counts[2]) == 1
    # where the third turn began (over the second answer, which is the one cut)
    assert labels[: labels.index("barge-in")].count("you") == 3
    assert labels[labels.index("barge-in") - 1] == "you"
    models = [int(m) for m in re.findall(r"model \+(\d+) ms", markers[1])]
    assert len(models) == labels.count("you") == int(counts[1]) == 3
    end = _text(_cell(nb, "stop.set()"))
    printed = [int(m) for m in re.findall(r"(\d+) ms", end.splitlines()[0])]
    assert [abs(a - b) <= 1 for a, b in zip(models, printed, strict=True)] == [True] * 3, end
    assert "barge-in" in _markdown(nb, "## 5. Speaking over the model")
    # -- the mute: nothing heard, and the billed seconds went on (a mute is not a pause)
    mute = _text(_cell(nb, "heard_before = "))
    assert re.search(r"^turns heard while muted: 0$", mute, re.M), mute
    muted = re.search(r"^billed seconds while muted: (\d+) s -> (\d+) s$", mute, re.M)
    assert muted, mute
    assert int(muted[2]) >= int(muted[1]) + 1
    six = " ".join(_markdown(nb, "## 6. Mute, and a fixture").split())
    assert "a mute is not a pause" in six
    assert "billed as paused" not in six
    # -- usage and cost: seconds only on the WebSocket, every one priced as active (an upper
    # bound, the note says), the dollars the printed active price times them
    billed = re.search(r"billed (\d+) s; breakdown: active None, paused None$", end, re.M)
    cost = re.search(
        r"^cost: \$([\d.]+) = (\d+) s x \$([\d.]+)/active min \((\d+) s with no breakdown, "
        r"priced as active\)$",
        end,
        re.M,
    )
    note = re.search(r"^note: (.*)$", end, re.M)
    assert billed, end
    assert cost, end
    assert note, end
    seconds = int(billed[1])
    assert seconds >= int(muted[2])  # the muted seconds are in the total
    assert int(cost[2]) == int(cost[4]) == seconds
    assert float(cost[1]) == round(seconds / 60 * float(cost[3]), 4)
    assert note[1].startswith(f"${cost[1]} for gpt-live-1.1: {seconds} active s x ${cost[3]}/min")
    assert "upper bound" in note[1]
    assert "reports only for eligible WebRTC sessions" in note[1]
    seven = " ".join(_markdown(nb, "## 7. Latency, usage and cost").split())
    assert "upper bound" in seven
    assert "no active/paused breakdown" in seven
    assert "unlock" in _markdown(nb, "## 7. Latency, usage and cost")


def translation(nb: Any) -> None:
    # The update printed in section 1 is audio only (no type, no model), and it is what the
    # playground sent when it connected.
    settings = _text(_cell(nb, "import json"))
    update = json.loads(settings[: settings.index("\nrefused before sending")])
    assert update["type"] == "session.update"
    assert list(update["session"]) == ["audio"], update
    text = _text(_cell(nb, "import time"))
    sent = re.search(r"^update sent at connect: (.*)$", text, re.M)
    assert sent, text
    assert json.loads(sent[1]) == [update["session"]]
    # Each sentence was heard (the words, offline), and none has a translation: the server
    # has no translator, said so once, and invented nothing.
    said = re.findall(r"^   said: +('.*'|\".*\")$", text, re.M)
    heard = re.findall(r"^   heard: +('.*'|\".*\")$", text, re.M)
    translations = re.findall(r"^   translation: (.*)$", text, re.M)
    assert len(said) == len(heard) == len(translations) == 2, text
    assert all(ast.literal_eval(words).strip() for words in heard), text
    assert translations == ["none", "none"], text
    assert text.count("the server said (") == 1, text
    assert "translated audio received: 0 ms" in text
    # The markdown says what the outputs show.
    story = _markdown(nb, "## 2. The playground")
    assert "no translator" in story
    assert "translation column stays empty" in story


STORIES: dict[str, Callable[[Any], None]] = {
    "04_vad_lab": vad_lab,
    "05_transcription": transcription,
    "06_live": live,
    "07_translation": translation,
}
