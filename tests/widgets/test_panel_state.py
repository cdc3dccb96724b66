"""The settings panel as a person reads it (issue 23): the playground's defaults (transcription
on, voice marin), each control's effective state (applied / pending / refused) with a summary
line, the voice's warning before it locks, and the function-tool form kept in sync with JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from realtime_widgets import SessionConfig
from realtime_widgets.client import Endpoint, RealtimeSession
from realtime_widgets.protocol.parts import FunctionTool
from realtime_widgets.server.app import LocalServer
from realtime_widgets.widgets.browser_messages import read_on_session_loop
from realtime_widgets.widgets.controls import ToolsControl
from realtime_widgets.widgets.panel import (
    LOCK_HINTS,
    PLAYGROUND_TRANSCRIBER,
    ConfigPanel,
    playground_config,
)
from realtime_widgets.widgets.playground import Playground
from tests.client.conftest import ThreadPeer, rejecting_peer
from tests.waiting import eventually

VOICE_HINT = LOCK_HINTS["until_assistant_audio"]


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    srv = LocalServer(pace=0, speech=False).start()
    yield srv
    srv.stop()


@pytest.fixture
def applied(server: LocalServer) -> Iterator[tuple[RealtimeSession, ConfigPanel]]:
    """A session on the local server and its panel, once every control shows "applied"."""
    session = RealtimeSession(
        SessionConfig(output_modalities=["text"]), endpoint=Endpoint.local(server.url, "m")
    )
    session.connect()
    try:
        panel = ConfigPanel(session, debounce_s=0.05)
        eventually(lambda: panel.summary_text == "✓ all applied")
        yield session, panel
    finally:
        session.close()


def vad_applied(session: RealtimeSession, panel: ConfigPanel, threshold: float, ms: int) -> bool:
    """The server applied this threshold and silence duration, and the panel says so."""
    effective = session.effective
    return (
        effective is not None
        and effective.turn_detection.threshold == threshold  # type: ignore[union-attr]
        and effective.turn_detection.silence_duration_ms == ms  # type: ignore[union-attr]
        and panel.summary_text == "✓ all applied"
    )


def inner(panel: ConfigPanel, path: str) -> Any:
    control = panel._find(path)
    assert control is not None
    assert control.path == path
    return control


# ---- the playground's defaults -----------------------------------------------------------------


def test_the_playground_transcribes_and_speaks_with_marin_code_keeps_openais_defaults() -> None:
    config = playground_config()
    assert config.transcription is not None
    assert config.transcription.model == PLAYGROUND_TRANSCRIBER == "gpt-4o-mini-transcribe"
    assert config.voice == "marin"
    assert SessionConfig().transcription is None  # OpenAI's default: off
    assert SessionConfig().voice == "alloy"
    assert Playground(connect=False).config == config
    mine = SessionConfig(voice="cedar")
    assert Playground(mine, connect=False).config is mine


def test_the_transcription_section_says_it_is_on() -> None:
    panel = ConfigPanel(config=playground_config())
    titles = [panel.accordion.get_title(i) for i in range(len(panel.accordion.children))]
    assert titles[2] == "Transcription: on (gpt-4o-mini-transcribe)"
    assert panel.controls["transcription"].toggle.value is True  # type: ignore[attr-defined]
    assert ConfigPanel(config=SessionConfig()).accordion.get_title(2) == "Transcription"
    panel.controls["transcription"].toggle.value = False  # type: ignore[attr-defined]
    assert panel.config.transcription is None
    assert panel.accordion.get_title(2) == "Transcription"


def test_the_voice_warns_before_it_locks_then_says_why() -> None:
    panel = ConfigPanel(config=playground_config())
    assert VOICE_HINT in panel.controls["voice"].status.value
    assert "spoken" in VOICE_HINT
    assert not any(VOICE_HINT in c.status.value for n, c in panel.controls.items() if n != "voice")
    server = LocalServer(pace=0).start()  # with speech: the voice locks after assistant audio
    session = RealtimeSession(playground_config(), endpoint=Endpoint.local(server.url, "m"))
    try:
        session.connect()
        live = ConfigPanel(session)
        assert VOICE_HINT in live.controls["voice"].status.value
        session.send_text("hello")
        eventually(lambda: live.controls["voice"].reason is not None)
        status = live.controls["voice"].status.value
        assert "voice cannot change once the assistant has spoken" in status
        assert VOICE_HINT not in status
    finally:
        session.close()
        server.stop()


# ---- the effective state of each control -------------------------------------------------------


def test_without_a_session_nothing_is_sent_and_the_panel_says_so() -> None:
    panel = ConfigPanel(config=SessionConfig())
    assert panel.state_of("speed") == ("unsent", "not connected: sent when the session connects")
    assert panel.summary_text == "· not connected: sent when the session connects"
    panel.controls["max_output_tokens"].widget.value = "9000"  # refused before sending
    state, detail = panel.state_of("max_output_tokens")  # type: ignore[misc]
    assert state == "refused"
    assert "not sent" in detail
    assert "1 to 4096" in detail
    assert panel.summary_text.startswith("✕ 1 refused: max_output_tokens: not sent")
    assert panel.controls["max_output_tokens"].mark.value.count("data-state='refused'") == 1
    panel.controls["max_output_tokens"].widget.value = "300"
    assert panel.state_of("max_output_tokens")[0] == "unsent"  # type: ignore[index]


def test_threshold_and_silence_go_pending_then_applied(
    applied: tuple[RealtimeSession, ConfigPanel],
) -> None:
    session, panel = applied
    assert panel.state_of("speed") == ("applied", "the server has 1.0")
    panel.state_log.clear()
    inner(panel, "turn_detection.threshold").widget.value = 0.7
    inner(panel, "turn_detection.silence_duration_ms").widget.value = 800
    eventually(lambda: vad_applied(session, panel, 0.7, 800))
    pendings = [d for p, s, d in panel.state_log if s == "pending"]
    assert pendings, list(panel.state_log)
    for path, value in (
        ("turn_detection.threshold", "0.7"),
        ("turn_detection.silence_duration_ms", "800"),
    ):
        seen = [(state, detail) for p, state, detail in panel.state_log if p == path]
        states = [state for state, _ in seen]
        assert states[0] == "pending", seen
        assert "sent; waiting for the server's session.updated" in [d for _, d in seen]
        assert seen[-1] == ("applied", f"the server has {value}")
        mark = inner(panel, path).mark.value
        assert "data-state='applied'" in mark
        assert f"the server has {value}" in mark
    # the section's own mark followed its fields
    assert panel.state_of("turn_detection")[0] == "applied"  # type: ignore[index]


def test_a_redraw_between_a_change_and_its_read_loses_nothing(
    applied: tuple[RealtimeSession, ConfigPanel],
) -> None:
    """The session loop redraws the controls (a change shown, a session.updated) while a
    person changes them on the kernel's thread: when that redraw lands between a person's
    change and the panel's read of it, the change is still the person's, whole, and so is
    every change before it (CI's parallel run lost a silence duration to this: the panel
    read the section back after the loop had redrawn it with the older value).

    An observer placed before the panel's makes the loop redraw the older config exactly
    there (traitlets calls a trait's observers in order)."""
    session, panel = applied
    before = panel.config
    threshold = inner(panel, "turn_detection.threshold").widget
    silence = inner(panel, "turn_detection.silence_duration_ms").widget
    raced: list[Any] = []

    def redraw_with_the_older_config(change: dict[str, Any]) -> None:
        if not raced:  # once; a redraw's own changes pass through
            raced.append(change["new"])
            read_on_session_loop(session, lambda: panel._show(before))
            assert silence.value == 500  # the loop's redraw, where the panel reads

    silence._trait_notifiers["value"]["change"].insert(0, redraw_with_the_older_config)
    threshold.value = 0.7
    silence.value = 800
    assert raced == [800]
    eventually(lambda: vad_applied(session, panel, 0.7, 800), timeout=20)
    assert (threshold.value, silence.value) == (0.7, 800)
    assert panel.config.turn_detection.silence_duration_ms == 800  # type: ignore[union-attr]


def test_a_refused_update_marks_the_field_with_the_servers_reason() -> None:
    with ThreadPeer(
        rejecting_peer("session.audio.input.turn_detection.prefix_padding_ms", "Too much padding.")
    ) as peer:
        session = RealtimeSession(endpoint=Endpoint.local(peer.url, "m"), reconnect=False)
        session.connect()
        try:
            panel = ConfigPanel(session, debounce_s=0.05)
            inner(panel, "turn_detection.prefix_padding_ms").widget.value = 900
            eventually(lambda: panel.summary_text.startswith("✕"))
            _, detail = panel.state_of("turn_detection.prefix_padding_ms")  # type: ignore[misc]
            assert detail.startswith("Too much padding.")
            assert panel.summary_text.startswith(
                "✕ 1 refused: turn_detection.prefix_padding_ms: Too much padding."
            )
            assert panel.state_of("speed")[0] == "applied"  # type: ignore[index]
        finally:
            session.close()


def _clamping_peer() -> Any:
    """A peer that applies every session.update but keeps the VAD threshold at 0.5 (as a
    server may for a model): the server's value differs from what was sent."""

    async def handler(ws: Any) -> None:
        created = {"type": "realtime", "id": "sess_peer", "expires_at": 2000000000}
        await ws.send(json.dumps({"type": "session.created", "event_id": "e0", "session": created}))
        async for msg in ws:
            event = json.loads(msg)
            if event.get("type") != "session.update":
                continue
            session = {**event["session"], "id": "sess_peer", "expires_at": 2000000000}
            vad = session.get("audio", {}).get("input", {}).get("turn_detection")
            if isinstance(vad, dict) and "threshold" in vad:
                vad["threshold"] = 0.5
            await ws.send(
                json.dumps({"type": "session.updated", "event_id": "e1", "session": session})
            )

    return handler


def test_a_value_the_server_changed_is_refused_showing_the_servers_value() -> None:
    with ThreadPeer(_clamping_peer()) as peer:
        session = RealtimeSession(endpoint=Endpoint.local(peer.url, "m"), reconnect=False)
        session.connect()
        try:
            panel = ConfigPanel(session, debounce_s=0.05)
            inner(panel, "turn_detection.threshold").widget.value = 0.7
            eventually(lambda: panel.summary_text.startswith("✕"))
            assert panel.state_of("turn_detection.threshold") == (
                "refused",
                "requested 0.7; the server has 0.5",
            )
            assert panel.state_of("turn_detection.silence_duration_ms")[0] == "applied"  # type: ignore[index]
            assert "1 refused" in panel.summary_text
        finally:
            session.close()


# ---- the function-tool form --------------------------------------------------------------------


def _fill_weather(tools: ToolsControl) -> None:
    tools.add_tool.click()
    form = tools._forms[0]
    form.name.value = "get_weather"
    form.description.value = "The weather in a city now"
    form.add_param.click()
    city = form.rows[0]
    city.name.value = "city"
    city.description.value = "The city's name"
    city.required.value = True
    form.add_param.click()
    unit = form.rows[1]
    unit.name.value = "unit"
    unit.enum.value = "celsius, fahrenheit"
    form.add_param.click()
    days = form.rows[2]
    days.name.value = "days"
    days.kind.value = "integer"
    days.enum.value = "1, 2"  # hidden for a non-string: not sent


WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city now",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "The city's name"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer"},
        },
        "required": ["city"],
    },
}


