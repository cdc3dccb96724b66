"""Widget responsiveness and cost, each against its goal, measured in the same run.

- Control change -> effective value shown, through the local server, including the panel's
  120 ms debounce: p95 (goal <= 150 ms).
- Kernel -> browser bytes per second of played audio vs raw PCM (goal <= 1.05x).
- A 10,000-delta transcript: time per update for the first vs the last thousand deltas (goal:
  flat, ratio ~1.0: O(delta)).
These three need no browser: messages go to a recording comm, which is what the kernel side
costs. The fourth is a real browser run (JupyterLab + Debian Chromium with a fake microphone, the
machinery of tests/browser):
- Toolkit-added latency, measured by the playground's LatencyProbe: microphone capture ->
  input_audio_buffer.append sent, and response.output_audio.delta received -> first sample played
  (goal <= 60 ms each way), each against the reference measured in the same run: half the
  shortest kernel<->page round trip (what one comm message costs at best on this machine).
  Skipped, saying so, when Chromium is missing or RW_SKIP_BROWSER=1.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

import numpy as np


class _Comm:
    comm_id = "bench"
    kernel = "Truthy"

    def __init__(self, *a: Any, **k: Any) -> None:
        self.messages: list[tuple[Any, list[Any]]] = []

    def open(self, *a: Any, **k: Any) -> None:
        pass

    def on_msg(self, *a: Any, **k: Any) -> None:
        pass

    def send(self, data: Any = None, metadata: Any = None, buffers: Any = None) -> None:
        self.messages.append((data, list(buffers or [])))

    def close(self, *a: Any, **k: Any) -> None:
        pass


class _Manager:
    def register_comm(self, comm: Any) -> str:
        return "bench"

    def unregister_comm(self, comm: Any) -> None:
        pass


def _setup() -> None:
    import comm

    comm.create_comm = lambda **kw: _Comm()  # type: ignore[assignment]
    comm.get_comm_manager = lambda **kw: _Manager()  # type: ignore[assignment]


def bench_control_latency(n: int = 40) -> None:
    from realtime_widgets import SessionConfig
    from realtime_widgets.client import Endpoint, RealtimeSession
    from realtime_widgets.server.app import LocalServer
    from realtime_widgets.widgets.panel import ConfigPanel

    server = LocalServer(pace=0, speech=False).start()
    session = RealtimeSession(
        SessionConfig(output_modalities=["text"]), endpoint=Endpoint.local(server.url, "m")
    )
    session.connect()
    try:
        panel = ConfigPanel(session)
        slider = panel._find("turn_detection.silence_duration_ms")
        assert slider is not None
        times = []
        for i in range(n):
            value = 400 + (i % 2) * 100 + i
            start = time.perf_counter()
            slider.widget.value = value
            while (
                slider.widget.value != value
                or session.effective is None
                or (
                    session.effective.turn_detection.silence_duration_ms != value  # type: ignore[union-attr]
                )
            ):
                time.sleep(0.001)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        p95 = times[int(len(times) * 0.95) - 1]
        print(
            f"  control change -> effective value shown: p50 {statistics.median(times):.0f} ms, p95 {p95:.0f} ms "
            f"(goal <= 150 ms, the 120 ms debounce included)"
        )
    finally:
        session.close()
        server.stop()


def bench_audio_bytes() -> None:
    from realtime_widgets.widgets.speaker import Speaker

    speaker = Speaker()
    chunk = np.zeros(2400, np.int16)
    for _ in range(100):  # 10 s in 100 ms deltas
        speaker.play(chunk, "item_bench_0001")
    comm = speaker.comm
    payload = sum(len(b) for _, bufs in comm.messages for b in bufs)
    framing = sum(len(json.dumps(d)) for d, _ in comm.messages)
    raw = 100 * 2400 * 2
    print(
        f"  speaker: {(payload + framing) / raw:.4f}x raw PCM bytes per second of audio (goal <= 1.05x)"
    )


def bench_transcript() -> None:
    from realtime_widgets.protocol.events import parse_server_event
    from realtime_widgets.widgets.transcript import TranscriptView

    view = TranscriptView()
    added = parse_server_event(
        json.dumps(
            {
                "type": "conversation.item.added",
                "event_id": "e",
                "previous_item_id": None,
                "item": {"id": "a", "type": "message", "role": "assistant", "content": []},
            }
        )
    )
    view.state.apply(added)
    view.observe_event(added)
    deltas = [
        parse_server_event(
            json.dumps(
                {
                    "type": "response.output_audio_transcript.delta",
                    "event_id": "e",
                    "response_id": "r",
                    "item_id": "a",
                    "output_index": 0,
                    "content_index": 0,
                    "delta": f"word{i % 10} ",
                }
            )
        )
        for i in range(10000)
    ]
    per: list[float] = []
    for event in deltas:
        start = time.perf_counter()
        view.state.apply(event)
        view.observe_event(event)
        per.append(time.perf_counter() - start)
    first = statistics.mean(per[:1000]) * 1e6
    last = statistics.mean(per[-1000:]) * 1e6
    print(
        f"  transcript: {first:.1f} us per delta over the first 1,000, {last:.1f} us over the last 1,000 "
        f"of 10,000: ratio {last / first:.2f} (goal ~1.0, O(delta))"
    )


def bench_toolkit_latency(replies: int = 3) -> None:
    import os
    import shutil
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    if os.environ.get("RW_SKIP_BROWSER") == "1":
        print("  toolkit latency: skipped (RW_SKIP_BROWSER=1)")
        return
    chromium = os.environ.get("RW_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        print(f"  toolkit latency: skipped (no Chromium at {chromium})")
        return
    from playwright.sync_api import sync_playwright

    from realtime_widgets.audio.wav import write_wav
    from realtime_widgets.server.tts import default_synthesizer
    from tests.browser.conftest import (
        CHROMIUM_FLAGS,
        MIC_GAP_MS,
        MIC_TEXTS,
        REPO,
        Lab,
        _wait_for_runtime_file,
        run_notebook,
    )
    from tests.speech import make_clip

    with tempfile.TemporaryDirectory() as scratch:
        root, runtime = Path(scratch) / "lab", Path(scratch) / "runtime"
        root.mkdir()
        runtime.mkdir()
        shutil.copy(REPO / "notebooks" / "00_playground.ipynb", root)
        clip = make_clip(default_synthesizer(), *MIC_TEXTS, gap_ms=MIC_GAP_MS, lead_ms=1500)
        wav = Path(scratch) / "speech.wav"
        write_wav(wav, clip.samples, 24000)
        token = os.urandom(16).hex()
        env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
        env.update(JUPYTER_RUNTIME_DIR=str(runtime), JUPYTER_PLATFORM_DIRS="1")
        env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
        log = Path(scratch) / "jupyter.log"
        command = [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", "--port=0",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
            "--ServerApp.allow_root=True", "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]  # fmt: skip
        with log.open("wb") as out:
            lab_process = subprocess.Popen(
                command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        kernel = None
        try:
            info = _wait_for_runtime_file(runtime, lab_process, log)
            lab = Lab(f"http://127.0.0.1:{info['port']}", token, root, runtime, clip, wav)
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=chromium,
                    headless=True,
                    args=[*CHROMIUM_FLAGS, f"--use-file-for-fake-audio-capture={wav}%noloop"],
                    timeout=180_000,
                )
                try:
                    page = browser.new_page(viewport={"width": 1366, "height": 768})
                    page.set_default_timeout(240_000)
                    run_notebook(page, lab, "00_playground.ipynb")
                    page.get_by_role("button", name="Start microphone").wait_for(timeout=240_000)
                    kernel = lab.kernel_for("00_playground.ipynb")
                    kernel.wait("playground.session is not None and playground.session.connected")
                    page.get_by_role("button", name="Start microphone").click()
                    # The clip's two utterances stream through the page (the mic path).
                    kernel.wait("playground.latency.summary()['mic_chunks'] >= 150", timeout=400)
                    page.get_by_role("button", name="Stop microphone").click()
                    kernel.wait("not playground.parts['microphone'].streaming", timeout=120)
                    for _ in range(replies):
                        # The same speech again, streamed by the kernel (no browser capture):
                        # each pass gets spoken replies, each one more first-sample-played.
                        before = kernel.eval("playground.latency.summary()['played_items']")
                        kernel.eval(f"playground.parts['microphone'].stream_file({str(wav)!r})")
                        kernel.wait(
                            f"playground.latency.summary()['played_items'] > {before}", timeout=300
                        )
                    summary = kernel.eval("playground.latency.summary()")
                    speaker = kernel.eval(
                        "{k: getattr(playground.parts['speaker'], k) for k in ('prebuffer_ms', "
                        "'jitter_ms', 'arrival_jitter_ms', 'clock_burst_ms', 'underruns')}"
                    )
                    core = kernel.eval(
                        "[min(r for r, _ in c.samples) for c in "
                        "(playground.latency.core.mic_clock, playground.latency.core.speaker_clock)]"
                    )
                finally:
                    browser.close()
        finally:
            if kernel is not None:
                kernel.close()
            lab_process.terminate()
            lab_process.wait(timeout=30)
    floor = min(core) / 2  # one comm message at best: half the shortest round trip
    mic, out = summary["mic_to_append_ms"], summary["delta_to_played_ms"]

    def row(name: str, stats: dict[str, float | None], parts: str) -> None:
        median, p90 = stats["median"] or 0.0, stats["p90"] or 0.0
        print(
            f"  {name}: median {median:.0f} ms, p90 {p90:.0f} ms ({parts}); "
            f"{median / 60:.2f}x the 60 ms goal, {median / floor:.1f}x one comm message ({floor:.0f} ms)"
        )

    row(
        f"mic capture -> append sent, {summary['mic_chunks']} chunks",
        mic,
        f"page -> kernel {summary['mic_to_kernel_ms']['median']:.0f}, in the kernel "
        f"{summary['mic_in_kernel_ms']['median']:.1f}",
    )
    row(
        f"delta received -> first sample played, {summary['played_items']} replies",
        out,
        f"in the kernel {summary['delta_in_kernel_ms']['median']:.1f}, kernel -> page "
        f"{summary['delta_to_browser_ms']['median']:.0f}, page -> played "
        f"{summary['browser_to_played_ms']['median']:.0f}",
    )
    print(
        f"  speaker at the end: jitter prebuffer {speaker['prebuffer_ms']:.0f} ms (chunks up to "
        f"{speaker['jitter_ms']:.0f} ms late by the audio clock, {speaker['arrival_jitter_ms']:.0f} ms by "
        f"the page's wall clock; audio clock burst {speaker['clock_burst_ms']:.0f} ms), "
        f"{speaker['underruns']} underruns"
    )
    print(
        f"  clock offset uncertainty: mic +-{summary['mic_clock_uncertainty_ms']:.0f} ms, "
        f"speaker +-{summary['speaker_clock_uncertainty_ms']:.0f} ms (half the shortest round trip)"
    )


def main() -> None:
    _setup()
    bench_audio_bytes()
    bench_transcript()
    bench_control_latency()
    bench_toolkit_latency()


if __name__ == "__main__":
    main()
