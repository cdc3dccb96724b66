"""The local Realtime server: websockets around :class:`~.engine.SessionEngine`.

In a notebook cell::

    server = LocalServer().start()      # a background thread; returns once listening
    server.url                          # ws://127.0.0.1:PORT/v1/realtime
    server.stop()

In async code (tests, scripts): ``async with LocalServer() as server: ...`` runs on the current
loop. From a shell: ``realtime-widgets serve --port 8765``. The official SDK connects with
``AsyncOpenAI(api_key=..., websocket_base_url=server.base_url)``: ``client.realtime.connect()``
for a Realtime (or ``intent=transcription``) session,
``client.realtime.translations.connect(model=...)`` for a translation session
(``/v1/realtime/translations``, :mod:`.translation_engine`), ``client.live.connect()`` for a
GPT-Live session (``/v1/live/sessions``, :mod:`.live_engine`), with the same limits, caps, auth
and shutdown. Stopping takes at most about
:data:`CLOSE_TIMEOUT_S`: peers that have not closed by then are aborted.

Each connection owns its tasks (a reader, a ticker releasing paced events, a keepalive, one
worker per reply) in a TaskGroup; closing the connection cancels and awaits them all. Replies are
computed off the loop (a sync responder and its stream in threads, speech clause by clause in a
thread, :mod:`.pipeline`), so a slow responder or speech synthesis never stalls other sessions,
and a reply's first clause plays while the rest is still being spoken.
The Silero VAD windows of every session that read audio in one event-loop pass run as one ONNX
batch (:meth:`LocalServer.vad_pass`); each session then sends the turn events they decide.
A big frame (an image) is parsed and its images read on the server's frame thread, and an event
carrying one is serialized there (:mod:`.frames`), so tens of milliseconds of C per image never
stall the other sessions; a session's frames are still answered one at a time, in order.

Every limit is in :class:`~.limits.ServerLimits` (``LocalServer(limits=...)``, or the flags of
``realtime-widgets serve``). Past one, a client gets an ``error`` event and keeps its session, or
for what cannot be answered in the session a clean refusal: HTTP 503 at the handshake when
``max_sessions`` are open, close 1009 for a frame over ``max_frame_bytes``. A bug met while
answering a client event, releasing a reply's events or scheduling a reply is logged and sent
as a ``server_error`` event (a reply that could not be scheduled ends ``failed``), and the
session goes on. Only a session whose own loop dies anyway is closed, at once, with 1011 and a
reason naming the exception, and logged at error level: never a silent hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import logging
import secrets
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qs, urlparse

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode
from websockets.http11 import Request, Response
from websockets.protocol import State

from realtime_widgets.logs import redacting_logger
from realtime_widgets.protocol import events as ev
from realtime_widgets.server.connection import SessionConnection, connection_class
from realtime_widgets.server.emitter import build_event, stamp
from realtime_widgets.server.engine import BETA_DISABLED, Intent, engine_for
from realtime_widgets.server.engine_core import EngineCore
from realtime_widgets.server.errors import error_detail
from realtime_widgets.server.input_transcripts import (
    HintedTranscriber,
    Transcriber,
    TranscriptionFailure,
    TranscriptionRequest,
    TranscriptionResult,
    run_transcriber,
)
from realtime_widgets.server.limits import ServerLimits
from realtime_widgets.server.options import EngineOptions
from realtime_widgets.server.pipeline import Deliver, produce_pieces
from realtime_widgets.server.reply.chat import ChatResponder
from realtime_widgets.server.reply.material import ReplyRequest
from realtime_widgets.server.reply.responder import RESPONDERS, Responder
from realtime_widgets.server.reply.translator import ChatTranslator, Translator
from realtime_widgets.server.speech import SpeechSynthesizer, Voices, described
from realtime_widgets.server.threads import background_pool
from realtime_widgets.server.tts import (
    SPEECH_ENGINES,
    SpeechChoice,
    check_speech_engine,
    choose_synthesizer,
    load_voices,
)
from realtime_widgets.server.vad import MODEL, Computed, TurnDetector, WindowBatch
from realtime_widgets.server.whisper import TranscriberUnavailable, shared_whisper

__all__ = [
    "LIVE_PATHS",
    "TRANSCRIBERS",
    "TRANSLATION_PATHS",
    "LocalServer",
    "TranscriberChoice",
    "TranslatorChoice",
    "serves",
]

_T = TypeVar("_T")

log = logging.getLogger("realtime_widgets.server")

# How long stopping the server (stop(), or leaving ``async with``) waits for its peers to answer
# the close (1001) before it aborts their connections (a TCP reset). A peer that never answers
# the close, never reads (a close frame stuck behind a full socket waits for ever in
# websockets), or never finished its handshake must not hold the server: websockets' own default
# is 10 s per connection, and stop() used to die of it with an uncaught TimeoutError.
CLOSE_TIMEOUT_S = 2.0

PATHS = ("/v1/realtime", "/openai/v1/realtime", "/openai/realtime")
# Translation sessions (client.realtime.translations.connect(model=...)): OpenAI's path only
# (the SDK refuses Azure for them).
TRANSLATION_PATHS = ("/v1/realtime/translations",)
# LocalServer(translator=...): a Translator, "auto" (the chat responder's endpoint with a
# translate prompt when the responder is a ChatResponder, else none) or None (none).
TranslatorChoice = Translator | Literal["auto"] | None
# GPT-Live sessions (client.live.connect()): no query, the model comes in session.start.
LIVE_PATHS = ("/v1/live/sessions",)
# LocalServer(transcriber=...): a recogniser, or "whisper" (the packaged Whisper tiny.en when
# the offline extra is installed, else none, saying why), or None (none).
TranscriberChoice = Transcriber | HintedTranscriber | Literal["whisper"] | None
TRANSCRIBERS = ("whisper", None)
# host:port of every LocalServer listening in this process. The wire never says a peer is this
# toolkit's server (OpenAI's does not); a client in the same process can ask :func:`serves`,
# e.g. to label the local usage an estimate where a person reads it.
_LISTENING: set[str] = set()


def serves(url: str) -> bool:
    """Whether ``url`` points at a :class:`LocalServer` listening in this process."""
    return urlparse(url).netloc in _LISTENING


class LocalServer:
    """An OpenAI-compatible Realtime server on 127.0.0.1 (see the module docstring).

    ``responder``: a callable (sync or async) from :class:`ReplyContext` to text, a
    :class:`FunctionCall`, or a stream of text deltas maybe ending with one (an iterator or
    async iterator; a failure is a :class:`ResponderError`), or a built-in's name:
    ``"local"`` (the default, the honest :class:`LocalResponder`) or ``"echo"``
    (:class:`EchoResponder`: the user's own audio back). ``pace``: 1.0 streams reply audio in
    real time, 0 as fast as possible; ``lead``: seconds of each reply sent ahead of real time,
    as OpenAI sends audio faster than real time (0: strictly real time; see
    :class:`EngineOptions`). ``token``: require ``Authorization: Bearer <token>`` (or
    ``api-key``). ``dialect="beta"`` serves the legacy beta shape to old clients; by default a
    beta client is refused as OpenAI refuses it.
    ``limits``: every limit (:class:`ServerLimits`); ``max_duration_s`` is a shorthand for
    ``limits.max_duration_s``. ``speech``: the voice of audio replies, one of
    :data:`~.tts.SPEECH_ENGINES`: ``"auto"`` (or True, the default: Piper when the ``voice``
    extra is installed and its hashes check, else eSpeak NG, else text only), ``"piper"``,
    ``"espeak"`` (a named engine that cannot load raises :class:`SynthesisUnavailable`),
    ``"off"`` (or False: text only); or any :class:`SpeechSynthesizer`. An engine is loaded
    when the server starts, off the event loop (until then ``synthesizer`` is None);
    ``speech_note`` then says which voice speaks, or why none does. That voice speaks English;
    a translation session into another language speaks with eSpeak NG's voice of that
    language, loaded then too (``voices``), or, when no voice speaks it, in text only.
    ``transcriber``: what hears the user's turns: ``"whisper"`` (the
    default: Whisper tiny.en, loaded once per process when the server starts, if the ``offline``
    extra is installed; else none, and each ``failed`` says how to get it), ``None`` (none), or
    any callable from 24 kHz int16 samples to text (e.g.
    :class:`~.whisper.WhisperTranscriber` with another model), run off the event loop on the
    server's recogniser thread. Whatever transcription model a session names, this one answers.
    ``translator``: what translates in translation sessions
    (``/v1/realtime/translations?model=...``, :mod:`.translation_engine`): ``"auto"`` (the
    default: the chat responder's endpoint with a translate prompt,
    :class:`~.reply.translator.ChatTranslator`, when ``responder`` is a
    :class:`~.reply.chat.ChatResponder`; else none), ``None`` (none: each translation session
    says so in an ``error`` event and sends the input transcript only), or any
    :class:`~.reply.translator.Translator`. ``translator_note`` says which.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        responder: Responder | str | None = None,
        pace: float = 1.0,
        lead: float = 0.5,
        max_duration_s: float | None = None,
        token: str | None = None,
        dialect: Literal["ga", "beta"] = "ga",
        speech: bool | str | SpeechSynthesizer = True,
        transcriber: TranscriberChoice = "whisper",
        limits: ServerLimits | None = None,
        translator: TranslatorChoice = "auto",
    ) -> None:
        if dialect not in ("ga", "beta"):
            raise ValueError(f"dialect must be 'ga' or 'beta', got {dialect!r}")
        if not (transcriber is None or transcriber == "whisper" or callable(transcriber)):
            raise ValueError(
                "transcriber must be a callable (24 kHz int16 samples -> text), 'whisper' or "
                f"None, got {transcriber!r}"
            )
        # "whisper" is loaded when the server starts (off the loop, once per process).
        self._want_whisper = transcriber == "whisper"
        self.host = host
        self.port = port
        if isinstance(responder, str):
            if responder not in RESPONDERS:
                names = sorted(RESPONDERS)
                raise ValueError(
                    f"responder must be a callable or one of {names}, got {responder!r}"
                )
            responder = RESPONDERS[responder]()
        self.responder: Responder = responder or RESPONDERS["local"]()
        chosen = _translator_choice(translator, self.responder)
        limits = limits or ServerLimits()
        if max_duration_s is not None:
            limits = dataclasses.replace(limits, max_duration_s=max_duration_s)
        self.limits = limits
        # Every session's Silero windows of one event-loop pass run as one batch (_vad_pass).
        self.vad_batch = WindowBatch()
        self._vad_done: asyncio.Future[None] | None = None
        self._vad_busy = False  # a batch is out on the VAD thread: the next pass waits for it
        self.options = EngineOptions(
            limits=limits,
            pace=pace,
            lead=lead,
            transcriber=None if isinstance(transcriber, str) else transcriber,
            transcriber_note=None,
            translator=chosen,
            dialect=dialect,
            detector=functools.partial(TurnDetector, batch=self.vad_batch),
        )
        self._token = token
        self.dialect = dialect
        # A voice engine is checked here and loaded when the server starts, off the loop
        # (Piper reads and hashes 63 MB and renders a warm-up: ~0.6 s): constructing a server
        # inside a running loop (``async with LocalServer()``) must not stall it.
        choice = _speech_choice(speech)
        self._speech_engine: str | None = None
        if isinstance(choice, str):
            self._speech_engine = choice
            choice = SpeechChoice(None, f"the voice ({choice}) is chosen when the server starts")
        self.synthesizer: SpeechSynthesizer | None = None
        self.speech_note: str = ""
        self._use_speech(choice)
        self._server: Server | None = None
        # Big frames are read, and events carrying images serialized, here (one thread: the
        # work holds the GIL in pieces, and a second thread would only compete with the loop).
        self._frames: ThreadPoolExecutor | None = None
        # Silero runs here, one batch at a time (a stream's windows are out in one batch only).
        self._vad: ThreadPoolExecutor | None = None
        # Transcription jobs run here, one at a time: the packaged Whisper uses one core
        # (whisper.py says why), so the other stays with the event loop and Silero. Each
        # session's jobs wait in its own queue, and the sessions take turns (_next_transcription).
        self._ears: ThreadPoolExecutor | None = None
        self._voice: ThreadPoolExecutor | None = None  # speech synthesis (.threads)
        self._ear_jobs: dict[object, deque[_EarJob]] = {}  # per session, in turn order
        self._ear_running = False
        # Jobs queued or running per session, until the thread has finished each (not when its
        # wait timed out): capped by max_transcriptions_per_session; their sum is the server's
        # queue (speculation is skipped past max_queued_transcriptions).
        self._session_transcriptions: dict[object, int] = {}
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.sessions: dict[str, EngineCore[Any]] = {}
        self.connections_total = 0
        self.refused_total = 0  # handshakes refused with 503 (max_sessions)
        # Connections admitted past the handshake check and not finished yet: what the session
        # cap counts (a session registers only once its engine is built).
        self._admitted: set[ServerConnection] = set()
        self._live: set[ServerConnection] = set()  # every TCP connection (connection_class)

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

    @property
    def live_url(self) -> str:
        """``ws://host:port/v1/live/sessions``: where GPT-Live sessions connect (the SDK's
        ``client.live.connect()`` builds it from ``base_url``)."""
        return f"{self.base_url}/live/sessions"

    # ---- running on the current loop ------------------------------------------------------------

    @property
    def _address(self) -> str:
        return f"{self.host}:{self.port}"

    async def __aenter__(self) -> LocalServer:
        await self._listen()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._close()

    def _use_speech(self, choice: SpeechChoice) -> None:
        self.synthesizer = choice.synthesizer
        self.speech_note = choice.note

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        # Whisper and Piper run on threads below the event loop's priority (.threads), and
        # load there too: a model's own worker threads take the priority of the thread that
        # made them.
        self._ears = ears = background_pool(1, "realtime-ears")
        self._voice = voice = background_pool(2, "realtime-voice")
        try:
            if self._speech_engine is not None:  # a named engine that cannot load raises here
                self._use_speech(
                    await loop.run_in_executor(voice, choose_synthesizer, self._speech_engine)
                )
                self._speech_engine = None
            # What speaks each language of a translation: the voice (English) and eSpeak NG.
            voices = await loop.run_in_executor(
                voice, load_voices, self.synthesizer, self.speech_note
            )
            self.options = dataclasses.replace(self.options, voices=voices)
            await asyncio.to_thread(MODEL.load)  # once per process, not at someone's first word
            if self._want_whisper and self.options.transcriber is None:
                await loop.run_in_executor(ears, self._load_whisper)
        except BaseException:
            for pool in (ears, voice):
                pool.shutdown(wait=False, cancel_futures=True)
            self._ears = self._voice = None
            raise
        # A server started again begins with no job of its last run counted as queued or
        # running (a thread that outlived that run's stop never reported back).
        self._ear_jobs.clear()
        self._session_transcriptions.clear()
        self._ear_running = self._vad_busy = False
        self._frames = ThreadPoolExecutor(1, thread_name_prefix="realtime-frames")
        self._vad = ThreadPoolExecutor(1, thread_name_prefix="realtime-vad")
        self._server = await serve(
            self._handle,
            self.host,
            self.port,
            process_request=self._check_request,
            create_connection=connection_class(self._live),
            compression=None,  # compression doubles the CPU per audio event
            max_size=self.limits.max_frame_bytes,
            max_queue=self.limits.max_queued_frames,
            # Keepalive is the connection's own (SessionConnection._keepalive): websockets' pings
            # time out, and close 1011, when a busy client's pong waits behind its own frames.
            ping_interval=None,
            close_timeout=CLOSE_TIMEOUT_S,
            logger=redacting_logger("websockets.server"),
        )
        self.port = self._server.sockets[0].getsockname()[1] if self.port == 0 else self.port
        _LISTENING.add(self._address)

    async def _close(self) -> None:
        """Stop listening and close every connection with 1001, within :data:`CLOSE_TIMEOUT_S`:
        then the peers that have not finished closing are aborted, and their handlers (which
        end on the connection's loss) are waited for as long again. Never raises."""
        _LISTENING.discard(self._address)
        server, self._server = self._server, None
        if server is None:
            return
        try:
            await self._close_connections(server)
        finally:
            # Every connection is closed: nothing more is queued on the server's threads. A
            # transcription still running is not waited for past the deadline.
            for pool in (self._frames, self._vad, self._ears, self._voice):
                if pool is not None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            asyncio.to_thread(pool.shutdown, True, cancel_futures=True),
                            CLOSE_TIMEOUT_S,
                        )
            self._frames = self._vad = self._ears = self._voice = None

    async def _close_connections(self, server: Server) -> None:
        server.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), CLOSE_TIMEOUT_S)
            return
        # websockets aborts a peer that does not answer its close by the same deadline; what
        # is left is stuck in a write to a peer that reads nothing, or in a handshake.
        stuck = list(self._live)
        if stuck:
            log.warning(
                "stopping: %d connection(s) did not close within %s s (CLOSE_TIMEOUT_S); aborted",
                len(stuck),
                CLOSE_TIMEOUT_S,
            )
        for connection in stuck:
            connection.transport.abort()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), CLOSE_TIMEOUT_S)
            return
        # A handler that outlives its connection is a bug: say so, and cancel it.
        log.error("stopping: connection handlers still running after their connections ended")
        handlers = list(server.handler_tasks)
        for task in handlers:
            task.cancel()
        if handlers:
            await asyncio.wait(handlers, timeout=CLOSE_TIMEOUT_S)

    def _load_whisper(self) -> None:
        """The packaged Whisper (shared by the process), or none and why (said in ``failed``)."""
        try:
            whisper: Transcriber | HintedTranscriber | None = shared_whisper()
            note = None
        except TranscriberUnavailable as exc:
            whisper, note = None, str(exc)
            log.warning("the local server has no speech recogniser: %s", note)
        self.options = dataclasses.replace(self.options, transcriber=whisper, transcriber_note=note)

    @property
    def transcriber(self) -> Transcriber | HintedTranscriber | None:
        """The recogniser the server's sessions use (None: none; ``transcriber_note`` says
        why). ``"whisper"`` is resolved when the server starts."""
        return self.options.transcriber

    @property
    def translator(self) -> Translator | None:
        """What translates in translation sessions (None: none, and they say so)."""
        return self.options.translator

    @property
    def translator_note(self) -> str:
        """Which translator translation sessions use, or that there is none and how to get one."""
        translator = self.options.translator
        if translator is None:
            return (
                "no translator: translation sessions send the input transcript only (pass "
                "LocalServer(responder=ChatResponder(...)), serve --chat-url, or translator=)"
            )
        return f"translating with {described(translator)}"

    @property
    def voices(self) -> Voices:
        """What speaks each language a translation session translates into
        (:func:`~.speech.voice_for_language`): the server's voice speaks English, eSpeak NG's
        voices the other languages it has. Loaded when the server starts (none before)."""
        return self.options.voices

    @property
    def transcriber_note(self) -> str | None:
        """Why the server has no recogniser, when the packaged Whisper could not be loaded."""
        return self.options.transcriber_note

    async def transcribe(
        self, request: TranscriptionRequest, session: object = None
    ) -> TranscriptionResult:
        """Run one transcription job of ``session`` (any key: its connection) on the recogniser
        thread; the sessions' jobs take turns. Failed at once when the session already has
        ``max_transcriptions_per_session`` jobs queued or running; a speculative one is skipped
        (a failure, never used) when ``max_queued_transcriptions`` jobs already wait. A job
        counts until the thread has finished it; one whose wait ended (timed out, cancelled)
        before it ran is dropped, never run."""
        transcriber = self.options.transcriber
        if transcriber is None or self._ears is None:
            return TranscriptionFailure("transcription_unavailable", "no recogniser")
        cap = self.limits.max_transcriptions_per_session
        if self._session_transcriptions.get(session, 0) >= cap:
            return TranscriptionFailure(
                "transcription_limit",
                f"This session already has {cap} transcriptions queued or running on the local "
                "server's recogniser (ServerLimits.max_transcriptions_per_session), so this "
                "turn is not transcribed. Commit turns less often, or raise the limit.",
            )
        if (
            request.speculative
            and sum(self._session_transcriptions.values()) >= self.limits.max_queued_transcriptions
        ):
            return TranscriptionFailure("busy", "the recogniser is busy")
        result: asyncio.Future[TranscriptionResult] = asyncio.get_running_loop().create_future()
        self._ear_jobs.setdefault(session, deque()).append(_EarJob(request, transcriber, result))
        self._session_transcriptions[session] = self._session_transcriptions.get(session, 0) + 1
        self._next_transcription()
        return await result

    def _next_transcription(self) -> None:
        """Hand the next job to the recogniser thread when it is free: the first job of the
        session whose turn it is (that session then goes to the back of the line, and again
        when its job is done)."""
        while not self._ear_running and self._ear_jobs:
            session = next(iter(self._ear_jobs))
            jobs = self._ear_jobs.pop(session)
            job = jobs.popleft()
            if jobs:
                self._ear_jobs[session] = jobs
            if job.result.done():  # its wait ended before it ran: never run it
                self._transcription_finished(session)
                continue
            try:
                if self._ears is None:
                    raise RuntimeError("the local server is not listening")
                running = asyncio.get_running_loop().run_in_executor(
                    self._ears, run_transcriber, job.transcriber, job.request
                )
            except RuntimeError:  # the recogniser thread is shut down: the server is stopping
                self._transcription_finished(session)
                job.result.set_result(
                    TranscriptionFailure("transcription_unavailable", "the server is stopping")
                )
                continue
            self._ear_running = True
            running.add_done_callback(functools.partial(self._transcribed, session, job))

    def _transcribed(
        self, session: object, job: _EarJob, running: asyncio.Future[TranscriptionResult]
    ) -> None:
        """The recogniser thread has finished ``job`` (or it was cancelled before it ran)."""
        self._ear_running = False
        self._transcription_finished(session)
        # Served: the session's other jobs go behind every session that waits, those that
        # queued while this one ran included.
        jobs = self._ear_jobs.pop(session, None)
        if jobs:
            self._ear_jobs[session] = jobs
        if not job.result.done():
            if running.cancelled():
                job.result.set_result(
                    TranscriptionFailure("transcription_unavailable", "the server is stopping")
                )
            elif (exc := running.exception()) is not None:
                job.result.set_exception(exc)
            else:
                job.result.set_result(running.result())
        self._next_transcription()

    def _transcription_finished(self, session: object) -> None:
        left = self._session_transcriptions.pop(session, 0) - 1
        if left > 0:
            self._session_transcriptions[session] = left

    async def off_loop(self, fn: Callable[..., _T], *args: Any) -> _T:
        """``fn(*args)`` on the frame thread (:mod:`.frames`), awaited."""
        assert self._frames is not None, "the server is not listening"
        return await asyncio.get_running_loop().run_in_executor(self._frames, fn, *args)

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
        """Close every connection and the listener, and join the thread. Bounded: peers that
        do not finish the close within :data:`CLOSE_TIMEOUT_S` are aborted (``timeout`` only
        guards against a thread that is stuck anyway: then TimeoutError)."""
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
        path = url.path.rstrip("/")
        if path not in PATHS + TRANSLATION_PATHS + LIVE_PATHS:
            return connection.respond(
                HTTPStatus.NOT_FOUND,
                f"Not found: {url.path}. Use /v1/realtime?model=... (or "
                "/v1/realtime/translations?model=... for a translation session, "
                "/v1/live/sessions for a GPT-Live session)\n",
            )
        if path in TRANSLATION_PATHS and not parse_qs(url.query).get("model"):
            return connection.respond(
                HTTPStatus.BAD_REQUEST,
                "Missing required query parameter: model (a translation session names its "
                "model in the URL: /v1/realtime/translations?model=gpt-realtime-translate)\n",
            )
        if self._token is not None:
            given = _bearer(request.headers)
            if given is None or not secrets.compare_digest(given, self._token):
                return connection.respond(
                    HTTPStatus.UNAUTHORIZED, "Missing or wrong API key for this local server.\n"
                )
        # Handshakes that failed after this check never reach _handle: forget them here.
        self._admitted = {c for c in self._admitted if c.state is not State.CLOSED}
        cap = self.limits.max_sessions
        if len(self._admitted) >= cap:
            self.refused_total += 1
            return connection.respond(
                HTTPStatus.SERVICE_UNAVAILABLE,
                f"This local server already has {cap} sessions open, its limit. Close one, or "
                f"raise the limit: ServerLimits(max_sessions=...) in Python, or "
                f"realtime-widgets serve --max-sessions N.\n",
            )
        self._admitted.add(connection)
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        try:
            await self._session(ws)
        except ConnectionClosed:
            pass  # the peer left while the session was starting
        except Exception as exc:  # a session's loop died: say so at once, never hang silently
            cause = _leaf(exc)
            log.error("a session of the local server failed; closing it with 1011", exc_info=exc)
            reason = f"local server error ({type(cause).__name__}); see the server log"
            try:
                await asyncio.wait_for(ws.close(CloseCode.INTERNAL_ERROR, reason), CLOSE_TIMEOUT_S)
            except TimeoutError:
                ws.transport.abort()
        finally:
            self._admitted.discard(ws)

    async def _session(self, ws: ServerConnection) -> None:
        self.connections_total += 1
        request = ws.request
        assert request is not None
        url = urlparse(request.path)
        query = parse_qs(url.query)
        model = (query.get("model") or query.get("deployment") or ["gpt-realtime-1.5"])[0]
        beta_header = "realtime=v1" in (request.headers.get("OpenAI-Beta") or "")
        dialect = self.dialect
        path = url.path.rstrip("/")
        intent: Intent = "transcription" if query.get("intent") == ["transcription"] else "realtime"
        if path in LIVE_PATHS:
            intent, dialect = "live", "ga"  # (GPT-Live has no beta shape; its model comes later)
        elif beta_header and dialect == "ga":  # refused before any engine is built
            refusal = build_event(
                ev.ErrorEvent,
                error=error_detail(BETA_DISABLED, code="beta_api_shape_disabled"),
            )
            await ws.send(json.dumps(stamp(refusal, "event_beta")))
            await ws.close(4000, "beta_api_shape_disabled")
            return
        elif path in TRANSLATION_PATHS:
            intent, dialect = "translation", "ga"  # (a translation session has no beta shape)
        session_id = "sess_" + secrets.token_hex(8)
        # Building an engine may load a speech model (~60 ms): never on the event loop.
        engine = await asyncio.to_thread(
            functools.partial(
                engine_for, intent, model=model, options=self.options, session_id=session_id
            )
        )
        self.sessions[session_id] = engine
        try:
            await SessionConnection(self, ws, engine, dialect).run()
        finally:
            self.sessions.pop(session_id, None)
            engine.close()

    async def vad_pass(self) -> None:
        """Wait for the shared VAD batch to run: once per event-loop pass, after every session
        that read audio in this pass has queued its windows (one ONNX call for all of them).
        The windows are taken on the loop, the network runs on the VAD thread, and the
        probabilities are handed back on the loop: the model never runs on the event loop. One
        batch is out at a time (a stream's next windows need the state its last ones left): a
        pass asked for meanwhile runs once that one is back. Raises what the batch raised (its
        windows are computed again by the next pass), or TimeoutError past
        ``ServerLimits.vad_timeout_s``."""
        loop = asyncio.get_running_loop()
        if self._vad_done is None:
            self._vad_done = loop.create_future()
            if not self._vad_busy:
                loop.call_soon(self._run_vad_batch)
        # Shielded: a session that leaves (or stops waiting) must not cancel the others' wait.
        await asyncio.wait_for(asyncio.shield(self._vad_done), self.limits.vad_timeout_s)

    def _run_vad_batch(self) -> None:
        done, self._vad_done = self._vad_done, None  # later windows make the next pass
        if done is None:
            return
        loop = asyncio.get_running_loop()
        batch = self.vad_batch
        taken = batch.take()
        try:
            if self._vad is None:
                raise RuntimeError("the local server is not listening")
            computing = loop.run_in_executor(self._vad, batch.compute, taken)
        except RuntimeError as exc:  # the VAD thread is shut down: the server is stopping
            batch.restore(taken)
            done.set_exception(exc)
            return
        self._vad_busy = True

        def delivered(computed: asyncio.Future[Computed]) -> None:
            self._vad_busy = False
            failure: BaseException | None = None
            try:
                result = computed.result()
            except (Exception, asyncio.CancelledError) as exc:  # cancelled: a shutdown
                # Every waiting session answers it with an error event; the windows go back
                # in front of the queue, or their streams would wait for them for ever.
                batch.restore(taken)
                failure = (
                    exc
                    if isinstance(exc, Exception)
                    else RuntimeError("the VAD pass was cancelled (the server is stopping)")
                )
            else:
                try:
                    batch.deliver(result)
                except Exception as exc:
                    failure = exc
            if not done.done():
                if failure is None:
                    done.set_result(None)
                else:
                    done.set_exception(failure)
            if self._vad_done is not None:  # sessions asked for a pass while this one ran
                loop.call_soon(self._run_vad_batch)

        computing.add_done_callback(delivered)

    async def reply(self, request: ReplyRequest, deliver: Deliver) -> None:
        """Compute ``request``'s reply and hand it to ``deliver`` piece by piece: the
        responder's text cut into clauses, each spoken off the loop as soon as it is whole
        (:mod:`.pipeline`), on the server's voice pool, by the request's speaker (a
        translation's: the voice of its language) or else the server's voice. Raises
        :class:`~.reply.responder.ResponderError` when the reply cannot go on."""
        speaker = self.synthesizer if request.speaker is None else request.speaker
        await produce_pieces(
            request,
            request.responder or self.responder,
            None if speaker is None else speaker.speak,
            deliver,
            wait_s=self.limits.reply_wait_s,
            speak_on=self._voice,
        )


