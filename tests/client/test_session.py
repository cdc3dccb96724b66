"""RealtimeSession against the local server and scripted peers, over real loopback sockets."""

from __future__ import annotations

import asyncio
import enum
import itertools
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Literal

import numpy as np
import pytest
from pydantic import BaseModel

from realtime_widgets import ConfigError, ServerError, SessionConfig
from realtime_widgets.client import Endpoint, RealtimeSession, Secret, mint_client_secret
from realtime_widgets.client.tools import PythonTool, schema_for
from realtime_widgets.server.app import LocalServer
from tests.speech import Clip
from tests.waiting import eventually

from .conftest import CuttingProxy, ThreadPeer, rejecting_peer

TEXT = SessionConfig(output_modalities=["text"])


def io_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == "realtime-widgets-io"]


def session_for(server: LocalServer, config: SessionConfig = TEXT, **kw: object) -> RealtimeSession:
    return RealtimeSession(config, endpoint=Endpoint.local(server.url, config.model), **kw)  # type: ignore[arg-type]


def test_connect_update_and_effective_config(server: LocalServer) -> None:
    s = session_for(
        server, SessionConfig(voice="marin", output_modalities=["text"], instructions="Be brief.")
    )
    try:
        s.connect()
        assert s.connected
        assert s.effective is not None
        assert (s.effective.voice, s.effective.instructions) == ("marin", "Be brief.")
        # The local server sends no expires_at (the SDK's session has none); a real server's
        # is read when present (tests/client/test_core.py).
        assert s.expires_in is None
        effective = s.update({"turn_detection.silence_duration_ms": 750}, speed=1.2)
        assert effective.turn_detection is not None
        assert effective.turn_detection.silence_duration_ms == 750  # type: ignore[union-attr]
        assert s.requested.speed == 1.2
        sent = [h for h in s.history if h.direction == "out" and h.type == "session.update"][
            -1
        ].data
        assert set(sent["session"]) == {"type", "audio"}  # only what changed
        with pytest.raises(ConfigError, match=r"speed must be between 0\.25 and 1\.5"):
            s.update(speed=3)
        assert s.requested.speed == 1.2  # unchanged
    finally:
        s.close()
    assert io_threads() == []


def test_server_rejection_names_our_field() -> None:
    with ThreadPeer(
        rejecting_peer("session.audio.input.turn_detection.threshold", "Nope.")
    ) as peer:
        s = RealtimeSession(endpoint=Endpoint.local(peer.url, "m"), reconnect=False)
        try:
            s.connect()
            with pytest.raises(ServerError) as info:
                s.update({"turn_detection.threshold": 0.7})
            assert info.value.config_field == "turn_detection.threshold"
            assert info.value.message == "Nope."
            assert s.requested.turn_detection.threshold == 0.5  # type: ignore[union-attr]
        finally:
            s.close()


def test_text_turn_and_state(server: LocalServer) -> None:
    with session_for(server) as s:
        mark = s.mark()
        s.send_text("good morning")
        done = s.wait_for("response.done", timeout=30, since=mark)
        assert done.response.status == "completed"  # type: ignore[attr-defined]
        assert s.state.transcript()[0] == ("user", "good morning")
        assert s.state.transcript()[1][1].startswith("You said: good morning.")
        turn = s.metrics.turns[-1]
        assert turn.response_created is not None
        assert turn.first_delta is not None
        assert turn.response_done is not None
        assert turn.response_created <= turn.first_delta <= turn.response_done
        assert s.cost is not None
        assert s.cost > 0


def test_audio_is_converted_to_the_input_format(server: LocalServer, three_turns: Clip) -> None:
    from realtime_widgets.audio import resample

    speech48 = np.asarray(resample(three_turns.samples[:48000], 24000, 48000), dtype=np.int16)
    before = set(server.sessions)  # the local server names its sessions; the wire does not
    with session_for(server, SessionConfig(output_modalities=["text"], turn_detection=None)) as s:
        sent = s.append_audio(speech48, rate=48000)
        # 2 s of 48 kHz become 2 s of 24 kHz PCM16, less what the filter still holds
        assert 96000 - 2000 <= sent <= 96000
        s.update(input_audio_format="g711_ulaw")
        sent_ulaw = s.append_audio(three_turns.samples[:24000], rate=24000)
        assert 8000 - 200 <= sent_ulaw <= 8000  # 1 s at 8 kHz, one byte per sample
        (sid,) = set(server.sessions) - before
        engine = server.sessions[sid]
        mark = s.mark()
        s.commit()  # flushes the held-back tails first
        s.wait_for("input_audio_buffer.committed", timeout=30, since=mark)
        # Everything arrived, each part in its own format: the PCM tail went out before the
        # format change, the mu-law tail at the commit.
        assert engine.stats["appended_bytes"] == pytest.approx(96000 + 8000, abs=24)


