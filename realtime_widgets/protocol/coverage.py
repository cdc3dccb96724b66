"""What of the official SDK's Realtime types realtime_widgets does not model, and why.

``tests/protocol/test_spec_diff.py`` walks the installed ``openai`` SDK (the session types for
realtime and transcription sessions, recursively; the client and server event unions,
recursively) and compares every field, enum value and event type with our own models. A fact of
the SDK's that we do not model must match a row of :data:`NOT_MODELED` (``fnmatch`` patterns),
or the test fails; a row that matches nothing fails it too, so the table never goes stale.

Facts are written ``scope:path``: the scope is ``realtime`` / ``transcription`` (the ``session``
object), ``client`` or ``server`` (events, ``<type>`` first). ``[]`` is a list's items, ``{}`` a
dict's values, ``<tag>`` a union member, ``=v`` one allowed value.

GPT-Live (``openai/types/live/``) has five scopes: ``live`` (the ``session.start`` session,
:class:`~.live_config.LiveConfig`), ``live_update`` (what ``session.update`` may change),
``live_resource`` (the session a server reports), ``live_client`` and ``live_server`` (the
event unions, :mod:`.live_events`).

Translation sessions have their own scopes: ``translation`` (the session a server reports,
complete with ``id`` and ``expires_at``), ``translation-update`` (the ``session`` of an update:
``audio`` only), ``translation-client`` and ``translation-server`` (the event unions);
everything in them is modeled (:mod:`.translation_config`, :mod:`.translation_events`), so no
row names them.
"""

from __future__ import annotations

__all__ = ["NOT_MODELED"]

_SERVER_ITEM = (
    "Conversation items inside server events are read into the open Item record: id, type, "
    "role, status, content, call_id, name, arguments and output are typed; every other key "
    "(an MCP call's server_label, error, approval ids, ...) is kept untyped (extra='allow') "
    "and read by key in ConversationState. The typed records of each item kind are the "
    "client's, in protocol/items.py."
)

NOT_MODELED: dict[str, str] = {
    # ---- session parameters ----------------------------------------------------------------
    "realtime:model=gpt-4o-*realtime-preview*": (
        "Beta-era preview models. model is an open string, so any name is accepted and sent "
        "verbatim; the model list offers the GA models only."
    ),
    "realtime:model=gpt-*-20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]": (
        "Dated snapshots of the listed models: accepted (model is an open string) but not "
        "offered in the model list, which names the aliases."
    ),
    # ---- server events: nested records -------------------------------------------------------
    "server:<*>.item<*": _SERVER_ITEM,
    "server:<response.*>.response.*": (
        "The response object of response.created/done: id, status, status_details, output, "
        "usage, output_modalities, conversation_id, max_output_tokens and metadata are typed; "
        "its echoed audio settings and the usage token details are kept as open dicts."
    ),
    "server:<response.content_part.*>.part.*": (
        "Content parts: type, text, audio and transcript are typed; the rest is kept untyped."
    ),
    "server:<conversation.item.input_audio_transcription.completed>.usage*": (
        "Transcription usage (tokens or duration) is kept as a dict and shown as it came."
    ),
    "server:<conversation.item.input_audio_transcription.completed>.languages[].*": (
        "Detected languages are kept as dicts ({'code': ...}); nothing reads them yet."
    ),
    "server:<rate_limits.updated>.rate_limits[].*": (
        "Rate limits are kept as dicts (name, limit, remaining, reset_seconds) and shown as "
        "they came."
    ),
    "server:<conversation.created>.conversation.*": (
        "conversation.created is a beta-era event; its conversation object is kept as a dict."
    ),
    # ---- GPT-Live ------------------------------------------------------------------------
    "live*:delegation<responses>.responses.tools[]<shell>.environment<*": (
        "A delegated Responses shell tool's environment (hosted container, container reference "
        "or local skills) is the Responses API's own record; ShellTool passes it through as "
        "a JSON object and the SDK judges it."
    ),
    "live_client:<response.item.create>.item*": (
        "response.item.create carries any Responses API input item (the whole ResponseInputItem "
        "union of the Responses API); it is passed through as a JSON object for the delegated "
        "Responses task, not retyped here."
    ),
    "live_server:<decision.event>.event.decision.*": (
        "The Decision API's answer (answers, probabilities, token usage) is kept as the dict it "
        "came in and shown as it came; nothing in the toolkit reads inside it yet."
    ),
    "live_server:<decision.item.created>.item<*": (
        "Stored Decision items are read into one open record (DecisionStoredItem: id, type, "
        "role, content, call_id, name, arguments, input, output, status typed; the rest kept "
        "by key), as Realtime's server items are; the typed variants are the client's."
    ),
}
