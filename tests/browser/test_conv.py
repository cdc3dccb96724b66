"""The conversation tools of issue 23, as a person uses them in JupyterLab at 1366x768.

One playground on the local server: two typed messages; the last row's item menu opens whole
(its "Delete" was clipped by the transcript's scroll box); the transcript downloads as text and
as JSON (Blob downloads of files the kernel made); Clear transcript empties the view, not the
server's conversation; New conversation starts a fresh session with the same settings. The
preset bar: a loaded share string's name is shown and kept, junk in the share box is called
what it is, and a refusal clears on the next action and when a setting changes. The export box
does not soft-wrap code. Screenshot: ``tests/browser/artifacts/conversation_tools_1366x768.png``
(the item menu open on the last row).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, Lab, run_notebook
from tests.browser.test_console import dismiss_notices, show_console

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

NOTEBOOK = ["import realtime_widgets as rw\n\nplayground = rw.Playground()\nplayground"]
MESSAGES = (
    "What is the capital of France, and how many people live there today?",
    "And which river runs through it, and where does that river reach the sea?",
)
# Each entry of the last row's item menu: its box, whether the point at its centre is the
# entry itself (what a click there reaches), and the scroll box it must not be clipped by.
MENU_ENTRIES = """
() => {
  const rows = document.querySelectorAll('.rw-playground .rw-item');
  const last = rows[rows.length - 1];
  const box = last.closest('.rw-transcript').getBoundingClientRect();
  const menu = last.querySelector('.rw-item-menu');
  return [...menu.querySelectorAll('button')].map((b) => {
    const r = b.getBoundingClientRect();
    const hit = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
    return {text: b.textContent, top: r.top, bottom: r.bottom, left: r.left, right: r.right,
            reached: !!hit && (hit === b || b.contains(hit)), place: menu.dataset.place || '',
            box_top: box.top, box_bottom: box.bottom};
  });
}
"""
STATUS = ".rw-playground .rw-presets .rw-status"


def preset_status(page: Any) -> tuple[str, str]:
    """The preset bar's status line: its text and colour."""
    return tuple(  # type: ignore[return-value]
        page.locator(STATUS).evaluate("(e) => [e.textContent, getComputedStyle(e).color]")
    )


