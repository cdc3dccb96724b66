"""The client transport: RealtimeSession over websockets, on a background I/O thread.

Connects to OpenAI, Azure OpenAI, an ephemeral secret, or the embedded local server; tools,
reconnect, metrics and cost, recording and replay.
"""

from __future__ import annotations

from realtime_widgets.client.auth import Endpoint, Secret, mint_client_secret
from realtime_widgets.client.metrics import PRICES, Metrics, TurnTiming, cost_of
from realtime_widgets.client.recording import Recorder, read_recording
from realtime_widgets.client.session import RealtimeSession, local_server

__all__ = [
    "PRICES",
    "Endpoint",
    "Metrics",
    "RealtimeSession",
    "Recorder",
    "Secret",
    "TurnTiming",
    "cost_of",
    "local_server",
    "mint_client_secret",
    "read_recording",
]
