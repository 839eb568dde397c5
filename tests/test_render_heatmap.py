"""Heatmap rendering: real properties of the layout and of the written PNG."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from scipy.cluster.hierarchy import dendrogram, linkage  # noqa: E402

from classsim_spark.render.figures import similarity_heatmap  # noqa: E402
from classsim_spark.render.heatmap import (  # noqa: E402
    draw_heatmap,
    draw_heatmaps,
    heatmap_layout,
    place_labels,
    save_figure,
)


def _matrix(m, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(m, m))
    M = np.tanh((A + A.T) / 4)
    np.fill_diagonal(M, 1.0)
    return M


def _png(fig, tmp_path, name="f.png"):
    path = tmp_path / name
    fig.savefig(path, dpi=fig.dpi)
    return mpimg.imread(path)[..., :3]


def _lut(cmap):
    return matplotlib.colormaps[cmap](np.linspace(0, 1, 256))[:, :3]


def _cell_rgb(fig, img, m, r, c):
    """RGB of the pixel at the centre of cell (row r, column c) of the matrix axes."""
    bb = fig.heatmap_axes["matrix"].get_window_extent()
    x = bb.x0 + (c + 0.5) * bb.width / m
    y = bb.y1 - (r + 0.5) * bb.height / m
    return img[int(img.shape[0] - y), int(x)]


def _invert(rgb, lut):
    return int(np.argmin(((lut - rgb) ** 2).sum(axis=1)))


@pytest.mark.parametrize("m", [7, 40, 300])
def test_png_pixel_size_and_one_pixel_per_class(tmp_path, m):
    lay = heatmap_layout(_matrix(m), [f"c{i}" for i in range(m)])
    fig = draw_heatmap(lay)
    img = _png(fig, tmp_path)
    w, h = lay.figsize
    assert img.shape[:2] == (np.ceil(h * lay.dpi), np.ceil(w * lay.dpi))
    bb = fig.heatmap_axes["matrix"].get_window_extent()
    assert bb.width >= m and bb.height >= m


def test_pixels_map_back_to_values_in_order(tmp_path):
    m = 25
    M = _matrix(m, 1)
    order = np.random.default_rng(2).permutation(m)
    lay = heatmap_layout(M, [str(i) for i in range(m)], order, cmap="viridis")
    fig = draw_heatmap(lay)
    img = _png(fig, tmp_path)
    lut = _lut("viridis")
    rng = np.random.default_rng(3)
    for r, c in rng.integers(0, m, size=(60, 2)):
        expected = M[order[r], order[c]]
        want = np.clip((expected - lay.vmin) / (lay.vmax - lay.vmin), 0, 1) * 255
        got = _invert(_cell_rgb(fig, img, m, r, c), lut)
        assert abs(got - want) <= 2, (r, c, got, want)


def test_diverging_centres_zero_and_cutoff_paints_background(tmp_path):
    m = 12
    M = _matrix(m, 4)
    M[2, 5] = M[5, 2] = 0.0
    lay = heatmap_layout(M, [str(i) for i in range(m)], diverging=True)
    assert lay.vmin == -lay.vmax
    fig = draw_heatmap(lay)
    img = _png(fig, tmp_path)
    centre = matplotlib.colormaps[lay.cmap](0.5)[:3]
    assert np.allclose(_cell_rgb(fig, img, m, 2, 5), centre, atol=2 / 255)

    lay = heatmap_layout(M, [str(i) for i in range(m)], cutoff=0.1)
    fig = draw_heatmap(lay)
    img = _png(fig, tmp_path, "cut.png")
    low = np.argwhere(M < 0.1)
    high = np.argwhere(M >= 0.1)
    for r, c in low[:20]:
        assert np.allclose(_cell_rgb(fig, img, m, r, c), 1.0, atol=1 / 255)
    for r, c in high[:20]:
        assert not np.allclose(_cell_rgb(fig, img, m, r, c), 1.0, atol=1 / 255)


def test_contrast_is_a_gamma():
    M = _matrix(10)
    lin = heatmap_layout(M, list("abcdefghij"))
    gam = heatmap_layout(M, list("abcdefghij"), contrast=0.5)
    mid = (lin.vmin + lin.vmax) / 2
    assert lin.norm()(mid) == pytest.approx(0.5)
    assert gam.norm()(mid) == pytest.approx(0.5**0.5)


@pytest.mark.parametrize("m", [20, 150, 600])
def test_no_label_text_boxes_overlap(m):
    names = [f"class_{i:04d}_long_name" for i in range(m)]
    groups = {
        "spans": [
            {"label": f"block {k}", "level": 1 + k % 2, "start": s, "end": min(m, s + 3 + k % 5)}
            for k, s in enumerate(range(0, m - 3, 7))
        ]
    }
    fig = draw_heatmap(heatmap_layout(_matrix(m), names, groups=groups))
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in fig.heatmap_texts]
    assert boxes
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not boxes[i].overlaps(boxes[j])
    assert fig.heatmap_layout.show_names == (m <= 150)


def test_odd_names_render_literally(tmp_path):
    names = ["$x^2$", "a_b_c", "<b>bold</b>", r"\alpha", "50% & #1", "{}", "ünï", "a$b"]
    m = len(names)
    fig = draw_heatmap(heatmap_layout(_matrix(m), names))
    texts = fig.heatmap_texts
    got = {t.get_text() for t in texts}
    assert set(names) <= got
    renderer = fig.canvas.get_renderer()
    for t in texts:
        assert t.get_usetex() is False
        s, is_math = t._preprocess_math(t.get_text())
        assert is_math is False and s == t.get_text()
        t.get_window_extent(renderer)
    fig.savefig(tmp_path / "odd.png")
    fig.savefig(tmp_path / "odd.svg")


def test_groups_layout_matches_groups_json(tmp_path):
    m = 10
    names = [f"n{i}" for i in range(m)]
    order = [3, 1, 4, 0, 5, 9, 2, 6, 8, 7]
    groups = {
        "blocks": [
            {"id": 0, "level": 1, "start": 0, "end": 4, "label": "A"},
            {"id": 1, "level": 1, "start": 4, "end": 10, "label": "B"},
            {"id": 2, "level": 2, "start": 6, "end": 8, "label": "B1"},
        ],
        "spans": [{"block": 0, "level": 1, "label": "A", "start": 0, "end": 4}],
        "split_groups": [{"blocks": [0, 2], "spans": [[0, 4], [6, 8]]}],
        "failed_groups": [
            {
                "cluster": 0,
                "members": ["n3", "n9", "n7"],
                "member_ids": [3, 9, 7],
                "positions": [0, 5, 9],
            }
        ],
        "near_duplicates": [{"class_ids": [1, 2], "names": ["n1", "n2"]}],
    }
    lay = heatmap_layout(_matrix(m), names, order, groups=groups)
    assert lay.split_boxes == [(0, 4, 6, 8), (6, 8, 0, 4)]
    assert [fc["positions"].tolist() for fc in lay.failed_columns] == [[0, 5, 9]]
    assert lay.near_duplicates == [(1, 6)]
    assert lay.brackets == [{"start": 0, "end": 4, "level": 1, "label": "A", "stable": True}]
    fig = draw_heatmap(lay)
    img = _png(fig, tmp_path)
    # the failed column is blue exactly at the member positions
    ax = fig.heatmap_axes["failed0"]
    bb = ax.get_window_extent()
    x = int((bb.x0 + bb.x1) / 2)
    for p in range(m):
        y = int(img.shape[0] - (bb.y1 - (p + 0.5) * bb.height / m))
        is_blue = img[y, x, 2] > 0.6 and img[y, x, 0] < 0.3
        assert is_blue == (p in (0, 5, 9)), p
    # the split box edge is red
    rects = [p for p in fig.heatmap_axes["matrix"].patches]
    assert len(rects) == 2 and all(r.get_edgecolor()[:3] == (1.0, 0.0, 0.0) for r in rects)


def test_dendrogram_links_are_scipys_and_need_no_recursion():
    """The same links as scipy's dendrogram (its positions 5 + 10 k), and a 6,000-leaf chain,
    deeper than Python's recursion limit, where scipy's fails."""
    from classsim_spark.render.heatmap import dendrogram_links

    Z = linkage(np.random.default_rng(1).normal(size=(40, 3)), "average")
    theirs = dendrogram(Z, no_plot=True)
    ours = dendrogram_links(Z, np.asarray(theirs["leaves"]))
    as_set = lambda ic, dc: {(tuple(i), tuple(d)) for i, d in zip(ic, dc, strict=True)}  # noqa: E731
    scaled = [[(y - 5.0) / 10.0 for y in ic] for ic in theirs["icoord"]]
    assert as_set(ours["icoord"], ours["dcoord"]) == as_set(scaled, theirs["dcoord"])
    m = 6000
    chain = np.array([[0 if i == 0 else m + i - 1, i + 1, i + 1.0, i + 2] for i in range(m - 1)])
    order = np.arange(m)
    links = dendrogram_links(chain, order)
    assert links["icoord"][-1][2] == m - 1 and links["dcoord"][-1][1] == m - 1
    with pytest.raises(RecursionError):
        dendrogram(chain, no_plot=True)


def test_dendrogram_consistent_with_order():
    m = 15
    M = _matrix(m, 5)
    Z = linkage(np.random.default_rng(0).normal(size=(m, 3)), "average")
    leaves = dendrogram(Z, no_plot=True)["leaves"]
    lay = heatmap_layout(M, [str(i) for i in range(m)], leaves, linkage=Z)
    assert lay.dendrogram is not None
    ys = sorted({y for ic in lay.dendrogram["icoord"] for y in ic if y == int(y)})
    assert set(range(m)) <= set(ys)
    other = heatmap_layout(M, [str(i) for i in range(m)], linkage=Z)
    if leaves != list(range(m)):
        assert other.dendrogram is None and other.notes
    draw_heatmap(lay)


def test_taxonomy_bars():
    m = 6
    paths = [("a", "a1"), ("a", "a2"), ("b", "b1"), ("a", "a1"), ("b", "b2"), ("b", "b1")]
    lay = heatmap_layout(
        _matrix(m),
        list("uvwxyz"),
        [0, 3, 1, 2, 5, 4],
        taxonomy_paths=paths,
        taxonomy_levels=["top", "fine"],
    )
    assert [t["level"] for t in lay.taxonomy] == ["top", "fine"]
    top = lay.taxonomy[0]
    assert [top["labels"][c] for c in top["codes"]] == ["a", "a", "a", "b", "b", "b"]
    fig = draw_heatmap(lay)
    assert "taxonomy1" in fig.heatmap_axes


def test_similarity_heatmap_from_results_dir(tmp_path):
    from classsim_spark.core.findings import FailedGroup
    from classsim_spark.io.records import GroupsRecord
    from classsim_spark.io.results import SimilarityResult

    m = 8
    M = _matrix(m)
    res = SimilarityResult([f"k{i}" for i in range(m)], {}, {"logit": M}, path=tmp_path)
    order = [7, 6, 5, 4, 3, 2, 1, 0]
    failed = FailedGroup(
        0, ["k7", "k0"], [7, 0], [0, 7], [0.9, 0.8], 2, [[0], [1]], 2, 1.0, 0.7, 0.5, 0.4
    )
    record = GroupsRecord(
        {"transform": "logit"},
        order={"transform": "logit", "order": order},
        failed_groups=[failed],
    )
    (tmp_path / "groups.json").write_text(json.dumps(record.to_json()))
    fig = similarity_heatmap(res)
    lay = fig.heatmap_layout
    assert lay.order.tolist() == order
    assert np.array_equal(lay.matrix, M[np.ix_(order, order)])
    assert lay.failed_columns[0]["positions"].tolist() == [0, 7]


def test_vector_output_keeps_matrix_rasterised(tmp_path):
    m = 200
    fig = draw_heatmap(heatmap_layout(_matrix(m), [f"c{i}" for i in range(m)]))
    svg = save_figure(fig, tmp_path / "h.svg").read_text()
    assert svg.count("<image") >= 1
    assert svg.count("<path") < 2000  # not one vector path per cell
    img = mpimg.imread(save_figure(fig, tmp_path / "h.png"))
    w, h = fig.heatmap_layout.figsize
    assert img.shape[:2] == (np.ceil(h * fig.dpi), np.ceil(w * fig.dpi))


def test_similarity_heatmap_reads_taxonomy_file(tmp_path):
    from classsim_spark.io.results import SimilarityResult

    m = 4
    res = SimilarityResult(["w", "x", "y", "z"], {}, {"rank": _matrix(m)}, path=tmp_path)
    (tmp_path / "tax.csv").write_text("name,top\nw,A\nx,B\ny,A\nz,B\n")
    (tmp_path / "groups.json").write_text(
        json.dumps(
            {
                "chosen": {"transform": "rank"},
                "order": {"transform": "rank", "order": [0, 2, 1, 3]},
                "taxonomy": {"file": str(tmp_path / "tax.csv"), "levels": ["top"]},
            }
        )
    )
    lay = similarity_heatmap(res).heatmap_layout
    top = lay.taxonomy[0]
    assert top["level"] == "top"
    assert [top["labels"][c] for c in top["codes"]] == ["A", "A", "B", "B"]


@pytest.mark.parametrize("seed", range(6))
def test_place_labels_is_the_least_squares_placement(seed):
    from scipy.optimize import minimize

    rng = np.random.default_rng(seed)
    n, height, lo, hi = 7, 1.0, 0.0, 12.0
    t = np.sort(rng.uniform(-2, 14, n))
    y = place_labels(t, height, lo, hi)
    assert np.all(np.diff(y) >= height - 1e-9) and y[0] >= lo - 1e-9 and y[-1] <= hi + 1e-9
    cons = [{"type": "ineq", "fun": lambda v, i=i: v[i + 1] - v[i] - height} for i in range(n - 1)]
    best = minimize(
        lambda v: ((v - t) ** 2).sum(),
        np.linspace(lo, hi, n),
        method="SLSQP",
        bounds=[(lo, hi)] * n,
        constraints=cons,
        options={"ftol": 1e-12},
    )
    assert ((y - t) ** 2).sum() <= best.fun + 1e-6
    # labels far apart stay exactly at their targets
    far = place_labels([1.0, 5.0, 9.0], 1.0, 0.0, 10.0)
    assert far.tolist() == [1.0, 5.0, 9.0]
    with pytest.raises(ValueError):
        place_labels([0.0, 0.5, 1.0], 1.0, 0.0, 1.5)


@pytest.mark.parametrize(
    "m, pool, side",
    [(50, 4, 13), (147, 10, 15)],  # one strip, blocks of 4, the last of 2; three strips, last 7
)
def test_large_matrices_are_drawn_as_mean_colours_of_blocks(monkeypatch, m, pool, side):
    """Above MAX_IMAGE_SIDE classes each image pixel is the mean colour of f x f cells (the
    oracle: the full image averaged block by block with numpy), and the figure's matrix is a
    device pixel per image pixel."""
    from classsim_spark.render import heatmap

    monkeypatch.setattr(heatmap, "MAX_IMAGE_SIDE", 16)
    M = _matrix(m, 9)
    lay = heatmap_layout(M, [str(i) for i in range(m)], names_max=10, title="t", dpi=2.0)
    assert lay.pool == pool
    full = lay.rgba().astype(float)
    image = lay.image()
    assert image.shape == (side, side, 4)
    edges = list(range(0, m, pool)) + [m]
    for i in range(side):
        for j in range(side):
            block = full[edges[i] : edges[i + 1], edges[j] : edges[j + 1]]
            assert np.array_equal(image[i, j], np.round(block.mean(axis=(0, 1))))
    assert lay.matrix_inches == max(6.0, (side + 1) / 2.0)
    fig = draw_heatmap(lay)
    assert f"mean of {pool} x {pool} cells" in fig.heatmap_axes["matrix"].get_title()


def test_pooled_counts_show_their_largest_value(monkeypatch):
    """A count matrix pooled f x f shows each block's largest count (a lone confusion keeps
    its colour instead of fading into three background cells); the oracle: matplotlib's
    colour of numpy's block maximum, hidden (background) where the block holds no count."""
    from classsim_spark.render import heatmap

    monkeypatch.setattr(heatmap, "MAX_IMAGE_SIDE", 16)
    m = 50  # blocks of 4, the last of 2
    rng = np.random.default_rng(4)
    C = np.zeros((m, m))
    C[rng.integers(0, m, 40), rng.integers(0, m, 40)] = rng.integers(1, 30, 40)
    names = [str(i) for i in range(m)]
    lay = heatmap_layout(C, names, cmap="plasma", cutoff=1.0, pool_by="max", title="counts")
    image = lay.image()
    edges = list(range(0, m, 4)) + [m]
    peaks = np.array(
        [
            [lay.matrix[edges[i] : edges[i + 1], edges[j] : edges[j + 1]].max() for j in range(13)]
            for i in range(13)
        ]
    )
    want = lay.colormap()(lay.norm()(np.ma.array(peaks, mask=peaks < 1.0)), bytes=True)
    np.testing.assert_array_equal(image, want)
    assert (peaks >= 1).sum() >= 20  # lone counts in most non-empty blocks
    fig = draw_heatmap(lay)
    assert "largest of 4 x 4 cells" in fig.heatmap_axes["matrix"].get_title()
    with pytest.raises(ValueError, match="pool_by"):
        heatmap_layout(C, [str(i) for i in range(m)], pool_by="median")


