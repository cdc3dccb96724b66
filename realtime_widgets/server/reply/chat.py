"""ChatResponder: any OpenAI-compatible Chat Completions endpoint as the local server's model.

Ollama, llama.cpp's server, vLLM, LM Studio or OpenAI's own text models answer for the local
server, through the official ``openai`` SDK (the ``chat`` extra)::

    LocalServer(responder=ChatResponder("http://127.0.0.1:11434/v1", "llama3.2"))

or ``realtime-widgets serve --chat-url URL --chat-model NAME [--chat-key-env VAR]``.

What a request holds (:meth:`ChatResponder.request`, built by :func:`chat_messages`):

- the system message: the session's ``instructions``; with none set (the local server's
  default), :data:`DEFAULT_CHAT_INSTRUCTIONS`, a neutral one for a spoken conversation
  (``default_instructions=None`` sends no system message); ``""`` (cleared) sends none;
- the conversation in order: typed text; for a user audio item what the server heard
  (``ReplyContext.transcripts``), else the item's own transcript, else a bracketed note that
  the audio was not transcribed; assistant messages; ``function_call`` items as assistant
  ``tool_calls`` and ``function_call_output`` items as ``tool`` messages (a call the client
  never answered gets a note as its output, as Chat Completions requires one). A response's own
  ``input`` (``conversation: "none"``) is what the context holds, so it is what is sent. Images
  are passed as ``image_url`` parts with ``images=True`` (a vision model), else a note says one
  was sent;
- the session's function tools, ``tool_choice`` mapped (auto / none / required / a named
  function) and ``parallel_tool_calls=False`` (a response makes at most one call here).
  MCP tools cannot be passed to a Chat Completions endpoint: they are left out and a warning is
  logged once per server label; a ``tool_choice`` forcing an MCP tool fails the response
  (``chat_unsupported``), since no reply could honour it;
- ``temperature`` when the session has one (beta dialect) and ``max_output_tokens`` as
  ``max_tokens`` (or ``max_completion_tokens``, which OpenAI's reasoning models need:
  ``max_tokens_param``); ``"inf"`` sends none.

The reply streams (contract 2 of ``notes/offline_design.md``): text deltas as they come (the
reply's leading whitespace dropped; a reasoning model's separate reasoning text is not spoken),
then at most one :class:`FunctionCall` assembled from the streamed tool-call deltas.

A failure raises :class:`ResponderError` (the response ends ``failed``; the session goes on)
with one of these codes; the message names the base URL and the model, never the key:

=======================  ==================================================================
code                     when
=======================  ==================================================================
``chat_unreachable``     no connection (refused, unknown host, TLS failure)
``chat_http_error``      the endpoint answered an HTTP error status (its message included)
``chat_timeout``         no first token within ``first_token_timeout_s``, or the reply not
                         finished within ``timeout_s``
``chat_stream_broken``   the stream broke mid-way (connection lost, or it ended without a
                         ``finish_reason``)
``chat_bad_chunk``       a chunk that is not JSON or not a ``chat.completion.chunk``
``chat_endpoint_error``  the endpoint sent an error object inside the stream
``chat_unsupported``     the session forces an MCP tool, which a Chat endpoint cannot call
=======================  ==================================================================

The API key lives in the responder only (never in its repr, a log line or an error message;
an error text that echoes it has it replaced by ``***``). The environment is never read for
it: ``OPENAI_API_KEY`` is not sent to an endpoint you did not give it to.
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from realtime_widgets.errors import ConfigError, RealtimeWidgetsError
from realtime_widgets.protocol.parts import FunctionTool, McpTool, ToolChoiceFunction
from realtime_widgets.server.reply.responder import (
    FunctionCall,
    ReplyChunk,
    ReplyContext,
    ResponderError,
)

if TYPE_CHECKING:
    import openai

__all__ = [
    "CHAT_ERROR_CODES",
    "DEFAULT_CHAT_INSTRUCTIONS",
    "IMAGE_NOT_PASSED",
    "NOTHING_HEARD",
    "NOT_TRANSCRIBED",
    "NO_TOOL_OUTPUT",
    "ChatResponder",
    "chat_messages",
    "shown_url",
]

log = logging.getLogger("realtime_widgets.server.chat")

# The system message when the session has no instructions of its own: neutral, and fit for a
# reply that is read aloud (a model's markdown would be spoken as asterisks).
DEFAULT_CHAT_INSTRUCTIONS = (
    "You are a helpful assistant in a spoken conversation. Answer briefly, in plain sentences "
    "without markdown or lists, as your reply is read aloud."
)

CHAT_ERROR_CODES = (
    "chat_unreachable",
    "chat_http_error",
    "chat_timeout",
    "chat_stream_broken",
    "chat_bad_chunk",
    "chat_endpoint_error",
    "chat_unsupported",
)
"""Every :class:`ResponderError` code a :class:`ChatResponder` raises (module docstring)."""

# What a message says in place of what cannot be passed on (the model reads these).
NOT_TRANSCRIBED = "[the user spoke; the audio was not transcribed]"
NOTHING_HEARD = "[the user made a sound; no words were recognised]"
NO_TOOL_OUTPUT = "[no output: the client sent none for this call]"
IMAGE_NOT_PASSED = "[the user sent an image; this chat endpoint is set up for text only]"


class _Key:
    """The API key, kept out of reprs, tracebacks' locals and pickles."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<key hidden>"

    def __reduce__(self) -> Any:
        raise TypeError("an API key cannot be pickled")


