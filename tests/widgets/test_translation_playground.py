"""TranslationPlayground and TranslationTranscript against live translation sessions on the local
server (real sockets, the server's own VAD over committed speech): a control change goes out at
once as the SDK's session.update, the transcripts fill delta by delta in the session's order,
the model locks while connected, the server's "no translator" is said plainly while the source
transcript flows, an error naming a field lands on its control, and the key never syncs."""

from __future__ import annotations

import asyncio
import html
import json
import re
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import websockets
from ipywidgets.embed import embed_data
from websockets.asyncio.server import ServerConnection

import realtime_widgets as rw
from realtime_widgets.client.auth import Secret
from realtime_widgets.client.translation import TranslationSession, translation_endpoint
from realtime_widgets.protocol import translation_events as te
from realtime_widgets.protocol.translation_config import TranslationConfig
from realtime_widgets.server.app import LocalServer
from realtime_widgets.widgets.browser_messages import read_on_session_loop
from realtime_widgets.widgets.controls import OptionalControl, leaves
from realtime_widgets.widgets.endpoint_form import OPENAI
from realtime_widgets.widgets.speaker import Speaker
from realtime_widgets.widgets.translation_playground import (
    NO_TRANSLATOR_CODE,
    TranslationPlayground,
)
from realtime_widgets.widgets.translation_transcript import TranslationTranscript
from realtime_widgets.widgets.waveform import Waveform
from tests.client.conftest import ThreadPeer
from tests.protocol.sdk_oracle import check_translation_update
from tests.server.conftest import Counting
from tests.speech import Clip
from tests.waiting import eventually, quiet_for

from .conftest import settled

KEY = "sk-proj-translate-NEVER-SAVE-ME-42"


class Words:
    """A translator: says how many words it was given, in the target language's tag."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def translate(self, text: str, source_language: str | None, target_language: str) -> str:
        self.calls.append((text, target_language))
        return f"[{target_language}] {len(text.split())} palabras."


@pytest.fixture(autouse=True)
def _no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


@pytest.fixture
def server() -> Iterator[LocalServer]:
    """A local server that hears 'call N' per segment and has no translator."""
    server = LocalServer(pace=0, speech=False, transcriber=Counting(), translator=None).start()
    yield server
    server.stop()


def _ops(view: Any) -> list[dict[str, Any]]:
    return [content for content, _ in view.comm.custom()]


def _outgoing_updates(session: TranslationSession) -> list[dict[str, Any]]:
    """The session.update events the session sent, as they went on the wire."""
    return [
        e.data for e in list(session.history) if e.direction == "out" and e.type == "session.update"
    ]


def _read(play: TranslationPlayground, fn: Any) -> Any:
    """Read the playground's state where it lives (the session loop)."""
    return read_on_session_loop(play.session, fn)


def _combobox(play: TranslationPlayground, field: str) -> Any:
    control = play.controls[field]
    return next(leaf for leaf in leaves(control.box) if type(leaf).__name__ == "Combobox")


def _speak(play: TranslationPlayground, clip: Clip, utterances: int) -> None:
    """The first ``utterances`` of ``clip`` and a second of silence, as the microphone would
    send them (24 kHz appends)."""
    assert play.session is not None
    end_ms = clip.truth[utterances - 1][1] + 1200
    play.session.append_audio(clip.samples[: int(end_ms * 24)], 24000)


# ---- the transcripts, fed by hand ----------------------------------------------------------------


