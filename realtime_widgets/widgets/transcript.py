"""TranscriptView: user and assistant turns in conversation order, streaming as they happen.

Each delta goes to the browser as one small custom message (O(delta): never the whole
transcript per delta). ``snapshot`` (a synced trait, refreshed at most once a second and at the
end of each response) lets a saved notebook re-render the conversation without a kernel.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

from realtime_widgets.client.session import RealtimeSession
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.events import ServerEvent
from realtime_widgets.protocol.state import ConversationState, ItemState
from realtime_widgets.widgets.listening import Listening

__all__ = ["TranscriptView"]

SNAPSHOT_INTERVAL_S = 1.0


INTERRUPTED = "(reply interrupted by a lost connection)"


def _row(item: ItemState, interrupted: bool = False) -> dict[str, Any]:
    return {
        "id": item.id,
        "role": item.role or item.type,
        "type": item.type,
        "text": _text(item),
        "note": INTERRUPTED if interrupted else _note(item),
    }


def _text(item: ItemState) -> str:
    if item.type == "function_call":
        return f"{item.name or 'tool'}({item.arguments})"
    if item.type == "function_call_output":
        return item.output or ""
    return item.text


def _note(item: ItemState) -> str:
    if item.truncated_at_ms is not None:
        return f"(truncated at {item.truncated_at_ms / 1000:.1f} s)"
    if item.transcript_state == "failed":
        return f"(no transcript: {item.transcript_error})"
    if item.role == "user" and item.transcript_state == "pending":
        return "(awaiting transcript)"
    return ""


class TranscriptView(Listening, anywidget.AnyWidget):
    """The conversation of a session (or of a :class:`ConversationState` fed by hand)."""

    _esm = Path(__file__).with_name("transcript.js")
    snapshot = t.List(t.Dict()).tag(sync=True)
    height = t.Unicode("320px").tag(sync=True)

    def __init__(self, session: RealtimeSession | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.state = session.state if session is not None else ConversationState()
        self.messages_sent = 0
        self._last_snapshot = 0.0
        self._lock = threading.Lock()
        self._known: set[str] = set()
        self._interrupted: set[str] = set()  # items of replies cut by a lost connection
        if session is not None:
            self._listen(session.on("*", self.observe_event))

    def observe_event(self, event: ServerEvent) -> None:
        """Turn one (already applied) server event into view operations."""
        with self._lock:
            for op in self._ops(event):
                self.messages_sent += 1
                self.send(op)
            now = time.monotonic()
            if (
                isinstance(event, ev.ResponseDone)
                or now - self._last_snapshot >= SNAPSHOT_INTERVAL_S
            ):
                self._last_snapshot = now
                self.snapshot = [self._row(i) for i in self.state.ordered_items()]

    def _row(self, item: ItemState) -> dict[str, Any]:
        return _row(item, item.id in self._interrupted)

    def _place(self, item_id: str) -> dict[str, Any]:
        order = [i.id for i in self.state.ordered_items()]
        index = order.index(item_id) if item_id in order else len(order)
        after = order[index - 1] if index > 0 else None
        return {"op": "item", "after": after, **self._row(self.state.items[item_id])}

    def _ops(self, event: ServerEvent) -> list[dict[str, Any]]:
        items = self.state.items
        if isinstance(
            event, ev.ConversationItemAdded | ev.ConversationItemDone | ev.ResponseOutputItemAdded
        ):
            item_id = event.item.id or ""
            if item_id not in items:
                return []
            first = item_id not in self._known
            self._known.add(item_id)
            return (
                [self._place(item_id)]
                if first
                else [{"op": "text", "id": item_id, **self._row(items[item_id])}]
            )
        if isinstance(
            event,
            ev.ResponseOutputAudioTranscriptDelta
            | ev.ResponseOutputTextDelta
            | ev.InputTranscriptionDelta
            | ev.FunctionCallArgumentsDelta,
        ):
            if event.item_id not in self._known and event.item_id in items:
                self._known.add(event.item_id)
                return [self._place(event.item_id)]
            return [{"op": "delta", "id": event.item_id, "text": event.delta}]
        if isinstance(
            event,
            ev.ResponseOutputAudioTranscriptDone
            | ev.ResponseOutputTextDone
            | ev.InputTranscriptionCompleted
            | ev.InputTranscriptionFailed
            | ev.ConversationItemTruncated
            | ev.FunctionCallArgumentsDone,
        ):
            item = items.get(event.item_id)
            return [] if item is None else [{"op": "text", **self._row(item)}]
        if event.type == "client.response_interrupted":
            ids = (event.model_extra or {}).get("item_ids") or []
            self._interrupted.update(ids)
            return [{"op": "text", **self._row(items[i])} for i in ids if i in items]
        if isinstance(event, ev.ConversationItemDeleted):
            self._known.discard(event.item_id)
            return [{"op": "remove", "id": event.item_id}]
        return []
