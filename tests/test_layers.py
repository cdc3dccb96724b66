"""Imports run one way (DESIGN.md): protocol and audio load no I/O or widget libraries."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("websockets", "ipywidgets", "anywidget", "asyncio", "traitlets")


@pytest.mark.parametrize(
    "package", ["realtime_widgets.protocol", "realtime_widgets.audio", "realtime_widgets"]
)
def test_pure_layers_load_no_io_or_widget_libraries(package: str) -> None:
    code = f"import sys, {package}\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
