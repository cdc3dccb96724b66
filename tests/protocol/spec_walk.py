"""Walk pydantic models into a flat set of spec facts, for the SDK and for our own models alike.

A fact is a dotted path (``audio.input.turn_detection<server_vad>.threshold``) or a path with
one allowed value (``audio.output.voice=marin``). ``[]`` marks a list's items, ``{}`` a dict's
values, ``<tag>`` the variant of a union of models told apart by a one-value ``type``. A variant
of ours also yields its untagged paths, because the SDK flattens some unions into one model whose
``type`` has several values (a message's content parts).

The same walk on both sides keeps the comparison honest: the spec-diff test computes
``facts(sdk) - facts(ours)`` and requires every leftover to be listed in
:data:`realtime_widgets.protocol.coverage.NOT_MODELED`.
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

__all__ = ["facts_of_annotation", "facts_of_model", "literal_tag"]


def _members(annotation: Any) -> list[Any]:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        found: list[Any] = []
        for arg in get_args(annotation):
            found.extend(_members(arg))
        return found
    return [annotation]


def literal_tag(model: type[BaseModel]) -> str | None:
    """The one value of a model's ``type`` field, if it has exactly one."""
    info = model.model_fields.get("type")
    if info is None:
        return None
    values = [v for m in _members(info.annotation) if get_origin(m) is Literal for v in get_args(m)]
    return str(values[0]) if len(values) == 1 else None


def _examples(info: FieldInfo | None) -> list[Any]:
    extra = info.json_schema_extra if info is not None else None
    if isinstance(extra, dict) and isinstance(extra.get("examples"), list):
        return list(extra["examples"])
    return []


def facts_of_annotation(
    annotation: Any,
    path: str,
    out: set[str],
    *,
    info: FieldInfo | None = None,
    seen: tuple[type[BaseModel], ...] = (),
    ours: bool = False,
) -> None:
    """Add the facts of one annotation found at ``path`` (``ours``: also untagged paths)."""
    members = [m for m in _members(annotation) if m is not type(None)]
    models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
    for member in members:
        origin = get_origin(member)
        if origin is Literal:
            out.update(f"{path}={v}" for v in get_args(member))
        elif member is str:
            # An open string: the values we know are the ones a user is offered.
            out.update(f"{path}={v}" for v in _examples(info))
        elif origin in (list, tuple, typing.List):  # noqa: UP006
            for arg in get_args(member):
                facts_of_annotation(arg, f"{path}[]", out, seen=seen, ours=ours)
        elif origin in (dict, typing.Dict):  # noqa: UP006
            args = get_args(member)
            if args:
                facts_of_annotation(args[1], f"{path}{{}}", out, seen=seen, ours=ours)
        elif member in models:
            if member in seen:
                continue
            tag = literal_tag(member) if len(models) > 1 else None
            facts_of_model(member, f"{path}<{tag}>" if tag else path, out, seen=seen, ours=ours)
            if tag and ours:
                facts_of_model(member, path, out, seen=seen, ours=ours)


def facts_of_model(
    model: type[BaseModel],
    path: str,
    out: set[str],
    *,
    seen: tuple[type[BaseModel], ...] = (),
    ours: bool = False,
) -> None:
    """Add the facts of every field of ``model`` under ``path``."""
    for name, info in model.model_fields.items():
        here = f"{path}.{name}" if path else name
        out.add(here)
        facts_of_annotation(info.annotation, here, out, info=info, seen=(*seen, model), ours=ours)
