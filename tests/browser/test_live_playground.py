"""The LivePlayground in a real browser: a person's speech in, the model's words and voice out.

JupyterLab runs a one-cell notebook, ``rw.LivePlayground()`` (the embedded local server, no key:
its own VAD, Whisper tiny.en, eSpeak), in Debian's Chromium at 1366x768, whose fake microphone
plays a real recording: Debian codec2-examples' ``speech_orig_16k.wav`` (LGPL-2.1), four
Harvard sentences read by a person. As a user would, the test clicks "Start microphone". Then,
from the kernel and in the page:

- the playground renders whole at 1366x768: the settings (start-only ones locked, saying
  why), the microphone, the speaker, the waveform, both transcript columns, the steering box,
  the meters and the event log, and nothing in it scrolls sideways;
- the person's transcript (GPT-Live's ``session.input_transcript.delta``, by position) says
  the recording's words within :data:`MAX_WER`, in the kernel and in the page's "You" column;
- the model answers: "I heard: ..." in the "Model" column, and its audio played in the page;
- the usage shows: billed seconds as the WebSocket session reports them (seconds only, no
  active/paused breakdown), and dollars priced as active, said to be an upper bound, with the
  price's source, in the page.

Screenshots for a person to check: ``tests/browser/artifacts/live_playground_1366x768.png``
(the console's top in view), ``..._lower.png`` (scrolled to its steering box and event log),
``..._settings.png`` (the settings column scrolled to its end) and the page at the end (the
conftest's).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import (
    ARTIFACTS,
    HARVARD_PLAYED,
    Lab,
    launch_browser,
    run_notebook,
)
from tests.server.test_whisper import SENTENCES, wer, words

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

NOTEBOOK = "live_playground.ipynb"
# As tests/browser/test_playground_hears.py: Whisper tiny.en on the recording through
# Chromium's capture, cut into turns by the server's VAD.
MAX_WER = 0.20
SCREENSHOT = ARTIFACTS / "live_playground_1366x768.png"
SCREENSHOT_LOWER = ARTIFACTS / "live_playground_1366x768_lower.png"
SCREENSHOT_SETTINGS = ARTIFACTS / "live_playground_1366x768_settings.png"

# Everything inside the playground whose content is wider than its box (form fields scroll
# their own text and are left out): as tests/browser/test_layout.py checks the Playground.
OVERFLOWING = """
() => {
  const root = document.querySelector('.rw-live-playground');
  return [root, ...root.querySelectorAll('*')]
    .filter((e) => !['INPUT', 'TEXTAREA', 'SELECT', 'OPTION', 'CANVAS', 'svg'].includes(e.tagName)
                   && e.closest('svg') === null && e.clientWidth > 0
                   && e.scrollWidth > e.clientWidth + 1
                   && getComputedStyle(e).overflowX !== 'hidden'
                   && getComputedStyle(e).overflowX !== 'clip')
    .map((e) => ({tag: e.tagName, cls: String(e.className).slice(0, 60),
                  text: e.innerText.slice(0, 40), scroll: e.scrollWidth, client: e.clientWidth}));
}
"""
# The settings' rows (group headings and controls, in order) that overlap the row before them:
# a height-capped column squeezes nested rows over each other.
OVERLAPPING = """
() => {
  const rows = [...document.querySelector('.rw-live-settings > .widget-box, '
    + '.rw-live-settings > .lm-Widget').children].filter((e) => e.offsetHeight > 0);
  const out = [];
  for (let i = 1; i < rows.length; i++) {
    const a = rows[i - 1].getBoundingClientRect(), b = rows[i].getBoundingClientRect();
    if (b.top < a.bottom - 1) out.push([rows[i - 1].innerText.slice(0, 30), rows[i].innerText.slice(0, 30)]);
  }
  return [rows.length, out];
}
"""
# Each side's rows in the page's transcript columns ("You", "Model").
ROWS = """
() => [...document.querySelectorAll('.rw-live-transcripts .rw-transcription')].map(
  (box) => [...box.querySelectorAll('.rw-turn')].map((row) => [
    row.querySelector('.rw-turn-text').textContent.trim(),
    row.querySelector('.rw-turn-note').textContent.trim()]))
"""


@pytest.fixture(scope="module")
def browser(harvard_wav: Path) -> Iterator[Any]:
    """The conftest's browser, its fake microphone playing the recording once."""
    yield from launch_browser(harvard_wav)


