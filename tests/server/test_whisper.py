"""The local server hears: Whisper tiny.en on real speech, off the event loop, early.

Real speech: Debian's codec2-examples (LGPL-2.1), ``speech_orig_16k.wav``: four Harvard
sentences read by a person (10.8 s, 16 kHz), chosen because they are real human speech with a
published text, so a word error rate means something. Whisper is loaded once per test session
(:func:`~realtime_widgets.server.whisper.shared_whisper`, the instance every server shares).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import websockets
from openai import AsyncOpenAI
from websockets.asyncio.client import ClientConnection

from realtime_widgets.audio.wav import read_wav
from realtime_widgets.protocol.transcription_config import TranscriptionConfig
from realtime_widgets.server import app as app_module
from realtime_widgets.server.app import LocalServer
from realtime_widgets.server.engine import EngineOptions, SessionEngine, engine_for
from realtime_widgets.server.input_transcripts import Transcript, TranscriptionHints
from realtime_widgets.server.reply.responder import ReplyContext
from realtime_widgets.server.whisper import (
    TINY_EN_SHA256,
    ModelIntegrityError,
    WhisperTranscriber,
    packaged_model_dir,
    shared_whisper,
    verify_files,
)
from tests.protocol.sdk_oracle import check_server_event
from tests.speech import HARVARD, b64

from .conftest import Counting, Driver

SENTENCES = [
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.",
    "Four hours of steady work faced us.",
]
# Where each sentence lies in the recording (s), from its pauses.
CUTS = [(0.0, 2.45), (2.7, 5.6), (5.6, 7.8), (8.0, 10.8)]
MAX_WER = 0.10  # the goal on clean real speech
TIMEOUT = 60.0
LOGPROBS = "item.input_audio_transcription.logprobs"

pytest.importorskip("faster_whisper", reason="the offline extra (faster-whisper) is needed")


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate: word-level edit distance over the reference's length."""
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / max(1, len(ref))


def test_wer_counts_substitutions_insertions_and_deletions() -> None:
    assert wer("the birch canoe", "the birch canoe") == 0.0
    assert wer("the birch canoe", "the bitch canoe") == pytest.approx(1 / 3)
    assert wer("the birch canoe", "birch canoe slid on") == pytest.approx(3 / 3)


@pytest.fixture(scope="session")
def harvard() -> np.ndarray:
    if not HARVARD.exists():
        pytest.skip(f"{HARVARD} is absent: run scripts/system-packages (codec2-examples)")
    samples, _ = read_wav(HARVARD, rate=24000)
    return samples


@pytest.fixture(scope="session")
def whisper() -> WhisperTranscriber:
    return shared_whisper()


def sentence(harvard: np.ndarray, i: int) -> np.ndarray:
    start, end = CUTS[i]
    return harvard[int(start * 24000) : int(end * 24000)]


def silence(ms: int) -> np.ndarray:
    return np.zeros(ms * 24, dtype=np.int16)


def update(*, kind: str = "realtime", include: list[str] | None = None, **input_: Any) -> str:
    """A ``session.update`` of a ``kind`` session's input audio (and its ``include``)."""
    session: dict[str, Any] = {"type": kind, "audio": {"input": input_}}
    if include is not None:
        session["include"] = include
    return json.dumps({"type": "session.update", "session": session})


async def recv(ws: ClientConnection) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    check_server_event(event)
    return event


async def until(ws: ClientConnection, kind: str, seen: list[dict[str, Any]]) -> dict[str, Any]:
    while True:
        event = await recv(ws)
        seen.append(event)
        if event["type"] == kind:
            return event


@contextlib.asynccontextmanager
async def session(server: LocalServer, query: str = "") -> AsyncIterator[ClientConnection]:
    async with websockets.connect(server.url + query, compression=None, max_size=None) as ws:
        assert (await recv(ws))["type"] == "session.created"
        yield ws


async def append(ws: ClientConnection, samples: np.ndarray) -> None:
    for i in range(0, len(samples), 4800):  # 200 ms appends
        await ws.send(
            json.dumps({"type": "input_audio_buffer.append", "audio": b64(samples[i : i + 4800])})
        )


