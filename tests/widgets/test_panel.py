"""ConfigPanel: generated from SessionConfig, live against a session on the local server."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import ipywidgets as w
import pytest
from hypothesis import HealthCheck, given, settings

from realtime_widgets import SessionConfig
from realtime_widgets.client import Endpoint, RealtimeSession
from realtime_widgets.protocol import locked_fields
from realtime_widgets.server.app import LocalServer
from realtime_widgets.widgets.controls import SectionControl
from realtime_widgets.widgets.panel import ConfigPanel
from tests.client.conftest import ThreadPeer, rejecting_peer
from tests.protocol.strategies import configs
from tests.waiting import eventually, quiet_for


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    srv = LocalServer(pace=0, speech=False).start()
    yield srv
    srv.stop()


def inner(panel: ConfigPanel, path: str):  # type: ignore[no-untyped-def]
    control = panel._find(path)
    assert control is not None
    assert control.path == path
    return control


def test_every_parameter_has_a_control_in_its_group() -> None:
    panel = ConfigPanel()
    assert set(panel.controls) == set(SessionConfig.model_fields)
    titles = [panel.accordion.get_title(i) for i in range(len(panel.accordion.children))]
    assert titles == [
        "Model & voice",
        "Audio",
        "Transcription",
        "Turn detection",
        "Tools",
        "Limits & tracing",
        "Prompt",
    ]
    speed = panel.controls["speed"].widget
    assert (speed.min, speed.max, speed.step) == (0.25, 1.5, 0.05)  # the field's real range
    threshold = inner(panel, "turn_detection.threshold").widget
    assert (threshold.min, threshold.max) == (0.0, 1.0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs)
def test_controls_show_and_read_back_any_config(config: SessionConfig) -> None:
    panel = ConfigPanel(config=config)
    read = {path: control.value for path, control in panel.controls.items()}
    assert SessionConfig(**read) == config


def test_invalid_values_never_leave_the_kernel() -> None:
    panel = ConfigPanel(config=SessionConfig())
    panel.controls["max_output_tokens"].widget.value = "9000"
    assert "must be an integer from 1 to 4096" in panel.controls["max_output_tokens"].status.value
    assert panel.config.max_output_tokens == "inf"
    panel.controls["tools"].widget.value = "[{broken"
    assert "not valid JSON" in panel.controls["tools"].status.value
    assert panel.config.tools == []
    panel.controls["tools"].widget.value = "[" * 5000 + "]" * 5000  # pasted, or hostile
    assert "nested too deep" in panel.controls["tools"].status.value
    assert panel.config.tools == []


def test_inapplicable_controls_are_disabled_with_the_reason() -> None:
    panel = ConfigPanel(config=SessionConfig())
    assert (
        panel.controls["temperature"].reason == "beta dialect only: the GA API has no temperature"
    )
    inner(panel, "turn_detection.type").widget.value = "semantic_vad"
    assert inner(panel, "turn_detection.threshold").reason == "only for server_vad"
    assert inner(panel, "turn_detection.eagerness").reason is None
    assert panel.config.turn_detection.type == "semantic_vad"  # type: ignore[union-attr]
    assert panel.config.turn_detection.eagerness == "auto"  # type: ignore[union-attr]


def test_slider_moves_send_one_debounced_minimal_update(server: LocalServer) -> None:
    session = RealtimeSession(
        SessionConfig(output_modalities=["text"]), endpoint=Endpoint.local(server.url, "m")
    )
    session.connect()
    try:
        # (0.5 s: each change redraws the controls and the export on the loop, which the other
        # test worker's load can hold up past a shorter window)
        panel = ConfigPanel(session, debounce_s=0.5)
        slider = inner(panel, "turn_detection.silence_duration_ms").widget
        before = [h for h in session.history if h.type == "session.update"]
        for value in (600, 650, 700):  # a drag: three values within the debounce window
            slider.value = value
        eventually(
            lambda: (
                session.effective is not None
                and session.effective.turn_detection.silence_duration_ms == 700
            )
        )  # type: ignore[union-attr]
        quiet_for(1000)  # two debounce windows: no second update may follow
        updates = [h for h in session.history if h.type == "session.update"][len(before) :]
        assert len(updates) == 1
        assert updates[0].data["session"] == {
            "type": "realtime",
            "audio": {
                "input": {
                    "turn_detection": {
                        "type": "server_vad",
                        "threshold": 0.5,
                        "prefix_padding_ms": 300,
                        "silence_duration_ms": 700,
                        "create_response": True,
                        "interrupt_response": True,
                    }
                }
            },
        }
        assert slider.value == 700  # the effective value is what the panel shows
        assert panel.controls["model"].reason == (
            "model cannot change during a session: connect a new session"
        )
        panel.controls["tracing"].toggle.value = True
        panel.controls["tracing"].inner.widget.value = "auto"
        eventually(lambda: session.effective is not None and session.effective.tracing == "auto")
        eventually(
            lambda: panel.controls["tracing"].reason == "tracing cannot be modified once enabled"
        )
    finally:
        session.close()


def test_a_change_made_while_the_loop_redraws_the_panel_still_arrives(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loop redraws a section from one change of a drag while the person already made the
    next: the next change still arrives with the value the person set (it was read, under load
    in CI, after the redraw had put the previous value back)."""
    session = RealtimeSession(
        SessionConfig(output_modalities=["text"]), endpoint=Endpoint.local(server.url, "m")
    )
    session.connect()
    try:
        panel = ConfigPanel(session, debounce_s=0.05)
        section = panel.controls["turn_detection"]
        slider = inner(panel, "turn_detection.silence_duration_ms").widget
        redrawing, go_on = threading.Event(), threading.Event()
        original = section.set

        def slow_set(value: object) -> None:
            if threading.current_thread() is session.loop_thread and not redrawing.is_set():
                redrawing.set()
                go_on.wait(10)
            original(value)

        monkeypatch.setattr(section, "set", slow_set)
        slider.value = 600  # the loop takes it and redraws the section from it...
        assert redrawing.wait(10)
        slider.value = 700  # ...while the person moves on
        go_on.set()
        eventually(
            lambda: (
                session.effective is not None
                and session.effective.turn_detection is not None
                and session.effective.turn_detection.silence_duration_ms == 700  # type: ignore[union-attr]
            )
        )
        assert panel.config.turn_detection.silence_duration_ms == 700  # type: ignore[union-attr]
        eventually(lambda: slider.value == 700)
    finally:
        session.close()


