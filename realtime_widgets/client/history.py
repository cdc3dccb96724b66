"""The session's recent events both ways, with audio payloads replaced by their byte count and
secrets (an MCP tool's authorization and headers) by a marker.

Bounded in entries (:data:`HISTORY`) and in bytes (:data:`HISTORY_BYTES`, 16 MiB): a peer that
sends large frames (3,200 text deltas of 64 KB) would otherwise park 200 MB here. Past either
bound the oldest entries leave (``EventHistory.dropped`` counts them), as the event log is a
horizon, not a recording (``RealtimeSession(record=...)`` keeps everything, on disk). An entry
over :data:`HISTORY_ENTRY_BYTES` (1 MiB; a 30 MB image, say) is kept with its long strings cut
to their first characters and a ``<N more characters>`` note, so one big frame cannot push the
whole log out.

:meth:`EventHistory.to_parquet` (and :func:`write_events_parquet`, for a copy of the entries
taken elsewhere) writes the log in the interchange format of voice-eval tools: one row per
event, columns ``t`` (seconds on the session clock, ``RealtimeSession.elapsed``; a replay's
is its recording's), ``direction`` ("in", "out" or "local"), ``type`` and ``event`` (the event
as JSON text, audio as byte counts, secrets marked).
"""

from __future__ import annotations

import importlib
import json
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realtime_widgets.errors import RealtimeWidgetsError
from realtime_widgets.protocol.redaction import marked
from realtime_widgets.protocol.state import base64_decoded_size

__all__ = [
    "HISTORY",
    "HISTORY_BYTES",
    "HISTORY_ENTRY_BYTES",
    "PARQUET_COLUMNS",
    "EventHistory",
    "History",
    "HistoryEntry",
    "light",
    "shortened",
    "write_events_parquet",
]

HISTORY = 5000  # entries kept (a deque): the event log's horizon, not a recording
HISTORY_BYTES = 16 * 1024 * 1024  # bytes of entries kept (module docstring)
HISTORY_ENTRY_BYTES = 1024 * 1024  # an entry larger than this keeps its strings' heads only
ENTRY_OVERHEAD = 200  # bytes an entry costs beyond its payload (the objects around it)
_HEAD = 256  # characters kept of a long string in a cut entry
_ITEMS = 64  # elements kept of a long list in a cut entry
PARQUET_COLUMNS = ("t", "direction", "type", "event")  # the event log's parquet columns


@dataclass(frozen=True)
class HistoryEntry:
    """One event in the session's history: audio payloads replaced by their byte count.

    Incoming frames are kept as received text and parsed only when someone reads ``data``."""

    t: float
    direction: str  # "in", "out" or "local" (raised by the client itself)
    type: str
    light: dict[str, Any] | None
    # The frame as received: not in the repr (a notebook that shows an entry must not show a
    # secret the server echoed); ``data`` is the redacted view.
    raw: str | None = field(default=None, repr=False)
    # Bytes it costs in the history: its frame's length when known (else ``raw``'s) plus the
    # objects around it. Counted against HISTORY_BYTES.
    size: int = 0

    def __post_init__(self) -> None:
        if not self.size:
            object.__setattr__(self, "size", ENTRY_OVERHEAD + len(self.raw or ""))

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
            and event.get("type", "").endswith(("append", "audio.delta", "fixture.play"))
        ):
            return {**event, key: f"<{base64_decoded_size(value)} bytes>"}
    shown: dict[str, Any] = marked(event)
    return shown


def _shortened(value: Any) -> Any:
    """``value`` with long strings cut to their head and long lists to their first elements,
    each cut said in place."""
    if isinstance(value, str):
        if len(value) <= _HEAD:
            return value
        return f"{value[:_HEAD]}...<{len(value) - _HEAD:,} more characters>"
    if isinstance(value, dict):
        return {k: _shortened(v) for k, v in value.items()}
    if isinstance(value, list):
        kept = [_shortened(v) for v in value[:_ITEMS]]
        if len(value) > _ITEMS:
            kept.append(f"<{len(value) - _ITEMS:,} more elements>")
        return kept
    return value


def shortened(entry: HistoryEntry) -> HistoryEntry:
    """``entry`` itself, or, when it is over :data:`HISTORY_ENTRY_BYTES`, a copy with its long
    strings and lists cut (said in place) and no raw frame."""
    if entry.size <= HISTORY_ENTRY_BYTES:
        return entry
    data = _shortened(entry.data)
    size = ENTRY_OVERHEAD + len(json.dumps(data, separators=(",", ":"), default=str))
    return HistoryEntry(entry.t, entry.direction, entry.type, data, None, size)


