"""Any session config <-> the ``session`` object on the wire (GA, and the legacy beta shape).

Written against :class:`~.configbase.ConfigModel` only: everything here is derived from the
fields' :class:`~.configbase.Param` annotations and the config's hooks (``check_rules``,
``check_transition``), so a new session config needs nothing here. The configs above
(:class:`~.config.SessionConfig`, :class:`~.transcription_config.TranscriptionConfig`) call it
from their ``to_session`` / ``from_session`` / ``to_session_update``. Two readers:

- lenient (:func:`decode_session`, e.g. :meth:`SessionConfig.from_session`): a server's report;
  unknown keys are ignored so a newer server does not break an older client;
- strict (:func:`validate_session_payload`): a client's raw payload, judged as OpenAI judges it
  (unknown parameters, missing ``rate``, objects where objects are required, more than 16
  decimals). The local server uses this to answer with OpenAI's errors.

Where ``cls`` is optional it defaults to the realtime session's config
(``config_class("realtime")``, i.e. SessionConfig).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Self, TypeVar

from pydantic import BaseModel

from realtime_widgets.errors import ConfigError, FieldProblem
from realtime_widgets.protocol.configbase import ConfigModel, Dialect, config_class, plain
from realtime_widgets.protocol.introspect import models_in, union_members
from realtime_widgets.protocol.parts import MAX_DECIMALS, WireRequired, max_decimals

__all__ = [
    "SERVER_ONLY_KEYS",
    "WireConfig",
    "check_rules",
    "check_transition",
    "decode_session",
    "encode_session",
    "field_for_param",
    "json_type_name",
    "max_decimals",
    "param_path",
    "require_session_object",
    "session_update",
    "validate_session_payload",
]

C = TypeVar("C", bound=ConfigModel)

# Keys a server reports in a session object that are not configuration.
SERVER_ONLY_KEYS = frozenset({"id", "object", "expires_at", "client_secret", "type"})
# The GA session types (SessionConfig's and TranscriptionConfig's SESSION_TYPE).
_SESSION_TYPES = ("realtime", "transcription")


# ---- encoding -------------------------------------------------------------------------------


def _set(target: dict[str, Any], path: str, value: Any) -> None:
    *containers, last = path.split(".")
    for key in containers:
        target = target.setdefault(key, {})
    target[last] = value


def _realtime(cls: type[ConfigModel] | None) -> type[ConfigModel]:
    return config_class("realtime") if cls is None else cls


def param_path(
    field: str, dialect: Dialect = "ga", cls: type[ConfigModel] | None = None
) -> str | None:
    """The server's ``error.param`` for one of our dotted field paths, e.g.
    ``turn_detection.threshold`` -> ``session.audio.input.turn_detection.threshold``
    (:meth:`ConfigModel.param_path` of ``cls``)."""
    return _realtime(cls).param_path(field, dialect)


def field_for_param(param: str | None, cls: type[ConfigModel] | None = None) -> str | None:
    """Our dotted field path for a server's ``error.param``, e.g.
    ``session.audio.input.turn_detection.threshold`` -> ``turn_detection.threshold``
    (:meth:`ConfigModel.field_for_param` of ``cls``)."""
    return _realtime(cls).field_for_param(param)


def encode_session(
    config: ConfigModel, names: Iterable[str], dialect: Dialect = "ga"
) -> dict[str, Any]:
    """The ``session`` object holding the named fields (fields absent from the dialect, and
    fields only a media session has, skipped)."""
    cls = type(config)
    typed = dialect == "ga" and cls.TYPE_ON_WIRE
    session: dict[str, Any] = {"type": cls.SESSION_TYPE} if typed else {}
    for name in names:
        param = cls.PARAMS[name]
        path = param.ga if dialect == "ga" else param.beta
        if path is None or param.transport == "media":
            continue
        value = plain(getattr(config, name))
        if dialect == "beta" and param.to_beta is not None and value is not None:
            value = param.to_beta(value)
        _set(session, path, value)
    return session


# ---- the rules a server enforces that the field types do not ----------------------------------


def check_rules(config: ConfigModel, dialect: Dialect = "ga") -> None:
    """Raise :class:`ConfigError` for a config the server would reject as a whole: the
    config's own :meth:`~.configbase.ConfigModel.check_rules` hook."""
    config.check_rules(dialect)


def check_transition(
    previous: C,
    config: C,
    *,
    assistant_has_spoken: bool = False,
    dialect: Dialect = "ga",
) -> None:
    """Raise for a change a live session refuses: the config's
    :meth:`~.configbase.ConfigModel.check_transition` hook (every changed field that
    ``previous.locked_fields(live=True, ...)`` locks)."""
    config.check_transition(previous, assistant_has_spoken=assistant_has_spoken, dialect=dialect)


