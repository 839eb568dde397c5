"""explorer.html: its data against numpy, and the page itself in headless Chromium (Debian's,
driven by Playwright): what the pointer reports, orders, search, findings, colours, URL state,
safety of strings from the data."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import zlib
from pathlib import Path

import numpy as np
import pytest
from explorer_page import Page

from classsim_spark.analysis import analyze
from classsim_spark.cli import main
from classsim_spark.demo.generator import DemoSpec, generate
from classsim_spark.demo.reference import numpy_results
from classsim_spark.io.classes import write_classes_csv
from classsim_spark.io.results import SimilarityResult
from classsim_spark.render.explorer import (
    explorer_data,
    explorer_html,
    packed,
    quantise,
    write_explorer,
)

SPEC = DemoSpec(samples=3000, classes=48, top_groups=4, mid_groups=8, seed=1)
SUGGESTIONS = "() => [...document.querySelectorAll('#suggestions button')].map(b => b.textContent)"
NASTY = ["<script>alert(1)</script>", "a & b", "say \"hi\" 'x'", "猫 ネコ", "{{SCRIPT}}", "</b>"]


@pytest.fixture(scope="module")
def analysed(tmp_path_factory) -> Path:
    """48 classes, logit and rank, labels (confusion), analysed with the demo's taxonomy."""
    path, taxonomy = numpy_results(
        generate(SPEC), tmp_path_factory.mktemp("explorer"), ("logit", "rank")
    )
    analyze(path, taxonomy=taxonomy, taxonomy_levels="level1,level2")
    write_explorer(path)
    return path


@pytest.fixture(scope="module")
def nasty(tmp_path_factory) -> Path:
    """A result whose class names are markup, entities, quotes, CJK and the page's own marks."""
    path, _ = numpy_results(generate(SPEC), tmp_path_factory.mktemp("nasty"), ("logit",))
    names = [*NASTY, *(f"class {i}" for i in range(SPEC.classes - len(NASTY)))]
    write_classes_csv(names, path / "classes.csv")
    analyze(path)
    write_explorer(path)
    return path


# --------------------------------------------------------------------------- the data, no browser


def unpacked(text: str, dtype) -> np.ndarray:
    """The page's decoding, in numpy: byte planes (lowest first) back into integers."""
    raw = np.frombuffer(zlib.decompress(base64.b64decode(text)), np.uint8)
    planes = raw.reshape(np.dtype(dtype).itemsize, -1).T.copy()
    return planes.view(np.dtype(dtype).newbyteorder("<")).ravel()


def test_quantise_and_pack_round_trip_against_numpy():
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, size=(7, 7))
    M = (a + a.T) / 2
    rows, cols = np.triu_indices(7)
    for bits in (8, 16):
        q = quantise(M, bits)
        steps = 2**bits - 2
        assert q.dtype == (np.uint8 if bits == 8 else np.uint16) and q.size == 28
        back = -1 + (q.astype(float) - 1) * 2 / steps
        assert q.min() >= 1 and np.abs(back - M[rows, cols]).max() <= 1 / steps + 1e-12
        assert np.array_equal(unpacked(packed(q), q.dtype), q)
    assert quantise(np.array([[np.nan, 2.0], [2.0, -3.0]]), 8).tolist() == [0, 255, 1]


def test_data_hold_every_transform_order_and_finding(analysed):
    result = SimilarityResult.load(analysed)
    data = explorer_data(result)
    groups = json.loads((analysed / "groups.json").read_text())
    assert data["names"] == result.classes and data["m"] == 48
    assert (
        data["transforms"] == ["logit", "rank"] and data["chosen"] == groups["chosen"]["transform"]
    )
    assert data["orders"][0]["order"] == groups["order"]["order"]
    keys = {o["key"] for o in data["orders"]}
    assert {"chosen", "rank:hclust", "logit:spectral", "logit:taxonomy", "class-id"} <= keys
    rank = json.loads((analysed / "order-rank.json").read_text())
    assert next(o for o in data["orders"] if o["key"] == "rank:hclust")["order"] == rank["order"]
    assert len(data["findings"]["blocks"]) == len(groups["blocks"]) > 0
    assert data["counts"]["name"] == "confusion"
    counts = unpacked(data["counts"]["data"], np.uint32)
    assert np.array_equal(counts.reshape(48, 48), np.load(analysed / "confusion.npy"))
    M = np.load(analysed / "similarity-rank.npy")
    off = M[~np.eye(48, dtype=bool)]
    assert data["colours"]["limits"]["rank"]["low"] == pytest.approx(off.min())
    assert data["colours"]["limits"]["rank"]["high"] == pytest.approx(off.max())
    assert all(spec["bits"] == 16 for spec in data["matrices"].values())


