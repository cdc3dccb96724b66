"""Session export: any session, live or replayed, writes a stereo WAV on the session clock (the
user left, the agent right, silence where nothing played, cuts applied) and its event log as
parquet; re-read, the audio has the turn boundaries where the events put them."""

from __future__ import annotations

import base64
import io
import json
import time
import wave as wave_module
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from realtime_widgets import SessionConfig
from realtime_widgets.audio.conversation import ConversationTimeline
from realtime_widgets.client import Endpoint, RealtimeSession
from realtime_widgets.errors import ConfigError
from realtime_widgets.protocol import events as ev
from realtime_widgets.server.app import LocalServer
from realtime_widgets.widgets.waveform import Waveform
from tests.speech import recorded_speech
from tests.waiting import FACTOR, eventually

RATE = 24000


def at(ms: float) -> int:
    """The WAV frame of ``ms`` on the session clock."""
    return round(ms * RATE / 1000)


def read_wav(path: Path | bytes) -> np.ndarray:
    """The WAV's frames, (n, 2) int16, checked to be stereo 16-bit at 24 kHz."""
    source = io.BytesIO(path if isinstance(path, bytes) else path.read_bytes())
    with wave_module.open(source) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, RATE)
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2)


def b64(samples: np.ndarray) -> str:
    return base64.b64encode(np.asarray(samples, "<i2").tobytes()).decode()


def delta(item: str, samples: np.ndarray) -> dict[str, Any]:
    return {
        "type": "response.output_audio.delta",
        "event_id": f"e_{item}",
        "response_id": "r",
        "item_id": item,
        "output_index": 0,
        "content_index": 0,
        "delta": b64(samples),
    }


def write_recording(path: Path, rows: list[tuple[float, str, dict[str, Any]]]) -> Path:
    path.write_text("".join(json.dumps({"t": t, "dir": d, "event": e}) + "\n" for t, d, e in rows))
    return path


# ---- a replayed recording, written by hand: every position known ------------------------------

VOICE = np.full(12000, 3000, np.int16)  # 0.5 s of the user
REPLY_A = np.arange(1, 24001, dtype=np.int16)  # 1 s of the agent, every sample its own
REPLY_B = np.full(12000, -4000, np.int16)


def scripted_recording(tmp_path: Path) -> Path:
    """The user speaks 0.5 s (sent at 1.0 s: captured 0.5-1.0 s), reply a arrives at 1.5 s and
    is cut 300 ms in (at 1.8 s), reply b arrives at 3.0 s."""
    return write_recording(
        tmp_path / "run.jsonl",
        [
            (1.0, "out", {"type": "input_audio_buffer.append", "audio": b64(VOICE)}),
            (
                1.1,
                "in",
                {
                    "type": "input_audio_buffer.speech_started",
                    "event_id": "e1",
                    "audio_start_ms": 0,
                    "item_id": "u1",
                },
            ),
            (1.5, "in", delta("a", REPLY_A)),
            (
                1.8,
                "in",
                {
                    "type": "conversation.item.truncated",
                    "event_id": "e2",
                    "item_id": "a",
                    "content_index": 0,
                    "audio_end_ms": 300,
                },
            ),
            (3.0, "in", delta("b", REPLY_B)),
        ],
    )