def session_update(
    config: ConfigModel,
    previous: ConfigModel | None,
    *,
    event_id: str | None = None,
    dialect: Dialect = "ga",
    assistant_has_spoken: bool = False,
) -> dict[str, Any]:
    """The ``session.update`` event taking a session from ``previous`` to ``config``: see
    :meth:`SessionConfig.to_session_update`. The config's hooks are checked first (its rules
    across fields, then the change from ``previous``), so a :class:`ConfigError` here means
    nothing was sent."""
    cls = type(config)
    config.check_rules(dialect)
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
        config.check_transition(
            previous, assistant_has_spoken=assistant_has_spoken, dialect=dialect
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
        raise exc.with_params(lambda f: cls.param_path(f, dialect)) from None


def _payload_problems(session: Mapping[str, Any], cls: type[ConfigModel]) -> list[FieldProblem]:
    """What OpenAI rejects before looking at values: unknown keys, containers that are not
    objects, required keys missing, floats with more than 16 decimals."""
    problems: list[FieldProblem] = []
    tree: dict[str, Any] = {}
    for name, param in cls.PARAMS.items():
        if param.ga is not None and param.transport != "media":
            _set(tree, param.ga, name)
            required = any(isinstance(m, WireRequired) for m in cls.model_fields[name].metadata)
            if required and not _get(session, param.ga)[0]:
                here = f"session.{param.ga}"
                problems.append(
                    FieldProblem(
                        name,
                        f"Missing required parameter: '{here}'.",
                        "missing_required_parameter",
                        param=here,
                    )
                )
    problems.extend(_walk_containers(session, tree, "session", cls))
    _walk_decimals(session, "session", problems)
    return problems


def _walk_containers(
    node: Mapping[str, Any], tree: dict[str, Any], where: str, cls: type[ConfigModel]
) -> list[FieldProblem]:
    found: list[FieldProblem] = []
    for key, value in node.items():
        here = f"{where}.{key}"
        if where == "session" and key == "type" and cls.TYPE_ON_WIRE:
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


def _tag_key(models: list[type[BaseModel]]) -> str | None:
    """The key that tells a union's models apart: ``type``, or ``role`` (GPT-Live's history
    messages, whose ``type`` is optional), when every model has it and it cannot be null."""
    if len(models) < 2:
        return None
    for key in ("type", "role"):
        if all(
            key in m.model_fields
            and type(None) not in union_members(m.model_fields[key].annotation)
            for m in models
        ):
            return key
    return None


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
    key = _tag_key(models)
    tag = value.get(key or "type")
    if key is not None and tag is None:
        return [
            FieldProblem(
                f"{field}.{key}",
                f"Missing required parameter: '{where}.{key}'.",
                "missing_required_parameter",
                param=f"{where}.{key}",
            )
        ]
    chosen = [
        m
        for m in models
        if key is not None and key in m.model_fields and m.model_fields[key].default == tag
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


def require_session_object(session: object) -> None:
    """Refuse a client's ``session`` that is not a JSON object, as OpenAI does
    (``invalid_type`` on ``session``): the first check of every payload validator."""
    if not isinstance(session, Mapping):
        raise ConfigError.single(
            "(session)",
            f"Invalid type for 'session': expected an object, but got {json_type_name(session)} "
            "instead.",
            code="invalid_type",
            param="session",
        )


def validate_session_payload(session: Mapping[str, Any], cls: type[C] | None = None) -> C:
    """Judge a client's raw GA ``session`` object as OpenAI does; return the values it sets.

    ``cls`` is the config of the session's type: :class:`SessionConfig` (``realtime``, the
    default) or :class:`~.transcription_config.TranscriptionConfig`.

    The returned config holds exactly the fields present in the payload (its
    ``model_fields_set``), ready to be merged into a session's effective config; rules that
    span fields (a forced tool must exist) are checked on the merged config with the config's
    :meth:`~.configbase.ConfigModel.check_rules`. Raises :class:`ConfigError` whose problems
    carry OpenAI's ``code`` and ``param``.
    """
    require_session_object(session)
    config_cls: type[C] = _realtime(cls)  # type: ignore[assignment]
    problems = _payload_problems(session, config_cls)
    if problems:
        raise ConfigError(problems)
    return decode_session(config_cls, session, dialect="ga", strict=True)


class WireConfig(ConfigModel):
    """A config that is a session object on the wire (SessionConfig, TranscriptionConfig):
    :meth:`to_session` and :meth:`from_session` once, for every session type."""

    def to_session(self, dialect: Dialect = "ga") -> dict[str, Any]:
        """The full ``session`` object (every field), as a server reports it."""
        return encode_session(self, list(type(self).model_fields), dialect)

    @classmethod
    def from_session(cls, session: Mapping[str, Any], *, dialect: Dialect | None = None) -> Self:
        """Parse the ``session`` of ``session.created`` / ``session.updated``, leniently:
        server-only keys (id, object, expires_at, ...) are ignored, as are keys this version
        does not know. ``from_session(c.to_session()) == c``."""
        return decode_session(cls, session, dialect=dialect, strict=False)
