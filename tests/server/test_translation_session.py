"""Translation sessions on the local server (sans-I/O, on a fake clock): segments cut by the
server's own VAD, heard by the transcriber, translated by the pluggable translator, spoken by
the voice; what the server lacks said once, what a segment suffered said per segment; never a
translation it did not get. Every event validates strictly against the SDK's translation
server union, and none of the Realtime turn events leaks out."""

from __future__ import annotations

import base64
import functools
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from realtime_widgets.protocol.parts import NoiseReduction
from realtime_widgets.protocol.translation_config import TranslationConfig
from realtime_widgets.server.engine import EngineOptions, engine_for
from realtime_widgets.server.input_transcripts import run_inline
from realtime_widgets.server.limits import ServerLimits
from realtime_widgets.server.reply.material import ReplyRequest, produce_reply_sync
from realtime_widgets.server.reply.responder import ResponderError
from realtime_widgets.server.reply.translator import TranslationCall
from realtime_widgets.server.speech import Speech, SpeechSynthesizer, Voices
from realtime_widgets.server.translation_engine import (
    FRAME_MS,
    MAX_SEGMENT_MS,
    NO_TRANSLATOR,
    VOICE_LANGUAGE_UNSUPPORTED,
    TranslationEngine,
)
from realtime_widgets.server.tts import EspeakLanguageVoice, Synthesizer, load_voices
from realtime_widgets.server.turns import TURN_EVENTS
from tests.protocol.sdk_oracle import check_translation_server_event
from tests.speech import Clip, b64

from .conftest import Counting


@dataclass
class Translations:
    """A translator for tests: answers "traduccion N" (never the source text) and keeps what it
    was asked; ``fail``: raise this ResponderError instead for the calls whose number is in
    ``failing``."""

    asked: list[tuple[str, str | None, str]] = field(default_factory=list)
    failing: set[int] = field(default_factory=set)

    def translate(self, text: str, source_language: str | None, target_language: str) -> str:
        self.asked.append((text, source_language, target_language))
        if len(self.asked) in self.failing:
            raise ResponderError("chat_timeout", "chat endpoint (test): no first token in 1 s")
        return f"traduccion {len(self.asked)}."


@dataclass
class TranslationDriver:
    """Runs a TranslationEngine synchronously on a fake clock: the transcription jobs and the
    translation requests inline (the request's own responder, its speech from the request's
    speaker, as LocalServer.reply speaks it; ``spoken`` records which speaker said what)."""

    engine: TranslationEngine
    now: float = 0.0
    events: list[dict[str, Any]] = field(default_factory=list)
    hold: bool = False  # keep the translation requests in ``held`` instead of answering them
    held: list[ReplyRequest] = field(default_factory=list)
    spoken: list[tuple[SpeechSynthesizer, str]] = field(default_factory=list)

    def send(self, event: dict[str, Any], advance: float = 0.0) -> list[dict[str, Any]]:
        self.now += advance
        out = self.engine.receive(json.dumps(event), self.now)
        out += self._work()
        self.events += out
        return out

    def _work(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            done = run_inline(self.engine, self.engine.options.transcriber, self.now)
            requests = self.engine.take_requests()
            out += done
            if not requests and not done:
                return out
            if self.hold:
                self.held += requests
                continue
            for request in requests:
                assert isinstance(request.responder, TranslationCall)
                speaker = request.speaker
                speak = None if speaker is None else functools.partial(self._speak, speaker)
                try:
                    material = produce_reply_sync(request, request.responder, speak)
                except ResponderError as exc:
                    out += self.engine.reply_end(request, self.now, exc)
                    continue
                out += self.engine.reply_ready(request, material, self.now)

    def _speak(self, speaker: SpeechSynthesizer, text: str, voice: str, speed: float) -> Speech:
        self.spoken.append((speaker, text))
        return speaker.speak(text, voice, speed)

    def stream(self, samples: np.ndarray, chunk_ms: int = 200) -> list[dict[str, Any]]:
        """Append audio in 200 ms chunks (the SDK's advice), the clock following it."""
        out: list[dict[str, Any]] = []
        step = chunk_ms * 24
        for i in range(0, len(samples), step):
            out += self.send(
                {"type": "session.input_audio_buffer.append", "audio": b64(samples[i : i + step])},
                advance=chunk_ms / 1000,
            )
        return out

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]

    def text(self, kind: str) -> str:
        return "".join(e["delta"] for e in self.of(kind))


