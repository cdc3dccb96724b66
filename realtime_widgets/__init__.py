"""realtime_widgets: explore the OpenAI Realtime API in Jupyter, with an offline local server."""

from __future__ import annotations

from realtime_widgets.errors import (
    AudioFormatError,
    ConfigError,
    FieldProblem,
    ProtocolError,
    RealtimeWidgetsError,
    ServerError,
)
from realtime_widgets.protocol import (
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
    SessionConfig,
    ToolChoiceFunction,
    ToolChoiceMcp,
    TracingConfig,
    Transcription,
)

__version__ = "0.1.0"

__all__ = [
    "AudioFormatError",
    "ConfigError",
    "CustomVoice",
    "FieldProblem",
    "FunctionTool",
    "McpTool",
    "NoiseReduction",
    "PcmFormat",
    "PcmaFormat",
    "PcmuFormat",
    "Prompt",
    "ProtocolError",
    "RealtimeWidgetsError",
    "Reasoning",
    "RetentionRatioTruncation",
    "SemanticVad",
    "ServerError",
    "ServerVad",
    "SessionConfig",
    "ToolChoiceFunction",
    "ToolChoiceMcp",
    "TracingConfig",
    "Transcription",
    "__version__",
]
