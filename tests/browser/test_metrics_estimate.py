"""The metrics widget in JupyterLab at 1366x768 labels the local server's usage an estimate.

The wire carries only what OpenAI's does (no ``usage.local_estimate``), so the label a person
reads is the one place that says the token counts and cost are the local server's estimates.
A session against a LocalServer of the kernel's process answers one text turn; the page must
show the figures and, under them, the label. The screenshot is saved under
``tests/browser/artifacts/``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, Lab, run_notebook

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

NOTEBOOK = "metrics_estimate_check.ipynb"
SETUP = """from realtime_widgets import SessionConfig
from realtime_widgets.client import Endpoint, RealtimeSession
from realtime_widgets.server.app import LocalServer
from realtime_widgets.widgets.metrics import MetricsView

server = LocalServer(pace=0, speech=False).start()
config = SessionConfig(output_modalities=["text"])
session = RealtimeSession(config, endpoint=Endpoint.local(server.url, config.model)).connect()
mark = session.mark()
session.send_text("How many tokens was that?")
session.wait_for("response.done", since=mark, timeout=60)
metrics = MetricsView(session)
metrics"""


def test_the_metrics_label_the_local_usage_an_estimate(small_page: Any, lab: Lab) -> None:
    lab.write_notebook(NOTEBOOK, [SETUP])
    page = small_page
    run_notebook(page, lab, NOTEBOOK)
    box = page.locator(".rw-metrics").first
    box.wait_for(timeout=240_000)
    note = box.locator(".rw-usage-note")
    note.wait_for(timeout=120_000)
    text = note.text_content() or ""
    assert text.startswith("Usage and cost are the local server's estimates"), text
    assert "not OpenAI's counts" in text
    head = box.locator("div").first.text_content() or ""
    assert "tokens in " in head
    assert "tokens in 0 out 0" not in head  # the turn's usage is shown, estimated
    # The typed turn's row says what it was, whole (no "you stopped": no one spoke).
    turn = box.locator(".rw-turn-label").first
    turn.wait_for()
    assert (turn.text_content() or "").startswith("typed turn: reply began "), turn.text_content()
    assert turn.evaluate("(e) => e.scrollWidth <= e.clientWidth + 1")
    box.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "metrics_local_estimate_1366x768.png"))
    kernel = lab.kernel_for(NOTEBOOK)
    try:
        synced = kernel.eval("metrics.data['estimate_note']")
        kernel.eval("session.close() or server.stop() or True")
    finally:
        kernel.close()
    assert synced == text
    assert not page.widget_errors(), page.widget_errors()
