"""Figures of a results directory: which exist, what they show, the files `render` writes."""

from __future__ import annotations

import collections
import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from classsim_spark.analysis import analyze  # noqa: E402
from classsim_spark.cli import main  # noqa: E402
from classsim_spark.core.moments import Moments  # noqa: E402
from classsim_spark.demo.generator import DemoSpec, generate  # noqa: E402
from classsim_spark.demo.reference import numpy_results  # noqa: E402
from classsim_spark.io.records import RunRecord  # noqa: E402
from classsim_spark.io.results import SimilarityResult  # noqa: E402
from classsim_spark.render.figures import (  # noqa: E402
    RenderOptions,
    figure_makers,
    render,
    similarity_layout,
    taxonomy_comparison,
)
from classsim_spark.render.inputs import FigureError  # noqa: E402

SMALL = DemoSpec(samples=3000, classes=48, top_groups=4, mid_groups=8, seed=1)


def _analysed(base, multi_label=False):
    spec = DemoSpec(**{**SMALL.__dict__, "multi_label": multi_label})
    path, taxonomy = numpy_results(generate(spec), base, ("logit", "rank"))
    analyze(path, taxonomy=taxonomy, taxonomy_levels="level1,level2")
    return path


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    return _analysed(tmp_path_factory.mktemp("single"))


def test_figure_set_follows_the_results(single, tmp_path):
    assert list(figure_makers(single)) == [
        "similarity",
        "similarity-taxonomy",
        "distributions",
        "frequencies",
        "confusion",
    ]
    multi = _analysed(tmp_path, multi_label=True)
    assert list(figure_makers(multi)) == [
        "similarity",
        "similarity-taxonomy",
        "distributions",
        "frequencies",
        "cooccurrence",
    ]
    bare = tmp_path / "bare"
    mo = Moments.from_block(np.random.default_rng(0).normal(size=(50, 3)))
    SimilarityResult(
        ["a", "b", "c"],
        {"logit": mo},
        {"logit": mo.correlation().matrix},
        run=RunRecord(["logit"], n=50, m=3),
    ).save(bare)
    assert list(figure_makers(bare)) == ["similarity", "distributions"]


def test_taxonomy_view_beside_hclust_view(single):
    res = SimilarityResult.load(single)
    groups = json.loads((single / "groups.json").read_text())
    t = groups["chosen"]["transform"]
    orders = json.loads((single / f"order-{t}.json").read_text())
    fig = taxonomy_comparison(single)
    left, right = fig.heatmap_layouts
    assert left.order.tolist() == orders["alternatives"]["taxonomy"]["order"]
    assert right.order.tolist() == groups["order"]["order"]
    M = res.matrix(t)
    np.testing.assert_array_equal(left.matrix, M[np.ix_(left.order, left.order)])
    # Fig. 2a: taxonomy bars show contiguous top-level groups; Fig. 2b: the tree and the blocks
    codes = left.taxonomy[0]["codes"]
    assert np.count_nonzero(np.diff(codes)) == len(set(codes)) - 1
    assert left.dendrogram is None and right.dendrogram is not None and right.brackets
    a, b = (p["matrix"].get_window_extent() for p in fig.heatmap_panels)
    assert (a.y0, a.height) == (b.y0, b.height) and a.x1 < b.x0  # rows line up, side by side


