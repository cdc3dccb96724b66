"""Runs against a real endpoint (OpenAI with a key, or a LocalServer in real time).

Latency means nothing unless the audio goes out at the pace a person speaks, so each
:class:`RemoteJob` opens a session with its config (output audio on, no tools) and streams its
clip, then its tail of silence (:func:`job_tail_ms`: the local runs' rule,
:func:`~realtime_widgets.evals.runs.tail_for`, unless ``tail_ms`` is given), in ``chunk_ms``
chunks paced by the monotonic clock: chunk
``k`` goes at ``t0 + k * chunk_ms`` (scheduled against the start, so no drift accumulates).
``t0``, the moment the first sample was sent, is the origin of **stream time**: an event at
stream time ``t`` came when the clip's audio up to ``t`` had been sent, so stream ms are ms on
the clip's clock. Events before the first sample (``session.created``/``updated``) have
negative times.

Each session acts as a client's player: the evals' one player model,
:class:`~realtime_widgets.evals.runs.ClientPlayer`, shared with the local runs and with
:func:`~realtime_widgets.evals.runs.play`, fed each event as it arrives. A reply audio delta
plays at ``max(arrival, end of the audio queued)``; an
``input_audio_buffer.speech_started`` that comes while the agent is audible or queued stops
playback, and the runner sends ``conversation.item.truncate`` with the ms of that item really
played (none when nothing of it was), as a real client does; a ``response.done`` with status
``cancelled`` drops what was not yet played. A job ends when the tail has streamed and nothing
is in progress (no response, no open user turn, no committed turn waiting for its response),
or fails after ``timeout_s`` more.

:class:`RemoteRunner` runs jobs with at most ``concurrency`` sessions at once, a
requests- and tokens-per-minute :class:`RateBucket`, a retry with doubling, jittered backoff
on a server ``error`` whose code is ``rate_limit_exceeded``, and a budget: :func:`estimate`
prices the jobs before anything is sent (a smaller ``budget_usd`` raises at once), and during
the run each job reserves its estimate before it starts: a job whose estimate, added to the
spend so far (each session's ``cost``) and to the reservations of the jobs still running (each
the larger of its estimate and its cost so far), would pass the budget is not started
(:class:`BudgetReached`); a job's reservation becomes its actual cost when it ends. The spend
can still pass the budget when sessions cost more than estimated (the server bills; the runner
cannot stop a response midway), by at most what the running jobs spend beyond their estimates.

The API key never leaves the :class:`~realtime_widgets.client.auth.Endpoint`'s ``Secret``:
errors and reprs show ``endpoint.display`` only.

Token figures: OpenAI's Realtime "Managing costs" guide
(https://developers.openai.com/api/docs/guides/realtime-costs) bills user audio at 1 token per
100 ms and assistant audio at 1 token per 50 ms, the same rule as the local server's usage
(:mod:`realtime_widgets.server.reply.usage`: 10 tokens a second in, 20 out); prices come from
:data:`realtime_widgets.client.metrics.PRICES` (OpenAI's model pages: audio in, cached audio
in, audio out per 1M tokens).
"""

from __future__ import annotations

import asyncio
import heapq
import json
import math
import random
import time
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np

from realtime_widgets.client.auth import Endpoint
from realtime_widgets.client.loop import BackgroundLoop
from realtime_widgets.client.metrics import PRICES
from realtime_widgets.client.session import RealtimeSession
from realtime_widgets.errors import ConfigError, FieldProblem, RealtimeWidgetsError, ServerError
from realtime_widgets.evals.clip import RATE, Clip
from realtime_widgets.evals.runs import ClientPlayer, tail_for
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.events import ServerEvent
from realtime_widgets.protocol.parts import SemanticVad, ServerVad

__all__ = [
    "AUDIO_IN_MS_PER_TOKEN",
    "AUDIO_OUT_MS_PER_TOKEN",
    "BudgetReached",
    "Estimate",
    "Progress",
    "RateBucket",
    "RemoteJob",
    "RemoteRunner",
    "RemoteTimeout",
    "Timeline",
    "estimate",
    "job_tail_ms",
]

T = TypeVar("T")

