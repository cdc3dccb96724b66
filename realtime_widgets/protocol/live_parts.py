"""The nested pieces of a GPT-Live session: formats, voices, delegation, Decisions, history.

GPT-Live (``client.live``) is a second speech API beside Realtime; its session object is typed
by the official SDK in ``openai/types/live/`` (``session_config.py`` and the records it uses).
Each class here mirrors one of those records field for field, on the same :class:`~.parts.Part`
base as the Realtime parts (immutable, unknown keys rejected, ``type`` tags required on the
wire), so ``model_dump`` of it *is* the wire object. Where a Live record is the Realtime one
(a custom voice, an MCP server) the Realtime part is reused; where it differs (PCM at 16 or
24 kHz, 23 built-in voices, a function tool with ``strict``) it is its own class here.

:class:`~.live_config.LiveConfig` holds these; :mod:`.live_events` uses the Decisions records
for ``decision.item.create``.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import Discriminator, Field, StrictBool, StrictStr, Tag

from realtime_widgets.protocol.parts import (
    REQUIRED_ON_WIRE,
    CustomVoice,
    FunctionTool,
    JsonObject,
    McpTool,
    Part,
    mode_or_type,
    name_or_object,
)

__all__ = [
    "LIVE_VOICES",
    "AllowedToolsChoice",
    "ApplyPatchTool",
    "ClientConfig",
    "ClientDelegation",
    "CodeInterpreterTool",
    "ComputerTool",
    "CustomTool",
    "CustomToolChoice",
    "DataChannelConfig",
    "DecisionChoice",
    "DecisionChoiceOption",
    "DecisionInputImage",
    "DecisionInputJson",
    "DecisionInputText",
    "DecisionPredicate",
    "DecisionQuestion",
    "DecisionScore",
    "DecisionScoreLevel",
    "DecisionTrigger",
    "DecisionTriggerQuestions",
    "DecisionsDelegation",
    "DecisionsDelegationConfig",
    "FileSearchTool",
    "ImageGenerationTool",
    "InitialAssistantMessage",
    "InitialDeveloperMessage",
    "InitialInputText",
    "InitialItem",
    "InitialOutputText",
    "InitialText",
    "InitialUserMessage",
    "LiveAudioFormat",
    "LiveDelegation",
    "LiveFunctionTool",
    "LivePcmFormat",
    "LivePcmaFormat",
    "LivePcmuFormat",
    "LiveVoice",
    "LiveVoiceName",
    "McpToolChoice",
    "NamespaceTool",
    "ProgrammaticToolCallingTool",
    "ResponsesDelegation",
    "ResponsesDelegationConfig",
    "ResponsesReasoning",
    "ResponsesText",
    "ResponsesTool",
    "ResponsesToolChoice",
    "ServerEventSelector",
    "ShellTool",
    "ShellToolChoice",
    "ToolChoiceFunctionName",
    "ToolSearchTool",
    "WakePolicy",
    "WebSearchPreviewChoice",
    "WebSearchTool",
]


# --- audio format (a Live WebSocket's; WebRTC and SIP negotiate theirs) -------------------------


class LivePcmFormat(Part):
    """Raw mono 16-bit little-endian PCM at 16 or 24 kHz."""

    type: Annotated[Literal["audio/pcm"], REQUIRED_ON_WIRE] = "audio/pcm"
    rate: Annotated[Literal[16000, 24000], REQUIRED_ON_WIRE] = Field(
        24000, description="Sample rate in Hz: 16000 or 24000 (required on the wire)."
    )


class LivePcmuFormat(Part):
    """G.711 mu-law at 8 kHz (telephony)."""

    type: Annotated[Literal["audio/pcmu"], REQUIRED_ON_WIRE] = "audio/pcmu"
    rate: Annotated[Literal[8000], REQUIRED_ON_WIRE] = Field(
        8000, description="Sample rate in Hz: G.711 audio is 8000 (required on the wire)."
    )


class LivePcmaFormat(Part):
    """G.711 A-law at 8 kHz (telephony)."""

    type: Annotated[Literal["audio/pcma"], REQUIRED_ON_WIRE] = "audio/pcma"
    rate: Annotated[Literal[8000], REQUIRED_ON_WIRE] = Field(
        8000, description="Sample rate in Hz: G.711 audio is 8000 (required on the wire)."
    )


LiveAudioFormat = Annotated[
    LivePcmFormat | LivePcmuFormat | LivePcmaFormat, Field(discriminator="type")
]


# --- voice ---------------------------------------------------------------------------------------

# GPT-Live's built-in voices (openai/types/live/built_in_voice.py): more than Realtime's ten.
LiveVoiceName = Literal[
    "alloy",
    "ash",
    "ballad",
    "beacon",
    "bossa",
    "cedar",
    "cinder",
    "coral",
    "delta",
    "echo",
    "gleam",
    "marin",
    "meridian",
    "quartz",
    "ripple",
    "sage",
    "shida",
    "shimmer",
    "stone",
    "tempo",
    "verse",
    "vesper",
    "willow",
]
LIVE_VOICES: tuple[str, ...] = get_args(LiveVoiceName)

# A built-in name or a custom voice object {"id": "voice_..."} (the Realtime part).
LiveVoice = Annotated[
    Annotated[LiveVoiceName, Tag("name")] | Annotated[CustomVoice, Tag("object")],
    Discriminator(name_or_object),
]


# --- Decisions: questions, triggers, the decisions delegation ----------------------------------


class DecisionInputText(Part):
    """A text part of a question's instructions (or of a Decision item)."""

    type: Annotated[Literal["input_text"], REQUIRED_ON_WIRE] = "input_text"
    text: str


