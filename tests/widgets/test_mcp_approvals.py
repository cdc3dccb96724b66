"""McpApprovals against the scripted MCP peer: the request is listed, a click (the browser's
message) sends a valid approval, the list empties when the server shows the answer."""

from __future__ import annotations

from realtime_widgets.client import Endpoint, RealtimeSession
from realtime_widgets.widgets.mcp_approvals import McpApprovals
from tests.client.conftest import ThreadPeer
from tests.client.test_ga_methods import McpPeer
from tests.waiting import eventually


def _run(approve: bool) -> tuple[McpPeer, McpApprovals, RealtimeSession]:
    peer = McpPeer()
    with ThreadPeer(peer.handler) as server:
        s = RealtimeSession(endpoint=Endpoint.local(server.url, "m"), reconnect=False)
        try:
            widget = _approve(s, approve)
        finally:
            s.close()
    return peer, widget, s


def _approve(s: RealtimeSession, approve: bool) -> McpApprovals:
    s.connect()
    widget = McpApprovals(s)
    assert widget.pending == []
    mark = s.mark()
    s.send_event({"type": "response.create"})
    s.wait_for("response.done", since=mark)
    eventually(lambda: len(widget.pending) == 1)
    (request,) = widget.pending
    assert request == {
        "id": "mcpr_1",
        "server_label": "docs",
        "name": "search",
        "arguments": '{"q": "realtime"}',
        "sent": False,
    }
    widget._on_browser(widget, {"decide": "unknown"}, [])  # not a pending request: ignored
    widget._on_browser(widget, {"decide": "mcpr_1", "approve": approve, "reason": "checked"}, [])
    eventually(lambda: widget.pending == [])
    return widget


def test_approve_sends_one_valid_answer_and_the_call_runs() -> None:
    peer, widget, s = _run(True)
    answers = [e for e in peer.received if e["type"] == "conversation.item.create"]
    assert len(answers) == 1
    item = answers[0]["item"]
    assert (item["type"], item["approval_request_id"], item["approve"], item["reason"]) == (
        "mcp_approval_response",
        "mcpr_1",
        True,
        "checked",
    )
    assert peer.sdk_problems == []
    assert widget.decided == [{"id": "mcpr_1", "approve": True, "reason": "checked"}]
    assert s.state.items["mcp_1"].output == "3 results"


def test_deny_sends_approve_false_and_no_call_runs() -> None:
    peer, widget, s = _run(False)
    (answer,) = [e for e in peer.received if e["type"] == "conversation.item.create"]
    assert answer["item"]["approve"] is False
    assert widget.decided == [{"id": "mcpr_1", "approve": False, "reason": "checked"}]
    assert "mcp_1" not in s.state.items
    assert peer.sdk_problems == []
