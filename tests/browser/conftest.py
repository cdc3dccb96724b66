"""Real-browser fixtures: one JupyterLab server and one headless Chromium for all browser tests.

JupyterLab runs on 127.0.0.1 with port 0 (the OS chooses; the port is read back from the
server's runtime file) in a scratch copy of ``notebooks/``. Chromium is Debian's
(``/usr/bin/chromium``, or ``RW_CHROMIUM``), driven by Playwright through ``executable_path``,
with a fake microphone playing a WAV made here with eSpeak (speech with pauses, known
boundaries). The kernel is reached from the test process with jupyter_client, so assertions
can read what the session recorded on the Python side.

A missing Chromium fails the tests (``make test`` installs it when run as root); set
``RW_SKIP_BROWSER=1`` to skip them deliberately on a machine without one.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from realtime_widgets.audio.wav import read_wav, write_wav
from tests.speech import HARVARD, Clip, recorded_clip

REPO = Path(__file__).parents[2]
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]
# Two utterances with a long pause: the first ends a turn and gets a spoken reply; the second
# starts while that reply is still playing (a barge-in).
MIC_TEXTS = (
    ["Hello there, how are you today?", "Wait, stop, tell me about the weather instead."],
    ["marin", "ash"],
)
MIC_GAP_MS = 3000

if os.environ.get("RW_SKIP_BROWSER") == "1":
    pytest.skip("RW_SKIP_BROWSER=1: browser tests skipped on purpose", allow_module_level=True)

playwright_sync = pytest.importorskip("playwright.sync_api")


def chromium_path() -> str:
    path = os.environ.get("RW_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail(
            f"Chromium not found at {path}: install Debian's `chromium` (scripts/system-packages "
            "does, and `make test` runs it as root) or set RW_SKIP_BROWSER=1 to skip on purpose"
        )
    return path


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    runtime: Path
    mic: Clip
    mic_path: Path
    # The Lab's own scratch workspaces (--LabApp.workspaces_dir): reset() deletes workspaces
    # only there, never a user's.
    workspaces: Path | None = None
    # The server's process (its kernels are its children: stacks_of_kernels signals them).
    process_id: int | None = None

    def api(self, path: str, method: str = "GET") -> Any:
        request = urllib.request.Request(
            f"{self.url}{path}", headers={"Authorization": f"token {self.token}"}, method=method
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            body = response.read()
        return json.loads(body) if body else None

    def reset(self) -> None:
        """Start the next test where a newcomer starts: no kernel running, no workspace to
        restore, the notebooks as the repository has them.

        Without this, a test inherited the previous one's kernel (its playground still
        connected, its CPU still in use) and Lab's autosaved outputs, which render the old,
        live widgets before run-all replaces them: a test could find the old playground's
        DOM while the new one was being drawn."""
        for session in self.api("/api/sessions"):
            self._delete(f"/api/sessions/{session['id']}")
        for kernel in self.api("/api/kernels"):  # (deleting a session shut its kernel down)
            self._delete(f"/api/kernels/{kernel['id']}")
        if self.workspaces is not None:
            for workspace in self.api("/lab/api/workspaces")["workspaces"]["ids"]:
                self._delete(f"/lab/api/workspaces/{workspace}")
        for notebook in (REPO / "notebooks").glob("*.ipynb"):
            shutil.copy(notebook, self.root)
        deadline = time.monotonic() + 60
        while self.api("/api/kernels"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"kernels still running after reset: {self.api('/api/kernels')}")
            time.sleep(0.2)

    def _delete(self, path: str) -> None:
        """DELETE ``path``; one already gone (404) is what was wanted."""
        try:
            self.api(path, method="DELETE")
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise

    def write_notebook(self, name: str, cells: list[str]) -> str:
        """A notebook of these code cells in the Lab's root (for a test's own scenario)."""
        import nbformat

        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nbformat.write(nb, self.root / name)
        return name

    def kernel_for(self, notebook: str, timeout: float = 120) -> Kernel:
        """The kernel of ``notebook``'s session (waits until the page has started one)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for session in self.api("/api/sessions"):
                if session["path"].endswith(notebook) and session.get("kernel"):
                    connection = self.runtime / f"kernel-{session['kernel']['id']}.json"
                    if connection.exists():
                        return Kernel(connection)
            time.sleep(0.5)
        raise TimeoutError(f"no kernel for {notebook} after {timeout} s")


