"""The client transport: RealtimeSession over websockets, on a background I/O thread.

Connects to OpenAI, Azure OpenAI, an ephemeral secret, or the embedded local server; tools,
reconnect, metrics and cost, recording and replay.

Where things live (module -> what it owns; who touches it):

============== ==============================================================================
session        RealtimeSession: the API. Holds ``core`` and ``audio_stream``; its base is
               SessionFacade; conversation and GA methods (text, audio, items, images,
               responses, MCP) are its own, each ``a*`` coroutine with a ``blocking`` twin.
facade         SessionFacade: what RealtimeSession, LiveSession and TranslationSession share
               over SessionTransport: the core's common properties, the repr, the audio
               appends and stream, an event sent after the audio, the timeline's taps.
transport      SessionTransport: socket, reconnect, waiting, owned tasks; ``dispatch()`` hands
               out what the core queued. Runs on the I/O loop (``submit``/``call_soon`` from
               any thread; ``loop_thread`` says which thread that is).
core           ClientCore: the protocol, no I/O, calls nobody: effective config, conversation
               state, metrics, history, pending update, waiter matching, tool calls, audio
               encoding. Touched on the I/O loop only (tests: any one thread). Owns:
audio_codec    InputFrames (input format, encoders per source rate) and OutputDecoder (the
               model's audio for the taps, a resampler per item): codec state only.
waiting        EventWaits: the stream's marks, the recent events (bounded), open waiters.
dispatch       the items a core call queues (Delivered, HistoryEntry, Output/InputAudio,
               PendingUpdate) and ``dispatch()``, which calls listeners, waiters, taps and
               history listeners, each guarded. Listeners therefore run on the I/O loop.
audio_stream   AudioStream: chunks queued from any thread, sent in order by one owned task on
               the I/O loop; a commit drains it first.
records        ToolCall, ToolCallBook, PendingUpdate, Waiter, the listener registry (kept in
               the core).
history        the bounded event history (entries and bytes) and its exports.
frames         frame-size limits checked before anything is sent.
loop           BackgroundLoop: the one daemon thread with its asyncio loop, shared, counted;
               ``@on_loop`` / ``blocking`` (how a method gets there, and its blocking twin).
metrics        per-turn latency, usage and cost (fed by the core).
latency        ToolkitLatency: the arithmetic of browser/kernel latency (fed by a widget).
recording      Recorder (JSONL, secrets redacted) and read_recording (replay rows).
auth, tools    endpoints and secrets; Python callables as function tools.
translation    TranslationSession (``client.realtime.translations``) on the same transport,
               with TranslationCore: a ClientCore whose protocol parts (unions, state by
               position, end-of-speech-to-audio metrics, append type) are a translation's.
live           LiveSession (GPT-Live, ``client.live``) on the same transport, its methods one
               per client event of the SDK's Live union. ``live_core``: LiveCore, a ClientCore
               whose protocol parts (unions, session.start greeting, audio at the session's
               format and rate, the end by session.closed) are GPT-Live's; ``live_state``:
               transcripts by position, usage, delegations, linked errors; ``live_metrics``:
               end of speech to the model's first audio; ``live_cost``: the duration prices.
============== ==============================================================================

Data path of a server frame: socket -> ``transport._receive`` (I/O loop) -> ``core.receive``
(state, metrics, history, waiter matching; queues) -> ``transport.dispatch()`` -> listeners,
waiters, taps (same thread, after the core call). Replay (``session.play``) feeds
``core.replayed`` row by row on the same loop and dispatches the same way.
"""

from __future__ import annotations

from realtime_widgets.client.auth import Endpoint, Secret, mint_client_secret
from realtime_widgets.client.live import LiveSession
from realtime_widgets.client.live_cost import LIVE_PRICES, live_cost
from realtime_widgets.client.metrics import PRICES, Metrics, TurnTiming, cost_of
from realtime_widgets.client.recording import Recorder, read_recording
from realtime_widgets.client.session import RealtimeSession, local_server
from realtime_widgets.client.translation import TranslationSession

__all__ = [
    "LIVE_PRICES",
    "PRICES",
    "Endpoint",
    "LiveSession",
    "Metrics",
    "RealtimeSession",
    "Recorder",
    "Secret",
    "TranslationSession",
    "TurnTiming",
    "cost_of",
    "live_cost",
    "local_server",
    "mint_client_secret",
    "read_recording",
]
