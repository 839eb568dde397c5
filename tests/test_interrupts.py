"""Interrupted runs: real signals sent to real `classsim run` processes in each stage, the
``unfinished.json`` marker they leave, and the rerun that finishes them."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from classsim_spark.analysis import analyze
from classsim_spark.cli import main
from classsim_spark.demo.generator import DemoSpec, generate
from classsim_spark.demo.reference import numpy_results
from classsim_spark.demo.writer import write_demo
from classsim_spark.io import results as results_mod
from classsim_spark.io.results import (
    UNFINISHED_FILE,
    UnfinishedResultsError,
    read_unfinished,
    stage,
    stage_done,
)
from classsim_spark.render.figures import render
from classsim_spark.signals import Terminated, stop_signal


@pytest.fixture(scope="module")
def scores(tmp_path_factory) -> Path:
    """250 classes: the scan (~3 s), the analysis (~1.5 s) and the figures (~3 s) each last long
    enough to be hit 0.2 s after they start."""
    out = tmp_path_factory.mktemp("interrupts") / "data"
    write_demo(DemoSpec(samples=8_000, classes=250, seed=3), out)
    return out


def _command(scores: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "classsim_spark.cli",
        "run",
        "--input",
        str(scores / "scores"),
        "--classes",
        str(scores / "classes.csv"),
        "--taxonomy",
        str(scores / "classes.csv"),
        "--out",
        str(out),
        *extra,
    ]


def _run(
    cmd: list[str], when: str | None = None, sig: int = signal.SIGTERM, timeout: float = 300
) -> tuple[int, str]:
    """Run ``cmd``; when its log shows a line containing ``when``, send it ``sig``. Returns the
    exit status and the log."""
    proc = subprocess.Popen(
        cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, start_new_session=True
    )
    lines = []
    deadline = time.monotonic() + timeout
    try:
        for line in proc.stderr:
            lines.append(line)
            if when is not None and line.startswith("classsim: ") and when in line:
                time.sleep(0.2)  # inside the stage, not at its first line
                proc.send_signal(sig)
                when = None
            if time.monotonic() > deadline:
                break
        status = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert when is None, f"never saw the line to signal at:\n{''.join(lines)[-3000:]}"
    return status, "".join(lines)


def _classsim_lines(log: str) -> str:
    return "".join(line for line in log.splitlines(True) if line.startswith("classsim: "))


def _siblings(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir())


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_during_the_scan_leaves_nothing(scores, tmp_path, sig, status):
    out = tmp_path / "res"
    rc, log = _run(_command(scores, out), "scan ...", sig)
    assert rc == status, log[-3000:]
    assert f"stopped by {sig.name}" in _classsim_lines(log)
    assert _siblings(out) == []  # no results, no temporary directory


def _digests(path: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.glob("*"))
        if p.is_file() and p.name != UNFINISHED_FILE
    }


def test_run_stopped_in_each_stage_says_so_and_the_same_command_finishes_it(scores, tmp_path):
    out = tmp_path / "res"
    cmd = _command(scores, out)

    # 1. SIGTERM during the analysis: the scan's files and a marker saying what is left.
    rc, log = _run(cmd, "choose seriation ...")
    assert rc == 143, log[-3000:]
    marker = read_unfinished(out)
    assert marker["stages"] == ["similarity", "analyze", "render"]
    assert marker["done"] == ["similarity"] and marker["running"] is None
    assert marker["stopped"]["stage"] == "analyze" and marker["stopped"]["by"] == "SIGTERM"
    assert "Rerun the command to finish it" in marker["note"]
    assert not (out / "groups.json").exists() and not (out / "figures").exists()
    assert [n for n in _siblings(out) if n != "res"] == []
    scanned = _digests(out)

    # Readers refuse what did not finish, naming it.
    assert main(["render", str(out)]) == 2
    with pytest.raises(UnfinishedResultsError, match="analyze stage .* did not finish"):
        render(out)
    # A command whose scan settings differ may not take it over.
    rc, log = _run([*cmd, "--transform", "rank"])
    assert rc == 2, log[-3000:]
    assert "whose finished stages (similarity) had other settings: similarity.transforms" in log

    # 2. The command again, with other analysis settings (the stages to do may change), stopped
    # while drawing: the analysis is done, no figures half-written.
    cmd = [*cmd, "--taxonomy-levels", "level1"]
    rc, log = _run(cmd, "rendering ")
    assert rc == 143, log[-3000:]
    lines = _classsim_lines(log)
    assert "not scanning again" in lines and "scan ..." not in lines
    marker = read_unfinished(out)
    assert marker["done"] == ["similarity", "analyze"]
    levels = json.loads((out / "groups.json").read_text())["taxonomy"]["levels"]
    assert levels == ["level1"]
    assert marker["stopped"] == {**marker["stopped"], "stage": "render", "by": "SIGTERM"}
    assert (out / "groups.json").exists() and not (out / "figures").exists()
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []

    # 3. Once more: only the figures are drawn, and the directory is finished.
    rc, log = _run(cmd)
    assert rc == 0, log[-3000:]
    lines = _classsim_lines(log)
    assert "choose seriation" not in lines and "rendering 5 figures" in lines
    assert read_unfinished(out) is None and not (out / UNFINISHED_FILE).exists()
    assert len(list((out / "figures").glob("*.png"))) == 5
    after = _digests(out)
    assert {k: after[k] for k in scanned} == scanned  # the scan was not redone
    # A finished run is not replaced without --overwrite.
    rc, log = _run(cmd)
    assert rc == 2 and "already exists; pass --overwrite" in log


# --------------------------------------------------------------------------- the marker itself


@pytest.fixture
def saved(tmp_path) -> Path:
    spec = DemoSpec(samples=1500, classes=24, top_groups=3, mid_groups=6, seed=4)
    path, _ = numpy_results(generate(spec), tmp_path, ("logit",))
    return path


def test_stage_marks_until_every_planned_stage_is_done(saved):
    assert stage_done(saved, "analyze") and read_unfinished(saved) is None
    with stage(saved, "analyze"):
        marker = read_unfinished(saved)
        assert marker["stages"] == ["analyze"] and marker["running"] == "analyze"
        assert marker["pid"] == os.getpid()
        with stage(saved, "analyze"):  # nested (the API inside the CLI's stage): no new marker
            pass
        assert read_unfinished(saved)["running"] == "analyze"
        assert not stage_done(saved, "analyze")
    assert read_unfinished(saved) is None


def test_an_interrupted_analysis_is_recorded_and_replaced_without_asking(saved, monkeypatch):
    import classsim_spark.analysis as analysis_mod

    real_write = analysis_mod._write

    def write_then_stop(result, *args):
        (result.path / "groups.json").write_text("{}")  # half of it written
        raise KeyboardInterrupt

    monkeypatch.setattr(analysis_mod, "_write", write_then_stop)
    with pytest.raises(KeyboardInterrupt):
        analyze(saved)
    marker = read_unfinished(saved)
    assert marker["stopped"]["stage"] == "analyze" and marker["stopped"]["by"] == "SIGINT"
    with pytest.raises(UnfinishedResultsError, match="stopped during analyze"):
        render(saved)
    monkeypatch.setattr(analysis_mod, "_write", real_write)
    analysis = analyze(saved)  # no overwrite needed: the stopped analysis is ours to replace
    assert read_unfinished(saved) is None
    assert json.loads((saved / "groups.json").read_text())["chosen"] == analysis.groups["chosen"]
    assert render(saved).is_dir()


def test_a_killed_process_is_told_apart_from_a_running_one(saved):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    marker = {
        **results_mod._new_marker(["similarity", "analyze"], None),
        "done": ["similarity"],
        "running": "analyze",
        "pid": dead.pid,
    }
    results_mod._write_marker(saved, marker)
    assert f"pid {dead.pid} is gone" in read_unfinished(saved)["note"]
    results_mod._write_marker(saved, {**marker, "pid": os.getpid()})
    assert f"analyze is running (pid {os.getpid()}" in read_unfinished(saved)["note"]


def test_stop_signal_sees_through_errors_raised_while_stopping():
    def stopped_then(error: Exception, interruption: BaseException) -> Exception:
        try:
            try:
                raise interruption
            except BaseException:
                raise error  # noqa: B904 (as PySpark's toArrow does in its finally)
        except Exception as err:
            return err

    assert stop_signal(stopped_then(RuntimeError("socket closed"), Terminated())) == "SIGTERM"
    assert stop_signal(stopped_then(OSError("broken pipe"), KeyboardInterrupt())) == "SIGINT"
    assert stop_signal(stopped_then(ValueError("x"), ValueError("y"))) is None
