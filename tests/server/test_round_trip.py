"""A round trip through the local server's own voice and ears: it speaks a sentence (Piper),
and that audio, sent back as a user turn, is heard (Whisper tiny.en) as the same words. What
it checks is intelligibility: a voice that mumbles, a wrong rate or a broken resampler on either
side shows up as word errors."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from realtime_widgets.server.app import LocalServer
from realtime_widgets.server.reply.responder import ReplyContext
from tests.server.sockets import recv, session
from tests.server.test_whisper import wer

pytest.importorskip("faster_whisper", reason="the offline extra (faster-whisper) is needed")
pytest.importorskip("piper", reason="the voice extra (piper-tts) is needed")

SENTENCE = "The weather is sunny and warm today, so we will walk to the park after lunch."
MAX_WER = 0.10


def _say(ctx: ReplyContext) -> str:
    return SENTENCE if ctx.last_user_text is None else "Thank you."


@pytest.mark.slow
@pytest.mark.asyncio
@pytest.mark.parametrize("voice", ["alloy", "cedar", "shimmer"])  # pitch x1, x0.92, x1.08
async def test_what_the_server_says_its_own_ears_hear_within_the_wer(voice: str) -> None:
    async with LocalServer(pace=0, responder=_say) as server:
        assert server.synthesizer is not None
        assert "Piper" in server.speech_note
        assert server.transcriber is not None, server.transcriber_note
        async with session(server) as ws:
            audio_in = {"turn_detection": None, "transcription": {"model": "whisper-1"}}
            update = {
                "type": "realtime",
                "audio": {"input": audio_in, "output": {"voice": voice}},
            }
            await ws.send(json.dumps({"type": "session.update", "session": update}))
            await ws.send(json.dumps({"type": "response.create"}))
            spoken: list[bytes] = []
            while (event := await recv(ws))["type"] != "response.done":
                if event["type"] == "response.output_audio.delta":
                    spoken.append(base64.b64decode(event["delta"]))
            assert event["response"]["status"] == "completed"
            samples = np.frombuffer(b"".join(spoken), np.int16)
            assert len(samples) > 24_000 * 2  # seconds of speech, at 24 kHz
            # The server's speech comes back as the user's turn (after 300 ms of silence, as a
            # turn's prefix padding would have), in 100 ms appends.
            samples = np.concatenate([np.zeros(7_200, np.int16), samples])
            for i in range(0, len(samples), 2_400):
                chunk = base64.b64encode(samples[i : i + 2_400].tobytes()).decode()
                await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": chunk}))
            await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
            while (event := await recv(ws))["type"] not in (
                "conversation.item.input_audio_transcription.completed",
                "conversation.item.input_audio_transcription.failed",
            ):
                pass
    assert event["type"].endswith(".completed"), event
    heard = event["transcript"]
    print(f"heard {heard!r}: WER {wer(SENTENCE, heard):.0%}")
    assert wer(SENTENCE, heard) <= MAX_WER, heard
