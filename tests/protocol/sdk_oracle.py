"""The official openai SDK as conformance oracle: strict validation plus a walk for leftovers.

The SDK's pydantic types accept unknown keys (``extra="allow"``) and check no ranges, so a
payload "validating" proves little by itself. We validate with ``strict=True`` and then walk
the result: any key the SDK did not recognise shows up in some ``model_extra``.
"""

from __future__ import annotations

from typing import Any

from openai.types.realtime import RealtimeClientEvent, RealtimeServerEvent, SessionUpdateEvent
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