def test_a_function_tool_made_in_the_form_is_the_configs_and_its_json() -> None:
    panel = ConfigPanel(config=SessionConfig())
    tools = panel.controls["tools"]
    assert isinstance(tools, ToolsControl)
    _fill_weather(tools)
    assert panel.config.tools == [FunctionTool.model_validate(WEATHER)]
    assert json.loads(tools.json.value) == [WEATHER]
    assert tools._forms[0].rows[2].enum.layout.display == "none"
    # the JSON view edits the form
    edited = json.loads(tools.json.value)
    edited[0]["parameters"]["properties"]["city"]["description"] = "Where"
    edited[0]["parameters"]["properties"]["lat"] = {"type": "number", "minimum": -90}
    tools.json.value = json.dumps(edited)
    rows = tools._forms[0].rows
    assert [r.name.value for r in rows] == ["city", "unit", "days", "lat"]
    assert rows[0].description.value == "Where"
    assert rows[3].kind.value == "number"
    rows[3].description.value = "Latitude"  # a form edit keeps the keys the form does not show
    assert panel.config.tools[0].parameters["properties"]["lat"] == {  # type: ignore[union-attr]
        "type": "number",
        "description": "Latitude",
        "minimum": -90,
    }
    # removing a parameter and a tool
    rows[1].remove.click()
    assert list(panel.config.tools[0].parameters["properties"]) == ["city", "days", "lat"]  # type: ignore[union-attr]
    tools._forms[0].remove.click()
    assert panel.config.tools == []
    assert json.loads(tools.json.value) == []


