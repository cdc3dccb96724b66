"""Make the tests' recorded speech (tests/data/speech.wav + speech.json), offline.

The turn-detection tests assert boundaries within 40 ms of the truth. Synthesised at test time,
they depended on which eSpeak NG was installed: the `voice` extra's (espeakng-loader) passed,
Debian's libespeak-ng 1.51 moved a boundary 45 ms. So the utterances are synthesised once, here,
and committed; the tests build their clips from the file (tests/speech.py, ``recorded_clip``).

Each utterance is eSpeak NG's whole output for it (its own leading and trailing silence kept),
24 kHz 16-bit mono, back to back in one WAV. ``speech.json`` lists, per utterance, its text,
voice, first sample and length, and its truth: where the speech starts and ends (ms from the
utterance's first sample; first/last 1 ms above 1 % of full scale, tests/speech.py's rule).

Run with the `voice` extra installed: ``python scripts/make_test_speech.py``. Add an utterance
here when a test needs a new one; the existing ones should not change (tests are tuned to them).
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import json
from pathlib import Path

import numpy as np

from realtime_widgets.audio.wav import write_wav
from realtime_widgets.server.tts import shared_espeak
from tests.speech import speech_bounds

OUT = Path(__file__).parents[1] / "tests" / "data"
UTTERANCES = [
    # tests/speech.py THREE_TURNS (the three_turns fixture), also test_vad's semantic clip
    ("Hello there, how are you today?", "marin"),
    ("I would like to book a table for two.", "ash"),
    ("Thanks, that is all.", "coral"),
    # test_vad: more voices and speeds
    ("Seven", "cedar"),
    ("Please call me back tomorrow morning.", "shimmer"),
    ("Yes", "echo"),
    # test_vad: a pause inside a turn
    ("First part", "marin"),
    ("second part", "marin"),
    # tests/browser: the fake microphone's clip
    ("Wait, stop, tell me about the weather instead.", "ash"),
]


def main() -> None:
    synth = shared_espeak()  # by name: the default voice is Piper when it is installed
    info = synth._lib.espeak_Info
    info.restype = ctypes.c_char_p
    version = info(None).decode()
    try:
        loader = f"espeakng-loader {importlib.metadata.version('espeakng-loader')}"
    except importlib.metadata.PackageNotFoundError:
        loader = "the system library"
    parts, rows, pos = [], [], 0
    for text, voice in UTTERANCES:
        samples = synth.speak(text, voice, 1.0).samples
        start_ms, end_ms = speech_bounds(samples)
        rows.append(
            {
                "text": text,
                "voice": voice,
                "offset": pos,
                "length": len(samples),
                "speech_start_ms": start_ms,
                "speech_end_ms": end_ms,
            }
        )
        parts.append(samples)
        pos += len(samples)
    OUT.mkdir(exist_ok=True)
    write_wav(OUT / "speech.wav", np.concatenate(parts), 24000)
    note = {
        "made_by": "scripts/make_test_speech.py",
        "synthesizer": f"eSpeak NG {version} from {loader}, speed 1.0, 24 kHz",
        "rate": 24000,
        "utterances": rows,
    }
    (OUT / "speech.json").write_text(json.dumps(note, indent=2) + "\n")
    print(f"wrote {len(rows)} utterances, {pos / 24000:.1f} s, to {OUT}")


if __name__ == "__main__":
    main()
