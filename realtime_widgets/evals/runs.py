"""One clip through one configuration: the two channels on one clock and every server event.

A :class:`ClipRun` is what the turn-taking metrics (:mod:`.metrics`) score: the user channel
(the clip, then tail silence), the agent channel (what a client played: the reply audio the
server sent, cuts applied) and the server's events, each with its time in ms on the clip's
clock (0 = the clip's first sample, sent in real time).

Two ways to get one:

- :func:`run_local` drives the local server's sans-I/O :class:`SessionEngine` on a simulated
  clock (the audio position: no time passes for real, so a run is deterministic and far faster
  than real time). The speech signals (energy, Silero) of a clip do not depend on the settings:
  :func:`prepare` computes them once and every configuration after that only re-runs the
  decisions (the ``track=`` mechanism of the VAD lab). The agent answers each turn with real
  speech (``reply``, by default the suite's :func:`~realtime_widgets.evals.suite.default_reply`)
  that the engine streams at real-time pace as ``response.output_audio.delta`` events;
  ``interrupt_response`` cancels it at a barge-in, as OpenAI's server VAD does. With the
  config's input transcription on (``audio.input.transcription``), the local server's offline
  transcriber (Whisper tiny.en, loaded once per process) hears each turn: every transcription
  job the engine hands out is run at once and answered at its place on the simulated clock, so
  the run carries ``conversation.item.input_audio_transcription.*`` events exactly as the local
  server emits them (the transcriber's own time is not on that clock). Off, no model is loaded.
- :func:`from_timeline` builds the same record from any timeline of ``(ms, server event)``:
  the remote runner's, streamed from OpenAI. :func:`run_local` goes through it too.

Both rebuild the agent channel with ONE client player model (:func:`play`): a reply audio delta
plays at ``max(arrival, end of the audio queued)``; playback stops (the client truncates) at an
``input_audio_buffer.speech_started`` that comes while the agent is audible or has audio queued,
and a ``response.done`` with status ``cancelled`` drops that response's audio not yet played.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import numpy.typing as npt

from realtime_widgets.audio.formats import FORMAT_RATES, decode
from realtime_widgets.audio.pcm import Int16Array, as_int16
from realtime_widgets.audio.rate import MODEL_RATE, ms_to_samples, samples_to_s
from realtime_widgets.audio.resample import to_model_rate
from realtime_widgets.audio.wav import write_wav
from realtime_widgets.errors import ConfigError, FieldProblem
from realtime_widgets.evals.clip import RATE, Clip
from realtime_widgets.evals.suite import default_reply
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.parts import SemanticVad, ServerVad
from realtime_widgets.server.engine import EngineOptions, ReplyMaterial, SessionEngine
from realtime_widgets.server.input_transcripts import HintedTranscriber, run_transcriber
from realtime_widgets.server.speech import Speech
from realtime_widgets.server.vad import SEMANTIC_WAITS, Frame, TurnDetector, analyse
from realtime_widgets.server.whisper import TranscriberUnavailable, shared_whisper

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CHUNK_MS",
    "ClientPlayer",
    "ClipRun",
    "Play",
    "Playback",
    "Prepared",
    "Truncate",
    "from_timeline",
    "play",
    "prepare",
    "run_local",
    "tail_for",
]

CHUNK_MS = 20  # input audio per append, as a browser microphone sends it (the decision grain)
TAIL_MARGIN_MS = 1000  # silence after the longest wait and the reply, before a run ends
_BETA_FORMATS = {"pcm16": "audio/pcm", "g711_ulaw": "audio/pcmu", "g711_alaw": "audio/pcma"}

Event = dict[str, Any]
Timeline = list[tuple[float, Event]]


@dataclass(frozen=True, eq=False)
class Prepared:
    """A clip's speech signals, computed once (:func:`prepare`): one :class:`~..vad.Frame`
    (energy, loudness, Silero probability) per 10 ms of the clip. The tail silence a run
    appends needs none: past the track the detector reads digital silence (-100 dBFS,
    probability 0), which is exactly what analysing the tail would give."""

    clip_hash: str
    frames: list[Frame] = field(repr=False)

    def check(self, clip: Clip) -> None:
        if self.clip_hash != clip.hash:
            raise ConfigError(
                [FieldProblem("prepared", f"prepared: made for clip hash {self.clip_hash}, "
                              f"not for clip {clip.id!r} ({clip.hash})")]
            )  # fmt: skip


def prepare(clip: Clip) -> Prepared:
    """The speech signals of ``clip`` (energy and Silero, the model run once here): pass the
    result as ``prepared=`` to every :func:`run_local` of the clip. Runs a model: call it off
    any event loop."""
    return Prepared(clip.hash, analyse(clip.samples))


@dataclass(frozen=True)
class Play:
    """One response's audio as the client played it, in ms on the clip's clock.

    ``start_ms``..``end_ms``: from its first sample played to the end of the last one (cuts
    applied; ``end_ms == start_ms`` if a cut came before any sample played). ``sent_ms``: how
    much audio the server sent for it. ``stopped_ms``: when it was stopped before its end,
    by a ``speech_started`` while it was audible or queued (``stop="speech_started"``) or by its
    ``response.done`` ``cancelled`` (``stop="cancelled"``); None if it played out."""

    response_id: str
    start_ms: float
    end_ms: float
    sent_ms: float
    stopped_ms: float | None = None
    stop: str | None = None

    def playing_at(self, ms: float) -> bool:
        """Audio of this response was audible or queued at ``ms`` (between words too)."""
        return self.start_ms <= ms < self.end_ms


@dataclass
class _Segment:
    response_id: str
    item_id: str
    start: int  # sample on the clip's clock
    samples: Int16Array

    @property
    def end(self) -> int:
        return self.start + len(self.samples)


@dataclass
class _Reply:
    """What the player knows of one response."""

    sent: int = 0  # samples the server sent
    queued_end: int = 0  # where its audio queued so far ends (sample)
    stopped_ms: float | None = None
    stop: str | None = None


@dataclass
class Playback:
    """What the client player did with a timeline's reply audio (:func:`play`)."""

    segments: list[_Segment]
    plays: list[Play]

    @property
    def end_sample(self) -> int:
        return max((s.end for s in self.segments), default=0)

    def render(self, n: int) -> Int16Array:
        """The agent channel: ``n`` samples, the played audio in place, silence elsewhere."""
        out = np.zeros(n, dtype=np.int16)
        for s in self.segments:
            if s.start < n and len(s.samples):
                out[s.start : min(n, s.end)] = s.samples[: n - s.start]
        return out


