"""A session config as code for other tools: openai-python, openai-agents, PSOpenAI, .NET, JSON.

``to_code(config, target)`` is the entry point (the configs themselves know nothing of the
targets: this module sits above them). Every target is derived from the same GA payload
(:meth:`SessionConfig.to_session_update`), so an export sends exactly what realtime_widgets
sends. Settings a target cannot express are listed in a comment, never silently dropped.
Secrets (an MCP tool's authorization and headers) are never written: the code reads each from
an environment variable named after its tool (``MCP_DOCS_AUTHORIZATION``), and the JSON holds
``"${MCP_DOCS_AUTHORIZATION}"`` in its place.

A config that sets a parameter OpenAI has deprecated (its ``Param.deprecated``: saved prompts)
is exported as it is, with a warning comment on top of the code naming each one and when
OpenAI shuts it down (JSON has no comments), and ``to_code`` warns a ``DeprecationWarning``
per parameter at the caller's line: the category Python, pydantic and the openai SDK use for a
deprecated API, which a notebook cell or a script shows and a test run can turn into an error,
while a library exporting on its users' behalf does not print it to them.
"""

from __future__ import annotations

import json
import pprint
import textwrap
from typing import Any

from realtime_widgets.errors import ConfigError, note
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.live_config import LiveConfig
from realtime_widgets.protocol.parts import FunctionTool
from realtime_widgets.protocol.redaction import env_name, redact
from realtime_widgets.protocol.seeds import psopenai_command, psopenai_unsupported
from realtime_widgets.protocol.transcription_config import TranscriptionConfig
from realtime_widgets.protocol.translation_config import TranslationConfig

__all__ = [
    "EXPORT_TARGETS",
    "LIVE_EXPORT_TARGETS",
    "TRANSCRIPTION_EXPORT_TARGETS",
    "TRANSLATION_EXPORT_TARGETS",
    "to_code",
]

EXPORT_TARGETS: tuple[str, ...] = (
    "openai-python",
    "openai-agents",
    "psopenai",
    "openai-dotnet",
    "json",
)


# A transcription session: openai-python connects with intent=transcription; openai-agents has no
# transcription sessions, and PSOpenAI's and OpenAI-DotNet's transcription types are beta-only.
TRANSCRIPTION_EXPORT_TARGETS: tuple[str, ...] = ("openai-python", "json")

# A GPT-Live session: openai-python's client.live (connect(), and create() for a WebRTC media
# session when a media-only field is set); "json" is the WebSocket's session.start event,
# "json-media" the body of client.live.create() (POST /v1/live/sessions) without its transport.
LIVE_EXPORT_TARGETS: tuple[str, ...] = ("openai-python", "json", "json-media")


class _EnvRead:
    """Stands for a secret in exported Python: its repr is the code that reads it."""

    def __init__(self, holder: dict[str, Any], key: str) -> None:
        self.name = env_name(holder, key)
        self.text = isinstance(holder[key], str)  # else JSON: the headers object

    def __repr__(self) -> str:
        read = f"os.environ[{self.name!r}]".replace("'", '"')
        return read if self.text else f"json.loads({read})"


# Every writer gets the config and its ``session.update`` (built once per export by to_code).
Event = dict[str, Any]


def _payload(event: Event) -> dict[str, Any]:
    """The session object, each secret an :class:`_EnvRead`."""
    session: dict[str, Any] = redact(event["session"], _EnvRead)
    return session


def _secret_env(event: Event) -> list[str]:
    """The environment variables an export of ``event`` reads, in order."""
    names: list[str] = []
    redact(event, lambda h, k: names.append(env_name(h, k)))
    return list(dict.fromkeys(names))  # one secret may be written twice (GPT-Live's two sessions)


def _env_note(event: Event, comment: str) -> str:
    names = _secret_env(event)
    if not names:
        return ""
    return f"{comment} Secrets come from the environment: {', '.join(names)}\n"


def _py(value: Any, indent: int = 0) -> str:
    text = pprint.pformat(value, indent=1, width=96 - indent, sort_dicts=False)
    pad = " " * indent
    return text.replace("\n", "\n" + pad)


