"""The fast paths of the upload import give what the straightforward paths give.

Each test runs a small inline sample through the fast path and through the plain one (forced,
or written out here as the reference) and compares frame to frame or problem to problem.
"""

from __future__ import annotations

import datetime as dt
import shutil

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest

from amnstats import build as build_module
from amnstats import imports, ingest
from amnstats.build import build, sort_order
from amnstats.ingest import Mapping, Source, checks, encoding, privacy, read
from amnstats.ingest.read import read_table
from amnstats.normalise import normalise, packed_codes, string_codes
from amnstats.problems import InputError, Problem
from amnstats.schema import KEY_COLUMNS
from amnstats.sources import uploads
from amnstats.schema import scan_store

# ---------------------------------------------------------------- reading


def _same_table(a: read.RawTable, b: read.RawTable) -> None:
    assert a.cells.cast(pl.String).equals(b.cells.cast(pl.String))  # the same texts (in categories of their own)
    assert a.headers == b.headers
    assert a.row_numbers.to_list() == b.row_numbers.to_list()
    assert (a.header_rows, a.skipped, a.notes, a.encoding, a.separator) == \
        (b.header_rows, b.skipped, b.notes, b.encoding, b.separator)


SAMPLES = {
    "title and blank lines": "Arbetslöshet, SYNTETISK\n\nOmråde;År;Värde\nRinkeby - Kista;2023;1 234,5\n\n"
                             "Skärholmen;2023;..\nSpånga - Tensta;2023;<5\n\nKälla: SCB\n",
    "crlf and trailing blanks": "Område;År;Värde\r\nRinkeby - Kista;2023;12,5\r\nSkärholmen;2023;3\r\n\r\n\r\n",
    "lone cr": "Område;År;Värde\rRinkeby - Kista;2023;12,5\rSkärholmen;2023;3",
    "no final newline": "Område,År,Värde\nRinkeby-Kista,2023,12.5\nSkärholmen,2023,3",
    "tabs and spaces": "Område\tÅr\tVärde \n Rinkeby - Kista \t2023\t 7 \nSkärholmen\t2023\t8\t\n",
    "trailing separator": "Område;År;Värde;\nRinkeby - Kista;2023;1;\nSkärholmen;2023;2;\n",
    "one label row": "Område;Kvinnor;Män\nJanuari-december\nRinkeby - Kista;1;2\nSkärholmen;3;4\n",
}


@pytest.mark.parametrize("name", list(SAMPLES))
@pytest.mark.parametrize("codec", ["utf-8", "utf-8-sig", "cp1252"])
def test_polars_split_is_the_line_split(name, codec, monkeypatch):
    data = SAMPLES[name].encode(codec)
    fast = read_table(data, "fil.csv")
    monkeypatch.setattr(read, "_grid_polars", lambda buf, sep, width, dtypes=None: None)  # the line-by-line split
    _same_table(fast, read_table(data, "fil.csv"))


BODY = "".join(f"Skärholmen – Öst;{2000 + i % 20};{i},5\n" for i in range(400))
PIECED = {  # a file in a code page is split a piece at a time: the same table as split whole
    "plain": "Titel – SYNTETISK\nOmråde;År;Värde\n" + BODY,
    "crlf": ("Område;År;Värde\n" + BODY).replace("\n", "\r\n"),
    "quotes in a later piece": "Område;År;Värde\n" + BODY + 'Spånga;2023;"1 234,5"\n' + BODY,
    "blank lines and notes": "Område;År;Värde\n" + BODY + "\n\n" + BODY + "\nKälla: SCB\n",
    "short first piece": "Område;År;Värde\n" + BODY[:2000],
}


@pytest.mark.parametrize("name", list(PIECED))
def test_pieces_split_while_transcoding_are_the_whole_file_split(name, monkeypatch):
    data = PIECED[name].encode("cp1252")
    whole = read_table(data, "fil.csv")
    monkeypatch.setattr(encoding, "PIECE_BYTES", 997)
    assert len(list(encoding.utf8_pieces(data, "fil.csv")[0])) > 2
    _same_table(read_table(data, "fil.csv"), whole)


