"""A client of the local server over a real socket, for the server's tests: every event it
receives is checked against the SDK's types (nothing OpenAI would not send)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from realtime_widgets.server.app import LocalServer
from tests.protocol.sdk_oracle import check_server_event
from tests.waiting import MS

__all__ = ["TIMEOUT", "recv", "session"]

TIMEOUT = 30_000 * MS


async def recv(ws: ClientConnection) -> dict[str, Any]:
    """The next server event, checked against the SDK's union."""
    event: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    check_server_event(event)  # nothing OpenAI would not send
    return event


@contextlib.asynccontextmanager
async def session(server: LocalServer) -> AsyncIterator[ClientConnection]:
    """A connected session, past its ``session.created``."""
    async with websockets.connect(server.url, compression=None) as ws:
        assert (await recv(ws))["type"] == "session.created"
        yield ws