def _openai_python(config: SessionConfig, event: Event) -> str:
    session = _payload(event)
    env = "import json\nimport os\n" if _secret_env(event) else ""
    note = _env_note(event, "#")
    return f'''"""Realtime session settings exported by realtime_widgets (openai-python)."""
import asyncio
{env}
from openai import AsyncOpenAI
{note and chr(10) + note}
MODEL = {config.model!r}
SESSION = {_py(session)}


async def configure(connection):
    """Send the settings on an open Realtime connection."""
    await connection.session.update(session=SESSION)


async def main():
    client = AsyncOpenAI()  # the key comes from OPENAI_API_KEY
    async with client.realtime.connect(model=MODEL) as connection:
        await configure(connection)
        async for event in connection:
            if event.type in ("session.updated", "error"):
                print(event)
                break


if __name__ == "__main__":
    asyncio.run(main())
'''


def _openai_agents(config: SessionConfig, event: Event) -> str:
    session = _payload(event)
    session.pop("type", None)
    settings: dict[str, Any] = {"model_name": session.pop("model", config.model)}
    notes: list[str] = []
    tools = session.pop("tools", None)
    if tools:
        names = ", ".join(t.name for t in config.tools if isinstance(t, FunctionTool))
        notes.append(
            f"tools ({names or 'MCP servers'}): give the agent its tools with @function_tool / "
            "mcp_servers; the runner sends their schemas"
        )
    for key in ("include", "truncation"):
        if key in session:
            notes.append(f"{key}={session.pop(key)!r} has no RealtimeSessionModelSettings key")
    settings.update(session)
    instructions = settings.pop("instructions", None)
    note_lines = "".join(f"# Not expressible here: {n}\n" for n in notes)
    return f'''"""Realtime session settings exported by realtime_widgets (openai-agents)."""
from agents.realtime import RealtimeAgent, RealtimeRunner

{note_lines}MODEL_SETTINGS = {_py(settings)}

agent = RealtimeAgent(name="Assistant", instructions={instructions or ""!r})
runner = RealtimeRunner(starting_agent=agent, config={{"model_settings": MODEL_SETTINGS}})
'''


def _psopenai(config: SessionConfig, event: Event) -> str:
    lines = []
    missing = psopenai_unsupported(config)
    if missing:
        lines.append("# Not expressible in PSOpenAI: " + ", ".join(missing))
    if "model" in config.model_fields_set:
        lines.append(f"# Connect with: Connect-RealtimeSession -Model '{config.model}'")
    lines.append(psopenai_command(config))
    return "\n".join(lines) + "\n"


def _cs(value: Any) -> str:
    return json.dumps(value)


def _dotnet(config: SessionConfig, event: Event) -> str:
    # Each secret is a marker in the JSON, then spliced out of the verbatim string as a read
    # of its environment variable: a string serialised as JSON, the headers object as given.
    reads: dict[str, str] = {}

    def marker(holder: dict[str, Any], key: str) -> str:
        name = env_name(holder, key)
        read = f'Environment.GetEnvironmentVariable(""{name}"")'
        if isinstance(holder[key], str):
            read = f"JsonSerializer.Serialize({read})"
        reads[f'""<secret {name}>""'] = f'" + {read} + @"'.replace('""', '"')
        return f"<secret {name}>"

    session = redact(event["session"], marker)
    body = json.dumps(session, indent=2).replace('"', '""')
    for quoted, read in reads.items():
        body = body.replace(quoted, read)
    using = "using System.Text.Json;\n" if reads else ""
    return f"""// Realtime session settings exported by realtime_widgets (OpenAI-DotNet).
// OpenAI-DotNet's SessionConfiguration speaks only the beta dialect, which OpenAI has switched
// off, and it cannot send null to switch a feature off. Send the GA event as raw JSON instead:
{_env_note(event, "//")}using System.Net.WebSockets;
using System.Text;
{using}
var sessionUpdate = @"{{""type"": ""session.update"", ""session"": {body}}}";
// await webSocket.SendAsync(Encoding.UTF8.GetBytes(sessionUpdate),
//     WebSocketMessageType.Text, true, CancellationToken.None);
// Model for the connection URL: {_cs(config.model)}
"""


