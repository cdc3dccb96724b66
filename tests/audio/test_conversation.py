"""ConversationTimeline: both sides of a conversation on one session clock, and its stereo WAV."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest

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
    # a burst of five arriving at once continues contiguously
    burst = [tl.add_input(tone(40), 1600) for _ in range(5)]
    assert burst[0] == pytest.approx(1560)
    assert np.diff(burst) == pytest.approx([40] * 4)
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
