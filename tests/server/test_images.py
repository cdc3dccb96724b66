"""Images a broken or hostile peer sends the local server (issue 18, rows 3-5), over real
loopback sockets: a bad image gets OpenAI's ``invalid_value`` naming its part and the session
goes on; a big one is read off the event loop, in order; images count tokens and their bytes
per session are capped."""

from __future__ import annotations

import base64
import json
import struct
import threading
import zlib
from typing import Any

import pytest

from realtime_widgets.errors import ProtocolError
from realtime_widgets.protocol.events import load_json
from realtime_widgets.protocol.images import GIF_MAX_BLOCKS, JPEG_HEADER_BYTES
from realtime_widgets.server import frames
from realtime_widgets.server.app import LocalServer
from realtime_widgets.server.engine import EngineOptions, SessionEngine
from realtime_widgets.server.limits import ServerLimits
from tests.protocol.sdk_oracle import check_server_event

from .conftest import Driver
from .test_limits import recv, retrieve, session, text_turn, until


def png(width: int, height: int, padding: int = 0) -> bytes:
    """A PNG header (signature, IHDR) and ``padding`` bytes: all the server reads of it."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + bytes(padding)


def url_of(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


def image_item(item_id: str, url: str, detail: str | None = None) -> str:
    part: dict[str, Any] = {"type": "input_image", "image_url": url}
    if detail is not None:
        part["detail"] = detail
    item = {"id": item_id, "type": "message", "role": "user", "content": [part]}
    return json.dumps(
        {"type": "conversation.item.create", "event_id": f"ev_{item_id}", "item": item}
    )


async def answer(ws: Any, item_id: str) -> dict[str, Any]:
    """The ``conversation.item.done`` for ``item_id``, or the error for its event."""
    while True:
        event = await recv(ws)
        check_server_event(event)
        if event["type"] == "conversation.item.done" and event["item"]["id"] == item_id:
            return event
        if event["type"] == "error" and event["error"]["event_id"] == f"ev_{item_id}":
            return event


# ---- row 3 ------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_ten_byte_gif_gets_invalid_value_naming_the_part() -> None:
    async with LocalServer(pace=0, speech=False) as server, session(server) as ws:
        await ws.send(image_item("item_gif", url_of(b"GIF89a\x01\x00\x01\x00", "image/gif")))
        error = (await answer(ws, "item_gif"))["error"]
        assert (error["type"], error["code"]) == ("invalid_request_error", "invalid_value")
        assert error["param"] == "item.content[0].image_url"
        assert "Invalid 'item.content[0].image_url': image: a GIF" in error["message"]
        assert "This is a bug" not in error["message"]
        assert await text_turn(ws) == "completed"


# ---- row 4 ------------------------------------------------------------------------------------

CRAFTED = {
    "jpeg of zeros after SOI": (
        url_of(b"\xff\xd8" + bytes(24_000_000), "image/jpeg"),
        f"within its first {JPEG_HEADER_BYTES:,} bytes",
    ),
    "gif of empty extension blocks": (
        url_of(b"GIF89a\x01\x00\x01\x00\x00\x00\x00" + b"\x21\xf9\x00" * 8_000_000, "image/gif"),
        f"more than {GIF_MAX_BLOCKS:,} blocks",
    ),
}


@pytest.mark.asyncio
@pytest.mark.parametrize("name", sorted(CRAFTED))
async def test_a_crafted_24_mb_image_is_refused_at_its_bound_off_the_event_loop(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused for the bound it crosses (so the walk stopped there), read on the server's frame
    thread (so the event loop never ran it), and the session and a neighbour go on."""
    url, fragment = CRAFTED[name]
    threads: list[str] = []
    check = frames.check_image

    def recording(data: bytes, **kwargs: Any) -> Any:
        threads.append(threading.current_thread().name)
        return check(data, **kwargs)

    monkeypatch.setattr(frames, "check_image", recording)
    async with (
        LocalServer(pace=0, speech=False) as server,
        session(server) as ws,
        session(server) as neighbour,
    ):
        await ws.send(image_item("item_crafted", url))
        error = (await answer(ws, "item_crafted"))["error"]
        assert error["param"] == "item.content[0].image_url"
        assert fragment in error["message"]
        assert threads
        assert all(t.startswith("realtime-frames") for t in threads), threads
        assert await text_turn(neighbour) == "completed"
        assert await text_turn(ws) == "completed"


@pytest.mark.asyncio
async def test_a_big_image_is_echoed_exactly_and_answered_before_the_next_event() -> None:
    big = url_of(png(4000, 3000, padding=20_000_000))
    async with LocalServer(pace=0, speech=False) as server, session(server) as ws:
        await ws.send(image_item("item_big", big, "high"))
        await ws.send(image_item("item_small", url_of(png(40, 30)), "low"))
        added = [(await until(ws, "conversation.item.added"))["item"] for _ in range(2)]
        assert [item["id"] for item in added] == ["item_big", "item_small"]
        assert added[0]["content"][0]["image_url"] == big
        assert (await retrieve(ws, "item_big"))["content"][0]["image_url"] == big


