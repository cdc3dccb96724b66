"""Translators: what puts a heard segment into the target language, for translation sessions.

A translation session of the local server (:mod:`..translation_engine`) hears speech, cuts it
into segments, transcribes each, and hands the text to a translator; the voice then speaks the
translation. A translator is any object with::

    translate(text, source_language, target_language) -> str

``source_language`` is None when the recogniser does not say (the packaged Whisper tiny.en
hears English); ``target_language`` is the session's ``audio.output.language`` (an ISO-639-1
code). ``translate`` may be a plain method (the server runs it in a thread, off the event loop,
as it runs a sync responder) or a coroutine (awaited there). It raises
:class:`~.responder.ResponderError` when it cannot translate: that segment gets an ``error``
event with its code and message, and the session goes on. Returning ``""`` says nothing.

:class:`ChatTranslator` is the built-in one: the chat responder's endpoint
(:class:`~.chat.ChatResponder`, any OpenAI-compatible Chat Completions server) with a translate
prompt. ``LocalServer(responder=ChatResponder(...))`` (``realtime-widgets serve --chat-url URL
--chat-model NAME``) translates with it by default; ``LocalServer(translator=...)`` sets another
one, or ``None`` for none. With no translator a translation session says so in an ``error``
event and still sends the input transcript: the local server never invents a translation (it
never passes the source text off as one).

:class:`TranslationCall` is one segment's translation as the reply pipeline's responder
(:mod:`..pipeline`: called off the loop, its text cut into clauses and spoken clause by clause).
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.server.reply.chat import ChatResponder
from realtime_widgets.server.reply.responder import FunctionCall, ReplyContext, ResponderError

__all__ = [
    "LANGUAGE_NAMES",
    "TRANSLATE_INSTRUCTIONS",
    "ChatTranslator",
    "TranslationCall",
    "Translator",
    "language_name",
]

# Names for the codes a user most often picks (a model follows "Spanish" more surely than
# "es"); any other code is passed on as it is.
LANGUAGE_NAMES: dict[str, str] = {
    "ar": "Arabic",
    "de": "German",
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "hi": "Hindi",
    "it": "Italian",
    "ja": "Japanese",
    "ko": "Korean",
    "nl": "Dutch",
    "pl": "Polish",
    "pt": "Portuguese",
    "ru": "Russian",
    "sv": "Swedish",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "zh": "Chinese",
}

TRANSLATE_INSTRUCTIONS = (
    "You are an interpreter. Translate the user's message {source}into {target}. Reply with "
    "the translation only: no quotes, notes, explanations or answers to what it says. Keep its "
    "meaning, tone and punctuation, in plain sentences without markdown, as it is read aloud."
)


def language_name(code: str | None) -> str | None:
    """``"es"`` -> ``"Spanish (es)"``; a code without a known name as it is; None as None."""
    if code is None:
        return None
    name = LANGUAGE_NAMES.get(code.split("-")[0].lower())
    return f"{name} ({code})" if name else code


@runtime_checkable
class Translator(Protocol):
    """Puts text into another language (see the module docstring)."""

    def translate(
        self, text: str, source_language: str | None, target_language: str
    ) -> str | Awaitable[str]: ...


class ChatTranslator:
    """Translation by a Chat Completions endpoint: a :class:`~.chat.ChatResponder`'s (its URL,
    model, key, timeouts and error codes) with :data:`TRANSLATE_INSTRUCTIONS` as the system
    message and the segment as the user message; no tools are offered. Its failures are the
    responder's :class:`~.responder.ResponderError` (``chat_unreachable``, ``chat_timeout``,
    ...), whose messages never carry the key."""

    def __init__(self, chat: ChatResponder, *, instructions: str = TRANSLATE_INSTRUCTIONS) -> None:
        if not isinstance(chat, ChatResponder):
            raise TypeError(f"ChatTranslator needs a ChatResponder, got {type(chat).__name__}")
        self.chat = chat
        self.instructions = instructions

    def __repr__(self) -> str:
        return f"ChatTranslator({self.chat!r})"

    @property
    def description(self) -> str:
        return f"the chat endpoint {self.chat.shown_url} (model {self.chat.model})"

    def prompt(self, source_language: str | None, target_language: str) -> str:
        """The system message for one translation."""
        source = language_name(source_language)
        return self.instructions.format(
            source=f"from {source} " if source else "", target=language_name(target_language)
        )

    def context(self, text: str, source_language: str | None, target_language: str) -> ReplyContext:
        """What the chat responder builds its request from: the prompt as the instructions and
        the text as the one user message (a default config: no tools, no token limit)."""
        message = {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": text}],
        }
        return ReplyContext(
            config=SessionConfig(),
            conversation=[message],
            instructions=self.prompt(source_language, target_language),
            last_user_text=text,
            trigger="translation",
        )

    async def translate(self, text: str, source_language: str | None, target_language: str) -> str:
        """The endpoint's translation of ``text`` (its streamed deltas joined)."""
        stream = await self.chat(self.context(text, source_language, target_language))
        pieces: list[str] = []
        async for chunk in stream:
            if isinstance(chunk, FunctionCall):  # no tools were offered: not a translation
                raise ResponderError(
                    "chat_unsupported",
                    f"chat endpoint {self.chat.shown_url} (model {self.chat.model}) answered a "
                    f"translation with a tool call ({chunk.name}) instead of text",
                )
            pieces.append(chunk)
        return "".join(pieces).strip()


@dataclass(frozen=True)
class TranslationCall:
    """One segment's translation as a responder of the reply pipeline: calling it (with the
    request's context, which it does not need) calls ``translator.translate``. Sync, so the
    pipeline runs it in a thread; a coroutine translator's awaitable is awaited there."""

    translator: Translator
    text: str
    source_language: str | None
    target_language: str

    def __call__(self, ctx: ReplyContext) -> str | Awaitable[str]:
        return self.translator.translate(self.text, self.source_language, self.target_language)