# OpenAI's Realtime "Managing costs" guide: user audio 1 token per 100 ms, assistant audio 1
# token per 50 ms (the local server counts the same: server/reply/usage.py).
AUDIO_IN_MS_PER_TOKEN = 100.0
AUDIO_OUT_MS_PER_TOKEN = 50.0
REPLY_S = 3.0  # the estimate's length of one spoken reply (and the tail's, see job_tail_ms)
APPEND_TIMEOUT_S = 10.0  # one audio append may wait this long for the socket
DEADLINE_SLACK_S = 10.0  # a job's deadline beyond its connect, stream and settle times
CONNECT_S = 1.0  # the estimate's time to open a session and apply its config
RATE_LIMITED = "rate_limit_exceeded"


class BudgetReached(RealtimeWidgetsError):
    """The spend so far reached ``budget_usd``: this job was not started."""


class RemoteTimeout(RealtimeWidgetsError, TimeoutError):
    """A job's response (or turn) was still in progress ``timeout_s`` after its tail, or the
    job passed its own deadline (an append or the connection hung)."""


def job_tail_ms(
    config: SessionConfig, tail_ms: float | None = None, reply_s: float = REPLY_S
) -> float:
    """The silence streamed after a clip: ``tail_ms`` when given, else the local runs' rule
    (:func:`~realtime_widgets.evals.runs.tail_for` with a ``reply_s`` reply): the longest wait
    the configuration allows for a decision, the reply, any idle timeout, and a margin."""
    if tail_ms is not None:
        return float(tail_ms)
    return float(tail_for(config, reply_s * 1000))


@dataclass(frozen=True)
class RemoteJob:
    """One clip to stream through one session with ``config``; ``key`` names it in the results,
    the progress and every error."""

    key: str
    clip: Clip
    config: SessionConfig


class Timeline(list[tuple[float, dict[str, Any]]]):
    """One job's server events as ``(stream ms, event dict exactly as the server sent it)``, in
    order (a plain list of pairs, as the contract says), with what the run knows beside it:
    ``wall_start`` / ``wall_end`` (monotonic s of the first sample sent and of the job's end),
    ``attempts`` (1 + retries), ``cost_usd`` (the session's ``cost``), ``truncations`` (stream
    ms, item id, audio_end_ms of each truncate sent), ``tail_ms``."""

    def __init__(
        self,
        events: Iterable[tuple[float, dict[str, Any]]] = (),
        *,
        key: str = "",
        wall_start: float = 0.0,
        wall_end: float = 0.0,
        attempts: int = 1,
        cost_usd: float | None = None,
        truncations: Sequence[tuple[float, str, int]] = (),
        tail_ms: float = 0.0,
    ) -> None:
        super().__init__(events)
        self.key = key
        self.wall_start = wall_start
        self.wall_end = wall_end
        self.attempts = attempts
        self.cost_usd = cost_usd
        self.truncations = list(truncations)
        self.tail_ms = tail_ms


# ---- the rate bucket ---------------------------------------------------------------------------