def test_a_replayed_session_exports_its_recording_on_the_recording_clock(tmp_path: Path) -> None:
    replayed = RealtimeSession.replay(scripted_recording(tmp_path), speed=0)
    try:
        replayed.play()
        paths = replayed.export(tmp_path / "out" / "talk")
    finally:
        replayed.close()
    assert paths == {
        "wav": tmp_path / "out" / "talk.wav",
        "events": tmp_path / "out" / "talk.events.parquet",
    }
    frames = read_wav(paths["wav"])
    left, right = frames[:, 0], frames[:, 1]
    assert len(frames) == at(3500)  # to the end of the later side: reply b's end
    # the user where the append was sent (a new run: captured in the 0.5 s before it)
    assert not left[: at(500)].any()
    assert (left[at(500) : at(1000)] == VOICE).all()
    assert not left[at(1000) :].any()
    # the agent: reply a from its arrival, cut 300 ms in; silence; reply b from its arrival
    assert not right[: at(1500)].any()
    assert (right[at(1500) : at(1800)] == REPLY_A[: at(300)]).all()
    assert not right[at(1800) : at(3000)].any()
    assert (right[at(3000) : at(3500)] == REPLY_B).all()

    table = pd.read_parquet(paths["events"])
    assert list(table.columns) == ["t", "direction", "type", "event"]
    rows = table[table["type"] != "session.closed"]
    assert rows["t"].tolist() == [1.0, 1.1, 1.5, 1.8, 3.0]  # the recording's clock
    assert rows["direction"].tolist() == ["out", "in", "in", "in", "in"]
    events = [json.loads(e) for e in rows["event"]]
    assert events[0] == {"type": "input_audio_buffer.append", "audio": "<24000 bytes>"}
    assert events[1]["audio_start_ms"] == 0
    assert events[2]["delta"] == "<48000 bytes>"  # the log keeps no audio
    assert events[3]["audio_end_ms"] == 300
    # and the turn boundaries from the events alone: the speech the server heard starts at the
    # append's clock minus its length; the agent starts at its delta and stops at the cut
    append_t, append_bytes = rows["t"].iloc[0] * 1000, 24000
    speech_ms = append_t - append_bytes / 2 / RATE * 1000 + events[1]["audio_start_ms"]
    assert left[at(speech_ms)] != 0
    assert not left[at(speech_ms) - 1]
    first_delta = rows[rows["type"] == "response.output_audio.delta"]["t"].iloc[0] * 1000
    assert right[at(first_delta)] != 0
    assert not right[: at(first_delta)].any()
    cut = first_delta + events[3]["audio_end_ms"]
    assert right[at(cut) - 1] != 0
    assert not right[at(cut) : at(3000)].any()


def test_the_waveform_draws_the_sessions_timeline_and_keeps_no_copy(tmp_path: Path) -> None:
    """One recorder per session: a session with no waveform exports the same WAV as one with a
    waveform, whose timeline is the session's own object."""
    path = scripted_recording(tmp_path)
    bare = RealtimeSession.replay(path, speed=0)
    drawn = RealtimeSession.replay(path, speed=0)
    try:
        wave = Waveform(drawn)
        assert wave.timeline is drawn.timeline
        bare.play()
        drawn.play()
        # (the waveform sends in batches at ~20 Hz; its history holds what went out)
        eventually(lambda: len(wave.history_message()[0]["items"]) >= 6, 10)
        assert bare.export_wav(tmp_path / "bare.wav").read_bytes() == wave.conversation_wav()
        assert drawn.export_wav(tmp_path / "drawn.wav").read_bytes() == wave.conversation_wav()
        history, _ = wave.history_message()
    finally:
        bare.close()
        drawn.close()
    # the waveform drew what the session placed: the user 0.5-1 s (a replay now draws the
    # audio that was sent), the replies at 1.5 s and 3 s, the cut at 1.8 s
    envs = [(i["track"], i["start"]) for i in history["items"] if i["type"] == "env"]
    assert envs == [("in", 50), ("out", 150), ("out", 300)]
    cut = [i for i in history["items"] if i.get("kind") == "truncated"]
    assert [m["ms"] for m in cut] == [pytest.approx(1800)]
    # a session's waveform does not take audio of its own: the session feeds the timeline
    with pytest.raises(Exception, match="without a session"):
        wave.add_input(VOICE)


def test_keep_s_and_the_export_folder(tmp_path: Path) -> None:
    replayed = RealtimeSession.replay(scripted_recording(tmp_path), speed=0)
    try:
        replayed.play()
        whole = read_wav(replayed.export_wav(tmp_path / "whole.wav"))
        last = read_wav(replayed.export_wav(tmp_path / "last.wav", keep_s=1.0))
        folder = tmp_path / "runs"
        folder.mkdir()
        paths = replayed.export(folder)
        with pytest.raises(ConfigError, match="keep_s must be a number of seconds > 0") as bad:
            replayed.export_wav(tmp_path / "bad.wav", keep_s=0)
    finally:
        replayed.close()
    assert bad.value.problems[0].field == "keep_s"
    assert (last == whole[-at(1000) :]).all()
    assert len(last) == at(1000)
    assert paths == {"wav": folder / "session.wav", "events": folder / "session.events.parquet"}
    assert (read_wav(paths["wav"]) == whole).all()


