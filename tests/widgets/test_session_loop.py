"""One rule for widgets: their state is touched on the session loop only. Browser messages
arrive on the kernel's thread and hop there; listeners already run there."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from realtime_widgets.client import Endpoint, RealtimeSession
from realtime_widgets.server.app import LocalServer
from realtime_widgets.widgets.mcp_approvals import McpApprovals
from realtime_widgets.widgets.microphone import Microphone
from realtime_widgets.widgets.speaker import Speaker
from tests.client.conftest import ThreadPeer
from tests.client.test_ga_methods import McpPeer
from tests.waiting import eventually
from tests.widgets.conftest import settled


def test_a_browser_message_takes_effect_on_the_session_loop_thread() -> None:
    server = LocalServer(pace=0, speech=False).start()
    s = RealtimeSession(endpoint=Endpoint.local(server.url, "m"))
    try:
        s.connect()
        speaker, mic = Speaker(s), Microphone(s)
        threads: dict[str, threading.Thread] = {}

        def seen(name: str) -> Any:
            return lambda content, buffers, received: threads.setdefault(
                name, threading.current_thread()
            )

        speaker.add_message_listener(seen("speaker"))
        mic.add_message_listener(seen("mic"))
        mic.add_tap(lambda x: threads.setdefault("tap", threading.current_thread()))
        kernel = threading.current_thread()
        speaker._on_browser(speaker, {"type": "played", "items": {"item_a": 480}}, [])
        mic._on_browser(mic, {"type": "audio", "seq": 1}, [np.zeros(960, "<i2").tobytes()])
        settled(s)
        assert s.loop_thread is not None
        assert s.loop_thread is not kernel
        assert threads == {"speaker": s.loop_thread, "mic": s.loop_thread, "tap": s.loop_thread}
        assert speaker.played == {"item_a": 480}
        assert mic.samples_received == 960
    finally:
        s.close()
        server.stop()


def test_without_a_running_loop_a_browser_message_is_handled_at_once() -> None:
    speaker = Speaker()  # no session: the caller's thread is the only one
    speaker._on_browser(speaker, {"type": "played", "items": {"item_a": 480}}, [])
    assert speaker.played == {"item_a": 480}
    closed = RealtimeSession(endpoint=Endpoint.local("ws://127.0.0.1:9/v1/realtime", "m"))
    assert closed.loop_thread is None  # never used: no loop to hop to
    mic = Microphone(closed)
    mic._on_browser(mic, {"type": "audio", "seq": 1}, [np.zeros(480, "<i2").tobytes()])
    assert mic.samples_received == 480
    assert [c for c, _ in mic.comm.custom()] == [{"type": "ack", "seq": 1}]


def test_an_mcp_decision_from_the_page_is_taken_on_the_session_loop() -> None:
    peer = McpPeer()
    with ThreadPeer(peer.handler) as server:
        s = RealtimeSession(endpoint=Endpoint.local(server.url, "m"), reconnect=False)
        try:
            s.connect()
            widget = McpApprovals(s)
            mark = s.mark()
            s.send_event({"type": "response.create"})
            s.wait_for("response.done", since=mark)
            eventually(lambda: len(widget.pending) == 1)
            threads: list[threading.Thread] = []
            widget.observe(lambda _change: threads.append(threading.current_thread()), "decided")
            widget._on_browser(widget, {"decide": "mcpr_1", "approve": True, "reason": "ok"}, [])
            eventually(lambda: widget.decided != [])
            assert threads == [s.loop_thread]
            assert widget.decided == [{"id": "mcpr_1", "approve": True, "reason": "ok"}]
        finally:
            s.close()
