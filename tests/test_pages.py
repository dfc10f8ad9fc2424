"""Every page with the embedded data: renders, shows the store's figures, filters change what is
shown, a link with query parameters restores the view."""

from __future__ import annotations

import polars as pl
import pytest

from amnstats import store
from amnstats.numbers import format_number
from apptest_helpers import PAGES, capture_downloads, html_tables, run_page, sentences


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_error(page):
    at = run_page(page)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title


@pytest.mark.parametrize("page", [p for p in PAGES if p not in ("presentation", "data", "om-data", "mal")])
def test_every_chart_has_a_source_and_a_sentence(page):
    at = run_page(page)
    n_charts = len([s for s in at.subheader])
    sources = [c.value for c in at.caption if c.value.startswith("Källa:")]
    assert len(sources) >= 1
    assert len(sentences(at)) >= 1
    assert all(len(s) > 20 and s.endswith(".") for s in sentences(at))
    assert n_charts >= 1


def test_jobbtorg_default_is_the_latest_full_table_and_matches_the_store():
    at = run_page("jobbtorg")
    assert at.selectbox(key="period").value == "2023"
    assert at.subheader[0].value == "Inskrivna per målgrupp och kön, 2023"
    obs = store.load_observations(preferred_only=True)
    top = obs.filter(pl.col("series") == "jobbtorg", pl.col("measure") == "inskrivna", pl.col("period") == "2023",
                     pl.col("gender") == "totalt", pl.col("group") != "").sort("value", descending=True).row(0, named=True)
    assert f"högst för {top['group']} ({format_number(top['value'], 0)})" in sentences(at)[0]


def test_changing_a_filter_changes_the_chart():
    at = run_page("jobbtorg")
    before = sentences(at)[0]
    at.selectbox(key="period").set_value("2022").run()
    assert at.subheader[0].value == "Inskrivna per målgrupp och kön, 2022"
    assert sentences(at)[0] != before
    assert "(3 229)" in sentences(at)[0].replace("\u00a0", " ")  # Försörjningsstöd 2022, 002 line 668


@pytest.mark.parametrize(
    "page,query,key,expected_title",
    [
        ("jobbtorg", {"period": "2022"}, "period", "Inskrivna per målgrupp och kön, 2022"),
        ("arbetsloshet", {"omrade": "Stockholms län"}, "omrade", "Arbetslöshet per månad, Stockholms län, 20-64 år"),
        # bound select boxes keep the Swedish label in the link
        ("stadsdelar", {"matt": "Feriejobb: anställda", "period": "2022"}, "matt",
         "Feriejobb: anställda per stadsdelsområde, 2022"),
    ],
)
def test_a_link_restores_the_view(page, query, key, expected_title):
    at = run_page(page, query=query)
    assert at.selectbox(key=key).format_func(at.selectbox(key=key).value) == query[key]
    assert expected_title in [s.value for s in at.subheader]


def test_district_profile_compares_with_the_city(monkeypatch):
    files = capture_downloads(monkeypatch)
    at = run_page("stadsdelar", query={"stadsdel": "Skärholmen"})
    table = next(t for t in html_tables(at) if "Hela staden" in t.columns)
    assert "Skärholmen" in table.columns
    row = table[table["Mått"].str.startswith("Feriejobb: anställda")].iloc[0]
    assert row["Skärholmen"].replace("\u00a0", " ") == "776"  # 003 line 2136
    assert row["Rang"].endswith("av 13")
    # the same table as a file: title, the rows as shown, the sources of its rows
    text = files["stadsdelsomrade-skärholmen.csv"].decode("utf-8-sig").splitlines()
    assert text[:2] == ["Skärholmen jämfört med hela staden", "Mått;Period;Skärholmen;Rang;Hela staden;Källa"]
    assert "Feriejobb: anställda;2022;776;6 av 13;9\u00a0527;Arbetsmarknadsrapport 2022, rad 2136" in text
    assert "Källa: Arbetsmarknadsrapport 2022, rad 2136" in text


def test_unemployment_sentence_matches_the_figures():
    at = run_page("arbetsloshet")
    obs = store.load_observations(preferred_only=True).filter(
        pl.col("measure") == "arbetsloshet_bas", pl.col("area") == "Stockholm", pl.col("gender") == "totalt",
        pl.col("group") == "20-64 år").sort("period_start")
    last, year_before = obs["value"][-1], obs["value"][-13]
    s = sentences(at)[0]
    assert format_number(last, 1, "procent") in s
    assert f"{format_number(abs(last - year_before), 1)} procentenheter {'högre' if last > year_before else 'lägre'}" in s


