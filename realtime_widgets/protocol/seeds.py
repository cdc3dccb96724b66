"""The seed libraries' vocabulary: PSOpenAI parameter names and command lines.

``from_psopenai(**parameters)`` (or ``config_from_psopenai(cls, parameters)``) maps
``Set-RealtimeSessionConfiguration`` parameters onto a :class:`SessionConfig` (unlike PSOpenAI
itself, ``-EnableTurnDetection $true`` really attaches turn detection, and no temperature
reaches a GA server). ``psopenai_command`` writes the line back and ``parse_psopenai_command``
reads it, so a config survives the round trip.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from realtime_widgets.errors import ConfigError
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.parts import CustomVoice, FunctionTool, McpTool

__all__ = [
    "PSOPENAI_PARAMETERS",
    "config_from_psopenai",
    "from_psopenai",
    "parse_psopenai_command",
    "psopenai_command",
    "psopenai_unsupported",
]

PSOPENAI_PARAMETERS: tuple[str, ...] = (
    "EventId",
    "Instructions",
    "PromptId",
    "PromptVariables",
    "PromptVersion",
    "Modalities",
    "Voice",
    "Speed",
    "InputAudioFormat",
    "OutputAudioFormat",
    "InputAudioNoiseReductionType",
    "EnableInputAudioTranscription",
    "InputAudioTranscriptionModel",
    "InputAudioTranscriptionLanguage",
    "InputAudioTranscriptionPrompt",
    "EnableTurnDetection",
    "TurnDetectionType",
    "TurnDetectionEagerness",
    "TurnDetectionThreshold",
    "TurnDetectionPrefixPadding",
    "TurnDetectionSilenceDuration",
    "TurnDetectionIdleTimeout",
    "CreateResponseOnTurnEnd",
    "InterruptResponse",
    "Tools",
    "ToolChoice",
    "Temperature",
    "MaxOutputTokens",
    "Tracing",
    "TracingGroupId",
    "TracingMetadata",
    "TracingWorkflowName",
)
_CANONICAL = {name.lower(): name for name in PSOPENAI_PARAMETERS}
_TD_KEYS = {
    "TurnDetectionType": "type",
    "TurnDetectionEagerness": "eagerness",
    "TurnDetectionThreshold": "threshold",
    "TurnDetectionPrefixPadding": "prefix_padding_ms",
    "TurnDetectionSilenceDuration": "silence_duration_ms",
    "TurnDetectionIdleTimeout": "idle_timeout_ms",
    "CreateResponseOnTurnEnd": "create_response",
    "InterruptResponse": "interrupt_response",
}
_TRANSCRIPTION_KEYS = {
    "InputAudioTranscriptionModel": "model",
    "InputAudioTranscriptionLanguage": "language",
    "InputAudioTranscriptionPrompt": "prompt",
}
_TRACING_KEYS = {
    "TracingWorkflowName": "workflow_name",
    "TracingGroupId": "group_id",
    "TracingMetadata": "metadata",
}
_GA_FORMAT_TO_SEED = {"audio/pcm": "pcm16", "audio/pcmu": "g711_ulaw", "audio/pcma": "g711_alaw"}


def _canonical(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in kwargs.items():
        name = _CANONICAL.get(key.lstrip("-").lower())
        if name is None:
            allowed = ", ".join(PSOPENAI_PARAMETERS)
            raise ConfigError.single(
                key,
                f"{key} is not a Set-RealtimeSessionConfiguration parameter; allowed: {allowed}",
                code="unknown_parameter",
                allowed=allowed,
            )
        out[name] = value
    return out


def _flatten_tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    # Chat-completions style {"type": "function", "function": {...}} -> the Realtime flat shape.
    if "function" in tool and isinstance(tool["function"], Mapping):
        return {"type": "function", **tool["function"]}
    return dict(tool)


def config_from_psopenai(cls: type[SessionConfig], kwargs: Mapping[str, Any]) -> SessionConfig:
    """A SessionConfig from PSOpenAI parameter names (case-insensitive, leading '-' allowed)."""
    p = _canonical(kwargs)
    if "EventId" in p:
        raise ConfigError.single(
            "EventId",
            "EventId belongs to one event, not to the configuration: pass "
            "event_id=... to to_session_update()",
            code="unknown_parameter",
        )
    data: dict[str, Any] = {}
    simple = {
        "Instructions": "instructions",
        "Modalities": "output_modalities",
        "Voice": "voice",
        "Speed": "speed",
        "InputAudioFormat": "input_audio_format",
        "OutputAudioFormat": "output_audio_format",
        "InputAudioNoiseReductionType": "noise_reduction",
        "ToolChoice": "tool_choice",
        "Temperature": "temperature",
        "MaxOutputTokens": "max_output_tokens",
    }
    for seed, field in simple.items():
        if seed in p:
            data[field] = p[seed]
    if "PromptId" in p:
        prompt: dict[str, Any] = {"id": p["PromptId"]}
        if "PromptVersion" in p:
            prompt["version"] = p["PromptVersion"]
        if "PromptVariables" in p:
            prompt["variables"] = dict(p["PromptVariables"])
        data["prompt"] = prompt
    elif "PromptVersion" in p or "PromptVariables" in p:
        raise ConfigError.single(
            "PromptId",
            "PromptVersion and PromptVariables need PromptId",
            code="missing_required_parameter",
        )
    transcription = {v: p[k] for k, v in _TRANSCRIPTION_KEYS.items() if k in p}
    enable_tr = p.get("EnableInputAudioTranscription")
    if enable_tr is False:
        data["transcription"] = None
    elif enable_tr or transcription:
        transcription.setdefault("model", "whisper-1")  # PSOpenAI's default
        data["transcription"] = transcription
    detection = {v: p[k] for k, v in _TD_KEYS.items() if k in p}
    enable_td = p.get("EnableTurnDetection")
    if enable_td is False:
        data["turn_detection"] = None
    elif enable_td or detection:
        detection.setdefault("type", "server_vad")
        data["turn_detection"] = detection  # attached, unlike PSOpenAI itself
    if "Tools" in p:
        data["tools"] = [_flatten_tool(t) for t in p["Tools"] or []]
    tracing = {v: p[k] for k, v in _TRACING_KEYS.items() if k in p}
    mode = p.get("Tracing")
    if isinstance(mode, str) and mode.lower() in ("none", "disabled", "off", ""):
        data["tracing"] = None
    elif tracing:
        data["tracing"] = tracing
    elif mode is not None:
        data["tracing"] = mode
    return cls(**data)


def from_psopenai(**parameters: Any) -> SessionConfig:
    """A SessionConfig from PSOpenAI ``Set-RealtimeSessionConfiguration`` parameter names, e.g.
    ``from_psopenai(Voice="marin", EnableTurnDetection=True)``; with
    :func:`parse_psopenai_command`: ``from_psopenai(**parse_psopenai_command(line))``."""
    return config_from_psopenai(SessionConfig, parameters)


# ---- writing a PSOpenAI command line ------------------------------------------------------------


def _ps(value: Any) -> str:
    """A PowerShell literal."""
    if value is None:
        return "$null"
    if value is True:
        return "$true"
    if value is False:
        return "$false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, list | tuple):
        return "@(" + ", ".join(_ps(v) for v in value) + ")"
    if isinstance(value, Mapping):
        return "@{" + "; ".join(f"{_ps_key(k)} = {_ps(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no PowerShell literal for {type(value).__name__}")


def _ps_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else _ps(key)


def psopenai_unsupported(config: SessionConfig) -> list[str]:
    """Set fields PSOpenAI cannot express (GA-only parameters, custom voices, MCP tools)."""
    missing: list[str] = [
        name
        for name in ("include", "truncation", "reasoning", "parallel_tool_calls")
        if name in config.model_fields_set
        and getattr(config, name) != type(config).model_fields[name].default
    ]
    if isinstance(config.voice, CustomVoice):
        missing.append("voice")
    if any(isinstance(t, McpTool) for t in config.tools):
        missing.append("tools")
    if not isinstance(config.tool_choice, str) and config.tool_choice.type == "mcp":
        missing.append("tool_choice")
    nr = config.noise_reduction
    if nr is not None and nr.strength is not None:
        missing.append("noise_reduction.strength")
    tr = config.transcription
    if tr is not None and (tr.languages or tr.keywords or tr.delay):
        missing.append("transcription (languages/keywords/delay)")
    return missing


def psopenai_parameters(config: SessionConfig) -> dict[str, Any]:
    """PSOpenAI parameter -> value for every explicitly set, expressible field."""
    out: dict[str, Any] = {}
    s = config.model_fields_set
    if "instructions" in s and config.instructions is not None:
        out["Instructions"] = config.instructions
    if "prompt" in s and config.prompt is not None:
        out["PromptId"] = config.prompt.id
        if config.prompt.version is not None:
            out["PromptVersion"] = config.prompt.version
        if config.prompt.variables:
            out["PromptVariables"] = {
                k: v if isinstance(v, str) else v.model_dump(exclude_none=True)
                for k, v in config.prompt.variables.items()
            }
    if "output_modalities" in s:
        out["Modalities"] = list(config.output_modalities)
    if "voice" in s and isinstance(config.voice, str):
        out["Voice"] = config.voice
    if "speed" in s:
        out["Speed"] = config.speed
    if "input_audio_format" in s:
        out["InputAudioFormat"] = _GA_FORMAT_TO_SEED[config.input_audio_format.type]
    if "output_audio_format" in s:
        out["OutputAudioFormat"] = _GA_FORMAT_TO_SEED[config.output_audio_format.type]
    if "noise_reduction" in s:
        nr = config.noise_reduction
        out["InputAudioNoiseReductionType"] = "none" if nr is None else nr.type
    if "transcription" in s:
        tr = config.transcription
        out["EnableInputAudioTranscription"] = tr is not None
        if tr is not None:
            out["InputAudioTranscriptionModel"] = tr.model
            if tr.language is not None:
                out["InputAudioTranscriptionLanguage"] = tr.language
            if tr.prompt is not None:
                out["InputAudioTranscriptionPrompt"] = tr.prompt
    if "turn_detection" in s:
        td = config.turn_detection
        out["EnableTurnDetection"] = td is not None
        if td is not None:
            dumped = td.model_dump(exclude_none=True)
            for seed, key in _TD_KEYS.items():
                if key in dumped:
                    out[seed] = dumped[key]
    if "tools" in s:
        out["Tools"] = [
            t.model_dump(exclude_none=True) for t in config.tools if isinstance(t, FunctionTool)
        ]
    if "tool_choice" in s:
        choice = config.tool_choice
        if isinstance(choice, str):
            out["ToolChoice"] = choice
        elif choice.type == "function":
            out["ToolChoice"] = choice.name
    if "temperature" in s and config.temperature is not None:
        out["Temperature"] = config.temperature
    if "max_output_tokens" in s:
        out["MaxOutputTokens"] = (
            -1 if config.max_output_tokens == "inf" else config.max_output_tokens
        )
    if "tracing" in s:
        tracing = config.tracing
        if tracing is None:
            out["Tracing"] = "none"
        elif isinstance(tracing, str):
            out["Tracing"] = tracing
        else:
            out["Tracing"] = "auto"
            for seed, key in _TRACING_KEYS.items():
                value = getattr(tracing, key)
                if value is not None:
                    out[seed] = value
    return out


def psopenai_command(config: SessionConfig) -> str:
    """``Set-RealtimeSessionConfiguration ...`` for the explicitly set fields."""
    parts = ["Set-RealtimeSessionConfiguration"]
    for name, value in psopenai_parameters(config).items():
        parts.append(f"-{name} {_ps(value)}")
    return " `\n    ".join(parts)


# ---- reading one back -------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<comment>\#[^\n]*)
      | (?P<param>-[A-Za-z]+)
      | (?P<str>'(?:[^']|'')*')
      | (?P<dq>"(?:[^"`]|`.)*")
      | (?P<var>\$(?:true|false|null))
      | (?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
      | (?P<open>@\(|@\{)
      | (?P<close>[)}])
      | (?P<sep>[,;=])
      | (?P<word>[A-Za-z_][A-Za-z0-9_.-]*)
    )""",
    re.VERBOSE | re.IGNORECASE,
)


