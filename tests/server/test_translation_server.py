"""Translation sessions over real loopback sockets: /v1/realtime/translations?model=... with the
realtime path's auth, caps and shutdown; every event of a whole session validated against the
SDK's translation union; the translator and the voice off the event loop; and the official
SDK's ``client.realtime.translations.connect()`` holding a real session: real speech in, the
packaged Whisper hearing it, a chat endpoint translating, the voice speaking."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import threading
import time
from typing import Any

import numpy as np
import pytest
import websockets
from openai import AsyncOpenAI

from realtime_widgets.audio.wav import read_wav
from realtime_widgets.server.app import LocalServer
from realtime_widgets.server.limits import ServerLimits
from realtime_widgets.server.piper_voice import PiperSynthesizer
from realtime_widgets.server.reply.chat import ChatResponder
from realtime_widgets.server.reply.translator import ChatTranslator
from realtime_widgets.server.tts import Synthesizer
from tests.protocol.sdk_oracle import check_translation_server_event
from tests.speech import HARVARD, Clip, b64, envelope_similarity

from .chat_endpoint import ChatEndpoint, Reply, text_chunks
from .conftest import Counting
from .test_voice import piper_or_skip

TIMEOUT = float(os.environ.get("RW_TEST_TIMEOUT", "30")) * float(
    os.environ.get("RW_TESTS_TIMEOUT_FACTOR", "1")
)
SPANISH = {"audio": {"output": {"language": "es"}}}
WITH_SOURCE = {
    "audio": {"output": {"language": "es"}, "input": {"transcription": {"model": "whisper-1"}}}
}


class Slow:
    """A sync translator that takes its time (run in a thread by the server), recording the
    thread it ran on."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds = seconds
        self.threads: list[str] = []

    def translate(self, text: str, source_language: str | None, target_language: str) -> str:
        self.threads.append(threading.current_thread().name)
        time.sleep(self.seconds)
        return f"({target_language}) traduccion de {len(text.split())} palabras."


def _url(server: LocalServer, model: str | None = "gpt-realtime-translate") -> str:
    query = f"?model={model}" if model else ""
    return f"{server.base_url}/realtime/translations{query}"


async def _recv(ws: Any) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT)))


async def _until(ws: Any, kind: str, seen: list[dict[str, Any]]) -> dict[str, Any]:
    while True:
        event = await _recv(ws)
        seen.append(event)
        if event["type"] == kind:
            return event


async def _append(ws: Any, samples: np.ndarray) -> None:
    for i in range(0, len(samples), 4800):  # 200 ms appends, as the SDK advises
        await ws.send(
            json.dumps(
                {"type": "session.input_audio_buffer.append", "audio": b64(samples[i : i + 4800])}
            )
        )


@pytest.mark.asyncio
async def test_the_path_has_the_realtime_paths_auth_and_cap() -> None:
    limits = ServerLimits(max_sessions=1)
    async with LocalServer(pace=0, speech=False, token="tok", limits=limits) as server:
        with pytest.raises(websockets.InvalidStatus) as info:
            async with websockets.connect(_url(server)):
                pass
        assert info.value.response.status_code == 401
        auth = {"Authorization": "Bearer tok"}
        with pytest.raises(websockets.InvalidStatus) as info:
            async with websockets.connect(_url(server, None), additional_headers=auth):
                pass
        assert info.value.response.status_code == 400
        assert b"Missing required query parameter: model" in info.value.response.body
        async with websockets.connect(_url(server), additional_headers=auth) as ws:
            created = await _recv(ws)
            check_translation_server_event(created)
            assert created["session"]["type"] == "translation"
            assert created["session"]["model"] == "gpt-realtime-translate"
            assert created["session"]["id"] in server.sessions
            # One session in all: the realtime path is refused too while it is open.
            with pytest.raises(websockets.InvalidStatus) as info:
                async with websockets.connect(
                    server.url + "?model=gpt-realtime-1.5", additional_headers=auth
                ):
                    pass
            assert info.value.response.status_code == 503
        with pytest.raises(websockets.InvalidStatus) as info:
            async with websockets.connect(f"{server.base_url}/realtime/translate?model=x"):
                pass
        assert info.value.response.status_code == 404


