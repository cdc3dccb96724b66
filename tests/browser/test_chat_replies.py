"""The playground's "replies: chat endpoint" choice, used as a person does at 1366x768.

In JupyterLab, the playground's connection form: choose "chat endpoint" in "replies", type the
endpoint's URL and model and a key (the password field; it goes to the kernel once and is never
in the page or the widget state), press Connect. The kernel's session is then answered by a
local server whose responder is a ChatResponder for that endpoint: a Chat Completions endpoint
run by this test on 127.0.0.1 (tests/server/chat_endpoint.py). A message typed in the page goes
to the endpoint (with the key) and its streamed words come back into the transcript (that last
part needs the server's stream consumption, branch ``stream``).

Screenshots under ``tests/browser/artifacts/``: the form filled in, and the console after the
reply."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, Lab, run_notebook
from tests.server.chat_endpoint import ChatEndpoint

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

NOTEBOOK = "chat_replies_check.ipynb"
SETUP = """import realtime_widgets as rw

playground = rw.Playground()
playground"""
KEY = "sk-browser-chat-Secret-4242"
ANSWER = "Hello from the chat endpoint."


@pytest.fixture
def endpoint() -> Iterator[ChatEndpoint]:
    with ChatEndpoint() as e:
        yield e


def labelled(page: Any, kind: str, label: str) -> Any:
    """The input of the ipywidgets control of ``kind`` (``widget-text``) labelled ``label``."""
    return page.locator(f".{kind}", has=page.locator(f"label:text-is('{label}')")).first


def test_replies_from_a_chat_endpoint(small_page: Any, lab: Lab, endpoint: ChatEndpoint) -> None:
    page = small_page
    lab.write_notebook(NOTEBOOK, [SETUP])
    run_notebook(page, lab, NOTEBOOK)
    page.get_by_role("button", name="Start microphone").wait_for(timeout=240_000)
    kernel = lab.kernel_for(NOTEBOOK)
    try:
        kernel.wait("playground.session is not None and playground.session.connected")
        chat_line = page.locator(".rw-chat-line").first
        assert not chat_line.is_visible()  # only for the chat choice

        # -- the form, as a person fills it in
        labelled(page, "widget-dropdown", "replies").locator("select").select_option(
            label="chat endpoint"
        )
        chat_line.wait_for(state="visible", timeout=60_000)
        labelled(page, "widget-text", "chat URL").locator("input").fill(endpoint.url)
        labelled(page, "widget-text", "chat model").locator("input").fill("test-model")
        key_field = page.locator(".rw-chat-key").first
        key_input = key_field.locator("input[type=password]")
        key_input.fill(KEY)
        key_field.get_by_role("button", name="Use key").click()
        key_field.get_by_text("key set").wait_for(timeout=60_000)
        assert key_input.input_value() == ""  # never kept in the page
        kernel.wait(
            f"playground.connection.chat_url.value == {endpoint.url!r} and "
            "playground.connection.chat_model.value == 'test-model' and "
            "playground.connection.chat_key.has_key",
            timeout=120,
        )
        page.locator(".rw-playground").first.screenshot(
            path=str(ARTIFACTS / "chat_replies_form_1366x768.png")
        )

        # -- Connect: the session's server is answered by that endpoint
        page.get_by_role("button", name="Connect").click()
        status = f"replies from test-model at {endpoint.url}"
        page.get_by_text(status).first.wait_for(timeout=120_000)
        kernel.wait("playground.session is not None and playground.session.connected")
        responder = kernel.eval(
            "(lambda r: [type(r).__name__, r.base_url, r.model, r.has_key])("
            "playground.connection.chat_server().responder)"
        )
        assert responder == ["ChatResponder", endpoint.url, "test-model", True]
        assert kernel.eval("playground.session.endpoint.url").startswith(
            kernel.eval("playground.connection.chat_server().url")
        )
        assert KEY not in page.content()
        assert KEY not in str(
            kernel.eval("[w.get_state() for w in playground.connection.chat_line.children]")
        )

        # -- a typed message goes to the endpoint, its words come back to the transcript
        message = page.locator(".rw-message").first
        message.fill("What's the weather in Paris?")
        message.press("Enter")
        page.locator(".rw-transcript", has_text=ANSWER).first.wait_for(timeout=120_000)
        request = endpoint.requests[-1]
        assert request.headers.get("authorization") == f"Bearer {KEY}"
        assert request.body["messages"][-1] == {
            "role": "user",
            "content": "What's the weather in Paris?",
        }
        page.screenshot(path=str(ARTIFACTS / "chat_replies_console_1366x768.png"))
        assert not page.widget_errors(), page.widget_errors()
    finally:
        kernel.close()
