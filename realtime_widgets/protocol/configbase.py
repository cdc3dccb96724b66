"""What every session config shares: the :class:`Param` annotation and :class:`ConfigModel`.

A session config is a frozen pydantic model whose every field carries one :class:`Param` (its
wire paths, panel group and mid-session rule, and a :class:`Deprecation` when OpenAI has
deprecated it). :class:`ConfigModel` derives the rest from the fields alone: errors as
:class:`ConfigError` naming the field, dotted reads and changes, the diff between two configs,
the annotated JSON schema, the wire path of each field, the deprecated parameters a config sets
(:meth:`ConfigModel.deprecations`: the panel's note and the export's warning), and the rules a
server enforces beyond the field types, as three hooks a config may override:

- :meth:`ConfigModel.check_rules`: rules that span fields (the base has none);
- :meth:`ConfigModel.locked_fields`: what cannot be set now, and why (from the Params);
- :meth:`ConfigModel.check_transition`: a change a live session refuses (the locked ones).

Three configs build on it: :class:`~.config.SessionConfig` (``session.type = "realtime"``),
:class:`~.transcription_config.TranscriptionConfig` (``"transcription"``) and GPT-Live's
:class:`~.live_config.LiveConfig` (registered as ``"live"``; its session object names no type,
:attr:`ConfigModel.TYPE_ON_WIRE`). The ``session`` object itself (encoding, both readers) is
:mod:`.wire`, which sits above this module.

:func:`plain` is the one "model to plain data" conversion of the package: the wire payload,
client events, :meth:`ConfigModel.with_changes` and the widgets' controls all use it.

The seed shorthands a user may type for the shared nested fields (``"pcm16"``,
``"near_field"``, ``"whisper-1"``) live here as plain functions, so both configs read them the
same way and neither applies them to a strict wire payload.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ValidationError, ValidationInfo, field_validator

from realtime_widgets.errors import ConfigError, FieldProblem
from realtime_widgets.protocol.introspect import literal_values, models_in
from realtime_widgets.protocol.parts import FORMAT_ALIASES, Part, is_strict_wire, round_floats
from realtime_widgets.protocol.problems import problems_from_validation_error

__all__ = [
    "ConfigModel",
    "Deprecation",
    "Dialect",
    "Mutability",
    "Param",
    "Transport",
    "config_class",
    "format_shorthand",
    "kept_when_omitted",
    "noise_shorthand",
    "plain",
    "transcription_shorthand",
]

Mutability = Literal[
    "always", "never", "until_assistant_audio", "frozen_once_set", "between_responses"
]
Dialect = Literal["ga", "beta"]
Transport = Literal["any", "websocket", "media"]

# OpenAI's error code for a refused change, by the field's rule (voice: seen live).
_LOCK_CODES = {"until_assistant_audio": "cannot_update_voice"}


@dataclass(frozen=True)
class Deprecation:
    """OpenAI has deprecated a parameter: it is still sent as set (nothing is removed), and
    everything derived from the field says so: its control's note, a comment and a
    ``DeprecationWarning`` in an export, the README's table, ``deprecated`` in the schema.

    ``what`` names the feature in OpenAI's words, ``shutdown`` is the date OpenAI scheduled for
    its end, ``instead`` what to use in its place and ``source`` where OpenAI says so.
    """

    what: str
    shutdown: date
    instead: str
    source: str

    def note(self, today: date | None = None) -> str:
        """The deprecation as one sentence for a person, in the right tense for ``today``
        (default: the local date): once the shutdown date has passed it says so."""
        today = today or date.today()
        when = f"OpenAI scheduled the shutdown of {self.what} for {self.shutdown.isoformat()}"
        if today > self.shutdown:
            when += ", which has passed, so OpenAI may refuse this parameter"
        return f"Deprecated: {when}. Still sent as set. Instead: {self.instead} ({self.source})."


@dataclass(frozen=True)
class Param:
    """Where a config field lives: wire paths, panel group, mid-session rule.

    ``ga`` / ``beta`` are dotted paths inside the ``session`` object (``None``: the dialect has
    no such parameter). ``to_beta`` / ``from_beta`` convert values where the beta shape differs.
    ``deprecated``: OpenAI has deprecated the parameter (:class:`Deprecation`).
    ``transport`` says which session objects carry the field: ``"any"``; ``"websocket"`` (a
    GPT-Live ``audio.format``: WebRTC and SIP negotiate theirs); ``"media"`` (GPT-Live's
    ``wake_policy``: only a WebRTC/SIP session made with ``client.live.create()`` has it). A
    ``"media"`` field is modelled, shown and exported but :mod:`.wire` never encodes it, and
    its strict reader answers it as an unknown parameter.
    """

    ga: str | None
    beta: str | None
    group: str
    mutable: Mutability = "always"
    to_beta: Callable[[Any], Any] | None = None
    from_beta: Callable[[Any], Any] | None = None
    deprecated: Deprecation | None = None
    transport: Transport = "any"


# ---- seed shorthands shared by both configs ----------------------------------------------------


def format_shorthand(value: Any, info: ValidationInfo) -> Any:
    """``"pcm16"`` / ``"g711_ulaw"`` / ``"audio/pcma"`` -> the format object (not on the wire)."""
    if isinstance(value, str):
        if is_strict_wire(info):
            return value  # the union rejects it: an object is required on the wire
        if value not in FORMAT_ALIASES:
            raise ValueError(
                f"Invalid value: {value!r}. Supported values are: 'audio/pcm' (24 kHz), "
                "'audio/pcmu', 'audio/pcma' (or the seed names 'pcm16', 'g711_ulaw', "
                "'g711_alaw')."
            )
        return FORMAT_ALIASES[value]()
    return value


def noise_shorthand(value: Any, info: ValidationInfo) -> Any:
    """``"near_field"`` -> ``{"type": "near_field"}``; PSOpenAI's ``"none"`` -> ``None``."""
    if isinstance(value, str) and not is_strict_wire(info):
        if value == "none":
            return None  # GA has no such value; off is null
        return {"type": value}
    return value


