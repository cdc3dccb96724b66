"""The nested pieces of a session configuration: formats, turn detection, tools, tracing, ...

Each class mirrors one GA object field for field, so ``model_dump`` of it *is* the wire object.
Defaults are OpenAI's documented defaults. Variant-specific fields exist only on their variant
(a ``threshold`` on ``SemanticVad`` is an error that says so). Seed-style shorthands (``"pcm16"``,
``"near_field"``, ``"auto"``) are accepted where a user would write them, never on the strict
wire path (see :mod:`realtime_widgets.protocol.wire`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

__all__ = [
    "BUILTIN_VOICES",
    "MAX_VALUE_DEPTH",
    "SECRET",
    "SECRET_KEYS",
    "AudioFormat",
    "CustomVoice",
    "FunctionTool",
    "JsonObject",
    "McpApprovalFilter",
    "McpTool",
    "McpToolFilter",
    "NoiseReduction",
    "PcmFormat",
    "PcmaFormat",
    "PcmuFormat",
    "Prompt",
    "PromptCacheBreakpoint",
    "PromptInputFile",
    "PromptInputImage",
    "PromptInputText",
    "Reasoning",
    "RetentionRatioTruncation",
    "SecretField",
    "SemanticVad",
    "ServerVad",
    "TokenLimits",
    "Tool",
    "ToolChoice",
    "ToolChoiceFunction",
    "ToolChoiceMcp",
    "TracingConfig",
    "Transcription",
    "TurnDetection",
    "Voice",
    "VoiceName",
    "WireRequired",
    "deeper_than",
    "is_strict_wire",
    "max_decimals",
    "mode_or_type",
    "name_or_object",
    "round_floats",
]

# The built-in voices: the one list (SessionConfig.voice's Literal, errors and the beta check).
VoiceName = Literal[
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "sage",
    "shimmer",
    "verse",
    "marin",
    "cedar",
]
BUILTIN_VOICES: tuple[str, ...] = get_args(VoiceName)


def name_or_object(value: Any) -> str | None:
    """Union tag for 'a name or an object' fields, so a bad value gets one clear error."""
    if isinstance(value, str):
        return "name"
    if isinstance(value, dict | BaseModel):
        return "object"
    return None


def mode_or_type(value: Any) -> str | None:
    """Union tag for 'a mode string or a typed object' fields (tool_choice, truncation)."""
    if isinstance(value, str):
        return "mode"
    if isinstance(value, dict):
        tag = value.get("type")
        return tag if isinstance(tag, str) else None
    return getattr(value, "type", None)


@dataclass(frozen=True)
class WireRequired:
    """Marks a field that has a default for Python users but must be present on the wire.

    ``PcmFormat()`` is convenient; a raw ``{"type": "audio/pcm"}`` from a client is still an
    error (``missing_required_parameter``), exactly as OpenAI answers it.
    """


REQUIRED_ON_WIRE = WireRequired()


@dataclass(frozen=True)
class SecretField:
    """Marks a credential (an MCP server's OAuth token, its HTTP headers), as the API key is.

    The one declaration every consumer derives from: the value goes into the ``session.update``
    sent to the server and nowhere else. Presets and share strings drop it, exports read it
    from an environment variable, recordings, the event log, the panel and ``repr`` hide it
    (:mod:`realtime_widgets.protocol.redaction`). Its schema says ``"x-secret": true`` and
    ``"writeOnly": true``.
    """

    def __get_pydantic_json_schema__(self, core: Any, handler: Any) -> Any:
        schema = handler(core)
        schema.update({"writeOnly": True, "x-secret": True})
        return schema


SECRET = SecretField()

# Wire object type -> its secret keys, e.g. {"mcp": ("authorization", "headers")}. Filled as the
# Part classes are defined, from their SECRET marks; a dict found in any event or payload whose
# "type" is listed here has those keys hidden, wherever it sits.
SECRET_KEYS: dict[str, tuple[str, ...]] = {}


MAX_DECIMALS = 16


def max_decimals(value: float) -> int:
    """How many decimal places ``repr`` shows for a float (what a JSON encoder writes)."""
    text = repr(value)
    if "e" in text or "E" in text:
        mantissa, _, exponent = text.lower().partition("e")
        digits = len(mantissa.partition(".")[2].rstrip("0"))
        return max(0, digits - int(exponent))
    return len(text.partition(".")[2].rstrip("0"))


def round_floats(value: Any) -> Any:
    """Floats rounded to at most 16 decimals, inside lists and dicts too.

    A slider's ``0.1 + 0.2`` has 17 decimals and makes OpenAI reject the whole update; a config
    holds only values it can send, so the effective config can equal the local one.
    """
    if isinstance(value, float):
        return round(value, MAX_DECIMALS) if max_decimals(value) > MAX_DECIMALS else value
    if isinstance(value, dict):
        return {k: round_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [round_floats(v) for v in value]
    return value


# How deep a free-form value (a function tool's parameters schema, tracing metadata) may nest
# arrays/objects. The deepest event carrying one (response.create > response > tools[] > tool >
# parameters) adds 4 levels, and a Realtime peer reads events up to MAX_JSON_DEPTH = 128 deep
# (protocol.client_events; a test holds the two together). Checked when a config is built, so
# a deeper schema is refused naming its field, never later when the update is serialised.
MAX_VALUE_DEPTH = 124


def deeper_than(value: Any, limit: int) -> bool:
    """Does ``value`` nest arrays/objects more than ``limit`` levels (``{}`` is 1)? Iterative,
    so a hostile value thousands of levels deep cannot exhaust the recursion limit, and it
    stops at the first node past ``limit``. (The one nesting check: configs and frames.)"""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list | tuple))
    return False


def _bounded_nesting(value: Any) -> Any:
    if isinstance(value, dict | list) and deeper_than(value, MAX_VALUE_DEPTH):
        raise ValueError(
            f"nests arrays/objects too deep: at most {MAX_VALUE_DEPTH} levels (deeper does "
            "not fit in a Realtime event)"
        )
    return value


# A free-form JSON object inside a config (every dict[str, Any] field uses it; a test checks).
JsonObject = Annotated[dict[str, Any], BeforeValidator(_bounded_nesting)]


def is_strict_wire(info: ValidationInfo) -> bool:
    """True while validating a raw wire payload: no seed shorthands, no coercions."""
    context = info.context
    return isinstance(context, dict) and context.get("wire") == "strict"


class Part(BaseModel):
    """Base of every configuration object: immutable, unknown keys rejected.

    :attr:`KEPT_WHEN_OMITTED` names the fields an update's omission preserves, where the SDK
    says so of this object: a ``session.update`` carrying this object (of the same class)
    without one of them keeps the session's current value
    (:meth:`~.configbase.ConfigModel.updated_by` merges by it)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)
    KEPT_WHEN_OMITTED: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        secret = tuple(n for n, f in cls.model_fields.items() if SECRET in f.metadata)
        if not secret:
            return
        tag = cls.model_fields["type"].default if "type" in cls.model_fields else None
        if not isinstance(tag, str):  # redaction finds a secret by its object's wire type
            raise TypeError(f"{cls.__name__} has secret fields but no 'type' tag")
        SECRET_KEYS[tag] = secret

    def __repr_args__(self) -> Any:
        hidden = SECRET_KEYS.get(str(getattr(self, "type", "")), ())
        return [(k, v) for k, v in super().__repr_args__() if k not in hidden]

    @field_validator("*", mode="after")
    @classmethod
    def _sendable_floats(cls, value: Any) -> Any:
        return round_floats(value)


