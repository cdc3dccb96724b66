"""Guards of the widgets' JSDoc typing (``make jscheck`` runs ``tsc --checkJs`` itself).

Each widget module is loaded from a Blob URL, so it must not import anything at run time: the
types it names (``import("@anywidget/types")``) live in JSDoc comments, which are erased.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
MODULES = sorted((ROOT / "realtime_widgets").rglob("*.js"))

# Block comments, then line comments (a `//` inside a string, e.g. an SVG namespace URL, only
# drops the rest of its line: harmless for this search).
_COMMENTS = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_RUNTIME_IMPORT = re.compile(r"^\s*import\b|\bimport\s*\(|\brequire\s*\(", re.M)


def runtime_imports(source: str) -> list[str]:
    """The import statements, dynamic imports and requires left once comments are removed."""
    code = _COMMENTS.sub("", source)
    return [m.group(0).strip() for m in _RUNTIME_IMPORT.finditer(code)]


def test_the_import_finder_sees_runtime_imports_and_skips_jsdoc_types() -> None:
    typed = '/** @param {import("@anywidget/types").RenderProps} props */\nfunction render() {}\n'
    assert runtime_imports(typed) == []
    assert runtime_imports('import { x } from "./y.js";\n') == ["import"]
    assert runtime_imports('const m = await import("https://cdn/x.js");\n') == ["import("]


def test_widget_modules_import_nothing_at_run_time() -> None:
    assert len(MODULES) >= 10
    found = {p.relative_to(ROOT).as_posix(): runtime_imports(p.read_text()) for p in MODULES}
    assert {name: hits for name, hits in found.items() if hits} == {}


def test_tsc_checks_every_module_strictly_with_a_pinned_typescript() -> None:
    config = json.loads(
        re.sub(r"^\s*//[^\n]*", "", (ROOT / "tsconfig.json").read_text(), flags=re.M)
    )
    options = config["compilerOptions"]
    assert options["checkJs"] is True
    assert options["strict"] is True
    assert options["noEmit"] is True
    # every widget module is checked: no file list, nothing excluded
    assert config["include"] == ["realtime_widgets/**/*.js"]
    assert "files" not in config
    assert "exclude" not in config
    package = json.loads((ROOT / "package.json").read_text())
    version = package["devDependencies"]["typescript"]
    assert re.fullmatch(r"5\.\d+\.\d+", version), version  # an exact 5.x, not a range
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/typescript"]["version"] == version