class DecisionInputImage(Part):
    """An image part: a URL or a data URL."""

    type: Annotated[Literal["input_image"], REQUIRED_ON_WIRE] = "input_image"
    image_url: str
    detail: Literal["low", "high", "auto", "original"] | None = None


class DecisionInputJson(Part):
    """A JSON part: one object or a list of objects."""

    type: Annotated[Literal["input_json"], REQUIRED_ON_WIRE] = "input_json"
    data: list[JsonObject] | JsonObject


DecisionInstructionPart = Annotated[
    DecisionInputText | DecisionInputImage | DecisionInputJson, Field(discriminator="type")
]


class DecisionChoiceOption(Part):
    """One allowed answer of a choice question: a string or a boolean (typed: "true" != true)."""

    value: StrictStr | StrictBool
    description: str | None = None


class DecisionChoice(Part):
    """A question answered by one of ``choices``."""

    type: Annotated[Literal["choice"], REQUIRED_ON_WIRE] = "choice"
    instructions: str | list[DecisionInstructionPart]
    choices: list[DecisionChoiceOption] = Field(min_length=1)
    name: str | None = None


class DecisionPredicate(Part):
    """A yes/no question, answered with a probability."""

    type: Annotated[Literal["predicate"], REQUIRED_ON_WIRE] = "predicate"
    instructions: str | list[DecisionInstructionPart]
    name: str | None = None


class DecisionScoreLevel(Part):
    """One level of a score question."""

    label: str
    description: str | None = None


class DecisionScore(Part):
    """A question answered with a score over ``levels``."""

    type: Annotated[Literal["score"], REQUIRED_ON_WIRE] = "score"
    instructions: str | list[DecisionInstructionPart]
    levels: list[DecisionScoreLevel] = Field(min_length=1)
    name: str | None = None


DecisionQuestion = Annotated[
    DecisionChoice | DecisionPredicate | DecisionScore, Field(discriminator="type")
]


class DecisionTriggerQuestions(Part):
    """The questions a trigger evaluates over the transcript and the shared Decision items."""

    questions: list[DecisionQuestion] = Field(min_length=1)


