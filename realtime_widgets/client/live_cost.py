"""The duration cost meter of GPT-Live: dollars from the seconds a session was billed.

GPT-Live bills time, not tokens. ``session.usage.updated`` and ``session.closed`` carry
``usage.seconds``, cumulative for the server session: each report replaces the one before (the
SDK: "Do not sum values across usage events"). Only "eligible WebRTC sessions also report the
active and paused breakdown" (``active_seconds``, ``paused_seconds``: the SDK's
``SessionUsage``); a WebSocket session, as ``LiveSession`` holds, reports its seconds only.
:class:`DurationUsage` keeps them that way: the latest report of the server session in
progress, and the final report of each earlier one (a reconnect opens a new server session,
whose seconds start again from zero; both are billed). :func:`live_cost` prices it::

    usage = DurationUsage()
    usage.report(seconds=90, active_seconds=60, paused_seconds=30)
    live_cost(usage, "gpt-live-1.1").dollars     # 60 s x $0.05/min + 30 s x $0.02/min = $0.06

Prices (:data:`LIVE_PRICES`, US dollars, each :class:`LivePrice` with its source and when it
was read; edit or pass your own to match a contract or a newer page):

- ``gpt-live-1``: $0.05 per active minute; its page lists no standby price, so every second
  it reports is billed as active;
- ``gpt-live-1.1``: $0.05 per active minute and $0.02 per standby (paused) minute. Seconds
  reported without the breakdown (a WebSocket session's, all of them) cannot be split: they are
  priced as active, an upper bound if any were standby, and :attr:`LiveCost.note` says so
  (:attr:`LiveCost.assumed_active_seconds` counts them).

The pages: https://developers.openai.com/api/docs/models/gpt-live-1 and .../gpt-live-1.1, as
read in October 2026 (``../shared/PROTOCOL_LIVE.md``, beside the repository, records it). The
usage reports whole seconds; the meter prices them pro rata (seconds / 60 x the price).

**Not counted:** a session that delegates to a Responses backend (``delegation: {"type":
"responses"}``) also pays that backend model's tokens, billed apart at its own token prices
(``response.event`` carries them); this meter counts the Live duration only. An unknown model
has no price: its cost is unknown (``dollars`` is None) and :attr:`LiveCost.note` says so, never
a guess. Paused seconds of a model with no standby price are not guessed either.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "LIVE_PRICES",
    "NOT_COUNTED",
    "DurationUsage",
    "LiveCost",
    "LivePrice",
    "UsageReport",
    "live_cost",
]

NOT_COUNTED = (
    "Tokens of a Responses backend (delegation 'responses') are billed apart at that model's "
    "token prices and are not counted here."
)


@dataclass(frozen=True)
class LivePrice:
    """A GPT-Live model's duration prices (US dollars per minute) and where they come from.

    ``standby_per_minute`` is the price of paused (standby) time; None when the model's page
    lists none (then paused seconds are not priced: see :func:`live_cost`)."""

    active_per_minute: float
    standby_per_minute: float | None
    source: str
    read: str = "October 2026"


LIVE_PRICES: dict[str, LivePrice] = {
    "gpt-live-1": LivePrice(
        active_per_minute=0.05,
        standby_per_minute=None,
        source="https://developers.openai.com/api/docs/models/gpt-live-1",
    ),
    "gpt-live-1.1": LivePrice(
        active_per_minute=0.05,
        standby_per_minute=0.02,
        source="https://developers.openai.com/api/docs/models/gpt-live-1.1",
    ),
}


@dataclass(frozen=True)
class UsageReport:
    """One server report of a session's billed duration (cumulative for that server session).

    ``active_seconds`` / ``paused_seconds`` come only from sessions eligible for the breakdown
    (the SDK: WebRTC); without them every second is active time."""

    seconds: float
    active_seconds: float | None = None
    paused_seconds: float | None = None

    @property
    def broken_down(self) -> bool:
        """Whether the report came with the active/paused breakdown (WebRTC only)."""
        return self.active_seconds is not None or self.paused_seconds is not None

    @property
    def paused(self) -> float:
        return float(self.paused_seconds or 0)

    @property
    def active(self) -> float:
        if self.active_seconds is not None:
            return float(self.active_seconds)
        return max(0.0, float(self.seconds) - self.paused)


@dataclass
class DurationUsage:
    """Billed duration of one client session (see the module docstring): ``current`` is the
    latest report of the server session in progress (replaced, never summed), ``earlier`` the
    final report of each server session before it (one per reconnect)."""

    current: UsageReport | None = None
    earlier: list[UsageReport] = field(default_factory=list)

    def report(
        self,
        seconds: float,
        active_seconds: float | None = None,
        paused_seconds: float | None = None,
    ) -> None:
        """A server's usage report: it replaces the last one of this server session."""
        self.current = UsageReport(seconds, active_seconds, paused_seconds)

    def new_session(self) -> None:
        """A new server session began (a reconnect): its seconds count from zero, and the
        last report of the one before is kept as its total."""
        if self.current is not None:
            self.earlier.append(self.current)
        self.current = None

    def _reports(self) -> list[UsageReport]:
        return [*self.earlier, *([self.current] if self.current is not None else [])]

    @property
    def seconds(self) -> float:
        """Billed seconds, all server sessions."""
        return sum(float(r.seconds) for r in self._reports())

    @property
    def active_seconds(self) -> float:
        return sum(r.active for r in self._reports())

    @property
    def paused_seconds(self) -> float:
        return sum(r.paused for r in self._reports())

    @property
    def unsplit_seconds(self) -> float:
        """Billed seconds of the reports that came without the active/paused breakdown (every
        report of a WebSocket session): counted as active, since nothing splits them."""
        return sum(float(r.seconds) for r in self._reports() if not r.broken_down)

    @property
    def reported(self) -> bool:
        """Whether any server has reported usage yet."""
        return bool(self._reports())