def test_transcript_rows_follow_the_stream_position_one_message_per_delta() -> None:
    source = TranslationTranscript(side="source")
    target = TranslationTranscript(side="translation")
    target.state = source.state  # one session's state, two sides
    events = [
        {"type": "session.input_transcript.delta", "delta": "Hello", "elapsed_ms": 2000},
        {"type": "session.input_transcript.delta", "delta": " there.", "elapsed_ms": 2000},
        {"type": "session.output_transcript.delta", "delta": "Hola.", "elapsed_ms": 2000},
        # an earlier segment's words arrive late: its row goes before
        {"type": "session.input_transcript.delta", "delta": "First", "elapsed_ms": 800},
        # no position: the latest row (the state's rule)
        {"type": "session.input_transcript.delta", "delta": " again", "elapsed_ms": None},
        {"type": "session.output_audio.delta", "delta": "AAAA", "elapsed_ms": 4000},
        {"type": "session.output_transcript.delta", "delta": "Otra", "elapsed_ms": None},
    ]
    for raw in events:
        raw = {k: v for k, v in raw.items() if v is not None}
        event = te.parse_translation_server_event({"event_id": "e", **raw})
        source.state.apply(event)
        source.observe_event(event)
        target.observe_event(event)
    ops = _ops(source)
    assert [o["op"] for o in ops] == ["turn", "delta", "turn", "delta"]
    assert (ops[0]["id"], ops[0]["after"], ops[0]["text"], ops[0]["start_ms"]) == (
        "at-2000",
        None,
        "Hello",
        2000,
    )
    assert ops[1] == {"op": "delta", "id": "at-2000", "text": " there.", "tokens": None}
    assert (ops[2]["id"], ops[2]["after"], ops[2]["text"]) == ("at-800", None, "First")
    assert ops[3] == {"op": "delta", "id": "at-2000", "text": " again", "tokens": None}
    assert [(r["id"], r["text"]) for r in source.snapshot] == [
        ("at-800", "First"),
        ("at-2000", "Hello there. again"),
    ]
    # The translation side: its own rows; the delta with no position joined the latest (4000,
    # where the audio was), after the row at 2000.
    tops = _ops(target)
    assert [(o["op"], o["id"], o.get("after")) for o in tops] == [
        ("turn", "at-2000", None),
        ("turn", "at-4000", "at-2000"),
    ]
    assert [(r["id"], r["text"]) for r in target.snapshot] == [
        ("at-2000", "Hola."),
        ("at-4000", "Otra"),
    ]
    assert target.text == "Hola.Otra"
    assert source.text == "Hello there.First again"
    with pytest.raises(ValueError, match="side must be one of"):
        TranslationTranscript(side="both")


# ---- a live session ---------------------------------------------------------------------------


def test_a_control_change_goes_out_at_once_as_the_sdks_session_update(
    server: LocalServer,
) -> None:
    play = TranslationPlayground(server=server)
    try:
        session = play.session
        assert session is not None
        assert session.connected
        # Connect sent the playground's settings: Spanish, the source transcribed.
        first = _outgoing_updates(session)
        assert [u["session"] for u in first] == [
            {
                "audio": {
                    "output": {"language": "es"},
                    "input": {"transcription": {"model": "gpt-4o-mini-transcribe"}},
                }
            }
        ]
        # The model locks while connected, and says why.
        model = play.controls["model"]
        assert model.reason == "model cannot change during a session: connect a new session"
        assert all(leaf.disabled for leaf in leaves(model.widget) if hasattr(leaf, "disabled"))
        assert "cannot change during a session" in model.status.value
        # A person picks French (the kernel's thread): the change is read on the session loop,
        # where the playground's state lives, and one session.update goes out with that change
        # only, valid for the SDK.
        threads: list[threading.Thread] = []
        apply = play._apply_controls
        play._apply_controls = lambda: (threads.append(threading.current_thread()), apply())
        _combobox(play, "output_language").value = "fr"
        eventually(lambda: len(_outgoing_updates(session)) == 2, timeout=20)
        assert threads == [session.loop_thread]
        del play._apply_controls
        sent = _outgoing_updates(session)[-1]
        assert sent["session"] == {"audio": {"output": {"language": "fr"}}}
        check_translation_update(sent)
        eventually(
            lambda: session.effective is not None and session.effective.output_language == "fr"
        )
        eventually(lambda: "into <b>fr</b>" in _read(play, lambda: play.status.value))
        # Noise reduction on: its own update, the object whole.
        noise = play.controls["noise_reduction"]
        toggle = next(leaf for leaf in leaves(noise.box) if type(leaf).__name__ == "Checkbox")
        toggle.value = True
        eventually(lambda: len(_outgoing_updates(session)) == 3, timeout=20)
        sent = _outgoing_updates(session)[-1]
        check_translation_update(sent)
        assert sent["session"]["audio"]["input"]["noise_reduction"]["type"] == "near_field"
        eventually(lambda: session.effective is not None and session.effective.noise_reduction)
        # An invalid language is shown on its control, and never sent.
        _combobox(play, "output_language").value = "French"
        eventually(
            lambda: (
                "ISO-639-1" in _read(play, lambda: play.controls["output_language"].status.value)
            )
        )
        quiet_for(300)
        assert len(_outgoing_updates(session)) == 3
        assert session.requested.output_language == "fr"
        # Fixed, the error goes and the update goes out.
        _combobox(play, "output_language").value = "de"
        eventually(lambda: len(_outgoing_updates(session)) == 4, timeout=20)
        assert _outgoing_updates(session)[-1]["session"] == {
            "audio": {"output": {"language": "de"}}
        }
        assert _read(play, lambda: play.controls["output_language"].status.value) == ""
        # The parts are the shared widgets, bound to the translation session.
        assert isinstance(play.parts["speaker"], Speaker)
        assert play.parts["speaker"].continuous
        assert isinstance(play.parts["waveform"], Waveform)
        assert play.parts["waveform"].output_label == "translation"
        assert play.parts["microphone"].mode == "hands-free"
    finally:
        play.close()
    assert play.session is None
    assert model.reason is None  # unlocked once no session holds it


