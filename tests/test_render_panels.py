"""Distribution, frequency and label-baseline panels: layouts against oracles; figures render."""

import io
import json

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image
from scipy import stats
from scipy.cluster.hierarchy import leaves_list

from classsim_spark.core.findings import Star
from classsim_spark.core.moments import Moments
from classsim_spark.core.taxonomy import Taxonomy, linkage_from_matrix
from classsim_spark.io.records import GroupsRecord
from classsim_spark.io.results import SimilarityResult
from classsim_spark.render import baselines, distributions, frequencies
from classsim_spark.render.inputs import FigureError

ODD = ["a$x^2$b", r"c_\d", "plain", "<b>&amp;", "d%e", "f{g}", "$", "h_i_j"]


def _star(class_id: int, name: str, z: float = 3.0) -> Star:
    return Star(class_id, name, 9, z, "all", 0.5, 0.3, None, None, None, z)


def _result(tmp_path, multi_label: bool, m: int = 8, n: int = 400, seed: int = 0):
    rng = np.random.default_rng(seed)
    classes = ODD[:m] if m <= len(ODD) else [f"class_{i}" for i in range(m)]
    matrices, moments = {}, {}
    for t, shift in (("logit", 0.0), ("rank", 3.0)):
        x = rng.normal(size=(n, m)) @ rng.normal(size=(m, m)) + shift
        matrices[t] = np.corrcoef(x, rowvar=False)
        moments[t] = Moments.from_block(x)
    freq = rng.integers(1, 200, size=m).astype(np.int64)
    counts = {"frequencies": freq}
    if multi_label:
        Y = (rng.random((n, m)) < 0.2).astype(np.int64)
        counts["cooccurrence"] = Y.T @ Y
    else:
        counts["confusion"] = rng.integers(0, 30, size=(m, m)).astype(np.int64)
    tmp_path.mkdir(parents=True, exist_ok=True)
    order = list(rng.permutation(m).tolist())
    groups = GroupsRecord(
        {"transform": "logit"},
        order={"transform": "logit", "order": order},
        stars=[_star(5, classes[5]), _star(2, classes[2])],
    )
    (tmp_path / "groups.json").write_text(json.dumps(groups.to_json()))
    return SimilarityResult(classes, moments, matrices, path=tmp_path, counts=counts), order