def chat_messages(
    ctx: ReplyContext,
    *,
    default_instructions: str | None = DEFAULT_CHAT_INSTRUCTIONS,
    images: bool = False,
) -> list[dict[str, Any]]:
    """The Chat Completions ``messages`` for a reply: the system message, then the context's
    conversation in order (see the module docstring for each item's mapping).

    Calls in a row (after the assistant's text, if any) make one assistant message with
    ``tool_calls``; each call's ``tool`` message follows that message at once, wherever its
    ``function_call_output`` item sits, as Chat Completions requires."""
    out: list[dict[str, Any]] = []
    system = default_instructions if ctx.instructions is None else ctx.instructions
    if system:
        out.append({"role": "system", "content": system})
    outputs = {
        str(item.get("call_id")): str(item.get("output", ""))
        for item in ctx.conversation
        if item.get("type") == "function_call_output"
    }
    called = {
        str(item.get("call_id")) for item in ctx.conversation if item.get("type") == "function_call"
    }
    pending: list[str] = []  # calls of the open assistant message, owed their tool messages

    def settle() -> None:
        for call_id in pending:
            content = outputs.get(call_id, NO_TOOL_OUTPUT)
            out.append({"role": "tool", "tool_call_id": call_id, "content": content})
        pending.clear()

    for item in ctx.conversation:
        kind = item.get("type")
        if kind == "function_call":
            call_id = str(item.get("call_id"))
            call = {
                "id": call_id,
                "type": "function",
                "function": {
                    "name": str(item.get("name")),
                    "arguments": str(item.get("arguments") or "{}"),
                },
            }
            if out and out[-1]["role"] == "assistant":  # the same turn of the model
                out[-1].setdefault("tool_calls", []).append(call)
            else:
                out.append({"role": "assistant", "content": None, "tool_calls": [call]})
            pending.append(call_id)
            continue
        settle()
        if kind == "function_call_output":
            call_id = str(item.get("call_id"))
            if call_id not in called:  # no call of it in context (the client made it alone)
                output = outputs[call_id]
                out.append({"role": "user", "content": f"[output of tool call {call_id}] {output}"})
        elif kind == "message":
            message = _message(item, ctx.transcripts, images)
            if message is not None:
                out.append(message)
        # mcp_* items have no Chat Completions form (and MCP never runs offline)
    settle()
    return out


