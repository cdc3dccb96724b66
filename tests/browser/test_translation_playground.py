"""The TranslationPlayground in JupyterLab on Debian's Chromium at 1366x768, hearing a person.

A notebook made here starts a local server with a translator the test provides (it says how many
words it was given, tagged with the target language: no model, and it says so) and shows
``rw.TranslationPlayground(server=server)``. Chromium's fake microphone plays a real recording
(Debian codec2-examples' ``speech_orig_16k.wav``, four Harvard sentences read by a person) once.
As a user would, the test clicks "Start microphone". Then, from the kernel and in the page:

- the playground renders whole at 1366x768: its settings (generated from TranslationConfig, the
  model locked with its reason), the microphone, the waveform, both transcript columns and the
  event log, nothing wider than the window;
- the source transcript says the recording's words (Whisper tiny.en in the local server) and
  the page shows them as the kernel has them;
- each segment's translation (from the test's translator) appears beside it, and the latency
  line shows a measured figure;
- no widget raised.

A second playground on the embedded local server (no translator, as a newcomer gets it) hears the
same recording streamed from the kernel: the page says plainly, above its console, that there is
no translation and why, and its source column fills while the translation column stays empty.

The screenshots ``tests/browser/artifacts/translation_playground_1366x768.png`` and
``..._no_translator_1366x768.png`` are saved for a person to check that nothing is clipped,
overlapping or unlabelled.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import (
    ARTIFACTS,
    HARVARD_PLAYED,
    Lab,
    launch_browser,
    run_notebook,
)
from tests.server.test_whisper import SENTENCES, wer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

NOTEBOOK = "translation_playground.ipynb"
SCREENSHOT = ARTIFACTS / "translation_playground_1366x768.png"
SCREENSHOT_NO_TRANSLATOR = ARTIFACTS / "translation_playground_no_translator_1366x768.png"
# Whisper tiny.en on the whole clean recording: 0.10 (tests/server/test_whisper.py); here through
# Chromium's capture and cut into segments the server's VAD chose, heard one by one.
MAX_WER = 0.25
CELLS = [
    '''import realtime_widgets as rw


class WordCount:
    """A stand-in translator for the test: it counts the words it is given (not a model)."""

    def translate(self, text, source_language, target_language):
        return f"[{target_language}] {len(text.split())} palabras."


server = rw.LocalServer(translator=WordCount()).start()
playground = rw.TranslationPlayground(server=server)
playground''',
    # the embedded local server, as a newcomer gets it: no translator
    """plain = rw.TranslationPlayground()
plain""",
]
TRANSLATION = re.compile(r"^\[es\] (\d+) palabras\.$")


@pytest.fixture(scope="module")
def browser(harvard_wav: Path) -> Iterator[Any]:
    """The conftest's browser, its fake microphone playing the recording once."""
    yield from launch_browser(harvard_wav)