def test_empty_selection_is_explained_in_words():
    at = run_page("jobbtorg", query={"periodtyp": "months", "period": "2021-01--2021-03", "malgrupp": "Stockholmsjobb"})
    assert not at.exception
    infos = [i.value for i in at.info]
    # every chart either draws or says in Swedish why not
    assert all(i.startswith("Inga ") for i in infos)


def test_presentation_mode_has_exit_and_large_layout():
    # the start page: AppTest drops app.py's own elements after switch_page (the browser tests cover that)
    at = run_page(None, query={"presentation": "true"})
    assert at.session_state["presentation"] is True
    assert any(b.label == "Avsluta presentationsläget" for b in at.button)
    hidden = '[data-testid="stHeader"], [data-testid="stDecoration"], footer { display: none'
    assert any(hidden in h.value for h in at.html)  # header and toolbar hidden
    assert [t.key for t in at.toggle] == ["presentation"], "no 'ta med' toggles on a projected page"
    at.button(key="exit-presentation").click().run()
    assert at.session_state["presentation"] is False
    assert not any(hidden in h.value for h in at.html)


def test_slideshow_steps_through_chosen_charts():
    at = run_page("arbetsloshet")
    at.toggle(key="pick-arbetsloshet-bas").set_value(True).run()
    at.toggle(key="pick-arbetsloshet-stadsdelar").set_value(True).run()
    at.switch_page("pages/presentation.py").run()
    assert not at.exception
    assert at.subheader[0].value.startswith("Arbetslöshet per månad")
    at.button(key="next").click().run()
    assert at.subheader[0].value.startswith("Arbetslösa per stadsdelsområde")
    assert at.query_params["bild"] == ["2"] or at.query_params["bild"] == "2"
    shared = at.query_params["bildspel"]
    link = next(c.value for c in at.code if "bildspel=" in c.value)  # one click to copy (st.code's button)
    assert link.startswith("presentation?") and link.endswith("&presentation=true")
    from urllib.parse import parse_qs, urlsplit

    assert parse_qs(urlsplit(link).query)["bildspel"] == [shared if isinstance(shared, str) else shared[0]]
    # the copied link opens the same show in a new session
    fresh = run_page("presentation", query={"bildspel": shared if isinstance(shared, str) else shared[0], "bild": "2"})
    assert fresh.subheader[0].value.startswith("Arbetslösa per stadsdelsområde")


def test_a_chosen_chart_keeps_its_view_and_another_year_is_another_slide():
    at = run_page("jobbtorg")
    periods = at.selectbox(key="period").options
    assert len(periods) >= 2
    at.toggle(key="pick-jobbtorg-malgrupp").set_value(True).run()
    first_title = next(h.value for h in at.subheader if h.value.startswith("Inskrivna per målgrupp"))
    box = at.selectbox(key="period")
    box.set_value(next(o for o in box.options if o != box.value)).run()
    assert at.toggle(key="pick-jobbtorg-malgrupp").value is False  # the view now on screen is not chosen
    second_title = next(h.value for h in at.subheader if h.value.startswith("Inskrivna per målgrupp"))
    assert second_title != first_title
    at.toggle(key="pick-jobbtorg-malgrupp").set_value(True).run()
    at.switch_page("pages/presentation.py").run()
    assert not at.exception
    assert at.subheader[0].value == first_title  # the slide shows what was chosen, not what the page shows now
    at.button(key="next").click().run()
    assert at.subheader[0].value == second_title


def test_broken_slideshow_link_is_harmless():
    at = run_page("presentation", query={"bildspel": "not-base64!!"})
    assert not at.exception
    assert at.info and at.info[0].value.startswith("Inga diagram är valda")


