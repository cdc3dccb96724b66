"""A lost connection in the LivePlayground, in JupyterLab on Debian's Chromium at 1366x768.

A notebook made here starts its own local server and shows ``rw.LivePlayground(server=server)``.
Once the session is started, the kernel restarts the server: the session reconnects, and the
page says a new server session replaced the lost one, whose context is gone. Then the kernel
stops the server (its sockets close with it) and leaves the session one attempt to reconnect,
which the stopped server refuses. The page must say so at once, where a person looks: the
connection's status line, in red, says the connection is lost and that Connect starts a new
session, and the reconnect's notice is gone; the start-only settings are no longer locked (only
the two WebRTC/SIP-only ones are); End session is gone; no widget raised.

The screenshots ``tests/browser/artifacts/live_reconnected_1366x768.png`` and
``live_lost_connection_1366x768.png`` are kept for a person to check that the status line and
the notice read well and nothing is clipped.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, Lab, run_notebook

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

NOTEBOOK = "live_lost_connection.ipynb"
SCREENSHOT = ARTIFACTS / "live_lost_connection_1366x768.png"
SCREENSHOT_RECONNECTED = ARTIFACTS / "live_reconnected_1366x768.png"
RED = "rgb(192, 57, 43)"  # #c0392b
STATUS = (  # (empty until the playground is drawn)
    "() => (document.querySelector('.rw-live-playground .rw-connection-status') || {})"
    ".innerText || ''"
)


def test_a_lost_connection_is_said_at_once_in_the_page(small_page: Any, lab: Lab) -> None:
    page = small_page
    lab.write_notebook(
        NOTEBOOK,
        [
            "import realtime_widgets as rw\n"
            "server = rw.LocalServer(pace=0, speech=False).start()\n"
            "playground = rw.LivePlayground(server=server)\n"
            "playground"
        ],
    )
    run_notebook(page, lab, NOTEBOOK)
    kernel = lab.kernel_for(NOTEBOOK)
    try:
        kernel.wait("playground.session is not None and playground.session.started")
        page.wait_for_function(f"() => /session.start sent/.test(({STATUS})())", timeout=120_000)
        settings = page.locator(".rw-live-settings").first
        assert "fixed by session.start" in settings.inner_text()
        # The server restarts (the same port): a new server session replaces the lost one,
        # which the status line and the notice above the console say.
        old = kernel.eval("playground.session.session_id")
        kernel.eval("server.stop() or server.start() and None")
        kernel.wait("playground.session.reconnects == 1 and playground.session.started", 60, 0.5)
        page.wait_for_function(f"() => /reconnected/.test(({STATUS})())", timeout=30_000)
        new = kernel.eval("playground.session.session_id")
        notice = page.locator(".rw-live-notice").first
        notice.wait_for(state="visible", timeout=30_000)
        assert new in page.evaluate(STATUS)
        assert f"the context of {old} is gone" in notice.inner_text()
        page.locator(".rw-live-playground").first.scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOT_RECONNECTED))
        # The server goes away; one attempt to reconnect, refused.
        kernel.eval("setattr(playground.session, 'max_reconnects', 1) or server.stop()")
        kernel.wait("not playground.session.connected", timeout=60, every=0.5)
        page.wait_for_function(
            f"() => /Connect starts a new session/.test(({STATUS})())", timeout=60_000
        )
        status = page.locator(".rw-live-playground .rw-connection-status span").first
        said = status.inner_text()
        print(f"status: {said!r}")
        assert "connection lost" in said
        assert "Connect starts a new session" in said
        assert status.evaluate("(e) => getComputedStyle(e).color") == RED
        assert status.is_visible()
        assert not notice.is_visible()  # (the reconnect's news is over: nothing goes on)
        # The start-only settings unlocked; End session gone.
        page.wait_for_function(
            "() => !/fixed by session.start/.test("
            "document.querySelector('.rw-live-settings').innerText)",
            timeout=30_000,
        )
        assert settings.inner_text().count("WebRTC/SIP only (client.live.create())") == 2
        assert not page.get_by_role("button", name="End session").is_visible()
        assert page.get_by_role("button", name="Connect").first.is_visible()
        page.locator(".rw-live-playground").first.scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOT))
        assert not page.widget_errors(), page.widget_errors()
    finally:
        kernel.close()
