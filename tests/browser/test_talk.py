"""Push-to-talk as a person uses it (issue 23, items 1 and 7's level meter, and the microphone
settings users of OpenAI's and LiveKit's playgrounds expect).

JupyterLab at 1366x768 in Debian's Chromium, whose fake microphone plays a real recording
(Debian codec2-examples' ``speech_orig_16k.wav``, four Harvard sentences read by a person,
looped). A playground with turn detection off (the push-to-talk preset's setting). From the
page, as a user would, and from the kernel (``playground.session.events``):

- the microphone shows *Hold to talk* while the session's turn detection is off, and follows
  the session live both ways (on: hidden, hands-free; off again: shown);
- holding it (mouse down ... up) starts the capture and sends audio only while held; the
  release sends ``input_audio_buffer.commit`` and then ``response.create``, and the reply (the
  local server's "I heard: ...") quotes the spoken turn;
- after the release the meter still moves (the recording goes on) but nothing is appended;
- a press while the reply plays is a barge-in (the speaker stops, the item is truncated), and
  a tap too short to commit says so instead of sending a commit the server would refuse;
- *Commit* in the conversation bar sends ``input_audio_buffer.commit``;
- the settings disclosure lists the input devices by name and has echo-cancellation, noise-
  suppression and auto-gain toggles: a change restarts the capture and the track's
  ``getSettings()`` shows it applied;
- after *Stop microphone* the level meter reads 0.

Screenshots: ``tests/browser/artifacts/push_to_talk_1366x768.png`` (the console after the
turns, settings closed) and ``push_to_talk_settings_1366x768.png`` (the settings open).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from realtime_widgets.audio.wav import read_wav, write_wav
from tests.browser.conftest import ARTIFACTS, Lab, launch_browser, run_notebook
from tests.server.test_whisper import SENTENCES
from tests.server.test_whisper import words as words_of
from tests.speech import HARVARD

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

# A left-button press and its release on an element, as a pointer sends them.
TAP = """
(el) => {
  const at = el.getBoundingClientRect();
  const init = { bubbles: true, cancelable: true, button: 0, buttons: 1, pointerId: 1,
    pointerType: 'mouse', isPrimary: true,
    clientX: at.left + at.width / 2, clientY: at.top + at.height / 2 };
  el.dispatchEvent(new PointerEvent('pointerdown', init));
  el.dispatchEvent(new PointerEvent('pointerup', { ...init, buttons: 0 }));
}
"""

RATE = 24_000
LEAD_S = 2.5  # silence before the speech: the capture is running when it starts
FIRST_END_S = 2.5  # the first sentence ("The birch canoe ...") ends ~2.3-2.7 s in
SCREENSHOT = ARTIFACTS / "push_to_talk_1366x768.png"
SCREENSHOT_SETTINGS = ARTIFACTS / "push_to_talk_settings_1366x768.png"
# Where the microphone's parts are, and whether each control is the topmost element at its
# centre (in view, not under another part of the console).
LAYOUT = """() => {
  const box = (sel) => { const r = document.querySelector(sel).getBoundingClientRect();
    return [Math.round(r.left), Math.round(r.top), Math.round(r.right), Math.round(r.bottom)]; };
  const onTop = (sel) => { const e = document.querySelector(sel); const r = e.getBoundingClientRect();
    const hit = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
    return !!hit && (hit === e || e.contains(hit)); };
  const mic = document.querySelector('.rw-microphone');
  return { 'mic overflow': mic.scrollWidth - mic.clientWidth, mic: box('.rw-microphone'),
    right: box('.rw-console-right'), hold: box('.rw-mic-hold'),
    gear: box('.rw-mic-settings-toggle'), settings: box('.rw-mic-settings'),
    commit: box('.rw-conversation button.rw-commit'),
    'on top': Object.fromEntries([['hold', '.rw-mic-hold'], ['gear', '.rw-mic-settings-toggle'],
      ['commit', '.rw-conversation button.rw-commit'],
      ['respond', '.rw-conversation button.rw-respond'], ['meter', '.rw-mic-level'],
      ['device', '.rw-mic-device'], ['echo', '.rw-mic-echo_cancellation']]
      .map(([k, sel]) => [k, onTop(sel)])) };
}"""
NOTEBOOK = "talk.ipynb"
MIC = "playground.parts['microphone']"
OUT_TYPES = "[e.type for e in playground.session.events if e.direction == 'out']"


@pytest.fixture(scope="module")
def harvard_loop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The recording as the fake device plays it (16-bit PCM, 24 kHz), silence first."""
    if not HARVARD.exists():
        pytest.fail(f"{HARVARD} is absent: install Debian's codec2-examples")
    speech, _ = read_wav(HARVARD, rate=RATE)
    samples = np.concatenate([np.zeros(int(LEAD_S * RATE), np.int16), speech])
    path = tmp_path_factory.mktemp("talk") / "harvard.wav"
    write_wav(path, samples, RATE)
    return path