def _json(config: SessionConfig, event: Event) -> str:
    shown = redact(event, lambda h, k: f"${{{env_name(h, k)}}}")
    return json.dumps(shown, indent=2) + "\n"


_WRITERS = {
    "openai-python": _openai_python,
    "openai-agents": _openai_agents,
    "psopenai": _psopenai,
    "openai-dotnet": _dotnet,
    "json": _json,
}


def _transcription_python(config: TranscriptionConfig) -> str:
    session = config.to_session_update()["session"]
    return f'''"""Transcription session settings exported by realtime_widgets (openai-python)."""
import asyncio

from openai import AsyncOpenAI

SESSION = {_py(session)}


async def configure(connection):
    """Send the settings on an open transcription connection."""
    await connection.session.update(session=SESSION)


async def main():
    client = AsyncOpenAI()  # the key comes from OPENAI_API_KEY
    async with client.realtime.connect(extra_query={{"intent": "transcription"}}) as connection:
        await configure(connection)
        async for event in connection:
            if event.type.startswith("conversation.item.input_audio_transcription"):
                print(event)
            elif event.type == "error":
                print(event)
                break


if __name__ == "__main__":
    asyncio.run(main())
'''


def _unknown_target(target: str, targets: tuple[str, ...], session: str, kind: str) -> ConfigError:
    """The error for a target a session kind has no export for (``session`` as in "for a
    translation session"); a target other kinds have is told that its tool has no ``kind``
    sessions."""
    allowed = ", ".join(targets)
    return ConfigError.single(
        "target",
        f"target must be one of {allowed} for {session}, got {target!r}"
        + (f" (that tool has no {kind} sessions)" if target in EXPORT_TARGETS else ""),
        allowed=allowed,
    )


def _transcription_code(config: TranscriptionConfig, target: str) -> str:
    if target == "openai-python":
        return _transcription_python(config)
    if target == "json":
        return json.dumps(config.to_session_update(), indent=2) + "\n"
    raise _unknown_target(
        target, TRANSCRIPTION_EXPORT_TARGETS, "a transcription session", "GA transcription"
    )


def _has_media_only(config: LiveConfig) -> bool:
    return any(
        getattr(config, name) is not None
        for name, param in LiveConfig.PARAMS.items()
        if param.transport == "media"
    )


def _live_media_python(config: LiveConfig) -> str:
    media = redact(config.to_media_session(), _EnvRead)
    return f'''

# A WebRTC/SIP media session (client.live.create()) also takes wake_policy and idle_timeout_s,
# which no WebSocket session.start carries, and negotiates its audio format on the transport.
MEDIA_SESSION = {_py(media)}


async def create_media_session(client, sdp_offer):
    """Create a WebRTC media session from the browser's SDP offer; return the SDP answer."""
    created = await client.live.create(
        session=MEDIA_SESSION, transport={{"type": "webrtc", "sdp": sdp_offer}}
    )
    return created.transport.sdp
'''


def _live_python(config: LiveConfig) -> str:
    event = config.to_session_start()
    both = {"start": event, "media": config.to_media_session()}
    env = "import json\nimport os\n" if _secret_env(both) else ""
    note = _env_note(both, "#")
    media = _live_media_python(config) if _has_media_only(config) else ""
    return f'''"""GPT-Live session settings exported by realtime_widgets (openai-python)."""
import asyncio
{env}
from openai import AsyncOpenAI
{note and chr(10) + note}
# session.start: the model, voice, audio format, instructions and startup input are fixed for
# the session; session.update changes only the delegation and the triggers.
SESSION = {_py(_payload(event))}


async def start(connection):
    """Start the session on an open Live connection (answered by session.started)."""
    await connection.session.start(session=SESSION)


async def main():
    client = AsyncOpenAI()  # the key comes from OPENAI_API_KEY
    async with client.live.connect() as connection:
        await start(connection)
        async for event in connection:
            if event.type in ("session.started", "error"):
                print(event)
                break
{media}

if __name__ == "__main__":
    asyncio.run(main())
'''


def _live_code(config: LiveConfig, target: str) -> str:
    if target == "openai-python":
        return _live_python(config)
    if target in ("json", "json-media"):
        data: dict[str, Any] = (
            config.to_session_start()
            if target == "json"
            else {"session": config.to_media_session()}
        )
        shown = redact(data, lambda h, k: f"${{{env_name(h, k)}}}")
        return json.dumps(shown, indent=2) + "\n"
    raise _unknown_target(target, LIVE_EXPORT_TARGETS, "a GPT-Live session", "GPT-Live")


