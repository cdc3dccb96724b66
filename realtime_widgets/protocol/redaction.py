"""Secrets kept out of everything but the wire: copies of data with them removed or replaced.

Which keys are secret is declared once, on the config's fields (:data:`~.parts.SECRET`, e.g.
``McpTool.authorization``); :data:`~.parts.SECRET_KEYS` lists them by the wire ``type`` of the
object holding them. So one walk serves every consumer, whatever the data's shape: a preset
(secrets dropped), an export (an environment-variable reference instead), a recording or the
event log (a marker), the panel's JSON editor (dropped, then restored from the kernel's config
by :func:`keep_secrets`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from realtime_widgets.protocol.parts import MAX_VALUE_DEPTH, SECRET_KEYS

if TYPE_CHECKING:  # below the config: the walk knows objects by their wire type only
    from realtime_widgets.protocol.config import SessionConfig

__all__ = [
    "REDACTED",
    "env_name",
    "has_secrets",
    "keep_secrets",
    "marked",
    "names_secret",
    "redact",
]

REDACTED = "<secret: not recorded>"

# Where an MCP tool's credentials go: a preset's tool gets the current token only when it names
# the same server, so a shared preset cannot send someone's token to a server of its choosing.
_TARGET_KEYS = ("type", "server_label", "server_url", "connector_id", "tunnel_id")

Replacement = Callable[[dict[str, Any], str], Any]


def redact(data: Any, replace: Replacement | None = None) -> Any:
    """``data`` (JSON-like: dicts, lists, scalars) with every secret dropped, or replaced by
    ``replace(holder, key)`` when given (``holder`` is the dict that held it). A secret key
    whose value is null holds nothing and is left as it is.

    Returns ``data`` itself when it holds no secret, so calling it on every event is cheap.
    A secret sits a few levels deep (event > session > tools > tool); the walk stops at
    MAX_VALUE_DEPTH, so a hostile value nested thousands deep cannot exhaust the stack.
    """
    return _redact(data, replace, MAX_VALUE_DEPTH)


def _redact(data: Any, replace: Replacement | None, budget: int) -> Any:
    if budget <= 0:
        return data
    if isinstance(data, dict):
        tag = data.get("type")
        hidden = SECRET_KEYS.get(tag, ()) if isinstance(tag, str) else ()
        out: dict[str, Any] = {}
        changed = False
        for key, value in data.items():
            if key in hidden and value is not None:
                changed = True
                if replace is not None:
                    out[key] = replace(data, key)
                continue
            new = _redact(value, replace, budget - 1)
            changed = changed or new is not value
            out[key] = new
        return out if changed else data
    if isinstance(data, list):
        items = [_redact(v, replace, budget - 1) for v in data]
        return items if any(a is not b for a, b in zip(items, data, strict=True)) else data
    return data


def marked(data: Any) -> Any:
    """``data`` with every secret replaced by :data:`REDACTED` (what recordings and the event
    log keep: the key stays, so a reader sees that a secret was there)."""
    return redact(data, _marker)


def _marker(_holder: dict[str, Any], _key: str) -> str:
    return REDACTED


# A secret key as it appears in JSON text (``"authorization"``), for text not parsed here.
_SECRET_NAMES = tuple(f'"{key}"' for keys in SECRET_KEYS.values() for key in keys)


def names_secret(text: str) -> bool:
    """Does JSON ``text`` name a secret key? (A cheap test before parsing: False means it holds
    no secret; True means it may.)"""
    return any(name in text for name in _SECRET_NAMES)


def has_secrets(data: Any) -> bool:
    """Does ``data`` hold a secret (a non-null value under a secret key)?"""
    return redact(data) is not data


def env_name(holder: dict[str, Any], key: str) -> str:
    """The environment variable an export reads a secret from: ``MCP_DOCS_AUTHORIZATION`` for
    the ``authorization`` of the MCP tool labelled ``docs``."""
    label = holder.get("server_label") or holder.get("name") or ""
    parts = [str(holder.get("type", "")), str(label), key]
    return "_".join(re.sub(r"[^A-Za-z0-9]+", "_", p).strip("_").upper() for p in parts if p)


def keep_secrets(config: SessionConfig, current: SessionConfig) -> tuple[SessionConfig, list[str]]:
    """``config`` (a loaded preset, an edited tool list) with the secrets ``current`` holds for
    the same servers, and notes for the status line: what was kept, and which tools are left
    without an authorization.

    A tool that sets a secret itself keeps its own; a tool whose server differs (same label,
    another URL) gets nothing.
    """
    by_target = {_target(t): t for t in _dumps(current)}
    tools: list[dict[str, Any]] = []
    notes: list[str] = []
    changed = False
    for tool in _dumps(config):
        keys = SECRET_KEYS.get(str(tool.get("type")), ())
        have = by_target.get(_target(tool), {})
        if keys and not any(tool.get(k) is not None for k in keys):
            kept = [k for k in keys if have.get(k) is not None]
            if kept:
                tool = {**tool, **{k: have[k] for k in kept}}
                changed = True
                notes.append(
                    f"kept the {' and '.join(kept)} of MCP server {tool['server_label']!r}"
                )
        if keys and tool.get("authorization") is None:
            notes.append(
                f"MCP server {tool.get('server_label')!r} has no authorization: presets never "
                "carry one"
            )
        tools.append(tool)
    return (config.with_changes(tools=tools) if changed else config), notes


def _dumps(config: SessionConfig) -> list[dict[str, Any]]:
    return [t.model_dump() for t in config.tools]


def _target(tool: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(tool.get(k) for k in _TARGET_KEYS)
