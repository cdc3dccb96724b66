"""Make the built-in evaluation suite's audio from Debian's codec2-examples recordings.

    python scripts/make_eval_suite.py            # writes realtime_widgets/evals/data/

Needs the Debian package ``codec2-examples`` (codec2 1.0.5, LGPL-2.1-or-later, David Rowe),
which installs ``/usr/share/codec2/raw/speech_orig_16k.wav`` (16 kHz), ``/usr/share/codec2/wav/
*.wav`` and ``/usr/share/codec2/raw/*.raw`` (8 kHz 16-bit little-endian mono, no header). The
output is deterministic: run it again and the files are byte-identical.

The sentence boundaries below were found by energy (10 ms frames, the rule of
``realtime_widgets.evals.suite.speech_bounds``): each cut keeps ~150 ms of the recording's own
silence around a sentence, and :func:`join` / :func:`overlay` measure the exact speech bounds
again, so every label sits where the speech really starts and ends.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np

from realtime_widgets.audio.resample import to_model_rate
from realtime_widgets.audio.wav import read_wav, write_wav
from realtime_widgets.evals.clip import RATE, Clip
from realtime_widgets.evals.suite import (
    BUILTIN_LICENCE,
    DATA,
    Suite,
    Utterance,
    eot,
    hold,
    join,
    overlay,
    speech_bounds,
    with_noise,
)

CODEC2 = Path("/usr/share/codec2")
LICENCE = "LGPL-2.1-or-later, codec2-examples, Debian"


def source(
    name: str, start_ms: float | None = None, end_ms: float | None = None, text: str = ""
) -> Utterance:
    """``name`` (``wav/NAME.wav`` or ``raw/NAME.raw``) from ``start_ms`` to ``end_ms``, with
    the ``text`` spoken in it when it is known from a published source."""
    path = CODEC2 / name
    if path.suffix == ".raw":
        samples, rate = np.fromfile(path, dtype="<i2").astype(np.int16), 8000
    else:
        samples, info = read_wav(path)
        rate = info.rate
    a = 0 if start_ms is None else round(start_ms * rate / 1000)
    b = len(samples) if end_ms is None else round(end_ms * rate / 1000)
    span = f" {start_ms:.0f}-{end_ms:.0f} ms" if start_ms is not None else ""
    return Utterance(samples[a:b], rate, text=text, source=f"{name}{span}")


def cough() -> Utterance:
    """A cough-like noise burst (synthetic): 220 ms of band-passed noise, fast attack, decay."""
    rng = np.random.default_rng(20)
    n = round(0.22 * RATE)
    noise = rng.standard_normal(n)
    spectrum = np.fft.rfft(noise)
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    spectrum[(freqs < 250) | (freqs > 3200)] = 0
    burst = np.fft.irfft(spectrum, n)
    t = np.arange(n) / RATE
    envelope = np.minimum(t / 0.01, 1.0) * np.exp(-t / 0.07)
    burst = burst * envelope / np.abs(burst * envelope).max() * 12000
    pad = np.zeros(round(0.1 * RATE))
    audio = np.concatenate([pad, burst, pad])
    return Utterance(np.rint(audio).astype(np.int16), RATE, source="synthetic cough (seeded noise)")


def meta(synthetic: str | None = None) -> dict[str, object]:
    out: dict[str, object] = {"licence": LICENCE}
    if synthetic:
        out["synthetic"] = True
        out["synthetic_parts"] = synthetic
    return out


ORIG = "raw/speech_orig_16k.wav"
# What speech_orig_16k.wav says: four Harvard sentences of list 1 ("IEEE Recommended Practice
# for Speech Quality Measurements", IEEE Trans. Audio Electroacoust. 17(3), 1969, appendix:
# the first three and "Four hours of steady work faced us."), in their published text, not a
# transcriber's. Which sentence each cut holds was checked with Whisper tiny.en's transcript of
# each cut and with its duration (the cut 2630-3570 ms ends after "sheet", where the speaker
# pauses inside sentence 2). No other recording here has a published text: those clips have no
# words.
HARVARD = (
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet",
    "to the dark blue background.",
    "It's easy to tell the depth of a well.",
    "Four hours of steady work faced us.",
)
# Where each backchannel starts, ms after the true end of the turn before it (bigdog,
# hts4, kristoff, cross): inside the local agent's reply for every silence_duration_ms from
# 200 to 1500 ms (the reply, 2.29 s, starts ~30-50 ms after the silence has run out: 0.25-2.54 s
# after the true end at 200 ms, 1.55-3.84 s at 1500 ms), and late enough that the end of turn
# before it is decided first at any of those settings.
BACKCHANNEL_AT_MS = (1700, 1900, 2100, 2000)
# The background talker of the noisy clips: 20 s of codec2's all.wav (8 kHz, other codec2
# test recordings one after another). Real speech mixed 20-25 dB under the user's speech is a
# television or a conversation across the room: Silero gives it probabilities between 0.3 and
# 0.7, where the threshold decides. (ve9qrp.wav's shortwave receiver noise, 34150-35300 ms,
# was tried under the same turns at 10 and 6 dB SNR: thresholds 0.3 / 0.5 / 0.7 still gave
# identical sweep rows.)
BABBLE = ("wav/all.wav", 20000, 40000)
NOISY = ((2, 25.0), (0, 22.0))  # (index in made: hts1-hold, harvard-holds), SNR in dB


def clips() -> list[tuple[Clip, int]]:
    """The built-in clips, each with the rate it is stored at (its sources' highest rate)."""
    made: list[tuple[Clip, int]] = []
    # 1. Harvard sentences: a hold between sentences and a hold in the middle of one.
    made.append(
        (
            join(
                [
                    source(ORIG, 0, 2450, HARVARD[0]),
                    hold(700),
                    source(ORIG, 2630, 3570, HARVARD[1]),
                    hold(500),
                    source(ORIG, 3600, 5600, HARVARD[2]),
                    eot(2200),
                ],
                id="harvard-holds",
                meta=meta(),
            ),
            16000,
        )
    )
    # 2. A turn, then the same speaker barges in 1.8 s after the true end. The clip's words
    #    are everything the user says, in order: the turn's, then the barge-in's.
    turn = join(
        [source(ORIG, 5610, 7860, HARVARD[3]), eot(5700)], id="harvard-barge-in", meta=meta()
    )
    barged = overlay(
        turn,
        source(ORIG, 7960, 10800, HARVARD[4]),
        at_ms=turn.of("eot")[0].start_ms + 1800,
        snr_db=0,
        label="barge_in",
    )
    words = (*(barged.words or ()), *HARVARD[4].split())
    made.append((dataclasses.replace(barged, words=words), 16000))
    # 3-4. hts: two sentences of one speaker joined by a long hold, a short hold.
    made.append(
        (
            join(
                [
                    source("raw/hts.raw", 90, 2640),
                    hold(1000),
                    source("raw/hts.raw", 3100, 5340),
                    eot(2200),
                ],
                id="hts1-hold",
                meta=meta(),
            ),
            8000,
        )
    )
    made.append(
        (
            join(
                [
                    source("raw/hts.raw", 12100, 14880),
                    hold(450),
                    source("raw/hts.raw", 15100, 17990),
                    eot(2000),
                ],
                id="hts3-hold",
                meta=meta(),
            ),
            8000,
        )
    )
    # 5. hts: a hold, then a backchannel word (vk5qi) over the agent's reply at 8 dB SNR.
    turn = join(
        [
            source("raw/hts.raw", 18090, 20560),
            hold(1200),
            source("raw/hts.raw", 21100, 23750),
            eot(4000),
        ],
        id="hts4-backchannel",
        meta=meta(),
    )
    made.append(
        (
            overlay(
                turn,
                source("wav/vk5qi.wav", 3000, 3500),
                snr_db=8,
                at_ms=turn.of("eot")[0].start_ms + BACKCHANNEL_AT_MS[1],
            ),
            8000,
        )
    )
    # 6. vk5qi (radio, noisy): three pieces with holds of 600 and 900 ms.
    made.append(
        (
            join(
                [
                    source("wav/vk5qi.wav", 750, 3580),
                    hold(600),
                    source("wav/vk5qi.wav", 3600, 5730),
                    hold(900),
                    source("wav/vk5qi.wav", 5740, 7450),
                    eot(2000),
                ],
                id="vk5qi-holds",
                meta=meta(),
            ),
            8000,
        )
    )
    # 7. kristoff, then a one-word backchannel (vk5qi) at 6 dB SNR.
    turn = join(
        [source("raw/kristoff.raw", 900, 4600), eot(4000)], id="kristoff-backchannel", meta=meta()
    )
    made.append(
        (
            overlay(
                turn,
                source("wav/vk5qi.wav", 10200, 10800),
                snr_db=6,
                at_ms=turn.of("eot")[0].start_ms + BACKCHANNEL_AT_MS[2],
            ),
            8000,
        )
    )
    # 8. cross, then a cough-like burst (synthetic) at 0 dB SNR.
    turn = join(
        [source("raw/cross.raw", 150, 2400), eot(4000)],
        id="cross-cough",
        meta=meta("the cough: seeded band-passed noise with a 70 ms decay"),
    )
    at = turn.of("eot")[0].start_ms + BACKCHANNEL_AT_MS[3]
    made.append((overlay(turn, cough(), snr_db=0, at_ms=at), 8000))
    # 9. morig, then another speaker (forig) barges in 1.6 s after the true end.
    turn = join([source("wav/morig.wav", 300, 2003), eot(5000)], id="morig-barge-in", meta=meta())
    made.append(
        (
            overlay(
                turn,
                source("wav/forig.wav"),
                snr_db=0,
                label="barge_in",
                at_ms=turn.of("eot")[0].start_ms + 1600,
            ),
            8000,
        )
    )
    # 10. vk5qi: a turn, then the same speaker barges in 2.2 s after the true end.
    turn = join([source("wav/vk5qi.wav", 7500, 9850), eot(5000)], id="vk5qi-barge-in", meta=meta())
    made.append(
        (
            overlay(
                turn,
                source("wav/vk5qi.wav", 10750, 13000),
                snr_db=0,
                label="barge_in",
                at_ms=turn.of("eot")[0].start_ms + 2200,
            ),
            8000,
        )
    )
    # 11. big_dog: a backchannel word (kristoff) at 10 dB 1.7 s after the true end, then a
    #     barge-in (an hts sentence, also in hts4-backchannel) at 2.4 s.
    turn = join(
        [source("wav/big_dog.wav", 0, 2400), eot(5500)],
        id="bigdog-backchannel-barge-in",
        meta=meta(),
    )
    start = turn.of("eot")[0].start_ms
    turn = overlay(
        turn, source("raw/hts.raw", 18090, 20560), snr_db=0, label="barge_in", at_ms=start + 2400
    )
    made.append(
        (
            overlay(
                turn,
                source("raw/kristoff.raw", 950, 1450),
                snr_db=10,
                at_ms=start + BACKCHANNEL_AT_MS[0],
            ),
            8000,
        )
    )
    # 12-13. The same turns as hts1-hold and harvard-holds with a real background talker far
    #     below them (BABBLE, not looped: it is longer than the clips): Silero's probability in
    #     the pauses is then between 0.3 and 0.7 for a good share of frames, so the threshold
    #     decides whether a pause is heard as silence.
    for index, snr in NOISY:
        clean, rate = made[index]
        made.append(
            (
                with_noise(
                    clean,
                    source(*BABBLE),
                    snr_db=snr,
                    id=f"{clean.id}-babble",
                    meta={"clean": clean.id},
                ),
                rate,
            )
        )
    return made


def make_reply(out: Path) -> Path:
    """reply.wav: hts2a's sentence, trimmed to its speech (20 ms margins), at 24 kHz."""
    samples, info = read_wav(CODEC2 / "wav" / "hts2a.wav")
    bounds = speech_bounds(samples, info.rate)
    assert bounds is not None
    start = max(0, round((bounds[0] - 20) * info.rate / 1000))
    end = min(len(samples), round((bounds[1] + 20) * info.rate / 1000))
    reply = to_model_rate(samples[start:end], info.rate)
    path = out / "reply.wav"
    write_wav(path, reply, RATE)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=DATA)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print(make_reply(args.out))
    folder = args.out / "suite"
    shutil.rmtree(folder, ignore_errors=True)
    made = clips()
    for clip, rate in made:
        Suite([clip]).to_folder(folder, rate=rate)
    (folder / "suite.json").write_text(
        json.dumps({"name": "builtin", "licence": BUILTIN_LICENCE}, indent=1) + "\n"
    )
    for clip, rate in made:
        kinds = ", ".join(f"{s.label} {s.start_ms:.0f}-{s.end_ms:.0f}" for s in clip.spans)
        print(f"{clip.id}: {clip.duration_ms / 1000:.1f} s at {rate} Hz: {kinds}")


if __name__ == "__main__":
    main()