@pytest.fixture(scope="module")
def browser(harvard_loop: Path) -> Iterator[Any]:
    """Chromium whose fake microphone loops the recording (speech is always there to meter)."""
    yield from launch_browser(harvard_loop, loop=True)


def out_after(kernel: Any, n: int) -> list[str]:
    """The client events sent after the first ``n``, a run of appends shown once."""
    out: list[str] = []
    for kind in kernel.eval(OUT_TYPES)[n:]:
        if not (out and out[-1] == kind == "input_audio_buffer.append"):
            out.append(kind)
    return out


def meter(page: Any) -> float:
    return float(page.evaluate("() => document.querySelector('.rw-mic-level').value"))


def test_push_to_talk_settings_and_meter(small_page: Any, lab: Lab) -> None:
    page = small_page
    lab.write_notebook(
        NOTEBOOK,
        [
            "import realtime_widgets as rw\n"
            "config = rw.SessionConfig(turn_detection=None, transcription=rw.Transcription())\n"
            "playground = rw.Playground(config)\n"
            "playground"
        ],
    )
    run_notebook(page, lab, NOTEBOOK)
    kernel = lab.kernel_for(NOTEBOOK)
    try:
        hold = page.locator(".rw-mic-hold")
        hold.wait_for(state="visible", timeout=240_000)
        kernel.wait("playground.session is not None and playground.session.connected")
        assert kernel.eval(f"{MIC}.mode") == "push-to-talk"

        # -- the mode follows the session's turn detection, live, both ways
        kernel.eval("bool(playground.session.update(turn_detection={'type': 'server_vad'}))")
        hold.wait_for(state="hidden", timeout=60_000)
        assert kernel.eval(f"{MIC}.mode") == "hands-free"
        kernel.eval("bool(playground.session.update(turn_detection=None))")
        hold.wait_for(state="visible", timeout=60_000)
        assert page.locator(".rw-mic-toggle").get_attribute("aria-label") == "Start microphone"

        # -- hold: the capture starts, audio flows while held; release: commit, then a reply
        before = len(kernel.eval(OUT_TYPES))
        hold.scroll_into_view_if_needed()
        box = hold.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.wait_for_function(
            "() => document.querySelector('.rw-mic-hold').textContent === 'Release to send'"
        )
        kernel.wait(
            f"{MIC}.samples_received >= {int((LEAD_S + FIRST_END_S) * RATE)}", 240, every=0.1
        )
        page.mouse.up()
        page.wait_for_function(
            "() => document.querySelector('.rw-mic-hold').textContent === 'Hold to talk'"
        )
        # -- released: the recording goes on and the meter moves, and nothing is appended
        kernel.wait(f"'response.create' in {OUT_TYPES}[{before}:]")  # the stream is sent
        appends = kernel.eval(OUT_TYPES).count("input_audio_buffer.append")
        received = kernel.eval(f"{MIC}.samples_received")
        page.wait_for_function(
            "() => document.querySelector('.rw-mic-level').value > 0.05", timeout=120_000
        )
        kernel.eval(f"{MIC}.samples_received")  # a round trip: any chunk sent has arrived
        assert kernel.eval(OUT_TYPES).count("input_audio_buffer.append") == appends
        assert kernel.eval(f"{MIC}.samples_received") == received

        reply = kernel.wait(
            "[t for r, t in playground.session.state.transcript() if r == 'assistant' and t "
            "and t.startswith('I heard')] if not playground.session.state.active_response "
            "else None",
            timeout=300,
        )[-1]
        sent = out_after(kernel, before)
        print(f"sent: {sent}\nreply: {reply!r}")
        assert sent[:4] == [
            "input_audio_buffer.clear",
            "input_audio_buffer.append",
            "input_audio_buffer.commit",
            "response.create",
        ], sent
        assert "input_audio_buffer.append" not in sent[4:], sent  # nothing after the release
        # the reply quotes the held turn (the user item's transcript) and it is the recording:
        # Whisper tiny.en on audio through Chromium's capture, on a loaded machine, may miss
        # words, so some (not all) of what it quotes is in the first two sentences
        user = kernel.wait(
            "[(it.transcript_state, it.text) for it in playground.session.state.ordered_items()"
            " if it.type == 'message' and it.role == 'user'] if all(it.transcript_state in "
            "('done', 'failed') for it in playground.session.state.items.values() "
            "if it.type == 'message' and it.role == 'user') else None",
            timeout=120,
        )
        print(f"user: {user}, dropped {kernel.eval(f'{MIC}.dropped_ms')} ms")
        assert len(user) == 1, user  # one turn: the held one
        quote = words_of(reply.split("You spoke for")[0].removeprefix("I heard:"))
        assert quote == words_of(user[0][1]), (reply, user)
        spoken = set(words_of(" ".join(SENTENCES[:2])))
        assert len([w for w in quote if w in spoken]) >= max(2, len(quote) / 3), reply

        # -- Create response with nothing waiting: a second reply to the same turn; a tap while
        # it plays is a barge-in (the speaker stops, the item is truncated at what was heard),
        # and too short to commit, it says so
        speaker = "playground.parts['speaker']"
        kernel.wait("not playground.session.state.active_response")
        heard = kernel.eval(f"list({speaker}.received)")  # the first reply's item(s)
        before = len(kernel.eval(OUT_TYPES))
        page.locator(".rw-conversation button.rw-respond").click()
        second = kernel.wait(
            f"[i for i, p in {speaker}.played.items() if p > 0 and i not in {heard!r}]",
            timeout=240,
            every=0.2,
        )[0]
        # The tap: press and release in one task of the page, so no audio chunk can come
        # between them (two CDP mouse commands on a loaded machine once lay 100 ms apart and
        # the tap was long enough to commit).
        hold.scroll_into_view_if_needed()
        hold.evaluate(TAP)
        status = kernel.wait(f"{MIC}.status if {MIC}.status.startswith('too short') else None")
        page.wait_for_function(
            "() => document.querySelector('.rw-mic-status').textContent.startsWith('too short')"
        )
        truncated = kernel.wait(f"{speaker}.truncations", timeout=240)
        sent = out_after(kernel, before)
        print(f"tap: {status!r}, sent {sent}, truncated {truncated}")
        assert [item for item, _ in truncated] == [second], (truncated, second)
        assert sent[0] == "response.create", sent  # Create response: nothing to commit first
        assert "conversation.item.truncate" in sent, sent
        assert "input_audio_buffer.commit" not in sent, sent
        assert sent.count("response.create") == 1, sent
        barge_ins = kernel.eval(
            "[e.type for e in playground.session.events if e.direction == 'local' "
            "and e.type == 'client.barge_in']"
        )
        assert barge_ins == ["client.barge_in"] * 2, barge_ins

        # -- Commit is a button of its own
        before = len(kernel.eval(OUT_TYPES))
        page.locator(".rw-conversation button.rw-commit").click()
        kernel.wait(f"'input_audio_buffer.commit' in {OUT_TYPES}[{before}:]")

        # -- the settings: devices by name, the toggles apply (read back from the track)
        page.locator(".rw-mic-settings-toggle").click()
        settings = page.locator(".rw-mic-settings")
        settings.wait_for(state="visible")
        options = page.evaluate(
            "() => [...document.querySelectorAll('.rw-mic-device option')]"
            ".map((o) => [o.value, o.textContent])"
        )
        print(f"devices: {options}")
        assert options[0] == ["", "Default microphone"]
        assert len(options) >= 2, options
        assert all(text and "names appear" not in text for _, text in options), options
        applied = json.loads(page.locator(".rw-mic-applied").get_attribute("data-settings"))
        assert applied["echoCancellation"] is True, applied
        page.locator(".rw-mic-settings input.rw-mic-echo_cancellation").uncheck()
        page.locator(".rw-mic-settings input.rw-mic-auto_gain_control").uncheck()
        page.wait_for_function(
            """() => { const s = document.querySelector('.rw-mic-applied').dataset.settings;
                 if (!s) return false; const v = JSON.parse(s);
                 return v.echoCancellation === false && v.autoGainControl === false; }""",
            timeout=120_000,
        )
        kernel.wait(
            f"[{MIC}.echo_cancellation, {MIC}.auto_gain_control] == [False, False]", timeout=120
        )
        device = options[-1][0]
        page.locator(".rw-mic-device").select_option(device)
        page.wait_for_function(
            """(id) => { const s = document.querySelector('.rw-mic-applied').dataset.settings;
                 return !!s && JSON.parse(s).deviceId === id; }""",
            arg=device,
            timeout=120_000,
        )
        # The page's change reaches the kernel on the widget's comm, the test's eval on another
        # connection: wait for the kernel to have it (a loaded kernel took longer than one eval).
        kernel.wait(f"{MIC}.device_id == {device!r}", timeout=120)
        shown = page.locator(".rw-mic-applied").inner_text()
        print(f"applied: {shown}")
        assert "echo cancellation off" in shown
        assert "auto gain off" in shown

        # -- the console at 1366x768: the settings open over the console under the gear,
        # within the window, pushing nothing out of view; closed again, every push-to-talk
        # control is in view
        page.locator(".rw-playground").first.scroll_into_view_if_needed()
        page.locator(".rw-microphone").first.scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOT_SETTINGS))
        opened = page.evaluate(LAYOUT)
        print(f"layout, settings open: {opened}")
        assert opened["mic overflow"] <= 0, opened  # the microphone's own lines are not cut
        assert all(opened["on top"].values()), opened
        left, top, right, bottom = opened["settings"]
        assert left >= 0, opened
        assert right <= 1366, opened
        assert opened["gear"][3] <= top, opened  # under the gear
        assert bottom <= 768, opened
        page.locator(".rw-mic-settings-toggle").click()
        settings.wait_for(state="hidden")
        page.wait_for_function(
            "() => document.querySelector('.rw-mic-level').value > 0.05", timeout=120_000
        )
        page.screenshot(path=str(SCREENSHOT))
        closed = page.evaluate(LAYOUT)
        print(f"layout, settings closed: {closed}")
        assert closed["mic overflow"] <= 0, closed
        assert closed["on top"] == {
            "hold": True,
            "gear": True,
            "commit": True,
            "respond": True,
            "meter": True,
            "device": False,  # (closed)
            "echo": False,
        }, closed

        # -- Stop: the meter is lit, then reads 0 and stays there
        assert meter(page) > 0
        page.locator(".rw-mic-toggle").click()
        page.wait_for_function(
            "() => document.querySelector('.rw-mic-toggle').dataset.text === 'Start microphone'"
        )
        kernel.wait(f"not {MIC}.streaming")
        page.evaluate(
            "() => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok)))"
        )
        kernel.eval(f"{MIC}.samples_received")  # one more round trip
        assert meter(page) == 0
        assert page.locator(".rw-mic-applied").get_attribute("data-settings") == ""
        assert page.locator(".rw-mic-applied").text_content().startswith("not capturing")
        assert not page.widget_errors(), page.widget_errors()
    finally:
        kernel.close()
