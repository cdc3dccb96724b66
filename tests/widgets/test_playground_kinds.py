"""The main Playground's connection form offers the three session kinds: Realtime (its own
console, the default), GPT-Live and translation (their consoles, in its place, pointed where the
form points, the keys carried over in the kernel and never synced)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from ipywidgets.embed import embed_data

from realtime_widgets.client.auth import Secret
from realtime_widgets.client.live import LiveSession
from realtime_widgets.widgets.endpoint_form import LOCAL, OPENAI
from realtime_widgets.widgets.key_field import KeyField
from realtime_widgets.widgets.live_playground import LivePlayground
from realtime_widgets.widgets.playground import CONSOLES, TARGETS, Playground
from realtime_widgets.widgets.translation_playground import TranslationPlayground


def typed(field: KeyField, key: str) -> None:
    """The browser's "Use key": the key arrives in a custom message."""
    field._on_browser(field, {"type": "key", "value": key}, [])


def shown(widget: Any) -> bool:
    return bool(widget.layout.display != "none")


@pytest.fixture(autouse=True)
def no_env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def test_realtime_is_the_default_kind_and_the_three_kinds_are_offered() -> None:
    play = Playground(connect=False)
    try:
        form = play.connection
        assert list(form.kind.options) == ["Realtime", "GPT-Live", "translation"]
        assert list(CONSOLES) == list(form.kind.options)
        assert form.kind.value == "Realtime"
        assert form.line.children[0] is form.kind
        assert play.console is None
        assert all(shown(x) for x in (form.kind, form.target, form.model, form.button))
    finally:
        play.close()


def test_choosing_a_kind_swaps_the_console_and_realtime_gives_its_own_back() -> None:
    play = Playground(connect=False)
    try:
        form = play.connection
        form.kind.value = "GPT-Live"
        live = play.console
        assert isinstance(live, LivePlayground)
        assert list(play.body.children) == [live]
        assert live.session is None  # nothing connects until its Connect is pressed
        assert "press Connect to start a GPT-Live session" in live.connection.status.value
        # The Realtime form's line is only the kind now: the console has its own form.
        assert shown(form.kind)
        assert not any(shown(x) for x in (form.target, form.model, form.button, form.status))

        form.kind.value = "translation"
        translation = play.console
        assert isinstance(translation, TranslationPlayground)
        assert list(play.body.children) == [translation]
        assert translation.session is None
        assert live.comm is None  # the GPT-Live console was closed

        form.kind.value = "Realtime"
        assert play.console is None
        assert translation.comm is None
        assert list(play.body.children) == []
        assert play.session is None
        assert all(shown(x) for x in (form.target, form.model, form.button, form.status))
        assert "press Connect to start a Realtime session" in form.status.value
    finally:
        play.close()


def test_a_running_realtime_session_closes_and_the_live_console_connects_on_its_button() -> None:
    play = Playground()  # the local server: connected at once, as before
    try:
        realtime = play.session
        assert realtime is not None
        assert realtime.connected
        play.connection.kind.value = "GPT-Live"
        assert play.session is None
        assert not realtime.connected
        console = play.console
        assert isinstance(console, LivePlayground)
        assert console.connection.target.value == LOCAL
        console.connection.button.click()
        assert isinstance(console.session, LiveSession)
        assert console.session.connected
        assert console.session.endpoint.kind == "local"
        assert "/v1/live/sessions" in console.connection.status.value
    finally:
        play.close()


def test_openai_and_its_key_are_carried_over_and_back_never_synced() -> None:
    key, other = "sk-proj-CARRY-ME-NOT-SYNCED-123", "sk-proj-TYPED-IN-THE-OTHER-456"
    play = Playground(connect=False)
    try:
        form = play.connection
        form.target.value = TARGETS[1]
        typed(form.key, key)
        form.kind.value = "translation"
        console = play.console
        assert isinstance(console, TranslationPlayground)
        assert console.connection.target.value == OPENAI
        assert console.connection.key.secret == Secret(key)
        assert console.connection.key.has_key
        endpoint = console.connection.endpoint("gpt-realtime-translate")
        assert endpoint.headers()["Authorization"] == f"Bearer {key}"
        assert console.session is None
        # Nothing a notebook saves holds it, nor the key typed into the other console's form.
        typed(console.connection.key, other)
        saved = json.dumps(embed_data(views=[play])["manager_state"])
        assert key not in saved
        assert other not in saved

        form.kind.value = "Realtime"
        assert form.target.value == TARGETS[1]
        assert form.key.secret == Secret(other)  # the key the user gave last, back here
    finally:
        play.close()


def test_the_chat_endpoint_and_its_key_are_carried_over() -> None:
    play = Playground(connect=False)
    try:
        form = play.connection
        form.responder.value = "chat"
        form.chat_url.value = "http://127.0.0.1:9/v1"
        form.chat_model.value = "llama3.2"
        typed(form.chat_key, "chat-key-123")
        form.kind.value = "GPT-Live"
        console = play.console
        assert isinstance(console, LivePlayground)
        target = console.connection
        assert target.local
        assert target.uses_chat
        assert (target.chat.url.value, target.chat.model.value) == (
            "http://127.0.0.1:9/v1",
            "llama3.2",
        )
        assert target.chat.key.secret == Secret("chat-key-123")
        assert not target.key.has_key
    finally:
        play.close()


def test_azure_is_not_offered_to_the_other_kinds_and_the_form_says_so() -> None:
    play = Playground(connect=False)
    try:
        play.connection.target.value = TARGETS[2]
        play.connection.kind.value = "GPT-Live"
        console = play.console
        assert isinstance(console, LivePlayground)
        assert console.connection.target.value == LOCAL
        status = console.connection.status.value
        assert "connect to the local server or OpenAI" in status
        assert "c0392b" in status
        play.connection.kind.value = "Realtime"
        assert play.connection.target.value == TARGETS[2]  # Azure stays chosen here
    finally:
        play.close()
