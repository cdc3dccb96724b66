"""Client and server events of a translation session, and their JSON codec.

One model per event of the SDK's unions (openai 3.63: ``RealtimeTranslationClientEvent``,
``RealtimeTranslationServerEvent``), named as the SDK names them, with the SDK's fields. As for
the Realtime events (:mod:`.events`), what a server sends is read leniently (unknown keys kept,
an unknown ``type`` becomes an :class:`~.events.UnknownServerEvent`, never an exception), and
what a client sends is judged strictly (unknown keys are an error, in OpenAI's words)::

    parse_translation_server_event(text)     # a client reading its server
    parse_translation_client_event(raw)      # a server reading its client (ValidationError)
    encode(event)                            # a client event as JSON text, validated

The server events are :class:`~.events.ServerEvent` records, so everything that takes one (the
local server's emitter, the client's listeners and waits) takes them; ``error`` is the
Realtime error event (the SDK's union reuses ``RealtimeErrorEvent``). The client events have
their own strict base: the Realtime union (:data:`~.events.CLIENT_EVENT_CLASSES`) stays the
Realtime one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from realtime_widgets.errors import FieldProblem
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.client_events import (
    MAX_JSON_DEPTH,
    client_event_problem,
    encode_with,
    load_event,
)

__all__ = [
    "TRANSLATION_CLIENT_EVENT_CLASSES",
    "TRANSLATION_CLIENT_EVENT_TYPES",
    "TRANSLATION_SERVER_EVENT_CLASSES",
    "TRANSLATION_SERVER_EVENT_TYPES",
    "RealtimeErrorEvent",
    "RealtimeTranslationClientEvent",
    "RealtimeTranslationInputAudioBufferAppendEvent",
    "RealtimeTranslationInputTranscriptDeltaEvent",
    "RealtimeTranslationOutputAudioDeltaEvent",
    "RealtimeTranslationOutputTranscriptDeltaEvent",
    "RealtimeTranslationSessionCloseEvent",
    "RealtimeTranslationSessionClosedEvent",
    "RealtimeTranslationSessionCreatedEvent",
    "RealtimeTranslationSessionUpdateEvent",
    "RealtimeTranslationSessionUpdatedEvent",
    "encode",
    "parse_translation_client_event",
    "parse_translation_server_event",
    "translation_event_problem",
]

# The SDK's translation union reuses the Realtime error event.
RealtimeErrorEvent = ev.ErrorEvent


# ---- client events ----------------------------------------------------------------------------


class RealtimeTranslationClientEvent(BaseModel):
    """Base of the translation client events: strict (unknown keys are an error)."""

    model_config = ConfigDict(extra="forbid")
    type: str
    event_id: str | None = Field(None, max_length=512)


class RealtimeTranslationSessionUpdateEvent(RealtimeTranslationClientEvent):
    """``session.update``: its ``session`` is the update request, ``audio`` only (no ``type``,
    no ``model``); kept as a dict, judged by :meth:`~.translation_config.TranslationConfig.
    from_update` (so an explicit ``null`` that switches a feature off reaches the wire)."""

    type: Literal["session.update"] = "session.update"
    session: dict[str, Any]


class RealtimeTranslationInputAudioBufferAppendEvent(RealtimeTranslationClientEvent):
    """``session.input_audio_buffer.append``: base64 24 kHz PCM16 mono."""

    type: Literal["session.input_audio_buffer.append"] = "session.input_audio_buffer.append"
    audio: str = Field(description="Base64-encoded 24 kHz PCM16 mono audio bytes.")


class RealtimeTranslationSessionCloseEvent(RealtimeTranslationClientEvent):
    """``session.close``: the server flushes pending input, sends what is left, and closes."""

    type: Literal["session.close"] = "session.close"


KnownTranslationClientEvent = Annotated[
    RealtimeTranslationSessionUpdateEvent
    | RealtimeTranslationInputAudioBufferAppendEvent
    | RealtimeTranslationSessionCloseEvent,
    Field(discriminator="type"),
]
_CLIENT = TypeAdapter[RealtimeTranslationClientEvent](KnownTranslationClientEvent)
# In the SDK's order.
TRANSLATION_CLIENT_EVENT_CLASSES: tuple[type[RealtimeTranslationClientEvent], ...] = get_args(
    get_args(KnownTranslationClientEvent)[0]
)
TRANSLATION_CLIENT_EVENT_TYPES: tuple[str, ...] = tuple(
    str(m.model_fields["type"].default) for m in TRANSLATION_CLIENT_EVENT_CLASSES
)
_BY_TYPE: dict[str, type[BaseModel]] = dict(
    zip(TRANSLATION_CLIENT_EVENT_TYPES, TRANSLATION_CLIENT_EVENT_CLASSES, strict=True)
)


# ---- server events ----------------------------------------------------------------------------


class RealtimeTranslationSessionCreatedEvent(ev.ServerEvent):
    """The first server event: the session as created (``id``, ``expires_at``, ``model``,
    ``type: "translation"``, ``audio``; read with ``TranslationConfig.from_session``)."""

    type: Literal["session.created"] = "session.created"
    session: dict[str, Any]


class RealtimeTranslationSessionUpdatedEvent(ev.ServerEvent):
    """The session after an accepted ``session.update`` (the same complete object)."""

    type: Literal["session.updated"] = "session.updated"
    session: dict[str, Any]


class RealtimeTranslationSessionClosedEvent(ev.ServerEvent):
    """The session is closed (after ``session.close``, once what was pending is out)."""

    type: Literal["session.closed"] = "session.closed"


class RealtimeTranslationInputTranscriptDeltaEvent(ev.ServerEvent):
    """Source-language transcript text (only with ``audio.input.transcription`` set);
    append-only, no spaces to insert between deltas."""

    type: Literal["session.input_transcript.delta"] = "session.input_transcript.delta"
    delta: str
    elapsed_ms: int | None = None


class RealtimeTranslationOutputTranscriptDeltaEvent(ev.ServerEvent):
    """Translated transcript text, append-only."""

    type: Literal["session.output_transcript.delta"] = "session.output_transcript.delta"
    delta: str
    elapsed_ms: int | None = None


class RealtimeTranslationOutputAudioDeltaEvent(ev.ServerEvent):
    """Translated audio: base64 PCM16 of any length."""

    type: Literal["session.output_audio.delta"] = "session.output_audio.delta"
    delta: str
    channels: int | None = None
    elapsed_ms: int | None = None
    format: Literal["pcm16"] | None = None
    sample_rate: int | None = None


KnownTranslationServerEvent = Annotated[
    RealtimeErrorEvent
    | RealtimeTranslationSessionCreatedEvent
    | RealtimeTranslationSessionUpdatedEvent
    | RealtimeTranslationSessionClosedEvent
    | RealtimeTranslationInputTranscriptDeltaEvent
    | RealtimeTranslationOutputTranscriptDeltaEvent
    | RealtimeTranslationOutputAudioDeltaEvent,
    Field(discriminator="type"),
]
_SERVER = TypeAdapter[ev.ServerEvent](KnownTranslationServerEvent)
TRANSLATION_SERVER_EVENT_CLASSES: tuple[type[ev.ServerEvent], ...] = get_args(
    get_args(KnownTranslationServerEvent)[0]
)
TRANSLATION_SERVER_EVENT_TYPES: frozenset[str] = frozenset(
    str(m.model_fields["type"].default) for m in TRANSLATION_SERVER_EVENT_CLASSES
)


# ---- the codec ----------------------------------------------------------------------------------


def parse_translation_server_event(data: str | bytes | Mapping[str, Any]) -> ev.ServerEvent:
    """A translation server event from JSON text or a decoded object (a client's reader).

    Raises :class:`~realtime_widgets.errors.ProtocolError` only for text that is not a JSON
    object with a ``type``; anything else unreadable (an unknown type, a known type with a
    malformed field) becomes an :class:`~.events.UnknownServerEvent` (``problem`` says what)."""
    return ev.read_server_event(load_event(data), _SERVER, TRANSLATION_SERVER_EVENT_TYPES)


def parse_translation_client_event(
    data: str | bytes | Mapping[str, Any], *, max_depth: int = MAX_JSON_DEPTH
) -> RealtimeTranslationClientEvent:
    """A translation client event (a server's reader). Raises
    :class:`~realtime_widgets.errors.ProtocolError` for text that is not a JSON object with a
    ``type``, ValidationError for an object that is not a well-formed translation client event
    (:func:`translation_event_problem` says why in OpenAI's words)."""
    return _CLIENT.validate_python(load_event(data, max_depth=max_depth))


def translation_event_problem(exc: ValidationError, raw: Mapping[str, Any]) -> FieldProblem:
    """The first problem of a malformed translation client event, in OpenAI's words (message,
    code, param), listing the translation event types for an unknown one."""
    return client_event_problem(exc, raw, events=_BY_TYPE)


def encode(event: RealtimeTranslationClientEvent | Mapping[str, Any]) -> str:
    """JSON text of a translation client event, validated: a model as it is, a dict through
    the models (a malformed one raises :class:`ConfigError` with OpenAI's message, code and
    param). Unset optionals are omitted; ``session.update``'s ``session`` is kept verbatim."""
    return encode_with(event, _CLIENT, _BY_TYPE)
