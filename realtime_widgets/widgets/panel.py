"""ConfigPanel: a control for every SessionConfig parameter, live against a session.

Every change is validated locally (an invalid value never leaves the kernel; the field says
why), debounced (120 ms: sliders fire on release, so this only merges near-simultaneous
changes) and sent as the minimal ``session.update``. The panel then shows the
**effective** values from ``session.updated``, notes values that were requested but not
applied, pins a rejected update's error to the field ``error.param`` names, and disables
controls that do not apply (temperature under GA, voice once the assistant has spoken, tracing
once on, the model of a live session, the other turn-detection variant's fields).

Its state (the config shown, the pending debounce) lives on the session loop: the session's
events arrive there, and control changes (the kernel's thread) hop there
(:mod:`~realtime_widgets.widgets.browser_messages`). Showing a config sets the controls on the
same thread, so their own change callbacks see ``_applying`` and stay quiet.
"""

from __future__ import annotations

import asyncio
import html
import json
from typing import Any

import ipywidgets as w

from realtime_widgets.client.session import RealtimeSession
from realtime_widgets.errors import ConfigError, ServerError
from realtime_widgets.protocol.config import GROUPS, SessionConfig
from realtime_widgets.protocol.events import ServerEvent
from realtime_widgets.protocol.export import EXPORT_TARGETS, to_code
from realtime_widgets.protocol.redaction import has_secrets, keep_secrets, redact
from realtime_widgets.protocol.rules import locked_fields
from realtime_widgets.widgets.browser_messages import on_session_loop, read_on_session_loop
from realtime_widgets.widgets.controls import (
    FieldControl,
    Incomplete,
    SectionControl,
    build_controls,
    leaves,
    plain_value,
)
from realtime_widgets.widgets.copy_button import CopyButton
from realtime_widgets.widgets.listening import Listening

__all__ = ["ConfigPanel"]

# The export box holds code: never soft-wrapped (a line broken at the box's edge reads as two),
# monospace, a long line scrolls sideways.
_EXPORT_CSS = (
    ".rw-export-code textarea{white-space:pre;overflow-wrap:normal;overflow-x:auto;"
    "font-family:var(--jp-code-font-family,monospace);font-size:12px}"
)


