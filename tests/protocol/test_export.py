"""Exports: the Python ones run against recording stand-ins and send exactly our payload;
the PSOpenAI line parses back into the same config; .NET and JSON carry the same event."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import types
import warnings
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai.resources.realtime.realtime import AsyncRealtimeConnection

from realtime_widgets import ConfigError, SessionConfig
from realtime_widgets.protocol.export import to_code
from realtime_widgets.protocol.seeds import from_psopenai, parse_psopenai_command

from .strategies import FIELD_STRATEGIES, configs, function_tool

EXAMPLE = SessionConfig(
    voice="marin",
    speed=1.1,
    instructions="Answer in one sentence. It's fine.",
    noise_reduction=None,
    transcription={"model": "gpt-4o-mini-transcribe", "language": "en"},
    turn_detection={"type": "server_vad", "threshold": 0.6, "idle_timeout_ms": 6000},
    tools=[
        {
            "type": "function",
            "name": "lookup",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
        }
    ],
    tool_choice="auto",
    max_output_tokens=800,
    truncation="disabled",
)


class RecordingSocket:
    """Stands in for the websocket under the SDK's real connection class."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, data: str | bytes) -> None:
        self.sent.append(data if isinstance(data, str) else data.decode())

    async def close(self, code: int = 1000, reason: str = "") -> None:
        return None


def _run_openai_python(code: str) -> list[dict[str, Any]]:
    namespace: dict[str, Any] = {"__name__": "exported"}
    exec(compile(code, "<export>", "exec"), namespace)
    socket = RecordingSocket()

    async def go() -> None:
        await namespace["configure"](AsyncRealtimeConnection(socket))  # type: ignore[arg-type]

    asyncio.run(go())
    return [json.loads(s) for s in socket.sent]


def test_openai_python_export_sends_exactly_our_payload() -> None:
    code = to_code(EXAMPLE, "openai-python")
    compile(code, "<export>", "exec")
    sent = _run_openai_python(code)
    assert sent == [EXAMPLE.to_session_update()]
    assert "client.realtime.connect(model=MODEL)" in code


