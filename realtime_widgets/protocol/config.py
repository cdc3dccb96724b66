"""SessionConfig: every parameter of a Realtime session, the single source of truth.

Each field carries a :class:`Param` that says where it lives on the GA wire and in the beta
dialect, which panel group shows it, and when it may change mid-session. The wire payload
(:mod:`.wire`), the parser of ``session.created``/``session.updated``, the widget controls, the
code export and the JSON schema are all derived from these fields: adding a parameter is one edit.
The rules that span fields are :meth:`SessionConfig.check_rules` (the hook of
:class:`~.configbase.ConfigModel`); what is locked mid-session comes from the Params.

Typical use::

    config = SessionConfig(voice="marin", turn_detection=ServerVad(silence_duration_ms=700))
    event = config.to_session_update()          # the GA session.update to send
    later = config.with_changes({"turn_detection.threshold": 0.7})
    later.to_session_update(previous=config)    # only turn_detection, whole

As code for other tools: :func:`~.export.to_code`; from PSOpenAI's parameter names:
:func:`~.seeds.from_psopenai` (both sit above this module, so it needs neither).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
)

from realtime_widgets.errors import ConfigError, FieldProblem, note
from realtime_widgets.protocol import parts
from realtime_widgets.protocol.configbase import Deprecation, Dialect, Mutability, Param
from realtime_widgets.protocol.parts import (
    BUILTIN_VOICES,
    FORMAT_ALIASES,
    AudioFormat,
    FunctionTool,
    McpTool,
    NoiseReduction,
    PcmFormat,
    Prompt,
    Reasoning,
    RetentionRatioTruncation,
    ServerVad,
    Tool,
    ToolChoice,
    TracingConfig,
    Transcription,
    TurnDetection,
    Voice,
    is_strict_wire,
    mode_or_type,
    name_or_object,
)
from realtime_widgets.protocol.wire import WireConfig, session_update

__all__ = ["GROUPS", "MODELS", "SAVED_PROMPTS", "Mutability", "Param", "SessionConfig"]

GROUPS: tuple[str, ...] = (
    "Model & voice",
    "Audio",
    "Transcription",
    "Turn detection",
    "Tools",
    "Limits & tracing",
    "Prompt",
)

# Saved prompts (``prompt``), deprecated in openai 3.63; the docstring of
# openai/types/realtime/realtime_session_create_request.py's ``prompt``: "This field is deprecated
# in favor of [prompts in application code](<source below>). OpenAI scheduled the shutdown of
# saved prompts for November 30, 2026."
SAVED_PROMPTS = Deprecation(
    what="saved prompts",
    shutdown=date(2026, 11, 30),
    instead="prompts in application code, e.g. the prompt's text in instructions",
    source="https://developers.openai.com/api/docs/guides/prompting/migrate-from-prompt-object",
)

MODELS: tuple[str, ...] = (
    "gpt-realtime-1.5",
    "gpt-realtime-2",
    "gpt-realtime-2.1",
    "gpt-realtime-2.1-mini",
    "gpt-realtime",
    "gpt-realtime-mini",
    "gpt-audio-1.5",
    "gpt-audio-mini",
)


def _modalities_to_beta(value: list[str]) -> list[str]:
    return ["text", "audio"] if value == ["audio"] else list(value)


def _modalities_from_beta(value: Any) -> Any:
    if isinstance(value, list) and len(value) == 2 and set(map(str, value)) == {"audio", "text"}:
        return ["audio"]
    return value


def _format_to_beta(value: dict[str, Any]) -> str:
    return parts.FORMAT_BETA_NAMES[value["type"]]


def _format_from_beta(value: Any) -> Any:
    if isinstance(value, str) and value in FORMAT_ALIASES:
        return {"type": FORMAT_ALIASES[value].model_fields["type"].default}
    return value


def _voice_to_beta(value: Any) -> Any:
    if isinstance(value, dict):
        raise ConfigError.single(
            "voice",
            "voice: a custom voice ({'id': ...}) exists only in the GA dialect; the beta dialect "
            f"takes one of {', '.join(BUILTIN_VOICES)}",
            allowed=", ".join(BUILTIN_VOICES),
        )
    return value


def _tools_to_beta(value: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if any(tool.get("type") != "function" for tool in value):
        raise ConfigError.single(
            "tools", "tools: MCP tools exist only in the GA dialect; beta takes function tools"
        )
    return value


class SessionConfig(WireConfig):
    """Every parameter of a Realtime session (GA), with OpenAI's defaults, ranges and rules.

    Immutable: derive a changed config with :meth:`with_changes`. Send it with
    :meth:`to_session_update`; read the server's view back with :meth:`from_session`. Seed-style
    input is accepted (``"pcm16"``, ``max_output_tokens=-1``, ``noise_reduction="none"``) and
    :meth:`from_psopenai` takes PSOpenAI's parameter names.
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_default=False, title="SessionConfig"
    )
    SESSION_TYPE: ClassVar[str] = "realtime"

    # -- Model & voice
    model: Annotated[str, Param("model", None, "Model & voice", mutable="never")] = Field(
        "gpt-realtime-1.5",
        min_length=1,
        description="The Realtime model (also in the URL); cannot change during a session.",
        json_schema_extra={"examples": list(MODELS)},
    )
    output_modalities: Annotated[
        list[Literal["audio", "text"]],
        Param(
            "output_modalities",
            "modalities",
            "Model & voice",
            to_beta=_modalities_to_beta,
            from_beta=_modalities_from_beta,
        ),
    ] = Field(
        default_factory=lambda: ["audio"],  # type: ignore[arg-type]
        description="['audio'] answers with audio plus its transcript; ['text'] with text only. "
        "Both at once is not possible: the beta spelling ['text', 'audio'] is sent as ['audio'], "
        "with a ConfigNote warning that says so.",
        json_schema_extra={"minItems": 1, "maxItems": 1},
    )
    voice: Annotated[
        Voice,
        Param(
            "audio.output.voice",
            "voice",
            "Model & voice",
            to_beta=_voice_to_beta,
            mutable="until_assistant_audio",
        ),
    ] = Field(
        "alloy",
        description="The voice of the replies: a built-in name or a custom voice "
        "({'id': 'voice_...'}). Fixed once the assistant has spoken; marin and cedar sound best.",
    )
    speed: Annotated[
        float, Param("audio.output.speed", "speed", "Model & voice", mutable="between_responses")
    ] = Field(
        1.0,
        ge=0.25,
        le=1.5,
        description="Playback speed of the spoken reply (post-processing); changes apply "
        "between replies.",
        json_schema_extra={"step": 0.05},
    )
    instructions: Annotated[str | None, Param("instructions", "instructions", "Model & voice")] = (
        Field(
            None,
            description="System instructions for the model; '' clears them. None leaves the "
            "server's default.",
            json_schema_extra={"multiline": True},
        )
    )

    # -- Audio
    input_audio_format: Annotated[
        AudioFormat,
        Param(
            "audio.input.format",
            "input_audio_format",
            "Audio",
            to_beta=_format_to_beta,
            from_beta=_format_from_beta,
        ),
    ] = Field(
        default_factory=PcmFormat,
        description="Format of the audio you append: 24 kHz PCM16, or G.711 mu-law/A-law at 8 kHz.",
    )
    output_audio_format: Annotated[
        AudioFormat,
        Param(
            "audio.output.format",
            "output_audio_format",
            "Audio",
            to_beta=_format_to_beta,
            from_beta=_format_from_beta,
        ),
    ] = Field(default_factory=PcmFormat, description="Format of the audio the model sends back.")
    noise_reduction: Annotated[
        NoiseReduction | None,
        Param("audio.input.noise_reduction", "input_audio_noise_reduction", "Audio"),
    ] = Field(
        None,
        description="Filter input audio before VAD and the model; None switches it off.",
    )

    # -- Transcription
    transcription: Annotated[
        Transcription | None,
        Param("audio.input.transcription", "input_audio_transcription", "Transcription"),
    ] = Field(None, description="Transcribe the user's audio (asynchronously); None is off.")
    include: Annotated[
        list[Literal["item.input_audio_transcription.logprobs"]] | None,
        Param("include", None, "Transcription"),
    ] = Field(None, description="Extra fields in server events: transcription logprobs.")

    # -- Turn detection
    turn_detection: Annotated[
        TurnDetection | None,
        Param("audio.input.turn_detection", "turn_detection", "Turn detection"),
    ] = Field(
        default_factory=ServerVad,
        description="server_vad, semantic_vad, or None for manual turns (commit + "
        "response.create).",
    )

    # -- Tools
    tools: Annotated[list[Tool], Param("tools", "tools", "Tools", to_beta=_tools_to_beta)] = Field(
        default_factory=list, description="Function and MCP tools; [] removes all."
    )
    tool_choice: Annotated[
        ToolChoice,
        Param("tool_choice", "tool_choice", "Tools"),
    ] = Field("auto", description="auto, none, required, or force one function / MCP tool.")
    parallel_tool_calls: Annotated[bool | None, Param("parallel_tool_calls", None, "Tools")] = (
        Field(None, description="Allow several tool calls at once (reasoning models only).")
    )

    # -- Limits & tracing
    max_output_tokens: Annotated[
        int | Literal["inf"],
        Param("max_output_tokens", "max_response_output_tokens", "Limits & tracing"),
    ] = Field(
        "inf",
        description="Token limit of one reply, 1-4096, or 'inf' (-1 is accepted for 'inf').",
        json_schema_extra={"minimum": 1, "maximum": 4096},
    )
    truncation: Annotated[
        Annotated[
            Annotated[Literal["auto", "disabled"], Tag("mode")]
            | Annotated[RetentionRatioTruncation, Tag("retention_ratio")],
            Discriminator(mode_or_type),
        ],
        Param("truncation", None, "Limits & tracing"),
    ] = Field(
        "auto",
        description="How the context is cut when full: auto, disabled (error instead), or keep "
        "a retention ratio.",
    )
    tracing: Annotated[
        Annotated[
            Annotated[Literal["auto"], Tag("name")] | Annotated[TracingConfig, Tag("object")],
            Discriminator(name_or_object),
        ]
        | None,
        Param("tracing", "tracing", "Limits & tracing", mutable="frozen_once_set"),
    ] = Field(
        None,
        description="Write traces to the dashboard: 'auto', named ones, or None. Frozen once on.",
    )
    reasoning: Annotated[Reasoning | None, Param("reasoning", None, "Limits & tracing")] = Field(
        None, description="Reasoning effort (reasoning models such as gpt-realtime-2 only)."
    )
    temperature: Annotated[float | None, Param(None, "temperature", "Limits & tracing")] = Field(
        None,
        ge=0.6,
        le=1.2,
        description="Sampling temperature: beta dialect only. The GA API has no temperature and "
        "rejects the whole update if it is sent.",
        json_schema_extra={"step": 0.05},
    )

    # -- Prompt
    prompt: Annotated[Prompt | None, Param("prompt", None, "Prompt", deprecated=SAVED_PROMPTS)] = (
        Field(None, description="A stored prompt template with version and variables.")
    )

    # Seed shorthands; none of them applies to a strict wire payload.
    @field_validator("output_modalities", mode="before")
    @classmethod
    def _modalities(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and not is_strict_wire(info):
            value = [value]
        if isinstance(value, list | tuple):
            both = {"audio", "text"}
            if not is_strict_wire(info) and len(value) == 2 and set(map(str, value)) == both:
                # Beta's "text and audio" is GA's "audio" (audio plus its transcript). Said
                # aloud: a user who asked for both should know what is sent.
                note(
                    f"output_modalities: {list(value)!r} (the beta combination) is sent as "
                    "['audio']: GA answers with audio and its transcript; use ['text'] for "
                    "text only"
                )
                value = ["audio"]
            if len(value) != 1:
                raise ValueError(
                    f"Invalid modalities: {list(value)!r}. Supported combinations are: "
                    "['text'] and ['audio']."
                )
        return value

    @field_validator("voice", mode="before")
    @classmethod
    def _voice(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and value.startswith("voice_") and not is_strict_wire(info):
            return {"id": value}
        if isinstance(value, str) and value not in BUILTIN_VOICES:
            raise ValueError(
                f"Invalid value: {value!r}. Supported values are: "
                + ", ".join(repr(v) for v in BUILTIN_VOICES)
                + ", or a custom voice {'id': 'voice_...'}."
            )
        return value

    @field_validator("max_output_tokens", mode="before")
    @classmethod
    def _tokens(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"must be an integer from 1 to 4096 or 'inf', got {value!r}")
        if value == -1 and not is_strict_wire(info):
            return "inf"  # the seeds' "no limit"
        if isinstance(value, int) and not 1 <= value <= 4096:
            raise ValueError(f"must be an integer from 1 to 4096 or 'inf', got {value}")
        if isinstance(value, str) and value != "inf":
            raise ValueError(f"must be an integer from 1 to 4096 or 'inf', got {value!r}")
        return value

    @field_validator("reasoning", mode="before")
    @classmethod
    def _reasoning(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and not is_strict_wire(info):
            return {"effort": value}
        return value

    @field_validator("tool_choice", mode="before")
    @classmethod
    def _tool_choice(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and value not in ("auto", "none", "required"):
            if is_strict_wire(info):
                raise ValueError(
                    f"Invalid value: {value!r}. Supported values are: 'auto', 'none', "
                    "'required', or an object naming a function or MCP server."
                )
            return {"type": "function", "name": value}  # PSOpenAI: a function's name
        return value

    @field_validator("tools")
    @classmethod
    def _unique_tool_names(cls, value: list[Any]) -> list[Any]:
        names = [str(getattr(t, "name", None) or getattr(t, "server_label", "")) for t in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"tool names must be unique; repeated: {', '.join(dupes)}")
        return value

    # ---- rules across fields (the hook of ConfigModel) -------------------------------------

    def check_rules(self, dialect: Dialect = "ga") -> None:
        """Raise :class:`ConfigError` for a config the server would reject as a whole: a
        temperature under GA, a forced function or MCP tool the session does not have."""
        problems: list[FieldProblem] = []
        if dialect == "ga" and self.temperature is not None:
            problems.append(
                FieldProblem(
                    "temperature",
                    "temperature exists only in the beta dialect: the GA Realtime API has no "
                    "temperature and rejects the whole session.update "
                    "(\"Unknown parameter: 'session.temperature'.\"). Set temperature=None, or "
                    "connect with dialect='beta' to an old server.",
                    "unknown_parameter",
                    param="session.temperature",
                    allowed="None under GA",
                    value=self.temperature,
                )
            )
        forced = None if isinstance(self.tool_choice, str) else self.tool_choice
        functions = [t.name for t in self.tools if isinstance(t, FunctionTool)]
        servers = [t.server_label for t in self.tools if isinstance(t, McpTool)]
        if forced is not None and forced.type == "function" and forced.name not in functions:
            allowed = ", ".join(functions) or "(no function tools)"
            problems.append(
                FieldProblem(
                    "tool_choice.name",
                    "tool_choice.name must name one of the session's function tools "
                    f"({allowed}), got {forced.name!r}",
                    param="session.tool_choice.name",
                    allowed=allowed,
                    value=forced.name,
                )
            )
        if forced is not None and forced.type == "mcp" and forced.server_label not in servers:
            allowed = ", ".join(servers) or "(no MCP tools)"
            problems.append(
                FieldProblem(
                    "tool_choice.server_label",
                    "tool_choice.server_label must name one of the session's MCP tools "
                    f"({allowed}), got {forced.server_label!r}",
                    param="session.tool_choice.server_label",
                    allowed=allowed,
                    value=forced.server_label,
                )
            )
        if problems:
            raise ConfigError(problems)

    # ---- the wire (:mod:`.wire`) ------------------------------------------------------------

    def to_session_update(
        self,
        previous: SessionConfig | None = None,
        *,
        event_id: str | None = None,
        dialect: Dialect = "ga",
        assistant_has_spoken: bool = False,
    ) -> dict[str, Any]:
        """The ``session.update`` event that takes a session from ``previous`` to this config.

        With ``previous=None`` every explicitly set field is sent; otherwise only the fields
        that differ (nested objects whole, ``null`` to switch a feature off). The protocol
        rules are checked first (:meth:`check_rules`; and, with ``previous``, what a live
        session refuses to change, :meth:`check_transition`: the model, tracing once on, the
        voice once ``assistant_has_spoken``): a :class:`ConfigError` here means nothing was
        sent.
        """
        return session_update(
            self,
            previous,
            event_id=event_id,
            dialect=dialect,
            assistant_has_spoken=assistant_has_spoken,
        )
