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
import struct
import zlib
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np

from realtime_widgets.errors import ConfigError

__all__ = [
    "IMAGE_TYPES",
    "MAX_IMAGE_BYTES",
    "ImageInfo",
    "check_image",
    "encode_png",
    "image_data_url",
    "parse_data_url",
    "read_image",
]

# OpenAI's image inputs: "PNG, JPEG, WEBP, non-animated GIF", "up to 50 MB total payload size
# per request" (platform docs, Images and vision).
MAX_IMAGE_BYTES = 50 * 1000 * 1000
IMAGE_TYPES: tuple[str, ...] = ("image/png", "image/jpeg", "image/webp", "image/gif")


@dataclass(frozen=True)
class ImageInfo:
    """What an encoded image is: its MIME type, pixel size, byte size and GIF frame count."""

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


def _jpeg_size(data: bytes) -> tuple[int, int]:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return int(width), int(height)
        i += 2 + length
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


def _skip_sub_blocks(data: bytes, i: int) -> int:
    while i < len(data) and data[i] != 0:
        i += 1 + data[i]
    return i + 1


def _gif_frames(data: bytes) -> int:
    """How many images a GIF holds (walks its blocks; a damaged tail ends the count)."""
    i = 13
    if data[10] & 0x80:
        i += 3 * (2 ** ((data[10] & 0x07) + 1))
    frames = 0
    while i < len(data):
        block = data[i]
        if block == 0x2C:  # image descriptor, optional local color table, LZW data
            frames += 1
            if i + 10 > len(data):
                break
            flags = data[i + 9]
            i += 10
            if flags & 0x80:
                i += 3 * (2 ** ((flags & 0x07) + 1))
            i = _skip_sub_blocks(data, i + 1)
        elif block == 0x21:  # extension: label, then sub-blocks
            i = _skip_sub_blocks(data, i + 2)
        else:  # 0x3B trailer, or damage
            break
    return max(frames, 1)


def read_image(data: bytes) -> ImageInfo:
    """The type and pixel size of encoded image bytes (PNG, JPEG, WEBP, GIF), from the header.

    Raises :class:`ConfigError` naming ``image`` for anything else.
    """
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        mime, (w, h) = "image/png", _png_size(data)
    elif data.startswith(b"\xff\xd8"):
        mime, (w, h) = "image/jpeg", _jpeg_size(data)
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        mime, (w, h) = "image/webp", _webp_size(data)
    elif data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        w, h = struct.unpack("<HH", data[6:10])
        return ImageInfo("image/gif", int(w), int(h), len(data), _gif_frames(data))
    else:
        raise _error(
            f"image: not a PNG, JPEG, WEBP or GIF (first bytes {data[:8]!r}); "
            f"supported types are {', '.join(IMAGE_TYPES)}"
        )
    return ImageInfo(mime, w, h, len(data))


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
    info = read_image(data)
    if info.frames > 1:
        raise _error(f"image: an animated GIF ({info.frames} frames); only still GIFs are accepted")
    if info.size > max_bytes:
        raise _error(
            f"image: {info.size:,} bytes is above the limit of {max_bytes:,} bytes "
            "(OpenAI accepts up to 50 MB per request); downscale it or use JPEG"
        )
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
