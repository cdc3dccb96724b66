"""Responses: ``response.create`` / ``response.cancel``, a response's lifecycle and its paced
events.

A part of a session engine (sans-I/O): it owns the response in progress and the reply requests
waiting for the I/O layer, writes through an :class:`~.emitter.Emitter`, and reads the session's
config through a callable. It never touches another part: what matters elsewhere it returns as
outcomes (:mod:`.outcomes`) among its events, and the engine routes them.

A response is created from the session's config with the per-response overrides and a context
(the conversation's items, or the response's own ``input``, which the engine hands in), and
handed to the I/O layer as a :class:`~.reply.material.ReplyRequest` (responder + speech run
there). When its :class:`~.reply.material.ReplyMaterial` comes back, its events
(:mod:`.reply.timeline`) are scheduled on the clock and released by ``tick``. One response at a
time, as OpenAI enforces; a cancelled response ends where it stands (text and audio as far as
they were sent).
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from realtime_widgets.audio.formats import bytes_per_ms
from realtime_widgets.audio.rate import ms_to_samples, samples_to_ms
from realtime_widgets.errors import ConfigError
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.client_events import ResponseParams
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.images import ImageInfo
from realtime_widgets.protocol.state import base64_decoded_size
from realtime_widgets.protocol.wire import check_rules
from realtime_widgets.server.conversation import ItemRejected, StoredItem
from realtime_widgets.server.emitter import Emitter, Event
from realtime_widgets.server.options import EngineOptions
from realtime_widgets.server.outcomes import (
    ReplyAudioSent,
    ReplyFinished,
    ReplyItemDone,
    ReplyScheduled,
    ResponseRequested,
    Steps,
)
from realtime_widgets.server.reply.material import ReplyMaterial, ReplyRequest
from realtime_widgets.server.reply.responder import (
    DEFAULT_INSTRUCTIONS,
    FunctionCall,
    ReplyContext,
)
from realtime_widgets.server.reply.timeline import ReplyPlan, build_script, plan_reply
from realtime_widgets.server.reply.usage import (
    AUDIO_TOKENS_PER_SECOND_OUT,
    ContextTokens,
    audio_tokens_for_ms,
    estimate_text_tokens,
    response_usage,
)

__all__ = ["DEFAULT_INSTRUCTIONS", "ActiveResponse", "Responses"]

# The per-response parameters that override the session's field of the same name.
_CONFIG_FIELDS = tuple(n for n in ResponseParams.model_fields if n in SessionConfig.model_fields)
_FINISH: Event = {"type": "_finish"}  # the marker after a reply's last event (never sent)


@dataclass
class ActiveResponse:
    """A response the server is producing (or has just ended)."""

    id: str
    in_conversation: bool
    config: SessionConfig
    modalities: list[str]
    metadata: dict[str, Any] | None
    trigger: str
    context: ContextTokens = field(default_factory=ContextTokens)
    pending: deque[tuple[float, Event]] = field(default_factory=deque)
    status: str = "in_progress"
    item: dict[str, Any] | None = None
    plan: ReplyPlan | None = None
    audio_sent_bytes: int = 0
    first_audio_at: float | None = None
    audio_untold: bool = False  # audio released since the last ReplyAudioSent
    text_sent: list[str] = field(default_factory=list)

    @property
    def audio_sent_ms(self) -> float:
        """Milliseconds of the reply's audio released so far (in its output format)."""
        return self.audio_sent_bytes / bytes_per_ms(self.config.output_audio_format.type)


@dataclass
class _Held:
    """A reply request waiting for what the server is still hearing in its context's audio."""

    request: ReplyRequest
    unheard: set[str]
    last_user: str | None


