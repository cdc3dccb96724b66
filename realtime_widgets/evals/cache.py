"""The sweep cache: one small file per (clip, configuration) result, so sweeps resume and merge.

A result is keyed by what decides it: the clip's content hash, the configuration's hash (the
canonical JSON of its ``session.update`` payload), the model, the mode (``local``: the local
server's engine on a simulated clock; ``remote``: streamed from an endpoint, named by its URL
in ``endpoint``, since two servers answer differently), the OpenAI SDK's
version (``"none"`` when it is not installed) and this package's version. Each key is one
gzipped JSON file named by the key's hash, written to a temporary name and renamed into place
(atomic on POSIX and Windows), so:

- a sweep that is killed resumes where it stopped (every finished file is whole; a half-written
  one is a temporary that no reader looks at);
- two machines' caches merge by copying the files into one folder (``cp -n``, ``rsync``,
  ``gsutil cp``): no two writers ever produce different contents under one name, since the
  name is the hash of everything the contents depend on.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from realtime_widgets import __version__
from realtime_widgets.errors import ConfigError, FieldProblem
from realtime_widgets.protocol.config import SessionConfig

__all__ = ["CacheKey", "SweepCache", "config_hash", "package_version", "sdk_version"]

Mode = Literal["local", "remote"]
SUFFIX = ".json.gz"


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: the same value always gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def config_hash(config: SessionConfig) -> str:
    """The hash of ``config``'s wire payload (the ``session.update`` it sends; rules checked)."""
    payload = config.to_session_update()
    payload.pop("event_id", None)
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()[:16]


@functools.cache
def sdk_version() -> str:
    """The installed ``openai`` package's version, or ``"none"``."""
    try:
        return metadata.version("openai")
    except metadata.PackageNotFoundError:
        return "none"


@functools.cache
def package_version() -> str:
    return __version__


@dataclass(frozen=True)
class CacheKey:
    """Everything one cached result depends on (see the module docstring)."""

    clip_hash: str
    config_hash: str
    model: str
    mode: Mode
    endpoint: str  # "local", or the endpoint's URL (never its key)
    sdk: str
    package: str

    @classmethod
    def of(
        cls,
        clip_hash: str,
        config: SessionConfig,
        mode: Mode,
        endpoint: str = "local",
        *,
        config_digest: str | None = None,
    ) -> CacheKey:
        """The key of ``config`` on a clip (``config_digest``: its :func:`config_hash`, when
        already computed)."""
        return cls(
            clip_hash,
            config_digest or config_hash(config),
            config.model,
            mode,
            endpoint,
            sdk_version(),
            package_version(),
        )

    @property
    def digest(self) -> str:
        """The file name's stem: the hash of every part."""
        parts = canonical_json(self.__dict__)
        return hashlib.sha256(parts.encode()).hexdigest()[:32]


class SweepCache:
    """A folder of cached sweep results, one file per :class:`CacheKey`.

    :meth:`get` returns the stored record (a JSON object) or None; :meth:`put` stores one. The
    folder may be shared (a network folder, a synced bucket): files are only ever created whole.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        if self.folder.exists() and not self.folder.is_dir():
            raise ConfigError(
                [FieldProblem("cache", f"cache: {self.folder} is a file; a folder is needed")]
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        self.reads = 0
        self.writes = 0

    def path(self, key: CacheKey) -> Path:
        return self.folder / f"{key.digest}{SUFFIX}"

    def __contains__(self, key: CacheKey) -> bool:
        return self.path(key).exists()

    def __len__(self) -> int:
        return sum(1 for _ in self.folder.glob(f"*{SUFFIX}"))

    def get(self, key: CacheKey) -> dict[str, Any] | None:
        path = self.path(key)
        try:
            data = gzip.decompress(path.read_bytes())
        except FileNotFoundError:
            return None
        record = json.loads(data)
        if not isinstance(record, dict) or record.get("key") != key.__dict__:
            return None  # not ours (a hash collision, or a foreign file): compute again
        self.reads += 1
        return record

    def put(self, key: CacheKey, record: Mapping[str, Any]) -> Path:
        """Store ``record`` under ``key`` atomically (a temporary file renamed into place)."""
        path = self.path(key)
        body = gzip.compress(json.dumps({**record, "key": key.__dict__}).encode(), mtime=0)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
        try:
            tmp.write_bytes(body)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        self.writes += 1
        return path
