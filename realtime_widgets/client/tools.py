"""Python callables as Realtime function tools.

The JSON schema comes from the function's type hints (str, int, float, bool, list[...],
dict, Literal, Enum, Optional, pydantic models) or from a single pydantic-model parameter; the
description from the docstring. When the model calls the tool, the session runs it off the I/O
loop (sync functions in a worker thread, async ones awaited), sends the result as
``function_call_output`` and asks for a response. An exception becomes the output, not a crash.
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import json
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError

from realtime_widgets.errors import RealtimeWidgetsError
from realtime_widgets.protocol.parts import FunctionTool

__all__ = ["PythonTool", "schema_for"]


def _type_schema(hint: Any) -> dict[str, Any]:
    origin = get_origin(hint)
    if hint is inspect.Parameter.empty or hint is Any:
        return {}
    if origin is typing.Annotated:
        return _type_schema(get_args(hint)[0])
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(hint) if a is not type(None)]
        if len(options) == 1:
            return _type_schema(options[0])
        return {"anyOf": [_type_schema(a) for a in options]}
    if origin is Literal:
        literals = list(get_args(hint))
        return {"type": _json_type(type(literals[0])), "enum": literals}
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        members = [m.value for m in hint]
        return {"type": _json_type(type(members[0])), "enum": members}
    if isinstance(hint, type) and issubclass(hint, BaseModel):
        return _inline(hint.model_json_schema())
    if origin in (list, tuple, set, frozenset) or hint in (list, tuple, set):
        args = get_args(hint)
        return {"type": "array", "items": _type_schema(args[0]) if args else {}}
    if origin is dict or hint is dict:
        return {"type": "object"}
    if isinstance(hint, type):
        return {"type": _json_type(hint)}
    return {}


def _json_type(kind: type) -> str:
    if issubclass(kind, bool):
        return "boolean"
    if issubclass(kind, int):
        return "integer"
    if issubclass(kind, float):
        return "number"
    if issubclass(kind, str):
        return "string"
    return "object"


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """Resolve local ``$ref``s: the Realtime API wants a self-contained schema."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return walk(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {k: walk(v) for k, v in node.items() if k != "title"}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    result: dict[str, Any] = walk(schema)
    return result


def schema_for(
    func: Callable[..., Any],
) -> tuple[dict[str, Any], Callable[[dict[str, Any]], dict[str, Any]]]:
    """(JSON schema of the arguments, a validator turning model arguments into call kwargs)."""
    sig = inspect.signature(func)
    hints = typing.get_type_hints(func, include_extras=True)
    params = [p for p in sig.parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if (
        len(params) == 1
        and isinstance(hints.get(params[0].name), type)
        and issubclass(hints[params[0].name], BaseModel)
    ):
        model: type[BaseModel] = hints[params[0].name]
        name = params[0].name

        def from_model(arguments: dict[str, Any]) -> dict[str, Any]:
            return {name: model.model_validate(arguments)}

        return _inline(model.model_json_schema()), from_model
    properties: dict[str, Any] = {}
    required: list[str] = []
    adapters: dict[str, TypeAdapter[Any]] = {}
    for p in params:
        hint = hints.get(p.name, Any)
        properties[p.name] = _type_schema(hint)
        adapters[p.name] = TypeAdapter(hint if hint is not inspect.Parameter.empty else Any)
        if p.default is inspect.Parameter.empty:
            required.append(p.name)
    schema = {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }

    def convert(arguments: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(arguments) - set(adapters))
        if unknown:
            raise ValueError(f"unexpected arguments: {', '.join(unknown)}")
        return {k: adapters[k].validate_python(v) for k, v in arguments.items()}

    return schema, convert


@dataclass
class PythonTool:
    """A registered callable and the function tool the model sees."""

    func: Callable[..., Any]
    name: str
    description: str | None
    parameters: dict[str, Any]
    convert: Callable[[dict[str, Any]], dict[str, Any]]

    @classmethod
    def from_callable(
        cls, func: Callable[..., Any], name: str | None = None, description: str | None = None
    ) -> PythonTool:
        schema, convert = schema_for(func)
        doc = inspect.getdoc(func)
        return cls(
            func,
            name or func.__name__,
            description or (doc.split("\n\n")[0] if doc else None),
            schema,
            convert,
        )

    def definition(self) -> FunctionTool:
        return FunctionTool(
            name=self.name, description=self.description, parameters=self.parameters
        )

    async def call(self, arguments_json: str) -> str:
        """Run the tool; the output text for the model (an error is reported, not raised)."""
        try:
            arguments = json.loads(arguments_json or "{}")
            if not isinstance(arguments, dict):
                raise ValueError("arguments must be a JSON object")
            kwargs = self.convert(arguments)
            if inspect.iscoroutinefunction(self.func):
                result = await self.func(**kwargs)
            else:
                result = await asyncio.to_thread(self.func, **kwargs)
        except (ValueError, ValidationError, TypeError) as exc:
            return json.dumps({"error": f"invalid arguments for {self.name}: {exc}"})
        except Exception as exc:  # the tool's own failure goes back to the model
            return json.dumps({"error": f"{type(exc).__name__}: {exc}"})
        if isinstance(result, str):
            return result
        if isinstance(result, BaseModel):
            return result.model_dump_json()
        try:
            return json.dumps(result)
        except TypeError:
            return json.dumps(str(result))


def check_name(name: str) -> None:
    if not name or len(name) > 64 or not all(c.isalnum() or c in "_-" for c in name):
        raise RealtimeWidgetsError(
            f"tool name must be 1-64 letters, digits, '_' or '-', got {name!r}"
        )
