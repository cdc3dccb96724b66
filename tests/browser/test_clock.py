"""The waveform keeps the session's time (issue 23, items 2-4 of the waveform and its WAV).

One JupyterLab page at 1366x768 (then 1920x1080): a typed message and its spoken reply, then
the fake microphone speaks and barges in on the next reply. Read back from the page (the layout
the view computed, ``element.rwLayout``, and the canvas's pixels) and compared with the
kernel's own records on the session clock (``session.events``: when each append, delta and
truncate went):

- the live "you" lane ends where the session clock is now (before, it stood ~10 s behind after
  a typed turn's reply), its speech markers sit where the speech's audio was sent, the typed
  turn where it was typed, the reply where its first delta came, the cut where the reply was
  heard to, "cancelled" when it was cancelled;
- the reply's audio received past the cut is drawn in the dropped colour over a hatch, the
  heard audio in the reply colour;
- no two marker labels overlap, none covers a lane, the lanes' names sit in their own gutter
  (no signal drawn there), the typed turn is labelled;
- the ``⤓ WAV`` button downloads a stereo WAV: the user's speech left, the reply right, each at
  its time on the clock, the cut reply silent past the cut; its glyph renders.

Screenshots: ``tests/browser/artifacts/waveform_clock_1366x768.png`` and ``..._1920x1080.png``.
"""

from __future__ import annotations

import io
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.browser.conftest import ARTIFACTS, Lab, run_notebook
from tests.browser.test_console import MISSING_GLYPH

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

TYPED = "Tell me about the weather in Paris today, please."
CELLS = [
    "import ipywidgets as w\n"
    "from realtime_widgets import SessionConfig\n"
    "from realtime_widgets.client import RealtimeSession\n"
    "from realtime_widgets.widgets import Microphone, Speaker, Waveform\n"
    "session = RealtimeSession(SessionConfig())\n"
    "session.connect()\n"
    "speaker = Speaker(session)\n"
    "mic = Microphone(session)\n"
    "wave = Waveform(session, height=118)  # as the Playground shows it\n"
    "sent = []  # (session clock s, ms of audio) of every append, as the session sent it\n"
    "session.add_audio_tap(lambda x, rate: sent.append((session.elapsed, len(x) * 1000 / rate)))\n"
    "w.VBox([mic, speaker, wave])",
]

# The session's records, on its clock (seconds): appends (time, audio ms), deltas (time, item),
# events received (time, type, data).
RECORDS = """[(e.t, e.direction, e.type, {k: v for k, v in e.data.items()
    if k in ('audio', 'delta', 'item_id', 'audio_start_ms', 'audio_end_ms', 'item', 'response')})
    for e in session.events if e.type in ('response.output_audio.delta', 'input_audio_buffer.speech_started',
    'conversation.item.truncate', 'conversation.item.truncated', 'conversation.item.added',
    'response.done')]"""

LAYOUT = (
    "() => { const l = document.querySelector('.rw-waveform').rwLayout; "
    "return l && {...l, xOf: undefined}; }"
)

# Per canvas column x of the lane [y0, y1): counts of pixels of each colour.
PIXELS = """([y0, y1, colours]) => {
  const c = document.querySelector('.rw-waveform canvas');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const out = colours.map(() => new Array(c.width).fill(0));
  for (let y = Math.ceil(y0); y < Math.floor(y1); y++)
    for (let x = 0; x < c.width; x++) {
      const i = 4 * (y * c.width + x);
      colours.forEach(([r, g, b], k) => {
        if (Math.abs(d[i] - r) < 8 && Math.abs(d[i + 1] - g) < 8 && Math.abs(d[i + 2] - b) < 8 && d[i + 3] > 200) out[k][x]++;
      });
    }
  return out;
}"""
# How far the "you" lane's audio and speech markers may sit from when the audio was sent: a
# chunk sits at most join_ms (250 ms) behind it and never after it (a burst after a kernel
# stall moves back to end at the clock), plus the batch delay (50 ms) and a bin or two.
TOL_MS = 400
IN_RGB, OUT_RGB, DROPPED_RGB = (0x34, 0x98, 0xDB), (0x7F, 0x8C, 0x8D), (0xD5, 0xDA, 0xDC)


