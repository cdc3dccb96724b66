"""The parts of the LivePlayground that act on a GPT-Live session: steering, fixtures,
delegations.

- :class:`SteeringBox`: a text box sent as ``session.commentary.append`` (the model says it),
  ``session.thinking.append`` (silent context) or ``session.instructions.append``; its status
  says when the server took it (``session.*.appended``) or why it refused it.
- :class:`FixtureBar`: ``session.output_audio.fixture.play`` from a WAV upload or a clip
  recorded from the :class:`~.microphone.Microphone` (at most 30 s: a longer one is refused
  here, with why); its status follows ``fixture.playing`` / ``fixture.played``.
- :class:`DelegationsBox`: the tasks the model handed to the client
  (``session.delegation.created``), newest first, with what the person had said before each
  (the event carries no task text), its status, and a box to answer each that still needs an
  answer: spoken (``session.commentary.append``) or silent (``session.thinking.append``), with
  its ``delegation_id``, the SDK's way. A delegation of a server session that ended (a lost
  connection: a reconnect starts a new server session that does not know it) is shown lost,
  with no box.

Each is made for one session and keeps its state on that session's I/O loop (docs/
architecture.md "The widgets"): its listeners run there, and its clicks hop there
(:func:`act`), as do their public methods (:meth:`SteeringBox.append`, :meth:`FixtureBar.play`,
:meth:`DelegationsBox.answer`: callable from a notebook cell); a failure is said on its own
status line, never raised into the page.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Coroutine
from typing import Any

import ipywidgets as w
import numpy as np

from realtime_widgets.audio.pcm import Int16Array
from realtime_widgets.audio.rate import MODEL_RATE
from realtime_widgets.audio.wav import read_wav
from realtime_widgets.client.live import MAX_FIXTURE_S, LiveSession
from realtime_widgets.client.live_state import LiveDelegation
from realtime_widgets.errors import RealtimeWidgetsError
from realtime_widgets.protocol import live_events as le
from realtime_widgets.protocol.events import ServerEvent
from realtime_widgets.widgets.browser_messages import on_session_loop
from realtime_widgets.widgets.listening import Listening
from realtime_widgets.widgets.microphone import Microphone

__all__ = ["APPENDS", "DelegationsBox", "FixtureBar", "SteeringBox", "act", "submit"]

# The steering box's buttons: (label, client event, what it does).
APPENDS = (
    ("Say it", "session.commentary.append", "commentary: the model says it"),
    ("Think it", "session.thinking.append", "thinking: silent context the model may use"),
    ("Add instructions", "session.instructions.append", "instructions added to the context"),
)
RED, AMBER, GREEN, GREY = "#c0392b", "#8a5a00", "#1e8449", "#666"
LABEL = "font-size:12px;color:#444"
_AUTO = {"width": "auto", "flex": "0 0 auto"}
Say = Callable[[str, str], None]  # (colour, text) on a status line
# A delegation whose server session ended (closed, or its connection lost: a reconnect starts a
# new one, which does not know it).
LOST_NOTE = "its server session ended: it can no longer be answered"


def line(colour: str, text: str) -> str:
    """A status line's HTML: ``text`` escaped, in ``colour``."""
    return f"<span style='color:{colour};font-size:12px'>{html.escape(text)}</span>"


def act(session: LiveSession, fn: Callable[..., Any], say: Say, *args: Any) -> None:
    """Run ``fn(*args)`` on the session loop (a click arrives on the kernel's thread); a
    failure is said with ``say``, never raised into the page."""

    def run() -> None:
        try:
            fn(*args)
        except Exception as exc:
            say(RED, f"{type(exc).__name__}: {exc}")

    on_session_loop(session, run)


def submit(session: LiveSession, coro: Coroutine[Any, Any, Any], what: str, say: Say) -> None:
    """Run ``coro`` on the session loop; a failure is said with ``say`` (there)."""

    def done(future: Any) -> None:
        exc = None if future.cancelled() else future.exception()
        if exc is not None:
            said = f"{what}: {type(exc).__name__}: {exc}"
            on_session_loop(session, say, RED, said)

    session.submit(coro).add_done_callback(done)


def live(session: LiveSession) -> LiveSession:
    if not session.connected:
        raise RealtimeWidgetsError("the session is over: Connect starts a new one")
    return session


