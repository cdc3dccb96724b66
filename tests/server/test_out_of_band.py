"""An out-of-band response's ``input`` is its whole context: the reply answers those items, not
the conversation's last user turn, and the conversation is left as it was.

OpenAI's ``response.input``: "Input items to include in the prompt for the model. Using this
field creates a new context for this Response instead of using the default conversation. An
empty array ``[]`` will clear the context for this Response."
"""

from __future__ import annotations

from typing import Any

import numpy as np

from realtime_widgets.protocol.images import encode_png, image_data_url
from realtime_widgets.server.reply.usage import estimate_text_tokens
from realtime_widgets.server.responses import DEFAULT_INSTRUCTIONS
from tests.protocol.sdk_oracle import check_server_event

from .conftest import Driver


def _user(text: str, image: str | None = None) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "input_text", "text": text}]
    if image is not None:
        content.append({"type": "input_image", "image_url": image})
    return {"type": "message", "role": "user", "content": content}


def _png(width: int, height: int) -> str:
    return image_data_url(encode_png(np.zeros((height, width, 3), dtype=np.uint8)))[0]


def _reply(driver: Driver, response: dict[str, Any]) -> dict[str, Any]:
    out = driver.send({"type": "response.create", "response": response}) + driver.advance(60)
    for event in out:
        check_server_event(event)
    (done,) = driver.of("response.done", out)
    return dict(done["response"])


def _text(response: dict[str, Any]) -> str:
    return str(response["output"][0]["content"][0]["text"])


def test_the_reply_answers_its_own_input_and_the_conversation_is_unchanged(
    driver: Driver,
) -> None:
    driver.send({"type": "conversation.item.create", "item": _user("Tell me about apples.")})
    before = [dict(item.data) for item in driver.engine.conversation.ordered()]
    response = _reply(
        driver,
        {
            "conversation": "none",
            "output_modalities": ["text"],
            "input": [_user("What about bananas?")],
        },
    )
    text = _text(response)
    assert "What about bananas?" in text
    assert "apples" not in text
    assert response["conversation_id"] is None
    assert [dict(item.data) for item in driver.engine.conversation.ordered()] == before
    # Its usage counts its own context: the instructions and B, not the conversation's A.
    expected = estimate_text_tokens(DEFAULT_INSTRUCTIONS) + estimate_text_tokens(
        "What about bananas?"
    )
    assert response["usage"]["input_token_details"]["text_tokens"] == expected


def test_images_come_from_the_input_not_from_the_last_user_turn(driver: Driver) -> None:
    driver.send(
        {"type": "conversation.item.create", "item": _user("Look at this.", _png(640, 480))}
    )
    own = _text(
        _reply(
            driver,
            {
                "conversation": "none",
                "output_modalities": ["text"],
                "input": [_user("And this one?", _png(32, 16))],
            },
        )
    )
    assert "32x16" in own, own
    assert "640" not in own
    none = _text(
        _reply(
            driver,
            {
                "conversation": "none",
                "output_modalities": ["text"],
                "input": [_user("No picture here.")],
            },
        )
    )
    assert "No picture here." in none
    assert "640" not in none
    assert "image" not in none.lower()


def test_an_empty_input_is_an_empty_context(driver: Driver) -> None:
    driver.send({"type": "conversation.item.create", "item": _user("Tell me about apples.")})
    text = _text(
        _reply(driver, {"conversation": "none", "output_modalities": ["text"], "input": []})
    )
    assert "apples" not in text


def test_a_bad_image_in_the_input_is_an_error_naming_it(driver: Driver) -> None:
    out = driver.send(
        {
            "type": "response.create",
            "event_id": "c5",
            "response": {
                "conversation": "none",
                "input": [_user("x", "data:image/png;base64,AAAA")],
            },
        }
    )
    (error,) = out
    assert error["error"]["param"] == "response.input[0].content[1].image_url"
    assert error["error"]["event_id"] == "c5"
    assert driver.engine.responses.current is None