def _driver(
    *,
    transcriber: Any = None,
    translator: Any = None,
    voice: SpeechSynthesizer | None = None,
    voices: Voices | None = None,
    config: dict[str, Any] | None = None,
) -> TranslationDriver:
    """A session of a server whose own voice is ``voice`` (None: speech off) and whose other
    languages are eSpeak NG's, as LocalServer loads them (:func:`load_voices`); or with
    ``voices`` as given."""
    if voices is None:
        voices = load_voices(voice, "speaking with a test voice" if voice else "speech is off")
    engine = engine_for(
        "translation",
        model="gpt-realtime-translate",
        options=EngineOptions(
            pace=0,
            wall_clock=lambda: 1_700_000_000.0,
            transcriber=transcriber,
            translator=translator,
            voices=voices,
        ),
        session_id="sess_tr000001",
    )
    assert isinstance(engine, TranslationEngine)
    d = TranslationDriver(engine)
    d.events += engine.start(0.0)
    if config is not None:
        (updated,) = d.send({"type": "session.update", "session": config})
        assert updated["type"] == "session.updated", updated
    return d


def _valid(d: TranslationDriver) -> None:
    """Every event the session sent is one the SDK's translation union models, exactly."""
    for event in d.events:
        check_translation_server_event(event)
        assert event["type"] not in TURN_EVENTS


SPANISH = {"audio": {"output": {"language": "es"}}}
WITH_SOURCE = {
    "audio": {"output": {"language": "es"}, "input": {"transcription": {"model": "whisper-1"}}}
}


def test_created_is_the_complete_session_and_updates_keep_the_model() -> None:
    d = _driver()
    (created,) = d.events
    session = created["session"]
    assert (session["id"], session["type"], session["model"]) == (
        "sess_tr000001",
        "translation",
        "gpt-realtime-translate",
    )
    assert session["expires_at"] == 1_700_000_000 + 3600
    assert TranslationConfig.from_session(session) == TranslationConfig()
    (updated,) = d.send({"type": "session.update", "event_id": "u1", "session": WITH_SOURCE})
    config = TranslationConfig.from_session(updated["session"])
    assert (config.output_language, config.input_transcription.model) == ("es", "whisper-1")  # type: ignore[union-attr]
    assert d.engine.config == config
    _valid(d)


@pytest.mark.parametrize(
    ("session", "param", "fragment"),
    [
        ({"type": "translation"}, "session.type", "Unknown parameter: 'session.type'."),
        ({"model": "other"}, "session.model", "Unknown parameter: 'session.model'."),
        ({"audio": {"output": {"language": "spanish"}}}, "session.audio.output.language", "ISO"),
        (
            {"audio": {"input": {"turn_detection": {"type": "server_vad"}}}},
            "session.audio.input.turn_detection",
            "Unknown parameter",
        ),
        ({"instructions": "x", "voice": "marin"}, "session.instructions", "Unknown parameter"),
    ],
)
def test_a_bad_update_gets_openais_error_and_the_session_goes_on(
    session: dict[str, Any], param: str, fragment: str
) -> None:
    d = _driver()
    (error,) = d.send({"type": "session.update", "event_id": "bad1", "session": session})
    assert error["type"] == "error"
    assert (error["error"]["param"], error["error"]["event_id"]) == (param, "bad1")
    assert fragment in error["error"]["message"]
    assert d.engine.closed is None  # (a beta key without "type" is no beta client here)
    assert d.send({"type": "session.update", "session": SPANISH})[0]["type"] == "session.updated"
    _valid(d)