class _Part(Listening):
    """A part: its session listeners are removed when it closes, and it says what happened on
    its own status line (``self.status``)."""

    status: w.HTML

    def say(self, colour: str, text: str) -> None:
        self.status.value = line(colour, text)


# ---- steering the context -----------------------------------------------------------------------


class SteeringBox(_Part, w.VBox):  # type: ignore[misc]
    """The context's text box and its three appends (see the module docstring)."""

    def __init__(self, session: LiveSession) -> None:
        self.session = session
        self.text = w.Textarea(
            placeholder="Text for the model's context: say it, think it (silent) or add it to "
            "the instructions",
            layout=w.Layout(flex="1 1 auto", width="auto", height="46px", min_width="0"),
        )
        buttons = []
        for label, kind, what in APPENDS:
            button = w.Button(description=label, tooltip=f"{kind}: {what}", layout=_AUTO)
            button.on_click(lambda _, kind=kind: self.append(kind))
            buttons.append(button)
        self.buttons = w.VBox(buttons, layout=w.Layout(flex="0 0 auto"))
        self.status = w.HTML(layout=w.Layout(min_height="18px"))
        self._sent: dict[str, str] = {}  # event id -> the append it sent
        super().__init__(
            [w.HBox([self.text, self.buttons], layout=w.Layout(width="100%")), self.status],
            layout=w.Layout(width="100%"),
        )
        self.add_class("rw-live-steering")
        self._listen_to(
            session,
            {
                **dict.fromkeys(
                    (
                        "session.instructions.appended",
                        "session.thinking.appended",
                        "session.commentary.appended",
                    ),
                    self._taken,
                ),
                "error": self._refused,
            },
        )

    def append(self, kind: str, text: str | None = None) -> None:
        """Send ``text`` (None: what the box holds, which then empties) as ``kind``, one of
        :data:`APPENDS`' events (from any thread: it runs on the session loop)."""
        act(self.session, self._append, self.say, kind, text)

    def _append(self, kind: str, text: str | None) -> None:
        session = live(self.session)
        content = (str(self.text.value) if text is None else text).strip()
        if not content:
            self.say(RED, "nothing to send: type the text first")
            return
        send = {
            "session.commentary.append": session.aappend_commentary,
            "session.thinking.append": session.aappend_thinking,
            "session.instructions.append": session.aappend_instructions,
        }[kind]

        async def run() -> None:
            event_id = await send(content)
            self._sent[event_id] = kind
            self.say(GREY, f"{kind} sent ({event_id})")

        if text is None:
            self.text.value = ""
        submit(session, run(), kind, self.say)

    def _taken(self, event: ServerEvent) -> None:
        cid = getattr(event, "client_event_id", None)
        kind = self._sent.pop(cid, None) if isinstance(cid, str) else None
        if kind is not None:
            at = getattr(event, "start_ms", 0) / 1000
            self.say(GREEN, f"{kind}: taken into the context at {at:.1f} s")

    def _refused(self, event: ServerEvent) -> None:
        if isinstance(event, le.ErrorEvent):
            cid = event.error.client_event_id or event.client_event_id
            if cid in self._sent:
                self.say(RED, f"{self._sent.pop(cid)} refused: {event.error.message}")


# ---- fixtures ---------------------------------------------------------------------------------


