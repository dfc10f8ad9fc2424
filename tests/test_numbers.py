import polars as pl
import pytest

from amnstats.normalise import parse_values
from amnstats.numbers import NumberError, format_number, parse_number


@pytest.mark.parametrize(
    "text,value,status",
    [
        ("1 234,5", 1234.5, ""),
        ("1\u00a0234,5", 1234.5, ""),
        ("1\u202f234", 1234.0, ""),
        ("6,4 %", 6.4, ""),
        ("-8", -8.0, ""),
        ("\u22123,2", -3.2, ""),
        ("0.053", 0.053, ""),
        ("12 400", 12400.0, ""),
        ("~100", 100.0, "approximate"),
        ("..", None, "suppressed"),
        (".", None, "suppressed"),
        ("<5", None, "suppressed"),
        ("x", None, "suppressed"),
        ("-", None, "suppressed"),
        ("", None, "missing"),
    ],
)
def test_parse_number(text, value, status):
    parsed = parse_number(text)
    assert parsed.value == value
    assert parsed.status == status


@pytest.mark.parametrize("text", ["12a", "1 23", "1,2,3", "sex", "1 2345"])
def test_parse_number_rejects_garbage_in_swedish(text):
    with pytest.raises(NumberError, match="inte ett tal"):
        parse_number(text)


def test_vectorised_parser_agrees_with_scalar_parser():
    texts = ["1 234,5", "6,4 %", "-8", "~100", "..", "<5", "", "12a", "1 23", "0.053", "3\u00a0480"]
    value, status, invalid = parse_values(pl.col("t"))
    out = pl.DataFrame({"t": texts}).select(value=value, status=status, invalid=invalid)
    for t, row in zip(texts, out.iter_rows(named=True)):
        try:
            expected = parse_number(t)
        except NumberError:
            assert row["invalid"], t
            continue
        assert not row["invalid"], t
        assert row["value"] == expected.value, t
        assert row["status"] == expected.status, t


def test_format_number_swedish():
    assert format_number(1234.5, 1) == "1\u00a0234,5"
    assert format_number(6.4, 1, "procent") == "6,4\u00a0%"
    assert format_number(-0.4, 1) == "\u22120,4"
    assert format_number(-0.01, 1) == "0,0"
    assert format_number(None) == ".."
    assert format_number(7614, 0) == "7\u00a0614"


def test_printed_decimals_drop_trailing_zeros_up_to_the_measures_decimals():
    from amnstats.numbers import printed_decimals

    assert [printed_decimals(v, 2) for v in (72.0, 73.8, 62.65, 0.1 + 0.2, 80.004)] == [0, 1, 2, 1, 0]
    assert printed_decimals(5.25, 1) == 1  # never more than the measure shows
