"""Fuzz: random and mutated client events never crash the server, each bad event is answered
with an error, and other sessions are unaffected."""

from __future__ import annotations

import asyncio
import json
import os
import random
from typing import Any

import numpy as np
import pytest
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from realtime_widgets.protocol.events import UnknownServerEvent, parse_server_event
from realtime_widgets.server.app import LocalServer
from realtime_widgets.server.engine import EngineOptions, SessionEngine

from .conftest import Driver, b64

N_EVENTS = int(os.environ.get("RW_FUZZ_EVENTS", "100000"))
SEEDS: list[dict[str, Any]] = [
    {
        "type": "session.update",
        "session": {"type": "realtime", "instructions": "hi", "audio": {"output": {"speed": 1.2}}},
    },
    {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "audio": {"input": {"turn_detection": {"type": "semantic_vad", "eagerness": "high"}}},
        },
    },
    {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "audio": {"input": {"turn_detection": None, "format": {"type": "audio/pcmu"}}},
        },
    },
    {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "tools": [
                {
                    "type": "function",
                    "name": "f",
                    "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}},
                }
            ],
            "tool_choice": "required",
        },
    },
    {"type": "input_audio_buffer.append", "audio": b64(np.zeros(240, np.int16))},
    {
        "type": "input_audio_buffer.append",
        "audio": b64((np.sin(np.arange(2400) / 3) * 9000).astype(np.int16)),
    },
    {"type": "input_audio_buffer.commit", "event_id": "c1"},
    {"type": "input_audio_buffer.clear"},
    {
        "type": "conversation.item.create",
        "item": {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "hello"}],
        },
    },
    {
        "type": "conversation.item.create",
        "item": {"type": "function_call_output", "call_id": "call_1", "output": "ok"},
    },
    {
        "type": "conversation.item.truncate",
        "item_id": "item_x",
        "content_index": 0,
        "audio_end_ms": 10,
    },
    {"type": "conversation.item.delete", "item_id": "item_x"},
    {"type": "conversation.item.retrieve", "item_id": "item_x"},
    {
        "type": "response.create",
        "response": {"output_modalities": ["text"], "max_output_tokens": 20},
    },
    {"type": "response.create"},
    {"type": "response.cancel"},
]
JUNK: list[Any] = [
    None,
    True,
    -1,
    0,
    1.5,
    1e308,
    "",
    "x" * 300,
    [],
    {},
    [1, {"a": None}],
    {"type": "realtime"},
    "\ud800",
    "null",
]


def mutate_structure(rng: random.Random, value: Any, depth: int = 0) -> Any:
    if isinstance(value, dict) and value and rng.random() < 0.7:
        value = dict(value)
        key = rng.choice(list(value))
        action = rng.random()
        if action < 0.3:
            del value[key]
        elif action < 0.6:
            value[key] = rng.choice(JUNK)
        elif action < 0.8:
            value[rng.choice(["extra", "type", "session", "audio", "item", key + "_"])] = (
                rng.choice(JUNK)
            )
        else:
            value[key] = mutate_structure(rng, value[key], depth + 1)
        return value
    if isinstance(value, list) and value:
        return [mutate_structure(rng, v, depth + 1) for v in value]
    return rng.choice(JUNK) if rng.random() < 0.5 else value


def mutate_bytes(rng: random.Random, text: str) -> str:
    data = bytearray(text.encode())
    for _ in range(rng.randint(1, 4)):
        pos = rng.randrange(len(data))
        op = rng.random()
        if op < 0.4:
            data[pos] = rng.randrange(256)
        elif op < 0.7:
            del data[pos]
        else:
            data.insert(pos, rng.choice(b'{}[]",:0\\x'))
    return data.decode("utf-8", "replace")


def check_output(out: list[dict[str, Any]]) -> None:
    for event in out:
        assert isinstance(event["type"], str)
        assert isinstance(event["event_id"], str)
        parsed = parse_server_event(json.dumps(event))
        assert not isinstance(parsed, UnknownServerEvent), event


