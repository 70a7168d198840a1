"""Honest trends: one date syntax, thin periods, stray dates, source shifts, several topics on the CLI."""

import datetime

import numpy as np
import pytest

import topics
from topics.filters import date_span
from topics.trends import topic_trends


def _days(start: str, n: int, step: int = 1) -> list:
    first = datetime.date.fromisoformat(start)
    return [(first + datetime.timedelta(days=i * step)).isoformat() for i in range(n)]


# -- one date syntax ------------------------------------------------------------------------------------
def test_a_typed_date_is_a_year_a_month_or_a_day():
    assert [str(d) for d in date_span("2024")] == ["2024-01-01", "2024-12-31"]
    assert [str(d) for d in date_span("2024-02")] == ["2024-02-01", "2024-02-29"]
    assert [str(d) for d in date_span(" 2024-02-10 ")] == ["2024-02-10", "2024-02-10"]
    assert [str(d) for d in date_span(datetime.date(2024, 3, 1))] == ["2024-03-01", "2024-03-01"]
    for bad in ("2024-13", "2024-02-30", "24-01", "2024/01", "March", "", 2024, None):
        with pytest.raises(
            topics.ParameterError, match=r"since=.* is not allowed; use a date as YYYY, YYYY-MM or YYYY-MM-DD"
        ):
            date_span(bad, "since")


def test_similar_takes_a_month_as_since_and_until(dated_model):
    may = dated_model.similar(id="51251", k=50, since="1993-05")
    assert may and all(h.date >= "1993-05-01" for h in may)
    april = dated_model.similar(id="51251", k=200, until="1993-04")
    assert april and all(h.date <= "1993-04-30" for h in april)
    assert {h.id for h in april} == {h.id for h in dated_model.similar(id="51251", k=200, until="1993-04-30")}


# -- thin periods, stray dates, source shifts -----------------------------------------------------------
def test_a_thin_period_is_marked_and_never_the_peak():
    # 30 articles in January (topic 0 holds a third), 2 in February (topic 0 holds all of it)
    W = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]] * 10 + [[1, 0, 0]] * 2, dtype=np.float32)
    dates = np.array([*_days("2025-01-01", 30), "2025-02-03", "2025-02-04"], dtype="datetime64[D]")
    tr = topic_trends(W, dates, ["a", "b", "c"], by="month")
    assert tr.periods == ["2025-01", "2025-02"] and list(tr.thin) == [False, True]
    assert tr.shares[1, 0] == pytest.approx(1.0)  # shown ...
    assert tr.peak(0) == ("2025-01", pytest.approx(1 / 3))  # ... but not a peak
    assert "1 thin month with fewer than 10 articles" in " ".join(tr.notes())
    assert topic_trends(W, dates, ["a", "b", "c"], min_articles=2).peak(0) == ("2025-02", pytest.approx(1.0))
    assert topic_trends(W[30:], dates[30:], ["a", "b", "c"]).peak(0) is None  # no period to trust
    with pytest.raises(topics.ParameterError, match="min_articles=-1 is not allowed"):
        topic_trends(W, dates, ["a", "b", "c"], min_articles=-1)


def test_stray_dates_do_not_stretch_the_axis_and_are_counted():
    days = _days("2025-01-01", 90)
    dates = [days[i % 90] for i in range(390)] + ["2019-06-01", "2031-01-01"]  # 390 articles in 90 days, 2 typos
    W = np.ones((len(dates), 2), dtype=np.float32)
    tr = topic_trends(W, np.array(dates, dtype="datetime64[D]"), ["a", "b"], by="month")
    assert tr.periods == ["2025-01", "2025-02", "2025-03"] and tr.n_stray == 2 and tr.n_dated == 390
    assert (tr.first_day, tr.last_day) == ("2025-01-01", "2025-03-31")
    assert "2 articles with stray dates far from the rest are left out" in " ".join(tr.notes())
    # a bound given by the user is the user's: the stray rule stays off on that side
    early = topic_trends(W, np.array(dates, dtype="datetime64[D]"), ["a", "b"], by="year", since="2019")
    assert early.periods == ["2019", "2020", "2021", "2022", "2023", "2024", "2025"] and early.n_stray == 1
    window = topic_trends(W, np.array(dates, dtype="datetime64[D]"), ["a", "b"], since="2025-02", until="2025-02")
    assert window.periods == ["2025-02"] and window.n_dated == 28 * 4 and window.n_outside == 392 - 28 * 4
    assert window.n_stray == 0


def test_a_small_archive_has_no_stray_dates():
    dates = np.array(["2020-01-05", "2021-06-01", "2025-03-01"], dtype="datetime64[D]")
    tr = topic_trends(np.ones((3, 2), dtype=np.float32), dates, ["a", "b"], by="year")
    assert tr.n_stray == 0 and tr.periods[0] == "2020" and tr.periods[-1] == "2025"


def test_a_change_in_the_mix_of_sources_is_reported():
    dates = _days("2025-01-01", 31) + _days("2025-02-01", 28) + _days("2025-03-01", 31)
    W = np.ones((len(dates), 2), dtype=np.float32)
    steady = ["a", "b"] * 45
    shifted = ["a"] * 31 + ["a", "b"] * 14 + ["b"] * 31  # all a, then half and half, then all b
    d = np.array(dates, dtype="datetime64[D]")
    assert topic_trends(W, d, ["x", "y"], sources=steady).source_shifts == []
    shifts = topic_trends(W, d, ["x", "y"], sources=shifted).source_shifts
    assert [(s["from"], s["to"], s["distance"]) for s in shifts] == [
        ("2025-01", "2025-02", 0.5),
        ("2025-02", "2025-03", 0.5),
    ]
    assert shifts[0]["rose"] == ["b", 0.0, 0.5] and shifts[0]["fell"] == ["a", 1.0, 0.5]


# -- the CLI --------------------------------------------------------------------------------------------
def test_cli_trends_takes_several_topics_and_dates(run_cli, dated_model_file):
    for args in (["--topics", 1, 3, 4], [1, 3, 4], ["--topics", 1, "--topics", 3, 4]):
        doc = run_cli("trends", "-m", dated_model_file, *args, "--format", "json")
        assert doc.exit_code == 0, doc.stderr
        assert [t["id"] for t in doc.json()["topics"]] == [1, 3, 4]
    may = run_cli("trends", "-m", dated_model_file, "--since", "1993-05", "--by", "week", "--format", "json").json()
    assert (
        may["first_day"] == "1993-05-01"
        and may["n_outside"] == 189
        and sum(p["n_articles"] for p in may["periods"]) == 11
    )
    table = run_cli("trends", "-m", dated_model_file, "--since", "1993-05", "--by", "week").stdout
    assert "Note: 189 articles dated outside 1993-05-01 to 1993-05-17 are left out." in table
    assert "thin" in table and "(" in table  # May's weeks have fewer than 10 posts each
    bad = run_cli("trends", "-m", dated_model_file, "--until", "1993-4")
    assert bad.exit_code == 2
    assert bad.stderr == "topics: error: until='1993-4' is not allowed; use a date as YYYY, YYYY-MM or YYYY-MM-DD\n"
