"""Tests of the synthetic demo data: determinism, Parquet layouts, taxonomy, planted structure.

The planted structure is checked the way a user would find it: Pearson correlation of the logit
columns (``numpy.corrcoef``), grouped by the taxonomy in ``classes.csv``, against the answers.
"""

import json
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classsim_spark.demo import writer
from classsim_spark.demo.generator import DemoSpec, generate
from classsim_spark.demo.writer import write_demo
from classsim_spark.io.results import UnsafeOutputError

# 10k samples: three random blocks, three date partitions, several chunks.
SMALL = DemoSpec(samples=10_000, classes=60, top_groups=3, mid_groups=10, days=3, seed=7)
SMALL_MULTI = DemoSpec(**{**SMALL.__dict__, "multi_label": True})


def read(path, name="scores") -> pa.Table:
    """A written dataset with its hive ``date`` column, sorted by sample_id."""
    table = ds.dataset(path / name, format="parquet", partitioning="hive").to_table()
    return table.sort_by([("sample_id", "ascending")])


def list_matrix(column: pa.ChunkedArray, width: int) -> np.ndarray:
    return column.combine_chunks().flatten().to_numpy().reshape(-1, width)


@pytest.fixture(scope="module", params=[False, True], ids=["single", "multi"])
def planted(request):
    return generate(DemoSpec(multi_label=request.param))


@pytest.fixture(scope="module")
def pairs(planted):
    """Correlation matrix, upper-triangle pairs (i, j, corr) and same-middle/top masks."""
    corr = np.corrcoef(planted.scores, rowvar=False)
    mid = planted.taxonomy["level2"].to_numpy()
    top = planted.taxonomy["level1"].to_numpy()
    i, j = np.triu_indices(len(mid), 1)
    return corr, i, j, corr[i, j], mid[i] == mid[j], top[i] == top[j]


@pytest.fixture(scope="module")
def small():
    return generate(SMALL)


@pytest.fixture(scope="module")
def small_multi():
    return generate(SMALL_MULTI)


# --- determinism -------------------------------------------------------------------------------


def test_same_spec_gives_identical_data_and_other_seed_differs(small):
    again = generate(SMALL)
    np.testing.assert_array_equal(again.scores, small.scores)
    np.testing.assert_array_equal(again.labels, small.labels)
    np.testing.assert_array_equal(again.dates, small.dates)
    pd.testing.assert_frame_equal(again.taxonomy, small.taxonomy)
    assert again.answers == small.answers

    other = generate(DemoSpec(**{**SMALL.__dict__, "seed": 8}))
    assert other.scores.shape == small.scores.shape
    assert np.mean(other.scores == small.scores) < 0.01
    assert not np.array_equal(other.labels, small.labels)
    assert not other.taxonomy.equals(small.taxonomy)


def test_written_values_do_not_depend_on_chunk_rows(tmp_path, small_multi):
    tables = {}
    for chunk in (1000, 7000):
        out = write_demo(SMALL_MULTI, tmp_path / f"c{chunk}", chunk_rows=chunk)
        tables[chunk] = read(out)
        groups = [
            pq.ParquetFile(f).metadata.row_group(g).num_rows
            for f in sorted(out.glob("scores/*/*.parquet"))
            for g in range(pq.ParquetFile(f).metadata.num_row_groups)
        ]
        assert max(groups) <= chunk and sum(groups) == SMALL.samples
        # row groups end at multiples of chunk_rows and at the dates' first rows 3334, 6667
        assert len(groups) == (12 if chunk == 1000 else 4)
    assert tables[1000].equals(tables[7000])
    # and both equal the in-memory generator
    got = list_matrix(tables[1000]["scores"], SMALL.classes)
    np.testing.assert_array_equal(got, small_multi.scores)
    labels = tables[1000]["labels"].to_pylist()
    assert all(a == b.tolist() for a, b in zip(labels, small_multi.labels, strict=True))


