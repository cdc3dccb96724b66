"""The sweep cache: one small file per (clip, configuration) result, so sweeps resume and merge.

A result is keyed by what decides it: the clip's content hash, the configuration's hash (the
canonical JSON of its ``session.update`` payload), the model, the mode (``local``: the local
server's engine on a simulated clock; ``remote``: streamed from an endpoint, named by its URL
in ``endpoint``, since two servers answer differently), the OpenAI SDK's
version (``"none"`` when it is not installed) and this package's version. A local result also
depends on the code that makes and measures it: ``code`` is :func:`local_code_digest` (the
bytes of the metrics, the runs, the server's VAD and engine sources, and the default reply's
samples), so a change to any of them is a new key. A remote result stores the streamed
timeline and is re-measured on every read, so its key covers only what was sent (``tail_ms``
included), never the metric code: a metric fix applies to paid runs without paying again.
Each key is one
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
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import Any, Literal

from realtime_widgets import __version__
from realtime_widgets.errors import ConfigError, FieldProblem
from realtime_widgets.protocol.config import SessionConfig

__all__ = [
    "CODE_SOURCES",
    "CacheKey",
    "SweepCache",
    "config_hash",
    "local_code_digest",
    "package_version",
    "sdk_version",
]

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


# The sources whose bytes decide a local result: the metrics, the runs (the tail rule, the chunk
# size, the player), the clip type, and the local server's VAD and engine (package, file glob).
CODE_SOURCES: tuple[tuple[str, str], ...] = (
    ("realtime_widgets.evals", "metrics.py"),
    ("realtime_widgets.evals", "runs.py"),
    ("realtime_widgets.evals", "clip.py"),
    ("realtime_widgets.server", "vad.py"),
    ("realtime_widgets.server", "engine*.py"),
)


def code_digest(sources: tuple[tuple[str, str], ...], reply: bytes) -> str:
    """The hash of the named sources' bytes (each with its name, in a fixed order) and
    ``reply`` (the default reply's samples)."""
    h = hashlib.sha256()
    for package, pattern in sources:
        folder = resources.files(package)
        names = sorted(p.name for p in folder.iterdir() if Path(p.name).match(pattern))
        if not names:
            raise FileNotFoundError(f"no source {pattern} in {package}")
        for name in names:
            h.update(f"{package}/{name}\0".encode())
            h.update(folder.joinpath(name).read_bytes())
    h.update(b"reply\0")
    h.update(reply)
    return h.hexdigest()[:16]


@functools.cache
def local_code_digest() -> str:
    """:func:`code_digest` of :data:`CODE_SOURCES` and the default reply, once per process."""
    # lazy: the suite module loads the shipped reply recording
    from realtime_widgets.evals.suite import default_reply

    return code_digest(CODE_SOURCES, default_reply().tobytes())


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
    code: str = ""  # local: local_code_digest(); remote: "" (re-measured on every read)
    tail_ms: float | None = None  # remote: the silence streamed after the clip

    @classmethod
    def of(
        cls,
        clip_hash: str,
        config: SessionConfig,
        mode: Mode,
        endpoint: str = "local",
        *,
        config_digest: str | None = None,
        tail_ms: float | None = None,
    ) -> CacheKey:
        """The key of ``config`` on a clip (``config_digest``: its :func:`config_hash`, when
        already computed; ``tail_ms``: the silence a remote run streams after the clip)."""
        if mode == "remote" and tail_ms is None:
            raise ValueError("a remote key needs the tail_ms streamed after the clip")
        return cls(
            clip_hash,
            config_digest or config_hash(config),
            config.model,
            mode,
            endpoint,
            sdk_version(),
            package_version(),
            local_code_digest() if mode == "local" else "",
            None if mode == "local" or tail_ms is None else float(tail_ms),
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
        """The record stored under ``key``, or None: missing, foreign, or damaged (a file that
        cannot be read, unzipped or parsed is warned about, naming it, and treated as missing:
        the sweep computes the result again and :meth:`put` replaces the file)."""
        path = self.path(key)
        try:
            record = json.loads(gzip.decompress(path.read_bytes()))
        except FileNotFoundError:
            return None
        except (OSError, EOFError, ValueError, UnicodeDecodeError) as exc:
            # gzip.BadGzipFile is an OSError, json.JSONDecodeError a ValueError
            warnings.warn(
                f"sweep cache: {path} is damaged ({type(exc).__name__}: {exc}); computing it again",
                RuntimeWarning,
                stacklevel=2,
            )
            return None
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
