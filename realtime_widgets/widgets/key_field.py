"""KeyField: a password input whose value never syncs, never saves, never shows.

The browser sends the key once, in a custom message, when the user presses "Use key", and
clears the input; the kernel keeps it in a :class:`Secret`. No trait holds it, so it is not in
the widget state, the notebook file, or any repr.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

from realtime_widgets.client.auth import Secret

__all__ = ["KeyField"]


class KeyField(anywidget.AnyWidget):
    """A credential input (see the module docstring); ``has_key`` says whether one was given."""

    _esm = Path(__file__).with_name("key_field.js")
    placeholder = t.Unicode("API key").tag(sync=True)
    has_key = t.Bool(False).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._secret: Secret | None = None
        self._listeners: list[Callable[[Secret | None], None]] = []
        self.on_msg(self._on_browser)

    @property
    def secret(self) -> Secret | None:
        return self._secret

    def use(self, secret: Secret | None) -> None:
        """Hold ``secret`` as if the user had given it here (a key another form of the kernel
        holds, carried over): kept in the kernel, never synced; ``has_key`` and the listeners
        are told."""
        self._secret = secret
        self.has_key = secret is not None
        for listener in self._listeners:
            listener(secret)

    def on_key(self, listener: Callable[[Secret | None], None]) -> None:
        self._listeners.append(listener)

    def _on_browser(self, widget: Any, content: dict[str, Any], buffers: list[bytes]) -> None:
        if content.get("type") != "key":
            return
        value = content.get("value")
        self.use(Secret(value) if isinstance(value, str) and value.strip() else None)

    def __repr__(self) -> str:
        return f"KeyField(has_key={self.has_key})"
