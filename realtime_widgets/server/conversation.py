"""The session's conversation: stored items in order, and the ``conversation.item.*`` events.

A part of :class:`~.engine.SessionEngine` (sans-I/O): it owns the items, their order and their
token total; it writes through an :class:`~.emitter.Emitter` and reads the session's config
through a callable. Each handler takes a parsed client event and the time and returns the
server events that answer it. The engine hands it committed user turns
(:meth:`Conversation.commit_user_audio`) and a reply's item as the reply streams
(:meth:`Conversation.add_reply`, :meth:`Conversation.extend_reply` as more pieces are
scheduled, ... :meth:`Conversation.reply_ended`). An item's shape was
checked by its typed model (:data:`~realtime_widgets.protocol.client_events.ConversationItem`)
before it gets here; what is left is what needs the conversation (ids, where to insert, what
to truncate).

Items are kept as GA item dicts without their audio bytes; audio (the model's rate) and an
assistant item's word timings sit beside them so ``retrieve`` can return the audio and
``truncate`` can cut the transcript where playback stopped. An ``input_image`` is read once,
when its item is created (off the event loop for a big frame, :mod:`.frames`), and kept as its
data URL; the session's images together may hold ``ServerLimits.max_image_bytes_per_session``
(an item past it is refused with an ``error``, the rest of the session kept).

The conversation is bounded like OpenAI's: it may hold ``ServerLimits.context_tokens`` (28,224,
OpenAI's figure for a 32k model with 4,096 output tokens) after the instructions, counted as
the responses' usage counts them (text ~4 characters a token, audio 10 tokens a second, an
image by OpenAI's per-detail formula, :func:`~.images.image_tokens`). Past
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel

from realtime_widgets.audio.formats import decode
from realtime_widgets.audio.pcm import Int16Array
from realtime_widgets.audio.rate import ms_to_samples, samples_to_ms
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.images import ImageInfo, image_tokens
from realtime_widgets.protocol.order import ItemOrder
from realtime_widgets.protocol.parts import RetentionRatioTruncation
from realtime_widgets.server.emitter import Emitter, Event
from realtime_widgets.server.frames import ImageRead, read_image_url
from realtime_widgets.server.limits import ServerLimits
from realtime_widgets.server.outcomes import (
    ReplyExtended,
    ReplyScheduled,
    Steps,
    UserAudioStored,
)
from realtime_widgets.server.reply.usage import (
    AUDIO_TOKENS_PER_SECOND_IN,
    audio_tokens_for_samples,
    estimate_text_tokens,
    item_text_tokens,
)

__all__ = ["Conversation", "ItemRejected", "StoredItem", "read_parts"]


@dataclass
class StoredItem:
    """One conversation item as the server keeps it.

    ``data`` is never changed in place, at any depth: the events that announced the item may
    hold the same dict (or its content parts) until they are serialised, so a change replaces
    ``data`` (or the part) with a changed copy."""

    data: dict[str, Any]  # GA item, without audio bytes
    audio: Int16Array | None = None  # user audio, or assistant speech as sent (model rate)
    words: list[tuple[float, str]] = field(default_factory=list)  # assistant word timings
    format: str = "audio/pcm"
    images: list[ImageInfo] = field(default_factory=list)  # its input_image parts, read once
    # Set by conversation.item.truncate: the item keeps at most this much audio from then on.
    truncated_ms: int | None = None
    # What the server's recogniser heard in a committed user turn (whether or not the session's
    # input transcription is on, so whether or not ``data`` shows it): what the responder reads.
    heard: str | None = None
    # Its tokens as counted in its conversation's running total: the conversation changes an
    # item only through its own methods, each of which counts the item again (recount).
    counted: int = field(default=0, repr=False, compare=False)

    @property
    def id(self) -> str:
        return str(self.data["id"])

    def truncate(self, audio_end_ms: int) -> None:
        """Keep the audio up to ``audio_end_ms`` and only the words that start before it (the
        SDK: truncating "will delete the server-side text transcript to ensure there is not
        text in the context that hasn't been heard by the user")."""
        assert self.audio is not None
        self.truncated_ms = audio_end_ms
        self.audio = self.audio[: ms_to_samples(audio_end_ms)]
        self.words = [(s, w) for s, w in self.words if s < audio_end_ms]
        self._keep_heard_transcript()

    def grow_reply_audio(self, sent: Int16Array) -> None:
        """A reply's audio as far as it has been sent. After a truncate nothing more is stored:
        the response may stream on (truncate does not stop it; ``response.cancel`` does), but
        the client has said where its listener stopped, and OpenAI keeps no audio past that."""
        if self.truncated_ms is None:
            self.audio = sent
        else:
            self.audio = sent[: min(len(sent), ms_to_samples(self.truncated_ms))]

    def extend_reply(self, data: dict[str, Any], words: Sequence[tuple[float, str]]) -> None:
        """A later piece of the reply: the item as it stands and the piece's words (after a
        truncate, only the words heard before it are kept)."""
        self.data = dict(data)
        cut = self.truncated_ms
        self.words += [(s, w) for s, w in words if cut is None or s < cut]
        if cut is not None:
            self._keep_heard_transcript()

    def end_reply(self, data: dict[str, Any]) -> None:
        """The reply's item as its response ends it (status, final content); a truncated item
        keeps only the transcript that was heard (on its own copy: ``data`` may still be on
        its way to the client)."""
        self.data = dict(data)
        if self.truncated_ms is not None:
            self._keep_heard_transcript()

    def _keep_heard_transcript(self) -> None:
        heard = " ".join(w for _, w in self.words)
        content = [
            {**part, "transcript": heard} if part.get("type") == "output_audio" else part
            for part in self.data.get("content", [])
        ]
        self.data = {**self.data, "content": content}

    def set_transcript(self, text: str) -> None:
        """The user audio part's transcript (on a copy: see the class docstring)."""
        content = [
            {**part, "transcript": text} if part.get("type") == "input_audio" else part
            for part in self.data.get("content", [])
        ]
        self.data = {**self.data, "content": content}

    def tokens(self) -> tuple[int, int, int]:
        """This item's (text, audio, image) tokens in a model's context (a local estimate)."""
        text = item_text_tokens(self.data)
        details = [
            part.get("detail")
            for part in self.data.get("content", [])
            if part.get("type") == "input_image"
        ]
        audio = 0
        if self.audio is not None:
            audio = audio_tokens_for_samples(len(self.audio), AUDIO_TOKENS_PER_SECOND_IN)
        image = sum(
            image_tokens(info.width, info.height, detail)
            for info, detail in zip(self.images, details, strict=False)
        )
        return text, audio, image

    @property
    def image_bytes(self) -> int:
        """Bytes of the images this item holds (decoded; its data URLs hold 4/3 as many)."""
        return sum(info.size for info in self.images)


class Conversation:
    """Items by id and their order; the create/delete/retrieve/truncate handlers."""

    def __init__(
        self, out: Emitter, config: Callable[[], SessionConfig], limits: ServerLimits
    ) -> None:
        self.out = out
        self._config = config
        self._limits = limits
        self.items: dict[str, StoredItem] = {}
        self._order = ItemOrder()
        self._tokens = 0  # every item's tokens (text, audio, images), kept as items change
        self._image_bytes = 0  # every item's image bytes (images never change in an item)
        self.dropped = 0  # items truncation took out of the conversation
        # The item of the response in progress (in the conversation or not): never dropped by
        # truncation while its reply streams.
        self.reply_in_progress: str | None = None

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
        item.counted = 0
        self._image_bytes += item.image_bytes
        self.recount(item)
        self.fit(keep=self.reply_in_progress or item.id)

    def remove(self, item_id: str) -> StoredItem:
        """Take an item out of the conversation (KeyError if it is not in it)."""
        item = self.items.pop(item_id)
        self._order.remove(item_id)
        self._tokens -= item.counted
        self._image_bytes -= item.image_bytes
        item.counted = 0
        return item

    def recount(self, item: StoredItem) -> None:
        """Measure ``item`` again (its text or audio changed) in the running token total."""
        if self.items.get(item.id) is not item:
            return
        tokens = sum(item.tokens())
        self._tokens += tokens - item.counted
        item.counted = tokens

    # ---- the context limit -----------------------------------------------------------------

    def _budget(self) -> int:
        """Tokens the items may hold (after the instructions) before truncation applies."""
        config = self._config()
        truncation = config.truncation
        if isinstance(truncation, RetentionRatioTruncation) and truncation.token_limits:
            given = truncation.token_limits.post_instructions
            if given is not None:
                return given
        instructions = estimate_text_tokens(config.instructions or "")
        return max(0, self._limits.context_tokens - instructions)

    def held_tokens(self) -> int:
        """Tokens of every item (text, audio and images): the running total, O(1)."""
        return self._tokens

    def refusal(self, adding: StoredItem, client_id: str | None) -> Event | None:
        """With ``truncation: "disabled"``, the error for an item that would not fit."""
        if self._config().truncation != "disabled":
            return None
        budget, total = self._budget(), self.held_tokens() + sum(adding.tokens())
        if total <= budget:
            return None
        return self.out.error(
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
        truncation = self._config().truncation
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

    def _image_cap_problem(self, adding: list[ImageInfo]) -> str | None:
        """Why a new item's images would pass ``max_image_bytes_per_session``, or None."""
        cap = self._limits.max_image_bytes_per_session
        held = self._image_bytes
        total = held + sum(info.size for info in adding)
        if total <= cap:
            return None
        return (
            f"the session's images would hold {total:,} bytes ({held:,} already stored), over "
            f"the local server's limit of {cap:,} bytes (ServerLimits.max_image_bytes_per_session, "
            "realtime-widgets serve --max-image-bytes-per-session). Delete an image item first; "
            "the items already stored are kept."
        )

    def _not_found(self, item_id: str, client_id: str | None) -> Event:
        return self.out.error(
            f"Item with item_id '{item_id}' not found in the conversation.",
            "item_not_found",
            "item_id",
            client_id,
        )

    def read_input(self, items: Sequence[BaseModel]) -> list[StoredItem]:
        """A response's own ``input`` items (typed models) as a context of their own: read as
        a created item is, but not stored, so the conversation is untouched. Raises
        :class:`ItemRejected` naming ``response.input[i]...``."""
        fmt = self._config().input_audio_format.type
        out: list[StoredItem] = []
        for i, model in enumerate(items):
            item = model.model_dump(mode="json", exclude_none=True)
            audio, images = read_parts(item, fmt, f"response.input[{i}]")
            out.append(StoredItem(item, audio, images=images))
        return out

    def context_for(self, given: Sequence[BaseModel] | None) -> list[StoredItem] | ItemRejected:
        """A response's context: its own ``input`` items when it gives them (OpenAI: "creates
        a new context for this Response instead of using the default conversation"; ``[]``
        clears it), else the conversation; or why its input could not be read."""
        if given is None:
            return self.ordered()
        try:
            return self.read_input(given)
        except ItemRejected as exc:
            return exc

    # ---- what the engine hands over -----------------------------------------------------------

    def commit_user_audio(self, item_id: str, audio: Int16Array, client_id: str | None) -> Steps:
        """A committed user turn becomes the newest item: ``input_audio_buffer.committed`` (with
        the item's place), ``conversation.item.added`` and ``.done``; or the error when the
        context cannot take it (``truncation: "disabled"``)."""
        previous = self.last_id
        data = {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        stored = StoredItem(data, audio)
        refused = self.refusal(stored, client_id)
        if refused is not None:
            return [refused]
        self.insert(stored, previous)
        return [
            self.out.event(
                ev.InputAudioBufferCommitted, previous_item_id=previous, item_id=item_id
            ),
            self.out.event(ev.ConversationItemAdded, previous_item_id=previous, item=data),
            self.out.event(ev.ConversationItemDone, previous_item_id=previous, item=data),
            UserAudioStored(item_id, audio),
        ]

    def set_transcript(self, item_id: str, text: str, *, announced: bool = True) -> None:
        """A user item's transcript arrived: what the model heard; when ``announced`` (input
        transcription is on) also the item's text (and it counts) from now on."""
        item = self.items.get(item_id)
        if item is None:
            return
        item.heard = text
        if announced:
            # Not in place: conversation.item.added and .done of this turn may hold the item
            # still (a transcript ready at the commit is routed in the same batch), and OpenAI
            # sends them with the transcript null; the transcription events tell it after.
            item.set_transcript(text)
            self.recount(item)

    def add_reply(self, reply: ReplyScheduled) -> None:
        """A response's reply is scheduled: its item streams from now on (never dropped while
        it does), and joins the conversation when the response is in it."""
        self.reply_in_progress = str(reply.item["id"])
        if not reply.in_conversation:
            return
        stored = StoredItem(dict(reply.item), None, list(reply.words), reply.audio_format)
        if reply.with_audio:
            stored.audio = np.zeros(0, dtype=np.int16)
        self.insert(stored, reply.previous)

    def extend_reply(self, reply: ReplyExtended) -> None:
        """A later piece of a streamed reply (:meth:`StoredItem.extend_reply`)."""
        stored = self.items.get(reply.item_id)
        if stored is not None:
            stored.extend_reply(reply.item, reply.words)
            self.recount(stored)

    def grow_reply_audio(self, item_id: str, heard: Int16Array) -> None:
        """The reply's audio as far as it has been sent (:meth:`StoredItem.grow_reply_audio`)."""
        stored = self.items.get(item_id)
        if stored is not None:
            stored.grow_reply_audio(heard)
            self.recount(stored)

    def end_reply(self, item_id: str, data: dict[str, Any], words_kept: int | None) -> None:
        """The reply's item as its response ends it; a cancelled one keeps the words it sent."""
        stored = self.items.get(item_id)
        if stored is None:
            return
        if words_kept is not None:
            stored.words = stored.words[:words_kept]
        stored.end_reply(data)
        self.recount(stored)

    def reply_ended(self) -> None:
        """The response ended: nothing streams now, and its audio has grown the context."""
        self.reply_in_progress = None
        self.fit()

    # ---- handlers -----------------------------------------------------------------------------

    def on_create(
        self,
        e: ev.ConversationItemCreate,
        now: float,
        images_read: Mapping[int, ImageRead] | None = None,
    ) -> Steps:
        """``conversation.item.create``; ``images_read``: its images, when they were read with
        a big frame off the event loop (content index -> what it holds)."""
        item = e.item.model_dump(mode="json", exclude_none=True)  # validated by its model
        if (
            e.previous_item_id is not None
            and e.previous_item_id != "root"
            and e.previous_item_id not in self.items
        ):
            return [
                self.out.error(
                    f"Item with item_id '{e.previous_item_id}' not found in the conversation.",
                    "item_not_found",
                    "previous_item_id",
                    e.event_id,
                )
            ]
        if item.get("id") in self.items:
            return [
                self.out.error(
                    f"Item with item_id '{item['id']}' already exists.",
                    "invalid_value",
                    "item.id",
                    e.event_id,
                )
            ]
        try:
            audio, images = read_parts(
                item,
                self._config().input_audio_format.type,
                "item",
                images_read,
                self._image_cap_problem,
            )
        except ItemRejected as exc:
            return [self.out.error(exc.message, "invalid_value", exc.param, e.event_id)]
        item.setdefault("id", self.out.new_id("item"))
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
            self.out.event(ev.ConversationItemAdded, previous_item_id=shown_previous, item=item),
            self.out.event(ev.ConversationItemDone, previous_item_id=shown_previous, item=item),
        ]

    def on_delete(self, e: ev.ConversationItemDelete, now: float) -> Steps:
        if e.item_id not in self.items:
            return [self._not_found(e.item_id, e.event_id)]
        self.remove(e.item_id)
        return [self.out.event(ev.ConversationItemDeleted, item_id=e.item_id)]

    def on_retrieve(self, e: ev.ConversationItemRetrieve, now: float) -> Steps:
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
        return [self.out.event(ev.ConversationItemRetrieved, item=data)]

    def on_truncate(self, e: ev.ConversationItemTruncate, now: float) -> Steps:
        item = self.items.get(e.item_id)
        if item is None:
            return [self._not_found(e.item_id, e.event_id)]
        if item.data.get("role") != "assistant" or item.audio is None:
            return [
                self.out.error(
                    "Only assistant messages with audio can be truncated.",
                    "invalid_value",
                    "item_id",
                    e.event_id,
                )
            ]
        if e.content_index != 0:
            return [
                self.out.error(
                    f"Invalid 'content_index': item has no content part {e.content_index}.",
                    "invalid_value",
                    "content_index",
                    e.event_id,
                )
            ]
        duration = samples_to_ms(len(item.audio))
        if e.audio_end_ms > duration:
            return [
                self.out.error(
                    f"Audio content of {duration:.0f}ms is already shorter than {e.audio_end_ms}ms",
                    "invalid_value",
                    "audio_end_ms",
                    e.event_id,
                )
            ]
        # While the item's response still streams, the truncate holds for the rest of it
        # (StoredItem.grow_reply_audio): the wire goes on until done or response.cancel.
        item.truncate(e.audio_end_ms)
        self.recount(item)
        return [
            self.out.event(
                ev.ConversationItemTruncated,
                item_id=e.item_id,
                content_index=0,
                audio_end_ms=e.audio_end_ms,
            )
        ]


class ItemRejected(Exception):
    """An item part the local server cannot read: OpenAI-style message and the param it names."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


def read_parts(
    item: dict[str, Any],
    input_format: str,
    where: str,
    images_read: Mapping[int, ImageRead] | None = None,
    image_cap: Callable[[list[ImageInfo]], str | None] | None = None,
) -> tuple[Int16Array | None, list[ImageInfo]]:
    """Read an item's ``input_image`` and ``input_audio`` parts once, as the item arrives: the
    images measured, the audio decoded (24 kHz PCM only) and its base64 taken out of the part
    (items are kept without audio bytes). ``where`` prefixes the param of a
    :class:`ItemRejected` (``item``, or ``response.input[2]``). ``images_read``: the parts'
    images already read off the event loop with their frame (content index -> result);
    ``image_cap``: why the images read so far would pass a byte cap, or None."""
    audio = None
    images: list[ImageInfo] = []
    for i, part in enumerate(item.get("content", [])):
        if part.get("type") == "input_image":
            url = str(part.get("image_url", ""))
            read = (images_read or {}).get(i)
            if read is None or read.url != url:  # a small frame: read here, at once
                read = read_image_url(url)
            problem = read.problem
            if read.info is not None:
                images.append(read.info)
                if image_cap is not None:
                    problem = image_cap(images)
            if problem is not None:
                param = f"{where}.content[{i}].image_url"
                raise ItemRejected(f"Invalid '{param}': {problem}", param)
        if part.get("type") == "input_audio" and isinstance(part.get("audio"), str):
            param = f"{where}.content[{i}].audio"
            try:
                raw = base64.b64decode(part.pop("audio"), validate=True)
            except (binascii.Error, ValueError):
                raise ItemRejected(
                    f"Invalid '{param}'. Expected base64-encoded audio bytes.", param
                ) from None
            if input_format == "audio/pcm":
                audio = decode(raw[: len(raw) - len(raw) % 2], "audio/pcm")  # whole samples
            part.setdefault("transcript", None)
    return audio, images
