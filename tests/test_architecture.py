"""The package's layers hold: each subpackage imports only the layers below it, and the core is
pure numpy/scipy (no Spark, no Arrow, no pandas, no matplotlib, no file or network access).

docs/architecture.md draws the same picture; this test is what keeps it true.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "classsim_spark"

LAYERS: dict[str, set[str]] = {
    "errors": set(),
    "signals": set(),
    "progress": set(),
    "processes": set(),
    "core": {"errors"},
    "executor": {"core", "errors"},
    "io": {"core", "errors", "signals"},
    "spark": {"executor", "core", "io", "errors", "signals", "progress"},
    "render": {"io", "core", "errors", "processes"},
}
"""Layer -> the layers it may import (besides itself). Modules not named here (``analysis``,
``api``, ``cli``, ``demo``, the package's face) sit on top and may import any layer."""

CORE_FORBIDDEN_IMPORTS = {
    "pyspark",
    "py4j",
    "pyarrow",
    "pandas",
    "matplotlib",
    "os",
    "io",
    "pathlib",
    "json",
    "csv",
    "shutil",
    "tempfile",
    "pickle",
    "socket",
    "urllib",
}
"""Modules the core may not import: it computes, it does not read, write or talk to Spark."""

CORE_FORBIDDEN_CALLS = {"open", "load", "loadtxt", "save", "savez", "savetxt", "fromfile", "tofile"}
"""Calls (by their last name: ``open``, ``np.save``, ``x.tofile``) the core may not make."""


def modules() -> dict[str, Path]:
    """Dotted name below the package -> file, for every module of the package."""
    return {
        ".".join(path.relative_to(PACKAGE).with_suffix("").parts): path
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def layer_of(module: str) -> str | None:
    top = module.split(".")[0]
    return top if top in LAYERS else None


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, nested ones included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}:{node.lineno}: relative import"
            base = node.module or ""
            found.append((node.lineno, base))
            if base == "classsim_spark" or base.startswith("classsim_spark."):
                found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def own_layers(name: str) -> str:
    """The layer of an imported ``classsim_spark`` module or attribute ("top" for the modules on
    top of the layers and the package's face)."""
    below = name.removeprefix("classsim_spark").removeprefix(".")
    return layer_of(below) or "top"


def test_every_layer_imports_only_the_layers_below_it():
    wrong = []
    for module, path in modules().items():
        layer = layer_of(module)
        if layer is None:
            continue
        for line, name in imported(path):
            if not name.startswith("classsim_spark"):
                continue
            target = own_layers(name)
            if target == layer:
                continue
            if target not in LAYERS[layer]:
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {layer} imports {name}")
    assert not wrong, "\n".join(wrong)


def test_the_layer_rule_catches_an_upward_import(tmp_path, monkeypatch):
    """The check above is not vacuous: a core module importing the results directory fails."""
    fake = tmp_path / "classsim_spark"
    (fake / "core").mkdir(parents=True)
    (fake / "io").mkdir()
    (fake / "core" / "bad.py").write_text("from classsim_spark.io.results import RUN_FILE\n")
    (fake / "io" / "results.py").write_text("RUN_FILE = 'run.json'\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    with pytest.raises(AssertionError, match="core imports classsim_spark.io.results"):
        test_every_layer_imports_only_the_layers_below_it()


@pytest.mark.parametrize("module", sorted(m for m in modules() if layer_of(m) == "core"))
def test_the_core_neither_does_io_nor_imports_spark(module):
    path = modules()[module]
    bad = [
        f"line {line}: import {name}"
        for line, name in imported(path)
        if name.split(".")[0] in CORE_FORBIDDEN_IMPORTS
    ]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name in CORE_FORBIDDEN_CALLS:
                bad.append(f"line {node.lineno}: calls {name}()")
    assert not bad, f"{module}: " + "; ".join(bad)


def test_importing_the_core_loads_no_spark_arrow_pandas_or_matplotlib():
    """In a fresh interpreter, what the core's modules pull in at run time (not only what they
    name): nothing of Spark, Arrow, pandas or matplotlib, and no other layer of the package."""
    core = sorted(f"classsim_spark.{m}" for m in modules() if layer_of(m) == "core")
    code = (
        "import json, sys\n"
        + "".join(f"import {m}\n" for m in core)
        + "print(json.dumps(sorted(sys.modules)))\n"
    )
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True
        ).stdout
    )
    heavy = [m for m in loaded if m.split(".")[0] in {"pyspark", "py4j", "pyarrow", "pandas"}]
    heavy += [m for m in loaded if m.split(".")[0] == "matplotlib"]
    package = [
        m
        for m in loaded
        if m.startswith("classsim_spark.")
        and layer_of(m.removeprefix("classsim_spark.")) not in {"core", "errors"}
        and m not in {"classsim_spark.core"}
    ]
    assert len(core) >= 7
    assert not heavy, heavy[:10]
    assert not package, package
