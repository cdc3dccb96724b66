"""``make demo`` says what it installs and shows pip's progress (issue 23: it was silent for
~2.5 minutes), and still ends by starting JupyterLab on the playground."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).parents[1]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_announces_each_install_step_and_shows_pips_progress() -> None:
    # -n: print the recipe without running it; -B: as on a fresh clone (nothing installed).
    out = subprocess.run(
        ["make", "--no-print-directory", "-n", "-B", "demo"],
        cwd=REPO,
        # as typed in a shell, also when the suite itself runs under make (make test)
        env={k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    said = [line for line in out if line.startswith("echo ")]
    steps = [line for line in said if "==> [" in line]
    assert [s.split("]")[0].split("[")[-1] for s in steps] == ["1/3", "2/3", "3/3"]
    installs = [i for i, line in enumerate(out) if " -m pip install " in line]
    assert len(installs) == 2
    for i in installs:
        assert "--quiet" not in out[i]
        assert " -q " not in out[i]
        assert "--progress-bar on" in out[i]  # and its bar, also when make's output is piped
        assert "==> [" in out[i - 1] or out[i - 1].startswith("echo ")  # announced first
    assert "lab,test,dev,offline,chat" in out[installs[1]]
    assert any("lab,test,dev,offline,chat" in line for line in steps)  # says what
    assert "jupyter lab" in out[-1]  # then starts the playground


FAKE_PYTEST = """#!/bin/sh
echo "$*" >> "$FAKE_LOG"
case "$*" in *--ignore=tests/browser*) exit "$FAKE_FIRST";; esac
exit "$FAKE_SECOND"
"""


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize(
    ("first", "second", "error"), [(0, 0, None), (3, 0, 3), (0, 5, 5), (3, 5, 3)]
)
def test_make_pytest_runs_both_phases_and_fails_with_the_first_failure(
    tmp_path: Path, first: int, second: int, error: int | None
) -> None:
    """The suite's two phases (the tests that need no browser on two processes, then the
    browser tests alone) together are the whole suite, the second runs when the first
    failed, and make fails with the first failure's status."""
    (tmp_path / "pytest").write_text(FAKE_PYTEST)
    (tmp_path / "pytest").chmod(0o755)
    log = tmp_path / "log"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "TEST_WORKERS")
    }
    env.update(FAKE_LOG=str(log), FAKE_FIRST=str(first), FAKE_SECOND=str(second))
    # -o: the install and the system packages count as done; BIN: the fake pytest above
    done = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-o",
            "system",
            "-o",
            ".venv/.installed",
            f"BIN={tmp_path}",
            "pytest",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert log.read_text().splitlines() == [
        "-n 2 --dist loadfile --durations=15 --ignore=tests/browser",
        "--durations=15 tests/browser",
    ]
    if error is None:
        assert done.returncode == 0, done.stderr
    else:
        assert done.returncode != 0
        assert f"Error {error}" in done.stderr
