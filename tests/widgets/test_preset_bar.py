"""PresetBar: built-ins applied over the panel's settings, files and share strings loaded whole."""

from __future__ import annotations

import base64
import json
import time
import zlib
from pathlib import Path

import pytest

from realtime_widgets.client.session import RealtimeSession
from realtime_widgets.errors import ConfigError
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.parts import PcmuFormat
from realtime_widgets.protocol.presets import (
    BUILTIN_PRESETS,
    FORMAT,
    SHARE_PREFIX,
    load,
    to_json,
    to_share_string,
)
from realtime_widgets.widgets.panel import ConfigPanel
from realtime_widgets.widgets.preset_bar import PresetBar
from tests.waiting import eventually


def test_builtins_are_listed_and_applied_over_the_panel() -> None:
    panel = ConfigPanel(config=SessionConfig(voice="cedar"))
    bar = PresetBar(panel)
    assert [p["name"] for p in bar.presets] == list(BUILTIN_PRESETS)
    assert all(p["description"] for p in bar.presets)
    bar._on_browser(bar, {"type": "apply", "name": "phone call (G.711)"}, [])
    assert panel.config.input_audio_format == PcmuFormat()
    assert panel.config.voice == "cedar"  # a built-in changes only its own fields
    assert panel.controls["input_audio_format"].value == {"type": "audio/pcmu"}  # shown
    assert bar.status == "applied 'phone call (G.711)'"
    assert load(bar.share).config == panel.config  # the share string follows


def test_a_share_string_and_a_file_load_a_whole_configuration(tmp_path: Path) -> None:
    panel = ConfigPanel(config=SessionConfig(voice="cedar", speed=1.25))
    bar = PresetBar(panel, name="mine")
    wanted = SessionConfig(instructions="Short answers.", turn_detection=None)
    bar.load_text(to_share_string(wanted, "friend's"))
    assert panel.config == wanted  # voice and speed back at their defaults: a whole config
    assert bar.status == 'loaded "friend\'s"'
    # The loaded preset's name is kept (issue 23: it was lost): a save and a share carry it.
    assert bar.name == "friend's"
    assert load(bar.share).name == "friend's"
    path = bar.save(tmp_path / "mine.json")
    assert json.loads(path.read_text())["name"] == "friend's"
    panel.load(SessionConfig())
    bar._on_browser(bar, {"type": "load", "text": path.read_text()}, [])
    assert panel.config == wanted


def test_refusals_name_the_field_and_change_nothing() -> None:
    panel = ConfigPanel(config=SessionConfig(voice="ash"))
    bar = PresetBar(panel)
    bad = to_json(SessionConfig()).replace('"config": {}', '"config": {"speed": 9}')
    bar._on_browser(bar, {"type": "load", "text": bad}, [])
    assert bar.error_field == "config.speed"
    assert "speed must be between 0.25 and 1.5" in bar.status
    bar._on_browser(bar, {"type": "apply", "name": "karaoke"}, [])
    assert bar.error_field == "preset"
    assert "'push-to-talk'" in bar.status
    assert panel.config == SessionConfig(voice="ash")
    with pytest.raises(ConfigError):
        bar.load_text("rw9.abc")


def test_save_and_share_send_the_file_and_the_string_to_the_browser() -> None:
    bar = PresetBar(name="my agent")
    sent: list[dict[str, object]] = []
    bar.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    bar.apply_preset("text only")
    bar._on_browser(bar, {"type": "save"}, [])
    bar._on_browser(bar, {"type": "share"}, [])
    assert sent[0]["type"] == "file"
    assert sent[0]["filename"] == "my-agent.json"
    assert load(str(sent[0]["text"])).config == BUILTIN_PRESETS["text only"].config
    assert sent[1] == {"type": "share", "text": bar.share}
    assert load(bar.share).name == "my agent"


def test_on_a_live_session_the_preset_is_sent_and_the_model_is_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    session = RealtimeSession(SessionConfig()).connect()
    try:
        panel = ConfigPanel(session)
        bar = PresetBar(panel)
        other = SessionConfig(model="gpt-realtime-mini", turn_detection=None, speed=1.2)
        bar.load_text(to_share_string(other))
        assert "kept the live session's model" in bar.status
        eventually(lambda: session.effective is not None and session.effective.speed == 1.2)
        assert session.effective is not None
        assert session.effective.turn_detection is None
        assert session.effective.model == "gpt-realtime-1.5"
        eventually(lambda: load(bar.share).config.speed == 1.2)
        # Without a panel the bar sends the preset itself.
        alone = PresetBar(session=session)
        alone.apply_preset("low-latency interruptions")
        eventually(
            lambda: (
                session.effective is not None
                and session.effective.turn_detection == alone.config.turn_detection
                and session.effective.turn_detection is not None
            )
        )
        alone.close()
    finally:
        session.close()


