"""Waveform: envelopes of what was sent and received, and markers, on one session clock."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import wave as wave_module
from pathlib import Path

import numpy as np
import pytest

from realtime_widgets import SessionConfig
from realtime_widgets.client import Endpoint, RealtimeSession
from realtime_widgets.protocol import events as ev
from realtime_widgets.server.app import LocalServer
from realtime_widgets.widgets import waveform
from realtime_widgets.widgets.waveform import Waveform
from tests.speech import Clip
from tests.waiting import eventually


def test_envelopes_and_vad_markers_of_a_spoken_turn(three_turns: Clip) -> None:
    server = LocalServer(pace=0).start()
    s = RealtimeSession(SessionConfig(), endpoint=Endpoint.local(server.url, "m"))
    try:
        s.connect()
        wave = Waveform(s)
        turn = three_turns.samples[: int((three_turns.truth[0][1] + 900) * 24)]
        mark = s.mark()
        s.append_audio(turn)
        s.wait_for("response.done", timeout=60, since=mark)

        def flushed() -> bool:  # the waveform pushes in batches at ~20 Hz
            items = [i for content, _ in wave.comm.custom() for i in content["items"]]
            return any(i.get("type") == "env" and i.get("track") == "out" for i in items) and any(
                i.get("type") == "marker" and i.get("kind") == "response_done" for i in items
            )

        eventually(flushed, 10)
        msgs = wave.comm.custom()
        items = [i for content, _ in msgs for i in content["items"]]
        buffers = [b for _, bufs in msgs for b in bufs]
        envs = [i for i in items if i["type"] == "env"]
        assert len(envs) == len(buffers)
        in_bins = sum(len(b) // 4 for i, b in zip(envs, buffers, strict=True) if i["track"] == "in")
        assert in_bins == len(turn) // 240  # one [min, max] pair per 10 ms sent
        out_envs = [i for i in envs if i["track"] == "out"]
        assert out_envs
        # The reply sits on the session clock where its first delta arrived (it plays then).
        first_delta = next(e.t for e in s.events if e.type == "response.output_audio.delta")
        assert abs(out_envs[0]["start"] * 10 - first_delta * 1000) <= 200
        # The turn's markers sit where the speech they mark was drawn.
        in_start = min(i["start"] for i in envs if i["track"] == "in") * 10
        markers = {i["kind"]: i["ms"] for i in items if i["type"] == "marker"}
        assert abs(markers["speech_started"] - in_start - (three_turns.truth[0][0] - 300)) <= 40
        assert abs(markers["speech_stopped"] - in_start - (three_turns.truth[0][1] + 500)) <= 40
        assert {"committed", "response_start", "response_done"} <= set(markers)
        # Batched: far fewer messages than envelope pieces.
        assert wave.messages_sent < len(items)
        first = np.frombuffer(buffers[0], "<i2").reshape(-1, 2)
        assert (first[:, 0] <= first[:, 1]).all()
    finally:
        s.close()
        server.stop()


def test_a_view_shown_late_gets_the_whole_history_in_one_snapshot() -> None:
    now = [1.0]
    wave = Waveform(clock=lambda: now[0])
    rng = np.random.default_rng(3)
    first = rng.integers(-9000, 9000, 24000, dtype=np.int16)  # 1 s: 100 bins
    wave.add_input(first)  # sent at 1 s: captured over 0-1 s
    wave.marker("speech_started", 120.0, "speech")
    now[0] = 1.5
    wave.add_input(first[:12000])  # 0.5 s more, contiguous with the first second
    wave.add_output(first[:4800], "item_a")  # 0.2 s of reply, arriving (and playing) at 1.5 s
    sent = wave.comm.custom()
    assert len(sent) >= 3  # (no running loop here: each piece went out at once)

    wave._on_browser(wave, {"type": "hello", "view": "late"}, [])
    snapshot, buffers = wave.comm.custom()[-1]
    assert (snapshot["type"], snapshot["view"]) == ("snapshot", "late")
    envs = [i for i in snapshot["items"] if i["type"] == "env"]
    # Each track's contiguous bins come merged: one buffer per run.
    assert [(i["track"], i["start"]) for i in envs] == [("in", 0), ("out", 150)]
    assert [len(b) // 4 for b in buffers] == [150, 20]
    live_in = b"".join(
        b
        for m, bs in sent
        for i, b in zip([i for i in m["items"] if i["type"] == "env"], bs, strict=True)
        if i["track"] == "in"
    )
    assert buffers[0] == live_in  # the same bins the live views got
    markers = [i for i in snapshot["items"] if i["type"] == "marker"]
    assert markers == [
        {"type": "marker", "id": 1, "kind": "speech_started", "ms": 120.0, "label": "speech"}
    ]
    # every marker has its own id (the view adds each once, live or from a snapshot)
    wave.marker("committed", 1500.0, "commit")
    assert wave.comm.custom()[-1][0]["items"][-1]["id"] == 2

    # Anything but a well-formed hello is ignored.
    count = len(wave.comm.custom())
    wave._on_browser(wave, {"type": "hello"}, [])
    wave._on_browser(wave, {"type": "other", "view": "x"}, [])
    assert len(wave.comm.custom()) == count


def test_the_history_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waveform, "HISTORY_BYTES", 4000)
    monkeypatch.setattr(waveform, "MAX_MARKERS", 5)
    wave = Waveform()
    for k in range(10):
        wave.add_input(np.full(24000, 1000, np.int16))  # 100 bins = 400 bytes each
        wave.marker("committed", k * 1000.0, "commit")
    snapshot, buffers = wave.history_message()
    kept = sum(len(b) for b in buffers)
    assert 3000 <= kept <= 4000  # the newest bins within the cap
    assert snapshot["items"][0]["start"] == 1000 - kept // 4  # the oldest were dropped
    assert [m["ms"] for m in snapshot["items"] if m["type"] == "marker"] == [
        5000.0,
        6000.0,
        7000.0,
        8000.0,
        9000.0,
    ]


def test_an_hour_of_microphone_chunks_is_kept_as_one_run() -> None:
    """An hour of 40 ms chunks (4 bins each) grows one bytearray in place: no list of pieces
    to re-copy per chunk, and a snapshot is one buffer of exactly the bins."""
    wave = Waveform()
    for _ in range(90_000):
        wave._history.add({"type": "env", "track": "in", "start": wave.in_bins}, b"\0" * 16)
        wave.in_bins += 4
    snapshot, buffers = wave.history_message()
    assert len(buffers) == 1
    assert len(buffers[0]) == 90_000 * 16  # 1.4 MB of bins for an hour
    assert snapshot["items"] == [{"type": "env", "track": "in", "start": 0}]


class Clock:
    """The session clock of a test: seconds, set by the test."""

    def __init__(self) -> None:
        self.s = 0.0

    def __call__(self) -> float:
        return self.s


def sent_items(wave: Waveform) -> list[dict[str, object]]:
    return [i for content, _ in wave.comm.custom() for i in content.get("items", [])]


def speak(wave: Waveform, clock: Clock, at_s: float, seconds: float, level: int = 6000) -> None:
    """The microphone: 40 ms chunks, each sent when it was captured."""
    for k in range(round(seconds / 0.04)):
        clock.s = at_s + (k + 1) * 0.04
        wave._add_input(np.full(960, level, np.int16), 24000)


def reply(wave: Waveform, clock: Clock, item: str, at_s: float, seconds: float) -> None:
    """The model's audio: 100 ms deltas arriving ten times faster than real time."""
    for k in range(round(seconds / 0.1)):
        clock.s = at_s + k * 0.01
        wave._add_output(np.full(2400, -4000, np.int16), item)


