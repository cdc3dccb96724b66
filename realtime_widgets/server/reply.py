"""Computing a reply: run the responder, then synthesise its speech.

This is the work :class:`~.engine.SessionEngine` hands out as :class:`~.responses.ReplyRequest`
and takes back as :class:`~.responses.ReplyMaterial`. It is kept out of the sans-I/O engine:
a responder may be slow or do I/O, and speech synthesis is CPU work, so the websockets layer
(:mod:`.app`) runs it in a worker thread; tests call :func:`produce_reply_sync` directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from realtime_widgets.server.responder import FunctionCall, ReplyContext
from realtime_widgets.server.responses import ReplyMaterial, ReplyRequest
from realtime_widgets.server.tts import Speech

__all__ = ["produce_reply_sync", "speak_reply"]


def produce_reply_sync(
    request: ReplyRequest,
    responder: Callable[[ReplyContext], Any],
    speak: Callable[[str, str, float], Speech] | None,
) -> ReplyMaterial:
    """Run a synchronous responder and synthesise speech (used by tests and the VAD lab)."""
    value = responder(request.context)
    if not isinstance(value, str | FunctionCall):
        raise TypeError(f"a responder must return str or FunctionCall, got {type(value).__name__}")
    return speak_reply(request, value, speak)


def speak_reply(
    request: ReplyRequest,
    value: str | FunctionCall,
    speak: Callable[[str, str, float], Speech] | None,
) -> ReplyMaterial:
    """The material for a responder's ``value``: speech when the response asked for audio
    and a synthesiser is available, else the text with the reason there is no audio."""
    if isinstance(value, FunctionCall) or "audio" not in request.modalities:
        return ReplyMaterial(value)
    if speak is None:
        return ReplyMaterial(
            value, None, "no offline speech synthesiser is installed; reply sent as transcript only"
        )
    return ReplyMaterial(value, speak(value, request.voice, request.speed))
