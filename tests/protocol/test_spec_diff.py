"""The spec diff: everything the installed openai SDK's Realtime types hold is modeled here, or
listed with a reason in :data:`realtime_widgets.protocol.coverage.NOT_MODELED`.

Walked recursively: the realtime and transcription session types, every client event and every
server event (see :mod:`tests.protocol.spec_walk` for the fact syntax). The ``session`` of
``session.update`` / ``session.created`` / ``session.updated`` is compared once, through the two
session walks; the client events' items and response parameters are typed records
(:mod:`realtime_widgets.protocol.client_events`), walked like everything else.
"""

from __future__ import annotations

import fnmatch
import typing
from typing import Any

import openai
import pytest
from openai.types.realtime import (
    RealtimeClientEvent,
    RealtimeServerEvent,
    RealtimeSessionCreateRequest,
    RealtimeTranscriptionSessionCreateRequest,
)
from pydantic import BaseModel

from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.configbase import ConfigModel
from realtime_widgets.protocol.coverage import NOT_MODELED
from realtime_widgets.protocol.transcription_config import TranscriptionConfig

from .spec_walk import _members, facts_of_annotation, facts_of_model, literal_tag

SESSION_EVENTS = {"session.update", "session.created", "session.updated"}


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


def _sdk_event_facts(union: Any) -> set[str]:
    facts: set[str] = set()
    for kind, model in _events(union).items():
        facts.add(f"<{kind}>")
        for name, info in model.model_fields.items():
            if kind in SESSION_EVENTS and name == "session":
                continue
            here = f"<{kind}>.{name}"
            facts.add(here)
            facts_of_annotation(info.annotation, here, facts, info=info, seen=(model,))
    return facts


def _our_event_facts(classes: dict[str, type[BaseModel]]) -> set[str]:
    facts: set[str] = set()
    for kind, model in classes.items():
        facts.add(f"<{kind}>")
        for name, info in model.model_fields.items():
            if kind in SESSION_EVENTS and name == "session":
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


def sdk_facts() -> set[str]:
    """Every fact of the installed SDK, scoped."""
    found = {f"realtime:{f}" for f in _sdk_session_facts(RealtimeSessionCreateRequest)}
    found |= {
        f"transcription:{f}" for f in _sdk_session_facts(RealtimeTranscriptionSessionCreateRequest)
    }
    found |= {f"client:{f}" for f in _sdk_event_facts(RealtimeClientEvent)}
    found |= {f"server:{f}" for f in _sdk_event_facts(RealtimeServerEvent)}
    return found


def our_facts() -> set[str]:
    """Every fact of our models, scoped the same way."""
    found = {f"realtime:{f}" for f in _config_facts(SessionConfig)}
    found |= {f"transcription:{f}" for f in _config_facts(TranscriptionConfig)}
    found |= {f"client:{f}" for f in _our_event_facts(_our_client_events())}
    found |= {f"server:{f}" for f in _our_event_facts(_our_server_events())}
    found |= {f"server:<{beta}>.type={beta}" for beta in ev.BETA_EVENT_NAMES}
    return found


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