# --- layouts -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def written(tmp_path_factory, small):
    """SMALL written in every layout, with an odd chunk size."""
    root = tmp_path_factory.mktemp("layouts")
    return {
        (layout, k): write_demo(
            SMALL, root / f"{layout}{k}", layout=layout, top_k=k, chunk_rows=2500
        )
        for layout, k in (("array", None), ("wide", None), ("long", None), ("long", 5))
    }


def test_array_layout_schema_partitions_and_values(written, small):
    out = written["array", None]
    dates = [f"2026-01-0{d}" for d in (1, 2, 3)]
    assert sorted(p.name for p in (out / "scores").iterdir()) == [f"date={d}" for d in dates]
    assert not (out / "labels").exists()
    schema = pq.read_schema(next((out / "scores").glob("date=2026-01-01/*.parquet")))
    assert schema.names == ["sample_id", "scores", "label"]
    assert schema.field("sample_id").type == pa.int64()
    assert schema.field("scores").type.value_type == pa.float32()
    assert pa.types.is_list(schema.field("scores").type)
    assert schema.field("label").type == pa.int32()

    table = read(out)
    np.testing.assert_array_equal(table["sample_id"].to_numpy(), np.arange(SMALL.samples))
    np.testing.assert_array_equal(list_matrix(table["scores"], SMALL.classes), small.scores)
    np.testing.assert_array_equal(table["label"].to_numpy(), small.labels)
    # dates: contiguous by sample_id, as generate() says, every partition used
    np.testing.assert_array_equal(table["date"].to_numpy().astype("datetime64[D]"), small.dates)
    assert list(np.unique(small.dates).astype(str)) == dates == small.answers["dates"]
    assert np.all(np.diff(small.dates.astype(np.int64)) >= 0)


def test_multi_label_array_schema(tmp_path, small_multi):
    out = write_demo(SMALL_MULTI, tmp_path / "m")
    schema = read(out).schema
    assert schema.names == ["sample_id", "scores", "labels", "date"]
    assert schema.field("labels").type.value_type == pa.int32()
    assert json.loads((out / "answers.json").read_text())["label_column"] == "labels"


def test_wide_columns_equal_array_scores(written, small):
    table = read(written["wide", None])
    names = small.taxonomy["name"].tolist()
    assert table.column_names == ["sample_id", *names, "label", "date"]
    assert all(table.schema.field(n).type == pa.float32() for n in names)
    wide = np.column_stack([table[n].to_numpy() for n in names])
    np.testing.assert_array_equal(wide, small.scores)
    np.testing.assert_array_equal(table["label"].to_numpy(), small.labels)


def test_long_layout_pivots_back_to_array(written, small):
    out = written["long", None]
    table = read(out)
    assert table.column_names == ["sample_id", "class", "score", "date"]
    assert table.schema.field("class").type == pa.string()
    assert table.num_rows == SMALL.samples * SMALL.classes
    frame = table.select(["sample_id", "class", "score"]).to_pandas()
    class_id = dict(zip(small.taxonomy["name"], small.taxonomy["class_id"], strict=True))
    pivot = np.full(small.scores.shape, np.nan, dtype=np.float32)
    rows, cols = frame["sample_id"].to_numpy(), frame["class"].map(class_id).to_numpy()
    pivot[rows, cols] = frame["score"].to_numpy()
    np.testing.assert_array_equal(pivot, small.scores)

    labels = read(out, "labels")
    assert labels.column_names == ["sample_id", "label", "date"]
    np.testing.assert_array_equal(labels["sample_id"].to_numpy(), np.arange(SMALL.samples))
    np.testing.assert_array_equal(labels["label"].to_numpy(), small.labels)


