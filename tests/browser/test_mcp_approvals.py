"""The MCP approval control in JupyterLab at 1366x768: a scripted peer asks to run a tool, the
page lists the request, a click on Deny sends the answer, and the peer receives exactly one
valid ``mcp_approval_response`` with the reason typed in the page."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, Lab, run_notebook

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

NOTEBOOK = "mcp_approvals_check.ipynb"
SETUP = """from realtime_widgets.client import Endpoint, RealtimeSession
from realtime_widgets.widgets.mcp_approvals import McpApprovals
from tests.client.conftest import ThreadPeer
from tests.client.test_ga_methods import McpPeer

peer = McpPeer()
server = ThreadPeer(peer.handler).__enter__()
session = RealtimeSession(endpoint=Endpoint.local(server.url, "m"), reconnect=False).connect()
mark = session.mark()
session.send_event({"type": "response.create"})
session.wait_for("response.done", since=mark)
approvals = McpApprovals(session)
approvals"""


def test_deny_from_the_page_sends_one_answer(small_page: Any, lab: Lab) -> None:
    lab.write_notebook(NOTEBOOK, [SETUP])
    page = small_page
    run_notebook(page, lab, NOTEBOOK)
    row = page.locator(".rw-mcp-request").first
    row.wait_for(timeout=240_000)
    assert row.locator("code").text_content() == 'docs.search({"q": "realtime"})'
    page.screenshot(path=str(ARTIFACTS / "mcp_approvals_1366x768.png"))
    row.locator("input").fill("not on this machine")
    row.get_by_role("button", name="Deny").click()
    page.locator(".rw-mcp-approvals", has_text="No MCP tool call is waiting").wait_for()
    kernel = lab.kernel_for(NOTEBOOK)
    try:
        answers = kernel.wait(
            "[e['item'] for e in peer.received if e['type'] == 'conversation.item.create']"
        )
        problems = kernel.eval("peer.sdk_problems")
        kernel.eval("session.close() or server.__exit__(None, None, None) or True")
    finally:
        kernel.close()
    assert len(answers) == 1
    answer = answers[0]
    assert (answer["approval_request_id"], answer["approve"], answer["reason"]) == (
        "mcpr_1",
        False,
        "not on this machine",
    )
    assert problems == []
    assert not page.widget_errors(), page.widget_errors()
