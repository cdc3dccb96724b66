"""ConversationState stays bounded and cheap whatever the peer sends (issue 18, rows 11-12).

Text is bounded in characters (``max_text_chars``): the oldest items' text goes first, an item
alone over the budget keeps its head, and both say so in the text. Placing an item costs the
same with 10 items or 10,000: counted here as id comparisons, not timed.
"""

from __future__ import annotations

import random
from typing import Any

from realtime_widgets.protocol.events import ServerEvent, parse_server_event
from realtime_widgets.protocol.order import ItemOrder
from realtime_widgets.protocol.state import TEXT_MARKER, ConversationState
from tests.counting import CountingId


def E(type_: str, **fields: Any) -> dict[str, Any]:
    return {"type": type_, "event_id": "e", **fields}


def delta(item_id: str, text: str) -> ServerEvent:
    return parse_server_event(
        E(
            "response.output_text.delta",
            response_id="r1",
            item_id=item_id,
            output_index=0,
            content_index=0,
            delta=text,
        )
    )


def added(item_id: str, previous: str | None) -> ServerEvent:
    item = {"id": item_id, "type": "message", "role": "user", "status": "completed"}
    return parse_server_event(
        E("conversation.item.added", previous_item_id=previous, item={**item, "content": []})
    )


# ---- row 11: bounded text --------------------------------------------------------------------


def test_an_item_alone_over_the_budget_keeps_its_head_and_says_what_was_cut() -> None:
    state = ConversationState(max_text_chars=1000)
    for _ in range(30):
        state.apply(delta("a", "x" * 100))
    item = state.items["a"]
    assert state.text_chars == 1000
    assert item.text_dropped == 2000
    assert item.text == "x" * 1000 + f" [2,000 characters not kept: {TEXT_MARKER}]"


def test_the_oldest_items_text_goes_first_and_the_newest_is_whole() -> None:
    state = ConversationState(max_text_chars=1000)
    for name in "abc":
        for _ in range(4):
            state.apply(delta(name, name * 100))
    assert state.text_chars == 800
    assert [state.items[x].text_dropped for x in "abc"] == [400, 0, 0]
    assert state.items["a"].text == f"[400 characters not kept: {TEXT_MARKER}]"
    assert state.items["c"].text == "c" * 400
    # A final text replaces the item's pieces (not kept twice) and is counted once.
    state.apply(
        parse_server_event(
            E(
                "response.output_text.done",
                response_id="r1",
                item_id="c",
                output_index=0,
                content_index=0,
                text="done",
            )
        )
    )
    assert state.items["c"].chunks == []
    assert state.text_chars == 404


def test_many_tiny_deltas_are_kept_in_few_pieces() -> None:
    state = ConversationState()
    for _ in range(20_000):
        state.apply(delta("a", "ab"))
    item = state.items["a"]
    assert item.text == "ab" * 20_000
    assert len(item.chunks) <= 20  # not 20,000 string objects
    assert state.text_chars == 40_000


# ---- row 12: placing an item does not scan the conversation ----------------------------------


def counted_added(item_id: str, previous: str | None) -> ServerEvent:
    event = added(item_id, previous)
    event.item.id = CountingId(item_id)  # type: ignore[attr-defined]
    if previous is not None:
        event.previous_item_id = CountingId(previous)  # type: ignore[attr-defined]
    return event


def comparisons_to_place(count: int) -> int:
    state = ConversationState()
    previous = None
    for i in range(count):
        state.apply(counted_added(f"item_{i}", previous))
        previous = f"item_{i}"
    CountingId.compared = 0
    state.apply(counted_added("mid", f"item_{count // 2}"))  # in the middle
    state.apply(counted_added("end", previous))  # at the end
    state.apply(counted_added("first", None))  # first
    state.apply(parse_server_event(E("conversation.item.deleted", item_id="mid")))
    compared = CountingId.compared
    ids = [str(i.id) for i in state.ordered_items()]
    assert ids[0] == "first"
    assert ids[-1] == "end"
    assert "mid" not in ids
    assert len(ids) == count + 2
    return compared


def test_placing_an_item_compares_a_bounded_number_of_ids() -> None:
    small, large = comparisons_to_place(100), comparisons_to_place(10_000)
    assert large <= 20
    assert large == small  # the same work at 100 items and at 10,000


def test_items_after_a_reconnect_go_after_the_kept_ones_even_when_the_anchor_is_deleted() -> None:
    state = ConversationState()
    for event in (added("a", None), added("b", "a")):
        state.apply(event)
    state.new_conversation()
    state.apply(parse_server_event(E("conversation.item.deleted", item_id="b")))
    state.apply(added("c", None))  # "first" in the new conversation
    state.apply(added("d", "c"))
    state.apply(added("e", None))  # first again: before c, after the kept a
    assert [i.id for i in state.ordered_items()] == ["a", "e", "c", "d"]


def test_item_order_matches_a_list_under_random_edits() -> None:
    rng = random.Random(18)
    order, model = ItemOrder(), []
    for n in range(3000):
        op = rng.random()
        if op < 0.3 and model:
            victim = rng.choice(model)
            order.remove(victim)
            model.remove(victim)
        elif op < 0.6 and model:
            anchor = rng.choice(model)
            order.insert_after(anchor, f"x{n}")
            model.insert(model.index(anchor) + 1, f"x{n}")
        elif op < 0.7:
            order.insert_after(None, f"x{n}")
            model.insert(0, f"x{n}")
        else:
            order.append(f"x{n}")
            model.append(f"x{n}")
        assert len(order) == len(model)
        assert order.last == (model[-1] if model else None)
    assert list(order) == model
    assert all(x in order for x in model)
    assert "nope" not in order
    assert [order.before(x) for x in model] == [None, *model[:-1]]
