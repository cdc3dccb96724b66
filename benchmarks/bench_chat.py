"""What ChatResponder adds to a chat reply: time to the first text delta and to the end of the
reply, and client CPU per reply, against an instant Chat Completions endpoint on 127.0.0.1.

The endpoint (its own process) answers every request at once with 20 streamed word chunks, so
what is measured is the client side alone. ChatResponder builds the request from a reply
context, makes an SDK client per reply (its HTTP connection closes with the reply's stream, so
nothing outlives the event loop it ran on) and checks every chunk. Reference, in the same run:
the official SDK with one long-lived client (keep-alive), the fastest a hand-written caller
gets. The difference is mostly a TCP connect and close per reply (a client kept across replies
would outlive the event loop it ran on, and leak its sockets when the server stops). Goal:
first delta within 5 ms of the reference (a local model takes 100s of ms to its first token).
A remote https endpoint pays a TLS handshake per reply on top (about 2 round trips).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time

ROUNDS = int(os.environ.get("BENCH_CHAT_ROUNDS", "200"))

PEER = r"""
import asyncio, json

WORDS = ["word%d " % i for i in range(20)]

def event(delta, finish=None):
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return ("data: " + json.dumps(chunk) + "\n\n").encode()

BODY = b"".join([event({"role": "assistant", "content": ""})]
                + [event({"content": w}) for w in WORDS] + [event({}, "stop"), b"data: [DONE]\n\n"])

async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n")
            writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(BODY), BODY))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Future()

asyncio.run(main())
"""


async def measure(url: str) -> dict[str, list[tuple[float, float, float]]]:
    import openai

    from realtime_widgets.protocol.config import SessionConfig
    from realtime_widgets.server.reply.chat import ChatResponder
    from realtime_widgets.server.reply.responder import ReplyContext

    responder = ChatResponder(url, "m")
    ctx = ReplyContext(
        config=SessionConfig(),
        conversation=[
            {
                "id": "item_1",
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "Tell me about the weather."}],
            }
        ],
        instructions="Be brief.",
    )
    client = openai.AsyncOpenAI(base_url=url, api_key="x", max_retries=0)
    messages = responder.request(ctx)["messages"]

    async def chat_responder() -> None:
        async for _ in await responder(ctx):
            yield_first.append(time.perf_counter())

    async def reference() -> None:
        stream = await client.chat.completions.create(model="m", messages=messages, stream=True)
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                yield_first.append(time.perf_counter())

    yield_first: list[float] = []
    runs: dict[str, list[tuple[float, float, float]]] = {"ChatResponder": [], "SDK, one client": []}
    ways = {"ChatResponder": chat_responder, "SDK, one client": reference}
    for _ in range(5):  # warm both
        for way in ways.values():
            await way()
    for _ in range(ROUNDS):
        for name, way in ways.items():  # interleaved: both see the same machine
            yield_first.clear()
            cpu, start = time.process_time(), time.perf_counter()
            await way()
            end = time.perf_counter()
            runs[name].append(
                (
                    (yield_first[0] - start) * 1000,
                    (end - start) * 1000,
                    (time.process_time() - cpu) * 1000,
                )
            )
    await client.close()
    return runs


def main() -> None:
    with subprocess.Popen([sys.executable, "-c", PEER], stdout=subprocess.PIPE, text=True) as peer:
        try:
            assert peer.stdout is not None
            port = int(peer.stdout.readline())
            runs = asyncio.run(measure(f"http://127.0.0.1:{port}/v1"))
        finally:
            peer.terminate()
    ref = runs["SDK, one client"]
    print(f"{ROUNDS} replies of 20 streamed chunks from an instant endpoint on 127.0.0.1")
    for name, values in runs.items():
        first, total, cpu = (statistics.median(v[i] for v in values) for i in range(3))
        p90 = sorted(v[0] for v in values)[int(0.9 * len(values))]
        ratio = first / statistics.median(v[0] for v in ref)
        print(
            f"  {name:16s} first delta p50 {first:6.2f} ms  p90 {p90:6.2f} ms  "
            f"whole reply p50 {total:6.2f} ms  client CPU {cpu:5.2f} ms/reply  "
            f"(first delta x{ratio:.2f} the reference)"
        )


if __name__ == "__main__":
    main()
