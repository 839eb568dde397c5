"""The command line, in process (sharing the test session) and once as a real console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from classsim_spark.cli import main


@pytest.fixture()
def score_file(tmp_path, planted_scores):
    x = planted_scores[:200]
    table = pa.table({"sample_id": np.arange(200), "scores": pa.array(list(x))})
    pq.write_table(table, tmp_path / "scores.parquet")
    (tmp_path / "classes.txt").write_text("\n".join(f"k{j}" for j in range(12)))
    return tmp_path, x


def test_similarity_command_with_config_and_overrides(spark, score_file, capsys):
    tmp, x = score_file
    conf = tmp / "job.toml"
    conf.write_text(
        f'[input]\nsource = "{tmp / "scores.parquet"}"\n'
        f'classes = "{tmp / "classes.txt"}"\n'
        '[similarity]\ntransforms = ["probability"]\n'
    )
    out = tmp / "res"
    code = main(
        [
            "similarity",
            "--config",
            str(conf),
            "--transform",
            "logit,rank",
            "--sample-rows",
            "50",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    assert capsys.readouterr().out.strip() == str(out)
    run = json.loads((out / "run.json").read_text())
    assert run["transforms"] == ["logit", "rank"]  # the command line wins over the file
    assert run["config"]["input"]["classes"] == str(tmp / "classes.txt")
    assert run["sample"] == {"rows": 50, "of": 200, "capacity": 50}
    assert np.load(out / "sample.npy").shape == (50, 12)
    m = np.load(out / "similarity-logit.npy")
    assert np.abs(m - np.corrcoef(x, rowvar=False)).max() < 1e-9


def test_errors_are_one_message_and_exit_status_2(spark, score_file, capsys):
    tmp, x = score_file
    bad = x.copy()
    bad[[5, 9], 0] = np.nan
    pq.write_table(
        pa.table({"sample_id": np.arange(200), "scores": pa.array(list(bad))}), tmp / "bad.parquet"
    )
    out = tmp / "res"
    assert main(["similarity", "--input", str(tmp / "bad.parquet"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "2 of 200 rows have NaN or infinite scores (e.g. sample_id: 5, 9)" in err
    assert "Traceback" not in err and not out.exists()
    assert main(["similarity", "--input", str(tmp / "nope.parquet"), "--out", str(out)]) == 2
    assert "input path not found" in capsys.readouterr().err
    out.mkdir()
    (out / "notes.txt").write_text("mine")  # an empty directory would be used as it is
    assert main(["similarity", "--input", str(tmp / "scores.parquet"), "--out", str(out)]) == 2
    assert "already exists; pass --overwrite" in capsys.readouterr().err


def test_console_script_runs_its_own_spark(score_file):
    """`classsim` as users run it: a new process, its own local session, output on stdout."""
    tmp, x = score_file
    exe = Path(sys.executable).with_name("classsim")
    if not exe.exists():
        exe = shutil.which("classsim")
    out = tmp / "res"
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    proc = subprocess.run(
        [
            str(exe),
            "similarity",
            "--input",
            str(tmp / "scores.parquet"),
            "--transform",
            "rank",
            "--master",
            "local[2]",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == str(out)
    assert "scan done in" in proc.stderr and "read 200 rows, kept 200" in proc.stderr
    import scipy.stats as ss

    expected = np.corrcoef(ss.rankdata(x, axis=1), rowvar=False)
    assert np.abs(np.load(out / "similarity-rank.npy") - expected).max() < 1e-9


def test_run_and_analyze_commands_on_demo_data(spark, tmp_path, capsys):
    from classsim_spark.demo.generator import DemoSpec
    from classsim_spark.demo.writer import write_demo

    data = write_demo(
        DemoSpec(samples=4000, classes=60, top_groups=4, mid_groups=10, seed=2), tmp_path / "data"
    )
    out = tmp_path / "res"
    code = main(
        [
            "run",
            "--input",
            str(data / "scores"),
            "--classes",
            str(data / "classes.csv"),
            "--taxonomy",
            str(data / "classes.csv"),
            "--taxonomy-levels",
            "level1,level2",
            "--out",
            str(out),
        ]
    )
    assert code == 0 and capsys.readouterr().out.strip() == str(out)
    groups = json.loads((out / "groups.json").read_text())
    run = json.loads((out / "run.json").read_text())
    assert run["transforms"] == ["logit", "probability", "rank"]  # auto: compute all, choose
    assert groups["chosen"]["transform"] in run["transforms"]
    assert groups["taxonomy"]["levels"] == ["level1", "level2"]
    assert "confusion" in groups["taxonomy"]["baselines"]  # the demo's label column
    assert (out / "confusion.npy").is_file()
    for t in run["transforms"]:
        assert (out / f"order-{t}.json").is_file() and (out / f"linkage-{t}.npy").is_file()

    assert main(["analyze", str(out)]) == 2
    assert "pass --overwrite" in capsys.readouterr().err
    assert (
        main(
            [
                "analyze",
                str(out),
                "--overwrite",
                "--transform",
                "rank",
                "--distance",
                "1-r",
                "--linkage",
                "complete",
            ]
        )
        == 0
    )
    chosen = json.loads((out / "groups.json").read_text())["chosen"]
    assert (chosen["transform"], chosen["distance"], chosen["linkage"]) == (
        "rank",
        "1-r",
        "complete",
    )
    assert main(["analyze", str(out), "--overwrite", "--taxonomy", str(tmp_path / "no.csv")]) == 2
    assert "no.csv" in capsys.readouterr().err

    # `run` rendered the figures; `render` replaces them only when asked.
    from matplotlib.image import imread

    names = sorted(p.name for p in (out / "figures").iterdir())
    assert names == sorted(
        f"{f}.{s}"
        for f in ("similarity", "similarity-taxonomy", "distributions", "frequencies", "confusion")
        for s in ("png", "svg")
    )
    assert min(imread(out / "figures" / "similarity.png").shape[:2]) >= 60  # >= 1 px per class
    assert main(["render", str(out)]) == 2
    assert "already exists; pass --overwrite" in capsys.readouterr().err
    assert main(["render", str(out), "--overwrite", "--vector", "pdf"]) == 0
    assert (out / "figures" / "similarity.pdf").read_bytes().startswith(b"%PDF")


def test_run_stops_after_any_stage(spark, tmp_path, capsys):
    from classsim_spark.demo.generator import DemoSpec
    from classsim_spark.demo.writer import write_demo

    data = write_demo(
        DemoSpec(samples=800, classes=18, top_groups=3, mid_groups=6, seed=4), tmp_path / "data"
    )
    out = tmp_path / "res"
    run = [
        "run",
        "--input",
        str(data / "scores"),
        "--classes",
        str(data / "classes.csv"),
        "--out",
        str(out),
        "--sample-rows",
        "0",
        "--overwrite",
        "--stop-after",
    ]
    assert main([*run, "similarity"]) == 0
    assert (out / "run.json").is_file() and not (out / "groups.json").exists()
    assert main([*run, "analyze"]) == 0
    assert (out / "groups.json").is_file() and not (out / "figures").exists()
    assert main([*run, "render"]) == 0
    assert (out / "figures" / "similarity.png").is_file()
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:  # argparse: not a stage
        main([*run, "everything"])
    assert stop.value.code == 2 and "invalid choice: 'everything'" in capsys.readouterr().err


def test_make_demo_fits_its_groups_to_few_classes(tmp_path, capsys):
    assert (
        main(["make-demo", "--samples", "300", "--classes", "20", "--out", str(tmp_path / "d20")])
        == 0
    )
    answers = json.loads((tmp_path / "d20" / "answers.json").read_text())
    taxonomy = (tmp_path / "d20" / "classes.csv").read_text().splitlines()
    assert len(taxonomy) == 21 and answers["spec"]["mid_groups"] == 10
    assert (
        main(["make-demo", "--samples", "300", "--classes", "2", "--out", str(tmp_path / "d2")])
        == 2
    )
    assert "DemoSpec.classes=2: must be >= 2 * mid_groups (4)" in capsys.readouterr().err
    assert not (tmp_path / "d2").exists()


def test_a_missing_class_file_is_named_not_taken_for_a_class_name(tmp_path, capsys):
    missing = tmp_path / "nosuch_classes.csv"
    (tmp_path / "in").mkdir()
    pq.write_table(pa.table({"scores": [[0.1, 0.9], [0.8, 0.2]]}), tmp_path / "in" / "a.parquet")
    code = main(
        [
            "similarity",
            "--input",
            str(tmp_path / "in"),
            "--classes",
            str(missing),
            "--out",
            str(tmp_path / "res"),
        ]
    )
    assert code == 2
    assert f"class file not found: {missing}" in capsys.readouterr().err


def test_run_checks_the_taxonomy_before_scanning(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    pq.write_table(pa.table({"scores": [[0.1, 0.9], [0.8, 0.2]]}), tmp_path / "in" / "a.parquet")
    (tmp_path / "classes.txt").write_text("cat\ndog\n")
    (tmp_path / "tax.csv").write_text("name,level1\ncat,animal\nwolf,animal\n")
    run = [
        "run",
        "--input",
        str(tmp_path / "in"),
        "--out",
        str(tmp_path / "res"),
        "--taxonomy",
        str(tmp_path / "tax.csv"),
    ]
    assert main([*run, "--classes", str(tmp_path / "classes.txt")]) == 2
    assert "1 names are not among the 2 classes, e.g. 'wolf'" in capsys.readouterr().err
    assert main([*run, "--taxonomy-levels", "level9"]) == 2  # classes from the input: file only
    assert "unknown taxonomy levels 'level9'" in capsys.readouterr().err
    assert not (tmp_path / "res").exists()


def test_commands_without_spark_never_import_pyspark(tmp_path):
    """analyze, render, explore and --help need no Spark: they must not pay for loading it."""
    from classsim_spark.demo.generator import DemoSpec, generate
    from classsim_spark.demo.reference import numpy_results

    path, _ = numpy_results(generate(DemoSpec.sized(12, samples=500)), tmp_path, ("logit",))
    commands = (["--help"], ["analyze", str(path)], ["render", str(path)], ["explore", str(path)])
    for args in commands:
        probe = (
            "import sys\nfrom classsim_spark.cli import main\n"
            f"try:\n    code = main({args!r})\nexcept SystemExit as e:\n    code = e.code\n"
            "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'pyspark', 'py4j'})\n"
            "print(code, loaded)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=True
        )
        assert done.stdout.strip().splitlines()[-1] in ("0 []", "None []"), (
            args,
            done.stdout,
            done.stderr[-2000:],
        )
