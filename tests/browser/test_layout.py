"""The playground's layout as a person meets it (issue 23, item 4 and two smaller items).

One JupyterLab page: Run All on ``00_playground.ipynb`` leaves the playground in view; then at
1366x768 and 1920x1080, with Lab's file browser open and closed, nothing in the playground
scrolls sideways, the preset bar takes at most two lines, the share string box is whole, the
speaker status is one line (its detail in the tooltip), the conversation column and its parts
are inside the window and the transcript has a useful height. Last, the full-screen toggle: the
playground fills the window, the microphone and speaker work there, and Escape brings it back.
Screenshots: ``tests/browser/artifacts/layout_*.png``.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from tests.browser.conftest import Lab, run_notebook
from tests.browser.test_console import (
    ARTIFACTS,
    console,  # noqa: F401  (the 1366x768 page fixture)
    dismiss_notices,
    rect,
    show_console,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

SIZES = ((1366, 768), (1920, 1080))

# Every element inside the playground (and the output area holding it) whose content is wider
# than its box: a horizontal scrollbar, or content spilling out sideways. Form fields scroll
# their own text (a long share string in its box is fine) and are left out.
OVERFLOWING = """
() => {
  const root = document.querySelector('.rw-playground');
  const out = root.closest('.jp-OutputArea-output') || root;
  return [out, root, ...root.querySelectorAll('*')]
    .filter((e) => !['INPUT', 'TEXTAREA', 'SELECT', 'OPTION', 'CANVAS', 'svg'].includes(e.tagName)
                   && e.closest('svg') === null && e.closest('.noUi-target') === null
                   && e.clientWidth > 0
                   && e.scrollWidth > e.clientWidth + 1
                   && getComputedStyle(e).overflowX !== 'hidden'
                   && getComputedStyle(e).overflowX !== 'clip')
    .map((e) => ({tag: e.tagName, cls: String(e.className).slice(0, 60),
                  scroll: e.scrollWidth, client: e.clientWidth}));
}
"""

# The preset bar's control lines: distinct tops of the controls in its two rows.
PRESET_LINES = """
() => {
  const rows = [...document.querySelectorAll('.rw-presets > div')].slice(0, 2);
  const tops = [];
  for (const row of rows)
    for (const c of row.children) {
      const r = c.getBoundingClientRect();
      if (r.width === 0) continue;
      if (!tops.some((t) => Math.abs(t - r.top) < 6)) tops.push(r.top);
    }
  return tops.length;
}
"""

SPEAKER = """
() => { const e = document.querySelector('.rw-speaker');
  const s = getComputedStyle(e);
  const line = parseFloat(s.lineHeight) || parseFloat(s.fontSize) * 1.3;
  return {text: e.textContent, title: e.title, height: e.getBoundingClientRect().height, line,
          scroll: e.scrollWidth, client: e.clientWidth}; }
"""


def set_file_browser(page: Any, shown: bool) -> None:
    """Open or close Lab's left sidebar (the file browser) and wait for the page to settle."""
    collapsed = page.evaluate("() => window.jupyterapp.shell.leftCollapsed")
    if collapsed == shown:
        page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')")
    page.wait_for_function(
        "(shown) => window.jupyterapp.shell.leftCollapsed !== shown", arg=shown, timeout=60_000
    )
    settle(page)


def settle(page: Any) -> None:
    """Wait until the playground's box stops changing (Lab lays out on animation frames)."""
    page.wait_for_function(
        """() => new Promise((ok) => {
             const box = () => JSON.stringify(
               document.querySelector('.rw-playground').getBoundingClientRect());
             const first = box();
             requestAnimationFrame(() => requestAnimationFrame(() => ok(box() === first)));
           })""",
        timeout=60_000,
    )


