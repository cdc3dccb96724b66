"""What the engine's parts return besides events: outcomes, for the engine to route.

A part never calls another part. When something it did matters elsewhere (a turn ended, so
the conversation gets an item and maybe a response starts; a reply finished, so the idle
timeout counts from where its audio stops) it returns an outcome in the same ordered list as
its events (:data:`Steps`, or :data:`StepStream` when produced lazily). The session engine
walks it: events go out as they are, and each outcome is routed to the parts it concerns at
that point, so effects and events keep their order. Outcomes are plain frozen records: a test
of one part checks them by value.

Which part returns which (and what :class:`~.engine.SessionEngine` does with it):

============================  ==============================  ===================================
outcome                       returned by                     routed to (Realtime session)
============================  ==============================  ===================================
:class:`SpeechStarted`        input (:mod:`.turns`)           cancel the reply (barge-in)
:class:`SpeechPaused`         input                           input transcripts: speculate
:class:`PauseVoided`          input                           input transcripts: drop the
                                                              speculation
:class:`TurnEnded`            input                           conversation item, transcript,
                                                              auto response
:class:`TurnsDecided`         input                           idle-timeout check (needs whether
                                                              a reply is in progress)
:class:`UserAudioStored`      conversation                    input transcripts (a job, or
                                                              the speculation's result)
:class:`TranscriptReady`      input transcripts               what the model heard; the
                                                              item's transcript when announced;
                                                              a response waiting for it
:class:`ResponseRequested`    responses (``response.create``) create it with the conversation's
                                                              context
:class:`ReplyScheduled`       responses                       an output item of the reply
                                                              (its first piece) into the
                                                              conversation
:class:`ReplyExtended`        responses                       a later piece's words and text
                                                              onto the message item
:class:`ReplyAudioSent`       responses                       voice lock; the item's audio
:class:`ReplyItemDone`        responses                       the item's final content
:class:`ReplyFinished`        responses                       context fit; idle anchor
:class:`OutputSpoken`         GPT-Live's output               (Live only) what the listener
                              (:mod:`.live_output`)           heard goes into the context; a
                                                              fixture's end unmutes the input
============================  ==============================  ===================================

:class:`~.live_engine.LiveEngine` routes the input and transcript outcomes its way: speech
starting stops the model's output (barge-in), a turn's transcript becomes a transcript delta and
a reply. Its docstring has its table.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from realtime_widgets.audio.pcm import Int16Array
from realtime_widgets.protocol.client_events import ResponseParams

__all__ = [
    "Outcome",
    "OutputSpoken",
    "PauseVoided",
    "ReplyAudioSent",
    "ReplyExtended",
    "ReplyFinished",
    "ReplyItemDone",
    "ReplyScheduled",
    "ResponseRequested",
    "SpeechPaused",
    "SpeechStarted",
    "Step",
    "StepStream",
    "Steps",
    "TranscriptReady",
    "TurnEnded",
    "TurnsDecided",
    "UserAudioStored",
]

TurnTrigger = Literal["turn_detected", "idle_timeout", "commit"]


@dataclass(frozen=True)
class SpeechStarted:
    """Turn detection heard speech start (``input_audio_buffer.speech_started`` was written)."""

    item_id: str
    audio_start_ms: int


@dataclass(frozen=True)
class SpeechPaused:
    """Turn detection heard the speech of turn ``item_id`` stop: its silence countdown began.
    ``audio``: the turn's samples up to where the speech stopped (to transcribe early)."""

    item_id: str
    audio: Int16Array = field(compare=False, repr=False)


@dataclass(frozen=True)
class PauseVoided:
    """The audio told by the last :class:`SpeechPaused` of turn ``item_id`` is no longer the
    whole turn: speech resumed, or the buffer was cleared or committed by hand."""

    item_id: str


@dataclass(frozen=True)
class TurnEnded:
    """A user turn's audio was committed: by turn detection, the idle timeout, or the client
    (``input_audio_buffer.commit``, whose ``client_id`` errors echo). ``audio``: the turn's
    samples on the model's timeline (not compared: check it with numpy)."""

    item_id: str
    trigger: TurnTrigger
    audio: Int16Array = field(compare=False, repr=False)
    client_id: str | None = None


