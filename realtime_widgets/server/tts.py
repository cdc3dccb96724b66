"""Offline speech synthesis for the local server: eSpeak NG through ctypes, rendered at 24 kHz.

eSpeak NG comes from the ``espeakng-loader`` wheel (library + voice data, no system package)
or, failing that, Debian's ``libespeak-ng``. It is GPL-3.0+, so it is an optional extra
(``pip install realtime-widgets[voice]``); without it the local server answers in text and says
why. Each built-in OpenAI voice name maps to a distinct eSpeak voice variant; ``speed`` maps to
eSpeak's words-per-minute rate.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from dataclasses import dataclass

import numpy as np

from realtime_widgets.audio.pcm import Int16Array
from realtime_widgets.audio.rate import MODEL_RATE
from realtime_widgets.audio.resample import resample
from realtime_widgets.errors import RealtimeWidgetsError

__all__ = ["VOICE_MAP", "Speech", "SynthesisUnavailable", "Synthesizer", "default_synthesizer"]

# OpenAI voice -> eSpeak NG voice+variant: different pitch, timbre and accent per name.
VOICE_MAP: dict[str, str] = {
    "alloy": "en-us+m3",
    "ash": "en-us+m1",
    "ballad": "en-gb+m2",
    "coral": "en-us+f3",
    "echo": "en-us+m7",
    "sage": "en-gb+f2",
    "shimmer": "en-us+f4",
    "verse": "en-gb-x-rp+m4",
    "marin": "en-us+f1",
    "cedar": "en-gb+m5",
}
_BASE_WPM = 175  # eSpeak's default rate; speed 1.0

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RATE, _PITCH = 1, 3
_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class SynthesisUnavailable(RealtimeWidgetsError):
    """No offline speech synthesiser could be loaded (the message says how to get one)."""


@dataclass(frozen=True)
class Speech:
    """Synthesised speech: 24 kHz int16 samples and where each word starts (ms)."""

    samples: Int16Array
    rate: int
    word_starts_ms: tuple[float, ...]

    @property
    def duration_ms(self) -> float:
        return len(self.samples) * 1000 / self.rate


def _find_library() -> tuple[str, str | None]:
    try:
        # optional dependency: espeakng-loader ships the library; a system eSpeak NG also does
        import espeakng_loader

        return espeakng_loader.get_library_path(), espeakng_loader.get_data_path()
    except ImportError:
        pass
    name = ctypes.util.find_library("espeak-ng")
    if name is None:
        raise SynthesisUnavailable(
            "no offline speech synthesiser: install the 'voice' extra "
            "(pip install 'realtime-widgets[voice]', which brings espeakng-loader) or Debian's "
            "libespeak-ng1; the local server answers in text meanwhile"
        )
    return name, None


class Synthesizer:
    """eSpeak NG, loaded once per process (the library is a global singleton: calls are
    serialised by a lock, so one Synthesizer may be shared by every session of a server)."""

    _lock = threading.Lock()

    def __init__(self) -> None:
        path, data = _find_library()
        try:
            lib = ctypes.CDLL(path)
        except OSError as exc:
            raise SynthesisUnavailable(f"cannot load eSpeak NG from {path}: {exc}") from None
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        self._lib = lib
        with self._lock:
            rate = lib.espeak_Initialize(
                _AUDIO_OUTPUT_SYNCHRONOUS, 0, data.encode() if data else None, 0
            )
        if rate <= 0:
            raise SynthesisUnavailable(f"eSpeak NG failed to initialise (code {rate})")
        self.native_rate = rate
        self._chunks: list[Int16Array] = []
        self._callback = _CALLBACK(self._collect)  # keep a reference: C holds the pointer
        lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav: ctypes._Pointer[ctypes.c_short], count: int, _events: int) -> int:
        if count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0

    def speak(
        self, text: str, voice: str = "alloy", speed: float = 1.0, rate: int = MODEL_RATE
    ) -> Speech:
        """Render ``text`` with the eSpeak voice mapped from ``voice`` at ``speed`` (0.25-1.5)."""
        espeak_voice = VOICE_MAP.get(voice, VOICE_MAP["alloy"])
        wpm = max(80, min(450, round(_BASE_WPM * speed)))
        raw = text.encode("utf-8") + b"\0"
        with self._lock:
            self._chunks = []
            self._lib.espeak_SetVoiceByName(espeak_voice.encode())
            self._lib.espeak_SetParameter(_RATE, wpm, 0)
            self._lib.espeak_Synth(raw, len(raw), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            native = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
            self._chunks = []
        samples = resample(native, self.native_rate, rate) if rate != self.native_rate else native
        return Speech(
            samples.astype(np.int16), rate, _word_starts(text, len(samples) * 1000 / rate)
        )


def _word_starts(text: str, duration_ms: float) -> tuple[float, ...]:
    """Word start times spread over the speech in proportion to characters (an estimate)."""
    words = text.split()
    if not words:
        return ()
    total = sum(len(w) + 1 for w in words)
    starts, acc = [], 0
    for w in words:
        starts.append(duration_ms * acc / total)
        acc += len(w) + 1
    return tuple(starts)


_shared: Synthesizer | None = None
_shared_lock = threading.Lock()


def default_synthesizer() -> Synthesizer:
    """The process-wide synthesiser (raises :class:`SynthesisUnavailable` with a remedy)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Synthesizer()
        return _shared
