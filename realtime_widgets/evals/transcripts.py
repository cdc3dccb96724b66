"""Transcript checks: what the server heard the user say, against what the clip's user said.

``transcript_wer`` is the word error rate of a run's user transcripts against the clip's
``words`` (:attr:`~.clip.Clip.words`, the published text of what the user says, in order).

- **Where it starts:** the reference is ``clip.words`` joined in order; the hypothesis is every
  ``conversation.item.input_audio_transcription.completed`` transcript of the run, in the
  order the server committed their items (``input_audio_buffer.committed``; an item never seen
  committed goes after, in the order of its transcript), joined with spaces. A turn whose
  transcription ``failed`` contributes no words (its words count as deletions); so does speech
  the server never committed.
- **Where it ends:** both are normalised (:func:`normalize`: lower case, punctuation removed,
  apostrophes inside words kept, nothing else rewritten: "4" is not "four") and compared word
  by word with the Levenshtein distance (substitutions, insertions and deletions each cost 1,
  :func:`edits`). A clip's word error rate is its edits over its reference words; a sweep point
  pools its clips: the sum of edits over the sum of reference words (:func:`pooled_wer`).

None where it means nothing: a clip without ``words``, or a run whose session had input
transcription off (``audio.input.transcription`` null in its last ``session.created`` /
``session.updated``), is not scored (:func:`clip_edits` returns None); a sweep point with no
scored clip has no ``transcript_wer``.

Local runs (:func:`~.runs.run_local`) transcribe with the local server's Whisper tiny.en, so
these checks run at the transcriber's speed, not at the turn-taking metrics' (see
``benchmarks/bench_vadlab.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from realtime_widgets.evals.runs import ClipRun

__all__ = [
    "clip_edits",
    "edits",
    "normalize",
    "pooled_wer",
    "transcription_on",
    "user_transcript",
    "wer",
]

_COMPLETED = "conversation.item.input_audio_transcription.completed"
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def normalize(text: str | Iterable[str]) -> list[str]:
    """The words of ``text`` (a string, or words to join), for comparing: lower case, every
    character that is not a letter or digit a separator, except an apostrophe inside a word
    ("It's" -> "it's"; curly apostrophes read as straight ones)."""
    joined = text if isinstance(text, str) else " ".join(text)
    return _WORD.findall(joined.translate(_APOSTROPHES).lower())


def edits(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    """The Levenshtein distance between two word sequences: the fewest substitutions,
    insertions and deletions (each 1) that turn ``reference`` into ``hypothesis``."""
    row = list(range(len(hypothesis) + 1))
    for i, r in enumerate(reference, 1):
        diagonal, row[0] = row[0], i
        for j, h in enumerate(hypothesis, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (r != h))
    return row[-1]


def wer(reference: str | Iterable[str], hypothesis: str | Iterable[str]) -> float | None:
    """The word error rate of ``hypothesis`` against ``reference``, both normalised
    (:func:`normalize`): edits over reference words; None when the reference has no word."""
    ref = normalize(reference)
    if not ref:
        return None
    return edits(ref, normalize(hypothesis)) / len(ref)


def _session_transcription(session: Mapping[str, Any]) -> tuple[bool, object]:
    """(whether ``session`` says anything about input transcription, its setting)."""
    audio = session.get("audio")
    if isinstance(audio, Mapping):
        given = audio.get("input")
        if isinstance(given, Mapping) and "transcription" in given:
            return True, given["transcription"]
    if "input_audio_transcription" in session:  # the beta shape
        return True, session["input_audio_transcription"]
    return False, None


def transcription_on(events: Iterable[tuple[float, Mapping[str, Any]]]) -> bool:
    """Whether the session of a run's events had input transcription on at its end: the last
    ``session.created`` / ``session.updated`` that says so names a transcription model."""
    on = False
    for _, e in events:
        if e.get("type") in ("session.created", "session.updated"):
            said, value = _session_transcription(e.get("session") or {})
            if said:
                on = isinstance(value, Mapping) and bool(value)
    return on


def user_transcript(events: Iterable[tuple[float, Mapping[str, Any]]]) -> list[str]:
    """The user's turns' transcripts (``...input_audio_transcription.completed``), in the order
    their items were committed (module docstring)."""
    committed: dict[str, int] = {}
    heard: list[tuple[str, str]] = []
    for _, e in events:
        kind = e.get("type")
        if kind == "input_audio_buffer.committed":
            committed.setdefault(str(e.get("item_id", "")), len(committed))
        elif kind == _COMPLETED:
            heard.append((str(e.get("item_id", "")), str(e.get("transcript") or "")))
    late = len(committed)
    order = sorted(
        range(len(heard)), key=lambda i: (committed.get(heard[i][0], late), i)
    )  # stable: an item's order among the never-committed is its transcript's
    return [heard[i][1] for i in order]


def clip_edits(run: ClipRun) -> tuple[int, int] | None:
    """``(edits, reference words)`` of one run (module docstring); None when the clip has no
    ``words`` (or none left after normalising) or the run's transcription was off."""
    if run.clip.words is None or not transcription_on(run.events):
        return None
    ref = normalize(run.clip.words)
    if not ref:
        return None
    return edits(ref, normalize(user_transcript(run.events))), len(ref)


def pooled_wer(counts: Iterable[tuple[int, int] | None]) -> float | None:
    """``transcript_wer`` over many runs: the sum of their edits over the sum of their
    reference words, the runs not scored (None) left out; None when none is scored."""
    scored = [c for c in counts if c is not None]
    words = sum(n for _, n in scored)
    if not words:
        return None
    return sum(e for e, _ in scored) / words
