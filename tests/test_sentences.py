"""The sentence under each chart, from templates: checked on hand-built rows."""

import re

from amnstats.ui.sentences import describe, period_phrase


def row(**kw):
    base = dict(series="unemployment", measure="arbetsloshet_bas", area="Stockholm", gender="totalt", group="",
                period="2024-12", value=5.3, period_prev="2023-12", value_prev=4.9, change_abs=0.4, change_pct=None,
                status="")
    return base | kw


def test_share_change_in_procentenheter():
    assert describe(row()) == ("Arbetslösheten i Stockholm var 5,3\u00a0% i december 2024, "
                               "0,4 procentenheter högre än ett år tidigare.")


def test_count_change_with_percent_and_fewer():
    s = describe(row(series="jobbtorg", measure="inskrivna_unika", period="2023", period_prev="2022",
                     value=6086.0, value_prev=6412.0, change_abs=-326.0, change_pct=-5.08))
    assert s == ("Antalet inskrivna unika individer på Jobbtorg i Stockholm var 6\u00a0086 under 2023, "
                 "326 färre än 2022 (−5,1 %).")


def test_unchanged_and_women():
    s = describe(row(gender="kvinnor", value=4.9, change_abs=0.0))
    assert "bland kvinnor" in s and "oförändrat jämfört med ett år tidigare" in s


def test_approximate_and_missing():
    assert "var cirka 8\u00a0100" in describe(row(series="sfi", measure="elever", value=8100.0, status="approximate",
                                                  period="2021-01--2021-03", period_prev=None, change_abs=None))
    assert describe(row(area="Skärholmen", value=None, period="2021")) == "Uppgift saknas för Skärholmen under 2021."


def test_period_phrases():
    assert period_phrase("2021-01--2021-03") == "under januari–mars 2021"
    assert period_phrase("2021-T1") == "under tertial 1 2021"
    assert period_phrase("2022-12-31") == "den 31 december 2022"


def test_measure_titles_name_the_series_once():
    from amnstats.catalogue import SERIES_LABELS, measures
    from amnstats.ui.fmt import measure_title

    assert measure_title("feriejobb", "Feriejobb: anställda") == "Feriejobb: anställda"
    assert measure_title("kaa", "KAA: omfattade") == "Kommunala aktivitetsansvaret (KAA): omfattade"
    assert measure_title("jobbtorg", "Inskrivna unika individer") == "Jobbtorg Stockholm: Inskrivna unika individer"
    for (series, _), m in measures().items():  # no card or menu names a series twice
        title = measure_title(series, m.label_sv)
        rest = title.partition(": ")[2]  # what follows the series' name, when the title adds it
        assert not rest.lower().startswith(SERIES_LABELS[series].split()[0].lower()), title
        assert not rest.startswith("KAA:"), title


def test_texts_from_uploads_are_escaped_in_html():
    from streamlit.testing.v1 import AppTest

    from amnstats.ui.sentences import changes_html

    evil = "<img src=x onerror=alert(1)>"
    html_list = changes_html([row(group=evil, source_label="Uppladdad fil <b>x</b>.csv, rad 2")])
    # (the group's own parentheses are brackets inside the sentence's)
    assert "<img" not in html_list and "&lt;img src=x onerror=alert[1]&gt;" in html_list
    assert "&lt;b&gt;x&lt;/b&gt;" in html_list and html_list.startswith("<ul class='amn-changes'><li>")

    def one_panel():
        import altair as alt
        import polars as pl

        from amnstats.ui import panel
        from amnstats.ui.export import ExportTable

        frame = pl.DataFrame({"x": [1, 2], "y": [3, 4]})
        panel.show(panel.ChartSpec(
            id="test", title="Test", chart=alt.Chart(frame).mark_line().encode(x="x:Q", y="y:Q"),
            table=ExportTable("Test", frame, {}, ["test"]), sentence="Värdet i <img src=x onerror=alert(1)> var 3.",
            sources=["Uppladdad fil <b>x</b>.csv"]))

    at = AppTest.from_function(one_panel).run()
    assert not at.exception
    shown = [h.value for h in at.html if "amn-sentence" in h.value]
    assert shown == ["<p class='amn-sentence'>Värdet i &lt;img src=x onerror=alert(1)&gt; var 3.</p>"]