# ---- the transcriber alone --------------------------------------------------------------------


@pytest.mark.slow
def test_whisper_hears_the_harvard_sentences_within_the_wer(
    whisper: WhisperTranscriber, harvard: np.ndarray
) -> None:
    heard = whisper(harvard)
    assert wer(" ".join(SENTENCES), heard.text) <= MAX_WER, heard.text
    assert whisper is shared_whisper()  # one instance per process


def test_the_packaged_model_matches_its_pinned_hashes() -> None:
    verify_files(packaged_model_dir(), TINY_EN_SHA256)  # raises on any mismatch


def test_a_tampered_copy_fails_the_hash_check_naming_the_file(tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(packaged_model_dir(), copy)
    target = copy / "model.bin"
    with target.open("r+b") as f:
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ModelIntegrityError) as caught:
        WhisperTranscriber(copy, pinned=TINY_EN_SHA256).load()
    error = caught.value
    assert error.path == target
    assert error.expected == TINY_EN_SHA256["model.bin"]
    assert error.found != error.expected
    assert str(target) in str(error)
    assert error.expected in str(error)
    assert error.found in str(error)


def test_a_server_whose_model_fails_its_check_has_no_transcriber_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def tampered() -> WhisperTranscriber:
        raise ModelIntegrityError(Path("/x/model.bin"), "a" * 64, "b" * 64)

    monkeypatch.setattr(app_module, "shared_whisper", tampered)
    server = LocalServer(pace=0, speech=False)
    server._load_whisper()
    assert server.transcriber is None
    assert server.transcriber_note is not None
    assert "/x/model.bin" in server.transcriber_note
    engine = SessionEngine(options=server.options)
    engine.start(0.0)
    engine.receive(update(transcription={"model": "whisper-1"}, turn_detection=None), 0.0)
    engine.receive(
        json.dumps({"type": "input_audio_buffer.append", "audio": b64(silence(500))}), 0.0
    )
    out = engine.receive(json.dumps({"type": "input_audio_buffer.commit"}), 0.0)
    (failed,) = [e for e in out if e["type"].endswith("transcription.failed")]
    assert "b" * 64 in failed["error"]["message"]
    check_server_event(failed)
    engine.close()


def test_bad_transcriber_values_are_refused_naming_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match=r"transcriber must be a callable .* 'whisper' or None"):
        LocalServer(transcriber="wisper")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="beam_size must be an integer >= 1"):
        WhisperTranscriber(beam_size=0)


def test_serve_refuses_an_unknown_transcriber(capsys: pytest.CaptureFixture[str]) -> None:
    from realtime_widgets.__main__ import main

    with pytest.raises(SystemExit):
        main(["serve", "--transcriber", "wisper"])
    err = capsys.readouterr().err
    assert "--transcriber" in err
    assert "expected whisper, none, or a CTranslate2 model directory" in err
    assert "'wisper'" in err


# ---- sans-I/O with the real model: logprobs, usage per model, language --------------------------


def _manual_driver(whisper: WhisperTranscriber, intent: str = "realtime") -> Driver:
    engine = engine_for(
        intent,  # type: ignore[arg-type]
        options=EngineOptions(pace=0, wall_clock=lambda: 0.0, transcriber=whisper),
        session_id="sess_whisper01",
    )
    d = Driver(engine)  # type: ignore[arg-type]
    d.events += engine.start(0.0)
    return d


def _commit(d: Driver, samples: np.ndarray) -> list[dict[str, Any]]:
    d.send({"type": "input_audio_buffer.append", "audio": b64(samples)})
    return d.send({"type": "input_audio_buffer.commit"})


