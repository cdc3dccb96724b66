"""The prompt control says saved prompts are deprecated, from the field's metadata alone; the
panel's export box carries the warning comment and raises nothing on each change."""

from __future__ import annotations

import html
import warnings

from realtime_widgets import SessionConfig
from realtime_widgets.protocol.config import SAVED_PROMPTS
from realtime_widgets.protocol.transcription_config import TranscriptionConfig
from realtime_widgets.widgets.controls import FieldControl, SectionControl, build_controls
from realtime_widgets.widgets.panel import ConfigPanel

PROMPT = {"id": "pmpt_abc", "version": "3", "variables": {"city": "Oslo"}}


def _every(controls: list[FieldControl]) -> list[FieldControl]:
    found: list[FieldControl] = []
    for control in controls:
        found.append(control)
        if isinstance(control, SectionControl):
            found.extend(_every(control.inner))
    return found


def _text(control: FieldControl) -> str:
    """The notice as a person reads it."""
    value = control.notice.value
    return html.unescape(value[value.index(">") + 1 : value.rindex("<")])


def test_the_prompt_control_shows_the_deprecation_under_its_title() -> None:
    controls = {c.path: c for c in build_controls(SessionConfig)}
    prompt = controls["prompt"]
    assert isinstance(prompt, SectionControl)
    assert _text(prompt) == "\u26a0 " + SAVED_PROMPTS.note()
    assert _text(prompt).startswith(
        "\u26a0 Deprecated: OpenAI scheduled the shutdown of saved prompts for 2026-11-30, "
        "which has passed, so OpenAI may refuse this parameter. Still sent as set. Instead:"
    )
    assert prompt.notice.layout.display is None  # shown
    assert "data-path='prompt'" in prompt.notice.value
    # Right under the section's title, above its fields, in the control's own box.
    assert list(prompt.widget.children) == [prompt.header, prompt.notice, prompt.body]
    assert prompt.notice in prompt.box.children[0].children
    # No other control (nor the prompt's own fields) has one: it comes from the field's Param.
    others = [c.path for c in _every(list(controls.values())) if c.notice.value]
    assert others == ["prompt"]
    hidden = [c for c in _every(list(controls.values())) if c.path != "prompt"]
    assert all(c.notice.layout.display == "none" for c in hidden)
    transcription = _every(build_controls(TranscriptionConfig))
    assert not [c.path for c in transcription if c.notice.value]


def test_the_notice_stays_whatever_the_status_line_says() -> None:
    panel = ConfigPanel(config=SessionConfig(prompt=PROMPT))
    prompt = panel.controls["prompt"]
    shown = prompt.notice.value
    assert SAVED_PROMPTS.note() in html.unescape(shown)
    prompt.error("prompt.id: something the server said")
    assert "something the server said" in prompt.status.value
    assert prompt.notice.value == shown
    inner = panel._find("prompt.id")
    assert inner is not None
    inner.widget.value = "not-a-prompt-id"  # refused locally, pinned to the id's status
    assert "pmpt_" in inner.status.value
    assert prompt.notice.value == shown
    prompt.disable("locked for a test")
    prompt.disable(None)
    assert prompt.notice.value == shown
    assert panel.config.prompt is not None
    assert panel.config.prompt.id == "pmpt_abc"  # the refused id never left the kernel


def test_the_export_box_warns_in_the_code_and_raises_no_warning() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        panel = ConfigPanel(config=SessionConfig(prompt=PROMPT))
        code = panel.export_code.value
        panel.controls["speed"].widget.value = 1.25  # a change refreshes the box
        later = panel.export_code.value
        panel.export_target.value = "openai-dotnet"
        dotnet = panel.export_code.value
        panel.controls["prompt"].toggle.value = False  # no saved prompt: no comment
        without = panel.export_code.value
    assert caught == []
    assert code.startswith("# WARNING: prompt: Deprecated: OpenAI scheduled the shutdown")
    assert "'prompt': {'id': 'pmpt_abc'" in code  # still exported
    assert later.startswith("# WARNING: prompt: Deprecated:")
    assert "'speed': 1.25" in later
    assert dotnet.startswith("// WARNING: prompt: Deprecated:")
    assert panel.config.prompt is None
    assert "WARNING" not in without
    assert "pmpt_abc" not in without
