"""What every offline voice shares: the :class:`Speech` it renders, the
:class:`SpeechSynthesizer` shape the server calls, the error when none can load, the
proportional word-timing estimate, the one rule of where a sentence ends
(:func:`ends_sentence`: the reply's clause splitter, the default responder and Piper's word
timings all read it), and the one rule of which voice speaks a language
(:func:`voice_for_language`, for translation sessions).

**Languages.** The server's own voice speaks English: Piper's packaged voice (joe, en_US) is
English only, eSpeak NG's voices of :data:`~.tts.VOICE_MAP` are English ones, and a
synthesiser given to ``LocalServer(speech=...)`` is taken to be English unless it is
:class:`Multilingual`. Any other language is spoken by a :class:`Multilingual` synthesiser's
voice for that language (eSpeak NG has about 100, :meth:`~.tts.Synthesizer.in_language`), or
by no voice: a translation into a language no voice speaks comes as text only and the session
says so, never read with English phonetics. :class:`Voices` is what a server loaded (when it
starts, on its voice pool); :func:`voice_for_language` is a lookup in it, safe on the loop.

The voices themselves live beside this module: :mod:`.piper_voice` (Piper, the natural one)
and :mod:`.tts` (eSpeak NG, the fallback, and :func:`~.tts.default_synthesizer`, which picks).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from realtime_widgets.audio.pcm import Int16Array
from realtime_widgets.audio.rate import MODEL_RATE
from realtime_widgets.errors import RealtimeWidgetsError
from realtime_widgets.protocol.parts import BUILTIN_VOICES

__all__ = [
    "CLOSERS",
    "ENGLISH",
    "OPENAI_VOICES",
    "SENTENCE_ENDS",
    "SPEED_RANGE",
    "LanguageVoice",
    "Multilingual",
    "Speech",
    "SpeechSynthesizer",
    "SynthesisUnavailable",
    "Voices",
    "described",
    "ends_sentence",
    "primary_language",
    "voice_for_language",
    "word_starts_estimate",
]

# The built-in voice names of the Realtime API (protocol.parts' one list): every offline voice
# answers to each of them.
OPENAI_VOICES: tuple[str, ...] = BUILTIN_VOICES
SPEED_RANGE = (0.25, 1.5)  # the Realtime API's audio.output.speed bounds


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


class SpeechSynthesizer(Protocol):
    """A voice the local server can speak with: ``speak`` renders text in one of the OpenAI
    voice names at a speed, and ``description`` says which voice it is (for
    ``LocalServer.speech_note``). Shared by every session of a server: ``speak`` must be safe
    to call from several threads."""

    @property
    def description(self) -> str: ...

    def speak(
        self, text: str, voice: str = "alloy", speed: float = 1.0, rate: int = MODEL_RATE
    ) -> Speech: ...


@runtime_checkable
class Multilingual(Protocol):
    """A synthesiser with voices for other languages than English: ``in_language`` gives the
    voice that speaks ``language`` (an ISO-639-1 code, maybe with a region: ``"pt-BR"``), or
    None when it has none. eSpeak NG is one (:meth:`~.tts.Synthesizer.in_language`)."""

    @property
    def description(self) -> str: ...

    def in_language(self, language: str) -> SpeechSynthesizer | None: ...


ENGLISH = "en"  # the language of the server's own voice (module docstring)


def primary_language(language: str) -> str:
    """``"pt-BR"`` -> ``"pt"``, ``"EN_us"`` -> ``"en"``: the language without its region."""
    return language.strip().lower().replace("_", "-").split("-")[0]


@dataclass(frozen=True)
class Voices:
    """The voices a server speaks translations with, loaded when it starts (off the loop).
    ``voice``: its own voice, which speaks English (None: speech is off, or no voice could
    load; ``note`` says which). ``others``: the synthesiser whose voices speak every other
    language it has (eSpeak NG; None: it could not load, ``others_note`` says why)."""

    voice: SpeechSynthesizer | None = None
    note: str = "no speech synthesiser"
    others: Multilingual | None = None
    others_note: str = "no synthesiser for other languages than English"

    @property
    def summary(self) -> str:
        """Which voice speaks English and which the other languages, in a line."""
        if self.voice is None:
            return f"none ({self.note})"
        return f"English: {self.note}; {self.others_note}"


@dataclass(frozen=True)
class LanguageVoice:
    """Who speaks ``language``: ``synthesizer`` (None: nobody), and a note saying which voice
    it is or why there is none. ``unsupported``: the server has voices, but none speaks this
    language (False when it has no voice at all)."""

    language: str
    synthesizer: SpeechSynthesizer | None
    note: str
    unsupported: bool = False


def voice_for_language(language: str, voices: Voices) -> LanguageVoice:
    """The voice that speaks ``language`` (an ISO-639-1 code, a region allowed): English is the
    server's own voice (Piper when installed); another language is the voice a
    :class:`Multilingual` synthesiser has for it (the server's own voice first, if it is one,
    then ``voices.others``: eSpeak NG); else no voice (``unsupported``). Never the English voice
    for another language. A lookup in what was loaded: nothing is loaded here."""
    if voices.voice is None:
        return LanguageVoice(language, None, voices.note)
    if primary_language(language) == ENGLISH:
        return LanguageVoice(language, voices.voice, f"speaking with {described(voices.voice)}")
    tried: list[str] = []
    candidates: list[object] = [voices.voice]
    others: object = voices.others  # (eSpeak may be the server's own voice too: asked once)
    if others is not None and others is not voices.voice:
        candidates.append(others)
    for synth in candidates:
        if isinstance(synth, Multilingual):
            spoken = synth.in_language(language)
            if spoken is not None:
                return LanguageVoice(language, spoken, f"speaking with {described(spoken)}")
            tried.append(f"{synth.description} has no voice for {language!r}")
    if voices.others is None:
        tried.append(voices.others_note)
    return LanguageVoice(language, None, "; ".join(tried), unsupported=True)


def described(thing: object) -> str:
    """How the server names a voice or translator it was given: its ``description`` (every
    built-in one has one), else its type's name (any object with the right method will do)."""
    return getattr(thing, "description", None) or type(thing).__name__