def test_source_lines_group_rows_per_document_and_count_them_in_swedish():
    import polars as pl

    from amnstats.ui.charts import sources_of

    labels = ([f"Uppladdad fil SYNTETISK.csv, rad {r}" for r in range(2, 1502)]
              + ["Verksamhetsberättelse 2023, rad 663", "Verksamhetsberättelse 2023, rad 677",
                 "Verksamhetsberättelse 2023, rad 663", "SCB, tabell X, hämtat 2024-01-05"])
    assert sources_of(pl.DataFrame({"source_label": labels})) == [
        "Uppladdad fil SYNTETISK.csv, rad 2–1501 (1\u00a0500 rader)",
        "Verksamhetsberättelse 2023, rad 663, 677",
        "SCB, tabell X, hämtat 2024-01-05",
    ]


def test_the_kaa_chain_sentence_keeps_the_abbreviation_in_capitals():
    from amnstats import store
    from amnstats.ui.charts import kaa_funnel

    spec = kaa_funnel(store.load_observations(), period="2022")
    assert spec.sentence.startswith("Inom det kommunala aktivitetsansvaret under 2022: omfattas av KAA 7\u00a0154, uppsökta")


def test_a_label_inside_a_sentence_keeps_a_leading_abbreviation():
    from amnstats.ui.fmt import lower_first

    assert lower_first("Omfattas av KAA") == "omfattas av KAA"
    assert lower_first("KAA: omfattade") == "KAA: omfattade"
    assert lower_first("UVAS") == "UVAS" and lower_first("X") == "x" and lower_first("") == ""


def test_local_time_is_stockholms_clock():
    from amnstats.ui.fmt import local_time

    assert local_time("2026-11-23T02:22:05+00:00") == "2026-11-23 03:22"  # winter: UTC+1
    assert local_time("2026-07-01T10:00:00+00:00") == "2026-07-01 12:00"  # summer: UTC+2
    assert local_time("2026-07-01T10:00:00") == "2026-07-01 12:00"  # a record without zone is UTC


def test_budgets_forecasts_and_targets_are_not_written_as_outcomes():
    plats = row(series="sfi", measure="helarsplatser", group="reguljär sfi", period="2026", value=5800.0,
                period_prev=None, change_abs=None)
    assert describe(plats | {"kind": "budget"}) == ("Budgeten för antalet helårsplatser i sfi (reguljär sfi) "
                                                    "i Stockholm är 5\u00a0800 för 2026.")
    assert describe(plats | {"kind": "prognos"}) == ("Antalet helårsplatser i sfi (reguljär sfi) i Stockholm "
                                                     "beräknas till 5\u00a0800 för 2026.")
    goal = row(series="jobbtorg", measure="avslut_arbete_andel", period="2024", value=45.0, kind="målvärde",
               target_setter="nämnden", period_prev="2023", change_abs=2.0)
    assert describe(goal) == ("Nämndens mål för andelen avslut till arbete i Stockholm är 45,0\u00a0% för 2024, "
                              "2,0 procentenheter högre än målet för 2023.")
    assert describe(goal | {"target_setter": "kf"}).startswith("KF:s mål för andelen")
    assert describe(row(kind="utfall")).startswith("Arbetslösheten i Stockholm var 5,3")


def test_women_and_men_together_in_one_sentence():
    from amnstats.ui.sentences import describe_genders

    women = row(series="jobbtorg", measure="avslut_arbete_andel", gender="kvinnor", period="2023", value=50.4,
                period_prev="2022", value_prev=52.9, change_abs=-2.5)
    men = women | {"gender": "män", "value": 60.6, "value_prev": 56.6, "change_abs": 4.0, "status_prev": "approximate"}
    assert describe_genders(women, men) == (
        "Andelen avslut till arbete i Stockholm var 50,4\u00a0% bland kvinnor och 60,6\u00a0% bland män under 2023. "
        "Under 2022 var motsvarande värden 52,9\u00a0% och cirka 56,6\u00a0%.")
    assert describe_genders(women | {"value_prev": None}, men | {"value_prev": None}).endswith("bland män under 2023.")


