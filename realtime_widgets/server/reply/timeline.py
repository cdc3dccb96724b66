"""The GA events of one response's reply, written piece by piece on a timeline (the pacing).

A reply arrives in pieces (:class:`~.material.ReplyPiece`: a clause's text and, when audio is
asked for, its speech), maybe followed by a :class:`~.responder.FunctionCall`. Each function
here writes the events of one step into a :class:`Script` at offsets: seconds on the reply's
content timeline (its audio; for a text reply :data:`WORD_S` a word), each event built from its
model. :func:`open_message` adds the message item and its content part, :func:`audio_piece` /
:func:`text_piece` write a piece's deltas (audio deltas at real-time pace, each transcript word
when its audio starts), :func:`close_message` ends the message, :func:`function_call` writes a
call item whole. :func:`cut_piece` cuts a piece to what is left of ``max_output_tokens`` (by the
rule of :mod:`.usage`). The engine part (:mod:`..responses`) maps the offsets to its clock and
releases the events as it passes them, so a barge-in or ``response.cancel`` stops the reply
where the listener is.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec

import numpy as np

from realtime_widgets.audio.formats import FORMAT_RATES, encode
from realtime_widgets.audio.pcm import Int16Array, pcm16_to_base64
from realtime_widgets.audio.rate import MODEL_RATE
from realtime_widgets.audio.resample import resample
from realtime_widgets.protocol import events as ev
from realtime_widgets.server.emitter import Event, build_event
from realtime_widgets.server.reply.responder import FunctionCall
from realtime_widgets.server.reply.usage import (
    AUDIO_TOKENS_PER_SECOND_OUT,
    audio_tokens_for_samples,
    estimate_text_tokens,
)

__all__ = [
    "CHUNK_MS",
    "WORD_S",
    "PieceCut",
    "Script",
    "audio_piece",
    "close_message",
    "cut_piece",
    "function_call",
    "message_content",
    "message_item",
    "open_message",
    "output_audio",
    "paced_due",
    "text_piece",
]

P = ParamSpec("P")
CHUNK_MS = 100  # audio per output_audio.delta
WORD_S = 0.02  # a text reply's pace: one output_text.delta (a word) every 20 ms


def paced_due(offset: float, *, origin: float, anchor: float, pace: float, lead: float) -> float:
    """When content at ``offset`` seconds of a reply's timeline goes out: ``lead`` seconds
    ahead of real time (``pace`` 1.0; 0: at once), counted from ``origin`` (the clock time of
    offset 0), never before ``anchor`` (the clock time the content last (re)started). The one
    pacing rule of every spoken output (a Realtime response, GPT-Live's output stream)."""
    if pace <= 0:
        return anchor
    return max(anchor, origin + (offset - lead) / pace)


@dataclass
class Script:
    """Timed events of one step of a response (built from their models, without event ids)."""

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


@dataclass
class PieceCut:
    """A piece as the token budget lets it through: its words (with their start times in the
    piece's audio, ms) and samples; ``incomplete`` when the budget ran out in it."""

    text: str
    words: list[str]
    word_starts_ms: list[float]
    samples: Int16Array | None
    incomplete: bool = False


def cut_piece(
    text_before: str,
    samples_before: int,
    text: str,
    word_starts_ms: tuple[float, ...] | None,
    samples: Int16Array | None,
    max_output_tokens: int | str,
) -> PieceCut:
    """The piece (``text``, its speech's word starts and samples) cut where the response's
    ``max_output_tokens`` runs out, counting what the response said before it
    (``text_before``, ``samples_before``): the budget keeps the same share of its words and
    of its audio (one piece alone is cut as a whole reply always was)."""
    words = text.split()
    starts = list(word_starts_ms) if word_starts_ms is not None else [0.0] * len(words)
    whole = PieceCut(text, words, starts, samples)
    if max_output_tokens == "inf":
        return whole
    joined = f"{text_before} {text}" if text_before and text else text_before or text
    n_samples = 0 if samples is None else len(samples)
    before = estimate_text_tokens(text_before) + audio_tokens_for_samples(
        samples_before, AUDIO_TOKENS_PER_SECOND_OUT
    )
    after = estimate_text_tokens(joined) + audio_tokens_for_samples(
        samples_before + n_samples, AUDIO_TOKENS_PER_SECOND_OUT
    )
    budget = int(max_output_tokens)
    if after <= budget:
        return whole
    keep = max(0, budget - before) / max(after - before, 1)
    n_words = max(0, math.floor(len(words) * keep))
    return PieceCut(
        " ".join(words[:n_words]),
        words[:n_words],
        starts[:n_words],
        None if samples is None else samples[: int(n_samples * keep)],
        incomplete=True,
    )


def message_item(item_id: str) -> dict[str, Any]:
    """An assistant message item as it is added (in progress, no content yet)."""
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "status": "in_progress",
        "role": "assistant",
        "content": [],
    }


