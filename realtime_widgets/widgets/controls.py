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
and back, and has a status line for errors and "requested but not effective" notes, and a small
mark beside it (``show_state``): applied, pending or refused, the detail in its tooltip. A field
whose ``Param`` says OpenAI has deprecated it gets a standing note (``notice``) under its
control, from that metadata alone: the deprecation and its shutdown date, in the right tense.

The function tools of a ``tools`` list get a form (:class:`ToolsControl`): name, description and
each parameter as fields (name, JSON Schema type, description, required, enum for strings); the
JSON editor is its advanced view, and the form writes through it, so both always agree.
"""

from __future__ import annotations

import contextlib
import functools
import html
import json
import re
from collections.abc import Callable
from typing import Any, Literal, get_args, get_origin

import annotated_types
import ipywidgets as w
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from realtime_widgets.protocol.configbase import Param
from realtime_widgets.protocol.configbase import plain as plain_value  # a value as JSON data
from realtime_widgets.protocol.introspect import (
    literal_values,
    models_in,
    strip_annotated,
    union_members,
)
from realtime_widgets.protocol.parts import FunctionTool
from realtime_widgets.protocol.redaction import redact

__all__ = [
    "CUSTOM",
    "MARKS",
    "PARAM_TYPES",
    "FieldControl",
    "Incomplete",
    "OptionalControl",
    "SectionControl",
    "ToolsControl",
    "build_controls",
    "leaves",
    "plain_value",
    "top_field",
]

_LABEL = {"description_width": "130px"}
CUSTOM = "custom..."  # the choice control's entry for a value outside its list
# A control's state mark: symbol and colour per state (the tooltip says the detail).
MARKS = {
    "applied": ("&#10003;", "#1e8449"),  # check mark
    "pending": ("&#8230;", "#b9770e"),  # ellipsis
    "refused": ("&#10005;", "#c0392b"),  # cross
    "unsent": ("&#183;", "#888"),  # middle dot: no live session
}
# The parameter types a function tool's form offers: JSON Schema's types.
PARAM_TYPES = ("string", "number", "integer", "boolean", "array", "object")
AS_IN_JSON = "(as in JSON)"  # a type the form cannot show (a list of types): kept as it is


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
        # What the field's metadata says of it (a deprecation): no status note replaces it.
        self.notice = w.HTML(layout=w.Layout(margin="0 0 0 136px", display="none"))
        # Hidden until a state is shown (the ConfigPanel's; other users of the controls, the
        # transcription view and the VAD lab, never show one and lose no width to it).
        self.mark = w.HTML(
            layout=w.Layout(width="16px", flex="0 0 16px", margin="0 0 0 2px", display="none")
        )
        self.state: tuple[str, str] | None = None  # (applied|pending|refused|unsent, detail)
        self.reason: str | None = None
        self.description = description or ""
        if hasattr(widget, "description_allow_html"):
            widget.tooltip = self.description

    @property
    def value(self) -> Any:
        return self._read()

    def set(self, value: Any) -> None:
        self._write(value)

    def watch(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (on the thread of the change) whenever a person changes a value."""
        self.watch_leaves(lambda _leaf, _value: callback())

    def watch_leaves(self, callback: Callable[[w.ValueWidget, Any], None]) -> None:
        """:meth:`watch`, told which widget changed and the value it was given (read back, a
        widget may already show what another thread wrote since)."""
        for leaf in leaves(self.widget):
            if isinstance(leaf, w.ValueWidget) and not isinstance(leaf, w.HTML | w.Label):
                leaf.observe(lambda change: callback(change["owner"], change["new"]), "value")

    def show_state(self, state: str | None, detail: str = "") -> None:
        """The mark beside the control: ``state`` is a key of :data:`MARKS` (None: no mark);
        ``detail`` is its tooltip."""
        if (state, detail) == self.state or (state is None and self.state is None):
            return
        self.state = None if state is None else (state, detail)
        self.mark.layout.display = "none" if state is None else None
        if state is None:
            self.mark.value = ""
            return
        symbol, colour = MARKS[state]
        tip = html.escape(f"{state}: {detail}" if detail else state, quote=True)
        self.mark.value = (
            f"<span class='rw-mark' data-path='{html.escape(self.path, quote=True)}' "
            f"data-state='{state}' title='{tip}' style='color:{colour};font-weight:bold;"
            f"cursor:help'>{symbol}</span>"
        )

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

    def advise(self, text: str | None) -> None:
        """A standing note under the control (None: none), apart from the status line, which
        errors and server notes rewrite: the field's deprecation (:func:`build_controls`)."""
        self.notice.layout.display = "none" if text is None else None
        self.notice.value = (
            ""
            if text is None
            # Wrapped at any character (the note may hold a long URL) in a narrow column; a
            # dark amber, 5.9:1 on white (the status lines' #b9770e is 3.7:1, under WCAG AA).
            else f"<div class='rw-notice' data-path='{html.escape(self.path, quote=True)}' "
            "style='color:#8a5a00;line-height:1.35;font-size:12px;white-space:normal;"
            f"overflow-wrap:anywhere'>&#9888; {html.escape(text)}</div>"
        )

    def error(self, message: str | None) -> None:
        self.note(
            None
            if message is None
            else f"<span style='color:#c0392b'>&#9888; {html.escape(message)}</span>"
        )

    @functools.cached_property
    def box(self) -> w.Widget:  # made once: a control sits in one place
        # The value may shrink below its default width (a text box's 300 px and its label were
        # wider than a 338 px column at 1366x768 with the file browser open) rather than push the
        # row wider than the column.
        if not self.widget.layout.min_width:
            self.widget.layout.min_width = "0"
        row = w.HBox([self.widget, self.mark], layout=w.Layout(width="auto", align_items="center"))
        return w.VBox([row, self.notice, self.status], layout=w.Layout(margin="0 0 2px 0"))