class Truncate(NamedTuple):
    """What a client sends when it stops an item's audio: ``conversation.item.truncate`` of
    ``item_id`` at ``audio_end_ms``, the ms of that item's audio it really played."""

    item_id: str
    audio_end_ms: int


def _output_format(session: Mapping[str, Any], current: str) -> str:
    audio = session.get("audio")
    if isinstance(audio, Mapping):
        fmt = (audio.get("output") or {}).get("format")
        if isinstance(fmt, Mapping) and fmt.get("type") in FORMAT_RATES:
            return str(fmt["type"])
    beta = session.get("output_audio_format")
    if isinstance(beta, str):
        return _BETA_FORMATS.get(beta, beta if beta in FORMAT_RATES else current)
    return current


def _delta_samples(delta: str, fmt: str) -> Int16Array:
    samples = decode(base64.b64decode(delta), fmt)
    return samples if FORMAT_RATES[fmt] == MODEL_RATE else to_model_rate(samples, FORMAT_RATES[fmt])


_AUDIO_DELTAS = ("response.output_audio.delta", "response.audio.delta")


class ClientPlayer:
    """The client player model shared by local and remote runs (see the module docstring),
    incremental: :meth:`feed` it the server events in order, each with its time in ms on the
    clip's clock, as they come; each call returns what a live client must send for it (the
    :class:`Truncate` s at a ``speech_started`` that stops audio partly played). :func:`play`
    feeds it a whole timeline; the remote runner feeds it each event as it arrives.

    A delta is decoded in the session's output format (from the last ``session.created`` /
    ``session.updated``; PCM 24 kHz by default) and resampled to 24 kHz; it plays at
    ``max(arrival, end of the audio queued)``. At an ``input_audio_buffer.speech_started`` while
    audio is audible or queued, every response's audio not yet played is dropped (those
    responses are stopped: their later deltas are not played) and each item of which some audio
    played and some was cut is truncated at its played ms. A ``response.done`` ``cancelled``
    drops that response's audio not yet played (the server cancelled it: nothing to truncate).
    Keeps each response's play (:meth:`playback`) and each item's played audio
    (:meth:`played_ms`)."""

    def __init__(self) -> None:
        self.format = "audio/pcm"  # the session's output format
        self._segments: list[_Segment] = []
        self._queue_end = 0  # sample where the audio queued so far ends
        self._replies: dict[str, _Reply] = {}  # by response id, in order of their first audio

    @property
    def queued_end_ms(self) -> float:
        """Where the audio queued so far ends (ms on the clip's clock)."""
        return self._queue_end * 1000 / RATE

    def audible(self, t_ms: float) -> bool:
        """Whether the agent is playing or has audio queued at ``t_ms``."""
        return self._queue_end > ms_to_samples(t_ms)

    def _played(self, item_id: str, at: int) -> int:
        return sum(
            min(max(at - s.start, 0), len(s.samples))
            for s in self._segments
            if s.item_id == item_id
        )

    def played_ms(self, item_id: str, t_ms: float) -> float:
        """Ms of the item's audio played by ``t_ms`` (cuts applied)."""
        return self._played(item_id, ms_to_samples(t_ms)) * 1000 / RATE

    def feed(self, t_ms: float, event: Mapping[str, Any]) -> list[Truncate]:
        """One server event at ``t_ms`` (not before the previous one's); the truncates a
        client sends for it, in the order the items first played (usually none)."""
        kind = event.get("type")
        at = ms_to_samples(t_ms)
        if kind in ("session.created", "session.updated"):
            self.format = _output_format(event.get("session") or {}, self.format)
        elif kind in _AUDIO_DELTAS:
            delta = event.get("delta")
            if isinstance(delta, str):
                self._delta(at, event, _delta_samples(delta, self.format))
        elif kind == "input_audio_buffer.speech_started":
            if self._queue_end > at:
                return self._cut(at, None, t_ms, "speech_started")
        elif kind == "response.done":
            response = event.get("response") or {}
            rid = str(response.get("id", ""))
            r = self._replies.get(rid)
            if response.get("status") == "cancelled" and r and r.stopped_ms is None:
                if r.queued_end > at:
                    self._cut(at, rid, t_ms, "cancelled")
                else:  # all it sent had played, but the reply ended early: stopped here
                    r.stopped_ms, r.stop = t_ms, "cancelled"
        return []

    def _delta(self, at: int, event: Mapping[str, Any], samples: Int16Array) -> None:
        rid = str(event.get("response_id", ""))
        r = self._replies.setdefault(rid, _Reply())
        r.sent += len(samples)
        if r.stopped_ms is not None:
            return  # the client stopped this reply: its late audio is not played
        start = max(at, self._queue_end)
        self._segments.append(_Segment(rid, str(event.get("item_id", "")), start, samples))
        self._queue_end = r.queued_end = start + len(samples)

    def _cut(self, at: int, response_id: str | None, at_ms: float, why: str) -> list[Truncate]:
        """Drop the audio (of ``response_id``, or all) not played by sample ``at``; the
        truncates of the items partly played."""
        cut: set[str] = set()  # the items whose audio is cut here
        for s in self._segments:
            if (response_id is None or s.response_id == response_id) and s.end > at:
                if len(s.samples):
                    cut.add(s.item_id)
                s.samples = s.samples[: max(0, at - s.start)]
        for rid, r in self._replies.items():
            if response_id in (None, rid) and r.stopped_ms is None and r.queued_end > at:
                r.stopped_ms, r.stop = at_ms, why
        self._queue_end = max((s.end for s in self._segments if len(s.samples)), default=0)
        if why != "speech_started":
            return []  # the server cancelled it: the server knows what it sent
        truncates = []
        for item_id in dict.fromkeys(s.item_id for s in self._segments):
            if item_id in cut and (played := self._played(item_id, at)) > 0:
                truncates.append(Truncate(item_id, int(played * 1000 / RATE)))
        return truncates

    def playback(self) -> Playback:
        """What the player did so far: the segments played and each response's :class:`Play`."""
        plays = []
        for rid, r in self._replies.items():
            mine = [s for s in self._segments if s.response_id == rid]
            start = min((s.start for s in mine), default=0)
            end = max((s.end for s in mine if len(s.samples)), default=start)
            plays.append(
                Play(
                    rid,
                    start * 1000 / RATE,
                    end * 1000 / RATE,
                    r.sent * 1000 / RATE,
                    r.stopped_ms,
                    r.stop,
                )
            )
        return Playback([replace(s) for s in self._segments], plays)  # later cuts: not here


