"""Controls generated from SessionConfig's fields: nothing here lists a parameter by name.

The walk over ``model_fields`` picks a control from each field's type:

- ``Literal`` -> Dropdown; a bounded number -> slider with the field's range and step;
  ``bool`` -> Checkbox; ``str`` -> Text, or Textarea when the field asks for ``multiline``,
  or Combobox when the field lists ``examples``;
- a union of three or more literals and objects (voice, tool_choice) -> a Dropdown of the
  literals plus "custom...", which shows a text box for anything else (a custom voice id, a
  function name, JSON); a union with fewer literals (truncation, max_output_tokens) -> Combobox:
  the literals as suggestions, anything else typed is read as the field's shorthand or as JSON;
- ``X | None`` -> an enable toggle in front of X's control;
- a nested model -> a group of its fields (dotted paths); a tagged union of models (turn
  detection) -> a ``type`` dropdown plus every variant's fields, the ones that do not apply
  disabled with the reason;
- anything else (lists of tools, prompt variables, metadata) -> a JSON editor, which never
  shows a secret (an MCP tool's authorization): the panel keeps the config's own.

Each :class:`FieldControl` knows its dotted path, turns the widget's value into a config value
and back, and has a status line for errors and "requested but not effective" notes.
"""

from __future__ import annotations

import contextlib
import html
import json
from collections.abc import Callable
from typing import Any, Literal, get_args, get_origin

import annotated_types
import ipywidgets as w
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from realtime_widgets.protocol.configbase import plain as plain_value  # a value as JSON data
from realtime_widgets.protocol.introspect import (
    literal_values,
    models_in,
    strip_annotated,
    union_members,
)
from realtime_widgets.protocol.redaction import redact

__all__ = [
    "CUSTOM",
    "FieldControl",
    "Incomplete",
    "OptionalControl",
    "SectionControl",
    "build_controls",
    "leaves",
    "plain_value",
]

_LABEL = {"description_width": "130px"}
CUSTOM = "custom..."  # the choice control's entry for a value outside its list


class Incomplete(ValueError):
    """A control's value is not finished yet (e.g. "custom..." picked, nothing typed)."""


def _bounds(info: FieldInfo) -> tuple[float | None, float | None]:
    low: float | None = None
    high: float | None = None
    for meta in info.metadata:
        if isinstance(meta, annotated_types.Ge):
            low = float(meta.ge)  # type: ignore[arg-type]
        elif isinstance(meta, annotated_types.Le):
            high = float(meta.le)  # type: ignore[arg-type]
    return low, high


def _extra(info: FieldInfo) -> dict[str, Any]:
    extra = info.json_schema_extra
    return extra if isinstance(extra, dict) else {}


class FieldControl:
    """One parameter's widget: ``value`` in config terms, ``status`` for errors and notes."""

    def __init__(
        self,
        path: str,
        widget: w.Widget,
        read: Callable[[], Any],
        write: Callable[[Any], None],
        description: str | None,
    ) -> None:
        self.path = path
        self.widget = widget
        self._read = read
        self._write = write
        self.status = w.HTML(layout=w.Layout(margin="0 0 0 136px"))
        self.reason: str | None = None
        self.description = description or ""
        if hasattr(widget, "description_allow_html"):
            widget.tooltip = self.description

    @property
    def value(self) -> Any:
        return self._read()

    def set(self, value: Any) -> None:
        self._write(value)

    def disable(self, reason: str | None) -> None:
        """Disable the control with the reason shown (None enables it again)."""
        self.reason = reason
        for child in leaves(self.widget):
            if hasattr(child, "disabled"):
                child.disabled = reason is not None
        if reason is not None:
            self.note(f"<span style='color:#888'>{reason}</span>")
        elif "color:#888" in self.status.value:
            self.note(None)

    def note(self, html: str | None) -> None:
        self.status.value = html or ""

    def error(self, message: str | None) -> None:
        self.note(
            None
            if message is None
            else f"<span style='color:#c0392b'>&#9888; {html.escape(message)}</span>"
        )

    @property
    def box(self) -> w.Widget:
        return w.VBox([self.widget, self.status], layout=w.Layout(margin="0 0 2px 0"))


def leaves(widget: w.Widget) -> list[w.Widget]:
    """The innermost widgets of a (possibly nested) box."""
    children = getattr(widget, "children", None)
    if children:
        return [leaf for c in children for leaf in leaves(c)]
    return [widget]


