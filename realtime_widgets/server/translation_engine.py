"""A translation session (``/v1/realtime/translations?model=...``): its own composition.

OpenAI's translation sessions hear a continuous stream and give the same words back in the
session's ``audio.output.language``; a client sets no turn detection and sends no commit. The
local server does it in segments, with the parts the other kinds have:

1. **Segments.** The input part (:mod:`.turns`) cuts the stream with the server's own VAD
   (Silero, :data:`SEGMENTATION`: speech ends after 500 ms of silence), on settings no client
   sees; its turn events (``speech_started`` / ``stopped``) are the server's business and never
   go out (:data:`~.turns.TURN_EVENTS`). Unbroken speech is cut every :data:`MAX_SEGMENT_MS`, and
   ``session.close`` cuts what is being said.
2. **Hearing.** Each segment is transcribed by the input-transcripts part
   (:mod:`.input_transcripts`), on the server's recogniser thread, off the loop (its
   speculation at a pause included). With ``audio.input.transcription`` set, what was heard
   goes out as ``session.input_transcript.delta``.
3. **Translating and speaking.** The transcript is handed out as a
   :class:`~.reply.material.ReplyRequest` whose responder is the server's translator
   (:class:`~.reply.translator.TranslationCall`); the reply pipeline runs it off the loop, cuts
   the translation into clauses and speaks each, on the server's voice pool, with the voice of
   the target language (:func:`~.speech.voice_for_language`: the server's own voice, Piper
   when installed, for English; eSpeak NG's voice of that language otherwise), and each piece
   comes back here as ``session.output_transcript.delta`` and ``session.output_audio.delta``
   (24 kHz PCM16 in 200 ms chunks). A language no voice of the server speaks is translated in
   text only: it is never read with English phonetics. Each event of a segment carries
   ``elapsed_ms``: where the segment's speech ended on the input timeline, in whole 200 ms
   frames.

What the local server cannot do it says, in an ``error`` event, **once per session** for what
is the server's own lack (no recogniser, no translator, no voice, no target language, and no
voice for the target language, this one once per language: every segment would repeat the same
words, and a ten-minute session would carry hundreds of them, while the input transcript keeps
flowing), and once per segment for what happened to that segment (its transcription or
translation failed). It never invents a translation: without a
translator no ``output_transcript`` is sent, never the source text in its place.

``session.close`` takes no more input, cuts the segment in progress, and sends
``session.closed`` once every segment heard so far is translated (or failed); the connection
then closes (1000). Every event sent validates against the SDK's translation server union.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import ValidationError

from realtime_widgets.audio.pcm import pcm16_to_base64
from realtime_widgets.audio.rate import MODEL_RATE, ms_to_samples, samples_to_ms
from realtime_widgets.audio.resample import resample
from realtime_widgets.errors import ConfigError
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol import translation_events as te
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.parts import ServerVad
from realtime_widgets.protocol.transcription_config import TranscriptionConfig
from realtime_widgets.protocol.translation_config import TranslationConfig
from realtime_widgets.server.engine_core import EngineCore, Events
from realtime_widgets.server.errors import config_error, problem_error
from realtime_widgets.server.input_transcripts import NO_TRANSCRIBER, transcript_pieces
from realtime_widgets.server.options import EngineOptions
from realtime_widgets.server.outcomes import (
    SpeechStarted,
    Step,
    TranscriptReady,
    TurnEnded,
    TurnsDecided,
)
from realtime_widgets.server.reply.material import ReplyPiece, ReplyRequest
from realtime_widgets.server.reply.responder import FunctionCall, ReplyContext, ResponderError
from realtime_widgets.server.reply.translator import TranslationCall, language_name
from realtime_widgets.server.speech import LanguageVoice, primary_language, voice_for_language
from realtime_widgets.server.tts import Speech
from realtime_widgets.server.turns import MIN_COMMIT_MS, TURN_EVENTS

__all__ = [
    "FRAME_MS",
    "MAX_SEGMENT_MS",
    "NO_TRANSLATOR",
    "SEGMENTATION",
    "VOICE_LANGUAGE_UNSUPPORTED",
    "TranslationEngine",
]

# How the server cuts the stream into segments (never reported: a client sets no turn
# detection in a translation session).
SEGMENTATION = TranscriptionConfig(
    transcription=None,
    turn_detection=ServerVad(
        threshold=0.5,
        prefix_padding_ms=300,
        silence_duration_ms=500,
        create_response=False,
        interrupt_response=False,
    ),
)
# Unbroken speech is cut here: Whisper hears 30 s at most, and a long segment's translation
# would come late.
MAX_SEGMENT_MS = 15_000
# Silence kept before speech (the prefix of the next segment; older silence is dropped).
_KEEP_MS = 1_000
# The translation frame: elapsed_ms advances in 200 ms steps, and audio goes out in 200 ms deltas.
FRAME_MS = 200
# The voice the translations are spoken with (a translation session has no voice setting).
_VOICE = "alloy"

NO_TRANSLATOR = (
    "This local server has no translator, so it sends no translation (it never passes the "
    "source text off as one); the input transcript still flows when audio.input.transcription "
    "is set. Give it one: LocalServer(responder=ChatResponder(url, model)) or "
    "realtime-widgets serve --chat-url URL --chat-model NAME (a Chat Completions endpoint "
    "translates with a translate prompt), or LocalServer(translator=...)."
)


# The error code when no voice of the server speaks the target language.
VOICE_LANGUAGE_UNSUPPORTED = "voice_language_unsupported"


@dataclass(frozen=True)
class _Segment:
    """A segment heard and not yet translated: where its speech ended (``elapsed_ms``), and,
    once it is handed to the translator, who speaks its translation (``voice``)."""

    elapsed_ms: int
    voice: LanguageVoice | None = None


def _frame_ceil(ms: float) -> int:
    """``ms`` rounded up to a whole translation frame."""
    return int(-(-ms // FRAME_MS) * FRAME_MS)


class TranslationEngine(EngineCore[TranslationConfig]):
    """One translation session's behaviour (see the module docstring)."""

    kind: ClassVar[str] = "translation_session"
    hears_always = True  # every segment is transcribed: the translator needs its words
    refuses_beta_shape = False  # the update has no "type": there is no beta shape to refuse
    session_created = te.RealtimeTranslationSessionCreatedEvent
    session_updated = te.RealtimeTranslationSessionUpdatedEvent

    def __init__(
        self,
        *,
        model: str = "gpt-realtime-translate",
        options: EngineOptions | None = None,
        session_id: str = "sess_local",
    ) -> None:
        super().__init__(
            TranslationConfig(model=model),
            options=options or EngineOptions(),
            session_id=session_id,
        )
        self.handlers = {
            te.RealtimeTranslationSessionUpdateEvent: self._on_session_update,
            te.RealtimeTranslationInputAudioBufferAppendEvent: self._on_append,
            te.RealtimeTranslationSessionCloseEvent: self._on_close,
        }
        self.routes.update(
            {
                SpeechStarted: self._nothing,
                TurnEnded: self._segment_ended,
                TurnsDecided: self._turns_decided,
                TranscriptReady: self._heard,
            }
        )
        self.closing = False  # session.close was received
        self._segments: dict[str, _Segment] = {}  # heard, transcript not back yet
        self._queued: list[ReplyRequest] = []  # translations to hand out
        self._open: dict[str, _Segment] = {}  # translations handed out (or queued), by id
        self._told: set[str] = set()  # the once-per-session errors already sent
        self._said_in = self._said_out = False  # text already sent (deltas need a space)
        self.input.sync_detector()

    # ---- what the parts read, and what the kind reports --------------------------------------

    def _part_settings(self) -> TranscriptionConfig:
        """The input and transcript parts hear through the server's own segmentation."""
        return SEGMENTATION

    def session_object(self) -> dict[str, Any]:
        """The complete ``RealtimeTranslationSession``: id, expiry, model, type and audio."""
        return self.config.to_session(session_id=self.session_id, expires_at=self._expires_at)

    def parse_event(self, raw: dict[str, Any]) -> te.RealtimeTranslationClientEvent:
        return te.parse_translation_client_event(raw)

    def event_error(self, exc: ValidationError, raw: dict[str, Any]) -> dict[str, Any]:
        return problem_error(te.translation_event_problem(exc, raw), raw)

    def route(self, steps: Iterable[Step], now: float) -> Events:
        """As every kind routes, without the segmentation's own turn events."""
        return [e for e in super().route(steps, now) if e["type"] not in TURN_EVENTS]

    # ---- client events ------------------------------------------------------------------------

    def _closing_error(self, event_id: str | None) -> list[dict[str, Any]] | None:
        if not self.closing:
            return None
        return [
            self.out.error(
                "The session is closing (session.close was received): it takes no more events.",
                "session_closing",
                None,
                event_id,
            )
        ]

    def _on_session_update(self, e: te.RealtimeTranslationSessionUpdateEvent, now: float) -> Events:
        refused = self._closing_error(e.event_id)
        if refused is not None:
            return refused
        try:
            update = TranslationConfig.from_update(e.session)
            merged = self.config.updated_by(update)
        except ConfigError as exc:
            return [self.out.error_from(config_error(exc, e.event_id))]
        return self._adopt(merged)

    def _on_append(
        self, e: te.RealtimeTranslationInputAudioBufferAppendEvent, now: float
    ) -> Iterable[Step]:
        if self.closing:  # (a microphone may still be streaming: said once, not per chunk)
            return self._tell_once(
                "session_closing",
                "The session is closing (session.close was received): audio appended after it "
                "is not heard.",
            )
        return self.input.on_append(e, now)  # (an AudioAppend: audio and event_id)

    def _on_close(self, e: te.RealtimeTranslationSessionCloseEvent, now: float) -> Events:
        """Take no more input, cut what is being said, and close once it is translated."""
        refused = self._closing_error(e.event_id)
        if refused is not None:
            return refused
        self.closing = True
        return self._cut(now) + self._close_when_done()

    # ---- segments -----------------------------------------------------------------------------

    def _nothing(self, o: SpeechStarted, now: float) -> Events:
        return []

    def _turns_decided(self, o: TurnsDecided, now: float) -> Events:
        """Every frame is decided: keep only the silence a next segment starts with, and cut
        unbroken speech at :data:`MAX_SEGMENT_MS`."""
        out = self.route(self.input.after_turns(replying=False), now)
        buffer = self.input.buffer
        if not self.input.in_speech:
            buffer.drop_before(buffer.end - ms_to_samples(_KEEP_MS))
        elif buffer.ms >= MAX_SEGMENT_MS:
            out += self._cut(now)
        return out

    def _cut(self, now: float) -> Events:
        """End the segment being spoken here (a long one, or at session.close)."""
        if not self.input.in_speech or self.input.buffer.ms < MIN_COMMIT_MS:
            return []
        commit = ev.InputAudioBufferCommit.model_construct()
        return self.route(self.input.on_commit(commit, now), now)

    def _segment_ended(self, o: TurnEnded, now: float) -> Events:
        """A segment is cut: transcribe it (its end is where the input part's buffer now
        starts: it drops the segment's audio as it cuts)."""
        if self.options.transcriber is None:
            note = self.options.transcriber_note
            why = f" ({note})" if note else ""
            return self._tell_once(
                "transcription_unavailable",
                f"This local server has no speech recogniser{why}, so it cannot hear what "
                f"is said and translates nothing. {NO_TRANSCRIBER}",
            )
        end_ms = samples_to_ms(self.input.buffer.start)
        self._segments[o.item_id] = _Segment(_frame_ceil(end_ms))
        return self.route(self.transcripts.commit(o.item_id, o.audio), now)

    def _heard(self, o: TranscriptReady, now: float) -> Events:
        """A segment's words: the input transcript (when asked for), then its translation."""
        segment = self._segments.pop(o.item_id, None)
        if segment is None:
            return []
        out: Events = []
        if o.text is None:
            out.append(
                self.out.error(
                    "The local server could not transcribe a segment, so it was not "
                    f"translated: {o.why or 'no transcript'}",
                    "transcription_failed",
                    None,
                    None,
                )
            )
        elif o.text.strip():
            text = " ".join(o.text.split())
            if self.config.input_transcription is not None:
                out += self._input_transcript(text, segment)
            out += self._translate(o.item_id, text, segment)
        return out + self._close_when_done()

    def _input_transcript(self, text: str, segment: _Segment) -> Events:
        pieces = transcript_pieces(text)
        if self._said_in:
            pieces[0] = " " + pieces[0]  # append-only text: the segments are words apart
        self._said_in = True
        return [
            self.out.event(
                te.RealtimeTranslationInputTranscriptDeltaEvent,
                delta=piece,
                elapsed_ms=segment.elapsed_ms,
            )
            for piece in pieces
        ]

    def _translate(self, item_id: str, text: str, segment: _Segment) -> Events:
        """Hand the segment's text to the translator (through the reply pipeline)."""
        translator = self.options.translator
        if translator is None:
            return self._tell_once("translator_unavailable", NO_TRANSLATOR)
        target = self.config.output_language
        if target is None:
            return self._tell_once(
                "output_language_missing",
                "audio.output.language is not set, so the local server does not know which "
                "language to translate into: set it with session.update, e.g. "
                "{'audio': {'output': {'language': 'es'}}}.",
                param="session.audio.output.language",
            )
        request_id = self.out.new_id("translation")
        voice = voice_for_language(target, self.options.voices)
        context = ReplyContext(
            config=SessionConfig(),  # (a translation reads no Realtime setting)
            conversation=[],
            instructions=None,
            last_user_text=text,
            trigger="translation",
            measurements={"segment": item_id, "target_language": target},
        )
        request = ReplyRequest(
            request_id,
            context,
            ["text"] if voice.synthesizer is None else ["audio"],  # (no voice: text only)
            _VOICE,
            1.0,
            responder=TranslationCall(translator, text, None, target),
            speaker=voice.synthesizer,
        )
        self._queued.append(request)
        self._open[request_id] = _Segment(segment.elapsed_ms, voice)
        return []

    def _tell_once(
        self, code: str, message: str, param: str | None = None, *, key: str | None = None
    ) -> Events:
        """An error about what this server lacks: once per session (module docstring), or
        once per ``key`` (a language)."""
        key = code if key is None else f"{code}:{key}"
        if key in self._told:
            return []
        self._told.add(key)
        return [self.out.error(message, code, param, None)]

    def _unspoken(self, voice: LanguageVoice | None, note: str | None) -> Events:
        """A translation came with no speech: say why, once (per language when no voice
        speaks that language)."""
        if voice is not None and voice.unsupported:
            code = voice.language
            named = language_name(code)
            shown = f"the language {code!r}" if named == code else named
            return self._tell_once(
                VOICE_LANGUAGE_UNSUPPORTED,
                f"No voice of this local server speaks {shown}, so translations into it come "
                "as text only (the server never reads them with another language's voice): "
                f"{voice.note}.",
                "session.audio.output.language",
                key=primary_language(code),
            )
        why = note or (voice.note if voice is not None else None) or "no speech synthesiser"
        return self._tell_once(
            "speech_unavailable",
            f"This local server has no voice, so translations come as text only ({why}). "
            "Start it with speech on (LocalServer(speech='auto'), the 'voice' extra for Piper).",
        )

    # ---- the translations, computed off the loop ----------------------------------------------

    def take_requests(self) -> list[ReplyRequest]:
        taken, self._queued = self._queued, []
        return taken

    def wants_reply(self, request: ReplyRequest) -> bool:
        return request.response_id in self._open

    def reply_piece(
        self, request: ReplyRequest, piece: ReplyPiece | FunctionCall, now: float
    ) -> Events:
        """A clause of the translation and its speech: the output transcript, then the audio."""
        segment = self._open.get(request.response_id)
        if segment is None or isinstance(piece, FunctionCall):
            return []  # (a translator's call never gives a FunctionCall: it returns text)
        out: Events = []
        text = " ".join(piece.text.split())
        if text:
            out.append(
                self.out.event(
                    te.RealtimeTranslationOutputTranscriptDeltaEvent,
                    delta=(" " if self._said_out else "") + text,
                    elapsed_ms=segment.elapsed_ms,
                )
            )
            self._said_out = True
        if piece.speech is not None:
            out += self._audio(piece.speech, segment.elapsed_ms)
        elif text:
            out += self._unspoken(segment.voice, piece.note)
        return out

    def _audio(self, speech: Speech, elapsed_ms: int) -> Events:
        samples = speech.samples
        if speech.rate != MODEL_RATE:
            samples = resample(samples, speech.rate, MODEL_RATE).astype(samples.dtype)
        step = ms_to_samples(FRAME_MS)
        return [
            self.out.event(
                te.RealtimeTranslationOutputAudioDeltaEvent,
                delta=pcm16_to_base64(samples[i : i + step]),
                channels=1,
                elapsed_ms=elapsed_ms,
                format="pcm16",
                sample_rate=MODEL_RATE,
            )
            for i in range(0, len(samples), step)
        ]

    def reply_end(
        self, request: ReplyRequest, now: float, failure: ResponderError | None = None
    ) -> Events:
        """The translation is complete, or failed (an error for that segment)."""
        if self._open.pop(request.response_id, None) is None:
            return []
        out: Events = []
        if failure is not None:
            out.append(
                self.out.error(
                    f"The translation of a segment failed: {failure.message}",
                    failure.code,
                    None,
                    None,
                )
            )
        return out + self._close_when_done()

    def fail_reply(self, request: ReplyRequest, now: float) -> Events:
        """The translation could not be scheduled (the server error was sent): forget it."""
        self._open.pop(request.response_id, None)
        return self._close_when_done()

    # ---- closing ------------------------------------------------------------------------------

    def _close_when_done(self) -> Events:
        """After session.close: ``session.closed`` once nothing heard is left to translate."""
        if not self.closing or self.closed is not None or self._segments or self._open:
            return []
        self.closed = (1000, "session closed")
        return [self.out.event(te.RealtimeTranslationSessionClosedEvent)]