def test_translation_playground_hears_and_translates_at_1366x768(
    small_page: Any,
    lab: Lab,
    harvard_wav: Path,
) -> None:
    page = small_page
    run_notebook(page, lab, lab.write_notebook(NOTEBOOK, CELLS))
    playground = page.locator(".rw-translation-playground").first
    playground.wait_for(timeout=240_000)
    kernel = lab.kernel_for(NOTEBOOK)
    try:
        kernel.wait("'playground' in globals() and playground.session is not None "
                    "and playground.session.connected")  # fmt: skip
        # -- rendered whole, labelled, within the window
        mic = playground.get_by_role("button", name="Start microphone")
        mic.wait_for(timeout=120_000)
        playground.scroll_into_view_if_needed()
        box = playground.bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= 1366, box
        wide = page.evaluate(
            """() => [...document.querySelectorAll('.rw-translation-playground *')]
                 .filter((n) => n.offsetParent !== null && n.scrollWidth > n.clientWidth + 1
                   && getComputedStyle(n).overflowX !== 'visible'
                   && !n.closest('.rw-transcription') && n.tagName !== 'SELECT')
                 .map((n) => [n.className, n.textContent.trim().slice(0, 40), n.scrollWidth,
                   n.clientWidth])"""
        )
        assert wide == [], wide  # nothing scrolls sideways
        settings = page.locator(".rw-translation-settings").first
        for label in ("model", "output language", "input transcription", "noise reduction"):
            assert settings.get_by_text(label, exact=True).first.is_visible(), label
        assert "cannot change during a session" in settings.inner_text()
        status = kernel.eval("playground.connection.status.value")
        assert "translating with WordCount" in status, status

        # -- a person speaks: the fake microphone plays the recording once
        received = kernel.eval("playground.parts['microphone'].samples_received")
        mic.click()
        samples = received + HARVARD_PLAYED
        kernel.wait(f"playground.parts['microphone'].samples_received >= {samples}",
                    timeout=600, every=2)  # fmt: skip
        # every segment heard has its translation (the translator answers each one). The
        # segments are transcribed as the server's VAD ends them, the last one a moment after
        # the recording: wait until the rows hold the recording's words, or the time is up.
        deadline = time.monotonic() + 600
        while True:
            rows = kernel.wait(
                "(lambda rows: [[r.elapsed_ms, r.source, r.translation] for r in rows] "
                "if rows and all(r.translation for r in rows) and "
                "len(playground.session.metrics.latencies_ms()) >= 1 else None)"
                "(playground.session.state.rows())",
                timeout=600,
                every=2,
            )
            heard = " ".join(source for _, source, _ in rows)
            error = wer(" ".join(SENTENCES), heard)
            if error <= MAX_WER or time.monotonic() > deadline:
                break
            time.sleep(2)
        print(f"rows (position, heard, translation): {rows}")
        print(f"WER {error:.3f} over {len(rows)} segment(s): {heard!r}")
        assert error <= MAX_WER, (error, heard)
        for _, source, translation in rows:
            match = TRANSLATION.match(translation.strip())
            assert match, translation  # the test's translator's words, nothing else
            assert int(match[1]) == len(source.split())  # for that very segment
        assert kernel.eval("playground.session.state.errors") == []

        # -- the page shows both columns as the kernel has them, side by side
        columns = playground.locator(".rw-translation-transcripts .rw-transcription")
        expected = [[s for _, s, _ in rows], [t for _, _, t in rows]]
        page.wait_for_function(
            """(expected) => {
                 const cols = [...document.querySelector('.rw-translation-playground')
                   .querySelectorAll('.rw-translation-transcripts .rw-transcription')];
                 const shown = cols.map((c) => [...c.querySelectorAll('.rw-turn-text')]
                   .map((n) => n.textContent));
                 return JSON.stringify(shown) === JSON.stringify(expected); }""",
            arg=expected,
            timeout=120_000,
        )
        assert columns.count() == 2
        tops = page.evaluate(
            """() => [...document.querySelector('.rw-translation-playground').querySelectorAll(
                 '.rw-translation-transcripts .rw-transcription')].map((c) =>
                 [...c.querySelectorAll('.rw-turn')].map((n) => Math.round(
                   n.getBoundingClientRect().left)))"""
        )
        assert tops[0]
        assert tops[1]
        assert min(tops[1]) > max(tops[0])  # the translation column to the right of the source
        titles = page.locator(".rw-translation-transcripts").first.inner_text()
        assert "Heard (source)" in titles
        assert "Translation (es)" in titles
        # The last segment's latency is known when its translated audio arrives, which can be
        # after its words: read the kernel's figure again until the page shows the same one.
        deadline = time.monotonic() + 60
        while True:
            latency = kernel.eval("playground.session.metrics.latencies_ms()[-1]")
            try:
                page.wait_for_function(
                    "(ms) => document.querySelector('.rw-translation-latency')"
                    ".textContent.includes(`last ${ms} ms`)",
                    arg=round(latency),
                    timeout=5_000,
                )
                break
            except PlaywrightTimeout:
                if time.monotonic() > deadline:
                    raise
        played = kernel.wait("playground.parts['speaker'].received.get('translation', 0)", 120)
        assert played > 0  # the translated voice reached the page's player
        assert kernel.eval("playground.parts['waveform'].out_bins") > 0
        # the speaker's status line keeps its words (its box is not cut short)
        page.wait_for_function(
            "() => /speaker: [0-9.]+ s queued/.test(document.querySelector("
            "'.rw-translation-playground .rw-speaker').textContent)",
            timeout=60_000,
        )
        speaker = page.evaluate(
            """() => { const n = document.querySelector('.rw-translation-playground .rw-speaker');
                 return [n.textContent, n.scrollWidth, n.clientWidth]; }"""
        )
        assert speaker[1] <= speaker[2], speaker

        # -- the screenshot a person checks
        playground.scroll_into_view_if_needed()
        page.evaluate("() => document.querySelector('.rw-translation-playground').scrollIntoView()")
        page.screenshot(path=str(SCREENSHOT))

        # -- the embedded server has no translator: said above the console, the source flows
        kernel.wait(
            "'plain' in globals() and plain.session is not None and plain.session.connected"
        )
        # (the recording with its silence after: the server's VAD ends a segment at a pause)
        kernel.eval(f"plain.parts['microphone'].stream_file({str(harvard_wav)!r}, realtime=False)")
        source = kernel.wait(
            "plain.session.state.input_text.strip() if plain.session.state.errors and "
            "plain.session.state.rows() else None",
            timeout=600,
            every=2,
        )
        errors = kernel.eval("[e['code'] for e in plain.session.state.errors]")
        assert errors == ["translator_unavailable"], errors
        assert wer(" ".join(SENTENCES), source) <= MAX_WER, source
        second = page.locator(".rw-translation-playground").nth(1)
        notice = second.locator(".rw-translation-notice")
        notice.wait_for(state="visible", timeout=120_000)
        said = notice.inner_text()
        assert "No translation: this server has no translator." in said, said
        assert "The source transcript still shows below." in said, said
        page.wait_for_function(
            """() => { const p = document.querySelectorAll('.rw-translation-playground')[1];
                 const cols = p.querySelectorAll('.rw-translation-transcripts .rw-transcription');
                 return cols[0].querySelectorAll('.rw-turn').length > 0
                   && cols[1].querySelectorAll('.rw-turn').length === 0; }""",
            timeout=120_000,
        )
        assert "no translator: the source transcript only" in kernel.eval(
            "plain.connection.status.value"
        )
        titles = second.locator(".rw-translation-transcripts").inner_text()
        assert "none: no translator" in titles, titles
        page.evaluate(
            "() => document.querySelectorAll('.rw-translation-playground')[1].scrollIntoView()"
        )
        page.screenshot(path=str(SCREENSHOT_NO_TRANSLATOR))
        assert not page.widget_errors(), page.widget_errors()
    finally:
        try:
            kernel.eval("[p.close() for p in (playground, plain)] and server.stop()", timeout=60)
        finally:
            kernel.close()
