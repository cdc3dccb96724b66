"""Presets: a SessionConfig saved to a JSON file or a shareable string, and a few built-ins.

A preset stores only what differs from ``SessionConfig()``, in SessionConfig's own JSON shape,
so every parameter the model knows can be saved and nothing is listed by hand here. Secrets
(an MCP tool's authorization and headers) are never stored: a preset is made to be shared. Loading
validates the envelope (format, version, name) and then the config through SessionConfig:
a bad value raises :class:`~realtime_widgets.errors.ConfigError` naming the field and the
allowed values, exactly as a control would.

Typical use::

    text = to_json(config, name="my agent")          # a .json file's content
    share = to_share_string(config, name="my agent") # "rw1.eNq..." (URL-safe, no padding)
    preset = load(share)                             # or load(text): either form
    preset.config                                    # the validated SessionConfig
    BUILTIN_PRESETS["phone call (G.711)"].apply(current)   # a built-in over a config
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from itertools import accumulate
from pathlib import Path
from typing import Any

from realtime_widgets.errors import ConfigError
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.events import MAX_JSON_DEPTH
from realtime_widgets.protocol.redaction import redact

__all__ = [
    "BUILTIN_PRESETS",
    "FORMAT",
    "MAX_PRESET_BYTES",
    "SHARE_PREFIX",
    "VERSION",
    "Preset",
    "load",
    "load_file",
    "save_file",
    "to_json",
    "to_share_string",
]

FORMAT = "realtime_widgets.preset"
VERSION = 1
SHARE_PREFIX = f"rw{VERSION}."
MAX_PRESET_BYTES = 256 * 1024  # decompressed; a preset with large tool schemas is ~10 KiB
_ENVELOPE_KEYS = ("format", "version", "name", "description", "config")
# Text nesting deeper than this is refused unread: far below Python's recursion limit, so the
# decoder and the validators never hit it, yet deep enough that a preset nesting past
# MAX_JSON_DEPTH inside a field (a tool schema) is read and refused naming that field.
_READ_DEPTH = 4 * MAX_JSON_DEPTH
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


@dataclass(frozen=True)
class Preset:
    """A named set of changes to a SessionConfig (dotted paths allowed, as in ``with_changes``).

    ``apply(base)`` gives ``base`` with these changes (how a built-in is applied to the
    current settings); ``config`` is them over the defaults (a loaded file or share string is
    a whole configuration: what it does not store is at its default).
    """

    name: str
    description: str = ""
    changes: Mapping[str, Any] = field(default_factory=dict)

    def apply(self, base: SessionConfig | None = None) -> SessionConfig:
        """``base`` (default: ``SessionConfig()``) with this preset's changes, validated."""
        return (base or SessionConfig()).with_changes(dict(self.changes))

    @property
    def config(self) -> SessionConfig:
        return self.apply()

    @classmethod
    def from_config(cls, config: SessionConfig, name: str = "", description: str = "") -> Preset:
        """The preset that turns ``SessionConfig()`` into ``config`` (its non-default fields),
        without its secrets."""
        return cls(name, description, _changed_fields(config))


def _changed_fields(config: SessionConfig) -> dict[str, Any]:
    """The non-default fields as JSON, secrets (MCP tokens) dropped: a preset is for sharing."""
    changed: dict[str, Any] = redact(
        config.model_dump(mode="json", include=set(config.diff(SessionConfig())))
    )
    return changed


def _envelope(config: SessionConfig, name: str, description: str) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "name": name,
        "description": description,
        "config": _changed_fields(config),
    }


def to_json(config: SessionConfig, name: str = "", description: str = "") -> str:
    """The preset file's text: an indented JSON envelope around the non-default fields."""
    return json.dumps(_envelope(config, name, description), indent=2, ensure_ascii=False) + "\n"


def to_share_string(config: SessionConfig, name: str = "") -> str:
    """A compact, URL-safe string (``rw1.`` + base64url of the deflated JSON, no padding)."""
    envelope = _envelope(config, name, "")
    del envelope["description"]
    raw = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()
    packed = base64.urlsafe_b64encode(zlib.compress(raw, 9)).rstrip(b"=").decode("ascii")
    return SHARE_PREFIX + packed


def save_file(
    config: SessionConfig, path: str | Path, name: str = "", description: str = ""
) -> Path:
    """Write :func:`to_json` to ``path`` (UTF-8) and return the path."""
    target = Path(path)
    target.write_text(to_json(config, name or target.stem, description), encoding="utf-8")
    return target


def load_file(path: str | Path) -> Preset:
    """Read and validate a preset file written by :func:`save_file`."""
    target = Path(path)
    if target.stat().st_size > MAX_PRESET_BYTES:
        raise _problem("preset", f"a preset file is at most {MAX_PRESET_BYTES} bytes")
    return load(target.read_text(encoding="utf-8"))


def load(text: str) -> Preset:
    """Validate a preset given as JSON text or as a share string; raises :class:`ConfigError`
    naming the field (``version``, ``config.turn_detection.threshold``, ...)."""
    text = text.strip()
    if text[:1] in ("{", "["):
        if len(text.encode()) > MAX_PRESET_BYTES:
            raise _problem("preset", f"a preset is at most {MAX_PRESET_BYTES} bytes of JSON")
        return _from_envelope(_parse_json(text))
    return _from_envelope(_parse_json(_unpack(text)))