def test_a_wide_line_in_a_later_piece_is_refused_as_in_the_whole_file(monkeypatch):
    data = ("Område;År;Värde\n" + BODY + "Rinkeby - Kista;2023;1;2;3\n" + BODY).encode("cp1252")
    monkeypatch.setattr(encoding, "PIECE_BYTES", 997)
    with pytest.raises(InputError) as exc:
        read_table(data, "fil.csv")
    assert exc.value.problems[0].row == 402 and "5 kolumner" in exc.value.problems[0].message


def test_a_line_wider_than_the_first_lines_falls_back():
    head = "Område;År;Värde\n" + "".join(f"Skärholmen;{2000 + i};{i}\n" for i in range(250))
    data = (head + "Rinkeby - Kista;2023;1;2;3\n").encode("cp1252")
    assert read._grid_polars(data, ";", 3) is None  # polars refuses; the line split is used
    with pytest.raises(InputError) as exc:
        read_table(data, "fil.csv")
    assert exc.value.problems[0].row == 252 and "5 kolumner" in exc.value.problems[0].message


def test_wide_lines_later_in_the_file_match_the_line_split(monkeypatch):
    rows = [f"Rinkeby - Kista;{2000 + i};{i}" for i in range(300)] + ["Skärholmen;2023;1;;"]
    data = ("Område;År;Värde\n" + "\n".join(rows) + "\n").encode("utf-8")
    fast = read_table(data, "fil.csv")
    monkeypatch.setattr(read, "_grid_polars", lambda buf, sep, width, dtypes=None: None)
    _same_table(fast, read_table(data, "fil.csv"))


@pytest.mark.parametrize("text,codec", [
    ("Område;Värde\nSödermalm;1\nÄlvsjö – Hägersten;2\n", "cp1252"),
    ("Område;Värde\nSödermalm;1\nÅrsta;2 ½ ¤\n", "latin_1"),
    ("Område;Värde\nSödermalm;1\nÅrsta;2 € œ\n", "iso8859_15"),
    ("Område;Värde\nSödermalm;1\nÄlvsjö;2\n", "cp850"),
    ("Område;Värde\nSödermalm;1\nÄlvsjö;2\n", "mac_roman"),
    ("Omr\u0151de;V\u00e1rde\nP\u00e9cs;1\n\u0150rs\u00e9g;2\n", "cp1250"),
])
def test_encoding_guess_skipped_only_when_it_cannot_win(text, codec, monkeypatch):
    data = text.encode(codec)
    try:
        fast = encoding.decode(data, "fil.csv")
    except InputError as exc:
        fast = exc.problems
    monkeypatch.setattr(encoding, "_guess_can_win", lambda histogram, best: True)  # always ask
    try:
        asked = encoding.decode(data, "fil.csv")
    except InputError as exc:
        asked = exc.problems
    assert fast == asked


def test_utf8_cut_at_the_sample_end_is_still_utf8():
    data = ("a" * ((1 << 16) - 1) + "å\n").encode("utf-8")  # 'å' straddles the 64 KiB sample
    assert encoding.decode(data, "fil.csv")[1] == "utf-8"
    assert encoding.decode(data.replace("å".encode(), "å".encode("cp1252")), "fil.csv")[1] == "cp1252"


@pytest.mark.parametrize("codec", [*encoding._FALLBACKS, "cp1250", "cp037"])
def test_transcode_is_decode_then_encode(codec):
    # every byte the code page decodes, in a line of text, and the few that differ from Latin-1
    # next to each other (a replacement must not run into its neighbour)
    bytes_ok = bytes(b for b in range(256) if encoding._byte_kind(codec, b) is not None)
    for data in (b"Omr;V\n" + bytes_ok * 3 + b"\n", bytes(b for b in bytes_ok if b >= 0x80) * 2):
        expected = data.decode(codec).encode("utf-8")
        assert encoding._transcode(data, codec, encoding._histogram(data)) == expected


@pytest.mark.parametrize("codec", [*encoding._FALLBACKS, "cp1250"])
def test_transcode_of_every_pair_of_bytes(codec):
    # few distinct bytes take the replacing path: every pair, so that no replacement is taken for
    # a byte of the file by the next one (Mac Roman 0x8C is 'å', and Latin-1 reads its 0xE5 so)
    high = [b for b in range(0x80, 0x100) if encoding._byte_kind(codec, b) is not None]
    for a in high:
        for b in high:
            data = bytes([0x41, a, 0x3B, b, a, 0x0A])
            expected = data.decode(codec).encode("utf-8")
            assert encoding._transcode(data, codec, encoding._histogram(data)) == expected, (codec, hex(a), hex(b))


