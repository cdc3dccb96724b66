"""Where a widget's state lives: on its session's I/O loop, one thread, no locks.

The session's listeners and audio taps run on its I/O loop (after the core has applied each
event: :mod:`~realtime_widgets.client.dispatch`). The browser's messages and trait changes
arrive on the kernel's thread. So a widget keeps one rule: **its state is touched on the session
loop only**. What arrives on another thread hops there (:func:`on_session_loop`); what another
thread reads is read there (:func:`read_on_session_loop`). Without a session, or while the
session has no loop (not yet used, or closed), the caller's thread is the only one that can
touch the widget, and the call runs at once.

:class:`BrowserMessages` is the browser-message plumbing the Microphone, Speaker, Waveform and
TranscriptView share: each message is stamped with its arrival (kernel monotonic time), then
handed, on the session loop, to the message listeners (the LatencyProbe) and to the widget's
``handle_browser``.

The shared widgets (Microphone, Speaker, Waveform, EventLog) take any :data:`AnySession`: a
Realtime session (transcription sessions included), a translation session or a GPT-Live
session; all have the same transport
(:class:`~realtime_widgets.client.transport.SessionTransport`: the loop, listeners, taps),
which is all the rule above needs.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections.abc import Callable
from typing import Any, TypeAlias, TypeVar

from realtime_widgets.client.live import LiveSession
from realtime_widgets.client.session import RealtimeSession
from realtime_widgets.client.translation import TranslationSession

__all__ = [
    "AnySession",
    "BrowserMessages",
    "MessageListener",
    "on_session_loop",
    "read_on_session_loop",
]

# The sessions the shared widgets take (module docstring).
AnySession: TypeAlias = RealtimeSession | TranslationSession | LiveSession

T = TypeVar("T")
# content, buffers, kernel monotonic time the message arrived
MessageListener = Callable[[dict[str, Any], list[bytes], float], None]


def _elsewhere(session: AnySession | None) -> bool:
    """Whether the session has a loop running on another thread than the caller's."""
    thread = session.loop_thread if session is not None else None
    return thread is not None and thread is not threading.current_thread()


def on_session_loop(session: AnySession | None, fn: Callable[..., Any], *args: Any) -> None:
    """Run ``fn(*args)`` where the widget's state lives: on the session's I/O loop, in order
    with its listeners; at once when already there or when there is no loop (module
    docstring)."""
    if not _elsewhere(session):
        fn(*args)
        return
    assert session is not None
    try:
        session.call_soon(fn, *args)
    except RuntimeError:  # the loop closed between the check and the call: nobody else runs
        fn(*args)


def read_on_session_loop(
    session: AnySession | None, fn: Callable[[], T], timeout: float = 10.0
) -> T:
    """``fn()`` run on the session's I/O loop and waited for (at once when already there or
    when there is no loop): how another thread reads a widget's state whole (as
    :meth:`RealtimeSession.read_on_loop` reads the session's own)."""
    if not _elsewhere(session):
        return fn()
    assert session is not None
    result: concurrent.futures.Future[T] = concurrent.futures.Future()

    def run() -> None:
        if not result.set_running_or_notify_cancel():
            return
        try:
            result.set_result(fn())
        except BaseException as exc:  # handed to the reader, as it would have raised there
            result.set_exception(exc)

    try:
        session.call_soon(run)
    except RuntimeError:  # the loop closed between the check and the call: nobody else runs
        return fn()
    return result.result(timeout)


class BrowserMessages:
    """Mixin (before the anywidget base class) for a widget whose browser messages touch its
    state: call :meth:`_receive_browser_messages` in ``__init__``, override
    :meth:`handle_browser`. ``session`` (None: no session) says where the state lives."""

    session: AnySession | None
    _message_listeners: list[MessageListener]

    def _receive_browser_messages(self) -> None:
        self._message_listeners = []
        widget: Any = self
        widget.on_msg(self._on_browser)

    def add_message_listener(self, listener: MessageListener) -> None:
        """Also give every browser message (content, buffers, kernel monotonic time of arrival)
        to ``listener``, on the session loop, before the widget handles it (the LatencyProbe
        uses this)."""
        self._message_listeners.append(listener)

    def _on_browser(self, widget: Any, content: dict[str, Any], buffers: list[bytes]) -> None:
        """ipywidgets' ``on_msg`` callback (the kernel's thread): stamp, then hop."""
        received = time.monotonic()
        on_session_loop(self.session, self._browser_message, content, buffers, received)

    def _browser_message(
        self, content: dict[str, Any], buffers: list[bytes], received: float
    ) -> None:
        for listener in list(self._message_listeners):
            listener(content, buffers, received)
        self.handle_browser(content, buffers, received)

    def handle_browser(
        self, content: dict[str, Any], buffers: list[bytes], received: float
    ) -> None:
        """One message from the page, on the session loop (override)."""
