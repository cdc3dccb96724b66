"""realtime_widgets: explore the OpenAI Realtime API in Jupyter, with an offline local server."""

from __future__ import annotations

from realtime_widgets.errors import (
    AudioFormatError,
    ConfigError,
    ConfigNote,
    FieldProblem,
    ProtocolError,
    RealtimeWidgetsError,
    ServerError,
)
from realtime_widgets.protocol import (
    CustomVoice,
    FunctionTool,
    LiveConfig,
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
    TranscriptionConfig,
    TranslationConfig,
)

__version__ = "0.1.0"

_LAZY = {
    "Playground": "realtime_widgets.widgets",
    "ConfigPanel": "realtime_widgets.widgets",
    "RealtimeSession": "realtime_widgets.client",
    "LocalServer": "realtime_widgets.server.app",
    "ChatResponder": "realtime_widgets.server.reply.chat",
    "ServerLimits": "realtime_widgets.server.limits",
    "Endpoint": "realtime_widgets.client",
    "VadLab": "realtime_widgets.vadlab",
    "ABTest": "realtime_widgets.vadlab",
    "TranscriptionPlayground": "realtime_widgets.widgets.transcription_view",
    "TranslationSession": "realtime_widgets.client.translation",
    "TranslationPlayground": "realtime_widgets.widgets",
    "ChatTranslator": "realtime_widgets.server.reply.translator",
    "LiveSession": "realtime_widgets.client.live",
    "LivePlayground": "realtime_widgets.widgets",
}


def __getattr__(name: str) -> object:
    # Widgets, the client and the server load on first use: `import realtime_widgets` stays
    # free of ipywidgets, websockets and asyncio.
    if name in _LAZY:
        # lazy: needed only when a lazy name is first used
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'realtime_widgets' has no attribute {name!r}")


__all__ = [
    "ABTest",
    "AudioFormatError",
    "ChatResponder",
    "ChatTranslator",
    "ConfigError",
    "ConfigNote",
    "ConfigPanel",
    "CustomVoice",
    "Endpoint",
    "FieldProblem",
    "FunctionTool",
    "LiveConfig",
    "LivePlayground",
    "LiveSession",
    "LocalServer",
    "McpTool",
    "NoiseReduction",
    "PcmFormat",
    "PcmaFormat",
    "PcmuFormat",
    "Playground",
    "Prompt",
    "ProtocolError",
    "RealtimeSession",
    "RealtimeWidgetsError",
    "Reasoning",
    "RetentionRatioTruncation",
    "SemanticVad",
    "ServerError",
    "ServerLimits",
    "ServerVad",
    "SessionConfig",
    "ToolChoiceFunction",
    "ToolChoiceMcp",
    "TracingConfig",
    "Transcription",
    "TranscriptionConfig",
    "TranscriptionPlayground",
    "TranslationConfig",
    "TranslationPlayground",
    "TranslationSession",
    "VadLab",
    "__version__",
]
