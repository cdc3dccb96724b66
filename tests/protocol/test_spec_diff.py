"""The spec diff: everything the installed openai SDK's Realtime types hold is modeled here, or
listed with a reason in :data:`realtime_widgets.protocol.coverage.NOT_MODELED`.

Walked recursively: the realtime and transcription session types, every client event and every
server event, and the same for translation sessions (the reported session, the update request,
both event unions; see :mod:`tests.protocol.spec_walk` for the fact syntax). The ``session`` of
``session.update`` / ``session.created`` / ``session.updated`` is compared once, through the two
session walks; the client events' items and response parameters are typed records
(:mod:`realtime_widgets.protocol.client_events`), walked like everything else.
"""

from __future__ import annotations

import fnmatch
import typing
from typing import Any

import openai
import openai.types.live as live
import pytest
from openai.types.live import media_session_config_param as media
from openai.types.realtime import (
    RealtimeClientEvent,
    RealtimeServerEvent,
    RealtimeSessionCreateRequest,
    RealtimeTranscriptionSessionCreateRequest,
    RealtimeTranslationClientEvent,
    RealtimeTranslationServerEvent,
    RealtimeTranslationSession,
    RealtimeTranslationSessionUpdateRequest,
)
from pydantic import BaseModel

from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol import live_events as le
from realtime_widgets.protocol import translation_events as te
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.configbase import ConfigModel
from realtime_widgets.protocol.coverage import NOT_MODELED
from realtime_widgets.protocol.live_config import LiveConfig
from realtime_widgets.protocol.live_parts import WakePolicy
from realtime_widgets.protocol.transcription_config import TranscriptionConfig
from realtime_widgets.protocol.translation_config import TranslationConfig

from .spec_walk import _members, facts_of_annotation, facts_of_model, literal_tag

SESSION_EVENTS = {"session.update", "session.created", "session.updated"}
LIVE_SESSION_EVENTS = {
    "session.start",
    "session.update",
    "session.started",
    "session.updated",
    "session.closed",
}


def _config_facts(cls: type[ConfigModel]) -> set[str]:
    facts = {"type", f"type={cls.SESSION_TYPE}"}
    for name, param in cls.PARAMS.items():
        if param.ga is None:
            continue
        parts = param.ga.split(".")
        facts.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
        info = cls.model_fields[name]
        facts_of_annotation(info.annotation, param.ga, facts, info=info, ours=True)
    return facts


def _sdk_session_facts(model: type[BaseModel]) -> set[str]:
    facts: set[str] = set()
    facts_of_model(model, "", facts)
    return facts


def _events(union: Any) -> dict[str, type[BaseModel]]:
    found = {}
    for member in _members(union):
        tag = literal_tag(member)
        assert tag is not None, member
        found[tag] = member
    return found


def _sdk_event_facts(union: Any, skip: set[str] = SESSION_EVENTS) -> set[str]:
    facts: set[str] = set()
    for kind, model in _events(union).items():
        facts.add(f"<{kind}>")
        for name, info in model.model_fields.items():
            if kind in skip and name == "session":
                continue
            here = f"<{kind}>.{name}"
            facts.add(here)
            facts_of_annotation(info.annotation, here, facts, info=info, seen=(model,))
    return facts


def _our_event_facts(
    classes: dict[str, type[BaseModel]], skip: set[str] = SESSION_EVENTS
) -> set[str]:
    facts: set[str] = set()
    for kind, model in classes.items():
        facts.add(f"<{kind}>")
        for name, info in model.model_fields.items():
            if kind in skip and name == "session":
                continue
            here = f"<{kind}>.{name}"
            facts.add(here)
            facts_of_annotation(info.annotation, here, facts, info=info, seen=(model,), ours=True)
    return facts


def _our_client_events() -> dict[str, type[BaseModel]]:
    return {str(m.model_fields["type"].default): m for m in ev.CLIENT_EVENT_CLASSES}


