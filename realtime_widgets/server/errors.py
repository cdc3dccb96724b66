"""What an ``error`` event says, in OpenAI's words (codes, params and message templates seen
from the live API, ../shared/PROTOCOL.md §5), built from our :class:`FieldProblem`s and
client-event checks. :class:`~.emitter.Emitter` writes the event around it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from realtime_widgets.errors import ConfigError, FieldProblem
from realtime_widgets.protocol.client_events import client_event_problem
from realtime_widgets.protocol.wire import json_type_name

__all__ = [
    "UNPARSABLE_JSON",
    "client_event_error",
    "config_error",
    "error_detail",
    "problem_error",
    "transition_error",
]

# OpenAI's words for a request body that is not JSON (its REST API's, seen live; the Realtime
# API documents none of its own). The local server adds what it found after them.
UNPARSABLE_JSON = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
    "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
    "sent was not valid JSON.)"
)


def error_detail(
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
    client_event_id: str | None = None,
    type_: str = "invalid_request_error",
) -> dict[str, Any]:
    """The ``error`` of an ``error`` server event (:meth:`~.emitter.Emitter.error_from` writes
    the event around it)."""
    return {
        "type": type_,
        "code": code,
        "message": message,
        "param": param,
        "event_id": client_event_id,
    }


def _openai_message(problem: FieldProblem) -> str:
    param = problem.param or f"session.{problem.field}"
    if problem.message.startswith(
        (
            "Unknown parameter",
            "Missing required",
            "Invalid type for",
            "Invalid modalities",
            "Invalid '",
        )
    ):
        return problem.message
    if problem.code in ("decimal_above_max_value", "integer_above_max_value"):
        kind = "decimal" if problem.code.startswith("decimal") else "integer"
        return (
            f"Invalid '{param}': {kind} above maximum value. Expected a value <= "
            f"{problem.limit}, but got {problem.value} instead."
        )
    if problem.code in ("decimal_below_min_value", "integer_below_min_value"):
        kind = "decimal" if problem.code.startswith("decimal") else "integer"
        return (
            f"Invalid '{param}': {kind} below minimum value. Expected a value >= "
            f"{problem.limit}, but got {problem.value} instead."
        )
    if problem.code == "invalid_parameter":  # OpenAI's whole sentence (session.type)
        return problem.message
    if problem.code == "unknown_parameter":
        return f"Unknown parameter: '{param}'."
    if problem.code == "missing_required_parameter":
        return f"Missing required parameter: '{param}'."
    if problem.code == "invalid_type":
        got = json_type_name(problem.value)
        return f"Invalid type for '{param}': expected {problem.allowed}, but got {got} instead."
    if "Invalid value:" in problem.message:
        return problem.message[problem.message.index("Invalid value:") :]
    return f"Invalid value for '{param}': {problem.message}"


def config_error(exc: ConfigError, client_event_id: str | None) -> dict[str, Any]:
    """The error for a rejected session.update (the first problem, as OpenAI reports)."""
    first = exc.problems[0]
    param = first.param or f"session.{first.field}"
    return error_detail(
        _openai_message(first), code=first.code, param=param, client_event_id=client_event_id
    )


# OpenAI's words for a change a live session refuses, by field (voice: seen live).
_TRANSITION_MESSAGES = {
    "voice": "Cannot update a conversation's voice if assistant audio is present.",
    "tracing": "Tracing cannot be modified once it has been enabled for a session.",
    "model": "The model of a session cannot be changed.",
}


def transition_error(exc: ConfigError, client_event_id: str | None) -> dict[str, Any]:
    """The error for a session.update that tries to change what a live session keeps."""
    first = exc.problems[0]
    message = _TRANSITION_MESSAGES.get(first.field, first.message)
    return error_detail(
        message, code=first.code, param=first.param, client_event_id=client_event_id
    )


def client_event_error(exc: ValidationError, raw: dict[str, Any]) -> dict[str, Any]:
    """The error for a malformed client event (missing field, wrong type, unknown key,
    a bad item or response parameter), in OpenAI's words with the param path."""
    return problem_error(client_event_problem(exc, raw), raw)


def problem_error(problem: FieldProblem, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The error for a malformed client event ``raw`` of any kind's union, from its first
    ``problem`` (the union's own words), naming the event by its ``event_id`` when it has one."""
    client_id = raw.get("event_id") if isinstance(raw.get("event_id"), str) else None
    return error_detail(
        problem.message, code=problem.code, param=problem.param, client_event_id=client_id
    )
