"""What the local server's turn detection does with a clip, offline and faster than real time.

:func:`simulate` runs the local server's own :class:`SessionEngine` on the clip's audio timeline
(the clock is the audio position, so no time passes for real): speech_started/stopped, commits,
idle timeouts and the responses the server would create (each assumed to last ``reply_ms`` of
audio, cancelled when speech interrupts it, as ``interrupt_response`` says). The speech signals
(energy, Silero probability) do not depend on the settings, so they are computed once per clip
(:class:`Analysis`) and every setting after that only re-runs the decisions.

:func:`score` compares the turns with a clip's labels: hits, misses, false triggers (a turn
where no labelled turn is), cut-offs (the server ended the turn while the speaker was still in a
labelled turn) and end-of-turn delay (from the labelled end to the speech_stopped decision).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from realtime_widgets.audio.rate import MODEL_RATE, ms_to_samples, samples_to_s
from realtime_widgets.errors import ConfigError, FieldProblem
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.parts import SemanticVad, ServerVad
from realtime_widgets.server.engine import (
    EngineOptions,
    ReplyMaterial,
    SessionEngine,
)
from realtime_widgets.server.tts import Speech
from realtime_widgets.server.vad import Frame, TurnDetector, TurnEvent, analyse
from realtime_widgets.vadlab.clips import LabClip, Segment

__all__ = [
    "Analysis",
    "LabResult",
    "Measures",
    "Turn",
    "WouldBeResponse",
    "score",
    "simulate",
    "sweep_grid",
]

CHUNK_MS = 20
TAIL_MS = 3000  # silence appended after the clip, so a last turn can end and time out
DETECTION_FIELDS = {"type", *ServerVad.model_fields, *SemanticVad.model_fields}


@dataclass(frozen=True)
class Turn:
    """A detected turn: speech from ``start_ms`` (the boundary found, before prefix padding)
    to ``end_ms``; ``stopped_ms``: when the server decided it was over (= committed)."""

    start_ms: int
    end_ms: int | None
    stopped_ms: int | None
    audio_start_ms: int  # as speech_started reports it (prefix padding included)


@dataclass(frozen=True)
class WouldBeResponse:
    start_ms: int
    end_ms: int
    status: str  # completed | cancelled
    trigger: str  # turn_detected | idle_timeout


@dataclass
class Measures:
    """How the turns compare with the labels (None where the clip has none)."""

    turns: int
    hits: int | None = None
    misses: int | None = None
    false_triggers: int | None = None
    cutoffs: int | None = None
    merged: int | None = None
    mean_delay_ms: float | None = None
    max_delay_ms: float | None = None
    timeouts: int = 0
    responses: int = 0
    interrupted: int = 0

    @property
    def errors(self) -> int | None:
        """Misses + false triggers + cut-offs + merged turns: the heatmap's default measure."""
        if self.hits is None:
            return None
        return (
            (self.misses or 0)
            + (self.false_triggers or 0)
            + (self.cutoffs or 0)
            + (self.merged or 0)
        )

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "errors": self.errors}


@dataclass
class LabResult:
    config: SessionConfig = field(repr=False)
    turns: list[Turn] = field(default_factory=list)
    commits: list[int] = field(default_factory=list)
    timeouts: list[tuple[int, int]] = field(default_factory=list)
    responses: list[WouldBeResponse] = field(default_factory=list)
    measures: Measures | None = None
    events: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def to_json(self) -> dict[str, Any]:
        """What the lab's view draws."""
        return {
            "turns": [asdict(t) for t in self.turns],
            "commits": self.commits,
            "timeouts": [list(t) for t in self.timeouts],
            "responses": [asdict(r) for r in self.responses],
            "measures": self.measures.as_dict() if self.measures else None,
        }


class Analysis:
    """A clip's speech signals, computed once; :meth:`run` decides turns for any settings."""

    def __init__(self, clip: LabClip) -> None:
        self.clip = clip
        self.frames: list[Frame] = analyse(clip.samples)
        self.runs = 0

    @property
    def probabilities(self) -> np.ndarray:
        return np.array([f.prob or 0.0 for f in self.frames], dtype=np.float32)

    def run(self, config: SessionConfig, *, reply_ms: int = 2000) -> LabResult:
        self.runs += 1
        return simulate(self.clip, config, reply_ms=reply_ms, track=self.frames)


def _reply(reply_ms: int) -> ReplyMaterial:
    # Silence of the assumed length: the lab needs only how long the reply lasts.
    samples = np.zeros(ms_to_samples(reply_ms), dtype=np.int16)
    return ReplyMaterial("(reply)", Speech(samples, MODEL_RATE, (0.0,)))


