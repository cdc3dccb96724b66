"""The metrics say where a person reads them that the local server's usage is an estimate,
and say it only when that is true: the peer is a LocalServer of this process (the wire never
says so, as OpenAI's does not; a loopback address alone proves nothing)."""

from __future__ import annotations

from realtime_widgets.client.auth import Endpoint
from realtime_widgets.client.session import RealtimeSession
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.server.app import LocalServer
from realtime_widgets.widgets.metrics import MetricsView
from tests.client.conftest import ThreadPeer

TEXT = SessionConfig(output_modalities=["text"])


def test_a_local_server_session_labels_its_usage_an_estimate() -> None:
    server = LocalServer(pace=0, speech=False).start()
    try:
        s = RealtimeSession(TEXT, endpoint=Endpoint.local(server.url, TEXT.model))
        with s:
            mark = s.mark()
            s.send_text("hello")
            s.wait_for("response.done", timeout=30, since=mark)
            assert s.usage_is_estimate
            view = MetricsView(s)
            assert view.data["usage"]["input_tokens"] > 0
            assert view.data["estimate"] is True
            note = view.data["estimate_note"]
            assert note.startswith("Usage and cost are the local server's estimates")
            assert "4 characters" in note
            assert "not OpenAI's" in note
    finally:
        server.stop()
    # Stopped, it is no longer this process's server at that address.
    assert not s.usage_is_estimate


def test_another_peer_on_loopback_is_not_called_an_estimate() -> None:
    async def handler(ws: object) -> None:  # a peer that is not our LocalServer
        await ws.wait_closed()  # type: ignore[attr-defined]

    with ThreadPeer(handler) as peer:
        s = RealtimeSession(TEXT, endpoint=Endpoint.local(peer.url, TEXT.model), reconnect=False)
        assert s.endpoint.kind == "local"
        assert not s.usage_is_estimate
        view = MetricsView(s)
        assert view.data["estimate"] is False
        assert view.data["estimate_note"] == ""
