"""RemoteRunner against real peers on 127.0.0.1: the LocalServer in real time, and scripted
WebSocket peers (rate limits, rejections, usage) that need no real-time audio to say what they
test. No OpenAI (no key here). Also the pure parts: the estimate, the rate bucket on a fake
clock, the player model and the progress widget's counts."""

from __future__ import annotations

import base64
import json
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from websockets.asyncio.server import ServerConnection

from realtime_widgets.client.auth import Endpoint
from realtime_widgets.errors import ConfigError, ServerError
from realtime_widgets.evals import remote as remote_module
from realtime_widgets.evals.clip import Clip, Span
from realtime_widgets.evals.progress import SweepProgress
from realtime_widgets.evals.remote import (
    REPLY_S,
    BudgetReached,
    RateBucket,
    RemoteJob,
    RemoteRunner,
    RemoteTimeout,
    Timeline,
    estimate,
    job_tail_ms,
)
from realtime_widgets.evals.runs import ClientPlayer, tail_for
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.events import parse_server_event
from realtime_widgets.protocol.parts import SemanticVad, ServerVad
from realtime_widgets.server.app import LocalServer
from realtime_widgets.server.reply.responder import ReplyContext
from tests.client.conftest import ThreadPeer
from tests.speech import recorded_clip
from tests.waiting import eventually

CONFIG = SessionConfig(model="gpt-realtime", turn_detection=ServerVad(silence_duration_ms=500))


def silent_clip(clip_id: str, ms: int = 200) -> Clip:
    return Clip(clip_id, np.zeros(ms * 24, np.int16), (Span(0, ms, "eot"),))


def spoken_clip(clip_id: str, texts: list[str], voices: list[str], gap_ms: int) -> Clip:
    """Real recorded utterances after 300 ms of silence, with their speech and eot spans."""
    rec = recorded_clip(texts, voices, gap_ms=gap_ms, lead_ms=300)
    spans = [Span(a, b, "speech") for a, b in rec.truth]
    end = len(rec.samples) / 24
    spans.append(Span(rec.truth[-1][1], end, "eot"))
    return Clip(clip_id, rec.samples, tuple(spans), meta={"synthetic": True, "source": "eSpeak"})


