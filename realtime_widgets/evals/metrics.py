"""Turn-taking metrics with the field's names, scored from a :class:`~.runs.ClipRun`.

Everything is on the clip's clock (ms from its first sample, the user's audio sent in real
time). A *decision* is an ``input_audio_buffer.speech_stopped`` event (:class:`Decision`). It
has two times: when the server emitted it (stream time: the event's place in the run's
timeline), and its ``audio_end_ms``, the ms of input audio where the server put the turn's end
(OpenAI's includes the silence it waited for; the input audio's clock is the clip's). A
decision belongs to the span its ``audio_end_ms`` falls in, or up to :data:`BOUNDARY_MS` before
that span's start (see :func:`in_span`), even when it was emitted after the span ended: a
detector heard the hold, ended the turn in it, and said so late. Latencies are timed by
emission (what a client can act on). An event without a numeric ``audio_end_ms`` (a malformed
peer) is placed at its emission time, without the tolerance. The agent's audio is read from the
agent channel (what the client played, cuts applied: :func:`~.runs.play`); "audible" there
means a sample at or above :data:`AUDIBLE` (1 % of full scale, -40 dBFS peak): above any
recording's noise floor and dither (below -60 dBFS), below the onset of any spoken syllable,
and the channel is digital zero wherever nothing plays.

Per clip, :func:`measure` gives one outcome per labelled span (:class:`ClipMeasures`, small and
picklable); :func:`summarize` pools them over all the clips of a sweep point: a rate is the
share of the pooled spans, a percentile is taken over the pooled values (numpy's linear
method), and a metric is None when no span of its kind was scored. The definitions, each
with where it starts and where it ends:

- ``false_cutoff_rate``: see :func:`hold_cut`;
- ``missed_eot_rate``, ``eot_latency_ms_p50`` / ``_p90``: see :func:`eot_decision`;
- ``ttfa_ms_p50``: see :func:`ttfa_ms`;
- ``false_barge_in_rate``: see :func:`backchannel_stopped`;
- ``talk_over_rate``, ``barge_in_stop_ms_p50``: see :func:`barge_in_outcome`;
- ``fragmentation``: see :func:`fragments`;
- ``transcript_wer``: see :mod:`.transcripts` (the word error rate of the user's transcripts
  against the clip's ``words``: pooled as the sum of edits over the sum of reference words of
  the clips with words, in runs with input transcription on; None when there is none).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from realtime_widgets.evals.clip import RATE, Span
from realtime_widgets.evals.runs import ClipRun, Play
from realtime_widgets.evals.transcripts import clip_edits, pooled_wer

__all__ = [
    "AUDIBLE",
    "BACKCHANNEL_WINDOW_MS",
    "BOUNDARY_MS",
    "COUNTS",
    "METRICS",
    "ClipMeasures",
    "Decision",
    "backchannel_stopped",
    "barge_in_outcome",
    "eot_decision",
    "fragments",
    "hold_cut",
    "in_span",
    "measure",
    "summarize",
    "ttfa_ms",
    "user_turns",
]

METRICS = (
    "false_cutoff_rate",
    "missed_eot_rate",
    "eot_latency_ms_p50",
    "eot_latency_ms_p90",
    "ttfa_ms_p50",
    "false_barge_in_rate",
    "talk_over_rate",
    "barge_in_stop_ms_p50",
    "fragmentation",
    "transcript_wer",
)
COUNTS = ("n_hold", "n_eot", "n_backchannel", "n_barge_in")

AUDIBLE = 328  # |sample| >= 1 % of full scale (-40 dBFS peak): see the module docstring
# After a backchannel ends, how long a stop still counts as caused by it: Silero decides a
# start 45-100 ms after the sound's onset and a 20 ms chunk's events go out at its end, so a
# short "mm-hmm" can be answered just after it ended; 500 ms covers that without reaching the
# next, unrelated turn.
BACKCHANNEL_WINDOW_MS = 500.0
# How far before a span's labelled start a decision's audio_end_ms may fall and still belong
# to it: the labels are exact to one 10 ms energy frame but call a soft decay speech down to
# 35 dB below the peak, where a detector (Silero's 32 ms windows, 20 ms chunks) may already
# hear silence; a peer that stamps the speech's end itself (not, as OpenAI does, the end of the
# silence it waited for) lands there.
BOUNDARY_MS = 100.0
_EDGE_MS = 1.0  # an eot span ending within this of the clip's end runs on through the tail


@dataclass
class ClipMeasures:
    """The per-span outcomes of one run (one list entry per scored span, in span order)."""

    clip_id: str
    clip_hash: str
    settings: dict[str, Any]
    hold_cut: list[bool] = field(default_factory=list)
    eot_decided: list[bool] = field(default_factory=list)
    eot_latency_ms: list[float] = field(default_factory=list)
    ttfa_ms: list[float] = field(default_factory=list)
    backchannel_stopped: list[bool] = field(default_factory=list)
    barge_in_stopped: list[bool] = field(default_factory=list)
    barge_in_stop_ms: list[float] = field(default_factory=list)
    fragments: list[int] = field(default_factory=list)
    # transcript_wer's counts (.transcripts.clip_edits): word edits of the user's transcripts
    # and the clip's reference words; both 0 when the clip is not scored (no words, or input
    # transcription off). Defaults keep measures stored before them readable.
    transcript_edits: int = 0
    transcript_words: int = 0


class Decision(NamedTuple):
    """One ``input_audio_buffer.speech_stopped``: ``t_ms`` when it was emitted (stream time),
    ``audio_end_ms`` its ``audio_end_ms`` (None when absent or not a number)."""

    t_ms: float
    audio_end_ms: float | None


def _decisions(run: ClipRun) -> list[Decision]:
    out = []
    for t, e in run.events:
        if e.get("type") == "input_audio_buffer.speech_stopped":
            end = e.get("audio_end_ms")
            if isinstance(end, bool) or not isinstance(end, int | float):
                end = None
            out.append(Decision(t, None if end is None else float(end)))
    return out


def in_span(d: Decision, start_ms: float, end_ms: float) -> bool:
    """Whether the turn end of decision ``d`` is in ``[start_ms - BOUNDARY_MS, end_ms)``: by its
    ``audio_end_ms``, or (absent) by its emission time in ``[start_ms, end_ms)``."""
    if d.audio_end_ms is None:
        return start_ms <= d.t_ms < end_ms
    return start_ms - BOUNDARY_MS <= d.audio_end_ms < end_ms


def hold_cut(span: Span, decisions: Sequence[Decision]) -> bool:
    """A false cutoff (``false_cutoff_rate``): a decision whose ``audio_end_ms`` is in
    ``[span.start_ms - BOUNDARY_MS, span.end_ms)`` (:func:`in_span`), whenever it was emitted.
    It starts when the speaker falls silent inside a turn (the hold's start, less the boundary
    tolerance) and ends when speech resumes (the hold's end): a turn ended just before speech
    resumes is a cutoff, even if the server said so after hearing the speech resume (detectors
    lag); one ended at the very ms it resumes, or later, is not."""
    return any(in_span(d, span.start_ms, span.end_ms) for d in decisions)


def _eot_end(span: Span, run: ClipRun) -> float:
    if span.end_ms >= run.clip.duration_ms - _EDGE_MS:
        return max(span.end_ms, run.duration_ms)
    return span.end_ms


def eot_decision(span: Span, decisions: Sequence[Decision], run: ClipRun) -> float | None:
    """The end-of-turn latency of one ``eot`` span (ms), None if missed.

    The decisions that end this turn are those whose ``audio_end_ms`` is in
    ``[span.start_ms - BOUNDARY_MS, end)`` (:func:`in_span`), ``end`` being the span's end (the
    next speech; a span that reaches the clip's end runs on through the tail silence of the
    run); none: a missed end of turn (``missed_eot_rate``). The latency starts at the true
    speech end (the span's start) and ends when the first of them was emitted (stream time,
    which may come after the span's end); it is negative only for one emitted before the
    labelled end, within the tolerance."""
    end = _eot_end(span, run)
    inside = [d.t_ms for d in decisions if in_span(d, span.start_ms, end)]
    return min(inside) - span.start_ms if inside else None


def _audible(agent: np.ndarray, lo: int, hi: int) -> np.ndarray:
    lo, hi = max(0, lo), min(len(agent), hi)
    if hi <= lo:
        return np.zeros(0, dtype=np.int64)
    window = agent[lo:hi].astype(np.int32)
    return np.flatnonzero(np.abs(window) >= AUDIBLE) + lo


def _sample(ms: float) -> int:
    return round(ms * RATE / 1000)


def ttfa_ms(span: Span, run: ClipRun) -> float | None:
    """Time to first audio (``ttfa_ms_p50``) of one ``eot`` span, from the audio alone.

    It starts at the true speech end (the span's start) and ends at the first audible sample
    (:data:`AUDIBLE`) of the agent channel after it, searched until the span ends (through the
    tail when the span reaches the clip's end). If the agent was still playing an earlier
    reply at the span's start, that reply is not the answer: the search starts where its
    audio stops. None when no reply audio starts in the window."""
    lo, hi = _sample(span.start_ms), _sample(_eot_end(span, run))
    for p in run.plays:
        if p.playing_at(span.start_ms):
            lo = max(lo, _sample(p.end_ms))
    found = _audible(run.agent, lo, hi)
    if not len(found):
        return None
    return float(found[0]) * 1000 / RATE - span.start_ms


def _playing(run: ClipRun, ms: float) -> Play | None:
    return next((p for p in run.plays if p.playing_at(ms)), None)


def backchannel_stopped(span: Span, run: ClipRun) -> bool | None:
    """A false barge-in (``false_barge_in_rate``), scored only when the agent was playing a
    reply at the backchannel's start (audible or queued: between two words counts); None
    otherwise (not scored).

    It starts at the backchannel's start and ends :data:`BACKCHANNEL_WINDOW_MS` after its end:
    the reply playing at its start was stopped (:attr:`~.runs.Play.stopped_ms` set) inside that
    window, truncated by the client at a ``speech_started`` or cancelled by the server
    (``response.done`` ``cancelled``), whichever came first. A reply that plays out (ends by
    itself) in the window was not stopped: not a false barge-in."""
    p = _playing(run, span.start_ms)
    if p is None:
        return None
    return p.stopped_ms is not None and (
        span.start_ms <= p.stopped_ms <= span.end_ms + BACKCHANNEL_WINDOW_MS
    )


def barge_in_outcome(span: Span, run: ClipRun) -> tuple[bool, float | None] | None:
    """Talk-over and stop time of one ``barge_in`` span, scored only when the agent was
    playing a reply at its start (None otherwise). Returns (stopped, stop_ms).

    Stopped: the reply playing at the span's start was stopped (:attr:`~.runs.Play.stopped_ms`
    set: truncated by the client at a ``speech_started``, or its ``response.done``
    ``cancelled``) at a time from the span's start to its end, inclusive. ``talk_over_rate``:
    the share of scored barge-ins not stopped, the reply kept playing (to its natural end,
    even one inside the span, or past the span's end) or was stopped only after the span.
    ``barge_in_stop_ms_p50``, for the stops only: from the span's start to the agent channel's
    last audible sample (:data:`AUDIBLE`) of that reply (0 when none was audible after the
    start); None for a talk-over."""
    p = _playing(run, span.start_ms)
    if p is None:
        return None
    if p.stopped_ms is None or not span.start_ms <= p.stopped_ms <= span.end_ms:
        return False, None
    found = _audible(run.agent, _sample(span.start_ms), _sample(p.end_ms))
    last = (float(found[-1]) + 1) * 1000 / RATE if len(found) else span.start_ms
    return True, last - span.start_ms


def user_turns(spans: Sequence[Span]) -> list[tuple[float, float]]:
    """The labelled user turns: ``speech`` spans joined across ``hold`` spans (and across any
    unlabelled gap) up to an ``eot``; each from its first speech's start to its last one's
    end."""
    turns: list[tuple[float, float]] = []
    current: tuple[float, float] | None = None
    for s in sorted(spans, key=lambda s: (s.start_ms, s.end_ms)):
        if s.label == "speech":
            if current is None:
                current = (s.start_ms, s.end_ms)
            else:
                current = (current[0], max(current[1], s.end_ms))
        elif s.label == "eot" and current is not None:
            turns.append(current)
            current = None
    if current is not None:
        turns.append(current)
    return turns


def _committed_audio(run: ClipRun) -> list[tuple[float, float]]:
    """The audio (ms) of each committed user turn: its speech_started audio_start_ms to its
    speech_stopped audio_end_ms, matched by item id."""
    starts: dict[str, float] = {}
    ends: dict[str, float] = {}
    out: list[tuple[float, float]] = []
    for _, e in run.events:
        kind = e.get("type")
        item = str(e.get("item_id", ""))
        if kind == "input_audio_buffer.speech_started":
            starts[item] = float(e.get("audio_start_ms", 0))
        elif kind == "input_audio_buffer.speech_stopped":
            ends[item] = float(e.get("audio_end_ms", 0))
        elif kind == "input_audio_buffer.committed" and item in starts:
            out.append((starts[item], ends.get(item, run.duration_ms)))
    return out


def fragments(turn: tuple[float, float], committed: Sequence[tuple[float, float]]) -> int:
    """``fragmentation``: how many committed user turns one labelled user turn became. It
    counts the ``input_audio_buffer.committed`` turns whose audio (speech_started's
    ``audio_start_ms`` to speech_stopped's ``audio_end_ms``) overlaps the labelled turn (from
    its first speech's start to its last speech's end): 1 is right, 2+ means the server split
    it at holds, 0 that it was never committed."""
    a, b = turn
    return sum(1 for s, e in committed if s < b and e > a)


def measure(run: ClipRun) -> ClipMeasures:
    """Every labelled span of ``run``'s clip scored (see the module docstring)."""
    clip = run.clip
    m = ClipMeasures(clip.id, clip.hash, dict(run.settings))
    decisions = _decisions(run)
    for span in clip.of("hold"):
        m.hold_cut.append(hold_cut(span, decisions))
    for span in clip.of("eot"):
        latency = eot_decision(span, decisions, run)
        m.eot_decided.append(latency is not None)
        if latency is not None:
            m.eot_latency_ms.append(latency)
        first = ttfa_ms(span, run)
        if first is not None:
            m.ttfa_ms.append(first)
    for span in clip.of("backchannel"):
        stopped = backchannel_stopped(span, run)
        if stopped is not None:
            m.backchannel_stopped.append(stopped)
    for span in clip.of("barge_in"):
        outcome = barge_in_outcome(span, run)
        if outcome is not None:
            m.barge_in_stopped.append(outcome[0])
            if outcome[1] is not None:
                m.barge_in_stop_ms.append(outcome[1])
    committed = _committed_audio(run)
    m.fragments = [fragments(t, committed) for t in user_turns(clip.spans)]
    counts = clip_edits(run)
    if counts is not None:
        m.transcript_edits, m.transcript_words = counts
    return m


def _rate(values: Sequence[bool]) -> float | None:
    return float(np.mean(values)) if values else None


def _pct(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if values else None


def summarize(measures: Iterable[ClipMeasures]) -> dict[str, float | int | None]:
    """The :data:`METRICS` of a sweep point, pooled over its clips, then :data:`COUNTS` (how
    many spans of each kind were scored; backchannels and barge-ins only while the agent was
    playing). ``missed_eot_rate`` is the share of eot spans with no decision, ``talk_over_rate``
    the share of scored barge-ins the agent did not stop in, ``fragmentation`` the mean of the
    per-turn fragment counts, ``transcript_wer`` the sum of the clips' transcript edits over
    the sum of their reference words (None when no clip was scored)."""
    pooled = ClipMeasures("", "", {})
    transcripts: list[tuple[int, int] | None] = []
    for m in measures:
        transcripts.append((m.transcript_edits, m.transcript_words) if m.transcript_words else None)
        for name in (
            "hold_cut",
            "eot_decided",
            "eot_latency_ms",
            "ttfa_ms",
            "backchannel_stopped",
            "barge_in_stopped",
            "barge_in_stop_ms",
            "fragments",
        ):
            getattr(pooled, name).extend(getattr(m, name))
    missed = [not d for d in pooled.eot_decided]
    talk_over = [not s for s in pooled.barge_in_stopped]
    return {
        "false_cutoff_rate": _rate(pooled.hold_cut),
        "missed_eot_rate": _rate(missed),
        "eot_latency_ms_p50": _pct(pooled.eot_latency_ms, 50),
        "eot_latency_ms_p90": _pct(pooled.eot_latency_ms, 90),
        "ttfa_ms_p50": _pct(pooled.ttfa_ms, 50),
        "false_barge_in_rate": _rate(pooled.backchannel_stopped),
        "talk_over_rate": _rate(talk_over),
        "barge_in_stop_ms_p50": _pct(pooled.barge_in_stop_ms, 50),
        "fragmentation": float(np.mean(pooled.fragments)) if pooled.fragments else None,
        "transcript_wer": pooled_wer(transcripts),
        "n_hold": len(pooled.hold_cut),
        "n_eot": len(pooled.eot_decided),
        "n_backchannel": len(pooled.backchannel_stopped),
        "n_barge_in": len(pooled.barge_in_stopped),
    }
