"""The skeleton the transcript views share: per-event ops, plus a snapshot.

Each server event becomes a few small custom messages (O(delta): never the whole transcript per
delta); the ``snapshot`` trait (the rows, for a saved notebook to re-render without a kernel) is
refreshed at most every :data:`SNAPSHOT_INTERVAL_S` and at each event that closes something (a
response, a transcription). ``observe_event`` runs on the session loop (it is a session
listener), or on the caller's thread for a view fed by hand without a session.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from realtime_widgets.protocol.events import ServerEvent

__all__ = ["SNAPSHOT_INTERVAL_S", "SettledView", "StreamedView"]

SNAPSHOT_INTERVAL_S = 1.0


class StreamedView:
    """Mixin (before the anywidget base, which has the ``snapshot`` trait): override
    :meth:`_ops`, :meth:`_closes` and :meth:`_snapshot_rows`."""

    messages_sent: int
    _last_snapshot: float
    _known: set[str]  # ids of the rows the browser has

    def _start_stream(self) -> None:
        self.messages_sent = 0
        self._last_snapshot = 0.0
        self._known = set()

    def observe_event(self, event: ServerEvent) -> None:
        """Turn one (already applied) server event into view operations."""
        widget: Any = self
        for op in self._ops(event):
            self.messages_sent += 1
            widget.send(op)
        now = time.monotonic()
        if self._closes(event) or now - self._last_snapshot >= SNAPSHOT_INTERVAL_S:
            self._last_snapshot = now
            widget.snapshot = self._snapshot_rows()

    def _ops(self, event: ServerEvent) -> list[dict[str, Any]]:
        """The messages this event makes for the browser."""
        raise NotImplementedError

    def _closes(self, event: ServerEvent) -> bool:
        """Whether the snapshot must be refreshed now (something finished)."""
        raise NotImplementedError

    def _snapshot_rows(self) -> list[dict[str, Any]]:
        """Every row, as the snapshot keeps them."""
        raise NotImplementedError


class SettledView(StreamedView):
    """A :class:`StreamedView` with no event that closes its rows (GPT-Live's and translation's
    transcripts: deltas and no done event): its snapshot is also refreshed a second after the
    last delta, so a saved notebook has the last words too."""

    _armed: bool  # a refresh is scheduled

    def _start_stream(self) -> None:
        super()._start_stream()
        self._armed = False

    def observe_event(self, event: ServerEvent) -> None:
        """One (already applied) server event: its ops; the snapshot follows within a second."""
        refreshed, sent = self._last_snapshot, self.messages_sent
        super().observe_event(event)
        if self.messages_sent > sent and self._last_snapshot == refreshed and not self._armed:
            self._armed = True
            try:
                asyncio.get_running_loop().call_later(SNAPSHOT_INTERVAL_S, self._refresh)
            except RuntimeError:  # no loop (a view fed by hand): now
                self._refresh()

    def _refresh(self) -> None:
        self._armed = False
        self._last_snapshot = time.monotonic()
        widget: Any = self
        widget.snapshot = self._snapshot_rows()