def test_the_budget_coarsens_the_transforms_not_chosen_first(analysed):
    from classsim_spark.render.explorer import _matrices

    result = SimilarityResult.load(analysed)
    chosen = explorer_data(result)["chosen"]
    other = ({"logit", "rank"} - {chosen}).pop()

    def plan(budget: float) -> tuple[dict, list[str]]:
        computed = {t: result.matrix(t) for t in result.transforms}
        packed_matrices, notes = _matrices(computed, chosen, budget)
        return {t: spec["bits"] for t, spec in packed_matrices.items()}, notes

    sizes = {bits: len(packed(quantise(result.matrix(chosen), bits))) for bits in (8, 12, 16)}
    other8 = len(packed(quantise(result.matrix(other), 8)))
    assert plan(1e9) == ({chosen: 16, other: 16}, [])
    assert plan(sizes[16] + other8)[0] == {chosen: 16, other: 8}
    bits, notes = plan(sizes[12] + other8)
    assert bits == {chosen: 12, other: 8} and "size budget" in notes[0]
    assert plan(sizes[8] + other8)[0] == {chosen: 8, other: 8}
    bits, notes = plan(sizes[12])  # then the transform the page opens with, alone
    assert bits == {chosen: 12} and f"{other} left out" in notes[1]
    assert plan(sizes[8])[0] == {chosen: 8}
    assert any("over the" in note for note in plan(1000)[1])
    assert sizes[12] < sizes[16]  # the byte planes make the dropped bits pay
    page = explorer_data(result, budget_mb=(sizes[12] + other8 + 120_000) / 1e6)
    assert len(explorer_html(page).encode()) <= sizes[12] + other8 + 120_000
    alone = explorer_data(result, budget_mb=1e-4)  # below any plan: the smallest
    assert alone["transforms"] == [chosen] and list(alone["matrices"]) == [chosen]


def test_a_page_without_some_transforms_opens_and_hovers(browser, analysed, tmp_path):
    """The smallest plan: only the transform the page opens with; a link naming another
    transform opens on the one present."""
    from classsim_spark.render.explorer import explorer_page

    result = SimilarityResult.load(analysed)
    chosen = explorer_data(result)["chosen"]
    other = ({"logit", "rank"} - {chosen}).pop()
    html = explorer_page(analysed, budget_mb=1e-4)
    (tmp_path / "explorer.html").write_text(html, encoding="utf-8")
    page = Page(browser, tmp_path, f"#t={other}")
    seen = page.hover(5, 9)
    assert list(seen["values"]) == [chosen] and page.state()["t"] == chosen
    order = json.loads((analysed / "groups.json").read_text())["order"]["order"]
    expected = np.load(analysed / f"similarity-{chosen}.npy")[order[5], order[9]]
    assert seen["values"][chosen][0] == pytest.approx(expected, abs=1 / 254)
    assert f"{other} left out" in page.js("() => document.getElementById('notes').textContent")
    page.close()
    assert page.problems == []