def test_broken_json_keeps_what_was_typed_and_names_the_field() -> None:
    panel = ConfigPanel(config=SessionConfig(tools=[WEATHER]))
    tools = panel.controls["tools"]
    assert isinstance(tools, ToolsControl)
    assert [f.name.value for f in tools._forms] == ["get_weather"]
    typed = tools.json.value.replace('"city"', '"city', 1)  # a quote lost
    tools.json.value = typed
    assert tools.json.value == typed  # nothing typed is lost
    assert "tools: not valid JSON" in tools.status.value
    assert "does not parse" in tools.form_note.value
    assert tools._forms[0].name.disabled  # the form waits for the JSON
    assert tools.show_json.value  # and the JSON, with the error, is shown
    assert panel.config.tools == [FunctionTool.model_validate(WEATHER)]
    tools.json.value = typed.replace('"city', '"city"', 1)
    assert not tools._forms[0].name.disabled
    assert tools.form_note.value == ""
    # a name the API refuses: the error names the field and the form keeps it
    tools._forms[0].name.value = "get weather"
    assert "tools" in tools.status.value
    assert "name" in tools.status.value
    assert tools._forms[0].name.value == "get weather"
    assert panel.config.tools[0].name == "get_weather"  # type: ignore[union-attr]


def test_showing_the_same_tools_again_keeps_the_form_as_it_is() -> None:
    """A session.updated redraws the panel: a form that already shows the tools is left alone
    (no widgets made or lost; a person may be typing in it)."""
    from ipywidgets.widgets.widget import _instances  # every open widget

    panel = ConfigPanel(config=SessionConfig(tools=[WEATHER]))
    tools = panel.controls["tools"]
    assert isinstance(tools, ToolsControl)
    form = tools._forms[0]
    count = len(_instances)
    panel._show(SessionConfig(tools=[WEATHER]))
    panel._show(SessionConfig(tools=[WEATHER]))
    assert tools._forms[0] is form
    assert len(_instances) == count
    changed = {**WEATHER, "description": "Changed elsewhere"}
    panel._show(SessionConfig(tools=[changed]))
    assert tools._forms[0].description.value == "Changed elsewhere"


