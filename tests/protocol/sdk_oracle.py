"""The official openai SDK as conformance oracle: strict validation plus a walk for leftovers.

The SDK's pydantic types accept unknown keys (``extra="allow"``) and check no ranges, so a
payload "validating" proves little by itself. We validate with ``strict=True`` and then walk
the result: any key the SDK did not recognise shows up in some ``model_extra``.
"""

from __future__ import annotations

import typing
from typing import Any, Required

from openai.types.live import ClientEvent as LiveClientEvent
from openai.types.live import ClientEventParam as LiveClientEventParam
from openai.types.live import ServerEvent as LiveServerEvent
from openai.types.live import SessionConfig as LiveSessionConfig
from openai.types.live import SessionStartEvent as LiveSessionStartEvent
from openai.types.live import SessionUpdateEvent as LiveSessionUpdateEvent
from openai.types.live.media_session_config_param import MediaSessionConfigParam
from openai.types.live.media_session_config_param import WakePolicy as LiveWakePolicy
from openai.types.live.session_config_param import SessionConfigParam as LiveSessionConfigParam
from openai.types.live.session_update_config_param import (
    SessionUpdateConfigParam as LiveSessionUpdateConfigParam,
)
from openai.types.realtime import (
    RealtimeClientEvent,
    RealtimeServerEvent,
    RealtimeTranslationClientEvent,
    RealtimeTranslationServerEvent,
    RealtimeTranslationSessionUpdateEvent,
    SessionUpdateEvent,
)
from pydantic import BaseModel, TypeAdapter

_CLIENT_EVENT = TypeAdapter(RealtimeClientEvent)


def leftovers(value: Any, where: str = "$") -> list[str]:
    """Paths of every key the SDK's models did not recognise."""
    found: list[str] = []
    if isinstance(value, BaseModel):
        for key in value.model_extra or {}:
            found.append(f"{where}.{key}")
        for name in type(value).model_fields:
            found.extend(leftovers(getattr(value, name), f"{where}.{name}"))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(leftovers(item, f"{where}[{i}]"))
    elif isinstance(value, dict):
        for key, item in value.items():
            found.extend(leftovers(item, f"{where}.{key}"))
    return found


def check_session_update(event: dict[str, Any]) -> SessionUpdateEvent:
    parsed = SessionUpdateEvent.model_validate(event, strict=True)
    assert type(parsed.session).__name__ == "RealtimeSessionCreateRequest", type(parsed.session)
    extra = leftovers(parsed)
    assert not extra, f"keys unknown to the SDK: {extra}"
    return parsed


def check_client_event(event: dict[str, Any]) -> BaseModel:
    parsed: BaseModel = _CLIENT_EVENT.validate_python(event, strict=True)
    extra = leftovers(parsed)
    assert not extra, f"keys unknown to the SDK: {extra}"
    return parsed


def check_transcription_update(event: dict[str, Any]) -> SessionUpdateEvent:
    """A session.update for a transcription session: strict, no leftovers, the right type."""
    parsed = SessionUpdateEvent.model_validate(event, strict=True)
    assert type(parsed.session).__name__ == "RealtimeTranscriptionSessionCreateRequest", type(
        parsed.session
    )
    extra = leftovers(parsed)
    assert not extra, f"keys unknown to the SDK: {extra}"
    return parsed


_SERVER_EVENT = TypeAdapter(RealtimeServerEvent)


def check_server_event(event: dict[str, Any]) -> BaseModel:
    """A local-server event against the SDK's server union: strict, no leftovers, no exemptions.

    The SDK types session.created/updated's ``session`` with the request models, which have no
    ``id``, ``object`` or ``expires_at``: the local server sends none of them (DESIGN.md: what
    OpenAI would send, nothing more; the SDK is the word on what that is)."""
    parsed: BaseModel = _SERVER_EVENT.validate_python(event, strict=True)
    extra = leftovers(parsed)
    assert not extra, f"keys unknown to the SDK in {event.get('type')}: {extra}"
    return parsed


# ---- GPT-Live (openai.types.live): the same oracle over Live's unions -----------------------

_LIVE_CLIENT_EVENT = TypeAdapter(LiveClientEvent)
_LIVE_SERVER_EVENT = TypeAdapter(LiveServerEvent)
_WAKE_POLICY = TypeAdapter(LiveWakePolicy)
_MEDIA_ONLY = {"wake_policy", "idle_timeout_s"}


def _clean(parsed: BaseModel, what: object) -> None:
    extra = leftovers(parsed)
    assert not extra, f"keys unknown to the SDK in {what}: {extra}"


def _nullable(params: Any) -> set[str]:
    """The keys of a request TypedDict that may be null (the response models say Optional for
    every key; what a client sends is the TypedDict's)."""
    return {
        key
        for key, hint in typing.get_type_hints(params).items()
        if type(None) in typing.get_args(hint)
    }


def _no_forbidden_nulls(session: dict[str, Any], params: Any, what: str) -> None:
    nulls = {key for key, value in session.items() if value is None}
    assert nulls <= _nullable(params), f"null where {what} takes none: {sorted(nulls)}"


