"""The local server's GPT-Live engine, sans-I/O on a fake clock: the session's lifecycle, turns
heard and answered, barge-in, mute, fixtures, steering appends, delegation to the client,
usage, and hostile input. Every event the engine emits is checked against the SDK's Live
server union as it comes out (:class:`~tests.server.live.LiveDriver`)."""

from __future__ import annotations

import base64
import itertools
import json
from typing import Any

import numpy as np
import pytest

from realtime_widgets.audio.rate import MODEL_RATE
from realtime_widgets.protocol.live_config import LiveConfig
from realtime_widgets.protocol.live_events import LIVE_SERVER_EVENT_TYPES
from realtime_widgets.server import live_engine, translation_engine, turns
from realtime_widgets.server.limits import ServerLimits
from realtime_widgets.server.live_engine import (
    ACKNOWLEDGEMENT,
    MAX_FIXTURE_BYTES,
    USAGE_INTERVAL_S,
    LiveEngine,
)
from realtime_widgets.server.reply.responder import ReplyContext, ResponderError
from realtime_widgets.server.reply.usage import estimate_text_tokens
from realtime_widgets.server.tts import Synthesizer
from tests.protocol.sdk_oracle import check_live_server_event
from tests.speech import Clip, recorded_clip

from .live import LiveDriver, Recognise, Script, decode_audio, live_driver

PCM24 = {"type": "audio/pcm", "rate": 24000}
HELLO = (["Hello there, how are you today?"], ["marin"])


@pytest.fixture(scope="module")
def hello() -> Clip:
    """One spoken turn: 1 s of silence, the utterance, 1.5 s of silence."""
    return recorded_clip(*HELLO)


def say(d: LiveDriver, clip: Clip, after_s: float = 12.0) -> list[dict[str, Any]]:
    """Stream ``clip`` in real time, then let ``after_s`` pass."""
    return d.stream(clip.samples) + d.run_for(after_s)


def words_heard(d: LiveDriver, key_item: dict[str, Any]) -> str:
    return str(key_item["content"][0]["transcript"])


# ---- the session ---------------------------------------------------------------------------------


def test_nothing_is_sent_before_session_start_and_every_other_event_is_refused(
    synth: Synthesizer,
) -> None:
    d = live_driver(synth)
    assert d.events == []  # no session.created: a Live session begins with the client's start
    (err,) = d.send({"type": "session.input_audio.append", "audio": "AAAA", "event_id": "a1"})
    assert err["type"] == "error"
    assert err["error"]["code"] == "session_not_started"
    assert err["error"]["param"] == "type"
    assert err["error"]["client_event_id"] == err["client_event_id"] == "a1"
    assert "session.start" in err["error"]["message"]
    assert "'session.input_audio.append'" in err["error"]["message"]
    (err,) = d.send({"type": "session.update", "session": {}})  # no event_id: none echoed
    assert err["error"]["code"] == "session_not_started"
    assert "client_event_id" not in err
    assert "client_event_id" not in err["error"]
    (err,) = d.send({"type": "session.close", "event_id": "c0"})
    assert err["error"]["code"] == "session_not_started"
    assert d.engine.closed is None


def test_session_started_carries_the_complete_resolved_session(synth: Synthesizer) -> None:
    d = live_driver(synth, fmt={"type": "audio/pcm", "rate": 16000})
    started = d.start(
        instructions="Be brief.", audio={"format": d.fmt, "output": {"voice": "beacon"}}
    )
    session = started["session"]
    assert started["client_event_id"] == "start"
    assert session["id"] == "sess_live0001"
    assert session["expires_at"] == 1_800_000_000 + 3600
    assert session["status"] == "active"
    assert session["model"] == "gpt-live-1"
    assert session["instructions"] == "Be brief."
    assert session["audio"] == {
        "format": {"type": "audio/pcm", "rate": 16000},
        "output": {"voice": "beacon"},
    }
    assert LiveConfig.from_session(session) == LiveConfig(
        instructions="Be brief.", voice="beacon", audio_format={"type": "audio/pcm", "rate": 16000}
    )
    # Defaults are resolved: a bare start reports the voice and format it got.
    d2 = live_driver(synth)
    bare = d2.send({"type": "session.start", "session": {"model": "gpt-live-1.1"}})[0]["session"]
    assert bare["model"] == "gpt-live-1.1"
    assert bare["audio"] == {"format": PCM24, "output": {"voice": "marin"}}
    # session.start comes once.
    (again,) = d.send({"type": "session.start", "session": {"model": "x"}, "event_id": "s2"})
    assert again["error"]["code"] == "session_already_started"
    assert again["error"]["client_event_id"] == "s2"