class DecisionTrigger(Part):
    """Evaluate Decisions questions on every delta of one transcript (at most one per kind)."""

    type: Annotated[Literal["decisions"], REQUIRED_ON_WIRE] = "decisions"
    event_type: Literal["session.input_transcript.delta", "session.output_transcript.delta"]
    decisions: DecisionTriggerQuestions


class DecisionsDelegationConfig(Part):
    """The Decisions model and the questions a delegated task is answered with."""

    model: str = Field(min_length=1)
    questions: list[DecisionQuestion] = Field(min_length=1)


# --- the Responses backend of a delegation --------------------------------------------------


class LiveFunctionTool(FunctionTool):
    """A function the delegated Responses model may call (the Realtime tool, plus ``strict``)."""

    strict: StrictBool | None = Field(
        None, description="Whether the Responses model must follow the schema exactly."
    )


class WebSearchTool(Part):
    type: Annotated[Literal["web_search"], REQUIRED_ON_WIRE] = "web_search"


class FileSearchTool(Part):
    type: Annotated[Literal["file_search"], REQUIRED_ON_WIRE] = "file_search"


class CodeInterpreterTool(Part):
    type: Annotated[Literal["code_interpreter"], REQUIRED_ON_WIRE] = "code_interpreter"


class ImageGenerationTool(Part):
    type: Annotated[Literal["image_generation"], REQUIRED_ON_WIRE] = "image_generation"


class CustomTool(Part):
    type: Annotated[Literal["custom"], REQUIRED_ON_WIRE] = "custom"


class NamespaceTool(Part):
    type: Annotated[Literal["namespace"], REQUIRED_ON_WIRE] = "namespace"


class ToolSearchTool(Part):
    type: Annotated[Literal["tool_search"], REQUIRED_ON_WIRE] = "tool_search"


class ProgrammaticToolCallingTool(Part):
    type: Annotated[Literal["programmatic_tool_calling"], REQUIRED_ON_WIRE] = (
        "programmatic_tool_calling"
    )


class ComputerTool(Part):
    type: Annotated[Literal["computer"], REQUIRED_ON_WIRE] = "computer"


class ApplyPatchTool(Part):
    type: Annotated[Literal["apply_patch"], REQUIRED_ON_WIRE] = "apply_patch"


class ShellTool(Part):
    """A Responses shell tool: a hosted container (``environment``) or local results."""

    type: Annotated[Literal["shell"], REQUIRED_ON_WIRE] = "shell"
    environment: JsonObject | None = Field(
        None,
        description="container_auto / container_reference / local, as the Responses API "
        "takes it (passed through; see coverage.NOT_MODELED).",
    )


ResponsesTool = Annotated[
    LiveFunctionTool
    | WebSearchTool
    | FileSearchTool
    | CodeInterpreterTool
    | ShellTool
    | ImageGenerationTool
    | McpTool
    | CustomTool
    | NamespaceTool
    | ToolSearchTool
    | ProgrammaticToolCallingTool
    | ComputerTool
    | ApplyPatchTool,
    Field(discriminator="type"),
]


class ToolChoiceFunctionName(Part):
    """Force one function tool."""

    type: Annotated[Literal["function"], REQUIRED_ON_WIRE] = "function"
    name: str = Field(min_length=1)


class McpToolChoice(Part):
    """Force one tool of one MCP server."""

    type: Annotated[Literal["mcp"], REQUIRED_ON_WIRE] = "mcp"
    server_label: str = Field(min_length=1)
    name: str = Field(min_length=1)


class CustomToolChoice(Part):
    """Force one custom tool."""

    type: Annotated[Literal["custom"], REQUIRED_ON_WIRE] = "custom"
    name: str = Field(min_length=1)


class WebSearchPreviewChoice(Part):
    type: Annotated[Literal["web_search_preview"], REQUIRED_ON_WIRE] = "web_search_preview"


class ShellToolChoice(Part):
    """Force the shell tool."""

    type: Annotated[Literal["shell"], REQUIRED_ON_WIRE] = "shell"


