"""Make the VAD lab's example clips (realtime_widgets/vadlab/clips/*.wav + labels), offline.

Speech is eSpeak NG (the `voice` extra); noise, the cough and the room are seeded numpy, so the
clips are reproducible: ``python scripts/make_vad_clips.py``. Labels are exact: each utterance's
start and end are measured on the clean synthesised speech before anything is mixed in, and
utterances that belong to one turn (a pause or a hesitation inside) are labelled as one turn.
Clips are stored at 16 kHz 16-bit mono to keep the package small; the lab reads them at 24 kHz.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from realtime_widgets.audio.resample import resample
from realtime_widgets.audio.wav import write_wav
from realtime_widgets.server.tts import shared_espeak

OUT = Path(__file__).parents[1] / "realtime_widgets" / "vadlab" / "clips"
RATE = 24000
STORE_RATE = 16000
rng = np.random.default_rng(20261121)
# eSpeak NG by name (not the default voice, Piper when installed): the committed clips are
# its speech, each OpenAI voice name a different eSpeak speaker, where Piper has one speaker.
synth = shared_espeak()


def bounds(x: np.ndarray) -> tuple[int, int]:
    """First/last sample of a clean utterance above 1 % of full scale (1 ms resolution)."""
    env = np.abs(x[: len(x) // 24 * 24].astype(np.float64)).reshape(-1, 24).max(axis=1)
    idx = np.nonzero(env > 0.01 * 32768)[0]
    return int(idx[0]) * 24, int(idx[-1] + 1) * 24


def speech(text: str, voice: str, speed: float = 1.0) -> np.ndarray:
    x = synth.speak(text, voice, speed).samples.astype(np.float64)
    a, b = bounds(x)
    return x[a:b]  # trimmed to the speech itself


def silence(ms: float) -> np.ndarray:
    return np.zeros(int(ms * RATE / 1000))


def brown_noise(n: int, level_db: float) -> np.ndarray:
    """Room rumble / traffic-like noise: integrated white noise, high-passed at ~40 Hz."""
    white = rng.standard_normal(n)
    brown = np.cumsum(white)
    brown -= np.convolve(brown, np.ones(2400) / 2400, mode="same")  # remove the drift
    brown /= np.sqrt(np.mean(brown**2))
    return brown * 32768 * 10 ** (level_db / 20)


def babble(n: int, level_db: float) -> np.ndarray:
    """A cafe: several far voices mixed and smeared, speech-like but not words to anyone."""
    texts = ["the weather was fine all week", "we should meet again on friday",
             "he said the train was late", "bring the blue one tomorrow"]  # fmt: skip
    mix = np.zeros(n)
    for k, text in enumerate(texts):
        voice = ["ash", "coral", "sage", "verse"][k]
        part = np.tile(speech(text, voice, 1.1), 8)[:n]
        part = np.roll(part, int(rng.integers(0, n)))
        mix += part
    mix = np.convolve(mix, np.hanning(480) / np.hanning(480).sum(), mode="same")  # far, dull
    mix /= np.sqrt(np.mean(mix**2))
    return mix * 32768 * 10 ** (level_db / 20)


def cough() -> np.ndarray:
    """A cough: a burst of shaped noise, fast attack, ~250 ms decay, energy 300-3000 Hz."""
    n = int(0.32 * RATE)
    t = np.arange(n) / RATE
    env = (1 - np.exp(-t / 0.004)) * np.exp(-t / 0.07)
    env += (
        0.5
        * (t > 0.12)
        * (1 - np.exp(-(t - 0.12) / 0.004))
        * np.exp(-np.maximum(t - 0.12, 0) / 0.06)
    )
    noise = rng.standard_normal(n)
    spectrum = np.fft.rfft(noise)
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    spectrum *= (freqs > 300) & (freqs < 3000)
    burst = np.fft.irfft(spectrum, n) * env
    return burst / np.max(np.abs(burst)) * 0.6 * 32768


class Builder:
    def __init__(self) -> None:
        self.parts: list[np.ndarray] = []
        self.pos = 0
        self.turns: list[dict[str, object]] = []

    def add(self, x: np.ndarray, turn_text: str | None = None, *, same_turn: bool = False) -> None:
        if turn_text is not None:
            start, end = self.pos * 1000 / RATE, (self.pos + len(x)) * 1000 / RATE
            if same_turn and self.turns:
                self.turns[-1]["end_ms"] = round(end, 1)
                self.turns[-1]["text"] = f"{self.turns[-1]['text']} {turn_text}"
            else:
                self.turns.append(
                    {"start_ms": round(start, 1), "end_ms": round(end, 1), "text": turn_text}
                )
        self.parts.append(x)
        self.pos += len(x)

    def pause(self, ms: float) -> None:
        self.add(silence(ms))

    def save(self, name: str, description: str, background: np.ndarray | None = None) -> None:
        x = np.concatenate(self.parts)
        if background is not None:
            x = x + background[: len(x)]
        x = np.clip(np.round(x), -32768, 32767).astype(np.int16)
        stored = np.asarray(resample(x, RATE, STORE_RATE), dtype=np.int16)
        OUT.mkdir(parents=True, exist_ok=True)
        write_wav(OUT / f"{name}.wav", stored, STORE_RATE)
        labels = {"description": description, "turns": self.turns}
        (OUT / f"{name}.json").write_text(json.dumps(labels, indent=2) + "\n")
        print(f"{name}: {len(x) / RATE:.1f} s, {len(self.turns)} turns")


def main() -> None:
    b = Builder()
    b.pause(800)
    b.add(speech("I would like to book a table", "marin"), "I would like to book a table")
    b.pause(650)
    b.add(
        speech("for two people, tonight at eight.", "marin"),
        "for two people, tonight at eight.",
        same_turn=True,
    )
    b.pause(2200)
    b.add(speech("And a quiet corner, please.", "marin"), "And a quiet corner, please.")
    b.pause(1500)
    b.save(
        "pauses",
        "One speaker; the first turn has a 650 ms pause mid-sentence. Short "
        "silence durations cut it in two; long ones make every reply wait.",
    )

    b = Builder()
    b.pause(1000)
    b.add(speech("Can you hear me over this noise?", "ash"), "Can you hear me over this noise?")
    b.pause(2500)
    b.add(speech("Tell me the forecast for tomorrow.", "ash"), "Tell me the forecast for tomorrow.")
    b.pause(2500)
    n = b.pos
    noise = brown_noise(n, -32) + babble(n, -26)
    b.save(
        "noisy_cafe",
        "Two questions over cafe babble and room rumble. Silero tells the "
        "babble from the speaker here; a low threshold keeps a turn open longer in the "
        "noise, so the reply comes later.",
        noise,
    )

    b = Builder()
    b.pause(800)
    b.add(speech("Let me check my calendar.", "coral"), "Let me check my calendar.")
    b.pause(1400)
    b.add(cough())
    b.pause(1600)
    b.add(cough() * 0.8)
    b.pause(1200)
    b.add(speech("Yes, Thursday works for me.", "coral"), "Yes, Thursday works for me.")
    b.pause(1500)
    b.save(
        "cough",
        "Two coughs between two sentences. A cough is not speech and should "
        "start no turn. The local VAD takes the first, louder one for speech at any "
        "threshold (a false trigger that, with interrupt_response, cancels the reply in "
        "progress); the softer one passes.",
    )

    b = Builder()
    b.pause(800)
    b.add(speech("So I was thinking, maybe we could", "sage"), "So I was thinking, maybe we could")
    b.pause(1600)
    b.add(speech("uhm", "sage", 0.7), "uhm", same_turn=True)
    b.pause(900)
    b.add(
        speech("go to the coast on Saturday instead.", "sage"),
        "go to the coast on Saturday instead.",
        same_turn=True,
    )
    b.pause(2500)
    b.save(
        "hesitation",
        "One turn with a long hesitation (1.6 s, then 'uhm', then 0.9 s). "
        "server_vad cuts it unless silence_duration_ms is long; semantic_vad with low "
        "eagerness waits longer when the speech stops abruptly.",
    )

    b = Builder()
    b.pause(600)
    b.add(speech("Yes.", "verse"), "Yes.")
    b.pause(900)
    b.add(speech("No, the other one.", "verse"), "No, the other one.")
    b.pause(700)
    b.add(speech("Okay.", "verse"), "Okay.")
    b.pause(1800)
    b.save(
        "quick_replies",
        "Three short answers in quick succession: long silence durations "
        "merge them into one turn; short ones keep them apart.",
    )


if __name__ == "__main__":
    main()
