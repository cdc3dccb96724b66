"""ConversationTimeline: both sides of a conversation on one session clock, and its stereo WAV."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest

from realtime_widgets.audio import conversation
from realtime_widgets.audio.conversation import ConversationTimeline

RATE = 24000


def tone(ms: float, level: int = 8000) -> np.ndarray:
    return np.full(round(ms * RATE / 1000), level, dtype=np.int16)


def stream(timeline: ConversationTimeline, t0_ms: float, total_ms: float, chunk_ms: float = 40):
    """A microphone: a chunk of ``chunk_ms`` arrives as soon as it was captured."""
    starts = []
    for k in range(round(total_ms / chunk_ms)):
        starts.append(timeline.add_input(tone(chunk_ms), t0_ms + (k + 1) * chunk_ms))
    return starts


def test_microphone_audio_sits_where_it_was_sent_with_the_gaps_kept() -> None:
    tl = ConversationTimeline()
    first = stream(tl, 1000, 2000)
    assert first[0] == pytest.approx(1000)  # captured over [1000, 1040], arrived at 1040
    assert first[-1] == pytest.approx(2960)  # contiguous
    # a typed turn: nothing from the microphone for 9 s, then it streams again
    second = stream(tl, 12_000, 1000)
    assert second[0] == pytest.approx(12_000)
    assert len(tl.input.runs) == 2  # two runs: the gap is kept
    # the server's input-audio times (they count the audio appended) map onto the clock
    assert tl.input_ms(500) == pytest.approx(1500)
    assert tl.input_ms(2300) == pytest.approx(12_300)


def test_late_and_bursty_chunks_stay_within_the_join_window_of_the_wall_clock() -> None:
    tl = ConversationTimeline(join_ms=250)
    # chunks 100 ms late: joined to the previous one (no 1-chunk gaps)
    a = tl.add_input(tone(40), 40)
    b = tl.add_input(tone(40), 180)
    assert (a, b) == (pytest.approx(0), pytest.approx(40))
    # a chunk 1 s late starts where the clock says it was captured
    c = tl.add_input(tone(40), 1300)
    assert c == pytest.approx(1260)
    # a burst of five arriving at once is one run, contiguous, moved back to end at the clock
    # (it used to start at 1560 and end 160 ms ahead of it)
    for _ in range(5):
        tl.add_input(tone(40), 1600)
        assert tl.input.end <= 1600 + 1e-6
    burst = [at for at, _ in list(tl._in_chunks)[-5:]]
    assert burst == pytest.approx([1400, 1440, 1480, 1520, 1560])
    # audio appended at once before its duration went by starts at 0, not before
    tl2 = ConversationTimeline()
    assert tl2.add_input(tone(3000), 100) == 0


def test_a_reply_plays_when_it_arrives_after_what_was_queued_and_a_cut_drops_the_rest() -> None:
    tl = ConversationTimeline()
    # 3 s of reply arriving within 300 ms: queued, contiguous from its arrival
    starts = [tl.add_output("a", tone(300), 5000 + 30 * k) for k in range(10)]
    assert starts[0] == 5000
    assert starts[-1] == pytest.approx(7700)
    assert tl.item_span("a") == (5000, pytest.approx(8000))
    # a second item queued behind the first, an underrun leaves a gap
    assert tl.add_output("b", tone(500), 5400) == pytest.approx(8000)
    assert tl.add_output("b", tone(500), 9000) == pytest.approx(9000)
    # a third reply, cut 1 s in: the rest is dropped, and the queue ends at the cut
    assert tl.add_output("c", tone(3000), 20_000) == 20_000
    heard, received = tl.truncate("c", 1000)  # type: ignore[misc]
    assert (heard, received) == (21_000, 23_000)
    assert tl.dropped("c") == (21_000, 23_000)
    assert tl.output_end == 21_000
    # audio of the cut item still in flight is dropped too: after what was received
    assert tl.add_output("c", tone(500), 21_100) == 23_000
    assert tl.dropped("c") == (21_000, 23_500)
    assert tl.output_end == 21_000
    # the next reply plays from when it arrives
    assert tl.add_output("d", tone(100), 21_200) == 21_200
    assert tl.truncate("nothing", 10) is None
    assert tl.dropped("a") is None
    assert tl.output_ms("b", 700) == pytest.approx(9200)  # past the underrun gap


def test_the_stereo_wav_has_the_user_left_and_the_heard_reply_right_on_the_clock() -> None:
    tl = ConversationTimeline()
    stream(tl, 1000, 1000)  # the user at 1-2 s
    tl.add_output("r", tone(2000, level=-5000), 3000)  # the reply at 3-5 s ...
    tl.truncate("r", 1500)  # ... heard to 4.5 s
    stream(tl, 6000, 500, chunk_ms=50)  # the user again at 6-6.5 s
    data = tl.wav()
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, RATE)
        frames = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2)
    assert len(frames) == 6500 * 24
    left, right = frames[:, 0], frames[:, 1]

    def ms_of(channel: np.ndarray) -> list[tuple[float, float]]:
        on = np.flatnonzero(np.diff(np.r_[0, (channel != 0).astype(int), 0]))
        return [(a / 24, b / 24) for a, b in on.reshape(-1, 2)]

    assert ms_of(left) == [(1000, 2000), (6000, 6500)]
    assert ms_of(right) == [(3000, 4500)]  # cut where it was cut: the dropped 0.5 s is not in it
    assert set(np.unique(left)) == {0, 8000}
    assert set(np.unique(right)) == {0, -5000}
    assert tl.stereo()[1] == 0  # from the session's start


def test_the_recording_is_bounded_to_the_last_keep_s() -> None:
    tl = ConversationTimeline(keep_s=2)
    stream(tl, 0, 5000, chunk_ms=500)
    frames, start = tl.stereo()
    assert start == 3000
    assert len(frames) == 2 * RATE
    assert (frames[:, 0] == 8000).all()
    assert tl._kept["in"] <= 2 * RATE
    assert tl.input_ms(4000) == pytest.approx(4000)  # the recent mapping is kept
    with pytest.raises(ValueError, match="keep_s must be > 0"):
        ConversationTimeline(keep_s=0)
    with pytest.raises(ValueError, match="join_ms must be >= 0"):
        ConversationTimeline(join_ms=-1)
    assert ConversationTimeline().stereo()[0].shape == (0, 2)


def test_a_stall_and_its_burst_never_leave_the_input_ahead_of_the_clock() -> None:
    """A kernel stall: 1 s of 20 ms chunks queued, then all at once. The burst's first chunk
    used to sit at ``now - 20 ms`` and the 49 others after it: the input ran 980 ms ahead of
    the clock for good (1980 ms after a second stall), and replies placed at ``now`` were drawn
    before the user's speech ended."""
    tl = ConversationTimeline(join_ms=250)
    level = iter(range(1, 10_000))
    now = 0.0
    for _ in range(250):  # 5 s hands-free, each chunk as it was captured
        now += 20
        tl.add_input(tone(20, next(level)), now)
    for stall_ms in (1000, 2000):
        now += stall_ms  # nothing arrives for stall_ms, then its chunks at once
        for _ in range(round(stall_ms / 20)):
            tl.add_input(tone(20, next(level)), now)
            assert tl.input.end <= now + 1e-6, (tl.input.end, now)  # never ahead
            assert tl.input.end >= now - 20 - 1e-6, (tl.input.end, now)  # nor behind
        assert tl.input.end == pytest.approx(now)  # it fits: the audio was contiguous
        for _ in range(100):  # 2 s more as captured
            now += 20
            tl.add_input(tone(20, next(level)), now)
            assert tl.input.end <= now + 1e-6
    assert len(tl.input.runs) == 1
    # where each chunk's audio is drawn (and written) is where the server's input-audio times
    # of it land: a speech marker 10 ms into the burst's 11th chunk sits in that chunk
    frames, start = tl.stereo()
    assert start == 0
    audio_ms = (250 + 10) * 20 + 10  # 5 s, then the first burst's 11th chunk
    at = tl.input_ms(audio_ms)
    assert at == pytest.approx(audio_ms)  # contiguous from 0: the clock is the audio time
    assert frames[round(at * 24), 0] == 261
    for k, (chunk_at, x) in enumerate(tl._in_chunks):
        assert chunk_at == pytest.approx(k * 20)
        assert x[0] == k + 1