def _message(
    item: dict[str, Any], transcripts: Mapping[str, str], images: bool
) -> dict[str, Any] | None:
    role = item.get("role")
    if role not in ("user", "assistant", "system"):
        return None
    texts: list[str] = []
    parts: list[dict[str, Any]] = []
    for part in item.get("content", []) or []:
        kind = part.get("type")
        if kind in ("input_text", "output_text", "text"):
            texts.append(str(part.get("text", "")))
        elif kind in ("input_audio", "output_audio", "audio"):
            texts.append(_heard(item, part, transcripts))
        elif kind == "input_image":
            if images and part.get("image_url"):
                parts.append({"type": "image_url", "image_url": {"url": part["image_url"]}})
            else:
                texts.append(IMAGE_NOT_PASSED)
    text = "\n".join(t for t in texts if t)
    if not text and not parts:  # e.g. an assistant reply truncated before its first word
        return None
    if parts:
        return {"role": role, "content": [{"type": "text", "text": text}, *parts]}
    return {"role": role, "content": text}


def _heard(item: dict[str, Any], part: dict[str, Any], transcripts: Mapping[str, str]) -> str:
    """What an audio part said: the server's transcript of the item, else its own, else a note."""
    item_id = str(item.get("id"))
    if item.get("role") == "user" and item_id in transcripts:
        return transcripts[item_id].strip() or NOTHING_HEARD
    transcript = part.get("transcript")
    if isinstance(transcript, str) and transcript.strip():
        return transcript.strip()
    return NOT_TRANSCRIBED if item.get("role") == "user" else ""


@dataclass
class _ToolCall:
    """A tool call as its deltas arrive."""

    name: str = ""
    arguments: list[str] = field(default_factory=list)

    def add(self, name: object, arguments: object) -> None:
        if isinstance(name, str) and name and name != self.name:
            self.name += name
        if isinstance(arguments, str):
            self.arguments.append(arguments)

    def call(self) -> FunctionCall:
        return FunctionCall(self.name, "".join(self.arguments).strip() or "{}")


