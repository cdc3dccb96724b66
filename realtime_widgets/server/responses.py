"""Responses: ``response.create`` / ``response.cancel``, a response's lifecycle and its paced
events.

A part of a session engine (sans-I/O): it owns the response in progress and the reply requests
waiting for the I/O layer, writes through an :class:`~.emitter.Emitter`, and reads the session's
config through a callable. It never touches another part: what matters elsewhere it returns as
outcomes (:mod:`.outcomes`) among its events, and the engine routes them.

A response is created from the session's config with the per-response overrides and a context
(the conversation's items, or the response's own ``input``, which the engine hands in), and
handed to the I/O layer as a :class:`~.reply.material.ReplyRequest` (responder + speech run
there). Its reply comes back in pieces (:meth:`Responses.add_piece`, as each clause is spoken,
then :meth:`Responses.end`): the first opens the message item, each piece's events
(:mod:`.reply.timeline`) are scheduled on the clock after the audio of the one before (one
continuous timeline; a piece that comes after that audio has all played starts a gap, never an
overlap), and ``tick`` releases them, so the first audio goes out while later pieces are still
being made. A :class:`~.reply.responder.FunctionCall` after text is a second output item. One
response at a time, as OpenAI enforces; a cancelled response ends where it stands (text and
audio as far as they were sent), a failed one (:class:`~.reply.responder.ResponderError`) once
what it said is out.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from realtime_widgets.audio.formats import bytes_per_ms
from realtime_widgets.audio.pcm import Int16Array
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
    ReplyExtended,
    ReplyFinished,
    ReplyItemDone,
    ReplyScheduled,
    ResponseRequested,
    Steps,
)
from realtime_widgets.server.reply.material import ReplyMaterial, ReplyPiece, ReplyRequest
from realtime_widgets.server.reply.responder import (
    DEFAULT_INSTRUCTIONS,
    FunctionCall,
    ReplyContext,
    ResponderError,
)
from realtime_widgets.server.reply.timeline import (
    WORD_S,
    Script,
    audio_piece,
    close_message,
    cut_piece,
    function_call,
    message_content,
    message_item,
    open_message,
    output_audio,
    paced_due,
    text_piece,
)
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
    """A response the server is producing (or has just ended): its reply as scheduled so far
    and as released so far, and how its content timeline maps to the clock."""

    id: str
    in_conversation: bool
    config: SessionConfig
    modalities: list[str]
    metadata: dict[str, Any] | None
    trigger: str
    context: ContextTokens = field(default_factory=ContextTokens)
    pending: deque[tuple[float, Event]] = field(default_factory=deque)
    status: str = "in_progress"
    # The output items scheduled, in order (output_index), each as it stands (finished once its
    # end is scheduled); the ids whose response.output_item.done has been released.
    outputs: list[dict[str, Any]] = field(default_factory=list)
    done_ids: set[str] = field(default_factory=set)
    message: dict[str, Any] | None = None  # the message item while it takes pieces
    previous: str | None = None  # the item the message follows in the conversation
    audio: bool = False  # the message's content is audio (else text)
    text: str = ""  # the message's text as scheduled
    words: int = 0  # its words scheduled
    samples: Int16Array = field(default_factory=lambda: np.zeros(0, dtype=np.int16))
    call_tokens: int = 0  # a function call's arguments
    closed: bool = False  # its end is scheduled: it takes no more pieces
    incomplete: bool = False  # max_output_tokens cut it
    failure: dict[str, Any] | None = None  # why it ends failed, once its content is out
    note: str | None = None  # e.g. why there is no audio (metadata.local_note)
    # The content timeline (seconds of audio, or WORD_S a text word): offset o is due at
    # origin + (o - lead) / pace, never before anchor (the clock time the content (re)started).
    offset: float = 0.0
    origin: float = 0.0
    anchor: float = 0.0
    audio_sent_bytes: int = 0
    # The listener, playing each audio delta as it arrives: the run of audio heard without a
    # gap started at play_start and holds play_ms.
    play_start: float = 0.0
    play_ms: float = 0.0
    audio_untold: bool = False  # audio released since the last ReplyAudioSent
    text_sent: list[str] = field(default_factory=list)

    @property
    def audio_sent_ms(self) -> float:
        """Milliseconds of the reply's audio released so far (in its output format)."""
        return self.audio_sent_bytes / bytes_per_ms(self.config.output_audio_format.type)

    @property
    def audio_scheduled_ms(self) -> float:
        """Milliseconds of the message's audio scheduled so far."""
        return samples_to_ms(len(self.samples))

    def audio_left_ms(self, now: float) -> float:
        """How much of the audio sent the listener has still to hear at ``now``."""
        return max(0.0, self.play_ms - (now - self.play_start) * 1000)


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

    def _taking(self, request: ReplyRequest) -> ActiveResponse | None:
        """``request``'s response, if it is in progress and still takes pieces."""
        r = self.active
        if r is None or r.id != request.response_id or r.closed:
            return None
        return r

    def wants(self, request: ReplyRequest) -> bool:
        """Whether ``request``'s response still takes pieces (not ended, cancelled, cut by
        ``max_output_tokens`` or ended by a function call)."""
        return self._taking(request) is not None

    def add_piece(
        self,
        request: ReplyRequest,
        piece: ReplyPiece | FunctionCall,
        now: float,
        *,
        previous: str | None,
    ) -> Steps | None:
        """Schedule the events of a piece of ``request``'s reply after those of the pieces
        before it, its first item to follow ``previous`` (the conversation's last item); None
        if the response no longer takes pieces. A :class:`FunctionCall` is the reply's last
        piece: it ends the message before it and the response."""
        r = self._taking(request)
        if r is None:
            return None
        if isinstance(piece, FunctionCall):
            return self._add_call(r, piece, now, previous)
        self._restart_if_starved(r, now)
        out: Steps = []
        script = Script()
        if r.message is None:
            out.append(self._open_message(r, script, piece, previous))
        assert r.message is not None
        message = r.message
        speech = piece.speech if r.audio else None
        cut = cut_piece(
            r.text,
            len(r.samples),
            piece.text,
            speech.word_starts_ms if speech is not None else None,
            speech.samples if speech is not None else None,
            r.config.max_output_tokens,
        )
        start_ms = r.audio_scheduled_ms
        words = tuple(
            (start_ms + t, w) for t, w in zip(cut.word_starts_ms, cut.words, strict=False)
        )
        base = {"response_id": r.id, "output_index": r.outputs.index(message)}
        part_base = {**base, "item_id": message["id"], "content_index": 0}
        first_word = r.words == 0
        if r.audio:
            samples = cut.samples if cut.samples is not None else np.zeros(0, dtype=np.int16)
            fmt = r.config.output_audio_format.type
            audio_piece(
                script,
                r.offset,
                part_base,
                output_audio(samples, fmt),
                samples_to_ms(len(samples)),
                [(t, w) for t, w in zip(cut.word_starts_ms, cut.words, strict=False)],
                first_word=first_word,
                output_format=fmt,
            )
            r.samples = np.concatenate([r.samples, samples]) if len(samples) else r.samples
            r.offset += samples_to_ms(len(samples)) / 1000
        else:
            text_piece(script, r.offset, part_base, cut.words, first_word=first_word)
            r.offset += WORD_S * len(cut.words)
        if cut.text:
            r.text = f"{r.text} {cut.text}" if r.text else cut.text
        r.words += len(cut.words)
        message["content"] = message_content(r.audio, r.text)
        self._schedule(r, script)
        if out:  # the message opened with this piece
            scheduled = out[0]
            assert isinstance(scheduled, ReplyScheduled)
            out[0] = dataclasses.replace(scheduled, item=dict(message), words=words)
        else:
            out.append(ReplyExtended(message["id"], dict(message), words))
        if cut.incomplete:
            r.incomplete = True
            self._close(r, now)
        return out

    def end(
        self,
        request: ReplyRequest,
        now: float,
        failure: ResponderError | None = None,
        *,
        previous: str | None = None,
    ) -> Steps | None:
        """``request``'s reply has no more pieces: its end is scheduled after what it said
        (an empty message if it said nothing). ``failure``: the responder failed (contract 3):
        the response ends ``failed`` with its code and message once what was scheduled is out,
        its item ``incomplete``. None if the response no longer takes pieces."""
        r = self._taking(request)
        if r is None:
            return None
        if failure is not None:
            r.failure = {
                "type": "failed",
                "error": {"type": failure.type, "code": failure.code, "message": failure.message},
            }
            r.closed = True
            self._finish_after(r, now)
            return []
        out: Steps = []
        if r.message is None:
            self._restart_if_starved(r, now)
            empty = ReplyPiece("", None)
            out.append(self._open_message(r, Script(), empty, previous, schedule=True))
        self._close(r, now)
        return out

    def _open_message(
        self,
        r: ActiveResponse,
        script: Script,
        piece: ReplyPiece,
        previous: str | None,
        *,
        schedule: bool = False,
    ) -> ReplyScheduled:
        """The reply's message item opens (at the content's current offset) with ``piece``:
        its content is audio when the response asked for audio and the piece has speech."""
        r.audio = "audio" in r.modalities and (piece.speech is not None or not piece.text)
        if "audio" in r.modalities and piece.speech is None and piece.note:
            r.note = piece.note
        item = message_item(self.out.new_id("item"))
        r.message = item
        r.outputs.append(item)
        previous = previous if r.in_conversation else None
        r.previous = previous
        open_message(
            script,
            r.offset,
            {"response_id": r.id, "output_index": len(r.outputs) - 1},
            item,
            audio=r.audio,
            in_conversation=r.in_conversation,
            previous_item_id=previous,
        )
        if schedule:
            self._schedule(r, script)
        return ReplyScheduled(
            r.id,
            dict(item),
            (),
            r.config.output_audio_format.type,
            r.audio,
            r.in_conversation,
            previous,
        )

    def _add_call(
        self, r: ActiveResponse, call: FunctionCall, now: float, previous: str | None
    ) -> Steps:
        """The reply's function call: after the message (its output item closed first), or
        alone; the response ends after it. Dropped when max_output_tokens already cut the
        message (never reached: ``_taking`` refuses a cut response)."""
        if r.message is not None:
            previous = r.message["id"] if r.in_conversation else None
            self._close_message(r)
        else:
            self._restart_if_starved(r, now)
            previous = previous if r.in_conversation else None
        script = Script()
        item_id = self.out.new_id("item")
        index = len(r.outputs)
        done = function_call(
            script,
            r.offset,
            {"response_id": r.id, "output_index": index},
            item_id=item_id,
            call_id=self.out.new_id("call"),
            call=call,
            in_conversation=r.in_conversation,
            previous_item_id=previous,
        )
        r.outputs.append(done)
        r.call_tokens = estimate_text_tokens(call.arguments_json())
        self._schedule(r, script)
        r.closed = True
        self._finish_after(r, now)
        return [
            ReplyScheduled(
                r.id,
                dict(done, status="in_progress"),
                (),
                r.config.output_audio_format.type,
                False,
                r.in_conversation,
                previous,
            )
        ]

    def _close(self, r: ActiveResponse, now: float) -> None:
        """No more pieces: the message (if any) ends, then the response."""
        if r.message is not None:
            self._close_message(r)
        r.closed = True
        self._finish_after(r, now)

    def _close_message(self, r: ActiveResponse) -> None:
        message = r.message
        assert message is not None
        index = r.outputs.index(message)
        done = {**message, "status": "incomplete" if r.incomplete else "completed"}
        done["content"] = message_content(r.audio, r.text)
        r.outputs[index] = done
        r.message = None
        script = Script()
        close_message(
            script,
            r.offset,
            {"response_id": r.id, "output_index": index},
            done,
            audio=r.audio,
            text=r.text,
            in_conversation=r.in_conversation,
            previous_item_id=r.previous,
        )
        self._schedule(r, script)

    def _finish_after(self, r: ActiveResponse, now: float) -> None:
        """The response ends (response.done) where its content ends, with the last event
        scheduled."""
        at = self._due(r, r.offset) if r.outputs else now
        r.pending.append((max(at, r.pending[-1][0]) if r.pending else at, _FINISH))

    def _restart_if_starved(self, r: ActiveResponse, now: float) -> None:
        """A piece that comes after the content before it has all played (the synthesiser or
        the responder was slower than real time) starts at ``now``: the stream has a gap,
        never overlapping audio. The first piece starts the timeline the same way."""
        pace = self._options.pace
        starved = not r.pending and (pace <= 0 or r.origin + r.offset / pace <= now)
        if starved or not r.outputs:
            r.anchor = now
            r.origin = now - (r.offset / pace if pace > 0 else 0.0)

    def _due(self, r: ActiveResponse, offset: float) -> float:
        options = self._options
        return paced_due(
            offset, origin=r.origin, anchor=r.anchor, pace=options.pace, lead=options.lead
        )

    def _schedule(self, r: ActiveResponse, script: Script) -> None:
        for offset, event in sorted(script.events, key=lambda p: p[0]):
            r.pending.append((self._due(r, offset), event))

    def schedule(
        self, request: ReplyRequest, material: ReplyMaterial, now: float, *, previous: str | None
    ) -> Steps | None:
        """A reply computed whole (:class:`ReplyMaterial`): one piece, then the end. None if
        the response has ended."""
        steps = self.add_piece(request, material.as_piece(), now, previous=previous)
        if steps is None:
            return None
        return steps + (self.end(request, now, previous=previous) or [])

    def _release(self, r: ActiveResponse, event: Event, now: float) -> Steps:
        if event is _FINISH:
            if r.failure is not None:
                return self._finish(r, "failed", r.failure, now)
            if r.incomplete:
                details = {"type": "incomplete", "reason": "max_output_tokens"}
                return self._finish(r, "incomplete", details, now)
            return self._finish(r, "completed", None, now)
        kind = event["type"]
        if kind == "response.output_audio.delta":
            size = base64_decoded_size(event["delta"])
            r.audio_sent_bytes += size
            if now > r.play_start + r.play_ms / 1000:  # the listener had heard it all: a gap
                r.play_start, r.play_ms = now, 0.0
            r.play_ms += size / bytes_per_ms(r.config.output_audio_format.type)
            r.audio_untold = True
        elif kind in ("response.output_audio_transcript.delta", "response.output_text.delta"):
            r.text_sent.append(event["delta"])
        elif kind == "response.output_item.done":
            r.done_ids.add(event["item"]["id"])
        elif kind == "conversation.item.done":
            item_done = ReplyItemDone(event["item"]["id"], event["item"])
            return [*self._tell_audio(r), item_done, self.out.send(event)]
        return [self.out.send(event)]

    def _tell_audio(self, r: ActiveResponse) -> Steps:
        """The audio released and not told yet, if any, as one outcome (in order: before any
        other outcome of the reply)."""
        if not r.audio_untold:
            return []
        r.audio_untold = False
        message = next((o for o in r.outputs if o.get("type") == "message"), None)
        if message is None or not r.audio:
            return [ReplyAudioSent(None)]
        return [ReplyAudioSent(message["id"], r.samples[: ms_to_samples(r.audio_sent_ms)])]

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
        """End ``response_id`` ``failed`` with a server_error at once: its reply could not be
        scheduled (a bug met on the way). Nothing if it has ended meanwhile."""
        r = self.active
        if r is None or r.id != response_id:
            return []
        details = {
            "type": "failed",
            "error": {
                "type": "server_error",
                "code": "server_error",
                "message": "The local server failed while scheduling this reply.",
            },
        }
        return self._finish(r, "failed", details, now)

    def _finish(
        self, r: ActiveResponse, status: str, details: dict[str, Any] | None, now: float
    ) -> Steps:
        """End a response: completed, incomplete, or (cancelled, failed) where it stands."""
        out: Steps = self._tell_audio(r)
        self.held = [h for h in self.held if h.request.response_id != r.id]
        early = status in ("cancelled", "failed")
        r.status = status
        r.closed = True
        r.pending.clear()
        output: list[dict[str, Any]] = []
        for index, listed in enumerate(r.outputs):
            item = dict(listed)
            if early and item["id"] not in r.done_ids:
                item["status"] = "incomplete"
                if item.get("type") == "message":
                    item["content"] = message_content(r.audio, "".join(r.text_sent))
                out.append(ReplyItemDone(item["id"], item, words_kept=len(r.text_sent)))
                out.append(
                    self.out.event(
                        ev.ResponseOutputItemDone, response_id=r.id, output_index=index, item=item
                    )
                )
            output.append(item)
        if self.current is r:
            self.current = None
        done = self._response_object(r, output, status=status, details=details, usage=_usage(r))
        out.append(self.out.event(ev.ResponseDone, response=done))
        left = r.audio_left_ms(now) if r.audio else 0.0
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
        if r.note and status != "in_progress":
            obj["metadata"] = {**(r.metadata or {}), "local_note": r.note}
        return obj


def _usage(r: ActiveResponse) -> dict[str, Any]:
    """``response.usage`` by the local rule (:mod:`.reply.usage`): what the response said (as
    far as it was sent, when it ended early). That it is an estimate is said where a person
    reads it, never on the wire."""
    said = "".join(r.text_sent) if r.status in ("cancelled", "failed") else r.text
    out_text = estimate_text_tokens(said) + r.call_tokens
    out_audio = audio_tokens_for_ms(r.audio_sent_ms, AUDIO_TOKENS_PER_SECOND_OUT) if r.audio else 0
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