# One tool a choice may name (the hosted tools' choices are their bare ``{"type": ...}``).
_ChoosableTool = (
    ToolChoiceFunctionName
    | McpToolChoice
    | FileSearchTool
    | WebSearchTool
    | WebSearchPreviewChoice
    | ImageGenerationTool
    | ComputerTool
    | CodeInterpreterTool
    | ProgrammaticToolCallingTool
    | ShellToolChoice
    | CustomToolChoice
    | ApplyPatchTool
)


class AllowedToolsChoice(Part):
    """Restrict the Responses model to some tools, with a mode."""

    type: Annotated[Literal["allowed_tools"], REQUIRED_ON_WIRE] = "allowed_tools"
    tools: list[Annotated[_ChoosableTool, Field(discriminator="type")]]
    mode: Literal["none", "auto", "required"] | None = None


ResponsesToolChoice = Annotated[
    Annotated[Literal["auto", "none", "required"], Tag("mode")]
    | Annotated[ToolChoiceFunctionName, Tag("function")]
    | Annotated[McpToolChoice, Tag("mcp")]
    | Annotated[FileSearchTool, Tag("file_search")]
    | Annotated[WebSearchTool, Tag("web_search")]
    | Annotated[WebSearchPreviewChoice, Tag("web_search_preview")]
    | Annotated[ImageGenerationTool, Tag("image_generation")]
    | Annotated[ComputerTool, Tag("computer")]
    | Annotated[CodeInterpreterTool, Tag("code_interpreter")]
    | Annotated[ProgrammaticToolCallingTool, Tag("programmatic_tool_calling")]
    | Annotated[ShellToolChoice, Tag("shell")]
    | Annotated[CustomToolChoice, Tag("custom")]
    | Annotated[ApplyPatchTool, Tag("apply_patch")]
    | Annotated[AllowedToolsChoice, Tag("allowed_tools")],
    Discriminator(mode_or_type),
]


class ResponsesReasoning(Part):
    """Reasoning settings of each delegated Responses request."""

    effort: Literal["none", "minimal", "low", "medium", "high", "xhigh"] | None = None
    summary: Literal["concise", "detailed", "auto"] | None = None


class ResponsesText(Part):
    """Text settings of each delegated Responses request (not the Live model's speech)."""

    verbosity: Literal["low", "medium", "high"] | None = None


class ResponsesDelegationConfig(Part):
    """The Responses backend: its model, prompt and tools, separate from the Live model's."""

    model: str = Field(min_length=1, description="The Responses model delegated tasks go to.")
    instructions: str | None = Field(None, description="The backend prompt (not Live's).")
    max_output_tokens: int | None = Field(None, ge=1)
    parallel_tool_calls: StrictBool | None = None
    reasoning: ResponsesReasoning | None = None
    service_tier: (
        Literal["auto", "default", "fast_tier_temp_pilot", "flex", "priority", "ultrafast"] | None
    ) = None
    text: ResponsesText | None = None
    tool_choice: ResponsesToolChoice | None = None
    tools: list[ResponsesTool] | None = None


# --- delegation: who handles the tasks the Live model hands off --------------------------------


class ClientDelegation(Part):
    """Your application handles delegated tasks (``session.delegation.created``)."""

    type: Annotated[Literal["client"], REQUIRED_ON_WIRE] = "client"
    acknowledgement_delay_ms: int | None = Field(
        None,
        ge=0,
        description="Milliseconds before an automatic spoken acknowledgement (default 0).",
    )
    # "Omission in a session update preserves the current value." (session_update_config.py)
    KEPT_WHEN_OMITTED: ClassVar[frozenset[str]] = frozenset({"acknowledgement_delay_ms"})


