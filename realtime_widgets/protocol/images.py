"""Images for ``input_image`` content: anything picture-like -> a checked ``data:`` URL.

:func:`image_data_url` takes a matplotlib figure, a PIL image, a numpy array (H x W gray,
H x W x 3 RGB or H x W x 4 RGBA; uint8, or floats in 0..1), a path, or encoded bytes, and
returns the data URL plus what was measured (:class:`ImageInfo`). Limits are OpenAI's
documented ones for image inputs: PNG, JPEG, WEBP or non-animated GIF, at most 50 MB per
request. A numpy array is encoded as PNG here (zlib, no imaging library needed); matplotlib and
PIL are used only when you pass their objects.

:func:`read_image` reads the type and pixel size from the first bytes of an encoded image; the
local server uses it to say honestly what it received.
"""

from __future__ import annotations

import base64
import math
import re
import struct
import zlib
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np

from realtime_widgets.errors import ConfigError

__all__ = [
    "GIF_MAX_BLOCKS",
    "IMAGE_TYPES",
    "JPEG_HEADER_BYTES",
    "JPEG_MAX_MARKERS",
    "MAX_IMAGE_BYTES",
    "ImageInfo",
    "check_image",
    "encode_png",
    "image_data_url",
    "image_tokens",
    "parse_data_url",
    "read_image",
]

# OpenAI's image inputs: "PNG, JPEG, WEBP, non-animated GIF", "up to 50 MB total payload size
# per request" (platform docs, Images and vision).
MAX_IMAGE_BYTES = 50 * 1000 * 1000
# Where a JPEG's frame header (SOF) must lie. Only metadata precedes it: EXIF is at most 64 KiB,
# an ICC profile rarely over 1 MiB, a Photoshop preview a few hundred KiB; 8 MiB keeps every
# real file and stops a crafted one (no header, or a chain of segments) from costing more than a
# C-speed search over 8 MiB.
JPEG_HEADER_BYTES = 8 * 1024 * 1024
# Markers read before the frame header: real files have tens (an ICC profile split over its
# maximum of 255 APP2 segments is the largest case); each costs a step in Python.
JPEG_MAX_MARKERS = 4096
# Blocks walked in a GIF: a still GIF has a few extensions, one image, and 255-byte sub-blocks
# (skipped in runs, in C); XMP packets stored as tiny sub-blocks take a few thousand steps.
GIF_MAX_BLOCKS = 65_536
IMAGE_TYPES: tuple[str, ...] = ("image/png", "image/jpeg", "image/webp", "image/gif")


@dataclass(frozen=True)
class ImageInfo:
    """What an encoded image is: its MIME type, pixel size and byte size; ``frames`` is 1, or 2
    for an animated GIF (the header walk stops at its second image)."""

    mime: str
    width: int
    height: int
    size: int
    frames: int = 1

    def describe(self) -> str:
        """E.g. ``a 640x480 image/png of 12,345 bytes``."""
        return f"a {self.width}x{self.height} {self.mime} of {self.size:,} bytes"


def _error(message: str) -> ConfigError:
    return ConfigError.single("image", message, allowed=", ".join(IMAGE_TYPES))


def _png_size(data: bytes) -> tuple[int, int]:
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise _error("image: a PNG without its IHDR header (truncated or damaged)")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


_FILL = re.compile(rb"\xff+")  # a marker's 0xFF and any fill bytes before its code
# Frame headers (SOF0..SOF15); 0xC4 (DHT), 0xC8 (JPG) and 0xCC (DAC) share the range.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers without a length field: TEM, RST0..7, SOI; 0x00 (a stuffed byte) is skipped too.
_JPEG_BARE = frozenset({0x00, 0x01, 0xD8, *range(0xD0, 0xD8)})


def _jpeg_size(data: bytes) -> tuple[int, int]:
    """Width and height from the first frame header, which must start within the first
    JPEG_HEADER_BYTES and JPEG_MAX_MARKERS markers: only the metadata before it is walked, in
    C-speed searches, never the compressed scan after it."""
    end = min(len(data), JPEG_HEADER_BYTES)
    i = 2
    for _ in range(JPEG_MAX_MARKERS):
        start = data.find(b"\xff", i, end)  # C-speed (memchr), as is the fill-byte match
        fill = None if start < 0 else _FILL.match(data, start, end)
        if fill is None or fill.end() >= end:
            if len(data) > end:  # what is left of the bound holds no marker
                raise _error(
                    "image: a JPEG without a frame header within its first "
                    f"{JPEG_HEADER_BYTES:,} bytes (the check reads no further; metadata that "
                    "large is not expected: strip the EXIF/ICC data or re-encode it)"
                )
            break
        marker, i = data[fill.end()], fill.end() + 1
        if marker in _JPEG_BARE:
            continue
        if i + 2 > len(data):
            break
        length = int.from_bytes(data[i : i + 2], "big")
        if marker in _JPEG_SOF:
            if length < 8 or i + 7 > len(data):
                break
            height = int.from_bytes(data[i + 3 : i + 5], "big")
            width = int.from_bytes(data[i + 5 : i + 7], "big")
            return width, height
        if marker in (0xD9, 0xDA) or length < 2:  # end of image, or scan data before a frame
            break
        i += length
    else:
        raise _error(
            f"image: a JPEG with more than {JPEG_MAX_MARKERS:,} markers before its frame header "
            "(damaged or crafted)"
        )
    raise _error("image: a JPEG without a frame header (truncated or damaged)")


