"""Reply text cut into speakable pieces, so speech can start before the whole reply is known.

A streamed reply is synthesised piece by piece: :class:`ClauseSplitter` takes the text deltas
as they come (:meth:`~ClauseSplitter.feed`) and gives back each piece once it is complete,
then the rest at the end (:meth:`~ClauseSplitter.flush`); :func:`clauses` does the same for a
whole text. Feeding a text in any chunks gives the same pieces as :func:`clauses` of it.

Where it cuts, always at whitespace; each piece's whitespace is normalised to single spaces (so
the pieces joined with spaces are the text with its whitespace normalised):

- **The first piece is short**, for a quick first audio delta: it ends at the first clause
  boundary (``,`` ``;`` ``:``, a spaced hyphen, en or em dash) or sentence end (``.`` ``!``
  ``?`` ``…``, closing quotes and brackets allowed after them, or a line break) that has at
  least ``min_words`` words before it, or at the first space past ``first_max_chars``.
- **Then whole sentences**, which Piper speaks with their natural prosody (each synthesis
  ends in ~200 ms of silence, too long a pause at every comma), cut at a clause boundary only
  once a piece reaches ``long_chars``, and at any space past ``max_chars``.
- **No one-word pieces**: every piece has at least ``min_words`` words, except the last when
  the text ends sooner. A period after a common abbreviation (``Dr.``, ``e.g.``) or an
  initial (``J.``, ``U.S.``) ends no sentence.
"""

from __future__ import annotations

import re

__all__ = ["ClauseSplitter", "clauses"]

_SENTENCE_END = ".!?…"
_CLAUSE_END = ",;:"
_EN_DASH, _EM_DASH = "\u2013", "\u2014"
_DASHES = ("-", "--", _EN_DASH, _EM_DASH)
_CLOSERS = "\"')]}\u201d\u2019\u00bb"  # straight and curly closing quotes, brackets
_OPENERS = "(\"'\u201c\u2018"
_ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "cf", "no"}
    | {"approx", "dept", "est", "fig", "inc", "ltd", "co"}
)
_INITIALS = re.compile(r"^(?:[A-Za-z]\.)+$")


def _boundary(word: str) -> str | None:
    """What the word before a space ends: ``"sentence"``, ``"clause"`` or nothing."""
    if word in _DASHES or word.endswith((_EN_DASH, _EM_DASH)):
        return "clause"
    bare = word.rstrip(_CLOSERS)
    if not bare:
        return None
    if bare[-1] in _CLAUSE_END:
        return "clause"
    if bare[-1] in _SENTENCE_END:
        period_only = bare.endswith(".") and not bare.endswith("..")
        stem = bare[:-1].lower().lstrip(_OPENERS)
        if period_only and (stem in _ABBREVIATIONS or _INITIALS.match(bare)):
            return None
        return "sentence"
    return None


class ClauseSplitter:
    """Cuts a text stream into speakable pieces (see the module docstring): ``feed`` each delta
    and speak the complete pieces it returns; ``flush`` once at the end for the rest."""

    def __init__(
        self,
        *,
        min_words: int = 3,
        first_max_chars: int = 100,
        long_chars: int = 120,
        max_chars: int = 250,
    ) -> None:
        if min_words < 1:
            raise ValueError(f"min_words must be at least 1, got {min_words}")
        self.min_words = min_words
        self.first_max_chars = first_max_chars
        self.long_chars = long_chars
        self.max_chars = max_chars
        self._buffer = ""
        self._scanned = 0  # positions before this were looked at as possible cuts
        self._pieces = 0  # pieces given out so far

    def feed(self, delta: str) -> list[str]:
        """Add ``delta`` to the text; return the pieces it completed (maybe none)."""
        self._buffer += delta
        out: list[str] = []
        i = self._scanned
        while i < len(self._buffer):
            if self._cuts_at(i):
                piece = " ".join(self._buffer[:i].split())
                self._buffer = self._buffer[i:].lstrip()
                self._pieces += 1
                out.append(piece)
                i = 0
                continue
            i += 1
        self._scanned = len(self._buffer)
        return out

    def flush(self) -> list[str]:
        """The rest of the text as the last piece (none if only whitespace is left); the
        splitter is then empty, ready for another text."""
        rest = " ".join(self._buffer.split())
        self._buffer, self._scanned, self._pieces = "", 0, 0
        return [rest] if rest else []

    def _cuts_at(self, i: int) -> bool:
        """Whether to cut before ``self._buffer[i]`` (a whitespace character)."""
        text = self._buffer
        char = text[i]
        if not char.isspace() or i == 0:
            return False
        if text[i - 1].isspace() and char != "\n":
            return False  # judged at the run's first space (a line break is judged too)
        piece = text[:i]
        words = piece.split()
        if len(words) < self.min_words:
            return False
        kind = "sentence" if char == "\n" else _boundary(words[-1])
        if self._pieces == 0:
            return kind is not None or len(piece.strip()) >= self.first_max_chars
        if kind == "sentence":
            return True
        size = len(piece.strip())
        return (kind == "clause" and size >= self.long_chars) or size >= self.max_chars


def clauses(text: str, **limits: int) -> list[str]:
    """``text`` cut into speakable pieces: the first short (a clause), then sentences (see the
    module docstring; ``limits`` are :class:`ClauseSplitter`'s keyword arguments)."""
    splitter = ClauseSplitter(**limits)
    return splitter.feed(text) + splitter.flush()
