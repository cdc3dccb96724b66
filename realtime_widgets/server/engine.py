"""The local server's session engine: sans-I/O, deterministic, testable with a fake clock.

Client events and the time go in; server events come out::

    engine = SessionEngine(model="gpt-realtime-1.5")
    out = engine.start(now=0.0)                     # [session.created]
    out = engine.receive(text, now=0.5)             # events answering one client event
    for request in engine.take_requests():          # replies to compute (responder + speech)
        out += engine.reply_ready(request, produce_reply(request), now=0.6)
    out += engine.tick(now=1.0)                     # paced audio deltas, expiry

The websockets layer (:mod:`.app`) runs ``produce_reply`` in a worker thread, so a slow
responder never blocks other sessions. Everything OpenAI's server enforces that a client can
observe is enforced here: the session.update rules with OpenAI's errors, the 100 ms commit
minimum, one response at a time, the voice lock after assistant audio, frozen tracing, the
session's maximum duration.
"""

from __future__ import annotations

import base64
import binascii
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import ValidationError

from realtime_widgets.audio.formats import FORMAT_RATES, decode
from realtime_widgets.audio.pcm import Int16Array
from realtime_widgets.audio.resample import Resampler
from realtime_widgets.errors import ConfigError, ProtocolError
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.parts import SemanticVad, ServerVad
from realtime_widgets.protocol.state import base64_decoded_size
from realtime_widgets.protocol.wire import check_rules, check_transition, validate_session_payload
from realtime_widgets.server.errors import (
    client_event_error,
    config_error,
    error_event,
    transition_error,
)
from realtime_widgets.server.responder import FunctionCall, ReplyContext, estimate_text_tokens
from realtime_widgets.server.script import (
    AUDIO_TOKENS_PER_SECOND_IN,
    ReplyPlan,
    build_script,
    plan_reply,
)
from realtime_widgets.server.tts import Speech
from realtime_widgets.server.vad import TurnDetector, TurnEvent

__all__ = ["EngineOptions", "ReplyMaterial", "ReplyRequest", "SessionEngine"]

MAX_APPEND_BYTES = 15 * 1024 * 1024
MIN_COMMIT_MS = 100.0
_BETA_KEYS = {
    "modalities",
    "voice",
    "input_audio_format",
    "output_audio_format",
    "input_audio_transcription",
    "turn_detection",
    "input_audio_noise_reduction",
    "max_response_output_tokens",
}
BETA_DISABLED = (
    "The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API."
)
DEFAULT_INSTRUCTIONS = (
    "Local realtime_widgets server: there is no language model here; replies report what the "
    "server measured and the session's settings."
)


@dataclass(frozen=True)
class EngineOptions:
    """Knobs of a local session. ``pace`` 1.0 streams audio deltas in real time, 0 sends a
    reply at once; ``max_duration_s`` is OpenAI's 60 minutes unless a test wants less."""

    max_duration_s: float = 3600.0
    pace: float = 1.0
    transcriber: Callable[[Int16Array], str] | None = None
    rate_limits: bool = True
    wall_clock: Callable[[], float] = time.time  # for expires_at (Unix seconds)
    dialect: str = "ga"  # "beta": accept the legacy flat session shape in session.update
    # How turn detection is built from the session's settings. The VAD lab passes one that
    # decides from a clip's precomputed signals (same decisions, no Silero per sweep point).
    detector: Callable[[ServerVad | SemanticVad], TurnDetector] = TurnDetector


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
class _Item:
    data: dict[str, Any]  # GA item, without audio bytes
    audio: Int16Array | None = None  # 24 kHz: user audio, or assistant speech as sent
    words: list[tuple[float, str]] = field(default_factory=list)  # assistant word timings
    format: str = "audio/pcm"

    @property
    def id(self) -> str:
        return str(self.data["id"])


@dataclass
class _Response:
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


class _InputBuffer:
    """Appended audio on the 24 kHz timeline since the last commit/clear."""

    def __init__(self) -> None:
        self.chunks: deque[tuple[int, Int16Array]] = deque()
        self.start = 0  # sample index where the uncommitted buffer begins
        self.end = 0  # samples appended since the session began

    def append(self, samples: Int16Array) -> None:
        if samples.size:
            self.chunks.append((self.end, samples))
            self.end += len(samples)

    def slice(self, start: int, stop: int) -> Int16Array:
        parts = [
            c[max(0, start - s) : max(0, min(len(c), stop - s))]
            for s, c in self.chunks
            if s < stop and s + len(c) > start
        ]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)

    def drop_before(self, sample: int) -> None:
        self.start = max(self.start, sample)
        while self.chunks and self.chunks[0][0] + len(self.chunks[0][1]) <= self.start:
            self.chunks.popleft()

    @property
    def ms(self) -> float:
        return (self.end - self.start) / 24


