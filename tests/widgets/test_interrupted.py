"""A reply lost to a dropped connection is shown as such in the transcript and the metrics."""

from __future__ import annotations

from realtime_widgets import SessionConfig
from realtime_widgets.client import Endpoint, RealtimeSession
from realtime_widgets.server.app import LocalServer
from realtime_widgets.widgets import MetricsView, TranscriptView
from realtime_widgets.widgets.transcript import INTERRUPTED
from tests.client.conftest import CuttingProxy
from tests.waiting import eventually


def test_a_cut_reply_is_labelled_in_the_transcript_and_the_metrics() -> None:
    upstream = LocalServer(pace=0.02, speech=False).start()
    try:
        with CuttingProxy(upstream.url, drops=1, after_deltas=2) as proxy:
            config = SessionConfig(output_modalities=["text"])
            session = RealtimeSession(config, endpoint=Endpoint.local(proxy.url, config.model))
            transcript = TranscriptView(session)
            metrics = MetricsView(session)
            cuts: list[dict] = []
            session.on("client.response_interrupted", lambda e: cuts.append(e.model_extra or {}))
            try:
                session.connect()
                session.send_text("tell me something long")
                eventually(lambda: session.reconnects == 1 and bool(cuts), 30)
                cut = cuts[0]
                assert cut["reason"] == "connection_lost"
                assert cut["message"] == "reply interrupted by a lost connection"
                assert session.state.responses[cut["response_id"]].status == "incomplete"
                # The transcript: the assistant's partial item carries the note.
                (item_id,) = cut["item_ids"]
                sent = [
                    op
                    for op, _ in transcript.comm.custom()
                    if op.get("id") == item_id and op.get("op") == "text"
                ]
                assert sent[-1]["note"] == INTERRUPTED
                # The metrics: the turn ended as interrupted, not as a timeout.
                metrics.refresh()
                assert metrics.data["turns"][-1]["status"] == "interrupted"
                # And the session goes on: the next reply completes.
                mark = session.mark()
                session.send_text("again")
                done = session.wait_for("response.done", timeout=30, since=mark)
                assert done.response.status == "completed"  # type: ignore[attr-defined]
            finally:
                session.close()
    finally:
        upstream.stop()