def test_area_names_inside_a_sentence():
    from amnstats.ui.sentences import area_name, names

    assert describe(row(area="Riket")).startswith("Arbetslösheten i riket var")
    assert area_name("Stockholms län") == "Stockholms län" and area_name("Bromma") == "Bromma"
    assert names(["A"]) == "A" and names(["A", "B"]) == "A och B" and names(["A", "B", "C"]) == "A, B och C"
    assert names(["A", "B", "C", "D"]) == "A, B, C med flera"


def test_subjects_read_as_report_swedish():
    from amnstats.catalogue import measures
    from amnstats.ui.sentences import _subjects, subject

    assert subject("stockholmsjobb", "arbete_studier_andel") == ("Andelen i arbete eller studier efter avslutat "
                                                                 "Stockholmsjobb")
    s = describe(row(series="stockholmsjobb", measure="arbete_studier_andel", group="kombinerat med yrkeskurs",
                     period="2020", value=31.0, period_prev=None, change_abs=None))
    assert s == ("Andelen i arbete eller studier efter avslutat Stockholmsjobb (kombinerat med yrkeskurs) i Stockholm "
                 "var 31,0\u00a0% under 2020.")
    assert subject("uvas", "inskrivna") == ("Antalet unga som nåtts av uppsökande verksamhet och skrivits in "
                                            "på Jobbtorg")
    for key, text in _subjects().items():
        assert key in measures(), key  # a subject for a measure the catalogue does not have is a typo
        assert not re.search(r":\s", text) and text[0].isupper() and not text[1].isupper(), text
        assert not text.startswith("Värdet för"), text


def test_a_label_without_a_subject_is_quoted_whole_when_it_has_a_colon():
    from amnstats.ui import sentences

    assert sentences._fallback_noun("uvas", "andel_av_nadda") == "måttet ”Uppsök: andel av nådda (efter kön)”"
    assert sentences._fallback_noun("indicator", "sjukfranvaro") == "sjukfrånvaro"


def test_a_figure_that_is_itself_a_change_is_not_compared_with_a_year_earlier():
    # "Minskningen ... var cirka 1 000 under 2023, 8 000 färre än 2022" compared two decreases
    s = describe(row(series="komvux", measure="elever_minskning", period="2023", period_prev="2022",
                     value=1000.0, value_prev=9000.0, change_abs=-8000.0, change_pct=-88.9, status="approximate"))
    assert s == "Minskningen på ett år av antalet elever i komvux i Stockholm var cirka 1\u00a0000 under 2023.", s


def test_a_group_with_parentheses_is_bracketed_inside_the_sentence():
    s = describe(row(series="sfi", measure="elever", group="utbildningsplikt (Sfi med yrkesinfärgning)",
                     period="2024", period_prev=None, change_abs=None, value=120.0))
    assert "(utbildningsplikt [Sfi med yrkesinfärgning])" in s, s
    assert s.count("(") == s.count(")") == 1, s


def test_a_change_from_an_approximate_figure_is_rounded_and_said_to_be_approximate():
    # Verksamhetsplan 2026: "Drygt 8 500 personer är inskrivna" against 6 412 a year earlier
    s = describe(row(series="jobbtorg", measure="inskrivna_unika", period="2024", period_prev="2023",
                     value=8500.0, value_prev=6412.0, change_abs=2088.0, change_pct=32.6, status="approximate"))
    assert s.endswith("var cirka 8\u00a0500 under 2024, cirka 2\u00a0100 fler än 2023."), s
    s = describe(row(value=5.0, value_prev=4.6, change_abs=0.4, status="approximate"))
    assert s.endswith(", cirka 0,4 procentenheter högre än ett år tidigare."), s


def test_a_card_delta_from_an_approximate_figure_is_rounded():
    from amnstats.ui.fmt import change_text

    assert change_text(2088.0, 32.6, "antal", 0, approximate=True) == "cirka +2\u00a0100"
    assert change_text(-363.0, -9.1, "antal", 0, approximate=True) == "cirka −360"
    assert change_text(0.4, None, "procentenheter", 1, approximate=True) == "cirka +0,4 procentenheter"
    assert change_text(2088.0, 32.6, "antal", 0) == "+2\u00a0088 (+32,6 %)"