def _our_server_events() -> dict[str, type[BaseModel]]:
    union = typing.get_args(typing.get_args(ev.KnownServerEvent)[0])
    classes = {str(m.model_fields["type"].default): m for m in union}
    # Beta-era names are read as their GA events (parse_server_event normalises them).
    for beta, ga in ev.BETA_EVENT_NAMES.items():
        classes[beta] = classes[ga]
    return classes


def _by_type(classes: tuple[type[BaseModel], ...]) -> dict[str, type[BaseModel]]:
    return {str(m.model_fields["type"].default): m for m in classes}


def _live_config_facts(fields: tuple[str, ...]) -> set[str]:
    """The facts of some of LiveConfig's fields (a Live session object has no ``type``)."""
    facts: set[str] = set()
    for name in fields:
        path = LiveConfig.PARAMS[name].ga
        assert path is not None
        parts = path.split(".")
        facts.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
        info = LiveConfig.model_fields[name]
        facts_of_annotation(info.annotation, path, facts, info=info, ours=True)
    return facts


def sdk_facts() -> set[str]:
    """Every fact of the installed SDK, scoped."""
    found = {f"realtime:{f}" for f in _sdk_session_facts(RealtimeSessionCreateRequest)}
    found |= {
        f"transcription:{f}" for f in _sdk_session_facts(RealtimeTranscriptionSessionCreateRequest)
    }
    found |= {f"client:{f}" for f in _sdk_event_facts(RealtimeClientEvent)}
    found |= {f"server:{f}" for f in _sdk_event_facts(RealtimeServerEvent)}
    # GPT-Live: the session.start session, what session.update may change, the session a
    # server reports, and both event unions (their sessions compared through the first three).
    found |= {f"live:{f}" for f in _sdk_session_facts(live.SessionConfig)}
    found |= {f"live_update:{f}" for f in _sdk_session_facts(live.SessionUpdateConfig)}
    found |= {f"live_resource:{f}" for f in _sdk_session_facts(live.SessionResource)}
    found |= {f"live_client:{f}" for f in _sdk_event_facts(live.ClientEvent, LIVE_SESSION_EVENTS)}
    found |= {f"live_server:{f}" for f in _sdk_event_facts(live.ServerEvent, LIVE_SESSION_EVENTS)}
    found |= translation_sdk_facts()
    return found


def our_facts() -> set[str]:
    """Every fact of our models, scoped the same way."""
    found = {f"realtime:{f}" for f in _config_facts(SessionConfig)}
    found |= {f"transcription:{f}" for f in _config_facts(TranscriptionConfig)}
    found |= {f"client:{f}" for f in _our_event_facts(_our_client_events())}
    found |= {f"server:{f}" for f in _our_event_facts(_our_server_events())}
    found |= {f"server:<{beta}>.type={beta}" for beta in ev.BETA_EVENT_NAMES}
    found |= {f"live:{f}" for f in _live_config_facts(LiveConfig.websocket_fields())}
    found |= {f"live_update:{f}" for f in _live_config_facts(LiveConfig.update_fields())}
    resource: set[str] = _live_config_facts(LiveConfig.websocket_fields())
    facts_of_model(le.SessionResource, "", resource, ours=True)
    found |= {f"live_resource:{f}" for f in resource}
    found |= {
        f"live_client:{f}"
        for f in _our_event_facts(_by_type(le.LIVE_CLIENT_EVENT_CLASSES), LIVE_SESSION_EVENTS)
    }
    found |= {
        f"live_server:{f}"
        for f in _our_event_facts(_by_type(le.LIVE_SERVER_EVENT_CLASSES), LIVE_SESSION_EVENTS)
    }
    found |= translation_our_facts()
    return found


# ---- translation sessions (client.realtime.translations) ---------------------------------------
#
# Scopes: ``translation`` is the session a server reports (RealtimeTranslationSession, complete:
# its id and expiry are written by TranslationConfig.to_session(session_id=, expires_at=) and
# read by the client into session_id / expires_at), ``translation-update`` the session of an
# update (audio only), ``translation-client`` / ``translation-server`` the event unions.


