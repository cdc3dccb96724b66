"""The controls of a transcription session come from TranscriptionConfig by the same generator
as the realtime panel's (widgets/controls.py walks model_fields): nothing is listed by name."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from realtime_widgets.protocol.transcription_config import TranscriptionConfig
from realtime_widgets.widgets.controls import SectionControl, build_controls
from tests.protocol.strategies import transcription_config_data


def _by_path() -> dict[str, object]:
    return {c.path: c for c in build_controls(TranscriptionConfig)}


def test_one_control_per_parameter_and_its_nested_fields() -> None:
    controls = _by_path()
    assert set(controls) == set(TranscriptionConfig.model_fields)
    td = controls["turn_detection"]
    assert isinstance(td, SectionControl)
    inner = {c.path for c in td.inner}
    assert {"turn_detection.threshold", "turn_detection.eagerness"} <= inner
    tr = controls["transcription"]
    assert isinstance(tr, SectionControl)
    assert {c.path for c in tr.inner} >= {
        "transcription.model",
        "transcription.language",
        "transcription.prompt",
        "transcription.delay",
    }


def test_controls_start_at_the_defaults() -> None:
    controls = _by_path()
    values = {path: c.value for path, c in controls.items()}  # type: ignore[attr-defined]
    assert TranscriptionConfig(**values) == TranscriptionConfig()


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(transcription_config_data())
def test_controls_show_and_read_back_any_config(data: dict) -> None:
    config = TranscriptionConfig(**data)
    controls = _by_path()
    for path, control in controls.items():
        control.set(getattr(config, path))  # type: ignore[attr-defined]
    values = {path: c.value for path, c in controls.items()}  # type: ignore[attr-defined]
    assert TranscriptionConfig(**values) == config
