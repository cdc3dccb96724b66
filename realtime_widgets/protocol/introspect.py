"""Walking pydantic annotations: which models a field can hold, which literal values it allows.

Shared by the config (dotted changes), the error translation, the wire parser and the widget
controls, so none of them guesses from names.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

__all__ = ["is_union", "literal_values", "models_in", "strip_annotated", "union_members"]


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
