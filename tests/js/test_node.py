"""Runs the JS helper tests (``node --test tests/js/``) as part of the suite."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def test_js_helpers_pass_under_node() -> None:
    node = shutil.which("node")
    assert node is not None, (
        "node is required for the widget JS tests (it ships with the machine image)"
    )
    here = Path(__file__).parent
    files = sorted(str(p) for p in here.glob("*.test.mjs"))
    assert files
    out = subprocess.run(
        [node, "--experimental-default-type=module", "--test", *files],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=here.parents[1],
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "# fail 0" in out.stdout


def test_every_widget_module_parses() -> None:
    node = shutil.which("node")
    assert node is not None
    package = Path(__file__).parents[2] / "realtime_widgets"
    files = sorted(package.glob("*/*.js"))
    assert len(files) >= 10
    for path in files:
        out = subprocess.run(
            [node, "--experimental-default-type=module", "--check", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, f"{path.name}: {out.stderr}"
        assert "export default" in path.read_text()  # anywidget's entry point