def test_page_is_one_file_whose_policy_admits_only_its_own_script(nasty):
    page = (nasty / "explorer.html").read_text(encoding="utf-8")
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert "default-src 'none'" in csp and "connect-src" not in csp  # falls back to none
    script = re.search(r"<script>(.*)</script>", page, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp
    assert not re.search(r"(src|href)=\"(https?:)?//", page)  # nothing to fetch
    # The names travel only inside the JSON element, escaped: no markup of theirs in the page.
    assert "<script>alert(1)</script>" not in page and "</b>" not in page
    blob = re.search(r'id="classsim-data">(.*?)</script>', page, re.S).group(1)
    assert json.loads(blob)["names"][: len(NASTY)] == NASTY
    assert page.count("<script") == 2


def test_render_writes_the_page_and_replaces_it_only_when_asked(analysed, tmp_path, capsys):
    copy = tmp_path / "res"
    shutil.copytree(analysed, copy, ignore=shutil.ignore_patterns("figures", "explorer.html"))
    assert main(["render", str(copy), "--only", "similarity"]) == 0
    page = copy / "explorer.html"
    assert page.is_file() and page.stat().st_size > 10_000
    shutil.rmtree(copy / "figures")
    capsys.readouterr()
    assert main(["render", str(copy), "--only", "similarity"]) == 2
    assert "explorer.html already exists; pass --overwrite" in capsys.readouterr().err
    assert not (copy / "figures").exists()  # refused before drawing anything
    assert main(["render", str(copy), "--only", "similarity", "--no-explorer"]) == 0
    before = page.stat().st_mtime_ns
    assert main(["explore", str(copy)]) == 0  # refreshes it, nothing else
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(page)
    assert page.stat().st_mtime_ns >= before
    assert sorted(p.name for p in (copy / "figures").iterdir()) == [
        "similarity.png",
        "similarity.svg",
    ]


# --------------------------------------------------------------------------- in the browser


@pytest.fixture
def page(browser, analysed):
    opened = Page(browser, analysed)
    yield opened
    opened.close()
    assert opened.problems == [], opened.problems
    assert all(url.startswith("file://") for url in opened.requests), opened.requests


def test_hover_reports_the_pair_and_every_transform_value(page, analysed):
    groups = json.loads((analysed / "groups.json").read_text())
    order = groups["order"]["order"]
    names = json.loads(json.dumps(SimilarityResult.load(analysed).classes))
    confusion = np.load(analysed / "confusion.npy")
    for row, col in [(0, 0), (3, 17), (40, 2), (47, 46)]:
        seen = page.hover(row, col)
        i, j = order[row], order[col]
        assert (seen["row"], seen["col"]) == (i, j)
        assert names[i] in seen["text"] and names[j] in seen["text"]
        for t in ("logit", "rank"):
            expected = np.load(analysed / f"similarity-{t}.npy")[i, j]
            value, shown = seen["values"][t]
            assert abs(value - expected) <= 1 / 65534 + 1e-9
            assert abs(float(shown) - expected) <= 0.0005 + 1 / 65534
        assert f"confusion{confusion[i, j]}" in seen["text"].replace(" ", "")


def test_switching_the_order_shows_the_exported_order(page, analysed):
    spectral = json.loads((analysed / "order-logit.json").read_text())["alternatives"]["spectral"]
    page.page.select_option("#order", "logit:spectral")
    assert page.state()["o"] == "logit:spectral"
    page.url_shows("o=logit%3Aspectral")
    for p in (0, 5, 47):
        assert page.hover(p, p)["row"] == spectral["order"][p]
    page.page.select_option("#order", "class-id")
    assert page.hover(9, 30)["row"] == 9 and page.hover(9, 30)["col"] == 30


def test_taxonomy_order_beside_the_chosen_one(page, analysed):
    """Fig. 2a beside 2b: two panels, each reporting the classes of its own order."""
    taxonomy = json.loads((analysed / "order-logit.json").read_text())["alternatives"]["taxonomy"]
    chosen = json.loads((analysed / "groups.json").read_text())["order"]["order"]
    page.page.select_option("#compare", "logit:taxonomy")
    page.url_shows("cmp=logit%3Ataxonomy")
    panels = page.js("() => window.classsimExplorer.geometry.panels.map(p => p.o)")
    assert panels == ["logit:taxonomy", "chosen"]
    for p in (0, 20, 47):
        at = page.js("([r, c]) => window.classsimExplorer.cellCentre(r, c, 0)", [p, p])
        page.page.mouse.move(at["x"], at["y"])
        assert (
            page.js("() => Number(document.getElementById('hover-body').dataset.row)")
            == (taxonomy["order"][p])
        )
        assert page.hover(p, p)["row"] == chosen[p]
    page.page.select_option("#compare", "")
    assert page.js("() => window.classsimExplorer.geometry.panels.length") == 1


def test_search_finds_a_class_and_its_panel(page, analysed):
    names = SimilarityResult.load(analysed).classes
    target = names[11]
    page.page.fill("#search", target[:-1])
    suggestions = page.js(SUGGESTIONS)
    assert target in suggestions
    assert all(target[:-1].lower() in s.lower() for s in suggestions)
    page.page.fill("#search", target)
    page.page.press("#search", "Enter")
    assert page.state()["c"] == 11
    assert page.js("() => document.getElementById('class-name').textContent") == target
    M = np.load(analysed / f"similarity-{page.state()['t']}.npy")
    best = int(np.argsort(-np.where(np.eye(48, dtype=bool)[11], -np.inf, M[11]))[0])
    first = page.js("() => document.querySelector('#class-body button').textContent")
    assert first.endswith(names[best])


def test_a_finding_click_zooms_to_its_span(page, analysed):
    blocks = json.loads((analysed / "groups.json").read_text())["blocks"]
    page.page.select_option("#order", "class-id")
    page.page.click("summary:has-text('blocks')")
    page.page.click("#findings-body button[data-kind='blocks'][data-index='1']")
    state = page.state()
    start, end = blocks[1]["start"], blocks[1]["end"]
    pad = max(1, round((end - start) * 0.05))
    assert state["o"] == "chosen"
    assert state["v"]["span"] == pytest.approx(min(48, end - start + 2 * pad))
    assert state["v"]["x0"] <= start and state["v"]["x0"] + state["v"]["span"] >= end


def test_a_flame_click_shows_the_block_columns_and_the_flame_row(page, analysed):
    spans = json.loads((analysed / "groups.json").read_text())["spans"]
    flames = [(s, r) for s in spans for r in s["rows"]]
    assert flames  # the fixture's demo has classes leaning on another block
    page.page.click("summary:has-text('flames')")
    buttons = page.page.locator("#findings-body button[data-kind='flames']")
    assert buttons.count() == len(flames)
    span, row = flames[-1]
    buttons.nth(len(flames) - 1).click()
    assert buttons.nth(len(flames) - 1).text_content().startswith(f"{row['name']} → ")
    v = page.state()["v"]
    assert v["x0"] <= span["start"] and v["x0"] + v["span"] >= span["end"]
    assert v["y0"] <= row["position"] < v["y0"] + v["span"]
    assert page.state()["highlight"] == [row["position"]]


@pytest.mark.parametrize("painted", ["whole", "per view"])
def test_screenshot_pixel_has_the_figure_colour(page, analysed, painted):
    from matplotlib import colormaps

    t = page.state()["t"]
    M = np.load(analysed / f"similarity-{t}.npy")
    order = json.loads((analysed / "groups.json").read_text())["order"]["order"]
    if painted == "per view":  # the path for m above settings.fullMax
        page.js("() => { window.classsimExplorer.settings.fullMax = 10; }")
    page.js("() => window.location.hash = '#v=10,20,6'")
    page.page.wait_for_function("window.classsimExplorer.state.v.span === 6")
    off = M[~np.eye(48, dtype=bool)]
    for row, col in [(20, 10), (22, 13), (25, 15)]:
        at = page.js("([r, c]) => window.classsimExplorer.cellCentre(r, c)", [row, col])
        pixel = page.pixel(at["x"], at["y"])
        q = np.round((M[order[row], order[col]] + 1) / 2 * 65534) / 65534 * 2 - 1
        x = (q - off.min()) / (off.max() - off.min())
        expected = np.array(colormaps["viridis"](min(int(x * 256), 255), bytes=True)[:3])
        assert pixel == expected.tolist(), (row, col, pixel, expected)


def test_the_url_reopens_the_same_view(browser, page, analysed):
    page.page.select_option("#transform", "rank")
    page.page.select_option("#order", "rank:hclust")
    page.page.check("#diverging")
    page.url_shows("div=1")
    page.js("() => window.location.hash = window.location.hash.replace(/v=[^&]*/, 'v=4,4,12')")
    page.page.wait_for_function("window.classsimExplorer.state.v.span === 12")
    state = page.state()
    again = Page(browser, analysed, "#" + page.page.url.split("#", 1)[1])
    try:
        assert again.state() == state
        assert again.js("() => document.getElementById('transform').value") == "rank"
        assert again.problems == []
    finally:
        again.close()


def test_png_export_downloads_the_view(page, tmp_path):
    with page.page.expect_download() as download:
        page.page.click("#png")
    target = tmp_path / "view.png"
    download.value.save_as(target)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_viewport_geometry_in_the_page(page):
    """The page's pure functions: cells and pixels, zoom about a point, packed indices."""
    result = page.js(
        """() => {
          const v = {x0: 10, y0: 20, span: 40};
          const z = View.zoomAt(v, 400, 100, 300, 0.5, 100);
          const before = [10 + 100 / 400 * 40, 20 + 300 / 400 * 40];
          const after = [z.x0 + 100 / 400 * z.span, z.y0 + 300 / 400 * z.span];
          const indices = [];
          for (let i = 0; i < 5; i++) {
            for (let j = 0; j < 5; j++) indices.push(Codec.triangleIndex(i, j, 5));
          }
          return {before, after, span: z.span, cell: View.cellAt(v, 400, 399, 0, 100),
                  clamped: View.clamp({x0: -5, y0: 99, span: 500}, 100), indices,
                  hash: View.fromHash(View.toHash({o: "logit:spectral", c: 0, none: null}))};
        }"""
    )
    assert result["after"] == pytest.approx(result["before"]) and result["span"] == 20
    assert result["cell"] == {"row": 20, "col": 49}
    assert result["clamped"] == {"x0": 0, "y0": 0, "span": 100}
    rows, cols = np.triu_indices(5)
    index = np.zeros((5, 5), dtype=int)
    index[rows, cols] = np.arange(rows.size)
    index[cols, rows] = np.arange(rows.size)
    assert result["indices"] == index.ravel().tolist()
    assert result["hash"] == {"o": "logit:spectral", "c": "0"}


@pytest.mark.parametrize(
    ("diverging", "contrast", "cutoff"),
    [
        (False, 1.0, None),
        (False, 0.5, None),
        (True, 1.0, None),
        (True, 2.0, None),
        (False, 1.0, 0.1),
    ],
)
def test_the_page_colours_values_as_the_figures_do(page, diverging, contrast, cutoff):
    """Colours.hexOf on values across (and beyond) the scale, against HeatmapLayout.rgba()."""
    from matplotlib.colors import to_hex

    from classsim_spark.render.heatmap import DIVERGING_CMAP, SEQUENTIAL_CMAP, HeatmapLayout

    vmin, vmax = (-0.8, 0.8) if diverging else (-0.3, 0.9)
    values = np.concatenate([np.linspace(vmin - 0.2, vmax + 0.2, 97), [vmin, vmax, 0.0, 0.1]])
    layout = HeatmapLayout(
        order=np.arange(values.size),
        matrix=np.tile(values, (values.size, 1)),
        names=[str(i) for i in range(values.size)],
        vmin=vmin,
        vmax=vmax,
        cmap=DIVERGING_CMAP if diverging else SEQUENTIAL_CMAP,
        diverging=diverging,
        contrast=contrast,
        cutoff=cutoff,
    )
    expected = [to_hex(c / 255) for c in layout.rgba()[0, :, :3]]
    seen = page.js(
        """([values, scale]) => {
          const colours = classsimExplorer.data.colours;
          const s = {...scale, lut: scale.diverging ? colours.diverging : colours.sequential,
                     background: colours.background};
          return values.map((v) => Colours.hexOf(v, s));
        }""",
        [
            values.tolist(),
            {
                "vmin": vmin,
                "vmax": vmax,
                "diverging": diverging,
                "contrast": contrast,
                "cutoff": cutoff,
            },
        ],
    )
    assert seen == expected


def test_names_from_the_data_are_text_never_markup(browser, nasty):
    opened = Page(browser, nasty)
    try:
        for name in NASTY:
            opened.page.fill("#search", name)
            shown = opened.js(SUGGESTIONS)
            assert name in shown, (name, shown)
        assert opened.js("() => document.querySelectorAll('script').length") == 2
        assert opened.js("() => document.querySelectorAll('b').length") == 0
        opened.page.press("#search", "Escape")  # the suggestions close
        assert opened.js("() => document.getElementById('suggestions').children.length") == 0
        seen = opened.hover(0, 0)
        assert seen["row"] >= 0
        assert opened.problems == []
    finally:
        opened.close()


@pytest.fixture(scope="module")
def bare(tmp_path_factory) -> Path:
    """Two classes, no analysis, no labels, a NaN off the diagonal (a constant class)."""
    from classsim_spark.core.moments import Moments

    x = np.column_stack([np.arange(5.0), np.full(5, 2.0)])
    small = SimilarityResult(
        classes=["a", "b"],
        moments={"logit": Moments.from_block(x)},
        matrices={"logit": np.array([[1.0, np.nan], [np.nan, 1.0]])},
    )
    out = small.save(tmp_path_factory.mktemp("bare-res") / "res")
    write_explorer(out)
    return out


def test_a_mangled_url_opens_the_default_view(browser, analysed):
    for fragment in ("#o=constructor&t=toString&cmp=__proto__&c=", "#v=%E0%A4%A&o=%&c=abc", "#x"):
        opened = Page(browser, analysed, fragment)
        try:
            state = opened.state()
            assert (state["o"], state["cmp"], state["c"]) == ("chosen", "", None), fragment
            assert state["v"] == {"x0": 0, "y0": 0, "span": 48}
            assert opened.problems == []
        finally:
            opened.close()


def test_two_classes_without_analysis_and_a_nan(browser, bare):
    data = explorer_data(SimilarityResult.load(bare))
    assert [o["label"] for o in data["orders"]] == ["class id (no analysis)"]
    assert data["counts"] is None and data["taxonomy"] is None
    opened = Page(browser, bare)
    try:
        seen = opened.hover(0, 1)
        assert (seen["row"], seen["col"]) == (0, 1)
        assert seen["values"]["logit"][1] == "n/a"
        assert opened.hover(1, 1)["values"]["logit"][1] == "1.000"
        assert "no analysis in this directory" in opened.js(
            "() => document.getElementById('findings-body').textContent"
        )
        assert opened.problems == []
    finally:
        opened.close()


def test_the_page_opens_as_render_was_told_and_cuts_off_as_the_figures(browser, analysed, tmp_path):
    from classsim_spark.render.figures import RenderOptions, similarity_layout

    copy = tmp_path / "res"
    shutil.copytree(analysed, copy, ignore=shutil.ignore_patterns("figures", "explorer.html"))
    options = RenderOptions(transform="rank", cutoff=0.1, contrast=0.5)
    write_explorer(copy, options=options)
    opened = Page(browser, copy)
    try:
        state = opened.state()
        assert (state["t"], state["cut"], state["con"], state["div"]) == ("rank", 0.1, 0.5, False)
        limits = opened.js(
            "() => Colours.defaultLimits("
            "window.classsimExplorer.data.colours.limits.rank, false, 0.1)"
        )
        layout = similarity_layout(copy, transform="rank", cutoff=0.1)
        assert limits == {"vmin": pytest.approx(layout.vmin), "vmax": pytest.approx(layout.vmax)}
        assert opened.problems == []
    finally:
        opened.close()


def test_failed_groups_are_columns_beside_the_matrix(page, analysed):
    failed = json.loads((analysed / "groups.json").read_text())["failed_groups"]
    assert failed, "the demo plants a failed group"
    members = set(failed[0]["positions"])
    outsider = next(p for p in range(48) if not {p - 1, p, p + 1} & members)
    cell = page.js("() => window.classsimExplorer.geometry.size") / 48
    rgb = {}
    for p in (min(members), outsider):
        at = page.js("([r, c]) => window.classsimExplorer.cellCentre(r, c)", [p, 47])
        rgb[p] = page.pixel(at["x"] + cell / 2 + 6 + 4, at["y"])  # inside the first column
    assert rgb[min(members)] == [31, 119, 180]  # a member's row is marked
    assert rgb[outsider] == [240, 240, 240]  # other rows are not


@pytest.fixture(scope="module")
def compared(tmp_path_factory, analysed) -> tuple[Path, np.ndarray, np.ndarray, str]:
    """``classsim compare`` of the analysed demo (A) and the same rows with class 5's scores
    replaced by noise (B): the comparison directory, A's and B's logit matrices, class 5."""
    from dataclasses import replace

    from classsim_spark.compare import compare

    data = generate(SPEC)
    scores = data.scores.copy()
    scores[:, 5] = np.random.default_rng(1).normal(size=scores.shape[0]) * scores[:, 5].std()
    b, _ = numpy_results(replace(data, scores=scores), tmp_path_factory.mktemp("b"), ("logit",))
    analyze(b)
    out = compare(analysed, b, tmp_path_factory.mktemp("cmp") / "c", permutations=9).path
    A = np.load(analysed / "similarity-logit.npy")
    B = np.load(b / "similarity-logit.npy")
    return out, A, B, SimilarityResult.load(b).classes[5]


def test_the_comparison_page_shows_a_b_and_their_difference(browser, compared):
    out, A, B, changed = compared
    opened = Page(browser, out)
    try:
        order = opened.js("() => classsimExplorer.data.orders[0].order")
        names = opened.js("() => classsimExplorer.data.names")
        assert [names[i] for i in order] == json.loads((out / "compare.json").read_text())["order"]
        data = opened.js("() => classsimExplorer.data.transforms")
        assert len(data) == 3 and data[2] == f"{data[0]} − {data[1]}"
        # the difference's codes span its own range, so small differences keep their digits
        spread = np.abs(A - B)[~np.eye(len(A), dtype=bool)].max()
        span = opened.js("(t) => classsimExplorer.data.matrices[t].hi", data[2])
        assert span == pytest.approx(spread)
        seen = opened.hover(4, 9)
        i, j = order[4], order[9]
        values = [seen["values"][t][0] for t in data]
        assert values[0] == pytest.approx(A[i, j], abs=2e-5)
        assert values[1] == pytest.approx(B[i, j], abs=2e-5)
        assert values[2] == pytest.approx(A[i, j] - B[i, j], abs=1e-4)
        # B beside the difference, in the same order; the difference always diverging
        opened.page.select_option("#compare", f"matrix:{data[1]}")
        opened.page.select_option("#transform", data[2])
        assert [p["t"] for p in opened.js("() => classsimExplorer.geometry.panels")] == [
            data[1],
            data[2],
        ]
        at = opened.js("([r, c]) => classsimExplorer.cellCentre(r, c)", [4, 9])
        expected = opened.js(
            """([v, t]) => {
              const d = classsimExplorer.data, s = d.colours.limits[t];
              const top = s.high_abs;
              return Colours.hexOf(v, {vmin: -top, vmax: top, diverging: true, contrast: 1,
                cutoff: null, lut: d.colours.diverging, background: d.colours.background});
            }""",
            [values[2], data[2]],
        )
        assert "#{:02x}{:02x}{:02x}".format(*opened.pixel(at["x"], at["y"])) == expected
        # the most changed class heads the findings; a click zooms to it
        opened.page.click("summary:has-text('most changed classes')")
        first = opened.page.locator("#findings-body button[data-kind='most changed classes']")
        assert first.first.text_content().startswith(f"{changed} · ")
        assert opened.problems == []
    finally:
        opened.close()
