"""Thumbnails of the images a user sent, for the transcript: small, bounded, honest.

:func:`thumbnails` turns an item's image data URLs (``ItemState.image_urls``) into what a
transcript row shows: a preview URL no larger than :data:`MAX_PREVIEW_BYTES` (scaled down to
:data:`THUMBNAIL_PX` with PIL when it is installed; otherwise the image itself when it is small
enough), plus a caption with the measured size and type. An image too large to preview is
described, not sent to the browser whole.
"""

from __future__ import annotations

import base64
from collections import OrderedDict
from io import BytesIO
from typing import Any

from realtime_widgets.errors import ConfigError
from realtime_widgets.protocol.images import parse_data_url, read_image
from realtime_widgets.protocol.state import ItemState

__all__ = ["MAX_PREVIEW_BYTES", "THUMBNAIL_PX", "thumbnail", "thumbnails"]

MAX_PREVIEW_BYTES = 256 * 1024  # per image, as sent to the browser
THUMBNAIL_PX = 128  # the longer side of a scaled preview


def _scaled(data: bytes) -> bytes | None:
    try:
        # optional dependency: PIL scales previews when installed
        from PIL import Image
    except ImportError:
        return None
    with Image.open(BytesIO(data)) as image:
        image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
        out = BytesIO()
        image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB").save(out, "PNG")
        return out.getvalue()


_CACHE: OrderedDict[tuple[int, int, str], dict[str, Any]] = OrderedDict()
CACHE_SIZE = 64  # previews kept (each at most MAX_PREVIEW_BYTES): rows re-render often


def thumbnail(url: str) -> dict[str, Any]:
    """``{"src": preview data URL or None, "caption": "40x30 image/png, 3.6 kB"}``."""
    # A str caches its hash: a row re-rendered every second costs a lookup, not a digest of
    # megabytes; the key does not hold the (up to 50 MB) URL alive after its item is gone.
    key = (hash(url), len(url), url[-256:])
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    made = _thumbnail(url)
    _CACHE[key] = made
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return made


def _thumbnail(url: str) -> dict[str, Any]:
    try:
        _mime, data = parse_data_url(url)
        info = read_image(data)
    except (ValueError, ConfigError):
        return {"src": None, "caption": "an image this view cannot read"}
    caption = f"{info.width}x{info.height} {info.mime}, {info.size / 1000:.1f} kB"
    preview = data if info.size <= MAX_PREVIEW_BYTES else None
    if info.width > THUMBNAIL_PX or info.height > THUMBNAIL_PX or preview is None:
        preview = _scaled(data) or preview
    if preview is None or len(preview) > MAX_PREVIEW_BYTES:
        return {"src": None, "caption": f"{caption} (too large to preview)"}
    mime = "image/png" if preview is not data else info.mime
    return {"src": f"data:{mime};base64,{base64.b64encode(preview).decode()}", "caption": caption}


def thumbnails(item: ItemState) -> list[dict[str, Any]]:
    """The previews of every image in a user item, in content order."""
    return [thumbnail(url) for url in item.image_urls]
