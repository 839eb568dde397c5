"""Direct Parquet reading: footers, unit planning and reading back exactly the planned rows."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from classsim_spark.executor.parquet_reader import (
    ReadUnit,
    local_path,
    plan_units,
    read_units,
    row_groups,
)


def test_plan_units_balances_rows_and_covers_every_group_once():
    groups = [("b", g, 100) for g in range(5)] + [("a", 0, 400), ("a", 1, 0), ("c", 0, 50)]
    units = plan_units(groups, m=10, cells_per_unit=3000, min_units=1)
    planned = sorted(pg for u in units for pg in u.groups)
    assert planned == sorted([("b", g) for g in range(5)] + [("a", 0), ("c", 0)])  # empty left out
    sizes = {("a", 0): 400, ("c", 0): 50} | {("b", g): 100 for g in range(5)}
    loads = sorted(sum(sizes[g] for g in u.groups) for u in units)
    assert len(units) == 4 and all(u.groups for u in units)  # ceil(1050 * 10 / 3000)
    assert loads == [150, 200, 200, 400]  # largest first, each to the lightest unit
    assert units == plan_units(list(reversed(groups)), m=10, cells_per_unit=3000, min_units=1)
    assert len(plan_units(groups, m=10, min_units=100)) == 7  # never more units than groups
    assert plan_units([], m=3) == []


def test_read_units_reads_planned_row_groups_of_real_files(tmp_path):
    x = np.arange(60.0).reshape(20, 3)
    table = pa.table({"sample_id": np.arange(20), "scores": pa.array(list(x))})
    pq.write_table(table, tmp_path / "a.parquet", row_group_size=6)  # groups of 6, 6, 6, 2
    path = f"file://{tmp_path}/a.parquet"
    assert local_path(path) == f"{tmp_path}/a.parquet" and local_path("s3://b/k") is None
    groups = list(row_groups([path]))
    assert [g[2] for g in groups] == [6, 6, 6, 2]
    units = plan_units(groups, m=3, cells_per_unit=36, min_units=3)
    got = pa.Table.from_batches(list(read_units(units, ["sample_id", "scores", "date"])))
    assert got.column_names == ["sample_id", "scores"]  # absent columns are left out
    assert sorted(got.column("sample_id").to_pylist()) == list(range(20))
    one = pa.Table.from_batches(list(read_units(units[:1], ["sample_id"])))
    assert 0 < one.num_rows < 20


def test_known_task_slots_give_whole_waves_of_balanced_units():
    groups = [("f", g, 9_500) for g in range(11)]
    units = plan_units(groups, m=2622, slots=2)  # 100k x 2622 = 262M cells: one wave
    assert len(units) == 2 and sorted(len(u.groups) for u in units) == [5, 6]
    big = [("f", g, 47_000) for g in range(22)]  # 1M x 527 = 545M cells: two waves of 2
    assert len(plan_units(big, m=527, slots=2)) == 4
    assert len(plan_units(groups[:1], m=2622, slots=8)) == 1  # never more units than groups


def test_a_unit_with_a_head_reads_the_first_rows_of_each_group(tmp_path):
    x = np.arange(1000 * 3, dtype=np.float64).reshape(1000, 3)
    path = str(tmp_path / "f.parquet")
    pq.write_table(pa.table({"scores": pa.array(list(x))}), path, row_group_size=300)
    whole = ReadUnit(((path, 1), (path, 3)))
    head = ReadUnit(((path, 1), (path, 3)), head=120)
    got = pa.Table.from_batches(list(read_units([head], ["scores"], batch_rows=50)))
    rows = np.array(got.column("scores").to_pylist())
    np.testing.assert_array_equal(rows, x[np.r_[300:420, 900:1000]])  # group 3 holds 100
    both = pa.Table.from_batches(list(read_units([whole, head], ["scores"], batch_rows=50)))
    assert both.num_rows == 400 + 220  # the same file read whole and by its head
