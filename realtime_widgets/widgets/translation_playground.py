"""TranslationPlayground: a translation session's console in a notebook.

A translation session hears a continuous stream of speech and gives it back in another language
(:mod:`realtime_widgets.client.translation`). :class:`TranslationPlayground` is its console, in
one line, ``rw.TranslationPlayground()``:

- **where to connect** (:class:`~.endpoint_form.EndpointForm`, the form piece the playgrounds
  share): the embedded local server with no key (it hears with Whisper; it translates only
  with a translator: a chat endpoint in the form, or ``server=LocalServer(translator=...)``),
  or OpenAI with a key that never syncs;
- **the settings** as controls generated from
  :class:`~realtime_widgets.protocol.translation_config.TranslationConfig` (the generator every
  panel uses), grouped by their ``Param``; each change goes out at once as a ``session.update``
  (the minimal diff; an invalid value is shown on its control and never sent; an update that
  fails, refused or unanswered, is said on its control and the status line, and the control
  goes back to what the session holds). The model locks once connected, with the reason;
- the **microphone** in (or a WAV file streamed as if spoken), the **translated voice** out (a
  :class:`~.speaker.Speaker` playing one continuous stream), the **waveform** with both lanes
  (you, translation) and, on it, each end of your speech and the first translated audio after
  it;
- the **source and translated transcripts** side by side (two
  :class:`~.translation_transcript.TranslationTranscript`: rows by position in the stream, one
  small message per delta), the **latency** from the end
  of speech to the first translated audio (measured by the client,
  :class:`~realtime_widgets.client.translation.TranslationMetrics`), and the **event log**;
- what the server says it lacks, in a notice above the console: with no translator the local
  server says so (an ``error`` event) and the source transcript keeps flowing;
- the **connection**, said at once on the status line: each attempt to reopen a dropped one
  (``session.reconnecting``), the new server session that replaced it, or, once the attempts
  are spent, the connection lost, in red (``session.disconnected``: the model unlocks for the
  next *Connect*).

The playground's state is touched on the session's I/O loop only (docs/architecture.md "The
widgets"): the session's listeners and taps run there, control changes hop there
(:func:`~.browser_messages.on_session_loop`), and a caller on another thread reads there.
"""

from __future__ import annotations

import html
import json
import statistics
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from realtime_widgets.audio.pcm import Int16Array
from realtime_widgets.client.translation import TranslationSession
from realtime_widgets.errors import ConfigError, ServerError
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.events import ServerEvent
from realtime_widgets.protocol.translation_config import TRANSLATION_GROUPS, TranslationConfig
from realtime_widgets.widgets.browser_messages import read_on_session_loop
from realtime_widgets.widgets.console import SessionConsole, wav_upload
from realtime_widgets.widgets.controls import plain_value, top_field
from realtime_widgets.widgets.endpoint_form import EndpointForm
from realtime_widgets.widgets.eventlog import EventLog
from realtime_widgets.widgets.microphone import Microphone
from realtime_widgets.widgets.speaker import Speaker
from realtime_widgets.widgets.translation_transcript import TranslationTranscript
from realtime_widgets.widgets.waveform import Waveform

__all__ = [
    "NO_TRANSLATOR_CODE",
    "TranslationPlayground",
    "playground_translation_config",
]

# The local server's error code when it has no translator (server/translation_engine.py): said
# once per session, the source transcript still flowing.
NO_TRANSLATOR_CODE = "translator_unavailable"
_RED, _AMBER, _GREY = "#c0392b", "#8a5a00", "#666"
# The event log's height and the settings' width: at 1366x768 the console fits JupyterLab's
# notebook panel (~650 px), the file browser open or closed.
EVENTS_HEIGHT = "110px"
SETTINGS_WIDTH = "360px"


def playground_translation_config() -> TranslationConfig:
    """The playground's starting settings: into Spanish, the source transcribed too (a person
    trying it sees what was heard beside its translation)."""
    return TranslationConfig(output_language="es", input_transcription="gpt-4o-mini-transcribe")


# ---- the console --------------------------------------------------------------------------------


