import pytest

from amnstats import catalogue
from amnstats.areas import canonical_area, comparable_area, suggest_area


def test_thirteen_districts_since_2020():
    districts = catalogue.districts()
    assert len(districts) == 13
    assert "Hägersten-Älvsjö" in districts
    assert "Älvsjö" not in districts and "Hägersten-Liljeholmen" not in districts


@pytest.mark.parametrize(
    "name,canonical",
    [
        ("Enskede - Årsta - Vantör", "Enskede-Årsta-Vantör"),
        ("ENSKEDE-ÅRSTA-VANTÖR", "Enskede-Årsta-Vantör"),
        ("Bromma (Sthlm)", "Bromma"),
        ("Stockholm (0180)", "Stockholm"),
        ("Stockholms stad", "Stockholm"),
        ("Hägersten-Älvsjö stadsdelsförvaltning", "Hägersten-Älvsjö"),
        ("  spånga – tensta ", "Spånga-Tensta"),
        ("Stockholms län", "Stockholms län"),
        ("Sverige", "Riket"),
    ],
)
def test_area_aliases(name, canonical):
    assert canonical_area(name) == canonical


def test_unknown_area_gets_a_suggestion():
    assert canonical_area("Rinkby-Kista") is None
    assert suggest_area("Rinkby-Kista") == "Rinkeby-Kista"
    assert canonical_area("Atlantis") is None


def test_2020_reorganisation():
    assert comparable_area("Älvsjö") == "Hägersten-Älvsjö"
    assert comparable_area("Hägersten-Liljeholmen") == "Hägersten-Älvsjö"
    assert comparable_area("Bromma") == "Bromma"


def test_every_measure_is_declared_completely():
    ms = catalogue.measures()
    assert len(ms) > 40
    for (series, name), m in ms.items():
        assert series in catalogue.SERIES_LABELS, series
        assert name.isascii() and name == name.lower() and " " not in name, name
        assert m.label_sv and m.definition_sv, name
        if m.unit in catalogue.SHARE_UNITS:
            assert not m.is_additive, name


def test_duplicate_measure_declaration_is_an_error(tmp_path):
    header = "series,measure,label_sv,definition_sv,unit,is_additive,direction,decimals\n"
    row = "jobbtorg,inskrivna,X,Y,antal,true,neutral,0\n"
    (tmp_path / "measures.csv").write_text(header + row)
    (tmp_path / "measures_extra.csv").write_text(header + row)
    with pytest.raises(catalogue.CatalogueError, match="redan deklarerat"):
        catalogue.measures(tmp_path)


def test_share_declared_additive_is_an_error(tmp_path):
    (tmp_path / "measures.csv").write_text(
        "series,measure,label_sv,definition_sv,unit,is_additive,direction,decimals\n"
        "jobbtorg,x_andel,X,Y,procent,true,neutral,1\n")
    with pytest.raises(catalogue.CatalogueError, match="andelar kan inte summeras"):
        catalogue.measures(tmp_path)


def test_no_curated_figure_is_printed_with_more_decimals_than_its_measure_shows():
    # 73,8 % must not be shown as 74 %: a measure's decimals cover every figure the reports print
    import re
    from pathlib import Path

    import polars as pl

    reports = sorted((Path(__file__).resolve().parents[1] / "data" / "raw" / "reports").glob("*.csv"))
    rows = pl.concat([pl.read_csv(f, infer_schema=False) for f in reports], how="diagonal")
    found = {}
    for series, measure, printed in rows.select("series", "measure", "value_printed").iter_rows():
        m = re.search(r",(\d+)\s*%?$", printed or "")
        key = (series, measure)
        found[key] = max(found.get(key, 0), len(m.group(1)) if m else 0)
    shown = {k: m.decimals for k, m in catalogue.measures().items()}
    assert {k: d for k, d in found.items() if d > shown[k]} == {}
