"""ConversationState: what a Realtime session looks like, rebuilt from its server events.

Feed it every server event (``state.apply(event)``); read items in conversation order
(``state.ordered_items()``), transcripts, responses with status and usage, VAD turns and
truncations. Pure Python, no I/O: the client, the widgets, replay and the tests share it.

Order comes from ``previous_item_id``, never from arrival: a user transcript that arrives after
the assistant has started answering still lands on the user's own item, in its own turn. Placing
an item is O(1) (:class:`~realtime_widgets.protocol.order.ItemOrder`), whatever the count.

What it keeps of text is bounded in characters (``max_text_chars``, 16 Mi by default): past it
the oldest items' text goes first and each such item says so in its ``text``; see
:mod:`~realtime_widgets.protocol.textbudget`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.order import ItemOrder
from realtime_widgets.protocol.textbudget import TEXT_BUDGET, TEXT_MARKER, TextBudget

__all__ = [
    "TEXT_BUDGET",
    "TEXT_MARKER",
    "ConversationState",
    "ItemState",
    "ResponseState",
    "VadTurn",
    "base64_decoded_size",
]

# Bytes of audio per millisecond for each GA format (pcm: 24 kHz x 2 bytes; G.711: 8 kHz x 1).
BYTES_PER_MS = {"audio/pcm": 48, "audio/pcmu": 8, "audio/pcma": 8}


def base64_decoded_size(text: str) -> int:
    """Bytes a base64 string decodes to, without decoding it."""
    size = len(text) * 3 // 4
    if text.endswith("=="):
        return size - 2
    if text.endswith("="):
        return size - 1
    return size


@dataclass
class ItemState:
    """One conversation item as the client knows it so far."""

    id: str
    type: str
    role: str | None = None
    status: str | None = None
    previous_item_id: str | None = None
    response_id: str | None = None
    # Text: the assistant's audio transcript or text, or the user's input transcript.
    chunks: list[str] = field(default_factory=list)
    transcript_final: str | None = None
    transcript_state: str = "none"  # none | pending | partial | done | failed
    transcript_error: str | None = None
    # Audio (assistant): bytes received in the output format, and where it was cut.
    audio_bytes: int = 0
    audio_format: str = "audio/pcm"
    truncated_at_ms: int | None = None
    # Audio (user): the VAD span that produced the item.
    audio_start_ms: int | None = None
    audio_end_ms: int | None = None
    # Function calls and their outputs.
    call_id: str | None = None
    name: str | None = None
    arguments_chunks: list[str] = field(default_factory=list)
    arguments_final: str | None = None
    output: str | None = None
    content_types: list[str] = field(default_factory=list)
    # Images the user sent (data URLs, in content order).
    image_urls: list[str] = field(default_factory=list)
    # Input transcription log probabilities (when the session's include asks for them).
    logprobs: list[ev.LogProb] = field(default_factory=list)
    # MCP: the server of a call or approval request; an approval answer's decision.
    server_label: str | None = None
    approval_request_id: str | None = None
    approve: bool | None = None
    reason: str | None = None
    # Produced by an out-of-band response (conversation="none"): kept out of the transcript.
    out_of_band: bool = False
    # Characters of this item's text the state's text budget did not keep (module docstring).
    text_dropped: int = 0
    kept_chars: int = field(default=0, repr=False)  # what of it counts against the budget

    @property
    def text(self) -> str:
        """The transcript or text assembled so far (final text once it is known); when the
        text budget dropped some of it, a ``[N characters not kept: ...]`` marker ends it."""
        kept = self.transcript_final if self.transcript_final is not None else "".join(self.chunks)
        if not self.text_dropped:
            return kept
        marker = f"[{self.text_dropped:,} characters not kept: {TEXT_MARKER}]"
        return f"{kept} {marker}" if kept else marker

    @property
    def arguments(self) -> str:
        return (
            self.arguments_final
            if self.arguments_final is not None
            else "".join(self.arguments_chunks)
        )

    @property
    def audio_ms(self) -> float:
        """Milliseconds of assistant audio received for this item."""
        return self.audio_bytes / BYTES_PER_MS.get(self.audio_format, 48)


@dataclass
class ResponseState:
    """One response: its status, why it ended, usage, and the items it produced."""

    id: str
    status: str = "in_progress"
    status_details: dict[str, Any] | None = None
    usage: ev.Usage | None = None
    item_ids: list[str] = field(default_factory=list)
    conversation_id: str | None = None
    metadata: dict[str, Any] | None = None
    # conversation="none": its items are not in the conversation (nor in ordered_items()).
    out_of_band: bool = False

    @property
    def reason(self) -> str | None:
        details = self.status_details or {}
        reason = details.get("reason")
        return reason if isinstance(reason, str) else None


@dataclass
class VadTurn:
    """A stretch of user speech found by turn detection (times on the input-audio clock)."""

    item_id: str
    audio_start_ms: int
    audio_end_ms: int | None = None
    committed: bool = False
    timeout: bool = False


_USAGE_KEYS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "input_text_tokens",
    "input_audio_tokens",
    "input_cached_tokens",
    "output_text_tokens",
    "output_audio_tokens",
)


class ConversationState:
    """The conversation rebuilt from server events; see the module docstring."""

    def __init__(self, *, max_text_chars: int = TEXT_BUDGET) -> None:
        self.items: dict[str, ItemState] = {}
        self._order = ItemOrder()
        self.text_budget = TextBudget(self.items, max_text_chars)
        self._turn_of: dict[str, VadTurn] = {}  # item id -> its latest VAD turn
        self._assistant_spoke = False
        self.responses: dict[str, ResponseState] = {}
        self.turns: list[VadTurn] = []
        self.errors: list[ev.ErrorDetail] = []
        self.session: dict[str, Any] = {}
        self.rate_limits: list[dict[str, Any]] = []
        self.usage: dict[str, int] = dict.fromkeys(_USAGE_KEYS, 0)
        self.events_applied = 0
        self.unknown_events = 0
        # The item after which the current conversation's "first" items go (None: the front).
        self._conversation_anchor: str | None = None
        self._handlers: dict[str, Callable[[Any], None]] = {
            "session.created": self._session,
            "session.updated": self._session,
            "error": self._error,
            "input_audio_buffer.speech_started": self._speech_started,
            "input_audio_buffer.speech_stopped": self._speech_stopped,
            "input_audio_buffer.committed": self._committed,
            "input_audio_buffer.timeout_triggered": self._timeout,
            "conversation.item.added": self._item_event,
            "conversation.item.done": self._item_event,
            "conversation.item.retrieved": self._item_event,
            "conversation.item.truncated": self._truncated,
            "conversation.item.deleted": self._deleted,
            "conversation.item.input_audio_transcription.delta": self._input_delta,
            "conversation.item.input_audio_transcription.completed": self._input_completed,
            "conversation.item.input_audio_transcription.failed": self._input_failed,
            "response.created": self._response_created,
            "response.done": self._response_done,
            "response.output_item.added": self._output_item,
            "response.output_item.done": self._output_item,
            "response.output_audio.delta": self._audio_delta,
            "response.output_audio_transcript.delta": self._text_delta,
            "response.output_text.delta": self._text_delta,
            "response.output_audio_transcript.done": self._transcript_done,
            "response.output_text.done": self._text_done,
            "response.function_call_arguments.delta": self._args_delta,
            "response.function_call_arguments.done": self._args_done,
            "rate_limits.updated": self._rate_limits,
        }

    # ---- feeding ------------------------------------------------------------------------------

    def apply(self, event: ev.ServerEvent) -> None:
        """Update the state with one server event (unknown types are counted, not fatal)."""
        self.events_applied += 1
        if isinstance(event, ev.UnknownServerEvent):
            self.unknown_events += 1
            return
        handler = self._handlers.get(event.type)
        if handler is not None:
            handler(event)

    def new_conversation(self) -> None:
        """A new server conversation begins (after a reconnect): items it places "first"
        (previous_item_id null) go after everything kept from before, not in front of it."""
        self._conversation_anchor = self._order.last

    # ---- reading ------------------------------------------------------------------------------

    @property
    def max_text_chars(self) -> int:
        """Characters of text kept across all items (module docstring); set when the state
        is made (``ConversationState(max_text_chars=...)``, checked there)."""
        return self.text_budget.max_chars

    @property
    def text_chars(self) -> int:
        """Characters of text kept now, all items (at most ``max_text_chars``)."""
        return self.text_budget.chars

    def ordered_items(self) -> list[ItemState]:
        """Items in conversation order (out-of-band responses' items are not among them)."""
        return [self.items[i] for i in self._order]

    def out_of_band_responses(self) -> list[ResponseState]:
        """Responses created with ``conversation="none"``, in the order they were created."""
        return [r for r in self.responses.values() if r.out_of_band]

    def response_items(self, response_id: str) -> list[ItemState]:
        """The items a response produced (also for an out-of-band one), in output order."""
        response = self.responses.get(response_id)
        if response is None:
            return []
        return [self.items[i] for i in response.item_ids if i in self.items]

    def pending_approvals(self) -> list[ItemState]:
        """MCP approval requests in the conversation that no approval response answers yet."""
        answered = {
            it.approval_request_id
            for it in self.items.values()
            if it.type == "mcp_approval_response"
        }
        return [
            it
            for it in self.ordered_items()
            if it.type == "mcp_approval_request" and it.id not in answered
        ]

    def transcript(self) -> list[tuple[str, str]]:
        """(role, text) of each message, in conversation order."""
        return [
            (it.role or it.type, it.text) for it in self.ordered_items() if it.type == "message"
        ]

    @property
    def active_response(self) -> ResponseState | None:
        """The conversation's response in progress (out-of-band ones run beside it)."""
        for response in reversed(self.responses.values()):
            if response.status == "in_progress" and not response.out_of_band:
                return response
        return None

    @property
    def assistant_has_spoken(self) -> bool:
        """True once any assistant audio arrived (the voice is then fixed)."""
        return self._assistant_spoke

    # ---- handlers -----------------------------------------------------------------------------

    def _output_format(self) -> str:
        audio = self.session.get("audio") or {}
        fmt = (audio.get("output") or {}).get("format") or {}
        kind = fmt.get("type") if isinstance(fmt, dict) else None
        return kind if isinstance(kind, str) else "audio/pcm"

    def _session(self, event: ev.SessionCreated | ev.SessionUpdated) -> None:
        self.session = event.session

    def _error(self, event: ev.ErrorEvent) -> None:
        self.errors.append(event.error)

    def _add_turn(self, turn: VadTurn) -> None:
        self.turns.append(turn)
        self._turn_of[turn.item_id] = turn

    def _speech_started(self, event: ev.SpeechStarted) -> None:
        self._add_turn(VadTurn(event.item_id, event.audio_start_ms))

    def _turn(self, item_id: str) -> VadTurn | None:
        return self._turn_of.get(item_id)

    def _speech_stopped(self, event: ev.SpeechStopped) -> None:
        turn = self._turn(event.item_id)
        if turn is None:
            turn = VadTurn(event.item_id, event.audio_end_ms)
            self._add_turn(turn)
        turn.audio_end_ms = event.audio_end_ms

    def _committed(self, event: ev.InputAudioBufferCommitted) -> None:
        turn = self._turn(event.item_id)
        if turn is not None:
            turn.committed = True
        if event.item_id not in self.items:
            # The user item of the committed audio, in its place: a transcription session
            # announces it only here, and its transcript may arrive after the next turn's.
            state = ItemState(id=event.item_id, type="message", role="user", status="completed")
            state.content_types = ["input_audio"]
            self.items[event.item_id] = state
            explicit = "previous_item_id" in event.model_fields_set
            state.previous_item_id = event.previous_item_id
            self._place(event.item_id, event.previous_item_id, explicit)
            if turn is not None:
                state.audio_start_ms, state.audio_end_ms = turn.audio_start_ms, turn.audio_end_ms

    def _timeout(self, event: ev.InputAudioBufferTimeoutTriggered) -> None:
        self._add_turn(
            VadTurn(
                event.item_id,
                event.audio_start_ms,
                event.audio_end_ms,
                committed=True,
                timeout=True,
            )
        )

    def _place(self, item_id: str, previous: str | None, explicit: bool) -> None:
        """Put ``item_id`` after ``previous`` (first when explicitly None, else last)."""
        order = self._order
        if item_id in order:
            if not explicit:
                return
            self._unplace(item_id)
        if previous is not None and previous in self.items and previous in order:
            order.insert_after(previous, item_id)
        elif explicit and previous is None:
            order.insert_after(self._conversation_anchor, item_id)
        else:
            order.append(item_id)

    def _unplace(self, item_id: str) -> None:
        """Take an id out of the order (the new conversation's anchor moves back past it)."""
        if item_id == self._conversation_anchor:
            self._conversation_anchor = self._order.before(item_id)
        self._order.remove(item_id)

    def _upsert(
        self, item: ev.Item, previous: str | None, explicit: bool, *, out_of_band: bool = False
    ) -> ItemState:
        item_id = item.id or f"_local_{len(self.items)}"
        state = self.items.get(item_id)
        if state is None:
            state = ItemState(id=item_id, type=item.type, audio_format=self._output_format())
            self.items[item_id] = state
        state.type = item.type or state.type
        extra = item.model_extra or {}
        for key in ("server_label", "approval_request_id", "reason"):
            if isinstance(extra.get(key), str):
                setattr(state, key, extra[key])
        if isinstance(extra.get("approve"), bool):
            state.approve = extra["approve"]
        state.role = item.role or state.role
        state.status = item.status or state.status
        state.call_id = item.call_id or state.call_id
        state.name = item.name or state.name
        # A function call's arguments are final once it is completed; MCP records have no status.
        if item.arguments is not None and (item.status == "completed" or item.status is None):
            state.arguments_final = item.arguments
        if item.output is not None:
            state.output = item.output
        had_final = state.transcript_final
        if item.content:
            state.content_types = [p.type for p in item.content]
            images = [(p.model_extra or {}).get("image_url") for p in item.content]
            state.image_urls = [u for u in images if isinstance(u, str)] or state.image_urls
            if state.role == "user":
                self._user_content(state, item)
            else:
                texts = [p.transcript or p.text for p in item.content if (p.transcript or p.text)]
                if texts and item.status == "completed" and state.transcript_final is None:
                    state.transcript_final = "".join(t for t in texts if t)
        self.text_budget.measure(state, fresh_final=state.transcript_final is not had_final)
        if out_of_band or state.out_of_band:
            state.out_of_band = True
            return state
        if explicit:
            state.previous_item_id = previous
        self._place(item_id, previous, explicit)
        turn = self._turn(item_id)
        if turn is not None:
            state.audio_start_ms, state.audio_end_ms = turn.audio_start_ms, turn.audio_end_ms
        return state

    @staticmethod
    def _user_content(state: ItemState, item: ev.Item) -> None:
        typed = [p.text for p in item.content if p.type == "input_text" and p.text is not None]
        heard = [p.transcript for p in item.content if p.type == "input_audio" and p.transcript]
        if typed and not heard:
            state.transcript_final = "".join(typed)
            state.transcript_state = "done"
        elif heard and state.transcript_state != "done":
            state.transcript_final = "".join(heard)
            state.transcript_state = "done"
        elif (
            any(p.type == "input_audio" for p in item.content) and state.transcript_state == "none"
        ):
            state.transcript_state = "pending"

    def _item_event(
        self,
        event: ev.ConversationItemAdded | ev.ConversationItemDone | ev.ConversationItemRetrieved,
    ) -> None:
        explicit = "previous_item_id" in event.model_fields_set
        previous = getattr(event, "previous_item_id", None)
        self._upsert(event.item, previous, explicit)

    def _output_item(self, event: ev.ResponseOutputItemAdded | ev.ResponseOutputItemDone) -> None:
        response = self.responses.get(event.response_id)
        oob = response is not None and response.out_of_band
        state = self._upsert(event.item, None, explicit=False, out_of_band=oob)
        state.response_id = event.response_id
        if response is not None and state.id not in response.item_ids:
            response.item_ids.append(state.id)

    def _item(self, item_id: str) -> ItemState:
        state = self.items.get(item_id)
        if state is None:  # a delta before its item: keep the data, place it last
            state = ItemState(id=item_id, type="message", audio_format=self._output_format())
            self.items[item_id] = state
            self._order.append(item_id)
        return state

    def _truncated(self, event: ev.ConversationItemTruncated) -> None:
        self._item(event.item_id).truncated_at_ms = event.audio_end_ms

    def _deleted(self, event: ev.ConversationItemDeleted) -> None:
        state = self.items.pop(event.item_id, None)
        if state is not None:
            self.text_budget.forget(state)
        if event.item_id in self._order:
            self._unplace(event.item_id)

    def _input_delta(self, event: ev.InputTranscriptionDelta) -> None:
        state = self._item(event.item_id)
        if state.transcript_state != "done":
            self.text_budget.append(state, state.chunks, event.delta)
            state.logprobs.extend(event.logprobs or [])
            state.transcript_state = "partial"

    def _input_completed(self, event: ev.InputTranscriptionCompleted) -> None:
        state = self._item(event.item_id)
        state.transcript_final = event.transcript
        state.transcript_state = "done"
        self.text_budget.measure(state, fresh_final=True)
        if event.logprobs is not None:
            state.logprobs = list(event.logprobs)

    def _input_failed(self, event: ev.InputTranscriptionFailed) -> None:
        state = self._item(event.item_id)
        state.transcript_state = "failed"
        state.transcript_error = event.error.message

    @staticmethod
    def _is_out_of_band(response: ev.Response) -> bool:
        # GA: conversation_id is null for conversation="none" (beta peers leave the key out).
        return "conversation_id" in response.model_fields_set and response.conversation_id is None

    def _response_created(self, event: ev.ResponseCreated) -> None:
        r = event.response
        self.responses[r.id] = ResponseState(
            r.id,
            r.status,
            conversation_id=r.conversation_id,
            metadata=r.metadata,
            out_of_band=self._is_out_of_band(r),
        )

    def _response_done(self, event: ev.ResponseDone) -> None:
        r = event.response
        state = self.responses.setdefault(
            r.id, ResponseState(r.id, out_of_band=self._is_out_of_band(r))
        )
        state.status = r.status
        state.status_details = r.status_details
        state.usage = r.usage
        state.metadata = r.metadata if r.metadata is not None else state.metadata
        for item in r.output:
            if item.id and item.id not in state.item_ids:
                state.item_ids.append(item.id)
            if item.id and state.out_of_band:
                self._upsert(item, None, explicit=False, out_of_band=True).response_id = r.id
        if r.usage is not None:
            self._add_usage(r.usage)

    def _add_usage(self, usage: ev.Usage) -> None:
        totals = self.usage
        totals["input_tokens"] += usage.input_tokens
        totals["output_tokens"] += usage.output_tokens
        totals["total_tokens"] += usage.total_tokens
        inp = usage.input_token_details or {}
        out = usage.output_token_details or {}
        totals["input_text_tokens"] += int(inp.get("text_tokens") or 0)
        totals["input_audio_tokens"] += int(inp.get("audio_tokens") or 0)
        totals["input_cached_tokens"] += int(inp.get("cached_tokens") or 0)
        totals["output_text_tokens"] += int(out.get("text_tokens") or 0)
        totals["output_audio_tokens"] += int(out.get("audio_tokens") or 0)

    def _audio_delta(self, event: ev.ResponseOutputAudioDelta) -> None:
        state = self._item(event.item_id)
        state.audio_bytes += base64_decoded_size(event.delta)
        self._assistant_spoke = True  # output audio is the assistant's voice

    def _text_delta(
        self, event: ev.ResponseOutputAudioTranscriptDelta | ev.ResponseOutputTextDelta
    ) -> None:
        state = self._item(event.item_id)
        self.text_budget.append(state, state.chunks, event.delta)

    def _transcript_done(self, event: ev.ResponseOutputAudioTranscriptDone) -> None:
        state = self._item(event.item_id)
        state.transcript_final = event.transcript
        self.text_budget.measure(state, fresh_final=True)

    def _text_done(self, event: ev.ResponseOutputTextDone) -> None:
        state = self._item(event.item_id)
        state.transcript_final = event.text
        self.text_budget.measure(state, fresh_final=True)

    def _args_delta(self, event: ev.FunctionCallArgumentsDelta) -> None:
        state = self._item(event.item_id)
        state.type = "function_call"
        state.call_id = event.call_id
        self.text_budget.append(state, state.arguments_chunks, event.delta)

    def _args_done(self, event: ev.FunctionCallArgumentsDone) -> None:
        state = self._item(event.item_id)
        state.type = "function_call"
        state.call_id = event.call_id
        state.name = event.name or state.name
        state.arguments_final = event.arguments
        self.text_budget.measure(state)

    def _rate_limits(self, event: ev.RateLimitsUpdated) -> None:
        self.rate_limits = event.rate_limits
