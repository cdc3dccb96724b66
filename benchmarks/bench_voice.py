"""The local server's voices on this machine: Piper (en_US-joe-medium) against eSpeak NG.

(a) Load time: Piper's voice files read, hashed and loaded into onnxruntime (first load in
    this process), eSpeak NG's library initialised.
(b) Synthesis time over the speech's duration (x real time; lower is faster) for one clause
    (~1-2 s), a sentence (~3 s) and a paragraph (~10 s), median of ``BENCH_VOICE_REPEATS``.
(c) Time to the first clause's audio when the paragraph is cut by the clause splitter
    (reply/clauses.py) and only its first piece is synthesised, against synthesising the whole
    paragraph first (what a reply waited for before streaming).
(d) Whether two sessions' Piper renders overlap usefully: 4 sentences one after the other,
    against 2 threads each rendering 2 on the same shared voice.
Ratios are printed against eSpeak NG (the fallback) measured in the same run.
``python -m benchmarks bench_voice``.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable

REPEATS = int(os.environ.get("BENCH_VOICE_REPEATS", "5"))
CLAUSE = "Sure, I can help with that."
SENTENCE = "The birch canoe slid on the smooth planks of the old wooden dock."
PARAGRAPH = (
    "Sure, I can help with that. The birch canoe slid on the smooth planks. Glue the sheet to "
    "the dark blue background. It's easy to tell the depth of a well. Four hours of steady "
    "work faced us."
)


def _median_seconds(run: Callable[[], object]) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    from realtime_widgets.server.piper_voice import PiperSynthesizer
    from realtime_widgets.server.reply.clauses import clauses
    from realtime_widgets.server.tts import Synthesizer

    start = time.perf_counter()
    piper = PiperSynthesizer()
    piper_load = time.perf_counter() - start
    start = time.perf_counter()
    espeak = Synthesizer()
    espeak_load = time.perf_counter() - start
    print(f"(a) load: Piper {piper_load * 1000:.0f} ms, eSpeak NG {espeak_load * 1000:.0f} ms")
    piper.speak(CLAUSE)  # the first call warms onnxruntime and the phonemiser
    print(f"(b) synthesis time / speech duration, median of {REPEATS}:")
    for name, text in (("clause", CLAUSE), ("sentence", SENTENCE), ("paragraph", PARAGRAPH)):
        piper_s = _median_seconds(lambda text=text: piper.speak(text))
        espeak_s = _median_seconds(lambda text=text: espeak.speak(text))
        piper_d = piper.speak(text).duration_ms / 1000
        espeak_d = espeak.speak(text).duration_ms / 1000
        print(
            f"    {name:9} Piper {piper_d:5.2f} s of speech in {piper_s * 1000:6.0f} ms = "
            f"{piper_s / piper_d:.3f}x real time; eSpeak {espeak_d:5.2f} s in "
            f"{espeak_s * 1000:5.1f} ms = {espeak_s / espeak_d:.4f}x; Piper/eSpeak "
            f"{(piper_s / piper_d) / (espeak_s / espeak_d):.0f}x slower"
        )
    pieces = clauses(PARAGRAPH)
    first = _median_seconds(lambda: piper.speak(clauses(PARAGRAPH)[0]))
    whole = _median_seconds(lambda: piper.speak(PARAGRAPH))
    print(
        f"(c) paragraph cut into {len(pieces)} pieces, the first {pieces[0]!r}: its audio in "
        f"{first * 1000:.0f} ms (split + synthesis), the whole paragraph's in "
        f"{whole * 1000:.0f} ms: {whole / first:.1f}x sooner"
    )
    start = time.perf_counter()
    for _ in range(4):
        piper.speak(SENTENCE)
    in_turn = time.perf_counter() - start

    def two(voice: PiperSynthesizer) -> None:
        for _ in range(2):
            voice.speak(SENTENCE)

    threads = [threading.Thread(target=two, args=(piper,)) for _ in range(2)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    overlapped = time.perf_counter() - start
    print(
        f"(d) 4 sentences in turn {in_turn * 1000:.0f} ms, as 2 x 2 overlapping "
        f"{overlapped * 1000:.0f} ms: overlap gives {in_turn / overlapped:.2f}x the throughput "
        f"(on {os.cpu_count()} CPUs)"
    )


if __name__ == "__main__":
    main()
