"""The Realtime protocol in pure Python: SessionConfig, the wire format, events, state.

No asyncio, no websockets, no widgets: this package is safe to import anywhere.

Where things live, in import order: a module imports only modules of the rows above it
(tests/test_imports.py checks that nothing imports back)::

    introspect             what a type annotation holds (models, Literal values)
    textbudget             the one token estimate for text (four characters a token); the
                           bounded transcript text of ConversationState (TextBudget)
    parts                  the nested records of a config (formats, VAD, tools, ...), SECRET
    redaction              secrets replaced in plain data (presets, exports, recordings)
    problems               pydantic errors -> FieldProblem, in OpenAI's words
    configbase             Param; ConfigModel: reads, with_changes, diff, schema, wire paths,
                           and the hooks check_rules / locked_fields / check_transition;
                           plain(), the one model -> JSON data conversion
    wire                   any ConfigModel <-> the session object: encode_session, the lenient
                           and the strict reader, session_update (which calls the hooks);
                           WireConfig, the base with to_session / from_session
    config                 SessionConfig (session.type "realtime"): fields, check_rules,
                           to_session_update
    transcription_config   TranscriptionConfig (session.type "transcription"), the same way
    live_parts             GPT-Live's nested records (formats, 23 voices, delegation, Decisions
                           questions and triggers, startup history, wake policy)
    live_config            LiveConfig (client.live): session.start / session.update, the
                           media-only fields of client.live.create(), the start-only locks
    translation_config     TranslationConfig (session.type "translation"): its update has no
                           type and no model; the session a server reports is complete
    rules                  locked_fields(config) and variant_fields(name) as functions
    seeds                  PSOpenAI's vocabulary: from_psopenai, its command line both ways
    export                 to_code(config, target): openai-python, agents, PSOpenAI, .NET, JSON
    client_events          typed client events, encode(), OpenAI's words for a bad one
    events                 typed server events, parse_server_event (re-exports client events)
    live_events            GPT-Live's client and server events (the SDK's class names), codec
    translation_events     a translation session's events (the SDK's names), both parsers
    images                 image input: formats, sizes, data URLs
    items                  conversation items and the client events that carry them
    presets                named partial configs, share strings, preset files
    order                  item order by previous_item_id
    state                  ConversationState, fed by server events
    coverage               what of the official SDK's types we do not model, and why

The configs' chain is parts -> configbase -> wire -> {config, transcription_config,
live_config,
translation_config} -> {rules, seeds -> export, presets}: a config knows the wire and no code
generator; a new session config subclasses ConfigModel, overrides the hooks its fields need and
gets the wire for free.
"""

from __future__ import annotations

from realtime_widgets.protocol.config import GROUPS, MODELS, Param, SessionConfig
from realtime_widgets.protocol.export import to_code
from realtime_widgets.protocol.live_config import LIVE_MODELS, LiveConfig
from realtime_widgets.protocol.parts import (
    BUILTIN_VOICES,
    CustomVoice,
    FunctionTool,
    McpTool,
    NoiseReduction,
    PcmaFormat,
    PcmFormat,
    PcmuFormat,
    Prompt,
    Reasoning,
    RetentionRatioTruncation,
    SemanticVad,
    ServerVad,
    ToolChoiceFunction,
    ToolChoiceMcp,
    TracingConfig,
    Transcription,
)
from realtime_widgets.protocol.rules import locked_fields
from realtime_widgets.protocol.seeds import from_psopenai
from realtime_widgets.protocol.transcription_config import TranscriptionConfig
from realtime_widgets.protocol.translation_config import TranslationConfig
from realtime_widgets.protocol.wire import param_path, validate_session_payload

__all__ = [
    "BUILTIN_VOICES",
    "GROUPS",
    "LIVE_MODELS",
    "MODELS",
    "CustomVoice",
    "FunctionTool",
    "LiveConfig",
    "McpTool",
    "NoiseReduction",
    "Param",
    "PcmFormat",
    "PcmaFormat",
    "PcmuFormat",
    "Prompt",
    "Reasoning",
    "RetentionRatioTruncation",
    "SemanticVad",
    "ServerVad",
    "SessionConfig",
    "ToolChoiceFunction",
    "ToolChoiceMcp",
    "TracingConfig",
    "Transcription",
    "TranscriptionConfig",
    "TranslationConfig",
    "from_psopenai",
    "locked_fields",
    "param_path",
    "to_code",
    "validate_session_payload",
]
