"""Transcription sessions in a notebook: TranscriptionView and TranscriptionPlayground.

:class:`TranscriptionView` shows the turns of a transcription session as they stream: one row
per committed turn, placed by ``previous_item_id`` (a late transcript lands in its own turn),
the text growing delta by delta (one small custom message per delta, never the whole
transcript), words shaded by their log probability when the session's ``include`` asks for
logprobs, and a failed transcription's reason. ``snapshot`` (synced, at most once a second and
at each completed turn) re-renders a saved notebook.

:class:`TranscriptionPlayground` is the whole console: the settings as controls generated from
:class:`~realtime_widgets.protocol.transcription_config.TranscriptionConfig` (the same generator
as the realtime panel), applied live as ``session.update``; the microphone; the waveform with
its VAD markers; the transcript. With no session it starts the embedded local server (pass
``transcriber=`` to give it a recogniser; without one each turn says why it has no text)::

    rw.TranscriptionPlayground()                                    # offline
    rw.TranscriptionPlayground(session=my_session)                   # any transcription session
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any, Literal

import anywidget
import ipywidgets as w
import traitlets as t

from realtime_widgets.client.auth import Endpoint
from realtime_widgets.client.session import RealtimeSession
from realtime_widgets.errors import ConfigError
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.events import ServerEvent
from realtime_widgets.protocol.state import ConversationState, ItemState
from realtime_widgets.protocol.transcription_config import TranscriptionConfig
from realtime_widgets.server.input_transcripts import Transcriber
from realtime_widgets.widgets.controls import FieldControl, SectionControl, build_controls, leaves
from realtime_widgets.widgets.listening import Listening
from realtime_widgets.widgets.microphone import Microphone
from realtime_widgets.widgets.streamed_view import StreamedView
from realtime_widgets.widgets.waveform import Waveform

__all__ = ["TranscriptionPlayground", "TranscriptionView", "transcription_endpoint"]


# Turn-detection settings about replies: a transcription session has none, so the console does
# not offer them (the server would accept them and nothing would change).
NOT_FOR_TRANSCRIPTION = ("turn_detection.create_response", "turn_detection.interrupt_response")


def transcription_endpoint(endpoint: Endpoint) -> Endpoint:
    """The same server and credentials, for a transcription session (``intent=transcription``
    instead of ``model=...``, as OpenAI's transcription sessions connect)."""
    base = endpoint.url.partition("?")[0]
    return Endpoint(
        f"{base}?intent=transcription",
        endpoint.secret,
        header=endpoint.header,
        beta=endpoint.beta,
        kind=endpoint.kind,
    )


def _tokens(item: ItemState) -> list[list[Any]] | None:
    if not item.logprobs:
        return None
    return [[lp.token, round(lp.logprob, 4)] for lp in item.logprobs]


def transcribing(session: dict[str, Any]) -> bool | None:
    """Whether a session (``session.created``/``updated``'s ``session``) transcribes its turns:
    None when not known yet (no session reported, or not a transcription session)."""
    if session.get("type") != "transcription":
        return None
    try:
        return TranscriptionConfig.from_session(session).transcription is not None
    except (ConfigError, ValueError):
        return None


def _note(item: ItemState, transcribing: bool | None = None) -> str:
    """Why a turn has no words (or that they are still coming): every row either ends with the
    words heard or says why there are none."""
    if item.transcript_state == "failed":
        return f"no transcript: {item.transcript_error or 'transcription failed'}"
    if item.transcript_state == "done" and not item.text.strip():
        return "no speech found"
    if item.transcript_state in ("none", "pending"):
        if transcribing is False:
            return "no transcript: transcription is off"
        return "transcribing..."
    return ""


def turn_row(item: ItemState, transcribing: bool | None = None) -> dict[str, Any]:
    """One turn as the view shows it (the snapshot's rows and the ``turn``/``done`` ops).
    ``transcribing``: whether the session transcribes turns (None: not known)."""
    return {
        "id": item.id,
        "text": item.text,
        "tokens": _tokens(item),
        "state": item.transcript_state,
        "note": _note(item, transcribing),
        "start_ms": item.audio_start_ms,
        "end_ms": item.audio_end_ms,
    }


class TranscriptionView(StreamedView, Listening, anywidget.AnyWidget):
    """The turns of a transcription session, streaming (see the module docstring)."""

    _esm = Path(__file__).with_name("transcription_view.js")
    snapshot = t.List(t.Dict()).tag(sync=True)
    height = t.Unicode("260px").tag(sync=True)

    def __init__(self, session: RealtimeSession | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.state = session.state if session is not None else ConversationState()
        self._start_stream()
        if session is not None:
            self._listen(session.on("*", self.observe_event))

    @property
    def transcribing(self) -> bool | None:
        """Whether the session transcribes its turns, as the server last reported it."""
        return transcribing(self.state.session)

    def _row(self, item: ItemState) -> dict[str, Any]:
        return turn_row(item, self.transcribing)

    def _closes(self, event: ServerEvent) -> bool:
        return isinstance(
            event,
            ev.InputTranscriptionCompleted
            | ev.InputTranscriptionFailed
            | ev.InputAudioBufferCommitted,
        )

    def _snapshot_rows(self) -> list[dict[str, Any]]:
        return [self._row(i) for i in self._turns()]

    def _turns(self) -> list[ItemState]:
        return [i for i in self.state.ordered_items() if i.role == "user"]

    def _place(self, item_id: str) -> dict[str, Any]:
        order = [i.id for i in self._turns()]
        index = order.index(item_id) if item_id in order else len(order)
        after = order[index - 1] if index > 0 else None
        self._known.add(item_id)
        return {"op": "turn", "after": after, **self._row(self.state.items[item_id])}

    def _ops(self, event: ServerEvent) -> list[dict[str, Any]]:
        items = self.state.items
        if isinstance(event, ev.InputAudioBufferCommitted | ev.ConversationItemAdded):
            item_id = event.item_id if isinstance(event, ev.InputAudioBufferCommitted) else None
            item_id = item_id or getattr(getattr(event, "item", None), "id", None)
            if item_id in items and items[item_id].role == "user" and item_id not in self._known:
                return [self._place(item_id)]
            return []
        if isinstance(event, ev.InputTranscriptionDelta):
            if event.item_id not in items:
                return []
            if event.item_id not in self._known:
                return [self._place(event.item_id)]
            tokens = (
                [[lp.token, round(lp.logprob, 4)] for lp in event.logprobs]
                if event.logprobs
                else None
            )
            return [{"op": "delta", "id": event.item_id, "text": event.delta, "tokens": tokens}]
        if isinstance(event, ev.InputTranscriptionCompleted | ev.InputTranscriptionFailed):
            item = items.get(event.item_id)
            if item is None:
                return []
            if item.id not in self._known:
                return [self._place(item.id)]
            return [{"op": "done", **self._row(item)}]
        if isinstance(event, ev.SpeechStarted):
            return [{"op": "speaking", "id": event.item_id, "start_ms": event.audio_start_ms}]
        if isinstance(event, ev.SpeechStopped | ev.InputAudioBufferCleared):
            # The turn ended (or was thrown away): nobody is being heard any more. Its row
            # comes with ``committed``, which follows ``speech_stopped``.
            return [{"op": "quiet"}]
        return []


def confidence(logprob: float) -> float:
    """A token's probability from its log probability (what the shading shows), 0..1."""
    return max(0.0, min(1.0, math.exp(logprob)))


class TranscriptionPlayground(w.VBox):  # type: ignore[misc]
    """Settings, microphone, waveform and live transcript of a transcription session."""

    def __init__(
        self,
        config: TranscriptionConfig | None = None,
        *,
        session: RealtimeSession | None = None,
        transcriber: Transcriber | Literal["whisper"] | None = "whisper",
        connect: bool = True,
    ) -> None:
        self.server: Any = None
        if session is None:
            # lazy: the embedded server is loaded only when this console starts one
            from realtime_widgets.server.app import LocalServer

            self.server = LocalServer(speech=False, transcriber=transcriber).start()
            session = RealtimeSession(
                endpoint=transcription_endpoint(Endpoint.local(self.server.url, "transcribe"))
            )
        self.session = session
        self.requested = config or TranscriptionConfig()
        self._sent: TranscriptionConfig | None = None
        self.controls: dict[str, FieldControl] = {
            c.path: c for c in build_controls(TranscriptionConfig)
        }
        turns = self.controls["turn_detection"]
        if isinstance(turns, SectionControl):
            turns.omit(*NOT_FOR_TRANSCRIPTION)
        for name, control in self.controls.items():
            control.set(getattr(self.requested, name))
            for leaf in leaves(control.box):
                leaf.observe(lambda _change: self.apply_controls(), "value")
        self.status = w.HTML(layout=w.Layout(min_height="22px"))
        self.error = w.HTML(layout=w.Layout(min_height="22px"))
        self.transcript = TranscriptionView(session)
        self.microphone = Microphone(session)
        self.waveform = Waveform(session, show_output=False)  # no replies: no assistant lane
        # As tall as its rows: a height-capped flex column squeezes nested rows over each other.
        settings = w.VBox(
            [c.box for c in self.controls.values()],
            layout=w.Layout(width="430px", flex="0 0 auto"),
        )
        settings.add_class("rw-transcription-settings")
        right = w.VBox(
            [self.status, self.microphone, self.waveform, self.transcript, self.error],
            layout=w.Layout(flex="1 1 auto", min_width="0"),
        )
        super().__init__(
            [w.HBox([settings, right], layout=w.Layout(width="100%", align_items="flex-start"))]
        )
        self.add_class("rw-transcription-playground")
        self._removers = [
            session.on("session.updated", self._on_session),
            session.on("session.created", self._on_session),
            session.on("error", self._on_error),
        ]
        if connect:
            session.connect()
            self.apply(self.requested)

    # ---- settings -----------------------------------------------------------------------------

    def apply_controls(self) -> None:
        """Read the controls into a config and apply it (an invalid value is shown, not sent)."""
        try:
            values = {name: control.value for name, control in self.controls.items()}
            config = TranscriptionConfig(**values)
        except (ConfigError, ValueError) as exc:
            self.error.value = f"<span style='color:#b00020'>{html.escape(str(exc))}</span>"
            return
        self.apply(config)

    def apply(self, config: TranscriptionConfig) -> None:
        """Send what changed since the last update (everything set, the first time)."""
        self.requested = config
        if not self.session.connected:
            return
        event = config.to_session_update(previous=self._sent)
        if self._sent is not None and set(event["session"]) == {"type"}:
            return  # nothing changed
        self._sent = config
        self.error.value = ""
        self.session.submit(self.session.asend_event(event))

    @property
    def effective(self) -> TranscriptionConfig | None:
        """The server's view of the settings (from the last session.created / updated)."""
        session = self.session.state.session
        if session.get("type") != "transcription":
            return None
        return TranscriptionConfig.from_session(session)

    def _on_session(self, event: ServerEvent) -> None:
        effective = self.effective
        if effective is None:
            self.status.value = "<b>not a transcription session</b>"
            return
        tr = effective.transcription
        model = tr.model if tr is not None else "off"
        td = effective.turn_detection
        turns = td.type if td is not None else "manual commit"
        logprobs = ", logprobs" if effective.logprobs else ""
        self.status.value = (
            f"<b>{html.escape(self.session.endpoint.display)}</b> &middot; transcription "
            f"{html.escape(model)} &middot; {html.escape(turns)}{logprobs}"
        )

    def _on_error(self, event: ServerEvent) -> None:
        if isinstance(event, ev.ErrorEvent):
            where = f" ({event.error.param})" if event.error.param else ""
            self.error.value = (
                f"<span style='color:#b00020'>{html.escape(event.error.message)}{where}</span>"
            )

    def close(self) -> None:
        for remove in getattr(self, "_removers", ()):
            remove()
        self._removers = []
        for name in ("transcript", "microphone", "waveform"):
            widget = getattr(self, name, None)
            if widget is not None:
                widget.close()
        super().close()
        session = getattr(self, "session", None)
        if session is not None:
            session.close()
        if getattr(self, "server", None) is not None:
            self.server.stop()
            self.server = None