class FixtureBar(_Part, w.HBox):  # type: ignore[misc]
    """Fixtures from a WAV upload or a recorded clip (see the module docstring)."""

    def __init__(self, session: LiveSession, microphone: Microphone) -> None:
        self.session = session
        self.upload = w.FileUpload(
            accept=".wav",
            description="Play fixture",
            layout=_AUTO,
            tooltip=f"session.output_audio.fixture.play: a WAV of at most {MAX_FIXTURE_S:g} s "
            "played as the model's output (your input is muted while it plays)",
        )
        self.upload.observe(lambda change: self._uploaded(change["new"]), "value")
        self.record = w.ToggleButton(
            description="Record clip",
            icon="circle",
            layout=_AUTO,
            tooltip=f"record up to {MAX_FIXTURE_S:g} s from the microphone as a fixture (the "
            "model hears it too unless the input is muted)",
        )
        self.record.observe(
            lambda change: act(session, self._record, self.say, bool(change["new"])), "value"
        )
        self.play_clip = w.Button(
            description="Play clip",
            icon="play",
            layout=_AUTO,
            disabled=True,
            tooltip="play the recorded clip as a fixture",
        )
        self.play_clip.on_click(lambda _: act(session, self._play_clip, self.say))
        self.status = w.HTML(layout=w.Layout(min_width="0"))
        self._clip: list[Int16Array] = []
        self._recording = False
        super().__init__(
            [self.upload, self.record, self.play_clip, self.status],
            layout=w.Layout(align_items="center", flex_flow="row wrap"),
        )
        self.add_class("rw-live-fixtures")
        self._listen_to(
            session,
            {
                "session.output_audio.fixture.playing": self._playing,
                "session.output_audio.fixture.played": self._played,
            },
        )
        microphone.add_tap(self._heard)  # (closed with the microphone)

    def play(self, samples: Int16Array, name: str = "fixture") -> None:
        """Play 24 kHz samples as a fixture (from any thread: it runs on the session loop);
        more than 30 s (or none) is refused here, with why, and nothing is sent."""
        act(self.session, self._play, self.say, samples, name)

    def _play(self, samples: Int16Array, name: str) -> None:
        session = live(self.session)
        seconds = len(samples) / MODEL_RATE
        if not len(samples) or seconds > MAX_FIXTURE_S:
            self.say(
                RED,
                f"{name}: {seconds:.1f} s; a fixture is more than 0 and at most "
                f"{MAX_FIXTURE_S:g} s (session.output_audio.fixture.play)",
            )
            return
        self.say(GREY, f"{name}: {seconds:.1f} s sent")
        submit(session, session.aplay_fixture(samples, MODEL_RATE), "fixture", self.say)

    def _uploaded(self, files: Any) -> None:
        for file in files or ():
            name = str(file.get("name") or "upload")
            try:
                samples, _ = read_wav(bytes(file["content"]), rate=MODEL_RATE)
            except Exception as exc:
                act(self.session, self.say, self.say, RED, f"{name}: not a WAV: {exc}")
                continue
            self.play(samples, name)

    def _record(self, on: bool) -> None:
        if on:
            self._clip, self._recording = [], True
            self.say(GREY, "recording a clip from the microphone...")
            return
        self._recording = False
        seconds = sum(len(c) for c in self._clip) / MODEL_RATE
        self.play_clip.disabled = not self._clip
        self.say(GREY, f"clip: {seconds:.1f} s recorded" if self._clip else "no clip")

    def _heard(self, samples: Int16Array) -> None:
        """A microphone chunk (24 kHz, on the session loop): kept while a clip records."""
        if not self._recording:
            return
        room = int(MAX_FIXTURE_S * MODEL_RATE) - sum(len(c) for c in self._clip)
        self._clip.append(samples[:room])
        if len(samples) >= room:  # 30 s: the clip is full
            self.record.value = False  # (its observer stops the recording)

    def _play_clip(self) -> None:
        if not self._clip:
            raise RealtimeWidgetsError("no clip recorded: press Record clip, speak, press again")
        self._play(np.concatenate(self._clip), "clip")

    def _playing(self, event: ServerEvent) -> None:
        self.say(GREEN, "fixture playing (your input is muted meanwhile)")

    def _played(self, event: ServerEvent) -> None:
        self.say(GREY, f"fixture played ({self.session.state.fixtures_played} so far)")


# ---- delegations --------------------------------------------------------------------------------