class History(deque[HistoryEntry]):
    """A deque of entries bounded in count (``maxlen``) and in bytes (``max_bytes``): the
    oldest leave first; ``dropped`` counts them. An entry over HISTORY_ENTRY_BYTES is kept
    shortened (:func:`shortened`)."""

    def __init__(self, maxlen: int = HISTORY, max_bytes: int = HISTORY_BYTES) -> None:
        if max_bytes <= 0 or maxlen <= 0:
            raise ValueError(
                f"history needs positive bounds, got maxlen={maxlen!r}, max_bytes={max_bytes!r}"
            )
        super().__init__(maxlen=maxlen)
        self.max_bytes = max_bytes
        self.bytes = 0  # sizes of the entries held
        self.dropped = 0  # entries that left to keep the bounds

    def append(self, entry: HistoryEntry) -> None:
        entry = shortened(entry)
        if len(self) == self.maxlen:
            self._drop_oldest()
        super().append(entry)
        self.bytes += entry.size
        while self.bytes > self.max_bytes and len(self) > 1:
            self._drop_oldest()

    def _drop_oldest(self) -> None:
        self.bytes -= self.popleft().size
        self.dropped += 1

    def clear(self) -> None:
        super().clear()
        self.bytes = 0


class EventHistory:
    """The session's recent events both ways (audio payloads as byte counts), for the event log.

    Bounded (module docstring): ``dropped`` says how many older entries left.
    ``to_dataframe()`` (needs pandas) and ``to_jsonl(path)`` export them."""

    def __init__(self, entries: History) -> None:
        self._entries = entries

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def dropped(self) -> int:
        """Entries that left the history to keep it within its bounds."""
        return self._entries.dropped

    @property
    def bytes(self) -> int:
        """Bytes the entries held cost (at most HISTORY_BYTES, or the session's bound)."""
        return self._entries.bytes

    def __iter__(self) -> Iterator[HistoryEntry]:
        return iter(list(self._entries))

    def rows(self) -> list[dict[str, Any]]:
        return [
            {"t": round(e.t, 4), "direction": e.direction, "type": e.type, "event": e.data}
            for e in self
        ]

    def to_dataframe(self) -> Any:
        """The events as a pandas DataFrame: ``t`` (s, rounded to 0.1 ms), ``direction``,
        ``type``, ``event`` (the dict); :meth:`to_parquet` writes ``event`` as JSON text."""
        try:
            # optional dependency: pandas, only for this export
            import pandas as pd
        except ImportError:
            raise RealtimeWidgetsError("to_dataframe() needs pandas: pip install pandas") from None
        return pd.DataFrame(self.rows(), columns=list(PARQUET_COLUMNS))

    def to_parquet(self, path: str | Path) -> Path:
        """Write the events as parquet (module docstring: ``t``, ``direction``, ``type``,
        ``event`` as JSON text; needs pyarrow); returns the path. Read it back with
        ``pandas.read_parquet(path)`` and ``json.loads`` of an ``event``."""
        return write_events_parquet(list(self._entries), path)

    def to_jsonl(self, path: str | Path) -> int:
        """Write the events as JSON lines; returns how many."""
        rows = self.rows()
        with Path(path).open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, separators=(",", ":")) + "\n")
        return len(rows)


def write_events_parquet(entries: Iterable[HistoryEntry], path: str | Path) -> Path:
    """``entries`` as a parquet file of :data:`PARQUET_COLUMNS` (module docstring), in their
    order; returns the path. Needs pyarrow (the ``evals`` extra)."""
    try:
        # optional dependency: pyarrow, only for this export (imported by name: untyped,
        # whether or not the type checker is told to skip it)
        pa = importlib.import_module("pyarrow")
        pq = importlib.import_module("pyarrow.parquet")
    except ImportError:
        raise RealtimeWidgetsError(
            "to_parquet() needs pyarrow: pip install 'realtime-widgets[evals]'"
        ) from None
    rows = list(entries)
    schema = pa.schema(
        [(name, pa.float64() if name == "t" else pa.string()) for name in PARQUET_COLUMNS]
    )
    table = pa.table(
        {
            "t": [float(e.t) for e in rows],
            "direction": [e.direction for e in rows],
            "type": [e.type for e in rows],
            "event": [
                json.dumps(e.data, separators=(",", ":"), ensure_ascii=False, default=str)
                for e in rows
            ],
        },
        schema=schema,
    )
    target = Path(path)
    pq.write_table(table, target)
    return target