def top_field(path: str | None) -> str:
    """The top-level field a problem's path names: what a console's controls are keyed by
    (``input[0].type`` and ``input`` -> ``input``; ``audio.output.voice`` -> ``audio``; None or
    ``""`` -> ``""``, no control). Every console maps a problem (a ConfigError's field, a
    server error's ``param``) to its control with this."""
    return re.split(r"[.\[]", path or "", maxsplit=1)[0]


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
    box = w.HBox([dropdown, text], layout=w.Layout(flex="1 1 auto", width="auto", min_width="0"))

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
    deprecated = [m.deprecated for m in info.metadata if isinstance(m, Param) and m.deprecated]
    if deprecated and len(controls) == 1:
        controls[0].advise(deprecated[0].note())
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
        if FunctionTool in models_in(item):
            return [ToolsControl(path, name, info)]
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
        title = self.toggle if optional else w.HTML(f"<b>{_label(name)}</b>")
        body = w.VBox([c.box for c in inner], layout=w.Layout(margin="0 0 0 16px"))
        self.body = body
        self.header = w.HBox([title], layout=w.Layout(align_items="center"))
        box = w.VBox([self.header, body])
        super().__init__(path, box, self._read_section, self._write_section, info.description)
        self.header.children = [title, self.mark]  # the section's mark sits by its title
        box.children = [self.header, self.notice, body]  # its notice under the title
        self.notice.layout.margin = "0 0 0 16px"
        self.toggle.observe(lambda _: self._show(), "value")

    def omit(self, *paths: str) -> None:
        """Leave out the fields at these dotted paths: settings that do not apply to this kind
        of session (a transcription session's ``turn_detection.create_response``) are neither
        shown nor read."""
        self.inner = [c for c in self.inner if c.path not in paths]
        self.body.children = [c.box for c in self.inner]

    @functools.cached_property
    def box(self) -> w.Widget:
        return w.VBox([self.widget, self.status], layout=w.Layout(margin="0 0 2px 0"))

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
        box = w.HBox(
            [self.toggle, inner.widget],
            layout=w.Layout(flex="1 1 auto", width="auto", min_width="0"),
        )
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


