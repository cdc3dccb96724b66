"""A Chat Completions endpoint for tests: a real HTTP server on 127.0.0.1 (port 0, stdlib
``http.server`` in a thread) that streams scripted SSE chunks in OpenAI's
``chat.completion.chunk`` format and records every request it received.

Each request takes the next scripted :class:`Reply` (or :attr:`ChatEndpoint.default` when none
is queued). A reply can be slow (before its headers or between chunks), fail with an HTTP
status and a JSON error, break mid-stream (the connection closed inside a chunked body), or
send raw lines (a malformed chunk)::

    with ChatEndpoint() as endpoint:
        endpoint.queue(Reply(text_chunks("Hello", " there.")))
        responder = ChatResponder(endpoint.url, "test-model")
        ...
        endpoint.requests[0].body["messages"]
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "ChatEndpoint",
    "Received",
    "Reply",
    "chunk",
    "dead_url",
    "text_chunks",
    "tool_chunks",
]

MODEL = "test-model"


def chunk(delta: dict[str, Any], finish: str | None = None, index: int = 0) -> dict[str, Any]:
    """One ``chat.completion.chunk`` with one choice."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": MODEL,
        "choices": [{"index": index, "delta": delta, "finish_reason": finish}],
    }


def text_chunks(*pieces: str, finish: str = "stop") -> list[dict[str, Any]]:
    """A streamed text reply as the big servers send it: a role chunk, one chunk per piece,
    then a finishing chunk with an empty delta."""
    return [
        chunk({"role": "assistant", "content": ""}),
        *(chunk({"content": p}) for p in pieces),
        chunk({}, finish),
    ]


def tool_chunks(name: str, *argument_pieces: str, call_id: str = "call_x1") -> list[dict[str, Any]]:
    """A streamed tool call: its id and name first, then its arguments piece by piece."""
    first = {"index": 0, "id": call_id, "type": "function", "function": {"name": name}}
    first["function"]["arguments"] = ""
    return [
        chunk({"role": "assistant", "tool_calls": [first]}),
        *(
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": p}}]})
            for p in argument_pieces
        ),
        chunk({}, "tool_calls"),
    ]


@dataclass
class Reply:
    """One scripted answer. ``chunks``: dicts are sent as ``data: <json>`` events, strings as
    raw SSE lines. ``status`` != 200 sends ``error`` (a JSON body) instead."""

    chunks: list[dict[str, Any] | str] = field(default_factory=list)
    status: int = 200
    error: dict[str, Any] | None = None
    delay_s: float = 0.0  # before the response's headers
    gap_s: float = 0.0  # before each chunk
    done: bool = True  # end with "data: [DONE]"
    cut: bool = False  # close the connection inside the body (no end of the chunked body)


@dataclass
class Received:
    """A request as the endpoint received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class ChatEndpoint:
    """The endpoint (see the module docstring): ``url`` is its ``/v1`` base."""

    def __init__(self, default: Reply | None = None) -> None:
        self.default = default or Reply(text_chunks("Hello", " from", " the chat endpoint."))
        self.requests: list[Received] = []
        self.replies: queue.SimpleQueue[Reply] = queue.SimpleQueue()
        self.stopping = threading.Event()
        self.finished = threading.Event()  # set whenever a reply was written to its end
        self.disconnects = 0  # replies whose client went away before their end
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def queue(self, *replies: Reply) -> None:
        for reply in replies:
            self.replies.put(reply)

    def __enter__(self) -> ChatEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def _next(self) -> Reply:
        try:
            return self.replies.get_nowait()
        except queue.Empty:
            return self.default

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # each chunk leaves at once, as a real server

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def handle(self) -> None:
                with contextlib.suppress(ConnectionResetError, BrokenPipeError):
                    super().handle()  # (a client that went away is no error here)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                endpoint.requests.append(
                    Received(
                        "POST", self.path, dict(self.headers.items()), json.loads(raw or b"{}")
                    )
                )
                reply = endpoint._next()
                try:
                    self._answer(reply)
                except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
                    endpoint.disconnects += 1
                    self.close_connection = True

            def _wait(self, seconds: float) -> None:
                if seconds > 0:
                    endpoint.stopping.wait(seconds)

            def _answer(self, reply: Reply) -> None:
                self._wait(reply.delay_s)
                if reply.status != 200:
                    body = json.dumps(reply.error or {"error": {"message": "failed"}}).encode()
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    endpoint.finished.set()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.wfile.flush()
                events = [
                    c if isinstance(c, str) else f"data: {json.dumps(c)}" for c in reply.chunks
                ]
                if reply.done and not reply.cut:
                    events.append("data: [DONE]")
                for event in events:
                    self._wait(reply.gap_s)
                    if endpoint.stopping.is_set():
                        return
                    self._piece(f"{event}\n\n".encode())
                if reply.cut:  # the connection dies inside the chunked body
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                endpoint.finished.set()

            def _piece(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

        return Handler


def dead_url() -> str:
    """The ``/v1`` base of a port on 127.0.0.1 with nothing listening (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