def transcription_shorthand(value: Any, info: ValidationInfo) -> Any:
    """A model name -> ``{"model": name}``."""
    if isinstance(value, str) and not is_strict_wire(info):
        return {"model": value}
    return value


# ---- the base model --------------------------------------------------------------------------


class ConfigModel(BaseModel):
    """Base of the session configs; subclasses declare fields with one :class:`Param` each.

    Immutable: derive a changed config with :meth:`with_changes`. The hooks
    :meth:`check_rules`, :meth:`locked_fields` and :meth:`check_transition` hold the rules that
    the field types cannot; each config overrides what its fields need. The wire methods
    (``to_session``, ``from_session``, ``to_session_update``) are each config's, over
    :mod:`.wire`.
    """

    SESSION_TYPE: ClassVar[str] = ""
    # Whether the session object names its type (``session.type``); GPT-Live's has no type.
    TYPE_ON_WIRE: ClassVar[bool] = True
    PARAMS: ClassVar[dict[str, Param]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        found: dict[str, Param] = {}
        for name, info in cls.model_fields.items():
            params = [m for m in info.metadata if isinstance(m, Param)]
            if len(params) != 1:
                raise TypeError(f"{cls.__name__}.{name} needs exactly one Param annotation")
            found[name] = params[0]
        cls.PARAMS = found
        if "SESSION_TYPE" in cls.__dict__ and cls.SESSION_TYPE:
            _CONFIGS.setdefault(cls.SESSION_TYPE, cls)  # the first to declare a type owns it

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigError(problems_from_validation_error(exc, type(self))) from None

    # Tell pydantic this __init__ only wraps the base one, so model_validate keeps using the core
    # validator directly (with its context) instead of routing through __init__.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @classmethod
    def model_validate(
        cls,
        obj: Any,
        *,
        strict: bool | None = None,
        extra: Literal["allow", "ignore", "forbid"] | None = None,
        from_attributes: bool | None = None,
        context: Any | None = None,
        by_alias: bool | None = None,
        by_name: bool | None = None,
    ) -> Self:
        try:
            return super().model_validate(
                obj,
                strict=strict,
                extra=extra,
                from_attributes=from_attributes,
                context=context,
                by_alias=by_alias,
                by_name=by_name,
            )
        except ValidationError as exc:
            raise ConfigError(problems_from_validation_error(exc, cls)) from None

    @field_validator("*", mode="after")
    @classmethod
    def _sendable_floats(cls, value: Any) -> Any:
        return round_floats(value)

    # The shorthands every config accepts for the fields it has (check_fields=False: a
    # subclass without, say, output_audio_format simply does not get that one).
    @field_validator("input_audio_format", "output_audio_format", mode="before", check_fields=False)
    @classmethod
    def _format(cls, value: Any, info: ValidationInfo) -> Any:
        return format_shorthand(value, info)

    @field_validator("noise_reduction", mode="before", check_fields=False)
    @classmethod
    def _noise(cls, value: Any, info: ValidationInfo) -> Any:
        return noise_shorthand(value, info)

    @field_validator("transcription", mode="before", check_fields=False)
    @classmethod
    def _transcription(cls, value: Any, info: ValidationInfo) -> Any:
        return transcription_shorthand(value, info)

    # ---- reading ------------------------------------------------------------------------------

    @classmethod
    def params(cls) -> dict[str, Param]:
        """Field name -> its :class:`Param`, in declaration order."""
        return cls.PARAMS

    def items(self) -> Iterator[tuple[str, Any]]:
        """(field name, value) for every parameter, in declaration order."""
        for name in type(self).model_fields:
            yield name, getattr(self, name)

    def get(self, path: str) -> Any:
        """The value at a dotted path, e.g. ``config.get("turn_detection.threshold")``."""
        value: Any = self
        for part in path.split("."):
            if isinstance(value, BaseModel) and part in type(value).model_fields:
                value = getattr(value, part)
            else:
                raise ConfigError.single(path, f"{path}: no such parameter")
        return value

    def deprecations(self, today: date | None = None) -> dict[str, str]:
        """Field -> its :meth:`Deprecation.note`, for each deprecated parameter this config
        sets (not None); ``{}`` when it uses none. Nothing is removed: the wire still carries
        them."""
        return {
            name: param.deprecated.note(today)
            for name, param in type(self).PARAMS.items()
            if param.deprecated is not None and getattr(self, name) is not None
        }

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The JSON schema of every parameter, with each one's wire paths, group and rule
        (``x-ga``, ``x-beta``, ``x-group``, ``x-mutable``); a deprecated one is marked as JSON
        Schema marks it (``deprecated: true``), with OpenAI's shutdown date, what replaces it
        and where it is said (``x-deprecated``); ``x-transport`` for a field only one transport
        has. CI diffs it against a snapshot."""
        schema = cls.model_json_schema()
        for name, param in cls.PARAMS.items():
            prop = schema["properties"][name]
            prop["x-ga"] = param.ga
            prop["x-beta"] = param.beta
            prop["x-group"] = param.group
            prop["x-mutable"] = param.mutable
            if param.deprecated is not None:
                prop["deprecated"] = True
                prop["x-deprecated"] = {
                    "what": param.deprecated.what,
                    "shutdown": param.deprecated.shutdown.isoformat(),
                    "instead": param.deprecated.instead,
                    "source": param.deprecated.source,
                }
            if param.transport != "any":
                prop["x-transport"] = param.transport
        return schema

    # ---- deriving -----------------------------------------------------------------------------

    def with_changes(self, changes: Mapping[str, Any] | None = None, /, **kw: Any) -> Self:
        """A new, validated config with ``changes`` applied; keys may be dotted paths.

        ``config.with_changes({"turn_detection.threshold": 0.7})``. Setting a nested field of a
        section that is off (None) starts from that section's defaults. Invalid values raise
        :class:`ConfigError` and leave ``self`` untouched.
        """
        cls = type(self)
        merged: dict[str, Any] = {**(changes or {}), **kw}
        data = {name: getattr(self, name) for name in self.model_fields_set}
        dumped = {name: plain(value) for name, value in data.items()}
        for path, value in merged.items():
            head, _, rest = path.partition(".")
            if head not in cls.model_fields:
                allowed = ", ".join(cls.model_fields)
                raise ConfigError.single(
                    path, f"{path}: unknown parameter; parameters are: {allowed}", allowed=allowed
                )
            if not rest:
                dumped[head] = plain(value)
                continue
            key = rest.split(".")[0]
            current = dumped.get(head, plain(getattr(self, head)))
            switching = key == "type" and isinstance(current, dict) and current.get("type") != value
            if current is None or isinstance(current, str) or switching:
                current = _section_start(cls, head, key, value)
            dumped[head] = _set_path(dict(current), rest.split("."), plain(value))
        return cls(**dumped)

    def updated_by(self, update: Self) -> Self:
        """The config a session has after ``update``, a strict reader's result whose
        ``model_fields_set`` are the fields the ``session.update`` carried: each replaces this
        config's, whole, except what the SDK says an update's omission preserves. A part's
        :attr:`~.parts.Part.KEPT_WHEN_OMITTED` fields (noise reduction's ``strength``, a
        delegation's ``acknowledgement_delay_ms``) that the update's part, of the same class,
        leaves out keep their current value. Every session kind merges its updates here.
        Raises :class:`ConfigError` as :meth:`with_changes` does."""
        return self.with_changes(
            {
                name: kept_when_omitted(getattr(self, name), getattr(update, name))
                for name in update.model_fields_set
            }
        )

    def diff(self, previous: Self) -> list[str]:
        """Names of the fields whose value differs from ``previous``."""
        return [name for name, value in self.items() if value != getattr(previous, name)]

    # ---- the wire paths --------------------------------------------------------------------

    @classmethod
    def param_path(cls, field: str, dialect: Dialect = "ga") -> str | None:
        """The server's ``error.param`` for one of our dotted field paths, e.g.
        ``turn_detection.threshold`` -> ``session.audio.input.turn_detection.threshold``
        (``None``: the dialect has no such parameter)."""
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

    @classmethod
    def field_for_param(cls, param: str | None) -> str | None:
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

    # ---- the rules a server enforces that the field types do not (hooks) ---------------------

    def check_rules(self, dialect: Dialect = "ga") -> None:
        """Raise :class:`ConfigError` for a config the server would reject as a whole: rules
        that span fields (a forced tool must exist, ...). The base has none; a config whose
        fields have such rules overrides this. ``to_session_update`` calls it first."""

    def locked_fields(
        self,
        *,
        live: bool = False,
        assistant_has_spoken: bool = False,
        dialect: Dialect = "ga",
    ) -> dict[str, str]:
        """Field (or dotted variant field) -> why it cannot be set now, as a sentence.

        ``self`` is the session's current config (the effective one for a live session, else
        what would be sent); ``live``: a session is connected; ``assistant_has_spoken``:
        assistant audio exists in the conversation. Fields not in the result may be changed.
        The rules, all read from the fields' :class:`Param`:

        - ``mutable="never"`` (the model) while the session is live;
        - a field the dialect does not have (``Param.ga`` / ``Param.beta`` is None);
        - ``mutable="frozen_once_set"`` (tracing) once the live session has a value;
        - ``mutable="until_assistant_audio"`` (the voice) once the assistant has spoken;
        - the fields of the variants a section is not (``turn_detection.eagerness`` under
          ``server_vad``, ``input_audio_format.rate`` for G.711), keyed by dotted path.

        A config with a lock the Params cannot say overrides this (and calls ``super()``).
        """
        locks: dict[str, str] = {}
        here, other = ("GA", "beta") if dialect == "ga" else ("beta", "GA")
        for name, param in type(self).PARAMS.items():
            value = getattr(self, name)
            if param.mutable == "never" and live:
                locks[name] = f"{name} cannot change during a session: connect a new session"
            elif (param.ga if dialect == "ga" else param.beta) is None:
                locks[name] = f"{other} dialect only: the {here} API has no {name}"
            elif param.mutable == "frozen_once_set" and live and value is not None:
                locks[name] = f"{name} cannot be modified once enabled"
            elif param.mutable == "until_assistant_audio" and assistant_has_spoken:
                locks[name] = f"{name} cannot change once the assistant has spoken"
        for name, value in self.items():
            kind = getattr(value, "type", None)
            for path, variants in type(self).variant_fields(name).items():
                if kind is not None and kind not in variants:
                    locks[path] = "only for " + " / ".join(variants)
        return locks

    def check_transition(
        self,
        previous: Self,
        *,
        assistant_has_spoken: bool = False,
        dialect: Dialect = "ga",
    ) -> None:
        """Raise :class:`ConfigError` for a change from ``previous`` that a live session
        refuses: every changed field that ``previous.locked_fields(live=True, ...)`` locks (the
        model, tracing once on, the voice after assistant audio, a field the dialect lacks)."""
        cls = type(self)
        locks = previous.locked_fields(
            live=True, assistant_has_spoken=assistant_has_spoken, dialect=dialect
        )
        problems = [
            FieldProblem(
                name,
                locks[name],
                _LOCK_CODES.get(cls.PARAMS[name].mutable, "invalid_value"),
                param=cls.param_path(name, dialect),
                value=getattr(self, name),
            )
            for name in self.diff(previous)
            if name in locks
        ]
        if problems:
            raise ConfigError(problems)

    @classmethod
    def variant_fields(cls, name: str) -> dict[str, list[str]]:
        """For a field holding one of several typed variants (``turn_detection``, the audio
        formats): each variant-specific sub-field's dotted path -> the variants that have it."""
        annotation = cls.model_fields[name].annotation
        models = [m for m in models_in(annotation, through_lists=False) if "type" in m.model_fields]
        if len(models) < 2 or literal_values(annotation):
            return {}
        owners: dict[str, list[str]] = {}
        for model in models:
            tag = str(model.model_fields["type"].default)
            for sub in model.model_fields:
                if sub != "type":
                    owners.setdefault(sub, []).append(tag)
        return {f"{name}.{sub}": tags for sub, tags in owners.items() if len(tags) < len(models)}


_CONFIGS: dict[str, type[ConfigModel]] = {}


def config_class(session_type: str) -> type[ConfigModel]:
    """The config of a session type: ``"realtime"`` -> SessionConfig, ``"transcription"`` ->
    TranscriptionConfig, ``"live"`` -> LiveConfig. Each config registers itself when its class
    is defined (importing :mod:`realtime_widgets.protocol` defines them all); the wire's
    readers default to ``config_class("realtime")`` without importing the config above them."""
    return _CONFIGS[session_type]


def plain(value: Any) -> Any:
    """A value as JSON data, as the wire carries it: models dumped with their ``None`` members
    omitted, lists element-wise, anything else as it is.

    The package's one model-to-data conversion: the ``session`` object (:mod:`.wire`), client
    events, :meth:`ConfigModel.with_changes` (which validates the result again: every optional
    member of a nested record defaults to ``None``, so omitting it changes nothing) and the
    widgets' controls.
    """
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def kept_when_omitted(current: Any, new: Any) -> Any:
    """``new`` (a part an update carries) with the :attr:`~.parts.Part.KEPT_WHEN_OMITTED`
    fields it leaves out taken from ``current`` (the session's, when it is the same class and
    has a value for them); ``new`` as it is otherwise."""
    if not isinstance(new, Part) or type(current) is not type(new):
        return new
    kept = {
        name: getattr(current, name)
        for name in type(new).KEPT_WHEN_OMITTED
        if name not in new.model_fields_set and getattr(current, name) is not None
    }
    return new.model_copy(update=kept) if kept else new


def _section_start(cls: type[BaseModel], field: str, key: str, value: Any) -> dict[str, Any]:
    """Where a dotted change into a section that is off (or a variant switch) starts from.

    ``turn_detection.eagerness`` with turn detection off starts from ``SemanticVad()``'s
    defaults; ``turn_detection.type = "semantic_vad"`` starts that variant afresh.
    """
    candidates = models_in(cls.model_fields[field].annotation)
    if key == "type":
        candidates = [
            m for m in candidates if value in literal_values(m.model_fields["type"].annotation)
        ]
    else:
        candidates = [m for m in candidates if key in m.model_fields]
    if not candidates:
        raise ConfigError.single(f"{field}.{key}", f"{field}.{key}: {field} has no field {key!r}")
    model = candidates[0]
    if any(f.is_required() for f in model.model_fields.values()):
        return {}
    return model().model_dump()


def _set_path(target: dict[str, Any], path: list[str], value: Any) -> dict[str, Any]:
    head = path[0]
    if len(path) == 1:
        target[head] = value
    else:
        inner = target.get(head)
        target[head] = _set_path(dict(inner) if isinstance(inner, dict) else {}, path[1:], value)
    return target