def _png_size(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    buf.seek(0)
    return Image.open(buf).size


def _texts(fig):
    FigureCanvasAgg(fig).draw()
    texts = [t for t in fig.findobj(matplotlib.text.Text) if t.get_visible()]
    for t in texts:  # names with markup are drawn literally, never as mathtext
        if t.get_text() in ODD:
            assert t.get_parse_math() is False, t.get_text()
    return [t.get_text() for t in texts]


# --------------------------------------------------------------------------- distributions


def test_distribution_layout_matches_numpy_and_scipy(tmp_path):
    r, _ = _result(tmp_path, False)
    samples = {"rank": np.random.default_rng(1).gamma(2.0, size=300)}
    L = distributions.distribution_layout(r, class_name="plain", samples=samples, bins=20)
    assert L.class_index == 2 and L.class_name == "plain"
    by_t = {p.transform: p for p in L.panels}
    assert set(by_t) == {"logit", "rank"}
    for t, p in by_t.items():
        M = r.matrix(t)
        off = M[np.triu_indices(len(M), 1)]
        counts, edges = np.histogram(off, bins=20)
        np.testing.assert_array_equal(p.similarity_counts, counts)
        np.testing.assert_allclose(p.similarity_edges, edges)
        assert p.skewness == pytest.approx(stats.skew(off))
        assert p.excess_kurtosis == pytest.approx(stats.kurtosis(off))
    # rank: from the samples
    p = by_t["rank"]
    assert p.input_source == "samples"
    c, e = np.histogram(samples["rank"], bins=20)
    np.testing.assert_array_equal(p.input_counts, c)
    np.testing.assert_allclose(p.input_edges, e)
    assert p.input_skewness == pytest.approx(stats.skew(samples["rank"]))
    # logit: normal approximation from the moments of class 2
    p = by_t["logit"]
    assert p.input_source == "normal" and p.input_counts is None
    mom = r.moments["logit"]
    assert p.input_mean == pytest.approx(mom.mean[2])
    assert p.input_sd == pytest.approx(np.sqrt(mom.comoment[2, 2] / (mom.n - 1)))
    assert p.normal_x[np.argmax(p.normal_pdf)] == pytest.approx(p.input_mean)


def test_distribution_figure_renders_and_says_normal_approximation(tmp_path):
    r, _ = _result(tmp_path, False)
    L = distributions.distribution_layout(r, class_name="a$x^2$b")
    fig = distributions.draw_distributions(L, figsize=(8, 5), dpi=50)
    assert _png_size(fig) == (400, 250)
    texts = "\n".join(_texts(fig))
    assert "a$x^2$b" in texts
    assert texts.count("normal approx.") == 2
    assert "skew = " in texts
    with pytest.raises(FigureError, match="'nope' is not among the 8 classes"):
        distributions.distribution_layout(r, class_name="nope")


def test_distribution_uses_the_stored_row_sample(tmp_path):
    """Input values come from sample.npy, transformed as the scan does (scipy/numpy oracles)."""
    from scipy.special import softmax

    m, k = 6, 4
    logits = np.random.default_rng(5).normal(0, 2, size=(500, m)).astype(np.float32)
    mo = Moments.from_block(logits.astype(np.float64))
    matrices = {t: mo.correlation().matrix for t in ("logit", "probability", "rank")}
    freq = np.array([1, 2, 3, 4, 50, 5])  # class 4 is the most frequent: shown by default
    r = SimilarityResult(
        [f"c{i}" for i in range(m)],
        dict.fromkeys(matrices, mo),
        matrices,
        counts={"frequencies": freq},
        sample=logits,
    )
    L = distributions.distribution_layout(r, bins=15)
    assert L.class_index == k
    x = logits.astype(np.float64)
    want = {
        "logit": x[:, k],
        "probability": softmax(x, axis=1)[:, k],
        "rank": stats.rankdata(x, axis=1)[:, k],
    }
    for p in L.panels:
        assert p.input_source == "samples"
        counts, edges = np.histogram(want[p.transform], bins=15)
        np.testing.assert_array_equal(p.input_counts, counts)
        np.testing.assert_allclose(p.input_edges, edges, rtol=1e-12)
        assert p.input_skewness == pytest.approx(stats.skew(want[p.transform]), rel=1e-9)
    texts = "\n".join(_texts(distributions.draw_distributions(L)))
    assert "c4 (500 sampled rows)" in texts and "normal approx." not in texts


# --------------------------------------------------------------------------- frequencies


def test_split_rule_hand_checked():
    # total 100: 50 -> 50 %, 50+20 -> 70 %, +10 -> 80 % => head of 3
    assert frequencies.split_point([50, 20, 10, 8, 6, 4, 2]) == 3
    assert frequencies.split_point([50, 20, 10, 8, 6, 4, 2], coverage=0.5) == 1
    assert frequencies.split_point([50, 20, 10, 8, 6, 4, 2], coverage=0.81) == 4
    assert frequencies.split_point([0, 0, 0]) == 3
    assert frequencies.split_point([5]) == 1


def test_frequency_layout_sorted_descending_stable():
    counts = np.array([2, 50, 10, 20, 4, 10, 8, 6], dtype=np.int64)
    names = [f"c{i}" for i in range(8)]
    L = frequencies.frequency_layout(counts, names)
    np.testing.assert_array_equal(L.order, [1, 3, 2, 5, 6, 7, 4, 0])
    np.testing.assert_array_equal(L.counts, [50, 20, 10, 10, 8, 6, 4, 2])
    assert L.names[:4] == ["c1", "c3", "c2", "c5"]
    # 50+20+10 = 80 of 110 = 72.7 %; +10 = 90 / 110 = 81.8 % => 4
    assert L.split == 4
    assert L.head_share == pytest.approx(90 / 110)


def test_frequency_figure_from_result(tmp_path):
    r, _ = _result(tmp_path, True)
    L = frequencies.frequency_layout(r, log=True)
    np.testing.assert_array_equal(L.counts, np.sort(r.counts["frequencies"])[::-1])
    fig = frequencies.draw_frequencies(L, figsize=(9, 4), dpi=50)
    assert _png_size(fig) == (450, 200)
    texts = _texts(fig)
    head_names = set(L.names[: L.split])
    assert head_names <= set(texts)
    assert fig.axes[0].get_yscale() == "log"


def test_frequency_tick_labels_thinned_for_many_classes():
    counts = np.arange(2000, 0, -1)
    L = frequencies.frequency_layout(counts)
    fig = frequencies.draw_frequencies(L, max_labels=30)
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    for ax in fig.axes:
        assert len(ax.get_xticks()) <= 30
        boxes = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()]
        assert len(boxes) >= 2
        for a, b in zip(boxes, boxes[1:], strict=False):
            assert not a.overlaps(b)


