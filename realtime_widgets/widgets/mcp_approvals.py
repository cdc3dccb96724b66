"""McpApprovals: approve or deny the MCP tool calls a session's model asks to run.

When a remote MCP tool requires approval, the server adds an ``mcp_approval_request`` item and
waits. This widget lists the requests no answer has been sent for yet (server, tool, arguments)
with Approve / Deny buttons; a click sends one ``conversation.item.create`` with an
``mcp_approval_response`` (built and validated by :func:`~realtime_widgets.protocol.items.
approve_mcp`) through the session's public ``submit`` / ``asend_event``. A request leaves the list
when the server's conversation shows the answer. Used alone or beside a transcript::

    McpApprovals(session)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

from realtime_widgets.client.session import RealtimeSession
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol import items
from realtime_widgets.protocol.events import ServerEvent
from realtime_widgets.protocol.state import ConversationState
from realtime_widgets.widgets.browser_messages import BrowserMessages, read_on_session_loop
from realtime_widgets.widgets.listening import Listening

__all__ = ["McpApprovals"]

MAX_ARGUMENTS_SHOWN = 500  # characters of a request's arguments sent to the browser
MAX_DECISIONS_KEPT = 50

_ITEM_EVENTS = (
    ev.ConversationItemAdded,
    ev.ConversationItemDone,
    ev.ConversationItemDeleted,
    ev.ResponseOutputItemAdded,
    ev.ResponseOutputItemDone,
)
_ITEM_EVENT_TYPES = tuple(cls.model_fields["type"].default for cls in _ITEM_EVENTS)


class McpApprovals(BrowserMessages, Listening, anywidget.AnyWidget):
    """The session's pending MCP approval requests, each with Approve / Deny."""

    _esm = Path(__file__).with_name("mcp_approvals.js")
    pending = t.List(t.Dict()).tag(sync=True)  # [{id, server_label, name, arguments, sent}]
    decided = t.List(t.Dict()).tag(sync=True)  # the answers sent: [{id, approve, reason}]

    def __init__(self, session: RealtimeSession | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.state = session.state if session is not None else ConversationState()
        self._receive_browser_messages()
        if session is not None:
            # Only the item events (not "*": audio deltas would each pass through here).
            self._listen(*(session.on(kind, self.observe_event) for kind in _ITEM_EVENT_TYPES))
        self.refresh()

    def observe_event(self, event: ServerEvent) -> None:
        """Refresh the list when an item arrives, changes or goes."""
        if isinstance(event, _ITEM_EVENTS):
            self.refresh()

    def refresh(self) -> None:
        sent = {d["id"] for d in self.decided}
        self.pending = [
            {
                "id": it.id,
                "server_label": it.server_label or "",
                "name": it.name or "",
                "arguments": it.arguments[:MAX_ARGUMENTS_SHOWN],
                "sent": it.id in sent,
            }
            for it in self.state.pending_approvals()
        ]

    def decide(self, request_id: str, approve: bool, reason: str | None = None) -> None:
        """Answer one request (what the buttons call): send the approval response. Returns once
        the widget shows the answer (its state lives on the session loop)."""
        event = items.approve_mcp(request_id, approve, reason=reason or None)
        if self.session is None:
            raise RuntimeError("McpApprovals has no session to send the answer on")
        self.session.submit(self.session.asend_event(event))
        read_on_session_loop(
            self.session, lambda: self._decided(request_id, approve, reason or None)
        )

    def _decided(self, request_id: str, approve: bool, reason: str | None) -> None:
        decided = [d for d in self.decided if d["id"] != request_id]
        decided.append({"id": request_id, "approve": approve, "reason": reason})
        self.decided = decided[-MAX_DECISIONS_KEPT:]
        self.refresh()

    def handle_browser(
        self, content: dict[str, Any], buffers: list[bytes], received: float
    ) -> None:
        """A decision from the page, on the session loop (the pending list lives there)."""
        request_id = content.get("decide")
        ids = {p["id"] for p in self.pending}
        if isinstance(request_id, str) and request_id in ids:
            reason = content.get("reason")
            self.decide(
                request_id,
                bool(content.get("approve")),
                reason if isinstance(reason, str) else None,
            )
