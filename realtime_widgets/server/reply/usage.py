"""The local usage rule, in one place: how many tokens text, audio and a response count.

The local server is no model and has no tokenizer; it counts as OpenAI's usage is shaped, by a
stated rule: text about four characters a token (the project's one estimate,
:func:`~realtime_widgets.protocol.textbudget.estimate_text_tokens`, re-exported here); user
audio 10 tokens a second, assistant audio 20 tokens a second; images by OpenAI's per-detail
formula
(:func:`~realtime_widgets.protocol.images.image_tokens`). The README and the metrics widget
call the counts an estimate; the wire does not (OpenAI's usage has no such key).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from realtime_widgets.audio.rate import MODEL_RATE
from realtime_widgets.protocol.textbudget import estimate_text_tokens

__all__ = [
    "AUDIO_TOKENS_PER_SECOND_IN",
    "AUDIO_TOKENS_PER_SECOND_OUT",
    "ContextTokens",
    "audio_tokens_for_ms",
    "audio_tokens_for_samples",
    "estimate_text_tokens",
    "item_text_tokens",
    "response_usage",
]

AUDIO_TOKENS_PER_SECOND_IN = 10
AUDIO_TOKENS_PER_SECOND_OUT = 20


def item_text_tokens(item: dict[str, Any]) -> int:
    """A conversation item's text tokens (a local estimate), both servers' rule: its
    ``arguments`` or ``output``, and each content part's ``text`` or ``transcript``."""
    tokens = estimate_text_tokens(str(item.get("arguments") or item.get("output") or ""))
    for part in item.get("content") or []:
        tokens += estimate_text_tokens(str(part.get("text") or part.get("transcript") or ""))
    return tokens


def audio_tokens_for_samples(samples: int, per_second: int) -> int:
    """Tokens of ``samples`` of model audio at ``per_second`` tokens a second (rounded up)."""
    return math.ceil(samples / MODEL_RATE * per_second)


def audio_tokens_for_ms(ms: float, per_second: int) -> int:
    """Tokens of ``ms`` milliseconds of audio at ``per_second`` tokens a second (rounded up)."""
    return math.ceil(ms / 1000 * per_second)


@dataclass(frozen=True)
class ContextTokens:
    """A response's input: the (text, audio, image) tokens of its instructions and context."""

    text: int = 0
    audio: int = 0
    image: int = 0

    @property
    def total(self) -> int:
        return self.text + self.audio + self.image


def response_usage(context: ContextTokens, out_text: int, out_audio: int) -> dict[str, Any]:
    """``response.usage`` as OpenAI shapes it."""
    return {
        "total_tokens": context.total + out_text + out_audio,
        "input_tokens": context.total,
        "output_tokens": out_text + out_audio,
        "input_token_details": {
            "text_tokens": context.text,
            "audio_tokens": context.audio,
            "cached_tokens": 0,
            "image_tokens": context.image,
        },
        "output_token_details": {"text_tokens": out_text, "audio_tokens": out_audio},
    }