def test_written_png_pixels_map_back_to_the_matrix(single, tmp_path):
    """Sampled pixels of the saved similarity.png invert through the colormap to M in order."""
    out = render(single, overwrite=True, only=["similarity"])
    assert sorted(p.name for p in out.iterdir()) == ["similarity.png", "similarity.svg"]
    lay = similarity_layout(single)
    img = mpimg.imread(out / "similarity.png")[..., :3]
    w, h = lay.figsize
    assert img.shape[:2] == (np.ceil(h * lay.dpi), np.ceil(w * lay.dpi))
    left, bottom, side, _ = lay.geometry()["matrix"]
    lut = matplotlib.colormaps[lay.cmap](np.linspace(0, 1, 256))[:, :3]
    rng = np.random.default_rng(0)
    m = lay.m
    for r, c in rng.integers(0, m, size=(80, 2)):
        x = (left + (c + 0.5) * side / m) * lay.dpi
        y = img.shape[0] - (bottom + side - (r + 0.5) * side / m) * lay.dpi
        got = int(np.argmin(((lut - img[int(y), int(x)]) ** 2).sum(axis=1)))
        value = lay.matrix[r, c]
        want = np.clip((value - lay.vmin) / (lay.vmax - lay.vmin), 0, 1) * 255
        assert abs(got - want) <= 2, (r, c)
    svg = (out / "similarity.svg").read_text()
    assert f'width="{m}" height="{m}"' in svg  # the matrix is embedded at one pixel per cell


def test_pooled_figure_gets_every_cell_beside_it(single, monkeypatch):
    """Above MAX_IMAGE_SIDE classes the figure pools cells and similarity-cells.png holds the
    matrix at one pixel per cell: each pixel inverts through the colormap to M in order (the
    oracle: the matrix and order files); none is written up to MAX_IMAGE_SIDE or past
    FULL_RESOLUTION_MAX."""
    from classsim_spark.render import figures, heatmap

    assert "similarity-cells" not in figure_makers(single)
    monkeypatch.setattr(heatmap, "MAX_IMAGE_SIDE", 20)  # 48 classes: a pixel per 3 x 3 cells
    out = render(single, overwrite=True, only=["similarity", "similarity-cells"], explorer=False)
    assert sorted(p.name for p in out.iterdir()) == [
        "similarity-cells.png",
        "similarity.png",
        "similarity.svg",
    ]
    assert 'width="16" height="16"' in (out / "similarity.svg").read_text()
    res = SimilarityResult.load(single)
    groups = json.loads((single / "groups.json").read_text())
    order = groups["order"]["order"]
    M = res.matrix(groups["chosen"]["transform"])[np.ix_(order, order)]
    img = mpimg.imread(out / "similarity-cells.png")
    assert img.shape == (48, 48, 3)
    lut = matplotlib.colormaps["viridis"](np.linspace(0, 1, 256))[:, :3]
    got = np.argmin(((img[:, :, None, :] - lut) ** 2).sum(axis=-1), axis=-1)
    off = ~np.eye(48, dtype=bool)
    lo, hi = M[off].min(), M[off].max()
    want = np.clip((M - lo) / (hi - lo), 0, 1) * 255
    assert np.abs(got - want)[off].max() <= 2  # the colormap floors to one of 256 colours
    monkeypatch.setattr(figures, "FULL_RESOLUTION_MAX", 47)
    assert "similarity-cells" not in figure_makers(single)


def test_options_reach_every_similarity_panel(single):
    chosen = SimilarityResult.load(single).classes[3]
    opts = RenderOptions(diverging=True, contrast=0.5, names_max=10, highlight=(chosen,))
    makers = figure_makers(single, opts)
    for name in ("similarity", "similarity-taxonomy", "confusion"):
        fig = makers[name]()
        sim = fig.heatmap_layouts[0]
        assert sim.diverging and sim.vmin == -sim.vmax and sim.contrast == 0.5
        assert not sim.show_names
        for lay in fig.heatmap_layouts:
            assert [c["name"] for c in lay.callouts] == [chosen]
    with pytest.raises(FigureError, match="contrast"):
        RenderOptions(contrast=0)
    with pytest.raises(FigureError, match="transform 'nope'"):
        figure_makers(single, RenderOptions(transform="nope"))
    with pytest.raises(FigureError, match="not available"):
        render(single, overwrite=True, only=["cooccurrence"])