class SessionEngine:
    """One Realtime session's behaviour (see the module docstring)."""

    def __init__(
        self,
        *,
        model: str = "gpt-realtime-1.5",
        options: EngineOptions | None = None,
        session_id: str = "sess_local",
    ) -> None:
        self.options = options or EngineOptions()
        self.session_id = session_id
        self.config = SessionConfig(model=model, instructions=DEFAULT_INSTRUCTIONS)
        self.closed: tuple[int, str] | None = None
        self._ids: dict[str, int] = {}
        self._requests: deque[ReplyRequest] = deque()
        self._started_at = 0.0
        self._expires_at = 0
        self._buffer = _InputBuffer()
        self._decoder: Resampler | None = None
        self._pcm_carry = b""
        self._detector: TurnDetector | None = None
        self._detector_origin = 0  # sample index where the detector's timeline starts
        self._turn_item: str | None = None
        self._turn_start_ms = 0
        self._items: dict[str, _Item] = {}
        self._order: list[str] = []
        self._response: _Response | None = None
        self.voice_locked = False
        self._idle_anchor_ms: float | None = None
        self.stats: dict[str, int] = {"appended_bytes": 0, "errors": 0, "events_in": 0}
        self._sync_detector()

    # ---- ids and helpers ----------------------------------------------------------------------

    def _id(self, prefix: str) -> str:
        n = self._ids.get(prefix, 0) + 1
        self._ids[prefix] = n
        return f"{prefix}_{self.session_id.removeprefix('sess_')[-8:]}{n:05d}"

    def _event(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": payload["type"],
            "event_id": self._id("event"),
            **{k: v for k, v in payload.items() if k != "type"},
        }

    def _error(
        self, message: str, code: str | None, param: str | None, client_id: str | None
    ) -> dict[str, Any]:
        self.stats["errors"] += 1
        return self._event(error_event(message, code=code, param=param, client_event_id=client_id))

    @property
    def input_ms(self) -> float:
        """Milliseconds of audio appended since the session began (the input timeline)."""
        return self._buffer.end / 24

    def session_object(self) -> dict[str, Any]:
        session = self.config.to_session()
        return {
            "type": "realtime",
            "object": "realtime.session",
            "id": self.session_id,
            **{k: v for k, v in session.items() if k != "type"},
            "expires_at": self._expires_at,
        }

    # ---- lifecycle ----------------------------------------------------------------------------

    def start(self, now: float) -> list[dict[str, Any]]:
        """The session begins: ``session.created`` with the full effective configuration."""
        self._started_at = now
        self._expires_at = int(self.options.wall_clock() + self.options.max_duration_s)
        return [self._event({"type": "session.created", "session": self.session_object()})]

    def next_due(self) -> float | None:
        """When :meth:`tick` has work next (a paced event, or the session's end)."""
        due = self._started_at + self.options.max_duration_s
        if self._response is not None and self._response.pending:
            due = min(due, self._response.pending[0][0])
        return due

    def tick(self, now: float) -> list[dict[str, Any]]:
        """Release the events whose time has come; end the session at its maximum duration."""
        out: list[dict[str, Any]] = []
        if self.closed is None and now >= self._started_at + self.options.max_duration_s:
            out.append(
                self._error(
                    "Your session hit the maximum duration of 60 minutes.",
                    "session_expired",
                    None,
                    None,
                )
            )
            self.closed = (1001, "session_expired")
            return out
        r = self._response
        while r is not None and r.pending and r.pending[0][0] <= now:
            _, event = r.pending.popleft()
            out.extend(self._release(r, event, now))
            r = self._response
        return out

    def take_requests(self) -> list[ReplyRequest]:
        taken = list(self._requests)
        self._requests.clear()
        return taken

    # ---- client events ------------------------------------------------------------------------

    def receive(self, text: str | bytes, now: float) -> list[dict[str, Any]]:
        """Answer one client event (a JSON text frame)."""
        self.stats["events_in"] += 1
        out = self.tick(now)
        if self.closed is not None:
            return out
        try:
            raw = ev._load_object(text)
        except ProtocolError as exc:
            return [
                *out,
                self._error(f"Invalid JSON in client event: {exc}", "invalid_json", None, None),
            ]
        client_id = raw.get("event_id") if isinstance(raw.get("event_id"), str) else None
        if (
            raw.get("type") == "session.update"
            and isinstance(raw.get("session"), dict)
            and self.options.dialect == "ga"
        ):
            session = raw["session"]
            if "type" not in session and _BETA_KEYS & set(session):
                self.closed = (4000, "beta_api_shape_disabled")
                return [
                    *out,
                    self._error(
                        BETA_DISABLED,
                        "beta_api_shape_disabled",
                        None,
                        client_id,
                    ),
                ]
        try:
            event = ev.parse_client_event(raw)
        except ValidationError as exc:
            self.stats["errors"] += 1
            return [*out, self._event(client_event_error(exc, raw))]
        handler = getattr(self, "_on_" + event.type.replace(".", "_"))
        result: list[dict[str, Any]] = handler(event, now)
        return out + result

    def _on_session_update(self, e: ev.SessionUpdate, now: float) -> list[dict[str, Any]]:
        beta = self.options.dialect == "beta"
        if "type" not in e.session and not beta:
            return [
                self._error(
                    "Missing required parameter: 'session.type'.",
                    "missing_required_parameter",
                    "session.type",
                    e.event_id,
                )
            ]
        try:
            if beta:
                update = SessionConfig.from_session(e.session, dialect="beta")
            else:
                update = validate_session_payload(e.session)
            merged = self.config.with_changes(
                {k: getattr(update, k) for k in update.model_fields_set}
            )
            check_rules(merged, "beta" if beta else "ga")
        except ConfigError as exc:
            self.stats["errors"] += 1
            return [self._event(config_error(exc, e.event_id))]
        try:
            # Only a change the live session refuses gets the "cannot change" wording.
            check_transition(self.config, merged, assistant_has_spoken=self.voice_locked)
        except ConfigError as exc:
            self.stats["errors"] += 1
            return [self._event(transition_error(exc, e.event_id))]
        format_changed = merged.input_audio_format != self.config.input_audio_format
        self.config = merged
        if format_changed:
            self._decoder = None
            self._pcm_carry = b""
        self._sync_detector()
        return [self._event({"type": "session.updated", "session": self.session_object()})]

    # -- input audio

    def _on_input_audio_buffer_append(
        self, e: ev.InputAudioBufferAppend, now: float
    ) -> list[dict[str, Any]]:
        if len(e.audio) > MAX_APPEND_BYTES * 4 // 3 + 4:
            return [
                self._error(
                    "Invalid 'audio': the audio chunk exceeds the maximum size of 15 MiB.",
                    "invalid_value",
                    "audio",
                    e.event_id,
                )
            ]
        try:
            data = base64.b64decode(e.audio, validate=True)
        except (binascii.Error, ValueError):
            return [
                self._error(
                    "Invalid 'audio'. Expected base64-encoded audio bytes.",
                    "invalid_value",
                    "audio",
                    e.event_id,
                )
            ]
        self.stats["appended_bytes"] += len(data)
        return self.append_samples(self._to_timeline(data), now)

    def append_samples(self, samples: Int16Array, now: float) -> list[dict[str, Any]]:
        """Append decoded 24 kHz input audio (what ``input_audio_buffer.append`` does after
        base64 and format decoding; the VAD lab calls it directly)."""
        first = self._buffer.end
        self._buffer.append(samples)
        out: list[dict[str, Any]] = []
        if self._detector is not None:
            for turn in self._detector.feed(samples):
                out.extend(self._on_turn(turn, now))
            if not self._detector.in_speech:
                # Keep a minute of pre-speech audio for a manual commit; older silence is dropped.
                self._buffer.drop_before(min(self._buffer.end - 24000 * 60, first))
        out.extend(self._check_idle(now))
        return out

    def _to_timeline(self, data: bytes) -> Int16Array:
        fmt = self.config.input_audio_format.type
        if fmt == "audio/pcm":
            data = self._pcm_carry + data
            if len(data) % 2:
                self._pcm_carry, data = data[-1:], data[:-1]
            else:
                self._pcm_carry = b""
            return decode(data, fmt).copy()
        if self._decoder is None:
            self._decoder = Resampler(FORMAT_RATES[fmt], 24000)
        return np.asarray(self._decoder.process(decode(data, fmt)), dtype=np.int16)

    def _sync_detector(self) -> None:
        td = self.config.turn_detection
        if td is None:
            if self._detector is not None:
                self._detector.close()
            self._detector = None
            return
        if self._detector is None:
            self._detector = self.options.detector(td)
            self._detector_origin = self._buffer.end
        else:
            self._detector.configure(td)  # server_vad <-> semantic_vad too: same signals

    def close(self) -> None:
        """Release what the session holds (its speech model goes back to the pool)."""
        if self._detector is not None:
            self._detector.close()
            self._detector = None

    def _on_turn(self, turn: TurnEvent, now: float) -> list[dict[str, Any]]:
        td = self.config.turn_detection
        assert td is not None
        origin_ms = self._detector_origin / 24
        if turn.kind == "start":
            prefix = td.prefix_padding_ms if isinstance(td, ServerVad) else 300
            start_ms = max(self._buffer.start / 24, origin_ms + turn.boundary_ms - prefix)
            self._turn_item = self._id("item")
            self._turn_start_ms = int(start_ms)
            out = [
                self._event(
                    {
                        "type": "input_audio_buffer.speech_started",
                        "audio_start_ms": int(start_ms),
                        "item_id": self._turn_item,
                    }
                )
            ]
            self._idle_anchor_ms = None
            r = self._response
            if (
                r is not None
                and r.status == "in_progress"
                and r.in_conversation
                and td.interrupt_response
            ):
                out.extend(
                    self._finish(
                        r, "cancelled", {"type": "cancelled", "reason": "turn_detected"}, now
                    )
                )
            return out
        end_ms = int(origin_ms + turn.at_ms)
        item_id = self._turn_item or self._id("item")
        self._turn_item = None
        out = [
            self._event(
                {
                    "type": "input_audio_buffer.speech_stopped",
                    "audio_end_ms": end_ms,
                    "item_id": item_id,
                }
            )
        ]
        audio = self._buffer.slice(self._turn_start_ms * 24, end_ms * 24)
        self._buffer.drop_before(end_ms * 24)
        out.extend(self._commit_user_audio(item_id, audio, None))
        if td.create_response and (
            self._response is None or self._response.status != "in_progress"
        ):
            out.extend(self._create_response(None, now, trigger="turn_detected"))
        return out

    def _check_idle(self, now: float) -> list[dict[str, Any]]:
        td = self.config.turn_detection
        if (
            not isinstance(td, ServerVad)
            or td.idle_timeout_ms is None
            or self._idle_anchor_ms is None
            or (self._detector is not None and self._detector.in_speech)
            or (self._response is not None and self._response.status == "in_progress")
            or self.input_ms < self._idle_anchor_ms + td.idle_timeout_ms
        ):
            return []
        start_ms, end_ms = int(self._idle_anchor_ms), int(self.input_ms)
        self._idle_anchor_ms = None
        item_id = self._id("item")
        out = [
            self._event(
                {
                    "type": "input_audio_buffer.timeout_triggered",
                    "audio_start_ms": start_ms,
                    "audio_end_ms": end_ms,
                    "item_id": item_id,
                }
            )
        ]
        audio = self._buffer.slice(start_ms * 24, end_ms * 24)
        self._buffer.drop_before(end_ms * 24)
        out.extend(self._commit_user_audio(item_id, audio, None))
        out.extend(self._create_response(None, now, trigger="idle_timeout"))
        return out

    def _on_input_audio_buffer_commit(
        self, e: ev.InputAudioBufferCommit, now: float
    ) -> list[dict[str, Any]]:
        ms = self._buffer.ms
        if ms < MIN_COMMIT_MS:
            return [
                self._error(
                    "Error committing input audio buffer: buffer too small. Expected at least "
                    "100ms of "
                    f"audio, but buffer only has {ms:.2f}ms of audio.",
                    "input_audio_buffer_commit_empty",
                    None,
                    e.event_id,
                )
            ]
        item_id = self._turn_item or self._id("item")
        self._turn_item = None
        audio = self._buffer.slice(self._buffer.start, self._buffer.end)
        self._buffer.drop_before(self._buffer.end)
        if self._detector is not None:
            self._detector.reset_turn()
        return self._commit_user_audio(item_id, audio, e.event_id)

    def _on_input_audio_buffer_clear(
        self, e: ev.InputAudioBufferClear, now: float
    ) -> list[dict[str, Any]]:
        self._buffer.drop_before(self._buffer.end)
        self._turn_item = None
        if self._detector is not None:
            self._detector.reset_turn()
        return [self._event({"type": "input_audio_buffer.cleared"})]

    def _commit_user_audio(
        self, item_id: str, audio: Int16Array, client_id: str | None
    ) -> list[dict[str, Any]]:
        previous = self._order[-1] if self._order else None
        data = {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        self._insert(_Item(data, audio), previous)
        out = [
            self._event(
                {
                    "type": "input_audio_buffer.committed",
                    "previous_item_id": previous,
                    "item_id": item_id,
                }
            ),
            self._event(
                {"type": "conversation.item.added", "previous_item_id": previous, "item": data}
            ),
            self._event(
                {"type": "conversation.item.done", "previous_item_id": previous, "item": data}
            ),
        ]
        out.extend(self._transcribe(item_id, audio))
        return out

    def _transcribe(self, item_id: str, audio: Int16Array) -> list[dict[str, Any]]:
        tr = self.config.transcription
        if tr is None:
            return []
        base = {"item_id": item_id, "content_index": 0}
        if self.options.transcriber is None:
            return [
                self._event(
                    {
                        "type": "conversation.item.input_audio_transcription.failed",
                        **base,
                        "error": {
                            "type": "transcription_error",
                            "code": "transcription_unavailable",
                            "param": None,
                            "message": "The local server has no offline speech recogniser "
                            f"for {tr.model!r}: "
                            "it returns no transcript rather than an invented one. Pass "
                            "LocalServer(transcriber=...) to use your own.",
                        },
                    }
                )
            ]
        text = self.options.transcriber(audio)
        item = self._items.get(item_id)
        if item is not None:
            item.data["content"][0]["transcript"] = text
        seconds = len(audio) / 24000
        return [
            self._event(
                {"type": "conversation.item.input_audio_transcription.delta", **base, "delta": text}
            ),
            self._event(
                {
                    "type": "conversation.item.input_audio_transcription.completed",
                    **base,
                    "transcript": text,
                    "usage": {"type": "duration", "seconds": round(seconds, 3)},
                }
            ),
        ]

    # -- conversation

    def _insert(self, item: _Item, previous: str | None) -> None:
        """Place an item after ``previous`` ("root": first; None or unknown: last)."""
        self._items[item.id] = item
        if previous == "root":
            self._order.insert(0, item.id)
        elif previous is not None and previous in self._order:
            self._order.insert(self._order.index(previous) + 1, item.id)
        else:
            self._order.append(item.id)

    def _on_conversation_item_create(
        self, e: ev.ConversationItemCreate, now: float
    ) -> list[dict[str, Any]]:
        item = dict(e.item)
        problem = _check_item(item)
        if problem is not None:
            message, param = problem
            return [self._error(message, "invalid_value", param, e.event_id)]
        if (
            e.previous_item_id is not None
            and e.previous_item_id != "root"
            and e.previous_item_id not in self._items
        ):
            return [
                self._error(
                    f"Item with item_id '{e.previous_item_id}' not found in the conversation.",
                    "item_not_found",
                    "previous_item_id",
                    e.event_id,
                )
            ]
        if item.get("id") in self._items:
            return [
                self._error(
                    f"Item with item_id '{item['id']}' already exists.",
                    "invalid_value",
                    "item.id",
                    e.event_id,
                )
            ]
        item.setdefault("id", self._id("item"))
        item.setdefault("object", "realtime.item")
        item.setdefault("status", "completed")
        audio = None
        for part in item.get("content", []):
            if part.get("type") == "input_audio" and isinstance(part.get("audio"), str):
                raw = base64.b64decode(part.pop("audio"))
                audio = (
                    decode(raw, "audio/pcm")
                    if self.config.input_audio_format.type == "audio/pcm"
                    else None
                )
                part.setdefault("transcript", None)
        previous = (
            e.previous_item_id
            if e.previous_item_id is not None
            else (self._order[-1] if self._order else None)
        )
        self._insert(_Item(item, audio), previous)
        shown_previous = None if previous == "root" else previous
        return [
            self._event(
                {
                    "type": "conversation.item.added",
                    "previous_item_id": shown_previous,
                    "item": item,
                }
            ),
            self._event(
                {"type": "conversation.item.done", "previous_item_id": shown_previous, "item": item}
            ),
        ]

    def _not_found(self, item_id: str, client_id: str | None) -> dict[str, Any]:
        return self._error(
            f"Item with item_id '{item_id}' not found in the conversation.",
            "item_not_found",
            "item_id",
            client_id,
        )

    def _on_conversation_item_delete(
        self, e: ev.ConversationItemDelete, now: float
    ) -> list[dict[str, Any]]:
        if e.item_id not in self._items:
            return [self._not_found(e.item_id, e.event_id)]
        del self._items[e.item_id]
        self._order.remove(e.item_id)
        return [self._event({"type": "conversation.item.deleted", "item_id": e.item_id})]

    def _on_conversation_item_retrieve(
        self, e: ev.ConversationItemRetrieve, now: float
    ) -> list[dict[str, Any]]:
        item = self._items.get(e.item_id)
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
        return [self._event({"type": "conversation.item.retrieved", "item": data})]

    def _on_conversation_item_truncate(
        self, e: ev.ConversationItemTruncate, now: float
    ) -> list[dict[str, Any]]:
        item = self._items.get(e.item_id)
        if item is None:
            return [self._not_found(e.item_id, e.event_id)]
        if item.data.get("role") != "assistant" or item.audio is None:
            return [
                self._error(
                    "Only assistant messages with audio can be truncated.",
                    "invalid_value",
                    "item_id",
                    e.event_id,
                )
            ]
        if e.content_index != 0:
            return [
                self._error(
                    f"Invalid 'content_index': item has no content part {e.content_index}.",
                    "invalid_value",
                    "content_index",
                    e.event_id,
                )
            ]
        duration = len(item.audio) / 24
        if e.audio_end_ms > duration:
            return [
                self._error(
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
        return [
            self._event(
                {
                    "type": "conversation.item.truncated",
                    "item_id": e.item_id,
                    "content_index": 0,
                    "audio_end_ms": e.audio_end_ms,
                }
            )
        ]

    def _on_output_audio_buffer_clear(
        self, e: ev.OutputAudioBufferClear, now: float
    ) -> list[dict[str, Any]]:
        return [
            self._error(
                "output_audio_buffer.clear is only available over WebRTC and SIP.",
                "invalid_value",
                "type",
                e.event_id,
            )
        ]

    # -- responses

    def _on_response_create(self, e: ev.ResponseCreate, now: float) -> list[dict[str, Any]]:
        r = self._response
        if r is not None and r.status == "in_progress":
            return [
                self._error(
                    f"Conversation already has an active response in progress: {r.id}. "
                    "Wait until the "
                    "response is finished before creating a new one.",
                    "conversation_already_has_active_response",
                    None,
                    e.event_id,
                )
            ]
        return self._create_response(
            e.response, now, trigger="response.create", client_id=e.event_id
        )

    def _response_config(
        self, params: dict[str, Any] | None
    ) -> tuple[SessionConfig, dict[str, Any]]:
        if not params:
            return self.config, {}
        known = {
            "output_modalities",
            "instructions",
            "max_output_tokens",
            "tools",
            "tool_choice",
            "conversation",
            "metadata",
            "audio",
            "input",
            "prompt",
            "parallel_tool_calls",
            "reasoning",
        }
        unknown = sorted(set(params) - known)
        if unknown:
            raise ConfigError.single(
                f"response.{unknown[0]}",
                f"Unknown parameter: 'response.{unknown[0]}'.",
                code="unknown_parameter",
                param=f"response.{unknown[0]}",
            )
        changes: dict[str, Any] = {
            k: params[k]
            for k in (
                "output_modalities",
                "instructions",
                "max_output_tokens",
                "tools",
                "tool_choice",
                "prompt",
                "parallel_tool_calls",
                "reasoning",
            )
            if k in params
        }
        shapes: dict[str, tuple[type, ...]] = {
            "audio": (dict,),
            "metadata": (dict,),
            "input": (list,),
            "conversation": (str,),
        }
        for key, kinds in shapes.items():
            if key in params and params[key] is not None and not isinstance(params[key], kinds):
                what = (
                    "an object"
                    if kinds == (dict,)
                    else "an array"
                    if kinds == (list,)
                    else "a string"
                )
                raise ConfigError.single(
                    f"response.{key}",
                    f"Invalid type for 'response.{key}': expected {what}.",
                    code="invalid_type",
                    param=f"response.{key}",
                )
        if params.get("conversation", "auto") not in ("auto", "none"):
            raise ConfigError.single(
                "response.conversation",
                f"Invalid value: '{params['conversation']}'. Supported values are: 'auto' and "
                "'none'.",
                code="invalid_value",
                param="response.conversation",
            )
        out = (params.get("audio") or {}).get("output") or {}
        if not isinstance(out, dict):
            raise ConfigError.single(
                "response.audio.output",
                "Invalid type for 'response.audio.output': expected an object.",
                code="invalid_type",
                param="response.audio.output",
            )
        if "voice" in out:
            changes["voice"] = out["voice"]
        if "format" in out:
            changes["output_audio_format"] = out["format"]
        try:
            cfg = self.config.with_changes(changes)
            check_rules(cfg, "beta" if self.options.dialect == "beta" else "ga")
        except ConfigError as exc:
            first = exc.problems[0]
            raise ConfigError.single(
                first.field, first.message, code=first.code, param=f"response.{first.field}"
            ) from None
        return cfg, params

    def _create_response(
        self,
        params: dict[str, Any] | None,
        now: float,
        *,
        trigger: str,
        client_id: str | None = None,
    ) -> list[dict[str, Any]]:
        try:
            cfg, params = self._response_config(params)
        except ConfigError as exc:
            first = exc.problems[0]
            return [self._error(first.message, first.code, first.param, client_id)]
        in_conversation = params.get("conversation", "auto") != "none"
        rid = self._id("resp")
        r = _Response(
            rid, in_conversation, cfg, list(cfg.output_modalities), params.get("metadata"), trigger
        )
        self._response = r
        text_tokens, audio_tokens = self._context_tokens(cfg)
        r.input_text_tokens, r.input_audio_tokens = text_tokens, audio_tokens
        r.input_tokens = text_tokens + audio_tokens
        out = [self._event({"type": "response.created", "response": self._response_object(r, [])})]
        if self.options.rate_limits:
            out.append(
                self._event(
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
        self._requests.append(
            ReplyRequest(
                rid,
                self._context(cfg, trigger, params),
                r.modalities,
                cfg.voice if isinstance(cfg.voice, str) else "alloy",
                cfg.speed,
            )
        )
        return out

    def _context_tokens(self, cfg: SessionConfig) -> tuple[int, int]:
        text = estimate_text_tokens(cfg.instructions or "")
        audio = 0
        for item_id in self._order:
            item = self._items[item_id]
            if item.audio is not None and item.data.get("role") == "user":
                audio += math.ceil(len(item.audio) / 24000 * AUDIO_TOKENS_PER_SECOND_IN)
            for part in item.data.get("content", []):
                text += estimate_text_tokens(part.get("text") or part.get("transcript") or "")
            text += estimate_text_tokens(
                item.data.get("arguments") or item.data.get("output") or ""
            )
        return text, audio

    def _context(self, cfg: SessionConfig, trigger: str, params: dict[str, Any]) -> ReplyContext:
        items = [self._items[x] for x in self._order]
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
        td = cfg.turn_detection
        return ReplyContext(
            config=cfg,
            conversation=conversation,
            instructions=cfg.instructions if cfg.instructions != DEFAULT_INSTRUCTIONS else None,
            last_user_text=last_user_text,
            last_user_speech_ms=last_speech,
            last_user_audio=None if user is None else user.audio,
            last_tool_output=last_tool,
            trigger=trigger,
            measurements={
                "input_ms": self.input_ms,
                "turn_detection": None if td is None else td.type,
                "response_params": params,
            },
        )

    def reply_ready(
        self, request: ReplyRequest, material: ReplyMaterial, now: float
    ) -> list[dict[str, Any]]:
        """The computed reply for ``request``: schedule its events (ignored if cancelled)."""
        r = self._response
        if r is None or r.id != request.response_id or r.status != "in_progress":
            return []
        value = material.value
        text = value if isinstance(value, str) else None
        call = value if isinstance(value, FunctionCall) else None
        speech = material.speech if "audio" in r.modalities else None
        plan = plan_reply(text, call, speech, r.config.max_output_tokens)
        if "audio" in r.modalities and speech is None and call is None:
            plan.note = material.speech_error
        r.plan = plan
        item_id = self._id("item")
        previous = self._order[-1] if (self._order and r.in_conversation) else None
        script, done_item = build_script(
            response_id=r.id,
            item_id=item_id,
            previous_item_id=previous,
            in_conversation=r.in_conversation,
            plan=plan,
            modalities=r.modalities,
            output_format=r.config.output_audio_format.type,
            call_id=self._id("call"),
        )
        r.item = done_item
        if r.in_conversation:
            stored = _Item(
                dict(done_item, status="in_progress"),
                None,
                list(zip(plan.word_starts_ms, plan.words, strict=False)),
                r.config.output_audio_format.type,
            )
            if plan.samples is not None and "audio" in r.modalities:
                stored.audio = np.zeros(0, dtype=np.int16)
            self._insert(stored, previous)
        pace = self.options.pace
        for offset, event in sorted(script.events, key=lambda p: p[0]):
            r.pending.append((now + (offset / pace if pace > 0 else 0.0), event))
        finish_at = r.pending[-1][0] if r.pending else now
        r.pending.append((finish_at, {"type": "_finish"}))
        return self.tick(now)

    def _release(self, r: _Response, event: dict[str, Any], now: float) -> list[dict[str, Any]]:
        kind = event["type"]
        if kind == "_finish":
            status = "incomplete" if (r.plan is not None and r.plan.incomplete) else "completed"
            details = (
                {"type": "incomplete", "reason": "max_output_tokens"}
                if status == "incomplete"
                else None
            )
            return self._finish(r, status, details, now)
        if kind == "response.output_audio.delta":
            r.audio_sent_bytes += base64_decoded_size(event["delta"])
            r.first_audio_at = r.first_audio_at if r.first_audio_at is not None else now
            self.voice_locked = True
            self._grow_stored_audio(r)
        elif kind in ("response.output_audio_transcript.delta", "response.output_text.delta"):
            r.text_sent.append(event["delta"])
        elif kind == "conversation.item.done" and r.item is not None:
            stored = self._items.get(r.item["id"])
            if stored is not None:
                stored.data = dict(event["item"])
        return [self._event(event)]

    def _grow_stored_audio(self, r: _Response) -> None:
        if r.item is None or r.plan is None or r.plan.samples is None:
            return
        stored = self._items.get(r.item["id"])
        if stored is None:
            return
        fmt = r.config.output_audio_format.type
        sent_ms = r.audio_sent_bytes / (48 if fmt == "audio/pcm" else 8)
        stored.audio = r.plan.samples[: int(sent_ms * 24)]

    def _finish(
        self, r: _Response, status: str, details: dict[str, Any] | None, now: float
    ) -> list[dict[str, Any]]:
        """End a response: completed, incomplete, or cancelled where it stands."""
        out: list[dict[str, Any]] = []
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
                stored = self._items.get(item["id"])
                if stored is not None:
                    stored.data = item
                    stored.words = stored.words[: len(r.text_sent)]
                out.append(
                    self._event(
                        {
                            "type": "response.output_item.done",
                            "response_id": r.id,
                            "output_index": 0,
                            "item": item,
                        }
                    )
                )
            output = [item]
        if self._response is r:
            self._response = None
        usage = self._usage(r)
        done = self._response_object(r, output, status=status, details=details, usage=usage)
        out.append(self._event({"type": "response.done", "response": done}))
        if r.in_conversation:
            played = 0.0
            if r.plan is not None and r.plan.samples is not None and r.first_audio_at is not None:
                elapsed = (now - r.first_audio_at) * 1000
                played = max(0.0, min(r.plan.audio_ms, r.audio_sent_bytes / 48) - elapsed)
            self._idle_anchor_ms = self.input_ms + played
        return out

    def _usage(self, r: _Response) -> dict[str, Any]:
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
                "image_tokens": 0,
            },
            "output_token_details": {"text_tokens": out_text, "audio_tokens": out_audio},
            "local_estimate": "text ~4 characters/token; audio in 10 tokens/s, out 20 tokens/s",
        }

    def _response_object(
        self,
        r: _Response,
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

    def _on_response_cancel(self, e: ev.ResponseCancel, now: float) -> list[dict[str, Any]]:
        r = self._response
        if (
            r is None
            or r.status != "in_progress"
            or (e.response_id is not None and e.response_id != r.id)
        ):
            return [
                self._error(
                    "Cancellation failed: no active response found.",
                    "response_cancel_not_active",
                    None,
                    e.event_id,
                )
            ]
        return self._finish(
            r, "cancelled", {"type": "cancelled", "reason": "client_cancelled"}, now
        )


def _check_item(item: dict[str, Any]) -> tuple[str, str] | None:
    """OpenAI's shape rules for conversation.item.create, as (message, param) or None."""
    kind = item.get("type")
    if "id" in item and not (isinstance(item["id"], str) and 0 < len(item["id"]) <= 64):
        return ("Invalid 'item.id': expected a string of 1 to 64 characters.", "item.id")
    if kind not in ("message", "function_call", "function_call_output"):
        return (
            f"Invalid value: '{kind}'. Supported values are: 'message', 'function_call', and "
            "'function_call_output'.",
            "item.type",
        )
    if kind == "function_call_output":
        if not isinstance(item.get("call_id"), str):
            return ("Missing required parameter: 'item.call_id'.", "item.call_id")
        if not isinstance(item.get("output"), str):
            return ("Missing required parameter: 'item.output'.", "item.output")
        return None
    if kind == "function_call":
        for key in ("call_id", "name", "arguments"):
            if not isinstance(item.get(key), str):
                return (f"Missing required parameter: 'item.{key}'.", f"item.{key}")
        return None
    role = item.get("role")
    allowed = {
        "user": ("input_text", "input_audio", "input_image"),
        "system": ("input_text",),
        "assistant": ("output_text", "output_audio"),
    }
    if not isinstance(role, str) or role not in allowed:
        return (
            f"Invalid value: '{role}'. Supported values are: 'user', 'assistant', and 'system'.",
            "item.role",
        )
    content = item.get("content")
    if not isinstance(content, list) or not content:
        return ("Missing required parameter: 'item.content'.", "item.content")
    for i, part in enumerate(content):
        if not isinstance(part, dict) or part.get("type") not in allowed[role]:
            got = part.get("type") if isinstance(part, dict) else part
            return (
                f"Invalid value: '{got}'. Supported values are: "
                + ", ".join(f"'{t}'" for t in allowed[role])
                + f" for role {role}.",
                f"item.content[{i}].type",
            )
        for key, required in _PART_FIELDS[part["type"]].items():
            value = part.get(key)
            if value is None and not required:
                continue
            if not isinstance(value, str):
                verb = "Missing required parameter" if value is None else "Invalid type for"
                tail = "." if value is None else ": expected a string."
                return (f"{verb} 'item.content[{i}].{key}'{tail}", f"item.content[{i}].{key}")
    return None


# Which string fields each content part carries, and whether they are required.
_PART_FIELDS: dict[str, dict[str, bool]] = {
    "input_text": {"text": True},
    "input_audio": {"audio": False, "transcript": False},
    "input_image": {"image_url": True},
    "output_text": {"text": True},
    "output_audio": {"transcript": False},
}


def produce_reply_sync(
    request: ReplyRequest,
    responder: Callable[[ReplyContext], Any],
    speak: Callable[[str, str, float], Speech] | None,
) -> ReplyMaterial:
    """Run a synchronous responder and synthesise speech (used by tests and the I/O layer)."""
    value = responder(request.context)
    if not isinstance(value, str | FunctionCall):
        raise TypeError(f"a responder must return str or FunctionCall, got {type(value).__name__}")
    return speak_reply(request, value, speak)


def speak_reply(
    request: ReplyRequest,
    value: str | FunctionCall,
    speak: Callable[[str, str, float], Speech] | None,
) -> ReplyMaterial:
    if isinstance(value, FunctionCall) or "audio" not in request.modalities:
        return ReplyMaterial(value)
    if speak is None:
        return ReplyMaterial(
            value, None, "no offline speech synthesiser is installed; reply sent as transcript only"
        )
    return ReplyMaterial(value, speak(value, request.voice, request.speed))
