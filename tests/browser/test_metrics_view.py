"""The Metrics tab at 1366x768, as ``make demo`` opens JupyterLab (file browser open).

The playground on the local server hears the fake microphone speak a turn and answers it. In
the Metrics tab (~530 px wide) each turn's row must be readable: no label cut (each fits its
box, wrapping onto a second line), a legend naming every coloured segment and a time axis, all
inside the tab; the turn says "you stopped → first sound N ms", N within the clocks'
uncertainty of what the kernel computes for that turn, its VAD silence wait is the session's
``silence_duration_ms``, its server part is what the session's events say (speech_stopped ->
first audio delta), and its bar ends where the axis puts N. Screenshot:
``tests/browser/artifacts/metrics_view_1366x768.png``.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import ARTIFACTS, Lab, run_notebook

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

NOTEBOOK = "00_playground.ipynb"

# Everything in the Metrics tab a person reads must fit: no text wider than its box, nothing
# outside the tab's sides, no horizontal scrolling. Returns what does not.
LAYOUT = """
() => {
  const tab = document.querySelector('.rw-tabs').getBoundingClientRect();
  const box = document.querySelector('.rw-metrics');
  const bad = [];
  const name = (e) => `${e.className}: ${e.textContent.slice(0, 80)}`;
  for (const e of box.querySelectorAll(
      '.rw-metrics-head, .rw-usage-note, .rw-latency-title, .rw-latency-legend, .rw-turn-label')) {
    if (e.scrollWidth > e.clientWidth + 1) bad.push(`cut ${name(e)} ${e.scrollWidth}>${e.clientWidth}`);
  }
  for (const e of box.querySelectorAll(
      '.rw-turn-label, .rw-turn-total, .rw-turn-parts, .rw-turn-name, .rw-legend-item, .rw-axis-label, .rw-turn-bar')) {
    const r = e.getBoundingClientRect();
    if (r.left < tab.left - 0.5 || r.right > tab.right + 0.5) {
      bad.push(`outside ${name(e)} ${r.left}..${r.right} not in ${tab.left}..${tab.right}`);
    }
  }
  const scroller = box.parentElement;
  if (scroller.scrollWidth > scroller.clientWidth + 1) bad.push(`scrolls ${scroller.scrollWidth}>${scroller.clientWidth}`);
  return {
    bad,
    width: box.getBoundingClientRect().width,
    legend: box.querySelectorAll('.rw-legend-item').length,
    axis: box.querySelectorAll('.rw-axis-label').length,
  };
}
"""

# One turn's row as drawn: its words, its segments, and where its bar ends on the axis.
ROW = """
(n) => {
  const row = [...document.querySelectorAll('.rw-turn')]
    .find((r) => r.querySelector('.rw-turn-name').textContent === `turn ${n}`);
  if (!row) return null;
  const bar = row.querySelector('.rw-turn-bar').getBoundingClientRect();
  const segs = [...row.querySelectorAll('.rw-seg')];
  const end = segs.length ? Math.max(...segs.map((s) => s.getBoundingClientRect().right)) : bar.left;
  const labels = [...document.querySelectorAll('.rw-axis-label')].map((e) => Number(e.dataset.ms));
  const track = document.querySelector('.rw-axis-track').getBoundingClientRect();
  return {
    total: row.querySelector('.rw-turn-total').textContent,
    parts: (row.querySelector('.rw-turn-parts') || {}).textContent || '',
    segments: segs.map((s) => [s.dataset.key, s.title]),
    bar_ms: ((end - bar.left) / bar.width) * labels[labels.length - 1],
    same_track: Math.abs(track.left - bar.left) < 1 && Math.abs(track.width - bar.width) < 1,
    axis: labels,
    legend: [...document.querySelectorAll('.rw-legend-item')].map((e) => e.textContent),
    legend_titles: [...document.querySelectorAll('.rw-legend-item')].map((e) => e.title),
    legend_lines: new Set([...document.querySelectorAll('.rw-legend-item')]
      .map((e) => Math.round(e.getBoundingClientRect().top))).size,
  };
}
"""


def test_the_metrics_tab_shows_each_turn_from_you_stopped_to_first_sound(
    small_page: Any, lab: Lab
) -> None:
    page = small_page
    run_notebook(page, lab, NOTEBOOK)
    page.get_by_role("button", name="Start microphone").wait_for(timeout=240_000)
    kernel = lab.kernel_for(NOTEBOOK)
    try:
        kernel.wait("playground.session is not None and playground.session.connected")
        # The file browser open, as the URL `make demo` prints opens Lab.
        page.evaluate("() => window.jupyterapp.shell.activateById('filebrowser')")
        page.locator("#filebrowser").wait_for(state="visible")
        page.get_by_role("button", name="Start microphone").first.click()
        # A spoken turn whose reply played: its first sample reported by the page.
        n = kernel.wait(
            "next((i + 1 for i, t in enumerate(playground.latency.per_turn()) "
            "if t['toolkit_out'] is not None), None)",
            timeout=400,
        )
        kernel.eval("playground.parts['microphone'].stop()")
        # ... and shown with its playback part, as a person reads it after the reply began
        page.wait_for_function(
            """(n) => {
              const label = document.querySelectorAll('.rw-metrics .rw-turn-label')[n - 1];
              return !!label && /(playback|playout) \\d/.test(label.textContent);
            }""",
            arg=n,
        )

        # -- every label, legend name and axis label fits the ~530 px tab, nothing is cut
        layout = page.evaluate(LAYOUT)
        assert not layout["bad"], layout
        assert 400 < layout["width"] < 700, layout  # the tab beside the settings column
        assert layout["legend"] == 6, layout
        assert layout["axis"] >= 3, layout

        # -- measured end to end: the person's stop to the first sample played
        kernel.wait(
            f"playground.latency.per_turn()[{n - 1}]['stop_to_sound']['total_ms'] is not None",
            timeout=120,
        )

        # -- the turn's row: "you stopped -> first sound", as the kernel computes it. The
        # offsets of the page's clocks tighten as pongs come back, and a pong does not redraw
        # the tab by itself: redraw it, then the page shows exactly the kernel's total
        # (rounded as Math.round does, half up), or redraw again if a pong came in between.
        deadline = time.monotonic() + 60
        while True:
            kernel.eval("playground.parts['metrics'].refresh()")
            turns = kernel.eval("playground.latency.per_turn()")
            stop = turns[n - 1]["stop_to_sound"]
            want = f"you stopped → first sound {math.floor(stop['total_ms'] + 0.5)} ms"
            try:
                page.wait_for_function(
                    f"([n, want]) => {{ const r = ({ROW})(n); return !!r && r.total === want; }}",
                    arg=[n, want],
                    timeout=5_000,
                )
                break
            except PlaywrightTimeout:
                if time.monotonic() > deadline:
                    raise AssertionError((page.evaluate(ROW, n), want)) from None
        row = page.evaluate(ROW, n)
        summary = kernel.eval("playground.latency.summary()")
        (ARTIFACTS / "metrics_view.json").write_text(
            json.dumps({"turn": n, "row": row, "turns": turns, "summary": summary}, indent=2)
        )
        assert row["total"] == want, (row, want)
        assert stop["total_ms"] > 0
        # The VAD silence wait is the session's silence_duration_ms.
        silence = kernel.eval("playground.session.effective.turn_detection.silence_duration_ms")
        assert stop["segments"]["vad_wait"] == silence
        assert ["vad_wait", f"VAD silence wait: {silence} ms"] in row["segments"], row
        assert f"VAD {silence} + " in row["parts"], row
        # The server's part is what the session's events say: speech_stopped -> first audio.
        server_ms = kernel.eval(
            f"(lambda turn, ev: 1000 * ("
            "next(e.t for e in ev if e.type == 'response.output_audio.delta' "
            "and e.data.get('response_id') == turn.response_id) - "
            "next(e.t for e in ev if e.type == 'input_audio_buffer.speech_stopped' "
            "and e.data.get('item_id') == turn.item_id)))"
            f"(playground.session.metrics.turns[{n - 1}], playground.session.events)"
        )
        assert stop["segments"]["server"] == pytest.approx(server_ms, abs=2.0)
        # The page rounds as JavaScript's Math.round does (half up: 1844.5 -> 1845), where
        # Python's round() goes to the even neighbour (1844).
        shown_server = math.floor(stop["segments"]["server"] + 0.5)
        assert f"server {shown_server} + " in row["parts"], row
        # A legend names each coloured segment, on one line, by the short names the row's words
        # use ("VAD 500 + mic 12 + ..."), with its full name and what it covers in the tooltip;
        # the axis starts at 0 and the bar ends at N.
        assert row["legend"] == ["VAD", "mic", "network", "server", "to page", "playout"], row
        full = [
            "VAD silence wait",
            "mic → sent",
            "network + VAD decision",
            "server → first audio",
            "kernel → page",
            "playout buffer",
        ]
        assert [t.split(": ")[0] for t in row["legend_titles"]] == full, row
        assert all(len(t) > len(f) + 20 for t, f in zip(row["legend_titles"], full, strict=True))
        assert row["legend_lines"] == 1, row
        assert [key for key, _ in row["segments"]] == [
            "vad_wait",
            "mic",
            "uplink",
            "server",
            "to_browser",
            "playout",
        ]
        assert row["axis"][0] == 0
        assert row["axis"] == sorted(row["axis"])
        assert len(row["axis"]) >= 3
        assert row["same_track"], row
        assert row["bar_ms"] == pytest.approx(stop["total_ms"], rel=0.03, abs=5), row

        # -- the screenshot: the tab in view, the measured turn under the legend and axis
        visible = page.evaluate(
            """(n) => {
              document.querySelector('.rw-tabs').scrollIntoView({ block: 'end' });
              const row = [...document.querySelectorAll('.rw-turn')]
                .find((r) => r.querySelector('.rw-turn-name').textContent === `turn ${n}`);
              row.querySelector('.rw-turn-label').scrollIntoView({ block: 'nearest' });
              // then the row right under the legend and axis, as a person would scroll it
              const scroller = document.querySelector('.rw-metrics').parentElement;
              const under = document.querySelector('.rw-latency-key').getBoundingClientRect();
              scroller.scrollTop += row.getBoundingClientRect().top - under.bottom - 2;
              const tab = document.querySelector('.rw-tabs').getBoundingClientRect();
              const key = document.querySelector('.rw-latency-key').getBoundingClientRect();
              const bar = row.querySelector('.rw-turn-bar').getBoundingClientRect();
              const r = row.querySelector('.rw-turn-label').getBoundingClientRect();
              return bar.top >= key.bottom && r.bottom <= tab.bottom && r.bottom <= innerHeight;
            }""",
            n,
        )
        page.screenshot(path=str(ARTIFACTS / "metrics_view_1366x768.png"))
        assert visible  # the turn's words whole in the window, under the legend and axis
        assert page.evaluate(LAYOUT)["bad"] == []
    finally:
        # The lab's kernel is shared with the other browser tests: leave it idle.
        kernel.eval("(playground.parts['microphone'].stop(), playground.close_session())")
        kernel.close()
    assert not page.widget_errors(), page.widget_errors()
