"""The legacy beta dialect, for old OpenAI-compatible clients (``LocalServer(dialect="beta")``).

The engine speaks GA; this translates its events on the way out: beta event names, the flat
beta session shape, beta content part types. OpenAI itself has switched beta off.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.events import BETA_EVENT_NAMES

__all__ = ["to_beta_event"]

_GA_TO_BETA = {ga: beta for beta, ga in BETA_EVENT_NAMES.items()}
_DROPPED = {"conversation.item.done"}  # beta had no such event
_PART_TYPES = {"output_audio": "audio", "output_text": "text"}


def _beta_item(item: dict[str, Any]) -> dict[str, Any]:
    content = [
        {**p, "type": _PART_TYPES.get(p.get("type", ""), p.get("type"))}
        for p in item.get("content", [])
    ]
    return {**item, "content": content} if "content" in item else item


def _beta_session(config: SessionConfig, identity: Mapping[str, Any]) -> dict[str, Any]:
    return {**identity, "model": config.model, **config.to_session("beta")}


def to_beta_event(
    event: dict[str, Any], config: SessionConfig, identity: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The beta form of a GA server event (None: beta had no such event). ``config`` is the
    session's effective config: beta-only settings (temperature) live there, not in GA.
    ``identity``: the session's ``id``, ``object`` and ``expires_at``, which the beta session
    object carried and the GA one (as the SDK models it) does not."""
    kind = event["type"]
    if kind in _DROPPED:
        return None
    out = dict(event)
    out["type"] = _GA_TO_BETA.get(kind, kind)
    if kind in ("session.created", "session.updated"):
        out["session"] = _beta_session(config, identity)
    if isinstance(out.get("item"), dict):
        out["item"] = _beta_item(out["item"])
    if isinstance(out.get("response"), dict) and out["response"].get("output"):
        out["response"] = {
            **out["response"],
            "output": [_beta_item(i) for i in out["response"]["output"]],
        }
    return out
