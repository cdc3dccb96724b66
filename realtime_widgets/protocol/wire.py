"""SessionConfig <-> the ``session`` object on the wire (GA, and the legacy beta shape).

Everything here is derived from the fields' :class:`~.config.Param` annotations. Two readers:

- lenient (:meth:`SessionConfig.from_session`): a server's report; unknown keys are ignored so a
  newer server does not break an older client;
- strict (:func:`validate_session_payload`): a client's raw payload, judged as OpenAI judges it
  (unknown parameters, missing ``rate``, objects where objects are required, more than 16
  decimals). The local server uses this to answer with OpenAI's errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel

from realtime_widgets.errors import ConfigError, FieldProblem
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.introspect import models_in
from realtime_widgets.protocol.parts import (
    MAX_DECIMALS,
    FunctionTool,
    McpTool,
    WireRequired,
    max_decimals,
)
from realtime_widgets.protocol.rules import locked_fields

if TYPE_CHECKING:  # wire reads a config's PARAMS and SESSION_TYPE; the base never needs wire here
    from realtime_widgets.protocol.configbase import ConfigModel

__all__ = [
    "SERVER_ONLY_KEYS",
    "check_rules",
    "check_transition",
    "decode_session",
    "encode_session",
    "field_for_param",
    "json_type_name",
    "max_decimals",
    "param_path",
    "session_update",
    "validate_session_payload",
]

Dialect = Literal["ga", "beta"]
C = TypeVar("C", bound="ConfigModel")

# Keys a server reports in a session object that are not configuration.
SERVER_ONLY_KEYS = frozenset({"id", "object", "expires_at", "client_secret", "type"})
# The GA session types (SessionConfig's and TranscriptionConfig's SESSION_TYPE).
_SESSION_TYPES = ("realtime", "transcription")


# ---- encoding -------------------------------------------------------------------------------


def _wire_value(value: Any) -> Any:
    """A field value as JSON data: models dumped with their unset (None) members omitted."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, list):
        return [_wire_value(v) for v in value]
    return value


def _set(target: dict[str, Any], path: str, value: Any) -> None:
    *containers, last = path.split(".")
    for key in containers:
        target = target.setdefault(key, {})
    target[last] = value


def param_path(
    field: str, dialect: Dialect = "ga", cls: type[ConfigModel] = SessionConfig
) -> str | None:
    """The server's ``error.param`` for one of our dotted field paths, e.g.
    ``turn_detection.threshold`` -> ``session.audio.input.turn_detection.threshold``."""
    head, dot, rest = field.partition(".")
    bracket = head.find("[")
    index = ""
    if bracket >= 0:
        head, index = head[:bracket], head[bracket:]
    param = cls.PARAMS.get(head)
    path = None if param is None else (param.ga if dialect == "ga" else param.beta)
    if path is None:
        return None
    return f"session.{path}{index}{dot}{rest}"


def field_for_param(param: str | None, cls: type[ConfigModel] = SessionConfig) -> str | None:
    """Our dotted field path for a server's ``error.param``, e.g.
    ``session.audio.input.turn_detection.threshold`` -> ``turn_detection.threshold``."""
    if not param or not param.startswith("session."):
        return None
    rest = param.removeprefix("session.")
    best: tuple[int, str] | None = None
    for name, p in cls.PARAMS.items():
        if p.ga is None:
            continue
        matches = rest == p.ga or rest.startswith((p.ga + ".", p.ga + "["))
        if matches and (best is None or len(p.ga) > best[0]):
            best = (len(p.ga), name + rest[len(p.ga) :])
    return best[1] if best else None


def encode_session(
    config: ConfigModel, names: Iterable[str], dialect: Dialect = "ga"
) -> dict[str, Any]:
    """The ``session`` object holding the named fields (fields absent from the dialect skipped)."""
    cls = type(config)
    session: dict[str, Any] = {"type": cls.SESSION_TYPE} if dialect == "ga" else {}
    for name in names:
        param = cls.PARAMS[name]
        path = param.ga if dialect == "ga" else param.beta
        if path is None:
            continue
        value = _wire_value(getattr(config, name))
        if dialect == "beta" and param.to_beta is not None and value is not None:
            value = param.to_beta(value)
        _set(session, path, value)
    return session


