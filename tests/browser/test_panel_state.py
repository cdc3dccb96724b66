"""The settings panel in a real browser (issue 23): what a person sees of their changes.

JupyterLab at 1366x768 runs a small notebook with ``rw.Playground()`` (the embedded local
server). In the page, as a person would:

- the Transcription section's title says transcription is on (gpt-4o-mini-transcribe) and the
  voice control warns, before the first reply, that it locks once the model has spoken;
- threshold 0.7 and silence 800 typed into the sliders: each control's mark goes *pending*
  (seen by a MutationObserver in the page) and then *applied*, its tooltip the server's value,
  and the summary line reads "all applied";
- a change the server refuses: the embedded server accepts every valid value, so the notebook
  gives it one model rule as OpenAI has them (``reasoning`` on a model without reasoning, refused
  with an error event in OpenAI's words); ticking "reasoning" shows *refused* with the reason;
- a function tool filled in the form: the JSON view and the session's tools hold it;
- the fake microphone's speech: the user's row shows their words (transcription on), and the
  voice control then says why it is locked.

Screenshots: tests/browser/artifacts/panel_state_1366x768.png (the summary and turn detection
applied), panel_state_voice_hint_1366x768.png, panel_state_refused_1366x768.png,
panel_state_tools_1366x768.png.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, Lab, run_notebook
from tests.browser.test_playground import open_section, set_slider

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

NOTEBOOK = "panel_state.ipynb"
VOICE_HINT = "locks once the model has spoken: choose it before the first reply"
REFUSAL = "Unsupported parameter: 'session.reasoning' is not supported with this model."
CELLS = [
    f"""import realtime_widgets as rw
from realtime_widgets.server.engine import SessionEngine

# The embedded server accepts every valid value; OpenAI refuses some per model. One such rule,
# in OpenAI's words: `reasoning` on a model without reasoning.
_accept = SessionEngine._on_session_update


def _model_rules(self, e, now):
    if "reasoning" in e.session and not self.config.model.startswith("gpt-realtime-2"):
        return [self.out.error({REFUSAL!r}, "unsupported_parameter", "session.reasoning",
                               e.event_id)]
    return _accept(self, e, now)