@pytest.mark.asyncio
async def test_every_event_of_a_whole_session_is_the_sdks(three_turns: Clip) -> None:
    """Created, updates (one refused), three segments with source and translation and audio,
    close: every event the session sent, collected and checked with no unknown key."""
    translator = Slow()
    async with LocalServer(
        pace=0, speech="espeak", transcriber=Counting(), translator=translator
    ) as server:
        assert server.translator is translator
        async with websockets.connect(_url(server)) as ws:
            seen = [await _recv(ws)]
            await ws.send(json.dumps({"type": "session.update", "session": WITH_SOURCE}))
            await _until(ws, "session.updated", seen)
            await ws.send(json.dumps({"type": "session.update", "session": {"type": "x"}}))
            await _until(ws, "error", seen)
            await _append(ws, np.concatenate([three_turns.samples, np.zeros(24000, np.int16)]))
            await ws.send(json.dumps({"type": "session.close"}))
            await _until(ws, "session.closed", seen)
            with pytest.raises(websockets.ConnectionClosedOK):
                await _recv(ws)
            assert ws.close_code == 1000
    kinds = [e["type"] for e in seen]
    for event in seen:
        check_translation_server_event(event)
    assert set(kinds) == {
        "session.created",
        "session.updated",
        "error",
        "session.input_transcript.delta",
        "session.output_transcript.delta",
        "session.output_audio.delta",
        "session.closed",
    }
    assert kinds.count("error") == 1  # the refused update, nothing else
    outputs = "".join(e["delta"] for e in seen if e["type"] == "session.output_transcript.delta")
    assert outputs.count("(es) traduccion de 2 palabras.") == 3  # "call N", translated
    # The translator ran off the event loop (the server's default pool, as a sync responder).
    assert len(translator.threads) == 3
    assert all(name != "MainThread" for name in translator.threads)