# ---- the rules a server enforces that the field types do not ----------------------------------


def check_rules(config: SessionConfig, dialect: Dialect = "ga") -> None:
    """Raise :class:`ConfigError` for a config the server would reject as a whole."""
    problems: list[FieldProblem] = []
    if dialect == "ga" and config.temperature is not None:
        problems.append(
            FieldProblem(
                "temperature",
                "temperature exists only in the beta dialect: the GA Realtime API has no "
                "temperature and rejects the whole session.update "
                "(\"Unknown parameter: 'session.temperature'.\"). Set temperature=None, or "
                "connect with dialect='beta' to an old server.",
                "unknown_parameter",
                param="session.temperature",
                allowed="None under GA",
                value=config.temperature,
            )
        )
    choice = config.tool_choice
    functions = [t.name for t in config.tools if isinstance(t, FunctionTool)]
    servers = [t.server_label for t in config.tools if isinstance(t, McpTool)]
    if not isinstance(choice, str) and choice.type == "function" and choice.name not in functions:
        allowed = ", ".join(functions) or "(no function tools)"
        problems.append(
            FieldProblem(
                "tool_choice.name",
                f"tool_choice.name must name one of the session's function tools ({allowed}), "
                f"got {choice.name!r}",
                param="session.tool_choice.name",
                allowed=allowed,
                value=choice.name,
            )
        )
    if not isinstance(choice, str) and choice.type == "mcp" and choice.server_label not in servers:
        allowed = ", ".join(servers) or "(no MCP tools)"
        problems.append(
            FieldProblem(
                "tool_choice.server_label",
                "tool_choice.server_label must name one of the session's MCP tools "
                f"({allowed}), got {choice.server_label!r}",
                param="session.tool_choice.server_label",
                allowed=allowed,
                value=choice.server_label,
            )
        )
    if problems:
        raise ConfigError(problems)


def check_transition(
    previous: SessionConfig,
    config: SessionConfig,
    *,
    assistant_has_spoken: bool = False,
    dialect: Dialect = "ga",
) -> None:
    """Raise for a change a live session refuses: every changed field that
    :func:`~.rules.locked_fields` locks for the live session at ``previous`` (the model,
    tracing once on, the voice after assistant audio, a field the dialect lacks)."""
    locks = locked_fields(
        previous, live=True, assistant_has_spoken=assistant_has_spoken, dialect=dialect
    )
    problems = [
        FieldProblem(
            name,
            locks[name],
            _LOCK_CODES.get(SessionConfig.PARAMS[name].mutable, "invalid_value"),
            param=param_path(name, dialect),
            value=getattr(config, name),
        )
        for name in config.diff(previous)
        if name in locks
    ]
    if problems:
        raise ConfigError(problems)


# OpenAI's error code for a refused change, by the field's rule (voice: seen live).
_LOCK_CODES = {"until_assistant_audio": "cannot_update_voice"}


def session_update(
    config: ConfigModel,
    previous: ConfigModel | None,
    *,
    event_id: str | None = None,
    dialect: Dialect = "ga",
    assistant_has_spoken: bool = False,
) -> dict[str, Any]:
    """See :meth:`SessionConfig.to_session_update` (and the transcription config's twin:
    its fields have no rules across fields and none is locked mid-session)."""
    cls = type(config)
    if isinstance(config, SessionConfig):
        check_rules(config, dialect)
    if previous is None:
        names = [n for n in cls.model_fields if n in config.model_fields_set]
    else:
        if not isinstance(previous, cls):
            raise ConfigError.single(
                "(session.type)",
                f"session.type cannot change during a session (it is "
                f"{type(previous).SESSION_TYPE!r}, got {cls.SESSION_TYPE!r})",
                param="session.type",
            )
        if isinstance(config, SessionConfig) and isinstance(previous, SessionConfig):
            check_transition(
                previous, config, assistant_has_spoken=assistant_has_spoken, dialect=dialect
            )
        names = config.diff(previous)
    if dialect == "beta":
        absent = [n for n in names if cls.PARAMS[n].beta is None]
        if absent:
            raise ConfigError(
                [
                    FieldProblem(n, f"{n} exists only in the GA dialect, not in beta", value=None)
                    for n in absent
                ]
            )
    event: dict[str, Any] = {"type": "session.update"}
    if event_id is not None:
        event["event_id"] = event_id
    event["session"] = encode_session(config, names, dialect)
    return event