def word_starts_estimate(text: str, duration_ms: float, start_ms: float = 0.0) -> tuple[float, ...]:
    """Word start times spread over ``start_ms`` .. ``start_ms + duration_ms`` in proportion
    to characters (each word counts its length plus one for the gap after it): an estimate for
    voices that report no alignment."""
    words = text.split()
    if not words:
        return ()
    total = sum(len(w) + 1 for w in words)
    starts, acc = [], 0
    for w in words:
        starts.append(start_ms + duration_ms * acc / total)
        acc += len(w) + 1
    return tuple(starts)


# What ends a sentence, what may close it after that (straight and curly quotes, brackets,
# guillemets), and what may open a word before an abbreviation.
SENTENCE_ENDS = ".!?\u2026"
CLOSERS = "\"')]}\u201d\u2019\u00bb"
_OPENERS = "(\"'\u201c\u2018\u00ab"
_ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "cf", "no"}
    | {"approx", "dept", "est", "fig", "inc", "ltd", "co"}
)
_INITIALS = re.compile(r"^(?:[A-Za-z]\.)+$")


def ends_sentence(word: str, *, last: bool = False) -> bool:
    """Whether ``word`` (one whitespace-free token) ends a sentence: it ends in ``.`` ``!``
    ``?`` or ``…`` (``...`` too), closing quotes and brackets allowed after them; a single
    period after a common abbreviation (``Dr.``, ``e.g.``) or an initial (``J.``, ``U.S.``)
    ends none unless the text ends there (``last``)."""
    bare = word.rstrip(CLOSERS)
    if not bare or bare[-1] not in SENTENCE_ENDS:
        return False
    if last:
        return True
    period_only = bare.endswith(".") and not bare.endswith("..")
    stem = bare[:-1].lower().lstrip(_OPENERS)
    return not (period_only and (stem in _ABBREVIATIONS or _INITIALS.match(bare)))