def test_no_translator_is_said_plainly_while_the_source_transcript_flows(
    server: LocalServer, three_turns: Clip
) -> None:
    play = TranslationPlayground(server=server)
    try:
        session = play.session
        assert session is not None
        _speak(play, three_turns, 2)
        source = play.parts["source"]
        eventually(lambda: _read(play, lambda: source.text.count("call")) == 2, timeout=60)
        # The notice: the server's own words, under a plain heading, once.
        eventually(lambda: NO_TRANSLATOR_CODE in _read(play, lambda: play.notice.value))
        notice = _read(play, lambda: play.notice.value)
        assert play.notice.layout.display is None  # shown
        assert "No translation: this server has no translator." in notice
        assert html.escape("The source transcript still shows below.") in notice
        assert "LocalServer(translator=...)" in notice  # how to get one, from the server
        assert notice.count("rw-notice-row") == 1
        title = _read(play, lambda: play.parts["translation_title"].value)
        assert "none: no translator" in title
        # The source rows, each "call N" as the recogniser heard it (the snapshot follows the
        # last delta within a second); no translation row at all.
        eventually(lambda: _read(play, lambda: len(source.snapshot)) == 2)
        rows = _read(play, lambda: [r["text"].strip() for r in source.snapshot])
        assert all(re.fullmatch(r"call \d+", row) for row in rows), rows
        assert " ".join(rows) == session.state.input_text.strip()
        assert _read(play, lambda: play.parts["translation"].snapshot) == []
        assert _ops(play.parts["translation"]) == []
        assert session.state.output_text == ""
        # The latency says there is no translated audio yet, and how many ends it heard.
        ends = len(session.metrics.timings)
        assert ends >= 1  # the client found where the speech ended in what it sent
        latency = _read(play, lambda: play.latency.value)
        assert (
            f"no translated audio yet ({ends} end{'s' if ends != 1 else ''} of speech)" in latency
        )
        # The connection says it at once, before any speech: no translator here.
        assert "no translator: the source transcript only" in play.connection.status.value
    finally:
        play.close()