@pytest.mark.slow
def test_logprobs_and_token_usage_for_a_gpt_4o_transcribe_session(
    whisper: WhisperTranscriber, harvard: np.ndarray
) -> None:
    d = _manual_driver(whisper)
    d.send(
        update(
            include=[LOGPROBS],
            turn_detection=None,
            transcription={"model": "gpt-4o-transcribe", "language": "en"},
        )
    )
    out = _commit(d, sentence(harvard, 1))
    deltas = d.of("conversation.item.input_audio_transcription.delta", out)
    (completed,) = d.of("conversation.item.input_audio_transcription.completed", out)
    assert wer(SENTENCES[1], completed["transcript"]) <= MAX_WER, completed["transcript"]
    assert "".join(e["delta"] for e in deltas) == completed["transcript"]
    for delta in deltas:
        (lp,) = delta["logprobs"]
        assert lp["token"] == delta["delta"]
        assert lp["logprob"] <= 0.0
        assert lp["bytes"] == list(lp["token"].encode("utf-8"))
    assert [p["token"] for p in completed["logprobs"]] == [e["delta"] for e in deltas]
    usage = completed["usage"]
    assert usage["type"] == "tokens"
    assert usage["input_token_details"]["audio_tokens"] == 29  # 2.9 s at 10 tokens a second
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    for event in d.events:
        check_server_event(event)
    d.engine.close()


@pytest.mark.slow
def test_whisper_1_gets_duration_usage_and_a_prompt_is_used(
    whisper: WhisperTranscriber, harvard: np.ndarray
) -> None:
    d = _manual_driver(whisper, "transcription")
    d.send(
        update(
            kind="transcription",
            turn_detection=None,
            transcription={"model": "whisper-1", "prompt": "birch canoe"},
        )
    )
    out = _commit(d, sentence(harvard, 0))
    (completed,) = d.of("conversation.item.input_audio_transcription.completed", out)
    assert completed["usage"] == {"type": "duration", "seconds": 2.45}
    assert "birch canoe" in completed["transcript"].lower()
    for event in d.events:
        check_server_event(event)
    d.engine.close()


def test_tiny_en_asked_for_french_fails_saying_it_is_english_only(
    whisper: WhisperTranscriber,
) -> None:
    d = _manual_driver(whisper)
    d.send(update(turn_detection=None, transcription={"model": "whisper-1", "language": "fr"}))
    out = _commit(d, silence(500))
    (failed,) = d.of("conversation.item.input_audio_transcription.failed", out)
    assert failed["error"]["code"] == "unsupported_language"
    assert "English-only" in failed["error"]["message"]
    assert "'fr'" in failed["error"]["message"]
    check_server_event(failed)
    with pytest.raises(Exception, match="English-only"):
        whisper.transcribe(silence(100), TranscriptionHints(language="de"))
    d.engine.close()


# ---- speculation (sans-I/O, a fake recogniser counting its calls) -------------------------------


def _vad_driver(transcriber: Any) -> Driver:
    engine = SessionEngine(
        options=EngineOptions(pace=0, wall_clock=lambda: 0.0, transcriber=transcriber),
        session_id="sess_spec0001",
    )
    d = Driver(engine)
    d.events += engine.start(0.0)
    d.send(
        update(
            transcription={"model": "whisper-1"},
            turn_detection={
                "type": "server_vad",
                "silence_duration_ms": 500,
                "create_response": False,
            },
        )
    )
    return d


def test_a_turn_that_ends_after_its_pause_uses_the_early_transcript(harvard: np.ndarray) -> None:
    fake = Counting()
    d = _vad_driver(fake)
    d.stream(np.concatenate([silence(500), sentence(harvard, 1), silence(1000)]), realtime=False)
    (committed,) = d.of("input_audio_buffer.committed")
    (completed,) = d.of("conversation.item.input_audio_transcription.completed")
    transcripts = d.engine.transcripts
    assert transcripts.reused == 1  # the committed turn was not transcribed again
    assert transcripts.speculations == len(fake.heard)  # every call was an early one
    assert completed["transcript"] == f"call {len(fake.heard)}"  # the last pause's
    assert completed["item_id"] == committed["item_id"]
    types = d.types()
    assert types.index("conversation.item.done") < types.index(
        "conversation.item.input_audio_transcription.delta"
    )
    for event in d.events:
        check_server_event(event)
    d.engine.close()


