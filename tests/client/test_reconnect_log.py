"""A reconnect opens a new server session (the openai SDK's opt-in auto-reconnect re-sends
nothing). Ours sends the config again and does not re-send the conversation, whose items are
reported lost; its log says both, in one line, and the line is true."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import numpy as np
import pytest
from websockets.asyncio.server import ServerConnection

from realtime_widgets import SessionConfig
from realtime_widgets.client import Endpoint, RealtimeSession
from realtime_widgets.client.core import ClientCore
from realtime_widgets.client.translation import TranslationSession
from realtime_widgets.protocol.translation_config import TranslationConfig
from realtime_widgets.server.app import LocalServer
from tests.client.conftest import CuttingProxy, ThreadPeer
from tests.waiting import eventually

LOGGER = "realtime_widgets.client"
LINE = re.compile(
    r"reconnected \(attempt (\d+), after close (\S+)\): a new server session\. (.*); (.*)$"
)


def _reconnect_lines(caplog: pytest.LogCaptureFixture) -> list[re.Match[str]]:
    found = [LINE.match(r.getMessage()) for r in caplog.records if r.name == LOGGER]
    return [m for m in found if m is not None]


def test_the_log_says_the_config_is_sent_again_and_the_conversation_is_not(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    upstream = LocalServer(pace=0.0, speech=False).start()
    try:
        with CuttingProxy(upstream.url, drops=1, after_deltas=2) as proxy:
            config = SessionConfig(
                output_modalities=["text"], instructions="Keep this.", voice="sage"
            )
            s = RealtimeSession(config, endpoint=Endpoint.local(proxy.url, config.model))
            lost: list[list[str]] = []
            s.on("session.reconnected", lambda e: lost.append(e.model_extra["lost_item_ids"]))  # type: ignore[index]
            updated: list = []
            try:
                s.connect()
                s.on("session.updated", updated.append)  # after connect: re-applications only
                before = s.mark()
                s.send_text("turn 0")  # the proxy cuts the reply after two deltas
                s.wait_for("session.reconnected", timeout=30, since=before)
                eventually(lambda: len(updated) >= 1)
                session = updated[0].session  # type: ignore[attr-defined]
            finally:
                s.close()
        assert proxy.cuts == 1
    finally:
        upstream.stop()
    lines = _reconnect_lines(caplog)
    assert len(lines) == 1, [r.getMessage() for r in caplog.records]
    attempt, code, said_config, said_history = lines[0].groups()
    assert attempt == "1"
    assert code == "1006"  # an abort: no close frame
    # The config: named, and it did reach the new server session.
    assert said_config == (
        "the session config is sent again (instructions, output_modalities, voice)"
    )
    assert session["instructions"] == "Keep this."
    assert session["audio"]["output"]["voice"] == "sage"
    assert session["output_modalities"] == ["text"]
    # The conversation: not re-sent; the count is what session.reconnected reports lost.
    assert len(lost) == 1
    assert lost[0]  # the user's turn (and the reply cut short) were in the old session
    assert said_history == (
        f"the conversation is not re-sent: its {len(lost[0])} earlier item(s) are gone from "
        "the server (session.lost_item_ids)"
    )
    assert s.lost_item_ids == lost[0]


def test_the_log_says_when_there_is_nothing_to_send_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    core = ClientCore(SessionConfig())
    assert core.reconnected(2, 1001, []) is False  # nothing beyond the model: no update
    assert core.reconnected(3, None, ["item_1"]) is False
    said = [m.groups() for m in _reconnect_lines(caplog)]
    assert said == [
        (
            "2",
            "1001",
            "no session config to send again (nothing is set beyond the model, in the URL)",
            "there was no conversation to re-send",
        ),
        (
            "3",
            "None",
            "no session config to send again (nothing is set beyond the model, in the URL)",
            "the conversation is not re-sent: its 1 earlier item(s) are gone from the server "
            "(session.lost_item_ids)",
        ),
    ]


class TranslationPeer:
    """A translation server for one test: ``session.created`` on each connection, every
    ``session.update`` answered with ``session.updated`` (the merged session), and the first
    connection cut (TCP abort, no close frame) at its first append. ``updates`` keeps each
    connection's updates as the peer received them."""

    def __init__(self) -> None:
        self.updates: list[list[dict[str, Any]]] = []

    async def __call__(self, ws: ServerConnection) -> None:
        n = len(self.updates)
        updates: list[dict[str, Any]] = []
        self.updates.append(updates)
        config = TranslationConfig()

        async def send(kind: str, session: TranslationConfig) -> None:
            event_id = f"ev{n}_{len(updates)}"
            report = session.to_session(session_id=f"sess_{n}", expires_at=2_000_000_000)
            await ws.send(json.dumps({"type": kind, "event_id": event_id, "session": report}))

        await send("session.created", config)
        async for message in ws:
            event = json.loads(message)
            if event["type"] == "session.update":
                updates.append(event)
                config = config.updated_by(TranslationConfig.from_update(event["session"]))
                await send("session.updated", config)
            elif event["type"] == "session.input_audio_buffer.append" and n == 0:
                ws.transport.abort()
                return


def test_a_translation_reconnect_logs_the_settings_it_sends_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The log line of a translation session's reconnect names the settings the new session
    was sent again, read from the same place as the re-send (the core's resent_settings), and
    they are what the new connection's session.update carried."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    peer = TranslationPeer()
    config = TranslationConfig(
        output_language="es",
        noise_reduction={"type": "far_field", "strength": 0.4},
    )
    with ThreadPeer(peer) as server:
        s = TranslationSession(config, endpoint=Endpoint.local(server.url, config.model))
        try:
            s.connect()
            before = s.mark()
            s.append_audio(np.zeros(4800, np.int16))  # the peer cuts the connection here
            s.wait_for("session.reconnected", timeout=30, since=before)
            eventually(lambda: len(peer.updates) == 2 and len(peer.updates[1]) == 1)
        finally:
            s.close()
    lines = _reconnect_lines(caplog)
    assert len(lines) == 1, [r.getMessage() for r in caplog.records]
    attempt, code, said_config, said_history = lines[0].groups()
    assert (attempt, code) == ("1", "1006")
    assert said_config == "the session config is sent again (noise_reduction, output_language)"
    (resent,) = peer.updates[1]
    sent = TranslationConfig.from_update(resent["session"])
    assert sorted(sent.model_fields_set) == ["noise_reduction", "output_language"]
    assert (sent.output_language, sent.noise_reduction) == ("es", config.noise_reduction)
    assert resent["session"] == peer.updates[0][0]["session"]  # the same settings again
    assert said_history == "there was no conversation to re-send"
