"""TranslationSession: the translation protocol on the client core, over the shared transport.

The core alone (a fake clock, no socket): server events into state by position, the session's
config and errors, the translated audio through the output decoder, every client event it
makes valid against the SDK's translation client union, and the latency from the end of
speech to the first translated audio. Then a whole session against the local server."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from typing import Any

import numpy as np
import pytest

from realtime_widgets.client.auth import Endpoint
from realtime_widgets.client.dispatch import dispatch
from realtime_widgets.client.translation import (
    OUTPUT_STREAM,
    TranslationCore,
    TranslationMetrics,
    TranslationSession,
    translation_endpoint,
)
from realtime_widgets.errors import ConfigError
from realtime_widgets.protocol.translation_config import TranslationConfig
from realtime_widgets.server.app import LocalServer
from tests.protocol.sdk_oracle import check_translation_client_event
from tests.server.conftest import Counting
from tests.speech import Clip

TIMEOUT = float(os.environ.get("RW_TEST_TIMEOUT", "30")) * float(
    os.environ.get("RW_TESTS_TIMEOUT_FACTOR", "1")
)


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _core(config: TranslationConfig | None = None) -> tuple[TranslationCore, Clock]:
    clock = Clock()
    return TranslationCore(config, clock=clock), clock


def _session_event(kind: str, config: TranslationConfig, n: int = 1) -> str:
    return json.dumps(
        {
            "type": kind,
            "event_id": f"ev{n}",
            "session": config.to_session(session_id="sess_abc", expires_at=1_800_000_000),
        }
    )


def _delta(kind: str, text: str, elapsed_ms: int | None, n: int) -> str:
    event: dict[str, Any] = {"type": kind, "event_id": f"d{n}", "delta": text}
    if elapsed_ms is not None:
        event["elapsed_ms"] = elapsed_ms
    return json.dumps(event)


def _audio(samples: np.ndarray, elapsed_ms: int, n: int) -> str:
    return json.dumps(
        {
            "type": "session.output_audio.delta",
            "event_id": f"a{n}",
            "delta": base64.b64encode(samples.astype("<i2").tobytes()).decode(),
            "channels": 1,
            "elapsed_ms": elapsed_ms,
            "format": "pcm16",
            "sample_rate": 24000,
        }
    )


def test_endpoints_point_at_the_translations_path() -> None:
    openai = translation_endpoint(
        Endpoint.openai("gpt-realtime", "sk-test"), "gpt-realtime-translate"
    )
    assert (
        openai.url == "wss://api.openai.com/v1/realtime/translations?model=gpt-realtime-translate"
    )
    assert openai.headers() == {"Authorization": "Bearer sk-test"}
    local = translation_endpoint(Endpoint.local("ws://127.0.0.1:9/v1/realtime", "m"), "t-1")
    assert local.url == "ws://127.0.0.1:9/v1/realtime/translations?model=t-1"
    assert translation_endpoint(local, "t-2").url.endswith("/v1/realtime/translations?model=t-2")


def test_server_events_go_into_state_by_position() -> None:
    core, clock = _core(TranslationConfig(output_language="es"))
    heard: list[tuple[str, np.ndarray]] = []
    core.add_output_audio_tap(lambda item, samples: heard.append((item, samples)))
    got: list[str] = []
    core.on("*", lambda e: got.append(e.type))
    config = TranslationConfig(model="gpt-realtime-translate", output_language="es")
    tone = (np.sin(np.arange(4800) / 5) * 8000).astype(np.int16)
    frames = [
        _session_event("session.created", config),
        _delta("session.input_transcript.delta", "Hello ", 1200, 1),
        _delta("session.input_transcript.delta", "there", 1200, 2),
        _delta("session.input_transcript.delta", " good", 3400, 3),
        _delta("session.output_transcript.delta", "Hola", 1200, 4),
        _audio(tone, 1200, 5),
        _delta("session.output_transcript.delta", " buenas", 3400, 6),
        _delta("session.output_transcript.delta", ".", None, 7),
        _audio(tone[:2400], 3400, 8),
        '{"type": "session.closed", "event_id": "c1"}',
    ]
    for frame in frames:
        clock.t += 0.1
        assert core.receive(frame) is not None
        dispatch(core.listeners, core.take_dispatches())
    state = core.translation
    assert state.input_text == "Hello there good"
    assert state.output_text == "Hola buenas."
    rows = [(r.elapsed_ms, r.source, r.translation, r.audio_ms) for r in state.rows()]
    assert rows == [(1200, "Hello there", "Hola", 200.0), (3400, " good", " buenas.", 100.0)]
    assert (state.audio_ms, state.audio_deltas, state.closed) == (300.0, 2, True)
    assert (core.session_id, core.expires_at) == ("sess_abc", 1_800_000_000.0)
    assert core.translation_effective == config
    # The translated audio, decoded once for the output taps, under one stream id.
    assert [item for item, _ in heard] == [OUTPUT_STREAM, OUTPUT_STREAM]
    assert np.array_equal(
        np.concatenate([s for _, s in heard]), np.concatenate([tone, tone[:2400]])
    )
    assert got[0] == "session.created"
    assert got[-1] == "session.closed"
    # The history keeps an audio delta without its audio.
    entry = next(e for e in core.history if e.type == "session.output_audio.delta")
    assert entry.light is not None
    assert entry.light["delta"] == "<9600 bytes>"


def test_an_error_names_our_field_and_a_bad_frame_never_stops_the_reader() -> None:
    core, _ = _core()
    error = {
        "type": "error",
        "event_id": "e1",
        "error": {
            "type": "invalid_request_error",
            "code": "invalid_value",
            "message": "bad language",
            "param": "session.audio.output.language",
            "event_id": "evt_rw_1",
        },
    }
    core.receive(json.dumps(error))
    assert core.last_error is not None
    assert core.last_error.config_field == "output_language"
    assert core.translation.errors[0]["message"] == "bad language"
    assert core.receive("not json") is None
    assert core.receive('{"type": "session.output_audio.delta", "delta": "@@@"}') is not None
    unknown = core.receive('{"type": "session.brand_new", "event_id": "x"}')
    assert unknown is not None
    assert unknown.type == "session.brand_new"
    kinds = [e.type for e in core.history]
    assert kinds.count("client.protocol_error") == 1


def test_every_client_event_it_makes_is_the_sdks() -> None:
    core, _ = _core()
    config = TranslationConfig(output_language="fr", noise_reduction="far_field")
    texts = [
        core.encode(config.to_session_update(event_id=core.event_id())),
        core.encode({"type": "session.close", "event_id": core.event_id()}),
        *core.append_frames(np.zeros(9600, np.int16), 24000),
        *core.append_frames(np.ones(4800, np.float32) * 0.1, 48000),  # resampled to 24 kHz
        *core.flush_frames(),
    ]
    kinds = []
    for text in texts:
        event = json.loads(text)
        check_translation_client_event(event)
        kinds.append(event["type"])
    assert kinds[:3] == ["session.update", "session.close", "session.input_audio_buffer.append"]
    assert set(kinds[2:]) == {"session.input_audio_buffer.append"}
    appended = sum(len(base64.b64decode(json.loads(t)["audio"])) for t in texts[2:])
    assert abs(appended - 2 * (9600 + 2400)) <= 64  # 48 kHz in, 24 kHz PCM16 out
    # A Realtime event is not a translation client event: refused before it is sent.
    with pytest.raises(ConfigError) as caught:
        core.encode({"type": "input_audio_buffer.commit"})
    assert "'session.input_audio_buffer.append'" in str(caught.value)


def _speech(ms: int, level: float = 0.3) -> np.ndarray:
    t = np.arange(ms * 24)
    return (np.sin(t * 2 * np.pi * 220 / 24000) * level * 32767).astype(np.int16)


def test_metrics_time_the_end_of_speech_to_the_first_translated_audio() -> None:
    metrics = TranslationMetrics()
    quiet = np.zeros(200 * 24, np.int16)
    now = 10.0
    # 1 s of speech then silence, sent in 200 ms chunks in real time.
    for chunk in [*np.split(_speech(1000), 5), quiet, quiet, quiet, quiet]:
        now += 0.2
        metrics.sent(chunk, 24000, now)
    (timing,) = metrics.timings  # the end was found once 500 ms of quiet followed it
    assert timing.input_ms == pytest.approx(1000, abs=20)
    assert timing.speech_end == pytest.approx(11.0, abs=0.02)
    text = {"type": "session.output_transcript.delta", "event_id": "t", "delta": "x"}
    audio = {"type": "session.output_audio.delta", "event_id": "a", "delta": "AAAA"}
    from realtime_widgets.protocol.translation_events import parse_translation_server_event

    metrics.observe(parse_translation_server_event(text), 12.1)
    metrics.observe(parse_translation_server_event(audio), 12.4)
    metrics.observe(parse_translation_server_event(audio), 13.0)  # not the first any more
    assert timing.text_latency_ms == pytest.approx(1100, abs=20)
    assert timing.latency_ms == pytest.approx(1400, abs=20)
    assert metrics.latencies_ms() == [timing.latency_ms]
    # Quiet audio (below -45 dBFS) is no speech: no end is found in it.
    for _ in range(10):
        now += 0.2
        metrics.sent(_speech(200, level=0.001), 24000, now)
    assert len(metrics.timings) == 1


def test_speech_sent_faster_than_real_time_ends_no_earlier_than_it_was_sent() -> None:
    """A file appended in one piece: its end of speech is when it was sent, not the file's
    length of speech before it; a second file sent at once, no earlier than the first went.
    Real-time streaming (the test above) is placed as it was captured."""
    metrics = TranslationMetrics()
    quiet = np.zeros(1000 * 24, np.int16)
    metrics.sent(np.concatenate([quiet, _speech(3000), quiet]), 24000, 10.0)  # 5 s at 10.0
    (timing,) = metrics.timings
    assert timing.input_ms == pytest.approx(4000, abs=20)
    assert timing.speech_end == 10.0  # (it was 9.0: a second before the file went)
    metrics.sent(np.concatenate([_speech(1000), quiet]), 24000, 10.5)  # 5000..7000 ms
    assert metrics.timings[1].speech_end == 10.0  # (it was 9.5)
    audio = {"type": "session.output_audio.delta", "event_id": "a", "delta": "AAAA"}
    from realtime_widgets.protocol.translation_events import parse_translation_server_event

    metrics.observe(parse_translation_server_event(audio), 10.8)
    assert metrics.latencies_ms() == [800.0, 800.0]


class Words:
    def translate(self, text: str, source_language: str | None, target_language: str) -> str:
        return f"[{target_language}] {len(text.split())} palabras."


@pytest.mark.asyncio
async def test_a_whole_session_against_the_local_server(three_turns: Clip) -> None:
    """Connect with settings, update, stream real-time audio, read the state, the audio taps
    and the latency, close the session: the server's close is no lost connection."""
    async with LocalServer(
        pace=0, speech="espeak", transcriber=Counting(), translator=Words()
    ) as server:
        config = TranslationConfig(output_language="de")
        session = TranslationSession(
            config, endpoint=Endpoint.local(server.url, "gpt-realtime-translate"), reconnect=False
        )
        out: list[np.ndarray] = []
        try:
            await session.aconnect()
            assert session.effective is not None
            assert session.effective.output_language == "de"
            assert session.session_id in server.sessions
            session.add_output_audio_tap(lambda item, samples: out.append(samples))
            effective = await session.aupdate(
                output_language="es", input_transcription="gpt-4o-mini-transcribe"
            )
            assert effective.output_language == "es"
            assert session.requested == effective
            with pytest.raises(ConfigError):
                await session.aupdate(output_language="Spanish")  # refused before sending
            # Two utterances, streamed in real time (200 ms chunks, as a microphone).
            two = three_turns.samples[: int((three_turns.truth[1][1] + 1200) * 24)]
            for i in range(0, len(two), 4800):
                await session.aappend_audio(two[i : i + 4800])
                await asyncio.sleep(0.2)
            state = await session.aclose_session()
        finally:
            await session.aclose()
    assert state.closed
    assert not state.errors
    assert [(r.source.strip(), r.translation.strip()) for r in state.rows()] == [
        (state.rows()[0].source.strip(), "[es] 2 palabras."),
        (state.rows()[1].source.strip(), "[es] 2 palabras."),
    ]
    assert all(r.source.strip().startswith("call ") for r in state.rows())
    # The translated audio reached the taps, decoded, all of it.
    assert sum(len(s) for s in out) == pytest.approx(state.audio_ms * 24, abs=24)
    # The end of each utterance, to the first translated audio after it: measured, positive.
    latencies = session.metrics.latencies_ms()
    assert len(latencies) == 2
    assert all(0 < ms < 4 * TIMEOUT * 1000 for ms in latencies)
    # The server closed after session.closed: not reported as a lost connection.
    kinds = [e.type for e in session.history]
    assert "session.disconnected" not in kinds
    # Connect sent the configured language, then one update; the refused one never left.
    assert kinds.count("session.update") == 2


