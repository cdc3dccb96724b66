"""Images from a hostile peer (issue 18, rows 4 and 5), against the server in its own process.

(a) check_image on crafted files: a 24 MB JPEG of zeros after SOI, a 24 MB GIF of empty
    extension blocks, a 24 MB GIF of 1-byte sub-blocks, a 60 MB JPEG; and a legal 24 MB
    still GIF (full sub-blocks) for reference. Time per file.
(b) A neighbour's event round trip while another session sends big image frames: NEIGHBOURS
    sessions each send a probe (an item retrieve the server answers at once) every 20 ms; the
    p99 of the probe round trip with no image traffic is the reference, measured in the same
    run, then again while one session sends 24 MB image frames back to back (crafted JPEG and
    GIF, and valid PNGs that are stored, each deleted again); the ratio is printed (goal ~1).
(c) The server's RSS before and after one session sends 15 valid 20 MB images (the issue's
    probe): the per-session image cap (32 MiB by default) keeps one, refuses the rest.
``python -m benchmarks bench_images``; ``BENCH_IMAGES_PARTS=c`` runs only (c).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import statistics
import struct
import time
import zlib
from typing import Any

from benchmarks.bench_server import rss_mb, start_server, stop_server

NEIGHBOURS = int(os.environ.get("BENCH_IMAGE_NEIGHBOURS", "8"))
PHASE_SECONDS = float(os.environ.get("BENCH_IMAGE_SECONDS", "8"))


def png(width: int, height: int, padding: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + os.urandom(padding)


def crafted() -> dict[str, bytes]:
    gif_head = b"GIF89a\x01\x00\x01\x00\x00\x00\x00"
    descriptor = b"\x2c" + bytes(9) + b"\x02"
    return {
        "24 MB JPEG, zeros after SOI": b"\xff\xd8" + bytes(24_000_000),
        "24 MB GIF, empty extension blocks": gif_head + b"\x21\xf9\x00" * 8_000_000,
        "24 MB GIF, 1-byte sub-blocks": gif_head + descriptor + b"\x01\x00" * 12_000_000,
        "60 MB JPEG, zeros after SOI": b"\xff\xd8" + bytes(60_000_000),
        "24 MB still GIF (legal, 255-byte sub-blocks)": gif_head
        + descriptor
        + (b"\xff" + bytes(255)) * 93_750
        + b"\x00;",
    }


def bench_check_image() -> None:
    from realtime_widgets.errors import ConfigError
    from realtime_widgets.protocol.images import check_image

    for name, data in crafted().items():
        start = time.perf_counter()
        try:
            check_image(data)
            outcome = "accepted"
        except ConfigError as exc:
            outcome = "refused: " + str(exc).split(";")[0].split("(")[0].strip()
        elapsed = (time.perf_counter() - start) * 1000
        print(f"  (a) {name}: {elapsed:7.1f} ms, {outcome}", flush=True)


def item_create(item_id: str, url: str) -> str:
    part = {"type": "input_image", "image_url": url, "detail": "high"}
    item = {"id": item_id, "type": "message", "role": "user", "content": [part]}
    return json.dumps(
        {"type": "conversation.item.create", "event_id": f"ev_{item_id}", "item": item}
    )


async def attack(url: str, seconds: float) -> int:
    """Send 24 MB image frames back to back for ``seconds``: crafted JPEG and GIFs (refused),
    and a valid PNG (stored, then deleted); returns how many were answered. Answers are told
    apart by their first bytes: parsing the 32 MB echoes would only measure this client."""
    import websockets

    frames = [
        item_create(f"item_{k}", "data:image/jpeg;base64," + base64.b64encode(data).decode())
        for k, data in enumerate(list(crafted().values())[:3])
    ]
    valid = "data:image/png;base64," + base64.b64encode(png(4000, 3000, 24_000_000)).decode()
    answered = 0
    async with websockets.connect(url, compression=None, max_size=None) as ws:
        await ws.recv()
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            k = answered
            frame = frames[k % 4] if k % 4 < 3 else item_create(f"item_ok{k}", valid)
            await ws.send(frame)
            while True:
                message = await ws.recv()
                if message.startswith(('{"type":"error"', '{"type":"conversation.item.done"')):
                    break
            if message.startswith('{"type":"conversation.item.done"'):
                await ws.send(
                    json.dumps({"type": "conversation.item.delete", "item_id": f"item_ok{k}"})
                )
            answered += 1
    return answered


def _attacker_process(url: str, seconds: float, out: Any) -> None:
    out.put(asyncio.run(attack(url, seconds)))


async def neighbour_p99(url: str, seconds: float, hostile: bool) -> tuple[float, float, int]:
    """(p50, p99) of the neighbours' probe round trips in ms, and the image frames answered
    meanwhile by a hostile session in its own process (so its client work is not measured)."""
    import multiprocessing

    import websockets

    latencies: list[float] = []
    stop = asyncio.Event()

    async def neighbour(k: int) -> None:
        async with websockets.connect(url, compression=None, max_size=None) as ws:
            await ws.recv()
            n = 0
            while not stop.is_set():
                n += 1
                probe = f"probe_{k}_{n}"
                sent = time.perf_counter()
                await ws.send(
                    json.dumps(
                        {"type": "conversation.item.retrieve", "item_id": "x", "event_id": probe}
                    )
                )
                while True:
                    event = json.loads(await ws.recv())
                    if event["type"] == "error" and event["error"]["event_id"] == probe:
                        break
                latencies.append(time.perf_counter() - sent)
                await asyncio.sleep(0.02)

    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    attacker = None
    if hostile:
        attacker = context.Process(target=_attacker_process, args=(url, seconds + 3.0, results))
        attacker.start()
        await asyncio.sleep(2.0)  # it encodes its frames and connects first
    tasks = [asyncio.create_task(neighbour(k)) for k in range(NEIGHBOURS)]
    await asyncio.sleep(1.0)  # warm-up
    latencies.clear()
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
    answered = 0
    if attacker is not None:
        answered = await asyncio.to_thread(results.get, True, 120)
        attacker.join(30)
    lat = sorted(latencies)
    return statistics.median(lat) * 1000, lat[int(len(lat) * 0.99) - 1] * 1000, answered


def bench_neighbour() -> None:
    proc, url = start_server("--pace", "0", "--no-speech")
    try:
        ref50, ref99, _ = asyncio.run(neighbour_p99(url, PHASE_SECONDS, hostile=False))
        p50, p99, frames = asyncio.run(neighbour_p99(url, PHASE_SECONDS, hostile=True))
    finally:
        stop_server(proc)
    print(
        f"  (b) {NEIGHBOURS} neighbours' probe round trip: no image traffic p50 {ref50:.1f} ms, "
        f"p99 {ref99:.1f} ms; beside {frames} 24 MB image frames p50 {p50:.1f} ms, p99 "
        f"{p99:.1f} ms: p99 {p99 / ref99:.2f}x the reference",
        flush=True,
    )


def bench_rss() -> None:
    import websockets

    proc, url = start_server("--pace", "0", "--no-speech")

    async def go() -> tuple[float, float, int]:
        async with websockets.connect(url, compression=None, max_size=None) as ws:
            await ws.recv()
            await asyncio.sleep(0.5)
            before = rss_mb(proc.pid)
            stored = 0
            for k in range(15):
                data = png(4000, 3000, 20_000_000 - 33)
                await ws.send(
                    item_create(
                        f"item_{k}", "data:image/png;base64," + base64.b64encode(data).decode()
                    )
                )
                while True:
                    event = json.loads(await ws.recv())
                    if event["type"] in ("error", "conversation.item.done"):
                        break
                stored += event["type"] == "conversation.item.done"
            await asyncio.sleep(1.0)
            return before, rss_mb(proc.pid), stored

    try:
        before, after, stored = asyncio.run(go())
    finally:
        stop_server(proc)
    print(
        f"  (c) 15 x 20 MB images in one session: {stored} stored, server RSS {before:.0f} -> "
        f"{after:.0f} MB ({after - before:+.0f} MB)",
        flush=True,
    )


def main() -> None:
    parts = {"a": bench_check_image, "b": bench_neighbour, "c": bench_rss}
    for key in os.environ.get("BENCH_IMAGES_PARTS", "abc"):
        parts[key]()


if __name__ == "__main__":
    main()
