"""TranscriptionConfig: every parameter of a transcription-only session (``type: transcription``).

A transcription session takes audio in and gives transcripts out; the model never answers. Its
configuration is the input half of a realtime session's, and it reuses the same nested records
(format, noise reduction, transcription, turn detection) and the same machinery
(:class:`~.configbase.ConfigModel`): the wire payload, both readers, the controls, the export and
the schema are derived from the fields below exactly as for :class:`~.config.SessionConfig`::

    config = TranscriptionConfig(transcription="gpt-4o-transcribe", include=["item..."])
    config.to_session_update()     # session.update with session.type = "transcription"
    TranscriptionConfig.from_session(event["session"])     # a server's report, leniently
    validate_session_payload(raw, TranscriptionConfig)     # a client's payload, strictly
    to_code(config, "openai-python")                       # from .export

Its fields have no rules across fields and none is locked mid-session, so it overrides none of
ConfigModel's hooks.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import ConfigDict, Field

from realtime_widgets.protocol.configbase import Param
from realtime_widgets.protocol.parts import (
    AudioFormat,
    NoiseReduction,
    PcmFormat,
    ServerVad,
    Transcription,
    TurnDetection,
)
from realtime_widgets.protocol.wire import WireConfig, session_update

__all__ = ["TranscriptionConfig"]


class TranscriptionConfig(WireConfig):
    """Every parameter of a transcription session (GA), with OpenAI's defaults and ranges.

    Immutable, like :class:`~.config.SessionConfig`: derive with :meth:`with_changes`, send with
    :meth:`to_session_update`, read a server's view with :meth:`from_session`. The same seed
    shorthands are accepted (``"pcm16"``, ``noise_reduction="near_field"``, a model name for
    ``transcription``).
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_default=False, title="TranscriptionConfig"
    )
    SESSION_TYPE: ClassVar[str] = "transcription"

    # -- Audio
    input_audio_format: Annotated[AudioFormat, Param("audio.input.format", None, "Audio")] = Field(
        default_factory=PcmFormat,
        description="Format of the audio you append: 24 kHz PCM16, or G.711 mu-law/A-law at 8 kHz.",
    )
    noise_reduction: Annotated[
        NoiseReduction | None, Param("audio.input.noise_reduction", None, "Audio")
    ] = Field(None, description="Filter input audio before VAD and transcription; None is off.")

    # -- Transcription
    transcription: Annotated[
        Transcription | None, Param("audio.input.transcription", None, "Transcription")
    ] = Field(
        default_factory=Transcription,
        description="The transcription model, language and prompt; None transcribes nothing.",
    )
    include: Annotated[
        list[Literal["item.input_audio_transcription.logprobs"]] | None,
        Param("include", None, "Transcription"),
    ] = Field(None, description="Extra fields in server events: the transcript's logprobs.")

    # -- Turn detection
    turn_detection: Annotated[
        TurnDetection | None, Param("audio.input.turn_detection", None, "Turn detection")
    ] = Field(
        default_factory=ServerVad,
        description="server_vad or semantic_vad cut the audio into turns, each transcribed when "
        "it ends; None: you commit the buffer yourself.",
    )

    @property
    def logprobs(self) -> bool:
        """True when the server is asked for the transcript's log probabilities."""
        return bool(self.include and "item.input_audio_transcription.logprobs" in self.include)

    # ---- the wire (:mod:`.wire`) ------------------------------------------------------------

    def to_session_update(
        self, previous: TranscriptionConfig | None = None, *, event_id: str | None = None
    ) -> dict[str, Any]:
        """The ``session.update`` that takes a transcription session from ``previous`` here.

        With ``previous=None`` every explicitly set field is sent, otherwise the fields that
        differ (nested objects whole, ``null`` to switch a feature off).
        """
        return session_update(self, previous, event_id=event_id)