@pytest.mark.parametrize(
    ("session", "param", "words"),
    [
        (
            {"delegation": {"type": "responses", "responses": {"model": "gpt-5"}}},
            "session.delegation.type",
            ["'responses'", "Responses backend", "{'type': 'client'}"],
        ),
        (
            {
                "delegation": {
                    "type": "decisions",
                    "decisions": {
                        "model": "gpt-5-mini",
                        "questions": [{"type": "predicate", "instructions": "Done?"}],
                    },
                }
            },
            "session.delegation.type",
            ["'decisions'", "Decisions backend", "{'type': 'client'}"],
        ),
        (
            {
                "triggers": [
                    {
                        "type": "decisions",
                        "event_type": "session.input_transcript.delta",
                        "decisions": {"questions": [{"type": "predicate", "instructions": "?"}]},
                    }
                ]
            },
            "session.triggers",
            ["Decisions triggers"],
        ),
        ({"store": True}, "session.store", ["stores no session"]),
        ({"wake_policy": {"type": "speech"}}, "session.wake_policy", ["wake_policy"]),
        (
            {"audio": {"format": {"type": "audio/pcm", "rate": 8000}}},
            "session.audio.format.rate",
            [],
        ),
        ({"turn_detection": None}, "session.turn_detection", ["Unknown parameter"]),
        (
            {"instructions": "x" * (16_384 * 4 + 1)},
            "session.instructions",
            ["Invalid value for 'session.instructions'", "at most 16,384 tokens", "16,385"],
        ),
        (
            {
                "input": [
                    {"role": "user", "content": [{"type": "input_text", "text": "y" * 16_384}]},
                    {
                        "role": "assistant",
                        "content": [{"type": "output_text", "text": "z" * 16_385}],
                    },
                ]
            },
            "session.input",
            ["Invalid value for 'session.input'", "at most 8,192 tokens", "8,193"],
        ),
    ],
)
def test_session_start_refuses_what_the_server_cannot_run_naming_the_field(
    synth: Synthesizer, session: dict[str, Any], param: str, words: list[str]
) -> None:
    d = live_driver(synth)
    (err,) = d.send(
        {"type": "session.start", "event_id": "s1", "session": {"model": "gpt-live-1", **session}}
    )
    assert err["type"] == "error", err
    assert err["error"]["param"] == param
    assert err["error"]["client_event_id"] == "s1"
    for word in words:
        assert word in err["error"]["message"]
    assert not d.engine.started  # never pretended: the session did not start
    (later,) = d.send({"type": "session.input_audio.mute"})
    assert later["error"]["code"] == "session_not_started"


def test_session_update_changes_delegation_and_refuses_start_only_fields(
    synth: Synthesizer,
) -> None:
    d = live_driver(synth)
    d.start(instructions="Be brief.")
    delegation = {"type": "client", "acknowledgement_delay_ms": 250}
    (updated,) = d.send(
        {"type": "session.update", "event_id": "u1", "session": {"delegation": delegation}}
    )
    assert updated["type"] == "session.updated"
    assert updated["client_event_id"] == "u1"
    assert updated["session"]["delegation"] == delegation
    assert updated["session"]["instructions"] == "Be brief."  # complete, not a diff
    # An update that omits the delay keeps it (the SDK: omission preserves the current value).
    (kept,) = d.send({"type": "session.update", "session": {"delegation": {"type": "client"}}})
    assert kept["session"]["delegation"] == delegation
    for key, value in (("instructions", "Be long."), ("audio", {"output": {"voice": "ash"}})):
        (err,) = d.send({"type": "session.update", "event_id": "u2", "session": {key: value}})
        assert err["error"]["param"] == f"session.{key}"
        assert err["error"]["code"] == "unknown_parameter"
        assert "fixed by session.start" in err["error"]["message"]
    (err,) = d.send(
        {
            "type": "session.update",
            "session": {"delegation": {"type": "responses", "responses": {"model": "m"}}},
        }
    )
    assert err["error"]["param"] == "session.delegation.type"
    assert d.engine.config.delegation is not None
    assert d.engine.config.delegation.model_dump() == delegation  # unchanged by the refusals


# ---- turns -----------------------------------------------------------------------------------------


def test_a_spoken_turn_is_transcribed_and_answered_in_speech(
    synth: Synthesizer, hello: Clip
) -> None:
    script = Script("hello there")
    d = live_driver(synth, script)
    d.start()
    say(d, hello, after_s=16.0)
    (heard,) = d.of("session.input_transcript.delta")
    assert heard["delta"] == "hello there"
    start, end = hello.truth[0]
    # The turn's span: from the speech (with the detector's 300 ms of prefix) to its end
    # (with the 500 ms of silence that ended it), on the input audio's timeline.
    assert start - 400 <= heard["start_ms"] <= start - 200
    assert end + 300 <= heard["end_ms"] <= end + 800
    said = d.said()
    assert said.startswith("I heard: hello there. You spoke for ")
    assert "Turn detection is server VAD, threshold 0.5, silence 500 milliseconds." in said
    assert said.endswith("Voice marin at speed 1.")
    audio = decode_audio(d.events)
    expected = synth.speak(said, "marin", 1.0).samples
    assert len(audio) / 2 == pytest.approx(len(expected), rel=0.02)
    deltas = d.of("session.output_audio.delta")
    assert all(set(e) == {"type", "delta"} for e in deltas)  # no event_id, no span (primary)
    words = d.of("session.output_transcript.delta")
    assert words[0]["start_ms"] >= heard["end_ms"]  # the reply follows the turn
    for a, b in itertools.pairwise(words):
        assert a["start_ms"] <= a["end_ms"] <= b["start_ms"]
    assert words[-1]["end_ms"] - words[0]["start_ms"] == pytest.approx(len(audio) / 48, abs=120)
    assert [h for h in script.heard if h > 24000]  # the recogniser heard the turn's audio