def sent_at(appends: list[tuple[float, float]], audio_ms: float) -> float:
    """When (ms on the session clock) the input audio at ``audio_ms`` was captured: its
    append's time less the audio after it in that append."""
    total = 0.0
    for t, ms in appends:
        total += ms
        if total >= audio_ms:
            return t * 1000 - (total - audio_ms)
    raise AssertionError(f"no append holds audio at {audio_ms} ms (sent {total} ms)")


def label_boxes(page: Any) -> list[dict[str, Any]]:
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll('.rw-waveform .rw-marker-label')].map((e) => {
                 const r = e.getBoundingClientRect();
                 return {text: e.textContent, kind: e.dataset.kind, left: r.left, top: r.top,
                         right: r.right, bottom: r.bottom}; })"""
        )
    )


def check_labels(page: Any, layout: dict[str, Any]) -> list[dict[str, Any]]:
    """No two label boxes intersect, none reaches into the lanes or the names' gutter."""
    canvas = page.evaluate(
        "() => { const r = document.querySelector('.rw-waveform canvas')"
        ".getBoundingClientRect(); return {left: r.left, top: r.top}; }"
    )
    boxes = label_boxes(page)
    for i, a in enumerate(boxes):
        assert a["bottom"] <= canvas["top"] + layout["lanes"]["in"]["top"] + 0.5, a
        assert a["left"] >= canvas["left"] + layout["gutter"] - 0.5, a
        for b in boxes[i + 1 :]:
            apart = (
                a["right"] <= b["left"]
                or b["right"] <= a["left"]
                or a["bottom"] <= b["top"]
                or b["bottom"] <= a["top"]
            )
            assert apart, (a, b)
    return boxes


def zoom_to_all(page: Any) -> dict[str, Any]:
    """Pause, then wheel out (as a user would) until the whole conversation is in view."""
    page.locator(".rw-waveform .rw-pause").click()
    page.locator(".rw-waveform canvas").hover()
    layout: dict[str, Any] = {}
    for _ in range(30):
        layout = page.evaluate(LAYOUT)
        if layout["from"] <= 0:
            break
        page.mouse.wheel(0, 100)
        page.wait_for_function(
            f"() => document.querySelector('.rw-waveform').rwLayout.binsPerPx > {layout['binsPerPx']}"
        )
    assert layout["from"] <= 0, layout
    return layout


