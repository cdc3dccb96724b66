"""The VAD lab notebook (``04_vad_lab.ipynb``) in JupyterLab on Debian's Chromium at 1366x768,
after Run All, as a person uses its SuiteLab:

- the lab fits the notebook's width, with Lab's file browser open and closed (nothing reaches
  past its output area, nothing scrolls sideways);
- a click on a Pareto point selects that configuration in the kernel, and the strips show
  every clip of the suite with the true spans under the decided ones: as many true spans as
  the suite's clips have, as many decided turns as the kernel's runs have ``speech_started``;
- a shift-click picks a second point, and the A/B table's values are the kernel's table's;
- a play button brings that clip's stereo run, A's or B's, to the page (its frame count is
  the run's).

Screenshot for review: ``tests/browser/artifacts/suite_lab_1366x768.png``.
(This replaces ``test_nbs.py``, which checked the notebook's earlier story.)
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, Kernel, Lab, run_notebook

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

NOTEBOOK = "04_vad_lab.ipynb"

# Run All has finished: every code cell has run and the kernel is idle.
ALL_RUN = """() => { const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel && panel.sessionContext.session && panel.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle' && panel.content.widgets
    .filter((c) => c.model.type === 'code')
    .every((c) => c.model.executionCount !== null); }"""

# For the output area of the suite lab: how far its content reaches past the area's right
# edge (px), the area's own sideways scroll, elements inside with a sideways scrollbar.
OVERFLOW = """() => {
  const area = document.querySelector('.rw-suite-lab').closest('.jp-OutputArea-output');
  const box = area.getBoundingClientRect();
  let right = box.right;
  const scrollers = [];
  for (const n of area.querySelectorAll('*')) {
    const r = n.getBoundingClientRect();
    if (r.width > 0 && getComputedStyle(n).visibility !== 'hidden') right = Math.max(right, r.right);
    const style = getComputedStyle(n);
    if (['auto', 'scroll'].includes(style.overflowX) && n.scrollWidth > n.clientWidth + 1) {
      scrollers.push(String(n.className).slice(0, 60));
    }
  }
  return { past: Math.round(right - box.right), scroll: area.scrollWidth - area.clientWidth,
           scrollers, width: Math.round(box.width) };
}"""

# Per strip: its clip, the true spans and side A's decided turns, and whether every true span
# lies below every decided mark (the true lane under the decided ones).
STRIPS = """() => [...document.querySelectorAll('.rw-suite-lab .rw-strip')].map((strip) => {
  const top = (n) => n.getBoundingClientRect().top;
  const bottom = (n) => n.getBoundingClientRect().bottom;
  const truth = [...strip.querySelectorAll('.rw-true-span')];
  const decided = [...strip.querySelectorAll('.rw-decided')];
  return { clip: strip.dataset.clip, truth: truth.length,
           labels: truth.map((n) => n.dataset.label),
           turnsA: strip.querySelectorAll('.rw-decided[data-kind="turn"][data-side="A"]').length,
           turnsB: strip.querySelectorAll('.rw-decided[data-kind="turn"][data-side="B"]').length,
           under: truth.every((t) => decided.every((d) => top(t) >= bottom(d) - 0.5)) };
})"""

AB_TABLE = """() => [...document.querySelectorAll('.rw-suite-lab .rw-ab-table tr[data-metric]')]
  .map((r) => [r.dataset.metric, r.dataset.a, r.dataset.b, r.dataset.diff])"""


def left_area_open(page: Any) -> bool:
    return not page.evaluate("() => window.jupyterapp.shell.leftCollapsed")


def toggle_left_area(page: Any) -> None:
    was = left_area_open(page)
    page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')")
    page.wait_for_function(
        "(was) => window.jupyterapp.shell.leftCollapsed === was", arg=was, timeout=30_000
    )


def _number(text: str) -> float | None:
    return None if text in ("", "null") else float(text)


def _expected_strips(kernel: Kernel, row: int) -> dict[str, tuple[int, list[str], int]]:
    """Per clip, from the kernel: the true spans (count, labels) and the turns of ``row``'s run
    (its ``speech_started`` events)."""
    expected: dict[str, tuple[int, list[str], int]] = kernel.eval(
        "{c.id: (len(c.spans), [s.label for s in c.spans], sum("
        "e['type'] == 'input_audio_buffer.speech_started' "
        f"for _, e in lab.run({row}, c.id).events)) for c in suite}}",
        timeout=240,
    )
    return expected


def test_suite_lab_click_compare_and_play_at_1366x768(small_page: Any, lab: Lab) -> None:
    page = small_page
    run_notebook(page, lab, NOTEBOOK)
    page.wait_for_function(ALL_RUN, timeout=900_000, polling=1000)
    widget = page.locator(".rw-suite-lab")
    widget.wait_for(timeout=120_000)
    widget.scroll_into_view_if_needed()
    kernel = lab.kernel_for(NOTEBOOK)
    try:
        # -- the lab fits, with the file browser open and closed
        measured = {}
        for _ in range(2):
            state = "file browser open" if left_area_open(page) else "file browser closed"
            widget.scroll_into_view_if_needed()
            measured[state] = page.evaluate(OVERFLOW)
            toggle_left_area(page)
        print(f"suite lab: px past its output area / sideways scroll / width: {measured}")
        for state, one in measured.items():
            assert one["past"] <= 1, (state, one)
            assert one["scroll"] <= 1, (state, one)
            assert one["scrollers"] == [], (state, one)
        if not left_area_open(page):
            toggle_left_area(page)  # as a person opens Lab
        # -- click a point of the front: it becomes A in the kernel, the strips follow
        front = kernel.eval("[p['row'] for p in lab.points if p['front']]")
        rows = kernel.eval("len(result.table)")
        a_row, b_row = front[len(front) // 2], front[1]
        assert a_row != kernel.eval("lab.selected")
        plot = page.locator(".rw-suite-lab svg.rw-pareto")
        plot.scroll_into_view_if_needed()
        plot.locator(f'circle.rw-point[data-row="{a_row}"]').click()
        kernel.wait(f"lab.selected == {a_row}", timeout=60)
        kernel.wait(f"lab.strips.get('A', {{}}).get('row') == {a_row} and lab.status == ''")
        expected = _expected_strips(kernel, a_row)
        page.wait_for_function(
            """([n, row]) => document.querySelectorAll('.rw-suite-lab .rw-strip').length === n
                 && document.querySelector('.rw-suite-lab .rw-side-A').textContent
                      .includes(`row ${row}:`)""",
            arg=[len(expected), a_row],
            timeout=120_000,
        )
        strips = page.evaluate(STRIPS)
        assert [s["clip"] for s in strips] == list(expected)
        for strip in strips:
            n_true, labels, n_turns = expected[strip["clip"]]
            assert strip["truth"] == n_true, strip
            assert strip["labels"] == labels, strip
            assert strip["turnsA"] == n_turns, strip
            assert strip["under"], strip  # the true spans lie under the decided lanes
        assert sum(s["turnsA"] for s in strips) > 0
        assert any("hold" in s["labels"] for s in strips)
        # -- shift-click a second point: B; the A/B table is the kernel's table
        plot.locator(f'circle.rw-point[data-row="{b_row}"]').click(modifiers=["Shift"])
        kernel.wait(f"lab.compare == {b_row}", timeout=60)
        kernel.wait(f"lab.strips.get('B', {{}}).get('row') == {b_row} and lab.status == ''")
        page.wait_for_selector(".rw-suite-lab .rw-ab-table", timeout=120_000)
        page.wait_for_function(
            "(n) => document.querySelectorAll('.rw-suite-lab .rw-strip').length === n && "
            "document.querySelectorAll('.rw-suite-lab .rw-decided[data-side=\"B\"]').length > 0",
            arg=len(expected),
            timeout=120_000,
        )
        shown = page.evaluate(AB_TABLE)
        table = kernel.eval(
            "{m: [None if result.table[m].isna().iloc[r] else float(result.table[m].iloc[r]) "
            f"for r in ({a_row}, {b_row})] for m in lab.metrics}}"
        )
        assert [m for m, *_ in shown] == list(table)
        for metric, a, b, diff in shown:
            va, vb = table[metric]
            assert _number(a) == pytest.approx(va), metric
            assert _number(b) == pytest.approx(vb), metric
            if va is None or vb is None:
                assert _number(diff) is None, metric
            else:
                assert _number(diff) == pytest.approx(vb - va), metric
        false_cutoffs = {m: (a, b) for m, a, b, _ in shown}["false_cutoff_rate"]
        assert false_cutoffs[0] != false_cutoffs[1]  # two different points of the front
        b_turns = _expected_strips(kernel, b_row)
        for strip in page.evaluate(STRIPS):
            assert strip["turnsB"] == b_turns[strip["clip"]][2], strip
            assert strip["under"], strip
        # -- play: that clip's stereo run, for A and then for B, comes to the page as one
        # binary buffer (its frame count is the run's)
        first = page.locator(".rw-suite-lab .rw-strip").first
        clip_id = first.get_attribute("data-clip")
        for side, row in (("A", a_row), ("B", b_row)):
            first.locator(f'button.rw-play[data-side="{side}"]').click()
            frames = kernel.eval(f"len(lab.run({row}, {clip_id!r}).user)")
            page.wait_for_function(
                """([clip, row, n]) => { const box = document.querySelector('.rw-suite-lab');
                     return box.dataset.audioClip === clip && box.dataset.audioRow === String(row)
                       && Number(box.dataset.audioFrames) === n; }""",
                arg=[clip_id, row, frames],
                timeout=120_000,
            )
        assert kernel.eval("lab.last_error") is None
        assert rows == len(kernel.eval("lab.points"))
    finally:
        kernel.close()
    # -- the screenshot a person checks: the plot, the A/B table and the first strips
    page.locator(".rw-suite-lab").evaluate("(n) => n.scrollIntoView({ block: 'start' })")
    page.screenshot(path=str(ARTIFACTS / "suite_lab_1366x768.png"))
    assert not page.widget_errors(), page.widget_errors()