class ChatResponder:
    """The local server's replies from a Chat Completions endpoint (see the module docstring).

    ``base_url``: the endpoint's OpenAI-compatible base (``http://127.0.0.1:11434/v1`` for
    Ollama, ``http://127.0.0.1:8080/v1`` for llama.cpp's server); ``model``: the name it knows.
    ``api_key``: sent as ``Authorization: Bearer`` when given (nothing is sent otherwise).
    ``first_token_timeout_s``: how long the first text (or tool call) may take;
    ``timeout_s``: the whole reply. ``max_tokens_param``: the request field that carries
    ``max_output_tokens``. ``images``: pass user images on (for a vision model).
    ``extra_body``: more request fields, as the endpoint knows them (``{"top_p": 0.9}``).

    Calling it (``await responder(ctx)``) returns the reply's stream; iterate it for text
    deltas, then at most one :class:`FunctionCall`; it raises :class:`ResponderError`.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout_s: float = 120.0,
        first_token_timeout_s: float = 30.0,
        default_instructions: str | None = DEFAULT_CHAT_INSTRUCTIONS,
        max_tokens_param: Literal["max_tokens", "max_completion_tokens"] = "max_tokens",
        images: bool = False,
        extra_body: Mapping[str, Any] | None = None,
    ) -> None:
        self.base_url = _checked_url(base_url)
        # What messages, logs and the repr show: no user:password@ and no query (a key may
        # hide in either).
        self.shown_url = shown_url(self.base_url)
        if not isinstance(model, str) or not model.strip():
            raise ConfigError.single(
                "model", f"model must name the endpoint's model (e.g. 'llama3.2'), got {model!r}"
            )
        self.model = model.strip()
        for name, value in (
            ("timeout_s", timeout_s),
            ("first_token_timeout_s", first_token_timeout_s),
        ):
            if not (isinstance(value, int | float) and 0 < value < float("inf")):
                raise ConfigError.single(
                    name, f"{name} must be a number of seconds > 0, got {value!r}"
                )
        if max_tokens_param not in ("max_tokens", "max_completion_tokens"):
            raise ConfigError.single(
                "max_tokens_param",
                "max_tokens_param must be 'max_tokens' or 'max_completion_tokens', "
                f"got {max_tokens_param!r}",
            )
        if api_key is not None and (not isinstance(api_key, str) or not api_key.strip()):
            raise ConfigError.single("api_key", "api_key must be a non-empty string or None")
        self._key = _Key(api_key.strip()) if api_key else None
        self.timeout_s = float(timeout_s)
        self.first_token_timeout_s = float(first_token_timeout_s)
        self.default_instructions = default_instructions
        self.max_tokens_param = max_tokens_param
        self.images = images
        self.extra_body = dict(extra_body or {})
        self._openai = _import_openai()
        # Built once, here (tens of ms of CPU, never on the server's event loop; an HTTP
        # client makes one even for an http:// URL): each reply then makes its client in
        # ~0.2 ms and closes it with its stream.
        self._tls = ssl.create_default_context()
        # The SDK imports its HTTP stack and chat resources on first use (~0.1 s): here too,
        # not in the first reply on the event loop.
        self._client().chat.completions  # noqa: B018
        self._warned_mcp: set[str] = set()

    @property
    def has_key(self) -> bool:
        return self._key is not None

    def __repr__(self) -> str:
        key = ", api_key=<hidden>" if self._key is not None else ""
        return f"ChatResponder({self.shown_url!r}, {self.model!r}{key})"

    # ---- the request ----------------------------------------------------------------------

    def request(self, ctx: ReplyContext) -> dict[str, Any]:
        """The Chat Completions request for a reply (without ``stream``), as sent."""
        cfg = ctx.config
        body: dict[str, Any] = {
            "model": self.model,
            "messages": chat_messages(
                ctx, default_instructions=self.default_instructions, images=self.images
            ),
        }
        functions = [t for t in cfg.tools if isinstance(t, FunctionTool)]
        self._warn_mcp([t.server_label for t in cfg.tools if isinstance(t, McpTool)])
        choice = cfg.tool_choice
        if not isinstance(choice, str) and not isinstance(choice, ToolChoiceFunction):
            raise self._error(
                "chat_unsupported",
                f"tool_choice forces the MCP tool of {choice.server_label!r}, and a Chat "
                "Completions endpoint cannot call MCP tools",
                type_="invalid_request_error",
            )
        if functions:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        **({"description": t.description} if t.description else {}),
                        "parameters": t.parameters,
                    },
                }
                for t in functions
            ]
            body["tool_choice"] = (
                choice
                if isinstance(choice, str)
                else {"type": "function", "function": {"name": choice.name}}
            )
            body["parallel_tool_calls"] = False
        if cfg.temperature is not None:
            body["temperature"] = cfg.temperature
        if cfg.max_output_tokens != "inf":
            body[self.max_tokens_param] = cfg.max_output_tokens
        return body

    def _warn_mcp(self, labels: list[str]) -> None:
        new = [label for label in labels if label not in self._warned_mcp]
        if new:
            self._warned_mcp.update(new)
            log.warning(
                "chat endpoint %s (model %s): MCP tools %s are not passed on (a Chat "
                "Completions endpoint cannot call MCP tools); the reply cannot use them",
                self.shown_url,
                self.model,
                ", ".join(new),
            )

    # ---- the reply ------------------------------------------------------------------------

    async def __call__(self, ctx: ReplyContext) -> AsyncIterator[ReplyChunk]:
        """The reply's stream (the request is built now: a bad one raises here)."""
        return self._stream(self.request(ctx))

    async def _stream(self, body: dict[str, Any]) -> AsyncIterator[ReplyChunk]:
        """Text deltas, then at most one FunctionCall; ResponderError on any failure."""
        # lazy: reply/ stays importable without asyncio (tests/test_layers.py); a coroutine
        # runs under it anyway
        import asyncio

        openai = self._openai
        loop = asyncio.get_running_loop()
        started = loop.time()
        end = started + self.timeout_s
        first_end = min(started + self.first_token_timeout_s, end)
        client = self._client()
        calls: dict[int, _ToolCall] = {}
        started_text = finished = False
        try:
            try:
                async with asyncio.timeout_at(first_end):
                    stream = await client.chat.completions.create(
                        stream=True,
                        extra_body=self.extra_body or None,
                        extra_headers=self._headers(),
                        **body,
                    )
            except TimeoutError:
                raise self._timeout(first=True) from None
            except openai.APIError as exc:
                raise self._api_error(exc, streaming=False) from None
            chunks = aiter(stream)
            while True:
                deadline = end if (started_text or calls) else first_end
                try:
                    async with asyncio.timeout_at(deadline):
                        chunk = await anext(chunks)
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    raise self._timeout(first=not (started_text or calls)) from None
                except json.JSONDecodeError as exc:
                    raise self._error("chat_bad_chunk", f"a chunk is not JSON ({exc})") from None
                except openai.APIError as exc:
                    raise self._api_error(exc, streaming=True) from None
                except Exception as exc:  # the transport's, mid-stream (httpx's errors)
                    raise self._error(
                        "chat_stream_broken",
                        f"the stream broke mid-way ({type(exc).__name__}: {exc})",
                    ) from None
                text, finish = self._read(chunk, calls)
                finished = finished or finish
                if text and not started_text:
                    text = text.lstrip()
                if text:
                    started_text = True
                    yield text
            if not finished:
                raise self._error("chat_stream_broken", "the stream ended without a finish_reason")
            if calls:
                first, *rest = sorted(calls)
                if rest:
                    log.warning(
                        "chat endpoint %s (model %s): %d more tool calls (%s) not made: a "
                        "response makes one call (parallel_tool_calls=False was asked)",
                        self.shown_url,
                        self.model,
                        len(rest),
                        ", ".join(calls[i].name for i in rest),
                    )
                yield calls[first].call()
        finally:
            await client.close()

    def _client(self) -> Any:
        """An SDK client for one reply (its HTTP connections close with the reply's stream:
        nothing outlives the event loop it ran on)."""
        openai = self._openai
        return openai.AsyncOpenAI(
            base_url=self.base_url,
            # Without a key, none is sent (the header is omitted, _headers); the placeholder
            # only keeps the SDK from reading OPENAI_API_KEY from the environment.
            api_key=self._key.reveal() if self._key is not None else "no-key",
            max_retries=0,  # a retry would hide a dead endpoint for seconds mid-conversation
            timeout=self.timeout_s,
            http_client=openai.DefaultAsyncHttpxClient(verify=self._tls),
        )

    def _headers(self) -> dict[str, Any]:
        """Headers the SDK would add from the environment (OPENAI_ORG_ID, OPENAI_PROJECT_ID),
        and without a key the Authorization header, left out: they are not this endpoint's."""
        omit = self._openai.omit
        headers = {"OpenAI-Organization": omit, "OpenAI-Project": omit}
        if self._key is None:
            headers["Authorization"] = omit
        return headers

    def _read(self, chunk: object, calls: dict[int, _ToolCall]) -> tuple[str, bool]:
        """A chunk's text and whether it finished the reply; tool-call deltas go into
        ``calls``. A chunk that is not a ``chat.completion.chunk`` raises chat_bad_chunk."""
        choices = getattr(chunk, "choices", None)
        if not isinstance(choices, list):
            raise self._error("chat_bad_chunk", f"a chunk has no choices list: {_shown(chunk)}")
        text: list[str] = []
        finished = False
        for choice in choices:
            if getattr(choice, "index", 0) not in (0, None):
                continue
            delta = getattr(choice, "delta", None)
            if delta is None:
                raise self._error("chat_bad_chunk", f"a choice has no delta: {_shown(chunk)}")
            content = getattr(delta, "content", None)
            if content is not None and not isinstance(content, str):
                raise self._error(
                    "chat_bad_chunk", f"a delta's content is not text: {_shown(chunk)}"
                )
            if content:
                text.append(content)
            for tool in getattr(delta, "tool_calls", None) or []:
                index = getattr(tool, "index", None)
                if not isinstance(index, int):
                    index = len(calls) - 1 if calls and index is None else len(calls)
                function = getattr(tool, "function", None)
                calls.setdefault(index, _ToolCall()).add(
                    getattr(function, "name", None), getattr(function, "arguments", None)
                )
            finished = finished or bool(getattr(choice, "finish_reason", None))
        return "".join(text), finished

    # ---- errors ---------------------------------------------------------------------------

    def _error(self, code: str, what: str, type_: str = "server_error") -> ResponderError:
        message = self._scrub(f"chat endpoint {self.shown_url} (model {self.model}): {what}")
        log.warning("%s (%s)", message, code)
        return ResponderError(code, message, type_)

    def _scrub(self, text: str) -> str:
        if self._key is not None:
            text = text.replace(self._key.reveal(), "***")
        return text

    def _timeout(self, *, first: bool) -> ResponderError:
        if first:
            return self._error(
                "chat_timeout", f"no first token within {self.first_token_timeout_s:g} s"
            )
        return self._error("chat_timeout", f"the reply did not finish within {self.timeout_s:g} s")

    def _api_error(self, exc: openai.APIError, *, streaming: bool) -> ResponderError:
        """The SDK's error as a ResponderError; ``streaming``: it came after the response's
        headers (a connection error then is a stream broken mid-way)."""
        openai = self._openai
        if isinstance(exc, openai.APITimeoutError):
            return self._timeout(first=False)
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc.__context__
            why = f"{type(cause).__name__}: {cause}" if cause else str(exc)
            if streaming:
                return self._error("chat_stream_broken", f"the stream broke mid-way ({why})")
            return self._error("chat_unreachable", f"cannot connect ({why})")
        if isinstance(exc, openai.APIStatusError):
            return self._error(
                "chat_http_error", f"HTTP {exc.status_code}: {_endpoint_message(exc)}"
            )
        return self._error("chat_endpoint_error", f"the endpoint sent an error: {exc.message}")


