"""GPT-Live's duration cost meter: cumulative reports replaced, prices with their sources,
unknown costs said plainly."""

from __future__ import annotations

import pytest

from realtime_widgets.client.live_cost import (
    LIVE_PRICES,
    NOT_COUNTED,
    DurationUsage,
    LivePrice,
    live_cost,
)


def test_each_price_says_where_it_comes_from() -> None:
    assert set(LIVE_PRICES) == {"gpt-live-1", "gpt-live-1.1"}
    live1, live11 = LIVE_PRICES["gpt-live-1"], LIVE_PRICES["gpt-live-1.1"]
    assert (live1.active_per_minute, live1.standby_per_minute) == (0.05, None)
    assert (live11.active_per_minute, live11.standby_per_minute) == (0.05, 0.02)
    assert live1.source == "https://developers.openai.com/api/docs/models/gpt-live-1"
    assert live11.source == "https://developers.openai.com/api/docs/models/gpt-live-1.1"
    assert live1.read == live11.read == "October 2026"


def test_usage_reports_replace_each_other_and_are_never_summed() -> None:
    usage = DurationUsage()
    assert not usage.reported
    usage.report(10)
    usage.report(25)
    usage.report(60, active_seconds=50, paused_seconds=10)
    assert (usage.seconds, usage.active_seconds, usage.paused_seconds) == (60, 50, 10)
    cost = live_cost(usage, "gpt-live-1.1")
    # 50 s active at $0.05/min and 10 s standby at $0.02/min
    assert cost.active_dollars == pytest.approx(50 / 60 * 0.05)
    assert cost.standby_dollars == pytest.approx(10 / 60 * 0.02)
    assert cost.dollars == pytest.approx(50 / 60 * 0.05 + 10 / 60 * 0.02)
    assert cost.note.startswith("$0.0450 for gpt-live-1.1: 50 active s x $0.05/min")
    assert "10 standby s x $0.02/min" in cost.note
    assert LIVE_PRICES["gpt-live-1.1"].source in cost.note
    assert cost.note.endswith(NOT_COUNTED)
    assert "Responses" in NOT_COUNTED
    assert "not counted" in NOT_COUNTED


def test_without_a_breakdown_every_second_is_active() -> None:
    usage = DurationUsage()
    usage.report(90)
    cost = live_cost(usage, "gpt-live-1")
    assert (cost.active_seconds, cost.paused_seconds) == (90, 0)
    assert cost.dollars == pytest.approx(1.5 * 0.05)
    assert str(cost) == cost.note
    assert cost.price is LIVE_PRICES["gpt-live-1"]


def test_each_server_session_counts_once_its_last_report() -> None:
    """A reconnect opens a new server session whose seconds start again from zero: the lost
    one's last report is kept and both are billed."""
    usage = DurationUsage()
    usage.report(30)
    usage.report(40)  # the first session's last report
    usage.new_session()
    usage.report(5)
    usage.report(12)
    assert usage.seconds == 52
    assert [r.seconds for r in usage.earlier] == [40]
    assert live_cost(usage, "gpt-live-1").dollars == pytest.approx(52 / 60 * 0.05)
    usage.new_session()
    usage.new_session()  # a session that never reported adds nothing
    assert usage.seconds == 52


def test_an_unknown_model_has_an_unknown_cost_never_a_guess() -> None:
    usage = DurationUsage()
    usage.report(600)
    for model in ("gpt-live-2", "gpt-live-1.1-2026-09-01", "gpt-realtime"):
        cost = live_cost(usage, model)
        assert cost.dollars is None
        assert cost.active_dollars is None
        assert cost.price is None
        assert cost.note.startswith(f"cost unknown: no price for model {model!r}")
        assert "priced: gpt-live-1, gpt-live-1.1" in cost.note


def test_paused_time_of_a_model_with_no_standby_price_is_not_guessed() -> None:
    usage = DurationUsage()
    usage.report(120, active_seconds=60, paused_seconds=60)
    cost = live_cost(usage, "gpt-live-1")
    assert cost.dollars is None
    assert cost.active_dollars == pytest.approx(0.05)
    assert cost.note.startswith("cost unknown: 60 paused (standby) seconds")
    assert "gpt-live-1 has no standby price" in cost.note


def test_a_price_table_of_ones_own() -> None:
    usage = DurationUsage()
    usage.report(120)
    mine = {"my-live": LivePrice(0.10, 0.01, "contract 42", read="2027-01")}
    cost = live_cost(usage, "my-live", mine)
    assert cost.dollars == pytest.approx(0.20)
    assert "(contract 42, read 2027-01)" in cost.note
    assert live_cost(usage, "gpt-live-1", mine).dollars is None  # only the table given


def test_seconds_without_the_webrtc_breakdown_are_priced_as_active_and_the_note_says_so() -> None:
    """A WebSocket session reports ``seconds`` only (the SDK: only eligible WebRTC sessions
    also report the active and paused breakdown). gpt-live-1 bills every second as active;
    for gpt-live-1.1 the meter cannot split them, prices them as active and says so."""
    usage = DurationUsage()
    usage.report(90)  # a WebSocket session's report
    assert usage.unsplit_seconds == 90
    cost = live_cost(usage, "gpt-live-1.1")
    assert (cost.active_seconds, cost.paused_seconds, cost.assumed_active_seconds) == (90, 0, 90)
    assert (cost.active_dollars, cost.standby_dollars) == (pytest.approx(0.075), 0)
    assert cost.dollars == pytest.approx(90 / 60 * 0.05)
    assert cost.note == (
        "$0.0750 for gpt-live-1.1: 90 active s x $0.05/min + 0 standby s x $0.02/min "
        "(https://developers.openai.com/api/docs/models/gpt-live-1.1, read October 2026). "
        "90 of the seconds came without the active/standby breakdown, which OpenAI reports "
        "only for eligible WebRTC sessions (a WebSocket session reports its seconds alone): "
        "they are priced as active, so this is an upper bound if any of them were standby. "
        + NOT_COUNTED
    )
    # A later server session that did report the breakdown: only the unsplit seconds assumed.
    usage.new_session()
    usage.report(60, active_seconds=40, paused_seconds=20)
    mixed = live_cost(usage, "gpt-live-1.1")
    assert (mixed.active_seconds, mixed.paused_seconds) == (130, 20)
    assert mixed.assumed_active_seconds == 90
    assert mixed.dollars == pytest.approx(130 / 60 * 0.05 + 20 / 60 * 0.02)
    assert "90 of the seconds came without the active/standby breakdown" in mixed.note
    # gpt-live-1 has no standby price: every second is active, nothing is assumed.
    only = DurationUsage()
    only.report(90)
    live1 = live_cost(only, "gpt-live-1")
    assert (live1.dollars, live1.assumed_active_seconds) == (pytest.approx(0.075), 0)
    assert live1.note == (
        "$0.0750 for gpt-live-1: 90 active s x $0.05/min (gpt-live-1 has no standby price: "
        "every second is billed as active) "
        "(https://developers.openai.com/api/docs/models/gpt-live-1, read October 2026). "
        + NOT_COUNTED
    )
    # With the breakdown, nothing is assumed and the note says nothing of it.
    split = DurationUsage()
    split.report(60, active_seconds=60, paused_seconds=0)
    assert live_cost(split, "gpt-live-1.1").assumed_active_seconds == 0
    assert "breakdown" not in live_cost(split, "gpt-live-1.1").note