def test_page_files_are_named_like_their_urls():
    # a deep link to a fresh server runs pages/<url>.py first (see amnstats/ui/frame.py):
    # the names must match, or users see "Page not found"
    from pathlib import Path

    from amnstats.ui import nav

    pages = [(Path(path).stem, url_path) for path, _title, _icon, url_path, _extra in nav.PAGES]
    # the default page is served at /, so it also has a hidden page of its own name (/oversikt)
    assert {f for f, _ in pages} == {p.stem for p in (Path(__file__).resolve().parents[1] / "pages").glob("*.py")}
    assert len(pages) == 12 and sum(f == u for f, u in pages) == 11, pages
    for f, _ in pages:
        text = (Path(__file__).resolve().parents[1] / "pages" / f"{f}.py").read_text(encoding="utf-8")
        assert "frame.ensure()" in text, f


def test_table_and_downloads_appear_when_the_table_view_is_opened():
    # the expander is lazy: closed, nothing of it is built; opened, the table and the four files
    at = run_page("jobbtorg")
    assert not at.get("download_button") and not at.dataframe
    at.session_state["table-jobbtorg-malgrupp"] = True  # what opening it in the browser sets
    at.run()
    assert not at.exception
    assert [b.label for b in at.get("download_button")] == ["PNG (bild)", "SVG (vektor)", "CSV", "Excel"]
    table = at.dataframe[0].value
    assert "Försörjningsstöd" in set(table["Grupp"])
    assert table["Källa"].str.startswith("Verksamhetsberättelse 2023").all()


def _page_functions_kept_by_widgets() -> list[str]:
    """Functions written in a page script (app.py, pages/*.py) that a widget's saved state keeps:
    its callback, or its format_func inside the widget's (de)serializer. Such a function keeps
    the page's variables, and with them the store's frames of the build it ran on, alive for as
    long as the session lives (a closed tab's for minutes more)."""
    import functools
    import gc
    from pathlib import Path

    from streamlit.runtime.state.common import WidgetMetadata

    from apptest_helpers import APP

    scripts = {str(Path(APP))} | {str(p) for p in (Path(APP).parent / "pages").glob("*.py")}
    found = []
    gc.collect()
    for md in (o for o in gc.get_objects() if isinstance(o, WidgetMetadata)):
        held = [md.callback, *(md.callbacks or {}).values()]
        for method in (md.deserializer, md.serializer):
            owner = getattr(method, "__self__", None)
            held += list(vars(owner).values()) if hasattr(owner, "__dict__") else []
        for fn in held:
            while isinstance(fn, functools.partial):
                fn = fn.func
            where = (getattr(fn, "__globals__", None) or {}).get("__file__")
            if where and str(Path(where).resolve()) in scripts:
                found.append(f"{md.id.rsplit('-', 1)[-1]}: {fn.__qualname__} ({Path(where).name})")
    return found


@pytest.mark.parametrize("page", PAGES)
def test_no_widget_keeps_a_function_written_in_the_page(page):
    at = run_page(page)
    if page == "arbetsloshet":  # the slideshow's buttons have callbacks
        at.toggle(key="pick-arbetsloshet-bas").set_value(True).run()
        at.switch_page("pages/presentation.py").run()
    assert not at.exception
    assert not _page_functions_kept_by_widgets()


def test_share_link_keeps_the_address_the_browser_shows():
    from amnstats.ui import presentation

    items = [{"id": "a~1", "title": "Arbetslöshet", "call": {"fn": "trend", "args": [], "kwargs": {}}}]
    link = presentation.share_link("https://amnstats.stockholm.se/app/presentation?bild=2", items)
    assert link == ("https://amnstats.stockholm.se/app/presentation?bildspel=" + presentation.encode(items)
                    + "&presentation=true")
    assert presentation.decode(presentation.encode(items)) == items


def test_the_indicator_search_narrows_the_indicator_to_show_too():
    at = run_page("mal")
    every = at.selectbox(key="indikator").options
    at.text_input(key="sok").set_value("sfi").run()
    assert not at.exception
    narrowed = at.selectbox(key="indikator").options
    assert narrowed and len(narrowed) < len(every) and all("sfi" in o.lower() for o in narrowed)
    assert "sfi" in at.subheader[0].value.lower() or any("sfi" in h.value.lower() for h in at.subheader)
    at.text_input(key="sok").set_value("finns inte").run()
    assert at.selectbox(key="indikator").options == every  # no match: every indicator, not an empty box


