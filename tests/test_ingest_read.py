"""Reading uploads: separators, encodings, title lines, header rows, Excel, refusals."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from amnstats.ingest.read import read_table, sniff_separator
from amnstats.problems import InputError

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"
REAL = FIXTURES / "real"
SKOLVERKET_ELEVER = REAL / "Grundskola - Antal elever per årskurs 2024 Kommun.csv"
SKOLVERKET_BETYG = REAL / "Grundskola - Betyg årskurs 6, andel som fått godkänt betyg (A-E), per kön 2025 Kommun.csv"
SCB_BAS = REAL / "arbetsmarknad.json__stockholm_excerpt.csv"
PX_WAGES = REAL / "MikaelLundqvist__SCB-Engineers-Jonkoping__00000031.csv"
PX_LATIN1 = REAL / "MikaelLundqvist__SCB-Engineers-Jonkoping__000000NK.csv"


def read(name: str, **kw):
    path = FIXTURES / name
    return read_table(path.read_bytes(), path.name, **kw)


def refused(data: bytes, filename: str, **kw) -> InputError:
    with pytest.raises(InputError) as info:
        read_table(data, filename, **kw)
    return info.value


# ---------------------------------------------------------------- separators and encodings

@pytest.mark.parametrize("sep", [";", ",", "\t"])
def test_each_separator_is_sniffed(sep):
    text = sep.join(["Område", "År", "Antal"]) + "\n" + sep.join(["Farsta", "2023", "12"]) + "\n"
    table = read_table(text.encode(), "f.csv")
    assert table.separator == sep
    assert table.columns == ["Område", "År", "Antal"]
    assert table.cells.row(0) == ("Farsta", "2023", "12")


def test_semicolon_wins_over_decimal_commas():
    lines = ["Område;Andel;Antal", "Farsta;5,3;1 200", "Bromma;4,1;900"]
    assert sniff_separator(lines) == ";"


def test_windows_1252_swedish_letters_come_out_right():
    table = read("synthetic_long_semicolon_cp1252.csv")
    assert table.encoding == "cp1252"
    assert table.columns[:2] == ["Stadsdelsområde", "År"]
    areas = table.cells["Stadsdelsområde"].unique(maintain_order=True).to_list()
    assert areas == ["Enskede - Årsta - Vantör", "Hägersten-Älvsjö", "Skärholmen", "Östermalm"]
    assert any("Windows-1252" in n for n in table.notes)
    assert table.row_numbers.to_list() == list(range(4, 12))  # title line + blank line + header


def test_short_windows_1252_file_is_not_taken_for_another_code_page():
    # charset-normalizer alone guesses cp1250 ('Ĺ') or Asian code pages for files this short.
    for text in ["Område;År\nÅrsta;2023\n", "Kön;Antal\nmän;5\n", "a;b\nÖ;1\n"]:
        table = read_table(text.encode("cp1252"), "f.csv")
        assert table.columns[0] == text.split(";")[0]
        assert table.cells.row(0)[0] == text.split("\n")[1].split(";")[0]


def test_latin1_real_pxweb_export():
    table = read_table(PX_LATIN1.read_bytes(), PX_LATIN1.name)
    regions = set(table.cells["region"].to_list())
    assert {"04 Södermanland county", "05 Östergötland county"} <= regions
    assert table.cells.height == 396
    assert table.columns == ["region", "occupation (SSYK 2012)", "age", "sex", "2014", "2015", "2016", "2017"]


def test_latin1_fixture_with_hagersten_alvsjo():
    table = read("synthetic_wide_gender_latin1.csv")
    assert table.cells["Område"].to_list() == ["Hägersten-Älvsjö", "Enskede-Årsta-Vantör", "Skarpnäck"]


def test_utf8_bom_is_dropped_and_quoted_cells_kept():
    table = read("synthetic_long_comma_utf8_bom.csv")
    assert table.encoding == "utf-8-sig"
    assert table.columns[0] == "Period"  # no BOM in the first header
    assert table.cells["Antal inskrivna"].to_list()[0] == "1\u00a0234"


def test_utf16_with_bom_excel_unicode_text():
    text = "Område\tAntal\nHägersten-Älvsjö\t5\n"
    table = read_table(text.encode("utf-16"), "export.txt")
    assert table.cells.row(0) == ("Hägersten-Älvsjö", "5")


def test_double_encoded_utf8_is_repaired():
    text = "Område;Antal\nEnskede-Årsta-Vantör;5\n"
    mojibake = text.encode("utf-8").decode("cp1252").encode("utf-8")
    table = read_table(mojibake, "f.csv")
    assert table.cells.row(0)[0] == "Enskede-Årsta-Vantör"
    assert any("felkodade" in n for n in table.notes)


def test_undecidable_encoding_is_refused_not_guessed():
    data = b"Omr;Antal\n" + bytes(range(0x80, 0x100)) + b";5\n"
    err = refused(data, "konstig.csv")
    assert "UTF-8" in err.problems[0].message and "Inget har sparats" in err.problems[0].message


def test_crlf_and_old_mac_line_endings():
    for nl in ("\r\n", "\r"):
        table = read_table(f"A;B{nl}1;2{nl}3;4{nl}".encode(), "f.csv")
        assert table.cells.height == 2 and table.row_numbers.to_list() == [2, 3]


# ---------------------------------------------------------------- layout

def test_skolverket_preamble_trailing_separator_footnotes():
    table = read_table(SKOLVERKET_ELEVER.read_bytes(), SKOLVERKET_ELEVER.name)
    assert table.encoding == "utf-8-sig" and table.separator == ";"
    assert table.header_rows == (6,)
    assert table.preamble == ["Statistik från Skolverket, https://www.skolverket.se",
                              "Grundskola - Antal elever per årskurs", "Valt läsår: 2024/25"]
    assert table.columns[-1] == "Elever, årskurs 1-9"  # the trailing ';' adds no empty column
    assert table.cells["Kommun"].n_unique() == 290
    sthlm = table.cells.with_columns(row=table.row_numbers).filter(pl.col("Kommun-kod") == "0180")
    assert sthlm["Kommun"].unique().to_list() == ["Stockholm"]
    assert sthlm["row"].to_list() == [534, 535, 536, 537]
    assert sthlm.filter(pl.col("Typ av huvudman") == "Samtliga")["Elever, årskurs 1-9"].item() == "97 109"
    values = pl.concat([table.text(c) for c in table.columns[5:]])
    assert (values == ".").sum() == 217 and (values == "..").sum() == 52
    assert any("fotnoter" in n for n in table.notes)


def test_skolverket_two_header_rows_combined():
    table = read_table(SKOLVERKET_BETYG.read_bytes(), SKOLVERKET_BETYG.name)
    assert table.header_rows == (6, 7)
    assert table.n_levels == 2
    assert table.header("Kommun") == ("", "Kommun")
    assert table.header("Flickor | Antal elever") == ("Flickor", "Antal elever")
    assert table.header("Pojkar | Antal elever") == ("Pojkar", "Antal elever")
    assert len(table.columns) == 15  # 5 id columns + 5 per gender, no trailing empty column
    assert table.cells["Kommun"].n_unique() == 290
    assert table.cells.filter(pl.col("Kommun-kod") == "0180").height == 3
    values = pl.concat([table.text(c) for c in table.columns[5:]])
    assert (values == "~100").sum() > 0 and (values == "..").sum() > 0


def test_report_two_header_rows_group_over_years():
    table = read("report_jobbtorg_two_headers.csv")
    assert table.header_rows == (1, 2)
    assert table.columns == ["Målgrupp", "Kvinna | 2023", "Kvinna | 2022", "Man | 2023", "Man | 2022",
                             "Totalsumma | 2023", "Totalsumma | 2022"]
    assert table.row_numbers.to_list() == list(range(4, 11))  # 'Januari-december' (row 3) skipped
    assert (3, "Januari-december") in table.skipped


def test_real_bas_and_pxweb_exports_read():
    bas = read_table(SCB_BAS.read_bytes(), SCB_BAS.name)
    assert bas.cells.height == 251 and bas.separator == ","
    assert bas.cells["ålder"][0] == "20–64 år"
    wages = read_table(PX_WAGES.read_bytes(), PX_WAGES.name)
    assert wages.columns[:3] == ["occuptional  (SSYK 2012)", "age", "sex"]
    assert sum((wages.text(c) == "..").sum() for c in wages.columns[3:]) == 329


def test_quoted_cell_with_line_break_keeps_row_numbers_as_excel():
    text = 'Område;Kommentar;Antal\nFarsta;"rad ett\nrad två";5\nBromma;;6\n'
    table = read_table(text.encode(), "f.csv")
    assert table.cells["Kommentar"][0] == "rad ett\nrad två"
    assert table.row_numbers.to_list() == [2, 3]


def test_short_rows_are_padded():
    table = read_table(b"A;B;C\n1;2\n3;4;5\n", "f.csv")
    assert table.cells.row(0) == ("1", "2", "")


# ---------------------------------------------------------------- Excel

def test_xlsx_title_rows_and_fraction_cells():
    table = read("synthetic_title_rows.xlsx")
    assert table.encoding == "xlsx" and table.sheet == "Andel" and table.sheets == ["Andel", "Antal"]
    assert table.header_rows == (4,)
    assert table.columns == ["Stadsdelsområde", "Månad", "Andel"]
    assert table.cells["Andel"].to_list() == ["0.081", "0.083", "0.045", "0.046"]
    assert table.row_numbers.to_list() == [5, 6, 7, 8]


def test_xlsx_sheet_selectable_by_name_and_index():
    by_name = read("synthetic_title_rows.xlsx", sheet="Antal")
    by_index = read("synthetic_title_rows.xlsx", sheet=1)
    assert by_name.columns == by_index.columns == ["Stadsdelsområde", "År", "Antal"]
    assert by_name.cells["År"].to_list() == ["2023", "2023"]
    err = refused((FIXTURES / "synthetic_title_rows.xlsx").read_bytes(), "x.xlsx", sheet="Finns inte")
    assert "Andel, Antal" in err.problems[0].message


def test_xlsx_merged_group_headers_over_years():
    table = read("report_jobbtorg_two_headers.xlsx")
    assert table.header_rows == (3, 4)
    assert table.columns[1:3] == ["Kvinna | 2023", "Kvinna | 2022"]
    assert table.cells["Totalsumma | 2023"].to_list()[0] == "3237"
    assert any("fotnoter" in n for n in table.notes)  # 'Källa: ...' under a blank row


def test_xlsx_dates_lose_midnight_time():
    import datetime

    wb = openpyxl.Workbook()
    wb.active.append(["Datum", "Antal"])
    wb.active.append([datetime.date(2022, 12, 31), 5])
    buf = io.BytesIO()
    wb.save(buf)
    table = read_table(buf.getvalue(), "d.xlsx")
    assert table.cells.row(0) == ("2022-12-31", "5")


def _workbook(sheets: dict[str, list[list]]) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_xlsx_whose_first_sheet_is_a_title_page_reads_the_first_sheet_with_a_table():
    data = _workbook({"Info": [["Statistik om Jobbtorg"], ["Källa: Stockholms stad"]],
                      "Data": [["Område", "År", "Antal"], ["Farsta", 2023, 5], ["Bromma", 2023, 6]],
                      "Män": [["Område", "År", "Antal"], ["Farsta", 2023, 2]]})
    table = read_table(data, "jobbtorg.xlsx")
    assert table.sheet == "Data" and table.sheets == ["Info", "Data", "Män"]
    assert table.columns == ["Område", "År", "Antal"] and table.cells["Område"].to_list() == ["Farsta", "Bromma"]
    assert table.notes == ["Bladet 'Info' innehåller ingen tabell; bladet 'Data' har lästs (filen har också Info, Män)."]
    assert read_table(data, "jobbtorg.xlsx", sheet="Män").cells["Antal"].to_list() == ["2"]
    chosen = refused(data, "jobbtorg.xlsx", sheet="Info")  # a sheet the analyst chose is read as it is
    assert "ingen rad har mer än en kolumn" in chosen.problems[0].message


def test_xlsx_without_any_table_names_its_sheets():
    data = _workbook({"Info": [["Statistik om Jobbtorg"]], "Om": [["Kontakt: enheten för statistik"]]})
    err = refused(data, "jobbtorg.xlsx")
    assert err.problems[0].message == ("inget av Excel-filens blad innehåller en tabell med rubrikrad och värden "
                                       "(bladen: Info, Om). Inget har sparats.")


# ---------------------------------------------------------------- refusals

def test_empty_file():
    assert "tom" in refused(b"", "tom.csv").problems[0].message
    assert "tom" in refused(b"\n\n ;; \n", "tom.csv").problems[0].message


def test_file_over_max_size_message():
    err = refused(b"x" * (73 * 1024 * 1024), "stor.csv")
    assert err.problems[0].message == "Filen är 73 MB; största tillåtna storlek är 50 MB. Inget har sparats."
    assert err.problems[0].file == "stor.csv"


def test_binary_file_is_not_a_table():
    err = refused(bytes(range(256)) * 40, "data.csv")
    assert "binära" in err.problems[0].message


def test_single_column_text_is_not_a_table():
    err = refused("Det här är ett brev.\nMed två rader.\n".encode(), "brev.txt")
    assert "ingen rad har mer än en kolumn" in err.problems[0].message


def test_ragged_rows_name_the_row():
    lines = ["A;B;C"] + [f"{i};{i};{i}" for i in range(10)] + ["1;2;3;4;5"] + ["1;2;3"]
    err = refused("\n".join(lines).encode(), "trasig.csv")
    assert [p.row for p in err.problems] == [12]
    assert "5 kolumner" in err.problems[0].message and "rubrikraden har 3" in err.problems[0].message


def test_unclosed_quote_names_the_row():
    text = 'A;B\n1;2\n"3;4\n5;6\n7;8\n'
    err = refused(text.encode(), "citat.csv")
    assert err.problems[0].row == 3 and "citattecken" in err.problems[0].message


@pytest.mark.parametrize("data,filename,word", [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "gammal.xls", ".xls"),
    (b"%PDF-1.7\n...", "rapport.pdf", "PDF"),
    (b"%PDF-1.7\n...", "rapport.csv", "PDF"),
    (b"{}", "data.json", ".json"),
    (b"PK\x03\x04" + b"\x00" * 50, "dok.docx", ".docx"),
    (b"<html><table></table></html>", "export.xls", "HTML"),
])
def test_unsupported_types_list_accepted_formats(data, filename, word):
    message = refused(data, filename).problems[0].message
    assert word in message
    assert ".xlsx" in message and "Inget har sparats" in message


def test_corrupt_xlsx():
    assert "kan inte öppnas" in refused(b"PK\x03\x04garbage", "trasig.xlsx").problems[0].message


def test_progress_is_reported_in_order():
    calls = []
    lines = ["Område;Antal"] + [f'"Farsta";{i}' for i in range(120_000)]
    read_table("\n".join(lines).encode(), "stor.csv", progress=lambda f, t: calls.append((f, t)))
    fractions = [f for f, _ in calls]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions) and len(calls) >= 5
    assert all(isinstance(t, str) and t for _, t in calls)


def test_bom_on_a_windows_1252_file_is_not_trusted():
    data = b"\xef\xbb\xbf" + "Område;Antal\nSkärholmen;5\n".encode("cp1252")
    table = read_table(data, "f.csv")
    assert table.columns[0] == "Område" and table.cells.row(0)[0] == "Skärholmen"


def test_control_characters_are_counted_over_the_first_100_000_characters_not_bytes():
    # SYNTETISKA testrader: 'åäö' take two bytes each in UTF-8, so the control characters below
    # start after 100 000 bytes but within the first 100 000 characters
    data = ("Område;Värde\n" + "Östermalm åäö;1\n" * 5000 + "Kista;2" + "\x0b" * 12 + "\n").encode("utf-8")
    assert data.index(b"\x0b") > 100_000 and data.decode().index("\x0b") < 100_000
    with pytest.raises(InputError, match="styrtecken"):
        read_table(data, "fil.csv")


def test_every_format_the_message_names_is_read():
    import re

    from amnstats.ingest.read import ACCEPTED_SV

    named = re.findall(r"\.(\w+)", ACCEPTED_SV)
    assert {"csv", "txt", "tsv", "tab", "xlsx", "xlsm"} <= set(named)
    text = "Område;År;Antal\nBromma;2023;5\n".encode()  # SYNTETISK rad
    book = openpyxl.Workbook()
    for row in (["Område", "År", "Antal"], ["Bromma", 2023, 5]):
        book.active.append(row)
    excel = io.BytesIO()
    book.save(excel)
    for suffix in named:
        data = excel.getvalue() if suffix.startswith("xls") else text
        table = read_table(data, f"fil.{suffix}")
        assert table.cells.height == 1, suffix