def play(timeline: Iterable[tuple[float, Event]]) -> Playback:
    """The client player model (:class:`ClientPlayer`) over a whole timeline (times in ms on
    the clip's clock, in order)."""
    player = ClientPlayer()
    for t_ms, e in timeline:
        player.feed(t_ms, e)
    return player.playback()


@dataclass
class ClipRun:
    """One clip through one configuration (see the module docstring)."""

    clip: Clip
    settings: dict[str, Any]  # the grid point (may be {})
    events: list[tuple[float, dict[str, Any]]]  # (ms on the clip's clock, server event)
    user: Int16Array = field(repr=False)  # the clip, then tail silence (24 kHz)
    agent: Int16Array = field(repr=False)  # what the agent's channel played, same length

    def __post_init__(self) -> None:
        if len(self.user) != len(self.agent):
            raise ConfigError(
                [FieldProblem("agent", f"agent: {len(self.agent)} samples, the user channel "
                              f"has {len(self.user)}; both are on one clock")]
            )  # fmt: skip

    @property
    def duration_ms(self) -> float:
        return len(self.user) * 1000 / RATE

    @cached_property
    def plays(self) -> list[Play]:
        """Each response's audio as the client played it (the player model on :attr:`events`)."""
        return play(self.events).plays

    def stereo(self) -> npt.NDArray[np.int16]:
        """(n, 2) int16: the user left, the agent right."""
        return np.stack([self.user, self.agent], axis=1)

    def write_wav(self, path: str | Path) -> Path:
        """The two channels as a stereo 16-bit 24 kHz WAV (user left, agent right)."""
        target = Path(path)
        write_wav(target, self.stereo(), RATE)
        return target

    def events_frame(self) -> pd.DataFrame:
        """The events, one row each: ``t_ms`` (float), ``type``, ``event`` (the JSON text)."""
        import pandas as pd  # optional dependency: pandas (the evals extra)

        return pd.DataFrame(
            {
                "t_ms": np.array([t for t, _ in self.events], dtype=np.float64),
                "type": [str(e.get("type", "")) for _, e in self.events],
                "event": [json.dumps(e, separators=(",", ":")) for _, e in self.events],
            }
        )


