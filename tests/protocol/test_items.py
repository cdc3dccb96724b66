"""Conversation editing, out-of-band responses, MCP approval and images: every client event the
builders make validates strictly against the official SDK; bad input names the field."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest

from realtime_widgets import ConfigError
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol import items
from realtime_widgets.protocol.images import (
    encode_png,
    image_data_url,
    parse_data_url,
    read_image,
)

from .sdk_oracle import check_client_event

PIXELS = np.random.default_rng(7).random((30, 40, 3))


def _check(event: dict) -> None:
    parsed = check_client_event(event)
    assert parsed.type == event["type"]  # type: ignore[attr-defined]
    assert ev.parse_client_event(event).type == event["type"]


def _png_pixels(url: str) -> np.ndarray:
    from PIL import Image

    mime, data = parse_data_url(url)
    assert mime == "image/png"
    return np.asarray(Image.open(io.BytesIO(data)))


# ---- items of every kind, at a position ---------------------------------------------------------


@pytest.mark.parametrize(
    "item",
    [
        items.user_text("Hello"),
        items.system_text("Answer in German."),
        items.assistant_text("Sure."),
        items.user_audio(b"\x00\x01" * 2400, transcript="hi"),
        items.user_image(PIXELS, detail="low", text="What is this?"),
        items.function_call_output("call_1", '{"ok": true}'),
        items.FunctionCallItem(name="lookup", arguments='{"q": 1}', call_id="call_2"),
        items.mcp_approval_response("mcpr_1", approve=False, reason="not now"),
        items.McpApprovalRequestItem(
            id="mcpr_2", server_label="docs", name="search", arguments="{}"
        ),
        items.McpCallItem(
            id="mcp_1",
            server_label="docs",
            name="search",
            arguments="{}",
            error={"type": "http_error", "code": 502, "message": "bad gateway"},
        ),
        items.McpListToolsItem(
            server_label="docs", tools=[{"name": "search", "input_schema": {"type": "object"}}]
        ),
    ],
    ids=lambda it: f"{it.type}:{getattr(it, 'role', '')}",
)
def test_every_item_kind_validates_against_the_sdk(item: items.ClientItem) -> None:
    for previous in (None, "root", "item_3"):
        event = items.create_item(item, previous_item_id=previous, event_id="e1")
        _check(event)
        assert event.get("previous_item_id") == previous
        assert event["item"]["type"] == item.type


def test_items_from_plain_dicts_are_checked_and_name_the_field() -> None:
    event = items.create_item(
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
    )
    assert event["item"]["content"] == [{"type": "input_text", "text": "hi"}]
    with pytest.raises(ConfigError) as caught:
        items.create_item({"type": "message", "role": "user", "content": [{"type": "output_text"}]})
    assert caught.value.field.startswith("item.content[0]")
    with pytest.raises(ConfigError) as caught:
        items.create_item({"type": "reasoning"})
    assert caught.value.field == "item.type"
    assert "function_call_output" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        items.create_item({"type": "function_call_output", "call_id": "c", "output": 3})
    assert caught.value.field == "item.output"


def test_retrieve_delete_truncate() -> None:
    for event in (
        items.retrieve_item("item_1"),
        items.delete_item("item_1", event_id="e2"),
        items.truncate_item("item_1", 1500),
        items.truncate_item("item_1", 0, content_index=1),
    ):
        _check(event)
    assert items.truncate_item("item_9", 1200) == {
        "type": "conversation.item.truncate",
        "item_id": "item_9",
        "content_index": 0,
        "audio_end_ms": 1200,
    }
    with pytest.raises(ConfigError) as caught:
        items.truncate_item("item_1", -5)
    assert caught.value.field == "audio_end_ms"


# ---- responses ------------------------------------------------------------------------------------


def test_out_of_band_response_with_metadata_and_its_own_input() -> None:
    event = items.create_response(
        conversation="none",
        metadata={"purpose": "summary"},
        input=[
            items.user_text("Summarise the call."),
            {"type": "function_call_output", "call_id": "c1", "output": "42"},
        ],
        instructions="One sentence.",
        output_modalities=["text"],
    )
    _check(event)
    response = event["response"]
    assert response["conversation"] == "none"
    assert response["metadata"] == {"purpose": "summary"}
    assert [i["type"] for i in response["input"]] == ["message", "function_call_output"]
    assert response["output_modalities"] == ["text"]


def test_per_response_overrides_validate_and_bad_ones_name_the_field() -> None:
    event = items.create_response(
        tools=[{"type": "function", "name": "lookup"}],
        tool_choice={"type": "function", "name": "lookup"},
        max_output_tokens=200,
        audio={"output": {"voice": "marin", "format": {"type": "audio/pcmu"}}},
        reasoning={"effort": "low"},
    )
    _check(event)
    assert items.create_response() == {"type": "response.create"}
    with pytest.raises(ConfigError) as caught:
        items.create_response(temperature=0.8)
    assert caught.value.field == "response.temperature"
    with pytest.raises(ConfigError) as caught:
        items.create_response(max_output_tokens=5000)
    assert caught.value.field == "response.max_output_tokens"
    assert "4096" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        items.create_response(metadata={f"k{i}": "v" for i in range(17)})
    assert caught.value.field == "response.metadata"
    assert "16" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        items.create_response(conversation="elsewhere")  # type: ignore[arg-type]
    assert caught.value.field == "response.conversation"


def test_mcp_approval_is_one_item_create_with_an_id() -> None:
    event = items.approve_mcp("mcpr_7", approve=True, previous_item_id="mcpr_7")
    _check(event)
    item = event["item"]
    assert item["type"] == "mcp_approval_response"
    assert item["approval_request_id"] == "mcpr_7"
    assert item["approve"] is True
    assert item["id"].startswith("item_")
    assert len(item["id"]) <= 32
    assert items.approve_mcp("mcpr_7")["item"]["id"] != item["id"]
    with pytest.raises(ConfigError) as caught:
        items.mcp_approval_response("mcpr_7", approve="yes")  # type: ignore[arg-type]
    assert caught.value.field == "item.approve"


# ---- images ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pixels", "shape"),
    [
        (PIXELS, (30, 40, 3)),
        ((PIXELS * 255).astype(np.uint8)[:, :, 0], (30, 40)),
        (np.dstack([PIXELS, np.ones((30, 40))]), (30, 40, 4)),
        (PIXELS[:, :, 0] > 0.5, (30, 40)),
    ],
)
def test_numpy_arrays_become_lossless_pngs(pixels: np.ndarray, shape: tuple[int, ...]) -> None:
    url, info = image_data_url(pixels)
    assert (info.mime, info.width, info.height) == ("image/png", 40, 30)
    decoded = _png_pixels(url)
    assert decoded.shape == shape
    expected = np.asarray(pixels)
    if expected.dtype == np.bool_:
        expected = expected.astype(np.uint8) * 255
    elif expected.dtype != np.uint8:
        expected = np.round(expected * 255).astype(np.uint8)
    assert np.array_equal(decoded, expected)


def test_pil_image_matplotlib_figure_path_and_bytes(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    image = Image.fromarray((PIXELS * 255).astype(np.uint8))
    url, info = image_data_url(image)
    assert np.array_equal(_png_pixels(url), np.asarray(image))
    figure, axes = plt.subplots(figsize=(2, 1), dpi=50)
    axes.plot([0, 1], [1, 0])
    url, info = image_data_url(figure)
    plt.close(figure)
    assert info.mime == "image/png"
    drawn = _png_pixels(url)
    assert drawn.shape[:2] == (info.height, info.width)
    assert 80 <= info.width <= 130
    assert 40 <= info.height <= 80
    assert (drawn[:, :, :3] < 128).any()
    assert (drawn[:, :, :3] > 200).any()
    jpeg = io.BytesIO()
    image.save(jpeg, format="JPEG")
    path = tmp_path / "photo.jpg"
    path.write_bytes(jpeg.getvalue())
    for source in (path, str(path), jpeg.getvalue()):
        url, info = image_data_url(source)
        assert url.startswith("data:image/jpeg;base64,")
        assert (info.width, info.height, info.size) == (40, 30, len(jpeg.getvalue()))
        assert base64.b64decode(url.partition(",")[2]) == jpeg.getvalue()


@pytest.mark.parametrize("fmt", ["WEBP", "GIF"])
def test_webp_and_gif_headers_are_read(fmt: str) -> None:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray((PIXELS * 255).astype(np.uint8)).save(buffer, format=fmt)
    info = read_image(buffer.getvalue())
    assert (info.mime, info.width, info.height, info.frames) == (f"image/{fmt.lower()}", 40, 30, 1)


def test_image_errors_name_the_image_and_the_limits(tmp_path: Path) -> None:
    from PIL import Image

    frames = [Image.fromarray((PIXELS * 255).astype(np.uint8)), Image.new("RGB", (40, 30))]
    animated = io.BytesIO()
    frames[0].save(animated, format="GIF", save_all=True, append_images=frames[1:])
    cases = [
        (np.zeros((4, 4, 2)), "H x W x 3"),
        (b"%PDF-1.7 not an image", "not a PNG, JPEG, WEBP or GIF"),
        (animated.getvalue(), "animated GIF (2 or more frames)"),
        (tmp_path / "missing.png", "no such file"),
        (np.full((2, 2), 300), "0..255"),
        (np.array([[np.nan]]), "NaN"),
        (object(), "pass a matplotlib figure"),
    ]
    for source, fragment in cases:
        with pytest.raises(ConfigError) as caught:
            image_data_url(source)
        assert caught.value.field == "image"
        assert fragment in str(caught.value)
    big = encode_png(np.random.default_rng(1).random((200, 200, 3)))
    with pytest.raises(ConfigError, match="above the limit of 1,000 bytes"):
        image_data_url(big, max_bytes=1000)
    with pytest.raises(ConfigError) as caught:
        items.user_image(b"GIF89a")
    assert caught.value.field == "image"


def test_user_image_item_carries_the_data_url_and_detail() -> None:
    item = items.user_image(PIXELS, detail="high")
    part = item.content[0]
    assert isinstance(part, items.InputImagePart)
    assert part.detail == "high"
    assert np.array_equal(_png_pixels(part.image_url), np.round(PIXELS * 255).astype(np.uint8))
