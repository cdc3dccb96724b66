"""Big client frames, read off the event loop (pure functions; the server runs them on its
frame thread).

An ``input_image`` frame can be as large as ``ServerLimits.max_frame_bytes`` (32 MiB): parsing
it, decoding its base64 and serializing the item that echoes it back cost tens of milliseconds
of C each. On the event loop every other session would wait that long. So the server's reader
hands any frame of :data:`OFF_LOOP_BYTES` or more to :func:`read_frame` on its frame thread:
it parses the JSON and reads the images a ``conversation.item.create`` carries
(:func:`read_image_url`); the engine then answers from the result, on the loop, in the order
the frames came. Events that carry a big string are serialized there too
(:func:`dump_events`). Both work in pieces of :data:`PIECE` characters, so the GIL goes back to
the event loop between pieces (a long C call would hold it throughout).
"""

from __future__ import annotations

import binascii
import json
import secrets
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii
from typing import Any

import pydantic_core

from realtime_widgets.errors import ConfigError, ProtocolError
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.images import MAX_IMAGE_BYTES, ImageInfo, check_image

__all__ = [
    "OFF_LOOP_BYTES",
    "PIECE",
    "ImageRead",
    "ReadFrame",
    "dump_events",
    "is_heavy",
    "read_frame",
    "read_image_url",
]

# Frames and strings from this size on are handled off the loop: under it, the work (< 1 ms)
# costs less than the hop to a thread.
OFF_LOOP_BYTES = 256 * 1024
# Characters decoded or escaped per C call (~2 ms each): the loop waits at most about this long
# for the GIL, plus the interpreter's switch interval.
PIECE = 1024 * 1024
_HINT = "the local server takes base64 data URLs of PNG, JPEG, WEBP or GIF"


@dataclass(frozen=True)
class ImageRead:
    """What an ``input_image`` URL holds (:class:`ImageInfo`), or why it is refused."""

    url: str
    info: ImageInfo | None
    problem: str | None


@dataclass(frozen=True)
class ReadFrame:
    """A client frame read off the loop: its parsed JSON (or why it does not parse) and the
    images of the item it creates, by content index. :meth:`.SessionEngine.receive` takes it
    in place of the text."""

    raw: Any
    problem: ProtocolError | None = None
    images: dict[int, ImageRead] = field(default_factory=dict)


def read_image_url(url: str, *, max_bytes: int = MAX_IMAGE_BYTES) -> ImageRead:
    """Read a base64 ``data:`` URL's image: its size from the base64 length first (a huge one is
    refused before decoding), then the base64 in pieces, then its header (:func:`check_image`)."""
    comma = url.find(",", 0, 256)
    if not url.startswith("data:") or comma < 0 or not url[:comma].endswith(";base64"):
        expected = "expected a base64 data URL (data:image/png;base64,...)"
        return ImageRead(url, None, f"{expected} ({_HINT}).")
    body = len(url) - comma - 1
    size = body // 4 * 3 - (url.endswith("==") + url.endswith("="))
    if size > max_bytes:
        return ImageRead(
            url,
            None,
            f"image: {size:,} bytes is above the limit of {max_bytes:,} bytes (OpenAI accepts "
            "up to 50 MB per request); downscale it or use JPEG",
        )
    try:
        if body % 4:
            raise ValueError("its length is not a multiple of 4")
        pieces = [
            binascii.a2b_base64(url[k : k + PIECE], strict_mode=True)
            for k in range(comma + 1, len(url), PIECE)
        ]
    except ValueError as exc:  # binascii.Error, or a non-ASCII character
        return ImageRead(url, None, f"the data URL's base64 is invalid: {exc} ({_HINT}).")
    try:
        return ImageRead(url, check_image(b"".join(pieces), max_bytes=max_bytes), None)
    except ConfigError as exc:
        return ImageRead(url, None, f"{exc} ({_HINT}).")


def read_frame(text: str | bytes, *, max_depth: int) -> ReadFrame:
    """Parse one client frame and read the images of the item it creates (see the module
    docstring). pydantic-core's parser takes ~4 ms for 32 MiB where ``json`` takes ~40; a frame
    it refuses, or one deep enough to need the depth check, goes through :func:`ev.load_json`
    for the same answer as a small frame gets."""
    if isinstance(text, str):
        brackets = text.count("[") + text.count("{")
    else:
        brackets = text.count(b"[") + text.count(b"{")
    try:
        if brackets > max_depth:
            raise ValueError("the depth check needs load_json")
        raw = pydantic_core.from_json(text)
    except ValueError:
        try:
            raw = ev.load_json(text, max_depth=max_depth)
        except ProtocolError as exc:
            return ReadFrame(None, exc)
    images: dict[int, ImageRead] = {}
    item = raw.get("item") if isinstance(raw, dict) else None
    content = item.get("content") if isinstance(item, dict) else None
    if isinstance(content, list) and raw.get("type") == "conversation.item.create":
        for i, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") != "input_image":
                continue
            url = part.get("image_url")
            if isinstance(url, str):
                images[i] = read_image_url(url)
    return ReadFrame(raw, None, images)


def is_heavy(event: dict[str, Any]) -> bool:
    """Whether an event's item holds a string of :data:`OFF_LOOP_BYTES` or more (an image's
    data URL, a retrieved item's audio): only items carry such payloads."""
    item = event.get("item")
    return isinstance(item, dict) and _has_big_string(item)


def _has_big_string(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) >= OFF_LOOP_BYTES
    if isinstance(value, dict):
        return any(_has_big_string(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_big_string(v) for v in value)
    return False


def dump_events(events: list[dict[str, Any]]) -> list[str]:
    """Each event as compact JSON, exactly as ``json.dumps(e, separators=(",", ":"))``, with
    its big strings escaped in pieces (see the module docstring)."""
    return [_dump(event) for event in events]


def _dump(event: dict[str, Any]) -> str:
    nonce = secrets.token_hex(8)
    big: list[str] = []

    def swap(value: Any) -> Any:
        if isinstance(value, str) and len(value) >= OFF_LOOP_BYTES:
            big.append(value)
            return f"\x00{nonce}\x00"
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    skeleton = json.dumps(swap(event), separators=(",", ":")).split(json.dumps(f"\x00{nonce}\x00"))
    out = [skeleton[0]]
    for value, after in zip(big, skeleton[1:], strict=True):
        out.append('"')
        out += [
            encode_basestring_ascii(value[k : k + PIECE])[1:-1] for k in range(0, len(value), PIECE)
        ]
        out += ['"', after]
    return "".join(out)
