"""Turning pydantic's validation errors into messages that name the field and allowed values.

``turn_detection.threshold must be between 0.0 and 1.0, got 1.5`` rather than pydantic's
location tuples through union branches. Each problem also carries OpenAI's error code for the
same mistake, so the local server can answer in OpenAI's words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from realtime_widgets.errors import FieldProblem
from realtime_widgets.protocol.introspect import is_union, literal_values, models_in, tag_keys
from realtime_widgets.protocol.parts import SECRET
from realtime_widgets.protocol.redaction import REDACTED, redact

__all__ = [
    "TYPE_WORDS",
    "TagProblem",
    "field_path",
    "place_of",
    "problems_from_validation_error",
    "tag_problem",
]

# How a pydantic type error names the expected JSON type, in OpenAI's words.
TYPE_WORDS = {
    "int_type": "an integer",
    "int_from_float": "an integer",
    "int_parsing": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "string_type": "a string",
    "bool_type": "a boolean",
    "bool_parsing": "a boolean",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "list_type": "an array",
    "tuple_type": "an array",
}


@dataclass
class _Place:
    path: str
    info: FieldInfo | None  # the field reached
    siblings: list[str]  # field names of the model that holds it
    variants: list[type[BaseModel]]  # the union members at the last level, before narrowing


def _walk(root: type[BaseModel], loc: tuple[int | str, ...], kind: str) -> _Place:
    """Our dotted path for a pydantic location, skipping union branch names and tags."""
    models: list[type[BaseModel]] = [root]
    variants: list[type[BaseModel]] = [root]
    path: list[str] = []
    info: FieldInfo | None = None
    siblings: list[str] = list(root.model_fields)
    expect_tag = False
    for index, part in enumerate(loc):
        if isinstance(part, int):
            if path:
                path[-1] += f"[{part}]"
            continue
        if expect_tag:
            # Right after a union-typed field, pydantic names the branch ("server_vad",
            # "mode", "ToolChoiceFunction"...): narrow to it, never print it.
            expect_tag = False
            narrowed = [
                m
                for m in models
                if m.__name__ == part
                or (
                    "type" in m.model_fields
                    and part in literal_values(m.model_fields["type"].annotation)
                )
            ]
            if narrowed:
                models = narrowed
                siblings = list(narrowed[0].model_fields)
                continue
            if not any(part in m.model_fields for m in models):
                continue
        owner = next((m for m in models if part in m.model_fields), None)
        if owner is not None:
            siblings = list(owner.model_fields)
            info = owner.model_fields[part]
            path.append(part)
            models = variants = models_in(info.annotation)
            expect_tag = is_union(info.annotation)
            if models:
                siblings = list(models[0].model_fields)
            continue
        if kind == "extra_forbidden" and index == len(loc) - 1:
            path.append(part)  # the unknown key itself
    return _Place(".".join(path) or "(config)", info, siblings, variants)


def place_of(root: type[BaseModel], loc: tuple[int | str, ...], kind: str) -> FieldInfo | None:
    """The field a pydantic error location reaches inside ``root`` (None for the root)."""
    return _walk(root, loc, kind).info


def field_path(root: type[BaseModel], loc: tuple[int | str, ...], kind: str) -> str:
    """The dotted path (``item.content[0].type``) of a pydantic error location inside
    ``root``, union branch names and tags left out; "" for the root itself."""
    path = _walk(root, loc, kind).path
    return "" if path == "(config)" else path


@dataclass
class TagProblem:
    """Which field of an object failed to pick its shape in a union, and what it may be."""

    key: str  # "type", "role"
    allowed: list[str]
    given: object  # None when absent


def _field_values(models: list[type[BaseModel]], key: str) -> list[str]:
    values = [
        v
        for m in models
        if key in m.model_fields
        for v in literal_values(m.model_fields[key].annotation)
    ]
    return [str(v) for v in dict.fromkeys(values) if v is not None]


def tag_problem(annotation: Any, discriminator: str, value: Any) -> TagProblem | None:
    """The field at fault when ``value`` (an object) matched no member of a discriminated
    union: the discriminator's key (``'role'`` for ``Field(discriminator="role")``). For a
    callable discriminator that reads different keys for different members (a decision item:
    ``type`` for a tool record, ``role`` for a message), the key given with a value no member
    takes, else the first one (``type`` last) that names no member. None for a callable over
    one key (the Realtime ``type`` unions): the caller reports ``type``."""
    if not isinstance(value, Mapping):
        return None
    models = models_in(annotation)
    if discriminator.startswith("'"):
        key = discriminator.strip("'")
        return TagProblem(key, _field_values(models, key), value.get(key))
    keys = tag_keys(annotation)
    if len(keys) < 2:
        return None
    for key in keys:
        given = value.get(key)
        values = _field_values(models, key)
        if given is not None and given not in values:
            return TagProblem(key, values, given)
    for key in sorted(keys, key=lambda k: k == "type"):
        if value.get(key) not in keys[key]:
            return TagProblem(key, keys[key], value.get(key))
    return None


def _bounds(info: FieldInfo | None) -> tuple[Any, Any]:
    low = high = None
    for meta in info.metadata if info else ():
        if isinstance(meta, annotated_types.Ge | annotated_types.Gt):
            low = getattr(meta, "ge", None) if isinstance(meta, annotated_types.Ge) else meta.gt
        if isinstance(meta, annotated_types.Le | annotated_types.Lt):
            high = getattr(meta, "le", None) if isinstance(meta, annotated_types.Le) else meta.lt
    return low, high


def _problem(root: type[BaseModel], err: ErrorDetails) -> FieldProblem:
    place = _walk(root, tuple(err["loc"]), err["type"])
    path, info, siblings = place.path, place.info, place.siblings
    kind = err["type"]
    # Never a secret in a problem (its message, its value): a bad token shows as a marker,
    # and a tool refused for another reason is kept without its credentials.
    secret = info is not None and SECRET in info.metadata
    value = REDACTED if secret else redact(err.get("input"))
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    if kind == "missing":
        return FieldProblem(path, f"{path} is required", "missing_required_parameter", value=None)
    if kind == "extra_forbidden":
        parent, _, key = path.rpartition(".")
        owners = [_type_of(m) for m in place.variants if key in m.model_fields]
        if owners and parent:
            here = _type_of(next(m for m in place.variants if list(m.model_fields) == siblings))
            allowed = ", ".join(siblings)
            return FieldProblem(
                path,
                f"{path} applies only to {' and '.join(owners)}, not {here}; {here} takes "
                f"{allowed}",
                "unknown_parameter",
                allowed=allowed,
                value=value,
            )
        parent = parent or "the session config"
        allowed = ", ".join(siblings)
        return FieldProblem(
            path,
            f"{path} is not a parameter of {parent}; allowed: {allowed}",
            "unknown_parameter",
            allowed=allowed,
            value=value,
        )
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        low, high = _bounds(info)
        is_int = isinstance(value, int) and not isinstance(value, bool)
        number = "integer" if is_int else "decimal"
        above = kind.startswith("less")
        range_code = f"{number}_{'above_max' if above else 'below_min'}_value"
        span = f"{low} to {high}" if low is not None and high is not None else None
        if span:
            text = f"{path} must be between {low} and {high}, got {value}"
        else:
            text = f"{path} must be {'<=' if above else '>='} {high if above else low}, got {value}"
        limit = high if above else low
        return FieldProblem(path, text, range_code, allowed=span, value=value, limit=limit)
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        return FieldProblem(
            path, f"{path} must be one of {expected}, got {value!r}", allowed=expected, value=value
        )
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        annotation = info.annotation if info else None
        at_fault = tag_problem(annotation, str(ctx.get("discriminator", "")), err.get("input"))
        if at_fault is not None:
            where = f"{path}.{at_fault.key}"
            expected = ", ".join(repr(v) for v in at_fault.allowed)
            if at_fault.given is None:
                return FieldProblem(
                    where,
                    f"{where} is required (one of {expected})",
                    "missing_required_parameter",
                    allowed=expected,
                )
            return FieldProblem(
                where,
                f"{where} must be one of {expected}, got {at_fault.given!r}",
                allowed=expected,
                value=at_fault.given,
            )
        expected = str(ctx.get("expected_tags", ""))
        if kind == "union_tag_not_found" and not isinstance(value, dict):
            names = [repr(v) for v in literal_values(info.annotation if info else None)]
            allowed = " or ".join([*names, "an object"])
            return FieldProblem(
                path,
                f"{path} must be {allowed}, got {value!r}",
                "invalid_type",
                allowed=allowed,
                value=value,
            )
        if kind == "union_tag_not_found":
            tags = [_type_of(m) for m in models_in(info.annotation if info else None)]
            expected = expected or ", ".join(tags)
            return FieldProblem(
                f"{path}.type",
                f"{path}.type is required (one of {expected})",
                "missing_required_parameter",
                allowed=expected,
            )
        tag = ctx.get("tag")
        where = f"{path}.type" if isinstance(value, dict) else path
        return FieldProblem(
            where,
            f"{where} must be one of {expected}, got {tag!r}",
            allowed=expected,
            value=tag,
        )
    if kind in TYPE_WORDS:
        wanted = TYPE_WORDS[kind]
        got = type(err.get("input")).__name__
        shown = "(a secret: not shown)" if secret else repr(value)
        return FieldProblem(
            path,
            f"{path} must be {wanted}, got {got} {shown}",
            "invalid_type",
            value=value,
            allowed=wanted,
        )
    if kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern")
        return FieldProblem(
            path, f"{path} must match {pattern}, got {value!r}", allowed=str(pattern), value=value
        )
    if kind == "string_too_short":
        return FieldProblem(path, f"{path} must not be empty", value=value)
    if kind == "value_error":
        text = str(ctx.get("error", err["msg"]))
        sep = " " if text.startswith("must") else ": "
        return FieldProblem(path, f"{path}{sep}{text}", value=value)
    return FieldProblem(path, f"{path}: {err['msg']}", value=value)


def _type_of(model: type[BaseModel]) -> str:
    field = model.model_fields.get("type")
    return repr(field.default) if field is not None else model.__name__


def problems_from_validation_error(
    exc: ValidationError, root: type[BaseModel]
) -> list[FieldProblem]:
    """One :class:`FieldProblem` per distinct field, in pydantic's order."""
    seen: set[str] = set()
    problems: list[FieldProblem] = []
    for err in exc.errors(include_url=False):
        problem = _problem(root, err)
        if problem.field in seen:
            continue
        seen.add(problem.field)
        problems.append(problem)
    return problems