def test_a_typed_turn_and_its_reply_keep_the_microphone_and_markers_on_the_session_clock() -> None:
    """Issue 23, item 2: after a typed turn's reply the old waveform drew the microphone where
    the input lane had stopped (2 s), behind the reply, and a barge-in's cut ~10 s away."""
    clock = Clock()
    wave = Waveform(clock=clock)
    speak(wave, clock, 1.0, 2.0)  # the user speaks at 1-3 s
    clock.s = 5.0  # then types a message
    wave._on_event(
        ev.ConversationItemAdded(
            item=ev.Item(
                type="message",
                role="user",
                content=[
                    {
                        "type": "input_text",
                        "text": "What is the weather like in Paris today, and tomorrow?",
                    }
                ],
            )
        )
    )
    clock.s = 5.2
    wave._on_event(ev.ResponseCreated(response=ev.Response(id="r1")))
    reply(wave, clock, "a1", 5.5, 3.0)  # its 3 s reply arrives at 5.5 s: plays 5.5-8.5 s
    clock.s = 5.9
    wave._on_event(
        ev.ResponseDone(
            response=ev.Response(
                id="r1", status="completed", output=[{"id": "a1", "type": "message"}]
            )
        )
    )
    speak(wave, clock, 12.0, 2.0)  # then speaks again at 12-14 s
    clock.s = 14.1
    wave._on_event(ev.SpeechStarted(audio_start_ms=2000 + 300, item_id="u2"))  # 0.3 s into it
    wave._on_event(ev.SpeechStopped(audio_end_ms=2000 + 1700, item_id="u2"))
    reply(wave, clock, "a2", 14.5, 3.0)  # the answer: 14.5-17.5 s
    speak(wave, clock, 15.5, 1.0)  # the user barges in at 15.5 s
    clock.s = 15.6
    wave._on_event(ev.SpeechStarted(audio_start_ms=4000 + 0, item_id="u3"))
    wave._on_event(ev.ConversationItemTruncated(item_id="a2", audio_end_ms=1000))  # heard 1 s
    wave._on_event(ev.ResponseDone(response=ev.Response(id="r2", status="cancelled")))
    reply(wave, clock, "a2", 15.7, 0.3)  # in flight when cut: dropped too

    items = sent_items(wave)
    envs = [i for i in items if i["type"] == "env"]
    in_starts = [i["start"] for i in envs if i["track"] == "in"]
    out_starts = [i["start"] for i in envs if i["track"] == "out"]
    # the microphone lane: 1-3 s, 12-14 s, 15.5-16.5 s (bins of 10 ms), not 3-5-6 s
    assert in_starts[0] == 100
    assert in_starts[49] == 296
    assert in_starts[50] == 1200
    assert in_starts[100] == 1550
    assert wave.in_bins == 1650
    # the replies where they played: 5.5 s and 14.5 s, whatever the microphone did
    assert out_starts[0] == 550
    assert out_starts[30] == 1450
    markers = {(m["kind"], m["label"]): m["ms"] for m in items if m["type"] == "marker"}
    typed = "typed: What is the weather like in Paris today\u2026"
    assert markers[("typed", typed)] == pytest.approx(5000)
    assert [m.get("short") for m in items if m.get("kind") == "typed"] == ["typed"]
    assert markers[("response_start", "reply")] == pytest.approx(5200)
    assert markers[("response_done", "completed")] == pytest.approx(8500)  # its audio's end
    speech = sorted(m["ms"] for m in items if m.get("kind") == "speech_started")
    assert speech == [pytest.approx(12_300), pytest.approx(15_500)]
    assert markers[("speech_stopped", "end")] == pytest.approx(13_700)
    assert markers[("truncated", "cut at 1.0 s")] == pytest.approx(15_500)  # at the barge-in
    assert markers[("response_done", "cancelled")] == pytest.approx(15_600)
    # what was received past the cut is a dropped span: to 17.5 s, then 17.8 s with the rest
    spans = [i for i in items if i["type"] == "span"]
    assert {s["id"] for s in spans} == {spans[0]["id"]}
    assert (spans[0]["from_ms"], spans[0]["to_ms"]) == (
        pytest.approx(15_500),
        pytest.approx(17_500),
    )
    assert (spans[-1]["from_ms"], spans[-1]["to_ms"]) == (
        pytest.approx(15_500),
        pytest.approx(17_800),
    )
    assert spans[-1]["kind"] == "dropped"
    assert spans[-1]["item"] == "a2"
    # the batches say where the clock is, for the view's live edge
    assert wave.comm.custom()[-1][0]["now_ms"] == pytest.approx(15_700 + 20)

    # the conversation's WAV: the user left, the replies right, the second cut at 15.5 s
    data = wave.conversation_wav()
    with wave_module.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getframerate()) == (2, 24000)
        frames = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2)
    left, right = frames[:, 0] != 0, frames[:, 1] != 0
    at = lambda s: round(s * 24000)  # noqa: E731
    assert left[at(1.0) : at(3.0)].all()
    assert not left[at(3.0) : at(12.0)].any()
    assert left[at(12.0) : at(14.0)].all()
    assert left[at(15.5) : at(16.5)].all()
    assert right[at(5.5) : at(8.5)].all()
    assert not right[at(8.5) : at(14.5)].any()
    assert right[at(14.5) : at(15.5)].all()
    assert not right[at(15.5) :].any()
    # and a view's button asks for it: the WAV goes to that view only, as one buffer
    wave._on_browser(wave, {"type": "wav", "view": "v1"}, [])
    content, buffers = wave.comm.custom()[-1]
    assert content == {"type": "wav", "view": "v1"}
    assert buffers == [data]


