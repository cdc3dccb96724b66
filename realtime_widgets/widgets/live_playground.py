"""LivePlayground: a GPT-Live session's console, in one line, ``rw.LivePlayground()``.

GPT-Live (``client.live``) is OpenAI's full-duplex speech API beside Realtime: the model owns
turn-taking and barge-in, the context is append-only, and a session is billed by the minute
(:mod:`realtime_widgets.client.live`). The console:

- **where to connect** (:class:`~.endpoint_form.EndpointForm`, the form the playgrounds share):
  the embedded local server with no key (its own VAD, Whisper hearing, the honest local
  responder or a chat endpoint as the model), or OpenAI with a key that never syncs;
- **the settings** as controls generated from
  :class:`~realtime_widgets.protocol.live_config.LiveConfig` (the generator every panel uses),
  grouped by their ``Param``. ``session.start`` carries them; once started, the start-only
  ones (model, voice, instructions, startup input, audio format, ...) are locked with the
  reason, and a change to delegation or triggers goes out at once as ``session.update`` (a
  refusal shows on its control). The WebRTC/SIP-only ones (``wake_policy``,
  ``idle_timeout_s``) are shown as such and never sent on this WebSocket session. *End
  session* sends ``session.close`` and unlocks them for the next *Connect*;
- **audio**: the microphone in (sent in the session's format by the session), a WAV streamed
  as if spoken, the model's voice out, *Mute input* (``session.input_audio.mute`` /
  ``unmute``), and a **fixture** (``session.output_audio.fixture.play``): a WAV upload or a
  clip recorded from the microphone, at most 30 s;
- the **waveform** (you, model) with each turn of yours (start, end), each turn of the
  model's (with the latency from the end of your speech) and each barge-in (you spoke over the
  model: its audio stopped, and its row in the transcript says it was cut);
- the **transcripts**, yours and the model's side by side (:class:`~.live_transcript.
  LiveTranscriptView`: one message per delta);
- **steering** the context: a text box sent as ``session.commentary.append`` (the model says
  it), ``session.thinking.append`` (silent) or ``session.instructions.append``;
- **delegations** the model handed to the client (``session.delegation.created``), each with a
  box to answer it (spoken or silent, with its ``delegation_id``: the SDK's way): these and the
  fixtures are :mod:`~.live_steering`'s parts;
- what the server said (errors linked to what caused them, infos), the **latency** (end of
  speech to the model's first audio, measured here), the **usage** in seconds as the server
  reports them (active and paused only when the report has them: eligible WebRTC sessions) and
  in dollars (:class:`~.live_meters.LiveMeters`: the price and its source shown, what the
  figure assumes said, an upper bound when seconds came without the breakdown; an unknown
  price said plainly), and the **event log**;
- the **connection**, said at once on the status line: each attempt to reopen a dropped one
  (``session.reconnecting``), the new server session that replaced the lost one
  (``session.reconnected``: above the console, what went with the old one: its context and
  the delegations nobody can answer now, whose answer boxes go), or, once the attempts are
  spent, the connection lost, in red (``session.disconnected``: the start-only settings
  unlock for the next *Connect*).

Its state is touched on the session's I/O loop only (docs/architecture.md "The widgets"): the
session's listeners and taps run there, clicks and control changes hop there
(:func:`~.browser_messages.on_session_loop`), and a reader on another thread reads there.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from realtime_widgets.client.live import LiveSession
from realtime_widgets.client.live_state import LiveTurn
from realtime_widgets.errors import ConfigError, RealtimeWidgetsError, ServerError
from realtime_widgets.protocol import live_events as le
from realtime_widgets.protocol.events import ServerEvent
from realtime_widgets.protocol.live_config import LIVE_GROUPS, LiveConfig
from realtime_widgets.widgets.browser_messages import read_on_session_loop
from realtime_widgets.widgets.console import SessionConsole, wav_upload
from realtime_widgets.widgets.controls import FieldControl
from realtime_widgets.widgets.endpoint_form import EndpointForm
from realtime_widgets.widgets.eventlog import EventLog
from realtime_widgets.widgets.live_meters import LiveMeters
from realtime_widgets.widgets.live_steering import (
    AMBER,
    GREY,
    LABEL,
    RED,
    DelegationsBox,
    FixtureBar,
    SteeringBox,
    act,
    submit,
)
from realtime_widgets.widgets.live_transcript import LiveTranscriptView
from realtime_widgets.widgets.microphone import Microphone
from realtime_widgets.widgets.speaker import Speaker
from realtime_widgets.widgets.waveform import Waveform

__all__ = ["LivePlayground", "playground_live_config"]

SETTINGS_WIDTH = "360px"
SETTINGS_HEIGHT = "clamp(420px, calc(100vh - 230px), 860px)"
TRANSCRIPT_HEIGHT = "130px"
EVENTS_HEIGHT = "110px"
CUT_NOTE = "cut when you spoke"
LiveTurnStream = str  # the model's audio stream of a turn (``live_audio_1``, ...)
# The settings column is narrow: a text field (300 px by default, with its label) and the
# toggle of an optional one shrink to fit it rather than spill out of it.
SETTINGS_CSS = (
    ".rw-live-settings .widget-text,.rw-live-settings .widget-textarea{width:auto;"
    "flex:1 1 auto;min-width:0}.rw-live-settings .widget-text input{min-width:0}"
)
# What a locked control says under it (its whole reason, from LiveConfig, is its tooltip).
START_NOTE = "fixed by session.start: End session, change it, Connect"
MEDIA_NOTE = "WebRTC/SIP only (client.live.create()): never sent on a WebSocket"
# A turn's start on the session timeline includes some audio before the speech (the server's
# prefix padding: 300 ms on the local server), so a person who answers right after the model's
# last word seems to begin a little before it: a barge-in is a turn that began more than this
# before the model's turn ended (a real one overlaps it by the padding, the server's reaction
# and the words it had scheduled ahead: about a second on the local server).
BARGE_IN_MARGIN_MS = 400


def playground_live_config() -> LiveConfig:
    """The playground's starting settings: gpt-live-1.1 (priced for active and standby time)
    with delegation to the client (the console answers what the model hands over)."""
    return LiveConfig(model="gpt-live-1.1", delegation={"type": "client"})


class LivePlayground(SessionConsole[LiveSession, LiveConfig]):
    """Settings, audio, waveform, transcripts, steering, delegations, latency, usage and
    events of a GPT-Live session (see the module docstring).

    ``config``: the starting settings (:func:`playground_live_config` by default). ``server``:
    the local server the "Local server" choice connects to (default: the process's embedded
    one). ``connect``: connect at once when the local server is chosen (it is, unless
    ``OPENAI_API_KEY`` is set); then *Connect* (or :meth:`connect`) starts a new session with
    the settings shown, *End session* (:meth:`end_session`) ends it, :meth:`close` all."""

    def __init__(
        self, config: LiveConfig | None = None, *, server: Any = None, connect: bool = True
    ) -> None:
        self._start_console(
            LiveConfig, config or playground_live_config(), EndpointForm(server=server)
        )
        self.connection.button.on_click(lambda _: self._clicked(self.connect))
        self.end_button = w.Button(
            description="End session",
            tooltip="session.close: the server answers session.closed with the final usage",
            layout=w.Layout(width="auto", display="none"),
        )
        self.end_button.on_click(lambda _: self._clicked(self.end_session))
        line = list(self.connection.line.children)  # End session beside Connect
        line.insert(line.index(self.connection.button) + 1, self.end_button)
        self.connection.line.children = line
        self._streams: list[str] = []  # the model's output streams seen, in order
        self._user_turns: set[int] = set()  # the person's turns already marked
        self._labelled: set[int] = set()  # ... and those whose answer has its latency
        self._cut: set[int] = set()  # the model's turns cut by a barge-in
        self._cut_streams: set[str] = set()  # ... and its audio streams (with no transcript)
        self._media_reasons = {
            name: reason
            for name, reason in LiveConfig().locked_fields(live=True).items()
            if LiveConfig.PARAMS[name].transport == "media"
        }
        groups: list[w.Widget] = []
        for group in LIVE_GROUPS:
            names = [n for n, p in LiveConfig.PARAMS.items() if p.group == group]
            heading = f"<b style='{LABEL}'>{html.escape(group)}</b>"
            if any(n in self._media_reasons for n in names):
                heading += f" <span style='color:{GREY};font-size:11px'>(media sessions)</span>"
            groups += [w.HTML(heading), *(self.controls[n].box for n in names)]
        # The groups are as tall as their rows (a height-capped flex column squeezes nested rows
        # over each other); the column around them scrolls.
        style = w.HTML(f"<style>{SETTINGS_CSS}</style>", layout=w.Layout(display="none"))
        rows = w.VBox([style, *groups], layout=w.Layout(flex="0 0 auto", width="100%"))
        self.settings = w.VBox(
            [rows],
            layout=w.Layout(
                width=SETTINGS_WIDTH,
                max_height=SETTINGS_HEIGHT,
                overflow="hidden auto",
                flex="0 0 auto",
            ),
        )
        self.settings.add_class("rw-live-settings")
        self.status = w.HTML(layout=w.Layout(min_height="20px"))
        self.status.add_class("rw-live-status")
        self.meters = LiveMeters()
        self._assemble("live")
        self._refresh_locks()
        if connect and self.connection.local:
            self.connect()

    # ---- connecting ---------------------------------------------------------------------------

    def say(self, colour: str, text: str) -> None:
        """Put ``text`` on the connection's status line (red: an error)."""
        self.connection.say(text, error=colour == RED)

    def connect(self) -> LiveSession:
        """A new session with the settings the controls hold, where the form points
        (``session.start``, answered by ``session.started``); the parts are rebuilt for it and
        the old session (if any) closes once the new one is started (a start that fails
        leaves the old one going, and raises)."""
        config = self._read_controls()
        session = LiveSession(config, endpoint=self.connection.endpoint(config.model))
        form = self.connection
        replies = f" · replies from {form.chat.settings}" if form.uses_chat else ""
        self._switch_to(session)
        said = f"session.start sent to {session.endpoint.display}{replies}"
        read_on_session_loop(session, lambda: self._started(said))
        return session

    def end_session(self) -> None:
        """``session.close``: the server answers ``session.closed`` (the final usage) and ends
        the connection; the start-only settings unlock for the next *Connect*."""
        session = self.session
        if session is None or not session.connected:
            raise RealtimeWidgetsError("no session to end: connect first")
        self.connection.say("session.close sent: waiting for session.closed")
        submit(session, session.aclose_session(), "session.close", self.say)

    def _started(self, said: str) -> None:
        """On the session loop, once bound: the status, the locks, the meters."""
        self.connection.say(said)
        self._on_session(None)
        self.meters.show(self.session)

    def _build_parts(self, session: LiveSession) -> tuple[dict[str, w.Widget], list[w.Widget]]:
        """The parts for ``session``, and the body's rows (see SessionConsole._bind)."""
        self._streams, self._user_turns, self._labelled = [], set(), set()
        self._cut, self._cut_streams = set(), set()
        microphone = Microphone(session)
        parts: dict[str, w.Widget] = {
            "microphone": microphone,
            "speaker": Speaker(session),
            "waveform": Waveform(session, height=100),
            "you": LiveTranscriptView(session, role="user", height=TRANSCRIPT_HEIGHT),
            "model": LiveTranscriptView(session, role="assistant", height=TRANSCRIPT_HEIGHT),
            "steering": SteeringBox(session),
            "fixtures": FixtureBar(session, microphone),
            "delegations": DelegationsBox(session),
            "events": EventLog(session, height=EVENTS_HEIGHT),
        }
        auto = w.Layout(width="auto", flex="0 0 auto")
        upload = wav_upload(self._upload)
        mute = w.Button(
            description="Mute input",
            icon="microphone-slash",
            layout=auto,
            tooltip="session.input_audio.mute: the model stops hearing you (the seconds go on)",
        )
        mute.on_click(lambda _: act(session, self._toggle_mute, self.say))
        parts.update(upload=upload, mute=mute)
        # In: the microphone, a WAV, mute. Out: the model's voice, and the fixtures.
        row = {"align_items": "center", "flex_flow": "row wrap", "width": "100%"}
        audio = w.HBox([microphone, upload, mute], layout=w.Layout(**row))
        parts["speaker"].layout = w.Layout(flex="0 1 220px", width="auto", min_width="150px")
        parts["fixtures"].layout = w.Layout(flex="1 1 auto", width="auto", min_width="0")
        output = w.HBox([parts["speaker"], parts["fixtures"]], layout=w.Layout(**row))
        titled = [
            w.VBox(
                [w.HTML(f"<b style='{LABEL}'>{title}</b>"), parts[name]],
                layout=w.Layout(flex="1 1 0", min_width="0", margin=margin),
            )
            for name, title, margin in (
                ("you", "You (input transcript)", "0"),
                ("model", "Model (output transcript)", "0 0 0 6px"),
            )
        ]
        columns = w.HBox(titled, layout=w.Layout(width="100%"))
        columns.add_class("rw-live-transcripts")
        rows = [
            self.status,
            self.meters,
            audio,
            output,
            parts["waveform"],
            columns,
            parts["steering"],
            parts["delegations"],
            w.HTML(f"<b style='{LABEL}'>Events</b>"),
            parts["events"],
        ]
        return parts, rows

    def _listen_more(self, session: LiveSession) -> list[Callable[[], None]]:
        return [
            session.on("session.started", self._on_session),
            session.on("session.input_audio.muted", self._on_mute),
            session.on("session.input_audio.unmuted", self._on_mute),
            session.on("session.input_transcript.delta", self._on_user_words),
            session.on("session.usage.updated", self._on_meters),
            session.on("session.closed", self._on_closed),
            session.on("info", self._on_info),
            session.add_output_audio_tap(self._on_model_audio),
        ]

    # ---- settings -----------------------------------------------------------------------------

    def _submit_update(self, session: LiveSession, config: LiveConfig) -> None:
        """Once started, what changed (delegation, triggers) goes out at once as
        ``session.update`` (before, the next session.start carries it)."""
        submit(session, self._send_update(session, config), "session.update", self.say)

    async def _send_update(self, session: LiveSession, config: LiveConfig) -> None:
        """``session.update`` with the diff (on the session loop); a refusal goes on the
        control the server (or the local check) names."""
        try:
            await session.aapply(config)
        except ServerError as exc:
            self._say_on(exc.config_field, exc.message)
        except ConfigError as exc:
            self._say_on(exc.field, str(exc))

    def _locks(self) -> dict[str, str]:
        """Field -> why it cannot be set now: the start-only fields while a session is
        started, the WebRTC/SIP-only ones always (this console's session is a WebSocket)."""
        session = self.session
        live = session is not None and session.connected and session.started
        return {**self._media_reasons, **self.requested.locked_fields(live=live)}

    def _lock_note(self, name: str, control: FieldControl, reason: str) -> None:
        """In short under the control, whole in its tooltip."""
        short = MEDIA_NOTE if name in self._media_reasons else START_NOTE
        control.note(
            f"<div class='rw-lock' title='{html.escape(reason, quote=True)}' "
            "style='color:#888;font-size:11px;line-height:1.3;white-space:normal;"
            f"cursor:help'>{html.escape(short)}</div>"
        )

    def _refresh_locks(self) -> None:
        super()._refresh_locks()
        connected = self.session is not None and self.session.connected
        self.end_button.layout.display = None if connected else "none"

    @property
    def locked(self) -> dict[str, str]:
        """The controls locked now, with the reason each shows."""
        return {n: c.reason for n, c in self.controls.items() if c.reason is not None}

    # ---- what the session reports -------------------------------------------------------------

    def _on_session(self, event: ServerEvent | None) -> None:
        """session.started / updated (and once bound): the status line, the locks."""
        session = self.session
        config = (session.effective if session is not None else None) or self.requested
        voice = config.voice if isinstance(config.voice, str) else config.voice.id
        fmt = config.audio_format
        delegation = config.delegation.type if config.delegation is not None else "client"
        sid = session.session_id if session is not None else None
        self.status.value = (
            f"<span class='rw-live-status-line' style='font-size:12px;color:#444'>"
            f"<b>{html.escape(config.model)}</b> &middot; voice {html.escape(voice)} &middot; "
            f"{html.escape(fmt.type)} {fmt.rate // 1000} kHz &middot; delegation "
            f"{html.escape(delegation)}"
            + (f" &middot; {html.escape(sid)}" if sid else "")
            + "</span>"
        )
        self._refresh_locks()

    def _on_meters(self, event: ServerEvent | None = None) -> None:
        self.meters.show(self.session)

    def _on_closed(self, event: ServerEvent) -> None:
        closed = self.session.state.closed if self.session is not None else None
        if closed is not None:
            self.connection.say(
                f"session.closed ({closed.reason}): {closed.seconds:g} s billed; "
                "Connect starts a new session"
            )
        self.meters.show(self.session)

    def _on_reconnecting(self, event: ServerEvent) -> None:
        """The connection dropped and the session reopens it: said at once, each attempt (the
        settings stay locked: the new server session gets the same session.start)."""
        super()._on_reconnecting(event)
        self.meters.show(self.session)

    def _on_reconnected(self, event: ServerEvent) -> None:
        """A new server session replaced the lost one (GPT-Live has no resumption): said on
        the status line, and above the console what went with the old one (its context, the
        delegations nobody can answer now)."""
        new = getattr(event, "session_id", None) or "?"
        old = getattr(event, "lost_session_id", None) or "the lost session"
        lost = list(getattr(event, "lost_delegation_ids", None) or [])
        self.connection.say(
            f"reconnected (attempt {getattr(event, 'attempt', '?')}): new server session {new}, "
            "session.start sent again with the same settings"
        )
        said = f"new server session {new} after a lost connection: the context of {old} is gone"
        if lost:
            said += f", and its delegation{'s' if len(lost) > 1 else ''} {', '.join(lost)}"
            said += " can no longer be answered"
        self._notice(f"reconnected:{new}", AMBER, said + " (GPT-Live has no resumption)")
        self._on_session(None)
        self.meters.show(self.session)

    def _on_disconnected(self, event: ServerEvent) -> None:
        """The connection is gone for good: said at once, in red (unless the server closed
        the session, which session.closed said), and the start-only settings unlock."""
        session = self.session
        if session is None or session.state.closed is None:
            cause = getattr(event, "message", None) or "the connection closed"
            self.connection.say(
                f"connection lost: {cause}; Connect starts a new session", error=True
            )
        # (an earlier reconnect's news is over: no server session goes on)
        for key in [k for k in self._notices if k.startswith("reconnected:")]:
            del self._notices[key]
        self._show_notices()
        self._refresh_locks()
        self.meters.show(session)

    def _on_error(self, event: ServerEvent) -> None:
        """An ``error``: above the console, linked to the client event that caused it, and on
        the control its ``param`` names."""
        if not isinstance(event, le.ErrorEvent) or self.session is None:
            return
        err = event.error
        cid = err.client_event_id or event.client_event_id
        sent = self.session.state.sent_event(cid)
        what = f"{sent.type} refused" if sent is not None else f"error ({err.code})"
        self._notice(f"error:{err.code}:{cid}", RED, f"{what}: {err.message}")
        self._say_on(LiveConfig.field_for_param(err.param), err.message)

    def _on_info(self, event: ServerEvent) -> None:
        if isinstance(event, le.InfoEvent):
            self._notice(f"info:{event.code}", AMBER, event.message)

    def _notice_row(self, key: str, colour: str, message: str) -> str:
        return (
            f"<div class='rw-notice-row' style='color:{colour};margin:1px 0'>&#9888; "
            f"{html.escape(message)}</div>"
        )

    # ---- mute -----------------------------------------------------------------------------------

    def _toggle_mute(self) -> None:
        session = self.session
        if session is None or not session.connected:
            raise RealtimeWidgetsError("no session: connect first")
        if session.state.muted:
            submit(session, session.aunmute(), "session.input_audio.unmute", self.say)
        else:
            submit(session, session.amute(), "session.input_audio.mute", self.say)

    def _on_mute(self, event: ServerEvent) -> None:
        muted = self.session is not None and self.session.state.muted
        button = self.parts.get("mute")
        if isinstance(button, w.Button):
            button.description = "Unmute input" if muted else "Mute input"
            button.icon = "microphone" if muted else "microphone-slash"
            button.button_style = "warning" if muted else ""
        self.meters.show(self.session)

    # ---- turns on the waveform, barge-in, latency ----------------------------------------------

    def _clock_ms(self, position_ms: int) -> float | None:
        """Where a position of the session timeline (the input audio's) sits on the waveform's
        clock (ms), or None before any audio was sent."""
        session = self.session
        when = session.metrics.clock.when(position_ms) if session is not None else None
        return None if when is None else when * 1000

    def _on_user_words(self, event: ServerEvent) -> None:
        """The person's words: a new turn of theirs goes on the waveform ("you", where it
        began), and words that began while the model was speaking are a barge-in."""
        session, waveform = self.session, self.parts.get("waveform")
        if session is None or not isinstance(waveform, Waveform):
            return
        turn = next((t for t in reversed(session.state.transcript.turns) if t.role == "user"), None)
        if turn is None:
            return
        if turn.n not in self._user_turns:
            self._user_turns.add(turn.n)
            start = self._clock_ms(turn.start_ms)
            if start is not None:
                waveform.marker("speech_started", start, "you", "you")
        # Each delta, not each turn: speech that goes on over the model's answer joins the
        # person's turn (nothing of the model's lies between), yet it cut the model.
        began = getattr(event, "start_ms", turn.start_ms)
        at = self._clock_ms(began)
        cut = self._spoken_over(turn.session, began, at)
        if cut is not None and at is not None:
            self._barge_in(cut, at)
        self.meters.show(session)

    def _spoken_over(
        self, session_n: int, began: int, at: float | None
    ) -> LiveTurn | LiveTurnStream | None:
        """What the person's words beginning at ``began`` (session timeline, ms; ``at`` on
        the waveform's clock) spoke over: the model's last turn when they began inside it (its
        transcript's span: both sides' positions are the server's), or, with no transcript of
        the model's, its audio as played here; None when it was not speaking."""
        session = self.session
        assert session is not None
        model = [
            t
            for t in session.state.transcript.turns
            if t.role == "assistant" and t.session == session_n and t.start_ms <= began
        ]
        if model:
            last = model[-1]
            inside = began < last.end_ms - BARGE_IN_MARGIN_MS
            return last if inside and last.n not in self._cut else None
        stream = self._streams[-1] if self._streams else None
        span = session.timeline.item_span(stream) if stream is not None else None
        if span is None or at is None or stream in self._cut_streams:
            return None
        return stream if span[0] < at < span[1] - BARGE_IN_MARGIN_MS else None

    def _barge_in(self, cut: LiveTurn | LiveTurnStream, at: float) -> None:
        """The person spoke over the model: mark it, stop what the page still plays, and say
        on the model's row (when it has one) that it was cut."""
        self.parts["waveform"].marker("truncated", at, "barge-in", "barge-in")
        speaker = self.parts["speaker"]
        if any(speaker.played.get(k, 0) < n for k, n in speaker.received.items()):
            speaker.flush()
        if isinstance(cut, str):
            self._cut_streams.add(cut)
            return
        self._cut.add(cut.n)
        self.parts["model"].note(cut, CUT_NOTE)

    def _on_model_audio(self, stream: str, samples: Any) -> None:
        """The model's audio (the session loop, after the timeline placed it): its first audio
        of a turn goes on the waveform, after the end of your speech it answers, with the
        latency between them (what the meters count)."""
        if self._streams and self._streams[-1] == stream:
            return
        session, waveform = self.session, self.parts.get("waveform")
        self._streams.append(stream)
        span = session.timeline.item_span(stream) if session is not None else None
        if span is None or not isinstance(waveform, Waveform) or session is None:
            return
        timings = session.metrics.turns
        latency = None
        if timings and timings[-1].turn.n not in self._labelled:  # (its first answer only)
            timing = timings[-1]
            latency = timing.latency_ms
            if latency is not None and timing.speech_end is not None:
                self._labelled.add(timing.turn.n)
                waveform.marker("speech_stopped", timing.speech_end * 1000, "end of speech", "end")
        label = "model" if latency is None else f"model +{latency:.0f} ms"
        waveform.marker("response_start", span[0], label, "model")
        self.meters.show(session)

    # ---- closing --------------------------------------------------------------------------------

    def close_session(self) -> None:
        """Close the session and its parts (the settings stay, unlocked)."""
        super().close_session()
        self.meters.show(None)

    def _close_own(self) -> None:
        self.meters.close()
