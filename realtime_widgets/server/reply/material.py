"""A reply's material: the work the engine hands out, and what comes back for it.

:class:`~.engine.SessionEngine` hands out a :class:`ReplyRequest` per response and takes back
its reply in pieces: each :class:`ReplyPiece` (a clause's text and its speech) as it is ready,
maybe a :class:`~.responder.FunctionCall` last, then the end (``reply_piece`` ... ``reply_end``).
Computing them is kept out of the sans-I/O engine: a responder may be slow or do I/O, and
speech synthesis is CPU work, so the websockets layer (:mod:`..pipeline`) runs them off the
event loop, clause by clause. A reply computed whole is a :class:`ReplyMaterial` (one piece,
``reply_ready``): tests and the VAD lab make one with :func:`produce_reply_sync`, which checks
what the responder returned with :func:`checked_value` and asks :func:`speak_reply` for the
speech.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from realtime_widgets.server.reply.responder import (
    FunctionCall,
    ReplyContext,
    ReplyValue,
    Responder,
    SpeakingResponder,
)
from realtime_widgets.server.speech import SpeechSynthesizer
from realtime_widgets.server.tts import Speech

__all__ = [
    "NO_SYNTHESISER",
    "ReplyMaterial",
    "ReplyPiece",
    "ReplyRequest",
    "checked_value",
    "produce_reply_sync",
    "speak_reply",
    "speaks_for_itself",
]


@dataclass
class ReplyRequest:
    """Work for the I/O layer: compute a reply (responder, then speech) for this response."""

    response_id: str
    context: ReplyContext
    modalities: list[str]
    voice: str
    speed: float
    # Who answers this request (None: the server's responder); a translation session's
    # requests carry their translator's call (:mod:`.translator`), a GPT-Live session's
    # commentary and acknowledgements a responder that says their text as it is.
    responder: Responder | None = None
    # Who speaks it (None: the server's voice); a translation session's requests carry the
    # voice of their target language (:func:`..speech.voice_for_language`).
    speaker: SpeechSynthesizer | None = None


# Why a reply that asked for audio has none (the response's metadata.local_note says it).
NO_SYNTHESISER = "no offline speech synthesiser is installed; reply sent as transcript only"


@dataclass(frozen=True)
class ReplyPiece:
    """One piece of a reply, as it is ready: a clause's ``text`` and, when the response asked
    for audio, its ``speech`` (None: no audio for it; ``note`` says why, e.g. no synthesiser)."""

    text: str
    speech: Speech | None = None
    note: str | None = None


@dataclass
class ReplyMaterial:
    """A computed reply: the responder's value, speech when audio was asked for, or why not."""

    value: ReplyValue
    speech: Speech | None = None
    speech_error: str | None = None

    def as_piece(self) -> ReplyPiece | FunctionCall:
        """The whole reply as one piece (or the call it is)."""
        if isinstance(self.value, FunctionCall):
            return self.value
        return ReplyPiece(self.value, self.speech, self.speech_error)


def checked_value(value: object) -> ReplyValue:
    """What a responder returned, if it is a reply (text or a :class:`FunctionCall`); else
    TypeError naming what it was."""
    if not isinstance(value, str | FunctionCall):
        raise TypeError(f"a responder must return str or FunctionCall, got {type(value).__name__}")
    return value


def speaks_for_itself(responder: object, request: ReplyRequest, value: ReplyValue) -> bool:
    """Whether the reply's audio comes from the responder itself (a
    :class:`~.responder.SpeakingResponder` answering in text, when audio is asked for)."""
    return (
        isinstance(responder, SpeakingResponder)
        and isinstance(value, str)
        and "audio" in request.modalities
    )


def produce_reply_sync(
    request: ReplyRequest,
    responder: Callable[[ReplyContext], Any],
    speak: Callable[[str, str, float], Speech] | None,
) -> ReplyMaterial:
    """Run a synchronous responder and make its speech, as the server does in one piece: a
    :class:`~.responder.SpeakingResponder`'s own audio, else synthesised (used by tests and
    the VAD lab)."""
    value = checked_value(responder(request.context))
    if speaks_for_itself(responder, request, value):
        assert isinstance(responder, SpeakingResponder)
        own = responder.speech(request.context, request.speed)
        if own is not None:
            return ReplyMaterial(value, own)
    return speak_reply(request, value, speak)


def speak_reply(
    request: ReplyRequest,
    value: ReplyValue,
    speak: Callable[[str, str, float], Speech] | None,
) -> ReplyMaterial:
    """The material for a responder's ``value``: speech when the response asked for audio
    and a synthesiser is available, else the text with the reason there is no audio."""
    if isinstance(value, FunctionCall) or "audio" not in request.modalities:
        return ReplyMaterial(value)
    if speak is None:
        return ReplyMaterial(value, None, NO_SYNTHESISER)
    return ReplyMaterial(value, speak(value, request.voice, request.speed))