@pytest.mark.slow  # ~45-60 s: RW_FUZZ_EVENTS=2000 for a quick pass
def test_100k_random_and_mutated_events_never_crash_the_engine() -> None:
    rng = random.Random(20261121)
    engine = SessionEngine(options=EngineOptions(pace=0), session_id="sess_fuzz0001")
    d = Driver(engine, speak=None)  # no speech: keep 100k events fast
    engine.start(0.0)
    errors = invalid_json = 0
    for n in range(N_EVENTS):
        if engine.closed is not None:  # a mutated beta payload closes the session, as OpenAI does
            assert engine.closed == (4000, "beta_api_shape_disabled")
            engine.close()
            engine = SessionEngine(options=EngineOptions(pace=0), session_id=f"sess_fuzz{n:04d}")
            d = Driver(engine, speak=None)
            engine.start(d.now)
        seed = rng.choice(SEEDS)
        kind = rng.random()
        if kind < 0.45:
            text = json.dumps(mutate_structure(rng, seed))
        elif kind < 0.9:
            text = mutate_bytes(rng, json.dumps(seed))
        else:
            text = json.dumps(seed)
        is_json = True
        try:
            obj = json.loads(text)
        except ValueError:
            is_json = False
        out = d.send(text, advance=0.01)
        check_output(out)
        if not is_json or not isinstance(obj, dict):
            invalid_json += 1
            assert [e["type"] for e in out] == ["error"], text
        errors += sum(e["type"] == "error" for e in out)
        if n % 1000 == 0:
            d.events.clear()
    assert invalid_json > N_EVENTS // 10
    assert errors > N_EVENTS // 3
    # The session still works after all that.
    d.send(
        {
            "type": "session.update",
            "session": {"type": "realtime", "output_modalities": ["text"], "tool_choice": "auto"},
        }
    )
    d.send({"type": "response.cancel"})
    d.send(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "still there?"}],
            },
        }
    )
    out = d.send({"type": "response.create"}) + d.advance(10)
    assert d.of("response.done", out)[-1]["response"]["status"] == "completed"
    engine.close()


client_event = st.fixed_dictionaries(
    {
        "type": st.sampled_from(
            [s["type"] for s in SEEDS] + ["session.create", "response.update", ""]
        )
    },
    optional={
        "event_id": st.one_of(st.text(max_size=20), st.integers()),
        "session": st.dictionaries(
            st.text(max_size=12),
            st.recursive(
                st.none() | st.booleans() | st.floats() | st.text(max_size=8),
                lambda c: (
                    st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3)
                ),
                max_leaves=8,
            ),
            max_size=4,
        ),
        "audio": st.text(max_size=40),
        "item": st.dictionaries(
            st.sampled_from(["type", "role", "content", "call_id", "output", "id"]),
            st.text(max_size=10)
            | st.lists(
                st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2), max_size=2
            ),
            max_size=5,
        ),
        "item_id": st.text(max_size=10),
        "audio_end_ms": st.integers(-10, 10**9),
        "response": st.dictionaries(
            st.sampled_from(
                [
                    "output_modalities",
                    "max_output_tokens",
                    "tools",
                    "tool_choice",
                    "conversation",
                    "junk",
                ]
            ),
            st.none()
            | st.text(max_size=6)
            | st.integers()
            | st.lists(st.text(max_size=5), max_size=2),
            max_size=3,
        ),
    },
)


@settings(
    max_examples=500,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    deadline=None,
)
@given(st.lists(client_event, min_size=1, max_size=6))
def test_structured_fuzz_every_event_answered_sensibly(events: list[dict[str, Any]]) -> None:
    engine = SessionEngine(options=EngineOptions(pace=0))
    d = Driver(engine, speak=None)
    engine.start(0.0)
    try:
        for event in events:
            if engine.closed is not None:
                break
            out = d.send(json.dumps(event), advance=0.05)
            check_output(out)
            if event["type"] not in {s["type"] for s in SEEDS}:
                assert [e["type"] for e in out] == ["error"]
    finally:
        engine.close()


@pytest.mark.asyncio
async def test_socket_fuzz_leaves_other_sessions_unaffected() -> None:
    rng = random.Random(7)
    async with (
        LocalServer(pace=0, speech=False) as server,
        websockets.connect(server.url) as victim,
        websockets.connect(server.url) as attacker,
    ):
        await victim.recv()
        await attacker.recv()

        async def drain() -> None:
            async for _ in attacker:
                pass

        drainer = asyncio.create_task(drain())
        try:
            for _ in range(2000):
                seed = json.dumps(rng.choice(SEEDS))
                await attacker.send(
                    mutate_bytes(rng, seed)
                    if rng.random() < 0.5
                    else json.dumps(mutate_structure(rng, json.loads(seed)))
                )
            await victim.send(
                json.dumps(
                    {
                        "type": "session.update",
                        "session": {"type": "realtime", "output_modalities": ["text"]},
                    }
                )
            )
            await victim.send(
                json.dumps(
                    {
                        "type": "conversation.item.create",
                        "item": {
                            "type": "message",
                            "role": "user",
                            "content": [{"type": "input_text", "text": "ok?"}],
                        },
                    }
                )
            )
            await victim.send(json.dumps({"type": "response.create"}))
            kinds: list[str] = []
            while "response.done" not in kinds:
                kinds.append(json.loads(await asyncio.wait_for(victim.recv(), 30))["type"])
            assert "error" not in kinds
        finally:
            await attacker.close()
            await asyncio.wait_for(drainer, 30)
