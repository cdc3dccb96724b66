"""What the local server says: a pluggable responder, and the honest default one.

A responder is any callable (sync or async) taking a :class:`ReplyContext` and returning the
reply's text, or a :class:`FunctionCall`, or a stream (:data:`ReplyStream`: an iterator or
async iterator, e.g. a generator) of text deltas that may end with one :class:`FunctionCall`.
The server speaks a stream clause by clause as it comes (a sync iterator is read in a thread);
a :class:`ResponderError` it raises ends the response ``failed``. Plug in your own model this
way::

    LocalServer(responder=lambda ctx: my_model(ctx.conversation))

The default :class:`LocalResponder` is not a language model and never pretends to be one: it
reports what the server measured (how long you spoke and, when the server has a speech
recogniser, what it heard: "I heard: ..."; your words if you typed them; the effective
settings), follows ``tool_choice`` by calling a tool with arguments valid for its
schema, and answers a tool's output by quoting it.

:class:`EchoResponder` (``LocalServer(responder="echo")``) plays the user's own committed audio
back as the reply, so a user hears their microphone path, where the VAD cut the turn, and a
barge-in on their own voice. A responder that provides its own audio has a ``speech(ctx,
speed)`` method (see :class:`SpeakingResponder`); the server uses it instead of the synthesiser.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from realtime_widgets.audio.pcm import Int16Array
from realtime_widgets.audio.rate import MODEL_RATE, samples_to_ms, samples_to_s
from realtime_widgets.audio.resample import resample
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.images import ImageInfo
from realtime_widgets.protocol.parts import FunctionTool, McpTool, SemanticVad, ServerVad
from realtime_widgets.server.speech import ends_sentence
from realtime_widgets.server.tts import Speech

__all__ = [
    "DEFAULT_INSTRUCTIONS",
    "RESPONDERS",
    "EchoResponder",
    "FunctionCall",
    "LocalResponder",
    "ReplyChunk",
    "ReplyContext",
    "ReplyStream",
    "ReplyValue",
    "Responder",
    "ResponderError",
    "SpeakingResponder",
    "arguments_for_schema",
    "last_user_transcript",
    "sentence",
]


# A session's instructions until a client sets its own (the responder is told none were given).
DEFAULT_INSTRUCTIONS = (
    "Local realtime_widgets server: there is no language model here; replies report what the "
    "server measured and the session's settings."
)


@dataclass(frozen=True)
class FunctionCall:
    """A reply that calls a function tool; ``arguments`` is a JSON object (as text or dict)."""

    name: str
    arguments: str | dict[str, Any] = "{}"

    def arguments_json(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)


@dataclass(frozen=True)
class ReplyContext:
    """Everything a responder may use for one response."""

    config: SessionConfig  # effective settings, with the response's overrides applied
    conversation: list[dict[str, Any]]  # items in order, GA shape (audio omitted)
    instructions: str | None
    last_user_text: str | None = None  # typed text, or a transcript when one exists
    last_user_speech_ms: float | None = None  # duration of the last spoken turn
    last_user_audio: Int16Array | None = None  # that turn's committed audio, model rate int16
    last_tool_output: tuple[str, str] | None = None  # (function name, output) to answer
    last_user_images: tuple[ImageInfo, ...] = ()  # images in the last user message, measured
    trigger: str = "response.create"  # or "turn_detected", "idle_timeout"
    measurements: dict[str, Any] = field(default_factory=dict)
    # What the server heard in each user audio item of ``conversation`` (item id -> text), from
    # its transcriber, whether or not the session asked for input transcription (the model
    # hears the audio either way; only the transcription events follow the session's setting).
    transcripts: dict[str, str] = field(default_factory=dict)
    # The voice the reply is spoken with, when ``config`` cannot name it (a GPT-Live session's
    # voices are not all Realtime's: its config here is a Realtime view of it).
    voice_name: str | None = None


class ResponderError(Exception):
    """A responder could not answer (an endpoint failed, timed out, refused, was unreachable).
    The response ends ``failed``, its ``status_details.error`` carrying ``type``, ``code`` and
    ``message``; the session goes on."""

    def __init__(self, code: str, message: str, type_: str = "server_error") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.type = type_


ReplyValue = str | FunctionCall
# A streamed reply: text deltas as they come, then at most one FunctionCall (text before it
# becomes the response's message item, the call an output item after it).
ReplyChunk = str | FunctionCall
ReplyStream = AsyncIterator[ReplyChunk] | Iterator[ReplyChunk]
Responder = Callable[[ReplyContext], ReplyValue | ReplyStream | Awaitable[ReplyValue | ReplyStream]]


def arguments_for_schema(schema: dict[str, Any], hint: str = "") -> dict[str, Any]:
    """Arguments that validate against a function's JSON schema (every required property,
    a value of the right type; enums take their first value; strings take ``hint``)."""
    props: dict[str, Any] = schema.get("properties", {}) or {}
    required = schema.get("required", list(props))
    return {name: _value_for(props.get(name, {}), hint or name) for name in required}


def _value_for(schema: dict[str, Any], hint: str) -> Any:
    if schema.get("enum"):
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1) if "minimum" in schema else 1
    if kind == "number":
        return float(schema.get("minimum", 1.0))
    if kind == "boolean":
        return True
    if kind == "array":
        return [_value_for(schema.get("items", {}), hint)] if schema.get("minItems", 0) else []
    if kind == "object":
        return arguments_for_schema(schema, hint)
    if kind == "null":
        return None
    text = hint[: schema.get("maxLength", 200)] or "example"
    return text if len(text) >= schema.get("minLength", 0) else text.ljust(schema["minLength"], "x")


def sentence(text: str) -> str:
    """``text`` stripped, ending as a sentence: a full stop is added only when it does not
    already end as one (:func:`~realtime_widgets.server.speech.ends_sentence`: . ! ? or an
    ellipsis, a closing quote or bracket after them)."""
    text = text.strip()
    if not text or ends_sentence(text.split()[-1], last=True):
        return text
    return f"{text}."


def last_user_transcript(ctx: ReplyContext) -> str | None:
    """What the server heard in the last user message when it was spoken: its transcript
    (the server's own, ``ctx.transcripts``, else the item's), ``""`` when the recogniser made
    out no words, None when the message was typed or nothing transcribed it."""
    user = next(
        (
            item
            for item in reversed(ctx.conversation)
            if item.get("type") == "message" and item.get("role") == "user"
        ),
        None,
    )
    if user is None:
        return None
    audio = [p for p in user.get("content", []) or [] if p.get("type") == "input_audio"]
    if not audio:
        return None
    item_id = str(user.get("id"))
    if item_id in ctx.transcripts:
        return ctx.transcripts[item_id].strip()
    own = " ".join(str(p.get("transcript") or "").strip() for p in audio).strip()
    return own or None


class LocalResponder:
    """The default, honest responder (see the module docstring)."""

    def __call__(self, ctx: ReplyContext) -> ReplyValue:
        config = ctx.config
        functions = [t for t in config.tools if isinstance(t, FunctionTool)]
        choice = config.tool_choice
        if ctx.last_tool_output is not None:
            name, output = ctx.last_tool_output
            return self._with_instructions(ctx, f"The tool {name} returned: {output}")
        forced = None if isinstance(choice, str) else choice
        tool = next(
            (t for t in functions if forced and t.name == getattr(forced, "name", None)), None
        )
        if tool is not None:
            return FunctionCall(
                tool.name, arguments_for_schema(tool.parameters, ctx.last_user_text or "")
            )
        if choice == "required" and functions:
            tool = functions[0]
            return FunctionCall(
                tool.name, arguments_for_schema(tool.parameters, ctx.last_user_text or "")
            )
        if choice == "auto" and functions and ctx.last_user_text:
            named = [t for t in functions if t.name.lower() in ctx.last_user_text.lower()]
            if named:
                return FunctionCall(
                    named[0].name, arguments_for_schema(named[0].parameters, ctx.last_user_text)
                )
        return self._with_instructions(ctx, self._describe(ctx))

    @staticmethod
    def _describe(ctx: ReplyContext) -> str:
        c = ctx.config
        spoken = last_user_transcript(ctx)
        seconds = (ctx.last_user_speech_ms or 0.0) / 1000
        if ctx.trigger == "idle_timeout":
            heard = "I have not heard anything for a while. Are you still there?"
        elif spoken:
            heard = (
                f"I heard: {sentence(spoken)} You spoke for {seconds:.1f} seconds; this local "
                "server has no language model to answer."
            )
        elif spoken == "":
            heard = (
                f"You spoke for {seconds:.1f} seconds, but the speech recogniser made out no "
                "words. This local server has no language model."
            )
        elif ctx.last_user_text:
            heard = f"You said: {sentence(ctx.last_user_text)}"
        elif ctx.last_user_speech_ms is not None:
            heard = (
                f"You spoke for {seconds:.1f} seconds. This local server "
                "has no speech recogniser and no language model, so it cannot tell what you said."
            )
        else:
            heard = "This is the local realtime_widgets server; it has no language model."
        if ctx.last_user_images:
            sent = " and ".join(info.describe() for info in ctx.last_user_images)
            seen = (
                f"You sent {sent}. This local server has no vision model, so it cannot say "
                "what the image shows."
            )
            heard = seen if not ctx.last_user_text else f"{heard} {seen}"
        td = c.turn_detection
        if isinstance(td, ServerVad):
            turns = (
                f"Turn detection is server VAD, threshold {td.threshold:g}, "
                f"silence {td.silence_duration_ms} milliseconds."
            )
        elif isinstance(td, SemanticVad):
            turns = f"Turn detection is semantic VAD, eagerness {td.eagerness}."
        else:
            turns = "Turn detection is off."
        voice = ctx.voice_name or (c.voice if isinstance(c.voice, str) else c.voice.id)
        mcp = [t.server_label for t in c.tools if isinstance(t, McpTool)]
        extra = f" MCP servers {', '.join(mcp)} are not reachable offline." if mcp else ""
        return f"{heard} {turns} Voice {voice} at speed {c.speed:g}.{extra}"

    @staticmethod
    def _with_instructions(ctx: ReplyContext, text: str) -> str:
        if ctx.instructions:
            return f"{text} Your instructions were: {ctx.instructions.strip()}"
        return text


@runtime_checkable
class SpeakingResponder(Protocol):
    """A responder that brings its own reply audio (24 kHz), used instead of the synthesiser.

    ``speech`` returns None when it has nothing to say aloud; the server then synthesises the
    text as for any responder."""

    def __call__(self, ctx: ReplyContext) -> ReplyValue: ...

    def speech(self, ctx: ReplyContext, speed: float) -> Speech | None: ...


class EchoResponder:
    """Replies with the user's own committed audio (``LocalServer(responder="echo")``).

    The transcript says what it is (``echo of your 1.8 s of audio``); the audio is the last
    user turn's samples exactly as the server committed them (24 kHz), played at the session's
    ``speed`` by resampling (so pitch moves with speed), then encoded in the output format like
    any reply. A text turn has no audio to echo: the reply says so and is synthesised."""

    def __call__(self, ctx: ReplyContext) -> str:
        audio = ctx.last_user_audio
        if audio is None or len(audio) == 0:
            return "Nothing to echo: the last user turn has no audio."
        seconds = samples_to_s(len(audio))
        at = f" at speed {ctx.config.speed:g}" if ctx.config.speed != 1.0 else ""
        return f"echo of your {seconds:.1f} s of audio{at}"

    def speech(self, ctx: ReplyContext, speed: float) -> Speech | None:
        audio = ctx.last_user_audio
        if audio is None or len(audio) == 0:
            return None
        samples = np.asarray(audio, dtype=np.int16)
        if speed != 1.0:  # played faster = fewer samples at 24 kHz
            samples = np.asarray(
                resample(samples, round(MODEL_RATE * speed), MODEL_RATE), dtype=np.int16
            )
        words = len(self(ctx).split())
        duration_ms = samples_to_ms(len(samples))
        starts = tuple(duration_ms * i / words for i in range(words))
        return Speech(samples, MODEL_RATE, starts)


RESPONDERS: dict[str, Callable[[], Responder]] = {
    "local": LocalResponder,
    "echo": EchoResponder,
}
"""Built-in responders by name (``LocalServer(responder="echo")``, ``serve --responder``)."""
