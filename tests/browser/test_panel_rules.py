"""The ConfigPanel in a real browser shows why a control is locked, in the rules' own words.

The playground connects to the embedded server; the panel's model control (live session) and
temperature control (absent from GA) must show exactly what ``locked_fields`` says, visibly in
the page at 1366x768 (the screenshot is saved under tests/browser/artifacts/)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import REPO, Lab, run_notebook
from tests.browser.test_playground import open_section

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_locked_controls_show_the_rules_reason(page: Any, lab: Lab) -> None:
    page.set_viewport_size({"width": 1366, "height": 768})
    run_notebook(page, lab, "00_playground.ipynb")
    page.get_by_role("button", name="Start microphone").wait_for(timeout=240_000)
    kernel = lab.kernel_for("00_playground.ipynb")
    try:
        kernel.wait("playground.session is not None and playground.session.connected")
        kernel.wait("playground.session.effective is not None")
        rules = kernel.eval(
            "__import__('realtime_widgets.protocol', fromlist=['locked_fields']).locked_fields("
            "playground.session.effective, live=True)"
        )
        shown = kernel.eval(
            "{n: c.reason for n, c in playground.parts['panel'].controls.items() if c.reason}"
        )
        assert shown == {n: r for n, r in rules.items() if "." not in n}
        assert rules["model"] == "model cannot change during a session: connect a new session"
        open_section(page, "Turn detection")  # an Accordion: one section open at a time
        open_section(page, "Model & voice")
        note = page.get_by_text(rules["model"], exact=True).first
        note.wait_for(timeout=120_000)
        note.scroll_into_view_if_needed()
        assert note.is_visible()
        artifacts = REPO / "tests" / "browser" / "artifacts"
        artifacts.mkdir(exist_ok=True)
        page.screenshot(path=str(artifacts / "panel_rules_1366x768.png"))
        open_section(page, "Limits & tracing")
        page.get_by_text(rules["temperature"], exact=True).first.wait_for(timeout=120_000)
        assert not page.widget_errors(), page.page_errors
    finally:
        kernel.close()