class Kernel:
    """Runs Python in a notebook's kernel from the test process; results come back as JSON.

    jupyter_client's blocking client drives asyncio internally, which cannot run on the thread
    where Playwright's sync API holds its own loop: every call goes through one worker thread.
    """

    def __init__(self, connection_file: Path) -> None:
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kernel-client")
        self.client = self._worker.submit(self._connect, connection_file).result(timeout=180)

    @staticmethod
    def _connect(connection_file: Path) -> Any:
        from jupyter_client import BlockingKernelClient

        # Shell channel only: the page's widgets keep IOPub busy (status and comm messages),
        # and results come back in the execute reply's user_expressions, not as output.
        client = BlockingKernelClient()
        client.load_connection_file(str(connection_file))
        client.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=False)
        return client

    def eval(self, expression: str, timeout: float = 60) -> Any:
        return self._worker.submit(self._eval, expression, timeout).result(timeout=timeout + 30)

    def _eval(self, expression: str, timeout: float) -> Any:
        msg_id = self.client.execute(
            "import json as _rw_json",
            silent=True,
            store_history=False,
            user_expressions={"r": f"_rw_json.dumps({expression}, default=str)"},
        )
        deadline = time.monotonic() + timeout
        while True:
            reply = self.client.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        result = reply["content"].get("user_expressions", {}).get("r", {})
        if result.get("status") != "ok":
            trace = "\n".join(result.get("traceback", [])) or str(result)
            raise AssertionError(f"kernel error evaluating {expression!r}:\n{trace}")
        return json.loads(ast.literal_eval(result["data"]["text/plain"]))

    def wait(self, expression: str, timeout: float = 240, every: float = 1.0) -> Any:
        """Poll ``expression`` in the kernel until it is truthy (never a fixed sleep)."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = self.eval(expression)
            if value:
                return value
            time.sleep(every)
        raise TimeoutError(f"{expression!r} still {value!r} after {timeout} s")

    def close(self) -> None:
        self._worker.submit(self._close).result(timeout=30)
        self._worker.shutdown(wait=True)

    def _close(self) -> None:
        from jupyter_core.utils import ensure_event_loop

        self.client.stop_channels()
        ensure_event_loop().close()  # the loop jupyter_client made for this worker thread


@pytest.fixture(scope="session")
def mic_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Clip, Path]:
    # Committed speech: the boundaries the tests check do not move with the installed eSpeak.
    clip = recorded_clip(*MIC_TEXTS, gap_ms=MIC_GAP_MS, lead_ms=1500)
    path = tmp_path_factory.mktemp("mic") / "speech.wav"
    write_wav(path, clip.samples, 24000)  # 16-bit PCM: what the fake device plays
    assert float(np.sqrt(np.mean(clip.samples.astype(np.float64) ** 2))) > 100
    return clip, path


def _wait_for_runtime_file(
    runtime: Path, process: subprocess.Popen[bytes], log: Path
) -> dict[str, Any]:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"jupyter exited with {process.returncode}:\n{log.read_text()[-3000:]}"
            )
        for info in runtime.glob("jpserver-*.json"):
            data = json.loads(info.read_text() or "{}")
            if data.get("port"):
                return dict(data)
        time.sleep(0.25)
    raise TimeoutError(f"jupyter did not start in 240 s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory, mic_clip: tuple[Clip, Path]) -> Iterator[Lab]:
    """JupyterLab (with Notebook 7 and Voila) on 127.0.0.1, port chosen by the OS."""
    root = tmp_path_factory.mktemp("lab")
    runtime = tmp_path_factory.mktemp("runtime")
    workspaces = tmp_path_factory.mktemp(
        "workspaces"
    )  # never the user's own (reset() deletes them)
    for notebook in (REPO / "notebooks").glob("*.ipynb"):
        shutil.copy(notebook, root)
    token = os.urandom(16).hex()
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    env.update(JUPYTER_RUNTIME_DIR=str(runtime), JUPYTER_PLATFORM_DIRS="1")
    log = root.parent / "jupyter.log"
    # Every kernel writes its threads' stacks on SIGUSR1 (see KERNEL_STARTUP); otherwise the
    # Lab, its kernels and their comms run with Jupyter's defaults, as a user's do.
    startup = tmp_path_factory.mktemp("ipython") / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-test-kernel.py").write_text(KERNEL_STARTUP.format(folder=str(root.parent)))
    env["IPYTHONDIR"] = str(startup.parent.parent)
    command = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser", "--ip=127.0.0.1", "--port=0", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        f"--LabApp.workspaces_dir={workspaces}",
        "--LabApp.expose_app_in_browser=True", "--JupyterNotebookApp.expose_app_in_browser=True",
        "--ServerApp.allow_root=True",
        "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--VoilaConfiguration.file_allowlist=['.*']",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        info = _wait_for_runtime_file(runtime, process, log)
        clip, path = mic_clip
        yield Lab(
            f"http://127.0.0.1:{info['port']}",
            token,
            root,
            runtime,
            clip,
            path,
            workspaces,
            process.pid,
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def launch_browser(wav: Path, *, loop: bool = False) -> Iterator[Any]:
    """Headless Debian Chromium with the fake microphone playing ``wav`` once (``loop``: over
    and over): the body of a module-scoped ``browser`` fixture (``yield from
    launch_browser(wav)``).

    Module-scoped: Playwright's sync API holds a running asyncio loop on the main thread for
    as long as it is open, which would break every asyncio test that ran after it."""
    with playwright_sync.sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=chromium_path(),
            headless=True,
            args=[
                *CHROMIUM_FLAGS,
                f"--use-file-for-fake-audio-capture={wav}{'' if loop else '%noloop'}",
            ],
            timeout=180_000,
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def browser(mic_clip: tuple[Clip, Path]) -> Iterator[Any]:
    """Headless Debian Chromium with the fake microphone playing the clip once."""
    _, wav = mic_clip
    yield from launch_browser(wav)


ARTIFACTS = REPO / "tests" / "browser" / "artifacts"  # screenshots a person opens and checks

# The fake microphone's recording of a person (tests that hear real speech in a page).
MIC_RATE = 24_000
LEAD_S = 1.5  # silence before the speech: the worklet and the VAD are running when it starts
TAIL_S = 2.5  # silence after it: the last turn's silence countdown ends inside the file
HARVARD_S = 10.8  # the recording's four sentences
# What the page's microphone has sent once the device played the file to its last half second
# (a test waits for this count after starting the microphone).
HARVARD_PLAYED = int((LEAD_S + HARVARD_S + TAIL_S - 0.5) * MIC_RATE)


@pytest.fixture(scope="module")
def harvard_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Harvard recording as the fake device plays it: 16-bit PCM mono at 24 kHz, with
    ``LEAD_S`` of silence before and ``TAIL_S`` after."""
    if not HARVARD.exists():
        pytest.fail(f"{HARVARD} is absent: install Debian's codec2-examples")
    speech, info = read_wav(HARVARD, rate=MIC_RATE)
    assert info.rate == 16_000
    assert abs(len(speech) / MIC_RATE - HARVARD_S) < 0.05, len(speech) / MIC_RATE
    lead = np.zeros(int(LEAD_S * MIC_RATE), np.int16)
    tail = np.zeros(int(TAIL_S * MIC_RATE), np.int16)
    path = tmp_path_factory.mktemp("harvard") / "harvard.wav"
    write_wav(path, np.concatenate([lead, speech, tail]), MIC_RATE)
    assert float(np.sqrt(np.mean(speech.astype(np.float64) ** 2))) > 100  # not silence
    return path


