"""What a ClientCore call leaves to hand out, and the one function that hands it out.

The core only collects (state, metrics, history, waiter matching); each call that has something
for a listener queues it (``core.take_dispatches()`` returns the queue, in order), as
websockets' protocol buffers the events that ``receive_data()`` parsed until
``events_received()`` takes them. The session's transport then calls :func:`dispatch` on its
I/O loop, right after the core call returns, so listeners, waiters and taps never run in the
middle of parsing, and nothing they raise reaches the reader::

    event = core.receive(text)                            # no listener is called here
    dispatch(core.listeners, core.take_dispatches())      # ... but here, in order

Items: :class:`Delivered` (an event and the waiters it matched), a
:class:`~realtime_widgets.client.history.HistoryEntry` (for history listeners),
:class:`OutputAudio` / :class:`InputAudio` (for the audio taps), and a finished
:class:`~realtime_widgets.client.records.PendingUpdate` (its ``on_done``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from realtime_widgets.client.history import HistoryEntry
from realtime_widgets.client.records import PendingUpdate, Waiter, _Listeners
from realtime_widgets.protocol.events import ServerEvent

__all__ = ["Delivered", "Dispatch", "InputAudio", "OutputAudio", "dispatch"]

log = logging.getLogger("realtime_widgets.client")


@dataclass(frozen=True, slots=True)
class Delivered:
    """An event for the listeners of its type (and "*"), and the waiters it matched."""

    event: ServerEvent
    matched: tuple[Waiter, ...] = ()


@dataclass(frozen=True, slots=True)
class OutputAudio:
    """The assistant's audio of one item, decoded to 24 kHz int16, for the output taps."""

    item_id: str
    samples: npt.NDArray[np.int16]


@dataclass(frozen=True, slots=True)
class InputAudio:
    """Audio being appended (int16 at ``rate``), for the input taps."""

    samples: npt.NDArray[np.int16]
    rate: int


Dispatch = Delivered | HistoryEntry | OutputAudio | InputAudio | PendingUpdate


def dispatch(listeners: _Listeners, items: Iterable[Dispatch]) -> None:
    """Hand each item to whoever listens for it, in order. A listener that raises is logged
    and the others still run: nothing a listener does can stop the caller (the reader)."""
    for item in items:
        if type(item) is Delivered:
            _deliver(listeners, item)
        elif type(item) is HistoryEntry:
            _call_each(listeners.history, "history listener", item)
        elif type(item) is OutputAudio:
            _call_each(listeners.output_taps, "output audio tap", item.item_id, item.samples)
        elif type(item) is InputAudio:
            _call_each(listeners.audio_taps, "audio tap", item.samples, item.rate)
        elif isinstance(item, PendingUpdate) and item.on_done is not None:
            try:
                item.on_done(item)
            except Exception:
                log.exception("update callback failed")


def _call_each(fns: Iterable[Callable[..., Any]], what: str, *args: Any) -> None:
    # A copy: a listener may remove itself.
    for fn in list(fns):
        try:
            fn(*args)
        except Exception:
            log.exception("%s failed", what)


def _deliver(listeners: _Listeners, item: Delivered) -> None:
    event = item.event
    for waiter in item.matched:
        if waiter.on_match is not None:
            try:
                waiter.on_match(event)
            except Exception:
                log.exception("waiter for %s failed", event.type)
    by_type = listeners.by_type
    for group in (by_type.get(event.type), by_type.get("*")):
        if not group:
            continue
        for fn in list(group):  # a listener may remove itself
            try:
                fn(event)
            except Exception:
                log.exception("callback for %s failed", event.type)
