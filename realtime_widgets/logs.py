"""Logging that never carries credentials.

websockets logs handshake headers at DEBUG, ``Authorization`` and ``api-key`` included. Every
websockets connection or server of ours gets :func:`redacting_logger` instead.
"""

from __future__ import annotations

import logging
import re
from typing import Any

__all__ = ["redact", "redacting_logger"]

_SECRET_HEADER = re.compile(r"(?im)^([<>]?\s*(?:authorization|api-key|openai-api-key)\s*:).*$")


def redact(text: str) -> str:
    """Credential header values replaced by ***."""
    return _SECRET_HEADER.sub(r"\1 ***", text)


class _RedactingAdapter(logging.LoggerAdapter):  # type: ignore[type-arg]
    def log(self, level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
        if self.isEnabledFor(level):
            text = (str(msg) % args) if args else str(msg)
            self.logger.log(level, "%s", redact(text), **kwargs)


def redacting_logger(name: str) -> logging.LoggerAdapter:  # type: ignore[type-arg]
    """A logger for websockets' ``logger=`` argument that redacts credential headers."""
    return _RedactingAdapter(logging.getLogger(name), {})