SessionEngine._on_session_update = _model_rules""",
    "playground = rw.Playground()\nplayground",
]
PANEL = "playground.parts['panel']"
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city now",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "The city's name"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city"],
    },
}
# Every mark state the page shows, as path=state, from the moment the observer is installed.
WATCH_MARKS = """() => {
  window.__rwMarks = new Set();
  const root = document.querySelector('.rw-settings');
  const note = () => root.querySelectorAll('.rw-mark').forEach(
    (m) => window.__rwMarks.add(`${m.dataset.path}=${m.dataset.state}`));
  new MutationObserver(note).observe(root, {subtree: true, childList: true, characterData: true});
  note();
}"""


def mark(page: Any, path: str, state: str) -> Any:
    return page.locator(f".rw-mark[data-path='{path}'][data-state='{state}']").first


def summary(page: Any) -> str:
    return str(page.locator(".rw-panel-summary").first.inner_text()).strip()


def shoot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def test_the_panel_shows_what_the_server_applied(small_page: Any, lab: Lab) -> None:
    page = small_page
    lab.write_notebook(NOTEBOOK, CELLS)
    run_notebook(page, lab, NOTEBOOK)
    mic_button = page.get_by_role("button", name="Start microphone")
    mic_button.wait_for(timeout=240_000)
    kernel = lab.kernel_for(NOTEBOOK)
    try:
        kernel.wait("playground.session is not None and playground.session.connected")
        kernel.wait("playground.session.effective is not None")
        page.evaluate(
            "() => document.querySelector('.rw-playground').scrollIntoView({block: 'start'})"
        )

        # -- 5. transcription on by default, visibly; 7. the voice says it will lock
        effective = kernel.eval(
            "(playground.session.effective.transcription.model, playground.session.effective.voice)"
        )
        assert effective == ["gpt-4o-mini-transcribe", "marin"]
        page.locator(
            ".lm-TabBar-tab, .jupyter-widget-Collapse-header, .p-Collapse-header",
            has_text="Transcription: on (gpt-4o-mini-transcribe)",
        ).first.wait_for(timeout=60_000)
        hint = page.get_by_text(VOICE_HINT).first
        hint.wait_for(timeout=60_000)
        assert hint.is_visible()
        shoot(page, "panel_state_voice_hint_1366x768.png")
        page.wait_for_function(
            "() => document.querySelector('.rw-panel-summary').innerText.includes('all applied')",
            timeout=120_000,
        )

        # -- 6. threshold 0.7 and silence 800: pending, then applied
        page.evaluate(WATCH_MARKS)
        open_section(page, "Turn detection")
        set_slider(page, "threshold", 0.7)  # type: ignore[arg-type]
        set_slider(page, "silence duration ms", 800)
        kernel.wait(
            "playground.session.effective.turn_detection.threshold == 0.7 and "
            "playground.session.effective.turn_detection.silence_duration_ms == 800",
            timeout=120,
        )
        threshold = mark(page, "turn_detection.threshold", "applied")
        threshold.wait_for(timeout=120_000)
        assert threshold.get_attribute("title") == "applied: the server has 0.7"
        silence = mark(page, "turn_detection.silence_duration_ms", "applied")
        silence.wait_for(timeout=120_000)
        assert silence.get_attribute("title") == "applied: the server has 800"
        page.wait_for_function(
            "() => document.querySelector('.rw-panel-summary').innerText.includes('all applied')",
            timeout=120_000,
        )
        seen = set(page.evaluate("() => [...window.__rwMarks]"))
        assert "turn_detection.threshold=pending" in seen, sorted(seen)
        assert "turn_detection.silence_duration_ms=pending" in seen, sorted(seen)
        log = kernel.eval(
            f"[(p, s) for p, s, _ in {PANEL}.state_log "
            "if p in ('turn_detection.threshold', 'turn_detection.silence_duration_ms')]"
        )
        for path in ("turn_detection.threshold", "turn_detection.silence_duration_ms"):
            states = [s for p, s in log if p == path]
            assert states[-2:] == ["pending", "applied"], log
        # the console as a person sees it: the settings column at its top (the summary, the
        # section titles), turn detection open with its marks
        page.evaluate(
            "() => { document.querySelector('.rw-playground').scrollIntoView({block: 'start'});"
            " document.querySelector('.rw-settings').scrollTop = 0; }"
        )
        assert page.locator(".rw-panel-summary").first.is_visible()
        assert threshold.is_visible()
        shoot(page, "panel_state_1366x768.png")

        # -- a change the server refuses: the mark and the summary say why
        open_section(page, "Limits & tracing")
        reasoning = page.get_by_role("checkbox", name="reasoning", exact=True)
        reasoning.check()
        refused = mark(page, "reasoning", "refused")
        refused.wait_for(timeout=120_000)
        assert REFUSAL in str(refused.get_attribute("title"))
        said = summary(page)
        assert said.startswith("✕ 1 refused: reasoning: " + REFUSAL), said
        assert kernel.eval("playground.session.effective.reasoning") is None
        refused.scroll_into_view_if_needed()
        shoot(page, "panel_state_refused_1366x768.png")
        reasoning.uncheck()  # taken back: nothing refused any more
        mark(page, "reasoning", "applied").wait_for(timeout=120_000)
        page.wait_for_function(
            "() => document.querySelector('.rw-panel-summary').innerText.includes('all applied')",
            timeout=120_000,
        )

        # -- a function tool from the form: the JSON view and the session's tools hold it
        open_section(page, "Tools")
        page.get_by_role("button", name="function tool").click()
        form = page.locator(".rw-tool-form").first
        form.wait_for(timeout=60_000)
        name = form.locator(".widget-text", has=page.locator("label:text-is('name')")).locator(
            "input"
        )
        name.fill("get_weather")
        name.press("Tab")
        description = form.locator(
            ".widget-textarea", has=page.locator("label:text-is('description')")
        ).locator("textarea")
        description.fill("The weather in a city now")
        description.press("Tab")
        for i, (param, text, enum, required) in enumerate(
            (("city", "The city's name", "", True), ("unit", "", "celsius, fahrenheit", False))
        ):
            form.get_by_role("button", name="parameter").click()
            row = form.locator(".rw-tool-param").nth(i)
            row.wait_for(timeout=60_000)
            for placeholder, value in (
                ("parameter name", param),
                ("description", text),
                ("enum: a, b, c", enum),
            ):
                if value:
                    field = row.locator(f"input[placeholder='{placeholder}']")
                    field.fill(value)
                    field.press("Tab")
            if required:
                row.get_by_role("checkbox", name="required").check()
        tools = kernel.wait(
            "[t.model_dump(exclude_none=True) for t in playground.session.effective.tools] "
            "if playground.session.effective.tools and "
            "playground.session.effective.tools[0].parameters['properties'].get('unit', {})"
            ".get('enum') and playground.session.effective.tools[0].parameters.get('required') "
            "else None",
            timeout=120,
        )
        assert tools == [WEATHER]
        page.get_by_role("button", name="JSON (advanced)").click()
        shown = page.locator(".widget-textarea", has=page.locator("label:text-is('JSON')")).locator(
            "textarea"
        )
        shown.wait_for(timeout=60_000)
        assert json.loads(shown.input_value()) == [WEATHER]
        mark(page, "tools", "applied").wait_for(timeout=120_000)
        form.scroll_into_view_if_needed()
        shoot(page, "panel_state_tools_1366x768.png")

        # -- a spoken turn (the fake microphone): the user's words in the transcript
        mic_button.click()
        words = kernel.wait(
            "[it.text for it in playground.session.state.ordered_items() "
            "if it.type == 'message' and it.role == 'user' and it.transcript_state == 'done' "
            "and it.text]",
            timeout=600,
            every=2,
        )
        assert "hello" in words[0].lower(), words
        row = page.locator(".rw-item[data-role=user] .rw-text").first
        page.wait_for_function(
            "() => [...document.querySelectorAll('.rw-item[data-role=user] .rw-text')]"
            ".some((n) => n.textContent.toLowerCase().includes('hello'))",
            timeout=120_000,
        )
        assert "transcription is off" not in page.locator(".rw-transcript").inner_text()
        assert row.is_visible()

        # -- 7. once the model has spoken, the voice says why it is locked
        reason = kernel.wait(f"{PANEL}.controls['voice'].reason", timeout=300)
        assert reason == "voice cannot change once the assistant has spoken"
        open_section(page, "Model & voice")
        page.get_by_text(reason, exact=True).first.wait_for(timeout=120_000)
        assert not page.get_by_text(VOICE_HINT).first.is_visible()
        assert not page.widget_errors(), page.page_errors
    finally:
        kernel.close()
