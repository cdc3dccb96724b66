"""TextBudget: what a ConversationState keeps of text, bounded in characters.

A peer may stream any amount of text (issue 18: 3,200 deltas of 64 KB took a client from 61 to
484 MB). Every item's text, transcript, function arguments and output, and image URLs count
against ``max_chars`` (:data:`TEXT_BUDGET`: 16 Mi characters, about 16 MiB as CPython keeps
ASCII in one byte a character). Past it:

- the oldest items' text goes first, whole items at a time (oldest: the first to hold text),
  so the item being written, the newest, stays whole;
- an item alone over the budget keeps its head, and later deltas to it are not kept either
  (its text never has a hole in the middle);
- each such item counts what went in ``text_dropped``, and its ``text`` ends with
  ``[N characters not kept: ...]`` (:data:`TEXT_MARKER`): nothing is lost without saying so.

A final text (``...done``, ``completed``) replaces the deltas it repeats and is the whole text
again. Deltas are joined into pieces of :data:`PIECE_CHARS`, so one-character deltas cost one
string object a piece, not one a delta. A spoken hour is a few hundred kilobytes of text.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from realtime_widgets.protocol.state import ItemState

__all__ = ["PIECE_CHARS", "TEXT_BUDGET", "TEXT_MARKER", "TextBudget", "estimate_text_tokens"]

TEXT_BUDGET = 16 * 1024 * 1024
TEXT_MARKER = "over the client's text budget, ConversationState.max_text_chars"
PIECE_CHARS = 4096


def estimate_text_tokens(text: str) -> int:
    """The project's one token estimate for text: about four characters a token (rounded up).
    There is no tokenizer here: the local server's usage counts by it
    (:mod:`realtime_widgets.server.reply.usage`) and the configs check OpenAI's token limits by
    it (GPT-Live's instructions and startup input), each saying it is an estimate."""
    return math.ceil(len(text) / 4) if text else 0


class TextBudget:
    """The text budget of one ConversationState (module docstring): its handlers call
    :meth:`append` for a delta, :meth:`measure` after setting a final text, arguments, output
    or images, and :meth:`forget` for a deleted item."""

    def __init__(self, items: dict[str, ItemState], max_chars: int = TEXT_BUDGET) -> None:
        if max_chars <= 0:
            raise ValueError(f"max_text_chars must be a positive number, got {max_chars!r}")
        self.items = items
        self.max_chars = max_chars
        self.chars = 0  # characters kept, all items
        self._holders: dict[str, None] = {}  # ids of items holding text, oldest first

    def append(self, state: ItemState, pieces: list[str], delta: str) -> None:
        """A delta of ``state``'s text or arguments, kept within the budget."""
        n = len(delta)
        if state.text_dropped:  # its text was cut: keep it whole up to the cut, or not at all
            state.text_dropped += n
            return
        if self.chars + n > self.max_chars:
            self.make_room(n, keep=state)
            room = max(0, self.max_chars - self.chars)
            if n > room:
                state.text_dropped += n - room
                delta, n = delta[:room], room
                if not n:
                    return
        if pieces and len(pieces[-1]) < PIECE_CHARS:
            pieces[-1] += delta
        else:
            pieces.append(delta)
        self._count(state, n)

    def measure(self, state: ItemState, *, fresh_final: bool = False) -> None:
        """Count ``state`` again after its final text, arguments, output or images were set:
        a final text replaces the pieces (``fresh_final``: it is the whole text again)."""
        if state.transcript_final is not None and state.chunks:
            state.chunks = []
        if state.arguments_final is not None and state.arguments_chunks:
            state.arguments_chunks = []
        if fresh_final:
            state.text_dropped = 0
        grow = _kept_size(state) - state.kept_chars
        if grow > 0 and self.chars + grow > self.max_chars:
            self.make_room(grow, keep=state)
            over = self.chars + grow - self.max_chars
            if over > 0:
                cut = _cut(state, over)
                state.text_dropped += cut
                grow -= cut
        self._count(state, grow)

    def _count(self, state: ItemState, n: int) -> None:
        state.kept_chars += n
        self.chars += n
        if state.kept_chars:
            self._holders.setdefault(state.id, None)
        else:
            self._holders.pop(state.id, None)

    def make_room(self, need: int, keep: ItemState) -> None:
        """Drop the oldest items' text (never ``keep``'s) until ``need`` more fits."""
        holders = self._holders
        holders.pop(keep.id, None)  # the item written to is the newest
        while holders and self.chars + need > self.max_chars:
            oldest = self.items.get(next(iter(holders)))
            if oldest is None:
                holders.pop(next(iter(holders)))
                continue
            oldest.text_dropped += oldest.kept_chars
            oldest.chunks, oldest.arguments_chunks, oldest.image_urls = [], [], []
            oldest.transcript_final = oldest.arguments_final = oldest.output = None
            self._count(oldest, -oldest.kept_chars)
        if keep.kept_chars:
            holders[keep.id] = None

    def forget(self, state: ItemState) -> None:
        """A deleted item's text no longer counts."""
        self._count(state, -state.kept_chars)


def _kept_size(state: ItemState) -> int:
    """Characters of ``state`` the text budget counts."""
    return (
        sum(map(len, state.chunks))
        + len(state.transcript_final or "")
        + sum(map(len, state.arguments_chunks))
        + len(state.arguments_final or "")
        + len(state.output or "")
        + sum(map(len, state.image_urls))
    )


def _cut(state: ItemState, over: int) -> int:
    """Shorten ``state``'s final texts (then drop its last images) by ``over`` characters or
    as near as they allow; returns the characters cut."""
    cut = 0
    for name in ("transcript_final", "arguments_final", "output"):
        value: str | None = getattr(state, name)
        if value and cut < over:
            n = min(over - cut, len(value))
            setattr(state, name, value[: len(value) - n])
            cut += n
    while state.image_urls and cut < over:
        cut += len(state.image_urls.pop())
    return cut