def test_the_event_log_as_parquet_with_no_events(tmp_path: Path) -> None:
    session = RealtimeSession(endpoint=Endpoint("replay://none", kind="replay"))
    path = session.events.to_parquet(tmp_path / "empty.parquet")
    table = pd.read_parquet(path)
    assert list(table.columns) == ["t", "direction", "type", "event"]
    assert len(table) == 0
    assert list(session.events.to_dataframe().columns) == ["t", "direction", "type", "event"]


# ---- a live session against the local server, and its replay ----------------------------------

SILENCE_MS = 500  # the session's server_vad silence_duration_ms (the default)
PREFIX_MS = 300  # and its prefix_padding_ms
SPEECH = 0.01 * 32768  # speech: a 10 ms bin with a sample above 1 % of full scale


def utterance(text: str, voice: str, lead_ms: int, tail_ms: int = 900) -> np.ndarray:
    samples = recorded_speech()[text, voice][0]
    return np.concatenate(
        [np.zeros(lead_ms * 24, np.int16), samples, np.zeros(tail_ms * 24, np.int16)]
    )


def read_on_loop(session: RealtimeSession, fn: Callable[[], Any]) -> Any:
    """``fn()`` on the session's I/O loop, where its timeline lives."""

    async def call() -> Any:
        return fn()

    return session.submit(call()).result(10 * FACTOR)


def speak(session: RealtimeSession, x: np.ndarray) -> None:
    """A microphone: 40 ms chunks, each sent when it has been captured."""
    start = time.monotonic()
    for k in range(0, len(x), 960):
        session.stream_audio(x[k : k + 960])
        time.sleep(max(0.0, start + (k + 960) / RATE - time.monotonic()))


def speech_runs(channel: np.ndarray, gap_ms: int = 300) -> list[tuple[float, float]]:
    """Where the channel holds speech (ms): 10 ms bins above :data:`SPEECH`, runs closer than
    ``gap_ms`` joined."""
    n = len(channel) // 240
    loud = np.abs(channel[: n * 240].astype(np.int32)).reshape(n, 240).max(axis=1) > SPEECH
    runs: list[list[float]] = []
    for i in np.flatnonzero(loud):
        if runs and i * 10 - runs[-1][1] < gap_ms:
            runs[-1][1] = (i + 1) * 10
        else:
            runs.append([i * 10, (i + 1) * 10])
    return [(a, b) for a, b in runs]


def find(channel: np.ndarray, piece: np.ndarray, near: int) -> int:
    """The frame where ``piece`` sits in ``channel``, from ``near`` to 100 ms after it (the
    audio is handed out on the session loop just after its event was logged)."""
    lo, hi = max(0, near - 2), near + at(100)
    j = int(np.flatnonzero(piece)[0])
    k = min(32, len(piece) - j)
    windows = np.lib.stride_tricks.sliding_window_view(channel[lo + j : hi + j + k], k)
    for o in np.flatnonzero((windows == piece[j : j + k]).all(axis=1)):
        if (channel[lo + o : lo + o + len(piece)] == piece).all():
            return lo + int(o)
    raise AssertionError(f"a reply's audio is not within 100 ms after {near / 24:.0f} ms")


