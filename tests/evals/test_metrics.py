"""The turn-taking metrics on hand-built timelines whose answers are known: each metric, where
its span starts and ends, and the edge cases (a decision just before a hold ends, a cancel
with nothing queued, no spans of a kind)."""

from __future__ import annotations

import base64
import pickle
from typing import Any

import numpy as np
import pytest

from realtime_widgets.evals.clip import RATE, Clip, Span
from realtime_widgets.evals.metrics import (
    AUDIBLE,
    BACKCHANNEL_WINDOW_MS,
    BOUNDARY_MS,
    METRICS,
    ClipMeasures,
    measure,
    summarize,
)
from realtime_widgets.evals.runs import ClipRun, from_timeline

TONE = (8000 * np.sin(np.arange(RATE * 10) * 2 * np.pi * 220 / RATE)).astype(np.int16)
TONE[np.abs(TONE) < AUDIBLE] = AUDIBLE  # audible at every sample: stop times are exact


def clip(spans: list[Span], ms: float = 8000, cid: str = "c") -> Clip:
    return Clip(cid, np.zeros(int(ms * RATE / 1000), np.int16), tuple(spans))


def delta(rid: str, samples: np.ndarray) -> dict[str, Any]:
    data = base64.b64encode(np.asarray(samples, "<i2").tobytes()).decode()
    return {"type": "response.output_audio.delta", "response_id": rid, "delta": data}


def reply(at: float, rid: str, ms: float, lead_ms: float = 0) -> list[tuple[float, dict[str, Any]]]:
    """A reply's audio arriving whole at ``at`` (``lead_ms`` of silence, then tone)."""
    n = int(ms * RATE / 1000)
    samples = TONE[:n].copy()
    samples[: int(lead_ms * RATE / 1000)] = 0
    return [(at, {"type": "response.created", "response": {"id": rid}}), (at, delta(rid, samples))]


def started(at: float, item: str, audio_start: float) -> tuple[float, dict[str, Any]]:
    return (at, {"type": "input_audio_buffer.speech_started", "item_id": item,
                 "audio_start_ms": audio_start})  # fmt: skip


def stopped(
    at: float, item: str, audio_end: float | None = None
) -> list[tuple[float, dict[str, Any]]]:
    end = at if audio_end is None else audio_end
    return [
        (at, {"type": "input_audio_buffer.speech_stopped", "item_id": item, "audio_end_ms": end}),
        (at, {"type": "input_audio_buffer.committed", "item_id": item}),
    ]


def done(at: float, rid: str, status: str) -> tuple[float, dict[str, Any]]:
    return (at, {"type": "response.done", "response": {"id": rid, "status": status}})


def run(
    c: Clip, events: list[tuple[float, dict[str, Any]]], duration_ms: float | None = None
) -> ClipRun:
    return from_timeline(c, sorted(events, key=lambda p: p[0]), duration_ms=duration_ms)


def test_false_cutoff_counts_a_decision_just_before_the_hold_ends_not_at_its_end() -> None:
    c = clip([Span(1000, 1600, "hold"), Span(3000, 3600, "hold"), Span(5000, 5600, "hold")])
    # the turn ended (audio_end_ms) 1 ms before speech resumes; at the very ms it resumes;
    # and in the speech before the third hold, farther back than the boundary tolerance
    before = 5000 - BOUNDARY_MS - 1
    events = [*stopped(1599, "a", 1599), *stopped(3600, "b", 3600), *stopped(before, "c", before)]
    m = measure(run(c, events))
    assert m.hold_cut == [True, False, False]
    s = summarize([m])
    assert s["false_cutoff_rate"] == pytest.approx(1 / 3)
    assert s["n_hold"] == 3


def test_a_cutoff_said_after_the_hold_ended_is_placed_by_its_audio_end() -> None:
    # vk5qi-holds: speech resumes at 6290, a detector hears it at 6340; a server that ended the
    # turn at 6210 of the input audio says so at 6320, after the hold, before speech_started
    c = clip([Span(5390, 6290, "hold"), Span(7000, 8000, "eot")])
    lagging = run(c, [*stopped(6320, "a", 6210), started(6340, "b", 5960)])
    assert measure(lagging).hold_cut == [True]
    # a turn end the server put in the hold, said once the eot span had begun, is the hold's
    # cut and not the eot's decision
    late = run(c, [*stopped(7100, "a", 6000)])
    m = measure(late)
    assert (m.hold_cut, m.eot_decided, m.eot_latency_ms) == ([True], [False], [])


def test_the_boundary_tolerance_and_the_fallback_to_emission_time() -> None:
    c = clip([Span(1000, 1600, "hold"), Span(3000, 3600, "hold")])
    edge = 1000 - BOUNDARY_MS
    events = [*stopped(edge, "a", edge), *stopped(2999, "b", 2999 - BOUNDARY_MS)]
    assert measure(run(c, events)).hold_cut == [True, False]

    def bare(at: float) -> tuple[float, dict[str, Any]]:  # a peer that sends no audio_end_ms
        return (at, {"type": "input_audio_buffer.speech_stopped", "item_id": "x"})

    # placed at its emission time, without the tolerance: inside the first hold; just before
    # the second one
    assert measure(run(c, [bare(1599), bare(2999)])).hold_cut == [True, False]
    malformed = [(1599, {"type": "input_audio_buffer.speech_stopped", "audio_end_ms": "1599"})]
    assert measure(run(c, malformed)).hold_cut == [True, False]