def _label(name: str) -> str:
    return name.replace("_", " ")


def _simple(path: str, name: str, annotation: Any, info: FieldInfo) -> FieldControl | None:
    """Controls for plain types; None when the type needs a richer control."""
    kind = strip_annotated(annotation)
    desc = info.description
    extra = _extra(info)
    if get_origin(kind) is Literal:
        dropdown = w.Dropdown(
            options=list(get_args(kind)),
            description=_label(name),
            style=_LABEL,
            layout=w.Layout(width="auto"),
        )
        return FieldControl(
            path, dropdown, lambda: dropdown.value, lambda v: setattr(dropdown, "value", v), desc
        )
    if kind is bool:
        box = w.Checkbox(description=_label(name), indent=False, layout=w.Layout(width="auto"))
        return FieldControl(
            path, box, lambda: box.value, lambda v: setattr(box, "value", bool(v)), desc
        )
    if kind in (int, float):
        low, high = _bounds(info)
        if low is not None and high is not None:
            top = extra.get("soft_max", high)
            step = extra.get("step", 1 if kind is int else round((high - low) / 100, 6))
            cls = w.IntSlider if kind is int else w.FloatSlider
            slider = cls(
                min=low,
                max=top,
                step=step,
                description=_label(name),
                style=_LABEL,
                layout=w.Layout(width="95%"),
                continuous_update=False,
            )
            if kind is float:
                slider.readout_format = ".2f"

            def write(value: Any, slider: Any = slider, high: float = high) -> None:
                if value is not None and value > slider.max:
                    slider.max = min(high, value)  # the comfortable range grows to any valid value
                slider.value = value

            return FieldControl(path, slider, lambda: slider.value, write, desc)
        text = (w.IntText if kind is int else w.FloatText)(
            description=_label(name), style=_LABEL, layout=w.Layout(width="auto")
        )
        return FieldControl(
            path, text, lambda: text.value, lambda v: setattr(text, "value", v), desc
        )
    if kind is str:
        if "examples" in extra:
            combo = w.Combobox(
                options=list(extra["examples"]),
                description=_label(name),
                style=_LABEL,
                layout=w.Layout(width="auto"),
                ensure_option=False,
                continuous_update=False,
            )
            return FieldControl(
                path, combo, lambda: combo.value, lambda v: setattr(combo, "value", v or ""), desc
            )
        cls = w.Textarea if extra.get("multiline") else w.Text
        text = cls(
            description=_label(name),
            style=_LABEL,
            layout=w.Layout(width="95%"),
            continuous_update=False,
        )
        return FieldControl(
            path, text, lambda: text.value, lambda v: setattr(text, "value", v or ""), desc
        )
    return None


def _read_free_text(text: str) -> Any:
    """Free text in config terms: JSON objects and lists, integers, else the string."""
    text = text.strip()
    if text.startswith(("{", "[")):
        return json.loads(text)
    if text.lstrip("-").isdigit():
        return int(text)
    return text


def _shorthand(plain: Any) -> str:
    """A config value as the text the free-text reader reads back to the same value."""
    if (
        isinstance(plain, dict)
        and set(plain) <= {"type", "name"}
        and plain.get("type") == "function"
    ):
        return str(plain["name"])
    if isinstance(plain, dict) and set(plain) == {"id"}:
        return str(plain["id"])
    return plain if isinstance(plain, str) else json.dumps(plain)


def _choice(path: str, name: str, options: list[str], info: FieldInfo) -> FieldControl:
    """The field's literals in a dropdown, plus "custom..." with a text box for anything else."""
    dropdown = w.Dropdown(
        options=[*options, CUSTOM],
        description=_label(name),
        style=_LABEL,
        layout=w.Layout(width="auto"),
    )
    text = w.Text(
        placeholder="custom value (an id, a name or JSON)",
        continuous_update=False,
        layout=w.Layout(flex="1 1 auto", width="auto", display="none"),
    )
    dropdown.tooltip = info.description or ""
    text.tooltip = f"{_label(name)}: a value outside the list"
    box = w.HBox([dropdown, text], layout=w.Layout(width="100%"))

    def show() -> None:
        text.layout.display = None if dropdown.value == CUSTOM else "none"

    dropdown.observe(lambda _: show(), "value")

    def read() -> Any:
        if dropdown.value != CUSTOM:
            return dropdown.value
        if not text.value.strip():
            raise Incomplete(f"{path}: type a custom value or pick one from the list")
        return _read_free_text(text.value)

    def write(value: Any) -> None:
        plain = plain_value(value)
        if isinstance(plain, str) and plain in options:
            dropdown.value = plain
        else:
            text.value = _shorthand(plain)
            dropdown.value = CUSTOM
        show()

    return FieldControl(path, box, read, write, info.description)


