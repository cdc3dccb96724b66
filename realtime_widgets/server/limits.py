"""Every limit of the local server, in one object: :class:`ServerLimits`.

``LocalServer(limits=ServerLimits(max_sessions=128))`` in Python, ``realtime-widgets serve
--max-sessions 128`` from a shell (each field is a flag of the same name; ``serve --help`` lists
them with their defaults). Where OpenAI documents a limit the default is OpenAI's number and the
error uses its wording; where it does not, the comment beside the field says why the default
was chosen. With every default, one session is bounded by about 225 MB (a full uncommitted
buffer, 43 MB, a full context of audio, 135 MB, and its images, 32 MiB held as ~45 MB of data
URLs) and 128 MiB of frames waiting to be read; the whole server by ``max_sessions`` times
that: under 23 GB for 64 sessions at the very worst, inside the 24 GB of the machine the
defaults were sized on (2 cores).
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from typing import Any

from realtime_widgets.protocol.events import MAX_JSON_DEPTH

__all__ = ["ServerLimits", "add_limit_arguments", "limits_from_arguments"]

MiB = 1024 * 1024


def _limit(default: Any, help_: str) -> Any:
    return field(default=default, metadata={"help": help_})


@dataclass(frozen=True)
class ServerLimits:
    """The local server's limits (see the module docstring); each has a default and a flag."""

    # Measured on 2 cores (benchmarks/bench_server.py (a)): >= 50 sessions streaming real-time
    # audio keep the event round trip's p99 under 50 ms; 64 leaves headroom for idle ones.
    max_sessions: int = _limit(
        64,
        "concurrent sessions; one more is refused at the handshake with HTTP 503",
    )
    # A 15 MiB append is 20 MiB of base64; the JSON around it is small. 32 MiB keeps that with
    # room, and refuses (close 1009, the limit in the reason) a frame nothing legitimate sends.
    max_frame_bytes: int = _limit(
        32 * MiB,
        "largest WebSocket frame accepted; a larger one closes the connection with 1009",
    )
    # Frames received ahead of the session's reader; when that many wait, websockets stops
    # reading the socket and TCP pushes back on the client. Any client that sends faster than
    # it is answered is slowed, not dropped; 4 x 32 MiB caps what one client parks in memory.
    max_queued_frames: int = _limit(
        4,
        "frames read ahead of a session; past it the socket is not read (TCP backpressure)",
    )
    # The deepest legitimate event is a session.update whose tool has a nested JSON schema,
    # rarely 20 levels. 128 keeps every real schema and stops a '[[[[...' bomb long before
    # Python's recursion limit (1000). The error uses OpenAI's words for unparsable JSON.
    max_json_depth: int = _limit(
        MAX_JSON_DEPTH,
        "deepest nesting of arrays/objects in one client event; deeper gets an error event",
    )
    # OpenAI: "the audio chunk exceeds the maximum size of 15 MiB".
    max_append_bytes: int = _limit(
        15 * MiB,
        "largest decoded audio in one input_audio_buffer.append (OpenAI: 15 MiB)",
    )
    # OpenAI documents no cap on the uncommitted buffer. 15 minutes of 24 kHz PCM16 is 43 MB:
    # far more than any turn (semantic_vad's longest wait is 8 s after speech), small enough
    # that 64 full buffers fit in memory.
    max_buffer_s: float = _limit(
        900.0,
        "seconds of uncommitted input audio; an append past it gets an error event",
    )
    # OpenAI: "A 32k context model with 4,096 max output tokens can only include 28,224 tokens
    # in the context before truncation occurs." The session's `truncation` setting decides
    # what happens past it (auto / retention_ratio: the oldest items leave the conversation;
    # disabled: response.create fails). Audio counts 10 tokens/s in, 20 tokens/s out, so the
    # stored audio of a session is bounded too (at most 47 minutes of input).
    context_tokens: int = _limit(
        28_224,
        "tokens the conversation may hold before the session's truncation applies (OpenAI)",
    )
    # OpenAI documents no such cap, only 50 MB per image. Images count tokens (85 to ~1,100 each),
    # which bounds how many a context holds, not their bytes: 300 small-token images of 20 MB
    # would fit. 32 MiB of decoded images (~45 MB as the data URLs kept) takes one image as large
    # as a default frame carries (~25 MB) or dozens of figures, and keeps 64 sessions in memory.
    max_image_bytes_per_session: int = _limit(
        32 * MiB,
        "bytes of input images one session's conversation may hold; past it, an error event",
    )
    # OpenAI: "Your session hit the maximum duration of 60 minutes." (close 1001).
    max_duration_s: float = _limit(
        3600.0,
        "session length in seconds; then session_expired and close 1001 (OpenAI: 60 minutes)",
    )
    # A peer that answers no ping for this long is gone: its session is closed (1001). Pings
    # are only sent to connections that have been silent for as long, so a client that floods
    # the server (and whose pongs wait behind its own frames) is never taken for dead.
    keepalive_s: float = _limit(
        20.0,
        "seconds of silence before the server pings, and then waits for the pong",
    )
    # One pass of the shared Silero batch takes milliseconds, even for every session at once
    # (~45 us a window, bench_server (b)); one that has not answered in this long means the VAD
    # thread is wedged. The sessions waiting for it get an error event naming this limit and
    # go on; their audio is decided when the pass answers.
    vad_timeout_s: float = _limit(
        10.0,
        "seconds a session waits for the shared VAD pass; then an error event, and the session "
        "goes on (its turns are decided when the pass answers)",
    )

    # A Whisper call takes ~0.5 s, one at a time, on one CPU thread (whisper.py: alone as fast
    # as two, and faster in a busy server, as it leaves a core to the event loop). A job that
    # has not finished in this long (a wedged or very slow recogniser) ends the turn's
    # transcription `failed`, and a response waiting for it goes on without it.
    transcription_timeout_s: float = _limit(
        30.0,
        "seconds a turn's transcription may take; then it is failed (transcription_timeout)",
    )
    # One session's transcription jobs queued or running (until the recogniser thread has
    # really finished each, even when its wait timed out). A turn takes one job, and its pause
    # maybe one more (speculation): 4 is more than any speaker needs, and a client that commits
    # every 100 ms cannot fill the recogniser's queue (the sessions are served in turn too).
    max_transcriptions_per_session: int = _limit(
        4,
        "transcription jobs one session may have queued or running; past it, that turn's "
        "transcription is failed (transcription_limit)",
    )
    # Jobs queued or running on the recogniser, server-wide. Past it, early (speculative)
    # transcription is skipped and the turn is transcribed when it commits: the queue of work
    # that may be wasted stays short when many sessions speak at once.
    max_queued_transcriptions: int = _limit(
        8,
        "transcriptions queued server-wide before early (speculative) ones are skipped",
    )
    # A responder (a chat model's endpoint) that says nothing for a minute is taken for dead:
    # its response ends failed (responder_timeout) and the session goes on. Also bounds the
    # speech of one clause. Generous: a local model's first token may take tens of seconds.
    reply_wait_s: float = _limit(
        60.0,
        "seconds the server waits for a responder's answer, its stream's next chunk or a "
        "clause's speech; past it the response ends failed (responder_timeout)",
    )

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"ServerLimits.{f.name} must be a positive number, got {value!r}")


def add_limit_arguments(parser: argparse.ArgumentParser) -> None:
    """One ``--flag`` per :class:`ServerLimits` field (``max_sessions`` -> ``--max-sessions``)."""
    group = parser.add_argument_group(
        "limits", "every limit of the server (ServerLimits in Python), with its default"
    )
    for f in dataclasses.fields(ServerLimits):
        kind = int if f.type in ("int", int) else float
        group.add_argument(
            "--" + f.name.replace("_", "-"),
            type=kind,
            default=f.default,
            metavar="N",
            help=f"{f.metadata['help']} (default {f.default:,})".replace("%", "%%"),
        )


def limits_from_arguments(args: argparse.Namespace) -> ServerLimits:
    """The :class:`ServerLimits` that :func:`add_limit_arguments`'s flags parsed to."""
    return ServerLimits(**{f.name: getattr(args, f.name) for f in dataclasses.fields(ServerLimits)})
