"""Complexity checked by counting, not timing: an id that counts its comparisons."""

from __future__ import annotations


class CountingId(str):
    """An item id that counts how often it is compared (a list scan compares it with every
    id; a dict lookup with almost none). Reset ``CountingId.compared`` before measuring."""

    compared = 0

    def __eq__(self, other: object) -> bool:
        CountingId.compared += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__
