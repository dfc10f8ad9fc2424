"""Personal data in uploads: personnummer/samordningsnummer (Luhn + date), name-like columns."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from amnstats.ingest import prepare
from amnstats.ingest.privacy import find_personal_data, is_person_header, personnummer_in
from amnstats.ingest.read import read_table

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"
EXTERNAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "external"


def check_digit(nine: str) -> str:
    """Luhn check digit for YYMMDDNNN, computed independently of the module under test."""
    total = 0
    for i, ch in enumerate(nine):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d // 10 + d % 10
    return str((10 - total % 10) % 10)


def valid_number(yymmdd: str = "850709", serial: str = "123") -> str:
    return yymmdd + serial + check_digit(yymmdd + serial)


def wrong_check(number: str) -> str:
    return number[:-1] + str((int(number[-1]) + 1) % 10)


def table_of(*rows: str, header: str = "Område;Antal"):
    return read_table((header + "\n" + "\n".join(rows) + "\n").encode(), "test.csv")


@pytest.mark.parametrize("fmt", [
    "19{n6}-{n4}", "{n6}-{n4}", "{n6}+{n4}", "19{n6}{n4}", "{n6}{n4}", "{n6} {n4}", "19{n6} - {n4}",
    "Elev {n6}-{n4} saknas",
])
def test_valid_personnummer_in_every_format_is_found(fmt):
    rng = random.Random(fmt)
    for _ in range(20):
        yymmdd = f"{rng.randint(40, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        number = valid_number(yymmdd, f"{rng.randint(0, 999):03d}")
        text = fmt.format(n6=number[:6], n4=number[6:])
        assert personnummer_in(text) == f"{yymmdd}-****", text


def test_samordningsnummer_day_plus_60():
    number = valid_number("850769", "456")  # 9 July + 60
    assert personnummer_in(number) == "850769-****"
    assert personnummer_in(f"19{number[:6]}-{number[6:]}") is not None


def test_twelve_digit_form_checks_century_and_luhn_on_ten_digits():
    number = valid_number("010203", "987")
    assert personnummer_in("20" + number) is not None
    assert personnummer_in("20" + wrong_check(number)) is None


@pytest.mark.parametrize("text", [
    wrong_check(valid_number()),                    # Luhn fails
    "8513011234",                                   # month 13
    "8502301230",                                   # 30 February
    valid_number("851301", "123"),                  # right Luhn, no such date
    "1 234 567 890",                                # a big number with spaces
    "1234567890",
    "12 345 678",
    "0.8507091234",                                 # a decimal
    "2023-01-01",
    "123456789012345",                              # a longer run of digits
    "",
])
def test_no_false_positive(text):
    assert personnummer_in(text) is None


def test_personnummer_in_a_cell_names_row_and_column_and_masks_it():
    number = valid_number()
    table = table_of("Farsta;5", f"Bromma;{number[:6]}-{number[6:]}", "Skarpnäck;7")
    problems = find_personal_data(table)
    assert len(problems) == 1
    p = problems[0]
    assert (p.file, p.row, p.column) == ("test.csv", 3, "Antal")
    assert "850709-****" in p.message and number not in p.message
    assert "avvisats" in p.message and "inget har sparats" in p.message


def test_personnummer_in_header_and_title_lines():
    number = valid_number()
    table = read_table(f"Lista {number}\n\nOmråde;{number}\nFarsta;5\n".encode(), "t.csv")
    problems = find_personal_data(table)
    assert {p.row for p in problems} >= {1}
    assert any("rubriken" in p.message for p in problems)


def test_email_in_a_cell():
    problems = find_personal_data(table_of("Farsta;anna.andersson@stockholm.se"))
    assert problems and "e-post" in problems[0].message and problems[0].row == 2


@pytest.mark.parametrize("header", [
    "Namn", "Förnamn", "Efternamn", "Personnamn", "Elevens namn", "Name", "First name", "E-post", "Email",
    "E-mail", "Adress", "Telefon", "Telefonnummer", "Mobil", "Personnummer", "Pnr",
])
def test_person_headers_are_refused(header):
    assert is_person_header(header)
    problems = find_personal_data(table_of("Farsta;1", header=f"Område;{header}"))
    assert problems and problems[0].column == header and problems[0].row == 1


@pytest.mark.parametrize("header", [
    "Kommun", "Kommunnamn", "Områdesnamn", "Region name", "Stadsdelsområde", "Antal", "Andel arbetslösa",
    "Målgrupp", "Kön", "occupation (SSYK 2012)", "Yrkesnamn",
])
def test_place_and_measure_headers_are_not(header):
    assert not is_person_header(header)


def test_no_false_positive_on_real_files():
    paths = sorted(p for p in EXTERNAL.rglob("*.csv")) + sorted((FIXTURES / "real").glob("*.csv"))
    paths += sorted(FIXTURES.glob("*.csv")) + sorted(FIXTURES.glob("*.txt")) + sorted(FIXTURES.glob("*.xlsx"))
    assert len(paths) >= 15
    for path in paths:
        table = read_table(path.read_bytes(), path.name)
        assert find_personal_data(table) == [], path.name


def test_prepare_refuses_and_keeps_nothing():
    number = valid_number()
    data = f"Namn;Personnummer;År;Antal\nAnna;{number};2023;1\n".encode()
    result = prepare(data, "personer.csv")
    assert result.status == "refused" and result.table is None and result.observations is None
    assert {p.column for p in result.problems} >= {"Namn", "Personnummer"}
    assert any(p.row == 2 for p in result.problems)


def test_personnummer_stored_as_a_number_in_excel():
    import io

    import openpyxl

    number = valid_number("031224", "777")
    wb = openpyxl.Workbook()
    wb.active.append(["Titel"])
    wb.active.append(["Område", "Id", "Antal"])
    wb.active.append(["Farsta", int("20" + number), 5])
    buf = io.BytesIO()
    wb.save(buf)
    problems = find_personal_data(read_table(buf.getvalue(), "lista.xlsx"))
    assert [(p.row, p.column) for p in problems] == [(3, "Id")]


def test_written_as_a_personnummer_is_refused_whatever_its_check_digit():
    """19850101-1234, the textbook example, fails the Luhn test; written with its dash and a
    valid date it is still someone's number or a typo of one."""
    wrong = wrong_check(valid_number("850101", "123"))
    for text in (f"19{wrong[:6]}-{wrong[6:]}", f"{wrong[:6]}-{wrong[6:]}", f"{wrong[:6]}+{wrong[6:]}",
                 "19850101-1234"):
        assert personnummer_in(text) == "850101-****", text
    assert personnummer_in(wrong) is None  # ten bare digits: an ordinary figure unless Luhn says otherwise
    assert personnummer_in("851301-1234") is None  # no 13th month
    table = table_of("Farsta;5", header="Område;Antal\nHandläggare 19850101-1234;")
    assert any("personnummer" in p.message for p in find_personal_data(table))


def test_email_in_a_footnote_line_is_refused():
    table = read_table("Område;Antal\nFarsta;5\n\nFrågor: anna.svensson@stockholm.se\n".encode(), "t.csv")
    problems = find_personal_data(table)
    assert [(p.row, "e-postadress" in p.message) for p in problems] == [(4, True)]
