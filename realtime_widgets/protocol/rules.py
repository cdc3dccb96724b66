"""Which session fields are locked, and why: derived from the fields' :class:`~.config.Param`.

One function, :func:`locked_fields`, answers for a config and a session's state. Its users:
:func:`~.wire.check_transition` (what a live session refuses to change), the local server's
``session.update`` handler (through ``check_transition``) and the ``ConfigPanel`` (which
controls it disables, with the reason shown)::

    locked_fields(config, live=True, assistant_has_spoken=True)
    # {"temperature": "beta dialect only: the GA API has no temperature",
    #  "model": "model cannot change during a session: connect a new session",
    #  "voice": "voice cannot change once the assistant has spoken",
    #  "turn_detection.eagerness": "only for semantic_vad", ...}

The rules, all read from the model:

- ``mutable="never"`` (the model) while the session is live;
- a field the dialect does not have (``Param.ga`` / ``Param.beta`` is None);
- ``mutable="frozen_once_set"`` (tracing) once the live session has a value;
- ``mutable="until_assistant_audio"`` (the voice) once the assistant has spoken;
- the fields of the variants a section is not (``turn_detection.eagerness`` under
  ``server_vad``, ``input_audio_format.rate`` for G.711), keyed by dotted path.
"""

from __future__ import annotations

from typing import Literal

from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.introspect import literal_values, models_in

__all__ = ["locked_fields", "variant_fields"]

Dialect = Literal["ga", "beta"]


def locked_fields(
    config: SessionConfig,
    *,
    live: bool = False,
    assistant_has_spoken: bool = False,
    dialect: Dialect = "ga",
) -> dict[str, str]:
    """Field (or dotted variant field) -> why it cannot be set now, as a sentence.

    ``config`` is the session's current config (the effective one for a live session, else
    what would be sent); ``live``: a session is connected; ``assistant_has_spoken``: assistant
    audio exists in the conversation. Fields not in the result may be changed. The sentences
    are short enough for a control's note (the panel shows the current value beside it).
    """
    locks: dict[str, str] = {}
    here, other = ("GA", "beta") if dialect == "ga" else ("beta", "GA")
    for name, param in SessionConfig.PARAMS.items():
        value = getattr(config, name)
        if param.mutable == "never" and live:
            locks[name] = f"{name} cannot change during a session: connect a new session"
        elif (param.ga if dialect == "ga" else param.beta) is None:
            locks[name] = f"{other} dialect only: the {here} API has no {name}"
        elif param.mutable == "frozen_once_set" and live and value is not None:
            locks[name] = f"{name} cannot be modified once enabled"
        elif param.mutable == "until_assistant_audio" and assistant_has_spoken:
            locks[name] = f"{name} cannot change once the assistant has spoken"
    for name, value in config.items():
        kind = getattr(value, "type", None)
        for path, variants in variant_fields(name).items():
            if kind is not None and kind not in variants:
                locks[path] = "only for " + " / ".join(variants)
    return locks


def variant_fields(name: str) -> dict[str, list[str]]:
    """For a field holding one of several typed variants (``turn_detection``, the audio
    formats): each variant-specific sub-field's dotted path -> the variants that have it."""
    annotation = SessionConfig.model_fields[name].annotation
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
