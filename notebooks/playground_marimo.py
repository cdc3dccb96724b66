import marimo

__generated_with = "0.25.2"
app = marimo.App(width="full", app_title="realtime_widgets playground")


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    # realtime_widgets playground (marimo)

    The same console as `00_playground.ipynb`, reactive: every session parameter is a control
    generated from `SessionConfig`, a change re-runs the cell that sends it as `session.update`,
    and the microphone, speaker, waveform, transcript, metrics and event log are the toolkit's
    anywidgets. It runs against the embedded local server, no key needed (choose *echo my audio
    back* to hear your own turns played back).
    """)
    return


@app.cell(hide_code=True)
def _():
    import json

    import marimo as mo

    from realtime_widgets.client.auth import Endpoint
    from realtime_widgets.client.session import RealtimeSession
    from realtime_widgets.errors import ConfigError, ServerError
    from realtime_widgets.protocol import presets
    from realtime_widgets.protocol.config import GROUPS, SessionConfig
    from realtime_widgets.protocol.export import to_code
    from realtime_widgets.client.session import local_server
    from realtime_widgets.widgets import (
        EventLog,
        MetricsView,
        Microphone,
        Speaker,
        TranscriptView,
        Waveform,
    )

    return (
        ConfigError,
        Endpoint,
        EventLog,
        GROUPS,
        MetricsView,
        Microphone,
        RealtimeSession,
        ServerError,
        SessionConfig,
        Speaker,
        TranscriptView,
        Waveform,
        json,
        mo,
        presets,
        local_server,
        to_code,
    )


@app.cell(hide_code=True)
def _(mo, presets):
    responder = mo.ui.dropdown(
        {"honest local replies": "local", "echo my audio back": "echo"},
        value="honest local replies",
        label="replies",
    )
    preset = mo.ui.dropdown(
        ["defaults", *presets.BUILTIN_PRESETS], value="defaults", label="preset"
    )
    share_in = mo.ui.text(placeholder="or paste a share string (rw1....)", full_width=True)
    return preset, responder, share_in


@app.cell(hide_code=True)
def _():
    live = []  # the open session, closed when a new one replaces it
    return (live,)


@app.cell(hide_code=True)
def _(Endpoint, RealtimeSession, SessionConfig, live, local_server, responder):
    # One session per choice of responder; the previous one is closed when this cell re-runs.
    while live:
        live.pop().close()
    server = local_server(responder.value)
    session = RealtimeSession(
        SessionConfig(), endpoint=Endpoint.local(server.url, SessionConfig().model)
    ).connect()
    live.append(session)
    return (session,)


@app.cell(hide_code=True)
def _(ConfigError, SessionConfig, mo, preset, presets, share_in):
    # Where the controls start: a pasted share string (a whole configuration), or a preset.
    base_problem = None
    try:
        if share_in.value.strip():
            base = presets.load(share_in.value).config
        elif preset.value in presets.BUILTIN_PRESETS:
            base = presets.BUILTIN_PRESETS[preset.value].config
        else:
            base = SessionConfig()
    except ConfigError as exc:
        base = SessionConfig()
        base_problem = mo.callout(mo.md(f"**{exc.field}**: {exc}"), kind="danger")
    return base, base_problem


@app.cell(hide_code=True)
def _(SessionConfig, base, json, mo):
    # The controls, derived from SessionConfig's JSON schema: a bounded number is a slider, an
    # enum a dropdown, a bool a checkbox; anything structured is edited as JSON.
    _schema = SessionConfig.json_schema()["properties"]
    _fixed = {"model", "temperature"}  # fixed for a live session / beta dialect only

    def _enum(prop):
        for option in [prop, *prop.get("oneOf", []), *prop.get("anyOf", [])]:
            if "enum" in option:
                return list(option["enum"])
        return None

    def _control(name, prop, value):
        # (the control, how its value reads back as the parameter's value)
        label = name.replace("_", " ")
        if prop.get("type") == "number" and "minimum" in prop and "maximum" in prop:
            step = prop.get("step", 0.01)
            slider = mo.ui.slider(
                prop["minimum"], prop["maximum"], step=step, value=value, label=label,
                show_value=True,
            )  # fmt: skip
            return slider, lambda v: round(v, 4)
        if prop.get("type") == "boolean":
            return mo.ui.checkbox(value=bool(value), label=label), bool
        items = prop.get("items", {})
        if prop.get("maxItems") == 1 and "enum" in items:  # one of a list (output_modalities)
            return mo.ui.dropdown(items["enum"], value=value[0], label=label), lambda v: [v]
        options = _enum(prop)
        if options and isinstance(value, str) and value in options:
            return mo.ui.dropdown(options, value=value, label=label), str
        if prop.get("multiline"):  # free text; empty leaves the server's default
            area = mo.ui.text_area(value=value or "", rows=2, label=label, full_width=True)
            return area, lambda v: v or None
        plain = json.dumps(_plain(value))
        area = mo.ui.text_area(value=plain, rows=2, label=f"{label} (JSON)", full_width=True)
        return area, None  # None: parsed as JSON, errors name the field

    def _plain(value):
        if isinstance(value, list):
            return [_plain(v) for v in value]
        return value.model_dump(mode="json") if hasattr(value, "model_dump") else value

    _built = {
        name: _control(name, _schema[name], getattr(base, name))
        for name in SessionConfig.model_fields
        if name not in _fixed
    }
    form = mo.ui.dictionary({name: pair[0] for name, pair in _built.items()})
    readers = {name: pair[1] for name, pair in _built.items()}
    return form, readers


@app.cell(hide_code=True)
def _(ConfigError, base, form, json, mo, readers):
    # The controls' values as a validated config: a bad value names its field, nothing is sent.
    config, problem = None, None
    try:
        _changes = {}
        for _name, _value in form.value.items():
            _read = readers[_name]
            if _read is not None:
                _value = _read(_value)
            else:
                try:
                    _value = json.loads(_value)
                except json.JSONDecodeError as exc:
                    raise ConfigError.single(_name, f"{_name}: not valid JSON ({exc})") from None
            if base.with_changes({_name: _value}) != base:
                _changes[_name] = _value
        config = base.with_changes(_changes)
    except ConfigError as exc:
        problem = mo.callout(mo.md(f"**{exc.field}**: {exc}"), kind="danger")
    return config, problem


@app.cell(hide_code=True)
def _(ConfigError, ServerError, config, mo, session):
    # Send it: the minimal session.update; the server's effective values come back.
    applied = None
    if config is not None:
        try:
            session.apply(config)
            _effective = session.effective
            applied = mo.md(
                f"<span class='rw-applied'>applied: speed {_effective.speed:g}, "
                f"turn detection {_effective.turn_detection.type if _effective.turn_detection else 'off'}"
                "</span>"
            )
        except (ConfigError, ServerError) as exc:
            applied = mo.callout(str(exc), kind="danger")
    return (applied,)


@app.cell(hide_code=True)
def _(
    EventLog,
    MetricsView,
    Microphone,
    Speaker,
    TranscriptView,
    Waveform,
    mo,
    session,
):
    # The toolkit's anywidgets, each bound to the session; marimo renders them natively.
    microphone = mo.ui.anywidget(Microphone(session))
    speaker = mo.ui.anywidget(Speaker(session))
    waveform = mo.ui.anywidget(Waveform(session))
    transcript = mo.ui.anywidget(TranscriptView(session))
    metrics = mo.ui.anywidget(MetricsView(session))
    events = mo.ui.anywidget(EventLog(session))
    return events, metrics, microphone, speaker, transcript, waveform


@app.cell(hide_code=True)
def _(microphone, mo):
    # Reactive on the microphone's synced traits (set by the browser): a trait round trip.
    _rate = microphone.value.get("context_rate") or 0
    mic_status = mo.md(
        f"<span class='rw-mic-status'>microphone: "
        f"{'streaming' if microphone.value.get('streaming') else 'idle'}"
        f"{f', browser audio at {_rate} Hz' if _rate else ''}</span>"
    )
    return (mic_status,)


@app.cell(hide_code=True)
def _(config, mo, presets, to_code):
    export = None
    if config is not None:
        export = mo.vstack(
            [
                mo.md(f"share string: `{presets.to_share_string(config)}`"),
                mo.md(f"```python\n{to_code(config, 'openai-python')}\n```"),
            ]
        )
    return (export,)


@app.cell(hide_code=True)
def _(
    GROUPS,
    SessionConfig,
    applied,
    base_problem,
    events,
    export,
    form,
    metrics,
    mic_status,
    microphone,
    mo,
    preset,
    problem,
    responder,
    share_in,
    speaker,
    transcript,
    waveform,
):
    # The console: settings on the left, the conversation and the tabs on the right.
    _groups = {
        group: mo.vstack(
            [
                form[name]
                for name, param in SessionConfig.params().items()
                if param.group == group and name in form
            ]
        )
        for group in GROUPS
    }
    _settings = mo.vstack(
        [
            part
            for part in (
                mo.hstack([responder, preset], justify="start"),
                share_in,
                base_problem,
                problem,
                applied,
                mo.accordion(_groups),
                mo.accordion({"export as openai-python": export}),
            )
            if part is not None
        ]
    )
    _conversation = mo.vstack(
        [
            mo.hstack([microphone, speaker], justify="start"),
            mic_status,
            waveform,
            transcript,
            mo.ui.tabs({"Metrics": metrics, "Events": events}),
        ]
    )
    mo.hstack([_settings, _conversation], widths=[2, 3], align="start")
    return


if __name__ == "__main__":
    app.run()
