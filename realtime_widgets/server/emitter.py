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
the engine's, and tests pass their own recording one. A GPT-Live session writes its own events
(:mod:`realtime_widgets.protocol.live_events`, the SDK's Live unions) through a
:class:`LiveEmitter` over the same ids and error count.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, Protocol

from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol import live_events as live
from realtime_widgets.server.errors import error_detail

__all__ = ["Emitter", "Event", "LiveEmitter", "SessionEmitter", "build_event", "stamp"]

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


class LiveEmitter:
    """How a GPT-Live session writes: its events built from :mod:`~realtime_widgets.protocol.
    live_events`' models (the SDK's Live server union), with ids from the session's
    :class:`SessionEmitter` (whose error count it shares).

    An event is ``type``, then ``event_id`` when the model has one (``session.output_audio.
    delta`` has none), then the fields written; a field given as None is left out (the SDK's
    optionals are omitted, never null). The model checks the shape where the event is written
    and a top-level field it does not have is refused there, as :func:`build_event` does."""

    def __init__(self, ids: SessionEmitter) -> None:
        self.ids = ids

    def new_id(self, prefix: str) -> str:
        return self.ids.new_id(prefix)

    def event(self, kind: type[live.LiveServerEvent], /, **fields: Any) -> Event:
        """A Live server event of model ``kind`` with ``fields``, stamped with the session's
        next event id when the model has one."""
        has_id = "event_id" in kind.model_fields
        return self._build(kind, self.ids.new_id("event") if has_id else None, fields)

    def _build(
        self, kind: type[live.LiveServerEvent], event_id: str | None, fields: dict[str, Any]
    ) -> Event:
        payload: Event = {"type": kind.model_fields["type"].default}
        if event_id is not None:
            payload["event_id"] = event_id
        payload.update((k, v) for k, v in fields.items() if v is not None)
        model = kind.model_validate(payload)
        if model.model_extra:
            unknown = sorted(model.model_extra)
            raise ValueError(f"{payload['type']}: no such field in its model: {unknown}")
        return payload

    def error(
        self,
        message: str,
        code: str,
        param: str | None = None,
        client_id: str | None = None,
        *,
        type_: str = "invalid_request_error",
        counted: bool = True,
        event_id: str | None = None,
    ) -> Event:
        """An ``error`` in Live's shape: ``error.client_event_id`` (and the event's own) name
        the client event it answers, when the client gave it an id. ``counted``: False for an
        error already counted (one a shared part wrote in Realtime's shape) or not the
        session's (a failure the connection met); ``event_id``: the event's own id, when it is
        not the session's next."""
        if counted:
            self.ids.errors += 1
        detail: dict[str, Any] = {"type": type_, "code": code, "message": message}
        if param is not None:
            detail["param"] = param
        if client_id is not None:
            detail["client_event_id"] = client_id
        fields = {"error": detail, "client_event_id": client_id}
        return self._build(live.ErrorEvent, event_id or self.ids.new_id("event"), fields)