def test_the_runner_loads_no_widget_library() -> None:
    """evals is pure: only evals/progress.py is a widget, and the runner does not import it
    (a progress is passed in)."""
    code = (
        "import sys, realtime_widgets.evals.remote\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('anywidget', 'ipywidgets', 'traitlets') or m == 'realtime_widgets.evals.progress'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---- the estimate, by hand --------------------------------------------------------------------


def two_jobs() -> list[RemoteJob]:
    one = Clip(
        "one", np.zeros(2000 * 24, np.int16), (Span(0, 1500, "speech"), Span(1500, 2000, "eot"))
    )
    two = Clip(
        "two",
        np.zeros(4000 * 24, np.int16),
        (Span(0, 1000, "speech"), Span(1000, 1500, "eot"), Span(1500, 3000, "speech"),
         Span(3000, 4000, "eot")),
    )  # fmt: skip
    return [RemoteJob("a", one, CONFIG), RemoteJob("b", two, CONFIG)]


def test_estimate_prices_new_and_cached_audio_and_lays_jobs_on_lanes() -> None:
    jobs = two_jobs()
    est = estimate(jobs, concurrency=1, tail_ms=1000, reply_s=2.0, connect_s=1.0)
    # a: one response at 1500 ms: 15 new input tokens (1 per 100 ms), 40 out (2 s, 1 per 50 ms).
    # b: at 1000 ms: 10 new, 40 out; at 3000 ms: 20 new, cached 10 (earlier user audio) + 20
    #    (the first reply's 2 s re-read as input), 40 out.
    assert (est.input_tokens, est.cached_tokens, est.output_tokens) == (75, 30, 120)
    # gpt-realtime: audio in $32, cached audio in $0.40, audio out $64 per 1M tokens.
    assert est.usd == pytest.approx((45 * 32 + 30 * 0.4 + 120 * 64) / 1e6)
    assert est.seconds == pytest.approx((1 + 2 + 1) + (1 + 4 + 1))  # one lane: one after another
    assert estimate(jobs, concurrency=2, tail_ms=1000, reply_s=2.0).seconds == pytest.approx(6)
    mini = estimate(jobs, model="gpt-realtime-mini", tail_ms=1000, reply_s=2.0)
    assert mini.usd == pytest.approx((45 * 10 + 30 * 0.3 + 120 * 20) / 1e6)
    # 3 jobs at 1 request a minute: the bucket holds 1, the other 2 wait a minute each.
    three = [*jobs, RemoteJob("c", jobs[0].clip, CONFIG)]
    assert estimate(three, rpm=1, tail_ms=1000).seconds == pytest.approx(120)
    with pytest.raises(ConfigError) as err:
        estimate(jobs, model="gpt-nothing")
    assert err.value.field == "model"
    assert "gpt-realtime-mini" in str(err.value)


# ---- the rate bucket on a fake clock ----------------------------------------------------------


def test_rate_bucket_waits_for_requests_and_tokens() -> None:
    now = [0.0]
    bucket = RateBucket(rpm=2, tpm=100, clock=lambda: now[0])
    assert bucket.wait_s(60) == 0
    bucket.take(60)  # 1 request and 40 tokens left
    assert bucket.wait_s(60) == pytest.approx(12.0)  # 20 tokens short at 100 a minute
    now[0] = 12.0
    assert bucket.wait_s(60) == 0
    bucket.take(60)  # requests 1 + 12 s x 2/min = 1.4 -> 0.4; tokens 40 + 20 -> 0
    assert bucket.wait_s(0) == pytest.approx(18.0)  # 0.6 request at 2 a minute
    assert bucket.wait_s(100) == pytest.approx(60.0)  # a full token bucket takes a minute
    now[0] = 1000.0
    assert bucket.wait_s(100) == 0  # refilled, never beyond its size
    bucket.take(100)
    assert bucket.wait_s(1) == pytest.approx(0.6)
    with pytest.raises(ConfigError) as err:
        bucket.wait_s(101)  # can never fit
    assert err.value.field == "tpm"
    assert RateBucket().wait_s(10**9) == 0  # unlimited
    with pytest.raises(ConfigError):
        RateBucket(rpm=0)


# ---- the player model --------------------------------------------------------------------------


SPEECH = {"type": "input_audio_buffer.speech_started"}


def _delta(item_id: str, ms: int) -> dict[str, Any]:
    """``ms`` of PCM 24 kHz reply audio of ``item_id`` (its response: ``resp_`` + ``item_id``)."""
    data = base64.b64encode(np.zeros(ms * 24, np.int16).tobytes()).decode()
    return {
        "type": "response.output_audio.delta",
        "response_id": f"resp_{item_id}",
        "item_id": item_id,
        "delta": data,
    }


def test_player_queues_deltas_and_truncates_what_was_played_at_a_barge_in() -> None:
    """The runner's player (the evals' one, fed each event on arrival) asks for a truncate of
    what really played."""
    p = ClientPlayer()
    assert p.feed(0, _delta("item_a", 1000)) == []
    p.feed(100, _delta("item_a", 500))  # plays after the first: 1000..1500
    assert p.queued_end_ms == 1500
    assert p.played_ms("item_a", 1200) == 1200
    assert p.feed(700, SPEECH) == [("item_a", 700)]
    assert not p.audible(701)
    p.feed(800, _delta("item_a", 200))  # the cut item's later audio is not played
    assert p.queued_end_ms == 700
    assert p.feed(900, SPEECH) == []  # nothing audible: no truncate
    # audio queued but not yet started when the user speaks: stopped, nothing to truncate
    p.feed(2000, _delta("item_b", 300))
    p.feed(2000, _delta("item_c", 300))  # queued behind item_b, 2300..2600
    assert p.feed(2100, SPEECH) == [("item_b", 100)]
    assert p.played_ms("item_c", 3000) == 0
    # a cancelled response drops what was not played (the server knows: no truncate)
    p.feed(4000, _delta("item_d", 1000))
    done = {"type": "response.done", "response": {"id": "resp_item_d", "status": "cancelled"}}
    assert p.feed(4250, done) == []
    assert p.queued_end_ms == 4250
    assert p.played_ms("item_d", 9999) == 250
    stops = {q.response_id: (q.stopped_ms, q.stop) for q in p.playback().plays}
    assert stops == {
        "resp_item_a": (700, "speech_started"),
        "resp_item_b": (2100, "speech_started"),
        "resp_item_c": (2100, "speech_started"),
        "resp_item_d": (4250, "cancelled"),
    }


# ---- the progress widget ----------------------------------------------------------------------


def test_sweep_progress_counts_eta_and_spend_from_one_thread() -> None:
    now = [100.0]
    progress = SweepProgress(clock=lambda: now[0])
    progress.start(4, estimate_usd=0.05)
    progress.job_started("a")
    progress.job_started("b")
    assert (progress.running, progress.eta_s) == (2, None)
    now[0] = 110.0
    progress.job_finished("a", ok=True, spend_usd=0.01)
    assert progress.eta_s == pytest.approx(30.0)  # 10 s a job, 3 left
    progress.job_finished("c", ok=False)  # never started (e.g. over budget)
    assert (progress.done, progress.failed, progress.running) == (1, 1, 1)
    assert progress.eta_s == pytest.approx(10.0)  # 5 s a job, 2 left
    assert progress.summary() == (
        "1/4 done, 1 failed, 1 running, ETA 10 s, $0.0100 spent of ~$0.0500 estimated"
    )
    errors: list[BaseException] = []

    def elsewhere() -> None:
        try:
            progress.job_finished("b", ok=True)
        except RuntimeError as exc:
            errors.append(exc)

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert len(errors) == 1
    assert "one thread" in str(errors[0])
    assert progress.running == 1


# ---- scripted peers ----------------------------------------------------------------------------

Behaviour = Callable[[ServerConnection, "ScriptedPeer"], Any]


class ScriptedPeer(ThreadPeer):
    """A WebSocket peer on 127.0.0.1 (its own loop thread); connection ``n`` is answered by
    ``behaviours[min(n, last)]``. Records when each connection opened and when it closed."""

    def __init__(self, *behaviours: Behaviour) -> None:
        super().__init__(self._handler)
        self.behaviours = behaviours
        self.opened: list[float] = []
        self.closed: list[float] = []
        self.marks: list[float] = []  # when a behaviour said its piece (e.g. the error)

    async def _handler(self, ws: ServerConnection) -> None:
        n = len(self.opened)
        self.opened.append(time.monotonic())
        try:
            await self.behaviours[min(n, len(self.behaviours) - 1)](ws, self)
        finally:
            self.closed.append(time.monotonic())

    def __enter__(self) -> ScriptedPeer:
        super().__enter__()
        return self


def _event(kind: str, **fields: Any) -> str:
    return json.dumps({"type": kind, "event_id": f"evt_{kind}", **fields})


CREATED = _event(
    "session.created", session={"type": "realtime", "id": "sess_1", "model": "gpt-realtime"}
)


async def accept(
    ws: ServerConnection, peer: ScriptedPeer, usage: dict[str, Any] | None = None
) -> None:
    """A session that applies every update and ignores audio (no VAD: nothing to answer)."""
    await ws.send(CREATED)
    async for message in ws:
        event = json.loads(message)
        if event["type"] == "session.update":
            session = {**event["session"], "id": "sess_1", "model": "gpt-realtime"}
            await ws.send(_event("session.updated", session=session))
            if usage is not None:  # a paid response, to spend the budget
                response = {
                    "id": "resp_1",
                    "object": "realtime.response",
                    "status": "in_progress",
                    "output": [],
                }
                await ws.send(_event("response.created", response=response))
                done = {**response, "status": "completed", "usage": usage}
                await ws.send(_event("response.done", response=done))


async def paid(ws: ServerConnection, peer: ScriptedPeer) -> None:
    usage = {
        "total_tokens": 1000,
        "input_tokens": 0,
        "output_tokens": 1000,
        "input_token_details": {"text_tokens": 0, "audio_tokens": 0, "cached_tokens": 0},
        "output_token_details": {"text_tokens": 0, "audio_tokens": 1000},
    }
    await accept(ws, peer, usage)


def by_model(**behaviours: Behaviour) -> Behaviour:
    """The behaviour named by the model in the URL (``gpt_realtime_mini`` for gpt-realtime-mini)."""

    async def handler(ws: ServerConnection, peer: ScriptedPeer) -> None:
        assert ws.request is not None
        model = ws.request.path.partition("model=")[2].split("&")[0]
        await behaviours[model.replace("-", "_")](ws, peer)

    return handler


def erring(code: str) -> Behaviour:
    """A session that answers its first update with an ``error`` of ``code``."""

    async def handler(ws: ServerConnection, peer: ScriptedPeer) -> None:
        await ws.send(CREATED)
        async for message in ws:
            event = json.loads(message)
            if event["type"] == "session.update":
                error = {"type": "invalid_request_error", "code": code, "message": f"said {code}"}
                if code != "rate_limit_exceeded":  # rate limits come unasked, no event_id
                    error["event_id"] = event.get("event_id")
                peer.marks.append(time.monotonic())
                await ws.send(_event("error", error=error))

    return handler


def test_rate_limit_exceeded_is_retried_after_a_backoff() -> None:
    progress = SweepProgress()
    with ScriptedPeer(erring("rate_limit_exceeded"), erring("rate_limit_exceeded"), accept) as peer:
        runner = RemoteRunner(
            peer.url, concurrency=1, tail_ms=100, backoff_s=0.1, progress=progress
        )
        [result] = runner.run([RemoteJob("j", silent_clip("c"), CONFIG)])
        assert isinstance(result, Timeline)
        assert result.attempts == 3
        assert len(peer.opened) == 3
        # each retry came after its backoff (0.1 s, then 0.2 s, plus jitter): never sooner
        assert peer.opened[1] - peer.marks[0] >= 0.1
        assert peer.opened[2] - peer.marks[1] >= 0.2
        eventually(lambda: len(peer.closed) == 3, 10)  # every attempt's session was closed
    assert [e["type"] for _, e in result] == ["session.created", "session.updated"]
    assert (progress.done, progress.failed, progress.running) == (1, 0, 0)
    again = pickle.loads(pickle.dumps(result))  # results travel (executors, caches)
    assert (again, again.key, again.attempts) == (result, "j", 3)

    with ScriptedPeer(erring("rate_limit_exceeded")) as peer:
        runner = RemoteRunner(peer.url, tail_ms=100, backoff_s=0.01, max_retries=1)
        with pytest.raises(ServerError) as err:
            runner.run([RemoteJob("j", silent_clip("c"), CONFIG)])
        assert err.value.code == "rate_limit_exceeded"
        assert len(peer.opened) == 2  # one try and one retry


def test_skip_errors_returns_the_error_in_its_slot_or_raises_after_closing_everything() -> None:
    jobs = [
        RemoteJob("bad", silent_clip("c1"), CONFIG),
        RemoteJob("good", silent_clip("c2"), CONFIG),
    ]
    key = "sk-test-DO-NOT-SHOW-0123456789"
    with ScriptedPeer(erring("invalid_value"), accept) as peer:
        endpoint = Endpoint.local(peer.url, "gpt-realtime", token=key)
        runner = RemoteRunner(endpoint, concurrency=1, tail_ms=100, skip_errors=True)
        bad, good = runner.run(jobs)
        assert isinstance(bad, ServerError)
        assert bad.code == "invalid_value"
        assert isinstance(good, Timeline)
        assert good.key == "good"
        assert key not in repr(runner) + str(bad) + repr(bad)

    # skip_errors=False: the first error is raised; the other session (streaming 3 s of tail
    # when the error comes) is closed first
    progress = SweepProgress()
    mini = SessionConfig(model="gpt-realtime-mini", turn_detection=ServerVad())
    peer_does = by_model(gpt_realtime=accept, gpt_realtime_mini=erring("invalid_value"))
    with ScriptedPeer(peer_does) as peer:
        runner = RemoteRunner(peer.url, concurrency=2, tail_ms=3000, progress=progress)
        long_job = RemoteJob("long", silent_clip("c1"), CONFIG)
        with pytest.raises(ServerError) as err:
            runner.run([long_job, RemoteJob("bad", silent_clip("c2"), mini)])
        assert err.value.code == "invalid_value"
        assert len(peer.opened) == 2
        eventually(lambda: len(peer.closed) == 2, 10)
    assert progress.failed == 1


def test_budget_below_the_estimate_refuses_before_connecting() -> None:
    with ScriptedPeer(accept) as peer:
        runner = RemoteRunner(peer.url, budget_usd=1e-6)
        jobs = [RemoteJob("j", silent_clip("c", 1000), CONFIG)]
        est = runner.estimate(jobs)
        with pytest.raises(ConfigError) as err:
            runner.run(jobs)
        assert err.value.field == "budget_usd"
        assert f"${est.usd:.6f}" in str(err.value)  # the estimate, said
        assert "budget_usd $0.000001" in str(err.value)  # and the budget
        assert peer.opened == []


def test_spend_reaching_the_budget_stops_new_jobs() -> None:
    jobs = [RemoteJob(f"j{i}", silent_clip(f"c{i}"), CONFIG) for i in range(3)]
    with ScriptedPeer(paid) as peer:
        # estimate: 2 input tokens a job and no reply: $0.000064 each, under the budget; the
        # peer's response bills 1000 audio output tokens ($0.064) and spends it at once
        runner = RemoteRunner(
            peer.url, concurrency=1, tail_ms=100, reply_s=0.0, budget_usd=0.01, skip_errors=True
        )
        assert runner.estimate(jobs).usd < 0.01
        first, second, third = runner.run(jobs)
        assert isinstance(first, Timeline)
        assert first.cost_usd == pytest.approx(0.064)
        assert isinstance(second, BudgetReached)
        assert isinstance(third, BudgetReached)
        assert "j1" in str(second)
        assert len(peer.opened) == 1


def test_each_job_gets_the_tail_its_configuration_needs() -> None:
    patient = SessionConfig(
        model="gpt-realtime", turn_detection=SemanticVad(eagerness="low", create_response=True)
    )
    slow = SessionConfig(model="gpt-realtime", turn_detection=ServerVad(silence_duration_ms=4000))
    for config in (CONFIG, patient, slow):
        assert job_tail_ms(config) == tail_for(config, REPLY_S * 1000)
        assert job_tail_ms(config, 1234) == 1234.0  # an explicit tail wins
        job = RemoteJob("j", silent_clip("c", 1000), config)
        # the estimate's time is the clip and that same tail
        assert estimate([job], connect_s=0.0).seconds == pytest.approx(
            (1000 + tail_for(config, REPLY_S * 1000)) / 1000
        )
    # the configurations that wait longer get more silence than the old fixed 2 s
    assert job_tail_ms(patient) > 2000
    assert job_tail_ms(slow) > job_tail_ms(CONFIG)


def counting_audio(got: list[int]) -> Behaviour:
    """:func:`accept`, noting the samples of every audio append."""

    async def handler(ws: ServerConnection, peer: ScriptedPeer) -> None:
        await ws.send(CREATED)
        async for message in ws:
            event = json.loads(message)
            if event["type"] == "session.update":
                session = {**event["session"], "id": "sess_1", "model": "gpt-realtime"}
                await ws.send(_event("session.updated", session=session))
            elif event["type"] == "input_audio_buffer.append":
                got.append(len(base64.b64decode(event["audio"])) // 2)

    return handler


def test_a_job_streams_its_configurations_tail() -> None:
    quick = SessionConfig(
        model="gpt-realtime",
        turn_detection=ServerVad(silence_duration_ms=200, prefix_padding_ms=0),
    )
    got: list[int] = []
    with ScriptedPeer(counting_audio(got)) as peer:
        runner = RemoteRunner(peer.url, concurrency=1, reply_s=0.0)
        tail = tail_for(quick, 0.0)
        assert runner.tail_of(quick) == tail == 1200
        [result] = runner.run([RemoteJob("j", silent_clip("c", 200), quick)])
    assert isinstance(result, Timeline)
    assert result.tail_ms == tail
    assert sum(got) == (200 + tail) * 24  # the clip, then exactly that tail


def test_running_jobs_reserve_their_estimates_against_the_budget() -> None:
    # j0 (gpt-realtime-mini, unbilled) is estimated at $0.02 and still streaming when j1 (billed
    # $0.064 at once) ends; j2 would then take the spend past the $0.08 budget once j0 costs
    # what it is expected to: it is not started, though the spend alone ($0.064) is below it
    free = {"text_in": 0.0, "cached_in": 0.0, "audio_in": 0.0, "text_out": 0.0, "audio_out": 0.0}
    prices = {
        "gpt-realtime": {**free, "audio_out": 64.0},
        "gpt-realtime-mini": {**free, "audio_in": 1000.0},
    }
    mini = SessionConfig(model="gpt-realtime-mini", turn_detection=ServerVad())
    quiet = Clip("long", np.zeros(2000 * 24, np.int16), ())
    jobs = [
        RemoteJob("j0", quiet, mini),
        RemoteJob("j1", silent_clip("c1"), CONFIG),
        RemoteJob("j2", Clip("c2", np.zeros(200 * 24, np.int16), ()), mini),
    ]
    progress = SweepProgress()
    with ScriptedPeer(by_model(gpt_realtime=paid, gpt_realtime_mini=accept)) as peer:
        runner = RemoteRunner(
            peer.url,
            concurrency=2,
            tail_ms=100,
            reply_s=0.0,
            budget_usd=0.08,
            skip_errors=True,
            prices=prices,
            progress=progress,
        )
        costs = [runner.estimate([job]).usd for job in jobs]
        assert costs == pytest.approx([0.02, 0.0, 0.002])
        assert runner.estimate(jobs).usd < 0.08  # the whole run is estimated under budget
        first, second, third = runner.run(jobs)
        assert len(peer.opened) == 2
    assert isinstance(first, Timeline)
    assert isinstance(second, Timeline)
    assert second.cost_usd == pytest.approx(0.064)
    assert isinstance(third, BudgetReached)
    assert "j2" in str(third)
    assert "reserved" in str(third)
    assert runner.spent_usd == pytest.approx(0.064)
    assert runner.spent_usd <= 0.08
    assert (progress.done, progress.failed) == (2, 1)


def test_an_attempt_past_its_deadline_fails_with_a_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    job = RemoteJob("j", silent_clip("c", 200), CONFIG)
    with ScriptedPeer(accept) as peer:
        runner = RemoteRunner(peer.url, tail_ms=100, timeout_s=0.0, connect_timeout_s=5.0)
        assert runner.deadline_s(job) == pytest.approx(5.0 + 0.3 + 0.0 + 10.0)
        # a deadline shorter than the stream itself: the attempt is cut off there
        monkeypatch.setattr(remote_module, "DEADLINE_SLACK_S", -5.2)
        with pytest.raises(RemoteTimeout, match="deadline"):
            runner.run([job])
        eventually(lambda: len(peer.closed) == 1, 10)  # and its session was closed


# ---- the LocalServer in real time -------------------------------------------------------------


def short_reply(ctx: ReplyContext) -> str:
    """About 1.5 s of speech (long enough to be talked over), then "OK." (a short wait)."""
    said = any(item.get("role") == "assistant" for item in ctx.conversation)
    return "OK." if said else "Sure, I can help with that."


@pytest.fixture(scope="module")
def realtime_server() -> Iterator[LocalServer]:
    server = LocalServer(responder=short_reply, speech="espeak", transcriber=None).start()
    yield server
    server.stop()


def check_timeline(timeline: Timeline, clip: Clip) -> None:
    for _, event in timeline:
        parse_server_event(json.dumps(event))  # as the server sent it: every event validates
    times = [t for t, _ in timeline]
    assert times == sorted(times)
    types = [e["type"] for _, e in timeline]
    assert types[0] == "session.created"
    assert times[0] < 0  # before the first sample was sent
    speech_end = clip.of("speech")[-1].end_ms
    stopped = [t for t, e in timeline if e["type"] == "input_audio_buffer.speech_stopped"]
    assert stopped
    assert stopped[0] > speech_end  # stream ms: the decision lands after the true end
    # ... and the server's own audio clock agrees with ours (within the chunk and a pass)
    ends = [
        e["audio_end_ms"] for _, e in timeline if e["type"] == "input_audio_buffer.speech_stopped"
    ]
    assert ends[0] <= stopped[0] + 40
    assert "response.output_audio.delta" in types
    assert types.count("response.done") >= 1
    assert timeline.cost_usd is not None
    assert timeline.cost_usd > 0


@pytest.mark.slow
def test_two_jobs_against_the_local_server_in_real_time_overlap(
    realtime_server: LocalServer,
) -> None:
    clips = [
        spoken_clip("thanks", ["Thanks, that is all."], ["coral"], gap_ms=0),
        spoken_clip("seven", ["Seven"], ["cedar"], gap_ms=0),
    ]
    jobs = [RemoteJob(c.id, c, CONFIG) for c in clips]
    runner = RemoteRunner(realtime_server.url, concurrency=2, tail_ms=1200)
    results = runner.run(jobs)
    assert [r.key for r in results if isinstance(r, Timeline)] == ["thanks", "seven"]
    for timeline, clip in zip(results, clips, strict=True):
        assert isinstance(timeline, Timeline)
        check_timeline(timeline, clip)
    a, b = results
    assert isinstance(a, Timeline)
    assert isinstance(b, Timeline)
    assert b.wall_start < a.wall_end  # two sessions at once


@pytest.mark.slow
def test_one_at_a_time_and_a_barge_in_truncates_what_was_played(
    realtime_server: LocalServer,
) -> None:
    first = spoken_clip("seven", ["Seven"], ["cedar"], gap_ms=0)
    # "Yes", a pause the VAD ends the turn in, then speech over the reply
    barge = spoken_clip(
        "barge", ["Yes", "Please call me back tomorrow morning."], ["echo", "shimmer"], gap_ms=1300
    )
    jobs = [RemoteJob("seven", first, CONFIG), RemoteJob("barge", barge, CONFIG)]
    runner = RemoteRunner(realtime_server.url, concurrency=1, tail_ms=1200)
    a, b = runner.run(jobs)
    assert isinstance(a, Timeline)
    assert isinstance(b, Timeline)
    assert b.wall_start >= a.wall_end  # one after the other
    check_timeline(a, first)
    for _, event in b:
        parse_server_event(json.dumps(event))
    # the user spoke over the reply: the runner truncated the item at what had played, and the
    # server confirmed that very cut
    assert b.truncations, [e["type"] for _, e in b]
    t, item_id, played = b.truncations[0]
    second_speech = barge.of("speech")[1].start_ms
    assert t > second_speech
    assert played > 0
    truncated = [e for _, e in b if e["type"] == "conversation.item.truncated"]
    assert [(e["item_id"], e["audio_end_ms"]) for e in truncated][:1] == [(item_id, played)]