def test_an_update_without_strength_keeps_the_current_strength() -> None:
    """The SDK: "Omitting strength from a session update preserves the current strength"; a
    new noise reduction (after it was off) starts without one (the server's 1)."""
    d = _driver()
    near = {"audio": {"input": {"noise_reduction": {"type": "near_field", "strength": 0.5}}}}
    (first,) = d.send({"type": "session.update", "session": near})
    far = {"audio": {"input": {"noise_reduction": {"type": "far_field"}}}}
    (kept,) = d.send({"type": "session.update", "session": far})
    reported = kept["session"]["audio"]["input"]["noise_reduction"]
    assert reported == {"type": "far_field", "strength": 0.5}
    assert d.engine.config.noise_reduction == NoiseReduction(type="far_field", strength=0.5)
    # Other fields of the update do not touch it; a new strength replaces it.
    (language,) = d.send({"type": "session.update", "session": SPANISH})
    assert language["session"]["audio"]["input"]["noise_reduction"]["strength"] == 0.5
    assert d.engine.config.noise_reduction == NoiseReduction(type="far_field", strength=0.5)
    stronger = {"audio": {"input": {"noise_reduction": {"type": "far_field", "strength": 0.9}}}}
    (changed,) = d.send({"type": "session.update", "session": stronger})
    assert changed["session"]["audio"]["input"]["noise_reduction"]["strength"] == 0.9
    # Off, then on again without a strength: nothing is carried over from before it was off.
    off = {"audio": {"input": {"noise_reduction": None}}}
    (switched_off,) = d.send({"type": "session.update", "session": off})
    assert switched_off["session"]["audio"]["input"]["noise_reduction"] is None
    (again,) = d.send({"type": "session.update", "session": far})
    assert again["session"]["audio"]["input"]["noise_reduction"] == {"type": "far_field"}
    assert first["type"] == "session.updated"
    _valid(d)


@pytest.mark.parametrize(
    ("event", "param", "fragment"),
    [
        ({"type": "input_audio_buffer.append", "audio": "AAAA"}, "type", "'session.close'"),
        ({"type": "response.create"}, "type", "Supported values are: 'session.update'"),
        ({"type": "session.input_audio_buffer.append"}, "audio", "Missing required"),
        ({"type": "session.input_audio_buffer.append", "audio": "%%%"}, "audio", "base64"),
        ({"type": "session.close", "extra": 1}, "extra", "Unknown parameter: 'extra'."),
        ({"type": 5}, "type", "Invalid type for 'type': expected a string, but got a number"),
        ({"type": None}, "type", "Missing required parameter: 'type'."),
        ({"audio": "AAAA"}, "type", "Missing required parameter: 'type'."),
        ({"type": ["session.close"]}, "type", "expected a string, but got an array instead."),
    ],
)
def test_a_malformed_event_gets_an_error_naming_it(
    event: dict[str, Any], param: str, fragment: str
) -> None:
    d = _driver()
    (error,) = d.send({**event, "event_id": "e9"})
    assert error["type"] == "error"
    assert (error["error"]["param"], error["error"]["event_id"]) == (param, "e9")
    assert fragment in error["error"]["message"]
    assert d.engine.closed is None
    _valid(d)


