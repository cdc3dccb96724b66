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