def _param_fields(schema: dict[str, Any]) -> tuple[str, str, str, dict[str, Any]]:
    """A parameter's schema as the form's fields: (type shown, description, enum text, the
    keys the form does not show: ``items``, ``minimum``, ... kept as they were)."""
    extra = dict(schema)
    kind = extra.pop("type", "string")
    shown = kind if isinstance(kind, str) and kind in PARAM_TYPES else AS_IN_JSON
    if shown == AS_IN_JSON:
        extra["type"] = kind
    enum = extra.pop("enum", None) if kind == "string" else None
    description = str(extra.pop("description", "") or "")
    enum_text = ", ".join(str(v) for v in enum) if isinstance(enum, list) else ""
    return shown, description, enum_text, extra


def _param_schema(kind: str, description: str, enum: str, extra: dict[str, Any]) -> dict[str, Any]:
    """The form's fields of a parameter as its JSON schema (:func:`_param_fields` reversed)."""
    schema: dict[str, Any] = {}
    if kind != AS_IN_JSON:
        schema["type"] = kind
    if description.strip():
        schema["description"] = description.strip()
    schema.update(extra)
    values = [v.strip() for v in enum.split(",") if v.strip()]
    if kind == "string" and values:
        schema["enum"] = values
    return schema


def _tool_parts(
    tool: dict[str, Any],
) -> tuple[list[tuple[str, dict[str, Any], bool]], dict[str, Any], dict[str, Any]]:
    """A function tool's parameters as (name, schema, required) rows, the other keys of its
    ``parameters`` and of the tool itself (kept as they were)."""
    params = dict(tool.get("parameters") or {"type": "object", "properties": {}})
    props = params.pop("properties", {}) or {}
    required = set(params.pop("required", []) or [])
    params.pop("type", None)
    extra = {
        k: v for k, v in tool.items() if k not in ("type", "name", "description", "parameters")
    }
    rows = [(str(n), s if isinstance(s, dict) else {}, n in required) for n, s in props.items()]
    return rows, params, extra


def _tool_dict(
    name: str,
    description: str,
    rows: list[tuple[str, dict[str, Any], bool]],
    params_extra: dict[str, Any],
    tool_extra: dict[str, Any],
) -> dict[str, Any]:
    props: dict[str, Any] = {}
    required: list[str] = []
    for row_name, schema, needed in rows:
        if not row_name.strip():
            continue  # a row not named yet: nothing to send
        props[row_name.strip()] = schema
        if needed:
            required.append(row_name.strip())
    parameters: dict[str, Any] = {**params_extra, "type": "object", "properties": props}
    if required:
        parameters["required"] = required
    tool: dict[str, Any] = {"type": "function", "name": name.strip()}
    if description.strip():
        tool["description"] = description.strip()
    tool["parameters"] = parameters
    tool.update(tool_extra)
    return tool


def _tidy(tool: dict[str, Any]) -> dict[str, Any]:
    """A tool as the form would write it back (to compare the form with JSON)."""
    if tool.get("type") != "function":
        return tool
    rows, params_extra, tool_extra = _tool_parts(tool)
    tidy = [(n, _param_schema(*_param_fields(s)), r) for n, s, r in rows]
    name, description = str(tool.get("name", "")), str(tool.get("description") or "")
    return _tool_dict(name, description, tidy, params_extra, tool_extra)