# --- audio formats -----------------------------------------------------------------------------


class PcmFormat(Part):
    """16-bit little-endian mono PCM at 24 kHz (the only rate the API accepts)."""

    type: Annotated[Literal["audio/pcm"], REQUIRED_ON_WIRE] = "audio/pcm"
    rate: Annotated[Literal[24000], REQUIRED_ON_WIRE] = Field(
        24000, description="Sample rate in Hz; required on the wire and always 24000."
    )


class PcmuFormat(Part):
    """G.711 mu-law at 8 kHz (telephony)."""

    type: Annotated[Literal["audio/pcmu"], REQUIRED_ON_WIRE] = "audio/pcmu"


class PcmaFormat(Part):
    """G.711 A-law at 8 kHz (telephony)."""

    type: Annotated[Literal["audio/pcma"], REQUIRED_ON_WIRE] = "audio/pcma"


AudioFormat = Annotated[PcmFormat | PcmuFormat | PcmaFormat, Field(discriminator="type")]

# Every spelling a user may write for a format, seed (beta) names included.
FORMAT_ALIASES: dict[str, type[Part]] = {
    "pcm16": PcmFormat,
    "pcm": PcmFormat,
    "audio/pcm": PcmFormat,
    "g711_ulaw": PcmuFormat,
    "pcmu": PcmuFormat,
    "audio/pcmu": PcmuFormat,
    "g711_alaw": PcmaFormat,
    "pcma": PcmaFormat,
    "audio/pcma": PcmaFormat,
}
# The beta dialect's names, used by the beta serializer.
FORMAT_BETA_NAMES: dict[str, str] = {
    "audio/pcm": "pcm16",
    "audio/pcmu": "g711_ulaw",
    "audio/pcma": "g711_alaw",
}


