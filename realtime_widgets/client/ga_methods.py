"""GAMethods: the session's methods for images, conversation editing, out-of-band responses and
MCP approval, as thin wrappers over :mod:`realtime_widgets.protocol.items`.

Deleting and truncating items are the session's own (``adelete_item``, ``atruncate``);
``acreate_response`` here replaces the session's with the same overrides, validated, plus
``conversation``, ``metadata`` and ``input``.

A mixin for :class:`~realtime_widgets.client.session.RealtimeSession` (put it first in the
bases: ``class RealtimeSession(GAMethods, SessionTransport)``). Every method builds one client
event with the validated builders (bad input raises :class:`ConfigError` naming the field,
before anything is sent) and hands it to the host's public ``asend_event`` (coroutines) or
its ``_block`` (the blocking twins, made by :func:`~.transport.blocking` as everywhere in
the session); nothing else of the host is used. What the server answers
lands in ``session.state`` (:class:`~realtime_widgets.protocol.state.ConversationState`)::

    item_id = session.send_image(fig, text="What does this plot show?")   # then a response
    session.create_item(items.system_text("Be brief."), previous_item_id="root")
    session.retrieve_item(item_id)
    session.create_response(conversation="none", metadata={"purpose": "title"},
                            input=[items.user_text("Give this chat a title.")])
    for request in session.state.pending_approvals():
        session.approve_mcp(request.id, approve=True)
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel

from realtime_widgets.client.transport import blocking
from realtime_widgets.protocol import items

__all__ = ["GAMethods"]

T = TypeVar("T")


def _with_id(item: BaseModel | dict[str, Any]) -> tuple[BaseModel, str]:
    """The item, typed, with an id (the given one, or a fresh client-side one)."""
    typed = items.as_item(item)
    item_id = getattr(typed, "id", None)
    if item_id is None:
        item_id = items.new_item_id()
        typed = typed.model_copy(update={"id": item_id})
    return typed, str(item_id)


class GAMethods:
    """Images, conversation editing, out-of-band responses and MCP approval (module docstring).

    Each ``a*`` coroutine has a blocking twin without the ``a``.
    """

    if TYPE_CHECKING:
        # Provided by the session this is mixed into (its public seams).
        async def asend_event(self, event: dict[str, Any]) -> None: ...

        def _block(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T: ...

    # ---- images -----------------------------------------------------------------------------

    async def asend_image(
        self,
        image: Any,
        *,
        detail: Literal["auto", "low", "high"] = "auto",
        text: str | None = None,
        previous_item_id: str | None = None,
    ) -> str:
        """Add a user message with an image (a matplotlib figure, PIL image, numpy array, path
        or bytes), optionally with a question; returns the new item's id. Ask for the answer
        with :meth:`acreate_response`."""
        item_id = items.new_item_id()
        item = items.user_image(image, detail=detail, text=text, id=item_id)
        await self.asend_event(items.create_item(item, previous_item_id=previous_item_id))
        return item_id

    send_image = blocking(asend_image)

    # ---- conversation items -------------------------------------------------------------------

    async def acreate_item(
        self, item: BaseModel | dict[str, Any], *, previous_item_id: str | None = None
    ) -> str:
        """Add any item (see :mod:`~realtime_widgets.protocol.items`) after
        ``previous_item_id`` (``"root"``: first; None: last); returns its id."""
        typed, item_id = _with_id(item)
        await self.asend_event(items.create_item(typed, previous_item_id=previous_item_id))
        return item_id

    create_item = blocking(acreate_item)

    async def aretrieve_item(self, item_id: str) -> None:
        """Ask the server for an item (its answer, ``conversation.item.retrieved``, updates
        ``state``; it carries the item's audio)."""
        await self.asend_event(items.retrieve_item(item_id))

    retrieve_item = blocking(aretrieve_item)

    # ---- responses --------------------------------------------------------------------------

    async def acreate_response(
        self,
        /,
        *,
        conversation: Literal["auto", "none"] | None = None,
        metadata: dict[str, str] | None = None,
        input: list[BaseModel | dict[str, Any]] | None = None,
        **overrides: Any,
    ) -> None:
        """Ask for a response. Keyword overrides apply to this response only
        (``instructions``, ``output_modalities``, ``tools``, ``tool_choice``,
        ``max_output_tokens``, ``audio``, ``reasoning``, ...); ``conversation="none"`` makes it
        out of band (kept out of the transcript; see ``state.out_of_band_responses()``) and
        ``input`` gives it its own context."""
        await self.asend_event(
            items.create_response(
                conversation=conversation, metadata=metadata, input=input, **overrides
            )
        )

    create_response = blocking(acreate_response)

    # ---- MCP ----------------------------------------------------------------------------------

    async def aapprove_mcp(
        self, approval_request_id: str, approve: bool = True, *, reason: str | None = None
    ) -> None:
        """Answer an MCP approval request (``state.pending_approvals()``): run the tool call,
        or with ``approve=False`` refuse it."""
        await self.asend_event(items.approve_mcp(approval_request_id, approve, reason=reason))

    approve_mcp = blocking(aapprove_mcp)
