"""Playground: the whole console in one line, ``rw.Playground()``.

Connection (the embedded local server by default — no key needed, its replies honest reports,
your own audio echoed, or a Chat Completions endpoint of your choice (URL + model, its key in a
field that never syncs); OpenAI with a key that never syncs; Azure OpenAI; or a recording to
replay), the config panel, microphone and speaker, the waveform, the transcript, text input and
turn controls, metrics and the event log, all bound to one RealtimeSession.

The chat URL is a field like any other, synced and saved with the notebook (the user typed
it): the status line shows it without user:password@ or a query, and says so when it carries
them (a key belongs in the key field). Status lines are text, escaped before they are shown.

The form's first choice is the session kind: Realtime (this console), GPT-Live or translation.
The other two get their own console (:data:`CONSOLES`: a :class:`~.live_playground.
LivePlayground`, a :class:`~.translation_playground.TranslationPlayground`) in place of this
one, pointed where the form points (the local server, with its chat endpoint, or OpenAI, the
keys carried over in the kernel, never synced; they connect only there); it connects when its
Connect is pressed. Realtime again brings this form back (with the other console's endpoint and
keys) and closes the other console.

Laid out as a console that fits a 1366x768 window, JupyterLab's file browser open or closed:
the connection form on a line (two when narrow) with a *Full screen* button at its end; below
it, the settings on the left (their own scroll; ``settings`` is a column that takes more rows),
and on the right the conversation (audio controls, waveform, transcript, text bar) above the
metrics / events tabs. Nothing scrolls sideways. *Full screen* makes the same playground fill
the screen (its widgets keep running; Escape or the button returns); the first time it is
shown, the playground scrolls itself into view (Run All leaves the notebook at its last cell).
"""

from __future__ import annotations

import html
import os
import threading
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets as w
import traitlets as t

from realtime_widgets.client.auth import Endpoint
from realtime_widgets.client.recording import unused_path
from realtime_widgets.client.session import RealtimeSession, local_server
from realtime_widgets.errors import RealtimeWidgetsError
from realtime_widgets.protocol.config import MODELS, SessionConfig
from realtime_widgets.widgets.browser_messages import read_on_session_loop
from realtime_widgets.widgets.console import stream_wav_files, wav_upload
from realtime_widgets.widgets.conversation import ConversationBar
from realtime_widgets.widgets.endpoint_form import LOCAL, OPENAI, ChatEndpointForm, EndpointForm
from realtime_widgets.widgets.eventlog import EventLog
from realtime_widgets.widgets.key_field import KeyField
from realtime_widgets.widgets.latency import LatencyProbe
from realtime_widgets.widgets.live_playground import LivePlayground
from realtime_widgets.widgets.metrics import MetricsView
from realtime_widgets.widgets.microphone import Microphone
from realtime_widgets.widgets.panel import ConfigPanel, playground_config
from realtime_widgets.widgets.preset_bar import PresetBar
from realtime_widgets.widgets.speaker import Speaker
from realtime_widgets.widgets.transcript import TranscriptView
from realtime_widgets.widgets.translation_playground import TranslationPlayground
from realtime_widgets.widgets.waveform import Waveform

__all__ = ["CONSOLES", "Connection", "FullScreenButton", "Playground"]

TARGETS = ("Local server (no key)", "OpenAI", "Azure OpenAI", "Replay a recording")
# The session kinds the connection form offers, each with its console (None: the Playground's
# own, Realtime's, the first and the default).
CONSOLES: dict[str, type[LivePlayground] | type[TranslationPlayground] | None] = {
    "Realtime": None,
    "GPT-Live": LivePlayground,
    "translation": TranslationPlayground,
}
# The console's height: the window's, less JupyterLab's bars (~120 px) and the connection form
# (two lines when narrow), within bounds: a 768 px window leaves 568 px, a 1080 px one 880 px.
BODY_HEIGHT = "clamp(500px, calc(100vh - 200px), 900px)"
# The metrics / events tabs' share of the console's height (the transcript takes the rest):
# ~142 px at 1366x768, ~220 px at 1920x1080.
TABS_HEIGHT = "25%"
TABS_MIN_HEIGHT = "140px"
_FORM = {"description_width": "initial"}
# Who answers on the local server: the honest report, the user's own audio played back, or a
# Chat Completions endpoint (Ollama, llama.cpp, vLLM, LM Studio, OpenAI) as its model
# (endpoint_form.ChatEndpointForm: its status says so when the URL carries what may be a key).
RESPONDER_CHOICES = (
    ("honest local replies", "local"),
    ("echo my audio back", "echo"),
    ("chat endpoint", "chat"),
)