@contextlib.contextmanager
def _opened_page(
    browser: Any, request: pytest.FixtureRequest, width: int, height: int
) -> Iterator[Any]:
    """A page of ``width`` x ``height`` in the shared browser; a full-page screenshot when it
    closes."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(120_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"{exc}\n{exc.stack}"))
    page.page_errors = errors
    # Errors thrown by our widgets' code (anywidget loads each module from a blob: URL); the
    # frontends' own errors (e.g. Notebook 7 settings schema lookups) are not ours to assert on.
    page.widget_errors = lambda: [e for e in errors if "blob:" in e or "anywidget" in e]
    # The page's console errors and warnings (JupyterLab's own: a comm it could not open, a
    # model it did not find), shown with a failed test's report.
    console: list[str] = []

    def said(message: Any) -> None:
        if message.type in ("error", "warning") and len(console) < 200:
            console.append(f"{message.type}: {message.text}"[:2000])

    page.on("console", said)
    page.console_lines = console
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        yield page
    finally:
        try:
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        finally:
            page.context.close()


@pytest.fixture
def page(browser: Any, lab: Lab, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A tall page (1600x1400) in the shared browser; a full-page screenshot when it closes."""
    with _opened_page(browser, request, 1600, 1400) as opened:
        yield opened


@pytest.fixture
def small_page(browser: Any, lab: Lab, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A 1366x768 page: the window size the README promises the console fits."""
    with _opened_page(browser, request, 1366, 768) as opened:
        yield opened


@pytest.fixture(autouse=True)
def _fresh_lab(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test that uses JupyterLab gets it fresh, and leaves no kernel behind."""
    if "lab" not in request.fixturenames:
        yield
        return
    lab: Lab = request.getfixturevalue("lab")
    lab.reset()
    yield
    lab.reset()


def wait_until_runnable(page: Any) -> None:
    """The current notebook can run: its document is loaded with a cell active, and its kernel
    is connected and idle. Run-all before that is silently lost: JupyterLab's ``runAll``
    returns ``false`` and runs nothing while the notebook has no active cell."""
    page.wait_for_function(
        """() => {
          const app = window.jupyterapp;
          const panel = app && app.shell.currentWidget;
          const notebook = panel && panel.content;
          const kernel = panel && panel.sessionContext && panel.sessionContext.session
            && panel.sessionContext.session.kernel;
          return !!panel && !!panel.context && panel.context.isReady && !!notebook && !!notebook.model
            && !!notebook.activeCell && notebook.widgets.length === notebook.model.cells.length
            && !!kernel && kernel.connectionStatus === "connected" && kernel.status === "idle";
        }""",
        timeout=240_000,
        polling=500,
    )


# The current notebook's code cells: how many, and how many the kernel has been sent (queued,
# running or run: JupyterLab marks a queued or running cell's prompt with "*").
CELLS_SENT = """() => {
  const cells = window.jupyterapp.shell.currentWidget.content.widgets
    .filter((cell) => cell.model.type === "code");
  const sent = cells.filter((cell) => cell.model.executionCount !== null
    || (cell.promptNode && cell.promptNode.textContent.includes("*")));
  return {code: cells.length, sent: sent.length, result: window.__rwRunAll};
}"""


def outputs_text(page: Any) -> list[str]:
    """What the page's cell outputs show (the start of each): for a message when a widget that
    should be there is not (an exception, or "Error displaying widget")."""
    return page.evaluate(
        """() => [...document.querySelectorAll(".jp-OutputArea-output")]
             .map((node) => node.innerText.slice(0, 400))"""
    )


# Run-all, watching the kernel's IOPub for its first ``execute_input`` (published as a cell
# begins): it must be the notebook's first code cell. None yet, or another cell's (the first
# one's messages went missing), is what run_all_cells looks for.
RUN_ALL = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session.kernel;
  const first = panel.content.widgets.find((cell) => cell.model.type === "code");
  const source = first.model.sharedModel.getSource();
  window.__rwFirst = null;
  const seen = (_, msg) => {
    if (msg.header.msg_type === "execute_input") {
      window.__rwFirst = msg.content.code === source ? "first" : msg.content.code.slice(0, 60);
      kernel.iopubMessage.disconnect(seen);
    }
  };
  kernel.iopubMessage.connect(seen);
  // Not awaited: the command's promise settles only when every cell has run, and a test may
  // need to act while a cell still holds the kernel. Its result is kept for the message.
  window.__rwRunAll = "pending";
  window.jupyterapp.commands.execute("notebook:run-all-cells")
    .then((ok) => { window.__rwRunAll = ok; }, (error) => { window.__rwRunAll = String(error); });
}"""

KERNEL_STATE = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = panel.content.widgets.filter((cell) => cell.model.type === "code");
  return {kernel: kernel ? [kernel.id, kernel.status, kernel.connectionStatus] : null,
          prompts: cells.map((cell) => cell.promptNode ? cell.promptNode.textContent : null),
          first_begun: window.__rwFirst, run_all: window.__rwRunAll};
}"""