@pytest.mark.asyncio
async def test_a_file_sent_at_once_is_timed_from_its_send_not_before_it(
    three_turns: Clip,
) -> None:
    """Two utterances appended in one piece (as notebook 07 appends a file): each end of
    speech is placed no earlier than the append left the client, so each latency is at most
    the time the session itself recorded from that send to the first translated audio after
    the end (before, it was that plus the speech before the end in the file)."""
    async with LocalServer(
        pace=0, speech="espeak", transcriber=Counting(), translator=Words()
    ) as server:
        session = TranslationSession(
            TranslationConfig(output_language="es"),
            endpoint=Endpoint.local(server.url, "gpt-realtime-translate"),
            reconnect=False,
        )
        try:
            await session.aconnect()
            two = three_turns.samples[: int((three_turns.truth[1][1] + 1200) * 24)]
            await session.aappend_audio(two)
            for _ in range(int(TIMEOUT / 0.05)):
                if len(session.metrics.latencies_ms()) == 2:
                    break
                await asyncio.sleep(0.05)
            history = list(session.history)
        finally:
            await session.aclose()
    appends = [e.t for e in history if e.type == "session.input_audio_buffer.append"]
    sent = appends[0]  # (one append call: the frames the core split it into, at once)
    arrivals = [e.t for e in history if e.type == "session.output_audio.delta"]
    timings = session.metrics.timings
    assert len(timings) == 2
    assert all(appends[-1] <= t.speech_end < t.first_audio for t in timings if t.first_audio)
    for timing in timings:
        first = next(t for t in arrivals if t >= timing.speech_end)
        assert timing.first_audio == first
        assert timing.latency_ms is not None
        assert 0 < timing.latency_ms <= round((first - sent) * 1000, 1) + 0.1