def test_the_reply_is_paced_in_real_time(synth: Synthesizer, hello: Clip) -> None:
    d = live_driver(synth, Script("hello there"), lead=0.5)
    d.start()
    d.stream(hello.samples[: int((hello.truth[0][1] + 400) * 24)])
    while not d.of("session.output_audio.delta"):
        d.silence(20, chunk_ms=20)
    sent0 = len(decode_audio(d.events))
    assert sent0 / 48 == pytest.approx(600, abs=100)  # the lead and one chunk ahead
    d.run_for(2.0)
    sent = len(decode_audio(d.events))
    assert (sent - sent0) / 48 == pytest.approx(2000, abs=120)  # then real time


@pytest.mark.parametrize(
    ("fmt", "bytes_per_ms"),
    [
        ({"type": "audio/pcm", "rate": 24000}, 48),
        ({"type": "audio/pcm", "rate": 16000}, 32),
        ({"type": "audio/pcmu", "rate": 8000}, 8),
        ({"type": "audio/pcma", "rate": 8000}, 8),
    ],
)
def test_each_audio_format_is_heard_and_spoken_in_its_own_encoding(
    synth: Synthesizer, hello: Clip, fmt: dict[str, Any], bytes_per_ms: int
) -> None:
    script = Script("hello there")
    d = live_driver(synth, script, fmt=fmt)
    d.start()
    say(d, hello, after_s=16.0)
    (heard,) = d.of("session.input_transcript.delta")
    start, _ = hello.truth[0]
    assert heard["start_ms"] == pytest.approx(start - 300, abs=120)
    # The turn reached the recogniser at 24 kHz, as long whatever the wire format (its
    # speech: the transcription started when the speech stopped was the turn's).
    _, end = hello.truth[0]
    assert script.heard[-1] / 24 == pytest.approx(end - heard["start_ms"], abs=100)
    expected_ms = len(synth.speak(d.said(), "marin", 1.0).samples) / 24
    assert len(decode_audio(d.events)) / bytes_per_ms == pytest.approx(expected_ms, rel=0.02)


def test_a_turn_the_recogniser_made_no_words_of_is_not_answered(
    synth: Synthesizer, hello: Clip
) -> None:
    d = live_driver(synth, Script(""))
    d.start()
    say(d, hello, after_s=3.0)
    assert not d.of("session.input_transcript.delta")
    assert not d.of("session.output_transcript.delta")
    assert not d.of("session.output_audio.delta")


def test_without_a_recogniser_the_session_says_so_once_and_still_answers(
    synth: Synthesizer, hello: Clip
) -> None:
    d = live_driver(synth, None, transcriber_note="the offline extra is not installed")
    d.start()
    say(d, hello, after_s=8.0)
    say(d, hello, after_s=0.5)
    (info,) = d.of("info")
    assert info["code"] == "input_transcription_unavailable"
    assert "the offline extra is not installed" in info["message"]
    assert "pip install" in info["message"]
    assert not d.of("session.input_transcript.delta")
    assert "has no speech recogniser" in d.said()  # the default responder says what it knows


def test_without_a_voice_the_reply_goes_out_as_transcript_only_and_says_why_once(
    hello: Clip,
) -> None:
    d = live_driver(None, Script("hello there"))
    d.start()
    say(d, hello, after_s=6.0)
    assert d.said().startswith("I heard: hello there.")
    assert not d.of("session.output_audio.delta")
    (info,) = d.of("info")
    assert info["code"] == "output_audio_unavailable"


def test_a_responder_failure_is_an_error_and_the_session_goes_on(
    synth: Synthesizer, hello: Clip
) -> None:
    calls = []

    def flaky(ctx: ReplyContext) -> str:
        calls.append(ctx)
        if len(calls) == 1:
            raise ResponderError("chat_unreachable", "no chat endpoint at http://127.0.0.1:9")
        return "Back again."

    d = live_driver(synth, Script("first", "second"))
    d.responder = flaky
    d.start()
    say(d, hello, after_s=2.0)
    (err,) = d.of("error")
    assert err["error"]["code"] == "chat_unreachable"
    assert err["error"]["type"] == "server_error"
    assert "no chat endpoint" in err["error"]["message"]
    say(d, hello, after_s=3.0)
    assert d.said() == "Back again."


# ---- barge-in ----------------------------------------------------------------------------------