class _LoggingDetector(TurnDetector):
    """The server's detector, also keeping the boundaries it found (the events only say when
    a turn was decided, not where its speech ended)."""

    def __init__(
        self, detection: ServerVad | SemanticVad, track: list[Frame] | None, log: list[TurnEvent]
    ) -> None:
        super().__init__(detection, track=track)
        self.log = log

    def feed(self, samples: Any) -> list[TurnEvent]:
        found = super().feed(samples)
        self.log.extend(found)
        return found


def tail_ms(config: SessionConfig, reply_ms: int) -> int:
    """Silence simulated after the clip: enough for a last turn to end, its reply to play and
    an idle timeout to fire."""
    td = config.turn_detection
    idle = td.idle_timeout_ms if isinstance(td, ServerVad) and td.idle_timeout_ms else 0
    return max(TAIL_MS, TAIL_MS + reply_ms + idle) if idle else TAIL_MS


def simulate(
    clip: LabClip,
    config: SessionConfig,
    *,
    reply_ms: int = 2000,
    track: list[Frame] | None = None,
) -> LabResult:
    """Run the local server's engine over ``clip`` with ``config``'s turn detection."""
    if not 0 <= reply_ms <= 60_000:
        raise ConfigError(
            [FieldProblem("reply_ms", f"reply_ms must be between 0 and 60000, got {reply_ms}")]
        )
    found: list[TurnEvent] = []
    options = EngineOptions(
        pace=1.0,
        lead=0.0,  # replies strictly in real time: each one's done is where its audio ends
        rate_limits=False,
        wall_clock=lambda: 0.0,
        detector=lambda td: _LoggingDetector(td, track, found),
    )
    engine = SessionEngine(model=config.model, options=options, session_id="sess_vadlab")
    sent = config.with_changes(output_modalities=["audio"], tools=[], tool_choice="auto")
    timeline: list[tuple[int, dict[str, Any]]] = [(0, e) for e in engine.start(0.0)]
    answer = engine.receive(json.dumps(sent.to_session_update()), 0.0)
    for e in answer:
        if e["type"] == "error":
            error = e["error"]
            raise ConfigError([FieldProblem(error.get("param") or "config", error["message"])])
    tail = np.zeros(ms_to_samples(tail_ms(config, reply_ms)), np.int16)
    audio = np.concatenate([clip.samples, tail])
    step = ms_to_samples(CHUNK_MS)
    try:
        for i in range(0, len(audio), step):
            now = samples_to_s(i + step)
            at = round(now * 1000)
            out = engine.append_samples(audio[i : i + step], now)
            out += engine.tick(now)
            for request in engine.take_requests():
                out += engine.reply_ready(request, _reply(reply_ms), now)
            timeline += [(at, e) for e in out]
        # after the audio: let a reply in progress play out (the clock still runs)
        now = samples_to_s(len(audio))
        limit = now + reply_ms / 1000 + 1
        while now < limit and _replying(e for _, e in timeline):
            now += CHUNK_MS / 1000
            timeline += [(round(now * 1000), e) for e in engine.tick(now)]
    finally:
        engine.close()
    return collect(timeline, found, config, clip)


def _replying(events: Iterable[dict[str, Any]]) -> bool:
    """A response was created and is not done yet (one at a time: the last one decides)."""
    last = None
    for e in events:
        if e["type"] in ("response.created", "response.done"):
            last = e["type"]
    return last == "response.created"


def collect(
    timeline: list[tuple[int, dict[str, Any]]],
    found: list[TurnEvent],
    config: SessionConfig,
    clip: LabClip,
) -> LabResult:
    """Turns, commits, timeouts and responses (times in ms of the clip's audio)."""
    result = LabResult(config, events=[e for _, e in timeline])
    starts = [t for t in found if t.kind == "start"]
    stops = [t for t in found if t.kind == "stop"]
    reported = [e for _, e in timeline if e["type"] == "input_audio_buffer.speech_started"]
    for n, start in enumerate(starts):
        stop = stops[n] if n < len(stops) else None
        audio_start = int(reported[n]["audio_start_ms"]) if n < len(reported) else start.boundary_ms
        result.turns.append(
            Turn(
                start.boundary_ms,
                stop.boundary_ms if stop else None,
                stop.at_ms if stop else None,
                audio_start,
            )
        )
    trigger = "turn_detected"
    opened: dict[str, tuple[int, str]] = {}
    for at, e in timeline:
        kind = e["type"]
        if kind == "input_audio_buffer.speech_stopped":
            trigger = "turn_detected"
        elif kind == "input_audio_buffer.committed":
            result.commits.append(at)
        elif kind == "input_audio_buffer.timeout_triggered":
            result.timeouts.append((int(e["audio_start_ms"]), int(e["audio_end_ms"])))
            trigger = "idle_timeout"
        elif kind == "response.created":
            opened[e["response"]["id"]] = (at, trigger)
        elif kind == "response.done":
            begin, why = opened.pop(e["response"]["id"], (at, trigger))
            result.responses.append(WouldBeResponse(begin, at, e["response"]["status"], why))
    result.measures = score(result, clip.truth)
    return result


