"""The local Realtime server: websockets around :class:`~.engine.SessionEngine`.

In a notebook cell::

    server = LocalServer().start()      # a background thread; returns once listening
    server.url                          # ws://127.0.0.1:PORT/v1/realtime
    server.stop()

In async code (tests, scripts): ``async with LocalServer() as server: ...`` runs on the current
loop. From a shell: ``realtime-widgets serve --port 8765``. The official SDK connects with
``AsyncOpenAI(api_key=..., websocket_base_url=server.base_url)``.

Each connection owns its tasks (a reader, a ticker releasing paced events, one worker per reply)
in a TaskGroup; closing the connection cancels and awaits them all. Replies are computed in a
worker thread, so a slow responder or speech synthesis never stalls other sessions.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import secrets
import threading
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, Literal
from urllib.parse import parse_qs, urlparse

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from realtime_widgets.logs import redacting_logger
from realtime_widgets.server.beta import to_beta_event
from realtime_widgets.server.engine import (
    BETA_DISABLED,
    EngineOptions,
    ReplyMaterial,
    ReplyRequest,
    SessionEngine,
)
from realtime_widgets.server.reply import speak_reply
from realtime_widgets.server.responder import FunctionCall, LocalResponder, Responder
from realtime_widgets.server.transcription import Transcriber
from realtime_widgets.server.tts import Speech, SynthesisUnavailable, default_synthesizer

__all__ = ["LocalServer"]

log = logging.getLogger("realtime_widgets.server")

PATHS = ("/v1/realtime", "/openai/v1/realtime", "/openai/realtime")
MAX_FRAME = 32 * 1024 * 1024  # a 15 MiB append is ~20 MiB of base64


class LocalServer:
    """An OpenAI-compatible Realtime server on 127.0.0.1 (see the module docstring).

    ``responder``: a callable (sync or async) from :class:`ReplyContext` to text or a
    :class:`FunctionCall`; the default is the honest :class:`LocalResponder`. ``pace``: 1.0
    streams reply audio in real time, 0 as fast as possible. ``token``: require
    ``Authorization: Bearer <token>`` (or ``api-key``). ``dialect="beta"`` serves the legacy
    beta shape to old clients; by default a beta client is refused as OpenAI refuses it.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        responder: Responder | None = None,
        pace: float = 1.0,
        max_duration_s: float = 3600.0,
        token: str | None = None,
        dialect: Literal["ga", "beta"] = "ga",
        speech: bool = True,
        transcriber: Transcriber | None = None,
    ) -> None:
        if dialect not in ("ga", "beta"):
            raise ValueError(f"dialect must be 'ga' or 'beta', got {dialect!r}")
        self.host = host
        self.port = port
        self.responder: Responder = responder or LocalResponder()
        self.options = EngineOptions(
            max_duration_s=max_duration_s, pace=pace, transcriber=transcriber, dialect=dialect
        )
        self._token = token
        self.dialect = dialect
        self._speak: Callable[[str, str, float], Speech] | None = None
        self.speech_note: str | None = None
        if speech:
            try:
                synth = default_synthesizer()
                self._speak = synth.speak
            except SynthesisUnavailable as exc:
                self.speech_note = str(exc)
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.sessions: dict[str, SessionEngine] = {}
        self.connections_total = 0

    def __repr__(self) -> str:  # never shows the token
        state = "running" if self._server is not None else "stopped"
        return f"LocalServer({self.url if self._server else self.host!r}, {state})"

    # ---- addresses --------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``ws://host:port/v1``: the SDK's ``websocket_base_url``."""
        return f"ws://{self.host}:{self.port}/v1"

    @property
    def url(self) -> str:
        return f"{self.base_url}/realtime"

    # ---- running on the current loop ------------------------------------------------------------

    async def __aenter__(self) -> LocalServer:
        await self._listen()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._close()

    async def _listen(self) -> None:
        self._server = await serve(
            self._handle,
            self.host,
            self.port,
            process_request=self._check_request,
            compression=None,  # compression doubles the CPU per audio event
            max_size=MAX_FRAME,
            ping_interval=20,
            ping_timeout=20,
            logger=redacting_logger("websockets.server"),
        )
        self.port = self._server.sockets[0].getsockname()[1] if self.port == 0 else self.port

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            await asyncio.wait_for(self._server.wait_closed(), timeout=10)
            self._server = None

    # ---- running on a background thread -------------------------------------------------------

    def start(self, timeout: float = 30.0) -> LocalServer:
        """Serve from a daemon thread with its own event loop; returns once listening."""
        if self._thread is not None:
            return self
        ready = threading.Event()
        failure: list[BaseException] = []

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            try:
                await self._listen()
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            try:
                await self._stop.wait()
            finally:
                await self._close()

        self._thread = threading.Thread(
            target=asyncio.run, args=(main(),), name="realtime-local-server", daemon=True
        )
        self._thread.start()
        if not ready.wait(timeout):
            raise TimeoutError(f"the local server did not start within {timeout} s")
        if failure:
            self._thread.join(timeout)
            self._thread = None
            raise failure[0]
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """Close every connection and the listener, and join the thread."""
        if self._thread is None or self._loop is None or self._stop is None:
            return
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError("the local server thread did not stop")
        self._thread = None

    # ---- connections ----------------------------------------------------------------------------

    def _check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urlparse(request.path)
        if url.path.rstrip("/") not in PATHS:
            return connection.respond(
                HTTPStatus.NOT_FOUND, f"Not found: {url.path}. Use /v1/realtime?model=...\n"
            )
        if self._token is not None:
            given = _bearer(request.headers)
            if given is None or not secrets.compare_digest(given, self._token):
                return connection.respond(
                    HTTPStatus.UNAUTHORIZED, "Missing or wrong API key for this local server.\n"
                )
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        self.connections_total += 1
        request = ws.request
        assert request is not None
        query = parse_qs(urlparse(request.path).query)
        model = (query.get("model") or query.get("deployment") or ["gpt-realtime-1.5"])[0]
        beta_header = "realtime=v1" in (request.headers.get("OpenAI-Beta") or "")
        session_id = "sess_" + secrets.token_hex(8)
        # Building an engine may load a speech model (~60 ms): never on the event loop.
        intent: Literal["realtime", "transcription"] = (
            "transcription" if query.get("intent") == ["transcription"] else "realtime"
        )
        engine = await asyncio.to_thread(
            SessionEngine,
            model=model,
            options=self.options,
            session_id=session_id,
            intent=intent,
        )
        dialect = self.dialect
        if beta_header and dialect == "ga":
            engine.start(asyncio.get_running_loop().time())
            await ws.send(
                json.dumps(
                    {
                        "type": "error",
                        "event_id": "event_beta",
                        "error": {
                            "type": "invalid_request_error",
                            "code": "beta_api_shape_disabled",
                            "param": None,
                            "event_id": None,
                            "message": BETA_DISABLED,
                        },
                    }
                )
            )
            await ws.close(4000, "beta_api_shape_disabled")
            return
        self.sessions[session_id] = engine
        try:
            await _Connection(self, ws, engine, dialect).run()
        finally:
            self.sessions.pop(session_id, None)
            engine.close()

    async def reply(self, request: ReplyRequest) -> ReplyMaterial:
        """Compute a reply: the responder (awaited if async, else in a thread), then speech."""
        responder = self.responder
        if inspect.iscoroutinefunction(responder) or inspect.iscoroutinefunction(
            type(responder).__call__
        ):
            value = await responder(request.context)  # type: ignore[misc]
        else:
            value = await asyncio.to_thread(responder, request.context)
            if inspect.isawaitable(value):
                value = await value
        if not isinstance(value, str | FunctionCall):
            raise TypeError(
                f"a responder must return str or FunctionCall, got {type(value).__name__}"
            )
        return await asyncio.to_thread(speak_reply, request, value, self._speak)


