"""The local server's conversation: an insert costs the same at 10 items or 10,000 (issue 18,
row 12). Counted as id comparisons and token measurements, not timed; the token total it keeps
matches a full sum after real replies, truncation and deletes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from realtime_widgets.server.conversation import StoredItem
from realtime_widgets.server.engine import EngineOptions, SessionEngine
from tests.counting import CountingId

from .conftest import Driver


def text_item(item_id: str) -> StoredItem:
    content = [{"type": "input_text", "text": "hi"}]
    return StoredItem({"id": item_id, "type": "message", "role": "user", "content": content})


@pytest.fixture
def engine() -> Iterator[SessionEngine]:
    engine = SessionEngine(options=EngineOptions(pace=0, wall_clock=lambda: 0.0))
    engine.start(0.0)
    yield engine
    engine.close()


def work_to_insert(engine: SessionEngine, count: int, monkeypatch: pytest.MonkeyPatch) -> int:
    conversation = engine.conversation
    for i in range(count):
        conversation.insert(text_item(f"item_{count}_{i}"), None)
    measured = 0
    tokens = StoredItem.tokens

    def counting(self: StoredItem) -> tuple[int, int]:
        nonlocal measured
        measured += 1
        return tokens(self)

    monkeypatch.setattr(StoredItem, "tokens", counting)
    CountingId.compared = 0
    conversation.insert(text_item("mid"), CountingId(f"item_{count}_{count // 2}"))
    conversation.insert(text_item("first"), CountingId("root"))
    conversation.insert(text_item("end"), None)
    work = CountingId.compared + measured
    monkeypatch.undo()
    order = conversation.order
    assert order[0] == "first"
    assert order[-1] == "end"
    assert order[order.index(f"item_{count}_{count // 2}") + 1] == "mid"
    return work


def test_an_insert_does_the_same_work_at_any_count(monkeypatch: pytest.MonkeyPatch) -> None:
    small = SessionEngine(options=EngineOptions(pace=0, wall_clock=lambda: 0.0))
    large = SessionEngine(options=EngineOptions(pace=0, wall_clock=lambda: 0.0))
    try:
        a = work_to_insert(small, 10, monkeypatch)
        b = work_to_insert(large, 10_000, monkeypatch)
    finally:
        small.close()
        large.close()
    assert b <= 20
    assert a == b


def test_the_running_token_total_matches_a_full_sum(driver: Driver) -> None:
    conversation = driver.engine.conversation

    def full_sum() -> int:
        return sum(sum(item.tokens()) for item in conversation.items.values())

    driver.send(
        {
            "type": "session.update",
            "session": {"type": "realtime", "output_modalities": ["audio"]},
        }
    )
    for text in ("one", "two", "three"):
        driver.send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": text * 50}],
                },
            }
        )
        driver.send({"type": "response.create"})
        driver.advance(0.5)  # part of the reply's audio sent: the stored audio grew
        assert conversation.held_tokens() == full_sum()
        driver.advance(30.0)
        assert conversation.held_tokens() == full_sum()
    assistant = [i for i in conversation.ordered() if i.data.get("role") == "assistant"]
    assert assistant
    assert all(i.audio is not None for i in assistant)
    driver.send(
        {
            "type": "conversation.item.truncate",
            "item_id": assistant[-1].id,
            "content_index": 0,
            "audio_end_ms": 100,
        }
    )
    driver.send({"type": "conversation.item.delete", "item_id": assistant[0].id})
    assert conversation.held_tokens() == full_sum()
    assert conversation.held_tokens() > 0
