"""What every offline voice shares: the :class:`Speech` it renders, the
:class:`SpeechSynthesizer` shape the server calls, the error when none can load, the
proportional word-timing estimate, and the one rule of where a sentence ends
(:func:`ends_sentence`: the reply's clause splitter, the default responder and Piper's word
timings all read it).

The voices themselves live beside this module: :mod:`.piper_voice` (Piper, the natural one)
and :mod:`.tts` (eSpeak NG, the fallback, and :func:`~.tts.default_synthesizer`, which picks).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from realtime_widgets.audio.pcm import Int16Array
from realtime_widgets.audio.rate import MODEL_RATE
from realtime_widgets.errors import RealtimeWidgetsError
from realtime_widgets.protocol.parts import BUILTIN_VOICES

__all__ = [
    "CLOSERS",
    "OPENAI_VOICES",
    "SENTENCE_ENDS",
    "SPEED_RANGE",
    "Speech",
    "SpeechSynthesizer",
    "SynthesisUnavailable",
    "ends_sentence",
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