def test_speech_during_the_reply_stops_it_and_the_context_keeps_what_was_heard(
    synth: Synthesizer,
) -> None:
    clip = recorded_clip(
        ["Hello there, how are you today?", "Please call me back tomorrow morning."],
        ["marin", "shimmer"],
        gap_ms=3000,
    )
    d = live_driver(
        synth,
        Recognise(
            {
                "Hello there, how are you today?": "hello there",
                "Please call me back tomorrow morning.": "call me back",
            }
        ),
        lead=0.5,
    )
    d.start()
    second = clip.truth[1][0]
    d.stream(clip.samples[: int((second - 200) * 24)])
    reply_key = next(iter(d.engine._said))
    assert d.said().startswith("I heard: hello there.")  # the first reply is playing
    cut_at = None
    rest = clip.samples[int((second - 200) * 24) :]
    for i in range(0, len(rest), 960):
        d.stream(rest[i : i + 960])
        if cut_at is None and reply_key not in d.engine._said:
            cut_at = d.now
            cut_events = len(d.events)
    assert cut_at is not None, "the speech did not stop the reply"
    d.run_for(16.0)
    first_reply = d.engine.context[1]
    assert first_reply["role"] == "assistant"
    heard = words_heard(d, first_reply)
    before = d.events[:cut_events]
    sent_words = d.of("session.output_transcript.delta", before)
    position = round(cut_at * 1000)
    heard_words = [w["delta"].strip() for w in sent_words if w["start_ms"] <= position]
    assert heard == " ".join(heard_words)
    assert heard.startswith("I heard: hello there.")
    assert len(heard.split()) < len(synth_reply_words(d))
    # Sent ahead by at most the lead (and one chunk); nothing of it after the cut.
    assert all(w["start_ms"] <= position + 500 + 100 for w in sent_words)
    first_audio_ms = len(decode_audio(before)) / 48
    spoke_from = sent_words[0]["start_ms"]
    assert first_audio_ms <= position - spoke_from + 500 + 100
    after = d.events[cut_events:]
    (turn2,) = [e for e in after if e["type"] == "session.input_transcript.delta"]
    assert turn2["delta"] == " call me back"
    before_turn2 = after[: after.index(turn2)]
    assert not [e for e in before_turn2 if e["type"].startswith("session.output_")]
    # The second reply answers the second turn; the context holds the cut reply as heard.
    assert "I heard: call me back." in d.said(after)
    roles = [(i["type"], i.get("role")) for i in d.engine.context]
    assert roles == [
        ("message", "user"),
        ("message", "assistant"),
        ("message", "user"),
        ("message", "assistant"),
    ]


def synth_reply_words(d: LiveDriver) -> list[str]:
    """Every word of the first reply as the responder made it (the first reply's words are
    the output transcript up to 'Voice marin at speed 1.' in a session that let it finish)."""
    return [
        "I",
        "heard:",
        "hello",
        "there.",
        "You",
        "spoke",
        "for",
        "2.6",
        "seconds;",
        "this",
        "local",
        "server",
        "has",
        "no",
        "language",
        "model",
        "to",
        "answer.",
        "Turn",
        "detection",
        "is",
        "server",
        "VAD,",
        "threshold",
        "0.5,",
        "silence",
        "500",
        "milliseconds.",
        "Voice",
        "marin",
        "at",
        "speed",
        "1.",
    ]


# ---- mute ------------------------------------------------------------------------------------------


def test_muted_input_is_not_heard_and_its_seconds_are_billed_as_any(
    synth: Synthesizer, hello: Clip
) -> None:
    script = Script("hello there")
    d = live_driver(synth, script)
    d.start()
    (muted,) = d.send({"type": "session.input_audio.mute", "event_id": "m1"})
    assert muted == {
        "type": "session.input_audio.muted",
        "event_id": muted["event_id"],
        "client_event_id": "m1",
    }
    say(d, hello, after_s=2.0)  # 6.3 s muted
    assert script.heard == []
    assert not d.of("session.input_transcript.delta")
    (unmuted,) = d.send({"type": "session.input_audio.unmute"})
    assert unmuted["type"] == "session.input_audio.unmuted"
    assert "client_event_id" not in unmuted
    say(d, hello, after_s=2.0)
    assert [e["delta"] for e in d.of("session.input_transcript.delta")] == ["hello there"]
    closing = d.send({"type": "session.close"})
    # A WebSocket session reports its seconds only: the SDK's active/paused breakdown is for
    # eligible WebRTC sessions, and paused is their idle timeout's pause, not a mute.
    assert closing[-1]["usage"] == closing[-2]["usage"] == {"seconds": float(int(d.now))}


# ---- fixtures ----------------------------------------------------------------------------------


def fixture_event(samples: np.ndarray, event_id: str = "f1") -> dict[str, Any]:
    audio = base64.b64encode(samples.astype("<i2").tobytes()).decode()
    return {"type": "session.output_audio.fixture.play", "audio": audio, "event_id": event_id}


