"""ConfigPanel: a control for every SessionConfig parameter, live against a session.

Every change is validated locally (an invalid value never leaves the kernel; the field says
why), debounced (120 ms: sliders fire on release, so this only merges near-simultaneous
changes) and sent as the minimal ``session.update``. The panel then shows the
**effective** values from ``session.updated``, notes values that were requested but not
applied, pins a rejected update's error to the field ``error.param`` names, and disables
controls that do not apply (temperature under GA, voice once the assistant has spoken, tracing
once on, the model of a live session, the other turn-detection variant's fields). A field that
will lock says so beforehand (the voice: "locks once the model has spoken").

Each control carries a mark for its **effective** state, derived from the config the panel
holds, the session's effective config and the updates in flight: *applied* (the server's
``session.updated`` has the value), *pending* (changed, not yet confirmed), *refused* (the
server's error for that ``session.update``, or a value the rules refuse before sending, or the
server reporting another value than was asked: its value is shown), or *unsent* (no session).
The tooltip says the detail; a line at the top sums them up ("all applied", "2 pending",
"1 refused: ..."); ``state_log`` keeps every transition (path, state, detail).

Its state (the config shown, the pending debounce) lives on the session loop: the session's
events arrive there, and control changes (the kernel's thread) hop there
(:mod:`~realtime_widgets.widgets.browser_messages`). Showing a config sets the controls on the
same thread, so their own change callbacks see ``_applying`` and stay quiet.
"""

from __future__ import annotations

import asyncio
import functools
import html
import json
import re
from collections import deque
from collections.abc import Callable, Iterator
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
    MARKS,
    FieldControl,
    Incomplete,
    SectionControl,
    ToolsControl,
    build_controls,
    plain_value,
    top_field,
)
from realtime_widgets.widgets.copy_button import CopyButton
from realtime_widgets.widgets.listening import Listening

__all__ = ["LOCK_HINTS", "PLAYGROUND_TRANSCRIBER", "ConfigPanel", "playground_config"]

# The playground transcribes the user's words, as OpenAI's Playground shows them: with
# gpt-4o-mini-transcribe, the config's own default model (Transcription()), which streams
# its transcript in deltas (whisper-1 sends the whole text only when done) at lower error and
# cost than whisper-1. Offline the local server's Whisper answers for whichever model is named.
PLAYGROUND_TRANSCRIBER = "gpt-4o-mini-transcribe"

# What a control says before its field locks, by the field's Param.mutable (the lock's reason,
# from the rules, replaces it once locked).
LOCK_HINTS = {
    "until_assistant_audio": "locks once the model has spoken: choose it before the first reply",
}
NOT_CONNECTED = "not connected: sent when the session connects"


