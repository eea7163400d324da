"""API parameters: every bad one is a BadRequest that names it; good ones filter."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from streams.web.query import BadRequest, parse_history, parse_kpis, parse_plain


def q(**params: str | list[str]) -> dict[str, list[str]]:
    return {k: v if isinstance(v, list) else [v] for k, v in params.items()}


@pytest.mark.parametrize(
    ("params", "named"),
    [
        (q(kpi="service_level"), "'service_level'"),
        (q(period="fortnight"), "'fortnight'"),
        (q(window="next"), "'next'"),
        (q(clock="wall"), "'wall'"),
        (q(colour="red"), "'colour'"),
        (q(scope="team"), "'team'"),
        (q(scope="shift=night"), "'shift'"),
        (q(team=["a", "b"]), "'team'"),
        (q(scope="team=b,agent=a"), "'team=b,agent=a'"),
    ],
)
def test_bad_kpis_parameters_are_named(params: dict[str, list[str]], named: str) -> None:
    with pytest.raises(BadRequest, match=named):
        parse_kpis(params)


@pytest.mark.parametrize(
    ("params", "named"),
    [
        (q(**{"from": "yesterday"}), "'from'"),
        (q(to="2026-11-02T00:00:00"), "'to'"),
        (q(**{"from": "2026-11-03T00:00:00Z", "to": "2026-11-02T00:00:00Z"}), "'to'"),
        (q(window="current"), "'window'"),
    ],
)
def test_bad_history_parameters_are_named(params: dict[str, list[str]], named: str) -> None:
    with pytest.raises(BadRequest, match=named):
        parse_history(params)


def test_plain_endpoints_refuse_parameters_but_take_a_token() -> None:
    parse_plain({"token": ["not-a-secret"]})
    with pytest.raises(BadRequest, match="'kpi'"):
        parse_plain(q(kpi="csat_ratio"))


def test_good_parameters_filter() -> None:
    query = parse_kpis(
        q(kpi="csat_ratio", period="day", window="previous", team="a,b") | {"token": ["t"]}
    )
    assert (query.kpi, query.period, query.window) == ("csat_ratio", "day", "previous")
    assert query.keeps_scope((("agent", "z"), ("team", "a,b")))
    assert not query.keeps_scope((("team", "a"),))
    assert not query.keeps_scope(())
    exact = parse_kpis(q(scope="queue=x\\,y,team=a"))
    assert exact.scope == (("queue", "x,y"), ("team", "a"))
    assert exact.keeps_scope((("queue", "x,y"), ("team", "a")))
    assert not exact.keeps_scope((("team", "a"),))
    centre = parse_kpis(q(scope=""))
    assert centre.keeps_scope(()) and not centre.keeps_scope((("team", "a"),))
    assert parse_kpis({}).keeps_scope((("team", "a"),))
    clocked = parse_history(
        q(kpi="first_reply_seconds", clock="business", **{"from": "2026-11-01T00:00:00+02:00"})
    )
    assert clocked.keeps("first_reply_seconds", "business")
    assert not clocked.keeps("first_reply_seconds", "calendar")
    assert clocked.start == datetime(2026, 10, 31, 22, tzinfo=UTC).timestamp()
    assert parse_kpis(q(kpi="csat_ratio_team_agent_average")).kpi == "csat_ratio_team_agent_average"
