"""Waiting for server events: the stream's sequence, the recent events, the open waiters.

:class:`EventWaits` is owned by :class:`~realtime_widgets.client.core.ClientCore`: every event
the core delivers passes :meth:`EventWaits.deliver`, which numbers it, keeps it for
``wait(since=mark)`` (bounded in count and in frame bytes, so a flood of large frames cannot
park memory here) and returns the waiters it matched (their ``on_match`` is the dispatcher's to
call, after the core call). No I/O and no threads: the transport turns waiters into awaitables.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable

from realtime_widgets.client.records import Waiter
from realtime_widgets.protocol.events import ServerEvent

__all__ = ["RECENT", "RECENT_BYTES", "EventWaits"]

RECENT = 1000  # events kept for wait_for(since=mark)
RECENT_BYTES = 8 * 1024 * 1024  # ... and the bytes of their frames, at most


class EventWaits:
    """The event stream's positions and the waiters on it (see the module docstring)."""

    def __init__(self) -> None:
        self.seq = 0  # events delivered so far (a mark is a value of it)
        self.recent: deque[tuple[int, ServerEvent, int]] = deque()  # (seq, event, bytes)
        self.recent_bytes = 0  # frame bytes of the events in ``recent`` (<= RECENT_BYTES)
        self.open: list[Waiter] = []

    def deliver(self, event: ServerEvent, size: int) -> tuple[Waiter, ...]:
        """Number and keep ``event`` (``size``: its frame's bytes); the waiters it matched,
        now removed."""
        self.seq += 1
        recent = self.recent
        recent.append((self.seq, event, size))
        self.recent_bytes += size
        while len(recent) > 1 and (len(recent) > RECENT or self.recent_bytes > RECENT_BYTES):
            self.recent_bytes -= recent.popleft()[2]
        if not self.open:
            return ()
        matched = tuple(w for w in self.open if w._offer(event))
        for waiter in matched:
            self.open.remove(waiter)
        return matched

    def wait(
        self,
        kind: str,
        predicate: Callable[[ServerEvent], bool] | None = None,
        since: int | None = None,
        on_match: Callable[[ServerEvent], None] | None = None,
    ) -> Waiter:
        """A waiter for the next event of ``kind`` (after ``since``, a mark, if given: events
        kept since the mark count). Check ``waiter.event``; otherwise it stays open."""
        waiter = Waiter(kind, predicate or (lambda e: True), on_match)
        if since is not None:
            for seq, event, _size in list(self.recent):
                if seq > since and waiter._offer(event):
                    return waiter
        self.open.append(waiter)
        return waiter

    def cancel(self, waiter: Waiter) -> None:
        """Remove an open waiter (nothing if it already matched or was removed)."""
        with contextlib.suppress(ValueError):
            self.open.remove(waiter)

    def take_open(self) -> list[Waiter]:
        """Remove and return every waiter still open."""
        open_, self.open = self.open, []
        return open_