def test_speech_after_a_pause_drops_the_early_transcript(harvard: np.ndarray) -> None:
    """A 300 ms gap (a pause, then speech again) inside one 500 ms-silence turn: what was heard
    at the gap is not the turn's transcript."""
    fake = Counting()
    d = _vad_driver(fake)
    first = np.concatenate([silence(500), sentence(harvard, 0), silence(300)])
    d.stream(first, realtime=False)
    assert not d.of("input_audio_buffer.committed")
    early = len(fake.heard)
    assert early >= 1  # the gap was a pause: transcribed early
    d.stream(np.concatenate([sentence(harvard, 1), silence(1000)]), realtime=False)
    (completed,) = d.of("conversation.item.input_audio_transcription.completed")
    assert len(fake.heard) > early
    assert completed["transcript"] == f"call {len(fake.heard)}"  # not the gap's
    assert fake.heard[-1] > fake.heard[early - 1]  # the whole turn, longer than at the gap
    for event in d.events:
        check_server_event(event)
    d.engine.close()


# ---- over a real socket -----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.asyncio
async def test_a_spoken_turn_over_a_socket_is_heard_within_the_wer(harvard: np.ndarray) -> None:
    """The default server (Whisper), OpenAI's order: committed, the item's events, then the
    transcript's deltas and completed; the whole recording is one turn (its pauses < 500 ms)."""
    async with LocalServer(pace=0, speech=False) as server, session(server) as ws:
        assert server.transcriber is shared_whisper()
        seen: list[dict[str, Any]] = []
        await ws.send(
            update(
                transcription={"model": "whisper-1"},
                turn_detection={
                    "type": "server_vad",
                    "silence_duration_ms": 500,
                    "create_response": False,
                },
            )
        )
        await append(ws, np.concatenate([silence(500), harvard, silence(1000)]))
        completed = await until(ws, "conversation.item.input_audio_transcription.completed", seen)
    types = [e["type"] for e in seen]
    order = [
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
        "conversation.item.input_audio_transcription.delta",
    ]
    assert [types.index(t) for t in order] == sorted(types.index(t) for t in order)
    deltas = [e["delta"] for e in seen if e["type"].endswith("transcription.delta")]
    assert "".join(deltas) == completed["transcript"]
    assert wer(" ".join(SENTENCES), completed["transcript"]) <= MAX_WER, completed["transcript"]
    assert completed["usage"]["type"] == "duration"
    (item_done,) = [e for e in seen if e["type"] == "conversation.item.done"]
    assert item_done["item"]["content"][0]["transcript"] is None  # told by the events after


@pytest.mark.slow
@pytest.mark.asyncio
async def test_the_official_sdk_transcription_session_hears_real_speech(
    harvard: np.ndarray,
) -> None:
    async with LocalServer(pace=0, speech=False) as server:
        client = AsyncOpenAI(api_key="sk-local", websocket_base_url=server.base_url)
        async with client.realtime.connect(extra_query={"intent": "transcription"}) as conn:
            config = TranscriptionConfig(transcription="gpt-4o-mini-transcribe")
            await conn.session.update(session=config.to_session_update()["session"])
            turn = np.concatenate([silence(300), sentence(harvard, 2), silence(1000)])
            for i in range(0, len(turn), 4800):
                await conn.input_audio_buffer.append(audio=b64(turn[i : i + 4800]))
            seen: list[Any] = []

            async def collect() -> Any:
                async for event in conn:
                    seen.append(event)
                    if event.type == "conversation.item.input_audio_transcription.completed":
                        return event
                return None

            completed = await asyncio.wait_for(collect(), TIMEOUT)
    assert wer(SENTENCES[2], completed.transcript) <= MAX_WER, completed.transcript
    assert completed.usage.type == "tokens"
    for event in seen:
        check_server_event(json.loads(event.model_dump_json(exclude_unset=True)))


@pytest.mark.asyncio
async def test_a_transcriber_that_raises_fails_the_turn_and_the_session_goes_on() -> None:
    def broken(audio: np.ndarray) -> str:
        raise ZeroDivisionError("a transcriber bug")

    async with (
        LocalServer(pace=0, speech=False, transcriber=broken) as server,
        session(server) as ws,
    ):
        seen: list[dict[str, Any]] = []
        await ws.send(update(transcription={"model": "whisper-1"}, turn_detection=None))
        await append(ws, silence(500))
        await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
        failed = await until(ws, "conversation.item.input_audio_transcription.failed", seen)
        assert failed["error"]["code"] == "transcription_failed"
        assert "ZeroDivisionError: a transcriber bug" in failed["error"]["message"]
        await ws.send(
            json.dumps({"type": "response.create", "response": {"output_modalities": ["text"]}})
        )
        done = await until(ws, "response.done", seen)
        assert done["response"]["status"] == "completed"
        assert ws.close_code is None