def test_a_rejected_update_is_pinned_to_the_field_the_server_names() -> None:
    with ThreadPeer(
        rejecting_peer("session.audio.input.turn_detection.prefix_padding_ms", "Too much padding.")
    ) as peer:
        session = RealtimeSession(endpoint=Endpoint.local(peer.url, "m"), reconnect=False)
        session.connect()
        try:
            panel = ConfigPanel(session, debounce_s=0.05)
            inner(panel, "turn_detection.prefix_padding_ms").widget.value = 900
            eventually(
                lambda: (
                    "Too much padding."
                    in inner(panel, "turn_detection.prefix_padding_ms").status.value
                )
            )
            assert isinstance(panel.controls["turn_detection"], SectionControl)
        finally:
            session.close()


def test_the_panel_shows_the_rules_reasons() -> None:
    server = LocalServer(pace=0).start()  # with speech: the voice locks after assistant audio
    session = RealtimeSession(
        SessionConfig(output_modalities=["audio"]), endpoint=Endpoint.local(server.url, "m")
    )
    panel = ConfigPanel(session)
    try:
        # Not connected: only the field GA lacks is locked; the model and voice are free.
        assert panel.controls["temperature"].reason == (
            "beta dialect only: the GA API has no temperature"
        )
        assert panel.controls["model"].reason is None
        assert panel.controls["voice"].reason is None
        session.connect()
        session.send_text("hello")
        eventually(lambda: panel.controls["voice"].reason is not None)
        assert session.state.assistant_has_spoken
        assert session.effective is not None
        expected = locked_fields(session.effective, live=True, assistant_has_spoken=True)
        for name in ("voice", "model", "temperature"):
            assert panel.controls[name].reason == expected[name]
        assert expected["voice"] == "voice cannot change once the assistant has spoken"
        assert panel.controls["tracing"].reason is None  # tracing never set: still free
    finally:
        session.close()
        server.stop()


def test_the_panel_syncs_state_changes_after_creation() -> None:
    """ipywidgets sends every state change through ``Widget._send``: the panel must not shadow it."""
    panel = ConfigPanel()
    panel.layout = w.Layout(flex="0 0 auto")
    panel.add_class("rw-settings-panel")
    assert "rw-settings-panel" in panel._dom_classes


def test_the_export_box_shows_code_unwrapped_in_monospace() -> None:
    """Issue 23: the box soft-wrapped code at ~45 columns, breaking the dict mid-line. Its
    style rule (shown with the panel) turns soft wrap off: a long line scrolls sideways."""
    panel = ConfigPanel()
    export = panel.children[-1]
    assert panel.export_code in export.children
    assert panel.export_style in export.children
    assert panel.export_style.layout.display == "none"  # a style, nothing to see
    rule = panel.export_style.value
    assert rule.startswith("<style>.rw-export-code textarea{")
    assert rule.endswith("}</style>")
    declarations = dict(d.split(":", 1) for d in rule[rule.index("{") + 1 : -9].split(";"))
    assert declarations["white-space"] == "pre"
    assert declarations["overflow-x"] == "auto"
    assert declarations["overflow-wrap"] == "normal"
    assert "monospace" in declarations["font-family"]
    assert "rw-export-code" in panel.export_code._dom_classes