def test_eot_latency_is_emission_time_even_when_said_after_the_next_speech() -> None:
    c = clip([Span(1000, 2000, "eot"), Span(2000, 3000, "speech"), Span(3000, 8000, "eot")])
    # the turn ended at 1700 of the input audio; the event came at 2100, after speech resumed
    events = [*stopped(2100, "a", 1700), *stopped(3450, "b", 3400)]
    m = measure(run(c, events))
    assert m.eot_decided == [True, True]
    assert m.eot_latency_ms == [1100, 450]


def test_eot_latency_is_stream_time_from_the_true_end_and_the_last_runs_into_the_tail() -> None:
    c = clip([Span(1000, 3000, "eot"), Span(4000, 5000, "eot"), Span(6000, 8000, "eot")])
    # audio_end_ms says the speech ended at 1000: the decision is still timed when it was sent
    events = [*stopped(1400, "a", 1000), *stopped(8600, "c", 6000)]
    m = measure(run(c, events, duration_ms=10_000))
    assert m.eot_decided == [True, False, True]
    assert m.eot_latency_ms == [400, 2600]
    s = summarize([m])
    assert s["missed_eot_rate"] == pytest.approx(1 / 3)
    assert s["eot_latency_ms_p50"] == pytest.approx(1500)
    assert s["eot_latency_ms_p90"] == pytest.approx(400 + 0.9 * 2200)
    assert s["n_eot"] == 3


def test_ttfa_is_measured_from_the_audio_not_from_the_events() -> None:
    c = clip([Span(1000, 5000, "eot")])
    # the reply's first delta comes at 1500 but its first 300 ms are digital silence
    events = [*stopped(1400, "a"), *reply(1500, "r1", 1000, lead_ms=300)]
    s = summarize([measure(run(c, events))])
    assert s["ttfa_ms_p50"] == pytest.approx(800)


def test_ttfa_skips_a_reply_still_playing_at_the_speech_end() -> None:
    c = clip([Span(1000, 6000, "eot")])
    events = [*reply(500, "r0", 1000), *stopped(1400, "a"), *reply(2500, "r1", 1000)]
    m = measure(run(c, events))
    assert m.ttfa_ms == [pytest.approx(1500)]


def test_false_barge_in_counts_stops_within_the_backchannel_and_its_window() -> None:
    spans = [Span(2000, 2300, "backchannel")]
    stopped_by_it = run(clip(spans, cid="a"), [*reply(1000, "r", 3000), started(2100, "u", 2000)])
    late = 2300 + BACKCHANNEL_WINDOW_MS + 100
    later = run(clip(spans, cid="b"), [*reply(1000, "r", 3000), started(late, "u", 2000)])
    kept = run(clip(spans, cid="c"), [*reply(1000, "r", 3000)])
    silent = run(clip(spans, cid="d"), [*reply(2500, "r", 1000), started(2600, "u", 2000)])
    ms = [measure(r) for r in (stopped_by_it, later, kept, silent)]
    assert [m.backchannel_stopped for m in ms] == [[True], [False], [False], []]
    s = summarize(ms)
    assert s["false_barge_in_rate"] == pytest.approx(1 / 3)
    assert s["n_backchannel"] == 3  # the one while the agent was silent is not scored
    # the cut is in the audio: nothing of the reply plays after the speech_started
    assert not stopped_by_it.agent[int(2.1 * RATE) :].any()
    assert stopped_by_it.agent[int(2.09 * RATE)] != 0


def test_a_cancel_with_nothing_queued_stops_the_reply_without_touching_the_audio() -> None:
    c = clip([Span(1800, 2100, "backchannel")])
    # 1000 ms of reply arrived at 1000 (all played by 2000); the server cancels it at 2050
    events = [*reply(1000, "r", 1000), done(2050, "r", "cancelled")]
    r = run(c, events)
    assert r.plays[0].stopped_ms == 2050
    assert r.plays[0].stop == "cancelled"
    assert np.array_equal(r.agent[int(1.0 * RATE) : int(2.0 * RATE)], TONE[:RATE])
    assert measure(r).backchannel_stopped == [True]
    # a cancelled response that never sent audio plays nothing and changes nothing
    alone = run(clip([]), [(500, {"type": "response.created"}), done(600, "x", "cancelled")])
    assert alone.plays == []
    assert not alone.agent.any()


def test_cancel_drops_only_the_audio_not_yet_played() -> None:
    events = [*reply(1000, "r", 3000), done(1500, "r", "cancelled")]
    r = run(clip([]), events)
    assert r.agent[int(1.0 * RATE) : int(1.5 * RATE)].all()
    assert not r.agent[int(1.5 * RATE) :].any()
    assert r.plays[0].end_ms == 1500
    assert r.plays[0].sent_ms == 3000


