"""LiveSession: a GPT-Live session (``client.live``) from a notebook cell or async code.

GPT-Live is OpenAI's full-duplex speech API beside Realtime: the model owns turn-taking and
barge-in, the context is append-only, and a session is billed by the minute. A client starts
it, streams audio both ways and steers the context::

    session = LiveSession(LiveConfig(model="gpt-live-1.1", voice="cedar",
                                     audio_format={"type": "audio/pcm", "rate": 16000}))
    session.connect()                            # session.start -> returns on session.started
    session.stream_audio(chunk, rate=48000)      # a microphone, in the session's format
    session.append_thinking("The order shipped today.")        # silent context
    for d in session.state.pending_delegations():               # delegation to the client
        session.answer_delegation(d.id, "It ships Tuesday.")    # spoken, the SDK's way
    session.state.transcript.ordered()           # both sides' turns, by position
    session.metrics.latencies_ms()               # end of speech -> the model's first audio
    session.cost                                 # dollars from the billed seconds
    session.close_session()                      # session.close -> session.closed
    session.close()

Every client event of the SDK's Live union is a method, each an ``a``-prefixed coroutine with
its blocking twin, and each (but the audio) returns the ``event_id`` it sent, which an error
names when it answers it (``state.errors_for(event_id)``):

=================================  ==============================================================
``session.start``                  :meth:`connect` / :meth:`start` (from ``requested``)
``session.update``                 :meth:`update` / :meth:`apply` (delegation and triggers only:
                                   a start-only field raises ConfigError naming it, once started)
``session.input_audio.append``     :meth:`append_audio`, :meth:`stream_audio` (any rate, sent in
                                   the session's ``audio_format``)
``session.input_audio.mute`` ...   :meth:`mute`, :meth:`unmute`
``session.output_audio.fixture.    :meth:`play_fixture` (at most 30 s, sent as 24 kHz PCM16)
play``
``session.*.append``               :meth:`append_instructions`, :meth:`append_thinking`,
                                   :meth:`append_commentary`, :meth:`answer_delegation`
``decision.*``                     :meth:`create_decision`, :meth:`create_decision_item`,
                                   :meth:`delete_decision_item`
``response.item.create`` ...       :meth:`create_response_item`, :meth:`create_response`
``session.close``                  :meth:`close_session` (waits for ``session.closed``)
=================================  ==============================================================

How it is put together, as :class:`~realtime_widgets.client.session.RealtimeSession` is: a
:class:`~realtime_widgets.client.transport.SessionTransport` (the socket, reconnect, the I/O
thread, waits, dispatch; through :class:`~realtime_widgets.client.facade.SessionFacade`, what
the session kinds share) around a core, here a
:class:`~realtime_widgets.client.live_core.LiveCore`; an
:class:`~realtime_widgets.client.audio_stream.AudioStream` for streamed audio; a
:class:`~realtime_widgets.audio.conversation.ConversationTimeline` fed on the I/O loop by the
session's own taps (``timeline``: both sides on the session clock, the model's audio per turn).

The URL is ``{base}/live/sessions`` with no query (:func:`live_endpoint`, as the SDK's
``client.live.connect()`` builds it): the model travels in ``session.start``.

Reconnect: GPT-Live has no resumption. After a dropped connection (``reconnect=True``, the
default) the session opens a new server session with the same ``session.start`` (the
requested config, updates included) and says so in ``session.reconnected``: the lost server
session's id, the delegations it can no longer answer, and that its context is gone. Usage
and cost add the lost session's last report to the new one's; the transcript starts a new
timeline (``LiveTurn.session``). A session the server closed (``session.closed``: expired,
content, ...) is not reopened: ``connected`` turns False, ``session.disconnected`` carries the
reason, and every wait fails with it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from realtime_widgets.audio.pcm import as_int16, bytes_to_int16, pcm16_to_base64
from realtime_widgets.audio.rate import MODEL_RATE
from realtime_widgets.audio.resample import to_model_rate
from realtime_widgets.client.auth import Endpoint
from realtime_widgets.client.core import MAX_FRAME_BYTES
from realtime_widgets.client.facade import SessionFacade
from realtime_widgets.client.live_core import LiveCore
from realtime_widgets.client.live_cost import (
    LIVE_PRICES,
    DurationUsage,
    LiveCost,
    LivePrice,
    live_cost,
)
from realtime_widgets.client.live_metrics import LiveMetrics
from realtime_widgets.client.live_state import LiveClosed, LiveState
from realtime_widgets.client.loop import blocking, on_loop
from realtime_widgets.client.session import default_endpoint
from realtime_widgets.errors import ConfigError
from realtime_widgets.protocol import live_events as le
from realtime_widgets.protocol.events import ServerEvent
from realtime_widgets.protocol.live_config import LiveConfig

__all__ = ["MAX_FIXTURE_S", "LiveSession", "live_endpoint"]

MAX_FIXTURE_S = 30.0  # "at most 30 seconds" (output_audio_fixture_play_event.py)


def live_endpoint(endpoint: Endpoint) -> Endpoint:
    """The same server and credentials, for GPT-Live: ``{base}/live/sessions`` with no query,
    where ``base`` is the endpoint's URL without its query and its ``/realtime`` (the SDK's
    ``client.live.connect()`` appends ``/live/sessions`` to its WebSocket base URL)."""
    base = endpoint.url.partition("?")[0].rstrip("/")
    for tail in ("/live/sessions", "/realtime"):
        if base.endswith(tail):
            base = base[: -len(tail)]
            break
    return Endpoint(
        f"{base}/live/sessions",
        endpoint.secret,
        header=endpoint.header,
        beta=False,
        kind=endpoint.kind,
    )


class LiveSession(SessionFacade[LiveConfig]):
    """A GPT-Live session over WebSocket (see the module docstring).

    ``endpoint``: where to connect, made a Live endpoint with :func:`live_endpoint` (None:
    OpenAI with ``api_key`` or ``OPENAI_API_KEY``, else the process's embedded local server).
    ``prices``: the duration price table (:data:`~realtime_widgets.client.live_cost.
    LIVE_PRICES` by default)."""

    def __init__(
        self,
        config: LiveConfig | None = None,
        *,
        endpoint: Endpoint | None = None,
        api_key: str | None = None,
        reconnect: bool = True,
        max_reconnects: int = 10,
        record: str | Path | None = None,
        timeout: float = 20.0,
        prices: Mapping[str, LivePrice] | None = None,
        max_frame_bytes: int = MAX_FRAME_BYTES,
    ) -> None:
        core = LiveCore(config, max_frame_bytes=max_frame_bytes)
        super().__init__(
            core,
            live_endpoint(default_endpoint(endpoint, api_key, core.live_requested.model)),
            reconnect=reconnect,
            max_reconnects=max_reconnects,
            record=record,
            timeout=timeout,
        )
        self.core: LiveCore = core
        self.prices: Mapping[str, LivePrice] = LIVE_PRICES if prices is None else prices
        # Both sides on the session clock, fed on the I/O loop by the session's own taps,
        # registered first: every later listener (a Waveform) finds it up to date.
        self.timeline = self._start_timeline()

    _REPR_NAME = "LiveSession"

    # ---- what the core knows ------------------------------------------------------------------

    @property
    def requested(self) -> LiveConfig:
        """The configuration we asked for (``session.start`` sends it; updates diff from it)."""
        return self.core.live_requested

    @property
    def effective(self) -> LiveConfig | None:
        """The configuration the server last reported (session.started / updated)."""
        return self.core.live_effective

    @property
    def started(self) -> bool:
        """Whether the server answered this connection's ``session.start``."""
        return self.core.started

    @property
    def state(self) -> LiveState:
        """Transcripts by position, usage, mute and fixture, delegations, errors, ..."""
        return self.core.live

    @property
    def metrics(self) -> LiveMetrics:
        """Per turn: end of the person's speech to the model's first audio."""
        return self.core.live_metrics

    @property
    def usage(self) -> DurationUsage:
        """Billed seconds (cumulative reports, never summed; all server sessions)."""
        return self.core.live.usage

    @property
    def cost_report(self) -> LiveCost:
        """The cost meter's answer: dollars (or None: unknown, and why), its parts, the price
        and its source, what is not counted."""
        model = self.effective.model if self.effective is not None else self.requested.model
        return live_cost(self.usage, model, self.prices)

    @property
    def cost(self) -> float | None:
        """Dollars so far from the billed seconds (None: unknown; :attr:`cost_report` says
        why). Backend Responses tokens are billed apart and not counted."""
        return self.cost_report.dollars

    # ---- session.start ------------------------------------------------------------------------

    def start(self, timeout: float | None = None) -> LiveSession:
        """Send ``session.start`` (the requested config) and return on ``session.started``:
        the same as :meth:`connect`."""
        return self.connect(timeout)

    async def astart(self) -> LiveSession:
        """:meth:`start` from async code (the same as :meth:`aconnect`)."""
        return await self.aconnect()

    # ---- session.update -----------------------------------------------------------------------

    async def aupdate(self, changes: dict[str, Any] | None = None, /, **kw: Any) -> LiveConfig:
        """Change settings (dotted paths allowed); returns the effective config. Once started,
        only ``delegation`` and ``triggers`` change: any other field raises ConfigError naming
        it, before anything is sent; a server's refusal raises ServerError naming our field
        (``config_field``). Not connected: the changes are what the next start sends."""
        return await self.aapply(self.requested.with_changes({**(changes or {}), **kw}))

    def update(self, changes: dict[str, Any] | None = None, /, **kw: Any) -> LiveConfig:
        """Change settings and wait for the effective config (see :meth:`aupdate`)."""
        return self.apply(self.requested.with_changes({**(changes or {}), **kw}))

    @on_loop
    async def aapply(self, config: LiveConfig) -> LiveConfig:
        """Make ``config`` the session's configuration (``session.update`` with the diff)."""
        if not isinstance(config, LiveConfig):
            raise ConfigError.single(
                "config", f"a GPT-Live session needs a LiveConfig, got {type(config).__name__}"
            )
        if not self.connected:
            self.core.live_requested = config
            return config
        assert self._update_lock is not None
        async with self._update_lock:
            event = config.to_session_update(self.requested, event_id=self.core.event_id())
            if not event["session"]:
                self.core.live_requested = config
                return self.effective or config
            await self._ask(event, "session.updated")
            self.core.live_requested = config
            return self.effective or config

    def apply(self, config: LiveConfig) -> LiveConfig:
        """Make ``config`` the session's configuration and wait for the effective one (see
        :meth:`aapply`; the server's answer is waited for the session's ``timeout``)."""
        return self._block(self.aapply(config), self.timeout + 1)

    # ---- session.input_audio.* ----------------------------------------------------------------

    # (``append_audio`` and ``stream_audio`` are SessionFacade's: in the ``audio_format``)

    @on_loop
    async def amute(self) -> str:
        """``session.input_audio.mute``: the model stops hearing the input, the session goes
        on (``state.muted`` turns True on the server's ``session.input_audio.muted``)."""
        return await self._command({"type": "session.input_audio.mute"})

    mute = blocking(amute)

    @on_loop
    async def aunmute(self) -> str:
        """``session.input_audio.unmute`` (``session.input_audio.unmuted`` answers)."""
        return await self._command({"type": "session.input_audio.unmute"})

    unmute = blocking(aunmute)

    @on_loop
    async def aplay_fixture(self, samples: npt.ArrayLike | bytes, rate: int = MODEL_RATE) -> str:
        """``session.output_audio.fixture.play``: play this audio (int16 or float samples, or
        PCM16 bytes, at ``rate``) through the session's output, as the model's speech would
        be; input is muted while it plays. Sent as 24 kHz PCM16 whatever the session's format
        (as the SDK requires), at most 30 s (ConfigError naming ``audio`` beyond)."""
        audio = _fixture(samples, rate)
        return await self._command(
            {"type": "session.output_audio.fixture.play", "audio": pcm16_to_base64(audio)}
        )

    play_fixture = blocking(aplay_fixture)

    # ---- session.*.append -----------------------------------------------------------------------

    @on_loop
    async def aappend_instructions(self, content: str, *, delegation_id: str | None = None) -> str:
        """``session.instructions.append``: add instructions to the context (append-only)."""
        return await self._append("session.instructions.append", content, delegation_id)

    append_instructions = blocking(aappend_instructions)

    @on_loop
    async def aappend_thinking(self, content: str, *, delegation_id: str | None = None) -> str:
        """``session.thinking.append``: silent context the model may use (<= 500 tokens)."""
        return await self._append("session.thinking.append", content, delegation_id)

    append_thinking = blocking(aappend_thinking)

    @on_loop
    async def aappend_commentary(self, content: str, *, delegation_id: str | None = None) -> str:
        """``session.commentary.append``: something for the model to say (<= 500 tokens)."""
        return await self._append("session.commentary.append", content, delegation_id)

    append_commentary = blocking(aappend_commentary)

    @on_loop
    async def aanswer_delegation(
        self, delegation_id: str, content: str, *, spoken: bool = True
    ) -> str:
        """Answer a client delegation (``state.pending_delegations()``) the SDK's way: its
        result as ``session.commentary.append`` (``spoken``: the model says it) or
        ``session.thinking.append`` (silent), with its ``delegation_id``. The delegation is
        ``answered`` at once and ``accepted`` when the server's ``*.appended`` names this
        event (``refused`` if an error does). A delegation lost with its server session, or
        one a backend handles, raises ConfigError naming ``delegation_id``."""
        known = self.state.delegations.get(delegation_id)
        if known is not None and known.status == "lost":
            raise ConfigError.single(
                "delegation_id",
                f"delegation {delegation_id!r} was lost with its server session "
                f"({known.session}): a new session cannot answer it",
                param="delegation_id",
            )
        if known is not None and known.target != "client":
            raise ConfigError.single(
                "delegation_id",
                f"delegation {delegation_id!r} is handled by the {known.target} backend; only "
                "client delegations are answered by the client",
                param="delegation_id",
                allowed="the id of a delegation with target 'client'",
            )
        kind = "session.commentary.append" if spoken else "session.thinking.append"
        return await self._append(kind, content, delegation_id)

    answer_delegation = blocking(aanswer_delegation)

    async def _append(self, kind: str, content: str, delegation_id: str | None) -> str:
        return await self._command(
            {"type": kind, "content": content, "delegation_id": delegation_id}
        )

    # ---- decision.* and response.* ----------------------------------------------------------

    @on_loop
    async def acreate_decision(self) -> str:
        """``decision.create``: evaluate the session's Decisions questions now (its
        ``decision.event`` lands in ``state.decisions``)."""
        return await self._command({"type": "decision.create"})

    create_decision = blocking(acreate_decision)

    @on_loop
    async def acreate_decision_item(self, item: Mapping[str, Any]) -> str:
        """``decision.item.create``: add a Decision item (a message or a tool record) to the
        context the questions see (``state.decision_items`` once created)."""
        return await self._command({"type": "decision.item.create", "item": dict(item)})

    create_decision_item = blocking(acreate_decision_item)

    @on_loop
    async def adelete_decision_item(self, item_id: str) -> str:
        """``decision.item.delete``: remove a Decision item."""
        return await self._command({"type": "decision.item.delete", "item_id": item_id})

    delete_decision_item = blocking(adelete_decision_item)

    @on_loop
    async def acreate_response_item(self, item: Mapping[str, Any]) -> str:
        """``response.item.create``: add a Responses input item (a tool's output, a message)
        to the Responses backend of a ``responses`` delegation."""
        return await self._command({"type": "response.item.create", "item": dict(item)})

    create_response_item = blocking(acreate_response_item)

    @on_loop
    async def acreate_response(self) -> str:
        """``response.create``: ask the Responses backend to respond (after
        ``response.item.create``); its stream arrives as ``response.event``."""
        return await self._command({"type": "response.create"})

    create_response = blocking(acreate_response)

    # ---- session.close ----------------------------------------------------------------------

    @on_loop
    async def aclose_session(self, timeout: float | None = None) -> LiveClosed:
        """``session.close``: streamed audio (and what the resamplers hold) goes first; waits
        up to ``timeout`` s (the session's by default) for ``session.closed`` and returns it
        (the reason, the final usage). The server then ends the connection (not reopened);
        :meth:`close` releases the session."""
        event_id, mark = await self._send_after_audio({"type": "session.close"})
        await self._reply(event_id, "session.closed", mark, timeout)
        closed = self.state.closed
        assert closed is not None
        return closed

    def close_session(self, timeout: float | None = None) -> LiveClosed:
        """``session.close`` and wait for ``session.closed`` (see :meth:`aclose_session`)."""
        wait = self.timeout if timeout is None else timeout
        return self._block(self.aclose_session(timeout), self.timeout + wait + 1)

    # ---- sending and answers ----------------------------------------------------------------

    async def _command(self, event: dict[str, Any]) -> str:
        """Send ``event`` with a fresh ``event_id``; return the id."""
        event_id = self.core.event_id()
        await self._send({**event, "event_id": event_id})
        return event_id

    async def _ask(self, event: dict[str, Any], answer: str) -> ServerEvent:
        """Send ``event`` and wait for ``answer`` (or the error that names the event)."""
        mark = self.mark()
        await self._send(event)
        return await self._reply(str(event["event_id"]), answer, mark, None)

    async def _reply(
        self, event_id: str, answer: str, mark: int, timeout: float | None
    ) -> ServerEvent:
        wait = self.timeout if timeout is None else timeout
        try:
            reply = await self.await_event(
                "*", wait, predicate=_answers(event_id, answer), since=mark
            )
        except TimeoutError:
            raise TimeoutError(
                f"no {answer} (nor an error) for {event_id} within {wait} s"
            ) from None
        if isinstance(reply, le.ErrorEvent):
            raise self.core.server_error(reply)
        return reply


def _answers(event_id: str, answer: str) -> Callable[[ServerEvent], bool]:
    """Whether an event answers our ``event_id``: ``answer`` (naming it, or naming nothing),
    or an error that names it."""

    def answers(event: ServerEvent) -> bool:
        if isinstance(event, le.ErrorEvent):
            return event.error.client_event_id == event_id or event.client_event_id == event_id
        if event.type != answer or not isinstance(event, le.LiveServerEvent):
            return False
        return getattr(event, "client_event_id", None) in (None, event_id)

    return answers


def _fixture(samples: npt.ArrayLike | bytes, rate: int) -> npt.NDArray[np.int16]:
    """Fixture audio as 24 kHz int16, at most :data:`MAX_FIXTURE_S` (ConfigError beyond)."""
    x = (
        bytes_to_int16(samples)
        if isinstance(samples, bytes | bytearray | memoryview)
        else as_int16(samples)
    )
    audio = to_model_rate(x, rate)
    seconds = len(audio) / MODEL_RATE
    if not len(audio) or seconds > MAX_FIXTURE_S:
        raise ConfigError.single(
            "audio",
            f"a fixture is 24 kHz PCM16 audio of at most {MAX_FIXTURE_S:g} s, got {seconds:.2f} s",
            param="audio",
            allowed=f"more than 0 and at most {MAX_FIXTURE_S:g} s of audio",
        )
    return audio
