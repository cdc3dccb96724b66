"""Model threads run below the event loop's priority (server/threads.py)."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from realtime_widgets.server.threads import BACKGROUND_NICE, background_pool


def _nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_a_background_pool_runs_below_the_callers_priority() -> None:
    mine = _nice()
    pool = background_pool(2, "test-background")
    try:
        seen = {pool.submit(_nice).result(timeout=10) for _ in range(4)}
        names = {pool.submit(lambda: threading.current_thread().name).result(timeout=10)}
    finally:
        pool.shutdown(wait=True)
    assert seen == {min(19, mine + BACKGROUND_NICE)}
    assert _nice() == mine  # the caller's own priority is untouched
    assert all(name.startswith("test-background") for name in names)