def test_streamed_audio_arrives_in_order_before_a_commit(
    server: LocalServer, three_turns: Clip
) -> None:
    x = three_turns.samples[:24000]
    with session_for(server, SessionConfig(output_modalities=["text"], turn_detection=None)) as s:
        for i in range(0, len(x), 960):
            s.stream_audio(x[i : i + 960])
        mark = s.mark()
        s.commit()
        committed = s.wait_for("input_audio_buffer.committed", timeout=30, since=mark)
        item = committed.item_id  # type: ignore[attr-defined]
        mark = s.mark()
        s.send_event({"type": "conversation.item.retrieve", "item_id": item})
        got = s.wait_for("conversation.item.retrieved", timeout=30, since=mark)
        audio = got.item.content[0].audio  # type: ignore[attr-defined]
        import base64

        assert np.array_equal(np.frombuffer(base64.b64decode(audio), "<i2"), x)


def test_spoken_turn_with_vad(server: LocalServer, three_turns: Clip) -> None:
    first = three_turns.samples[: int((three_turns.truth[0][1] + 900) * 24)]
    with session_for(server, SessionConfig(output_modalities=["text"])) as s:
        mark = s.mark()
        s.append_audio(first)
        s.wait_for("response.done", timeout=60, since=mark)
        assert len(s.state.turns) == 1
        assert abs(s.state.turns[0].audio_start_ms - (three_turns.truth[0][0] - 300)) <= 40
        assert s.metrics.turns[0].speech_stopped is not None


class Unit(enum.Enum):
    C = "c"
    F = "f"


class Booking(BaseModel):
    name: str
    seats: int
    when: Literal["lunch", "dinner"] = "dinner"


def test_schema_from_type_hints_and_models() -> None:
    def weather(
        city: str, unit: Unit = Unit.C, days: int = 1, detailed: bool | None = None
    ) -> dict:
        """Weather for a city.

        More text that is not the description."""
        return {}

    tool = PythonTool.from_callable(weather)
    assert tool.description == "Weather for a city."
    assert tool.parameters == {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["c", "f"]},
            "days": {"type": "integer"},
            "detailed": {"type": "boolean"},
        },
        "required": ["city"],
        "additionalProperties": False,
    }

    def book(booking: Booking) -> str:
        return booking.name

    schema, convert = schema_for(book)
    assert schema["required"] == ["name", "seats"]
    assert schema["properties"]["when"]["enum"] == ["lunch", "dinner"]
    assert convert({"name": "Ada", "seats": 2})["booking"] == Booking(name="Ada", seats=2)
    assert asyncio.run(tool.call('{"city": "Oslo", "unit": "x"}')).startswith(
        '{"error": "invalid arguments'
    )


def test_python_tools_run_and_their_errors_go_back_to_the_model(server: LocalServer) -> None:
    calls: list[str] = []
    with session_for(server) as s:

        @s.tool
        async def lookup(query: str) -> dict:
            """Look something up."""
            calls.append(query)
            return {"answer": 42}

        @s.tool(name="explode")
        def broken(x: int = 1) -> int:
            raise RuntimeError("kaboom")

        assert {t.name for t in s.effective.tools} == {"lookup", "explode"}  # type: ignore[union-attr]
        s.update(tool_choice={"type": "function", "name": "lookup"})
        mark = s.mark()
        s.send_text("the meaning")
        call = s.wait_for("response.done", timeout=30, since=mark)  # the call
        answer = s.wait_for(
            "response.done",
            timeout=30,
            since=mark,
            predicate=lambda e: e.response.id != call.response.id,
        )  # type: ignore[attr-defined]
        assert calls == ["the meaning"]
        text = answer.response.output[0].content[0].text  # type: ignore[attr-defined]
        assert text.startswith('The tool lookup returned: {"answer": 42}')
        s.update(tool_choice={"type": "function", "name": "explode"})
        mark = s.mark()
        s.send_text("go")
        call = s.wait_for("response.done", timeout=30, since=mark)
        answer = s.wait_for(
            "response.done",
            timeout=30,
            since=mark,
            predicate=lambda e: e.response.id != call.response.id,
        )  # type: ignore[attr-defined]
        assert "RuntimeError: kaboom" in answer.response.output[0].content[0].text  # type: ignore[attr-defined]
        assert s.connected