class Connection(w.VBox):  # type: ignore[misc]
    """Where to connect: builds an :class:`Endpoint` (the key stays in the kernel)."""

    def __init__(self, model: str = MODELS[0]) -> None:
        auto = w.Layout(width="auto")
        self.kind = w.Dropdown(
            options=list(CONSOLES),
            description="session",
            style=_FORM,
            layout=w.Layout(width="auto"),  # its own: the others' layout is hidden with them
        )
        self.target = w.Dropdown(
            options=list(TARGETS), description="connect to", style=_FORM, layout=auto
        )
        self.model = w.Combobox(
            options=list(MODELS),
            value=model,
            description="model",
            ensure_option=False,
            style=_FORM,
            layout=w.Layout(width="230px"),
        )
        self.azure_endpoint = w.Text(
            description="endpoint", placeholder="my-resource.openai.azure.com", style=_FORM
        )
        self.deployment = w.Text(description="deployment", placeholder="gpt-realtime", style=_FORM)
        self.responder = w.Dropdown(
            options=RESPONDER_CHOICES,
            value="local",
            description="replies",
            style=_FORM,
            layout=w.Layout(width="auto"),
        )
        self.key = KeyField()
        # The chat endpoint's fields (the form piece the other playgrounds share): a line of
        # their own, shown for "replies: chat endpoint".
        self.chat_line = ChatEndpointForm()
        self.chat_url = self.chat_line.url
        self.chat_model = self.chat_line.model
        self.chat_key = self.chat_line.key
        self.record = w.Text(
            description="record to",
            placeholder="optional: session.jsonl",
            style=_FORM,
            layout=w.Layout(width="230px"),
        )
        self.replay_path = w.Text(description="recording", placeholder="session.jsonl", style=_FORM)
        self.button = w.Button(description="Connect", button_style="primary", layout=auto)
        self.status = w.HTML(layout=w.Layout(margin="0 0 0 8px"))
        self.target.observe(lambda _: self._visible(), "value")
        self.kind.observe(lambda _: self._visible(), "value")
        self.responder.observe(lambda _: self._visible(), "value")
        # One line (it wraps on a narrow page); ``extra`` holds controls added next to the
        # target (e.g. a responder choice for the local server).
        self.extra = w.HBox([self.responder], layout=w.Layout(width="auto"))
        self.line = w.HBox(
            [
                self.kind,
                self.target,
                self.model,
                self.extra,
                self.azure_endpoint,
                self.deployment,
                self.key,
                self.record,
                self.replay_path,
                self.button,
                self.status,
            ],
            layout=w.Layout(flex_flow="row wrap", align_items="center", width="100%"),
        )
        super().__init__([self.line, self.chat_line], layout=w.Layout(width="100%"))
        self._visible()

    def _visible(self) -> None:
        kind = TARGETS.index(self.target.value)
        show = {
            self.azure_endpoint: kind == 2,
            self.deployment: kind == 2,
            self.key: kind in (1, 2),
            self.record: kind != 3,
            self.replay_path: kind == 3,
            self.model: kind in (0, 1),
            self.responder: kind == 0,
            self.chat_line: kind == 0 and self.responder.value == "chat",
            self.target: True,
            self.extra: True,
            self.button: True,
            self.status: True,
        }
        realtime = self.kind.value == "Realtime"  # else only the kind: the console has its form
        for widget, visible in show.items():
            widget.layout.display = None if visible and realtime else "none"

    def endpoint(self) -> Endpoint:
        kind = TARGETS.index(self.target.value)
        model = self.model.value or MODELS[0]
        if kind == 0 and self.responder.value == "chat":
            return Endpoint.local(self.chat_server().url, model)
        if kind == 0:
            return Endpoint.local(local_server(self.responder.value).url, model)
        if kind == 1:
            return Endpoint.openai(model, self.key.secret)
        if kind == 2:
            return Endpoint.azure(self.azure_endpoint.value, self.deployment.value, self.key.secret)
        raise RealtimeWidgetsError("a replay has no endpoint")

    @property
    def chat_settings(self) -> str:
        """The chat endpoint in words, for the status line (:attr:`ChatEndpointForm.settings`:
        never the key, nor the URL's credentials)."""
        return self.chat_line.settings

    def chat_server(self) -> Any:
        """The local server whose replies come from the chat endpoint in the form
        (:meth:`ChatEndpointForm.server`)."""
        return self.chat_line.server()

    def stop_chat_server(self) -> None:
        self.chat_line.stop_server()

    def point(self, form: EndpointForm) -> bool:
        """Point another kind's ``form`` where this one points: the local server (its chat
        endpoint, if chosen) or OpenAI, the keys handed over in the kernel (never synced).
        False when this form points where the other kinds do not go (Azure, a recording):
        ``form`` is left on the local server."""
        kind = TARGETS.index(self.target.value)
        form.target.value = OPENAI if kind == 1 else LOCAL
        form.answers.value = "chat" if self.responder.value == "chat" else "server"
        self._copy_chat(self.chat_line, form.chat)
        form.key.use(self.key.secret)
        return kind in (0, 1)

    def take(self, form: EndpointForm) -> None:
        """The reverse of :meth:`point`: where another kind's ``form`` pointed, back here."""
        if self.target.value in TARGETS[:2]:  # Azure or a recording stay as they were
            self.target.value = TARGETS[0] if form.local else TARGETS[1]
        if form.local:
            self.responder.value = "chat" if form.uses_chat else "local"
        self._copy_chat(form.chat, self.chat_line)
        self.key.use(form.key.secret)

    @staticmethod
    def _copy_chat(source: ChatEndpointForm, into: ChatEndpointForm) -> None:
        into.url.value, into.model.value = source.url.value, source.model.value
        into.key.use(source.key.secret)

    def close(self) -> None:
        self.chat_line.close()
        super().close()


