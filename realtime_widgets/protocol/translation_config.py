"""TranslationConfig: every parameter of a translation session (``type: translation``).

A translation session (``/v1/realtime/translations?model=...``) hears a continuous stream of
speech and gives the same words back in another language, as transcript deltas and audio; there
is no turn detection, no conversation and no response. Its settings are few, and they live on
the same single source as the other configs (:class:`~.configbase.ConfigModel` and
:class:`~.configbase.Param`): the wire payload, both readers, the controls, the export and the
schema are derived from the fields below::

    config = TranslationConfig(output_language="es", input_transcription="gpt-4o-mini-transcribe")
    config.to_session_update()        # session.update: {"audio": {...}}, no "type", no "model"
    TranslationConfig.from_session(event["session"])     # a server's report, leniently
    TranslationConfig.from_update(raw)                   # a client's update body, strictly
    to_code(config, "openai-python")                     # from .export

What differs from the Realtime and transcription configs, as the SDK (openai 3.63) models it:

- the ``session`` of ``session.update`` is ``RealtimeTranslationSessionUpdateRequest``: ``audio``
  only. It has no ``type`` and no ``model`` (both are set when the session is created: the model
  in the URL), so :meth:`TranslationConfig.to_session_update` sends neither, and the strict
  reader of an update (:meth:`TranslationConfig.from_update`) refuses them as unknown parameters;
- the session the server reports (``session.created`` / ``updated``) is complete:
  ``id``, ``expires_at``, ``model``, ``type: "translation"`` and ``audio``;
- ``audio.input.transcription`` holds only ``model`` (:class:`TranslationTranscription`), and
  noise reduction is the Realtime record (:class:`~.parts.NoiseReduction`);
- the audio is 24 kHz PCM16 both ways on a WebSocket, fixed (:data:`AUDIO_FORMAT`): no setting.

The model cannot change during a session (``mutable="never"``: locked while connected, with
the reason); everything else may change at any time. There are no rules across fields.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Self

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from realtime_widgets.errors import ConfigError, FieldProblem
from realtime_widgets.protocol.configbase import Dialect, Param, plain, transcription_shorthand
from realtime_widgets.protocol.parts import REQUIRED_ON_WIRE, NoiseReduction, Part, PcmFormat
from realtime_widgets.protocol.wire import (
    WireConfig,
    encode_session,
    require_session_object,
    validate_session_payload,
)

__all__ = [
    "AUDIO_FORMAT",
    "TRANSLATION_GROUPS",
    "TRANSLATION_MODELS",
    "UPDATE_KEYS",
    "TranslationConfig",
    "TranslationTranscription",
]

# The model OpenAI's guide names for translation sessions (the SDK's model is an open string
# and names none): offered in the model list, any other name is accepted and sent verbatim.
TRANSLATION_MODELS: tuple[str, ...] = ("gpt-realtime-translate",)
TRANSLATION_GROUPS: tuple[str, ...] = ("Model", "Language", "Transcription", "Audio")
# A translation session's audio on a WebSocket, both ways: "base64-encoded 24 kHz PCM16 mono"
# in (the SDK's append event), ``format: "pcm16"`` out (its output audio delta).
AUDIO_FORMAT = PcmFormat()
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z]{2,4})?")
# The top-level keys of an update's session (RealtimeTranslationSessionUpdateRequest).
UPDATE_KEYS = ("audio",)


class TranslationTranscription(Part):
    """Source-language transcription in a translation session: the model only (the SDK's
    ``audio.input.transcription`` has no language, prompt or delay here)."""

    model: Annotated[str, REQUIRED_ON_WIRE] = Field(
        "gpt-4o-mini-transcribe",
        min_length=1,
        description="The transcription model of the source transcript deltas "
        "(session.input_transcript.delta).",
        json_schema_extra={
            "examples": [
                "gpt-4o-mini-transcribe",
                "gpt-4o-transcribe",
                "whisper-1",
                "gpt-realtime-whisper",
            ]
        },
    )


class TranslationConfig(WireConfig):
    """Every parameter of a translation session, with OpenAI's shapes (module docstring).

    Immutable, like the other configs: derive with :meth:`with_changes`, send with
    :meth:`to_session_update`, read a server's view with :meth:`from_session`. A model name
    is accepted for ``input_transcription`` and ``"near_field"`` / ``"far_field"`` for
    ``noise_reduction`` (not on the wire, where objects are required).
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_default=False, title="TranslationConfig"
    )
    SESSION_TYPE: ClassVar[str] = "translation"

    # -- Model
    model: Annotated[str, Param("model", None, "Model", mutable="never")] = Field(
        "gpt-realtime-translate",
        min_length=1,
        description="The translation model (in the URL: ?model=...); cannot change during a "
        "session.",
        json_schema_extra={"examples": list(TRANSLATION_MODELS)},
    )

    # -- Language
    output_language: Annotated[str | None, Param("audio.output.language", None, "Language")] = (
        Field(
            None,
            description="The language to translate into, as an ISO-639-1 code (es, fr, de, "
            "ja, ...); None leaves the server's choice.",
            json_schema_extra={
                "examples": ["es", "fr", "de", "it", "pt", "ja", "ko", "zh", "hi", "en"]
            },
        )
    )

    # -- Transcription
    input_transcription: Annotated[
        TranslationTranscription | None, Param("audio.input.transcription", None, "Transcription")
    ] = Field(
        None,
        description="Transcribe the source speech too (session.input_transcript.delta); "
        "None: only the translation comes back.",
    )

    # -- Audio
    noise_reduction: Annotated[
        NoiseReduction | None, Param("audio.input.noise_reduction", None, "Audio")
    ] = Field(None, description="Filter the input audio before translation; None is off.")

    @field_validator("output_language", mode="after")
    @classmethod
    def _language_code(cls, value: str | None) -> str | None:
        if value is not None and not _LANGUAGE.fullmatch(value):
            raise ValueError(
                "must be an ISO-639-1 language code such as 'es', 'fr', 'de' or 'ja' "
                f"(optionally with a region: 'pt-BR'), got {value!r}"
            )
        return value

    @field_validator("input_transcription", mode="before")
    @classmethod
    def _input_transcription(cls, value: Any, info: ValidationInfo) -> Any:
        return transcription_shorthand(value, info)

    # ---- the wire (:mod:`.wire`) ------------------------------------------------------------

    @property
    def input_audio_format(self) -> PcmFormat:
        """The input audio's format: fixed, 24 kHz PCM16 (:data:`AUDIO_FORMAT`)."""
        return AUDIO_FORMAT

    @property
    def output_audio_format(self) -> PcmFormat:
        """The output audio's format: fixed, 24 kHz PCM16 (:data:`AUDIO_FORMAT`)."""
        return AUDIO_FORMAT

    @classmethod
    def update_fields(cls) -> list[str]:
        """The fields a ``session.update`` may carry: all but those fixed at creation (the
        model)."""
        return [name for name, p in cls.PARAMS.items() if p.mutable != "never"]

    def to_session_update(
        self, previous: TranslationConfig | None = None, *, event_id: str | None = None
    ) -> dict[str, Any]:
        """The ``session.update`` that takes a translation session from ``previous`` here.

        Its ``session`` is the SDK's ``RealtimeTranslationSessionUpdateRequest``: ``audio``
        only, no ``type`` and no ``model``. With ``previous=None`` every explicitly set field
        that an update may carry is sent, otherwise the fields that differ (nested objects
        whole, ``null`` to switch a feature off). A changed model raises :class:`ConfigError`
        (a session keeps its model): connect a new session instead.
        """
        self.check_rules()
        if previous is None:
            names = [n for n in self.update_fields() if n in self.model_fields_set]
        else:
            if not isinstance(previous, TranslationConfig):
                raise ConfigError.single(
                    "(session.type)",
                    f"session.type cannot change during a session (it is "
                    f"{type(previous).SESSION_TYPE!r}, got 'translation')",
                    param="session.type",
                )
            self.check_transition(previous)
            names = self.diff(previous)
        session = encode_session(self, names)
        del session["type"]  # the update request has none
        event: dict[str, Any] = {"type": "session.update"}
        if event_id is not None:
            event["event_id"] = event_id
        event["session"] = session
        return event

    def to_session(
        self,
        dialect: Dialect = "ga",
        *,
        session_id: str | None = None,
        expires_at: int | None = None,
    ) -> dict[str, Any]:
        """The full ``session`` object (every field). With ``session_id`` and ``expires_at``
        it is the complete ``RealtimeTranslationSession`` a server reports (``id``,
        ``expires_at``, ``model``, ``type``, ``audio``), in that order."""
        body = super().to_session(dialect)
        if session_id is None and expires_at is None:
            return body
        if session_id is None or expires_at is None:
            raise ValueError("a reported session needs both session_id and expires_at")
        return {"id": session_id, "expires_at": expires_at, **body}

    @classmethod
    def from_update(cls, session: Mapping[str, Any]) -> Self:
        """Judge a client's raw ``session.update`` body as the translation endpoint does:
        exactly the SDK's update request (``audio``: ``output.language``,
        ``input.transcription.model``, ``input.noise_reduction``), strictly. ``type`` and
        ``model`` are unknown parameters there (both are fixed when the session is created).
        Returns the fields present (``model_fields_set``), to merge into the session's
        config; raises :class:`ConfigError` whose problems carry OpenAI's code and param."""
        require_session_object(session)
        fixed = [key for key in session if key not in UPDATE_KEYS]
        if fixed:
            raise ConfigError(
                [
                    FieldProblem(
                        key if key in cls.model_fields else f"(session.{key})",
                        f"Unknown parameter: 'session.{key}'.",
                        "unknown_parameter",
                        param=f"session.{key}",
                        value=plain(session[key]),
                    )
                    for key in fixed
                ]
            )
        return validate_session_payload(session, cls)
