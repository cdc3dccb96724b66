"""The small records ClientCore hands out: tool calls, pending updates, waiters, listeners.

The core only marks a waiter matched or an update done; calling ``on_match`` / ``on_done`` is
the dispatcher's (:mod:`~realtime_widgets.client.dispatch`), after the core call returns."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from realtime_widgets.client.history import HistoryEntry
from realtime_widgets.errors import ServerError
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.events import ServerEvent

__all__ = ["AudioTap", "Listener", "OutputTap", "PendingUpdate", "ToolCall", "Waiter"]

Listener = Callable[[ServerEvent], None]
AudioTap = Callable[[npt.NDArray[np.int16], int], None]
OutputTap = Callable[[str, npt.NDArray[np.int16]], None]


@dataclass(frozen=True)
class ToolCall:
    """One function call the model made, to be run by the registered Python tool."""

    name: str
    call_id: str
    arguments: str


@dataclass
class PendingUpdate:
    """A ``session.update`` sent and not yet answered.

    Resolved by the server's ``session.updated`` (``effective`` set) or by an ``error`` that
    echoes its ``event_id`` (``error`` set); ``on_done`` is called once, either way, by the
    dispatcher (the core queues the finished update)."""

    event_id: str
    config: SessionConfig
    frames: list[str]
    effective: SessionConfig | None = None
    error: ServerError | None = None
    done: bool = False
    on_done: Callable[[PendingUpdate], None] | None = None

    def _finish(self) -> None:
        self.done = True


@dataclass
class Waiter:
    """Someone waiting for an event of ``kind`` ("*": any) that ``predicate`` accepts.

    The core sets ``event`` when one matches; the dispatcher then calls ``on_match``."""

    kind: str
    predicate: Callable[[ServerEvent], bool]
    on_match: Callable[[ServerEvent], None] | None = None
    event: ServerEvent | None = None

    def _offer(self, event: ServerEvent) -> bool:
        if self.event is not None or self.kind not in (event.type, "*"):
            return False
        try:
            matched = self.predicate(event)
        except Exception:
            return False
        if matched:
            self.event = event
        return matched


@dataclass
class _Listeners:
    by_type: dict[str, list[Listener]] = field(default_factory=dict)
    history: list[Callable[[HistoryEntry], None]] = field(default_factory=list)
    audio_taps: list[AudioTap] = field(default_factory=list)
    output_taps: list[OutputTap] = field(default_factory=list)

    def count(self) -> int:
        return (
            sum(len(v) for v in self.by_type.values())
            + len(self.history)
            + len(self.audio_taps)
            + len(self.output_taps)
        )


def _remover(items: list[Any], item: Any) -> Callable[[], None]:
    def remove() -> None:
        with contextlib.suppress(ValueError):  # removing twice is harmless
            items.remove(item)

    return remove


class ToolCallBook:
    """Function calls to our registered Python tools, collected per response: a batch is
    ready when its response is done (the core observes the events; the session runs the
    batches and answers them)."""

    def __init__(self) -> None:
        self._calls: dict[str, list[ToolCall]] = {}  # response id -> calls so far
        self._ready: list[list[ToolCall]] = []

    def called(self, response_id: str, call: ToolCall) -> None:
        self._calls.setdefault(response_id, []).append(call)

    def response_done(self, response_id: str) -> None:
        calls = self._calls.pop(response_id, [])
        if calls:
            self._ready.append(calls)

    def take_ready(self) -> list[list[ToolCall]]:
        batches, self._ready = self._ready, []
        return batches

    def forget_open(self) -> None:
        """Calls of responses that will not finish (the connection was lost)."""
        self._calls.clear()
