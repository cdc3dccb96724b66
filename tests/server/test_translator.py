"""ChatTranslator against a real Chat Completions endpoint on 127.0.0.1 (tests/server/
chat_endpoint.py), the translator's call as a pipeline responder, and the command line that
configures it (``serve --chat-url``: replies and translations from the same endpoint)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
import websockets

from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.server.reply.chat import ChatResponder
from realtime_widgets.server.reply.material import ReplyRequest, produce_reply_sync
from realtime_widgets.server.reply.responder import ReplyContext, ResponderError
from realtime_widgets.server.reply.translator import (
    ChatTranslator,
    TranslationCall,
    Translator,
    language_name,
)
from tests.protocol.sdk_oracle import check_translation_server_event
from tests.server.chat_endpoint import ChatEndpoint, Reply, dead_url, text_chunks, tool_chunks

KEY = "sk-test-Translate-0123456789"
TIMEOUT = float(os.environ.get("RW_TEST_TIMEOUT", "30")) * float(
    os.environ.get("RW_TESTS_TIMEOUT_FACTOR", "1")
)


@pytest.fixture
def endpoint() -> Iterator[ChatEndpoint]:
    with ChatEndpoint() as e:
        yield e


def test_it_asks_for_the_translation_only_and_joins_the_stream(endpoint: ChatEndpoint) -> None:
    endpoint.queue(Reply(text_chunks("  Buenos", " días,", " señora.")))
    translator = ChatTranslator(ChatResponder(endpoint.url, "test-model", api_key=KEY))
    assert isinstance(translator, Translator)
    text = asyncio.run(translator.translate("Good morning, madam.", "en", "es"))
    assert text == "Buenos días, señora."
    (request,) = endpoint.requests
    body = request.body
    assert body["model"] == "test-model"
    assert "tools" not in body
    system, user = body["messages"]
    assert system["role"] == "system"
    assert "from English (en) into Spanish (es)" in system["content"]
    assert "translation only" in system["content"]
    assert user == {"role": "user", "content": "Good morning, madam."}
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["authorization"] == f"Bearer {KEY}"


def test_an_unknown_source_and_an_unnamed_code() -> None:
    translator = ChatTranslator(ChatResponder("http://127.0.0.1:9/v1", "m"))
    prompt = translator.prompt(None, "tlh")
    assert "message into tlh." in prompt
    assert " from " not in prompt.split("message")[1].split("into")[0]
    assert language_name("pt-BR") == "Portuguese (pt-BR)"
    assert language_name(None) is None
    with pytest.raises(TypeError, match="needs a ChatResponder"):
        ChatTranslator("http://127.0.0.1:9/v1")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        (Reply(status=500, error={"error": {"message": "overloaded"}}), "chat_http_error"),
        (Reply(tool_chunks("lookup", "{}")), "chat_unsupported"),
        (Reply(text_chunks("Hola"), cut=True), "chat_stream_broken"),
    ],
)
def test_a_failure_is_a_responder_error_without_the_key(
    endpoint: ChatEndpoint, reply: Reply, code: str
) -> None:
    endpoint.queue(reply)
    translator = ChatTranslator(ChatResponder(endpoint.url, "test-model", api_key=KEY))
    with pytest.raises(ResponderError) as caught:
        asyncio.run(translator.translate("Hello.", None, "es"))
    assert caught.value.code == code
    assert KEY not in caught.value.message
    assert "test-model" in caught.value.message


def test_an_unreachable_endpoint() -> None:
    translator = ChatTranslator(ChatResponder(dead_url(), "test-model"))
    with pytest.raises(ResponderError) as caught:
        asyncio.run(translator.translate("Hello.", None, "es"))
    assert caught.value.code == "chat_unreachable"


def test_the_call_is_a_pipeline_responder() -> None:
    class Upper:
        def translate(self, text: str, source: str | None, target: str) -> str:
            return f"{target}:{text.upper()}"

    call = TranslationCall(Upper(), "hello", None, "xx")
    context = ReplyContext(SessionConfig(), [], None, trigger="translation")
    request = ReplyRequest("translation_1", context, ["text"], "alloy", 1.0, responder=call)
    material = produce_reply_sync(request, call, None)
    assert material.value == "xx:HELLO"


def test_serve_translates_with_the_chat_endpoint(endpoint: ChatEndpoint) -> None:
    """The command line: --chat-url gives translation sessions their translator too, and the
    banner says so."""
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "realtime_widgets",
            "serve",
            "--port",
            "0",
            "--no-speech",
            "--transcriber",
            "none",
            "--chat-url",
            endpoint.url,
            "--chat-model",
            "test-model",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            lines = [proc.stdout.readline().strip() for _ in range(5)]
            url = re.search(r"ws://127\.0\.0\.1:\d+/v1", lines[1])
            assert url, lines
            assert lines[2].startswith("GPT-Live sessions (client.live.connect()) at ws://"), lines
            assert lines[4] == (
                f"translation sessions: translating with the chat endpoint {endpoint.url} "
                "(model test-model)"
            )

            async def created() -> dict[str, object]:
                target = f"{url.group(0)}/realtime/translations?model=gpt-realtime-translate"
                async with websockets.connect(target) as ws:
                    return dict(json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT)))

            event = asyncio.run(created())
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=TIMEOUT)
    check_translation_server_event(event)
    assert event["session"]["type"] == "translation"  # type: ignore[index]
