"""The connection form's "replies: chat endpoint" choice: its URL, model and key fields make a
local server answered by a ChatResponder; the key never reaches the widget state."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator

import pytest

from realtime_widgets.errors import ConfigError, RealtimeWidgetsError
from realtime_widgets.server.reply.chat import ChatResponder
from realtime_widgets.widgets.endpoint_form import CREDENTIALS_IN_URL
from realtime_widgets.widgets.playground import TARGETS, Playground

KEY = "sk-chat-Very-Secret-987"


@pytest.fixture
def play(monkeypatch: pytest.MonkeyPatch) -> Iterator[Playground]:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    playground = Playground(connect=False)
    yield playground
    playground.close_session()
    playground.connection.close()


def test_the_chat_fields_show_only_for_the_chat_choice(play: Playground) -> None:
    form = play.connection
    assert form.chat_line.layout.display == "none"
    form.responder.value = "chat"
    assert form.chat_line.layout.display is None
    form.target.value = TARGETS[1]  # OpenAI: no local responder, no chat fields
    assert form.chat_line.layout.display == "none"
    assert form.responder.layout.display == "none"
    form.target.value = TARGETS[0]
    assert form.chat_line.layout.display is None


def test_the_chat_choice_makes_a_local_server_answered_by_the_endpoint(play: Playground) -> None:
    form = play.connection
    form.responder.value = "chat"
    form.chat_url.value = "http://127.0.0.1:11434/v1"
    form.chat_model.value = "llama3.2"
    server = form.chat_server()
    assert isinstance(server.responder, ChatResponder)
    assert (server.responder.base_url, server.responder.model) == (
        "http://127.0.0.1:11434/v1",
        "llama3.2",
    )
    assert not server.responder.has_key
    assert form.endpoint().url.startswith(server.url)
    assert form.chat_server() is server  # the same settings: the same server
    form.chat_model.value = "qwen3"
    other = form.chat_server()
    assert other is not server
    assert other.responder.model == "qwen3"
    assert "stopped" in repr(server)  # the old one was stopped


def test_the_key_is_used_and_never_synced(play: Playground) -> None:
    form = play.connection
    form.responder.value = "chat"
    form.chat_url.value = "https://api.openai.com/v1"
    form.chat_model.value = "gpt-4o-mini"
    # what the page sends when the user types a key and presses "Use key"
    form.chat_key._on_browser(form.chat_key, {"type": "key", "value": KEY}, [])
    assert form.chat_key.has_key
    responder = form.chat_server().responder
    assert responder.has_key
    synced = [form, form.line, form.chat_line, form.chat_key, form.chat_url, form.chat_model]
    states = json.dumps([w.get_state() for w in synced], default=str)
    assert KEY not in states
    assert KEY not in repr(responder)
    assert KEY not in repr(form.chat_key)


@pytest.mark.parametrize(
    ("url", "model", "error", "said"),
    [
        ("", "llama3.2", RealtimeWidgetsError, "need its URL and model"),
        ("http://127.0.0.1:11434/v1", "", RealtimeWidgetsError, "need its URL and model"),
        ("localhost:11434/v1", "llama3.2", ConfigError, "base_url must be an http:// or https://"),
    ],
)
def test_missing_or_bad_chat_settings_are_shown_in_the_status(
    play: Playground, url: str, model: str, error: type[Exception], said: str
) -> None:
    form = play.connection
    form.responder.value = "chat"
    form.chat_url.value, form.chat_model.value = url, model
    with pytest.raises(error, match=said):
        form.endpoint()
    play._connect_clicked()  # as the Connect button does: shown, never raised
    assert said in form.status.value
    assert play.session is None


def test_the_status_shows_the_chat_url_without_its_credentials_and_says_they_are_kept(
    play: Playground,
) -> None:
    form = play.connection
    form.responder.value = "chat"
    form.chat_url.value = "http://me:sk-in-URL-123@127.0.0.1:11434/v1?api-key=sk-in-query-456"
    form.chat_model.value = "llama3.2"
    play.connect()
    status = form.status.value
    assert status.endswith(
        html.escape(f", replies from llama3.2 at http://127.0.0.1:11434/v1 ({CREDENTIALS_IN_URL})")
    )
    assert "sk-in-URL-123" not in status
    assert "sk-in-query-456" not in status
    # The request still goes where the user said, credentials and all.
    responder = form.chat_server().responder
    assert responder.base_url == form.chat_url.value
    # A URL without credentials gets no such note.
    form.chat_url.value = "http://127.0.0.1:11434/v1/"
    play.connect()
    assert form.status.value.endswith("replies from llama3.2 at http://127.0.0.1:11434/v1")


def test_a_bad_chat_url_is_shown_escaped_and_without_its_credentials(play: Playground) -> None:
    form = play.connection
    form.responder.value = "chat"
    form.chat_model.value = "llama3.2"
    form.chat_url.value = "me:sk-in-URL-123@localhost:11434/v1?api-key=sk-in-query-456"
    play._connect_clicked()  # as the Connect button does: shown, never raised
    status = form.status.value
    assert "got &#x27;localhost:11434/v1&#x27;" in status
    assert "sk-in-URL-123" not in status
    assert "sk-in-query-456" not in status
    form.chat_url.value = "<img src=x onerror=alert(1)>"
    play._connect_clicked()
    assert "<img" not in form.status.value  # the message is text, not markup
    assert "got &#x27;&lt;img src=x onerror=alert(1)&gt;&#x27;" in form.status.value
    assert form.status.value.startswith("<span style='color:#c0392b'>ConfigError: ")