class TranslationPlayground(SessionConsole[TranslationSession, TranslationConfig]):
    """Settings, microphone, translated voice, waveform, transcripts, latency and events of a
    translation session (see the module docstring).

    ``config``: the starting settings (:func:`playground_translation_config` by default).
    ``server``: the local server the "Local server" choice connects to (default: the
    process's embedded one), e.g. ``LocalServer(translator=my_translator).start()``.
    ``connect``: connect at once when the local server is chosen (it is, unless
    ``OPENAI_API_KEY`` is set). Then :meth:`connect` again (or the Connect button) starts a new
    session with the settings shown; :meth:`close` ends it all."""

    _NOTICE_PADDING = "4px 8px"

    def __init__(
        self,
        config: TranslationConfig | None = None,
        *,
        server: Any = None,
        connect: bool = True,
    ) -> None:
        self._start_console(
            TranslationConfig,
            config or playground_translation_config(),
            EndpointForm(("translator", "the local server's", "a chat endpoint"), server=server),
        )  # (the notices: error code -> (colour, message))
        self.connection.button.on_click(lambda _: self._connect_clicked())
        self._marked = 0  # the ends of speech already put on the waveform
        self._marked_audio = 0  # ... and those whose first translated audio is on it too
        groups: list[w.Widget] = []
        for group in TRANSLATION_GROUPS:
            boxes = [
                self.controls[name].box
                for name, param in TranslationConfig.PARAMS.items()
                if param.group == group
            ]
            heading = w.HTML(f"<b style='font-size:12px;color:#444'>{html.escape(group)}</b>")
            groups += [heading, *boxes]
        self.latency = w.HTML(layout=w.Layout(margin="8px 0 0 0"))
        self.settings = w.VBox(
            [*groups, self.latency],
            layout=w.Layout(width=SETTINGS_WIDTH, flex="0 0 auto", overflow="hidden"),
        )
        self.settings.add_class("rw-translation-settings")
        self.status = w.HTML(layout=w.Layout(min_height="20px"))
        self._assemble("translation")
        self._show_latency()
        if connect and self.connection.local:
            self.connect()

    # ---- connecting -----------------------------------------------------------------------------

    def _connect_clicked(self) -> None:
        self._clicked(self.connect)

    def connect(self) -> TranslationSession:
        """A new session with the settings the controls hold, where the form points; the parts
        are rebuilt for it and the old session (if any) closes once the new one is connected
        (a connect that raises leaves the old one going)."""
        config = self._read_controls()
        endpoint = self.connection.endpoint(config.model)
        session = TranslationSession(config, endpoint=endpoint)
        said = f"connected to {session.endpoint.display}{self._translator()}"
        self._switch_to(session)
        read_on_session_loop(session, lambda: self._connected(said))
        return session

    def _translator(self) -> str:
        """Who translates, in words, for the status line (never a key)."""
        form = self.connection
        if not form.local:
            return ""
        if form.uses_chat:
            return f" · translating with {form.chat.settings}"
        server = form.server()
        if getattr(server, "translator", None) is None:
            return " · no translator: the source transcript only"
        note = getattr(server, "translator_note", "")
        return f" · {note}" if note else ""

    def _connected(self, said: str) -> None:
        """On the session loop, once bound: what the connection says, the locks, the status."""
        self.connection.say(said)
        self._refresh_locks()
        self._on_session(None)

    def _build_parts(
        self, session: TranslationSession
    ) -> tuple[dict[str, w.Widget], list[w.Widget]]:
        """The parts for ``session``, and the body's rows (see SessionConsole._bind)."""
        self._marked = self._marked_audio = 0
        parts: dict[str, w.Widget] = {
            "microphone": Microphone(session),
            "speaker": Speaker(session),
            "waveform": Waveform(session, height=110),
            "source": TranslationTranscript(session, side="source"),
            "translation": TranslationTranscript(session, side="translation"),
            "events": EventLog(session, height=EVENTS_HEIGHT),
        }
        upload = wav_upload(self._upload)
        parts["upload"] = upload
        parts["source_title"] = w.HTML()
        parts["translation_title"] = w.HTML()
        # The speaker's one-line status keeps its words (150 px): on a narrow page it wraps
        # under the microphone rather than being cut.
        parts["speaker"].layout = w.Layout(flex="1 1 150px", width="auto", min_width="150px")
        audio = w.HBox(
            [parts["microphone"], upload, parts["speaker"]],
            layout=w.Layout(align_items="center", flex="0 0 auto", flex_flow="row wrap"),
        )
        columns = w.HBox(
            [
                w.VBox(
                    [parts["source_title"], parts["source"]],
                    layout=w.Layout(flex="1 1 0", min_width="0"),
                ),
                w.VBox(
                    [parts["translation_title"], parts["translation"]],
                    layout=w.Layout(flex="1 1 0", min_width="0", margin="0 0 0 6px"),
                ),
            ],
            layout=w.Layout(width="100%"),
        )
        columns.add_class("rw-translation-transcripts")
        events_title = w.HTML("<b style='font-size:12px;color:#444'>Events</b>")
        rows = [
            self.status,
            audio,
            parts["waveform"],
            columns,
            events_title,
            parts["events"],
        ]
        return parts, rows

    def _listen_more(self, session: TranslationSession) -> list[Callable[[], None]]:
        return [
            session.on("session.created", self._on_session),
            session.on("session.output_audio.delta", self._on_translated_audio),
            session.on("session.output_transcript.delta", self._on_translated_audio),
            session.add_audio_tap(self._on_input),
        ]

    # ---- settings -------------------------------------------------------------------------------

    def _submit_update(self, session: TranslationSession, config: TranslationConfig) -> None:
        session.submit(self._send_update(session, config))

    async def _send_update(self, session: TranslationSession, config: TranslationConfig) -> None:
        """``session.update`` with the diff (on the session loop). Whatever makes it fail (the
        server's refusal, no answer in time, a lost connection) is said on the controls it
        changed and on the status line, and those controls go back to what the session holds:
        they never show a setting the session does not have."""
        try:
            await session.aapply(config)
        except ServerError as exc:  # (the notice shows it too when it came as an error event)
            self._not_applied(session, config, exc.message, exc.config_field)
        except ConfigError as exc:  # (the model, were it unlocked: a session keeps its own)
            self._not_applied(session, config, str(exc), exc.field)
        except Exception as exc:  # (a timeout, a closed session: said, not lost)
            self._not_applied(session, config, f"{type(exc).__name__}: {exc}", None)

    def _not_applied(
        self, session: TranslationSession, config: TranslationConfig, why: str, field: str | None
    ) -> None:
        """An update failed: said, and the controls it changed put back (see _send_update)."""
        held = session.requested  # (unchanged by a failed update)
        changed = [n for n in self.controls if getattr(config, n) != getattr(held, n)]
        if self.requested == config:  # (no newer change since: that one is sent on its own)
            self.requested = held
            self._restoring = True
            try:
                for name in changed:
                    self.controls[name].set(getattr(held, name))
            finally:
                self._restoring = False
        said = f"session.update not applied: {why}"
        named = top_field(field)
        for name in [named] if named in self.controls else changed:
            self.controls[name].error(said)
        kept = ", ".join(f"{n} {json.dumps(plain_value(getattr(held, n)))}" for n in changed)
        self.connection.say(said + (f"; the session keeps {kept}" if kept else ""), error=True)
        self._on_session(None)

    def _locks(self) -> dict[str, str]:
        """The model while connected."""
        session = self.session
        live = session is not None and session.connected
        return self.requested.locked_fields(live=live)

    # ---- what the session reports ---------------------------------------------------------------

    def _on_reconnected(self, event: ServerEvent) -> None:
        """A new server session replaced the lost one; the settings go to it again."""
        session = self.session
        where = session.endpoint.display if session is not None else "the server"
        attempt = getattr(event, "attempt", None)
        self.connection.say(
            f"reconnected to {where} (attempt {attempt}) after a lost connection: a new server "
            f"session, the settings sent to it again{self._translator()}"
        )
        self._refresh_locks()
        self._on_session(None)

    def _on_disconnected(self, event: ServerEvent) -> None:
        """The connection is gone for good: said at once, in red, and the model unlocks."""
        cause = getattr(event, "message", None) or "the connection closed"
        self.connection.say(f"connection lost: {cause}; Connect starts a new session", error=True)
        self._refresh_locks()

    def _on_session(self, event: ServerEvent | None) -> None:
        """session.created / updated (and once bound): the status and the column titles."""
        session = self.session
        effective = session.effective if session is not None else None
        config = effective or self.requested
        into = config.output_language or "(not set)"
        tr = config.input_transcription
        nr = config.noise_reduction
        said = (
            f"{config.model}, as the server reported it (session.created / updated)"
            if effective is not None
            else f"{config.model}, as requested (the server has not answered yet)"
        )
        self.status.value = (
            f"<span class='rw-translation-status' title='{html.escape(said, quote=True)}' "
            f"style='font-size:12px;color:#444'>into <b>{html.escape(into)}</b> &middot; "
            f"source transcript: {html.escape(tr.model if tr is not None else 'off')} "
            f"&middot; noise reduction: {html.escape(nr.type if nr is not None else 'off')}"
            "</span>"
        )
        self._titles(config)

    def _titles(self, config: TranslationConfig) -> None:
        source, target = self.parts.get("source_title"), self.parts.get("translation_title")
        if source is None or target is None:
            return
        tr = config.input_transcription
        heard = "Heard (source)"
        if tr is None:
            heard += (
                f" <span style='color:{_GREY}'>&middot; off: turn on input transcription</span>"
            )
        source.value = f"<b style='font-size:12px'>{heard}</b>"
        into = html.escape(config.output_language or "?")
        words = f"Translation ({into})"
        if NO_TRANSLATOR_CODE in self._notices:
            words += f" <span style='color:{_AMBER}'>&middot; none: no translator</span>"
        target.value = f"<b style='font-size:12px'>{words}</b>"

    def _on_error(self, event: ServerEvent) -> None:
        """An ``error`` event: shown above the console (the newest few, one per code), and on
        the control its ``param`` names."""
        if not isinstance(event, ev.ErrorEvent):
            return
        err = event.error
        code = err.code or err.type
        colour = _AMBER if code == NO_TRANSLATOR_CODE else _RED
        self._notice(code, colour, err.message)
        self._say_on(TranslationConfig.field_for_param(err.param), err.message)
        session = self.session
        self._titles((session.effective if session else None) or self.requested)

    def _notice_row(self, code: str, colour: str, message: str) -> str:
        lead = (
            "No translation: this server has no translator. The source transcript still "
            "shows below. "
            if code == NO_TRANSLATOR_CODE
            else f"The server says ({html.escape(code)}): "
        )
        return (
            f"<div class='rw-notice-row' data-code='{html.escape(code, quote=True)}' "
            f"style='color:{colour};margin:2px 0'>&#9888; <b>{html.escape(lead)}</b>"
            f"{html.escape(message)}</div>"
        )

    # ---- latency: end of speech -> first translated audio ------------------------------------

    def _on_input(self, samples: Int16Array, rate: int) -> None:
        """Audio sent (the session loop): each new end of speech goes on the waveform."""
        session, waveform = self.session, self.parts.get("waveform")
        if session is None or not isinstance(waveform, Waveform):
            return
        timings = session.metrics.timings
        if len(timings) == self._marked:
            return
        for timing in timings[self._marked :]:
            waveform.marker("speech_stopped", timing.speech_end * 1000, "end of speech", "end")
        self._marked = len(timings)
        self._show_latency()

    def _on_translated_audio(self, event: ServerEvent) -> None:
        """Translated text or audio arrived: the latency, and its marker on the waveform."""
        session, waveform = self.session, self.parts.get("waveform")
        if session is None:
            return
        timings = session.metrics.timings
        while self._marked_audio < len(timings) and timings[self._marked_audio].first_audio:
            timing = timings[self._marked_audio]
            latency = timing.latency_ms or 0.0
            if isinstance(waveform, Waveform) and timing.first_audio is not None:
                waveform.marker(
                    "response_start",
                    timing.first_audio * 1000,
                    f"translated audio +{latency:.0f} ms",
                    f"+{latency:.0f} ms",
                )
            self._marked_audio += 1
        self._show_latency()

    def _show_latency(self) -> None:
        session = self.session
        metrics = session.metrics if session is not None else None
        audio = metrics.latencies_ms() if metrics is not None else []
        text = (
            [t.text_latency_ms for t in metrics.timings if t.text_latency_ms is not None]
            if metrics is not None
            else []
        )
        ends = len(metrics.timings) if metrics is not None else 0
        if audio:
            figure = (
                f"last <b>{audio[-1]:.0f} ms</b> &middot; median "
                f"{statistics.median(audio):.0f} ms over {len(audio)}"
            )
        else:
            figure = f"no translated audio yet ({ends} end{'s' if ends != 1 else ''} of speech)"
        words = f"; first translated text: last {text[-1]:.0f} ms" if text else ""
        self.latency.value = (
            "<div class='rw-translation-latency' style='font-size:12px;line-height:1.4'>"
            "<b>Latency</b> (measured here): end of speech &rarr; first translated audio: "
            f"{figure}{words}</div>"
        )
