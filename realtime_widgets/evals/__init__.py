"""Turn-taking evaluation on real speech: suites, the field's metrics, sweeps, Pareto fronts.

A *suite* is a list of labelled clips in livekit/eot-bench's row schema (``speech``, ``hold``,
``eot``, ``backchannel`` and ``barge_in`` spans); :func:`builtin_suite` ships real, licence-clean
speech. :func:`sweep` runs every configuration of a grid over a suite, on the local server's
engine on a simulated clock (deterministic, far faster than real time; any
``concurrent.futures.Executor`` or a Dask ``Client`` spreads it) or against an endpoint in real
time (OpenAI with a key), and returns one row of metrics per configuration
(:data:`~realtime_widgets.evals.metrics.METRICS`: false cutoffs, missed ends of turn, latency,
time to first audio, false barge-ins, talk-over, fragmentation). See ``docs/evals.md``.

Widgets live in their own modules (:mod:`realtime_widgets.evals.progress`,
:mod:`realtime_widgets.vadlab.suite_lab`): importing this package loads none.
"""

from __future__ import annotations

from realtime_widgets.evals.clip import LABELS, Clip, Span
from realtime_widgets.evals.metrics import METRICS, ClipMeasures, measure, summarize
from realtime_widgets.evals.remote import Estimate, RateBucket, RemoteJob, RemoteRunner, estimate
from realtime_widgets.evals.runs import ClipRun, from_timeline, prepare, run_local
from realtime_widgets.evals.suite import Suite, builtin_suite, default_reply, join, overlay
from realtime_widgets.evals.sweep import OPENAI_REFERENCE, DryRun, SweepResult, sweep

__all__ = [
    "LABELS",
    "METRICS",
    "OPENAI_REFERENCE",
    "Clip",
    "ClipMeasures",
    "ClipRun",
    "DryRun",
    "Estimate",
    "RateBucket",
    "RemoteJob",
    "RemoteRunner",
    "Span",
    "Suite",
    "SweepResult",
    "builtin_suite",
    "default_reply",
    "estimate",
    "from_timeline",
    "join",
    "measure",
    "overlay",
    "prepare",
    "run_local",
    "summarize",
    "sweep",
]
