"""PresetBar: built-in presets, save / load a preset file, and a share string to copy or paste.

The logic lives in :mod:`realtime_widgets.protocol.presets`; this widget applies its results to a
:class:`~realtime_widgets.widgets.panel.ConfigPanel` (which shows them and sends one
``session.update``), or straight to a session when there is no panel. In the browser: pick a
built-in and Apply, Save .json (a download), Load .json (a file picker), Copy the share string,
or paste one and Load. Every refusal names the field (``config.turn_detection.threshold``); it
stays up until the next action that succeeds, or until a setting changes: any change of a
control in the panel (a person's, even one the panel refuses, connected or not; or the server's
values shown), or without a panel a ``session.updated`` with other settings. A loaded preset's
name becomes the bar's: the share string and the saved file carry it on. Whether pasted text is
a share string is judged here, in the kernel (``_pasted``), not in the browser.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

from realtime_widgets.client.session import RealtimeSession
from realtime_widgets.errors import ConfigError, ServerError
from realtime_widgets.protocol import presets
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.presets import SHARE_PREFIX
from realtime_widgets.protocol.redaction import keep_secrets
from realtime_widgets.widgets.browser_messages import on_session_loop
from realtime_widgets.widgets.panel import ConfigPanel

__all__ = ["PresetBar"]

# What a live session refuses to change; a loaded preset keeps the session's value instead.
_LIVE_FIXED = ("model", "voice", "tracing")


class PresetBar(anywidget.AnyWidget):
    """Presets for a panel or a session (see the module docstring).

    Python API: :meth:`apply_preset` (a built-in, over the current settings), :meth:`load_text`
    (JSON or a share string: a whole configuration), :meth:`save` (a file), :meth:`share_string`.
    """

    _esm = Path(__file__).with_name("preset_bar.js")
    presets = t.List(t.Dict(), help="[{name, description}] of the built-in presets").tag(sync=True)
    share = t.Unicode("", help="the current configuration's share string").tag(sync=True)
    status = t.Unicode("", help="what the last action did, or why it was refused").tag(sync=True)
    error_field = t.Unicode("", help="the field the last refusal names").tag(sync=True)
    name = t.Unicode("my preset", help="the preset's name: a save's and a share's").tag(sync=True)

    def __init__(
        self,
        panel: ConfigPanel | None = None,
        session: RealtimeSession | None = None,
        *,
        name: str = "my preset",
    ) -> None:
        super().__init__(
            presets=[{"name": p.name, "description": p.description} for p in _builtins()]
        )
        self.panel = panel
        self.session = session if session is not None else (panel.session if panel else None)
        self.name = name
        self._config = SessionConfig()
        self._refused_with: SessionConfig | None = None  # the settings when it last refused
        self._removers: list[Callable[[], None]] = []
        self._watching = panel is not None
        if panel is not None:  # a person's change of any control (even one the panel refuses)
            for control in panel.controls.values():
                control.watch(self._panel_changed)
        if self.session is not None:
            for kind in ("session.created", "session.updated"):
                self._removers.append(self.session.on(kind, lambda _e: self.refresh()))
        self.on_msg(self._on_browser)
        self.refresh()

    # ---- the configuration it works on ----------------------------------------------------------

    @property
    def config(self) -> SessionConfig:
        """The configuration a save or share captures: the panel's, else the session's."""
        if self.panel is not None:
            return self.panel.config
        if self.session is not None:
            return self.session.requested
        return self._config

    def share_string(self) -> str:
        return presets.to_share_string(self.config, self.name)

    def _panel_changed(self) -> None:
        """A control of the panel changed (on the thread of the change): a refusal shown goes,
        on the session loop, after the panel took the change (it hops there first)."""
        if self._watching:
            on_session_loop(self.session, self._settings_changed)

    def _settings_changed(self) -> None:
        if self._watching and self._refused_with is not None:
            self._done("")

    def refresh(self) -> None:
        """Update the share string shown (called on every session.updated); a refusal shown
        goes once the settings are no longer those it was made on (the user changed one)."""
        try:
            self.share = self.share_string()
        except ConfigError as exc:
            self.share = ""
            self._refused(exc)
            return
        if self._refused_with is not None and self.config != self._refused_with:
            self._done("")

    # ---- actions --------------------------------------------------------------------------------

    def apply_preset(self, name: str) -> SessionConfig:
        """Apply the built-in preset ``name`` over the current settings."""
        builtins = presets.BUILTIN_PRESETS
        if name not in builtins:
            raise ConfigError.single(
                "preset",
                f"preset must be one of {', '.join(map(repr, builtins))}, got {name!r}",
                allowed=", ".join(builtins),
            )
        return self._use(builtins[name].apply(self.config), f"applied {name!r}")

    def load_text(self, text: str) -> SessionConfig:
        """Load a preset given as JSON text or a share string (a whole configuration).

        A preset carries no secrets: an MCP tool naming the same server as one in the current
        settings keeps that tool's authorization (the status says so, or that there is none)."""
        preset = presets.load(_pasted(text))
        label = f"loaded {preset.name!r}" if preset.name else "loaded the preset"
        config, notes = keep_secrets(preset.config, self.config)
        used = self._use(config, "; ".join([label, *notes]))
        if preset.name:
            self.name = preset.name  # what a save or a share of these settings is called
            self.refresh()
        return used

    def save(self, path: str | Path, description: str = "") -> Path:
        """Write the current configuration as a preset file; load it back with ``load_text``."""
        return presets.save_file(self.config, path, self.name, description)

    def _use(self, config: SessionConfig, label: str) -> SessionConfig:
        config, kept = self._keep_live_fixed(config)
        if self.panel is not None:
            self.panel.load(config)
        elif self.session is not None:
            self.session.apply(config)  # raises ConfigError before sending anything
        else:
            self._config = config
        note = f" (kept the live session's {', '.join(kept)})" if kept else ""
        self._done(label + note)
        self.refresh()
        return config

    def _keep_live_fixed(self, config: SessionConfig) -> tuple[SessionConfig, list[str]]:
        """A live session cannot change its model (nor its voice once it has spoken, nor
        tracing once on): keep the current values there instead of refusing the whole preset."""
        session = self.session
        if session is None or not session.connected:
            return config, []
        current = self.config
        spoken = session.state.assistant_has_spoken
        kept: list[str] = []
        for name in _LIVE_FIXED:
            if getattr(config, name) == getattr(current, name):
                continue
            trial = current.with_changes({name: getattr(config, name)})
            try:
                trial.to_session_update(previous=current, assistant_has_spoken=spoken)
            except ConfigError:
                config = config.with_changes({name: getattr(current, name)})
                kept.append(name)
        return config, kept

    def _refused(self, exc: ConfigError) -> None:
        self._refused_with = self.config
        self.error_field = exc.field
        self.status = f"refused: {exc}"

    def _done(self, status: str) -> None:
        """An action succeeded (or the settings changed): its status replaces any refusal."""
        self._refused_with = None
        self.error_field = ""
        self.status = status

    # ---- the browser ----------------------------------------------------------------------------

    def _on_browser(self, _widget: Any, content: dict[str, Any], _buffers: list[Any]) -> None:
        kind = content.get("type")
        try:
            if kind == "apply":
                self.apply_preset(str(content.get("name", "")))
            elif kind == "load":
                self.load_text(str(content.get("text", "")))
            elif kind == "save":
                self.send(
                    {
                        "type": "file",
                        "filename": _filename(self.name),
                        "text": presets.to_json(self.config, self.name),
                    }
                )
                self._done(f"saved {_filename(self.name)}")
            elif kind == "share":
                self.refresh()
                if self.share:
                    self.send({"type": "share", "text": self.share})
                    self._done(f"the share string of {self.name!r} is in the box")
        except ConfigError as exc:
            self._refused(exc)
        except ServerError as exc:  # no panel: the session's own update was refused
            self._refused_with = self.config
            self.error_field = exc.config_field or "preset"
            self.status = f"refused by the server: {exc.message}"

    def close(self) -> None:
        self._watching = False  # the panel's controls cannot be unobserved one by one
        for remove in self._removers:
            remove()
        self._removers = []
        super().close()


def _pasted(text: str) -> str:
    """The share box's text, or a refusal saying what it is not: an empty box, or text that
    is neither a share string (``rw1.`` ...) nor preset JSON."""
    text = text.strip()
    allowed = f"a share string ({SHARE_PREFIX}...) or preset JSON ({{...}})"
    if not text:
        raise ConfigError.single(
            "share string",
            f"the share box is empty: paste a share string ({SHARE_PREFIX}...) or preset JSON",
            allowed=allowed,
        )
    if text[:1] not in ("{", "[") and not text.startswith("rw"):
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise ConfigError.single(
            "share string",
            f"not a share string: {shown!r}; a share string looks like {SHARE_PREFIX}eNq... "
            "(Copy share string makes one), preset JSON starts with '{'",
            allowed=allowed,
            value=text,
        )
    return text


def _builtins() -> list[presets.Preset]:
    return list(presets.BUILTIN_PRESETS.values())


def _filename(name: str) -> str:
    stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in name.strip()) or "preset"
    return f"{stem}.json"
