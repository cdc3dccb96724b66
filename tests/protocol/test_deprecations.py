"""Saved prompts are deprecated (openai 3.63): one piece of metadata on the ``prompt`` field, read
from the SDK's own docstring, and nothing removed: the wire still carries the prompt."""

from __future__ import annotations

import inspect
import json
import re
import tomllib
import warnings
from datetime import date
from importlib.metadata import version
from pathlib import Path

import openai.types.realtime.realtime_session_create_request as sdk_request
from packaging.requirements import Requirement
from packaging.version import Version

from realtime_widgets import SessionConfig
from realtime_widgets.protocol.config import SAVED_PROMPTS
from realtime_widgets.protocol.configbase import Deprecation

from .sdk_oracle import check_session_update

ROOT = Path(__file__).parents[2]
PROMPT = {"id": "pmpt_abc", "version": "3", "variables": {"city": "Oslo"}}


def _sdk_docstring(field: str) -> str:
    """The attribute docstring the SDK writes under a field of RealtimeSessionCreateRequest."""
    source = inspect.getsource(sdk_request.RealtimeSessionCreateRequest)
    found = re.search(rf"\n    {field}: [^\n]*\n    \"\"\"(.*?)\"\"\"", source, re.S)
    assert found is not None, f"the SDK has no {field} field any more"
    return " ".join(found.group(1).split())


def test_the_deprecation_is_the_sdks_own() -> None:
    said = _sdk_docstring("prompt")
    assert "This field is deprecated in favor of" in said
    assert SAVED_PROMPTS.source in said  # the migration guide the SDK links
    assert "OpenAI scheduled the shutdown of saved prompts for November 30, 2026." in said
    assert SAVED_PROMPTS.shutdown == date(2026, 11, 30)
    assert SAVED_PROMPTS.what == "saved prompts"
    # One piece of metadata on the field, and on no other field.
    deprecated = {n: p.deprecated for n, p in SessionConfig.params().items() if p.deprecated}
    assert deprecated == {"prompt": SAVED_PROMPTS}


def test_the_openai_floor_is_the_sdk_that_deprecates_saved_prompts() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    floors = {
        extra: str(req.specifier)
        for extra in ("chat", "test")
        for req in map(Requirement, extras[extra])
        if req.name == "openai"
    }
    assert floors == {"chat": ">=3.63", "test": ">=3.63"}
    assert Version(version("openai")) in Requirement("openai>=3.63").specifier


def test_the_note_says_when_the_shutdown_date_has_passed() -> None:
    before = SAVED_PROMPTS.note(date(2026, 11, 1))
    on_the_day = SAVED_PROMPTS.note(date(2026, 11, 30))
    after = SAVED_PROMPTS.note(date(2026, 12, 7))
    scheduled = "Deprecated: OpenAI scheduled the shutdown of saved prompts for 2026-11-30"
    assert before.startswith(scheduled + ". Still sent as set.")
    assert on_the_day == before
    assert after.startswith(scheduled + ", which has passed, so OpenAI may refuse this parameter.")
    for text in (before, after):
        assert text.endswith(
            "Instead: prompts in application code, e.g. the prompt's text in instructions "
            "(https://developers.openai.com/api/docs/guides/prompting/migrate-from-prompt-object)."
        )
    assert SAVED_PROMPTS.note() == SAVED_PROMPTS.note(date.today())
    assert "has passed" in SAVED_PROMPTS.note()  # today (December 2026) is after 2026-11-30


def test_a_config_lists_the_deprecated_parameters_it_sets() -> None:
    today = date(2026, 12, 7)
    assert SessionConfig().deprecations(today) == {}
    assert SessionConfig(instructions="Plan trips to Oslo.").deprecations(today) == {}
    config = SessionConfig(prompt=PROMPT)
    assert config.deprecations(today) == {"prompt": SAVED_PROMPTS.note(today)}
    assert config.with_changes(prompt=None).deprecations(today) == {}
    other = Deprecation("old things", date(2027, 1, 20), "new things", "https://example.org")
    assert other.note(today) == (
        "Deprecated: OpenAI scheduled the shutdown of old things for 2027-01-20. Still sent as "
        "set. Instead: new things (https://example.org)."
    )


def test_the_wire_still_carries_the_prompt_and_warns_nothing() -> None:
    config = SessionConfig(prompt=PROMPT, instructions="Be brief.")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        event = config.to_session_update(event_id="evt_1")
        later = config.with_changes({"prompt.version": "4"})
        update = later.to_session_update(previous=config)
        back = SessionConfig.from_session(json.loads(json.dumps(event))["session"])
    assert caught == []  # only an export warns; sending is not deprecated by us
    assert event["session"]["prompt"] == PROMPT
    parsed = check_session_update(json.loads(json.dumps(event)))  # the SDK still models it
    assert parsed.session.prompt is not None
    assert parsed.session.prompt.id == "pmpt_abc"
    assert update["session"] == {"type": "realtime", "prompt": {**PROMPT, "version": "4"}}
    assert back == config


def test_the_schema_marks_the_prompt_deprecated() -> None:
    schema = SessionConfig.json_schema()
    assert schema["properties"]["prompt"]["deprecated"] is True
    assert schema["properties"]["prompt"]["x-deprecated"] == {
        "what": "saved prompts",
        "shutdown": "2026-11-30",
        "instead": SAVED_PROMPTS.instead,
        "source": SAVED_PROMPTS.source,
    }
    marked = [name for name, prop in schema["properties"].items() if "deprecated" in prop]
    assert marked == ["prompt"]