def test_long_top_k_keeps_exactly_the_k_largest(written, small):
    out = written["long", 5]
    frame = read(out).to_pandas()
    assert (frame.groupby("sample_id").size() == 5).all()
    assert frame["sample_id"].nunique() == SMALL.samples
    names = small.taxonomy["name"].to_numpy()
    expected = np.sort(small.scores, axis=1)[:, ::-1][:, :5]
    got = frame.sort_values(["sample_id", "score"], ascending=[True, False])
    np.testing.assert_array_equal(got["score"].to_numpy().reshape(-1, 5), expected)
    top_names = names[np.argsort(-small.scores, axis=1)[:, :5]]
    got_names = got["class"].to_numpy().reshape(-1, 5)
    assert all(set(a) == set(b) for a, b in zip(got_names, top_names, strict=True))
    # within each sample the file holds the k classes in descending score order
    raw = pq.read_table(next((out / "scores").glob("date=2026-01-02/*.parquet"))).to_pandas()
    assert (raw.groupby("sample_id")["score"].diff().dropna() <= 0).all()

    answers = json.loads((out / "answers.json").read_text())
    assert answers["top_k"] == 5 and answers["layout"] == "long"
    assert answers["fill_value"] == float(small.scores.min())
    assert answers["fill_value"] < frame["score"].min()
    assert json.loads((written["array", None] / "answers.json").read_text())["fill_value"] is None


def test_classes_csv_and_answers_json_match_generate(written, small):
    for out in written.values():
        csv = pd.read_csv(out / "classes.csv")
        assert csv.columns.tolist() == ["class_id", "name", "level1", "level2"]
        pd.testing.assert_frame_equal(csv, small.taxonomy)
        answers = json.loads((out / "answers.json").read_text())
        layout_keys = {"layout", "top_k", "label_column", "fill_value"}
        assert {k: v for k, v in answers.items() if k not in layout_keys} == small.answers
        assert answers["n"] == SMALL.samples and answers["m"] == SMALL.classes
        assert answers["taxonomy_levels"] == ["level1", "level2"]
        assert answers["spec"] == SMALL.__dict__


# --- taxonomy ----------------------------------------------------------------------------------


def check_taxonomy(spec: DemoSpec, data) -> None:
    """Invariants of the taxonomy and of the planted answers, from the taxonomy alone."""
    tax = data.taxonomy
    assert tax["class_id"].tolist() == list(range(spec.classes))
    assert tax["name"].is_unique
    assert all(re.fullmatch(r"[a-z0-9_]+", s) for s in pd.concat([tax.name, tax.level2]))
    assert tax["level1"].nunique() == spec.top_groups
    assert tax["level2"].nunique() == spec.mid_groups
    assert (tax.groupby("level2")["level1"].nunique() == 1).all()  # middle nests in top
    assert tax.groupby("level2").size().min() >= 2
    mids_per_top = tax.groupby("level1")["level2"].nunique()
    assert mids_per_top.max() - mids_per_top.min() <= 1
    assert all(n.startswith(f"{m}_") for n, m in zip(tax.name, tax.level2, strict=True))
    assert all(m.startswith(f"{t}_") for m, t in zip(tax.level2, tax.level1, strict=True))

    answers, name = data.answers, tax["name"].to_numpy()
    pairs = [p["class_ids"] for p in answers["near_duplicates"]]
    assert len(pairs) == spec.near_duplicates
    assert len({c for p in pairs for c in p}) == 2 * len(pairs)  # disjoint
    for p in answers["near_duplicates"]:
        assert tax.level2[p["class_ids"]].tolist() == [p["level2"]] * 2
        assert name[p["class_ids"]].tolist() == p["names"]
    cross = answers["cross_cutting"]
    assert len(cross["class_ids"]) == spec.cross_cutting
    assert name[cross["class_ids"]].tolist() == cross["names"]
    assert tax.level1[cross["class_ids"]].tolist() == cross["level1"]
    if spec.cross_cutting:
        assert tax.level1[cross["class_ids"]].nunique() >= 3
        assert not set(cross["class_ids"]) & {c for p in pairs for c in p}
    split = answers["split_group"]
    assert len(set(split["level1"])) == 2
    for level2, level1, members in zip(
        split["level2"], split["level1"], split["members"], strict=True
    ):
        assert members["class_ids"] == tax.class_id[tax.level2 == level2].tolist()
        assert set(tax.level1[members["class_ids"]]) == {level1}
        assert name[members["class_ids"]].tolist() == members["names"]


