"""Audio core speed, each figure against a reference measured in the same run.

- G.711 encode/decode vs CPython's audioop (C): goal >= 1.0x.
- 48 -> 24 kHz and 24 -> 8 kHz through soxr (one-shot and streaming in 20 ms chunks) vs
  scipy.signal.resample_poly, as x realtime on one core: goal >= 500x.
- envelope + base64 for one second of 24 kHz audio: goal < 0.5 ms.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

import numpy as np


def best_of(fn: Callable[[], object], repeat: int = 7, number: int = 3) -> float:
    """Best time of one call, in seconds (min over repeats of the mean over ``number``)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return min(times)


def main() -> None:
    from realtime_widgets.audio import (
        Resampler,
        alaw_decode,
        alaw_encode,
        envelope,
        pcm16_to_base64,
        resample,
        ulaw_decode,
        ulaw_encode,
    )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop
    from scipy.signal import resample_poly

    rng = np.random.default_rng(0)
    seconds = 10
    x24 = (rng.normal(0, 6000, 24000 * seconds)).clip(-32768, 32767).astype(np.int16)
    b24 = x24.tobytes()
    mu = ulaw_encode(x24)
    al = alaw_encode(x24)

    print("G.711 (10 s of 24 kHz samples)          ours        audioop     ratio")
    rows = [
        ("mu-law encode", lambda: ulaw_encode(x24), lambda: audioop.lin2ulaw(b24, 2)),
        ("mu-law decode", lambda: ulaw_decode(mu), lambda: audioop.ulaw2lin(mu, 2)),
        ("A-law encode", lambda: alaw_encode(x24), lambda: audioop.lin2alaw(b24, 2)),
        ("A-law decode", lambda: alaw_decode(al), lambda: audioop.alaw2lin(al, 2)),
    ]
    for name, ours, ref in rows:
        t_ours, t_ref = best_of(ours), best_of(ref)
        print(
            f"  {name:<36} {t_ours * 1e3:7.2f} ms  {t_ref * 1e3:7.2f} ms  {t_ref / t_ours:5.2f}x (goal >= 1.0x)"
        )

    x48 = (rng.normal(0, 6000, 48000 * seconds)).clip(-32768, 32767).astype(np.int16)
    print(
        "Resampling (10 s of audio)              soxr      x realtime   scipy resample_poly  ratio"
    )
    for name, x, src, dst, up, down in (
        ("48 -> 24 kHz", x48, 48000, 24000, 1, 2),
        ("24 -> 8 kHz", x24, 24000, 8000, 1, 3),
    ):
        t_soxr = best_of(lambda x=x, src=src, dst=dst: resample(x, src, dst))
        chunk = src // 50  # 20 ms

        def streamed(x: np.ndarray = x, src: int = src, dst: int = dst, chunk: int = chunk) -> None:
            r = Resampler(src, dst)
            for i in range(0, len(x), chunk):
                r.process(x[i : i + chunk])
            r.flush()

        t_stream = best_of(streamed, repeat=3, number=1)
        xf = x.astype(np.float64)
        t_scipy = best_of(lambda xf=xf, up=up, down=down: resample_poly(xf, up, down))
        print(
            f"  {name} one-shot                {t_soxr * 1e3:7.2f} ms  {seconds / t_soxr:8.0f}x"
            f"   {t_scipy * 1e3:7.2f} ms          {t_scipy / t_soxr:5.2f}x (goal >= 500x realtime)"
        )
        print(
            f"  {name} streaming, 20 ms chunks  {t_stream * 1e3:7.2f} ms  {seconds / t_stream:8.0f}x"
        )

    one_second = x24[:24000]
    t_env = best_of(
        lambda: (envelope(one_second, 10, 24000), pcm16_to_base64(one_second)), repeat=20, number=20
    )
    print(f"envelope (10 ms bins) + base64, 1 s of 24 kHz: {t_env * 1e3:.3f} ms (goal < 0.5 ms)")


if __name__ == "__main__":
    main()
