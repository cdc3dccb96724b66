"""Recording a session to JSONL, and replaying one.

Each line: ``{"t": seconds since the start, "dir": "in" | "out", "event": {...}}`` for every
event both ways, audio included (so a replay can be heard and drawn). A server frame that is
not a JSON object (a broken or hostile peer) is kept as it came, as ``"raw": "<text>"`` in
place of ``"event"``, so a replay reports it as the live session did. The key is never in a
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

from realtime_widgets.errors import ProtocolError
from realtime_widgets.protocol.events import MAX_JSON_DEPTH, load_json
from realtime_widgets.protocol.redaction import marked, names_secret

__all__ = ["RecordedEvent", "Recorder", "read_recording", "unused_path"]


@dataclass(frozen=True)
class RecordedEvent:
    """One row of a recording: ``event`` decoded, or ``raw``, a server frame kept as it came
    because it was not a JSON object (then ``event`` is empty)."""

    t: float
    direction: str  # "in": from the server, "out": from the client
    event: dict[str, Any]
    raw: str | None = None


def unused_path(path: Path) -> Path:
    """``path`` if nothing is there, else the first free ``stem-2.suffix``, ``stem-3.suffix``...
    beside it: where a new recording goes without overwriting an earlier one (a Recorder opens
    its file with "w")."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


class Recorder:
    """Appends events to a JSONL file as they pass (thread-safe enough: one writer thread).
    The file is written afresh: :func:`unused_path` picks a name that keeps an earlier one."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = self.path.open("w", encoding="utf-8")
        self._start = time.monotonic()
        self.count = 0

    def write(
        self, direction: str, event: dict[str, Any] | str, *, json_object: bool = False
    ) -> None:
        """Append one event (its JSON text or its dict). Text that is not a JSON object, or
        nests deeper than an event may, is written as ``raw`` text: whatever a peer sends,
        the recording goes on. ``json_object``: the text is known to be one JSON object (the
        client encoded it, or its core parsed it), so it is written as it is, not parsed again,
        unless it names a secret key (then it is parsed and redacted)."""
        if self._file is None:
            return
        t = round(time.monotonic() - self._start, 4)
        if json_object and isinstance(event, str) and not names_secret(event):
            # The hot path (every audio append and delta): no second parse, no re-encoding.
            self._file.write(f'{{"t":{t!r},"dir":{json.dumps(direction)},"event":{event}}}\n')
            self.count += 1
            return
        line: dict[str, Any] = {"t": t, "dir": direction}
        data: Any = event
        if isinstance(event, str):
            try:
                data = load_json(event)
            except ProtocolError:
                data = None
        if isinstance(data, dict):
            line["event"] = marked(data)
        else:
            line["raw"] = event
        self._file.write(json.dumps(line, separators=(",", ":")) + "\n")
        self.count += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def read_recording(path: str | Path) -> Iterator[RecordedEvent]:
    """The events of a recording, in order. A line that is not a recording row raises
    :class:`ProtocolError` as ``path:line: why`` (when the iteration reaches it): not JSON,
    nested deeper than an event may be (``MAX_JSON_DEPTH``), or a field missing or of the
    wrong kind."""
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield _row(line)
            except ProtocolError as exc:
                raise ProtocolError(f"{path}:{number}: {exc}") from None


def _row(line: str) -> RecordedEvent:
    # The row's object is one level above the event's: the event may nest MAX_JSON_DEPTH.
    row = load_json(line, max_depth=MAX_JSON_DEPTH + 1)
    if not isinstance(row, dict):
        raise ProtocolError(
            f"a row must be a JSON object with 't', 'dir' and 'event', got {type(row).__name__}"
        )
    t, direction = row.get("t"), row.get("dir")
    if not isinstance(t, int | float) or isinstance(t, bool):
        raise ProtocolError(f"'t' must be a number, got {t!r}")
    if direction not in ("in", "out"):
        raise ProtocolError(f"'dir' must be 'in' or 'out', got {direction!r}")
    if "raw" in row:
        raw = row["raw"]
        if not isinstance(raw, str):
            raise ProtocolError(f"'raw' must be the text of a frame, got {type(raw).__name__}")
        return RecordedEvent(float(t), direction, {}, raw)
    event = row.get("event")
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        got = f"'type' {event.get('type')!r}" if isinstance(event, dict) else type(event).__name__
        raise ProtocolError(f"'event' must be an object with a string 'type', got {got}")
    return RecordedEvent(float(t), direction, event)