def test_default_taxonomy(planted):
    check_taxonomy(DemoSpec(), planted)
    tax = planted.taxonomy
    # class ids are a permutation of the taxonomy, not grouped by parent
    assert not tax["level2"].is_monotonic_increasing
    assert (tax["level2"] != tax["level2"].shift()).sum() > DemoSpec().mid_groups * 3


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    top=st.integers(2, 7),
    extra_mid=st.integers(0, 10),
    extra_classes=st.integers(0, 40),
    near_duplicates=st.integers(0, 6),
    cross_cutting=st.sampled_from([0, 3, 5, 9]),
    seed=st.integers(0, 2**31),
)
def test_taxonomy_invariants_for_any_valid_spec(
    top, extra_mid, extra_classes, near_duplicates, cross_cutting, seed
):
    mid = top + extra_mid
    spec = DemoSpec(
        samples=30,
        classes=2 * mid + extra_classes,
        top_groups=top,
        mid_groups=mid,
        near_duplicates=near_duplicates,
        cross_cutting=cross_cutting,
        seed=seed,
        days=3,
    )
    try:
        spec.validate()
    except ValueError as err:
        assert re.match(r"DemoSpec\.(top_groups|near_duplicates|cross_cutting)=", str(err))
        return
    data = generate(spec)
    check_taxonomy(spec, data)
    assert data.scores.shape == (30, spec.classes) and data.scores.dtype == np.float32


# --- planted structure -------------------------------------------------------------------------


def test_near_duplicates_are_the_most_similar_pairs(planted, pairs):
    _, i, j, c, _, _ = pairs
    k = DemoSpec().near_duplicates
    order = np.argsort(-c)
    top = {(int(i[o]), int(j[o])) for o in order[:k]}
    assert top == {tuple(sorted(p["class_ids"])) for p in planted.answers["near_duplicates"]}
    assert c[order[k - 1]] - c[order[k]] > 0.05  # visible margin to the next pair


def test_similarity_follows_the_taxonomy(pairs):
    _, _, _, c, same_mid, same_top = pairs
    within_mid, within_top = c[same_mid].mean(), c[same_top & ~same_mid].mean()
    across = c[~same_top].mean()
    assert within_mid > within_top + 0.15
    assert within_top > across + 0.15
    assert abs(across) < 0.05


def test_cross_cutting_members_correlate_across_top_groups(planted, pairs):
    corr, _, _, c, _, same_top = pairs
    members = np.array(planted.answers["cross_cutting"]["class_ids"])
    top = planted.taxonomy["level1"].to_numpy()[members]
    mutual = [
        corr[a, b]
        for x, a in enumerate(members)
        for y, b in enumerate(members)
        if x < y and top[x] != top[y]
    ]
    assert len(mutual) >= 20
    assert np.mean(mutual) > c[~same_top].mean() + 0.12


def test_split_group_block_stands_out(planted, pairs):
    corr, _, _, c, _, same_top = pairs
    a, b = (m["class_ids"] for m in planted.answers["split_group"]["members"])
    assert np.mean(corr[np.ix_(a, b)]) > c[~same_top].mean() + 0.1


def test_class_frequencies_follow_the_zipf_exponent(planted):
    labels = planted.labels
    flat = np.concatenate(labels) if isinstance(labels, list) else labels
    counts = np.bincount(flat, minlength=DemoSpec().classes)
    assert counts.max() / max(counts.min(), 1) > 50
    balanced = generate(DemoSpec(zipf_exponent=0.0))
    counts = np.bincount(balanced.labels, minlength=DemoSpec().classes)
    assert counts.max() / counts.min() < 3


def test_multi_label_positives(small_multi):
    labels = small_multi.labels
    sizes = np.array([len(x) for x in labels])
    assert set(np.unique(sizes)) == {1, 2, 3, 4}
    assert all(x.dtype == np.int32 and np.all(np.diff(x) > 0) for x in labels)
    assert all(x.min() >= 0 and x.max() < SMALL.classes for x in labels)
    # extra positives prefer the same middle group: far above the independent-draw baseline
    mid = small_multi.taxonomy["level2"].to_numpy()
    pairs = [(mid[x[a]], mid[x[b]]) for x in labels for a in range(len(x)) for b in range(a)]
    same = np.mean([p == q for p, q in pairs])
    freq = pd.Series(mid[np.concatenate(labels)]).value_counts(normalize=True)
    assert same > 2 * (freq**2).sum() + 0.1


