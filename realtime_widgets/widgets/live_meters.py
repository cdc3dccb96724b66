"""LiveMeters: a GPT-Live session's latency, usage and cost, in words a person reads.

- **Latency** (measured by the client, :class:`~realtime_widgets.client.live_metrics.
  LiveMetrics`): from the end of the person's speech to the model's first audio, the last and
  the median.
- **Usage** in seconds, as the server last reported it (``session.usage.updated``, cumulative:
  never summed): the billed seconds, and the active and paused ones only when the report has
  them (the SDK's ``SessionUsage``: only eligible WebRTC sessions report the breakdown, and
  paused there is inference paused by an idle timeout, not a mute). A WebSocket session, as
  :class:`~realtime_widgets.client.live.LiveSession` holds, reports its seconds alone, and the
  line says so.
- **Cost** in dollars (:func:`~realtime_widgets.client.live_cost.live_cost`): the price per
  active and per standby minute, the model it is for, and the page it comes from with when it
  was read, and what the figure assumes, in words: seconds that came without the breakdown are
  priced as active (an upper bound for a model with a standby price), and a model with no
  standby price bills every second as active. The whole note is the line's tooltip. A cost
  that cannot be known (a model with no price, or paused time of a model with no standby
  price) is said to be unknown, with why, never guessed. Against a
  :class:`~realtime_widgets.server.app.LocalServer` of this process the cost says it bills
  nothing.

:meth:`LiveMeters.show` redraws from a session (or None: not connected); the console calls it
on its session's loop when usage, latency or the connection change.
"""

from __future__ import annotations

import html
import statistics
import sys

import ipywidgets as w

from realtime_widgets.client.live import LiveSession
from realtime_widgets.client.live_cost import LiveCost

__all__ = ["LiveMeters"]

_RED, _GREY = "#c0392b", "#666"


def _local(session: LiveSession) -> bool:
    """Whether the session's peer is a LocalServer of this process (it bills nothing)."""
    app = sys.modules.get("realtime_widgets.server.app")  # never loaded: no LocalServer
    return app is not None and bool(app.serves(session.endpoint.url))


def latency_line(session: LiveSession | None) -> str:
    figures = session.metrics.latencies_ms() if session is not None else []
    if figures:
        figure = (
            f"last <b>{figures[-1]:.0f} ms</b> &middot; median "
            f"{statistics.median(figures):.0f} ms over {len(figures)}"
        )
    else:
        figure = "no answer yet"
    return (
        f"<div class='rw-live-latency'><b>Latency</b>: {figure} <span style='color:{_GREY}'>"
        "(end of your speech &rarr; the model's first audio, measured here)</span></div>"
    )


def seconds_line(session: LiveSession) -> str:
    """The billed seconds as reported: the active/paused breakdown only where a report had it."""
    usage = session.usage
    reports = [*usage.earlier, *([usage.current] if usage.current is not None else [])]
    unsplit = usage.unsplit_seconds
    if not any(r.broken_down for r in reports):
        return (
            f"<b>{usage.seconds:g} s</b> billed <span style='color:{_GREY}'>(seconds only: "
            "OpenAI reports active/paused for eligible WebRTC sessions alone)</span>"
        )
    # Reports with the breakdown (paused: inference paused by a WebRTC idle timeout).
    split = (
        f"{usage.active_seconds - unsplit:g} s active, {usage.paused_seconds:g} s paused "
        "(idle timeout)"
    )
    if unsplit:
        split += f", {unsplit:g} s without the breakdown"
    return f"<b>{usage.seconds:g} s</b> billed: {split}"


def assumption(cost: LiveCost) -> str:
    """What the cost figure assumes, in short (empty when it assumes nothing)."""
    if cost.price is None or cost.dollars is None:
        return ""
    if cost.assumed_active_seconds:
        return (
            f"an upper bound: {cost.assumed_active_seconds:g} s with no active/standby split, "
            "priced as active"
        )
    if cost.price.standby_per_minute is None and cost.active_seconds:
        return "every second billed as active: it has no standby price"
    return ""


def usage_lines(session: LiveSession | None) -> list[str]:
    if session is None:
        return ["<div class='rw-live-usage'><b>Usage</b>: not connected</div>"]
    usage = session.usage
    muted = " &middot; <b>muted now</b>" if session.state.muted and session.connected else ""
    if usage.reported:
        seconds = f"{seconds_line(session)}{muted}"
    else:
        seconds = f"no report yet (session.usage.updated){muted}"
    cost = session.cost_report
    note = html.escape(cost.note, quote=True)
    if cost.dollars is None or cost.price is None:
        dollars = f"<span style='color:{_RED}'><b>cost unknown</b></span>: {html.escape(cost.note)}"
    else:
        price = cost.price
        standby = (
            f" + ${price.standby_per_minute}/standby min"
            if price.standby_per_minute is not None
            else ""
        )
        assumed = assumption(cost)
        assumed = f", {assumed}" if assumed else ""
        local = (
            f" <span style='color:{_GREY}' title='the seconds are its count, the dollars what "
            "OpenAI&#x27;s prices give for them'>(the local server bills nothing)</span>"
            if _local(session)
            else ""
        )
        source = html.escape(price.source, quote=True)
        dollars = (
            f"<b>${cost.dollars:.4f}</b>{local} at ${price.active_per_minute}/active min"
            f"{standby} for {html.escape(cost.model)}{assumed} &middot; price from "
            f"<a href='{source}' target='_blank' rel='noopener'>"
            f"{html.escape(price.source.removeprefix('https://'))}"
            f"</a>, read {html.escape(price.read)}"
        )
    return [
        f"<div class='rw-live-usage'><b>Usage</b>: {seconds}</div>",
        f"<div class='rw-live-cost' title='{note}'><b>Cost</b>: {dollars}</div>",
    ]


class LiveMeters(w.HTML):  # type: ignore[misc]
    """Latency, usage and cost of a Live session (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.add_class("rw-live-meters")
        self.show(None)

    def show(self, session: LiveSession | None) -> None:
        """Redraw from ``session`` (None: not connected), on its loop."""
        self.value = (
            "<div class='rw-live-meters-box' style='font-size:12px;line-height:1.45;"
            "border:1px solid #e0e0e0;border-radius:6px;padding:3px 8px;white-space:normal;"
            f"overflow-wrap:anywhere'>{''.join([latency_line(session), *usage_lines(session)])}"
            "</div>"
        )
