"""Waiting in tests: one timing unit, scaled by an environment variable (as websockets'
tests/utils.py does), and waits on conditions rather than fixed sleeps.

On a slow or loaded machine, ``RW_TESTS_TIMEOUT_FACTOR=4 make test`` stretches every wait.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable

FACTOR = float(os.environ.get("RW_TESTS_TIMEOUT_FACTOR", "1"))
MS = 0.001 * FACTOR  # one millisecond of test time


def eventually(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Wait until ``condition()`` holds (polling every 10 ms), for ``timeout`` s x FACTOR."""
    deadline = time.monotonic() + timeout * FACTOR
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout * FACTOR} s")
        time.sleep(0.01)


async def eventually_async(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """:func:`eventually` for async tests: polls without blocking the event loop (a server on
    the same loop goes on meanwhile)."""
    deadline = time.monotonic() + timeout * FACTOR
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout * FACTOR} s")
        await asyncio.sleep(0.01)


def quiet_for(ms: float) -> None:
    """Let ``ms`` milliseconds of test time pass: only for asserting that nothing MORE happens
    (a debounce that must not send twice); to wait for something, use :func:`eventually`."""
    time.sleep(ms * MS)
