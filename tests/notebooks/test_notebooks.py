"""Every notebook runs top to bottom with no key (what `make demo` and Binder show), and shows
what it promises."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.notebooks.stories import STORIES

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))

# What each notebook's output must show (beyond running without an error).
EXPECTED = {
    "00_playground": ['"type": "session.update"', "silence_duration_ms"],
    "01_every_parameter": [
        'server  "coral"',
        "refused before sending: temperature exists only in the beta dialect",
        "model cannot change during a session",
        "voice cannot change once the assistant has spoken",
    ],
    "02_tools": [
        '"name": "get_weather"',
        "call   get_weather",
        '"temperature": 21',
        '{"error": "RuntimeError: the lookup service is down"}',
    ],
    "03_replay_and_teaching": [
        "speech started at",
        "speech stopped at",
        "assistant: I heard:",  # the local server heard the turn (Whisper, offline extra)
    ],
    "04_vad_lab": [
        "licence: LGPL-2.1-or-later",
        "conclusion: on the front at <= 5 % false cutoffs",
        "a false cutoff",
        "source: livekit/eot-bench",
        "no OPENAI_API_KEY: the OpenAI sweep is skipped",
        "cutoffs=1",
    ],
    "05_transcription": [
        '"type": "transcription"',
        "refused before sending: turn_detection.threshold",
        "input_audio_buffer.committed",
        "failed: The local server has no offline speech recogniser",
        "turn at ",
        "heard: 'Please book a table",  # Whisper tiny.en, offline
        "least sure: ",
        "p=0.",
    ],
    "06_live": [
        '"type": "session.start"',
        "wake_policy on the WebSocket: False",
        "refused before sending: voice is fixed by session.start",
        "client.live.connect()",
        "you said:    Please book a table for two.",  # Whisper tiny.en, offline
        "status:      accepted",
        "The tool delegate returned: A table for two is booked at 7 pm.",
        "answers: 3 | cut: 1",
        "(cut when you spoke): 'I heard: What time",
        "turns heard while muted: 0",
        "billed seconds while muted: ",
        "fixtures played: 1",
        "; breakdown: active None, paused None",
        "s with no breakdown, priced as active)",
        "so this is an upper bound if any of them were standby.",
        "price source: https://developers.openai.com/api/docs/models/gpt-live-1.1",
        "locked now: ['idle_timeout_s', 'wake_policy']",
    ],
    "07_translation": [
        "refused before sending: output_language must be an ISO-639-1 language code",
        "client.realtime.translations.connect(model=MODEL)",
        "the server said (translator_unavailable): This local server has no translator",
        "heard:       'Please book a table",  # Whisper tiny.en, offline
        "translation: none",
        "translated audio received: 0 ms",
    ],
}


def test_every_notebook_has_expectations() -> None:
    assert {p.stem for p in NOTEBOOKS} == set(EXPECTED)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_without_errors(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    work = tmp_path / path.name  # notebooks may write files (recordings): not into the repo
    shutil.copy(path, work)
    nb = nbformat.read(work, as_version=4)
    assert "OPENAI_API_KEY" in nb.cells[0].source or "To use OpenAI" in nb.cells[0].source
    assert "Azure" in nb.cells[0].source
    client = nbclient.NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs)
    text += "".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    for expected in EXPECTED[path.stem]:
        assert expected in text, f"{path.name}: {expected!r} not in the output"
    if path.stem in STORIES:  # the text's claims and numbers are the outputs'
        STORIES[path.stem](nb)
