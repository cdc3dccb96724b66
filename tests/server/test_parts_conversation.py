"""The conversation part (:class:`~realtime_widgets.server.conversation.Conversation`) built
alone: a recording emitter and a config it reads. What the engine hands over (a committed turn,
a reply's item as it streams) is called directly, and the events and outcomes checked by value."""

from __future__ import annotations

import copy

import numpy as np

from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.server.conversation import Conversation, ItemRejected
from realtime_widgets.server.limits import ServerLimits
from realtime_widgets.server.outcomes import ReplyExtended, ReplyScheduled, UserAudioStored

from .parts import RecordingEmitter, kinds, tone


class Rig:
    def __init__(self, config: SessionConfig | None = None, context_tokens: int = 28224) -> None:
        self.config = config or SessionConfig()
        self.out = RecordingEmitter()
        limits = ServerLimits(context_tokens=context_tokens)
        self.part = Conversation(self.out, lambda: self.config, limits)


def _text_item(text: str, item_id: str) -> ev.ConversationItemCreate:
    return ev.ConversationItemCreate.model_validate(
        {
            "type": "conversation.item.create",
            "item": {
                "id": item_id,
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": text}],
            },
        }
    )


def _reply(item_id: str, previous: str | None, *, in_conversation: bool = True) -> ReplyScheduled:
    item = {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "status": "in_progress",
        "role": "assistant",
        "content": [{"type": "output_audio", "transcript": "one two three"}],
    }
    words = ((0.0, "one"), (300.0, "two"), (600.0, "three"))
    return ReplyScheduled("resp_1", item, words, "audio/pcm", True, in_conversation, previous)


def test_a_committed_turn_becomes_the_newest_item_and_asks_for_its_transcript() -> None:
    rig = Rig()
    audio = tone(500)
    first = rig.part.commit_user_audio("item_a", audio, None)
    assert kinds(first) == [
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
        "UserAudioStored",
    ]
    assert first[0] == {
        "type": "input_audio_buffer.committed",
        "event_id": "event_part000100001",
        "previous_item_id": None,
        "item_id": "item_a",
    }
    assert first[1]["item"]["content"] == [{"type": "input_audio", "transcript": None}]
    assert first[3] == UserAudioStored("item_a", audio)
    second = rig.part.commit_user_audio("item_b", tone(100), None)
    assert second[0]["previous_item_id"] == "item_a"
    assert rig.part.order == ["item_a", "item_b"]
    assert np.array_equal(rig.part.items["item_a"].audio, audio)


def test_a_transcript_becomes_the_items_text_and_counts() -> None:
    rig = Rig()
    rig.part.commit_user_audio("item_a", tone(1000), None)
    before = rig.part.held_tokens()
    rig.part.set_transcript("item_a", "a" * 40)
    assert rig.part.items["item_a"].data["content"][0]["transcript"] == "a" * 40
    assert rig.part.held_tokens() == before + 10  # four characters a token


def test_what_an_event_or_outcome_holds_is_never_changed_afterwards() -> None:
    """An event is serialised after the part returns it (maybe after the engine has routed a
    later outcome of the same batch), and an outcome may be kept: the part changes an item by
    replacing its dict, never the dict (nor a content part) it handed out."""
    rig = Rig()
    handed: list[object] = list(rig.part.commit_user_audio("item_a", tone(500), None))
    handed += rig.part.on_retrieve(
        ev.ConversationItemRetrieve(type="conversation.item.retrieve", item_id="item_a"), 0.0
    )
    reply = _reply("item_r", "item_a")
    more = ReplyExtended("item_r", dict(reply.item), ((900.0, "four"),))
    done = {**reply.item, "status": "completed"}
    handed += [reply, more, done]
    before = copy.deepcopy(handed)
    rig.part.set_transcript("item_a", "glue the sheet")
    rig.part.add_reply(reply)
    rig.part.grow_reply_audio("item_r", tone(1200))
    rig.part.extend_reply(more)
    rig.part.end_reply("item_r", done, None)
    handed += rig.part.on_truncate(
        ev.ConversationItemTruncate(
            type="conversation.item.truncate", item_id="item_r", content_index=0, audio_end_ms=400
        ),
        0.0,
    )
    assert handed[: len(before)] == before
    assert rig.part.items["item_a"].data["content"][0]["transcript"] == "glue the sheet"
    assert rig.part.items["item_r"].data["content"][0]["transcript"] == "one two"


