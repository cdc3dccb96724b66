"""Each built-in preset, sent to the local server over a real socket, is what the server applies."""

from __future__ import annotations

import asyncio
import json
import os

import pytest
import websockets

from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.presets import BUILTIN_PRESETS, load, to_share_string
from realtime_widgets.server.app import LocalServer
from tests.protocol.sdk_oracle import check_session_update

TIMEOUT = float(os.environ.get("RW_TEST_TIMEOUT", "30"))


@pytest.mark.asyncio
@pytest.mark.parametrize("name", sorted(BUILTIN_PRESETS))
async def test_builtin_preset_is_accepted_and_applied_by_the_local_server(name: str) -> None:
    config = load(to_share_string(BUILTIN_PRESETS[name].config, name)).config
    event = check_session_update(config.to_session_update()).model_dump(exclude_unset=True)
    async with (
        LocalServer(pace=0, speech=False) as server,
        websockets.connect(server.url + "?model=gpt-realtime-1.5") as ws,
    ):
        created = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        assert created["type"] == "session.created"
        await ws.send(json.dumps(config.to_session_update(event_id="evt_preset")))
        reply = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    assert reply["type"] == "session.updated", reply
    effective = SessionConfig.from_session(reply["session"])
    changed = config.diff(SessionConfig())
    assert changed  # a preset that changes nothing would be no preset
    for field in changed:
        assert getattr(effective, field) == getattr(config, field), field
    assert event["type"] == "session.update"
