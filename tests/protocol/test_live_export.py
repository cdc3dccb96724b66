"""GPT-Live exports: openai-python's client.live code runs against the SDK's real connection
class and sends exactly our session.start; client.live.create() gets the media session (with
wake_policy / idle_timeout_s) only when a media-only field is set; JSON both ways; secrets read
from the environment, never written; the schema is a reviewed snapshot."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from openai.resources.live.live import AsyncLiveConnection

from realtime_widgets import ConfigError
from realtime_widgets.protocol.export import LIVE_EXPORT_TARGETS, to_code
from realtime_widgets.protocol.live_config import LiveConfig

from .sdk_oracle import check_live_media_session, check_live_session_start
from .strategies import live_config_data
from .test_export import RecordingSocket

SNAPSHOT = Path(__file__).parent.parent / "snapshots" / "live_config.schema.json"
SECRET = "sk-mcp-do-not-write"
WITH_SECRET = LiveConfig(
    instructions="Be brief.",
    voice="cedar",
    audio_format={"type": "audio/pcm", "rate": 16000},
    delegation={
        "type": "responses",
        "acknowledgement_delay_ms": 300,
        "responses": {
            "model": "gpt-5.1",
            "tools": [
                {
                    "type": "mcp",
                    "server_label": "docs",
                    "server_url": "https://mcp.example.com/sse",
                    "authorization": SECRET,
                }
            ],
        },
    },
    wake_policy={"type": "speech", "vad_threshold": 0.65},
    idle_timeout_s=120,
)


class _Live:
    """Stands in for ``client.live``: records create()'s arguments, answers an SDP."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def create(self, **kw: Any) -> Any:
        self.calls.append(kw)
        return SimpleNamespace(transport=SimpleNamespace(sdp="v=0 answer"))


def _run(code: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """Run an export: what start() sends over the SDK's Live connection, what
    create_media_session() (when there is one) passes to client.live.create()."""
    namespace: dict[str, Any] = {"__name__": "exported"}
    exec(compile(code, "<export>", "exec"), namespace)
    socket = RecordingSocket()
    live = _Live()

    async def go() -> None:
        await namespace["start"](AsyncLiveConnection(socket))  # type: ignore[arg-type]
        if "create_media_session" in namespace:
            answer = await namespace["create_media_session"](SimpleNamespace(live=live), "v=0")
            assert answer == "v=0 answer"

    asyncio.run(go())
    return [json.loads(s) for s in socket.sent], live.calls, namespace


def test_openai_python_export_starts_exactly_our_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCP_DOCS_AUTHORIZATION", SECRET)
    code = to_code(WITH_SECRET, "openai-python")
    assert SECRET not in code
    assert 'os.environ["MCP_DOCS_AUTHORIZATION"]' in code
    assert "client.live.connect()" in code
    sent, created, _ = _run(code)
    assert sent == [WITH_SECRET.to_session_start()]
    check_live_session_start(sent[0])
    # The media session goes to client.live.create() with its media-only fields.
    assert created == [
        {
            "session": WITH_SECRET.to_media_session(),
            "transport": {"type": "webrtc", "sdp": "v=0"},
        }
    ]
    media = created[0]["session"]
    assert media["wake_policy"] == {"type": "speech", "vad_threshold": 0.65}
    assert media["idle_timeout_s"] == 120
    check_live_media_session(media)


def test_no_create_without_a_media_only_field() -> None:
    config = LiveConfig(voice="willow", delegation={"type": "client"})
    code = to_code(config, "openai-python")
    assert "client.live.create" not in code
    assert "wake_policy" not in code
    sent, created, namespace = _run(code)
    assert sent == [config.to_session_start()]
    assert created == []
    assert "create_media_session" not in namespace


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(live_config_data())
def test_openai_python_export_for_generated_configs(data: dict) -> None:
    config = LiveConfig(**data)
    sent, created, _ = _run(to_code(config, "openai-python"))
    assert sent == [config.to_session_start()]
    if created:
        assert created[0]["session"] == config.to_media_session()
        check_live_media_session(created[0]["session"])
    assert "wake_policy" not in sent[0]["session"]
    assert "idle_timeout_s" not in sent[0]["session"]


def test_json_exports_and_unknown_targets() -> None:
    text = to_code(WITH_SECRET, "json")
    assert SECRET not in text
    event = json.loads(text)
    tool = event["session"]["delegation"]["responses"]["tools"][0]
    assert tool["authorization"] == "${MCP_DOCS_AUTHORIZATION}"
    tool["authorization"] = SECRET
    assert event == WITH_SECRET.to_session_start()
    media = json.loads(to_code(WITH_SECRET, "json-media"))
    assert set(media) == {"session"}
    assert media["session"]["idle_timeout_s"] == 120
    assert "format" not in media["session"]["audio"]
    assert LIVE_EXPORT_TARGETS == ("openai-python", "json", "json-media")
    for target in ("openai-agents", "psopenai", "nope"):
        with pytest.raises(ConfigError) as err:
            to_code(LiveConfig(), target)
        assert err.value.field == "target"
        assert "openai-python, json, json-media" in str(err.value)


def test_schema_matches_the_reviewed_snapshot() -> None:
    schema = LiveConfig.json_schema()
    props = schema["properties"]
    assert list(props) == list(LiveConfig.model_fields)
    assert props["voice"]["x-ga"] == "audio.output.voice"
    assert props["audio_format"]["x-ga"] == "audio.format"
    assert props["delegation"]["x-mutable"] == "always"
    assert props["model"]["x-mutable"] == "never"
    assert props["wake_policy"]["x-transport"] == "media"
    assert props["model"]["examples"] == ["gpt-live-1", "gpt-live-1.1"]
    wake = schema["$defs"]["WakePolicy"]["properties"]["vad_threshold"]
    assert (wake["minimum"], wake["maximum"], wake["default"]) == (0.0, 1.0, 0.5)
    current = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(current)
    assert SNAPSHOT.exists(), "no snapshot: run with UPDATE_SNAPSHOTS=1 and review it"
    assert current == SNAPSHOT.read_text(), (
        "LiveConfig's schema changed; if intended, regenerate with UPDATE_SNAPSHOTS=1 "
        "and review the diff"
    )