def _combo(path: str, name: str, annotation: Any, info: FieldInfo) -> FieldControl:
    """Literal options plus free text (the field's shorthand, a number, or JSON)."""
    options = [str(v) for v in literal_values(annotation)]
    combo = w.Combobox(
        options=options,
        description=_label(name),
        style=_LABEL,
        layout=w.Layout(width="auto"),
        ensure_option=False,
        continuous_update=False,
    )

    def read() -> Any:
        return _read_free_text(combo.value)

    def write(value: Any) -> None:
        combo.value = _shorthand(plain_value(value))  # the shorthand the validator reads back

    return FieldControl(path, combo, read, write, info.description)


def _json(path: str, name: str, info: FieldInfo) -> FieldControl:
    area = w.Textarea(
        description=_label(name),
        style=_LABEL,
        layout=w.Layout(width="95%", height="80px"),
        continuous_update=False,
        placeholder="JSON",
    )

    def read() -> Any:
        try:
            return json.loads(area.value) if area.value.strip() else None
        except RecursionError:  # '[[[[...': the decoder gives up; the config would refuse it
            raise ValueError("arrays/objects nested too deep") from None

    def write(value: Any) -> None:
        plain = redact(plain_value(value))  # a synced trait: secrets stay in the kernel's config
        area.value = "" if plain is None else json.dumps(plain, indent=1)

    return FieldControl(path, area, read, write, info.description)


def build_controls(model: type[BaseModel], prefix: str = "") -> list[FieldControl]:
    """FieldControls for every field of ``model`` (recursively, dotted paths)."""
    controls: list[FieldControl] = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        controls.extend(_controls_for(path, name, info.annotation, info))
    return controls


def _controls_for(path: str, name: str, annotation: Any, info: FieldInfo) -> list[FieldControl]:
    controls = _make_controls(path, name, annotation, info)
    default = info.get_default(call_default_factory=True)
    if default is not PydanticUndefined and len(controls) == 1:
        with contextlib.suppress(Exception):  # a default it cannot show leaves it as built
            controls[0].set(default)  # a control starts at its field's default
    return controls


def _make_controls(path: str, name: str, annotation: Any, info: FieldInfo) -> list[FieldControl]:
    members = [m for m in union_members(annotation) if m is not type(None)]
    optional = len(members) < len(union_members(annotation))
    models = models_in(annotation, through_lists=False)
    lists = get_origin(strip_annotated(members[0])) is list if len(members) == 1 else False
    if lists:
        item = get_args(strip_annotated(members[0]))[0]
        if get_origin(strip_annotated(item)) is Literal:  # one-of-a-list (output_modalities)
            values = list(get_args(strip_annotated(item)))
            dropdown = w.Dropdown(
                options=values,
                description=_label(name),
                style=_LABEL,
                layout=w.Layout(width="auto"),
            )
            one = FieldControl(
                path,
                dropdown,
                lambda: [dropdown.value],
                lambda v: setattr(dropdown, "value", (v or [values[0]])[0]),
                info.description,
            )
            return [OptionalControl(path, name, one, info) if optional else one]
        return [_json(path, name, info)]
    if len(members) == 1 and not models:
        control = _simple(path, name, members[0], info)
        if control is not None and not optional:
            return [control]
        if control is not None:
            return [OptionalControl(path, name, control, info)]
        return [_json(path, name, info)]
    if models and not literal_values(annotation):
        if len(models) == 1:
            inner = build_controls(models[0], prefix=f"{path}.")
            return [SectionControl(path, name, inner, optional, info, models)]
        return [SectionControl(path, name, _variants(path, models), optional, info, models)]
    literals = [str(v) for v in literal_values(annotation)]
    if len(literals) >= 3:
        control = _choice(path, name, literals, info)
    else:
        control = _combo(path, name, annotation, info)
    return [OptionalControl(path, name, control, info)] if optional else [control]