def test_render_command_options_and_errors(single, tmp_path, capsys):
    assert (
        main(
            [
                "render",
                str(single),
                "--overwrite",
                "--only",
                "similarity,confusion",
                "--vector",
                "pdf",
                "--diverging",
                "--cutoff",
                "0",
                "--log-counts",
                "--transform",
                "rank",
            ]
        )
        == 0
    )
    out = single / "figures"
    assert capsys.readouterr().out.strip() == str(out)
    assert sorted(p.name for p in out.iterdir()) == [
        "confusion.pdf",
        "confusion.png",
        "similarity.pdf",
        "similarity.png",
    ]
    assert (out / "similarity.pdf").read_bytes().startswith(b"%PDF")
    assert main(["render", str(single), "--only", "similarity"]) == 2
    assert "already exists; pass --overwrite" in capsys.readouterr().err
    name = SimilarityResult.load(single).classes[3]
    assert main(["render", str(single), "--overwrite", "--highlight", f"{name},bogus"]) == 2
    assert "1 highlighted classes not among the classes" in capsys.readouterr().err
    conf = tmp_path / "render.toml"
    conf.write_text('[render]\nvector = "pdf"\nnames_max = 5\nbogus = 1\n')
    assert main(["render", str(single), "--overwrite", "--config", str(conf)]) == 2
    assert "unknown setting render.bogus" in capsys.readouterr().err
    assert main(["render", str(tmp_path / "nowhere")]) == 2
    assert "results directory not found" in capsys.readouterr().err
    conf.write_text('[render]\nvector = "pdf"\ncontrast = 0.7\n')
    assert (
        main(["render", str(single), "--overwrite", "--config", str(conf), "--only", "similarity"])
        == 0
    )
    assert sorted(p.name for p in out.iterdir()) == ["similarity.pdf", "similarity.png"]


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_parallel_render_writes_the_same_files(single, tmp_path, monkeypatch, method):
    """Figures drawn in two forked or spawned processes equal those drawn here, byte for byte
    (PNG); the explorer page, written meanwhile in this process, equals the one written after
    them."""
    import shutil

    from classsim_spark.render import figures

    monkeypatch.setattr(figures, "_start_method", lambda: method)
    copy = tmp_path / "res"
    shutil.copytree(single, copy, ignore=shutil.ignore_patterns("figures", "explorer.html"))
    one = render(single, overwrite=True, workers=1)
    two = render(copy, workers=2)
    names = sorted(p.name for p in one.iterdir())
    assert names == sorted(p.name for p in two.iterdir()) and len(names) == 10
    for name in names:
        if name.endswith(".png"):
            assert (one / name).read_bytes() == (two / name).read_bytes(), name
    meanwhile = (copy / "explorer.html").read_text()
    render(copy, overwrite=True, workers=1, only=["distributions"])
    assert (copy / "explorer.html").read_text() == meanwhile


@pytest.mark.parametrize("with_thread", [False, True])
def test_unguarded_script_draws_its_figures(single, tmp_path, with_thread):
    """A script without a main guard: forked children draw its figures; spawned ones (the
    script runs a thread) re-run it and fail, and render draws the figures in process."""
    import shutil
    import subprocess
    import sys

    copy = tmp_path / "res"
    shutil.copytree(single, copy, ignore=shutil.ignore_patterns("figures", "explorer.html"))
    script = tmp_path / "unguarded.py"
    thread = (
        "import threading, time\n"
        "threading.Thread(target=lambda: time.sleep(600), daemon=True).start()\n"
    )
    script.write_text(
        (thread if with_thread else "") + "from classsim_spark.render.figures import render\n"
        f"render({str(copy)!r}, workers=2, only=['similarity', 'distributions'])\n"
    )
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert ("drawing the figures in this process" in proc.stderr) == with_thread
    assert sorted(p.name for p in (copy / "figures").iterdir()) == [
        "distributions.png",
        "distributions.svg",
        "similarity.png",
        "similarity.svg",
    ]


def test_options_are_validated_and_strings_read_as_lists(single):
    opts = RenderOptions(highlight="a, b")
    assert opts.highlight == ("a", "b")
    for bad in (
        {"cutoff": "high"},
        {"names_max": True},
        {"contrast": float("inf")},
        {"coverage": 0},
    ):
        with pytest.raises(FigureError):
            RenderOptions(**bad)
    out = render(single, overwrite=True, only="similarity")
    assert sorted(p.name for p in out.iterdir()) == ["similarity.png", "similarity.svg"]
    with pytest.raises(FigureError, match="not available"):
        render(single, overwrite=True, only=[])
    with pytest.raises(FigureError, match="workers"):
        render(single, overwrite=True, workers=0)