# --- voice, noise reduction, transcription ----------------------------------------------------


class CustomVoice(Part):
    """A custom voice created from audio samples, referenced by id (``voice_...``)."""

    id: str = Field(pattern=r"^voice_[A-Za-z0-9_-]+$", description="The custom voice id.")


# A voice: a built-in name or a custom voice object (session.audio.output.voice, and per response).
Voice = Annotated[
    Annotated[VoiceName, Tag("name")] | Annotated[CustomVoice, Tag("object")],
    Discriminator(name_or_object),
]


class NoiseReduction(Part):
    """Input noise reduction; the session field is ``None`` when it is off."""

    type: Annotated[Literal["near_field", "far_field"], REQUIRED_ON_WIRE] = Field(
        "near_field",
        description="near_field for headsets and close microphones, far_field for laptop or "
        "room microphones.",
    )
    strength: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Suppression strength (higher suppresses more); the server uses 1 when "
        "noise reduction is first enabled, and an update without it keeps the current value.",
    )

    # "Omitting strength from a session update preserves the current strength."
    # (realtime_audio_config_input.py, realtime_translation_session_update_request.py)
    KEPT_WHEN_OMITTED: ClassVar[frozenset[str]] = frozenset({"strength"})


class Transcription(Part):
    """Asynchronous transcription of the user's audio (a separate model, not the one replying)."""

    model: Annotated[str, REQUIRED_ON_WIRE] = Field(
        "gpt-4o-mini-transcribe",
        min_length=1,
        description="Transcription model: whisper-1, gpt-4o-transcribe, gpt-4o-mini-transcribe, "
        "gpt-4o-transcribe-diarize, gpt-transcribe, gpt-live-transcribe, gpt-realtime-whisper "
        "(on Azure: a deployment name).",
        json_schema_extra={
            "examples": [
                "gpt-4o-mini-transcribe",
                "gpt-4o-mini-transcribe-2025-12-15",
                "gpt-4o-transcribe",
                "whisper-1",
                "gpt-4o-transcribe-diarize",
                "gpt-transcribe",
                "gpt-live-transcribe",
                "gpt-realtime-whisper",
            ]
        },
    )
    language: str | None = Field(
        None,
        pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$",
        description="ISO-639-1 language of the input audio (e.g. en); improves accuracy.",
    )
    prompt: str | None = Field(
        None,
        description="Guides the transcription: keywords for whisper-1, free text for "
        "gpt-4o-transcribe models.",
    )
    languages: list[str] | None = Field(
        None, description="Possible languages (gpt-transcribe, gpt-live-transcribe)."
    )
    keywords: list[str] | None = Field(
        None, description="Words or phrases to guide transcription (gpt-transcribe models)."
    )
    delay: Literal["minimal", "low", "medium", "high", "xhigh"] | None = Field(
        None, description="How long to wait before emitting text (gpt-realtime-whisper only)."
    )


# --- turn detection ----------------------------------------------------------------------------