@pytest.mark.asyncio
async def test_hostile_frames_get_errors_and_never_end_the_reader(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Frames that are no translation client event (a bad or missing ``type`` among them) get
    OpenAI's error naming what is wrong, in the translation union's shape; none is a server
    bug (no server_error, nothing logged as a failure), and the session goes on."""
    hostile = [
        ('{"type": 5, "event_id": "t5"}', "invalid_type", "type", "t5"),
        ('{"type": null, "event_id": "tn"}', "missing_required_parameter", "type", "tn"),
        ('{"event_id": "t0", "audio": "AAAA"}', "missing_required_parameter", "type", "t0"),
        ('{"type": {"x": 1}}', "invalid_type", "type", None),
        ('{"type": "nope", "event_id": "n1"}', "invalid_value", "type", "n1"),
        ("{nope", "invalid_json", None, None),
        ("[]", "invalid_json", None, None),
        ("[" * 10_000, "invalid_json", None, None),
    ]
    async with (
        LocalServer(pace=0, speech=False, transcriber=None) as server,
        websockets.connect(_url(server), compression=None) as ws,
    ):
        check_translation_server_event(await _recv(ws))
        for frame, code, param, client_id in hostile:
            await ws.send(frame)
            error = await _recv(ws)
            check_translation_server_event(error)
            assert error["type"] == "error", frame
            detail = error["error"]
            assert (detail["type"], detail["code"], detail["param"], detail["event_id"]) == (
                "invalid_request_error",
                code,
                param,
                client_id,
            ), frame
            if param == "type":
                assert "'type'" in detail["message"] or "Invalid value: 'nope'" in detail["message"]
        await ws.send(b'{"type": "session.update", "session": {"audio": {}}}')
        assert (await _recv(ws))["type"] == "session.updated"  # a binary frame is read as text
        (engine,) = server.sessions.values()
        assert engine.stats["errors"] == len(hostile)  # each answered by the session itself
    assert not [r for r in caplog.records if "failed in a session" in r.getMessage()]


@pytest.mark.asyncio
async def test_a_slow_translation_does_not_hold_the_session(three_turns: Clip) -> None:
    """While a translation runs (in a thread), the same session still answers: an update sent
    after the segment is answered before that segment's translation arrives."""
    async with (
        LocalServer(
            pace=0, speech=False, transcriber=Counting(), translator=Slow(seconds=2.0)
        ) as server,
        websockets.connect(_url(server)) as ws,
    ):
        seen = [await _recv(ws)]
        await ws.send(json.dumps({"type": "session.update", "session": SPANISH}))
        await _until(ws, "session.updated", seen)
        turn = three_turns.samples[: int((three_turns.truth[0][1] + 1500) * 24)]
        await _append(ws, turn)
        # The segment is cut (the VAD's silence passed); its translation now sleeps.
        await ws.send(
            json.dumps({"type": "session.update", "event_id": "u2", "session": WITH_SOURCE})
        )
        await _until(ws, "session.output_transcript.delta", seen)
    kinds = [e["type"] for e in seen]
    assert kinds.index("session.updated", 2) < kinds.index("session.output_transcript.delta")
    for event in seen:
        check_translation_server_event(event)


@pytest.mark.asyncio
async def test_stopping_the_server_closes_a_translation_session_with_1001() -> None:
    server = LocalServer(pace=0, speech=False, transcriber=Counting())
    await server.__aenter__()
    try:
        async with websockets.connect(_url(server)) as ws:
            await _recv(ws)
            await server.__aexit__(None, None, None)
            with pytest.raises(websockets.ConnectionClosed):
                await _recv(ws)
            assert ws.close_code == 1001
            assert server.sessions == {}
    finally:
        await server.__aexit__(None, None, None)


# ---- the voice of the target language ---------------------------------------------------------

# What the translator answers, per target language, and the eSpeak voice that must say it.
SAID = {
    "es": ("Una frase traducida para ti.", "roa/es+m3"),
    "fr": ("Une phrase traduite pour toi.", "roa/fr+m3"),
    "en": ("A translated sentence for you.", "en-us+m3"),  # the server's own voice: eSpeak's
}


class Fixed:
    """A translator that answers :data:`SAID`'s sentence of the target language."""

    def translate(self, text: str, source_language: str | None, target_language: str) -> str:
        return SAID[target_language][0]


class Renders:
    """Records each eSpeak render the server makes (its voice and thread) and makes it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, str, str]] = []  # (eSpeak voice, text, thread)
        real = Synthesizer.speak_as

        def speak_as(synth: Synthesizer, text: str, espeak_voice: str, *args: Any) -> Any:
            self.calls.append((espeak_voice, text, threading.current_thread().name))
            return real(synth, text, espeak_voice, *args)

        monkeypatch.setattr(Synthesizer, "speak_as", speak_as)


async def _one_segment(
    server: LocalServer, three_turns: Clip, session: dict[str, Any]
) -> list[dict[str, Any]]:
    """A translation session: ``session`` set, the clip's first turn said, then closed; every
    event it sent."""
    async with websockets.connect(_url(server)) as ws:
        seen = [await _recv(ws)]
        await ws.send(json.dumps({"type": "session.update", "session": session}))
        await _until(ws, "session.updated", seen)
        (start, end) = three_turns.truth[0]
        turn = three_turns.samples[int(start * 24) : int(end * 24)]
        await _append(
            ws, np.concatenate([np.zeros(12000, np.int16), turn, np.zeros(24000, np.int16)])
        )
        await ws.send(json.dumps({"type": "session.close"}))
        await _until(ws, "session.closed", seen)
    for event in seen:
        check_translation_server_event(event)
    return seen


def _pcm(events: list[dict[str, Any]]) -> np.ndarray:
    return np.concatenate(
        [
            np.frombuffer(base64.b64decode(e["delta"]), "<i2")
            for e in events
            if e["type"] == "session.output_audio.delta"
        ]
    )


@pytest.mark.parametrize("language", ["es", "fr", "en"])
@pytest.mark.asyncio
async def test_a_translation_is_spoken_by_its_languages_voice(
    language: str, three_turns: Clip, synth: Synthesizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over real sockets: a Spanish translation is said by eSpeak NG's Spanish voice, a French
    one by its French voice, on the server's voice pool; the audio sounds as that voice says
    the sentence and not as the English voice would (its envelope and its length); English
    stays the server's own voice (here eSpeak's English one)."""
    renders = Renders(monkeypatch)
    sentence, espeak_voice = SAID[language]
    async with LocalServer(
        pace=0, speech="espeak", transcriber=Counting(), translator=Fixed()
    ) as server:
        seen = await _one_segment(
            server, three_turns, {"audio": {"output": {"language": language}}}
        )
    assert "error" not in [e["type"] for e in seen]
    translated = "".join(e["delta"] for e in seen if e["type"] == "session.output_transcript.delta")
    assert translated == sentence
    # The voice of the language said it, off the loop (the voice pool's threads).
    assert [(v, t) for v, t, _ in renders.calls] == [(espeak_voice, sentence)]
    assert all(thread.startswith("realtime-voice") for _, _, thread in renders.calls)
    # The audio is that voice's (to a few samples) and not the English voice's reading.
    audio = _pcm(seen)
    own = synth.speak_as(sentence, espeak_voice).samples
    assert abs(len(audio) - len(own)) < 1200  # (eSpeak's renders vary by up to ~25 ms)
    assert envelope_similarity(audio, own) > 0.8
    if language != "en":
        english = synth.speak_as(sentence, "en-us+m3").samples
        assert envelope_similarity(audio, english) < 0.5
        assert abs(len(audio) - len(english)) > 2400  # 100 ms: other phonemes, other lengths


@pytest.mark.asyncio
async def test_a_language_no_voice_speaks_is_said_once_over_the_socket(
    three_turns: Clip, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Yoruba (eSpeak has no voice for it): three segments, each translated in text, one
    error naming the language, no audio, no render at all."""
    renders = Renders(monkeypatch)
    session = {
        "audio": {"output": {"language": "yo"}, "input": {"transcription": {"model": "whisper-1"}}}
    }
    async with (
        LocalServer(pace=0, speech="espeak", transcriber=Counting(), translator=Slow()) as server,
        websockets.connect(_url(server)) as ws,
    ):
        seen = [await _recv(ws)]
        await ws.send(json.dumps({"type": "session.update", "session": session}))
        await _until(ws, "session.updated", seen)
        await _append(ws, np.concatenate([three_turns.samples, np.zeros(24000, np.int16)]))
        await ws.send(json.dumps({"type": "session.close"}))
        await _until(ws, "session.closed", seen)
    for event in seen:
        check_translation_server_event(event)
    (error,) = [e for e in seen if e["type"] == "error"]
    assert error["error"]["code"] == "voice_language_unsupported"
    assert error["error"]["param"] == "session.audio.output.language"
    assert "No voice of this local server speaks the language 'yo'" in error["error"]["message"]
    kinds = [e["type"] for e in seen]
    assert kinds.count("session.input_transcript.delta") >= 3
    translated = "".join(e["delta"] for e in seen if e["type"] == "session.output_transcript.delta")
    assert translated.count("(yo) traduccion de 2 palabras.") == 3
    assert "session.output_audio.delta" not in kinds
    assert renders.calls == []


@pytest.mark.slow
@pytest.mark.asyncio
async def test_english_is_spoken_by_piper_and_spanish_by_espeak_when_piper_is_installed(
    three_turns: Clip, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the server's default voice (Piper, when the 'voice' extra is installed), an English
    translation is Piper's and a Spanish one eSpeak NG's Spanish voice: Piper never reads
    Spanish."""
    piper = piper_or_skip()
    renders = Renders(monkeypatch)
    piper_said: list[str] = []
    real = PiperSynthesizer.speak

    def speak(synth: PiperSynthesizer, text: str, *args: Any, **kwargs: Any) -> Any:
        piper_said.append(text)
        return real(synth, text, *args, **kwargs)

    monkeypatch.setattr(PiperSynthesizer, "speak", speak)
    async with LocalServer(pace=0, transcriber=Counting(), translator=Fixed()) as server:
        assert server.synthesizer is piper
        english = await _one_segment(server, three_turns, {"audio": {"output": {"language": "en"}}})
        assert piper_said == [SAID["en"][0]]
        assert renders.calls == []
        spanish = await _one_segment(server, three_turns, {"audio": {"output": {"language": "es"}}})
    assert piper_said == [SAID["en"][0]]
    assert [(v, t) for v, t, _ in renders.calls] == [(SAID["es"][1], SAID["es"][0])]
    for seen in (english, spanish):
        assert "error" not in [e["type"] for e in seen]
        assert len(_pcm(seen)) > 24000  # a second of speech, at least


def test_the_chat_responder_translates_by_default_and_says_so() -> None:
    chat = ChatResponder("http://127.0.0.1:9/v1", "test-model")
    server = LocalServer(responder=chat, speech=False, transcriber=None)
    assert isinstance(server.translator, ChatTranslator)
    assert server.translator.chat is chat
    assert server.translator_note == (
        "translating with the chat endpoint http://127.0.0.1:9/v1 (model test-model)"
    )
    none = LocalServer(responder=chat, speech=False, transcriber=None, translator=None)
    assert none.translator is None
    assert none.translator_note.startswith("no translator")
    assert LocalServer(speech=False, transcriber=None).translator is None  # local responder
    with pytest.raises(ValueError, match="'auto' or None"):
        LocalServer(translator="chat")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="translate"):
        LocalServer(translator=object())  # type: ignore[arg-type]


# ---- the official SDK as a peer ----------------------------------------------------------------


@pytest.fixture(scope="module")
def harvard() -> np.ndarray:
    if not HARVARD.exists():
        pytest.skip(f"{HARVARD} is absent: run scripts/system-packages (codec2-examples)")
    samples, _ = read_wav(HARVARD, rate=24000)
    return samples


@pytest.mark.slow
@pytest.mark.asyncio
async def test_the_official_sdk_holds_a_translation_session(
    harvard: np.ndarray, synth: Synthesizer
) -> None:
    """``client.realtime.translations.connect(model=...)`` against LocalServer: a person reading
    two Harvard sentences (Debian codec2-examples, real speech) in 200 ms appends, the packaged
    Whisper hearing them, a Chat Completions endpoint translating (a local fake: it answers in
    Spanish and records what it was asked), eSpeak NG's Spanish voice speaking. The event
    sequence the SDK received is written to the test's output (-s) for the record."""
    pytest.importorskip("faster_whisper", reason="the offline extra (faster-whisper) is needed")
    pause = np.zeros(24000, np.int16)  # between the sentences: two segments
    speech = np.concatenate(
        [
            pause[:12000],
            harvard[: int(2.45 * 24000)],
            pause,
            harvard[int(2.7 * 24000) : int(5.6 * 24000)],
            pause,
            pause[:12000],
        ]
    )
    with ChatEndpoint(Reply(text_chunks("Una frase", " traducida."))) as endpoint:
        chat = ChatResponder(endpoint.url, "test-model")
        async with LocalServer(pace=0, speech="espeak", responder=chat) as server:
            client = AsyncOpenAI(api_key="sk-local", websocket_base_url=server.base_url)
            seen: list[Any] = []
            async with client.realtime.translations.connect(model="gpt-realtime-translate") as conn:
                await conn.session.update(session=WITH_SOURCE)  # type: ignore[arg-type]
                for i in range(0, len(speech), 4800):
                    await conn.session.input_audio_buffer.append(
                        audio=base64.b64encode(speech[i : i + 4800].tobytes()).decode()
                    )
                await conn.session.close()

                async def collect() -> None:
                    async for event in conn:
                        seen.append(event)
                        if event.type == "session.closed":
                            return

                await asyncio.wait_for(collect(), 6 * TIMEOUT)
        asked = [r.body for r in endpoint.requests]
    kinds = [e.type for e in seen]
    sequence = _runs(kinds)
    print("\nSDK translation peer, events received:", " ".join(sequence))
    for event in seen:
        check_translation_server_event(json.loads(event.model_dump_json(exclude_unset=True)))
    assert kinds[0] == "session.created"
    assert seen[0].session.type == "translation"
    assert kinds[1] == "session.updated"
    assert kinds[-1] == "session.closed"
    assert "error" not in kinds
    source = "".join(e.delta for e in seen if e.type == "session.input_transcript.delta")
    translated = "".join(e.delta for e in seen if e.type == "session.output_transcript.delta")
    assert "canoe" in source.lower()
    assert "blue background" in source.lower()
    # Each segment heard was translated once, and the translation is the endpoint's words.
    assert len(asked) == 2
    assert translated == " ".join(["Una frase traducida."] * len(asked))
    audio = [e for e in seen if e.type == "session.output_audio.delta"]
    # The Spanish voice spoke each translation: as much audio as eSpeak NG's Spanish voice makes
    # of it (its renders vary by up to ~25 ms; its English voice's is ~90 ms longer), sounding
    # as it does, not as the English voice's reading.
    spanish = synth.in_language("es")
    assert spanish is not None
    said = spanish.speak("Una frase traducida.", "alloy", 1.0).samples
    english = synth.speak("Una frase traducida.", "alloy", 1.0).samples
    for end in sorted({e.elapsed_ms for e in audio}):
        segment = np.concatenate(
            [np.frombuffer(base64.b64decode(e.delta), "<i2") for e in audio if e.elapsed_ms == end]
        )
        assert abs(len(segment) - len(said)) < 1200
        assert envelope_similarity(segment, said) > 0.8
        assert envelope_similarity(segment, english) < 0.5
    assert len({e.elapsed_ms for e in audio}) == len(asked)
    assert {(e.format, e.sample_rate) for e in audio} == {("pcm16", 24000)}
    # The endpoint was asked to translate what was heard, into Spanish, text only.
    assert all("Spanish (es)" in body["messages"][0]["content"] for body in asked)
    assert all("tools" not in body for body in asked)
    heard = " ".join(body["messages"][1]["content"] for body in asked).lower()
    assert heard == source.lower()
    assert "canoe" in heard


def _runs(kinds: list[str]) -> list[str]:
    """``a a a b`` -> ``a x3 b``: the sequence, short enough to read."""
    out: list[str] = []
    for kind in kinds:
        if out and out[-1].split(" x")[0] == kind:
            head, _, n = out[-1].partition(" x")
            out[-1] = f"{head} x{int(n or 1) + 1}"
        else:
            out.append(kind)
    return out
