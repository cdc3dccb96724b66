"""Toolkit-latency arithmetic: the clock offset from round trips, and both paths' breakdowns."""

from __future__ import annotations

import json

import pytest

from realtime_widgets.client.latency import (
    MAX_RECORDS,
    ClockOffset,
    ToolkitLatency,
    percentile,
    stop_to_sound,
)
from realtime_widgets.client.metrics import Metrics
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.events import ServerEvent, parse_server_event
from realtime_widgets.protocol.parts import SemanticVad, ServerVad
from realtime_widgets.protocol.transcription_config import TranscriptionConfig

OFFSET_MS = 123_456.0  # the browser's clock minus the kernel's, in these tests


def test_the_offset_comes_from_the_shortest_round_trip() -> None:
    clock = ClockOffset()
    # A slow round trip whose answer was stamped late (asymmetric): 40 ms off.
    clock.add(10.0, 10.100 * 1000 + OFFSET_MS + 40, 10.200)
    # A fast one: 2 ms round trip, answered in the middle.
    clock.add(20.0, 20.001 * 1000 + OFFSET_MS, 20.002)
    assert clock.offset_ms == pytest.approx(OFFSET_MS, abs=1e-6)
    assert clock.uncertainty_ms == pytest.approx(1.0)
    assert clock.to_kernel(30.0 * 1000 + OFFSET_MS) == pytest.approx(30.0)
    with pytest.raises(ValueError, match="cannot end before it starts"):
        clock.add(5.0, 0.0, 4.0)
    with pytest.raises(ValueError, match="no round trip"):
        _ = ClockOffset().offset_ms


def _synced() -> ToolkitLatency:
    lat = ToolkitLatency()
    lat.mic_clock.add(1.0, 1.0005 * 1000 + OFFSET_MS, 1.001)
    lat.speaker_clock.add(1.0, 1.0005 * 1000 + OFFSET_MS, 1.001)
    return lat


def test_a_chunk_is_sent_when_the_appends_carried_its_last_sample() -> None:
    lat = _synced()
    # Two 40 ms chunks captured at 2.000 and 2.040 s (kernel clock), received 15 ms later.
    lat.mic_chunk(2.000 * 1000 + OFFSET_MS, 2.015, 960)
    lat.mic_chunk(2.040 * 1000 + OFFSET_MS, 2.055, 1920)
    # The session regrouped them: one append with 1440 samples, then one with 480.
    lat.append_sent(2.020, 1440)
    assert [c.end_sample for c in lat.chunks] == [960]
    lat.append_sent(2.060, 480)
    first, second = (lat.mic_breakdown(c) for c in lat.chunks)
    assert first == pytest.approx({"to_kernel": 15.0, "in_kernel": 5.0, "total": 20.0})
    assert second == pytest.approx({"to_kernel": 15.0, "in_kernel": 5.0, "total": 20.0})
    # A chunk whose samples an append already carried takes that append's time.
    lat.append_sent(2.100, 960)
    lat.mic_chunk(2.080 * 1000 + OFFSET_MS, 2.095, 2880)
    assert lat.mic_breakdown(lat.chunks[-1]) == pytest.approx(
        {"to_kernel": 15.0, "in_kernel": 5.0, "total": 20.0}
    )
    assert lat.mic_totals(2.05, 2.07) == pytest.approx([20.0])


def test_delta_to_first_sample_played() -> None:
    lat = _synced()
    lat.handed("item_1", 5.003)  # reported before the delta's stamp: kept until it comes
    lat.first_delta("item_1", "resp_1", 5.000)
    lat.first_delta("item_1", "resp_1", 5.500)  # later deltas of the item change nothing
    lat.played("item_1", 5.012 * 1000 + OFFSET_MS, 5.047 * 1000 + OFFSET_MS)
    lat.played("item_1", 9e9, 9e9)  # the first report counts
    lat.played("unknown", 1.0, 2.0)  # an item with no delta seen is ignored
    assert lat.for_response("resp_1") == pytest.approx(
        {"to_browser": 12.0, "in_browser": 35.0, "total": 47.0, "in_kernel": 3.0}
    )
    assert lat.for_response("resp_2") is None
    summary = lat.summary()
    assert summary["played_items"] == 1
    assert summary["delta_to_played_ms"]["median"] == pytest.approx(47.0)
    assert summary["speaker_clock_uncertainty_ms"] == pytest.approx(0.5)
    assert summary["mic_chunks"] == 0
    assert summary["mic_to_append_ms"] == {"median": None, "p90": None}


