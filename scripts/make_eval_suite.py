"""Make the built-in evaluation suite's audio from Debian's codec2-examples recordings.

    python scripts/make_eval_suite.py            # writes realtime_widgets/evals/data/

Needs the Debian package ``codec2-examples`` (LGPL-2.1-or-later, David Rowe), which installs
``/usr/share/codec2/raw/speech_orig_16k.wav`` and ``/usr/share/codec2/wav/*.wav``. The output
is deterministic: run it again and the files are byte-identical.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from realtime_widgets.audio.pcm import as_int16
from realtime_widgets.audio.resample import resample
from realtime_widgets.audio.wav import read_wav, write_wav
from realtime_widgets.evals.clip import RATE
from realtime_widgets.evals.suite import DATA, speech_bounds

CODEC2 = Path("/usr/share/codec2")


def make_reply(out: Path) -> Path:
    """reply.wav: hts2a's sentence, trimmed to its speech (20 ms margins), at 24 kHz."""
    samples, info = read_wav(CODEC2 / "wav" / "hts2a.wav")
    bounds = speech_bounds(samples, info.rate)
    assert bounds is not None
    start = max(0, round((bounds[0] - 20) * info.rate / 1000))
    end = min(len(samples), round((bounds[1] + 20) * info.rate / 1000))
    reply = as_int16(resample(samples[start:end], info.rate, RATE))
    path = out / "reply.wav"
    write_wav(path, reply, RATE)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DATA)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print(make_reply(args.out))


if __name__ == "__main__":
    main()