def test_a_typed_label_keeps_whole_first_words() -> None:
    assert waveform.typed_label("hello   there") == "typed: hello there"
    assert waveform.typed_label("a" * 50) == "typed: " + "a" * 40 + "\u2026"
    assert waveform.typed_label("one, two three", limit=9) == "typed: one, two\u2026"
    assert waveform.typed_label("one, two three", limit=6) == "typed: one\u2026"


def test_a_replay_at_once_draws_on_the_recording_clock(tmp_path: Path) -> None:
    """A replay (here at once: speed 0) places replies and markers at their recorded times."""
    audio = base64.b64encode(np.full(12000, 3000, "<i2").tobytes()).decode()  # 0.5 s

    def delta(item: str) -> dict[str, object]:
        return {
            "type": "response.output_audio.delta",
            "event_id": f"e_{item}",
            "response_id": "r",
            "item_id": item,
            "output_index": 0,
            "content_index": 0,
            "delta": audio,
        }

    rows = [
        {
            "t": 2.5,
            "dir": "in",
            "event": {"type": "response.created", "event_id": "e0", "response": {"id": "r"}},
        },
        {"t": 3.0, "dir": "in", "event": delta("a")},
        {"t": 8.0, "dir": "in", "event": delta("b")},
    ]
    path = tmp_path / "run.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    replayed = RealtimeSession.replay(path, speed=0)
    try:
        wave = Waveform(replayed)
        replayed.play()
        eventually(lambda: len(sent_items(wave)) == 3, 10)  # (sent in batches)
        items = sent_items(wave)
    finally:
        replayed.close()
    assert [i["start"] for i in items if i["type"] == "env"] == [300, 800]
    assert [i["ms"] for i in items if i["type"] == "marker"] == [2500.0]