def from_timeline(
    clip: Clip,
    timeline: Iterable[tuple[float, Mapping[str, Any]]],
    *,
    settings: Mapping[str, Any] | None = None,
    duration_ms: float | None = None,
) -> ClipRun:
    """The :class:`ClipRun` of ``timeline`` (``(ms on the clip's clock, server event)``, in
    order): the agent channel rebuilt from its audio deltas by the player model (:func:`play`).
    ``duration_ms``: how long the user channel ran (the clip, then silence); by default until
    the last event or the last audio played, whichever is later (never shorter than the clip)."""
    events: Timeline = [(float(t), dict(e)) for t, e in timeline]
    for (a, _), (b, e) in itertools.pairwise(events):
        if b < a:
            raise ConfigError(
                [FieldProblem("timeline", f"timeline: events must be in time order; "
                              f"{e.get('type')!r} at {b} ms comes after {a} ms")]
            )  # fmt: skip
    playback = play(events)
    n_clip = len(clip.samples)
    if duration_ms is None:
        last = ms_to_samples(events[-1][0]) if events else 0
        n = max(n_clip, last, playback.end_sample)
    else:
        if duration_ms < clip.duration_ms - 1000 / RATE:
            raise ConfigError(
                [FieldProblem("duration_ms", f"duration_ms: {duration_ms} is shorter than the "
                              f"clip ({clip.duration_ms:.0f} ms)")]
            )  # fmt: skip
        n = max(n_clip, ms_to_samples(duration_ms))
    user = np.zeros(n, dtype=np.int16)
    user[:n_clip] = clip.samples
    run = ClipRun(clip, dict(settings or {}), events, user, playback.render(n))
    run.__dict__["plays"] = playback.plays  # the player already ran (cached_property slot)
    return run


def _decision_wait_ms(config: SessionConfig) -> int:
    td = config.turn_detection
    if isinstance(td, ServerVad):
        return td.silence_duration_ms + td.prefix_padding_ms
    if isinstance(td, SemanticVad):
        return SEMANTIC_WAITS[td.eagerness][1]
    return 0


def tail_for(config: SessionConfig, reply_ms: float) -> int:
    """Silence :func:`run_local` sends after the clip by default (ms): enough for a turn ending
    with the clip to be decided (the longest wait the settings allow), its reply to play out,
    and an idle timeout (when set) to fire and its reply to play, plus a margin."""
    td = config.turn_detection
    idle = td.idle_timeout_ms if isinstance(td, ServerVad) and td.idle_timeout_ms else 0
    tail = _decision_wait_ms(config) + reply_ms + TAIL_MARGIN_MS
    if idle:
        tail += idle + reply_ms
    return int(np.ceil(tail / CHUNK_MS) * CHUNK_MS)


def _transcriber(config: SessionConfig) -> HintedTranscriber | None:
    """The local server's offline transcriber when the config turns input transcription on
    (loaded once per process, shared); None when it is off (nothing loaded)."""
    if config.transcription is None:
        return None
    try:
        return shared_whisper()
    except TranscriberUnavailable as exc:
        raise ConfigError(
            [FieldProblem("audio.input.transcription", "audio.input.transcription is on, but "
                          f"no offline transcriber is installed here ({exc}). Turn it off "
                          "(transcription=None) to run without transcripts.")]
        ) from None  # fmt: skip


