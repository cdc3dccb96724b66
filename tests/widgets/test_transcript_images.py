"""An image the user sent shows in the transcript as a small preview with what it is."""

from __future__ import annotations

import numpy as np

from realtime_widgets import SessionConfig
from realtime_widgets.client import Endpoint, RealtimeSession
from realtime_widgets.server.app import LocalServer
from realtime_widgets.widgets import TranscriptView
from tests.waiting import eventually


def test_a_sent_image_reaches_the_transcript_as_a_thumbnail() -> None:
    server = LocalServer(pace=0, speech=False).start()
    config = SessionConfig(output_modalities=["text"])
    session = RealtimeSession(config, endpoint=Endpoint.local(server.url, config.model))
    try:
        session.connect()
        view = TranscriptView(session)
        image = np.zeros((30, 40, 3), np.uint8)
        image[:, :20] = 255  # half white, half black
        item_id = session.send_image(image, text="what is this?")

        def row() -> dict | None:
            ops = [op for op, _ in view.comm.custom() if op.get("id") == item_id]
            return ops[-1] if ops and ops[-1].get("images") else None

        eventually(lambda: row() is not None, 30)
        (thumb,) = row()["images"]  # type: ignore[index]
        assert thumb["src"].startswith("data:image/png;base64,")
        assert thumb["caption"].startswith("40x30 image/png")
    finally:
        session.close()
        server.stop()