@pytest.mark.parametrize("codec", ["cp1252", "mac_roman"])
def test_transcode_around_few_differing_bytes_and_replacing_many_agree(codec, monkeypatch):
    # a dash in the title only (the pieces around it) and a file full of them (one replace() each)
    text = "Titel – SYNTETISK\nOmråde;Värde\n" + "Södermalm – Öst;1 234,5\n" * 3000
    data = text.encode(codec)
    expected = data.decode(codec).encode("utf-8")
    for few in (0, encoding._FEW_DIFFER):
        monkeypatch.setattr(encoding, "_FEW_DIFFER", few)
        assert encoding._transcode(data, codec, encoding._histogram(data)) == expected, few
        assert encoding._transcode(data[:40], codec, encoding._histogram(data[:40])) == data[:40].decode(
            codec).encode("utf-8")


def test_a_file_in_a_code_page_reads_as_its_text():
    text = "Titel – SYNTETISK\nOmråde;Kön;Värde\nSödermalm;Kvinnor;1 234,5\nÄlvsjö;Män;3 €\n"
    for codec in ("cp1252", "utf-8-sig", "utf-16"):
        assert encoding.to_utf8(text.encode(codec), "fil.csv")[0] == text.encode("utf-8")
    mac = "Område;Ålder;Värde\nSödermalm;Äldre;Â\n".encode("mac_roman")  # å is 0x8C, and 0xE5 is Â
    assert encoding._transcode(mac, "mac_roman", encoding._histogram(mac)) == mac.decode("mac_roman").encode("utf-8")


def test_byte_histogram_counts_only_bytes_outside_printable_ascii():
    data = "ab;\tåå\n€".encode("cp1252")
    assert encoding._histogram(data) == {0x09: 1, 0x0A: 1, 0xE5: 2, 0x80: 1}


# ---------------------------------------------------------------- personal data


def _screen_reference(table: read.RawTable) -> list[Problem]:
    """The cells a plain per-column scan with both patterns flags, checked exactly."""
    out = []
    cells = table.cells.cast(pl.String).with_columns(__row=table.row_numbers)
    for name in table.columns:
        col = pl.col(name)
        for text, row in cells.filter(col.str.contains(privacy._PREFILTER) | col.str.contains(privacy._EMAIL)) \
                .select(name, "__row").iter_rows():
            if hit := privacy.personnummer_in(text):
                out.append((row, name, hit))
            elif privacy.re.search(privacy._EMAIL, text):
                out.append((row, name, "e-post"))
    return out


def test_personal_data_screen_finds_what_a_full_scan_finds():
    frame = pl.DataFrame({
        "Område": ["Rinkeby-Kista", "Skärholmen", "kontakt: a.b@stad.se", "19811218-9876 (SYNTETISK)", "x"],
        "Värde": ["1 234,5", "811218-9876", "12", "1234567890", "8112189876"],
        "Not": ["", "ring 070-123 45 67", "", "", "anna@example.org"],
    })
    table = read.RawTable.from_frame(frame, "fil.csv")
    found = [(p.row, p.column, p.message) for p in privacy.find_personal_data(table)]
    expected = _screen_reference(table)
    assert [(r, c) for r, c, _ in expected] == [(r, c) for r, c, _ in found]
    assert len(found) == 5  # two personnummer in Värde, one in Område, two e-mail addresses



@pytest.mark.parametrize("hidden", [None, "19811218-9876 (SYNTETISK)", "kontakt: a.b@stad.se"])
def test_a_long_column_of_repeated_labels_is_screened_by_its_labels(hidden):
    areas = ["Rinkeby-Kista", "Skärholmen", "Hägersten-Älvsjö", "Stockholm"] * 5000
    if hidden:  # each distinct text is screened once; every row that holds it is named
        areas[12_345] = areas[15_000] = hidden
    table = read.RawTable.from_frame(pl.DataFrame({"Område": areas, "Värde": ["1"] * len(areas)}), "fil.csv")
    found = [(p.row, p.column) for p in privacy.find_personal_data(table)]
    assert found == [(r, c) for r, c, _ in _screen_reference(table)]
    assert found == ([(12_347, "Område"), (15_002, "Område")] if hidden else [])

