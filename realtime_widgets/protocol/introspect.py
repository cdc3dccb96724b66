"""Walking pydantic annotations: which models a field can hold, which literal values it allows.

Shared by the config (dotted changes), the error translation, the wire parser and the widget
controls, so none of them guesses from names.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, Tag

__all__ = [
    "is_union",
    "literal_values",
    "models_in",
    "strip_annotated",
    "tag_keys",
    "tagged_members",
    "union_members",
]


def strip_annotated(annotation: Any) -> Any:
    """``Annotated[X, ...]`` -> ``X`` (repeatedly)."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def union_members(annotation: Any) -> list[Any]:
    """The members of a (possibly Annotated, possibly nested) union; [X] for a plain type."""
    annotation = strip_annotated(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        found: list[Any] = []
        for arg in get_args(annotation):
            found.extend(union_members(arg))
        return found
    return [annotation]


def models_in(annotation: Any, *, through_lists: bool = True) -> list[type[BaseModel]]:
    """The BaseModel classes a value of this annotation may be (unions and lists unpacked)."""
    result: list[type[BaseModel]] = []
    for member in union_members(annotation):
        origin = get_origin(member)
        if through_lists and origin in (list, tuple):
            for arg in get_args(member):
                result.extend(models_in(arg))
        elif isinstance(member, type) and issubclass(member, BaseModel):
            result.append(member)
    return result


def literal_values(annotation: Any) -> list[Any]:
    """Every Literal value among the union members of the annotation."""
    values: list[Any] = []
    for member in union_members(annotation):
        if get_origin(member) is Literal:
            values.extend(get_args(member))
    return values


def is_union(annotation: Any) -> bool:
    """True when a value (or list item) may be one of several shapes (None not counted)."""
    members = [m for m in union_members(annotation) if m is not type(None)]
    if len(members) == 1 and get_origin(members[0]) in (list, tuple):
        args = get_args(members[0])
        return bool(args) and is_union(args[0])
    return len(members) > 1


def tagged_members(annotation: Any) -> list[tuple[str, Any]]:
    """(tag, member) for the ``Annotated[X, Tag(...)]`` members of a union (lists unpacked)."""
    annotation = strip_annotated(annotation)
    origin = get_origin(annotation)
    if origin in (list, tuple):
        return [pair for arg in get_args(annotation) for pair in tagged_members(arg)]
    if origin not in (Union, types.UnionType):
        return []
    found: list[tuple[str, Any]] = []
    for arg in get_args(annotation):
        if get_origin(arg) is Annotated:
            tag = next((m.tag for m in get_args(arg)[1:] if isinstance(m, Tag)), None)
            if tag is not None:
                found.append((tag, strip_annotated(arg)))
                continue
        found.extend(tagged_members(arg))
    return found


def tag_keys(annotation: Any) -> dict[str, list[str]]:
    """For a union told apart by a callable ``Discriminator`` over ``Tag``-ged models: the
    field each tag is read from -> its tags, in order (``{"role": ["user", ...], "type":
    ["function_call", ...]}``). A model's tag is read from its field whose Literal holds it,
    ``type`` first; a member that is no model (the string of "a name or an object") is left
    out."""
    keys: dict[str, list[str]] = {}
    for tag, member in tagged_members(annotation):
        if not (isinstance(member, type) and issubclass(member, BaseModel)):
            continue
        fields = sorted(member.model_fields.items(), key=lambda kv: kv[0] != "type")
        key = next((n for n, f in fields if tag in literal_values(f.annotation)), None)
        if key is not None:
            keys.setdefault(key, []).append(tag)
    return keys