def test_a_pause_then_a_burst_keeps_the_pause_and_moves_no_further_back() -> None:
    tl = ConversationTimeline(join_ms=250)
    stream(tl, 0, 1000, chunk_ms=20)  # 0-1 s
    # the user paused 2 s, spoke 0.5 s, and those chunks arrive at once at 4 s (a stall):
    # they end at the clock, not before it, and the pause is kept
    for _ in range(25):
        tl.add_input(tone(20), 4000)
    assert tl.input.end == pytest.approx(4000)
    assert [r[1:] for r in tl.input.runs] == [
        [0, pytest.approx(1000)],
        [pytest.approx(3500), pytest.approx(500)],
    ]
    assert tl.moved[0][0] == pytest.approx(3500)  # the run's chunks, where they now are
    assert len(tl.moved) == 25
    # 1.5 s more arrive at 4.5 s: the run moves back to end at the clock again (into the pause)
    tl.add_input(tone(1500), 4500)
    assert tl.input.runs[-1][1:] == [pytest.approx(2500), pytest.approx(2000)]
    # 3 s arrive at once 0.1 s later: the run moves back no further than the audio before it
    # (it joins it), and ends ahead: audio sent faster than real time cannot fit behind it
    tl.add_input(tone(3000), 4600)
    assert [r[1:] for r in tl.input.runs] == [[0, pytest.approx(6000)]]
    assert tl.add_input(tone(20), 4620) == pytest.approx(6000)  # later chunks continue it
    assert tl.moved == []


def test_items_whose_audio_left_the_window_are_forgotten() -> None:
    tl = ConversationTimeline(keep_s=2)
    for k in range(100):  # 100 replies of 0.5 s
        tl.add_output(f"a{k}", tone(500), k * 1000)
    assert set(tl.items) == {"a96", "a97", "a98", "a99"}  # the 2 s kept
    assert tl.item_span("a10") is None
    assert tl.truncate("a10", 100) is None
    assert tl.item_span("a99") == (99_000, 99_500)
    _, start = tl.stereo()
    assert start == pytest.approx(99_500 - 2000)


def test_the_wav_is_built_from_a_copy_taken_where_the_timeline_lives() -> None:
    tl = ConversationTimeline()
    stream(tl, 1000, 400)
    tl.add_output("r", tone(600, level=-5000), 1500)
    tl.truncate("r", 300)
    rec = tl.recording()
    stream(tl, 3000, 400)  # the timeline goes on; the copy does not change
    data = conversation.stereo_wav(rec)
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, RATE)
        frames = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2)
    assert len(frames) == 1800 * 24
    assert (frames[1000 * 24 : 1400 * 24, 0] == 8000).all()
    assert (frames[1500 * 24 : 1800 * 24, 1] == -5000).all()
    assert tl.wav() != data  # the timeline's own WAV has the later audio