@dataclass(frozen=True)
class LiveCost:
    """What :func:`live_cost` found: ``dollars`` (None when it cannot be known: ``note`` says
    why), its parts, the price used, and a ``note`` in words (what was priced, at what, from
    where, what was assumed and what is not counted). ``assumed_active_seconds``: seconds of a
    model with a standby price that came with no active/standby breakdown (OpenAI reports it
    only for eligible WebRTC sessions) and are priced as active: with them the figure is an
    upper bound."""

    model: str
    active_seconds: float
    paused_seconds: float
    active_dollars: float | None
    standby_dollars: float | None
    dollars: float | None
    price: LivePrice | None
    note: str
    assumed_active_seconds: float = 0.0

    def __str__(self) -> str:
        return self.note


def live_cost(
    usage: DurationUsage, model: str, prices: Mapping[str, LivePrice] | None = None
) -> LiveCost:
    """Dollars for ``usage`` of ``model`` at ``prices`` (:data:`LIVE_PRICES` by default).

    The model must be in the table as it is named (no snapshot or family is guessed at); an
    unknown one gives ``dollars=None`` and a note that says the cost is unknown. Paused seconds
    of a model with no standby price give ``dollars=None`` too (its active part is still in
    ``active_dollars``)."""
    table = LIVE_PRICES if prices is None else prices
    active, paused = usage.active_seconds, usage.paused_seconds
    price = table.get(model)
    if price is None:
        known = ", ".join(sorted(table)) or "none"
        note = (
            f"cost unknown: no price for model {model!r} (priced: {known}); add a LivePrice "
            f"for it to price it. {NOT_COUNTED}"
        )
        return LiveCost(model, active, paused, None, None, None, None, note)
    active_dollars = active / 60 * price.active_per_minute
    where = f"{price.source}, read {price.read}"
    if price.standby_per_minute is None:
        standby_dollars: float | None = 0.0 if paused == 0 else None
    else:
        standby_dollars = paused / 60 * price.standby_per_minute
    if standby_dollars is None:
        note = (
            f"cost unknown: {paused:g} paused (standby) seconds, and {model} has no standby "
            f"price ({where}); the {active:g} active seconds are ${active_dollars:.4f} at "
            f"${price.active_per_minute}/min. {NOT_COUNTED}"
        )
        return LiveCost(model, active, paused, active_dollars, None, None, price, note)
    dollars = active_dollars + standby_dollars
    parts = f"{active:g} active s x ${price.active_per_minute}/min"
    assumed = 0.0
    if price.standby_per_minute is None:
        parts += f" ({model} has no standby price: every second is billed as active)"
    else:
        parts += f" + {paused:g} standby s x ${price.standby_per_minute}/min"
        assumed = usage.unsplit_seconds
    note = f"${dollars:.4f} for {model}: {parts} ({where})."
    if assumed:
        note += (
            f" {assumed:g} of the seconds came without the active/standby breakdown, which "
            "OpenAI reports only for eligible WebRTC sessions (a WebSocket session reports its "
            "seconds alone): they are priced as active, so this is an upper bound if any of "
            "them were standby."
        )
    note += f" {NOT_COUNTED}"
    return LiveCost(
        model, active, paused, active_dollars, standby_dollars, dollars, price, note, assumed
    )