class ResponsesDelegation(Part):
    """A Responses model managed by the Live session handles delegated tasks."""

    type: Annotated[Literal["responses"], REQUIRED_ON_WIRE] = "responses"
    responses: ResponsesDelegationConfig
    acknowledgement_delay_ms: int | None = Field(
        None,
        ge=0,
        description="Milliseconds before an automatic spoken acknowledgement (default 0).",
    )
    # "Omission in a session update preserves the current value." (session_update_config.py)
    KEPT_WHEN_OMITTED: ClassVar[frozenset[str]] = frozenset({"acknowledgement_delay_ms"})


class DecisionsDelegation(Part):
    """The Decisions API answers delegated tasks."""

    type: Annotated[Literal["decisions"], REQUIRED_ON_WIRE] = "decisions"
    decisions: DecisionsDelegationConfig
    acknowledgement_delay_ms: int | None = Field(
        None,
        ge=0,
        description="Milliseconds before an automatic spoken acknowledgement (default 400).",
    )
    # "Omission in a session update preserves the current value." (session_update_config.py)
    KEPT_WHEN_OMITTED: ClassVar[frozenset[str]] = frozenset({"acknowledgement_delay_ms"})


LiveDelegation = Annotated[
    ClientDelegation | ResponsesDelegation | DecisionsDelegation, Field(discriminator="type")
]


# --- startup history --------------------------------------------------------------------------


class InitialInputText(Part):
    """The one text part of a developer or user history message."""

    type: Literal["input_text"] | None = None
    text: str


class InitialText(Part):
    """The one text part of an assistant history message (``type: "text"``)."""

    type: Literal["text"] | None = None
    text: str


class InitialOutputText(Part):
    """The one text part of an assistant history message (``type: "output_text"``)."""

    type: Annotated[Literal["output_text"], REQUIRED_ON_WIRE] = "output_text"
    text: str


def _assistant_part(value: Any) -> str:
    tag = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return "output_text" if tag == "output_text" else "text"


class _InitialMessage(Part):
    type: Literal["message"] | None = None
    id: str | None = None
    status: Literal["incomplete", "completed"] | None = None


class InitialDeveloperMessage(_InitialMessage):
    role: Annotated[Literal["developer"], REQUIRED_ON_WIRE] = "developer"
    content: list[InitialInputText] = Field(min_length=1, max_length=1)


class InitialUserMessage(_InitialMessage):
    role: Annotated[Literal["user"], REQUIRED_ON_WIRE] = "user"
    content: list[InitialInputText] = Field(min_length=1, max_length=1)


class InitialAssistantMessage(_InitialMessage):
    role: Annotated[Literal["assistant"], REQUIRED_ON_WIRE] = "assistant"
    content: list[
        Annotated[
            Annotated[InitialText, Tag("text")] | Annotated[InitialOutputText, Tag("output_text")],
            Discriminator(_assistant_part),
        ]
    ] = Field(min_length=1, max_length=1)


# One text message of the history a session starts with (one text part each, at most 128).
InitialItem = Annotated[
    InitialDeveloperMessage | InitialUserMessage | InitialAssistantMessage,
    Field(discriminator="role"),
]


# --- a WebRTC frontend's data channel ---------------------------------------------------------


class ServerEventSelector(Part):
    """A server event a frontend may receive (``response.event`` names its inner event)."""

    type: str = Field(min_length=1)
    response_event: str | None = None


class DataChannelConfig(Part):
    """Which events an untrusted WebRTC frontend may send and receive ('all', or a list)."""

    allowed_client_events: Literal["all"] | list[str] | None = None
    allowed_server_events: Literal["all"] | list[ServerEventSelector] | None = None


class ClientConfig(Part):
    """Startup-only capabilities of an untrusted frontend attached to a WebRTC session."""

    data_channel: DataChannelConfig


# --- media sessions only (client.live.create(): WebRTC and SIP) -------------------------------


class WakePolicy(Part):
    """Start inference when microphone speech is detected (media sessions only)."""

    type: Annotated[Literal["speech"], REQUIRED_ON_WIRE] = "speech"
    vad_threshold: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Speech detection threshold for each wake, 0 to 1: higher needs stronger "
        "evidence of speech.",
    )