def test_unga_keeps_the_chosen_gender_and_says_when_a_period_lacks_it():
    # 2022 reports KAA by gender; January–March 2021 only in total (Tertialrapport 1 2021)
    at = run_page("unga", query={"kaa_kon": "kvinnor"})
    assert at.selectbox(key="kaa_kon").value == "kvinnor" and not at.info
    women = sentences(at)[0]
    at.selectbox(key="kaa_period").set_value("2021-01--2021-03").run()
    assert at.selectbox(key="kaa_kon").value == "kvinnor"  # the link keeps what the user chose
    assert [i.value for i in at.info] == [
        "Källan redovisar inte KAA-kedjan för jan–mar 2021 för kvinnor; här visas totalt."]
    assert "3\u00a0326" in sentences(at)[0]  # totalt, Tertialrapport 1 2021
    at.selectbox(key="kaa_period").set_value("2022").run()
    assert not at.info and sentences(at)[0] == women


def test_mal_table_writes_targets_as_set_and_can_be_downloaded():
    at = run_page("mal")
    assert not at.exception
    table = html_tables(at)[0]
    row = table[table["Indikator"].str.startswith("Andel aspiranter")].iloc[0]
    # Verksamhetsberättelse 2023, line 591: outcome 75,02 %, target 72 %
    assert (row["Utfall"], row["Nämndens mål"]) == ("75,02\u00a0%", "72\u00a0%")
    # Verksamhetsberättelse 2023, line 967: each figure with the decimals the report prints
    row = table[table["Indikator"].str.startswith("Andel kvinnor och män som har avslutats från Jobbtorg")].iloc[0]
    assert (row["Utfall"], row["Kvinnor"], row["Män"], row["Nämndens mål"]) == (
        "73,8\u00a0%", "71,38\u00a0%", "75,53\u00a0%", "60\u00a0%")
    # Verksamhetsberättelse 2023, line 607: 0 against KF:s 11 000, while the text says over 11 000
    row = table[table["Indikator"] == "Antal ungdomar som fått feriejobb i stadens regi"].iloc[0]
    assert row["Bedömning"] == "ej bedömd: källan motsäger sig själv (se Om data)"
    assert (table["Bedömning"] == "uppfyllt").sum() >= 10  # the others are judged as before
    # its other lines (a rounding in the text, 73,8 % written 'strax under 74 procent') are judged
    assert (table["Bedömning"].str.startswith("ej bedömd")).sum() == 1
    row = table[table["Indikator"] == "Aktivt Medskapandeindex"].iloc[0]
    assert (row["Utfall"], row["Nämndens mål"], row["Bedömning"]) == ("82", "83", "delvis uppfyllt")
    # Tertialrapport 1 2021: a tertial's outcome beside the year's target, said to be the year's
    row = table[table["Indikator"] == "Antal matchade par inom mentorskapsprogrammen"].iloc[0]
    assert (row["Period"], row["Utfall"], row["Nämndens mål"], row["Bedömning"]) == ("T1 2021", "80", "250 (årsmål 2021)", "–")
    button = next(b for b in at.get("download_button") if "tabellen" in b.proto.label)
    assert button.proto.label == "Ladda ned tabellen (CSV)"


def test_data_page_writes_status_and_missing_values_in_swedish():
    at = run_page("data", query={"serie": "Stadsdelarnas arbetsmarknadsinsatser", "kon": "kvinnor"})
    assert not at.exception
    table = at.dataframe[0].value
    assert set(table["Status"]) <= {"", "ungefärligt", "skyddat", "saknas"} and "saknas" in set(table["Status"])
    missing = table[table["Status"] == "saknas"]
    assert set(missing["Värde"]) == {"–"}  # the source gives no figure: not '..', which is a secret one


def test_biggest_changes_leave_out_figures_that_are_changes_themselves():
    at = run_page("oversikt")
    changes = next(h.value for h in at.html if "amn-changes" in h.value)
    assert changes.count("<li>") == 6
    # 'Minskningen … 8 000 färre än 2022' compared two decreases (002 line 773, 003 line 1735)
    assert "Minskningen" not in changes and "Ökningen" not in changes


def test_a_single_period_note_says_when_other_kinds_of_period_exist():
    # Elever i komvux: 2024 as a year, and January–March 2021 (Tertialrapport 1 2021)
    at = run_page("vuxenutbildning")
    notes = [c.value for c in at.caption if "Bara en period" in c.value]
    assert any("av typen helår" in n and "del av år" in n and "Data och källor" in n for n in notes), notes