def test_talk_over_and_barge_in_stop_time() -> None:
    spans = [Span(2000, 3000, "barge_in")]
    stops = run(clip(spans, cid="a"), [*reply(1000, "r", 4000), started(2200, "u", 1900)])
    talks = run(clip(spans, cid="b"), [*reply(1000, "r", 4000), started(3500, "u", 1900)])
    ended = run(clip(spans, cid="c"), [*reply(1000, "r", 1500)])  # over at 2500, by itself
    cancel = run(clip(spans, cid="d"), [*reply(1000, "r", 4000), done(2400, "r", "cancelled")])
    ms = [measure(r) for r in (stops, talks, ended, cancel)]
    # a reply that ran out inside the span was not stopped: the agent talked on to its end
    assert [m.barge_in_stopped for m in ms] == [[True], [False], [False], [True]]
    assert [m.barge_in_stop_ms for m in ms] == [[pytest.approx(200)], [], [], [pytest.approx(400)]]
    s = summarize(ms)
    assert s["talk_over_rate"] == pytest.approx(2 / 4)
    assert s["barge_in_stop_ms_p50"] == pytest.approx(300)
    assert s["n_barge_in"] == 4


def test_a_reply_that_plays_out_inside_the_barge_in_is_talk_over() -> None:
    # the agent plays its whole reply (1000-2290, as the built-in suite's default reply would)
    # through a barge-in from 2000 to 3000, and the server never stops it
    c = clip([Span(2000, 3000, "barge_in")])
    m = measure(run(c, [*reply(1000, "r", 1290), started(2500, "u", 2000)]))
    assert m.barge_in_stopped == [False]
    assert m.barge_in_stop_ms == []
    s = summarize([m])
    assert s["talk_over_rate"] == 1.0
    assert s["barge_in_stop_ms_p50"] is None


def test_a_reply_ending_by_itself_during_a_backchannel_is_not_a_false_barge_in() -> None:
    spans = [Span(2000, 2300, "backchannel")]
    # ends at 2200, inside the backchannel; then a speech_started with nothing left to stop
    ends = run(clip(spans, cid="a"), [*reply(1000, "r", 1200), started(2350, "u", 2000)])
    assert ends.plays[0].stopped_ms is None
    # ends at 2600, inside the window after it, the next reply's stop is not this one's
    after = run(
        clip(spans, cid="b"),
        [*reply(1000, "r", 1600), *reply(2700, "r2", 1000), started(2750, "u", 2000)],
    )
    assert [p.stopped_ms for p in after.plays] == [None, 2750]
    ms = [measure(r) for r in (ends, after)]
    assert [m.backchannel_stopped for m in ms] == [[False], [False]]
    assert summarize(ms)["false_barge_in_rate"] == 0.0


def test_a_delta_arriving_while_audio_is_queued_plays_after_it() -> None:
    events = [*reply(1000, "r", 500), (1100, delta("r", TONE[: RATE // 2]))]
    r = run(clip([]), events)
    assert r.plays[0].start_ms == 1000
    assert r.plays[0].end_ms == 2000
    assert r.agent[int(1.0 * RATE) : int(2.0 * RATE)].all()


def test_fragmentation_counts_commits_overlapping_each_labelled_turn() -> None:
    spans = [
        Span(1000, 2000, "speech"),
        Span(2000, 2600, "hold"),
        Span(2600, 3500, "speech"),
        Span(3500, 5000, "eot"),
        Span(5000, 6000, "speech"),
        Span(6000, 8000, "eot"),
    ]
    events = [
        started(1050, "a", 700), *stopped(2300, "a", 2000),
        started(2650, "b", 2300), *stopped(3800, "b", 3500),
    ]  # fmt: skip
    m = measure(run(clip(spans), sorted(events, key=lambda p: p[0])))
    assert m.fragments == [2, 0]
    assert summarize([m])["fragmentation"] == pytest.approx(1.0)


def test_no_spans_gives_none_and_zero_counts() -> None:
    s = summarize([measure(run(clip([]), []))])
    assert set(METRICS) <= set(s)
    assert all(s[name] is None for name in METRICS)
    assert (s["n_hold"], s["n_eot"], s["n_backchannel"], s["n_barge_in"]) == (0, 0, 0, 0)
    assert summarize([]) == s


def test_measures_pool_across_clips_and_pickle() -> None:
    a = ClipMeasures("a", "h", {"x": 1}, hold_cut=[True], eot_latency_ms=[100.0])
    b = ClipMeasures("b", "h", {"x": 1}, hold_cut=[False, False], eot_latency_ms=[300.0])
    s = summarize(pickle.loads(pickle.dumps([a, b])))
    assert s["false_cutoff_rate"] == pytest.approx(1 / 3)
    assert s["eot_latency_ms_p50"] == pytest.approx(200)
    assert s["n_hold"] == 3