def test_a_fixture_plays_whole_in_the_session_format_with_the_input_muted(
    synth: Synthesizer, hello: Clip
) -> None:
    fmt = {"type": "audio/pcmu", "rate": 8000}
    script = Script("hello there")
    d = live_driver(synth, script, fmt=fmt)
    d.start()
    tone = (np.sin(np.arange(3 * MODEL_RATE) * 2 * np.pi * 440 / MODEL_RATE) * 8000).astype(
        np.int16
    )
    out = d.send(fixture_event(tone))
    assert out[0] == {
        "type": "session.output_audio.fixture.playing",
        "event_id": out[0]["event_id"],
        "client_event_id": "f1",
    }
    (again,) = d.send(fixture_event(tone[:2400], "f2"))
    assert again["error"]["code"] == "fixture_active"
    assert again["error"]["client_event_id"] == "f2"
    (refused,) = d.send({"type": "session.commentary.append", "content": "Hi", "event_id": "c"})
    assert refused["error"]["code"] == "fixture_active"
    d.stream(hello.samples[: 3 * MODEL_RATE])  # spoken while the fixture plays: not heard
    d.run_for(0.5)
    (played,) = d.of("session.output_audio.fixture.played")
    assert played["client_event_id"] == "f1"
    audio = decode_audio(d.events)
    assert len(audio) == 3 * 8000  # three seconds of G.711 at 8 kHz
    assert d.types().index("session.output_audio.fixture.played") > max(
        i for i, t in enumerate(d.types()) if t == "session.output_audio.delta"
    )
    assert script.heard == []
    assert not d.of("session.input_transcript.delta")
    say(d, hello, after_s=1.0)  # the input is heard again
    assert d.of("session.input_transcript.delta")


@pytest.mark.parametrize(
    ("audio", "words"),
    [
        ("not base64!", ["Expected base64-encoded audio", "30 s", "24 kHz"]),
        (base64.b64encode(b"\x01\x02\x03").decode(), ["not whole PCM16 samples", "30 s"]),
        ("", ["empty", "30 s"]),
        (
            base64.b64encode(bytes(MAX_FIXTURE_BYTES + 2)).decode(),
            ["30.0 s", "at most 30 s", "1,440,000 bytes"],
        ),
        (
            base64.b64encode(bytes(MAX_FIXTURE_BYTES * 2)).decode(),
            ["longer than the limit", "at most 30 s"],
        ),
    ],
)
def test_a_bad_fixture_is_refused_naming_the_field_and_the_limit(
    synth: Synthesizer, audio: str, words: list[str]
) -> None:
    d = live_driver(synth)
    d.start()
    (err,) = d.send({"type": "session.output_audio.fixture.play", "audio": audio, "event_id": "f"})
    assert err["error"]["param"] == "audio"
    assert err["error"]["client_event_id"] == "f"
    for word in words:
        assert word in err["error"]["message"]
    assert d.engine.fixture is None
    assert not d.engine.input.silenced


def test_a_fixture_interrupts_the_model_and_is_not_cut_by_speech(
    synth: Synthesizer, hello: Clip
) -> None:
    d = live_driver(synth, Script("hello there"))
    d.start()
    d.stream(hello.samples)
    d.run_for(1.0)
    assert d.said()
    out = d.send(fixture_event(np.full(MODEL_RATE, 1000, dtype=np.int16)))
    (playing,) = d.of("session.output_audio.fixture.playing", out)
    assert d.types(out)[: out.index(playing)] == []  # the model's speech stopped at once
    cut = d.engine.context[1]["content"][0]["transcript"]
    assert cut
    assert len(cut) < len(" ".join(synth_reply_words(d)))
    d.run_for(1.5)
    fixture_audio = decode_audio(d.events[d.events.index(playing) :])
    assert fixture_audio == np.full(MODEL_RATE, 1000, dtype=np.int16).tobytes()  # pcm 24 kHz
    assert d.of("session.output_audio.fixture.played")


# ---- steering --------------------------------------------------------------------------------------


def test_commentary_is_said_as_it_is(synth: Synthesizer) -> None:
    d = live_driver(synth)
    d.start()
    appended = d.send(
        {"type": "session.commentary.append", "content": "Your table is ready.", "event_id": "c1"}
    )[0]
    assert appended["type"] == "session.commentary.appended"
    assert appended["client_event_id"] == "c1"
    assert appended["start_ms"] == appended["end_ms"] == 0
    d.run_for(3.0)
    assert d.said() == "Your table is ready."
    expected = synth.speak("Your table is ready.", "marin", 1.0).samples
    assert len(decode_audio(d.events)) / 2 == pytest.approx(len(expected), rel=0.02)
    assert d.engine.context[-1]["content"] == [
        {"type": "output_audio", "transcript": "Your table is ready."}
    ]