# ---------------------------------------------------------------- checks


def _observations(rows: list[tuple]) -> pl.DataFrame:
    """(series, measure, period, gender, area, group, value, row) as observations."""
    n = len(rows)
    return pl.DataFrame({
        "series": [r[0] for r in rows], "measure": [r[1] for r in rows], "period": [r[2] for r in rows],
        "gender": [r[3] for r in rows], "area": [r[4] for r in rows], "group": [r[5] for r in rows],
        "kind": ["utfall"] * n, "target_setter": [""] * n, "value": [r[6] for r in rows],
        "source": ["uploads/f.csv;kolumn=Värde;rad="] * n, "source_row": [r[7] for r in rows],
    }, schema_overrides={"value": pl.Float64, "source_row": pl.Int32})


def _duplicates_reference(obs: pl.DataFrame) -> list:
    return obs.select(pl.struct(KEY_COLUMNS).is_duplicated()).to_series().to_list()


def _sums_reference(obs: pl.DataFrame) -> list[tuple]:
    from amnstats import catalogue

    additive = [k for k, m in catalogue.measures().items() if m.is_additive]
    adds = pl.DataFrame({"series": [a[0] for a in additive], "measure": [a[1] for a in additive]})
    key = [c for c in KEY_COLUMNS if c != "gender"]
    g = pl.col("gender")
    wide = (obs.join(adds, on=["series", "measure"], how="semi").filter(pl.col("value").is_not_null())
            .group_by(key).agg(k=pl.col("value").filter(g == "kvinnor").first(),
                               m=pl.col("value").filter(g == "män").first(),
                               t=pl.col("value").filter(g == "totalt").first(),
                               row=pl.col("source_row").filter(g == "totalt").first())
            .drop_nulls(["k", "m", "t"]).filter((pl.col("k") + pl.col("m") - pl.col("t")).abs() > 1e-9))
    return sorted((row, k, m, t) for k, m, t, row in wide.select("k", "m", "t", "row").iter_rows())


CHECK_ROWS = [
    ("komvux", "helarsplatser", "2023-01", "kvinnor", "Rinkeby-Kista", "", 1.0, 3),
    ("komvux", "helarsplatser", "2023-01", "män", "Rinkeby-Kista", "", 2.0, 4),
    ("komvux", "helarsplatser", "2023-01", "totalt", "Rinkeby-Kista", "", 4.0, 5),   # 1 + 2 != 4
    ("komvux", "helarsplatser", "2023-02", "kvinnor", "Rinkeby-Kista", "", 1.5, 6),
    ("komvux", "helarsplatser", "2023-02", "män", "Rinkeby-Kista", "", 2.5, 7),
    ("komvux", "helarsplatser", "2023-02", "totalt", "Rinkeby-Kista", "", 4.0, 8),   # agrees
    ("komvux", "helarsplatser", "2023-02", "totalt", "Skärholmen", "a", None, 9),     # suppressed
    ("komvux", "helarsplatser", "2023-01", "män", "Rinkeby-Kista", "", 2.0, 10),     # duplicate of row 4
    ("komvux", "helarsplatser", "2023-03", "kvinnor", "Skärholmen", "b", 1.0, 11),
    ("komvux", "helarsplatser", "2023-03", "män", "Skärholmen", "b", 1.0, 12),
    ("komvux", "helarsplatser", "2023-03", "totalt", "Skärholmen", "b", 3.0, 13),     # 1 + 1 != 3
]


@pytest.mark.parametrize("variant", ["one measure", "two measures", "no varying key"])
def test_checks_agree_with_grouping_the_key_text(variant):
    rows = list(CHECK_ROWS)
    if variant == "two measures":
        rows += [("unemployment", "arbetslosa", "2023-01", g, "Skärholmen", "", v, 20 + i)
                 for i, (g, v) in enumerate([("kvinnor", 5.0), ("män", 5.0), ("totalt", 11.0)])]
    if variant == "no varying key":
        rows = [rows[1], rows[7]]
    obs = _observations(rows)
    assert checks._is_duplicated(obs, list(KEY_COLUMNS)).to_list() == _duplicates_reference(obs)
    errors, warnings = checks.check_observations(obs, "f.csv")
    assert [p.row for p in errors] == ([4] if variant != "no varying key" else [4])
    assert "förekommer 2 gånger: rad 4 (kolumn 'Värde'), rad 10 (kolumn 'Värde')" in errors[0].message
    got = sorted((p.row, p.message) for p in warnings)
    ref = _sums_reference(obs)
    assert [r for r, _ in got] == [r[0] for r in ref]
    assert [p.row for p in warnings] == sorted(p.row for p in warnings)  # reported in file order


