"""The controls' plain_value is the protocol's one model-to-data helper, with its output."""

from __future__ import annotations

from realtime_widgets import SessionConfig
from realtime_widgets.protocol.configbase import plain
from realtime_widgets.widgets import controls


def test_the_controls_use_the_protocols_helper() -> None:
    assert controls.plain_value is plain
    assert controls.plain_value(SessionConfig().turn_detection) == {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 500,
        "create_response": True,
        "interrupt_response": True,
    }
    tools = SessionConfig(tools=[{"type": "function", "name": "f"}]).tools
    assert controls.plain_value(tools) == [
        {"type": "function", "name": "f", "parameters": {"type": "object", "properties": {}}}
    ]