def test_reconnects_after_20_cuts_mid_response(three_turns: Clip) -> None:
    upstream = LocalServer(pace=0.0, speech=False).start()
    try:
        with CuttingProxy(upstream.url, drops=20, after_deltas=2) as proxy:
            config = SessionConfig(
                output_modalities=["text"], instructions="Keep this.", voice="sage"
            )
            s = RealtimeSession(
                config, endpoint=Endpoint.local(proxy.url, config.model), max_reconnects=5
            )
            reconnects: list[list[str]] = []
            s.on("session.reconnected", lambda e: reconnects.append(e.model_extra["lost_item_ids"]))  # type: ignore[index]
            updates: list = []
            try:
                s.connect()
                s.on("session.updated", updates.append)  # after connect: re-applications only
                for round_ in range(20):
                    s.send_text(f"turn {round_}")
                    eventually(lambda r=round_: len(updates) >= r + 1 and len(reconnects) >= r + 1)
                    session = updates[round_].session  # type: ignore[attr-defined]
                    assert session["instructions"] == "Keep this."  # the config, re-applied
                    assert session["audio"]["output"]["voice"] == "sage"
                assert proxy.cuts == 20
                assert s.reconnects == 20
                assert len(reconnects) == 20
                # After the cuts, the session works normally.
                mark = s.mark()
                s.send_text("final")
                done = s.wait_for("response.done", timeout=60, since=mark)
                assert done.response.status == "completed"  # type: ignore[attr-defined]
            finally:
                s.close()
        ids = [i.id for i in s.state.ordered_items()]
        assert len(ids) == len(set(ids))  # no duplicated items
        texts = [t for role, t in s.state.transcript() if role == "user"]
        assert texts == [f"turn {i}" for i in range(20)] + ["final"]  # each once, in order
        lost = [i for batch in reconnects for i in batch]
        assert len(lost) == len(set(lost))  # each lost item reported once
        assert set(lost) <= set(ids)
    finally:
        upstream.stop()