def test_the_tool_forms_edits_run_on_the_session_loop(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    session = RealtimeSession(
        SessionConfig(output_modalities=["text"]), endpoint=Endpoint.local(server.url, "m")
    )
    session.connect()
    try:
        panel = ConfigPanel(session, debounce_s=0.05)
        tools = panel.controls["tools"]
        assert isinstance(tools, ToolsControl)
        threads: list[threading.Thread] = []
        original = tools._form_edited

        def edited() -> None:
            threads.append(threading.current_thread())
            original()

        monkeypatch.setattr(tools, "_form_edited", edited)
        tools.add_tool.click()  # the kernel's thread, as a browser click arrives
        eventually(
            lambda: (
                session.effective is not None
                and [t.name for t in session.effective.tools] == ["new_function"]
            )  # type: ignore[union-attr]
        )
        assert threads
        assert all(t is session.loop_thread for t in threads)
        eventually(lambda: panel.summary_text == "✓ all applied")
        assert panel.state_of("tools")[0] == "applied"  # type: ignore[index]
    finally:
        session.close()


def test_controls_outside_the_panel_keep_their_width() -> None:
    """The transcription view and the VAD lab build the same controls and show no state: the
    mark takes no room there."""
    from realtime_widgets.protocol.transcription_config import TranscriptionConfig
    from realtime_widgets.widgets.controls import build_controls

    for control in build_controls(TranscriptionConfig):
        assert control.mark.layout.display == "none"
    panel = ConfigPanel(config=SessionConfig())
    assert panel.controls["speed"].mark.layout.display is None  # shown: "unsent"
    assert panel.controls["temperature"].mark.layout.display == "none"  # GA has none