def test_rgba_equals_matplotlib_colour_mapping():
    M = _matrix(150, 7)  # more rows than are coloured at once
    M[3, 4] = M[100, 5] = np.nan
    for kw in ({}, {"diverging": True, "contrast": 0.5}, {"cutoff": 0.0, "contrast": 2.0}):
        lay = heatmap_layout(M, [str(i) for i in range(150)], **kw)
        masked = np.ma.array(lay.matrix, mask=lay.hidden())
        want = lay.colormap()(lay.norm()(masked), bytes=True)  # matplotlib's own masked path
        np.testing.assert_array_equal(lay.rgba(), want)
    counts = np.random.default_rng(0).poisson(0.7, size=(20, 20)).astype(float)
    lay = heatmap_layout(counts, [str(i) for i in range(20)], log=True, cutoff=1.0)
    assert lay.vmin == counts[(counts > 0) & ~np.eye(20, dtype=bool)].min()
    img = lay.rgba()
    assert np.all(img[counts == 0] == 255)  # zero counts are background (white)


@pytest.mark.parametrize("m", [400, 1200])
def test_large_m_callouts_name_notable_classes_without_overlap(m):
    names = [f"class_{i:04d}_with_a_long_name" for i in range(m)]
    rng = np.random.default_rng(m)
    order = rng.permutation(m)
    crowd = list(range(100, 160))  # sixty neighbours in class-id order, scattered by the order
    groups = {
        "near_duplicates": [{"class_ids": [5, 9]}],
        "stars": [{"class_id": int(i), "z": float(i)} for i in crowd],
        "spans": [
            {"label": f"block {k}", "level": 1, "start": s, "end": s + m // 8}
            for k, s in enumerate(range(0, m, m // 8))
        ],
    }
    lay = heatmap_layout(_matrix(m), names, order, groups=groups)
    assert not lay.show_names
    named = [c["name"] for c in lay.callouts]
    assert {"class_0005_with_a_long_name", "class_0009_with_a_long_name"} <= set(named)
    assert len(named) <= 60
    pos = np.empty(m, dtype=int)
    pos[order] = np.arange(m)
    for c in lay.callouts:
        assert c["position"] == pos[names.index(c["name"])]
    fig = draw_heatmap(lay)
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in fig.heatmap_texts]
    shown = {t.get_text() for t in fig.heatmap_texts}
    assert set(named) <= shown  # leader-line labels are never dropped
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not boxes[i].overlaps(boxes[j])
    bb = fig.heatmap_axes["matrix"].get_window_extent()
    assert bb.width >= m and bb.height >= m


def test_highlight_names_chosen_classes_and_rejects_unknown():
    m = 200
    names = [f"c{i}" for i in range(m)]
    lay = heatmap_layout(_matrix(m), names, highlight=["c7", 150])
    assert [c["name"] for c in lay.callouts] == ["c7", "c150"]
    from classsim_spark.render.inputs import FigureError

    with pytest.raises(FigureError, match="1 highlighted classes not among the classes"):
        heatmap_layout(_matrix(m), names, highlight=["c7", "nope"])


def test_star_classes_get_tick_marks():
    m = 12
    order = list(range(m))[::-1]
    groups = {"stars": [{"class_id": 2, "name": "c2"}, {"class_id": 9, "name": "c9"}]}
    lay = heatmap_layout(_matrix(m), [f"c{i}" for i in range(m)], order, groups=groups)
    assert lay.ticks.tolist() == [2, 9]  # positions of classes 9 and 2 in the reversed order
    ax = draw_heatmap(lay).heatmap_axes["matrix"]
    assert ax.get_xticks(minor=True).tolist() == [2, 9]


@pytest.mark.parametrize("m", [4000])
def test_callouts_never_overlap_at_4000_classes(m):
    """Layout only: the most labels that fit, at least one label height apart, near their rows."""
    M = np.eye(m)
    names = [f"k{i}" for i in range(m)]
    lay = heatmap_layout(M, names, highlight=list(range(0, m, 7)), callouts_max=10_000)
    y = np.array([c["y"] for c in lay.callouts])
    height = 1.25 * 7.0 * m / (lay.matrix_inches * 72)
    assert len(y) == int((m - height) // height) + 1  # as many as the side holds
    assert np.all(np.diff(y) >= height - 1e-6)
    assert y.min() >= -0.5 and y.max() <= m - 0.5


@pytest.mark.parametrize("m", [3, 10, 60, 150, 400])
def test_every_label_lies_inside_the_figure(m):
    names = [("automobile_" * (1 + i % 3)) + str(i) for i in range(m)]
    names[1] = "x" * 200  # too long: shortened with an ellipsis
    names[2] = "two\nlines"
    groups = {
        "spans": [
            {
                "label": "a block label far too long to fit the label column " * 3,
                "level": 1,
                "start": 0,
                "end": m,
            }
        ]
    }
    title = "a title much longer than the matrix is wide, " * 4
    fig = draw_heatmaps(
        [heatmap_layout(_matrix(m), names, groups=groups, title=title, highlight=[1, 2])] * 2
    )
    renderer = fig.canvas.get_renderer()
    width, height = fig.canvas.get_width_height()
    titles = [p["matrix"].title for p in fig.heatmap_panels]
    for t in [*fig.heatmap_texts, *titles]:
        bb = t.get_window_extent(renderer)
        assert bb.x0 >= 0 and bb.y0 >= 0 and bb.x1 <= width and bb.y1 <= height, t.get_text()
    shown = {t.get_text() for t in fig.heatmap_texts}
    assert any(t.startswith("xxx") and t.endswith("…") for t in shown)
    assert "two lines" in shown


def test_colour_limits_are_the_exact_off_diagonal_range_at_large_m():
    """Sparse counts at m = 2,000: the limits are the true extremes (numpy oracle)."""
    m = 2000
    C = np.zeros((m, m))
    C[np.arange(m), np.arange(m)] = 1e6  # the diagonal never sets the scale
    rng = np.random.default_rng(0)
    cells = rng.integers(0, m, size=(20, 2))
    C[cells[:, 0], cells[:, 1]] = rng.integers(10, 500, size=20)
    off = C[~np.eye(m, dtype=bool)]
    names = [str(i) for i in range(m)]
    lin = heatmap_layout(C, names, cutoff=1.0)
    assert (lin.vmin, lin.vmax) == (1.0, off.max())
    log = heatmap_layout(C, names, log=True)
    assert (log.vmin, log.vmax) == (off[off > 0].min(), off.max())
    S = np.tanh(rng.normal(0, 0.1, size=(m, m)))
    S[7, 1500] = 0.98
    div = heatmap_layout(S, names, diverging=True)
    assert div.vmax == pytest.approx(np.abs(S[~np.eye(m, dtype=bool)]).max())


def test_duplicate_highlights_make_one_callout():
    lay = heatmap_layout(
        np.eye(200), [f"c{i}" for i in range(200)], highlight=["c5", "c5", 5, "c7"]
    )
    assert [c["name"] for c in lay.callouts] == ["c5", "c7"]


@pytest.mark.parametrize("suffix", ["svg", "pdf", "png"])
def test_the_same_figure_gives_the_same_bytes(tmp_path, suffix):
    files = []
    for i in range(2):  # two figures, as two runs would draw them
        fig = draw_heatmap(heatmap_layout(_matrix(12), [f"c{j}" for j in range(12)]))
        files.append(save_figure(fig, tmp_path / f"f{i}.{suffix}").read_bytes())
    assert files[0] == files[1]
    if suffix == "svg":
        assert b"<dc:date>" not in files[0] and b'clip-path="url(#p' in files[0]


@pytest.mark.parametrize(
    ("m", "inches", "dpi"), [(50, (3, 3), 100), (37, (2.3, 4.1), 77), (200, (5, 5), 100)]
)
def test_cell_image_draws_the_pixels_imshow_draws(m, inches, dpi):
    """The matrix artist samples cells by index; matplotlib's own image (interpolation "none",
    nearest on Agg) is the oracle, at one or more pixels per cell."""
    import matplotlib.pyplot as plt

    from classsim_spark.render.heatmap import _cell_image

    cells = np.random.default_rng(m).integers(0, 256, size=(m, m, 4), dtype=np.uint8)
    cells[..., 3] = 255
    extent = (-0.5, m - 0.5, m - 0.5, -0.5)
    drawn = []
    for ours in (False, True):
        fig = plt.figure(figsize=inches, dpi=dpi)
        ax = fig.add_axes((0.1, 0.12, 0.8, 0.77))
        if ours:
            ax.add_image(_cell_image(ax, cells, extent=extent, origin="upper"))
        else:
            ax.imshow(cells, interpolation="none", aspect="auto", extent=extent)
        ax.set_xlim(-0.5, m - 0.5)
        ax.set_ylim(m - 0.5, -0.5)
        fig.canvas.draw()
        drawn.append(np.asarray(fig.canvas.buffer_rgba()).copy())
        plt.close(fig)
    differ = np.any(drawn[0] != drawn[1], axis=2)
    assert differ.sum() <= 1e-4 * differ.size  # pixel centres that fall on a cell edge
