"""What the GPT-Live and translation consoles share: the session's wiring around their parts.

:class:`~.live_playground.LivePlayground` and
:class:`~.translation_playground.TranslationPlayground` are one shape: an
:class:`~.endpoint_form.EndpointForm` above, the settings as controls generated from the
session's config on the left, the session's parts on the right, a notice of what the server
said between them. :class:`SessionConsole` is that shape's logic, written once: the controls
read into a config and applied to the session, the locks, the errors on the controls, the
notices, swapping a session for a new one and closing it. Each console builds its own parts
and says its own words (its status line, its lock notes, its notice rows).

:func:`wav_upload` and :func:`stream_wav_files` are the *Stream WAV* button every playground has.

Like the consoles, a console's state is touched on the session's I/O loop only
(docs/architecture.md "The widgets").
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import ipywidgets as w

from realtime_widgets.client.live import LiveSession
from realtime_widgets.client.translation import TranslationSession
from realtime_widgets.errors import ConfigError
from realtime_widgets.protocol.configbase import ConfigModel
from realtime_widgets.protocol.events import ServerEvent
from realtime_widgets.widgets.browser_messages import on_session_loop
from realtime_widgets.widgets.controls import FieldControl, Incomplete, build_controls, top_field
from realtime_widgets.widgets.endpoint_form import OPENAI, EndpointForm

__all__ = ["SessionConsole", "stream_wav_files", "wav_upload"]

S = TypeVar("S", LiveSession, TranslationSession)
C = TypeVar("C", bound=ConfigModel)
KEPT_NOTICES = 4  # the latest distinct things the server said, shown above the console
NOTICE_BOX = (
    "<div style='border:1px solid #e8c170;background:#fff8e6;border-radius:6px;"
    "padding:{padding};font-size:12px;line-height:1.4;white-space:normal;"
    "overflow-wrap:anywhere'>{rows}</div>"
)


def wav_upload(on_files: Callable[[Any], None], description: str = "Stream WAV") -> w.FileUpload:
    """The button that streams a WAV file into the session as if it were spoken: ``on_files``
    gets its files (see :func:`stream_wav_files`)."""
    upload = w.FileUpload(
        accept=".wav",
        description=description,
        tooltip="stream a WAV file into the session as if it were spoken",
        layout=w.Layout(width="auto", flex="0 0 auto"),
    )
    upload.observe(lambda change: on_files(change["new"]), "value")
    return upload


def stream_wav_files(microphone: Any, files: Any, say: Callable[[str], None]) -> None:
    """Stream each uploaded WAV file through ``microphone``; a file it cannot stream is said
    with ``say`` (next to the connection), never raised into a click."""
    for file in files or ():
        try:
            microphone.stream_file(bytes(file["content"]))
        except Exception as exc:
            say(str(exc))


class SessionConsole(w.VBox, Generic[S, C]):  # type: ignore[misc]
    """A console of one session at a time (see the module docstring). A console calls
    :meth:`_start_console` first in its ``__init__`` and :meth:`_assemble` once its settings
    column is built, and gives :meth:`_build_parts`, :meth:`_listen_more`,
    :meth:`_locks` and :meth:`_submit_update` (and its words: :meth:`_on_session`, ...)."""

    requested: C
    connection: EndpointForm
    settings: w.Widget
    session: S | None
    parts: dict[str, w.Widget]
    controls: dict[str, FieldControl]
    notice: w.HTML
    body: w.VBox
    _config: type[C]
    _removers: list[Callable[[], None]]
    _notices: dict[str, tuple[str, str]]  # key -> (colour, message), newest last
    _restoring: bool  # controls being put back to the session's values
    _NOTICE_PADDING = "3px 8px"

    def _start_console(self, config: type[C], requested: C, connection: EndpointForm) -> None:
        """The settings asked for, the form (OpenAI chosen when a key is set), no session yet,
        and the controls of ``config``'s fields showing ``requested``."""
        self.requested = requested
        self._config = config
        self.connection = connection
        if os.environ.get("OPENAI_API_KEY"):
            connection.target.value = OPENAI
        self.session = None
        self.parts = {}
        self._removers = []
        self._notices = {}
        self._restoring = False
        self.controls = {c.path: c for c in build_controls(self._config)}
        for name, control in self.controls.items():
            control.set(getattr(requested, name))
            control.watch(self._control_changed)

    def _assemble(self, name: str) -> None:
        """The console itself: the form, the notice (``rw-{name}-notice``), and the settings
        beside the body that :meth:`_bind` fills (``rw-{name}-playground``)."""
        self.notice = w.HTML(layout=w.Layout(display="none", width="100%"))
        self.notice.add_class(f"rw-{name}-notice")
        self.body = w.VBox(layout=w.Layout(flex="1 1 0", min_width="0", padding="0 0 0 10px"))
        console = w.HBox(
            [self.settings, self.body], layout=w.Layout(width="100%", align_items="flex-start")
        )
        super().__init__([self.connection, self.notice, console], layout=w.Layout(width="100%"))
        self.add_class(f"rw-{name}-playground")

    # ---- connecting -----------------------------------------------------------------------------

    def _clicked(self, action: Callable[[], Any]) -> None:
        try:
            action()
        except Exception as exc:  # shown, never raised into the browser's click
            said = f"{type(exc).__name__}: {exc}"
            if self.session is not None and self.session.connected:
                said += "; the session goes on"
            self.connection.say(said, error=True)

    def _switch_to(self, session: S) -> None:
        """Connect ``session`` and make it the console's: its parts are built, and the old
        session (if any) closes once the new one is connected (a connect that raises leaves
        the old one going, and the new one closed)."""
        try:
            session.connect()
        except BaseException:
            session.close()
            raise
        old, old_parts, old_removers = self.session, self.parts, self._removers
        for remove in old_removers:  # (the old session's events no longer reach the console)
            remove()
        self._notices = {}
        self.notice.layout.display = "none"
        self._bind(session)
        self._close(old, old_parts, [])

    def _bind(self, session: S) -> None:
        """Build the parts for ``session`` (:meth:`_build_parts`); ``self.session`` is set once
        they are whole, so whoever sees the new session (another thread too) sees its parts,
        and the console's listeners come last (after the parts' own; the old session's are
        gone: nobody else touches its state)."""
        parts, rows = self._build_parts(session)
        self.body.children = rows
        self.parts = parts
        self.session = session  # the parts are whole (see the docstring)
        self._removers = [
            session.on("session.updated", self._on_session),
            session.on("session.reconnecting", self._on_reconnecting),
            session.on("session.reconnected", self._on_reconnected),
            session.on("session.disconnected", self._on_disconnected),
            session.on("error", self._on_error),
            *self._listen_more(session),
        ]

    def _build_parts(self, session: S) -> tuple[dict[str, w.Widget], list[w.Widget]]:
        """The parts for ``session`` by name, and the body's rows."""
        raise NotImplementedError

    def _listen_more(self, session: S) -> list[Callable[[], None]]:
        """The console's own listeners on ``session`` (beside those every console has: updated,
        reconnecting, reconnected, disconnected, error), their removers."""
        raise NotImplementedError

    def _upload(self, files: Any) -> None:
        stream_wav_files(
            self.parts["microphone"], files, lambda said: self.connection.say(said, error=True)
        )

    # ---- settings -------------------------------------------------------------------------------

    def _read_controls(self) -> C:
        """The controls as a config: the settings so far with what the controls changed (a
        setting nobody touched stays unset and is not sent). Raises ConfigError naming the
        field, or Incomplete for a value being typed."""
        shown = self._config(**{name: c.value for name, c in self.controls.items()})
        changed = {
            name: getattr(shown, name)
            for name in self.controls
            if getattr(shown, name) != getattr(self.requested, name)
        }
        return self.requested.with_changes(changed) if changed else self.requested

    def _control_changed(self) -> None:
        """A person changed a control (the kernel's thread): applied on the session loop."""
        if self._restoring:  # (the console put a control back: no change of the person's)
            return
        on_session_loop(self.session, self._apply_controls)

    def _apply_controls(self) -> None:
        """Read the controls and, with a session, send what changed at once
        (:meth:`_submit_update`). An invalid value is shown on its control and not sent."""
        try:
            config = self._read_controls()
        except Incomplete:
            return  # (a value being typed)
        except ConfigError as exc:
            for problem in exc.problems:
                self._say_on(problem.field, problem.message)
            return
        locks = self._locks()
        for name, control in self.controls.items():
            if name not in locks:
                control.error(None)
        self.requested = config
        session = self.session
        if session is None or not session.connected:
            return  # the next connect carries it
        self._submit_update(session, config)

    def _submit_update(self, session: S, config: C) -> None:
        """Send ``config`` to the connected ``session`` (on the session loop)."""
        raise NotImplementedError

    def _say_on(self, path: str | None, message: str) -> None:
        """An error on the control of a field or of a part of one (``a.b``, ``a[0].b``; None:
        on none: the notice above the console says what the server says)."""
        control = self.controls.get(top_field(path))
        if control is not None:
            control.error(message)

    def _locks(self) -> dict[str, str]:
        """Field -> why it cannot be set now."""
        raise NotImplementedError

    def _refresh_locks(self) -> None:
        """Disable the fields locked now, with the reason (and :meth:`_lock_note`)."""
        locks = self._locks()
        for name, control in self.controls.items():
            reason = locks.get(name)
            if reason == control.reason:
                continue
            control.disable(reason)
            if reason is not None:
                self._lock_note(name, control, reason)

    def _lock_note(self, name: str, control: FieldControl, reason: str) -> None:
        """What a control locked now says under it (nothing by default)."""

    # ---- what the session reports ---------------------------------------------------------------

    def _on_session(self, event: ServerEvent | None) -> None:
        raise NotImplementedError

    def _on_reconnecting(self, event: ServerEvent) -> None:
        """The connection dropped and the session reopens it: said at once, each attempt."""
        said = getattr(event, "message", None) or "connection lost: reconnecting"
        self.connection.say(f"{said}...", warning=True)

    def _on_reconnected(self, event: ServerEvent) -> None:
        raise NotImplementedError

    def _on_disconnected(self, event: ServerEvent) -> None:
        raise NotImplementedError

    def _on_error(self, event: ServerEvent) -> None:
        raise NotImplementedError

    def _notice(self, key: str, colour: str, message: str) -> None:
        """Show ``message`` above the console (the newest of a key replaces an older one; the
        latest few are kept)."""
        self._notices.pop(key, None)
        self._notices[key] = (colour, message)
        while len(self._notices) > KEPT_NOTICES:
            del self._notices[next(iter(self._notices))]
        self._show_notices()

    def _show_notices(self) -> None:
        rows = "".join(
            self._notice_row(key, colour, message)
            for key, (colour, message) in reversed(self._notices.items())
        )
        self.notice.value = NOTICE_BOX.format(padding=self._NOTICE_PADDING, rows=rows)
        self.notice.layout.display = None if rows else "none"

    def _notice_row(self, key: str, colour: str, message: str) -> str:
        """A notice's row, its HTML."""
        raise NotImplementedError

    # ---- closing --------------------------------------------------------------------------------

    def close_session(self) -> None:
        """Close the session and its parts (the settings stay, unlocked)."""
        session, parts, removers = self.session, self.parts, self._removers
        self.session, self.parts, self._removers = None, {}, []
        self.body.children = []
        self._close(session, parts, removers)
        self._refresh_locks()

    @staticmethod
    def _close(
        session: LiveSession | TranslationSession | None,
        parts: dict[str, w.Widget],
        removers: list[Callable[[], None]],
    ) -> None:
        for remove in removers:
            remove()
        if session is not None:
            session.close()
        for part in parts.values():
            part.close()

    def _close_own(self) -> None:
        """Close what the console made beside its parts and form (nothing by default)."""

    def close(self) -> None:
        self.close_session()
        self.connection.close()
        self._close_own()
        super().close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.session!r})"
