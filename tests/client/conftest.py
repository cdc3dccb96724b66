"""Client test peers on 127.0.0.1: the local server, a scripted peer, a proxy that cuts sockets."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import websockets
from websockets.asyncio.server import ServerConnection, serve

from realtime_widgets.server.app import LocalServer


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    srv = LocalServer(pace=0).start()
    yield srv
    srv.stop()


class ThreadPeer:
    """A websockets server on its own loop thread, with a handler written by the test."""

    def __init__(
        self,
        handler: Callable[[ServerConnection], Any],
        *,
        process_request: Callable[..., Any] | None = None,
    ) -> None:
        self.handler = handler
        self.process_request = process_request  # websockets' hook: answer the handshake itself
        self.port = 0
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve(
            self.handler,
            "127.0.0.1",
            0,
            compression=None,
            max_size=None,
            process_request=self.process_request,
        ) as srv:
            self.port = srv.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop.wait()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/realtime"

    def __enter__(self) -> ThreadPeer:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


class CuttingProxy(ThreadPeer):
    """Relays to an upstream server and aborts the client's TCP connection mid-response
    (after ``after_deltas`` audio or text deltas), ``drops`` times in all."""

    def __init__(self, upstream: str, drops: int, after_deltas: int = 3) -> None:
        super().__init__(self._relay)
        self.upstream = upstream
        self.drops_left = drops
        self.after_deltas = after_deltas
        self.cuts = 0
        self.connections = 0

    async def _relay(self, client: ServerConnection) -> None:
        self.connections += 1
        assert client.request is not None
        query = client.request.path.partition("?")[2]
        async with websockets.connect(
            f"{self.upstream}?{query}", max_size=None, compression=None
        ) as up:
            deltas = 0

            async def down() -> None:
                nonlocal deltas
                async for msg in up:
                    if '"type":"response.output_' in msg and '.delta"' in msg:
                        deltas += 1
                        if deltas >= self.after_deltas and self.drops_left > 0:
                            self.drops_left -= 1
                            self.cuts += 1
                            client.transport.abort()  # a cut, not a close handshake
                            return
                    await client.send(msg)

            async def upward() -> None:
                async for msg in client:
                    await up.send(msg)

            tasks = [asyncio.create_task(down()), asyncio.create_task(upward())]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def rejecting_peer(param: str, message: str) -> Callable[[ServerConnection], Any]:
    """A peer that creates a session and rejects every session.update with one error."""

    async def handler(ws: ServerConnection) -> None:
        await ws.send(
            json.dumps(
                {
                    "type": "session.created",
                    "event_id": "e0",
                    "session": {"type": "realtime", "id": "sess_peer", "expires_at": 2000000000},
                }
            )
        )
        async for msg in ws:
            event = json.loads(msg)
            if event["type"] == "session.update":
                await ws.send(
                    json.dumps(
                        {
                            "type": "error",
                            "event_id": "e1",
                            "error": {
                                "type": "invalid_request_error",
                                "code": "invalid_value",
                                "message": message,
                                "param": param,
                                "event_id": event.get("event_id"),
                            },
                        }
                    )
                )

    return handler
