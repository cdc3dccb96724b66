"""What a broken or hostile peer, or a careless caller, may cost the client (issue 18).

Frames the endpoint would refuse are refused before they are sent (row 6); what the client
keeps of a peer's text is bounded in bytes (row 11). Real loopback sockets: the local server,
or a peer written here.
"""

from __future__ import annotations

import json
import struct
import zlib

import pytest
from websockets.asyncio.server import ServerConnection

from realtime_widgets import ConfigError
from realtime_widgets.client import Endpoint, RealtimeSession
from realtime_widgets.client.core import MAX_FRAME_BYTES, RECENT_BYTES
from realtime_widgets.client.history import HISTORY_BYTES, HISTORY_ENTRY_BYTES, HistoryEntry
from realtime_widgets.protocol import items
from realtime_widgets.protocol.state import TEXT_BUDGET, TEXT_MARKER
from realtime_widgets.server.app import LocalServer
from realtime_widgets.server.limits import ServerLimits

from .conftest import ThreadPeer

MiB = 1024 * 1024


def big_png(size: int) -> bytes:
    """A PNG of about ``size`` bytes: a 1x1 header and a large (legal, ignored) text chunk."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x00")
    filler = b"comment\x00" + b"x" * size
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"tEXt", filler)
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


def session_for(url: str, **options: object) -> RealtimeSession:
    return RealtimeSession(endpoint=Endpoint.local(url, "gpt-realtime"), **options)  # type: ignore[arg-type]


# ---- row 6: a frame the endpoint would close on is refused before it is sent -----------------


def test_an_image_over_the_frame_limit_is_refused_and_the_session_kept(
    server: LocalServer,
) -> None:
    with session_for(server.url) as s:
        mark = s.mark()
        s.send_text("before", respond=False)
        s.wait_for("conversation.item.done", timeout=10, since=mark)
        sid, sent = s.session_id, len(s.history)
        image = big_png(30 * 1000 * 1000)  # legal: under OpenAI's 50 MB for images
        with pytest.raises(ConfigError) as info:
            s.send_image(image, text="what is it?")
        message = str(info.value)
        assert f"{MAX_FRAME_BYTES:,}" in message  # the limit
        assert "max_frame_bytes" in message  # the option that raises it
        assert "--max-frame-bytes" in message  # and the local server's flag
        assert info.value.field == "max_frame_bytes"
        assert len(s.history) == sent  # nothing recorded as sent
        mark = s.mark()
        s.send_text("after", respond=False)
        s.wait_for("conversation.item.done", timeout=10, since=mark)
        assert s.session_id == sid
        assert s.reconnects == 0
        assert [text for _, text in s.state.transcript()] == ["before", "after"]


def test_every_outgoing_frame_is_checked_against_the_sessions_limit(
    server: LocalServer,
) -> None:
    with session_for(server.url, max_frame_bytes=64 * 1024) as s:
        big = "x" * (100 * 1024)
        refused = [
            lambda: s.send_event({"type": "response.create", "response": {"instructions": big}}),
            lambda: s.create_item(items.user_text(big)),
            lambda: s.send_text(big),
            lambda: s.update(instructions=big),
        ]
        for send in refused:
            with pytest.raises(ConfigError, match="65,536"):
                send()
        assert s.requested.instructions != big  # a refused update changes nothing
        # Audio is cut into appends that each fit (the limit, not just OpenAI's 15 MiB).
        assert s.append_audio(b"\x00\x00" * 100_000) == 200_000
        assert s.reconnects == 0
        assert s.connected


def test_a_large_frame_is_kept_in_the_history_shortened(server: LocalServer) -> None:
    with session_for(server.url) as s:
        seen: list[HistoryEntry] = []
        s.on_history(seen.append)
        mark = s.mark()
        s.send_text("z" * (3 * MiB), respond=False)
        s.wait_for("conversation.item.done", timeout=10, since=mark)
        kept = [e for e in s.events if e.type.startswith("conversation.item.")]
        assert [e.type for e in kept] == [
            "conversation.item.create",
            "conversation.item.added",
            "conversation.item.done",
        ]
        for entry in kept:
            assert entry.size <= HISTORY_ENTRY_BYTES
            assert "more characters>" in json.dumps(entry.data)
        assert [e.size for e in seen if e.type in {k.type for k in kept}] == [
            e.size for e in kept
        ]  # the event log's listeners get the same, shortened entries
        assert s.state.transcript() == [("user", "z" * (3 * MiB))]  # the state keeps it all


def test_a_close_for_a_frame_too_big_is_reported_with_its_reason() -> None:
    # The client was told the endpoint takes more than it does: the server closes with 1009.
    small = LocalServer(pace=0, limits=ServerLimits(max_frame_bytes=MiB)).start()
    try:
        with session_for(small.url, max_frame_bytes=8 * MiB) as s:
            seen: list[dict[str, object]] = []
            s.on("client.frame_too_large", lambda e: seen.append(e.model_extra or {}))
            mark = s.mark()
            s.send_text("y" * (2 * MiB), respond=False)
            back = s.wait_for("session.reconnected", timeout=30, since=mark)
            assert (back.model_extra or {})["close_code"] == 1009
            assert len(seen) == 1
            assert seen[0]["close_code"] == 1009
            assert "max_frame_bytes" in str(seen[0]["message"])
            assert seen[0]["close_reason"]  # the server's words, not dropped
            assert s.last_error is not None
            assert s.last_error.code == "message_too_big"
    finally:
        small.stop()


# ---- row 11: what the client keeps of a peer's text is bounded in bytes --------------------


DELTA = 64 * 1024
PER_ITEM = 64  # deltas to one item (4 MiB of text), then the next item


def flooding_peer(count: int) -> ThreadPeer:
    async def handler(ws: ServerConnection) -> None:
        await ws.send(
            json.dumps(
                {
                    "type": "session.created",
                    "event_id": "e0",
                    "session": {"type": "realtime", "id": "sess_flood", "expires_at": 2e9},
                }
            )
        )
        await ws.recv()  # the client's go
        for n in range(count):
            text = f"<{n}>".ljust(DELTA, ".")
            await ws.send(
                json.dumps(
                    {
                        "type": "response.output_text.delta",
                        "event_id": f"e{n}",
                        "response_id": "r1",
                        "item_id": f"i{n // PER_ITEM}",
                        "output_index": 0,
                        "content_index": 0,
                        "delta": text,
                    }
                )
            )
        await ws.send(json.dumps({"type": "flood.done", "event_id": "end"}))
        await ws.wait_closed()

    return ThreadPeer(handler)


def test_a_flood_of_text_deltas_keeps_the_client_bounded_in_bytes() -> None:
    count = (TEXT_BUDGET + HISTORY_BYTES) // DELTA + 40  # past every budget
    with flooding_peer(count) as peer, session_for(peer.url, reconnect=False) as s:
        mark = s.mark()
        s.send_event({"type": "input_audio_buffer.clear"})
        s.wait_for("flood.done", timeout=120, since=mark)
        # The history: bounded in bytes (each entry's size, as kept), the newest kept.
        kept = sum(e.size for e in s.events)
        assert kept <= HISTORY_BYTES
        assert s.events.dropped > 0
        assert list(s.events)[-1].type == "flood.done"
        # The conversation's text: bounded; the newest item whole; the oldest items' text
        # dropped, and each says so.
        assert s.state.text_chars <= TEXT_BUDGET
        last = (count - 1) // PER_ITEM
        newest = s.state.items[f"i{last}"]
        assert newest.text_dropped == 0
        assert newest.text.endswith(f"<{count - 1}>".ljust(DELTA, "."))
        oldest = s.state.items["i0"]
        assert oldest.text_dropped == PER_ITEM * DELTA
        assert oldest.text == f"[{PER_ITEM * DELTA:,} characters not kept: {TEXT_MARKER}]"
        # The events kept for wait_for(since=mark): bounded too.
        assert s.core.waits.recent_bytes <= RECENT_BYTES