def playground_config() -> SessionConfig:
    """The playground's starting config: OpenAI's defaults, except what a person trying it
    expects (issue 23): their own words transcribed, and marin, the voice the docs recommend.
    Code-level ``SessionConfig()`` keeps OpenAI's defaults (transcription off, alloy)."""
    return SessionConfig(voice="marin", transcription={"model": PLAYGROUND_TRANSCRIBER})


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
        self._restoring: set[w.ValueWidget] = set()  # a person's value put back (see below)
        self._generation = 0  # the newest change; older debounced sends give way to it
        self._locked: set[str] = set()  # fields disabled by the rules
        # The effective state (module docstring): control path -> generation of its newest
        # change not yet confirmed; those of them sent; path -> why the server refused it.
        self._pending: dict[str, int] = {}
        self._in_flight: set[str] = set()
        self._refused: dict[str, str] = {}
        self.state_log: deque[tuple[str, str, str]] = deque(maxlen=2000)
        self.controls: dict[str, FieldControl] = {c.path: c for c in build_controls(SessionConfig)}
        for path, control in self.controls.items():
            self._watch(path, control)
            if isinstance(control, ToolsControl):  # the form's edits: on the session loop
                control.run = self._on_loop
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
        self.summary = w.HTML(layout=w.Layout(width="auto", overflow="hidden"))
        self.summary.add_class("rw-panel-summary")
        export = w.VBox(
            [w.HBox([self.export_target, self.copy]), self.export_code, self.export_style]
        )
        super().__init__([self.summary, self.status, self.accordion, export])
        self._show(self.config)
        self._refresh_export()  # the box holds the config's code from the first render
        if session is not None:
            self._listen(
                session.on("session.updated", self._on_effective),
                session.on("session.created", self._on_effective),
                session.on("response.output_audio.delta", self._on_assistant_audio),
            )

    # ---- reading the controls -------------------------------------------------------------------

    def _watch(self, path: str, control: FieldControl) -> None:
        """Report a person's changes of ``control`` (a field) as changes of ``path``, naming
        the inner control they touched (a section's field: its mark follows that change)."""
        if not isinstance(control, SectionControl):
            control.watch_leaves(functools.partial(self._control_changed, path, control.path))
            return
        control.toggle.observe(lambda _: self._control_changed(path, control.path), "value")
        for inner in control.inner:
            inner.watch_leaves(functools.partial(self._control_changed, path, inner.path))

    def _control_changed(
        self, path: str, touched: str, leaf: w.ValueWidget | None = None, given: Any = None
    ) -> None:
        # A person (kernel thread) or the panel itself (on the loop, _applying). The value is
        # read here, when the person set it, and carried to the session loop, where the
        # panel's state lives: the loop may meanwhile redraw the control (a session.updated, an
        # earlier change of a drag), and each change must still arrive as it was made.
        # ``_applying`` is read on the loop only (read here, an edit made while the panel shows
        # a session.updated would be lost).
        # A field of a section carries its own value, not the section's: the section's other
        # fields may show an older config the loop drew a moment ago, and would undo a change
        # of theirs still on its way to the loop.
        own = self._own_field(path, touched)
        try:
            value: Any = (own or self.controls[path]).value
        except (Incomplete, ValueError, json.JSONDecodeError) as exc:
            value = _Unreadable(exc)
        if leaf is not None and leaf.value != given and leaf not in self._restoring:
            # The loop redrew this widget between the person's change and the read above: the
            # person's value is put back, and that change (this again, nested) carries it.
            self._restoring.add(leaf)
            try:
                leaf.value = given
            finally:
                self._restoring.discard(leaf)
            return
        field = path if own is None else touched
        on_session_loop(self.session, self._changed, path, value, touched, field)

    def _own_field(self, path: str, touched: str) -> FieldControl | None:
        """The field of section ``path`` a change of ``touched`` carries alone; None when the
        change is the section's whole value (its toggle, its ``type``, a field of another
        variant, or the section switched off)."""
        section = self.controls[path]
        if touched == path or not isinstance(section, SectionControl):
            return None
        if touched.endswith(".type") or (section.optional and not section.toggle.value):
            return None
        fields = {c.path: c for c in section.inner}
        variants = getattr(fields[touched], "variants", None)
        kind = fields[f"{path}.type"].value if f"{path}.type" in fields else None
        return None if variants is not None and kind not in variants else fields[touched]

    def _changed(self, path: str, value: Any, touched: str, field: str) -> None:
        """A person's change of control ``path``, on the session loop: ``value`` for
        ``field`` (``path`` itself, or the one field of that section that changed);
        ``touched`` is the control whose mark follows it."""
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
            new = self.config.with_changes({field: value})
            # The JSON editor never shows a secret: an edited tool keeps the config's own.
            new, _notes = keep_secrets(new, self.config)
            new.to_session_update(previous=self.config)  # the rules, checked before sending
        except ConfigError as exc:
            self._pin(exc.problems[0].field, str(exc.problems[0].message))
            self._refused[touched] = f"not sent: {exc.problems[0].message}"
            self._refresh_states()
            return
        control.error(None)
        self._refused.pop(touched, None)
        self._schedule()  # sends self.config after the debounce (on this loop)
        if self._live:
            self._pending[touched] = self._generation
        self.config = new
        # A secret typed into the editor is taken, then wiped from the synced text at once.
        self._show(new, keep=None if has_secrets(value) else path)
        self._refresh_export()

    def _on_loop(self, fn: Callable[..., Any], *args: Any) -> None:
        on_session_loop(self.session, fn, *args)

    @property
    def _live(self) -> bool:
        return self.session is not None and self.session.connected

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
        await self._send_update(session, self.config, generation)

    async def _send_update(
        self, session: RealtimeSession, config: SessionConfig, generation: int
    ) -> None:
        # Not `_send`: that name is ipywidgets' own (every state sync of this widget calls it).
        sent = {p for p, g in self._pending.items() if g <= generation}
        self._in_flight |= sent
        self._refresh_states()
        field, refused = "", None
        try:
            await session.aapply(config)
            self.status.value = ""
        except ServerError as exc:
            field, refused = exc.config_field or "", exc.message
            self._pin(field, exc.message)
        except ConfigError as exc:
            field, refused = exc.problems[0].field, f"not sent: {exc.problems[0].message}"
            self._pin(exc.problems[0].field, exc.problems[0].message)
        except TimeoutError:
            refused = "the server did not answer the update"
            self.status.value = f"<span style='color:#c0392b'>{refused}</span>"
        self._settle(sent, generation, field, refused)

    def _settle(self, sent: set[str], generation: int, field: str, refused: str | None) -> None:
        """An update's outcome: its changes leave *pending* (unless changed again since), and
        are *refused* with the reason, or drop an old refusal the server now shows applied."""
        named = self._find(field) if field else None
        for path in sent:
            self._in_flight.discard(path)
            if self._pending.get(path, generation + 1) <= generation:
                del self._pending[path]
            if refused is None:
                continue
            if named is None or _related(path, named.path):
                self._refused[path] = refused
            else:  # a session.update is refused whole
                self._refused[path] = f"refused with its update ({field}: {refused})"
        if (
            refused is not None
            and named is not None
            and not any(_related(p, named.path) for p in self._refused)
        ):
            self._refused[named.path] = refused
        effective = self.session.effective if self.session is not None else None
        if refused is None and effective is not None:
            for path in list(self._refused):
                if _at(self.config, path) == _at(effective, path):
                    del self._refused[path]
            answered = {top_field(p) for p in sent} - {top_field(p) for p in self._pending}
            if answered:  # held while pending: now the server's values
                others = frozenset(self.controls) - answered
                self._show(effective, hold=others)
                return
        self._refresh_states()

    # ---- showing ---------------------------------------------------------------------------

    def _find(self, path: str) -> FieldControl | None:
        head = top_field(path)
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

    def _show(
        self, config: SessionConfig, keep: str | None = None, hold: frozenset[str] = frozenset()
    ) -> None:
        """Show ``config`` in the controls, except ``keep`` (the control a person just set)
        and ``hold`` (fields with a change not yet confirmed: the server's older value must
        not undo what a person typed meanwhile; :meth:`_settle` shows them once answered)."""
        self._applying = True
        try:
            for path, control in self.controls.items():
                if path in hold:
                    continue
                if path != keep:
                    control.set(getattr(config, path))
                elif isinstance(control, SectionControl):
                    control.set(getattr(config, path))  # re-evaluates variant fields
        finally:
            self._applying = False
        self._refresh_rules()
        self._refresh_titles(config)
        self._refresh_states()

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
        for name, param in SessionConfig.PARAMS.items():
            hint = LOCK_HINTS.get(param.mutable)
            control = self.controls[name]
            if hint is None or name in self._locked:
                continue
            if not control.status.value or "rw-hint" in control.status.value:
                control.note(f"<span class='rw-hint' style='color:#666'>{hint}</span>")

    def _refresh_titles(self, config: SessionConfig) -> None:
        """The Transcription section's title says whether the user's words are transcribed."""
        group = SessionConfig.PARAMS["transcription"].group
        index = list(GROUPS).index(group)
        on = config.transcription
        title = group if on is None else f"{group}: on ({on.model})"
        if self.accordion.get_title(index) != title:
            self.accordion.set_title(index, title)

    # ---- the effective state of each control -------------------------------------------------

    def _marked(self, controls: Any = None) -> Iterator[FieldControl]:
        for control in self.controls.values() if controls is None else controls:
            yield control
            if isinstance(control, SectionControl):
                yield from self._marked(control.inner)

    def state_of(self, path: str) -> tuple[str, str] | None:
        """(state, detail) of the control at ``path``: applied, pending, refused or unsent
        (module docstring); None for a variant field the section's type does not have, or a
        field the GA API has not."""
        head = top_field(path)
        variants = getattr(self._find(path), "variants", None)
        if variants is not None and _at(self.config, f"{head}.type") not in variants:
            return None
        if SessionConfig.PARAMS[head].ga is None:
            return None  # not a GA parameter (temperature): nothing a GA server applies
        pending = [p for p in self._pending if _related(p, path)]
        if pending:
            sent = any(p in self._in_flight for p in pending)
            return "pending", (
                "sent; waiting for the server's session.updated"
                if sent
                else "changed; about to be sent"
            )
        session = self.session
        effective = session.effective if session is not None and session.connected else None
        refused = [r for p, r in self._refused.items() if _related(p, path)]
        if refused:
            shown = "" if effective is None else f"; the server has {_short(_at(effective, path))}"
            return "refused", refused[0] + shown
        if effective is None:
            return "unsent", NOT_CONNECTED
        asked, got = _at(self.config, path), _at(effective, path)
        if asked != got and head in self.config.model_fields_set:
            return "refused", f"requested {_short(asked)}; the server has {_short(got)}"
        return "applied", f"the server has {_short(got)}"

    def _refresh_states(self) -> None:
        counts = dict.fromkeys(MARKS, 0)
        # Refusals count once per change refused (a refused section is one), plus each field
        # the server reports with another value than was asked.
        refusals = [f"{path}: {reason}" for path, reason in self._refused.items()]
        for control in self._marked():
            state = self.state_of(control.path)
            if control.state != state and state is not None:
                self.state_log.append((control.path, *state))
            control.show_state(*(state or (None, "")))
            if state is None or isinstance(control, SectionControl):
                continue
            counts[state[0]] += 1
            mine = any(_related(control.path, p) for p in self._refused)
            if state[0] == "refused" and not mine:
                refusals.append(f"{control.path}: {state[1]}")
        counts["refused"] = len(refusals)
        self._show_summary(counts, refusals[0] if refusals else "")

    def _show_summary(self, counts: dict[str, int], first_refusal: str) -> None:
        parts: list[str] = []
        if counts["refused"]:
            symbol, colour = MARKS["refused"]
            parts.append(
                f"<span style='color:{colour}'>{symbol} {counts['refused']} refused: "
                f"{html.escape(first_refusal)}</span>"
            )
        if self._pending:
            symbol, colour = MARKS["pending"]
            count = len(self._pending)
            parts.append(f"<span style='color:{colour}'>{symbol} {count} pending</span>")
        if not parts and counts["unsent"]:
            symbol, colour = MARKS["unsent"]
            parts.append(f"<span style='color:{colour}'>{symbol} {NOT_CONNECTED}</span>")
        if not parts:
            symbol, colour = MARKS["applied"]
            parts.append(f"<span style='color:{colour}'>{symbol} all applied</span>")
        text = "; ".join(parts)
        tip = html.escape(_plain_text(text), quote=True)
        self.summary.value = (
            f"<div class='rw-summary' title='{tip}' style='white-space:nowrap;overflow:hidden;"
            f"text-overflow:ellipsis'>{text}</div>"
        )

    @property
    def summary_text(self) -> str:
        """The summary line as text ("all applied", "2 pending", "1 refused: ...")."""
        return _plain_text(self.summary.value)

    def _refresh_export(self) -> None:
        try:
            # warn=False: a deprecated parameter's note is on its control (and a comment in the
            # code), not a DeprecationWarning on every change of any control
            code = to_code(self.config, self.export_target.value, warn=False)
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
        # The controls show what the server applied (and the marks), but not over a change
        # still on its way.
        held = frozenset(top_field(p) for p in self._pending)
        self._show(effective, hold=held)
        for name in SessionConfig.model_fields:
            control = self.controls[name]
            asked, got = getattr(self.config, name), getattr(effective, name)
            differs = name in self.config.model_fields_set and asked != got and name not in held
            if differs and control.reason is None:
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
        old = self.config
        changed = [n for n in SessionConfig.model_fields if getattr(config, n) != getattr(old, n)]
        self.config = config
        self._schedule()
        if self._live:
            for name in changed:
                self._refused.pop(name, None)
                self._pending[name] = self._generation
        self._show(config)
        self._refresh_export()


class _Unreadable:
    """A control's value that could not be read when it changed (incomplete, bad JSON)."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def _related(a: str, b: str) -> bool:
    """Whether one dotted path is the other or inside it (a section and its fields)."""
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def _at(config: SessionConfig, path: str) -> Any:
    """The plain value at a dotted path of a config (None where there is none)."""
    head, _, rest = path.partition(".")
    value = plain_value(getattr(config, head, None))
    for key in rest.split(".") if rest else ():
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _plain_text(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def _short(value: Any) -> str:
    text = json.dumps(redact(plain_value(value)))
    return text if len(text) < 60 else text[:57] + "..."