def test_translations_stream_in_beside_the_source_with_the_latency_and_both_lanes(
    three_turns: Clip,
) -> None:
    words = Words()
    server = LocalServer(pace=0, speech="espeak", transcriber=Counting(), translator=words).start()
    try:
        play = TranslationPlayground(server=server)
        session = play.session
        assert session is not None
        assert "translating with Words" in play.connection.status.value
        _speak(play, three_turns, 2)
        target = play.parts["translation"]
        eventually(lambda: _read(play, lambda: len(target.snapshot)) == 2, timeout=60)
        eventually(lambda: len(session.metrics.latencies_ms()) >= 1, timeout=60)
        rows = _read(play, lambda: [(r["id"], r["text"].strip()) for r in target.snapshot])
        source = _read(
            play, lambda: [(r["id"], r["text"].strip()) for r in play.parts["source"].snapshot]
        )
        assert [text for _, text in rows] == ["[es] 2 palabras.", "[es] 2 palabras."]
        assert [i for i, _ in rows] == [i for i, _ in source]  # each beside its source
        assert all(re.fullmatch(r"call \d+", text) for _, text in source), source
        assert [text for text, _ in words.calls] == [text for _, text in source]
        # Each delta was one message: the ops joined are the text, nothing sent twice.
        ops = _read(play, lambda: _ops(target))
        joined = "".join(o["text"] for o in ops)
        assert joined == session.state.output_text
        # The latency line shows the client's figure.
        last = session.metrics.latencies_ms()[-1]
        eventually(lambda: f"last <b>{last:.0f} ms</b>" in _read(play, lambda: play.latency.value))
        # The translated voice reached the speaker and the waveform's second lane.
        speaker, waveform = play.parts["speaker"], play.parts["waveform"]
        eventually(lambda: _read(play, lambda: speaker.received.get("translation", 0)) > 0)
        eventually(lambda: _read(play, lambda: waveform.out_bins) > 0)
        assert _read(play, lambda: waveform.in_bins) >= int(
            len(three_turns.samples) / 24 / 10 * 0.3
        )
        # No notice: nothing is missing.
        assert _read(play, lambda: play.notice.layout.display) == "none"
        play.close()
    finally:
        server.stop()


def test_an_error_naming_a_field_lands_on_its_control(three_turns: Clip) -> None:
    server = LocalServer(pace=0, speech=False, transcriber=Counting(), translator=Words()).start()
    try:
        config = TranslationConfig(input_transcription="whisper-1")  # no target language
        play = TranslationPlayground(config, server=server)
        assert isinstance(play.controls["output_language"], OptionalControl)
        _speak(play, three_turns, 1)
        control = play.controls["output_language"]
        eventually(lambda: "output_language_missing" in _read(play, lambda: play.notice.value), 60)
        status = _read(play, lambda: control.status.value)
        assert "audio.output.language is not set" in status
        play.close()
    finally:
        server.stop()


# ---- the connection lost, an update unanswered --------------------------------------------------


def test_a_lost_connection_is_said_at_once_and_the_model_unlocks(server: LocalServer) -> None:
    play = TranslationPlayground(server=server)
    try:
        session = play.session
        assert session is not None
        settled(session)
        model = play.controls["model"]
        assert model.reason is not None  # locked while connected
        session.max_reconnects = 1  # one attempt, which the stopped server refuses: final
        shown: list[str] = []
        play.connection.status.observe(lambda change: shown.append(change["new"]), "value")
        mark = session.mark()
        server.stop()
        lost = session.wait_for("session.disconnected", timeout=30, since=mark)
        settled(session)
        assert any("reconnecting" in s and "attempt 1 of 1" in s for s in shown), shown
        status = play.connection.status.value
        assert "color:#c0392b" in status
        assert "connection lost" in status
        assert html.escape(lost.message) in status
        assert "Connect starts a new session" in status
        assert "connected to" not in status
        # The model is free again: the next Connect may pick another.
        assert model.reason is None
        assert not any(leaf.disabled for leaf in leaves(model.widget) if hasattr(leaf, "disabled"))
        assert "cannot change during a session" not in model.status.value
    finally:
        play.close()


def test_a_reconnect_is_said_and_the_model_locks_again(server: LocalServer) -> None:
    play = TranslationPlayground(server=server)
    try:
        session = play.session
        assert session is not None
        settled(session)
        shown: list[str] = []
        play.connection.status.observe(lambda change: shown.append(change["new"]), "value")
        mark = session.mark()
        server.stop()  # the socket closes; the same port serves again at once
        server.start()
        session.wait_for("session.reconnected", timeout=30, since=mark)
        settled(session)
        assert any("reconnecting" in s for s in shown), shown
        status = play.connection.status.value
        assert "reconnected" in status
        assert "color:#c0392b" not in status
        assert play.controls["model"].reason is not None
    finally:
        play.close()


