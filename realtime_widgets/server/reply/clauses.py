"""Reply text cut into speakable pieces, so speech can start before the whole reply is known.

A streamed reply is synthesised piece by piece: :class:`ClauseSplitter` takes the text deltas
as they come (:meth:`~ClauseSplitter.feed`) and gives back each piece once it is complete,
then the rest at the end (:meth:`~ClauseSplitter.flush`); :func:`clauses` does the same for a
whole text. Feeding a text in any chunks gives the same pieces as :func:`clauses` of it.

Where it cuts: at whitespace, except inside a word too long for a piece; each piece's
whitespace is normalised to single spaces, so the pieces joined with their separators (a space,
or nothing after a cut inside a word) are the text with its whitespace normalised:

- **The first piece is short**, for a quick first audio delta: it ends at the first clause
  boundary (``,`` ``;`` ``:``, a spaced hyphen, en or em dash) or sentence end (``.`` ``!``
  ``?`` ``…``, closing quotes and brackets allowed after them, or a line break) that has at
  least ``min_words`` words before it (:func:`~realtime_widgets.server.speech.ends_sentence`
  says where a sentence ends); else at the last space that keeps it within
  ``first_max_chars``; else (one word longer than that) inside the word, at
  ``first_max_chars``.
- **Then whole sentences**, which Piper speaks with their natural prosody (each synthesis
  ends in ~200 ms of silence, too long a pause at every comma), cut at a clause boundary only
  once a piece reaches ``long_chars``; never longer than ``max_chars`` (cut at the last space
  within it, else inside the word).
- **No one-word pieces**: a piece ends at a boundary only with at least ``min_words`` words
  before it, so every piece has that many except the last (when the text ends sooner) and one
  the length limit ended (its next word would not fit). A period after a common abbreviation
  (``Dr.``, ``e.g.``) or an initial (``J.``, ``U.S.``) ends no sentence.

Every cut depends only on the text before it and the character at it, so the pieces are the
same however the text is split into deltas.
"""

from __future__ import annotations

from realtime_widgets.server.speech import CLOSERS, ends_sentence

__all__ = ["ClauseSplitter", "clauses"]

_CLAUSE_END = ",;:"
_EN_DASH, _EM_DASH = "\u2013", "\u2014"
_DASHES = ("-", "--", _EN_DASH, _EM_DASH)


def _boundary(word: str) -> str | None:
    """What the word before a space ends: ``"sentence"``, ``"clause"`` or nothing."""
    if word in _DASHES or word.endswith((_EN_DASH, _EM_DASH)):
        return "clause"
    if ends_sentence(word):
        return "sentence"
    bare = word.rstrip(CLOSERS)
    if bare and bare[-1] in _CLAUSE_END:
        return "clause"
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
        for name, value in (
            ("min_words", min_words),
            ("first_max_chars", first_max_chars),
            ("max_chars", max_chars),
        ):
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        self.min_words = min_words
        self.first_max_chars = first_max_chars
        self.long_chars = long_chars
        self.max_chars = max_chars
        self._buffer = ""
        self._scanned = 0  # positions before this were looked at as possible cuts
        self._pieces = 0  # pieces given out so far

    def feed(self, delta: str) -> list[str]:
        """Add ``delta`` to the text; return the pieces it completed (maybe none)."""
        if not self._buffer:
            delta = delta.lstrip()  # a piece never starts with whitespace
        self._buffer += delta
        out: list[str] = []
        i = self._scanned
        while i < len(self._buffer):
            cut = self._cut_before(i)
            if cut is not None:
                out.append(" ".join(self._buffer[:cut].split()))
                self._buffer = self._buffer[cut:].lstrip()
                self._pieces += 1
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

    def _cut_before(self, i: int) -> int | None:
        """Where to cut, now that ``self._buffer[i]`` is known (the buffer starts with a
        word): before ``i`` (a boundary at this whitespace), before an earlier space or inside
        the word (the character at ``i`` would make the piece too long), or nowhere yet."""
        text = self._buffer
        char = text[i]
        if i == 0:
            return None
        if not char.isspace():
            limit = self.max_chars if self._pieces else self.first_max_chars
            if len(" ".join(text[: i + 1].split())) <= limit:
                return None
            space = next((j for j in range(i - 1, 0, -1) if text[j].isspace()), None)
            if space is None:  # one word longer than a piece: cut inside it
                return i
            while text[space - 1].isspace():
                space -= 1  # the start of the run of whitespace
            return space
        if text[i - 1].isspace() and char != "\n":
            return None  # judged at the run's first space (a line break is judged too)
        words = text[:i].split()
        if len(words) < self.min_words:
            return None
        kind = "sentence" if char == "\n" else _boundary(words[-1])
        if self._pieces == 0:
            return i if kind is not None else None
        if kind == "sentence" or (kind == "clause" and len(" ".join(words)) >= self.long_chars):
            return i
        return None


def clauses(text: str, **limits: int) -> list[str]:
    """``text`` cut into speakable pieces: the first short (a clause), then sentences (see the
    module docstring; ``limits`` are :class:`ClauseSplitter`'s keyword arguments)."""
    splitter = ClauseSplitter(**limits)
    return splitter.feed(text) + splitter.flush()