def measure(
    page: Any, width: int, height: int, browser_open: bool, full_screen: bool = False
) -> dict[str, Any]:
    """Every layout figure the issue names, and the problems found (empty when it fits)."""
    where = f"{width}x{height} file browser {'open' if browser_open else 'closed'}"
    where += " full screen" if full_screen else ""
    problems: list[str] = []
    if not full_screen:
        show_console(page)  # the playground's top at the top of the notebook, as a user scrolls
    settle(page)
    boxes = {
        name: rect(page, sel)
        for name, sel in {
            "console": ".rw-playground",
            "settings": ".rw-settings",
            "presets": ".rw-presets",
            "right column": ".rw-console-right",
            "microphone": ".rw-microphone",
            "speaker": ".rw-speaker",
            "waveform": ".rw-waveform",
            "transcript": ".rw-transcript",
            "message box": ".rw-conversation",
            "tabs": ".rw-tabs",
        }.items()
    }
    # every part inside the window; the conversation column's parts inside it, in order
    right = boxes["right column"]
    for name, box in boxes.items():
        inside = box["top"] >= -0.5 and box["bottom"] <= height + 0.5
        inside = inside and box["left"] >= -0.5 and box["right"] <= width + 0.5
        if not inside:
            problems.append(f"{where}: {name} is outside the window: {box}")
    for name in ("microphone", "speaker", "waveform", "transcript", "message box", "tabs"):
        box = boxes[name]
        if box["left"] < right["left"] - 0.5 or box["right"] > right["right"] + 0.5:
            problems.append(f"{where}: {name} is outside the conversation column: {box}")
    order = ("waveform", "transcript", "message box", "tabs")
    for above, below in itertools.pairwise(order):
        if boxes[above]["bottom"] > boxes[below]["top"] + 1:
            problems.append(f"{where}: {above} overlaps {below}")
    if boxes["tabs"]["height"] < 140:
        problems.append(f"{where}: the metrics / events tabs are {boxes['tabs']['height']} px")
    overflowing = page.evaluate(OVERFLOWING)
    if overflowing:
        problems.append(f"{where}: horizontal overflow {overflowing}")
    lines = page.evaluate(PRESET_LINES)
    if lines > 2:
        problems.append(f"{where}: the preset bar takes {lines} lines")
    share, presets, settings = rect(page, ".rw-share"), rect(page, ".rw-presets"), None
    settings = page.evaluate(
        """() => { const e = document.querySelector('.rw-settings');
             const r = e.getBoundingClientRect();
             return {left: r.left, right: r.left + e.clientWidth}; }"""
    )
    whole = share["left"] >= presets["left"] - 0.5 and share["right"] <= presets["right"] + 0.5
    whole = whole and share["left"] >= settings["left"] - 0.5
    whole = whole and share["right"] <= settings["right"] + 0.5 and share["width"] >= 120
    if not whole:
        problems.append(f"{where}: share box cut {share} in {presets} / {settings}")
    for button in (".rw-copy-share", ".rw-load-share", ".rw-apply"):
        box = rect(page, button)
        if box["right"] > settings["right"] + 0.5:
            problems.append(f"{where}: {button} cut {box} in {settings}")
    speaker = page.evaluate(SPEAKER)
    if speaker["height"] > speaker["line"] * 1.5 or speaker["scroll"] > speaker["client"] + 1:
        problems.append(f"{where}: speaker status not one whole line {speaker}")
    # the message bar is one line: the text box and every button, each whole and labelled
    bar = page.evaluate(
        """() => [...document.querySelectorAll('.rw-conversation > input, .rw-conversation > button')]
             .map((e) => ({text: e.textContent, top: Math.round(e.getBoundingClientRect().top),
                           cut: e.scrollWidth > e.clientWidth + 1,
                           width: e.getBoundingClientRect().width}))"""
    )
    one_line = max(b["top"] for b in bar) - min(b["top"] for b in bar) < 6
    if not one_line or any(b["cut"] or b["width"] < 30 for b in bar):
        problems.append(f"{where}: the message bar is not one whole line {bar}")
    transcript = boxes["transcript"]["height"]
    if transcript < (200 if height <= 768 else 300):
        problems.append(f"{where}: transcript only {transcript:.0f} px tall")
    figures = {
        "where": where,
        "playground": round(boxes["console"]["width"]),
        "settings": round(boxes["settings"]["width"]),
        "preset lines": lines,
        "share": round(share["width"]),
        "speaker": speaker,
        "transcript": round(transcript),
        "waveform": round(boxes["waveform"]["height"]),
        "console height": round(boxes["console"]["height"]),
        "tabs": round(boxes["tabs"]["height"]),
        "overflowing": len(overflowing),
    }
    print("layout:", json.dumps(figures))
    return {"problems": problems, "figures": figures}


