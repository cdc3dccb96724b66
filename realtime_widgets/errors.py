"""The one exception hierarchy of realtime_widgets.

Every error the toolkit raises on purpose derives from :class:`RealtimeWidgetsError`. This module
imports nothing of ours, so every layer (protocol, audio, client, server, widgets) may use it.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace


class RealtimeWidgetsError(Exception):
    """Base class of every error raised by realtime_widgets."""


@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong with one field of a session configuration.

    ``field`` is our dotted path (``turn_detection.threshold``), ``param`` the GA wire path the
    server would name (``session.audio.input.turn_detection.threshold``) when there is one,
    ``code`` OpenAI's error code for the same mistake, and ``allowed`` a short statement of the
    values that would be accepted.
    """

    field: str
    message: str
    code: str = "invalid_value"
    param: str | None = None
    allowed: str | None = None
    value: object = None
    limit: object = None


class ConfigError(RealtimeWidgetsError, ValueError):
    """A session configuration that cannot be sent: names the field and the allowed values.

    ``problems`` lists every problem found; ``field`` / ``param`` / ``code`` describe the first.
    """

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        if not problems:
            raise ValueError("ConfigError needs at least one problem")
        self.problems: tuple[FieldProblem, ...] = tuple(problems)
        super().__init__("\n".join(p.message for p in self.problems))

    @property
    def field(self) -> str:
        return self.problems[0].field

    @property
    def param(self) -> str | None:
        return self.problems[0].param

    @property
    def code(self) -> str:
        return self.problems[0].code

    @classmethod
    def single(
        cls,
        field: str,
        message: str,
        *,
        code: str = "invalid_value",
        param: str | None = None,
        allowed: str | None = None,
        value: object = None,
    ) -> ConfigError:
        return cls([FieldProblem(field, message, code, param, allowed, value)])

    def with_params(self, param_of: Callable[[str], str | None]) -> ConfigError:
        """The same problems with ``param`` (the wire path) filled in from our field paths."""
        return ConfigError(
            [p if p.param else replace(p, param=param_of(p.field)) for p in self.problems]
        )


class ConfigNote(UserWarning):
    """A value was accepted in another spelling and changed to what GA means by it (shown as a
    warning, so the change is never silent): the message names the field, what was given and
    what will be sent."""


def note(message: str, category: type[Warning] = ConfigNote) -> None:
    """Warn a :class:`ConfigNote` (or ``category``) at the user's line: the first frame outside
    this package and pydantic (whose validators call us), so Jupyter shows it under the cell
    that caused it (a ``DeprecationWarning`` too: Python shows those when ``__main__``, a
    notebook cell or a script, is the line they are attributed to)."""
    ours = os.path.dirname(__file__)
    level, frame = 1, sys._getframe(1)
    while frame is not None and (
        frame.f_code.co_filename.startswith(ours) or "pydantic" in frame.f_code.co_filename
    ):
        level, frame = level + 1, frame.f_back  # type: ignore[assignment]
    warnings.warn(message, category, stacklevel=level + 1)


class ProtocolError(RealtimeWidgetsError):
    """A message that does not follow the Realtime protocol (bad JSON, missing ``type``, ...)."""


class AudioFormatError(RealtimeWidgetsError, ValueError):
    """Audio data or a file that cannot be read or converted (names what was expected)."""


@dataclass
class ServerError(RealtimeWidgetsError):
    """An ``error`` event returned by a Realtime server, raised where a caller awaited a reply."""

    message: str
    type: str = "invalid_request_error"
    code: str | None = None
    param: str | None = None
    event_id: str | None = None
    details: dict[str, object] = field(default_factory=dict)
    config_field: str | None = None  # our SessionConfig path for ``param``, if there is one

    def __str__(self) -> str:
        where = f" (param {self.param})" if self.param else ""
        code = f" [{self.code}]" if self.code else ""
        return f"{self.message}{code}{where}"
