"""The transcription playground in JupyterLab on Debian's Chromium, at 1366x768.

Runs ``05_transcription.ipynb``: the playground renders its generated settings, the status line
shows what the server reports, and the two turns the notebook feeds in appear in the page as
the kernel recorded them, word by word, shaded by probability. A screenshot at 1366x768 is
saved under tests/browser/artifacts/ for review.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, Lab, run_notebook

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

NOTEBOOK = "05_transcription.ipynb"


def test_transcription_playground_at_1366x768(small_page: Any, lab: Lab) -> None:
    page = small_page
    run_notebook(page, lab, NOTEBOOK)
    view = page.locator(".rw-transcription").first
    view.wait_for(timeout=240_000)
    kernel = lab.kernel_for(NOTEBOOK)
    try:
        rows = kernel.wait(
            "[r for r in playground.transcript.snapshot if r['state'] == 'done'] "
            "if 'playground' in globals() and len([r for r in playground.transcript.snapshot "
            "if r['state'] == 'done']) == 2 else None",
            timeout=300,
        )
        status = kernel.eval("playground.status.value")
    finally:
        kernel.close()
    # The page shows each turn as the kernel has it, one span per token.
    page.wait_for_function(
        "() => document.querySelectorAll('.rw-transcription .rw-token').length >= 11",
        timeout=120_000,
    )
    texts = page.evaluate(
        "() => [...document.querySelectorAll('.rw-transcription .rw-turn-text')]"
        ".map(n => n.textContent)"
    )
    assert texts == [r["text"] for r in rows]
    tokens = page.evaluate(
        "() => [...document.querySelectorAll('.rw-transcription .rw-token')]"
        ".map(n => n.textContent)"
    )
    assert tokens == [t for r in rows for t, _ in r["tokens"]]
    # Shading follows the probability: the least sure token is the most amber.
    alphas = page.evaluate(
        """() => [...document.querySelectorAll('.rw-transcription .rw-token')].map(
             s => Number(getComputedStyle(s).backgroundColor.split(',')[3]?.replace(')', '') ?? 0))"""
    )
    probs = [lp for r in rows for _, lp in r["tokens"]]
    assert alphas.index(max(alphas)) == probs.index(min(probs))
    assert max(alphas) > 0.3
    # The status line says what the server reports; the settings are there, in view.
    assert "gpt-4o-transcribe" in status
    assert "logprobs" in status
    view.scroll_into_view_if_needed()
    box = page.locator(".rw-transcription-playground").first.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= 1366  # no sideways overflow at this width
    settings = page.locator(".rw-transcription-settings").first
    assert settings.is_visible()
    assert settings.locator("label", has_text="silence duration ms").count() >= 1
    page.locator(".rw-transcription-playground").first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "transcription_playground_1366x768.png"))
    # Every settings row keeps its full height (a squeezed flex column clipped them once).
    squeezed = page.evaluate(
        """() => [...document.querySelectorAll('.rw-transcription-settings .widget-inline-hbox')]
             .filter(n => n.offsetParent !== null && n.scrollHeight > n.clientHeight + 1)
             .map(n => [n.textContent.trim().slice(0, 30), n.scrollHeight, n.clientHeight,
                        n.parentElement.className])"""
    )
    assert squeezed == []
    tops = page.evaluate(
        """() => [...document.querySelector('.rw-transcription-settings').children]
             .map(n => { const r = n.getBoundingClientRect(); return [r.top, r.bottom]; })"""
    )
    assert all(a[1] <= b[0] + 1 for a, b in itertools.pairwise(tops))
    page.locator(".rw-transcription-playground").first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "transcription_playground_1366x768.png"))
    assert not page.widget_errors(), page.widget_errors()
