"""Widgets that listen to a session remove their listeners when they close."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Listening"]


class Listening:
    """Mixin (before the widget base class): ``self._listen(session.on(...), ...)`` keeps the
    removers the session's listener methods return; ``close()`` calls them, so a closed widget
    is no longer called, and is not kept alive, by the session."""

    _removers: list[Callable[[], None]]

    def _listen(self, *removers: Callable[[], None]) -> None:
        if not hasattr(self, "_removers"):
            self._removers = []
        self._removers.extend(removers)

    def _listen_to(self, session: Any, handlers: Mapping[str, Callable[[Any], None]]) -> None:
        """``session.on(kind, handler)`` for each of ``handlers``, kept as :meth:`_listen`."""
        self._listen(*(session.on(kind, handler) for kind, handler in handlers.items()))

    def close(self) -> None:
        for remove in getattr(self, "_removers", ()):
            remove()
        self._removers = []
        parent: Any = super()
        parent.close()
