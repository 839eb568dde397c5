"""The file readers and writers of io that no other test covers by themselves: moments files
and user order files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from classsim_spark.core.moments import Moments
from classsim_spark.io.order_file import read_order_file
from classsim_spark.io.results import load_moments, save_moments


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