def check_live_session_start(event: dict[str, Any]) -> LiveSessionStartEvent:
    """A Live ``session.start``: strict, no leftovers (a media-only key is one), no null the
    SDK's SessionConfigParam does not take."""
    parsed = LiveSessionStartEvent.model_validate(event, strict=True)
    _clean(parsed, "session.start")
    _no_forbidden_nulls(event["session"], LiveSessionConfigParam, "session.start")
    return parsed


def check_live_session_update(event: dict[str, Any]) -> LiveSessionUpdateEvent:
    """A Live ``session.update``: its SessionUpdateConfig has only delegation and triggers."""
    parsed = LiveSessionUpdateEvent.model_validate(event, strict=True)
    _clean(parsed, "session.update")
    _no_forbidden_nulls(event["session"], LiveSessionUpdateConfigParam, "session.update")
    return parsed


def check_live_client_event(event: dict[str, Any]) -> BaseModel:
    """Any event a Live client sends: strict, no leftovers, and every key the SDK's request
    TypedDict (``*EventParam``) marks Required present (the appends' ``delegation_id`` is
    "Required, nullable": the response models alone would let it be left out)."""
    parsed: BaseModel = _LIVE_CLIENT_EVENT.validate_python(event, strict=True)
    _clean(parsed, event.get("type"))
    missing = live_required_keys(str(event.get("type"))) - set(event)
    assert not missing, f"keys the SDK requires missing from {event.get('type')}: {missing}"
    return parsed


def live_required_keys(event_type: str) -> set[str]:
    """The keys the SDK's Live ``*EventParam`` TypedDict of ``event_type`` marks Required."""
    for param in typing.get_args(LiveClientEventParam):
        hints = typing.get_type_hints(param, include_extras=True)
        (literal,) = typing.get_args(hints["type"])
        if typing.get_args(literal) == (event_type,):
            return {k for k, v in hints.items() if typing.get_origin(v) is Required}
    raise AssertionError(f"no Live client event {event_type!r} in the SDK")


def check_live_server_event(event: dict[str, Any]) -> BaseModel:
    """A Live server event against the SDK's server union: strict, no leftovers."""
    parsed: BaseModel = _LIVE_SERVER_EVENT.validate_python(event, strict=True)
    _clean(parsed, event.get("type"))
    return parsed


def check_live_media_session(session: dict[str, Any]) -> None:
    """The ``session`` of ``client.live.create()`` (MediaSessionConfigParam, a TypedDict whose
    lists are lazy Iterables pydantic does not check): its keys are the TypedDict's, the media-only
    ones validate against its own types, and the rest is a WebSocket SessionConfig without
    ``audio.format`` (which a media session does not have)."""
    keys = set(MediaSessionConfigParam.__annotations__)
    assert set(session) <= keys, sorted(set(session) - keys)
    _no_forbidden_nulls(session, MediaSessionConfigParam, "client.live.create()")
    assert "format" not in session.get("audio", {}), "a media session negotiates its format"
    if "wake_policy" in session:
        wake = session["wake_policy"]
        _WAKE_POLICY.validate_python(wake, strict=True)
        unknown = set(wake) - set(LiveWakePolicy.__annotations__)
        assert not unknown, f"keys unknown to the SDK in wake_policy: {sorted(unknown)}"
    if "idle_timeout_s" in session:
        TypeAdapter(int).validate_python(session["idle_timeout_s"], strict=True)
    rest = {k: v for k, v in session.items() if k not in _MEDIA_ONLY}
    _clean(LiveSessionConfig.model_validate(rest, strict=True), "media session")


# ---- translation sessions (client.realtime.translations) ----------------------------------------

_TRANSLATION_CLIENT_EVENT = TypeAdapter(RealtimeTranslationClientEvent)
_TRANSLATION_SERVER_EVENT = TypeAdapter(RealtimeTranslationServerEvent)


def check_translation_update(event: dict[str, Any]) -> RealtimeTranslationSessionUpdateEvent:
    """A translation session.update: strict, no leftovers, its session the SDK's update request
    (``audio`` only: a ``type`` or ``model`` key would be a leftover)."""
    parsed = RealtimeTranslationSessionUpdateEvent.model_validate(event, strict=True)
    assert type(parsed.session).__name__ == "RealtimeTranslationSessionUpdateRequest"
    extra = leftovers(parsed)
    assert not extra, f"keys unknown to the SDK: {extra}"
    return parsed


def check_translation_client_event(event: dict[str, Any]) -> BaseModel:
    """Any event a translation client sends, against the SDK's translation client union."""
    parsed: BaseModel = _TRANSLATION_CLIENT_EVENT.validate_python(event, strict=True)
    extra = leftovers(parsed)
    assert not extra, f"keys unknown to the SDK: {extra}"
    return parsed


def check_translation_server_event(event: dict[str, Any]) -> BaseModel:
    """A local-server event of a translation session against the SDK's translation server
    union: strict, no leftovers at any depth, no exemptions (session.created/updated carry the
    complete RealtimeTranslationSession: id, expires_at, model, type and audio)."""
    parsed: BaseModel = _TRANSLATION_SERVER_EVENT.validate_python(event, strict=True)
    extra = leftovers(parsed)
    assert not extra, f"keys unknown to the SDK in {event.get('type')}: {extra}"
    return parsed
