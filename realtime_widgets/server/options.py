"""The knobs of a local session: :class:`EngineOptions` (read by every part, changed by none)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from realtime_widgets.protocol.parts import SemanticVad, ServerVad
from realtime_widgets.server.input_transcripts import HintedTranscriber, Transcriber
from realtime_widgets.server.limits import ServerLimits
from realtime_widgets.server.reply.translator import Translator
from realtime_widgets.server.speech import Voices
from realtime_widgets.server.vad import TurnDetector

__all__ = ["EngineOptions"]


@dataclass(frozen=True)
class EngineOptions:
    """Knobs of a local session. ``pace`` 1.0 streams audio deltas in real time, 0 sends a
    reply at once; ``lead``: each reply's events go out up to this many seconds ahead of
    real time (OpenAI "will produce audio faster than realtime", the SDK's docs of
    ``conversation.item.truncate``: a client buffers ahead and truncates at barge-in; 0 streams
    strictly in real time, the worst case for a client's jitter buffer); ``limits``: every
    limit (:class:`~.limits.ServerLimits`: OpenAI's 60-minute session, 15 MiB append, context
    size, and the local server's own caps)."""

    limits: ServerLimits = field(default_factory=ServerLimits)
    pace: float = 1.0
    lead: float = 0.5
    # The recogniser (None: none; then ``transcriber_note`` says why, in each ``failed``).
    transcriber: Transcriber | HintedTranscriber | None = None
    transcriber_note: str | None = None
    # What translates a translation session's segments (None: none; the session says so).
    translator: Translator | None = None
    # What speaks each language a translation session translates into (:func:`.speech.
    # voice_for_language`): the server's voice and eSpeak NG's, set when it starts (none here).
    voices: Voices = field(default_factory=Voices)
    rate_limits: bool = True
    wall_clock: Callable[[], float] = time.time  # for expires_at (Unix seconds)
    dialect: str = "ga"  # "beta": accept the legacy flat session shape in session.update
    # How turn detection is built from the session's settings. The VAD lab passes one that
    # decides from a clip's precomputed signals (same decisions, no Silero per sweep point).
    detector: Callable[[ServerVad | SemanticVad], TurnDetector] = TurnDetector

    def __post_init__(self) -> None:
        for name, what in (("pace", "a speed factor"), ("lead", "seconds")):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number >= 0 ({what}), got {value!r}")
            if not (value >= 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a finite number >= 0 ({what}), got {value!r}")

    @property
    def rules_dialect(self) -> Literal["ga", "beta"]:
        """The dialect whose rules a config is checked by (``ga`` or ``beta``)."""
        return "beta" if self.dialect == "beta" else "ga"
