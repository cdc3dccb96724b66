"""The engine dispatches client events through an explicit table keyed by event class."""

from __future__ import annotations

import json

from realtime_widgets.protocol import events as ev
from realtime_widgets.server.engine import SessionEngine
from tests.server.conftest import Driver


def test_every_client_event_class_has_exactly_one_handler() -> None:
    engine = SessionEngine()
    try:
        assert set(engine.handlers) == set(ev.CLIENT_EVENT_CLASSES)
        assert len(ev.CLIENT_EVENT_CLASSES) == 11
        # Each handler is a bound method of the part that owns the state it changes.
        owners = {cls.__name__: h.__self__ for cls, h in engine.handlers.items()}  # type: ignore[attr-defined]
        assert owners["SessionUpdate"] is engine
        assert owners["InputAudioBufferAppend"] is engine.input
        assert owners["ConversationItemTruncate"] is engine.conversation
        assert owners["ResponseCancel"] is engine.responses
    finally:
        engine.close()


def test_the_table_decides_which_handler_runs(driver: Driver) -> None:
    seen: list[tuple[str, float]] = []

    def spy(e: ev.ClientEvent, now: float) -> list[dict[str, object]]:
        seen.append((e.type, now))
        return [driver.engine.out.event(ev.InputAudioBufferCleared)]

    driver.engine.handlers[ev.InputAudioBufferClear] = spy
    out = driver.send({"type": "input_audio_buffer.clear"}, advance=0.25)
    assert seen == [("input_audio_buffer.clear", 0.25)]
    assert [e["type"] for e in out] == ["input_audio_buffer.cleared"]


def test_an_unknown_type_gets_openais_error_and_the_session_stays(driver: Driver) -> None:
    out = driver.send({"type": "conversation.item.explode", "event_id": "evt_x"})
    assert len(out) == 1
    error = out[0]["error"]
    assert error["code"] == "invalid_value"
    assert error["param"] == "type"
    assert error["event_id"] == "evt_x"
    assert error["message"] == (
        "Invalid value: 'conversation.item.explode'. Supported values are: 'session.update', "
        "'input_audio_buffer.append', 'input_audio_buffer.commit', 'input_audio_buffer.clear', "
        "'conversation.item.create', 'conversation.item.truncate', 'conversation.item.delete', "
        "'conversation.item.retrieve', 'response.create', 'response.cancel', and "
        "'output_audio_buffer.clear'."
    )
    assert driver.engine.closed is None
    assert driver.engine.stats["errors"] == 1
    # The session still answers.
    out = driver.send(json.dumps({"type": "input_audio_buffer.clear"}))
    assert [e["type"] for e in out] == ["input_audio_buffer.cleared"]
