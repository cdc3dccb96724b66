"""The session's conversation: stored items in order, and the ``conversation.item.*`` events.

Part of :class:`~.engine.SessionEngine` (sans-I/O): each handler takes a parsed client event
and the time and returns the server events that answer it. An item's shape was checked by its
typed model (:data:`~realtime_widgets.protocol.client_events.ConversationItem`) before it gets
here; what is left is what needs the conversation (ids, where to insert, what to truncate).

Items are kept as GA item dicts without their audio bytes; audio (24 kHz) and an assistant
item's word timings sit beside them so ``retrieve`` can return the audio and ``truncate`` can
cut the transcript where playback stopped.

The conversation is bounded like OpenAI's: it may hold ``ServerLimits.context_tokens`` (28,224,
OpenAI's figure for a 32k model with 4,096 output tokens) after the instructions, counted as
the responses' usage counts them (text ~4 characters a token, audio 10 tokens a second). Past
that the session's ``truncation`` applies: ``auto`` drops the oldest items until the rest fits,
``retention_ratio`` until the ratio of the budget (``token_limits.post_instructions`` when
given) is left; dropped items are gone from the server (their audio freed, ``retrieve`` answers
``item_not_found``), as OpenAI drops them from the model's context without an event.
``disabled``: a new item that would not fit is refused with an ``error`` (OpenAI: "return an
error if the conversation exceeds the model's input token limit"), so nothing grows unbounded.

Inserting, deleting and finding an item are O(1) whatever the count: the order is an
:class:`~realtime_widgets.protocol.order.ItemOrder`, and the tokens the items hold are a running
total (each item's count is kept, and measured again when its audio or data is replaced).
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from realtime_widgets.audio.formats import decode
from realtime_widgets.audio.pcm import Int16Array
from realtime_widgets.errors import ConfigError
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.images import (
    ImageInfo,
    check_image,
    parse_data_url,
)
from realtime_widgets.protocol.order import ItemOrder
from realtime_widgets.protocol.parts import RetentionRatioTruncation
from realtime_widgets.server.responder import estimate_text_tokens
from realtime_widgets.server.script import AUDIO_TOKENS_PER_SECOND_IN

if TYPE_CHECKING:
    from realtime_widgets.server.engine import SessionEngine

__all__ = ["Conversation", "StoredItem"]

Events = list[dict[str, Any]]


@dataclass
class StoredItem:
    """One conversation item as the server keeps it."""

    data: dict[str, Any]  # GA item, without audio bytes
    audio: Int16Array | None = None  # 24 kHz: user audio, or assistant speech as sent
    words: list[tuple[float, str]] = field(default_factory=list)  # assistant word timings
    format: str = "audio/pcm"
    images: list[ImageInfo] = field(default_factory=list)  # its input_image parts, read once
    # The conversation holding it, told when ``audio`` or ``data`` is replaced (a reply's audio
    # grows as it is sent) so its running token total stays right without a sum over items.
    owner: Conversation | None = field(default=None, repr=False, compare=False)
    counted: int = field(default=0, repr=False, compare=False)  # tokens in the owner's total

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        owner = getattr(self, "owner", None)  # (unset while the dataclass __init__ runs)
        if owner is not None and name in ("audio", "data"):
            owner.recount(self)

    @property
    def id(self) -> str:
        return str(self.data["id"])

    def tokens(self) -> tuple[int, int]:
        """This item's (text, audio) tokens in a model's context (a local estimate)."""
        text = estimate_text_tokens(self.data.get("arguments") or self.data.get("output") or "")
        for part in self.data.get("content", []):
            text += estimate_text_tokens(part.get("text") or part.get("transcript") or "")
        audio = 0
        if self.audio is not None:
            audio = math.ceil(len(self.audio) / 24000 * AUDIO_TOKENS_PER_SECOND_IN)
        return text, audio


class Conversation:
    """Items by id and their order; the create/delete/retrieve/truncate handlers."""

    def __init__(self, engine: SessionEngine) -> None:
        self.engine = engine
        self.items: dict[str, StoredItem] = {}
        self._order = ItemOrder()
        self._tokens = 0  # every item's tokens (text and audio), kept as items change
        self.dropped = 0  # items truncation took out of the conversation

    @property
    def order(self) -> list[str]:
        """The item ids in order (a copy)."""
        return list(self._order)

    @property
    def last_id(self) -> str | None:
        """The newest item's id (a new item's ``previous_item_id``), or None when empty."""
        return self._order.last

    def ordered(self) -> list[StoredItem]:
        return [self.items[x] for x in self._order]

    def insert(self, item: StoredItem, previous: str | None) -> None:
        """Place an item after ``previous`` ("root": first; None or unknown: last), then
        apply the context limit (:meth:`fit`)."""
        if item.id in self.items:
            self.remove(item.id)
        self.items[item.id] = item
        if previous == "root":
            self._order.insert_after(None, item.id)
        elif previous is not None and previous in self._order:
            self._order.insert_after(previous, item.id)
        else:
            self._order.append(item.id)
        item.owner = self
        self.recount(item)
        active = self.engine.responses.active
        self.fit(keep=active.item["id"] if active is not None and active.item else item.id)

    def remove(self, item_id: str) -> StoredItem:
        """Take an item out of the conversation (KeyError if it is not in it)."""
        item = self.items.pop(item_id)
        self._order.remove(item_id)
        self._tokens -= item.counted
        item.owner, item.counted = None, 0
        return item

    def recount(self, item: StoredItem) -> None:
        """Measure ``item`` again (its text or audio changed) in the running token total."""
        if item.owner is not self:
            return
        tokens = sum(item.tokens())
        self._tokens += tokens - item.counted
        object.__setattr__(item, "counted", tokens)

    # ---- the context limit -----------------------------------------------------------------

    def _budget(self) -> int:
        """Tokens the items may hold (after the instructions) before truncation applies."""
        engine = self.engine
        truncation = engine.config.truncation
        if isinstance(truncation, RetentionRatioTruncation) and truncation.token_limits:
            given = truncation.token_limits.post_instructions
            if given is not None:
                return given
        instructions = estimate_text_tokens(engine.config.instructions or "")
        return max(0, engine.options.limits.context_tokens - instructions)

    def held_tokens(self) -> int:
        """Tokens of every item (text and audio): the running total, O(1)."""
        return self._tokens

    def refusal(self, adding: StoredItem, client_id: str | None) -> dict[str, Any] | None:
        """With ``truncation: "disabled"``, the error for an item that would not fit."""
        if self.engine.config.truncation != "disabled":
            return None
        budget, total = self._budget(), self.held_tokens() + sum(adding.tokens())
        if total <= budget:
            return None
        return self.engine.error(
            f"This model's maximum context length is {budget} tokens. However, your messages "
            f"resulted in {total} tokens. Please reduce the length of the messages. (local "
            "server: truncation is 'disabled'; ServerLimits.context_tokens, realtime-widgets "
            "serve --context-tokens.)",
            "context_length_exceeded",
            None,
            client_id,
        )

    def fit(self, keep: str | None = None) -> None:
        """Apply the session's truncation when the items exceed the budget: drop the oldest
        (never ``keep``, a reply in progress, nor the newest item) until the rest fits."""
        truncation = self.engine.config.truncation
        if truncation == "disabled":
            return
        budget = self._budget()
        total = self.held_tokens()
        if total <= budget:
            return
        target = budget
        if isinstance(truncation, RetentionRatioTruncation):
            target = int(budget * truncation.retention_ratio)
        newest = self._order.last
        item_id = self._order.first
        while item_id is not None and item_id != newest and total > target:
            following = self._order.after(item_id)
            if item_id != keep:
                self.remove(item_id)
                total = self._tokens
                self.dropped += 1
            item_id = following

    def _not_found(self, item_id: str, client_id: str | None) -> dict[str, Any]:
        return self.engine.error(
            f"Item with item_id '{item_id}' not found in the conversation.",
            "item_not_found",
            "item_id",
            client_id,
        )

    # ---- handlers -----------------------------------------------------------------------------

    def on_create(self, e: ev.ConversationItemCreate, now: float) -> Events:
        engine = self.engine
        item = e.item.model_dump(mode="json", exclude_none=True)  # validated by its model
        if (
            e.previous_item_id is not None
            and e.previous_item_id != "root"
            and e.previous_item_id not in self.items
        ):
            return [
                engine.error(
                    f"Item with item_id '{e.previous_item_id}' not found in the conversation.",
                    "item_not_found",
                    "previous_item_id",
                    e.event_id,
                )
            ]
        if item.get("id") in self.items:
            return [
                engine.error(
                    f"Item with item_id '{item['id']}' already exists.",
                    "invalid_value",
                    "item.id",
                    e.event_id,
                )
            ]
        audio = None
        images: list[ImageInfo] = []
        for i, part in enumerate(item.get("content", [])):
            if part.get("type") == "input_image":
                info, problem = _read_image_part(str(part.get("image_url", "")))
                if info is not None:
                    images.append(info)
                if problem is not None:
                    param = f"item.content[{i}].image_url"
                    return [
                        engine.error(
                            f"Invalid '{param}': {problem}", "invalid_value", param, e.event_id
                        )
                    ]
            if part.get("type") == "input_audio" and isinstance(part.get("audio"), str):
                try:
                    raw = base64.b64decode(part.pop("audio"), validate=True)
                except (binascii.Error, ValueError):
                    return [
                        engine.error(
                            f"Invalid 'item.content[{i}].audio'. Expected base64-encoded audio "
                            "bytes.",
                            "invalid_value",
                            f"item.content[{i}].audio",
                            e.event_id,
                        )
                    ]
                if engine.config.input_audio_format.type == "audio/pcm":
                    audio = decode(raw[: len(raw) - len(raw) % 2], "audio/pcm")  # whole samples
                part.setdefault("transcript", None)
        item.setdefault("id", engine.new_id("item"))
        fields = type(e.item).model_fields  # MCP records have no object or status
        if "object" in fields:
            item.setdefault("object", "realtime.item")
        if "status" in fields:
            item.setdefault("status", "completed")
        previous = e.previous_item_id if e.previous_item_id is not None else self.last_id
        stored = StoredItem(item, audio, images=images)
        refused = self.refusal(stored, e.event_id)
        if refused is not None:
            return [refused]
        self.insert(stored, previous)
        shown_previous = None if previous == "root" else previous
        return [
            engine.event(
                {
                    "type": "conversation.item.added",
                    "previous_item_id": shown_previous,
                    "item": item,
                }
            ),
            engine.event(
                {"type": "conversation.item.done", "previous_item_id": shown_previous, "item": item}
            ),
        ]

    def on_delete(self, e: ev.ConversationItemDelete, now: float) -> Events:
        if e.item_id not in self.items:
            return [self._not_found(e.item_id, e.event_id)]
        self.remove(e.item_id)
        return [self.engine.event({"type": "conversation.item.deleted", "item_id": e.item_id})]

    def on_retrieve(self, e: ev.ConversationItemRetrieve, now: float) -> Events:
        item = self.items.get(e.item_id)
        if item is None:
            return [self._not_found(e.item_id, e.event_id)]
        data = dict(item.data)
        if item.audio is not None and data.get("type") == "message":
            data["content"] = [
                {**p, "audio": base64.b64encode(item.audio.astype("<i2").tobytes()).decode()}
                if p.get("type") in ("input_audio", "output_audio")
                else p
                for p in data.get("content", [])
            ]
        return [self.engine.event({"type": "conversation.item.retrieved", "item": data})]

    def on_truncate(self, e: ev.ConversationItemTruncate, now: float) -> Events:
        engine = self.engine
        item = self.items.get(e.item_id)
        if item is None:
            return [self._not_found(e.item_id, e.event_id)]
        if item.data.get("role") != "assistant" or item.audio is None:
            return [
                engine.error(
                    "Only assistant messages with audio can be truncated.",
                    "invalid_value",
                    "item_id",
                    e.event_id,
                )
            ]
        if e.content_index != 0:
            return [
                engine.error(
                    f"Invalid 'content_index': item has no content part {e.content_index}.",
                    "invalid_value",
                    "content_index",
                    e.event_id,
                )
            ]
        duration = len(item.audio) / 24
        if e.audio_end_ms > duration:
            return [
                engine.error(
                    f"Audio content of {duration:.0f}ms is already shorter than {e.audio_end_ms}ms",
                    "invalid_value",
                    "audio_end_ms",
                    e.event_id,
                )
            ]
        item.audio = item.audio[: e.audio_end_ms * 24]
        heard = " ".join(w for start, w in item.words if start < e.audio_end_ms)
        item.words = [(s, w) for s, w in item.words if s < e.audio_end_ms]
        for part in item.data.get("content", []):
            if part.get("type") == "output_audio":
                part["transcript"] = heard
        self.recount(item)  # the transcript was cut in place
        return [
            engine.event(
                {
                    "type": "conversation.item.truncated",
                    "item_id": e.item_id,
                    "content_index": 0,
                    "audio_end_ms": e.audio_end_ms,
                }
            )
        ]


def _read_image_part(url: str) -> tuple[ImageInfo | None, str | None]:
    """What an input_image URL holds (type, pixel size, bytes), or why it is not an image the
    local server can read. Read once, when the item is created; replies use the result."""
    try:
        _mime, data = parse_data_url(url)
        return check_image(data), None
    except (ValueError, ConfigError) as exc:
        return None, f"{exc} (the local server takes base64 data URLs of PNG, JPEG, WEBP or GIF)."
