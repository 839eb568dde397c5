"""Fonts that draw every class name: matplotlib's font first, then installed fonts for the rest.

matplotlib's default font (DejaVu Sans) covers Latin, Greek, Cyrillic, Hebrew and Arabic, but not
Chinese, Japanese, Korean or emoji: such names come out as empty boxes. Before a figure is drawn,
:func:`covering_fonts` finds installed fonts that have the glyphs the default lacks (a greedy
cover over every font file on the machine, including fonts installed after matplotlib built its
font cache) and :func:`drawing_fonts` makes them matplotlib's fallback families while the figure's
text is created. Characters that no installed font has are named once per process in a warning
that says which package to install.

matplotlib draws text left to right without shaping, so :func:`display_text` puts right-to-left
names (Hebrew, Arabic) in visual order (``python-bidi``), joins Arabic letters into their
contextual forms (``arabic-reshaper``) and composes combining marks (NFC) first.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import matplotlib
import numpy as np
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable)

_GLYPH_WARNING = r"Glyph \d+ .* missing from font"
"""matplotlib's own per-glyph warning, silenced once :func:`covering_fonts` has named them."""

_warned: set[str] = set()
"""Characters already named in a warning by this process."""


@dataclass(frozen=True)
class FontChoice:
    """The fonts for a set of texts.

    Attributes
    ----------
    fallbacks : tuple of str
        Family names to try, in order, after matplotlib's own ``font.family`` (empty when the
        default font covers everything).
    missing : str
        The characters that no installed font covers (drawn as boxes), sorted.
    """

    fallbacks: tuple[str, ...] = ()
    missing: str = ""


def _drawn_characters(texts: Iterable[str]) -> set[str]:
    """The characters of ``texts`` that need a glyph: no spaces, controls or format marks."""
    chars = set()
    for text in texts:
        chars.update(display_text(text))
    return {c for c in chars if not c.isspace() and unicodedata.category(c)[0] not in "CZ"}


@functools.cache
def _charmap(path: str) -> frozenset[int] | None:
    """Code points that the font file draws; None for fonts matplotlib cannot scale (bitmap-only
    colour emoji) or read."""
    try:
        font = FT2Font(path)
        font.set_size(12, 72)
        return frozenset(font.get_charmap())
    except (OSError, RuntimeError, ValueError):
        return None


_NOT_FALLBACKS = ("cm", "lastresort")
"""Name prefixes of matplotlib's own fonts that must never stand in for a name's characters: the
TeX (Computer Modern) fonts map code points to other glyphs, and Last Resort draws a placeholder
for every character."""


@functools.cache
def _font_files() -> tuple[str, ...]:
    """Every font file matplotlib knows or the system lists, regular styles first."""
    files = {f.fname for f in font_manager.fontManager.ttflist}
    files.update(font_manager.findSystemFonts())
    files = {f for f in files if not f.rsplit("/", 1)[-1].lower().startswith(_NOT_FALLBACKS)}

    def plain(path: str) -> tuple[bool, bool, str]:
        name = path.rsplit("/", 1)[-1].lower()
        styled = any(s in name for s in ("bold", "italic", "oblique", "light", "thin", "black"))
        return styled, "sans" not in name, name

    return tuple(sorted((f for f in files if not f.lower().endswith(".afm")), key=plain))


def _family(path: str) -> str:
    """The family name matplotlib knows ``path`` by (its first face), registering the file if the
    font cache (built before the font was installed) lacks it."""

    def entries() -> list:
        return [e for e in font_manager.fontManager.ttflist if e.fname == path]

    if not entries():
        font_manager.fontManager.addfont(path)
    return min(entries(), key=lambda e: getattr(e, "index", 0)).name


def _default_font_file() -> str:
    return font_manager.findfont(font_manager.FontProperties())


def covering_fonts(texts: Iterable[str], font_files: Iterable[str] | None = None) -> FontChoice:
    """The installed fonts that draw ``texts`` where matplotlib's default font cannot.

    Parameters
    ----------
    texts : iterable of str
        Everything the figure will write (class names, taxonomy groups, titles).
    font_files : iterable of str, optional
        Candidate font files (default: every font on the machine).

    Returns
    -------
    FontChoice
        Fallback families, in the order a greedy cover picked them (most characters first), and
        the characters none of them has. The first time a character is missing, a warning names
        it and the package to install.

    Examples
    --------
    >>> covering_fonts(["cat", "dog"])
    FontChoice(fallbacks=(), missing='')
    """
    default = _charmap(_default_font_file()) or frozenset()
    need = {c for c in _drawn_characters(texts) if ord(c) not in default}
    fallbacks: list[str] = []
    if need:
        candidates = {f: _charmap(f) for f in (font_files or _font_files())}
        covers = {f: {c for c in need if ord(c) in cm} for f, cm in candidates.items() if cm}
        while need:
            best = max(covers, key=lambda f: len(covers[f] & need), default=None)
            if best is None or not covers[best] & need:
                break
            need -= covers.pop(best)
            family = _family(best)
            if family not in fallbacks:
                fallbacks.append(family)
        if fallbacks:
            log.info(
                "class names need fonts beyond %s: %s",
                font_manager.FontProperties(fname=_default_font_file()).get_name(),
                ", ".join(fallbacks),
            )
    choice = FontChoice(tuple(fallbacks), "".join(sorted(need)))
    _warn_missing(choice.missing)
    return choice


