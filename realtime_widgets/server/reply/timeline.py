"""The GA event sequence of one response, laid out on a timeline (the reply's pacing).

:func:`plan_reply` cuts a reply to the response's ``max_output_tokens`` (by the rule of
:mod:`.usage`); :func:`build_script` turns the plan (text or a function call, with synthesised
speech when the response has audio) into ``(offset_seconds, event)`` pairs, each event built
from its model: audio deltas at real-time pace, each transcript word when its audio starts.
The engine releases them as its clock passes each offset, so a barge-in or ``response.cancel``
stops the reply where the listener is.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec

import numpy as np

from realtime_widgets.audio.formats import FORMAT_RATES, encode
from realtime_widgets.audio.pcm import Int16Array, pcm16_to_base64
from realtime_widgets.audio.rate import MODEL_RATE, samples_to_ms
from realtime_widgets.audio.resample import resample
from realtime_widgets.protocol import events as ev
from realtime_widgets.server.emitter import Event, build_event
from realtime_widgets.server.reply.responder import FunctionCall
from realtime_widgets.server.reply.usage import (
    AUDIO_TOKENS_PER_SECOND_OUT,
    audio_tokens_for_samples,
    estimate_text_tokens,
)
from realtime_widgets.server.tts import Speech

__all__ = ["CHUNK_MS", "ReplyPlan", "Script", "build_script", "output_audio", "plan_reply"]

P = ParamSpec("P")
CHUNK_MS = 100  # audio per output_audio.delta


@dataclass
class ReplyPlan:
    """What the response will say, cut to ``max_output_tokens`` if needed."""

    text: str
    words: list[str]
    word_starts_ms: list[float]
    samples: Int16Array | None  # speech at the model's rate, or None for a text reply
    function_call: FunctionCall | None = None
    incomplete: bool = False
    text_tokens: int = 0
    audio_tokens: int = 0
    note: str | None = None  # e.g. why there is no audio

    @property
    def audio_ms(self) -> float:
        return 0.0 if self.samples is None else samples_to_ms(len(self.samples))


def plan_reply(
    text: str | None,
    function_call: FunctionCall | None,
    speech: Speech | None,
    max_output_tokens: int | str,
) -> ReplyPlan:
    """Cut the reply where the token budget runs out (status incomplete)."""
    if function_call is not None:
        args = function_call.arguments_json()
        return ReplyPlan("", [], [], None, function_call, text_tokens=estimate_text_tokens(args))
    text = text or ""
    words = text.split()
    starts = list(speech.word_starts_ms) if speech is not None else [0.0] * len(words)
    samples = speech.samples if speech is not None else None
    text_tokens = estimate_text_tokens(text)
    audio_tokens = (
        0
        if samples is None
        else audio_tokens_for_samples(len(samples), AUDIO_TOKENS_PER_SECOND_OUT)
    )
    plan = ReplyPlan(
        text, words, starts, samples, text_tokens=text_tokens, audio_tokens=audio_tokens
    )
    total = text_tokens + audio_tokens
    if max_output_tokens == "inf" or total <= int(max_output_tokens):
        return plan
    keep = int(max_output_tokens) / total
    n_words = max(0, math.floor(len(words) * keep))
    cut_text = " ".join(words[:n_words])
    cut_samples = None if samples is None else samples[: int(len(samples) * keep)]
    return ReplyPlan(
        cut_text,
        words[:n_words],
        starts[:n_words],
        cut_samples,
        incomplete=True,
        text_tokens=estimate_text_tokens(cut_text),
        audio_tokens=0
        if cut_samples is None
        else audio_tokens_for_samples(len(cut_samples), AUDIO_TOKENS_PER_SECOND_OUT),
    )


@dataclass
class Script:
    """Timed events of one response (built from their models, without event ids yet)."""

    events: list[tuple[float, Event]] = field(default_factory=list)

    def at(
        self,
        offset_s: float,
        kind: Callable[P, ev.ServerEvent],
        /,
        *args: P.args,
        **fields: P.kwargs,
    ) -> None:
        """Write an event of model ``kind`` at ``offset_s`` seconds into the reply."""
        self.events.append((offset_s, build_event(kind, *args, **fields)))

    def item_added(
        self,
        offset_s: float,
        base: dict[str, Any],
        item: dict[str, Any],
        in_conversation: bool,
        previous_item_id: str | None,
    ) -> None:
        """The output item is added to the response and, in the conversation, to it."""
        self.at(offset_s, ev.ResponseOutputItemAdded, **base, item=dict(item))
        if in_conversation:
            self.at(
                offset_s,
                ev.ConversationItemAdded,
                previous_item_id=previous_item_id,
                item=dict(item),
            )

    def item_done(
        self,
        offset_s: float,
        base: dict[str, Any],
        done: dict[str, Any],
        in_conversation: bool,
        previous_item_id: str | None,
    ) -> None:
        """The finished output item, to the response and, in the conversation, to it."""
        self.at(offset_s, ev.ResponseOutputItemDone, **base, item=done)
        if in_conversation:
            self.at(offset_s, ev.ConversationItemDone, previous_item_id=previous_item_id, item=done)


def output_audio(samples: Int16Array, fmt: str) -> bytes:
    """Speech at the model's rate in the session's output format."""
    rate = FORMAT_RATES[fmt]
    x = (
        samples
        if rate == MODEL_RATE
        else np.asarray(resample(samples, MODEL_RATE, rate), dtype=np.int16)
    )
    return encode(x, fmt)


def build_script(
    *,
    response_id: str,
    item_id: str,
    previous_item_id: str | None,
    in_conversation: bool,
    plan: ReplyPlan,
    modalities: list[str],
    output_format: str,
    call_id: str,
) -> tuple[Script, dict[str, Any]]:
    """The response's events (everything between response.created and response.done) and the
    finished output item."""
    s = Script()
    base = {"response_id": response_id, "output_index": 0}
    if plan.function_call is not None:
        fc = plan.function_call
        args = fc.arguments_json()
        item: dict[str, Any] = {
            "id": item_id,
            "object": "realtime.item",
            "type": "function_call",
            "status": "in_progress",
            "name": fc.name,
            "call_id": call_id,
            "arguments": "",
        }
        s.item_added(0, base, item, in_conversation, previous_item_id)
        for i in range(0, len(args), 16):
            s.at(
                0,
                ev.FunctionCallArgumentsDelta,
                **base,
                item_id=item_id,
                call_id=call_id,
                delta=args[i : i + 16],
            )
        s.at(
            0,
            ev.FunctionCallArgumentsDone,
            **base,
            item_id=item_id,
            call_id=call_id,
            name=fc.name,
            arguments=args,
        )
        done = {**item, "status": "completed", "arguments": args}
        s.item_done(0, base, done, in_conversation, previous_item_id)
        return s, done

    audio = "audio" in modalities and plan.samples is not None
    status = "incomplete" if plan.incomplete else "completed"
    item = {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "status": "in_progress",
        "role": "assistant",
        "content": [],
    }
    s.item_added(0, base, item, in_conversation, previous_item_id)
    part_base = {**base, "item_id": item_id, "content_index": 0}
    if audio:
        assert plan.samples is not None
        s.at(
            0,
            ev.ResponseContentPartAdded,
            **part_base,
            part={"type": "audio", "transcript": ""},
        )
        data = output_audio(plan.samples, output_format)
        per_ms = len(data) / max(plan.audio_ms, 1e-9)
        step = max(1, round(per_ms * CHUNK_MS))
        if output_format == "audio/pcm":
            step -= step % 2
        words = list(zip(plan.word_starts_ms, plan.words, strict=False))
        w = 0
        for start in range(0, len(data), step):
            t = start / per_ms / 1000
            while w < len(words) and words[w][0] / 1000 <= t + CHUNK_MS / 1000:
                s.at(
                    words[w][0] / 1000,
                    ev.ResponseOutputAudioTranscriptDelta,
                    **part_base,
                    delta=(" " if w else "") + words[w][1],
                )
                w += 1
            s.at(
                t,
                ev.ResponseOutputAudioDelta,
                **part_base,
                delta=pcm16_to_base64(data[start : start + step]),
            )
        for start_ms, word in words[w:]:
            s.at(
                start_ms / 1000,
                ev.ResponseOutputAudioTranscriptDelta,
                **part_base,
                delta=(" " if w else "") + word,
            )
            w += 1
        end = plan.audio_ms / 1000
        s.at(end, ev.ResponseOutputAudioDone, **part_base)
        s.at(
            end,
            ev.ResponseOutputAudioTranscriptDone,
            **part_base,
            transcript=plan.text,
        )
        s.at(
            end,
            ev.ResponseContentPartDone,
            **part_base,
            part={"type": "audio", "transcript": plan.text},
        )
        content: list[dict[str, Any]] = [{"type": "output_audio", "transcript": plan.text}]
    else:
        s.at(
            0,
            ev.ResponseContentPartAdded,
            **part_base,
            part={"type": "text", "text": ""},
        )
        for i, word in enumerate(plan.words):
            s.at(
                0.02 * i,
                ev.ResponseOutputTextDelta,
                **part_base,
                delta=(" " if i else "") + word,
            )
        end = 0.02 * len(plan.words)
        s.at(end, ev.ResponseOutputTextDone, **part_base, text=plan.text)
        s.at(
            end,
            ev.ResponseContentPartDone,
            **part_base,
            part={"type": "text", "text": plan.text},
        )
        content = [{"type": "output_text", "text": plan.text}]
    done = {**item, "status": status, "content": content}
    s.item_done(end, base, done, in_conversation, previous_item_id)
    return s, done
