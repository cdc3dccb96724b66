"""Hypothesis strategies for valid SessionConfigs (shared by the protocol and server tests)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from realtime_widgets import SessionConfig
from realtime_widgets.protocol.parts import BUILTIN_VOICES

text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
name = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_]{0,20}", fullmatch=True)
# Floats as a slider produces them, including ones with 17 decimals (0.1 + 0.2).
unit = st.one_of(
    st.floats(0.0, 1.0, allow_nan=False),
    st.integers(0, 100).map(lambda i: i / 100),
    st.just(0.1 + 0.2),
)

formats = st.sampled_from(
    [{"type": "audio/pcm", "rate": 24000}, {"type": "audio/pcmu"}, {"type": "audio/pcma"}]
)
server_vad = st.fixed_dictionaries(
    {"type": st.just("server_vad")},
    optional={
        "threshold": unit,
        "prefix_padding_ms": st.integers(0, 2000),
        "silence_duration_ms": st.integers(0, 5000),
        "idle_timeout_ms": st.one_of(st.none(), st.integers(5000, 30000)),
        "create_response": st.booleans(),
        "interrupt_response": st.booleans(),
    },
)
semantic_vad = st.fixed_dictionaries(
    {"type": st.just("semantic_vad")},
    optional={
        "eagerness": st.sampled_from(["low", "medium", "high", "auto"]),
        "create_response": st.booleans(),
        "interrupt_response": st.booleans(),
    },
)
json_scalar = st.one_of(st.booleans(), st.integers(-1000, 1000), text)
function_tool = st.builds(
    lambda n, d, props: {
        "type": "function",
        "name": n,
        "description": d,
        "parameters": {
            "type": "object",
            "properties": {p: {"type": "string"} for p in props},
            "required": sorted(props)[:1],
        },
    },
    name,
    text,
    st.sets(name, max_size=3),
)
mcp_tool = st.builds(
    lambda label, url, approval: {
        "type": "mcp",
        "server_label": label,
        "server_url": url,
        "require_approval": approval,
    },
    name,
    st.sampled_from(["https://mcp.example.com/sse", "https://tools.example.org/mcp"]),
    st.sampled_from(["always", "never"]),
)


@st.composite
def tools_and_choice(draw: st.DrawFn) -> dict[str, Any]:
    functions = draw(st.lists(function_tool, max_size=3, unique_by=lambda t: t["name"]))
    servers = draw(st.lists(mcp_tool, max_size=1))
    names = {t["name"] for t in functions}
    servers = [s for s in servers if s["server_label"] not in names]
    choices: list[Any] = ["auto", "none", "required"]
    choices += [{"type": "function", "name": t["name"]} for t in functions]
    choices += [{"type": "mcp", "server_label": s["server_label"]} for s in servers]
    return {"tools": functions + servers, "tool_choice": draw(st.sampled_from(choices))}


FIELD_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "model": st.sampled_from(["gpt-realtime-1.5", "gpt-realtime-2", "gpt-realtime-mini"]),
    "output_modalities": st.sampled_from([["audio"], ["text"]]),
    "voice": st.one_of(
        st.sampled_from(BUILTIN_VOICES),
        st.from_regex(r"voice_[a-z0-9]{4,10}", fullmatch=True).map(lambda v: {"id": v}),
    ),
    "speed": st.one_of(st.floats(0.25, 1.5, allow_nan=False), st.just(0.7000000000000001)),
    "instructions": st.one_of(st.none(), text),
    "input_audio_format": formats,
    "output_audio_format": formats,
    "noise_reduction": st.one_of(
        st.none(),
        st.fixed_dictionaries(
            {"type": st.sampled_from(["near_field", "far_field"])}, optional={"strength": unit}
        ),
    ),
    "transcription": st.one_of(
        st.none(),
        st.fixed_dictionaries(
            {
                "model": st.sampled_from(
                    ["whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"]
                )
            },
            optional={"language": st.sampled_from(["en", "de", "fr", "ja"]), "prompt": text},
        ),
    ),
    "include": st.one_of(st.none(), st.just(["item.input_audio_transcription.logprobs"])),
    "turn_detection": st.one_of(st.none(), server_vad, semantic_vad),
    "parallel_tool_calls": st.one_of(st.none(), st.booleans()),
    "max_output_tokens": st.one_of(st.just("inf"), st.integers(1, 4096)),
    "truncation": st.one_of(
        st.sampled_from(["auto", "disabled"]),
        st.fixed_dictionaries(
            {"type": st.just("retention_ratio"), "retention_ratio": unit},
            optional={
                "token_limits": st.fixed_dictionaries({"post_instructions": st.integers(0, 30000)})
            },
        ),
    ),
    "tracing": st.one_of(
        st.none(),
        st.just("auto"),
        st.fixed_dictionaries(
            {},
            optional={
                "workflow_name": name,
                "group_id": name,
                "metadata": st.dictionaries(name, json_scalar, max_size=3),
            },
        ),
    ),
    "reasoning": st.one_of(
        st.none(),
        st.fixed_dictionaries(
            {"effort": st.sampled_from(["minimal", "low", "medium", "high", "xhigh"])}
        ),
    ),
    "prompt": st.one_of(
        st.none(),
        st.fixed_dictionaries(
            {"id": st.from_regex(r"pmpt_[a-z0-9]{6}", fullmatch=True)},
            optional={
                "version": st.sampled_from(["1", "2", "17"]),
                "variables": st.dictionaries(
                    name,
                    st.one_of(text, st.builds(lambda t: {"type": "input_text", "text": t}, text)),
                    max_size=3,
                ),
            },
        ),
    ),
}


@st.composite
def config_data(draw: st.DrawFn) -> dict[str, Any]:
    """Keyword arguments for a valid GA SessionConfig: a random subset of fields, set."""
    chosen = draw(st.sets(st.sampled_from(sorted(FIELD_STRATEGIES))))
    data = {key: draw(FIELD_STRATEGIES[key]) for key in sorted(chosen)}
    if draw(st.booleans()):
        data.update(draw(tools_and_choice()))
    return data


configs = config_data().map(lambda d: SessionConfig(**d))


# ---- transcription sessions: the input half, with the richer transcription records ----------

TRANSCRIPTION_FIELD_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "input_audio_format": formats,
    "noise_reduction": FIELD_STRATEGIES["noise_reduction"],
    "transcription": st.one_of(
        st.none(),
        st.fixed_dictionaries(
            {
                "model": st.sampled_from(
                    [
                        "whisper-1",
                        "gpt-4o-transcribe",
                        "gpt-4o-mini-transcribe",
                        "gpt-realtime-whisper",
                        "my-azure-deployment",
                    ]
                )
            },
            optional={
                "language": st.sampled_from(["en", "de", "fr", "ja", "pt-BR"]),
                "prompt": text,
                "languages": st.lists(st.sampled_from(["en", "de", "fr"]), max_size=3),
                "keywords": st.lists(name, max_size=3),
                "delay": st.sampled_from(["minimal", "low", "medium", "high", "xhigh"]),
            },
        ),
    ),
    "include": FIELD_STRATEGIES["include"],
    "turn_detection": FIELD_STRATEGIES["turn_detection"],
}


@st.composite
def transcription_config_data(draw: st.DrawFn) -> dict[str, Any]:
    """Keyword arguments for a valid TranscriptionConfig: a random subset of fields, set."""
    chosen = draw(st.sets(st.sampled_from(sorted(TRANSCRIPTION_FIELD_STRATEGIES))))
    return {key: draw(TRANSCRIPTION_FIELD_STRATEGIES[key]) for key in sorted(chosen)}


# ---- GPT-Live (LiveConfig) ------------------------------------------------------------------

_instructions = st.one_of(text, st.lists(st.just({"type": "input_text", "text": "Be kind."})))
_question = st.one_of(
    st.builds(
        lambda i, n, values: {
            "type": "choice",
            "instructions": i,
            "choices": [{"value": v} for v in values],
            **({"name": n} if n else {}),
        },
        _instructions,
        st.one_of(st.none(), name),
        st.lists(st.one_of(name, st.booleans()), min_size=1, max_size=3, unique=True),
    ),
    st.builds(lambda i: {"type": "predicate", "instructions": i}, _instructions),
    st.builds(
        lambda i, labels: {
            "type": "score",
            "instructions": i,
            "levels": [{"label": label, "description": "level"} for label in labels],
        },
        _instructions,
        st.lists(name, min_size=1, max_size=3),
    ),
)
_questions = st.lists(_question, min_size=1, max_size=2)
_ack = {"acknowledgement_delay_ms": st.integers(0, 2000)}
_responses_tool = st.one_of(
    function_tool.map(lambda t: {**t, "strict": True}),
    st.sampled_from(
        [
            {"type": "web_search"},
            {"type": "file_search"},
            {"type": "code_interpreter"},
            {"type": "image_generation"},
            {"type": "shell", "environment": {"type": "container_auto"}},
        ]
    ),
    mcp_tool,
)
_tool_choice = st.one_of(
    st.sampled_from(["auto", "none", "required"]),
    st.builds(lambda n: {"type": "function", "name": n}, name),
    st.sampled_from([{"type": "web_search"}, {"type": "shell"}, {"type": "apply_patch"}]),
    st.builds(
        lambda n: {
            "type": "allowed_tools",
            "mode": "auto",
            "tools": [{"type": "custom", "name": n}],
        },
        name,
    ),
)
live_delegation = st.one_of(
    st.none(),
    st.fixed_dictionaries({"type": st.just("client")}, optional=_ack),
    st.fixed_dictionaries(
        {
            "type": st.just("responses"),
            "responses": st.fixed_dictionaries(
                {"model": st.sampled_from(["gpt-5.1", "gpt-5-mini"])},
                optional={
                    "instructions": text,
                    "max_output_tokens": st.integers(1, 4096),
                    "parallel_tool_calls": st.booleans(),
                    "reasoning": st.fixed_dictionaries(
                        {}, optional={"effort": st.sampled_from(["none", "low", "xhigh"])}
                    ),
                    "service_tier": st.sampled_from(["auto", "flex", "priority"]),
                    "text": st.just({"verbosity": "low"}),
                    "tool_choice": _tool_choice,
                    "tools": st.lists(_responses_tool, max_size=3),
                },
            ),
        },
        optional=_ack,
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("decisions"),
            "decisions": st.fixed_dictionaries(
                {"model": st.just("gpt-5-mini"), "questions": _questions}
            ),
        },
        optional=_ack,
    ),
)
live_triggers = st.one_of(
    st.none(),
    st.lists(
        st.sampled_from(["session.input_transcript.delta", "session.output_transcript.delta"]),
        unique=True,
        max_size=2,
    ).flatmap(
        lambda kinds: st.tuples(*[_questions for _ in kinds]).map(
            lambda qs: [
                {"type": "decisions", "event_type": k, "decisions": {"questions": q}}
                for k, q in zip(kinds, qs, strict=True)
            ]
        )
    ),
)
_initial_item = st.one_of(
    st.builds(lambda t: {"role": "developer", "content": [{"text": t}]}, text),
    st.builds(
        lambda t, status: {
            "type": "message",
            "role": "user",
            "status": status,
            "content": [{"type": "input_text", "text": t}],
        },
        text,
        st.sampled_from(["completed", "incomplete"]),
    ),
    st.builds(
        lambda t, kind: {"role": "assistant", "content": [{"type": kind, "text": t}]},
        text,
        st.sampled_from(["text", "output_text"]),
    ),
)
LIVE_FIELD_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "model": st.sampled_from(["gpt-live-1", "gpt-live-1.1", "gpt-live-1.1-2026-10-01"]),
    "voice": st.one_of(
        st.sampled_from(["marin", "cedar", "willow", "vesper"]),
        st.just({"id": "voice_abc123"}),
    ),
    "instructions": st.one_of(st.none(), text),
    "input": st.one_of(st.none(), st.lists(_initial_item, max_size=4)),
    "audio_format": st.sampled_from(
        [
            {"type": "audio/pcm", "rate": 16000},
            {"type": "audio/pcm", "rate": 24000},
            {"type": "audio/pcmu", "rate": 8000},
            {"type": "audio/pcma", "rate": 8000},
        ]
    ),
    "delegation": live_delegation,
    "triggers": live_triggers,
    "safety_identifier": st.one_of(st.none(), name),
    "store": st.one_of(st.none(), st.booleans()),
    "client": st.one_of(
        st.none(),
        st.just({"data_channel": {"allowed_client_events": "all"}}),
        st.just(
            {
                "data_channel": {
                    "allowed_client_events": ["session.input_audio.mute"],
                    "allowed_server_events": [
                        {"type": "session.output_transcript.delta"},
                        {"type": "response.event", "response_event": "response.completed"},
                    ],
                }
            }
        ),
    ),
    "wake_policy": st.one_of(
        st.none(),
        st.fixed_dictionaries({"type": st.just("speech")}, optional={"vad_threshold": unit}),
    ),
    "idle_timeout_s": st.one_of(st.none(), st.integers(1, 3600)),
}


@st.composite
def live_config_data(draw: st.DrawFn) -> dict[str, Any]:
    """Keyword arguments for a valid LiveConfig: a random subset of fields, set."""
    chosen = draw(st.sets(st.sampled_from(sorted(LIVE_FIELD_STRATEGIES))))
    return {key: draw(LIVE_FIELD_STRATEGIES[key]) for key in sorted(chosen)}
