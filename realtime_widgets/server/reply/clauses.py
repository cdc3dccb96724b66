"""Reply text cut into clauses as it streams, so each can be spoken as soon as it is whole.

The first audio of a reply waits for the synthesis of its first clause only, so the first
clause is cut short: at the first comma, semicolon, colon or dash once it has
:data:`FIRST_MIN_WORDS` words, or at the end of the first sentence, or at a space before
:data:`FIRST_MAX_CHARS` (about 4 s of speech) when neither comes. Later clauses are whole
sentences (up to :data:`MAX_CHARS`, then cut at a space): there is time to speak them while the
one before plays, and a sentence spoken whole sounds better. Pure and incremental::

    splitter = ClauseSplitter()
    for delta in stream:                 # text deltas, any size
        for clause in splitter.feed(delta):
            speak(clause)
    for clause in splitter.flush():      # what is left at the end
        speak(clause)

``clauses(text)`` is the same for a text given whole.
"""

from __future__ import annotations

import re

__all__ = ["FIRST_MAX_CHARS", "FIRST_MIN_WORDS", "MAX_CHARS", "ClauseSplitter", "clauses"]

FIRST_MIN_WORDS = 3  # the first clause ends at a comma only past this many words
FIRST_MAX_CHARS = 80  # the first clause with no boundary is cut at a space before this
MAX_CHARS = 240  # a later clause with no boundary is cut at a space before this

# A sentence ends at . ! ? (maybe closed by quotes or brackets) followed by white space.
_SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*(?=\s)")
_CLAUSE_END = re.compile(r"[,;:]+(?=\s)|\s[-\u2013\u2014](?=\s)")  # , ; : or a spaced dash


class ClauseSplitter:
    """Text deltas in, whole clauses out (see the module docstring). A clause is returned
    once the white space after its end has been seen, so "3." in "3.5" is never an end."""

    def __init__(self) -> None:
        self._buffer = ""
        self._first = True

    def feed(self, delta: str) -> list[str]:
        """The clauses completed by ``delta`` (maybe none)."""
        self._buffer += delta
        out: list[str] = []
        while True:
            cut = self._cut()
            if cut is None:
                return out
            clause, self._buffer = self._buffer[:cut].strip(), self._buffer[cut:]
            if clause:
                out.append(clause)
                self._first = False

    def flush(self) -> list[str]:
        """What is left at the end of the stream (the last clause, if any)."""
        rest, self._buffer = self._buffer.strip(), ""
        return [rest] if rest else []

    def _cut(self) -> int | None:
        text = self._buffer
        ends = [m.end() for m in _SENTENCE_END.finditer(text)]
        if self._first:
            for m in _CLAUSE_END.finditer(text):
                if len(text[: m.start()].split()) >= FIRST_MIN_WORDS:
                    ends.append(m.end())
                    break
        if ends:
            return min(ends)
        limit = FIRST_MAX_CHARS if self._first else MAX_CHARS
        if len(text) > limit:
            space = text.rfind(" ", 0, limit)
            return space if space > 0 else limit
        return None


def clauses(text: str) -> list[str]:
    """``text`` cut into clauses as :class:`ClauseSplitter` cuts a stream of it."""
    splitter = ClauseSplitter()
    return splitter.feed(text) + splitter.flush()