@pytest.mark.parametrize(
    "value",
    ["plain ascii " * 30_000, 'é\u2028"\\\n\x01😀' * 40_000 + "tail", "x" * frames.PIECE * 2],
)
def test_events_serialized_in_pieces_match_json_dumps(value: str) -> None:
    event = {"type": "conversation.item.added", "item": {"content": [{"text": value}], "n": 1.5}}
    assert frames.is_heavy(event)
    assert frames.dump_events([event]) == [json.dumps(event, separators=(",", ":"))]


def test_big_frames_parse_as_small_ones_do() -> None:
    """read_frame's fast parser falls back to the canonical one: same answers."""
    for text in ['{"a": [1, 2.5, "x"], "b": null}', '{"a": NaN}', '{"a": 1', "[" * 200 + "]" * 200]:
        expected = _load_or_problem(text)
        for frame in (
            frames.read_frame(text, max_depth=128),
            frames.read_frame(text.encode(), max_depth=128),
        ):
            if isinstance(expected, ProtocolError):
                assert str(frame.problem) == str(expected)
            else:
                assert frame.problem is None
                assert json.dumps(frame.raw) == json.dumps(expected)


def _load_or_problem(text: str) -> Any:
    try:
        return load_json(text, max_depth=128)
    except ProtocolError as exc:
        return exc


# ---- row 5 ------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_images_count_tokens_in_usage_by_detail() -> None:
    async with LocalServer(pace=0, speech=False) as server, session(server) as ws:
        await ws.send(image_item("item_low", url_of(png(4096, 8192)), "low"))
        await answer(ws, "item_low")
        await ws.send(image_item("item_high", url_of(png(1024, 1024)), "high"))
        await answer(ws, "item_high")
        await ws.send(
            json.dumps({"type": "response.create", "response": {"output_modalities": ["text"]}})
        )
        usage = (await until(ws, "response.done"))["response"]["usage"]
        details = usage["input_token_details"]
        assert details["image_tokens"] == 85 + 765
        assert usage["input_tokens"] == details["text_tokens"] + details["audio_tokens"] + 850


def _engine(limits: ServerLimits, truncation: Any) -> Driver:
    engine = SessionEngine(
        options=EngineOptions(limits=limits, pace=0, wall_clock=lambda: 0.0),
        session_id="sess_images01",
    )
    d = Driver(engine)
    d.events += engine.start(0.0)
    d.send({"type": "session.update", "session": {"type": "realtime", "truncation": truncation}})
    return d


def test_image_tokens_count_against_the_context() -> None:
    """2048 x 4096 at high detail is 1,105 tokens: a 3,000-token context holds two."""
    limits = ServerLimits(context_tokens=3000)
    d = _engine(limits, "auto")
    for k in range(4):
        d.send(json.loads(image_item(f"item_{k}", url_of(png(2048, 4096)), "high")))
    assert d.engine.conversation.order == ["item_2", "item_3"]
    d = _engine(limits, "disabled")
    for k in range(3):
        out = d.send(json.loads(image_item(f"item_{k}", url_of(png(2048, 4096)), "high")))
    assert out[0]["error"]["code"] == "context_length_exceeded"
    assert d.engine.conversation.order == ["item_0", "item_1"]


@pytest.mark.asyncio
async def test_images_past_the_session_byte_cap_are_refused_naming_the_flag() -> None:
    limits = ServerLimits(max_image_bytes_per_session=250_000)
    async with LocalServer(pace=0, speech=False, limits=limits) as server, session(server) as ws:
        for k in range(2):
            await ws.send(image_item(f"item_{k}", url_of(png(40, 30, padding=100_000))))
            assert (await answer(ws, f"item_{k}"))["type"] == "conversation.item.done"
        await ws.send(image_item("item_2", url_of(png(40, 30, padding=100_000))))
        error = (await answer(ws, "item_2"))["error"]
        assert (error["code"], error["param"]) == ("invalid_value", "item.content[0].image_url")
        assert "limit of 250,000 bytes" in error["message"]
        assert "--max-image-bytes-per-session" in error["message"]
        for k in range(2):  # what was stored is kept
            assert (await retrieve(ws, f"item_{k}"))["id"] == f"item_{k}"
        assert (await retrieve(ws, "item_2"))["type"] == "error"
        await ws.send(json.dumps({"type": "conversation.item.delete", "item_id": "item_0"}))
        await ws.send(image_item("item_3", url_of(png(40, 30, padding=100_000))))
        assert (await answer(ws, "item_3"))["type"] == "conversation.item.done"
        assert await text_turn(ws) == "completed"