def test_packed_codes_tell_rows_apart_like_the_values_do():
    df = pl.DataFrame({"a": ["x", "y", "x", "y", "x"], "b": ["k", "k", "k", "k", "k"],
                       "d": [dt.date(2023, 1, 1), dt.date(2023, 2, 1), dt.date(2023, 1, 1)] * 1 + [None, None]})
    assert packed_codes(df, ["a", "b"]) is not None and len(packed_codes(df, ["a", "b"])) == 1
    assert packed_codes(df, ["a", "d"]) is None  # nulls: the caller uses the plain path
    words = packed_codes(df, ["a", "b"])[0].to_list()
    assert [words[i] == words[j] for i, j in ((0, 2), (0, 1), (1, 3))] == [True, False, True]


def test_string_codes_sort_as_the_strings():
    s = pl.Series(["Östermalm", "Älvsjö", "Bromma", "bromma", "Älvsjö", "", "Åsö"])
    codes, card = string_codes(s, ordered=True)
    assert card == 6
    assert s.gather(np.argsort(codes.to_numpy(), kind="stable")).to_list() == s.sort().to_list()


@pytest.mark.parametrize("descending", [None, [True, False, False, True]])
def test_sort_order_with_constant_columns_is_polars_order(descending):
    df = pl.DataFrame({"s": ["komvux"] * 6, "area": ["b", "a", "b", "c", "a", "a"],
                       "d": [dt.date(2023, 1, 1)] * 6, "src": ["r3", "r1", "r2", "r9", "r0", "r0"],
                       "v": [0.0, -0.0, 0.0, 0.0, 0.0, 0.0]})
    by = ["s", "area", "d", "src"]
    order = sort_order(df, by, descending)
    ref = df.with_row_index("_i").sort(by, descending=descending or False, maintain_order=True)["_i"].to_list()
    assert order.tolist() == ref
    assert sort_order(df, ["s", "v"]) is None  # a float column is left to polars' sort


# ---------------------------------------------------------------- normalise


def _candidates(measures: list[tuple[str, str]]) -> pl.DataFrame:
    n = len(measures)
    return pl.DataFrame({
        "series": [m[0] for m in measures], "measure": [m[1] for m in measures],
        "period": ["2023", "dec 2023", "2023-T1", "2023"][:n], "gender": ["Kvinnor", "män", "", "Totalt"][:n],
        "area": ["Rinkeby - Kista", "Skärholmen", "Stockholm", "Hässelby-Vällingby"][:n],
        "group": [""] * n, "value_text": ["1 234,5", "..", "7", "<5"][:n], "status": [""] * n,
        "kind": ["utfall"] * n, "target_setter": [""] * n, "dataset": ["d"] * n,
        "source": [f"f.csv#L{i}" for i in range(n)], "source_label": ["f"] * n, "note": [""] * n,
        "raw_file": ["f.csv"] * n, "raw_row": list(range(2, 2 + n)),
    })


def test_normalise_one_measure_without_the_catalogue_join():
    one = normalise(_candidates([("komvux", "helarsplatser")] * 4))
    mixed = normalise(_candidates([("komvux", "helarsplatser")] * 3 + [("jobbtorg", "inskrivna")]))
    assert one.head(3).equals(mixed.head(3))
    assert one["unit"].n_unique() == 1 and mixed["unit"][3] == "antal"
    assert one["period"].to_list() == ["2023", "2023-12", "2023-T1", "2023"]
    assert one["gender"].to_list() == ["kvinnor", "män", "totalt", "totalt"]
    assert one["area_type"].to_list()[:2] == ["sdo", "sdo"] and one["area_type"][2] == "city"
    assert one["status"].to_list() == ["", "suppressed", "", "suppressed"]
    assert one["value"].to_list() == [1234.5, None, 7.0, None]