def drawn_lane(wave: Waveform, track: str = "in") -> np.ndarray:
    """The lane a view draws from everything sent (waveform.js ``applyItems``: bins at their
    start, a cut forgets the bins from its ``from`` on): max per bin, 0 where none."""
    lane = np.zeros(0, np.int16)
    for content, buffers in wave.comm.custom():
        data = iter(buffers)
        for item in content.get("items", []):
            if item["type"] == "env":
                pairs = np.frombuffer(next(data), "<i2")
                if item["track"] != track:
                    continue
                start, n = int(item["start"]), len(pairs) // 2
                lane = np.pad(lane, (0, max(0, start + n - len(lane))))
                lane[start : start + n] = pairs[1::2]
            elif item["type"] == "cut" and item["track"] == track:
                lane = lane[: int(item["from"])]
    return lane


def test_a_kernel_stall_leaves_the_you_lane_on_the_clock() -> None:
    """Review of issue 23: after a 1 s stall the 50 queued 20 ms chunks arrive at once; the
    burst's first chunk sat at now - 20 ms and the others after it, so the "you" lane ran
    980 ms ahead of the clock for good (a hands-free microphone never pauses)."""
    clock = Clock()
    wave = Waveform(clock=clock)
    level = 0

    def chunk() -> None:
        nonlocal level
        level += 1
        wave._add_input(np.full(480, level, np.int16), 24000)

    for k in range(250):  # 5 s hands-free, each chunk as it was captured
        clock.s = (k + 1) * 0.02
        chunk()
    clock.s = 6.0  # a 1 s stall, then its 50 chunks at once
    for _ in range(50):
        chunk()
        assert wave.in_bins * 10 <= wave.now_ms() + wave.timeline.join_ms
    for k in range(50):  # and 1 s more as captured
        clock.s = 6.0 + (k + 1) * 0.02
        chunk()
    assert wave.in_bins == 700  # the lane ends at the clock (7 s), not 980 ms after it
    lane = drawn_lane(wave)
    assert len(lane) == 700
    # each chunk's audio is drawn where it was captured: chunk k (level k) at bins 2k-2, 2k-1
    assert (lane == np.repeat(np.arange(1, 351), 2)).all()
    # a speech marker 10 ms into the burst's 11th chunk lands on that chunk's audio
    wave._on_event(ev.SpeechStarted(audio_start_ms=5000 + 200 + 10, item_id="u1"))
    marker = [i for i in sent_items(wave) if i.get("kind") == "speech_started"][-1]
    assert marker["ms"] == pytest.approx(5210)
    assert lane[round(marker["ms"] / 10)] == 261
    # a view shown late gets the same lane: one run of the bins where they now are
    snapshot, buffers = wave.history_message()
    runs = [i for i in snapshot["items"] if i["type"] == "env" and i["track"] == "in"]
    assert [r["start"] for r in runs] == [0]
    assert (np.frombuffer(buffers[0], "<i2")[1::2] == lane).all()


