"""Where a session connects: the connection-form pieces the playgrounds share.

- :class:`ChatEndpointForm`: a Chat Completions endpoint (Ollama, llama.cpp, vLLM, LM Studio,
  OpenAI) as the local server's model: its URL, model name and key (a :class:`KeyField`, never
  synced). :meth:`ChatEndpointForm.server` starts a :class:`~realtime_widgets.server.app.
  LocalServer` answering with it (its replies, and its translations: a ``ChatResponder`` gives
  translation sessions their translator). The :class:`~.playground.Connection` of the main
  Playground holds one, as does :class:`EndpointForm`.
- :class:`EndpointForm`: the local server (no key) or OpenAI (a key that never syncs), with the
  local server answering by itself or through a chat endpoint: the form of the session kinds
  that connect only there (translation sessions). The session kind turns its
  :meth:`~EndpointForm.endpoint` into its own URL (``TranslationSession`` adds
  ``/translations``).

The chat URL is a field like any other, synced and saved with the notebook (the user typed
it): a status line shows it without user:password@ or a query (:attr:`ChatEndpointForm.
settings`), and says so when it carries them (a key belongs in the key field). Status lines
are text, escaped before they are shown (:meth:`EndpointForm.say`).
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from realtime_widgets.client.auth import Endpoint, Secret
from realtime_widgets.client.session import local_server
from realtime_widgets.errors import RealtimeWidgetsError
from realtime_widgets.widgets.key_field import KeyField

__all__ = ["CREDENTIALS_IN_URL", "LOCAL", "OPENAI", "ChatEndpointForm", "EndpointForm"]

_FORM = {"description_width": "initial"}
CREDENTIALS_IN_URL = (
    "the chat URL's user:password@ or query is kept in the notebook: put a key in the key "
    "field, which is never saved"
)
LOCAL = "Local server (no key)"
OPENAI = "OpenAI"


class ChatEndpointForm(w.HBox):  # type: ignore[misc]
    """A Chat Completions endpoint for the local server (see the module docstring): ``url``,
    ``model`` and ``key``, on one line that wraps."""

    def __init__(self) -> None:
        self.url = w.Text(
            description="chat URL",
            placeholder="http://127.0.0.1:11434/v1",
            style=_FORM,
            layout=w.Layout(width="300px"),
        )
        self.model = w.Text(
            description="chat model",
            placeholder="llama3.2",
            style=_FORM,
            layout=w.Layout(width="200px"),
        )
        self.key = KeyField(placeholder="chat API key (if it needs one)")
        self.key.add_class("rw-chat-key")
        # The local server answering from the endpoint, and the settings it was made with.
        self._server: tuple[tuple[str, str, Secret | None], Any] | None = None
        super().__init__(
            [self.url, self.model, self.key],
            layout=w.Layout(flex_flow="row wrap", align_items="center", width="100%"),
        )
        self.add_class("rw-chat-line")

    @property
    def settings(self) -> str:
        """The endpoint in words (for a status line, which is synced and saved with the
        notebook): without the key, and the URL without user:password@ or a query (as
        ChatResponder shows it). The URL field itself keeps what was typed: a URL that carries
        credentials is said to, with where the key belongs."""
        # lazy: reply.chat loads with the chat server, only when a chat endpoint is chosen
        from realtime_widgets.server.reply.chat import shown_url

        url = self.url.value.strip().rstrip("/")
        shown = shown_url(url).rstrip("/")
        said = f"{self.model.value.strip()} at {shown}"
        if shown != url:
            said += f" ({CREDENTIALS_IN_URL})"
        return said

    def server(self) -> Any:
        """The local server whose replies (and translations) come from the endpoint in the
        form (started on first use; a new one when the URL, model or key changed, the old one
        stopped).

        A bad URL or model raises ConfigError naming it; the key stays a Secret until the
        responder is made."""
        url, model = self.url.value.strip(), self.model.value.strip()
        if not url or not model:
            raise RealtimeWidgetsError(
                "replies and translations from a chat endpoint need its URL and model, e.g. "
                "http://127.0.0.1:11434/v1 and llama3.2 (Ollama)"
            )
        wanted = (url, model, self.key.secret)
        if self._server is not None and self._server[0] == wanted:
            return self._server[1]
        self.stop_server()
        # lazy: the server and the openai SDK load only when a chat endpoint is chosen
        from realtime_widgets.server.app import LocalServer
        from realtime_widgets.server.reply.chat import ChatResponder

        key = wanted[2]
        responder = ChatResponder(url, model, api_key=key.reveal() if key else None)
        server = LocalServer(responder=responder).start()
        self._server = (wanted, server)
        return server

    def stop_server(self) -> None:
        """Stop the server :meth:`server` started (if any)."""
        if self._server is not None:
            _, server = self._server
            self._server = None
            server.stop()

    def close(self) -> None:
        self.stop_server()
        super().close()


class EndpointForm(w.VBox):  # type: ignore[misc]
    """The local server or OpenAI (see the module docstring).

    ``answers``: the local server's choice of who answers, as its dropdown's description
    (``"translator"``) and its two options' labels: the server itself, or the chat endpoint
    the form's second line takes. ``server``: the local server the first option connects to
    (default: the process's embedded one, :func:`~realtime_widgets.client.session.
    local_server`), e.g. ``LocalServer(translator=...).start()``."""

    def __init__(
        self,
        answers: tuple[str, str, str] = ("replies", "the local server's", "a chat endpoint"),
        *,
        server: Any = None,
    ) -> None:
        label, own, chat = answers
        auto = w.Layout(width="auto")
        self._own_server = server
        self.target = w.Dropdown(
            options=[LOCAL, OPENAI], description="connect to", style=_FORM, layout=auto
        )
        self.answers = w.Dropdown(
            options=[(own, "server"), (chat, "chat")],
            value="server",
            description=label,
            style=_FORM,
            layout=auto,
        )
        self.key = KeyField()
        self.chat = ChatEndpointForm()
        self.button = w.Button(description="Connect", button_style="primary", layout=auto)
        self.status = w.HTML(layout=w.Layout(margin="0 0 0 8px", min_width="0"))
        self.status.add_class("rw-connection-status")
        self.line = w.HBox(
            [self.target, self.answers, self.key, self.button, self.status],
            layout=w.Layout(flex_flow="row wrap", align_items="center", width="100%"),
        )
        self.target.observe(lambda _: self._visible(), "value")
        self.answers.observe(lambda _: self._visible(), "value")
        super().__init__([self.line, self.chat], layout=w.Layout(width="100%"))
        self._visible()

    @property
    def local(self) -> bool:
        """Whether the local server is chosen (else OpenAI)."""
        return bool(self.target.value == LOCAL)

    @property
    def uses_chat(self) -> bool:
        """Whether the local server answers through the chat endpoint of the second line."""
        return self.local and self.answers.value == "chat"

    def _visible(self) -> None:
        show = {self.answers: self.local, self.key: not self.local, self.chat: self.uses_chat}
        for widget, visible in show.items():
            widget.layout.display = None if visible else "none"

    def server(self) -> Any:
        """The local server the form points at: the chat endpoint's, or the one given (the
        embedded one by default)."""
        if self.uses_chat:
            return self.chat.server()
        if self._own_server is None:
            return local_server()
        return self._own_server

    def endpoint(self, model: str) -> Endpoint:
        """Where to connect for ``model`` (the local server is started on first use; OpenAI
        needs the key field's key or ``OPENAI_API_KEY``)."""
        if self.local:
            return Endpoint.local(self.server().url, model)
        return Endpoint.openai(model, self.key.secret)

    def say(self, text: str, *, error: bool = False, warning: bool = False) -> None:
        """Put ``text`` on the status line (escaped; red for an error, dark amber for a
        warning: a connection being reopened)."""
        shown = html.escape(text)
        colour = "#c0392b" if error else "#8a5a00" if warning else None
        self.status.value = f"<span style='color:{colour}'>{shown}</span>" if colour else shown

    def close(self) -> None:
        self.chat.close()
        super().close()
