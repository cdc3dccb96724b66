"""The main Playground's session kinds in JupyterLab on Debian's Chromium at 1366x768.

A notebook shows ``rw.Playground(connect=False)`` (nothing connected). As a user would, the test
picks "GPT-Live" in the form's *session* choice: the GPT-Live console takes the Realtime one's
place (its own settings, e.g. *Delegation*, and its *Connect*), nothing connected; pressing
Connect starts a GPT-Live session on the local server and *Mute input* (a control only GPT-Live
has) shows. Then "translation": the translation console (its *output language*), the GPT-Live
one gone. Then "Realtime": the Realtime form is back (*connect to*, *model*), no other console.
Nothing is wider than the window, and no widget raised.

Screenshots, for a person to check: ``tests/browser/artifacts/playground_kind_live_1366x768.png``,
``..._translation_1366x768.png`` and ``..._realtime_1366x768.png``.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, Lab, run_notebook

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

NOTEBOOK = "playground_kinds.ipynb"
CELLS = ["import realtime_widgets as rw\n\nplay = rw.Playground(connect=False)\nplay"]
SCREENSHOT = str(ARTIFACTS / "playground_kind_{}_1366x768.png")
# Elements in the playground whose content is wider than their box (form fields scroll their
# own text and are left out), as tests/browser/test_live_playground.py checks.
OVERFLOWING = """
() => [...document.querySelectorAll('.rw-playground, .rw-playground *')]
  .filter((e) => !['INPUT', 'TEXTAREA', 'SELECT', 'OPTION', 'CANVAS', 'svg'].includes(e.tagName)
                 && e.closest('svg') === null && e.clientWidth > 0
                 && e.scrollWidth > e.clientWidth + 1
                 && getComputedStyle(e).overflowX !== 'hidden'
                 && getComputedStyle(e).overflowX !== 'clip')
  .map((e) => [String(e.className).slice(0, 60), e.innerText.slice(0, 40), e.scrollWidth,
               e.clientWidth])
"""


def choose(playground: Any, kind: str) -> None:
    """Pick ``kind`` in the form's *session* dropdown, as a user does."""
    dropdown = playground.locator(".widget-dropdown").filter(has_text="session").first
    dropdown.locator("select").select_option(kind)


def test_the_playground_offers_the_three_session_kinds_at_1366x768(
    small_page: Any, lab: Lab
) -> None:
    page = small_page
    run_notebook(page, lab, lab.write_notebook(NOTEBOOK, CELLS))
    playground = page.locator(".rw-playground").first
    playground.wait_for(timeout=240_000)
    kernel = lab.kernel_for(NOTEBOOK)
    try:
        kernel.wait("'play' in globals()")
        assert kernel.eval("play.connection.kind.value") == "Realtime"
        assert playground.get_by_text("connect to", exact=True).first.is_visible()

        # -- GPT-Live: its console in place, nothing connected until Connect
        choose(playground, "GPT-Live")
        live = playground.locator(".rw-live-playground").first
        live.wait_for(timeout=60_000)
        assert kernel.eval("type(play.console).__name__") == "LivePlayground"
        assert kernel.eval("play.console.session is None and play.session is None")
        settings = live.locator(".rw-live-settings").first
        assert settings.get_by_text("Delegation").first.is_visible()
        assert "press Connect to start a GPT-Live session" in live.inner_text()
        live.get_by_role("button", name="Connect").click()
        kernel.wait("play.console.session is not None and play.console.session.connected",
                    timeout=120)  # fmt: skip
        mute = live.get_by_role("button", name="Mute input")
        mute.wait_for(timeout=60_000)
        assert mute.is_visible()
        assert page.locator(".rw-translation-playground").count() == 0
        assert page.evaluate(OVERFLOWING) == []
        playground.scroll_into_view_if_needed()
        page.screenshot(path=SCREENSHOT.format("live"))

        # -- translation: its console, the GPT-Live one (and its session) gone
        choose(playground, "translation")
        translation = playground.locator(".rw-translation-playground").first
        translation.wait_for(timeout=60_000)
        page.locator(".rw-live-playground").wait_for(state="detached", timeout=60_000)
        assert kernel.eval("type(play.console).__name__") == "TranslationPlayground"
        assert kernel.eval("play.console.session is None")
        output = translation.locator(".rw-translation-settings").first
        assert output.get_by_text("output language", exact=True).first.is_visible()
        assert "press Connect to start a translation session" in translation.inner_text()
        assert page.evaluate(OVERFLOWING) == []
        page.screenshot(path=SCREENSHOT.format("translation"))

        # -- Realtime again: its form back, no other console, nothing connected
        choose(playground, "Realtime")
        page.locator(".rw-translation-playground").wait_for(state="detached", timeout=60_000)
        assert kernel.eval("play.console is None and play.session is None")
        assert playground.get_by_text("connect to", exact=True).first.is_visible()
        assert playground.get_by_role("button", name="Connect").first.is_visible()
        assert "press Connect to start a Realtime session" in playground.inner_text()
        page.screenshot(path=SCREENSHOT.format("realtime"))
        assert page.widget_errors() == []
    finally:
        kernel.eval("play.close()")
        kernel.close()