def test_normalise_hands_out_the_codes_string_codes_would_give():
    # aliases of one area ('Rinkeby - Kista', 'Rinkeby-Kista') and of one gender share a code
    c = _candidates([("komvux", "helarsplatser")] * 4)
    c = pl.concat([c, c.with_columns(area=pl.Series(["Rinkeby-Kista", "Skärholmen", "Östermalm", "Älvsjö"]),
                                     gender=pl.Series(["K", "Män", "totalt", "kvinnor"]),
                                     raw_row=pl.Series([10, 11, 12, 13]))])
    codes: dict = {}
    obs = normalise(c, codes=codes)
    assert sorted(codes) == ["area", "gender", "period"]
    for column, (code, n) in codes.items():
        want, want_n = string_codes(obs[column], ordered=True)
        assert (code.to_list(), n) == (want.to_list(), want_n), column
    same: dict = {}
    one = normalise(c.with_columns(area=pl.lit("Rinkeby - Kista")), codes=same)
    assert same["area"][1] == 1 and one["area"].n_unique() == 1  # one value: nothing to order by


def test_store_order_from_the_codes_normalise_gives_is_polars_order():
    data, mapping = _upload_sample()
    data = data.replace(b"Rinkeby - Kista;2023-0", b"\xc4lvsj\xf6;2023-0")  # two areas, not in file order
    prepared = ingest.prepare(data, "SYNTETISK.csv", mapping)
    assert prepared.ok and prepared.observations["area"].n_unique() == 2
    by = list(build_module.STORE_ORDER)
    assert prepared.observations.equals(prepared.observations.sort(by, maintain_order=True))
    shuffled = prepared.observations.sample(fraction=1.0, shuffle=True, seed=3)
    assert uploads.in_store_order(shuffled).equals(prepared.observations)


def test_normalise_of_cells_as_codes_is_normalise_of_their_text():
    # an upload's cells come as Categoricals (each distinct text parsed once)
    c = _candidates([("komvux", "helarsplatser")] * 4)
    c = pl.concat([c, c.with_columns(value_text=pl.Series(["~12", "1 234,5", "", "x"]),
                                     raw_row=pl.Series([6, 7, 8, 9]))])
    coded = c.with_columns(pl.col(n).cast(pl.Categorical(pl.Categories.random()))
                           for n in ("period", "gender", "area", "group", "value_text", "note"))
    text_codes: dict = {}
    cell_codes: dict = {}
    assert normalise(coded, codes=cell_codes).equals(normalise(c, codes=text_codes))
    assert {k: (v[0].to_list(), v[1]) for k, v in cell_codes.items()} == \
        {k: (v[0].to_list(), v[1]) for k, v in text_codes.items()}


def test_store_order_taking_the_frame_gives_the_sorted_frame_and_empties_it():
    data, mapping = _upload_sample()
    prepared = ingest.prepare(data, "SYNTETISK.csv", mapping)
    shuffled = prepared.observations.sample(fraction=1.0, shuffle=True, seed=5)
    kept = shuffled.clone()
    assert uploads.in_store_order(shuffled, consume=True).equals(uploads.in_store_order(kept))
    assert shuffled.width == 0  # every column was taken out once gathered
    assert uploads.in_store_order(kept).equals(prepared.observations)


def test_codes_of_32_bits_are_packed_into_64_bit_words():
    big = 2**20  # two columns of a million values each: the word needs 40 bits
    df = pl.DataFrame({"a": np.arange(big, dtype=np.int64) % big, "b": (np.arange(big, dtype=np.int64) * 7) % big})
    words = packed_codes(df, ["a", "b"])
    assert len(words) == 1 and words[0].dtype == pl.UInt64
    assert words[0].n_unique() == df.unique().height == big
    assert words[0].max() > 2**32


def test_normalise_unknown_labels_reported_per_row():
    c = _candidates([("komvux", "helarsplatser")] * 4).with_columns(
        area=pl.Series(["Rinkeby Kisa", "Skärholmen", "Rinkeby Kisa", "Stockholm"]),
        period=pl.Series(["2023", "2023-13", "2023", "2023"]))
    with pytest.raises(InputError) as exc:
        normalise(c)
    rows = [(p.row, p.column) for p in exc.value.problems]
    assert rows == [(2, "area"), (4, "area"), (3, "period")]
    assert "menade du 'Rinkeby-Kista'" in exc.value.problems[0].message