def _variants(path: str, models: list[type[BaseModel]]) -> list[FieldControl]:
    """A 'type' dropdown plus the fields of every variant (each tagged with its variants)."""
    tags = [m.model_fields["type"].default for m in models]
    dropdown = w.Dropdown(
        options=tags, description="type", style=_LABEL, layout=w.Layout(width="auto")
    )
    controls = [
        FieldControl(
            f"{path}.type",
            dropdown,
            lambda: dropdown.value,
            lambda v: setattr(dropdown, "value", v),
            "Which kind",
        )
    ]
    seen: dict[str, FieldControl] = {}
    for model in models:
        for name, info in model.model_fields.items():
            if name == "type":
                continue
            if name in seen:
                seen[name].variants.append(model.model_fields["type"].default)  # type: ignore[attr-defined]
                continue
            for control in _controls_for(f"{path}.{name}", name, info.annotation, info):
                control.variants = [model.model_fields["type"].default]  # type: ignore[attr-defined]
                seen[name] = control
                controls.append(control)
    return controls


class SectionControl(FieldControl):
    """A nested object: an optional enable toggle and its fields' controls."""

    def __init__(
        self,
        path: str,
        name: str,
        inner: list[FieldControl],
        optional: bool,
        info: FieldInfo,
        models: list[type[BaseModel]],
    ) -> None:
        self.inner = inner
        self.optional = optional
        self.models = models
        self.toggle = w.Checkbox(
            description=f"{_label(name)}", indent=False, value=True, layout=w.Layout(width="auto")
        )
        header: list[w.Widget] = [self.toggle] if optional else [w.HTML(f"<b>{_label(name)}</b>")]
        body = w.VBox([c.box for c in inner], layout=w.Layout(margin="0 0 0 16px"))
        self.body = body
        box = w.VBox([*header, body])
        super().__init__(path, box, self._read_section, self._write_section, info.description)
        self.toggle.observe(lambda _: self._show(), "value")

    def omit(self, *paths: str) -> None:
        """Leave out the fields at these dotted paths: settings that do not apply to this kind
        of session (a transcription session's ``turn_detection.create_response``) are neither
        shown nor read."""
        self.inner = [c for c in self.inner if c.path not in paths]
        self.body.children = [c.box for c in self.inner]

    def _show(self) -> None:
        self.body.layout.display = None if (self.toggle.value or not self.optional) else "none"

    def _read_section(self) -> Any:
        if self.optional and not self.toggle.value:
            return None
        data: dict[str, Any] = {}
        kind = None
        for control in self.inner:
            key = control.path[len(self.path) + 1 :]
            if key == "type":
                kind = control.value
        for control in self.inner:
            key = control.path[len(self.path) + 1 :]
            variants = getattr(control, "variants", None)
            if variants is not None and kind not in variants:
                continue
            value = control.value
            if value is None and key != "type":
                continue
            data[key] = value
        return data

    def _write_section(self, value: Any) -> None:
        plain = plain_value(value)
        self.toggle.value = plain is not None
        self._show()
        if not isinstance(plain, dict):
            return
        for control in self.inner:
            key = control.path[len(self.path) + 1 :]
            if key in plain:
                control.set(plain[key])
        kind = plain.get("type")
        for control in self.inner:
            variants = getattr(control, "variants", None)
            if variants is not None:
                control.disable(None if kind in variants else f"only for {' / '.join(variants)}")


class OptionalControl(FieldControl):
    """``X | None``: an enable toggle in front of X's control."""

    def __init__(self, path: str, name: str, inner: FieldControl, info: FieldInfo) -> None:
        self.inner = inner
        self.toggle = w.Checkbox(
            description="", indent=False, value=False, layout=w.Layout(width="28px")
        )
        # The box has no text of its own: the tooltip says what it does.
        self.toggle.tooltip = (
            f"send {_label(name)}: ticked sends the value beside it; "
            "unticked leaves it unset (the server's default)"
        )
        box = w.HBox([self.toggle, inner.widget], layout=w.Layout(width="100%"))
        super().__init__(path, box, self._read_opt, self._write_opt, info.description)
        self.toggle.observe(lambda _: self._enable_inner(self.toggle.value), "value")
        self._enable_inner(False)

    def _enable_inner(self, enabled: bool) -> None:
        for leaf in leaves(self.inner.widget):
            if hasattr(leaf, "disabled"):
                leaf.disabled = not enabled

    def _read_opt(self) -> Any:
        return self.inner.value if self.toggle.value else None

    def _write_opt(self, value: Any) -> None:
        self.toggle.value = value is not None
        if value is not None:
            self.inner.set(value)
        self._enable_inner(value is not None and self.reason is None)