def test_conversation_tools_at_1366x768(small_page: Any, lab: Lab) -> None:
    page = small_page
    run_notebook(page, lab, lab.write_notebook("conversation_tools.ipynb", NOTEBOOK))
    page.locator(".rw-playground .rw-transcript").first.wait_for(timeout=240_000)
    kernel = lab.kernel_for("conversation_tools.ipynb")
    try:
        kernel.wait("playground.session is not None and playground.session.connected")
        dismiss_notices(page)
        show_console(page)

        # ---- two typed messages, then the last row's item menu --------------------------------
        message = page.locator(".rw-playground .rw-message")
        for i, text in enumerate(MESSAGES, start=1):
            message.fill(text)
            message.press("Enter")
            kernel.wait(
                f"len([e for e in playground.session.events if e.type == 'response.done']) >= {i}",
                timeout=300,
            )
        rows = page.locator(".rw-playground .rw-item")
        page.wait_for_function(
            "() => document.querySelectorAll('.rw-playground .rw-item').length === 4",
            timeout=120_000,
        )
        # The case the issue met: the last row's menu button near the bottom edge of the
        # transcript's scroll box (a one-line last row; here the box is scrolled up a little,
        # as a person does, so the last row's first line is the box's last), with too little
        # room below it for the menu: opened downwards, "Delete" was cut off by the box.
        fit = page.locator(".rw-playground .rw-transcript").evaluate(
            """(box) => {
                 const button = box.querySelector('.rw-item:last-child .rw-item-menu-button');
                 const edge = () => box.getBoundingClientRect().bottom;
                 box.scrollTop -= edge() - button.getBoundingClientRect().bottom - 8;
                 return {scrolls: box.scrollHeight > box.clientHeight + 1,
                         room: edge() - button.getBoundingClientRect().bottom}; }"""
        )
        print("transcript box:", fit)
        assert fit["scrolls"], fit
        assert fit["room"] < 30, fit  # less than the menu's two entries need
        rows.last.locator(".rw-item-menu-button").click()
        page.locator(".rw-playground .rw-item-menu").last.wait_for(state="visible")
        entries = page.evaluate(MENU_ENTRIES)
        print("item menu:", json.dumps(entries))
        assert [e["text"] for e in entries] == ["Play audio", "Delete"]
        for entry in entries:
            # within the window
            assert entry["left"] >= 0, entry
            assert entry["right"] <= 1366, entry
            assert entry["top"] >= 0, entry
            assert entry["bottom"] <= 768, entry
            if entry["place"] != "fixed":  # not clipped by the scroll box either
                assert entry["box_top"] <= entry["top"], entry
                assert entry["bottom"] <= entry["box_bottom"], entry
            assert entry["reached"], entry  # a click at its centre reaches it
        rows.last.get_by_role("menuitem", name="Delete").click(trial=True)  # actionable
        page.screenshot(path=str(ARTIFACTS / "conversation_tools_1366x768.png"))
        # A click outside the menu closes it: on the toolbar's empty right end (its left end is
        # the New conversation button).
        tools = page.locator(".rw-playground .rw-transcript-tools")
        edge = tools.bounding_box()
        tools.click(position={"x": edge["width"] - 3, "y": edge["height"] / 2})
        page.locator(".rw-playground .rw-item-menu").last.wait_for(state="hidden")

        # ---- downloads: text and JSON ---------------------------------------------------------
        held = kernel.eval(
            "[(i.id, i.role, i.text) for i in playground.session.state.ordered_items()]"
        )
        assert [role for _, role, _ in held] == ["user", "assistant"] * 2
        assert [held[0][2], held[2][2]] == list(MESSAGES)
        with page.expect_download() as text_download:
            page.get_by_role("button", name="Download .txt").click()
        assert text_download.value.suggested_filename == "transcript.txt"
        text = Path(text_download.value.path()).read_text(encoding="utf-8")
        print(text)
        who = {"user": "You", "assistant": "Assistant"}
        turns = "".join(
            rf"\[\d\d:\d\d:\d\d\] {who[role]}: {re.escape(said.replace(chr(10), chr(10) + '    '))}\n"
            for _, role, said in held
        )
        assert re.fullmatch(r"Transcript, model [\w.-]+, saved [\d: -]+\n\n" + turns, text)
        with page.expect_download() as json_download:
            page.get_by_role("button", name="Download .json").click()
        assert json_download.value.suggested_filename == "transcript.json"
        data = json.loads(Path(json_download.value.path()).read_text(encoding="utf-8"))
        assert [(i["id"], i["role"], i["text"]) for i in data["items"]] == [
            tuple(row) for row in held
        ]
        assert data["format"] == "realtime_widgets.transcript"
        assert lab.token not in text
        assert lab.token not in json.dumps(data)

        # ---- Clear transcript: the view only --------------------------------------------------
        clear = page.get_by_role("button", name="Clear transcript")
        assert "server's conversation is unchanged" in clear.get_attribute("title")
        clear.click()
        page.wait_for_function(
            "() => document.querySelectorAll('.rw-playground .rw-item').length === 0",
            timeout=60_000,
        )
        page.locator(".rw-playground .rw-transcript-empty").wait_for()
        assert kernel.eval("len(playground.session.state.ordered_items())") == 4

        # ---- the preset bar: junk, a refusal that clears, a named share string ---------------
        share = page.locator(".rw-playground .rw-share")
        load = page.locator(".rw-playground .rw-load-share")
        red = "rgb(192, 57, 43)"
        share.fill("hello world")
        load.click()
        page.wait_for_function(
            "(sel) => document.querySelector(sel).textContent.includes('not a share string')",
            arg=STATUS,
            timeout=60_000,
        )
        said, colour = preset_status(page)
        assert "'hello world'" in said
        assert "rw1." in said
        assert colour == red
        # the next action that succeeds (Copy share string) clears it
        page.locator(".rw-playground .rw-copy-share").click()
        page.wait_for_function(
            "(sel) => !document.querySelector(sel).textContent.startsWith('refused')",
            arg=STATUS,
            timeout=60_000,
        )
        assert preset_status(page)[1] != red
        named = kernel.eval(
            "__import__('realtime_widgets.protocol.presets', fromlist=['x']).to_share_string("
            "playground.parts['panel'].config.with_changes("
            "{'instructions': 'Talk like a pirate.', 'speed': 1.2}), 'pirate crew')"
        )
        share.fill(named)
        load.click()
        page.wait_for_function(
            "(sel) => document.querySelector(sel).textContent.startsWith(\"loaded 'pirate crew'\")",
            arg=STATUS,
            timeout=60_000,
        )
        kernel.wait("playground.parts['presets'].name == 'pirate crew'", timeout=60)
        page.wait_for_function(  # the bar shows the name (the share box's tooltip)
            "() => document.querySelector('.rw-playground .rw-share').title.includes('pirate crew')",
            timeout=60_000,
        )
        kernel.wait(
            "playground.session.effective is not None "
            "and playground.session.effective.speed == 1.2",
            timeout=60,
        )
        shared = kernel.eval(
            "__import__('realtime_widgets.protocol.presets', fromlist=['x'])"
            ".load(playground.parts['presets'].share).name"
        )
        assert shared == "pirate crew"  # the next share string carries the name on
        # a refusal also clears when the user changes a setting
        share.fill("rw1")
        load.click()
        page.wait_for_function(
            "(sel) => document.querySelector(sel).textContent.startsWith('refused')",
            arg=STATUS,
            timeout=60_000,
        )
        speed = page.locator(
            ".rw-settings .widget-slider", has=page.locator("label:text-is('speed')")
        ).first
        speed.scroll_into_view_if_needed()
        speed.locator(".widget-readout").click()
        page.keyboard.press("Control+A")
        page.keyboard.type("1.1")
        page.keyboard.press("Enter")
        kernel.wait("playground.parts['panel'].config.speed == 1.1", timeout=60)
        page.wait_for_function(
            "(sel) => !document.querySelector(sel).textContent.startsWith('refused')",
            arg=STATUS,
            timeout=60_000,
        )

        # ---- the export box: code is not soft-wrapped ------------------------------------------
        export = page.locator(".rw-playground .rw-export-code textarea")
        export.scroll_into_view_if_needed()
        layout = export.evaluate(
            """(t) => { const s = getComputedStyle(t);
                 const lines = t.value.split('\\n');
                 const longest = Math.max(...lines.map((l) => l.length));
                 const lineHeight = parseFloat(s.lineHeight) || parseFloat(s.fontSize) * 1.2;
                 const pad = parseFloat(s.paddingTop) + parseFloat(s.paddingBottom);
                 return {whiteSpace: s.whiteSpace, font: s.fontFamily, lines: lines.length,
                         longest, scrollWidth: t.scrollWidth, clientWidth: t.clientWidth,
                         rendered: Math.round((t.scrollHeight - pad) / lineHeight)}; }"""
        )
        print("export box:", layout)
        assert layout["whiteSpace"] == "pre", layout
        assert "monospace" in layout["font"].lower(), layout
        assert layout["scrollWidth"] > layout["clientWidth"] + 20, layout  # a long line scrolls
        assert layout["rendered"] <= layout["lines"] + 1, layout  # one row per line of code

        # ---- New conversation: a fresh session, the same settings ---------------------------
        show_console(page)
        before = kernel.eval(
            "{'id': id(playground.session), 'config': playground.parts['panel'].config"
            ".model_dump(mode='json')}"
        )
        page.get_by_role("button", name="New conversation").click()
        kernel.wait(
            f"id(playground.session) != {before['id']} and playground.session.connected",
            timeout=120,
        )
        kernel.wait("playground.session.effective is not None", timeout=60)
        after = kernel.eval(
            "{'items': len(playground.session.state.items), "
            "'created': len([e for e in playground.session.events if e.type == 'session.created']),"
            "'config': playground.session.requested.model_dump(mode='json'), "
            "'speed': playground.session.effective.speed}"
        )
        assert after["items"] == 0
        assert after["created"] == 1
        assert after["config"] == before["config"]  # instructions, speed 1.1, ...
        assert after["speed"] == 1.1
        assert kernel.eval("playground.parts['presets'].name") == "pirate crew"  # kept too
        page.wait_for_function(
            """() => document.querySelectorAll('.rw-playground .rw-transcript').length === 1
                 && document.querySelectorAll('.rw-playground .rw-item').length === 0""",
            timeout=120_000,
        )
        page.locator(".rw-playground .rw-transcript-empty").wait_for()
        page.get_by_role("button", name="New conversation").wait_for()
        page.screenshot(path=str(ARTIFACTS / "conversation_tools_1366x768_new.png"))
        assert page.widget_errors() == []
    finally:
        kernel.close()
