"""ItemOrder: conversation item ids in order, with O(1) insert after any id and O(1) remove.

A conversation is ordered by ``previous_item_id``: an item goes right after another, first,
or last, and any item may be deleted. With a list each of those costs a scan (``index``,
``in``, ``remove``) and a shift, so a conversation of n items costs O(n^2) to build; a peer
that creates 10,000 items made the client and the local server slow to a crawl. Here the ids
form a doubly linked list kept in two dicts (id -> next, id -> previous); iteration follows
the links in order.

Pure Python, no I/O: both :class:`~realtime_widgets.protocol.state.ConversationState` (the
client) and the local server's conversation use it.
"""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["ItemOrder"]


class ItemOrder:
    """Ids in order. ``insert_after(None, id)`` puts an id first, ``append`` last; ``remove``,
    ``in``, ``last`` and ``before`` are O(1); iterate for the ids in order."""

    __slots__ = ("_next", "_prev")

    def __init__(self) -> None:
        # None is the sentinel before the first id and after the last (a ring through it).
        self._next: dict[str | None, str | None] = {None: None}
        self._prev: dict[str | None, str | None] = {None: None}

    def __len__(self) -> int:
        return len(self._next) - 1

    def __contains__(self, item_id: object) -> bool:
        return item_id is not None and item_id in self._next

    def __iter__(self) -> Iterator[str]:
        item_id = self._next[None]
        while item_id is not None:
            yield item_id
            item_id = self._next[item_id]

    def __repr__(self) -> str:
        return f"ItemOrder({list(self)!r})"

    @property
    def first(self) -> str | None:
        """The first id (None when empty)."""
        return self._next[None]

    @property
    def last(self) -> str | None:
        """The last id (None when empty)."""
        return self._prev[None]

    def before(self, item_id: str) -> str | None:
        """The id just before ``item_id`` (None: it is first). KeyError if it is not here."""
        return self._prev[item_id]

    def after(self, item_id: str) -> str | None:
        """The id just after ``item_id`` (None: it is last). KeyError if it is not here."""
        return self._next[item_id]

    def insert_after(self, anchor: str | None, item_id: str) -> None:
        """Put ``item_id`` right after ``anchor`` (None: first). The anchor must be here and
        the id must not be (remove it first to move it)."""
        if item_id in self._next:
            raise ValueError(f"item {item_id!r} is already in the order")
        following = self._next[anchor]  # KeyError for an unknown anchor
        self._next[anchor] = item_id
        self._prev[item_id] = anchor
        self._next[item_id] = following
        self._prev[following] = item_id

    def append(self, item_id: str) -> None:
        """Put ``item_id`` last."""
        self.insert_after(self._prev[None], item_id)

    def remove(self, item_id: str) -> None:
        """Take ``item_id`` out. KeyError if it is not here."""
        if item_id is None:
            raise KeyError(item_id)
        before = self._prev.pop(item_id)
        after = self._next.pop(item_id)
        self._next[before] = after
        self._prev[after] = before