class ConfigPanel(Listening, w.VBox):  # type: ignore[misc]
    """The session's parameters as controls, grouped; see the module docstring."""

    def __init__(
        self,
        session: RealtimeSession | None = None,
        config: SessionConfig | None = None,
        *,
        debounce_s: float = 0.12,
    ) -> None:
        self.session = session
        self.config = config or (session.requested if session is not None else SessionConfig())
        self.debounce_s = debounce_s
        self.sent_updates = 0
        self._applying = False  # the panel is setting the controls itself
        self._generation = 0  # the newest change; older debounced sends give way to it
        self._locked: set[str] = set()  # fields disabled by the rules
        self.controls: dict[str, FieldControl] = {c.path: c for c in build_controls(SessionConfig)}
        for path, control in self.controls.items():
            for leaf in leaves(control.widget):
                if isinstance(leaf, w.ValueWidget):
                    leaf.observe(lambda _change, p=path: self._control_changed(p), "value")
        groups = {g: [] for g in GROUPS}  # type: dict[str, list[w.Widget]]
        for name, param in SessionConfig.params().items():
            groups[param.group].append(self.controls[name].box)
        self.accordion = w.Accordion(
            children=[w.VBox(v) for v in groups.values()], titles=list(groups)
        )
        self.accordion.selected_index = 0
        self.export_target = w.Dropdown(options=list(EXPORT_TARGETS), description="export as")
        self.export_code = w.Textarea(layout=w.Layout(width="95%", height="180px"), disabled=True)
        self.export_code.add_class("rw-export-code")
        self.export_style = w.HTML(f"<style>{_EXPORT_CSS}</style>", layout=w.Layout(display="none"))
        self.copy = CopyButton()
        self.export_target.observe(lambda _: self._refresh_export(), "value")
        self.status = w.HTML()
        export = w.VBox(
            [w.HBox([self.export_target, self.copy]), self.export_code, self.export_style]
        )
        super().__init__([self.status, self.accordion, export])
        self._show(self.config)
        self._refresh_export()  # the box holds the config's code from the first render
        if session is not None:
            self._listen(
                session.on("session.updated", self._on_effective),
                session.on("session.created", self._on_effective),
                session.on("response.output_audio.delta", self._on_assistant_audio),
            )

    # ---- reading the controls -------------------------------------------------------------------

    def _control_changed(self, path: str) -> None:
        # A person (kernel thread) or the panel itself (on the loop, _applying). The value is
        # read here, when the person set it, and carried to the session loop, where the
        # panel's state lives: the loop may meanwhile redraw the control (a session.updated, an
        # earlier change of a drag), and each change must still arrive as it was made.
        # ``_applying`` is read on the loop only (read here, an edit made while the panel shows
        # a session.updated would be lost).
        control = self.controls[path]
        try:
            value: Any = control.value
        except (Incomplete, ValueError, json.JSONDecodeError) as exc:
            value = _Unreadable(exc)
        on_session_loop(self.session, self._changed, path, value)

    def _changed(self, path: str, value: Any) -> None:
        if self._applying:
            return
        control = self.controls[path]
        if isinstance(value, _Unreadable):
            exc = value.error
            if isinstance(exc, Incomplete):
                control.note(f"<span style='color:#888'>{html.escape(str(exc))}</span>")
            else:
                control.error(f"{path}: not valid JSON ({exc})")
            return
        try:
            new = self.config.with_changes({path: value})
            # The JSON editor never shows a secret: an edited tool keeps the config's own.
            new, _notes = keep_secrets(new, self.config)
            new.to_session_update(previous=self.config)  # the rules, checked before sending
        except ConfigError as exc:
            self._pin(exc.problems[0].field, str(exc.problems[0].message))
            return
        control.error(None)
        self.config = new
        # A secret typed into the editor is taken, then wiped from the synced text at once.
        self._show(new, keep=None if has_secrets(value) else path)
        self._refresh_export()
        self._schedule()

    def _schedule(self) -> None:
        session = self.session
        if session is None:
            return
        self._generation += 1
        session.submit(self._debounced(session, self._generation))

    async def _debounced(self, session: RealtimeSession, generation: int) -> None:
        """Send the config after the debounce, unless a newer change came meanwhile."""
        await asyncio.sleep(self.debounce_s)
        if generation != self._generation or not session.connected:
            return
        self.sent_updates += 1
        await self._send_update(session, self.config)

    async def _send_update(self, session: RealtimeSession, config: SessionConfig) -> None:
        # Not `_send`: that name is ipywidgets' own (every state sync of this widget calls it).
        try:
            await session.aapply(config)
            self.status.value = ""
        except ServerError as exc:
            self._pin(exc.config_field or "", exc.message)
        except ConfigError as exc:
            self._pin(exc.problems[0].field, exc.problems[0].message)
        except TimeoutError:
            self.status.value = (
                "<span style='color:#c0392b'>the server did not answer the update</span>"
            )

    # ---- showing ---------------------------------------------------------------------------

    def _find(self, path: str) -> FieldControl | None:
        head = path.split(".")[0].split("[")[0]
        control = self.controls.get(head)
        if isinstance(control, SectionControl):
            for inner in control.inner:
                if path == inner.path or path.startswith(inner.path + "."):
                    return inner
        return control

    def _pin(self, field: str, message: str) -> None:
        control = self._find(field)
        if control is None:
            self.status.value = f"<span style='color:#c0392b'>&#9888; {message}</span>"
        else:
            control.error(message)

    def _show(self, config: SessionConfig, keep: str | None = None) -> None:
        self._applying = True
        try:
            for path, control in self.controls.items():
                if path != keep:
                    control.set(getattr(config, path))
                elif isinstance(control, SectionControl):
                    control.set(getattr(config, path))  # re-evaluates variant fields
        finally:
            self._applying = False
        self._refresh_rules()

    def _refresh_rules(self) -> None:
        """Disable the fields :func:`locked_fields` locks, with its reason (the other
        variant's fields inside a section are disabled by the SectionControl itself)."""
        session = self.session
        live = session is not None and session.connected
        effective = session.effective if session is not None else None
        locks = locked_fields(
            effective if live and effective is not None else self.config,
            live=live,
            assistant_has_spoken=session is not None and session.state.assistant_has_spoken,
        )
        for name in sorted(set(locks) & set(self.controls) | self._locked):
            self.controls[name].disable(locks.get(name))
        self._locked = set(locks) & set(self.controls)

    def _refresh_export(self) -> None:
        try:
            code = to_code(self.config, self.export_target.value)
        except ConfigError as exc:
            code = f"# cannot export: {exc}"
        self.export_code.value = code
        self.copy.text = code

    def _on_effective(self, event: ServerEvent) -> None:
        session = self.session
        if session is None or session.effective is None:
            return
        effective = session.effective
        if effective.model != self.config.model:
            self.config = self.config.with_changes(model=effective.model)  # fixed by the server
            self._refresh_export()
        self._show(effective)  # the controls show what the server applied
        for name in SessionConfig.model_fields:
            control = self.controls[name]
            asked, got = getattr(self.config, name), getattr(effective, name)
            if name in self.config.model_fields_set and asked != got and control.reason is None:
                control.note(
                    f"<span style='color:#b9770e'>requested {_short(asked)}; the server has "
                    f"{_short(got)}</span>"
                )
            elif "requested" in control.status.value:
                control.note(None)

    def _on_assistant_audio(self, event: ServerEvent) -> None:
        if self.controls["voice"].reason is None:
            self._refresh_rules()

    def load(self, config: SessionConfig) -> None:
        """Show a whole ``config`` (a preset, a loaded file) and send it as one update; returns
        once the panel holds it (the work runs on the session loop, where the panel's state
        lives, so a second ``load`` builds on this one).

        Raises :class:`ConfigError` (nothing changed) if a live session cannot take it."""
        read_on_session_loop(self.session, lambda: self._load(config))

    def _load(self, config: SessionConfig) -> None:
        session = self.session
        if session is not None and session.connected:  # the rules, checked before showing
            spoken = session.state.assistant_has_spoken
            config.to_session_update(previous=self.config, assistant_has_spoken=spoken)
        else:
            config.to_session_update()
        for control in self.controls.values():
            control.error(None)
        self.config = config
        self._show(config)
        self._refresh_export()
        self._schedule()


class _Unreadable:
    """A control's value that could not be read when it changed (incomplete, bad JSON)."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def _short(value: Any) -> str:
    text = json.dumps(redact(plain_value(value)))
    return text if len(text) < 60 else text[:57] + "..."
