"""Which session fields are locked, and why, as functions of a config (for the panel and callers
that hold a config, not a class).

The rules themselves are :meth:`~.configbase.ConfigModel.locked_fields` (derived from each
field's :class:`~.configbase.Param`; a config may override it), and the check that uses them,
:meth:`~.configbase.ConfigModel.check_transition`. Their users: the local server's
``session.update`` handler (what a live session refuses to change), ``to_session_update`` and
the ``ConfigPanel`` (which controls it disables, with the reason shown)::

    locked_fields(config, live=True, assistant_has_spoken=True)
    # {"temperature": "beta dialect only: the GA API has no temperature",
    #  "model": "model cannot change during a session: connect a new session",
    #  "voice": "voice cannot change once the assistant has spoken",
    #  "turn_detection.eagerness": "only for semantic_vad", ...}
"""

from __future__ import annotations

from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.configbase import ConfigModel, Dialect

__all__ = ["locked_fields", "variant_fields"]


def locked_fields(
    config: ConfigModel,
    *,
    live: bool = False,
    assistant_has_spoken: bool = False,
    dialect: Dialect = "ga",
) -> dict[str, str]:
    """Field (or dotted variant field) -> why it cannot be set now, as a sentence: the config's
    :meth:`~.configbase.ConfigModel.locked_fields`.

    ``config`` is the session's current config (the effective one for a live session, else
    what would be sent); ``live``: a session is connected; ``assistant_has_spoken``: assistant
    audio exists in the conversation. Fields not in the result may be changed. The sentences
    are short enough for a control's note (the panel shows the current value beside it).
    """
    return config.locked_fields(
        live=live, assistant_has_spoken=assistant_has_spoken, dialect=dialect
    )


def variant_fields(name: str, cls: type[ConfigModel] = SessionConfig) -> dict[str, list[str]]:
    """For a field holding one of several typed variants (``turn_detection``, the audio
    formats): each variant-specific sub-field's dotted path -> the variants that have it."""
    return cls.variant_fields(name)