def _exported(config: SessionConfig, target: str) -> tuple[str, list[warnings.WarningMessage]]:
    """The export and every warning it raised (each shown, none turned into an error)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = to_code(config, target)
    return code, caught


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(configs)
def test_openai_python_export_for_generated_configs(config: SessionConfig) -> None:
    code, caught = _exported(config, "openai-python")
    assert _run_openai_python(code) == [config.to_session_update()]
    # A saved prompt (deprecated) is exported as set, with one DeprecationWarning; else none.
    expected = [f"prompt: {config.deprecations()['prompt']}"] if config.prompt else []
    assert [str(w.message) for w in caught] == expected
    assert all(w.category is DeprecationWarning for w in caught)


def test_openai_agents_export_builds_model_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    recorded: dict[str, Any] = {}

    class RealtimeAgent:
        def __init__(self, **kw: Any) -> None:
            recorded["agent"] = kw

    class RealtimeRunner:
        def __init__(self, **kw: Any) -> None:
            recorded["runner"] = kw

    module = types.ModuleType("agents.realtime")
    module.RealtimeAgent = RealtimeAgent  # type: ignore[attr-defined]
    module.RealtimeRunner = RealtimeRunner  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "agents", types.ModuleType("agents"))
    monkeypatch.setitem(sys.modules, "agents.realtime", module)
    code = to_code(EXAMPLE, "openai-agents")
    exec(compile(code, "<agents>", "exec"), {"__name__": "exported"})
    settings_ = recorded["runner"]["config"]["model_settings"]
    session = EXAMPLE.to_session_update()["session"]
    assert settings_["audio"] == session["audio"]
    assert settings_["max_output_tokens"] == 800
    assert "instructions" not in settings_
    assert recorded["agent"]["instructions"] == EXAMPLE.instructions
    assert "tools" not in settings_
    assert "truncation" not in settings_
    assert "# Not expressible here: tools (lookup)" in code
    assert "truncation='disabled'" in code


def test_psopenai_line_parses_back_into_the_same_config() -> None:
    config = SessionConfig(
        voice="marin",
        instructions="It's 'quoted'",
        input_audio_format="g711_ulaw",
        noise_reduction="far_field",
        transcription={"model": "whisper-1", "language": "en", "prompt": "names"},
        turn_detection={"type": "semantic_vad", "eagerness": "low", "create_response": False},
        max_output_tokens="inf",
        tracing={"workflow_name": "demo", "group_id": "g1", "metadata": {"team": "voice", "n": 3}},
        tools=[
            {
                "type": "function",
                "name": "lookup",
                "description": "Find",
                "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
            }
        ],
        tool_choice="lookup",
        prompt={"id": "pmpt_abc", "version": "3", "variables": {"city": "Oslo"}},
    )
    with pytest.warns(DeprecationWarning, match="^prompt: Deprecated: OpenAI scheduled"):
        line = to_code(config, "psopenai")  # the saved prompt: exported, with a warning
    assert line.count("Set-RealtimeSessionConfiguration") == 1
    assert "-EnableTurnDetection $true" in line
    assert "'It''s ''quoted'''" in line
    back = from_psopenai(**parse_psopenai_command(line))
    assert back == config


PSOPENAI_FIELDS = [
    "voice",
    "speed",
    "instructions",
    "input_audio_format",
    "output_audio_format",
    "turn_detection",
    "max_output_tokens",
    "output_modalities",
]


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.fixed_dictionaries({}, optional={k: FIELD_STRATEGIES[k] for k in PSOPENAI_FIELDS}),
    st.lists(function_tool, max_size=2, unique_by=lambda t: t["name"]),
)
def test_psopenai_round_trip_for_generated_configs(data: dict, tools: list) -> None:
    if isinstance(data.get("voice"), dict):
        data.pop("voice")  # PSOpenAI has no custom voices; the export says so instead
    config = SessionConfig(**data, **({"tools": tools} if tools else {}))
    back = from_psopenai(**parse_psopenai_command(to_code(config, "psopenai")))
    assert back == config


def test_psopenai_export_names_what_it_cannot_express() -> None:
    code = to_code(SessionConfig(voice={"id": "voice_x1"}, truncation="disabled"), "psopenai")
    assert code.startswith("# Not expressible in PSOpenAI: truncation, voice")


def test_dotnet_export_carries_the_ga_event_and_says_beta_only() -> None:
    code = to_code(EXAMPLE, "openai-dotnet")
    assert "beta dialect" in code
    assert "switched" in code
    body = re.search(r'@"(.*?)";\n', code, re.S)
    assert body is not None
    assert json.loads(body.group(1).replace('""', '"')) == EXAMPLE.to_session_update()


def test_json_export_and_unknown_target() -> None:
    assert json.loads(to_code(EXAMPLE, "json")) == EXAMPLE.to_session_update()
    with pytest.raises(ConfigError, match="openai-python, openai-agents, psopenai"):
        to_code(EXAMPLE, "rust")


SAVED_PROMPT = SessionConfig(
    instructions="Be brief.",
    prompt={"id": "pmpt_abc", "version": "3", "variables": {"city": "Oslo"}},
)
COMMENT_OF = {"openai-python": "#", "openai-agents": "#", "psopenai": "#", "openai-dotnet": "//"}


@pytest.mark.parametrize("target", [*COMMENT_OF, "json"])
def test_a_saved_prompt_is_exported_with_a_warning_comment_and_a_deprecation_warning(
    target: str,
) -> None:
    note = SAVED_PROMPT.deprecations()["prompt"]
    with pytest.warns(DeprecationWarning, match="^prompt: ") as caught:
        code = to_code(SAVED_PROMPT, target)
    assert [str(w.message) for w in caught] == [f"prompt: {note}"]
    assert caught[0].filename == __file__  # at the caller's line, not inside the package
    if target == "json":  # no comments in JSON: the event alone, the prompt in it
        assert json.loads(code) == SAVED_PROMPT.to_session_update()
        return
    comment = COMMENT_OF[target]
    first, *rest = code.splitlines()
    assert first.startswith(f"{comment} WARNING: prompt: Deprecated: OpenAI scheduled the shutdown")
    head = [first[len(comment) + 1 :]]
    for line in rest:  # the warning's continuation lines, indented under it
        if not line.startswith(f"{comment}     "):
            break
        head.append(line[len(comment) + 1 :].strip())
    assert " ".join(" ".join(head).split()) == f"WARNING: prompt: {note}"  # whole, wrapped
    assert all(len(line) <= 96 for line in code.splitlines()[: len(head)])
    assert "pmpt_abc" in code  # nothing removed


def test_the_exported_python_with_a_saved_prompt_still_sends_it() -> None:
    with pytest.warns(DeprecationWarning, match="saved prompts"):
        code = to_code(SAVED_PROMPT, "openai-python")
    assert code.startswith("# WARNING: prompt: Deprecated:")
    namespace: dict[str, Any] = {"__name__": "exported"}
    exec(compile(code, "<export>", "exec"), namespace)
    assert namespace["__doc__"].startswith("Realtime session settings exported")  # still first
    sent = _run_openai_python(code)
    assert sent == [SAVED_PROMPT.to_session_update()]
    assert sent[0]["session"]["prompt"] == {
        "id": "pmpt_abc",
        "version": "3",
        "variables": {"city": "Oslo"},
    }


def test_warn_false_keeps_the_comment_and_drops_only_the_warning() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet = to_code(SAVED_PROMPT, "openai-python", warn=False)
    assert caught == []
    with pytest.warns(DeprecationWarning, match="^prompt: "):
        assert quiet == to_code(SAVED_PROMPT, "openai-python")


@pytest.mark.parametrize("target", [*COMMENT_OF, "json"])
def test_no_saved_prompt_no_warning(target: str) -> None:
    code, caught = _exported(EXAMPLE, target)
    assert caught == []
    assert "WARNING" not in code
    assert "Deprecated" not in code
