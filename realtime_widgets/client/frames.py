"""The size of what the client sends: the endpoint's frame limit, checked before sending.

A WebSocket server closes the connection on a frame larger than it accepts (1009), and with
a Realtime server the conversation goes with it; the client then reconnects to a new, empty
session. So every frame the client makes is checked against ``max_frame_bytes`` first
(:func:`check_frame`): one that would be closed on raises :class:`ConfigError` naming its
size, the limit and the option, and nothing is sent. Audio appends are cut to fit
(:func:`append_limit`). :data:`MAX_FRAME_BYTES` (32 MiB) is the local server's
``ServerLimits.max_frame_bytes`` and within what OpenAI accepts; set
``RealtimeSession(max_frame_bytes=...)`` to the endpoint's own limit when it differs.
"""

from __future__ import annotations

from realtime_widgets.errors import ConfigError

__all__ = [
    "MAX_APPEND",
    "MAX_FRAME_BYTES",
    "append_limit",
    "check_frame",
    "checked_limit",
    "too_large_message",
]

MAX_APPEND = 15 * 1024 * 1024  # OpenAI's limit for one input_audio_buffer.append
MAX_FRAME_BYTES = 32 * 1024 * 1024  # the local server's default (a 15 MiB append fits)
_APPEND_FRAME = len('{"type":"input_audio_buffer.append","audio":""}')
_RAISE_IT = (
    "RealtimeSession(max_frame_bytes=...), and for the local server "
    "ServerLimits.max_frame_bytes (realtime-widgets serve --max-frame-bytes)"
)


def checked_limit(max_frame_bytes: object) -> int:
    """``max_frame_bytes`` when it is a whole number >= 1024; else ConfigError naming it."""
    if isinstance(max_frame_bytes, bool) or not isinstance(max_frame_bytes, int):
        raise ConfigError.single(
            "max_frame_bytes",
            f"max_frame_bytes must be a whole number of bytes, got {max_frame_bytes!r}",
            allowed="an int >= 1024",
        )
    if max_frame_bytes < 1024:
        raise ConfigError.single(
            "max_frame_bytes",
            f"max_frame_bytes must be at least 1024, got {max_frame_bytes}",
            allowed="an int >= 1024",
            value=max_frame_bytes,
        )
    return max_frame_bytes


def append_limit(max_frame_bytes: int) -> int:
    """Audio bytes one append may carry: OpenAI's 15 MiB, or less when the frame must be
    smaller (base64 takes 4 characters for 3 bytes), in whole 16-bit samples."""
    fit = (max_frame_bytes - _APPEND_FRAME) // 4 * 3
    return min(MAX_APPEND, fit - fit % 2)


def check_frame(kind: str, size: int, max_frame_bytes: int) -> None:
    """Raise ConfigError when a ``kind`` frame of ``size`` bytes is over the limit."""
    if size <= max_frame_bytes:
        return
    raise ConfigError.single(
        "max_frame_bytes",
        f"{kind} would be a frame of {size:,} bytes, over this session's max_frame_bytes of "
        f"{max_frame_bytes:,}: the endpoint would close the connection (1009) and the "
        "conversation would be lost, so nothing was sent. Send less (a smaller image, shorter "
        f"text), or raise the limit if the endpoint takes more: {_RAISE_IT}.",
        code="message_too_big",
        allowed=f"frames up to {max_frame_bytes:,} bytes",
        value=size,
    )


def too_large_message(reason: str | None, max_frame_bytes: int) -> str:
    """What to tell the user when the server closed with 1009 all the same."""
    return (
        "the server closed the connection (1009): a frame we sent was larger than it accepts "
        f"({reason or 'it gave no reason'}); its conversation was lost with the connection. "
        f"This session's max_frame_bytes is {max_frame_bytes:,}: set it to the endpoint's "
        f"limit ({_RAISE_IT}) and a frame too big is refused before it is sent."
    )
