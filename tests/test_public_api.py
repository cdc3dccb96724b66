"""The public API: re-exported at the top, sorted, and nothing private leaks."""

from __future__ import annotations

import realtime_widgets
import realtime_widgets.protocol


def _isort_key(name: str) -> tuple[int, str]:
    # The order ruff's RUF022 keeps: CONSTANTS, then Classes, then functions.
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return kind, name


def test_all_is_sorted_and_complete() -> None:
    for module in (realtime_widgets, realtime_widgets.protocol):
        names = list(module.__all__)
        assert names == sorted(names, key=_isort_key), module.__name__
        for name in names:
            assert hasattr(module, name), f"{module.__name__}.{name}"
        assert not [n for n in names if n.startswith("_") and n != "__version__"]


def test_top_level_reexports_the_config_model_and_errors() -> None:
    for name in (
        "SessionConfig",
        "ServerVad",
        "SemanticVad",
        "ConfigError",
        "RealtimeWidgetsError",
    ):
        assert name in realtime_widgets.__all__
    assert issubclass(realtime_widgets.ConfigError, realtime_widgets.RealtimeWidgetsError)
    assert issubclass(realtime_widgets.ConfigError, ValueError)


def test_credential_headers_are_redacted_in_logs() -> None:
    from realtime_widgets.logs import redact

    text = "> GET /v1/realtime HTTP/1.1\n> Authorization: Bearer sk-abc\n> api-key: zzz\n> Host: x"
    assert (
        redact(text)
        == "> GET /v1/realtime HTTP/1.1\n> Authorization: ***\n> api-key: ***\n> Host: x"
    )