def test_a_hostile_preset_is_refused_in_the_status_naming_the_field() -> None:
    panel = ConfigPanel(config=SessionConfig(voice="ash"))
    bar = PresetBar(panel)
    deep = ("[" * 5000 + "]" * 5000).encode()
    share = SHARE_PREFIX + base64.urlsafe_b64encode(zlib.compress(deep)).decode().rstrip("=")
    bar._on_browser(bar, {"type": "load", "text": share}, [])
    assert bar.error_field == "preset"
    assert bar.status.startswith("refused: preset: arrays/objects nested 5000 levels deep")
    schema: dict[str, object] = {"type": "string"}
    for _ in range(399):
        schema = {"type": "array", "items": schema}
    tool = {"type": "function", "name": "f", "parameters": {**schema, "type": "object"}}
    envelope = {"format": FORMAT, "version": 1, "name": "deep", "config": {"tools": [tool]}}
    bar._on_browser(bar, {"type": "load", "text": json.dumps(envelope)}, [])
    assert bar.error_field == "config.tools[0].parameters"
    assert "at most 124" in bar.status
    assert panel.config == SessionConfig(voice="ash")


def test_mcp_secrets_never_reach_the_browser_and_a_loaded_preset_keeps_them() -> None:
    from realtime_widgets.widgets.controls import leaves
    from tests.protocol.test_secrets import CONFIG, HEADER, MCP, TOKEN

    panel = ConfigPanel(config=CONFIG)
    bar = PresetBar(panel, name="mine")
    sent: list[dict[str, object]] = []
    bar.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    bar._on_browser(bar, {"type": "save"}, [])
    bar._on_browser(bar, {"type": "share"}, [])
    for target in ("openai-python", "openai-dotnet", "json"):
        panel.export_target.value = target
        states = [bar.get_state(), *(leaf.get_state() for leaf in leaves(panel))]
        synced = json.dumps([states, sent], default=str)
        assert TOKEN not in synced
        assert HEADER not in synced
    assert "MCP_DOCS_AUTHORIZATION" in panel.export_code.value
    # The shared string (no secrets) loads back with the token the user already has.
    bar.load_text(bar.share)
    assert panel.config == CONFIG
    assert "kept the authorization and headers of MCP server 'docs'" in bar.status
    # Editing the tools in the panel's JSON editor keeps them too.
    tools = panel.controls["tools"].widget
    tools.value = tools.value.replace('"never"', '"always"')
    assert panel.config.tools[0].require_approval == "always"  # type: ignore[union-attr]
    assert panel.config.tools[0].authorization == TOKEN  # type: ignore[union-attr]
    # A token typed into the editor is taken into the kernel and wiped from the synced text.
    typed = json.loads(tools.value)
    typed[0]["authorization"] = "typed-token-0d41"
    tools.value = json.dumps(typed)
    assert panel.config.tools[0].authorization == "typed-token-0d41"  # type: ignore[union-attr]
    assert "typed-token-0d41" not in tools.value
    # A preset pointing the same label at another server does not get the token.
    elsewhere = {k: v for k, v in MCP.items() if k not in ("authorization", "headers")}
    elsewhere["server_url"] = "https://evil.example/mcp"
    bar.load_text(to_share_string(SessionConfig(tools=[elsewhere])))
    assert panel.config.tools[0].authorization is None  # type: ignore[union-attr]
    assert "MCP server 'docs' has no authorization" in bar.status


def test_presets_applied_back_to_back_on_a_live_session_both_hold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The panel takes a loaded config on the session loop and ``load`` waits for it: a second
    preset builds on the first even while the loop is busy, and the share string follows."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    session = RealtimeSession(SessionConfig()).connect()
    try:
        panel = ConfigPanel(session)
        bar = PresetBar(panel)
        session.call_soon(time.sleep, 0.3)  # the loop is busy when the presets come
        bar.apply_preset("phone call (G.711)")
        bar.apply_preset("text only")
        assert panel.config.input_audio_format == PcmuFormat()
        assert panel.config.output_modalities == ["text"]
        assert load(bar.share).config == panel.config
    finally:
        session.close()