def _unpack(text: str) -> str:
    prefix, dot, body = text.partition(".")
    if not dot or not prefix.startswith("rw"):
        raise _problem(
            "preset",
            "not a preset: expected JSON ('{...}') or a share string starting with "
            f"{SHARE_PREFIX!r}",
            allowed=f"JSON or {SHARE_PREFIX}...",
        )
    if prefix != SHARE_PREFIX[:-1]:
        raise _problem(
            "version",
            f"share string version {prefix[2:]!r} is not supported; this version reads "
            f"{SHARE_PREFIX!r}",
            allowed=str(VERSION),
        )
    try:
        packed = base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise _problem(
            "preset", "the share string is damaged: not URL-safe base64 after 'rw1.'"
        ) from None
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(packed, MAX_PRESET_BYTES)
    except zlib.error:
        raise _problem("preset", "the share string is damaged: its data does not inflate") from None
    if inflater.unconsumed_tail:
        raise _problem("preset", f"a preset is at most {MAX_PRESET_BYTES} bytes unpacked")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _problem("preset", "the share string is damaged: not UTF-8 JSON") from None


def _text_depth(text: str) -> int:
    """How deep ``text`` nests arrays/objects, brackets inside strings ignored (no parsing)."""
    brackets = re.sub(r"[^\[\]{}]", "", _JSON_STRING.sub("", text))
    return max(accumulate(_BRACKET_STEP[c] for c in brackets), default=0)


def _parse_json(text: str) -> dict[str, Any]:
    depth = _text_depth(text)
    if depth > _READ_DEPTH:
        raise _problem(
            "preset",
            f"preset: arrays/objects nested {depth} levels deep; a preset nests at most "
            f"{MAX_JSON_DEPTH} (as deep as the deepest Realtime event)",
        )
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _problem("preset", f"not valid JSON: {exc}") from None
    except RecursionError:  # a safety net: _READ_DEPTH keeps well clear of the limit
        raise _problem("preset", "preset: arrays/objects nested too deep to read") from None
    if not isinstance(data, dict):
        raise _problem("preset", f"a preset is a JSON object, got {type(data).__name__}")
    return data


def _from_envelope(data: dict[str, Any]) -> Preset:
    unknown = sorted(set(data) - set(_ENVELOPE_KEYS))
    if unknown:
        raise _problem(
            unknown[0],
            f"{unknown[0]}: unknown key in a preset; keys are: {', '.join(_ENVELOPE_KEYS)}",
            allowed=", ".join(_ENVELOPE_KEYS),
        )
    if data.get("format") != FORMAT:
        raise _problem(
            "format", f"format must be {FORMAT!r}, got {data.get('format')!r}", allowed=FORMAT
        )
    version = data.get("version")
    if version != VERSION or isinstance(version, bool):
        raise _problem(
            "version",
            f"version must be {VERSION} (this toolkit's preset version), got {version!r}",
            allowed=str(VERSION),
        )
    for key in ("name", "description"):
        if not isinstance(data.get(key, ""), str):
            raise _problem(key, f"{key} must be a string, got {type(data[key]).__name__}")
    config = data.get("config")
    if not isinstance(config, dict):
        raise _problem("config", f"config must be a JSON object, got {type(config).__name__}")
    try:
        SessionConfig(**config)
    except ConfigError as exc:
        # The same problems, their field paths prefixed with where they sit in the preset.
        raise ConfigError([replace(p, field=f"config.{p.field}") for p in exc.problems]) from None
    return Preset(str(data.get("name", "")), str(data.get("description", "")), config)


def _problem(field_name: str, message: str, allowed: str | None = None) -> ConfigError:
    return ConfigError.single(field_name, message, allowed=allowed)


BUILTIN_PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "phone call (G.711)",
            "Telephony: mu-law at 8 kHz both ways (what a SIP trunk or Twilio sends), noise "
            "reduction for a handset, a slightly longer pause before the turn ends.",
            {
                "input_audio_format": {"type": "audio/pcmu"},
                "output_audio_format": {"type": "audio/pcmu"},
                "noise_reduction": {"type": "near_field"},
                "turn_detection": {"type": "server_vad", "silence_duration_ms": 700},
            },
        ),
        Preset(
            "push-to-talk",
            "No turn detection: you commit the input buffer and ask for a response yourself "
            "(the microphone's push-to-talk button does both).",
            {"turn_detection": None},
        ),
        Preset(
            "low-latency interruptions",
            "Server VAD that ends a turn after 200 ms of silence with little padding, and "
            "cuts the reply off as soon as you speak over it.",
            {
                "turn_detection": {
                    "type": "server_vad",
                    "threshold": 0.5,
                    "prefix_padding_ms": 150,
                    "silence_duration_ms": 200,
                    "create_response": True,
                    "interrupt_response": True,
                },
            },
        ),
        Preset(
            "text only",
            "Typed messages in, text replies out: no reply audio and no turn detection.",
            {"output_modalities": ["text"], "turn_detection": None},
        ),
    )
}
"""The built-in presets by name (each one validated and sent to the local server in a test)."""
