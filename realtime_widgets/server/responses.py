"""Responses: ``response.create`` / ``response.cancel``, the reply's context and its paced events.

Part of :class:`~.engine.SessionEngine` (sans-I/O). A response is created from the session's
config with the per-response overrides, handed to the I/O layer as a :class:`ReplyRequest`
(responder + speech run there), and when the :class:`ReplyMaterial` comes back its events are
scheduled on the clock and released by ``tick``. One response at a time, as OpenAI enforces;
a cancelled response ends where it stands (text and audio as far as they were sent).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from realtime_widgets.errors import ConfigError
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.client_events import ResponseParams
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.images import ImageInfo
from realtime_widgets.protocol.state import base64_decoded_size
from realtime_widgets.protocol.wire import check_rules
from realtime_widgets.server.conversation import ItemRejected, StoredItem
from realtime_widgets.server.responder import FunctionCall, ReplyContext, estimate_text_tokens
from realtime_widgets.server.script import (
    ReplyPlan,
    build_script,
    plan_reply,
)
from realtime_widgets.server.tts import Speech

if TYPE_CHECKING:
    from realtime_widgets.server.engine import SessionEngine

__all__ = ["DEFAULT_INSTRUCTIONS", "ActiveResponse", "ReplyMaterial", "ReplyRequest", "Responses"]

DEFAULT_INSTRUCTIONS = (
    "Local realtime_widgets server: there is no language model here; replies report what the "
    "server measured and the session's settings."
)

Events = list[dict[str, Any]]
# The per-response parameters that override the session's field of the same name.
_CONFIG_FIELDS = tuple(n for n in ResponseParams.model_fields if n in SessionConfig.model_fields)


@dataclass
class ReplyRequest:
    """Work for the I/O layer: compute a reply (responder, then speech) for this response."""

    response_id: str
    context: ReplyContext
    modalities: list[str]
    voice: str
    speed: float


@dataclass
class ReplyMaterial:
    """A computed reply: the responder's value, speech when audio was asked for, or why not."""

    value: str | FunctionCall
    speech: Speech | None = None
    speech_error: str | None = None


@dataclass
class ActiveResponse:
    """A response the server is producing (or has just ended)."""

    id: str
    in_conversation: bool
    config: SessionConfig
    modalities: list[str]
    metadata: dict[str, Any] | None
    trigger: str
    pending: deque[tuple[float, dict[str, Any]]] = field(default_factory=deque)
    status: str = "in_progress"
    item: dict[str, Any] | None = None
    plan: ReplyPlan | None = None
    audio_sent_bytes: int = 0
    first_audio_at: float | None = None
    text_sent: list[str] = field(default_factory=list)
    input_tokens: int = 0
    input_audio_tokens: int = 0
    input_text_tokens: int = 0
    input_image_tokens: int = 0