def _webp_size(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        return width, height
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return int(width) & 0x3FFF, int(height) & 0x3FFF
    raise _error("image: a WEBP without a VP8/VP8L/VP8X header (truncated or damaged)")


class _GifWalk:
    """A bounded walk over a GIF's blocks: at most GIF_MAX_BLOCKS steps in Python."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.steps = 0

    def step(self) -> None:
        self.steps += 1
        if self.steps > GIF_MAX_BLOCKS:
            raise _error(
                f"image: a GIF of more than {GIF_MAX_BLOCKS:,} blocks (extensions and short "
                "sub-blocks) before its end; damaged or crafted (encoders write 255-byte "
                "sub-blocks)"
            )

    def skip_sub_blocks(self, i: int) -> int:
        """The index after the chain of sub-blocks starting at ``i`` (its 0 terminator).
        A run of full (255-byte) sub-blocks is counted in C: their size bytes lie 256 apart."""
        data, window = self.data, 64
        while True:
            if i >= len(data):
                raise _error("image: a GIF whose data is truncated (a sub-block runs past its end)")
            self.step()
            size = data[i]
            if size == 0:
                return i + 1
            if size == 255:
                sizes = data[i : i + 256 * window : 256]
                i += 256 * (len(sizes) - len(sizes.lstrip(b"\xff")))
                window = min(window * 2, 4096)
            else:
                i += 1 + size


def _gif_frames(data: bytes) -> int:
    """1 for a still GIF, 2 when a second image follows (animated; the walk stops there)."""
    if len(data) < 13:
        raise _error("image: a GIF without its logical screen descriptor (truncated)")
    i = 13
    if data[10] & 0x80:
        i += 3 * (2 ** ((data[10] & 0x07) + 1))
    walk, frames = _GifWalk(data), 0
    while i < len(data) and data[i] != 0x3B:  # a missing trailer is tolerated, as decoders do
        walk.step()
        block = data[i]
        if block == 0x2C:  # image descriptor, optional local color table, LZW data
            frames += 1
            if frames > 1:
                return frames
            if i + 11 > len(data):
                raise _error("image: a GIF whose image descriptor is truncated")
            flags = data[i + 9]
            i += 10
            if flags & 0x80:
                i += 3 * (2 ** ((flags & 0x07) + 1))
            i = walk.skip_sub_blocks(i + 1)  # after the LZW minimum code size
        elif block == 0x21:  # extension: label, then sub-blocks
            i = walk.skip_sub_blocks(i + 2)
        else:
            raise _error(f"image: a damaged GIF (block type 0x{block:02x} at byte {i:,})")
    if frames == 0:
        raise _error("image: a GIF without an image (truncated or damaged)")
    return frames


def read_image(data: bytes) -> ImageInfo:
    """The type and pixel size of encoded image bytes (PNG, JPEG, WEBP, GIF), from the header.

    Raises :class:`ConfigError` naming ``image`` for anything else, truncated or damaged. The
    work is bounded by the header, whatever the bytes: a JPEG's frame header must lie within
    :data:`JPEG_HEADER_BYTES`; a GIF is walked block by block (to tell a still one from an
    animated one) at most :data:`GIF_MAX_BLOCKS` steps, full 255-byte sub-blocks skipped in C.
    """
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        mime, (w, h) = "image/png", _png_size(data)
    elif data.startswith(b"\xff\xd8"):
        mime, (w, h) = "image/jpeg", _jpeg_size(data)
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        mime, (w, h) = "image/webp", _webp_size(data)
    elif data[:6] in (b"GIF87a", b"GIF89a"):
        frames = _gif_frames(data)
        w, h = struct.unpack("<HH", data[6:10])
        return ImageInfo("image/gif", int(w), int(h), len(data), frames)
    else:
        raise _error(
            f"image: not a PNG, JPEG, WEBP or GIF (first bytes {data[:8]!r}); "
            f"supported types are {', '.join(IMAGE_TYPES)}"
        )
    return ImageInfo(mime, w, h, len(data))


def image_tokens(width: int, height: int, detail: str | None = "auto") -> int:
    """Input tokens an image costs, by OpenAI's formula for the gpt-4o family (Images and
    vision, "Calculating costs"): ``low`` is 85 flat; ``high`` scales the image to fit within
    2048 x 2048, then its shortest side down to 768 px, and costs 85 + 170 per 512 px tile.
    OpenAI does not publish the realtime models' figure; ``auto`` (and no detail) is counted
    as ``high``, the larger, so a budget computed with it is never exceeded."""
    if detail == "low":
        return 85
    w, h = float(max(width, 1)), float(max(height, 1))
    scale = min(1.0, 2048 / w, 2048 / h)
    w, h = w * scale, h * scale
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    return 85 + 170 * math.ceil(w / 512) * math.ceil(h / 512)


def encode_png(pixels: Any) -> bytes:
    """A numpy array as PNG bytes: H x W (gray), H x W x 3 (RGB) or H x W x 4 (RGBA).

    uint8 is taken as is; floats are read as 0..1 and clipped; bool as black/white.
    """
    array = np.asarray(pixels)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise _error(
            f"image: a numpy array must be H x W, H x W x 3 or H x W x 4, got shape {array.shape}"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise _error(f"image: the array is empty (shape {array.shape})")
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    elif np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)):
            raise _error("image: the array holds NaN or infinite values")
        array = np.round(np.clip(array, 0.0, 1.0) * 255).astype(np.uint8)
    elif array.dtype != np.uint8:
        if array.min() < 0 or array.max() > 255:
            raise _error(
                f"image: integer pixels must be 0..255, got {array.min()}..{array.max()} "
                "(pass floats in 0..1 or uint8)"
            )
        array = array.astype(np.uint8)
    height, width = array.shape[:2]
    color = {2: 0, 3: 2, 4: 6}[array.ndim if array.ndim == 2 else array.shape[2]]
    rows = np.ascontiguousarray(array).reshape(height, -1)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def _to_bytes(source: Any) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise _error(f"image: no such file: {str(path)!r}")
        return path.read_bytes()
    savefig = getattr(source, "savefig", None)
    if callable(savefig):  # a matplotlib Figure
        buffer = BytesIO()
        savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()
    if callable(getattr(source, "save", None)) and hasattr(source, "mode"):  # a PIL Image
        buffer = BytesIO()
        image = source if source.mode in ("RGB", "RGBA", "L") else source.convert("RGBA")
        image.save(buffer, format="PNG")
        return buffer.getvalue()
    if isinstance(source, np.ndarray):
        return encode_png(source)
    raise _error(
        "image: pass a matplotlib figure, a PIL image, a numpy array, a path or encoded bytes, "
        f"got {type(source).__name__}"
    )


def image_data_url(source: Any, *, max_bytes: int = MAX_IMAGE_BYTES) -> tuple[str, ImageInfo]:
    """``(data URL, ImageInfo)`` for an image; raises :class:`ConfigError` naming ``image``.

    Checks what OpenAI checks: a supported type, not an animated GIF, at most ``max_bytes``
    (50 MB, OpenAI's per-request limit) of encoded image.
    """
    data = _to_bytes(source)
    info = check_image(data, max_bytes=max_bytes)
    encoded = base64.b64encode(data).decode("ascii")
    return f"data:{info.mime};base64,{encoded}", info


def check_image(data: bytes, *, max_bytes: int = MAX_IMAGE_BYTES) -> ImageInfo:
    """What encoded image bytes hold, checked as OpenAI checks them (a supported type, not an
    animated GIF, at most ``max_bytes``, some pixels); :class:`ConfigError` naming ``image``.
    The client's builders and the local server both check with this."""
    if len(data) > max_bytes:  # before reading anything: a huge file is refused at once
        raise _error(
            f"image: {len(data):,} bytes is above the limit of {max_bytes:,} bytes "
            "(OpenAI accepts up to 50 MB per request); downscale it or use JPEG"
        )
    info = read_image(data)
    if info.frames > 1:
        raise _error("image: an animated GIF (2 or more frames); only still GIFs are accepted")
    if info.width == 0 or info.height == 0:
        raise _error(f"image: {info.width}x{info.height} pixels; an image needs pixels")
    return info


def parse_data_url(url: str) -> tuple[str, bytes]:
    """``(mime type, bytes)`` of a base64 ``data:`` URL; raises ``ValueError`` otherwise."""
    head, sep, body = url.partition(",")
    if not url.startswith("data:") or not sep or not head.endswith(";base64"):
        raise ValueError("expected a base64 data URL (data:image/png;base64,...)")
    mime = head.removeprefix("data:").removesuffix(";base64")
    try:
        return mime, base64.b64decode(body, validate=True)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"the data URL's base64 is invalid: {exc}") from None