def test_the_waveform_keeps_the_session_clock_through_a_typed_turn_and_a_barge_in(
    small_page: Any, lab: Lab, tmp_path: Path
) -> None:
    page = small_page
    run_notebook(page, lab, lab.write_notebook("clock.ipynb", CELLS))
    page.wait_for_function(
        "() => document.querySelector('.rw-waveform canvas') && "
        "document.querySelector('.rw-speaker')",
        timeout=300_000,
    )
    kernel = lab.kernel_for("clock.ipynb")
    try:
        kernel.wait("session.connected")
        # 1. a typed turn: its reply plays to the end
        kernel.eval(f"session.send_text({TYPED!r}) or 1")
        kernel.wait("[e for e in session.events if e.type == 'response.done']", timeout=300)
        kernel.wait(
            "speaker.played and all(speaker.played.get(i, 0) >= n - 4800 "
            "for i, n in speaker.received.items())",
            timeout=300,
        )
        # 2. then the microphone: a spoken turn, and a barge-in on its reply. The clip's second
        # sentence barges in if the reply is playing by then; on a loaded machine the reply
        # often comes later, so as soon as it plays the test barges in as the speaker does on
        # speech: a flush (the page answers what it played; the kernel truncates there).
        kernel.eval("mic.start() or 1")
        kernel.wait(
            "[e for e in session.events if e.type == 'input_audio_buffer.speech_started']",
            timeout=600,
        )
        truncated = "[e for e in session.events if e.type == 'conversation.item.truncated']"
        reply_playing = "len(speaker.received) >= 2 and speaker.played.get(list(speaker.received)[-1], 0) > 4800"
        kernel.wait(f"{truncated} or ({reply_playing})", timeout=600, every=0.25)
        if not kernel.eval(truncated):
            kernel.eval("speaker.flush() or 1")
            kernel.wait(truncated, timeout=120)
            kernel.eval(
                "any(r.status == 'in_progress' for r in session.state.responses.values()) "
                "and session.cancel_response() or 1"
            )
        # 3. the "you" lane ends where the session clock says the microphone's last audio was
        # sent (before, it stood ~10 s behind after a typed turn's reply; within TOL_MS now),
        # and is in view
        kernel.eval("mic.stop() or 1")
        kernel.wait("not mic.streaming", timeout=120)
        last_sent_ms = kernel.eval("sent[-1][0] * 1000")
        page.wait_for_function(
            f"() => document.querySelector('.rw-waveform').rwLayout.inEndMs > {last_sent_ms - TOL_MS}",
            timeout=60_000,
        )
        layout = page.evaluate(LAYOUT)
        assert abs(layout["inEndMs"] - kernel.eval("sent[-1][0] * 1000")) < TOL_MS, layout
        assert layout["inEndMs"] >= layout["from"] * layout["binMs"]
        kernel.wait(
            "all(r.status != 'in_progress' for r in session.state.responses.values())",
            timeout=300,
        )
        records = kernel.eval(RECORDS)

        # 4. the whole conversation in view; the positions the view drew, against the kernel's
        layout = zoom_to_all(page)
        marks = layout["markers"]
        appends = [(t, ms) for t, ms in kernel.eval("sent")]
        started = [d["audio_start_ms"] for _, _, k, d in records if k.endswith("speech_started")]
        drawn = sorted(m["ms"] for m in marks if m["kind"] == "speech_started")
        assert len(drawn) == len(started) >= 1, (drawn, started)
        for ms, audio_ms in zip(drawn, started, strict=True):
            assert abs(ms - sent_at(appends, audio_ms)) < TOL_MS, (ms, audio_ms, drawn, started)
        typed_t = next(
            t
            for t, _, k, d in records
            if k == "conversation.item.added" and d["item"].get("role") == "user"
        )
        typed = [m for m in marks if m["kind"] == "typed"]
        assert len(typed) == 1, marks
        assert abs(typed[0]["ms"] - typed_t * 1000) < 150, (typed, typed_t)
        # each reply's deltas (arrival time, ms of audio): it plays from its first delta on,
        # each delta after the one before it and not before it came
        deltas: dict[str, list[tuple[float, float]]] = {}
        for t, _, k, d in records:
            if k == "response.output_audio.delta":
                ms = int(d["delta"].strip("<> bytes")) / 48
                deltas.setdefault(d["item_id"], []).append((t * 1000, ms))
        first_delta = {item: rows[0][0] / 1000 for item, rows in deltas.items()}
        reply_t = min(first_delta.values())
        cut_item, cut_heard = next(
            (d["item_id"], d["audio_end_ms"])
            for _, _, k, d in records
            if k == "conversation.item.truncated"
        )
        truncate_t = next(t for t, _, k, _ in records if k == "conversation.item.truncate")
        cut = [m for m in marks if m["kind"] == "truncated"]
        assert len(cut) == 1, marks
        end, played = 0.0, 0.0
        heard_end = None
        for t, ms in deltas[cut_item]:
            start, end = max(end, t), max(end, t) + ms
            if heard_end is None and played + ms >= cut_heard:
                heard_end = start + (cut_heard - played)
            played += ms
        assert heard_end is not None
        assert abs(cut[0]["ms"] - heard_end) < 250, (cut, heard_end)
        assert cut[0]["ms"] <= truncate_t * 1000 + 50  # heard before the truncate went
        cancelled_t = [
            t
            for t, _, k, d in records
            if k == "response.done" and d["response"].get("status") == "cancelled"
        ]
        cancelled = [m for m in marks if m["kind"] == "response_done" and m["label"] == "cancelled"]
        assert len(cancelled) == len(cancelled_t), (cancelled, cancelled_t)
        for mark, t in zip(cancelled, cancelled_t, strict=True):
            assert abs(mark["ms"] - t * 1000) < 150, (mark, t)

        # 5. the dropped audio drawn in the dropped style, the heard audio in the reply colour
        assert len(layout["dropped"]) == 1, layout["dropped"]
        span = layout["dropped"][0]
        assert abs(span["from_ms"] - cut[0]["ms"]) < 1
        assert span["x1"] - span["x0"] >= 3, span  # visible at this zoom
        out_lane = layout["lanes"]["out"]
        in_lane = layout["lanes"]["in"]
        normal, dropped = page.evaluate(
            PIXELS, [out_lane["top"], out_lane["bottom"], [OUT_RGB, DROPPED_RGB]]
        )
        x0, x1 = int(np.ceil(span["x0"])) + 1, int(span["x1"]) - 1
        assert sum(normal[x0:x1]) == 0, normal[x0:x1]  # (silence is a 1 px line)
        assert max(dropped[x0:x1]) >= 3, dropped[x0:x1]  # signal, in the dropped colour

        def x_of(ms: float) -> float:
            return float(
                layout["gutter"] + (ms / layout["binMs"] - layout["from"]) / layout["binsPerPx"]
            )

        # the typed reply's audio starts where its first delta came (TTS may open on a hush)
        first_out_x = next(x for x, n in enumerate(normal) if n >= 3)
        assert (
            -2
            <= first_out_x - x_of(reply_t * 1000)
            <= 2 + 600 / layout["binMs"] / layout["binsPerPx"]
        )
        # no signal in the names' gutter (the names sit left of the audio, never on it)
        (blue,) = page.evaluate(PIXELS, [in_lane["top"], in_lane["bottom"], [IN_RGB]])
        assert sum(blue[: layout["gutter"]]) == 0
        assert max(blue[layout["gutter"] :]) >= 3

        # 6. labels: none overlaps, none covers a lane; the typed turn carries its tag
        boxes = check_labels(page, layout)
        assert {"speech_started", "truncated", "typed"} <= {b["kind"] for b in boxes}, boxes
        assert any(b["kind"] == "typed" and b["text"].startswith("typed") for b in boxes)
        page.locator(".rw-waveform").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "waveform_clock_1366x768.png"))

        # 7. the WAV: stereo, the user left, the reply right, on the same clock
        button = page.locator(".rw-waveform .rw-wav")
        font = button.evaluate("(b) => getComputedStyle(b).font")
        assert not page.evaluate(MISSING_GLYPH, ["\u2913", font])
        assert "stereo WAV" in (button.get_attribute("title") or "")
        with page.expect_download(timeout=120_000) as download:
            button.click()
        path = tmp_path / "conversation.wav"
        download.value.save_as(path)
        with wave.open(io.BytesIO(path.read_bytes())) as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, 24000)
            frames = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2)
        loud = np.abs(frames.astype(np.int32)) > 500

        def onset(channel: int, after_ms: float = 0) -> float:
            on = np.flatnonzero(loud[round(after_ms * 24) :, channel])
            return float(on[0] / 24 + after_ms) if on.size else -1.0

        # right: silent until the typed reply's first delta, then the reply
        assert 0 <= onset(1) - (reply_t * 1000 - 30) < 600, (onset(1), reply_t)
        # right: the cut reply silent from the cut on (until the next reply, if any)
        later = [t * 1000 for t in first_delta.values() if t * 1000 > cut[0]["ms"] + 100]
        stop = min(later, default=len(frames) / 24)
        past_cut = loud[round((cut[0]["ms"] + 20) * 24) : round(stop * 24), 1]
        assert not past_cut.any()
        if cut_heard > 1000:  # (a reply may open on a hush)
            assert loud[round((cut[0]["ms"] - cut_heard) * 24) : round(cut[0]["ms"] * 24), 1].any()
        # left: nothing before the microphone's first append, the speech where it was sent
        assert onset(0) >= appends[0][0] * 1000 - 100, (onset(0), appends[0])
        speech_at = sent_at(appends, started[0] + 300)  # the server's prefix padding: 300 ms
        assert abs(onset(0) - speech_at) < TOL_MS, (onset(0), speech_at)
        assert not loud[
            round(typed_t * 1000 * 24) : round((appends[0][0] * 1000 - 100) * 24), 0
        ].any()

        # 8. at 1920x1080 the typed turn's label says what was typed
        page.set_viewport_size({"width": 1920, "height": 1080})
        page.wait_for_function(
            "() => document.querySelector('.rw-waveform').rwLayout.width > 1000", timeout=60_000
        )
        page.wait_for_function(
            """() => [...document.querySelectorAll('.rw-waveform .rw-marker-label')]
                 .some((e) => e.dataset.kind === 'typed' && e.textContent.startsWith('typed: Tell'))""",
            timeout=60_000,
        )
        check_labels(page, page.evaluate(LAYOUT))
        page.locator(".rw-waveform").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "waveform_clock_1920x1080.png"))
        assert not page.widget_errors(), page.page_errors
    finally:
        kernel.eval("session.close() or 1")
        kernel.close()