# --- validation and safety ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"samples": 1}, "samples"),
        ({"samples": 2.5}, "samples"),
        ({"multi_label": "yes"}, "multi_label"),
        ({"top_groups": 1, "cross_cutting": 0}, "top_groups"),
        ({"top_groups": 2}, "top_groups"),  # cross-cutting needs three
        ({"mid_groups": 5}, "mid_groups"),
        ({"classes": 49}, "classes"),
        ({"seed": -1}, "seed"),
        ({"days": 0}, "days"),
        ({"samples": 3, "days": 4}, "days"),
        ({"near_duplicates": 26}, "near_duplicates"),
        ({"cross_cutting": 2}, "cross_cutting"),
        ({"cross_cutting": 295}, "cross_cutting"),
        ({"zipf_exponent": -1.0}, "zipf_exponent"),
        ({"zipf_exponent": float("nan")}, "zipf_exponent"),
        ({"latent_dim": 1}, "latent_dim"),
        ({"duplicate_noise": 1.0}, "duplicate_noise"),
        ({"logit_noise": 0.0}, "logit_noise"),
        ({"max_labels": 0}, "max_labels"),
    ],
)
def test_validate_names_the_bad_field(change, field):
    with pytest.raises(ValueError, match=rf"^DemoSpec\.{field}="):
        DemoSpec(**change).validate()
    with pytest.raises(ValueError, match=rf"^DemoSpec\.{field}="):
        generate(DemoSpec(**change))


def test_validate_checks_that_extras_fit_the_drawn_taxonomy():
    # 3 middle groups of 2-5 classes with a near-duplicate pair each leave 3 free classes;
    # whether they lie in three top groups depends on the drawn sizes.
    outcomes = []
    for seed in range(40):
        spec = DemoSpec(
            samples=20,
            classes=9,
            top_groups=3,
            mid_groups=3,
            near_duplicates=3,
            cross_cutting=3,
            seed=seed,
        )
        try:
            spec.validate()
        except ValueError as err:
            assert str(err).startswith("DemoSpec.cross_cutting=3: fewer than three top groups")
            outcomes.append(False)
            continue
        check_taxonomy(spec, generate(spec))
        outcomes.append(True)
    assert any(outcomes) and not all(outcomes)


def test_default_spec_is_valid():
    assert DemoSpec().validate() is None


def test_write_replaces_only_earlier_demo_data(tmp_path):
    spec = DemoSpec(samples=200, classes=20, top_groups=3, mid_groups=5)
    out = tmp_path / "demo"
    out.mkdir()
    write_demo(spec, out)  # an empty directory is fine
    (out / "keep.txt").write_text("precious")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_demo(spec, out)
    # earlier demo data with something else beside it: never replaced, even when asked
    with pytest.raises(UnsafeOutputError, match="not a classsim demo data directory"):
        write_demo(spec, out, overwrite=True)
    assert (out / "keep.txt").read_text() == "precious"
    (out / "keep.txt").unlink()
    write_demo(spec, out, overwrite=True, layout="wide")
    assert json.loads((out / "answers.json").read_text())["layout"] == "wide"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]  # no temp folder left


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    def boom(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writer, "planted_answers", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        write_demo(DemoSpec(samples=200, classes=20, top_groups=3, mid_groups=5), tmp_path / "d")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"layout": "csv"}, "layout="),
        ({"top_k": 3}, "top_k="),
        ({"layout": "long", "top_k": 0}, "top_k="),
        ({"layout": "long", "top_k": 21}, "top_k="),
        ({"chunk_rows": 0}, "chunk_rows="),
    ],
)
def test_write_rejects_bad_arguments(tmp_path, kwargs, message):
    spec = DemoSpec(samples=200, classes=20, top_groups=3, mid_groups=5)
    with pytest.raises(ValueError, match=message):
        write_demo(spec, tmp_path / "d", **kwargs)
    assert list(tmp_path.iterdir()) == []
