"""How a part of the engine writes: new ids, server events built from their typed models, errors.

Every server event the engine sends is constructed as its model in
:mod:`realtime_widgets.protocol.events` (``build_event(ev.SpeechStarted, audio_start_ms=..,
item_id=..)``): the model checks the shape the SDK expects (required fields and their types,
the literal ``type``, nested records) where the event is written, and a top-level field the
model does not have is refused there (the models, like the SDK's, accept unknown keys when
they read, so neither pydantic nor mypy would). The wire dict is the fields that were written,
in the order written (``type`` and ``event_id`` first, as OpenAI sends them): the model's
``exclude_unset`` dump, so a field OpenAI omits is never filled in with a default.

A part gets an :class:`Emitter` (the protocol), never the engine; :class:`SessionEmitter` is
the engine's, and tests pass their own recording one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, Protocol

from realtime_widgets.protocol import events as ev
from realtime_widgets.server.errors import error_detail

__all__ = ["Emitter", "Event", "SessionEmitter", "build_event", "stamp"]

Event = dict[str, Any]
P = ParamSpec("P")


def build_event(kind: Callable[P, ev.ServerEvent], /, *args: P.args, **fields: P.kwargs) -> Event:
    """A server event without its ``event_id`` (see the module docstring): ``kind`` validates
    ``fields``; the result is ``{"type": ..., **fields}``. Raises pydantic's ValidationError
    when the fields are not the shape the model (the SDK's) describes."""
    model = kind(*args, **fields)
    if model.model_extra:  # the models take unknown keys (as the SDK's do): we write none
        raise ValueError(f"{model.type}: no such field in its model: {sorted(model.model_extra)}")
    return {"type": model.type, **fields}


def stamp(payload: Event, event_id: str) -> Event:
    """``payload`` (from :func:`build_event`) with its ``event_id``, second as OpenAI sends it."""
    return {
        "type": payload["type"],
        "event_id": event_id,
        **{k: v for k, v in payload.items() if k != "type"},
    }


class Emitter(Protocol):
    """What a part may do toward the wire: take new ids and write events and errors."""

    def new_id(self, prefix: str) -> str:
        """A fresh id such as ``item_test000100003``."""
        ...

    def event(
        self, kind: Callable[P, ev.ServerEvent], /, *args: P.args, **fields: P.kwargs
    ) -> Event:
        """A server event of model ``kind`` with ``fields``, stamped with a new event id."""
        ...

    def send(self, payload: Event) -> Event:
        """A payload built earlier with :func:`build_event` (a reply's timeline), stamped now."""
        ...

    def error(
        self,
        message: str,
        code: str | None = None,
        param: str | None = None,
        client_id: str | None = None,
    ) -> Event:
        """An ``error`` event in OpenAI's shape (counted)."""
        ...

    def error_from(self, detail: dict[str, Any]) -> Event:
        """An ``error`` event for a detail from :mod:`.errors` (counted)."""
        ...


class SessionEmitter:
    """A session's :class:`Emitter`: per-prefix id counters (deterministic) and the error count."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self._suffix = session_id.removeprefix("sess_")[-8:]
        self._ids: dict[str, int] = {}
        self.errors = 0  # error events written

    def new_id(self, prefix: str) -> str:
        n = self._ids.get(prefix, 0) + 1
        self._ids[prefix] = n
        return f"{prefix}_{self._suffix}{n:05d}"

    def event(
        self, kind: Callable[P, ev.ServerEvent], /, *args: P.args, **fields: P.kwargs
    ) -> Event:
        return self.send(build_event(kind, *args, **fields))

    def send(self, payload: Event) -> Event:
        return stamp(payload, self.new_id("event"))

    def error(
        self,
        message: str,
        code: str | None = None,
        param: str | None = None,
        client_id: str | None = None,
    ) -> Event:
        return self.error_from(
            error_detail(message, code=code, param=param, client_event_id=client_id)
        )

    def error_from(self, detail: dict[str, Any]) -> Event:
        self.errors += 1
        return self.event(ev.ErrorEvent, error=detail)