def check_turns(
    paths: dict[str, Path], replies: dict[str, np.ndarray], input_ms: Callable[[float], float]
) -> dict[str, float]:
    """Re-read the WAV and the parquet and find the turns in the audio where the events put
    them; returns the boundaries measured (for the report). ``input_ms`` maps the server's
    input-audio times onto the session clock (the session's timeline, as the Waveform's
    markers do: a chunk sent late by a busy loop continues the audio before it)."""
    frames = read_wav(paths["wav"])
    left, right = frames[:, 0], frames[:, 1]
    table = pd.read_parquet(paths["events"])
    kinds = table["type"]
    events = [json.loads(e) for e in table["event"]]
    measured: dict[str, float] = {}

    # The user, left: each turn's speech where speech_started / stopped put it. The server's
    # start is prefix_padding_ms before the speech (in the audio before a pause, maybe), its
    # stop silence_duration_ms after it: the speech itself sits at the clock of those times.
    began = [
        input_ms(events[i]["audio_start_ms"] + PREFIX_MS)
        for i in np.flatnonzero(kinds == "input_audio_buffer.speech_started")
    ]
    ended = [
        input_ms(events[i]["audio_end_ms"] - SILENCE_MS)
        for i in np.flatnonzero(kinds == "input_audio_buffer.speech_stopped")
    ]
    heard = speech_runs(left)
    assert len(heard) == len(began) == len(ended) == 3
    for k, ((a, b), s, e) in enumerate(zip(heard, began, ended, strict=True)):
        measured[f"user{k + 1}_start_error_ms"] = a - s
        measured[f"user{k + 1}_end_error_ms"] = b - e
        assert abs(a - s) <= 100
        assert abs(b - e) <= 100

    # The agent, right: each delta where a player puts it from the log alone (at its arrival,
    # or after the audio queued before it; the cut of a truncated item applied), found there
    # sample for sample; silence everywhere else.
    cuts = {
        events[i]["item_id"]: events[i]["audio_end_ms"]
        for i in np.flatnonzero(kinds == "conversation.item.truncated")
    }
    assert list(cuts) == [list(replies)[1]]  # the second reply, cut once
    pieces: dict[str, list[tuple[float, int]]] = {}  # item -> (own ms, frame in the WAV)
    used = dict.fromkeys(replies, 0)  # samples of each reply met so far
    played = np.zeros(len(right), bool)
    queue_end, cut_at, late = 0.0, {}, []
    deltas = np.flatnonzero(kinds == "response.output_audio.delta")
    assert not right[: at(table["t"].iloc[deltas[0]] * 1000)].any()  # nothing before a reply
    for i in np.flatnonzero(
        kinds.isin(["response.output_audio.delta", "conversation.item.truncated"])
    ):
        item, t = events[i]["item_id"], table["t"].iloc[i] * 1000
        if kinds.iloc[i] == "conversation.item.truncated":  # the player flushed at the cut
            own, frame = next(x for x in reversed(pieces[item]) if x[0] <= cuts[item])
            cut_at[item] = frame / 24 + cuts[item] - own
            queue_end = min(queue_end, max(cut_at[item], pieces[item][0][1] / 24))
            continue
        n = int(events[i]["delta"].strip("<> bytes")) // 2
        piece, own = replies[item][used[item] : used[item] + n], used[item] / 24
        used[item] += n
        if item in cut_at:  # in flight after its cut: never played
            continue
        if item in cuts:  # played, but heard only up to the cut
            piece = piece[: max(0, at(cuts[item]) - at(own))]
        model = max(queue_end, t)
        frame = find(right, piece, at(model)) if piece.any() else at(model)
        if piece.any():
            late.append(frame / 24 - model)
        pieces.setdefault(item, []).append((own, frame))
        played[frame : frame + len(piece)] = True
        queue_end = frame / 24 + n / 24
    assert used == {item: len(x) for item, x in replies.items()}  # every delta's audio met
    assert not right[~played].any()  # silence wherever nothing played
    measured["pieces_after_the_player_model_ms_max"] = max(late)
    assert min(late) >= -0.05
    # the cut is where the user barged in: when the third turn's speech_started arrived
    barge_in = table[kinds == "input_audio_buffer.speech_started"]["t"].iloc[2] * 1000
    (cut,) = cut_at.values()
    measured["cut_after_barge_in_ms"] = cut - barge_in
    assert -2 <= cut - barge_in <= 100
    return measured