# --------------------------------------------------------------------------- baselines


def _cell_rgb(fig, panel, r, c):
    """RGB (0-1) of the centre pixel of cell (r, c) of a panel's matrix, from the drawn canvas."""
    img = np.asarray(fig.canvas.buffer_rgba())[..., :3] / 255.0
    ax = fig.heatmap_panels[panel]["matrix"]
    m = fig.heatmap_layouts[panel].m
    bb = ax.get_window_extent()
    x = bb.x0 + (c + 0.5) * bb.width / m
    y = bb.y1 - (r + 0.5) * bb.height / m
    return img[int(img.shape[0] - y), int(x)]


def test_confusion_layout_diagonal_and_orders(tmp_path):
    r, order = _result(tmp_path, False)
    L = baselines.confusion_layout(r, log=True)
    C = r.counts["confusion"]
    assert np.all(np.diag(L.confusion) == 0)
    off = ~np.eye(len(C), dtype=bool)
    np.testing.assert_array_equal(L.confusion[off], C[off])
    np.testing.assert_array_equal(L.similarity_order, order)
    Z = linkage_from_matrix(C, "confusion")
    np.testing.assert_array_equal(L.own_order, leaves_list(Z))
    P = L.confusion_in(L.own_order)
    np.testing.assert_array_equal(P, L.confusion[np.ix_(L.own_order, L.own_order)])
    assert L.transform == "logit"
    # three panels: similarity and confusion in the similarity order, confusion in its own
    sim, by_sim, own = L.panels
    np.testing.assert_array_equal(sim.matrix, r.matrix("logit")[np.ix_(order, order)])
    np.testing.assert_array_equal(by_sim.matrix, L.confusion_in(order))
    np.testing.assert_array_equal(own.matrix, P)
    assert own.dendrogram is not None and by_sim.log and own.log
    assert by_sim.vmin == C[off][C[off] > 0].min() and by_sim.vmax == C[off].max()
    # the most confused classes come first
    volume = L.confusion.sum(0) + L.confusion.sum(1)
    assert np.all(np.diff(volume[L.most_confused]) <= 0)

    fig = baselines.draw_confusion(L)
    fig.canvas.draw()
    w, h = fig.get_size_inches() * fig.dpi
    assert _png_size(fig) == (round(w), round(h))
    assert set(ODD) <= set(_texts(fig))
    # pixels: the removed diagonal is background; the largest count is plasma's top colour
    top = np.array(matplotlib.colormaps["plasma"](1.0)[:3])
    for panel, Q in ((1, L.confusion_in(order)), (2, P)):
        assert np.allclose(_cell_rgb(fig, panel, 0, 0), 1.0, atol=1 / 255)
        rr, cc = np.unravel_index(np.argmax(Q), Q.shape)
        assert np.allclose(_cell_rgb(fig, panel, rr, cc), top, atol=2 / 255)