def test_the_live_playground_hears_a_person_and_answers(small_page: Any, lab: Lab) -> None:
    page = small_page
    lab.write_notebook(
        NOTEBOOK, ["import realtime_widgets as rw\nplayground = rw.LivePlayground()\nplayground"]
    )
    run_notebook(page, lab, NOTEBOOK)
    mic_button = page.get_by_role("button", name="Start microphone")
    mic_button.wait_for(timeout=240_000)
    kernel = lab.kernel_for(NOTEBOOK)
    try:
        kernel.wait("playground.session is not None and playground.session.started")
        # -- it renders whole: every part, the start-only settings locked with why
        page.locator(".rw-live-playground").first.scroll_into_view_if_needed()
        for part in (
            ".rw-live-settings",
            ".rw-live-status-line",
            ".rw-live-meters-box",
            ".rw-live-fixtures",
            ".rw-live-transcripts",
            ".rw-live-steering",
        ):
            assert page.locator(part).first.is_visible(), part
        assert page.locator(".rw-live-playground canvas").first.is_visible()  # the waveform
        settings = page.locator(".rw-live-settings").first.inner_text()
        assert settings.count("fixed by session.start: End session, change it, Connect") == 8
        assert settings.count("WebRTC/SIP only (client.live.create())") == 2
        overflowing = page.evaluate(OVERFLOWING)
        assert overflowing == [], overflowing
        rows, overlapping = page.evaluate(OVERLAPPING)
        assert rows > 12, rows  # the headings and the twelve controls
        assert overlapping == [], overlapping

        # -- the microphone: the fake device plays the recording once
        mic_button.click()
        start = kernel.eval("playground.parts['microphone'].samples_received")
        kernel.wait(
            f"playground.parts['microphone'].samples_received >= {start + HARVARD_PLAYED}",
            timeout=600,
            every=2,
        )
        # Every sentence heard: the turns' transcripts come as the VAD ends them (each once,
        # with no done event); wait until they hold the recording's words, or the time is up.
        deadline = time.monotonic() + 600
        while True:
            heard = " ".join(kernel.eval("playground.parts['you'].text").split())
            error = wer(" ".join(SENTENCES), heard)
            if error <= MAX_WER or time.monotonic() > deadline:
                break
            time.sleep(2)
        print(f"heard (WER {error:.3f}): {heard!r}")
        assert error <= MAX_WER, (error, heard)

        # -- the model answers in words and audio
        answers = kernel.wait(
            "[t for t in playground.parts['model'].text.splitlines() if 'I heard:' in t]",
            timeout=300,
        )
        print(f"answers: {answers}")
        assert any("birch" in words(a) for a in answers), answers
        played = kernel.wait("sum(playground.parts['speaker'].played.values())", timeout=300)
        assert played > 0
        assert kernel.eval("[e.message for e in playground.session.state.errors]") == []

        # -- the usage: billed seconds and dollars, with where the price comes from
        kernel.wait("playground.session.usage.reported", timeout=120)
        page.wait_for_function(
            "() => /billed/.test(document.querySelector('.rw-live-usage').textContent)",
            timeout=120_000,
        )
        meters = page.locator(".rw-live-meters-box").first.inner_text()
        print(f"meters: {meters}")
        usage = r"Usage: \d+ s billed \(seconds only: OpenAI reports active/paused for eligible "
        assert re.search(usage + r"WebRTC sessions alone\)", meters), meters
        assert not re.search(r"\d s (active|paused)", meters), meters
        cost = (
            r"Cost: \$\d+\.\d{4} \(the local server bills nothing\) at \$0\.05/active min \+ "
            r"\$0\.02/standby min for gpt-live-1\.1, an upper bound: \d+ s with no "
            r"active/standby split, priced as active"
        )
        assert re.search(cost, meters), meters
        note = page.locator(".rw-live-cost").first.get_attribute("title") or ""
        assert "upper bound if any of them were standby" in note, note
        assert "developers.openai.com/api/docs/models/gpt-live-1.1" in meters
        assert re.search(r"Latency: last \d+ ms", meters), meters

        # -- the page shows what was heard and what the model said
        page.wait_for_function(
            f"""() => {{ const rows = ({ROWS})();
                 return rows.length === 2
                   && rows[0].some(([t]) => /birch canoe/i.test(t))
                   && rows[1].some(([t]) => t.startsWith("I heard:")); }}""",
            timeout=120_000,
            polling=500,
        )
        you, model = page.evaluate(ROWS)
        print(f"page rows: you {you}, model {model}")
        shown = " ".join(text for text, _ in you)
        assert wer(heard, shown) == 0, (heard, shown)  # the page shows what the kernel heard
        assert page.evaluate(OVERFLOWING) == []

        # -- the screenshots a person checks at 1366x768: the console's top in view, then its
        # lower part (steering, the event log), scrolled to as a person would
        page.locator(".rw-live-playground").first.scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOT))
        assert page.locator(".rw-live-steering").first.is_visible()
        page.locator(".rw-live-steering").first.scroll_into_view_if_needed()
        page.mouse.wheel(0, 400)
        page.screenshot(path=str(SCREENSHOT_LOWER))
        # ... and the settings column scrolled to its end: delegation, the media-only fields
        page.evaluate(
            "() => { const s = document.querySelector('.rw-live-settings');"
            " s.scrollTop = s.scrollHeight; }"
        )
        page.locator(".rw-live-settings").first.scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOT_SETTINGS))
        # the event log lists both ways (its newest rows), GPT-Live's events by name
        logged = page.locator(".rw-live-playground details > summary").all_inner_texts()
        assert any("\u2192 session.input_audio.append" in row for row in logged), logged[:5]
        assert any("\u2190 session.output_" in row for row in logged), logged[:5]
        assert not page.widget_errors(), page.widget_errors()
    finally:
        kernel.close()