def _translation_update_facts() -> set[str]:
    facts = _config_facts(TranslationConfig) - {"type", f"type={TranslationConfig.SESSION_TYPE}"}
    fixed = {n for n in TranslationConfig.PARAMS if n not in TranslationConfig.update_fields()}
    for name in fixed:  # fixed at creation: not in an update
        path = TranslationConfig.PARAMS[name].ga
        facts = {f for f in facts if f != path and not f.startswith((f"{path}.", f"{path}="))}
    return facts


def translation_sdk_facts() -> set[str]:
    found = {f"translation:{f}" for f in _sdk_session_facts(RealtimeTranslationSession)}
    found |= {
        f"translation-update:{f}"
        for f in _sdk_session_facts(RealtimeTranslationSessionUpdateRequest)
    }
    found |= {f"translation-client:{f}" for f in _sdk_event_facts(RealtimeTranslationClientEvent)}
    found |= {f"translation-server:{f}" for f in _sdk_event_facts(RealtimeTranslationServerEvent)}
    return found


def translation_our_facts() -> set[str]:
    reported = _config_facts(TranslationConfig) | {"id", "expires_at"}
    found = {f"translation:{f}" for f in reported}
    found |= {f"translation-update:{f}" for f in _translation_update_facts()}
    client = {str(m.model_fields["type"].default): m for m in te.TRANSLATION_CLIENT_EVENT_CLASSES}
    server = {str(m.model_fields["type"].default): m for m in te.TRANSLATION_SERVER_EVENT_CLASSES}
    found |= {f"translation-client:{f}" for f in _our_event_facts(client)}
    found |= {f"translation-server:{f}" for f in _our_event_facts(server)}
    return found


def test_the_translation_walk_sees_what_we_expect() -> None:
    facts = translation_sdk_facts()
    assert "translation:type=translation" in facts
    assert "translation:id" in facts
    assert "translation:audio.input.noise_reduction.type=far_field" in facts
    assert "translation-update:audio.output.language" in facts
    assert not any(
        f.startswith(("translation-update:type", "translation-update:model")) for f in facts
    )
    assert "translation-client:<session.input_audio_buffer.append>.audio" in facts
    assert "translation-server:<session.output_audio.delta>.format=pcm16" in facts
    # ... and so does ours: the update carries neither type nor model.
    ours = translation_our_facts()
    assert "translation:model" in ours
    assert "translation-update:model" not in ours
    assert "translation-update:type" not in ours


def test_a_new_sdk_translation_field_would_fail_the_diff() -> None:
    class FakeOutput(BaseModel):
        language: str | None = None
        voice: str | None = None

    facts: set[str] = set()
    facts_of_model(FakeOutput, "translation:audio.output", facts)
    new = sorted(f for f in facts - our_facts() if _listed(f) is None)
    assert new == ["translation:audio.output.voice"]


def test_translation_event_types_are_compared_both_ways() -> None:
    assert set(_events(RealtimeTranslationClientEvent)) == set(te.TRANSLATION_CLIENT_EVENT_TYPES)
    assert set(_events(RealtimeTranslationServerEvent)) == set(te.TRANSLATION_SERVER_EVENT_TYPES)


def _listed(fact: str) -> str | None:
    for pattern in NOT_MODELED:
        if fnmatch.fnmatchcase(fact, pattern):
            return pattern
    return None


def test_the_sdk_walk_sees_what_we_expect() -> None:
    # The walk itself must be able to see the things the diff is about.
    facts = sdk_facts()
    assert "realtime:audio.input.turn_detection<server_vad>.threshold" in facts
    assert "realtime:audio.output.voice=marin" in facts
    assert "transcription:type=transcription" in facts
    assert "transcription:include[]=item.input_audio_transcription.logprobs" in facts
    assert "client:<conversation.item.create>.item<mcp_approval_response>.approve" in facts
    assert "client:<response.create>.response.conversation=none" in facts
    assert "server:<conversation.item.input_audio_transcription.delta>.logprobs" in facts
    assert len(facts) > 1000