def test_thinking_is_silent_context_and_instructions_are_appended_for_the_responder(
    synth: Synthesizer, hello: Clip
) -> None:
    seen: list[ReplyContext] = []

    def responder(ctx: ReplyContext) -> str:
        seen.append(ctx)
        return "Noted."

    d = live_driver(synth, Script("hello there"))
    d.responder = responder
    history = [
        {"role": "developer", "content": [{"type": "input_text", "text": "Call them Ada."}]},
        {"role": "user", "content": [{"type": "input_text", "text": "Hi."}]},
        {"role": "assistant", "content": [{"type": "output_text", "text": "Hello."}]},
    ]
    d.start(instructions="Be brief.", input=history)
    (thought,) = d.send(
        {"type": "session.thinking.append", "content": "The user is Ada.", "event_id": "t1"}
    )
    assert thought["type"] == "session.thinking.appended"
    assert thought["client_event_id"] == "t1"
    (told,) = d.send({"type": "session.instructions.append", "content": "Speak French."})
    assert told["type"] == "session.instructions.appended"
    d.run_for(1.0)
    assert not d.of("session.output_transcript.delta")  # neither says anything
    say(d, hello, after_s=2.0)
    (ctx,) = seen
    assert ctx.instructions == "Be brief.\n\nSpeak French."
    said = [(i["role"], i["content"][0]) for i in ctx.conversation]
    assert said[:4] == [  # the startup history, then the thinking, then the turn
        ("system", {"type": "input_text", "text": "Call them Ada."}),
        ("user", {"type": "input_text", "text": "Hi."}),
        ("assistant", {"type": "output_text", "text": "Hello."}),
        ("system", {"type": "input_text", "text": "The user is Ada."}),
    ]
    assert said[4] == ("user", {"type": "input_audio", "transcript": "hello there"})
    assert ctx.last_user_text == "hello there"
    assert [t.name for t in ctx.config.tools] == ["delegate"]
    assert d.said() == "Noted."


@pytest.mark.parametrize(
    "kind", ["session.commentary.append", "session.thinking.append", "session.instructions.append"]
)
def test_an_append_over_500_tokens_or_for_an_unknown_delegation_is_refused(
    synth: Synthesizer, kind: str
) -> None:
    d = live_driver(synth)
    d.start()
    (err,) = d.send({"type": kind, "content": "word " * 401, "event_id": "x"})
    assert err["error"]["param"] == "content"
    assert "at most 500" in err["error"]["message"]
    (err,) = d.send({"type": kind, "content": "ok", "delegation_id": "deleg_nope"})
    assert err["error"]["param"] == "delegation_id"
    assert "deleg_nope" in err["error"]["message"]


# ---- delegation -------------------------------------------------------------------------------------


def test_the_local_responder_delegates_a_request_that_says_so_and_speaks_the_answer(
    synth: Synthesizer, hello: Clip
) -> None:
    d = live_driver(synth, Script("please delegate booking a table for two"))
    d.start(delegation={"type": "client"})
    say(d, hello, after_s=4.0)
    (created,) = d.of("session.delegation.created")
    delegation = created["delegation"]
    assert delegation["type"] == "delegation"
    assert delegation["target"] == "client"
    assert "response_id" not in delegation
    heard = d.of("session.input_transcript.delta")[0]
    assert created["offset_ms"] >= heard["end_ms"]
    assert d.said() == ACKNOWLEDGEMENT  # nothing else was said: the acknowledgement (0 ms)
    call = d.engine.context[-2]
    assert call["type"] == "function_call"
    assert call["call_id"] == delegation["id"]
    assert json.loads(call["arguments"]) == {"task": "please delegate booking a table for two"}
    start = len(d.events)
    appended = d.send(
        {
            "type": "session.commentary.append",
            "content": "Booked for 7 pm.",
            "delegation_id": delegation["id"],
            "event_id": "r1",
        }
    )[0]
    assert appended["type"] == "session.commentary.appended"
    d.run_for(6.0)
    said = d.said(d.events[start:])
    assert said == " The tool delegate returned: Booked for 7 pm."


def test_an_answer_within_the_acknowledgement_delay_cancels_the_acknowledgement(
    synth: Synthesizer, hello: Clip
) -> None:
    d = live_driver(synth, Script("delegate this please"))
    d.start(delegation={"type": "client", "acknowledgement_delay_ms": 1500})
    d.stream(hello.samples[: int((hello.truth[0][1] + 400) * 24)])
    while not d.of("session.delegation.created"):
        d.silence(20, chunk_ms=20)
    (created,) = d.of("session.delegation.created")
    d.run_for(1.0)
    assert not d.said()  # still waiting for the delay
    d.send(
        {
            "type": "session.thinking.append",
            "content": "Working on it: 2 of 5 done.",
            "delegation_id": created["delegation"]["id"],
        }
    )
    d.run_for(3.0)
    assert not d.said()  # thinking cancels the acknowledgement and says nothing
    assert d.engine.context[-1] == {
        "id": d.engine.context[-1]["id"],
        "type": "function_call_output",
        "call_id": created["delegation"]["id"],
        "output": "Working on it: 2 of 5 done.",
    }


