"""``realtime-widgets serve --chat-url URL --chat-model NAME [--chat-key-env VAR]``: the flags
make a ChatResponder; a bad combination exits with an error naming the flag."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys

import pytest
import websockets

from realtime_widgets.__main__ import main
from realtime_widgets.server import app
from realtime_widgets.server.reply.chat import ChatResponder
from tests.server.chat_endpoint import ChatEndpoint
from tests.waiting import MS

TIMEOUT = 30_000 * MS


class _Started(Exception):
    """Raised where the command would start serving: the test has what it wanted."""


def served_with(monkeypatch: pytest.MonkeyPatch, *flags: str) -> object:
    """The responder ``serve`` hands its LocalServer for these flags (caught before it serves)."""
    made: list[object] = []

    class Server:
        def __init__(self, *args: object, responder: object = None, **kwargs: object) -> None:
            made.append(responder)

        def start(self) -> None:
            raise _Started

    monkeypatch.setattr(app, "LocalServer", Server)
    with pytest.raises(_Started):
        main(["serve", *flags])
    return made[0]


def test_the_chat_flags_make_a_chat_responder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_CHAT_KEY", "sk-from-env-0123")
    responder = served_with(
        monkeypatch,
        "--chat-url",
        "http://127.0.0.1:11434/v1",
        "--chat-model",
        "llama3.2",
        "--chat-key-env",
        "MY_CHAT_KEY",
    )
    assert isinstance(responder, ChatResponder)
    assert (responder.base_url, responder.model, responder.has_key) == (
        "http://127.0.0.1:11434/v1",
        "llama3.2",
        True,
    )
    assert "sk-from-env-0123" not in repr(responder)


def test_without_chat_flags_the_responder_is_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    assert served_with(monkeypatch) == "local"
    assert served_with(monkeypatch, "--responder", "echo") == "echo"


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (
            ["--chat-url", "localhost:11434/v1", "--chat-model", "llama3.2"],
            "--chat-url: base_url must be an http:// or https:// URL with a host, e.g. "
            "'http://127.0.0.1:11434/v1', got 'localhost:11434/v1'",
        ),
        (
            ["--chat-url", "http://127.0.0.1:11434/v1"],
            "--chat-url needs --chat-model NAME (the endpoint's model, e.g. llama3.2)",
        ),
        (["--chat-model", "llama3.2"], "--chat-model needs --chat-url URL"),
        (["--chat-key-env", "K"], "--chat-key-env needs --chat-url URL"),
        (
            ["--chat-url", "http://h/v1", "--chat-model", "m", "--responder", "echo"],
            "--chat-url replies with the chat endpoint: drop --responder echo",
        ),
        (
            ["--chat-url", "http://h/v1", "--chat-model", "m", "--chat-key-env", "NO_SUCH_VAR_RW"],
            "--chat-key-env: the environment variable NO_SUCH_VAR_RW is not set or empty",
        ),
    ],
)
def test_a_bad_combination_exits_naming_the_flag(
    flags: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["serve", *flags])
    assert info.value.code == 2
    assert said in capsys.readouterr().err


def test_serve_replies_from_the_chat_endpoint() -> None:
    """The command line end to end: a spawned server, a text turn, the endpoint's words back.
    (Needs the server's stream consumption, branch ``stream``.)"""
    with (
        ChatEndpoint() as endpoint,
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "realtime_widgets",
                "serve",
                "--port",
                "0",
                "--pace",
                "0",
                "--no-speech",
                "--chat-url",
                endpoint.url,
                "--chat-model",
                "test-model",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as proc,
    ):
        try:
            assert proc.stdout is not None
            banner = [proc.stdout.readline().strip() for _ in range(2)]
            assert banner[0] == f"replies from ChatResponder({endpoint.url!r}, 'test-model')"
            url = re.search(r"ws://127\.0\.0\.1:\d+/v1/realtime", banner[1])
            assert url, banner

            async def talk() -> dict[str, object]:
                async with websockets.connect(url.group(0)) as ws:
                    await ws.send(
                        json.dumps(
                            {
                                "type": "conversation.item.create",
                                "item": {
                                    "type": "message",
                                    "role": "user",
                                    "content": [{"type": "input_text", "text": "Hi!"}],
                                },
                            }
                        )
                    )
                    await ws.send(
                        json.dumps(
                            {"type": "response.create", "response": {"output_modalities": ["text"]}}
                        )
                    )
                    while True:
                        event = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
                        if event["type"] == "response.done":
                            return dict(event["response"])

            done = asyncio.run(talk())
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=TIMEOUT)
    assert done["status"] == "completed", done.get("status_details")
    assert done["output"][0]["content"][0]["text"] == "Hello from the chat endpoint."  # type: ignore[index]
    assert endpoint.requests[0].body["messages"][-1] == {"role": "user", "content": "Hi!"}
