"""What a hostile or careless peer costs the client: memory and per-item cost (issue 18).

(a) Memory: a peer (its own process) sends 3,200 text deltas of 64 KB (200 MB) to one item;
    reported: this process's RSS before the session and after the deltas arrived, and the
    growth. Reference: the bytes the peer sent (what an unbounded client would keep, at least).
(b) Items: 1,000 then 10,000 ``conversation.item.create`` of a short text through a
    RealtimeSession to the LocalServer (a real socket, the server in this process on its own
    thread), until the last ``conversation.item.done`` arrived; reported: seconds and ms per
    item for each. Reference: the 1,000 run's per-item cost, measured in the same run; the
    ratio 10k/1k per item stays near 1 when an insert costs O(log n) or less (main: ~3).

Measured on the 2-core machine (2026-12): main 57 -> 480 MB; 1k items 1.68 s, 4k 19.9 s
(2.97x per item), 10k lost the connection (1006) at ~5,400 items after 50 s. With the bounds
and ItemOrder: 57 -> 99 MB; 1k 0.75 s, 10k 7.31 s (0.98x per item).

``BENCH_BOUNDS_PARTS=a`` runs only (a); ``BENCH_BOUNDS_ITEMS=1000,10000`` sets the counts.
"""

from __future__ import annotations

import gc
import os
import re
import subprocess
import sys
import time

PARTS = os.environ.get("BENCH_BOUNDS_PARTS", "ab")
COUNTS = [int(x) for x in os.environ.get("BENCH_BOUNDS_ITEMS", "1000,10000").split(",")]
DELTAS, DELTA_BYTES = 3200, 64 * 1024

PEER = r"""
import asyncio, json, sys
from websockets.asyncio.server import serve

DELTAS, SIZE = int(sys.argv[1]), int(sys.argv[2])

async def handler(ws):
    await ws.send(json.dumps({"type": "session.created", "event_id": "e0",
        "session": {"type": "realtime", "id": "sess_bench", "expires_at": 2000000000}}))
    await ws.recv()  # the client's go
    for n in range(DELTAS):
        text = (str(n) + " ") * (SIZE // (len(str(n)) + 1))
        await ws.send(json.dumps({"type": "response.output_text.delta", "event_id": "e%d" % n,
            "response_id": "r1", "item_id": "i1", "output_index": 0, "content_index": 0,
            "delta": text}))
    await ws.send(json.dumps({"type": "bench.done", "event_id": "end"}))
    await asyncio.Future()

async def main():
    async with serve(handler, "127.0.0.1", 0, compression=None, max_size=None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()

asyncio.run(main())
"""


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def memory() -> None:
    from realtime_widgets.client import Endpoint, RealtimeSession

    peer = subprocess.Popen(
        [sys.executable, "-c", PEER, str(DELTAS), str(DELTA_BYTES)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert peer.stdout is not None
        port = int(re.sub(r"\D", "", peer.stdout.readline()))
        gc.collect()
        before = rss_mb()
        s = RealtimeSession(
            endpoint=Endpoint.local(f"ws://127.0.0.1:{port}/v1/realtime", "m"), reconnect=False
        )
        s.connect()
        mark = s.mark()
        s.send_event({"type": "input_audio_buffer.clear"})
        s.wait_for("bench.done", timeout=600, since=mark)
        gc.collect()
        after = rss_mb()
        kept = len(s.state.items["i1"].text) if "i1" in s.state.items else 0
        s.close()
    finally:
        peer.terminate()
        peer.communicate(timeout=10)
    sent = DELTAS * DELTA_BYTES / 1e6
    print(f"  (a) {DELTAS} text deltas of {DELTA_BYTES // 1024} KB ({sent:.0f} MB) to one item")
    print(f"      client RSS {before:.0f} MB -> {after:.0f} MB (+{after - before:.0f} MB)")
    print(f"      item text kept: {kept / 1e6:.1f} M characters")
    print(f"      growth / bytes sent: {(after - before) / sent:.2f}x")


def creates(server_url: str, count: int) -> float:
    from realtime_widgets.client import Endpoint, RealtimeSession
    from realtime_widgets.protocol import items

    s = RealtimeSession(endpoint=Endpoint.local(server_url, "gpt-realtime"), reconnect=False)
    s.connect()
    try:
        last = f"item_bench_{count}_{count - 1}"
        lost: list[object] = []
        s.on("session.disconnected", lost.append)
        mark = s.mark()
        t0 = time.perf_counter()
        for i in range(count):
            s.send_event(items.create_item(items.user_text("hi", id=f"item_bench_{count}_{i}")))
        s.wait_for(
            "conversation.item.done",
            timeout=600,
            predicate=lambda e: getattr(e, "item", None) is not None and e.item.id == last,  # type: ignore[attr-defined]
            since=mark,
        )
        seconds = time.perf_counter() - t0
        assert len(s.state.ordered_items()) == count
    finally:
        s.close()
    return seconds


def items_cost() -> None:
    from realtime_widgets.server.app import LocalServer

    server = LocalServer(pace=0).start()
    try:
        results = [(n, creates(server.url, n)) for n in COUNTS]
    finally:
        server.stop()
    ref = results[0][1] / results[0][0]
    print("  (b) conversation.item.create through RealtimeSession -> LocalServer (loopback)")
    for n, seconds in results:
        per = seconds / n
        print(
            f"      {n:>6,} items: {seconds:6.2f} s, {per * 1e3:.3f} ms/item, "
            f"{per / ref:.2f}x the {results[0][0]:,}-item run per item"
        )


def main() -> None:
    if "a" in PARTS:
        memory()
    if "b" in PARTS:
        items_cost()


if __name__ == "__main__":
    main()