def test_decision_and_responses_events_get_an_error_the_session_goes_on(
    synth: Synthesizer,
) -> None:
    d = live_driver(synth)
    d.start()
    for event in (
        {"type": "decision.create", "event_id": "d1"},
        {"type": "decision.item.delete", "item_id": "x", "event_id": "d2"},
        {"type": "response.create", "event_id": "d3"},
        {"type": "response.item.create", "item": {"type": "message"}, "event_id": "d4"},
    ):
        (err,) = d.send(event)
        assert err["error"]["client_event_id"] == event["event_id"]
        assert "Responses or Decisions backend" in err["error"]["message"]
    (ok,) = d.send({"type": "session.input_audio.mute"})
    assert ok["type"] == "session.input_audio.muted"


# ---- usage and the end --------------------------------------------------------------------------


def test_usage_goes_out_periodically_and_the_close_reports_the_whole_session(
    synth: Synthesizer,
) -> None:
    d = live_driver(synth)
    d.start(instructions="Hi.")
    d.run_for(12.0, step=0.5)
    usage = d.of("session.usage.updated")
    assert [u["usage"]["seconds"] for u in usage] == [5.0, 10.0]
    assert all(set(u["usage"]) == {"seconds"} for u in usage)  # no WebRTC breakdown
    assert all(0 < u["context_window"]["usage_ratio"] < 1 for u in usage)
    assert USAGE_INTERVAL_S == 5.0
    last_usage, closed = d.send({"type": "session.close", "event_id": "bye"})
    assert last_usage["type"] == "session.usage.updated"
    assert closed["type"] == "session.closed"
    assert closed["reason"] == "close_requested"
    assert closed["client_event_id"] == "bye"
    assert closed["usage"] == last_usage["usage"] == {"seconds": 12.0}
    assert closed["session"]["id"] == "sess_live0001"
    assert closed["session"]["instructions"] == "Hi."
    assert closed["session"]["status"] == "active"
    assert d.engine.closed == (1000, "session closed")
    assert d.send({"type": "session.input_audio.mute"}) == []  # nothing after the end


def test_the_maximum_duration_closes_the_session_expired(synth: Synthesizer) -> None:
    d = live_driver(synth, limits=ServerLimits(max_duration_s=8.0))
    d.start()
    out = d.run_for(9.0, step=0.5)
    assert out[-1]["type"] == "session.closed"
    assert out[-1]["reason"] == "expired"
    assert out[-1]["usage"]["seconds"] == 8.0
    assert d.engine.closed == (1001, "session_expired")


# ---- hostile input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "code", "param", "client_id"),
    [
        ("{not json", "invalid_json", None, None),
        ("[1, 2]", "invalid_json", None, None),
        ('"text"', "invalid_json", None, None),
        ("[" * 5000 + "]" * 5000, "invalid_json", None, None),
        ('{"event_id": "h1"}', "missing_required_parameter", "type", "h1"),
        ('{"type": 7, "event_id": "h1"}', "invalid_type", "type", "h1"),
        ('{"type": "response.cancel", "event_id": "h1"}', "invalid_value", "type", "h1"),
        ('{"type": "session.input_audio.mute", "x": 1}', "unknown_parameter", "x", None),
        ('{"type": "session.commentary.append"}', "missing_required_parameter", "content", None),
        ('{"type": "session.input_audio.append", "audio": 5}', "invalid_type", "audio", None),
        (
            '{"type": "session.input_audio.append", "audio": "@@@", "event_id": "h1"}',
            "invalid_value",
            "audio",
            "h1",
        ),
    ],
)
def test_hostile_input_gets_an_error_and_the_session_goes_on(
    synth: Synthesizer, frame: str, code: str, param: str | None, client_id: str | None
) -> None:
    d = live_driver(synth)
    d.start()
    (err,) = d.send(frame)
    assert err["type"] == "error"
    assert err["error"]["code"] == code
    assert err["error"].get("param") == param
    assert err["error"].get("client_event_id") == err.get("client_event_id") == client_id
    (ok,) = d.send({"type": "session.input_audio.mute"})
    assert ok["type"] == "session.input_audio.muted"


def test_live_reads_and_ends_through_the_one_engine_core() -> None:
    """GPT-Live has no reader, clock or expiry of its own: the base receive and tick are the
    only ones, with Live's hooks (its error shape, union, the gate before session.start, the
    end). The input part's turn events are one constant, which both kinds without Realtime
    turns keep inside; a failure met outside the engine is built by Live's emitter with the
    connection's id, leaving the session's ids and error count alone."""
    for name in ("receive", "tick", "next_due", "append_samples", "vad_ready"):
        assert name not in LiveEngine.__dict__, name
    assert live_engine.TURN_EVENTS is translation_engine.TURN_EVENTS is turns.TURN_EVENTS
    assert {
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.timeout_triggered",
    } == turns.TURN_EVENTS
    engine = LiveEngine(session_id="sess_live0009")
    engine.start(0.0)
    failure = engine.failure_event("boom", "event_fail00001")
    check_live_server_event(failure)
    assert failure == {
        "type": "error",
        "event_id": "event_fail00001",
        "error": {"type": "server_error", "code": "server_error", "message": "boom"},
    }
    assert engine.stats["errors"] == 0
    (early,) = engine.receive('{"type": "session.close", "event_id": "c0"}', 0.1)
    assert early["event_id"] == "event_live000900001"  # the session's first id: untouched
    assert early["error"]["code"] == "session_not_started"


