"""Thumbnails for the transcript: scaled, bounded, captioned with what was measured."""

from __future__ import annotations

import base64
import io

import numpy as np

from realtime_widgets.protocol import items
from realtime_widgets.protocol.images import encode_png, image_data_url, parse_data_url, read_image
from realtime_widgets.protocol.state import ItemState
from realtime_widgets.widgets.thumbnails import MAX_PREVIEW_BYTES, THUMBNAIL_PX, thumbnails


def _item(*urls: str) -> ItemState:
    return ItemState(id="item_1", type="message", role="user", image_urls=list(urls))


def test_a_large_image_is_scaled_to_a_small_preview_with_its_real_size_in_the_caption() -> None:
    big = np.random.default_rng(3).random((900, 1200, 3))
    url, info = image_data_url(big)
    assert info.size > MAX_PREVIEW_BYTES
    (thumb,) = thumbnails(_item(url))
    _mime, data = parse_data_url(thumb["src"])
    preview = read_image(data)
    assert max(preview.width, preview.height) == THUMBNAIL_PX
    assert preview.width / preview.height == 1200 / 900
    assert len(data) <= MAX_PREVIEW_BYTES
    assert thumb["caption"].startswith("1200x900 image/png, ")


def test_small_images_pass_as_they_are_and_unreadable_ones_are_described() -> None:
    from PIL import Image

    jpeg = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(jpeg, format="JPEG")
    small = items.user_image(jpeg.getvalue()).content[0].image_url  # type: ignore[union-attr]
    bogus = "data:image/png;base64," + base64.b64encode(b"nope").decode()
    first, second = thumbnails(_item(small, bogus))
    assert first["src"] == small  # small enough: the image itself, no re-encoding
    assert first["caption"].startswith("40x30 image/jpeg")
    assert second == {"src": None, "caption": "an image this view cannot read"}
    tiny = image_data_url(encode_png(np.zeros((4, 4), dtype=np.uint8)))[0]
    assert thumbnails(_item(tiny))[0]["src"] == tiny