class DelegationsBox(_Part, w.VBox):  # type: ignore[misc]
    """The delegations and their answers (see the module docstring); hidden while there are
    none. ``shown``: how many of the latest are listed."""

    children: Any  # (the VBox's trait: its rows)

    def __init__(self, session: LiveSession, *, shown: int = 4) -> None:
        self.session = session
        self.shown = shown
        self.status = w.HTML()
        self._rows: dict[str, tuple[w.HBox, w.Text]] = {}  # delegation id -> its answer box
        super().__init__(layout=w.Layout(display="none", width="100%"))
        self.add_class("rw-live-delegations")
        self._listen_to(
            session,
            dict.fromkeys(
                (
                    "session.delegation.created",
                    "session.commentary.appended",
                    "session.thinking.appended",
                    "session.instructions.appended",
                    "error",
                    "session.closed",
                    # The connection lost (its delegations with it), reopened, or gone for good.
                    "session.reconnecting",
                    "session.reconnected",
                    "session.disconnected",
                ),
                self.refresh,
            ),
        )

    def _asked(self, d: LiveDelegation) -> str:
        """What the person said last before the model delegated (the task is not on the
        wire: ``session.delegation.created`` carries no text)."""
        said = [
            t
            for t in self.session.state.transcript.ordered()
            if t.role == "user" and t.session == d.session and t.start_ms <= d.offset_ms
        ]
        return said[-1].text.strip() if said else ""

    def refresh(self, event: ServerEvent | None = None) -> None:
        """List the latest delegations, newest first: each one's status, and a box for each
        that still needs an answer (kept while it does: what was typed stays)."""
        shown = list(self.session.state.delegations.values())[-self.shown :]
        waiting = {d.id for d in shown if d.needs_answer}
        for gone in set(self._rows) - waiting:
            self._rows.pop(gone)[0].close()
        old = [c for c in self.children if isinstance(c, w.HTML) and c is not self.status]
        rows: list[w.Widget] = [
            w.HTML(
                f"<b style='{LABEL}'>Delegations</b> <span style='color:{GREY};font-size:11px'>"
                "(the model handed these to you: answer each with its delegation_id)</span>"
            )
        ]
        for d in reversed(shown):
            asked = self._asked(d)
            about = f" after you said &ldquo;{html.escape(asked)}&rdquo;" if asked else ""
            answered = (
                f" &middot; answered &ldquo;{html.escape(d.answer)}&rdquo;" if d.answer else ""
            )
            error = f" &middot; {html.escape(d.error)}" if d.error else ""
            if d.status == "lost":
                error += f" &middot; {LOST_NOTE}"
            rows.append(
                w.HTML(
                    f"<span class='rw-delegation' data-id='{html.escape(d.id, quote=True)}' "
                    f"data-status='{d.status}' style='font-size:12px;color:"
                    f"{AMBER if d.needs_answer else GREY}'><b>{html.escape(d.id)}</b> at "
                    f"{d.offset_ms / 1000:.1f} s{about}: {html.escape(d.status)}{error}"
                    f"{answered}</span>"
                )
            )
            if d.needs_answer:
                rows.append(self._row(d)[0])
        self.children = [*rows, self.status]
        self.layout.display = None if shown else "none"
        for child in old:
            child.close()

    def _row(self, d: LiveDelegation) -> tuple[w.HBox, w.Text]:
        """A delegation's answer box (made once)."""
        if d.id in self._rows:
            return self._rows[d.id]
        text = w.Text(
            placeholder=f"your answer to {d.id}",
            layout=w.Layout(flex="1 1 auto", width="auto", min_width="0"),
        )
        spoken = w.Button(
            description="Answer (spoken)",
            layout=_AUTO,
            tooltip="session.commentary.append with its delegation_id: the model says it",
        )
        silent = w.Button(
            description="Answer (silent)",
            layout=_AUTO,
            tooltip="session.thinking.append with its delegation_id: silent context",
        )
        spoken.on_click(lambda _: self.answer(d.id))
        silent.on_click(lambda _: self.answer(d.id, spoken=False))
        row = w.HBox([text, spoken, silent], layout=w.Layout(width="100%"))
        row.add_class("rw-delegation-answer")
        self._rows[d.id] = (row, text)
        return row, text

    def answer(self, delegation_id: str, content: str | None = None, spoken: bool = True) -> None:
        """Answer a delegation (``content`` None: what its box holds) the SDK's way: an
        append with its ``delegation_id`` (commentary when ``spoken``, else thinking). From
        any thread: it runs on the session loop."""
        act(self.session, self._answer, self.say, delegation_id, content, spoken)

    def _answer(self, delegation_id: str, content: str | None, spoken: bool) -> None:
        session = live(self.session)
        known = self._rows.get(delegation_id)
        typed = str(known[1].value) if known is not None else ""
        text = (content if content is not None else typed).strip()
        if not text:
            self.say(RED, f"type an answer to {delegation_id} first")
            return

        async def run() -> None:
            await session.aanswer_delegation(delegation_id, text, spoken=spoken)
            self.say(GREY, f"answer to {delegation_id} sent")
            self.refresh()  # (answered: sent with its id)

        submit(session, run(), f"the answer to {delegation_id}", self.say)

    def close(self) -> None:
        for row, _ in self._rows.values():
            row.close()
        self._rows = {}
        super().close()