def test_a_live_update_with_a_realtime_beta_key_is_refused_not_taken_for_a_beta_client(
    synth: Synthesizer,
) -> None:
    d = live_driver(synth)
    d.start()
    (err,) = d.send({"type": "session.update", "event_id": "u1", "session": {"voice": "ash"}})
    assert err["error"]["code"] == "unknown_parameter"
    assert err["error"]["param"] == "session.voice"
    assert d.engine.closed is None  # (a Realtime GA update without type would close 4000)


def test_an_oversized_append_is_refused_naming_the_limit(synth: Synthesizer) -> None:
    d = live_driver(synth, limits=ServerLimits(max_append_bytes=4800))
    d.start()
    audio = base64.b64encode(bytes(9600)).decode()
    (err,) = d.send({"type": "session.input_audio.append", "audio": audio, "event_id": "big"})
    assert err["error"]["param"] == "audio"
    assert "exceeds the maximum size" in err["error"]["message"]
    assert err["error"]["client_event_id"] == "big"


# ---- a whole session, every event checked ----------------------------------------------------------


def test_a_whole_session_emits_only_what_the_sdk_models(synth: Synthesizer) -> None:
    clip = recorded_clip(
        [
            "Hello there, how are you today?",
            "Please call me back tomorrow morning.",
            "I would like to book a table for two.",
        ],
        ["marin", "shimmer", "ash"],
        gap_ms=3000,
    )
    d = live_driver(
        synth,
        Recognise(
            {
                "Hello there, how are you today?": "hello there",
                "Please call me back tomorrow morning.": "call me back",
                "I would like to book a table for two.": "please delegate a table for two",
            }
        ),
        lead=0.5,
        fmt={"type": "audio/pcm", "rate": 16000},
    )
    d.start(delegation={"type": "client"}, instructions="Be brief.")
    d.send({"type": "session.instructions.append", "content": "Use metric units."})
    d.send({"type": "session.thinking.append", "content": "The user is Ada."})
    d.stream(clip.samples)  # a turn, a barge-in, a delegation
    d.run_for(3.0)
    (created,) = d.of("session.delegation.created")
    d.send(
        {
            "type": "session.commentary.append",
            "content": "Booked.",
            "delegation_id": created["delegation"]["id"],
        }
    )
    d.run_for(5.0)
    d.send({"type": "session.input_audio.mute"})
    d.silence(1000)
    d.send({"type": "session.input_audio.unmute"})
    d.send(fixture_event(np.zeros(12000, dtype=np.int16)))
    d.run_for(1.0)
    d.send({"type": "session.commentary.append", "content": "That is all."})
    d.run_for(3.0)
    d.send("{broken")
    d.send({"type": "session.close"})
    kinds = set(d.types())
    assert kinds == {
        "session.started",
        "session.instructions.appended",
        "session.thinking.appended",
        "session.input_transcript.delta",
        "session.output_transcript.delta",
        "session.output_audio.delta",
        "session.delegation.created",
        "session.commentary.appended",
        "session.input_audio.muted",
        "session.input_audio.unmuted",
        "session.output_audio.fixture.playing",
        "session.output_audio.fixture.played",
        "session.usage.updated",
        "error",
        "session.closed",
    }
    assert kinds <= LIVE_SERVER_EVENT_TYPES
    replies = [i for i in d.engine.context if i.get("role") == "assistant"]
    first = replies[0]["content"][0]["transcript"]
    assert first.startswith("I heard: hello there.")  # the first reply, cut by the second turn
    assert not first.endswith("speed 1.")
    # (LiveDriver checked each event against the SDK's union as it came out.)


def test_past_the_context_budget_the_oldest_items_go_and_the_newest_stays() -> None:
    """``ServerLimits.context_tokens`` bounds what the Live server keeps: startup items past
    it drop oldest first, what is left fits the budget with the instructions, and the newest
    item always stays, even alone over the budget."""
    words = [" ".join(f"w{i}x{j}" for j in range(40)) for i in range(8)]
    d = live_driver(None, limits=ServerLimits(context_tokens=200))
    d.start(
        instructions="Be brief.",
        input=[{"role": "user", "content": [{"type": "input_text", "text": w}]} for w in words],
    )
    engine = d.engine
    kept = [item["content"][0]["text"] for item in engine.context]
    assert 1 <= len(kept) < len(words)
    assert kept == words[-len(kept) :]  # the newest, in order
    assert engine._context_tokens() <= 200
    # one more item than fits would not: the count taken away matches a count made afresh
    first = words[-len(kept) - 1]
    assert estimate_text_tokens(first) + engine._context_tokens() > 200

    alone = live_driver(None, limits=ServerLimits(context_tokens=5))
    alone.start(input=[{"role": "user", "content": [{"type": "input_text", "text": words[0]}]}])
    assert [item["content"][0]["text"] for item in alone.engine.context] == [words[0]]