@pytest.mark.slow
@pytest.mark.asyncio
async def test_the_responder_hears_the_turn_with_transcription_off(harvard: np.ndarray) -> None:
    contexts: list[ReplyContext] = []

    def responder(ctx: ReplyContext) -> str:
        contexts.append(ctx)
        return "ok"

    async with (
        LocalServer(pace=0, speech=False, responder=responder) as server,
        session(server) as ws,
    ):
        seen: list[dict[str, Any]] = []
        await ws.send(update(turn_detection={"type": "server_vad", "silence_duration_ms": 500}))
        await append(ws, np.concatenate([silence(300), sentence(harvard, 1), silence(1000)]))
        await until(ws, "response.done", seen)
    assert not [e for e in seen if "input_audio_transcription" in e["type"]]
    (item_done,) = [e for e in seen if e["type"] == "conversation.item.done"][:1]
    assert item_done["item"]["content"][0]["transcript"] is None  # the wire says nothing
    (ctx,) = contexts
    item_id = item_done["item"]["id"]
    assert set(ctx.transcripts) == {item_id}
    assert wer(SENTENCES[1], ctx.transcripts[item_id]) <= MAX_WER, ctx.transcripts
    assert ctx.last_user_text == ctx.transcripts[item_id]


@pytest.mark.asyncio
async def test_a_response_waits_for_the_transcript_still_pending() -> None:
    """The response is created at once; its responder is asked only once the turn is heard
    (the recogniser is held until the test has seen response.created)."""
    gate = threading.Event()
    contexts: list[ReplyContext] = []

    def slow(audio: np.ndarray) -> str:
        assert gate.wait(TIMEOUT)
        return "glue the sheet"

    def responder(ctx: ReplyContext) -> str:
        contexts.append(ctx)
        return "ok"

    async with (
        LocalServer(pace=0, speech=False, responder=responder, transcriber=slow) as server,
        session(server) as ws,
    ):
        seen: list[dict[str, Any]] = []
        await ws.send(update(turn_detection=None))
        await append(ws, silence(500))
        await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
        await ws.send(
            json.dumps({"type": "response.create", "response": {"output_modalities": ["text"]}})
        )
        await until(ws, "response.created", seen)
        assert contexts == []  # held while the turn is being heard
        gate.set()
        await until(ws, "response.done", seen)
    (ctx,) = contexts
    assert ctx.last_user_text == "glue the sheet"
    assert list(ctx.transcripts.values()) == ["glue the sheet"]


@pytest.mark.asyncio
async def test_the_event_loop_is_not_blocked_while_a_transcription_runs() -> None:
    """While session A's recogniser runs (held inside the call), session B's round trips
    complete; A's transcript comes after."""
    entered, release = threading.Event(), threading.Event()
    whisper = shared_whisper()

    def long_running(audio: np.ndarray) -> Transcript:
        entered.set()
        assert release.wait(TIMEOUT)
        return whisper(audio)

    async with (
        LocalServer(pace=0, speech=False, transcriber=long_running) as server,
        session(server) as a,
        session(server) as b,
    ):
        seen_a: list[dict[str, Any]] = []
        seen_b: list[dict[str, Any]] = []
        await a.send(update(transcription={"model": "whisper-1"}, turn_detection=None))
        await append(a, silence(500))
        await a.send(json.dumps({"type": "input_audio_buffer.commit"}))
        await until(a, "conversation.item.done", seen_a)
        assert await asyncio.to_thread(entered.wait, TIMEOUT)
        for _ in range(5):
            await b.send(update(turn_detection=None, noise_reduction={"type": "near_field"}))
            await until(b, "session.updated", seen_b)
        assert entered.is_set()
        assert not release.is_set()  # B was answered while A's recogniser was still inside
        release.set()
        await until(a, "conversation.item.input_audio_transcription.completed", seen_a)