def test_segments_are_heard_translated_and_spoken(three_turns: Clip, synth: Synthesizer) -> None:
    heard = Counting()
    translator = Translations()
    d = _driver(transcriber=heard, translator=translator, voice=synth, config=WITH_SOURCE)
    d.stream(np.concatenate([three_turns.samples, np.zeros(24000, np.int16)]))
    # Three utterances, three segments: each translated once, into Spanish, from what the
    # recogniser heard (the last call before each cut: a pause may be heard early, and again
    # when speech resumed).
    texts = [a[0] for a in translator.asked]
    calls = [int(t.removeprefix("call ")) for t in texts]
    assert len(calls) == 3
    assert calls == sorted(set(calls))
    assert all(a[1:] == (None, "es") for a in translator.asked)
    assert d.text("session.input_transcript.delta") == " ".join(texts)
    assert d.text("session.output_transcript.delta") == (
        "traduccion 1. traduccion 2. traduccion 3."
    )
    # Each segment's audio: as long as its spoken translation, in 200 ms PCM16 deltas.
    audio = d.of("session.output_audio.delta")
    assert {(a["format"], a["sample_rate"], a["channels"]) for a in audio} == {("pcm16", 24000, 1)}
    pcm = [base64.b64decode(a["delta"]) for a in audio]
    assert all(len(p) <= FRAME_MS * 48 for p in pcm)
    # Spoken in Spanish: by eSpeak NG's Spanish voice (as long as it makes the text, to its
    # renders' ~25 ms spread; its English voice makes it 3,300 samples longer), never English.
    spanish = synth.in_language("es")
    assert spanish is not None
    assert [(speaker, text) for speaker, text in d.spoken] == [
        (spanish, f"traduccion {n}.") for n in (1, 2, 3)
    ]
    spoken = spanish.speak("traduccion 1.", "alloy", 1.0).samples
    first = [
        p for a, p in zip(audio, pcm, strict=True) if a["elapsed_ms"] == audio[0]["elapsed_ms"]
    ]
    assert abs(sum(len(p) for p in first) // 2 - len(spoken)) < 1200
    # elapsed_ms: each segment's end on the input timeline, in whole 200 ms frames, after its
    # speech and within the silence that ended it.
    ends = sorted({e["elapsed_ms"] for e in d.events if "elapsed_ms" in e})
    assert len(ends) == 3
    for end, (_, truth_end) in zip(ends, three_turns.truth, strict=True):
        assert end % FRAME_MS == 0
        assert truth_end <= end <= truth_end + 1200
    # Source first, then its translation, then its audio, segment by segment.
    order = [e["type"] for e in d.events if e.get("elapsed_ms") == ends[1]]
    assert order.index("session.input_transcript.delta") < order.index(
        "session.output_transcript.delta"
    )
    assert order[-1] == "session.output_audio.delta"
    # The recogniser heard each utterance (its pause's speculation reused at the cut).
    (start, end) = three_turns.truth[0]
    assert any(abs(n / 24 - (end - start)) < 1200 for n in heard.heard)
    assert not d.of("error")
    _valid(d)


def test_without_input_transcription_only_the_translation_comes(
    three_turns: Clip, synth: Synthesizer
) -> None:
    d = _driver(transcriber=Counting(), translator=Translations(), voice=synth, config=SPANISH)
    d.stream(three_turns.samples[: int((three_turns.truth[0][1] + 1200) * 24)])
    assert not d.of("session.input_transcript.delta")
    assert d.text("session.output_transcript.delta") == "traduccion 1."
    assert d.of("session.output_audio.delta")
    _valid(d)


def test_without_a_translator_it_says_so_once_and_the_input_transcript_still_flows(
    three_turns: Clip, synth: Synthesizer
) -> None:
    d = _driver(transcriber=Counting(), voice=synth, config=WITH_SOURCE)
    d.stream(np.concatenate([three_turns.samples, np.zeros(24000, np.int16)]))
    (error,) = d.of("error")  # three segments, one error: the server's lack, said once
    assert error["error"]["code"] == "translator_unavailable"
    assert error["error"]["message"] == NO_TRANSLATOR
    assert "never passes the source text off" in error["error"]["message"]
    heard = d.text("session.input_transcript.delta").split(" ")
    assert heard[::2] == ["call"] * 3  # three segments heard
    # No translation is invented: no output transcript, no audio, not the source text.
    assert not d.of("session.output_transcript.delta")
    assert not d.of("session.output_audio.delta")
    _valid(d)


def test_without_a_recogniser_it_says_so_once(three_turns: Clip) -> None:
    d = _driver(translator=Translations(), config=WITH_SOURCE)
    d.stream(three_turns.samples)
    (error,) = d.of("error")
    assert error["error"]["code"] == "transcription_unavailable"
    assert "no speech recogniser" in error["error"]["message"]
    assert "transcriber=" in error["error"]["message"]
    assert not d.of("session.input_transcript.delta")
    assert not d.of("session.output_transcript.delta")
    _valid(d)


def test_without_a_target_language_it_asks_for_one(three_turns: Clip) -> None:
    translator = Translations()
    d = _driver(transcriber=Counting(), translator=translator)
    d.stream(three_turns.samples[: int((three_turns.truth[1][1] + 1200) * 24)])
    (error,) = d.of("error")
    assert error["error"]["code"] == "output_language_missing"
    assert error["error"]["param"] == "session.audio.output.language"
    assert translator.asked == []
    # Once it is set, the next segment is translated.
    d.send({"type": "session.update", "session": SPANISH})
    third = three_turns.samples[int((three_turns.truth[1][1] + 1200) * 24) :]
    d.stream(third)
    assert len(translator.asked) == 1
    assert translator.asked[0][0].startswith("call ")
    _valid(d)


def test_a_failed_translation_is_an_error_for_that_segment_only(
    three_turns: Clip, synth: Synthesizer
) -> None:
    translator = Translations(failing={2})
    d = _driver(transcriber=Counting(), translator=translator, voice=synth, config=SPANISH)
    d.stream(np.concatenate([three_turns.samples, np.zeros(24000, np.int16)]))
    (error,) = d.of("error")
    assert error["error"]["code"] == "chat_timeout"
    assert error["error"]["message"].startswith("The translation of a segment failed: ")
    assert d.text("session.output_transcript.delta") == "traduccion 1. traduccion 3."
    _valid(d)


def test_a_failed_transcription_is_an_error_for_each_segment(three_turns: Clip) -> None:
    def broken(audio: np.ndarray) -> str:
        raise RuntimeError("the microphone was a toaster")

    translator = Translations()
    d = _driver(transcriber=broken, translator=translator, config=SPANISH)
    d.stream(three_turns.samples[: int((three_turns.truth[1][1] + 1200) * 24)])
    errors = d.of("error")
    assert [e["error"]["code"] for e in errors] == ["transcription_failed"] * 2  # per segment
    assert "RuntimeError: the microphone was a toaster" in errors[0]["error"]["message"]
    assert translator.asked == []
    assert d.engine.closed is None
    _valid(d)


def test_without_a_voice_the_translation_comes_as_text_and_says_why_once(
    three_turns: Clip,
) -> None:
    d = _driver(transcriber=Counting(), translator=Translations(), config=SPANISH)
    d.stream(np.concatenate([three_turns.samples, np.zeros(24000, np.int16)]))
    (error,) = d.of("error")
    assert error["error"]["code"] == "speech_unavailable"
    assert d.text("session.output_transcript.delta").count("traduccion") == 3
    assert not d.of("session.output_audio.delta")
    _valid(d)


class English:
    """A voice that speaks English only (as Piper's packaged voice does), recording what it
    was asked to say."""

    description = "an English test voice"

    def __init__(self) -> None:
        self.said: list[str] = []

    def speak(
        self, text: str, voice: str = "alloy", speed: float = 1.0, rate: int = 24000
    ) -> Speech:
        self.said.append(text)
        return Speech(np.full(4800, 1000, np.int16), rate, (0.0,))


def _language(d: TranslationDriver, language: str) -> None:
    (updated,) = d.send(
        {"type": "session.update", "session": {"audio": {"output": {"language": language}}}}
    )
    assert updated["type"] == "session.updated"


def _turn(three_turns: Clip, n: int) -> np.ndarray:
    """The clip's turn ``n`` with the silence that ends it as a segment."""
    start, end = three_turns.truth[n]
    return np.concatenate(
        [three_turns.samples[int(start * 24) : int(end * 24)], np.zeros(24000, np.int16)]
    )


def test_each_language_is_spoken_by_its_own_voice(three_turns: Clip, synth: Synthesizer) -> None:
    """English by the server's own voice, Spanish and French by eSpeak NG's Spanish and French
    voices: the translation's language picks the voice, segment by segment."""
    own = English()
    d = _driver(transcriber=Counting(), translator=Translations(), voice=own)
    for n, language in enumerate(("en", "es", "fr")):
        _language(d, language)
        d.stream(_turn(three_turns, n))
    speakers = [speaker for speaker, _ in d.spoken]
    assert speakers[0] is own
    assert own.said == ["traduccion 1."]
    assert [(s.identifier, s.espeak) for s in speakers[1:]] == [  # type: ignore[attr-defined]
        ("roa/es", synth),
        ("roa/fr", synth),
    ]
    assert all(isinstance(s, EspeakLanguageVoice) for s in speakers[1:])
    # Each segment's audio is its voice's: the English one's constant level, then eSpeak's.
    audio = d.of("session.output_audio.delta")
    ends = sorted({a["elapsed_ms"] for a in audio})
    assert len(ends) == 3
    first = np.concatenate(
        [
            np.frombuffer(base64.b64decode(a["delta"]), "<i2")
            for a in audio
            if a["elapsed_ms"] == ends[0]
        ]
    )
    assert set(first.tolist()) == {1000}
    assert not d.of("error")
    _valid(d)


def test_a_language_no_voice_speaks_is_said_once_and_the_transcript_flows(
    three_turns: Clip, synth: Synthesizer
) -> None:
    """Yoruba: eSpeak NG has no voice for it. The translation comes as text, one error names
    the language, and no voice reads it (the English one least of all); once the session
    switches to Spanish, its segments are spoken again. Zulu is said once too, by name."""
    own = English()
    yoruba = {"audio": {**WITH_SOURCE["audio"], "output": {"language": "yo"}}}
    d = _driver(transcriber=Counting(), translator=Translations(), voice=own, config=yoruba)
    d.stream(np.concatenate([three_turns.samples, np.zeros(24000, np.int16)]))
    (error,) = d.of("error")
    assert error["error"]["code"] == VOICE_LANGUAGE_UNSUPPORTED
    assert error["error"]["param"] == "session.audio.output.language"
    message = error["error"]["message"]
    assert message.startswith("No voice of this local server speaks the language 'yo', so")
    assert "text only" in message
    assert f"{synth.description} has no voice for 'yo'" in message
    # The transcripts flow: three segments heard, three translated, none spoken.
    assert d.text("session.input_transcript.delta").split(" ")[::2] == ["call"] * 3
    assert d.text("session.output_transcript.delta") == (
        "traduccion 1. traduccion 2. traduccion 3."
    )
    assert not d.of("session.output_audio.delta")
    assert d.spoken == []
    assert own.said == []
    # Spanish: spoken again, by the Spanish voice.
    _language(d, "es")
    d.stream(_turn(three_turns, 0))
    assert [s.identifier for s, _ in d.spoken] == ["roa/es"]  # type: ignore[attr-defined]
    assert d.of("session.output_audio.delta")
    # Another language no voice speaks is named once too; Yoruba again is not repeated.
    for language in ("zu", "yo", "zu"):
        _language(d, language)
        d.stream(_turn(three_turns, 1))
    errors = d.of("error")
    assert [e["error"]["code"] for e in errors] == [VOICE_LANGUAGE_UNSUPPORTED] * 2
    assert "the language 'zu'" in errors[1]["error"]["message"]
    assert own.said == []
    _valid(d)


def test_without_espeak_a_spanish_translation_is_text_and_names_spanish(
    three_turns: Clip,
) -> None:
    own = English()
    voices = Voices(own, "speaking with an English test voice", None, "eSpeak NG: not installed")
    d = _driver(transcriber=Counting(), translator=Translations(), voices=voices, config=SPANISH)
    d.stream(np.concatenate([three_turns.samples, np.zeros(24000, np.int16)]))
    (error,) = d.of("error")
    assert error["error"]["code"] == VOICE_LANGUAGE_UNSUPPORTED
    assert "No voice of this local server speaks Spanish (es)" in error["error"]["message"]
    assert "eSpeak NG: not installed" in error["error"]["message"]
    assert d.text("session.output_transcript.delta").count("traduccion") == 3
    assert not d.of("session.output_audio.delta")
    assert own.said == []  # never English phonetics passed off as Spanish
    _valid(d)


def test_close_translates_what_is_being_said_then_closes(
    three_turns: Clip, synth: Synthesizer
) -> None:
    translator = Translations()
    d = _driver(transcriber=Counting(), translator=translator, voice=synth, config=SPANISH)
    # Mid-utterance: the second turn is still being spoken when the client closes.
    (_, end) = three_turns.truth[1]
    d.stream(three_turns.samples[: int((end - 400) * 24)])
    assert len(translator.asked) == 1
    out = d.send({"type": "session.close", "event_id": "bye"})
    assert len(translator.asked) == 2  # the segment in progress was cut and translated
    assert out[-1]["type"] == "session.closed"
    assert "session.output_transcript.delta" in [e["type"] for e in out]
    assert d.engine.closed == (1000, "session closed")
    # Nothing more is taken: receive answers nothing once the session is closed.
    assert d.send({"type": "session.input_audio_buffer.append", "audio": "AAAA"}) == []
    _valid(d)


def test_close_with_nothing_pending_closes_at_once_and_refuses_more() -> None:
    d = _driver(transcriber=Counting(), translator=Translations(), config=SPANISH)
    d.stream(np.zeros(24000, np.int16))
    (closed,) = d.send({"type": "session.close"})
    assert closed["type"] == "session.closed"
    _valid(d)


def test_close_waits_for_a_translation_in_flight(three_turns: Clip) -> None:
    d = _driver(transcriber=Counting(), translator=Translations(), config=SPANISH)
    d.hold = True  # translations are handed out and not answered yet
    d.stream(three_turns.samples[: int((three_turns.truth[0][1] + 1200) * 24)])
    (request,) = d.held
    assert d.engine.wants_reply(request)
    assert d.send({"type": "session.close"}) == []  # not closed: the translation is coming
    assert d.engine.closed is None
    (error,) = d.send({"type": "session.update", "event_id": "late", "session": SPANISH})
    assert (error["error"]["code"], error["error"]["event_id"]) == ("session_closing", "late")
    done = d.engine.reply_end(request, d.now, ResponderError("chat_timeout", "slow"))
    assert [e["type"] for e in done] == ["error", "session.closed"]
    assert d.engine.closed == (1000, "session closed")
    assert not d.engine.wants_reply(request)
    d.events += done
    _valid(d)


def test_audio_after_close_is_refused_once(three_turns: Clip) -> None:
    d = _driver(transcriber=Counting(), translator=Translations(), config=SPANISH)
    d.hold = True
    d.stream(three_turns.samples[: int((three_turns.truth[0][1] + 1200) * 24)])
    d.send({"type": "session.close"})
    assert d.engine.closed is None  # its translation is still out
    late = d.stream(three_turns.samples[:48000])  # a microphone still streaming: 10 appends
    (error,) = late
    assert error["error"]["code"] == "session_closing"
    assert "not heard" in error["error"]["message"]
    _valid(d)


def test_unbroken_speech_is_cut_into_segments_of_at_most_15_s(three_turns: Clip) -> None:
    heard = Counting()
    d = _driver(transcriber=heard, translator=Translations(), config=SPANISH)
    # Three utterances with 200 ms gaps (below the 500 ms that ends a segment), four times:
    # ~22 s of speech the VAD never sees end.
    speech = [three_turns.samples[int(a * 24) : int(b * 24)] for a, b in three_turns.truth]
    gap = np.zeros(200 * 24, np.int16)
    stream = np.concatenate([np.zeros(24000, np.int16), *[x for s in speech * 4 for x in (s, gap)]])
    d.stream(np.concatenate([stream, np.zeros(24000, np.int16)]))
    committed = [n / 24 for n in heard.heard]
    assert max(committed) <= MAX_SEGMENT_MS + 1500  # the cut (its prefix and one append more)
    assert len(d.of("session.output_transcript.delta")) >= 2
    ends = sorted({e["elapsed_ms"] for e in d.of("session.output_transcript.delta")})
    assert ends[0] >= MAX_SEGMENT_MS  # the first segment was cut by length, not by a pause
    _valid(d)


def test_the_realtime_limits_hold_here_too(three_turns: Clip) -> None:
    """An append past max_append_bytes is refused in OpenAI's words (the session goes on); the
    session ends at max_duration_s with session_expired (close 1001)."""
    limits = ServerLimits(max_append_bytes=4800, max_duration_s=5.0)
    engine = engine_for(
        "translation",
        options=EngineOptions(pace=0, limits=limits, transcriber=Counting()),
        session_id="sess_tr000002",
    )
    assert isinstance(engine, TranslationEngine)
    d = TranslationDriver(engine)
    d.events += engine.start(0.0)
    big = {"type": "session.input_audio_buffer.append", "audio": b64(np.zeros(4800, np.int16))}
    (error,) = d.send({**big, "event_id": "big"})
    assert error["error"]["param"] == "audio"
    assert "exceeds the maximum size" in error["error"]["message"]
    assert error["error"]["event_id"] == "big"
    assert d.engine.closed is None
    d.stream(three_turns.samples[:24000], chunk_ms=40)  # small appends are fine
    (expired,) = engine.tick(6.0)
    d.events.append(expired)
    assert expired["error"]["code"] == "session_expired"
    assert engine.closed == (1001, "session_expired")
    _valid(d)
