"""Where to connect and with what credential: OpenAI, Azure OpenAI, an ephemeral client
secret, or any base URL (the local server). The key lives in a :class:`Secret` whose repr and
str never show it; it leaves the process only in the connection's auth header.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlparse

from realtime_widgets.errors import RealtimeWidgetsError, ServerError
from realtime_widgets.protocol.config import SessionConfig

__all__ = ["Endpoint", "Secret", "mint_client_secret"]

OPENAI_WS = "wss://api.openai.com/v1/realtime"
OPENAI_HTTP = "https://api.openai.com/v1"


class Secret:
    """A credential that does not show itself (repr, str, format, pickling all redact it)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or not value.strip():
            raise RealtimeWidgetsError("an API key must be a non-empty string")
        self._value = value.strip()

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", len(self._value)))


@dataclass(frozen=True)
class Endpoint:
    """A Realtime WebSocket URL and how to authenticate against it."""

    url: str
    secret: Secret | None = field(default=None, repr=False)
    header: str = "Authorization"  # or "api-key" for Azure
    beta: bool = False
    kind: str = "custom"

    def headers(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.secret is not None:
            value = self.secret.reveal()
            out[self.header] = f"Bearer {value}" if self.header == "Authorization" else value
        if self.beta:
            out["OpenAI-Beta"] = "realtime=v1"
        return out

    @property
    def display(self) -> str:
        """The URL without query secrets (for repr, logs and the widgets)."""
        parts = urlparse(self.url)
        return f"{parts.scheme}://{parts.netloc}{parts.path}"

    @classmethod
    def openai(cls, model: str, api_key: str | Secret | None = None) -> Endpoint:
        """OpenAI: the key from the argument or ``OPENAI_API_KEY``."""
        secret = _secret(api_key, "OPENAI_API_KEY", "OpenAI")
        return cls(f"{OPENAI_WS}?{urlencode({'model': model})}", secret, kind="openai")

    @classmethod
    def azure(cls, endpoint: str, deployment: str, api_key: str | Secret | None = None) -> Endpoint:
        """Azure OpenAI (GA): ``wss://RESOURCE.openai.azure.com/openai/v1/realtime?model=DEPLOYMENT``
        with the ``api-key`` header (from the argument or ``AZURE_OPENAI_API_KEY``)."""
        host = urlparse(endpoint if "://" in endpoint else f"https://{endpoint}").netloc
        if not host:
            raise RealtimeWidgetsError(f"azure endpoint must be a host or URL, got {endpoint!r}")
        secret = _secret(api_key, "AZURE_OPENAI_API_KEY", "Azure OpenAI")
        url = f"wss://{host}/openai/v1/realtime?{urlencode({'model': deployment})}"
        return cls(url, secret, header="api-key", kind="azure")

    @classmethod
    def local(cls, url: str, model: str, token: str | None = None) -> Endpoint:
        """Any OpenAI-compatible server, e.g. the embedded local server's ``url``."""
        sep = "&" if "?" in url else "?"
        return cls(
            f"{url}{sep}{urlencode({'model': model})}",
            Secret(token) if token else None,
            kind="local",
        )

    @classmethod
    def ephemeral(cls, client_secret: str, model: str) -> Endpoint:
        """An ephemeral ``ek_...`` secret minted by :func:`mint_client_secret`."""
        return cls(
            f"{OPENAI_WS}?{urlencode({'model': model})}", Secret(client_secret), kind="ephemeral"
        )


def _secret(value: str | Secret | None, env: str, who: str) -> Secret:
    if isinstance(value, Secret):
        return value
    if value is None:
        value = os.environ.get(env)
    if not value:
        raise RealtimeWidgetsError(f"no {who} API key: pass api_key=... or set {env}")
    return Secret(value)


def mint_client_secret(
    config: SessionConfig,
    *,
    api_key: str | Secret | None = None,
    expires_after_s: int = 600,
    base_url: str = OPENAI_HTTP,
    timeout: float = 20.0,
) -> tuple[str, int]:
    """Mint an ephemeral client secret (``POST /v1/realtime/client_secrets``) for a browser or
    another process. Returns ``(value, expires_at)``; the session is created with ``config``."""
    if not 10 <= expires_after_s <= 7200:
        raise RealtimeWidgetsError(
            f"expires_after_s must be between 10 and 7200 seconds, got {expires_after_s}"
        )
    secret = _secret(api_key, "OPENAI_API_KEY", "OpenAI")
    session = config.to_session_update()["session"]
    session.setdefault("model", config.model)
    body = json.dumps(
        {"expires_after": {"anchor": "created_at", "seconds": expires_after_s}, "session": session}
    ).encode()
    request = urllib.request.Request(
        f"{base_url.rstrip('/')}/realtime/client_secrets",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {secret.reveal()}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = _error_message(exc.read())
        raise ServerError(f"minting a client secret failed ({exc.code}): {detail}") from None
    except urllib.error.URLError as exc:
        raise ServerError(f"minting a client secret failed: {exc.reason}") from None
    return str(data["value"]), int(data["expires_at"])


def _error_message(raw: bytes) -> str:
    try:
        return str(json.loads(raw)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return raw.decode("utf-8", "replace")[:200]
