"""Threads that run models below the event loop's priority.

Whisper and Piper each keep a core busy for hundreds of milliseconds per call, and on a small
machine they compete with the server's event loop for the cores: every other session's events
then wait for the scheduler. Their threads run at a lower priority (nice +10 on Linux), so the
event loop and Silero's short batches get a core first and the models take what is left; a
model's own worker threads (CTranslate2's) inherit the priority when the model is loaded on
such a thread. Where a thread's priority cannot be set (not Linux), the pool is an ordinary one.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

__all__ = ["BACKGROUND_NICE", "background_pool", "lower_priority"]

BACKGROUND_NICE = 10  # added to the nice value of the thread that runs a model


def lower_priority(increment: int = BACKGROUND_NICE) -> bool:
    """Lower the calling thread's scheduling priority by ``increment`` nice steps (Linux: a
    thread's nice value is its own); whether it could."""
    setpriority = getattr(os, "setpriority", None)
    if setpriority is None or not hasattr(threading, "get_native_id"):
        return False
    tid = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, tid)
        setpriority(os.PRIO_PROCESS, tid, min(19, current + increment))
    except OSError:
        return False
    return True


def background_pool(workers: int, name: str) -> ThreadPoolExecutor:
    """A pool of ``workers`` threads named ``name`` that run below the event loop's priority."""
    return ThreadPoolExecutor(workers, thread_name_prefix=name, initializer=lower_priority)
