"""A/B: two sessions with different configs fed the same audio, side by side.

Each side is a real :class:`RealtimeSession` (the local server by default; OpenAI or Azure with
an endpoint and a key), so this shows what the server actually does, not the lab's simulation:
with a key, the same clip against OpenAI is the real turn detection. Both sides get the clip at
the same moments (``speed`` x real time; OpenAI expects real time), then silence so the last
turn can end. The widget shows, per side, the waveform with VAD markers, the transcript, the
latency and tokens, and the events; above them, the config diff.
"""

from __future__ import annotations

import html
import json
import time
from typing import Any

import ipywidgets as w
import numpy as np

from realtime_widgets.audio.rate import ms_to_samples
from realtime_widgets.client.auth import Endpoint
from realtime_widgets.client.session import RealtimeSession
from realtime_widgets.errors import ConfigError, FieldProblem
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.vadlab.clips import LabClip, load_clip
from realtime_widgets.widgets.controls import plain_value
from realtime_widgets.widgets.eventlog import EventLog
from realtime_widgets.widgets.metrics import MetricsView
from realtime_widgets.widgets.transcript import TranscriptView
from realtime_widgets.widgets.waveform import Waveform

__all__ = ["ABTest"]

CHUNK_MS = 40


class ABTest(w.VBox):  # type: ignore[misc]
    """Two sessions, two configs, one clip (see the module docstring)."""

    def __init__(
        self,
        clip: Any,
        config_a: SessionConfig,
        config_b: SessionConfig,
        *,
        endpoint_a: Endpoint | None = None,
        endpoint_b: Endpoint | None = None,
        names: tuple[str, str] = ("A", "B"),
        tail_ms: int = 2500,
    ) -> None:
        self.clip: LabClip = load_clip(clip)
        self.configs = (config_a, config_b)
        self.endpoints = (endpoint_a, endpoint_b)
        self.names = names
        self.tail_ms = tail_ms
        self.sessions: tuple[RealtimeSession, RealtimeSession] | None = None
        # What the last run's sessions recorded, kept when they close (stop()).
        self._kept_rows: list[dict[str, Any]] = []
        self._kept_transcripts: dict[str, list[tuple[str, str]]] = {}
        self._kept_events: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        self.status = w.HTML()
        self.diff = w.HTML(self._diff_html())
        self.columns = w.HBox()
        super().__init__([self.diff, self.status, self.columns])

    # ---- the config diff ------------------------------------------------------------------

    def differences(self) -> dict[str, tuple[Any, Any]]:
        """Parameter -> (A's value, B's value), for every parameter that differs."""
        a, b = self.configs
        return {
            name: (plain_value(getattr(a, name)), plain_value(getattr(b, name)))
            for name in b.diff(a)
        }

    def _diff_html(self) -> str:
        rows = "".join(
            f"<tr><td style='padding:1px 8px'><code>{name}</code></td>"
            f"<td style='padding:1px 8px'>{_json(va)}</td><td style='padding:1px 8px'>{_json(vb)}"
            "</td></tr>"
            for name, (va, vb) in self.differences().items()
        )
        a, b = self.names
        if not rows:
            return "<i>The two configs are identical.</i>"
        return (
            f"<table style='font-size:12px'><tr><th>parameter</th><th>{a}</th><th>{b}</th></tr>"
            f"{rows}</table>"
        )

    # ---- running ----------------------------------------------------------------------------

    def run(self, speed: float = 1.0, timeout: float = 300.0, quiet_s: float = 1.5) -> Any:
        """Connect both sides, stream the clip (plus ``tail_ms`` of silence) into both at
        ``speed`` x real time, wait until both are quiet (no response in progress, nothing for
        ``quiet_s``), and return :meth:`summary`."""
        if not speed > 0:
            raise ConfigError(
                [FieldProblem("speed", f"speed must be > 0 (x real time), got {speed}")]
            )
        self.stop()
        sessions = tuple(
            RealtimeSession(config, endpoint=endpoint)
            for config, endpoint in zip(self.configs, self.endpoints, strict=True)
        )
        self.sessions = (sessions[0], sessions[1])
        try:
            for session in self.sessions:
                session.connect()
        except Exception:
            self.stop()
            raise
        self._show_sides()
        tail = np.zeros(ms_to_samples(self.tail_ms), np.int16)
        audio = np.concatenate([self.clip.samples, tail])
        step = ms_to_samples(CHUNK_MS)
        start = time.monotonic()
        self.status.value = f"streaming {self.clip.name} to both sides..."
        for n, i in enumerate(range(0, len(audio), step)):
            time.sleep(max(0.0, start + n * CHUNK_MS / 1000 / speed - time.monotonic()))
            chunk = audio[i : i + step]
            for session in self.sessions:
                session.stream_audio(chunk)
        self._wait_quiet(timeout, quiet_s)
        self.status.value = "done: " + ", ".join(
            f"{name}: {row['turns']} turns, {row['responses']} replies"
            for name, row in zip(self.names, self._rows(), strict=True)
        )
        return self.summary()

    def _wait_quiet(self, timeout: float, quiet_s: float) -> None:
        assert self.sessions is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            busy = False
            for session in self.sessions:
                history = list(session.events)
                created = sum(e.type == "response.created" for e in history)
                done = sum(e.type == "response.done" for e in history)
                recent = bool(history) and session.elapsed - history[-1].t < quiet_s
                busy = busy or created > done or recent
            if not busy:
                return
            time.sleep(0.1)
        raise TimeoutError(f"ABTest: the sessions were still busy after {timeout} s")

    def _show_sides(self) -> None:
        assert self.sessions is not None
        sides = []
        for name, session in zip(self.names, self.sessions, strict=True):
            title = w.HTML(f"<b>{name}</b>: {session.endpoint.display}")
            parts = [
                title,
                Waveform(session),
                TranscriptView(session, height="200px"),
                MetricsView(session),
                EventLog(session),
            ]
            sides.append(w.VBox(parts, layout=w.Layout(width="50%")))
        self.columns.children = sides

    # ---- results ----------------------------------------------------------------------------

    def transcripts(self) -> dict[str, list[tuple[str, str]]]:
        """Per side, the conversation as ``(role, text)`` lines (kept after :meth:`stop`)."""
        if self.sessions is None:
            return dict(self._kept_transcripts)
        return {
            name: session.state.transcript()
            for name, session in zip(self.names, self.sessions, strict=True)
        }

    def events(self, side: str) -> list[tuple[str, dict[str, Any]]]:
        """``(type, data)`` of each event ``side`` received, in order (kept after :meth:`stop`)."""
        if self.sessions is None:
            return list(self._kept_events.get(side, []))
        session = self.sessions[self.names.index(side)]
        return [(e.type, e.data) for e in session.events if e.direction == "in"]

    def _rows(self) -> list[dict[str, Any]]:
        if self.sessions is None:
            return list(self._kept_rows)
        rows = []
        for name, session in zip(self.names, self.sessions, strict=True):
            events = [e for e in session.events if e.direction == "in"]
            started = [
                e.data["audio_start_ms"] for e in events if e.type.endswith("speech_started")
            ]
            stopped = [e.data["audio_end_ms"] for e in events if e.type.endswith("speech_stopped")]
            done = [e.data["response"] for e in events if e.type == "response.done"]
            first = [
                b["total_to_first_delta"]
                for turn in session.metrics.turns
                if (b := turn.breakdown_ms())["total_to_first_delta"] is not None
            ]
            usage = session.state.usage
            rows.append(
                {
                    "side": name,
                    "endpoint": session.endpoint.display,
                    "turns": len(started),
                    "speech_started_ms": started,
                    "speech_stopped_ms": stopped,
                    "responses": len(done),
                    "cancelled": sum(r.get("status") == "cancelled" for r in done),
                    "mean_first_audio_ms": round(float(np.mean(first)), 1) if first else None,
                    "input_tokens": usage.get("input_tokens", 0),
                    "output_tokens": usage.get("output_tokens", 0),
                    "cost_usd": session.cost,
                }
            )
        return rows

    def summary(self) -> Any:
        """One row per side: turns and their boundaries, replies, latency (speech_stopped ->
        first audio, mean), tokens and cost. A DataFrame when pandas is installed."""
        rows = self._rows()
        try:
            # optional dependency: a DataFrame when pandas is installed
            import pandas as pd
        except ImportError:
            return rows
        return pd.DataFrame(rows).set_index("side")

    def stop(self) -> None:
        """Close both sessions; the widgets keep showing what happened, and
        :meth:`summary`, :meth:`transcripts` and :meth:`events` keep answering."""
        if self.sessions is not None:
            self._kept_rows = self._rows()
            self._kept_transcripts = self.transcripts()
            self._kept_events = {name: self.events(name) for name in self.names}
            for session in self.sessions:
                session.close()
            self.sessions = None

    def close(self) -> None:
        """Close the sessions and the widget."""
        self.stop()
        super().close()

    def __enter__(self) -> ABTest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _json(value: Any) -> str:
    return html.escape(json.dumps(value, default=str))
