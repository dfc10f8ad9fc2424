"""The presenter's chosen charts as one PowerPoint file: one chart per slide with its
title, sentence and source, 16:9, ready for the nämnd meeting."""

from __future__ import annotations

import io
from dataclasses import dataclass

from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.util import Emu, Inches, Pt


@dataclass(frozen=True)
class Slide:
    title: str
    png: bytes
    sentence: str
    source: str
    notes: tuple[str, ...] = ()  # what the page writes under the chart: a series break, districts reported jointly


def _text(slide, left, top, width, height, text, size, bold=False, color=(0x1B, 0x1B, 0x1B)):
    box = slide.shapes.add_textbox(left, top, width, height)
    frame = box.text_frame
    frame.word_wrap = True
    p = frame.paragraphs[0]
    p.text = text
    p.font.size = Pt(size)
    p.font.bold = bold
    p.font.color.rgb = RGBColor(*color)
    return box


def build_pack(slides: list[Slide], title: str = "Arbetsmarknadsnämnden – statistik") -> bytes:
    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    blank = prs.slide_layouts[6]
    cover = prs.slides.add_slide(blank)
    _text(cover, Inches(0.8), Inches(2.6), Inches(11.7), Inches(1.2), title, 40, bold=True)
    _text(cover, Inches(0.8), Inches(3.8), Inches(11.7), Inches(0.8),
          f"{len(slides)} diagram från amnstats", 20, color=(0x55, 0x55, 0x55))
    for s in slides:
        slide = prs.slides.add_slide(blank)
        _text(slide, Inches(0.5), Inches(0.3), Inches(12.3), Inches(0.9), s.title, 30, bold=True)
        notes = " ".join(s.notes)
        pic_top, max_w, max_h = Inches(1.25), Inches(12.3), Inches(4.2 if notes else 4.6)
        pic = slide.shapes.add_picture(io.BytesIO(s.png), Inches(0.5), pic_top)
        ratio = min(max_w / pic.width, max_h / pic.height)
        pic.width, pic.height = Emu(int(pic.width * ratio)), Emu(int(pic.height * ratio))
        pic.left = Emu(int((prs.slide_width - pic.width) / 2))
        _text(slide, Inches(0.5), Inches(5.6 if notes else 6.0), Inches(12.3), Inches(0.8), s.sentence, 18)
        if notes:
            _text(slide, Inches(0.5), Inches(6.35), Inches(12.3), Inches(0.5), notes, 13, color=(0x55, 0x55, 0x55))
        _text(slide, Inches(0.5), Inches(6.85), Inches(12.3), Inches(0.5), f"Källa: {s.source}", 12,
              color=(0x55, 0x55, 0x55))
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()
