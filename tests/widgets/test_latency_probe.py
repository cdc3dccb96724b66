"""LatencyProbe over a real session: browser stamps (simulated here, real in tests/browser) and
the kernel's own give the toolkit's part of each turn."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from realtime_widgets.client.session import RealtimeSession
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.widgets.browser_messages import on_session_loop
from realtime_widgets.widgets.latency import LatencyProbe
from realtime_widgets.widgets.metrics import MetricsView
from realtime_widgets.widgets.microphone import Microphone
from realtime_widgets.widgets.speaker import Speaker
from tests.speech import Clip
from tests.waiting import eventually
from tests.widgets.conftest import settled

OFFSET_MS = 98_765.0  # the simulated page's performance.now() minus the kernel's clock


def browser_now(delay_s: float = 0.0) -> float:
    return (time.monotonic() - delay_s) * 1000 + OFFSET_MS


def answer_pings(widget: Any) -> None:
    """Answer the probe's pings at once, as the page's JS does."""
    for content, _ in widget.comm.custom():
        if content.get("type") == "ping" and not content.get("answered"):
            content["answered"] = True
            widget._on_browser(
                widget, {"type": "pong", "id": content["id"], "t": browser_now()}, []
            )


def test_probe_measures_both_paths_and_metrics_show_the_toolkit_part(
    monkeypatch: pytest.MonkeyPatch, three_turns: Clip
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    session = RealtimeSession(SessionConfig()).connect()
    try:
        mic, speaker = Microphone(session), Speaker(session)
        metrics = MetricsView(session)
        probe = LatencyProbe(session, mic, speaker)
        metrics.latency = probe
        turn = three_turns.samples[: int((three_turns.truth[0][1] + 900) * 24)]
        turn = np.concatenate([turn, np.zeros(24000, np.int16)])
        fed: list[tuple[int, float]] = []  # (chunk's end sample, kernel time it was captured)
        for seq, i in enumerate(range(0, len(turn), 960), start=1):
            # captured 30 ms before it reaches the kernel
            content = {"type": "audio", "seq": seq, "rate": 24000, "t": browser_now(0.030)}
            fed.append((min(i + 960, len(turn)), (content["t"] - OFFSET_MS) / 1000))
            mic._on_browser(mic, content, [turn[i : i + 960].tobytes()])
            answer_pings(mic)
            time.sleep(0.002)
        # A few more round trips: the shortest wins, so one stalled by the other test worker's
        # load does not decide the offset (the feed above lasts about one ping interval).
        for _ in range(5):
            probe.ping("mic")
            settled(session)
            answer_pings(mic)
        done = session.wait_for("response.done", timeout=60)
        assert done.response.status == "completed"  # type: ignore[union-attr]
        eventually(lambda: bool(speaker.received))
        item_id = next(iter(speaker.received))
        answer_pings(speaker)
        # The page got the item's first chunk 10 ms after the delta and played it 40 ms later.
        delta_s = probe.core.items[item_id].delta_s
        arrived = (delta_s + 0.010) * 1000 + OFFSET_MS
        speaker._on_browser(
            speaker,
            {"type": "started", "item_id": item_id, "arrived": arrived, "played": arrived + 40},
            [],
        )
        settled(session)  # the page's report hopped to the session loop
        # the metrics refreshed themselves when the first sample was reported played
        assert metrics.data["turns"][0]["toolkit_out"] is not None
        summary = probe.summary()
        clock = summary["mic_clock_uncertainty_ms"]
        assert clock is not None
        assert clock < 20
        assert summary["mic_chunks"] >= len(turn) // 960 - 1  # every chunk matched an append
        to_kernel = summary["mic_to_kernel_ms"]["median"]
        assert to_kernel == pytest.approx(30.0, abs=clock + 2)
        assert summary["mic_in_kernel_ms"]["median"] >= 0
        out = summary["delta_to_played_ms"]["median"]
        assert out == pytest.approx(50.0, abs=summary["speaker_clock_uncertainty_ms"] + 2)
        # the kernel's own part: from the delta's arrival to its samples sent to the page
        assert 0 <= summary["delta_in_kernel_ms"]["median"] < 1000
        rows = probe.per_turn()
        assert rows[0]["toolkit_out"] == pytest.approx(out, abs=0.1)
        assert rows[0]["toolkit_in"] is not None
        assert rows[0]["toolkit_in"] >= to_kernel - clock
        assert rows[0]["server"] is not None
        shown = metrics.data["turns"][0]
        assert shown["toolkit_out"] == rows[0]["toolkit_out"]
        assert shown["toolkit_in"] == rows[0]["toolkit_in"]
        # "you stopped -> first sound": the VAD waited the session's silence, and the total
        # is, within the clocks' uncertainty, the first sample played minus the moment the
        # person stopped: silence_duration_ms before the sample at speech_stopped's
        # audio_end_ms was captured (found here from the chunks as this test fed them).
        silence = session.effective.turn_detection.silence_duration_ms  # type: ignore[union-attr]
        stopped_event = next(e for e in session.events if e.type.endswith("speech_stopped"))
        sample = stopped_event.data["audio_end_ms"] * 24
        end, captured = next((end, t) for end, t in fed if end >= sample)
        person_stopped = captured - (end - sample) / 24000 - silence / 1000
        played_kernel = delta_s + 0.050
        stop = rows[0]["stop_to_sound"]
        assert stop["segments"]["vad_wait"] == silence
        clocks = clock + summary["speaker_clock_uncertainty_ms"]
        assert stop["total_ms"] == pytest.approx(
            (played_kernel - person_stopped) * 1000, abs=clocks + 2
        )
        assert stop["total_ms"] == pytest.approx(sum(stop["segments"].values()), abs=0.5)
        assert shown["stop_to_sound"] == stop
        # A shorter round trip moves the speaker clock's offset after the turn played: the tab
        # redraws by itself (no event comes to refresh it), with the kernel's figures.
        probe.ping("speaker")
        settled(session)
        ping_id, (_, at) = max(probe._pings.items())
        shift_ms = 25.0  # read on the shortest trip yet, the page's clock is 25 ms further on
        pong = {"type": "pong", "id": ping_id, "t": at * 1000 + OFFSET_MS + shift_ms}
        on_session_loop(session, speaker._browser_message, pong, [], at + 1e-6)
        settled(session)
        moved = probe.per_turn()[0]["stop_to_sound"]
        assert moved["segments"]["to_browser"] == pytest.approx(
            stop["segments"]["to_browser"] - shift_ms,
            abs=summary["speaker_clock_uncertainty_ms"] + 0.2,
        )
        assert metrics.data["turns"][0]["stop_to_sound"] == moved
        probe.close()
    finally:
        session.close()


def test_closing_the_probe_removes_every_listener_and_tap_it_added() -> None:
    session = RealtimeSession(SessionConfig())
    before = session.core.listeners.count()
    probe = LatencyProbe(session, microphone=Microphone(session), speaker=Speaker(session))
    added = session.core.listeners.count()
    probe.close()
    assert added > before
    # Microphone and Speaker keep their own; the probe's history listener and tap are gone.
    assert session.core.listeners.count() == added - 2
    assert probe._on_output not in session.core.listeners.output_taps


def test_the_last_turns_get_the_same_toolkit_in_as_the_whole_session() -> None:
    from tests.client.test_latency import T0, _event, _response, _session, _spoken_turn, _synced

    session = RealtimeSession(SessionConfig())  # never connected: its records are fed here
    probe = LatencyProbe(session)
    probe.core = _synced()
    metrics = session.metrics
    metrics.observe(_session(SessionConfig()), 1)
    _spoken_turn(probe.core, metrics, n=1)  # capture -> append 18 ms
    probe.core.connected(T0 + 9.0)  # each turn on a connection of its own (as _spoken_turn)
    _spoken_turn(probe.core, metrics, origin_s=T0 + 10.0, n=2)
    # a typed turn: a reply with no audio delta, so no first delta to chain from
    metrics.observe(_event("response.created", response={"id": "resp_t"}), T0 + 15.0)
    metrics.observe(_response("response.done", "resp_t"), T0 + 15.5)
    assert metrics.turns[-1].first_delta is None
    probe.core.connected(T0 + 19.0)
    _spoken_turn(probe.core, metrics, origin_s=T0 + 20.0, n=3, mic_s=0.050)  # slower: 50 ms
    whole = probe.per_turn()
    # (the typed turn has no end: its window runs on into turn 4's chunks)
    assert [row["toolkit_in"] for row in whole] == pytest.approx([18.0, 18.0, 50.0, 50.0])
    assert whole[3]["stop_to_sound"]["segments"]["mic"] == pytest.approx(60.0, abs=0.1)
    for last in (1, 2, 3, 4, 9):  # last=1 and 2 gave 18.0 for turn 4: chained from 0
        assert probe.per_turn(last) == whole[-last:]
    probe.close()