# ---------------------------------------------------------------- the import's cache


def test_cache_keeps_constant_columns_once(tmp_path):
    frame = pl.DataFrame({
        "series": ["komvux"] * 3, "period": ["2023-01", "2023-02", "2023-03"],
        "period_start": [dt.date(2023, 1, 1)] * 3, "value": [1.0, None, 3.5], "is_preferred": [True] * 3,
        "source": ["a", "b", "c"],
    })
    path = tmp_path / "c.parquet"
    uploads._write_cache_file(frame, path)
    assert pl.read_parquet(path).columns == ["period", "value", "source"]
    assert uploads._read_cache_file(path).select(frame.columns).equals(frame)
    uploads._write_cache_file(frame.clear(), path)
    assert uploads._read_cache_file(path).select(frame.columns).equals(frame.clear())


def _upload_sample() -> tuple[bytes, Mapping]:
    rows = "".join(f"Rinkeby - Kista;2023-{m:02d};{g};Grupp {k};{(m * 7 + k) % 50},5\n"
                   for m in range(1, 13) for k in range(3) for g in ("Kvinnor", "Män"))
    data = ("SYNTETISKA TESTDATA\nStadsdelsområde;Månad;Kön;Utbildningsform;Helårsplatser\n" + rows).encode("cp1252")
    mapping = Mapping(series="komvux", measure="helarsplatser", period=Source.column("Månad"),
                      gender=Source.column("Kön"), area=Source.column("Stadsdelsområde"),
                      group=Source.column("Utbildningsform"), value="Helårsplatser")
    return data, mapping


def _caches(data_dir) -> list:
    return list((data_dir / "raw" / "uploads").rglob(".observations-*.parquet"))