class Responses:
    """The session's response in progress, and the reply requests waiting for the I/O layer."""

    def __init__(self, engine: SessionEngine) -> None:
        self.engine = engine
        self.current: ActiveResponse | None = None
        self.requests: deque[ReplyRequest] = deque()

    @property
    def active(self) -> ActiveResponse | None:
        """The response in progress, or None."""
        r = self.current
        return r if r is not None and r.status == "in_progress" else None

    @property
    def next_due(self) -> float | None:
        """When the next paced event of the response is due."""
        r = self.current
        return r.pending[0][0] if r is not None and r.pending else None

    def release_due(self, now: float) -> Events:
        """The paced events whose time has come."""
        out: Events = []
        r = self.current
        while r is not None and r.pending and r.pending[0][0] <= now:
            _, event = r.pending.popleft()
            out.extend(self._release(r, event, now))
            r = self.current
        return out

    # ---- creating -----------------------------------------------------------------------------

    def on_create(self, e: ev.ResponseCreate, now: float) -> Events:
        r = self.active
        if r is not None:
            return [
                self.engine.error(
                    f"Conversation already has an active response in progress: {r.id}. "
                    "Wait until the "
                    "response is finished before creating a new one.",
                    "conversation_already_has_active_response",
                    None,
                    e.event_id,
                )
            ]
        return self.create(e.response, now, trigger="response.create", client_id=e.event_id)

    def on_output_audio_clear(self, e: ev.OutputAudioBufferClear, now: float) -> Events:
        return [
            self.engine.error(
                "output_audio_buffer.clear is only available over WebRTC and SIP.",
                "invalid_value",
                "type",
                e.event_id,
            )
        ]

    def config_for(self, params: ResponseParams | None) -> SessionConfig:
        """The session's config with a response's overrides (shape checked by the model; the
        values and the cross-field rules by SessionConfig, naming ``response.<field>``)."""
        if params is None:
            return self.engine.config
        changes: dict[str, Any] = {
            name: getattr(params, name)
            for name in _CONFIG_FIELDS
            if getattr(params, name) is not None
        }
        out = params.audio.output if params.audio is not None else None
        if out is not None and out.voice is not None:
            changes["voice"] = out.voice
        if out is not None and out.format is not None:
            changes["output_audio_format"] = out.format
        if not changes:
            return self.engine.config
        try:
            cfg = self.engine.config.with_changes(changes)
            check_rules(cfg, "beta" if self.engine.options.dialect == "beta" else "ga")
        except ConfigError as exc:
            first = exc.problems[0]
            raise ConfigError.single(
                first.field, first.message, code=first.code, param=f"response.{first.field}"
            ) from None
        return cfg

    def create(
        self,
        params: ResponseParams | None,
        now: float,
        *,
        trigger: str,
        client_id: str | None = None,
    ) -> Events:
        """Start a response (its events, and a :class:`ReplyRequest` for the I/O layer)."""
        try:
            cfg = self.config_for(params)
        except ConfigError as exc:
            first = exc.problems[0]
            return [self.engine.error(first.message, first.code, first.param, client_id)]
        in_conversation = params is None or params.conversation != "none"
        # ``input`` is the response's whole context (OpenAI: "creates a new context for this
        # Response instead of using the default conversation"; [] clears it).
        context_items = self.engine.conversation.ordered()
        if params is not None and params.input is not None:
            try:
                context_items = self.engine.conversation.read_input(params.input)
            except ItemRejected as exc:
                return [self.engine.error(exc.message, "invalid_value", exc.param, client_id)]
        metadata = dict(params.metadata) if params is not None and params.metadata else None
        rid = self.engine.new_id("resp")
        r = ActiveResponse(
            rid, in_conversation, cfg, list(cfg.output_modalities), metadata, trigger
        )
        self.current = r
        text_tokens, audio_tokens, image_tokens = self._context_tokens(cfg, context_items)
        r.input_text_tokens, r.input_audio_tokens = text_tokens, audio_tokens
        r.input_image_tokens = image_tokens
        r.input_tokens = text_tokens + audio_tokens + image_tokens
        out = [
            self.engine.event(
                {"type": "response.created", "response": self._response_object(r, [])}
            )
        ]
        if self.engine.options.rate_limits:
            out.append(
                self.engine.event(
                    {
                        "type": "rate_limits.updated",
                        "rate_limits": [
                            {
                                "name": "requests",
                                "limit": 10000,
                                "remaining": 9999,
                                "reset_seconds": 0.006,
                            },
                            {
                                "name": "tokens",
                                "limit": 1000000,
                                "remaining": 1000000 - r.input_tokens,
                                "reset_seconds": 0.06,
                            },
                        ],
                    }
                )
            )
        self.requests.append(
            ReplyRequest(
                rid,
                self._context(
                    cfg,
                    trigger,
                    {} if params is None else params.model_dump(exclude_none=True),
                    context_items,
                ),
                r.modalities,
                cfg.voice if isinstance(cfg.voice, str) else "alloy",
                cfg.speed,
            )
        )
        return out

    def _context_tokens(self, cfg: SessionConfig, items: list[StoredItem]) -> tuple[int, int, int]:
        """The (text, audio, image) tokens of the instructions and the context ``items``."""
        text = estimate_text_tokens(cfg.instructions or "")
        audio = image = 0
        for item in items:
            item_text, item_audio, item_image = item.tokens()
            text, audio, image = text + item_text, audio + item_audio, image + item_image
        return text, audio, image

    def _context(
        self, cfg: SessionConfig, trigger: str, params: dict[str, Any], items: list[StoredItem]
    ) -> ReplyContext:
        """What the responder sees: ``items`` (the conversation, or a response's own
        ``input``), their last user turn (text, audio, images) and tool output, the settings."""
        conversation = [item.data for item in items]
        # A tool's output is answered when it is the newest item (the model's next step).
        last_tool = None
        if items and items[-1].data.get("type") == "function_call_output":
            output = items[-1].data
            call = next(
                (
                    i.data
                    for i in items
                    if i.data.get("type") == "function_call"
                    and i.data.get("call_id") == output.get("call_id")
                ),
                None,
            )
            last_tool = (str(call.get("name")) if call else "function", str(output.get("output")))
        last_user_text = last_speech = None
        images: list[ImageInfo] = []
        user = next(
            (
                i
                for i in reversed(items)
                if i.data.get("type") == "message" and i.data.get("role") == "user"
            ),
            None,
        )
        if user is not None:
            for part in user.data.get("content", []):
                if part.get("type") == "input_text":
                    last_user_text = part.get("text")
                elif part.get("type") == "input_audio" and part.get("transcript"):
                    last_user_text = part["transcript"]
            if user.audio is not None:
                last_speech = len(user.audio) / 24
            images = user.images
        td = cfg.turn_detection
        return ReplyContext(
            config=cfg,
            conversation=conversation,
            instructions=cfg.instructions if cfg.instructions != DEFAULT_INSTRUCTIONS else None,
            last_user_text=last_user_text,
            last_user_speech_ms=last_speech,
            last_user_audio=None if user is None else user.audio,
            last_tool_output=last_tool,
            last_user_images=tuple(images),
            trigger=trigger,
            measurements={
                "input_ms": self.engine.input.input_ms,
                "turn_detection": None if td is None else td.type,
                "response_params": params,
            },
        )

    def schedule(self, request: ReplyRequest, material: ReplyMaterial, now: float) -> bool:
        """Schedule the events of ``request``'s computed reply; False if it was cancelled."""
        r = self.active
        if r is None or r.id != request.response_id:
            return False
        value = material.value
        text = value if isinstance(value, str) else None
        call = value if isinstance(value, FunctionCall) else None
        speech = material.speech if "audio" in r.modalities else None
        plan = plan_reply(text, call, speech, r.config.max_output_tokens)
        if "audio" in r.modalities and speech is None and call is None:
            plan.note = material.speech_error
        r.plan = plan
        item_id = self.engine.new_id("item")
        conversation = self.engine.conversation
        previous = conversation.last_id if r.in_conversation else None
        script, done_item = build_script(
            response_id=r.id,
            item_id=item_id,
            previous_item_id=previous,
            in_conversation=r.in_conversation,
            plan=plan,
            modalities=r.modalities,
            output_format=r.config.output_audio_format.type,
            call_id=self.engine.new_id("call"),
        )
        r.item = done_item
        if r.in_conversation:
            stored = StoredItem(
                dict(done_item, status="in_progress"),
                None,
                list(zip(plan.word_starts_ms, plan.words, strict=False)),
                r.config.output_audio_format.type,
            )
            if plan.samples is not None and "audio" in r.modalities:
                stored.audio = np.zeros(0, dtype=np.int16)
            self.engine.conversation.insert(stored, previous)
        pace, lead = self.engine.options.pace, self.engine.options.lead
        for offset, event in sorted(script.events, key=lambda p: p[0]):
            due = max(0.0, offset - lead) / pace if pace > 0 else 0.0
            r.pending.append((now + due, event))
        finish_at = r.pending[-1][0] if r.pending else now
        r.pending.append((finish_at, {"type": "_finish"}))
        return True

    def _release(self, r: ActiveResponse, event: dict[str, Any], now: float) -> Events:
        kind = event["type"]
        if kind == "_finish":
            status = "incomplete" if (r.plan is not None and r.plan.incomplete) else "completed"
            details = (
                {"type": "incomplete", "reason": "max_output_tokens"}
                if status == "incomplete"
                else None
            )
            return self.finish(r, status, details, now)
        if kind == "response.output_audio.delta":
            r.audio_sent_bytes += base64_decoded_size(event["delta"])
            r.first_audio_at = r.first_audio_at if r.first_audio_at is not None else now
            self.engine.voice_locked = True
            self._grow_stored_audio(r)
        elif kind in ("response.output_audio_transcript.delta", "response.output_text.delta"):
            r.text_sent.append(event["delta"])
        elif kind == "conversation.item.done" and r.item is not None:
            stored = self.engine.conversation.items.get(r.item["id"])
            if stored is not None:
                stored.end_reply(event["item"])
        return [self.engine.event(event)]

    def _grow_stored_audio(self, r: ActiveResponse) -> None:
        if r.item is None or r.plan is None or r.plan.samples is None:
            return
        stored = self.engine.conversation.items.get(r.item["id"])
        if stored is None:
            return
        fmt = r.config.output_audio_format.type
        sent_ms = r.audio_sent_bytes / (48 if fmt == "audio/pcm" else 8)
        stored.grow_reply_audio(r.plan.samples[: int(sent_ms * 24)])

    def finish(
        self, r: ActiveResponse, status: str, details: dict[str, Any] | None, now: float
    ) -> Events:
        """End a response: completed, incomplete, or cancelled where it stands."""
        out: Events = []
        cancelled = status == "cancelled"
        r.status = status
        r.pending.clear()
        output: Events = []
        if r.item is not None:
            item = dict(r.item)
            if cancelled:
                sent = "".join(r.text_sent)
                item["status"] = "incomplete"
                if item.get("type") == "message":
                    key = (
                        "transcript"
                        if "audio" in r.modalities
                        and r.plan is not None
                        and r.plan.samples is not None
                        else "text"
                    )
                    item["content"] = [
                        {
                            "type": "output_audio" if key == "transcript" else "output_text",
                            key: sent,
                        }
                    ]
                stored = self.engine.conversation.items.get(item["id"])
                if stored is not None:
                    stored.words = stored.words[: len(r.text_sent)]
                    stored.end_reply(item)
                out.append(
                    self.engine.event(
                        {
                            "type": "response.output_item.done",
                            "response_id": r.id,
                            "output_index": 0,
                            "item": item,
                        }
                    )
                )
            output = [item]
        if self.current is r:
            self.current = None
        self.engine.conversation.fit()  # the reply's audio has grown the context
        usage = self._usage(r)
        done = self._response_object(r, output, status=status, details=details, usage=usage)
        out.append(self.engine.event({"type": "response.done", "response": done}))
        if r.in_conversation:
            played = 0.0
            if r.plan is not None and r.plan.samples is not None and r.first_audio_at is not None:
                elapsed = (now - r.first_audio_at) * 1000
                played = max(0.0, min(r.plan.audio_ms, r.audio_sent_bytes / 48) - elapsed)
            self.engine.input.idle_anchor_ms = self.engine.input.input_ms + played
        return out

    def _usage(self, r: ActiveResponse) -> dict[str, Any]:
        """``response.usage`` as OpenAI shapes it, counted by the local rule (:mod:`.script`).
        That it is an estimate is said where a person reads it, never on the wire."""
        plan = r.plan
        sent_text = "".join(r.text_sent)
        if plan is None:
            out_text = out_audio = 0
        elif plan.function_call is not None:
            out_text, out_audio = plan.text_tokens, 0
        else:
            out_text = (
                estimate_text_tokens(sent_text) if r.status == "cancelled" else plan.text_tokens
            )
            fmt_bytes_per_ms = 48 if r.config.output_audio_format.type == "audio/pcm" else 8
            audio_ms = r.audio_sent_bytes / fmt_bytes_per_ms
            out_audio = math.ceil(audio_ms / 1000 * 20) if plan.samples is not None else 0
        return {
            "total_tokens": r.input_tokens + out_text + out_audio,
            "input_tokens": r.input_tokens,
            "output_tokens": out_text + out_audio,
            "input_token_details": {
                "text_tokens": r.input_text_tokens,
                "audio_tokens": r.input_audio_tokens,
                "cached_tokens": 0,
                "image_tokens": r.input_image_tokens,
            },
            "output_token_details": {"text_tokens": out_text, "audio_tokens": out_audio},
        }

    def _response_object(
        self,
        r: ActiveResponse,
        output: Events,
        *,
        status: str = "in_progress",
        details: dict[str, Any] | None = None,
        usage: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "object": "realtime.response",
            "id": r.id,
            "status": status,
            "status_details": details,
            "output": output,
            "conversation_id": "conv_local" if r.in_conversation else None,
            "output_modalities": r.modalities,
            "max_output_tokens": r.config.max_output_tokens,
            "audio": {
                "output": {
                    "format": r.config.output_audio_format.model_dump(),
                    "voice": r.config.voice
                    if isinstance(r.config.voice, str)
                    else r.config.voice.id,
                }
            },
            "usage": usage,
            "metadata": r.metadata,
        }
        if r.plan is not None and r.plan.note and status != "in_progress":
            obj["metadata"] = {**(r.metadata or {}), "local_note": r.plan.note}
        return obj

    def on_cancel(self, e: ev.ResponseCancel, now: float) -> Events:
        r = self.current
        if (
            r is None
            or r.status != "in_progress"
            or (e.response_id is not None and e.response_id != r.id)
        ):
            return [
                self.engine.error(
                    "Cancellation failed: no active response found.",
                    "response_cancel_not_active",
                    None,
                    e.event_id,
                )
            ]
        return self.finish(r, "cancelled", {"type": "cancelled", "reason": "client_cancelled"}, now)