def test_confusion_of_another_transform_uses_its_own_order(single):
    from classsim_spark.render.baselines import confusion_layout

    groups = json.loads((single / "groups.json").read_text())
    other = next(t for t in ("logit", "rank") if t != groups["chosen"]["transform"])
    order = json.loads((single / f"order-{other}.json").read_text())["order"]
    lay = confusion_layout(SimilarityResult.load(single), other)
    assert lay.similarity_order.tolist() == order
    assert lay.panels[0].dendrogram is not None


def test_cooccurrence_honours_names_max_and_highlight(tmp_path):
    multi = _analysed(tmp_path, multi_label=True)
    name = SimilarityResult.load(multi).classes[5]
    fig = figure_makers(multi, RenderOptions(names_max=10, highlight=(name,)))["cooccurrence"]()
    assert [c["name"] for c in fig.heatmap_layout.callouts] == [name]


def test_distribution_with_a_two_row_sample(tmp_path):
    from classsim_spark.render.figures import distribution_figure

    path, _ = numpy_results(generate(SMALL), tmp_path, sample_rows=2)
    fig = distribution_figure(path)
    assert any("skew = n/a" in t.get_text() for t in fig.findobj(matplotlib.text.Text))


def _count_parses(monkeypatch) -> collections.Counter:
    """Count, by file name, every analysis file the figures parse (through ``read_once``, and
    every JSON file read at all)."""
    import classsim_spark.render.inputs as inputs_mod

    parsed = collections.Counter()
    real_read_once, real_json = inputs_mod.read_once, inputs_mod._json

    def read_once(result, file, parse, missing=None):
        def parse_counted(f):
            parsed[f.name] += 1
            return parse(f)

        return real_read_once(result, file, parse_counted, missing)

    def json_counted(file):
        parsed[f"{file.name} (as JSON)"] += 1
        return real_json(file)

    monkeypatch.setattr(inputs_mod, "read_once", read_once)
    monkeypatch.setattr(inputs_mod, "_json", json_counted)
    return parsed


def test_figures_after_an_analysis_parse_none_of_its_files(single, monkeypatch):
    """`classsim run`: the analysis hands what it wrote to the figures of the same result."""
    result = SimilarityResult.load(single)
    analyze(
        result,
        taxonomy=single.parent / "classes.csv",
        taxonomy_levels="level1,level2",
        overwrite=True,
    )
    parsed = _count_parses(monkeypatch)
    render(result, overwrite=True, workers=1)
    assert len(list((single / "figures").glob("*.png"))) == 5
    assert parsed == {}, parsed


def test_render_parses_each_analysis_file_once(single, monkeypatch):
    """A new command parses each file once (groups.json was parsed 4 times: once per figure and
    once to list them)."""
    import classsim_spark.render.inputs as inputs_mod

    parsed = _count_parses(monkeypatch)
    render(SimilarityResult.load(single), overwrite=True, workers=1)
    assert set(parsed) == {
        "groups.json",
        "groups.json (as JSON)",
        "order-logit.json",
        "order-logit.json (as JSON)",
        "linkage-logit.npy",
        "linkage-confusion.npy",  # the analysis's tree of the confusion baseline
        "classes.csv",
        "order-rank.json",  # the explorer offers every transform's orders
        "order-rank.json (as JSON)",
    }, parsed
    assert set(parsed.values()) == {1}, parsed
    # a file that changes is read again
    result = SimilarityResult.load(single)
    first = inputs_mod.read_groups(result)
    groups_file = single / "groups.json"
    groups_file.write_text(json.dumps({**first.to_json(), "note": "changed"}))
    assert inputs_mod.read_groups(result).extra == {"note": "changed"}
    groups_file.write_text(json.dumps(first.to_json()))
