"""TranscriptView: user and assistant turns in conversation order, streaming as they happen.

Each delta goes to the browser as one small custom message (O(delta): never the whole
transcript per delta). ``snapshot`` (a synced trait, refreshed at most once a second and at the
end of each response) lets a saved notebook re-render the conversation without a kernel.

Each item has a menu: *Play audio* asks the kernel for the item's audio (user or assistant, kept
by :class:`ItemAudio`), which comes back as one WAV buffer and plays in an ``<audio>`` player in
the row; *Delete* sends ``conversation.item.delete`` and the row goes when the server confirms.
The menu's messages hop to the session loop, where the view's state lives
(:mod:`~realtime_widgets.widgets.browser_messages`).

A toolbar above the rows: *New conversation* (a fresh session with the same settings and
connection, when the view has a hook for it: the Playground's), *Clear transcript* (empties this
view only: the server's conversation, which the model still remembers, is unchanged), and
*Download* the rows shown as ``transcript.txt`` (speaker and time per turn) or
``transcript.json`` (the items as the session holds them, secrets dropped). The files are made
here and handed to the browser, which saves them (a Blob download).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

from realtime_widgets.client.session import RealtimeSession
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.events import ServerEvent
from realtime_widgets.protocol.redaction import REDACTED, marked, names_secret, redact
from realtime_widgets.protocol.state import ConversationState, ItemState
from realtime_widgets.widgets.browser_messages import (
    BrowserMessages,
    on_session_loop,
    read_on_session_loop,
)
from realtime_widgets.widgets.item_audio import ItemAudio
from realtime_widgets.widgets.listening import Listening
from realtime_widgets.widgets.streamed_view import StreamedView
from realtime_widgets.widgets.thumbnails import thumbnails

__all__ = ["TranscriptView"]


INTERRUPTED = "(reply interrupted by a lost connection)"


def ended_note(details: dict[str, Any] | None, truncated_at_ms: int | None = None) -> str:
    """Why a reply stopped short, from its ``response.done`` ``status_details`` (and, when the
    client truncated it, how much was heard); "" for a reply that completed."""
    if not details or details.get("type") not in ("cancelled", "incomplete", "failed"):
        return ""
    heard = "" if truncated_at_ms is None else f", {truncated_at_ms / 1000:.1f} s heard"
    reason = details.get("reason")
    if details["type"] == "failed":
        error = details.get("error") or {}
        message = error.get("message") or error.get("code") or "no reason given"
        return f"(reply failed: {_first_clause(str(message))})"
    why = {
        "turn_detected": "cut off when you spoke",
        "client_cancelled": "cancelled",
        "max_output_tokens": "stopped at max_output_tokens",
        "content_filter": "stopped by the content filter",
    }.get(str(reason), f"{details['type']}: {reason or 'no reason given'}")
    return f"({why}{heard})"


def _row(
    item: ItemState,
    transcribing: bool | None = None,
    interrupted: bool = False,
    ended: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One transcript row; ``ended``: the status details of the response that made the item."""
    stopped = ended_note(ended, item.truncated_at_ms) if item.role == "assistant" else ""
    row = {
        "id": item.id,
        "role": item.role or item.type,
        "type": item.type,
        "text": _text(item),
        "note": INTERRUPTED if interrupted else (stopped or _note(item, transcribing)),
        "audio": _has_audio(item),
    }
    if item.image_urls:  # only rows with images carry them (most ops are small text updates)
        row["images"] = thumbnails(item)
    return row


def _has_audio(item: ItemState) -> bool:
    """Whether the item is spoken audio (user input or an assistant's spoken reply)."""
    if item.role == "user":
        return "input_audio" in item.content_types
    return item.audio_bytes > 0 or "output_audio" in item.content_types


def _text(item: ItemState) -> str:
    if item.type == "function_call":
        return f"{item.name or 'tool'}({_without_secrets(item.arguments)})"
    if item.type == "function_call_output":
        return _without_secrets(item.output or "")
    return item.text


def _without_secrets(text: str) -> str:
    """A tool's JSON arguments or output with any secret it names marked (an MCP tool's
    authorization: protocol/redaction.py), for the rows, the snapshot and the downloads. Text
    that names one but is not JSON (still streaming, or cut) is withheld whole."""
    if not names_secret(text):
        return text
    try:
        data = json.loads(text)
    except ValueError:
        return REDACTED
    return json.dumps(marked(data), ensure_ascii=False)