def test_without_a_clock_there_is_no_breakdown_and_records_are_capped() -> None:
    lat = ToolkitLatency()
    lat.first_delta("a", "r", 1.0)
    lat.played("a", 1.0, 2.0)
    assert lat.for_response("r") is None
    for i in range(MAX_RECORDS + 10):
        lat.first_delta(f"item_{i}", None, float(i))
    assert len(lat.items) == MAX_RECORDS
    for i in range(MAX_RECORDS + 10):
        lat.mic_chunk(float(i), float(i), 10 * (i + 1))
        lat.append_sent(float(i), 10)
    assert len(lat.chunks) == MAX_RECORDS


def test_an_append_no_longer_kept_gives_no_time_not_the_oldest_kept() -> None:
    lat = ToolkitLatency()
    assert lat.sample_sent(1) is None  # nothing sent yet
    for k in range(1, MAX_RECORDS + 501):  # 1000 samples each, every 40 ms: the first 500 go
        lat.append_sent(0.04 * k, 1000)
    assert lat.sample_sent(1000) is None  # sent at 0.04 s, long dropped (was: 20.04 s)
    assert lat.sample_sent(500_000) is None  # the last sample of the last append dropped
    assert lat.sample_sent(500_001) == pytest.approx(0.04 * 501)  # the oldest append kept
    assert lat.sample_sent(501_000) == pytest.approx(0.04 * 501)
    assert lat.sample_sent(501_001) == pytest.approx(0.04 * 502)
    assert lat.sample_sent(0) is None
    assert lat.sample_sent((MAX_RECORDS + 500) * 1000 + 1) is None  # not sent yet


def test_percentile() -> None:
    assert percentile([], 0.5) is None
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile([0.0, 10.0], 0.9) == pytest.approx(9.0)


# ---- "you stopped -> first sound" ---------------------------------------------------------------

CHUNK = 960  # 40 ms chunks from the microphone, captured in real time
SILENCE_MS = 500
T0 = 100.0  # the microphone's first sample, on the kernel's clock
SPEECH_MS = 2370  # the person stops speaking 2.37 s into the audio


def _event(kind: str, **fields: object) -> ServerEvent:
    return parse_server_event(json.dumps({"type": kind, "event_id": f"ev_{kind}", **fields}))


def _session(config: SessionConfig) -> ServerEvent:
    return _event("session.updated", session=config.to_session())


def _response(kind: str, rid: str) -> ServerEvent:
    return _event(kind, response={"id": rid, "object": "realtime.response", "status": "completed"})


def _delta(kind: str, rid: str, item: str, **fields: object) -> ServerEvent:
    return _event(kind, response_id=rid, item_id=item, output_index=0, content_index=0, **fields)