@dataclass(eq=False)
class _EarJob:
    """A transcription job waiting for the recogniser thread, and where its result goes."""

    request: TranscriptionRequest
    transcriber: Transcriber | HintedTranscriber
    result: asyncio.Future[TranscriptionResult]


def _speech_choice(speech: bool | str | SpeechSynthesizer) -> SpeechChoice | str:
    """``LocalServer(speech=...)``, checked: True/False are ``"auto"``/``"off"``; a synthesiser
    is used as it is; a string is an engine name (a clear error names the allowed ones),
    returned as it is to be loaded when the server starts (``"off"`` is chosen at once)."""
    if isinstance(speech, bool):
        speech = "auto" if speech else "off"
    if isinstance(speech, str):
        check_speech_engine(speech)
        return choose_synthesizer(speech) if speech == "off" else speech
    if not callable(getattr(speech, "speak", None)):
        raise TypeError(
            f"speech must be True, False, one of {list(SPEECH_ENGINES)} or an object with "
            f"speak(text, voice, speed), got {type(speech).__name__}"
        )
    # Any object with speak() will do (the docs say so): one without a description is named
    # by its type.
    return SpeechChoice(speech, f"speaking with {described(speech)}")


def _translator_choice(choice: TranslatorChoice, responder: Responder) -> Translator | None:
    """``LocalServer(translator=...)``, checked: "auto" is the chat responder's endpoint when
    the responder is a ChatResponder (else none)."""
    if choice is None:
        return None
    if isinstance(choice, str):
        if choice != "auto":
            raise ValueError(f"translator must be a Translator, 'auto' or None, got {choice!r}")
        return ChatTranslator(responder) if isinstance(responder, ChatResponder) else None
    if not callable(getattr(choice, "translate", None)):
        raise TypeError(
            "translator must have translate(text, source_language, target_language), 'auto' "
            f"or None, got {type(choice).__name__}"
        )
    return choice


def _bearer(headers: Headers) -> str | None:
    auth = headers.get("Authorization") or ""
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    key = headers.get("api-key")
    return key.strip() if key else None


def _leaf(exc: BaseException) -> BaseException:
    """The first exception inside (nested) exception groups: what a TaskGroup's failure was."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc
