"""MCP credentials are secrets like the API key: on the wire, and nowhere else.

Each test uses distinctive token strings and asserts them absent from a surface (presets, share
strings, exports, repr) while the session.update that realtime_widgets sends still carries them.
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from pathlib import Path

import pytest

from realtime_widgets import ConfigError, SessionConfig
from realtime_widgets.protocol.export import EXPORT_TARGETS, to_code
from realtime_widgets.protocol.parts import SECRET_KEYS, McpTool
from realtime_widgets.protocol.presets import Preset, load, save_file, to_json, to_share_string
from realtime_widgets.protocol.redaction import keep_secrets, redact

from .test_export import _run_openai_python

TOKEN = "mcp-token-7f3a9c"
HEADER = "hdr-secret-51be"
MCP = {
    "type": "mcp",
    "server_label": "docs",
    "server_url": "https://mcp.example.com/sse",
    "authorization": TOKEN,
    "headers": {"X-Key": HEADER},
    "require_approval": "never",
}
CONFIG = SessionConfig(instructions="Be brief.", tools=[MCP])


def assert_secret_free(text: str) -> None:
    assert TOKEN not in text
    assert HEADER not in text


def test_the_wire_payload_still_carries_the_secrets() -> None:
    tool = CONFIG.to_session_update()["session"]["tools"][0]
    assert tool["authorization"] == TOKEN
    assert tool["headers"] == {"X-Key": HEADER}


def test_the_model_declares_the_secret_fields_once() -> None:
    assert SECRET_KEYS == {"mcp": ("authorization", "headers")}
    props = SessionConfig.json_schema()["$defs"]["McpTool"]["properties"]
    for key in ("authorization", "headers"):
        assert props[key]["x-secret"] is True
        assert props[key]["writeOnly"] is True
    assert "x-secret" not in props["server_label"]
    assert_secret_free(repr(CONFIG) + str(CONFIG) + repr(CONFIG.tools[0]))


def test_redact_drops_or_replaces_secrets_and_leaves_the_rest() -> None:
    event = CONFIG.to_session_update()
    assert redact({"type": "input_audio_buffer.append", "audio": "AAAA"}) == {
        "type": "input_audio_buffer.append",
        "audio": "AAAA",
    }
    plain = {"type": "session.update", "session": {"voice": "marin"}}
    assert redact(plain) is plain  # nothing to hide: no copy (the event log calls it per event)
    dropped = redact(event)["session"]["tools"][0]
    assert "authorization" not in dropped
    assert "headers" not in dropped
    assert dropped["server_label"] == "docs"
    marked = redact(event, lambda tool, key: f"<{key}>")["session"]["tools"][0]
    assert marked["authorization"] == "<authorization>"
    assert event["session"]["tools"][0]["authorization"] == TOKEN  # the original is untouched


def _unpacked(share: str) -> str:
    body = share.partition(".")[2]
    return zlib.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))).decode()


def test_presets_and_share_strings_never_carry_a_secret(tmp_path: Path) -> None:
    share = to_share_string(CONFIG, "mine")
    assert_secret_free(_unpacked(share))
    assert_secret_free(to_json(CONFIG, "mine"))
    assert_secret_free(save_file(CONFIG, tmp_path / "mine.json").read_text())
    assert_secret_free(json.dumps(Preset.from_config(CONFIG).changes))
    loaded = load(share).config.tools[0]
    assert isinstance(loaded, McpTool)
    assert (loaded.server_label, loaded.authorization, loaded.headers) == ("docs", None, None)


def test_loading_a_preset_keeps_the_current_secrets_only_for_the_same_server() -> None:
    shared = load(to_share_string(CONFIG)).config
    kept, notes = keep_secrets(shared, CONFIG)
    assert kept == CONFIG
    assert notes == ["kept the authorization and headers of MCP server 'docs'"]
    # The same label pointed at another server must not receive the user's token.
    elsewhere = shared.with_changes(tools=[{**MCP, "server_url": "https://evil.example/mcp"}])
    moved = elsewhere.with_changes(tools=[redact(t.model_dump()) for t in elsewhere.tools])
    kept, notes = keep_secrets(moved, CONFIG)
    assert kept == moved
    assert notes == ["MCP server 'docs' has no authorization: presets never carry one"]
    # A secret the preset sets itself (a user's own file) is not replaced.
    own, notes = keep_secrets(elsewhere, CONFIG)
    assert own == elsewhere
    assert notes == []


@pytest.mark.parametrize("target", EXPORT_TARGETS)
def test_no_export_carries_a_secret(target: str) -> None:
    assert_secret_free(to_code(CONFIG, target))


def test_the_python_export_reads_the_secrets_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code = to_code(CONFIG, "openai-python")
    assert 'os.environ["MCP_DOCS_AUTHORIZATION"]' in code
    assert 'json.loads(os.environ["MCP_DOCS_HEADERS"])' in code
    monkeypatch.setenv("MCP_DOCS_AUTHORIZATION", TOKEN)
    monkeypatch.setenv("MCP_DOCS_HEADERS", json.dumps({"X-Key": HEADER}))
    assert _run_openai_python(code) == [CONFIG.to_session_update()]


def test_the_dotnet_and_json_exports_name_environment_variables() -> None:
    code = to_code(CONFIG, "openai-dotnet")
    env = {"MCP_DOCS_AUTHORIZATION": TOKEN, "MCP_DOCS_HEADERS": json.dumps({"X-Key": HEADER})}
    # What C# evaluates: the verbatim pieces, each environment read spliced in as JSON.
    body = re.search(r'var sessionUpdate = @"(.*?)";\n', code, re.S)
    assert body is not None
    text = body.group(1)
    text = re.sub(
        r'" \+ JsonSerializer\.Serialize\(Environment\.GetEnvironmentVariable\("(\w+)"\)\) \+ @"',
        lambda m: json.dumps(env[m.group(1)]).replace('"', '""'),
        text,
    )
    text = re.sub(
        r'" \+ Environment\.GetEnvironmentVariable\("(\w+)"\) \+ @"',
        lambda m: env[m.group(1)].replace('"', '""'),
        text,
    )
    assert json.loads(text.replace('""', '"')) == CONFIG.to_session_update()
    assert "using System.Text.Json;" in code
    tool = json.loads(to_code(CONFIG, "json"))["session"]["tools"][0]
    assert tool["authorization"] == "${MCP_DOCS_AUTHORIZATION}"
    assert tool["headers"] == "${MCP_DOCS_HEADERS}"


def test_a_refused_tool_never_shows_its_secrets() -> None:
    untargeted = {k: v for k, v in MCP.items() if k != "server_url"}
    with pytest.raises(ConfigError) as info:
        SessionConfig(tools=[untargeted])
    assert info.value.field == "tools[0]"
    assert_secret_free(repr(info.value.problems) + str(info.value))
    with pytest.raises(ConfigError) as info:
        SessionConfig(tools=[{**MCP, "authorization": 1234567}])
    assert (
        str(info.value) == "tools[0].authorization must be a string, got int (a secret: not shown)"
    )
    assert "1234567" not in repr(info.value.problems)
