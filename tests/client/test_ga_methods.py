"""RealtimeSession's GA methods: images, item editing, out-of-band responses and the MCP
approval flow, against a scripted peer that checks every client event with the official SDK,
and against the local server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import numpy as np
import pytest
from websockets.asyncio.server import ServerConnection

from realtime_widgets import ConfigError, SessionConfig
from realtime_widgets.client import Endpoint, RealtimeSession
from realtime_widgets.protocol import items
from realtime_widgets.server.app import LocalServer
from tests.protocol.sdk_oracle import check_client_event, check_server_event
from tests.waiting import eventually

from .conftest import ThreadPeer

GASession = RealtimeSession  # the GA methods are RealtimeSession's own


def _item(item_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": item_id, **fields}


class McpPeer:
    """A scripted OpenAI: one response that asks to approve an MCP call, then runs it once the
    client approves; out-of-band responses answered with text. Records every client event."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.sdk_problems: list[str] = []
        self.sent: list[dict[str, Any]] = []
        self.order: list[str] = []  # the conversation's item ids, as the peer keeps them
        self._n = 0

    async def _send(self, ws: ServerConnection, event: dict[str, Any]) -> None:
        self._n += 1
        event = {"event_id": f"event_{self._n}", **event}
        check_server_event(event)  # the script is what OpenAI could send
        self.sent.append(event)
        await ws.send(json.dumps(event))

    async def handler(self, ws: ServerConnection) -> None:
        await self._send(
            ws,
            {
                "type": "session.created",
                # Only what the SDK models (no id or expires_at): the script passes the oracle.
                "session": {"type": "realtime"},
            },
        )
        async for text in ws:
            event = json.loads(text)
            self.received.append(event)
            try:
                check_client_event(event)
            except AssertionError as exc:
                self.sdk_problems.append(str(exc))
            await self._answer(ws, event)

    async def _answer(self, ws: ServerConnection, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "conversation.item.create":
            item = dict(event["item"])
            if item["type"] in ("message", "function_call", "function_call_output"):
                item["object"] = "realtime.item"
            item.setdefault("id", f"item_peer{self._n}")
            previous = event.get("previous_item_id")
            if previous is None:  # appended: after the newest item, as OpenAI reports it
                previous = self.order[-1] if self.order else None
            self.order.insert(
                0 if previous == "root" else self.order.index(previous) + 1 if previous else 0,
                item["id"],
            )
            await self._send(
                ws,
                {
                    "type": "conversation.item.added",
                    "previous_item_id": None if previous == "root" else previous,
                    "item": item,
                },
            )
            if item["type"] == "mcp_approval_response" and item["approve"]:
                await self._run_mcp_call(ws, item["approval_request_id"])
        elif kind == "response.create":
            params = event.get("response") or {}
            if params.get("conversation") == "none":
                await self._out_of_band(ws, params)
            else:
                await self._ask_approval(ws)

    async def _ask_approval(self, ws: ServerConnection) -> None:
        request = _item(
            "mcpr_1",
            type="mcp_approval_request",
            server_label="docs",
            name="search",
            arguments='{"q": "realtime"}',
        )
        resp = {
            "id": "resp_1",
            "object": "realtime.response",
            "status": "in_progress",
            "conversation_id": "conv_1",
            "output": [],
        }
        await self._send(ws, {"type": "response.created", "response": resp})
        await self._send(
            ws,
            {
                "type": "response.output_item.added",
                "response_id": "resp_1",
                "output_index": 0,
                "item": request,
            },
        )
        previous = self.order[-1] if self.order else None
        self.order.append("mcpr_1")
        await self._send(
            ws, {"type": "conversation.item.added", "previous_item_id": previous, "item": request}
        )
        await self._send(
            ws,
            {
                "type": "response.output_item.done",
                "response_id": "resp_1",
                "output_index": 0,
                "item": request,
            },
        )
        await self._send(
            ws,
            {
                "type": "response.done",
                "response": {**resp, "status": "completed", "output": [request]},
            },
        )

    async def _run_mcp_call(self, ws: ServerConnection, request_id: str) -> None:
        call = _item(
            "mcp_1",
            type="mcp_call",
            server_label="docs",
            name="search",
            arguments='{"q": "realtime"}',
            approval_request_id=request_id,
            output="3 results",
        )
        resp = {
            "id": "resp_2",
            "object": "realtime.response",
            "status": "in_progress",
            "conversation_id": "conv_1",
            "output": [],
        }
        await self._send(ws, {"type": "response.created", "response": resp})
        await self._send(
            ws,
            {
                "type": "response.output_item.added",
                "response_id": "resp_2",
                "output_index": 0,
                "item": {**call, "output": None},
            },
        )
        await self._send(
            ws, {"type": "response.mcp_call.in_progress", "item_id": "mcp_1", "output_index": 0}
        )
        await self._send(
            ws, {"type": "response.mcp_call.completed", "item_id": "mcp_1", "output_index": 0}
        )
        await self._send(
            ws,
            {
                "type": "response.output_item.done",
                "response_id": "resp_2",
                "output_index": 0,
                "item": call,
            },
        )
        await self._send(
            ws,
            {
                "type": "response.done",
                "response": {**resp, "status": "completed", "output": [call]},
            },
        )

    async def _out_of_band(self, ws: ServerConnection, params: dict[str, Any]) -> None:
        text = f"seen {len(params.get('input') or [])} input items"
        item = _item(
            "item_oob",
            object="realtime.item",
            type="message",
            status="completed",
            role="assistant",
            content=[{"type": "output_text", "text": text}],
        )
        resp = {
            "id": "resp_oob",
            "object": "realtime.response",
            "status": "in_progress",
            "conversation_id": None,
            "output": [],
            "metadata": params.get("metadata"),
        }
        await self._send(ws, {"type": "response.created", "response": resp})
        await self._send(
            ws,
            {
                "type": "response.output_item.added",
                "response_id": "resp_oob",
                "output_index": 0,
                "item": {**item, "content": []},
            },
        )
        await self._send(
            ws,
            {
                "type": "response.output_text.delta",
                "response_id": "resp_oob",
                "item_id": "item_oob",
                "output_index": 0,
                "content_index": 0,
                "delta": text,
            },
        )
        await self._send(
            ws,
            {
                "type": "response.output_item.done",
                "response_id": "resp_oob",
                "output_index": 0,
                "item": item,
            },
        )
        await self._send(
            ws,
            {
                "type": "response.done",
                "response": {**resp, "status": "completed", "output": [item]},
            },
        )


def _session(url: str) -> GASession:
    return GASession(endpoint=Endpoint.local(url, "m"), reconnect=False)


def test_mcp_approval_flow_end_to_end_against_a_scripted_peer() -> None:
    peer = McpPeer()
    with ThreadPeer(peer.handler) as server:
        s = _session(server.url)
        try:
            s.connect()
            mark = s.mark()
            s.create_response()
            s.wait_for("response.done", since=mark)
            (pending,) = s.state.pending_approvals()
            assert (pending.id, pending.server_label, pending.name) == ("mcpr_1", "docs", "search")
            mark = s.mark()
            s.approve_mcp(pending.id, approve=True)
            done = s.wait_for("response.done", since=mark)
            assert done.response.id == "resp_2"  # type: ignore[attr-defined]
            assert s.state.pending_approvals() == []
            ids = [it.id for it in s.state.ordered_items()]
            answer = next(
                it for it in s.state.ordered_items() if it.type == "mcp_approval_response"
            )
            assert (answer.approval_request_id, answer.approve) == ("mcpr_1", True)
            assert ids[0] == "mcpr_1"
            assert "mcp_1" in ids
            assert s.state.items["mcp_1"].output == "3 results"
        finally:
            s.close()
    sent = [e for e in peer.received if e["type"] == "conversation.item.create"]
    assert sent[0]["item"]["type"] == "mcp_approval_response"
    assert sent[0]["item"]["approval_request_id"] == "mcpr_1"
    assert peer.sdk_problems == []


def test_editing_and_out_of_band_against_a_scripted_peer() -> None:
    peer = McpPeer()
    with ThreadPeer(peer.handler) as server:
        s = _session(server.url)
        try:
            s.connect()
            first = s.create_item(items.user_text("one"))
            mark = s.mark()
            system = s.create_item(items.system_text("Be brief."), previous_item_id="root")
            s.wait_for(
                "conversation.item.added", since=mark, predicate=lambda e: e.item.id == system
            )  # type: ignore[attr-defined]
            assert [it.id for it in s.state.ordered_items()] == [system, first]
            image_id = s.send_image(np.zeros((8, 8, 3)), detail="low", previous_item_id=system)
            eventually(lambda: image_id in s.state.items)
            assert [it.id for it in s.state.ordered_items()] == [system, image_id, first]
            assert s.state.items[image_id].image_urls[0].startswith("data:image/png;base64,")
            s.retrieve_item(first)
            mark = s.mark()
            s.create_response(
                conversation="none",
                metadata={"purpose": "title"},
                input=[
                    items.user_text("Title?"),
                    {
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": "Short."}],
                    },
                ],
            )
            s.wait_for("response.done", since=mark)
            (oob,) = s.state.out_of_band_responses()
            assert oob.metadata == {"purpose": "title"}
            assert [it.text for it in s.state.response_items(oob.id)] == ["seen 2 input items"]
            assert "item_oob" not in [it.id for it in s.state.ordered_items()]
            with pytest.raises(ConfigError) as caught:
                s.create_response(voice="marin")  # not a response parameter (audio.output.voice)
            assert caught.value.field == "response.voice"
        finally:
            s.close()
    kinds = [e["type"] for e in peer.received]
    assert kinds == [
        "conversation.item.create",
        "conversation.item.create",
        "conversation.item.create",
        "conversation.item.retrieve",
        "response.create",
    ]
    assert peer.received[1]["previous_item_id"] == "root"
    assert peer.received[2]["item"]["content"][0]["detail"] == "low"
    assert peer.received[4]["response"]["conversation"] == "none"
    assert peer.sdk_problems == []


def test_async_forms_against_the_local_server() -> None:
    async def go() -> tuple[str, str]:
        async with LocalServer(pace=0, speech=False) as server:
            config = SessionConfig(output_modalities=["text"])
            session = GASession(config, endpoint=Endpoint.local(server.url, config.model))
            async with session as s:
                mark = s.mark()
                item_id = await s.asend_image(np.ones((30, 40)), text="What is this?")
                await s.acreate_response(instructions="Describe what you received.")
                done = await s.await_event("response.done", since=mark)
                return item_id, done.response.output[0].content[0].text or ""  # type: ignore[attr-defined]

    item_id, text = asyncio.run(go())
    assert item_id.startswith("item_")
    assert "You said: What is this? " in text  # one end mark, not "?."
    assert "a 40x30 image/png" in text


def test_the_ga_methods_use_only_the_public_send_seam() -> None:
    import ast
    import inspect
    import textwrap

    names = ["send_image", "create_item", "retrieve_item", "create_response", "approve_mcp"]
    used: set[str] = set()
    for name in names:
        tree = ast.parse(textwrap.dedent(inspect.getsource(getattr(RealtimeSession, f"a{name}"))))
        used |= {
            node.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
        }
        # The blocking twin is made by `blocking` (which runs it on the I/O loop), as every
        # session method's is.
        assert getattr(RealtimeSession, name).__name__ == name
    # The coroutines send through the public asend_event, nothing else of the session.
    assert used == {"asend_event"}
