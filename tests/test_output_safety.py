"""Nothing the user had is overwritten: --overwrite replaces only an earlier classsim output, and
an output may not be, lie inside or contain the input (relative paths, '..' and symlinks seen
through). Every refusal happens before any work and leaves every file as it was."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from classsim_spark.cli import main
from classsim_spark.demo.generator import DemoSpec
from classsim_spark.demo.writer import write_demo
from classsim_spark.io.results import (
    ResultsExistError,
    UnsafeOutputError,
    check_writable,
    is_results_directory,
    local_paths,
)


def snapshot(root) -> dict:
    """Every file below ``root`` and its bytes."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture
def data(tmp_path):
    """A user's folder: a small score table and a notes file."""
    folder = tmp_path / "data"
    folder.mkdir()
    x = np.random.default_rng(0).normal(size=(300, 5))
    pq.write_table(
        pa.table({"sample_id": np.arange(300), "scores": list(x)}), folder / "part-0.parquet"
    )
    (folder / "notes.txt").write_text("mine")
    return folder


def refused(capsys, args, message) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err, err


def test_output_equal_inside_or_around_the_input_is_refused(data, tmp_path, capsys, monkeypatch):
    before = snapshot(tmp_path)
    sim = ["similarity", "--input", str(data), "--overwrite", "--out"]
    refused(capsys, [*sim, str(data)], "is the input")
    refused(capsys, [*sim, str(tmp_path)], "contains the input")
    refused(capsys, [*sim, str(data / "res")], "lies inside the input")
    monkeypatch.chdir(data)  # relative paths and '..'
    refused(
        capsys, ["similarity", "--input", ".", "--overwrite", "--out", "../data"], "is the input"
    )
    refused(
        capsys,
        ["similarity", "--input", "part-0.parquet", "--overwrite", "--out", ".."],
        "contains the input",
    )
    refused(
        capsys,
        ["similarity", "--input", "../data/*.parquet", "--out", "sub/../res"],
        "lies inside the input",
    )
    link = tmp_path / "link"
    os.symlink(data, link)  # a symlink to the input
    refused(
        capsys,
        ["similarity", "--input", str(link), "--out", str(data / "r")],
        "lies inside the input",
    )
    refused(
        capsys,
        ["similarity", "--input", str(data), "--out", str(link), "--overwrite"],
        "is the input",
    )
    os.unlink(link)
    assert snapshot(tmp_path) == before


def test_overwrite_replaces_only_an_earlier_results_directory(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "thesis.tex").write_text("years of work")
    with pytest.raises(ResultsExistError, match="pass --overwrite"):
        check_writable(other, overwrite=False)
    with pytest.raises(UnsafeOutputError, match="not a classsim results directory .*thesis.tex"):
        check_writable(other, overwrite=True)
    empty = tmp_path / "empty"
    empty.mkdir()
    check_writable(empty, overwrite=False)  # nothing to lose
    results = tmp_path / "results"
    results.mkdir()
    (results / "run.json").write_text(json.dumps({"transforms": ["logit"], "n": 3}))
    for name in (
        "classes.csv",
        "similarity-logit.npy",
        "moments-logit.npz",
        "groups.json",
        "parts-logit.npz",
        "order-logit.json",
        ".groups.json.tmp",
    ):
        (results / name).write_text("")
    (results / "figures").mkdir()
    assert is_results_directory(results)
    check_writable(results, overwrite=True)
    (results / "my-notes.md").write_text("keep")  # something of the user's inside
    assert not is_results_directory(results)
    with pytest.raises(UnsafeOutputError, match="my-notes.md"):
        check_writable(results, overwrite=True)
    (results / "run.json").write_text("not json")
    (results / "my-notes.md").unlink()
    assert not is_results_directory(results)
    target = tmp_path / "target"
    target.mkdir()
    os.symlink(target, tmp_path / "alias")
    with pytest.raises(UnsafeOutputError, match="symbolic link"):
        check_writable(tmp_path / "alias", overwrite=True)


def test_local_paths_of_inputs(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "b.parquet").write_text("")
    monkeypatch.chdir(tmp_path)
    got = local_paths(f"a, {tmp_path}/b.parquet, a/*.parquet, s3://bucket/x, cat.db.table")
    assert got == [Path("a"), tmp_path / "b.parquet", Path("a")]
    assert local_paths(f"file://{tmp_path}/a") == [tmp_path / "a"]
    assert local_paths(None) == []


def test_make_demo_demo_and_render_replace_only_their_own(tmp_path, capsys, spark):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "keep.txt").write_text("keep")
    before = snapshot(tmp_path)
    refused(
        capsys,
        [
            "make-demo",
            "--out",
            str(mine),
            "--overwrite",
            "--samples",
            "200",
            "--classes",
            "20",
            "--top-groups",
            "3",
            "--mid-groups",
            "5",
        ],
        "not a classsim demo data directory",
    )
    refused(capsys, ["analyze", str(mine), "--overwrite"], "not a classsim results directory")
    demo = tmp_path / "demo"
    (demo / "data").mkdir(parents=True)
    (demo / "data" / "keep.txt").write_text("keep")
    before = snapshot(tmp_path)
    refused(
        capsys, ["demo", "--dir", str(demo), "--overwrite"], "not a classsim demo data directory"
    )
    assert snapshot(tmp_path) == before

    # render: a figures/ folder holding anything but figures is not replaced
    data = write_demo(
        DemoSpec(samples=600, classes=18, top_groups=3, mid_groups=6), tmp_path / "small"
    )
    out = tmp_path / "res"
    assert (
        main(
            [
                "run",
                "--input",
                str(data / "scores"),
                "--classes",
                str(data / "classes.csv"),
                "--out",
                str(out),
                "--sample-rows",
                "0",
                "--stability-parts",
                "0",
            ]
        )
        == 0
    )
    capsys.readouterr()
    (out / "figures" / "draft.docx").write_text("keep")
    refused(capsys, ["render", str(out), "--overwrite"], "not a classsim figures directory")
    assert (out / "figures" / "draft.docx").read_text() == "keep"
    (out / "figures" / "draft.docx").unlink()
    assert main(["render", str(out), "--overwrite", "--only", "similarity"]) == 0
    # and the results directory itself: replaced by a rerun, refused once the user adds a file
    rerun = [
        "similarity",
        "--input",
        str(data / "scores"),
        "--out",
        str(out),
        "--overwrite",
        "--sample-rows",
        "0",
    ]
    assert main(rerun) == 0
    capsys.readouterr()
    (out / "report.docx").write_text("keep")
    refused(capsys, rerun, "not a classsim results directory")
    assert (out / "report.docx").read_text() == "keep"


def test_results_readers_say_what_is_missing(tmp_path):
    from classsim_spark.io.results import (
        NotAResultsDirectoryError,
        SimilarityResult,
        results_foreign_entries,
    )

    with pytest.raises(NotAResultsDirectoryError, match="results directory not found"):
        SimilarityResult.load(tmp_path / "nosuch")
    (tmp_path / "thesis.tex").write_text("x")
    assert results_foreign_entries(tmp_path) == ["thesis.tex", "no run.json"]
    (tmp_path / "run.json").write_text("{}")
    assert results_foreign_entries(tmp_path) == ["thesis.tex", "run.json is not a classsim run"]