@pytest.mark.parametrize("group_rows", [None, 100])
def test_store_from_the_build_the_cache_and_the_file_are_the_same_bytes(data_dir, monkeypatch, group_rows):
    # group_rows 100: the store is written in many row groups, each from a frame assembled
    # differently on each path (slices of the upload and of the other sources, or one sorted frame)
    if group_rows:
        monkeypatch.setattr(build_module, "ROW_GROUP_ROWS", group_rows)
    data, mapping = _upload_sample()
    result = imports.commit(data, "SYNTETISK.csv", mapping, uploaded_by="test")
    committed = (result.build.path / "observations.parquet").read_bytes()
    groups = pq.ParquetFile(result.build.path / "observations.parquet").metadata.num_row_groups
    assert groups == (1 if group_rows is None else -(-result.build.n_observations // group_rows))
    assert _caches(data_dir) == []  # the rows are written once: the store is the cache
    with monkeypatch.context() as m:
        m.setattr(ingest, "prepare", lambda *a, **k: pytest.fail("the file was prepared again"))
        assert (build(force=True).path / "observations.parquet").read_bytes() == committed  # from the build
    for old in (data_dir / "processed").glob("build-*"):  # no build holds it: prepared from the file
        shutil.rmtree(old)
    assert (build(force=True).path / "observations.parquet").read_bytes() == committed
    assert len(_caches(data_dir)) == 1  # kept after preparing the file
    for old in (data_dir / "processed").glob("build-*"):
        shutil.rmtree(old)
    assert (build(force=True).path / "observations.parquet").read_bytes() == committed  # from the cache


def test_two_uploads_are_taken_from_one_build_together(data_dir, monkeypatch):
    data, mapping = _upload_sample()
    other = data.replace(b"Rinkeby - Kista", b"Skarpn\xe4ck")
    imports.commit(data, "SYNTETISK.csv", mapping, uploaded_by="test")
    committed = imports.commit(other, "SYNTETISK2.csv", mapping, uploaded_by="test").build.path / "observations.parquet"
    store = scan_store(committed, places=False).collect()  # as the build holds it
    keys = {r["id"]: uploads.cache_key(r) for r in imports.history()}
    found = uploads.from_builds(data_dir / "processed", keys)
    assert sorted(found) == sorted(keys)
    for import_id, rows in found.items():  # each its own rows, in store order
        assert rows.equals(store.filter(pl.col("dataset") == import_id)
                           .with_columns(is_preferred=pl.lit(True), has_conflict=pl.lit(False)))
        assert rows["area"].n_unique() == 1
    wrong = {i: "another key" for i in keys} | {next(iter(keys)): keys[next(iter(keys))]}
    assert list(uploads.from_builds(data_dir / "processed", wrong)) == [next(iter(keys))]
    with monkeypatch.context() as m:
        m.setattr(ingest, "prepare", lambda *a, **k: pytest.fail("a file was prepared again"))
        assert (build(force=True).path / "observations.parquet").read_bytes() == committed.read_bytes()


def test_a_build_from_other_code_is_not_taken_as_the_cache(data_dir, monkeypatch):
    data, mapping = _upload_sample()
    result = imports.commit(data, "SYNTETISK.csv", mapping, uploaded_by="test")
    committed = scan_store(result.build.path / "observations.parquet").collect()
    monkeypatch.setattr(uploads, "_code_fingerprint", lambda: "other code")
    record = imports.history()[0]
    assert uploads.from_builds(data_dir / "processed", {record["id"]: uploads.cache_key(record)}) == {}
    assert scan_store(build(force=True).path / "observations.parquet").collect().equals(committed)  # from the file


def test_undo_keeps_the_rows_for_redo(data_dir):
    data, mapping = _upload_sample()
    first = imports.commit(data, "SYNTETISK.csv", mapping, uploaded_by="test")
    committed = (first.build.path / "observations.parquet").read_bytes()
    import_id = first.record["id"]
    imports.undo(import_id, by="test")
    assert len(_caches(data_dir)) == 1  # written from the store before the rows left it
    cached = uploads._read_cache_file(_caches(data_dir)[0])
    from_store = scan_store(committed, places=False).collect().filter(pl.col("dataset") == import_id)
    assert cached.equals(from_store.with_columns(is_preferred=pl.lit(True), has_conflict=pl.lit(False)))
    assert (imports.redo(import_id, by="test").build.path / "observations.parquet").read_bytes() == committed


def test_cell_cleaning_and_counts_are_the_plain_expressions():
    from amnstats.ingest import layout

    rng = np.random.default_rng(7)
    words = ["", "", " ", "Bromma", " Kista ", "1 234,5", "\u00a0x", None]
    grid = pl.DataFrame({f"c{i}": [words[k] for k in rng.integers(0, len(words), 500)] for i in range(6)},
                        schema={f"c{i}": pl.String for i in range(6)})
    grid = grid.with_columns(c5=pl.lit("tyst"))  # a column with nothing to strip is kept as it is
    plain = grid.with_columns(pl.all().fill_null("").str.strip_chars())
    assert layout._stripped(grid).equals(plain)
    for cells in (plain, plain.drop("c5")):
        filled = [pl.col(c) != "" for c in cells.columns]
        expected = cells.select(__nz=pl.sum_horizontal(filled).cast(pl.Int64),
                                __w=pl.max_horizontal([pl.when(f).then(i + 1).otherwise(0)
                                                       for i, f in enumerate(filled)]).cast(pl.Int64))
        assert pl.DataFrame(layout._filled_counts(cells)).equals(expected)
    assert expected["__w"].n_unique() > 3 and set(expected["__nz"]) >= {0, 1, 2}  # the sample varies
    coded = read.as_codes(grid)  # as a RawTable holds cells: each column a Categorical of its own
    assert all(isinstance(t, pl.Categorical) for t in coded.dtypes)
    assert layout._stripped(coded).cast(pl.String).equals(plain)
    assert pl.DataFrame(layout._filled_counts(layout._stripped(coded))).equals(
        pl.DataFrame(layout._filled_counts(plain)))


def test_filled_counts_of_the_rows_with_holes_equal_counting_every_row():
    from amnstats.ingest import layout

    rng = np.random.default_rng(5)
    for height in (0, 1, 7, 40, 400):  # few rows with an empty cell, and many
        for share in (0.01, 0.5):
            cells = np.where(rng.random((height, 4)) < share, "", "v")
            grid = pl.DataFrame({f"c{i}": cells[:, i].tolist() for i in range(4)},
                                schema={f"c{i}": pl.String for i in range(4)})
            fast, slow = layout._filled_counts(grid), layout._counted(grid)
            assert [s.to_list() for s in fast] == [s.to_list() for s in slow], (height, share)