# A kernel that is idle and sent a cell begins it at once; one that has not in this long never
# will (below).
FIRST_CELL_S = 60
KERNEL_RESTARTS: list[str] = []  # said at the end of the run (pytest_terminal_summary)


def run_all_cells(page: Any, name: str) -> None:
    """Run every cell of ``name`` (the current notebook, once it can run), and wait until the
    kernel has begun its first cell: a run-all that was lost says so at once, with the cells'
    state, rather than as a missing widget minutes later.

    Kernel and page lose a message now and then (the comment at KERNEL_STARTUP): when the
    page does not hear the first cell begin within a minute, the kernel is restarted and the
    notebook run again, once, and the run's summary says so. A message lost later fails its
    test's own wait (which reruns: pytest_collection_modifyitems), with the kernel's stacks
    and the page's console."""
    for attempt in (1, 2):
        wait_for_current_notebook(page, name)
        wait_until_runnable(page)
        page.evaluate(RUN_ALL)
        try:
            page.wait_for_function(f"() => ({CELLS_SENT})().sent > 0", timeout=120_000, polling=250)
        except playwright_sync.TimeoutError:
            state = page.evaluate(CELLS_SENT)
            raise AssertionError(f"run-all of {name} sent no cell to the kernel: {state}") from None
        with contextlib.suppress(playwright_sync.TimeoutError):  # told apart just below
            page.wait_for_function(
                "() => window.__rwFirst !== null", timeout=FIRST_CELL_S * 1000, polling=250
            )
        state = page.evaluate(KERNEL_STATE)
        if state["first_begun"] == "first":
            return
        trouble = (
            f"the page never heard the first cell begin, but {state['first_begun']!r}"
            if state["first_begun"]
            else f"the kernel did not begin its first cell in {FIRST_CELL_S} s"
        )
        if attempt == 2:
            raise AssertionError(f"{name}, twice: {trouble} ({state})")
        KERNEL_RESTARTS.append(
            f"{name}: {trouble} ({state}); restarted the kernel and ran the notebook again"
        )
        page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.restartKernel()")