def test_a_burst_within_one_batch_is_sent_once() -> None:
    """On the loop a burst's moves happen before the batch leaves: the bins replaced are not
    sent (one cut, then each bin once)."""
    clock = Clock()

    async def run() -> Waveform:
        wave = Waveform(clock=clock)
        clock.s = 2.0
        for _ in range(50):
            wave._add_input(np.full(480, 1000, np.int16), 24000)
        await asyncio.sleep(waveform.FLUSH_S * 3)
        return wave

    wave = asyncio.run(run())
    (content, _), *rest = wave.comm.custom()
    assert rest == []
    assert [i["type"] for i in content["items"]].count("cut") == 1
    starts = [i["start"] for i in content["items"] if i["type"] == "env"]
    assert sorted(starts) == [100 + 2 * k for k in range(50)]  # 1-2 s, each chunk once
    assert (drawn_lane(wave) == np.r_[np.zeros(100), np.full(100, 1000)]).all()


def test_a_growing_dropped_span_is_kept_once_and_pending_turns_are_bounded() -> None:
    clock = Clock()
    wave = Waveform(clock=clock)
    reply(wave, clock, "a1", 1.0, 1.0)
    wave._on_event(ev.ConversationItemTruncated(item_id="a1", audio_end_ms=300))
    for k in range(200):  # 200 deltas in flight after the cut: the span is sent again each
        clock.s = 1.2 + k * 0.001
        wave._add_output(np.full(240, -4000, np.int16), "a1")
    snapshot, _ = wave.history_message()
    spans = [i for i in snapshot["items"] if i["type"] == "span"]
    assert len(spans) == 1  # replaced by id, not 201 copies pushing markers out
    assert (spans[0]["from_ms"], spans[0]["to_ms"]) == (pytest.approx(1300), pytest.approx(4000))
    # speech that never gets a commit, and cut items, are bounded
    for k in range(3 * waveform.MAX_PENDING):
        wave._on_event(ev.SpeechStopped(audio_end_ms=10, item_id=f"u{k}"))
        wave._on_event(ev.ConversationItemTruncated(item_id=f"x{k}", audio_end_ms=0))
    assert len(wave._turn_end) == waveform.MAX_PENDING
    assert len(wave._dropped_ids) <= waveform.MAX_PENDING


def test_the_wav_is_built_off_the_session_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building 10 minutes took 348 ms on the loop, which sent no audio meanwhile: the loop
    only copies the chunk lists, another thread builds the WAV, and the loop sends it."""
    built_on: list[bool] = []
    real = waveform.__dict__.get("stereo_wav")

    def build(recording: object) -> bytes:
        try:
            asyncio.get_running_loop()
            built_on.append(True)
        except RuntimeError:
            built_on.append(False)
        return real(recording) if real is not None else b""

    monkeypatch.setattr(waveform, "stereo_wav", build, raising=False)
    monkeypatch.setattr(
        waveform.ConversationTimeline,
        "wav",
        lambda tl: build(tl.recording()) if hasattr(tl, "recording") else build(None),
    )
    clock = Clock()

    async def run() -> Waveform:
        wave = Waveform(clock=clock)
        speak(wave, clock, 0.0, 0.4)
        wave.handle_browser({"type": "wav", "view": "v1"}, [], 0.0)
        for _ in range(200):
            if any(c.get("type") == "wav" for c, _ in wave.comm.custom()):
                break
            await asyncio.sleep(0.01)
        return wave

    wave = asyncio.run(run())
    assert built_on == [False]  # not on the loop
    content, buffers = next(m for m in wave.comm.custom() if m[0].get("type") == "wav")
    assert content == {"type": "wav", "view": "v1"}
    with wave_module.open(io.BytesIO(buffers[0])) as w:
        assert (w.getnchannels(), w.getnframes()) == (2, 400 * 24)
