"""The playground in ``marimo edit`` on Debian's Chromium: it renders, and traits round-trip.

marimo renders anywidgets natively (not ipywidgets), so ``notebooks/playground_marimo.py``
builds the console from marimo controls derived from SessionConfig plus the toolkit's
anywidgets. Two round trips are checked in the page: a slider moved in the page re-runs the
kernel cell that sends ``session.update`` and the effective value comes back into the page; and
the microphone anywidget's ``context_rate`` trait, set by the browser, re-runs a cell that
shows it.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
marimo = pytest.importorskip("marimo")

ARTIFACTS = REPO / "tests" / "browser" / "artifacts"


def _free_port() -> int:
    # marimo has no port 0: it takes the port it is given (or searches upward from 2718), so
    # ask the OS for a free one and hand it over (a race only with another process binding it
    # in between; the URL marimo prints is what we use).
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def marimo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("marimo")
    shutil.copy(REPO / "notebooks" / "playground_marimo.py", root)
    shutil.copy(REPO / "pyproject.toml", root)  # [tool.marimo.runtime]: run on open
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    log = root / "marimo.log"
    command = [
        sys.executable, "-m", "marimo", "-y", "edit", "playground_marimo.py", "--headless",
        "--no-token", "--host", "127.0.0.1", "--port", str(_free_port()), "--skip-update-check",
        "--no-sandbox",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        url = None
        while url is None and time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"marimo exited with {process.returncode}:\n{log.read_text()}")
            found = re.search(r"URL: (http://[\w.:]+)", log.read_text(errors="replace"))
            url = found.group(1) if found else None
            time.sleep(0.25)
        assert url is not None, log.read_text()
        url = url.replace("localhost", "127.0.0.1")
        with urllib.request.urlopen(url, timeout=60) as response:  # serving
            assert response.status == 200
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def test_playground_in_marimo_edit(browser: Any, marimo_url: str) -> None:
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.set_default_timeout(240_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"{exc}\n{exc.stack}"))
    try:
        page.goto(f"{marimo_url}/?file=playground_marimo.py", timeout=240_000)
        # Rendered: the anywidgets (shadow DOM included) and the generated controls.
        page.get_by_role("button", name="Start microphone").wait_for(timeout=300_000)
        page.locator(".rw-transcript").first.wait_for()
        page.get_by_text("applied: speed 1,").first.wait_for()
        page.get_by_text("Turn detection").first.wait_for()

        # Round trip 1: the speed slider, moved in the page, re-runs the cell that sends
        # session.update; the server's effective value comes back into the page.
        page.get_by_text("Model & voice").first.click()
        slider = page.get_by_role("slider").first
        slider.wait_for()
        slider.focus()
        for _ in range(5):  # step 0.05: 1.0 -> 1.25
            page.keyboard.press("ArrowRight")
        page.get_by_text("applied: speed 1.25,").first.wait_for(timeout=120_000)

        # Round trip 2: an anywidget trait set by the browser (the microphone's AudioContext
        # rate) reaches the kernel and re-runs the cell that shows it.
        page.get_by_role("button", name="Start microphone").click()
        status = page.locator(".rw-mic-status").first
        page.wait_for_function(
            "() => /browser audio at (44100|48000) Hz/.test("
            "document.querySelector('.rw-mic-status')?.textContent || '')",
            timeout=240_000,
            polling=500,
        )
        assert "streaming" in status.inner_text()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "marimo_playground_1366x768.png"))
        ours = [e for e in errors if "blob:" in e or "anywidget" in e]
        assert not ours, errors
    finally:
        context.close()


def test_the_marimo_notebook_is_checked_by_marimo() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "marimo", "check", str(Path("notebooks") / "playground_marimo.py")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert out.returncode == 0, out.stdout + out.stderr
