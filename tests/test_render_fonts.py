"""Class names in any script: covering fonts, display order, one warning for what no font has."""

from __future__ import annotations

import dataclasses
import logging
import re
import warnings

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.ft2font import FT2Font  # noqa: E402

from classsim_spark.analysis import analyze  # noqa: E402
from classsim_spark.cli import main  # noqa: E402
from classsim_spark.demo.generator import DemoSpec, generate  # noqa: E402
from classsim_spark.demo.reference import numpy_results  # noqa: E402
from classsim_spark.render import fonts  # noqa: E402
from classsim_spark.render.heatmap import shorten  # noqa: E402

CJK = ["猫", "犬", "ひらがな", "カタカナ", "한국어"]
RTL = ["שלום (hi)", "مرحبا"]
EMOJI = ["🐈 cat", "♔ king"]
COMBINING = ["q\u0301", "e\u0301"]
LITERAL = ["a$x^2$", "c\\d", "<b>&amp;", "'q\" t", "tab\there", "new\nline"]
NAMES = CJK + RTL + EMOJI + COMBINING + LITERAL


def _default_charmap() -> dict[int, int]:
    return FT2Font(font_manager.findfont(font_manager.FontProperties())).get_charmap()


def _installed_cover(chars: str) -> bool:
    files = font_manager.findSystemFonts()
    for c in chars:
        if not any(ord(c) in FT2Font(f).get_charmap() for f in files if not f.endswith(".afm")):
            return False
    return True


def _beyond_default(texts) -> set[str]:
    default = _default_charmap()
    return {
        c for t in texts for c in fonts.display_text(t) if not c.isspace() and ord(c) not in default
    }


needs_fonts = pytest.mark.skipif(
    not _installed_cover("".join(_beyond_default(NAMES))),
    reason="no installed font covers the CJK and emoji test names (Debian: apt-get install "
    "fonts-wqy-microhei fonts-symbola; `make test` installs them where it can)",
)


@pytest.fixture
def fresh_warnings(monkeypatch):
    """A process that has named no missing characters yet, and warning filters restored after."""
    monkeypatch.setattr(fonts, "_warned", set())
    with warnings.catch_warnings():
        yield


def test_display_text_orders_and_composes():
    assert fonts.display_text("e\u0301") == "\u00e9"  # composed
    assert fonts.display_text("abc (x)") == "abc (x)"
    # Right to left: the Hebrew word reversed, the Latin run kept, brackets mirrored.
    assert fonts.display_text("שלום (hi)") == "(hi) םולש"
    shaped = fonts.display_text("مرحبا")
    assert len(shaped) == 5 and all(0xFE70 <= ord(c) <= 0xFEFF for c in shaped)
    assert fonts.label_text("tab\there\nnew  line") == "tab here new line"
    assert shorten("שלום", 8.0) == "םולש"


def test_default_font_needs_no_fallback_for_latin_greek_hebrew_arabic(fresh_warnings):
    choice = fonts.covering_fonts(["cat", "ünï", "Ωμέγα", "Москва", *RTL, *COMBINING, *LITERAL])
    assert choice == fonts.FontChoice((), "")


def test_characters_no_font_has_are_named_once(fresh_warnings, caplog):
    default_file = font_manager.findfont(font_manager.FontProperties())
    with caplog.at_level(logging.WARNING, logger=fonts.__name__):
        choice = fonts.covering_fonts(["猫 cat", "犬", "🐈"], font_files=[default_file])
        again = fonts.covering_fonts(["猫", "犬"], font_files=[default_file])
    assert choice.fallbacks == () and set(choice.missing) == {"猫", "犬", "🐈"}
    assert again.missing == "犬猫"
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 1, warned
    for part in ("U+732B", "U+72AC", "U+1F408", "fonts-noto-cjk", "fonts-symbola", "boxes"):
        assert part in warned[0]
    assert fonts.warned_characters() == "".join(sorted("猫犬🐈"))


@needs_fonts
def test_installed_fonts_cover_every_script(fresh_warnings, caplog):
    with caplog.at_level(logging.WARNING, logger=fonts.__name__):
        choice = fonts.covering_fonts(NAMES)
    assert choice.missing == "" and choice.fallbacks, choice
    assert not caplog.records
    for family in choice.fallbacks:  # each fallback is a family matplotlib resolves
        path = font_manager.findfont(
            font_manager.FontProperties(family=family), fallback_to_default=False
        )
        assert _beyond_default(NAMES) & {chr(c) for c in FT2Font(path).get_charmap()}


def _glyph_ids(svg: str) -> set[str]:
    return set(re.findall(r'<path id="([^"]+)"', svg))


@needs_fonts
def test_figures_draw_every_script_with_a_covering_font(tmp_path, fresh_warnings):
    spec = DemoSpec(samples=2000, classes=len(NAMES), top_groups=3, mid_groups=5, seed=2)
    data = generate(spec)
    taxonomy = data.taxonomy.assign(name=NAMES)
    taxonomy["level1"] = taxonomy["level1"].map(
        dict(zip(sorted(taxonomy["level1"].unique()), ["動物", "חיות", "🐾 pets"], strict=True))
    )
    path, classes = numpy_results(
        dataclasses.replace(data, taxonomy=taxonomy), tmp_path, ("logit", "rank")
    )
    analyze(path, taxonomy=classes, taxonomy_levels="level1,level2")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["render", str(path)]) == 0
    glyph_warnings = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert glyph_warnings == []
    figures = sorted(p.name for p in (path / "figures").iterdir())
    assert figures == sorted(
        f"{n}.{s}"
        for n in ("similarity", "similarity-taxonomy", "distributions", "frequencies", "confusion")
        for s in ("png", "svg")
    )
    # Each character the default font lacks is drawn from a font that has it: the SVG defines
    # its glyph under that font's PostScript name and the glyph's index in that font.
    svg = _glyph_ids((path / "figures" / "similarity.svg").read_text(encoding="utf-8"))
    files = [f for f in font_manager.findSystemFonts() if not f.endswith(".afm")]
    for c in sorted(_beyond_default(NAMES)):
        drawn = [
            f
            for f in files
            if ord(c) in FT2Font(f).get_charmap()
            and f"{FT2Font(f).postscript_name}-{FT2Font(f).get_charmap()[ord(c)]:x}" in svg
        ]
        assert drawn, f"{c!r} U+{ord(c):04X} not drawn from a font that has it"
    # The default font draws the rest, literal markup included (no mathtext, no TeX).
    default = _default_charmap()
    for c in "$\\<&'\"x^2":
        assert f"DejaVuSans-{default[ord(c)]:x}" in svg, c