def _start_engine(config: SessionConfig, frames: Sequence[Frame]) -> tuple[SessionEngine, Timeline]:
    options = EngineOptions(
        rate_limits=False,
        wall_clock=lambda: 0.0,
        transcriber=_transcriber(config),
        # decisions from the clip's signals computed once (no Silero per configuration)
        detector=lambda td: TurnDetector(td, track=frames),
    )
    engine = SessionEngine(model=config.model, options=options, session_id="sess_eval")
    sent = config.with_changes(output_modalities=["audio"], tools=[], tool_choice="auto")
    timeline: Timeline = [(0.0, e) for e in engine.start(0.0)]
    answer = engine.receive(json.dumps(sent.to_session_update()), 0.0)
    for e in answer:
        if e["type"] == "error":
            engine.close()
            error = e["error"]
            raise ConfigError([FieldProblem(error.get("param") or "config", error["message"])])
    timeline += [(0.0, e) for e in answer]
    return engine, timeline


def run_local(
    clip: Clip,
    config: SessionConfig,
    *,
    settings: Mapping[str, Any] | None = None,
    reply: npt.ArrayLike | None = None,
    prepared: Prepared | None = None,
    tail_ms: float | None = None,
) -> ClipRun:
    """``clip`` through the local server's engine with ``config``, on the audio clock.

    The clip is appended in :data:`CHUNK_MS` chunks, then ``tail_ms`` of silence (default
    :func:`tail_for`); the clock at each chunk is the end of the audio sent so far, so every
    event is stamped when the server could first have sent it. Each response the server
    creates is answered with ``reply`` (24 kHz int16; default: the suite's recorded reply),
    streamed by the engine at real-time pace (with the local server's lead: audio arrives up to
    0.5 s ahead of playback, as OpenAI's does). With input transcription on, each turn is
    transcribed by the local server's transcriber, answered at the chunk that asked for it
    (module docstring; ConfigError naming ``audio.input.transcription`` when none is
    installed); this runs Whisper, so call it off any event loop. ``prepared``: the clip's
    signals from :func:`prepare` (computed here if None). Deterministic: the same inputs give
    the same run.
    """
    given = default_reply() if reply is None else np.asarray(reply)
    if given.ndim != 1 or not len(given):
        raise ConfigError(
            [FieldProblem("reply", f"reply: 24 kHz mono int16 samples needed, got shape "
                          f"{given.shape}")]
        )  # fmt: skip
    samples = as_int16(given)
    if prepared is None:
        prepared = prepare(clip)
    else:
        prepared.check(clip)
    reply_ms = len(samples) * 1000 / RATE
    tail = tail_for(config, reply_ms) if tail_ms is None else tail_ms
    if not 0 <= tail <= 600_000:
        raise ConfigError(
            [FieldProblem("tail_ms", f"tail_ms must be between 0 and 600000, got {tail}")]
        )
    material = ReplyMaterial("(reply)", Speech(samples, MODEL_RATE, (0.0,)))
    engine, timeline = _start_engine(config, prepared.frames)
    transcriber = engine.options.transcriber
    n = len(clip.samples) + ms_to_samples(tail)
    step = ms_to_samples(CHUNK_MS)
    silence = np.zeros(step, dtype=np.int16)
    clip_samples = clip.samples
    n_clip = len(clip_samples)
    try:
        for i in range(0, n, step):
            j = min(n, i + step)
            chunk = clip_samples[i:j] if j <= n_clip else None
            if chunk is None:
                chunk = (
                    np.concatenate([clip_samples[i:n_clip], silence[: j - n_clip]])
                    if i < n_clip
                    else silence[: j - i]
                )
            now = samples_to_s(j)
            at = j * 1000 / RATE
            out = engine.append_samples(chunk, now)
            out += engine.tick(now)
            while True:  # a transcript may release a response that waited for it
                jobs = engine.take_transcriptions()
                if transcriber is not None:
                    for job in jobs:
                        result = run_transcriber(transcriber, job)
                        out += engine.transcription_ready(job, result, now)
                requests = engine.take_requests()
                for request in requests:
                    out += engine.reply_ready(request, material, now)
                if not jobs and not requests:
                    break
            if out:
                timeline += [(at, e) for e in out]
    finally:
        engine.close()
    return from_timeline(clip, timeline, settings=settings, duration_ms=n * 1000 / RATE)
