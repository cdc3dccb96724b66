"""EventLog: every event both ways, newest first, filterable, deltas collapsed with a count.

Rows reach the browser in batches at most ten times a second; audio payloads are byte counts.
Export with ``session.events.to_jsonl(path)`` or ``session.events.to_dataframe()``.

The history listener and the batch timer run on the session loop; so does the pending batch.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

from realtime_widgets.client.history import HistoryEntry
from realtime_widgets.widgets.browser_messages import AnySession
from realtime_widgets.widgets.listening import Listening

__all__ = ["EventLog"]

BATCH_S = 0.1


class EventLog(Listening, anywidget.AnyWidget):
    """The session's event log (see the module docstring)."""

    _esm = Path(__file__).with_name("eventlog.js")
    max_rows = t.Int(2000).tag(sync=True)
    height = t.Unicode("300px").tag(sync=True)

    def __init__(self, session: AnySession, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self._pending: list[dict[str, Any]] = []
        self._armed = False
        self.batches_sent = 0
        self.send_rows([_row(e) for e in session.events])
        self._listen(session.on_history(self._on_entry))

    def _on_entry(self, entry: HistoryEntry) -> None:
        self._pending.append(_row(entry))
        if self._armed:
            return
        self._armed = True
        try:
            asyncio.get_running_loop().call_later(BATCH_S, self._flush)
        except RuntimeError:  # not on a loop (a replayed or synchronous caller): send now
            self._flush()

    def _flush(self) -> None:
        rows, self._pending = self._pending, []
        self._armed = False
        self.send_rows(rows)

    def send_rows(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.batches_sent += 1
            self.send({"op": "rows", "rows": rows})


def _row(entry: HistoryEntry) -> dict[str, Any]:
    return {"t": round(entry.t, 3), "dir": entry.direction, "type": entry.type, "data": entry.data}
