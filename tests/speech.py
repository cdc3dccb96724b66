"""Synthetic speech with known boundaries, shared by the server and client tests.

Tests that assert where speech starts or ends use :func:`recorded_clip`: utterances synthesised
once and committed (tests/data/speech.wav, made by scripts/make_test_speech.py), so they do not
depend on which eSpeak NG is installed. :func:`make_clip` synthesises at test time, for tests
that only need some speech.
"""

from __future__ import annotations

import base64
import functools
import io
import json
import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from realtime_widgets.audio.pcm import Int16Array
from realtime_widgets.audio.resample import resample
from realtime_widgets.audio.wav import read_wav
from realtime_widgets.server.speech import SpeechSynthesizer

DATA = Path(__file__).parent / "data"
# "The birch canoe slid on the smooth planks." and three more Harvard sentences (10.8 s) read
# by a person, 16 kHz (Debian's codec2-examples, LGPL-2.1-or-later; scripts/system-packages
# installs it).
HARVARD = Path("/usr/share/codec2/raw/speech_orig_16k.wav")


def speech_bounds(x: np.ndarray, level: float = 0.01) -> tuple[float, float]:
    """True start/end (ms) of speech in a clean clip: first/last 1 ms with |x| above 1 % FS."""
    env = np.abs(x[: len(x) // 24 * 24].astype(np.float64)).reshape(-1, 24).max(axis=1)
    idx = np.nonzero(env > level * 32768)[0]
    return float(idx[0]), float(idx[-1] + 1)


@dataclass
class Clip:
    samples: np.ndarray
    truth: list[tuple[float, float]]  # (start_ms, end_ms) of each utterance


def make_clip(
    synth: SpeechSynthesizer,
    texts: list[str],
    voices: list[str],
    gap_ms: int = 1500,
    lead_ms: int = 1000,
) -> Clip:
    parts = [np.zeros(lead_ms * 24, np.int16)]
    truth, pos = [], lead_ms
    for text, voice in zip(texts, voices, strict=True):
        speech = synth.speak(text, voice, 1.0).samples
        a, b = speech_bounds(speech)
        truth.append((pos + a, pos + b))
        parts += [speech, np.zeros(gap_ms * 24, np.int16)]
        pos += len(speech) / 24 + gap_ms
    return Clip(np.concatenate(parts), truth)


@functools.cache
def recorded_speech() -> dict[tuple[str, str], tuple[Int16Array, float, float]]:
    """The committed utterances by (text, voice): samples, and speech start/end (ms)."""
    note = json.loads((DATA / "speech.json").read_text())
    samples, info = read_wav(DATA / "speech.wav")
    assert info.rate == note["rate"] == 24000
    return {
        (u["text"], u["voice"]): (
            samples[u["offset"] : u["offset"] + u["length"]],
            u["speech_start_ms"],
            u["speech_end_ms"],
        )
        for u in note["utterances"]
    }


def recorded_clip(
    texts: list[str], voices: list[str], gap_ms: int = 1500, lead_ms: int = 1000
) -> Clip:
    """:func:`make_clip` from the committed utterances (the same layout: ``lead_ms`` of
    silence, then each utterance followed by ``gap_ms``); the truth is the committed one."""
    store = recorded_speech()
    parts = [np.zeros(lead_ms * 24, np.int16)]
    truth, pos = [], float(lead_ms)
    for text, voice in zip(texts, voices, strict=True):
        if (text, voice) not in store:
            raise KeyError(
                f"no recorded utterance {text!r} in voice {voice!r}: add it to "
                "scripts/make_test_speech.py and run it"
            )
        speech, a, b = store[text, voice]
        truth.append((pos + a, pos + b))
        parts += [speech, np.zeros(gap_ms * 24, np.int16)]
        pos += len(speech) / 24 + gap_ms
    return Clip(np.concatenate(parts), truth)


THREE_TURNS = (
    [
        "Hello there, how are you today?",
        "I would like to book a table for two.",
        "Thanks, that is all.",
    ],
    ["marin", "ash", "coral"],
)


def b64(samples: np.ndarray) -> str:
    return base64.b64encode(np.asarray(samples, dtype="<i2").tobytes()).decode()


def envelope_similarity(a: np.ndarray, b: np.ndarray, hop: int = 240) -> float:
    """How alike two renderings sound in time: the correlation of their 10 ms RMS envelopes
    (24 kHz) over the shorter one. The same text by the same eSpeak voice scores above 0.9
    (its renders vary by up to ~25 ms); by its English voice instead of its Spanish, French,
    German or Japanese one, below 0.3 (other phonemes, other durations)."""
    n = min(len(a), len(b)) // hop
    if n < 2:
        raise ValueError("too short to compare")

    def envelope(x: np.ndarray) -> np.ndarray:
        frames = x[: n * hop].astype(np.float64).reshape(n, hop)
        return np.asarray(np.sqrt((frames**2).mean(axis=1)))

    return float(np.corrcoef(envelope(a), envelope(b))[0, 1])


def espeak_ng_command(text: str, voice: str) -> Int16Array | None:
    """What Debian's ``espeak-ng -v VOICE`` command says of ``text``, at 24 kHz (None: the
    command is not installed; scripts/system-packages installs it): a reference made outside
    the local server, by the voice a language's name selects."""
    if shutil.which("espeak-ng") is None:
        return None
    out = subprocess.run(
        ["espeak-ng", "-v", voice, "--stdout", text], capture_output=True, check=True, timeout=60
    ).stdout
    with wave.open(io.BytesIO(out)) as wav:
        rate = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), "<i2")
    return resample(samples, rate, 24000).astype(np.int16)