def open_message(
    s: Script,
    offset_s: float,
    base: dict[str, Any],
    item: dict[str, Any],
    *,
    audio: bool,
    in_conversation: bool,
    previous_item_id: str | None,
) -> None:
    """The message item is added, and its content part (audio or text, still empty)."""
    s.item_added(offset_s, base, item, in_conversation, previous_item_id)
    part = {"type": "audio", "transcript": ""} if audio else {"type": "text", "text": ""}
    s.at(
        offset_s,
        ev.ResponseContentPartAdded,
        **base,
        item_id=item["id"],
        content_index=0,
        part=part,
    )


def audio_piece(
    s: Script,
    start_s: float,
    part_base: dict[str, Any],
    data: bytes,
    audio_ms: float,
    words: list[tuple[float, str]],
    *,
    first_word: bool,
    output_format: str,
) -> None:
    """A piece's audio deltas (``data`` in the output format, lasting ``audio_ms``) from
    ``start_s`` on at real-time pace, and each of its ``words`` (start in the piece's audio,
    ms; ``first_word``: the message's first, with no space before it) when its audio starts."""
    w = 0

    def word(start_ms: float, text: str) -> None:
        nonlocal w
        space = "" if first_word and w == 0 else " "
        s.at(
            # (a word never starts after its piece's audio: the next piece's events follow)
            start_s + min(start_ms, audio_ms) / 1000,
            ev.ResponseOutputAudioTranscriptDelta,
            **part_base,
            delta=space + text,
        )
        w += 1

    if data:
        per_ms = len(data) / max(audio_ms, 1e-9)
        step = max(1, round(per_ms * CHUNK_MS))
        if output_format == "audio/pcm":
            step -= step % 2
        for start in range(0, len(data), step):
            t = start / per_ms / 1000
            while w < len(words) and words[w][0] / 1000 <= t + CHUNK_MS / 1000:
                word(*words[w])
            s.at(
                start_s + t,
                ev.ResponseOutputAudioDelta,
                **part_base,
                delta=pcm16_to_base64(data[start : start + step]),
            )
    for start_ms, text in words[w:]:
        word(start_ms, text)


def text_piece(
    s: Script, start_s: float, part_base: dict[str, Any], words: list[str], *, first_word: bool
) -> None:
    """A text piece's deltas, a word every :data:`WORD_S` from ``start_s``."""
    for i, text in enumerate(words):
        space = "" if first_word and i == 0 else " "
        s.at(start_s + WORD_S * i, ev.ResponseOutputTextDelta, **part_base, delta=space + text)


def close_message(
    s: Script,
    end_s: float,
    base: dict[str, Any],
    done: dict[str, Any],
    *,
    audio: bool,
    text: str,
    in_conversation: bool,
    previous_item_id: str | None,
) -> None:
    """The message ends at ``end_s``: its audio and transcript (or text), its part, the item
    (``done``: as it is finished)."""
    part_base = {**base, "item_id": done["id"], "content_index": 0}
    if audio:
        s.at(end_s, ev.ResponseOutputAudioDone, **part_base)
        s.at(end_s, ev.ResponseOutputAudioTranscriptDone, **part_base, transcript=text)
        s.at(
            end_s,
            ev.ResponseContentPartDone,
            **part_base,
            part={"type": "audio", "transcript": text},
        )
    else:
        s.at(end_s, ev.ResponseOutputTextDone, **part_base, text=text)
        s.at(end_s, ev.ResponseContentPartDone, **part_base, part={"type": "text", "text": text})
    s.item_done(end_s, base, done, in_conversation, previous_item_id)


def message_content(audio: bool, text: str) -> list[dict[str, Any]]:
    """A message item's content: its transcript (audio) or its text."""
    if audio:
        return [{"type": "output_audio", "transcript": text}]
    return [{"type": "output_text", "text": text}]


def function_call(
    s: Script,
    offset_s: float,
    base: dict[str, Any],
    *,
    item_id: str,
    call_id: str,
    call: FunctionCall,
    in_conversation: bool,
    previous_item_id: str | None,
) -> dict[str, Any]:
    """A function call item whole at ``offset_s`` (added, its arguments in 16-character
    deltas, done); returns the finished item."""
    args = call.arguments_json()
    item: dict[str, Any] = {
        "id": item_id,
        "object": "realtime.item",
        "type": "function_call",
        "status": "in_progress",
        "name": call.name,
        "call_id": call_id,
        "arguments": "",
    }
    s.item_added(offset_s, base, item, in_conversation, previous_item_id)
    for i in range(0, len(args), 16):
        s.at(
            offset_s,
            ev.FunctionCallArgumentsDelta,
            **base,
            item_id=item_id,
            call_id=call_id,
            delta=args[i : i + 16],
        )
    s.at(
        offset_s,
        ev.FunctionCallArgumentsDone,
        **base,
        item_id=item_id,
        call_id=call_id,
        name=call.name,
        arguments=args,
    )
    done = {**item, "status": "completed", "arguments": args}
    s.item_done(offset_s, base, done, in_conversation, previous_item_id)
    return done
