"""The playground's layout as widgets: a Full screen button on the connection line, the console's
height and the tabs' share, and no part of a column wider than the column (issue 23, item 4).
These check the wiring (which layout each box gets); what the CSS values make of a page (the
console's height, the tabs' share, full screen) the browser measures: tests/browser/test_layout.py."""

from __future__ import annotations

from collections.abc import Iterator

import ipywidgets as w
import pytest

from realtime_widgets.widgets.playground import (
    BODY_HEIGHT,
    TABS_HEIGHT,
    TABS_MIN_HEIGHT,
    FullScreenButton,
    Playground,
)


@pytest.fixture
def playground(monkeypatch: pytest.MonkeyPatch) -> Iterator[Playground]:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    play = Playground()
    yield play
    play.close_session()
    play.connection.close()


def test_the_connection_line_ends_with_a_full_screen_button_that_scrolls_once() -> None:
    play = Playground(connect=False)
    line = play.connection.line.children
    assert line[-1] is play.full_screen
    assert isinstance(play.full_screen, FullScreenButton)
    assert play.full_screen.layout.margin == "0 0 0 auto"  # at the line's right end
    assert play.full_screen.scroll_on_show is True
    assert "rw-body" in play.body._dom_classes  # what full screen stretches
    assert play.body.children == ()


def test_the_console_fills_the_height_and_the_transcript_gets_what_the_tabs_leave(
    playground: Playground,
) -> None:
    (console,) = playground.body.children
    assert "rw-console-body" in console._dom_classes
    assert console.layout.height == BODY_HEIGHT
    settings, right = console.children
    assert settings is playground.settings
    assert (settings.layout.width, settings.layout.flex) == ("40%", "0 0 auto")
    assert (right.layout.flex, right.layout.min_width) == ("1 1 0", "0")  # the rest, no more
    conversation, tabs = right.children
    assert (tabs.layout.height, tabs.layout.min_height) == (TABS_HEIGHT, TABS_MIN_HEIGHT)
    transcript = playground.parts["transcript"]
    assert transcript in conversation.children
    assert transcript.layout.flex == "1 1 0"  # the transcript takes what is left
    speaker = playground.parts["speaker"]
    assert speaker.layout.min_width == "0"  # its one-line status shrinks, never widens the row


def test_no_part_of_the_console_is_wider_than_its_column(playground: Playground) -> None:
    # ``width: 100%`` plus each widget's 2 px margins made the conversation column 4 px wider
    # than its box: a horizontal scrollbar (707 px of content in 703 px).
    (console,) = playground.body.children
    settings, right = console.children
    conversation, tabs = right.children
    laid_out = {
        "console": console,
        "settings": settings,
        "right": right,
        "conversation": conversation,
        "audio": conversation.children[0],
        "tabs": tabs,
        **playground.parts,
    }
    assert playground.parts["microphone"] in laid_out["audio"].children
    widths = {name: box.layout.width for name, box in laid_out.items()}
    assert [name for name, width in widths.items() if width == "100%"] == [], widths


def test_nothing_in_the_settings_column_is_set_to_the_full_width(playground: Playground) -> None:
    # The panel's summary, each control's row (value + its applied mark), the optional fields'
    # toggle rows and the function-tool form had ``width: 100%``: with the 2 px margins each
    # was 4 px wider than the settings column (378 px of content in 374). They stretch instead.
    def boxes(widget: object) -> list[object]:
        children = getattr(widget, "children", None) or ()
        return [widget] + [b for c in children for b in boxes(c)]

    panel = playground.parts["panel"]
    tools = next(c for c in panel.controls.values() if hasattr(c, "forms_box"))
    tools._add_tool()  # a function tool's form, with a parameter row
    everything = boxes(playground.settings) + boxes(tools.form) + boxes(tools.box)
    assert len(everything) > 100  # the whole panel, every control's box
    full = [
        (type(b).__name__, getattr(b, "description", ""))
        for b in everything
        if getattr(getattr(b, "layout", None), "width", None) == "100%"
    ]
    assert full == []
    # and each control's value may shrink in its row rather than widen it
    rows = [c.box.children[0] for c in panel.controls.values()]
    values = [r.children[0] for r in rows if isinstance(r, w.HBox) and len(r.children) == 2]
    assert len(values) >= 10  # the value and its mark, in each plain control's row
    assert [v.layout.min_width for v in values] == ["0"] * len(values)
