"""Parse + apply 100k GA server events vs the official SDK only parsing the same stream.

The stream is what a long voice session produces: mostly audio deltas (base64 PCM16 of the
size OpenAI sends, ~100 ms each) and transcript deltas, with the surrounding item, content
part and response events. Reference: the SDK's own path for an incoming message
(`json.loads` + `construct_type_unchecked` into the `RealtimeServerEvent` union, which is what
`connection.parse_event` and `recv()` do). Goal: >= 2x the SDK's events/s.
"""

from __future__ import annotations

import base64
import json
import os
import time
from typing import Any

N_EVENTS = int(os.environ.get("BENCH_EVENTS", "100000"))


def make_stream(n: int) -> list[str]:
    rng_audio = base64.b64encode(os.urandom(4800)).decode()  # 100 ms of 24 kHz PCM16
    words = [
        "the",
        "quick",
        "brown",
        "fox",
        "jumps",
        "over",
        "the",
        "lazy",
        "dog",
        "and",
        "keeps",
        "on",
        "talking",
    ]
    out: list[str] = []
    turn = 0
    seq = 0

    def add(event: dict[str, Any]) -> None:
        nonlocal seq
        seq += 1
        event["event_id"] = f"event_{seq}"
        out.append(json.dumps(event))

    while len(out) < n:
        turn += 1
        uid, rid, aid = f"item_u{turn}", f"resp_{turn}", f"item_a{turn}"
        prev = f"item_a{turn - 1}" if turn > 1 else None
        add(
            {
                "type": "input_audio_buffer.speech_started",
                "audio_start_ms": turn * 5000,
                "item_id": uid,
            }
        )
        add(
            {
                "type": "input_audio_buffer.speech_stopped",
                "audio_end_ms": turn * 5000 + 1800,
                "item_id": uid,
            }
        )
        add({"type": "input_audio_buffer.committed", "item_id": uid, "previous_item_id": prev})
        add(
            {
                "type": "conversation.item.added",
                "previous_item_id": prev,
                "item": {
                    "id": uid,
                    "object": "realtime.item",
                    "type": "message",
                    "status": "completed",
                    "role": "user",
                    "content": [{"type": "input_audio", "transcript": None}],
                },
            }
        )
        add(
            {
                "type": "response.created",
                "response": {
                    "id": rid,
                    "object": "realtime.response",
                    "status": "in_progress",
                    "output": [],
                },
            }
        )
        item = {
            "id": aid,
            "object": "realtime.item",
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        add(
            {
                "type": "response.output_item.added",
                "response_id": rid,
                "output_index": 0,
                "item": item,
            }
        )
        add({"type": "conversation.item.added", "previous_item_id": uid, "item": item})
        add(
            {
                "type": "response.content_part.added",
                "response_id": rid,
                "item_id": aid,
                "output_index": 0,
                "content_index": 0,
                "part": {"type": "audio", "transcript": ""},
            }
        )
        for i in range(120):
            add(
                {
                    "type": "response.output_audio_transcript.delta",
                    "response_id": rid,
                    "item_id": aid,
                    "output_index": 0,
                    "content_index": 0,
                    "delta": words[i % len(words)] + " ",
                }
            )
            add(
                {
                    "type": "response.output_audio.delta",
                    "response_id": rid,
                    "item_id": aid,
                    "output_index": 0,
                    "content_index": 0,
                    "delta": rng_audio,
                }
            )
        add(
            {
                "type": "conversation.item.input_audio_transcription.completed",
                "item_id": uid,
                "content_index": 0,
                "transcript": "hello there",
            }
        )
        add(
            {
                "type": "response.output_audio.done",
                "response_id": rid,
                "item_id": aid,
                "output_index": 0,
                "content_index": 0,
            }
        )
        add(
            {
                "type": "response.output_audio_transcript.done",
                "response_id": rid,
                "item_id": aid,
                "output_index": 0,
                "content_index": 0,
                "transcript": "...",
            }
        )
        add(
            {
                "type": "response.done",
                "response": {
                    "id": rid,
                    "object": "realtime.response",
                    "status": "completed",
                    "output": [],
                    "usage": {
                        "total_tokens": 900,
                        "input_tokens": 300,
                        "output_tokens": 600,
                        "input_token_details": {"audio_tokens": 280, "text_tokens": 20},
                        "output_token_details": {"audio_tokens": 500, "text_tokens": 100},
                    },
                },
            }
        )
    return out[:n]


def bench_ours(stream: list[str]) -> tuple[float, int]:
    from realtime_widgets.protocol.events import parse_server_event
    from realtime_widgets.protocol.state import ConversationState

    state = ConversationState()
    start = time.perf_counter()
    for text in stream:
        state.apply(parse_server_event(text))
    elapsed = time.perf_counter() - start
    return elapsed, len(state.items)


def bench_sdk(stream: list[str]) -> float:
    from openai._models import construct_type_unchecked
    from openai.types.realtime import RealtimeServerEvent

    start = time.perf_counter()
    for text in stream:
        construct_type_unchecked(value=json.loads(text), type_=RealtimeServerEvent)  # type: ignore[arg-type]
    return time.perf_counter() - start


def main() -> None:
    stream = make_stream(N_EVENTS)
    size = sum(len(s) for s in stream) / 1e6
    bench_ours(stream[:2000])  # warm up both paths
    bench_sdk(stream[:2000])
    ours, items = bench_ours(stream)
    sdk = bench_sdk(stream)
    print(f"stream: {len(stream)} events, {size:.1f} MB of JSON, {items} items")
    print(f"realtime_widgets parse+apply: {len(stream) / ours:,.0f} events/s ({ours:.2f} s)")
    print(f"openai SDK parse only:        {len(stream) / sdk:,.0f} events/s ({sdk:.2f} s)")
    print(f"ratio: {sdk / ours:.2f}x the SDK (goal >= 2x)")


if __name__ == "__main__":
    main()
