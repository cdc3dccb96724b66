"""The VAD lab notebook in JupyterLab on Debian's Chromium at 1366x768, after Run All.

Issue 23 item 9, as a person reads ``04_vad_lab.ipynb`` top to bottom:

- every VAD lab fits the notebook's width, with Lab's file browser open and closed: nothing
  in it reaches past its output area (no sideways scrolling);
- the first lab still shows the default settings and what they did (the cut-off the text
  talks about), not the settings a later cell found best;
- the A/B section shows what it promises: both sides' transcripts and event logs, under the
  config diff.

Screenshots for review: ``tests/browser/artifacts/vad_lab_1366x768.png`` (the first lab) and
``vad_lab_ab_1366x768.png`` (the A/B test).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, Lab, run_notebook

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

NOTEBOOK = "04_vad_lab.ipynb"

# For each output area showing a VAD lab (its title "VAD lab: ..."): how far its content
# reaches past the area's right edge (px), the area's own sideways scroll, and the lab's width.
OVERFLOW = """() => [...document.querySelectorAll('.jp-OutputArea-output')]
  .filter((area) => [...area.querySelectorAll('b')].some((b) => b.textContent === 'VAD lab'))
  .map((area) => {
    const box = area.getBoundingClientRect();
    let right = box.right;
    const scrollers = [];  // elements inside with a sideways scrollbar of their own
    for (const n of area.querySelectorAll('*')) {
      const r = n.getBoundingClientRect();
      const style = getComputedStyle(n);
      if (r.width > 0 && style.visibility !== 'hidden') right = Math.max(right, r.right);
      if (['auto', 'scroll'].includes(style.overflowX) && n.scrollWidth > n.clientWidth + 1) {
        scrollers.push([String(n.className).slice(0, 60), n.scrollWidth - n.clientWidth]);
      }
    }
    return { past: Math.round(right - box.right), scroll: area.scrollWidth - area.clientWidth,
             scrollers, width: Math.round(box.width) };
  })"""


# Run All has finished: every code cell has run and the kernel is idle.
ALL_RUN = """() => { const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel && panel.sessionContext.session && panel.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle' && panel.content.widgets
    .filter((c) => c.model.type === 'code')
    .every((c) => c.model.executionCount !== null); }"""


def fit(page: Any) -> list[dict[str, Any]]:
    """Measure every lab in view (each scrolled in first: offscreen cells are not laid out)."""
    areas = page.locator(".jp-OutputArea-output", has=page.locator("b", has_text="VAD lab"))
    for i in range(areas.count()):
        areas.nth(i).scroll_into_view_if_needed()
    result: list[dict[str, Any]] = page.evaluate(OVERFLOW)
    return result


def left_area_open(page: Any) -> bool:
    return not page.evaluate("() => window.jupyterapp.shell.leftCollapsed")


def toggle_left_area(page: Any) -> None:
    was = left_area_open(page)
    page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')")
    page.wait_for_function(
        "(was) => window.jupyterapp.shell.leftCollapsed === was", arg=was, timeout=30_000
    )


def test_vad_lab_notebook_reads_true_and_fits_1366x768(small_page: Any, lab: Lab) -> None:
    page = small_page
    run_notebook(page, lab, NOTEBOOK)
    page.wait_for_function(ALL_RUN, timeout=900_000, polling=1000)
    # -- every lab fits, with the file browser open and closed
    measured = {}
    for _ in range(2):
        state = "file browser open" if left_area_open(page) else "file browser closed"
        measured[state] = fit(page)
        toggle_left_area(page)
    print(f"VAD labs, px past the output area / sideways scroll / width: {measured}")
    for state, labs in measured.items():
        assert labs, state
        for one in labs:
            assert one["past"] <= 1, (state, labs)
            assert one["scroll"] <= 1, (state, labs)
            assert one["scrollers"] == [], (state, labs)
    # -- a lab per cell: the first, the sweep's and the tuned one (at least)
    for state, labs in measured.items():
        assert len(labs) >= 3, (state, labs)
    kernel = lab.kernel_for(NOTEBOOK)
    try:
        assert kernel.eval("len(ab.transcripts())") == 2
        cutoffs = kernel.eval("lab.result.measures.cutoffs")
        threshold = kernel.eval("lab.config.turn_detection.threshold")
    finally:
        kernel.close()
    assert (cutoffs, threshold) == (1, 0.5)  # what the text says the default does
    areas = page.locator(".jp-OutputArea-output", has=page.locator("b", has_text="VAD lab"))
    # -- the first lab shows the default settings' result: the cut-off the text talks about
    if not left_area_open(page):
        toggle_left_area(page)  # as the demo URL opens Lab
    first = areas.first
    first.scroll_into_view_if_needed()
    shown = first.evaluate(
        """(area) => { const cell = [...area.querySelectorAll('td')]
             .find((td) => td.textContent.trim() === 'cut-offs');
             return cell ? cell.nextElementSibling.textContent.trim() : null; }"""
    )
    assert shown == str(cutoffs), shown
    page.screenshot(path=str(ARTIFACTS / "vad_lab_1366x768.png"))
    # -- the A/B test shows both sides' transcripts and event logs under the config diff
    # The A/B cell's output: the one whose table has a "parameter" column (exactly: other
    # outputs have headers that contain the word).
    find_ab = """() => [...document.querySelectorAll('.jp-OutputArea-output')]
        .find((a) => [...a.querySelectorAll('th')].some((t) => t.textContent === 'parameter'))"""
    page.wait_for_function(f"() => !!({find_ab})()", timeout=120_000)
    page.evaluate(f"() => ({find_ab})().scrollIntoView({{ block: 'start' }})")
    page.wait_for_function(
        f"""() => {{ const area = ({find_ab})();
             return area.querySelectorAll('.rw-transcript').length === 2
               && [...area.querySelectorAll('.rw-transcript .rw-item[data-role="user"] .rw-text')]
                  .some((n) => n.textContent.trim() !== ''); }}""",
        timeout=120_000,
    )
    text = page.evaluate(f"() => ({find_ab})().textContent")
    assert "silence_duration_ms" in text
    page.evaluate(
        f"() => ({find_ab})().querySelector('.rw-transcript').scrollIntoView({{ block: 'nearest' }})"
    )
    page.screenshot(path=str(ARTIFACTS / "vad_lab_ab_1366x768.png"))
    assert not page.widget_errors(), page.widget_errors()