# Kernel and page lose a message now and then, not understood. Runs of this browser phase here
# lost 0 to 3 tests each (a cell left at [*] or a widget never drawn, "Error displaying widget:
# model not found", a Connect whose status line never came), and at every failure every kernel
# thread was idle (the stacks below). Tried, and no different in those runs, so not kept:
# comms on the main shell (JupyterLab 4.6 sends them to an ipykernel 7 subshell by default;
# ipython/ipykernel#1414, #1557, #1564 are open defects there), and an IOPub socket that queues
# without bound (ZMQ's default high-water mark does drop IOPub messages once ~3,000 are in
# flight to a reader that stopped: three playgrounds, 4,108 messages, a client that did not read
# for 15 s, 30 comm_opens lost; none unbounded). In one failure the server's own record of
# the kernel's IOPub (its last_activity) stopped two seconds after the kernel started, about
# when the page heard the first cell begin, and nothing more reached the page while the kernel
# ended idle: there the loss was between the kernel's IOPub and jupyter_server, for both of
# the server's subscribers at once.

# An IPython startup file of the Lab's kernels (IPYTHONDIR): SIGUSR1 writes every thread's
# Python stack to kernel-stacks-PID.txt, from C, so a kernel stuck in a wait or a lock answers
# too (a failed test asks: stacks_of_kernels).
KERNEL_STARTUP = """def _rw_test_kernel():
    import faulthandler, os, signal

    faulthandler.register(
        signal.SIGUSR1,
        file=open(os.path.join({folder!r}, f"kernel-stacks-{{os.getpid()}}.txt"), "a"),
        all_threads=True,
    )


_rw_test_kernel()
del _rw_test_kernel
"""


