"""SweepProgress: a sweep's or a remote run's jobs done, failed and running, the ETA and spend.

An anywidget (``progress.js`` beside it, no CDN). The runner reports to it from one thread,
its event loop (:class:`~realtime_widgets.evals.remote.Progress`): :meth:`start`, then
:meth:`job_started` and :meth:`job_finished` per job, each O(1) (a few counters and one sync
of the changed traits). A call from another thread raises, so a widget in a notebook is never
written from two threads at once. :meth:`summary` is the same state as one line of text.

The ETA starts at :meth:`start` and is the elapsed wall time per finished job times the jobs
left (the concurrency is in the elapsed time already); None until a job has finished.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

__all__ = ["SweepProgress"]


class SweepProgress(anywidget.AnyWidget):
    """Progress of a run of jobs (pass it as ``progress=`` to a sweep or a RemoteRunner)."""

    _esm = Path(__file__).with_name("progress.js")
    total = t.Int(0).tag(sync=True)
    done = t.Int(0).tag(sync=True)
    failed = t.Int(0).tag(sync=True)
    running = t.Int(0).tag(sync=True)
    spend_usd = t.Float(0.0).tag(sync=True)
    estimate_usd = t.Float(None, allow_none=True).tag(sync=True)
    eta_s = t.Float(None, allow_none=True).tag(sync=True)
    last = t.Unicode("").tag(sync=True)  # the key of the job that changed last

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._clock = clock
        self._started_at: float | None = None
        self._owner: threading.Thread | None = None
        self._running: set[str] = set()

    def _check_thread(self) -> None:
        here = threading.current_thread()
        if self._owner is None:
            self._owner = here
        elif here is not self._owner:
            raise RuntimeError(
                f"SweepProgress is updated from one thread ({self._owner.name}); "
                f"got a call from {here.name}"
            )

    def start(self, total: int, *, estimate_usd: float | None = None) -> None:
        """A run of ``total`` jobs begins (resets the counts; the calling thread owns it)."""
        if total < 0:
            raise ValueError(f"total must be >= 0, got {total}")
        self._owner = None
        self._check_thread()
        self._started_at = self._clock()
        self._running = set()
        with self.hold_sync():
            self.total, self.done, self.failed, self.running = total, 0, 0, 0
            self.spend_usd, self.estimate_usd, self.eta_s, self.last = 0.0, estimate_usd, None, ""

    def job_started(self, key: str) -> None:
        """A job began."""
        self._check_thread()
        with self.hold_sync():
            self._running.add(key)
            self.running = len(self._running)
            self.last = key

    def job_finished(self, key: str, *, ok: bool, spend_usd: float = 0.0) -> None:
        """A job ended (``ok``: with a result; else it failed, or was never started, in which
        case it was not counted as running); ``spend_usd``: what it cost."""
        self._check_thread()
        with self.hold_sync():
            self._running.discard(key)
            self.running = len(self._running)
            if ok:
                self.done += 1
            else:
                self.failed += 1
            self.spend_usd += spend_usd
            self.last = key
            self.eta_s = self._eta()

    def _eta(self) -> float | None:
        finished = self.done + self.failed
        if self._started_at is None or finished == 0:
            return None
        elapsed = self._clock() - self._started_at
        return elapsed / finished * max(0, self.total - finished)

    def summary(self) -> str:
        """The state as one line (what the widget shows)."""
        eta = "ETA n/a" if self.eta_s is None else f"ETA {self.eta_s:.0f} s"
        spend = f"${self.spend_usd:.4f} spent"
        if self.estimate_usd is not None:
            spend += f" of ~${self.estimate_usd:.4f} estimated"
        return (
            f"{self.done}/{self.total} done, {self.failed} failed, {self.running} running, "
            f"{eta}, {spend}"
        )

    def __repr__(self) -> str:
        return f"SweepProgress({self.summary()})"