class ServerVad(Part):
    """Voice activity detection on audio energy/probability: speech starts above ``threshold``
    and ends after ``silence_duration_ms`` of silence."""

    type: Annotated[Literal["server_vad"], REQUIRED_ON_WIRE] = "server_vad"
    threshold: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Speech probability above which audio counts as speech; higher needs "
        "louder speech and ignores more noise.",
        json_schema_extra={"step": 0.01},
    )
    prefix_padding_ms: int = Field(
        300,
        ge=0,
        le=65535,
        description="Audio kept before the detected start of speech, in ms.",
        json_schema_extra={"step": 10, "soft_max": 2000},
    )
    silence_duration_ms: int = Field(
        500,
        ge=0,
        le=65535,
        description="Silence that ends a turn, in ms; shorter answers sooner but may cut the "
        "user off at a pause.",
        json_schema_extra={"step": 10, "soft_max": 3000},
    )
    idle_timeout_ms: int | None = Field(
        None,
        ge=5000,
        le=30000,
        description="If set, prompt a response after this long without user speech (after the "
        "last reply finished playing).",
        json_schema_extra={"step": 500},
    )
    create_response: StrictBool = Field(
        True, description="Respond automatically at the end of a turn."
    )
    interrupt_response: StrictBool = Field(
        True, description="Cancel the reply in progress when the user starts speaking (barge-in)."
    )


class SemanticVad(Part):
    """Turn detection by a model that judges whether the user has finished their thought."""

    type: Annotated[Literal["semantic_vad"], REQUIRED_ON_WIRE] = "semantic_vad"
    eagerness: Literal["low", "medium", "high", "auto"] = Field(
        "auto",
        description="How soon to answer: low waits up to 8 s, medium 4 s, high 2 s; auto = medium.",
    )
    create_response: StrictBool = Field(
        True, description="Respond automatically at the end of a turn."
    )
    interrupt_response: StrictBool = Field(
        True, description="Cancel the reply in progress when the user starts speaking (barge-in)."
    )


TurnDetection = Annotated[ServerVad | SemanticVad, Field(discriminator="type")]


# --- tools -------------------------------------------------------------------------------------


class FunctionTool(Part):
    """A function the model may call; ``parameters`` is a JSON schema of its arguments."""

    type: Annotated[Literal["function"], REQUIRED_ON_WIRE] = "function"
    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$", description="The function's name.")
    description: str | None = Field(None, description="When and how to call it.")
    parameters: JsonObject = Field(
        default_factory=lambda: {"type": "object", "properties": {}},
        description="JSON schema of the arguments (an object schema).",
    )

    @field_validator("parameters")
    @classmethod
    def _object_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        if value.get("type", "object") != "object":
            raise ValueError(
                f"must be a JSON schema with type 'object', got type {value.get('type')!r}"
            )
        props = value.get("properties", {})
        if not isinstance(props, dict):
            raise ValueError("must have 'properties' as an object mapping names to schemas")
        return value


class McpToolFilter(Part):
    """Which tools of an MCP server to expose: by name and/or read-only hint."""

    tool_names: list[str] | None = None
    read_only: StrictBool | None = None


class McpApprovalFilter(Part):
    """Which MCP tools need approval (``always``) and which do not (``never``)."""

    always: McpToolFilter | None = None
    never: McpToolFilter | None = None


class McpTool(Part):
    """A remote MCP server (or an OpenAI connector) whose tools the model may call."""

    type: Annotated[Literal["mcp"], REQUIRED_ON_WIRE] = "mcp"
    server_label: str = Field(min_length=1, description="Label used in tool calls.")
    server_url: str | None = Field(None, description="URL of the MCP server.")
    connector_id: (
        Literal[
            "connector_dropbox",
            "connector_gmail",
            "connector_googlecalendar",
            "connector_googledrive",
            "connector_microsoftteams",
            "connector_outlookcalendar",
            "connector_outlookemail",
            "connector_sharepoint",
        ]
        | None
    ) = None
    tunnel_id: str | None = None
    server_description: str | None = None
    authorization: Annotated[str | None, SECRET] = Field(None, description="OAuth token (secret).")
    headers: Annotated[dict[str, str] | None, SECRET] = Field(
        None, description="HTTP headers (secret)."
    )
    allowed_tools: list[str] | McpToolFilter | None = None
    require_approval: Literal["always", "never"] | McpApprovalFilter | None = None
    allowed_callers: list[Literal["direct", "programmatic"]] | None = None
    defer_loading: StrictBool | None = None

    @model_validator(mode="after")
    def _has_a_target(self) -> McpTool:
        if not (self.server_url or self.connector_id or self.tunnel_id):
            raise ValueError("needs one of server_url, connector_id or tunnel_id")
        return self


