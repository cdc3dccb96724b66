"""LiveConfig: every parameter of a GPT-Live session (``client.live``), on the one source.

GPT-Live is OpenAI's full-duplex speech API beside Realtime (``/v1/live/sessions``): the model
owns turn-taking and barge-in, so there is no turn detection to tune and no response to create.
Its session is typed by the SDK's ``openai/types/live/session_config.py`` (what a WebSocket's
``session.start`` carries), ``session_update_config.py`` (what ``session.update`` may change:
delegation and triggers only) and ``media_session_config_param.py`` (what a WebRTC/SIP session
made with ``client.live.create()`` takes: no audio format, plus ``wake_policy`` and
``idle_timeout_s``). One :class:`~.configbase.ConfigModel` holds all of it; each field's
:class:`~.configbase.Param` says its path, its group, whether it is fixed at start and which
transport carries it, and the wire, both readers, the controls, the export and the schema follow
from the fields::

    config = LiveConfig(voice="cedar", audio_format={"type": "audio/pcm", "rate": 16000})
    config.to_session_start()                  # {"type": "session.start", "session": {...}}
    config.with_changes(delegation={"type": "client"}).to_session_update(previous=config)
    LiveConfig.from_session(event["session"])  # session.started/updated/closed, leniently
    validate_session_payload(raw, LiveConfig)  # a client's session.start session, strictly
    LiveConfig.validate_update_payload(raw)    # a client's session.update session, strictly

The session object has no ``type`` key (:attr:`TYPE_ON_WIRE` is False). Everything but
``delegation`` and ``triggers`` is fixed by ``session.start``: :meth:`locked_fields` says why for
each, and :meth:`check_transition` (the base's) refuses a change to any of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Self

from pydantic import ConfigDict, Field, StrictBool, field_validator

from realtime_widgets.errors import ConfigError, FieldProblem
from realtime_widgets.protocol.configbase import Dialect, Param, plain
from realtime_widgets.protocol.live_parts import (
    LIVE_VOICES,
    ClientConfig,
    DecisionTrigger,
    InitialItem,
    LiveAudioFormat,
    LiveDelegation,
    LivePcmFormat,
    LiveVoice,
    WakePolicy,
)
from realtime_widgets.protocol.parts import REQUIRED_ON_WIRE
from realtime_widgets.protocol.textbudget import estimate_text_tokens
from realtime_widgets.protocol.wire import (
    WireConfig,
    decode_session,
    encode_session,
    require_session_object,
    validate_session_payload,
)

__all__ = [
    "LIVE_GROUPS",
    "LIVE_MODELS",
    "LIVE_VOICES",
    "MAX_INPUT_ITEMS",
    "MAX_INPUT_TOKENS",
    "MAX_INSTRUCTIONS_TOKENS",
    "LiveConfig",
]

LIVE_MODELS: tuple[str, ...] = ("gpt-live-1", "gpt-live-1.1")
LIVE_GROUPS: tuple[str, ...] = ("Model & voice", "Audio", "Context", "Delegation", "WebRTC & SIP")
# "at most 128 messages and a configured rendered-token limit (8,192 by default)"
# (session_config.py, ``input``).
MAX_INPUT_ITEMS = 128
MAX_INPUT_TOKENS = 8_192
# "Limited to 16,384 client-supplied tokens" (session_config.py, ``instructions``).
MAX_INSTRUCTIONS_TOKENS = 16_384
_ESTIMATE = "by the local estimate, four characters a token"

# The fields a request may set to null (Optional in the SDK's SessionConfigParam and
# MediaSessionConfigParam); every other one is left out when it has no value.
_NULLABLE = frozenset({"delegation", "instructions", "safety_identifier"})
# Why each start-only field is locked in a live session, in words a control can show.
_START_ONLY = (
    "is fixed by session.start: GPT-Live keeps it for the whole session (session.update "
    "changes only delegation and triggers); start a new session to change it"
)
_MEDIA_ONLY = (
    "exists only for WebRTC/SIP media sessions made with client.live.create(); a WebSocket "
    "session.start never carries it"
)
_WEBSOCKET_ONLY = (
    "is a WebSocket setting: WebRTC and SIP media sessions (client.live.create()) negotiate "
    "their audio format on the media transport"
)


class LiveConfig(WireConfig):
    """Every parameter of a GPT-Live session, with the SDK's defaults and ranges.

    Immutable: derive with :meth:`with_changes`; start with :meth:`to_session_start`, change
    delegation or triggers with :meth:`to_session_update`, read a server's session with
    :meth:`from_session`. ``wake_policy`` and ``idle_timeout_s`` belong to media sessions
    (``client.live.create()``) only and never reach a WebSocket's ``session`` object.
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_default=False, title="LiveConfig"
    )
    SESSION_TYPE: ClassVar[str] = "live"
    TYPE_ON_WIRE: ClassVar[bool] = False

    # -- Model & voice
    model: Annotated[
        str, Param("model", None, "Model & voice", mutable="never"), REQUIRED_ON_WIRE
    ] = Field(
        "gpt-live-1",
        min_length=1,
        description="The Live model; required in session.start and fixed for the session.",
        json_schema_extra={"examples": list(LIVE_MODELS)},
    )
    voice: Annotated[
        LiveVoice, Param("audio.output.voice", None, "Model & voice", mutable="never")
    ] = Field(
        "marin",
        description="A built-in voice or a custom voice {'id': 'voice_...'}; fixed at start.",
    )
    instructions: Annotated[str | None, Param("instructions", None, "Context", mutable="never")] = (
        Field(
            None,
            description="Frontend instructions (voice, conversation, when to delegate), up to "
            "16,384 tokens; fixed at start. None or blank: the server's defaults.",
        )
    )
    input: Annotated[list[InitialItem] | None, Param("input", None, "Context", mutable="never")] = (
        Field(
            None,
            max_length=MAX_INPUT_ITEMS,
            description="Text-only history the session starts with: developer, user and assistant "
            "messages of one text part each, at most 128 and 8,192 tokens; fixed at start.",
        )
    )

    # -- Audio
    audio_format: Annotated[
        LiveAudioFormat,
        Param("audio.format", None, "Audio", mutable="never", transport="websocket"),
    ] = Field(
        default_factory=LivePcmFormat,
        description="Audio both ways on a WebSocket: PCM16 at 16 or 24 kHz, or G.711 "
        "mu-law/A-law at 8 kHz; fixed at start.",
    )

    # -- Delegation
    delegation: Annotated[LiveDelegation | None, Param("delegation", None, "Delegation")] = Field(
        None,
        description="Who handles tasks the Live model delegates: None or client (your app), "
        "responses (a Responses backend) or decisions; acknowledgement_delay_ms each.",
    )
    triggers: Annotated[list[DecisionTrigger] | None, Param("triggers", None, "Delegation")] = (
        Field(
            None,
            max_length=2,
            description="Decisions questions run on transcript deltas, at most one per "
            "transcript; [] switches them off.",
        )
    )

    # -- Context: the rest of what session.start takes
    safety_identifier: Annotated[
        str | None, Param("safety_identifier", None, "Context", mutable="never")
    ] = Field(None, description="A stable id of your end user, for abuse detection.")
    store: Annotated[StrictBool | None, Param("store", None, "Context", mutable="never")] = Field(
        None, description="Store the session for forking and recording download (default off)."
    )
    client: Annotated[
        ClientConfig | None, Param("client", None, "WebRTC & SIP", mutable="never")
    ] = Field(
        None,
        description="What an untrusted WebRTC frontend attached to the session may send and "
        "receive on its data channel; startup only.",
    )

    # -- WebRTC and SIP media sessions only: client.live.create()
    wake_policy: Annotated[
        WakePolicy | None,
        Param("wake_policy", None, "WebRTC & SIP", mutable="never", transport="media"),
    ] = Field(
        None,
        description="WebRTC/SIP only: start inference when speech is detected (vad_threshold "
        "0-1, default 0.5). Never on a WebSocket session.start.",
    )
    idle_timeout_s: Annotated[
        int | None,
        Param("idle_timeout_s", None, "WebRTC & SIP", mutable="never", transport="media"),
    ] = Field(
        None,
        ge=1,
        description="WebRTC/SIP only: whole seconds of inactivity after which a session with a "
        "speech wake policy pauses inference. Never on a WebSocket session.start.",
    )

    # ---- OpenAI's limits the field types cannot say ---------------------------------------------

    @field_validator("instructions", mode="after")
    @classmethod
    def _instructions_tokens(cls, value: str | None) -> str | None:
        tokens = estimate_text_tokens(value or "")
        if tokens > MAX_INSTRUCTIONS_TOKENS:
            raise ValueError(
                f"must be at most {MAX_INSTRUCTIONS_TOKENS:,} tokens (GPT-Live's limit), got "
                f"about {tokens:,} ({len(value or ''):,} characters, {_ESTIMATE})"
            )
        return value

    @field_validator("input", mode="after")
    @classmethod
    def _input_tokens(cls, value: list[InitialItem] | None) -> list[InitialItem] | None:
        tokens = sum(estimate_text_tokens(item.content[0].text) for item in value or [])
        if tokens > MAX_INPUT_TOKENS:
            raise ValueError(
                f"must render to at most {MAX_INPUT_TOKENS:,} tokens (GPT-Live's default limit "
                f"for the startup history), got about {tokens:,} in its messages' text "
                f"({_ESTIMATE})"
            )
        return value

    # ---- which fields go where ----------------------------------------------------------------

    @classmethod
    def update_fields(cls) -> tuple[str, ...]:
        """The fields ``session.update`` may carry (the SDK's SessionUpdateConfig)."""
        return tuple(n for n, p in cls.PARAMS.items() if p.mutable != "never")

    @classmethod
    def websocket_fields(cls) -> tuple[str, ...]:
        """The fields a WebSocket ``session.start`` may carry (all but the media-only ones)."""
        return tuple(n for n, p in cls.PARAMS.items() if p.transport != "media")

    @classmethod
    def media_fields(cls) -> tuple[str, ...]:
        """The fields ``client.live.create(session=...)`` takes (all but the audio format)."""
        return tuple(n for n, p in cls.PARAMS.items() if p.transport != "websocket")

    def _sent(self, names: tuple[str, ...]) -> list[str]:
        # Every field with a value, and an explicit null where the SDK's request types allow
        # one (session_config_param.py: delegation, instructions, safety_identifier).
        return [
            n
            for n in names
            if getattr(self, n) is not None or (n in self.model_fields_set and n in _NULLABLE)
        ]

    # ---- the hooks ------------------------------------------------------------------------------

    def check_rules(self, dialect: Dialect = "ga") -> None:
        """Rules across fields: at most one trigger per transcript event type."""
        kinds = [t.event_type for t in self.triggers or []]
        if len(kinds) != len(set(kinds)):
            raise ConfigError.single(
                "triggers",
                "triggers: at most one Decisions trigger per transcript event type "
                "(session.input_transcript.delta, session.output_transcript.delta)",
                param="session.triggers",
                allowed="one trigger for each of session.input_transcript.delta and "
                "session.output_transcript.delta",
            )

    def locked_fields(
        self,
        *,
        live: bool = False,
        assistant_has_spoken: bool = False,
        dialect: Dialect = "ga",
    ) -> dict[str, str]:
        """Field -> why it cannot be set now. In a live (WebSocket) session: every start-only
        field (model, voice, instructions, input, audio_format, safety_identifier, store,
        client) and the media-only ones; never the delegation or the triggers."""
        locks = super().locked_fields(
            live=live, assistant_has_spoken=assistant_has_spoken, dialect=dialect
        )
        for name, param in type(self).PARAMS.items():
            if name not in locks:
                continue
            if param.transport == "media":
                locks[name] = f"{name} {_MEDIA_ONLY}"
            elif param.mutable == "never":
                locks[name] = f"{name} {_START_ONLY}"
        return locks

    # ---- the wire -------------------------------------------------------------------------------

    def to_session_start(self, *, event_id: str | None = None) -> dict[str, Any]:
        """The ``session.start`` event a WebSocket session begins with: the model and every
        field that has a value (an explicit null only where the SDK takes one); never
        ``wake_policy`` or ``idle_timeout_s`` (media sessions only)."""
        self.check_rules()
        event: dict[str, Any] = {"type": "session.start"}
        if event_id is not None:
            event["event_id"] = event_id
        event["session"] = encode_session(self, self._sent(self.websocket_fields()))
        return event

    def to_session_update(
        self, previous: LiveConfig | None = None, *, event_id: str | None = None
    ) -> dict[str, Any]:
        """The ``session.update`` taking a live session from ``previous`` to here.

        Only ``delegation`` and ``triggers`` can change (a :class:`ConfigError` names any other
        field that differs, with why). ``previous=None``: both as they are here. Triggers
        switched off are sent as ``[]`` (the SDK: "send an empty list to disable triggers";
        omitted keeps them).
        """
        self.check_rules()
        if previous is None:
            names = list(self.update_fields())
        else:
            if not isinstance(previous, LiveConfig):
                raise ConfigError.single(
                    "(session.type)",
                    f"a {type(previous).SESSION_TYPE!r} session cannot become a GPT-Live session",
                    param="session",
                )
            self.check_transition(previous)
            names = self.diff(previous)
        session = encode_session(self, names)
        if "triggers" in session and session["triggers"] is None:
            session["triggers"] = []
        event: dict[str, Any] = {"type": "session.update"}
        if event_id is not None:
            event["event_id"] = event_id
        event["session"] = session
        return event

    def to_media_session(self) -> dict[str, Any]:
        """The ``session`` of ``client.live.create()`` (a WebRTC/SIP media session): every
        field that has a value, media-only ones included, no audio format."""
        session: dict[str, Any] = {}
        for name in self._sent(self.media_fields()):
            node = session
            *containers, last = type(self).PARAMS[name].ga.split(".")  # type: ignore[union-attr]
            for key in containers:
                node = node.setdefault(key, {})
            node[last] = plain(getattr(self, name))
        return session

    def to_session_resource(self, *, session_id: str, expires_at: int) -> dict[str, Any]:
        """The complete session object a server reports in ``session.started`` / ``updated`` /
        ``closed`` (the SDK's SessionResource): id, expiry, model, status, then every
        WebSocket field that has a value."""
        settings = encode_session(
            self, [n for n in self.websocket_fields() if getattr(self, n) is not None]
        )
        return {"id": session_id, "expires_at": expires_at, "status": "active", **settings}

    @classmethod
    def from_session(cls, session: Mapping[str, Any], *, dialect: Dialect | None = None) -> Self:
        """Parse the ``session`` of ``session.started`` / ``updated`` / ``closed`` leniently:
        its server keys (``id``, ``expires_at``, ``status``) and keys this version does not
        know are ignored."""
        return decode_session(cls, session, dialect="ga", strict=False)

    @classmethod
    def validate_start_payload(cls, session: Mapping[str, Any]) -> Self:
        """A client's raw ``session.start`` session judged strictly (the model required,
        unknown keys and media-only keys refused):
        :func:`~.wire.validate_session_payload` with this class."""
        return validate_session_payload(session, cls)

    @classmethod
    def validate_update_payload(cls, session: Mapping[str, Any]) -> Self:
        """A client's raw ``session.update`` session judged strictly: only ``delegation`` and
        ``triggers`` (anything else is an unknown parameter, as the SDK's SessionUpdateConfig
        has nothing else); the values as :meth:`validate_start_payload` judges them. The
        returned config holds exactly the fields present."""
        require_session_object(session)
        allowed = cls.update_fields()
        problems = [
            FieldProblem(
                str(key),
                f"Unknown parameter: 'session.{key}'. session.update takes only "
                + " and ".join(allowed)
                + "; the rest is fixed by session.start.",
                "unknown_parameter",
                param=f"session.{key}",
                allowed=", ".join(allowed),
            )
            for key in session
            if key not in allowed
        ]
        if problems:
            raise ConfigError(problems)
        parsed = validate_session_payload({"model": "gpt-live-1", **session}, cls)
        return cls.model_validate(
            {n: getattr(parsed, n) for n in parsed.model_fields_set if n in session},
            context={"wire": "strict"},
        )