class FullScreenButton(anywidget.AnyWidget):
    """The playground's *Full screen* toggle (playground.js): the playground it sits in fills
    the screen, the same widgets running (Escape or the button returns). With ``scroll_on_show``
    the playground also scrolls itself into view the first time it is shown."""

    _esm = Path(__file__).with_name("playground.js")
    scroll_on_show = t.Bool(True).tag(sync=True)


class Playground(w.VBox):  # type: ignore[misc]
    """Every part of the toolkit, bound to one session (see the module docstring)."""

    def __init__(self, config: SessionConfig | None = None, *, connect: bool = True) -> None:
        self.config = config or playground_config()  # transcription on, voice marin
        self.connection = Connection(self.config.model)
        if os.environ.get("OPENAI_API_KEY"):
            self.connection.target.value = TARGETS[1]
        self.connection.button.on_click(lambda _: self._connect_clicked())
        self.connection.kind.observe(lambda _: self._kind_chosen(), "value")
        # The console of the kind chosen when it is not Realtime (CONSOLES), in the body.
        self.console: LivePlayground | TranslationPlayground | None = None
        self.session: RealtimeSession | None = None
        self.latency: LatencyProbe | None = None
        self.parts: dict[str, w.Widget] = {}
        self.body = w.VBox()
        self.body.add_class("rw-body")
        self.full_screen = FullScreenButton(layout=w.Layout(margin="0 0 0 auto"))
        self.connection.line.children = (*self.connection.line.children, self.full_screen)
        super().__init__([self.connection, self.body], layout=w.Layout(width="100%"))
        self.add_class("rw-playground")
        if connect and self.connection.target.value == TARGETS[0]:
            self.connect()

    def _kind_chosen(self) -> None:
        """The session kind changed: the Realtime session (its settings kept for later) or
        the other kind's console closes, and the new kind's console takes the body, pointed
        where the form pointed; nothing connects until its Connect is pressed."""
        kind = self.connection.kind.value
        console_class = CONSOLES[kind]
        old = self.console
        self.console = None
        if old is not None:
            self.connection.take(old.connection)
            old.close()
        if self.session is not None and not self.session.replaying:
            self._keep_settings()
        self.close_session()
        if console_class is None:
            self.connection.status.value = html.escape("press Connect to start a Realtime session")
            return
        self.connection.stop_chat_server()
        console = console_class(connect=False)
        if self.connection.point(console.connection):
            console.connection.say(f"press Connect to start a {kind} session")
        else:
            console.connection.say(
                f"{kind} sessions connect to the local server or OpenAI: the local server "
                "is chosen",
                error=True,
            )
        self.console = console
        self.body.children = [console]

    def _connect_clicked(self) -> None:
        try:
            if TARGETS.index(self.connection.target.value) == 3:
                self.replay(self.connection.replay_path.value)
            else:
                self.connect()
        except Exception as exc:  # shown, never raised into the browser's click
            self._failed("", exc)

    def _new_conversation_clicked(self) -> None:
        """The transcript toolbar's *New conversation*: a failure is said on the status line,
        and raised on to the toolbar, which shows it in the view that asked."""
        try:
            self.new_conversation()
        except Exception as exc:
            self._failed("new conversation failed: ", exc)
            raise

    def _failed(self, what: str, exc: Exception) -> None:
        said = f"{what}{type(exc).__name__}: {exc}"
        if self.session is not None and self.session.connected:
            said += "; the conversation goes on"  # a failed start leaves the old session
        shown = html.escape(said)
        self.connection.status.value = f"<span style='color:#c0392b'>{shown}</span>"

    def _keep_settings(self) -> str | None:
        """Before the parts are rebuilt: take the settings the panel holds now into
        ``self.config`` (a preset applied, a slider moved: a reconnect must not drop them), and
        return a loaded preset's name."""
        old = self.session
        panel = self.parts.get("panel")
        if old is not None and not old.replaying and isinstance(panel, ConfigPanel):
            self.config = read_on_session_loop(old, lambda: panel.config)
        name = getattr(self.parts.get("presets"), "name", None)
        return name if isinstance(name, str) else None

    def _start(self, endpoint: Endpoint, started: str) -> RealtimeSession:
        """A new session on ``endpoint`` with the settings the panel holds now, recording to the
        next free file; the parts are rebuilt for it and ``started`` goes on the status line.

        The new session connects before the old one closes: when the connect raises, the
        half-made session is closed (its empty recording removed), the old conversation goes
        on as it was, and the error is raised to the caller (the Connect button and the
        toolbar show it)."""
        name = self._keep_settings()
        record = self._recording()
        session = RealtimeSession(self.config, endpoint=endpoint, record=record)
        try:
            session.connect()
        except BaseException:
            session.close()
            if record is not None and record.exists() and record.stat().st_size == 0:
                record.unlink()  # made by this connect, nothing written
            raise
        # The old conversation stays whole until the new one is: whoever reads
        # ``playground.session`` (another thread too) sees the old or the new, never None.
        old = (self.session, self.parts, self.latency)
        self.latency = None
        self._bind(session, name)
        self._close(*old)
        if record is not None:
            started += f", recording to {record}"
        self.connection.status.value = html.escape(started)
        return session

    def _recording(self) -> Path | None:
        """Where the next session records: the form's file, or, when that exists (an earlier
        conversation's), the first free ``name-2.jsonl``, ``name-3.jsonl``... (never over a
        recording)."""
        typed = self.connection.record.value.strip()
        return unused_path(Path(typed)) if typed else None

    def connect(self) -> RealtimeSession:
        """(Re)connect with the Connection form's choices and rebuild the parts, with the
        settings the panel holds now (see :meth:`_start`: a failed connect leaves the session
        there was)."""
        form = self.connection
        endpoint = form.endpoint()
        chat = form.target.value == TARGETS[0] and form.responder.value == "chat"
        replies = f", replies from {form.chat_settings}" if chat else ""
        return self._start(endpoint, f"connected to {endpoint.display}{replies}")

    def new_conversation(self) -> RealtimeSession:
        """A fresh session (a new conversation: empty, with a new session id) with the
        settings the panel holds now, on the same connection, as OpenAI's playground's *New
        conversation* does: once it is connected, the old session closes and the parts are
        rebuilt (a connect that raises leaves the old conversation going: see :meth:`_start`)."""
        old = self.session
        if old is None or old.replaying:
            raise RealtimeWidgetsError("no live session to start afresh: connect first")
        return self._start(old.endpoint, f"new conversation on {old.endpoint.display}")

    def replay(self, path: str | Path, speed: float = 1.0) -> RealtimeSession:
        """Show a recorded session in the same widgets, at ``speed`` (0: at once)."""
        self.close_session()
        session = RealtimeSession.replay(path, speed=speed)
        self._bind(session)
        threading.Thread(target=session.play, name="realtime-widgets-replay", daemon=True).start()
        self.connection.status.value = html.escape(f"replaying {Path(path).name}")
        return session

    def _bind(self, session: RealtimeSession, preset_name: str | None = None) -> None:
        """Build the parts for ``session`` (with a loaded preset's name kept); ``self.session``
        is set last, so whoever sees the new session (another thread too) sees its parts
        whole."""
        self.parts = {
            "panel": ConfigPanel(session)
            if not session.replaying
            else w.HTML("(replay: read-only)"),
            "microphone": Microphone(session),
            "speaker": Speaker(session),
            "waveform": Waveform(session, height=118),
            "transcript": TranscriptView(session, height="100%"),
            "conversation": ConversationBar(session),
            "metrics": MetricsView(session),
            "events": EventLog(session, height="100%"),
        }
        self.parts["presets"] = w.HTML() if session.replaying else PresetBar(self.parts["panel"])
        if preset_name:
            self.parts["presets"].name = preset_name
        self.parts["transcript"].on_new_conversation(
            None if session.replaying else self._new_conversation_clicked
        )
        self.latency = LatencyProbe(session, self.parts["microphone"], self.parts["speaker"])
        self.parts["metrics"].latency = self.latency
        upload = wav_upload(self._upload, "Stream a WAV file")
        self.parts["upload"] = upload
        p = self.parts
        # The column's parts stretch to its width (no ``width: 100%``: with each widget's 2 px
        # margins that was 4 px wider than the column, a horizontal scrollbar). The speaker's
        # one-line status may shrink (min_width 0) rather than push the row wider.
        p["speaker"].layout = w.Layout(flex="1 1 auto", width="auto", min_width="0")
        audio = w.HBox(
            [p["microphone"], upload, p["speaker"]],
            layout=w.Layout(align_items="center", flex="0 0 auto"),
        )
        p["waveform"].layout = w.Layout(flex="0 0 auto")
        p["conversation"].layout = w.Layout(flex="0 0 auto")
        p["transcript"].layout = w.Layout(
            flex="1 1 0",
            min_height="60px",
            border="1px solid #e0e0e0",
            margin="2px",
        )
        conversation = w.VBox(
            [audio, p["waveform"], p["transcript"], p["conversation"]],
            layout=w.Layout(flex="1 1 0", min_height="0"),
        )
        p["metrics"].layout = w.Layout(height="100%", overflow="hidden auto")
        p["events"].layout = w.Layout(height="100%")
        tabs = w.Tab(
            children=[p["metrics"], p["events"]],
            titles=["Metrics", "Events"],
            layout=w.Layout(height=TABS_HEIGHT, min_height=TABS_MIN_HEIGHT, flex="0 0 auto"),
        )
        tabs.add_class("rw-tabs")
        right = w.VBox(
            [conversation, tabs],
            layout=w.Layout(flex="1 1 0", min_width="0", height="100%", padding="0 0 0 8px"),
        )
        right.add_class("rw-console-right")
        p["panel"].layout = w.Layout(flex="0 0 auto")
        p["presets"].layout = w.Layout(flex="0 0 auto")
        # The settings column scrolls on its own: presets above the panel.
        self.settings = w.VBox(
            [p["presets"], p["panel"]],
            layout=w.Layout(width="40%", height="100%", overflow="hidden auto", flex="0 0 auto"),
        )
        self.settings.add_class("rw-settings")
        console = w.HBox(
            [self.settings, right],
            layout=w.Layout(height=BODY_HEIGHT, align_items="stretch"),
        )
        console.add_class("rw-console-body")
        self.body.children = [console]
        self.session = session  # last: the parts are whole (see the docstring)

    def _upload(self, files: Any) -> None:
        stream_wav_files(self.parts["microphone"], files, self._say_error)

    def _say_error(self, said: str) -> None:
        """Shown next to the connection, in red."""
        self.connection.status.value = f"<span style='color:#c0392b'>{html.escape(said)}</span>"

    def close_session(self) -> None:
        session, parts, latency = self.session, self.parts, self.latency
        self.session, self.parts, self.latency = None, {}, None
        self.body.children = []
        self._close(session, parts, latency)

    @staticmethod
    def _close(
        session: RealtimeSession | None, parts: dict[str, w.Widget], latency: LatencyProbe | None
    ) -> None:
        if latency is not None:
            latency.close()
        if session is not None:
            session.close()
        for part in parts.values():
            part.close()

    def close(self) -> None:
        """Close the session, the other kind's console if one is shown, and the form."""
        if self.console is not None:
            self.console.close()
            self.console = None
        self.close_session()
        self.connection.close()
        super().close()

    def __repr__(self) -> str:
        return f"Playground({self.session!r})"