def test_confusion_requires_confusion(tmp_path):
    r, _ = _result(tmp_path, True)
    with pytest.raises(KeyError):
        baselines.confusion_layout(r)


def test_cooccurrence_ordered_by_taxonomy_with_stars(tmp_path):
    r, _ = _result(tmp_path, True)
    paths = [
        ("b", "b2"),
        ("a", "a2"),
        ("b", "b1"),
        ("a", "a1"),
        ("a", "a2"),
        ("c", "c1"),
        ("b", "b1"),
        ("a", "a1"),
    ]
    tax = Taxonomy(("top", "mid"), paths)
    L = baselines.cooccurrence_layout(r, taxonomy=tax)
    # hand-checked: a1: 3,7; a2: 1,4; b1: 2,6; b2: 0; c1: 5
    np.testing.assert_array_equal(L.order, [3, 7, 1, 4, 2, 6, 0, 5])
    C = r.counts["cooccurrence"].astype(float)
    np.fill_diagonal(C, 0)
    np.testing.assert_array_equal(L.ordered, C[np.ix_(L.order, L.order)])
    # stars 5 and 2 sit at positions 7 and 4
    np.testing.assert_array_equal(L.star_positions, [4, 7])
    assert L.star_names == [r.classes[2], r.classes[5]]
    np.testing.assert_array_equal(L.panel.ticks, [4, 7])
    assert [t["level"] for t in L.panel.taxonomy] == ["top", "mid"]
    fig = baselines.draw_cooccurrence(L)
    texts = _texts(fig)
    assert r.classes[2] in texts and r.classes[5] in texts
    ax = fig.heatmap_axes["matrix"]
    np.testing.assert_array_equal(ax.get_xticks(minor=True), [4, 7])
    np.testing.assert_array_equal(ax.get_yticks(minor=True), [4, 7])


def test_large_m_names_most_confused_and_stars_without_overlap(tmp_path):
    m = 300
    rng = np.random.default_rng(3)
    classes = [f"class_{i:03d}" for i in range(m)]
    C = rng.poisson(0.05, size=(m, m)).astype(np.int64)
    C[17, 250] = C[250, 17] = 400  # the most confused pair
    r = SimilarityResult(
        classes,
        {},
        {"logit": np.eye(m)},
        path=tmp_path,
        counts={"confusion": C, "cooccurrence": C + C.T},
    )
    stars = list(range(0, m, 3))
    groups = GroupsRecord(
        {"transform": "logit"}, stars=[_star(i, classes[i], m - i) for i in stars]
    )
    (tmp_path / "groups.json").write_text(json.dumps(groups.to_json()))
    conf = baselines.confusion_layout(r, log=True)
    assert set(conf.most_confused[:2]) == {17, 250}
    named = {c["name"] for c in conf.panels[1].callouts}
    assert {"class_017", "class_250"} <= named
    cooc = baselines.cooccurrence_layout(r)
    assert {c["name"] for c in cooc.panel.callouts} <= {classes[i] for i in stars}
    np.testing.assert_array_equal(cooc.panel.ticks, stars)  # every star has a tick mark
    for fig in (baselines.draw_confusion(conf), baselines.draw_cooccurrence(cooc)):
        renderer = fig.canvas.get_renderer()
        boxes = [t.get_window_extent(renderer) for t in fig.heatmap_texts]
        assert len(boxes) >= 20
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                assert not boxes[i].overlaps(boxes[j])
        for lay, axes in zip(fig.heatmap_layouts, fig.heatmap_panels, strict=True):
            bb = axes["matrix"].get_window_extent()
            assert bb.width >= lay.m and bb.height >= lay.m  # >= 1 pixel per class


def test_cooccurrence_without_taxonomy_keeps_class_order(tmp_path):
    r, _ = _result(tmp_path, True)
    L = baselines.cooccurrence_layout(r)
    np.testing.assert_array_equal(L.order, np.arange(r.m))
    assert L.taxonomy_levels == () and L.panel.taxonomy == []