def test_jobbtorg_says_when_a_year_has_no_table_of_every_malgrupp():
    at = run_page("jobbtorg", query={"period": "2024"})
    # Verksamhetsplan 2026 line 128 names Försörjningsstöd ("drygt 3 600 … per år"); there is no table for 2024
    assert [i.value for i in at.info] == [
        "För 2024 finns ingen tabell över alla målgrupper; källan nämner bara Försörjningsstöd."]
    at.selectbox(key="period").set_value("2023").run()
    assert not at.info


def test_kaa_chain_names_a_stage_the_source_does_not_give():
    # Arbetsmarknadsrapport 2022 by gender: omfattas and nådda only
    at = run_page("unga", query={"kaa_kon": "kvinnor"})
    notes = [c.value for c in at.caption if c.value.startswith("Källan redovisar inte")]
    assert notes == ["Källan redovisar inte uppsökta, fått stöd och avslutade för 2022 bland kvinnor."], notes
    at.selectbox(key="kaa_kon").set_value("totalt").run()
    assert not [c.value for c in at.caption if c.value.startswith("Källan redovisar inte")]


def test_a_target_chart_names_an_outcome_the_report_contradicts_and_the_note_goes_onto_its_slide():
    at = run_page("mal", query={"indikator": "Antal ungdomar som fått feriejobb i stadens regi"})
    note = "Utfallet 2023 (0) motsägs av rapportens egen text och bedöms inte mot målet (se Om data)."
    assert note in [c.value for c in at.caption]
    from amnstats import store
    from amnstats.ui import charts, state

    obs = store.load_observations(preferred_only=True)
    spec = charts.targets(obs, "antal_ungdomar_fatt_feriejobb_i_stadens_regi", doubtful=state.doubtful_sources())
    assert note in charts.rebuild(obs, spec.call).notes  # what a slide link rebuilds


def test_a_chart_with_many_bars_fits_a_projected_slide():
    from amnstats import store
    from amnstats.ui import charts, panel, theme

    obs = store.load_observations(preferred_only=True)
    # the förvaltningar x kvinnor and män (Arbetsmarknadsrapport 2022, lines 2116-2146)
    many = charts.bars(obs, "feriejobb", "anstallda", by="area", period="2022", area=None, genders=("kvinnor", "män"),
                       area_types=("sdo", "other"))  # as Unga draws it
    assert many.bars_drawn == 2 * many.table.frame["Område"].n_unique() >= 30
    assert panel._vega(many, large=False)["height"] == {"step": 22, "for": "offset"}  # on screen: a height per bar
    assert panel._vega(many, large=True)["height"] == theme.SLIDE_CHART_HEIGHT  # projected: shared out
    few = charts.kaa_funnel(obs, period="2022")
    assert panel._vega(few, large=True)["height"] != theme.SLIDE_CHART_HEIGHT
    small = charts.bars(obs, "jobbtorg", "inskrivna", by="group", period="2023", genders=("totalt",))
    assert isinstance(panel._vega(small, large=True)["height"], dict)  # few bars keep their own height


def test_an_indicator_sentence_writes_its_figures_as_the_report_prints_them():
    # Verksamhetsberättelse 2023, line 960: 78,9 % against nämndens mål 72 % (not 72,0 %)
    at = run_page("jobbtorg", query={"indikator": "andel_18_29_avslutade_jobbtorg_till_arbete_studier"})
    assert "Utfallet 2023 var 78,9\u00a0% mot nämndens mål 72\u00a0%." in sentences(at)


def test_jobbtorg_2023_by_gender_says_it_covers_part_of_the_year():
    at = run_page("jobbtorg")  # 2023, the VERA year (Verksamhetsberättelse 2023)
    captions = [c.value for c in at.caption]
    note = "Jobbtorg bytte verksamhetssystem till VERA 2023; könsuppdelad statistik för 2023 omfattar bara en del av året."
    assert note in captions  # under the bars (the line charts say 'Brott i serien: …')
    at.selectbox(key="period").set_value("2022").run()
    # the målgrupp bars for 2022 no longer carry it (other 2023 charts on the page still do)
    assert [c.value for c in at.caption].count(note) == captions.count(note) - 1


def test_mal_table_is_in_alphabetical_order():
    names = list(html_tables(run_page("mal"))[0]["Indikator"])
    key = [n.lower().translate({ord("å"): "{", ord("ä"): "|", ord("ö"): "}"}) for n in names]
    assert key == sorted(key) and len(names) > 20