@pytest.mark.slow
def test_a_live_session_and_its_replay_export_the_turns_where_the_events_put_them(
    server: LocalServer, tmp_path: Path
) -> None:
    """Spoken turns in real time (the session clock is the wall's): a turn and its reply, a
    second turn whose reply the user interrupts (the client truncates what was heard, as the
    Speaker does), and the third turn's reply: ~12 s of speech and replies in real time."""
    config = SessionConfig(max_output_tokens=60, speed=1.5)  # replies of ~2 s
    session = RealtimeSession(
        config, endpoint=Endpoint.local(server.url, "m"), record=tmp_path / "talk.jsonl"
    )
    live: dict[str, list[np.ndarray]] = {}
    session.add_output_audio_tap(lambda item, x: live.setdefault(item, []).append(x))
    barge_in: list[str] = []  # the reply to cut at the next speech_started
    heard_at_barge_in: list[float | None] = []

    def truncate_what_was_heard(event: ev.ServerEvent) -> None:
        """What a player does when the user speaks over a reply (the Speaker does it with the
        samples the page played): cut the reply where it was heard to."""
        if not barge_in:
            return
        item = barge_in.pop()
        heard = session.timeline.played_ms(item, session.elapsed * 1000)  # (on its loop)
        span = session.timeline.item_span(item)
        audible = heard is not None and span is not None and session.elapsed * 1000 < span[1]
        heard_at_barge_in.append(heard if audible else None)
        if heard is not None and audible:
            session.submit(session.atruncate(item, int(heard)))

    session.on("input_audio_buffer.speech_started", truncate_what_was_heard)
    try:
        session.connect()
        assert session.effective is not None
        td = session.effective.turn_detection
        assert td is not None
        assert (td.prefix_padding_ms, td.silence_duration_ms) == (PREFIX_MS, SILENCE_MS)

        def reply_after(x: np.ndarray) -> str:
            mark = session.mark()
            speak(session, x)
            done = session.wait_for("response.done", timeout=60 * FACTOR, since=mark)
            assert isinstance(done, ev.ResponseDone)
            return str(done.response.output[0].id)

        first = reply_after(utterance("Seven", "cedar", 500))  # (the prefix fits)
        end = read_on_loop(session, lambda: session.timeline.item_span(first))
        assert end is not None
        time.sleep(max(0.0, end[1] / 1000 + 0.2 - session.elapsed))  # heard to its end
        second = reply_after(utterance("second part", "marin", 200))
        barge_in.append(second)  # the user speaks ~0.3 s into the second reply
        mark = session.mark()
        third = reply_after(utterance("Seven", "cedar", 300))
        session.wait_for("conversation.item.truncated", timeout=10 * FACTOR, since=mark)
        (heard,) = heard_at_barge_in
        assert heard is not None, "the second reply was still playing when the user spoke"
        paths = session.export(tmp_path / "live")
    finally:
        session.close()
    replies = {item: np.concatenate(live[item]) for item in (first, second, third)}
    measured = check_turns(paths, replies, session.timeline.input_ms)
    print("live", {k: round(v, 1) for k, v in measured.items()})

    # The same from its recording, replayed at once on the recording's clock.
    replayed = RealtimeSession.replay(tmp_path / "talk.jsonl", speed=0)
    again: dict[str, list[np.ndarray]] = {}
    replayed.add_output_audio_tap(lambda item, x: again.setdefault(item, []).append(x))
    try:
        replayed.play()
        paths = replayed.export(tmp_path / "replayed")
    finally:
        replayed.close()
    replies = {item: np.concatenate(again[item]) for item in replies}
    measured = check_turns(paths, replies, replayed.timeline.input_ms)
    print("replayed", {k: round(v, 1) for k, v in measured.items()})


def test_played_ms_counts_the_audio_heard_by_then() -> None:
    """What a barge-in truncates a reply to: its own audio played by now, an underrun's gap
    counting nothing, never past a cut."""
    timeline = ConversationTimeline()
    timeline.add_output("a", np.ones(12000, np.int16), 0.0)  # 0-500 ms
    timeline.add_output("a", np.ones(12000, np.int16), 1000.0)  # late: 1000-1500 ms
    assert timeline.played_ms("a", 300) == 300
    assert timeline.played_ms("a", 800) == 500  # the gap: nothing more heard
    assert timeline.played_ms("a", 1200) == 700
    assert timeline.played_ms("a", 9000) == 1000
    assert timeline.output_ms("a", 700) == 1200  # (its inverse)
    timeline.truncate("a", 600)
    assert timeline.played_ms("a", 1200) == 600
    assert timeline.played_ms("b", 100) is None


def test_a_recorded_append_that_cannot_be_read_is_reported_and_the_replay_goes_on(
    tmp_path: Path,
) -> None:
    path = write_recording(
        tmp_path / "bad.jsonl",
        [
            (0.5, "out", {"type": "input_audio_buffer.append", "audio": "not base64!"}),
            (1.0, "out", {"type": "input_audio_buffer.append", "audio": b64(VOICE)}),
        ],
    )
    replayed = RealtimeSession.replay(path, speed=0)
    problems: list[str] = []
    replayed.on("client.protocol_error", lambda e: problems.append(str(e.model_extra)))
    try:
        replayed.play()
        frames = read_wav(replayed.export_wav(tmp_path / "bad.wav"))
    finally:
        replayed.close()
    assert len(problems) == 1
    assert "input_audio_buffer.append replayed" in problems[0]
    assert len(frames) == at(1000)  # from the session clock's 0
    assert not frames[: at(500)].any()
    assert (frames[at(500) :, 0] == VOICE).all()  # the good append, where it was sent
