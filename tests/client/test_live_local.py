"""LiveSession against the real LocalServer: no scripted peer on either side.

The client (``LiveSession``) and the server (``LocalServer``'s ``/v1/live/sessions``: its own
VAD, Whisper hearing, the local responder, eSpeak NG speaking, real-time pacing) meet over a
loopback socket. What goes in is speech: a person reading a Harvard sentence (Debian's
codec2-examples) and the committed clips of ``tests/data``. Each test checks what a person
would: what was heard, what the model said and played, that speaking over the model stops it,
that a muted microphone is not heard, that a fixture plays, that a delegation is answered, and
that usage and cost advance up to a clean ``session.closed``. Every event the client received
is checked against the SDK's Live server union (strict, no unknown key).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from realtime_widgets.audio.rate import MODEL_RATE
from realtime_widgets.audio.resample import resample
from realtime_widgets.audio.wav import read_wav
from realtime_widgets.client import Endpoint
from realtime_widgets.client.live import LiveSession
from realtime_widgets.client.live_cost import LIVE_PRICES
from realtime_widgets.protocol import live_events as le
from realtime_widgets.protocol.live_config import LiveConfig
from realtime_widgets.server.app import LocalServer
from realtime_widgets.server.live_engine import ACKNOWLEDGEMENT
from realtime_widgets.server.reply.chat import ChatResponder
from realtime_widgets.server.tts import Synthesizer
from tests.protocol.sdk_oracle import check_live_server_event
from tests.server.chat_endpoint import ChatEndpoint, Reply, text_chunks, tool_chunks
from tests.speech import HARVARD, recorded_clip
from tests.waiting import eventually

pytestmark = pytest.mark.slow

BIRCH = "The birch canoe slid on the smooth planks."
TABLE = "I would like to book a table for two."
# How the local responder's answer to a spoken turn ends (server/reply/responder.py): the whole
# reply was said when its transcript ends so.
REPLY_END = "at speed 1."
WAIT = 90.0  # seconds (x RW_TESTS_TIMEOUT_FACTOR) for what takes Whisper and eSpeak


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def heard_most_of(heard: str, said: str) -> bool:
    """Whisper tiny.en heard all of ``said`` but at most one word ("plank" for "planks")."""
    reference = words(said)
    return sum(w in words(heard) for w in reference) >= len(reference) - 1


def io_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == "realtime-widgets-io"]


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    yield
    assert io_threads() == []  # every session closed its tasks and released the I/O thread


@pytest.fixture(scope="module")
def server(synth: Synthesizer) -> Iterator[LocalServer]:
    """The local server as a notebook starts it: real-time pacing, Whisper, eSpeak NG."""
    pytest.importorskip("faster_whisper", reason="the offline extra (faster-whisper) is needed")
    srv = LocalServer(speech=synth, transcriber="whisper").start()
    assert srv.transcriber is not None, srv.transcriber_note
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def birch() -> np.ndarray:
    """A person reading the sentence (16 kHz PCM16), then 1.5 s of silence."""
    if not HARVARD.exists():
        pytest.skip(f"{HARVARD} is absent: run scripts/system-packages (codec2-examples)")
    recording, info = read_wav(HARVARD)
    assert info.rate == 16000
    return np.concatenate([recording[: int(2.45 * 16000)], np.zeros(24000, np.int16)])


class Listened:
    """What a session's listeners and output tap got (on its I/O loop), and the SDK check of
    every event."""

    def __init__(self, session: LiveSession) -> None:
        self.events: list[Any] = []
        self.audio: dict[str, list[np.ndarray]] = {}  # output stream -> 24 kHz chunks
        session.on("*", self.events.append)
        session.add_output_audio_tap(self._audio)

    def _audio(self, stream: str, samples: Any) -> None:
        self.audio.setdefault(stream, []).append(np.asarray(samples, dtype=np.int16))

    def seconds(self, stream: str) -> float:
        return sum(len(c) for c in self.audio.get(stream, [])) / MODEL_RATE

    def of(self, kind: str) -> list[Any]:
        return [e for e in list(self.events) if e.type == kind]

    def check_all(self) -> None:
        for event in self.events:
            if isinstance(event, le.LiveServerEvent):  # (not the client's own local events)
                check_live_server_event(json.loads(event.model_dump_json(exclude_unset=True)))


class Microphone:
    """A microphone's stream, as a Live client sends one: 40 ms chunks in real time, silence
    when nobody speaks (GPT-Live hears a continuous stream: the server's input timeline and its
    output timeline then agree). :meth:`say` queues an utterance; :attr:`quiet` says when all
    of it went out."""

    CHUNK_S = 0.04

    def __init__(self, session: LiveSession, rate: int) -> None:
        self.session, self.rate = session, rate
        self.step = int(rate * self.CHUNK_S)
        self.queue: deque[np.ndarray] = deque()
        self.sent_chunks = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-microphone", daemon=True)

    def __enter__(self) -> Microphone:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def say(self, samples: np.ndarray) -> None:
        for i in range(0, len(samples), self.step):
            self.queue.append(samples[i : i + self.step])

    @property
    def quiet(self) -> bool:
        return not self.queue

    def _run(self) -> None:
        start = time.monotonic()
        while not self._stop.wait(
            max(0.0, start + self.sent_chunks * self.CHUNK_S - time.monotonic())
        ):
            chunk = self.queue.popleft() if self.queue else np.zeros(self.step, np.int16)
            self.session.stream_audio(chunk, self.rate)
            self.sent_chunks += 1


def live(server: LocalServer, **config: Any) -> LiveSession:
    return LiveSession(
        LiveConfig(model="gpt-live-1.1", **config),
        endpoint=Endpoint.local(server.url, "gpt-live-1.1"),
        reconnect=False,
        timeout=30.0,
    )


def billed(heard: Listened) -> float:
    """The billed seconds of the latest usage report (0 before any)."""
    reports = heard.of("session.usage.updated")
    return float(reports[-1].usage.seconds) if reports else 0.0


def said(session: LiveSession, role: str) -> list[str]:
    # (a turn's first delta may lead with the space that joins it to the stream before it)
    return [t.text.strip() for t in session.state.transcript.ordered() if t.role == role]


# ---- a spoken turn, its answer, usage, cost and the end --------------------------------------


def test_a_persons_speech_is_heard_answered_in_words_and_audio_and_billed(
    server: LocalServer, birch: np.ndarray
) -> None:
    session = live(server, audio_format={"type": "audio/pcm", "rate": 16000})
    heard = Listened(session)
    with session:
        session.connect()
        assert session.started
        assert session.effective is not None
        assert session.effective.audio_format.rate == 16000
        with Microphone(session, 16000) as mic:  # PCM16 at 16 kHz, the session's format
            mic.say(birch)
            eventually(lambda: any(t.endswith(REPLY_END) for t in said(session, "assistant")), WAIT)
        user, assistant = said(session, "user"), said(session, "assistant")
        assert len(user) == 1
        assert heard_most_of(user[0], BIRCH), user
        assert len(assistant) == 1
        assert assistant[0].startswith("I heard: "), assistant
        assert {"birch", "canoe"} <= set(words(assistant[0]))
        # The model's voice: one stream, seconds of it, as 24 kHz samples on the output tap.
        assert list(heard.audio) == ["live_audio_1"]
        assert heard.seconds("live_audio_1") > 5.0
        # (what the 16 -> 24 kHz resampler still holds comes when the stream ends: < 60 ms)
        assert session.state.audio_ms == pytest.approx(heard.seconds("live_audio_1") * 1000, abs=60)
        # The transcript came first, the model's words after it; the latency was measured.
        kinds = [e.type for e in heard.events]
        assert kinds.index("session.input_transcript.delta") < kinds.index(
            "session.output_transcript.delta"
        )
        (latency,) = session.metrics.latencies_ms()
        assert 0 < latency < 10_000  # end of speech -> the model's first audio, measured here
        # Usage advances (cumulative reports, never summed) and is priced with its source.
        reports = [e.usage.seconds for e in heard.of("session.usage.updated")]
        assert len(reports) >= 2
        assert reports == sorted(reports)
        assert reports[-1] > reports[0]
        assert session.usage.seconds == reports[-1]
        cost = session.cost_report
        assert cost.price is LIVE_PRICES["gpt-live-1.1"]
        assert cost.dollars == pytest.approx(session.usage.active_seconds / 60 * 0.05)
        assert cost.dollars > 0
        assert cost.price.source in cost.note
        # A clean end: session.close answered by session.closed with the final usage.
        closed = session.close_session()
        assert closed.reason == "close_requested"
        assert closed.session_id == session.session_id
        assert closed.seconds >= reports[-1]
        assert session.state.closed is closed
        # The server then ends the connection, which is not reopened.
        eventually(lambda: not session.connected, WAIT)
        assert heard.of("session.disconnected")[-1].reason == "session_closed"
        assert heard.of("session.closed")[-1].usage.seconds == closed.seconds
    heard.check_all()


def test_speaking_over_the_model_stops_its_audio_and_it_answers_the_new_turn(
    server: LocalServer, birch: np.ndarray
) -> None:
    session = live(server, audio_format={"type": "audio/pcm", "rate": 16000})
    heard = Listened(session)
    with session:
        session.connect()
        with Microphone(session, 16000) as mic:
            mic.say(birch)
            # The model talks, and has been heard for a second or so ...
            eventually(lambda: "smooth" in " ".join(said(session, "assistant")), WAIT)
            mic.say(birch)  # ... and the person speaks over it
            eventually(lambda: any(t.endswith(REPLY_END) for t in said(session, "assistant")), WAIT)
        session.close_session()
    user, assistant = said(session, "user"), said(session, "assistant")
    assert len(user) == 2
    assert all(heard_most_of(u, BIRCH) for u in user), user
    # The first answer was cut where the person spoke: its words and its audio stop short of
    # the whole answer, which the second turn got.
    assert len(assistant) == 2, assistant
    cut, whole = assistant
    assert whole.startswith("I heard: ")
    assert whole.endswith(REPLY_END)
    assert not cut.endswith(REPLY_END)
    assert len(cut) < len(whole) / 2, cut
    assert list(heard.audio) == ["live_audio_1", "live_audio_2"]
    assert heard.seconds("live_audio_1") < heard.seconds("live_audio_2") / 2
    heard.check_all()


# ---- mute, unmute, a fixture ---------------------------------------------------------------------


def test_muted_input_is_not_heard_and_its_seconds_are_billed_as_any(
    server: LocalServer, birch: np.ndarray
) -> None:
    """A mute stops the model hearing; it pauses no billing. Over a WebSocket the usage is
    ``seconds`` alone (the active/paused breakdown is WebRTC's, and paused there is an idle
    timeout's pause), so the cost prices every second as active and says it is an upper bound."""
    table = recorded_clip([TABLE], ["ash"], lead_ms=300).samples  # 24 kHz
    session = live(server)
    heard = Listened(session)
    with session:
        session.connect()
        with Microphone(session, MODEL_RATE) as mic:
            muted_id = session.mute()
            eventually(lambda: session.state.muted, WAIT)
            assert heard.of("session.input_audio.muted")[0].client_event_id == muted_id
            at_mute = billed(heard)
            mic.say(resample(birch, 16000, MODEL_RATE).astype(np.int16))  # not heard
            # Muted time is billed time: a later report counts it.
            eventually(lambda: billed(heard) >= at_mute + 1, WAIT)
            eventually(lambda: mic.quiet, WAIT)
            unmuted_id = session.unmute()
            eventually(lambda: not session.state.muted, WAIT)
            assert heard.of("session.input_audio.unmuted")[0].client_event_id == unmuted_id
            mic.say(table)
            eventually(lambda: len(said(session, "user")) == 1, WAIT)
        closed = session.close_session()
    assert heard_most_of(said(session, "user")[0], TABLE), said(session, "user")
    # Only what was said unmuted was heard.
    assert len(said(session, "user")) == 1
    # The usage: cumulative seconds, never a breakdown on a WebSocket, and the mute's seconds
    # in them.
    reports = heard.of("session.usage.updated")
    seconds = [r.usage.seconds for r in reports]
    assert seconds == sorted(seconds)
    assert [(r.usage.active_seconds, r.usage.paused_seconds) for r in reports] == [
        (None, None)
    ] * len(reports)
    assert (closed.active_seconds, closed.paused_seconds) == (None, None)
    assert closed.seconds >= at_mute + 1
    assert session.usage.seconds == session.usage.unsplit_seconds == closed.seconds
    assert session.usage.paused_seconds == 0
    # The cost: every second priced as active, and the note says it is an upper bound.
    cost = session.cost_report
    price = LIVE_PRICES["gpt-live-1.1"]
    assert cost.price is price
    assert cost.assumed_active_seconds == closed.seconds
    assert (cost.active_seconds, cost.paused_seconds) == (closed.seconds, 0)
    assert cost.standby_dollars == 0
    assert cost.dollars == pytest.approx(closed.seconds / 60 * price.active_per_minute)
    assert "upper bound" in cost.note
    assert "reports only for eligible WebRTC sessions" in cost.note
    heard.check_all()


def test_a_fixture_plays_through_the_output_in_the_sessions_format(server: LocalServer) -> None:
    seconds, hz = 1.0, 440.0
    t = np.arange(int(seconds * MODEL_RATE)) / MODEL_RATE
    tone = (0.3 * 32767 * np.sin(2 * np.pi * hz * t)).astype(np.int16)
    session = live(server, audio_format={"type": "audio/pcmu"})  # G.711 mu-law at 8 kHz
    heard = Listened(session)
    with session:
        session.connect()
        play_id = session.play_fixture(tone, MODEL_RATE)
        eventually(lambda: session.state.fixtures_played == 1, WAIT)
        assert not session.state.fixture_playing
        assert heard.of("session.output_audio.fixture.playing")[0].client_event_id == play_id
        assert heard.of("session.output_audio.fixture.played")[0].client_event_id == play_id
        session.close_session()
    # The tone came back whole, through 8 kHz mu-law, as the model's output.
    assert list(heard.audio) == ["live_audio_1"]
    out = np.concatenate(heard.audio["live_audio_1"]).astype(np.float64)
    assert len(out) / MODEL_RATE == pytest.approx(seconds, abs=0.05)
    spectrum = np.abs(np.fft.rfft(out))
    peak_hz = np.argmax(spectrum) * MODEL_RATE / len(out)
    assert peak_hz == pytest.approx(hz, abs=5)
    assert said(session, "user") == []  # input is muted while a fixture plays
    heard.check_all()


# ---- delegation to the client ------------------------------------------------------------------


def test_a_delegation_is_created_and_the_clients_answer_is_spoken(synth: Synthesizer) -> None:
    """The local server's model here is a chat endpoint (a scripted Chat Completions server on
    127.0.0.1) that hands the person's request to the client with the ``delegate`` tool: the
    speech is still heard by Whisper, the delegation and its answer go over the wire as GPT-Live
    has them, and the chat model gets the client's answer as the tool's output."""
    table = recorded_clip([TABLE], ["ash"], lead_ms=300).samples
    answer = "Table for two at seven, confirmation 42."
    with ChatEndpoint() as endpoint:
        endpoint.queue(
            Reply(tool_chunks("delegate", '{"task": "book a table for two"}')),
            Reply(text_chunks("Your table", " for two is booked at seven.")),
        )
        responder = ChatResponder(endpoint.url, "test-model")
        srv = LocalServer(responder=responder, speech=synth, transcriber="whisper").start()
        try:
            session = live(srv, delegation={"type": "client", "acknowledgement_delay_ms": 0})
            heard = Listened(session)
            with session:
                session.connect()
                with Microphone(session, MODEL_RATE) as mic:
                    mic.say(table)
                    eventually(lambda: bool(session.state.pending_delegations()), WAIT)
                    (pending,) = session.state.pending_delegations()
                    assert pending.target == "client"
                    assert pending.status == "pending"
                    created = heard.of("session.delegation.created")[0]
                    assert created.delegation.id == pending.id
                    assert pending.offset_ms == created.offset_ms
                    answer_id = session.answer_delegation(pending.id, answer)
                    eventually(
                        lambda: session.state.delegations[pending.id].status == "accepted", WAIT
                    )
                    assert heard.of("session.commentary.appended")[-1].client_event_id == answer_id
                    eventually(
                        lambda: any(
                            t.endswith("booked at seven.") for t in said(session, "assistant")
                        ),
                        WAIT,
                    )
                session.close_session()
        finally:
            srv.stop()
        first, second = (r.body["messages"] for r in endpoint.requests[:2])
    # The chat model heard the person (Whisper), and got the client's answer as the tool's output.
    assert heard_most_of(first[-1]["content"], TABLE), first[-1]
    assert second[-2]["tool_calls"][0]["id"] == pending.id
    assert second[-1] == {"role": "tool", "tool_call_id": pending.id, "content": answer}
    assert session.state.pending_delegations() == []
    assert heard_most_of(said(session, "user")[0], TABLE)
    spoken = " ".join(said(session, "assistant"))
    # Nothing was said before the client's answer but the server's acknowledgement.
    assert spoken.startswith(ACKNOWLEDGEMENT), spoken
    assert spoken.endswith("Your table for two is booked at seven."), spoken
    heard.check_all()