Tool = Annotated[FunctionTool | McpTool, Field(discriminator="type")]


class ToolChoiceFunction(Part):
    """Force a call of one function tool."""

    type: Annotated[Literal["function"], REQUIRED_ON_WIRE] = "function"
    name: str = Field(min_length=1)


class ToolChoiceMcp(Part):
    """Force a call of an MCP server's tool (any, or the one named)."""

    type: Annotated[Literal["mcp"], REQUIRED_ON_WIRE] = "mcp"
    server_label: str = Field(min_length=1)
    name: str | None = None


# tool_choice: a mode, or force one function / MCP tool (the session's and a response's).
ToolChoice = Annotated[
    Annotated[Literal["auto", "none", "required"], Tag("mode")]
    | Annotated[ToolChoiceFunction, Tag("function")]
    | Annotated[ToolChoiceMcp, Tag("mcp")],
    Discriminator(mode_or_type),
]


# --- prompt, tracing, truncation, reasoning -----------------------------------------------------


class PromptCacheBreakpoint(Part):
    """Cache the prompt up to this variable explicitly, for 30 minutes or 12 hours."""

    mode: Annotated[Literal["explicit"], REQUIRED_ON_WIRE] = "explicit"
    ttl: Literal["30m", "12h"] | None = None


class PromptInputText(Part):
    type: Literal["input_text"] = "input_text"
    text: str
    prompt_cache_breakpoint: PromptCacheBreakpoint | None = None


class PromptInputImage(Part):
    type: Literal["input_image"] = "input_image"
    detail: Literal["low", "high", "auto", "original"] = "auto"
    image_url: str | None = None
    file_id: str | None = None
    prompt_cache_breakpoint: PromptCacheBreakpoint | None = None


class PromptInputFile(Part):
    type: Literal["input_file"] = "input_file"
    detail: Literal["low", "high", "auto"] | None = None
    file_id: str | None = None
    file_url: str | None = None
    file_data: str | None = None
    filename: str | None = None
    prompt_cache_breakpoint: PromptCacheBreakpoint | None = None


PromptVariable = Annotated[
    PromptInputText | PromptInputImage | PromptInputFile, Field(discriminator="type")
]


class Prompt(Part):
    """A stored prompt template (``pmpt_...``), optionally pinned to a version, with variables."""

    id: str = Field(pattern=r"^pmpt_[A-Za-z0-9_-]+$", description="Prompt template id.")
    version: str | None = Field(None, description="Template version; latest when omitted.")
    variables: dict[str, str | PromptVariable] | None = Field(
        None, description="Values substituted into the template: strings or input items."
    )


class TracingConfig(Part):
    """Tracing with explicit names for the traces dashboard."""

    workflow_name: str | None = None
    group_id: str | None = None
    metadata: JsonObject | None = None


class TokenLimits(Part):
    post_instructions: int | None = Field(
        None, ge=0, description="Token budget after the instructions before truncating."
    )


class RetentionRatioTruncation(Part):
    """Truncate to a fraction of the budget at once, so truncations (and cache busts) are rare."""

    type: Annotated[Literal["retention_ratio"], REQUIRED_ON_WIRE] = "retention_ratio"
    retention_ratio: float = Field(ge=0.0, le=1.0, description="Fraction of tokens kept.")
    token_limits: TokenLimits | None = None


class Reasoning(Part):
    """Reasoning effort for reasoning-capable Realtime models (gpt-realtime-2 and later)."""

    effort: Literal["minimal", "low", "medium", "high", "xhigh"] | None = None
