"""Reading an image header from bytes a hostile peer chose (issue 18, rows 3 and 4).

``read_image`` / ``check_image`` run on the local server for every ``input_image`` and on the
client for every image a notebook sends: whatever the bytes, the only exception is
:class:`ConfigError` naming ``image``, and the work is bounded by the header, never by the file.
The bounds are tested structurally (what lies past them is refused, naming them), not by time.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from realtime_widgets.errors import ConfigError
from realtime_widgets.protocol.images import (
    GIF_MAX_BLOCKS,
    JPEG_HEADER_BYTES,
    MAX_IMAGE_BYTES,
    ImageInfo,
    check_image,
    encode_png,
    image_tokens,
    read_image,
)


def _pil(fmt: str, size: tuple[int, int] = (40, 30)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    pixels = np.random.default_rng(7).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()


SAMPLES = {
    "png": encode_png(np.random.default_rng(3).random((30, 40, 3))),
    "jpeg": _pil("JPEG"),
    "webp": _pil("WEBP"),
    "gif": _pil("GIF"),
}


def _refused(data: bytes, fragment: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        check_image(data)
    assert caught.value.field == "image"
    assert fragment in str(caught.value), str(caught.value)
    return caught.value


def _outcome(read: Callable[[bytes], ImageInfo], data: bytes) -> ImageInfo | ConfigError:
    """What ``read`` gives: an ImageInfo, or the ConfigError (any other exception escapes)."""
    try:
        return read(data)
    except ConfigError as exc:
        return exc


# ---- row 3: truncated and garbage headers ---------------------------------------------------


def test_a_ten_byte_gif_is_a_config_error_naming_the_image() -> None:
    _refused(b"GIF89a\x01\x00\x01\x00", "GIF")


@pytest.mark.parametrize("fmt", sorted(SAMPLES))
def test_every_prefix_of_a_valid_image_reads_or_is_refused(fmt: str) -> None:
    data = SAMPLES[fmt]
    assert check_image(data).mime == f"image/{fmt}"
    for end in range(len(data)):
        outcome = _outcome(read_image, data[:end])
        if isinstance(outcome, ConfigError):
            assert outcome.field == "image"
        else:
            assert outcome.mime == f"image/{fmt}"


@settings(max_examples=400, deadline=None)
@given(
    fmt=st.sampled_from(sorted(SAMPLES)),
    cut=st.integers(0, 400),
    flips=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=6),
    tail=st.binary(max_size=64),
)
def test_damaged_images_only_ever_raise_config_error(
    fmt: str, cut: int, flips: list[tuple[int, int]], tail: bytes
) -> None:
    data = bytearray(SAMPLES[fmt][:cut])
    for at, value in flips:
        if at < len(data):
            data[at] = value
    outcome = _outcome(check_image, bytes(data) + tail)
    if isinstance(outcome, ConfigError):
        assert outcome.field == "image"
    else:
        assert outcome.width > 0
        assert outcome.height > 0


# ---- row 4: the size first, and a header walk bounded by the header ---------------------------


def test_the_size_is_checked_before_the_header_is_read() -> None:
    """A 60 MB JPEG with no frame header is refused for its size, the true reason."""
    _refused(b"\xff\xd8" + bytes(MAX_IMAGE_BYTES + 10_000_000), "above the limit of")


def test_a_jpeg_of_zeros_after_its_start_is_refused_at_the_scan_bound() -> None:
    _refused(b"\xff\xd8" + bytes(24_000_000), f"within its first {JPEG_HEADER_BYTES:,} bytes")


def _app_segments(total: int) -> bytes:
    """APP1 segments (64 KiB each, as EXIF/ICC chunks are) filling ``total`` bytes after SOI."""
    out = bytearray()
    while len(out) + 65537 < total:
        out += b"\xff\xe1\xff\xff" + bytes(65533)
    rest = total - len(out)
    return bytes(out + b"\xff\xe1" + struct.pack(">H", rest - 2) + bytes(rest - 4))


def _sof(width: int, height: int) -> bytes:
    return b"\xff\xc0\x00\x11\x08" + struct.pack(">HH", height, width) + bytes(12)


def test_a_jpeg_frame_header_inside_the_bound_is_found_past_it_refused() -> None:
    inside = b"\xff\xd8" + _app_segments(JPEG_HEADER_BYTES - 100) + _sof(640, 480)
    info = check_image(inside + bytes(1000))
    assert (info.width, info.height) == (640, 480)
    beyond = b"\xff\xd8" + _app_segments(JPEG_HEADER_BYTES + 10) + _sof(640, 480)
    _refused(beyond + bytes(1000), f"within its first {JPEG_HEADER_BYTES:,} bytes")


def test_a_jpeg_of_empty_markers_is_refused_at_the_marker_bound() -> None:
    _refused(b"\xff\xd8" + b"\xff\xd0" * 1_000_000, "markers before its frame header")


def _gif(*blocks: bytes, width: int = 2, height: int = 2) -> bytes:
    return b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0) + b"".join(blocks) + b";"


def _image(data_blocks: bytes) -> bytes:
    return b"\x2c" + struct.pack("<HHHHB", 0, 0, 2, 2, 0) + b"\x02" + data_blocks + b"\x00"


def test_a_gif_of_empty_extension_blocks_is_refused_at_the_block_bound() -> None:
    crafted = _gif(b"\x21\xf9\x00" * 8_000_000)
    _refused(crafted, f"more than {GIF_MAX_BLOCKS:,} blocks")


def test_a_gif_of_tiny_sub_blocks_is_refused_at_the_block_bound() -> None:
    crafted = _gif(_image(b"\x01\x00" * 12_000_000))
    _refused(crafted, f"more than {GIF_MAX_BLOCKS:,} blocks")


def test_a_big_still_gif_is_walked_in_full_255_byte_sub_blocks() -> None:
    """An encoder's sub-blocks are 255 bytes: 80,000 of them (20 MB) are skipped without
    counting one by one against the block bound, and a second image after them is seen."""
    lzw = (b"\xff" + bytes(255)) * 80_000 + b"\x05" + bytes(5)
    still = _gif(_image(lzw))
    assert len(still) > 20_000_000
    assert check_image(still).frames == 1
    _refused(_gif(_image(lzw), _image(b"\x01\x00")), "animated GIF")


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (_gif(), "without an image"),
        (_gif(b"\x21\xf9\x04" + bytes(5)), "without an image"),
        (_gif(b"\x99"), "damaged GIF"),
        (_gif(_image(b"\x05\x00"))[:-3], "truncated"),
    ],
)
def test_damaged_gifs_are_refused_saying_why(data: bytes, fragment: str) -> None:
    _refused(data, fragment)


# ---- row 5: what an image costs in tokens ------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "detail", "tokens"),
    [
        # OpenAI's worked examples (Images and vision, "Calculating costs", gpt-4o family).
        ((1024, 1024), "high", 765),
        ((2048, 4096), "high", 1105),
        ((4096, 8192), "low", 85),
        ((40, 30), "high", 255),
        ((40, 30), "auto", 255),
        ((40, 30), None, 255),
    ],
)
def test_image_tokens_follow_openais_per_detail_formula(
    size: tuple[int, int], detail: str | None, tokens: int
) -> None:
    assert image_tokens(*size, detail) == tokens