# ---- translation sessions ----------------------------------------------------------------------

# A translation session: openai-python connects with client.realtime.translations.connect(model=);
# no other target has translation sessions.
TRANSLATION_EXPORT_TARGETS: tuple[str, ...] = ("openai-python", "json")


def _translation_python(config: TranslationConfig) -> str:
    session = config.to_session_update()["session"]
    return f'''"""Translation session settings exported by realtime_widgets (openai-python)."""
import asyncio

from openai import AsyncOpenAI

MODEL = {config.model!r}
SESSION = {_py(session)}


async def configure(connection):
    """Send the settings on an open translation connection (the model is in the URL)."""
    await connection.session.update(session=SESSION)


async def main():
    client = AsyncOpenAI()  # the key comes from OPENAI_API_KEY
    async with client.realtime.translations.connect(model=MODEL) as connection:
        await configure(connection)
        async for event in connection:
            if event.type in ("session.updated", "error"):
                print(event)
                break


if __name__ == "__main__":
    asyncio.run(main())
'''


def _translation_code(config: TranslationConfig, target: str) -> str:
    if target == "openai-python":
        return _translation_python(config)
    if target == "json":
        return json.dumps(config.to_session_update(), indent=2) + "\n"
    raise _unknown_target(
        target, TRANSLATION_EXPORT_TARGETS, "a translation session", "translation"
    )


# How each target's code starts a comment line (JSON has none).
_COMMENTS = {"openai-python": "#", "openai-agents": "#", "psopenai": "#", "openai-dotnet": "//"}


def _deprecation_comment(notes: dict[str, str], comment: str) -> str:
    """A warning comment naming each deprecated parameter the code sets, wrapped to 96."""
    lines: list[str] = []
    for name, text in notes.items():
        lines += textwrap.wrap(
            f"WARNING: {name}: {text}",
            width=96,
            initial_indent=f"{comment} ",
            subsequent_indent=f"{comment}     ",
            break_on_hyphens=False,
            break_long_words=False,
        )
    return "\n".join(lines) + "\n"


def to_code(
    config: SessionConfig | TranscriptionConfig | LiveConfig | TranslationConfig,
    target: str = "openai-python",
    *,
    warn: bool = True,
) -> str:
    """A config as code: ``target`` is one of :data:`EXPORT_TARGETS` (openai-python,
    openai-agents, psopenai, openai-dotnet, json) for a :class:`SessionConfig`, one of
    :data:`TRANSCRIPTION_EXPORT_TARGETS` for a :class:`TranscriptionConfig`, one of
    :data:`LIVE_EXPORT_TARGETS` for a :class:`LiveConfig`, one of
    :data:`TRANSLATION_EXPORT_TARGETS` for a :class:`TranslationConfig`. Secrets are read from
    the environment, never written. An unknown target raises :class:`ConfigError`.

    A deprecated parameter the config sets (:meth:`~.configbase.ConfigModel.deprecations`) is
    exported as set, under a warning comment, and warned as a ``DeprecationWarning`` at the
    caller's line; ``warn=False`` leaves out the warning only (the settings panel, whose
    control already shows the note, refreshes its export box on every change)."""
    if isinstance(config, TranscriptionConfig):
        code = _transcription_code(config, target)
    elif isinstance(config, LiveConfig):
        code = _live_code(config, target)
    elif isinstance(config, TranslationConfig):
        code = _translation_code(config, target)
    else:
        writer = _WRITERS.get(target)
        if writer is None:
            allowed = ", ".join(EXPORT_TARGETS)
            raise ConfigError.single(
                "target", f"target must be one of {allowed}, got {target!r}", allowed=allowed
            )
        code = writer(config, config.to_session_update())
    notes = config.deprecations()
    if warn:
        for name, text in notes.items():
            note(f"{name}: {text}", DeprecationWarning)
    comment = _COMMENTS.get(target)
    if notes and comment is not None:
        code = _deprecation_comment(notes, comment) + code
    return code