def test_with_truncation_disabled_an_item_that_does_not_fit_is_refused() -> None:
    rig = Rig(SessionConfig(truncation="disabled"), context_tokens=100)
    (error,) = rig.part.commit_user_audio("item_a", tone(20_000), "evt_c")  # 200 tokens
    assert error["error"]["code"] == "context_length_exceeded"
    assert error["error"]["event_id"] == "evt_c"
    assert rig.part.order == []
    assert rig.out.errors == 1


def test_a_streaming_reply_is_never_dropped_and_keeps_only_what_was_heard() -> None:
    rig = Rig(context_tokens=150)
    rig.part.commit_user_audio("item_a", tone(5000), None)  # 50 tokens
    rig.part.add_reply(_reply("item_r", "item_a"))
    assert rig.part.reply_in_progress == "item_r"
    assert rig.part.order == ["item_a", "item_r"]
    rig.part.grow_reply_audio("item_r", tone(600))
    assert len(rig.part.items["item_r"].audio) == 600 * 24
    # A user item placed first would push the context over: the streaming reply stays.
    rig.part.on_create(_text_item("x" * 600, "item_t"), 0.0)  # 150 tokens
    assert rig.part.order == ["item_r", "item_t"]  # the oldest went; the reply did not
    assert rig.part.dropped == 1
    cancelled = {
        "id": "item_r",
        "object": "realtime.item",
        "type": "message",
        "status": "incomplete",
        "role": "assistant",
        "content": [{"type": "output_audio", "transcript": "one two"}],
    }
    rig.part.end_reply("item_r", cancelled, words_kept=2)
    assert rig.part.items["item_r"].words == [(0.0, "one"), (300.0, "two")]
    assert rig.part.items["item_r"].data["status"] == "incomplete"
    rig.part.reply_ended()
    assert rig.part.reply_in_progress is None


def test_an_out_of_band_reply_is_kept_out_of_the_conversation() -> None:
    rig = Rig()
    rig.part.add_reply(_reply("item_r", None, in_conversation=False))
    assert rig.part.order == []
    assert rig.part.reply_in_progress == "item_r"
    rig.part.grow_reply_audio("item_r", tone(100))  # nothing to grow: no error either
    rig.part.end_reply("item_r", {}, None)
    assert rig.part.order == []


def test_a_responses_context_is_the_conversation_or_its_own_input() -> None:
    rig = Rig()
    rig.part.commit_user_audio("item_a", tone(200), None)
    assert [i.id for i in rig.part.context_for(None)] == ["item_a"]  # type: ignore[union-attr]
    assert rig.part.context_for([]) == []
    given = [_text_item("hi", "item_x").item]
    (own,) = rig.part.context_for(given)  # type: ignore[misc]
    assert own.data["content"] == [{"type": "input_text", "text": "hi"}]
    assert rig.part.order == ["item_a"]  # not stored
    bad = ev.ConversationItemCreate.model_validate(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_audio", "audio": "not base64!"}],
            },
        }
    ).item
    rejected = rig.part.context_for([bad])
    assert isinstance(rejected, ItemRejected)
    assert rejected.param == "response.input[0].content[0].audio"


def test_the_handlers_answer_with_events_only() -> None:
    rig = Rig()
    added = rig.part.on_create(_text_item("hello", "item_t"), 0.0)
    assert kinds(added) == ["conversation.item.added", "conversation.item.done"]
    (retrieved,) = rig.part.on_retrieve(ev.ConversationItemRetrieve(item_id="item_t"), 0.0)
    assert retrieved["item"]["content"] == [{"type": "input_text", "text": "hello"}]
    (deleted,) = rig.part.on_delete(ev.ConversationItemDelete(item_id="item_t"), 0.0)
    assert deleted == {
        "type": "conversation.item.deleted",
        "event_id": "event_part000100004",
        "item_id": "item_t",
    }
    (missing,) = rig.part.on_delete(ev.ConversationItemDelete(item_id="item_t"), 0.0)
    assert missing["error"]["code"] == "item_not_found"
