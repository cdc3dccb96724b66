"""The Realtime protocol in pure Python: SessionConfig, the wire format, events, state.

No asyncio, no websockets, no widgets: this package is safe to import anywhere.
"""

from __future__ import annotations

from realtime_widgets.protocol.config import GROUPS, MODELS, Param, SessionConfig
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
from realtime_widgets.protocol.transcription import TranscriptionConfig
from realtime_widgets.protocol.wire import param_path, validate_session_payload

__all__ = [
    "BUILTIN_VOICES",
    "GROUPS",
    "MODELS",
    "CustomVoice",
    "FunctionTool",
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
    "locked_fields",
    "param_path",
    "validate_session_payload",
]