def test_a_loaded_share_strings_name_is_shown_and_kept() -> None:
    panel = ConfigPanel(config=SessionConfig())
    bar = PresetBar(panel)
    assert bar.name == "my preset"
    wanted = SessionConfig(instructions="Be a pirate.")
    bar._on_browser(bar, {"type": "load", "text": to_share_string(wanted, "pirate")}, [])
    assert bar.status == "loaded 'pirate'"
    assert bar.get_state()["name"] == "pirate"  # synced: the bar shows it
    assert load(bar.share).name == "pirate"
    sent: list[dict[str, object]] = []
    bar.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    bar._on_browser(bar, {"type": "save"}, [])
    assert sent[0]["filename"] == "pirate.json"
    # A preset without a name leaves the bar's name as it was.
    bar.load_text(to_share_string(SessionConfig()))
    assert (bar.name, bar.status) == ("pirate", "loaded the preset")


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("hello world", "not a share string: 'hello world'; a share string looks like rw1.eNq"),
        ("x" * 60, "not a share string: '" + "x" * 37 + "...'"),
        ("   ", "the share box is empty: paste a share string (rw1....) or preset JSON"),
    ],
)
def test_junk_in_the_share_box_is_named_as_such_not_as_an_empty_box(text: str, said: str) -> None:
    panel = ConfigPanel(config=SessionConfig(voice="ash"))
    bar = PresetBar(panel)
    bar._on_browser(bar, {"type": "load", "text": text}, [])
    assert bar.error_field == "share string"
    assert bar.status.startswith(f"refused: {said}")
    assert panel.config == SessionConfig(voice="ash")


def test_a_refusal_clears_on_the_next_success() -> None:
    bar = PresetBar(ConfigPanel(config=SessionConfig()))
    bar.send = lambda content, buffers=None: None  # type: ignore[method-assign]
    for action in ({"type": "save"}, {"type": "share"}, {"type": "apply", "name": "text only"}):
        bar._on_browser(bar, {"type": "load", "text": "junk"}, [])
        assert bar.error_field == "share string"
        bar._on_browser(bar, action, [])
        assert bar.error_field == "", action
        assert not bar.status.startswith("refused"), action


def test_a_refusal_clears_when_the_user_changes_a_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    session = RealtimeSession(SessionConfig()).connect()
    try:
        panel = ConfigPanel(session)
        bar = PresetBar(panel)
        bar._on_browser(bar, {"type": "apply", "name": "karaoke"}, [])
        assert bar.error_field == "preset"
        # A session.updated of the same settings (e.g. an earlier action's, late) keeps it ...
        bar.refresh()
        assert bar.error_field == "preset"
        # ... a setting the user changes does.
        panel.controls["speed"].widget.value = 1.2
        eventually(lambda: session.effective is not None and session.effective.speed == 1.2)
        eventually(lambda: bar.error_field == "" and bar.status == "")
    finally:
        bar.close()
        session.close()


def test_a_refusal_clears_on_any_change_in_the_panel_even_with_nothing_connected() -> None:
    """No session: no session.updated ever comes; a value the panel refuses: the settings stay
    as they were. Either way the person changed a setting, and the old refusal goes."""
    panel = ConfigPanel(config=SessionConfig())
    bar = PresetBar(panel)
    bar._on_browser(bar, {"type": "apply", "name": "karaoke"}, [])
    assert bar.error_field == "preset"
    panel.controls["speed"].widget.value = 1.2
    assert panel.config.speed == 1.2
    assert (bar.error_field, bar.status) == ("", "")
    bar._on_browser(bar, {"type": "load", "text": "junk"}, [])
    assert bar.error_field == "share string"
    panel.controls["max_output_tokens"].widget.value = "lots"  # refused by the panel
    assert panel.config == SessionConfig(speed=1.2)
    assert (bar.error_field, bar.status) == ("", "")
    bar._on_browser(bar, {"type": "apply", "name": "karaoke"}, [])
    bar.close()
    panel.controls["speed"].widget.value = 1.0  # a closed bar no longer listens
    assert bar.error_field == "preset"