class Responses:
    """The session's response in progress, and the reply requests waiting for the I/O layer
    (a request whose context holds a user turn still being transcribed is held until the
    transcript is known: :meth:`heard`)."""

    def __init__(
        self, out: Emitter, config: Callable[[], SessionConfig], options: EngineOptions
    ) -> None:
        self.out = out
        self._config = config
        self._options = options
        self.current: ActiveResponse | None = None
        self.requests: deque[ReplyRequest] = deque()
        self.held: list[_Held] = []

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

    def take_requests(self) -> list[ReplyRequest]:
        """The replies to compute, oldest first (each is handed out once)."""
        taken = list(self.requests)
        self.requests.clear()
        return taken

    def heard(self, item_id: str, text: str | None) -> None:
        """What the server heard in user turn ``item_id`` (None: nothing, its transcription
        failed): the held requests whose context holds it see it, and those that wait for
        nothing more are handed out."""
        still: list[_Held] = []
        for held in self.held:
            if item_id in held.unheard:
                held.unheard.discard(item_id)
                if text is not None:
                    held.request.context = _with_heard(
                        held.request.context, item_id, text, last_user=held.last_user
                    )
            if held.unheard:
                still.append(held)
            elif self.active is not None and self.active.id == held.request.response_id:
                self.requests.append(held.request)
        self.held = still

    def release_due(self, now: float) -> Steps:
        """The paced events whose time has come (and what releasing them changed: the audio
        sent is told once per call, :class:`~.outcomes.ReplyAudioSent`, not once per delta)."""
        out: Steps = []
        r = self.current
        while r is not None and r.pending and r.pending[0][0] <= now:
            _, event = r.pending.popleft()
            out.extend(self._release(r, event, now))
            r = self.current
        if r is not None:  # (a reply that ended told its audio as it ended)
            out.extend(self._tell_audio(r))
        return out

    # ---- creating -----------------------------------------------------------------------------

    def on_create(self, e: ev.ResponseCreate, now: float) -> Steps:
        """``response.create``: refused while one is in progress; else the engine creates it
        (it holds the conversation the response reads)."""
        r = self.active
        if r is not None:
            return [
                self.out.error(
                    f"Conversation already has an active response in progress: {r.id}. "
                    "Wait until the "
                    "response is finished before creating a new one.",
                    "conversation_already_has_active_response",
                    None,
                    e.event_id,
                )
            ]
        return [ResponseRequested(e.response, e.event_id)]

    def on_output_audio_clear(self, e: ev.OutputAudioBufferClear, now: float) -> Steps:
        return [
            self.out.error(
                "output_audio_buffer.clear is only available over WebRTC and SIP.",
                "invalid_value",
                "type",
                e.event_id,
            )
        ]

    def config_for(self, params: ResponseParams | None) -> SessionConfig:
        """The session's config with a response's overrides (shape checked by the model; the
        values and the cross-field rules by SessionConfig, naming ``response.<field>``)."""
        config = self._config()
        if params is None:
            return config
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
            return config
        try:
            cfg = config.with_changes(changes)
            check_rules(cfg, self._options.rules_dialect)
        except ConfigError as exc:
            first = exc.problems[0]
            raise ConfigError.single(
                first.field, first.message, code=first.code, param=f"response.{first.field}"
            ) from None
        return cfg

    def create(
        self,
        params: ResponseParams | None,
        context: list[StoredItem] | ItemRejected,
        now: float,
        *,
        trigger: str,
        input_ms: float,
        client_id: str | None = None,
        unheard: Collection[str] = (),
    ) -> Steps:
        """Start a response (its events, and a :class:`ReplyRequest` for the I/O layer).
        ``context``: the items it reads (the conversation, or its own ``input`` as read by
        the conversation, or why that could not be read); ``input_ms``: the input timeline's
        length, which the responder sees; ``unheard``: user turns still being transcribed
        (the request is held until they are, :meth:`heard`; ``response.created`` goes out at
        once)."""
        try:
            cfg = self.config_for(params)
        except ConfigError as exc:
            first = exc.problems[0]
            return [self.out.error(first.message, first.code, first.param, client_id)]
        if isinstance(context, ItemRejected):
            return [self.out.error(context.message, "invalid_value", context.param, client_id)]
        in_conversation = params is None or params.conversation != "none"
        metadata = dict(params.metadata) if params is not None and params.metadata else None
        rid = self.out.new_id("resp")
        r = ActiveResponse(
            rid,
            in_conversation,
            cfg,
            list(cfg.output_modalities),
            metadata,
            trigger,
            context=_context_tokens(cfg, context),
        )
        self.current = r
        out: Steps = [self.out.event(ev.ResponseCreated, response=self._response_object(r, []))]
        if self._options.rate_limits:
            out.append(
                self.out.event(
                    ev.RateLimitsUpdated,
                    rate_limits=[
                        {
                            "name": "requests",
                            "limit": 10000,
                            "remaining": 9999,
                            "reset_seconds": 0.006,
                        },
                        {
                            "name": "tokens",
                            "limit": 1000000,
                            "remaining": 1000000 - r.context.total,
                            "reset_seconds": 0.06,
                        },
                    ],
                )
            )
        request = ReplyRequest(
            rid,
            _reply_context(
                cfg,
                trigger,
                {} if params is None else params.model_dump(exclude_none=True),
                context,
                input_ms,
            ),
            r.modalities,
            cfg.voice if isinstance(cfg.voice, str) else "alloy",
            cfg.speed,
        )
        waiting = {str(i.data.get("id")) for i in context if i.data.get("id") in unheard}
        if waiting:
            user = _last_user(context)
            self.held.append(_Held(request, waiting, None if user is None else user.id))
        else:
            self.requests.append(request)
        return out

    # ---- the reply's events -------------------------------------------------------------------

    def schedule(
        self, request: ReplyRequest, material: ReplyMaterial, now: float, *, previous: str | None
    ) -> Steps | None:
        """Schedule the events of ``request``'s computed reply, its item to follow
        ``previous`` (the conversation's last item); None if the response has ended."""
        r = self.active
        if r is None or r.id != request.response_id:
            return None
        value = material.value
        text = value if isinstance(value, str) else None
        call = value if isinstance(value, FunctionCall) else None
        speech = material.speech if "audio" in r.modalities else None
        plan = plan_reply(text, call, speech, r.config.max_output_tokens)
        if "audio" in r.modalities and speech is None and call is None:
            plan.note = material.speech_error
        r.plan = plan
        item_id = self.out.new_id("item")
        previous = previous if r.in_conversation else None
        script, done_item = build_script(
            response_id=r.id,
            item_id=item_id,
            previous_item_id=previous,
            in_conversation=r.in_conversation,
            plan=plan,
            modalities=r.modalities,
            output_format=r.config.output_audio_format.type,
            call_id=self.out.new_id("call"),
        )
        r.item = done_item
        scheduled = ReplyScheduled(
            r.id,
            dict(done_item, status="in_progress"),
            tuple(zip(plan.word_starts_ms, plan.words, strict=False)),
            r.config.output_audio_format.type,
            plan.samples is not None and "audio" in r.modalities,
            r.in_conversation,
            previous,
        )
        pace, lead = self._options.pace, self._options.lead
        for offset, event in sorted(script.events, key=lambda p: p[0]):
            due = max(0.0, offset - lead) / pace if pace > 0 else 0.0
            r.pending.append((now + due, event))
        finish_at = r.pending[-1][0] if r.pending else now
        r.pending.append((finish_at, _FINISH))
        return [scheduled]

    def _release(self, r: ActiveResponse, event: Event, now: float) -> Steps:
        if event is _FINISH:
            status = "incomplete" if (r.plan is not None and r.plan.incomplete) else "completed"
            details = (
                {"type": "incomplete", "reason": "max_output_tokens"}
                if status == "incomplete"
                else None
            )
            return self._finish(r, status, details, now)
        kind = event["type"]
        if kind == "response.output_audio.delta":
            r.audio_sent_bytes += base64_decoded_size(event["delta"])
            r.first_audio_at = r.first_audio_at if r.first_audio_at is not None else now
            r.audio_untold = True
        elif kind in ("response.output_audio_transcript.delta", "response.output_text.delta"):
            r.text_sent.append(event["delta"])
        elif kind == "conversation.item.done" and r.item is not None:
            item_done = ReplyItemDone(r.item["id"], event["item"])
            return [*self._tell_audio(r), item_done, self.out.send(event)]
        return [self.out.send(event)]

    @staticmethod
    def _tell_audio(r: ActiveResponse) -> Steps:
        """The audio released and not told yet, if any, as one outcome (in order: before any
        other outcome of the reply)."""
        if not r.audio_untold:
            return []
        r.audio_untold = False
        if r.item is None or r.plan is None or r.plan.samples is None:
            return [ReplyAudioSent(None)]
        return [ReplyAudioSent(r.item["id"], r.plan.samples[: ms_to_samples(r.audio_sent_ms)])]

    # ---- ending -------------------------------------------------------------------------------

    def on_cancel(self, e: ev.ResponseCancel, now: float) -> Steps:
        r = self.current
        if (
            r is None
            or r.status != "in_progress"
            or (e.response_id is not None and e.response_id != r.id)
        ):
            return [
                self.out.error(
                    "Cancellation failed: no active response found.",
                    "response_cancel_not_active",
                    None,
                    e.event_id,
                )
            ]
        return self._finish(
            r, "cancelled", {"type": "cancelled", "reason": "client_cancelled"}, now
        )

    def cancel(self, reason: str, now: float) -> Steps:
        """Cancel the response in progress where it stands (``reason``: ``turn_detected`` for a
        barge-in); nothing if none is."""
        r = self.active
        if r is None:
            return []
        return self._finish(r, "cancelled", {"type": "cancelled", "reason": reason}, now)

    def fail(self, response_id: str, now: float) -> Steps:
        """End ``response_id`` ``failed`` with a server_error: its reply could not be scheduled.
        Nothing if it has ended meanwhile or its events are already scheduled."""
        r = self.active
        if r is None or r.id != response_id or r.pending:
            return []
        details = {"type": "failed", "error": {"type": "server_error", "code": "server_error"}}
        return self._finish(r, "failed", details, now)

    def _finish(
        self, r: ActiveResponse, status: str, details: dict[str, Any] | None, now: float
    ) -> Steps:
        """End a response: completed, incomplete, or cancelled where it stands."""
        out: Steps = self._tell_audio(r)
        self.held = [h for h in self.held if h.request.response_id != r.id]
        cancelled = status == "cancelled"
        r.status = status
        r.pending.clear()
        output: list[dict[str, Any]] = []
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
                out.append(ReplyItemDone(item["id"], item, words_kept=len(r.text_sent)))
                out.append(
                    self.out.event(
                        ev.ResponseOutputItemDone, response_id=r.id, output_index=0, item=item
                    )
                )
            output = [item]
        if self.current is r:
            self.current = None
        done = self._response_object(r, output, status=status, details=details, usage=_usage(r))
        out.append(self.out.event(ev.ResponseDone, response=done))
        left = 0.0
        if r.plan is not None and r.plan.samples is not None and r.first_audio_at is not None:
            elapsed = (now - r.first_audio_at) * 1000
            left = max(0.0, min(r.plan.audio_ms, r.audio_sent_ms) - elapsed)
        out.append(ReplyFinished(r.id, status, r.in_conversation, left))
        return out

    def _response_object(
        self,
        r: ActiveResponse,
        output: list[dict[str, Any]],
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


def _usage(r: ActiveResponse) -> dict[str, Any]:
    """``response.usage`` by the local rule (:mod:`.reply.usage`). That it is an estimate is
    said where a person reads it, never on the wire."""
    plan = r.plan
    if plan is None:
        out_text = out_audio = 0
    elif plan.function_call is not None:
        out_text, out_audio = plan.text_tokens, 0
    else:
        out_text = (
            estimate_text_tokens("".join(r.text_sent))
            if r.status == "cancelled"
            else plan.text_tokens
        )
        out_audio = (
            audio_tokens_for_ms(r.audio_sent_ms, AUDIO_TOKENS_PER_SECOND_OUT)
            if plan.samples is not None
            else 0
        )
    return response_usage(r.context, out_text, out_audio)


def _context_tokens(cfg: SessionConfig, items: list[StoredItem]) -> ContextTokens:
    """The (text, audio, image) tokens of the instructions and the context ``items``."""
    text = estimate_text_tokens(cfg.instructions or "")
    audio = image = 0
    for item in items:
        item_text, item_audio, item_image = item.tokens()
        text, audio, image = text + item_text, audio + item_audio, image + item_image
    return ContextTokens(text, audio, image)


def _reply_context(
    cfg: SessionConfig,
    trigger: str,
    params: dict[str, Any],
    items: list[StoredItem],
    input_ms: float,
) -> ReplyContext:
    """What the responder sees: ``items`` (the conversation, or a response's own ``input``),
    their last user turn (text, audio, images) and tool output, the settings."""
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
    user = _last_user(items)
    if user is not None:
        for part in user.data.get("content", []):
            if part.get("type") == "input_text":
                last_user_text = part.get("text")
            elif part.get("type") == "input_audio" and (part.get("transcript") or user.heard):
                last_user_text = part.get("transcript") or user.heard
        if user.audio is not None:
            last_speech = samples_to_ms(len(user.audio))
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
            "input_ms": input_ms,
            "turn_detection": None if td is None else td.type,
            "response_params": params,
        },
        transcripts={i.id: i.heard for i in items if i.heard is not None},
    )


def _last_user(items: list[StoredItem]) -> StoredItem | None:
    """The newest user message among ``items``."""
    return next(
        (
            i
            for i in reversed(items)
            if i.data.get("type") == "message" and i.data.get("role") == "user"
        ),
        None,
    )


def _with_heard(
    context: ReplyContext, item_id: str, text: str, *, last_user: str | None
) -> ReplyContext:
    """``context`` once the server has heard ``text`` in user turn ``item_id``."""
    last_text = context.last_user_text
    if item_id == last_user and last_text is None:
        last_text = text
    return dataclasses.replace(
        context,
        transcripts={**context.transcripts, item_id: text},
        last_user_text=last_text,
    )