def test_every_sdk_fact_is_modeled_or_listed_with_a_reason() -> None:
    unexplained = sorted(f for f in sdk_facts() - our_facts() if _listed(f) is None)
    assert not unexplained, (
        f"openai {openai.__version__} has {len(unexplained)} fields/values/event types that are "
        "neither modeled nor listed in realtime_widgets.protocol.coverage.NOT_MODELED:\n  "
        + "\n  ".join(unexplained[:60])
    )


def test_no_row_of_the_table_is_stale() -> None:
    missing = sdk_facts() - our_facts()
    stale = [p for p in NOT_MODELED if not any(fnmatch.fnmatchcase(f, p) for f in missing)]
    assert not stale, f"rows that match nothing unmodeled any more (remove them): {stale}"


@pytest.mark.parametrize("reason", list(NOT_MODELED.values()))
def test_every_row_gives_a_reason(reason: str) -> None:
    assert len(reason.split()) >= 8


def test_a_new_sdk_field_would_fail_the_diff() -> None:
    # The diff must be able to fail: a made-up SDK field is neither modeled nor listed.
    class FakeVad(BaseModel):
        type: typing.Literal["server_vad"]
        threshold: float | None = None
        loudness_floor_db: float | None = None

    facts: set[str] = set()
    facts_of_model(FakeVad, "realtime:audio.input.turn_detection<server_vad>", facts)
    new = sorted(f for f in facts - our_facts() if _listed(f) is None)
    assert new == ["realtime:audio.input.turn_detection<server_vad>.loudness_floor_db"]


def test_event_types_are_compared_both_ways() -> None:
    sdk_client = set(_events(RealtimeClientEvent))
    sdk_server = set(_events(RealtimeServerEvent))
    assert sdk_client == set(_our_client_events())
    assert sdk_server <= set(_our_server_events())
    assert set(_events(live.ClientEvent)) == set(le.LIVE_CLIENT_EVENT_TYPES)
    assert set(_events(live.ServerEvent)) == set(le.LIVE_SERVER_EVENT_TYPES)


def test_the_live_walk_sees_what_we_expect() -> None:
    facts = sdk_facts()
    assert "live:audio.format<audio/pcm>.rate=16000" in facts
    assert "live:audio.output.voice=vesper" in facts
    assert "live:delegation<decisions>.acknowledgement_delay_ms" in facts
    assert "live:input[]<message>.content[]<output_text>.text" in facts
    assert "live_update:triggers[].event_type=session.output_transcript.delta" in facts
    assert "live_resource:status=active" in facts
    assert "live_client:<decision.item.create>.item<function_call>.call_id" in facts
    assert "live_server:<session.closed>.reason=remote_hangup" in facts
    assert "live_server:<session.delegation.created>.delegation.target=decisions" in facts
    # The session.start session is no update's: a WebSocket has no wake_policy, and
    # session.update takes only delegation and triggers.
    assert not any(f.startswith("live:wake_policy") for f in facts)
    heads = {
        f.split(".")[0].split("<")[0].split("[")[0] for f in facts if f.startswith("live_update:")
    }
    assert heads == {
        "live_update:delegation",
        "live_update:triggers",
    }


def test_the_media_session_fields_are_the_sdks() -> None:
    # client.live.create()'s session is a TypedDict (the walk reads models): its keys are
    # LiveConfig's media fields, and its wake policy's keys are WakePolicy's.
    ours = {LiveConfig.PARAMS[n].ga.split(".")[0] for n in LiveConfig.media_fields()}  # type: ignore[union-attr]
    assert set(media.MediaSessionConfigParam.__annotations__) == ours
    assert set(media.Audio.__annotations__) == {"output"}  # no format: media negotiates it
    assert set(media.WakePolicy.__annotations__) == set(WakePolicy.model_fields)
    media_only = {n for n, p in LiveConfig.PARAMS.items() if p.transport == "media"}
    assert media_only == {"wake_policy", "idle_timeout_s"}
    assert not media_only & set(live.SessionConfig.model_fields)