def score(result: LabResult, truth: list[Segment] | None) -> Measures:
    """Compare detected turns with the labelled ones (see the module docstring)."""
    turns = result.turns
    m = Measures(
        turns=len(turns),
        timeouts=len(result.timeouts),
        responses=len(result.responses),
        interrupted=sum(r.status == "cancelled" for r in result.responses),
    )
    if truth is None:
        return m
    end_of = [t.end_ms if t.end_ms is not None else 10**12 for t in turns]
    overlaps = [
        [k for k, t in enumerate(turns) if t.start_ms < seg.end_ms and end_of[k] > seg.start_ms]
        for seg in truth
    ]
    m.hits = sum(bool(o) for o in overlaps)
    m.misses = len(truth) - m.hits
    matched = {k for o in overlaps for k in o}
    m.false_triggers = sum(k not in matched for k in range(len(turns)))
    # a detected turn spanning several labelled ones answers them all late, as one
    m.merged = sum(max(0, sum(k in o for o in overlaps) - 1) for k in range(len(turns)))
    m.cutoffs = 0
    delays = []
    for seg, found in zip(truth, overlaps, strict=True):
        ends = [stop for k in found if (stop := turns[k].stopped_ms) is not None]
        m.cutoffs += sum(stop < seg.end_ms for stop in ends)
        final = [stop for stop in ends if stop >= seg.end_ms]
        if final:
            delays.append(min(final) - seg.end_ms)
    if delays:
        m.mean_delay_ms = round(float(np.mean(delays)), 1)
        m.max_delay_ms = round(float(np.max(delays)), 1)
    return m


def _detection_change(base: SessionConfig, name: str, value: Any) -> dict[str, Any]:
    if "." in name:
        return {name: value}
    if name not in DETECTION_FIELDS:
        allowed = ", ".join(sorted(DETECTION_FIELDS))
        raise ConfigError(
            [
                FieldProblem(
                    name,
                    f"sweep: unknown turn-detection setting {name!r}; use one of {allowed} "
                    "or a dotted SessionConfig path",
                )
            ]
        )
    return {f"turn_detection.{name}": value}


def with_detection(base: SessionConfig, settings: Mapping[str, Any]) -> SessionConfig:
    """``base`` with turn-detection settings by short name (``threshold=0.6``), a ``type``
    switch (server_vad <-> semantic_vad, keeping what both have) or dotted config paths."""
    config = base
    rest = dict(settings)
    if "type" in rest:
        kind = rest.pop("type")
        current = config.turn_detection
        common = current.model_dump(exclude={"type"}) if current is not None else {}
        if kind not in ("server_vad", "semantic_vad"):
            raise ConfigError(
                [
                    FieldProblem(
                        "turn_detection.type",
                        "turn_detection.type must be one of 'server_vad', 'semantic_vad', "
                        f"got {kind!r}",
                    )
                ]
            )
        target = ServerVad if kind == "server_vad" else SemanticVad
        keep = {k: v for k, v in common.items() if k in target.model_fields}
        config = config.with_changes(turn_detection=target.model_validate(keep))
    changes: dict[str, Any] = {}
    for name, value in rest.items():
        changes.update(_detection_change(config, name, value))
    return config.with_changes(changes) if changes else config


def sweep_grid(
    base: SessionConfig, grid: Mapping[str, Iterable[Any]]
) -> list[tuple[dict[str, Any], SessionConfig]]:
    """Every combination of ``grid`` applied to ``base`` (each checked before any is run)."""
    names = list(grid)
    values = [list(v) for v in grid.values()]
    for name, options in zip(names, values, strict=True):
        if not options:
            raise ConfigError([FieldProblem(name, f"sweep: {name} has no values to try")])
    combos = []
    for point in itertools.product(*values):
        settings = dict(zip(names, point, strict=True))
        combos.append((settings, with_detection(base, settings)))
    return combos
