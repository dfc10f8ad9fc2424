"""Presentation: the charts the presenter chose, one per screen, stepped with the arrow keys,
and the same charts as one PowerPoint file for the nämnd meeting."""

from amnstats.ui import frame

frame.ensure()

import streamlit as st

from amnstats.ui import charts, export, panel, presentation, state, theme

# projected, a slide has the screen to itself: the page title is there for screen readers only
if presentation.is_on():
    st.html("<h1 class='amn-visually-hidden'>Presentation</h1>")
else:
    st.title("Presentation")
items = presentation.chosen()
obs = state.observations()

if not items:
    st.info("Inga diagram är valda ännu. Slå på **Ta med i presentationen** under de diagram du vill visa, "
            "på vilken sida som helst, och kom sedan tillbaka hit.")
    st.stop()

st.query_params["bildspel"] = presentation.encode(items)
n = len(items)
try:
    index = min(max(int(st.query_params.get("bild", "1")), 1), n) - 1
except ValueError:
    index = 0


c1, c2, c3 = st.columns([1, 2, 1], vertical_alignment="center")
c1.button("◀ Föregående", on_click=presentation.show_slide, args=(max(index, 1),), disabled=index == 0,
          shortcut="Left", key="prev", help="Kortkommando: vänsterpil")
c2.markdown(f"Bild {index + 1} av {n}", text_alignment="center")
c3.container(horizontal_alignment="right").button(
    "Nästa ▶", on_click=presentation.show_slide, args=(min(index + 2, n),), disabled=index == n - 1,
    shortcut="Right", key="next", help="Kortkommando: högerpil")  # at the right edge, mirroring Föregående

item = items[index]
if presentation.is_on():
    presentation.scroll_to_top(f"bild {index + 1} av {n}: {item['id']}")
try:
    spec = charts.rebuild(obs, item["call"])
except Exception:  # noqa: BLE001 - a stale or edited link must not crash the show
    st.warning(f"Diagrammet '{item['title']}' kan inte visas längre (uppgifterna har ändrats).")
else:
    panel.show(spec)

if not presentation.is_on():
    st.divider()
    st.subheader("Bildspelet")
    for i, it in enumerate(items, start=1):
        st.write(f"{i}. {it['title']}")
    st.subheader("Dela bildspelet")
    st.code(presentation.share_link(st.context.url, items), language=None, wrap_lines=True)
    st.caption("Kopiera länken med knappen i rutans hörn. Den öppnar samma bilder i presentationsläge, en bild per "
               "skärm i stor stil; Esc avslutar presentationsläget. Du kan också slå på Presentationsläge i sidomenyn.")

    def pack() -> bytes:
        from amnstats.ui import meeting_pack  # python-pptx: loaded when a pack is asked for

        slides = []
        for it in items:
            try:
                s = charts.rebuild(obs, it["call"])
            except Exception:  # noqa: BLE001
                continue
            if s.chart is None:
                continue
            slides.append(meeting_pack.Slide(title=s.title, png=export.chart_png(theme.apply(s.chart, large=True), 2),
                                             sentence=s.sentence, source=s.source_text, notes=tuple(s.notes)))
        return meeting_pack.build_pack(slides)

    st.download_button("Ladda ned som PowerPoint (mötespaket)", data=pack, file_name="amnstats-motespaket.pptx",
                       mime="application/vnd.openxmlformats-officedocument.presentationml.presentation",
                       key="pptx", on_click="ignore", type="primary")