def _bearer(headers: Headers) -> str | None:
    auth = headers.get("Authorization") or ""
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    key = headers.get("api-key")
    return key.strip() if key else None


class _Connection:
    """One client: a reader, a ticker and reply workers, all owned by one TaskGroup."""

    def __init__(
        self, server: LocalServer, ws: ServerConnection, engine: SessionEngine, dialect: str
    ) -> None:
        self.server = server
        self.ws = ws
        self.engine = engine
        self.dialect = dialect
        self.loop = asyncio.get_running_loop()
        self.wake = asyncio.Event()
        self.group: asyncio.TaskGroup | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def send(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            if self.dialect == "beta":
                translated = to_beta_event(event, self.engine.config)
                if translated is None:
                    continue
                event = translated
            await self.ws.send(json.dumps(event, separators=(",", ":")))
        if self.engine.closed is not None:
            code, reason = self.engine.closed
            await self.ws.close(code, reason)

    async def run(self) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                self.group = group
                await self.send(self.engine.start(self.loop.time()))
                self.tasks.add(group.create_task(self._ticker()))
                try:
                    await self._reader()
                finally:
                    for task in self.tasks:  # the client left: stop the ticker and workers
                        task.cancel()
        except* ConnectionClosed:
            pass

    def _start_work(self) -> None:
        assert self.group is not None
        for request in self.engine.take_requests():
            task = self.group.create_task(self._work(request))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _reader(self) -> None:
        async for message in self.ws:
            if isinstance(message, bytes):
                message = message.decode("utf-8", "replace")
            await self.send(self.engine.receive(message, self.loop.time()))
            self._start_work()
            self.wake.set()
            if self.engine.closed is not None:
                return

    async def _work(self, request: ReplyRequest) -> None:
        try:
            material = await self.server.reply(request)
        except Exception as exc:  # a user responder's bug must not kill the session
            log.exception("responder failed")
            material = ReplyMaterial(f"The responder failed: {type(exc).__name__}: {exc}")
        await self.send(self.engine.reply_ready(request, material, self.loop.time()))
        self._start_work()
        self.wake.set()

    async def _ticker(self) -> None:
        while True:
            due = self.engine.next_due()
            delay = 3600.0 if due is None else max(0.0, due - self.loop.time())
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=min(delay, 3600.0))
            await self.send(self.engine.tick(self.loop.time()))
            self._start_work()
            if self.engine.closed is not None:
                return