class RateBucket:
    """Requests- and tokens-per-minute buckets (None: unlimited). Each starts full (``rpm``
    requests, ``tpm`` tokens) and refills continuously at its rate per minute; a request of
    ``tokens`` may go when both hold enough. ``clock`` is monotonic seconds (a fake one in
    tests): :meth:`wait_s` says how long to wait, :meth:`take` spends, :meth:`acquire` does
    both, sleeping as needed."""

    def __init__(
        self,
        rpm: float | None = None,
        tpm: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        for name, value in (("rpm", rpm), ("tpm", tpm)):
            if value is not None and (isinstance(value, bool) or not value > 0):
                raise ConfigError(
                    [FieldProblem(name, f"{name} must be a positive number or None, got {value!r}")]
                )
        self.rpm = rpm
        self.tpm = tpm
        self.clock = clock
        self._requests = float(rpm) if rpm is not None else 0.0
        self._tokens = float(tpm) if tpm is not None else 0.0
        self._at = clock()

    def _refill(self) -> None:
        now = self.clock()
        elapsed = max(0.0, now - self._at)
        self._at = now
        if self.rpm is not None:
            self._requests = min(float(self.rpm), self._requests + elapsed * self.rpm / 60)
        if self.tpm is not None:
            self._tokens = min(float(self.tpm), self._tokens + elapsed * self.tpm / 60)

    def check(self, tokens: float) -> None:
        """A request of more tokens than ``tpm`` can never go: ConfigError naming both."""
        if self.tpm is not None and tokens > self.tpm:
            raise ConfigError(
                [
                    FieldProblem(
                        "tpm",
                        f"tpm must be at least one job's tokens: a job needs about {tokens:.0f} "
                        f"tokens, tpm is {self.tpm:g}",
                    )
                ]
            )

    def wait_s(self, tokens: float = 0.0) -> float:
        """Seconds until one request of ``tokens`` may go (0: now)."""
        self.check(tokens)
        self._refill()
        wait = 0.0
        if self.rpm is not None and self._requests < 1:
            wait = max(wait, (1 - self._requests) * 60 / self.rpm)
        if self.tpm is not None and self._tokens < tokens:
            wait = max(wait, (tokens - self._tokens) * 60 / self.tpm)
        return wait

    def take(self, tokens: float = 0.0) -> None:
        """Spend one request and ``tokens`` (call when :meth:`wait_s` says 0)."""
        self._refill()
        if self.rpm is not None:
            self._requests -= 1
        if self.tpm is not None:
            self._tokens -= tokens

    async def acquire(self, tokens: float = 0.0) -> float:
        """Wait until a request of ``tokens`` may go, then spend it; returns the seconds waited
        (by the bucket's clock)."""
        start = self.clock()
        while True:
            wait = self.wait_s(tokens)
            if wait <= 0:
                break
            await asyncio.sleep(wait)
        self.take(tokens)
        return self.clock() - start


# ---- the estimate ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """What a set of jobs should cost and take, before anything is sent.

    ``input_tokens`` counts every input token of every response (OpenAI's usage does the same),
    ``cached_tokens`` the part of them re-read from earlier turns (priced as cached audio input),
    ``output_tokens`` the replies' audio. ``seconds`` is the wall time with the runner's
    concurrency (and rate limits, if any)."""

    usd: float
    seconds: float
    input_tokens: int
    output_tokens: int
    cached_tokens: int

    def __str__(self) -> str:
        return (
            f"${self.usd:.6f} and {self.seconds:.0f} s ({self.input_tokens} input tokens, "
            f"{self.cached_tokens} of them cached, {self.output_tokens} output tokens)"
        )


@dataclass(frozen=True)
class _JobUsage:
    input_tokens: int
    cached_tokens: int
    output_tokens: int

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


def _responses_at(clip: Clip) -> list[float]:
    """Where the responses of a clip are triggered (clip ms): at each ``eot`` span's start (the
    true speech end) and each ``barge_in`` span's end (a new user turn); the clip's end when it
    has neither."""
    points = [s.start_ms for s in clip.of("eot")] + [s.end_ms for s in clip.of("barge_in")]
    return sorted(points) or [clip.duration_ms]


def _job_usage(clip: Clip, reply_s: float) -> _JobUsage:
    """Tokens of one job. Response ``i`` (triggered at ``t_i``) reads the user audio since the
    previous response as new input (VAD drops the audio after the last turn: unbilled), and
    re-reads as cached input the user audio before it and the ``i`` earlier replies (their
    audio in the context, at the input rate); it says ``reply_s`` of audio."""
    reply_in = math.ceil(reply_s * 1000 / AUDIO_IN_MS_PER_TOKEN)
    reply_out = math.ceil(reply_s * 1000 / AUDIO_OUT_MS_PER_TOKEN)
    new = cached = out = 0
    previous = 0.0
    for i, at in enumerate(_responses_at(clip)):
        new += math.ceil((at - previous) / AUDIO_IN_MS_PER_TOKEN)
        cached += math.ceil(previous / AUDIO_IN_MS_PER_TOKEN) + i * reply_in
        out += reply_out
        previous = at
    return _JobUsage(new + cached, cached, out)


def _price_table(model: str, prices: dict[str, dict[str, float]]) -> dict[str, float]:
    """The model's prices, found as :func:`~realtime_widgets.client.metrics.cost_of` finds
    them (the model, else its name without the last ``-part``)."""
    table = prices.get(model) or prices.get(model.rsplit("-", 1)[0])
    if table is None:
        raise ConfigError(
            [
                FieldProblem(
                    "model",
                    f"model {model!r} has no price: one of {', '.join(sorted(prices))}, or pass "
                    "prices={model: {...}}",
                )
            ]
        )
    return table


def estimate(
    jobs: Sequence[RemoteJob],
    *,
    model: str | None = None,
    concurrency: int = 1,
    tail_ms: float | None = None,
    reply_s: float = REPLY_S,
    connect_s: float = CONNECT_S,
    rpm: float | None = None,
    tpm: float | None = None,
    prices: dict[str, dict[str, float]] | None = None,
) -> Estimate:
    """A pre-flight cost and time estimate from the clips' durations and the model's prices.

    Cost: per job, the tokens of :func:`_job_usage` (one ``reply_s`` reply per ``eot`` and
    ``barge_in`` span), priced with the model's audio input, cached audio input
    (``cached_audio_in``, else ``cached_in``) and audio output prices (``model``: every job's
    own ``config.model`` when None). Text tokens (instructions, transcripts) are left out.

    Time: each job takes ``connect_s`` plus its clip and its tail (:func:`job_tail_ms`: ``tail_ms``
    when given, else the configuration's own) in real time; the jobs
    start in order on ``concurrency`` lanes (as :class:`RemoteRunner` starts them), and the
    wall time is at least what ``rpm`` / ``tpm`` allow (beyond the full buckets, the requests
    and tokens at the per-minute rates)."""
    if concurrency < 1:
        raise ConfigError(
            [FieldProblem("concurrency", f"concurrency must be >= 1, got {concurrency}")]
        )
    table = PRICES if prices is None else prices
    usd = 0.0
    total_in = total_cached = total_out = 0
    lanes = [0.0] * concurrency
    for job in jobs:
        usage = _job_usage(job.clip, reply_s)
        price = _price_table(model or job.config.model, table)
        cached_price = price.get("cached_audio_in", price["cached_in"])
        usd += (
            (usage.input_tokens - usage.cached_tokens) * price["audio_in"]
            + usage.cached_tokens * cached_price
            + usage.output_tokens * price["audio_out"]
        ) / 1e6
        total_in += usage.input_tokens
        total_cached += usage.cached_tokens
        total_out += usage.output_tokens
        free = heapq.heappop(lanes)
        tail = job_tail_ms(job.config, tail_ms, reply_s)
        heapq.heappush(lanes, free + connect_s + (job.clip.duration_ms + tail) / 1000)
    seconds = max(lanes) if jobs else 0.0
    if rpm is not None and len(jobs) > rpm:
        seconds = max(seconds, (len(jobs) - rpm) * 60 / rpm)
    if tpm is not None and total_in + total_out > tpm:
        seconds = max(seconds, (total_in + total_out - tpm) * 60 / tpm)
    return Estimate(usd, seconds, total_in, total_out, total_cached)


# ---- progress ----------------------------------------------------------------------------------


class Progress(Protocol):
    """What the runner reports to (``SweepProgress`` is one), always from the runner's loop."""

    def start(self, total: int, *, estimate_usd: float | None = None) -> None: ...

    def job_started(self, key: str) -> None: ...

    def job_finished(self, key: str, *, ok: bool, spend_usd: float = 0.0) -> None: ...


# ---- one job's session -------------------------------------------------------------------------


class _Recorder:
    """One attempt's frames, clock, player and end conditions (runs on the I/O loop)."""

    def __init__(self, config: SessionConfig, failed: asyncio.Future[None]) -> None:
        self.frames: list[tuple[float, dict[str, Any]]] = []
        self.t0: float | None = None
        self.player = ClientPlayer()  # the evals' one player model, fed each event on arrival
        self.truncations: list[tuple[float, str, int]] = []
        self.failed = failed
        td = config.turn_detection
        self.auto_respond = isinstance(td, ServerVad | SemanticVad) and td.create_response
        self.user_speaking = False
        self.awaiting_response = False
        self.session: _StreamSession | None = None

    def now_ms(self, mono: float) -> float:
        return 0.0 if self.t0 is None else (mono - self.t0) * 1000

    def frame(self, mono: float, data: dict[str, Any]) -> None:
        self.frames.append((mono, data))
        kind = data.get("type")
        t = self.now_ms(mono)
        for item_id, played in self.player.feed(t, data):
            self.truncations.append((t, item_id, played))
            if self.session is not None:
                self.session.submit(self.session.atruncate(item_id, played))
        if kind == "input_audio_buffer.speech_started":
            self.user_speaking = True
        elif kind == "input_audio_buffer.speech_stopped":
            self.user_speaking = False
        elif kind == "input_audio_buffer.committed":
            self.awaiting_response = self.auto_respond
        elif kind == "response.created":
            self.awaiting_response = False
        elif kind == "error":
            error = data.get("error") or {}
            if error.get("code") == RATE_LIMITED:
                self.fail(
                    ServerError(
                        str(error.get("message") or "rate limit exceeded"),
                        str(error.get("type") or "requests"),
                        RATE_LIMITED,
                    )
                )

    def fail(self, exc: Exception) -> None:
        if not self.failed.done():
            self.failed.set_exception(exc)

    def busy(self) -> bool:
        session = self.session
        responding = session is not None and session.state.active_response is not None
        return responding or self.user_speaking or self.awaiting_response

    def timeline(self) -> list[tuple[float, dict[str, Any]]]:
        t0 = self.t0 if self.t0 is not None else 0.0
        return [(round((m - t0) * 1000, 2), d) for m, d in self.frames]


class _StreamSession(RealtimeSession):
    """A session that hands every server frame, parsed as sent and timed on arrival, to its
    recorder (after the core applied it)."""

    recorder: _Recorder

    def _receive(self, text: str) -> ServerEvent | None:
        mono = time.monotonic()
        event = super()._receive(text)
        try:
            data = json.loads(text)
        except ValueError:
            return event  # the core reported it as client.protocol_error
        if isinstance(data, dict):
            self.recorder.frame(mono, data)
        return event


async def _unless_failed(coro: Coroutine[Any, Any, T], failed: asyncio.Future[None]) -> T:
    """``coro``'s result, unless ``failed`` gets an exception first (then ``coro`` is cancelled
    and that exception raised)."""
    task: asyncio.Future[T] = asyncio.ensure_future(coro)
    waits: set[asyncio.Future[Any]] = {task, failed}
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise
    if not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        failed.result()  # raises its exception
    return task.result()


# ---- the runner --------------------------------------------------------------------------------


class RemoteRunner:
    """Runs :class:`RemoteJob` s against ``endpoint`` in real time (see the module docstring).

    ``endpoint``: an :class:`~realtime_widgets.client.auth.Endpoint` (e.g.
    ``Endpoint.openai("gpt-realtime")``, the key from ``OPENAI_API_KEY``), or a server URL such
    as ``LocalServer().url`` (each job then connects with its own model).
    ``concurrency``: sessions at once. ``rpm`` / ``tpm``: the :class:`RateBucket` (a job is one
    request of its estimated tokens). ``budget_usd``: refused before anything is sent when the
    :func:`estimate` is larger; during the run each job reserves its estimate before it
    starts, and a job that would pass the budget is not started (see the module docstring).
    ``skip_errors``: False raises the first error (after closing every session), True returns
    it in the job's slot. ``progress``: a :class:`Progress` (``SweepProgress``).
    ``timeout_s``: how long after its tail a job may wait for its turn and response to finish.
    ``tail_ms``: the silence after each clip (None: each job's own, :func:`job_tail_ms`). Each
    attempt also has a deadline (connect, clip, tail, ``timeout_s`` and a margin), past which
    it fails (:class:`RemoteTimeout`). ``max_retries`` /
    ``backoff_s``: retries after ``rate_limit_exceeded``, waiting ``backoff_s * 2**n`` plus up
    to half of that again (jitter) before retry ``n + 1``.

    Then call :meth:`run` (blocking; from a cell or a script) or ``await`` :meth:`arun`."""

    def __init__(
        self,
        endpoint: Endpoint | str,
        *,
        concurrency: int = 2,
        rpm: float | None = None,
        tpm: float | None = None,
        budget_usd: float | None = None,
        skip_errors: bool = False,
        progress: Progress | None = None,
        timeout_s: float = 30.0,
        tail_ms: float | None = None,
        chunk_ms: float = 20.0,
        reply_s: float = REPLY_S,
        max_retries: int = 4,
        backoff_s: float = 1.0,
        connect_timeout_s: float = 20.0,
        prices: dict[str, dict[str, float]] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        problems = []
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            problems.append(
                FieldProblem("concurrency", f"concurrency must be an int >= 1, got {concurrency!r}")
            )
        if not 20 <= chunk_ms <= 40:
            problems.append(
                FieldProblem("chunk_ms", f"chunk_ms must be between 20 and 40, got {chunk_ms!r}")
            )
        if budget_usd is not None and not budget_usd > 0:
            problems.append(
                FieldProblem("budget_usd", f"budget_usd must be > 0 or None, got {budget_usd!r}")
            )
        for name, value in (
            ("timeout_s", timeout_s),
            ("tail_ms", 0.0 if tail_ms is None else tail_ms),
            ("backoff_s", backoff_s),
        ):
            if not value >= 0:
                problems.append(FieldProblem(name, f"{name} must be >= 0, got {value!r}"))
        if max_retries < 0:
            problems.append(
                FieldProblem("max_retries", f"max_retries must be >= 0, got {max_retries!r}")
            )
        if problems:
            raise ConfigError(problems)
        self.endpoint = endpoint
        self.concurrency = concurrency
        self.bucket = RateBucket(rpm, tpm)
        self.budget_usd = budget_usd
        self.skip_errors = skip_errors
        self.progress = progress
        self.timeout_s = timeout_s
        self.tail_ms = tail_ms
        self.chunk_ms = chunk_ms
        self.reply_s = reply_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.connect_timeout_s = connect_timeout_s
        self.prices = PRICES if prices is None else prices
        self._rng = rng or random.Random()
        self._live: dict[str, _StreamSession] = {}  # the open session of each running job
        self._spent = 0.0  # the cost of the sessions already closed
        self._reserved: dict[str, float] = {}  # each running job's estimate

    def __repr__(self) -> str:
        where = self.endpoint.display if isinstance(self.endpoint, Endpoint) else self.endpoint
        return f"RemoteRunner({where!r}, concurrency={self.concurrency})"

    def estimate(self, jobs: Sequence[RemoteJob], *, model: str | None = None) -> Estimate:
        """:func:`estimate` with this runner's concurrency, tail, rates and prices."""
        return estimate(
            jobs,
            model=model,
            concurrency=self.concurrency,
            tail_ms=self.tail_ms,
            reply_s=self.reply_s,
            rpm=self.bucket.rpm,
            tpm=self.bucket.tpm,
            prices=self.prices,
        )

    def tail_of(self, config: SessionConfig) -> float:
        """The silence this runner streams after a clip with ``config`` (:func:`job_tail_ms`)."""
        return job_tail_ms(config, self.tail_ms, self.reply_s)

    @property
    def spent_usd(self) -> float:
        """Dollars so far: the closed sessions' cost and the open ones' cost so far."""
        return self._spent + sum(s.cost or 0.0 for s in self._live.values())

    @property
    def committed_usd(self) -> float:
        """The spend so far plus what the running jobs are expected to add: each running job
        counts the larger of its estimate and its open session's cost so far."""
        extra = 0.0
        for key, reserved in self._reserved.items():
            session = self._live.get(key)
            cost = (session.cost or 0.0) if session is not None else 0.0
            extra += max(reserved - cost, 0.0)
        return self.spent_usd + extra

    # ---- running --------------------------------------------------------------------------

    def run(self, jobs: Iterable[RemoteJob]) -> list[Timeline | Exception]:
        """Run the jobs (blocking) on the sessions' I/O loop; results in job order. An
        interrupt (KeyboardInterrupt) cancels the run, and its sessions close."""
        io = BackgroundLoop.acquire()
        try:
            if io.in_loop_thread():
                raise RuntimeError("run() blocks: on the sessions' I/O loop, await arun() instead")
            future = io.submit(self.arun(jobs))
            try:
                return future.result()
            except BaseException:
                future.cancel()
                raise
        finally:
            io.release()

    async def arun(self, jobs: Iterable[RemoteJob]) -> list[Timeline | Exception]:
        """Run the jobs; results in job order (see the class docstring). Runs on the I/O loop
        (where the sessions' listeners run), so the progress is touched from one thread."""
        io = BackgroundLoop.acquire()
        try:
            return await io.run_async(self._run(list(jobs)))
        finally:
            io.release()

    async def _run(self, jobs: list[RemoteJob]) -> list[Timeline | Exception]:
        keys = [job.key for job in jobs]
        if len(set(keys)) != len(keys):
            dup = next(k for k in keys if keys.count(k) > 1)
            raise ConfigError(
                [FieldProblem("jobs.key", f"job keys must be unique; {dup!r} repeats")]
            )
        est = self.estimate(jobs)
        if self.budget_usd is not None and est.usd > self.budget_usd:
            raise ConfigError(
                [
                    FieldProblem(
                        "budget_usd",
                        f"budget_usd ${self.budget_usd:.6f} is below the estimate for "
                        f"{len(jobs)} jobs: {est}; raise the budget or run fewer jobs",
                    )
                ]
            )
        tokens = [_job_usage(job.clip, self.reply_s).tokens for job in jobs]
        for n in tokens:
            self.bucket.check(n)
        costs = [self.estimate([job]).usd for job in jobs]
        results: list[Timeline | Exception | None] = [None] * len(jobs)
        self._spent = 0.0
        self._reserved = {}
        if self.progress is not None:
            self.progress.start(len(jobs), estimate_usd=est.usd)
        slots = asyncio.Semaphore(self.concurrency)
        first_error: asyncio.Future[Exception] = asyncio.get_running_loop().create_future()
        tasks: list[asyncio.Task[None]] = []

        def failed(i: int, exc: Exception) -> None:
            results[i] = exc
            if self.progress is not None:
                self.progress.job_finished(jobs[i].key, ok=False)
            if not self.skip_errors and not first_error.done():
                first_error.set_result(exc)

        async def one(i: int) -> None:
            try:
                timeline = await self._job(jobs[i], tokens[i])
                results[i] = timeline
                if self.progress is not None:
                    spend = timeline.cost_usd or 0.0
                    self.progress.job_finished(jobs[i].key, ok=True, spend_usd=spend)
            except Exception as exc:
                failed(i, exc)
            finally:
                self._reserved.pop(jobs[i].key, None)  # its cost is in the spend now
                slots.release()

        try:
            for i, job in enumerate(jobs):
                if not await _unless_done(slots.acquire(), first_error):
                    break
                if first_error.done():
                    slots.release()
                    break
                if not await _unless_done(self.bucket.acquire(tokens[i]), first_error):
                    slots.release()
                    break
                committed = self.committed_usd
                if self.budget_usd is not None and committed + costs[i] > self.budget_usd:
                    slots.release()
                    failed(
                        i,
                        BudgetReached(
                            f"job {job.key!r} not started: ${self.spent_usd:.6f} spent, "
                            f"${committed - self.spent_usd:.6f} reserved by running jobs and "
                            f"its estimate ${costs[i]:.6f} would pass budget_usd "
                            f"${self.budget_usd:.6f}"
                        ),
                    )
                    continue
                self._reserved[job.key] = costs[i]
                if self.progress is not None:
                    self.progress.job_started(job.key)
                tasks.append(asyncio.create_task(one(i), name=f"remote-job-{job.key}"))
            pending: set[asyncio.Future[Any]] = set(tasks)
            while pending and not first_error.done():
                _, pending = await asyncio.wait(
                    pending | {first_error}, return_when=asyncio.FIRST_COMPLETED
                )
                pending.discard(first_error)
        finally:
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
        if first_error.done():
            raise first_error.result()
        return [r if r is not None else BudgetReached("not run") for r in results]

    async def _job(self, job: RemoteJob, tokens: int) -> Timeline:
        """One job, retried after ``rate_limit_exceeded`` (the bucket is asked again)."""
        for attempt in range(self.max_retries + 1):
            if attempt:
                await self.bucket.acquire(tokens)
            try:
                timeline = await self._attempt(job)
            except ServerError as exc:
                if exc.code != RATE_LIMITED or attempt == self.max_retries:
                    raise
                delay = self.backoff_s * 2**attempt
                await asyncio.sleep(delay + self._rng.uniform(0, delay / 2))
                continue
            timeline.attempts = attempt + 1
            return timeline
        raise AssertionError("unreachable")  # pragma: no cover

    def _endpoint_for(self, config: SessionConfig) -> Endpoint:
        if isinstance(self.endpoint, Endpoint):
            return self.endpoint
        return Endpoint.local(self.endpoint, config.model)

    def deadline_s(self, job: RemoteJob) -> float:
        """How long one attempt of ``job`` may take: connecting, the clip and its tail in real
        time, ``timeout_s`` to settle, and a margin."""
        stream_s = (job.clip.duration_ms + self.tail_of(job.config)) / 1000
        return self.connect_timeout_s + stream_s + self.timeout_s + DEADLINE_SLACK_S

    async def _attempt(self, job: RemoteJob) -> Timeline:
        limit = self.deadline_s(job)
        try:
            async with asyncio.timeout(limit):
                return await self._attempt_once(job)
        except TimeoutError as exc:
            if isinstance(exc, RemoteTimeout):
                raise
            raise RemoteTimeout(
                f"job {job.key!r}: not finished within its deadline of {limit:.1f} s "
                "(connect, clip, tail, settle and margin)"
            ) from exc

    async def _attempt_once(self, job: RemoteJob) -> Timeline:
        config = job.config.with_changes(output_modalities=["audio"], tools=[])
        failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        failed.add_done_callback(lambda f: f.exception())  # retrieved: never "never retrieved"
        rec = _Recorder(config, failed)
        session = _StreamSession(
            config,
            endpoint=self._endpoint_for(config),
            reconnect=False,
            timeout=self.connect_timeout_s,
            prices=self.prices,
        )
        session.recorder = rec
        rec.session = session
        session.on(
            "session.disconnected",
            lambda e: rec.fail(
                ServerError(
                    f"job {job.key!r}: {getattr(e, 'message', 'disconnected')}",
                    code="connection_lost",
                )
            ),
        )
        self._live[job.key] = session
        tail_ms = self.tail_of(job.config)
        wall_start = wall_end = 0.0
        try:
            await _unless_failed(session.aconnect(), failed)
            await _unless_failed(self._stream(session, rec, job, tail_ms), failed)
            wall_start = rec.t0 or 0.0
            await _unless_failed(self._settle(rec, job), failed)
            wall_end = time.monotonic()
        finally:
            self._live.pop(job.key, None)
            cost = session.cost
            self._spent += cost or 0.0
            await session.aclose()
        return Timeline(
            rec.timeline(),
            key=job.key,
            wall_start=wall_start,
            wall_end=wall_end,
            cost_usd=cost,
            truncations=rec.truncations,
            tail_ms=tail_ms,
        )

    async def _stream(
        self, session: _StreamSession, rec: _Recorder, job: RemoteJob, tail_ms: float
    ) -> None:
        """The clip then the tail, chunk ``k`` at ``t0 + k * chunk_ms`` (drift-free); each
        append may wait at most :data:`APPEND_TIMEOUT_S` for the socket."""
        tail = np.zeros(round(tail_ms * RATE / 1000), np.int16)
        audio = np.concatenate([job.clip.samples, tail])
        step = round(self.chunk_ms * RATE / 1000)
        period = step / RATE
        rec.t0 = t0 = time.monotonic()
        for k, start in enumerate(range(0, len(audio), step)):
            delay = t0 + k * period - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                async with asyncio.timeout(APPEND_TIMEOUT_S):
                    await session.aappend_audio(audio[start : start + step])
            except TimeoutError as exc:
                raise RemoteTimeout(
                    f"job {job.key!r}: an audio append at {start * 1000 / RATE:.0f} ms waited "
                    f"more than {APPEND_TIMEOUT_S:g} s for the connection"
                ) from exc
        delay = t0 + len(audio) / RATE - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)  # the tail has streamed when its last sample's time came

    async def _settle(self, rec: _Recorder, job: RemoteJob) -> None:
        """Wait (up to ``timeout_s``) until nothing is in progress."""
        deadline = time.monotonic() + self.timeout_s
        while rec.busy():
            if time.monotonic() >= deadline:
                what = (
                    "a response" if rec.session and rec.session.state.active_response
                    else "the user's turn" if rec.user_speaking
                    else "a committed turn's response"
                )  # fmt: skip
                raise RemoteTimeout(
                    f"job {job.key!r}: {what} was still in progress {self.timeout_s:g} s "
                    "after the tail streamed"
                )
            await asyncio.sleep(0.02)


async def _unless_done(coro: Coroutine[Any, Any, Any], done: asyncio.Future[Any]) -> bool:
    """Await ``coro`` unless ``done`` completes first (then ``coro`` is cancelled); whether
    ``coro`` finished."""
    task: asyncio.Future[Any] = asyncio.ensure_future(coro)
    try:
        await asyncio.wait({task, done}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    if task.cancelled():
        return False
    task.result()
    return True