def _view(content: dict[str, Any]) -> dict[str, str]:
    """The asking view's token (transcript.js), to address the reply to it: ``{"view": ...}``,
    or nothing for a request that names no view (then every view takes the reply)."""
    view = content.get("view")
    return {"view": view} if isinstance(view, str) else {}


def _note(item: ItemState, transcribing: bool | None = None) -> str:
    """What is true about the item's text now. ``transcribing``: whether the session transcribes
    user audio (None: not known, e.g. a state fed by hand)."""
    if item.truncated_at_ms is not None:
        return f"(truncated at {item.truncated_at_ms / 1000:.1f} s)"
    if item.transcript_state == "failed":
        return f"(no transcript: {_first_clause(item.transcript_error or 'transcription failed')})"
    if item.role == "user" and item.transcript_state == "pending":
        if transcribing is False:
            return "(no transcript: transcription is off)"
        return "(awaiting transcript)"
    return ""


def _first_clause(message: str) -> str:
    """The error's first clause, without the advice that follows (the event log has it all)."""
    head = message.split(": ", 1)[0].split(". ", 1)[0].rstrip(".")
    return head[:1].lower() + head[1:] if head[:2] != head[:2].upper() else head


# How each role is named in the view and in transcript.txt (transcript.js has the same labels).
LABELS = {
    "user": "You",
    "assistant": "Assistant",
    "system": "System",
    "function_call": "Tool call",
    "function_call_output": "Tool output",
}
# ItemState fields transcript.json leaves out: the pieces of a text it gives whole (``text``,
# ``arguments``: the arguments without their secrets), bookkeeping.
_NOT_SAVED = ("chunks", "arguments_chunks", "arguments_final", "kept_chars")
TRANSCRIPT_FORMAT = "realtime_widgets.transcript"


def _clock(seconds: float | None) -> str:
    return "--:--:--" if seconds is None else time.strftime("%H:%M:%S", time.localtime(seconds))


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(seconds))


