"""The deprecated saved-prompt control's note, in the main Playground at 1366x768.

A notebook shows ``rw.Playground()`` (the local server, connected). As a user would, the test
opens the settings' *Prompt* section: the note under its title (``rw-notice``, widgets/
controls.py ``advise``) is shown, says what is deprecated and when it shuts down, fits in the
settings column (wrapped, nothing cut or scrolled sideways, no neighbour over it), and is set in
a readable size and contrast (WCAG AA: 4.5:1). The screenshot ``tests/browser/artifacts/playground_prompt_notice_1366x768.png``
(the settings column) is saved for a person to read.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, Lab, run_notebook

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

NOTEBOOK = "prompt_notice.ipynb"
CELLS = ["import realtime_widgets as rw\n\nplay = rw.Playground()\nplay"]
SCREENSHOT = ARTIFACTS / "playground_prompt_notice_1366x768.png"
# The note's box, the settings column's, the note's style and the boxes of the rows beside it.
MEASURE = """
(note) => {
  const background = (e) => {  // the first opaque background behind the note
    for (; e; e = e.parentElement) {
      const c = getComputedStyle(e).backgroundColor;
      if (c && c !== 'transparent' && !c.startsWith('rgba(0, 0, 0, 0')) return c;
    }
    return 'rgb(255, 255, 255)';
  };
  const column = note.closest('.rw-settings').getBoundingClientRect();
  const box = note.getBoundingClientRect();
  const style = getComputedStyle(note);
  const holder = note.closest('.widget-html');
  const neighbours = [holder.previousElementSibling, holder.nextElementSibling]
    .filter((e) => e && e.offsetHeight > 0)
    .map((e) => { const r = e.getBoundingClientRect(); return [r.top, r.bottom]; });
  return {
    note: [box.left, box.right, box.top, box.bottom], column: [column.left, column.right],
    scroll: [note.scrollWidth, note.clientWidth], size: parseFloat(style.fontSize),
    color: style.color, background: background(note), neighbours, text: note.innerText,
  };
}
"""


def luminance(css: str) -> float:
    """WCAG's relative luminance of a CSS ``rgb(r, g, b)``."""
    channels = [int(x) / 255 for x in re.findall(r"\d+", css)[:3]]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg: str, bg: str) -> float:
    """WCAG's contrast ratio of two colours (1 to 21)."""
    high, low = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_is_wcags() -> None:
    assert contrast("rgb(0, 0, 0)", "rgb(255, 255, 255)") == pytest.approx(21)
    assert contrast("rgb(185, 119, 14)", "rgb(255, 255, 255)") < 4.5  # the old amber failed


def test_the_prompt_deprecation_note_is_shown_and_readable_at_1366x768(
    small_page: Any, lab: Lab
) -> None:
    page = small_page
    run_notebook(page, lab, lab.write_notebook(NOTEBOOK, CELLS))
    settings = page.locator(".rw-playground .rw-settings").first
    settings.wait_for(timeout=240_000)
    kernel = lab.kernel_for(NOTEBOOK)
    try:
        kernel.wait("'play' in globals() and play.session is not None and play.session.connected")
        settings.get_by_text("Prompt", exact=True).first.click()  # the section, as a user opens it
        note = settings.locator(".rw-notice[data-path='prompt']")
        note.wait_for(state="visible", timeout=60_000)
        note.scroll_into_view_if_needed()
        measured = note.evaluate(MEASURE)
        print(measured)
        text = measured["text"]
        assert "Deprecated" in text
        assert "2026-11-30" in text
        assert "migrate-from-prompt-object" in text  # where to go instead, whole
        left, right, top, bottom = measured["note"]
        column_left, column_right = measured["column"]
        assert column_left <= left
        assert right <= column_right + 1  # inside the settings column: wrapped, not cut
        assert measured["scroll"][0] <= measured["scroll"][1] + 1  # nothing scrolls sideways
        assert bottom - top > 3 * measured["size"]  # several lines, wrapped in the column
        assert measured["size"] >= 12
        assert contrast(measured["color"], measured["background"]) >= 4.5  # WCAG AA, 12 px
        for above, below in measured["neighbours"]:
            assert below <= top + 1 or above >= bottom - 1, (measured["neighbours"], top, bottom)
        settings.screenshot(path=str(SCREENSHOT))
        assert page.widget_errors() == []
    finally:
        kernel.eval("play.close()")
        kernel.close()
