"""MetricsView: per-turn latency, tokens and cost so far, session expiry, connection status.

Against a :class:`~realtime_widgets.server.app.LocalServer` of this process the usage and cost
are labelled as the local server's estimates (:func:`estimate_note`), under the figures.

Each spoken turn shows "you stopped -> first sound" as a bar of segments on one time axis
shared by every row, with a legend naming them (VAD silence wait, microphone, network and VAD
decision, server, kernel -> page, playout; see
:func:`~realtime_widgets.client.latency.stop_to_sound`), and under the bar its total and parts
in words. Without a :class:`~realtime_widgets.widgets.latency.LatencyProbe` as ``latency`` only
the server's parts are known; with one (the Playground sets one) the toolkit's parts, measured
in the browser, complete the total.

The numbers live in one synced ``data`` trait, refreshed at most twice a second and at each
response's end; the browser draws the latency bars and counts the expiry down by itself.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

from realtime_widgets.client.latency import stop_to_sound
from realtime_widgets.client.session import RealtimeSession
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.events import ServerEvent
from realtime_widgets.widgets.listening import Listening

__all__ = ["MetricsView", "estimate_note"]

REFRESH_S = 0.5
SHOWN_TURNS = 8  # the latest turns drawn


def estimate_note() -> str:
    """The label a person reads under a local server's usage: the counts are its estimates,
    by which rule, and not OpenAI's. (The wire says nothing of it, as OpenAI's does not; the
    rule's numbers come from the server, which is loaded whenever this is shown.)"""
    # lazy: the server's token rule is loaded only when a local estimate is shown
    from realtime_widgets.server.reply.usage import (
        AUDIO_TOKENS_PER_SECOND_IN,
        AUDIO_TOKENS_PER_SECOND_OUT,
    )

    return (
        "Usage and cost are the local server's estimates (text about 4 characters a token, "
        f"audio {AUDIO_TOKENS_PER_SECOND_IN} tokens a second in and "
        f"{AUDIO_TOKENS_PER_SECOND_OUT} out), not OpenAI's counts."
    )


class MetricsView(Listening, anywidget.AnyWidget):
    """Latency, usage, cost and connection state of a session."""

    _esm = Path(__file__).with_name("metrics.js")
    data = t.Dict().tag(sync=True)

    def __init__(self, session: RealtimeSession, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self._latency: Any = None
        self._last = 0.0
        self.refresh()
        self._listen(session.on("*", self._on_event))

    @property
    def latency(self) -> Any:
        """A LatencyProbe: adds the toolkit's part to each turn (refreshed as it is measured)."""
        return self._latency

    @latency.setter
    def latency(self, probe: Any) -> None:
        self._latency = probe
        if probe is not None:
            probe.add_listener(self.refresh)
        self.refresh()

    def _on_event(self, event: ServerEvent) -> None:
        final = isinstance(event, ev.ResponseDone | ev.SessionCreated) or event.type.startswith(
            "session."
        )
        if final or time.monotonic() - self._last >= REFRESH_S:
            self.refresh()

    def refresh(self) -> None:
        s = self.session
        self._last = time.monotonic()
        status = "replay" if s.replaying else ("connected" if s.connected else "disconnected")
        estimate = s.usage_is_estimate
        self.data = {
            "status": status,
            "endpoint": s.endpoint.display,
            "reconnects": s.reconnects,
            "expires_at": s.expires_at,
            "turns": self._turns(),
            "usage": dict(s.state.usage),
            "cost": s.cost,
            "estimate": estimate,
            "estimate_note": estimate_note() if estimate else "",
        }

    def _turns(self) -> list[dict[str, Any]]:
        timings = self.session.metrics.turns
        first = max(0, len(timings) - SHOWN_TURNS)
        turns: list[dict[str, Any]] = [
            {
                **turn.breakdown_ms(),
                "n": n,
                "status": turn.status,
                "stop_to_sound": stop_to_sound(turn),  # the server's parts only
            }
            for n, turn in enumerate(timings[first:], start=first + 1)
        ]
        if self._latency is not None:  # the server's part and the toolkit's, per turn
            for turn, parts in zip(turns, self._latency.per_turn(len(turns)), strict=False):
                turn["toolkit_in"], turn["toolkit_out"] = parts["toolkit_in"], parts["toolkit_out"]
                turn["stop_to_sound"] = parts["stop_to_sound"]
        return turns
