"""The chart palette against the white chart background, by the WCAG 2.1 contrast formula: colours
that draw text need 4.5:1, colours that only draw lines, bars and symbols 3:1 (non-text contrast).
Every colour here is used for value labels or legend text too, so all of them need 4.5:1."""

from __future__ import annotations

import pytest

from amnstats.ui import theme

BACKGROUND = "#ffffff"


def luminance(colour: str) -> float:
    h = colour.lstrip("#")
    channels = [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_the_formula():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#ffffff", "#ffffff") == pytest.approx(1.0)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize("name,colour", [("TEXT", theme.TEXT), ("MUTED", theme.MUTED)])
def test_text_colours(name, colour):
    assert contrast(colour, BACKGROUND) >= 4.5, f"{name} {colour}: {contrast(colour, BACKGROUND):.2f}:1"


@pytest.mark.parametrize("colour", theme.PALETTE)
def test_palette_colours_read_as_text_and_lines(colour):
    assert contrast(colour, BACKGROUND) >= 4.5, f"{colour}: {contrast(colour, BACKGROUND):.2f}:1"


@pytest.mark.parametrize("gender,colour", list(theme.GENDER_COLORS.items()))
def test_gender_colours_read_as_text_and_lines(gender, colour):
    assert contrast(colour, BACKGROUND) >= 4.5, f"{gender} {colour}: {contrast(colour, BACKGROUND):.2f}:1"


def test_chart_background_is_the_one_tested():
    assert theme.config()["background"] == BACKGROUND
