"""The reply pipeline of the local server: a responder's answer, cut into clauses, spoken clause
by clause off the event loop, handed to the engine piece by piece.

:func:`produce_pieces` runs one :class:`~.reply.material.ReplyRequest`: it calls the responder
(awaited when async, in a thread when not), takes what it returns (text, a
:class:`~.reply.responder.FunctionCall`, or a stream of them, contract 2 of
:mod:`.reply.responder`: a sync iterator is read in a thread, never on the loop; an async one is
awaited), cuts the text into clauses as it comes (:mod:`.reply.clauses`), synthesises each
clause in a thread and hands each :class:`~.reply.material.ReplyPiece` to ``deliver`` as soon
as it is ready. Reading the stream, speaking clause n+1 and playing clause n (the engine's
ticker) overlap, so the first audio waits for the first clause only. A plain str goes the
same way; a :class:`~.reply.responder.SpeakingResponder`'s own audio is one piece.

It raises :class:`~.reply.responder.ResponderError` when the reply cannot go on: the
responder's own (contract 3), ``responder_error`` for any other exception it raised or a value
that is no reply (the message names it), ``responder_timeout`` when a wait passes
``ServerLimits.reply_wait_s``. Cancelling it (the response was cancelled, the client left)
stops the reading and the speaking, and closes the responder's stream.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import Executor
from typing import Any

from realtime_widgets.server.reply.clauses import ClauseSplitter
from realtime_widgets.server.reply.material import (
    NO_SYNTHESISER,
    ReplyPiece,
    ReplyRequest,
    speaks_for_itself,
)
from realtime_widgets.server.reply.responder import (
    FunctionCall,
    ReplyChunk,
    ResponderError,
    SpeakingResponder,
)
from realtime_widgets.server.tts import Speech

__all__ = ["Deliver", "Speak", "produce_pieces"]

log = logging.getLogger("realtime_widgets.server")

# Hands a piece to the engine (and sends what it releases); False: the response takes no more.
Deliver = Callable[[ReplyPiece | FunctionCall], Awaitable[bool]]
Speak = Callable[[str, str, float], Speech]


class _End:
    """The stream has ended (on the clause queue)."""


_END = _End()
_Queued = str | FunctionCall | _End | BaseException


async def produce_pieces(
    request: ReplyRequest,
    responder: Callable[..., Any],
    speak: Speak | None,
    deliver: Deliver,
    *,
    wait_s: float,
    speak_on: Executor | None = None,
) -> None:
    """Compute ``request``'s reply and hand it to ``deliver`` piece by piece (see the module
    docstring). Raises :class:`ResponderError` when it cannot go on. ``speak_on``: the pool the
    clauses are spoken on (the server's, below the event loop's priority; None: asyncio's
    default pool)."""
    try:
        answer = await _answer(responder, request, wait_s)
    except ResponderError:
        raise
    except TimeoutError:
        raise _timeout(wait_s, "answer") from None
    except Exception as exc:
        raise _failed(exc) from exc
    if isinstance(answer, FunctionCall):
        await deliver(answer)
        return
    if isinstance(answer, str) and speaks_for_itself(responder, request, answer):
        assert isinstance(responder, SpeakingResponder)
        own = await _wait(
            asyncio.to_thread(responder.speech, request.context, request.speed), wait_s
        )
        if own is not None:
            await deliver(ReplyPiece(answer, own))
            return
    if not isinstance(answer, str) and not _is_stream(answer):
        raise ResponderError(
            "responder_error",
            "A responder must return str, FunctionCall or an (async) iterator of them, got "
            f"{type(answer).__name__}.",
        )
    queue: asyncio.Queue[_Queued] = asyncio.Queue()
    async with asyncio.TaskGroup() as group:
        reader = group.create_task(_read(answer, queue, wait_s))
        try:
            problem = await _speak_clauses(request, queue, speak, deliver, wait_s, speak_on)
        finally:
            reader.cancel()
    if problem is not None:
        raise problem


async def _answer(responder: Callable[..., Any], request: ReplyRequest, wait_s: float) -> object:
    """What the responder returns for ``request``: awaited when it is async, else called in a
    thread (it may block); a stream is returned as it is, unread."""
    call = type(responder).__call__  # a callable object: its method says what it is
    if inspect.isasyncgenfunction(responder) or inspect.isasyncgenfunction(call):
        return responder(request.context)  # an async generator: creating it runs nothing
    if inspect.iscoroutinefunction(responder) or inspect.iscoroutinefunction(call):
        return await asyncio.wait_for(responder(request.context), wait_s)
    answer = await asyncio.wait_for(asyncio.to_thread(responder, request.context), wait_s)
    if inspect.isawaitable(answer):
        answer = await asyncio.wait_for(answer, wait_s)
    return answer


def _is_stream(value: object) -> bool:
    return isinstance(value, AsyncIterator | Iterator)


async def _read(answer: object, queue: asyncio.Queue[_Queued], wait_s: float) -> None:
    """Read the answer (text, or a stream of chunks) into clauses on ``queue``, then a
    FunctionCall if it ends with one, then the end; an exception goes on the queue too (the
    clauses before it are still spoken). The stream is closed however this ends."""
    splitter = ClauseSplitter()
    reading: list[asyncio.Future[object]] = []  # a sync stream's next() in its thread
    try:
        if isinstance(answer, str):
            for clause in splitter.feed(answer) + splitter.flush():
                queue.put_nowait(clause)
            queue.put_nowait(_END)
            return
        async for chunk in _chunks(answer, reading):
            if isinstance(chunk, FunctionCall):
                for clause in splitter.flush():
                    queue.put_nowait(clause)
                queue.put_nowait(chunk)  # the reply's last chunk (contract 2): stop reading
                return
            if not isinstance(chunk, str):
                raise ResponderError(
                    "responder_error",
                    "A reply stream yields str or FunctionCall chunks, got "
                    f"{type(chunk).__name__}.",
                )
            for clause in splitter.feed(chunk):
                queue.put_nowait(clause)
        for clause in splitter.flush():
            queue.put_nowait(clause)
        queue.put_nowait(_END)
    except Exception as exc:
        queue.put_nowait(exc)
    finally:
        await _close(answer, wait_s, reading)


async def _chunks(
    answer: object, reading: list[asyncio.Future[object]]
) -> AsyncIterator[ReplyChunk]:
    """The stream's chunks: an async iterator awaited, a sync one read in a thread (the
    next() in flight is in ``reading``: stopping the read does not stop the thread, and the
    stream is closed when the thread hands it back, :func:`_close`)."""
    if isinstance(answer, AsyncIterator):
        async for chunk in answer:
            yield chunk
        return
    assert isinstance(answer, Iterator)
    done = object()
    loop = asyncio.get_running_loop()
    while True:
        reading[:] = [loop.run_in_executor(None, next, answer, done)]
        chunk = await asyncio.shield(reading[0])  # cancelled: the thread goes on, tracked
        if chunk is done:
            return
        yield chunk


async def _close(
    answer: object, wait_s: float, reading: list[asyncio.Future[object]] | None = None
) -> None:
    """Close the responder's stream (its ``finally`` runs: an HTTP response is released). A
    sync stream whose next() still runs in its thread cannot be closed yet (a running
    generator refuses): it is closed as soon as that next() returns."""
    if reading and not reading[0].done():
        reading[0].add_done_callback(lambda read: _close_when_read(answer, read))
        return
    try:
        aclose = getattr(answer, "aclose", None)
        if aclose is not None:
            await asyncio.wait_for(aclose(), wait_s)
            return
        close = getattr(answer, "close", None)
        if close is not None:
            close()
    except Exception:
        log.warning("closing a responder's stream failed", exc_info=True)


def _close_when_read(answer: object, read: asyncio.Future[object]) -> None:
    """The thread has handed the sync stream back (what it read is not wanted): close it."""
    if not read.cancelled() and read.exception() is not None:
        return  # the stream raised: it has ended already (nobody waits for what it raised)
    close = getattr(answer, "close", None)
    if close is None:
        return
    try:
        close()
    except Exception:
        log.warning("closing a responder's stream failed", exc_info=True)


async def _speak_clauses(
    request: ReplyRequest,
    queue: asyncio.Queue[_Queued],
    speak: Speak | None,
    deliver: Deliver,
    wait_s: float,
    speak_on: Executor | None = None,
) -> ResponderError | None:
    """Speak each clause from ``queue`` and deliver it, until the end, a FunctionCall, a
    failure (returned, not raised: the caller raises it out of its task group) or a response
    that takes no more."""
    audio = "audio" in request.modalities
    while True:
        try:
            queued = await asyncio.wait_for(queue.get(), wait_s)
        except TimeoutError:
            return _timeout(wait_s, "next chunk")
        if isinstance(queued, _End):  # (an empty reply still ends with an empty item)
            return None
        if isinstance(queued, ResponderError):
            return queued
        if isinstance(queued, BaseException):
            return _failed(queued)
        if isinstance(queued, FunctionCall):
            await deliver(queued)
            return None
        piece = ReplyPiece(queued, None, NO_SYNTHESISER if audio and speak is None else None)
        if audio and speak is not None:
            try:
                speech = await asyncio.wait_for(
                    asyncio.get_running_loop().run_in_executor(
                        speak_on, speak, queued, request.voice, request.speed
                    ),
                    wait_s,
                )
            except TimeoutError:
                return _timeout(wait_s, "speech")
            except Exception as exc:
                log.exception("speech synthesis failed")
                return ResponderError(
                    "server_error",
                    f"Speech synthesis failed ({type(exc).__name__}: {exc}).",
                    "server_error",
                )
            piece = ReplyPiece(queued, speech)
        if not await deliver(piece):
            return None


async def _wait(awaitable: Awaitable[Speech | None], wait_s: float) -> Speech | None:
    """A :class:`SpeakingResponder`'s own speech: what it raises is the responder's failure
    (the response ends failed and the session goes on), never the connection's."""
    try:
        return await asyncio.wait_for(awaitable, wait_s)
    except TimeoutError:
        raise _timeout(wait_s, "speech") from None
    except ResponderError:
        raise
    except Exception as exc:
        raise _failed(exc) from exc


def _timeout(wait_s: float, what: str) -> ResponderError:
    return ResponderError(
        "responder_timeout",
        f"The reply's {what} did not come within {wait_s:g} s (ServerLimits.reply_wait_s).",
    )


def _failed(exc: BaseException) -> ResponderError:
    """A responder's own bug (any exception but ResponderError): the response fails naming
    it, and the server logs it with its traceback."""
    log.error("the responder failed", exc_info=exc)
    return ResponderError("responder_error", f"The responder failed: {type(exc).__name__}: {exc}")