def _spoken_turn(
    lat: ToolkitLatency, metrics: Metrics, origin_s: float = T0, n: int = 1, mic_s: float = 0.018
) -> tuple[float, float]:
    """A synthetic turn whose timings are known: the microphone streams 3.2 s from
    ``origin_s`` (on the server's input timeline, from 0), speech for ``SPEECH_MS``, then
    silence; the server says speech_stopped 60 ms after the append carrying the end of its
    500 ms of silence left (each append leaves ``mic_s`` after its chunk's last sample was
    captured), and its first audio 400 ms after that; the page gets it 12 ms
    later and plays it 45 ms after that. Returns (the person stopped, the first sample
    played), in kernel seconds, as the person and the speaker would see them."""
    audio_end_ms = SPEECH_MS + SILENCE_MS
    base = lat._sent_samples
    for k in range(1, 81):
        captured = origin_s + k * CHUNK / 24000  # the chunk's last sample reached the page
        lat.mic_chunk(captured * 1000 + OFFSET_MS, captured + 0.015, base + k * CHUNK)
        lat.append_sent(captured + mic_s, CHUNK)
    # the append carrying sample audio_end_ms * 24 is the one of the chunk holding it
    holding = -(-audio_end_ms * 24 // CHUNK)
    stopped = origin_s + holding * CHUNK / 24000 + mic_s + 0.060
    item, rid = f"item_a{n}", f"resp_{n}"
    metrics.observe(
        _event("input_audio_buffer.speech_stopped", audio_end_ms=audio_end_ms, item_id=f"u{n}"),
        stopped,
    )
    metrics.observe(_event("input_audio_buffer.committed", item_id=f"u{n}"), stopped + 0.010)
    metrics.observe(_response("response.created", rid), stopped + 0.020)
    # a transcript delta comes before the audio: "first sound" waits for the audio
    metrics.observe(
        _delta("response.output_audio_transcript.delta", rid, item, delta="Hi"), stopped + 0.3
    )
    first_audio = stopped + 0.400
    metrics.observe(_delta("response.output_audio.delta", rid, item, delta="AAAA"), first_audio)
    lat.first_delta(item, rid, first_audio)
    arrived = first_audio + 0.012
    played = arrived + 0.045
    lat.played(item, arrived * 1000 + OFFSET_MS, played * 1000 + OFFSET_MS)
    metrics.observe(_response("response.done", rid), played + 1.0)
    return origin_s + SPEECH_MS / 1000, played


def test_you_stopped_to_first_sound_matches_the_synthetic_sessions_timings() -> None:
    lat, metrics = _synced(), Metrics()
    metrics.observe(_session(SessionConfig(turn_detection=ServerVad(silence_duration_ms=500))), 1)
    person_stopped, first_sound = _spoken_turn(lat, metrics)
    turn = metrics.turns[-1]
    assert turn.silence_ms == SILENCE_MS
    assert turn.first_audio is not None
    assert turn.first_delta is not None
    assert turn.first_audio > turn.first_delta
    result = stop_to_sound(turn, lat)
    assert result is not None
    assert result["start"] == "speech_stopped"
    # "you stopped -> first sound", measured independently: the synthetic person's stop and
    # the first sample the synthetic speaker played.
    assert result["total_ms"] == pytest.approx((first_sound - person_stopped) * 1000, abs=0.1)
    assert result["segments"] == pytest.approx(
        {
            "vad_wait": 500.0,  # the session's silence_duration_ms
            # the sample at audio_end_ms (2870 ms) is 10 ms before its chunk's end: captured
            # 10 ms before the chunk's stamp, sent 18 ms after it
            "mic": 28.0,
            "uplink": 60.0,
            "server": 400.0,  # speech_stopped -> the first *audio* delta
            "to_browser": 12.0,
            "playout": 45.0,
        },
        abs=0.1,
    )
    assert result["known_ms"] == pytest.approx(result["total_ms"], abs=0.1)
    # Without the browser's stamps only the server's parts are known, and there is no total.
    alone = stop_to_sound(turn)
    assert alone is not None
    assert alone["total_ms"] is None
    assert alone["segments"]["vad_wait"] == 500.0
    assert alone["segments"]["server"] == pytest.approx(400.0, abs=0.1)
    assert alone["segments"]["mic"] is None
    assert alone["segments"]["playout"] is None
    assert alone["known_ms"] == pytest.approx(900.0, abs=0.1)


def test_after_a_reconnect_the_servers_input_timeline_starts_again() -> None:
    lat, metrics = _synced(), Metrics()
    metrics.observe(_session(SessionConfig(turn_detection=ServerVad(silence_duration_ms=500))), 1)
    _spoken_turn(lat, metrics)
    lat.connected(T0 + 9.0)  # a new connection: its audio_end_ms count from 0 again
    person_stopped, first_sound = _spoken_turn(lat, metrics, origin_s=T0 + 10.0, n=2)
    result = stop_to_sound(metrics.turns[-1], lat)
    assert result is not None
    assert result["total_ms"] == pytest.approx((first_sound - person_stopped) * 1000, abs=0.1)
    assert result["segments"]["mic"] == pytest.approx(28.0, abs=0.1)


def test_an_old_turn_whose_audio_is_no_longer_kept_has_no_mic_or_network_part() -> None:
    lat, metrics = _synced(), Metrics()
    metrics.observe(_session(SessionConfig(turn_detection=ServerVad(silence_duration_ms=500))), 1)
    _spoken_turn(lat, metrics)
    old = metrics.turns[-1]
    at = T0 + 10.0
    for k in range(MAX_RECORDS):  # ~160 s more audio: the old turn's chunks and appends go
        lat.mic_chunk((at + k * 0.04) * 1000 + OFFSET_MS, at + k * 0.04, lat._sent_samples + CHUNK)
        lat.append_sent(at + k * 0.04 + 0.018, CHUNK)
    result = stop_to_sound(old, lat)
    assert result is not None
    assert result["segments"]["mic"] is None
    assert result["segments"]["uplink"] is None  # was -7060: the oldest kept append's time
    assert result["total_ms"] is None
    assert all(v is None or v >= 0 for v in result["segments"].values())
    assert result["known_ms"] == pytest.approx(500 + 400 + 12 + 45, abs=0.1)


def test_a_turn_older_than_the_connections_kept_has_no_mic_or_network_part() -> None:
    lat, metrics = _synced(), Metrics()
    metrics.observe(_session(SessionConfig(turn_detection=ServerVad(silence_duration_ms=500))), 1)
    for k in range(1, 11):  # 0.4 s sent on a first connection
        lat.append_sent(T0 - 5.0 + k * 0.04, CHUNK)
    lat.connected(T0 - 1.0)  # the turn's connection: its input timeline starts at 9600
    _spoken_turn(lat, metrics)
    turn = metrics.turns[-1]
    assert turn.speech_stopped is not None
    assert lat.origin(turn.speech_stopped) == 10 * CHUNK
    before = stop_to_sound(turn, lat)
    assert before is not None
    assert before["segments"]["mic"] == pytest.approx(28.0, abs=0.1)
    for k in range(lat.origins.maxlen or 0):  # reconnects since: that origin is dropped
        lat.connected(T0 + 10.0 + k)
    assert lat.origin(turn.speech_stopped) is None  # was 0: the first connection's samples
    result = stop_to_sound(turn, lat)
    assert result is not None
    assert result["segments"]["mic"] is None
    assert result["segments"]["uplink"] is None
    assert result["total_ms"] is None


def test_push_to_talk_counts_from_the_commit_and_semantic_vad_has_no_total() -> None:
    lat, metrics = _synced(), Metrics()
    metrics.observe(_session(SessionConfig(turn_detection=None)), 1)
    lat.commit_sent(50.0)  # the button released
    metrics.observe(_event("input_audio_buffer.committed", item_id="item_u"), 50.030)
    metrics.observe(_response("response.created", "resp_1"), 50.040)
    metrics.observe(_delta("response.output_audio.delta", "resp_1", "item_a", delta="AA"), 50.35)
    lat.first_delta("item_a", "resp_1", 50.350)
    lat.played("item_a", 50.360 * 1000 + OFFSET_MS, 50.400 * 1000 + OFFSET_MS)
    result = stop_to_sound(metrics.turns[-1], lat)
    assert result == {
        "start": "commit",
        "segments": pytest.approx(
            {"vad_wait": 0.0, "uplink": 30.0, "server": 320.0, "to_browser": 10.0, "playout": 40.0}
        ),
        "total_ms": pytest.approx(400.0),
        "known_ms": pytest.approx(400.0),
    }
    metrics.turns[-1].response_done = 51.0
    # semantic_vad waits as long as it judges: no silence_duration_ms, so no "you stopped"
    metrics.observe(_session(SessionConfig(turn_detection=SemanticVad())), 52)
    metrics.observe(
        _event("input_audio_buffer.speech_stopped", audio_end_ms=900, item_id="u2"), 53.0
    )
    semantic = stop_to_sound(metrics.turns[-1], lat)
    assert semantic is not None
    assert semantic["segments"]["vad_wait"] is None
    assert semantic["total_ms"] is None
    # a typed turn has no "you stopped"
    typed = Metrics()
    typed.observe(_response("response.created", "resp_9"), 1.0)
    assert stop_to_sound(typed.turns[-1], lat) is None


def test_the_silence_comes_from_openais_session_report_ga_and_beta_alike() -> None:
    metrics = Metrics()
    # session.created as OpenAI sends it (GA): extra fields, nulls, the VAD nested in audio.input
    openai_ga = {
        "type": "realtime",
        "object": "realtime.session",
        "id": "sess_C9",
        "model": "gpt-realtime",
        "output_modalities": ["audio"],
        "instructions": "",
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "prompt": None,
        "expires_at": 1_760_000_000,
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": {
                    "type": "server_vad",
                    "threshold": 0.5,
                    "prefix_padding_ms": 300,
                    "silence_duration_ms": 200,
                    "idle_timeout_ms": None,
                    "create_response": True,
                    "interrupt_response": True,
                },
            },
            "output": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "voice": "marin",
                "speed": 1,
            },
        },
        "include": None,
    }
    metrics.observe(_event("session.created", session=openai_ga), 1.0)
    metrics.observe(_event("input_audio_buffer.speech_stopped", audio_end_ms=900, item_id="u"), 2)
    assert metrics.turns[-1].vad_wait_ms == 200.0
    metrics.turns[-1].response_done = 3.0
    beta = {"modalities": ["audio", "text"], "turn_detection": {"type": "server_vad",
            "silence_duration_ms": 650}}  # fmt: skip
    metrics.observe(_event("session.updated", session=beta), 4.0)
    metrics.observe(_event("input_audio_buffer.speech_stopped", audio_end_ms=990, item_id="v"), 5)
    assert metrics.turns[-1].vad_wait_ms == 650.0
    # A transcription session's report is read as one; a report that does not read leaves no
    # silence known, and never stops the metrics.
    metrics.turns[-1].response_done = 6.0
    transcription = TranscriptionConfig(turn_detection=ServerVad(silence_duration_ms=300))
    metrics.observe(_event("session.updated", session=transcription.to_session()), 7.0)
    metrics.observe(_event("input_audio_buffer.speech_stopped", audio_end_ms=999, item_id="w"), 8)
    assert metrics.turns[-1].vad_wait_ms == 300.0
    metrics.turns[-1].response_done = 9.0
    unreadable = {"audio": {"input": {"turn_detection": {"type": "quantum_vad"}}}}
    metrics.observe(_event("session.updated", session=unreadable), 10.0)
    metrics.observe(_event("input_audio_buffer.speech_stopped", audio_end_ms=999, item_id="x"), 11)
    assert metrics.turns[-1].vad_wait_ms is None