class _ParamRow:
    """One parameter of a function tool's form: its widgets, and the schema keys the form does
    not show (``items``, ``minimum``, ...), kept as they were."""

    def __init__(self, name: str, schema: dict[str, Any], required: bool) -> None:
        shown, description, enum, self.extra = _param_fields(schema)
        self.name = w.Text(
            value=name,
            placeholder="parameter name",
            continuous_update=False,
            layout=w.Layout(flex="1 1 0%", width="auto", min_width="60px"),
        )
        self.name.tooltip = "the parameter's name (a key of the arguments object)"
        self.kind = w.Dropdown(
            options=[*PARAM_TYPES, *([AS_IN_JSON] if shown == AS_IN_JSON else [])],
            value=shown,
            layout=w.Layout(width="86px", flex="0 0 86px"),
        )
        self.kind.tooltip = "the parameter's JSON Schema type"
        self.required = w.Checkbox(
            value=required,
            description="required",
            indent=False,
            layout=w.Layout(width="82px", flex="0 0 82px"),
        )
        self.remove = w.Button(
            description="", icon="trash", tooltip="remove this parameter", layout=_icon()
        )
        self.description = w.Text(
            value=description,
            placeholder="description",
            continuous_update=False,
            layout=w.Layout(flex="3 1 0%", width="auto", min_width="60px"),
        )
        self.enum = w.Text(
            value=enum,
            placeholder="enum: a, b, c",
            continuous_update=False,
            layout=w.Layout(flex="2 1 0%", width="auto", min_width="60px"),
        )
        self.enum.tooltip = "the allowed values, separated by commas (strings only)"
        self.kind.observe(lambda _: self._show_enum(), "value")
        self._show_enum()
        self.box = w.VBox(
            [
                w.HBox([self.name, self.kind, self.required, self.remove], layout=_row()),
                w.HBox([self.description, self.enum], layout=_row()),
            ],
            layout=w.Layout(border_left="2px solid #ddd", padding="0 0 0 4px", margin="2px 0"),
        )
        self.box.add_class("rw-tool-param")

    def _show_enum(self) -> None:
        self.enum.layout.display = None if self.kind.value == "string" else "none"

    def schema(self) -> dict[str, Any]:
        return _param_schema(self.kind.value, self.description.value, self.enum.value, self.extra)

    def watch(self, callback: Callable[[], None]) -> None:
        for leaf in (self.name, self.kind, self.required, self.description, self.enum):
            leaf.observe(lambda _change: callback(), "value")


class _ToolForm:
    """One function tool's form: name, description, parameters."""

    def __init__(self, tool: dict[str, Any]) -> None:
        rows, self.params_extra, self.tool_extra = _tool_parts(tool)
        self.name = w.Text(
            value=str(tool.get("name", "")),
            description="name",
            placeholder="get_weather",
            continuous_update=False,
            style=_FORM_LABEL,
            layout=w.Layout(flex="1 1 0%", width="auto", min_width="120px"),
        )
        self.name.tooltip = "the function's name: letters, digits, _ and -, at most 64"
        self.remove = w.Button(
            description="", icon="trash", tooltip="remove this function tool", layout=_icon()
        )
        self.description = w.Textarea(
            value=str(tool.get("description") or ""),
            description="description",
            placeholder="when and how the model should call it",
            continuous_update=False,
            style=_FORM_LABEL,
            layout=w.Layout(width="auto", height="48px"),
        )
        self.rows = [_ParamRow(n, schema, required) for n, schema, required in rows]
        self.add_param = w.Button(
            description="parameter",
            icon="plus",
            tooltip="add a parameter to this function",
            layout=w.Layout(width="auto"),
        )
        self.params_box = w.VBox([r.box for r in self.rows], layout=w.Layout(width="auto"))
        self.box = w.VBox(
            [
                w.HBox([self.name, self.remove], layout=_row()),
                self.description,
                w.HTML("<span style='color:#555'>parameters</span>"),
                self.params_box,
                self.add_param,
            ],
            layout=w.Layout(border="1px solid #ddd", padding="4px", margin="0 0 4px 0"),
        )
        self.box.add_class("rw-tool-form")

    def tool(self) -> dict[str, Any]:
        rows = [(r.name.value, r.schema(), bool(r.required.value)) for r in self.rows]
        return _tool_dict(
            self.name.value, self.description.value, rows, self.params_extra, self.tool_extra
        )