def _warn_missing(missing: str) -> None:
    new = [c for c in missing if c not in _warned]
    if not new:
        return
    _warned.update(new)
    shown = ", ".join(f"{c!r} U+{ord(c):04X}" for c in new[:8])
    more = f" and {len(new) - 8} more" if len(new) > 8 else ""
    log.warning(
        "%d character%s in the names ha%s no glyph in any installed font and "
        "will be drawn as boxes: %s%s. Install a font that has %s and draw again; on "
        "Debian or Ubuntu: apt-get install %s",
        len(new),
        "s" if len(new) > 1 else "",
        "ve" if len(new) > 1 else "s",
        shown,
        more,
        "them" if len(new) > 1 else "it",
        " ".join(_packages(new)),
    )
    warnings.filterwarnings("ignore", message=_GLYPH_WARNING)  # named above, once


def _packages(chars: Iterable[str]) -> list[str]:
    """Debian font packages likely to cover ``chars``."""
    packages = set()
    for c in chars:
        name = unicodedata.name(c, "")
        if any(s in name for s in ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO")):
            packages.add("fonts-noto-cjk")
        elif unicodedata.category(c) == "So" or ord(c) >= 0x1F000:
            packages.add("fonts-symbola")
        else:
            packages.add("fonts-noto-core")
    return sorted(packages)


def warned_characters() -> str:
    """The characters this process has named as having no font."""
    return "".join(sorted(_warned))


def mark_warned(chars: str) -> None:
    """Record ``chars`` as already named: figure processes started by a process that named them
    do not name them again."""
    _warned.update(chars)
    if chars:
        warnings.filterwarnings("ignore", message=_GLYPH_WARNING)


def _has_rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(c) in ("R", "AL") for c in text)


def display_text(text: str) -> str:
    """``text`` as matplotlib must be given it to show it right: combining marks composed,
    right-to-left runs in visual order, Arabic letters in their joined forms.

    >>> display_text("e\\u0301"), display_text("abc")
    ('é', 'abc')
    """
    text = unicodedata.normalize("NFC", str(text))
    if not _has_rtl(text):
        return text
    import arabic_reshaper
    from bidi.algorithm import get_display  # mirrors brackets; bidi.get_display does not

    return get_display(arabic_reshaper.reshape(text))


def label_text(text: str) -> str:
    """``text`` on one line (whitespace runs, tabs and newlines become one space) and in display
    order: how a name is written on an axis or in a title.

    >>> label_text("a\\tb\\nc")
    'a b c'
    """
    return display_text(" ".join(str(text).split()))


def strings_in(obj: object) -> Iterator[str]:
    """Every string held by ``obj``: dataclass fields, mappings, sequences and string arrays,
    recursively (the texts a figure layout can draw)."""
    if isinstance(obj, str):
        yield obj
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for field in dataclasses.fields(obj):
            yield from strings_in(getattr(obj, field.name))
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from strings_in(key)
            yield from strings_in(value)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for item in obj:
            yield from strings_in(item)
    elif isinstance(obj, np.ndarray) and obj.dtype.kind in "OU":
        for item in obj.ravel():
            yield from strings_in(item)


@contextlib.contextmanager
def drawing_fonts(texts: Iterable[str]) -> Iterator[FontChoice]:
    """Within the block, matplotlib falls back on fonts that cover ``texts``; text created here
    keeps them when the figure is saved later."""
    choice = covering_fonts(texts)
    if not choice.fallbacks:
        yield choice
        return
    families = list(matplotlib.rcParams["font.family"]) + list(choice.fallbacks)
    with matplotlib.rc_context({"font.family": families}):
        yield choice


def covers_layout(draw: F) -> F:
    """Decorate a ``draw_*(layout, ...)`` function so that its text uses :func:`drawing_fonts`
    for every string in the layout."""

    @functools.wraps(draw)
    def wrapper(layout, *args, **kwargs):
        with drawing_fonts(strings_in(layout)):
            return draw(layout, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