class TranscriptView(StreamedView, BrowserMessages, Listening, anywidget.AnyWidget):
    """The conversation of a session (or of a :class:`ConversationState` fed by hand)."""

    _esm = Path(__file__).with_name("transcript.js")
    snapshot = t.List(t.Dict()).tag(sync=True)
    height = t.Unicode("320px").tag(sync=True)
    restartable = t.Bool(False, help="whether the toolbar offers New conversation").tag(sync=True)
    session: RealtimeSession | None  # (a conversation: never a translation session)

    def __init__(self, session: RealtimeSession | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.state = session.state if session is not None else ConversationState()
        self.audio = ItemAudio(session)
        self._listen(self.audio.close)
        self.deletes_requested: list[str] = []
        self._start_stream()
        self._interrupted: set[str] = set()  # items of replies cut by a lost connection
        self._cleared: set[str] = set()  # items Clear transcript took out of the view
        self._seen: dict[str, float] = {}  # item id -> when the view first had it (epoch s)
        self._new_conversation: Callable[[], Any] | None = None
        self._receive_browser_messages()
        if session is not None:
            self._listen(session.on("*", self.observe_event))

    # ---- browser -> kernel: the toolbar and the item menu ----------------------------------------

    def on_new_conversation(self, callback: Callable[[], Any] | None) -> None:
        """What the toolbar's *New conversation* calls (on the kernel's thread, as a button's
        click is): the Playground's ``new_conversation``. None hides the button."""
        self._new_conversation = callback
        self.restartable = callback is not None

    def _on_browser(self, widget: Any, content: dict[str, Any], buffers: list[bytes]) -> None:
        if content.get("type") == "new":
            # Not on the session loop: a new conversation closes this session (and this view).
            self._start_new_conversation(_view(content))
            return
        super()._on_browser(widget, content, buffers)

    def _start_new_conversation(self, view: dict[str, str]) -> None:
        callback = self._new_conversation
        if callback is None:
            return
        try:
            callback()
        except Exception as exc:  # shown in the toolbar, never raised into the browser's click
            self.send({"op": "notice", **view, "error": f"new conversation failed: {exc}"})

    def handle_browser(
        self, content: dict[str, Any], buffers: list[bytes], received: float
    ) -> None:
        """The toolbar's and the item menu's requests (on the session loop): clear the view,
        download the transcript, play an item, delete one. A reply carries the token of the
        view that asked (``view``), so a second view of the transcript does not act on it."""
        kind, item_id, view = content.get("type"), content.get("id"), _view(content)
        if kind == "clear":
            self._clear()
        elif kind == "download":
            self._download(str(content.get("format")), view)
        if not isinstance(item_id, str):
            return
        if kind == "audio":
            wav = self.audio.wav(item_id)
            reply = {"op": "audio", "id": item_id, **view}
            if wav is None:
                self.send({**reply, "error": "no audio kept for this item"})
            else:
                self.send({**reply, "mime": "audio/wav"}, [wav])
        elif kind == "delete":
            self._delete(item_id, view)

    # ---- the toolbar: clear, download ------------------------------------------------------------

    def clear(self) -> None:
        """Empty the view. Only the view: the server's conversation is unchanged (the model
        still remembers it; *New conversation* starts a fresh one). Items that come later show."""
        on_session_loop(self.session, self._clear)

    def _clear(self) -> None:
        self._cleared.update(self.state.items)
        self.messages_sent += 1
        self.send({"op": "clear"})
        self.snapshot = self._snapshot_rows()

    def _shown(self) -> list[ItemState]:
        return [i for i in self.state.ordered_items() if i.id not in self._cleared]

    def transcript_text(self) -> str:
        """``transcript.txt``: the rows shown, one turn a line, with the speaker and the time
        the view got it; each text is the final one (typed, transcribed, the reply's text or
        transcript), with its note (cut off, truncated, no transcript)."""
        return read_on_session_loop(self.session, self._text_file)

    def transcript_json(self) -> str:
        """``transcript.json``: the rows shown, as the session holds the items (every
        ItemState field, texts whole, secrets dropped), with each row's note and time."""
        return read_on_session_loop(self.session, self._json_file)

    def _about(self) -> tuple[str | None, str | None]:
        session = self.session
        if session is None:
            return None, None
        return session.session_id, (session.effective or session.requested).model

    def _text_file(self) -> str:
        session_id, model = self._about()
        head = "Transcript" + (f" of session {session_id}" if session_id else "")
        head += f", model {model}" if model else ""
        lines = [f"{head}, saved {time.strftime('%Y-%m-%d %H:%M:%S')}", ""]
        for item in self._shown():
            row = self._row(item)
            who = LABELS.get(row["role"], row["role"])
            images = [f"[image: {i['caption']}]" for i in row.get("images", [])]
            said = " ".join(p for p in (row["text"], *images, row["note"]) if p) or "(no text)"
            said = said.replace("\n", "\n    ")  # a turn's later lines, indented under it
            lines.append(f"[{_clock(self._seen.get(item.id))}] {who}: {said}")
        return "\n".join(lines) + "\n"

    def _json_file(self) -> str:
        session_id, model = self._about()
        data = {
            "format": TRANSCRIPT_FORMAT,
            "version": 1,
            "session_id": session_id,
            "model": model,
            "saved_at": _iso(time.time()),
            "items": [self._item_json(i) for i in self._shown()],
        }
        return json.dumps(redact(data), indent=2, ensure_ascii=False) + "\n"

    def _item_json(self, item: ItemState) -> dict[str, Any]:
        saved: dict[str, Any] = {
            f.name: getattr(item, f.name)
            for f in dataclasses.fields(item)
            if f.name not in _NOT_SAVED
        }
        saved["logprobs"] = [p.model_dump(mode="json") for p in item.logprobs]
        saved["text"] = item.text
        saved["arguments"] = _without_secrets(item.arguments)
        saved["output"] = None if item.output is None else _without_secrets(item.output)
        saved["note"] = self._row(item)["note"]
        saved["seen_at"] = _iso(self._seen.get(item.id))
        return saved

    def _download(self, kind: str, view: dict[str, str]) -> None:
        if kind == "json":
            name, mime, text = "transcript.json", "application/json", self._json_file()
        elif kind == "text":
            name, mime, text = "transcript.txt", "text/plain", self._text_file()
        else:
            return
        self.send({"op": "file", **view, "filename": name, "mime": mime, "text": text})

    # ---- the item menu ---------------------------------------------------------------------------

    def delete(self, item_id: str) -> None:
        """Ask the server to delete the item (``conversation.item.delete``); the row goes when
        ``conversation.item.deleted`` arrives."""
        self._delete(item_id, {})

    def _delete(self, item_id: str, view: dict[str, str]) -> None:
        session = self.session
        if session is None or not session.connected:
            error = "not connected: cannot delete"
            self.send({"op": "error", "id": item_id, **view, "error": error})
            return
        self.deletes_requested.append(item_id)
        future = session.submit(session.adelete_item(item_id))
        future.add_done_callback(lambda f: self._delete_done(item_id, f, view))

    def _delete_done(self, item_id: str, future: Any, view: dict[str, str]) -> None:
        if not future.cancelled() and future.exception() is not None:
            exc = future.exception()
            self.send({"op": "error", "id": item_id, **view, "error": f"delete failed: {exc}"})

    def _closes(self, event: ServerEvent) -> bool:
        return isinstance(event, ev.ResponseDone)

    def _snapshot_rows(self) -> list[dict[str, Any]]:
        return [self._row(i) for i in self._shown()]

    def _transcribing(self) -> bool | None:
        session = self.session
        if session is None:
            return None
        config = session.effective or session.requested
        return config.transcription is not None

    def _row(self, item: ItemState) -> dict[str, Any]:
        response = self.state.responses.get(item.response_id) if item.response_id else None
        ended = response.status_details if response is not None else None
        return _row(item, self._transcribing(), item.id in self._interrupted, ended)

    def _place(self, item_id: str) -> dict[str, Any]:
        self._seen.setdefault(item_id, time.time())
        order = [i.id for i in self._shown()]
        index = order.index(item_id) if item_id in order else len(order)
        after = order[index - 1] if index > 0 else None
        return {"op": "item", "after": after, **self._row(self.state.items[item_id])}

    def _ops(self, event: ServerEvent) -> list[dict[str, Any]]:
        # Items Clear transcript took out of the view stay out of it.
        return [op for op in self._item_ops(event) if op.get("id") not in self._cleared]

    def _item_ops(self, event: ServerEvent) -> list[dict[str, Any]]:
        items = self.state.items
        if isinstance(
            event, ev.ConversationItemAdded | ev.ConversationItemDone | ev.ResponseOutputItemAdded
        ):
            item_id = event.item.id or ""
            if item_id not in items:
                return []
            first = item_id not in self._known
            self._known.add(item_id)
            return (
                [self._place(item_id)]
                if first
                else [{"op": "text", "id": item_id, **self._row(items[item_id])}]
            )
        if isinstance(
            event,
            ev.ResponseOutputAudioTranscriptDelta
            | ev.ResponseOutputTextDelta
            | ev.InputTranscriptionDelta
            | ev.FunctionCallArgumentsDelta,
        ):
            if event.item_id not in self._known and event.item_id in items:
                self._known.add(event.item_id)
                return [self._place(event.item_id)]
            item = items.get(event.item_id)
            if (
                isinstance(event, ev.FunctionCallArgumentsDelta)
                and item is not None
                and names_secret(item.arguments)
            ):  # from the secret's name on, the row whole (withheld): never its value
                return [{"op": "text", **self._row(item)}]
            return [{"op": "delta", "id": event.item_id, "text": event.delta}]
        if isinstance(
            event,
            ev.ResponseOutputAudioTranscriptDone
            | ev.ResponseOutputTextDone
            | ev.InputTranscriptionCompleted
            | ev.InputTranscriptionFailed
            | ev.ConversationItemTruncated
            | ev.FunctionCallArgumentsDone,
        ):
            item = items.get(event.item_id)
            return [] if item is None else [{"op": "text", **self._row(item)}]
        if isinstance(event, ev.ResponseDone) and event.response.status != "completed":
            # Why it stopped short (a barge-in, a cancel, the token cap) goes in its rows' notes.
            ids = [getattr(o, "id", None) for o in event.response.output or ()]
            return [{"op": "text", **self._row(items[i])} for i in ids if i in items]
        if event.type == "client.response_interrupted":
            ids = (event.model_extra or {}).get("item_ids") or []
            self._interrupted.update(ids)
            return [{"op": "text", **self._row(items[i])} for i in ids if i in items]
        if isinstance(event, ev.ConversationItemDeleted):
            self._known.discard(event.item_id)
            return [{"op": "remove", "id": event.item_id}]
        return []