def stacks_of_kernels(lab: Lab) -> str:
    """Every thread's stack in each kernel the Lab runs now (its server's ipykernel children), as
    the kernels write them on SIGUSR1: what a kernel was doing when a test's wait ran out."""
    import psutil  # ipykernel's dependency

    if lab.process_id is None:
        return "(no server process)"
    said = []
    for child in psutil.Process(lab.process_id).children(recursive=True):
        if "ipykernel_launcher" not in " ".join(child.cmdline()):
            continue  # (a kernel's own subprocess: SIGUSR1 would end it)
        path = lab.root.parent / f"kernel-stacks-{child.pid}.txt"
        before = path.stat().st_size if path.exists() else 0
        try:
            child.send_signal(signal.SIGUSR1)
        except psutil.Error as exc:
            said.append(f"kernel {child.pid}: {exc}")
            continue
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (not path.exists() or path.stat().st_size == before):
            time.sleep(0.1)
        time.sleep(0.2)  # the last thread's lines
        text = path.read_text(errors="replace")[before:] if path.exists() else "(nothing written)"
        said.append(f"kernel {child.pid} ({' '.join(child.cmdline()[:4])}):\n{text}")
    return "\n".join(said) or "(no kernel running)"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    funcargs = getattr(item, "funcargs", {})
    lab = funcargs.get("lab")
    if report.when == "call" and report.failed:
        for name in ("page", "small_page"):
            lines = getattr(funcargs.get(name), "console_lines", None)
            if lines is not None:
                report.sections.append((f"{name}'s console", "\n".join(lines) or "(nothing)"))
    if report.when == "call" and report.failed and isinstance(lab, Lab):
        try:
            report.sections.append(("kernel stacks at the failure", stacks_of_kernels(lab)))
        except Exception as exc:  # the test's own failure is what counts
            report.sections.append(("kernel stacks at the failure", f"not read: {exc!r}"))
    return report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    # The tests import this module as tests.browser.conftest, which pytest may hold as another
    # module object than the one it loaded as a conftest: read that one's list.
    from tests.browser import conftest as imported

    for line in imported.KERNEL_RESTARTS:
        terminalreporter.write_line(f"kernel restarted: {line}", yellow=True)
    for report in terminalreporter.stats.get("rerun", []):
        if report.when != "call":
            continue
        terminalreporter.write_sep("-", f"RERUN {report.nodeid}: a failed attempt", yellow=True)
        terminalreporter.write_line(str(report.longrepr))
        for title, text in report.sections:
            terminalreporter.write_sep("-", title)
            terminalreporter.write_line(text)


BROWSER_TESTS = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A browser test whose wait runs out (Playwright's TimeoutError) runs again, up to twice
    (pytest-rerunfailures; Playwright Test's own default on CI), and the run's summary prints
    each first attempt whole; a wrong value (an AssertionError) and every other error fail at
    once.

    Why: a message between the kernel and the page goes missing now and then (the comment at
    KERNEL_STARTUP), and the page waits for a status line, a button or a cell's end the kernel
    sent, with every kernel thread idle: in one run here a test lost it twice in a row. The
    tests check what the product does, not Jupyter's transport; a product defect that makes a
    wait run out fails three times."""
    for item in items:
        if BROWSER_TESTS in item.path.parents:
            item.add_marker(pytest.mark.flaky(reruns=2, only_rerun=[playwright_sync.TimeoutError]))


def run_notebook(page: Any, lab: Lab, name: str) -> None:
    """Open ``name`` in JupyterLab, wait until it is the current panel and can run, and run
    all its cells."""
    page.goto(f"{lab.url}/lab/tree/{name}?token={lab.token}", timeout=240_000)
    page.wait_for_function("() => !!window.jupyterapp", timeout=240_000)
    run_all_cells(page, name)


def wait_for_current_notebook(page: Any, name: str) -> None:
    """JupyterLab restores the workspace of an earlier test (another notebook open, perhaps in
    front): run-all goes to the current panel, so wait until that is ``name``."""
    page.wait_for_function(
        """(name) => { const panel = window.jupyterapp.shell.currentWidget;
             return !!panel && !!panel.context && panel.context.path.endsWith(name); }""",
        arg=name,
        timeout=240_000,
        polling=500,
    )