# ---- decoding -------------------------------------------------------------------------------


def _get(session: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    node: Any = session
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return False, None
        node = node[key]
    return True, node


def _guess_dialect(session: Mapping[str, Any]) -> Dialect:
    if session.get("type") == "realtime" or "audio" in session or "output_modalities" in session:
        return "ga"
    beta_keys = {"modalities", "input_audio_format", "voice", "max_response_output_tokens"}
    return "beta" if beta_keys & set(session) else "ga"


def decode_session(
    cls: type[C],
    session: Mapping[str, Any],
    *,
    dialect: Dialect | None = None,
    strict: bool = False,
) -> C:
    """Parse a ``session`` object; see :meth:`SessionConfig.from_session` and
    :func:`validate_session_payload`."""
    if not isinstance(session, Mapping):
        raise ConfigError.single(
            "(session)",
            f"session must be an object, got {type(session).__name__}",
            code="invalid_type",
            param="session",
        )
    dialect = dialect or _guess_dialect(session)
    values: dict[str, Any] = {}
    for name, param in cls.PARAMS.items():
        path = param.ga if dialect == "ga" else param.beta
        if path is None:
            continue
        found, raw = _get(session, path)
        if not found:
            continue
        if dialect == "beta" and param.from_beta is not None and raw is not None:
            raw = param.from_beta(raw)
        values[name] = raw
    try:
        if strict:
            return cls.model_validate(values, context={"wire": "strict"})
        return cls.model_validate(values, extra="ignore")
    except ConfigError as exc:
        raise exc.with_params(lambda f: param_path(f, dialect, cls)) from None


def _payload_problems(session: Mapping[str, Any], cls: type[ConfigModel]) -> list[FieldProblem]:
    """What OpenAI rejects before looking at values: unknown keys, containers that are not
    objects, required keys missing, floats with more than 16 decimals."""
    problems: list[FieldProblem] = []
    tree: dict[str, Any] = {}
    for name, param in cls.PARAMS.items():
        if param.ga is not None:
            _set(tree, param.ga, name)
    problems.extend(_walk_containers(session, tree, "session", cls))
    _walk_decimals(session, "session", problems)
    return problems


def _walk_containers(
    node: Mapping[str, Any], tree: dict[str, Any], where: str, cls: type[ConfigModel]
) -> list[FieldProblem]:
    found: list[FieldProblem] = []
    for key, value in node.items():
        here = f"{where}.{key}"
        if where == "session" and key == "type":
            if value != cls.SESSION_TYPE:
                found.append(_session_type_problem(value, cls.SESSION_TYPE, here))
            continue
        if key not in tree:
            found.append(
                FieldProblem(
                    here.removeprefix("session."),
                    f"Unknown parameter: '{here}'.",
                    "unknown_parameter",
                    param=here,
                )
            )
            continue
        sub = tree[key]
        if isinstance(sub, dict):
            if not isinstance(value, Mapping):
                found.append(
                    FieldProblem(
                        here.removeprefix("session."),
                        f"Invalid type for '{here}': expected an object, but got "
                        f"{json_type_name(value)} instead.",
                        "invalid_type",
                        param=here,
                        value=value,
                    )
                )
            else:
                found.extend(_walk_containers(value, sub, here, cls))
        else:
            found.extend(_missing_required(cls, sub, value, here))
    return found


def _session_type_problem(value: Any, current: str, param: str) -> FieldProblem:
    """``session.type`` other than the session's own. A session's type is fixed when it is
    created; asking for the other one gets OpenAI's words (seen live, code
    ``invalid_parameter``), an unknown one the list of types."""
    if value in _SESSION_TYPES:
        return FieldProblem(
            "(session.type)",
            f"Passing a {value} session update event to a {current} session is not allowed.",
            "invalid_parameter",
            param=param,
            value=value,
        )
    return FieldProblem(
        "(session.type)",
        f"Invalid value: {value!r}. Supported values are: 'realtime' and 'transcription'.",
        param=param,
        value=value,
    )


def _missing_required(
    cls: type[ConfigModel], field: str, value: Any, where: str
) -> list[FieldProblem]:
    """Keys marked :class:`WireRequired` that a raw object leaves out."""
    annotation = cls.model_fields[field].annotation
    return _missing_in(models_in(annotation), value, where, field)


def _missing_in(
    models: list[type[BaseModel]], value: Any, where: str, field: str
) -> list[FieldProblem]:
    if isinstance(value, list):
        found: list[FieldProblem] = []
        for i, item in enumerate(value):
            found.extend(_missing_in(models, item, f"{where}[{i}]", f"{field}[{i}]"))
        return found
    if not isinstance(value, Mapping) or not models:
        return []
    tag = value.get("type")
    tagged = len(models) > 1 and all("type" in m.model_fields for m in models)
    if tagged and tag is None:
        return [
            FieldProblem(
                f"{field}.type",
                f"Missing required parameter: '{where}.type'.",
                "missing_required_parameter",
                param=f"{where}.type",
            )
        ]
    chosen = [
        m for m in models if "type" in m.model_fields and m.model_fields["type"].default == tag
    ] or ([models[0]] if len(models) == 1 else [])
    if not chosen:
        return []
    model = chosen[0]
    found = []
    for name, info in model.model_fields.items():
        if name not in value:
            if any(isinstance(m, WireRequired) for m in info.metadata):
                found.append(
                    FieldProblem(
                        f"{field}.{name}",
                        f"Missing required parameter: '{where}.{name}'.",
                        "missing_required_parameter",
                        param=f"{where}.{name}",
                    )
                )
        else:
            inner = models_in(info.annotation)
            found.extend(_missing_in(inner, value[name], f"{where}.{name}", f"{field}.{name}"))
    return found


def _walk_decimals(value: Any, where: str, problems: list[FieldProblem]) -> None:
    if isinstance(value, float) and max_decimals(value) > MAX_DECIMALS:
        problems.append(
            FieldProblem(
                where.removeprefix("session."),
                f"Invalid '{where}': number {value!r} has more than {MAX_DECIMALS} decimal places.",
                "invalid_value",
                param=where,
                value=value,
            )
        )
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            _walk_decimals(inner, f"{where}.{key}", problems)
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            _walk_decimals(inner, f"{where}[{i}]", problems)


def json_type_name(value: Any) -> str:
    """How OpenAI's errors name a JSON value's type: 'a string', 'an object', 'null', ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def validate_session_payload(session: Mapping[str, Any], cls: type[C] = SessionConfig) -> C:  # type: ignore[assignment]
    """Judge a client's raw GA ``session`` object as OpenAI does; return the values it sets.

    ``cls`` is the config of the session's type: :class:`SessionConfig` (``realtime``) or
    :class:`~.transcription.TranscriptionConfig`.

    The returned config holds exactly the fields present in the payload (its
    ``model_fields_set``), ready to be merged into a session's effective config; rules that
    span fields (a forced tool must exist) are checked on the merged config with
    :func:`check_rules`. Raises :class:`ConfigError` whose problems carry OpenAI's ``code``
    and ``param``.
    """
    if not isinstance(session, Mapping):
        raise ConfigError.single(
            "(session)",
            f"Invalid type for 'session': expected an object, but got {json_type_name(session)} "
            "instead.",
            code="invalid_type",
            param="session",
        )
    problems = _payload_problems(session, cls)
    if problems:
        raise ConfigError(problems)
    return decode_session(cls, session, dialect="ga", strict=True)