def _tokens(text: str) -> list[tuple[str, str]]:
    text = re.sub(r"`\r?\n", " ", text)  # line continuations
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ConfigError.single(
                "(command)", f"cannot read the PSOpenAI command at: {text[pos : pos + 30]!r}"
            )
        kind = match.lastgroup or ""
        if kind != "comment":  # PowerShell's line comment, as an export starts with
            out.append((kind, match.group(kind)))
        pos = match.end()
    return out


class _Reader:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ConfigError.single("(command)", "the PSOpenAI command ends too early")
        self.i += 1
        return token

    def value(self) -> Any:
        kind, text = self.take()
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "dq":
            return re.sub(r"`(.)", r"\1", text[1:-1])
        if kind == "var":
            return {"$true": True, "$false": False, "$null": None}[text.lower()]
        if kind == "num":
            return float(text) if any(c in text for c in ".eE") else int(text)
        if kind == "word":
            return text
        if kind == "open" and text == "@(":
            items: list[Any] = []
            while self.peek() != ("close", ")"):
                items.append(self.value())
                if self.peek() == ("sep", ","):
                    self.take()
            self.take()
            return items
        if kind == "open":
            table: dict[str, Any] = {}
            while self.peek() != ("close", "}"):
                key = self.value()
                if self.take() != ("sep", "="):
                    raise ConfigError.single("(command)", f"expected '=' after key {key!r}")
                table[str(key)] = self.value()
                if self.peek() == ("sep", ";"):
                    self.take()
            self.take()
            return table
        raise ConfigError.single("(command)", f"unexpected {text!r} in the PSOpenAI command")


def parse_psopenai_command(text: str) -> dict[str, Any]:
    """``Set-RealtimeSessionConfiguration -Voice 'marin' ...`` -> {parameter: value}."""
    tokens = _tokens(text)
    if (
        tokens
        and tokens[0][0] == "word"
        and tokens[0][1].lower() == "set-realtimesessionconfiguration"
    ):
        tokens = tokens[1:]
    reader = _Reader(tokens)
    params: dict[str, Any] = {}
    while reader.peek() is not None:
        kind, text_ = reader.take()
        if kind != "param":
            raise ConfigError.single("(command)", f"expected a -Parameter, got {text_!r}")
        nxt = reader.peek()
        if nxt is None or nxt[0] == "param":
            params[text_[1:]] = True  # a switch
        else:
            params[text_[1:]] = reader.value()
    return params
