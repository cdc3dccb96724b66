"""The reply path: who answers, what the answer is made of, how it is paced and counted.

What a response *is* on the wire (created, its events released on the clock, done, cancelled)
is the engine part :mod:`realtime_widgets.server.responses`; this package is what it says.

=================  ==========================================================================
module             what lives there
=================  ==========================================================================
``chat``           :class:`~.chat.ChatResponder`: any OpenAI-compatible Chat Completions
                   endpoint (Ollama, llama.cpp, vLLM, LM Studio, OpenAI) as the server's model,
                   its reply streamed (import it from ``reply.chat``; the ``chat`` extra)
``responder``      who answers: the :data:`Responder` protocol (any callable from
                   :class:`ReplyContext` to text or a :class:`FunctionCall`), the honest
                   :class:`LocalResponder`, :class:`EchoResponder`, :class:`SpeakingResponder`
                   (brings its own audio), :data:`RESPONDERS` by name, the default instructions
``material``       the work handed out and taken back: :class:`ReplyRequest`, each
                   :class:`ReplyPiece` (a clause and its speech) as it is ready, or
                   :class:`ReplyMaterial` (a reply computed whole); the one check of what a
                   responder returned (:func:`checked_value`); speech for a reply
                   (:func:`speak_reply`); :func:`produce_reply_sync` for tests and the VAD lab
``clauses``        reply text cut into clauses as it streams (:class:`ClauseSplitter`), the
                   first one short, so speech can start before the reply is whole
``timeline``       the pacing: each step of a reply (the message opened, a piece's deltas, the
                   message closed, a function call) as events built from their models at
                   offsets on the reply's timeline; :func:`~.timeline.cut_piece` (cut to
                   ``max_output_tokens``)
``usage``          the local usage rule in one place: text, audio in and out, the
                   ``response.usage`` object
``clauses``        reply text cut into speakable pieces for streamed speech: :func:`clauses`
                   for a whole text, :class:`ClauseSplitter` for deltas (first piece a
                   clause, then sentences)
=================  ==========================================================================

Imports run one way: ``usage`` <- ``responder`` <- ``material`` / ``timeline``; ``clauses``
imports only :mod:`..speech` (where a sentence ends, the rule the voices share); nothing here
imports an engine part.
"""

from __future__ import annotations

from realtime_widgets.server.reply.clauses import ClauseSplitter, clauses
from realtime_widgets.server.reply.material import (
    ReplyMaterial,
    ReplyPiece,
    ReplyRequest,
    checked_value,
    produce_reply_sync,
    speak_reply,
)
from realtime_widgets.server.reply.responder import (
    DEFAULT_INSTRUCTIONS,
    RESPONDERS,
    EchoResponder,
    FunctionCall,
    LocalResponder,
    ReplyChunk,
    ReplyContext,
    ReplyStream,
    ReplyValue,
    Responder,
    ResponderError,
    SpeakingResponder,
    arguments_for_schema,
)

__all__ = [
    "DEFAULT_INSTRUCTIONS",
    "RESPONDERS",
    "ClauseSplitter",
    "EchoResponder",
    "FunctionCall",
    "LocalResponder",
    "ReplyChunk",
    "ReplyContext",
    "ReplyMaterial",
    "ReplyPiece",
    "ReplyRequest",
    "ReplyStream",
    "ReplyValue",
    "Responder",
    "ResponderError",
    "SpeakingResponder",
    "arguments_for_schema",
    "checked_value",
    "clauses",
    "produce_reply_sync",
    "speak_reply",
]