def _icon() -> w.Layout:
    return w.Layout(width="32px", flex="0 0 auto")


def _row() -> w.Layout:
    return w.Layout(width="auto", align_items="center", overflow="hidden")


_FORM_LABEL = {"description_width": "78px"}


class ToolsControl(FieldControl):
    """Function tools as forms, the whole list as JSON (the advanced view).

    ``widget`` is the JSON editor: the panel reads the value from it, and the form writes its
    tools there (the other tools, MCP, are kept as the JSON has them), so the two never
    disagree. JSON that does not parse is kept as typed, with an error naming the field; the
    form waits (disabled) until it parses. ``run`` is where the form's edits are handled (the
    panel hands them to its session loop)."""

    def __init__(self, path: str, name: str, info: FieldInfo) -> None:
        json_control = _json(path, name, info)
        self.json: w.Textarea = json_control.widget
        self.json.description = "JSON"
        self.json.style.description_width = "40px"
        self.json.layout = w.Layout(flex="1 1 auto", width="auto", min_width="0", height="140px")
        self.run: Callable[..., None] = lambda fn, *args: fn(*args)
        self._forms: list[_ToolForm] = []
        self._others: list[Any] = []  # the non-function tools, as the JSON has them
        self._syncing = False  # the control writes its own JSON text
        self._broken: str | None = None  # why the JSON typed does not parse
        self._callbacks: list[Callable[[], None]] = []
        self.add_tool = w.Button(
            description="function tool",
            icon="plus",
            tooltip="add a function the model may call",
            layout=w.Layout(width="auto"),
        )
        self.add_tool.on_click(lambda _: self.run(self._add_tool))
        self.forms_box = w.VBox(layout=w.Layout(width="auto"))
        self.form_note = w.HTML()
        self.show_json = w.ToggleButton(
            value=False,
            description="JSON (advanced)",
            icon="code",
            tooltip="show the tools as JSON: edits there show in the form, and back",
            layout=w.Layout(width="auto"),
        )
        self.show_json.observe(lambda _: self._json_visible(), "value")
        self.form = w.VBox(
            [
                w.HTML(f"<b>{_label(name)}</b>"),
                self.forms_box,
                self.form_note,
                w.HBox([self.add_tool, self.show_json], layout=_row()),
            ],
            layout=w.Layout(width="auto"),
        )
        self.form.add_class("rw-tools")
        super().__init__(path, self.json, json_control._read, self._write_tools, info.description)
        self.json.observe(self._json_typed, "value")
        self._json_visible()

    @functools.cached_property
    def box(self) -> w.Widget:  # made once: a control sits in one place
        row = w.HBox([self.json, self.mark], layout=w.Layout(width="auto", align_items="center"))
        self._json_row = row
        self._json_visible()
        return w.VBox(
            [self.form, self.notice, row, self.status], layout=w.Layout(margin="0 0 2px 0")
        )

    def _json_visible(self) -> None:
        row = getattr(self, "_json_row", None)
        if row is not None:
            row.layout.display = None if self.show_json.value else "none"

    # ---- the form -> the JSON ------------------------------------------------------------------

    def form_tools(self) -> list[dict[str, Any]]:
        """The function tools as the form has them."""
        return [form.tool() for form in self._forms]

    def _say(self) -> None:
        if self._broken is not None:
            said = (
                "<span style='color:#c0392b'>the JSON below does not parse "
                f"({html.escape(self._broken)}): the form waits until it does; nothing typed "
                "is lost</span>"
            )
        elif self._others:
            said = (
                f"<span style='color:#555'>and {len(self._others)} other tool(s) (MCP): "
                "edit them in the JSON</span>"
            )
        elif not self._forms:
            said = "<span style='color:#555'>no function tools</span>"
        else:
            said = ""
        self.form_note.value = said

    def _form_edited(self) -> None:
        if self._broken is not None:  # the JSON does not parse: it holds what was typed
            return
        tools = [*self.form_tools(), *self._others]
        self._syncing = True
        try:
            self.json.value = json.dumps(tools, indent=1)  # the panel reads it from here
        finally:
            self._syncing = False

    def _add_tool(self) -> None:
        taken = {f.name.value for f in self._forms} | {
            str(t.get("name")) for t in self._others if isinstance(t, dict)
        }
        name = next(
            n
            for n in ("new_function", *(f"new_function_{i}" for i in range(2, 999)))
            if n not in taken
        )
        self._forms.append(self._watched(_ToolForm({"type": "function", "name": name})))
        self._lay_out()
        self._say()
        self._form_edited()

    def _add_param(self, form: _ToolForm) -> None:
        row = _ParamRow("", {"type": "string"}, False)
        self._watch_row(form, row)
        form.rows.append(row)
        form.params_box.children = [r.box for r in form.rows]
        self._form_edited()

    def _remove_param(self, form: _ToolForm, row: _ParamRow) -> None:
        if row in form.rows:
            form.rows.remove(row)
            form.params_box.children = [r.box for r in form.rows]
            row.box.close()
            self._form_edited()

    def _remove_tool(self, form: _ToolForm) -> None:
        if form in self._forms:
            self._forms.remove(form)
            self._lay_out()
            self._say()
            form.box.close()
            self._form_edited()

    def _watched(self, form: _ToolForm) -> _ToolForm:
        edited = lambda *_: self.run(self._form_edited)  # noqa: E731
        form.name.observe(edited, "value")
        form.description.observe(edited, "value")
        form.remove.on_click(lambda _: self.run(self._remove_tool, form))
        form.add_param.on_click(lambda _: self.run(self._add_param, form))
        for row in form.rows:
            self._watch_row(form, row)
        return form

    def _watch_row(self, form: _ToolForm, row: _ParamRow) -> None:
        row.watch(lambda: self.run(self._form_edited))
        row.remove.on_click(lambda _: self.run(self._remove_param, form, row))

    def _lay_out(self) -> None:
        self.forms_box.children = [f.box for f in self._forms]
        for form in self._forms:
            for leaf in leaves(form.box):
                if hasattr(leaf, "disabled"):
                    leaf.disabled = self._broken is not None or self.reason is not None

    # ---- the JSON -> the form ------------------------------------------------------------------

    def _json_typed(self, _change: Any) -> None:
        if not self._syncing:
            self.run(self._json_edited, self.json.value)

    def _json_edited(self, text: str) -> None:
        try:
            value = json.loads(text) if text.strip() else []
        except (ValueError, RecursionError) as exc:
            self._broken = str(exc) or "nested too deep"
            self.show_json.value = True  # where the error is
            self._lay_out()
            self._say()
            return
        self._broken = None
        if isinstance(value, list) and all(isinstance(t, dict) for t in value):
            self._fill(value)
        else:
            self._lay_out()
            self._say()

    def _fill(self, tools: list[dict[str, Any]]) -> None:
        """Show these tools in the form (unless it already shows them: a person may be typing)."""
        functions = [t for t in tools if t.get("type") == "function"]
        self._others = [t for t in tools if t.get("type") != "function"]
        if [_tidy(t) for t in functions] != self.form_tools():
            for form in self._forms:
                form.box.close()
            self._forms = [self._watched(_ToolForm(t)) for t in functions]
        self._lay_out()
        self._say()

    def _write_tools(self, value: Any) -> None:
        plain = redact(plain_value(value))  # a synced trait: secrets stay in the kernel's config
        tools = plain if isinstance(plain, list) else []
        self._syncing = True
        try:
            self.json.value = "" if plain is None else json.dumps(plain, indent=1)
        finally:
            self._syncing = False
        self._broken = None
        self._fill([t for t in tools if isinstance(t, dict)])

    def disable(self, reason: str | None) -> None:
        super().disable(reason)
        self.add_tool.disabled = reason is not None
        self._lay_out()