def cells_all_run(page: Any) -> None:
    """Run All has finished: every code cell of the current notebook has an execution count."""
    page.wait_for_function(
        """() => { const nb = window.jupyterapp.shell.currentWidget.content;
             return nb.widgets.every((c) => c.model.type !== 'code' || c.model.executionCount)
               && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status
                  === 'idle'; }""",
        timeout=300_000,
        polling=500,
    )


def test_the_playground_fits_and_goes_full_screen(console: Any, lab: Lab) -> None:  # noqa: F811
    page = console
    run_notebook(page, lab, "00_playground.ipynb")
    page.get_by_role("button", name="Start microphone").wait_for(timeout=240_000)
    page.locator(".rw-transcript").first.wait_for()
    kernel = lab.kernel_for("00_playground.ipynb")
    problems: list[str] = []
    try:
        kernel.wait("playground.session is not None and playground.session.connected")
        # 1. after Run All the playground is in view (Lab moved to the last cell)
        cells_all_run(page)
        settle(page)
        top = page.evaluate(
            """() => { const p = document.querySelector('.rw-playground').getBoundingClientRect();
                 const s = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer')
                   .getBoundingClientRect();
                 return {top: p.top, scroller_top: s.top, scroller_bottom: s.bottom}; }"""
        )
        print("after run all:", top)
        seen = top["scroller_top"] - 2 <= top["top"] <= top["scroller_top"] + 150
        if not seen:
            problems.append(f"after Run All the playground's top is not in view: {top}")
        page.screenshot(path=str(ARTIFACTS / "layout_after_run_all_1366x768.png"))
        dismiss_notices(page)
        # 2. it fits: both sizes, file browser open and closed
        for width, height in SIZES:
            page.set_viewport_size({"width": width, "height": height})
            for browser_open in (True, False):
                set_file_browser(page, browser_open)
                found = measure(page, width, height, browser_open)
                problems += found["problems"]
                if width == 1366:
                    name = f"layout_1366x768_browser_{'open' if browser_open else 'closed'}"
                    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
        print("problems:", *problems, sep="\n  ")
        # 3. full screen for a small window: the playground fills it, and still works
        page.set_viewport_size({"width": 1366, "height": 768})
        set_file_browser(page, True)
        toggle = page.locator(".rw-playground button.rw-full-screen")
        assert toggle.count() == 1, "no full-screen button on the playground"
        toggle.click()
        page.wait_for_function(
            "() => document.fullscreenElement === document.querySelector('.rw-playground')"
        )
        settle(page)
        box = rect(page, ".rw-playground")
        assert (box["left"], box["top"], box["width"], box["height"]) == (0, 0, 1366, 768), box
        full = measure(page, 1366, 768, True, full_screen=True)
        problems += [f"full screen: {p}" for p in full["problems"]]
        assert full["figures"]["transcript"] > 250, full["figures"]
        page.screenshot(path=str(ARTIFACTS / "layout_1366x768_full_screen.png"))
        # the microphone streams and a typed turn's reply plays, in full screen
        page.get_by_role("button", name="Start microphone").click()
        kernel.wait("playground.parts['microphone'].chunks_received > 5", timeout=300)
        played = kernel.eval("sum(playground.parts['speaker'].played.values())")
        message = page.locator(".rw-conversation input.rw-message")
        message.fill("Hello from full screen")
        message.press("Enter")
        kernel.wait(
            f"sum(playground.parts['speaker'].played.values()) > {played} + 2400", timeout=300
        )
        assert toggle.inner_text() == "Exit full screen"
        # Escape returns to the notebook
        page.keyboard.press("Escape")
        page.wait_for_function("() => document.fullscreenElement === null")
        settle(page)
        back = rect(page, ".rw-playground")
        assert back["width"] < 1366 - 200, back  # in the notebook again, beside the sidebar
        assert toggle.inner_text() == "Full screen"
        page.get_by_role("button", name="Stop microphone").click()
        kernel.wait("not playground.parts['microphone'].streaming", timeout=120)
        assert not problems, "\n".join(problems)
        assert not page.widget_errors(), page.page_errors
    finally:
        kernel.close()
