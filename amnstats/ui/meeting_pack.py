"""The presenter's chosen charts as one PowerPoint file: one chart per slide with its
title, sentence and source, 16:9, ready for the nämnd meeting."""

from __future__ import annotations

import io
import math
import textwrap
from dataclasses import dataclass

from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.text import MSO_AUTO_SIZE, MSO_ANCHOR
from pptx.util import Emu, Inches, Pt

SLIDE_W, SLIDE_H = 13.333, 7.5  # inches, 16:9
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 0.5, 0.3, 0.15
BOX_W = 12.3
GAP = 0.1  # between stacked shapes
INSET_X, INSET_Y = 0.1, 0.05  # text box insets, set explicitly so the height estimate matches them
LINE_SPACING = 1.25  # × font size; a little above Calibri's 1.22 so the estimate errs on the tall side
# average glyph width × font size, as python-pptx cannot measure text: DejaVu Sans, which LibreOffice shows in place
# of Calibri when Carlito is missing, measures 0.53 (bold 0.59) and wrapped a 5-line estimate at 0.5 onto 6 lines
GLYPH, GLYPH_BOLD = 0.55, 0.6
TITLE_SIZES = (30, 28, 26, 24, 22)  # shrink the title until it fits on two lines
BODY_SIZES = ((18, 13, 12), (16, 12, 11), (14, 11, 10))  # sentence, notes, source; smaller only to give the chart room
MIN_PICTURE_H = 2.5  # below this the body text shrinks to give the chart room
GREY, INK = (0x55, 0x55, 0x55), (0x1B, 0x1B, 0x1B)


@dataclass(frozen=True)
class Slide:
    title: str
    png: bytes
    sentence: str
    source: str
    notes: tuple[str, ...] = ()  # what the page writes under the chart: a series break, districts reported jointly


def _line_count(text: str, size: float, width: float = BOX_W, bold: bool = False) -> int:
    """Lines `text` needs at `size` pt in a box `width` in wide: greedy word wrap (textwrap, as the
    chart images' captions) on an estimated characters-per-line; a word longer than a line is broken."""
    per_line = max(1, int((width - 2 * INSET_X) * 72 / ((GLYPH_BOLD if bold else GLYPH) * size)))
    return sum(max(1, len(textwrap.wrap(para, per_line, break_on_hyphens=False))) for para in text.split("\n"))


def _box_height(text: str, size: float, bold: bool = False) -> float:
    return _line_count(text, size, bold=bold) * size * LINE_SPACING / 72 + 2 * INSET_Y


def _text(slide, left, top, width, height, text, size, bold=False, color=INK):
    box = slide.shapes.add_textbox(left, top, width, height)
    frame = box.text_frame
    frame.word_wrap = True
    frame.auto_size = MSO_AUTO_SIZE.NONE  # keep the computed height; autofit would let a box grow into the next
    frame.vertical_anchor = MSO_ANCHOR.TOP
    frame.margin_left = frame.margin_right = Inches(INSET_X)
    frame.margin_top = frame.margin_bottom = Inches(INSET_Y)
    p = frame.paragraphs[0]
    p.text = text
    p.font.size = Pt(size)
    p.font.bold = bold
    p.font.color.rgb = RGBColor(*color)
    return box


def _chart_slide(prs, blank, s: Slide) -> None:
    """Stack from the edges inwards: title at the top; source, notes and sentence up from the bottom;
    the chart gets the space left between them, so nothing overlaps whatever the text lengths."""
    slide = prs.slides.add_slide(blank)
    left, width = Inches(MARGIN_X), Inches(BOX_W)
    title_size = next((z for z in TITLE_SIZES if _line_count(s.title, z, bold=True) <= 2), TITLE_SIZES[-1])
    title_h = _box_height(s.title, title_size, bold=True)
    picture_top = MARGIN_TOP + title_h + GAP
    notes = " ".join(s.notes)
    source = f"Källa: {s.source}"
    for sentence_size, notes_size, source_size in BODY_SIZES:
        source_h = _box_height(source, source_size)
        notes_h = _box_height(notes, notes_size) if notes else 0.0
        sentence_h = _box_height(s.sentence, sentence_size)
        source_top = SLIDE_H - MARGIN_BOTTOM - source_h
        notes_top = source_top - (notes_h + GAP if notes else 0.0)
        sentence_top = notes_top - GAP - sentence_h
        if sentence_top - GAP - picture_top >= MIN_PICTURE_H:
            break
    _text(slide, left, Inches(MARGIN_TOP), width, Inches(title_h), s.title, title_size, bold=True)

    space_h = max(sentence_top - GAP - picture_top, 0.1)
    pic = slide.shapes.add_picture(io.BytesIO(s.png), left, Inches(picture_top))
    ratio = min(Inches(BOX_W) / pic.width, Inches(space_h) / pic.height)  # fit the space, keep the aspect ratio
    pic.width, pic.height = Emu(math.floor(pic.width * ratio)), Emu(math.floor(pic.height * ratio))
    pic.left = Emu((prs.slide_width - pic.width) // 2)
    pic.top = Emu(Inches(picture_top) + (Inches(space_h) - pic.height) // 2)

    _text(slide, left, Inches(sentence_top), width, Inches(sentence_h), s.sentence, sentence_size)
    if notes:
        _text(slide, left, Inches(notes_top), width, Inches(notes_h), notes, notes_size, color=GREY)
    _text(slide, left, Inches(source_top), width, Inches(source_h), source, source_size, color=GREY)


def build_pack(slides: list[Slide], title: str = "Arbetsmarknadsnämnden – statistik") -> bytes:
    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(SLIDE_W), Inches(SLIDE_H)
    blank = prs.slide_layouts[6]
    cover = prs.slides.add_slide(blank)
    _text(cover, Inches(0.8), Inches(2.6), Inches(11.7), Inches(1.2), title, 40, bold=True)
    _text(cover, Inches(0.8), Inches(3.8), Inches(11.7), Inches(0.8),
          f"{len(slides)} diagram från amnstats", 20, color=GREY)
    for s in slides:
        _chart_slide(prs, blank, s)
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()
