"""The session's recent events both ways, with audio payloads replaced by their byte count and
secrets (an MCP tool's authorization and headers) by a marker."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from realtime_widgets.errors import RealtimeWidgetsError
from realtime_widgets.protocol.redaction import REDACTED, redact
from realtime_widgets.protocol.state import base64_decoded_size

__all__ = ["HISTORY", "EventHistory", "HistoryEntry", "light"]

HISTORY = 5000  # entries kept (a deque): the event log's horizon, not a recording


@dataclass(frozen=True)
class HistoryEntry:
    """One event in the session's history: audio payloads replaced by their byte count.

    Incoming frames are kept as received text and parsed only when someone reads ``data``."""

    t: float
    direction: str  # "in", "out" or "local" (raised by the client itself)
    type: str
    light: dict[str, Any] | None
    raw: str | None = None

    @property
    def data(self) -> dict[str, Any]:
        if self.light is not None:
            return self.light
        return light(json.loads(self.raw)) if self.raw else {}


def light(event: dict[str, Any]) -> dict[str, Any]:
    """A copy for the history/event log: base64 audio replaced by '<N bytes>', secrets by
    '<secret: not recorded>' (``event`` itself when there is neither)."""
    for key in ("audio", "delta"):
        value = event.get(key)
        if (
            isinstance(value, str)
            and len(value) > 256
            and event.get("type", "").endswith(("append", "audio.delta"))
        ):
            return {**event, key: f"<{base64_decoded_size(value)} bytes>"}
    shown: dict[str, Any] = redact(event, lambda _holder, _key: REDACTED)
    return shown


class EventHistory:
    """The session's recent events both ways (audio payloads as byte counts), for the event log.

    ``to_dataframe()`` (needs pandas) and ``to_jsonl(path)`` export them."""

    def __init__(self, entries: deque[HistoryEntry]) -> None:
        self._entries = entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[HistoryEntry]:
        return iter(list(self._entries))

    def rows(self) -> list[dict[str, Any]]:
        return [
            {"t": round(e.t, 4), "direction": e.direction, "type": e.type, "event": e.data}
            for e in self
        ]

    def to_dataframe(self) -> Any:
        try:
            import pandas as pd
        except ImportError:
            raise RealtimeWidgetsError("to_dataframe() needs pandas: pip install pandas") from None
        return pd.DataFrame(self.rows())

    def to_jsonl(self, path: str | Path) -> int:
        """Write the events as JSON lines; returns how many."""
        rows = self.rows()
        with Path(path).open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, separators=(",", ":")) + "\n")
        return len(rows)