def _endpoint_message(exc: openai.APIStatusError) -> str:
    """What the endpoint said: ``error.message`` of a JSON error body, else the body's text."""
    body = exc.body
    if isinstance(body, dict):
        message = body.get("message") or body.get("error")
        if isinstance(message, dict):
            message = message.get("message")
        if isinstance(message, str) and message:
            return message
    try:
        text = exc.response.text.strip()
    except Exception:  # a streamed body not read: nothing more to say than the status
        text = ""
    return text[:300] or exc.message


def _shown(chunk: object) -> str:
    """A chunk for an error message, cut short."""
    dump = getattr(chunk, "model_dump_json", None)
    try:  # the SDK's model of the chunk as it came (no validation: it may not fit the type)
        text = dump(warnings=False) if callable(dump) else repr(chunk)
    except Exception:
        text = repr(chunk)
    return str(text)[:200]


def _checked_url(base_url: object) -> str:
    """``base_url`` if it is an http(s) URL with a host (no urllib: reply/ is sans-I/O); the
    error shows it as :func:`shown_url` does (it may be shown in a synced status line)."""
    text = base_url.strip() if isinstance(base_url, str) else ""
    scheme, sep, rest = text.partition("://")
    host = rest.split("/")[0].split("?")[0].rpartition("@")[2]  # after any user:password@
    if not sep or scheme.lower() not in ("http", "https") or not host:
        got = shown_url(text) if isinstance(base_url, str) else base_url
        raise ConfigError.single(
            "base_url",
            "base_url must be an http:// or https:// URL with a host, e.g. "
            f"'http://127.0.0.1:11434/v1', got {got!r}",
        )
    return text.rstrip("/")


def shown_url(url: str) -> str:
    """``url`` as messages, logs and status lines show it: without its user:password@, its
    query and its fragment (a key may hide in any of them); with or without a scheme."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    authority, slash, path = rest.partition("/")
    host = authority.rpartition("@")[2]
    shown = f"{scheme}{sep}{host}{slash}{path}"
    return shown.split("?")[0].split("#")[0]


def _import_openai() -> Any:
    """The ``openai`` SDK, imported when a ChatResponder is made (lazy: an optional extra)."""
    try:
        import openai
    except ImportError:
        raise RealtimeWidgetsError(
            "ChatResponder needs the openai package: pip install 'realtime-widgets[chat]'"
        ) from None
    return openai
