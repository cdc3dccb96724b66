"""LiveState: a GPT-Live session's server events as state, with no I/O.

:class:`~realtime_widgets.client.live.LiveCore` feeds it every server event it reads (and the
session clock, seconds) and every client event it sends (:meth:`LiveState.sent`), on the
session's I/O loop. What it keeps:

- ``transcript``: both sides by position (:class:`LiveTranscript`: turns on the session's
  timeline, deltas joined in delivery order);
- ``usage``: the billed duration (:class:`~realtime_widgets.client.live_cost.DurationUsage`:
  cumulative reports replaced, never summed) and ``context_usage_ratio``;
- ``muted``, ``fixture_playing``, ``fixtures_played``: the audio controls as the server
  reported them;
- ``delegations``: each ``session.delegation.created`` (:class:`LiveDelegation`): a client
  delegation is pending until answered (an append with its ``delegation_id``, the SDK's way),
  accepted when the server's ``*.appended`` names that append, refused when an error does;
- ``appended``: the context the server took (instructions, thinking, commentary), with what we
  sent; ``decisions``, ``decision_items``, ``response_events``, ``infos``;
- ``errors``: each ``error``, linked through ``client_event_id`` to the client event that
  caused it (its type and what it carried, :class:`LiveErrorRecord`);
- ``session`` (the last session object), ``session_ids`` (one per server session) and
  ``closed`` (``session.closed``: the reason and the final usage).

Everything is bounded: the transcript in characters and turns, the lists in entries.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any, Literal

from realtime_widgets.client.live_cost import DurationUsage
from realtime_widgets.protocol import live_events as le
from realtime_widgets.protocol.live_config import LiveConfig

__all__ = [
    "MAX_TEXT_CHARS",
    "MAX_TURNS",
    "LiveAppended",
    "LiveClosed",
    "LiveDelegation",
    "LiveErrorRecord",
    "LiveState",
    "LiveTranscript",
    "LiveTurn",
    "SentEvent",
]

Role = Literal["user", "assistant"]
MAX_TEXT_CHARS = 16 * 1024 * 1024  # transcript text kept (as ConversationState's TEXT_BUDGET)
MAX_TURNS = 2000  # turns kept; older ones leave first (``dropped_turns`` counts them)
_KEPT = 200  # entries kept of each list (errors, appended, decisions, ...)
_SENT = 1000  # client events remembered for linking (event_id -> what was sent)
_MARKS = 256  # positions kept per side for the turn rule
_APPENDS = {
    "session.instructions.append": "instructions",
    "session.thinking.append": "thinking",
    "session.commentary.append": "commentary",
}
_APPENDED = {
    "session.instructions.appended": "instructions",
    "session.thinking.appended": "thinking",
    "session.commentary.appended": "commentary",
}


# ---- the transcript ---------------------------------------------------------------------------


@dataclass(eq=False)
class LiveTurn:
    """One side's speech between the other side's, on the session's timeline (ms).

    ``text``: its deltas joined in delivery order; ``session``: which server session (0, then 1
    after a reconnect...: each has its own timeline); ``text_dropped``: characters not kept
    (over the transcript's budget; ``text`` then ends with a note saying so)."""

    n: int
    role: Role
    start_ms: int
    end_ms: int
    session: int
    deltas: int = 0
    text_dropped: int = 0
    pieces: list[str] = field(default_factory=list, repr=False)

    @property
    def text(self) -> str:
        kept = "".join(self.pieces)
        if self.text_dropped:
            kept += f"[{self.text_dropped:,} characters not kept: over the transcript's budget]"
        return kept


class LiveTranscript:
    """Both sides' transcripts as turns, by position.

    GPT-Live sends ``session.input_transcript.delta`` / ``session.output_transcript.delta`` with
    ``start_ms`` / ``end_ms`` on the session's timeline, and no done event: the SDK says they
    "do not define complete turns". The rule here: a delta joins its side's latest turn unless
    the other side spoke in between, that is at a position from that turn's end to the delta's
    start (the start or the end of one of the other side's transcript deltas, and the model's
    audio placed with :meth:`mark`); otherwise it begins a new turn. Both ends count: when the
    person barges in, the model's last word was scheduled to end after the person began, and
    only the end of what the person said lies between that word and the model's answer. A late
    delta (transcription lags the audio) whose start lies before the other side's speech still
    joins the turn it belongs to.

    Bounded: at most ``max_turns`` turns (the oldest leave; ``dropped_turns``) and ``max_chars``
    characters (the oldest turns' text leaves first, whole; a turn alone over the budget keeps
    its head and counts the rest in ``text_dropped``)."""

    def __init__(self, max_chars: int = MAX_TEXT_CHARS, max_turns: int = MAX_TURNS) -> None:
        if max_chars <= 0 or max_turns <= 0:
            raise ValueError(f"bounds must be positive, got {max_chars!r}, {max_turns!r}")
        self.max_chars = max_chars
        self.max_turns = max_turns
        self.turns: deque[LiveTurn] = deque()
        self.chars = 0
        self.dropped_turns = 0
        self.session = 0
        self._count = 0
        self._last: dict[Role, LiveTurn | None] = {"user": None, "assistant": None}
        self._marks: dict[Role, deque[int]] = {
            "user": deque(maxlen=_MARKS),
            "assistant": deque(maxlen=_MARKS),
        }

    def add(self, role: Role, start_ms: int, end_ms: int, delta: str) -> LiveTurn:
        """One transcript delta; returns the turn it joined or began."""
        self._marks[role].extend((start_ms, end_ms))
        last = self._last[role]
        if last is None or self._spoke_between(_other(role), last.end_ms, start_ms):
            self._count += 1
            last = LiveTurn(self._count, role, start_ms, end_ms, self.session)
            self._last[role] = last
            self.turns.append(last)
            while len(self.turns) > self.max_turns:
                gone = self.turns.popleft()
                self.chars -= sum(len(p) for p in gone.pieces)
                self.dropped_turns += 1
        else:
            last.start_ms = min(last.start_ms, start_ms)
            last.end_ms = max(last.end_ms, end_ms)
        last.deltas += 1
        self._keep(last, delta)
        return last

    def mark(self, role: Role, position_ms: int) -> None:
        """``role`` was heard at ``position_ms`` without a transcript delta (the model's audio,
        placed where the input audio stood when it arrived)."""
        self._marks[role].append(position_ms)

    def _spoke_between(self, role: Role, lo: int, hi: int) -> bool:
        return any(lo <= m <= hi for m in self._marks[role])

    def _keep(self, turn: LiveTurn, delta: str) -> None:
        n = len(delta)
        if turn.text_dropped:  # cut already: kept whole up to the cut, nothing after it
            turn.text_dropped += n
            return
        for old in self.turns:
            if self.chars + n <= self.max_chars:
                break
            if old is not turn and old.pieces:
                size = sum(len(p) for p in old.pieces)
                old.pieces.clear()
                old.text_dropped += size
                self.chars -= size
        room = max(0, self.max_chars - self.chars)
        if n > room:
            turn.text_dropped += n - room
            delta = delta[:room]
        if delta:
            turn.pieces.append(delta)
            self.chars += len(delta)

    def new_session(self) -> None:
        """A new server session (a reconnect): its timeline starts again; no turn of the old
        one is continued."""
        self.session += 1
        self._last = {"user": None, "assistant": None}
        for marks in self._marks.values():
            marks.clear()

    def ordered(self) -> list[LiveTurn]:
        """The turns kept, in timeline order (by server session, then start)."""
        return sorted(self.turns, key=lambda t: (t.session, t.start_ms, t.n))

    def text(self, role: Role) -> str:
        """One side's text, its turns on separate lines."""
        return "\n".join(t.text for t in self.ordered() if t.role == role)


def _other(role: Role) -> Role:
    return "assistant" if role == "user" else "user"


# ---- records ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SentEvent:
    """A client event as sent (remembered by ``event_id`` for linking what answers it):
    its type, when (session seconds), and the text or id it carried, if any."""

    type: str
    t: float
    content: str | None = None
    delegation_id: str | None = None
    item_id: str | None = None


@dataclass
class LiveDelegation:
    """A task the Live model delegated (``session.delegation.created``).

    ``status``: ``pending`` (a client delegation, to answer), ``answered`` (our append with its
    id sent), ``accepted`` (the server's ``*.appended`` named that append), ``refused`` (an
    error named it: answer again), ``backend`` (a Responses or Decisions backend handles it),
    ``completed`` (that backend finished), ``lost`` (its server session ended first)."""

    id: str
    target: str
    offset_ms: int
    created: float
    session: int
    response_id: str | None = None
    status: str = "pending"
    answer: str | None = None
    answer_event_id: str | None = None
    answered: float | None = None
    error: str | None = None
    backend_events: int = 0

    @property
    def needs_answer(self) -> bool:
        """A client delegation not (or not successfully) answered yet."""
        return self.target == "client" and self.status in ("pending", "refused")


@dataclass(frozen=True)
class LiveAppended:
    """Context the server took into the session (``session.*.appended``), with what we sent."""

    kind: str
    start_ms: int
    end_ms: int
    client_event_id: str | None
    content: str | None
    delegation_id: str | None
    t: float


@dataclass(frozen=True)
class LiveErrorRecord:
    """An ``error``, linked to the client event that caused it when the server named it
    (``client_event_id``): ``client_event`` is what we sent under that id (None when it was
    not named, or is no longer remembered). ``field``: our LiveConfig field for ``param``."""

    code: str
    message: str
    type: str
    param: str | None
    client_event_id: str | None
    client_event: SentEvent | None
    field: str | None
    t: float


@dataclass(frozen=True)
class LiveClosed:
    """``session.closed``: why, the server session's id, its final usage, when."""

    reason: str
    session_id: str
    seconds: float
    active_seconds: float | None
    paused_seconds: float | None
    t: float


# ---- the state --------------------------------------------------------------------------------


class LiveState:
    """A GPT-Live session's server events as state (see the module docstring)."""

    def __init__(self, max_text_chars: int = MAX_TEXT_CHARS, max_turns: int = MAX_TURNS) -> None:
        self.transcript = LiveTranscript(max_text_chars, max_turns)
        self.usage = DurationUsage()
        self.context_usage_ratio: float | None = None
        self.session: dict[str, Any] = {}
        self.session_ids: list[str] = []
        self.muted = False
        self.fixture_playing = False
        self.fixtures_played = 0
        self.delegations: OrderedDict[str, LiveDelegation] = OrderedDict()
        self.appended: deque[LiveAppended] = deque(maxlen=_KEPT)
        self.decisions: deque[dict[str, Any]] = deque(maxlen=_KEPT)
        self.decision_items: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.response_events: deque[dict[str, Any]] = deque(maxlen=_KEPT)
        self.infos: deque[tuple[str, str]] = deque(maxlen=_KEPT)
        self.errors: deque[LiveErrorRecord] = deque(maxlen=_KEPT)
        self.closed: LiveClosed | None = None
        self.audio_ms = 0.0  # the model's audio received, all sessions
        self._sent: OrderedDict[str, SentEvent] = OrderedDict()

    # -- what the client sent

    def sent(self, event: dict[str, Any], t: float) -> None:
        """A client event was sent (remembered by its ``event_id`` for linking; an append
        with a ``delegation_id`` answers that delegation)."""
        event_id = event.get("event_id")
        kind = str(event["type"])
        content = event.get("content")
        delegation_id = event.get("delegation_id")
        record = SentEvent(
            kind,
            t,
            content if isinstance(content, str) else None,
            delegation_id if isinstance(delegation_id, str) else None,
            event.get("item_id") if isinstance(event.get("item_id"), str) else None,
        )
        if isinstance(event_id, str):
            self._sent[event_id] = record
            while len(self._sent) > _SENT:
                self._sent.popitem(last=False)
        if kind in _APPENDS and record.delegation_id is not None:
            delegation = self.delegations.get(record.delegation_id)
            if delegation is not None and delegation.needs_answer:
                delegation.status = "answered"
                delegation.answer = record.content
                delegation.answer_event_id = event_id if isinstance(event_id, str) else None
                delegation.answered = t
                delegation.error = None

    def sent_event(self, event_id: str | None) -> SentEvent | None:
        """What we sent under ``event_id`` (None: not named, or no longer remembered)."""
        return self._sent.get(event_id) if event_id is not None else None

    # -- what the server said

    def apply(self, event: Any, t: float) -> LiveTurn | None:
        """One parsed server event at session time ``t``; the transcript turn it touched (for
        a transcript delta), else None."""
        if isinstance(event, le.InputTranscriptDeltaEvent):
            return self.transcript.add("user", event.start_ms, event.end_ms, event.delta)
        if isinstance(event, le.OutputTranscriptDeltaEvent):
            return self.transcript.add("assistant", event.start_ms, event.end_ms, event.delta)
        if isinstance(event, le.SessionUsageUpdatedEvent):
            self._usage(event.usage)
            if event.context_window is not None:
                self.context_usage_ratio = event.context_window.usage_ratio
        elif isinstance(event, le.SessionStartedEvent):
            self._started(event.session.model_dump())
        elif isinstance(event, le.SessionUpdatedEvent):
            self.session = event.session.model_dump()
        elif isinstance(event, le.InputAudioMutedEvent | le.InputAudioUnmutedEvent):
            self.muted = isinstance(event, le.InputAudioMutedEvent)
        elif isinstance(event, le.OutputAudioFixturePlayingEvent):
            self.fixture_playing = True
        elif isinstance(event, le.OutputAudioFixturePlayedEvent):
            self.fixture_playing = False
            self.fixtures_played += 1
        elif isinstance(
            event,
            le.InstructionsAppendedEvent | le.ThinkingAppendedEvent | le.CommentaryAppendedEvent,
        ):
            self._appended(event, t)
        elif isinstance(event, le.DelegationCreatedEvent):
            self._delegated(event, t)
        elif isinstance(event, le.DecisionEvent):
            self.decisions.append(event.model_dump())
            self._backend_event(event.delegation_id, finished=True)
        elif isinstance(event, le.DecisionItemCreatedEvent):
            self.decision_items[event.item.id] = event.item.model_dump(exclude_none=True)
            while len(self.decision_items) > _SENT:
                self.decision_items.popitem(last=False)
        elif isinstance(event, le.DecisionItemDeletedEvent):
            self.decision_items.pop(event.item_id, None)
        elif isinstance(event, le.ResponseEvent):
            self.response_events.append(event.event)
            inner = event.event.get("type")
            self._backend_event(
                event.delegation_id,
                finished=inner in ("response.completed", "response.failed", "response.incomplete"),
            )
        elif isinstance(event, le.InfoEvent):
            self.infos.append((event.code, event.message))
        elif isinstance(event, le.ErrorEvent):
            self._error(event, t)
        elif isinstance(event, le.SessionClosedEvent):
            self._closed(event, t)
        return None

    def model_audio(self, ms: float) -> None:
        """``ms`` of the model's audio arrived."""
        self.audio_ms += ms

    def _started(self, session: dict[str, Any]) -> None:
        if self.session_ids:  # a reconnect's new server session
            self.usage.new_session()
            self.transcript.new_session()
        self.session = session
        self.session_ids.append(str(session.get("id")))
        self.muted = False
        self.fixture_playing = False
        self.closed = None

    def _usage(self, usage: le.SessionUsage) -> None:
        self.usage.report(usage.seconds, usage.active_seconds, usage.paused_seconds)

    def _appended(
        self,
        event: le.InstructionsAppendedEvent | le.ThinkingAppendedEvent | le.CommentaryAppendedEvent,
        t: float,
    ) -> None:
        sent = self.sent_event(event.client_event_id)
        self.appended.append(
            LiveAppended(
                _APPENDED[event.type],
                event.start_ms,
                event.end_ms,
                event.client_event_id,
                sent.content if sent else None,
                sent.delegation_id if sent else None,
                t,
            )
        )
        if sent is not None and sent.delegation_id is not None:
            delegation = self.delegations.get(sent.delegation_id)
            if delegation is not None and delegation.answer_event_id == event.client_event_id:
                delegation.status = "accepted"

    def _delegated(self, event: le.DelegationCreatedEvent, t: float) -> None:
        record = event.delegation
        self.delegations[record.id] = LiveDelegation(
            record.id,
            record.target,
            event.offset_ms,
            t,
            self.transcript.session,
            record.response_id,
            status="pending" if record.target == "client" else "backend",
        )
        while len(self.delegations) > _SENT:
            self.delegations.popitem(last=False)

    def _backend_event(self, delegation_id: str | None, *, finished: bool) -> None:
        delegation = self.delegations.get(delegation_id) if delegation_id else None
        if delegation is None:
            return
        delegation.backend_events += 1
        if finished and delegation.status == "backend":
            delegation.status = "completed"

    def _error(self, event: le.ErrorEvent, t: float) -> None:
        err = event.error
        cid = err.client_event_id or event.client_event_id
        sent = self.sent_event(cid)
        self.errors.append(
            LiveErrorRecord(
                err.code,
                err.message,
                err.type,
                err.param,
                cid,
                sent,
                LiveConfig.field_for_param(err.param),
                t,
            )
        )
        if sent is not None and sent.delegation_id is not None:
            delegation = self.delegations.get(sent.delegation_id)
            if delegation is not None and delegation.answer_event_id == cid:
                delegation.status = "refused"
                delegation.error = f"{err.code}: {err.message}"

    def _closed(self, event: le.SessionClosedEvent, t: float) -> None:
        self._usage(event.usage)
        self.session = event.session.model_dump()
        usage = event.usage
        self.closed = LiveClosed(
            event.reason,
            event.session.id,
            usage.seconds,
            usage.active_seconds,
            usage.paused_seconds,
            t,
        )
        self.fixture_playing = False
        self.lose_delegations()

    # -- the connection's life

    def lose_delegations(self) -> list[str]:
        """The server session ended (closed, or its connection lost): delegations still
        waiting for an answer or a backend can get none now. Returns their ids."""
        lost = []
        for delegation in self.delegations.values():
            if delegation.status in ("pending", "refused", "answered", "backend"):
                delegation.status = "lost"
                lost.append(delegation.id)
        return lost

    def pending_delegations(self) -> list[LiveDelegation]:
        """Client delegations that still need an answer (see :meth:`LiveSession.answer
        <realtime_widgets.client.live.LiveSession.answer>`)."""
        return [d for d in self.delegations.values() if d.needs_answer]

    def errors_for(self, event_id: str) -> list[LiveErrorRecord]:
        """The errors the server linked to our client event ``event_id``."""
        return [e for e in self.errors if e.client_event_id == event_id]
