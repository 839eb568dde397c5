"""The file readers and writers of io that no other test covers by themselves: moments files,
user order files, run.json and groups.json records."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from classsim_spark.core.moments import Moments
from classsim_spark.core.transforms import ScoreSpec
from classsim_spark.io.order_file import read_order_file
from classsim_spark.io.records import GroupsRecord, LabelsRecord, RunRecord, TasksRecord
from classsim_spark.io.results import load_moments, save_moments
from classsim_spark.render.inputs import FigureError, read_groups


def test_moments_roundtrip_without_pickle(tmp_path):
    mom = Moments.from_block(np.arange(12.0).reshape(4, 3) ** 2)
    save_moments(tmp_path / "m.npz", mom)
    back = load_moments(tmp_path / "m.npz")
    assert back.n == 4
    np.testing.assert_array_equal(back.mean, mom.mean)
    np.testing.assert_array_equal(back.comoment, mom.comoment)


def test_read_order_file(tmp_path):
    names = ["cat", "dog", "car"]
    (tmp_path / "a.json").write_text(json.dumps(["car", "cat", "dog"]))
    (tmp_path / "b.json").write_text(json.dumps({"order": [2, 0, 1], "method": "hclust"}))
    (tmp_path / "c.txt").write_text("car\n\n  cat \ndog\n")
    for f in ("a.json", "b.json", "c.txt"):
        s = read_order_file(tmp_path / f, names)
        assert s.order.tolist() == [2, 0, 1] and s.params["file"].endswith(f)
    (tmp_path / "d.txt").write_text("car\ncat\n")
    with pytest.raises(ValueError, match=r"d\.txt.*missing: 'dog'"):
        read_order_file(tmp_path / "d.txt", names)
    (tmp_path / "e.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_order_file(tmp_path / "e.json", names)
    (tmp_path / "f.json").write_text(json.dumps({"classes": names}))
    with pytest.raises(ValueError, match="'order' list"):
        read_order_file(tmp_path / "f.json", names)


# A run.json as `classsim run` writes it (cifar10; the configuration shortened).
RUN_JSON = {
    "classsim_version": "0.1.0",
    "created": "2026-11-30T19:58:16+00:00",
    "input": "/work/shared/data/cifar10/scores.parquet",
    "format": "parquet",
    "reader": {"requested": "auto", "used": "arrow", "reason": "1 Parquet files"},
    "where": None,
    "layout": "array",
    "input_spec": {"layout": "array", "scores_col": "scores", "classes": "classes.csv"},
    "scores": {"kind": "logits", "activation": "softmax", "eps": 1e-12},
    "transforms": ["logit", "probability", "rank"],
    "n": 10000,
    "m": 10,
    "rows_read": 10000,
    "rows_dropped": 0,
    "problems": {},
    "problem_examples": {},
    "tasks": {"reported": 1, "retried": 0},
    "drop_invalid": False,
    "zero_variance_policy": "zero",
    "zero_variance": {"logit": [], "probability": [], "rank": []},
    "labels": {"column": "label", "multi": False, "baselines": ["confusion", "frequencies"]},
    "sample": {"rows": 1000, "of": 10000, "capacity": 1000},
    "parts": {"transform": "logit", "count": 2, "rows": [4990, 5010]},
    "tile_size": 10,
    "timings_s": {"resolve input": 5.828, "scan": 0.817, "similarity": 0.0},
    "spark": {"version": "4.3.0", "connect": False},
    "versions": {"python": "3.11.7", "numpy": "2.4.6"},
    "config": {"analysis": {"seed": 0}},
    "inputs": [
        {
            "input": "scores.parquet",
            "format": "parquet",
            "where": None,
            "layout": "array",
            "created": "2026-11-30T10:00:00+00:00",
            "rows_read": 10000,
            "rows_kept": 10000,
            "rows_dropped": 0,
            "files": ["/data/scores.parquet"],
        }
    ],
    "by": None,
}


def test_run_record_reads_and_writes_run_json_unchanged():
    run = RunRecord.from_json(RUN_JSON)
    assert run.tasks == TasksRecord(reported=1, retried=0)
    assert run.labels == LabelsRecord("label", False, ["confusion", "frequencies"])
    assert run.parts.rows == [4990, 5010] and run.scores == ScoreSpec("logits", "softmax")
    assert run.inputs[0].files == ["/data/scores.parquet"] and run.by is None
    out = run.to_json()
    assert list(out) == list(RUN_JSON) and out == RUN_JSON
    assert json.dumps(out, indent=2) == json.dumps(RUN_JSON, indent=2)


def test_run_record_keeps_unknown_entries_and_reads_older_files():
    newer = RUN_JSON | {"window": {"from": "2026-01-01"}}
    assert RunRecord.from_json(newer).to_json() == newer
    older = RunRecord.from_json({"transforms": ["rank"], "n": 5})
    assert older.m is None and older.labels is None and older.scores == ScoreSpec()
    assert older.to_json()["transforms"] == ["rank"] and older.to_json()["parts"] is None
    assert RunRecord.from_json(older.to_json()) == older


def test_groups_record_refuses_what_it_cannot_read(tmp_path):
    star = {
        "class_id": 2,
        "name": "car",
        "degree": 2,
        "degree_z": 3.1,
        "degree_scope": "all",
        "mean_similarity": 0.4,
        "threshold": 0.3,
        "cooccurrence_degree": None,
        "cooccurrence_z": None,
        "cooccurrence_share": None,
        "z": 3.1,
    }
    minimal = {"chosen": {"transform": "logit"}, "stars": [star], "note": "kept"}
    record = GroupsRecord.from_json(minimal)
    assert record.transform == "logit" and record.stars[0].class_id == 2
    assert record.extra == {"note": "kept"} and record.to_json()["stars"] == [star]
    assert list(record.to_json())[:3] == ["schema", "results", "chosen"]
    with pytest.raises(ValueError, match="no 'chosen' entry"):
        GroupsRecord.from_json({"blocks": []})
    with pytest.raises(ValueError, match="schema 'classsim.groups/9'"):
        GroupsRecord.from_json({**minimal, "schema": "classsim.groups/9"})
    with pytest.raises(ValueError, match=r"stars\[0\] is not a Star: .*colour"):
        GroupsRecord.from_json({**minimal, "stars": [{**star, "colour": "red"}]})
    with pytest.raises(ValueError, match=r"stars\[1\] is not a Star"):
        GroupsRecord.from_json({**minimal, "stars": [star, {"name": "dog"}]})
    # the figures name the file and what to do
    results = tmp_path / "r"
    results.mkdir()
    (results / "groups.json").write_text(json.dumps({**minimal, "stars": [{"name": "dog"}]}))
    with pytest.raises(FigureError, match=r"r/groups\.json: stars\[0\].*analyze --overwrite"):
        read_groups(SimpleNamespace(path=results, files={}))
    (results / "groups.json").write_text("{broken")
    with pytest.raises(FigureError, match=r"groups\.json: Expecting"):
        read_groups(SimpleNamespace(path=results, files={}))