def test_record_and_replay(server: LocalServer, tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    with session_for(server, record=path) as s:
        mark = s.mark()
        s.send_text("remember me")
        s.wait_for("response.done", timeout=30, since=mark)
        original = s.state.transcript()
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert {r["dir"] for r in rows} == {"in", "out"}
    assert rows[0]["event"]["type"] == "session.created"
    assert all(a["t"] <= b["t"] for a, b in itertools.pairwise(rows))
    replayed = RealtimeSession.replay(path, speed=0)
    seen: list[str] = []
    replayed.on("*", lambda e: seen.append(e.type))
    try:
        replayed.play()
        assert replayed.state.transcript() == original
        assert "response.done" in seen
        with pytest.raises(Exception, match="read-only"):
            replayed.send_text("x")
    finally:
        replayed.close()


def test_the_key_appears_nowhere(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    key = "sk-test-SECRET-4d9a1f0b77"
    srv = LocalServer(pace=0, token=key).start()
    path = tmp_path / "rec.jsonl"
    caplog.set_level(logging.DEBUG)
    try:
        s = RealtimeSession(TEXT, endpoint=Endpoint.local(srv.url, "m", token=key), record=path)
        s.connect()
        mark = s.mark()
        s.send_text("hi")
        s.wait_for("response.done", timeout=30, since=mark)
        produced = [
            repr(s),
            str(s),
            repr(s.endpoint),
            str(s.endpoint.secret),
            f"{s.endpoint.secret}",
            repr(list(s.history)),
            path.read_text(),
            caplog.text,
        ]
        s.close()
        bad = RealtimeSession(
            TEXT, endpoint=Endpoint.local(srv.url, "m", token="wrong-" + key), reconnect=False
        )
        with pytest.raises(ServerError) as info:
            bad.connect()
        bad.close()
        produced += [str(info.value), repr(info.value)]
    finally:
        srv.stop()
    assert (
        "Authorization" in caplog.text or "authorization" in caplog.text.lower()
    )  # headers were logged...
    for text in produced:
        assert key not in text  # ...but never the key
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(Secret(key))


def test_endpoints() -> None:
    az = Endpoint.azure("my-res.openai.azure.com", "my-deploy", api_key="k1")
    assert az.url == "wss://my-res.openai.azure.com/openai/v1/realtime?model=my-deploy"
    assert az.headers() == {"api-key": "k1"}
    oa = Endpoint.openai("gpt-realtime", api_key="k2")
    assert oa.url == "wss://api.openai.com/v1/realtime?model=gpt-realtime"
    assert oa.headers() == {"Authorization": "Bearer k2"}  # no OpenAI-Beta header
    assert "k2" not in repr(oa)
    with pytest.raises(Exception, match="OPENAI_API_KEY"):
        Endpoint.openai("m", api_key="")


def test_mint_client_secret_against_a_recording_http_peer() -> None:
    seen: dict[str, object] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen["path"] = self.path
            seen["auth"] = self.headers["Authorization"]
            seen["body"] = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            body = json.dumps({"value": "ek_abc", "expires_at": 1900000000}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    http = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=http.handle_request, daemon=True)
    thread.start()
    value, expires = mint_client_secret(
        SessionConfig(voice="marin"),
        api_key="sk-x",
        expires_after_s=300,
        base_url=f"http://127.0.0.1:{http.server_port}/v1",
    )
    thread.join(5)
    http.server_close()
    assert (value, expires) == ("ek_abc", 1900000000)
    assert seen["path"] == "/v1/realtime/client_secrets"
    assert seen["auth"] == "Bearer sk-x"
    assert seen["body"] == {
        "expires_after": {"anchor": "created_at", "seconds": 300},
        "session": {
            "type": "realtime",
            "audio": {"output": {"voice": "marin"}},
            "model": "gpt-realtime-1.5",
        },
    }
    with pytest.raises(Exception, match="between 10 and 7200"):
        mint_client_secret(SessionConfig(), api_key="k", expires_after_s=5)


@pytest.mark.asyncio
async def test_async_api_and_event_iterator(server: LocalServer) -> None:
    async with session_for(server) as s:
        effective = await s.aupdate(instructions="async")
        assert effective.instructions == "async"
        kinds: list[str] = []
        listeners = len(s.core.listeners.by_type.get("*", []))

        async def collect() -> None:
            async for event in s.listen():
                kinds.append(event.type)
                if event.type == "response.done":
                    return

        task = asyncio.create_task(collect())
        # The listener registers on the I/O thread, not ours: poll until it is in place.
        while len(s.core.listeners.by_type.get("*", [])) == listeners:  # noqa: ASYNC110
            await asyncio.sleep(0.001)
        await s.asend_text("hello async")
        await asyncio.wait_for(task, 30)
        # The whole turn, in order: the user's item, the response, its deltas, its end.
        assert kinds[0] == "conversation.item.added"
        assert kinds.index("conversation.item.added") < kinds.index("response.created")
        assert kinds.index("response.created") < kinds.index("response.output_text.delta")
        assert kinds[-1] == "response.done"
        assert "response.output_text.delta" in kinds
        with pytest.raises(TimeoutError, match=r"no response\.done event within 0\.2 s"):
            await s.await_event("response.done", timeout=0.2)
    assert io_threads() == []


def test_a_broken_frame_does_not_end_the_session() -> None:
    async def handler(ws):  # type: ignore[no-untyped-def]
        await ws.send(
            json.dumps(
                {"type": "session.created", "event_id": "e0", "session": {"type": "realtime"}}
            )
        )
        async for _ in ws:  # answer the client's clear with a broken frame, then the real answer
            await ws.send('{"type": "response.output_audio.delta", broken')
            await ws.send(json.dumps({"type": "input_audio_buffer.cleared", "event_id": "e1"}))

    with ThreadPeer(handler) as peer:
        s = RealtimeSession(endpoint=Endpoint.local(peer.url, "m"), reconnect=False)
        problems: list[str] = []
        s.on("client.protocol_error", lambda e: problems.append(e.model_extra["message"]))  # type: ignore[index]
        try:
            s.connect()
            mark = s.mark()
            s.clear_audio()
            s.wait_for("input_audio_buffer.cleared", timeout=30, since=mark)
            assert s.connected
            assert len(problems) == 1
            assert problems[0].startswith("not JSON")
        finally:
            s.close()


def test_wait_for_since_a_mark_sees_events_that_already_arrived(server: LocalServer) -> None:
    with session_for(server) as s:
        mark = s.mark()
        s.send_text("quick")
        eventually(lambda: any(e.type == "response.done" for e in s.events))  # it has arrived
        done = s.wait_for("response.done", timeout=5, since=mark)
        assert done.response.status == "completed"  # type: ignore[attr-defined]
        with pytest.raises(TimeoutError):
            s.wait_for("response.done", timeout=0.3)  # without since: only new events


def test_wait_for_times_out_clearly(server: LocalServer) -> None:
    with (
        session_for(server) as s,
        pytest.raises(TimeoutError, match=r"no response\.done event within 0\.3 s"),
    ):
        s.wait_for("response.done", timeout=0.3)


def test_session_expiry_is_handled_by_reconnecting() -> None:
    short = LocalServer(pace=0, speech=False, max_duration_s=1.0).start()
    try:
        config = SessionConfig(output_modalities=["text"], instructions="Survive expiry.")
        s = RealtimeSession(config, endpoint=Endpoint.local(short.url, config.model))
        errors: list[str] = []
        s.on("error", lambda e: errors.append(e.error.code))  # type: ignore[attr-defined]
        try:
            s.connect()
            mark = s.mark()
            back = s.wait_for("session.reconnected", timeout=30, since=mark)
            assert back.model_extra["close_code"] == 1001  # type: ignore[index]
            assert "session_expired" in errors
            eventually(
                lambda: (
                    short.connections_total >= 2  # a new session
                    and s.effective is not None
                    and s.effective.instructions == "Survive expiry."
                )
            )
        finally:
            s.close()
    finally:
        short.stop()
