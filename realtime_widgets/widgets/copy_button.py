"""A button that copies text to the clipboard (the browser's clipboard API needs JS)."""

from __future__ import annotations

from pathlib import Path

import anywidget
import traitlets as t

__all__ = ["CopyButton"]


class CopyButton(anywidget.AnyWidget):
    """Copies ``text`` when clicked; ``copies`` counts successful copies (reported by JS)."""

    _esm = Path(__file__).with_name("copy_button.js")
    text = t.Unicode("").tag(sync=True)
    label = t.Unicode("Copy").tag(sync=True)
    copies = t.Int(0).tag(sync=True)
