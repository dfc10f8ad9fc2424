from datetime import date

import pytest

from amnstats.periods import PeriodError, format_period, parse_period, shift_year


@pytest.mark.parametrize(
    "text,label,start,end,ptype",
    [
        ("2023", "2023", date(2023, 1, 1), date(2023, 12, 31), "year"),
        ("VB 2023", "2023", date(2023, 1, 1), date(2023, 12, 31), "year"),
        ("2021-T1", "2021-T1", date(2021, 1, 1), date(2021, 4, 30), "tertial"),
        ("Tertial 1 2021", "2021-T1", date(2021, 1, 1), date(2021, 4, 30), "tertial"),
        ("T3 2022", "2022-T3", date(2022, 9, 1), date(2022, 12, 31), "tertial"),
        ("jan-mars 2021", "2021-01--2021-03", date(2021, 1, 1), date(2021, 3, 31), "months"),
        ("januari–mars 2021", "2021-01--2021-03", date(2021, 1, 1), date(2021, 3, 31), "months"),
        ("april 2020 - mars 2021", "2020-04--2021-03", date(2020, 4, 1), date(2021, 3, 31), "months"),
        ("2022-12", "2022-12", date(2022, 12, 1), date(2022, 12, 31), "month"),
        ("december 2022", "2022-12", date(2022, 12, 1), date(2022, 12, 31), "month"),
        ("jan 2023", "2023-01", date(2023, 1, 1), date(2023, 1, 31), "month"),
        ("2020M02", "2020-02", date(2020, 2, 1), date(2020, 2, 29), "month"),
        ("2022K3", "2022-K3", date(2022, 7, 1), date(2022, 9, 30), "quarter"),
        ("2022-12-31", "2022-12-31", date(2022, 12, 31), date(2022, 12, 31), "date"),
        ("31 december 2022", "2022-12-31", date(2022, 12, 31), date(2022, 12, 31), "date"),
        ("2024/25", "2024/25", date(2024, 7, 1), date(2025, 6, 30), "school_year"),
    ],
)
def test_parse_period(text, label, start, end, ptype):
    p = parse_period(text)
    assert (p.label, p.start, p.end, p.type) == (label, start, end, ptype)


def test_month_range_covering_a_year_is_the_year():
    assert parse_period("Januari-december", default_year=2023).label == "2023"
    assert parse_period("jan-dec 2022").label == "2022"


@pytest.mark.parametrize("text", ["Januari-december", "hösten", "2023-13", "2021-T4", "mars-jan 2021", "31 feb 2022"])
def test_unparseable_periods_say_so_in_swedish(text):
    with pytest.raises(PeriodError) as exc:
        parse_period(text)
    assert "period" in str(exc.value) or "datum" in str(exc.value)


def test_shift_year_keeps_the_kind_of_period():
    assert shift_year(parse_period("2021-T1")).label == "2020-T1"
    assert shift_year(parse_period("2022-12")).label == "2021-12"
    assert shift_year(parse_period("jan-mars 2021")).label == "2020-01--2020-03"
    assert shift_year(parse_period("2024-02-29")).label == "2023-02-28"
    assert shift_year(parse_period("2024/25")).label == "2023/24"


def test_format_period_in_swedish():
    assert format_period("2021-T1") == "T1 2021"
    assert format_period("2022-12") == "dec 2022"
    assert format_period("2021-01--2021-03") == "jan–mar 2021"
    assert format_period("2022-12-31") == "31 dec 2022"
