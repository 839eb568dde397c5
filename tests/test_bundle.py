"""The Databricks bundle, offline (no workspace is reachable here): its YAML's structure, the
wheel its artifact builds, the entry point run with exactly the parameters the job passes, and
the report notebook on the results."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

from classsim_spark.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _bundle() -> dict:
    bundle = yaml.safe_load((ROOT / "databricks.yml").read_text())
    for pattern in bundle["include"]:
        for file in sorted(ROOT.glob(pattern)):
            for kind, items in yaml.safe_load(file.read_text())["resources"].items():
                bundle.setdefault("resources", {}).setdefault(kind, {}).update(items)
    return bundle


def _job() -> dict:
    return _bundle()["resources"]["jobs"]["class_similarity"]


def _substituted(value, variables: dict[str, str], target: str = "dev"):
    """``value`` with ``${var.x}`` and ``${bundle.target}`` replaced (what the CLI does)."""
    if isinstance(value, list):
        return [_substituted(v, variables, target) for v in value]
    if isinstance(value, dict):
        return {k: _substituted(v, variables, target) for k, v in value.items()}
    text = str(value).replace("${bundle.target}", target)
    return re.sub(r"\$\{var\.(\w+)\}", lambda m: variables[m[1]], text)


def test_the_bundle_declares_a_wheel_job_and_a_report():
    bundle = _bundle()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert bundle["bundle"]["name"] == "classsim"
    assert set(bundle["variables"]) >= {"table", "classes", "taxonomy", "output_volume"}
    assert {"dev", "prod"} <= set(bundle["targets"])
    job = _job()
    wheel, report = job["tasks"]
    assert report["depends_on"] == [{"task_key": wheel["task_key"]}]
    task = wheel["python_wheel_task"]
    # Databricks finds the entry point in the wheel's metadata, by distribution name
    assert task["package_name"] == project["name"]
    assert task["entry_point"] in project["scripts"]
    environments = {e["environment_key"]: e for e in job["environments"]}
    assert "../dist/*.whl" in environments[wheel["environment_key"]]["spec"]["dependencies"]
    notebook = (ROOT / "resources" / report["notebook_task"]["notebook_path"]).resolve()
    assert notebook.is_file() and notebook.read_text().startswith("# Databricks notebook source")
    widgets = set(re.findall(r'dbutils\.widgets\.text\("(\w+)"', notebook.read_text()))
    assert set(report["notebook_task"]["base_parameters"]) <= widgets
    # every variable the job uses is declared
    used = set(re.findall(r"\$\{var\.(\w+)\}", yaml.safe_dump(job)))
    assert used <= set(bundle["variables"])


def test_the_artifact_builds_a_wheel_with_the_entry_point(tmp_path):
    command = _bundle()["artifacts"]["classsim_wheel"]["build"].split()
    assert command[:3] == ["python", "-m", "pip"]
    out = tmp_path / "dist"
    command = [sys.executable, *command[1:]]
    command[command.index("dist")] = str(out)
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, timeout=600)
    (wheel,) = out.glob("classsim_spark-*.whl")
    with zipfile.ZipFile(wheel) as contents:
        names = contents.namelist()
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        assert "classsim = classsim_spark.cli:main" in contents.read(entry_points).decode()
    assert "classsim_spark/render/explorer_assets/app.js" in names
    assert "classsim_spark/cli.py" in names


@pytest.mark.parametrize("taxonomy", ["", "taxonomy"])
def test_the_job_runs_with_the_bundle_parameters_and_the_report_shows_it(
    spark, tmp_path, taxonomy, capsys
):
    from classsim_spark.demo.generator import DemoSpec
    from classsim_spark.demo.writer import write_demo

    spec = DemoSpec(samples=4000, classes=60, top_groups=4, mid_groups=10, seed=2)
    data = write_demo(spec, tmp_path / "data")
    variables = {
        "table": str(data / "scores"),  # a catalog table on Databricks; a path here
        "scores_col": _bundle()["variables"]["scores_col"]["default"],
        "classes": str(data / "classes.csv"),
        "taxonomy": str(data / "classes.csv") if taxonomy else "",
        "where": _bundle()["variables"]["where"]["default"],
        "output_volume": str(tmp_path / "volume"),
    }
    wheel, report = _job()["tasks"]
    parameters = _substituted(wheel["python_wheel_task"]["parameters"], variables)
    assert main(parameters) == 0  # what the wheel's `classsim` entry point runs
    results = tmp_path / "volume" / "dev"
    assert (results / "groups.json").is_file() and (results / "explorer.html").is_file()
    capsys.readouterr()

    shown: list[str] = []

    class Widgets:
        values = _substituted(report["notebook_task"]["base_parameters"], variables)

        def text(self, name, default, label=None):
            self.values.setdefault(name, default)

        def get(self, name):
            return self.values[name]

    dbutils = type("DBUtils", (), {"widgets": Widgets()})()
    source = (ROOT / "resources" / report["notebook_task"]["notebook_path"]).resolve()
    exec(
        compile(source.read_text(), str(source), "exec"),
        {"dbutils": dbutils, "displayHTML": shown.append},
    )
    printed = capsys.readouterr().out
    assert "4,000 samples x 60 classes" in printed and "near-duplicates:" in printed
    assert ("taxonomy level1" in printed) == bool(taxonomy)
    figures = [p.stem for p in sorted((results / "figures").glob("*.png"))]
    assert [re.search(r"<h3>(.*?)</h3>", h)[1] for h in shown[:-1]] == figures
    assert shown[-1].startswith("<!DOCTYPE html>")  # the explorer, under the cell's limit