@dataclass(frozen=True)
class TurnsDecided:
    """Every appended frame is decided: the input part may check its idle timeout now, once it
    is told whether a reply is in progress (:meth:`~.turns.InputTurns.after_turns`)."""


@dataclass(frozen=True)
class UserAudioStored:
    """A committed turn became a user item in the conversation (its audio, to transcribe)."""

    item_id: str
    audio: Int16Array = field(compare=False, repr=False)


@dataclass(frozen=True)
class TranscriptReady:
    """The recogniser's transcript of a committed turn, or None when it failed (``why`` then
    says why): what the model heard, and, when ``announced`` (the session's input
    transcription is on), the item's ``transcript`` from now on."""

    item_id: str
    text: str | None
    announced: bool = True
    why: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ResponseRequested:
    """``response.create`` was accepted (no response in progress): create it."""

    params: ResponseParams | None
    client_id: str | None


@dataclass(frozen=True)
class ReplyScheduled:
    """An output item of a response's reply is scheduled (a message with its first piece, or
    a function call): the item (status ``in_progress``, its content so far) and word timings,
    to be placed after ``previous`` when ``in_conversation``; ``with_audio``: the item gets
    audio as it is sent."""

    response_id: str
    item: dict[str, Any]
    words: tuple[tuple[float, str], ...]
    audio_format: str
    with_audio: bool
    in_conversation: bool
    previous: str | None


@dataclass(frozen=True)
class ReplyExtended:
    """A later piece of a streamed reply is scheduled: the message item ``item_id`` as it
    stands now (its content with the text so far) and the piece's ``words`` (start on the
    item's audio, ms), which join the item's."""

    item_id: str
    item: dict[str, Any]
    words: tuple[tuple[float, str], ...]


@dataclass(frozen=True)
class ReplyAudioSent:
    """A reply's audio was released (told once per release, however many deltas went): the
    voice is locked from now on; ``heard`` is the reply's audio as far as it has been sent, for
    its item ``item_id`` (None: nothing to keep)."""

    item_id: str | None
    heard: Int16Array | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ReplyItemDone:
    """A reply's item is final (``conversation.item.done``, or a cancel): its content, and for
    a cancel how many of its words were sent (the rest are dropped)."""

    item_id: str
    item: dict[str, Any]
    words_kept: int | None = None


@dataclass(frozen=True)
class ReplyFinished:
    """A response ended (``response.done`` was written). ``audio_left_ms``: how much of the
    audio sent the listener has still to hear, from now (0 for text)."""

    response_id: str
    status: str
    in_conversation: bool
    audio_left_ms: float


@dataclass(frozen=True)
class OutputSpoken:
    """A GPT-Live utterance left the output: played whole (``complete``) or cut (a barge-in,
    a fixture). ``text``: its words as the listener heard them (those whose audio had started
    playing); ``kind``: reply, commentary, acknowledgement or fixture; ``client_id``: the
    client event that asked for it, when it had one (a fixture's play)."""

    key: str
    kind: str
    text: str
    complete: bool
    client_id: str | None = None


Outcome = (
    SpeechStarted
    | SpeechPaused
    | PauseVoided
    | TurnEnded
    | TurnsDecided
    | UserAudioStored
    | TranscriptReady
    | ResponseRequested
    | ReplyScheduled
    | ReplyExtended
    | ReplyAudioSent
    | ReplyItemDone
    | ReplyFinished
    | OutputSpoken
)
# A part's answer: its events and outcomes in the order they happened.
Step = dict[str, Any] | Outcome
Steps = list[Step]
# The same, produced lazily: the input part yields each step as it goes, so the engine routes
# an outcome (a barge-in's cancel, the response after a turn) before the part goes on, and the
# events of both land in the order, and with the ids, they would have if one object did both.
StepStream = Iterator[Step]
