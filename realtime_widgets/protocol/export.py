"""A session config as code for other tools: openai-python, openai-agents, PSOpenAI, .NET, JSON.

``to_code(config, target)`` is the entry point (the configs themselves know nothing of the
targets: this module sits above them). Every target is derived from the same GA payload
(:meth:`SessionConfig.to_session_update`), so an export sends exactly what realtime_widgets
sends. Settings a target cannot express are listed in a comment, never silently dropped.
Secrets (an MCP tool's authorization and headers) are never written: the code reads each from
an environment variable named after its tool (``MCP_DOCS_AUTHORIZATION``), and the JSON holds
``"${MCP_DOCS_AUTHORIZATION}"`` in its place.
"""

from __future__ import annotations

import json
import pprint
from typing import Any

from realtime_widgets.errors import ConfigError
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.parts import FunctionTool
from realtime_widgets.protocol.redaction import env_name, redact
from realtime_widgets.protocol.seeds import psopenai_command, psopenai_unsupported
from realtime_widgets.protocol.transcription_config import TranscriptionConfig

__all__ = ["EXPORT_TARGETS", "TRANSCRIPTION_EXPORT_TARGETS", "to_code"]

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
    return names


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


def _transcription_code(config: TranscriptionConfig, target: str) -> str:
    if target == "openai-python":
        return _transcription_python(config)
    if target == "json":
        return json.dumps(config.to_session_update(), indent=2) + "\n"
    allowed = ", ".join(TRANSCRIPTION_EXPORT_TARGETS)
    raise ConfigError.single(
        "target",
        f"target must be one of {allowed} for a transcription session, got {target!r}"
        + (" (that tool has no GA transcription sessions)" if target in EXPORT_TARGETS else ""),
        allowed=allowed,
    )


def to_code(config: SessionConfig | TranscriptionConfig, target: str = "openai-python") -> str:
    """A config as code: ``target`` is one of :data:`EXPORT_TARGETS` (openai-python,
    openai-agents, psopenai, openai-dotnet, json) for a :class:`SessionConfig`, one of
    :data:`TRANSCRIPTION_EXPORT_TARGETS` for a :class:`TranscriptionConfig`. Secrets are read
    from the environment, never written. An unknown target raises :class:`ConfigError`."""
    if isinstance(config, TranscriptionConfig):
        return _transcription_code(config, target)
    writer = _WRITERS.get(target)
    if writer is None:
        allowed = ", ".join(EXPORT_TARGETS)
        raise ConfigError.single(
            "target", f"target must be one of {allowed}, got {target!r}", allowed=allowed
        )
    return writer(config, config.to_session_update())