class Swallowing(ThreadPeer):
    """Relays a translation session to the local server, but drops every ``session.update``
    after the first: the server never answers them (as a slow or lost answer would look)."""

    def __init__(self, upstream: LocalServer) -> None:
        super().__init__(self._relay)
        self.upstream = upstream
        self.swallowed: list[dict[str, Any]] = []

    async def _relay(self, client: ServerConnection) -> None:
        assert client.request is not None
        url = f"ws://127.0.0.1:{self.upstream.port}{client.request.path}"
        updates = 0
        async with websockets.connect(url, max_size=None) as upstream:

            async def out() -> None:
                nonlocal updates
                async for message in client:
                    event = json.loads(message)
                    if event["type"] == "session.update":
                        updates += 1
                        if updates > 1:
                            self.swallowed.append(event)
                            continue
                    await upstream.send(message)

            async def back() -> None:
                async for message in upstream:
                    await client.send(message)

            tasks = [asyncio.ensure_future(out()), asyncio.ensure_future(back())]
            try:
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)


def test_an_update_that_fails_is_said_and_the_control_shows_the_sessions_value(
    server: LocalServer,
) -> None:
    with Swallowing(server) as relay:
        play = TranslationPlayground(server=SimpleNamespace(url=relay.url))
        try:
            session = play.session
            assert session is not None
            eventually(lambda: session.effective is not None, 20)
            assert session.effective is not None
            assert session.effective.output_language == "es"
            session.timeout = 1.0
            _combobox(play, "output_language").value = "fr"
            eventually(lambda: len(relay.swallowed) == 1, 20)
            control = play.controls["output_language"]
            eventually(lambda: "session.update" in _read(play, lambda: control.status.value), 20)
            # On the control: what failed and why, in red; the control back at the value the
            # session has (Spanish), and the console's settings with it.
            said = _read(play, lambda: control.status.value)
            assert "color:#c0392b" in said
            assert "within 1 s" in said
            assert "no * event" not in said
            assert _read(play, lambda: control.value) == "es"
            assert play.requested.output_language == "es"
            assert session.requested.output_language == "es"
            # On the connection's status line too, saying what is in effect.
            status = _read(play, lambda: play.connection.status.value)
            assert "color:#c0392b" in status
            assert "session.update" in status
            assert "es" in status
            assert "into <b>es</b>" in _read(play, lambda: play.status.value)
            # Nothing more went out (putting the control back is no new change).
            quiet_for(300)
            assert len(relay.swallowed) == 1
            assert len(_outgoing_updates(session)) == 2
        finally:
            play.close()


def test_the_key_never_syncs_and_reaches_only_the_endpoint() -> None:
    play = TranslationPlayground(connect=False)
    try:
        form = play.connection
        form.target.value = OPENAI
        assert form.key.layout.display is None
        assert form.answers.layout.display == "none"
        form.key._on_browser(form.key, {"type": "key", "value": KEY}, [])
        assert form.key.has_key
        assert form.key.secret == Secret(KEY)
        # The session this form makes goes to OpenAI's translations path with the key.
        endpoint = translation_endpoint(form.endpoint("gpt-realtime-translate"), "x")
        assert endpoint.url.startswith("wss://api.openai.com/v1/realtime/translations?")
        assert endpoint.headers()["Authorization"] == f"Bearer {KEY}"
        # The chat endpoint's key (the local server's translator) is kept the same way.
        chat_key = "sk-chat-translate-NEVER-SAVE-ME-7"
        form.chat.key._on_browser(form.chat.key, {"type": "key", "value": chat_key}, [])
        assert form.chat.key.secret == Secret(chat_key)
        # Nowhere a notebook saves or a person sees.
        state = json.dumps(embed_data(views=[play])["manager_state"])
        assert KEY not in state
        assert chat_key not in state
        from ipywidgets.widgets.widget import _instances

        every = json.dumps([w.get_state() for w in list(_instances.values())], default=str)
        assert KEY not in every
        assert chat_key not in every
        assert KEY not in repr(play) + repr(form.key) + repr(endpoint)
        assert chat_key not in repr(form.chat.key)
        # Without a key the connect fails on the status line, saying so (no key shown).
        form.key._on_browser(form.key, {"type": "key", "value": ""}, [])
        play._connect_clicked()
        assert "OPENAI_API_KEY" in form.status.value or "key" in form.status.value.lower()
        assert play.session is None
    finally:
        play.close()


def test_exported_where_the_other_playgrounds_are() -> None:
    assert rw.TranslationPlayground is TranslationPlayground
    assert "TranslationPlayground" in rw.__all__
    from realtime_widgets import widgets

    assert widgets.TranslationPlayground is TranslationPlayground
