"""Stopping the local server is bounded and clean, whatever its peers do: one that never
answers the close, one that never reads, one that never finished its handshake."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from realtime_widgets.server.app import CLOSE_TIMEOUT_S, LocalServer
from tests.waiting import MS, eventually

HANDSHAKE = (
    b"GET /v1/realtime HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n\r\n"
)


def frame(text: str) -> bytes:
    """A client text frame, masked with a zero key (the payload goes as it is)."""
    data = text.encode()
    n = len(data)
    if n < 126:
        head = bytes([0x81, 0x80 | n])
    elif n < 1 << 16:
        head = bytes([0x81, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x81, 0x80 | 127]) + n.to_bytes(8, "big")
    return head + b"\0\0\0\0" + data


def raw_peer(server: LocalServer, *, handshake: bool = True) -> socket.socket:
    """A TCP peer that (optionally) completes the WebSocket handshake, then reads nothing."""
    sock = socket.create_connection((server.host, server.port), timeout=5000 * MS)
    if handshake:
        sock.sendall(HANDSHAKE)
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(1)  # byte by byte: leave every frame after it unread
        assert head.startswith(b"HTTP/1.1 101")
    return sock


@contextlib.contextmanager
def watching(server: LocalServer) -> Iterator[list[Any]]:
    """Everything uncaught while stopping: thread exceptions (threading.excepthook) and the
    server loop's exception handler."""
    seen: list[Any] = []
    previous = threading.excepthook
    threading.excepthook = seen.append
    loop = server._loop
    assert loop is not None
    installed = threading.Event()

    def install() -> None:
        loop.set_exception_handler(lambda _loop, context: seen.append(context))
        installed.set()

    loop.call_soon_threadsafe(install)
    assert installed.wait(5000 * MS)
    try:
        yield seen
    finally:
        threading.excepthook = previous


def test_stop_aborts_peers_that_never_answer_within_the_close_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = LocalServer(pace=0, speech=False).start()
    silent = raw_peer(server)  # never answers the close
    flooded = raw_peer(server)  # asks for megabytes, reads none: the server's writes block
    big = "x" * 1_000_000
    flooded.sendall(
        frame(
            json.dumps(
                {
                    "type": "conversation.item.create",
                    "item": {
                        "id": "item_big",
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": big}],
                    },
                }
            )
        )
    )
    for _ in range(20):
        flooded.sendall(frame('{"type":"conversation.item.retrieve","item_id":"item_big"}'))
    mute = raw_peer(server, handshake=False)  # connected, never sent its request
    eventually(lambda: len(server.sessions) == 2, timeout=10)
    with caplog.at_level(logging.WARNING), watching(server) as uncaught:
        time.sleep(200 * MS)  # let the flooded session fill its socket
        began = time.monotonic()
        server.stop()
        took = time.monotonic() - began
    # A wait bound, not a benchmark: on main stop took 10 s and the thread died of TimeoutError.
    assert took < CLOSE_TIMEOUT_S + 2000 * MS, f"stop() took {took:.1f} s"
    assert uncaught == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert server._thread is None
    # Every peer was let go: the silent one got the 1001 close first, then the connection ended.
    silent.settimeout(5000 * MS)
    received = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := silent.recv(65536):
            received += chunk
    assert b"\x88\x02\x03\xe9" in received  # close frame, code 1001 (going away)
    for sock in (silent, flooded, mute):
        sock.close()


@pytest.mark.asyncio
async def test_async_close_is_bounded_too() -> None:
    loop_errors: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _l, c: loop_errors.append(c))
    server = LocalServer(pace=0, speech=False)
    await server.__aenter__()
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(HANDSHAKE)
    await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5000 * MS)
    began = asyncio.get_running_loop().time()
    await server.__aexit__(None, None, None)
    took = asyncio.get_running_loop().time() - began
    assert took < CLOSE_TIMEOUT_S + 2000 * MS, f"close took {took:.1f} s"
    assert loop_errors == []
    writer.close()
