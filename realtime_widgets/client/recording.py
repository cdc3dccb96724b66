"""Recording a session to JSONL, and replaying one.

Each line: ``{"t": seconds since the start, "dir": "in" | "out", "event": {...}}`` for every
event both ways, audio included (so a replay can be heard and drawn). The key is never in a
recording (headers are not events), nor is any other secret: an MCP tool's authorization and
headers, in a ``session.update`` sent or a session the server reports, are recorded as
``"<secret: not recorded>"``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from realtime_widgets.errors import RealtimeWidgetsError
from realtime_widgets.protocol.redaction import REDACTED, redact

__all__ = ["RecordedEvent", "Recorder", "read_recording"]


@dataclass(frozen=True)
class RecordedEvent:
    t: float
    direction: str  # "in": from the server, "out": from the client
    event: dict[str, Any]


class Recorder:
    """Appends events to a JSONL file as they pass (thread-safe enough: one writer thread)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = self.path.open("w", encoding="utf-8")
        self._start = time.monotonic()
        self.count = 0

    def write(self, direction: str, event: dict[str, Any] | str) -> None:
        if self._file is None:
            return
        data = redact(json.loads(event) if isinstance(event, str) else event, _redacted)
        line = {"t": round(time.monotonic() - self._start, 4), "dir": direction, "event": data}
        self._file.write(json.dumps(line, separators=(",", ":")) + "\n")
        self.count += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _redacted(_holder: dict[str, Any], _key: str) -> str:
    return REDACTED


def read_recording(path: str | Path) -> Iterator[RecordedEvent]:
    """The events of a recording, in order; a clear error names a bad line."""
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                yield RecordedEvent(float(row["t"]), str(row["dir"]), dict(row["event"]))
            except (ValueError, KeyError, TypeError) as exc:
                raise RealtimeWidgetsError(
                    f"{path}:{number}: not a recording line ({exc})"
                ) from None
